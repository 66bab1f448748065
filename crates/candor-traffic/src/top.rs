//! The shared, bounded top-N of zones by traffic.
//!
//! Workers fold their closed windows in ([`Aggregator::fold`], every
//! [`WINDOW`](crate::worker::WINDOW) per worker, never per packet); once a
//! second the binary closes the interval ([`Aggregator::tick`]) and
//! publishes a [`TopSnapshot`]. Memory is bounded whatever the number of
//! zones: the aggregator tracks at most [`CAPACITY`] zones, and when full
//! it forgets the least busy half at once, remembering the most queries a
//! forgotten zone had (`floor`). This is the space-saving scheme with
//! batched evictions (counts start from zero instead of from the floor, so
//! they are never overestimated): a zone is missing from the top only if
//! it had at most `floor` queries when forgotten, and a zone that came
//! back after being forgotten is reported with at most `floor` too few.

use std::collections::HashMap;

use candor_zone::{ZoneId, ZoneSet};

use crate::worker::{Counts, WindowReport};

/// Most zones tracked at once.
pub const CAPACITY: usize = 4096;

/// Most zones a snapshot lists.
pub const TOP: usize = 100;

/// Counts over an interval (sums of worker [`Counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Queries that arrived.
    pub queries: u64,
    /// NXDOMAIN answers.
    pub nxdomain: u64,
    /// Rate limiter slips and drops.
    pub rrl: u64,
    /// Queries shed under overload.
    pub shed: u64,
}

impl Totals {
    /// Adds a worker's counts.
    fn add(&mut self, c: &Counts) {
        self.queries += u64::from(c.queries);
        self.nxdomain += u64::from(c.nxdomain);
        self.rrl += u64::from(c.rrl);
        self.shed += u64::from(c.shed);
    }

    /// Adds other totals.
    fn merge(&mut self, t: &Totals) {
        self.queries += t.queries;
        self.nxdomain += t.nxdomain;
        self.rrl += t.rrl;
        self.shed += t.shed;
    }
}

/// One zone in a [`TopSnapshot`].
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneTraffic {
    /// The zone's apex, in presentation form (`example.com.`), or empty if
    /// it was no longer served when it was first counted.
    pub zone: String,
    /// Its stable id.
    pub id: ZoneId,
    /// What it got over the interval.
    pub totals: Totals,
    /// Queries per second.
    pub qps: f64,
    /// The share of its answers that were NXDOMAIN (0 to 1).
    pub nxdomain_ratio: f64,
    /// Rate limiter actions per second.
    pub rrl_per_second: f64,
    /// Queries shed per second.
    pub shed_per_second: f64,
}

/// The top zones of one interval, as published once a second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopSnapshot {
    /// When the interval ended (seconds since the Unix epoch; 0: never).
    pub at: u64,
    /// The interval's length in seconds.
    pub seconds: f64,
    /// Every query of the interval, whatever its zone.
    pub total: Totals,
    /// Queries in no served zone.
    pub no_zone: Totals,
    /// Zones tracked in the interval (at most [`CAPACITY`]).
    pub tracked: usize,
    /// The most queries a zone missing from `zones` may have had.
    pub floor: u64,
    /// Worker capacity estimates summed (answers per second), if measured.
    pub capacity: Option<u64>,
    /// Zones limited by shedding at the interval's end, over all workers.
    pub limited: u32,
    /// The busiest zones by queries, at most [`TOP`].
    pub zones: Vec<ZoneTraffic>,
}

/// What a [`TopSnapshot`] can be ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Queries per second.
    Queries,
    /// NXDOMAIN ratio (then queries).
    NxDomain,
    /// Rate limiter actions.
    Rrl,
    /// Queries shed.
    Shed,
}

impl TopSnapshot {
    /// At most `n` zones, busiest first by `order`.
    pub fn top(&self, order: Order, n: usize) -> Vec<&ZoneTraffic> {
        let mut zones: Vec<&ZoneTraffic> = self.zones.iter().collect();
        let key = |z: &ZoneTraffic| match order {
            Order::Queries => (z.totals.queries, 0),
            Order::NxDomain => ((z.nxdomain_ratio * 1e6) as u64, z.totals.queries),
            Order::Rrl => (z.totals.rrl, z.totals.queries),
            Order::Shed => (z.totals.shed, z.totals.queries),
        };
        zones.sort_by(|a, b| key(b).cmp(&key(a)).then_with(|| a.zone.cmp(&b.zone)));
        zones.truncate(n);
        zones
    }
}

/// One tracked zone.
#[derive(Clone, Debug)]
struct Entry {
    /// Presentation name (empty when unknown).
    name: String,
    /// Counts this interval.
    totals: Totals,
}

/// Folds workers' windows into per-zone totals, bounded.
#[derive(Debug, Default)]
pub struct Aggregator {
    /// Zones tracked this interval.
    zones: HashMap<ZoneId, Entry>,
    /// The most queries an evicted zone had this interval.
    floor: u64,
    /// Every query this interval.
    total: Totals,
    /// Queries in no zone this interval.
    no_zone: Totals,
    /// Latest capacity estimate per worker (by the worker's index).
    capacity: HashMap<usize, u64>,
    /// Latest count of limited zones per worker.
    limited: HashMap<usize, u32>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Aggregator {
        Aggregator::default()
    }

    /// Adds worker `worker`'s closed window; `zones` is the worker's zone
    /// set, which names zones seen for the first time this interval.
    pub fn fold(&mut self, worker: usize, report: &WindowReport, zones: &ZoneSet) {
        self.total.add(&report.other);
        self.total.add(&report.no_zone);
        self.no_zone.add(&report.no_zone);
        if let Some(c) = report.capacity {
            self.capacity.insert(worker, c);
        }
        self.limited.insert(worker, report.limited);
        for z in &report.zones {
            self.total.add(&z.counts);
            if let Some(e) = self.zones.get_mut(&z.id) {
                e.totals.add(&z.counts);
                continue;
            }
            if self.zones.len() >= CAPACITY {
                self.evict();
            }
            let mut totals = Totals::default();
            totals.add(&z.counts);
            self.zones.insert(
                z.id,
                Entry {
                    name: name_of(zones, z.id, z.pos as usize),
                    totals,
                },
            );
        }
    }

    /// Forgets the least busy half of the tracked zones.
    fn evict(&mut self) {
        let mut counts: Vec<u64> = self.zones.values().map(|e| e.totals.queries).collect();
        let mid = counts.len() / 2;
        let (_, median, _) = counts.select_nth_unstable(mid);
        let median = *median;
        let mut dropped = 0;
        self.zones.retain(|_, e| {
            let keep = e.totals.queries > median || dropped >= mid;
            if !keep {
                dropped += 1;
            }
            keep
        });
        self.floor = self.floor.max(median);
    }

    /// Closes the interval of `seconds` seconds ending at `at` (seconds
    /// since the Unix epoch): the snapshot of its top zones; the next
    /// interval starts empty.
    pub fn tick(&mut self, at: u64, seconds: f64) -> TopSnapshot {
        let per = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let mut zones: Vec<ZoneTraffic> = self
            .zones
            .drain()
            .map(|(id, e)| ZoneTraffic {
                qps: per(e.totals.queries),
                nxdomain_ratio: if e.totals.queries > e.totals.shed {
                    e.totals.nxdomain as f64 / (e.totals.queries - e.totals.shed) as f64
                } else {
                    0.0
                },
                rrl_per_second: per(e.totals.rrl),
                shed_per_second: per(e.totals.shed),
                zone: e.name,
                id,
                totals: e.totals,
            })
            .collect();
        let tracked = zones.len();
        zones.sort_by(|a, b| {
            b.totals
                .queries
                .cmp(&a.totals.queries)
                .then_with(|| a.zone.cmp(&b.zone))
        });
        zones.truncate(TOP);
        let snapshot = TopSnapshot {
            at,
            seconds,
            total: self.total,
            no_zone: self.no_zone,
            tracked,
            floor: self.floor,
            capacity: (!self.capacity.is_empty()).then(|| self.capacity.values().sum()),
            limited: self.limited.values().sum(),
            zones,
        };
        self.floor = 0;
        self.total = Totals::default();
        self.no_zone = Totals::default();
        snapshot
    }
}

/// The presentation name of the zone with `id`, found at `pos` in `zones`
/// if the set did not change since, else by a scan (rare: a zone removed
/// in between). Empty if it is no longer served.
fn name_of(zones: &ZoneSet, id: ZoneId, pos: usize) -> String {
    let at = |i: usize| zones.zones().get(i).map(|z| z.apex().to_string());
    if zones.id(pos) == Some(id) {
        return at(pos).unwrap_or_default();
    }
    (0..zones.len())
        .find(|&i| zones.id(i) == Some(id))
        .and_then(at)
        .unwrap_or_default()
}

impl Totals {
    /// Sums totals (for callers adding snapshots up).
    pub fn plus(mut self, other: &Totals) -> Totals {
        self.merge(other);
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use candor_wire::Name;
    use candor_zone::{ZoneId, ZoneSet, load_zone_text};

    use super::{Aggregator, CAPACITY, Order};
    use crate::worker::{Counts, WindowReport, ZoneCounts};

    /// A set of zones `z0.test.` … named by number.
    fn zones(n: usize) -> ZoneSet {
        ZoneSet::from_zones((0..n).map(|i| {
            let origin = Name::from_text(&format!("z{i}.test."), None).expect("a name");
            let text = "@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns\n";
            let zone = load_zone_text(text.as_bytes(), std::path::Path::new("t"), &origin);
            Arc::new(zone.expect("compiles"))
        }))
    }

    /// A window in which zone `i` of `set` got `queries`, half NXDOMAIN.
    fn window(set: &ZoneSet, counts: &[(usize, u32)]) -> WindowReport {
        WindowReport {
            zones: counts
                .iter()
                .map(|&(i, q)| ZoneCounts {
                    id: set.id(i).expect("served"),
                    pos: i as u32,
                    counts: Counts {
                        queries: q,
                        nxdomain: q / 2,
                        rrl: 0,
                        shed: 0,
                    },
                })
                .collect(),
            ..WindowReport::default()
        }
    }

    /// Windows of two workers add up per zone, named, ordered.
    #[test]
    fn workers_windows_add_up_per_zone() {
        let set = zones(3);
        let mut agg = Aggregator::new();
        agg.fold(0, &window(&set, &[(0, 10), (1, 100)]), &set);
        agg.fold(1, &window(&set, &[(1, 100), (2, 4)]), &set);
        let snap = agg.tick(1_000, 2.0);
        assert_eq!(snap.total.queries, 214);
        let top = snap.top(Order::Queries, 2);
        assert_eq!(top[0].zone, "z1.test.");
        assert_eq!(top[0].qps, 100.0);
        assert_eq!(top[0].nxdomain_ratio, 0.5);
        assert_eq!(top[1].zone, "z0.test.");
        // The next interval starts empty.
        assert_eq!(agg.tick(1_001, 1.0).total.queries, 0);
    }

    /// A zone removed from the set (positions shift) is still named.
    #[test]
    fn a_zone_is_named_after_positions_shift() {
        let set = zones(3);
        let report = window(&set, &[(2, 5)]);
        let smaller = set.without(b"\x02z0\x04test\x00");
        let mut agg = Aggregator::new();
        agg.fold(0, &report, &smaller);
        assert_eq!(agg.tick(1, 1.0).zones[0].zone, "z2.test.");
    }

    /// A quarter of a million zones of one query each cost at most
    /// `CAPACITY` entries, and a heavy zone among them is still on top
    /// with its exact count.
    #[test]
    fn many_zones_cost_bounded_memory() {
        let mut agg = Aggregator::new();
        let set = ZoneSet::new();
        let heavy = ZoneId(0xdead_beef);
        for chunk in 0..250u64 {
            let mut report = WindowReport::default();
            for i in 0..1000u64 {
                report.zones.push(ZoneCounts {
                    id: ZoneId((chunk * 1000 + i) * 2 + 1),
                    pos: 0,
                    counts: Counts {
                        queries: 1,
                        ..Counts::default()
                    },
                });
            }
            report.zones.push(ZoneCounts {
                id: heavy,
                pos: 0,
                counts: Counts {
                    queries: 50,
                    ..Counts::default()
                },
            });
            agg.fold(0, &report, &set);
            assert!(agg.zones.len() <= CAPACITY);
        }
        let snap = agg.tick(1, 1.0);
        assert_eq!(snap.zones[0].id, heavy);
        assert_eq!(snap.zones[0].totals.queries, 12_500);
        assert!(snap.floor <= 1, "{}", snap.floor);
        assert_eq!(snap.total.queries, 262_500);
    }
}
