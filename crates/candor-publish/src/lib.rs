//! Publication of the store's zones to the name servers.
//!
//! A [`Publisher`] owns the store's part of the served [`ZoneSet`]: every
//! change (an API write, a change another process made, the start-up
//! load) goes through [`Publisher::publish`], which swaps one zone in a new
//! set. Two rules make sure Candor never takes a zone off the air by
//! itself:
//!
//! - **Never backwards.** A compiled version is published only if its SOA
//!   serial is newer (RFC 1982 arithmetic) than the one served, and never
//!   for a zone that was deleted: a compile that read serial N and lost a
//!   race against an acknowledged N+1 is dropped, not served.
//! - **Last known good.** A stored zone that does not compile (a bug, a
//!   migration) keeps its served version; at start-up, when nothing is
//!   served yet, the copy of the last version that compiled is loaded
//!   from disk (`last_good`). The problem is recorded as a [`Failure`], for
//!   the log, the zone's distribution endpoint and the status page. Only a
//!   deletion stops a zone from being served.
//!
//! Codemap: this file holds the publisher's state and rules; `last_good`
//! writes and reads the copies; `follow` polls the store for changes made
//! by other processes.

#![forbid(unsafe_code)]

mod follow;
mod last_good;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use candor_store::{Store, StoreError, ZoneChange};
use candor_wire::Name;
use candor_zone::{Zone, ZoneSet};
use tokio::sync::watch;

pub use follow::follow_store;
pub use last_good::{
    read_last_good, read_zone_copy, write_last_good, write_private_file, write_zone_copy,
};

/// The served zones, swapped as a whole (the name servers' view).
pub type SharedZones = Arc<ArcSwap<ZoneSet>>;

/// Whether serial `a` is newer than serial `b` in RFC 1982 arithmetic
/// (undefined pairs, exactly 2^31 apart, count as not newer).
pub fn serial_newer(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// Where a served version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Compiled from the store's rows.
    Store,
    /// Loaded from the last-known-good copy on disk.
    LastGood,
}

/// A stored zone whose stored version is not the one served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The zone's id in the store.
    pub zone_id: i64,
    /// The zone's name.
    pub zone: String,
    /// The serial in the store, which does not compile.
    pub stored_serial: u32,
    /// The serial served instead (`None`: nothing could be served).
    pub served_serial: Option<u32>,
    /// Why it does not compile.
    pub error: String,
    /// When this stored version was found not to compile.
    pub since: SystemTime,
}

/// What [`Publisher::publish`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The version is served now.
    Published,
    /// The zone was removed from the served set.
    Removed,
    /// Dropped: the served version is this one or newer.
    NotNewer {
        /// The serial served.
        served: u32,
    },
    /// Dropped: the zone was deleted.
    Deleted,
}

/// Which serials may replace the one served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admit {
    /// Only a newer one (RFC 1982).
    Newer,
    /// The same (a compaction of the version served) or a newer one.
    SameOrNewer,
}

/// What the start-up load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Zones served from the store.
    pub compiled: usize,
    /// Zones served from their last-known-good copy.
    pub last_good: usize,
    /// Zones that could not be served at all.
    pub unserved: usize,
}

/// One served store zone.
#[derive(Clone)]
struct Served {
    /// Its name (lower case, no trailing dot).
    name: String,
    /// Its serial.
    serial: u32,
    /// The compiled zone, as in the served set.
    zone: Arc<Zone>,
    /// Where it came from.
    source: Source,
}

/// The publisher's bookkeeping; the lock also serializes publications
/// (each one builds on the set the previous one stored).
#[derive(Default)]
struct State {
    /// Store zones being served, by id.
    served: HashMap<i64, Served>,
    /// Ids of deleted zones (ids are never reused: AUTOINCREMENT).
    deleted: HashSet<i64>,
    /// Zones whose stored version does not compile, by id.
    failures: BTreeMap<i64, Failure>,
    /// The serial of each zone's last-known-good copy on disk, by id.
    persisted: HashMap<i64, u32>,
    /// Zones that come neither from the store nor from zone files (the
    /// catalog zone, zones received as a secondary), by lower-cased apex.
    others: BTreeMap<Name, Arc<Zone>>,
}

/// Applies store changes to the served zone set (see the crate docs).
#[derive(Clone)]
pub struct Publisher {
    /// The served zones.
    zones: SharedZones,
    /// Where last-known-good copies are kept (none: not kept).
    last_good_dir: Option<PathBuf>,
    /// Bookkeeping.
    state: Arc<Mutex<State>>,
    /// Counts every store of a new set: followers of the served zones
    /// (zone transfers' journal, NOTIFY) wake up on it instead of polling.
    changes: Arc<watch::Sender<u64>>,
}

impl Publisher {
    /// A publisher for `zones`, keeping last-known-good copies in
    /// `last_good_dir` if one is given.
    pub fn new(zones: SharedZones, last_good_dir: Option<PathBuf>) -> Publisher {
        Publisher {
            zones,
            last_good_dir,
            state: Arc::new(Mutex::new(State::default())),
            changes: Arc::new(watch::channel(0).0),
        }
    }

    /// A receiver that sees a new value after every change of the served
    /// set: a zone published or removed, or the zone files replaced.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Stores a new served set and tells the subscribers.
    fn store(&self, set: ZoneSet) {
        self.zones.store(Arc::new(set));
        self.changes.send_modify(|n| *n += 1);
    }

    /// The served set.
    pub fn zones(&self) -> &SharedZones {
        &self.zones
    }

    /// Locks the bookkeeping (a panic elsewhere cannot poison serving).
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes a change: a compiled version if it is newer than the one
    /// served, or a deletion. Readers are never blocked; the old set is
    /// freed when the last worker lets go of it.
    pub fn publish(&self, change: &ZoneChange) -> Outcome {
        let id = change.zone.id;
        match &change.compiled {
            Some(zone) => self.serve(id, &change.zone.name, zone.clone(), Source::Store),
            None => {
                let mut state = self.state();
                state.deleted.insert(id);
                state.failures.remove(&id);
                state.persisted.remove(&id);
                if let Some(dir) = &self.last_good_dir {
                    last_good::remove(dir, id);
                }
                match state.served.remove(&id) {
                    Some(gone) => {
                        self.remove_from_set(&gone);
                        Outcome::Removed
                    }
                    None => Outcome::Removed,
                }
            }
        }
    }

    /// Publishes a compacted version (`candor_store::Compactor`): the same
    /// records as the store's version of that serial, so it replaces a
    /// served version of the same serial as well as an older one (the
    /// write it compacts may not be published yet). Never backwards, never
    /// a deleted zone, as [`publish`](Self::publish).
    pub fn publish_compacted(&self, change: &ZoneChange) -> Outcome {
        match &change.compiled {
            Some(zone) => self.serve_at(
                change.zone.id,
                &change.zone.name,
                zone.clone(),
                Source::Store,
                Admit::SameOrNewer,
            ),
            None => Outcome::Deleted,
        }
    }

    /// Serves `zone` as store zone `id` unless it would go backwards.
    fn serve(&self, id: i64, name: &str, zone: Arc<Zone>, source: Source) -> Outcome {
        self.serve_at(id, name, zone, source, Admit::Newer)
    }

    /// Serves `zone` as store zone `id` if `admit` lets its serial replace
    /// the one served.
    fn serve_at(
        &self,
        id: i64,
        name: &str,
        zone: Arc<Zone>,
        source: Source,
        admit: Admit,
    ) -> Outcome {
        let mut state = self.state();
        if state.deleted.contains(&id) {
            return Outcome::Deleted;
        }
        if let Some(current) = state.served.get(&id)
            && !serial_newer(zone.serial(), current.serial)
            && !(admit == Admit::SameOrNewer && zone.serial() == current.serial)
        {
            return Outcome::NotNewer {
                served: current.serial,
            };
        }
        // Another id with the same name is a zone deleted and created
        // again by a process whose deletion was not seen yet: the newer
        // id replaces it.
        let stale: Vec<i64> = state
            .served
            .iter()
            .filter(|(other, s)| **other != id && s.name == name)
            .map(|(other, _)| *other)
            .collect();
        for other in stale {
            state.served.remove(&other);
            state.deleted.insert(other);
            state.failures.remove(&other);
        }
        let mut set = ZoneSet::clone(&self.zones.load());
        set.insert(zone.clone());
        self.store(set);
        if source == Source::Store
            && let Some(f) = state.failures.get(&id)
            && !serial_newer(f.stored_serial, zone.serial())
        {
            state.failures.remove(&id);
        }
        state.served.insert(
            id,
            Served {
                name: name.to_owned(),
                serial: zone.serial(),
                zone,
                source,
            },
        );
        Outcome::Published
    }

    /// Removes a served zone from the set, if the set still holds this
    /// very version (a zone of the same name may have replaced it).
    fn remove_from_set(&self, gone: &Served) {
        let current = self.zones.load();
        let apex = gone.zone.apex().as_wire();
        if current
            .get(apex)
            .is_some_and(|z| Arc::ptr_eq(z, &gone.zone))
        {
            self.store(current.without(apex));
        }
    }

    /// Stops serving store zone `id` (it is gone from the store).
    pub fn remove(&self, id: i64) {
        let mut state = self.state();
        state.deleted.insert(id);
        state.failures.remove(&id);
        state.persisted.remove(&id);
        if let Some(dir) = &self.last_good_dir {
            last_good::remove(dir, id);
        }
        if let Some(gone) = state.served.remove(&id) {
            self.remove_from_set(&gone);
        }
    }

    /// Records that the stored version `stored_serial` of zone `id` does
    /// not compile. What is served stays served. Returns whether this is
    /// news (a version not reported before), so callers log it once.
    pub fn fail(&self, id: i64, name: &str, stored_serial: u32, error: &str) -> bool {
        let mut state = self.state();
        if state
            .failures
            .get(&id)
            .is_some_and(|f| f.stored_serial == stored_serial)
        {
            return false;
        }
        let served_serial = state.served.get(&id).map(|s| s.serial);
        state.failures.insert(
            id,
            Failure {
                zone_id: id,
                zone: name.to_owned(),
                stored_serial,
                served_serial,
                error: error.to_owned(),
                since: SystemTime::now(),
            },
        );
        true
    }

    /// Whether the stored version `serial` of zone `id` is known not to
    /// compile (so the follower need not compile it again).
    pub fn known_failure(&self, id: i64, serial: u32) -> bool {
        self.state()
            .failures
            .get(&id)
            .is_some_and(|f| f.stored_serial == serial)
    }

    /// Every zone whose stored version is not served, by id.
    pub fn failures(&self) -> Vec<Failure> {
        self.state().failures.values().cloned().collect()
    }

    /// The failure of the zone named `name`, if any.
    pub fn failure(&self, name: &str) -> Option<Failure> {
        self.state()
            .failures
            .values()
            .find(|f| f.zone == name)
            .cloned()
    }

    /// The serial served for store zone `id`.
    pub fn serial(&self, id: i64) -> Option<u32> {
        self.state().served.get(&id).map(|s| s.serial)
    }

    /// Ids of the store zones being served.
    pub fn ids(&self) -> Vec<i64> {
        self.state().served.keys().copied().collect()
    }

    /// Replaces the zones from files (SIGHUP), keeping the store's zones.
    pub fn replace_files(&self, files: ZoneSet) {
        let state = self.state();
        let mut set = files;
        for served in state.served.values() {
            set.insert(served.zone.clone());
        }
        for zone in state.others.values() {
            set.insert(zone.clone());
        }
        self.store(set);
    }

    /// Serves `zone`, which comes neither from the store nor from zone
    /// files (the catalog zone, a zone received from a primary), in place
    /// of any zone of its name; it stays served across zone file reloads
    /// until [`Publisher::remove_other`]. The caller decides about serials.
    pub fn serve_other(&self, zone: Arc<Zone>) {
        let mut state = self.state();
        let mut set = ZoneSet::clone(&self.zones.load());
        set.insert(zone.clone());
        state.others.insert(zone.apex().to_lowercase(), zone);
        self.store(set);
    }

    /// Stops serving the zone `apex` that [`Publisher::serve_other`]
    /// served.
    pub fn remove_other(&self, apex: &Name) {
        let mut state = self.state();
        if let Some(gone) = state.others.remove(&apex.to_lowercase()) {
            let current = self.zones.load();
            let wire = gone.apex().as_wire();
            if current.get(wire).is_some_and(|z| Arc::ptr_eq(z, &gone)) {
                self.store(current.without(wire));
            }
        }
    }

    /// Serves every stored zone at start-up: compiled from the store, or
    /// from its last-known-good copy when it does not compile (and then
    /// recorded as a [`Failure`] and logged at error). Blocking.
    pub fn start(&self, store: &Store) -> Result<StartReport, StoreError> {
        let mut report = StartReport::default();
        for v in store.zone_versions()? {
            match store.compile_zone(v.id) {
                Ok(change) => {
                    self.publish(&change);
                    report.compiled += 1;
                }
                Err(StoreError::Invalid(errors)) => {
                    let error = errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    match self.load_last_good(v.id, &v.name) {
                        Ok(zone) => {
                            let serial = zone.serial();
                            self.serve(v.id, &v.name, Arc::new(zone), Source::LastGood);
                            self.state().persisted.insert(v.id, serial);
                            report.last_good += 1;
                            tracing::error!(
                                zone = %v.name,
                                stored_serial = v.serial,
                                served_serial = serial,
                                "stored zone does not compile; serving its last known good \
                                 version: {error}"
                            );
                        }
                        Err(why) => {
                            report.unserved += 1;
                            tracing::error!(
                                zone = %v.name,
                                stored_serial = v.serial,
                                "stored zone does not compile and has no usable last known \
                                 good copy ({why}); it is not served: {error}"
                            );
                        }
                    }
                    self.fail(v.id, &v.name, v.serial, &error);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Loads zone `id`'s last-known-good copy.
    fn load_last_good(&self, id: i64, name: &str) -> Result<Zone, String> {
        let dir = self
            .last_good_dir
            .as_deref()
            .ok_or_else(|| "no copies are kept".to_owned())?;
        let apex = Name::from_text(&format!("{name}."), None)
            .map_err(|e| format!("zone name {name:?}: {e}"))?;
        read_last_good(dir, id, &apex)
    }

    /// Writes a last-known-good copy of every served zone compiled from
    /// the store whose copy is older. Blocking (it writes files); run it
    /// off the answer path. Returns how many copies were written.
    pub fn persist(&self) -> usize {
        let Some(dir) = self.last_good_dir.as_deref() else {
            return 0;
        };
        let due: Vec<(i64, Served)> = {
            let state = self.state();
            state
                .served
                .iter()
                .filter(|(id, s)| {
                    s.source == Source::Store && state.persisted.get(id) != Some(&s.serial)
                })
                .map(|(id, s)| (*id, s.clone()))
                .collect()
        };
        let mut written = 0;
        for (id, served) in due {
            match write_last_good(dir, id, &served.name, &served.zone) {
                Ok(()) => {
                    written += 1;
                    let mut state = self.state();
                    if state.served.contains_key(&id) {
                        state.persisted.insert(id, served.serial);
                    } else {
                        // Deleted while it was written.
                        last_good::remove(dir, id);
                    }
                }
                Err(e) => tracing::warn!(
                    zone = %served.name,
                    "cannot write the last known good copy to {}: {e}",
                    dir.display()
                ),
            }
        }
        written
    }

    /// The directory of last-known-good copies.
    pub fn last_good_dir(&self) -> Option<&Path> {
        self.last_good_dir.as_deref()
    }
}
