//! Per-zone traffic: who is being flooded, fair shedding under overload,
//! and attacks told to their owners. Sans I/O.
//!
//! - [`worker::WorkerTraffic`]: each UDP worker's own counters of queries,
//!   NXDOMAIN answers, rate limiter actions and shed queries per zone (one
//!   probe of a small table per packet, no atomics), and its fair-share
//!   shedding: under overload the zones asking for more than their fair
//!   share lose their excess before it is answered.
//! - [`top::Aggregator`]: the workers' windows folded into a bounded
//!   top-N (at most [`top::CAPACITY`] zones tracked whatever the number
//!   served), closed once a second into a [`TopSnapshot`].
//! - [`attack::Detector`]: which zones are under attack, of what kind,
//!   and the notice their owners get.
//!
//! [`Traffic`] is the shared handle: workers fold into it, the binary
//! ticks it once a second, and readers (the operator API, `candor top`,
//! metrics) take [`Traffic::latest`]. The caller passes every time; nothing
//! here reads a clock, starts a thread or does I/O.

#![forbid(unsafe_code)]

pub mod attack;
pub mod filter;
pub mod top;
pub mod worker;

use std::sync::{Arc, Mutex, MutexGuard};

use candor_zone::ZoneSet;

pub use attack::{Attack, AttackEvent, AttackKind, Detector, Thresholds};
pub use top::{Order, TopSnapshot, Totals, ZoneTraffic};
pub use worker::{WindowReport, WorkerTraffic};

/// The traffic of every worker, shared: folded into by the workers,
/// closed once a second, read by whoever reports it.
#[derive(Debug, Default)]
pub struct Traffic {
    /// The interval being counted.
    aggregator: Mutex<Aggregator>,
    /// The last closed interval.
    latest: Mutex<Arc<TopSnapshot>>,
    /// The attacks in progress, as the detector last said.
    attacks: Mutex<Arc<Vec<Attack>>>,
    /// The zones whose responses the rate limiter tightens (those under
    /// attack, unless turned off), read by every worker each window.
    tightened: Mutex<Arc<Vec<candor_zone::ZoneId>>>,
}

use top::Aggregator;

/// Locks `m`, taking the data even if a holder panicked (counters stay
/// usable; nothing here leaves them half-updated in a way that matters).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Traffic {
    /// Empty counters.
    pub fn new() -> Traffic {
        Traffic::default()
    }

    /// Adds worker `worker`'s closed window (see [`Aggregator::fold`]).
    pub fn fold(&self, worker: usize, report: &WindowReport, zones: &ZoneSet) {
        lock(&self.aggregator).fold(worker, report, zones);
    }

    /// Closes the interval (`seconds` long, ending at `at`, seconds since
    /// the Unix epoch) and publishes its snapshot.
    pub fn tick(&self, at: u64, seconds: f64) -> Arc<TopSnapshot> {
        let snapshot = Arc::new(lock(&self.aggregator).tick(at, seconds));
        *lock(&self.latest) = snapshot.clone();
        snapshot
    }

    /// The last published snapshot (empty before the first tick).
    pub fn latest(&self) -> Arc<TopSnapshot> {
        lock(&self.latest).clone()
    }

    /// Publishes the attacks in progress (the caller runs the
    /// [`Detector`] on each snapshot).
    pub fn set_attacks(&self, attacks: Vec<Attack>) {
        *lock(&self.attacks) = Arc::new(attacks);
    }

    /// The attacks in progress, zone by zone.
    pub fn attacks(&self) -> Arc<Vec<Attack>> {
        lock(&self.attacks).clone()
    }

    /// Sets the zones whose responses are rate limited more tightly
    /// ([`WorkerTraffic::set_tightened`] takes them within a window).
    pub fn set_tightened(&self, zones: Vec<candor_zone::ZoneId>) {
        *lock(&self.tightened) = Arc::new(zones);
    }

    /// The zones whose responses are rate limited more tightly.
    pub fn tightened(&self) -> Arc<Vec<candor_zone::ZoneId>> {
        lock(&self.tightened).clone()
    }
}
