//! Records: validation of user input into candidate records, and the
//! create, read, update, delete and batch operations.

use std::collections::HashSet;

use candor_wire::{Name, Rtype};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter, types::Value};

use crate::compile::{input_owner_name, owner_name};
use crate::content::{self, relative_name};
use crate::history::{self, Action, Audit};
use crate::query::{self, PageSpec};
use crate::time::{now, rfc3339};
use crate::zones::{self, ZoneRow};
use crate::{
    Actor, FieldError, Page, RecordBatch, RecordInfo, RecordInput, RecordPatch, RecordQuery, Store,
    StoreError, ZoneChange, db, incremental,
};

/// Columns read by [`record_from_row`], in its order.
pub(crate) const RECORD_COLUMNS: &str =
    "id, name, content, ttl, priority, rtype, regions, system, created_at, updated_at";

/// Reads a record from a row whose first ten columns are
/// [`RECORD_COLUMNS`] (the journal has the same layout).
pub(crate) fn record_from_row(row: &Row<'_>, zone_name: &str) -> rusqlite::Result<RecordInfo> {
    let regions: String = row.get(6)?;
    Ok(RecordInfo {
        id: row.get(0)?,
        zone_name: zone_name.to_owned(),
        name: row.get(1)?,
        content: row.get(2)?,
        ttl: row.get(3)?,
        priority: row.get(4)?,
        rtype: row.get(5)?,
        regions: content::regions_list(&regions),
        system_record: row.get(7)?,
        created_at: rfc3339(row.get(8)?),
        updated_at: rfc3339(row.get(9)?),
    })
}

/// A record that passed the field checks, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// The owner relative to the zone, normalized.
    pub(crate) name: String,
    /// The type.
    pub(crate) rtype: Rtype,
    /// The canonical content.
    pub(crate) content: String,
    /// The TTL.
    pub(crate) ttl: u32,
    /// The priority (MX and SRV only).
    pub(crate) priority: Option<u16>,
    /// Stored regions.
    pub(crate) regions: String,
    /// Wire RDATA.
    pub(crate) rdata: Vec<u8>,
}

/// Where the name of a record being validated comes from, which decides
/// how strictly it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameFrom {
    /// Given now, through the API or the CLI: read with
    /// [`input_owner_name`], which refuses a relative name that repeats the
    /// zone's name.
    Input,
    /// The stored record's own name, kept by an update: read with
    /// [`owner_name`] as at start-up, so that a record stored before the
    /// stricter rule can still be changed.
    Stored,
}

impl NameFrom {
    /// Where the name of `stored` with `patch` applied comes from: a patch
    /// that leaves the name out, or repeats it unchanged, keeps the stored
    /// name.
    fn of_update(stored: &RecordInfo, patch: &RecordPatch) -> NameFrom {
        match &patch.name {
            Some(name) if *name != stored.name => NameFrom::Input,
            _ => NameFrom::Stored,
        }
    }
}

/// Checks user input against the zone at `apex`; field names in errors
/// start with `prefix` (`"creates[0]."` in batches).
pub(crate) fn validate_record(
    apex: &Name,
    default_ttl: u32,
    input: &RecordInput,
    name_from: NameFrom,
    prefix: &str,
) -> Result<Candidate, Vec<FieldError>> {
    let mut errors = Vec::new();
    let field = |f: &str| format!("{prefix}{f}");
    let rtype = content::parse_type(&input.rtype)
        .map_err(|m| errors.push(FieldError::new(field("type"), m)))
        .ok();
    let owner = match name_from {
        NameFrom::Input => input_owner_name(apex, &input.name),
        NameFrom::Stored => owner_name(apex, &input.name),
    }
    .map_err(|m| errors.push(FieldError::new(field("name"), m)))
    .ok();
    if rtype == Some(Rtype::NS) && owner.as_ref().is_some_and(|o| o.eq_ignore_case(apex)) {
        errors.push(FieldError::new(
            field("name"),
            "apex NS records are system records, managed by Candor",
        ));
    }
    let ttl = content::check_ttl(input.ttl.unwrap_or(default_ttl))
        .map_err(|m| errors.push(FieldError::new(field("ttl"), m)))
        .ok();
    let regions = content::check_regions(input.regions.as_deref())
        .map_err(|m| errors.push(FieldError::new(field("regions"), m)))
        .ok();
    let rdata = rtype.and_then(|t| {
        content::content_to_rdata(t, &input.content, input.priority)
            .map_err(|m| errors.push(FieldError::new(field("content"), m)))
            .ok()
    });
    match (rtype, owner, ttl, regions, rdata) {
        (Some(rtype), Some(owner), Some(ttl), Some(regions), Some(rdata)) if errors.is_empty() => {
            let (content, priority) = content::rdata_to_content(rtype, &rdata);
            Ok(Candidate {
                name: relative_name(apex, &owner),
                rtype,
                content,
                ttl,
                priority: if content::has_priority(rtype) {
                    priority
                } else {
                    None
                },
                regions,
                rdata,
            })
        }
        _ => Err(errors),
    }
}

/// Loads a record of a zone; records of other zones are NotFound.
fn load(conn: &Connection, zone: &ZoneRow, id: i64) -> Result<RecordInfo, StoreError> {
    let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1 AND zone_id = ?2");
    conn.query_row(&sql, params![id, zone.id], |row| {
        record_from_row(row, &zone.name)
    })
    .optional()?
    .ok_or(StoreError::NotFound("record"))
}

/// The message for a record that already exists.
const DUPLICATE: &str = "a record with this name, type and content already exists";

/// Turns a UNIQUE violation on the records table into a field error.
fn duplicate_as_invalid(err: rusqlite::Error, prefix: &str) -> StoreError {
    if db::is_constraint(&err) {
        StoreError::invalid(format!("{prefix}content"), DUPLICATE)
    } else {
        err.into()
    }
}

/// Inserts a candidate; returns its id.
fn insert(
    conn: &Connection,
    zone_id: i64,
    c: &Candidate,
    at: i64,
    prefix: &str,
) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO records (zone_id, name, rtype, rtype_code, content, ttl, priority, regions,
                              system, rdata, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?10)",
    )?;
    stmt.execute(params![
        zone_id,
        c.name,
        content::type_name(c.rtype),
        c.rtype.0,
        c.content,
        c.ttl,
        c.priority,
        c.regions,
        c.rdata,
        at
    ])
    .map_err(|e| duplicate_as_invalid(e, prefix))?;
    Ok(conn.last_insert_rowid())
}

/// Overwrites a record with a candidate.
fn overwrite(
    conn: &Connection,
    id: i64,
    c: &Candidate,
    at: i64,
    prefix: &str,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE records SET name = ?2, content = ?3, ttl = ?4, priority = ?5, regions = ?6,
                            rdata = ?7, updated_at = ?8
         WHERE id = ?1",
    )?;
    stmt.execute(params![
        id, c.name, c.content, c.ttl, c.priority, c.regions, c.rdata, at
    ])
    .map_err(|e| duplicate_as_invalid(e, prefix))?;
    Ok(())
}

/// The input an update amounts to: the stored record with the patch
/// applied.
fn patched(stored: &RecordInfo, patch: &RecordPatch) -> RecordInput {
    RecordInput {
        name: patch.name.clone().unwrap_or_else(|| stored.name.clone()),
        rtype: stored.rtype.clone(),
        content: patch
            .content
            .clone()
            .unwrap_or_else(|| stored.content.clone()),
        ttl: Some(patch.ttl.unwrap_or(stored.ttl)),
        priority: patch.priority.or(stored.priority),
        regions: Some(
            patch
                .regions
                .clone()
                .unwrap_or_else(|| stored.regions.clone()),
        ),
    }
}

/// Refuses changes to system records.
fn check_not_system(info: &RecordInfo, field: &str, verb: &str) -> Result<(), FieldError> {
    if info.system_record {
        Err(FieldError::new(
            field,
            format!(
                "record {} is a system record ({} at the apex) and cannot be {verb}",
                info.id, info.rtype
            ),
        ))
    } else {
        Ok(())
    }
}

/// A short description of a record for the audit log.
fn describe(c: &Candidate) -> String {
    let name = if c.name.is_empty() { "@" } else { &c.name };
    match c.priority {
        Some(p) => format!("{name} {} {p} {} (ttl {})", c.rtype, c.content, c.ttl),
        None => format!("{name} {} {} (ttl {})", c.rtype, c.content, c.ttl),
    }
}

/// [`describe`] for a stored record.
fn describe_info(r: &RecordInfo) -> String {
    let name = if r.name.is_empty() { "@" } else { &r.name };
    format!("{name} {} {} (ttl {})", r.rtype, r.content, r.ttl)
}

impl Store {
    /// A zone's records, one page.
    pub fn records(
        &self,
        account_id: i64,
        zone: &str,
        q: &RecordQuery,
    ) -> Result<Page<RecordInfo>, StoreError> {
        let spec = PageSpec::new(q.page, q.per_page).map_err(StoreError::Invalid)?;
        let order = query::order_by(
            q.sort.as_deref(),
            &[
                ("id", "id"),
                ("name", "name"),
                ("content", "content"),
                ("type", "rtype"),
            ],
        )?;
        self.read(|tx| {
            let z = zones::find_zone(tx, account_id, zone)?;
            let mut filter = String::from("zone_id = ?1");
            let mut values = vec![Value::Integer(z.id)];
            if let Some(name) = &q.name {
                let name = name.trim().to_ascii_lowercase();
                let name = if name == "@" { String::new() } else { name };
                values.push(Value::Text(name));
                filter.push_str(&format!(" AND name = ?{}", values.len()));
            }
            if let Some(like) = q.name_like.as_deref().filter(|s| !s.is_empty()) {
                values.push(Value::Text(query::contains_pattern(like)));
                filter.push_str(&format!(" AND name LIKE ?{} ESCAPE '\\'", values.len()));
            }
            if let Some(rtype) = q.rtype.as_deref().filter(|s| !s.is_empty()) {
                values.push(Value::Text(rtype.trim().to_ascii_uppercase()));
                filter.push_str(&format!(" AND rtype = ?{}", values.len()));
            }
            let total: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM records WHERE {filter}"),
                params_from_iter(values.iter()),
                |r| r.get(0),
            )?;
            let n = values.len();
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE {filter} {order} LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            );
            values.push(Value::Integer(spec.limit()));
            values.push(Value::Integer(spec.offset()));
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(values.iter()), |row| {
                record_from_row(row, &z.name)
            })?;
            let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(spec.wrap(items, u64::try_from(total).unwrap_or(0)))
        })
    }

    /// One record of a zone.
    pub fn record(&self, account_id: i64, zone: &str, id: i64) -> Result<RecordInfo, StoreError> {
        self.read(|tx| {
            let z = zones::find_zone(tx, account_id, zone)?;
            load(tx, &z, id)
        })
    }

    /// Creates a record.
    pub fn create_record(
        &self,
        account_id: i64,
        zone: &str,
        input: &RecordInput,
        actor: &Actor,
    ) -> Result<(RecordInfo, ZoneChange), StoreError> {
        let (info, change, _) = self.write(|tx| {
            let mut z = zones::find_zone(tx, account_id, zone)?;
            let base = incremental::Base::find(&self.compiled, tx, &z)?;
            let apex = z.apex()?;
            let cand = validate_record(&apex, self.config.default_ttl, input, NameFrom::Input, "")
                .map_err(StoreError::Invalid)?;
            let at = now();
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            let id = insert(tx, z.id, &cand, at, "")?;
            history::journal(tx, id, z.serial, Action::Create, at)?;
            let names = [cand.name.as_str()];
            let change = base.compile(tx, &z, &self.config, &names)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "record.create",
                    target: &format!("{}/records/{id}", z.name),
                    detail: &format!("created {}", describe(&cand)),
                    at,
                },
            )?;
            // Kept under the store's lock: no other write, nor the
            // compaction's swap, sees the row ahead of the kept version.
            self.compiled.remember(incremental::key(&z), &change);
            Ok((load(tx, &z, id)?, change, incremental::key(&z)))
        })?;
        Ok((info, change))
    }

    /// Changes a record (not a system record).
    pub fn update_record(
        &self,
        account_id: i64,
        zone: &str,
        id: i64,
        patch: &RecordPatch,
        actor: &Actor,
    ) -> Result<(RecordInfo, ZoneChange), StoreError> {
        let (info, change, _) = self.write(|tx| {
            let mut z = zones::find_zone(tx, account_id, zone)?;
            let base = incremental::Base::find(&self.compiled, tx, &z)?;
            let apex = z.apex()?;
            let stored = load(tx, &z, id)?;
            check_not_system(&stored, "id", "changed").map_err(|e| StoreError::Invalid(vec![e]))?;
            let cand = validate_record(
                &apex,
                self.config.default_ttl,
                &patched(&stored, patch),
                NameFrom::of_update(&stored, patch),
                "",
            )
            .map_err(StoreError::Invalid)?;
            let at = now();
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            overwrite(tx, id, &cand, at, "")?;
            history::journal(tx, id, z.serial, Action::Update, at)?;
            let names = [stored.name.as_str(), cand.name.as_str()];
            let change = base.compile(tx, &z, &self.config, &names)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "record.update",
                    target: &format!("{}/records/{id}", z.name),
                    detail: &format!("changed {} to {}", describe_info(&stored), describe(&cand)),
                    at,
                },
            )?;
            // Kept under the store's lock: no other write, nor the
            // compaction's swap, sees the row ahead of the kept version.
            self.compiled.remember(incremental::key(&z), &change);
            Ok((load(tx, &z, id)?, change, incremental::key(&z)))
        })?;
        Ok((info, change))
    }

    /// Deletes a record (not a system record).
    pub fn delete_record(
        &self,
        account_id: i64,
        zone: &str,
        id: i64,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        let (change, _) = self.write(|tx| {
            let mut z = zones::find_zone(tx, account_id, zone)?;
            let base = incremental::Base::find(&self.compiled, tx, &z)?;
            let stored = load(tx, &z, id)?;
            check_not_system(&stored, "id", "deleted").map_err(|e| StoreError::Invalid(vec![e]))?;
            let at = now();
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            history::journal(tx, id, z.serial, Action::Delete, at)?;
            tx.execute("DELETE FROM records WHERE id = ?1", [id])?;
            let names = [stored.name.as_str()];
            let change = base.compile(tx, &z, &self.config, &names)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "record.delete",
                    target: &format!("{}/records/{id}", z.name),
                    detail: &format!("deleted {}", describe_info(&stored)),
                    at,
                },
            )?;
            // Kept under the store's lock: no other write, nor the
            // compaction's swap, sees the row ahead of the kept version.
            self.compiled.remember(incremental::key(&z), &change);
            Ok((change, incremental::key(&z)))
        })?;
        Ok(change)
    }

    /// Applies deletes, then updates, then creates, all or nothing, as one
    /// new serial. Field errors name the entry (`"creates[2].content"`,
    /// `"updates[0].name"`, `"deletes[1]"`). Returns the created records,
    /// then the updated ones.
    pub fn batch(
        &self,
        account_id: i64,
        zone: &str,
        batch: &RecordBatch,
        actor: &Actor,
    ) -> Result<(Vec<RecordInfo>, ZoneChange), StoreError> {
        let (out, change, _) = self.write(|tx| {
            let mut z = zones::find_zone(tx, account_id, zone)?;
            let base = incremental::Base::find(&self.compiled, tx, &z)?;
            let apex = z.apex()?;
            let ttl = self.config.default_ttl;
            let mut errors = Vec::new();
            if batch.creates.is_empty() && batch.updates.is_empty() && batch.deletes.is_empty() {
                return Err(StoreError::invalid("batch", "has no changes"));
            }
            let mut seen = HashSet::new();
            let mut deletes = Vec::with_capacity(batch.deletes.len());
            for (i, &id) in batch.deletes.iter().enumerate() {
                let field = format!("deletes[{i}]");
                let stored = load(tx, &z, id)?;
                if !seen.insert(id) {
                    errors.push(FieldError::new(field, "names a record twice in this batch"));
                    continue;
                }
                match check_not_system(&stored, &field, "deleted") {
                    Ok(()) => deletes.push(stored),
                    Err(e) => errors.push(e),
                }
            }
            let mut updates = Vec::with_capacity(batch.updates.len());
            for (i, (id, patch)) in batch.updates.iter().enumerate() {
                let prefix = format!("updates[{i}].");
                let stored = load(tx, &z, *id)?;
                if !seen.insert(*id) {
                    errors.push(FieldError::new(
                        format!("{prefix}id"),
                        "names a record twice in this batch",
                    ));
                    continue;
                }
                if let Err(e) = check_not_system(&stored, &format!("{prefix}id"), "changed") {
                    errors.push(e);
                    continue;
                }
                let from = NameFrom::of_update(&stored, patch);
                match validate_record(&apex, ttl, &patched(&stored, patch), from, &prefix) {
                    Ok(c) => updates.push((stored, c, prefix)),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            let mut creates = Vec::with_capacity(batch.creates.len());
            for (i, input) in batch.creates.iter().enumerate() {
                let prefix = format!("creates[{i}].");
                match validate_record(&apex, ttl, input, NameFrom::Input, &prefix) {
                    Ok(c) => creates.push((c, prefix)),
                    Err(mut e) => errors.append(&mut e),
                }
            }
            if !errors.is_empty() {
                return Err(StoreError::Invalid(errors));
            }

            let at = now();
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            for info in &deletes {
                history::journal(tx, info.id, z.serial, Action::Delete, at)?;
                tx.execute("DELETE FROM records WHERE id = ?1", [info.id])?;
            }
            for (info, cand, prefix) in &updates {
                overwrite(tx, info.id, cand, at, prefix)?;
                history::journal(tx, info.id, z.serial, Action::Update, at)?;
            }
            let mut ids = Vec::with_capacity(creates.len() + updates.len());
            for (cand, prefix) in &creates {
                let id = insert(tx, z.id, cand, at, prefix)?;
                history::journal(tx, id, z.serial, Action::Create, at)?;
                ids.push(id);
            }
            ids.extend(updates.iter().map(|(info, _, _)| info.id));
            let names: Vec<&str> = deletes
                .iter()
                .map(|info| info.name.as_str())
                .chain(
                    updates
                        .iter()
                        .flat_map(|(info, cand, _)| [&info.name[..], &cand.name[..]]),
                )
                .chain(creates.iter().map(|(cand, _)| cand.name.as_str()))
                .collect();
            let change = base.compile(tx, &z, &self.config, &names)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "records.batch",
                    target: &z.name,
                    detail: &format!(
                        "{} created, {} updated, {} deleted",
                        creates.len(),
                        updates.len(),
                        deletes.len()
                    ),
                    at,
                },
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(load(tx, &z, id)?);
            }
            // Kept under the store's lock: no other write, nor the
            // compaction's swap, sees the row ahead of the kept version.
            self.compiled.remember(incremental::key(&z), &change);
            Ok((out, change, incremental::key(&z)))
        })?;
        Ok((out, change))
    }
}
