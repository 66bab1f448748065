//! The compiled, immutable zone and its lookup.

use std::hash::{BuildHasher, Hasher};

use candor_wire::{Name, Rtype};

use crate::index::{NameHash, NameIndex};
use crate::patch::Overlay;
use rustc_hash::{FxBuildHasher, FxHashSet};

/// The private-use type (RFC 6895 §3.1) of DNSimple-style POOL records:
/// each RR names a target, and a query gets a CNAME to one of them, chosen
/// per query. POOL RRsets are never served as such.
pub const POOL: Rtype = Rtype(65303);

/// The private-use type of DNSimple-style ALIAS records: the owner answers
/// A and AAAA queries with the target's addresses. ALIAS RRsets are never
/// served as such.
pub const ALIAS: Rtype = Rtype(65304);

/// Whether a type is one of Candor's private record types, which live in
/// zones but are never served as themselves (POOL, ALIAS, and REGIONAL:
/// `regional`).
#[inline]
pub fn is_private_type(rtype: Rtype) -> bool {
    // POOL, ALIAS and REGIONAL are consecutive: one range check, which is
    // what the answer path pays per query (no more than the two compares
    // it was before REGIONAL).
    const _: () = assert!(
        POOL.0 + 1 == ALIAS.0 && ALIAS.0 + 1 == crate::regional::REGIONAL.0,
        "private types are consecutive"
    );
    (POOL.0..=crate::regional::REGIONAL.0).contains(&rtype.0)
}

/// Index of a node in its zone's arena.
pub type NodeId = u32;

/// "No node" in `u32` fields.
pub(crate) const NONE: u32 = u32::MAX;

/// Node flag: the zone apex.
pub(crate) const APEX: u8 = 1;
/// Node flag: a delegation point (NS below the apex).
pub(crate) const DELEGATION: u8 = 2;
/// Node flag: has a `*` child (RFC 4592 source of synthesis).
pub(crate) const WILDCARD_CHILD: u8 = 4;
/// Node flag: has a DNAME RRset.
pub(crate) const HAS_DNAME: u8 = 16;
/// Node flag: `redirect` names a DNAME owner (otherwise a delegation).
pub(crate) const REDIRECT_DNAME: u8 = 32;

//----------- Node and RrSet -------------------------------------------------

/// A node as a lookup returns it: its id plus the fields answering needs,
/// copied into the name index so that finding a name loads nothing else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeRef {
    /// The node.
    pub id: NodeId,
    /// First RRset in the zone's RRset array.
    pub(crate) rrset_first: u32,
    /// Number of RRsets.
    pub(crate) rrset_count: u16,
    /// `APEX`, `DELEGATION`, ... bits.
    pub(crate) flags: u8,
    /// See `Node::redirect`.
    pub(crate) redirect: u32,
}

impl NodeRef {
    /// The lookup view of `node` (whose id is `id`).
    pub(crate) fn new(id: NodeId, node: &Node) -> NodeRef {
        NodeRef {
            id,
            rrset_first: node.rrset_first,
            rrset_count: node.rrset_count,
            flags: node.flags,
            redirect: node.redirect,
        }
    }

    /// A reference to node `id` before its fields are known.
    pub(crate) fn unfilled(id: NodeId) -> NodeRef {
        NodeRef {
            id,
            rrset_first: 0,
            rrset_count: 0,
            flags: 0,
            redirect: NONE,
        }
    }
}

/// A name in the zone (with data, or an empty non-terminal).
#[derive(Clone, Debug)]
pub struct Node {
    /// Offset of the lower-cased wire name in the zone's name arena.
    pub(crate) name_off: u32,
    /// Length of the wire name.
    pub(crate) name_len: u8,
    /// `APEX`, `DELEGATION`, ... bits.
    pub(crate) flags: u8,
    /// Number of RRsets.
    pub(crate) rrset_count: u16,
    /// First RRset in the zone's RRset array (sorted by type within a node).
    pub(crate) rrset_first: u32,
    /// The topmost delegation at or above this node, or the topmost DNAME
    /// owner strictly above it (see `REDIRECT_DNAME`), or `NONE`.
    pub(crate) redirect: u32,
}

/// One RRset, encoded as wire "tails" (RR without its owner).
#[derive(Clone, Debug)]
pub struct RrSet {
    /// Record type.
    pub rtype: Rtype,
    /// Number of RRs.
    pub count: u16,
    /// TTL shared by the RRs.
    pub ttl: u32,
    /// Offset of the tails in the zone's data arena.
    pub(crate) data_off: u32,
    /// Length of the tails.
    pub(crate) data_len: u32,
    /// First entry in the zone's additional array.
    pub(crate) add_off: u32,
    /// Number of additional entries.
    pub(crate) add_len: u16,
    /// Length of the tails of the RRSIGs over this RRset, stored right
    /// after its own tails (0 in unsigned zones; see `crate::signed`).
    pub(crate) sig_len: u16,
}

/// A target of additional-section processing: a node whose A/AAAA RRsets
/// go in the additional section, written with owner `owner` (the node's own
/// name, or the target name when the node is a wildcard that matched it).
#[derive(Clone, Copy, Debug)]
pub struct AdditionalRef {
    /// The node holding the addresses.
    pub node: NodeId,
    /// Offset and length of the owner name in the name arena.
    pub(crate) owner_off: u32,
    /// Length of the owner name.
    pub(crate) owner_len: u8,
}

/// One record of a compiled zone (see [`Zone::records`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneRecord<'z> {
    /// The lower-cased wire owner name.
    pub owner: &'z [u8],
    /// The type.
    pub rtype: Rtype,
    /// The TTL (the RRset's).
    pub ttl: u32,
    /// The RDATA, uncompressed.
    pub rdata: &'z [u8],
}

/// Walks the wire tails of one RRset: TYPE, CLASS, TTL, RDLENGTH, RDATA.
pub(crate) struct TailIter<'z> {
    /// What is left to walk.
    pub(crate) tails: &'z [u8],
}

impl<'z> Iterator for TailIter<'z> {
    type Item = (u32, &'z [u8]);

    fn next(&mut self) -> Option<(u32, &'z [u8])> {
        let head = self.tails.get(..10)?;
        let ttl = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let rdlen = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let rdata = self.tails.get(10..10 + rdlen)?;
        self.tails = &self.tails[10 + rdlen..];
        Some((ttl, rdata))
    }
}

/// How many records a block of wire tails (TYPE, CLASS, TTL, RDLENGTH,
/// RDATA, back to back) holds, at most `u16::MAX`; a truncated last one
/// counts.
#[inline]
pub fn tail_count(mut tails: &[u8]) -> u16 {
    let mut n = 0u16;
    while let Some(head) = tails.get(..10) {
        let len = 10 + usize::from(u16::from_be_bytes([head[8], head[9]]));
        tails = tails.get(len..).unwrap_or(&[]);
        n = n.saturating_add(1);
    }
    n
}

//----------- Lookup ---------------------------------------------------------

/// Where a name leads in a zone (RFC 1034 §4.3.2 step 3, RFC 4592, RFC 6672).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The name exists (possibly as an empty non-terminal).
    Exact(NodeRef),
    /// The name is at or below a zone cut; `at_cut` when it is the cut itself.
    Delegation {
        /// The delegation point.
        cut: NodeId,
        /// Whether the name is the delegation point itself.
        at_cut: bool,
    },
    /// A DNAME at `owner` covers the name, which is strictly below it.
    Dname(NodeId),
    /// The name does not exist but the wildcard node `source` matches it.
    Wildcard(NodeRef),
    /// The name does not exist; `encloser` is the closest encloser.
    NxDomain(NodeId),
}

//----------- Zone -----------------------------------------------------------

/// An immutable compiled zone.
pub struct Zone {
    /// The origin, lower-cased.
    pub(crate) apex: Name,
    /// Owner names, lower-cased wire form, back to back.
    pub(crate) names: Vec<u8>,
    /// Nodes; node 0 is the apex.
    pub(crate) nodes: Vec<Node>,
    /// Nodes by name (see `NameIndex`: short names and the nodes' hot
    /// fields sit in the slots).
    pub(crate) index: NameIndex<NodeRef>,
    /// RRsets, grouped by node.
    pub(crate) rrsets: Vec<RrSet>,
    /// RR tails of every RRset.
    pub(crate) data: Vec<u8>,
    /// Additional-section targets of every RRset.
    pub(crate) additional: Vec<AdditionalRef>,
    /// The SOA RR tail with TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 §3).
    pub(crate) negative_soa: Vec<u8>,
    /// SOA serial.
    pub(crate) serial: u32,
    /// Records in the zone.
    pub(crate) record_count: usize,
    /// How many names sit directly below each node (by node id): what an
    /// incremental change needs to tell whether a name it empties
    /// disappears or stays as an empty non-terminal. Off the query path.
    pub(crate) children: Vec<u32>,
    /// In-zone names that additional-section targets point at but that
    /// gave no exact-node entry (absent, without addresses, or matched
    /// through a wildcard): an incremental change that makes one of them
    /// exist or gain addresses must rebuild (see `crate::patch`).
    pub(crate) pending: FxHashSet<Box<[u8]>>,
    /// Changes since the compiled base, when this version was made by
    /// [`Zone::patch`]; then the arrays above are empty and every accessor
    /// reads through the overlay. `None` for a compiled zone, which pays
    /// one predictable branch per accessor for it.
    pub(crate) overlay: Option<Box<Overlay>>,
    /// The NSEC chain of a signed zone; `None` for an unsigned one.
    pub(crate) signed: Option<Box<crate::signed::SignedParts>>,
    /// The negative answers' authority records as a response carries
    /// them (see `crate::negative`), made with the version.
    pub(crate) negative: Option<Box<crate::negative::NegativeBlocks>>,
    /// For a base made by [`Zone::compact`]: the base it replaced and the
    /// names where the two differ, so that a diff between versions on
    /// either base still compares only those names (see `crate::patch`).
    pub(crate) rebased: Option<Box<crate::patch::Rebased>>,
}

/// Whether two names are byte-for-byte equal. Names are short, so eight
/// bytes at a time inline beats a call to `memcmp` (which showed up at 5% of
/// server CPU in profiles).
#[inline]
pub(crate) fn name_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_rest) = a.as_chunks::<8>();
    let (b_words, b_rest) = b.as_chunks::<8>();
    a_words
        .iter()
        .zip(b_words)
        .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && a_rest.iter().zip(b_rest).all(|(x, y)| x == y)
}

/// Whether the wire name stored at `off` in `names` is `name`. Wire names
/// delimit themselves (the root label ends them), so comparing exactly
/// `name.len()` bytes is enough: the stored name's length need not be known.
#[inline]
pub(crate) fn name_at(names: &[u8], off: u32, name: &[u8]) -> bool {
    let off = off as usize;
    names
        .get(off..off + name.len())
        .is_some_and(|stored| name_eq(stored, name))
}

/// Hashes a lower-cased wire name for the index.
pub(crate) fn hash_name(name: &[u8]) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    h.write(name);
    h.finish()
}

impl Zone {
    /// The origin, lower-cased.
    pub fn apex(&self) -> &Name {
        &self.apex
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// How many records the zone holds.
    pub fn record_count(&self) -> usize {
        self.record_count
    }

    /// How many node ids the zone has (names, including empty
    /// non-terminals). In a patched zone (see [`Zone::patch`]) a name that
    /// was removed keeps its id as a node without RRsets that no lookup
    /// finds; walk `0..node_count()` and skip what `lookup` does not find
    /// when that matters.
    pub fn node_count(&self) -> usize {
        if let Some(ov) = &self.overlay {
            return ov.node_count();
        }
        self.nodes.len()
    }

    /// The node with a lower-cased wire name, if it exists.
    #[inline]
    pub fn node_by_name(&self, name: &[u8]) -> Option<NodeId> {
        if let Some(ov) = &self.overlay {
            return ov.find(name).map(|n| n.id);
        }
        self.index.find(&self.names, name).map(|n| n.id)
    }

    // The accessors below find a compiled zone's data with `get` and go
    // to the overlay (see `crate::patch`) when it finds nothing: a patched
    // zone's own arrays are empty, so its ids and offsets miss them. The
    // check is the bounds check indexing did anyway, so a compiled zone
    // pays nothing for patched ones; misuse still panics, in `overlay()`.

    /// The node with id `id`.
    #[inline]
    pub fn node(&self, id: NodeId) -> NodeRef {
        match self.nodes.get(id as usize) {
            Some(n) => NodeRef::new(id, n),
            None => self.overlay().node(id),
        }
    }

    /// The lower-cased wire name of a node.
    #[inline]
    pub fn name_bytes(&self, id: NodeId) -> &[u8] {
        match self.nodes.get(id as usize) {
            Some(n) => &self.names[n.name_off as usize..][..usize::from(n.name_len)],
            None => self.overlay().name_bytes(id),
        }
    }

    /// The RRsets of a node, sorted by type.
    #[inline]
    pub fn rrsets(&self, node: NodeRef) -> &[RrSet] {
        let first = node.rrset_first as usize;
        match self
            .rrsets
            .get(first..first + usize::from(node.rrset_count))
        {
            Some(sets) => sets,
            None => self.overlay().rrsets(node),
        }
    }

    /// The RRset of a type at a node.
    #[inline]
    pub fn rrset(&self, node: NodeRef, rtype: Rtype) -> Option<&RrSet> {
        self.rrsets(node).iter().find(|s| s.rtype == rtype)
    }

    /// The wire tails of an RRset (see `MessageBuilder::push_rrset`).
    #[inline]
    pub fn tails(&self, set: &RrSet) -> &[u8] {
        let off = set.data_off as usize;
        match self.data.get(off..off + set.data_len as usize) {
            Some(tails) => tails,
            None => self.overlay().tails(set),
        }
    }

    /// The wire tails of the RRSIGs over an RRset (empty when the zone is
    /// not signed), stored right after the RRset's own.
    #[inline]
    pub fn sig_tails(&self, set: &RrSet) -> &[u8] {
        let start = set.data_off as usize + set.data_len as usize;
        match self.data.get(start..start + usize::from(set.sig_len)) {
            Some(sigs) => sigs,
            None => self.overlay_sig_tails(set),
        }
    }

    /// [`sig_tails`](Self::sig_tails) of an RRset a patch wrote (its data
    /// is in the overlay); empty in a compiled zone.
    #[cold]
    #[inline(never)]
    fn overlay_sig_tails(&self, set: &RrSet) -> &[u8] {
        match &self.overlay {
            Some(ov) => ov.sig_tails(set),
            None => &[],
        }
    }

    /// The NSEC chain, when the zone is signed (holds NSEC records).
    #[inline]
    pub fn signed(&self) -> Option<&crate::signed::SignedParts> {
        self.signed.as_deref()
    }

    /// The NSEC proof of chain entry `i` (see
    /// [`SignedParts::entry_below`](crate::SignedParts::entry_below)),
    /// read from the chain's entry alone; `None` for an unsigned zone, an
    /// entry past the chain, or one whose NSEC is too long for it (then
    /// the node's RRsets have it).
    #[inline]
    pub fn chain_proof(&self, i: usize) -> Option<crate::signed::ChainProof<'_>> {
        let at = *self.signed.as_deref()?.proofs.get(i)?;
        if at.nsec_len == 0 {
            return None;
        }
        let (off, nsec, sigs) = (
            at.data_off as usize,
            usize::from(at.nsec_len),
            usize::from(at.sig_len),
        );
        let (tails, name) = match (
            self.data.get(off..off + nsec + sigs),
            self.names
                .get(at.name_off as usize..at.name_off as usize + usize::from(at.name_len)),
        ) {
            (Some(tails), Some(name)) => (tails, name),
            _ => self.overlay_proof(&at)?,
        };
        Some(crate::signed::ChainProof {
            name,
            nsec: &tails[..nsec],
            nsec_count: u16::from(at.nsec_count),
            sigs: &tails[nsec..],
            sig_count: u16::from(at.sig_count),
        })
    }

    /// [`chain_proof`](Self::chain_proof)'s bytes (the tails with the
    /// RRSIGs, and the owner) when either is in a patched zone's overlay.
    #[cold]
    #[inline(never)]
    fn overlay_proof(&self, at: &crate::signed::ProofAt) -> Option<(&[u8], &[u8])> {
        let ov = self.overlay.as_deref()?;
        Some((
            ov.data_at(
                at.data_off,
                usize::from(at.nsec_len) + usize::from(at.sig_len),
            )?,
            ov.name_at(at.name_off, at.name_len),
        ))
    }

    /// Starts loading chain entry `i`'s proof: the entry, then (once it
    /// is in) the NSEC with its RRSIGs and the owner, so that they arrive
    /// while the answer writes what comes before them. A hint: it reads
    /// the entry, nothing else, and cannot fail.
    #[inline]
    pub fn prefetch_chain_proof(&self, i: usize) {
        let Some(at) = self.signed.as_deref().and_then(|p| p.proofs.get(i)) else {
            return;
        };
        let len = usize::from(at.nsec_len) + usize::from(at.sig_len);
        if let Some(b) = self.data.get(at.data_off as usize) {
            crate::prefetch_bytes(b, len.min(256));
        }
        if let Some(b) = self.names.get(at.name_off as usize) {
            crate::prefetch_bytes(b, usize::from(at.name_len));
        }
    }

    /// Additional-section targets of an RRset.
    #[inline]
    pub fn additional(&self, set: &RrSet) -> &[AdditionalRef] {
        let off = set.add_off as usize;
        match self.additional.get(off..off + usize::from(set.add_len)) {
            Some(adds) => adds,
            None => self.overlay().additional(set),
        }
    }

    /// The owner name of an additional target.
    #[inline]
    pub fn additional_owner(&self, add: &AdditionalRef) -> &[u8] {
        let off = add.owner_off as usize;
        match self.names.get(off..off + usize::from(add.owner_len)) {
            Some(name) => name,
            None => self.overlay().name_at(add.owner_off, add.owner_len),
        }
    }

    /// The overlay of a patched zone, for ids and offsets past the
    /// compiled arrays. A compiled zone has none: then an id or offset
    /// past its arrays is a caller's bug, which panics as indexing did.
    #[cold]
    #[inline(never)]
    fn overlay(&self) -> &Overlay {
        match &self.overlay {
            Some(ov) => ov,
            None => panic!("node id or offset outside zone {}", self.apex),
        }
    }

    /// Every record of the zone: nodes in build order (the apex first),
    /// RRsets by type within a node, records in canonical order within an
    /// RRset, each RRset followed by the RRSIGs over it (in a signed
    /// zone). Owner names are lower-cased. This is what the zone serves,
    /// private types (ALIAS, POOL) included; it is for whole-zone work off
    /// the query path (the last-known-good copy, transfers, diffs).
    pub fn records(&self) -> impl Iterator<Item = ZoneRecord<'_>> + '_ {
        (0..self.node_count() as NodeId).flat_map(move |id| {
            let owner = self.name_bytes(id);
            self.rrsets(self.node(id)).iter().flat_map(move |set| {
                let own = TailIter {
                    tails: self.tails(set),
                }
                .map(move |(ttl, rdata)| ZoneRecord {
                    owner,
                    rtype: set.rtype,
                    ttl,
                    rdata,
                });
                let sigs = TailIter {
                    tails: self.sig_tails(set),
                }
                .map(move |(ttl, rdata)| ZoneRecord {
                    owner,
                    rtype: Rtype::RRSIG,
                    ttl,
                    rdata,
                });
                own.chain(sigs)
            })
        })
    }

    /// The SOA tail to put in the authority section of negative answers.
    pub fn negative_soa(&self) -> &[u8] {
        &self.negative_soa
    }

    /// The negative answers' authority records, prerendered: the SOA
    /// (with its RRSIGs) and the apex's NSEC (see
    /// [`NegativeBlocks`](crate::NegativeBlocks)).
    #[inline]
    pub fn negative_blocks(&self) -> Option<&crate::NegativeBlocks> {
        self.negative.as_deref()
    }

    /// Starts loading this zone's own fields (where its arrays are, its
    /// apex, ...). With many zones they are not all in cache, and every
    /// other prefetch needs them.
    #[inline]
    pub fn prefetch_header(&self) {
        crate::prefetch_bytes((self as *const Zone).cast(), size_of::<Zone>());
    }

    /// Starts loading the index slot where a lookup of the name with hash
    /// `hash` begins (see [`NameHash`]). Prefetch methods are hints for
    /// answering a batch of queries: they read nothing and cannot fail.
    #[inline]
    pub fn prefetch_name(&self, hash: NameHash) {
        if let Some(ov) = &self.overlay {
            return ov.base.prefetch_name(hash);
        }
        self.index.prefetch(hash);
    }

    /// The node with this lower-cased wire name, whose hash is `hash`.
    #[inline]
    pub fn find_hashed(&self, name: &[u8], hash: NameHash) -> Option<NodeRef> {
        if let Some(ov) = &self.overlay {
            return ov.find_hashed(name, hash);
        }
        self.index.find_hashed(&self.names, name, hash)
    }

    /// Starts loading a node's RRset descriptors.
    #[inline]
    pub fn prefetch_rrsets(&self, node: NodeRef) {
        if let Some(set) = self.rrsets.get(node.rrset_first as usize) {
            // Up to 256 bytes: an apex with SOA, NS, A, AAAA, MX, TXT and
            // CAA takes 168, and answers look at them all.
            let len = (usize::from(node.rrset_count) * size_of::<RrSet>()).min(256);
            crate::prefetch_bytes((set as *const RrSet).cast(), len);
        }
    }

    /// Starts loading the first bytes of an RRset's wire data.
    #[inline]
    pub fn prefetch_tails(&self, set: &RrSet) {
        if let Some(b) = self.data.get(set.data_off as usize) {
            crate::prefetch_bytes(b, (set.data_len as usize).min(128));
        }
    }

    /// Finds where `name` (lower-cased wire, at or below the apex) leads.
    ///
    /// Probes the name, then each ancestor, in the hash index: the first hit
    /// is the closest encloser. Delegations and DNAMEs above it were
    /// recorded in each node's `redirect` when the zone was compiled.
    pub fn lookup(&self, name: &[u8]) -> Lookup {
        if let Some(ov) = &self.overlay {
            return ov.lookup_after(name, ov.find(name));
        }
        self.lookup_after(name, self.index.find(&self.names, name))
    }

    /// [`lookup`](Self::lookup) when the index was already asked for
    /// `name` itself and answered `first` (see [`find_hashed`](Self::find_hashed)).
    pub fn lookup_after(&self, name: &[u8], first: Option<NodeRef>) -> Lookup {
        if let Some(ov) = &self.overlay {
            return ov.lookup_after(name, first);
        }
        lookup_with(
            name,
            first,
            self.apex.wire_len(),
            || self.node(0),
            |n| self.index.find(&self.names, n),
        )
    }
}

/// [`Zone::lookup_after`]'s algorithm over an index: `first` is what
/// `find` gave for `name` itself, `apex_len` the apex's length and `apex`
/// its node (node 0). A patched zone's overlay runs it with its own
/// `find` and nodes.
#[inline(always)]
pub(crate) fn lookup_with(
    name: &[u8],
    first: Option<NodeRef>,
    apex_len: usize,
    apex: impl Fn() -> NodeRef,
    find: impl Fn(&[u8]) -> Option<NodeRef>,
) -> Lookup {
    let mut start = 0usize;
    let mut exact = true;
    let mut probe = first;
    let node = loop {
        if let Some(node) = probe {
            break node;
        }
        exact = false;
        if name.len() - start <= apex_len {
            // Not below the apex at all; callers pick the zone by suffix,
            // so this only happens on misuse. Answer from the apex.
            break apex();
        }
        start += 1 + usize::from(name[start]);
        probe = if name.len() - start == apex_len {
            // The apex (what the search would find, or on misuse the
            // branch above): not looked up.
            Some(apex())
        } else {
            find(&name[start..])
        };
    };
    if node.redirect != NONE {
        if node.flags & REDIRECT_DNAME != 0 {
            return Lookup::Dname(node.redirect);
        }
        return Lookup::Delegation {
            cut: node.redirect,
            at_cut: exact && node.redirect == node.id,
        };
    }
    if exact {
        return Lookup::Exact(node);
    }
    if node.flags & HAS_DNAME != 0 {
        return Lookup::Dname(node.id);
    }
    // The closest encloser is the suffix of the name found above.
    let ce = &name[start..];
    if node.flags & WILDCARD_CHILD != 0 && ce.len() + 2 <= candor_wire::MAX_NAME_LEN {
        let mut buf = [0u8; candor_wire::MAX_NAME_LEN];
        buf[0] = 1;
        buf[1] = b'*';
        buf[2..2 + ce.len()].copy_from_slice(ce);
        if let Some(w) = find(&buf[..2 + ce.len()]) {
            return Lookup::Wildcard(w);
        }
    }
    Lookup::NxDomain(node.id)
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zone")
            .field("apex", &self.apex)
            .field("serial", &self.serial)
            .field("nodes", &self.node_count())
            .field("records", &self.record_count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::name_eq;

    #[test]
    fn name_eq_matches_slice_equality() {
        let samples: [&[u8]; 7] = [
            b"",
            b"\0",
            b"\x01a\0",
            b"\x07example\0",
            b"\x07examplf\0",
            b"\x03www\x07example\x03com\0",
            b"\x03wwx\x07example\x03com\0",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(name_eq(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
