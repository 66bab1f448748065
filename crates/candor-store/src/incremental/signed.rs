//! Record writes to a signed zone (docs/dnssec.md, "Incremental
//! signing"): the changed names' rows are read as for an unsigned zone,
//! and `candor_dnssec::sign_change` signs only what they change (the
//! changed RRsets, the SOA, the NSECs of the changed names and of their
//! neighbours) and patches the result into the last version. Anything it
//! does not do (a delegation, a wildcard, changed keys, ...) signs the
//! whole zone as before (`zones::compile_change`, which signs through
//! `dnssec::sign_compiled` and reports what it refuses), logged with why.

use std::sync::Arc;

use candor_dnssec::{ChangeSignError, SigningPolicy};
use candor_zone::{MAX_OVERLAY_NAMES, Zone};
use rusqlite::Connection;

use crate::time::now;
use crate::zones::ZoneRow;
use crate::{StoreConfig, StoreError, ZoneChange, compile, regions};

/// The signed zone after a record write inside its transaction: `base`
/// (the version before it) with the stored names `names` (relative, `""`
/// for the apex) read back and signed incrementally, or the zone compiled
/// and signed in full. Errors are the full compile's.
pub(super) fn compile_change(
    conn: &Connection,
    zone: &ZoneRow,
    config: &StoreConfig,
    base: Arc<Zone>,
    names: &[&str],
) -> Result<ZoneChange, StoreError> {
    // Which key signs what: the rollover's states, as a full signing
    // takes them (a published key that does not sign yet, or no longer,
    // signs nothing here either).
    let (states, keys) = crate::dnssec_keys::signing_keys(conn, zone.id)?;
    if keys.is_empty() {
        // Signed before, not now: the full compile makes it unsigned.
        return super::full_compile(conn, zone, config, "the zone's keys are gone");
    }
    let region = config.region.as_deref();
    let Some((changes, regional)) =
        super::name_changes(conn, zone, &config.redirector, region, names, &base)?
    else {
        return super::full_compile(conn, zone, config, "an RRset at a changed name mixes TTLs");
    };
    // A patch copies the overlay and asks for a rebuild past
    // `MAX_OVERLAY_NAMES`, which for a signed zone would mean signing it
    // all again: compact first (a compile of the records as they are,
    // signatures included; nothing is signed).
    let room = 2 * changes.len() + 2;
    let base = if base.overlay_names() + room > MAX_OVERLAY_NAMES {
        match base.compact() {
            Ok(compacted) => Arc::new(compacted),
            Err(_) => {
                return super::full_compile(conn, zone, config, "the overlay is full");
            }
        }
    } else {
        base
    };
    let at = u64::try_from(now()).unwrap_or(0);
    let set = states.select(&keys).into();
    match candor_dnssec::sign_change_with(&base, &changes, &set, &SigningPolicy::default(), at) {
        Ok((next, _)) => {
            if regional {
                regions::check_views(conn, zone, config, names)?;
            }
            Ok(ZoneChange {
                zone: zone.info(),
                compiled: Some(Arc::new(next)),
            })
        }
        Err(ChangeSignError::Invalid(errors)) => {
            Err(StoreError::Invalid(compile::zone_errors(errors)))
        }
        Err(ChangeSignError::Rebuild(why)) => super::full_compile(conn, zone, config, why),
        Err(ChangeSignError::Sign(e)) => {
            Err(StoreError::Db(format!("cannot sign {}: {e}", zone.name)))
        }
    }
}

#[cfg(test)]
mod tests;
