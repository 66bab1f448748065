//! `candor dnssec …`: DNSSEC per zone from the command line: enable (makes
//! the zone's signing key), disable (through CDS DELETE, or at once with
//! `--force`), status (each key's state, the next event, the DS records
//! for the registrar and the CDS/CDNSKEY records the zone publishes for
//! parents that scan), rollover (a new key by hand), ds-seen (what the
//! parent holds now matches the CDS), and export (the zone signed with
//! its stored key, as a master file). Records go to standard output, one
//! per line in presentation format; explanations go to standard error.

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
        /// A key-signing key and a zone-signing key instead of one CSK: the
        /// ZSK then rolls on schedule without the registrar.
        #[arg(long)]
        split_keys: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Disable DNSSEC for a zone the safe way: the zone asks the parent to
    /// remove the DS (CDS/CDNSKEY DELETE) and stays signed until
    /// `candor dnssec ds-seen` says the DS is gone (and caches forgot it).
    Disable {
        /// The zone.
        zone: String,
        /// Serve the zone unsigned and delete its keys now. If the parent
        /// still holds a DS, validating resolvers fail every name of the
        /// zone (SERVFAIL) until the DS is removed and expires.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Start a key rollover now: a new key is published and `candor serve`
    /// takes it through the rest (a CSK's needs `ds-seen` twice: once the
    /// parent holds the new DS, once it dropped the old one).
    Rollover {
        /// The zone.
        zone: String,
        /// Which key: csk, zsk, or ksk (split keys: the new KSK's DS is
        /// offered beside the old one's at once; needs `ds-seen` twice)
        /// (default: the key that signs the data).
        #[arg(long, value_parser = ["csk", "ksk", "zsk"])]
        key: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Tell Candor that the parent's DS records now match what the zone's
    /// CDS records ask for (the registrar made the change, e.g. `dig DS
    /// ZONE @PARENT` shows it): a rollover or a disable then moves on.
    DsSeen {
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
    /// `dnssec-verify` or a secondary that loads files: what a standard
    /// secondary gets by AXFR. ALIAS records become their target's
    /// addresses signed under the owner's name: targets in the store's
    /// zones are read there, others are looked up at `--alias-upstream`
    /// (needed only when the zone has such targets).
    Export {
        /// The zone.
        zone: String,
        /// The largest TTL of an ALIAS answer, as `candor serve
        /// --alias-ttl-ceiling` (seconds).
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        alias_ttl_ceiling: u64,
        /// Wait this long for an upstream answer, as `candor serve
        /// --alias-timeout-ms`.
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        alias_timeout_ms: u64,
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
            split_keys,
            common,
        } => {
            let (store, account) = open(&common)?;
            let algorithm = match algorithm.as_str() {
                "ed25519" => Algorithm::Ed25519,
                _ => Algorithm::EcdsaP256Sha256,
            };
            let disabling = store
                .dnssec_keys_status(account, &zone)
                .map_err(explain)?
                .is_some_and(|s| s.disabling_since.is_some());
            if disabling {
                store
                    .dnssec_cancel_disable(account, &zone, &CLI)
                    .map_err(explain)?;
                eprintln!(
                    "{zone} was being disabled; that is cancelled: its CDS asks for its DS again"
                );
            } else {
                store
                    .enable_dnssec_with(account, &zone, algorithm, split_keys, &CLI)
                    .map_err(explain)?;
                eprintln!(
                    "DNSSEC enabled for {zone} ({}); `candor serve` serves it signed within a \
                     second. The DS below is NOT offered yet: give it to the registrar once \
                     `candor dnssec status {zone}` says \"offered\" (when the signed zone has \
                     been served for the propagation delay plus its largest TTL)",
                    algorithm.mnemonic()
                );
            }
            print_status(&store, account, &zone)?;
        }
        DnssecCommand::Disable {
            zone,
            force,
            common,
        } => {
            let (store, account) = open(&common)?;
            if force {
                store
                    .disable_dnssec(account, &zone, &CLI)
                    .map_err(explain)?;
                eprintln!(
                    "WARNING: DNSSEC disabled for {zone} at once and its keys deleted. If the \
                     parent still holds a DS for it, validating resolvers fail every name of \
                     {zone} until the DS is removed at the registrar and has expired"
                );
            } else {
                store
                    .dnssec_start_disable(account, &zone, &CLI)
                    .map_err(explain)?;
                eprintln!(
                    "{zone} now asks its parent to remove the DS (CDS/CDNSKEY DELETE) and stays \
                     signed. Remove the DS at the registrar; once `dig DS {zone}` at the parent \
                     shows none, run `candor dnssec ds-seen {zone}`: `candor serve` then serves \
                     it unsigned after the DS TTL (`--force` skips this, unsafely)"
                );
            }
        }
        DnssecCommand::Rollover { zone, key, common } => {
            let (store, account) = open(&common)?;
            let role = key.as_deref().map(|k| match k {
                "zsk" => candor_dnssec::KeyRole::Zsk,
                "ksk" => candor_dnssec::KeyRole::Ksk,
                _ => candor_dnssec::KeyRole::Csk,
            });
            let (tag, _) = store
                .dnssec_rollover(account, &zone, role, &CLI)
                .map_err(explain)?;
            if role == Some(candor_dnssec::KeyRole::Ksk) {
                eprintln!(
                    "{zone}: new KSK {tag} published, signing the DNSKEY RRset beside the old \
                     one; its DS is offered now (CDS, `candor dnssec status {zone}`): give it to \
                     the registrar beside the old one, then run `candor dnssec ds-seen {zone}`"
                );
            } else {
                eprintln!(
                    "{zone}: new key {tag} published; `candor serve` makes it sign once every \
                     cache has it, then retires the old key (see `candor dnssec status {zone}`)"
                );
            }
        }
        DnssecCommand::DsSeen { zone, common } => {
            let (store, account) = open(&common)?;
            for line in store
                .dnssec_ds_seen(account, &zone, &CLI)
                .map_err(explain)?
            {
                eprintln!("{zone}: {line}");
            }
        }
        DnssecCommand::Status { zone, common } => {
            let (store, account) = open(&common)?;
            print_status(&store, account, &zone)?;
        }
        DnssecCommand::Export {
            zone,
            alias_ttl_ceiling,
            alias_timeout_ms,
            common,
        } => {
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
            // The store compiles a zone with keys signed, so the zone
            // holds its signatures already: the ones being served. ALIAS
            // answers are signed here as the ALIAS task of `candor serve`
            // signs them (docs/dnssec.md, "Synthesized answers").
            let options = AliasOptions {
                upstreams: common.alias_upstreams().to_vec(),
                ttl_cap: u32::try_from(alias_ttl_ceiling).unwrap_or(u32::MAX),
                timeout: std::time::Duration::from_millis(alias_timeout_ms),
            };
            let (zones, aliases) = alias_answers(&store, &info.name, &compiled, &options)?;
            // The file is what standard secondaries get
            // (`candor_xfr::view`): a POOL is the CNAME to its first member
            // with that member's RRSIGs, an ALIAS its signed addresses.
            let resolver = candor_xfr::view::Resolver {
                zones: &zones,
                aliases: &aliases,
            };
            let records = candor_xfr::view::standard_records(&compiled, resolver);
            let text = candor_dnssec::records_text(compiled.apex(), records);
            std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
                .context("cannot write to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How `candor dnssec export` makes ALIAS answers.
struct AliasOptions {
    /// Resolvers for targets outside the store's zones.
    upstreams: Vec<std::net::SocketAddr>,
    /// The largest TTL of an answer.
    ttl_cap: u32,
    /// How long to wait for one upstream answer.
    timeout: std::time::Duration,
}

/// The signed ALIAS answers of `compiled` (the store's zone `name`, signed)
/// for the transfer view, and the zones the view reads targets from: the
/// zone itself and the store's zones holding its other targets. Targets
/// outside every store zone are looked up at the upstreams with the ALIAS
/// task's lookup; without upstreams, or when none answers, this fails
/// naming them (the file would otherwise lack their addresses).
fn alias_answers(
    store: &candor_store::Store,
    name: &str,
    compiled: &std::sync::Arc<candor_zone::Zone>,
    options: &AliasOptions,
) -> anyhow::Result<(candor_zone::ZoneSet, candor_answer::AliasTable)> {
    use candor_alias::offline;
    let mut zones = candor_zone::ZoneSet::from_zones(vec![compiled.clone()]);
    let targets = offline::alias_targets(compiled);
    if targets.is_empty() {
        return Ok((zones, candor_answer::AliasTable::default()));
    }
    // The store's zones holding targets (compiled as `candor serve` would
    // serve them), the closest enclosing zone for each.
    let versions = store.zone_versions().map_err(explain)?;
    let mut added = Vec::new();
    for target in offline::outside_targets(compiled, &zones) {
        let text = candor_wire::Name::from_wire(&target)
            .map(|n| n.to_string().to_ascii_lowercase())
            .unwrap_or_default();
        let holder = versions
            .iter()
            .filter(|v| {
                let apex = format!("{}.", v.name.to_ascii_lowercase());
                text == apex || text.ends_with(&format!(".{apex}"))
            })
            .max_by_key(|v| v.name.len());
        if let Some(v) = holder.filter(|v| !added.contains(&v.id)) {
            added.push(v.id);
            if let Some(z) = store.compile_zone(v.id).map_err(explain)?.compiled {
                zones.insert(z);
            }
        }
    }
    let outside = offline::outside_targets(compiled, &zones);
    let describe = |targets: &[Box<[u8]>]| -> String {
        targets
            .iter()
            .map(|t| {
                let target =
                    candor_wire::Name::from_wire(t).map_or_else(|_| "?".into(), |n| n.to_string());
                format!(
                    "{target} (ALIAS at {})",
                    offline::owners_of(compiled, t).join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    anyhow::ensure!(
        outside.is_empty() || !options.upstreams.is_empty(),
        "{name} has ALIAS targets outside Candor's zones: {}; give a resolver to look them up \
         with --alias-upstream ADDR (as `candor serve` has)",
        describe(&outside)
    );
    let resolved = if outside.is_empty() {
        std::collections::HashMap::new()
    } else {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime for ALIAS lookups")?;
        runtime.block_on(offline::resolve_targets(
            &outside,
            &options.upstreams,
            options.timeout,
        ))
    };
    let unanswered: Vec<Box<[u8]>> = outside
        .iter()
        .filter(|t| resolved.get(*t).is_none_or(Option::is_none))
        .cloned()
        .collect();
    anyhow::ensure!(
        unanswered.is_empty(),
        "no --alias-upstream answered for the ALIAS targets {} (timeout, error or SERVFAIL): \
         nothing exported",
        describe(&unanswered)
    );
    let keys = store.zone_signing_keys(name).map_err(explain)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let lookup = |t: &[u8]| resolved.get(t).cloned().flatten();
    let table = offline::signed_answers(compiled, &zones, &lookup, &keys, options.ttl_cap, now)
        .map_err(|failed| {
            let list: Vec<String> = failed
                .iter()
                .map(|f| format!("{}: {}", f.owner, f.why))
                .collect();
            anyhow::anyhow!(
                "cannot sign the ALIAS answers of {name}: {}",
                list.join("; ")
            )
        })?;
    Ok((zones, table))
}

/// Prints a zone's DNSSEC state, each key's and the next event (to
/// stderr), the DS records the parent should hold, and the CDS and CDNSKEY
/// records the zone publishes (to stdout).
fn print_status(store: &candor_store::Store, account: i64, zone: &str) -> anyhow::Result<()> {
    let state = store.dnssec(account, zone).map_err(explain)?;
    let info = store.zone(account, zone).map_err(explain)?;
    let Some(since) = state.created_at else {
        eprintln!("{}: DNSSEC is not enabled", info.name);
        return Ok(());
    };
    let records = store.ds_records(account, zone).map_err(explain)?;
    let keys = store.dnssec_keys_status(account, zone).map_err(explain)?;
    eprintln!("{}: DNSSEC enabled since {since}", info.name);
    if let Some(keys) = &keys {
        if let Some(d) = &keys.disabling_since {
            eprintln!(
                "  being disabled since {d}: the zone asks the parent to remove the DS \
                 (CDS/CDNSKEY DELETE)"
            );
        }
        for k in &keys.keys {
            eprintln!(
                "  key {} {} algorithm {}: {} (published {}{}{}{}){}",
                k.key_tag,
                k.role.to_uppercase(),
                k.algorithm,
                k.state,
                k.published_at,
                k.active_at
                    .as_ref()
                    .map_or(String::new(), |t| format!(", active {t}")),
                k.retired_at
                    .as_ref()
                    .map_or(String::new(), |t| format!(", retired {t}")),
                k.removed_at
                    .as_ref()
                    .map_or(String::new(), |t| format!(", removed {t}")),
                k.ds.map_or(String::new(), |d| format!("; DS {d}")),
            );
        }
        match &keys.next_event {
            Some((Some(at), what)) => eprintln!("  next: {what} at {at}"),
            Some((None, what)) => eprintln!("  next: {what}"),
            None => eprintln!("  next: nothing scheduled (or `candor serve` has not looked yet)"),
        }
    }
    eprintln!(
        "DS records for the registrar (only once their DS is \"offered\"), then the CDS and \
         CDNSKEY records the zone publishes:"
    );
    let owner = format!("{}.", info.name);
    let wanted = |state: &str| matches!(state, "not offered yet" | "offered" | "at the parent");
    for ds in records.iter().filter(|d| wanted(d.state)) {
        out(&format!(
            "{owner}\tIN\tDS\t{} {} {} {}",
            ds.keytag, ds.algorithm, ds.digest_type, ds.digest
        ))?;
    }
    if keys.as_ref().is_some_and(|k| k.disabling_since.is_some()) {
        out(&format!("{owner}\tIN\tCDS\t0 0 0 00"))?;
        out(&format!("{owner}\tIN\tCDNSKEY\t0 3 0 AA=="))?;
        return Ok(());
    }
    for ds in records
        .iter()
        .filter(|d| matches!(d.state, "offered" | "at the parent"))
    {
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
