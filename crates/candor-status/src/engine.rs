//! From probe rounds to component states and incidents, with quorum and
//! hysteresis so the page neither cries wolf nor flaps.
//!
//! Each round, every monitored component is probed from every vantage
//! point. A component is *bad* in a round when at least `quorum` vantage
//! points saw it fail (or answer slower than `slow_ms`): one broken vantage
//! point alone does not raise an alarm. After `fail_rounds` bad rounds in a
//! row its shown state worsens (partial outage when some vantage points
//! fail, major outage when all do, degraded when slow) and an incident
//! opens, or the open one is updated; a partial outage is an incident too.
//!
//! Getting better is slower than getting worse: a component's shown state
//! only returns to operational after every probe of it has succeeded for
//! more than `hold` seconds (times are whole seconds, so "more than" is
//! what guarantees the full hold), and the incident is resolved only when every probe of
//! every component has. A failure during that time restarts the clock, so
//! a flapping server keeps one incident open instead of opening and
//! resolving one per flap. The timeline says what happened without
//! spamming: one "monitoring" update when the failures stop, at most one
//! "failures resumed" when they come back, and the resolution.
//!
//! The engine keeps only counters in memory; everything it decides is
//! written to [`StatusDb`], and after a restart it adopts the open
//! automatic incident and the shown states from there.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::db::{NewIncident, NewUpdate, Result, StatusDb};
use crate::model::{
    Component, ComponentKind, ComponentStatus, Impact, IncidentStatus, ProbeResult, Timestamp,
    UpdateSource, maintenance_active, maintenance_step, user_visible,
};

mod io;
pub use io::{Gathered, Maintenance, OpenIncident, apply, gather};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timeline;

/// When a failure counts and when it is over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Vantage points that must see a component fail in a round for the
    /// round to count; 0 means a majority of them.
    pub quorum: usize,
    /// Bad rounds in a row before the state worsens and an incident opens.
    pub fail_rounds: u32,
    /// Seconds every probe must have succeeded before a component shows
    /// operational again and an incident resolves by itself.
    pub hold: i64,
    /// Answers slower than this (milliseconds) count as degraded.
    pub slow_ms: u32,
    /// Rounds looked back over for failures that do not come in a row.
    pub window: u32,
    /// Percent of the `window` rounds (and at least `fail_rounds` of them)
    /// that must be bad for degraded performance without a bad streak.
    pub window_share: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            quorum: 0,
            fail_rounds: 3,
            hold: 120,
            slow_ms: 1000,
            window: 12,
            window_share: 25,
        }
    }
}

impl Thresholds {
    /// Bad rounds within the window that make a component degraded.
    fn window_bad(&self) -> usize {
        let share = (u64::from(self.window) * u64::from(self.window_share)).div_ceil(100);
        usize::try_from(share.max(u64::from(self.fail_rounds))).unwrap_or(usize::MAX)
    }
}

/// What one probe of one component from one vantage point found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It answered correctly after this many milliseconds.
    Ok {
        /// Round-trip time.
        latency_ms: u32,
    },
    /// It answered correctly, but not every way it was asked (e.g. over
    /// TCP but not over UDP): users get answers, some of them late.
    Impaired {
        /// Round-trip time of the answer it gave.
        latency_ms: u32,
        /// What failed, e.g. `udp: no answer within 1500 ms`.
        reason: String,
    },
    /// It did not answer, or answered wrongly; why.
    Failed {
        /// E.g. `udp: no answer within 1500 ms`.
        reason: String,
    },
}

/// One probe result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The component probed.
    pub component_id: i64,
    /// The vantage point's name.
    pub vantage: String,
    /// When the probe was sent.
    pub at: Timestamp,
    /// What it found.
    pub outcome: Outcome,
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// An incident was opened (its id).
    pub opened: Option<i64>,
    /// Updates were posted to the open incident.
    pub updated: usize,
    /// The incident was resolved (its id).
    pub resolved: Option<i64>,
    /// Deliveries queued for subscribers.
    pub queued: usize,
}

impl RoundReport {
    /// True when subscribers have something new coming or the page changed.
    pub fn changed(&self) -> bool {
        self.opened.is_some() || self.updated > 0 || self.resolved.is_some()
    }
}

/// What a round decided, for [`apply`] to write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decisions {
    /// Maintenance windows that start or end: the update for each.
    pub maintenance: Vec<(i64, NewUpdate)>,
    /// Each probed component's state in this round alone (the uptime
    /// history counts it).
    pub round_states: Vec<(i64, ComponentStatus)>,
    /// The probes, as shown on the page.
    pub probes: Vec<ProbeResult>,
    /// The state each probed component is shown in from now on.
    pub shown: Vec<(i64, ComponentStatus)>,
    /// What happens to the automatic incident, if anything.
    pub incident: Option<IncidentAction>,
}

/// What a round does to the automatic incident.
#[derive(Clone, Debug, PartialEq)]
pub enum IncidentAction {
    /// Open one.
    Open(NewIncident),
    /// Post an update to the open one (worse, monitoring, failures resumed).
    Update {
        /// The open incident.
        id: i64,
        /// The update.
        update: NewUpdate,
    },
    /// Resolve the open one.
    Resolve {
        /// The open incident.
        id: i64,
        /// The resolution.
        update: NewUpdate,
    },
}

/// What the engine remembers of one component.
#[derive(Clone, Debug, Default)]
struct Track {
    /// Bad rounds in a row.
    bad_streak: u32,
    /// The first failed probe of the current bad streak.
    streak_started: Option<Timestamp>,
    /// Worst state seen in the current bad streak.
    streak_worst: Option<ComponentStatus>,
    /// Since when every probe of it has succeeded.
    healthy_since: Option<Timestamp>,
    /// The failure reasons of the last bad round, for the timeline.
    reasons: Vec<String>,
    /// Vantage points failing / probing in the last bad round.
    failing: (usize, usize),
    /// When each of the last `window` rounds was, and whether it was bad,
    /// oldest first.
    window: VecDeque<(Timestamp, bool)>,
    /// Why the state worsened last: a bad streak, or bad rounds spread over
    /// the window.
    basis: Basis,
    /// The last bad round had failed or impaired probes (not only slow ones).
    unreliable: bool,
    /// Healthy rounds in a row.
    clean_streak: u32,
    /// Shown as operational again on recovery, before the hold was over
    /// (the incident is monitoring).
    recovered: bool,
    /// ... and then failed again: until the incident resolves, it shows
    /// operational only after the whole hold.
    relapsed: bool,
}

/// Why a component's state worsened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Basis {
    /// `fail_rounds` bad rounds in a row.
    #[default]
    Streak,
    /// Enough bad rounds within the window, not in a row.
    Window,
}

/// What [`Engine::follow`] needs of the round.
struct Round<'a> {
    now: Timestamp,
    components: &'a HashMap<i64, Component>,
    failing: &'a [(i64, ComponentStatus)],
    relapse: bool,
    /// The impact of what users see now.
    impact: Impact,
    /// A sentence on what users see, for the timeline (may be empty).
    effect: &'static str,
}

/// The monitor state machine.
#[derive(Debug)]
pub struct Engine {
    thresholds: Thresholds,
    tracks: HashMap<i64, Track>,
    /// Since when every probe of every component has succeeded.
    all_healthy_since: Option<Timestamp>,
    /// Rounds in a row in which every probe succeeded.
    all_healthy_rounds: u32,
    /// The open automatic incident has been told the failures stopped.
    told_monitoring: bool,
    /// ... and then that they came back (said at most once).
    told_relapse: bool,
    /// Times the failures came back after stopping, this incident.
    relapses: u32,
    /// The first failed probe of the open incident.
    incident_started: Option<Timestamp>,
}

impl Engine {
    /// A fresh engine.
    pub fn new(thresholds: Thresholds) -> Self {
        Self {
            thresholds,
            tracks: HashMap::new(),
            all_healthy_since: None,
            all_healthy_rounds: 0,
            told_monitoring: false,
            told_relapse: false,
            relapses: 0,
            incident_started: None,
        }
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Takes one round of observations (every monitored component from
    /// every vantage point) and writes what follows to `db`: [`gather`],
    /// [`Engine::decide`], [`apply`].
    pub fn round(
        &mut self,
        db: &mut StatusDb,
        now: Timestamp,
        observations: &[Observation],
    ) -> Result<RoundReport> {
        let gathered = gather(db)?;
        let decisions = self.decide(&gathered, now, observations);
        apply(db, &decisions, now)
    }

    /// Decides what one round of observations changes, from what was
    /// gathered before it; reads and writes nothing but the engine's own
    /// counters. [`apply`] writes the decisions.
    pub fn decide(
        &mut self,
        gathered: &Gathered,
        now: Timestamp,
        observations: &[Observation],
    ) -> Decisions {
        let components: HashMap<i64, Component> = gathered
            .components
            .iter()
            .map(|c| (c.id, c.clone()))
            .collect();
        let in_maintenance: Vec<i64> = gathered
            .maintenance
            .iter()
            .filter(|m| maintenance_active(m.status, m.scheduled_for, m.scheduled_until, now))
            .flat_map(|m| m.components.iter().copied())
            .collect();
        let mut decisions = Decisions {
            maintenance: maintenance_updates(&gathered.maintenance, now),
            ..Decisions::default()
        };

        let mut by_component: BTreeMap<i64, Vec<&Observation>> = BTreeMap::new();
        for o in observations {
            if components.contains_key(&o.component_id) {
                by_component.entry(o.component_id).or_default().push(o);
            }
        }

        let mut round_states = Vec::new();
        let mut shown = Vec::new();
        let mut every_probe_ok = true;
        for (&id, obs) in &by_component {
            let component = &components[&id];
            let probes = obs.len();
            let failed: Vec<&&Observation> = obs
                .iter()
                .filter(|o| matches!(o.outcome, Outcome::Failed { .. }))
                .collect();
            let impaired = obs
                .iter()
                .filter(|o| matches!(o.outcome, Outcome::Impaired { .. }))
                .count();
            let slow = obs
                .iter()
                .filter(|o| {
                    matches!(o.outcome, Outcome::Ok { latency_ms } if latency_ms > self.thresholds.slow_ms)
                })
                .count();
            let quorum = match self.thresholds.quorum {
                0 => probes / 2 + 1,
                q => q.min(probes),
            };
            // This round alone: no answer from a quorum is an outage (of
            // every vantage point: major); answers that came late, or not
            // every way they were asked, from a quorum are degraded.
            let raw = if failed.len() >= quorum {
                if failed.len() == probes {
                    ComponentStatus::MajorOutage
                } else {
                    ComponentStatus::PartialOutage
                }
            } else if failed.len() + impaired + slow >= quorum {
                ComponentStatus::DegradedPerformance
            } else {
                ComponentStatus::Operational
            };
            let maintenance = in_maintenance.contains(&id);
            round_states.push((
                id,
                if maintenance {
                    ComponentStatus::UnderMaintenance
                } else {
                    raw
                },
            ));
            // Healthy: answered every way it was asked, and not slowly.
            let answered_all = failed.is_empty() && impaired == 0;
            let clean = answered_all && raw == ComponentStatus::Operational;
            if !clean {
                every_probe_ok = false;
            }

            let track = self.tracks.entry(id).or_default();
            if clean {
                track.healthy_since.get_or_insert(now);
                track.clean_streak += 1;
            } else {
                track.healthy_since = None;
                track.clean_streak = 0;
                if track.recovered {
                    track.relapsed = true;
                }
            }
            let bad = raw != ComponentStatus::Operational;
            track.window.push_back((now, bad));
            while track.window.len() > self.thresholds.window.max(1) as usize {
                track.window.pop_front();
            }
            if !bad {
                track.bad_streak = 0;
                track.streak_started = None;
                track.streak_worst = None;
            } else {
                track.bad_streak += 1;
                let first = obs
                    .iter()
                    .filter(|o| !matches!(o.outcome, Outcome::Ok { latency_ms } if latency_ms <= self.thresholds.slow_ms))
                    .map(|o| o.at)
                    .min()
                    .unwrap_or(now);
                track.streak_started.get_or_insert(first);
                track.streak_worst = track.streak_worst.max(Some(raw));
                track.unreliable = !answered_all;
                // The failures, or (slow but answering) every answer.
                let why = |o: &Observation| match &o.outcome {
                    Outcome::Failed { reason } => format!("{}: {reason}", o.vantage),
                    Outcome::Impaired { latency_ms, reason } => {
                        format!("{}: {reason}, answered in {latency_ms} ms", o.vantage)
                    }
                    Outcome::Ok { latency_ms } => {
                        format!("{}: answered in {latency_ms} ms", o.vantage)
                    }
                };
                track.reasons = if answered_all {
                    obs.iter().map(|o| why(o)).collect()
                } else {
                    obs.iter()
                        .filter(|o| !matches!(o.outcome, Outcome::Ok { .. }))
                        .map(|o| why(o))
                        .collect()
                };
                track.failing = ((failed.len() + impaired).max(slow), probes);
            }

            // Confirmed trouble: `fail_rounds` bad rounds in a row (the worst
            // of them), or, in a bad round, enough bad rounds spread over the
            // window (degraded: it answers, but not reliably).
            let streak = (track.bad_streak >= self.thresholds.fail_rounds)
                .then_some(track.streak_worst)
                .flatten();
            let bad_in_window = track.window.iter().filter(|(_, b)| *b).count();
            let spread = (bad && bad_in_window >= self.thresholds.window_bad())
                .then_some(ComponentStatus::DegradedPerformance);
            let confirmed = streak.max(spread);

            // The shown state: worse at once when confirmed, better only
            // after the hold time.
            let current = component.status;
            let next = if maintenance {
                ComponentStatus::UnderMaintenance
            } else if let Some(worse) =
                confirmed.filter(|b| *b > current || current == ComponentStatus::UnderMaintenance)
            {
                track.basis = if streak >= spread {
                    Basis::Streak
                } else {
                    Basis::Window
                };
                worse
            } else if current == ComponentStatus::UnderMaintenance {
                ComponentStatus::Operational
            } else if current != ComponentStatus::Operational && clean {
                // Better: shown as operational once recovery is seen
                // (`fail_rounds` healthy rounds in a row) while the incident
                // waits out the hold as "monitoring"; after a relapse in the
                // same incident, only once the whole hold is over.
                let held = track
                    .healthy_since
                    .is_some_and(|since| now - since > self.thresholds.hold);
                let recovered = track.clean_streak >= self.thresholds.fail_rounds;
                if held || (recovered && !track.relapsed) {
                    track.recovered |= !held;
                    ComponentStatus::Operational
                } else {
                    current
                }
            } else {
                current
            };
            shown.push((id, next));
        }
        decisions.round_states = round_states;
        decisions.probes = by_component
            .values()
            .flatten()
            .map(|o| ProbeResult {
                component_id: o.component_id,
                vantage: o.vantage.clone(),
                at: o.at,
                latency_ms: match o.outcome {
                    Outcome::Ok { latency_ms } | Outcome::Impaired { latency_ms, .. } => {
                        Some(latency_ms)
                    }
                    Outcome::Failed { .. } => None,
                },
                error: match &o.outcome {
                    Outcome::Failed { reason } | Outcome::Impaired { reason, .. } => {
                        Some(reason.clone())
                    }
                    Outcome::Ok { .. } => None,
                },
            })
            .collect();

        let relapse = !every_probe_ok && self.all_healthy_since.is_some();
        if every_probe_ok {
            self.all_healthy_since.get_or_insert(now);
            self.all_healthy_rounds += 1;
        } else {
            self.all_healthy_since = None;
            self.all_healthy_rounds = 0;
        }

        // Components now shown as failing (maintenance aside).
        let failing: Vec<(i64, ComponentStatus)> = shown
            .iter()
            .copied()
            .filter(|(_, s)| *s > ComponentStatus::UnderMaintenance)
            .collect();
        // What users see: one name server of several down is a partial
        // outage of DNS, not a major one.
        let states: HashMap<i64, ComponentStatus> = shown.iter().copied().collect();
        let platform = user_visible(
            components
                .values()
                .map(|c| (c.kind, states.get(&c.id).copied().unwrap_or(c.status))),
        );
        let impact = platform.impact().max(Impact::Minor);
        let effect = effect(&components, &states, platform);
        decisions.shown = shown;
        decisions.incident = match &gathered.open {
            None => {
                if !failing.is_empty() {
                    let started = failing
                        .iter()
                        .filter_map(|(id, _)| self.tracks.get(id).and_then(|t| t.streak_started))
                        .min()
                        .unwrap_or(now);
                    let mut body = self.describe(&components, &failing, "Monitors detected");
                    body.push_str(effect);
                    let new = NewIncident {
                        name: title(&components, &failing, &self.tracks),
                        status: IncidentStatus::Investigating,
                        impact: Some(impact),
                        automatic: true,
                        started_at: Some(started),
                        scheduled_for: None,
                        scheduled_until: None,
                        components: failing.clone(),
                        zones: Vec::new(),
                        body,
                        source: UpdateSource::Monitor,
                    };
                    self.incident_started = Some(started);
                    self.told_monitoring = false;
                    self.told_relapse = false;
                    self.relapses = 0;
                    Some(IncidentAction::Open(new))
                } else {
                    None
                }
            }
            Some(open) => {
                let round = Round {
                    now,
                    components: &components,
                    failing: &failing,
                    relapse,
                    impact,
                    effect,
                };
                self.follow(&round, open)
            }
        };
        decisions
    }

    /// Updates or resolves the open automatic incident.
    fn follow(&mut self, round: &Round<'_>, incident: &OpenIncident) -> Option<IncidentAction> {
        let Round {
            now,
            components,
            failing,
            relapse,
            impact,
            effect,
        } = *round;
        let id = incident.id;
        if self.incident_started.is_none() {
            // Adopted after a restart.
            self.incident_started = Some(incident.started_at);
            self.told_monitoring = incident.status == IncidentStatus::Monitoring;
        }
        // Worse than the incident says: a new component, or a worse state.
        let mut affected: Vec<(i64, ComponentStatus)> = incident.components.clone();
        let mut worse = Vec::new();
        for &(cid, status) in failing {
            match affected.iter_mut().find(|(a, _)| *a == cid) {
                Some((_, s)) if *s >= status => {}
                Some((_, s)) => {
                    *s = status;
                    worse.push((cid, status));
                }
                None => {
                    affected.push((cid, status));
                    worse.push((cid, status));
                }
            }
        }
        if !worse.is_empty() {
            let status = match incident.status {
                IncidentStatus::Monitoring => IncidentStatus::Investigating,
                s => s,
            };
            let mut body = self.describe(components, &worse, "Monitors now also detect");
            body.push_str(effect);
            return Some(IncidentAction::Update {
                id,
                update: NewUpdate {
                    status,
                    body,
                    source: UpdateSource::Monitor,
                    impact: Some(impact.max(incident.impact)),
                    components: Some(affected),
                },
            });
        }
        let healthy_for = self.all_healthy_since.map(|since| now - since);
        if let Some(since) = self.all_healthy_since
            && healthy_for.is_some_and(|h| h > self.thresholds.hold)
            && failing.is_empty()
        {
            let started = self.incident_started.unwrap_or(incident.started_at);
            let mut body = format!(
                "Resolved automatically: every probe of every component has succeeded since {} \
                 (hold time {} s). The first failed probe was at {}; the outage lasted {}.",
                clock(since),
                self.thresholds.hold,
                clock(started),
                duration(since - started),
            );
            if self.relapses > 0 {
                body.push_str(&format!(
                    " Failures came back {} time{} before it held.",
                    self.relapses,
                    if self.relapses == 1 { "" } else { "s" }
                ));
            }
            let update = NewUpdate {
                status: IncidentStatus::Resolved,
                body,
                source: UpdateSource::Monitor,
                impact: None,
                components: None,
            };
            self.incident_started = None;
            self.told_monitoring = false;
            self.told_relapse = false;
            self.relapses = 0;
            // The resolved incident accounts for its failures: bad rounds
            // after it count anew (else one blip in the next minute would
            // open an incident).
            for track in self.tracks.values_mut() {
                track.recovered = false;
                track.relapsed = false;
                track.window.clear();
            }
            return Some(IncidentAction::Resolve { id, update });
        }
        // Recovery seen: every probe healthy for `fail_rounds` rounds in a
        // row. Said once per incident.
        if self.all_healthy_rounds >= self.thresholds.fail_rounds
            && !self.told_monitoring
            && incident.status != IncidentStatus::Monitoring
        {
            let since = self.all_healthy_since.unwrap_or(now);
            self.told_monitoring = true;
            return Some(IncidentAction::Update {
                id,
                update: NewUpdate {
                    status: IncidentStatus::Monitoring,
                    body: format!(
                        "Every probe has succeeded since {}. Monitoring; this resolves by itself \
                         after {} s without a failure.",
                        clock(since),
                        self.thresholds.hold
                    ),
                    source: UpdateSource::Monitor,
                    impact: None,
                    components: None,
                },
            });
        }
        if relapse && self.told_monitoring {
            self.relapses += 1;
            if !self.told_relapse && incident.status == IncidentStatus::Monitoring {
                let bad: Vec<(i64, ComponentStatus)> = self
                    .tracks
                    .iter()
                    .filter(|(_, t)| t.healthy_since.is_none())
                    .map(|(id, t)| {
                        (
                            *id,
                            t.streak_worst.unwrap_or(ComponentStatus::PartialOutage),
                        )
                    })
                    .collect();
                self.told_relapse = true;
                return Some(IncidentAction::Update {
                    id,
                    update: NewUpdate {
                        status: IncidentStatus::Investigating,
                        body: format!(
                            "{} The incident stays open until every probe has succeeded for {} s; \
                             further relapses are counted, not posted.",
                            self.describe(components, &bad, "Failures resumed:"),
                            self.thresholds.hold
                        ),
                        source: UpdateSource::Monitor,
                        impact: None,
                        components: None,
                    },
                });
            }
        }
        None
    }

    /// One sentence per failing component, for the timeline.
    fn describe(
        &self,
        components: &HashMap<i64, Component>,
        failing: &[(i64, ComponentStatus)],
        lead: &str,
    ) -> String {
        let mut parts = Vec::new();
        for (id, status) in failing {
            let Some(c) = components.get(id) else {
                continue;
            };
            let track = self.tracks.get(id).cloned().unwrap_or_default();
            let what = match status {
                ComponentStatus::MajorOutage => "a major outage",
                ComponentStatus::PartialOutage => "a partial outage",
                ComponentStatus::DegradedPerformance => "degraded performance",
                _ => "trouble",
            };
            let mut s = format!("{what} of {}", describe_component(c));
            let (failing_vp, probes) = track.failing;
            if track.basis == Basis::Window && *status == ComponentStatus::DegradedPerformance {
                s.push_str(&format!(
                    ": {} of the last {} rounds had probes without an answer, with an \
                     incomplete one or with a slow one (not in a row, but again and again)",
                    track.window.iter().filter(|(_, b)| *b).count(),
                    track.window.len(),
                ));
                if let Some((first, _)) = track.window.iter().find(|(_, b)| *b) {
                    s.push_str(&format!(", the first at {}", clock(*first)));
                }
            } else if probes > 0 {
                s.push_str(&format!(
                    ": {failing_vp} of {probes} vantage point{} {} for {} round{} in a row",
                    if probes == 1 { "" } else { "s" },
                    if *status == ComponentStatus::DegradedPerformance {
                        if track.unreliable {
                            "got late or incomplete answers"
                        } else {
                            "saw slow answers"
                        }
                    } else {
                        "got no correct answer"
                    },
                    track.bad_streak,
                    if track.bad_streak == 1 { "" } else { "s" },
                ));
            }
            if let Some(started) = track
                .streak_started
                .filter(|_| track.basis == Basis::Streak)
            {
                s.push_str(&format!(", since {}", clock(started)));
            }
            if !track.reasons.is_empty() {
                s.push_str(&format!(" ({})", track.reasons.join("; ")));
            }
            parts.push(s);
        }
        format!("{lead} {}.", parts.join(", and "))
    }
}

/// `ns2 (127.0.0.1:5301, Frankfurt)`.
fn describe_component(c: &Component) -> String {
    match &c.location {
        Some(loc) => format!("{} in {loc}", c.name),
        None => c.name.clone(),
    }
}

/// What users see, in a sentence for the timeline: whether DNS still
/// answers when name servers fail.
fn effect(
    components: &HashMap<i64, Component>,
    states: &HashMap<i64, ComponentStatus>,
    platform: ComponentStatus,
) -> &'static str {
    let nameserver_down = components.values().any(|c| {
        c.kind == ComponentKind::NameServer
            && states.get(&c.id).copied().unwrap_or(c.status) >= ComponentStatus::PartialOutage
    });
    match platform {
        ComponentStatus::MajorOutage if nameserver_down => {
            " No name server answers: DNS for the zones is down."
        }
        ComponentStatus::PartialOutage if nameserver_down => {
            " The other name servers answer, so the zones stay resolvable; resolvers that try \
             the failing one first answer later."
        }
        _ => "",
    }
}

/// The title of a new automatic incident.
fn title(
    components: &HashMap<i64, Component>,
    failing: &[(i64, ComponentStatus)],
    tracks: &HashMap<i64, Track>,
) -> String {
    let names: Vec<String> = failing
        .iter()
        .filter_map(|(id, _)| components.get(id).map(describe_component))
        .collect();
    let worst = failing
        .iter()
        .map(|(_, s)| *s)
        .max()
        .unwrap_or(ComponentStatus::MajorOutage);
    let nameservers = failing
        .iter()
        .filter(|(id, _)| {
            components
                .get(id)
                .is_some_and(|c| c.kind == ComponentKind::NameServer)
        })
        .count();
    match (names.as_slice(), worst) {
        ([one], ComponentStatus::MajorOutage) => format!("{one} is not answering"),
        ([one], ComponentStatus::PartialOutage) => {
            format!("{one} is unreachable from some vantage points")
        }
        // Failed or incomplete answers, or slow ones again and again but
        // not in a row: not merely slow.
        ([one], _)
            if failing.iter().any(|(id, _)| {
                tracks
                    .get(id)
                    .is_some_and(|t| t.unreliable || t.basis == Basis::Window)
            }) =>
        {
            format!("{one} is answering unreliably")
        }
        ([one], _) => format!("{one} is answering slowly"),
        (many, _) if nameservers == many.len() => {
            format!(
                "{} name servers are failing: {}",
                many.len(),
                many.join(", ")
            )
        }
        (many, _) => format!("{} components are failing: {}", many.len(), many.join(", ")),
    }
}

/// The timeline entries that start maintenance windows whose time has
/// come and complete those whose time is up (rules in
/// [`maintenance_step`]).
fn maintenance_updates(maintenance: &[Maintenance], now: Timestamp) -> Vec<(i64, NewUpdate)> {
    let mut updates = Vec::new();
    for m in maintenance {
        let Some(status) = maintenance_step(m.status, m.scheduled_for, m.scheduled_until, now)
        else {
            continue;
        };
        let body = match status {
            IncidentStatus::InProgress => "The maintenance window has started.",
            _ => "The maintenance window has ended.",
        };
        let components = (status == IncidentStatus::InProgress).then(|| {
            m.components
                .iter()
                .map(|id| (*id, ComponentStatus::UnderMaintenance))
                .collect()
        });
        updates.push((
            m.id,
            NewUpdate {
                status,
                body: body.to_owned(),
                source: UpdateSource::Monitor,
                impact: None,
                components,
            },
        ));
    }
    updates
}

/// `11:03:05 UTC`, or with the date when not today's.
pub fn clock(ts: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("@{ts}"),
    }
}

/// `2 min 5 s`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs / 60 % 60),
    }
}
