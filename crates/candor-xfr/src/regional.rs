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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use candor_wire::Rtype;
use candor_zone::regional::decode;
use candor_zone::{NodeChange, OwnedRecord, REGIONAL, Zone, ZoneBuilder, ZoneDiff};

use crate::client::{ApplyError, Step};
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

/// [`regional_view`] of `held`, the zone held after IXFR `steps` were
/// applied, made in proportion to the steps: `view`, this server's view
/// of the zone held before them, patched at the names the steps touch
/// (their owners, and the owners of the REGIONAL records they add or
/// remove) with what `regional_view` would put there. Each touched name
/// gets `held`'s records and this region's REGIONAL records at it, merged
/// as `regional_view` merges them, so the result reads exactly as
/// `regional_view(held)`. Falls back to that (a cost in proportion to
/// the region's REGIONAL records) when the patch cannot take the change,
/// when there was no view before or it was the zone held itself, or when
/// `held` was compiled whole (an IXFR that did not patch: a view on the
/// old base would keep it alive).
pub fn regional_view_after(
    view: &Arc<Zone>,
    held: &Arc<Zone>,
    steps: &[Step],
    region: Option<&str>,
) -> Result<(Arc<Zone>, usize), ApplyError> {
    let Some(region) = region else {
        return Ok((Arc::clone(held), 0));
    };
    let (in_view, skipped) = in_region(held, region);
    if in_view.is_empty() {
        return Ok((Arc::clone(held), skipped));
    }
    if held.overlay_names() == 0 || view.overlay_names() == 0 || view.serial() == held.serial() {
        return regional_view(held, Some(region));
    }
    // The names whose view may differ: the steps' owners, and the owners
    // of the REGIONAL records they add or remove in this region.
    let mut touched: HashSet<Box<[u8]>> = HashSet::new();
    touched.insert(held.apex().as_wire().into());
    for r in steps.iter().flat_map(|s| s.removed.iter().chain(&s.added)) {
        if r.rtype == REGIONAL {
            if let Ok(d) = decode(&r.rdata)
                && d.in_region(Some(region))
            {
                touched.insert(d.owner.to_ascii_lowercase().into());
            }
        } else {
            touched.insert(r.owner.to_ascii_lowercase().into());
        }
    }
    let mut regional: HashMap<&[u8], Vec<&OwnedRecord>> = HashMap::new();
    for r in &in_view {
        regional.entry(&r.owner[..]).or_default().push(r);
    }
    let changes: Vec<NodeChange> = touched
        .into_iter()
        .map(|owner| {
            let records = merged(held, &owner, regional.get(&owner[..]));
            NodeChange { owner, records }
        })
        .collect();
    match view.patch(&changes) {
        Ok(patched) => Ok((Arc::new(patched), skipped)),
        Err(_) => regional_view(held, Some(region)),
    }
}

/// The records `regional_view` gives `owner`: `held`'s (each RRset's
/// records with their RRSIGs) and then this region's REGIONAL records at
/// it, a record already there taking the REGIONAL record's TTL, sorted by
/// type and RDATA (as `Zone::apply_diff` hands them to the patch).
fn merged(
    held: &Zone,
    owner: &[u8],
    regional: Option<&Vec<&OwnedRecord>>,
) -> Vec<(Rtype, u32, Box<[u8]>)> {
    let mut records: Vec<(Rtype, u32, Box<[u8]>)> = Vec::new();
    if let Some(id) = held.node_by_name(owner) {
        for set in held.rrsets(held.node(id)) {
            for tails in [held.tails(set), held.sig_tails(set)] {
                let mut rest = tails;
                while let Some((rtype, ttl, rdata, len)) = next_tail(rest) {
                    rest = &rest[len..];
                    records.push((rtype, ttl, rdata.into()));
                }
            }
        }
    }
    for r in regional.into_iter().flatten() {
        match records
            .iter()
            .position(|(t, _, d)| *t == r.rtype && d[..] == r.rdata[..])
        {
            Some(i) => records[i].1 = r.ttl,
            None => records.push((r.rtype, r.ttl, r.rdata.clone())),
        }
    }
    records.sort_by(|a, b| (a.0.0, &a.2).cmp(&(b.0.0, &b.2)));
    records
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
