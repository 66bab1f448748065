//! Micro-benchmarks of the answer path: one query in, one response out,
//! against a zone shaped like the `mixed` benchmark data set; and batches
//! of 32 queries against a zone of a million names (like `large`),
//! answered one by one and through the prefetching `Peek` stages the UDP
//! workers use.
//!
//! The `guard` group prices what the defences add per response: a query
//! with a DNS cookie (one or two SipHash computations) and one rate
//! limiter check on a full-size table (one cache line of atomics).
//!
//! The `signed` group is a random-subdomain flood's query on a signed and
//! an unsigned copy of one zone (10,000 hosts), with DO=0 and DO=1: what
//! the NSEC proofs (a binary search over the chain and four more RRsets
//! copied) cost per NXDOMAIN. Nothing is signed per query.
//!
//! Run with `cargo bench -p candor-answer`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use candor_answer::{Peek, respond};
use candor_guard::{CookieCheck, Limiter, RateKey, ResponseKind, RrlConfig};
use candor_wire::Rtype;
use candor_zone::ZoneSet;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/mod.rs"]
mod common;
use common::{config, n, query, request, zone_start, zones};

fn bench(c: &mut Criterion) {
    let zones = zones();
    let config = config();
    let mut out = vec![0u8; 65535];
    let cases = [
        ("hit", query("host7.z0042.example.", Rtype::A)),
        ("hit_mixed_case", query("HoSt7.Z0042.example.", Rtype::AAAA)),
        ("nodata", query("host7.z0042.example.", Rtype::TXT)),
        ("nxdomain", query("nosuchname.z0042.example.", Rtype::A)),
        ("wildcard", query("anything.wild.z0042.example.", Rtype::A)),
        ("cname", query("www.z0042.example.", Rtype::A)),
        ("referral", query("host.sub.z0042.example.", Rtype::A)),
        ("refused", query("www.example.org.", Rtype::A)),
    ];
    let mut group = c.benchmark_group("answer");
    for (name, q) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| respond(black_box(&zones), &config, &request(black_box(q)), &mut out))
        });
    }
    group.finish();
}

/// One zone with `count` hosts, each with one A record.
fn large_zone(count: u32) -> ZoneSet {
    let mut b = zone_start("large.example.");
    for h in 0..count {
        let owner = n(&format!("host{h}.large.example."));
        b.add(&owner, Rtype::A, 3600, &h.to_be_bytes(), None);
    }
    ZoneSet::from_zones([Arc::new(b.finish().expect("valid zone"))])
}

/// Batches of 32 queries for random names of a million-name zone: the
/// cost per batch, answered one by one and through peeks.
fn bench_batch(c: &mut Criterion) {
    const HOSTS: u32 = 1_000_000;
    const BATCH: usize = 32;
    let zones = large_zone(HOSTS);
    let config = config();
    // 64k queries for pseudo-random names (a fixed LCG), so batches do
    // not repeat what the cache already holds.
    let mut x: u32 = 12345;
    let queries: Vec<Vec<u8>> = (0..65536)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            query(&format!("host{}.large.example.", x % HOSTS), Rtype::A)
        })
        .collect();
    let mut out = vec![[0u8; 1232]; BATCH];
    let mut peeks: Vec<Peek> = (0..BATCH).map(|_| Peek::default()).collect();
    let mut group = c.benchmark_group("batch_of_32_large_zone");
    let mut next = 0;
    group.bench_function("one_by_one", |b| {
        b.iter(|| {
            let batch = &queries[next..next + BATCH];
            next = (next + BATCH) % queries.len();
            for (q, o) in batch.iter().zip(out.iter_mut()) {
                black_box(respond(&zones, &config, &request(q), o));
            }
        })
    });
    group.bench_function("peeked", |b| {
        b.iter(|| {
            let batch = &queries[next..next + BATCH];
            next = (next + BATCH) % queries.len();
            Peek::prepare(&mut peeks, &zones, batch.iter().map(|q| &q[..]));
            for ((peek, q), o) in peeks.iter().zip(batch).zip(out.iter_mut()) {
                black_box(peek.respond(&zones, &config, &request(q), o));
            }
        })
    });
    group.finish();
}

/// A query for `name`/`qtype` with a COOKIE option holding `cookie`.
fn query_with_cookie(name: &str, qtype: Rtype, cookie: &[u8]) -> Vec<u8> {
    let mut q = query(name, qtype);
    let n = q.len();
    // The OPT record ends the query: grow its RDLENGTH and append.
    q[n - 2..].copy_from_slice(&((4 + cookie.len()) as u16).to_be_bytes());
    q.extend_from_slice(&[0, 10]);
    q.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    q.extend_from_slice(cookie);
    q
}

/// The next of a stream of responses to account (a fixed LCG in `x`): an
/// answer for one of a million names to one of a thousand networks.
fn varied(x: &mut u64) -> (IpAddr, RateKey) {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let client = IpAddr::V4(Ipv4Addr::from(((*x >> 40) as u32 & 0x3ff) << 8));
    let key = RateKey {
        kind: ResponseKind::Answer,
        name: *x >> 44,
        qtype: 1,
    };
    (client, key)
}

/// What the defences add: a hit with a client cookie and with a valid
/// server cookie (against "answer/hit"), and rate limiter checks.
fn bench_guard(c: &mut Criterion) {
    let zones = zones();
    let config = config();
    let mut out = vec![0u8; 65535];
    let client_cookie = [1, 2, 3, 4, 5, 6, 7, 8];
    let only_client = query_with_cookie("host7.z0042.example.", Rtype::A, &client_cookie);
    // The server cookie the first answer carries makes the second query.
    let first = respond(&zones, &config, &request(&only_client), &mut out).expect("answered");
    let both = out[first.len - 24..first.len].to_vec();
    let valid = query_with_cookie("host7.z0042.example.", Rtype::A, &both);
    let mut group = c.benchmark_group("guard");
    group.bench_function("hit_client_cookie", |b| {
        b.iter(|| respond(&zones, &config, &request(black_box(&only_client)), &mut out))
    });
    group.bench_function("hit_valid_server_cookie", |b| {
        b.iter(|| {
            let o = respond(&zones, &config, &request(black_box(&valid)), &mut out);
            assert_eq!(o.map(|o| o.cookie), Some(CookieCheck::Valid));
            o
        })
    });
    // A default-size table (2 MiB) with many accounts: keys cycle over a
    // million names from a thousand networks, so most checks miss the cache
    // as they would under varied traffic.
    let limiter = Limiter::new(
        &RrlConfig {
            rate: 200,
            window: 15,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: Vec::new(),
            entries: candor_guard::rrl::DEFAULT_ENTRIES,
        },
        [0x1234, 0x5678],
    );
    let mut x: u64 = 1;
    group.bench_function("rrl_check_varied", |b| {
        b.iter(|| {
            let (client, key) = varied(&mut x);
            limiter.check(client, key, CookieCheck::Absent, 1_700_000_000)
        })
    });
    // The same checks as the UDP workers make them: a batch of 32 located
    // first (their misses overlap), then debited.
    let mut accounts = [None; 32];
    group.bench_function("rrl_batch_of_32_varied", |b| {
        b.iter(|| {
            for account in accounts.iter_mut() {
                let (client, key) = varied(&mut x);
                *account = limiter.account(client, key, CookieCheck::Absent);
            }
            for account in accounts.iter().flatten() {
                black_box(limiter.debit(*account, 1_700_000_000));
            }
        })
    });
    let flood = RateKey::new(ResponseKind::Answer, b"\x03big\x07example\x00", 16);
    let victim = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
    group.bench_function("rrl_check_one_flood", |b| {
        b.iter(|| limiter.check(victim, black_box(flood), CookieCheck::Absent, 1_700_000_000))
    });
    group.finish();
}

/// A random-subdomain flood's queries (random labels, so every name is
/// new) against a zone of 10,000 hosts, unsigned and signed, with DO=0
/// and DO=1; and a hit with DO=1 on the signed zone.
fn bench_signed(c: &mut Criterion) {
    const HOSTS: u32 = 10_000;
    let plain = {
        let mut b = zone_start("flood.example.");
        for h in 0..HOSTS {
            let owner = n(&format!("host{h}.flood.example."));
            b.add(&owner, Rtype::A, 3600, &h.to_be_bytes(), None);
        }
        Arc::new(b.finish().expect("valid zone"))
    };
    let rng = ring::rand::SystemRandom::new();
    let key = candor_dnssec::SigningKey::generate(
        candor_dnssec::Algorithm::EcdsaP256Sha256,
        candor_dnssec::KeyRole::Csk,
        &rng,
    )
    .expect("a key");
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    let signed = candor_dnssec::sign_zone(
        &plain,
        &[key],
        &candor_dnssec::SigningPolicy::default(),
        1_700_000_000,
        threads,
    )
    .expect("signs");
    let signed = Arc::new(candor_dnssec::compile_signed(&plain, &signed).expect("compiles"));
    let unsigned_set = ZoneSet::from_zones([plain]);
    let signed_set = ZoneSet::from_zones([signed]);
    let config = config();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    /// The next xorshift64 state.
    fn x_next(x: &mut u64) -> &mut u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        x
    }
    let flood = |dnssec_ok: bool, x: &mut u64| -> Vec<Vec<u8>> {
        (0..4096)
            .map(|_| {
                x_next(x);
                let mut q = query(
                    &format!("{:012x}.flood.example.", *x & 0xffff_ffff_ffff),
                    Rtype::A,
                );
                if dnssec_ok {
                    let len = q.len();
                    q[len - 4] |= 0x80;
                }
                q
            })
            .collect()
    };
    let do0 = flood(false, &mut x);
    let do1 = flood(true, &mut x);
    // Random names that share their first bytes with the zone's names
    // (`host1234` + random hex): their first byte is every name's, and
    // for nine in ten the chain's 8-byte head ties with a name's, whose
    // key is then compared.
    let nearby: Vec<Vec<u8>> = (0..4096)
        .map(|_| {
            x_next(&mut x);
            let mut q = query(
                &format!(
                    "host{}{:04x}.flood.example.",
                    x % 10_000,
                    (x >> 20) & 0xffff
                ),
                Rtype::A,
            );
            let len = q.len();
            q[len - 4] |= 0x80;
            q
        })
        .collect();
    let mut hit = query("host4242.flood.example.", Rtype::A);
    let len = hit.len();
    hit[len - 4] |= 0x80;
    let mut out = vec![0u8; 65535];
    let mut group = c.benchmark_group("signed");
    for (name, zones, queries) in [
        ("nxdomain_random/unsigned_do0", &unsigned_set, &do0),
        ("nxdomain_random/unsigned_do1", &unsigned_set, &do1),
        ("nxdomain_random/signed_do0", &signed_set, &do0),
        ("nxdomain_random/signed_do1", &signed_set, &do1),
        ("nxdomain_nearby/unsigned_do1", &unsigned_set, &nearby),
        ("nxdomain_nearby/signed_do1", &signed_set, &nearby),
    ] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                respond(black_box(zones), &config, &request(&queries[i]), &mut out)
            })
        });
    }
    group.bench_function("hit/signed_do1", |b| {
        b.iter(|| {
            respond(
                black_box(&signed_set),
                &config,
                &request(black_box(&hit)),
                &mut out,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench, bench_batch, bench_guard, bench_signed);
criterion_main!(benches);
