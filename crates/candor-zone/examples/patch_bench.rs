//! What an incremental change costs against a full rebuild, in a zone of a
//! million records: one record changed (with the SOA serial, as every
//! store write does), p50/p99 over a run of consecutive changes (each on
//! top of the last, so the overlay grows as it does between compactions);
//! an IXFR-sized diff of 100 changes through `Zone::apply_diff`; and one
//! full compile of the same zone for comparison.
//!
//! Run with `cargo run --release -p candor-zone --example patch_bench`
//! (optionally `-- RECORDS CHANGES`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_wire::{Name, Rtype};
use candor_zone::{NodeChange, OwnedRecord, Zone, ZoneBuilder, ZoneDiff};

/// The SOA RDATA with `serial`.
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = Name::from_text("ns1.large.example.", None)
        .map(|n| n.as_wire().to_vec())
        .unwrap_or_default();
    v.extend_from_slice(b"\x0ahostmaster\x05large\x07example\x00");
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// The wire name of host `i`.
fn host(i: u32) -> Vec<u8> {
    let label = format!("host{i}");
    let mut v = vec![label.len() as u8];
    v.extend_from_slice(label.as_bytes());
    v.extend_from_slice(b"\x05large\x07example\x00");
    v
}

/// The zone: SOA, NS and MX at the apex, `records` hosts with one A each.
fn build(records: u32) -> Result<Zone, String> {
    let apex = Name::from_text("large.example.", None).map_err(|e| e.to_string())?;
    let mut b = ZoneBuilder::new(&apex);
    let ns = Name::from_text("ns1.large.example.", None).map_err(|e| e.to_string())?;
    b.add(&apex, Rtype::SOA, 3600, &soa(1), None);
    b.add(&apex, Rtype::NS, 3600, ns.as_wire(), None);
    let mut mx = vec![0, 10];
    mx.extend_from_slice(&host(1));
    b.add(&apex, Rtype::MX, 3600, &mx, None);
    b.add(&ns, Rtype::A, 3600, &[192, 0, 2, 1], None);
    for i in 0..records {
        let owner = Name::from_wire(&host(i)).map_err(|e| e.to_string())?;
        b.add(&owner, Rtype::A, 3600, &i.to_be_bytes(), None);
    }
    b.finish().map_err(|e| format!("{e:?}"))
}

/// The apex records with the SOA at `serial`.
fn apex_records(zone: &Zone, serial: u32) -> Vec<(Rtype, u32, Box<[u8]>)> {
    let mut out: Vec<(Rtype, u32, Box<[u8]>)> = zone
        .records()
        .filter(|r| r.owner == zone.apex().as_wire() && r.rtype != Rtype::SOA)
        .map(|r| (r.rtype, r.ttl, r.rdata.into()))
        .collect();
    out.push((Rtype::SOA, 3600, soa(serial)));
    out
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
    let changes: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);

    let t = Instant::now();
    let base = Arc::new(build(records)?);
    let full = t.elapsed();
    say(format!(
        "zone: {} records, {} names; full compile {:.0} ms",
        base.record_count(),
        base.node_count(),
        full.as_secs_f64() * 1e3
    ));
    // The apex records, read once (a store reads them from its rows).
    let apex = apex_records(&base, 0);
    let apex_rest: Vec<_> = apex.into_iter().filter(|r| r.0 != Rtype::SOA).collect();

    // One record changed at a time, each version on top of the last.
    let mut zone = Arc::clone(&base);
    let mut times = Vec::new();
    let mut x: u32 = 12345;
    for serial in 2..2 + changes {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let i = x % records;
        let mut apex = apex_rest.clone();
        apex.push((Rtype::SOA, 3600, soa(serial)));
        let change = [
            NodeChange {
                owner: host(i).into(),
                records: vec![(Rtype::A, 3600, serial.to_be_bytes().into())],
            },
            NodeChange {
                owner: Name::from_text("large.example.", None)
                    .map_err(|e| e.to_string())?
                    .as_wire()
                    .into(),
                records: apex,
            },
        ];
        let t = Instant::now();
        let next = zone.patch(&change).map_err(|e| e.to_string())?;
        times.push(t.elapsed());
        zone = Arc::new(next);
    }
    times.sort();
    say(format!(
        "one change (+SOA), {changes} in a row (overlay up to {} names): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        zone.overlay_names(),
        ms(&times, 0.5),
        ms(&times, 0.99),
        ms(&times, 1.0)
    ));

    // IXFR-sized diffs: 100 hosts changed, on the compiled base and on a
    // version whose overlay already holds the changes above.
    for (what, from) in [("compiled base", &base), ("patched version", &zone)] {
        let mut times = Vec::new();
        for round in 0..50u32 {
            let mut diff = ZoneDiff {
                old_soa: OwnedRecord {
                    owner: from.apex().as_wire().into(),
                    rtype: Rtype::SOA,
                    ttl: 3600,
                    rdata: soa(from.serial()),
                },
                new_soa: OwnedRecord {
                    owner: from.apex().as_wire().into(),
                    rtype: Rtype::SOA,
                    ttl: 3600,
                    rdata: soa(from.serial() + 1),
                },
                removed: Vec::new(),
                added: Vec::new(),
            };
            for k in 0..100u32 {
                let i = (round * 7919 + k * 104_729) % records;
                let name = host(i);
                let Some(id) = from.node_by_name(&name) else {
                    continue;
                };
                for set in from.rrsets(from.node(id)) {
                    let tails = from.tails(set);
                    diff.removed.push(OwnedRecord {
                        owner: name.clone().into(),
                        rtype: set.rtype,
                        ttl: set.ttl,
                        rdata: tails[10..].into(),
                    });
                }
                diff.added.push(OwnedRecord {
                    owner: name.into(),
                    rtype: Rtype::A,
                    ttl: 3600,
                    rdata: (round + 1_000_000).to_be_bytes().into(),
                });
            }
            let t = Instant::now();
            let next = from.apply_diff(&diff).map_err(|e| e.to_string())?;
            times.push(t.elapsed());
            assert_eq!(next.serial(), from.serial() + 1);
        }
        times.sort();
        say(format!(
            "IXFR of 100 changes on the {what}: p50 {:.3} ms, p99 {:.3} ms",
            ms(&times, 0.5),
            ms(&times, 0.99)
        ));
    }

    let t = Instant::now();
    let compacted = zone.compact().map_err(|e| format!("{e:?}"))?;
    say(format!(
        "compaction of the patched version: {:.0} ms ({} records)",
        t.elapsed().as_secs_f64() * 1e3,
        compacted.record_count()
    ));
    Ok(())
}
