//! Addresses of ALIAS targets outside Candor's zones, as the background
//! resolver last saw them.
//!
//! The answer path only reads this table: a published snapshot, swapped as
//! a whole by the resolver. Nothing here waits, resolves or allocates per
//! query.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

/// What the resolver knows about one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliasEntry {
    /// The target exists (an NXDOMAIN from upstream makes this false).
    pub exists: bool,
    /// Its IPv4 addresses.
    pub v4: Vec<[u8; 4]>,
    /// Its IPv6 addresses.
    pub v6: Vec<[u8; 16]>,
    /// TTL to answer with (the upstream TTL, clamped by the resolver).
    pub ttl: u32,
}

/// One signed RRset ready to copy into an answer: its RR tails (TYPE,
/// CLASS, TTL, RDLENGTH, RDATA) and the tails of the RRSIGs over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRrset {
    /// The records' tails.
    pub tails: Box<[u8]>,
    /// How many records.
    pub count: u16,
    /// The RRSIG records' tails.
    pub sigs: Box<[u8]>,
    /// How many RRSIGs.
    pub sig_count: u16,
}

/// What the ALIAS signer published for one ALIAS owner of a signed zone
/// (docs/dnssec.md, "Synthesized answers"): the A and AAAA answers,
/// signed under the owner's name, and, when one of them is missing, the
/// owner's NSEC without that type, signed, to prove the NODATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedAlias {
    /// The A RRset (`None`: NODATA).
    pub a: Option<SignedRrset>,
    /// The AAAA RRset (`None`: NODATA).
    pub aaaa: Option<SignedRrset>,
    /// The owner's NSEC with A and AAAA listed only when present.
    pub nsec: Option<SignedNsec>,
}

/// An ALIAS owner's NSEC as the signer rewrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNsec {
    /// The RDATA of the zone's NSEC it was made from (the next name may
    /// change with the zone: the answer uses this one only while the
    /// served zone's NSEC is still that).
    pub base: Box<[u8]>,
    /// The rewritten NSEC and its RRSIGs.
    pub set: SignedRrset,
}

/// Targets (lower-cased wire names) and what is known of them; and for
/// ALIAS owners of signed zones (lower-cased wire owner names), their
/// signed answers.
#[derive(Clone, Debug, Default)]
pub struct AliasTable {
    /// The entries.
    entries: HashMap<Box<[u8]>, AliasEntry>,
    /// Signed answers by owner.
    signed: HashMap<Box<[u8]>, Arc<SignedAlias>>,
}

impl AliasTable {
    /// A table of these entries (keys: lower-cased wire names).
    pub fn new(entries: impl IntoIterator<Item = (Box<[u8]>, AliasEntry)>) -> AliasTable {
        AliasTable {
            entries: entries.into_iter().collect(),
            signed: HashMap::new(),
        }
    }

    /// The table with these signed answers (keys: lower-cased wire owner
    /// names of ALIAS records in signed zones).
    pub fn with_signed(
        mut self,
        signed: impl IntoIterator<Item = (Box<[u8]>, Arc<SignedAlias>)>,
    ) -> AliasTable {
        self.signed = signed.into_iter().collect();
        self
    }

    /// The signed answers of an ALIAS owner (lower-cased wire name), once
    /// the signer has made them.
    pub fn signed(&self, owner: &[u8]) -> Option<&SignedAlias> {
        self.signed.get(owner).map(|s| &**s)
    }

    /// How many ALIAS owners have signed answers.
    pub fn signed_len(&self) -> usize {
        self.signed.len()
    }

    /// The entry of a target (lower-cased wire name), if it was ever
    /// resolved.
    pub fn get(&self, target: &[u8]) -> Option<&AliasEntry> {
        self.entries.get(target)
    }

    /// Number of targets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The published table.
pub type SharedAliases = Arc<ArcSwap<AliasTable>>;

/// Most addresses put in one synthesized answer.
pub(crate) const MAX_ADDRESSES: usize = 16;
