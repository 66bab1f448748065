//! The data directory: the embedded store, first-start seeding, and the
//! redirector's map.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use candor_store::{Actor, RecordInput, Store, StoreConfig, StoreError};
use candor_wire::Name;

use candor_redirect::{Redirects, SharedRedirects};

/// Store settings shared by `serve` and the CLI.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DataArgs {
    /// Directory of the embedded store [default: candor-data]. `serve`
    /// creates it on first start; other commands need it to exist.
    #[arg(long, value_name = "DIR", env = "CANDOR_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Name servers put in the NS and SOA records of new zones (repeat for several).
    #[arg(
        long = "nameserver",
        value_name = "NAME",
        default_values_t = ["ns1.candor.test".to_owned(), "ns2.candor.test".to_owned()]
    )]
    pub(crate) nameservers: Vec<String>,
    /// Mailbox of the zones' SOA records, as a name (hostmaster.example.com).
    #[arg(long, value_name = "NAME", default_value = "hostmaster.candor.test")]
    pub(crate) hostmaster: String,
    /// Address names with URL records answer with: where the HTTP redirector
    /// is reachable (repeat for several, IPv4 and IPv6).
    #[arg(long = "redirect-address", value_name = "IP", default_values_t = [std::net::IpAddr::from([127, 0, 0, 1])])]
    pub(crate) redirect_addresses: Vec<std::net::IpAddr>,
    /// Upstream resolvers for ALIAS targets outside Candor's zones (repeat
    /// for several); without one, such targets answer SERVFAIL (the zone
    /// itself serves).
    #[arg(long = "alias-upstream", value_name = "ADDR")]
    pub(crate) alias_upstreams: Vec<std::net::SocketAddr>,
}

impl DataArgs {
    /// The data directory.
    pub(crate) fn dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("candor-data"))
    }
}

/// Parses a host name given on the command line.
fn host(text: &str) -> anyhow::Result<Name> {
    let absolute = if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    };
    Name::from_text(&absolute, None).map_err(|e| anyhow::anyhow!("bad name {text:?}: {e}"))
}

/// The store's settings from the command line.
pub(crate) fn store_config(args: &DataArgs) -> anyhow::Result<StoreConfig> {
    Ok(StoreConfig {
        nameservers: args
            .nameservers
            .iter()
            .map(|n| host(n))
            .collect::<anyhow::Result<_>>()?,
        hostmaster: host(&args.hostmaster)?,
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604800,
        soa_minimum: 300,
        redirector: args.redirect_addresses.clone(),
        region: None,
    })
}

/// Opens the store in the data directory, creating the directory and the
/// database if needed: for `serve`, which makes the store on first start.
/// Zones compile to the view of `region` (`serve --region`; `None`: the
/// global view).
pub(crate) fn open_or_create_store(
    args: &DataArgs,
    region: Option<String>,
) -> anyhow::Result<Store> {
    let config = StoreConfig {
        region,
        ..store_config(args)?
    };
    let path = db_path(&args.dir());
    Store::open(&path, config).with_context(|| format!("cannot open the store {}", path.display()))
}

/// Warns when the data directory is open to other users: it holds the
/// store, the status database and the last known good zones (the
/// directories `serve` creates are private; one made beforehand may not be).
pub(crate) fn warn_if_not_private(args: &DataArgs) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = args.dir();
        if let Ok(meta) = std::fs::metadata(&dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    data_dir = %dir.display(),
                    mode = format!("{mode:o}"),
                    "the data directory is open to other users: chmod 700 it"
                );
            }
        }
    }
}

/// Where last-known-good copies of the store's zones are kept: a server
/// with a region keeps its own view's (`last-good-ams`), so servers of
/// several regions can share one data directory.
pub(crate) fn last_good_dir(args: &DataArgs, region: Option<&str>) -> PathBuf {
    match region {
        Some(region) => args.dir().join(format!("last-good-{region}")),
        None => args.dir().join("last-good"),
    }
}

/// Opens the existing store in the data directory, creating nothing: for
/// the CLI, where a missing store means a wrong directory.
pub(crate) fn open_store(args: &DataArgs) -> anyhow::Result<Store> {
    let config = store_config(args)?;
    let path = db_path(&args.dir());
    match Store::open_existing(&path, config) {
        Ok(store) => Ok(store),
        Err(StoreError::Missing(_)) => {
            let create = format!(
                "start `candor serve --data-dir {}` once to create one",
                args.dir().display()
            );
            Err(missing("Candor store", &path, &create))
        }
        Err(e) => Err(anyhow::Error::new(e))
            .with_context(|| format!("cannot open the store {}", path.display())),
    }
}

/// The error for a database that a CLI command found missing at `path`;
/// `create` says how to make one.
fn missing(what: &str, path: &Path, create: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "no {what} at {} ({create}, or pass --data-dir to name the directory that has it)",
        path.display(),
    )
}

/// Where the database file lives.
fn db_path(dir: &Path) -> PathBuf {
    dir.join("candor.db")
}

/// Where the status page's database (a file of its own) lives.
fn status_path(dir: &Path) -> PathBuf {
    dir.join("status.db")
}

/// Opens the status page's database in the data directory, creating the
/// directory and the database if needed: for `serve`.
pub(crate) fn open_or_create_status(
    args: &DataArgs,
) -> anyhow::Result<candor_status::db::StatusDb> {
    let dir = args.dir();
    candor_store::create_private_dir(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let path = status_path(&dir);
    candor_status::db::StatusDb::open(&path)
        .with_context(|| format!("cannot open the status database {}", path.display()))
}

/// Opens the existing status database in the data directory, creating
/// nothing: for the CLI.
pub(crate) fn open_status(args: &DataArgs) -> anyhow::Result<candor_status::db::StatusDb> {
    let path = status_path(&args.dir());
    match candor_status::db::StatusDb::open_existing(&path) {
        Ok(db) => Ok(db),
        Err(candor_status::db::StatusError::Missing(_)) => {
            // `serve --no-status` makes the store but not this database.
            let create = format!(
                "start `candor serve --data-dir {}` once, without --no-status, to create one",
                args.dir().display()
            );
            Err(missing("status database", &path, &create))
        }
        Err(e) => Err(anyhow::Error::new(e))
            .with_context(|| format!("cannot open the status database {}", path.display())),
    }
}

/// On a fresh store: a demo account, an API token (printed once) and a demo
/// zone, so the README's first command gives something to query and edit.
pub(crate) fn seed_if_empty(store: &Store) -> anyhow::Result<()> {
    if !store.accounts().context("cannot read accounts")?.is_empty() {
        return Ok(());
    }
    let account = store
        .create_account("demo@candor.test")
        .context("cannot create the demo account")?;
    let user = store
        .create_user("demo@candor.test")
        .context("cannot create the demo user")?;
    store
        .add_member(account.id, user.id, candor_store::Role::Owner)
        .context("cannot add the demo user")?;
    let (_, secret) = store
        .create_user_token(account.id, user.id, "demo")
        .context("cannot create a token")?;
    let actor = Actor {
        token_id: None,
        via: "seed",
        remote: None,
    };
    store
        .create_zone(account.id, "example.com", &actor)
        .context("cannot create the demo zone")?;
    let records = [
        ("", "A", "192.0.2.10", None),
        ("", "AAAA", "2001:db8::10", None),
        ("", "MX", "mail.example.com", Some(10)),
        ("", "TXT", "v=spf1 mx -all", None),
        ("www", "CNAME", "example.com", None),
        ("mail", "A", "192.0.2.25", None),
    ];
    for (name, rtype, content, priority) in records {
        let input = RecordInput {
            name: name.to_owned(),
            rtype: rtype.to_owned(),
            content: content.to_owned(),
            ttl: None,
            priority,
            regions: None,
        };
        store
            .create_record(account.id, "example.com", &input, &actor)
            .with_context(|| format!("cannot create the demo record {rtype} {content}"))?;
    }
    // Shown once, on purpose on stderr next to the logs: it is not stored.
    eprintln!(
        "\ncreated demo account {} (demo@candor.test) with zone example.com\n\
         API token (shown once, store it now): {secret}\n",
        account.id
    );
    Ok(())
}

/// Rebuilds the redirector's map from the store's URL records.
pub(crate) fn refresh_redirects(store: &Store, redirects: &SharedRedirects) {
    match store.redirects() {
        Ok(list) => {
            let entries = list.into_iter().filter_map(|(host, target)| {
                candor_redirect::parse_target(&target)
                    .ok()
                    .map(|t| (host, t))
            });
            redirects.store(Arc::new(Redirects::new(entries)));
        }
        Err(e) => tracing::warn!("cannot read URL records: {e}"),
    }
}
