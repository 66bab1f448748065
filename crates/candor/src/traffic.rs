//! Per-zone traffic in `candor serve`: the flags, the once-a-second tick
//! of the shared counters, and what happens when a zone is under attack
//! (its owner's subscribers are told privately; the status page shows the
//! platform-level effect without naming the zone).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_status::db::{NewIncident, NewUpdate, StatusDb, now};
use candor_status::model::{Impact, IncidentStatus, UpdateSource};
use candor_store::Store;
use candor_traffic::{Attack, AttackEvent, Detector, Thresholds, Traffic};
use clap::Args;
use tokio::sync::watch;

use crate::status::with_db;

/// Per-zone accounting, fair-share shedding and attack notices.
#[derive(Args, Debug)]
pub(crate) struct TrafficArgs {
    /// Turn off per-zone accounting in the UDP workers, and with it
    /// fair-share shedding under overload, `candor top` and attack notices.
    #[arg(long)]
    no_zone_traffic: bool,
    /// A zone receiving at least this many queries per second for
    /// --attack-sustain seconds is under attack: its owner is told.
    #[arg(long, value_name = "QPS", default_value_t = 5000.0)]
    attack_qps: f64,
    /// Seconds in a row over --attack-qps before an attack is declared.
    #[arg(long, value_name = "SECONDS", default_value_t = 3)]
    attack_sustain: u32,
    /// Seconds in a row below --attack-qps before an attack is over.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    attack_quiet: u32,
    /// Do not tighten response rate limiting for zones under attack (by
    /// default their responses get a quarter of --rrl-rate per client
    /// network while the attack lasts).
    #[arg(long)]
    no_rrl_tighten: bool,
    /// Shed only in the UDP workers, never in the kernel. By default a
    /// worker that sheds a zone attaches a socket filter that drops most of
    /// that zone's packets before they are queued (see `candor_traffic::filter`).
    #[arg(long)]
    no_kernel_shed: bool,
    /// For tests: each UDP worker spins this many microseconds after every
    /// answer, shrinking its capacity.
    #[arg(
        long,
        hide = true,
        env = "CANDOR_TEST_SLOW_WORKER_US",
        default_value_t = 0
    )]
    test_slow_worker_us: u64,
}

impl TrafficArgs {
    /// The shared counters, unless turned off.
    pub(crate) fn traffic(&self) -> Option<Arc<Traffic>> {
        if self.no_zone_traffic {
            tracing::info!("per-zone accounting and shedding off (--no-zone-traffic)");
            return None;
        }
        Some(Arc::new(Traffic::new()))
    }

    /// Whether workers may shed in the kernel (a socket filter).
    pub(crate) fn kernel_shed(&self) -> bool {
        !self.no_kernel_shed
    }

    /// The test-only slowdown of every answer.
    pub(crate) fn slow_answer(&self) -> Duration {
        if self.test_slow_worker_us > 0 {
            tracing::warn!(
                us = self.test_slow_worker_us,
                "UDP workers slowed down for a test (CANDOR_TEST_SLOW_WORKER_US)"
            );
        }
        Duration::from_micros(self.test_slow_worker_us)
    }

    /// The rate the limiter holds a zone under attack to (responses a
    /// second per client network), or `None` if it is not tightened (turned
    /// off, or no rate limiting at all).
    pub(crate) fn tighten(&self, limiter: Option<&candor_guard::Limiter>) -> Option<i64> {
        if self.no_rrl_tighten {
            return None;
        }
        limiter.map(candor_guard::Limiter::tightened_rate)
    }

    /// The attack thresholds.
    pub(crate) fn thresholds(&self) -> Thresholds {
        Thresholds {
            min_qps: self.attack_qps,
            sustain: self.attack_sustain.max(1),
            quiet: self.attack_quiet.max(1),
            ..Thresholds::default()
        }
    }
}

/// Who is told of attacks: the zone's owner (privately, through the
/// status page's outbox) and the public status page (an incident that
/// names no zone).
pub(crate) struct Notices {
    /// Zones' owners.
    pub(crate) store: Option<Arc<Store>>,
    /// The status page's database (its outbox and incidents).
    pub(crate) db: Arc<Mutex<StatusDb>>,
    /// Wakes the notifier and re-renders the page after a write.
    pub(crate) changed: Arc<dyn Fn() + Send + Sync>,
    /// The public incident opened for attacks in progress.
    incident: Option<i64>,
    /// Whether the incident's timeline says shedding is on.
    shedding: bool,
    /// Whether the incident's timeline says rate limiting is tightened.
    tightened: bool,
}

impl Notices {
    /// Notices through `db`, owners found in `store`.
    pub(crate) fn new(
        store: Option<Arc<Store>>,
        db: Arc<Mutex<StatusDb>>,
        changed: Arc<dyn Fn() + Send + Sync>,
    ) -> Notices {
        Notices {
            store,
            db,
            changed,
            incident: None,
            shedding: false,
            tightened: false,
        }
    }

    /// Tells the zone's owner that an attack started or ended: one
    /// private message per subscriber of the owning account.
    async fn tell_owner(&self, attack: &Attack, started: bool) -> anyhow::Result<usize> {
        let Some(store) = self.store.clone() else {
            return Ok(0);
        };
        let zone = attack.zone.clone();
        let account = tokio::task::spawn_blocking(move || store.zone_account(&zone)).await??;
        let Some(account) = account else {
            return Ok(0);
        };
        let (subject, body) = attack.notice(started);
        let zone = attack.zone.clone();
        with_db(&self.db, move |db| {
            Ok(db.queue_zone_notice(account, &zone, &subject, &body, now())?)
        })
        .await
    }

    /// Opens, updates or resolves the public incident. It names no zone:
    /// the page shows what the platform sees, not whose zone it is.
    async fn tell_public(&mut self, event: &AttackEvent, in_progress: usize) -> anyhow::Result<()> {
        let update = match (event, self.incident) {
            (AttackEvent::Started(a), None) => {
                let new = NewIncident {
                    name: "Query flood against a customer zone".to_owned(),
                    status: IncidentStatus::Identified,
                    impact: Some(Impact::None),
                    automatic: false,
                    started_at: None,
                    scheduled_for: None,
                    scheduled_until: None,
                    components: Vec::new(),
                    zones: Vec::new(),
                    body: format!(
                        "The name servers are receiving {} aimed at one customer zone, about \
                         {:.0} queries per second. Candor rate limits the flood's responses and, \
                         if the name servers saturate, holds the flooded zone to its fair share of \
                         capacity, so other zones keep being answered. The zone's owner has been \
                         told.",
                        a.kind.describe(),
                        a.last.qps
                    ),
                    source: UpdateSource::Monitor,
                };
                let written =
                    with_db(&self.db, move |db| Ok(db.create_incident(&new, now())?)).await?;
                self.incident = Some(written.incident.incident.id);
                (self.changed)();
                return Ok(());
            }
            (AttackEvent::Started(a), Some(id)) => (
                id,
                IncidentStatus::Identified,
                format!(
                    "Another customer zone is receiving {}, about {:.0} queries per second; \
                     {in_progress} zones are flooded now.",
                    a.kind.describe(),
                    a.last.qps
                ),
            ),
            (AttackEvent::Ended(_), Some(id)) if in_progress == 0 => {
                self.incident = None;
                self.shedding = false;
                self.tightened = false;
                (
                    id,
                    IncidentStatus::Resolved,
                    "The flood has ended; query rates are back to normal.".to_owned(),
                )
            }
            (AttackEvent::Ended(_), Some(id)) => (
                id,
                IncidentStatus::Identified,
                format!("The flood against one zone has ended; {in_progress} are still flooded."),
            ),
            (AttackEvent::Ended(_), None) => return Ok(()),
        };
        self.post(update.0, update.1, update.2, UpdateSource::Monitor)
            .await
    }

    /// Posts the automatic mitigation to the incident's timeline when
    /// fair-share shedding starts or stops for the flooded zones.
    async fn tell_mitigation(&mut self, attacks: &[Attack]) -> anyhow::Result<()> {
        let Some(id) = self.incident else {
            return Ok(());
        };
        let shedding = attacks.iter().any(|a| a.last.shed_per_second > 0.0);
        if shedding == self.shedding {
            return Ok(());
        }
        self.shedding = shedding;
        let body = if shedding {
            "Mitigation applied automatically: the name servers are saturated, so queries for \
             the flooded zone beyond its fair share of capacity are dropped before they are \
             answered. Other zones keep their answers."
        } else {
            "Mitigation lifted: the name servers have capacity again and answer every query."
        };
        self.post(
            id,
            IncidentStatus::Identified,
            body.to_owned(),
            UpdateSource::Mitigation,
        )
        .await
    }

    /// Posts the automatic tightening of rate limiting to the incident's
    /// timeline when it starts (`rate`: responses a second per client
    /// network) or ends. Naming no zone, as the incident does.
    async fn tell_tightening(&mut self, on: bool, rate: i64) -> anyhow::Result<()> {
        let Some(id) = self.incident else {
            return Ok(());
        };
        if on == self.tightened {
            return Ok(());
        }
        self.tightened = on;
        let body = if on {
            format!(
                "Mitigation applied automatically: responses for the flooded zone are rate \
                 limited more tightly, to {rate} per second per client network, until the \
                 flood ends."
            )
        } else {
            "Mitigation lifted: the flood has ended and the zone's responses are rate limited \
             as usual again."
                .to_owned()
        };
        self.post(
            id,
            IncidentStatus::Identified,
            body,
            UpdateSource::Mitigation,
        )
        .await
    }

    /// Posts one update to incident `id`.
    async fn post(
        &self,
        id: i64,
        status: IncidentStatus,
        body: String,
        source: UpdateSource,
    ) -> anyhow::Result<()> {
        let update = NewUpdate {
            status,
            body,
            source,
            impact: None,
            components: None,
        };
        with_db(&self.db, move |db| {
            Ok(db.post_update(id, &update, now())?)
        })
        .await?;
        (self.changed)();
        Ok(())
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Closes the counters' interval every second, publishes the snapshot and
/// the attacks in progress, and tells of attacks that start or end
/// (`notices`, when the status page runs), until `stop` turns.
///
/// With `tighten` (a rate), the zones under attack have their responses
/// rate limited at that rate until their attack ends (`Traffic::set_tightened`,
/// which every UDP worker reads within 100 ms), and the incident's
/// timeline says so.
pub(crate) async fn run(
    traffic: Arc<Traffic>,
    thresholds: Thresholds,
    tighten: Option<i64>,
    mut notices: Option<Notices>,
    mut stop: watch::Receiver<bool>,
) {
    let mut detector = Detector::new(thresholds);
    let mut last = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = Instant::now();
        let snapshot = traffic.tick(unix_now(), now.duration_since(last).as_secs_f64());
        last = now;
        let events = detector.observe(&snapshot);
        let mut attacks: Vec<Attack> = detector.attacks().cloned().collect();
        attacks.sort_by(|a, b| a.zone.cmp(&b.zone));
        if let Some(rate) = tighten {
            let zones: Vec<_> = attacks.iter().map(|a| a.id).collect();
            if zones.as_slice() != traffic.tightened().as_slice() {
                tracing::info!(
                    zones = zones.len(),
                    rate,
                    "rate limiting tightened for zones under attack"
                );
            }
            // Lifted before the incident is resolved below, so the timeline
            // says so while it is still open.
            if zones.is_empty()
                && let Some(n) = &mut notices
                && let Err(e) = n.tell_tightening(false, rate).await
            {
                tracing::error!("cannot post the mitigation: {e:#}");
            }
            traffic.set_tightened(zones);
        }
        for event in events {
            match &event {
                AttackEvent::Started(a) => tracing::warn!(
                    zone = a.zone,
                    kind = a.kind.as_str(),
                    qps = a.last.qps as u64,
                    nxdomain_ratio = a.last.nxdomain_ratio,
                    shed_per_second = a.last.shed_per_second as u64,
                    "zone under attack"
                ),
                AttackEvent::Ended(a) => tracing::info!(
                    zone = a.zone,
                    peak_qps = a.peak_qps as u64,
                    "attack on zone ended"
                ),
            }
            if let Some(n) = &mut notices {
                let (attack, started) = match &event {
                    AttackEvent::Started(a) => (a, true),
                    AttackEvent::Ended(a) => (a, false),
                };
                match n.tell_owner(attack, started).await {
                    Ok(told) => {
                        tracing::info!(zone = attack.zone, subscribers = told, "owner told")
                    }
                    Err(e) => tracing::error!(zone = attack.zone, "cannot tell the owner: {e:#}"),
                }
                if let Err(e) = n.tell_public(&event, attacks.len()).await {
                    tracing::error!("cannot update the status page: {e:#}");
                }
            }
        }
        if let Some(n) = &mut notices
            && let Err(e) = n.tell_mitigation(&attacks).await
        {
            tracing::error!("cannot post the mitigation: {e:#}");
        }
        if let (Some(rate), Some(n)) = (tighten, &mut notices)
            && !attacks.is_empty()
            && let Err(e) = n.tell_tightening(true, rate).await
        {
            tracing::error!("cannot post the mitigation: {e:#}");
        }
        traffic.set_attacks(attacks);
    }
}
