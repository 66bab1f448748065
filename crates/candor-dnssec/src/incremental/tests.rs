//! Incremental signing against full signing: random series of changes on
//! a signed zone, each signed incrementally, must give the zone that
//! signing the changed zone in full gives (Ed25519 signatures are
//! deterministic, so byte for byte at the same time); with ECDSA and the
//! clock moving, BIND's `dnssec-verify` must accept the result.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::{ALIAS, NodeChange, OwnedRecord, POOL as POOL_TYPE, REGIONAL, Zone, ZoneBuilder};

use super::{ChangeSignError, sign_change};
use crate::{
    Algorithm, KeyRole, SignedZone, SigningKey, SigningPolicy, compile_signed, sign_zone, zone_text,
};

/// Records by owner (lower-cased wire): type, TTL, RDATA.
type Model = BTreeMap<Vec<u8>, Vec<(Rtype, u32, Box<[u8]>)>>;

/// The wire form of a name relative to `example.com.`.
fn w(text: &str) -> Vec<u8> {
    let origin = Name::from_text("example.com.", None).unwrap();
    Name::from_text(text, Some(&origin))
        .unwrap()
        .as_wire()
        .to_vec()
}

/// The SOA RDATA with `serial` (TTL 3600, MINIMUM 300 in `start`).
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = w("ns1");
    v.extend_from_slice(&w("hostmaster"));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// An A record's RDATA.
fn a(last: u8) -> Box<[u8]> {
    vec![192, 0, 2, last].into()
}

/// The unsigned start: hosts, a delegation with glue, a wildcard, a
/// name under empty non-terminals, an MX.
fn start() -> Model {
    let mut m = Model::new();
    let mut add = |n: &str, t: Rtype, ttl: u32, rdata: Box<[u8]>| {
        m.entry(w(n)).or_default().push((t, ttl, rdata));
    };
    add("@", Rtype::SOA, 3600, soa(1));
    add("@", Rtype::NS, 3600, w("ns1").into());
    let mut mx = vec![0, 10];
    mx.extend_from_slice(&w("mail"));
    add("@", Rtype::MX, 300, mx.into());
    add("ns1", Rtype::A, 300, a(1));
    add("mail", Rtype::A, 300, a(2));
    for i in 0..10u8 {
        add(&format!("h{i}"), Rtype::A, 300, a(10 + i));
    }
    add("deleg", Rtype::NS, 300, w("ns.deleg").into());
    add("ns.deleg", Rtype::A, 300, a(3));
    add("*.wild", Rtype::A, 300, a(4));
    add("a.b.sub", Rtype::TXT, 300, vec![1, b'x'].into());
    m
}

/// Compiles an unsigned model (`None` if the builder refuses it).
fn compile(m: &Model) -> Option<Zone> {
    let apex = Name::from_text("example.com.", None).unwrap();
    let mut b = ZoneBuilder::new(&apex);
    for (owner, records) in m {
        let owner = Name::from_wire(owner).unwrap();
        for (t, ttl, rdata) in records {
            b.add(&owner, *t, *ttl, rdata, None);
        }
    }
    b.finish().ok()
}

/// The model signed in full at `now`, compiled to serve.
fn full(m: &Model, keys: &[SigningKey], now: u64) -> Zone {
    let zone = compile(m).unwrap();
    let signed = sign_zone(
        &zone,
        keys,
        &SigningPolicy::default(),
        now,
        NonZeroUsize::MIN,
    )
    .unwrap();
    compile_signed(&zone, &signed).unwrap()
}

/// Every record of a zone, sorted.
fn records(z: &Zone) -> Vec<OwnedRecord> {
    let mut out: Vec<OwnedRecord> = z.records().map(|r| OwnedRecord::from_record(&r)).collect();
    out.sort_by(OwnedRecord::canonical_cmp);
    out
}

/// The chain of a zone as names, in order.
fn chain(z: &Zone) -> Vec<Vec<u8>> {
    let parts = z.signed().unwrap();
    parts.nodes().map(|id| z.name_bytes(id).to_vec()).collect()
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

/// Names the changes pick from: existing hosts, new names (some under
/// new empty non-terminals, some sorting right after the delegation or
/// the wildcard), the wildcard itself and a name below the cut.
const POOL: &[&str] = &[
    "h0", "h1", "h5", "h9", "mail", "new", "a.new", "x.y.new", "b.sub", "a.b.sub", "sub", "zz",
    "a", "deleg0", "ns1", "*.wild", "x.deleg", "wild", "0", "h10",
];

/// Random new content for a name: nothing, addresses, text, a CNAME, a
/// CNAME beside an address (which the builder refuses), an ALIAS (alone
/// or beside text), a POOL of two or three members, or a POOL beside an
/// address (refused).
fn content(rng: &mut Rng, private: bool) -> Vec<(Rtype, u32, Box<[u8]>)> {
    let ttl = [60, 300][rng.below(2) as usize];
    let members = |rng: &mut Rng| -> Vec<(Rtype, u32, Box<[u8]>)> {
        let n = 2 + rng.below(2) as usize;
        ["h1", "h2", "mail", "out.example.net."][rng.below(2) as usize..][..n]
            .iter()
            .map(|t| (POOL_TYPE, ttl, w(t).into()))
            .collect()
    };
    match rng.below(if private { 10 } else { 6 }) {
        6 => vec![(
            ALIAS,
            ttl,
            w(["h3", "target.example.net."][rng.below(2) as usize]).into(),
        )],
        7 => vec![
            (ALIAS, ttl, w("h3").into()),
            (Rtype::TXT, ttl, vec![1, b'a'].into()),
        ],
        8 => members(rng),
        9 => {
            let mut m = members(rng);
            m.push((Rtype::A, ttl, a(5)));
            m
        }
        0 => Vec::new(),
        1 => vec![(Rtype::TXT, ttl, vec![1, b'0' + rng.below(3) as u8].into())],
        2 => vec![(Rtype::CNAME, ttl, w("h1").into())],
        3 => vec![(Rtype::CNAME, ttl, w("h1").into()), (Rtype::A, ttl, a(9))],
        4 => vec![
            (Rtype::A, ttl, a(rng.below(3) as u8)),
            (Rtype::AAAA, ttl, vec![0x20; 16].into()),
        ],
        _ => vec![(Rtype::A, ttl, a(rng.below(3) as u8))],
    }
}

/// Runs `steps` random changes from `start()` on a zone signed with
/// `keys`, the clock at `time(step)`; each step's zone is checked by
/// `check(incremental, model)`; with `private`, the changes bring ALIAS,
/// POOL and REGIONAL records too. Returns (incremental, full, invalid)
/// step counts and the last zone.
fn series(
    seed: u64,
    steps: u32,
    private: bool,
    keys: &[SigningKey],
    time: &dyn Fn(u32) -> u64,
    check: &mut dyn FnMut(&Zone, &Model, u64),
) -> ((u32, u32, u32), Arc<Zone>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut model = start();
    let mut zone = Arc::new(full(&model, keys, time(0)));
    let mut counts = (0, 0, 0);
    for step in 1..=steps {
        let now = time(step);
        let mut next = model.clone();
        let mut names = vec![w("@")];
        for _ in 0..=rng.below(3) {
            let name = w(POOL[rng.below(POOL.len() as u64) as usize]);
            next.insert(name.clone(), content(&mut rng, private));
            names.push(name);
        }
        let apex = next.get_mut(&w("@")).unwrap();
        apex.retain(|r| r.0 != Rtype::SOA);
        apex.push((Rtype::SOA, 3600, soa(step + 1)));
        // Now and then a record limited to regions comes or goes (its
        // REGIONAL record at the apex: unsigned, not in the bitmap).
        if private && rng.below(4) == 0 {
            if apex.iter().any(|r| r.0 == REGIONAL) {
                apex.retain(|r| r.0 != REGIONAL);
            } else {
                let mut rdata = Vec::new();
                candor_zone::regional::encode(&w("h1"), Rtype::A, 300, &["eu"], &a(7), &mut rdata);
                apex.push((REGIONAL, 0, rdata.into()));
            }
        }
        let changes: Vec<NodeChange> = names
            .iter()
            .map(|n| NodeChange {
                owner: n.clone().into(),
                records: next.get(n).cloned().unwrap_or_default(),
            })
            .collect();
        let policy = SigningPolicy::default();
        match sign_change(&zone, &changes, keys, &policy, now) {
            Ok((patched, stats)) => {
                assert!(
                    compile(&next).is_some(),
                    "step {step}: accepted what the builder refuses"
                );
                assert!(stats.signatures < 40, "{stats:?}");
                check(&patched, &next, now);
                zone = Arc::new(patched);
                model = next;
                counts.0 += 1;
            }
            Err(ChangeSignError::Rebuild(_)) => {
                if compile(&next).is_none() {
                    counts.2 += 1;
                    continue;
                }
                zone = Arc::new(full(&next, keys, now));
                model = next;
                counts.1 += 1;
            }
            Err(ChangeSignError::Invalid(_)) => {
                assert!(
                    compile(&next).is_none(),
                    "step {step}: refused what the builder takes"
                );
                counts.2 += 1;
            }
            Err(e) => panic!("step {step}: {e}"),
        }
    }
    (counts, zone)
}

/// An Ed25519 CSK (deterministic signatures).
fn ed25519() -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).unwrap()
}

/// At one time with Ed25519, every incrementally signed version is byte
/// for byte the zone signing in full makes (records, RRSIGs, NSECs, the
/// chain), over random series of adds, removals, type changes, empty
/// non-terminals coming and going, ALIAS, POOL and REGIONAL records, and
/// refused changes; at least two of
/// three steps that the builder accepts are incremental (the pool has
/// names at the cut and the wildcard, which sign in full).
#[test]
fn incremental_signing_equals_full_signing() {
    let keys = [ed25519()];
    let t = 1_800_000_000;
    let (mut inc, mut fallback, mut invalid) = (0, 0, 0);
    let mut with_private = 0;
    for seed in 1..=12 {
        let mut check = |z: &Zone, m: &Model, now: u64| {
            let private = |r: &(Rtype, u32, Box<[u8]>)| candor_zone::is_private_type(r.0);
            if m.values().flatten().any(private) {
                with_private += 1;
            }
            let expected = full(m, &keys, now);
            assert_eq!(records(z), records(&expected), "seed {seed}");
            assert_eq!(chain(z), chain(&expected), "seed {seed}");
            assert_eq!(
                z.signed().unwrap().chain(),
                expected.signed().unwrap().chain()
            );
        };
        let ((i, f, v), _) = series(seed, 30, true, &keys, &|_| t, &mut check);
        (inc, fallback, invalid) = (inc + i, fallback + f, invalid + v);
    }
    assert!(
        inc > 2 * fallback,
        "incremental {inc}, full {fallback}, invalid {invalid}"
    );
    assert!(invalid > 0 && fallback > 0, "{inc} {fallback} {invalid}");
    // Most incremental steps signed a zone holding ALIAS, POOL or
    // REGIONAL records (which used to sign in full).
    assert!(2 * with_private > inc, "{with_private} of {inc}");
}

/// With a KSK+ZSK pair as well, and with ECDSA (randomized signatures)
/// and the clock moving between changes, BIND's `dnssec-verify` accepts
/// the last incrementally signed zone (every RRSIG valid, chain whole).
#[test]
fn dnssec_verify_accepts_incrementally_signed_zones() {
    let rng = ring::rand::SystemRandom::new();
    let sets = [
        vec![SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap()],
        vec![
            SigningKey::generate(Algorithm::Ed25519, KeyRole::Ksk, &rng).unwrap(),
            SigningKey::generate(Algorithm::Ed25519, KeyRole::Zsk, &rng).unwrap(),
        ],
    ];
    let start_time = crate::tests::now() - 3000;
    for (n, keys) in sets.iter().enumerate() {
        let mut check = |z: &Zone, m: &Model, _now: u64| {
            // The chain is the full signer's, whatever the clock.
            let expected = full(m, keys, 0);
            assert_eq!(chain(z), chain(&expected));
        };
        // Without private types: the export leaves ALIAS and POOL out
        // while the NSECs list what they answer with, which
        // `dnssec-verify` rejects (docs/dnssec.md, "Synthesized answers").
        let ((inc, _, _), zone) = series(
            7 + n as u64,
            30,
            false,
            keys,
            &|s| start_time + u64::from(s) * 100,
            &mut check,
        );
        assert!(inc > 10, "{inc}");
        let empty = SignedZone {
            records: Vec::new(),
            chain: Vec::new(),
            signatures: 0,
        };
        let text = zone_text(&zone, &empty);
        assert_eq!(text.matches("\tNSEC\t").count(), chain(&zone).len());
        let Some(verdict) =
            crate::tests::dnssec_verify(&format!("incremental-{n}"), &text, keys.len() == 1)
        else {
            return;
        };
        if let Err(log) = verdict {
            panic!("dnssec-verify rejected the zone:\n{log}\n{text}");
        }
    }
}

/// After incremental changes at later times, `signed_at` still dates the
/// full signing (the oldest signatures), so the refresh comes when they
/// need it even if every change re-signed the SOA.
#[test]
fn signed_at_dates_the_full_signing() {
    let keys = [ed25519()];
    let policy = SigningPolicy::default();
    let t = 1_800_000_000;
    let model = start();
    let zone = Arc::new(full(&model, &keys, t));
    let mut apex = model[&w("@")].clone();
    apex.retain(|r| r.0 != Rtype::SOA);
    apex.push((Rtype::SOA, 3600, soa(2)));
    let changes = [
        NodeChange {
            owner: w("@").into(),
            records: apex,
        },
        NodeChange {
            owner: w("fresh").into(),
            records: vec![(Rtype::A, 300, a(7))],
        },
    ];
    let (next, stats) = sign_change(&zone, &changes, &keys, &policy, t + 86_400).unwrap();
    // The SOA, the new name's A and NSEC, its predecessor's NSEC.
    assert_eq!(stats.signatures, 4, "{stats:?}");
    assert_eq!(crate::signed_at(&next, &policy), Some(t));
}
