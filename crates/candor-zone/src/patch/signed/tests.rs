//! Patches of signed zones: with RRSIGs beside RRsets and the NSEC chain
//! following the changed names, a patched version reads exactly as the
//! builder's compile of the same records (records, RRSIG placement, chain,
//! covering searches). The signatures here are stand-ins (the zone does
//! not verify them); `candor-dnssec` tests real ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use candor_wire::{Name, Rtype};

use crate::patch::{NodeChange, PatchError};
use crate::{OwnedRecord, Zone, ZoneBuilder, ZoneDiff, canonical_name_cmp};

/// Records by owner (lower-cased wire): type, TTL, RDATA.
type Model = BTreeMap<Vec<u8>, Vec<(Rtype, u32, Box<[u8]>)>>;

/// The wire form of a name relative to `example.`.
fn w(text: &str) -> Vec<u8> {
    let origin = Name::from_text("example.", None).unwrap();
    Name::from_text(text, Some(&origin))
        .unwrap()
        .as_wire()
        .to_vec()
}

/// The SOA RDATA with `serial`.
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = w("ns1");
    v.extend_from_slice(&w("hostmaster"));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// The unsigned start: apex, a few hosts, a name under an empty
/// non-terminal.
fn start() -> Model {
    let mut m = Model::new();
    let mut add = |n: &str, t: Rtype, rdata: Box<[u8]>| {
        m.entry(w(n)).or_default().push((t, 300, rdata));
    };
    add("@", Rtype::SOA, soa(1));
    add("@", Rtype::NS, w("ns1").into());
    add("ns1", Rtype::A, vec![192, 0, 2, 1].into());
    for i in 0..8u8 {
        add(&format!("h{i}"), Rtype::A, vec![192, 0, 2, 10 + i].into());
    }
    add("a.b.sub", Rtype::TXT, vec![1, b'x'].into());
    m
}

/// `m` with stand-in DNSSEC records: an NSEC at every name with data
/// (next name in canonical order, types as the bitmap's stand-in) and an
/// RRSIG over each RRset (and the NSEC) that names `serial`, so changed
/// RRsets and unchanged ones are told apart.
fn signed(m: &Model, serial: u32) -> Model {
    let mut names: Vec<&Vec<u8>> = m
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(n, _)| n)
        .collect();
    names.sort_by(|a, b| canonical_name_cmp(a, b));
    let mut out = Model::new();
    for (i, name) in names.iter().enumerate() {
        let next = names[(i + 1) % names.len()];
        let mut records = m[*name].clone();
        let mut types: Vec<u16> = records.iter().map(|r| r.0.0).collect();
        types.sort_unstable();
        types.dedup();
        let mut nsec = next.clone();
        for t in &types {
            nsec.extend_from_slice(&t.to_be_bytes());
        }
        records.push((Rtype::NSEC, 300, nsec.clone().into()));
        types.push(Rtype::NSEC.0);
        for t in types {
            // A stand-in RRSIG: type covered, then what it "signs".
            let mut sig = t.to_be_bytes().to_vec();
            let content: Vec<&[u8]> = records
                .iter()
                .filter(|r| r.0.0 == t)
                .map(|r| &r.2[..])
                .collect();
            sig.extend_from_slice(&(content.concat().len() as u32).to_be_bytes());
            sig.extend_from_slice(&content.concat());
            let mark = if t == Rtype::SOA.0 { serial } else { 0 };
            sig.extend_from_slice(&mark.to_be_bytes());
            records.push((Rtype::RRSIG, 300, sig.into()));
        }
        out.insert((*name).clone(), records);
    }
    out
}

/// Compiles a model.
fn compile(m: &Model) -> Zone {
    let apex = Name::from_text("example.", None).unwrap();
    let mut b = ZoneBuilder::new(&apex);
    for (owner, records) in m {
        let owner = Name::from_wire(owner).unwrap();
        for (t, ttl, rdata) in records {
            b.add(&owner, *t, *ttl, rdata, None);
        }
    }
    b.finish().unwrap()
}

/// The chain of a zone as names, in order.
fn chain_names(z: &Zone) -> Vec<Vec<u8>> {
    let parts = z.signed().unwrap();
    parts.nodes().map(|id| z.name_bytes(id).to_vec()).collect()
}

/// Each chain entry's NSEC proof as the answer path reads it: owner,
/// NSEC tails and count, RRSIG tails and count.
type Proofs = Vec<Option<(Vec<u8>, Vec<u8>, u16, Vec<u8>, u16)>>;

/// The proofs from the chain's entries (`Zone::chain_proof`).
fn chain_proofs(z: &Zone) -> Proofs {
    (0..z.signed().unwrap().len())
        .map(|i| {
            z.chain_proof(i).map(|p| {
                let (n, t, s) = (p.name.to_vec(), p.nsec.to_vec(), p.sigs.to_vec());
                (n, t, p.nsec_count, s, p.sig_count)
            })
        })
        .collect()
}

/// The proofs from the entries' nodes and their NSEC RRsets.
fn node_proofs(z: &Zone) -> Proofs {
    z.signed()
        .unwrap()
        .nodes()
        .map(|id| {
            let nsec = z.rrset(z.node(id), Rtype::NSEC)?;
            let sigs = z.sig_tails(nsec);
            let count = crate::zone::tail_count(sigs);
            Some((
                z.name_bytes(id).to_vec(),
                z.tails(nsec).to_vec(),
                nsec.count,
                sigs.to_vec(),
                count,
            ))
        })
        .collect()
}

/// Checks that a patched version reads as the compiled one.
fn assert_same(p: &Zone, c: &Zone, probes: &[Vec<u8>]) {
    assert_eq!(p.serial(), c.serial());
    assert_eq!(p.record_count(), c.record_count());
    let mut x: Vec<OwnedRecord> = p.records().map(|r| OwnedRecord::from_record(&r)).collect();
    let mut y: Vec<OwnedRecord> = c.records().map(|r| OwnedRecord::from_record(&r)).collect();
    x.sort_by(OwnedRecord::canonical_cmp);
    y.sort_by(OwnedRecord::canonical_cmp);
    assert_eq!(x, y);
    assert_eq!(chain_names(p), chain_names(c));
    assert_eq!(p.signed().unwrap().chain(), c.signed().unwrap().chain());
    assert_eq!(chain_proofs(p), chain_proofs(c), "the chain's proofs");
    assert_eq!(
        chain_proofs(p),
        node_proofs(p),
        "the patched chain's proofs"
    );
    let wildcard = |z: &Zone| z.name_bytes(z.signed().unwrap().apex_wildcard()).to_vec();
    assert_eq!(wildcard(p), wildcard(c), "the apex wildcard's NSEC");
    assert!(c.negative_blocks().is_some_and(|n| n.apex_nsec().is_some()));
    assert_eq!(
        p.negative_blocks(),
        c.negative_blocks(),
        "the SOA and apex NSEC blocks"
    );
    for name in probes {
        let (ps, cs) = (p.signed().unwrap(), c.signed().unwrap());
        let pick = |z: &Zone, r: Result<u32, u32>| match r {
            Ok(id) => (true, z.name_bytes(id).to_vec()),
            Err(id) => (false, z.name_bytes(id).to_vec()),
        };
        assert_eq!(pick(p, ps.covering(name)), pick(c, cs.covering(name)));
        // Every RRset's signatures are where the answer path reads them.
        if let Some(id) = p.node_by_name(name) {
            let cid = c.node_by_name(name).unwrap();
            for set in p.rrsets(p.node(id)) {
                let other = c.rrset(c.node(cid), set.rtype).unwrap();
                assert_eq!(p.sig_tails(set), c.sig_tails(other));
            }
        }
    }
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    /// The next number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Random series of changes (names added, removed, retyped, empty
/// non-terminals coming and going), each patched as the signed model's
/// changed names: every version reads as a fresh compile, chain included.
#[test]
fn signed_patches_read_as_full_rebuilds() {
    let pool: Vec<Vec<u8>> = [
        "h0", "h1", "h3", "h7", "new", "a.new", "x.y.new", "b.sub", "a.b.sub", "sub", "zz", "a",
        "ns1",
    ]
    .iter()
    .map(|s| w(s))
    .collect();
    let mut probes = pool.clone();
    probes.extend(["@", "nothere", "q.h1", "y.new"].iter().map(|s| w(s)));
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = start();
        let mut serial = 1;
        let mut before = signed(&model, serial);
        let mut zone = Arc::new(compile(&before));
        for _ in 0..25 {
            serial += 1;
            for _ in 0..=rng.below(3) {
                let name = pool[rng.below(pool.len() as u64) as usize].clone();
                let content: Vec<(Rtype, u32, Box<[u8]>)> = match rng.below(4) {
                    0 => Vec::new(),
                    1 => vec![(Rtype::TXT, 300, vec![1, b'0' + rng.below(3) as u8].into())],
                    2 => vec![
                        (Rtype::A, 300, vec![192, 0, 2, rng.below(3) as u8].into()),
                        (Rtype::AAAA, 300, vec![0x20; 16].into()),
                    ],
                    _ => vec![(Rtype::A, 300, vec![192, 0, 2, rng.below(3) as u8].into())],
                };
                model.insert(name, content);
            }
            let apex = model.get_mut(&w("@")).unwrap();
            apex.retain(|r| r.0 != Rtype::SOA);
            apex.push((Rtype::SOA, 300, soa(serial)));
            let after = signed(&model, serial);
            // Every name whose signed records differ, as a NodeChange.
            let mut names: Vec<&Vec<u8>> = before.keys().chain(after.keys()).collect();
            names.sort();
            names.dedup();
            let changes: Vec<NodeChange> = names
                .into_iter()
                .filter(|n| before.get(*n) != after.get(*n))
                .map(|n| NodeChange {
                    owner: n.clone().into(),
                    records: after.get(n).cloned().unwrap_or_default(),
                })
                .collect();
            let next = zone.patch(&changes).unwrap();
            let compiled = compile(&after);
            assert_same(&next, &compiled, &probes);
            // An IXFR-style diff of the same change applies to a signed
            // zone too (RRSIGs at the touched names kept or replaced).
            let diff = ZoneDiff::between(&zone, &compiled);
            assert_same(&zone.apply_diff(&diff).unwrap(), &compiled, &probes);
            zone = Arc::new(next);
            before = after;
        }
    }
}

/// DNSSEC records coming into an unsigned zone, NSEC3 anywhere, an RRSIG
/// over a type its name lacks, and a chain emptied, all rebuild.
#[test]
fn what_a_signed_patch_refuses() {
    let m = start();
    let unsigned = Arc::new(compile(&m));
    let with = |z: &Arc<Zone>, name: &str, records: Vec<(Rtype, u32, Box<[u8]>)>| {
        z.patch(&[NodeChange {
            owner: w(name).into(),
            records,
        }])
    };
    let nsec: Box<[u8]> = w("h0").into();
    assert_eq!(
        with(&unsigned, "h1", vec![(Rtype::NSEC, 300, nsec.clone())]).err(),
        Some(PatchError::Rebuild("the zone becomes signed"))
    );
    let s = signed(&m, 1);
    let zone = Arc::new(compile(&s));
    assert_eq!(
        with(&zone, "h1", vec![(Rtype::NSEC3, 300, nsec.clone())]).err(),
        Some(PatchError::Rebuild("NSEC3 records change"))
    );
    let sig: Box<[u8]> = vec![0, 16, 1, 2].into();
    assert_eq!(
        with(
            &zone,
            "h1",
            vec![
                (Rtype::A, 300, vec![192, 0, 2, 1].into()),
                (Rtype::RRSIG, 300, sig)
            ]
        )
        .err(),
        Some(PatchError::Rebuild(
            "an RRSIG covers a type its name does not have"
        ))
    );
    // A signed zone patched without NSECs at every chain name: the chain
    // shrinks to what still has one.
    let p = with(
        &zone,
        "h1",
        vec![(Rtype::A, 300, vec![192, 0, 2, 1].into())],
    )
    .unwrap();
    assert!(!chain_names(&p).contains(&w("h1")));
    assert_eq!(chain_names(&p).len(), chain_names(&zone).len() - 1);
}
