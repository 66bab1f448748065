//! The ALIAS targets of the served zones, sans I/O: what the resolver
//! must follow for zones that are not the store's (a Candor secondary's
//! zones, received with their ALIAS records in the Candor view, and
//! `--zones` files), beside the store's own `Store::alias_targets`.
//!
//! [`ServedTargets::update`] reads each served zone once per version: a
//! zone seen for the first time (or a version unrelated to the one read
//! before) is walked whole, a version patched from the one read before
//! (an IXFR applied by patching, a record write, a compaction) costs its
//! change (`ZoneDiff::between_related`), so a secondary that applies an
//! IXFR of 100 changes to a zone of a million records does not make the
//! resolver walk the million. [`ServedTargets::outside`] lists the targets
//! no served zone holds: those the answer path asks the resolver's table
//! for (`candor_answer::local_alias_target` answers the others from the
//! served zones).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use candor_zone::{ALIAS, NodeId, OwnedRecord, Zone, ZoneDiff, ZoneSet};

use crate::sign::rdatas;

/// The ALIAS targets of one served zone version.
struct Followed {
    /// The version they were read from (compared by pointer).
    zone: Arc<Zone>,
    /// Each target (lower-cased wire name), how many ALIAS records of the
    /// zone point at it, and its text (made once: making 50,000 targets'
    /// text again for every version cost more than walking the zone).
    targets: HashMap<Box<[u8]>, (usize, String)>,
}

/// The ALIAS targets of every served zone (see the module docs).
#[derive(Default)]
pub struct ServedTargets {
    /// Followed zones by apex (lower-cased wire name).
    zones: HashMap<Box<[u8]>, Followed>,
    /// How many times a zone was walked whole (for the tests: a patched
    /// version must cost its change only).
    walks: usize,
}

impl ServedTargets {
    /// Reads the zones of `set` that are new or changed since the last
    /// call and forgets those no longer served; whether [`outside`]
    /// may now say something else (a zone's targets changed, or a zone
    /// came or went, which moves names in or out of the served zones).
    ///
    /// [`outside`]: Self::outside
    pub fn update(&mut self, set: &ZoneSet) -> bool {
        let served: HashSet<&[u8]> = set.zones().iter().map(|z| z.apex().as_wire()).collect();
        let before = self.zones.len();
        self.zones.retain(|apex, _| served.contains(&**apex));
        let mut changed = self.zones.len() != before;
        for zone in set.zones() {
            let apex = zone.apex().as_wire();
            match self.zones.get_mut(apex) {
                Some(f) if Arc::ptr_eq(&f.zone, zone) => {}
                Some(f) => match ZoneDiff::between_related(&f.zone, zone) {
                    Some(diff) => {
                        changed |= apply(&mut f.targets, &diff);
                        f.zone = Arc::clone(zone);
                    }
                    None => {
                        let targets = walk(zone);
                        self.walks += 1;
                        changed |= targets != f.targets;
                        *f = Followed {
                            zone: Arc::clone(zone),
                            targets,
                        };
                    }
                },
                None => {
                    let targets = walk(zone);
                    self.walks += 1;
                    changed = true;
                    self.zones.insert(
                        apex.into(),
                        Followed {
                            zone: Arc::clone(zone),
                            targets,
                        },
                    );
                }
            }
        }
        changed
    }

    /// The targets of the followed zones that no zone of `set` holds,
    /// lower-case without the final dot (as `Store::alias_targets` gives
    /// them), sorted. Costs every target: ask after [`update`] says
    /// something changed.
    ///
    /// [`update`]: Self::update
    pub fn outside(&self, set: &ZoneSet) -> Vec<String> {
        let mut out: Vec<String> = self
            .zones
            .values()
            .flat_map(|f| f.targets.iter())
            .filter(|(t, (_, text))| !text.is_empty() && set.find(t).is_none())
            .map(|(_, (_, text))| text.clone())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// A target's text: lower case without the final dot, as
/// `Store::alias_targets` gives them; empty for RDATA that is not a name
/// (never listed).
fn text(target: &[u8]) -> String {
    let Ok(name) = candor_wire::Name::from_wire(target) else {
        return String::new();
    };
    let text = name.to_string().to_ascii_lowercase();
    match text.strip_suffix('.') {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => text,
    }
}

/// Counts one more ALIAS record to `target`; whether it is a new target.
fn count(targets: &mut HashMap<Box<[u8]>, (usize, String)>, target: &[u8]) -> bool {
    let lower: Box<[u8]> = target.to_ascii_lowercase().into();
    let entry = targets.entry(lower).or_insert_with_key(|t| (0, text(t)));
    entry.0 += 1;
    entry.0 == 1
}

/// Every ALIAS target of a zone, counted.
fn walk(zone: &Zone) -> HashMap<Box<[u8]>, (usize, String)> {
    let mut targets = HashMap::new();
    for id in 0..zone.node_count() as NodeId {
        let Some(set) = zone.rrset(zone.node(id), ALIAS) else {
            continue;
        };
        for target in rdatas(zone.tails(set)) {
            count(&mut targets, target);
        }
    }
    targets
}

/// Applies a diff's ALIAS records to a zone's counted targets; whether
/// the set of targets changed.
fn apply(targets: &mut HashMap<Box<[u8]>, (usize, String)>, diff: &ZoneDiff) -> bool {
    let alias = |r: &&OwnedRecord| r.rtype == ALIAS;
    let mut changed = false;
    for r in diff.removed.iter().filter(alias) {
        let key: Box<[u8]> = r.rdata.to_ascii_lowercase().into();
        if let Some((n, _)) = targets.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                targets.remove(&key);
                changed = true;
            }
        }
    }
    for r in diff.added.iter().filter(alias) {
        changed |= count(targets, &r.rdata);
    }
    changed
}

#[cfg(test)]
mod tests;
