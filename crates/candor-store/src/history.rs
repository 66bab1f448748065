//! The change journal (one entry per changed record and serial) and the
//! audit log (one entry per operation: who, what, when).

use rusqlite::{Connection, params};

use crate::query::PageSpec;
use crate::records::record_from_row;
use crate::time::rfc3339;
use crate::{Actor, AuditEntry, AuditQuery, ChangeEntry, Page, Store, StoreError, zones};

/// What a journal entry says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// The record was created.
    Create,
    /// The record was changed.
    Update,
    /// The record was deleted.
    Delete,
}

impl Action {
    /// The stored and shown form.
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Journals the record as it is now (call before deleting it).
pub(crate) fn journal(
    conn: &Connection,
    record_id: i64,
    serial: u32,
    action: Action,
    at: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO changes (zone_id, serial, action, record_id, name, rtype, content, ttl,
                              priority, regions, system, created_at, updated_at, at)
         SELECT zone_id, ?2, ?3, id, name, rtype, content, ttl,
                priority, regions, system, created_at, updated_at, ?4
         FROM records WHERE id = ?1",
    )?;
    stmt.execute(params![record_id, serial, action.as_str(), at])?;
    Ok(())
}

/// Journals the creation of every non-system record of a zone whose id
/// is larger than `after` (the rows an import just inserted) at once.
pub(crate) fn journal_created_after(
    conn: &Connection,
    zone_id: i64,
    after: i64,
    serial: u32,
    at: i64,
) -> Result<usize, StoreError> {
    let n = conn.execute(
        "INSERT INTO changes (zone_id, serial, action, record_id, name, rtype, content, ttl,
                              priority, regions, system, created_at, updated_at, at)
         SELECT zone_id, ?3, ?4, id, name, rtype, content, ttl,
                priority, regions, system, created_at, updated_at, ?5
         FROM records WHERE zone_id = ?1 AND system = 0 AND id > ?2 ORDER BY id",
        params![zone_id, after, serial, Action::Create.as_str(), at],
    )?;
    Ok(n)
}

/// What an audit entry records about an operation.
pub(crate) struct Audit<'a> {
    /// The account whose data changed.
    pub(crate) account_id: i64,
    /// Who did it.
    pub(crate) actor: &'a Actor,
    /// What was done (`"zone.create"`).
    pub(crate) action: &'a str,
    /// What it was done to.
    pub(crate) target: &'a str,
    /// A summary.
    pub(crate) detail: &'a str,
    /// When.
    pub(crate) at: i64,
}

/// Writes an audit entry.
pub(crate) fn audit(conn: &Connection, entry: &Audit<'_>) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO audit (account_id, token_id, via, remote, action, target, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        entry.account_id,
        entry.actor.token_id,
        entry.actor.via,
        entry.actor.remote,
        entry.action,
        entry.target,
        entry.detail,
        entry.at
    ])?;
    Ok(())
}

impl Store {
    /// The journal of a zone after `since_serial` (entries with a greater
    /// serial), oldest first.
    pub fn changes(
        &self,
        account_id: i64,
        zone: &str,
        since_serial: u32,
    ) -> Result<Vec<ChangeEntry>, StoreError> {
        self.read(|tx| {
            let z = zones::find_zone(tx, account_id, zone)?;
            let mut stmt = tx.prepare(
                "SELECT record_id, name, content, ttl, priority, rtype, regions, system,
                        created_at, updated_at, serial, action, at
                 FROM changes WHERE zone_id = ?1 AND serial > ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![z.id, since_serial], |row| {
                Ok(ChangeEntry {
                    record: record_from_row(row, &z.name)?,
                    serial: row.get(10)?,
                    action: row.get(11)?,
                    at: rfc3339(row.get(12)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// An account's audit log, newest first.
    pub fn audit_log(
        &self,
        account_id: i64,
        page: u32,
        per_page: u32,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.audit(&AuditQuery {
            account_id: Some(account_id),
            since: None,
            page,
            per_page,
        })
    }

    /// Audit entries, newest first: of one account (which must exist) or
    /// of every account, optionally only those at or after a time. Each
    /// entry names the token and the user it acted for, if any.
    pub fn audit(&self, q: &AuditQuery) -> Result<Page<AuditEntry>, StoreError> {
        let spec = PageSpec::new(q.page, q.per_page).map_err(StoreError::Invalid)?;
        self.read(|tx| {
            if let Some(account) = q.account_id {
                crate::accounts::account_exists(tx, account)?;
            }
            // NULL parameters match everything.
            let filter = "(?1 IS NULL OR a.account_id = ?1) AND (?2 IS NULL OR a.at >= ?2)";
            let total: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM audit a WHERE {filter}"),
                params![q.account_id, q.since],
                |r| r.get(0),
            )?;
            let mut stmt = tx.prepare(&format!(
                "SELECT a.id, a.account_id, a.token_id, a.via, a.remote, a.action, a.target,
                        a.detail, a.at, t.name, u.email
                 FROM audit a
                 LEFT JOIN tokens t ON t.id = a.token_id
                 LEFT JOIN users u ON u.id = t.user_id
                 WHERE {filter} ORDER BY a.id DESC LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(
                params![q.account_id, q.since, spec.limit(), spec.offset()],
                |row| {
                    Ok(AuditEntry {
                        id: row.get(0)?,
                        account_id: row.get(1)?,
                        token_id: row.get(2)?,
                        via: row.get(3)?,
                        remote: row.get(4)?,
                        action: row.get(5)?,
                        target: row.get(6)?,
                        detail: row.get(7)?,
                        at: rfc3339(row.get(8)?),
                        token_name: row.get(9)?,
                        user_email: row.get(10)?,
                    })
                },
            )?;
            let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(spec.wrap(items, u64::try_from(total).unwrap_or(0)))
        })
    }
}
