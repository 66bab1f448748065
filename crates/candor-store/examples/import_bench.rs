//! Times a zone-file import into a fresh store on disk.
//!
//! Usage: `import_bench ZONE_FILE ORIGIN [DB_PATH]` (the database defaults
//! to a file in the temporary directory, removed first). Run it under
//! `/usr/bin/time -v` for the peak RSS.

use std::path::PathBuf;
use std::time::Instant;

use candor_store::{Actor, Store, StoreConfig};
use candor_wire::Name;

/// Runs the benchmark.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: import_bench ZONE_FILE ORIGIN [DB_PATH]";
    let file = PathBuf::from(args.next().ok_or(usage)?);
    let origin = args.next().ok_or(usage)?;
    let db = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("candor-import-bench.db"));
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }

    let config = StoreConfig {
        nameservers: vec![
            Name::from_text("ns1.candor.test.", None)?,
            Name::from_text("ns2.candor.test.", None)?,
        ],
        hostmaster: Name::from_text("admin.candor.test.", None)?,
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    };
    let store = Store::open(&db, config)?;
    let actor = Actor {
        token_id: None,
        via: "cli",
        remote: None,
    };
    let account = store.create_account("bench@example.org")?;
    store.create_zone(account.id, &origin, &actor)?;
    let text = std::fs::read(&file)?;

    let start = Instant::now();
    let (summary, change) =
        store.import_zone_file(account.id, &origin, &text, &actor, &mut |n| {
            if n % 200_000 == 0 {
                eprintln!("  {n} records, {:.2} s", start.elapsed().as_secs_f64());
            }
        })?;
    let import = start.elapsed();
    let records = change.compiled.as_ref().map_or(0, |z| z.record_count());
    drop(change);

    let start = Instant::now();
    let compiled = store.compile_all()?;
    let compile = start.elapsed();
    drop(compiled);

    let start = Instant::now();
    let (_, change) = store.create_record(
        account.id,
        &origin,
        &candor_store::RecordInput {
            name: "bench-extra".to_owned(),
            rtype: "A".to_owned(),
            content: "192.0.2.1".to_owned(),
            ttl: None,
            priority: None,
            regions: None,
        },
        &actor,
    )?;
    let one = start.elapsed();
    drop(change);

    let size = std::fs::metadata(&db).map_or(0, |m| m.len());
    eprintln!(
        "imported {} records ({} in the compiled zone) in {:.2} s; \
         compile_all {:.2} s; one record create {:.2} s; database {} MB",
        summary.records,
        records,
        import.as_secs_f64(),
        compile.as_secs_f64(),
        one.as_secs_f64(),
        size / 1_000_000
    );
    Ok(())
}
