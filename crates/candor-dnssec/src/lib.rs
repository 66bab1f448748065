//! DNSSEC signing (RFC 4033–4035), sans I/O: keys, the records a parent
//! and a validator need (DNSKEY, DS, CDS/CDNSKEY), RRSIGs over canonical
//! RRsets, NSEC chains, and [`sign_zone`], which signs a compiled zone.
//!
//! Why it looks like this (docs/dnssec.md has the whole argument):
//! - Denial of existence is a precomputed NSEC chain. Every signature is
//!   made when a zone is compiled, so answering a random-subdomain flood
//!   on a signed zone signs nothing: the covering NSEC and its RRSIG are
//!   already there (found by binary search over the canonically sorted
//!   names, [`nsec::covering`]).
//! - Keys are ECDSA P-256 (algorithm 13, the default) or Ed25519 (15),
//!   made and used through `ring`, stored as PKCS#8 documents
//!   ([`SigningKey::pkcs8`]). A key's `Debug` never shows its secret.
//! - Nothing here reads a clock, a file or the network: the caller passes
//!   the time ([`Validity`]) and the random source (key generation).
//!
//! Codemap: `key` (algorithms, generation, DNSKEY/DS/CDS RDATA, key tag),
//! `rrsig` (canonical form, RRSIG RDATA, validity periods), `nsec` (type
//! bitmaps, chains, covering lookups), `zone` (whole-zone signing and the
//! signed zone's text form), `incremental` (signing a small change: the
//! changed RRsets and the NSECs around them, patched in), `keyset` (which
//! key publishes and signs what), `rollover` (the key state machine:
//! rollovers, going secure and insecure).

#![forbid(unsafe_code)]

mod incremental;
mod key;
mod keyset;
pub mod nsec;
pub mod rollover;
mod rrsig;
mod zone;

#[cfg(test)]
mod tests;

pub use incremental::{ChangeSignError, ChangeStats, sign_change, sign_change_with};
pub use key::{
    Algorithm, CDNSKEY_DELETE, CDS_DELETE, DigestType, KeyError, KeyRole, SigningKey, ds_rdata,
    key_tag,
};
pub use keyset::{Cds, KeySet};
pub use rrsig::{
    SignError, SigningPolicy, Validity, canonical_rdata, rrsig_labels, sign_rrset, signed_data,
    verify_rrset,
};
pub use zone::{
    SignedCompile, SignedZone, ZoneSignError, compile_signed, records_text, sign_and_compile,
    sign_zone, sign_zone_with, signed_at, zone_text,
};
