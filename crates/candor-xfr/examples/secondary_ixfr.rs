//! What a Candor secondary pays to apply an IXFR of 100 changes in a zone
//! of a million records with ALIAS, POOL and REGIONAL records (the Candor
//! view): `client::apply_steps_patched` (the patch) against
//! `client::apply_steps` (the full compile every such IXFR took before),
//! and the `--region ams` view made after each: patched from the view
//! before (`regional_view_after`, what a secondary does) and made from
//! the zone held (`regional_view`, what it did before).
//!
//! The zone: SOA and NS, `RECORDS` records in all: 1,000 REGIONAL records
//! at the apex (A records of `reg*` names, limited to `ams`), 1,000 POOLs
//! of two members, 100,000 ALIAS records (half to names in the zone, half
//! outside) and A records at `host*` for the rest. Each IXFR: 40 A
//! records changed, 30 ALIAS records pointed elsewhere, 10 new ALIAS
//! names, 10 POOL members replaced and 10 REGIONAL records replaced, and
//! the SOA. `ROUNDS` IXFRs in a row, each applied to the last result (the
//! overlay grows as between compactions).
//!
//! Run with `cargo run --release -p candor-xfr --example secondary_ixfr`
//! (optionally `-- RECORDS ROUNDS`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_wire::{Name, Rtype};
use candor_xfr::client::{Step, apply_steps, apply_steps_patched};
use candor_xfr::regional::{regional_view, regional_view_after};
use candor_zone::{ALIAS, OwnedRecord, POOL, REGIONAL, Zone, ZoneBuilder};

mod common;
use common::{soa, wire};

/// REGIONAL records at the apex.
const REGIONALS: u32 = 1_000;
/// POOL names (two members each).
const POOLS: u32 = 1_000;
/// ALIAS names.
const ALIASES: u32 = 100_000;

/// A record.
fn rec(owner: &str, rtype: Rtype, rdata: &[u8]) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner).into(),
        rtype,
        ttl: 3600,
        rdata: rdata.into(),
    }
}

/// The A record of host `i`.
fn host(i: u32, value: u32) -> OwnedRecord {
    rec(
        &format!("host{i}.large.example."),
        Rtype::A,
        &value.to_be_bytes(),
    )
}

/// ALIAS `i`'s record to target `t` (even: a host in the zone; odd: a
/// name outside).
fn alias(i: u32, t: u32) -> OwnedRecord {
    let target = match t % 2 {
        0 => format!("host{t}.large.example."),
        _ => format!("cdn{t}.out.test."),
    };
    rec(&format!("alias{i}.large.example."), ALIAS, &wire(&target))
}

/// Member `m` of POOL `i`.
fn pool(i: u32, m: u32) -> OwnedRecord {
    rec(
        &format!("pool{i}.large.example."),
        POOL,
        &wire(&format!("m{m}.cdn.test.")),
    )
}

/// The REGIONAL record of `reg{i}` at `value` (ams only), at the apex.
fn regional(i: u32, value: u32) -> OwnedRecord {
    let mut rdata = Vec::new();
    candor_zone::regional::encode(
        &wire(&format!("reg{i}.large.example.")),
        Rtype::A,
        300,
        &["ams"],
        &value.to_be_bytes(),
        &mut rdata,
    );
    rec("large.example.", REGIONAL, &rdata)
}

/// The zone at serial 1 (see the module docs).
fn build(records: u32) -> Result<Zone, String> {
    let apex = Name::from_text("large.example.", None).map_err(|e| e.to_string())?;
    let mut b = ZoneBuilder::new(&apex);
    let mut add = |r: OwnedRecord| {
        if let Ok(owner) = Name::from_wire(&r.owner) {
            b.add(&owner, r.rtype, r.ttl, &r.rdata, None);
        }
    };
    add(rec("large.example.", Rtype::SOA, &soa(1)));
    add(rec(
        "large.example.",
        Rtype::NS,
        &wire("ns1.large.example."),
    ));
    add(rec("ns1.large.example.", Rtype::A, &[192, 0, 2, 1]));
    for i in 0..REGIONALS {
        add(regional(i, i));
    }
    for i in 0..POOLS {
        add(pool(i, 2 * i));
        add(pool(i, 2 * i + 1));
    }
    for i in 0..ALIASES {
        add(alias(i, i));
    }
    let hosts = records.saturating_sub(3 + REGIONALS + 2 * POOLS + ALIASES);
    for i in 0..hosts {
        add(host(i, i));
    }
    b.finish().map_err(|e| format!("{e:?}"))
}

/// What the zone holds now, as the IXFR generator tracks it.
struct Now {
    /// Hosts' values.
    hosts: Vec<u32>,
    /// ALIAS targets (ALIASES, then the new names).
    aliases: Vec<u32>,
    /// POOL members (two per POOL).
    pools: Vec<[u32; 2]>,
    /// REGIONAL values.
    regionals: Vec<u32>,
}

/// A small deterministic random source (xorshift64*).
fn next(x: &mut u64) -> u32 {
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
}

/// One IXFR step of 100 changes from `serial` (see the module docs).
fn step(now: &mut Now, serial: u32, x: &mut u64) -> Step {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let hosts = now.hosts.len() as u32;
    let mut touched = Vec::new();
    for _ in 0..40 {
        let i = next(x) % hosts;
        if touched.contains(&i) {
            continue;
        }
        touched.push(i);
        let value = next(x);
        removed.push(host(i, now.hosts[i as usize]));
        added.push(host(i, value));
        now.hosts[i as usize] = value;
    }
    let mut touched = Vec::new();
    for _ in 0..30 {
        let i = next(x) % ALIASES;
        if touched.contains(&i) {
            continue;
        }
        touched.push(i);
        let t = next(x) % hosts;
        removed.push(alias(i, now.aliases[i as usize]));
        added.push(alias(i, t));
        now.aliases[i as usize] = t;
    }
    for _ in 0..10 {
        let i = now.aliases.len() as u32;
        let t = next(x) % hosts;
        added.push(alias(i, t));
        now.aliases.push(t);
    }
    let mut touched = Vec::new();
    for _ in 0..10 {
        let i = next(x) % POOLS;
        if touched.contains(&i) {
            continue;
        }
        touched.push(i);
        let m = next(x);
        let old = now.pools[i as usize][0];
        removed.push(pool(i, old));
        added.push(pool(i, m));
        now.pools[i as usize][0] = m;
    }
    let mut touched = Vec::new();
    for _ in 0..10 {
        let i = next(x) % REGIONALS;
        if touched.contains(&i) {
            continue;
        }
        touched.push(i);
        let value = next(x);
        removed.push(regional(i, now.regionals[i as usize]));
        added.push(regional(i, value));
        now.regionals[i as usize] = value;
    }
    Step {
        from: serial,
        to: serial + 1,
        removed,
        added,
    }
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

/// p50, p99 and max of some durations.
fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(&times, 0.5),
        ms(&times, 0.99),
        ms(&times, 1.0)
    )
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let records: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(35);

    let t = Instant::now();
    let base = Arc::new(build(records)?);
    say(format!(
        "zone: {} records, {} names ({} ALIAS, {} POOL names, {} REGIONAL); full compile {:.0} ms",
        base.record_count(),
        base.node_count(),
        ALIASES,
        POOLS,
        REGIONALS,
        t.elapsed().as_secs_f64() * 1e3
    ));
    let hosts = records.saturating_sub(3 + REGIONALS + 2 * POOLS + ALIASES);
    let mut now = Now {
        hosts: (0..hosts).collect(),
        aliases: (0..ALIASES).collect(),
        pools: (0..POOLS).map(|i| [2 * i, 2 * i + 1]).collect(),
        regionals: (0..REGIONALS).collect(),
    };
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut held = Arc::clone(&base);
    let (mut patch_times, mut view_times, mut whole_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut view = regional_view(&held, Some("ams"))
        .map_err(|e| e.to_string())?
        .0;
    let mut first_steps = None;
    for _ in 0..rounds {
        let serial = held.serial();
        let steps = [step(&mut now, serial, &mut x)];
        let new_soa = rec("large.example.", Rtype::SOA, &soa(serial + 1));
        if first_steps.is_none() {
            first_steps = Some((steps.clone(), new_soa.clone()));
        }
        let t = Instant::now();
        let next = apply_steps_patched(&held, &steps, &new_soa).map_err(|e| e.to_string())?;
        patch_times.push(t.elapsed());
        if next.overlay_names() == 0 {
            return Err("an IXFR was not patched".into());
        }
        let next = Arc::new(next);
        let t = Instant::now();
        let (after, _) =
            regional_view_after(&view, &next, &steps, Some("ams")).map_err(|e| e.to_string())?;
        view_times.push(t.elapsed());
        let t = Instant::now();
        let (whole, skipped) = regional_view(&next, Some("ams")).map_err(|e| e.to_string())?;
        whole_times.push(t.elapsed());
        if skipped > 0 || whole.record_count() != next.record_count() + REGIONALS as usize {
            return Err("the ams view is not the zone plus its REGIONAL records".into());
        }
        if after.record_count() != whole.record_count() {
            return Err("the patched ams view differs from the whole one".into());
        }
        view = after;
        held = next;
    }
    say(format!(
        "IXFR of 100 changes, patched, {rounds} in a row (overlay up to {} names): {}",
        held.overlay_names(),
        summary(patch_times)
    ));
    say(format!(
        "the --region ams view after each, patched from the view before: {}",
        summary(view_times)
    ));
    say(format!(
        "the --region ams view after each, made from the zone held (before; 1,000 REGIONAL records): {}",
        summary(whole_times)
    ));
    // Before: each such IXFR compiled the whole zone.
    let (steps, new_soa) = first_steps.ok_or("no rounds")?;
    let mut full_times = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        let z = apply_steps(&base, &steps, &new_soa).map_err(|e| e.to_string())?;
        full_times.push(t.elapsed());
        drop(z);
    }
    say(format!(
        "the same IXFR by a full compile (apply_steps, before): {}",
        summary(full_times)
    ));
    Ok(())
}
