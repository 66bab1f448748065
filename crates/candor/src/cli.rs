//! The management commands: tokens, zones and records, working on the
//! embedded store directly (an existing one: only `candor serve` creates a
//! store). A running `candor serve` on the same data directory picks the
//! changes up within a second.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use candor_store::{Actor, RecordInput, RecordQuery, Role, Store, StoreError, ZoneQuery, ZoneText};
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

impl Common {
    /// The `--alias-upstream` resolvers given (`candor dnssec export`
    /// looks ALIAS targets up there).
    pub(crate) fn alias_upstreams(&self) -> &[std::net::SocketAddr] {
        &self.data.alias_upstreams
    }
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

/// `candor tsig …`.
#[derive(Subcommand, Debug)]
pub(crate) enum TsigCommand {
    /// Create a TSIG key for zone transfers and NOTIFY; its secret (base64)
    /// is printed once, to give to the secondary. Running servers pick the
    /// key up within a second.
    Add {
        /// The key's name, e.g. `xfr.example.com` (both sides use it).
        name: String,
        /// hmac-sha256, hmac-sha384 or hmac-sha512.
        #[arg(long, default_value = "hmac-sha256")]
        algorithm: String,
        /// Store a secret made elsewhere instead (a primary's key, for
        /// `serve --secondary`): read as base64 from the first line of
        /// standard input, so it appears in no command line.
        #[arg(long)]
        secret_from_stdin: bool,
        #[command(flatten)]
        common: Common,
    },
    /// List the TSIG keys (never their secrets).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Remove a TSIG key; transfers and NOTIFYs that need it stop working.
    Remove {
        /// The key's name.
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

/// `candor account …`: the operator's view of every account.
#[derive(Subcommand, Debug)]
pub(crate) enum AccountCommand {
    /// Create a customer's account; prints its id.
    Create {
        /// The account's e-mail address.
        email: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List every account (id, e-mail, active or suspended).
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Suspend an account: its zones keep being served, its tokens may
    /// only read.
    Suspend {
        /// Account id.
        id: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Lift an account's suspension.
    Unsuspend {
        /// Account id.
        id: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete an account with its zones (running servers stop serving
    /// them within a second), tokens and members.
    Delete {
        /// Account id.
        id: i64,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// The CLI as an audit-log actor.
fn cli_actor() -> Actor {
    Actor {
        token_id: None,
        via: "cli",
        remote: None,
    }
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
            let operator = store.operator_account()?;
            for a in store.accounts()? {
                let state = match (&a.suspended_at, operator == Some(a.id)) {
                    (_, true) => "operator".to_owned(),
                    (Some(at), false) => format!("suspended {at}"),
                    (None, false) => "active".to_owned(),
                };
                out(&format!("{}\t{}\t{state}", a.id, a.email))?;
            }
        }
        AccountCommand::Suspend { id, data } => {
            open_store(&data)?
                .suspend_account(id, &cli_actor())
                .map_err(explain)?;
            eprintln!(
                "account {id} suspended: its zones are still served, its tokens may only read"
            );
        }
        AccountCommand::Unsuspend { id, data } => {
            open_store(&data)?
                .unsuspend_account(id, &cli_actor())
                .map_err(explain)?;
            eprintln!("account {id} is active");
        }
        AccountCommand::Delete { id, data } => {
            let deleted = open_store(&data)?
                .delete_account(id, &cli_actor())
                .map_err(explain)?;
            eprintln!("deleted account {id} and its {} zone(s)", deleted.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor init --email …`: creates the operator's account (the first
/// account) in a new or empty store, its first owner and that owner's
/// token, which is printed this once.
pub(crate) fn init(email: &str, data: &DataArgs) -> anyhow::Result<ExitCode> {
    let store = crate::data::open_or_create_store(data, None)?;
    if !store.accounts()?.is_empty() {
        anyhow::bail!(
            "the store in {} already has accounts: init only starts an empty one",
            data.dir().display()
        );
    }
    let account = store.create_account(email).map_err(explain)?;
    let user = store.create_user(email).map_err(explain)?;
    store
        .add_member(account.id, user.id, Role::Owner)
        .map_err(explain)?;
    let (_, secret) = store
        .create_user_token(account.id, user.id, "init")
        .map_err(explain)?;
    eprintln!(
        "created the operator's account {} with owner {email}; its API token (shown once):",
        account.id
    );
    out(&secret)?;
    Ok(ExitCode::SUCCESS)
}

/// `candor user …`.
#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Create a user and make them a member of the account.
    Create {
        /// E-mail address.
        email: String,
        /// Role in the account: owner or member.
        #[arg(long, default_value = "member", value_parser = ["owner", "member"])]
        role: String,
        #[command(flatten)]
        common: Common,
    },
    /// Make a user (created if new) a member of the account, or change
    /// their role.
    Add {
        /// E-mail address.
        email: String,
        /// Role in the account: owner or member.
        #[arg(long, default_value = "member", value_parser = ["owner", "member"])]
        role: String,
        #[command(flatten)]
        common: Common,
    },
    /// End a user's membership of the account; their tokens in it are revoked.
    Remove {
        /// User id (from `user list`).
        id: i64,
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
        /// Serve the record only from the name servers of these regions
        /// (`serve --region`), comma-separated: `--regions ams,sv1`
        /// (default: global, every name server).
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        regions: Option<Vec<String>>,
        #[command(flatten)]
        common: Common,
    },
    /// List a zone's records: id, name, TTL, type and content, tab
    /// separated, and the regions of a regional record.
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
pub(crate) fn open(common: &Common) -> anyhow::Result<(Store, i64)> {
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
            .context(
                "the store has no account yet: run `candor init --email ...` (or `candor serve` once for the demo)",
            )?,
    };
    Ok((store, account))
}

/// Writes a line to standard output.
pub(crate) fn out(line: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{line}").context("cannot write to stdout")
}

/// Turns a store error into a message naming the field and the reason.
pub(crate) fn explain(e: StoreError) -> anyhow::Error {
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
            let (info, secret) = store
                .create_token_by(account, user, &name, &CLI)
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
            store.revoke_token_by(account, id, &CLI).map_err(explain)?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor tsig …`. Keys belong to the server, not to an account.
pub(crate) fn tsig(cmd: TsigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TsigCommand::Add {
            name,
            algorithm,
            secret_from_stdin: true,
            common,
        } => {
            let store = open_store(&common.data)?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let key = store
                .import_tsig_key(&name, &algorithm, &line)
                .map_err(explain)?;
            eprintln!("stored TSIG key {} ({})", key.name, key.algorithm);
        }
        TsigCommand::Add {
            name,
            algorithm,
            secret_from_stdin: false,
            common,
        } => {
            let store = open_store(&common.data)?;
            let (key, secret) = store.create_tsig_key(&name, &algorithm).map_err(explain)?;
            eprintln!(
                "created TSIG key {} ({}); the secret is shown once:",
                key.name, key.algorithm
            );
            out(&secret)?;
        }
        TsigCommand::List { common } => {
            let store = open_store(&common.data)?;
            for k in store.tsig_keys().map_err(explain)? {
                out(&format!(
                    "{}\t{}\tcreated {}",
                    k.name, k.algorithm, k.created_at
                ))?;
            }
        }
        TsigCommand::Remove { name, common } => {
            let store = open_store(&common.data)?;
            let key = store.delete_tsig_key(&name).map_err(explain)?;
            eprintln!("removed TSIG key {}", key.name);
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
                .set_setting(candor_alias::REFRESH_SETTING, &state)
                .map_err(explain)?;
            eprintln!("ALIAS refreshing {state}; running servers follow within a second");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A role named on the command line (clap has checked the name).
fn parse_role(name: &str) -> anyhow::Result<Role> {
    Role::parse(name).with_context(|| format!("unknown role {name}: use owner or member"))
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
            let role = parse_role(&role)?;
            let user = store.create_user(&email).map_err(explain)?;
            store.add_member(account, user.id, role).map_err(explain)?;
            eprintln!(
                "created user {} ({}) as {role} of account {account}",
                user.id, user.email
            );
            out(&user.id.to_string())?;
        }
        UserCommand::Add {
            email,
            role,
            common,
        } => {
            let role = parse_role(&role)?;
            let (store, account) = open(&common)?;
            let user = match store.user_by_email(&email)? {
                Some(user) => user,
                None => store.create_user(&email).map_err(explain)?,
            };
            store.add_member(account, user.id, role).map_err(explain)?;
            eprintln!(
                "user {} ({}) is {role} of account {account}",
                user.id, user.email
            );
            out(&user.id.to_string())?;
        }
        UserCommand::Remove { id, common } => {
            let (store, account) = open(&common)?;
            store.remove_member(account, id).map_err(explain)?;
            eprintln!("user {id} left account {account}; their tokens in it are revoked");
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
            // This process does not serve: a signed zone is checked here
            // and signed by `candor serve` when it sees the new serial, not
            // signed here as well (as for `candor record`).
            candor_store::set_signing_deferred(true);
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
    // This process does not serve: a write to a signed zone is checked
    // here and signed by `candor serve` (only what changed, from the
    // journal), not signed in full here as well.
    candor_store::set_signing_deferred(true);
    match cmd {
        RecordCommand::Add {
            zone,
            name,
            rtype,
            content,
            ttl,
            priority,
            regions,
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
                regions,
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
                    // A regional record ends with its regions (`ams,sv1`).
                    let regions = match r.regions.as_slice() {
                        [global] if global == "global" => String::new(),
                        list => format!("\t{}", list.join(",")),
                    };
                    out(&format!(
                        "{}\t{owner}\t{}\t{}\t{prio}{}{regions}",
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
