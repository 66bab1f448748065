//! The name index: lower-cased wire names to a small payload, with short
//! names and the payload stored in the hash table's own slots.
//!
//! A lookup is the hot path of every query. With names kept in a separate
//! arena and nodes in an array, a hit costs four dependent cache misses
//! (control bytes, slot, name bytes, node). Keeping names of up to
//! [`INLINE`] bytes and the node's hot fields in the slot leaves two.
//! Longer names fall back to the arena.

use hashbrown::HashTable;

use crate::zone::{hash_name, name_at, name_eq};

/// Names up to this long (wire form) live in the slot itself. 27 bytes
/// covers typical host names (`search808.z0001.example.` is 25) and makes a
/// zone's slot 48 bytes.
const INLINE: usize = 27;

/// One entry of the table.
#[derive(Clone, Copy)]
struct Slot<P> {
    /// What the name maps to.
    payload: P,
    /// Offset of the name in the caller's arena (used when it is long).
    off: u32,
    /// Length of the name.
    len: u8,
    /// The name itself, when it is at most `INLINE` bytes.
    inline: [u8; INLINE],
}

impl<P> Slot<P> {
    /// Whether this slot holds `name`; `names` is the arena.
    #[inline]
    fn holds(&self, names: &[u8], name: &[u8]) -> bool {
        let len = usize::from(self.len);
        len == name.len()
            && if len <= INLINE {
                name_eq(&self.inline[..len], name)
            } else {
                name_at(names, self.off, name)
            }
    }

    /// The name, from the slot or the arena.
    fn name<'a>(&'a self, names: &'a [u8]) -> &'a [u8] {
        let len = usize::from(self.len);
        if len <= INLINE {
            &self.inline[..len]
        } else {
            &names[self.off as usize..self.off as usize + len]
        }
    }
}

/// Maps names (stored by the caller in an arena) to a small payload: an
/// index, or (for zones) a copy of the node's hot fields, so a lookup
/// touches no other memory.
#[derive(Clone)]
pub(crate) struct NameIndex<P> {
    /// The table.
    table: HashTable<Slot<P>>,
}

impl<P> Default for NameIndex<P> {
    fn default() -> Self {
        NameIndex {
            table: HashTable::new(),
        }
    }
}

impl<P: Copy> NameIndex<P> {
    /// The payload of `name`, whose bytes (if long) are found in `names`.
    #[inline]
    pub(crate) fn find(&self, names: &[u8], name: &[u8]) -> Option<P> {
        self.table
            .find(hash_name(name), |s| s.holds(names, name))
            .map(|s| s.payload)
    }

    /// Adds the `len`-byte name stored at `off` in `names`. The caller makes
    /// sure it is not present yet.
    pub(crate) fn insert(&mut self, names: &[u8], payload: P, off: u32, len: usize) {
        let name = &names[off as usize..off as usize + len];
        let mut inline = [0u8; INLINE];
        if len <= INLINE {
            inline[..len].copy_from_slice(name);
        }
        let slot = Slot {
            payload,
            off,
            len: len as u8,
            inline,
        };
        self.table
            .insert_unique(hash_name(name), slot, |s| hash_name(s.name(names)));
    }

    /// Rewrites every payload (once a zone's nodes are final).
    pub(crate) fn update(&mut self, mut f: impl FnMut(&mut P)) {
        for slot in self.table.iter_mut() {
            f(&mut slot.payload);
        }
    }
}
