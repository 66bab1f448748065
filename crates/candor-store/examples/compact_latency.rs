//! How long a record write takes to be acknowledged (committed, with the
//! zone it leaves compiled) in a zone of a million records: writes through
//! one store patch the version it compiled last; writes alternating
//! between two stores on the same file (as the API and the CLI would) see
//! each other's serials and compile in full, as every write did before.
//!
//! A third series creates a record at a new name per write, so the
//! zone's overlay grows: every `MAX_OVERLAY_NAMES` names one write would
//! pay a full compile; the store's background `Compactor` (running here as
//! in `candor serve`) compacts the overlay first, off the write path.
//! At the end it prints the process's peak resident memory (VmHWM).
//!
//! Run with `cargo run --release -p candor-store --example compact_latency`
//! (optionally `-- RECORDS WRITES NEW_NAMES`). It writes a temporary
//! database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use candor_store::{
    Actor, COMPACT_OVERLAY_NAMES, Compactor, RecordInput, RecordPatch, Store, StoreConfig, ZoneText,
};
use candor_wire::Name;

/// Prints one line of results.
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The `q`-quantile of sorted durations, in milliseconds.
fn ms(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let writes: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let new_names: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("candor-write-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("candor.db");
    let config = || StoreConfig {
        nameservers: vec![
            Name::from_text("ns1.candor.test.", None).unwrap_or_else(|_| Name::root()),
        ],
        hostmaster: Name::from_text("admin.candor.test.", None).unwrap_or_else(|_| Name::root()),
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    };
    let actor = Actor {
        token_id: None,
        via: "cli",
        remote: None,
    };
    let a = Arc::new(Store::open(&path, config())?);
    let account = a.create_account("bench@example.org")?.id;
    let mut text = String::with_capacity(records as usize * 32);
    for i in 0..records {
        text.push_str(&format!(
            "host{i} 3600 IN A 10.{}.{}.{}\n",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        ));
    }
    let t = Instant::now();
    a.import_zone_file_creating(
        account,
        "large.example",
        ZoneText::Upload(text.as_bytes()),
        &actor,
        &mut |_| {},
    )?;
    say(format!(
        "import of {records} records: {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let www = RecordInput {
        name: "www".to_owned(),
        rtype: "A".to_owned(),
        content: "192.0.2.1".to_owned(),
        ttl: None,
        priority: None,
        regions: None,
    };
    // The first write compiles in full (nothing compiled yet) and is kept.
    let (rec, _) = a.create_record(account, "large.example", &www, &actor)?;
    let b = Store::open(&path, config())?;
    for (what, alternate, n) in [
        ("one store (patched)", false, writes),
        ("two stores (full compile)", true, writes.min(10)),
    ] {
        let mut times = Vec::new();
        for i in 0..n {
            let store = if alternate && i % 2 == 1 { &b } else { &*a };
            let patch = RecordPatch {
                content: Some(format!("192.0.2.{}", i % 250 + 1)),
                ..RecordPatch::default()
            };
            let t = Instant::now();
            let (_, change) =
                store.update_record(account, "large.example", rec.id, &patch, &actor)?;
            times.push(t.elapsed());
            assert!(change.compiled.is_some());
        }
        times.sort();
        say(format!(
            "record update acknowledged, {what}, {n} writes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(&times, 0.5),
            ms(&times, 0.99),
            ms(&times, 1.0)
        ));
    }
    // A new name per write: the overlay grows by one name a write, and the
    // background compaction keeps it small.
    let compactions = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&compactions);
    let compactor = Compactor::spawn(Arc::clone(&a), COMPACT_OVERLAY_NAMES, move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    })?;
    let mut times = Vec::new();
    for i in 0..new_names {
        let input = RecordInput {
            name: format!("new{i}"),
            ..www.clone()
        };
        let t = Instant::now();
        let (_, change) = a.create_record(account, "large.example", &input, &actor)?;
        times.push(t.elapsed());
        assert!(change.compiled.is_some());
    }
    times.sort();
    if !times.is_empty() {
        say(format!(
            "record create at a new name acknowledged, {new_names} writes: p50 {:.2} ms, \
             p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms ({} background compactions)",
            ms(&times, 0.5),
            ms(&times, 0.99),
            ms(&times, 0.999),
            ms(&times, 1.0),
            compactions.load(Ordering::Relaxed)
        ));
    }
    drop(compactor);
    let slowest: Vec<String> = times
        .iter()
        .rev()
        .take(4)
        .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
        .collect();
    say(format!(
        "the four slowest of them, ms: {}",
        slowest.join(", ")
    ));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
        say(format!(
            "peak memory: {}",
            hwm.trim_start_matches("VmHWM:").trim()
        ));
    }
    drop((a, b));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
