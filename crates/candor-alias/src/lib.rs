//! The background resolver for ALIAS targets outside Candor's zones.
//!
//! It keeps `AliasTable` (read by the answer path, which never waits) up to
//! date: every target named by an ALIAS record (in the store, or in a
//! served zone that is not the store's, such as a Candor secondary's,
//! [`served`]) outside the served zones is resolved through the
//! configured upstream resolvers, cached by its TTL (clamped to a floor and
//! a ceiling), refreshed before it expires, and kept (stale, RFC 8767
//! style) when the upstream fails, up to a maximum stale age. Lookups are
//! bounded: a cap on concurrent queries and on new queries per second.
//! Refreshing can be switched off at run time; cached data is then served
//! as it is.
//!
//! For zones with DNSSEC, the same task signs each ALIAS owner's answer
//! when its addresses change ([`sign`]), off the query path, and publishes
//! the signatures in the same table.

#![forbid(unsafe_code)]

pub mod offline;
pub mod served;
pub mod sign;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use candor_answer::{AliasEntry, AliasTable, SharedAliases};
use candor_store::Store;
use candor_wire::decode::decode_message;
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::ZoneSet;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc, watch};

/// The store setting that switches refreshing (`on`, the default, or `off`).
pub const REFRESH_SETTING: &str = "alias_refresh";

/// Resolver settings.
#[derive(Clone, Debug)]
pub struct AliasSettings {
    /// Upstream resolvers, tried in order.
    pub upstreams: Vec<SocketAddr>,
    /// Shortest time an answer is kept before refreshing.
    pub ttl_floor: Duration,
    /// Longest time an answer is kept before refreshing.
    pub ttl_ceiling: Duration,
    /// How long an answer is served after its upstream stopped answering.
    pub max_stale: Duration,
    /// How long to wait for one upstream answer.
    pub timeout: Duration,
    /// Most upstream lookups at once.
    pub max_concurrent: usize,
    /// Most lookups started per second.
    pub max_per_second: u32,
}

/// The resolver's counters, for the metrics. Answers served from the
/// table are not counted: that would be a counter on the query path.
#[derive(Debug, Default)]
pub struct AliasStats {
    /// Targets followed.
    targets: AtomicU64,
    /// Targets with an answer to serve (fresh or stale).
    cached: AtomicU64,
    /// Lookups that got an answer.
    refreshed: AtomicU64,
    /// Lookups no upstream answered usefully.
    failed: AtomicU64,
    /// Upstream queries that timed out, failed or got SERVFAIL.
    upstream_errors: AtomicU64,
}

impl AliasStats {
    /// Writes the counters as metrics.
    pub fn collect(&self, s: &mut candor_metrics::Samples) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let gauge = |c: &AtomicU64| i64::try_from(get(c)).unwrap_or(i64::MAX);
        s.gauge(
            "candor_alias_targets",
            "ALIAS targets outside Candor's zones that the resolver follows.",
            &[],
            gauge(&self.targets),
        );
        s.gauge(
            "candor_alias_cached",
            "ALIAS targets with an answer to serve (fresh or stale).",
            &[],
            gauge(&self.cached),
        );
        for (result, n) in [
            ("answered", get(&self.refreshed)),
            ("failed", get(&self.failed)),
        ] {
            s.counter(
                "candor_alias_lookups",
                "ALIAS target lookups by result (failed: no upstream answered usefully; the \
                 cached answer stays served until --alias-max-stale).",
                &[("result", result)],
                n,
            );
        }
        s.counter(
            "candor_alias_upstream_errors",
            "Queries to ALIAS upstream resolvers that timed out, failed or got SERVFAIL.",
            &[],
            get(&self.upstream_errors),
        );
    }
}

/// Adds one to a resolver counter.
fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What the resolver knows of one target.
struct Target {
    /// The last good answer and when it was fetched.
    entry: Option<(AliasEntry, Instant)>,
    /// When to look it up next.
    next: Instant,
    /// A lookup is running.
    busy: bool,
}

/// The outcome of one lookup.
struct Outcome {
    /// The target.
    target: String,
    /// The answer, or `None` when no upstream answered usefully.
    entry: Option<AliasEntry>,
}

/// Publishes a zone change (see [`run`]'s `bump`).
pub type Publish = Arc<dyn Fn(&candor_store::ZoneChange) + Send + Sync>;

/// Runs until `stop` turns: follows the ALIAS targets of the served zones
/// `zones` (the store's, a Candor secondary's, zone files; see
/// [`served`]) and keeps `table` current. `enabled` is the run-time
/// switch. With `bump` (zone transfers are configured), a target whose
/// addresses change (in the resolver's answers, or inside the served
/// zones) gives every stored zone pointing at it a new serial, published
/// with `bump`, so standard secondaries get the new flattened addresses by
/// IXFR after a NOTIFY; so does a signed zone whose ALIAS answers were
/// signed anew, since secondaries get them with the signer's signatures.
/// ALIAS owners of signed zones in `zones` (the served set) get their
/// answers signed when they change (see [`sign`]); with no `upstreams`
/// only targets inside the served zones have answers, and each zone with
/// ALIAS records to names outside them is named once in a warning.
///
/// Without a `store` (a server of zone files alone) the targets are
/// resolved just the same; refreshing cannot be switched off, no ALIAS
/// answer is signed online (there are no keys) and no serial is bumped
/// (a zone file's serial is the file's).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: Option<Arc<Store>>,
    zones: Arc<ArcSwap<ZoneSet>>,
    table: SharedAliases,
    settings: AliasSettings,
    enabled: Arc<AtomicBool>,
    stats: Arc<AliasStats>,
    bump: Option<Publish>,
    mut stop: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let permits = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
    let (tx, mut rx) = mpsc::channel::<Outcome>(1024);
    let mut targets: HashMap<String, Target> = HashMap::new();
    let mut last_scan = Instant::now() - Duration::from_secs(60);
    // The targets are those of the served zones outside them: the store's
    // zones are served (the served set holds every ALIAS record that
    // answers: a zone that does not compile serves its last good
    // version, a region's server its view), beside a Candor secondary's
    // zones and zone files; a change costs its own (see `served`), not a
    // read of every ALIAS record of the store.
    let mut served = served::ServedTargets::default();
    let mut last_set: Option<Arc<ZoneSet>> = None;
    let tick = Duration::from_millis(100);
    let per_tick = (settings.max_per_second / 10).max(1) as usize;
    let ttl_cap = u32::try_from(settings.ttl_ceiling.as_secs()).unwrap_or(u32::MAX);
    let mut signer = sign::Signer::new(ttl_cap);
    // Zones already warned about for ALIAS targets nobody resolves.
    let mut warned: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let now = Instant::now();
        let mut changed = false;
        // Targets whose answer (what standard secondaries get) changed.
        let mut moved: Vec<String> = Vec::new();
        // Targets inside the served zones whose addresses changed, and
        // the zones pointing at them that need a new serial.
        let mut local = served::Delta::default();
        // The served zones' targets, read once per version of the served
        // set (a new zone version costs its change, see `served`), off
        // the runtime; every tick, so a change inside the served zones
        // reaches the zones pointing at it at once.
        let set = zones.load_full();
        if !last_set.as_ref().is_some_and(|l| Arc::ptr_eq(l, &set)) {
            let mut s = std::mem::take(&mut served);
            let read = Arc::clone(&set);
            if let Ok((s, delta)) = tokio::task::spawn_blocking(move || {
                let delta = s.update(&read);
                (s, delta)
            })
            .await
            {
                served = s;
                last_set = Some(set);
                changed |= follow_outside(&mut targets, &delta, now);
                warn_unresolvable(&delta, &served, &settings.upstreams, &mut warned);
                local = delta;
            }
        }
        // The refresh switch, from the store, about once a second.
        if let Some(st) = &store
            && now.duration_since(last_scan) >= Duration::from_secs(1)
        {
            last_scan = now;
            let st = st.clone();
            let switch = tokio::task::spawn_blocking(move || st.setting(REFRESH_SETTING)).await;
            if let Ok(Ok(value)) = switch {
                let on = value.as_deref() != Some("off");
                if enabled.swap(on, Ordering::Relaxed) != on {
                    tracing::warn!(
                        refresh = on,
                        "ALIAS refreshing switched {}",
                        if on {
                            "on"
                        } else {
                            "off: serving cached answers only"
                        }
                    );
                }
            }
        }
        // Results of finished lookups.
        while let Ok(outcome) = rx.try_recv() {
            let Some(t) = targets.get_mut(&outcome.target) else {
                continue;
            };
            t.busy = false;
            count(if outcome.entry.is_some() {
                &stats.refreshed
            } else {
                &stats.failed
            });
            match outcome.entry {
                Some(entry) => {
                    let keep = Duration::from_secs(u64::from(entry.ttl))
                        .clamp(settings.ttl_floor, settings.ttl_ceiling);
                    // Refresh after three quarters of the TTL, before expiry.
                    t.next = now + keep * 3 / 4;
                    let before = t.entry.as_ref().map(|e| &e.0);
                    changed |= before != Some(&entry);
                    if !before.is_some_and(|b| same_addresses(b, &entry)) {
                        moved.push(outcome.target.clone());
                    }
                    t.entry = Some((entry, now));
                }
                None => {
                    // Keep serving what we had, retry soon, drop it when too old.
                    t.next = now + settings.ttl_floor.min(Duration::from_secs(30));
                    if t.entry
                        .as_ref()
                        .is_some_and(|e| now.duration_since(e.1) > settings.max_stale)
                    {
                        t.entry = None;
                        changed = true;
                        moved.push(outcome.target.clone());
                    }
                }
            }
        }
        // New lookups, within the limits, unless switched off.
        if enabled.load(Ordering::Relaxed) && !settings.upstreams.is_empty() {
            // Never-resolved targets first (a new ALIAS should work at
            // once), then the most overdue: no target starves when the
            // per-second limit is tight.
            let mut due: Vec<(bool, Instant, &str)> = targets
                .iter()
                .filter(|(_, t)| !t.busy && t.next <= now)
                .map(|(name, t)| (t.entry.is_some(), t.next, name.as_str()))
                .collect();
            let take = per_tick.min(due.len());
            if take < due.len() {
                due.select_nth_unstable(take);
            }
            let chosen: Vec<String> = due[..take].iter().map(|d| d.2.to_owned()).collect();
            for name in chosen {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break;
                };
                let Some(t) = targets.get_mut(&name) else {
                    continue;
                };
                t.busy = true;
                let (tx, settings, stats) = (tx.clone(), settings.clone(), stats.clone());
                tokio::spawn(async move {
                    let entry = resolve(&name, &settings, &stats).await;
                    drop(permit);
                    let _ = tx
                        .send(Outcome {
                            target: name,
                            entry,
                        })
                        .await;
                });
            }
        }
        let (sign_change, resigned) = match &store {
            Some(store) => sign_changed(store, &zones, &targets, &mut signer).await,
            None => (false, Vec::new()),
        };
        changed |= sign_change;
        if changed {
            publish(&targets, &signer, &table);
        }
        if let (Some(store), Some(bump)) = (&store, &bump) {
            let mut bumped = Vec::new();
            if !moved.is_empty() {
                let zones = served.zones_pointing_at(&moved);
                bumped = bump_zones(store, bump, zones, moved).await;
            }
            local.bump.retain(|z| !bumped.contains(z));
            if !local.bump.is_empty() {
                bumped.extend(bump_zones(store, bump, local.bump, local.moved).await);
            }
            let resigned: Vec<String> = resigned
                .into_iter()
                .filter(|z| !bumped.contains(z))
                .collect();
            if !resigned.is_empty() {
                bump_signed_zones(store, bump, resigned).await;
            }
        }
        let cached = targets.values().filter(|t| t.entry.is_some()).count();
        stats.targets.store(targets.len() as u64, Ordering::Relaxed);
        stats.cached.store(cached as u64, Ordering::Relaxed);
    }
}

/// Applies a [`served::Delta`]'s outside targets to the followed
/// targets; whether a followed target was dropped (the table must be
/// published again).
fn follow_outside(
    targets: &mut HashMap<String, Target>,
    delta: &served::Delta,
    now: Instant,
) -> bool {
    let mut dropped = false;
    for name in &delta.outside_removed {
        dropped |= targets.remove(name).is_some();
    }
    for name in &delta.outside_added {
        targets.entry(name.clone()).or_insert(Target {
            entry: None,
            next: now,
            busy: false,
        });
    }
    dropped
}

/// Logs, once per zone, that a served zone has ALIAS records to names
/// outside the served zones while no upstream resolver is configured
/// (`upstreams` is empty): those ALIAS owners answer SERVFAIL (`warned`
/// holds the zones already named).
fn warn_unresolvable(
    delta: &served::Delta,
    served: &served::ServedTargets,
    upstreams: &[SocketAddr],
    warned: &mut HashSet<String>,
) {
    if !upstreams.is_empty() || delta.outside_added.is_empty() {
        return;
    }
    for zone in served.zones_pointing_at(&delta.outside_added) {
        if warned.insert(zone.clone()) {
            tracing::warn!(
                zone = %zone,
                "zone {zone} has ALIAS records to names outside the served zones but no \
                 --alias-upstream is set: they answer SERVFAIL"
            );
        }
    }
}

/// Whether two answers give secondaries the same records: the same
/// addresses in any order (a TTL counting down in a resolver's cache, or
/// a rotated order, is not worth a new serial).
fn same_addresses(a: &AliasEntry, b: &AliasEntry) -> bool {
    let sorted = |e: &AliasEntry| {
        let (mut v4, mut v6) = (e.v4.clone(), e.v6.clone());
        v4.sort_unstable();
        v6.sort_unstable();
        (e.exists, v4, v6)
    };
    sorted(a) == sorted(b)
}

/// Gives the zones `zones` (those of the served zones pointing at one of
/// the `moved` targets, `ServedTargets::zones_pointing_at`) a new serial
/// and publishes it (after the new table is in place, so the transfer
/// journal flattens with the new addresses). Returns the zones' names.
async fn bump_zones(
    store: &Arc<Store>,
    bump: &Publish,
    zones: Vec<String>,
    moved: Vec<String>,
) -> Vec<String> {
    if zones.is_empty() {
        return Vec::new();
    }
    let (st, names, targets) = (store.clone(), zones.clone(), moved.clone());
    match tokio::task::spawn_blocking(move || st.bump_alias_zones_named(&names, &targets)).await {
        Ok(Ok(changes)) => {
            for change in &changes {
                tracing::info!(
                    zone = %change.zone.name,
                    serial = change.zone.serial,
                    targets = ?moved,
                    "ALIAS target addresses changed: new serial for secondaries"
                );
                bump(change);
            }
            changes.into_iter().map(|c| c.zone.name).collect()
        }
        Ok(Err(e)) => {
            tracing::error!(targets = ?moved, "cannot give zones of changed ALIAS targets a new serial: {e}");
            Vec::new()
        }
        Err(e) => {
            tracing::error!("cannot give zones of changed ALIAS targets a new serial: {e}");
            Vec::new()
        }
    }
}

/// Gives the signed zones whose ALIAS answers were just signed anew
/// (`zones`, as the store names them) a new serial and publishes it,
/// after the table with the new answers is in place: standard secondaries
/// get ALIAS owners' addresses with the signer's signatures in transfers
/// (`candor_xfr::view`), so new signatures need a new version for them.
/// That version changes nothing the signer reads, so it signs nothing.
async fn bump_signed_zones(store: &Arc<Store>, bump: &Publish, zones: Vec<String>) {
    let (st, names) = (store.clone(), zones.clone());
    match tokio::task::spawn_blocking(move || st.bump_signed_alias_zones(&names)).await {
        Ok(Ok(changes)) => {
            for change in &changes {
                tracing::info!(
                    zone = %change.zone.name,
                    serial = change.zone.serial,
                    "ALIAS answers signed anew: new serial for secondaries"
                );
                bump(change);
            }
        }
        Ok(Err(e)) => {
            tracing::error!(zones = ?zones, "cannot give zones with newly signed ALIAS answers a new serial: {e}")
        }
        Err(e) => {
            tracing::error!("cannot give zones with newly signed ALIAS answers a new serial: {e}")
        }
    }
}

/// Swaps in a table of every target with an answer and every signed
/// ALIAS answer.
fn publish(targets: &HashMap<String, Target>, signer: &sign::Signer, table: &SharedAliases) {
    let entries = targets.iter().filter_map(|(name, t)| {
        let (entry, _) = t.entry.as_ref()?;
        let wire = Name::from_text(&format!("{name}."), None)
            .ok()?
            .to_lowercase();
        Some((Box::from(wire.as_wire()), entry.clone()))
    });
    table.store(Arc::new(
        AliasTable::new(entries).with_signed(signer.published()),
    ));
}

/// Signs the ALIAS answers of signed zones that changed (see [`sign`]),
/// with keys read from the store, on a blocking thread; whether any
/// published answer changed, and the zones (as the store names them)
/// with a newly signed answer. The keys are used and dropped here, never
/// logged.
async fn sign_changed(
    store: &Arc<Store>,
    zones: &Arc<ArcSwap<ZoneSet>>,
    targets: &HashMap<String, Target>,
    signer: &mut sign::Signer,
) -> (bool, Vec<String>) {
    let served = zones.load_full();
    let resolved = |wire: &[u8]| {
        let name = Name::from_wire(wire).ok()?.to_string();
        let name = name.strip_suffix('.').unwrap_or(&name);
        targets.get(name)?.entry.as_ref().map(|e| e.0.clone())
    };
    let at = unix_now();
    let (wants, dropped) = signer.plan(&served, &resolved, at);
    if wants.is_empty() {
        return (dropped, Vec::new());
    }
    let st = store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut keys: HashMap<String, Result<Vec<candor_dnssec::SigningKey>, String>> =
            HashMap::new();
        let mut out = Vec::with_capacity(wants.len());
        for want in wants {
            let zone_keys = keys
                .entry(want.zone.clone())
                .or_insert_with(|| st.zone_signing_keys(&want.zone).map_err(|e| e.to_string()));
            let signed = match zone_keys {
                Ok(k) => match sign::sign(&want, k, at) {
                    Some(Ok(s)) => Ok(s),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("no key of the store is published in the served zone".into()),
                },
                Err(e) => Err(format!("cannot read the zone's keys: {e}")),
            };
            out.push((want, signed));
        }
        out
    })
    .await;
    let Ok(results) = result else {
        return (dropped, Vec::new());
    };
    let mut changed = dropped;
    let mut resigned: Vec<String> = Vec::new();
    for (want, signed) in results {
        match signed {
            Ok(s) => {
                if !resigned.contains(&want.zone) {
                    resigned.push(want.zone.clone());
                }
                signer.complete(want, at, s);
                changed = true;
            }
            Err(why) => {
                let owner = Name::from_wire(&want.owner).map(|n| n.to_string());
                tracing::warn!(
                    zone = %want.zone,
                    owner = %owner.unwrap_or_default(),
                    "cannot sign the ALIAS answer (the previous one stays served): {why}"
                );
                signer.failed(&want.owner, at);
            }
        }
    }
    (changed, resigned)
}

/// Seconds since the epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Looks a target up (A and AAAA) at the first upstream that answers.
async fn resolve(target: &str, settings: &AliasSettings, stats: &AliasStats) -> Option<AliasEntry> {
    let name = Name::from_text(&format!("{target}."), None).ok()?;
    for upstream in &settings.upstreams {
        let Some(v4) = ask(*upstream, &name, Rtype::A, settings.timeout).await else {
            count(&stats.upstream_errors);
            continue;
        };
        let Some(v6) = ask(*upstream, &name, Rtype::AAAA, settings.timeout).await else {
            count(&stats.upstream_errors);
            continue;
        };
        let exists = v4.exists && v6.exists;
        let ttl = v4.ttl.min(v6.ttl);
        let v4 = v4
            .addresses
            .iter()
            .filter_map(|a| <[u8; 4]>::try_from(a.as_slice()).ok())
            .collect();
        let v6 = v6
            .addresses
            .iter()
            .filter_map(|a| <[u8; 16]>::try_from(a.as_slice()).ok())
            .collect();
        return Some(AliasEntry {
            exists,
            v4,
            v6,
            ttl,
        });
    }
    None
}

/// One upstream answer for one type.
struct Reply {
    /// Not NXDOMAIN.
    exists: bool,
    /// Address RDATA of the type asked (after any CNAME chain).
    addresses: Vec<Vec<u8>>,
    /// Smallest TTL seen (of the addresses, or of the SOA for negatives).
    ttl: u32,
}

/// Asks one upstream for one type; `None` on timeout, error or SERVFAIL.
async fn ask(upstream: SocketAddr, name: &Name, rtype: Rtype, timeout: Duration) -> Option<Reply> {
    let bind: SocketAddr = if upstream.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(bind).await.ok()?;
    socket.connect(upstream).await.ok()?;
    let id: u16 = rand_id();
    let spec = QuerySpec {
        id,
        recursion_desired: true,
        edns_udp_size: Some(1232),
    };
    socket.send(&query_message(spec, name, rtype)).await.ok()?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .ok()?
            .ok()?;
        let Ok(msg) = decode_message(&buf[..n]) else {
            continue;
        };
        if msg.header.id != id || msg.questions.first().is_none_or(|q| q.1 != rtype) {
            continue; // Not the answer to our question.
        }
        let ttl_of = |records: &[candor_wire::decode::Record], t: Rtype| {
            records.iter().filter(|r| r.rtype == t).map(|r| r.ttl).min()
        };
        return match msg.rcode() {
            0 => {
                let addresses: Vec<Vec<u8>> = msg
                    .answer
                    .iter()
                    .filter(|r| r.rtype == rtype)
                    .map(|r| r.rdata.clone())
                    .collect();
                let ttl = ttl_of(&msg.answer, rtype)
                    .or_else(|| ttl_of(&msg.authority, Rtype::SOA))
                    .unwrap_or(60);
                Some(Reply {
                    exists: true,
                    addresses,
                    ttl,
                })
            }
            3 => {
                let ttl = ttl_of(&msg.authority, Rtype::SOA).unwrap_or(60);
                Some(Reply {
                    exists: false,
                    addresses: Vec::new(),
                    ttl,
                })
            }
            _ => None,
        };
    }
}

/// A query ID that is hard to guess (RFC 5452): SipHash under the
/// standard library's randomly seeded keys, which differ for every
/// `RandomState`.
pub fn rand_id() -> u16 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_addresses_are_worth_a_new_serial() {
        let entry = |v4: &[[u8; 4]], ttl| AliasEntry {
            exists: true,
            v4: v4.to_vec(),
            v6: vec![[0x20; 16]],
            ttl,
        };
        let (a, b) = ([192, 0, 2, 1], [192, 0, 2, 2]);
        assert!(same_addresses(&entry(&[a, b], 300), &entry(&[b, a], 42)));
        assert!(!same_addresses(&entry(&[a, b], 300), &entry(&[a], 300)));
        let mut gone = entry(&[], 300);
        gone.v6.clear();
        let mut nx = gone.clone();
        nx.exists = false;
        assert!(!same_addresses(&gone, &nx));
    }
}
