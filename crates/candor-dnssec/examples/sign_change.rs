//! What signing a small change costs in a signed zone, without the store:
//! `cargo run --release -p candor-dnssec --example sign_change -- RECORDS
//! CHANGES THREADS` (defaults 100,000, 200 and 2). The zone (RECORDS hosts
//! with one A each) is signed in full once (ECDSA P-256 CSK, THREADS
//! threads); then CHANGES consecutive changes, each on top of the last,
//! alternate between an A record updated and a name added or removed
//! (which changes its predecessor's NSEC), all with the apex's new SOA.
//! Reported: p50/p99 of `sign_change` per change, the same changes as
//! `Zone::patch` on the unsigned zone (what the signing adds), and the
//! full signing for comparison.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_dnssec::{
    Algorithm, KeyRole, SigningKey, SigningPolicy, compile_signed, sign_change, sign_zone,
};
use candor_wire::{Name, Rtype};
use candor_zone::{NodeChange, Zone, ZoneBuilder};

/// Prints one line.
fn say(line: String) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The `q`-quantile of sorted durations, in milliseconds.
fn ms(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// The SOA RDATA with `serial` (TTL 3600 given with it, MINIMUM 300).
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = b"\x03ns1\x07example\x03com\x00\x0ahostmaster\x07example\x03com\x00".to_vec();
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// The wire name of host `i`.
fn host(i: u32) -> Box<[u8]> {
    let label = format!("host{i}");
    let mut v = vec![label.len() as u8];
    v.extend_from_slice(label.as_bytes());
    v.extend_from_slice(b"\x07example\x03com\x00");
    v.into()
}

/// The apex's records with the SOA at `serial`.
fn apex(serial: u32) -> Vec<(Rtype, u32, Box<[u8]>)> {
    vec![
        (Rtype::SOA, 3600, soa(serial)),
        (Rtype::NS, 3600, b"\x03ns1\x07example\x03com\x00"[..].into()),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u32 = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let changes: u32 = args.next().map_or(Ok(200), |a| a.parse())?;
    let threads: usize = args.next().map_or(Ok(2), |a| a.parse())?;
    let threads = NonZeroUsize::new(threads).ok_or("THREADS must be at least 1")?;
    let origin = Name::from_text("example.com.", None)?;
    let mut b = ZoneBuilder::new(&origin);
    for (rtype, ttl, rdata) in apex(1) {
        b.add(&origin, rtype, ttl, &rdata, None);
    }
    b.add(
        &Name::from_text("ns1.example.com.", None)?,
        Rtype::A,
        3600,
        &[192, 0, 2, 1],
        None,
    );
    for i in 0..records {
        let owner = Name::from_wire(&host(i))?;
        b.add(&owner, Rtype::A, 3600, &i.to_be_bytes(), None);
    }
    let unsigned = b.finish().map_err(|e| format!("{e:?}"))?;
    let rng = ring::rand::SystemRandom::new();
    let keys = [
        SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng)
            .map_err(|e| e.to_string())?,
    ];
    let policy = SigningPolicy::default();
    let now = 1_800_000_000;
    let t = Instant::now();
    let signed = sign_zone(&unsigned, &keys, &policy, now, threads)?;
    let zone = compile_signed(&unsigned, &signed).map_err(|e| format!("{e:?}"))?;
    say(format!(
        "{records} records signed in full ({} signatures, {threads} threads): {:.1} s",
        signed.signatures,
        t.elapsed().as_secs_f64()
    ));
    drop(signed);

    // The changes: an A record updated, then a name added, then removed.
    let batches: Vec<Vec<NodeChange>> = (0..changes)
        .map(|i| {
            let serial = i + 2;
            let (owner, records) = match i % 3 {
                0 => (
                    host(i * 7 % records),
                    vec![(Rtype::A, 3600, i.to_be_bytes()[..].into())],
                ),
                1 => (
                    host(records + i),
                    vec![(Rtype::A, 3600, [198, 51, 100, 1][..].into())],
                ),
                _ => (host(records + i - 1), Vec::new()),
            };
            vec![
                NodeChange { owner, records },
                NodeChange {
                    owner: origin.as_wire().into(),
                    records: apex(serial),
                },
            ]
        })
        .collect();
    let mut signed_times = Vec::new();
    let mut signatures = 0;
    let mut zone = Arc::new(zone);
    for batch in &batches {
        let t = Instant::now();
        let (next, stats) = sign_change(&zone, batch, &keys, &policy, now + 60)?;
        signed_times.push(t.elapsed());
        signatures += stats.signatures;
        zone = Arc::new(next);
    }
    let mut plain_times = Vec::new();
    let mut plain: Arc<Zone> = Arc::new(unsigned);
    for batch in &batches {
        let t = Instant::now();
        let next = plain.patch(batch)?;
        plain_times.push(t.elapsed());
        plain = Arc::new(next);
    }
    signed_times.sort();
    plain_times.sort();
    say(format!(
        "sign_change, {changes} changes ({:.1} signatures each): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        signatures as f64 / f64::from(changes),
        ms(&signed_times, 0.5),
        ms(&signed_times, 0.99),
        ms(&signed_times, 1.0)
    ));
    say(format!(
        "Zone::patch of the same changes, unsigned zone: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(&plain_times, 0.5),
        ms(&plain_times, 0.99),
        ms(&plain_times, 1.0)
    ));
    Ok(())
}
