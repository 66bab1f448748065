//! What one pass of the ALIAS task's run loop costs after one change, with
//! many zones: 10,000 zones holding 50,000 ALIAS records (half to hosts in
//! other served zones, half to names outside), one host's address changed
//! and one ALIAS pointed at a new name outside, through a patched version
//! of their zone.
//!
//! - after: `ServedTargets::update` (the `Delta`: outside targets added or
//!   removed, targets inside that moved, the zones to bump), what the run
//!   loop does per new served set since issue 10;
//! - before (as the run loop did until then): the same read, then the
//!   whole outside list again (every target asked of the served set,
//!   sorted) compared with the previous one, and, since the store's zones
//!   changed, `Store::alias_targets` (every ALIAS record of the store,
//!   each target looked up in the stored zones), measured on a store
//!   holding the 50,000 ALIAS records in one zone.
//!
//! Times are the thread's CPU time (the machine is shared).
//!
//! Run with `cargo run --release -p candor-alias --example run_pass`
//! (optionally `-- ZONES ROUNDS`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_alias::served::ServedTargets;
use candor_wire::{Name, Rtype};
use candor_zone::{ALIAS, OwnedRecord, Zone, ZoneBuilder, ZoneDiff, ZoneSet};

/// ALIAS records per zone.
const PER_ZONE: u32 = 5;

/// The wire form of a name (the names here are all valid).
fn wire(text: &str) -> Vec<u8> {
    Name::from_text(text, None)
        .map(|n| n.as_wire().to_vec())
        .unwrap_or_default()
}

/// A record.
fn rec(owner: &str, rtype: Rtype, rdata: &[u8]) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner).into(),
        rtype,
        ttl: 300,
        rdata: rdata.into(),
    }
}

/// The SOA of zone `apex` with `serial`.
fn soa(apex: &str, serial: u32) -> OwnedRecord {
    let mut v = wire(&format!("ns1.{apex}"));
    v.extend_from_slice(&wire(&format!("hostmaster.{apex}")));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    rec(apex, Rtype::SOA, &v)
}

/// The target of ALIAS `k` of zone `i` of `zones`: even, a host of another
/// zone; odd, a name outside.
fn target(i: u32, k: u32, zones: u32) -> String {
    let j = i * PER_ZONE + k;
    match k % 2 {
        0 => format!("host{k}.z{}.test.", (i + 1 + j) % zones),
        _ => format!("cdn{j}.out.example."),
    }
}

/// Zone `i`: SOA, NS, hosts host0..host4 and the ALIAS records.
fn build(i: u32, zones: u32) -> Result<Zone, String> {
    let apex_text = format!("z{i}.test.");
    let apex = Name::from_text(&apex_text, None).map_err(|e| e.to_string())?;
    let mut b = ZoneBuilder::new(&apex);
    let mut records = vec![
        soa(&apex_text, 1),
        rec(&apex_text, Rtype::NS, &wire(&format!("ns1.{apex_text}"))),
        rec(&format!("ns1.{apex_text}"), Rtype::A, &[192, 0, 2, 1]),
    ];
    for k in 0..PER_ZONE {
        records.push(rec(
            &format!("host{k}.{apex_text}"),
            Rtype::A,
            &[192, 0, 2, k as u8],
        ));
        records.push(rec(
            &format!("www{k}.{apex_text}"),
            ALIAS,
            &wire(&target(i, k, zones)),
        ));
    }
    for r in records {
        if let Ok(owner) = Name::from_wire(&r.owner) {
            b.add(&owner, r.rtype, r.ttl, &r.rdata, None);
        }
    }
    b.finish().map_err(|e| format!("{e:?}"))
}

/// Prints one line of results.
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// This thread's CPU time so far (Linux: the first field of
/// `/proc/thread-self/schedstat`, nanoseconds on a CPU), so the figures
/// hold on a shared machine; wall-clock time where it cannot be read.
fn cpu() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| START.get_or_init(Instant::now).elapsed())
}

/// The `q`-quantile of sorted durations, in milliseconds.
fn ms(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// The old run loop's listing: every outside target asked of the served
/// set again, sorted.
fn relist(served: &ServedTargets, set: &ZoneSet) -> Vec<String> {
    let mut out: Vec<String> = served
        .outside()
        .into_iter()
        .filter(|t| {
            Name::from_text(&format!("{t}."), None)
                .is_ok_and(|n| set.find(n.to_lowercase().as_wire()).is_none())
        })
        .collect();
    out.sort_unstable();
    out
}

/// The store's ALIAS targets read whole, as the run loop did after every
/// store change: one zone holding `aliases` ALIAS records (half to names
/// of a second stored zone); the time of one `Store::alias_targets`.
fn store_pass(aliases: u32) -> Result<Duration, Box<dyn std::error::Error>> {
    let config = candor_store::StoreConfig {
        nameservers: vec![Name::from_text("ns1.candor.test.", None)?],
        hostmaster: Name::from_text("admin.candor.test.", None)?,
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    };
    let dir = std::env::temp_dir().join(format!("candor-run-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = candor_store::Store::open(&dir.join("candor.db"), config)?;
    let actor = candor_store::Actor {
        token_id: None,
        via: "cli",
        remote: None,
    };
    let account = store.create_account("bench@example.org")?;
    let mut hosts = String::new();
    for k in 0..1000 {
        hosts.push_str(&format!("host{k} 300 IN A 192.0.2.1\n"));
    }
    let mut text = String::new();
    for j in 0..aliases {
        let target = match j % 2 {
            0 => format!("host{}.in.test.", j % 1000),
            _ => format!("cdn{j}.out.example."),
        };
        let name = Name::from_text(&target, None)?;
        let hex: String = name.as_wire().iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!(
            "www{j} 300 IN TYPE65304 \\# {} {hex}\n",
            name.wire_len()
        ));
    }
    for (zone, body) in [("in.test", &hosts), ("big.test", &text)] {
        store.import_zone_file_creating(
            account.id,
            zone,
            candor_store::ZoneText::Upload(body.as_bytes()),
            &actor,
            &mut |_| {},
        )?;
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = cpu();
        let n = store.alias_targets()?.len();
        times.push(cpu() - t);
        if n == 0 {
            return Err("no ALIAS targets in the store".into());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let zones: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let mut all: Vec<Arc<Zone>> = Vec::with_capacity(zones as usize);
    for i in 0..zones {
        all.push(Arc::new(build(i, zones)?));
    }
    let first_zones = all.clone();
    let mut set = ZoneSet::from_zones(all.iter().cloned());
    let mut served = ServedTargets::default();
    let t = cpu();
    let first = served.update(&set);
    say(format!(
        "{zones} zones, {} ALIAS records: first read {:.1} ms, {} targets outside",
        zones * PER_ZONE,
        (cpu() - t).as_secs_f64() * 1e3,
        first.outside_added.len()
    ));
    // A new set with the same zones: what every pass costs (a lookup of
    // each zone's address).
    let same = ZoneSet::from_zones(all.iter().cloned());
    let t = cpu();
    for _ in 0..100 {
        if !served.update(&same).is_empty() {
            return Err("a set of the same zones changed something".into());
        }
    }
    say(format!(
        "a set of the same {zones} zones: {:.3} ms (mean of 100)",
        (cpu() - t).as_secs_f64() * 1e3 / 100.0
    ));
    // The sets of the rounds, made first (CPU time comes in scheduler
    // ticks, so each series is timed whole).
    let mut sets = Vec::with_capacity(rounds as usize);
    for round in 0..rounds {
        // host0 of zone i changes its address (a target of another zone
        // for every other i).
        let i = (round * 7919) % zones;
        let apex = format!("z{i}.test.");
        let old = Arc::clone(&all[i as usize]);
        let serial = old.serial();
        let owner = format!("host0.{apex}");
        let old_a = old
            .records()
            .find(|r| r.rtype == Rtype::A && r.owner == wire(&owner).as_slice())
            .map(|r| OwnedRecord::from_record(&r))
            .ok_or("no host0")?;
        let mut next = old_a.clone();
        next.rdata = Box::new([198, 51, 100, (round % 250) as u8 + 1]);
        // And its www1 points at a new name outside.
        let owner = format!("www1.{apex}");
        let old_alias = old
            .records()
            .find(|r| r.rtype == ALIAS && r.owner == wire(&owner).as_slice())
            .map(|r| OwnedRecord::from_record(&r))
            .ok_or("no www1")?;
        let new_alias = rec(&owner, ALIAS, &wire(&format!("new{round}.out.example.")));
        let diff = ZoneDiff {
            old_soa: soa(&apex, serial),
            new_soa: soa(&apex, serial + 1),
            removed: vec![old_a, old_alias],
            added: vec![next, new_alias],
        };
        let new = Arc::new(old.apply_diff(&diff)?);
        all[i as usize] = Arc::clone(&new);
        set = set.without(new.apex().as_wire());
        set.insert(new);
        sets.push(set.clone());
    }
    // After: the delta alone.
    let mut bumps = 0;
    let mut wall = Vec::new();
    let t = cpu();
    for set in &sets {
        let w = Instant::now();
        let delta = served.update(set);
        wall.push(w.elapsed());
        bumps += delta.bump.len();
        if delta.outside_added.is_empty() {
            return Err("the change added no target".into());
        }
    }
    let after = (cpu() - t).as_secs_f64() * 1e3 / f64::from(rounds);
    wall.sort();
    // Before: the same read, then the list again and the comparison.
    let mut old = ServedTargets::default();
    old.update(&ZoneSet::from_zones(first_zones));
    let mut listed = relist(&old, &set);
    let t = cpu();
    for set in &sets {
        old.update(set);
        let again = relist(&old, set);
        if again == listed {
            return Err("the outside list did not change".into());
        }
        listed = again;
    }
    let before = (cpu() - t).as_secs_f64() * 1e3 / f64::from(rounds);
    say(format!(
        "one host's address and one ALIAS target changed, {rounds} rounds ({bumps} zones to bump), \
         CPU per pass: after {after:.3} ms (wall p50 {:.3} ms, p99 {:.3} ms); before (the same read, \
         the whole outside list again and compared) {before:.2} ms",
        ms(&wall, 0.5),
        ms(&wall, 0.99)
    ));
    match store_pass(zones * PER_ZONE) {
        Ok(d) => say(format!(
            "before, also per store change: Store::alias_targets over {} ALIAS records: {:.1} ms",
            zones * PER_ZONE,
            d.as_secs_f64() * 1e3
        )),
        Err(e) => say(format!("store pass skipped: {e}")),
    }
    Ok(())
}
