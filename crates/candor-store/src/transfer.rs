//! Zone-file import and export (RFC 1035 master files).
//!
//! Import streams the file: each record is checked, inserted with one
//! prepared statement and added to the [`ZoneBuilder`] as it is read, so a
//! million-record file is never held as a list. Nothing is kept unless the
//! whole file is right and the zone compiles.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use candor_wire::{Name, Rtype};
use candor_zone::ZoneBuilder;
use candor_zonefile::{ParseOptions, Record, parse_bytes, parse_file, rdata_to_text};
use rusqlite::{Connection, params};

use crate::compile::{OwnerCache, add_rows, blob_column, text_column};
use crate::content::{self, GLOBAL, relative_name};
use crate::history::{self, Action, Audit};
use crate::incremental;
use crate::time::now;
use crate::zones::{self, ZoneRow};
use crate::{Actor, FieldError, ImportSummary, Store, StoreError, ZoneChange};

/// The field import errors are reported on.
const FIELD: &str = "zone_file";

/// Import reports at most this many problems.
const MAX_ERRORS: usize = 100;

/// `progress` is called after every this many records.
const PROGRESS_EVERY: usize = 10_000;

/// A record from the file, checked and converted.
struct Imported {
    /// The content.
    content: String,
    /// The priority (MX, SRV).
    priority: Option<u16>,
}

/// What to do with one record of an imported file.
enum Verdict {
    /// Store it.
    Keep(Imported),
    /// Skip it: the SOA and apex NS records are system records.
    Ignore,
}

/// Checks one record of an imported file.
fn check_imported(apex: &Name, r: &Record<'_>) -> Result<Verdict, String> {
    let at_apex = r.owner.eq_ignore_case(apex);
    match r.rtype {
        Rtype::SOA if at_apex => return Ok(Verdict::Ignore),
        Rtype::SOA => return Err("SOA records are only allowed at the zone apex".to_owned()),
        Rtype::NS if at_apex => return Ok(Verdict::Ignore),
        t => content::check_type(t)?,
    }
    if !r.owner.ends_with(apex) {
        return Err(format!("{} is outside the zone {apex}", r.owner));
    }
    content::check_ttl(r.ttl).map_err(|m| format!("TTL {} {m}", r.ttl))?;
    if r.rtype == content::URL {
        let text = std::str::from_utf8(r.rdata).map_err(|_| "URL target is not text".to_owned())?;
        candor_redirect::parse_target(text).map_err(|m| format!("URL target {m}"))?;
    }
    let (content, priority) = content::rdata_to_content(r.rtype, r.rdata);
    Ok(Verdict::Keep(Imported { content, priority }))
}

/// Where an imported zone file comes from.
#[derive(Clone, Copy, Debug)]
pub enum ZoneText<'a> {
    /// Text sent over the API: `$INCLUDE` is refused, since it would read
    /// files on the server. Errors name the text `<zone>.zone`.
    Upload(&'a [u8]),
    /// A file on the operator's own disk (`candor zone import`):
    /// `$INCLUDE` reads files relative to it. Errors name the file.
    File(&'a Path),
}

/// What an import does when its zone does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IfMissing {
    /// Creates it, in the import's transaction.
    Create,
    /// Fails with NotFound.
    Refuse,
}

/// A parser or check problem, with its line for sorting.
struct Problem {
    /// The line (0 for the whole file).
    line: u32,
    /// `file:line: message`.
    text: String,
}

/// The importer's state while the parser streams records.
struct Importer<'a> {
    /// The zone apex.
    apex: &'a Name,
    /// The zone id.
    zone_id: i64,
    /// When.
    at: i64,
    /// The compiled zone being built.
    builder: ZoneBuilder,
    /// Problems found.
    problems: Vec<Problem>,
    /// A database failure, which stops the import.
    failure: Option<StoreError>,
    /// Records stored.
    count: usize,
    /// The last owner converted to relative text, in wire form.
    last_owner: Vec<u8>,
    /// Its relative text.
    last_name: String,
    /// The last type's mnemonic.
    last_type: (u16, String),
    /// A URL or ALIAS record was imported: the zone is then compiled from
    /// the stored rows, where URL records become the redirector's
    /// addresses and ALIAS targets are checked.
    saw_url: bool,
    /// A record limited to regions (`;@regions` lines) was imported: the
    /// zone is then compiled from the stored rows, in this server's view,
    /// with every region's view checked.
    saw_regional: bool,
    /// The zone's rows before the import not met in the file yet, by
    /// identity: a record the file repeats exactly stays as it is (its id
    /// too); the rest are deleted at the end.
    old: HashMap<Identity, OldRow>,
    /// The zone's serial after the import (its journal entries').
    serial: u32,
    /// Names (stored form) whose rows the import added or deleted.
    changed: BTreeSet<String>,
    /// Rows deleted.
    removed: usize,
}

/// What makes a stored record the same record (the `records_identity`
/// index): name (stored form), type code, RDATA.
type Identity = (String, u16, Vec<u8>);

/// A row of the zone before the import.
struct OldRow {
    /// Its id.
    id: i64,
    /// Its TTL.
    ttl: u32,
    /// Its priority.
    priority: Option<u16>,
    /// Its regions.
    regions: String,
    /// Its content.
    content: String,
}

/// The zone's non-system rows by identity.
fn old_rows(tx: &Connection, zone_id: i64) -> Result<HashMap<Identity, OldRow>, StoreError> {
    let mut stmt = tx.prepare(
        "SELECT id, name, rtype_code, rdata, ttl, priority, regions, content FROM records
         WHERE zone_id = ?1 AND system = 0",
    )?;
    let mut rows = stmt.query([zone_id])?;
    let mut out = HashMap::new();
    while let Some(row) = rows.next()? {
        out.insert(
            (
                text_column(row, 1)?.to_owned(),
                row.get::<_, u16>(2)?,
                blob_column(row, 3)?.to_vec(),
            ),
            OldRow {
                id: row.get(0)?,
                ttl: row.get(4)?,
                priority: row.get(5)?,
                regions: text_column(row, 6)?.to_owned(),
                content: text_column(row, 7)?.to_owned(),
            },
        );
    }
    Ok(out)
}

/// Deletes one row, journaled first.
fn delete_row(tx: &Connection, id: i64, serial: u32, at: i64) -> Result<(), StoreError> {
    history::journal(tx, id, serial, Action::Delete, at)?;
    tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Importer<'_> {
    /// Handles one record.
    fn record(
        &mut self,
        tx: &Connection,
        insert: &mut rusqlite::CachedStatement<'_>,
        r: &Record<'_>,
        progress: &mut dyn FnMut(usize),
    ) {
        if self.failure.is_some() || self.problems.len() >= MAX_ERRORS {
            return;
        }
        let regions = match r.regions {
            None => Ok(GLOBAL.to_owned()),
            Some(list) => {
                let list: Vec<String> = list.split(',').map(str::to_owned).collect();
                content::check_regions(Some(&list)).map_err(|m| format!("regions: {m}"))
            }
        };
        let imported =
            match regions.and_then(|regions| Ok((check_imported(self.apex, r)?, regions))) {
                Ok((Verdict::Keep(i), regions)) => (i, regions),
                Ok((Verdict::Ignore, _)) => return,
                Err(message) => {
                    self.problems.push(Problem {
                        line: r.line,
                        text: format!("{}:{}: {message}", r.file.display(), r.line),
                    });
                    return;
                }
            };
        if !self.problems.is_empty() {
            // Nothing will be kept; only look for more problems.
            return;
        }
        if r.owner.as_wire() != self.last_owner.as_slice() {
            self.last_name = relative_name(self.apex, r.owner);
            r.owner.as_wire().clone_into(&mut self.last_owner);
        }
        if self.last_type.0 != r.rtype.0 || self.last_type.1.is_empty() {
            self.last_type = (r.rtype.0, content::type_name(r.rtype));
        }
        let (imported, regions) = imported;
        // A record the zone holds already, exactly: kept as it is. One
        // that differs in TTL, priority or regions is replaced.
        let mut stored = false;
        let found = match self.old.is_empty() {
            true => None,
            false => self
                .old
                .remove(&(self.last_name.clone(), r.rtype.0, r.rdata.to_vec())),
        };
        if let Some(old) = found {
            if old.ttl == r.ttl
                && old.priority == imported.priority
                && old.regions == regions
                && old.content == imported.content
            {
                stored = true;
            } else if let Err(e) = delete_row(tx, old.id, self.serial, self.at) {
                self.failure = Some(e);
                return;
            } else {
                self.removed += 1;
                self.changed.insert(self.last_name.clone());
            }
        }
        let inserted = match stored {
            true => Ok(1),
            false => insert.execute(params![
                self.zone_id,
                self.last_name,
                self.last_type.1,
                r.rtype.0,
                imported.content,
                r.ttl,
                imported.priority,
                regions,
                r.rdata,
                self.at
            ]),
        };
        if !stored && matches!(inserted, Ok(1)) {
            // Journaled at the end, all at once.
            self.changed.insert(self.last_name.clone());
        }
        match inserted {
            // The same record twice in the file: stored once.
            Ok(0) => {}
            Ok(_) => {
                self.count += 1;
                if regions != GLOBAL {
                    self.saw_regional = true;
                }
                if r.rtype == content::URL || r.rtype == candor_zone::ALIAS {
                    // Compiled from the stored rows below, where these get
                    // their checks (and URL its addresses).
                    self.saw_url = true;
                }
                if r.rtype != content::URL {
                    self.builder
                        .add(r.owner, r.rtype, r.ttl, r.rdata, Some((r.file, r.line)));
                }
                if self.count.is_multiple_of(PROGRESS_EVERY) {
                    progress(self.count);
                }
            }
            Err(e) => self.failure = Some(e.into()),
        }
    }
}

/// Problems as the `Invalid` error, in line order.
fn invalid(mut problems: Vec<Problem>) -> StoreError {
    problems.sort_by_key(|p| p.line);
    StoreError::Invalid(
        problems
            .into_iter()
            .take(MAX_ERRORS)
            .map(|p| FieldError::new(FIELD, p.text))
            .collect(),
    )
}

/// Replaces a zone's records with the file's; see
/// [`Store::import_zone_file`].
fn import(
    tx: &Connection,
    store: &Store,
    z: &mut ZoneRow,
    text: ZoneText<'_>,
    progress: &mut dyn FnMut(usize),
) -> Result<(ImportSummary, ZoneChange), StoreError> {
    let apex = z.apex()?;
    let source = match text {
        ZoneText::Upload(_) => PathBuf::from(format!("{}.zone", z.name)),
        ZoneText::File(path) => path.to_owned(),
    };
    let at = now();
    // The version to patch when the file changes a few names of a signed
    // zone (signing only those instead of the whole zone).
    let base = incremental::Base::find(&store.compiled, tx, z)?;
    zones::bump_serial(tx, &store.config, z, at)?;
    let old = old_rows(tx, z.id)?;
    // Rows inserted from here on have larger ids (AUTOINCREMENT).
    let last_id: i64 =
        tx.query_row("SELECT COALESCE(MAX(id), 0) FROM records", [], |r| r.get(0))?;

    let mut builder = ZoneBuilder::new(&apex);
    builder.set_main_source(&source);
    add_rows(
        tx,
        z.id,
        true,
        &mut builder,
        &apex,
        &store.config.redirector,
        None,
    )
    .map(drop)?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO records (zone_id, name, rtype, rtype_code, content, ttl, priority,
                                        regions, system, rdata, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?10)",
    )?;
    let mut importer = Importer {
        apex: &apex,
        zone_id: z.id,
        at,
        builder,
        problems: Vec::new(),
        failure: None,
        count: 0,
        last_owner: Vec::new(),
        last_name: String::new(),
        last_type: (0, String::new()),
        saw_url: false,
        saw_regional: false,
        old,
        serial: z.serial,
        changed: BTreeSet::new(),
        removed: 0,
    };
    let mut opts = ParseOptions::new(apex.clone());
    opts.regions = true;
    let mut sink = |r: Record<'_>| importer.record(tx, &mut insert, &r, &mut *progress);
    let parsed = match text {
        ZoneText::Upload(bytes) => parse_bytes(bytes, &source, &opts, &mut sink),
        ZoneText::File(path) => {
            opts.allow_include = true;
            parse_file(path, &opts, &mut sink)
        }
    };
    drop(insert);
    if let Some(failure) = importer.failure {
        return Err(failure);
    }
    let mut problems = importer.problems;
    if let Err(errors) = parsed {
        problems.extend(errors.into_iter().map(|e| Problem {
            line: e.line,
            text: e.to_string(),
        }));
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    // What the file no longer has.
    let mut removed = importer.removed;
    for ((name, _, _), row) in std::mem::take(&mut importer.old) {
        delete_row(tx, row.id, z.serial, at)?;
        importer.changed.insert(name);
        removed += 1;
    }
    history::journal_created_after(tx, z.id, last_id, z.serial, at)?;
    let count = importer.count;
    let deferred = crate::dnssec::signing_deferred();
    if importer.saw_url || importer.saw_regional {
        let change = if deferred {
            zones::compile_unsigned_change(tx, z, &store.config)?
        } else {
            zones::compile_change(tx, z, &store.config)?
        };
        return Ok((
            ImportSummary {
                records: count,
                removed,
            },
            change,
        ));
    }
    let compiled = importer.builder.finish().map_err(|errors| {
        invalid(
            errors
                .into_iter()
                .map(|e| Problem {
                    line: e.line,
                    text: e.to_string(),
                })
                .collect(),
        )
    })?;
    let summary = ImportSummary {
        records: count,
        removed,
    };
    // A zone with DNSSEC keys is served signed: the zone this returns is
    // what the API publishes. A file that changes a few names patches the
    // version kept and signs only those (as a record write does; the
    // apex's SOA changes too); otherwise the whole zone is signed. A
    // process that leaves signing to the server (`candor zone import`)
    // gets it unsigned, as for record writes: the server's follower signs
    // the names the journal gives.
    if deferred {
        let change = ZoneChange {
            zone: z.info(),
            compiled: Some(std::sync::Arc::new(compiled)),
        };
        return Ok((summary, change));
    }
    let keys = !crate::dnssec::zone_keys(tx, z.id)?.is_empty();
    let change = if keys && importer.changed.len() < incremental::MAX_JOURNAL_NAMES {
        let mut names: Vec<&str> = importer.changed.iter().map(String::as_str).collect();
        names.push("");
        base.compile(tx, z, &store.config, &names)?
    } else {
        let compiled =
            crate::dnssec::sign_compiled(tx, z.id, compiled)?.map_err(StoreError::Invalid)?;
        ZoneChange {
            zone: z.info(),
            compiled: Some(std::sync::Arc::new(compiled)),
        }
    };
    store.compiled.remember(incremental::key(z), &change);
    Ok((summary, change))
}

impl Store {
    /// Replaces every non-system record of a zone with the records of a
    /// zone file (relative names are relative to the zone; `$INCLUDE` is
    /// refused). The file's SOA and apex NS records are ignored: those are
    /// system records. Nothing is applied if any line is wrong; errors are
    /// `FieldError { field: "zone_file", message: "<zone>.zone:<line>: ..." }`.
    /// `progress(n)` is called after every 10,000 records stored.
    pub fn import_zone_file(
        &self,
        account_id: i64,
        zone: &str,
        text: &[u8],
        actor: &Actor,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(ImportSummary, ZoneChange), StoreError> {
        self.import_into(
            account_id,
            zone,
            IfMissing::Refuse,
            ZoneText::Upload(text),
            actor,
            progress,
        )
    }

    /// [`Store::import_zone_file`] into a zone that is created if it does
    /// not exist yet, in the same transaction: when the import fails, the
    /// zone is not created either.
    pub fn import_zone_file_creating(
        &self,
        account_id: i64,
        zone: &str,
        text: ZoneText<'_>,
        actor: &Actor,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(ImportSummary, ZoneChange), StoreError> {
        self.import_into(account_id, zone, IfMissing::Create, text, actor, progress)
    }

    /// Imports into a zone, creating it first if asked to.
    fn import_into(
        &self,
        account_id: i64,
        zone: &str,
        missing: IfMissing,
        text: ZoneText<'_>,
        actor: &Actor,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(ImportSummary, ZoneChange), StoreError> {
        self.write(|tx| {
            let mut z = match (zones::find_zone(tx, account_id, zone), missing) {
                (Err(StoreError::NotFound(_)), IfMissing::Create) => {
                    zones::create_zone_in(tx, &self.config, account_id, zone, actor)?;
                    zones::find_zone(tx, account_id, zone)?
                }
                (found, _) => found?,
            };
            let (summary, change) = import(tx, self, &mut z, text, progress)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "zone.import",
                    target: &z.name,
                    detail: &format!(
                        "imported {} records, removed {}",
                        summary.records, summary.removed
                    ),
                    at: now(),
                },
            )?;
            Ok((summary, change))
        })
    }

    /// The zone in RFC 1035 format: `$ORIGIN`, the SOA, the apex NS
    /// records, then the other records in id order, all with absolute
    /// names and explicit TTLs. A record limited to regions is written on a
    /// `;@regions LIST` line, a comment to other servers (whose view is the
    /// global one). Importing it gives the same records back.
    pub fn export_zone_file(&self, account_id: i64, zone: &str) -> Result<String, StoreError> {
        self.read(|tx| {
            let z = zones::find_zone(tx, account_id, zone)?;
            let apex = z.apex()?;
            let mut out = String::new();
            let _ = writeln!(out, "; {} exported by Candor, serial {}", z.name, z.serial);
            let _ = writeln!(out, "$ORIGIN {apex}");
            let mut stmt = tx.prepare(
                "SELECT name, rtype_code, ttl, rdata, regions FROM records WHERE zone_id = ?1
                 ORDER BY CASE WHEN system = 1 AND rtype_code = 6 THEN 0
                               WHEN system = 1 THEN 1 ELSE 2 END, id",
            )?;
            let mut rows = stmt.query([z.id])?;
            let mut owners = OwnerCache::new(&apex);
            while let Some(row) = rows.next()? {
                let name = text_column(row, 0)?;
                let rtype = Rtype(row.get(1)?);
                let ttl: u32 = row.get(2)?;
                let rdata = blob_column(row, 3)?;
                let regions = text_column(row, 4)?;
                if regions != GLOBAL {
                    let _ = write!(out, ";@regions {regions} ");
                }
                let owner = owners.get(name)?;
                let _ = writeln!(
                    out,
                    "{owner}\t{ttl}\tIN\t{rtype}\t{}",
                    rdata_to_text(rtype, rdata)
                );
            }
            Ok(out)
        })
    }
}
