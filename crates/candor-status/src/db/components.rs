//! Components, their shown states, the uptime history and the latest probes.

use super::*;

impl StatusDb {
    /// Makes the configured components exist, in this order; components
    /// no longer configured are retired (hidden; their history is kept).
    pub fn sync_components(
        &mut self,
        specs: &[ComponentSpec],
        now: Timestamp,
    ) -> Result<Vec<Component>> {
        let tx = self.conn.transaction()?;
        for (position, spec) in specs.iter().enumerate() {
            tx.execute(
                "INSERT INTO components(key, name, location, description, kind, status, position, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'operational', ?6, ?7, ?7)
                 ON CONFLICT(key) DO UPDATE SET name = ?2, location = ?3, description = ?4,
                     kind = ?5, position = ?6, retired_at = NULL",
                params![
                    spec.key,
                    spec.name,
                    spec.location,
                    spec.description,
                    spec.kind.as_str(),
                    position as i64,
                    now
                ],
            )?;
        }
        let keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
        let mut retire = Vec::new();
        {
            let mut stmt = tx.prepare("SELECT id, key FROM components WHERE retired_at IS NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (id, key) = row?;
                if !keys.contains(&key.as_str()) {
                    retire.push(id);
                }
            }
        }
        for id in retire {
            tx.execute(
                "UPDATE components SET retired_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
        }
        Self::bump(&tx)?;
        tx.commit()?;
        self.components()
    }

    /// The components on the page, in order.
    pub fn components(&self) -> Result<Vec<Component>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, key, name, location, description, kind, status, position, created_at, updated_at
             FROM components WHERE retired_at IS NULL ORDER BY position, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                Component {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    name: r.get(2)?,
                    location: r.get(3)?,
                    description: r.get(4)?,
                    kind: ComponentKind::Other,
                    status: ComponentStatus::Operational,
                    position: r.get(7)?,
                    created_at: r.get(8)?,
                    updated_at: r.get(9)?,
                },
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut c, kind, status) = row?;
            c.kind = kind.parse()?;
            c.status = status.parse()?;
            out.push(c);
        }
        Ok(out)
    }

    /// Sets the shown states of components (those whose state changes).
    pub fn set_component_status(
        &mut self,
        states: &[(i64, ComponentStatus)],
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        for (id, status) in states {
            changed += tx.execute(
                "UPDATE components SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status <> ?2",
                params![id, status.as_str(), now],
            )?;
        }
        if changed > 0 {
            Self::bump(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Counts one probe round for each component, in the uptime history
    /// of the day `now` falls on.
    pub fn record_round(
        &mut self,
        states: &[(i64, ComponentStatus)],
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let day = day_of(now);
        for (id, status) in states {
            let column = match status {
                ComponentStatus::Operational => "ok",
                ComponentStatus::DegradedPerformance => "degraded",
                ComponentStatus::PartialOutage => "partial",
                ComponentStatus::MajorOutage => "major",
                ComponentStatus::UnderMaintenance => "maintenance",
            };
            tx.execute(
                &format!(
                    "INSERT INTO uptime(component_id, day, {column}) VALUES (?1, ?2, 1)
                     ON CONFLICT(component_id, day) DO UPDATE SET {column} = {column} + 1"
                ),
                params![id, day],
            )?;
        }
        // Older history than the page shows is not kept.
        tx.execute(
            "DELETE FROM uptime WHERE day < ?1",
            params![day - HISTORY_DAYS - 1],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps each probe as the latest of its component and vantage point,
    /// and adds the successful ones' round-trip times to the day's mean.
    pub fn record_probes(&mut self, probes: &[ProbeResult]) -> Result<()> {
        let tx = self.conn.transaction()?;
        for p in probes {
            tx.execute(
                "INSERT INTO last_probes(component_id, vantage, at, latency_ms, error)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(component_id, vantage) DO UPDATE SET at = ?3, latency_ms = ?4, error = ?5",
                params![p.component_id, p.vantage, p.at, p.latency_ms, p.error],
            )?;
            if let Some(ms) = p.latency_ms {
                tx.execute(
                    "INSERT INTO uptime(component_id, day, latency_sum, latency_n) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT(component_id, day) DO UPDATE SET
                         latency_sum = latency_sum + ?3, latency_n = latency_n + 1",
                    params![p.component_id, day_of(p.at), ms],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The latest probes of a component, by vantage point name.
    pub fn last_probes(&self, component_id: i64) -> Result<Vec<ProbeResult>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT vantage, at, latency_ms, error FROM last_probes WHERE component_id = ?1 ORDER BY vantage",
        )?;
        let rows = stmt.query_map(params![component_id], |r| {
            Ok(ProbeResult {
                component_id,
                vantage: r.get(0)?,
                at: r.get(1)?,
                latency_ms: r.get(2)?,
                error: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The last [`HISTORY_DAYS`] days of a component, oldest first.
    pub fn uptime(&self, component_id: i64, now: Timestamp) -> Result<Vec<DayUptime>> {
        let today = day_of(now);
        let first = today - HISTORY_DAYS + 1;
        let mut days: Vec<DayUptime> = (first..=today)
            .map(|day| DayUptime {
                day,
                ..DayUptime::default()
            })
            .collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT day, ok, degraded, partial, major, maintenance, latency_sum, latency_n FROM uptime
             WHERE component_id = ?1 AND day BETWEEN ?2 AND ?3",
        )?;
        let rows = stmt.query_map(params![component_id, first, today], |r| {
            Ok(DayUptime {
                day: r.get(0)?,
                ok: r.get(1)?,
                degraded: r.get(2)?,
                partial: r.get(3)?,
                major: r.get(4)?,
                maintenance: r.get(5)?,
                latency_ms: {
                    let (sum, n): (i64, i64) = (r.get(6)?, r.get(7)?);
                    (n > 0).then(|| u32::try_from(sum / n).unwrap_or(u32::MAX))
                },
            })
        })?;
        for row in rows {
            let d = row?;
            if let Some(slot) = usize::try_from(d.day - first)
                .ok()
                .and_then(|i| days.get_mut(i))
            {
                *slot = d;
            }
        }
        Ok(days)
    }
}
