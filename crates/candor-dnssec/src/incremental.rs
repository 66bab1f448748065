//! Signing a small change to a signed zone without signing the zone again
//! (docs/dnssec.md, "Incremental signing").
//!
//! A change gives the new content of some names (`NodeChange`s, unsigned,
//! as the store reads them: every record each name is to hold, the apex
//! with its new SOA). [`sign_change`] re-signs only what the change
//! touched and hands the result to `Zone::patch`:
//! - each changed RRset (the SOA always: its serial moved); an RRset whose
//!   records and TTL did not change keeps its RRSIGs;
//! - the NSEC of each changed name (its bitmap follows its types) and of
//!   the names before added or removed ones in canonical order (their
//!   next name changes), found from the zone's sorted chain; an NSEC
//!   whose RDATA comes out the same keeps its RRSIG;
//! - nothing else: every other RRSIG, the apex key sets and their RRSIGs
//!   stay as they are.
//!
//! The patch checks the changed names with the builder's rules and places
//! the RRSIGs and the chain as a compile would, so the result reads as the
//! zone `sign_zone` + `compile_signed` make of the same records at the same
//! time with the same keys (with Ed25519, byte for byte: the module's
//! test). Private types are signed as `sign_zone` signs them: a POOL's
//! members one by one as the CNAMEs they answer with, ALIAS and REGIONAL
//! records not at all (the NSEC lists A and AAAA for an ALIAS, CNAME for
//! a POOL). What the patch does not represent (delegations, wildcards, NS
//! or DNAME changes, a full overlay, and here also changed keys, a new
//! SOA TTL or MINIMUM, an NSEC change at a zone cut) is
//! [`ChangeSignError::Rebuild`]: sign the whole zone as before.

use std::fmt;
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::{
    ALIAS, NodeChange, POOL, PatchError, REGIONAL, RrSet, Zone, ZoneError, canonical_name_cmp,
};

use crate::key::SigningKey;
use crate::keyset::KeySet;
use crate::nsec;
use crate::rrsig::{SignError, SigningPolicy, sign_rrset};
use crate::zone::{spread, tails_rdata};

/// Why [`sign_change`] made no new version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeSignError {
    /// The change is of a kind incremental signing does not do: sign and
    /// compile the whole zone.
    Rebuild(&'static str),
    /// The changed zone breaks zone-level rules (the builder's messages).
    Invalid(Vec<ZoneError>),
    /// A signature could not be made.
    Sign(SignError),
}

impl fmt::Display for ChangeSignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeSignError::Rebuild(why) => write!(f, "needs a full signing: {why}"),
            ChangeSignError::Invalid(errors) => {
                let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&list.join("; "))
            }
            ChangeSignError::Sign(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ChangeSignError {}

impl From<SignError> for ChangeSignError {
    fn from(e: SignError) -> ChangeSignError {
        ChangeSignError::Sign(e)
    }
}

impl From<PatchError> for ChangeSignError {
    fn from(e: PatchError) -> ChangeSignError {
        match e {
            PatchError::Rebuild(why) => ChangeSignError::Rebuild(why),
            PatchError::Invalid(errors) => ChangeSignError::Invalid(errors),
        }
    }
}

/// Records as a `NodeChange` holds them: type, TTL, RDATA.
type Records = Vec<(Rtype, u32, Box<[u8]>)>;

/// What [`sign_change`] did, for measurements and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChangeStats {
    /// Signatures made.
    pub signatures: usize,
    /// Names the patch wrote (changed names and their chain neighbours).
    pub names: usize,
}

/// The next version of the signed zone `zone` with `changes` applied
/// (unsigned content of each changed name, the apex's new SOA among
/// them), signed incrementally with `keys` at `now` (see the module
/// documentation). The keys must be the ones the zone publishes.
pub fn sign_change(
    zone: &Arc<Zone>,
    changes: &[NodeChange],
    keys: &[SigningKey],
    policy: &SigningPolicy,
    now: u64,
) -> Result<(Zone, ChangeStats), ChangeSignError> {
    sign_change_with(zone, changes, &KeySet::all(keys), policy, now)
}

/// [`sign_change`] with each key doing what `keys` says (during a
/// rollover a published key may not sign yet, or no longer: the key
/// states' selection, as `sign_zone_with` takes it). `keys.dnskey` must
/// be the DNSKEY RRset the zone publishes; the changed RRsets are signed
/// by `keys.zone_signers` only.
pub fn sign_change_with(
    zone: &Arc<Zone>,
    changes: &[NodeChange],
    keys: &KeySet<'_>,
    policy: &SigningPolicy,
    now: u64,
) -> Result<(Zone, ChangeStats), ChangeSignError> {
    let Some(parts) = zone.signed() else {
        return Err(ChangeSignError::Rebuild("the zone is not signed"));
    };
    let zone_signers: Vec<&SigningKey> = keys.zone_signers.clone();
    if zone_signers.is_empty() || keys.key_signers.is_empty() {
        return Err(ChangeSignError::Rebuild("a key role is missing"));
    }
    let apex = zone.apex().to_lowercase();
    let apex_wire = apex.as_wire();
    let apex_node = zone.node(0);
    // The keys must be the ones published (a rollover re-signs in full).
    let mut published: Vec<&[u8]> = zone
        .rrset(apex_node, Rtype::DNSKEY)
        .map_or_else(Vec::new, |s| tails_rdata(zone.tails(s)).collect());
    let mut ours: Vec<&[u8]> = keys.dnskey.iter().map(|k| k.dnskey_rdata()).collect();
    published.sort_unstable();
    ours.sort_unstable();
    ours.dedup();
    if published != ours {
        return Err(ChangeSignError::Rebuild(
            "the keys differ from the DNSKEY RRset",
        ));
    }

    // The changes by lower-cased owner, the last one of a name winning;
    // anything not a plain name in the zone goes to the patch as given,
    // which reports it.
    let mut changed: Vec<(Box<[u8]>, &Records)> = Vec::with_capacity(changes.len());
    for c in changes {
        let Ok(owner) = Name::from_wire(&c.owner) else {
            return Err(zone.patch(changes).err().map_or(
                ChangeSignError::Rebuild("a bad owner name"),
                ChangeSignError::from,
            ));
        };
        let owner = owner.to_lowercase();
        if !owner.ends_with(&apex) {
            return Err(zone.patch(changes).err().map_or(
                ChangeSignError::Rebuild("out-of-zone data"),
                ChangeSignError::from,
            ));
        }
        let at_apex = owner.as_wire() == apex_wire;
        for r in &c.records {
            let own = matches!(
                r.0,
                Rtype::RRSIG | Rtype::NSEC | Rtype::NSEC3 | Rtype::NSEC3PARAM
            ) || (at_apex && matches!(r.0, Rtype::DNSKEY | Rtype::CDS | Rtype::CDNSKEY));
            if own {
                return Err(ChangeSignError::Rebuild("the change brings DNSSEC records"));
            }
        }
        let lower: Box<[u8]> = owner.as_wire().into();
        changed.retain(|(o, _)| *o != lower);
        changed.push((lower, &c.records));
    }

    // The NSEC TTL and the apex key sets' TTL come from the SOA.
    let old_soa = zone.rrset(apex_node, Rtype::SOA);
    let (old_soa_ttl, old_negative) = (
        old_soa.map_or(0, |s| s.ttl),
        zone.negative_soa()
            .get(4..8)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
    );
    if let Some((_, records)) = changed.iter().find(|(o, _)| **o == *apex_wire) {
        let Some(soa) = records.iter().find(|r| r.0 == Rtype::SOA) else {
            return Err(ChangeSignError::Rebuild("the apex loses its SOA"));
        };
        let minimum = soa.2.len().checked_sub(4).and_then(|at| soa.2.get(at..));
        let minimum = minimum.map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if soa.1 != old_soa_ttl || soa.1.min(minimum) != old_negative {
            return Err(ChangeSignError::Rebuild("the SOA's TTL or MINIMUM changes"));
        }
    }
    let negative_ttl = old_negative;

    // The chain after the change: names leaving it (by old index) and
    // names entering it (sorted canonically).
    let chain = parts.chain();
    let old_name = |i: usize| zone.name_bytes(parts.node_at(i));
    let mut removed: Vec<usize> = Vec::new();
    let mut added: Vec<&[u8]> = Vec::new();
    for (owner, records) in &changed {
        match (chain.covering(owner), records.is_empty()) {
            (Ok(i), true) => removed.push(i),
            (Err(_), false) => added.push(owner),
            _ => {}
        }
    }
    removed.sort_unstable();
    added.sort_by(|a, b| canonical_name_cmp(a, b));
    let view = NewChain {
        len: parts.len(),
        old_name: &old_name,
        removed: &removed,
        added: &added,
        covering: &|name: &[u8]| chain.covering(name),
    };

    // Which names get a new NSEC: every changed name in the chain, and
    // the name before each one added or removed.
    let mut nsec_owners: Vec<&[u8]> = changed
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(o, _)| &o[..])
        .collect();
    for name in added
        .iter()
        .copied()
        .chain(removed.iter().map(|&i| old_name(i)))
    {
        nsec_owners.push(view.before(name));
    }
    nsec_owners.sort_unstable();
    nsec_owners.dedup();

    let signer = Signer {
        keys: &zone_signers,
        apex: apex_wire,
        policy,
        now,
    };
    let mut stats = ChangeStats::default();
    let mut out: Vec<NodeChange> = Vec::with_capacity(changed.len() + nsec_owners.len());
    let mut done: Vec<&[u8]> = Vec::new();
    for (owner, records) in &changed {
        let old = zone.node_by_name(owner).map(|id| zone.node(id));
        let old_sets: &[RrSet] = old.map_or(&[], |n| zone.rrsets(n));
        let mut all: Records = Vec::with_capacity(records.len() * 2 + 4);
        // The data RRsets, type by type; the TTL of each is its first
        // record's (as the patch and the builder take it).
        let mut types: Vec<Rtype> = records.iter().map(|r| r.0).collect();
        types.sort_unstable_by_key(|t| t.0);
        types.dedup();
        for rtype in types {
            let ttl = records.iter().find(|r| r.0 == rtype).map_or(0, |r| r.1);
            let mut rdatas: Vec<&[u8]> = records
                .iter()
                .filter(|r| r.0 == rtype)
                .map(|r| &r.2[..])
                .collect();
            rdatas.sort_unstable();
            rdatas.dedup();
            all.extend(rdatas.iter().map(|d| (rtype, ttl, Box::<[u8]>::from(*d))));
            if rtype == ALIAS || rtype == REGIONAL {
                // Never answered as such: an ALIAS answer is signed by the
                // ALIAS task, REGIONAL records are for secondaries only.
                continue;
            }
            let same = old_sets.iter().find(|s| {
                s.rtype == rtype && s.ttl == ttl && {
                    let mut was: Vec<&[u8]> = tails_rdata(zone.tails(s)).collect();
                    was.sort_unstable();
                    was == rdatas
                }
            });
            match same {
                Some(set) => keep_sigs(zone, set, &mut all),
                // Each member as the CNAME it answers with, member `i`
                // expiring `i` seconds later (as `sign_zone` does; the
                // members are in RDATA order, as the patch stores them).
                None if rtype == POOL => {
                    for (i, member) in rdatas.iter().enumerate() {
                        let later = u32::try_from(i).unwrap_or(u32::MAX);
                        signer.sign_later(
                            owner,
                            Rtype::CNAME,
                            ttl,
                            &[member],
                            later,
                            &mut all,
                            &mut stats,
                        )?;
                    }
                }
                None => signer.sign(owner, rtype, ttl, &rdatas, &mut all, &mut stats)?,
            }
        }
        if **owner == *apex_wire {
            // The apex key sets and their signatures stay.
            for set in old_sets {
                if matches!(set.rtype, Rtype::DNSKEY | Rtype::CDS | Rtype::CDNSKEY) {
                    let tails = tails_with_ttl(zone.tails(set));
                    all.extend(tails.map(|(ttl, d)| (set.rtype, ttl, Box::<[u8]>::from(d))));
                    keep_sigs(zone, set, &mut all);
                }
            }
        }
        if !records.is_empty() {
            // The types the name answers with (as `sign_zone` lists them).
            let mut types: Vec<Rtype> = Vec::with_capacity(records.len() + 4);
            for r in records.iter() {
                match r.0 {
                    t if t == ALIAS => types.extend([Rtype::A, Rtype::AAAA]),
                    t if t == POOL => types.push(Rtype::CNAME),
                    t if t == REGIONAL => {}
                    t => types.push(t),
                }
            }
            types.extend([Rtype::NSEC, Rtype::RRSIG]);
            if **owner == *apex_wire {
                // The key sets the apex has (CDS/CDNSKEY only while a DS is
                // offered or withdrawn: the key states decide).
                types.extend(
                    old_sets
                        .iter()
                        .map(|s| s.rtype)
                        .filter(|t| matches!(*t, Rtype::DNSKEY | Rtype::CDS | Rtype::CDNSKEY)),
                );
            }
            let rdata = nsec::nsec_rdata(view.after(owner, apex_wire), &nsec::type_bitmap(&types));
            let old_nsec = old_sets.iter().find(|s| s.rtype == Rtype::NSEC);
            put_nsec(
                zone,
                old_nsec,
                rdata,
                negative_ttl,
                owner,
                &signer,
                &mut all,
                &mut stats,
            )?;
        }
        done.push(owner);
        out.push(NodeChange {
            owner: owner.clone(),
            records: all,
        });
    }
    // Names whose only change is the next name of their NSEC.
    for owner in nsec_owners {
        if done.contains(&owner) {
            continue;
        }
        let Some(id) = zone.node_by_name(owner) else {
            return Err(ChangeSignError::Rebuild("a chain name is missing"));
        };
        let sets = zone.rrsets(zone.node(id));
        let Some(old_nsec) = sets.iter().find(|s| s.rtype == Rtype::NSEC) else {
            return Err(ChangeSignError::Rebuild("a chain name has no NSEC"));
        };
        let old_rdata = tails_rdata(zone.tails(old_nsec)).next().unwrap_or(&[]);
        let bitmap = old_rdata.get(wire_name_len(old_rdata)..).unwrap_or(&[]);
        let rdata = nsec::nsec_rdata(view.after(owner, apex_wire), bitmap);
        if rdata == old_rdata {
            continue;
        }
        let mut all: Records = Vec::new();
        for set in sets.iter().filter(|s| s.rtype != Rtype::NSEC) {
            let tails = tails_with_ttl(zone.tails(set));
            all.extend(tails.map(|(ttl, d)| (set.rtype, ttl, Box::<[u8]>::from(d))));
            keep_sigs(zone, set, &mut all);
        }
        put_nsec(
            zone,
            Some(old_nsec),
            rdata,
            negative_ttl,
            owner,
            &signer,
            &mut all,
            &mut stats,
        )?;
        out.push(NodeChange {
            owner: owner.into(),
            records: all,
        });
    }
    stats.names = out.len();
    let next = zone.patch(&out)?;
    Ok((next, stats))
}

/// The chain as it will be: the old one (`len` entries, names by index)
/// without `removed` and with `added`.
struct NewChain<'a> {
    /// Entries of the old chain.
    len: usize,
    /// The name of an old entry.
    old_name: &'a dyn Fn(usize) -> &'a [u8],
    /// Old entries that leave, ascending.
    removed: &'a [usize],
    /// Names that enter, in canonical order.
    added: &'a [&'a [u8]],
    /// The old chain's search (`Chain::covering`).
    covering: &'a dyn Fn(&[u8]) -> Result<usize, usize>,
}

impl<'a> NewChain<'a> {
    /// The name before `name` in the new chain (wrapping to the last one
    /// for the apex; `name` need not be in it).
    fn before(&self, name: &[u8]) -> &'a [u8] {
        // The last old entry before `name` that stays.
        let mut i = match (self.covering)(name) {
            Ok(i) => i.checked_sub(1),
            Err(i) => Some(i),
        };
        while let Some(j) = i
            && self.removed.binary_search(&j).is_ok()
        {
            i = j.checked_sub(1);
        }
        let old = i.map(|j| (self.old_name)(j));
        let new = self
            .added
            .iter()
            .rev()
            .find(|a| canonical_name_cmp(a, name).is_lt())
            .copied();
        match (old, new) {
            (Some(o), Some(n)) => std::cmp::max_by(o, n, |a, b| canonical_name_cmp(a, b)),
            (Some(o), None) => o,
            (None, Some(n)) => n,
            (None, None) => (self.old_name)(self.len.saturating_sub(1)),
        }
    }

    /// The name after `name` (in the new chain) in it: the next owner of
    /// its NSEC, the apex after the last.
    fn after(&self, name: &[u8], apex: &'a [u8]) -> &'a [u8] {
        let mut i = match (self.covering)(name) {
            Ok(i) => i + 1,
            // `Err(last)` for names past the end, or before the apex.
            Err(i) => i + 1,
        };
        while i < self.len && self.removed.binary_search(&i).is_ok() {
            i += 1;
        }
        let old = (i < self.len).then(|| (self.old_name)(i));
        let new = self
            .added
            .iter()
            .find(|a| canonical_name_cmp(a, name).is_gt())
            .copied();
        match (old, new) {
            (Some(o), Some(n)) => std::cmp::min_by(o, n, |a, b| canonical_name_cmp(a, b)),
            (Some(o), None) => o,
            (None, Some(n)) => n,
            (None, None) => apex,
        }
    }
}

/// Signs RRsets of one zone with its zone-signing keys.
struct Signer<'a> {
    /// The CSK/ZSKs.
    keys: &'a [&'a SigningKey],
    /// The signer's name.
    apex: &'a [u8],
    /// Validity periods.
    policy: &'a SigningPolicy,
    /// The time of signing.
    now: u64,
}

impl Signer<'_> {
    /// Appends to `out` an RRSIG by every key over the RRset (`owner`,
    /// `rtype`, `ttl`, `rdatas`), as `sign_zone` makes it.
    fn sign(
        &self,
        owner: &[u8],
        rtype: Rtype,
        ttl: u32,
        rdatas: &[&[u8]],
        out: &mut Records,
        stats: &mut ChangeStats,
    ) -> Result<(), SignError> {
        self.sign_later(owner, rtype, ttl, rdatas, 0, out, stats)
    }

    /// [`Signer::sign`] with the expiration `later` seconds later (a POOL
    /// member's index).
    #[allow(clippy::too_many_arguments)]
    fn sign_later(
        &self,
        owner: &[u8],
        rtype: Rtype,
        ttl: u32,
        rdatas: &[&[u8]],
        later: u32,
        out: &mut Records,
        stats: &mut ChangeStats,
    ) -> Result<(), SignError> {
        let mut validity = self.policy.validity(self.now, spread(owner, rtype));
        validity.expiration = validity.expiration.wrapping_add(later);
        for key in self.keys {
            let sig = sign_rrset(key, self.apex, owner, rtype, ttl, rdatas, validity)?;
            out.push((Rtype::RRSIG, ttl, sig.into()));
            stats.signatures += 1;
        }
        Ok(())
    }
}

/// Appends the NSEC `rdata` of `owner` and its RRSIG: the old one when
/// the old NSEC (`old`) is the same, a new one otherwise.
#[allow(clippy::too_many_arguments)]
fn put_nsec(
    zone: &Zone,
    old: Option<&RrSet>,
    rdata: Vec<u8>,
    ttl: u32,
    owner: &[u8],
    signer: &Signer<'_>,
    out: &mut Records,
    stats: &mut ChangeStats,
) -> Result<(), SignError> {
    let same = old.filter(|s| {
        s.ttl == ttl && s.count == 1 && tails_rdata(zone.tails(s)).next() == Some(&rdata[..])
    });
    match same {
        Some(set) => keep_sigs(zone, set, out),
        None => signer.sign(owner, Rtype::NSEC, ttl, &[&rdata], out, stats)?,
    }
    out.push((Rtype::NSEC, ttl, rdata.into()));
    Ok(())
}

/// Appends the RRSIGs the zone holds over `set`.
fn keep_sigs(zone: &Zone, set: &RrSet, out: &mut Records) {
    let sigs = tails_with_ttl(zone.sig_tails(set));
    out.extend(sigs.map(|(ttl, d)| (Rtype::RRSIG, ttl, Box::<[u8]>::from(d))));
}

/// The TTL and RDATA of each RR in wire tails.
fn tails_with_ttl(mut tails: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let head = tails.get(..10)?;
        let ttl = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let rdata = tails.get(10..10 + len)?;
        tails = &tails[10 + len..];
        Some((ttl, rdata))
    })
}

/// The length of the uncompressed wire name at the start of `bytes`.
fn wire_name_len(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(&len) = bytes.get(pos) {
        pos += 1 + usize::from(len);
        if len == 0 {
            break;
        }
    }
    pos.min(bytes.len())
}

#[cfg(test)]
mod tests;
