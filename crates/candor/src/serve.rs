//! `candor serve`: load zones (from zone files and/or the embedded store),
//! start the UDP workers, the TCP listener and the REST API, reload zone
//! files on SIGHUP, stop on SIGTERM/SIGINT.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use arc_swap::ArcSwap;
use candor_answer::{Config, Cookies};
use candor_server::{
    SharedZones, StatsSnapshot, TcpConfig, TcpStats, UdpConfig, bind_udp, max_connections_for,
    raise_fd_limit, serve_tcp,
};
use candor_zone::{ZoneSet, load_zone_dir};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use std::sync::atomic::AtomicBool;

use candor_answer::SharedAliases;
use candor_api::ApiState;

use candor_alias::{self as alias, AliasSettings};
use candor_redirect::{Redirects, SharedRedirects};

use crate::ServeArgs;
use crate::data::{
    last_good_dir, open_or_create_status, open_or_create_store, refresh_redirects, seed_if_empty,
};
use candor_api::{ZoneNote, ZoneNotes};
use candor_publish::{Publisher, follow_store};
use candor_store::Store;

/// Loads every zone file of `dir` into a new set, logging what failed.
fn load(dir: &Path) -> anyhow::Result<ZoneSet> {
    let started = Instant::now();
    let report = load_zone_dir(dir)
        .with_context(|| format!("cannot read zone directory {}", dir.display()))?;
    for (path, errors) in &report.failed {
        for e in errors {
            tracing::error!("{e}");
        }
        tracing::error!(file = %path.display(), problems = errors.len(), "zone not loaded");
    }
    let records: usize = report.zones.iter().map(|z| z.record_count()).sum();
    tracing::info!(
        zones = report.zones.len(),
        records,
        failed = report.failed.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "zones loaded"
    );
    Ok(ZoneSet::from_zones(report.zones))
}

/// The checks of `serve`'s settings that need no socket and create
/// nothing (also `candor config check`'s): values the flag parsers cannot
/// judge alone, names for new zones, the cookie secret file and the TLS
/// files (loaded: they are returned).
pub(crate) fn preflight(args: &ServeArgs) -> anyhow::Result<Option<Arc<candor_tls::Certificates>>> {
    if !(512..=4096).contains(&args.max_udp_payload) {
        anyhow::bail!("--max-udp-payload must be between 512 and 4096");
    }
    check_region(args)?;
    crate::data::store_config(&args.data)?;
    args.guard.check_cookie_secrets()?;
    match (&args.tls_cert, &args.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let files = candor_tls::CertFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let certs = candor_tls::Certificates::load(files)
                .context("cannot load the TLS certificate (--tls-cert, --tls-key)")?;
            Ok(Some(certs))
        }
        (Some(_), None) => anyhow::bail!("--tls-cert needs --tls-key (its private key)"),
        (None, Some(_)) => anyhow::bail!("--tls-key needs --tls-cert (its certificate chain)"),
    }
}

/// Refuses `--region` where its view would leave this server: a primary
/// feeds secondaries the zones it serves, and they must get the global
/// view (docs/regions.md), so `--region` goes without `--xfr-allow`,
/// `--notify` and `--catalog`; and it concerns the store's zones and,
/// with `--secondary`, the regional records a Candor primary sends.
fn check_region(args: &ServeArgs) -> anyhow::Result<()> {
    let Some(region) = &args.region else {
        return Ok(());
    };
    let feeds = [
        ("--xfr-allow", !args.xfr.allow.is_empty()),
        ("--notify", !args.xfr.notify.is_empty()),
        ("--catalog", args.xfr.catalog.is_some()),
    ];
    if let Some((flag, _)) = feeds.iter().find(|(_, given)| *given) {
        anyhow::bail!(
            "--region {region} cannot go with {flag}: a server with a region serves that \
             region's view, and secondaries must get the global view; run the primary \
             without --region (see \"Regions\" in the README)"
        );
    }
    if args.zones.is_some() && args.data.data_dir.is_none() {
        anyhow::bail!(
            "--region {region} selects the store's regional records, and this server serves \
             only --zones files: add --data-dir, or leave --region out"
        );
    }
    Ok(())
}

/// Binds every address `serve` will listen on, all at once, and lets them
/// go: so a taken port (or two listeners on one address) fails the start
/// with the flag to change, before a store, a token or a directory is
/// created. `store` says whether the HTTP listeners will run.
fn check_listeners(args: &ServeArgs, store: bool) -> anyhow::Result<()> {
    let mut wanted: Vec<(&str, std::net::SocketAddr)> =
        args.listen.iter().map(|a| ("--listen", *a)).collect();
    if store {
        wanted.push(("--api-listen", args.api_listen));
        wanted.push(("--redirect-listen", args.redirect_listen));
        if !args.status.no_status {
            wanted.push(("--status-listen", args.status.status_listen));
        }
    }
    if let Some(addr) = args.metrics_listen {
        wanted.push(("--metrics-listen", addr));
    }
    let mut held = Vec::new();
    let mut held_udp = Vec::new();
    for (flag, addr) in wanted {
        let taken = |proto: &str, e: std::io::Error| {
            anyhow::anyhow!(
                "cannot listen on {proto} {addr} ({flag}): {e}; change {flag} \
                 (or `{}` in the configuration file)",
                flag.trim_start_matches('-')
            )
        };
        held.push(std::net::TcpListener::bind(addr).map_err(|e| taken("tcp", e))?);
        if flag == "--listen" {
            held_udp.push(std::net::UdpSocket::bind(addr).map_err(|e| taken("udp", e))?);
        }
    }
    Ok(())
}

/// Runs the server until a stop signal.
pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tls = preflight(&args)?;
    // The store serves when there is no zone directory, or when asked for.
    let serve_store = args.zones.is_none() || args.data.data_dir.is_some();
    check_listeners(&args, serve_store)?;
    if let Some(certs) = &tls {
        tracing::info!(
            cert = %certs.files().cert.display(),
            fingerprint = %certs.fingerprint(),
            "HTTPS for the API and the status page"
        );
    }
    candor_store::set_signing_threads(args.dnssec_signing_threads.unwrap_or_else(|| {
        std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN)
    }));
    let cookies = Cookies::new(args.guard.cookie_secrets()?);
    let limiter = args.guard.limiter()?;
    let answer = Config {
        max_udp_payload: args.max_udp_payload,
        nsid: args.nsid.map(String::into_bytes),
        aliases: SharedAliases::default(),
        cookies: cookies.clone(),
    };
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let files = match &args.zones {
        Some(dir) => load(dir)?,
        None => ZoneSet::new(),
    };
    let zones: SharedZones = Arc::new(ArcSwap::from_pointee(files));
    let publisher = Publisher::new(
        zones.clone(),
        serve_store.then(|| last_good_dir(&args.data, args.region.as_deref())),
    );
    let store = if serve_store {
        let store = Arc::new(open_or_create_store(&args.data, args.region.clone())?);
        crate::data::warn_if_not_private(&args.data);
        if !args.no_demo {
            seed_if_empty(&store)?;
        }
        let started = Instant::now();
        // A zone that no longer compiles (it should not: every write was
        // validated) serves its last known good version and is reported;
        // the others serve as stored.
        let report = publisher
            .start(&store)
            .context("cannot read the stored zones")?;
        tracing::info!(
            zones = report.compiled,
            last_known_good = report.last_good,
            not_served = report.unserved,
            data_dir = %args.data.dir().display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stored zones loaded"
        );
        Some(store)
    } else {
        None
    };

    // The status page runs beside the store (it keeps its own database in
    // the same data directory).
    let status_db = if store.is_some() && !args.status.no_status {
        Some(open_or_create_status(&args.data)?)
    } else {
        None
    };

    // Transfers are always handled (and refused unless --xfr-allow allows
    // them), so a refusal is logged and answered as Knot answers it.
    let xfr = crate::xfr::setup(
        &args.xfr,
        store.as_deref(),
        zones.clone(),
        answer.aliases.clone(),
    )?;
    let fleet = crate::fleet::Fleet::new(&args.fleet, &args.xfr.notify, args.xfr.catalog.as_ref());
    // Secondary zones: their copies on disk are served before anything
    // listens (unless they expired).
    let secondary_dir = args.data.dir().join("secondary");
    let catalogs: Vec<candor_wire::Name> = args
        .xfr
        .secondary_catalog
        .iter()
        .map(|u| u.zone.clone())
        .collect();
    let secondary_loaded = xfr.secondary.as_ref().map(|s| {
        let primaries = s.primaries.load();
        crate::secondary::load(
            &primaries,
            &catalogs,
            &secondary_dir,
            &publisher,
            &s.expired,
            args.region.as_deref(),
        )
    });
    // Not in this server's own catalog: the zones it is a secondary of
    // (catalog members join as they are learned).
    let secondary_zones: Arc<ArcSwap<Vec<candor_wire::Name>>> = Arc::new(ArcSwap::from_pointee(
        xfr.secondary
            .as_ref()
            .map(|s| s.primaries.load().zones().map(|(z, _)| z.clone()).collect())
            .unwrap_or_default(),
    ));
    let mut xfr = xfr;
    let secondary_wiring = xfr.secondary.take();
    // Per-zone accounting, shared by the UDP workers and the TCP side.
    let traffic = args.traffic.traffic();
    let tcp_config = TcpConfig {
        max_connections: tcp_max_connections(args.tcp_max_connections),
        max_per_source: args.tcp_max_per_source.max(1),
        idle_timeout: args.tcp_idle_timeout,
        query_timeout: args.tcp_query_timeout,
        answer,
        transfers: Some(xfr.transfers.clone()),
        traffic: traffic.clone(),
    };
    tracing::info!(
        max_connections = tcp_config.max_connections,
        max_per_source = tcp_config.max_per_source,
        idle_timeout_s = tcp_config.idle_timeout.as_secs_f64(),
        query_timeout_s = tcp_config.query_timeout.as_secs_f64(),
        "tcp limits"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("candor-main")
        .build()
        .context("cannot start the runtime")?;
    // TCP listens before UDP answers, so a client that sees UDP answers
    // (the readiness signal) can count on TCP too.
    // The signal handlers come first: a SIGTERM sent as soon as the name
    // server answers must stop it cleanly, not kill it.
    let (listeners, mut signals, metrics_listener) = runtime.block_on(async {
        let signals = (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::hangup())?,
        );
        let mut listeners = Vec::new();
        for addr in &args.listen {
            let listener =
                tcp_listener(*addr).with_context(|| format!("cannot listen on tcp {addr}"))?;
            listeners.push(listener);
        }
        let metrics = match args.metrics_listen {
            Some(addr) => Some(crate::observe::bind(addr).await?),
            None => None,
        };
        anyhow::Ok((listeners, signals, metrics))
    })?;
    // Not ready until every listener is bound and every task started;
    // not ready again once a stop signal arrives.
    let phase = Arc::new(crate::observe::Phase::default());
    let ready = crate::observe::readiness(phase.clone(), store.clone());
    let api_metrics = candor_metrics::http::HttpMetrics::new();
    let alias_stats = Arc::new(candor_alias::AliasStats::default());
    let udp_config = UdpConfig {
        workers,
        answer: tcp_config.answer.clone(),
        coalesce: Duration::from_micros(args.udp_coalesce_us),
        recv_buffer: args.udp_recv_buffer,
        transfers: Some(xfr.transfers.clone()),
        limiter,
        traffic,
        kernel_shed: args.traffic.kernel_shed(),
        test_slow_answer: args.traffic.slow_answer(),
    };
    let mut udp = Vec::new();
    for addr in &args.listen {
        udp.push(
            bind_udp(*addr, &udp_config, zones.clone())
                .with_context(|| format!("cannot listen on udp {addr}"))?,
        );
    }
    // Everything else yields the CPU to the UDP workers (threads started
    // from here on inherit it).
    if let Err(e) = candor_server::yield_to_udp_workers() {
        tracing::warn!(error = %e, "cannot lower the priority of the non-UDP threads");
    }

    // Background compaction of the versions record writes patch
    // (docs/incremental.md): a thread of its own, so no write and no
    // worker waits for it; stopped when `serve` returns.
    let _compactor = match &store {
        Some(store) if args.compact_overlay_names > 0 => Some(
            candor_store::Compactor::spawn(store.clone(), args.compact_overlay_names, {
                let publisher = publisher.clone();
                move |change| {
                    publisher.publish_compacted(&change);
                }
            })
            .context("cannot start the compaction thread")?,
        ),
        _ => None,
    };
    let tcp_stats = Arc::new(TcpStats::default());
    let result = runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(serve_tcp(
            listeners,
            zones.clone(),
            tcp_config.clone(),
            tcp_stats.clone(),
            stop_rx.clone(),
        ))];
        tasks.extend(crate::xfr::spawn(
            &xfr,
            &args.xfr,
            store.clone(),
            publisher.subscribe(),
            &stop_rx,
        ));
        if let Some(fleet) = &fleet {
            tasks.push(tokio::spawn(crate::fleet::follow(
                fleet.clone(),
                zones.clone(),
                publisher.subscribe(),
                stop_rx.clone(),
            )));
            tasks.push(tokio::spawn(crate::fleet::monitor(
                fleet.clone(),
                zones.clone(),
                stop_rx.clone(),
            )));
        }
        if let Some(name) = &args.xfr.catalog {
            tasks.push(tokio::spawn(crate::catalog::run(
                publisher.clone(),
                name.clone(),
                secondary_zones.clone(),
                stop_rx.clone(),
            )));
        }
        if let (Some(loaded), Some(wiring)) = (secondary_loaded, secondary_wiring) {
            let shared = crate::secondary::Shared {
                publisher: publisher.clone(),
                keys: xfr.keys.clone(),
                dir: secondary_dir.clone(),
                expired: wiring.expired,
                primaries: wiring.primaries,
                excluded: secondary_zones.clone(),
                routes: Default::default(),
                members: Default::default(),
                stop: stop_rx.clone(),
                region: args.region.clone(),
                compact_overlay_names: args.compact_overlay_names,
            };
            tasks.extend(crate::secondary::spawn(loaded, shared, wiring.notifies));
        }
        if args.guard.rolls_secrets() {
            tasks.push(tokio::spawn(crate::guard::roll_secrets(
                cookies.clone(),
                stop_rx.clone(),
            )));
        }
        let mut status_hooks = None;
        let mut status_probes = None;
        if let Some(db) = status_db {
            let wiring = crate::status::Wiring {
                listen: args.listen.clone(),
                api: store.as_ref().map(|_| args.api_listen),
                redirector: store.as_ref().map(|_| args.redirect_listen),
                zones: zones.clone(),
                store: store.clone(),
                db,
                publisher: store.as_ref().map(|_| publisher.clone()),
                api_tls: match &tls {
                    Some(certs) => Some(certs.probe_config()?),
                    None => None,
                },
                https: tls.is_some(),
                fleet: fleet.clone(),
            };
            let running = crate::status::start(&args.status, wiring, stop_rx.clone()).await?;
            tasks.extend(running.tasks);
            status_hooks = Some((running.db.clone(), running.changed.clone()));
            status_probes = Some(running.probes.clone());
            tasks.push(
                serve_http(
                    args.status.status_listen,
                    running.router,
                    "the status page",
                    tls.as_ref(),
                    stop_rx.clone(),
                )
                .await?,
            );
            tracing::info!(status = %args.status.status_listen, "status page listening");
        }
        if let Some(traffic) = &udp_config.traffic {
            let notices = status_hooks.as_ref().map(|(db, changed)| {
                crate::traffic::Notices::new(store.clone(), db.clone(), changed.clone())
            });
            tasks.push(tokio::spawn(crate::traffic::run(
                traffic.clone(),
                args.traffic.thresholds(),
                args.traffic.tighten(udp_config.limiter.as_deref()),
                notices,
                stop_rx.clone(),
            )));
        }
        if let Some(store) = &store {
            let redirects: SharedRedirects = Arc::new(ArcSwap::from_pointee(Redirects::default()));
            refresh_redirects(store, &redirects);
            let state = ApiState {
                store: store.clone(),
                publish: {
                    let (publisher, store, redirects) =
                        (publisher.clone(), store.clone(), redirects.clone());
                    Arc::new(move |change: &candor_store::ZoneChange| {
                        publisher.publish(change);
                        refresh_redirects(&store, &redirects);
                    })
                },
                zone_notes: zone_notes(publisher.clone(), !args.data.alias_upstreams.is_empty()),
                traffic: udp_config.traffic.clone(),
                secondaries: crate::fleet::for_api(fleet.as_ref()),
                nameservers: args.listen.clone(),
                rate_limit_per_hour: args.api_rate_limit,
                status: status_hooks.as_ref().map(|(db, _)| db.clone()),
                webhook_allow_private: args.status.webhook_allow_private,
                status_changed: status_hooks.as_ref().map_or_else(
                    || Arc::new(|| {}) as Arc<dyn Fn() + Send + Sync>,
                    |(_, c)| c.clone(),
                ),
            };
            let api = candor_api::router_with(
                state,
                candor_api::Observe {
                    http: api_metrics.clone(),
                    ready: ready.clone(),
                },
            );
            tasks.push(
                serve_http(args.api_listen, api, "the API", tls.as_ref(), stop_rx.clone()).await?,
            );
            tasks.push(tokio::spawn(crate::resign::run(
                store.clone(),
                publisher.clone(),
                stop_rx.clone(),
            )));
            tasks.push(tokio::spawn(crate::keyroll::run(
                store.clone(),
                publisher.clone(),
                args.keyroll.clone(),
                stop_rx.clone(),
            )));
            tasks.push(tokio::spawn(follow_store(
                store.clone(),
                publisher.clone(),
                {
                    let (store, redirects) = (store.clone(), redirects.clone());
                    Arc::new(move || refresh_redirects(&store, &redirects))
                },
                stop_rx.clone(),
            )));
            tracing::info!(api = %args.api_listen, "REST API listening");
            let redirector = candor_redirect::router(redirects.clone());
            tasks.push(
                serve_http(
                    args.redirect_listen,
                    redirector,
                    "the redirector",
                    None,
                    stop_rx.clone(),
                )
                .await?,
            );
            tracing::info!(redirector = %args.redirect_listen, "URL redirector listening");
        }
        // The ALIAS task, with or without a store: it resolves the served
        // zones' targets outside them through the upstreams (without any,
        // it names each zone whose ALIAS records then answer SERVFAIL),
        // and with a store it signs the ALIAS answers of signed zones and
        // gives the zones pointing at a moved target a new serial.
        {
            let settings = AliasSettings {
                upstreams: args.data.alias_upstreams.clone(),
                ttl_floor: Duration::from_secs(args.alias_ttl_floor),
                ttl_ceiling: Duration::from_secs(args.alias_ttl_ceiling.max(args.alias_ttl_floor)),
                max_stale: Duration::from_secs(args.alias_max_stale),
                timeout: Duration::from_millis(args.alias_timeout_ms),
                max_concurrent: args.alias_max_concurrent,
                max_per_second: args.alias_max_per_second,
            };
            // New serials are only worth it when someone transfers zones.
            let transfers = !args.xfr.allow.is_empty() || !args.xfr.notify.is_empty();
            let bump = (store.is_some() && transfers).then(|| {
                let publisher = publisher.clone();
                Arc::new(move |change: &candor_store::ZoneChange| {
                    publisher.publish(change);
                }) as candor_alias::Publish
            });
            tasks.push(tokio::spawn(alias::run(
                store.clone(),
                zones.clone(),
                tcp_config.answer.aliases.clone(),
                settings,
                Arc::new(AtomicBool::new(true)),
                alias_stats.clone(),
                bump,
                stop_rx.clone(),
            )));
            if !args.data.alias_upstreams.is_empty() {
                tracing::info!(upstreams = ?args.data.alias_upstreams, "ALIAS resolver running");
            }
        }
        if let Some(listener) = metrics_listener {
            let metrics = crate::observe::metrics(crate::observe::Sources {
                udp: udp.iter().flat_map(|w| w.stats().iter().cloned()).collect(),
                tcp: tcp_stats.clone(),
                xfr: xfr.transfers.stats().clone(),
                zones: zones.clone(),
                publisher: store.as_ref().map(|_| publisher.clone()),
                api: api_metrics.clone(),
                traffic: udp_config.traffic.clone(),
                alias: (!args.data.alias_upstreams.is_empty()).then(|| alias_stats.clone()),
                status: status_probes
                    .clone()
                    .zip(status_hooks.as_ref().map(|(db, _)| db.clone())),
                fleet: fleet.clone(),
            });
            tracing::info!(metrics = ?args.metrics_listen, "metrics listening");
            tasks.push(crate::observe::serve(
                listener,
                metrics,
                ready.clone(),
                stop_rx.clone(),
            ));
        }
        phase.serving();
        tracing::info!(listen = ?args.listen, udp_workers = workers, "serving");

        let (term, int, hup) = &mut signals;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => {
                    args.guard.reload(&cookies);
                    if let Some(certs) = &tls {
                        match certs.reload() {
                            Ok(print) => tracing::info!(fingerprint = %print, "TLS certificate read again"),
                            Err(e) => tracing::error!("keeping the TLS certificate in use: {e}"),
                        }
                    }
                    let Some(dir) = args.zones.clone() else { continue };
                    match tokio::task::spawn_blocking(move || load(&dir)).await {
                        Ok(Ok(files)) => publisher.replace_files(files),
                        Ok(Err(e)) => tracing::error!("reload failed: {e:#}"),
                        Err(e) => tracing::error!("reload failed: {e}"),
                    }
                }
            }
        }
        tracing::info!("stopping");
        phase.stopping();
        let _ = stop_tx.send(true);
        for t in tasks {
            // The store follower never ends by itself; the others stop on
            // the signal above.
            if t.is_finished() {
                let _ = t.await;
            } else {
                let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
            }
        }
        anyhow::Ok(())
    });
    let mut totals = StatsSnapshot::default();
    tcp_stats.queries.add_to(&mut totals);
    let tcp = tcp_stats.connections.snapshot();
    tracing::info!(
        connections = tcp.admitted,
        closed_idle = tcp.idle,
        closed_query_deadline = tcp.query_deadline,
        closed_send_deadline = tcp.send_deadline,
        evicted_at_cap = tcp.evicted,
        closed_per_source = tcp.per_source,
        refused_at_cap = tcp.full,
        "tcp connections"
    );
    for workers in udp {
        for s in workers.stats() {
            s.add_to(&mut totals);
        }
        workers.shutdown();
    }
    tracing::info!(
        received = totals.received,
        responded = totals.responded,
        dropped = totals.dropped,
        truncated = totals.truncated,
        rrl_slipped = totals.rrl_slipped,
        rrl_dropped = totals.rrl_dropped,
        shed = totals.shed,
        kernel_shed = totals.kernel_shed,
        quarantined = totals.quarantined,
        cookies_client_only = totals.cookie_client_only,
        cookies_valid = totals.cookie_valid,
        cookies_invalid = totals.cookie_invalid,
        "stopped"
    );
    result.map(|()| ExitCode::SUCCESS)
}

/// What the distribution endpoints say is wrong with a zone: its stored
/// version is not served (last known good), or its ALIAS targets outside
/// Candor's zones have no resolver.
fn zone_notes(publisher: Publisher, alias_upstream: bool) -> ZoneNotes {
    Arc::new(move |store: &Store, zone: &str| {
        let mut notes = Vec::new();
        if let Some(f) = publisher.failure(zone) {
            let served = match f.served_serial {
                Some(serial) => format!("its last known good version (serial {serial}) is served"),
                None => "no earlier version could be loaded, so it is not served".to_owned(),
            };
            notes.push(ZoneNote {
                code: "stored_version_not_served",
                message: format!(
                    "the stored zone (serial {}) does not compile: {}; {served}. \
                     Changes to it are not served until this is fixed.",
                    f.stored_serial, f.error
                ),
            });
        }
        if !alias_upstream {
            match store.zone_alias_targets(zone) {
                Ok(targets) if !targets.is_empty() => notes.push(ZoneNote {
                    code: "alias_without_upstream",
                    message: format!(
                        "ALIAS records point outside Candor's zones ({}), and the server runs \
                         without --alias-upstream: those names answer SERVFAIL until a \
                         resolver is configured",
                        targets.join(", ")
                    ),
                }),
                Ok(_) => {}
                Err(e) => tracing::warn!(zone, "cannot read ALIAS targets: {e}"),
            }
        }
        notes
    })
}

/// Binds `addr` and serves `app` on it until `stop` turns, over HTTPS
/// with `tls`; the client's address reaches handlers as `ConnectInfo`
/// (the audit log wants it).
async fn serve_http(
    addr: std::net::SocketAddr,
    app: axum::Router,
    what: &'static str,
    tls: Option<&Arc<candor_tls::Certificates>>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for {what}"))?;
    let shutdown = async move {
        let _ = stop.changed().await;
    };
    let Some(certs) = tls else {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        return Ok(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("{what} failed: {e}");
            }
        }));
    };
    let config = certs
        .server_config()
        .with_context(|| format!("cannot set up TLS for {what}"))?;
    let listener = candor_tls::TlsListener::new(listener, config)
        .with_context(|| format!("cannot listen on {addr} for {what}"))?;
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, candor_tls::WithPeer(app))
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("{what} failed: {e}");
        }
    }))
}

/// The TCP connection cap when none is asked for (memory per idle
/// connection is about a kilobyte of Candor's and a few of the kernel's; the
/// per-source limit keeps one host from taking them all).
const DEFAULT_TCP_MAX_CONNECTIONS: usize = 32_768;

/// Raises the file-descriptor limit as far as allowed and returns the TCP
/// connection cap: `wanted` (or the default), lowered to what the limit
/// leaves room for; says so when it lowers an explicit value.
fn tcp_max_connections(wanted: Option<usize>) -> usize {
    let fit = match raise_fd_limit() {
        Ok(limit) => {
            tracing::info!(
                soft = limit.soft,
                hard = limit.hard,
                at_start = limit.before,
                "file-descriptor limit"
            );
            max_connections_for(limit.soft)
        }
        Err(e) => {
            tracing::warn!("cannot read the file-descriptor limit: {e}");
            usize::MAX
        }
    };
    match wanted {
        None => DEFAULT_TCP_MAX_CONNECTIONS.min(fit),
        Some(n) if n > fit => {
            tracing::warn!(
                asked = n,
                allowed = fit,
                "--tcp-max-connections lowered to fit the file-descriptor limit"
            );
            fit
        }
        Some(n) => n.max(1),
    }
}

/// A TCP listener with `SO_REUSEADDR`, for the tokio runtime. Connections
/// are taken off the backlog at once (`serve_tcp` never leaves one
/// waiting), so it only absorbs a burst of handshakes between two turns of
/// the accept loop; 4,096 (the kernel's usual `somaxconn`) keeps a burst of
/// a few thousand from dropping the handshakes that come with it.
fn tcp_listener(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}
