//! How long re-importing a zone file into a signed zone takes when the
//! file differs from the zone by a few records (issue 12: "`zone import`
//! still signs in full"): a zone of RECORDS A records (one per name) is
//! imported, DNSSEC is enabled (an ECDSA P-256 CSK), then the same file
//! is imported again IMPORTS times, each time with one record's address
//! changed and one name added, as the API's `PUT …/zones/{zone}/file`
//! does it (the zone it returns is the signed zone to serve). Prints each
//! import's time, the median, and how many RRSIGs the last version shares
//! with the one before it (a full signing shares none).
//!
//! Run with `cargo run --release -p candor-store --example import_signed
//! -- RECORDS IMPORTS` (defaults 100,000 and 5). It writes a temporary
//! database.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use candor_store::{Actor, Store, StoreConfig};
use candor_wire::{Name, Rtype};

/// Prints one line of results.
fn say(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The zone file: `RECORDS` hosts, host `changed` at another address, and
/// `extra` more names.
fn file(records: u32, changed: u32, extra: u32) -> String {
    let mut text = String::from("$ORIGIN example.com.\n$TTL 3600\n");
    for i in 0..records {
        let last = if i == changed {
            250
        } else {
            (i % 250) as u8 as u32
        };
        let _ = writeln!(
            text,
            "h{i} A 10.{}.{}.{last}",
            (i >> 16) & 255,
            (i >> 8) & 255
        );
    }
    for j in 0..extra {
        let _ = writeln!(text, "new{j} A 192.0.2.{}", j % 250);
    }
    text
}

/// The RRSIG RDATAs of a zone.
fn rrsigs(zone: &candor_zone::Zone) -> std::collections::HashSet<Vec<u8>> {
    zone.records()
        .filter(|r| r.rtype == Rtype::RRSIG)
        .map(|r| r.rdata.to_vec())
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let imports: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = std::env::temp_dir().join(format!("candor-import-signed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = StoreConfig {
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
    let store = Store::open(&dir.join("candor.db"), config)?;
    let actor = Actor {
        token_id: None,
        via: "bench",
        remote: None,
    };
    let account = store.create_account("bench@example.com")?.id;
    store.create_zone(account, "example.com", &actor)?;
    let started = Instant::now();
    store.import_zone_file(
        account,
        "example.com",
        file(records, u32::MAX, 0).as_bytes(),
        &actor,
        &mut |_| {},
    )?;
    say(format!(
        "first import of {records} records: {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    let started = Instant::now();
    let (_, enabled) = store.enable_dnssec(
        account,
        "example.com",
        candor_dnssec::Algorithm::EcdsaP256Sha256,
        &actor,
    )?;
    say(format!(
        "enable DNSSEC (full signing): {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    let mut before = enabled.compiled.map(|z| rrsigs(&z)).unwrap_or_default();
    let mut times: Vec<Duration> = Vec::new();
    let mut shared = 0;
    for n in 0..imports {
        let text = file(records, n * 7 + 1, n + 1);
        let started = Instant::now();
        let (summary, change) =
            store.import_zone_file(account, "example.com", text.as_bytes(), &actor, &mut |_| {})?;
        let took = started.elapsed();
        times.push(took);
        let zone = change.compiled.ok_or("no zone")?;
        let after = rrsigs(&zone);
        shared = after.intersection(&before).count();
        say(format!(
            "import {n}: {:.3} s ({} records, {} removed, signed {}, {shared} of {} RRSIGs kept)",
            took.as_secs_f64(),
            summary.records,
            summary.removed,
            zone.signed().is_some(),
            after.len()
        ));
        before = after;
    }
    times.sort();
    say(format!(
        "median re-import: {:.3} s; RRSIGs kept by the last: {shared}",
        times[times.len() / 2].as_secs_f64()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
