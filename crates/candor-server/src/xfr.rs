//! Zone transfers and NOTIFY on the wire: the I/O around `candor_xfr`.
//!
//! - [`prepare`] decides the reply to a transfer request or a signed
//!   query (a secondary's SOA query) on a TCP connection: one frame, or a
//!   [`Sending`] whose frames the connection writes one after another. At most
//!   `max_concurrent` transfers stream at once (a semaphore; others wait a
//!   while, then the connection closes). Each packs its messages on a
//!   thread of its own at nice 19, at most [`PACKED_AHEAD`]
//!   64 KiB messages ahead of the connection; the connection writes them
//!   from the TCP runtime. Never on the UDP workers' threads, and a worker
//!   woken by a packet preempts the packing at once, so transfers cannot
//!   delay UDP answers. A transfer of a zone whose newest version waits
//!   for the ALIAS signer first waits for it, bounded (`Primary::holding`).
//! - [`follow_zones`] shows every new served set to the primary's journal
//!   (on a blocking thread: diffs take time) and hands the zones that
//!   changed to the notifier.
//! - [`run_notifier`] drives `candor_xfr::Notifier` with a UDP socket per
//!   address family.
//!
//! Refused transfers are logged once per source address (at most
//! [`MAX_LOGGED_SOURCES`] of them), so a scanner cannot flood the log.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use candor_wire::Name;
use candor_xfr::notify::Notifier;
use candor_xfr::{Changed, KeyRing, Primary, Refusal, Reply, Special, Transfer, Transport};
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

/// Most source addresses whose refusals are logged.
pub(crate) const MAX_LOGGED_SOURCES: usize = 4096;

/// How long a transfer waits for a free slot before the connection closes.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// The transfer side of the TCP listener.
pub struct Transfers {
    /// The decisions.
    primary: Arc<Primary>,
    /// Free transfer slots.
    slots: Arc<Semaphore>,
    /// Sources whose refusals were logged.
    logged: Mutex<HashSet<IpAddr>>,
    /// The secondary zones, when Candor is a secondary.
    secondary: Option<SecondarySide>,
    /// What happened to transfer requests.
    stats: Arc<XfrStats>,
}

/// What the listeners need of the secondary zones: who may NOTIFY, where
/// accepted NOTIFYs go, and which zones expired (answered SERVFAIL).
pub struct SecondarySide {
    /// The secondary zones and their primaries (zones learned from a
    /// primary's catalog come and go).
    pub primaries: Arc<ArcSwap<candor_xfr::secondary::Primaries>>,
    /// Receives the zone of every accepted NOTIFY.
    pub notify: mpsc::UnboundedSender<Name>,
    /// Secondary zones that expired: not in the served set, answered
    /// SERVFAIL as Knot does (not REFUSED, which would tell resolvers to
    /// try elsewhere for good).
    pub expired: Arc<ArcSwap<Vec<Name>>>,
    /// Sources whose refused NOTIFYs were logged.
    logged: Mutex<HashSet<IpAddr>>,
}

impl SecondarySide {
    /// The secondary side for `primaries`, sending the zones of accepted
    /// NOTIFYs to `notify` and answering the zones in `expired` SERVFAIL.
    pub fn new(
        primaries: Arc<ArcSwap<candor_xfr::secondary::Primaries>>,
        notify: mpsc::UnboundedSender<Name>,
        expired: Arc<ArcSwap<Vec<Name>>>,
    ) -> SecondarySide {
        SecondarySide {
            primaries,
            notify,
            expired,
            logged: Mutex::new(HashSet::new()),
        }
    }
}

/// Counters of the transfer side (per request, not per packet: atomic
/// read-modify-writes).
#[derive(Default, Debug)]
pub struct XfrStats {
    /// Transfers (AXFR, IXFR) whose every message went out.
    pub completed: AtomicU64,
    /// Transfers the client stopped taking.
    pub aborted: AtomicU64,
    /// Requests refused (ACL, TSIG, zone not served).
    pub refused: AtomicU64,
    /// Transfers dropped because every transfer slot stayed busy.
    pub busy: AtomicU64,
}

/// A point-in-time copy of [`XfrStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XfrSnapshot {
    /// Transfers sent completely.
    pub completed: u64,
    /// Transfers aborted by the client.
    pub aborted: u64,
    /// Requests refused.
    pub refused: u64,
    /// Transfers dropped for want of a slot.
    pub busy: u64,
}

impl XfrStats {
    /// The counters now.
    pub fn snapshot(&self) -> XfrSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        XfrSnapshot {
            completed: get(&self.completed),
            aborted: get(&self.aborted),
            refused: get(&self.refused),
            busy: get(&self.busy),
        }
    }
}

/// Adds one to a transfer counter.
fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl std::fmt::Debug for Transfers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfers")
            .field("acl", self.primary.acl())
            .field("free_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

impl Transfers {
    /// Transfers decided by `primary`, at most `max_concurrent` at once.
    pub fn new(primary: Arc<Primary>, max_concurrent: usize) -> Transfers {
        Transfers {
            primary,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            logged: Mutex::new(HashSet::new()),
            secondary: None,
            stats: Arc::default(),
        }
    }

    /// Adds the secondary side: NOTIFYs from primaries are answered and
    /// passed on, expired zones answered SERVFAIL.
    pub fn with_secondary(mut self, side: SecondarySide) -> Transfers {
        self.secondary = Some(side);
        self
    }

    /// The transfer counters (for metrics).
    pub fn stats(&self) -> &Arc<XfrStats> {
        &self.stats
    }

    /// Counts a refusal and logs it, once per source address.
    fn log_refusal(&self, source: IpAddr, refusal: &Refusal) {
        count(&self.stats.refused);
        let first = {
            let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            logged.len() < MAX_LOGGED_SOURCES && logged.insert(source)
        };
        if !first {
            return;
        }
        match refusal {
            Refusal::NotAllowed { zone, key } => tracing::warn!(
                %source,
                %zone,
                key = key.as_ref().map(|k| k.to_string()),
                "zone transfer refused: not allowed by --xfr-allow (further refusals of \
                 this source are not logged)"
            ),
            Refusal::NotServed { zone } => tracing::warn!(
                %source,
                %zone,
                "zone transfer refused: the zone is not served here (further refusals of \
                 this source are not logged)"
            ),
            Refusal::Tsig { zone, key, error } => tracing::warn!(
                %source,
                %zone,
                %key,
                error = tsig_error_name(*error),
                "zone transfer refused: TSIG (further refusals of this source are not logged)"
            ),
        }
    }
}

/// The mnemonic of a TSIG error.
fn tsig_error_name(error: u16) -> &'static str {
    match error {
        candor_xfr::tsig::BADSIG => "BADSIG",
        candor_xfr::tsig::BADKEY => "BADKEY",
        candor_xfr::tsig::BADTIME => "BADTIME",
        candor_xfr::tsig::BADTRUNC => "BADTRUNC",
        _ => "other",
    }
}

/// Seconds since 1970 (TSIG's clock).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What to send for a transfer request or signed query.
pub(crate) enum Prepared {
    /// Nothing: the connection ends.
    Drop,
    /// One framed message (length prefix included).
    Frame(Vec<u8>),
    /// A stream of messages.
    Stream(Sending),
}

/// Decides the reply to the transfer request or signed query `msg` from
/// `peer` (see [`candor_xfr::Primary`]); a transfer first waits for a
/// free slot.
pub(crate) async fn prepare(
    transfers: &Transfers,
    special: Special,
    msg: &[u8],
    peer: SocketAddr,
    answer: &candor_answer::Config,
) -> Prepared {
    if matches!(special, Special::Transfer) {
        wait_for_signer(&transfers.primary, msg, peer.ip()).await;
    }
    let now = unix_now();
    let handled = match special {
        Special::Transfer => transfers
            .primary
            .handle(msg, peer.ip(), Transport::Tcp, now),
        Special::Signed => {
            let tcp = candor_answer::Transport::Tcp;
            transfers
                .primary
                .handle_signed(msg, peer.ip(), answer, tcp, now)
        }
    };
    if let Some(refusal) = &handled.refusal {
        transfers.log_refusal(peer.ip(), refusal);
    }
    let transfer = match handled.reply {
        Reply::Drop => return Prepared::Drop,
        Reply::Message(m) => {
            let mut frame = Vec::with_capacity(2 + m.len());
            frame.extend_from_slice(&(m.len() as u16).to_be_bytes());
            frame.extend_from_slice(&m);
            return Prepared::Frame(frame);
        }
        Reply::Transfer(t) => t,
    };
    let Ok(Ok(permit)) =
        tokio::time::timeout(SLOT_WAIT, transfers.slots.clone().acquire_owned()).await
    else {
        tracing::warn!(%peer, "zone transfer dropped: every transfer slot stayed busy");
        count(&transfers.stats.busy);
        return Prepared::Drop;
    };
    match Sending::start(transfer, permit, peer, transfers.stats.clone()) {
        Some(sending) => Prepared::Stream(sending),
        None => Prepared::Drop,
    }
}

/// How often a transfer waiting for the ALIAS signer looks again.
const HOLD_POLL: Duration = Duration::from_millis(25);

/// Waits while the zone `msg` asks for has a version held back until the
/// ALIAS signer has signed its ALIAS owners (`Primary::holding`, bounded
/// by `candor_xfr::journal::ALIAS_HOLD`): a signed zone's transfer then
/// carries signed answers, never unsigned addresses.
async fn wait_for_signer(primary: &Primary, msg: &[u8], source: IpAddr) {
    while let Some(until) = primary.holding(msg, source, unix_now()) {
        if Instant::now() >= until {
            return;
        }
        tokio::time::sleep(HOLD_POLL).await;
    }
}

/// Answers a transfer request or a signed query that came over UDP from
/// `source`: `Some(Some(len))` with the reply in `out` (for an IXFR the
/// current SOA, or a refusal), `Some(None)` for nothing to send, and
/// `None` when `msg` is neither (the answer path's answer stands).
pub(crate) fn answer_udp(
    transfers: &Transfers,
    msg: &[u8],
    source: IpAddr,
    config: &candor_answer::Config,
    out: &mut [u8],
) -> Option<Option<usize>> {
    if let Some(reply) = notify_reply(transfers, msg, source) {
        return Some(reply.and_then(|reply| {
            let target = out.get_mut(..reply.len())?;
            target.copy_from_slice(&reply);
            Some(reply.len())
        }));
    }
    let special = candor_xfr::special(msg)?;
    let now = unix_now();
    let handled = match special {
        Special::Transfer => transfers.primary.handle(msg, source, Transport::Udp, now),
        Special::Signed => {
            let udp = candor_answer::Transport::Udp;
            transfers
                .primary
                .handle_signed(msg, source, config, udp, now)
        }
    };
    if let Some(refusal) = &handled.refusal {
        transfers.log_refusal(source, refusal);
    }
    Some(match handled.reply {
        Reply::Message(m) if m.len() <= out.len() => {
            out[..m.len()].copy_from_slice(&m);
            Some(m.len())
        }
        _ => None,
    })
}

/// Answers a NOTIFY (see `candor_xfr::secondary::on_notify`) over UDP or
/// TCP, passing the zone of an accepted one on; logs refusals once per
/// source. `None` when `msg` is not a NOTIFY or Candor is nobody's
/// secondary; `Some(None)` for nothing to send.
pub(crate) fn notify_reply(
    transfers: &Transfers,
    msg: &[u8],
    source: IpAddr,
) -> Option<Option<Vec<u8>>> {
    let side = transfers.secondary.as_ref()?;
    if !candor_xfr::secondary::is_notify(msg) {
        return None;
    }
    let keys = transfers.primary.keys().load();
    let n =
        candor_xfr::secondary::on_notify(&side.primaries.load(), &keys, msg, source, unix_now());
    if let Some(zone) = n.zone {
        let _ = side.notify.send(zone);
    }
    if let Some(why) = &n.refusal {
        let first = {
            let mut logged = side.logged.lock().unwrap_or_else(|p| p.into_inner());
            logged.len() < MAX_LOGGED_SOURCES && logged.insert(source)
        };
        if first {
            tracing::warn!(
                %source,
                "NOTIFY refused: {why} (further refusals of this source are not logged)"
            );
        }
    }
    Some(n.reply)
}

/// Turns a REFUSED answer `resp` to `query` into SERVFAIL when the name
/// asked for is in a secondary zone that expired. One load of an (almost
/// always empty) list, on REFUSED answers only.
pub(crate) fn servfail_if_expired(transfers: &Transfers, query: &[u8], resp: &mut [u8]) {
    let Some(side) = &transfers.secondary else {
        return;
    };
    let expired = side.expired.load();
    if expired.is_empty() || resp.len() < 4 {
        return;
    }
    let Ok((qname, _)) = candor_wire::decode::read_name(query, 12) else {
        return;
    };
    let qname = qname.to_lowercase();
    if expired.iter().any(|apex| qname.ends_with(apex)) {
        resp[3] = (resp[3] & 0xf0) | (candor_wire::Rcode::SERVFAIL.0 as u8 & 0x0f);
    }
}

/// How many packed messages a transfer's packing thread may be ahead of
/// the connection writing them (each up to 64 KiB).
const PACKED_AHEAD: usize = 4;

/// A transfer being written: its messages are packed on a thread of its
/// own at nice 19 ([`crate::priority::lowest`]) and handed to
/// the connection, at most [`PACKED_AHEAD`] ahead, through a channel. It
/// holds a transfer slot until it is dropped; dropping it stops the thread
/// at its next message.
///
/// Why a thread: packing the 1,462 messages of a 1,000,000-record zone
/// takes about a second of CPU. On the TCP runtime (nice +5, sharing a core
/// with a UDP worker under the default one worker per core) it took time
/// slices long enough for a 50k qps flood to overflow the worker's receive
/// buffer; at nice 19 it gets a sliver of a core a worker wants, and a
/// worker woken by a packet preempts it at once.
pub(crate) struct Sending {
    /// The packed messages, framed (length prefix included).
    frames: mpsc::Receiver<Vec<u8>>,
    /// What the packing thread has packed, and whether it reached the end.
    progress: Arc<Progress>,
    /// The zone sent.
    zone: Name,
    /// Its serial.
    serial: u32,
    /// The slot.
    _permit: OwnedSemaphorePermit,
    /// Who asked.
    peer: SocketAddr,
    /// When it started.
    started: Instant,
    /// Where its end is counted.
    stats: Arc<XfrStats>,
}

/// What a transfer's packing thread has done so far.
#[derive(Default)]
struct Progress {
    /// Records packed.
    records: AtomicU64,
    /// Messages packed.
    messages: AtomicU64,
    /// Whether the last message was packed (the thread ended normally).
    done: std::sync::atomic::AtomicBool,
}

impl Sending {
    /// Starts the thread that packs `transfer`'s messages; `None` (logged)
    /// if no thread could be started.
    fn start(
        transfer: Box<Transfer>,
        permit: OwnedSemaphorePermit,
        peer: SocketAddr,
        stats: Arc<XfrStats>,
    ) -> Option<Sending> {
        let (tx, frames) = mpsc::channel(PACKED_AHEAD);
        let progress = Arc::new(Progress::default());
        let zone = transfer.zone().apex().clone();
        let serial = transfer.zone().serial();
        let packed = progress.clone();
        let started = std::thread::Builder::new()
            .name("candor-xfr".into())
            .spawn(move || pack(transfer, &tx, &packed));
        if let Err(e) = started {
            tracing::error!(%peer, %zone, "zone transfer dropped: cannot start its thread: {e}");
            return None;
        }
        Some(Sending {
            frames,
            progress,
            zone,
            serial,
            _permit: permit,
            peer,
            started: Instant::now(),
            stats,
        })
    }

    /// The next framed message (length prefix included), or `None` when
    /// the transfer is over ([`Sending::complete`] tells whether it was
    /// all packed).
    pub(crate) async fn next_frame(&mut self) -> Option<Vec<u8>> {
        let frame = self.frames.recv().await;
        if frame.is_none() && !self.complete() {
            tracing::error!(peer = %self.peer, zone = %self.zone, "zone transfer's packing thread ended early");
        }
        frame
    }

    /// Whether every message was packed (false if the packing thread
    /// ended early: it panicked).
    pub(crate) fn complete(&self) -> bool {
        self.progress.done.load(Ordering::Acquire)
    }

    /// Logs the transfer's end: `complete` when every message went out.
    pub(crate) fn finish(self, complete: bool) {
        let records = self.progress.records.load(Ordering::Relaxed);
        let messages = self.progress.messages.load(Ordering::Relaxed);
        let zone = &self.zone;
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        count(if complete {
            &self.stats.completed
        } else {
            &self.stats.aborted
        });
        if complete {
            tracing::info!(
                peer = %self.peer,
                %zone,
                serial = self.serial,
                records,
                messages,
                elapsed_ms,
                "zone transfer sent"
            );
        } else {
            tracing::info!(
                peer = %self.peer,
                %zone,
                records,
                elapsed_ms,
                "zone transfer aborted: the client did not take it"
            );
        }
    }
}

/// Shows the primary every served set, at start and then after each
/// change `changes` signals, and sends the zones that changed to
/// `notify`. Ends when `shutdown` turns or the signal's sender is gone.
pub async fn follow_zones(
    primary: Arc<Primary>,
    mut changes: watch::Receiver<u64>,
    notify: Option<mpsc::UnboundedSender<Changed>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        changes.mark_unchanged();
        let p = primary.clone();
        match tokio::task::spawn_blocking(move || p.observe()).await {
            Ok(changed) => {
                for c in changed {
                    tracing::debug!(zone = %c.apex, serial = c.serial, "zone changed");
                    if let Some(tx) = &notify {
                        let _ = tx.send(c);
                    }
                }
            }
            Err(e) => tracing::error!("the transfer journal failed: {e}"),
        }
        // A version held back for the ALIAS signer is looked at again
        // soon (its signed answers may be in the table without a new
        // serial) and released at its deadline at the latest.
        let recheck = primary
            .next_release()
            .map(|at| at.min(Instant::now() + HOLD_RECHECK));
        let recheck = async move {
            match recheck {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            () = recheck => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// How often a zone version held back for the ALIAS signer is observed
/// again.
const HOLD_RECHECK: Duration = Duration::from_millis(100);

/// Sends NOTIFYs for the zones `changes` names, as `notifier` decides,
/// signing with `keys`, until `shutdown` turns.
pub async fn run_notifier(
    mut notifier: Notifier,
    keys: Arc<ArcSwap<KeyRing>>,
    mut changes: mpsc::UnboundedReceiver<Changed>,
    mut shutdown: watch::Receiver<bool>,
) {
    let bind = |any: &'static str| async move {
        match UdpSocket::bind(any).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!("cannot open a socket for NOTIFY ({any}): {e}");
                None
            }
        }
    };
    let targets = notifier.targets().to_vec();
    let v4 = match targets.iter().any(|t| t.addr.is_ipv4()) {
        true => bind("0.0.0.0:0").await,
        false => None,
    };
    let v6 = match targets.iter().any(|t| t.addr.is_ipv6()) {
        true => bind("[::]:0").await,
        false => None,
    };
    let (mut buf4, mut buf6) = (vec![0u8; 4096], vec![0u8; 4096]);
    loop {
        let due = notifier.next_due();
        let wake = async move {
            match due {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            c = changes.recv() => match c {
                Some(c) => notifier.zone_changed(&c.apex, c.serial, Instant::now()),
                None => return,
            },
            () = wake => {
                let keys = keys.load();
                for out in notifier.poll(Instant::now(), &keys, unix_now()) {
                    let socket = if out.to.is_ipv4() { &v4 } else { &v6 };
                    if let Some(socket) = socket
                        && let Err(e) = socket.send_to(&out.message, out.to).await
                    {
                        tracing::debug!(to = %out.to, "NOTIFY not sent: {e}");
                    }
                    if out.attempt == 5 {
                        tracing::warn!(
                            secondary = %out.to,
                            zone = %out.apex,
                            "a secondary has not acknowledged NOTIFY after 5 tries; \
                             trying on, less often"
                        );
                    }
                }
            },
            r = recv(&v4, &mut buf4) => acknowledge(&mut notifier, &keys, r, &buf4),
            r = recv(&v6, &mut buf6) => acknowledge(&mut notifier, &keys, r, &buf6),
            _ = shutdown.changed() => return,
        }
    }
}

/// Receives on `socket`, or waits forever if there is none.
async fn recv(socket: &Option<UdpSocket>, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await.ok(),
        None => std::future::pending().await,
    }
}

/// Hands a received datagram to the notifier and logs what it acknowledged.
fn acknowledge(
    notifier: &mut Notifier,
    keys: &ArcSwap<KeyRing>,
    received: Option<(usize, SocketAddr)>,
    buf: &[u8],
) {
    let Some((len, from)) = received else {
        return;
    };
    let Some(ack) = notifier.on_response(from, &buf[..len], &keys.load(), unix_now()) else {
        return;
    };
    if ack.rcode == candor_wire::Rcode::NOERROR {
        tracing::debug!(secondary = %from, zone = %ack.apex, serial = ack.serial, "NOTIFY acknowledged");
    } else {
        tracing::warn!(
            secondary = %from,
            zone = %ack.apex,
            serial = ack.serial,
            rcode = %ack.rcode,
            "a secondary answered NOTIFY with an error"
        );
    }
}

/// The packing thread of one transfer: packs each message into a frame and
/// sends it to the connection, until the last one or until the connection
/// stops taking them (the receiver is gone).
fn pack(mut transfer: Box<Transfer>, frames: &mpsc::Sender<Vec<u8>>, progress: &Progress) {
    if let Err(e) = crate::priority::lowest() {
        tracing::debug!("zone transfer packing keeps its priority: {e}");
    }
    let mut buf = vec![0u8; 65535];
    while let Some(len) = transfer.next_message(&mut buf, unix_now()) {
        let mut frame = Vec::with_capacity(2 + len);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
        frame.extend_from_slice(&buf[..len]);
        let (records, messages) = transfer.sent();
        progress.records.store(records, Ordering::Relaxed);
        progress.messages.store(messages, Ordering::Relaxed);
        if frames.blocking_send(frame).is_err() {
            return;
        }
    }
    progress.done.store(true, Ordering::Release);
}
