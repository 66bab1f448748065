//! Who holds a TCP slot: the open connections, how many each source holds,
//! and which of them are idle, oldest first.
//!
//! The accept loop asks [`Registry::admit`] about every new connection and
//! never leaves one waiting in the kernel's backlog: at a limit it closes
//! the oldest idle connection that stands in the way (RFC 7766 §6.2.3 lets
//! a server close idle connections under load), and refuses the newcomer
//! only when every connection in the way is in the middle of a query, which
//! the query deadline ends within seconds. Connections report when they
//! start and finish reading a query, so "idle" means "no query in
//! progress", whatever bytes may have trickled in before.
//!
//! Everything here is bookkeeping (no sockets, no clock), so the rules are
//! tested without a network. A closed connection is told through the
//! [`oneshot`] channel it got when admitted: the registry drops the sender.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

//----------- Source ----------------------------------------------------------

/// The unit a per-source limit counts: one IPv4 address, or one IPv6 /64
/// (a single host usually holds a whole /64, so counting addresses would
/// let it open connections without bound).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// An IPv4 address (also when it arrives IPv4-mapped on an IPv6 socket).
    V4(u32),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
}

impl Source {
    /// The source a client address counts against.
    pub(crate) fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(v4) => Source::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(u32::from(v4)),
                None => Source::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

//----------- Counters --------------------------------------------------------

/// Connection counters of the TCP side, by what happened to each connection.
///
/// The registry's events happen under its lock and the connections' on the
/// runtime's threads, so these are atomic read-modify-writes; they are
/// counted per connection, not per query.
#[derive(Default, Debug)]
pub struct ConnectionStats {
    /// Connections accepted and given a slot.
    pub admitted: AtomicU64,
    /// Closed after the idle timeout without a complete query.
    pub idle: AtomicU64,
    /// Closed because a query did not arrive completely within the query
    /// timeout of its first byte (slowloris).
    pub query_deadline: AtomicU64,
    /// Closed because the client did not take a response within the query
    /// timeout.
    pub send_deadline: AtomicU64,
    /// Idle connections closed to make room for a new one at the cap.
    pub evicted: AtomicU64,
    /// Closed by the per-source limit: a new connection from a source at
    /// its limit closes that source's oldest idle connection, or is itself
    /// closed at once if none of them is idle.
    pub per_source: AtomicU64,
    /// New connections closed at once: the cap was reached and no
    /// connection was idle.
    pub full: AtomicU64,
    /// Admitted connections that ended, for any reason (so `admitted -
    /// closed` are open).
    pub closed: AtomicU64,
}

/// A point-in-time copy of [`ConnectionStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionSnapshot {
    /// Connections given a slot.
    pub admitted: u64,
    /// Closed idle.
    pub idle: u64,
    /// Closed by the query deadline.
    pub query_deadline: u64,
    /// Closed by the send deadline.
    pub send_deadline: u64,
    /// Closed idle to make room at the cap.
    pub evicted: u64,
    /// Closed by the per-source limit.
    pub per_source: u64,
    /// Refused at the cap.
    pub full: u64,
    /// Admitted connections that ended.
    pub closed: u64,
}

impl ConnectionSnapshot {
    /// Connections open now (admitted and not yet ended).
    pub fn open(&self) -> u64 {
        self.admitted.saturating_sub(self.closed)
    }
}

impl ConnectionStats {
    /// The counters now.
    pub fn snapshot(&self) -> ConnectionSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ConnectionSnapshot {
            admitted: get(&self.admitted),
            idle: get(&self.idle),
            query_deadline: get(&self.query_deadline),
            send_deadline: get(&self.send_deadline),
            evicted: get(&self.evicted),
            per_source: get(&self.per_source),
            full: get(&self.full),
            closed: get(&self.closed),
        }
    }
}

/// Adds one to a connection counter.
pub(crate) fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

//----------- Registry --------------------------------------------------------

/// The limits the registry enforces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Most connections open at once.
    pub(crate) max_connections: usize,
    /// Most connections open at once from one [`Source`].
    pub(crate) max_per_source: usize,
}

/// A connection's handle in the registry.
pub(crate) type ConnId = u64;

/// What a new connection gets: its id, the receiver that completes when the
/// registry closes it, and how many connections are open with it.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Its id, for [`Registry::busy`], [`Registry::idle`] and
    /// [`Registry::remove`].
    pub(crate) id: ConnId,
    /// Completes (with an error: the sender is dropped) when the registry
    /// closed the connection to make room.
    pub(crate) closed: oneshot::Receiver<()>,
    /// Connections open, this one included.
    pub(crate) open: usize,
}

/// One open connection.
#[derive(Debug)]
struct Conn {
    /// Whom it counts against.
    source: Source,
    /// Its place in the idle order while it is idle.
    idle: Option<u64>,
    /// Dropped to tell the connection it was closed.
    _closer: oneshot::Sender<()>,
}

/// The open connections of one source.
#[derive(Debug, Default)]
struct SourceConns {
    /// How many.
    open: usize,
    /// The idle ones: idle ticket → connection, oldest first.
    idle: BTreeMap<u64, ConnId>,
}

/// The open connections, per source and in idle order.
#[derive(Debug)]
pub(crate) struct Registry {
    /// The limits.
    limits: Limits,
    /// Every open connection.
    conns: HashMap<ConnId, Conn>,
    /// Per source, for the per-source limit.
    sources: HashMap<Source, SourceConns>,
    /// Every idle connection: idle ticket → connection, oldest first.
    idle: BTreeMap<u64, ConnId>,
    /// The next connection id.
    next_id: ConnId,
    /// The next idle ticket; tickets grow, so the smallest is the oldest.
    next_ticket: u64,
}

impl Registry {
    /// An empty registry enforcing `limits` (each at least 1).
    pub(crate) fn new(limits: Limits) -> Registry {
        Registry {
            limits: Limits {
                max_connections: limits.max_connections.max(1),
                max_per_source: limits.max_per_source.max(1),
            },
            conns: HashMap::new(),
            sources: HashMap::new(),
            idle: BTreeMap::new(),
            next_id: 0,
            next_ticket: 0,
        }
    }

    /// Connections open.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.conns.len()
    }

    /// Gives a new connection from `source` a slot, closing the oldest idle
    /// connection in the way if a limit is reached: the source's own at its
    /// limit, anyone's at the cap. `None` (counted in `stats`) if every
    /// connection in the way is busy with a query: the newcomer is to be
    /// closed at once rather than left waiting.
    pub(crate) fn admit(&mut self, source: Source, stats: &ConnectionStats) -> Option<Admission> {
        let held = self.sources.get(&source).map_or(0, |s| s.open);
        if held >= self.limits.max_per_source {
            let oldest = self
                .sources
                .get(&source)
                .and_then(|s| s.idle.values().next().copied());
            let Some(id) = oldest else {
                count(&stats.per_source);
                return None;
            };
            self.remove(id);
            count(&stats.per_source);
        }
        if self.conns.len() >= self.limits.max_connections {
            let Some(&id) = self.idle.values().next() else {
                count(&stats.full);
                return None;
            };
            self.remove(id);
            count(&stats.evicted);
        }
        let id = self.next_id;
        self.next_id += 1;
        let (closer, closed) = oneshot::channel();
        self.conns.insert(
            id,
            Conn {
                source,
                idle: None,
                _closer: closer,
            },
        );
        self.sources.entry(source).or_default().open += 1;
        // A new connection has no query in progress yet: it is idle, the
        // newest of all.
        self.idle(id);
        count(&stats.admitted);
        Some(Admission {
            id,
            closed,
            open: self.conns.len(),
        })
    }

    /// Marks `id` busy: a query has started arriving, or is being
    /// answered. Busy connections are never closed to make room.
    pub(crate) fn busy(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(ticket) = conn.idle.take() {
            self.idle.remove(&ticket);
            if let Some(s) = self.sources.get_mut(&conn.source) {
                s.idle.remove(&ticket);
            }
        }
    }

    /// Marks `id` idle (no query in progress), the newest idle connection.
    /// Returns the number of connections open.
    pub(crate) fn idle(&mut self, id: ConnId) -> usize {
        self.busy(id);
        if let Some(conn) = self.conns.get_mut(&id) {
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            conn.idle = Some(ticket);
            self.idle.insert(ticket, id);
            self.sources
                .entry(conn.source)
                .or_default()
                .idle
                .insert(ticket, id);
        }
        self.conns.len()
    }

    /// Forgets `id` (if still open), which tells its connection to close
    /// if it has not.
    pub(crate) fn remove(&mut self, id: ConnId) {
        self.busy(id);
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        if let Some(s) = self.sources.get_mut(&conn.source) {
            s.open -= 1;
            if s.open == 0 {
                self.sources.remove(&conn.source);
            }
        }
    }
}
