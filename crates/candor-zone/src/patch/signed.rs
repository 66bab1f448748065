//! Patching a signed zone (docs/dnssec.md, "Incremental signing"): the
//! RRSIG records of a change go right after the RRset they cover, as the
//! builder places them (`crate::signed::Signatures`), and the NSEC chain
//! (`SignedParts`) follows the changed names: a name is in it exactly when
//! its node has an NSEC RRset, as `SignedParts::of` decides for a compiled
//! zone. The new chain is the old one with the changed names' keys put in
//! or taken out: the runs of entries between them are copied whole (no
//! sort, no key rebuilt for the names that stay).
//!
//! Which RRSIGs and NSECs a change needs is the signer's business
//! (`candor_dnssec::sign_change`); this only places what it is given, so a
//! patched signed zone reads exactly as the builder's compile of the same
//! records.

use candor_wire::{Name, Rtype};

use super::{NewSet, Overlay, PatchError};
use crate::signed::{Chain, MAX_KEY_LEN, ProofAt, SignedParts, canonical_key};
use crate::zone::{NodeId, Zone};

/// Why `zone` cannot take `changes` as a patch, if it cannot: NSEC3
/// records (not served by Candor's chain), or DNSSEC records coming into
/// an unsigned zone (it would become signed: the builder makes its chain).
pub(super) fn refusal(zone: &Zone, changes: &[super::NodeChange]) -> Option<&'static str> {
    let brings = |types: &[Rtype]| {
        changes
            .iter()
            .any(|c| c.records.iter().any(|r| types.contains(&r.0)))
    };
    if brings(&[Rtype::NSEC3, Rtype::NSEC3PARAM]) {
        return Some("NSEC3 records change");
    }
    if zone.signed.is_none() && brings(&[Rtype::RRSIG, Rtype::NSEC]) {
        return Some("the zone becomes signed");
    }
    None
}

/// Whether `records`, the new content of the existing node `node`, differ
/// from it in the NSEC RRset (and its RRSIGs) only: what the chain's
/// neighbours of an added or removed name need at a zone cut, which a
/// patch otherwise refuses. The cut's flags, NS RRset (and so its glue)
/// and DS stay as they are.
pub(super) fn only_nsec_changes(
    ov: &Overlay,
    node: Option<crate::zone::NodeRef>,
    records: &[(Rtype, u32, Box<[u8]>)],
) -> bool {
    let (Some(node), Ok(new)) = (node, super::encode(records)) else {
        return false;
    };
    let old = ov.rrsets(node);
    let rest = |rtype: Rtype| rtype != Rtype::NSEC;
    old.iter().filter(|s| rest(s.rtype)).count() == new.iter().filter(|s| rest(s.rtype)).count()
        && new.iter().any(|s| s.rtype == Rtype::NSEC)
        && new.iter().filter(|s| rest(s.rtype)).all(|set| {
            old.iter().any(|o| {
                o.rtype == set.rtype
                    && o.ttl == set.ttl
                    && ov.tails(o) == &set.tails[..]
                    && ov.sig_tails(o) == &set.sigs[..]
            })
        })
}

/// How many RRs wire tails hold.
pub(super) fn sig_count(tails: &[u8]) -> i64 {
    i64::from(crate::zone::tail_count(tails))
}

/// Appends to each of `sets` the tails of the RRSIG records in `records`
/// that cover its type: in RDATA order, duplicates dropped, each with its
/// own TTL (as `Signatures::append` writes them); RRSIGs over CNAME at a
/// POOL's name go after the POOL RRset. An RRSIG over a type the
/// name lacks (the builder keeps it as an RRSIG RRset of its own) or
/// signatures past 65,535 bytes over one RRset ask for a rebuild.
pub(super) fn attach(
    records: &[(Rtype, u32, Box<[u8]>)],
    sets: &mut [NewSet],
) -> Result<(), &'static str> {
    let mut sigs: Vec<(u16, &[u8], u32)> = records
        .iter()
        .filter(|r| r.0 == Rtype::RRSIG)
        .map(|r| {
            let covered = r.2.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            (covered, &r.2[..], r.1)
        })
        .collect();
    if sigs.is_empty() {
        return Ok(());
    }
    // A POOL's members are signed as the CNAMEs they answer with: their
    // RRSIGs go after the POOL RRset (as the builder's `take_rrsigs`).
    let has = |t: Rtype| sets.iter().any(|s| s.rtype == t);
    if has(crate::POOL) && !has(Rtype::CNAME) {
        for s in &mut sigs {
            if s.0 == Rtype::CNAME.0 {
                s.0 = crate::POOL.0;
            }
        }
    }
    sigs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    sigs.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
    for (covered, rdata, ttl) in sigs {
        let Some(set) = sets.iter_mut().find(|s| s.rtype.0 == covered) else {
            return Err("an RRSIG covers a type its name does not have");
        };
        let rdlen = u16::try_from(rdata.len()).map_err(|_| "an RRSIG longer than 65535 bytes")?;
        super::push_tail(&mut set.sigs, Rtype::RRSIG, ttl, rdlen, rdata);
        set.sig_count = set.sig_count.saturating_add(1);
        if set.sigs.len() > usize::from(u16::MAX) {
            return Err("RRSIGs over one RRset longer than 65535 bytes");
        }
    }
    Ok(())
}

/// The NSEC chain of the patched version: `zone`'s (the version patched)
/// with each of the `changed` names in it if its node in `ov` now has an
/// NSEC RRset, out of it otherwise. `None` for an unsigned zone; a chain
/// that would end up empty (the zone unsigned by a patch) asks for a
/// rebuild.
pub(super) fn parts_after(
    zone: &Zone,
    ov: &Overlay,
    changed: &[Name],
) -> Result<Option<Box<SignedParts>>, PatchError> {
    let Some(old) = zone.signed.as_deref() else {
        return Ok(None);
    };
    // Each changed name's key, and its node if it is in the chain now.
    let mut buf = [0u8; MAX_KEY_LEN];
    let mut edits: Vec<(Vec<u8>, Option<NodeId>)> = Vec::with_capacity(changed.len());
    for name in changed {
        let lower = name.as_wire();
        let Some(len) = canonical_key(lower, &mut buf) else {
            continue;
        };
        let node = ov
            .find(lower)
            .filter(|n| ov.rrsets(*n).iter().any(|s| s.rtype == Rtype::NSEC))
            .map(|n| n.id);
        edits.push((buf[..len].to_vec(), node));
    }
    edits.sort_by(|a, b| a.0.cmp(&b.0));
    edits.dedup_by(|b, a| a.0 == b.0);

    // The old entries between edits are copied as ranges (one `memcpy`
    // of keys each), the edits put in between, in key order.
    let extra = edits.iter().map(|(k, _)| k.len()).sum::<usize>();
    let mut chain = Chain::with_capacity(
        &old.chain,
        old.chain.key_bytes() + extra,
        old.len() + edits.len(),
    );
    // The names that stay keep their nodes' RRsets, so their proofs are
    // where they were.
    let mut proofs: Vec<ProofAt> = Vec::with_capacity(old.len() + edits.len());
    let mut from = 0;
    for (key, node) in &edits {
        let (at, next) = match old.chain.search_key(key) {
            Ok(i) => (i, i + 1),
            Err(i) => (i, i),
        };
        chain.extend_from(&old.chain, from..at);
        proofs.extend_from_slice(&old.proofs[from..at]);
        if let Some(id) = node {
            chain.push_key(key);
            proofs.push(proof_of(ov, *id));
        }
        from = next;
    }
    chain.extend_from(&old.chain, from..old.len());
    proofs.extend_from_slice(&old.proofs[from..]);
    if proofs.is_empty() {
        return Err(PatchError::Rebuild("the zone's NSEC chain would be empty"));
    }
    Ok(Some(Box::new(SignedParts::new(
        chain,
        proofs,
        zone.apex().as_wire(),
    ))))
}

/// The proof of node `id` of the patched version `ov`.
fn proof_of(ov: &Overlay, id: NodeId) -> ProofAt {
    let node = ov.node_struct(id);
    let set = ov
        .rrsets(ov.node(id))
        .iter()
        .find(|s| s.rtype == Rtype::NSEC);
    let sigs = set.map_or(&[][..], |s| ov.sig_tails(s));
    ProofAt::new(id, (node.name_off, node.name_len), set, sigs)
}

#[cfg(test)]
mod tests;
