//! Signs a generated zone once and reports time and peak memory: `cargo
//! run --release -p candor-dnssec --example sign_zone -- NAMES THREADS`
//! (NAMES names with one A and one AAAA each; defaults 50,000 and 1).
//! Peak memory is the process's `VmHWM` (Linux), read before and after.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::time::Instant;

use candor_dnssec::{Algorithm, KeyRole, SigningKey, SigningPolicy, sign_zone};
use candor_wire::{Name, Rtype};
use candor_zone::ZoneBuilder;

/// The process's peak resident memory in KiB (0 where unknown).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let names: u32 = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let threads: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let threads = NonZeroUsize::new(threads).ok_or("THREADS must be at least 1")?;
    let apex = Name::from_text("example.com.", None)?;
    let ns = Name::from_text("ns1.example.com.", None)?;
    let mut b = ZoneBuilder::new(&apex);
    let mut soa = ns.as_wire().to_vec();
    soa.extend_from_slice(Name::from_text("hostmaster.example.com.", None)?.as_wire());
    soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44]);
    b.add(&apex, Rtype::SOA, 3600, &soa, None);
    b.add(&apex, Rtype::NS, 3600, ns.as_wire(), None);
    b.add(&ns, Rtype::A, 3600, &[192, 0, 2, 1], None);
    for h in 0..names {
        let owner = Name::from_text(&format!("host{h}.example.com."), None)?;
        let [_, x, y, z] = h.to_be_bytes();
        b.add(&owner, Rtype::A, 3600, &[10, x, y, z], None);
        let mut v6 = [0u8; 16];
        v6[..2].copy_from_slice(&[0x20, 0x01]);
        v6[13..].copy_from_slice(&[x, y, z]);
        b.add(&owner, Rtype::AAAA, 3600, &v6, None);
    }
    let zone = b.finish().map_err(|e| format!("{e:?}"))?;
    let before = peak_kib();
    let key = SigningKey::generate(
        Algorithm::EcdsaP256Sha256,
        KeyRole::Csk,
        &ring::rand::SystemRandom::new(),
    )?;
    let started = Instant::now();
    let signed = sign_zone(
        &zone,
        &[key],
        &SigningPolicy::default(),
        1_764_900_000,
        threads,
    )?;
    let took = started.elapsed();
    let after = peak_kib();
    writeln!(
        std::io::stdout(),
        "{} records, {} signatures, {} threads: {:.2} s ({:.1} µs per signature); \
         peak memory {} MiB before signing, {} MiB after",
        zone.record_count(),
        signed.signatures,
        threads,
        took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / signed.signatures as f64,
        before / 1024,
        after / 1024
    )?;
    Ok(())
}
