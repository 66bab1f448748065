//! The secondaries' lag: which secondary name servers serve every zone
//! (`--notify` targets and `--secondary-server`), how far behind the
//! primary each one is, and the status page's "Secondary name servers"
//! component, with an incident while one stays behind longer than
//! `--secondary-lag-threshold`.
//!
//! Three tasks: `follow` notes when the primary first served each serial
//! (`candor_xfr::lag::Timeline`, on every publication); `monitor` asks
//! every secondary for every served zone's SOA over UDP each
//! `--secondary-check-interval` and keeps what each one last served
//! (`candor_xfr::lag::Follower`); `show` turns the late secondaries into the
//! component's state and its incident, which names the secondaries but no
//! zone. The distribution endpoints ask the secondaries themselves, live,
//! and read the lag from the same timeline (`Fleet::lag_of`).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use candor_api::{LagOf, Secondaries, SecondaryLag, SoaReply, ask_soa};
use candor_server::SharedZones;
use candor_status::db::{ComponentSpec, NewIncident, NewUpdate, StatusDb, now};
use candor_status::model::{ComponentKind, ComponentStatus, Impact, IncidentStatus, UpdateSource};
use candor_wire::Name;
use candor_xfr::lag::{Answer, Follower, Late, Timeline};
use tokio::sync::{Semaphore, watch};

/// `candor serve` options for watching the secondaries.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct FleetArgs {
    /// A secondary name server of every zone whose lag to watch, `ADDR`
    /// or `ADDR:PORT` (port 53 unless given), when it is not a `--notify`
    /// target (those are watched anyway). Repeat for several.
    #[arg(long = "secondary-server", value_name = "ADDR", value_parser = parse_server)]
    pub(crate) servers: Vec<SocketAddr>,
    /// A secondary behind the primary on some zone for longer than this
    /// many seconds opens an incident on the status page ("Secondary name
    /// servers").
    #[arg(long, value_name = "SECONDS", default_value = "300", value_parser = crate::seconds)]
    pub(crate) secondary_lag_threshold: Duration,
    /// Seconds between two rounds of SOA queries to every secondary for
    /// every zone.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = crate::seconds)]
    pub(crate) secondary_check_interval: Duration,
}

/// Parses `ADDR` or `ADDR:PORT` (`[IPV6]:PORT`).
fn parse_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match text.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, 53)),
        Err(_) => Err(format!(
            "{text:?} is not an address (ADDR or ADDR:PORT, e.g. 192.0.2.2 or [2001:db8::2]:53)"
        )),
    }
}

/// SOA queries in flight at once in a monitor round.
const IN_FLIGHT: usize = 64;

/// What the tasks share.
pub(crate) struct Fleet {
    /// The secondaries, in the order given (notify targets first).
    pub(crate) addrs: Vec<SocketAddr>,
    /// When the primary first served each serial.
    timeline: Mutex<Timeline>,
    /// The monitor's latest verdict per secondary (same order as `addrs`):
    /// late zones and whether it answered at all in the last round.
    verdicts: Mutex<Vec<(Late, bool)>>,
    /// The threshold, in seconds.
    threshold: u64,
    /// Time between rounds.
    interval: Duration,
    /// The catalog zone (`--catalog`), not watched: secondaries that
    /// follow it need not serve it (Candor's do not), and its members are
    /// watched one by one.
    catalog: Option<Name>,
}

/// Locks a mutex, taking over a poisoned one (the data are counters and
/// serials, whole after any panic).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Fleet {
    /// The secondaries to watch: the `--notify` targets, then
    /// `--secondary-server`s, each once; `None` when there are none.
    pub(crate) fn new(
        args: &FleetArgs,
        notify: &[candor_xfr::Target],
        catalog: Option<&Name>,
    ) -> Option<Arc<Fleet>> {
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for addr in notify
            .iter()
            .map(|t| t.addr)
            .chain(args.servers.iter().copied())
        {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        if addrs.is_empty() {
            return None;
        }
        Some(Arc::new(Fleet {
            verdicts: Mutex::new(vec![(Late::default(), true); addrs.len()]),
            addrs,
            timeline: Mutex::new(catalog.map_or_else(Timeline::new, Timeline::ignoring)),
            threshold: args.secondary_lag_threshold.as_secs(),
            interval: args.secondary_check_interval,
            catalog: catalog.map(Name::to_lowercase),
        }))
    }

    /// What the API's distribution endpoints need.
    pub(crate) fn for_api(self: &Arc<Fleet>) -> Secondaries {
        let fleet = self.clone();
        let lag: LagOf = Arc::new(move |zone: &Name, serial: Option<u32>| {
            let lag = lock(&fleet.timeline).lag(zone, serial, unix_now())?;
            Some(SecondaryLag {
                serials: lag.serials,
                seconds: lag.seconds,
            })
        });
        Secondaries {
            addrs: self.addrs.clone(),
            lag,
        }
    }
}

impl Fleet {
    /// The metrics of the last monitor round, per secondary: zones behind
    /// longer than the threshold, the worst lag among them, and whether it
    /// answered.
    pub(crate) fn collect(&self, s: &mut candor_metrics::Samples) {
        let verdicts = lock(&self.verdicts).clone();
        for (addr, (late, answering)) in self.addrs.iter().zip(verdicts) {
            let addr = addr.to_string();
            let labels = [("secondary", addr.as_str())];
            s.gauge(
                "candor_secondary_zones_late",
                "Zones a secondary has been behind on for longer than \
                 --secondary-lag-threshold, at the last check.",
                &labels,
                i64::try_from(late.zones).unwrap_or(i64::MAX),
            );
            s.gauge(
                "candor_secondary_worst_lag_seconds",
                "The longest a secondary has been behind on one of those zones (0: none).",
                &labels,
                i64::try_from(late.worst).unwrap_or(i64::MAX),
            );
            s.gauge(
                "candor_secondary_answering",
                "Whether a secondary answered SOA queries at the last check (1) or not (0).",
                &labels,
                i64::from(answering),
            );
        }
    }
}

/// The API's view of the secondaries: none without a fleet.
pub(crate) fn for_api(fleet: Option<&Arc<Fleet>>) -> Secondaries {
    fleet.map_or_else(Secondaries::none, Fleet::for_api)
}

/// Notes every served set's serials, now and on every change, until
/// `stop` turns.
pub(crate) async fn follow(
    fleet: Arc<Fleet>,
    zones: SharedZones,
    mut changes: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        changes.mark_unchanged();
        let set = zones.load_full();
        lock(&fleet.timeline).observe(&set, unix_now());
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

/// Asks every secondary for every served zone's SOA each interval and
/// keeps the verdicts; logs when a secondary falls behind or catches up.
pub(crate) async fn monitor(
    fleet: Arc<Fleet>,
    zones: SharedZones,
    mut stop: watch::Receiver<bool>,
) {
    let mut followers: Vec<Follower> = fleet.addrs.iter().map(|_| Follower::new()).collect();
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let set = zones.load_full();
        // The follower notes changes as they are published; this only
        // catches what it has not seen yet (and the first round).
        lock(&fleet.timeline).observe(&set, unix_now());
        let mut tasks = tokio::task::JoinSet::new();
        for (i, &addr) in fleet.addrs.iter().enumerate() {
            // After a query goes unanswered, the rest of this round's
            // queries to that secondary are not sent (it is judged by what
            // it last served): a dead secondary costs one timeout per
            // round, not one per zone, and does not hold up the others.
            let gave_up = Arc::new(AtomicBool::new(false));
            for zone in set.zones() {
                if fleet
                    .catalog
                    .as_ref()
                    .is_some_and(|c| zone.apex().eq_ignore_case(c))
                {
                    continue;
                }
                let (apex, permits, gave_up) =
                    (zone.apex().clone(), permits.clone(), gave_up.clone());
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    if gave_up.load(Ordering::Relaxed) {
                        return (i, apex, Answer::Silent);
                    }
                    let answer = match ask_soa(addr, &apex).await {
                        SoaReply::Serial(s) => Answer::Serial(s),
                        SoaReply::NoSoa => Answer::Missing,
                        SoaReply::Silent => {
                            gave_up.store(true, Ordering::Relaxed);
                            Answer::Silent
                        }
                    };
                    (i, apex, answer)
                });
            }
        }
        let mut heard = vec![false; fleet.addrs.len()];
        let round = async {
            while let Some(joined) = tasks.join_next().await {
                if let Ok((i, apex, answer)) = joined
                    && let Some(f) = followers.get_mut(i)
                {
                    heard[i] |= answer != Answer::Silent;
                    f.record(&apex, answer);
                }
            }
        };
        tokio::select! {
            () = round => {}
            _ = stop.changed() => return,
        }
        let verdicts: Vec<(Late, bool)> = {
            let timeline = lock(&fleet.timeline);
            let at = unix_now();
            followers
                .iter_mut()
                .zip(&heard)
                .map(|(f, &heard)| {
                    f.retain(&timeline);
                    (
                        f.late(&timeline, fleet.threshold, at),
                        heard || set.zones().is_empty(),
                    )
                })
                .collect()
        };
        {
            let mut shown = lock(&fleet.verdicts);
            for (i, ((late, answering), (before, _))) in
                verdicts.iter().zip(shown.iter()).enumerate()
            {
                let addr = fleet.addrs[i];
                if late.zones > 0 && before.zones == 0 {
                    tracing::warn!(
                        secondary = %addr, zones = late.zones, worst_seconds = late.worst,
                        answering, "a secondary is behind the primary"
                    );
                } else if late.zones == 0 && before.zones > 0 {
                    tracing::info!(secondary = %addr, "a secondary caught up");
                }
            }
            *shown = verdicts;
        }
        tokio::select! {
            _ = tokio::time::sleep(fleet.interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The component's key in the status database.
pub(crate) const KEY: &str = "secondaries";

/// The incident's title (also how a restarted server finds it again).
const TITLE: &str = "Secondary name servers behind";

/// The component, for `sync_components`.
pub(crate) fn component(fleet: &Fleet, location: Option<String>) -> ComponentSpec {
    ComponentSpec {
        key: KEY.into(),
        name: "Secondary name servers".into(),
        location,
        description: Some(format!(
            "Zone changes reach the secondary name servers ({}) within {} seconds",
            list(&fleet.addrs),
            fleet.threshold
        )),
        kind: ComponentKind::Other,
    }
}

/// Addresses as `a, b and c`.
fn list(addrs: &[SocketAddr]) -> String {
    let texts: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    match texts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// Follows the monitor's verdicts and shows them on the status page
/// (component `id`); `changed` runs after every write. Returns when `stop`
/// turns.
pub(crate) async fn show(
    fleet: Arc<Fleet>,
    db: Arc<Mutex<StatusDb>>,
    id: i64,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut shown: Option<Vec<SocketAddr>> = None;
    loop {
        let late: Vec<SocketAddr> = lock(&fleet.verdicts)
            .iter()
            .zip(&fleet.addrs)
            .filter(|((late, _), _)| late.zones > 0)
            .map(|(_, addr)| *addr)
            .collect();
        if shown.as_ref() != Some(&late) {
            let (db, fleet2, late2) = (db.clone(), fleet.clone(), late.clone());
            let written =
                tokio::task::spawn_blocking(move || write(&mut lock(&db), id, &fleet2, &late2))
                    .await;
            match written {
                Ok(Ok(())) => {
                    shown = Some(late);
                    changed();
                }
                Ok(Err(e)) => {
                    tracing::error!("cannot show the secondaries on the status page: {e}")
                }
                Err(_) => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes the component's state and its incident for the `late`
/// secondaries.
fn write(
    db: &mut StatusDb,
    id: i64,
    fleet: &Fleet,
    late: &[SocketAddr],
) -> candor_status::db::Result<()> {
    let at = now();
    let open = db
        .open_incidents()?
        .into_iter()
        .find(|v| v.incident.name == TITLE && !v.incident.maintenance);
    let degraded = [(id, ComponentStatus::DegradedPerformance)];
    let behind = |late: &[SocketAddr]| {
        format!(
            "{} {} not received the latest zone changes for more than {} seconds and {} \
             older data for them; the other name servers are current.",
            list(late),
            if late.len() == 1 { "has" } else { "have" },
            fleet.threshold,
            if late.len() == 1 {
                "answers with"
            } else {
                "answer with"
            },
        )
    };
    match (late.is_empty(), open) {
        (true, None) => {}
        (true, Some(view)) => {
            db.post_update(
                view.incident.id,
                &NewUpdate {
                    status: IncidentStatus::Resolved,
                    body: "Every secondary name server has caught up.".into(),
                    source: UpdateSource::Monitor,
                    impact: None,
                    components: Some(vec![(id, ComponentStatus::Operational)]),
                },
                at,
            )?;
        }
        (false, None) => {
            db.create_incident(
                &NewIncident {
                    name: TITLE.into(),
                    status: IncidentStatus::Identified,
                    impact: Some(Impact::Minor),
                    automatic: false,
                    started_at: None,
                    scheduled_for: None,
                    scheduled_until: None,
                    components: degraded.to_vec(),
                    zones: Vec::new(),
                    body: behind(late),
                    source: UpdateSource::Monitor,
                },
                at,
            )?;
        }
        (false, Some(view)) => {
            db.post_update(
                view.incident.id,
                &NewUpdate {
                    status: IncidentStatus::Identified,
                    body: behind(late),
                    source: UpdateSource::Monitor,
                    impact: None,
                    components: Some(degraded.to_vec()),
                },
                at,
            )?;
        }
    }
    let state = if late.is_empty() {
        ComponentStatus::Operational
    } else {
        ComponentStatus::DegradedPerformance
    };
    db.set_component_status(&[(id, state)], at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_servers_parse_with_and_without_a_port() {
        assert_eq!(
            parse_server("192.0.2.2"),
            Ok("192.0.2.2:53".parse().expect("addr"))
        );
        assert_eq!(
            parse_server("192.0.2.2:5300"),
            Ok("192.0.2.2:5300".parse().expect("addr"))
        );
        assert_eq!(
            parse_server("[2001:db8::2]:53"),
            Ok("[2001:db8::2]:53".parse().expect("addr"))
        );
        assert_eq!(
            parse_server("2001:db8::2"),
            Ok("[2001:db8::2]:53".parse().expect("addr"))
        );
        assert!(parse_server("ns2.example").is_err_and(|e| e.contains("not an address")));
    }

    #[test]
    fn addresses_are_listed_in_words() {
        let a: Vec<SocketAddr> = ["192.0.2.1:53", "192.0.2.2:53", "192.0.2.3:53"]
            .iter()
            .map(|s| s.parse().expect("addr"))
            .collect();
        assert_eq!(list(&a[..1]), "192.0.2.1:53");
        assert_eq!(list(&a[..2]), "192.0.2.1:53 and 192.0.2.2:53");
        assert_eq!(list(&a), "192.0.2.1:53, 192.0.2.2:53 and 192.0.2.3:53");
    }
}
