//! Opening the database: connection settings and schema migrations.
//!
//! The schema version is kept in `PRAGMA user_version`; each migration in
//! [`MIGRATIONS`] moves it up by one inside one transaction. Timestamps are
//! stored as Unix seconds and shown as RFC 3339 by the readers. Ids of
//! accounts, tokens, zones and records are `AUTOINCREMENT`: an id is never
//! given to a second thing, so ids in the journal, the audit log and
//! clients' hands stay unambiguous.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::StoreError;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema, one entry per version: `MIGRATIONS[n]` takes version `n` to
/// `n + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1.
    "
    CREATE TABLE accounts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        secret_hash  BLOB NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
    );
    CREATE INDEX tokens_account ON tokens(account_id);
    CREATE TABLE zones (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name        TEXT NOT NULL UNIQUE,
        serial      INTEGER NOT NULL,
        reverse     INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX zones_account ON zones(account_id, name);
    CREATE TABLE records (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        zone_id     INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        rtype       TEXT NOT NULL,
        rtype_code  INTEGER NOT NULL,
        content     TEXT NOT NULL,
        ttl         INTEGER NOT NULL,
        priority    INTEGER,
        regions     TEXT NOT NULL,
        system      INTEGER NOT NULL,
        rdata       BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX records_identity ON records(zone_id, name, rtype_code, rdata);
    -- Entries are (zone_id, rowid): one zone's records in id order.
    CREATE INDEX records_zone ON records(zone_id);
    CREATE TABLE changes (
        id          INTEGER PRIMARY KEY,
        zone_id     INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        serial      INTEGER NOT NULL,
        action      TEXT NOT NULL,
        record_id   INTEGER NOT NULL,
        name        TEXT NOT NULL,
        rtype       TEXT NOT NULL,
        content     TEXT NOT NULL,
        ttl         INTEGER NOT NULL,
        priority    INTEGER,
        regions     TEXT NOT NULL,
        system      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        at          INTEGER NOT NULL
    );
    CREATE INDEX changes_zone ON changes(zone_id, serial);
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        token_id    INTEGER,
        via         TEXT NOT NULL,
        remote      TEXT,
        action      TEXT NOT NULL,
        target      TEXT NOT NULL,
        detail      TEXT NOT NULL,
        at          INTEGER NOT NULL
    );
    CREATE INDEX audit_account ON audit(account_id, id);
    ",
    // Version 2: users (people), their memberships of accounts, and the
    // user a token acts for.
    "
    CREATE TABLE users (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE memberships (
        account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        PRIMARY KEY (account_id, user_id)
    );
    ALTER TABLE tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
    ",
    // Version 3: run-time settings (e.g. the ALIAS refresh switch).
    "
    CREATE TABLE settings (
        key         TEXT PRIMARY KEY,
        value       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    ",
    // Version 4: records by type. The redirector's URL records and the
    // resolver's ALIAS targets are read after every change; without this
    // each read scanned every record of every zone.
    "
    CREATE INDEX records_type ON records(rtype_code);
    ",
    // Version 5: TSIG keys (RFC 8945) for zone transfers and NOTIFY. The
    // secret must be kept, not hashed: both sides compute MACs with it.
    "
    CREATE TABLE tsig_keys (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        name        TEXT NOT NULL UNIQUE,
        algorithm   TEXT NOT NULL,
        secret      BLOB NOT NULL,
        created_at  INTEGER NOT NULL
    );
    ",
    // Version 6: suspended accounts. Their zones keep being served; their
    // tokens may read but not change anything (see `Store::suspend_account`).
    "
    ALTER TABLE accounts ADD COLUMN suspended_at INTEGER;
    ",
    // Version 7: DNSSEC. A zone with a `dnssec` row has signing enabled;
    // its keys hold their private halves (PKCS#8), like TSIG secrets: the
    // signer needs them, and the file is private to the server's user.
    "
    CREATE TABLE dnssec (
        zone_id     INTEGER PRIMARY KEY REFERENCES zones(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE dnssec_keys (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        zone_id     INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
        algorithm   INTEGER NOT NULL,
        role        TEXT NOT NULL,
        key_tag     INTEGER NOT NULL,
        dnskey      BLOB NOT NULL,
        pkcs8       BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX dnssec_keys_zone ON dnssec_keys(zone_id);
    ",
    // Version 8: DNSSEC key states (docs/dnssec.md, "Rollovers"): RFC
    // 7583's timestamps per key, what the parent was asked for and holds,
    // whether the zone is going unsigned, and the next event `candor
    // serve` expects. Keys made before were published, signing and
    // offered from their creation.
    "
    ALTER TABLE dnssec ADD COLUMN disabling_at INTEGER;
    ALTER TABLE dnssec ADD COLUMN next_event_at INTEGER;
    ALTER TABLE dnssec ADD COLUMN next_event TEXT;
    ALTER TABLE dnssec_keys ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE dnssec_keys ADD COLUMN active_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN retired_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN removed_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN ds_offered_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN ds_withdrawn_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN ds_seen_at INTEGER;
    ALTER TABLE dnssec_keys ADD COLUMN ds_gone_at INTEGER;
    UPDATE dnssec_keys SET published_at = created_at,
        active_at = CASE WHEN role = 'ksk' THEN NULL ELSE created_at END,
        ds_offered_at = CASE WHEN role = 'zsk' THEN NULL ELSE created_at END;
    ",
    // Version 9: the journal by record, for the name an updated record had
    // before (`incremental::journal_names`: another process's writes
    // patched in, not compiled in full; without it, each such lookup
    // scanned the zone's whole journal, ~100 ms at 100,000 records).
    "
    CREATE INDEX changes_record ON changes(record_id, id);
    ",
];

/// The schema version the migrations lead to.
pub(crate) fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating if needed) a database file with durable settings and
/// migrates it.
pub(crate) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, OpenFlags::default())
}

/// Opens a database file that must exist, with durable settings, and
/// migrates it. A missing file is [`StoreError::Missing`]: SQLite's own
/// error for it ("unable to open database file") does not say why.
pub(crate) fn open_existing_file(path: &Path) -> Result<Connection, StoreError> {
    let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(StoreError::Db(format!(
                "{} is not a database file",
                path.display()
            )));
        }
        Err(e) if missing(&e) => return Err(StoreError::Missing(path.to_owned())),
        Err(e) => {
            return Err(StoreError::Db(format!(
                "cannot open {}: {e}",
                path.display()
            )));
        }
    }
    // Without SQLITE_OPEN_CREATE, a file removed since the check above is
    // an error rather than a new, empty store.
    open_with(
        path,
        OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE),
    )
    .map_err(|e| match std::fs::metadata(path) {
        Err(io) if missing(&io) => StoreError::Missing(path.to_owned()),
        _ => e,
    })
}

/// Opens a database file with `flags`, durable settings, and migrates it.
fn open_with(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Db(format!("cannot open {}: {e}", path.display())))?;
    // Readable by its owner only (it holds TSIG secrets and token hashes),
    // before WAL mode makes the `-wal` and `-shm` files, which copy its
    // mode; as the status database does.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::Db(format!("cannot restrict {}: {e}", path.display())))?;
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Db(format!(
            "cannot switch {} to WAL mode (got {mode})",
            path.display()
        )));
    }
    configure(conn)
}

/// Opens an in-memory database and creates the schema.
pub(crate) fn open_memory() -> Result<Connection, StoreError> {
    configure(Connection::open_in_memory()?)
}

/// Applies the per-connection settings and migrates the schema.
fn configure(mut conn: Connection) -> Result<Connection, StoreError> {
    // FULL: a commit is on disk (WAL fsynced) before it is acknowledged.
    // The larger page cache keeps big imports from spilling early.
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Runs the migrations the database has not seen yet.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let latest = MIGRATIONS.len() as i64;
    // Most opens find the schema current: they need no write lock (a CLI
    // command must not queue behind a busy server's writes just to open).
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current == latest {
        return Ok(());
    }
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version > latest {
            return Err(StoreError::Db(format!(
                "the database has schema version {version}, newer than this build knows ({latest})"
            )));
        }
        let Some(step) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(step)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))?;
        tx.commit()?;
    }
}

/// Whether an error is a UNIQUE (or other constraint) violation.
pub(crate) fn is_constraint(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

/// The schema version the code creates.
#[cfg(test)]
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}
