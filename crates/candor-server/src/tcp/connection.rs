//! One TCP connection: read framed requests, answer each, close on the
//! first deadline missed.
//!
//! Deadlines are points in time, not timers restarted by each byte: the
//! next query must be complete by the idle deadline (the last response, or
//! the accept, plus the idle timeout) and, once its first byte is in, also
//! by that byte's arrival plus the query timeout; a trickle of bytes moves
//! neither.

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use candor_answer::{Request, Transport, respond};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::registry::{Admission, ConnId, count};
use super::{SCRATCH, Shared};
use crate::xfr::{Prepared, Transfers, prepare};

/// Bytes a connection's query buffer starts with: a typical query and its
/// length prefix fit, and so do several pipelined ones.
const START_BUFFER: usize = 512;

/// A response copy left this big after a slow client took it is freed
/// rather than kept for the next one.
const KEEP_OUTPUT: usize = 4096;

//----------- Why a connection ends -------------------------------------------

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Close {
    /// The client closed it, broke it, or sent something that is not a
    /// query (nothing sensible can follow on the stream then).
    Client,
    /// No complete query within the idle timeout of the last response.
    Idle,
    /// A query was not complete within the query timeout of its first byte.
    QueryDeadline,
    /// The client did not take a response within the query timeout.
    SendDeadline,
    /// The registry closed it to make room (already counted there).
    Evicted,
    /// The server is stopping.
    Shutdown,
}

//----------- Frames ----------------------------------------------------------

/// Bytes read from the client: zero or more complete frames, then perhaps
/// the start of one. Starts at [`START_BUFFER`] bytes and grows only to
/// hold the frame being read, so it never passes 65,537 bytes (a length
/// prefix and the longest message).
struct Frames {
    /// The buffer; `start..end` holds unanswered bytes.
    buf: Vec<u8>,
    /// Where unanswered bytes start.
    start: usize,
    /// Where they end.
    end: usize,
}

impl Frames {
    /// An empty buffer of the start size.
    fn new() -> Frames {
        Frames {
            buf: vec![0; START_BUFFER],
            start: 0,
            end: 0,
        }
    }

    /// Whether nothing unanswered is buffered.
    fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The size of the frame that starts the unanswered bytes (prefix
    /// included), if its prefix is in.
    fn frame_len(&self) -> Option<usize> {
        let prefix = self.buf.get(self.start..self.start + 2)?;
        if self.end < self.start + 2 {
            return None;
        }
        Some(2 + usize::from(u16::from_be_bytes([prefix[0], prefix[1]])))
    }

    /// Where the message of the first frame is, if the frame is complete.
    fn next(&self) -> Option<Range<usize>> {
        let len = self.frame_len()?;
        (self.end - self.start >= len).then(|| self.start + 2..self.start + len)
    }

    /// Marks everything before `end` answered.
    fn consume(&mut self, end: usize) {
        self.start = end;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into, with space for the whole frame being read: the
    /// unanswered bytes move to the front if they must, and the buffer
    /// grows to the frame's size if it is smaller.
    fn spare(&mut self) -> &mut [u8] {
        let needed = self.frame_len().unwrap_or(2);
        if self.buf.len() - self.start < needed || self.end == self.buf.len() {
            self.compact();
        }
        if self.buf.len() < needed {
            self.buf.resize(needed, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Records `n` bytes read into [`Frames::spare`].
    fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Moves the unanswered bytes to the front.
    fn compact(&mut self) {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
    }

    /// Goes back to the start size if a large query grew the buffer and
    /// what is left fits, so an idle connection holds little memory.
    fn shrink(&mut self) {
        if self.buf.len() > START_BUFFER && self.end - self.start <= START_BUFFER {
            self.compact();
            self.buf.truncate(START_BUFFER);
            self.buf.shrink_to_fit();
        }
    }
}

//----------- Sending ---------------------------------------------------------

/// Framed responses on their way out: written straight from the caller's
/// buffer when the socket takes them, the rest copied and flushed with a
/// deadline.
struct Output {
    /// What the socket did not take yet.
    pending: Vec<u8>,
}

impl Output {
    /// Writes `framed` (prefix included) now, as far as the socket takes
    /// it without waiting; keeps a copy of the rest for [`Output::flush`].
    fn queue(&mut self, stream: &TcpStream, framed: &[u8]) -> io::Result<()> {
        let written = if self.pending.is_empty() {
            match stream.try_write(framed) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            }
        } else {
            0
        };
        self.pending.extend_from_slice(&framed[written..]);
        Ok(())
    }

    /// Writes what [`Output::queue`] kept, within `timeout`.
    async fn flush(&mut self, stream: &mut TcpStream, timeout: Duration) -> Result<(), Close> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = tokio::time::timeout(timeout, stream.write_all(&self.pending)).await;
        self.pending.clear();
        if self.pending.capacity() > KEEP_OUTPUT {
            self.pending = Vec::new();
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Close::Client),
            Err(_) => Err(Close::SendDeadline),
        }
    }
}

//----------- The connection --------------------------------------------------

/// Serves one admitted connection until it ends, then frees its slot and
/// counts why it ended.
pub(super) async fn serve(
    mut stream: TcpStream,
    admission: Admission,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) {
    let Admission { id, closed, open } = admission;
    let _ = stream.set_nodelay(true);
    // Server cookies are bound to the client's address.
    let client = stream
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let close = run(&mut stream, client, id, closed, open, &shared, shutdown).await;
    shared.registry().remove(id);
    let counters = &shared.stats.connections;
    count(&counters.closed);
    match close {
        Close::Idle => count(&counters.idle),
        Close::QueryDeadline => count(&counters.query_deadline),
        Close::SendDeadline => count(&counters.send_deadline),
        Close::Client | Close::Evicted | Close::Shutdown => {}
    }
}

/// Reads requests and answers them until a deadline passes, the client
/// goes, the registry closes the connection or the server stops.
async fn run(
    stream: &mut TcpStream,
    client: IpAddr,
    id: ConnId,
    mut closed: oneshot::Receiver<()>,
    open: usize,
    shared: &Shared,
    mut shutdown: watch::Receiver<bool>,
) -> Close {
    let config = &shared.config;
    let mut frames = Frames::new();
    let mut output = Output {
        pending: Vec::new(),
    };
    // When the last response went out (or the connection came), and how
    // long the connection may then stay without a complete query.
    let mut idle_since = Instant::now();
    let mut idle_for = config.idle_timeout_at(open);
    // When the first byte of the query being read arrived.
    let mut first_byte: Option<Instant> = None;
    loop {
        let mut answered = false;
        while let Some(message) = frames.next() {
            let end = message.end;
            if let Err(close) =
                serve_request(&frames.buf[message], client, stream, &mut output, shared).await
            {
                return close;
            }
            frames.consume(end);
            answered = true;
        }
        if answered {
            idle_since = Instant::now();
            frames.shrink();
            if frames.is_empty() {
                first_byte = None;
                let open = shared.registry().idle(id);
                idle_for = config.idle_timeout_at(open);
            } else {
                // The start of a pipelined query came with the last one.
                first_byte = Some(idle_since);
            }
        }
        let idle_deadline = idle_since + idle_for;
        let (deadline, expired) = match first_byte {
            Some(t) if t + config.query_timeout < idle_deadline => {
                (t + config.query_timeout, Close::QueryDeadline)
            }
            _ => (idle_deadline, Close::Idle),
        };
        let was_empty = frames.is_empty();
        let read = tokio::select! {
            biased;
            _ = &mut closed => return Close::Evicted,
            _ = shutdown.changed() => return Close::Shutdown,
            r = tokio::time::timeout_at(deadline, stream.read(frames.spare())) => r,
        };
        match read {
            Err(_) => return expired,
            Ok(Ok(0) | Err(_)) => return Close::Client,
            Ok(Ok(n)) => frames.filled(n),
        }
        if was_empty {
            first_byte = Some(Instant::now());
            shared.registry().busy(id);
        }
    }
}

/// Answers one request with its framed response. Zone transfers and
/// signed requests go to [`serve_special`], which writes each message of a
/// transfer with [`Output::queue`] and flushes it before the next.
async fn serve_request(
    msg: &[u8],
    client: IpAddr,
    stream: &mut TcpStream,
    output: &mut Output,
    shared: &Shared,
) -> Result<(), Close> {
    let stats = &shared.stats.queries;
    stats.received.fetch_add(1, Ordering::Relaxed);
    if let Some(transfers) = &shared.config.transfers
        && let Some(reply) = crate::xfr::notify_reply(transfers, msg, client)
    {
        // A NOTIFY to a secondary zone (Knot sends them over TCP too).
        let Some(reply) = reply.filter(|r| r.len() <= usize::from(u16::MAX)) else {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(Close::Client);
        };
        let mut framed = Vec::with_capacity(2 + reply.len());
        framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        framed.extend_from_slice(&reply);
        return match output.queue(stream, &framed) {
            Ok(()) => output.flush(stream, shared.config.query_timeout).await,
            Err(_) => Err(Close::Client),
        };
    }
    if let Some(transfers) = &shared.config.transfers
        && let Some(special) = candor_xfr::special(msg)
    {
        return serve_special(msg, special, transfers, stream, output, shared).await;
    }
    let request = Request {
        msg,
        transport: Transport::Tcp,
        client,
        now: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32),
    };
    let queued = SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let zones = shared.zones.load();
        let (prefix, body) = scratch.split_at_mut(2);
        let outcome = respond(&zones, &shared.config.answer, &request, body)?;
        if let (Some(table), Some(traffic)) = (&shared.traffic, &shared.config.traffic) {
            count_zone(table, traffic, &zones, msg, outcome.rcode);
        }
        let n = outcome.len;
        if outcome.rcode == candor_wire::Rcode::REFUSED
            && let Some(t) = &shared.config.transfers
        {
            crate::xfr::servfail_if_expired(t, msg, &mut body[..n]);
        }
        let len = u16::try_from(n).ok()?;
        prefix.copy_from_slice(&len.to_be_bytes());
        stats.count_cookie(outcome.cookie);
        stats.count_response(&body[..n]);
        Some(output.queue(stream, &scratch[..2 + n]))
    });
    match queued {
        Some(Ok(())) => output.flush(stream, shared.config.query_timeout).await,
        Some(Err(_)) => Err(Close::Client),
        None => {
            // Not a query: nothing sensible can follow on this stream.
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            Err(Close::Client)
        }
    }
}

/// Counts a TCP query per zone (and its NXDOMAIN) in the TCP side's table,
/// and folds the table into `traffic` when its window is over. Never sheds:
/// the table is told no working time, so it never has a budget.
fn count_zone(
    table: &std::sync::Mutex<(candor_traffic::WorkerTraffic, usize)>,
    traffic: &candor_traffic::Traffic,
    zones: &candor_zone::ZoneSet,
    msg: &[u8],
    rcode: candor_wire::Rcode,
) {
    let mut peek = [candor_answer::Peek::default()];
    candor_answer::Peek::prepare(&mut peek, zones, std::iter::once(msg));
    let zone = peek[0]
        .zone()
        .and_then(|p| Some((zones.id(p)?, u32::try_from(p).ok()?)));
    let mut guard = table
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (t, index) = &mut *guard;
    let (slot, _) = t.admit(zone);
    if rcode == candor_wire::Rcode::NXDOMAIN {
        t.nxdomain(slot);
    }
    if let Some(report) = t.roll(std::time::Instant::now()) {
        traffic.fold(*index, report, zones);
    }
}

/// Answers a zone transfer request or a signed query (see `crate::xfr`):
/// one frame, or each message of a transfer queued and flushed in turn,
/// the client taking each within the query timeout.
async fn serve_special(
    request: &[u8],
    special: candor_xfr::Special,
    transfers: &Transfers,
    stream: &mut TcpStream,
    output: &mut Output,
    shared: &Shared,
) -> Result<(), Close> {
    let timeout = shared.config.query_timeout;
    let Ok(peer) = stream.peer_addr() else {
        return Err(Close::Client);
    };
    let mut sending = match prepare(transfers, special, request, peer, &shared.config.answer).await
    {
        Prepared::Drop => return Err(Close::Client),
        Prepared::Frame(frame) => {
            output.queue(stream, &frame).map_err(|_| Close::Client)?;
            return output.flush(stream, timeout).await;
        }
        Prepared::Stream(sending) => sending,
    };
    let mut written = 0u64;
    loop {
        let Some(frame) = sending.next_frame().await else {
            let complete = sending.complete();
            sending.finish(complete);
            return match complete {
                true => Ok(()),
                false => Err(Close::Client),
            };
        };
        let sent = match output.queue(stream, &frame) {
            Ok(()) => output.flush(stream, timeout).await,
            Err(_) => Err(Close::Client),
        };
        if let Err(close) = sent {
            sending.finish(false);
            return Err(close);
        }
        written += 1;
        // Let other connections run between messages even when neither the
        // packing thread nor the socket makes this task wait.
        if written.is_multiple_of(8) {
            tokio::task::yield_now().await;
        }
    }
}
