use super::*;
use crate::db::ComponentSpec;
use crate::model::IncidentView;

struct World {
    db: StatusDb,
    engine: Engine,
    ns: Vec<i64>,
    now: Timestamp,
}

fn world(nameservers: usize, thresholds: Thresholds) -> World {
    let mut db = StatusDb::open_memory().unwrap();
    let specs: Vec<ComponentSpec> = (1..=nameservers)
        .map(|i| ComponentSpec {
            key: format!("ns:127.0.0.{i}:53"),
            name: format!("ns{i}"),
            location: Some(["Amsterdam", "Frankfurt", "Tokyo"][i % 3].to_owned()),
            description: None,
            kind: ComponentKind::NameServer,
        })
        .collect();
    let ns = db
        .sync_components(&specs, 1_000_000)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    World {
        db,
        engine: Engine::new(thresholds),
        ns,
        now: 1_000_000,
    }
}

fn thresholds() -> Thresholds {
    Thresholds {
        quorum: 0,
        fail_rounds: 3,
        hold: 10,
        slow_ms: 500,
        window: 12,
        window_share: 25,
    }
}

impl World {
    /// One round, one second later: `down[c]` = vantage points (of
    /// `vantages`) that fail component c.
    fn round(&mut self, vantages: usize, down: &[usize]) -> RoundReport {
        self.now += 1;
        let mut obs = Vec::new();
        for (c, id) in self.ns.iter().enumerate() {
            for v in 0..vantages {
                let failing = down.get(c).copied().unwrap_or(0) > v;
                obs.push(Observation {
                    component_id: *id,
                    vantage: format!("vp{v}"),
                    at: self.now,
                    outcome: if failing {
                        Outcome::Failed {
                            reason: "udp: no answer within 1000 ms".into(),
                        }
                    } else {
                        Outcome::Ok { latency_ms: 2 }
                    },
                });
            }
        }
        self.engine.round(&mut self.db, self.now, &obs).unwrap()
    }

    fn status(&self, i: usize) -> ComponentStatus {
        self.db
            .components()
            .unwrap()
            .iter()
            .find(|c| c.id == self.ns[i])
            .unwrap()
            .status
    }

    fn incidents(&self) -> Vec<IncidentView> {
        self.db.all_incidents(100).unwrap()
    }
}

#[test]
fn opens_after_fail_rounds_and_resolves_after_hold() {
    let mut w = world(2, thresholds());
    for _ in 0..5 {
        assert_eq!(w.round(1, &[0, 0]), RoundReport::default());
    }
    let first_failure = w.now + 1;
    assert!(w.round(1, &[0, 1]).opened.is_none());
    assert!(w.round(1, &[0, 1]).opened.is_none());
    assert_eq!(w.status(1), ComponentStatus::Operational);
    let opened = w.round(1, &[0, 1]).opened.expect("third bad round opens");
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    assert_eq!(w.status(0), ComponentStatus::Operational);
    let v = w.db.incident(opened).unwrap();
    assert_eq!(v.incident.name, "ns2 in Tokyo is not answering");
    assert_eq!(v.incident.started_at, first_failure);
    assert!(v.incident.automatic);
    // ns1 still answers: a partial outage of DNS, not a major one.
    assert_eq!(v.incident.impact, crate::model::Impact::Major);
    assert!(
        v.updates[0]
            .body
            .contains("1 of 1 vantage point got no correct answer for 3 rounds"),
        "{}",
        v.updates[0].body
    );
    assert!(v.updates[0].body.contains("udp: no answer within 1000 ms"));

    // Still down: nothing new is posted.
    for _ in 0..5 {
        assert!(!w.round(1, &[0, 1]).changed());
    }
    // Back: monitoring after 3 healthy rounds, resolved after the hold.
    let back = w.now + 1;
    assert!(!w.round(1, &[0, 0]).changed());
    assert!(!w.round(1, &[0, 0]).changed());
    assert_eq!(w.round(1, &[0, 0]).updated, 1);
    assert_eq!(
        w.db.incident(opened).unwrap().incident.status,
        IncidentStatus::Monitoring
    );
    // Recovering is shown as it is: ns2 operational, the banner calm, the
    // incident monitoring until the hold is over.
    assert_eq!(w.status(1), ComponentStatus::Operational);
    assert_eq!(w.indicator(), crate::model::Indicator::None);
    let mut resolved_at = None;
    for _ in 0..20 {
        if let Some(id) = w.round(1, &[0, 0]).resolved {
            resolved_at = Some(w.now);
            assert_eq!(id, opened);
            break;
        }
    }
    // Whole seconds: healthy for *more* than the 10 s hold, so never early.
    assert_eq!(
        resolved_at,
        Some(back + 11),
        "resolves when the hold is over"
    );
    assert_eq!(w.status(1), ComponentStatus::Operational);
    let v = w.db.incident(opened).unwrap();
    assert_eq!(v.updates.len(), 3);
    assert!(
        v.updates[0].body.starts_with("Resolved automatically"),
        "{}",
        v.updates[0].body
    );
    assert!(w.db.open_automatic_incident().unwrap().is_none());
    // Uptime counted every round, with the answers' mean latency, and the
    // latest probe kept.
    let today = *w.db.uptime(w.ns[1], w.now).unwrap().last().unwrap();
    assert_eq!(today.major, 3 + 5);
    assert_eq!(today.latency_ms, Some(2));
    let last = w.db.last_probes(w.ns[1]).unwrap();
    assert_eq!(
        (last.len(), last[0].latency_ms, last[0].error.as_deref()),
        (1, Some(2), None)
    );
}

#[test]
fn quorum_ignores_one_broken_vantage_point() {
    let mut w = world(1, thresholds());
    for _ in 0..10 {
        assert!(!w.round(3, &[1]).changed());
    }
    assert_eq!(w.status(0), ComponentStatus::Operational);
    assert!(w.incidents().is_empty());
    // Two of three: a partial outage, and an incident.
    let mut opened = None;
    for _ in 0..3 {
        opened = opened.or(w.round(3, &[2]).opened);
    }
    let id = opened.expect("opens");
    assert_eq!(w.status(0), ComponentStatus::PartialOutage);
    let v = w.db.incident(id).unwrap();
    assert_eq!(
        v.incident.name,
        "ns1 in Frankfurt is unreachable from some vantage points"
    );
    assert_eq!(v.incident.impact, crate::model::Impact::Major);
    // Worse: all three; the incident is updated, not duplicated.
    let mut updated = 0;
    for _ in 0..3 {
        updated += w.round(3, &[3]).updated;
    }
    assert_eq!(updated, 1);
    assert_eq!(w.status(0), ComponentStatus::MajorOutage);
    assert_eq!(w.incidents().len(), 1);
    let v = w.db.incident(id).unwrap();
    assert_eq!(
        v.incident.components[0].status,
        ComponentStatus::MajorOutage
    );
    assert!(
        v.updates[0]
            .body
            .starts_with("Monitors now also detect a major outage of ns1"),
        "{}",
        v.updates[0].body
    );
}

#[test]
fn flapping_keeps_one_incident_open() {
    let mut w = world(2, thresholds());
    // Down 4 s, up 4 s, for two minutes.
    for i in 0..120 {
        let down = if (i / 4) % 2 == 0 { 1 } else { 0 };
        let r = w.round(2, &[0, down * 2]);
        assert!(r.resolved.is_none(), "resolved while flapping at round {i}");
    }
    let incidents = w.incidents();
    assert_eq!(incidents.len(), 1, "exactly one incident");
    let v = &incidents[0];
    assert!(!v.incident.status.is_closed());
    // Opened, monitoring once, relapse once: no more.
    assert!(v.updates.len() <= 3, "{} updates", v.updates.len());
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    // Stable again: resolved once, after the hold.
    let mut resolved = 0;
    for _ in 0..30 {
        if w.round(2, &[0, 0]).resolved.is_some() {
            resolved += 1;
        }
    }
    assert_eq!(resolved, 1);
    let v = w.db.incident(v.incident.id).unwrap();
    assert!(
        v.updates[0].body.contains("Failures came back"),
        "{}",
        v.updates[0].body
    );
    assert_eq!(w.incidents().len(), 1);
}

#[test]
fn a_second_component_joins_the_open_incident() {
    let mut w = world(2, thresholds());
    for _ in 0..3 {
        w.round(1, &[1, 0]);
    }
    for _ in 0..3 {
        w.round(1, &[1, 1]);
    }
    let incidents = w.incidents();
    assert_eq!(incidents.len(), 1);
    let v = &incidents[0];
    assert_eq!(v.incident.components.len(), 2);
    assert_eq!(v.updates.len(), 2);
    assert!(v.updates[0].body.contains("ns2"));
}

#[test]
fn restart_adopts_the_open_incident() {
    let mut w = world(1, thresholds());
    for _ in 0..3 {
        w.round(1, &[1]);
    }
    assert_eq!(w.incidents().len(), 1);
    w.engine = Engine::new(thresholds());
    for _ in 0..5 {
        assert!(w.round(1, &[1]).opened.is_none());
    }
    assert_eq!(w.incidents().len(), 1);
    let mut resolved = false;
    for _ in 0..20 {
        resolved |= w.round(1, &[0]).resolved.is_some();
    }
    assert!(resolved);
}

#[test]
fn slow_answers_are_degraded_performance() {
    let mut w = world(1, thresholds());
    let id = w.ns[0];
    let mut opened = None;
    for _ in 0..3 {
        w.now += 1;
        let obs = [Observation {
            component_id: id,
            vantage: "vp0".into(),
            at: w.now,
            outcome: Outcome::Ok { latency_ms: 900 },
        }];
        opened = opened.or(w.engine.round(&mut w.db, w.now, &obs).unwrap().opened);
    }
    let v = w.db.incident(opened.expect("opens")).unwrap();
    assert_eq!(v.incident.name, "ns1 in Frankfurt is answering slowly");
    assert_eq!(v.incident.impact, crate::model::Impact::Minor);
    assert_eq!(w.status(0), ComponentStatus::DegradedPerformance);
}

#[test]
fn maintenance_windows_start_end_and_silence_monitors() {
    let mut w = world(1, thresholds());
    let start = w.now + 5;
    let m =
        w.db.create_incident(
            &NewIncident {
                name: "Replacing ns1's disks".into(),
                status: IncidentStatus::Scheduled,
                impact: None,
                automatic: false,
                started_at: None,
                scheduled_for: Some(start),
                scheduled_until: Some(start + 20),
                components: vec![(w.ns[0], ComponentStatus::UnderMaintenance)],
                zones: vec![],
                body: "ns1 will be down for 20 s.".into(),
                source: UpdateSource::Operator("ops".into()),
            },
            w.now,
        )
        .unwrap()
        .incident
        .incident
        .id;
    for _ in 0..4 {
        w.round(1, &[0]);
    }
    assert_eq!(w.round(1, &[1]).updated, 1, "the window starts");
    assert_eq!(
        w.db.incident(m).unwrap().incident.status,
        IncidentStatus::InProgress
    );
    for _ in 0..18 {
        let r = w.round(1, &[1]);
        assert!(r.opened.is_none());
    }
    assert_eq!(w.status(0), ComponentStatus::UnderMaintenance);
    // Ends; still failing after it is an incident at once (the bad
    // streak ran on during the window).
    let (mut ended, mut opened) = (false, false);
    for _ in 0..4 {
        let r = w.round(1, &[1]);
        ended |= r.updated > 0;
        opened |= r.opened.is_some();
    }
    assert!(ended && opened);
    assert_eq!(
        w.db.incident(m).unwrap().incident.status,
        IncidentStatus::Completed
    );
    let today = *w.db.uptime(w.ns[0], w.now).unwrap().last().unwrap();
    assert!(today.maintenance >= 18);
}

impl World {
    /// One round, one second later, with the outcome `f(component, vantage)`.
    fn round_with(&mut self, vantages: usize, f: impl Fn(usize, usize) -> Outcome) -> RoundReport {
        self.now += 1;
        let mut obs = Vec::new();
        for (c, id) in self.ns.iter().enumerate() {
            for v in 0..vantages {
                obs.push(Observation {
                    component_id: *id,
                    vantage: format!("vp{v}"),
                    at: self.now,
                    outcome: f(c, v),
                });
            }
        }
        self.engine.round(&mut self.db, self.now, &obs).unwrap()
    }

    fn indicator(&self) -> crate::model::Indicator {
        self.db.snapshot(self.now).unwrap().indicator
    }
}

fn failed() -> Outcome {
    Outcome::Failed {
        reason: "udp: no answer within 1000 ms, tcp: no answer within 1000 ms".into(),
    }
}

fn ok() -> Outcome {
    Outcome::Ok { latency_ms: 2 }
}

#[test]
fn one_name_server_of_two_down_is_a_partial_outage_of_dns() {
    use crate::model::{Impact, Indicator};
    let mut w = world(2, thresholds());
    let mut opened = None;
    for _ in 0..3 {
        opened = opened.or(w.round(2, &[0, 2]).opened);
    }
    let id = opened.expect("opens");
    // ns2 itself does not answer at all: its row says so.
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    // But DNS answers: the page and the incident say partial outage.
    assert_eq!(w.indicator(), Indicator::Major);
    assert_eq!(w.indicator().description(), "Partial System Outage");
    let v = w.db.incident(id).unwrap();
    assert_eq!(v.incident.impact, Impact::Major);
    assert!(
        v.updates[0].body.contains("The other name servers answer"),
        "{}",
        v.updates[0].body
    );
    // Both down: DNS is down, a major outage.
    for _ in 0..3 {
        w.round(2, &[2, 2]);
    }
    assert_eq!(w.indicator(), Indicator::Critical);
    let v = w.db.incident(id).unwrap();
    assert_eq!(v.incident.impact, Impact::Critical);
    assert!(
        v.updates[0].body.contains("No name server answers"),
        "{}",
        v.updates[0].body
    );
}

#[test]
fn a_name_server_stalled_half_the_time_is_degraded() {
    use crate::model::{Impact, Indicator};
    let mut w = world(2, thresholds());
    // SIGSTOP/SIGCONT: every other round ns2 does not answer (or answers
    // only after the stall, slowly), never three rounds in a row.
    let mut opened = None;
    for i in 0..30 {
        let r = w.round_with(1, |c, _| match (c, i % 4) {
            (1, 0) => failed(),
            (1, 1) => Outcome::Ok { latency_ms: 900 },
            _ => ok(),
        });
        opened = opened.or(r.opened);
        assert_ne!(w.status(1), ComponentStatus::MajorOutage, "round {i}");
    }
    let id = opened.expect("the stalls are an incident");
    assert_eq!(w.status(1), ComponentStatus::DegradedPerformance);
    assert_eq!(w.indicator(), Indicator::Minor);
    let v = w.db.incident(id).unwrap();
    assert_eq!(v.incident.name, "ns2 in Tokyo is answering unreliably");
    assert_eq!(v.incident.impact, Impact::Minor);
    assert!(
        v.updates
            .last()
            .unwrap()
            .body
            .contains("rounds had probes without an answer"),
        "{}",
        v.updates.last().unwrap().body
    );
    assert_eq!(w.incidents().len(), 1);
}

#[test]
fn packet_loss_is_degraded_not_a_major_outage() {
    use crate::model::{Impact, Indicator};
    let mut w = world(1, thresholds());
    // 30% loss: UDP mostly lost, TCP answers after retransmitting (about
    // 1 s); now and then one vantage point gets nothing at all.
    let mut opened = None;
    for i in 0..40 {
        let r = w.round_with(2, |_, v| match (i + v) % 5 {
            0 => failed(),
            1 | 3 => ok(),
            _ => Outcome::Impaired {
                latency_ms: 1_000,
                reason: "udp: no answer within 1000 ms".into(),
            },
        });
        opened = opened.or(r.opened);
        assert!(w.status(0) < ComponentStatus::PartialOutage, "round {i}");
    }
    let id = opened.expect("opens");
    assert_eq!(w.status(0), ComponentStatus::DegradedPerformance);
    assert_eq!(w.indicator(), Indicator::Minor);
    let v = w.db.incident(id).unwrap();
    assert_eq!(v.incident.name, "ns1 in Frankfurt is answering unreliably");
    assert_eq!(v.incident.impact, Impact::Minor);
}

#[test]
fn recovery_is_shown_at_once_and_a_relapse_waits_for_the_hold() {
    use crate::model::Indicator;
    let mut w = world(2, thresholds());
    for _ in 0..3 {
        w.round(1, &[0, 1]);
    }
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    assert_eq!(w.indicator(), Indicator::Major);
    // Two healthy rounds: not yet; the third shows the recovery.
    w.round(1, &[0, 0]);
    w.round(1, &[0, 0]);
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    w.round(1, &[0, 0]);
    assert_eq!(w.status(1), ComponentStatus::Operational);
    let v = &w.incidents()[0];
    assert_eq!(v.incident.status, IncidentStatus::Monitoring);
    assert_eq!(
        w.indicator(),
        Indicator::None,
        "monitoring is not an outage"
    );
    let json = crate::render::json::status(&w.db.snapshot(w.now).unwrap());
    assert_eq!(json["status"]["description"], "All Systems Operational");
    // It fails again: shown as down once confirmed, and from now on shown
    // as operational only after the whole hold (no flapping on the page).
    for _ in 0..3 {
        w.round(1, &[0, 1]);
    }
    assert_eq!(w.status(1), ComponentStatus::MajorOutage);
    let back = w.now;
    let mut operational_at = None;
    for _ in 0..20 {
        w.round(1, &[0, 0]);
        if operational_at.is_none() && w.status(1) == ComponentStatus::Operational {
            operational_at = Some(w.now);
        }
    }
    assert_eq!(
        operational_at,
        Some(back + 12),
        "healthy for more than the 10 s hold"
    );
    assert_eq!(w.incidents().len(), 1);
    assert_eq!(w.incidents()[0].incident.status, IncidentStatus::Resolved);
    // A new incident starts afresh: recovery is shown at once again.
    for _ in 0..3 {
        w.round(1, &[0, 1]);
    }
    for _ in 0..3 {
        w.round(1, &[0, 0]);
    }
    assert_eq!(w.status(1), ComponentStatus::Operational);
    assert_eq!(w.incidents().len(), 2);
}

#[test]
fn after_a_resolved_outage_one_bad_round_is_not_an_incident() {
    // A window long enough to still hold the outage's bad rounds.
    let mut w = world(
        2,
        Thresholds {
            window: 30,
            window_share: 10,
            ..thresholds()
        },
    );
    for _ in 0..5 {
        w.round(1, &[0, 1]);
    }
    let mut resolved = false;
    for _ in 0..15 {
        resolved |= w.round(1, &[0, 0]).resolved.is_some();
    }
    assert!(resolved);
    // One bad round a few seconds later: the window starts afresh.
    assert!(w.round(1, &[0, 1]).opened.is_none());
    assert!(w.round(1, &[0, 0]).opened.is_none());
    assert_eq!(w.status(1), ComponentStatus::Operational);
    assert_eq!(w.incidents().len(), 1);
}
