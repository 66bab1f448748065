//! Operating `candor serve`: the metrics listener, readiness, and the log
//! format. The collectors and routers live in `candor-metrics` and
//! `candor-api`; this module only wires what `serve` started into them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use candor_api::Readiness;
use candor_metrics::Metrics;
use candor_metrics::dns::DnsCollector;
use candor_metrics::http::HttpMetrics;
use candor_publish::Publisher;
use candor_server::{SharedZones, Stats, TcpStats, XfrStats};
use candor_store::Store;

/// The log line format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Sets up logging to stderr in `format`, filtered by `CANDOR_LOG` (default
/// `info`).
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANDOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Where `serve` is in its life, for `/readyz`.
#[derive(Debug, Default)]
pub(crate) struct Phase(AtomicU8);

impl Phase {
    /// Loading zones and binding listeners.
    const STARTING: u8 = 0;
    /// Every listener bound and every task started.
    const SERVING: u8 = 1;
    /// A stop signal arrived.
    const STOPPING: u8 = 2;

    /// Everything is up.
    pub(crate) fn serving(&self) {
        self.0.store(Self::SERVING, Ordering::Release);
    }

    /// A stop signal arrived.
    pub(crate) fn stopping(&self) {
        self.0.store(Self::STOPPING, Ordering::Release);
    }

    /// Ready, or why not.
    fn check(&self) -> Result<(), String> {
        match self.0.load(Ordering::Acquire) {
            Self::STARTING => {
                Err("starting: zones are loading or listeners are not bound yet".into())
            }
            Self::SERVING => Ok(()),
            _ => Err("stopping".into()),
        }
    }
}

/// The readiness hook: the phase, and when there is a store, that it
/// answers a read (the hook runs on the blocking pool).
pub(crate) fn readiness(phase: Arc<Phase>, store: Option<Arc<Store>>) -> Readiness {
    Arc::new(move || {
        phase.check()?;
        if let Some(store) = &store {
            store
                .setting(candor_alias::REFRESH_SETTING)
                .map_err(|e| format!("the store does not answer: {e}"))?;
        }
        Ok(())
    })
}

/// Status-page probes by component and result, counted by the monitor
/// once per round (not on any query path).
#[derive(Debug, Default)]
pub(crate) struct ProbeStats(
    std::sync::Mutex<std::collections::BTreeMap<(i64, &'static str, &'static str), u64>>,
);

impl ProbeStats {
    /// Counts one probe of component `id` (of `kind`) with `result`
    /// (`ok`, `impaired` or `failed`).
    pub(crate) fn count(&self, id: i64, kind: &'static str, result: &'static str) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((id, kind, result)).or_default() += 1;
    }

    /// Writes the counts as metrics.
    fn collect(&self, s: &mut candor_metrics::Samples) {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (&(id, kind, result), &n) in map.iter() {
            s.counter(
                "candor_status_probes",
                "Status-page monitor probes by component (id and kind) and result (ok, impaired: \
                 answered but not every way, failed).",
                &[
                    ("component_id", &id.to_string()),
                    ("kind", kind),
                    ("result", result),
                ],
                n,
            );
        }
    }
}

/// What `serve` hands over for the metrics.
pub(crate) struct Sources {
    /// Every UDP worker's counters.
    pub(crate) udp: Vec<Arc<Stats>>,
    /// The TCP side's counters.
    pub(crate) tcp: Arc<TcpStats>,
    /// Zone transfer counters.
    pub(crate) xfr: Arc<XfrStats>,
    /// The zones served.
    pub(crate) zones: SharedZones,
    /// The publisher, whose failures are zones not served as stored.
    pub(crate) publisher: Option<Publisher>,
    /// The API's request families.
    pub(crate) api: HttpMetrics,
    /// The ALIAS resolver's counters, when it runs.
    pub(crate) alias: Option<Arc<candor_alias::AliasStats>>,
    /// Per-zone traffic (the top zones, attacks), unless turned off.
    pub(crate) traffic: Option<Arc<candor_traffic::Traffic>>,
    /// The status page's probe counters and database (its outbox), when
    /// it runs.
    pub(crate) status: Option<(
        Arc<ProbeStats>,
        Arc<std::sync::Mutex<candor_status::db::StatusDb>>,
    )>,
    /// The secondaries watched, if any.
    pub(crate) fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// Every metric of a running server.
pub(crate) fn metrics(src: Sources) -> Metrics {
    let mut m = Metrics::new();
    m.register(DnsCollector::new(src.udp, src.tcp, Some(src.xfr)));
    src.api.register(&mut m, "candor_api");
    let zones = src.zones;
    let publisher = src.publisher;
    m.register_fn(move |s| {
        s.gauge(
            "candor_zones_served",
            "Zones being served.",
            &[],
            i64::try_from(zones.load().len()).unwrap_or(i64::MAX),
        );
        if let Some(p) = &publisher {
            let failures = p.failures();
            let last_good = failures
                .iter()
                .filter(|f| f.served_serial.is_some())
                .count();
            for (served, n) in [
                ("last_good", last_good),
                ("none", failures.len() - last_good),
            ] {
                s.gauge(
                    "candor_zone_publish_failures",
                    "Stored zones whose stored version does not compile, by what is served \
                     instead (last_good: the last known good version; none: nothing).",
                    &[("served", served)],
                    i64::try_from(n).unwrap_or(i64::MAX),
                );
            }
        }
    });
    if let Some(traffic) = src.traffic {
        m.register_fn(move |s| zone_traffic(&traffic, s));
    }
    if let Some(alias) = src.alias {
        m.register_fn(move |s| alias.collect(s));
    }
    if let Some(fleet) = src.fleet {
        m.register_fn(move |s| fleet.collect(s));
    }
    if let Some((probes, db)) = src.status {
        m.register_fn(move |s| {
            probes.collect(s);
            // Scrapes render on the blocking pool, so this short query
            // holds no runtime thread.
            let counts = db
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .outbox_counts();
            match counts {
                Ok(counts) => {
                    for c in counts {
                        s.gauge(
                            "candor_status_outbox",
                            "Status-page notifications and e-mails by channel (webhook, email), \
                             kind (notification, message) and state (queued, retrying, sent, \
                             failed: given up); rows are kept, so sent and failed only grow.",
                            &[
                                ("channel", &c.channel),
                                ("what", c.what),
                                ("state", c.state),
                            ],
                            i64::try_from(c.count).unwrap_or(i64::MAX),
                        );
                    }
                }
                Err(e) => tracing::warn!("metrics: cannot count the outbox: {e}"),
            }
        });
    }
    m
}

/// Binds the metrics listener (`serve::check_listeners` has already tried
/// the address before anything was created).
pub(crate) async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context;
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for the metrics (change --metrics-listen)")
    })
}

/// Serves the metrics router on `listener` until `stop` turns.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    ready: Readiness,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let app = candor_api::metrics_router(Arc::new(metrics), ready);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("the metrics listener failed: {e}");
        }
    })
}

/// How many of the busiest zones the metrics name: the zone label's
/// cardinality is bounded whatever the number of zones served.
const TOP_ZONES: usize = 10;

/// The busiest zones of the last second ([`TOP_ZONES`] of them, by
/// queries) and the zones under attack, from the per-zone accounting.
fn zone_traffic(traffic: &candor_traffic::Traffic, s: &mut candor_metrics::Samples) {
    let top = traffic.latest();
    let rounded = |x: f64| {
        if x.is_finite() && x > 0.0 {
            // Rates are far below i64::MAX; the cast saturates anyway.
            x.round() as i64
        } else {
            0
        }
    };
    for z in top.zones.iter().take(TOP_ZONES) {
        let zone = z.zone.as_str();
        for (name, help, value) in [
            (
                "candor_zone_top_queries_per_second",
                "Queries per second over the last second, for the busiest zones only.",
                z.qps,
            ),
            (
                "candor_zone_top_nxdomain_per_second",
                "NXDOMAIN answers per second over the last second, for the busiest zones only.",
                z.qps * z.nxdomain_ratio,
            ),
            (
                "candor_zone_top_rrl_per_second",
                "Rate limiter actions per second over the last second, for the busiest zones only.",
                z.rrl_per_second,
            ),
            (
                "candor_zone_top_shed_per_second",
                "Queries shed per second over the last second, for the busiest zones only.",
                z.shed_per_second,
            ),
        ] {
            s.gauge(name, help, &[("zone", zone)], rounded(value));
        }
    }
    s.gauge(
        "candor_zones_under_attack",
        "Zones whose query rate counts as an attack now (see --attack-qps).",
        &[],
        i64::try_from(traffic.attacks().len()).unwrap_or(i64::MAX),
    );
}
