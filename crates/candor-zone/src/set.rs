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
