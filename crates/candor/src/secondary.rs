//! Candor as a secondary (`serve --secondary ZONE@PRIMARY[@KEY]`): the
//! sockets and tasks around `candor_xfr::{refresh, client, secondary}`.
//!
//! - At start, each zone's copy in `DATA_DIR/secondary/` is loaded and
//!   its journal of IXFRs replayed onto it (`disk`; the later modification
//!   time of the two files is when a primary last confirmed the zone), and
//!   served unless its SOA expire has passed since. A journal that does
//!   not fit its copy makes the zone's first transfer an AXFR.
//! - One task per zone follows `Refresh::poll`: an SOA query over UDP to
//!   each primary in turn (TSIG-signed with its key), and when a primary
//!   has a newer serial, an IXFR over TCP (AXFR when nothing is held, when
//!   the primary answers AXFR-style, or when the IXFR does not apply).
//!   The new version is published, then kept on disk by a task of the
//!   zone's own, so the next check does not wait for the write (`disk`):
//!   an IXFR is appended to the zone's journal and synced, an AXFR (or a
//!   journal past its bound) rewrites the full copy atomically. A check
//!   that finds the same serial touches the journal.
//! - Transfers ask for the Candor view (`Exchange::candor_view`): a
//!   Candor primary then sends ALIAS, POOL and REGIONAL records as
//!   themselves. The zone held (and written to its copy) is what the
//!   primary sent; what is served is this server's own view of it
//!   (`candor_xfr::regional::regional_view` with `--region`).
//! - NOTIFYs the UDP workers accept (`candor_xfr::secondary::on_notify`)
//!   arrive here by zone and make the zone's check due at once.
//! - An expired zone leaves the served set and joins the list the
//!   listeners answer SERVFAIL for, until a primary answers again.
//! - IXFRs patch the zone held; once its overlay holds
//!   `--compact-overlay-names` names (1,024), the zone's task compacts
//!   it in the background as the primary's `Compactor` does
//!   (`candor_xfr::compaction`): a fresh compile on a blocking thread,
//!   the IXFRs applied meanwhile caught up, then held and served in its
//!   place at the same serial, so no IXFR waits for a full compile.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use arc_swap::ArcSwap;
use candor_publish::Publisher;
use candor_wire::Name;
use candor_xfr::KeyRing;
use candor_xfr::client::{
    Ask, ClientError, Exchange, Progress, Received, Soa, Step, apply_steps_patched, build_full,
    is_newer, soa_record,
};
use candor_xfr::compaction::Compaction;
use candor_xfr::refresh::{Action, Checked, Refresh};
use candor_xfr::secondary::{Primaries, PrimaryServer};
use candor_zone::{Zone, ZoneError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use disk::{OnDisk, ToDisk};

mod disk;

/// How long an SOA query waits for each answer.
const SOA_TIMEOUT: Duration = Duration::from_secs(2);

/// SOA queries sent to one primary before it counts as down.
const SOA_TRIES: u32 = 3;

/// How long a transfer's connection and each of its messages may take.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30);

/// Seconds since 1970.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A message ID nobody can guess (the standard library's per-process
/// random hash keys).
fn random_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(unix_now());
    h.finish() as u16
}

/// What every zone's task shares.
pub(crate) struct Shared {
    /// Serves and withdraws the received zones.
    pub(crate) publisher: Publisher,
    /// TSIG keys.
    pub(crate) keys: Arc<ArcSwap<KeyRing>>,
    /// Where the copies are kept.
    pub(crate) dir: PathBuf,
    /// Zones that expired (answered SERVFAIL by the listeners).
    pub(crate) expired: Arc<ArcSwap<Vec<Name>>>,
    /// The secondary zones and their primaries, as NOTIFYs are checked.
    pub(crate) primaries: Arc<ArcSwap<Primaries>>,
    /// The zones left out of this server's own catalog.
    pub(crate) excluded: crate::catalog::Excluded,
    /// Where each zone's task takes its NOTIFYs; a zone without an
    /// entry is no longer a secondary zone (its task ends).
    pub(crate) routes: Mutex<HashMap<Name, mpsc::UnboundedSender<()>>>,
    /// The members each secondary catalog listed last.
    pub(crate) members: Mutex<HashMap<Name, Vec<Name>>>,
    /// Turns at shutdown.
    pub(crate) stop: watch::Receiver<bool>,
    /// This server's region (`--region`): the REGIONAL records it serves.
    pub(crate) region: Option<String>,
    /// Names in a held zone's overlay at which it is compacted
    /// (`--compact-overlay-names`; 0: never).
    pub(crate) compact_overlay_names: usize,
}

impl Shared {
    /// Whether `zone` is still a secondary zone.
    fn active(&self, zone: &Name) -> bool {
        lock(&self.routes).contains_key(zone)
    }
}

/// Serves this server's view of the zone held (`regional_view`); a view
/// that does not compile leaves the zone served as held, with an error.
fn serve_view(publisher: &Publisher, region: Option<&str>, held: &Arc<Zone>) {
    publisher.serve_other(view_of(region, held));
}

/// This server's view of the zone held (see [`serve_view`]).
fn view_of(region: Option<&str>, held: &Arc<Zone>) -> Arc<Zone> {
    logged_view(
        region,
        held,
        candor_xfr::regional::regional_view(held, region),
    )
}

/// [`view_of`] `held`, which IXFR `steps` made from the zone whose view
/// was `before`: `before` patched at the names they touch
/// (`regional_view_after`, in proportion to the steps).
fn view_after(
    region: Option<&str>,
    before: &Arc<Zone>,
    held: &Arc<Zone>,
    steps: &[Step],
) -> Arc<Zone> {
    let view = candor_xfr::regional::regional_view_after(before, held, steps, region);
    logged_view(region, held, view)
}

/// The view made of `held`, or (logged) `held` itself when it does not
/// compile; REGIONAL records left out are logged.
fn logged_view(
    region: Option<&str>,
    held: &Arc<Zone>,
    view: Result<(Arc<Zone>, usize), candor_xfr::client::ApplyError>,
) -> Arc<Zone> {
    match view {
        Ok((view, skipped)) => {
            if skipped > 0 {
                tracing::warn!(
                    zone = %held.apex(),
                    skipped,
                    "secondary zone: REGIONAL records that cannot be read are left out"
                );
            }
            view
        }
        Err(e) => {
            tracing::error!(
                zone = %held.apex(),
                region = region.unwrap_or(""),
                "secondary zone: this region's view does not compile ({e}); serving the \
                 global view"
            );
            Arc::clone(held)
        }
    }
}

/// Locks a mutex whatever a panic elsewhere left in it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A secondary zone before its task starts.
pub(crate) struct Loaded {
    /// The zone.
    zone: Name,
    /// Its primaries.
    primaries: Vec<PrimaryServer>,
    /// The copy held, if any.
    current: Option<Arc<Zone>>,
    /// Its refresh state.
    refresh: Refresh,
    /// What its copy and journal on disk hold.
    disk: OnDisk,
    /// Whether its next transfer is an AXFR (the journal on disk did not
    /// fit the copy).
    axfr_next: bool,
    /// Whether it is a catalog (RFC 9432) whose members become secondary
    /// zones; it is not served itself.
    catalog: bool,
}

/// Loads the copies of the secondary zones from `dir` and serves those
/// that have not expired (blocking: run before serving starts).
pub(crate) fn load(
    primaries: &Primaries,
    catalogs: &[Name],
    dir: &Path,
    publisher: &Publisher,
    expired: &ArcSwap<Vec<Name>>,
    region: Option<&str>,
) -> Vec<Loaded> {
    let mut out = Vec::new();
    let mut gone = Vec::new();
    for (zone, servers) in primaries.zones() {
        let catalog = catalogs.contains(zone);
        let loaded = load_one(zone, servers, catalog, dir, &mut gone);
        if let Some(copy) = &loaded.current
            && !gone.contains(zone)
            && !catalog
        {
            serve_view(publisher, region, copy);
        }
        out.push(loaded);
    }
    expired.store(Arc::new(gone));
    out
}

/// Loads the copy of one secondary zone; adds it to `gone` if expired.
fn load_one(
    zone: &Name,
    servers: &[PrimaryServer],
    catalog: bool,
    dir: &Path,
    gone: &mut Vec<Name>,
) -> Loaded {
    let now = unix_now();
    let mut loaded = Loaded {
        zone: zone.clone(),
        primaries: servers.to_vec(),
        current: None,
        refresh: Refresh::empty(now),
        disk: OnDisk::default(),
        axfr_next: false,
        catalog,
    };
    let copy = match disk::load(dir, zone) {
        Ok(Some(copy)) => copy,
        Ok(None) => return loaded,
        Err(e) => {
            tracing::error!(%zone, "secondary zone: the copy on disk is not usable: {e}");
            return loaded;
        }
    };
    let Some(soa) = Soa::of_zone(&copy.zone) else {
        return loaded;
    };
    loaded.refresh = Refresh::held(soa, copy.confirmed, now);
    let expires = copy.confirmed.saturating_add(u64::from(soa.expire));
    if now >= expires {
        tracing::warn!(
            %zone,
            serial = soa.serial,
            "secondary zone: the copy on disk is older than the SOA expire; \
             answering SERVFAIL until a primary answers"
        );
        gone.push(zone.clone());
    } else {
        tracing::info!(
            %zone,
            serial = soa.serial,
            journal_entries = copy.replayed,
            expires_in_s = expires - now,
            "secondary zone served from its copy on disk"
        );
    }
    loaded.current = Some(copy.zone);
    loaded.disk = copy.disk;
    loaded.axfr_next = copy.axfr_next;
    loaded
}

/// Starts a task per secondary zone and one that hands each accepted
/// NOTIFY to its zone's task.
pub(crate) fn spawn(
    loaded: Vec<Loaded>,
    shared: Shared,
    mut notifies: mpsc::UnboundedReceiver<Name>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let shared = Arc::new(shared);
    let mut tasks = Vec::new();
    for zone in loaded {
        tasks.push(start_zone(&shared, zone));
    }
    let mut stop = shared.stop.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                n = notifies.recv() => match n {
                    Some(zone) => {
                        tracing::debug!(%zone, "NOTIFY accepted");
                        if let Some(tx) = lock(&shared.routes).get(&zone) {
                            let _ = tx.send(());
                        }
                    }
                    None => return,
                },
                _ = stop.changed() => return,
            }
        }
    }));
    tasks
}

/// Registers a zone's NOTIFY route and starts its task.
fn start_zone(shared: &Arc<Shared>, zone: Loaded) -> tokio::task::JoinHandle<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    lock(&shared.routes).insert(zone.zone.clone(), tx);
    tokio::spawn(run_zone(shared.clone(), zone, rx))
}

/// Makes the members of `catalog` (as its version `zone` lists them) the
/// secondary zones it brings, with the catalog's primaries: new members
/// start (from their copy on disk, if any), members gone stop being
/// served and lose their copy.
fn reconcile(shared: &Arc<Shared>, catalog: &Name, zone: &Zone, servers: &[PrimaryServer]) {
    let members = match candor_xfr::catalog::members(zone) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(%catalog, "the secondary catalog cannot be read: {e}");
            return;
        }
    };
    let before = lock(&shared.members)
        .insert(catalog.clone(), members.clone())
        .unwrap_or_default();
    let configured = |m: &Name| shared.primaries.load().of(m).is_some() && !before.contains(m);
    for gone in before.iter().filter(|m| !members.contains(m)) {
        lock(&shared.routes).remove(gone);
        shared.primaries.rcu(|p| p.with(gone, &[]));
        shared
            .excluded
            .rcu(|e| e.iter().filter(|z| *z != gone).cloned().collect::<Vec<_>>());
        set_expired(&shared.expired, gone, false);
        shared.publisher.remove_other(gone);
        disk::remove(&shared.dir, gone);
        tracing::info!(%catalog, zone = %gone, "zone removed from the secondary catalog: not served any more");
    }
    for new in members.iter().filter(|m| !before.contains(m)) {
        if configured(new) {
            // Named with --secondary too: that configuration runs it.
            continue;
        }
        shared.primaries.rcu(|p| p.with(new, servers));
        shared.excluded.rcu(|e| {
            let mut e = Vec::clone(e);
            e.push(new.clone());
            e
        });
        let mut gone = Vec::new();
        let loaded = load_one(new, servers, false, &shared.dir, &mut gone);
        if let Some(copy) = &loaded.current {
            match gone.is_empty() {
                true => serve_view(&shared.publisher, shared.region.as_deref(), copy),
                false => set_expired(&shared.expired, new, true),
            }
        }
        tracing::info!(%catalog, zone = %new, "zone added from the secondary catalog");
        // The task runs until the zone leaves the catalog or the server
        // stops; it is not joined at shutdown (it holds nothing to flush).
        drop(start_zone(shared, loaded));
    }
}

/// Where a zone's refresh loop hands the versions it transfers.
struct Writer {
    /// The zone's writer (see [`write_copies`]).
    to_disk: mpsc::UnboundedSender<ToDisk>,
    /// Whether the next transfer is an AXFR whatever is held (the journal
    /// on disk did not fit its copy).
    axfr_next: bool,
}

/// Keeps one secondary zone fresh until `stop` turns.
async fn run_zone(shared: Arc<Shared>, loaded: Loaded, notified: mpsc::UnboundedReceiver<()>) {
    // The copy on disk is written by a task of its own: a transfer does
    // not wait for the write (a second or more for a million records when
    // the copy is rewritten) before the next check; versions that arrive
    // during a write are written together once it is done.
    let (to_disk, pending) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_copies(
        shared.clone(),
        loaded.zone.clone(),
        loaded.disk,
        pending,
    ));
    follow_zone(shared, loaded, notified, to_disk).await;
    // The last version handed over is written before the task ends.
    let _ = writer.await;
}

/// Writes each version [`follow_zone`] hands over to the copy and
/// journal of `zone` (see `disk`), those that came during a write
/// together, until it ends; not once the zone left its catalog.
async fn write_copies(
    shared: Arc<Shared>,
    zone: Name,
    mut on_disk: OnDisk,
    mut pending: mpsc::UnboundedReceiver<ToDisk>,
) {
    while let Some(first) = pending.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = pending.try_recv() {
            batch.push(more);
        }
        if !shared.active(&zone) {
            return;
        }
        let (dir, name) = (shared.dir.clone(), zone.clone());
        let written = tokio::task::spawn_blocking(move || {
            disk::persist(&dir, &name, &mut on_disk, &batch);
            // The versions are freed here, off the runtime.
            drop(batch);
            on_disk
        })
        .await;
        on_disk = match written {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(%zone, "cannot write the secondary zone's copy: {e}");
                OnDisk::default()
            }
        };
    }
}

/// The zone's refresh loop (see [`run_zone`]); each version it
/// transfers goes to `to_disk`.
async fn follow_zone(
    shared: Arc<Shared>,
    loaded: Loaded,
    mut notified: mpsc::UnboundedReceiver<()>,
    to_disk: mpsc::UnboundedSender<ToDisk>,
) {
    let mut stop = shared.stop.clone();
    let Loaded {
        zone,
        primaries,
        mut current,
        mut refresh,
        catalog,
        disk: _,
        axfr_next,
    } = loaded;
    let mut writer = Writer { to_disk, axfr_next };
    if catalog && let Some(z) = &current {
        reconcile(&shared, &zone, z, &primaries);
    }
    let mut expired = shared.expired.load().contains(&zone);
    // The last problem logged as a warning: the same one again (every
    // retry while a primary is down) is logged at debug level.
    let mut last_problem: Option<String> = None;
    // The compaction compiling in the background, if any.
    let mut compacting: Option<Compacting> = None;
    // The view served of `current`, once a transfer or a compaction made
    // it here (the next IXFR patches it).
    let mut view: Option<Arc<Zone>> = None;
    // A version whose compaction came to nothing: not tried again.
    let mut skip: Option<std::sync::Weak<Zone>> = None;
    loop {
        if compacting.is_none()
            && let Some(held) = &current
            && shared.compact_overlay_names > 0
            && !skip
                .as_ref()
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(held)))
            && let Some(c) = Compaction::due(held, shared.compact_overlay_names)
        {
            compacting = Some(tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let made = c.compile();
                (c, made, started)
            }));
        }
        let now = unix_now();
        match refresh.poll(now) {
            Action::Check => {
                let checked = check(
                    &shared,
                    &zone,
                    &primaries,
                    (&mut current, &mut view),
                    &mut writer,
                    &mut last_problem,
                    !catalog,
                )
                .await;
                if !shared.active(&zone) {
                    return;
                }
                if !matches!(checked, Checked::Failed) {
                    last_problem = None;
                }
                if catalog
                    && matches!(checked, Checked::Transferred(_))
                    && let Some(z) = &current
                {
                    reconcile(&shared, &zone, z, &primaries);
                }
                refresh.on_checked(checked, unix_now());
                if expired && !refresh.is_expired() {
                    expired = false;
                    set_expired(&shared.expired, &zone, false);
                    if let Some(z) = &current
                        && !catalog
                    {
                        serve_view(&shared.publisher, shared.region.as_deref(), z);
                    }
                    tracing::info!(%zone, "secondary zone served again: a primary answered");
                }
            }
            Action::Expire => {
                expired = true;
                set_expired(&shared.expired, &zone, true);
                shared.publisher.remove_other(&zone);
                tracing::error!(
                    %zone,
                    "secondary zone expired: no primary confirmed it within the SOA expire; \
                     answering SERVFAIL until one answers"
                );
            }
            Action::Busy => tokio::time::sleep(Duration::from_secs(1)).await,
            Action::Wait(at) => {
                let wait = Duration::from_secs(at.saturating_sub(now));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    n = notified.recv() => match n {
                        Some(()) => refresh.on_notify(unix_now()),
                        None => return,
                    },
                    done = async {
                        match compacting.as_mut() {
                            Some(task) => task.await,
                            None => std::future::pending().await,
                        }
                    }, if compacting.is_some() => {
                        compacting = None;
                        match done {
                            Ok((c, made, started)) => {
                                let serve = !catalog && !expired && shared.active(&zone);
                                let from = Arc::downgrade(c.from());
                                let held = (&mut current, &mut view);
                                if !compacted(&shared, &zone, c, made, started, held, serve).await
                                {
                                    skip = Some(from);
                                }
                            }
                            Err(e) => tracing::error!(%zone, "the compaction failed: {e}"),
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// A compaction compiling on a blocking thread: the compaction, the
/// fresh compile and when it started.
type Compacting =
    tokio::task::JoinHandle<(Compaction, Result<Zone, Vec<ZoneError>>, std::time::Instant)>;

/// Holds (and with `serve`, serves) the compacted zone in place of the
/// zone held, the IXFRs applied while it compiled caught up; a full
/// transfer meanwhile drops it. Whether it is held.
async fn compacted(
    shared: &Shared,
    zone: &Name,
    c: Compaction,
    made: Result<Zone, Vec<ZoneError>>,
    started: std::time::Instant,
    (current, view): (&mut Option<Arc<Zone>>, &mut Option<Arc<Zone>>),
    serve: bool,
) -> bool {
    let names = c.from().overlay_names();
    let made = match made {
        Ok(z) => z,
        Err(errors) => {
            // A version that was served does not compile: a bug.
            let first = errors.first().map(|e| e.message.clone());
            tracing::error!(%zone, "compaction failed: {}", first.unwrap_or_default());
            return false;
        }
    };
    let compile_ms = started.elapsed().as_millis() as u64;
    let Some(held) = current.clone() else {
        return false;
    };
    let new = match c.finish(made, &held) {
        Ok(z) => Arc::new(z),
        Err(e) => {
            tracing::debug!(%zone, "compaction dropped: {e}");
            return false;
        }
    };
    *view = None;
    if serve {
        let (held, region) = (new.clone(), shared.region.clone());
        match tokio::task::spawn_blocking(move || view_of(region.as_deref(), &held)).await {
            Ok(v) => {
                shared.publisher.serve_other(v.clone());
                *view = Some(v);
            }
            Err(e) => {
                tracing::error!(%zone, "cannot make the zone's view: {e}");
                return false;
            }
        }
    }
    // The old version (maybe the last hold on the old base) is freed off
    // the runtime: freeing a big zone takes a while.
    let old = current.replace(new);
    drop(tokio::task::spawn_blocking(move || drop(old)));
    tracing::info!(
        %zone,
        serial = held.serial(),
        names,
        compile_ms,
        ms = started.elapsed().as_millis() as u64,
        "compacted the secondary zone's overlay into a new base"
    );
    true
}

/// Adds `zone` to or removes it from the expired list.
fn set_expired(list: &ArcSwap<Vec<Name>>, zone: &Name, expired: bool) {
    list.rcu(|old| {
        let mut new: Vec<Name> = old.iter().filter(|z| *z != zone).cloned().collect();
        if expired {
            new.push(zone.clone());
        }
        new
    });
}

/// One check of the primaries, in order: the first that answers decides.
async fn check(
    shared: &Shared,
    zone: &Name,
    primaries: &[PrimaryServer],
    (current, view): (&mut Option<Arc<Zone>>, &mut Option<Arc<Zone>>),
    writer: &mut Writer,
    last_problem: &mut Option<String>,
    serve: bool,
) -> Checked {
    for p in primaries {
        let key = match &p.key {
            Some(name) => match shared.keys.load().get(name) {
                Some(k) => Some(k.clone()),
                None => {
                    let text = format!(
                        "no TSIG key {name} (add it with `candor tsig add`): this primary is skipped"
                    );
                    problem(last_problem, zone, p.addr, text);
                    continue;
                }
            },
            None => None,
        };
        let key = key.as_ref();
        let theirs = match soa_query(p.addr, zone, key).await {
            Ok(soa) => soa,
            Err(e) => {
                problem(last_problem, zone, p.addr, format!("SOA query failed: {e}"));
                continue;
            }
        };
        let held = current.as_deref().and_then(Soa::of_zone);
        if !is_newer(theirs.serial, held.map(|s| s.serial))
            && let Some(held) = held
        {
            disk::touch(&shared.dir, zone);
            tracing::debug!(%zone, serial = held.serial, primary = %p.addr, "up to date");
            return Checked::UpToDate(held);
        }
        let started = std::time::Instant::now();
        let from = match writer.axfr_next {
            true => None,
            false => current.as_ref(),
        };
        match fetch(zone, p.addr, key, from, theirs.serial).await {
            Ok(Fetched::Same) => {
                if let Some(held) = held {
                    return Checked::UpToDate(held);
                }
            }
            Ok(Fetched::New(new, how, records, steps, apply_us)) => {
                let Some(soa) = Soa::of_zone(&new) else {
                    continue;
                };
                let new: Arc<Zone> = Arc::from(new);
                if !shared.active(zone) {
                    // Left the catalog meanwhile.
                    return Checked::Failed;
                }
                // The view before (of the zone held) goes: a new one is
                // made of the new zone, patched from it after an IXFR.
                let before = view.take();
                let from = current.as_ref().map(|z| z.serial());
                if serve {
                    let (held, region) = (new.clone(), shared.region.clone());
                    let steps = steps.clone();
                    let made = tokio::task::spawn_blocking(move || match (before, steps) {
                        (Some(before), Some(steps)) => {
                            view_after(region.as_deref(), &before, &held, &steps)
                        }
                        _ => view_of(region.as_deref(), &held),
                    })
                    .await;
                    match made {
                        Ok(v) => {
                            shared.publisher.serve_other(v.clone());
                            *view = Some(v);
                        }
                        Err(e) => tracing::error!(%zone, "cannot make the zone's view: {e}"),
                    }
                }
                *current = Some(new.clone());
                tracing::info!(
                    %zone,
                    serial = soa.serial,
                    primary = %p.addr,
                    transfer = %how,
                    records,
                    apply_us,
                    ms = started.elapsed().as_millis() as u64,
                    "secondary zone transferred"
                );
                let handed = match (steps, from) {
                    (Some(steps), Some(from)) => ToDisk::Diff {
                        from,
                        zone: new,
                        steps,
                    },
                    _ => ToDisk::Full(new),
                };
                writer.axfr_next = false;
                let _ = writer.to_disk.send(handed);
                return Checked::Transferred(soa);
            }
            Err(e) => problem(
                last_problem,
                zone,
                p.addr,
                format!("zone transfer failed: {e:#}"),
            ),
        }
    }
    Checked::Failed
}

/// Logs a problem with a primary: a warning when it is not the one logged
/// last, a debug message when it is (a primary down fails every retry).
fn problem(last: &mut Option<String>, zone: &Name, primary: SocketAddr, text: String) {
    let text = format!("{primary}: {text}");
    if last.as_deref() == Some(text.as_str()) {
        tracing::debug!(%zone, "{text}");
    } else {
        tracing::warn!(%zone, "{text} (the same problem again is logged at debug level)");
        *last = Some(text);
    }
}

/// Asks `primary` for the SOA of `zone` over UDP.
async fn soa_query(
    primary: SocketAddr,
    zone: &Name,
    key: Option<&Arc<candor_xfr::Key>>,
) -> Result<Soa, String> {
    let any = match primary {
        SocketAddr::V4(_) => "0.0.0.0:0",
        SocketAddr::V6(_) => "[::]:0",
    };
    let socket = UdpSocket::bind(any).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let mut last = "no answer".to_owned();
    for _ in 0..SOA_TRIES {
        let mut ex = Exchange::new(zone, &Ask::Soa, random_id(), key, unix_now());
        socket
            .send_to(ex.message(), primary)
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + SOA_TIMEOUT;
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
            let Ok(Ok((len, from))) = received else {
                break;
            };
            if from != primary {
                continue;
            }
            match ex.on_message(&buf[..len], unix_now()) {
                Ok(Progress::Done(Received::Soa(soa))) => return Ok(soa),
                Ok(_) => {
                    last = "not an SOA answer".to_owned();
                    break;
                }
                Err(ClientError::Malformed(_)) => continue,
                Err(e) => return Err(e.to_string()),
            }
        }
    }
    Err(last)
}

/// What a transfer brought.
enum Fetched {
    /// A new version: the zone, how it came (IXFR or AXFR), how many
    /// records the answer held, the IXFR steps applied to the zone held to
    /// make it, if that is how it was made, and how long applying them (or
    /// compiling the whole zone) took in microseconds.
    New(Box<Zone>, &'static str, usize, Option<Arc<[Step]>>, u64),
    /// Nothing newer after all.
    Same,
}

/// Transfers `zone` from `primary`: IXFR from `current` when there is
/// one, falling back to AXFR when that does not work out.
async fn fetch(
    zone: &Name,
    primary: SocketAddr,
    key: Option<&Arc<candor_xfr::Key>>,
    current: Option<&Arc<Zone>>,
    their_serial: u32,
) -> anyhow::Result<Fetched> {
    if let Some(held) = current
        && let Some(soa) = soa_record(held)
    {
        match transfer(primary, zone, &Ask::Ixfr(soa), key).await {
            Ok((Received::Soa(s), _)) if !is_newer(s.serial, Some(held.serial())) => {
                return Ok(Fetched::Same);
            }
            Ok((
                Received::Incremental {
                    soa_record, steps, ..
                },
                n,
            )) => {
                let base = held.clone();
                let (applied, steps, us) = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let applied = apply_steps_patched(&base, &steps, &soa_record);
                    (applied, steps, started.elapsed().as_micros() as u64)
                })
                .await
                .context("applying the IXFR")?;
                match applied {
                    Ok(z) => {
                        let steps = Some(Arc::from(steps));
                        return Ok(Fetched::New(Box::new(z), "IXFR", n, steps, us));
                    }
                    // Whatever the error, AXFR may still work: the steps
                    // may not start at the zone held, or the primary may
                    // have switched between the Candor view and the
                    // standard one (a zone signed since), whose steps do
                    // not fit the zone held.
                    Err(e) => {
                        tracing::warn!(%zone, %primary, "IXFR does not apply ({e}); trying AXFR");
                    }
                }
            }
            Ok((Received::Full { records, .. }, n)) => {
                let (z, us) = compile_full(zone, records).await?;
                return Ok(Fetched::New(Box::new(z), "AXFR-style IXFR", n, None, us));
            }
            Ok((Received::Soa(_), _)) => {
                tracing::debug!(%zone, %primary, "IXFR answered with the SOA alone; trying AXFR");
            }
            Err(e) => {
                tracing::info!(%zone, %primary, "IXFR failed ({e:#}); trying AXFR");
            }
        }
    }
    let (received, n) = transfer(primary, zone, &Ask::Axfr, key).await?;
    let Received::Full { soa, records } = received else {
        anyhow::bail!("the AXFR answer is not a whole zone");
    };
    if soa.serial != their_serial {
        tracing::debug!(%zone, %primary, serial = soa.serial, "the zone changed again meanwhile");
    }
    let (z, us) = compile_full(zone, records).await?;
    Ok(Fetched::New(Box::new(z), "AXFR", n, None, us))
}

/// Compiles a zone received whole (on a blocking thread): it and how
/// long that took in microseconds.
async fn compile_full(
    zone: &Name,
    records: Vec<candor_zone::OwnedRecord>,
) -> anyhow::Result<(Zone, u64)> {
    let apex = zone.clone();
    let (z, us) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let z = build_full(&apex, &records);
        (z, started.elapsed().as_micros() as u64)
    })
    .await
    .context("compiling the zone")?;
    Ok((z?, us))
}

/// Sends one transfer request over TCP and reads its whole answer;
/// returns it and how many records it held.
async fn transfer(
    primary: SocketAddr,
    zone: &Name,
    ask: &Ask,
    key: Option<&Arc<candor_xfr::Key>>,
) -> anyhow::Result<(Received, usize)> {
    let timeout = |what: &'static str| move |_| anyhow::anyhow!("{what} timed out");
    let mut stream = tokio::time::timeout(TRANSFER_TIMEOUT, TcpStream::connect(primary))
        .await
        .map_err(timeout("connecting"))?
        .context("cannot connect")?;
    let mut ex = Exchange::candor_view(zone, ask, random_id(), key, unix_now());
    let msg = ex.message();
    let mut frame = Vec::with_capacity(2 + msg.len());
    frame.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    frame.extend_from_slice(msg);
    stream.write_all(&frame).await.context("cannot send")?;
    let mut buf = vec![0u8; 65535];
    loop {
        let mut len = [0u8; 2];
        tokio::time::timeout(TRANSFER_TIMEOUT, stream.read_exact(&mut len))
            .await
            .map_err(timeout("reading"))?
            .context("the primary closed the connection")?;
        let len = usize::from(u16::from_be_bytes(len));
        tokio::time::timeout(TRANSFER_TIMEOUT, stream.read_exact(&mut buf[..len]))
            .await
            .map_err(timeout("reading"))?
            .context("the primary closed the connection")?;
        match ex.on_message(&buf[..len], unix_now())? {
            Progress::More => {}
            Progress::Done(received) => return Ok((received, ex.read().0)),
        }
    }
}
