//! The recent history of every served zone, for IXFR (RFC 1995): the
//! differences between consecutive versions as a standard secondary sees
//! them (private types flattened, see `view`), kept in memory for the last
//! few versions.
//!
//! [`Journal::observe`] is shown every new served set. For each zone whose
//! version changed to a newer serial it computes the difference from the
//! version it saw before (`candor_zone::ZoneDiff` on the compiled zones,
//! plus the records that stand for ALIAS and POOL in both versions), and
//! appends it as one [`Step`]. Versions published between two
//! observations are condensed into one step (RFC 1995 §5 allows it).
//! What stood for each zone's private types when it was observed is kept
//! with it, so a step removes exactly what secondaries were sent, even when
//! an ALIAS target in another zone changed in between.
//! Memory is bounded per zone by a number of steps and by their estimated
//! size; the oldest steps go first, and a client older than the oldest
//! step gets the whole zone.
//!
//! A version of a signed zone whose ALIAS owners the ALIAS signer has not
//! signed yet (`view::unsigned_alias_owners`: a moment after start-up or
//! after an ALIAS record is added) is held back: not recorded, no NOTIFY,
//! transfers of the zone wait (`Primary::holding`), until the signer's
//! answers are in the table (it then gives the zone the next serial,
//! which is observed and released with them) or [`ALIAS_HOLD`] has
//! passed. Owners released unsigned that way (the signer cannot sign
//! them: the target never resolved) do not hold the zone's next versions
//! again.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_answer::AliasTable;
use candor_wire::{Name, Rtype};
use candor_zone::{OwnedRecord, Zone, ZoneDiff, ZoneSet};

use crate::view::{
    Records, Resolver, has_private, next_tail, node_records, stands_in, unsigned_alias_owners,
};

/// Longest a version of a signed zone is held back from secondaries while
/// the ALIAS signer has not signed its ALIAS owners: the signer signs an
/// in-zone target's answer within its 100 ms tick and an outside one's
/// after one upstream lookup (`--alias-timeout-ms`, 2 s by default).
pub const ALIAS_HOLD: Duration = Duration::from_secs(3);

/// Whether serial `a` is newer than `b` (RFC 1982).
pub fn serial_newer(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// How much history to keep per zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most steps (versions back) per zone.
    pub max_steps: usize,
    /// Most bytes of steps per zone (an estimate: names, RDATA and a fixed
    /// cost per record). A single step larger than this is not kept.
    pub max_bytes: usize,
}

impl Limits {
    /// Twenty versions (Knot's default journal depth) and 16 MiB per zone.
    pub const DEFAULT: Limits = Limits {
        max_steps: 20,
        max_bytes: 16 << 20,
    };
}

/// The change from one version of a zone to the next, as a secondary
/// applies it.
#[derive(Debug)]
pub struct Step {
    /// The older version's SOA.
    pub old_soa: OwnedRecord,
    /// The newer version's SOA.
    pub new_soa: OwnedRecord,
    /// Records to delete, in canonical order.
    pub removed: Arc<[OwnedRecord]>,
    /// Records to add, in canonical order.
    pub added: Arc<[OwnedRecord]>,
    /// Records to delete as a Candor secondary sees the zone (the Candor
    /// view: private types as themselves, nothing synthesized).
    pub candor_removed: Arc<[OwnedRecord]>,
    /// Records to add in the Candor view.
    pub candor_added: Arc<[OwnedRecord]>,
}

impl Step {
    /// The older version's serial.
    pub fn from_serial(&self) -> u32 {
        soa_serial(&self.old_soa)
    }

    /// The newer version's serial.
    pub fn to_serial(&self) -> u32 {
        soa_serial(&self.new_soa)
    }

    /// Estimated memory use.
    fn bytes(&self) -> usize {
        let size = |r: &OwnedRecord| 48 + r.owner.len() + r.rdata.len();
        self.removed
            .iter()
            .chain(self.added.iter())
            .chain(self.candor_removed.iter())
            .chain(self.candor_added.iter())
            .map(size)
            .sum::<usize>()
            + 256
    }
}

/// The serial of an SOA record (0 if its RDATA is malformed).
pub(crate) fn soa_serial(soa: &OwnedRecord) -> u32 {
    let rdata = &soa.rdata;
    let Some(m) = candor_wire::wire_name_len(rdata) else {
        return 0;
    };
    let Some(r) = rdata.get(m..).and_then(candor_wire::wire_name_len) else {
        return 0;
    };
    rdata
        .get(m + r..m + r + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// One zone's history.
struct History {
    /// The version last observed.
    zone: Arc<Zone>,
    /// What stood for its private types when it was observed: what
    /// secondaries were sent for them, which the next step removes.
    synth: BTreeSet<Ordered>,
    /// The owners of its private types (ALIAS, POOL), lower-case wire:
    /// the nodes `synth` comes from, kept by the change from version to
    /// version so that observing one costs the change and the private
    /// owners, not a walk of every node.
    private: BTreeSet<Box<[u8]>>,
    /// Steps, oldest first, each starting where the previous one ended and
    /// the last one ending at `zone`.
    steps: VecDeque<Arc<Step>>,
    /// Estimated bytes of `steps`.
    bytes: usize,
}

/// A zone that changed (for NOTIFY).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    /// The zone's apex.
    pub apex: Name,
    /// Its new serial.
    pub serial: u32,
}

/// A zone whose newest version is held back (see the module docs).
#[derive(Debug, Default)]
struct Held {
    /// Since when a version is held (`None`: none is).
    since: Option<Instant>,
    /// Owners released unsigned after a hold ran out: versions pending
    /// only on these are not held again.
    gave_up: Vec<Box<[u8]>>,
}

/// Every served zone's history.
pub struct Journal {
    /// Histories by lower-cased wire apex.
    zones: HashMap<Box<[u8]>, History>,
    /// Zones whose new versions wait for the ALIAS signer, by apex.
    held: HashMap<Box<[u8]>, Held>,
    /// How long a version may wait.
    hold: Duration,
    /// What to keep.
    limits: Limits,
}

impl Journal {
    /// An empty journal.
    pub fn new(limits: Limits) -> Journal {
        Journal {
            zones: HashMap::new(),
            held: HashMap::new(),
            hold: ALIAS_HOLD,
            limits,
        }
    }

    /// The journal with another longest hold than [`ALIAS_HOLD`] (zero:
    /// versions are never held).
    pub fn with_hold(mut self, hold: Duration) -> Journal {
        self.hold = hold;
        self
    }

    /// When the zone `apex` (lower-cased wire) stops being held back at the
    /// latest, if a version of it is.
    pub fn held_until(&self, apex: &[u8]) -> Option<Instant> {
        let since = self.held.get(apex)?.since?;
        Some(since + self.hold)
    }

    /// The earliest time any zone stops being held back, if one is: the
    /// caller observes again then (or sooner), since a hold ends only at
    /// an observation.
    pub fn next_release(&self) -> Option<Instant> {
        self.held
            .values()
            .filter_map(|h| h.since)
            .min()
            .map(|since| since + self.hold)
    }

    /// [`Journal::observe_at`] now.
    pub fn observe(&mut self, set: &Arc<ZoneSet>, aliases: &AliasTable) -> Vec<Changed> {
        self.observe_at(set, aliases, Instant::now())
    }

    /// Whether the new version `zone` (key `key`) is held back at `now`
    /// (see the module docs); clears the hold when it is not.
    fn hold_back(&mut self, key: &[u8], zone: &Zone, aliases: &AliasTable, now: Instant) -> bool {
        if self.hold.is_zero() || zone.signed().is_none() {
            self.held.remove(key);
            return false;
        }
        let pending = unsigned_alias_owners(zone, aliases);
        let held = self.held.entry(key.into()).or_default();
        let waiting = pending.iter().any(|o| !held.gave_up.contains(o));
        if !waiting {
            // Forget owners that were signed since (or left).
            held.gave_up.retain(|o| pending.contains(o));
            held.since = None;
            return false;
        }
        let since = *held.since.get_or_insert(now);
        if now.duration_since(since) < self.hold {
            return true;
        }
        held.gave_up = pending;
        held.since = None;
        false
    }

    /// Takes note of the served set `set` (with the resolver's table as it
    /// is now) and returns the zones whose serial changed, new zones
    /// included. A zone replaced by an older or equal serial (a zone file
    /// edited without a new serial, a deleted and re-created zone) starts
    /// its history again, unless it is the same records compacted. A new
    /// version of a signed zone whose ALIAS owners are not signed yet is
    /// held back (module docs) and not returned until it is observed
    /// released; `now` is the time of the observation.
    pub fn observe_at(
        &mut self,
        set: &Arc<ZoneSet>,
        aliases: &AliasTable,
        now: Instant,
    ) -> Vec<Changed> {
        let resolver = Resolver {
            zones: set,
            aliases,
        };
        let mut changed = Vec::new();
        let mut seen = HashMap::with_capacity(set.len());
        for zone in set.zones() {
            let key: Box<[u8]> = zone.apex().as_wire().into();
            seen.insert(key.clone(), ());
            if self
                .zones
                .get(&key)
                .is_some_and(|h| Arc::ptr_eq(&h.zone, zone))
            {
                continue;
            }
            if self.hold_back(&key, zone, aliases, now) {
                continue;
            }
            let Some(history) = self.zones.get_mut(&key) else {
                let private = private_owners(zone);
                self.zones.insert(
                    key,
                    History {
                        zone: zone.clone(),
                        synth: synthesized(zone, &private, resolver),
                        private,
                        steps: VecDeque::new(),
                        bytes: 0,
                    },
                );
                changed.push(Changed {
                    apex: zone.apex().clone(),
                    serial: zone.serial(),
                });
                continue;
            };
            if Arc::ptr_eq(&history.zone, zone) {
                continue;
            }
            if history.zone.serial() != zone.serial() {
                changed.push(Changed {
                    apex: zone.apex().clone(),
                    serial: zone.serial(),
                });
            }
            // For related versions (a patch of the last one) the diff
            // costs the change and says which owners to look at again;
            // other versions are walked, and diffed only for a step.
            let related = ZoneDiff::between_related(&history.zone, zone);
            let private = match &related {
                Some(diff) => private_after(&history.private, zone, diff),
                None => private_owners(zone),
            };
            let synth = synthesized(zone, &private, resolver);
            if serial_newer(zone.serial(), history.zone.serial()) {
                // A difference larger than the journal may hold (a zone
                // signed again in full) would make a step dropped at once
                // with every step before it; it is not made at all (for a
                // million names: ~4,000,000 records made, sorted, copied
                // into the step and dropped).
                let diff = related.or_else(|| {
                    ZoneDiff::between_within(&history.zone, zone, self.limits.max_bytes)
                });
                if let Some(diff) = diff {
                    let step = Arc::new(step(&history.zone, &history.synth, zone, &synth, diff));
                    history.bytes += step.bytes();
                    history.steps.push_back(step);
                    while history.steps.len() > self.limits.max_steps
                        || history.bytes > self.limits.max_bytes
                    {
                        match history.steps.pop_front() {
                            Some(s) => history.bytes -= s.bytes(),
                            None => break,
                        }
                    }
                } else {
                    history.steps.clear();
                    history.bytes = 0;
                }
            } else if !same_records(&history.zone, zone, related.as_ref()) {
                history.steps.clear();
                history.bytes = 0;
            }
            history.synth = synth;
            history.private = private;
            history.zone = zone.clone();
        }
        self.zones.retain(|k, _| seen.contains_key(k));
        self.held.retain(|k, _| seen.contains_key(k));
        changed
    }

    /// The steps that take a secondary at `serial` to the version of the
    /// zone `apex` observed last, and that version's SOA: no steps when the
    /// secondary has that version. `None` if the history does not reach
    /// back to `serial`.
    ///
    /// The version observed last may be older than the one served by now
    /// (a change published a moment ago): the secondary then gets this
    /// version, a consistent one, and the NOTIFY sent once the journal has
    /// seen the newer one brings it further.
    pub fn steps_from(&self, apex: &Name, serial: u32) -> Option<(Vec<Arc<Step>>, OwnedRecord)> {
        let history = self.zones.get(apex.as_wire())?;
        if history.zone.serial() == serial {
            return Some((Vec::new(), zone_soa(&history.zone)));
        }
        let first = history
            .steps
            .iter()
            .position(|s| s.from_serial() == serial)?;
        let steps = history.steps.iter().skip(first).cloned().collect();
        Some((steps, zone_soa(&history.zone)))
    }
}

/// Whether `new` is `old` under another representation: the same serial
/// and records, as a background compaction publishes it (the history then
/// goes on from it). Answered only where that costs the change: `related`
/// is `ZoneDiff::between_related(old, new)`; other same-serial
/// replacements (a zone file edited without a new serial) count as
/// different.
fn same_records(old: &Zone, new: &Zone, related: Option<&ZoneDiff>) -> bool {
    old.serial() == new.serial()
        && related
            .is_some_and(|d| d.removed.is_empty() && d.added.is_empty() && d.old_soa == d.new_soa)
}

/// The step from `old` to `new` as a secondary applies it: the records
/// that changed (private types left out) plus the change of what stood for
/// the private types, `old_synth` (what secondaries were sent for `old`)
/// against `new_synth`. Comparing those as a whole also catches what
/// changed without the zone's own records changing (an ALIAS's in-zone
/// target got new addresses).
fn step(
    old: &Zone,
    old_synth: &BTreeSet<Ordered>,
    new: &Zone,
    new_synth: &BTreeSet<Ordered>,
    diff: ZoneDiff,
) -> Step {
    // The Candor view's step is the diff itself: private types travel as
    // they are, and nothing stands for them.
    let candor_removed: Arc<[OwnedRecord]> = diff.removed.iter().cloned().collect();
    let candor_added: Arc<[OwnedRecord]> = diff.added.iter().cloned().collect();
    // Records something else stands in for at their node (private types,
    // a POOL's member RRSIGs, a signed ALIAS owner's NSEC) come from the
    // synthesized sets below, as secondaries were sent them.
    let mut removed: BTreeSet<Ordered> = diff
        .removed
        .into_iter()
        .filter(|r| !stands_in(old, &r.owner, r.rtype, &r.rdata))
        .map(Ordered)
        .collect();
    let mut added: BTreeSet<Ordered> = diff
        .added
        .into_iter()
        .filter(|r| !stands_in(new, &r.owner, r.rtype, &r.rdata))
        .map(Ordered)
        .collect();
    removed.extend(old_synth.difference(new_synth).cloned());
    added.extend(new_synth.difference(old_synth).cloned());
    // A record deleted and added again (an ALIAS replaced by the address
    // it stood for) is no change at all.
    let both: Vec<Ordered> = removed.intersection(&added).cloned().collect();
    for r in &both {
        removed.remove(r);
        added.remove(r);
    }
    Step {
        old_soa: diff.old_soa,
        new_soa: diff.new_soa,
        removed: removed.into_iter().map(|o| o.0).collect(),
        added: added.into_iter().map(|o| o.0).collect(),
        candor_removed,
        candor_added,
    }
}

/// The owners of a zone's private types (lower-case wire), by a walk of
/// every node: for a version not related to the one observed before.
fn private_owners(zone: &Zone) -> BTreeSet<Box<[u8]>> {
    (0..zone.node_count() as u32)
        .filter(|&id| has_private(zone, id))
        .map(|id| zone.name_bytes(id).to_ascii_lowercase().into())
        .collect()
}

/// The owners of `new`'s private types, from `before` (those of the
/// version `diff` starts at) and the owners `diff` changed: an owner
/// whose records did not change kept its types.
fn private_after(before: &BTreeSet<Box<[u8]>>, new: &Zone, diff: &ZoneDiff) -> BTreeSet<Box<[u8]>> {
    let mut private = before.clone();
    for r in diff.removed.iter().chain(&diff.added) {
        let owner: Box<[u8]> = r.owner.to_ascii_lowercase().into();
        match new.node_by_name(&owner) {
            Some(id) if has_private(new, id) => private.insert(owner),
            _ => private.remove(&owner),
        };
    }
    private
}

/// Every record of a zone that stands for a private type, at the
/// `private` owners.
fn synthesized(
    zone: &Zone,
    private: &BTreeSet<Box<[u8]>>,
    resolver: Resolver<'_>,
) -> BTreeSet<Ordered> {
    let mut out = BTreeSet::new();
    let mut tails = Vec::new();
    for owner in private {
        let Some(id) = zone.node_by_name(owner) else {
            continue;
        };
        if !has_private(zone, id) {
            continue;
        }
        tails.clear();
        node_records(zone, id, resolver, Records::Synthesized, &mut tails);
        let owner = zone.name_bytes(id);
        let mut rest = &tails[..];
        while let Some((rtype, ttl, rdata, len)) = next_tail(rest) {
            out.insert(Ordered(OwnedRecord {
                owner: owner.into(),
                rtype,
                ttl,
                rdata: rdata.into(),
            }));
            rest = &rest[len..];
        }
    }
    out
}

/// A record ordered canonically, for sets.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ordered(OwnedRecord);

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Ordered) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Ordered) -> std::cmp::Ordering {
        self.0.canonical_cmp(&other.0)
    }
}

/// The SOA record of a zone's apex.
pub fn zone_soa(zone: &Zone) -> OwnedRecord {
    let set = zone.rrset(zone.node(0), Rtype::SOA);
    let rdata = set
        .and_then(|s| next_tail(zone.tails(s)))
        .map_or(&[][..], |(_, _, rdata, _)| rdata);
    OwnedRecord {
        owner: zone.apex().as_wire().into(),
        rtype: Rtype::SOA,
        ttl: set.map_or(0, |s| s.ttl),
        rdata: rdata.into(),
    }
}
