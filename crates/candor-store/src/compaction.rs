//! Background compaction of the versions record writes patch
//! (docs/incremental.md): when the overlay of a zone's kept version grows
//! past a threshold, a thread of its own compiles a fresh base from that
//! version (`Zone::compact`), brings the writes that landed meanwhile onto
//! it (`Zone::catch_up`) and swaps it in as the zone's kept version, so the
//! next write patches the small overlay of the new base. Writes never wait
//! for it: the only step under the store's lock is the swap (a key
//! comparison and a pointer store). The result reads exactly as the version
//! it replaces, at the same serial; the caller publishes it
//! (`candor_publish::Publisher::publish_compacted`).
//!
//! Without it, the write that fills an overlay (`MAX_OVERLAY_NAMES`) pays
//! the full compile: seconds in a zone of a million records.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use candor_zone::Zone;
use rusqlite::OptionalExtension;

use crate::incremental::{self, ZoneKey};
use crate::zones::{ZONE_COLUMNS, ZoneRow, zone_from_row};
use crate::{Store, StoreError, ZoneChange};

/// Names in a kept version's overlay at which the background compaction
/// starts: a quarter of `MAX_OVERLAY_NAMES`, so the writes made while a
/// million-record zone compiles (2–3 s) still fit in the overlay before a
/// write would have to compile in full.
pub const COMPACT_OVERLAY_NAMES: usize = candor_zone::MAX_OVERLAY_NAMES / 4;

/// The zone row with id `id`, if the zone exists.
fn zone_row(conn: &rusqlite::Connection, id: i64) -> Result<Option<ZoneRow>, StoreError> {
    let sql = format!("SELECT {ZONE_COLUMNS} FROM zones WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], zone_from_row).optional()?)
}

impl Store {
    /// Waits up to `wait` for a zone whose kept version holds at least
    /// `threshold` names in its overlay, then compacts it: a fresh base
    /// compiled from that version, caught up with the writes made while it
    /// compiled, swapped in as the version the next write patches. Returns
    /// the compacted zone to publish (same serial, same records as the one
    /// served), or `None` when nothing was due or the compaction was
    /// dropped (the zone was deleted or rebuilt meanwhile, or the catch-up
    /// needs a rebuild). Versions in `skip` (ones whose compaction was
    /// dropped) are not tried again.
    pub(crate) fn compact_due(
        &self,
        threshold: usize,
        wait: Duration,
        skip: &mut Vec<Weak<Zone>>,
        stop: &AtomicBool,
    ) -> Result<Option<ZoneChange>, StoreError> {
        let Some((zone_id, key, from)) = self.wait_due(threshold, wait, skip, stop) else {
            return Ok(None);
        };
        // A version of a state the row has left (another process wrote the
        // zone) would only be compacted to be thrown away: let it go.
        let row = self.read(|tx| zone_row(tx, zone_id))?;
        if row.as_ref().map(incremental::key) != Some(key) {
            tracing::debug!(zone_id, "compaction dropped: the zone changed elsewhere");
            self.compiled.forget_version(zone_id, &from);
            return Ok(None);
        }
        let name = row.map(|r| r.name).unwrap_or_default();
        let started = Instant::now();
        let names = from.overlay_names();
        let compacted = match from.compact() {
            Ok(z) => Arc::new(z),
            Err(errors) => {
                // A version that was served does not compile: a bug.
                let first = errors.first().map(|e| e.message.clone());
                tracing::error!(zone = %name, "compaction failed: {}", first.unwrap_or_default());
                skip.push(Arc::downgrade(&from));
                return Ok(None);
            }
        };
        let compiled_ms = started.elapsed().as_millis();
        match self.catch_up_and_swap(zone_id, from, compacted, skip)? {
            Some(change) => {
                tracing::info!(
                    zone = %name,
                    names,
                    compile_ms = compiled_ms,
                    ms = started.elapsed().as_millis(),
                    "compacted the zone's overlay into a new base"
                );
                Ok(Some(change))
            }
            None => Ok(None),
        }
    }

    /// Brings `made` (which reads as `from`) up to the zone's kept version
    /// and swaps it in, while the zone's row still says that version is
    /// current. Writes keep their version under the store's lock, so
    /// under that lock no write is between reading the kept version and
    /// keeping its own: a swapped-in version never hides a write. A write
    /// that got in before the swap makes another round take it.
    fn catch_up_and_swap(
        &self,
        zone_id: i64,
        mut from: Arc<Zone>,
        mut made: Arc<Zone>,
        skip: &mut Vec<Weak<Zone>>,
    ) -> Result<Option<ZoneChange>, StoreError> {
        // The writes made while the base compiled, without the lock (there
        // may be thousands); then, under the store's lock, the few made
        // meanwhile and the swap. A writer that waits for the lock waits
        // for that small patch only; without holding the lock the swap
        // lost the race to back-to-back writes every time.
        let Some((_, current)) = self.compiled.current(zone_id) else {
            return Ok(None); // Deleted.
        };
        if !Arc::ptr_eq(&current, &from) {
            match made.catch_up(&from, &current) {
                Ok(z) => made = Arc::new(z),
                Err(e) => return Ok(self.dropped(zone_id, &current, &e, skip)),
            }
            from = current;
        }
        let mut replaced = None;
        let out = self.read(|tx| {
            // Under the lock: no write is under way, and every committed
            // one has kept its version.
            let Some((key, current)) = self.compiled.current(zone_id) else {
                return Ok(None);
            };
            if !Arc::ptr_eq(&current, &from) {
                match made.catch_up(&from, &current) {
                    Ok(z) => made = Arc::new(z),
                    Err(e) => return Ok(self.dropped(zone_id, &current, &e, skip)),
                }
            }
            let row = zone_row(tx, zone_id)?.filter(|row| incremental::key(row) == key);
            let Some(row) = row else { return Ok(None) };
            replaced = self.compiled.swap(zone_id, &current, key, &made);
            Ok(replaced.is_some().then(|| ZoneChange {
                zone: row.info(),
                compiled: Some(made),
            }))
        });
        // The old version (maybe the last hold on the old base) goes
        // outside the store's lock: freeing a big zone takes a while.
        drop(replaced);
        out
    }

    /// Notes a compaction dropped because its catch-up failed at `current`.
    fn dropped(
        &self,
        zone_id: i64,
        current: &Arc<Zone>,
        e: &candor_zone::PatchError,
        skip: &mut Vec<Weak<Zone>>,
    ) -> Option<ZoneChange> {
        tracing::debug!(zone_id, "compaction dropped: {e}");
        skip.push(Arc::downgrade(current));
        None
    }

    /// The kept version with the largest overlay of at least `threshold`
    /// names (not one in `skip`), waiting up to `wait` for one to appear;
    /// `None` when `stop` is set.
    fn wait_due(
        &self,
        threshold: usize,
        wait: Duration,
        skip: &mut Vec<Weak<Zone>>,
        stop: &AtomicBool,
    ) -> Option<(i64, ZoneKey, Arc<Zone>)> {
        let deadline = Instant::now() + wait;
        let mut zones = self.compiled.lock();
        loop {
            if stop.load(Ordering::Acquire) {
                return None;
            }
            skip.retain(|w| w.strong_count() > 0);
            let due = zones
                .iter()
                .filter(|(_, (_, z))| z.overlay_names() >= threshold)
                .filter(|(_, (_, z))| !skip.iter().any(|w| std::ptr::eq(w.as_ptr(), &**z)))
                .max_by_key(|(_, (_, z))| z.overlay_names())
                .map(|(id, (key, z))| (*id, *key, Arc::clone(z)));
            if due.is_some() {
                return due;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            zones = self
                .compiled
                .kept
                .wait_timeout(zones, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// The background compaction thread of a store (see the module docs);
/// stopped and joined when dropped.
pub struct Compactor {
    /// The store it compacts.
    store: Arc<Store>,
    /// Set to stop the thread.
    stop: Arc<AtomicBool>,
    /// The thread.
    thread: Option<JoinHandle<()>>,
}

impl Compactor {
    /// Starts a thread that compacts every zone whose kept version holds
    /// `threshold` names or more in its overlay (a threshold of 0 counts as
    /// 1), and hands each compacted version to `publish`.
    pub fn spawn(
        store: Arc<Store>,
        threshold: usize,
        publish: impl Fn(ZoneChange) + Send + 'static,
    ) -> std::io::Result<Compactor> {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, flag) = (Arc::clone(&store), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("candor-compact".into())
            .spawn(move || {
                let mut skip = Vec::new();
                let threshold = threshold.max(1);
                while !flag.load(Ordering::Acquire) {
                    match s.compact_due(threshold, Duration::from_secs(1), &mut skip, &flag) {
                        Ok(Some(change)) => publish(change),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!("background compaction: {e}");
                            std::thread::sleep(Duration::from_secs(1));
                        }
                    }
                }
            })?;
        Ok(Compactor {
            store,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Taking the lock orders the flag before the wake-up: the thread
        // is either before its check or waiting.
        drop(self.store.compiled.lock());
        self.store.compiled.kept.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests;
