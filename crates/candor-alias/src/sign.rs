//! Signed ALIAS answers for signed zones (docs/dnssec.md, "Synthesized
//! answers"), sans I/O.
//!
//! An ALIAS answer is the target's addresses under the owner's name, so a
//! validator needs an RRSIG by the owner's zone over exactly those
//! addresses. They are known only after the zone is compiled (the
//! resolver's table, or another served zone), so [`Signer`] signs them
//! here, off the query path: [`Signer::plan`] compares what each ALIAS
//! owner of a signed zone should answer now ([`Want`]: addresses, the
//! zone's DNSKEYs, the owner's NSEC) with what was last signed, and lists
//! the owners that differ or whose signatures are due for refresh;
//! [`sign`] makes one owner's [`SignedAlias`]; [`Signer::complete`] keeps
//! it. Until an owner's new answer is signed, the previous signed answer
//! stays published. So the number of signatures is bounded by ALIAS
//! records times address changes (and one refresh per owner every few
//! days), never by queries: no query can ask for a new one.
//!
//! A missing family (the target has no AAAA, or does not exist) must be
//! provable: the zone's NSEC at an ALIAS owner lists A and AAAA, so the
//! signer also signs that NSEC with the missing types taken out, and the
//! answer uses it while the zone's NSEC there is still the one it was made
//! from.
//!
//! `candor dnssec export` makes the same answers once, from the store,
//! through these functions (`offline`).

use std::collections::HashMap;
use std::sync::Arc;

use candor_answer::{
    AliasEntry, LocalTarget, SignedAlias, SignedNsec, SignedRrset, local_alias_target,
};
use candor_dnssec::{SignError, SigningKey, SigningPolicy, nsec, sign_rrset};
use candor_wire::{Rtype, wire_name_len};
use candor_zone::{ALIAS, NodeId, Zone, ZoneSet};

/// RDATAs of one RRset, sorted.
type Rdatas = Vec<Vec<u8>>;

/// Most addresses of one family in a signed answer (as in unsigned ones).
const MAX_ADDRESSES: usize = 16;

/// What one ALIAS owner of a signed zone should answer now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    /// The zone's name as the store knows it (lower case, no final dot).
    pub zone: String,
    /// The zone's apex (lower-cased wire): the signer's name.
    pub apex: Box<[u8]>,
    /// The owner (lower-cased wire; a wildcard's name for a wildcard).
    pub owner: Box<[u8]>,
    /// The TTL of the answer and of its signatures.
    pub ttl: u32,
    /// A RDATAs, sorted.
    pub a: Vec<Vec<u8>>,
    /// AAAA RDATAs, sorted.
    pub aaaa: Vec<Vec<u8>>,
    /// The zone's NSEC at the owner (RDATA, TTL).
    pub nsec: Option<(Vec<u8>, u32)>,
    /// The DNSKEY RDATAs the served zone publishes, sorted: only these
    /// keys may sign, and a change of them signs again.
    pub dnskeys: Vec<Vec<u8>>,
}

/// An ALIAS owner of a signed zone, as its compiled zone says.
#[derive(Clone, Debug)]
struct Owner {
    /// The owner (lower-cased wire).
    owner: Box<[u8]>,
    /// The target (lower-cased wire).
    target: Box<[u8]>,
    /// The ALIAS record's TTL.
    ttl: u32,
    /// The zone's NSEC there (RDATA, TTL).
    nsec: Option<(Vec<u8>, u32)>,
}

/// The ALIAS owners of one served signed zone.
struct ZoneOwners {
    /// The version they were read from (compared by pointer: a new
    /// version is read again).
    zone: Arc<Zone>,
    /// The zone's name for the store.
    name: String,
    /// Its DNSKEY RDATAs, sorted.
    dnskeys: Vec<Vec<u8>>,
    /// Its ALIAS owners.
    owners: Vec<Owner>,
}

/// One owner's published answer and what it was made from.
struct Done {
    /// What was signed.
    want: Want,
    /// When (seconds since the epoch).
    at: u64,
    /// The answer.
    signed: Arc<SignedAlias>,
}

/// The signer's state: the ALIAS owners of the served signed zones and
/// the signed answers published for them.
#[derive(Default)]
pub struct Signer {
    /// Served signed zones (with their ALIAS owners, often none), by apex.
    zones: HashMap<Box<[u8]>, ZoneOwners>,
    /// Published answers by owner.
    done: HashMap<Box<[u8]>, Done>,
    /// Owners whose signing failed, and when (retried a minute later).
    failed: HashMap<Box<[u8]>, u64>,
    /// How long signatures live.
    policy: SigningPolicy,
    /// The largest TTL of a signed answer.
    ttl_cap: u32,
}

impl Signer {
    /// A signer whose answers carry the ALIAS record's TTL, at most
    /// `ttl_cap` seconds (the resolver's refresh ceiling: resolvers should
    /// not keep an address longer than Candor does).
    pub fn new(ttl_cap: u32) -> Signer {
        Signer {
            ttl_cap,
            ..Signer::default()
        }
    }

    /// What must be signed now (`now`: seconds since the epoch): every
    /// ALIAS owner of a signed zone in `zones` whose answer (addresses
    /// from the served zones, or from `resolved` for targets outside them,
    /// the zone's keys, the owner's NSEC) differs from the one published,
    /// or whose signatures are due for refresh. Owners that left (zone
    /// unsigned, record removed, target forgotten by the resolver) are
    /// dropped; the return says whether any was.
    pub fn plan(
        &mut self,
        zones: &ZoneSet,
        resolved: &dyn Fn(&[u8]) -> Option<AliasEntry>,
        now: u64,
    ) -> (Vec<Want>, bool) {
        self.read_zones(zones);
        let mut wants = Vec::new();
        let mut keep: Vec<&[u8]> = Vec::new();
        for z in self.zones.values() {
            for o in &z.owners {
                let Some((a, aaaa)) = addresses(zones, &o.target, resolved) else {
                    continue; // Never resolved: nothing to sign (SERVFAIL).
                };
                keep.push(&o.owner);
                let want = Want {
                    zone: z.name.clone(),
                    apex: z.zone.apex().as_wire().into(),
                    owner: o.owner.clone(),
                    ttl: o.ttl.min(self.ttl_cap),
                    a,
                    aaaa,
                    nsec: o.nsec.clone(),
                    dnskeys: z.dnskeys.clone(),
                };
                let current = self
                    .done
                    .get(&o.owner)
                    .is_some_and(|d| d.want == want && !self.policy.refresh_due(d.at, now));
                let failed_lately = self.failed.get(&o.owner).is_some_and(|&at| now < at + 60);
                if !current && !failed_lately {
                    wants.push(want);
                }
            }
        }
        let before = self.done.len();
        self.done.retain(|owner, _| keep.contains(&&**owner));
        (wants, self.done.len() != before)
    }

    /// Keeps a signed answer (made by [`sign`] from `want` at `at`).
    pub fn complete(&mut self, want: Want, at: u64, signed: SignedAlias) {
        self.failed.remove(&want.owner);
        self.done.insert(
            want.owner.clone(),
            Done {
                want,
                at,
                signed: Arc::new(signed),
            },
        );
    }

    /// Notes that `owner` could not be signed at `at` (retried a minute
    /// later; its previous answer stays published).
    pub fn failed(&mut self, owner: &[u8], at: u64) {
        self.failed.insert(owner.into(), at);
    }

    /// The published answers, by owner, for `AliasTable::with_signed`.
    pub fn published(&self) -> impl Iterator<Item = (Box<[u8]>, Arc<SignedAlias>)> + '_ {
        self.done
            .iter()
            .map(|(owner, d)| (owner.clone(), d.signed.clone()))
    }

    /// How many owners have a published answer.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Whether none has.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// Reads the ALIAS owners of signed zones that are new or changed
    /// since the last call, and forgets zones no longer served signed.
    fn read_zones(&mut self, zones: &ZoneSet) {
        let served: Vec<&Arc<Zone>> = zones
            .zones()
            .iter()
            .filter(|z| z.signed().is_some())
            .collect();
        let apexes: std::collections::HashSet<&[u8]> =
            served.iter().map(|z| z.apex().as_wire()).collect();
        self.zones.retain(|apex, _| apexes.contains(&**apex));
        for zone in served {
            let apex = zone.apex().as_wire();
            if self
                .zones
                .get(apex)
                .is_some_and(|z| Arc::ptr_eq(&z.zone, zone))
            {
                continue;
            }
            // Kept even without owners: a zone is read once per version.
            let owners = alias_owners(zone);
            let mut dnskeys: Vec<Vec<u8>> = zone
                .rrset(zone.node(0), Rtype::DNSKEY)
                .map(|s| rdatas(zone.tails(s)).map(<[u8]>::to_vec).collect())
                .unwrap_or_default();
            dnskeys.sort();
            let name = zone.apex().to_string().to_ascii_lowercase();
            let name = name.strip_suffix('.').unwrap_or(&name).to_owned();
            self.zones.insert(
                apex.into(),
                ZoneOwners {
                    zone: zone.clone(),
                    name,
                    dnskeys,
                    owners,
                },
            );
        }
    }
}

/// Every ALIAS owner of a compiled zone.
fn alias_owners(zone: &Zone) -> Vec<Owner> {
    let mut out = Vec::new();
    for id in 0..zone.node_count() as NodeId {
        let node = zone.node(id);
        let Some(alias) = zone.rrset(node, ALIAS) else {
            continue;
        };
        let Some(target) = rdatas(zone.tails(alias)).next() else {
            continue;
        };
        let nsec = zone
            .rrset(node, Rtype::NSEC)
            .and_then(|s| rdatas(zone.tails(s)).next().map(|r| (r.to_vec(), s.ttl)));
        out.push(Owner {
            owner: zone.name_bytes(id).into(),
            target: target.to_ascii_lowercase().into(),
            ttl: alias.ttl,
            nsec,
        });
    }
    out
}

/// The A and AAAA RDATAs an ALIAS to `target` answers with now (sorted,
/// at most [`MAX_ADDRESSES`] each, as the answer path takes them); `None`
/// for a target outside the served zones that was never resolved.
fn addresses(
    zones: &ZoneSet,
    target: &[u8],
    resolved: &dyn Fn(&[u8]) -> Option<AliasEntry>,
) -> Option<(Rdatas, Rdatas)> {
    let mut out = [Vec::new(), Vec::new()];
    for (slot, rtype) in out.iter_mut().zip([Rtype::A, Rtype::AAAA]) {
        match local_alias_target(zones, target, rtype) {
            LocalTarget::Found(zone, set) => {
                *slot = rdatas(zone.tails(set))
                    .take(MAX_ADDRESSES)
                    .map(<[u8]>::to_vec)
                    .collect();
            }
            LocalTarget::Missing => {}
            LocalTarget::Outside => {
                let entry = resolved(target)?;
                if entry.exists {
                    *slot = if rtype == Rtype::A {
                        entry
                            .v4
                            .iter()
                            .take(MAX_ADDRESSES)
                            .map(|a| a.to_vec())
                            .collect()
                    } else {
                        entry
                            .v6
                            .iter()
                            .take(MAX_ADDRESSES)
                            .map(|a| a.to_vec())
                            .collect()
                    };
                }
            }
        }
        slot.sort();
        slot.dedup();
    }
    let [a, aaaa] = out;
    Some((a, aaaa))
}

/// Signs one owner's answer with `keys` (the zone's data-signing keys from
/// the store) at `now`: each present family's RRset, and when one is
/// missing the owner's NSEC without it. Only keys whose DNSKEY the served
/// zone publishes sign (a key the zone does not show could not be
/// validated): `None` when there is no such key.
pub fn sign(want: &Want, keys: &[SigningKey], now: u64) -> Option<Result<SignedAlias, SignError>> {
    let keys: Vec<&SigningKey> = keys
        .iter()
        .filter(|k| {
            want.dnskeys
                .binary_search_by(|d| d.as_slice().cmp(k.dnskey_rdata()))
                .is_ok()
        })
        .collect();
    if keys.is_empty() {
        return None;
    }
    let policy = SigningPolicy::default();
    let validity = policy.validity(now, spread(&want.owner));
    let set = |rtype: Rtype, ttl: u32, rdatas: &[Vec<u8>]| -> Result<SignedRrset, SignError> {
        let refs: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
        let mut sigs = Vec::new();
        for key in &keys {
            let rrsig = sign_rrset(key, &want.apex, &want.owner, rtype, ttl, &refs, validity)?;
            push_tail(&mut sigs, Rtype::RRSIG, ttl, &rrsig);
        }
        let mut tails = Vec::new();
        for r in &refs {
            push_tail(&mut tails, rtype, ttl, r);
        }
        Ok(SignedRrset {
            tails: tails.into(),
            count: refs.len() as u16,
            sigs: sigs.into(),
            sig_count: keys.len() as u16,
        })
    };
    let run = || -> Result<SignedAlias, SignError> {
        let a = (!want.a.is_empty())
            .then(|| set(Rtype::A, want.ttl, &want.a))
            .transpose()?;
        let aaaa = (!want.aaaa.is_empty())
            .then(|| set(Rtype::AAAA, want.ttl, &want.aaaa))
            .transpose()?;
        let mut signed_nsec = None;
        if (a.is_none() || aaaa.is_none())
            && let Some((base, ttl)) = &want.nsec
            && let Some(rdata) = nsec_without(base, a.is_none(), aaaa.is_none())
        {
            signed_nsec = Some(SignedNsec {
                base: base.as_slice().into(),
                set: set(Rtype::NSEC, *ttl, &[rdata])?,
            });
        }
        Ok(SignedAlias {
            a,
            aaaa,
            nsec: signed_nsec,
        })
    };
    Some(run())
}

/// An NSEC RDATA with A (`no_a`) and AAAA (`no_aaaa`) taken out of its
/// type bitmap; `None` if `base` is not an NSEC RDATA.
fn nsec_without(base: &[u8], no_a: bool, no_aaaa: bool) -> Option<Vec<u8>> {
    let next_len = wire_name_len(base)?;
    let (next, bitmap) = base.split_at(next_len);
    let types: Vec<Rtype> = nsec::bitmap_types(bitmap)?
        .into_iter()
        .filter(|&t| !(no_a && t == Rtype::A || no_aaaa && t == Rtype::AAAA))
        .collect();
    Some(nsec::nsec_rdata(next, &nsec::type_bitmap(&types)))
}

/// Appends one RR tail (TYPE, CLASS IN, TTL, RDLENGTH, RDATA).
fn push_tail(out: &mut Vec<u8>, rtype: Rtype, ttl: u32, rdata: &[u8]) {
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// The RDATAs of a block of RR tails.
pub(crate) fn rdatas(mut tails: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let head = tails.get(..10)?;
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let rdata = tails.get(10..10 + len)?;
        tails = &tails[10 + len..];
        Some(rdata)
    })
}

/// Spreads owners' expirations (FNV-1a of the owner), as the zone signer
/// spreads RRsets'.
fn spread(owner: &[u8]) -> u64 {
    owner.iter().fold(0xcbf2_9ce4_8422_2325, |h: u64, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests;
