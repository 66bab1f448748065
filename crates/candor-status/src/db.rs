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
    Indicator, Message, MessageKind, PageSnapshot, ProbeResult, Revision, Subscriber, Timestamp,
    UnknownName, UpdateSource,
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

mod components;
mod incidents;
mod notices;
mod outbox;
mod page;
mod public;
mod schema;
mod subscribers;

pub use outbox::OutboxCount;
pub use public::{PublicEmail, UNCONFIRMED_TTL};
use schema::MIGRATIONS;
pub use subscribers::MAX_SUBSCRIPTIONS;

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
        // Transactions take the write lock when they begin, so one that
        // reads and then writes waits (busy timeout) for another process's
        // writer instead of failing at once with "database is locked"
        // (SQLite cannot upgrade a deferred read once another writer
        // committed): the CLI writes beside a running server.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
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
}
