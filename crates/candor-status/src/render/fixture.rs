//! A realistic page for tests: two name servers and the API, one open
//! automatic incident (three updates, one edited), one resolved incident
//! with a post-incident report, one planned maintenance window, and 90
//! days of uptime with a bad day.

use crate::model::{
    AffectedComponent, Component, ComponentKind, ComponentStatus, ComponentView, DayUptime, Impact,
    Incident, IncidentStatus, IncidentUpdate, IncidentView, Indicator, PageSnapshot, ProbeResult,
    Revision, Timestamp, UpdateSource,
};

/// 26 Nov 2026, 11:03 UTC: when the snapshot is taken.
pub(crate) const NOW: Timestamp = 1_795_690_980;
/// The day of [`NOW`].
pub(crate) const TODAY: i64 = 20_783;
/// 1 Jan 2026, when the components were configured.
const CONFIGURED: Timestamp = 1_767_225_600;
/// One minute.
const MIN: i64 = 60;
/// One day.
const DAY: i64 = 86_400;
/// Probe rounds in a day (one every five minutes).
const ROUNDS: u32 = 288;

/// The public id of the open incident.
pub(crate) const OPEN_ID: &str = "k3v9x2m7q1pd";
/// The public id of the resolved incident.
pub(crate) const RESOLVED_ID: &str = "a1b2c3d4e5f6";
/// The public id of the maintenance window.
pub(crate) const MAINTENANCE_ID: &str = "m4int3n4nce1";

/// The page.
pub(crate) fn snapshot() -> PageSnapshot {
    PageSnapshot {
        name: "Candor status".to_owned(),
        url: "https://status.candor.test".to_owned(),
        generated_at: NOW,
        updated_at: NOW - 2 * MIN,
        indicator: Indicator::Major,
        components: vec![ns1(), ns2(), api()],
        open_incidents: vec![open_incident()],
        maintenances: vec![maintenance()],
        history: vec![resolved_incident()],
    }
}

/// A component with the fields most share.
fn component(
    id: i64,
    name: &str,
    location: Option<&str>,
    kind: ComponentKind,
    status: ComponentStatus,
) -> Component {
    Component {
        id,
        key: format!("component-{id}"),
        name: name.to_owned(),
        location: location.map(str::to_owned),
        description: None,
        kind,
        status,
        position: id,
        created_at: CONFIGURED,
        updated_at: CONFIGURED,
    }
}

/// 90 healthy days ending today.
fn healthy_days() -> Vec<DayUptime> {
    (TODAY - 89..=TODAY)
        .map(|day| DayUptime {
            day,
            ok: ROUNDS,
            ..DayUptime::default()
        })
        .collect()
}

/// Uptime over the days, as the database would compute it.
fn uptime(days: &[DayUptime]) -> Option<f64> {
    let counted: u32 = days.iter().map(DayUptime::counted).sum();
    (counted > 0).then(|| {
        let up: f64 = days
            .iter()
            .map(|d| f64::from(d.ok + d.degraded) + f64::from(d.partial) * 0.5)
            .sum();
        up * 100.0 / f64::from(counted)
    })
}

/// ns1: operational; a major outage 30 days ago.
fn ns1() -> ComponentView {
    let mut days = healthy_days();
    days[59] = DayUptime {
        day: TODAY - 30,
        ok: 270,
        degraded: 0,
        partial: 6,
        major: 12,
        maintenance: 0,
        latency_ms: Some(3),
    };
    ComponentView {
        component: component(
            1,
            "ns1.candor.test",
            Some("Amsterdam"),
            ComponentKind::NameServer,
            ComponentStatus::Operational,
        ),
        uptime_percent: uptime(&days),
        days,
        last_probes: vec![
            probe(1, "ams", Some(2), None),
            probe(1, "fra", Some(9), None),
        ],
    }
}

/// The latest probe of a component from a vantage point.
fn probe(
    component_id: i64,
    vantage: &str,
    latency_ms: Option<u32>,
    error: Option<&str>,
) -> ProbeResult {
    ProbeResult {
        component_id,
        vantage: vantage.to_owned(),
        at: NOW - 3,
        latency_ms,
        error: error.map(str::to_owned),
    }
}

/// ns2: in a partial outage since this morning.
fn ns2() -> ComponentView {
    let mut days = healthy_days();
    days[89] = DayUptime {
        day: TODAY,
        ok: 129,
        degraded: 0,
        partial: 4,
        major: 0,
        maintenance: 0,
        latency_ms: Some(41),
    };
    let mut component = component(
        2,
        "ns2.candor.test",
        Some("Frankfurt"),
        ComponentKind::NameServer,
        ComponentStatus::PartialOutage,
    );
    component.updated_at = NOW - 23 * MIN;
    ComponentView {
        component,
        uptime_percent: uptime(&days),
        days,
        last_probes: vec![
            probe(2, "ams", Some(38), None),
            probe(2, "fra", None, Some("udp: no answer within 2000 ms")),
        ],
    }
}

/// The API: configured later (no data for its first 20 days), one
/// degraded day, one maintenance day.
fn api() -> ComponentView {
    let mut days = healthy_days();
    for day in &mut days[..20] {
        *day = DayUptime {
            day: day.day,
            ..DayUptime::default()
        };
    }
    days[86] = DayUptime {
        day: TODAY - 3,
        ok: 274,
        degraded: 14,
        ..DayUptime::default()
    };
    days[40] = DayUptime {
        day: TODAY - 49,
        ok: 264,
        maintenance: 24,
        ..DayUptime::default()
    };
    let mut component = component(
        3,
        "API",
        None,
        ComponentKind::Api,
        ComponentStatus::Operational,
    );
    component.description = Some("The REST API for zones and records.".to_owned());
    ComponentView {
        component,
        uptime_percent: uptime(&days),
        days,
        last_probes: Vec::new(),
    }
}

/// The open incident: opened by the monitors 23 minutes ago.
fn open_incident() -> IncidentView {
    let started = NOW - 23 * MIN;
    IncidentView {
        incident: Incident {
            id: 12,
            public_id: OPEN_ID.to_owned(),
            name: "ns2.candor.test (Frankfurt) not answering".to_owned(),
            status: IncidentStatus::Identified,
            impact: Impact::Major,
            maintenance: false,
            automatic: true,
            created_at: started + MIN,
            updated_at: NOW - 2 * MIN,
            started_at: started,
            monitoring_at: None,
            resolved_at: None,
            scheduled_for: None,
            scheduled_until: None,
            zones: Vec::new(),
            components: vec![AffectedComponent {
                id: 2,
                name: "ns2.candor.test".to_owned(),
                status: ComponentStatus::PartialOutage,
            }],
            postmortem: None,
            postmortem_at: None,
        },
        updates: vec![
            IncidentUpdate {
                id: 103,
                incident_id: 12,
                status: IncidentStatus::Identified,
                body: "Our transit provider in Frankfurt drops packets to ns2.\n\n\
                       ns1 still answers for every zone; resolvers retry there."
                    .to_owned(),
                source: UpdateSource::Operator("alice@candor.test".to_owned()),
                created_at: NOW - 5 * MIN,
                revisions: vec![Revision {
                    body: "The network in Frankfurt has a problem.".to_owned(),
                    replaced_at: NOW - 2 * MIN,
                    replaced_by: "alice@candor.test".to_owned(),
                }],
            },
            IncidentUpdate {
                id: 102,
                incident_id: 12,
                status: IncidentStatus::Investigating,
                body: "ALIAS refresh is off: cached ALIAS answers are served.".to_owned(),
                source: UpdateSource::Mitigation,
                created_at: NOW - 15 * MIN,
                revisions: Vec::new(),
            },
            IncidentUpdate {
                id: 101,
                incident_id: 12,
                status: IncidentStatus::Investigating,
                body: "3 of 4 vantage points get no answer from ns2.candor.test over UDP and TCP."
                    .to_owned(),
                source: UpdateSource::Monitor,
                created_at: started + MIN,
                revisions: Vec::new(),
            },
        ],
    }
}

/// The resolved incident of three days ago, with its report.
fn resolved_incident() -> IncidentView {
    let started = NOW - 3 * DAY - 2 * 60 * MIN;
    IncidentView {
        incident: Incident {
            id: 9,
            public_id: RESOLVED_ID.to_owned(),
            name: "Zone updates through the API fail".to_owned(),
            status: IncidentStatus::Resolved,
            impact: Impact::Minor,
            maintenance: false,
            automatic: false,
            created_at: started + 5 * MIN,
            updated_at: started + DAY,
            started_at: started,
            monitoring_at: Some(started + 40 * MIN),
            resolved_at: Some(started + 65 * MIN),
            scheduled_for: None,
            scheduled_until: None,
            zones: vec!["example.com".to_owned(), "example.net".to_owned()],
            components: vec![AffectedComponent {
                id: 3,
                name: "API".to_owned(),
                status: ComponentStatus::DegradedPerformance,
            }],
            postmortem: Some(
                "A schema migration locked the records table for 65 minutes.\n\n\
                 Migrations now run in batches, and the API answers 503 instead of waiting."
                    .to_owned(),
            ),
            postmortem_at: Some(started + DAY),
        },
        updates: vec![
            IncidentUpdate {
                id: 93,
                incident_id: 9,
                status: IncidentStatus::Resolved,
                body: "Zone updates work again.".to_owned(),
                source: UpdateSource::Operator("bob".to_owned()),
                created_at: started + 65 * MIN,
                revisions: Vec::new(),
            },
            IncidentUpdate {
                id: 92,
                incident_id: 9,
                status: IncidentStatus::Monitoring,
                body: "The migration is stopped; we are watching error rates.".to_owned(),
                source: UpdateSource::Operator("bob".to_owned()),
                created_at: started + 40 * MIN,
                revisions: Vec::new(),
            },
            IncidentUpdate {
                id: 91,
                incident_id: 9,
                status: IncidentStatus::Investigating,
                body: "Record changes time out.".to_owned(),
                source: UpdateSource::Operator("bob".to_owned()),
                created_at: started + 5 * MIN,
                revisions: Vec::new(),
            },
        ],
    }
}

/// Tomorrow night's maintenance of ns1.
fn maintenance() -> IncidentView {
    let start = (TODAY + 1) * DAY + 2 * 60 * MIN;
    IncidentView {
        incident: Incident {
            id: 11,
            public_id: MAINTENANCE_ID.to_owned(),
            name: "Kernel upgrade on ns1".to_owned(),
            status: IncidentStatus::Scheduled,
            impact: Impact::Maintenance,
            maintenance: true,
            automatic: false,
            created_at: NOW - DAY,
            updated_at: NOW - DAY,
            started_at: start,
            monitoring_at: None,
            resolved_at: None,
            scheduled_for: Some(start),
            scheduled_until: Some(start + 2 * 60 * MIN),
            zones: Vec::new(),
            components: vec![AffectedComponent {
                id: 1,
                name: "ns1.candor.test".to_owned(),
                status: ComponentStatus::UnderMaintenance,
            }],
            postmortem: None,
            postmortem_at: None,
        },
        updates: vec![IncidentUpdate {
            id: 111,
            incident_id: 11,
            status: IncidentStatus::Scheduled,
            body: "ns1 restarts once; ns2 answers meanwhile.".to_owned(),
            source: UpdateSource::Operator("ops".to_owned()),
            created_at: NOW - DAY,
            revisions: Vec::new(),
        }],
    }
}
