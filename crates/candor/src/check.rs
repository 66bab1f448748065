//! `candor zone check`: report every problem of a zone file, for every way
//! a zone file reaches Candor.
//!
//! There is one validator per way, and `zone check` runs exactly it, not a
//! copy: the zone-directory loader `candor serve --zones` uses, and the
//! store's import (`candor zone import`, and `PUT .../zones/{zone}/file`,
//! which refuses `$INCLUDE`) run as a dry run into an in-memory store.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use candor_store::{Actor, Store, StoreConfig, StoreError, ZoneText};
use candor_wire::Name;
use candor_zone::load_zone_file;

/// A way a zone file reaches Candor.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Way {
    /// `candor serve --zones DIR`: served read-only as written.
    Files,
    /// `candor zone import ZONE FILE`: stored (`$INCLUDE` allowed).
    Import,
    /// `PUT /v2/{account}/zones/{zone}/file`: stored (`$INCLUDE` refused).
    Api,
}

impl Way {
    /// Every way, in the order they are reported.
    const ALL: [Way; 3] = [Way::Files, Way::Import, Way::Api];

    /// How the report names it.
    fn describe(self, zone: &str) -> String {
        match self {
            Way::Files => "candor serve --zones".to_owned(),
            Way::Import => format!("candor zone import {zone}"),
            Way::Api => format!("the API (PUT /v2/{{account}}/zones/{zone}/file)"),
        }
    }
}

/// The settings of the dry-run store: they shape system records only,
/// never whether a file is valid (one redirector address, so URL records
/// compile as they would in any server).
fn dry_run_config() -> anyhow::Result<StoreConfig> {
    let name = |text: &str| Name::from_text(text, None).map_err(|e| anyhow::anyhow!("{e}"));
    Ok(StoreConfig {
        nameservers: vec![name("ns1.candor.test.")?],
        hostmaster: name("hostmaster.candor.test.")?,
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604800,
        soa_minimum: 300,
        redirector: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        region: None,
    })
}

/// Imports `file` into a fresh in-memory store the way `way` would;
/// returns the problems (empty when it would be accepted) or a summary.
fn dry_run_import(
    file: &Path,
    zone: &str,
    way: Way,
) -> anyhow::Result<Result<String, Vec<String>>> {
    let store =
        Store::open_in_memory(dry_run_config()?).context("cannot open an in-memory store")?;
    let account = store
        .create_account("check@candor.invalid")
        .context("cannot create the dry-run account")?;
    let actor = Actor {
        token_id: None,
        via: "cli",
        remote: None,
    };
    let bytes;
    let text = match way {
        Way::Api => {
            bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            ZoneText::Upload(&bytes)
        }
        _ => ZoneText::File(file),
    };
    match store.import_zone_file_creating(account.id, zone, text, &actor, &mut |_| {}) {
        Ok((summary, _)) => Ok(Ok(format!("{} records", summary.records))),
        Err(StoreError::Invalid(errors)) => {
            Ok(Err(errors.into_iter().map(|e| e.message).collect()))
        }
        Err(e) => Err(anyhow::Error::new(e).context("the dry-run import failed")),
    }
}

/// Checks one file for the ways asked (all when none); exit status 0 only
/// if every one of them accepts it.
pub(crate) fn run(file: &Path, origin: Option<&str>, ways: &[Way]) -> anyhow::Result<ExitCode> {
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
    let zone = {
        let mut text = origin.to_string();
        if text.len() > 1 {
            text.pop();
        }
        text
    };
    let ways: &[Way] = if ways.is_empty() { &Way::ALL } else { ways };
    let mut refused = 0;
    for &way in ways {
        let verdict = match way {
            Way::Files => match load_zone_file(file, &origin) {
                Ok(zone) => Ok(format!(
                    "{} records, {} names, serial {}",
                    zone.record_count(),
                    zone.node_count(),
                    zone.serial()
                )),
                Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
            },
            _ => dry_run_import(file, &zone, way)?,
        };
        match verdict {
            Ok(summary) => eprintln!(
                "{}: accepted by {}: {summary}",
                file.display(),
                way.describe(&zone)
            ),
            Err(problems) => {
                refused += 1;
                eprintln!(
                    "{}: refused by {}: {} problem(s):",
                    file.display(),
                    way.describe(&zone),
                    problems.len()
                );
                for p in &problems {
                    eprintln!("  {p}");
                }
            }
        }
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
