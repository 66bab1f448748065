//! Incidents and maintenance windows, their timelines, edits and post-incident reports.

use super::*;

impl StatusDb {
    /// Opens an incident (or schedules maintenance) with its first update,
    /// and queues deliveries to every matching subscriber.
    pub fn create_incident(&mut self, new: &NewIncident, now: Timestamp) -> Result<Written> {
        check_text("name", &new.name, 200)?;
        check_text("body", &new.body, 20_000)?;
        let maintenance = new.scheduled_for.is_some();
        let allowed: &[IncidentStatus] = if maintenance {
            &[IncidentStatus::Scheduled, IncidentStatus::InProgress]
        } else {
            &[
                IncidentStatus::Investigating,
                IncidentStatus::Identified,
                IncidentStatus::Monitoring,
            ]
        };
        if !allowed.contains(&new.status) {
            return Err(invalid(
                "status",
                format!(
                    "a new {} starts as one of: {}",
                    if maintenance {
                        "maintenance window"
                    } else {
                        "incident"
                    },
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let (Some(from), Some(until)) = (new.scheduled_for, new.scheduled_until) {
            check_window(from, until, new.status, now)?;
        } else if maintenance {
            return Err(invalid(
                "scheduled_until",
                "a maintenance window needs an end",
            ));
        }
        let zones = new
            .zones
            .iter()
            .map(|z| check_zone(z))
            .collect::<Result<Vec<_>>>()?;
        let tx = self.conn.transaction()?;
        let known = component_names(&tx)?;
        for (id, _) in &new.components {
            if !known.contains_key(id) {
                return Err(invalid("components", format!("no component with id {id}")));
            }
        }
        let impact = new.impact.unwrap_or_else(|| {
            if maintenance {
                Impact::Maintenance
            } else {
                derive_impact(&new.components)
            }
        });
        let public_id = random_id(12);
        tx.execute(
            "INSERT INTO incidents(public_id, name, status, impact, maintenance, automatic, created_at,
                 updated_at, started_at, monitoring_at, scheduled_for, scheduled_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11)",
            params![
                public_id,
                new.name.trim(),
                new.status.as_str(),
                impact.as_str(),
                maintenance,
                new.automatic,
                now,
                new.started_at.unwrap_or(now).min(now),
                (new.status == IncidentStatus::Monitoring).then_some(now),
                new.scheduled_for,
                new.scheduled_until,
            ],
        )?;
        let id = tx.last_insert_rowid();
        for (component, status) in &new.components {
            tx.execute(
                "INSERT INTO incident_components(incident_id, component_id, status) VALUES (?1, ?2, ?3)",
                params![id, component, status.as_str()],
            )?;
        }
        for zone in &zones {
            tx.execute(
                "INSERT OR IGNORE INTO incident_zones(incident_id, zone) VALUES (?1, ?2)",
                params![id, zone],
            )?;
        }
        let update_id = insert_update(&tx, id, new.status, new.body.trim(), &new.source, now)?;
        let queued =
            super::outbox::queue_deliveries(&tx, id, update_id, Event::IncidentCreated, now)?;
        Self::bump(&tx)?;
        tx.commit()?;
        Ok(Written {
            incident: self.incident(id)?,
            queued,
        })
    }

    /// Posts an update: sets the status (and impact/components if given),
    /// and queues deliveries. Closed incidents take no more updates.
    pub fn post_update(
        &mut self,
        incident_id: i64,
        update: &NewUpdate,
        now: Timestamp,
    ) -> Result<Written> {
        check_text("body", &update.body, 20_000)?;
        let tx = self.conn.transaction()?;
        let (status, maintenance): (String, bool) = tx
            .query_row(
                "SELECT status, maintenance FROM incidents WHERE id = ?1",
                params![incident_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StatusError::NotFound(format!("incident {incident_id}")))?;
        let current: IncidentStatus = status.parse()?;
        if current.is_closed() {
            return Err(invalid(
                "status",
                format!("the incident is {current}; closed incidents take no more updates"),
            ));
        }
        let allowed: &[IncidentStatus] = if maintenance {
            &[
                IncidentStatus::Scheduled,
                IncidentStatus::InProgress,
                IncidentStatus::Verifying,
                IncidentStatus::Completed,
            ]
        } else {
            &[
                IncidentStatus::Investigating,
                IncidentStatus::Identified,
                IncidentStatus::Monitoring,
                IncidentStatus::Resolved,
            ]
        };
        if !allowed.contains(&update.status) {
            return Err(invalid(
                "status",
                format!(
                    "must be one of: {}",
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let Some(components) = &update.components {
            let known = component_names(&tx)?;
            for (id, _) in components {
                if !known.contains_key(id) {
                    return Err(invalid("components", format!("no component with id {id}")));
                }
            }
            tx.execute(
                "DELETE FROM incident_components WHERE incident_id = ?1",
                params![incident_id],
            )?;
            for (component, status) in components {
                tx.execute(
                    "INSERT INTO incident_components(incident_id, component_id, status) VALUES (?1, ?2, ?3)",
                    params![incident_id, component, status.as_str()],
                )?;
            }
        }
        let closes = update.status.is_closed();
        tx.execute(
            "UPDATE incidents SET status = ?2, updated_at = ?3,
                 impact = COALESCE(?4, impact),
                 monitoring_at = CASE WHEN ?2 = 'monitoring' AND monitoring_at IS NULL THEN ?3 ELSE monitoring_at END,
                 resolved_at = CASE WHEN ?5 THEN ?3 ELSE resolved_at END
             WHERE id = ?1",
            params![
                incident_id,
                update.status.as_str(),
                now,
                update.impact.map(Impact::as_str),
                closes
            ],
        )?;
        let update_id = insert_update(
            &tx,
            incident_id,
            update.status,
            update.body.trim(),
            &update.source,
            now,
        )?;
        let event = if closes {
            Event::IncidentResolved
        } else {
            Event::IncidentUpdated
        };
        let queued = super::outbox::queue_deliveries(&tx, incident_id, update_id, event, now)?;
        Self::bump(&tx)?;
        tx.commit()?;
        Ok(Written {
            incident: self.incident(incident_id)?,
            queued,
        })
    }

    /// Rewords an update; the earlier wording is kept as a revision and
    /// stays visible. Subscribers are not told again.
    pub fn edit_update(
        &mut self,
        update_id: i64,
        body: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<IncidentView> {
        check_text("body", body, 20_000)?;
        let tx = self.conn.transaction()?;
        let (incident_id, old): (i64, String) = tx
            .query_row(
                "SELECT incident_id, body FROM updates WHERE id = ?1",
                params![update_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StatusError::NotFound(format!("update {update_id}")))?;
        if old != body.trim() {
            tx.execute(
                "INSERT INTO update_revisions(update_id, body, replaced_at, replaced_by) VALUES (?1, ?2, ?3, ?4)",
                params![update_id, old, now, by],
            )?;
            tx.execute(
                "UPDATE updates SET body = ?2 WHERE id = ?1",
                params![update_id, body.trim()],
            )?;
            tx.execute(
                "UPDATE incidents SET updated_at = ?2 WHERE id = ?1",
                params![incident_id, now],
            )?;
            Self::bump(&tx)?;
        }
        tx.commit()?;
        self.incident(incident_id)
    }

    /// Renames an incident or changes its impact; the change is logged.
    pub fn edit_incident(
        &mut self,
        incident_id: i64,
        name: Option<&str>,
        impact: Option<Impact>,
        by: &str,
        now: Timestamp,
    ) -> Result<IncidentView> {
        if let Some(name) = name {
            check_text("name", name, 200)?;
        }
        let tx = self.conn.transaction()?;
        let (old_name, old_impact): (String, String) = tx
            .query_row(
                "SELECT name, impact FROM incidents WHERE id = ?1",
                params![incident_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StatusError::NotFound(format!("incident {incident_id}")))?;
        let mut changed = false;
        if let Some(name) = name.map(str::trim).filter(|n| *n != old_name) {
            tx.execute(
                "INSERT INTO incident_edits(incident_id, field, old_value, new_value, edited_at, edited_by)
                 VALUES (?1, 'name', ?2, ?3, ?4, ?5)",
                params![incident_id, old_name, name, now, by],
            )?;
            tx.execute(
                "UPDATE incidents SET name = ?2 WHERE id = ?1",
                params![incident_id, name],
            )?;
            changed = true;
        }
        if let Some(impact) = impact.filter(|i| i.as_str() != old_impact) {
            tx.execute(
                "INSERT INTO incident_edits(incident_id, field, old_value, new_value, edited_at, edited_by)
                 VALUES (?1, 'impact', ?2, ?3, ?4, ?5)",
                params![incident_id, old_impact, impact.as_str(), now, by],
            )?;
            tx.execute(
                "UPDATE incidents SET impact = ?2 WHERE id = ?1",
                params![incident_id, impact.as_str()],
            )?;
            changed = true;
        }
        if changed {
            tx.execute(
                "UPDATE incidents SET updated_at = ?2 WHERE id = ?1",
                params![incident_id, now],
            )?;
            Self::bump(&tx)?;
        }
        tx.commit()?;
        self.incident(incident_id)
    }

    /// Attaches (or rewrites, keeping the old text in the edit log) the
    /// post-incident report of a closed incident.
    pub fn attach_postmortem(
        &mut self,
        incident_id: i64,
        body: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<IncidentView> {
        check_text("postmortem", body, 100_000)?;
        let tx = self.conn.transaction()?;
        let (status, old): (String, Option<String>) = tx
            .query_row(
                "SELECT status, postmortem FROM incidents WHERE id = ?1",
                params![incident_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StatusError::NotFound(format!("incident {incident_id}")))?;
        let status: IncidentStatus = status.parse()?;
        if !status.is_closed() {
            return Err(invalid(
                "postmortem",
                format!("the incident is still {status}; resolve it first"),
            ));
        }
        if let Some(old) = old {
            tx.execute(
                "INSERT INTO incident_edits(incident_id, field, old_value, new_value, edited_at, edited_by)
                 VALUES (?1, 'postmortem', ?2, ?3, ?4, ?5)",
                params![incident_id, old, body.trim(), now, by],
            )?;
        }
        tx.execute(
            "UPDATE incidents SET postmortem = ?2, postmortem_at = ?3, updated_at = ?3 WHERE id = ?1",
            params![incident_id, body.trim(), now],
        )?;
        Self::bump(&tx)?;
        tx.commit()?;
        self.incident(incident_id)
    }

    /// Looks an incident up by database id or public id.
    pub fn find_incident(&self, id: &str) -> Result<IncidentView> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM incidents WHERE public_id = ?1 OR CAST(id AS TEXT) = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(id) => self.incident(id),
            None => Err(StatusError::NotFound(format!("incident {id}"))),
        }
    }

    /// One incident with its timeline.
    pub fn incident(&self, id: i64) -> Result<IncidentView> {
        let mut views = self.incidents_where("i.id = ?1", params![id])?;
        views
            .pop()
            .ok_or_else(|| StatusError::NotFound(format!("incident {id}")))
    }

    /// Open incidents (not maintenance), newest first.
    pub fn open_incidents(&self) -> Result<Vec<IncidentView>> {
        self.incidents_where("i.resolved_at IS NULL AND i.maintenance = 0", [])
    }

    /// The open incident the monitors opened, if any (at most one is).
    pub fn open_automatic_incident(&self) -> Result<Option<IncidentView>> {
        Ok(self
            .incidents_where(
                "i.resolved_at IS NULL AND i.maintenance = 0 AND i.automatic = 1",
                [],
            )?
            .into_iter()
            .next())
    }

    /// Maintenance windows not yet completed, soonest first.
    pub fn open_maintenance(&self) -> Result<Vec<IncidentView>> {
        let mut v = self.incidents_where("i.resolved_at IS NULL AND i.maintenance = 1", [])?;
        v.sort_by_key(|m| (m.incident.scheduled_for, m.incident.id));
        Ok(v)
    }

    /// Every incident and maintenance window, newest first, at most `limit`.
    pub fn all_incidents(&self, limit: usize) -> Result<Vec<IncidentView>> {
        let mut v = self.incidents_where("1", [])?;
        v.truncate(limit);
        Ok(v)
    }

    /// Closed incidents and maintenance resolved since `since`, newest first.
    pub fn closed_since(&self, since: Timestamp) -> Result<Vec<IncidentView>> {
        self.incidents_where(
            "i.resolved_at IS NOT NULL AND i.resolved_at >= ?1",
            params![since],
        )
    }

    pub(super) fn incidents_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<IncidentView>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT i.id, i.public_id, i.name, i.status, i.impact, i.maintenance, i.automatic, i.created_at,
                 i.updated_at, i.started_at, i.monitoring_at, i.resolved_at, i.scheduled_for,
                 i.scheduled_until, i.postmortem, i.postmortem_at
             FROM incidents i WHERE {filter} ORDER BY i.created_at DESC, i.id DESC"
        ))?;
        let rows = stmt.query_map(args, |r| {
            Ok((
                Incident {
                    id: r.get(0)?,
                    public_id: r.get(1)?,
                    name: r.get(2)?,
                    status: IncidentStatus::Investigating,
                    impact: Impact::None,
                    maintenance: r.get(5)?,
                    automatic: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                    started_at: r.get(9)?,
                    monitoring_at: r.get(10)?,
                    resolved_at: r.get(11)?,
                    scheduled_for: r.get(12)?,
                    scheduled_until: r.get(13)?,
                    zones: Vec::new(),
                    components: Vec::new(),
                    postmortem: r.get(14)?,
                    postmortem_at: r.get(15)?,
                },
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut incident, status, impact) = row?;
            incident.status = status.parse()?;
            incident.impact = impact.parse()?;
            incident.components = self.affected(incident.id)?;
            incident.zones = self.incident_zones(incident.id)?;
            let updates = self.updates(incident.id)?;
            out.push(IncidentView { incident, updates });
        }
        Ok(out)
    }

    fn affected(&self, incident_id: i64) -> Result<Vec<AffectedComponent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.name, ic.status FROM incident_components ic
             JOIN components c ON c.id = ic.component_id
             WHERE ic.incident_id = ?1 ORDER BY c.position, c.id",
        )?;
        let rows = stmt.query_map(params![incident_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, status) = row?;
            out.push(AffectedComponent {
                id,
                name,
                status: status.parse()?,
            });
        }
        Ok(out)
    }

    fn incident_zones(&self, incident_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT zone FROM incident_zones WHERE incident_id = ?1 ORDER BY zone",
        )?;
        let rows = stmt.query_map(params![incident_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn updates(&self, incident_id: i64) -> Result<Vec<IncidentUpdate>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, status, body, source_kind, source_name, created_at FROM updates
             WHERE incident_id = ?1 ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt.query_map(params![incident_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, status, body, kind, name, created_at) = row?;
            out.push(IncidentUpdate {
                id,
                incident_id,
                status: status.parse()?,
                body,
                source: source_from(&kind, name),
                created_at,
                revisions: self.revisions(id)?,
            });
        }
        Ok(out)
    }

    fn revisions(&self, update_id: i64) -> Result<Vec<Revision>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT body, replaced_at, replaced_by FROM update_revisions WHERE update_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![update_id], |r| {
            Ok(Revision {
                body: r.get(0)?,
                replaced_at: r.get(1)?,
                replaced_by: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Impact from the worst component state.
fn derive_impact(components: &[(i64, ComponentStatus)]) -> Impact {
    components
        .iter()
        .map(|(_, s)| s.impact())
        .max()
        .unwrap_or(Impact::Minor)
        .max(Impact::Minor)
}

fn component_names(tx: &Transaction<'_>) -> Result<HashMap<i64, String>> {
    let mut stmt = tx.prepare_cached("SELECT id, name FROM components")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn insert_update(
    tx: &Transaction<'_>,
    incident_id: i64,
    status: IncidentStatus,
    body: &str,
    source: &UpdateSource,
    now: Timestamp,
) -> Result<i64> {
    let (kind, name) = source_parts(source);
    tx.execute(
        "INSERT INTO updates(incident_id, status, body, source_kind, source_name, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![incident_id, status.as_str(), body, kind, name, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// How far in the past a scheduled maintenance window may start (clock
/// skew between the operator and the server).
const PAST_GRACE: Timestamp = 300;

/// Checks a maintenance window: it ends after it starts and in the future,
/// and one still to start (`scheduled`) does not start in the past.
fn check_window(
    from: Timestamp,
    until: Timestamp,
    status: IncidentStatus,
    now: Timestamp,
) -> Result<()> {
    if until <= from {
        return Err(invalid("scheduled_until", "must be after scheduled_for"));
    }
    if until <= now {
        return Err(invalid(
            "scheduled_until",
            "is in the past; a maintenance window must end in the future",
        ));
    }
    if status == IncidentStatus::Scheduled && from < now - PAST_GRACE {
        return Err(invalid(
            "scheduled_for",
            "is in the past; schedule a window that has begun with status in_progress",
        ));
    }
    Ok(())
}

impl StatusDb {
    /// Moves a maintenance window that is not over; the change is logged
    /// and subscribers are told with an update.
    pub fn reschedule_maintenance(
        &mut self,
        incident_id: i64,
        from: Timestamp,
        until: Timestamp,
        by: &str,
        now: Timestamp,
    ) -> Result<Written> {
        let view = self.incident(incident_id)?;
        let i = &view.incident;
        if !i.maintenance {
            return Err(StatusError::NotFound(format!(
                "maintenance window {incident_id}"
            )));
        }
        if i.status.is_closed() {
            return Err(invalid(
                "status",
                format!("the maintenance window is {}; it cannot be moved", i.status),
            ));
        }
        check_window(from, until, i.status, now)?;
        let tx = self.conn.transaction()?;
        for (field, old, new) in [
            ("scheduled_for", i.scheduled_for, from),
            ("scheduled_until", i.scheduled_until, until),
        ] {
            if old != Some(new) {
                tx.execute(
                    "INSERT INTO incident_edits(incident_id, field, old_value, new_value, edited_at, edited_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![incident_id, field, old.map(|t| t.to_string()), new.to_string(), now, by],
                )?;
            }
        }
        tx.execute(
            "UPDATE incidents SET scheduled_for = ?2, scheduled_until = ?3, updated_at = ?4 WHERE id = ?1",
            params![incident_id, from, until, now],
        )?;
        tx.commit()?;
        self.post_update(
            incident_id,
            &NewUpdate {
                status: i.status,
                body: format!(
                    "Rescheduled: the window is now {} to {}.",
                    crate::engine::clock(from),
                    crate::engine::clock(until)
                ),
                source: UpdateSource::Operator(by.to_owned()),
                impact: None,
                components: None,
            },
            now,
        )
    }

    /// Cancels a maintenance window that is not over: it is completed with
    /// an update saying so (and why, when `reason` is given).
    pub fn cancel_maintenance(
        &mut self,
        incident_id: i64,
        reason: Option<&str>,
        by: &str,
        now: Timestamp,
    ) -> Result<Written> {
        let view = self.incident(incident_id)?;
        if !view.incident.maintenance {
            return Err(StatusError::NotFound(format!(
                "maintenance window {incident_id}"
            )));
        }
        let body = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => format!("Cancelled: {r}"),
            None => "Cancelled: this maintenance will not take place.".to_owned(),
        };
        self.conn.execute(
            "INSERT INTO incident_edits(incident_id, field, old_value, new_value, edited_at, edited_by)
             VALUES (?1, 'cancelled', ?2, 'cancelled', ?3, ?4)",
            params![incident_id, view.incident.status.as_str(), now, by],
        )?;
        self.post_update(
            incident_id,
            &NewUpdate {
                status: IncidentStatus::Completed,
                body,
                source: UpdateSource::Operator(by.to_owned()),
                impact: None,
                components: None,
            },
            now,
        )
    }
}
