//! The JSON API, shaped like Statuspage's public API v2 so existing
//! Statuspage consumers (dashboards, chat bots, `statuspage` client
//! libraries) read Candor's page unchanged.
//!
//! | path | function |
//! | --- | --- |
//! | `/api/v2/summary.json` | [`summary`] |
//! | `/api/v2/status.json` | [`status`] |
//! | `/api/v2/components.json` | [`components`] |
//! | `/api/v2/incidents.json` | [`incidents`] |
//! | `/api/v2/incidents/unresolved.json` | [`unresolved`] |
//! | `/api/v2/scheduled-maintenances.json` | [`scheduled_maintenances`] |
//! | `/api/v2/scheduled-maintenances/upcoming.json` | [`upcoming_maintenances`] |
//! | `/api/v2/scheduled-maintenances/active.json` | [`active_maintenances`] |
//!
//! Field names and value names are Statuspage's. Times are RFC 3339 in UTC
//! with milliseconds (`2026-11-26T11:03:00.000Z`). Ids are strings: the
//! database id for components and updates, the public id for incidents.
//! What Statuspage has no field for sits under a `candor` key on each
//! object (zones, who posted an update, earlier wordings, locations,
//! 90-day uptime), and incidents carry Statuspage's `postmortem_body` and
//! `postmortem_published_at`.

use std::cmp::Reverse;

use serde_json::{Map, Value, json};

use crate::model::{
    AffectedComponent, ComponentView, IncidentStatus, IncidentUpdate, IncidentView, PageSnapshot,
    UpdateSource,
};
use crate::render::{incident_url, iso_date, rfc3339, updates_newest_first};

/// The most incidents `incidents.json` and `scheduled-maintenances.json`
/// list, as on Statuspage.
const MAX_LISTED: usize = 50;

/// The page's id: its name in lower case with runs of anything but ASCII
/// letters and digits turned into `-` (`Candor status` → `candor-status`);
/// `candor` when nothing is left. Stable as long as the name is.
pub fn page_id(snapshot: &PageSnapshot) -> String {
    let mut id = String::new();
    for c in snapshot.name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    while id.ends_with('-') {
        id.pop();
    }
    if id.is_empty() {
        "candor".to_owned()
    } else {
        id
    }
}

/// The `page` object every document starts with.
pub fn page(snapshot: &PageSnapshot) -> Value {
    json!({
        "id": page_id(snapshot),
        "name": snapshot.name,
        "url": snapshot.url,
        "time_zone": "Etc/UTC",
        "updated_at": rfc3339(snapshot.updated_at),
    })
}

/// The `status` object: `{"indicator": "major", "description": "Partial System Outage"}`.
fn status_object(snapshot: &PageSnapshot) -> Value {
    json!({
        "indicator": snapshot.indicator.as_str(),
        "description": snapshot.indicator.description(),
    })
}

/// `/api/v2/summary.json`: page, components, unresolved incidents,
/// upcoming and ongoing maintenance, and the overall status.
pub fn summary(snapshot: &PageSnapshot) -> Value {
    json!({
        "page": page(snapshot),
        "components": component_list(snapshot),
        "incidents": incident_list(snapshot, snapshot.open_incidents.iter()),
        "scheduled_maintenances": incident_list(snapshot, snapshot.maintenances.iter()),
        "status": status_object(snapshot),
    })
}

/// `/api/v2/status.json`: the page and its overall status.
pub fn status(snapshot: &PageSnapshot) -> Value {
    json!({ "page": page(snapshot), "status": status_object(snapshot) })
}

/// `/api/v2/components.json`: the page and its components, in page order.
pub fn components(snapshot: &PageSnapshot) -> Value {
    json!({ "page": page(snapshot), "components": component_list(snapshot) })
}

/// `/api/v2/incidents.json`: the 50 most recent incidents, open and
/// closed, newest first (by creation). Maintenance windows are listed by
/// [`scheduled_maintenances`] instead.
pub fn incidents(snapshot: &PageSnapshot) -> Value {
    let mut views: Vec<&IncidentView> = snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.history)
        .filter(|view| !view.incident.maintenance)
        .collect();
    newest_first(&mut views);
    views.truncate(MAX_LISTED);
    json!({ "page": page(snapshot), "incidents": incident_list(snapshot, views.into_iter()) })
}

/// `/api/v2/incidents/unresolved.json`: the open incidents, newest first.
pub fn unresolved(snapshot: &PageSnapshot) -> Value {
    let mut views: Vec<&IncidentView> = snapshot.open_incidents.iter().collect();
    newest_first(&mut views);
    json!({ "page": page(snapshot), "incidents": incident_list(snapshot, views.into_iter()) })
}

/// `/api/v2/scheduled-maintenances.json`: the 50 most recent maintenance
/// windows, upcoming, under way and completed, latest start first.
pub fn scheduled_maintenances(snapshot: &PageSnapshot) -> Value {
    let views = maintenance_views(snapshot, |_| true);
    maintenance_document(snapshot, views)
}

/// `/api/v2/scheduled-maintenances/upcoming.json`: windows not started yet.
pub fn upcoming_maintenances(snapshot: &PageSnapshot) -> Value {
    let views = maintenance_views(snapshot, |s| s == IncidentStatus::Scheduled);
    maintenance_document(snapshot, views)
}

/// `/api/v2/scheduled-maintenances/active.json`: windows under way
/// (`in_progress` or `verifying`).
pub fn active_maintenances(snapshot: &PageSnapshot) -> Value {
    let views = maintenance_views(snapshot, |s| {
        matches!(s, IncidentStatus::InProgress | IncidentStatus::Verifying)
    });
    maintenance_document(snapshot, views)
}

/// One incident or maintenance window, with all its updates (newest
/// first), as in the lists above.
pub fn incident(snapshot: &PageSnapshot, view: &IncidentView) -> Value {
    let inc = &view.incident;
    let updates: Vec<Value> = updates_newest_first(view)
        .into_iter()
        .map(|update| incident_update(view, update))
        .collect();
    let components: Vec<Value> = inc
        .components
        .iter()
        .map(|affected| affected_component(snapshot, affected))
        .collect();
    let mut object = Map::new();
    object.insert("id".into(), inc.public_id.clone().into());
    object.insert("name".into(), inc.name.clone().into());
    object.insert("status".into(), inc.status.as_str().into());
    object.insert("created_at".into(), rfc3339(inc.created_at).into());
    object.insert("updated_at".into(), rfc3339(inc.updated_at).into());
    object.insert(
        "monitoring_at".into(),
        inc.monitoring_at.map(rfc3339).into(),
    );
    object.insert("resolved_at".into(), inc.resolved_at.map(rfc3339).into());
    object.insert("impact".into(), inc.impact.as_str().into());
    object.insert(
        "shortlink".into(),
        incident_url(&snapshot.url, &inc.public_id).into(),
    );
    object.insert("started_at".into(), rfc3339(inc.started_at).into());
    object.insert("page_id".into(), page_id(snapshot).into());
    object.insert("incident_updates".into(), updates.into());
    object.insert("components".into(), components.into());
    if inc.maintenance {
        object.insert(
            "scheduled_for".into(),
            inc.scheduled_for.map(rfc3339).into(),
        );
        object.insert(
            "scheduled_until".into(),
            inc.scheduled_until.map(rfc3339).into(),
        );
    }
    object.insert("postmortem_body".into(), inc.postmortem.clone().into());
    object.insert(
        "postmortem_published_at".into(),
        inc.postmortem_at.map(rfc3339).into(),
    );
    object.insert(
        "candor".into(),
        json!({
            "maintenance": inc.maintenance,
            "automatic": inc.automatic,
            "zones": inc.zones,
        }),
    );
    Value::Object(object)
}

/// One update of an incident. `updated_at` is when its wording last
/// changed (its creation when never edited); earlier wordings are under
/// `candor.revisions`, oldest first. Candor does not record component
/// changes per update, so `affected_components` lists the incident's
/// components with their current state on the newest update only (with
/// `old_status` null) and is null on older ones.
pub fn incident_update(view: &IncidentView, update: &IncidentUpdate) -> Value {
    let newest = updates_newest_first(view)
        .first()
        .is_some_and(|u| u.id == update.id);
    let affected = if newest && !view.incident.components.is_empty() {
        Value::Array(
            view.incident
                .components
                .iter()
                .map(|c| {
                    json!({
                        "code": c.id.to_string(),
                        "name": c.name,
                        "old_status": null,
                        "new_status": c.status.as_str(),
                    })
                })
                .collect(),
        )
    } else {
        Value::Null
    };
    let (source, posted_by) = match &update.source {
        UpdateSource::Monitor => ("monitor", Value::Null),
        UpdateSource::Mitigation => ("mitigation", Value::Null),
        UpdateSource::Operator(name) => ("operator", Value::from(crate::render::public_name(name))),
    };
    let revisions: Vec<Value> = update
        .revisions
        .iter()
        .map(|r| {
            json!({
                "body": r.body,
                "replaced_at": rfc3339(r.replaced_at),
                "replaced_by": crate::render::public_name(&r.replaced_by),
            })
        })
        .collect();
    json!({
        "id": update.id.to_string(),
        "status": update.status.as_str(),
        "body": update.body,
        "incident_id": view.incident.public_id,
        "created_at": rfc3339(update.created_at),
        "updated_at": rfc3339(update.edited_at().unwrap_or(update.created_at)),
        "display_at": rfc3339(update.created_at),
        "affected_components": affected,
        "deliver_notifications": true,
        "custom_tweet": null,
        "tweet_id": null,
        "candor": {
            "source": source,
            "posted_by": posted_by,
            "revisions": revisions,
        },
    })
}

/// One component in Statuspage's shape.
pub fn component(snapshot: &PageSnapshot, view: &ComponentView) -> Value {
    let c = &view.component;
    json!({
        "id": c.id.to_string(),
        "name": c.name,
        "status": c.status.as_str(),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
        "position": c.position,
        "description": c.description,
        "showcase": true,
        "start_date": iso_date(c.created_at),
        "group_id": null,
        "page_id": page_id(snapshot),
        "group": false,
        "only_show_if_degraded": false,
        "candor": {
            "kind": c.kind.as_str(),
            "location": c.location,
            "uptime_90_days": view.uptime_percent,
            "latency_ms_today": view.days.last().and_then(|d| d.latency_ms),
            "last_probes": view.last_probes.iter().map(|p| json!({
                "vantage": p.vantage,
                "at": rfc3339(p.at),
                "latency_ms": p.latency_ms,
                "error": p.error,
            })).collect::<Vec<_>>(),
        },
    })
}

/// Every component, in page order.
fn component_list(snapshot: &PageSnapshot) -> Vec<Value> {
    snapshot
        .components
        .iter()
        .map(|view| component(snapshot, view))
        .collect()
}

/// An affected component in an incident's `components`: the full component
/// when it still exists, else what the incident knows of it.
fn affected_component(snapshot: &PageSnapshot, affected: &AffectedComponent) -> Value {
    match snapshot
        .components
        .iter()
        .find(|c| c.component.id == affected.id)
    {
        Some(view) => component(snapshot, view),
        None => json!({
            "id": affected.id.to_string(),
            "name": affected.name,
            "status": affected.status.as_str(),
            "page_id": page_id(snapshot),
            "group": false,
        }),
    }
}

/// Incidents as a JSON array, in the given order.
fn incident_list<'a>(
    snapshot: &PageSnapshot,
    views: impl Iterator<Item = &'a IncidentView>,
) -> Vec<Value> {
    views.map(|view| incident(snapshot, view)).collect()
}

/// Sorts incidents newest first: by creation, then by database id.
fn newest_first(views: &mut [&IncidentView]) {
    views.sort_by_key(|v| Reverse((v.incident.created_at, v.incident.id)));
}

/// The maintenance windows (current and past) whose status passes the
/// filter, latest planned start first, at most 50.
fn maintenance_views(
    snapshot: &PageSnapshot,
    keep: impl Fn(IncidentStatus) -> bool,
) -> Vec<&IncidentView> {
    let mut views: Vec<&IncidentView> = snapshot
        .maintenances
        .iter()
        .chain(&snapshot.history)
        .filter(|view| view.incident.maintenance && keep(view.incident.status))
        .collect();
    views.sort_by_key(|v| {
        Reverse((
            v.incident.scheduled_for.unwrap_or(v.incident.created_at),
            v.incident.id,
        ))
    });
    views.truncate(MAX_LISTED);
    views
}

/// `{"page": ..., "scheduled_maintenances": [...]}`.
fn maintenance_document(snapshot: &PageSnapshot, views: Vec<&IncidentView>) -> Value {
    json!({
        "page": page(snapshot),
        "scheduled_maintenances": incident_list(snapshot, views.into_iter()),
    })
}
