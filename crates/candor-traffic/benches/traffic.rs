//! The per-packet cost of per-zone accounting: [`WorkerTraffic::admit`]
//! for a batch of 32 queries, spread over 1,000 zones (the shared
//! benchmark's `mixed` data set) and over a million (most of them counted
//! as "other" once the table is full; the benchmark's own read of a
//! random id from its 12 MB list is a cache miss too, as the worker's read
//! of `ZoneSet::id` is with a million zones), with and without a limited
//! zone; and one window's close and fold into the shared top-N.
//!
//! Run with `cargo bench -p candor-traffic`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use candor_traffic::top::Aggregator;
use candor_traffic::worker::{WINDOW, WorkerTraffic};
use candor_zone::{ZoneId, ZoneSet};
use criterion::{Criterion, criterion_group, criterion_main};

/// `n` zone ids as a worker would see them (`ZoneId::of` of distinct names).
fn ids(n: u64) -> Vec<(ZoneId, u32)> {
    (0..n)
        .map(|i| {
            let name = format!("\x05z{i:04}\x04test\x00");
            (ZoneId::of(name.as_bytes()), i as u32)
        })
        .collect()
}

/// Admits batches of 32 queries, zone by zone from `zones` in a fixed
/// pseudo-random order; the window never closes.
fn bench_admit(c: &mut Criterion, name: &str, zones: &[(ZoneId, u32)]) {
    let start = Instant::now();
    let mut t = WorkerTraffic::new(start);
    let mut k: u64 = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            for _ in 0..32 {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let zone = zones[(k >> 33) as usize % zones.len()];
                let (slot, ok) = t.admit(Some(black_box(zone)));
                if ok && k & 1 == 0 {
                    t.nxdomain(slot);
                }
            }
        })
    });
}

/// Every benchmark of the group.
fn traffic(c: &mut Criterion) {
    let thousand = ids(1_000);
    bench_admit(c, "admit_batch32_1k_zones", &thousand);
    let million = ids(1_000_000);
    bench_admit(c, "admit_batch32_1m_zones", &million);

    // One window with a limited zone: a worker that measured 1 ms an
    // answer and saw one zone take ten times its capacity.
    let start = Instant::now();
    let mut t = WorkerTraffic::new(start);
    let flood = thousand[0];
    for _ in 0..1_000 {
        if t.admit(Some(flood)).1 {
            t.work(Duration::from_millis(1));
            t.answering(Duration::from_millis(1));
        }
    }
    t.roll(start + WINDOW);
    for _ in 0..1_000 {
        t.admit(Some(flood));
    }
    t.roll(start + WINDOW * 2);
    assert!(t.limited() > 0, "the flooded zone is limited");
    c.bench_function("admit_batch32_limited_zone", |b| {
        b.iter(|| {
            for _ in 0..32 {
                black_box(t.admit(Some(black_box(flood))));
            }
        })
    });

    // Closing a window of 1,000 zones and folding it into the top-N.
    let set = ZoneSet::new();
    let mut agg = Aggregator::new();
    let mut now = start;
    let mut t = WorkerTraffic::new(start);
    c.bench_function("roll_and_fold_1k_zones", |b| {
        b.iter(|| {
            for z in &thousand {
                t.admit(Some(*z));
            }
            now += WINDOW;
            if let Some(report) = t.roll(now) {
                agg.fold(0, report, &set);
            }
        })
    });
}

criterion_group!(benches, traffic);
criterion_main!(benches);
