//! How long a record write takes to be acknowledged (committed, with the
//! zone it leaves compiled) in a zone of a million records: writes through
//! one store patch the version it compiled last; writes alternating
//! between two stores on the same file (as the API and the CLI would) see
//! each other's serials and patch their older version with the names the
//! change journal says the other changed (they compiled in full before).
//!
//! With `signed` as the third argument the zone gets DNSSEC (an ECDSA
//! P-256 CSK) after the import: writes through one store sign only what
//! they change (`candor_dnssec::sign_change`), and so do the alternating
//! stores (they signed the whole zone on every write before).
//! A third series creates and deletes names, which changes the NSEC chain.
//! With `signed-alias` instead, the signed zone also holds an ALIAS and a
//! POOL of three members, and the writes change the ALIAS's target and a
//! POOL member's (these signed the whole zone until they were signed
//! incrementally too).
//! With NEW_NAMES as the fourth argument, a last series creates a record at
//! a new name per write, so the zone's overlay grows: every
//! `MAX_OVERLAY_NAMES` names one write would pay a full compile; the
//! store's background `Compactor` (running here as in `candor serve`)
//! compacts the overlay first, off the write path. At the end it prints
//! the process's peak resident memory (VmHWM).
//!
//! Run with `cargo run --release -p candor-store --example write_latency`
//! (optionally `-- RECORDS WRITES REGIONAL` or `-- RECORDS WRITES signed`:
//! with REGIONAL, the first REGIONAL records are limited to region `ams`,
//! which every write then carries as REGIONAL records at the apex,
//! docs/regions.md; with `signed`, the zone is signed; `-- RECORDS WRITES 0
//! NEW_NAMES` for the compaction series alone; `-- RECORDS WRITES
//! signed-alias` for writes to the ALIAS and POOL records of a signed zone
//! alone). It writes a temporary database.

use std::time::{Duration, Instant};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    let third = args.next();
    let alias = third.as_deref() == Some("signed-alias");
    let signed = third.as_deref() == Some("signed") || alias;
    let regional: u32 = third.and_then(|a| a.parse().ok()).unwrap_or(0);
    let new_names: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
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
        if i < regional {
            text.push_str(";@regions ams ");
        }
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
        "import of {records} records ({regional} in region ams): {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    if signed {
        let t = Instant::now();
        let algorithm = candor_dnssec::Algorithm::EcdsaP256Sha256;
        let (_, change) = a.enable_dnssec(account, "large.example", algorithm, &actor)?;
        assert!(change.compiled.is_some_and(|z| z.signed().is_some()));
        say(format!(
            "DNSSEC enabled (the whole zone signed): {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    let www = RecordInput {
        name: "www".to_owned(),
        rtype: "A".to_owned(),
        content: "192.0.2.1".to_owned(),
        ttl: None,
        priority: None,
        regions: None,
    };
    if alias {
        return alias_series(&a, account, writes, &actor, &www, &dir);
    }
    // The first write compiles in full (nothing compiled yet) and is kept.
    let (rec, _) = a.create_record(account, "large.example", &www, &actor)?;
    let b = Store::open(&path, config())?;
    // Alternating stores patch from the journal now: as many writes.
    let full_writes = writes;
    for (what, alternate, n) in [
        ("one store (patched)", false, writes),
        (
            "two stores (the other's names from the journal)",
            true,
            full_writes,
        ),
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
    // Names coming and going (in a signed zone: the NSECs around them),
    // after one write that compiles what the other store wrote last.
    a.create_record(
        account,
        "large.example",
        &RecordInput {
            name: "warm".to_owned(),
            ..www.clone()
        },
        &actor,
    )?;
    let mut times = Vec::new();
    for i in 0..writes {
        let name = RecordInput {
            name: format!("new{i}"),
            ..www.clone()
        };
        let t = Instant::now();
        let (rec, _) = a.create_record(account, "large.example", &name, &actor)?;
        times.push(t.elapsed());
        let t = Instant::now();
        a.delete_record(account, "large.example", rec.id, &actor)?;
        times.push(t.elapsed());
    }
    times.sort();
    say(format!(
        "name created or deleted, one store (patched), {} writes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len(),
        ms(&times, 0.5),
        ms(&times, 0.99),
        ms(&times, 1.0)
    ));
    // A new name per write: the overlay grows by one name a write, and the
    // background compaction keeps it small.
    if new_names == 0 {
        drop((a, b));
        std::fs::remove_dir_all(&dir)?;
        return Ok(());
    }
    let compactions = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&compactions);
    let compactor = Compactor::spawn(Arc::clone(&a), COMPACT_OVERLAY_NAMES, move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    })?;
    let mut times = Vec::new();
    for i in 0..new_names {
        let input = RecordInput {
            name: format!("grow{i}"),
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

/// The `signed-alias` series: in the signed zone, an ALIAS and a POOL of
/// three members; `writes` updates of the ALIAS's target, then as many of
/// a POOL member's target, each timed until acknowledged.
fn alias_series(
    a: &Store,
    account: i64,
    writes: u32,
    actor: &Actor,
    www: &RecordInput,
    dir: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let record = |name: &str, rtype: &str, content: &str| RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ..www.clone()
    };
    let t = Instant::now();
    let (alias, _) = a.create_record(
        account,
        "large.example",
        &record("app", "ALIAS", "target0.example.net"),
        actor,
    )?;
    say(format!(
        "first write (nothing compiled yet: the whole zone signed): {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let mut member = None;
    for target in ["p0.example.net", "p1.example.net", "p2.example.net"] {
        let (r, _) = a.create_record(
            account,
            "large.example",
            &record("pool", "POOL", target),
            actor,
        )?;
        member = Some(r.id);
    }
    let member = member.ok_or("no POOL member")?;
    for (what, id, prefix) in [
        ("ALIAS target", alias.id, "target"),
        ("POOL member target", member, "p"),
    ] {
        let mut times = Vec::new();
        for i in 0..writes {
            let patch = RecordPatch {
                content: Some(format!("{prefix}{}.example.net", i + 10)),
                ..RecordPatch::default()
            };
            let t = Instant::now();
            let (_, change) = a.update_record(account, "large.example", id, &patch, actor)?;
            times.push(t.elapsed());
            assert!(change.compiled.is_some_and(|z| z.signed().is_some()));
        }
        times.sort();
        say(format!(
            "{what} updated in the signed zone, {writes} writes: p50 {:.1} ms, p99 {:.1} ms, \
             max {:.1} ms",
            ms(&times, 0.5),
            ms(&times, 0.99),
            ms(&times, 1.0)
        ));
    }
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
