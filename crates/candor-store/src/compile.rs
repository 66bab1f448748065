//! Building zones from stored rows: owner names, the SOA, and compilation
//! with [`ZoneBuilder`] straight from SQLite rows.

use std::net::IpAddr;
use std::path::Path;

use candor_wire::{Name, Rtype};
use candor_zone::{REGIONAL, Zone, ZoneBuilder, ZoneError, ZoneErrorKind};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};

use crate::{FieldError, StoreConfig, StoreError, content};

/// The owner name of a record named `name` in the zone at `apex`.
///
/// `""` and `"@"` are the apex; other names are relative to the zone unless
/// they end in a dot, in which case they must be inside it. Only printable
/// ASCII other than space is allowed (`\` escapes included). The error is a
/// message for the `name` field.
pub fn owner_name(apex: &Name, name: &str) -> Result<Name, String> {
    if name.is_empty() || name == "@" {
        return Ok(apex.clone());
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may contain only printable characters other than spaces".to_owned());
    }
    let escaped_dot = {
        let body = &name[..name.len() - 1];
        body.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
    };
    if name.ends_with('.') && !escaped_dot {
        let owner = Name::from_text(name, None).map_err(|e| format!("is not valid: {e}"))?;
        if !owner.ends_with(apex) {
            return Err("is outside the zone".to_owned());
        }
        return Ok(owner);
    }
    Name::from_text(name, Some(apex)).map_err(|e| format!("is not valid: {e}"))
}

/// The owner name of a record named `name` in the zone at `apex`, for a
/// name given as input (by the API or the CLI): [`owner_name`], except that
/// a relative name ending in the zone's own name is refused. Such a name is
/// almost always a fully-qualified one written without its final dot
/// (`www.example.com` in example.com would be `www.example.com.example.com`),
/// and the message says how to write it either way. Stored records are read
/// with [`owner_name`], so a record made before this rule still loads.
pub fn input_owner_name(apex: &Name, name: &str) -> Result<Name, String> {
    let owner = owner_name(apex, name)?;
    if name.is_empty() || name == "@" || is_fully_qualified(name) {
        return Ok(owner);
    }
    // The zone's name under itself (`example.com.example.com.`): a relative
    // name repeats the zone when its owner is that name or below it.
    let zone = apex.to_string();
    let zone = zone.strip_suffix('.').unwrap_or(&zone);
    let Ok(doubled) = Name::from_text(zone, Some(apex)) else {
        // Too long to be a name, so no owner ends with it.
        return Ok(owner);
    };
    if !owner.ends_with(&doubled) {
        return Ok(owner);
    }
    let full = owner.to_string();
    let full = full.strip_suffix('.').unwrap_or(&full);
    let short = owner.to_relative_text(&doubled);
    Err(format!(
        "is relative to the zone, so it would be {full}; write \"{short}\" or \"{name}.\" \
         (with a final dot)"
    ))
}

/// Whether `name` ends in a dot that is not escaped, i.e. is written
/// fully qualified.
fn is_fully_qualified(name: &str) -> bool {
    name.strip_suffix('.')
        .is_some_and(|body| body.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0)
}

/// A zone's apex from its stored name.
pub(crate) fn zone_apex(name: &str) -> Result<Name, StoreError> {
    Name::from_text(&format!("{name}."), None)
        .map_err(|e| StoreError::Db(format!("stored zone name {name:?} is invalid: {e}")))
}

/// The SOA content (DNSimple style, names without trailing dots) and RDATA
/// for `serial`.
pub(crate) fn soa(config: &StoreConfig, serial: u32) -> (String, Vec<u8>) {
    let mname = config
        .nameservers
        .first()
        .cloned()
        .unwrap_or_else(Name::root);
    let rname = &config.hostmaster;
    let timers = [
        serial,
        config.soa_refresh,
        config.soa_retry,
        config.soa_expire,
        config.soa_minimum,
    ];
    let mut rdata = Vec::with_capacity(mname.wire_len() + rname.wire_len() + 20);
    rdata.extend_from_slice(mname.as_wire());
    rdata.extend_from_slice(rname.as_wire());
    for t in timers {
        rdata.extend_from_slice(&t.to_be_bytes());
    }
    let content = format!(
        "{} {} {} {} {} {} {}",
        name_without_dot(&mname),
        name_without_dot(rname),
        timers[0],
        timers[1],
        timers[2],
        timers[3],
        timers[4]
    );
    (content, rdata)
}

/// A name in presentation format without its final dot (the root stays `.`).
pub(crate) fn name_without_dot(name: &Name) -> String {
    let mut text = name.to_string();
    if text.len() > 1 {
        text.pop();
    }
    text
}

/// Reads owner names from rows, reusing the last one when rows repeat it
/// (rows come in index order, grouped by name).
pub(crate) struct OwnerCache {
    /// The zone apex.
    apex: Name,
    /// The last relative name read.
    last_text: String,
    /// Its owner.
    last: Name,
}

impl OwnerCache {
    /// A cache for the zone at `apex`.
    pub(crate) fn new(apex: &Name) -> OwnerCache {
        OwnerCache {
            apex: apex.clone(),
            last_text: String::new(),
            last: apex.clone(),
        }
    }

    /// The owner of a stored relative name.
    pub(crate) fn get(&mut self, text: &str) -> Result<&Name, StoreError> {
        if text != self.last_text {
            self.last = owner_name(&self.apex, text)
                .map_err(|e| StoreError::Db(format!("stored record name {text:?} {e}")))?;
            text.clone_into(&mut self.last_text);
        }
        Ok(&self.last)
    }
}

/// A placeholder source for stored rows; the builder's "line" is then the
/// row's ordinal, which makes the first stored record set an RRset's TTL.
const ROWS: &str = "";

/// Adds every stored record of a zone (system ones too, or only those) to a
/// builder. A URL record becomes A/AAAA records with the redirector's
/// addresses; a URL record beside another URL, A or AAAA record at the same
/// name is refused (the name could answer two ways).
///
/// Only the records in the view of `region` are added (`None`: the
/// global view; docs/regions.md). Returns the names that have records
/// limited to regions (in view or not), each once per run of its rows.
///
/// Nothing here depends on how the process was started: stored data that
/// was valid when it was written stays valid (an ALIAS target outside
/// Candor's zones compiles whether or not a resolver runs; a URL record
/// without redirector addresses gets no addresses).
pub(crate) fn add_rows(
    conn: &Connection,
    zone_id: i64,
    only_system: bool,
    builder: &mut ZoneBuilder,
    apex: &Name,
    redirector: &[IpAddr],
    region: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let sql = if only_system {
        // System records are all at the apex; `name = ''` lets the lookup
        // use the records_identity index instead of scanning the zone.
        "SELECT name, rtype_code, ttl, rdata, regions FROM records
         WHERE zone_id = ?1 AND name = '' AND system = 1"
    } else {
        "SELECT name, rtype_code, ttl, rdata, regions FROM records WHERE zone_id = ?1"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([zone_id])?;
    let mut owners = OwnerCache::new(apex);
    let mut ordinal: u32 = 0;
    let source = Path::new(ROWS);
    // Names with URL records, and names with address records of their own.
    let mut url_names: Vec<String> = Vec::new();
    let mut address_names: Vec<String> = Vec::new();
    let mut regional: Vec<String> = Vec::new();
    while let Some(row) = rows.next()? {
        let name = text_column(row, 0)?;
        let code: u16 = row.get(1)?;
        let ttl: u32 = row.get(2)?;
        let rdata = blob_column(row, 3)?;
        ordinal = ordinal.saturating_add(1);
        let regions = text_column(row, 4)?;
        if regions != content::GLOBAL {
            if regional.last().is_none_or(|n| n != name) {
                regional.push(name.to_owned());
            }
            // Kept for Candor secondaries, whatever this server's view.
            let owner = owners.get(name)?.as_wire().to_vec();
            for (rtype, ttl, rdata) in
                crate::regions::regional_records(Rtype(code), ttl, rdata, redirector)
            {
                let encoded = crate::regions::encode_regional(&owner, regions, rtype, ttl, &rdata);
                builder.add(apex, REGIONAL, 0, &encoded, Some((source, ordinal)));
            }
        }
        if !content::in_view(regions, region) {
            continue;
        }
        let owner = owners.get(name)?;
        if Rtype(code) == content::URL {
            url_names.push(name.to_owned());
            for ip in redirector {
                let (rtype, bytes) = match ip {
                    IpAddr::V4(v4) => (Rtype::A, v4.octets().to_vec()),
                    IpAddr::V6(v6) => (Rtype::AAAA, v6.octets().to_vec()),
                };
                builder.add(owner, rtype, ttl, &bytes, Some((source, ordinal)));
            }
            continue;
        }
        if matches!(Rtype(code), Rtype::A | Rtype::AAAA) {
            address_names.push(name.to_owned());
        }
        builder.add(owner, Rtype(code), ttl, rdata, Some((source, ordinal)));
    }
    check_url_names(&url_names, &address_names)?;
    Ok(regional)
}

/// Whether a target (wire name) is at or below a stored zone.
pub(crate) fn target_in_zones(conn: &Connection, rdata: &[u8]) -> Result<bool, StoreError> {
    let target = Name::from_wire(rdata)
        .map_err(|_| StoreError::invalid("content", "is not a valid host name"))?;
    let mut suffix = Some(target.to_lowercase());
    while let Some(name) = suffix {
        if name.is_root() {
            break;
        }
        let found: Option<i64> = conn
            .query_row(
                "SELECT id FROM zones WHERE name = ?1",
                [name_without_dot(&name)],
                |row| row.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(true);
        }
        suffix = name.parent();
    }
    Ok(false)
}

/// Refuses a name with two URL records, or with a URL record and address
/// records of its own.
pub(crate) fn check_url_names(urls: &[String], addresses: &[String]) -> Result<(), StoreError> {
    let mut seen: Vec<&str> = Vec::with_capacity(urls.len());
    for name in urls {
        let shown = if name.is_empty() {
            "the apex"
        } else {
            name.as_str()
        };
        if seen.contains(&name.as_str()) {
            return Err(StoreError::invalid(
                "name",
                format!("{shown} has more than one URL record"),
            ));
        }
        if addresses.contains(name) {
            return Err(StoreError::invalid(
                "name",
                format!("{shown} has a URL record beside A or AAAA records"),
            ));
        }
        seen.push(name);
    }
    Ok(())
}

/// A TEXT column without copying it.
pub(crate) fn text_column<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, StoreError> {
    match row.get_ref(i)? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map_err(|e| StoreError::Db(format!("column {i} is not UTF-8: {e}"))),
        other => Err(StoreError::Db(format!(
            "column {i} is {:?}, not TEXT",
            other.data_type()
        ))),
    }
}

/// A BLOB column without copying it.
pub(crate) fn blob_column<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
    match row.get_ref(i)? {
        ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(StoreError::Db(format!(
            "column {i} is {:?}, not BLOB",
            other.data_type()
        ))),
    }
}

/// Compiles a zone from its stored rows, in the view of
/// `config.region`. The outer error is a database failure; the inner one
/// lists the zone's problems.
#[cfg(test)]
pub(crate) fn compile_stored(
    conn: &Connection,
    zone_id: i64,
    apex: &Name,
    config: &StoreConfig,
) -> Result<Result<Zone, Vec<ZoneError>>, StoreError> {
    Ok(compile_view(conn, zone_id, apex, config)?.0)
}

/// A compiled zone or its problems, and the names with records limited
/// to regions.
pub(crate) type CompiledView = (Result<Zone, Vec<ZoneError>>, Vec<String>);

/// [`compile_stored`], and the names with records limited to regions
/// (whose other views `regions::check_views` checks).
pub(crate) fn compile_view(
    conn: &Connection,
    zone_id: i64,
    apex: &Name,
    config: &StoreConfig,
) -> Result<CompiledView, StoreError> {
    let mut builder = ZoneBuilder::new(apex);
    let region = config.region.as_deref();
    let regional = add_rows(
        conn,
        zone_id,
        false,
        &mut builder,
        apex,
        &config.redirector,
        region,
    )?;
    Ok((builder.finish(), regional))
}

/// Zone problems as field errors: data problems concern `content`, the
/// rest (CNAME and DNAME rules, placement) concern `name`.
pub(crate) fn zone_errors(errors: Vec<ZoneError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            let field = match e.kind {
                ZoneErrorKind::Data => "content",
                ZoneErrorKind::Placement | ZoneErrorKind::File => "name",
            };
            FieldError::new(field, e.message)
        })
        .collect()
}

#[cfg(test)]
mod tests;
