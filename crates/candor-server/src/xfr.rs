//! Zone transfers and NOTIFY on the wire: the I/O around `candor_xfr`.
//!
//! - `serve_special` answers one transfer request on a TCP connection,
//!   writing as many frames as the reply has messages, or one signed
//!   query (a secondary's SOA query) with one signed answer. At most
//!   `max_concurrent` transfers stream at once (a semaphore; others wait a
//!   while, then the connection closes); each holds one 64 KiB buffer.
//!   Transfers run on the TCP runtime, never on the UDP workers' threads,
//!   so they cannot delay UDP answers.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use candor_xfr::notify::Notifier;
use candor_xfr::{Changed, KeyRing, Primary, Refusal, Reply, Special, Transport};

use crate::tcp::TcpConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc, watch};

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
        }
    }

    /// Logs a refusal, once per source address.
    fn log_refusal(&self, source: IpAddr, refusal: &Refusal) {
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

/// Answers the transfer request or signed query `msg` from `peer` on
/// `stream`. Returns whether the connection may go on (false after a write
/// failed or timed out, or a request not worth an answer).
pub(crate) async fn serve_special(
    stream: &mut TcpStream,
    transfers: &Transfers,
    special: Special,
    msg: &[u8],
    peer: SocketAddr,
    config: &TcpConfig,
) -> bool {
    let write_timeout = config.idle_timeout;
    let now = unix_now();
    let handled = match special {
        Special::Transfer => transfers
            .primary
            .handle(msg, peer.ip(), Transport::Tcp, now),
        Special::Signed => {
            let tcp = candor_answer::Transport::Tcp;
            transfers
                .primary
                .handle_signed(msg, &config.answer, tcp, now)
        }
    };
    if let Some(refusal) = &handled.refusal {
        transfers.log_refusal(peer.ip(), refusal);
    }
    let mut transfer = match handled.reply {
        Reply::Drop => return false,
        Reply::Message(m) => return write_frame(stream, &m, write_timeout).await,
        Reply::Transfer(t) => t,
    };
    let Ok(Ok(_permit)) =
        tokio::time::timeout(SLOT_WAIT, transfers.slots.clone().acquire_owned()).await
    else {
        tracing::warn!(%peer, "zone transfer dropped: every transfer slot stayed busy");
        return false;
    };
    let started = Instant::now();
    let mut buf = vec![0u8; 2 + 65535];
    let mut written = 0u64;
    while let Some(len) = transfer.next_message(&mut buf[2..], unix_now()) {
        buf[..2].copy_from_slice(&(len as u16).to_be_bytes());
        match tokio::time::timeout(write_timeout, stream.write_all(&buf[..2 + len])).await {
            Ok(Ok(())) => {}
            _ => {
                tracing::info!(%peer, zone = %transfer.zone().apex(), "zone transfer aborted");
                return false;
            }
        }
        written += 1;
        // Packing a message is synchronous work: let other connections
        // and the API run between messages, even if the socket never
        // makes this task wait.
        if written.is_multiple_of(8) {
            tokio::task::yield_now().await;
        }
    }
    let (records, messages) = transfer.sent();
    tracing::info!(
        %peer,
        zone = %transfer.zone().apex(),
        serial = transfer.zone().serial(),
        records,
        messages,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "zone transfer sent"
    );
    true
}

/// Writes one length-prefixed message.
async fn write_frame(stream: &mut TcpStream, msg: &[u8], timeout: Duration) -> bool {
    let mut frame = Vec::with_capacity(2 + msg.len());
    frame.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    frame.extend_from_slice(msg);
    matches!(
        tokio::time::timeout(timeout, stream.write_all(&frame)).await,
        Ok(Ok(()))
    )
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
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}

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
