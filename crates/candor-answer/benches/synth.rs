//! Synthesized answers (ALIAS, POOL) with and without DNSSEC: what an
//! answer costs from an unsigned zone with DO=0 (the `synth_do0` group,
//! comparable across versions: it uses nothing new), from a signed zone
//! with DO=0 (the same bytes), and from a signed zone with DO=1 (the
//! `synth_do1` group: the POOL member's precompiled RRSIG, the ALIAS
//! signer's published answer, copied; nothing is signed per query).
//!
//! Run with `cargo bench -p candor-answer --bench synth`.

use std::hint::black_box;
use std::sync::Arc;

use candor_answer::{AliasEntry, AliasTable, respond};
use candor_wire::Rtype;
use candor_zone::{ALIAS, POOL, ZoneSet};
use criterion::{Criterion, criterion_group, criterion_main};

// The mixed zones there are not used here.
#[allow(dead_code)]
#[path = "common/mod.rs"]
mod common;
use common::{config, n, query, request, zone_start};

/// A zone with a three-member POOL (in-zone members), an ALIAS to a host
/// in the zone and one to a name outside (resolved: two addresses each).
fn plain() -> Arc<candor_zone::Zone> {
    let mut b = zone_start("synth.example.");
    for (h, addr) in [("a", 1u8), ("b", 2), ("c", 3)] {
        b.add(
            &n(&format!("{h}.synth.example.")),
            Rtype::A,
            300,
            &[192, 0, 2, addr],
            None,
        );
    }
    for m in ["a", "b", "c"] {
        let target = n(&format!("{m}.synth.example."));
        b.add(&n("pool.synth.example."), POOL, 300, target.as_wire(), None);
    }
    b.add(
        &n("local.synth.example."),
        ALIAS,
        300,
        n("a.synth.example.").as_wire(),
        None,
    );
    b.add(
        &n("out.synth.example."),
        ALIAS,
        300,
        n("www.elsewhere.test.").as_wire(),
        None,
    );
    Arc::new(b.finish().expect("valid zone"))
}

/// The resolver's entry for the outside target.
fn resolved() -> AliasTable {
    AliasTable::new([(
        Box::from(n("www.elsewhere.test.").as_wire()),
        AliasEntry {
            exists: true,
            v4: vec![[198, 51, 100, 7], [198, 51, 100, 8]],
            v6: Vec::new(),
            ttl: 300,
        },
    )])
}

/// The queries: (benchmark name, QNAME), all for A.
const CASES: [(&str, &str); 3] = [
    ("pool", "pool.synth.example."),
    ("alias_local", "local.synth.example."),
    ("alias_outside", "out.synth.example."),
];

/// With DO set.
fn with_do(mut q: Vec<u8>) -> Vec<u8> {
    let len = q.len();
    q[len - 4] |= 0x80;
    q
}

/// DO=0 from the unsigned zone.
fn bench_do0(c: &mut Criterion) {
    let zones = ZoneSet::from_zones([plain()]);
    let config = config();
    config.aliases.store(Arc::new(resolved()));
    let mut out = vec![0u8; 65535];
    let mut group = c.benchmark_group("synth_do0");
    for (name, qname) in CASES {
        let q = query(qname, Rtype::A);
        group.bench_function(format!("{name}/unsigned"), |b| {
            b.iter(|| {
                respond(
                    black_box(&zones),
                    &config,
                    &request(black_box(&q)),
                    &mut out,
                )
            })
        });
    }
    group.finish();
}

/// DO=0 and DO=1 from the signed zone, with the ALIAS signer's answers
/// published.
fn bench_do1(c: &mut Criterion) {
    use candor_dnssec::{Algorithm, KeyRole, SigningKey, SigningPolicy};
    let plain = plain();
    let rng = ring::rand::SystemRandom::new();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).expect("a key");
    let signed = candor_dnssec::sign_zone(
        &plain,
        std::slice::from_ref(&key),
        &SigningPolicy::default(),
        1_700_000_000,
        std::num::NonZeroUsize::MIN,
    )
    .expect("signs");
    let signed = Arc::new(candor_dnssec::compile_signed(&plain, &signed).expect("compiles"));
    let zones = ZoneSet::from_zones([signed]);
    // What the ALIAS signer publishes for both owners (its own code:
    // `candor_alias::sign`; here made with the same primitives).
    let sign = |owner: &str, addrs: &[[u8; 4]]| {
        let owner = n(owner);
        let rdatas: Vec<&[u8]> = addrs.iter().map(|a| a.as_slice()).collect();
        let validity = SigningPolicy::default().validity(1_700_000_000, 0);
        let sig = candor_dnssec::sign_rrset(
            &key,
            n("synth.example.").as_wire(),
            owner.as_wire(),
            Rtype::A,
            300,
            &rdatas,
            validity,
        )
        .expect("signs");
        let tail = |rtype: Rtype, rdata: &[u8]| {
            let mut t = rtype.0.to_be_bytes().to_vec();
            t.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
            t.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            t.extend_from_slice(rdata);
            t
        };
        let tails: Vec<u8> = rdatas.iter().flat_map(|r| tail(Rtype::A, r)).collect();
        (
            Box::<[u8]>::from(owner.as_wire()),
            Arc::new(candor_answer::SignedAlias {
                a: Some(candor_answer::SignedRrset {
                    tails: tails.into(),
                    count: rdatas.len() as u16,
                    sigs: tail(Rtype::RRSIG, &sig).into(),
                    sig_count: 1,
                }),
                aaaa: None,
                nsec: None,
            }),
        )
    };
    let config = config();
    config.aliases.store(Arc::new(resolved().with_signed([
        sign("local.synth.example.", &[[192, 0, 2, 1]]),
        sign(
            "out.synth.example.",
            &[[198, 51, 100, 7], [198, 51, 100, 8]],
        ),
    ])));
    let mut out = vec![0u8; 65535];
    let mut group = c.benchmark_group("synth_do1");
    for (name, qname) in CASES {
        let q0 = query(qname, Rtype::A);
        group.bench_function(format!("{name}/signed_do0"), |b| {
            b.iter(|| {
                respond(
                    black_box(&zones),
                    &config,
                    &request(black_box(&q0)),
                    &mut out,
                )
            })
        });
        let q1 = with_do(query(qname, Rtype::A));
        group.bench_function(format!("{name}/signed_do1"), |b| {
            b.iter(|| {
                respond(
                    black_box(&zones),
                    &config,
                    &request(black_box(&q1)),
                    &mut out,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_do0, bench_do1);
criterion_main!(benches);
