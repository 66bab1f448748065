//! The name index: lower-cased wire names to a small payload, with short
//! names and the payload stored in the table's own slots.
//!
//! A lookup is the hot path of every query. With names kept in a separate
//! arena and nodes in an array, a hit costs four dependent cache misses
//! (control bytes, slot, name bytes, node). Keeping names of up to
//! [`INLINE`] bytes and the node's hot fields in the slot leaves one: the
//! slot itself.
//!
//! It is a plain open-addressing table with linear probing rather than a
//! general-purpose map (hashbrown), for two reasons:
//! - The slot a name starts probing at is computable from its hash, so
//!   the UDP worker can prefetch it for a whole batch of queries before
//!   answering any ([`NameIndex::prefetch`]) and the misses overlap
//!   instead of following each other. Profiles of the 1M-name zone had two
//!   misses (hashbrown's control bytes, then the slot) at 15% of server CPU.
//! - There are no control bytes: one miss less per lookup even without
//!   prefetching.
//!
//! The table is at most 5/8 full, so a probe for a present name looks at
//! 1.3 slots on average and one for an absent name at 2.9 (Knuth's
//! formulas for linear probing), mostly in the same or the next cache line.

use crate::zone::{hash_name, name_at, name_eq};

/// Names up to this long (wire form) live in the slot itself. 27 bytes
/// covers typical host names (`search808.z0001.example.` is 25) and makes a
/// zone's slot 48 bytes.
const INLINE: usize = 27;

/// One entry of the table. `len == 0` marks an empty slot: a wire name is
/// at least one byte (the root label).
#[derive(Clone, Copy)]
struct Slot<P> {
    /// What the name maps to.
    payload: P,
    /// Offset of the name in the caller's arena (used when it is long).
    off: u32,
    /// Length of the name; 0 for an empty slot.
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

/// A name's hash, computed once and used both to prefetch its slot and to
/// find it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameHash(u64);

impl NameHash {
    /// The hash of a lower-cased wire name.
    #[inline]
    pub fn of(name: &[u8]) -> NameHash {
        // Fibonacci hashing on top of Fx: the slot index is taken from the
        // top bits, which the multiplication mixes from all input bits.
        NameHash(hash_name(name).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// Maps names (stored by the caller in an arena) to a small payload: an
/// index, or (for zones) a copy of the node's hot fields, so a lookup
/// touches no other memory.
#[derive(Clone)]
pub(crate) struct NameIndex<P> {
    /// The slots; the length is zero or a power of two.
    slots: Vec<Slot<P>>,
    /// Names held.
    len: usize,
    /// `64 - log2(slots.len())`: a hash's slot is `hash >> shift`.
    shift: u32,
}

impl<P> Default for NameIndex<P> {
    fn default() -> Self {
        NameIndex {
            slots: Vec::new(),
            len: 0,
            shift: 64,
        }
    }
}

impl<P: Copy + Default> NameIndex<P> {
    /// The slot a hash starts probing at.
    #[inline]
    fn home(&self, hash: NameHash) -> usize {
        // `shift` is 64 only for the empty table, which has no slot to
        // return; `checked_shr` makes that case 0 instead of an overflow.
        hash.0.checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// The payload of `name`, whose bytes (if long) are found in `names`.
    #[inline]
    pub(crate) fn find(&self, names: &[u8], name: &[u8]) -> Option<P> {
        self.find_hashed(names, name, NameHash::of(name))
    }

    /// [`find`](Self::find) with the hash of `name` already computed.
    #[inline]
    pub(crate) fn find_hashed(&self, names: &[u8], name: &[u8], hash: NameHash) -> Option<P> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let slot = &self.slots[i];
            if slot.len == 0 {
                return None;
            }
            if slot.holds(names, name) {
                return Some(slot.payload);
            }
            i = (i + 1) & mask;
        }
    }

    /// Starts loading the slot(s) a lookup of `hash` will read first. It
    /// is only a hint to the CPU: it reads nothing and cannot fault.
    #[inline]
    pub(crate) fn prefetch(&self, hash: NameHash) {
        if let Some(slot) = self.slots.get(self.home(hash)) {
            // A 48-byte slot may straddle two cache lines.
            crate::prefetch_bytes((slot as *const Slot<P>).cast(), size_of::<Slot<P>>());
        }
    }

    /// Adds the `len`-byte name stored at `off` in `names`. The caller makes
    /// sure it is not present yet.
    pub(crate) fn insert(&mut self, names: &[u8], payload: P, off: u32, len: usize) {
        // At most 5/8 full (see the module documentation).
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow(names);
        }
        let name = &names[off as usize..off as usize + len];
        let mut inline = [0u8; INLINE];
        if len <= INLINE {
            inline[..len].copy_from_slice(name);
        }
        self.place(
            NameHash::of(name),
            Slot {
                payload,
                off,
                len: len as u8,
                inline,
            },
        );
        self.len += 1;
    }

    /// Puts `slot` in the first free slot from its home on.
    fn place(&mut self, hash: NameHash, slot: Slot<P>) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i].len != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
    }

    /// Doubles the table (to 16 slots at first) and re-places every name.
    fn grow(&mut self, names: &[u8]) {
        let size = (self.slots.len() * 2).max(16);
        let empty = Slot {
            payload: P::default(),
            off: 0,
            len: 0,
            inline: [0; INLINE],
        };
        let mut slots = crate::huge::with_capacity(size);
        slots.resize(size, empty);
        let old = std::mem::replace(&mut self.slots, slots);
        self.shift = 64 - size.trailing_zeros();
        for slot in old.into_iter().filter(|s| s.len != 0) {
            self.place(NameHash::of(slot.name(names)), slot);
        }
    }

    /// Rewrites every payload (once a zone's nodes are final).
    pub(crate) fn update(&mut self, mut f: impl FnMut(&mut P)) {
        for slot in self.slots.iter_mut().filter(|s| s.len != 0) {
            f(&mut slot.payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an index over `names` (wire form) with payload = position.
    fn build(list: &[Vec<u8>]) -> (Vec<u8>, NameIndex<u32>) {
        let mut arena = Vec::new();
        let mut index = NameIndex::default();
        for (i, n) in list.iter().enumerate() {
            let off = arena.len() as u32;
            arena.extend_from_slice(n);
            index.insert(&arena, i as u32, off, n.len());
        }
        (arena, index)
    }

    fn wire(labels: &[&str]) -> Vec<u8> {
        let mut w = Vec::new();
        for l in labels {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w.push(0);
        w
    }

    #[test]
    fn finds_every_name_and_nothing_else() {
        let long = "a-label-long-enough-to-live-in-the-arena";
        let list: Vec<Vec<u8>> = (0..5000)
            .map(|i| {
                if i % 7 == 0 {
                    wire(&[&format!("h{i}"), long, "example"])
                } else {
                    wire(&[&format!("h{i}"), "example"])
                }
            })
            .collect();
        let (arena, index) = build(&list);
        assert!(index.slots.len().is_power_of_two());
        assert!(index.len * 8 <= index.slots.len() * 5);
        for (i, n) in list.iter().enumerate() {
            assert_eq!(index.find(&arena, n), Some(i as u32), "{n:?}");
        }
        for i in 5000..6000 {
            assert_eq!(
                index.find(&arena, &wire(&[&format!("h{i}"), "example"])),
                None
            );
        }
        assert_eq!(index.find(&arena, &wire(&["example"])), None);
        assert_eq!(index.find(&arena, b"\0"), None);
    }

    #[test]
    fn empty_index_finds_nothing_and_prefetch_is_harmless() {
        let index = NameIndex::<u32>::default();
        let name = wire(&["example"]);
        index.prefetch(NameHash::of(&name));
        assert_eq!(index.find(&[], &name), None);
    }

    #[test]
    fn update_rewrites_only_present_payloads() {
        let list: Vec<Vec<u8>> = (0..40).map(|i| wire(&[&format!("n{i}")])).collect();
        let (arena, mut index) = build(&list);
        let mut seen = 0;
        index.update(|p| {
            *p += 1000;
            seen += 1;
        });
        assert_eq!(seen, 40);
        assert_eq!(index.find(&arena, &list[3]), Some(1003));
    }
}
