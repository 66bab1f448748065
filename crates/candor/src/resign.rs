//! Signature refresh inside `candor serve`: once an hour, every served
//! zone with DNSSEC whose signatures were made long enough ago
//! (`SigningPolicy::refresh_due`: half the shortest signature lifetime,
//! 5½ days) is signed again under its next serial (`Store::resign_zone`)
//! and published, so secondaries follow and no signature ever expires
//! while the server runs. Signing runs on the blocking pool; answering
//! never waits for it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_dnssec::SigningPolicy;
use candor_publish::Publisher;
use candor_store::Store;
use candor_wire::Name;
use tokio::sync::watch;

/// How often served zones are checked.
const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// Checks every [`CHECK_EVERY`] (the first time a minute after start) and
/// re-signs what is due; returns when `stop` turns.
pub(crate) async fn run(store: Arc<Store>, publisher: Publisher, mut stop: watch::Receiver<bool>) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        wait = CHECK_EVERY;
        let (st, p) = (store.clone(), publisher.clone());
        let Ok(largest) = tokio::task::spawn_blocking(move || check(&st, &p)).await else {
            return;
        };
        if !release_after_replacing(largest, &mut stop).await {
            return;
        }
    }
}

/// After a large zone was signed again and its new version published
/// (`largest`: the most records, signatures included, of such a version),
/// gives the freed heap back a moment later; returns false when `stop`
/// turned meanwhile. The store gave the freed heap back right after
/// signing, while the version it replaced was still served; that version
/// is freed only once the publisher has swapped it out and its last
/// readers (a UDP batch, the transfer journal's follower) let go of it,
/// and until a large allocation reuses its small chunks glibc keeps them:
/// a 100,000-record zone served at 85 MB stayed at 253 MB after a key
/// roll step signed it again (96 MB after a `malloc_trim`).
pub(crate) async fn release_after_replacing(
    largest: usize,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    if largest < RELEASE_AFTER {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(RELEASE_DELAY) => {}
        _ = stop.changed() => return false,
    }
    tokio::task::spawn_blocking(candor_zone::release_free_heap)
        .await
        .is_ok()
}

/// How many records (signatures included) the largest zone re-signed in
/// a pass must serve for the freed heap to be handed back after it: the
/// store's threshold for signing (50,000 records made by the signer) in
/// records served, about three for each one signed.
const RELEASE_AFTER: usize = 150_000;

/// How long after a pass the heap is given back: the replaced versions'
/// last readers let go of them within a moment.
const RELEASE_DELAY: Duration = Duration::from_secs(5);

/// One pass: re-signs and publishes every served DNSSEC zone that is due.
/// Returns the record count of the largest zone re-signed (0 if none).
fn check(store: &Store, publisher: &Publisher) -> usize {
    let mut largest = 0;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let policy = SigningPolicy::default();
    let zones = match store.dnssec_zones() {
        Ok(z) => z,
        Err(e) => {
            tracing::warn!("cannot list DNSSEC zones: {e}");
            return 0;
        }
    };
    for (id, name) in zones {
        let Ok(apex) = Name::from_text(&format!("{name}."), None) else {
            continue;
        };
        let set = publisher.zones().load();
        let signed_at = set
            .find(apex.to_lowercase().as_wire())
            .filter(|z| z.apex() == &apex.to_lowercase())
            .and_then(|z| candor_dnssec::signed_at(z, &policy));
        // A zone not served signed yet is the follower's to publish.
        if !signed_at.is_some_and(|at| policy.refresh_due(at, now)) {
            continue;
        }
        // Not held while the zone is signed again and replaced: it holds
        // the version being replaced.
        drop(set);
        match store.resign_zone(id) {
            Ok(change) => {
                publisher.publish(&change);
                tracing::info!(zone = %name, serial = change.zone.serial, "signatures refreshed");
                let records = change.compiled.as_ref().map_or(0, |z| z.record_count());
                largest = largest.max(records);
            }
            Err(e) => tracing::warn!(zone = %name, "cannot refresh signatures: {e}"),
        }
    }
    largest
}
