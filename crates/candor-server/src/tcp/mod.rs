//! DNS over TCP (RFC 7766): two-byte length framing, several queries per
//! connection, and the defences that keep one host from taking the service
//! away from everyone else.
//!
//! - Every connection is accepted at once; none waits in the kernel's
//!   backlog behind idle ones. At the cap the oldest idle connection is
//!   closed to make room (RFC 7766 §6.2.3 allows closing idle connections
//!   under load); a source at its per-source limit loses its own oldest idle
//!   connection instead. A newcomer is closed at once only when every
//!   connection in its way is in the middle of a query ([`registry`]).
//! - A query must arrive completely within the query timeout of its first
//!   byte, however the bytes trickle in (slowloris); a response must be
//!   taken within the same time.
//! - The idle timeout counts from the last complete response (or the
//!   accept), not from the last byte, and shrinks to a tenth while more
//!   than half the cap is open (as NSD and Knot shorten theirs under load).
//!
//! The per-connection work is "read one framed request, write its framed
//! responses" ([`connection`]); a request that takes several responses (a
//! zone transfer) fits the same seam.

mod connection;
mod registry;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use candor_answer::Config;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::SharedZones;
use crate::stats::Stats;

pub use registry::{ConnectionSnapshot, ConnectionStats};
use registry::{Limits, Registry, Source};

/// Settings for the TCP side.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Most connections open at once, over every listener. It must fit
    /// under the file-descriptor limit: see [`max_connections_for`].
    pub max_connections: usize,
    /// Most connections open at once from one IPv4 address or IPv6 /64.
    pub max_per_source: usize,
    /// A connection is closed when no complete query arrived this long
    /// after its last response (or its accept). RFC 7766 §6.2.3 suggests
    /// a few seconds.
    pub idle_timeout: Duration,
    /// A query must arrive completely within this time of its first byte,
    /// and a response must be taken by the client within this time.
    pub query_timeout: Duration,
    /// Answering settings.
    pub answer: Config,
    /// Zone transfers and signed requests (see `crate::xfr`); without
    /// them the answer path refuses transfers.
    pub transfers: Option<Arc<crate::xfr::Transfers>>,
    /// Per-zone accounting (the UDP workers' `Traffic`): TCP queries are
    /// counted per zone too, in one table for every connection, folded in
    /// as one more worker. Never shed (a TCP client cannot be spoofed, and
    /// the connection limits bound it). `None` turns it off.
    pub traffic: Option<Arc<candor_traffic::Traffic>>,
}

/// While more than half the cap is open, connections that become idle get
/// this fraction of the idle timeout...
const BUSY_IDLE_DIVISOR: u32 = 10;

/// ...but never less than this (NSD's figure for a busy server), unless
/// the idle timeout itself is shorter.
const BUSY_IDLE_FLOOR: Duration = Duration::from_millis(200);

impl TcpConfig {
    /// The idle timeout for a connection that becomes idle while `open`
    /// connections are open: shorter while more than half the cap is used.
    fn idle_timeout_at(&self, open: usize) -> Duration {
        if open.saturating_mul(2) > self.max_connections.max(1) {
            (self.idle_timeout / BUSY_IDLE_DIVISOR)
                .max(BUSY_IDLE_FLOOR)
                .min(self.idle_timeout)
        } else {
            self.idle_timeout
        }
    }
}

/// Descriptors kept for everything but TCP clients (listeners, UDP
/// sockets, the store, HTTP connections, zone files), at most.
const FD_RESERVE: u64 = 1024;

/// The most TCP connections that fit under a soft file-descriptor limit of
/// `fds`: all of it but a quarter, or 1,024, whichever is less.
pub fn max_connections_for(fds: u64) -> usize {
    let budget = fds - (fds / 4).min(FD_RESERVE);
    usize::try_from(budget).unwrap_or(usize::MAX).max(1)
}

/// The TCP side's counters: queries and responses, and what happened to
/// the connections.
#[derive(Default, Debug)]
pub struct TcpStats {
    /// Queries and responses (one writer: the runtime's thread).
    pub queries: Stats,
    /// Connections, by how they ended.
    pub connections: ConnectionStats,
}

thread_local! {
    /// Response scratch space (the length prefix, then up to 65,535 bytes):
    /// `respond` is synchronous, so one buffer per runtime thread serves
    /// every connection on it.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 2 + 65535]);
}

/// What every connection shares.
struct Shared {
    /// The zones.
    zones: SharedZones,
    /// The settings.
    config: TcpConfig,
    /// The counters.
    stats: Arc<TcpStats>,
    /// Who holds a slot.
    registry: Mutex<Registry>,
    /// TCP queries per zone and this table's worker number, if counted.
    traffic: Option<Mutex<(candor_traffic::WorkerTraffic, usize)>>,
}

impl Shared {
    /// The registry, locked. Nothing panics while holding it, but if
    /// something did, its bookkeeping is still consistent enough to go on.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Accepts connections on every listener (sharing one cap and one count
/// per source) and serves them until `shutdown` turns true.
pub async fn serve_tcp(
    listeners: Vec<TcpListener>,
    zones: SharedZones,
    config: TcpConfig,
    stats: Arc<TcpStats>,
    shutdown: watch::Receiver<bool>,
) {
    let registry = Registry::new(Limits {
        max_connections: config.max_connections,
        max_per_source: config.max_per_source,
    });
    let traffic = config.traffic.as_ref().map(|_| {
        Mutex::new((
            candor_traffic::WorkerTraffic::new(std::time::Instant::now()),
            crate::udp::next_worker_index(),
        ))
    });
    let shared = Arc::new(Shared {
        zones,
        config,
        stats,
        registry: Mutex::new(registry),
        traffic,
    });
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(l, shared.clone(), shutdown.clone())))
        .collect();
    for l in loops {
        let _ = l.await;
    }
}

/// Accepts connections on one listener until `shutdown` turns true, giving
/// each a slot or closing it at once; never leaves one in the backlog.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors (the cap should prevent it) or a
                    // connection reset before it was accepted.
                    tracing::warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let admitted = shared
            .registry()
            .admit(Source::of(peer.ip()), &shared.stats.connections);
        // Refused: dropping the stream closes it now.
        let Some(admission) = admitted else { continue };
        tokio::spawn(connection::serve(
            stream,
            admission,
            shared.clone(),
            shutdown.clone(),
        ));
    }
}
