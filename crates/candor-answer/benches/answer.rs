//! Micro-benchmarks of the answer path: one query in, one response out,
//! against a zone shaped like the `mixed` benchmark data set; and batches
//! of 32 queries against a zone of a million names (like `large`),
//! answered one by one and through the prefetching `Peek` stages the UDP
//! workers use.
//!
//! Run with `cargo bench -p candor-answer`.

use std::hint::black_box;
use std::sync::Arc;

use candor_answer::{Config, Peek, Transport, respond};
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::{ZoneBuilder, ZoneSet};
use criterion::{Criterion, criterion_group, criterion_main};

/// Wire name helper.
fn n(text: &str) -> Name {
    Name::from_text(text, None).expect("valid name")
}

/// A zone at `origin` with its SOA and one NS, `ns1.<origin>`.
fn zone_start(origin: &str) -> ZoneBuilder {
    let apex = n(origin);
    let mut b = ZoneBuilder::new(&apex);
    let ns = n(&format!("ns1.{origin}"));
    let mut soa = ns.as_wire().to_vec();
    soa.extend_from_slice(n(&format!("hostmaster.{origin}")).as_wire());
    soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44]);
    b.add(&apex, Rtype::SOA, 3600, &soa, None);
    b.add(&apex, Rtype::NS, 3600, ns.as_wire(), None);
    b
}

/// 100 zones like the benchmark's `mixed` set: hosts, a wildcard, a
/// delegation with glue, a CNAME.
fn zones() -> ZoneSet {
    let mut all = Vec::new();
    for z in 0..100 {
        let mut b = zone_start(&format!("z{z:04}.example."));
        b.add(
            &n(&format!("ns1.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 0, 1],
            None,
        );
        for h in 0..50u8 {
            let owner = n(&format!("host{h}.z{z:04}.example."));
            b.add(&owner, Rtype::A, 3600, &[198, 18, 0, h], None);
            b.add(
                &owner,
                Rtype::AAAA,
                3600,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, h],
                None,
            );
        }
        b.add(
            &n(&format!("*.wild.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 1, 1],
            None,
        );
        b.add(
            &n(&format!("www.z{z:04}.example.")),
            Rtype::CNAME,
            3600,
            n(&format!("host1.z{z:04}.example.")).as_wire(),
            None,
        );
        b.add(
            &n(&format!("sub.z{z:04}.example.")),
            Rtype::NS,
            3600,
            n(&format!("ns.sub.z{z:04}.example.")).as_wire(),
            None,
        );
        b.add(
            &n(&format!("ns.sub.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 2, 1],
            None,
        );
        all.push(Arc::new(b.finish().expect("valid zone")));
    }
    ZoneSet::from_zones(all)
}

/// A query with EDNS (1232 bytes), like dnsperf -e sends.
fn query(name: &str, qtype: Rtype) -> Vec<u8> {
    let spec = QuerySpec {
        id: 0x1234,
        recursion_desired: false,
        edns_udp_size: Some(1232),
    };
    query_message(spec, &n(name), qtype)
}

fn bench(c: &mut Criterion) {
    let zones = zones();
    let config = Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
    };
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
            b.iter(|| {
                respond(
                    black_box(&zones),
                    &config,
                    black_box(q),
                    Transport::Udp,
                    &mut out,
                )
            })
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
    let config = Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
    };
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
                black_box(respond(&zones, &config, q, Transport::Udp, o));
            }
        })
    });
    group.bench_function("peeked", |b| {
        b.iter(|| {
            let batch = &queries[next..next + BATCH];
            next = (next + BATCH) % queries.len();
            Peek::prepare(&mut peeks, &zones, batch.iter().map(|q| &q[..]));
            for ((peek, q), o) in peeks.iter().zip(batch).zip(out.iter_mut()) {
                black_box(peek.respond(&zones, &config, q, Transport::Udp, o));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench, bench_batch);
criterion_main!(benches);
