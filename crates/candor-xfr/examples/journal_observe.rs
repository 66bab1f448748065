//! What the transfer journal pays to observe a new version of a large
//! zone: `Journal::observe_at` after a one-record patch of a zone of a
//! million records with `ALIASES` ALIAS records, the work between a
//! change being served and its NOTIFY going out (the step for IXFR, and
//! what the ALIAS and POOL records stand for in it).
//!
//! Run with `cargo run --release -p candor-xfr --example journal_observe`
//! (optionally `-- RECORDS ALIASES ROUNDS`).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_answer::AliasTable;
use candor_wire::{Name, Rtype};
use candor_xfr::{Journal, Limits};
use candor_zone::{ALIAS, NodeChange, Zone, ZoneBuilder, ZoneSet};

mod common;
use common::{soa, wire};

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>().ok());
    let records = args.next().flatten().unwrap_or(1_000_000);
    let aliases = args.next().flatten().unwrap_or(1_000);
    let rounds = args.next().flatten().unwrap_or(50);
    let apex = Name::from_text("large.example.", None).expect("apex");
    let mut b = ZoneBuilder::new(&apex);
    b.add(&apex, Rtype::SOA, 3600, &soa(1), None);
    b.add(&apex, Rtype::NS, 3600, &wire("ns1.large.example."), None);
    for i in 0..records.saturating_sub(aliases) {
        let owner = Name::from_text(&format!("host{i}.large.example."), None).expect("name");
        b.add(&owner, Rtype::A, 3600, &i.to_be_bytes(), None);
    }
    for i in 0..aliases {
        let owner = Name::from_text(&format!("alias{i}.large.example."), None).expect("name");
        let target = wire(&format!("host{}.large.example.", i * 7));
        b.add(&owner, ALIAS, 3600, &target, None);
    }
    let t = Instant::now();
    let mut zone = Arc::new(b.finish().expect("zone"));
    let _ = writeln!(
        std::io::stderr().lock(),
        "compiled {records} records in {:?}",
        t.elapsed()
    );
    let table = AliasTable::new([]);
    let mut journal = Journal::new(Limits::DEFAULT);
    let set = |z: &Arc<Zone>| Arc::new(ZoneSet::from_zones(vec![z.clone()]));
    let t = Instant::now();
    journal.observe_at(&set(&zone), &table, Instant::now());
    let _ = writeln!(
        std::io::stderr().lock(),
        "first observation (the whole zone): {:?}",
        t.elapsed()
    );
    let mut times: Vec<Duration> = Vec::new();
    for round in 0..rounds {
        let host = wire(&format!("host{}.large.example.", round * 13 + 1));
        let change = [
            NodeChange {
                owner: wire("large.example.").into(),
                records: vec![
                    (Rtype::SOA, 3600, soa(round + 2)),
                    (Rtype::NS, 3600, wire("ns1.large.example.").into()),
                ],
            },
            NodeChange {
                owner: host.into(),
                records: vec![(Rtype::A, 3600, (round + 7_000_000).to_be_bytes().into())],
            },
        ];
        zone = Arc::new(zone.patch(&change).expect("patch"));
        let s = set(&zone);
        let t = Instant::now();
        let changed = journal.observe_at(&s, &table, Instant::now());
        times.push(t.elapsed());
        assert_eq!(changed.len(), 1, "one zone changed");
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let line = format!(
        "observe after a one-record patch, {records} records, {aliases} ALIAS, {rounds} rounds: \
         p50 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
