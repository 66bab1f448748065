//! `candor dnssec …`: DNSSEC per zone from the command line: enable (makes
//! the zone's signing key), disable, status (the DS records for the
//! registrar and the CDS/CDNSKEY records the zone publishes for parents
//! that scan), and export (the zone signed with its stored key, as a
//! master file). Records go to standard output, one per line in
//! presentation format; explanations go to standard error.

use std::process::ExitCode;

use anyhow::Context;
use candor_dnssec::Algorithm;
use clap::Subcommand;

use crate::cli::{Common, explain, open, out};

/// Who the CLI acts as in the audit log.
const CLI: candor_store::Actor = candor_store::Actor {
    token_id: None,
    via: "cli",
    remote: None,
};

/// `candor dnssec …`.
#[derive(Subcommand, Debug)]
pub(crate) enum DnssecCommand {
    /// Enable DNSSEC for a zone: makes its signing key (one combined
    /// signing key) and prints the DS record for the registrar.
    Enable {
        /// The zone, e.g. example.com.
        zone: String,
        /// ecdsap256sha256 (13, the default) or ed25519 (15).
        #[arg(long, default_value = "ecdsap256sha256", value_parser = ["ecdsap256sha256", "ed25519"])]
        algorithm: String,
        #[command(flatten)]
        common: Common,
    },
    /// Disable DNSSEC for a zone and delete its keys (remove the DS at the
    /// registrar first).
    Disable {
        /// The zone.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
    /// Whether DNSSEC is enabled; the DS records for the registrar and the
    /// CDS/CDNSKEY records for parents that scan (RFC 7344).
    Status {
        /// The zone.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
    /// Print the zone signed with its stored key (DNSKEY, CDS, CDNSKEY,
    /// NSEC and RRSIG records added) as a master file, for
    /// `dnssec-verify` or a secondary that loads files.
    Export {
        /// The zone.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
}

/// Runs `candor dnssec …`.
pub(crate) fn run(cmd: DnssecCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DnssecCommand::Enable {
            zone,
            algorithm,
            common,
        } => {
            let (store, account) = open(&common)?;
            let algorithm = match algorithm.as_str() {
                "ed25519" => Algorithm::Ed25519,
                _ => Algorithm::EcdsaP256Sha256,
            };
            store
                .enable_dnssec(account, &zone, algorithm, &CLI)
                .map_err(explain)?;
            eprintln!(
                "DNSSEC enabled for {zone} ({}); `candor serve` serves it signed within a second. \
                 Give the registrar this DS once every name server answers with signatures \
                 (e.g. `dig +dnssec @NS {zone} SOA` shows an RRSIG)",
                algorithm.mnemonic()
            );
            print_status(&store, account, &zone)?;
        }
        DnssecCommand::Disable { zone, common } => {
            let (store, account) = open(&common)?;
            store
                .disable_dnssec(account, &zone, &CLI)
                .map_err(explain)?;
            eprintln!("DNSSEC disabled for {zone}; its keys are deleted");
        }
        DnssecCommand::Status { zone, common } => {
            let (store, account) = open(&common)?;
            print_status(&store, account, &zone)?;
        }
        DnssecCommand::Export { zone, common } => {
            let (store, account) = open(&common)?;
            let info = store.zone(account, &zone).map_err(explain)?;
            let keys = store.dnssec_keys(info.id).map_err(explain)?;
            anyhow::ensure!(
                !keys.is_empty(),
                "DNSSEC is not enabled for {}: run `candor dnssec enable {}` first",
                info.name,
                info.name
            );
            let compiled = store
                .compile_zone(info.id)
                .map_err(explain)?
                .compiled
                .with_context(|| format!("zone {} does not compile", info.name))?;
            // ALIAS and POOL answers are made per query; a file cannot hold
            // them, and the chain lists the types they answer, so a file
            // without them would contradict its own NSEC records.
            if let Some(r) = compiled
                .records()
                .find(|r| candor_zone::is_private_type(r.rtype))
            {
                let owner = candor_wire::Name::from_wire(r.owner)
                    .map_or_else(|_| info.name.clone(), |n| n.to_string());
                let kind = if r.rtype == candor_zone::ALIAS {
                    "ALIAS"
                } else {
                    "POOL"
                };
                anyhow::bail!(
                    "{} has a{} {kind} record at {owner}: its answers are made per query and \
                     cannot be exported signed yet (docs/dnssec.md, \"Synthesized answers\")",
                    info.name,
                    if kind == "ALIAS" { "n" } else { "" },
                );
            }
            // The store compiles a zone with keys signed, so the zone
            // holds its signatures already: the ones being served.
            let signed = candor_dnssec::SignedZone {
                records: Vec::new(),
                chain: Vec::new(),
                signatures: 0,
            };
            let text = candor_dnssec::zone_text(&compiled, &signed);
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
                .context("cannot write to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a zone's DNSSEC state (to stderr) and its DS, CDS and CDNSKEY
/// records (to stdout).
fn print_status(store: &candor_store::Store, account: i64, zone: &str) -> anyhow::Result<()> {
    let state = store.dnssec(account, zone).map_err(explain)?;
    let info = store.zone(account, zone).map_err(explain)?;
    let Some(since) = state.created_at else {
        eprintln!("{}: DNSSEC is not enabled", info.name);
        return Ok(());
    };
    let records = store.ds_records(account, zone).map_err(explain)?;
    eprintln!(
        "{}: DNSSEC enabled since {since}; {} key(s). DS for the registrar, then the CDS and \
         CDNSKEY records the zone will publish once answers are signed:",
        info.name,
        records.len()
    );
    let owner = format!("{}.", info.name);
    for ds in &records {
        out(&format!(
            "{owner}\tIN\tDS\t{} {} {} {}",
            ds.keytag, ds.algorithm, ds.digest_type, ds.digest
        ))?;
    }
    for ds in &records {
        out(&format!(
            "{owner}\tIN\tCDS\t{} {} {} {}",
            ds.keytag, ds.algorithm, ds.digest_type, ds.digest
        ))?;
        out(&format!(
            "{owner}\tIN\tCDNSKEY\t257 3 {} {}",
            ds.algorithm, ds.public_key
        ))?;
    }
    Ok(())
}
