//! Record writes in proportion to the change (docs/incremental.md): the
//! zone a write leaves is made by `Zone::patch` from the version this
//! process compiled last, with only the changed names' rows read back from
//! SQLite, instead of compiling every row of the zone.
//!
//! The last version is trusted only while the zone's row still says it is
//! current: it is kept with the serial and change time it was compiled at,
//! and every write (from this process or another: the CLI) bumps both. A
//! patch that cannot represent the change (`PatchError::Rebuild`: NS,
//! DNAME, wildcards, a full overlay, ...), a name whose RRsets mix TTLs
//! (their TTL depends on the rows' order), or no usable last version all
//! take the full compile, as before. Validation is the builder's own rules
//! at the changed names, so a write is refused exactly when a full compile
//! would refuse it.
//!
//! A server with a region (`StoreConfig::region`) compiles its own view:
//! the rows the patch reads are filtered as the full compile filters them,
//! and the other views are checked at the changed names by
//! `regions::check_views` (docs/regions.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use candor_wire::Rtype;
use candor_zone::{NodeChange, PatchError, REGIONAL, Zone};
use rusqlite::{Connection, OptionalExtension};

use crate::compile::{self, blob_column, owner_name, text_column};
use crate::zones::{self, ZoneRow};
use crate::{StoreConfig, StoreError, ZoneChange, content, regions};

/// A zone's state as its row tells it: id, serial and last change time.
pub(crate) type ZoneKey = (i64, u32, i64);

/// The key of a zone row as it is now.
pub(crate) fn key(zone: &ZoneRow) -> ZoneKey {
    (zone.id, zone.serial, zone.updated_at)
}

/// The last compiled version of each zone this process wrote, with the key
/// it was compiled at. The zones are the ones published (shared `Arc`s).
#[derive(Default)]
pub(crate) struct Compiled {
    /// Versions by zone id.
    zones: Mutex<HashMap<i64, (ZoneKey, Arc<Zone>)>>,
    /// Notified whenever a version is kept, for the background compaction
    /// (`crate::compaction`) that waits for an overlay to grow.
    pub(crate) kept: Condvar,
}

impl Compiled {
    /// Locks the map (a poisoned lock is still a valid map).
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<i64, (ZoneKey, Arc<Zone>)>> {
        self.zones
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The version compiled for the zone in state `key`, if it is the one
    /// kept.
    pub(crate) fn get(&self, key: ZoneKey) -> Option<Arc<Zone>> {
        self.lock()
            .get(&key.0)
            .filter(|(k, _)| *k == key)
            .map(|(_, z)| Arc::clone(z))
    }

    /// Keeps what a committed write compiled (the zone in state `key`).
    pub(crate) fn remember(&self, key: ZoneKey, change: &ZoneChange) {
        match &change.compiled {
            Some(zone) => {
                self.lock().insert(key.0, (key, Arc::clone(zone)));
                self.kept.notify_all();
            }
            None => self.forget(key.0),
        }
    }

    /// Drops a zone's version (it was deleted).
    pub(crate) fn forget(&self, zone_id: i64) {
        self.lock().remove(&zone_id);
    }

    /// The version kept for a zone, with its key.
    pub(crate) fn current(&self, zone_id: i64) -> Option<(ZoneKey, Arc<Zone>)> {
        self.lock().get(&zone_id).map(|(k, z)| (*k, Arc::clone(z)))
    }

    /// Replaces the zone's version by `with` (which reads the same) if
    /// `version` at `key` is still the one kept; returns the version it
    /// replaced (for the caller to drop outside its locks: it may hold the
    /// last reference to a whole old base).
    pub(crate) fn swap(
        &self,
        zone_id: i64,
        version: &Arc<Zone>,
        key: ZoneKey,
        with: &Arc<Zone>,
    ) -> Option<Arc<Zone>> {
        match self.lock().get_mut(&zone_id) {
            Some(kept) if kept.0 == key && Arc::ptr_eq(&kept.1, version) => {
                Some(std::mem::replace(&mut kept.1, Arc::clone(with)))
            }
            _ => None,
        }
    }

    /// Drops the zone's version if it is still `version` (a stale one).
    pub(crate) fn forget_version(&self, zone_id: i64, version: &Arc<Zone>) {
        let mut zones = self.lock();
        if zones
            .get(&zone_id)
            .is_some_and(|k| Arc::ptr_eq(&k.1, version))
        {
            zones.remove(&zone_id);
        }
    }
}

/// The zone after a record write inside its transaction: `base` (the
/// version before the write, if known) patched at the stored names
/// `names` (relative, `""` for the apex, whose SOA every write changes),
/// or compiled in full. Errors are the full compile's.
pub(crate) fn compile_change(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
    base: Option<Arc<Zone>>,
    names: &[&str],
) -> Result<ZoneChange, StoreError> {
    let Some(base) = base else {
        return full_compile(
            conn,
            zone,
            config,
            "no compiled version of the zone's current state is kept \
             (this process has not written it yet, or another one wrote it since)",
        );
    };
    // A zone with DNSSEC keys signs the change incrementally (`signed`).
    if base.signed().is_some() || has_keys(conn, zone.id) {
        return signed::compile_change(conn, zone, config, base, names);
    }
    let region = config.region.as_deref();
    let Some((changes, regional)) =
        name_changes(conn, zone, &config.redirector, region, names, &base)?
    else {
        return full_compile(conn, zone, config, "an RRset at a changed name mixes TTLs");
    };
    match base.patch(&changes) {
        Ok(next) => {
            // The patch checked this server's view at the changed names;
            // the other regions' views are checked here, where they can
            // differ (names with regional records).
            if regional {
                regions::check_views(conn, zone, config, names)?;
            }
            Ok(ZoneChange {
                zone: zone.info(),
                compiled: Some(Arc::new(next)),
            })
        }
        Err(PatchError::Invalid(errors)) => Err(StoreError::Invalid(compile::zone_errors(errors))),
        Err(PatchError::Rebuild(why)) => full_compile(conn, zone, config, why),
    }
}

/// What a record write patches: the version kept for the zone's state
/// before the write, or an older one kept with the names other processes
/// (the CLI) changed since, from the journal; or nothing (compile in
/// full).
pub(crate) struct Base {
    /// The version to patch.
    zone: Option<Arc<Zone>>,
    /// Names changed since that version by writes of other processes.
    since: Vec<String>,
}

impl Base {
    /// The base of a write to `zone` (its row as read before the write
    /// moves it to its next serial).
    pub(crate) fn find(
        compiled: &Compiled,
        conn: &Connection,
        zone: &ZoneRow,
    ) -> Result<Base, StoreError> {
        if let Some(kept) = compiled.get(key(zone)) {
            return Ok(Base {
                zone: Some(kept),
                since: Vec::new(),
            });
        }
        if let Some((at, kept)) = compiled.current(zone.id)
            && let Some(since) = journal_names(conn, zone.id, at.1, zone.serial)?
        {
            return Ok(Base {
                zone: Some(kept),
                since,
            });
        }
        Ok(Base {
            zone: None,
            since: Vec::new(),
        })
    }

    /// The zone after the write (see [`compile_change`]): this base
    /// patched at `names` and the names changed since it.
    pub(crate) fn compile(
        self,
        conn: &Connection,
        zone: &ZoneRow,
        config: &StoreConfig,
        names: &[&str],
    ) -> Result<ZoneChange, StoreError> {
        let mut all: Vec<&str> = self.since.iter().map(String::as_str).collect();
        all.extend_from_slice(names);
        compile_change(conn, zone, config, self.zone, &all)
    }
}

/// The most serials [`journal_names`] reads: a server that missed more
/// than this many writes compiles the zone in full.
const MAX_JOURNAL_SERIALS: u32 = 1_000;

/// The most names [`journal_names`] gives: past this a patch would not
/// pay (and a signed zone's overlay holds `MAX_OVERLAY_NAMES` at most).
pub(crate) const MAX_JOURNAL_NAMES: usize = 1_000;

/// The stored names (relative, `""` for the apex) whose records changed
/// at the serials after `from` up to `to`, as the change journal tells,
/// with the name each updated record had before (a rename changes both).
/// `None` when the journal cannot tell: a serial in between without
/// entries (a change it does not record, such as a DNSSEC key step or an
/// ALIAS refresh), more than [`MAX_JOURNAL_SERIALS`] serials or
/// [`MAX_JOURNAL_NAMES`] names, or an updated record whose earlier name
/// is not journaled. What another process (the CLI) wrote can then be
/// patched into this process's last version instead of compiled (and,
/// for a signed zone, signed) in full.
pub(crate) fn journal_names(
    conn: &Connection,
    zone_id: i64,
    from: u32,
    to: u32,
) -> Result<Option<Vec<String>>, StoreError> {
    let gap = to.wrapping_sub(from);
    if gap == 0 || gap > MAX_JOURNAL_SERIALS {
        return Ok(None);
    }
    let mut entries = conn.prepare_cached(
        "SELECT id, record_id, action, name FROM changes
         WHERE zone_id = ?1 AND serial = ?2 ORDER BY id",
    )?;
    let mut before = conn.prepare_cached(
        "SELECT name FROM changes INDEXED BY changes_record
         WHERE record_id = ?2 AND id < ?3 AND zone_id = ?1 ORDER BY id DESC LIMIT 1",
    )?;
    let mut names: Vec<String> = Vec::new();
    for step in 1..=gap {
        let serial = from.wrapping_add(step);
        let rows = entries
            .query_map(rusqlite::params![zone_id, serial], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(None);
        }
        for (id, record, action, name) in rows {
            if action == "update" {
                let old: Option<String> = before
                    .query_row(rusqlite::params![zone_id, record, id], |r| r.get(0))
                    .optional()?;
                match old {
                    Some(old) => names.push(old),
                    None => return Ok(None),
                }
            }
            names.push(name);
        }
        names.sort_unstable();
        names.dedup();
        if names.len() > MAX_JOURNAL_NAMES {
            return Ok(None);
        }
    }
    Ok(Some(names))
}

/// A write's zone compiled from every row, logged with `why` and how long
/// it took: at info when that is long enough to notice (100 ms), so the
/// writes that wait seconds in a big zone say why; otherwise at debug.
fn full_compile(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
    why: &str,
) -> Result<ZoneChange, StoreError> {
    let signing = if crate::dnssec::signing_deferred() {
        Signing::LeftToServer
    } else {
        Signing::Now
    };
    full_compile_for(conn, zone, config, why, signing)
}

/// Who signs what a write compiles in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signing {
    /// This process: the zone it returns is the one to serve.
    Now,
    /// The server (`dnssec::set_signing_deferred`): the zone is checked
    /// but comes back unsigned.
    LeftToServer,
}

/// [`full_compile`], signing as `signing` says.
fn full_compile_for(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
    why: &str,
    signing: Signing,
) -> Result<ZoneChange, StoreError> {
    let started = Instant::now();
    if signing == Signing::LeftToServer && has_keys(conn, zone.id) {
        let out = zones::compile_unsigned_change(conn, zone, config);
        tracing::debug!(zone = %zone.name, "a write checked its zone, signing left to the server");
        return out;
    }
    let out = zones::compile_change(conn, zone, config);
    let ms = started.elapsed().as_millis();
    if ms >= 100 {
        tracing::info!(zone = %zone.name, ms, "a write compiled its whole zone: {why}");
    } else {
        tracing::debug!(zone = %zone.name, ms, "a write compiled its whole zone: {why}");
    }
    out
}

/// Whether a zone has DNSSEC keys (and so is served signed). A database
/// error counts as yes: the full compile then reports it.
fn has_keys(conn: &Connection, zone_id: i64) -> bool {
    crate::dnssec::zone_keys(conn, zone_id).map_or(true, |keys| !keys.is_empty())
}

/// Each name's records as stored now, as the full compile reads them (URL
/// records as the redirector's addresses, only those in `region`'s view),
/// and whether any of them has records limited to regions; `None` when
/// some RRset mixes TTLs, whose TTL then depends on row order (compile in
/// full).
fn name_changes(
    conn: &Connection,
    zone: &ZoneRow,
    redirector: &[IpAddr],
    region: Option<&str>,
    names: &[&str],
    base: &Zone,
) -> Result<Option<(Vec<NodeChange>, bool)>, StoreError> {
    let apex = zone.apex()?;
    let mut stmt = conn.prepare_cached(
        "SELECT name, rtype_code, ttl, rdata, regions FROM records
         WHERE zone_id = ?1 AND name = ?2 ORDER BY rtype_code, rdata",
    )?;
    let mut out: Vec<NodeChange> = Vec::with_capacity(names.len() + 1);
    let mut seen: Vec<&str> = Vec::with_capacity(names.len() + 1);
    let mut regional = false;
    // The apex's REGIONAL records (every regional record of the zone, for
    // Candor secondaries): the base's, but those of the changed names as
    // stored now.
    let mut kept = Vec::new();
    for &name in names.iter().chain(&[""]) {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let owner = owner_name(&apex, name)
            .map_err(|e| StoreError::Db(format!("stored record name {name:?} {e}")))?;
        let mut rows = stmt.query(rusqlite::params![zone.id, name])?;
        let mut records: Vec<(Rtype, u32, Box<[u8]>)> = Vec::new();
        let (mut urls, mut addresses) = (Vec::new(), Vec::new());
        while let Some(row) = rows.next()? {
            let stored = text_column(row, 0)?.to_owned();
            let code: u16 = row.get(1)?;
            let ttl: u32 = row.get(2)?;
            let rdata = blob_column(row, 3)?;
            // The rows of this server's view only, as the full compile
            // reads them.
            let regions = text_column(row, 4)?;
            if regions != content::GLOBAL {
                regional = true;
                for (rtype, ttl, rdata) in
                    regions::regional_records(Rtype(code), ttl, rdata, redirector)
                {
                    let encoded =
                        regions::encode_regional(owner.as_wire(), regions, rtype, ttl, &rdata);
                    kept.push((REGIONAL, 0, encoded.into_boxed_slice()));
                }
            }
            if !content::in_view(regions, region) {
                continue;
            }
            if Rtype(code) == content::URL {
                urls.push(stored);
                for ip in redirector {
                    let (rtype, bytes): (Rtype, Box<[u8]>) = match ip {
                        IpAddr::V4(v4) => (Rtype::A, v4.octets().into()),
                        IpAddr::V6(v6) => (Rtype::AAAA, v6.octets().into()),
                    };
                    records.push((rtype, ttl, bytes));
                }
                continue;
            }
            if matches!(Rtype(code), Rtype::A | Rtype::AAAA) {
                addresses.push(stored);
            }
            records.push((Rtype(code), ttl, rdata.into()));
        }
        compile::check_url_names(&urls, &addresses)?;
        let mixed = records
            .iter()
            .any(|a| records.iter().any(|b| a.0 == b.0 && a.1 != b.1));
        if mixed {
            return Ok(None);
        }
        out.push(NodeChange {
            owner: owner.as_wire().into(),
            records,
        });
    }
    let changed: Vec<&[u8]> = out.iter().map(|c| &*c.owner).collect();
    let base_regional = base
        .rrset(base.node(0), REGIONAL)
        .map_or(&[][..], |set| base.tails(set));
    let mut rest = base_regional;
    while let Some((rdata, len)) = next_rdata(rest) {
        let unchanged = candor_zone::regional::decode(rdata)
            .is_ok_and(|r| !changed.iter().any(|c| c.eq_ignore_ascii_case(&r.owner)));
        if unchanged {
            kept.push((REGIONAL, 0, rdata.into()));
        }
        rest = &rest[len..];
    }
    let apex_wire = apex.as_wire();
    if let Some(at_apex) = out.iter_mut().find(|c| *c.owner == *apex_wire) {
        at_apex.records.extend(kept);
    }
    Ok(Some((out, regional)))
}

/// The RDATA of the first RR tail (TYPE, CLASS, TTL, RDLENGTH, RDATA) of
/// `tails`, and the tail's length.
fn next_rdata(tails: &[u8]) -> Option<(&[u8], usize)> {
    let head = tails.get(..10)?;
    let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
    Some((tails.get(10..10 + len)?, 10 + len))
}

mod signed;
#[cfg(test)]
mod tests;
