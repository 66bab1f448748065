//! Following the store for changes other processes make (the CLI, a
//! second server on the same data).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_store::{Store, StoreError};
use tokio::sync::watch;

use crate::{Outcome, Publisher};

/// How often the store's zone versions are read.
const POLL: Duration = Duration::from_secs(1);

/// How often last-known-good copies of changed zones are written. A copy
/// costs about as much as compiling the zone, so a zone that changes every
/// second is copied at most this often.
const PERSIST_EVERY: Duration = Duration::from_secs(5);

/// Watches the store and publishes what changed: a zone whose stored
/// serial differs from the served one is compiled and offered to the
/// publisher (which drops it if a newer version was published meanwhile);
/// a zone that no longer compiles keeps its served version and is
/// reported once per stored version; a zone that is gone stops being
/// served. `changed` runs after every change published here. Also writes
/// last-known-good copies. Returns when `stop` turns.
pub async fn follow_store(
    store: Arc<Store>,
    publisher: Publisher,
    changed: Arc<dyn Fn() + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_persist: Option<Instant> = None;
    loop {
        if last_persist.is_none_or(|t| t.elapsed() >= PERSIST_EVERY) {
            last_persist = Some(Instant::now());
            let p = publisher.clone();
            if tokio::task::spawn_blocking(move || p.persist())
                .await
                .is_err()
            {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let st = store.clone();
        let versions = match tokio::task::spawn_blocking(move || st.zone_versions()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                tracing::warn!("cannot read zone versions: {e}");
                continue;
            }
            Err(_) => return,
        };
        let mut seen = HashSet::new();
        let mut any = false;
        for v in versions {
            seen.insert(v.id);
            if publisher.serial(v.id) == Some(v.serial) || publisher.known_failure(v.id, v.serial) {
                continue;
            }
            let st = store.clone();
            match tokio::task::spawn_blocking(move || st.compile_zone(v.id)).await {
                Ok(Ok(change)) => {
                    if publisher.publish(&change) == Outcome::Published {
                        tracing::info!(
                            zone = %v.name,
                            serial = change.zone.serial,
                            "zone changed in the store"
                        );
                        any = true;
                    }
                }
                Ok(Err(StoreError::Invalid(errors))) => {
                    let error = errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    if publisher.fail(v.id, &v.name, v.serial, &error) {
                        tracing::error!(
                            zone = %v.name,
                            stored_serial = v.serial,
                            served_serial = ?publisher.serial(v.id),
                            "changed zone does not compile; its last good version stays \
                             served: {error}"
                        );
                    }
                }
                // Gone in between: the next poll sees it missing.
                Ok(Err(StoreError::NotFound(_))) => {}
                Ok(Err(e)) => tracing::warn!(zone = %v.name, "cannot compile changed zone: {e}"),
                Err(_) => return,
            }
        }
        let known = publisher
            .ids()
            .into_iter()
            .chain(publisher.failures().into_iter().map(|f| f.zone_id));
        for id in known.collect::<Vec<_>>() {
            if !seen.contains(&id) {
                publisher.remove(id);
                any = true;
            }
        }
        if any {
            let changed = changed.clone();
            let _ = tokio::task::spawn_blocking(move || changed()).await;
        }
    }
}
