//! Online backups of Candor's SQLite files (the store's and the status
//! page's), taken while a server writes to them.
//!
//! A backup is `VACUUM INTO` on a read-only connection: SQLite copies the
//! database as of one read transaction into a new, compact file, so the
//! copy is consistent without stopping writers (WAL lets them go on) and
//! without copying the write-ahead log separately.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How long the backup waits for a lock (a checkpoint in progress).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a check of a database file found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseCheck {
    /// `PRAGMA user_version`: the schema version.
    pub schema_version: i64,
    /// The size of the file in bytes.
    pub bytes: u64,
}

/// The schema version this build of the store writes and reads.
pub fn store_schema_version() -> i64 {
    crate::db::schema_version()
}

/// Opens a database file read-only.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing(path.to_owned()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Db(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Copies the database at `src` into a new file `dest` (which must not
/// exist) while other connections keep writing, and makes the copy
/// private (0600) and durable. Returns the copy's size.
pub fn backup_database(src: &Path, dest: &Path) -> Result<u64, StoreError> {
    if dest.exists() {
        return Err(StoreError::Db(format!(
            "{} already exists; a backup never overwrites anything",
            dest.display()
        )));
    }
    let conn = open_read_only(src)?;
    let target = dest
        .to_str()
        .ok_or_else(|| StoreError::Db(format!("{} is not valid UTF-8", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| StoreError::Db(format!("cannot back {} up: {e}", src.display())))?;
    let io = |e: std::io::Error| StoreError::Db(format!("{}: {e}", dest.display()));
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    let file = std::fs::File::open(dest).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(file.metadata().map_err(io)?.len())
}

/// Checks a database file: SQLite's integrity check must pass. Returns
/// its schema version and size.
pub fn check_database(path: &Path) -> Result<DatabaseCheck, StoreError> {
    let conn = open_read_only(path)?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| StoreError::Db(format!("{} is not a database: {e}", path.display())))?;
    if verdict != "ok" {
        return Err(StoreError::Db(format!(
            "{} fails SQLite's integrity check: {verdict}",
            path.display()
        )));
    }
    let schema_version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?
        .len();
    Ok(DatabaseCheck {
        schema_version,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::config;
    use crate::{Actor, RecordInput, Store};

    #[test]
    fn a_backup_taken_while_writing_opens_with_every_committed_change() {
        let dir = std::env::temp_dir().join(format!(
            "candor-backup-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("candor.db");
        let store = Store::open(&db, config()).unwrap();
        let actor = Actor {
            token_id: None,
            via: "cli",
            remote: None,
        };
        let account = store.create_account("a@example.org").unwrap().id;
        store.create_zone(account, "example.com", &actor).unwrap();
        let input = |i: usize| RecordInput {
            name: format!("w{i}"),
            rtype: "A".to_owned(),
            content: "192.0.2.1".to_owned(),
            ttl: None,
            priority: None,
            regions: None,
        };
        for i in 0..20 {
            store
                .create_record(account, "example.com", &input(i), &actor)
                .unwrap();
        }
        // The store stays open (its WAL holds the recent writes).
        let copy = dir.join("copy.db");
        let bytes = backup_database(&db, &copy).unwrap();
        assert!(bytes > 0);
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let check = check_database(&copy).unwrap();
        assert_eq!(check.schema_version, store_schema_version());
        let restored = Store::open_existing(&copy, config()).unwrap();
        assert_eq!(
            restored.export_zone_file(account, "example.com").unwrap(),
            store.export_zone_file(account, "example.com").unwrap()
        );
        // Never over an existing file.
        assert!(backup_database(&db, &copy).is_err());
        // Garbage is refused by the check.
        let junk = dir.join("junk.db");
        std::fs::write(&junk, b"not a database at all, not even close to one").unwrap();
        assert!(check_database(&junk).is_err());
        assert!(matches!(
            check_database(&dir.join("missing.db")),
            Err(StoreError::Missing(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
