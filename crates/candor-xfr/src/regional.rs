//! A Candor secondary's own view of a zone received in the Candor view
//! (docs/regions.md): the zone as held (the primary's global view, with
//! every record limited to regions kept as a REGIONAL record at the apex,
//! `candor_zone::regional`) plus, as real records, the REGIONAL records
//! whose regions include this server's `--region`.
//!
//! The zone held stays what the primary sent: it is what IXFR applies to
//! and what is written to disk; the view is made from it after each
//! transfer and at start-up, in proportion to the records added (a patch
//! over the held zone, `Zone::apply_diff`), or by a full compile when the
//! patch cannot take them (a regional delegation or wildcard).

use std::sync::Arc;

use candor_zone::regional::decode;
use candor_zone::{OwnedRecord, REGIONAL, Zone, ZoneBuilder, ZoneDiff};

use crate::client::ApplyError;
use crate::journal::zone_soa;
use crate::view::next_tail;

/// The zone a server in `region` serves for the zone `held` (see the
/// module docs), and how many REGIONAL records could not be read (they
/// are left out). Without a region, or without REGIONAL records for it,
/// that is `held` itself.
pub fn regional_view(
    held: &Arc<Zone>,
    region: Option<&str>,
) -> Result<(Arc<Zone>, usize), ApplyError> {
    let Some(region) = region else {
        return Ok((Arc::clone(held), 0));
    };
    let (added, skipped) = in_region(held, region);
    if added.is_empty() {
        return Ok((Arc::clone(held), skipped));
    }
    let soa = zone_soa(held);
    let diff = ZoneDiff {
        old_soa: soa.clone(),
        new_soa: soa,
        removed: Vec::new(),
        added,
    };
    if let Ok(patched) = held.apply_diff(&diff) {
        return Ok((Arc::new(patched), skipped));
    }
    let mut b = ZoneBuilder::new(held.apex());
    for r in held.records() {
        add(&mut b, r.owner, r.rtype, r.ttl, r.rdata);
    }
    for r in &diff.added {
        add(&mut b, &r.owner, r.rtype, r.ttl, &r.rdata);
    }
    let zone = b.finish().map_err(ApplyError::Invalid)?;
    Ok((Arc::new(zone), skipped))
}

/// Adds one record to a builder (an owner that is not a valid name is
/// left out: the zone held was compiled from valid names already).
fn add(b: &mut ZoneBuilder, owner: &[u8], rtype: candor_wire::Rtype, ttl: u32, rdata: &[u8]) {
    if let Ok(owner) = candor_wire::Name::from_wire(owner) {
        b.add(&owner, rtype, ttl, rdata, None);
    }
}

/// The records of the zone's REGIONAL records whose regions include
/// `region`, in RDATA order, and how many REGIONAL records are malformed.
fn in_region(zone: &Zone, region: &str) -> (Vec<OwnedRecord>, usize) {
    let Some(set) = zone.rrset(zone.node(0), REGIONAL) else {
        return (Vec::new(), 0);
    };
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut rest = zone.tails(set);
    while let Some((_, _, rdata, len)) = next_tail(rest) {
        rest = &rest[len..];
        match decode(rdata) {
            Ok(r) if r.in_region(Some(region)) => out.push(OwnedRecord {
                owner: r.owner,
                rtype: r.rtype,
                ttl: r.ttl,
                rdata: r.rdata.into(),
            }),
            Ok(_) => {}
            Err(_) => skipped += 1,
        }
    }
    out.sort_by(|a, b| a.canonical_cmp(b));
    (out, skipped)
}
