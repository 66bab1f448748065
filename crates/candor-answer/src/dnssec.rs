//! DNSSEC in answers (RFC 4035 §3.1): when a query sets DO and its zone is
//! signed, each RRset goes out with the RRSIGs compiled next to it, and
//! negative and wildcard answers carry the NSEC records that prove them,
//! found in the zone's precomputed chain (`SignedParts::covering`, a
//! binary search). Nothing is signed here: every signature was made when
//! the zone was compiled, so no query can make Candor compute one.
//!
//! What each answer adds (docs/dnssec.md, "How answers carry signatures"):
//! positive answers and CNAME chains the RRSIGs of their RRsets; a DNAME
//! its RRSIG (the synthesized CNAME goes unsigned, RFC 6672 §5.3.1); a
//! wildcard answer the NSEC covering the name it stands for; NODATA the
//! node's NSEC (an empty non-terminal: the NSEC covering it; a wildcard:
//! the wildcard's NSEC and the one covering the name); NXDOMAIN the NSEC
//! covering the name and the one covering the wildcard at the closest
//! encloser; a referral the DS RRset or the cut's NSEC proving there is
//! none; every negative answer the SOA's RRSIG.

use candor_wire::{MessageBuilder, Owner, Rcode, Rtype, Section};
use candor_zone::{NodeId, tail_count};

use crate::{Answer, Truncated, first_rdata};

/// Most NSEC records one answer carries (a wildcard at each step of a
/// CNAME chain, or a denial's two).
pub(crate) const MAX_PROOFS: usize = 8;

/// A proof whose chain entry is not known (`Answer::entries`).
pub(crate) const NO_ENTRY: u32 = u32::MAX;

/// Where the `n`-th RR tail of a block of tails starts (its end when
/// there are fewer).
fn skip_tails(tails: &[u8], n: usize) -> usize {
    let mut at = 0;
    for _ in 0..n {
        match tails.get(at + 8..at + 10) {
            Some(len) => at += 10 + usize::from(u16::from_be_bytes([len[0], len[1]])),
            None => return tails.len(),
        }
    }
    at.min(tails.len())
}

impl<'z> Answer<'z> {
    /// Pushes the RRSIGs over `set` (already pushed with `owner`), when
    /// the answer is signed.
    #[inline]
    pub(crate) fn sigs(
        &self,
        owner: Owner<'_>,
        set: &candor_zone::RrSet,
        b: &mut MessageBuilder<'_>,
    ) -> Result<(), Truncated> {
        if self.dnssec {
            let tails = self.zone.sig_tails(set);
            if !tails.is_empty() {
                b.push_rrset(owner, tails, tail_count(tails))?;
            }
        }
        Ok(())
    }

    /// Pushes the RRSIGs of POOL member `pick`'s CNAME (already pushed
    /// with `owner`), when the answer is signed. The signer made one per
    /// member and key, sorted in member order (`candor_dnssec::sign_zone`),
    /// so member `pick`'s are the `pick`-th run of `keys` signatures.
    #[inline]
    pub(crate) fn pool_sigs(
        &self,
        owner: Owner<'_>,
        pool: &candor_zone::RrSet,
        pick: usize,
        b: &mut MessageBuilder<'_>,
    ) -> Result<(), Truncated> {
        if !self.dnssec {
            return Ok(());
        }
        let tails = self.zone.sig_tails(pool);
        let members = usize::from(pool.count.max(1));
        let total = usize::from(tail_count(tails));
        let per = total / members;
        if per == 0 || per * members != total {
            return Ok(()); // Not signed member by member: nothing to add.
        }
        let (start, end) = (
            skip_tails(tails, pick * per),
            skip_tails(tails, (pick + 1) * per),
        );
        if let Some(sigs) = tails.get(start..end) {
            b.push_rrset(owner, sigs, per as u16)?;
        }
        Ok(())
    }

    /// A or AAAA at an ALIAS owner of a signed zone, DO=1: the signed
    /// answer the ALIAS signer published for the owner (made off the query
    /// path, when the addresses last changed: nothing is signed here).
    /// NODATA proves itself with the signer's NSEC for the owner, which
    /// lists only the types the target has, while the zone's NSEC there
    /// is still the one it was made from. Nothing published yet for the
    /// owner (never resolved, or not signed yet) is SERVFAIL, as an
    /// unresolved ALIAS is.
    pub(crate) fn signed_alias(
        &mut self,
        node: candor_zone::NodeRef,
        owner: Owner<'_>,
        name: &[u8],
        wild: bool,
        b: &mut MessageBuilder<'_>,
    ) -> Result<Rcode, Truncated> {
        let table = self.aliases.load();
        let zone = self.zone;
        let Some(signed) = table.signed(zone.name_bytes(node.id)) else {
            return Ok(Rcode::SERVFAIL);
        };
        let set = if self.qtype == Rtype::A {
            &signed.a
        } else {
            &signed.aaaa
        };
        if let Some(set) = set {
            b.push_rrset(owner, &set.tails, set.count)?;
            b.push_rrset(owner, &set.sigs, set.sig_count)?;
            if wild {
                self.wildcard_answer(name);
            }
            return Ok(Rcode::NOERROR);
        }
        self.negative(b)?;
        let current = zone
            .rrset(node, Rtype::NSEC)
            .map(|n| first_rdata(zone.tails(n)));
        match &signed.nsec {
            Some(nsec) if current == Some(&nsec.base[..]) => {
                let at = Owner::Name(zone.name_bytes(node.id));
                b.push_rrset(at, &nsec.set.tails, nsec.set.count)?;
                b.push_rrset(at, &nsec.set.sigs, nsec.set.sig_count)?;
                if wild {
                    self.prove_covering(name);
                }
            }
            _ => self.nodata_proof(node.id, name, wild),
        }
        Ok(Rcode::NOERROR)
    }

    /// Remembers that node `id`'s NSEC goes in the authority section
    /// (written by [`Answer::write_proofs`], once per node).
    fn prove(&mut self, id: NodeId) {
        self.prove_entry(id, NO_ENTRY);
    }

    /// [`Answer::prove`] for the node of chain entry `entry`.
    fn prove_entry(&mut self, id: NodeId, entry: u32) {
        if self.proofs[..self.n_proofs].contains(&id) || self.n_proofs == MAX_PROOFS {
            return;
        }
        self.proofs[self.n_proofs] = id;
        self.entries[self.n_proofs] = entry;
        self.n_proofs += 1;
    }

    /// Proves the lower-cased `name` absent (or, if a chain entry is
    /// `name`, its types): the NSEC that covers or is it.
    fn prove_covering(&mut self, name: &[u8]) {
        if let Some(parts) = self.zone.signed() {
            let (Ok(i) | Err(i)) = parts.chain().covering(name);
            self.prove_entry(parts.node_at(i), entry(i));
        }
    }

    /// An answer at `name` came from a wildcard: prove `name` itself does
    /// not exist (RFC 4035 §3.1.3.3).
    pub(crate) fn wildcard_answer(&mut self, name: &[u8]) {
        if self.dnssec {
            self.prove_covering(name);
        }
    }

    /// NODATA at `node` for `name` (`wildcard` when the node is the
    /// wildcard that stands for `name`): the node's NSEC, or for an empty
    /// non-terminal the NSEC covering it; a wildcard's also proves `name`
    /// does not exist (RFC 4035 §3.1.3.2, §3.1.3.4).
    pub(crate) fn nodata_proof(&mut self, node: NodeId, name: &[u8], wildcard: bool) {
        if !self.dnssec {
            return;
        }
        let zone = self.zone;
        if zone.rrset(zone.node(node), Rtype::NSEC).is_some() {
            self.prove(node);
        } else {
            self.prove_covering(zone.name_bytes(node));
        }
        if wildcard {
            self.prove_covering(name);
        }
    }

    /// NXDOMAIN for `name`, whose closest encloser is `encloser`: the SOA
    /// (with its RRSIGs) and the NSEC proofs. When the closest encloser is
    /// the apex and the apex's NSEC covers its wildcard (a random-subdomain
    /// flood's query, in most zones), the SOA and that NSEC are one
    /// prerendered block, `apex_nxdomain`, and the NSEC covering the name
    /// follows it, unless that is the apex's too (the name sorts before
    /// every name below the apex: the block is the whole section) or the
    /// chain's last (a name sorting after every name: the whole section is
    /// the `last_nxdomain` block); when the block applies.
    pub(crate) fn nxdomain(
        &mut self,
        name: &[u8],
        encloser: NodeId,
        b: &mut MessageBuilder<'_>,
    ) -> Result<(), Truncated> {
        // A response the rate limiter will hold back (drop, or slip as an
        // empty truncated one) carries no records: its NSEC proofs, the
        // search for them and their cache misses (what a flood of names
        // spread over a signed zone costs) are left out, and the outcome
        // says so, so that it is never sent as it is.
        if self.dnssec
            && let Some((limited, cookie)) = self.limited
            && limited(crate::nxdomain_key(self.zone.apex().as_wire()), cookie)
        {
            self.dnssec = false;
            self.proofless = true;
        }
        self.nxdomain_proof(name, encloser);
        if self.n_proofs != 0
            && let Some((block, written)) = self.nxdomain_block()
            && fast_paths()
        {
            b.set_section(Section::Authority);
            if b.push_prerendered(block) {
                #[cfg(test)]
                tests::NXDOMAIN_BLOCKS.set(tests::NXDOMAIN_BLOCKS.get() + written);
                self.kind = crate::ResponseKind::NoData;
                // The proofs the block holds are written: the rest (the
                // NSEC covering the name) move up.
                for k in written..self.n_proofs {
                    self.proofs[k - written] = self.proofs[k];
                    self.entries[k - written] = self.entries[k];
                }
                self.n_proofs -= written;
                return Ok(());
            }
        }
        self.negative(b)
    }

    /// The prerendered start of the authority section for the proofs
    /// found, if the zone has one, and how many of the proofs it holds:
    /// the SOA and the apex's NSEC (the first proof), and with them the
    /// chain's last NSEC when that is the second.
    #[inline]
    fn nxdomain_block(&self) -> Option<(&'z candor_wire::Prerendered, usize)> {
        let blocks = self.zone.negative_blocks()?;
        match self.proofs[..self.n_proofs] {
            [0, last]
                if self.zone.signed()?.last_node() == Some(last)
                    && blocks.last_nxdomain().is_some() =>
            {
                Some((blocks.last_nxdomain()?, 2))
            }
            [0] | [0, _] => Some((blocks.apex_nxdomain()?, 1)),
            _ => None,
        }
    }

    /// The proofs of an NXDOMAIN for `name`, whose closest encloser is
    /// `encloser`: the NSEC covering `*.<encloser>` and the one covering
    /// `name` (RFC 4035 §3.1.3.2), in that order, so that at the apex the
    /// first is the apex's NSEC in most zones, prerendered with the SOA.
    pub(crate) fn nxdomain_proof(&mut self, name: &[u8], encloser: NodeId) {
        if !self.dnssec {
            return;
        }
        let Some(parts) = self.zone.signed() else {
            return;
        };
        if encloser == 0 {
            // The QNAME itself, when its apex starts at `apex_offset`,
            // is searched from its labels below the apex.
            let (Ok(i) | Err(i)) = if self.denial_at_apex {
                parts.entry_below(name, self.apex_offset)
            } else {
                parts.chain().covering(name)
            };
            // Its NSEC is written after the SOA: started loading now, it
            // arrives while the SOA is copied.
            self.zone.prefetch_chain_proof(i);
            // The apex's wildcard's NSEC was found when the zone was
            // compiled.
            self.prove(parts.apex_wildcard());
            self.prove_entry(parts.node_at(i), entry(i));
            return;
        }
        let ce = self.zone.name_bytes(encloser);
        if ce.len() + 2 <= candor_wire::MAX_NAME_LEN {
            let mut buf = [0u8; candor_wire::MAX_NAME_LEN];
            buf[0] = 1;
            buf[1] = b'*';
            buf[2..2 + ce.len()].copy_from_slice(ce);
            self.prove_covering(&buf[..2 + ce.len()]);
        }
        self.prove_covering(name);
    }

    /// A referral to `cut`: its DS RRset with the RRSIGs, or the cut's
    /// NSEC proving it has none (RFC 4035 §3.1.4).
    pub(crate) fn referral_proof(
        &mut self,
        cut: NodeId,
        b: &mut MessageBuilder<'_>,
    ) -> Result<(), Truncated> {
        if !self.dnssec {
            return Ok(());
        }
        let zone = self.zone;
        let owner = Owner::Name(zone.name_bytes(cut));
        if let Some(ds) = zone.rrset(zone.node(cut), Rtype::DS) {
            b.push_rrset(owner, zone.tails(ds), ds.count)?;
            self.sigs(owner, ds, b)?;
        } else if let Some(nsec) = zone.rrset(zone.node(cut), Rtype::NSEC) {
            b.push_rrset(owner, zone.tails(nsec), nsec.count)?;
            self.sigs(owner, nsec, b)?;
        }
        Ok(())
    }

    /// The RRSIGs of the SOA a negative answer carries.
    pub(crate) fn soa_sigs(&self, b: &mut MessageBuilder<'_>) -> Result<(), Truncated> {
        if !self.dnssec {
            return Ok(());
        }
        let zone = self.zone;
        match zone.rrset(zone.node(0), Rtype::SOA) {
            Some(soa) => self.sigs(Owner::QnameSuffix(self.apex_offset), soa, b),
            None => Ok(()),
        }
    }

    /// The RRSIGs at a node, for QTYPE=RRSIG (every RRset's, and the
    /// RRSIG RRset of signatures over types the node does not have, as a
    /// zone file may hold); whether there were any.
    pub(crate) fn all_sigs(
        &self,
        node: candor_zone::NodeRef,
        owner: Owner<'_>,
        b: &mut MessageBuilder<'_>,
    ) -> Result<bool, Truncated> {
        let zone = self.zone;
        let mut any = false;
        for set in zone.rrsets(node) {
            let tails = if set.rtype == Rtype::RRSIG {
                zone.tails(set)
            } else {
                zone.sig_tails(set)
            };
            if !tails.is_empty() {
                b.push_rrset(owner, tails, tail_count(tails))?;
                any = true;
            }
        }
        Ok(any)
    }

    /// Writes the NSEC records (with their RRSIGs) the answer needs, in
    /// the authority section. `qname` is the lower-cased QNAME.
    ///
    /// Each NSEC's owner is compressed as `push_rrset` would, but found
    /// without a search where that is known in advance (`proof_owner`):
    /// then the NSEC and its RRSIGs are one owner and two copies.
    pub(crate) fn write_proofs(
        &mut self,
        qname: &[u8],
        b: &mut MessageBuilder<'_>,
    ) -> Result<(), Truncated> {
        if self.n_proofs == 0 {
            return Ok(());
        }
        let zone = self.zone;
        b.set_section(Section::Authority);
        for k in 0..self.n_proofs {
            let id = self.proofs[k];
            if id == 0
                && let Some(block) = zone.negative_blocks().and_then(|n| n.apex_nsec())
                && fast_paths()
                && b.push_prerendered(block)
            {
                continue; // The apex's NSEC and RRSIGs, prerendered.
            }
            let Some(proof) = self.proof(k) else {
                continue;
            };
            let sigs = if self.dnssec { proof.sigs } else { &[] };
            let sig_count = if sigs.is_empty() { 0 } else { proof.sig_count };
            match self.proof_owner(qname, proof.name, k) {
                Some((prefix, at)) => b.push_rrset_with_sigs_at(
                    proof.name,
                    prefix,
                    at,
                    (proof.nsec, proof.nsec_count),
                    (sigs, sig_count),
                )?,
                None => {
                    let owner = Owner::Name(proof.name);
                    b.push_rrset(owner, proof.nsec, proof.nsec_count)?;
                    if !sigs.is_empty() {
                        b.push_rrset(owner, sigs, sig_count)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Proof `k`'s NSEC: from its chain entry when the search said which
    /// (one read, `Zone::chain_proof`), else from its node's RRsets.
    #[inline]
    fn proof(&self, k: usize) -> Option<candor_zone::ChainProof<'z>> {
        let zone = self.zone;
        if self.entries[k] != NO_ENTRY
            && fast_paths()
            && let Some(proof) = zone.chain_proof(self.entries[k] as usize)
        {
            return Some(proof);
        }
        let id = self.proofs[k];
        let nsec = zone.rrset(zone.node(id), Rtype::NSEC)?;
        let sigs = zone.sig_tails(nsec);
        Some(candor_zone::ChainProof {
            name: zone.name_bytes(id),
            nsec: zone.tails(nsec),
            nsec_count: nsec.count,
            sigs,
            sig_count: tail_count(sigs),
        })
    }

    /// How `push_rrset` would compress the owner of proof `k`, when that
    /// is known without searching the message: the bytes written before a
    /// pointer, and where it points. The QNAME (at 12) comes first in the
    /// message, so an owner that is the QNAME or the apex points at it. An
    /// NXDOMAIN whose closest encloser is the apex, asked directly (a
    /// random-subdomain flood's query): no name below the apex shares a
    /// suffix with the QNAME (it would be an encloser), so an owner below
    /// the apex is its labels down to the apex and a pointer into the
    /// QNAME, unless the SOA's names or an earlier proof's owner share
    /// more of it.
    fn proof_owner(&self, qname: &[u8], name: &[u8], k: usize) -> Option<(usize, u16)> {
        if !fast_paths() {
            return None;
        }
        let zone = self.zone;
        let apex_at = (12 + self.apex_offset) as u16;
        if name == qname {
            return Some((0, 12));
        }
        let apex_len = zone.apex().wire_len();
        if name.len() == apex_len {
            return Some((0, apex_at)); // The apex: node names end with it.
        }
        if !self.denial_at_apex {
            return None;
        }
        // The SOA's MNAME and RNAME, and the owners written before.
        let label = name.get(child(name, apex_len)?..name.len() - apex_len)?;
        let shared = zone.negative_blocks()?.soa_child(label)
            || self.proofs[..k]
                .iter()
                .any(|&id| shares_below(name, zone.name_bytes(id), apex_len));
        (!shared).then_some((name.len() - apex_len, apex_at))
    }
}

/// Chain entry `i` as `Answer::entries` holds it.
#[inline]
fn entry(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(NO_ENTRY)
}

/// Where the label of `name` just above its last `apex_len` bytes starts.
fn child(name: &[u8], apex_len: usize) -> Option<usize> {
    let end = name.len().checked_sub(apex_len)?;
    let mut p = 0;
    while p < end {
        let next = p + 1 + usize::from(*name.get(p)?);
        if next == end {
            return Some(p);
        }
        p = next;
    }
    None
}

/// Whether `name` (lower-cased, below an apex `apex_len` bytes long) and
/// `other` end in the same name below the apex, ignoring ASCII case: what
/// decides whether compression finds more of `name` in `other` than the
/// apex. Both then end with the same child of the apex.
fn shares_below(name: &[u8], other: &[u8], apex_len: usize) -> bool {
    match (child(name, apex_len), child(other, apex_len)) {
        (Some(a), Some(b)) => name[a..].eq_ignore_ascii_case(&other[b..]),
        _ => false,
    }
}

/// Whether the answer path may take its shortcuts for denials: the
/// prerendered blocks and the proofs' owners found without a search.
/// Always, except in the tests that compare them with the general path.
#[inline(always)]
pub(crate) fn fast_paths() -> bool {
    #[cfg(test)]
    if tests::GENERAL_PROOFS.get() {
        return false;
    }
    true
}

/// What the tests switch: `write_proofs` with `push_rrset` alone, and
/// `negative` and `write_proofs` without the prerendered blocks: what the
/// fast paths must match byte for byte.
#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        /// Whether proofs take the general path.
        pub(crate) static GENERAL_PROOFS: Cell<bool> = const { Cell::new(false) };
        /// How many proofs NXDOMAIN answers took from the zone's
        /// prerendered blocks (`Answer::nxdomain`), so a test can tell
        /// that the fast path ran, not only that it matched.
        pub(crate) static NXDOMAIN_BLOCKS: Cell<usize> = const { Cell::new(0) };
    }
}
