//! Signing a whole compiled zone: the records that make it a signed zone
//! (DNSKEY, CDS, CDNSKEY, NSEC, RRSIG), computed off the query path.

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
    let signers = Signers::of(keys, zone.apex().as_wire(), policy, now)?;
    let prep = Prepared::of(zone, keys)?;
    let jobs = prep.jobs(zone);
    let made = signers.sign(&jobs, threads)?;

    let mut records: Vec<OwnedRecord> = Vec::new();
    prep.each_record(|owner, rtype, ttl, rdata| {
        records.push(OwnedRecord {
            owner: owner.into(),
            rtype,
            ttl,
            rdata: rdata.into(),
        });
    });
    let mut signatures = 0;
    for (part, out) in made {
        signers.each_signature(part, &out, |owner, ttl, rdata| {
            records.push(OwnedRecord {
                owner: owner.into(),
                rtype: Rtype::RRSIG,
                ttl,
                rdata: rdata.into(),
            });
            signatures += 1;
        });
    }
    records.sort_by(OwnedRecord::canonical_cmp);
    Ok(SignedZone {
        records,
        chain: prep.names.iter().map(|n| Box::<[u8]>::from(*n)).collect(),
        signatures,
    })
}

/// A zone signed and compiled by [`sign_and_compile`].
pub struct SignedCompile {
    /// The zone to serve, or why it does not compile.
    pub zone: Result<Zone, Vec<candor_zone::ZoneError>>,
    /// How many records signing added (DNSKEY, CDS, CDNSKEY, NSEC, RRSIG).
    pub records: usize,
}

/// Signs `zone` as [`sign_zone_with`] does and compiles the signed zone
/// as [`compile_signed`] does, for a caller done with the unsigned zone
/// (the store): the result is the same zone, made without a
/// [`SignedZone`]. The signer's records go into the builder straight
/// from the signing threads' buffers (each buffer freed once it is in),
/// not as an [`OwnedRecord`] (two boxes) per record sorted canonically
/// first, and the builder's arrays are allocated at their final size; the
/// unsigned zone is dropped before the builder compiles. For a zone of a
/// million records that is ~3,000,000 `OwnedRecord`s (~190 bytes each
/// with their boxes) and their sort fewer, at the peak and in time.
pub fn sign_and_compile(
    zone: Zone,
    keys: &KeySet<'_>,
    policy: &SigningPolicy,
    now: u64,
    threads: NonZeroUsize,
) -> Result<SignedCompile, ZoneSignError> {
    let (builder, records) = {
        let signers = Signers::of(keys, zone.apex().as_wire(), policy, now)?;
        let prep = Prepared::of(&zone, keys)?;
        let jobs = prep.jobs(&zone);
        let made = signers.sign(&jobs, threads)?;

        let mut count = zone.record_count();
        let mut bytes: usize = zone.records().map(|r| r.rdata.len()).sum();
        prep.each_record(|_, _, _, rdata| {
            count += 1;
            bytes += rdata.len();
        });
        for (_, out) in &made {
            count += out.lens.len();
            bytes += out.bytes.len();
        }
        // The same records as `compile_signed` adds, the zone's first (so
        // every name is interned in the same order: the signer's owners
        // are names of the zone), the signer's after in an order of their
        // own, which the builder's sort makes irrelevant.
        let mut b = ZoneBuilder::with_capacity(zone.apex(), count, bytes);
        add_zone(&mut b, &zone);
        let mut records = 0;
        prep.each_record(|owner, rtype, ttl, rdata| {
            add(&mut b, owner, rtype, ttl, rdata);
            records += 1;
        });
        for (part, out) in made {
            signers.each_signature(part, &out, |owner, ttl, rdata| {
                add(&mut b, owner, Rtype::RRSIG, ttl, rdata);
                records += 1;
            });
            // Freed as soon as it is in the builder, so the builder's
            // RDATA grows into what the signatures leave.
            drop(out);
        }
        (b, records)
    };
    drop(zone);
    Ok(SignedCompile {
        zone: builder.finish(),
        records,
    })
}

/// What signing a zone makes besides the signatures: the apex key sets,
/// the NSEC chain, and which names and RRsets are signed how.
struct Prepared<'z> {
    /// The apex (wire).
    apex: &'z [u8],
    /// The apex key sets' TTL (the SOA's).
    soa_ttl: u32,
    /// The NSEC records' TTL (RFC 9077).
    negative_ttl: u32,
    /// DNSKEY, CDS and CDNSKEY with their RDATAs; a type without any is
    /// left out.
    key_sets: Vec<(Rtype, Vec<Vec<u8>>)>,
    /// The chain's nodes, in canonical order, and how each is signed.
    members: Vec<(NodeId, Kind)>,
    /// Their names.
    names: Vec<&'z [u8]>,
    /// The NSEC RDATA of each, back to back (one buffer rather than a
    /// vector per name: a million names are a million allocations less).
    nsec: Vec<u8>,
    /// Where each one ends in `nsec`.
    nsec_ends: Vec<usize>,
}

impl<'z> Prepared<'z> {
    /// The key sets and the chain of `zone` signed with `keys`.
    fn of(zone: &'z Zone, keys: &KeySet<'_>) -> Result<Prepared<'z>, ZoneSignError> {
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
        members.sort_unstable_by(|a, b| {
            canonical_name_cmp(zone.name_bytes(a.0), zone.name_bytes(b.0))
        });

        // The apex key sets.
        let dnskeys: Vec<Vec<u8>> = keys
            .dnskey
            .iter()
            .map(|k| k.dnskey_rdata().to_vec())
            .collect();
        let (cds, cdnskeys): (Vec<Vec<u8>>, Vec<Vec<u8>>) = match &keys.cds {
            Cds::Keys(list) => (
                list.iter()
                    .map(|k| k.ds_rdata(apex, DigestType::Sha256))
                    .collect(),
                list.iter().map(|k| k.dnskey_rdata().to_vec()).collect(),
            ),
            Cds::Delete => (vec![CDS_DELETE.to_vec()], vec![CDNSKEY_DELETE.to_vec()]),
        };
        let has_cds = !cds.is_empty();
        let key_sets: Vec<(Rtype, Vec<Vec<u8>>)> = [
            (Rtype::DNSKEY, dnskeys),
            (Rtype::CDS, cds),
            (Rtype::CDNSKEY, cdnskeys),
        ]
        .into_iter()
        .filter(|(_, rdatas)| !rdatas.is_empty())
        .collect();

        // The NSEC chain: each name with the types at it, pointing at the
        // next name (the last back at the apex): `nsec::chain`'s RDATAs,
        // kept in one buffer.
        let names: Vec<&[u8]> = members.iter().map(|&(id, _)| zone.name_bytes(id)).collect();
        let mut nsec = Vec::new();
        let mut nsec_ends = Vec::with_capacity(members.len());
        let mut types = Vec::new();
        for (i, &(id, kind)) in members.iter().enumerate() {
            types.clear();
            types.extend([Rtype::NSEC, Rtype::RRSIG]);
            if id == 0 {
                types.push(Rtype::DNSKEY);
                if has_cds {
                    types.extend([Rtype::CDS, Rtype::CDNSKEY]);
                }
            }
            for set in zone.rrsets(zone.node(id)) {
                match (kind, set.rtype) {
                    (Kind::Cut, Rtype::NS) => types.push(Rtype::NS),
                    (Kind::Cut, Rtype::DS) => types.push(Rtype::DS),
                    (Kind::Cut, _) => {}
                    // REGIONAL records are for Candor secondaries only:
                    // never answered, so neither signed nor in the bitmap.
                    (Kind::Data, t) if t == candor_zone::REGIONAL => {}
                    (Kind::Data, t) if t == ALIAS => types.extend([Rtype::A, Rtype::AAAA]),
                    (Kind::Data, t) if t == POOL => types.push(Rtype::CNAME),
                    (Kind::Data, t) => types.push(t),
                }
            }
            nsec.extend_from_slice(&nsec::chain_rdata(&names, i, &types));
            nsec_ends.push(nsec.len());
        }
        Ok(Prepared {
            apex,
            soa_ttl,
            negative_ttl,
            key_sets,
            members,
            names,
            nsec,
            nsec_ends,
        })
    }

    /// The NSEC RDATA of chain name `i`.
    fn nsec_rdata(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.nsec_ends[p]);
        &self.nsec[start..self.nsec_ends[i]]
    }

    /// Every RRset to sign: the apex key sets, the authoritative RRsets
    /// (at a delegation only DS; a POOL's members one by one) and the
    /// NSEC records.
    fn jobs<'a>(&'a self, zone: &'a Zone) -> Vec<Job<'a>> {
        let mut jobs = Vec::new();
        for (rtype, rdatas) in &self.key_sets {
            jobs.push(Job {
                owner: self.apex,
                rtype: *rtype,
                ttl: self.soa_ttl,
                rdatas: Rdatas::List(rdatas),
                key_set: true,
                later: 0,
            });
        }
        for &(id, kind) in &self.members {
            let owner = zone.name_bytes(id);
            for set in zone.rrsets(zone.node(id)) {
                match (kind, set.rtype) {
                    (Kind::Cut, Rtype::DS) => {}
                    (Kind::Cut, _) => continue,
                    (Kind::Data, t) if t == candor_zone::REGIONAL || t == ALIAS => continue,
                    (Kind::Data, _) => {}
                }
                if set.rtype == POOL {
                    // A POOL answers one CNAME per query, chosen among its
                    // members: each member's CNAME is signed on its own.
                    // Member `i` expires `i` seconds after member 0, so the
                    // signatures sort (by RDATA: type covered, algorithm,
                    // labels, TTL, then expiration) in member order, which
                    // is how the answer finds the chosen member's
                    // (`candor-answer`, `pool_sigs`).
                    for (i, member) in tails_rdata(zone.tails(set)).enumerate() {
                        jobs.push(Job {
                            owner,
                            rtype: Rtype::CNAME,
                            ttl: set.ttl,
                            rdatas: Rdatas::One(member),
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
                    rdatas: Rdatas::Tails(zone.tails(set)),
                    key_set: false,
                    later: 0,
                });
            }
        }
        for (i, owner) in self.names.iter().enumerate() {
            jobs.push(Job {
                owner,
                rtype: Rtype::NSEC,
                ttl: self.negative_ttl,
                rdatas: Rdatas::One(self.nsec_rdata(i)),
                key_set: false,
                later: 0,
            });
        }
        jobs
    }

    /// Calls `f` with every record but the signatures: the apex key sets,
    /// then the NSEC records.
    fn each_record(&self, mut f: impl FnMut(&[u8], Rtype, u32, &[u8])) {
        for (rtype, rdatas) in &self.key_sets {
            for rdata in rdatas {
                f(self.apex, *rtype, self.soa_ttl, rdata);
            }
        }
        for (i, owner) in self.names.iter().enumerate() {
            f(owner, Rtype::NSEC, self.negative_ttl, self.nsec_rdata(i));
        }
    }
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
    rdatas: Rdatas<'z>,
    /// Whether it is an apex key set (signed by CSK/KSKs), not zone data.
    key_set: bool,
    /// Seconds added to the signatures' expiration (a POOL member's index:
    /// see `sign_zone`).
    later: u32,
}

/// Where a job's RDATAs are, borrowed (a vector per job would be two
/// million allocations for a zone of a million records).
#[derive(Clone, Copy)]
enum Rdatas<'z> {
    /// A compiled RRset's wire tails.
    Tails(&'z [u8]),
    /// One RDATA.
    One(&'z [u8]),
    /// An apex key set's.
    List(&'z [Vec<u8>]),
}

impl<'z> Rdatas<'z> {
    /// Appends the RDATAs to `out`.
    fn collect_into(self, out: &mut Vec<&'z [u8]>) {
        match self {
            Rdatas::Tails(tails) => out.extend(tails_rdata(tails)),
            Rdatas::One(rdata) => out.push(rdata),
            Rdatas::List(list) => out.extend(list.iter().map(Vec::as_slice)),
        }
    }
}

/// What signing needs besides the RRsets.
struct Signers<'a> {
    /// Keys that sign the apex key sets.
    keys: Vec<&'a SigningKey>,
    /// Keys that sign everything else.
    zone: Vec<&'a SigningKey>,
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

/// How many parts the jobs are cut into per signing thread. Each part's
/// signatures are a buffer of their own, freed once its records are in
/// the builder, so more parts means less signature data held twice
/// (a million-record zone's signatures are ~200 MB).
const PARTS_PER_THREAD: usize = 8;

impl<'a> Signers<'a> {
    /// The signers of `keys`, or which key is missing.
    fn of(
        keys: &KeySet<'a>,
        apex: &'a [u8],
        policy: &'a SigningPolicy,
        now: u64,
    ) -> Result<Signers<'a>, ZoneSignError> {
        if keys.key_signers.is_empty() {
            return Err(ZoneSignError::MissingKey(
                "signs the DNSKEY RRset (a CSK or KSK)",
            ));
        }
        if keys.zone_signers.is_empty() {
            return Err(ZoneSignError::MissingKey(
                "signs the zone's data (a CSK or ZSK)",
            ));
        }
        Ok(Signers {
            keys: keys.key_signers.clone(),
            zone: keys.zone_signers.clone(),
            apex,
            policy,
            now,
        })
    }

    /// The keys that sign `job`.
    fn for_job(&self, job: &Job<'_>) -> &[&SigningKey] {
        if job.key_set { &self.keys } else { &self.zone }
    }

    /// Signs `jobs` on `threads` threads: each part of the jobs with its
    /// signatures. Each RRset's are the same whichever thread makes them.
    fn sign<'j>(
        &self,
        jobs: &'j [Job<'j>],
        threads: NonZeroUsize,
    ) -> Result<Vec<(&'j [Job<'j>], Signatures)>, ZoneSignError> {
        let threads = threads.get();
        let chunk = jobs.len().div_ceil(threads * PARTS_PER_THREAD).max(1);
        let parts: Vec<&[Job<'_>]> = jobs.chunks(chunk).collect();
        // Each part's output is allocated here, on the calling thread:
        // glibc grows a block in the malloc arena it came from, so what the
        // signing threads keep ends up in this thread's arena, whose free
        // pages `malloc_trim` gives back after the compile, and not in
        // arenas of their own, whose free tops it never trims (18 MB left
        // resident per signing thread for a 100,000-record zone when each
        // thread made its own records).
        let per_signature = 18 + self.apex.len() + 64;
        let mut outputs: Vec<Signatures> = parts
            .iter()
            .map(|part| Signatures {
                bytes: Vec::with_capacity(part.len() * per_signature),
                lens: Vec::with_capacity(part.len()),
            })
            .collect();
        // Thread `t` signs parts `t`, `t + threads`, ...: neighbouring
        // parts cost about the same, so the threads finish together.
        let mut shares: Vec<Vec<(&[Job<'_>], &mut Signatures)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, (part, out)) in parts.iter().zip(outputs.iter_mut()).enumerate() {
            shares[i % threads].push((part, out));
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .filter(|share| !share.is_empty())
                .map(|share| {
                    scope.spawn(move || {
                        for (part, out) in share {
                            self.run(part, out)?;
                        }
                        Ok::<_, SignError>(())
                    })
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| SignError::Worker)??;
            }
            Ok::<_, SignError>(())
        })?;
        Ok(parts.into_iter().zip(outputs).collect())
    }

    /// Signs `jobs` into `out`.
    fn run(&self, jobs: &[Job<'_>], out: &mut Signatures) -> Result<(), SignError> {
        let mut rdatas: Vec<&[u8]> = Vec::new();
        for job in jobs {
            rdatas.clear();
            job.rdatas.collect_into(&mut rdatas);
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

    /// Calls `f` with the owner, TTL and RDATA of every RRSIG `out` holds
    /// for `jobs`.
    fn each_signature(
        &self,
        jobs: &[Job<'_>],
        out: &Signatures,
        mut f: impl FnMut(&[u8], u32, &[u8]),
    ) {
        let mut lens = out.lens.iter();
        let mut at = 0;
        for job in jobs {
            for _ in self.for_job(job) {
                let len = lens.next().copied().unwrap_or(0);
                f(
                    job.owner,
                    job.ttl,
                    out.bytes.get(at..at + len).unwrap_or_default(),
                );
                at += len;
            }
        }
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
