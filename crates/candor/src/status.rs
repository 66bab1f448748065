//! The status page inside `candor serve`: monitors that probe the name
//! servers, the API and the redirector over the wire; the engine that turns
//! their rounds into component states and incidents; the pre-rendered
//! public site; the notifier that delivers the outbox to subscribers; and
//! the watcher that posts mitigation switches to the timeline.
//!
//! The status page runs on its own listener and its own database, and it
//! needs no DNS at all (probes go to addresses, pages are served from
//! memory), so it keeps telling the truth while the name servers are down.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwap;
use candor_notify::schedule::Limits;
use candor_notify::{Backoff, Mailer, SmtpConfig, SmtpSecurity, Webhooks};
use candor_server::SharedZones;
use candor_status::db::{ComponentSpec, NewUpdate, StatusDb, now};
use candor_status::engine::{Engine, Observation, Outcome, Thresholds};
use candor_status::model::{ComponentKind, IncidentStatus, UpdateSource};
use candor_status::web::subscribe::CheckWebhook;
use candor_status::web::{SharedSite, Site, Subscriptions};
use candor_store::Store;
use candor_wire::decode::decode_message;
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
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

/// What one monitored component is and how to probe it.
#[derive(Clone, Debug)]
struct Target {
    id: i64,
    kind: ComponentKind,
    addr: SocketAddr,
}

/// One vantage point.
#[derive(Clone, Debug)]
struct Vantage {
    name: String,
    source: Option<IpAddr>,
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

fn parse_vantage(text: &str) -> anyhow::Result<Vantage> {
    let (name, ip) = match text.split_once('=') {
        Some((name, ip)) => (name.trim().to_owned(), ip.trim()),
        None => (text.trim().to_owned(), text.trim()),
    };
    let source: IpAddr = ip
        .parse()
        .with_context(|| format!("--status-vantage {text:?}: {ip:?} is not an IP address"))?;
    Ok(Vantage {
        name,
        source: Some(source),
    })
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
    let mut vantages = args
        .status_vantages
        .iter()
        .map(|v| parse_vantage(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if vantages.is_empty() {
        vantages.push(Vantage {
            name: "local".into(),
            source: None,
        });
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
                password: std::env::var("CANDOR_SMTP_PASSWORD").ok(),
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

    let url = args
        .status_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.status_listen));
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
    tasks.push(tokio::spawn(crate::deliver::run(
        crate::deliver::Notifier {
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
    /// The name whose SOA is asked for this round.
    fn canary(&self) -> Option<Name> {
        if let Some(text) = &self.canary {
            let absolute = if text.ends_with('.') {
                text.clone()
            } else {
                format!("{text}.")
            };
            return Name::from_text(&absolute, None).ok();
        }
        let zones = self.zones.load();
        zones
            .zones()
            .iter()
            .map(|z| z.apex().clone())
            .min_by_key(|n| n.to_string())
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
        let canary = probing.canary();
        let mut probes = tokio::task::JoinSet::new();
        for t in &targets {
            for v in &vantages {
                let source = match v.source {
                    Some(ip) if ip.is_ipv4() != t.addr.is_ipv4() => continue,
                    Some(ip) => ip,
                    None if t.addr.is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                };
                let (t, vantage, canary, timeout, counted) = (
                    t.clone(),
                    v.name.clone(),
                    canary.clone(),
                    probing.timeout,
                    probing.counted.clone(),
                );
                probes.spawn(async move {
                    let at = now();
                    let outcome = match t.kind {
                        ComponentKind::NameServer => {
                            probe_dns(source, t.addr, canary.as_ref(), timeout).await
                        }
                        ComponentKind::Api => {
                            probe_http(source, t.addr, "/v2/openapi.json", timeout, |s| s == 200)
                                .await
                        }
                        ComponentKind::Redirector => {
                            probe_http(source, t.addr, "/", timeout, |s| s < 500).await
                        }
                        ComponentKind::Other => return None,
                    };
                    let result = match &outcome {
                        Outcome::Ok { .. } => "ok",
                        Outcome::Impaired { .. } => "impaired",
                        _ => "failed",
                    };
                    counted.count(t.id, t.kind.as_str(), result);
                    Some(Observation {
                        component_id: t.id,
                        vantage,
                        at,
                        outcome,
                    })
                });
            }
        }
        let mut observations = Vec::new();
        while let Some(done) = probes.join_next().await {
            if let Ok(Some(o)) = done {
                observations.push(o);
            }
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

/// Asks `target` for the canary's SOA over UDP and over TCP, from `source`.
async fn probe_dns(
    source: IpAddr,
    target: SocketAddr,
    canary: Option<&Name>,
    timeout: Duration,
) -> Outcome {
    let root = Name::root();
    let (name, check) = match canary {
        Some(n) => (n, true),
        None => (&root, false),
    };
    // UDP and TCP at once: a silent server costs one timeout, not two.
    let ((udp, udp_ms), (tcp, tcp_ms)) = tokio::join!(
        timed(timeout, dns_udp(source, target, name, check)),
        timed(timeout, dns_tcp(source, target, name, check)),
    );
    let mut reasons = Vec::new();
    let mut answered = Vec::new();
    for (proto, result, took) in [("udp", udp, udp_ms), ("tcp", tcp, tcp_ms)] {
        match result {
            Ok(Ok(())) => answered.push(took),
            Ok(Err(e)) => reasons.push(format!("{proto}: {e}")),
            Err(_) => reasons.push(format!(
                "{proto}: no answer within {} ms",
                timeout.as_millis()
            )),
        }
    }
    let latency_ms = |took: Duration| took.as_millis().try_into().unwrap_or(u32::MAX);
    match (answered.iter().max(), reasons.is_empty()) {
        (Some(took), true) => Outcome::Ok {
            latency_ms: latency_ms(*took),
        },
        // One way answered: users get answers (resolvers retry over the
        // other), some of them late.
        (Some(took), false) => Outcome::Impaired {
            latency_ms: latency_ms(*took),
            reason: reasons.join(", "),
        },
        (None, _) => Outcome::Failed {
            reason: reasons.join(", "),
        },
    }
}

/// An I/O error in words, without the OS error number:
/// `connection refused`.
fn io_text(e: std::io::Error) -> String {
    if e.raw_os_error().is_some() {
        e.kind().to_string()
    } else {
        e.to_string()
    }
}

/// Runs `f` for at most `timeout`; its result and how long it took.
async fn timed<F: std::future::Future>(
    timeout: Duration,
    f: F,
) -> (Result<F::Output, tokio::time::error::Elapsed>, Duration) {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, f).await;
    (result, started.elapsed())
}

/// The canary query, with an ID that is hard to guess.
fn query(name: &Name) -> (u16, Vec<u8>) {
    let id = crate::alias::rand_id();
    let spec = QuerySpec {
        id,
        recursion_desired: false,
        edns_udp_size: Some(1232),
    };
    (id, query_message(spec, name, Rtype::SOA))
}

/// Checks an answer: ours, and with `check`, authoritative with the SOA.
fn check_answer(msg: &[u8], id: u16, check: bool) -> Result<bool, String> {
    let Ok(m) = decode_message(msg) else {
        return Err("malformed answer".into());
    };
    if m.header.id != id || m.header.flags & candor_wire::Header::QR == 0 {
        return Ok(false);
    }
    if !check {
        return Ok(true);
    }
    let rcode = m.rcode();
    if rcode != 0 {
        return Err(format!("rcode {rcode} for the canary"));
    }
    if m.header.flags & candor_wire::Header::AA == 0 {
        return Err("answer without the AA flag".into());
    }
    if !m.answer.iter().any(|r| r.rtype == Rtype::SOA) {
        return Err("no SOA in the answer".into());
    }
    Ok(true)
}

async fn dns_udp(
    source: IpAddr,
    target: SocketAddr,
    name: &Name,
    check: bool,
) -> Result<(), String> {
    let socket = UdpSocket::bind(SocketAddr::new(source, 0))
        .await
        .map_err(|e| format!("cannot bind {source}: {e}"))?;
    socket.connect(target).await.map_err(io_text)?;
    let (id, q) = query(name);
    socket.send(&q).await.map_err(io_text)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io_text)?;
        if check_answer(&buf[..n], id, check)? {
            return Ok(());
        }
    }
}

async fn dns_tcp(
    source: IpAddr,
    target: SocketAddr,
    name: &Name,
    check: bool,
) -> Result<(), String> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(io_text)?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("cannot bind {source}: {e}"))?;
    let mut stream = socket.connect(target).await.map_err(io_text)?;
    let (id, q) = query(name);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    stream.write_all(&framed).await.map_err(io_text)?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("connection closed without an answer ({e})"))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.map_err(io_text)?;
    if check_answer(&buf, id, check)? {
        Ok(())
    } else {
        Err("answer to another question".into())
    }
}

/// `GET path` over HTTP/1.1 from `source`; `ok` judges the status code.
async fn probe_http(
    source: IpAddr,
    target: SocketAddr,
    path: &str,
    timeout: Duration,
    ok: fn(u16) -> bool,
) -> Outcome {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        let socket = if target.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(io_text)?;
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("cannot bind {source}: {e}"))?;
        let mut stream = socket.connect(target).await.map_err(io_text)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: candor-monitor\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.map_err(io_text)?;
        let mut head = [0u8; 64];
        let mut got = 0;
        while got < 12 {
            let n = stream.read(&mut head[got..]).await.map_err(io_text)?;
            if n == 0 {
                return Err("connection closed without a response".to_owned());
            }
            got += n;
        }
        let line = String::from_utf8_lossy(&head[..got]);
        let code: u16 = line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| line.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| "not an HTTP response".to_owned())?;
        if ok(code) { Ok(()) } else { Err(format!("HTTP {code} for GET {path}")) }
    })
    .await;
    match result {
        Ok(Ok(())) => Outcome::Ok {
            latency_ms: started.elapsed().as_millis().try_into().unwrap_or(u32::MAX),
        },
        Ok(Err(e)) => Outcome::Failed {
            reason: format!("http: {e}"),
        },
        Err(_) => Outcome::Failed {
            reason: format!("http: no response within {} ms", timeout.as_millis()),
        },
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
        tokio::task::spawn_blocking(move || store.setting(crate::alias::REFRESH_SETTING))
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
    fn nameserver_and_vantage_syntax() {
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
        let v = parse_vantage("lo2=127.0.0.2").unwrap();
        assert_eq!(
            (v.name.as_str(), v.source),
            ("lo2", Some(IpAddr::from([127, 0, 0, 2])))
        );
        assert!(parse_vantage("x=y").is_err());
    }
}
