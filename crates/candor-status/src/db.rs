//! The status page's durable state, in a SQLite file of its own (WAL,
//! `synchronous=FULL`), apart from the zone store: monitor writes every few
//! seconds never wait on zone writes, and the page can be read while the
//! zone store is busy.
//!
//! Every change that subscribers must hear of writes its deliveries into
//! the outbox in the same transaction, so an acknowledged incident update
//! is never lost to a crash: the delivery loop picks them up after a
//! restart. Nothing posted is deleted: edits keep the earlier wording.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::model::{
    AffectedComponent, Channel, Component, ComponentKind, ComponentStatus, ComponentView,
    DayUptime, Delivery, Event, Impact, Incident, IncidentStatus, IncidentUpdate, IncidentView,
    Indicator, PageSnapshot, ProbeResult, Revision, Subscriber, Timestamp, UnknownName,
    UpdateSource,
};

#[cfg(test)]
mod tests;

/// Days of uptime history shown and kept.
pub const HISTORY_DAYS: i64 = 90;

/// Days of closed incidents on the page's history.
pub const PAST_INCIDENT_DAYS: i64 = 14;

/// What can go wrong.
#[derive(Debug)]
pub enum StatusError {
    /// SQLite failed.
    Db(rusqlite::Error),
    /// No such incident, update, component or subscriber.
    NotFound(String),
    /// The request is not valid; the field and the reason.
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A stored value no longer parses (a newer version wrote it).
    Corrupt(UnknownName),
    /// There is no database file at this path, and it was opened with
    /// [`StatusDb::open_existing`], which creates none.
    Missing(PathBuf),
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Db(e) => write!(f, "status database: {e}"),
            Self::NotFound(what) => write!(f, "{what} not found"),
            Self::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            Self::Corrupt(e) => write!(f, "status database holds an {e}"),
            Self::Missing(path) => write!(f, "no status database at {}", path.display()),
        }
    }
}

impl std::error::Error for StatusError {}

impl From<rusqlite::Error> for StatusError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Db(e)
    }
}

impl From<UnknownName> for StatusError {
    fn from(e: UnknownName) -> Self {
        Self::Corrupt(e)
    }
}

/// Short for results of this module.
pub type Result<T, E = StatusError> = std::result::Result<T, E>;

fn invalid(field: &'static str, reason: impl Into<String>) -> StatusError {
    StatusError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The schema, applied in order; `PRAGMA user_version` counts the ones done.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE components (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    location TEXT,
    description TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE TABLE uptime (
    component_id INTEGER NOT NULL REFERENCES components(id),
    day INTEGER NOT NULL,
    ok INTEGER NOT NULL DEFAULT 0,
    degraded INTEGER NOT NULL DEFAULT 0,
    partial INTEGER NOT NULL DEFAULT 0,
    major INTEGER NOT NULL DEFAULT 0,
    maintenance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (component_id, day)
) WITHOUT ROWID;
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    maintenance INTEGER NOT NULL,
    automatic INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    monitoring_at INTEGER,
    resolved_at INTEGER,
    scheduled_for INTEGER,
    scheduled_until INTEGER,
    postmortem TEXT,
    postmortem_at INTEGER
);
CREATE INDEX incidents_open ON incidents(resolved_at);
CREATE TABLE incident_components (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    component_id INTEGER NOT NULL REFERENCES components(id),
    status TEXT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
) WITHOUT ROWID;
CREATE TABLE incident_zones (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    zone TEXT NOT NULL,
    PRIMARY KEY (incident_id, zone)
) WITHOUT ROWID;
CREATE TABLE incident_edits (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    edited_at INTEGER NOT NULL,
    edited_by TEXT NOT NULL
);
CREATE TABLE updates (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_name TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX updates_incident ON updates(incident_id);
CREATE TABLE update_revisions (
    id INTEGER PRIMARY KEY,
    update_id INTEGER NOT NULL REFERENCES updates(id),
    body TEXT NOT NULL,
    replaced_at INTEGER NOT NULL,
    replaced_by TEXT NOT NULL
);
CREATE INDEX update_revisions_update ON update_revisions(update_id);
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    account_id INTEGER,
    created_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    disabled_at INTEGER,
    removed_at INTEGER
);
CREATE TABLE subscriber_zones (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    zone TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, zone)
) WITHOUT ROWID;
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    update_id INTEGER NOT NULL REFERENCES updates(id),
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    abandoned_at INTEGER
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE delivered_at IS NULL AND abandoned_at IS NULL;
",
    r"
ALTER TABLE uptime ADD COLUMN latency_sum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE uptime ADD COLUMN latency_n INTEGER NOT NULL DEFAULT 0;
CREATE TABLE last_probes (
    component_id INTEGER NOT NULL REFERENCES components(id),
    vantage TEXT NOT NULL,
    at INTEGER NOT NULL,
    latency_ms INTEGER,
    error TEXT,
    PRIMARY KEY (component_id, vantage)
) WITHOUT ROWID;
",
];

/// A component as the configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentSpec {
    /// Stable key (`ns:ADDR`, `api`, `redirector`).
    pub key: String,
    /// Shown name.
    pub name: String,
    /// Location label.
    pub location: Option<String>,
    /// One line of description.
    pub description: Option<String>,
    /// Kind.
    pub kind: ComponentKind,
}

/// A new incident or maintenance window.
#[derive(Clone, Debug, PartialEq)]
pub struct NewIncident {
    /// Title.
    pub name: String,
    /// Initial status: `investigating`/`identified`/`monitoring` for
    /// incidents, `scheduled`/`in_progress` for maintenance.
    pub status: IncidentStatus,
    /// Impact; `None` derives it from the components' states.
    pub impact: Option<Impact>,
    /// Opened by the monitors.
    pub automatic: bool,
    /// When the trouble started (defaults to now).
    pub started_at: Option<Timestamp>,
    /// Maintenance window start (makes it a maintenance window).
    pub scheduled_for: Option<Timestamp>,
    /// Maintenance window end.
    pub scheduled_until: Option<Timestamp>,
    /// Component ids and the state the incident gives each.
    pub components: Vec<(i64, ComponentStatus)>,
    /// Zones named as affected.
    pub zones: Vec<String>,
    /// The first update's text.
    pub body: String,
    /// Who opens it.
    pub source: UpdateSource,
}

/// A new update on an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUpdate {
    /// The status it sets.
    pub status: IncidentStatus,
    /// Text.
    pub body: String,
    /// Who posts it.
    pub source: UpdateSource,
    /// New impact, if it changes.
    pub impact: Option<Impact>,
    /// New component states (replacing the affected list), if they change.
    pub components: Option<Vec<(i64, ComponentStatus)>>,
}

/// What a write did; the caller wakes the delivery loop and re-renders.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The incident as it now is.
    pub incident: IncidentView,
    /// Deliveries queued by the write.
    pub queued: usize,
}

/// The status database.
pub struct StatusDb {
    conn: Connection,
}

impl fmt::Debug for StatusDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusDb").finish_non_exhaustive()
    }
}

/// Current time in Unix seconds.
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The day (since 1970-01-01, UTC) a timestamp falls on.
pub fn day_of(ts: Timestamp) -> i64 {
    ts.div_euclid(86_400)
}

/// `n` random lower-case letters and digits.
pub fn random_id(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    // The OS generator failing leaves zeros; ids then collide on UNIQUE
    // and the write fails loudly rather than silently.
    let _ = getrandom::getrandom(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn source_parts(source: &UpdateSource) -> (&'static str, Option<&str>) {
    match source {
        UpdateSource::Monitor => ("monitor", None),
        UpdateSource::Mitigation => ("mitigation", None),
        UpdateSource::Operator(name) => ("operator", Some(name.as_str())),
    }
}

fn source_from(kind: &str, name: Option<String>) -> UpdateSource {
    match kind {
        "monitor" => UpdateSource::Monitor,
        "mitigation" => UpdateSource::Mitigation,
        _ => UpdateSource::Operator(name.unwrap_or_default()),
    }
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if text.len() > max {
        return Err(invalid(field, format!("longer than {max} bytes")));
    }
    Ok(())
}

fn check_zone(zone: &str) -> Result<String> {
    let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
    if zone.is_empty()
        || zone.len() > 253
        || !zone.split('.').all(|l| !l.is_empty() && l.len() <= 63)
    {
        return Err(invalid("zones", format!("{zone:?} is not a domain name")));
    }
    Ok(zone)
}

impl StatusDb {
    /// Opens (creating if needed) the database at `path`. The file (and
    /// with it SQLite's `-wal` and `-shm` files, which copy its mode) is
    /// readable by its owner only: it holds the webhook signing secrets.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, OpenFlags::default())
    }

    /// Opens the database at `path`, which must exist (it is
    /// [`StatusError::Missing`] if not); nothing is created. For tools that
    /// work on the database a server made, where a missing file means a
    /// wrong path.
    pub fn open_existing(path: &Path) -> Result<Self> {
        let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(invalid(
                    "database",
                    format!("{} is not a database file", path.display()),
                ));
            }
            Err(e) if missing(&e) => return Err(StatusError::Missing(path.to_owned())),
            Err(e) => {
                return Err(invalid(
                    "database",
                    format!("cannot open {}: {e}", path.display()),
                ));
            }
        }
        // Without SQLITE_OPEN_CREATE, a file removed since the check above
        // is an error rather than a new, empty database.
        let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
        Self::open_with(path, flags).map_err(|e| match std::fs::metadata(path) {
            Err(io) if missing(&io) => StatusError::Missing(path.to_owned()),
            _ => e,
        })
    }

    /// [`StatusDb::open`] with SQLite's open `flags`.
    fn open_with(path: &Path, flags: OpenFlags) -> Result<Self> {
        let conn = Connection::open_with_flags(path, flags)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| {
                    invalid(
                        "database",
                        format!("cannot restrict {}: {e}", path.display()),
                    )
                },
            )?;
        }
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Self::init(conn)
    }

    /// An in-memory database, for tests.
    pub fn open_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let done = usize::try_from(version).unwrap_or(0);
        if done > MIGRATIONS.len() {
            return Err(invalid(
                "database",
                format!("schema version {version} is newer than this Candor knows"),
            ));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(Self { conn })
    }

    /// A number that changes whenever anyone (this process or the CLI)
    /// commits a change: the page is re-rendered when it moves.
    pub fn generation(&self) -> Result<i64> {
        let ours: i64 = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(ours)
    }

    fn bump(tx: &Transaction<'_>) -> Result<()> {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1')
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [],
        )?;
        Ok(())
    }

    // ---- components -------------------------------------------------

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

    // ---- incidents --------------------------------------------------

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
            if until <= from {
                return Err(invalid("scheduled_until", "must be after scheduled_for"));
            }
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
        let queued = queue_deliveries(&tx, id, update_id, Event::IncidentCreated, now)?;
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
        let queued = queue_deliveries(&tx, incident_id, update_id, event, now)?;
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

    fn incidents_where(
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

    // ---- the page ---------------------------------------------------

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
                let uptime_percent = (counted > 0).then(|| up * 100.0 / counted as f64);
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
        let worst = components.iter().map(|c| c.component.status).max();
        let indicator = match worst {
            Some(ComponentStatus::MajorOutage) => Indicator::Critical,
            Some(ComponentStatus::PartialOutage) => Indicator::Major,
            Some(ComponentStatus::DegradedPerformance | ComponentStatus::UnderMaintenance) => {
                Indicator::Minor
            }
            _ if !open_incidents.is_empty() => Indicator::Minor,
            _ => Indicator::None,
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

    // ---- subscribers and deliveries ------------------------------------

    /// Adds a subscriber. A webhook URL must be http(s); an address must
    /// look like one. Zones are lower-cased without the final dot.
    pub fn add_subscriber(
        &mut self,
        channel: &Channel,
        account_id: Option<i64>,
        zones: &[String],
        now: Timestamp,
    ) -> Result<Subscriber> {
        let zones = zones
            .iter()
            .map(|z| check_zone(z))
            .collect::<Result<Vec<_>>>()?;
        let (kind, target, secret) = match channel {
            Channel::Webhook { url, secret } => {
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://"))
                    || url.len() < 10
                {
                    return Err(invalid("url", "must be an http:// or https:// URL"));
                }
                if url.len() > 2000 || url.chars().any(char::is_whitespace) {
                    return Err(invalid(
                        "url",
                        "must be at most 2000 characters, without spaces",
                    ));
                }
                if secret.len() < 16 {
                    return Err(invalid("secret", "must be at least 16 characters"));
                }
                ("webhook", url.as_str(), Some(secret.as_str()))
            }
            Channel::Email { address } => {
                let ok = address.len() <= 254
                    && address.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                    })
                    && !address
                        .chars()
                        .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',');
                if !ok {
                    return Err(invalid(
                        "email",
                        format!("{address:?} is not an e-mail address"),
                    ));
                }
                ("email", address.as_str(), None)
            }
        };
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO subscribers(kind, target, secret, account_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![kind, target, secret, account_id, now],
        )?;
        let id = tx.last_insert_rowid();
        for zone in &zones {
            tx.execute(
                "INSERT OR IGNORE INTO subscriber_zones(subscriber_id, zone) VALUES (?1, ?2)",
                params![id, zone],
            )?;
        }
        tx.commit()?;
        self.subscriber(id)
    }

    /// One subscriber (also removed ones, whose deliveries may be pending).
    pub fn subscriber(&self, id: i64) -> Result<Subscriber> {
        self.subscribers_where("id = ?1", params![id])?
            .pop()
            .ok_or_else(|| StatusError::NotFound(format!("subscriber {id}")))
    }

    /// Subscribers of an account (`None`: the operator's own), not removed.
    pub fn subscribers(&self, account_id: Option<i64>) -> Result<Vec<Subscriber>> {
        match account_id {
            Some(a) => self.subscribers_where("account_id = ?1 AND removed_at IS NULL", params![a]),
            None => self.subscribers_where("removed_at IS NULL", []),
        }
    }

    fn subscribers_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Subscriber>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, kind, target, secret, account_id, created_at, failures, disabled_at
             FROM subscribers WHERE {filter} ORDER BY id"
        ))?;
        let rows = stmt.query_map(args, |r| {
            let kind: String = r.get(1)?;
            let target: String = r.get(2)?;
            let channel = if kind == "webhook" {
                Channel::Webhook {
                    url: target,
                    secret: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                }
            } else {
                Channel::Email { address: target }
            };
            Ok(Subscriber {
                id: r.get(0)?,
                channel,
                account_id: r.get(4)?,
                zones: Vec::new(),
                created_at: r.get(5)?,
                failures: r.get(6)?,
                disabled_at: r.get(7)?,
            })
        })?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT zone FROM subscriber_zones WHERE subscriber_id = ?1 ORDER BY zone",
        )?;
        for s in &mut out {
            s.zones = stmt
                .query_map(params![s.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(out)
    }

    /// Removes a subscriber (scoped to `account_id` when given). Pending
    /// deliveries to it are abandoned.
    pub fn remove_subscriber(
        &mut self,
        id: i64,
        account_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE subscribers SET removed_at = ?3
             WHERE id = ?1 AND removed_at IS NULL AND (?2 IS NULL OR account_id = ?2)",
            params![id, account_id, now],
        )?;
        if n == 0 {
            return Err(StatusError::NotFound(format!("subscriber {id}")));
        }
        tx.execute(
            "UPDATE deliveries SET abandoned_at = ?2, last_error = 'subscriber removed'
             WHERE subscriber_id = ?1 AND delivered_at IS NULL AND abandoned_at IS NULL",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Re-enables a subscriber disabled after failures.
    pub fn enable_subscriber(&mut self, id: i64, account_id: Option<i64>) -> Result<Subscriber> {
        let n = self.conn.execute(
            "UPDATE subscribers SET disabled_at = NULL, failures = 0
             WHERE id = ?1 AND removed_at IS NULL AND (?2 IS NULL OR account_id = ?2)",
            params![id, account_id],
        )?;
        if n == 0 {
            return Err(StatusError::NotFound(format!("subscriber {id}")));
        }
        self.subscriber(id)
    }

    /// Deliveries due at `now`, oldest first, with their subscribers.
    pub fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Delivery, Subscriber)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, subscriber_id, incident_id, update_id, event, attempts, next_attempt_at,
                 delivered_at, last_error, abandoned_at
             FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], delivery_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut delivery, event) = row?;
            delivery.event = event.parse()?;
            let subscriber = self.subscriber(delivery.subscriber_id)?;
            out.push((delivery, subscriber));
        }
        Ok(out)
    }

    /// The earliest time a pending delivery falls due.
    pub fn next_due(&self) -> Result<Option<Timestamp>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every delivery of an incident (for tests and the CLI).
    pub fn deliveries(&self, incident_id: i64) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, subscriber_id, incident_id, update_id, event, attempts, next_attempt_at,
                 delivered_at, last_error, abandoned_at
             FROM deliveries WHERE incident_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![incident_id], delivery_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut delivery, event) = row?;
            delivery.event = event.parse()?;
            out.push(delivery);
        }
        Ok(out)
    }

    /// Marks a delivery done; the subscriber's failure count restarts.
    pub fn delivery_succeeded(&mut self, id: i64, now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        tx.execute(
            "UPDATE subscribers SET failures = 0 WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
            params![id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt. `retry_at` is when to try again, `None`
    /// to give up on this delivery (a permanent failure). With `disable`
    /// the subscriber is switched off and its pending deliveries abandoned.
    pub fn delivery_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        disable: bool,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2,
                 next_attempt_at = COALESCE(?3, next_attempt_at),
                 abandoned_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE NULL END
             WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        let subscriber: i64 = tx.query_row(
            "SELECT subscriber_id FROM deliveries WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE subscribers SET failures = failures + 1 WHERE id = ?1",
            params![subscriber],
        )?;
        if disable {
            tx.execute(
                "UPDATE subscribers SET disabled_at = ?2 WHERE id = ?1 AND disabled_at IS NULL",
                params![subscriber, now],
            )?;
            tx.execute(
                "UPDATE deliveries SET abandoned_at = ?2, last_error = COALESCE(last_error, 'subscriber disabled')
                 WHERE subscriber_id = ?1 AND delivered_at IS NULL AND abandoned_at IS NULL",
                params![subscriber, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

type DeliveryRow = (Delivery, String);

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok((
        Delivery {
            id: r.get(0)?,
            key: r.get(1)?,
            subscriber_id: r.get(2)?,
            incident_id: r.get(3)?,
            update_id: r.get(4)?,
            event: Event::IncidentCreated,
            attempts: r.get(6)?,
            next_attempt_at: r.get(7)?,
            delivered_at: r.get(8)?,
            last_error: r.get(9)?,
            abandoned_at: r.get(10)?,
        },
        r.get(5)?,
    ))
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

/// Queues one delivery per subscriber that wants to hear of this incident:
/// enabled, not removed, and either without a zone filter or sharing a zone
/// with the incident (an incident naming no zone affects every zone).
fn queue_deliveries(
    tx: &Transaction<'_>,
    incident_id: i64,
    update_id: i64,
    event: Event,
    now: Timestamp,
) -> Result<usize> {
    let subscribers: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT s.id FROM subscribers s
             WHERE s.removed_at IS NULL AND s.disabled_at IS NULL AND (
                 NOT EXISTS (SELECT 1 FROM subscriber_zones sz WHERE sz.subscriber_id = s.id)
                 OR NOT EXISTS (SELECT 1 FROM incident_zones iz WHERE iz.incident_id = ?1)
                 OR EXISTS (SELECT 1 FROM subscriber_zones sz JOIN incident_zones iz ON iz.zone = sz.zone
                            WHERE sz.subscriber_id = s.id AND iz.incident_id = ?1))
             ORDER BY s.id",
        )?;
        let rows = stmt.query_map(params![incident_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for subscriber in &subscribers {
        tx.execute(
            "INSERT INTO deliveries(key, subscriber_id, incident_id, update_id, event, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![random_id(24), subscriber, incident_id, update_id, event.as_str(), now],
        )?;
    }
    Ok(subscribers.len())
}
