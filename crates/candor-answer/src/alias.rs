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

/// Targets (lower-cased wire names) and what is known of them.
#[derive(Clone, Debug, Default)]
pub struct AliasTable {
    /// The entries.
    entries: HashMap<Box<[u8]>, AliasEntry>,
}

impl AliasTable {
    /// A table of these entries (keys: lower-cased wire names).
    pub fn new(entries: impl IntoIterator<Item = (Box<[u8]>, AliasEntry)>) -> AliasTable {
        AliasTable {
            entries: entries.into_iter().collect(),
        }
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
