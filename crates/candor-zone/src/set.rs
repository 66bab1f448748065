//! The set of served zones, found by longest suffix.

use std::sync::Arc;

use crate::index::NameIndex;
use crate::zone::Zone;

/// An immutable set of zones. A new version is built off the hot path and
/// published by swapping one pointer; zones are shared between versions.
#[derive(Clone, Default)]
pub struct ZoneSet {
    /// The zones.
    zones: Vec<Arc<Zone>>,
    /// Apex names, lower-cased wire form, back to back: lookups compare
    /// here instead of following each zone's pointers.
    apex_names: Vec<u8>,
    /// Zone indices by apex name (over `apex_names`).
    index: NameIndex<u32>,
    /// Bit `n` set: some zone apex is `n` bytes long in wire form. Lets
    /// lookups skip suffixes that cannot be an apex without hashing them.
    apex_lengths: [u64; 4],
    /// Each zone's [`ZoneId`], by position (same order as `zones`).
    ids: Vec<ZoneId>,
}

/// A zone's identity that outlives versions of the set: a 64-bit hash of
/// its lower-cased apex name, the same in every [`ZoneSet`] and process.
/// Per-zone traffic counters are kept by it, so a zone replaced or a set
/// rebuilt (positions shift when a zone is removed) still counts as the
/// same zone. Zero is never an id (it marks "no zone").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZoneId(pub u64);

impl ZoneId {
    /// The id of the zone whose apex is `apex` (lower-cased wire form).
    pub fn of(apex: &[u8]) -> ZoneId {
        ZoneId(crate::zone::hash_name(apex).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
}

impl ZoneSet {
    /// An empty set.
    pub fn new() -> ZoneSet {
        ZoneSet::default()
    }

    /// A set of these zones. A later zone with the same apex replaces an
    /// earlier one.
    pub fn from_zones(zones: impl IntoIterator<Item = Arc<Zone>>) -> ZoneSet {
        let mut set = ZoneSet::new();
        for z in zones {
            set.insert(z);
        }
        set
    }

    /// Adds or replaces a zone.
    pub fn insert(&mut self, zone: Arc<Zone>) {
        let key = zone.apex().as_wire().to_vec();
        if let Some(i) = self.index.find(&self.apex_names, &key) {
            self.zones[i as usize] = zone;
            return;
        }
        self.ids.push(ZoneId::of(&key));
        let len = key.len();
        self.apex_lengths[len / 64] |= 1 << (len % 64);
        let i = self.zones.len() as u32;
        let off = self.apex_names.len() as u32;
        self.apex_names.extend_from_slice(&key);
        self.zones.push(zone);
        self.index.insert(&self.apex_names, i, off, len);
    }

    /// A copy without the zone at `apex` (lower-cased wire name).
    pub fn without(&self, apex: &[u8]) -> ZoneSet {
        ZoneSet::from_zones(
            self.zones
                .iter()
                .filter(|z| z.apex().as_wire() != apex)
                .cloned(),
        )
    }

    /// The zones, in insertion order.
    pub fn zones(&self) -> &[Arc<Zone>] {
        &self.zones
    }

    /// The id of the zone at `position` in [`zones`](Self::zones).
    pub fn id(&self, position: usize) -> Option<ZoneId> {
        self.ids.get(position).copied()
    }

    /// Number of zones.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether there are no zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zone with exactly this apex (lower-cased wire name).
    pub fn get(&self, apex: &[u8]) -> Option<&Arc<Zone>> {
        self.index
            .find(&self.apex_names, apex)
            .map(|i| &self.zones[i as usize])
    }

    /// The zone whose apex is the longest suffix of `name` (lower-cased
    /// wire form), if any.
    pub fn find(&self, name: &[u8]) -> Option<&Zone> {
        self.find_position(name).map(|i| &*self.zones[i])
    }

    /// Like [`find`](Self::find), but the zone's position in
    /// [`zones`](Self::zones).
    pub fn find_position(&self, name: &[u8]) -> Option<usize> {
        let mut start = 0usize;
        loop {
            let len = name.len() - start;
            if len < 256
                && self.apex_lengths[len / 64] & (1 << (len % 64)) != 0
                && let Some(i) = self.index.find(&self.apex_names, &name[start..])
            {
                return Some(i as usize);
            }
            let label = usize::from(*name.get(start)?);
            if label == 0 {
                return None;
            }
            start += 1 + label;
            if start >= name.len() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ZoneId, ZoneSet};
    use crate::load_zone_text;

    /// A compiled zone at `origin` with only its SOA and NS.
    fn zone(origin: &str) -> std::sync::Arc<crate::Zone> {
        let text = format!(
            "$ORIGIN {origin}\n@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns\n"
        );
        let name = candor_wire::Name::from_text(origin, None).expect("a name");
        let zone = load_zone_text(text.as_bytes(), std::path::Path::new("t.zone"), &name);
        std::sync::Arc::new(zone.expect("zone compiles"))
    }

    /// A zone keeps its id when another zone is removed and positions
    /// shift; ids differ between zones and are never zero.
    #[test]
    fn zone_ids_survive_a_rebuilt_set() {
        let set = ZoneSet::from_zones([zone("a.test."), zone("b.test."), zone("c.test.")]);
        let b = set
            .find_position(b"\x01b\x04test\x00")
            .expect("b.test is served");
        let id = set.id(b).expect("an id per zone");
        assert_eq!(id, ZoneId::of(b"\x01b\x04test\x00"));
        assert_ne!(id.0, 0);
        assert_ne!(Some(id), set.id(0));
        let smaller = set.without(b"\x01a\x04test\x00");
        let b2 = smaller
            .find_position(b"\x01b\x04test\x00")
            .expect("still served");
        assert_ne!(b, b2, "positions shift");
        assert_eq!(smaller.id(b2), Some(id), "the id does not");
        assert_eq!(smaller.id(7), None);
    }
}
