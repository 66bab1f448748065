//! The engine's two ends that touch the database: [`gather`] reads what a
//! round's decision depends on, [`apply`] writes what
//! [`Engine::decide`](super::Engine::decide) decided. Neither decides
//! anything.

use crate::db::{Result, StatusDb};
use crate::model::{Component, ComponentStatus, Impact, IncidentStatus, IncidentView, Timestamp};

use super::{Decisions, IncidentAction, RoundReport};

/// What a round's decision depends on, read before it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gathered {
    /// The components, with the states they are shown in.
    pub components: Vec<Component>,
    /// Maintenance windows not yet completed.
    pub maintenance: Vec<Maintenance>,
    /// The open automatic incident, if there is one.
    pub open: Option<OpenIncident>,
}

/// What the engine needs of a maintenance window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    /// Its incident id.
    pub id: i64,
    /// Scheduled, in progress, verifying.
    pub status: IncidentStatus,
    /// Planned start.
    pub scheduled_for: Option<Timestamp>,
    /// Planned end.
    pub scheduled_until: Option<Timestamp>,
    /// The components under maintenance.
    pub components: Vec<i64>,
}

/// What the engine needs of the open automatic incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenIncident {
    /// Its id.
    pub id: i64,
    /// Its status.
    pub status: IncidentStatus,
    /// Its impact.
    pub impact: Impact,
    /// The first failed probe.
    pub started_at: Timestamp,
    /// The components it affects, with the state it gives each.
    pub components: Vec<(i64, ComponentStatus)>,
}

impl From<&IncidentView> for OpenIncident {
    fn from(view: &IncidentView) -> OpenIncident {
        let i = &view.incident;
        OpenIncident {
            id: i.id,
            status: i.status,
            impact: i.impact,
            started_at: i.started_at,
            components: i.components.iter().map(|c| (c.id, c.status)).collect(),
        }
    }
}

impl From<&IncidentView> for Maintenance {
    fn from(view: &IncidentView) -> Maintenance {
        let i = &view.incident;
        Maintenance {
            id: i.id,
            status: i.status,
            scheduled_for: i.scheduled_for,
            scheduled_until: i.scheduled_until,
            components: i.components.iter().map(|c| c.id).collect(),
        }
    }
}

/// Reads what the next round's decision depends on.
pub fn gather(db: &StatusDb) -> Result<Gathered> {
    Ok(Gathered {
        components: db.components()?,
        maintenance: db
            .open_maintenance()?
            .iter()
            .map(Maintenance::from)
            .collect(),
        open: db
            .open_automatic_incident()?
            .as_ref()
            .map(OpenIncident::from),
    })
}

/// Writes a round's decisions: maintenance windows first, then the
/// round's uptime and probes, the shown states, and the incident.
pub fn apply(db: &mut StatusDb, decisions: &Decisions, now: Timestamp) -> Result<RoundReport> {
    let mut report = RoundReport::default();
    for (id, update) in &decisions.maintenance {
        let written = db.post_update(*id, update, now)?;
        report.updated += 1;
        report.queued += written.queued;
    }
    db.record_round(&decisions.round_states, now)?;
    db.record_probes(&decisions.probes)?;
    db.set_component_status(&decisions.shown, now)?;
    match &decisions.incident {
        None => {}
        Some(IncidentAction::Open(new)) => {
            let written = db.create_incident(new, now)?;
            report.opened = Some(written.incident.incident.id);
            report.queued += written.queued;
        }
        Some(IncidentAction::Update { id, update }) => {
            let written = db.post_update(*id, update, now)?;
            report.updated += 1;
            report.queued += written.queued;
        }
        Some(IncidentAction::Resolve { id, update }) => {
            let written = db.post_update(*id, update, now)?;
            report.resolved = Some(*id);
            report.queued += written.queued;
        }
    }
    Ok(report)
}
