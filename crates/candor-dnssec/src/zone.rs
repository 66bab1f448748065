//! Signing a whole compiled zone: the records that make it a signed zone
//! (DNSKEY, CDS, CDNSKEY, NSEC, RRSIG), computed off the query path.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroUsize;

use candor_wire::{Name, Rtype};
use candor_zone::{
    ALIAS, Lookup, NodeId, OwnedRecord, POOL, RrSet, Zone, ZoneBuilder, canonical_name_cmp,
};

use crate::key::{CDNSKEY_DELETE, CDS_DELETE, DigestType, SigningKey};
use crate::keyset::{Cds, KeySet};
use crate::nsec;
use crate::rrsig::{SignError, SigningPolicy, sign_rrset};

/// Why a zone could not be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneSignError {
    /// No key signs the apex key sets (a CSK or KSK is needed), or none
    /// signs the rest of the zone (a CSK or ZSK).
    MissingKey(&'static str),
    /// The zone holds DNSSEC records of its own, which the signer makes:
    /// RRSIG, NSEC, NSEC3 or NSEC3PARAM anywhere, DNSKEY, CDS or CDNSKEY
    /// at the apex.
    DnssecRecord {
        /// The owner, in presentation format.
        owner: String,
        /// The type.
        rtype: Rtype,
    },
    /// A signature could not be made.
    Sign(SignError),
}

impl fmt::Display for ZoneSignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneSignError::MissingKey(what) => write!(f, "no key {what}"),
            ZoneSignError::DnssecRecord { owner, rtype } => write!(
                f,
                "{owner} {rtype}: a zone to be signed cannot hold its own {rtype} records; \
                 Candor makes them"
            ),
            ZoneSignError::Sign(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ZoneSignError {}

impl From<SignError> for ZoneSignError {
    fn from(e: SignError) -> ZoneSignError {
        ZoneSignError::Sign(e)
    }
}

/// What signing a zone made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedZone {
    /// The DNSKEY, CDS, CDNSKEY, NSEC and RRSIG records, in canonical
    /// order (RFC 4034 §6). With the zone's own records they make the
    /// signed zone.
    pub records: Vec<OwnedRecord>,
    /// The owner names of the NSEC chain (lower-cased wire), in canonical
    /// order: authoritative names with data and delegation points.
    pub chain: Vec<Box<[u8]>>,
    /// How many signatures were made.
    pub signatures: usize,
}

/// Whether a node is signed as authoritative data or as a delegation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Authoritative data: every RRset is signed.
    Data,
    /// A zone cut: only DS is signed; NS and glue are not.
    Cut,
}

/// Signs `zone` with `keys` at time `now` (seconds since the epoch).
///
/// The result holds the apex DNSKEY RRset (every key), a CDS (SHA-256)
/// and CDNSKEY for every key that signs keys (RFC 7344, so a parent that
/// scans can follow), an NSEC chain over the authoritative names with
/// data and the delegation points (empty non-terminals and names below a
/// cut or DNAME are not in it, RFC 4035 §2.3), and an RRSIG by the right
/// keys over every authoritative RRset: apex key sets by the CSK/KSKs,
/// everything else by the CSK/ZSKs; at a delegation only the DS and NSEC
/// RRsets. NSEC TTLs are the negative-caching TTL (RFC 9077).
///
/// A POOL's members are signed one by one, as the CNAME each answers
/// with (one RRSIG per member and key, owned by the POOL's name, in member
/// order). ALIAS records are not signed here: their addresses are known
/// only to the ALIAS resolver, which signs them when it publishes them
/// (docs/dnssec.md, "Synthesized answers"). Both names appear in the
/// chain with the types they answer (A and AAAA for ALIAS, CNAME for
/// POOL).
///
/// The signatures are made on `threads` threads (signing is nearly all of
/// the time, and RRsets are independent); the result does not depend on
/// how many.
pub fn sign_zone(
    zone: &Zone,
    keys: &[SigningKey],
    policy: &SigningPolicy,
    now: u64,
    threads: NonZeroUsize,
) -> Result<SignedZone, ZoneSignError> {
    sign_zone_with(zone, &KeySet::all(keys), policy, now, threads)
}

/// Signs `zone` as [`sign_zone`] does, with each key doing what `keys`
/// says (a rollover publishes a key before it signs, and keeps it after):
/// the DNSKEY RRset holds `keys.dnskey`, the apex key sets are signed by
/// `keys.key_signers`, the rest by `keys.zone_signers`, and the CDS and
/// CDNSKEY RRsets are those of `keys.cds` (absent when it lists no key).
pub fn sign_zone_with(
    zone: &Zone,
    keys: &KeySet<'_>,
    policy: &SigningPolicy,
    now: u64,
    threads: NonZeroUsize,
) -> Result<SignedZone, ZoneSignError> {
    let key_signers: Vec<&SigningKey> = keys.key_signers.clone();
    let zone_signers: Vec<&SigningKey> = keys.zone_signers.clone();
    if key_signers.is_empty() {
        return Err(ZoneSignError::MissingKey(
            "signs the DNSKEY RRset (a CSK or KSK)",
        ));
    }
    if zone_signers.is_empty() {
        return Err(ZoneSignError::MissingKey(
            "signs the zone's data (a CSK or ZSK)",
        ));
    }
    let apex = zone.apex().as_wire();
    let apex_node = zone.node(0);
    let soa_ttl = zone
        .rrset(apex_node, Rtype::SOA)
        .map_or(3600, |s: &RrSet| s.ttl);
    let negative_ttl = zone
        .negative_soa()
        .get(4..8)
        .map_or(soa_ttl, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));

    // The chain's names and what is at them.
    let mut members: Vec<(NodeId, Kind)> = Vec::new();
    for id in 0..zone.node_count() as NodeId {
        let name = zone.name_bytes(id);
        let kind = match zone.lookup(name) {
            Lookup::Exact(_) => Kind::Data,
            Lookup::Delegation { at_cut: true, .. } => Kind::Cut,
            _ => continue,
        };
        let sets = zone.rrsets(zone.node(id));
        for set in sets {
            let own = matches!(
                set.rtype,
                Rtype::RRSIG | Rtype::NSEC | Rtype::NSEC3 | Rtype::NSEC3PARAM
            ) || (id == 0
                && matches!(set.rtype, Rtype::DNSKEY | Rtype::CDS | Rtype::CDNSKEY));
            if own {
                return Err(ZoneSignError::DnssecRecord {
                    owner: presentation(name),
                    rtype: set.rtype,
                });
            }
        }
        if !sets.is_empty() {
            members.push((id, kind));
        }
    }
    members.sort_unstable_by(|a, b| canonical_name_cmp(zone.name_bytes(a.0), zone.name_bytes(b.0)));

    let mut records: Vec<OwnedRecord> = Vec::new();
    let mut jobs: Vec<Job<'_>> = Vec::new();

    // The apex key sets.
    let dnskeys: Vec<&[u8]> = keys.dnskey.iter().map(|k| k.dnskey_rdata()).collect();
    let (cds, cdnskeys): (Vec<Vec<u8>>, Vec<&[u8]>) = match &keys.cds {
        Cds::Keys(list) => (
            list.iter()
                .map(|k| k.ds_rdata(apex, DigestType::Sha256))
                .collect(),
            list.iter().map(|k| k.dnskey_rdata()).collect(),
        ),
        Cds::Delete => (vec![CDS_DELETE.to_vec()], vec![&CDNSKEY_DELETE[..]]),
    };
    let cds_refs: Vec<&[u8]> = cds.iter().map(Vec::as_slice).collect();
    for (rtype, rdatas) in [
        (Rtype::DNSKEY, &dnskeys),
        (Rtype::CDS, &cds_refs),
        (Rtype::CDNSKEY, &cdnskeys),
    ] {
        if rdatas.is_empty() {
            continue;
        }
        for rdata in rdatas.iter() {
            records.push(OwnedRecord {
                owner: apex.into(),
                rtype,
                ttl: soa_ttl,
                rdata: (*rdata).into(),
            });
        }
        jobs.push(Job {
            owner: apex,
            rtype,
            ttl: soa_ttl,
            rdatas: rdatas.iter().map(|r| r.to_vec().into()).collect(),
            key_set: true,
            later: 0,
        });
    }

    // Every authoritative RRset, and the chain's types.
    let mut chain_types: Vec<Vec<Rtype>> = Vec::with_capacity(members.len());
    for &(id, kind) in &members {
        let owner = zone.name_bytes(id);
        let mut types = vec![Rtype::NSEC, Rtype::RRSIG];
        if id == 0 {
            types.push(Rtype::DNSKEY);
            if !cds.is_empty() {
                types.extend([Rtype::CDS, Rtype::CDNSKEY]);
            }
        }
        for set in zone.rrsets(zone.node(id)) {
            match (kind, set.rtype) {
                (Kind::Cut, Rtype::NS) => types.push(Rtype::NS),
                (Kind::Cut, Rtype::DS) => types.push(Rtype::DS),
                (Kind::Cut, _) => continue,
                // REGIONAL records are for Candor secondaries only: never
                // answered, so neither signed nor in the bitmap.
                (Kind::Data, t) if t == candor_zone::REGIONAL => continue,
                (Kind::Data, t) if t == ALIAS => types.extend([Rtype::A, Rtype::AAAA]),
                (Kind::Data, t) if t == POOL => types.push(Rtype::CNAME),
                (Kind::Data, t) => types.push(t),
            }
            if set.rtype == ALIAS || set.rtype == Rtype::NS && kind == Kind::Cut {
                continue;
            }
            if set.rtype == POOL {
                // A POOL answers one CNAME per query, chosen among its
                // members: each member's CNAME is signed on its own.
                // Member `i` expires `i` seconds after member 0, so the
                // signatures sort (by RDATA: type covered, algorithm,
                // labels, TTL, then expiration) in member order, which is
                // how the answer finds the chosen member's
                // (`candor-answer`, `pool_sigs`).
                for (i, member) in tails_rdata(zone.tails(set)).enumerate() {
                    jobs.push(Job {
                        owner,
                        rtype: Rtype::CNAME,
                        ttl: set.ttl,
                        rdatas: vec![Cow::Borrowed(member)],
                        key_set: false,
                        later: u32::try_from(i).unwrap_or(u32::MAX),
                    });
                }
                continue;
            }
            jobs.push(Job {
                owner,
                rtype: set.rtype,
                ttl: set.ttl,
                rdatas: tails_rdata(zone.tails(set)).map(Cow::Borrowed).collect(),
                key_set: false,
                later: 0,
            });
        }
        chain_types.push(types);
    }

    // The NSEC chain.
    let names: Vec<&[u8]> = members.iter().map(|&(id, _)| zone.name_bytes(id)).collect();
    for (owner, rdata) in names.iter().zip(nsec::chain(&names, &chain_types)) {
        records.push(OwnedRecord {
            owner: (*owner).into(),
            rtype: Rtype::NSEC,
            ttl: negative_ttl,
            rdata: rdata.clone().into(),
        });
        jobs.push(Job {
            owner,
            rtype: Rtype::NSEC,
            ttl: negative_ttl,
            rdatas: vec![Cow::Owned(rdata)],
            key_set: false,
            later: 0,
        });
    }

    // The signatures, on `threads` threads; each RRset's are the same
    // whichever thread makes them, and the result is sorted anyway.
    let signers = Signers {
        keys: &key_signers,
        zone: &zone_signers,
        apex,
        policy,
        now,
    };
    let chunk = jobs.len().div_ceil(threads.get()).max(1);
    let parts: Vec<&[Job<'_>]> = jobs.chunks(chunk).collect();
    // Each thread's output is allocated here, on the calling thread: glibc
    // grows a block in the malloc arena it came from, so what the signing
    // threads keep ends up in this thread's arena, whose free pages
    // `malloc_trim` gives back after the compile, and not in arenas of
    // their own, whose free tops it never trims (18 MB left resident per
    // signing thread for a 100,000-record zone when each thread made its
    // own records).
    let per_signature = 18 + apex.len() + 64;
    let mut outputs: Vec<Signatures> = parts
        .iter()
        .map(|part| Signatures {
            bytes: Vec::with_capacity(part.len() * per_signature),
            lens: Vec::with_capacity(part.len()),
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .zip(outputs.iter_mut())
            .map(|(part, out)| scope.spawn(|| signers.run(part, out)))
            .collect();
        for h in handles {
            h.join().map_err(|_| SignError::Worker)??;
        }
        Ok::<_, SignError>(())
    })?;
    let mut signed = Vec::new();
    for (part, out) in parts.iter().zip(&outputs) {
        let mut lens = out.lens.iter();
        let mut at = 0;
        for job in part.iter() {
            for _ in signers.for_job(job) {
                let len = lens.next().copied().unwrap_or(0);
                signed.push(OwnedRecord {
                    owner: job.owner.into(),
                    rtype: Rtype::RRSIG,
                    ttl: job.ttl,
                    rdata: out.bytes.get(at..at + len).unwrap_or_default().into(),
                });
                at += len;
            }
        }
    }
    drop(outputs);
    let signatures = signed.len();
    records.extend(signed);
    records.sort_by(OwnedRecord::canonical_cmp);
    Ok(SignedZone {
        records,
        chain: names.iter().map(|n| Box::<[u8]>::from(*n)).collect(),
        signatures,
    })
}

/// One RRset to sign.
struct Job<'z> {
    /// The owner (lower-cased wire).
    owner: &'z [u8],
    /// The type.
    rtype: Rtype,
    /// The TTL.
    ttl: u32,
    /// The RDATAs, as stored.
    rdatas: Vec<Cow<'z, [u8]>>,
    /// Whether it is an apex key set (signed by CSK/KSKs), not zone data.
    key_set: bool,
    /// Seconds added to the signatures' expiration (a POOL member's index:
    /// see `sign_zone`).
    later: u32,
}

/// What signing needs besides the RRsets.
struct Signers<'a> {
    /// Keys that sign the apex key sets.
    keys: &'a [&'a SigningKey],
    /// Keys that sign everything else.
    zone: &'a [&'a SigningKey],
    /// The signer's name (the apex).
    apex: &'a [u8],
    /// Validity periods.
    policy: &'a SigningPolicy,
    /// The time of signing.
    now: u64,
}

/// What one signing thread made: the RRSIG RDATAs of its jobs back to
/// back, in job and key order, and each one's length.
struct Signatures {
    /// The RDATAs.
    bytes: Vec<u8>,
    /// Their lengths.
    lens: Vec<usize>,
}

impl Signers<'_> {
    /// The keys that sign `job`.
    fn for_job(&self, job: &Job<'_>) -> &[&SigningKey] {
        if job.key_set { self.keys } else { self.zone }
    }

    /// Signs `jobs` into `out`.
    fn run(&self, jobs: &[Job<'_>], out: &mut Signatures) -> Result<(), SignError> {
        let mut rdatas: Vec<&[u8]> = Vec::new();
        for job in jobs {
            rdatas.clear();
            rdatas.extend(job.rdatas.iter().map(|r| r.as_ref()));
            let mut validity = self.policy.validity(self.now, spread(job.owner, job.rtype));
            validity.expiration = validity.expiration.wrapping_add(job.later);
            for key in self.for_job(job) {
                let rdata = sign_rrset(
                    key, self.apex, job.owner, job.rtype, job.ttl, &rdatas, validity,
                )?;
                out.bytes.extend_from_slice(&rdata);
                out.lens.push(rdata.len());
            }
        }
        Ok(())
    }
}

/// The RDATA of each RR in an RRset's wire tails (TYPE, CLASS, TTL,
/// RDLENGTH, RDATA).
pub(crate) fn tails_rdata(mut tails: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let head = tails.get(..10)?;
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let rdata = tails.get(10..10 + len)?;
        tails = &tails[10 + len..];
        Some(rdata)
    })
}

/// A number spreading RRsets' expirations (FNV-1a over owner and type):
/// the same RRset gets the same expiration every time it is signed at the
/// same moment, and neighbours do not expire together.
pub(crate) fn spread(owner: &[u8], rtype: Rtype) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in owner.iter().chain(&rtype.0.to_be_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A wire name in presentation format.
fn presentation(wire: &[u8]) -> String {
    Name::from_wire(wire).map_or_else(|_| format!("{wire:?}"), |n| n.to_string())
}

/// The zone to serve: `zone`'s records with `signed`'s, compiled again, so
/// each RRSIG sits right after the RRset it covers, NSEC and the apex key
/// sets are RRsets of their own and the zone carries its NSEC chain
/// (`Zone::signed`). Fails only if `signed` was not made from `zone`.
pub fn compile_signed(
    zone: &Zone,
    signed: &SignedZone,
) -> Result<Zone, Vec<candor_zone::ZoneError>> {
    let mut b = ZoneBuilder::new(zone.apex());
    add_zone(&mut b, zone);
    for r in &signed.records {
        add(&mut b, &r.owner, r.rtype, r.ttl, &r.rdata);
    }
    b.finish()
}

/// [`compile_signed`] for a caller done with both inputs (the store):
/// the unsigned zone is dropped once its records are in the builder, and
/// each of the signer's records as soon as it is added, so the builder
/// grows into memory they leave instead of beside them. For a signed zone
/// of a million records that is the unsigned zone's arrays and ~2,000,000
/// `OwnedRecord`s (~390 bytes each) fewer at the peak.
pub fn compile_signed_owned(
    zone: Zone,
    signed: SignedZone,
) -> Result<Zone, Vec<candor_zone::ZoneError>> {
    let mut b = ZoneBuilder::new(zone.apex());
    add_zone(&mut b, &zone);
    drop(zone);
    let SignedZone { records, chain, .. } = signed;
    drop(chain);
    for r in records {
        add(&mut b, &r.owner, r.rtype, r.ttl, &r.rdata);
    }
    b.finish()
}

/// Adds every record of a compiled zone to `b`.
fn add_zone(b: &mut ZoneBuilder, zone: &Zone) {
    for r in zone.records() {
        add(b, r.owner, r.rtype, r.ttl, r.rdata);
    }
}

/// Adds one record with a wire owner to `b`.
fn add(b: &mut ZoneBuilder, owner: &[u8], rtype: Rtype, ttl: u32, rdata: &[u8]) {
    match Name::from_wire(owner) {
        Ok(owner) => b.add(&owner, rtype, ttl, rdata, None),
        // A compiled zone's owners are wire names; keep the builder's
        // error path for the impossible case.
        Err(_) => b.add(&Name::root(), rtype, ttl, rdata, None),
    }
}

/// When a served zone was signed in full (seconds since the epoch): the
/// inception of the first RRSIG over its DNSKEY RRset (its SOA's, if it
/// has none) plus the backdating of `policy`; `None` for an unsigned
/// zone. A full signing signs every RRset in one pass; an incremental one
/// ([`sign_change`](crate::sign_change)) re-signs the SOA and what changed
/// but never the apex key sets, so this dates the oldest signatures.
pub fn signed_at(zone: &Zone, policy: &SigningPolicy) -> Option<u64> {
    let apex = zone.node(0);
    let set = zone
        .rrset(apex, Rtype::DNSKEY)
        .filter(|s| !zone.sig_tails(s).is_empty())
        .or_else(|| zone.rrset(apex, Rtype::SOA))?;
    let sig = tails_rdata(zone.sig_tails(set)).next()?;
    let inception = sig.get(12..16)?;
    let inception = u32::from_be_bytes([inception[0], inception[1], inception[2], inception[3]]);
    Some(u64::from(inception) + u64::from(policy.backdate))
}

/// The signed zone as a master file (RFC 1035 §5): the apex SOA first, then
/// every record of `zone` but its private types (ALIAS, POOL) and every
/// record of `signed`, in canonical order, one per line in presentation
/// format. This is what `dnssec-verify` and secondaries read.
pub fn zone_text(zone: &Zone, signed: &SignedZone) -> String {
    let mut all: Vec<OwnedRecord> = zone
        .records()
        .filter(|r| !candor_zone::is_private_type(r.rtype))
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    all.extend(signed.records.iter().cloned());
    records_text(zone.apex(), all)
}

/// Records of the zone `apex` as a master file (RFC 1035 §5): the apex SOA
/// first, then the others in canonical order, one per line in
/// presentation format (see [`zone_text`]).
pub fn records_text(apex: &Name, mut all: Vec<OwnedRecord>) -> String {
    all.sort_by(|a, b| {
        let soa = |r: &OwnedRecord| !(r.rtype == Rtype::SOA && *r.owner == *apex.as_wire());
        soa(a).cmp(&soa(b)).then_with(|| a.canonical_cmp(b))
    });
    let mut out = String::new();
    for r in &all {
        out.push_str(&presentation(&r.owner));
        out.push('\t');
        out.push_str(&r.ttl.to_string());
        out.push_str("\tIN\t");
        out.push_str(&r.rtype.to_string());
        out.push('\t');
        out.push_str(&candor_zonefile::rdata_to_text(r.rtype, &r.rdata));
        out.push('\n');
    }
    out
}
