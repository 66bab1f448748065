//! The TCP defences: the registry's rules on their own, then a real
//! `serve_tcp` on 127.0.0.1 attacked from other loopback addresses
//! (Linux routes all of 127.0.0.0/8 to the loopback interface, so a client
//! socket bound to 127.0.0.2 is another host as far as the server knows).
//!
//! Timeouts in these tests are generous and the assertions are about
//! outcomes (answered, closed, and why), never about speed: they run on
//! loaded two-core machines.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use candor_answer::{Config, SharedAliases};
use candor_wire::Name;
use candor_zone::{ZoneSet, load_zone_text};
use socket2::{Domain, Socket, Type};
use tokio::sync::{oneshot, watch};

use super::registry::{ConnectionStats, Limits, Registry, Source};
use super::{TcpConfig, TcpStats, max_connections_for, serve_tcp};
use crate::SharedZones;

//----------- The registry ----------------------------------------------------

/// A registry with these limits.
fn registry(max_connections: usize, max_per_source: usize) -> Registry {
    Registry::new(Limits {
        max_connections,
        max_per_source,
    })
}

/// The source of an IPv4 address.
fn v4(last: u8) -> Source {
    Source::of(Ipv4Addr::new(192, 0, 2, last).into())
}

/// Whether the registry closed the connection `closed` belongs to.
fn was_closed(closed: &mut oneshot::Receiver<()>) -> bool {
    matches!(closed.try_recv(), Err(oneshot::error::TryRecvError::Closed))
}

/// At the cap the oldest idle connection is closed for a newcomer; busy
/// ones are skipped, and one that answered becomes the newest idle.
#[test]
fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let stats = ConnectionStats::default();
    let mut reg = registry(3, 10);
    let mut a = reg.admit(v4(1), &stats).expect("a");
    let mut b = reg.admit(v4(2), &stats).expect("b");
    let mut c = reg.admit(v4(3), &stats).expect("c");
    // `a` is reading a query: it is not idle, so `b` is the oldest idle.
    reg.busy(a.id);
    let mut d = reg.admit(v4(4), &stats).expect("d evicts b");
    assert!(
        was_closed(&mut b.closed),
        "b was the oldest idle connection"
    );
    assert!(!was_closed(&mut a.closed) && !was_closed(&mut c.closed));
    // `a` answered and is idle again, now the newest: `c` goes next.
    assert_eq!(reg.idle(a.id), 3);
    let _e = reg.admit(v4(5), &stats).expect("e evicts c");
    assert!(was_closed(&mut c.closed));
    assert!(!was_closed(&mut a.closed) && !was_closed(&mut d.closed));
    assert_eq!(reg.open(), 3);
    let s = stats.snapshot();
    assert_eq!((s.admitted, s.evicted, s.full, s.per_source), (5, 2, 0, 0));
}

/// At the cap with no idle connection the newcomer is refused, and a
/// freed slot is free at once.
#[test]
fn at_the_cap_with_every_connection_busy_the_newcomer_is_refused() {
    let stats = ConnectionStats::default();
    let mut reg = registry(2, 10);
    let mut a = reg.admit(v4(1), &stats).expect("a");
    let b = reg.admit(v4(2), &stats).expect("b");
    reg.busy(a.id);
    reg.busy(b.id);
    assert!(reg.admit(v4(3), &stats).is_none());
    assert_eq!(stats.snapshot().full, 1);
    // A slot freed by a closed connection is free at once.
    reg.remove(b.id);
    assert!(reg.admit(v4(3), &stats).is_some());
    assert!(!was_closed(&mut a.closed));
}

/// A source at its limit loses its own oldest idle connection to a new
/// one, or has the new one refused if none is idle; others are untouched.
#[test]
fn a_source_at_its_limit_loses_its_own_oldest_idle_connection() {
    let stats = ConnectionStats::default();
    let mut reg = registry(100, 2);
    let mut other = reg.admit(v4(9), &stats).expect("other source");
    let mut a = reg.admit(v4(1), &stats).expect("a");
    let mut b = reg.admit(v4(1), &stats).expect("b");
    let mut c = reg.admit(v4(1), &stats).expect("c replaces a");
    assert!(was_closed(&mut a.closed), "a was the source's oldest idle");
    assert!(!was_closed(&mut other.closed), "other sources keep theirs");
    // With both of its connections busy, a new one is refused.
    reg.busy(b.id);
    reg.busy(c.id);
    assert!(reg.admit(v4(1), &stats).is_none());
    assert!(
        reg.admit(v4(2), &stats).is_some(),
        "another source is admitted"
    );
    assert!(!was_closed(&mut b.closed) && !was_closed(&mut c.closed));
    assert_eq!(stats.snapshot().per_source, 2);
}

/// IPv6 addresses count per /64, IPv4-mapped ones as their IPv4 address.
#[test]
fn sources_are_ipv4_addresses_and_ipv6_64s() {
    let six = |s: &str| Source::of(s.parse::<Ipv6Addr>().expect("address").into());
    assert_eq!(six("2001:db8:1:2::1"), six("2001:db8:1:2:ffff::9"));
    assert_ne!(six("2001:db8:1:2::1"), six("2001:db8:1:3::1"));
    assert_eq!(six("::ffff:192.0.2.1"), v4(1));
    assert_ne!(v4(1), v4(2));
}

/// The cap leaves a quarter of the descriptors, at most 1,024, for the rest.
#[test]
fn the_cap_fits_under_the_fd_limit() {
    assert_eq!(max_connections_for(1024), 768);
    assert_eq!(max_connections_for(20_000), 18_976);
    assert_eq!(max_connections_for(1_048_576), 1_047_552);
    assert_eq!(max_connections_for(0), 1);
}

/// Over half the cap the idle timeout is a tenth, at least 200 ms, never
/// more than configured.
#[test]
fn idle_timeout_shrinks_over_half_the_cap() {
    let config = tcp_config(100, 10, secs(10.0), secs(2.0));
    assert_eq!(config.idle_timeout_at(50), secs(10.0));
    assert_eq!(config.idle_timeout_at(51), secs(1.0));
    let short = tcp_config(100, 10, secs(1.0), secs(2.0));
    assert_eq!(short.idle_timeout_at(99), Duration::from_millis(200));
    let tiny = tcp_config(100, 10, Duration::from_millis(100), secs(2.0));
    assert_eq!(tiny.idle_timeout_at(99), Duration::from_millis(100));
}

//----------- A real server ---------------------------------------------------

/// The zone every socket test serves.
const ZONE: &str = "$ORIGIN srv.test.\n$TTL 300\n\
    @ IN SOA ns1 hostmaster 1 3600 900 86400 300\n\
    @ IN NS ns1\n\
    ns1 IN A 192.0.2.53\n\
    www IN A 192.0.2.80\n";

/// How long a client waits for anything; far beyond what a loaded machine
/// needs, so only a server that never answers makes a test fail.
const PATIENCE: Duration = Duration::from_secs(10);

/// A duration of `s` seconds.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Settings with these limits and timeouts.
fn tcp_config(
    max_connections: usize,
    max_per_source: usize,
    idle_timeout: Duration,
    query_timeout: Duration,
) -> TcpConfig {
    TcpConfig {
        max_connections,
        max_per_source,
        idle_timeout,
        query_timeout,
        answer: Config {
            max_udp_payload: 1232,
            nsid: None,
            aliases: SharedAliases::default(),
            cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new([0; 16], None)),
        },
        transfers: None,
        traffic: None,
    }
}

/// `serve_tcp` on 127.0.0.1 on a runtime thread of its own, stopped on
/// drop.
struct Server {
    /// Where it listens.
    addr: SocketAddr,
    /// Its counters.
    stats: Arc<TcpStats>,
    /// Turned true to stop it.
    stop: watch::Sender<bool>,
    /// The runtime's thread.
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts serving the test zone with `config`.
    fn start(config: TcpConfig) -> Server {
        let origin = Name::from_text("srv.test.", None).expect("origin");
        let zone = load_zone_text(ZONE.as_bytes(), Path::new("srv.test.zone"), &origin)
            .expect("the test zone compiles");
        let zones: SharedZones =
            Arc::new(ArcSwap::from_pointee(ZoneSet::from_zones([Arc::new(zone)])));
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .expect("bind");
        socket.listen(1024).expect("listen");
        socket.set_nonblocking(true).expect("nonblocking");
        let listener: std::net::TcpListener = socket.into();
        let addr = listener.local_addr().expect("local address");
        let stats = Arc::new(TcpStats::default());
        let (stop, stopped) = watch::channel(false);
        let served = stats.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                serve_tcp(vec![listener], zones, config, served, stopped).await;
            });
        });
        Server {
            addr,
            stats,
            stop,
            thread: Some(thread),
        }
    }

    /// The connection counters now.
    fn connections(&self) -> super::ConnectionSnapshot {
        self.stats.connections.snapshot()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A connection to `addr` from 127.0.0.`from`, with [`PATIENCE`] for
/// reads and writes.
fn connect(from: u8, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, from), 0)).into())?;
    socket.connect_timeout(&addr.into(), PATIENCE)?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `www.srv.test A` with message id `id`, framed; `padding` bytes of EDNS
/// padding (RFC 7830) make it as long as a test needs.
fn query(id: u16, padding: usize) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    let arcount = u16::from(padding > 0);
    for word in [0u16, 1, 0, 0, arcount] {
        m.extend_from_slice(&word.to_be_bytes());
    }
    m.extend_from_slice(b"\x03www\x03srv\x04test\x00\x00\x01\x00\x01");
    if padding > 0 {
        let padding = u16::try_from(padding).expect("padding fits a u16");
        m.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        m.extend_from_slice(&(padding + 4).to_be_bytes());
        m.extend_from_slice(&12u16.to_be_bytes());
        m.extend_from_slice(&padding.to_be_bytes());
        m.resize(m.len() + usize::from(padding), 0);
    }
    let mut framed = u16::try_from(m.len())
        .expect("a query fits a frame")
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(&m);
    framed
}

/// Reads one framed response and checks it answers query `id` with
/// NOERROR and one record.
fn read_answer(stream: &mut TcpStream, id: u16) -> io::Result<()> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg)?;
    let good = msg.len() > 12
        && msg[..2] == id.to_be_bytes()
        && msg[2] & 0x80 != 0
        && msg[3] & 0x0f == 0
        && msg[6..8] == [0, 1];
    if good {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "not the answer to {id}: {msg:02x?}"
        )))
    }
}

/// Sends query `id` on `stream` and checks its answer.
fn ask(stream: &mut TcpStream, id: u16) -> io::Result<()> {
    stream.write_all(&query(id, 0))?;
    read_answer(stream, id)
}

/// Asks `n` queries from 127.0.0.1, each on a new connection; returns the
/// errors of those not answered.
fn legit_failures(addr: SocketAddr, n: u16) -> Vec<String> {
    (0..n)
        .filter_map(|id| {
            connect(1, addr)
                .and_then(|mut s| ask(&mut s, id))
                .err()
                .map(|e| format!("query {id}: {e}"))
        })
        .collect()
}

/// Waits up to [`PATIENCE`] for the server to close `stream`; reads any
/// answers it sends first. True if it closed.
fn closes(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                );
            }
        }
    }
}

/// Polls `what` every 20 ms until it holds or [`PATIENCE`] passes.
fn eventually(what: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    what()
}

/// Whether the server closed `stream`, without waiting: a read that would
/// block means it is open.
fn is_closed_now(stream: &mut TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut buf = [0u8; 64];
    let closed = match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Issue 15: before, excess connections waited in the backlog behind idle
/// ones until those timed out, so 200 idle connections against a cap of 50
/// locked every other client out.
#[test]
fn idle_flood_at_the_cap_does_not_lock_out_other_clients() {
    let server = Server::start(tcp_config(50, 1000, secs(60.0), secs(60.0)));
    let flood: Vec<TcpStream> = (0..200)
        .map(|i| connect(2, server.addr).unwrap_or_else(|e| panic!("flood {i}: {e}")))
        .collect();
    assert!(
        eventually(|| server.connections().admitted >= 200),
        "the server took every flood connection: {:?}",
        server.connections()
    );
    let failures = legit_failures(server.addr, 20);
    assert!(failures.is_empty(), "legit queries failed: {failures:#?}");
    let s = server.connections();
    assert!(s.evicted >= 150, "idle flood connections made room: {s:?}");
    assert_eq!(s.full, 0, "nobody was turned away: {s:?}");
    drop(flood);
}

/// Slowloris: one byte a second never completes a query within the query
/// timeout; the trickling connections are closed (the per-source limit
/// lets only some in) and other clients are served meanwhile.
#[test]
fn slowloris_is_closed_by_the_query_deadline() {
    let server = Server::start(tcp_config(50, 16, secs(60.0), secs(1.0)));
    let mut slow: Vec<(TcpStream, Option<Instant>)> = (0..40)
        .map(|i| {
            let s = connect(2, server.addr).unwrap_or_else(|e| panic!("slow {i}: {e}"));
            (s, None)
        })
        .collect();
    let started = Instant::now();
    // A frame of 300 bytes, sent one byte a second (all 40 in parallel).
    let trickle = std::thread::spawn(move || {
        let frame = [0x01, 0x2c, 0xab, 0xcd];
        for &byte in frame.iter().cycle().take(20) {
            for (stream, closed_at) in slow.iter_mut().filter(|(_, c)| c.is_none()) {
                if stream.write_all(&[byte]).is_err() || is_closed_now(stream) {
                    *closed_at = Some(Instant::now());
                }
            }
            if slow.iter().all(|(_, c)| c.is_some()) {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        slow
    });
    let failures = legit_failures(server.addr, 20);
    let slow = trickle.join().expect("the trickling thread");
    assert!(failures.is_empty(), "legit queries failed: {failures:#?}");
    let open = slow.iter().filter(|(_, c)| c.is_none()).count();
    assert_eq!(
        open,
        0,
        "slowloris connections still open after {:?}",
        started.elapsed()
    );
    let s = server.connections();
    assert!(
        s.query_deadline >= 1 && s.query_deadline + s.per_source == 40,
        "closed by the query deadline or the per-source limit: {s:?}"
    );
    assert_eq!(s.idle, 0, "no connection waited out the 60 s idle timeout");
}

/// A source at its limit cannot open more while its connections are busy,
/// loses its own oldest idle one when they are not, and other sources are
/// never affected.
#[test]
fn per_source_limit_is_enforced() {
    let server = Server::start(tcp_config(100, 5, secs(60.0), secs(60.0)));
    // Five connections from 127.0.0.3, each in the middle of a query: the
    // first byte of the next came with the one answered, so once the
    // answer is in, the server has seen it.
    let mut busy: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut s = connect(3, server.addr).unwrap_or_else(|e| panic!("busy {i}: {e}"));
            let mut bytes = query(i, 0);
            bytes.push(0);
            s.write_all(&bytes).expect("a query and a byte");
            read_answer(&mut s, i).unwrap_or_else(|e| panic!("busy {i} is answered: {e}"));
            s
        })
        .collect();
    let mut sixth = connect(3, server.addr).expect("the sixth connects");
    assert!(closes(&mut sixth), "the sixth connection is closed at once");
    assert_eq!(server.connections().per_source, 1);
    assert!(
        busy.iter_mut().all(|s| !is_closed_now(s)),
        "the busy connections stay"
    );
    // Another source is served.
    let mut other = connect(4, server.addr).expect("another source connects");
    ask(&mut other, 1).expect("another source is answered");
    // Five idle connections from 127.0.0.5; a sixth replaces the oldest.
    let mut idle: Vec<TcpStream> = (0..5)
        .map(|i| {
            let mut s = connect(5, server.addr).unwrap_or_else(|e| panic!("idle {i}: {e}"));
            ask(&mut s, 10 + i).unwrap_or_else(|e| panic!("idle {i} is answered: {e}"));
            s
        })
        .collect();
    let mut newest = connect(5, server.addr).expect("the sixth idle-source connection");
    ask(&mut newest, 20).expect("the newest connection is answered");
    assert!(
        closes(&mut idle[0]),
        "the source's oldest idle connection made room"
    );
    ask(&mut idle[1], 21).expect("the other idle connections stay");
    assert_eq!(server.connections().per_source, 2);
}

/// The idle timeout counts from the last answer: bytes trickling in after
/// it do not hold the connection open, and a client that keeps asking is
/// never idle however long it stays.
#[test]
fn idle_timeout_does_not_restart_on_trickled_bytes() {
    let server = Server::start(tcp_config(100, 10, secs(2.0), secs(60.0)));
    let mut trickler = connect(2, server.addr).expect("connect");
    ask(&mut trickler, 1).expect("answered");
    let answered = Instant::now();
    let trickle = std::thread::spawn(move || {
        // The start of a 300-byte query, one byte every 200 ms, for up to
        // 20 s (the query timeout is 60 s).
        for &byte in [0x01, 0x2c].iter().chain([0u8; 98].iter()) {
            if trickler.write_all(&[byte]).is_err() || is_closed_now(&mut trickler) {
                return Some(answered.elapsed());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    });
    // Meanwhile a query every 300 ms for 6 s, three idle timeouts.
    let mut steady = connect(1, server.addr).expect("connect");
    for id in 0..20 {
        ask(&mut steady, id).unwrap_or_else(|e| panic!("steady query {id}: {e}"));
        std::thread::sleep(Duration::from_millis(300));
    }
    let closed_after = trickle.join().expect("the trickling thread");
    assert!(
        closed_after.is_some(),
        "the trickling connection outlived 20 s of its 2 s idle timeout"
    );
    let s = server.connections();
    assert_eq!((s.idle, s.query_deadline), (1, 0), "{s:?}");
}

/// Over half the cap, a connection that falls idle gets a tenth of the
/// idle timeout.
#[test]
fn idle_timeout_shrinks_when_more_than_half_full() {
    let server = Server::start(tcp_config(10, 100, secs(30.0), secs(60.0)));
    let mut held: Vec<TcpStream> = (0..6)
        .map(|i| {
            let mut s = connect(2, server.addr).unwrap_or_else(|e| panic!("held {i}: {e}"));
            ask(&mut s, i).unwrap_or_else(|e| panic!("held {i} is answered: {e}"));
            s
        })
        .collect();
    let mut last = held.pop().expect("six connections");
    assert!(
        closes(&mut last),
        "an idle connection over half the cap is closed in 3 s, not 30"
    );
    assert!(server.connections().idle >= 1);
}

/// Pipelined queries longer than the starting buffer all get answers, and
/// a query of 20 kB (the buffer grows to hold it) is answered on the same
/// connection as small ones before and after it.
#[test]
fn buffers_grow_for_large_queries_and_pipelines() {
    let server = Server::start(tcp_config(100, 10, secs(60.0), secs(60.0)));
    let mut stream = connect(1, server.addr).expect("connect");
    let pipeline: Vec<u8> = (0..50).flat_map(|id| query(id, 0)).collect();
    stream
        .write_all(&pipeline)
        .expect("write 50 queries at once");
    for id in 0..50 {
        read_answer(&mut stream, id).unwrap_or_else(|e| panic!("pipelined {id}: {e}"));
    }
    let large = query(100, 20_000);
    for chunk in large.chunks(4000) {
        stream
            .write_all(chunk)
            .expect("write part of the large query");
        std::thread::sleep(Duration::from_millis(20));
    }
    read_answer(&mut stream, 100).expect("the large query is answered");
    ask(&mut stream, 101).expect("a small query after it");
    assert_eq!(server.stats.queries.received.load(Ordering::Relaxed), 52);
}
