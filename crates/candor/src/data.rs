//! The data directory: the embedded store, first-start seeding, and
//! publishing store changes to the name servers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use candor_store::{Actor, RecordInput, Store, StoreConfig, StoreError, ZoneChange};
use candor_wire::Name;
use candor_zone::ZoneSet;

use candor_redirect::{Redirects, SharedRedirects};
use candor_server::SharedZones;

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
    /// for several); without one, such targets are refused.
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
fn store_config(args: &DataArgs) -> anyhow::Result<StoreConfig> {
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
        alias_resolver: !args.alias_upstreams.is_empty(),
    })
}

/// Opens the store in the data directory, creating the directory and the
/// database if needed: for `serve`, which makes the store on first start.
pub(crate) fn open_or_create_store(args: &DataArgs) -> anyhow::Result<Store> {
    let config = store_config(args)?;
    let path = db_path(&args.dir());
    Store::open(&path, config).with_context(|| format!("cannot open the store {}", path.display()))
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
    std::fs::create_dir_all(&dir)
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
        .add_member(account.id, user.id, "owner")
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

/// Applies store changes to the served zone set, one at a time.
#[derive(Clone)]
pub(crate) struct Publisher {
    /// The served zones.
    zones: SharedZones,
    /// Serial and name of every store zone as published; the lock also
    /// serializes publications (each builds on the previous set).
    published: Arc<Mutex<HashMap<i64, (u32, String)>>>,
}

impl Publisher {
    /// A publisher for `zones`.
    pub(crate) fn new(zones: SharedZones) -> Publisher {
        Publisher {
            zones,
            published: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Swaps in a zone set with the change applied. Readers are never
    /// blocked; the old set is freed when the last worker lets go of it.
    pub(crate) fn publish(&self, change: &ZoneChange) {
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let mut set = ZoneSet::clone(&self.zones.load());
        match &change.compiled {
            Some(zone) => {
                set.insert(zone.clone());
                published.insert(
                    change.zone.id,
                    (change.zone.serial, change.zone.name.clone()),
                );
            }
            None => {
                set = without(&set, &change.zone.name);
                published.remove(&change.zone.id);
            }
        }
        self.zones.store(Arc::new(set));
    }

    /// Replaces the zones from files (SIGHUP), keeping the store's zones.
    pub(crate) fn replace_files(&self, files: ZoneSet) {
        let published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let mut set = files;
        let current = self.zones.load();
        for (_, name) in published.values() {
            if let Ok(apex) = host(name)
                && let Some(zone) = current.get(apex.to_lowercase().as_wire())
            {
                set.insert(zone.clone());
            }
        }
        self.zones.store(Arc::new(set));
    }

    /// Stops serving the store zone `id`.
    fn remove(&self, id: i64) {
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, name)) = published.remove(&id) {
            let set = without(&self.zones.load(), &name);
            self.zones.store(Arc::new(set));
        }
    }

    /// The serial published for store zone `id`.
    fn serial(&self, id: i64) -> Option<u32> {
        let published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        published.get(&id).map(|p| p.0)
    }

    /// Ids of the store zones being served.
    fn ids(&self) -> Vec<i64> {
        let published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        published.keys().copied().collect()
    }
}

/// A copy of `set` without the zone named `zone` (presentation form).
fn without(set: &ZoneSet, zone: &str) -> ZoneSet {
    match host(zone) {
        Ok(name) => set.without(name.to_lowercase().as_wire()),
        Err(_) => set.clone(),
    }
}

/// Watches the store for changes made by other processes (the CLI, or a
/// second `serve` on the same data) and publishes them: a zone whose serial
/// differs from the published one is recompiled and swapped in, a zone that
/// is gone stops being served. Changes made through this process's API are
/// published when they are made, so they are not compiled twice.
pub(crate) async fn follow_store(
    store: Arc<Store>,
    publisher: Publisher,
    redirects: SharedRedirects,
) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let st = store.clone();
        let versions = match tokio::task::spawn_blocking(move || st.zone_versions()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                tracing::warn!("cannot read zone versions: {e}");
                continue;
            }
            Err(_) => return,
        };
        let mut seen = HashSet::new();
        for v in versions {
            seen.insert(v.id);
            if publisher.serial(v.id) == Some(v.serial) {
                continue;
            }
            let st = store.clone();
            match tokio::task::spawn_blocking(move || st.compile_zone(v.id)).await {
                Ok(Ok(change)) => {
                    tracing::info!(zone = %v.name, serial = v.serial, "zone changed in the store");
                    publisher.publish(&change);
                    let (st, r) = (store.clone(), redirects.clone());
                    let _ = tokio::task::spawn_blocking(move || refresh_redirects(&st, &r)).await;
                }
                Ok(Err(e)) => tracing::warn!(zone = %v.name, "cannot compile changed zone: {e}"),
                Err(_) => return,
            }
        }
        let mut removed = false;
        for id in publisher.ids() {
            if !seen.contains(&id) {
                publisher.remove(id);
                removed = true;
            }
        }
        if removed {
            let (st, r) = (store.clone(), redirects.clone());
            let _ = tokio::task::spawn_blocking(move || refresh_redirects(&st, &r)).await;
        }
    }
}
