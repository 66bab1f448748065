//! Regional records (docs/regions.md): every region's view of a zone must
//! be a valid zone, not only the view this server compiles.
//!
//! The builder's zone-level rules are per name (CNAME and POOL beside
//! other data, ALIAS beside addresses, one DNAME, SOA and NS at the apex,
//! URL beside addresses), so a view can differ from the global one only at
//! names with regional records. [`check_views`] compiles, for each such
//! name and each view that differs there (the global one and each label
//! named at it), a small zone of the apex's system records and that
//! name's records in the view, with the same builder and URL rule as the
//! full compile. The cost is the rows at those names, never the zone; the
//! callers find those names while reading rows they read anyway (the full
//! compile's scan, the incremental path's changed names).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;

use candor_wire::{Name, Rtype};
use candor_zone::ZoneBuilder;
use rusqlite::Connection;

use crate::compile::{self, blob_column, owner_name, text_column};
use crate::content::{self, GLOBAL};
use crate::zones::ZoneRow;
use crate::{FieldError, StoreConfig, StoreError};

/// One stored row of a name: type, TTL, RDATA and stored regions.
type Row = (Rtype, u32, Vec<u8>, String);

/// Checks every region's view of the zone at the stored names `names`
/// (relative, `""` for the apex; names without regional records are
/// skipped). Errors are the builder's, with the view named (`CNAME beside
/// other data at www.example.com. (in region ams)`).
pub(crate) fn check_views(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
    names: &[&str],
) -> Result<(), StoreError> {
    let apex = zone.apex()?;
    let mut checked: HashSet<&str> = HashSet::with_capacity(names.len());
    let mut errors = Vec::new();
    for &name in names {
        if !checked.insert(name) {
            continue;
        }
        let rows = name_rows(conn, zone.id, name)?;
        let mut labels: Vec<&str> = rows
            .iter()
            .filter(|r| r.3 != GLOBAL)
            .flat_map(|r| r.3.split(','))
            .collect();
        if labels.is_empty() {
            continue;
        }
        labels.sort_unstable();
        labels.dedup();
        let system = if name.is_empty() {
            Vec::new()
        } else {
            name_rows(conn, zone.id, "")?
        };
        let owner = owner_name(&apex, name)
            .map_err(|e| StoreError::Db(format!("stored record name {name:?} {e}")))?;
        for view in std::iter::once(None).chain(labels.into_iter().map(Some)) {
            let shown = match view {
                Some(label) => format!("in region {label}"),
                None => "in the global view".to_owned(),
            };
            let mut builder = ZoneBuilder::new(&apex);
            let rest = Path::new("");
            for r in system.iter().filter(|r| r.3 == GLOBAL) {
                builder.add(&apex, r.0, r.1, &r.2, Some((rest, 0)));
            }
            let in_view: Vec<&Row> = rows
                .iter()
                .filter(|r| content::in_view(&r.3, view))
                .collect();
            match add_view(&mut builder, &owner, name, &in_view, &config.redirector) {
                Ok(()) => {}
                Err(StoreError::Invalid(list)) => {
                    errors.extend(with_view(list, &shown));
                    continue;
                }
                Err(other) => return Err(other),
            }
            if let Err(problems) = builder.finish() {
                errors.extend(with_view(compile::zone_errors(problems), &shown));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}

/// Adds a name's rows of one view to a builder as the full compile does
/// (URL records as the redirector's addresses), with its URL rule.
fn add_view(
    builder: &mut ZoneBuilder,
    owner: &Name,
    name: &str,
    rows: &[&Row],
    redirector: &[IpAddr],
) -> Result<(), StoreError> {
    let (mut urls, mut addresses) = (Vec::new(), Vec::new());
    let source = Path::new("");
    for (i, r) in rows.iter().enumerate() {
        let line = Some((source, u32::try_from(i).unwrap_or(u32::MAX)));
        if r.0 == content::URL {
            urls.push(name.to_owned());
            for ip in redirector {
                match ip {
                    IpAddr::V4(v4) => builder.add(owner, Rtype::A, r.1, &v4.octets(), line),
                    IpAddr::V6(v6) => builder.add(owner, Rtype::AAAA, r.1, &v6.octets(), line),
                }
            }
            continue;
        }
        if matches!(r.0, Rtype::A | Rtype::AAAA) {
            addresses.push(name.to_owned());
        }
        builder.add(owner, r.0, r.1, &r.2, line);
    }
    compile::check_url_names(&urls, &addresses)
}

/// Field errors with the view named.
fn with_view(errors: Vec<FieldError>, shown: &str) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut f| {
            f.message = format!("{} ({shown})", f.message);
            f
        })
        .collect()
}

/// Every stored row at one name of a zone.
fn name_rows(conn: &Connection, zone_id: i64, name: &str) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rtype_code, ttl, rdata, regions FROM records WHERE zone_id = ?1 AND name = ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![zone_id, name])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let code: u16 = row.get(0)?;
        let ttl: u32 = row.get(1)?;
        out.push((
            Rtype(code),
            ttl,
            blob_column(row, 2)?.to_vec(),
            text_column(row, 3)?.to_owned(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

/// What a stored record limited to regions compiles to, as the full
/// compile adds it to a view: a URL record is the redirector's addresses,
/// any other record itself. These travel to Candor secondaries as
/// REGIONAL records (`candor_zone::regional`).
pub(crate) fn regional_records(
    rtype: Rtype,
    ttl: u32,
    rdata: &[u8],
    redirector: &[IpAddr],
) -> Vec<(Rtype, u32, Box<[u8]>)> {
    if rtype != content::URL {
        return vec![(rtype, ttl, rdata.into())];
    }
    redirector
        .iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => (Rtype::A, ttl, v4.octets().into()),
            IpAddr::V6(v6) => (Rtype::AAAA, ttl, v6.octets().into()),
        })
        .collect()
}

/// The REGIONAL RDATA of a record at `owner` (wire form) limited to the
/// stored regions `regions` (comma-separated labels).
pub(crate) fn encode_regional(
    owner: &[u8],
    regions: &str,
    rtype: Rtype,
    ttl: u32,
    rdata: &[u8],
) -> Vec<u8> {
    let labels: Vec<&str> = regions.split(',').collect();
    let mut out = Vec::with_capacity(owner.len() + 16 + regions.len() + rdata.len());
    candor_zone::regional::encode(owner, rtype, ttl, &labels, rdata, &mut out);
    out
}
