//! Timelines through [`Engine::decide`] alone: no database, the decisions
//! applied to an in-memory page (components' shown states and the open
//! incident) the way [`apply`] writes them. One table of cases: partial
//! outages, packet loss over a window, a server stalled every other
//! round, recovery while monitoring, flapping.

use super::*;

/// Rounds are one second apart; these thresholds make 3 bad rounds in a
/// row (or 3 in the last 12) trouble and a 10 s hold.
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

/// A name server component, operational.
fn nameserver(id: i64) -> Component {
    Component {
        id,
        key: format!("ns:127.0.0.{id}:53"),
        name: format!("ns{id}"),
        location: None,
        description: None,
        kind: ComponentKind::NameServer,
        status: ComponentStatus::Operational,
        position: id,
        created_at: 0,
        updated_at: 0,
    }
}

/// What one probe found, by letter: `.` a quick answer, `s` a slow one,
/// `i` an answer over TCP only (UDP lost), `x` none.
fn outcome(letter: char) -> Outcome {
    match letter {
        '.' => Outcome::Ok { latency_ms: 2 },
        's' => Outcome::Ok { latency_ms: 900 },
        'i' => Outcome::Impaired {
            latency_ms: 3,
            reason: "udp: no answer within 700 ms".into(),
        },
        'x' => Outcome::Failed {
            reason: "udp: no answer within 700 ms, tcp: no answer within 700 ms".into(),
        },
        other => panic!("no outcome {other:?}"),
    }
}

/// The page as the decisions leave it, and what happened on the way.
struct Sim {
    /// The engine under test.
    engine: Engine,
    /// What the next round is decided from, as the decisions left it.
    page: Gathered,
    /// The time of the last round.
    now: Timestamp,
    /// Incidents opened.
    opened: usize,
    /// Incidents resolved.
    resolved: usize,
    /// The worst state the last name server was shown in.
    worst: ComponentStatus,
    /// The worst banner (what users see).
    banner: ComponentStatus,
}

impl Sim {
    /// `nameservers` operational name servers.
    fn new(nameservers: i64) -> Sim {
        Sim {
            engine: Engine::new(thresholds()),
            page: Gathered {
                components: (1..=nameservers).map(nameserver).collect(),
                ..Gathered::default()
            },
            now: 1_000_000,
            opened: 0,
            resolved: 0,
            worst: ComponentStatus::Operational,
            banner: ComponentStatus::Operational,
        }
    }

    /// One round, a second after the last: `round` has a word per name
    /// server and a letter per vantage point (`. x` = ns1 answers, ns2
    /// does not, from the one vantage point).
    fn round(&mut self, round: &str) {
        self.now += 1;
        let mut observations = Vec::new();
        for (c, word) in self.page.components.iter().zip(round.split(' ')) {
            for (v, letter) in word.chars().enumerate() {
                observations.push(Observation {
                    component_id: c.id,
                    vantage: format!("vp{v}"),
                    at: self.now,
                    outcome: outcome(letter),
                });
            }
        }
        let d = self.engine.decide(&self.page, self.now, &observations);
        assert_eq!(d.round_states.len(), self.page.components.len());
        for (id, status) in &d.shown {
            if let Some(c) = self.page.components.iter_mut().find(|c| c.id == *id) {
                c.status = *status;
            }
        }
        match d.incident {
            None => {}
            Some(IncidentAction::Open(new)) => {
                assert!(self.page.open.is_none(), "a second incident opened");
                self.opened += 1;
                self.page.open = Some(OpenIncident {
                    id: self.opened as i64,
                    status: new.status,
                    impact: new.impact.unwrap_or(Impact::Minor),
                    started_at: new.started_at.unwrap_or(self.now),
                    components: new.components,
                });
            }
            Some(IncidentAction::Update { id, update }) => {
                let open = self.page.open.as_mut().expect("an open incident");
                assert_eq!(open.id, id);
                open.status = update.status;
                open.impact = update.impact.unwrap_or(open.impact);
                open.components = update.components.unwrap_or(open.components.clone());
            }
            Some(IncidentAction::Resolve { id, update }) => {
                assert_eq!(self.page.open.take().map(|o| o.id), Some(id));
                assert_eq!(update.status, IncidentStatus::Resolved);
                self.resolved += 1;
            }
        }
        let last = self.page.components.last().map(|c| c.status);
        self.worst = self.worst.max(last.unwrap_or(ComponentStatus::Operational));
        let banner = user_visible(self.page.components.iter().map(|c| (c.kind, c.status)));
        self.banner = self.banner.max(banner);
    }
}

/// One timeline and what must come of it.
struct Case {
    /// What it shows.
    name: &'static str,
    /// Name servers.
    nameservers: i64,
    /// Rounds: how many times, and what each found.
    timeline: Vec<(usize, &'static str)>,
    /// The worst state the last name server is ever shown in.
    worst: ComponentStatus,
    /// The worst banner (what users see).
    banner: ComponentStatus,
    /// The last name server's state at the end.
    end: ComponentStatus,
    /// Incidents opened and resolved.
    incidents: (usize, usize),
    /// The open incident's status at the end.
    open: Option<IncidentStatus>,
}

/// `times` repetitions of `rounds`.
fn cycle(times: usize, rounds: &[(usize, &'static str)]) -> Vec<(usize, &'static str)> {
    (0..times).flat_map(|_| rounds.iter().copied()).collect()
}

/// The table.
fn cases() -> Vec<Case> {
    use ComponentStatus::{
        DegradedPerformance as Degraded, MajorOutage as Major, Operational,
        PartialOutage as Partial,
    };
    use IncidentStatus::{Investigating, Monitoring};
    vec![
        Case {
            name: "one name server of two down: a major outage of it, a partial one of DNS",
            nameservers: 2,
            timeline: vec![(5, ". ."), (6, ". x"), (15, ". .")],
            worst: Major,
            banner: Partial,
            end: Operational,
            incidents: (1, 1),
            open: None,
        },
        Case {
            name: "every name server down: a major outage of DNS",
            nameservers: 2,
            timeline: vec![(4, "x x")],
            worst: Major,
            banner: Major,
            end: Major,
            incidents: (1, 0),
            open: Some(Investigating),
        },
        Case {
            name: "unreachable from two of three vantage points: a partial outage",
            nameservers: 2,
            timeline: vec![(3, "... ..."), (5, "... xx."), (3, "... ...")],
            worst: Partial,
            banner: Partial,
            end: Operational,
            incidents: (1, 0),
            open: Some(Monitoring),
        },
        Case {
            name: "one broken vantage point of three is no incident (quorum)",
            nameservers: 2,
            timeline: vec![(20, "... x..")],
            worst: Operational,
            banner: Operational,
            end: Operational,
            incidents: (0, 0),
            open: None,
        },
        Case {
            name: "30% of UDP queries lost, TCP answers: degraded, never an outage",
            nameservers: 2,
            timeline: cycle(
                4,
                &[
                    (1, ". i"),
                    (2, ". ."),
                    (1, ". i"),
                    (2, ". ."),
                    (1, ". i"),
                    (3, ". ."),
                ],
            ),
            worst: Degraded,
            banner: Degraded,
            end: Degraded,
            incidents: (1, 0),
            open: Some(Investigating),
        },
        Case {
            name: "half the probes unanswered, the rest slow: degraded, not down",
            nameservers: 2,
            timeline: vec![(8, ". xs")],
            worst: Degraded,
            banner: Degraded,
            end: Degraded,
            incidents: (1, 0),
            open: Some(Investigating),
        },
        Case {
            name: "stalled every other round (SIGSTOP/SIGCONT): degraded, never operational again",
            nameservers: 2,
            timeline: cycle(12, &[(1, ". x"), (1, ". .")]),
            worst: Degraded,
            banner: Degraded,
            end: Degraded,
            incidents: (1, 0),
            open: Some(Investigating),
        },
        Case {
            name: "slow answers in a row: degraded",
            nameservers: 2,
            timeline: vec![(5, ". s")],
            worst: Degraded,
            banner: Degraded,
            end: Degraded,
            incidents: (1, 0),
            open: Some(Investigating),
        },
        Case {
            name: "recovered: operational at once while the incident monitors the hold",
            nameservers: 2,
            timeline: vec![(5, ". x"), (4, ". .")],
            worst: Major,
            banner: Partial,
            end: Operational,
            incidents: (1, 0),
            open: Some(Monitoring),
        },
        Case {
            name: "down 3 rounds, up 3, ten times: one incident, resolved only after",
            nameservers: 2,
            timeline: [cycle(10, &[(3, ". x"), (3, ". .")]), vec![(12, ". .")]].concat(),
            worst: Major,
            banner: Partial,
            end: Operational,
            incidents: (1, 1),
            open: None,
        },
        Case {
            name: "flapping: not resolved while it flaps",
            nameservers: 2,
            timeline: cycle(10, &[(3, ". x"), (3, ". .")]),
            worst: Major,
            banner: Partial,
            end: Major,
            incidents: (1, 0),
            open: Some(Investigating),
        },
    ]
}

/// Every case of the table.
#[test]
fn timelines() {
    for case in cases() {
        let mut sim = Sim::new(case.nameservers);
        for (times, round) in &case.timeline {
            for _ in 0..*times {
                sim.round(round);
            }
        }
        let end = sim.page.components.last().map(|c| c.status);
        let got = (
            sim.worst,
            sim.banner,
            end,
            (sim.opened, sim.resolved),
            sim.page.open.as_ref().map(|o| o.status),
        );
        let want = (
            case.worst,
            case.banner,
            Some(case.end),
            case.incidents,
            case.open,
        );
        assert_eq!(got, want, "{}", case.name);
    }
}

/// The decisions of a round are only decisions: deciding the same round
/// twice from fresh engines gives the same result, and nothing is decided
/// about components that were not probed.
#[test]
fn deciding_is_repeatable_and_touches_only_what_was_probed() {
    let page = Gathered {
        components: vec![nameserver(1), nameserver(2)],
        ..Gathered::default()
    };
    let observations = [Observation {
        component_id: 2,
        vantage: "vp0".into(),
        at: 5,
        outcome: outcome('x'),
    }];
    let a = Engine::new(thresholds()).decide(&page, 5, &observations);
    let b = Engine::new(thresholds()).decide(&page, 5, &observations);
    assert_eq!(a, b);
    assert_eq!(a.round_states, [(2, ComponentStatus::MajorOutage)]);
    assert_eq!(a.shown, [(2, ComponentStatus::Operational)]);
    assert_eq!(a.incident, None);
    assert_eq!(a.probes.len(), 1);
}

/// A maintenance window starts at its time, holds its components under
/// maintenance whatever the probes find, and ends at its end.
#[test]
fn maintenance_windows_follow_the_clock() {
    let mut page = Gathered {
        components: vec![nameserver(1)],
        maintenance: vec![Maintenance {
            id: 9,
            status: IncidentStatus::Scheduled,
            scheduled_for: Some(10),
            scheduled_until: Some(20),
            components: vec![1],
        }],
        open: None,
    };
    let mut engine = Engine::new(thresholds());
    let down = |at| {
        [Observation {
            component_id: 1,
            vantage: "vp0".into(),
            at,
            outcome: outcome('x'),
        }]
    };
    let d = engine.decide(&page, 9, &down(9));
    assert!(d.maintenance.is_empty());
    let d = engine.decide(&page, 10, &down(10));
    assert_eq!(d.maintenance.len(), 1);
    assert_eq!(d.maintenance[0].1.status, IncidentStatus::InProgress);
    assert_eq!(d.shown, [(1, ComponentStatus::UnderMaintenance)]);
    page.maintenance[0].status = IncidentStatus::InProgress;
    for at in 11..20 {
        let d = engine.decide(&page, at, &down(at));
        assert!(d.maintenance.is_empty() && d.incident.is_none(), "at {at}");
    }
    let d = engine.decide(&page, 20, &down(20));
    assert_eq!(d.maintenance[0].1.status, IncidentStatus::Completed);
}
