//! Building a [`Zone`]: records in, validated compiled zone out.

use std::fmt;
use std::path::{Path, PathBuf};

use candor_wire::{Name, Rtype, wire_name_len};

use crate::index::NameIndex;
use crate::zone::{
    ALIAS, APEX, AdditionalRef, DELEGATION, HAS_DNAME, Lookup, NONE, Node, NodeRef, POOL,
    REDIRECT_DNAME, RrSet, WILDCARD_CHILD, Zone,
};

//----------- ZoneError ------------------------------------------------------

/// A problem with a zone, with the place it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneError {
    /// The file the record came from, if any.
    pub file: Option<PathBuf>,
    /// The line (1-based), or 0 when the problem is not on one line.
    pub line: u32,
    /// What the problem is about (what an API reports it against).
    pub kind: ZoneErrorKind,
    /// What is wrong (lower-case, no trailing period).
    pub message: String,
}

/// What part of a zone a [`ZoneError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneErrorKind {
    /// A record's data: RDATA, or RRSIGs, too long for the wire.
    Data,
    /// Where records are and what stands beside them: an owner outside
    /// the zone, a meta type, CNAME or DNAME rules, the SOA's place, too
    /// many types at one name.
    Placement,
    /// The zone file itself: its syntax, its name, what it includes.
    File,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), 0) => write!(f, "{}: {}", file.display(), self.message),
            (Some(file), line) => write!(f, "{}:{}: {}", file.display(), line, self.message),
            (None, 0) => f.write_str(&self.message),
            (None, line) => write!(f, "line {}: {}", line, self.message),
        }
    }
}

impl std::error::Error for ZoneError {}

//----------- ZoneBuilder ----------------------------------------------------

/// One record waiting to be compiled.
#[derive(Clone, Copy)]
struct Rec {
    /// The owner's node.
    node: u32,
    /// Offset of the RDATA in the RDATA arena.
    rdata_off: u32,
    /// TTL.
    ttl: u32,
    /// Line in its source (0 if unknown).
    line: u32,
    /// Record type.
    rtype: u16,
    /// RDATA length.
    rdata_len: u16,
    /// Index into the source list (`u16::MAX` if none).
    source: u16,
}

/// Collects records for one zone, then compiles them with
/// [`ZoneBuilder::finish`].
///
/// Owner names are interned as they arrive, so a zone's names are stored
/// once however many records they own.
pub struct ZoneBuilder {
    /// The origin, lower-cased.
    apex: Name,
    /// Interned owner names (lower-cased wire), back to back.
    names: Vec<u8>,
    /// One node per interned name: (offset, length).
    node_names: Vec<(u32, u8)>,
    /// Name index over `names`, handed to the zone (payloads filled in by
    /// `finish`).
    index: NameIndex<NodeRef>,
    /// RDATA of every record, back to back.
    rdata: Vec<u8>,
    /// The records.
    recs: Vec<Rec>,
    /// Files records came from.
    sources: Vec<PathBuf>,
    /// Problems found so far.
    errors: Vec<ZoneError>,
    /// The zone's main file, for errors not tied to a line.
    main_source: Option<PathBuf>,
}

impl ZoneBuilder {
    /// Starts a zone with origin `apex`.
    pub fn new(apex: &Name) -> ZoneBuilder {
        ZoneBuilder::with_capacity(apex, 0, 0)
    }

    /// Starts a zone with origin `apex` that will hold about `records`
    /// records with `rdata_bytes` bytes of RDATA in all. A caller that
    /// knows the sizes (signing a compiled zone) gets the record and RDATA
    /// arrays allocated once: grown by doubling, each step copies the
    /// array (below glibc's mmap threshold) and leaves the old one as a
    /// free hole in the heap. The sizes are hints only; the zone is the
    /// same whatever they are.
    pub fn with_capacity(apex: &Name, records: usize, rdata_bytes: usize) -> ZoneBuilder {
        let mut b = ZoneBuilder {
            apex: apex.to_lowercase(),
            names: Vec::new(),
            node_names: Vec::new(),
            index: NameIndex::default(),
            rdata: Vec::with_capacity(rdata_bytes),
            recs: Vec::with_capacity(records),
            sources: Vec::new(),
            errors: Vec::new(),
            main_source: None,
        };
        let apex_wire = b.apex.as_wire().to_vec();
        b.intern(&apex_wire);
        b
    }

    /// Names the main file of the zone (used in errors without a line).
    pub fn set_main_source(&mut self, path: &Path) {
        self.main_source = Some(path.to_owned());
    }

    /// Number of records added so far.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The node id of a lower-cased name, creating it if needed.
    fn intern(&mut self, lower: &[u8]) -> u32 {
        if let Some(node) = self.index.find(&self.names, lower) {
            return node.id;
        }
        let id = self.node_names.len() as u32;
        let off = self.names.len() as u32;
        self.names.extend_from_slice(lower);
        self.node_names.push((off, lower.len() as u8));
        self.index
            .insert(&self.names, NodeRef::unfilled(id), off, lower.len());
        id
    }

    /// The index of a source file, adding it if new.
    fn source_index(&mut self, file: &Path) -> u16 {
        if let Some(i) = self.sources.iter().rposition(|p| p == file) {
            return i as u16;
        }
        if self.sources.len() >= usize::from(u16::MAX) {
            return u16::MAX;
        }
        self.sources.push(file.to_owned());
        (self.sources.len() - 1) as u16
    }

    /// Records a problem at a place.
    fn error(&mut self, source: u16, line: u32, (kind, message): (ZoneErrorKind, String)) {
        let file = self
            .sources
            .get(usize::from(source))
            .cloned()
            .or_else(|| self.main_source.clone());
        self.errors.push(ZoneError {
            file,
            line,
            kind,
            message,
        });
    }

    /// Adds one record. `place` is the file and line it came from.
    ///
    /// Problems that concern this record alone (out-of-zone owner, meta
    /// type, oversized RDATA) are reported here and the record is skipped;
    /// zone-wide problems are reported by [`ZoneBuilder::finish`].
    pub fn add(
        &mut self,
        owner: &Name,
        rtype: Rtype,
        ttl: u32,
        rdata: &[u8],
        place: Option<(&Path, u32)>,
    ) {
        let (source, line) = match place {
            Some((file, line)) => (self.source_index(file), line),
            None => (u16::MAX, 0),
        };
        if let Some(problem) = record_problem(&self.apex, owner, rtype, rdata) {
            return self.error(source, line, problem);
        }
        let rdata_len = rdata.len() as u16;
        let mut lower = [0u8; candor_wire::MAX_NAME_LEN];
        let wire = owner.as_wire();
        lower[..wire.len()].copy_from_slice(wire);
        lower[..wire.len()].make_ascii_lowercase();
        let node = self.intern(&lower[..wire.len()]);
        let rdata_off = self.rdata.len() as u32;
        self.rdata.extend_from_slice(rdata);
        self.recs.push(Rec {
            node,
            rdata_off,
            ttl,
            line,
            rtype: rtype.0,
            rdata_len,
            source,
        });
    }

    /// Validates and compiles the zone; every problem found is returned.
    pub fn finish(mut self) -> Result<Zone, Vec<ZoneError>> {
        // Empty non-terminals: every name between an owner and the apex
        // exists. Ancestors are interned after their descendants here, so
        // nodes are not in depth order; that is computed below.
        let apex_len = self.apex.wire_len();
        let mut i = 0;
        while i < self.node_names.len() {
            let (off, len) = self.node_names[i];
            let name = self.names[off as usize..off as usize + usize::from(len)].to_vec();
            let mut start = 0;
            while name.len() - start > apex_len {
                start += 1 + usize::from(name[start]);
                let before = self.node_names.len();
                if self.intern(&name[start..]) as usize != before {
                    break; // Known already, and so are its ancestors.
                }
            }
            i += 1;
        }

        // Group records by node and type; order RRs canonically and drop
        // duplicates, keeping the TTL of the first record in file order.
        let mut recs = std::mem::take(&mut self.recs);
        let rdata = std::mem::take(&mut self.rdata);
        let rd =
            |r: &Rec| &rdata[r.rdata_off as usize..r.rdata_off as usize + usize::from(r.rdata_len)];
        recs.sort_unstable_by(|a, b| {
            (a.node, a.rtype)
                .cmp(&(b.node, b.rtype))
                .then_with(|| rd(a).cmp(rd(b)))
        });
        recs.dedup_by(|b, a| a.node == b.node && a.rtype == b.rtype && rd(a) == rd(b));

        let node_count = self.node_names.len();
        let mut nodes: Vec<Node> = self
            .node_names
            .iter()
            .map(|&(off, len)| Node {
                name_off: off,
                name_len: len,
                flags: 0,
                rrset_count: 0,
                rrset_first: 0,
                redirect: NONE,
            })
            .collect();
        nodes[0].flags |= APEX;

        // Huge pages under the arrays every answer reads (see `crate::huge`);
        // there are at most as many RRsets as records, and each record's
        // tail is its RDATA plus 10 bytes.
        let mut rrsets: Vec<RrSet> = crate::huge::with_capacity(recs.len());
        let mut data: Vec<u8> = crate::huge::with_capacity(rdata.len() + recs.len() * 10);
        let mut record_count = 0usize;
        // RRSIGs are not RRsets of their own: each goes right after the
        // RRset it covers (`crate::signed`).
        let mut sigs = crate::signed::Signatures::new(take_rrsigs(&mut recs, &rdata), &rdata);
        // For each RRset, the record that gave it its TTL (for error places).
        let mut set_place: Vec<Rec> = Vec::new();
        let mut g = 0;
        while g < recs.len() {
            let first = recs[g];
            let mut end = g + 1;
            while end < recs.len() && recs[end].node == first.node && recs[end].rtype == first.rtype
            {
                end += 1;
            }
            let group = &recs[g..end];
            let ttl_rec = group
                .iter()
                .min_by_key(|r| (r.source, r.line))
                .unwrap_or(&first);
            let ttl = ttl_rec.ttl;
            let node = &mut nodes[first.node as usize];
            if node.rrset_count == 0 {
                node.rrset_first = rrsets.len() as u32;
            }
            if node.rrset_count == u16::MAX {
                let msg = "more than 65535 record types at one name".to_owned();
                self.error(first.source, first.line, (ZoneErrorKind::Placement, msg));
                g = end;
                continue;
            }
            node.rrset_count += 1;
            let count = u16::try_from(group.len()).unwrap_or(u16::MAX);
            let data_off = data.len() as u32;
            for r in group.iter().take(usize::from(count)) {
                data.extend_from_slice(&r.rtype.to_be_bytes());
                data.extend_from_slice(&1u16.to_be_bytes());
                data.extend_from_slice(&ttl.to_be_bytes());
                data.extend_from_slice(&r.rdata_len.to_be_bytes());
                data.extend_from_slice(rd(r));
            }
            record_count += usize::from(count);
            let data_len = data.len() as u32 - data_off;
            let (sig_bytes, sig_count) = sigs.append(first.node, first.rtype, &rdata, &mut data);
            record_count += sig_count;
            let sig_len = u16::try_from(sig_bytes).unwrap_or_else(|_| {
                let msg = format!(
                    "RRSIGs over one {} RRset longer than 65535 bytes",
                    Rtype(first.rtype)
                );
                self.error(first.source, first.line, (ZoneErrorKind::Data, msg));
                0
            });
            set_place.push(*ttl_rec);
            rrsets.push(RrSet {
                rtype: Rtype(first.rtype),
                count,
                ttl,
                data_off,
                data_len,
                add_off: 0,
                add_len: 0,
                sig_len,
            });
            g = end;
        }

        // Flags and zone-level checks.
        let mut errs: Vec<(u16, u32, String)> = Vec::new();
        for orphan in sigs.orphans() {
            let (off, len) = self.node_names[orphan.node as usize];
            let owner = Name::from_wire(&self.names[off as usize..][..usize::from(len)])
                .unwrap_or_else(|_| Name::root());
            errs.push((
                orphan.source,
                orphan.line,
                format!(
                    "RRSIG at {owner} covers {}, which {owner} does not have",
                    Rtype(orphan.covered)
                ),
            ));
        }
        for id in 0..node_count {
            let node = &nodes[id];
            let first = node.rrset_first as usize;
            let sets = &rrsets[first..][..usize::from(node.rrset_count)];
            let places = &set_place[first..][..usize::from(node.rrset_count)];
            let mut flags = node.flags;
            let place = |rtype: Rtype| {
                sets.iter()
                    .position(|s| s.rtype == rtype)
                    .map(|i| places[i])
            };
            let has = |rtype: Rtype| sets.iter().any(|s| s.rtype == rtype);
            let name_wire = &self.names[node.name_off as usize..][..usize::from(node.name_len)];
            let owner = || Name::from_wire(name_wire).unwrap_or_else(|_| Name::root());
            for (rtype, message) in node_problems(id == 0, sets, &owner) {
                let r = match rtype {
                    Some(t) => place(t).unwrap_or(first_or_zero(&recs)),
                    None => Rec {
                        source: u16::MAX,
                        line: 0,
                        ..first_or_zero(&recs)
                    },
                };
                errs.push((r.source, r.line, message));
            }
            if has(Rtype::DNAME) {
                flags |= HAS_DNAME;
            }
            if id != 0 && has(Rtype::NS) {
                flags |= DELEGATION;
            }
            if name_wire.starts_with(b"\x01*") {
                let p = self.node_id(&name_wire[2..]);
                if p != NONE {
                    nodes[p as usize].flags |= WILDCARD_CHILD;
                }
            }
            nodes[id].flags |= flags;
        }
        for (source, line, message) in errs {
            self.error(source, line, (ZoneErrorKind::Placement, message));
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }

        // Redirects, parents before children.
        let mut children = vec![0u32; node_count];
        let mut order: Vec<u32> = (0..node_count as u32).collect();
        order.sort_by_key(|&id| nodes[id as usize].name_len);
        for &id in &order[..] {
            if id == 0 {
                continue;
            }
            let n = &nodes[id as usize];
            let name = &self.names[n.name_off as usize..][..usize::from(n.name_len)];
            let parent = self.node_id(&name[1 + usize::from(name[0])..]);
            if let Some(c) = children.get_mut(parent as usize) {
                *c += 1;
            }
            let p = &nodes[parent as usize];
            let (redirect, dname) = if p.redirect != NONE {
                (p.redirect, p.flags & REDIRECT_DNAME != 0)
            } else if p.flags & HAS_DNAME != 0 {
                (parent, true)
            } else if n.flags & DELEGATION != 0 {
                (id, false)
            } else {
                (NONE, false)
            };
            let n = &mut nodes[id as usize];
            n.redirect = redirect;
            if dname {
                n.flags |= REDIRECT_DNAME;
            }
        }

        let soa = rrsets
            .get(nodes[0].rrset_first as usize..)
            .and_then(|s| {
                s.iter()
                    .take(usize::from(nodes[0].rrset_count))
                    .find(|s| s.rtype == Rtype::SOA)
            })
            .cloned();
        let (negative_soa, serial) = match soa {
            Some(s) => negative_soa(&data[s.data_off as usize..][..s.data_len as usize]),
            None => (Vec::new(), 0),
        };

        let mut zone = Zone {
            apex: self.apex,
            names: self.names,
            nodes,
            index: self.index,
            rrsets,
            data,
            additional: Vec::new(),
            negative_soa,
            serial,
            record_count,
            children,
            pending: Default::default(),
            overlay: None,
            signed: None,
            negative: None,
            rebased: None,
        };
        let nodes = &zone.nodes;
        let filled = |n: &mut NodeRef| *n = node_ref(nodes, n.id);
        zone.index.update(filled);
        resolve_additional(&mut zone);
        zone.signed = crate::signed::SignedParts::of(&zone);
        zone.negative = crate::negative::NegativeBlocks::of(&zone);
        Ok(zone)
    }

    /// The node id of a lower-cased name, or `NONE`.
    fn node_id(&self, lower: &[u8]) -> u32 {
        self.index.find(&self.names, lower).map_or(NONE, |n| n.id)
    }
}

/// The zone-level problems of one node whose RRsets are `sets`: what
/// [`ZoneBuilder::finish`] checks at every name and [`Zone::patch`] at
/// every name it changes, so both ways in share one validator. Each problem
/// names the type of the record it is about (for the error's place), or
/// `None` when no record is at fault (something missing at the apex).
pub(crate) fn node_problems(
    is_apex: bool,
    sets: &[RrSet],
    owner: &dyn Fn() -> Name,
) -> Vec<(Option<Rtype>, String)> {
    let mut errs = Vec::new();
    let has = |rtype: Rtype| sets.iter().any(|s| s.rtype == rtype);
    let many = |rtype: Rtype| sets.iter().any(|s| s.rtype == rtype && s.count > 1);
    if has(Rtype::CNAME) {
        let others = sets
            .iter()
            .any(|s| !matches!(s.rtype, Rtype::CNAME | Rtype::RRSIG | Rtype::NSEC));
        if others {
            errs.push((
                Some(Rtype::CNAME),
                format!("CNAME beside other data at {}", owner()),
            ));
        }
        if many(Rtype::CNAME) {
            errs.push((
                Some(Rtype::CNAME),
                format!("more than one CNAME at {}", owner()),
            ));
        }
    }
    if has(POOL) {
        // A POOL answers as a CNAME: the same exclusivity.
        let others = sets
            .iter()
            .any(|s| !matches!(s.rtype, POOL | Rtype::RRSIG | Rtype::NSEC));
        if others {
            errs.push((Some(POOL), format!("POOL beside other data at {}", owner())));
        }
    }
    if has(ALIAS) {
        // ALIAS stands for the owner's A and AAAA records (it may sit
        // beside MX, TXT, NS, SOA ...), and names one target.
        if has(Rtype::A) || has(Rtype::AAAA) {
            errs.push((
                Some(ALIAS),
                format!("ALIAS beside A or AAAA records at {}", owner()),
            ));
        }
        if many(ALIAS) {
            errs.push((Some(ALIAS), format!("more than one ALIAS at {}", owner())));
        }
    }
    if many(Rtype::DNAME) {
        errs.push((
            Some(Rtype::DNAME),
            format!("more than one DNAME at {}", owner()),
        ));
    }
    if is_apex {
        match sets.iter().find(|s| s.rtype == Rtype::SOA) {
            None => errs.push((None, format!("no SOA record at the zone apex {}", owner()))),
            Some(s) if s.count > 1 => errs.push((
                Some(Rtype::SOA),
                "more than one SOA record at the apex".into(),
            )),
            Some(_) => {}
        }
        if !has(Rtype::NS) {
            errs.push((None, format!("no NS records at the zone apex {}", owner())));
        }
    } else if has(Rtype::SOA) {
        errs.push((
            Some(Rtype::SOA),
            format!("SOA record at {}, not at the zone apex", owner()),
        ));
    }
    errs
}

/// The problem with one record on its own (out-of-zone owner, meta type,
/// oversized RDATA), if any: what [`ZoneBuilder::add`] reports and skips,
/// and what [`Zone::patch`] refuses.
pub(crate) fn record_problem(
    apex: &Name,
    owner: &Name,
    rtype: Rtype,
    rdata: &[u8],
) -> Option<(ZoneErrorKind, String)> {
    if !owner.ends_with(apex) {
        let message = format!("out-of-zone data: {owner} is not in zone {apex}");
        return Some((ZoneErrorKind::Placement, message));
    }
    if rtype.is_meta() {
        let message = format!("{rtype} records cannot be in a zone");
        return Some((ZoneErrorKind::Placement, message));
    }
    if u16::try_from(rdata.len()).is_err() {
        let message = "record data longer than 65535 bytes".to_owned();
        return Some((ZoneErrorKind::Data, message));
    }
    None
}

/// The lookup view of node `id`.
fn node_ref(nodes: &[Node], id: u32) -> NodeRef {
    NodeRef::new(id, &nodes[id as usize])
}

/// Takes the RRSIG records out of `recs` (they are placed after the RRsets
/// they cover, not grouped as an RRset of their own). An RRSIG over a type
/// its name does not have stays in `recs`: such signatures form an RRSIG
/// RRset of their own, served as Knot serves them (to QTYPE=RRSIG).
/// RRSIGs over CNAME at a POOL's name go after the POOL RRset.
fn take_rrsigs(recs: &mut Vec<Rec>, rdata: &[u8]) -> Vec<crate::signed::PendingSig> {
    let covered_of = |r: &Rec| {
        let off = r.rdata_off as usize;
        rdata
            .get(off..off + 2)
            .filter(|_| r.rdata_len >= 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    let mut out = Vec::new();
    if !recs.iter().any(|r| r.rtype == Rtype::RRSIG.0) {
        return out;
    }
    let present: rustc_hash::FxHashSet<(u32, u16)> = recs
        .iter()
        .filter(|r| r.rtype != Rtype::RRSIG.0)
        .map(|r| (r.node, r.rtype))
        .collect();
    recs.retain(|r| {
        if r.rtype != Rtype::RRSIG.0 {
            return true;
        }
        let mut covered = covered_of(r);
        if covered == Rtype::CNAME.0
            && !present.contains(&(r.node, covered))
            && present.contains(&(r.node, POOL.0))
        {
            // A POOL's members are signed as the CNAMEs they answer with
            // (one signature per member, in member order): they go after
            // the POOL RRset, where the answer picks the chosen member's.
            covered = POOL.0;
        }
        if !present.contains(&(r.node, covered)) {
            return true;
        }
        out.push(crate::signed::PendingSig {
            node: r.node,
            covered,
            rdata_off: r.rdata_off,
            rdata_len: r.rdata_len,
            ttl: r.ttl,
            line: r.line,
            source: r.source,
        });
        false
    });
    out
}

/// A placeholder place for errors when no record is at hand.
fn first_or_zero(recs: &[Rec]) -> Rec {
    recs.first().copied().unwrap_or(Rec {
        node: 0,
        rdata_off: 0,
        ttl: 0,
        line: 0,
        rtype: 0,
        rdata_len: 0,
        source: u16::MAX,
    })
}

/// The negative-answer SOA tail (TTL = min(TTL, MINIMUM)) and the serial.
pub(crate) fn negative_soa(tail: &[u8]) -> (Vec<u8>, u32) {
    let mut out = tail.to_vec();
    let rdata = &tail[10..];
    let Some(m) = wire_name_len(rdata) else {
        return (out, 0);
    };
    let Some(r) = wire_name_len(&rdata[m..]) else {
        return (out, 0);
    };
    let fixed = &rdata[m + r..];
    if fixed.len() < 20 {
        return (out, 0);
    }
    let serial = u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]]);
    let minimum = u32::from_be_bytes([fixed[16], fixed[17], fixed[18], fixed[19]]);
    let ttl = u32::from_be_bytes([tail[4], tail[5], tail[6], tail[7]]).min(minimum);
    out[4..8].copy_from_slice(&ttl.to_be_bytes());
    (out, serial)
}

/// The name in RDATA that additional-section processing follows.
pub(crate) fn additional_target(rtype: Rtype, rdata: &[u8]) -> Option<&[u8]> {
    let at = match rtype {
        Rtype::NS => 0,
        Rtype::MX => 2,
        Rtype::SRV => 6,
        Rtype::SVCB | Rtype::HTTPS => 2,
        _ => return None,
    };
    let rest = rdata.get(at..)?;
    let len = wire_name_len(rest)?;
    // An SVCB target of "." means the owner itself; nothing to add.
    (len > 1).then(|| &rest[..len])
}

/// Fills every RRset's additional-section targets: in-zone nodes with A or
/// AAAA records that NS/MX/SRV/SVCB/HTTPS records point at. Glue below a
/// delegation is used for NS records only; wildcards are expanded with the
/// target as owner.
fn resolve_additional(zone: &mut Zone) {
    let mut additional: Vec<AdditionalRef> = Vec::new();
    let mut extra_names: Vec<u8> = Vec::new();
    let names_base = zone.names.len() as u32;
    let mut spans: Vec<(u32, u16)> = Vec::with_capacity(zone.rrsets.len());
    let mut pending = rustc_hash::FxHashSet::default();
    for set_idx in 0..zone.rrsets.len() {
        let set = &zone.rrsets[set_idx];
        let start = additional.len() as u32;
        if matches!(
            set.rtype,
            Rtype::NS | Rtype::MX | Rtype::SRV | Rtype::SVCB | Rtype::HTTPS
        ) {
            let tails = zone.tails(set);
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
                if !Name::from_wire(&lower).is_ok_and(|n| n.ends_with(&zone.apex)) {
                    continue;
                }
                let has_addr = |z: &Zone, id: u32| {
                    z.rrsets(z.node(id))
                        .iter()
                        .any(|s| matches!(s.rtype, Rtype::A | Rtype::AAAA))
                };
                let entry = match zone.node_by_name(&lower) {
                    Some(id) => {
                        let n = &zone.nodes[id as usize];
                        // Below a cut (or at it) only NS records use the
                        // addresses, as glue.
                        if n.redirect != NONE && set.rtype != Rtype::NS {
                            continue;
                        }
                        if !has_addr(zone, id) {
                            pending.insert(lower.into_boxed_slice());
                            continue;
                        }
                        AdditionalRef {
                            node: id,
                            owner_off: n.name_off,
                            owner_len: n.name_len,
                        }
                    }
                    None => match zone.lookup(&lower) {
                        Lookup::Wildcard(w) if has_addr(zone, w.id) => {
                            pending.insert(lower.clone().into_boxed_slice());
                            let off = names_base + extra_names.len() as u32;
                            extra_names.extend_from_slice(&lower);
                            AdditionalRef {
                                node: w.id,
                                owner_off: off,
                                owner_len: lower.len() as u8,
                            }
                        }
                        _ => {
                            pending.insert(lower.into_boxed_slice());
                            continue;
                        }
                    },
                };
                let dup = additional[start as usize..]
                    .iter()
                    .any(|a| a.node == entry.node && a.owner_off == entry.owner_off);
                if !dup {
                    additional.push(entry);
                }
            }
        }
        let len = u16::try_from(additional.len() - start as usize).unwrap_or(u16::MAX);
        spans.push((start, len));
    }
    zone.names.extend_from_slice(&extra_names);
    for (set, (off, len)) in zone.rrsets.iter_mut().zip(spans) {
        set.add_off = off;
        set.add_len = len;
    }
    zone.additional = additional;
    zone.pending = pending;
}

#[cfg(test)]
mod tests;
