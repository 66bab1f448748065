//! Load-path benchmark: writes a zone of 1,000,000 A records
//! (`hostNNNNNN<TAB>IN<TAB>A<TAB>10.x.y.z`) to the temporary directory,
//! times `parse_file` on it and prints records per second.
//!
//! Run with `cargo run --release -p candor-zonefile --example parse_bench`;
//! an optional argument sets the record count.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use candor_wire::Name;
use candor_zonefile::{ParseOptions, parse_file};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1_000_000,
    };
    let path = write_zone(count)?;
    let opts = ParseOptions::new(Name::from_text("example.com.", None)?);

    // Three runs; the first also warms the page cache.
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut records = 0u64;
        let mut rdata_bytes = 0u64;
        let start = Instant::now();
        let result = parse_file(&path, &opts, &mut |record| {
            records += 1;
            rdata_bytes += record.rdata.len() as u64;
        });
        let secs = start.elapsed().as_secs_f64();
        if let Err(errors) = result {
            return Err(format!("{} errors, first: {:?}", errors.len(), errors.first()).into());
        }
        if records != u64::from(count) || rdata_bytes != 4 * records {
            return Err(format!("parsed {records} records, expected {count}").into());
        }
        best = best.min(secs);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{count} records in {best:.3} s (best of 3): {:.0} records/s",
        f64::from(count) / best
    )?;
    std::fs::remove_file(&path)?;
    Ok(())
}

/// Writes the zone and returns its path.
fn write_zone(count: u32) -> std::io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("candor-parse-bench-{}.zone", std::process::id()));
    let mut text = String::with_capacity(count as usize * 32 + 64);
    text.push_str("$ORIGIN example.com.\n$TTL 3600\n");
    for i in 0..count {
        let [_, x, y, z] = i.to_be_bytes();
        text.push_str(&format!("host{i:06}\tIN\tA\t10.{x}.{y}.{z}\n"));
    }
    std::fs::write(&path, text)?;
    Ok(path)
}
