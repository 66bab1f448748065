//! What signing costs: one RRset with each algorithm; a whole zone of
//! 100,000 records (50,000 names with A and AAAA: 100,000 RRsets and
//! 50,000 NSECs to sign) on one and on two threads; and finding the NSEC
//! that covers a name in that zone's chain (what a negative answer will
//! do per query, instead of signing).
//!
//! Run with `cargo bench -p candor-dnssec`.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Duration;

use candor_dnssec::{
    Algorithm, KeyRole, SigningKey, SigningPolicy, Validity, nsec, sign_rrset, sign_zone,
};
use candor_wire::{Name, Rtype};
use candor_zone::{Zone, ZoneBuilder};
use criterion::{Criterion, criterion_group, criterion_main};

/// Wire name helper.
fn n(text: &str) -> Name {
    Name::from_text(text, None).expect("valid name")
}

/// A zone with SOA, NS and `hosts` names holding one A and one AAAA each.
fn zone(hosts: u32) -> Zone {
    let apex = n("example.com.");
    let mut b = ZoneBuilder::new(&apex);
    let ns = n("ns1.example.com.");
    let mut soa = ns.as_wire().to_vec();
    soa.extend_from_slice(n("hostmaster.example.com.").as_wire());
    soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44]);
    b.add(&apex, Rtype::SOA, 3600, &soa, None);
    b.add(&apex, Rtype::NS, 3600, ns.as_wire(), None);
    b.add(&ns, Rtype::A, 3600, &[192, 0, 2, 1], None);
    for h in 0..hosts {
        let owner = n(&format!("host{h}.example.com."));
        let [_, x, y, z] = h.to_be_bytes();
        b.add(&owner, Rtype::A, 3600, &[10, x, y, z], None);
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[13..].copy_from_slice(&[x, y, z]);
        b.add(&owner, Rtype::AAAA, 3600, &v6, None);
    }
    b.finish().expect("the benchmark zone compiles")
}

/// One RRset signed with each algorithm.
fn rrset(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let apex = n("example.com.");
    let owner = n("www.example.com.");
    let validity = Validity {
        inception: 1_764_900_000,
        expiration: 1_766_100_000,
    };
    let mut g = c.benchmark_group("sign_rrset");
    for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = SigningKey::generate(algorithm, KeyRole::Csk, &rng).expect("key");
        g.bench_function(algorithm.mnemonic(), |b| {
            b.iter(|| {
                sign_rrset(
                    &key,
                    apex.as_wire(),
                    owner.as_wire(),
                    Rtype::A,
                    3600,
                    &[&[192, 0, 2, 1], &[192, 0, 2, 2]],
                    validity,
                )
            })
        });
    }
    g.finish();
}

/// A whole 100,000-record zone, with one CSK.
fn whole_zone(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let zone = zone(50_000);
    let policy = SigningPolicy::default();
    let mut g = c.benchmark_group("sign_zone_100k_records");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key = SigningKey::generate(algorithm, KeyRole::Csk, &rng).expect("key");
        for threads in [1, 2] {
            let n = NonZeroUsize::new(threads).expect("not zero");
            let name = format!("{}/{threads}_threads", algorithm.mnemonic());
            g.bench_function(name, |b| {
                b.iter(|| sign_zone(&zone, std::slice::from_ref(&key), &policy, 1_764_900_000, n))
            });
        }
    }
    g.finish();
}

/// The covering NSEC of a name that does not exist, by binary search over
/// the chain of the 100,000-record zone (50,004 names).
fn covering(c: &mut Criterion) {
    let rng = ring::rand::SystemRandom::new();
    let zone = zone(50_000);
    let key = SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).expect("key");
    let signed = sign_zone(
        &zone,
        &[key],
        &SigningPolicy::default(),
        1_764_900_000,
        NonZeroUsize::MIN,
    )
    .expect("signed");
    let chain: Vec<&[u8]> = signed.chain.iter().map(|n| &**n).collect();
    let names: Vec<Name> = (0..1024)
        .map(|i| n(&format!("x{}q.example.com.", i * 7919)))
        .collect();
    let mut i = 0;
    c.bench_function("covering_nsec_50k_names", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            nsec::covering(black_box(&chain), names[i].as_wire())
        })
    });
    let keys = nsec::Chain::new(&chain);
    c.bench_function("chain_covering_50k_names", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            black_box(&keys).covering(names[i].as_wire())
        })
    });
}

criterion_group!(benches, rrset, whole_zone, covering);
criterion_main!(benches);
