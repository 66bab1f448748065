//! The status page inside `candor serve`: monitors that probe the name
//! servers, the API and the redirector over the wire; the engine that turns
//! their rounds into component states and incidents; the pre-rendered
//! public site; the notifier that delivers the outbox to subscribers; and
//! the watcher that posts mitigation switches to the timeline.
//!
//! The status page runs on its own listener and its own database, and it
//! needs no DNS at all (probes go to addresses, pages are served from
//! memory), so it keeps telling the truth while the name servers are down.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use candor_notify::schedule::Limits;
use candor_notify::{Backoff, Mailer, SmtpConfig, SmtpSecurity, Webhooks};
use candor_probe::dns::Ask;
use candor_probe::{Target, Vantage};
use candor_server::SharedZones;
use candor_status::db::{ComponentSpec, NewUpdate, StatusDb, now};
use candor_status::engine::{Engine, Outcome, Thresholds};
use candor_status::model::{ComponentKind, IncidentStatus, UpdateSource};
use candor_status::web::subscribe::CheckWebhook;
use candor_status::web::{SharedSite, Site, Subscriptions};
use candor_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// `candor serve` options of the status page.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct StatusArgs {
    /// Address of the public status page (HTML, Atom feed, Statuspage-shaped JSON).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8054")]
    pub(crate) status_listen: SocketAddr,
    /// Do not run the status page and its monitors.
    #[arg(long)]
    pub(crate) no_status: bool,
    /// Title of the status page.
    #[arg(long, value_name = "TEXT", default_value = "Candor status")]
    pub(crate) status_name: String,
    /// Public URL of the status page, for links in feeds, e-mails and
    /// webhooks [default: http://<status-listen>].
    #[arg(long, value_name = "URL")]
    pub(crate) status_url: Option<String>,
    /// Location label of this server's name server listeners (e.g. Amsterdam).
    #[arg(long, value_name = "LABEL")]
    pub(crate) location: Option<String>,
    /// Another name server to monitor: `ADDR`, `NAME=ADDR` or
    /// `NAME@LOCATION=ADDR` (repeat for several); with the address of one of
    /// our own listeners, the display name (and location) of that listener.
    #[arg(long = "status-nameserver", value_name = "[NAME[@LOCATION]=]ADDR")]
    pub(crate) status_nameservers: Vec<String>,
    /// A vantage point to probe from: `IP` or `NAME=IP`, the source address
    /// probes are sent from (repeat for several) [default: the system's choice].
    #[arg(long = "status-vantage", value_name = "[NAME=]IP")]
    pub(crate) status_vantages: Vec<String>,
    /// The name whose SOA the probes ask for [default: the first served zone].
    #[arg(long, value_name = "NAME")]
    pub(crate) status_canary: Option<String>,
    /// Milliseconds between probe rounds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub(crate) status_interval_ms: u64,
    /// A probe without an answer after this many milliseconds failed.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub(crate) status_timeout_ms: u64,
    /// Answers slower than this many milliseconds count as degraded.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub(crate) status_slow_ms: u32,
    /// Bad rounds in a row before a component's state worsens and an
    /// incident opens.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) status_fail_rounds: u32,
    /// Vantage points that must see a failure (0: a majority).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) status_quorum: usize,
    /// Rounds looked back over for failures that do not come in a row.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub(crate) status_window_rounds: u32,
    /// Percent of the window's rounds (and at least --status-fail-rounds
    /// of them) with failed, incomplete or slow probes that make a
    /// component degraded.
    #[arg(long, value_name = "PERCENT", default_value_t = 25)]
    pub(crate) status_window_share: u32,
    /// Seconds every probe must succeed before an incident resolves itself.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) status_hold: i64,
    /// Also write the rendered site as static files to this directory on
    /// every change (to publish it elsewhere).
    #[arg(long, value_name = "DIR")]
    pub(crate) status_static_dir: Option<PathBuf>,
    /// SMTP relay for e-mail subscribers, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) smtp_relay: Option<String>,
    /// Transport security towards the relay: none, starttls or tls.
    #[arg(long, value_name = "MODE", default_value = "starttls")]
    pub(crate) smtp_security: String,
    /// Sender address of status e-mails.
    #[arg(long, value_name = "ADDRESS", default_value = "status@candor.test")]
    pub(crate) smtp_from: String,
    /// User name for the relay (the password comes from CANDOR_SMTP_PASSWORD).
    #[arg(long, value_name = "NAME")]
    pub(crate) smtp_username: Option<String>,
    /// Password for the relay: better in the configuration file or
    /// CANDOR_SMTP_PASSWORD than here, where other users see it in the
    /// process list.
    #[arg(long, value_name = "PASSWORD")]
    pub(crate) smtp_password: Option<crate::config::Secret>,
    /// Also deliver webhooks to loopback and private addresses. Off by
    /// default: any account can subscribe a webhook, and must not make
    /// Candor call into its own network.
    #[arg(long)]
    pub(crate) webhook_allow_private: bool,
    /// Milliseconds to wait for a webhook receiver or the SMTP relay.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub(crate) notify_timeout_ms: u64,
    /// Webhooks of one account (and of the public page's subscribers,
    /// together) in flight at once; the operator's notifications and
    /// e-mails have a lane of their own.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub(crate) notify_per_account: usize,
    /// Subscriptions one account may make through the API.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) status_max_subscriptions: u32,
    /// For tests only: the notifier's clock runs ahead of the system's by
    /// the whole seconds written in this file (read at every look at the
    /// clock), so a test can live through a day of failed deliveries.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(crate) notify_clock_skew_file: Option<PathBuf>,
}

/// What `serve` needs to know to set the status page up.
pub(crate) struct Wiring {
    /// Our own DNS listeners.
    pub(crate) listen: Vec<SocketAddr>,
    /// The REST API's address, when it runs.
    pub(crate) api: Option<SocketAddr>,
    /// The redirector's address, when it runs.
    pub(crate) redirector: Option<SocketAddr>,
    /// The served zones (for the default canary).
    pub(crate) zones: SharedZones,
    /// The zone store, when served (for the mitigation switch).
    pub(crate) store: Option<Arc<Store>>,
    /// The status database.
    pub(crate) db: StatusDb,
    /// The store's publisher, when the store is served (for the "Zone
    /// publishing" component).
    pub(crate) publisher: Option<candor_publish::Publisher>,
    /// How the monitors reach the API over HTTPS (trusting the
    /// certificate it serves), when it serves HTTPS.
    pub(crate) api_tls: Option<Arc<candor_tls::ClientConfig>>,
    /// Whether the status page serves HTTPS (its default URL).
    pub(crate) https: bool,
    /// The secondaries watched, if any (the "Secondary name servers"
    /// component).
    pub(crate) fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// The running status page.
pub(crate) struct Running {
    /// The database, shared with the API.
    pub(crate) db: Arc<Mutex<StatusDb>>,
    /// Call after writing to the database: re-renders and delivers now.
    pub(crate) changed: Arc<dyn Fn() + Send + Sync>,
    /// The public site's router.
    pub(crate) router: axum::Router,
    /// The background tasks.
    pub(crate) tasks: Vec<JoinHandle<()>>,
    /// Probes by component and result, for the metrics.
    pub(crate) probes: Arc<crate::observe::ProbeStats>,
}

/// Runs `f` on the database on the blocking pool.
pub(crate) async fn with_db<T: Send + 'static>(
    db: &Arc<Mutex<StatusDb>>,
    f: impl FnOnce(&mut StatusDb) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    })
    .await
    .context("status database task failed")?
}

fn parse_nameserver(text: &str, location: Option<&str>) -> anyhow::Result<ComponentSpec> {
    let (label, addr) = match text.rsplit_once('=') {
        Some((label, addr)) => (Some(label.trim()), addr.trim()),
        None => (None, text.trim()),
    };
    let addr: SocketAddr = addr.parse().with_context(|| {
        format!("--status-nameserver {text:?}: {addr:?} is not an address with a port")
    })?;
    let (name, loc) = match label {
        Some(l) => match l.split_once('@') {
            Some((n, loc)) => (n.trim().to_owned(), Some(loc.trim().to_owned())),
            None => (l.to_owned(), location.map(str::to_owned)),
        },
        None => (format!("Name server {addr}"), location.map(str::to_owned)),
    };
    if name.is_empty() {
        anyhow::bail!("--status-nameserver {text:?}: the name is empty");
    }
    Ok(ComponentSpec {
        key: format!("ns:{addr}"),
        name,
        location: loc,
        description: Some(format!("DNS over UDP and TCP at {addr}")),
        kind: ComponentKind::NameServer,
    })
}

/// The name server components: our own listeners (named `Name server
/// ADDR` at `--location`), then the other name servers given. A
/// `--status-nameserver NAME[@LOCATION]=ADDR` naming one of our own
/// listeners gives it that display name (and location) in its place.
fn nameserver_specs(
    listen: &[SocketAddr],
    location: Option<&str>,
    given: &[String],
) -> anyhow::Result<Vec<ComponentSpec>> {
    let mut specs: Vec<ComponentSpec> = listen
        .iter()
        .map(|addr| ComponentSpec {
            key: format!("ns:{addr}"),
            name: format!("Name server {addr}"),
            location: location.map(str::to_owned),
            description: Some(format!("DNS over UDP and TCP at {addr}")),
            kind: ComponentKind::NameServer,
        })
        .collect();
    for text in given {
        let mut spec = parse_nameserver(text, None)?;
        match specs.iter_mut().find(|s| s.key == spec.key) {
            Some(own) => {
                if spec.location.is_none() {
                    spec.location = own.location.take();
                }
                *own = spec;
            }
            None => specs.push(spec),
        }
    }
    Ok(specs)
}

/// Sets the status page up and starts its tasks.
pub(crate) async fn start(
    args: &StatusArgs,
    wiring: Wiring,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Running> {
    let mut specs = nameserver_specs(
        &wiring.listen,
        args.location.as_deref(),
        &args.status_nameservers,
    )?;
    if wiring.api.is_some() {
        specs.push(ComponentSpec {
            key: "api".into(),
            name: "REST API".into(),
            location: args.location.clone(),
            description: Some("Zone management (DNSimple API v2)".into()),
            kind: ComponentKind::Api,
        });
    }
    if wiring.redirector.is_some() {
        specs.push(ComponentSpec {
            key: "redirector".into(),
            name: "URL redirector".into(),
            location: args.location.clone(),
            description: Some("HTTP redirects of URL records".into()),
            kind: ComponentKind::Redirector,
        });
    }
    if wiring.publisher.is_some() {
        specs.push(crate::zone_health::component(args.location.clone()));
    }
    if let Some(fleet) = &wiring.fleet {
        specs.push(crate::fleet::component(fleet, args.location.clone()));
    }
    let mut vantages = args
        .status_vantages
        .iter()
        .map(|v| Vantage::parse(v).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if vantages.is_empty() {
        vantages.push(Vantage::local());
    }
    let smtp = match &args.smtp_relay {
        Some(relay) => {
            let (host, port) = relay
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.trim_matches(['[', ']']).to_owned(), p.parse().ok()?)))
                .with_context(|| format!("--smtp-relay {relay:?} is not HOST:PORT"))?;
            let security: SmtpSecurity = args
                .smtp_security
                .parse()
                .map_err(|e| anyhow::anyhow!("--smtp-security: {e}"))?;
            let config = SmtpConfig {
                host,
                port,
                security,
                username: args.smtp_username.clone(),
                password: args.smtp_password.as_ref().map(|p| p.0.clone()),
                from: args.smtp_from.clone(),
                timeout: Duration::from_millis(args.notify_timeout_ms),
            };
            Some(
                Mailer::new(&config)
                    .map_err(|e| anyhow::anyhow!("--smtp-from/--smtp-relay: {e}"))?,
            )
        }
        None => None,
    };
    let timeout = Duration::from_millis(args.notify_timeout_ms);
    let webhooks = if args.webhook_allow_private {
        Webhooks::allowing_private(timeout)
    } else {
        Webhooks::new(timeout)
    }
    .map_err(|e| anyhow::anyhow!("cannot set up webhooks: {e}"))?;

    let url = args.status_url.clone().unwrap_or_else(|| {
        let scheme = if wiring.https { "https" } else { "http" };
        format!("{scheme}://{}", args.status_listen)
    });
    let name = args.status_name.clone();
    let db = {
        let mut db = wiring.db;
        db.set_page(&name, &url)
            .context("cannot write the status page's settings")?;
        db.set_max_subscriptions(args.status_max_subscriptions)
            .context("cannot write the status page's settings")?;
        Arc::new(Mutex::new(db))
    };
    let components = with_db(&db, move |db| Ok(db.sync_components(&specs, now())?)).await?;
    let mut targets = Vec::new();
    for c in &components {
        let addr = match c.kind {
            ComponentKind::NameServer => c.key.strip_prefix("ns:").and_then(|a| a.parse().ok()),
            ComponentKind::Api => wiring.api,
            ComponentKind::Redirector => wiring.redirector,
            ComponentKind::Other => None,
        };
        if let Some(addr) = addr {
            targets.push(Target {
                id: c.id,
                kind: c.kind,
                addr,
                tls: match c.kind {
                    ComponentKind::Api => wiring.api_tls.clone(),
                    _ => None,
                },
            });
        }
    }
    tracing::info!(
        components = components.len(),
        vantage_points = vantages.len(),
        interval_ms = args.status_interval_ms,
        "status monitors configured"
    );

    let site: SharedSite = Arc::new(ArcSwap::from_pointee(Site::build(
        &with_db(&db, |db| Ok(db.snapshot(now())?)).await?,
    )));
    let (changed_tx, changed_rx) = watch::channel(0u64);
    let changed: Arc<dyn Fn() + Send + Sync> =
        Arc::new(move || changed_tx.send_modify(|n| *n = n.wrapping_add(1)));
    let thresholds = Thresholds {
        quorum: args.status_quorum,
        fail_rounds: args.status_fail_rounds.max(1),
        hold: args.status_hold.max(0),
        slow_ms: args.status_slow_ms,
        window: args.status_window_rounds.max(1),
        window_share: args.status_window_share.min(100),
    };
    let mut tasks = Vec::new();
    let probes = Arc::new(crate::observe::ProbeStats::default());
    tasks.push(tokio::spawn(monitor(
        db.clone(),
        Engine::new(thresholds),
        targets,
        vantages,
        Probing {
            interval: Duration::from_millis(args.status_interval_ms.max(100)),
            timeout: Duration::from_millis(args.status_timeout_ms.max(10)),
            canary: args.status_canary.clone(),
            zones: wiring.zones.clone(),
            counted: probes.clone(),
        },
        changed.clone(),
        stop.clone(),
    )));
    tasks.push(tokio::spawn(publish(
        db.clone(),
        site.clone(),
        args.status_static_dir.clone(),
        changed_rx.clone(),
        stop.clone(),
    )));
    let operator_account = match &wiring.store {
        Some(store) => {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.accounts())
                .await
                .context("reading the operator's account failed")?
                .context("cannot read the operator's account")?
                .first()
                .map(|a| a.id)
        }
        None => None,
    };
    tasks.push(tokio::spawn(candor_deliver::run(
        candor_deliver::Notifier {
            db: db.clone(),
            webhooks,
            smtp,
            operator_account,
            account_address: match &wiring.store {
                Some(store) => {
                    let store = store.clone();
                    Arc::new(move |account: Option<i64>| {
                        let accounts = store.accounts().ok()?;
                        let found = match account {
                            Some(id) => accounts.iter().find(|a| a.id == id),
                            None => accounts.first(),
                        };
                        found.map(|a| a.email.clone())
                    })
                }
                None => Arc::new(|_| None),
            },
            limits: Limits {
                per_account: args.notify_per_account.max(1),
                ..Limits::default()
            },
            backoff: Backoff::default(),
            clock: candor_deliver::Clock::skewed_by(args.notify_clock_skew_file.clone()),
        },
        changed_rx,
        stop.clone(),
    )));
    if let Some(publisher) = wiring.publisher
        && let Some(c) = components.iter().find(|c| c.key == crate::zone_health::KEY)
    {
        tasks.push(tokio::spawn(crate::zone_health::watch_failures(
            db.clone(),
            c.id,
            publisher,
            changed.clone(),
            stop.clone(),
        )));
    }
    if let Some(fleet) = wiring.fleet
        && let Some(c) = components.iter().find(|c| c.key == crate::fleet::KEY)
    {
        tasks.push(tokio::spawn(crate::fleet::show(
            fleet,
            db.clone(),
            c.id,
            changed.clone(),
            stop.clone(),
        )));
    }
    if let Some(store) = wiring.store {
        tasks.push(tokio::spawn(mitigations(
            store,
            db.clone(),
            changed.clone(),
            stop,
        )));
    }
    let router = candor_status::web::router_with(
        site,
        Some(Arc::new(Subscriptions::new(
            db.clone(),
            changed.clone(),
            check_webhook(args.webhook_allow_private),
        ))),
    );
    Ok(Running {
        db,
        changed,
        router,
        tasks,
        probes,
    })
}

/// The check of webhook URLs given on the public form: unless private
/// addresses are allowed, a URL naming an IP address literal must name a
/// public one (names are checked when delivering: the notifier connects
/// only to public addresses they resolve to).
fn check_webhook(allow_private: bool) -> CheckWebhook {
    Arc::new(move |url: &str| {
        if allow_private {
            return Ok(());
        }
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .map(|authority| authority.rsplit_once('@').map_or(authority, |(_, h)| h))
            .unwrap_or("");
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        match host.parse::<IpAddr>() {
            Ok(ip) if !candor_notify::is_public(ip) => Err(format!(
                "{ip} is not a public address; webhooks go to public addresses only"
            )),
            _ => Ok(()),
        }
    })
}

/// How probes are made.
struct Probing {
    interval: Duration,
    timeout: Duration,
    canary: Option<String>,
    zones: SharedZones,
    /// Where probes are counted for the metrics.
    counted: Arc<crate::observe::ProbeStats>,
}

impl Probing {
    /// What the probes of this round ask for: the canary's SOA (by
    /// default the first served zone's apex), or the root's when there is
    /// none yet.
    fn ask(&self) -> Ask {
        if let Some(text) = &self.canary {
            return Ask::canary(text).unwrap_or(Ask::Root);
        }
        let zones = self.zones.load();
        zones
            .zones()
            .iter()
            .map(|z| z.apex().clone())
            .min_by_key(|n| n.to_string())
            .map_or(Ask::Root, Ask::Canary)
    }
}

/// Probes every round and feeds the engine.
async fn monitor(
    db: Arc<Mutex<StatusDb>>,
    engine: Engine,
    targets: Vec<Target>,
    vantages: Vec<Vantage>,
    probing: Probing,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let engine = Arc::new(Mutex::new(engine));
    // The first round waits a moment, so every listener of this process is
    // bound before it is probed.
    let first = tokio::time::Instant::now() + probing.interval.min(Duration::from_secs(1));
    let mut ticker = tokio::time::interval_at(first, probing.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        let ask = Arc::new(probing.ask());
        let mut probes = tokio::task::JoinSet::new();
        for probe in candor_probe::plan(&targets, &vantages) {
            let (ask, timeout) = (ask.clone(), probing.timeout);
            probes.spawn(async move { candor_probe::net::observe(&probe, &ask, timeout).await });
        }
        let mut observations = Vec::new();
        while let Some(done) = probes.join_next().await {
            if let Ok(Some(o)) = done {
                observations.push(o);
            }
        }
        for o in &observations {
            let result = match &o.outcome {
                Outcome::Ok { .. } => "ok",
                Outcome::Impaired { .. } => "impaired",
                _ => "failed",
            };
            let kind = targets
                .iter()
                .find(|t| t.id == o.component_id)
                .map_or("other", |t| t.kind.as_str());
            probing.counted.count(o.component_id, kind, result);
        }
        let engine = engine.clone();
        let result = with_db(&db, move |db| {
            let mut engine = engine
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(engine.round(db, now(), &observations)?)
        })
        .await;
        match result {
            Ok(report) => {
                if let Some(id) = report.opened {
                    tracing::warn!(incident = id, "monitors opened an incident");
                }
                if let Some(id) = report.resolved {
                    tracing::info!(incident = id, "monitors resolved an incident");
                }
                changed();
            }
            Err(e) => tracing::error!("status round failed: {e:#}"),
        }
    }
}

/// Re-renders the site whenever the database changed (here, or by the CLI
/// in another process) and after every round.
async fn publish(
    db: Arc<Mutex<StatusDb>>,
    site: SharedSite,
    static_dir: Option<PathBuf>,
    mut changed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_generation = None;
    loop {
        let nudged = tokio::select! {
            r = changed.changed() => r.is_ok(),
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
            _ = stop.changed() => return,
        };
        let previous = last_generation;
        let result = with_db(&db, move |db| {
            let generation = db.generation()?;
            if !nudged && previous == Some(generation) {
                return Ok(None);
            }
            Ok(Some((generation, db.snapshot(now())?)))
        })
        .await;
        let (generation, snapshot) = match result {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!("cannot read the status page: {e:#}");
                continue;
            }
        };
        last_generation = Some(generation);
        let built = Site::build(&snapshot);
        if let Some(dir) = &static_dir
            && let Err(e) = built.write_to(dir)
        {
            tracing::error!(dir = %dir.display(), "cannot write the static status page: {e}");
        }
        site.store(Arc::new(built));
    }
}

/// Posts the ALIAS refresh switch to the timeline of every open incident
/// when an operator flips it (API or CLI).
async fn mitigations(
    store: Arc<Store>,
    db: Arc<Mutex<StatusDb>>,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let read = |store: Arc<Store>| async move {
        tokio::task::spawn_blocking(move || store.setting(candor_alias::REFRESH_SETTING))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|v| v.as_deref() != Some("off"))
    };
    let mut last = read(store.clone()).await;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        let current = read(store.clone()).await;
        if current.is_none() || current == last {
            continue;
        }
        last = current;
        let on = current == Some(true);
        let body = if on {
            "Mitigation lifted: ALIAS targets are resolved from the upstream resolvers again."
        } else {
            "Mitigation applied: ALIAS refreshing is switched off. Name servers keep answering \
             ALIAS queries from their cache (stale if need be) and send no queries upstream."
        };
        tracing::info!(alias_refresh = on, "mitigation switch flipped");
        let result = with_db(&db, move |db| {
            let mut posted = 0;
            for view in db.open_incidents()? {
                let status = match view.incident.status {
                    IncidentStatus::Investigating => IncidentStatus::Identified,
                    s => s,
                };
                db.post_update(
                    view.incident.id,
                    &NewUpdate {
                        status,
                        body: body.to_owned(),
                        source: UpdateSource::Mitigation,
                        impact: None,
                        components: None,
                    },
                    now(),
                )?;
                posted += 1;
            }
            Ok(posted)
        })
        .await;
        match result {
            Ok(n) => {
                tracing::info!(incidents = n, "mitigation posted");
                changed();
            }
            Err(e) => tracing::error!("cannot post the mitigation: {e:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_listeners_take_a_display_name_in_place() {
        let listen: Vec<SocketAddr> =
            vec!["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()];
        let specs = nameserver_specs(
            &listen,
            Some("Amsterdam"),
            &[
                "ns2@Frankfurt=192.0.2.2:53".to_owned(),
                "ns1.candor.net=127.0.0.1:53".to_owned(),
            ],
        )
        .unwrap();
        let shown: Vec<(&str, Option<&str>)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.location.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("ns1.candor.net", Some("Amsterdam")),
                ("Name server [::1]:53", Some("Amsterdam")),
                ("ns2", Some("Frankfurt")),
            ]
        );
    }

    #[test]
    fn public_webhooks_go_to_public_addresses() {
        let check = check_webhook(false);
        assert!(check("https://hooks.example.net/x").is_ok());
        assert!(check("https://93.184.215.14/x").is_ok());
        assert!(check("http://127.0.0.1:8080/x").is_err());
        assert!(check("http://user@[::1]:80/x").is_err());
        assert!(check("http://10.1.2.3/").is_err());
        assert!(check_webhook(true)("http://127.0.0.1/").is_ok());
    }

    #[test]
    fn nameserver_syntax() {
        let s = parse_nameserver("ns2@Frankfurt=127.0.0.1:5301", None).unwrap();
        assert_eq!(
            (s.key.as_str(), s.name.as_str(), s.location.as_deref()),
            ("ns:127.0.0.1:5301", "ns2", Some("Frankfurt"))
        );
        let s = parse_nameserver("[::1]:53", Some("Home")).unwrap();
        assert_eq!(
            (s.name.as_str(), s.location.as_deref()),
            ("Name server [::1]:53", Some("Home"))
        );
        assert!(
            parse_nameserver("ns2=nowhere", None)
                .unwrap_err()
                .to_string()
                .contains("is not an address")
        );
    }
}
