//! Zones: creation with system records, lookup by name or id, listing,
//! deletion, serial bumps and compilation for serving.

use std::sync::Arc;

use candor_wire::{Name, Rtype};
use rusqlite::{
    Connection, OptionalExtension, Row, Transaction, params, params_from_iter, types::Value,
};

use crate::compile::{self, name_without_dot, zone_apex};
use crate::content::{self, GLOBAL};
use crate::history::{self, Action, Audit};
use crate::query::{self, PageSpec};
use crate::time::{first_serial, now, rfc3339};
use crate::{
    Actor, Page, Store, StoreConfig, StoreError, ZoneChange, ZoneInfo, ZoneQuery, ZoneVersion,
    accounts, db,
};

/// A zone as stored.
#[derive(Clone, Debug)]
pub(crate) struct ZoneRow {
    /// The zone id.
    pub(crate) id: i64,
    /// The owning account.
    pub(crate) account_id: i64,
    /// The name, lower case, no trailing dot.
    pub(crate) name: String,
    /// The current serial.
    pub(crate) serial: u32,
    /// Whether it is a reverse zone.
    pub(crate) reverse: bool,
    /// Creation time (Unix seconds).
    pub(crate) created_at: i64,
    /// Last change (Unix seconds).
    pub(crate) updated_at: i64,
}

/// Columns read by [`zone_from_row`].
pub(crate) const ZONE_COLUMNS: &str =
    "id, account_id, name, serial, reverse, created_at, updated_at";

/// Reads a zone row.
pub(crate) fn zone_from_row(row: &Row<'_>) -> rusqlite::Result<ZoneRow> {
    Ok(ZoneRow {
        id: row.get(0)?,
        account_id: row.get(1)?,
        name: row.get(2)?,
        serial: row.get(3)?,
        reverse: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

impl ZoneRow {
    /// The zone as the API shows it.
    pub(crate) fn info(&self) -> ZoneInfo {
        ZoneInfo {
            id: self.id,
            account_id: self.account_id,
            name: self.name.clone(),
            serial: self.serial,
            reverse: self.reverse,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }

    /// The zone's apex name.
    pub(crate) fn apex(&self) -> Result<Name, StoreError> {
        zone_apex(&self.name)
    }
}

/// Finds a zone of an account by name (any case, trailing dot optional) or
/// numeric id. Zones of other accounts are NotFound.
pub(crate) fn find_zone(
    conn: &Connection,
    account_id: i64,
    zone: &str,
) -> Result<ZoneRow, StoreError> {
    let key = zone.trim();
    let found = if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        let Ok(id) = key.parse::<i64>() else {
            return Err(StoreError::NotFound("zone"));
        };
        let sql = format!("SELECT {ZONE_COLUMNS} FROM zones WHERE id = ?1 AND account_id = ?2");
        conn.query_row(&sql, params![id, account_id], zone_from_row)
            .optional()?
    } else {
        let name = content::normalize_zone_name(key);
        let sql = format!("SELECT {ZONE_COLUMNS} FROM zones WHERE name = ?1 AND account_id = ?2");
        conn.query_row(&sql, params![name, account_id], zone_from_row)
            .optional()?
    };
    found.ok_or(StoreError::NotFound("zone"))
}

/// Moves a zone to its next serial: the zone row and its SOA record.
pub(crate) fn bump_serial(
    conn: &Connection,
    config: &StoreConfig,
    zone: &mut ZoneRow,
    at: i64,
) -> Result<(), StoreError> {
    zone.serial = zone.serial.wrapping_add(1);
    zone.updated_at = at;
    conn.execute(
        "UPDATE zones SET serial = ?1, updated_at = ?2 WHERE id = ?3",
        params![zone.serial, at, zone.id],
    )?;
    // `name = ''` lets the lookup use the records_identity index.
    let (content, rdata) = compile::soa(config, zone.serial);
    conn.execute(
        "UPDATE records SET content = ?1, rdata = ?2, updated_at = ?3
         WHERE zone_id = ?4 AND name = '' AND rtype_code = ?5 AND system = 1",
        params![content, rdata, at, zone.id, Rtype::SOA.0],
    )?;
    Ok(())
}

/// Compiles a zone from its rows inside the write transaction; the zone's
/// problems make the write Invalid (and so roll it back).
pub(crate) fn compile_change(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
) -> Result<ZoneChange, StoreError> {
    let compiled = compile_checked(conn, zone, config)?;
    // A zone with DNSSEC keys is served signed (`dnssec::sign_compiled`).
    match crate::dnssec::sign_compiled(conn, zone.id, compiled)? {
        Ok(compiled) => Ok(ZoneChange {
            zone: zone.info(),
            compiled: Some(Arc::new(compiled)),
        }),
        Err(errors) => Err(StoreError::Invalid(errors)),
    }
}

/// [`compile_change`] without signing: the zone's problems make the write
/// Invalid as there, but a zone with keys comes back unsigned (for a
/// process that leaves signing to the server: `set_signing_deferred`).
pub(crate) fn compile_unsigned_change(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
) -> Result<ZoneChange, StoreError> {
    Ok(ZoneChange {
        zone: zone.info(),
        compiled: Some(Arc::new(compile_checked(conn, zone, config)?)),
    })
}

/// A zone compiled from its rows, every region's view checked.
fn compile_checked(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
) -> Result<candor_zone::Zone, StoreError> {
    let apex = zone.apex()?;
    let (compiled, regional) = compile::compile_view(conn, zone.id, &apex, config)?;
    // Every region's view must compile too: only names with regional
    // records can differ from the view compiled here.
    if !regional.is_empty() {
        let names: Vec<&str> = regional.iter().map(String::as_str).collect();
        crate::regions::check_views(conn, zone, config, &names)?;
    }
    compiled.map_err(|errors| StoreError::Invalid(compile::zone_errors(errors)))
}

/// A zone of another account that is above or below `name`, if any. Such
/// zones are refused: the name servers answer from the longest matching
/// zone, so a zone inside another account's zone would take over its
/// names.
fn nested_foreign_zone(
    conn: &Connection,
    account_id: i64,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let mut parents = Vec::new();
    let mut rest = name;
    while let Some((_, parent)) = rest.split_once('.') {
        parents.push(Value::Text(parent.to_owned()));
        rest = parent;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM zones WHERE account_id <> ?1 AND name LIKE ?2 ESCAPE '\\' LIMIT 1",
    )?;
    let below = query::contains_pattern(&format!(".{name}"));
    // `contains_pattern` matches anywhere; a child zone must end with it.
    let below = below.strip_suffix('%').unwrap_or(&below).to_owned();
    let child: Option<String> = stmt
        .query_row(params![account_id, below], |r| r.get(0))
        .optional()?;
    if child.is_some() {
        return Ok(child);
    }
    let mut stmt =
        conn.prepare_cached("SELECT name FROM zones WHERE account_id <> ?1 AND name = ?2")?;
    for parent in parents {
        let found: Option<String> = stmt
            .query_row(params![account_id, parent], |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Inserts one system record.
fn insert_system(
    conn: &Connection,
    zone_id: i64,
    rtype: Rtype,
    content: &str,
    ttl: u32,
    rdata: &[u8],
    at: i64,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO records (zone_id, name, rtype, rtype_code, content, ttl, priority, regions,
                              system, rdata, created_at, updated_at)
         VALUES (?1, '', ?2, ?3, ?4, ?5, NULL, ?6, 1, ?7, ?8, ?8)",
        params![
            zone_id,
            rtype.to_string(),
            rtype.0,
            content,
            ttl,
            GLOBAL,
            rdata,
            at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Creates a zone with its SOA and apex NS records inside `tx` (see
/// [`Store::create_zone`]); `name` is normalized and checked.
pub(crate) fn create_zone_in(
    tx: &Transaction<'_>,
    config: &StoreConfig,
    account_id: i64,
    name: &str,
    actor: &Actor,
) -> Result<ZoneChange, StoreError> {
    let name = content::normalize_zone_name(name);
    content::check_zone_name(&name).map_err(|m| StoreError::invalid("name", m))?;
    accounts::account_exists(tx, account_id)?;
    let taken: Option<i64> = tx
        .query_row("SELECT id FROM zones WHERE name = ?1", [&name], |r| {
            r.get(0)
        })
        .optional()?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!("zone {name} already exists")));
    }
    if let Some(other) = nested_foreign_zone(tx, account_id, &name)? {
        return Err(StoreError::Conflict(format!(
            "zone {name} would overlap zone {other} of another account"
        )));
    }
    let at = now();
    let serial = first_serial(at);
    let reverse = content::is_reverse(&name);
    let inserted = tx.execute(
        "INSERT INTO zones (account_id, name, serial, reverse, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![account_id, name, serial, reverse, at],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if db::is_constraint(&e) => {
            return Err(StoreError::Conflict(format!("zone {name} already exists")));
        }
        Err(e) => return Err(e.into()),
    }
    let zone = ZoneRow {
        id: tx.last_insert_rowid(),
        account_id,
        name: name.clone(),
        serial,
        reverse,
        created_at: at,
        updated_at: at,
    };
    let ttl = config.default_ttl;
    let (soa_content, soa_rdata) = compile::soa(config, serial);
    insert_system(tx, zone.id, Rtype::SOA, &soa_content, ttl, &soa_rdata, at)?;
    for ns in &config.nameservers {
        let id = insert_system(
            tx,
            zone.id,
            Rtype::NS,
            &name_without_dot(ns),
            ttl,
            ns.as_wire(),
            at,
        )?;
        history::journal(tx, id, serial, Action::Create, at)?;
    }
    let change = compile_change(tx, &zone, config)?;
    history::audit(
        tx,
        &Audit {
            account_id,
            actor,
            action: "zone.create",
            target: &name,
            detail: &format!("created zone {name} with serial {serial}"),
            at,
        },
    )?;
    Ok(change)
}

impl Store {
    /// Creates a zone with its SOA and apex NS records. Zone names are
    /// unique across all accounts (Conflict).
    pub fn create_zone(
        &self,
        account_id: i64,
        name: &str,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        self.write(|tx| create_zone_in(tx, &self.config, account_id, name, actor))
    }

    /// An account's zones, one page.
    pub fn zones(&self, account_id: i64, q: &ZoneQuery) -> Result<Page<ZoneInfo>, StoreError> {
        let spec = PageSpec::new(q.page, q.per_page).map_err(StoreError::Invalid)?;
        let order = query::order_by(q.sort.as_deref(), &[("id", "id"), ("name", "name")])?;
        self.read(|tx| {
            accounts::account_exists(tx, account_id)?;
            let mut filter = String::from("account_id = ?1");
            let mut values = vec![Value::Integer(account_id)];
            if let Some(like) = q.name_like.as_deref().filter(|s| !s.is_empty()) {
                filter.push_str(" AND name LIKE ?2 ESCAPE '\\'");
                values.push(Value::Text(query::contains_pattern(like)));
            }
            let total: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM zones WHERE {filter}"),
                params_from_iter(values.iter()),
                |r| r.get(0),
            )?;
            let n = values.len();
            let sql = format!(
                "SELECT {ZONE_COLUMNS} FROM zones WHERE {filter} {order} LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            );
            values.push(Value::Integer(spec.limit()));
            values.push(Value::Integer(spec.offset()));
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(values.iter()), zone_from_row)?;
            let items = rows
                .map(|r| r.map(|z| z.info()))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(spec.wrap(items, u64::try_from(total).unwrap_or(0)))
        })
    }

    /// One zone of an account, by name (any case, trailing dot optional) or
    /// numeric id; zones of other accounts are NotFound.
    pub fn zone(&self, account_id: i64, zone: &str) -> Result<ZoneInfo, StoreError> {
        self.read(|tx| Ok(find_zone(tx, account_id, zone)?.info()))
    }

    /// Deletes a zone with its records and journal (the audit log keeps the
    /// deletion).
    pub fn delete_zone(
        &self,
        account_id: i64,
        zone: &str,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        self.write(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            tx.execute("DELETE FROM zones WHERE id = ?1", [z.id])?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "zone.delete",
                    target: &z.name,
                    detail: &format!("deleted zone {} at serial {}", z.name, z.serial),
                    at: now(),
                },
            )?;
            Ok(ZoneChange {
                zone: z.info(),
                compiled: None,
            })
        })
        .inspect(|change| self.compiled.forget(change.zone.id))
    }

    /// Every URL record of every zone: the host it redirects (lower case,
    /// no trailing dot) and its target, for the HTTP redirector.
    pub fn redirects(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT records.name, zones.name, records.rdata FROM records
                 JOIN zones ON zones.id = records.zone_id
                 WHERE records.rtype_code = ?1 ORDER BY records.id",
            )?;
            let rows = stmt
                .query_map([crate::content::URL.0], |row| {
                    let name: String = row.get(0)?;
                    let zone: String = row.get(1)?;
                    let target: Vec<u8> = row.get(2)?;
                    let host = if name.is_empty() {
                        zone
                    } else {
                        format!("{name}.{zone}")
                    };
                    Ok((
                        host.to_ascii_lowercase(),
                        String::from_utf8_lossy(&target).into_owned(),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The distinct targets of ALIAS records that are outside every stored
    /// zone (lower-case, no trailing dot): what the background resolver
    /// must look up.
    pub fn alias_targets(&self) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare("SELECT DISTINCT rdata FROM records WHERE rtype_code = ?1")?;
            let rows = stmt
                .query_map([candor_zone::ALIAS.0], |row| row.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            outside_targets(tx, rows)
        })
    }

    /// The distinct ALIAS targets of one zone (by name, any account) that
    /// are outside every stored zone, lower-case without the final dot.
    pub fn zone_alias_targets(&self, zone: &str) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT r.rdata FROM records r JOIN zones z ON z.id = r.zone_id
                 WHERE z.name = ?1 AND r.rtype_code = ?2",
            )?;
            let rows = stmt
                .query_map(params![zone, candor_zone::ALIAS.0], |row| {
                    row.get::<_, Vec<u8>>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            outside_targets(tx, rows)
        })
    }

    /// Every zone's id, name and serial: cheap enough to poll, so a server
    /// notices changes other processes (the CLI) made to the store.
    pub fn zone_versions(&self) -> Result<Vec<ZoneVersion>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare("SELECT id, name, serial FROM zones ORDER BY id")?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(ZoneVersion {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        serial: row.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The account owning the zone named `zone` (any case, final dot or
    /// not), if it is stored: who is told when the zone is under attack.
    pub fn zone_account(&self, zone: &str) -> Result<Option<i64>, StoreError> {
        let name = zone.trim_end_matches('.').to_ascii_lowercase();
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT account_id FROM zones WHERE name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .optional()?)
        })
    }

    /// One zone (by id, any account) compiled for serving.
    pub fn compile_zone(&self, id: i64) -> Result<ZoneChange, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ZONE_COLUMNS} FROM zones WHERE id = ?1");
            let zone = tx
                .query_row(&sql, [id], zone_from_row)
                .optional()?
                .ok_or(StoreError::NotFound("zone"))?;
            // A version this process's own write already compiled (the
            // follower of the store can see the row before the writer has
            // published it): the same zone, without a full compile, which
            // takes seconds for a big zone and delayed the next write.
            if let Some(compiled) = self.compiled.get(crate::incremental::key(&zone)) {
                return Ok(ZoneChange {
                    zone: zone.info(),
                    compiled: Some(compiled),
                });
            }
            // Another process (the CLI) wrote since the version kept: the
            // names its writes changed, from the journal, patched into
            // that version (a signed zone signs only what they changed),
            // when the journal can tell them; else a full compile.
            let kept = self.compiled.current(zone.id);
            let names = match &kept {
                Some((key, _)) => {
                    crate::incremental::journal_names(tx, zone.id, key.1, zone.serial)?
                }
                None => None,
            };
            let change = match (kept, names) {
                (Some((_, base)), Some(names)) => {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    crate::incremental::compile_change(tx, &zone, &self.config, Some(base), &names)?
                }
                _ => compile_change(tx, &zone, &self.config)?,
            };
            // The next record write patches (for a signed zone: signs
            // incrementally) from this version.
            self.compiled
                .remember(crate::incremental::key(&zone), &change);
            Ok(change)
        })
    }

    /// Every zone compiled for serving (at start-up). A stored zone that no
    /// longer compiles is a Db error naming the zone.
    pub fn compile_all(&self) -> Result<Vec<ZoneChange>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ZONE_COLUMNS} FROM zones ORDER BY id");
            let mut stmt = tx.prepare(&sql)?;
            let zones = stmt
                .query_map([], zone_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(zones.len());
            for z in &zones {
                match compile_change(tx, z, &self.config) {
                    Ok(change) => {
                        self.compiled.remember(crate::incremental::key(z), &change);
                        out.push(change);
                    }
                    Err(StoreError::Invalid(errors)) => {
                        let problems: Vec<String> = errors.into_iter().map(|e| e.message).collect();
                        return Err(StoreError::Db(format!(
                            "stored zone {} does not compile: {}",
                            z.name,
                            problems.join("; ")
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }
}

/// The ALIAS targets among `rdatas` that are outside every stored zone,
/// lower-case without the final dot, each once, in the order first seen.
/// (A `Vec::contains` per target made this quadratic in the targets.)
fn outside_targets(tx: &Transaction<'_>, rdatas: Vec<Vec<u8>>) -> Result<Vec<String>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for rdata in rdatas {
        if !compile::target_in_zones(tx, &rdata)?
            && let Ok(name) = candor_wire::Name::from_wire(&rdata)
        {
            let text = compile::name_without_dot(&name.to_lowercase());
            if seen.insert(text.clone()) {
                out.push(text);
            }
        }
    }
    Ok(out)
}
