//! Tests of background compaction: `Zone::compact` of a version, then
//! `Zone::catch_up` with the writes that landed while it compiled, must
//! read exactly as the builder's zone of the same records, and diffs across
//! the two bases must still cost (and equal) the change.

use std::sync::Arc;

use candor_wire::Rtype;

use super::super::{NodeChange, PatchError, base_of, changed_names};
use super::{
    Model, Rng, assert_same, change, compile, pool, probes, random_content, small, soa, w,
};
use crate::{Zone, ZoneDiff};

/// One random write as a store makes it: a few names get new content and
/// the apex a new SOA. Returns the changes and the model after them.
fn random_write(rng: &mut Rng, model: &Model, serial: u32) -> (Vec<NodeChange>, Model) {
    let pool = pool();
    let mut changes = Vec::new();
    let mut next = model.clone();
    for _ in 0..=rng.below(3) {
        let owner = pool[rng.below(pool.len() as u64) as usize].clone();
        let records = random_content(rng, &owner, serial);
        if records.is_empty() {
            next.remove(&owner);
        } else {
            next.insert(owner.clone(), records.clone());
        }
        changes.push(NodeChange {
            owner: owner.into(),
            records,
        });
    }
    let apex = w("@");
    let mut apex_records = next.get(&apex).cloned().unwrap_or_default();
    apex_records.retain(|r| r.0 != Rtype::SOA);
    apex_records.push((Rtype::SOA, 3600, soa(serial)));
    next.insert(apex.clone(), apex_records.clone());
    changes.push(NodeChange {
        owner: apex.into(),
        records: apex_records,
    });
    (changes, next)
}

/// Random writes keep landing while a compaction runs (started whenever
/// the overlay holds a few names); each catch-up reads as the full compile
/// of the records then current, sometimes loses the race to another write
/// and catches up again, and once swapped in, the next writes patch it.
/// A few catch-ups ask for a rebuild (dropped, as the store drops them).
/// Diffs from any version on the old base to one on the new equal the
/// compiled versions' diffs and cost only the overlays' names.
#[test]
fn compaction_caught_up_with_racing_writes_reads_as_a_full_compile() {
    let pool = pool();
    let (mut swapped, mut retried, mut abandoned) = (0, 0, 0);
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = super::start_model();
        let mut zone = Arc::new(compile(&model).unwrap());
        // (the version compacted or caught up to, what reads as it)
        let mut running: Option<(Arc<Zone>, Arc<Zone>)> = None;
        let mut serial = 1;
        for _ in 0..80 {
            serial += 1;
            let (changes, next) = random_write(&mut rng, &model, serial);
            let (prev, prev_model) = (Arc::clone(&zone), model.clone());
            match (zone.patch(&changes), compile(&next)) {
                (Ok(p), Ok(_)) => zone = Arc::new(p),
                (Err(PatchError::Rebuild(_)), Ok(f)) => zone = Arc::new(f),
                (Err(_), Err(_)) => continue,
                (Ok(_), Err(e)) => panic!("seed {seed}: patch accepted {e:?}"),
                (Err(PatchError::Invalid(e)), Ok(_)) => panic!("seed {seed}: refused {e:?}"),
            }
            model = next;
            let Some((from, made)) = running.take() else {
                if zone.overlay_names() >= 4 {
                    let compacted = zone.compact().unwrap();
                    assert_eq!(compacted.overlay_names(), 0);
                    assert_same(
                        &compacted,
                        &compile(&model).unwrap(),
                        &probes(&model, &pool),
                    );
                    running = Some((Arc::clone(&zone), Arc::new(compacted)));
                }
                continue;
            };
            if rng.below(3) == 0 {
                running = Some((from, made)); // Still compiling.
                continue;
            }
            let caught_up = match made.catch_up(&from, &zone) {
                Ok(z) => Arc::new(z),
                // A rebuild since: the compaction is of no use.
                Err(PatchError::Rebuild(_)) if !std::ptr::eq(base_of(&zone), base_of(&from)) => {
                    continue;
                }
                // The fresh base is more exact about which additional
                // targets wait for a name than the overlay was: a write
                // the old base took may need a rebuild here. The caller
                // drops the compaction (the next one starts from there).
                Err(PatchError::Rebuild(_)) => {
                    abandoned += 1;
                    continue;
                }
                Err(e) => panic!("seed {seed}: catch-up failed: {e}"),
            };
            let full = compile(&model).unwrap();
            assert_same(&caught_up, &full, &probes(&model, &pool));
            // The version published before the write and the caught-up one:
            // a diff across the two bases, through names only.
            assert!(changed_names(&prev, &caught_up).is_some());
            let compiled_prev = compile(&prev_model).unwrap();
            assert_eq!(
                ZoneDiff::between(&prev, &caught_up),
                ZoneDiff::between(&compiled_prev, &full)
            );
            // Replacing the current version by its compaction changes nothing.
            let same = ZoneDiff::between_related(&zone, &caught_up).unwrap();
            assert!(same.removed.is_empty() && same.added.is_empty());
            if rng.below(4) == 0 {
                // Another write won the race to the swap: catch up again.
                running = Some((Arc::clone(&zone), caught_up));
                retried += 1;
            } else {
                zone = caught_up;
                swapped += 1;
            }
        }
    }
    assert!(
        swapped > 100 && retried > 20 && abandoned * 10 < swapped,
        "{swapped} swapped, {retried} retried, {abandoned} abandoned"
    );
}

/// The write that lands while the base compiles is in the caught-up
/// version, and the names the compaction replaced are not lost either.
#[test]
fn a_write_racing_the_compaction_is_not_lost() {
    let (mut m, z) = small();
    let z = Arc::new(change(&mut m, &z, "h3", vec![(Rtype::A, 60, a(3))]));
    let v = Arc::new(change(&mut m, &z, "mail", vec![]));
    let compacted = Arc::new(v.compact().unwrap());
    // Meanwhile a write lands on the old base.
    let c = change(&mut m, &v, "racer", vec![(Rtype::A, 60, a(9))]);
    let caught_up = compacted.catch_up(&v, &c).unwrap();
    assert_same(&caught_up, &compile(&m).unwrap(), &probes(&m, &pool()));
    assert!(caught_up.node_by_name(&w("racer")).is_some());
    assert!(caught_up.node_by_name(&w("mail")).is_none());
    // Only the racing write's name sits in the new overlay.
    assert_eq!(caught_up.overlay_names(), 1);
    // Nothing to catch up with is an empty patch; unrelated versions rebuild.
    assert_eq!(compacted.catch_up(&v, &v).unwrap().overlay_names(), 0);
    let unrelated = compile(&m).unwrap();
    assert_eq!(
        compacted.catch_up(&unrelated, &c).err(),
        Some(PatchError::Rebuild("the versions are not related"))
    );
}

/// An A record's RDATA.
fn a(last: u8) -> Box<[u8]> {
    super::a(last)
}
