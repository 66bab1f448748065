//! Incremental changes: a new version of a zone made in proportion to the
//! change, not to the zone (docs/incremental.md).
//!
//! A compiled [`Zone`] stays the immutable *base*. [`Zone::patch`] returns a
//! new `Zone` whose arrays are empty and whose [`Overlay`] holds the base
//! (shared, an `Arc`) and everything that differs from it: the nodes of the
//! names that changed (a replaced base node keeps its id, a new name gets an
//! id after the base's, a removed name keeps its id with no RRsets and no
//! lookup finds it), their RRsets and wire data (offsets past the base's),
//! their additional-section targets, and the new SOA. Every accessor of
//! `Zone` asks the overlay first when there is one; a compiled zone pays
//! one predictable branch per accessor.
//!
//! What a patch does not do, it refuses with [`PatchError::Rebuild`] and
//! the caller compiles the whole zone as before: changes to NS or DNAME
//! RRsets, to wildcard names, to names at or below a zone cut or DNAME,
//! a name that appears or gains addresses while some additional-section
//! target waits for it, a name removed beside a wildcard, and an overlay
//! past [`MAX_OVERLAY_NAMES`]. Zone-level rules are checked at every
//! changed name by the builder's own `node_problems`, so a patch accepts
//! exactly what [`ZoneBuilder`](crate::ZoneBuilder) accepts.

use std::sync::{Arc, Weak};

use candor_wire::{Name, Rtype};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::build::{
    ZoneError, ZoneErrorKind, additional_target, negative_soa, node_problems, record_problem,
};
use crate::diff::ZoneDiff;
use crate::index::{NameHash, NameIndex};
use crate::zone::{
    AdditionalRef, Lookup, NONE, Node, NodeId, NodeRef, RrSet, WILDCARD_CHILD, Zone,
};

/// An overlay holds at most this many changed names; past it a patch asks
/// for a rebuild (which makes a new base), so the overlay a patch copies
/// stays small.
pub const MAX_OVERLAY_NAMES: usize = 4096;

/// The new content of one name: every record it is to hold (none removes
/// the name's data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeChange {
    /// The owner, wire form (any case).
    pub owner: Box<[u8]>,
    /// The records: type, TTL, RDATA. Duplicates are dropped; an RRset's
    /// TTL is that of its first record here, as the builder takes the TTL
    /// of the first record in its source (give records without a source
    /// order, like a transfer's, in RDATA order to match a builder given
    /// no places).
    pub records: Vec<(Rtype, u32, Box<[u8]>)>,
}

/// Why [`Zone::patch`] made no new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// The change is valid as far as the patch can tell, but it is of a
    /// kind the overlay does not represent: compile the whole zone.
    Rebuild(&'static str),
    /// The changed zone breaks zone-level rules (the builder's messages).
    Invalid(Vec<ZoneError>),
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::Rebuild(why) => write!(f, "needs a full rebuild: {why}"),
            PatchError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&list.join("; "))
            }
        }
    }
}

impl std::error::Error for PatchError {}

//----------- Overlay --------------------------------------------------------

/// What a patched zone holds beyond its base (see the module documentation).
/// Node ids, name offsets, RRset indices, data offsets and additional
/// offsets at or past the base's lengths are the overlay's own.
#[derive(Clone)]
pub(crate) struct Overlay {
    /// The compiled zone this version is a change of (never patched itself).
    pub(crate) base: Arc<Zone>,
    /// Every name whose node differs from the base's: its id and whether
    /// it exists.
    names_map: FxHashMap<Box<[u8]>, (NodeId, bool)>,
    /// Base nodes that changed, by id (a removed one has no RRsets and no
    /// flags).
    replaced: FxHashMap<NodeId, Node>,
    /// Nodes of names the base does not have; ids from the base's count.
    nodes: Vec<Node>,
    /// Names of new nodes and wildcard-expanded additional owners.
    names: Vec<u8>,
    /// RRset descriptors of changed nodes (some point at base data).
    rrsets: Vec<RrSet>,
    /// Wire tails of new RRsets.
    data: Vec<u8>,
    /// Additional-section targets of new RRsets.
    additional: Vec<AdditionalRef>,
    /// Child counts of nodes whose count changed.
    children: FxHashMap<NodeId, u32>,
    /// Additional-section targets without an exact entry, beyond the base's.
    pending: FxHashSet<Box<[u8]>>,
}

impl Overlay {
    /// An empty overlay over `base`.
    fn new(base: Arc<Zone>) -> Overlay {
        Overlay {
            base,
            names_map: FxHashMap::default(),
            replaced: FxHashMap::default(),
            nodes: Vec::new(),
            names: Vec::new(),
            rrsets: Vec::new(),
            data: Vec::new(),
            additional: Vec::new(),
            children: FxHashMap::default(),
            pending: FxHashSet::default(),
        }
    }

    /// Node ids in use (see [`Zone::node_count`]).
    #[cold]
    #[inline(never)]
    pub(crate) fn node_count(&self) -> usize {
        self.base.nodes.len() + self.nodes.len()
    }

    /// The node of an existing name.
    #[cold]
    #[inline(never)]
    pub(crate) fn find(&self, name: &[u8]) -> Option<NodeRef> {
        match self.names_map.get(name) {
            Some(&(id, true)) => Some(self.node(id)),
            Some(&(_, false)) => None,
            None => self.base.index.find(&self.base.names, name),
        }
    }

    /// [`find`](Self::find) with the name's hash known.
    #[cold]
    #[inline(never)]
    pub(crate) fn find_hashed(&self, name: &[u8], hash: NameHash) -> Option<NodeRef> {
        match self.names_map.get(name) {
            Some(&(id, true)) => Some(self.node(id)),
            Some(&(_, false)) => None,
            None => self.base.index.find_hashed(&self.base.names, name, hash),
        }
    }

    /// The node record of id `id`.
    fn node_struct(&self, id: NodeId) -> &Node {
        let nb = self.base.nodes.len();
        if id as usize >= nb {
            return &self.nodes[id as usize - nb];
        }
        self.replaced
            .get(&id)
            .unwrap_or(&self.base.nodes[id as usize])
    }

    /// The lookup view of node `id`.
    #[cold]
    #[inline(never)]
    pub(crate) fn node(&self, id: NodeId) -> NodeRef {
        NodeRef::new(id, self.node_struct(id))
    }

    /// The name of node `id`.
    #[cold]
    #[inline(never)]
    pub(crate) fn name_bytes(&self, id: NodeId) -> &[u8] {
        let n = self.node_struct(id);
        self.name_at(n.name_off, n.name_len)
    }

    /// The `len` bytes at `off` in the base's or the overlay's data arena
    /// (`None` past them).
    pub(crate) fn data_at(&self, off: u32, len: usize) -> Option<&[u8]> {
        let off = off as usize;
        let bd = self.base.data.len();
        if off >= bd {
            self.data.get(off - bd..off - bd + len)
        } else {
            self.base.data.get(off..off + len)
        }
    }

    /// The `len`-byte name at `off` in the base's or the overlay's arena.
    #[cold]
    #[inline(never)]
    pub(crate) fn name_at(&self, off: u32, len: u8) -> &[u8] {
        let (off, len) = (off as usize, usize::from(len));
        let bn = self.base.names.len();
        if off >= bn {
            &self.names[off - bn..off - bn + len]
        } else {
            &self.base.names[off..off + len]
        }
    }

    /// The RRsets of a node.
    #[cold]
    #[inline(never)]
    pub(crate) fn rrsets(&self, node: NodeRef) -> &[RrSet] {
        let first = node.rrset_first as usize;
        let count = usize::from(node.rrset_count);
        let br = self.base.rrsets.len();
        if count == 0 {
            &[]
        } else if first >= br {
            &self.rrsets[first - br..first - br + count]
        } else {
            &self.base.rrsets[first..first + count]
        }
    }

    /// The wire tails of an RRset.
    #[cold]
    #[inline(never)]
    pub(crate) fn tails(&self, set: &RrSet) -> &[u8] {
        let (off, len) = (set.data_off as usize, set.data_len as usize);
        let bd = self.base.data.len();
        if off >= bd {
            &self.data[off - bd..off - bd + len]
        } else {
            &self.base.data[off..off + len]
        }
    }

    /// The wire tails of the RRSIGs over an RRset (right after its own).
    #[cold]
    #[inline(never)]
    pub(crate) fn sig_tails(&self, set: &RrSet) -> &[u8] {
        let off = set.data_off as usize + set.data_len as usize;
        let len = usize::from(set.sig_len);
        let bd = self.base.data.len();
        let tails = if off >= bd {
            self.data.get(off - bd..off - bd + len)
        } else {
            self.base.data.get(off..off + len)
        };
        tails.unwrap_or(&[])
    }

    /// The additional-section targets of an RRset.
    #[cold]
    #[inline(never)]
    pub(crate) fn additional(&self, set: &RrSet) -> &[AdditionalRef] {
        let (off, len) = (set.add_off as usize, usize::from(set.add_len));
        let ba = self.base.additional.len();
        if len == 0 {
            &[]
        } else if off >= ba {
            &self.additional[off - ba..off - ba + len]
        } else {
            &self.base.additional[off..off + len]
        }
    }

    /// [`Zone::lookup_after`] over the base and the overlay: the same
    /// algorithm (`lookup_with`) with the overlay's `find` and nodes.
    #[cold]
    #[inline(never)]
    pub(crate) fn lookup_after(&self, name: &[u8], first: Option<NodeRef>) -> Lookup {
        crate::zone::lookup_with(
            name,
            first,
            self.base.apex.wire_len(),
            || self.node(0),
            |n| self.find(n),
        )
    }

    /// How many names sit directly below node `id`.
    fn children_of(&self, id: NodeId) -> u32 {
        match self.children.get(&id) {
            Some(&c) => c,
            None => self.base.children.get(id as usize).copied().unwrap_or(0),
        }
    }

    /// Whether an additional-section target waits for `name`.
    fn is_pending(&self, name: &[u8]) -> bool {
        self.base.pending.contains(name) || self.pending.contains(name)
    }

    /// Stores node `id` (named `name`) as it now is.
    fn set_node(&mut self, id: NodeId, name: &[u8], node: Node, exists: bool) {
        let nb = self.base.nodes.len();
        if id as usize >= nb {
            self.nodes[id as usize - nb] = node;
        } else {
            self.replaced.insert(id, node);
        }
        self.names_map.insert(name.into(), (id, exists));
    }

    /// A node for `name`, which no lookup finds now: the id it had before
    /// (in the base or in this overlay) or a new one.
    fn new_node(&mut self, name: &[u8]) -> (NodeId, Node) {
        let blank = |name_off: u32| Node {
            name_off,
            name_len: name.len() as u8,
            flags: 0,
            rrset_count: 0,
            rrset_first: 0,
            redirect: NONE,
        };
        if let Some(&(id, _)) = self.names_map.get(name) {
            let off = self.node_struct(id).name_off;
            return (id, blank(off));
        }
        let off = (self.base.names.len() + self.names.len()) as u32;
        self.names.extend_from_slice(name);
        let id = self.node_count() as NodeId;
        let node = blank(off);
        self.nodes.push(node.clone());
        (id, node)
    }

    /// Adds `delta` to the child count of node `id`.
    fn add_child(&mut self, id: NodeId, delta: i64) {
        let c = i64::from(self.children_of(id)) + delta;
        self.children.insert(id, c.max(0) as u32);
    }
}

/// What a base made by [`Zone::compact`] keeps of the base it replaced:
/// enough to tell, without reading the zone, which names can differ
/// between a version on the old base and one on the new.
pub(crate) struct Rebased {
    /// The compiled base of the version that was compacted. Weak: the old
    /// base is freed once nothing else holds it (holding the allocation
    /// keeps the pointer comparison sound).
    from: Weak<Zone>,
    /// The names where the compacted version differed from `from` (its
    /// overlay's names), so the names where the new base does.
    names: Vec<Box<[u8]>>,
}

/// The compiled base a version reads through: itself, or its overlay's.
fn base_of(zone: &Zone) -> &Zone {
    zone.overlay.as_deref().map_or(zone, |ov| &*ov.base)
}

/// What compacted base `to` keeps of `from`, if it was compacted from a
/// version on base `from`.
fn rebased<'a>(from: &Zone, to: &'a Zone) -> Option<&'a Rebased> {
    to.rebased
        .as_deref()
        .filter(|r| std::ptr::eq(r.from.as_ptr(), from))
}

/// The names an overlay holds (none for a compiled zone).
fn overlay_keys(zone: &Zone) -> impl Iterator<Item = &Box<[u8]>> {
    zone.overlay.iter().flat_map(|ov| ov.names_map.keys())
}

/// The names that can differ between two versions of a zone when one was
/// patched from the other or both from the same compiled base: the names
/// their overlays hold. Also when one base was compacted from a version
/// on the other ([`Zone::compact`]): then the names that version's overlay
/// held count too. `None` when the versions are not related that way.
pub(crate) fn changed_names(old: &Zone, new: &Zone) -> Option<Vec<Box<[u8]>>> {
    let (old_base, new_base) = (base_of(old), base_of(new));
    let Some(nov) = new.overlay.as_deref() else {
        // A compiled zone is only related to versions on its own base
        // (it is their base) or on the base it was compacted from.
        if let Some(oov) = old.overlay.as_deref()
            && std::ptr::eq(Arc::as_ptr(&oov.base), new)
        {
            return Some(oov.names_map.keys().cloned().collect());
        }
        let link = rebased(old_base, new).or_else(|| rebased(new, old_base))?;
        return Some(union(link.names.iter().chain(overlay_keys(old))));
    };
    if std::ptr::eq(Arc::as_ptr(&nov.base), old) {
        return Some(nov.names_map.keys().cloned().collect());
    }
    if std::ptr::eq(old_base, new_base) {
        return Some(union(nov.names_map.keys().chain(overlay_keys(old))));
    }
    let link = rebased(old_base, new_base).or_else(|| rebased(new_base, old_base))?;
    Some(union(
        link.names
            .iter()
            .chain(overlay_keys(old))
            .chain(nov.names_map.keys()),
    ))
}

/// The distinct names of `names`.
fn union<'a>(names: impl Iterator<Item = &'a Box<[u8]>>) -> Vec<Box<[u8]>> {
    let mut seen: FxHashSet<&[u8]> = FxHashSet::default();
    names.filter(|n| seen.insert(&n[..])).cloned().collect()
}

/// A name's records in a version (none when no lookup finds the name):
/// type, TTL, RDATA, in the zone's order (types, then RDATA).
fn records_at(zone: &Zone, name: &[u8]) -> Vec<(Rtype, u32, Box<[u8]>)> {
    let mut records = Vec::new();
    if let Some(id) = zone.node_by_name(name) {
        for set in zone.rrsets(zone.node(id)) {
            let tails = crate::zone::TailIter {
                tails: zone.tails(set),
            };
            for (ttl, rdata) in tails {
                records.push((set.rtype, ttl, rdata.into()));
            }
        }
    }
    records
}

/// The parent of a wire name (not the root).
fn parent(name: &[u8]) -> &[u8] {
    &name[1 + usize::from(name[0])..]
}

/// Whether a wire name's first label is `*`.
fn is_wildcard(name: &[u8]) -> bool {
    name.starts_with(b"\x01*")
}

/// One RRset of a change, encoded as the builder encodes it.
struct NewSet {
    /// The type.
    rtype: Rtype,
    /// Number of RRs.
    count: u16,
    /// The shared TTL.
    ttl: u32,
    /// The wire tails.
    tails: Vec<u8>,
    /// The wire tails of the RRSIGs over it (signed zones).
    sigs: Vec<u8>,
    /// How many RRSIGs `sigs` holds.
    sig_count: u16,
}

/// Groups records into RRsets the way `ZoneBuilder::finish` does: by type,
/// RRs in RDATA byte order, duplicates dropped, the TTL of the type's first
/// record as given; RRSIGs after the RRset they cover (`signed::attach`).
fn encode(records: &[(Rtype, u32, Box<[u8]>)]) -> Result<Vec<NewSet>, &'static str> {
    let first_ttl = |rtype: Rtype| records.iter().find(|r| r.0 == rtype).map_or(0, |r| r.1);
    let mut recs: Vec<&(Rtype, u32, Box<[u8]>)> =
        records.iter().filter(|r| r.0 != Rtype::RRSIG).collect();
    recs.sort_by(|a, b| (a.0.0, &a.2).cmp(&(b.0.0, &b.2)));
    recs.dedup_by(|b, a| a.0 == b.0 && a.2 == b.2);
    let mut sets: Vec<NewSet> = Vec::new();
    for (rtype, _, rdata) in recs {
        let rdlen = rdata.len() as u16;
        match sets.last_mut() {
            Some(set) if set.rtype == *rtype && set.count < u16::MAX => {
                set.count += 1;
                push_tail(&mut set.tails, *rtype, set.ttl, rdlen, rdata);
            }
            _ => {
                let ttl = first_ttl(*rtype);
                let mut tails = Vec::new();
                push_tail(&mut tails, *rtype, ttl, rdlen, rdata);
                sets.push(NewSet {
                    rtype: *rtype,
                    count: 1,
                    ttl,
                    tails,
                    sigs: Vec::new(),
                    sig_count: 0,
                });
            }
        }
    }
    signed::attach(records, &mut sets)?;
    Ok(sets)
}

/// Appends one RR tail: TYPE, CLASS IN, TTL, RDLENGTH, RDATA.
fn push_tail(out: &mut Vec<u8>, rtype: Rtype, ttl: u32, rdlen: u16, rdata: &[u8]) {
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&rdlen.to_be_bytes());
    out.extend_from_slice(rdata);
}

/// A zone error without a place (patches come from no file) about
/// where records are ([`ZoneErrorKind::Placement`]).
fn error(message: String) -> ZoneError {
    problem((ZoneErrorKind::Placement, message))
}

/// A zone error without a place, of any kind.
fn problem((kind, message): (ZoneErrorKind, String)) -> ZoneError {
    ZoneError {
        file: None,
        line: 0,
        kind,
        message,
    }
}

//----------- Zone::patch ----------------------------------------------------

impl Zone {
    /// A new version of this zone with `changes` applied, made in time
    /// proportional to the changes (plus the overlay this version already
    /// carries, at most [`MAX_OVERLAY_NAMES`] names). The result reads
    /// exactly as the zone the builder would compile from the same records
    /// (that is the module's test); errors are the builder's, found at the
    /// changed names. [`PatchError::Rebuild`] asks the caller to compile the
    /// whole zone instead.
    pub fn patch(self: &Arc<Zone>, changes: &[NodeChange]) -> Result<Zone, PatchError> {
        // A signed zone's RRSIGs go beside the RRsets they cover and its
        // NSEC chain follows the changed names (`signed`); what would make
        // a zone signed or unsigned, or bring NSEC3, rebuilds.
        if let Some(why) = signed::refusal(self, changes) {
            return Err(PatchError::Rebuild(why));
        }
        let mut ov = match &self.overlay {
            Some(ov) => (**ov).clone(),
            None => Overlay::new(Arc::clone(self)),
        };
        let apex = ov.base.apex.clone();
        let mut record_count = self.record_count as i64;
        let mut errors: Vec<ZoneError> = Vec::new();
        let mut changed: Vec<Name> = Vec::new();
        // RRsets written from here on with data from here on get their
        // additional-section targets once every change is in (a target may
        // change in the same patch; an RRset may be written twice).
        let (rr_start, data_start) = (ov.rrsets.len(), ov.base.data.len() + ov.data.len());
        for change in changes {
            let owner = match Name::from_wire(&change.owner) {
                Ok(n) => n.to_lowercase(),
                Err(e) => {
                    errors.push(error(format!("bad owner name: {e}")));
                    continue;
                }
            };
            if !owner.ends_with(&apex) {
                errors.push(error(format!(
                    "out-of-zone data: {owner} is not in zone {apex}"
                )));
                continue;
            }
            let bad: Vec<ZoneError> = change
                .records
                .iter()
                .filter_map(|(rtype, _, rdata)| record_problem(&apex, &owner, *rtype, rdata))
                .map(problem)
                .collect();
            if !bad.is_empty() {
                errors.extend(bad);
                continue;
            }
            let lower = owner.as_wire();
            if is_wildcard(lower) {
                return Err(PatchError::Rebuild("a wildcard name changes"));
            }
            match ov.lookup_after(lower, ov.find(lower)) {
                // A signed zone's cut whose NSEC alone changes (a name
                // after it in the chain came or went).
                Lookup::Delegation { at_cut: true, .. }
                    if signed::only_nsec_changes(&ov, ov.find(lower), &change.records) => {}
                Lookup::Delegation { .. } | Lookup::Dname(_) => {
                    return Err(PatchError::Rebuild(
                        "a name at or below a zone cut or DNAME changes",
                    ));
                }
                _ => {}
            }
            let cur = ov.find(lower);
            let old: Vec<RrSet> = cur.map_or_else(Vec::new, |n| ov.rrsets(n).to_vec());
            let new = encode(&change.records).map_err(PatchError::Rebuild)?;
            for t in [Rtype::NS, Rtype::DNAME] {
                let before = old.iter().find(|s| s.rtype == t).map(|s| ov.tails(s));
                let after = new.iter().find(|s| s.rtype == t).map(|s| &s.tails[..]);
                if before != after {
                    return Err(PatchError::Rebuild("an NS or DNAME RRset changes"));
                }
            }
            if !changed.iter().any(|n: &Name| n.as_wire() == lower) {
                changed.push(owner.clone());
            }
            let old_count: i64 = old
                .iter()
                .map(|s| i64::from(s.count) + signed::sig_count(ov.sig_tails(s)))
                .sum();
            let new_count: i64 = new
                .iter()
                .map(|s| i64::from(s.count) + i64::from(s.sig_count))
                .sum();
            let Some(cur) = cur else {
                if new.is_empty() {
                    continue; // Removing what is not there.
                }
                // A new name, and maybe new empty non-terminals above it.
                if ov.is_pending(lower) {
                    return Err(PatchError::Rebuild(
                        "a name appears that an additional-section target waits for",
                    ));
                }
                let (id, mut node) = ov.new_node(lower);
                fill(&mut ov, &mut node, &new, &old);
                ov.set_node(id, lower, node, true);
                record_count += new_count;
                let mut name = lower;
                loop {
                    let up = parent(name);
                    if let Some(p) = ov.find(up) {
                        ov.add_child(p.id, 1);
                        break;
                    }
                    if ov.is_pending(up) || is_wildcard(up) {
                        return Err(PatchError::Rebuild(
                            "an empty non-terminal appears that a target or wildcard involves",
                        ));
                    }
                    let (pid, pnode) = ov.new_node(up);
                    ov.set_node(pid, up, pnode, true);
                    ov.children.insert(pid, 1);
                    name = up;
                }
                continue;
            };
            record_count += new_count - old_count;
            if !new.is_empty() || cur.id == 0 || ov.children_of(cur.id) > 0 {
                // The name stays: new data, or an empty non-terminal.
                let has_addr = new
                    .iter()
                    .any(|s| matches!(s.rtype, Rtype::A | Rtype::AAAA));
                if has_addr && ov.is_pending(lower) {
                    return Err(PatchError::Rebuild(
                        "a name gains addresses that an additional-section target waits for",
                    ));
                }
                let mut node = ov.node_struct(cur.id).clone();
                fill(&mut ov, &mut node, &new, &old);
                ov.set_node(cur.id, lower, node, true);
                continue;
            }
            // The name goes, and so do empty non-terminals only it kept.
            let mut id = cur.id;
            let mut name = lower.to_vec();
            loop {
                let mut gone = ov.node_struct(id).clone();
                gone.flags = 0;
                gone.rrset_count = 0;
                gone.rrset_first = 0;
                ov.set_node(id, &name, gone, false);
                let up = parent(&name).to_vec();
                let Some(p) = ov.find(&up) else { break };
                if p.flags & WILDCARD_CHILD != 0 {
                    return Err(PatchError::Rebuild("a name beside a wildcard goes"));
                }
                ov.add_child(p.id, -1);
                if p.id == 0 || p.rrset_count != 0 || ov.children_of(p.id) != 0 {
                    break;
                }
                if is_wildcard(&up) {
                    return Err(PatchError::Rebuild("a wildcard name goes"));
                }
                id = p.id;
                name = up;
            }
        }
        // The zone-level rules, at every changed name as it now is.
        for owner in &changed {
            let sets = ov.find(owner.as_wire()).map_or(&[][..], |n| ov.rrsets(n));
            let is_apex = owner.as_wire() == apex.as_wire();
            let problems = node_problems(is_apex, sets, &|| owner.clone());
            errors.extend(problems.into_iter().map(|(_, m)| error(m)));
        }
        if !errors.is_empty() {
            return Err(PatchError::Invalid(errors));
        }
        if ov.names_map.len() > MAX_OVERLAY_NAMES {
            return Err(PatchError::Rebuild("the overlay is full"));
        }
        for i in rr_start..ov.rrsets.len() {
            let set = &ov.rrsets[i];
            if set.data_off as usize >= data_start && has_targets(set.rtype) {
                resolve_additional(&mut ov, i);
            }
        }
        let apex_node = ov.node(0);
        let soa = ov
            .rrsets(apex_node)
            .iter()
            .find(|s| s.rtype == Rtype::SOA)
            .map(|s| ov.tails(s).to_vec());
        let (negative_soa, serial) = match soa {
            Some(tail) => negative_soa(&tail),
            None => (Vec::new(), 0),
        };
        let mut zone = Zone {
            apex,
            names: Vec::new(),
            nodes: Vec::new(),
            index: NameIndex::default(),
            rrsets: Vec::new(),
            data: Vec::new(),
            additional: Vec::new(),
            negative_soa,
            serial,
            record_count: record_count.max(0) as usize,
            children: Vec::new(),
            pending: FxHashSet::default(),
            signed: signed::parts_after(self, &ov, &changed)?,
            overlay: Some(Box::new(ov)),
            negative: None,
            rebased: None,
        };
        zone.negative = crate::negative::NegativeBlocks::of(&zone);
        Ok(zone)
    }

    /// A new version with a [`ZoneDiff`] applied (IXFR's removals and
    /// additions, then the new SOA): the records at each name it touches
    /// are read from this version, changed, and given to [`Zone::patch`].
    /// A removal matches a record by type and RDATA, whatever its TTL, and
    /// must find one.
    pub fn apply_diff(self: &Arc<Zone>, diff: &ZoneDiff) -> Result<Zone, PatchError> {
        type Content = Vec<(Rtype, u32, Box<[u8]>)>;
        let mut touched: FxHashMap<Box<[u8]>, Content> = FxHashMap::default();
        let mut order: Vec<Box<[u8]>> = Vec::new();
        let mut current = |zone: &Zone, owner: &[u8]| -> Box<[u8]> {
            let lower: Box<[u8]> = owner.to_ascii_lowercase().into();
            if !touched.contains_key(&lower) {
                let mut records = Vec::new();
                if let Some(id) = zone.node_by_name(&lower) {
                    for set in zone.rrsets(zone.node(id)) {
                        let tails = crate::zone::TailIter {
                            tails: zone.tails(set),
                        };
                        for (ttl, rdata) in tails {
                            records.push((set.rtype, ttl, rdata.into()));
                        }
                        // A signed zone's RRSIGs over it, which the patch
                        // places after it again.
                        let sigs = crate::zone::TailIter {
                            tails: zone.sig_tails(set),
                        };
                        for (ttl, rdata) in sigs {
                            records.push((Rtype::RRSIG, ttl, rdata.into()));
                        }
                    }
                }
                touched.insert(lower.clone(), records);
                order.push(lower.clone());
            }
            lower
        };
        let mut missing = Vec::new();
        let mut keys = Vec::new();
        for r in &diff.removed {
            keys.push((current(self, &r.owner), false, r));
        }
        for r in &diff.added {
            keys.push((current(self, &r.owner), true, r));
        }
        let soa_owner = current(self, &diff.new_soa.owner);
        for (key, add, r) in keys {
            let Some(records) = touched.get_mut(&key) else {
                continue;
            };
            let at = records
                .iter()
                .position(|(t, _, d)| *t == r.rtype && d[..] == r.rdata[..]);
            match (add, at) {
                (false, Some(i)) => {
                    records.remove(i);
                }
                (false, None) => {
                    let owner =
                        Name::from_wire(&r.owner).map_or_else(|_| "?".into(), |n| n.to_string());
                    missing.push(error(format!("{owner} {} is not in the zone", r.rtype)));
                }
                (true, Some(i)) => records[i].1 = r.ttl,
                (true, None) => records.push((r.rtype, r.ttl, r.rdata.clone())),
            }
        }
        if !missing.is_empty() {
            return Err(PatchError::Invalid(missing));
        }
        if let Some(records) = touched.get_mut(&soa_owner) {
            records.retain(|(t, _, _)| *t != Rtype::SOA);
            let soa = &diff.new_soa;
            records.push((Rtype::SOA, soa.ttl, soa.rdata.clone()));
        }
        let changes: Vec<NodeChange> = order
            .into_iter()
            .map(|owner| {
                let mut records = touched.remove(&owner).unwrap_or_default();
                // A transfer's records have no order of their own: the
                // builder, given no places, takes each RRset's TTL from its
                // first record in RDATA order.
                records.sort_by(|a, b| (a.0.0, &a.2).cmp(&(b.0.0, &b.2)));
                NodeChange { owner, records }
            })
            .collect();
        self.patch(&changes)
    }

    /// Names the overlay of this version holds (0 for a compiled zone):
    /// what a caller watches to compact.
    pub fn overlay_names(&self) -> usize {
        self.overlay.as_ref().map_or(0, |ov| ov.names_map.len())
    }

    /// This version compiled afresh (same records, no overlay): the
    /// compaction a caller runs off the hot path when the overlay grows or
    /// the zone is idle. It reads the same as `self`. The new base
    /// remembers the base it replaces (weakly) and the names where they
    /// differ, so [`ZoneDiff::between`] a version on either base and one
    /// on the other still costs the change, and [`Zone::catch_up`] can
    /// bring the writes made meanwhile onto it.
    pub fn compact(&self) -> Result<Zone, Vec<ZoneError>> {
        let mut b = crate::ZoneBuilder::new(&self.apex);
        for r in self.records() {
            match Name::from_wire(r.owner) {
                Ok(owner) => b.add(&owner, r.rtype, r.ttl, r.rdata, None),
                Err(e) => return Err(vec![error(format!("bad owner name: {e}"))]),
            }
        }
        let mut zone = b.finish()?;
        zone.rebased = self.overlay.as_deref().map(|ov| {
            Box::new(Rebased {
                from: Arc::downgrade(&ov.base),
                names: ov.names_map.keys().cloned().collect(),
            })
        });
        Ok(zone)
    }

    /// A version that reads as `to`, made by patching this one, which
    /// reads as `from`: the names where `to` differs from `from` get
    /// `to`'s records. This is how a background compaction catches up:
    /// `self` is the compaction of `from` (or an earlier catch-up), `to`
    /// the version the writes made meanwhile, patched from `from` or from
    /// its base. Costs the names the two overlays hold; versions related
    /// in no such way are [`PatchError::Rebuild`].
    pub fn catch_up(self: &Arc<Zone>, from: &Zone, to: &Zone) -> Result<Zone, PatchError> {
        let Some(names) = changed_names(from, to) else {
            return Err(PatchError::Rebuild("the versions are not related"));
        };
        let mut changes = Vec::new();
        for owner in names {
            let records = records_at(to, &owner);
            if records != records_at(from, &owner) {
                changes.push(NodeChange { owner, records });
            }
        }
        self.patch(&changes)
    }
}

/// Writes the RRsets `new` of a changed node into the overlay and points
/// `node` at them. An RRset whose bytes did not change keeps its old
/// descriptor (and so its additional-section targets); a new one gets
/// its targets when the whole patch is in.
fn fill(ov: &mut Overlay, node: &mut Node, new: &[NewSet], old: &[RrSet]) {
    let first = ov.rrsets.len();
    for set in new {
        if let Some(same) = old.iter().find(|o| {
            o.rtype == set.rtype
                && o.ttl == set.ttl
                && ov.tails(o) == &set.tails[..]
                && ov.sig_tails(o) == &set.sigs[..]
        }) {
            ov.rrsets.push(same.clone());
            continue;
        }
        let data_off = (ov.base.data.len() + ov.data.len()) as u32;
        ov.data.extend_from_slice(&set.tails);
        ov.data.extend_from_slice(&set.sigs);
        ov.rrsets.push(RrSet {
            rtype: set.rtype,
            count: set.count,
            ttl: set.ttl,
            data_off,
            data_len: set.tails.len() as u32,
            add_off: (ov.base.additional.len() + ov.additional.len()) as u32,
            add_len: 0,
            // `attach` refused RRSIGs past 65535 bytes.
            sig_len: set.sigs.len() as u16,
        });
    }
    node.rrset_count = new.len() as u16;
    node.rrset_first = if new.is_empty() {
        0
    } else {
        (ov.base.rrsets.len() + first) as u32
    };
    // The flags (apex, wildcard child, DNAME) and the redirect stay: they
    // depend on names around and on NS/DNAME, which a patch does not change.
}

/// Whether RRsets of a type have additional-section targets.
fn has_targets(rtype: Rtype) -> bool {
    matches!(
        rtype,
        Rtype::NS | Rtype::MX | Rtype::SRV | Rtype::SVCB | Rtype::HTTPS
    )
}

/// Resolves the additional-section targets of overlay RRset `i` against
/// the patched zone, as the builder's `resolve_additional` does, and notes
/// targets without an exact entry as pending.
fn resolve_additional(ov: &mut Overlay, i: usize) {
    let set = ov.rrsets[i].clone();
    let tails = ov.tails(&set).to_vec();
    let start = ov.additional.len();
    let mut pos = 0;
    while pos + 10 <= tails.len() {
        let rdlen = usize::from(u16::from_be_bytes([tails[pos + 8], tails[pos + 9]]));
        let Some(rdata) = tails.get(pos + 10..pos + 10 + rdlen) else {
            break;
        };
        pos += 10 + rdlen;
        let Some(target) = additional_target(set.rtype, rdata) else {
            continue;
        };
        let lower = target.to_ascii_lowercase();
        if !Name::from_wire(&lower).is_ok_and(|n| n.ends_with(&ov.base.apex)) {
            continue;
        }
        let has_addr = |ov: &Overlay, id: NodeId| {
            ov.rrsets(ov.node(id))
                .iter()
                .any(|s| matches!(s.rtype, Rtype::A | Rtype::AAAA))
        };
        let entry = match ov.find(&lower) {
            Some(n) => {
                if n.redirect != NONE && set.rtype != Rtype::NS {
                    continue;
                }
                if !has_addr(ov, n.id) {
                    ov.pending.insert(lower.into_boxed_slice());
                    continue;
                }
                let node = ov.node_struct(n.id);
                AdditionalRef {
                    node: n.id,
                    owner_off: node.name_off,
                    owner_len: node.name_len,
                }
            }
            None => match ov.lookup_after(&lower, None) {
                Lookup::Wildcard(w) if has_addr(ov, w.id) => {
                    let off = (ov.base.names.len() + ov.names.len()) as u32;
                    ov.names.extend_from_slice(&lower);
                    ov.pending.insert(lower.clone().into_boxed_slice());
                    AdditionalRef {
                        node: w.id,
                        owner_off: off,
                        owner_len: lower.len() as u8,
                    }
                }
                _ => {
                    ov.pending.insert(lower.into_boxed_slice());
                    continue;
                }
            },
        };
        let dup = ov.additional[start..]
            .iter()
            .any(|a| a.node == entry.node && a.owner_off == entry.owner_off);
        if !dup {
            ov.additional.push(entry);
        }
    }
    let set = &mut ov.rrsets[i];
    set.add_off = (ov.base.additional.len() + start) as u32;
    set.add_len = u16::try_from(ov.additional.len() - start).unwrap_or(u16::MAX);
}

mod signed;
#[cfg(test)]
mod tests;
