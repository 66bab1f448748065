//! The management commands: tokens, zones and records, working on the
//! embedded store directly (an existing one: only `candor serve` creates a
//! store). A running `candor serve` on the same data directory picks the
//! changes up within a second.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use candor_store::{Actor, RecordInput, RecordQuery, Store, StoreError, ZoneQuery, ZoneText};
use clap::{Args, Subcommand};

use crate::data::{DataArgs, open_store};

/// Options every management command takes.
#[derive(Args, Debug)]
pub(crate) struct Common {
    /// The store.
    #[command(flatten)]
    data: DataArgs,
    /// Account to act for (default: the first account).
    #[arg(long, value_name = "ID", global = true)]
    account: Option<i64>,
}

/// `candor alias …`.
#[derive(Subcommand, Debug)]
pub(crate) enum AliasCommand {
    /// Switch refreshing of ALIAS targets on or off for running servers;
    /// when off they serve the answers they have cached, and send nothing
    /// upstream.
    Refresh {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[command(flatten)]
        common: Common,
    },
}

/// `candor account …`.
#[derive(Subcommand, Debug)]
pub(crate) enum AccountCommand {
    /// Create a customer account (prints its id); give it a token with
    /// `candor token create --account ID`. The first account is the
    /// operator's.
    Create {
        /// The account's e-mail address.
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the accounts: id, e-mail, created.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `candor user …`.
#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Create a user and make them a member of the account.
    Create {
        /// E-mail address.
        email: String,
        /// Role in the account: owner or member.
        #[arg(long, default_value = "member")]
        role: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the account's members.
    List {
        #[command(flatten)]
        common: Common,
    },
}

/// `candor token …`.
#[derive(Subcommand, Debug)]
pub(crate) enum TokenCommand {
    /// Create an API token; its secret is printed once and only its hash is kept.
    Create {
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Make the token act for this user (a member of the account).
        #[arg(long, value_name = "ID")]
        user: Option<i64>,
        #[command(flatten)]
        common: Common,
    },
    /// List the account's tokens (never their secrets).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a token.
    Revoke {
        /// Token id (from `token list`).
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

/// `candor zone …` commands that work on the store.
#[derive(Subcommand, Debug)]
pub(crate) enum StoreZoneCommand {
    /// List the account's zones.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Create an empty zone (SOA and NS records are added for you).
    Create {
        /// Zone name, e.g. example.com.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
    /// Delete a zone and all its records.
    Delete {
        /// Zone name.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
    /// Replace a zone's records with those of a zone file (created if new);
    /// nothing changes if any line is wrong.
    Import {
        /// Zone name.
        zone: String,
        /// RFC 1035 zone file.
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Print a zone in RFC 1035 format.
    Export {
        /// Zone name.
        zone: String,
        #[command(flatten)]
        common: Common,
    },
}

/// `candor record …`.
#[derive(Subcommand, Debug)]
pub(crate) enum RecordCommand {
    /// Add a record, e.g. `candor record add example.com www A 192.0.2.1`.
    Add {
        /// Zone name.
        zone: String,
        /// Owner name: relative to the zone ("www"; "" or @ for the apex),
        /// or fully qualified with a final dot ("www.example.com.").
        name: String,
        /// Record type (A, AAAA, CNAME, MX, TXT, SRV, CAA, ...).
        #[arg(value_name = "TYPE")]
        rtype: String,
        /// Content as in DNSimple (MX: the host; SRV: "weight port target").
        content: String,
        /// TTL in seconds (default 3600).
        #[arg(long)]
        ttl: Option<u32>,
        /// Priority (MX, SRV).
        #[arg(long)]
        priority: Option<u16>,
        #[command(flatten)]
        common: Common,
    },
    /// List a zone's records.
    List {
        /// Zone name.
        zone: String,
        /// Only records with exactly this name.
        #[arg(long)]
        name: Option<String>,
        /// Only records of this type.
        #[arg(long = "type", value_name = "TYPE")]
        rtype: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Delete a record by id (from `record list`).
    Delete {
        /// Zone name.
        zone: String,
        /// Record id.
        id: i64,
        #[command(flatten)]
        common: Common,
    },
}

/// Who the CLI acts as in the audit log.
const CLI: Actor = Actor {
    token_id: None,
    via: "cli",
    remote: None,
};

/// Opens the store and picks the account.
fn open(common: &Common) -> anyhow::Result<(Store, i64)> {
    let store = open_store(&common.data)?;
    let account = match common.account {
        Some(id) => {
            store
                .account(id)?
                .with_context(|| format!("no account {id}"))?;
            id
        }
        None => store
            .accounts()?
            .first()
            .map(|a| a.id)
            .context("the store has no account yet: run `candor serve` once to create one")?,
    };
    Ok((store, account))
}

/// Writes a line to standard output.
fn out(line: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{line}").context("cannot write to stdout")
}

/// Turns a store error into a message naming the field and the reason.
fn explain(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs `candor token …`.
pub(crate) fn token(cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create { name, user, common } => {
            let (store, account) = open(&common)?;
            let (info, secret) = match user {
                Some(user) => store.create_user_token(account, user, &name),
                None => store.create_token(account, &name),
            }
            .map_err(explain)?;
            eprintln!(
                "created token {} ({}) for account {account}; the secret is shown once:",
                info.id, info.name
            );
            out(&secret)?;
        }
        TokenCommand::List { common } => {
            let (store, account) = open(&common)?;
            for t in store.tokens(account).map_err(explain)? {
                let used = t.last_used_at.as_deref().unwrap_or("never");
                out(&format!(
                    "{}\t{}\tcreated {}\tlast used {used}",
                    t.id, t.name, t.created_at
                ))?;
            }
        }
        TokenCommand::Revoke { id, common } => {
            let (store, account) = open(&common)?;
            store.revoke_token(account, id).map_err(explain)?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor alias …`.
pub(crate) fn alias(cmd: AliasCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AliasCommand::Refresh { state, common } => {
            let (store, _) = open(&common)?;
            store
                .set_setting(crate::alias::REFRESH_SETTING, &state)
                .map_err(explain)?;
            eprintln!("ALIAS refreshing {state}; running servers follow within a second");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor account …`.
pub(crate) fn account(cmd: AccountCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AccountCommand::Create { email, data } => {
            let store = open_store(&data)?;
            let account = store.create_account(&email).map_err(explain)?;
            eprintln!("created account {} ({})", account.id, account.email);
            out(&account.id.to_string())?;
        }
        AccountCommand::List { data } => {
            let store = open_store(&data)?;
            for a in store.accounts().map_err(explain)? {
                out(&format!("{}\t{}\tcreated {}", a.id, a.email, a.created_at))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor user …`.
pub(crate) fn user(cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Create {
            email,
            role,
            common,
        } => {
            let (store, account) = open(&common)?;
            let user = store.create_user(&email).map_err(explain)?;
            store.add_member(account, user.id, &role).map_err(explain)?;
            eprintln!(
                "created user {} ({}) as {role} of account {account}",
                user.id, user.email
            );
            out(&user.id.to_string())?;
        }
        UserCommand::List { common } => {
            let (store, account) = open(&common)?;
            for (user, role) in store.members(account).map_err(explain)? {
                out(&format!(
                    "{}\t{}\t{role}\tcreated {}",
                    user.id, user.email, user.created_at
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the store side of `candor zone …`.
pub(crate) fn zone(cmd: StoreZoneCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoreZoneCommand::List { common } => {
            let (store, account) = open(&common)?;
            let mut page = 1;
            loop {
                let q = ZoneQuery {
                    name_like: None,
                    sort: None,
                    page,
                    per_page: 100,
                };
                let zones = store.zones(account, &q).map_err(explain)?;
                for z in &zones.items {
                    out(&format!(
                        "{}\tserial {}\tupdated {}",
                        z.name, z.serial, z.updated_at
                    ))?;
                }
                if page >= zones.total_pages {
                    break;
                }
                page += 1;
            }
        }
        StoreZoneCommand::Create { zone, common } => {
            let (store, account) = open(&common)?;
            let change = store.create_zone(account, &zone, &CLI).map_err(explain)?;
            eprintln!(
                "created zone {} (serial {})",
                change.zone.name, change.zone.serial
            );
        }
        StoreZoneCommand::Delete { zone, common } => {
            let (store, account) = open(&common)?;
            store.delete_zone(account, &zone, &CLI).map_err(explain)?;
            eprintln!("deleted zone {zone}");
        }
        StoreZoneCommand::Import { zone, file, common } => {
            let (store, account) = open(&common)?;
            // Read here first so a missing file is reported as such.
            std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let started = Instant::now();
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar.set_message(format!("importing {}", file.display()));
            // A new zone is created in the import's transaction: if the
            // file is refused, nothing was created.
            let result = store.import_zone_file_creating(
                account,
                &zone,
                ZoneText::File(&file),
                &CLI,
                &mut |n| bar.set_message(format!("importing {}: {n} records", file.display())),
            );
            bar.finish_and_clear();
            let (summary, change) = result.map_err(explain)?;
            eprintln!(
                "imported {} records into {} (replaced {}) in {:.2} s; serial {}",
                summary.records,
                change.zone.name,
                summary.removed,
                started.elapsed().as_secs_f64(),
                change.zone.serial
            );
        }
        StoreZoneCommand::Export { zone, common } => {
            let (store, account) = open(&common)?;
            let text = store.export_zone_file(account, &zone).map_err(explain)?;
            std::io::stdout()
                .write_all(text.as_bytes())
                .context("cannot write to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor record …`.
pub(crate) fn record(cmd: RecordCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RecordCommand::Add {
            zone,
            name,
            rtype,
            content,
            ttl,
            priority,
            common,
        } => {
            let (store, account) = open(&common)?;
            let name = if name == "@" { String::new() } else { name };
            let input = RecordInput {
                name,
                rtype,
                content,
                ttl,
                priority,
                regions: None,
            };
            let (record, change) = store
                .create_record(account, &zone, &input, &CLI)
                .map_err(explain)?;
            eprintln!(
                "created record {} in {} (serial {})",
                record.id, zone, change.zone.serial
            );
            out(&record.id.to_string())?;
        }
        RecordCommand::List {
            zone,
            name,
            rtype,
            common,
        } => {
            let (store, account) = open(&common)?;
            let mut page = 1;
            loop {
                let q = RecordQuery {
                    name: name.clone(),
                    name_like: None,
                    rtype: rtype.clone(),
                    sort: Some("id:asc".to_owned()),
                    page,
                    per_page: 100,
                };
                let records = store.records(account, &zone, &q).map_err(explain)?;
                for r in &records.items {
                    let owner = if r.name.is_empty() { "@" } else { &r.name };
                    let prio = r.priority.map(|p| format!("{p} ")).unwrap_or_default();
                    out(&format!(
                        "{}\t{owner}\t{}\t{}\t{prio}{}",
                        r.id, r.ttl, r.rtype, r.content
                    ))?;
                }
                if page >= records.total_pages {
                    break;
                }
                page += 1;
            }
        }
        RecordCommand::Delete { zone, id, common } => {
            let (store, account) = open(&common)?;
            let change = store
                .delete_record(account, &zone, id, &CLI)
                .map_err(explain)?;
            eprintln!(
                "deleted record {id} from {zone} (serial {})",
                change.zone.serial
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
