//! Candor as a secondary (`serve --secondary ZONE@PRIMARY[@KEY]`): the
//! sockets and tasks around `candor_xfr::{refresh, client, secondary}`.
//!
//! - At start, each zone's copy in `DATA_DIR/secondary/` is loaded (the
//!   file's modification time is when a primary last confirmed it) and
//!   served unless its SOA expire has passed since.
//! - One task per zone follows `Refresh::poll`: an SOA query over UDP to
//!   each primary in turn (TSIG-signed with its key), and when a primary
//!   has a newer serial, an IXFR over TCP (AXFR when nothing is held, when
//!   the primary answers AXFR-style, or when the IXFR does not apply).
//!   The new version is published, then written to its copy (0600,
//!   atomically). A check that finds the same serial touches the copy.
//! - NOTIFYs the UDP workers accept (`candor_xfr::secondary::on_notify`)
//!   arrive here by zone and make the zone's check due at once.
//! - An expired zone leaves the served set and joins the list the
//!   listeners answer SERVFAIL for, until a primary answers again.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use arc_swap::ArcSwap;
use candor_publish::{Publisher, read_zone_copy, write_zone_copy};
use candor_wire::Name;
use candor_xfr::KeyRing;
use candor_xfr::client::{
    ApplyError, Ask, ClientError, Exchange, Progress, Received, Soa, apply_steps, build_full,
    is_newer, soa_record,
};
use candor_xfr::refresh::{Action, Checked, Refresh};
use candor_xfr::secondary::{Primaries, PrimaryServer};
use candor_zone::Zone;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

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

/// The file a secondary zone's copy is kept in.
fn copy_name(zone: &Name) -> String {
    let text = zone.to_string();
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    match plain {
        true => format!("{text}zone"),
        false => format!("{}.zone", candor_xfr::catalog::member_id(zone)),
    }
}

/// What every zone's task shares.
pub(crate) struct Shared {
    /// Serves and withdraws the received zones.
    publisher: Publisher,
    /// TSIG keys.
    keys: Arc<ArcSwap<KeyRing>>,
    /// Where the copies are kept.
    dir: PathBuf,
    /// Zones that expired (answered SERVFAIL by the listeners).
    expired: Arc<ArcSwap<Vec<Name>>>,
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
}

/// Loads the copies of the secondary zones from `dir` and serves those
/// that have not expired (blocking: run before serving starts).
pub(crate) fn load(
    primaries: &Primaries,
    dir: &Path,
    publisher: &Publisher,
    expired: &ArcSwap<Vec<Name>>,
) -> Vec<Loaded> {
    let now = unix_now();
    let mut out = Vec::new();
    let mut gone = Vec::new();
    for (zone, servers) in primaries.zones() {
        let file = dir.join(copy_name(zone));
        let (current, refresh) = match load_copy(&file, zone) {
            Ok(Some((copy, confirmed))) => match Soa::of_zone(&copy) {
                Some(soa) => {
                    let refresh = Refresh::held(soa, confirmed, now);
                    let expires = confirmed.saturating_add(u64::from(soa.expire));
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
                            expires_in_s = expires - now,
                            "secondary zone served from its copy on disk"
                        );
                    }
                    (Some(Arc::new(copy)), refresh)
                }
                None => (None, Refresh::empty(now)),
            },
            Ok(None) => (None, Refresh::empty(now)),
            Err(e) => {
                tracing::error!(%zone, "secondary zone: the copy on disk is not usable: {e}");
                (None, Refresh::empty(now))
            }
        };
        if let Some(copy) = &current
            && !gone.contains(zone)
        {
            publisher.serve_other(copy.clone());
        }
        out.push(Loaded {
            zone: zone.clone(),
            primaries: servers.to_vec(),
            current,
            refresh,
        });
    }
    expired.store(Arc::new(gone));
    out
}

/// Reads a copy and when it was last confirmed (its modification time);
/// `None` when there is none.
fn load_copy(file: &Path, zone: &Name) -> Result<Option<(Zone, u64)>, String> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let confirmed = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    read_zone_copy(file, zone).map(|z| Some((z, confirmed)))
}

/// Starts a task per secondary zone and one that hands each accepted
/// NOTIFY to its zone's task.
pub(crate) fn spawn(
    loaded: Vec<Loaded>,
    publisher: Publisher,
    keys: Arc<ArcSwap<KeyRing>>,
    dir: PathBuf,
    expired: Arc<ArcSwap<Vec<Name>>>,
    mut notifies: mpsc::UnboundedReceiver<Name>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let shared = Arc::new(Shared {
        publisher,
        keys,
        dir,
        expired,
    });
    let mut tasks = Vec::new();
    let mut routes: HashMap<Name, mpsc::UnboundedSender<()>> = HashMap::new();
    for zone in loaded {
        let (tx, rx) = mpsc::unbounded_channel();
        routes.insert(zone.zone.clone(), tx);
        tasks.push(tokio::spawn(run_zone(
            shared.clone(),
            zone,
            rx,
            stop.clone(),
        )));
    }
    let mut stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                n = notifies.recv() => match n {
                    Some(zone) => {
                        tracing::debug!(%zone, "NOTIFY accepted");
                        if let Some(tx) = routes.get(&zone) {
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

/// Keeps one secondary zone fresh until `stop` turns.
async fn run_zone(
    shared: Arc<Shared>,
    loaded: Loaded,
    mut notified: mpsc::UnboundedReceiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let Loaded {
        zone,
        primaries,
        mut current,
        mut refresh,
    } = loaded;
    let mut expired = shared.expired.load().contains(&zone);
    // The last problem logged as a warning: the same one again (every
    // retry while a primary is down) is logged at debug level.
    let mut last_problem: Option<String> = None;
    loop {
        let now = unix_now();
        match refresh.poll(now) {
            Action::Check => {
                let checked =
                    check(&shared, &zone, &primaries, &mut current, &mut last_problem).await;
                if !matches!(checked, Checked::Failed) {
                    last_problem = None;
                }
                refresh.on_checked(checked, unix_now());
                if expired && !refresh.is_expired() {
                    expired = false;
                    set_expired(&shared.expired, &zone, false);
                    if let Some(z) = &current {
                        shared.publisher.serve_other(z.clone());
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
                    _ = stop.changed() => return,
                }
            }
        }
    }
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
    current: &mut Option<Arc<Zone>>,
    last_problem: &mut Option<String>,
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
            touch(&shared.dir.join(copy_name(zone)));
            tracing::debug!(%zone, serial = held.serial, primary = %p.addr, "up to date");
            return Checked::UpToDate(held);
        }
        match fetch(zone, p.addr, key, current.as_ref(), theirs.serial).await {
            Ok(Fetched::Same) => {
                if let Some(held) = held {
                    return Checked::UpToDate(held);
                }
            }
            Ok(Fetched::New(new, how, records)) => {
                let Some(soa) = Soa::of_zone(&new) else {
                    continue;
                };
                let new: Arc<Zone> = Arc::from(new);
                shared.publisher.serve_other(new.clone());
                *current = Some(new.clone());
                tracing::info!(
                    %zone,
                    serial = soa.serial,
                    primary = %p.addr,
                    transfer = %how,
                    records,
                    "secondary zone transferred"
                );
                persist(shared, zone, new).await;
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

/// Writes the copy of `zone` (off the runtime: it syncs a file).
async fn persist(shared: &Shared, zone: &Name, new: Arc<Zone>) {
    let dir = shared.dir.clone();
    let file = copy_name(zone);
    let comment = format!(
        "Zone {zone} as received by Candor from its primary, serial {}; the file's \
         modification time is when a primary last confirmed it.",
        new.serial()
    );
    let written =
        tokio::task::spawn_blocking(move || write_zone_copy(&dir, &file, &comment, &new)).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(%zone, "cannot write the secondary zone's copy: {e}"),
        Err(e) => tracing::error!(%zone, "cannot write the secondary zone's copy: {e}"),
    }
}

/// Sets a copy's modification time to now (a primary confirmed it).
fn touch(file: &Path) {
    let result = std::fs::File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = result {
        tracing::debug!(file = %file.display(), "cannot touch the copy: {e}");
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
    /// A new version: the zone, how it came (IXFR or AXFR) and how many
    /// records the answer held.
    New(Box<Zone>, &'static str, usize),
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
                let applied =
                    tokio::task::spawn_blocking(move || apply_steps(&base, &steps, &soa_record))
                        .await
                        .context("applying the IXFR")?;
                match applied {
                    Ok(z) => return Ok(Fetched::New(Box::new(z), "IXFR", n)),
                    Err(e @ (ApplyError::NotFromHeld { .. } | ApplyError::MissingRecord(_))) => {
                        tracing::warn!(%zone, %primary, "IXFR does not apply ({e}); trying AXFR");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok((Received::Full { records, .. }, n)) => {
                let apex = zone.clone();
                let z = tokio::task::spawn_blocking(move || build_full(&apex, &records))
                    .await
                    .context("compiling the zone")??;
                return Ok(Fetched::New(Box::new(z), "AXFR-style IXFR", n));
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
    let apex = zone.clone();
    let z = tokio::task::spawn_blocking(move || build_full(&apex, &records))
        .await
        .context("compiling the zone")??;
    Ok(Fetched::New(Box::new(z), "AXFR", n))
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
    let mut ex = Exchange::new(zone, ask, random_id(), key, unix_now());
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
