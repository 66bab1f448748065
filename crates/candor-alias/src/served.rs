//! The ALIAS targets of the served zones, sans I/O: what the resolver
//! must follow for zones that are not the store's (a Candor secondary's
//! zones, received with their ALIAS records in the Candor view, and
//! `--zones` files), beside the store's own `Store::alias_targets`, and
//! which targets inside the served zones changed their addresses.
//!
//! [`ServedTargets::update`] reads each served zone once per version: a
//! zone seen for the first time (or a version unrelated to the one read
//! before) is walked whole, a version patched from the one read before
//! (an IXFR applied by patching, a record write, a compaction) costs its
//! change (`ZoneDiff::between_related`), so a secondary that applies an
//! IXFR of 100 changes to a zone of a million records does not make the
//! resolver walk the million. It returns a [`Delta`]:
//!
//! - The targets that came into or left the outside set (the targets no
//!   served zone holds: those the answer path asks the resolver's table
//!   for; `candor_answer::local_alias_target` answers the others from the
//!   served zones). A new or removed ALIAS record, or a zone that comes or
//!   goes (which moves the names under its apex in or out of the served
//!   zones: the targets under an apex are one range of a map ordered by
//!   reversed labels), is all that moves a target in or out.
//! - The targets inside the served zones whose flattened addresses (what
//!   `candor_xfr::view` sends standard secondaries for an ALIAS to them:
//!   the target's A and AAAA, through a CNAME chain inside its zone)
//!   changed, and the zones pointing at them that need a new serial so
//!   that their secondaries learn of it. Each inside target remembers the
//!   addresses it had and the names its answer read (the CNAME chain; for
//!   a wildcard match, the names between the target and the zone's apex,
//!   whose appearance would end the match); a changed version's A, AAAA
//!   and CNAME owners (and their ancestors) find the targets to look at
//!   again, a changed wildcard all the targets under its parent, an
//!   unrelated version all the targets under its apex. Only addresses
//!   count: a new serial changes no A, AAAA or CNAME, so bumping a zone
//!   never makes another bump (no ping-pong between zones whose ALIAS
//!   records point at each other, or at themselves).
//!
//! [`ServedTargets::outside`] lists the outside set whole (for start-up
//! and the tests).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use candor_wire::Rtype;
use candor_zone::{ALIAS, Lookup, NodeId, OwnedRecord, Zone, ZoneDiff, ZoneSet};

use crate::sign::rdatas;

/// Longest CNAME chain followed from an ALIAS target, as the answer path
/// and the transfer view follow it.
const MAX_CHAIN: usize = 12;

/// A list of lower-cased wire names.
type Names = Vec<Box<[u8]>>;

/// The ALIAS targets of one served zone version.
struct Followed {
    /// The version they were read from (compared by pointer).
    zone: Arc<Zone>,
    /// Each target (lower-cased wire name) and how many ALIAS records of
    /// the zone point at it.
    targets: HashMap<Box<[u8]>, usize>,
}

/// Where a target is, and what an ALIAS to it gives secondaries.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Place {
    /// No served zone holds it: the resolver's table answers for it.
    Outside,
    /// A served zone holds it: these addresses (A and AAAA RDATA, each
    /// sorted; empty when the name has none).
    Inside(Addresses),
}

/// The A and AAAA RDATA an inside target gives, each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Addresses {
    /// A RDATA.
    v4: Vec<Box<[u8]>>,
    /// AAAA RDATA.
    v6: Vec<Box<[u8]>>,
}

/// One target of the followed zones.
struct Target {
    /// Lower-cased wire name.
    wire: Box<[u8]>,
    /// Lower case without the final dot, as `Store::alias_targets` gives
    /// them (made once: making 50,000 targets' text again for every
    /// version cost more than walking the zone); empty for RDATA that is
    /// not a name (never listed).
    text: String,
    /// The followed zones (apexes) with an ALIAS record to it.
    zones: Vec<Box<[u8]>>,
    /// Where it is and what it gives.
    place: Place,
    /// Names other than the target whose change may change its addresses
    /// (keys of [`ServedTargets::watch`]: labels reversed).
    watched: Vec<Box<[u8]>>,
}

/// What one [`ServedTargets::update`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delta {
    /// Targets that are now outside the served zones and were not before
    /// (new targets, targets whose zone went), as
    /// `Store::alias_targets` gives them.
    pub outside_added: Vec<String>,
    /// Targets that were outside the served zones and are no longer
    /// (no ALIAS points at them any more, or a zone came that holds them).
    pub outside_removed: Vec<String>,
    /// Targets whose flattened addresses changed (inside a served zone,
    /// or moved in or out of the served zones), sorted.
    pub moved: Vec<String>,
    /// The served zones (lower case, no final dot) with an ALIAS record to
    /// a moved target that need a new serial for their secondaries:
    /// unsigned zones (the signer gives signed zones theirs when it signs
    /// their ALIAS answers anew) whose own version did not change in this
    /// update (a new version is transferred with the new flattened
    /// addresses anyway), sorted.
    pub bump: Vec<String>,
}

impl Delta {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.outside_added.is_empty()
            && self.outside_removed.is_empty()
            && self.moved.is_empty()
            && self.bump.is_empty()
    }
}

/// The ALIAS targets of every served zone (see the module docs).
#[derive(Default)]
pub struct ServedTargets {
    /// Followed zones by apex (lower-cased wire name).
    zones: HashMap<Box<[u8]>, Followed>,
    /// Every target of the followed zones, by its labels reversed
    /// ([`reversed`]), so the targets under a name are one range.
    all: BTreeMap<Box<[u8]>, Target>,
    /// Names inside the served zones that inside targets' answers read
    /// (besides the target itself), by their labels reversed → the
    /// targets (reversed keys); ordered, so a wildcard's change finds the
    /// chains through names it may match.
    watch: BTreeMap<Box<[u8]>, Vec<Box<[u8]>>>,
    /// The addresses of the followed zone versions (`Arc::as_ptr`, each
    /// held in `zones`, so never reused while here): an unchanged zone
    /// costs one lookup of a number, without reading the zone.
    versions: HashSet<usize>,
    /// Whether the first served set was read (its targets are new, not
    /// moved).
    started: bool,
    /// How many times a zone was walked whole (for the tests: a patched
    /// version must cost its change only).
    walks: usize,
    /// How many times a target's answer was looked up (for the tests).
    probes: usize,
}

impl ServedTargets {
    /// Reads the zones of `set` that are new or changed since the last
    /// call and forgets those no longer served; returns what changed (see
    /// [`Delta`]). Costs the change: the changed names of a patched
    /// version, the targets under a zone that came, went or was replaced
    /// by an unrelated version.
    pub fn update(&mut self, set: &ZoneSet) -> Delta {
        let mut delta = Delta::default();
        let mut fresh: HashSet<Box<[u8]>> = HashSet::new();
        let mut recheck: HashSet<Box<[u8]>> = HashSet::new();
        // Apexes whose targets are all looked at again.
        let mut ranges: Vec<Box<[u8]>> = Vec::new();
        // Changed names (A, AAAA, CNAME owners), lower-cased wire.
        let mut touched: Vec<Box<[u8]>> = Vec::new();
        // Zones whose own version changed (no bump needed).
        let mut changed_zones: HashSet<Box<[u8]>> = HashSet::new();

        // Followed zones found in `set` (unchanged or changed).
        let followed = self.zones.len();
        let mut kept = 0;
        for zone in set.zones() {
            if self.versions.contains(&Arc::as_ptr(zone).addr()) {
                kept += 1;
                continue;
            }
            let apex: Box<[u8]> = zone.apex().as_wire().into();
            if self.zones.contains_key(&apex) {
                kept += 1;
            }
            self.versions.insert(Arc::as_ptr(zone).addr());
            let Some(f) = self.zones.get_mut(&apex) else {
                let targets = walk(zone);
                self.walks += 1;
                let none = std::iter::empty();
                self.retarget(set, &apex, none, targets.keys(), &mut fresh, &mut delta);
                self.zones.insert(
                    apex.clone(),
                    Followed {
                        zone: Arc::clone(zone),
                        targets,
                    },
                );
                ranges.push(apex);
                continue;
            };
            self.versions.remove(&Arc::as_ptr(&f.zone).addr());
            changed_zones.insert(apex.clone());
            match ZoneDiff::between_related(&f.zone, zone) {
                Some(diff) => {
                    f.zone = Arc::clone(zone);
                    let (added, dropped) = apply(&mut f.targets, &diff);
                    self.retarget(set, &apex, &dropped, &added, &mut fresh, &mut delta);
                    for r in diff.removed.iter().chain(&diff.added) {
                        if [Rtype::A, Rtype::AAAA, Rtype::CNAME].contains(&r.rtype) {
                            let owner: Box<[u8]> = r.owner.to_ascii_lowercase().into();
                            if owner.first() == Some(&1) && owner.get(1) == Some(&b'*') {
                                // A wildcard: every target under its parent.
                                ranges.push(owner[2..].into());
                            }
                            touched.push(owner);
                        }
                    }
                }
                None => {
                    let targets = walk(zone);
                    self.walks += 1;
                    let old = std::mem::replace(
                        f,
                        Followed {
                            zone: Arc::clone(zone),
                            targets,
                        },
                    );
                    let new = &self.zones[&apex].targets;
                    let dropped: Vec<&Box<[u8]>> = old
                        .targets
                        .keys()
                        .filter(|t| !new.contains_key(*t))
                        .collect();
                    let added: Vec<Box<[u8]>> = new
                        .keys()
                        .filter(|t| !old.targets.contains_key(*t))
                        .cloned()
                        .collect();
                    self.retarget(set, &apex, dropped, &added, &mut fresh, &mut delta);
                    ranges.push(apex);
                }
            }
        }
        // Zones that went: only looked for when fewer of the followed
        // zones are in `set` than were followed.
        if kept < followed {
            let served: HashSet<&[u8]> = set.zones().iter().map(|z| z.apex().as_wire()).collect();
            let gone: Vec<Box<[u8]>> = self
                .zones
                .keys()
                .filter(|apex| !served.contains(&***apex))
                .cloned()
                .collect();
            for apex in gone {
                if let Some(f) = self.zones.remove(&apex) {
                    self.versions.remove(&Arc::as_ptr(&f.zone).addr());
                    for target in f.targets.keys() {
                        self.drop_ref(&apex, target, &mut delta);
                    }
                }
                ranges.push(apex);
            }
        }
        // The targets to look at again.
        for name in &touched {
            let apex_len = set.find(name).map_or(0, |z| z.apex().as_wire().len());
            // The name and its ancestors strictly below its zone's apex.
            for suffix in below(name, apex_len) {
                let key = reversed(suffix);
                if let Some(readers) = self.watch.get(&key) {
                    recheck.extend(readers.iter().cloned());
                }
                if self.all.contains_key(&key) {
                    recheck.insert(key);
                }
            }
        }
        for apex in &ranges {
            let prefix = reversed(apex);
            recheck.extend(
                self.all
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, _)| k.clone()),
            );
            recheck.extend(
                self.watch
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .flat_map(|(_, readers)| readers.iter().cloned()),
            );
        }
        let mut moved_keys: Vec<Box<[u8]>> = Vec::new();
        for key in recheck {
            if fresh.contains(&key) {
                continue;
            }
            let Some(t) = self.all.get_mut(&key) else {
                continue;
            };
            let (place, watched) = probe(set, &t.wire);
            self.probes += 1;
            let old = std::mem::replace(&mut t.place, place);
            let old_watched = std::mem::replace(&mut t.watched, watched);
            let (new_place, new_watched, text) =
                (t.place.clone(), t.watched.clone(), t.text.clone());
            unwatch(&mut self.watch, &key, &old_watched);
            for name in new_watched {
                self.watch.entry(name).or_default().push(key.clone());
            }
            match (&old, &new_place) {
                (Place::Outside, Place::Outside) => continue,
                (Place::Outside, Place::Inside(_)) => push_text(&mut delta.outside_removed, text),
                (Place::Inside(_), Place::Outside) => push_text(&mut delta.outside_added, text),
                (Place::Inside(a), Place::Inside(b)) if a == b => continue,
                (Place::Inside(_), Place::Inside(_)) => {}
            }
            moved_keys.push(key);
        }
        if self.started {
            let mut bump: HashSet<&[u8]> = HashSet::new();
            for key in &moved_keys {
                let Some(t) = self.all.get(key) else {
                    continue;
                };
                if !t.text.is_empty() {
                    delta.moved.push(t.text.clone());
                }
                for apex in &t.zones {
                    let unsigned = set.get(apex).is_some_and(|z| z.signed().is_none());
                    if unsigned && !changed_zones.contains(apex) {
                        bump.insert(apex);
                    }
                }
            }
            delta.bump = bump
                .into_iter()
                .map(text)
                .filter(|t| !t.is_empty())
                .collect();
            delta.bump.sort_unstable();
            delta.moved.sort_unstable();
        }
        self.started = true;
        delta
    }

    /// Zone `apex` no longer has ALIAS records to the `dropped` targets
    /// and now has some to the `added` ones (see [`drop_ref`] and
    /// [`add_ref`]).
    fn retarget<'t>(
        &mut self,
        set: &ZoneSet,
        apex: &[u8],
        dropped: impl IntoIterator<Item = &'t Box<[u8]>>,
        added: impl IntoIterator<Item = &'t Box<[u8]>>,
        fresh: &mut HashSet<Box<[u8]>>,
        delta: &mut Delta,
    ) {
        for target in dropped {
            self.drop_ref(apex, target, delta);
        }
        for target in added {
            add_ref(
                &mut self.all,
                &mut self.watch,
                set,
                apex,
                target,
                fresh,
                delta,
                &mut self.probes,
            );
        }
    }

    /// Forgets one ALIAS-owning zone's last reference to `target`.
    fn drop_ref(&mut self, apex: &[u8], target: &[u8], delta: &mut Delta) {
        drop_ref(&mut self.all, &mut self.watch, apex, target, delta);
    }

    /// The followed zones (lower case, no final dot) with an ALIAS record
    /// to one of `targets` (as [`Delta`] names them), sorted.
    pub fn zones_pointing_at(&self, targets: &[String]) -> Vec<String> {
        let mut out: Vec<String> = targets
            .iter()
            .filter_map(|t| candor_wire::Name::from_text(&format!("{t}."), None).ok())
            .filter_map(|n| self.all.get(&reversed(n.to_lowercase().as_wire())))
            .flat_map(|t| t.zones.iter().map(|apex| text(apex)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The targets of the followed zones that no zone of the served set
    /// last read holds, lower-case without the final dot (as
    /// `Store::alias_targets` gives them), sorted. Costs every target:
    /// [`update`]'s [`Delta`] says what changed.
    ///
    /// [`update`]: Self::update
    pub fn outside(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .all
            .values()
            .filter(|t| t.place == Place::Outside && !t.text.is_empty())
            .map(|t| t.text.clone())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Adds a target's text to a list (not the empty text of RDATA that is
/// not a name).
fn push_text(list: &mut Vec<String>, text: String) {
    if !text.is_empty() {
        list.push(text);
    }
}

/// Notes that the zone `apex` now has an ALIAS record to `target` (lower
/// case wire), where it had none: a target new to every zone is looked
/// up (and is outside, or not) and marked `fresh`.
#[allow(clippy::too_many_arguments)]
fn add_ref(
    all: &mut BTreeMap<Box<[u8]>, Target>,
    watch: &mut BTreeMap<Box<[u8]>, Vec<Box<[u8]>>>,
    set: &ZoneSet,
    apex: &[u8],
    target: &[u8],
    fresh: &mut HashSet<Box<[u8]>>,
    delta: &mut Delta,
    probes: &mut usize,
) {
    let key = reversed(target);
    if let Some(t) = all.get_mut(&key) {
        t.zones.push(apex.into());
        return;
    }
    let (place, watched) = probe(set, target);
    *probes += 1;
    let text = text(target);
    if place == Place::Outside {
        push_text(&mut delta.outside_added, text.clone());
    }
    for name in &watched {
        watch.entry(name.clone()).or_default().push(key.clone());
    }
    fresh.insert(key.clone());
    all.insert(
        key,
        Target {
            wire: target.into(),
            text,
            zones: vec![apex.into()],
            place,
            watched,
        },
    );
}

/// Notes that the zone `apex` has no ALIAS record to `target` any more;
/// a target no zone points at is forgotten.
fn drop_ref(
    all: &mut BTreeMap<Box<[u8]>, Target>,
    watch: &mut BTreeMap<Box<[u8]>, Vec<Box<[u8]>>>,
    apex: &[u8],
    target: &[u8],
    delta: &mut Delta,
) {
    let key = reversed(target);
    let Some(t) = all.get_mut(&key) else {
        return;
    };
    if let Some(i) = t.zones.iter().position(|z| **z == *apex) {
        t.zones.swap_remove(i);
    }
    if !t.zones.is_empty() {
        return;
    }
    if let Some(t) = all.remove(&key) {
        if t.place == Place::Outside {
            push_text(&mut delta.outside_removed, t.text);
        }
        unwatch(watch, &key, &t.watched);
    }
}

/// Removes target `key` from the readers of `names`.
fn unwatch(watch: &mut BTreeMap<Box<[u8]>, Vec<Box<[u8]>>>, key: &[u8], names: &[Box<[u8]>]) {
    for name in names {
        if let Some(readers) = watch.get_mut(name) {
            readers.retain(|k| **k != *key);
            if readers.is_empty() {
                watch.remove(name);
            }
        }
    }
}

/// Where `target` (lower-cased wire) is in `set` and the addresses an
/// ALIAS to it gives secondaries, as `candor_xfr::view` flattens it (A
/// and AAAA at the name, or at the end of a CNAME chain inside its
/// zone), with the names besides the target whose change may change them
/// (labels reversed).
fn probe(set: &ZoneSet, target: &[u8]) -> (Place, Vec<Box<[u8]>>) {
    let Some(zone) = set.find(target) else {
        return (Place::Outside, Vec::new());
    };
    let apex_len = zone.apex().as_wire().len();
    let mut watched: Vec<Box<[u8]>> = Vec::new();
    let mut addresses = Addresses::default();
    let mut name: Box<[u8]> = target.into();
    for step in 0..MAX_CHAIN {
        if step > 0 {
            watched.push(reversed(&name));
        }
        let node = match zone.lookup(&name) {
            Lookup::Exact(n) => n,
            Lookup::Wildcard(n) => {
                // A name appearing between the target and the apex (an
                // empty non-terminal) would end the match.
                watched.extend(below(&name, apex_len).skip(1).map(reversed));
                n
            }
            _ => break,
        };
        let a = zone.rrset(node, Rtype::A);
        let aaaa = zone.rrset(node, Rtype::AAAA);
        if a.is_some() || aaaa.is_some() {
            let read = |set: Option<&candor_zone::RrSet>| {
                let mut v: Vec<Box<[u8]>> = set
                    .map(|s| rdatas(zone.tails(s)).map(Box::from).collect())
                    .unwrap_or_default();
                v.sort_unstable();
                v
            };
            addresses = Addresses {
                v4: read(a),
                v6: read(aaaa),
            };
            break;
        }
        let Some(next) = zone
            .rrset(node, Rtype::CNAME)
            .and_then(|c| rdatas(zone.tails(c)).next())
        else {
            break;
        };
        let next: Box<[u8]> = next.to_ascii_lowercase().into();
        if !in_zone(&next, zone) {
            break;
        }
        name = next;
    }
    watched.sort_unstable();
    watched.dedup();
    (Place::Inside(addresses), watched)
}

/// Whether a lower-cased wire name is at or below the zone's apex.
fn in_zone(name: &[u8], zone: &Zone) -> bool {
    let apex = zone.apex().as_wire();
    name.len() >= apex.len() && name.ends_with(apex) && {
        let start = name.len() - apex.len();
        start == 0 || candor_wire::wire_labels(name).any(|p| p + 1 + usize::from(name[p]) == start)
    }
}

/// A wire name and its ancestors longer than `apex_len` bytes (those
/// strictly below an apex of that length, when the name is under it).
fn below(name: &[u8], apex_len: usize) -> impl Iterator<Item = &[u8]> {
    candor_wire::wire_labels(name)
        .map(move |p| &name[p..])
        .take_while(move |suffix| suffix.len() > apex_len)
}

/// A wire name's labels in reverse order (each with its length byte, the
/// root left out): the key of a name under `apex` starts with `apex`'s,
/// so the names under a zone are one range of an ordered map.
fn reversed(wire: &[u8]) -> Box<[u8]> {
    let labels: Vec<usize> = candor_wire::wire_labels(wire).collect();
    let mut out = Vec::with_capacity(wire.len());
    for &p in labels.iter().rev() {
        let end = (p + 1 + usize::from(wire[p])).min(wire.len());
        out.extend_from_slice(&wire[p..end]);
    }
    out.into()
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

/// Counts one more ALIAS record to `target`; whether it is a new target
/// of the zone.
fn count(targets: &mut HashMap<Box<[u8]>, usize>, target: &[u8]) -> Option<Box<[u8]>> {
    let lower: Box<[u8]> = target.to_ascii_lowercase().into();
    let n = targets.entry(lower.clone()).or_insert(0);
    *n += 1;
    (*n == 1).then_some(lower)
}

/// Every ALIAS target of a zone, counted.
fn walk(zone: &Zone) -> HashMap<Box<[u8]>, usize> {
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

/// Applies a diff's ALIAS records to a zone's counted targets; returns
/// the zone's new targets and those it no longer has.
fn apply(targets: &mut HashMap<Box<[u8]>, usize>, diff: &ZoneDiff) -> (Names, Names) {
    let alias = |r: &&OwnedRecord| r.rtype == ALIAS;
    let (mut added, mut dropped) = (Vec::new(), Vec::new());
    for r in diff.removed.iter().filter(alias) {
        let key: Box<[u8]> = r.rdata.to_ascii_lowercase().into();
        if let Some(n) = targets.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                targets.remove(&key);
                dropped.push(key);
            }
        }
    }
    for r in diff.added.iter().filter(alias) {
        if let Some(new) = count(targets, &r.rdata) {
            match dropped.iter().position(|d| *d == new) {
                // Removed and added again in one diff: no change.
                Some(i) => {
                    dropped.swap_remove(i);
                }
                None => added.push(new),
            }
        }
    }
    (added, dropped)
}

#[cfg(test)]
mod tests;
