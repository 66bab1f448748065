//! The page's settings and the snapshot every rendering reads.

use super::*;

impl StatusDb {
    /// Sets the page's name and public URL.
    pub fn set_page(&mut self, name: &str, url: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (key, value) in [("page_name", name), ("page_url", url.trim_end_matches('/'))] {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )?;
        }
        Self::bump(&tx)?;
        tx.commit()?;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Everything the page shows, as of `now`.
    pub fn snapshot(&self, now: Timestamp) -> Result<PageSnapshot> {
        let components = self
            .components()?
            .into_iter()
            .map(|component| {
                let days = self.uptime(component.id, now)?;
                let up: f64 = days.iter().map(DayUptime::up).sum();
                let counted: u64 = days.iter().map(|d| u64::from(d.counted())).sum();
                // No figure before a day of data: minutes of success are
                // not "100% uptime".
                let uptime_percent = (counted > 0 && now - component.created_at >= 86_400)
                    .then(|| up * 100.0 / counted as f64);
                let last_probes = self.last_probes(component.id)?;
                Ok(ComponentView {
                    component,
                    days,
                    uptime_percent,
                    last_probes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let open_incidents = self.open_incidents()?;
        let maintenances = self.open_maintenance()?;
        let history = {
            let mut h = self.closed_since(now - PAST_INCIDENT_DAYS * 86_400)?;
            if h.len() < 50 {
                // Older incidents too, so /history and the feed are not empty
                // after a quiet fortnight.
                let older = self.incidents_where(
                    "i.resolved_at IS NOT NULL AND i.resolved_at < ?1",
                    params![now - PAST_INCIDENT_DAYS * 86_400],
                )?;
                h.extend(older);
            }
            h.truncate(50);
            h
        };
        let worst = crate::model::user_visible(
            components
                .iter()
                .map(|c| (c.component.kind, c.component.status)),
        );
        // An open incident without a component in trouble is minor, unless
        // it is only monitoring a recovery: then everything works again.
        let indicator = match Indicator::of(worst) {
            Indicator::None
                if open_incidents
                    .iter()
                    .any(|i| i.incident.status != IncidentStatus::Monitoring) =>
            {
                Indicator::Minor
            }
            i => i,
        };
        let updated_at = components
            .iter()
            .map(|c| c.component.updated_at)
            .chain(
                open_incidents
                    .iter()
                    .chain(&maintenances)
                    .chain(&history)
                    .map(|i| i.incident.updated_at),
            )
            .max()
            .unwrap_or(now);
        Ok(PageSnapshot {
            name: self
                .meta("page_name")?
                .unwrap_or_else(|| "Candor status".to_owned()),
            url: self.meta("page_url")?.unwrap_or_default(),
            generated_at: now,
            updated_at,
            indicator,
            components,
            open_incidents,
            maintenances,
            history,
        })
    }
}
