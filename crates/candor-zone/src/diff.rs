//! The difference between two compiled versions of a zone: what IXFR
//! (RFC 1995) sends a secondary that holds the older one.
//!
//! [`ZoneDiff::between`] walks the old zone's nodes, finds each one in the
//! new zone through its name index, and compares RRsets by their wire
//! bytes: an RRset that did not change costs one comparison and allocates
//! nothing, so the cost is one index probe per name plus the size of the
//! change. Records are compared whole (owner, type, TTL, RDATA): a TTL
//! change removes the RRset with the old TTL and adds it with the new one,
//! which is what a secondary must apply. The SOA is kept apart (IXFR puts
//! it between the deletions and the additions), and both lists are sorted
//! in canonical order (RFC 4034 §6), so a diff prints the same every time.

use std::cmp::Ordering;

use candor_wire::Rtype;

use crate::zone::{NodeRef, RrSet, Zone, ZoneRecord};

/// One record, owned: an entry of a [`ZoneDiff`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnedRecord {
    /// The lower-cased wire owner name.
    pub owner: Box<[u8]>,
    /// The type.
    pub rtype: Rtype,
    /// The TTL.
    pub ttl: u32,
    /// The RDATA, uncompressed.
    pub rdata: Box<[u8]>,
}

impl OwnedRecord {
    /// An owned copy of a zone's record.
    pub fn from_record(record: &ZoneRecord<'_>) -> OwnedRecord {
        OwnedRecord {
            owner: record.owner.into(),
            rtype: record.rtype,
            ttl: record.ttl,
            rdata: record.rdata.into(),
        }
    }

    /// The canonical order of RFC 4034 §6: owner names label by label from
    /// the right, then type, then RDATA byte by byte (then TTL, so that
    /// the order is total).
    pub fn canonical_cmp(&self, other: &OwnedRecord) -> Ordering {
        canonical_name_cmp(&self.owner, &other.owner)
            .then(self.rtype.0.cmp(&other.rtype.0))
            .then_with(|| self.rdata.cmp(&other.rdata))
            .then(self.ttl.cmp(&other.ttl))
    }
}

/// The canonical order of two lower-cased wire names (RFC 4034 §6.1):
/// compared label by label starting from the root, a name sorts before
/// the names below it.
pub fn canonical_name_cmp(a: &[u8], b: &[u8]) -> Ordering {
    /// Label start offsets of a wire name, at most 128 of them.
    fn labels(name: &[u8], starts: &mut [u8; 128]) -> usize {
        let mut n = 0;
        let mut pos = 0usize;
        while let Some(&len) = name.get(pos) {
            if len == 0 || n == starts.len() {
                break;
            }
            starts[n] = pos as u8;
            n += 1;
            pos += 1 + usize::from(len);
        }
        n
    }
    let (mut sa, mut sb) = ([0u8; 128], [0u8; 128]);
    let (na, nb) = (labels(a, &mut sa), labels(b, &mut sb));
    /// The label (without its length byte) that starts at `start`.
    fn label(name: &[u8], start: u8) -> &[u8] {
        let start = usize::from(start);
        let len = usize::from(name[start]);
        name.get(start + 1..start + 1 + len).unwrap_or(&[])
    }
    for i in 1..=na.min(nb) {
        let ord = label(a, sa[na - i]).cmp(label(b, sb[nb - i]));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    na.cmp(&nb)
}

/// What changed from one version of a zone to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneDiff {
    /// The old version's SOA.
    pub old_soa: OwnedRecord,
    /// The new version's SOA.
    pub new_soa: OwnedRecord,
    /// Records of the old version that the new one does not have (the SOA
    /// excepted), in canonical order.
    pub removed: Vec<OwnedRecord>,
    /// Records of the new version that the old one does not have (the SOA
    /// excepted), in canonical order.
    pub added: Vec<OwnedRecord>,
}

impl ZoneDiff {
    /// The difference from `old` to `new`, two versions of one zone (same
    /// apex). Every compiled zone has an SOA at its apex, so this cannot
    /// fail.
    /// When `new` was patched from `old` (or both from one compiled base,
    /// see [`Zone::patch`], or from bases one compacted from the other's,
    /// [`Zone::compact`]), only the names their overlays hold can differ,
    /// and only those are compared: the cost is the change's, not the zone's.
    pub fn between(old: &Zone, new: &Zone) -> ZoneDiff {
        if let Some(diff) = ZoneDiff::between_related(old, new) {
            return diff;
        }
        let (removed, added) = walk(old, new, usize::MAX).unwrap_or_default();
        ZoneDiff::sorted(old, new, removed, added)
    }

    /// [`between`](Self::between), or `None` as soon as the records of the
    /// difference exceed `budget` bytes, counted as the transfer journal
    /// counts them (48 bytes a record, its owner and its RDATA): for a
    /// caller that would not keep a larger difference anyway. A zone
    /// signed again in full differs in every signature, ~4,000,000
    /// records for a million names, which the walk would otherwise hold
    /// as `OwnedRecord`s (two boxes each) and sort.
    pub fn between_within(old: &Zone, new: &Zone, budget: usize) -> Option<ZoneDiff> {
        if let Some(diff) = ZoneDiff::between_related(old, new) {
            return Some(diff);
        }
        let (removed, added) = walk(old, new, budget)?;
        Some(ZoneDiff::sorted(old, new, removed, added))
    }

    /// The difference of `removed` and `added` put in canonical order.
    fn sorted(
        old: &Zone,
        new: &Zone,
        mut removed: Vec<OwnedRecord>,
        mut added: Vec<OwnedRecord>,
    ) -> ZoneDiff {
        removed.sort_by(OwnedRecord::canonical_cmp);
        added.sort_by(OwnedRecord::canonical_cmp);
        ZoneDiff {
            old_soa: soa(old),
            new_soa: soa(new),
            removed,
            added,
        }
    }

    /// [`between`](Self::between) when it costs the change only: `new`
    /// patched from `old`, both patched from one compiled base, or one on
    /// a base compacted from a version on the other's ([`Zone::compact`]).
    /// `None` for other pairs, which only a walk of the whole zone can
    /// compare.
    pub fn between_related(old: &Zone, new: &Zone) -> Option<ZoneDiff> {
        let names = crate::patch::changed_names(old, new)?;
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for owner in names {
            let new_node = new.node_by_name(&owner).map(|n| new.node(n));
            match old.node_by_name(&owner) {
                Some(id) => {
                    let old_node = old.node(id);
                    diff_node(
                        old,
                        old_node,
                        new,
                        new_node,
                        &owner,
                        &mut removed,
                        &mut added,
                    );
                }
                None => {
                    for set in new_node.map_or(&[][..], |n| new.rrsets(n)) {
                        push_all(new, set, &owner, &mut added);
                    }
                }
            }
        }
        removed.sort_by(OwnedRecord::canonical_cmp);
        added.sort_by(OwnedRecord::canonical_cmp);
        Some(ZoneDiff {
            old_soa: soa(old),
            new_soa: soa(new),
            removed,
            added,
        })
    }

    /// Whether nothing but the SOA changed.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// The apex SOA of a zone.
fn soa(zone: &Zone) -> OwnedRecord {
    let apex = zone.node(0);
    let rdata = zone
        .rrset(apex, Rtype::SOA)
        .and_then(|set| records_of(zone, set).next())
        .map_or(&[][..], |(_, rdata)| rdata);
    OwnedRecord {
        owner: zone.name_bytes(0).into(),
        rtype: Rtype::SOA,
        ttl: zone.rrset(apex, Rtype::SOA).map_or(0, |s| s.ttl),
        rdata: rdata.into(),
    }
}

/// The records of `old` that `new` lacks and those `new` adds, in the
/// order of a walk over both zones' nodes; `None` once they take more
/// than `budget` bytes (see [`ZoneDiff::between_within`]).
fn walk(old: &Zone, new: &Zone, budget: usize) -> Option<(Vec<OwnedRecord>, Vec<OwnedRecord>)> {
    let size = |r: &OwnedRecord| 48 + r.owner.len() + r.rdata.len();
    let mut removed = Vec::new();
    let mut added = Vec::new();
    let (mut counted, mut bytes) = ((0, 0), 0usize);
    let mut within = |removed: &[OwnedRecord], added: &[OwnedRecord]| {
        bytes += removed[counted.0..].iter().map(size).sum::<usize>();
        bytes += added[counted.1..].iter().map(size).sum::<usize>();
        counted = (removed.len(), added.len());
        bytes <= budget
    };
    for id in 0..old.node_count() as u32 {
        let owner = old.name_bytes(id);
        let old_node = old.node(id);
        let new_node = new.node_by_name(owner).map(|n| new.node(n));
        diff_node(
            old,
            old_node,
            new,
            new_node,
            owner,
            &mut removed,
            &mut added,
        );
        if !within(&removed, &added) {
            return None;
        }
    }
    for id in 0..new.node_count() as u32 {
        let owner = new.name_bytes(id);
        if old.node_by_name(owner).is_none() {
            for set in new.rrsets(new.node(id)) {
                push_all(new, set, owner, &mut added);
                push_sigs(new, set, owner, &mut added);
            }
            if !within(&removed, &added) {
                return None;
            }
        }
    }
    Some((removed, added))
}

/// Compares one name's RRsets in the two versions (`new_node` is `None`
/// when the name is gone) and records what differs, SOA excepted.
fn diff_node(
    old: &Zone,
    old_node: NodeRef,
    new: &Zone,
    new_node: Option<NodeRef>,
    owner: &[u8],
    removed: &mut Vec<OwnedRecord>,
    added: &mut Vec<OwnedRecord>,
) {
    let new_sets = new_node.map_or(&[][..], |n| new.rrsets(n));
    for set in old.rrsets(old_node) {
        if set.rtype == Rtype::SOA {
            continue;
        }
        match new_sets.iter().find(|s| s.rtype == set.rtype) {
            None => push_all(old, set, owner, removed),
            Some(other) if old.tails(set) == new.tails(other) => {}
            Some(other) => merge(
                owner,
                set.rtype,
                records_of(old, set).collect(),
                records_of(new, other).collect(),
                removed,
                added,
            ),
        }
    }
    for set in new_sets {
        if set.rtype != Rtype::SOA && !old.rrsets(old_node).iter().any(|s| s.rtype == set.rtype) {
            push_all(new, set, owner, added);
        }
    }
    // A signed zone's RRSIGs, all of the name's together (those over
    // RRsets that came or went are in here too, not in `push_all`).
    let sigs = |zone: &'_ Zone, sets: &[RrSet]| -> Vec<(u32, Vec<u8>)> {
        sets.iter()
            .flat_map(|s| crate::zone::TailIter {
                tails: zone.sig_tails(s),
            })
            .map(|(ttl, rdata)| (ttl, rdata.to_vec()))
            .collect()
    };
    let old_sigs = sigs(old, old.rrsets(old_node));
    let new_sigs = sigs(new, new_sets);
    if !old_sigs.is_empty() || !new_sigs.is_empty() {
        merge(
            owner,
            Rtype::RRSIG,
            old_sigs.iter().map(|(t, r)| (*t, &r[..])).collect(),
            new_sigs.iter().map(|(t, r)| (*t, &r[..])).collect(),
            removed,
            added,
        );
    }
}

/// Records what differs between two versions of one name's records of one
/// type: sorted by RDATA, they merge in one pass into the records only one
/// side has. (Compiled RRsets are in canonical order, which lower-cases
/// names in some RDATA, so they are sorted here by plain bytes.)
fn merge(
    owner: &[u8],
    rtype: Rtype,
    mut a: Vec<(u32, &[u8])>,
    mut b: Vec<(u32, &[u8])>,
    removed: &mut Vec<OwnedRecord>,
    added: &mut Vec<OwnedRecord>,
) {
    a.sort_unstable_by(|x, y| x.1.cmp(y.1).then(x.0.cmp(&y.0)));
    b.sort_unstable_by(|x, y| x.1.cmp(y.1).then(x.0.cmp(&y.0)));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => push_one(owner, rtype, a.next(), removed),
            (None, Some(_)) => push_one(owner, rtype, b.next(), added),
            (Some(x), Some(y)) => match x.1.cmp(y.1).then(x.0.cmp(&y.0)) {
                Ordering::Less => push_one(owner, rtype, a.next(), removed),
                Ordering::Greater => push_one(owner, rtype, b.next(), added),
                Ordering::Equal => {
                    a.next();
                    b.next();
                }
            },
        }
    }
}

/// Appends every record of an RRset, SOA excepted.
fn push_all(zone: &Zone, set: &RrSet, owner: &[u8], out: &mut Vec<OwnedRecord>) {
    if set.rtype == Rtype::SOA {
        return;
    }
    for record in records_of(zone, set) {
        push_one(owner, set.rtype, Some(record), out);
    }
}

/// Appends every RRSIG over an RRset (a signed zone's).
fn push_sigs(zone: &Zone, set: &RrSet, owner: &[u8], out: &mut Vec<OwnedRecord>) {
    for record in (crate::zone::TailIter {
        tails: zone.sig_tails(set),
    }) {
        push_one(owner, Rtype::RRSIG, Some(record), out);
    }
}

/// Appends one record (TTL, RDATA) of type `rtype` at `owner`.
fn push_one(owner: &[u8], rtype: Rtype, record: Option<(u32, &[u8])>, out: &mut Vec<OwnedRecord>) {
    if let Some((ttl, rdata)) = record {
        out.push(OwnedRecord {
            owner: owner.into(),
            rtype,
            ttl,
            rdata: rdata.into(),
        });
    }
}

/// The (TTL, RDATA) pairs of an RRset, in its canonical order.
fn records_of<'z>(zone: &'z Zone, set: &RrSet) -> impl Iterator<Item = (u32, &'z [u8])> + 'z {
    crate::zone::TailIter {
        tails: zone.tails(set),
    }
}

#[cfg(test)]
mod tests;
