//! What following the served zones' ALIAS targets costs the resolver's
//! background task (`served::ServedTargets`), in a zone of a million
//! records with 100,000 ALIAS records (half to names outside it): the
//! first read (a walk of the zone, as at start-up or after an AXFR), then
//! a version patched by 100 changes (30 ALIAS records pointed elsewhere),
//! `ROUNDS` in a row, each read from the one before.
//!
//! Run with `cargo run --release -p candor-alias --example served_targets`
//! (optionally `-- RECORDS ROUNDS`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_alias::served::ServedTargets;
use candor_wire::{Name, Rtype};
use candor_zone::{ALIAS, OwnedRecord, Zone, ZoneBuilder, ZoneDiff, ZoneSet};

/// ALIAS names.
const ALIASES: u32 = 100_000;

/// The wire form of a name (the names here are all valid).
fn wire(text: &str) -> Vec<u8> {
    Name::from_text(text, None)
        .map(|n| n.as_wire().to_vec())
        .unwrap_or_default()
}

/// The SOA record with `serial`.
fn soa(serial: u32) -> OwnedRecord {
    let mut v = wire("ns1.large.example.");
    v.extend_from_slice(&wire("hostmaster.large.example."));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    rec("large.example.", Rtype::SOA, &v)
}

/// A record.
fn rec(owner: &str, rtype: Rtype, rdata: &[u8]) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner).into(),
        rtype,
        ttl: 3600,
        rdata: rdata.into(),
    }
}

/// ALIAS `i` to target `t` (even: a host in the zone; odd: outside).
fn alias(i: u32, t: u32) -> OwnedRecord {
    let target = match t % 2 {
        0 => format!("host{t}.large.example."),
        _ => format!("cdn{t}.out.test."),
    };
    rec(&format!("alias{i}.large.example."), ALIAS, &wire(&target))
}

/// The zone: SOA, NS, the ALIAS records and hosts for the rest.
fn build(records: u32) -> Result<Zone, String> {
    let apex = Name::from_text("large.example.", None).map_err(|e| e.to_string())?;
    let mut b = ZoneBuilder::new(&apex);
    let mut add = |r: OwnedRecord| {
        if let Ok(owner) = Name::from_wire(&r.owner) {
            b.add(&owner, r.rtype, r.ttl, &r.rdata, None);
        }
    };
    add(soa(1));
    add(rec(
        "large.example.",
        Rtype::NS,
        &wire("ns1.large.example."),
    ));
    add(rec("ns1.large.example.", Rtype::A, &[192, 0, 2, 1]));
    for i in 0..ALIASES {
        add(alias(i, i));
    }
    for i in 0..records.saturating_sub(3 + ALIASES) {
        add(rec(
            &format!("host{i}.large.example."),
            Rtype::A,
            &i.to_be_bytes(),
        ));
    }
    b.finish().map_err(|e| format!("{e:?}"))
}

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

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let records: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(35);
    let mut zone = Arc::new(build(records)?);
    let mut served = ServedTargets::default();
    let set = ZoneSet::from_zones([Arc::clone(&zone)]);
    let t = Instant::now();
    served.update(&set);
    let walk = t.elapsed();
    let t = Instant::now();
    let outside = served.outside().len();
    let listed = t.elapsed();
    say(format!(
        "zone: {} records, {ALIASES} ALIAS; first read (walk) {:.1} ms; {outside} targets outside, listed in {:.1} ms",
        zone.record_count(),
        walk.as_secs_f64() * 1e3,
        listed.as_secs_f64() * 1e3
    ));
    let mut targets: Vec<u32> = (0..ALIASES).collect();
    let mut x: u32 = 12345;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let serial = zone.serial();
        let mut diff = ZoneDiff {
            old_soa: soa(serial),
            new_soa: soa(serial + 1),
            removed: Vec::new(),
            added: Vec::new(),
        };
        let mut touched = Vec::new();
        for k in 0..100u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let i = x % ALIASES;
            if k >= 30 || touched.contains(&i) {
                continue;
            }
            touched.push(i);
            diff.removed.push(alias(i, targets[i as usize]));
            targets[i as usize] = x % 1_000;
            diff.added.push(alias(i, targets[i as usize]));
        }
        zone = Arc::new(zone.apply_diff(&diff).map_err(|e| e.to_string())?);
        let set = ZoneSet::from_zones([Arc::clone(&zone)]);
        let t = Instant::now();
        // As the resolver does: the change to the outside set, and the
        // targets inside that moved.
        let _ = served.update(&set);
        times.push(t.elapsed());
    }
    times.sort();
    say(format!(
        "a patched version (30 ALIAS retargeted), {rounds} in a row (overlay up to {} names), read (the delta): p50 {:.3} ms, p99 {:.3} ms",
        zone.overlay_names(),
        ms(&times, 0.5),
        ms(&times, 0.99)
    ));
    Ok(())
}
