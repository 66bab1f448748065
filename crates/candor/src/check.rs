//! `candor zone check`: report every problem of a zone file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use candor_wire::Name;
use candor_zone::load_zone_file;

/// Checks one file; exit status 0 only if it loads cleanly.
pub(crate) fn run(file: &Path, origin: Option<&str>) -> anyhow::Result<ExitCode> {
    let origin = match origin {
        Some(o) => {
            let text = if o.ends_with('.') {
                o.to_owned()
            } else {
                format!("{o}.")
            };
            Name::from_text(&text, None).with_context(|| format!("bad origin {o:?}"))?
        }
        None => candor_zone::origin_from_path(file).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    match load_zone_file(file, &origin) {
        Ok(zone) => {
            eprintln!(
                "{}: zone {} is valid: {} records, {} names, serial {}",
                file.display(),
                zone.apex(),
                zone.record_count(),
                zone.node_count(),
                zone.serial()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{}: {} problem(s) found", file.display(), errors.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
