//! The zone model: records are validated and compiled once into an
//! immutable, read-optimized [`Zone`]; a [`ZoneSet`] finds the zone for a
//! name by longest suffix.
//!
//! Compilation is where all the work happens: owner names are lower-cased
//! and indexed, empty non-terminals are created, every RRset is encoded in
//! wire form, delegation points, wildcards and DNAMEs are flagged, the
//! additional-section targets of NS/MX/SRV/SVCB/HTTPS records are resolved
//! and the negative-answer SOA is precomputed. Lookups then only hash and
//! compare bytes.

mod build;
mod diff;
mod heap;
mod huge;
mod index;
mod load;
mod negative;
mod patch;
pub mod regional;
mod set;
mod signed;
mod zone;

pub use build::{ZoneBuilder, ZoneError, ZoneErrorKind};
pub use diff::{OwnedRecord, ZoneDiff, canonical_name_cmp};
pub use heap::release_free_heap;
pub use index::NameHash;
pub use load::{LoadReport, load_zone_dir, load_zone_file, load_zone_text, origin_from_path};
pub use negative::NegativeBlocks;
pub use patch::{MAX_OVERLAY_NAMES, NodeChange, PatchError};
pub use regional::REGIONAL;
pub use set::{ZoneId, ZoneSet};
pub use signed::{Chain, ChainProof, MAX_KEY_LEN, SignedParts, canonical_key};
pub use zone::{
    ALIAS, AdditionalRef, Lookup, Node, NodeId, NodeRef, POOL, RrSet, Zone, ZoneRecord,
    is_private_type, tail_count,
};

/// Asks the CPU to start loading every cache line of the `len` bytes at
/// `start` (a hint: it reads nothing, cannot fault, and any address is
/// allowed).
#[inline(always)]
pub(crate) fn prefetch_bytes(start: *const u8, len: usize) {
    let offset = start as usize & 63;
    let first = start.wrapping_sub(offset);
    for line in 0..(offset + len).div_ceil(64) {
        prefetch(first.wrapping_add(line * 64));
    }
}

/// Asks the CPU to start loading the cache line at `addr` (a hint: it
/// reads nothing, cannot fault, and any address is allowed).
#[inline(always)]
fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: PREFETCHT0 is a hint; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(addr.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
