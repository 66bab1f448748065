//! The status page's "Zone publishing" component: it shows whether every
//! stored zone is served at its stored version. When some are served at
//! their last known good version instead (their stored version does not
//! compile), the component is degraded and an incident says so, without
//! naming the zones (their owners see it on the zone's distribution
//! endpoint; the operator in the log). It resolves when every zone
//! publishes again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use candor_publish::Publisher;
use candor_status::db::{ComponentSpec, NewIncident, NewUpdate, StatusDb, now};
use candor_status::model::{ComponentKind, ComponentStatus, Impact, IncidentStatus, UpdateSource};
use tokio::sync::watch;

/// The component's key in the status database.
pub(crate) const KEY: &str = "publishing";

/// The incident's title (also how a restarted server finds it again).
const TITLE: &str = "Zone changes not published";

/// How often the publisher's failures are read.
const EVERY: Duration = Duration::from_secs(2);

/// The component, for `sync_components`.
pub(crate) fn component(location: Option<String>) -> ComponentSpec {
    ComponentSpec {
        key: KEY.into(),
        name: "Zone publishing".into(),
        location,
        description: Some("Changes to stored zones reach the name servers".into()),
        kind: ComponentKind::Other,
    }
}

/// The words for `n` zones.
fn zones(n: usize) -> String {
    if n == 1 {
        "1 zone".to_owned()
    } else {
        format!("{n} zones")
    }
}

/// Follows the publisher's failures and shows them on the status page
/// (component `id`); `changed` runs after every write. Returns when `stop`
/// turns.
pub(crate) async fn watch_failures(
    db: Arc<Mutex<StatusDb>>,
    id: i64,
    publisher: Publisher,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut shown: Option<usize> = None;
    loop {
        let failing = publisher.failures().len();
        if shown != Some(failing) {
            let db = db.clone();
            let written = tokio::task::spawn_blocking(move || {
                let mut db = db.lock().unwrap_or_else(|p| p.into_inner());
                show(&mut db, id, failing)
            })
            .await;
            match written {
                Ok(Ok(())) => {
                    shown = Some(failing);
                    changed();
                }
                Ok(Err(e)) => {
                    tracing::error!("cannot show zone publishing on the status page: {e}")
                }
                Err(_) => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes the component's state and its incident for `failing` zones.
fn show(db: &mut StatusDb, id: i64, failing: usize) -> candor_status::db::Result<()> {
    let at = now();
    let open = db
        .open_incidents()?
        .into_iter()
        .find(|v| v.incident.name == TITLE && !v.incident.maintenance);
    let degraded = [(id, ComponentStatus::DegradedPerformance)];
    match (failing, open) {
        (0, None) => {}
        (0, Some(view)) => {
            db.post_update(
                view.incident.id,
                &NewUpdate {
                    status: IncidentStatus::Resolved,
                    body: "Every zone is published at its stored version again.".into(),
                    source: UpdateSource::Monitor,
                    impact: None,
                    components: Some(vec![(id, ComponentStatus::Operational)]),
                },
                at,
            )?;
        }
        (n, None) => {
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
                    body: format!(
                        "Changes to {} are not being published. The name servers keep \
                         answering for them with their last good version; changes made since \
                         are not served yet.",
                        zones(n)
                    ),
                    source: UpdateSource::Monitor,
                },
                at,
            )?;
        }
        (n, Some(view)) => {
            db.post_update(
                view.incident.id,
                &NewUpdate {
                    status: IncidentStatus::Identified,
                    body: format!("Changes to {} are not being published.", zones(n)),
                    source: UpdateSource::Monitor,
                    impact: None,
                    components: Some(degraded.to_vec()),
                },
                at,
            )?;
        }
    }
    let state = if failing == 0 {
        ComponentStatus::Operational
    } else {
        ComponentStatus::DegradedPerformance
    };
    db.set_component_status(&[(id, state)], at)
}
