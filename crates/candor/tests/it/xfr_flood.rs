//! A zone transfer never holds up UDP answering (issue 10: "a transfer of
//! the 1M-record zone while a UDP flood runs loses no UDP answers").
//!
//! The real `candor serve` (one UDP worker) serves a zone of [`RECORDS`]
//! A records from `--zones`; a client thread asks random names of it over
//! UDP at a fixed [`RATE`] while kdig fetches the whole zone by AXFR over
//! TCP. Every query must be answered (NOERROR, not truncated, with the
//! record) within [`ANSWER_TIMEOUT`], including every one sent while the
//! transfer ran.
//!
//! The size: with [`RECORDS`] = 1,000,000 the test passes in a debug build
//! (38 s alone on the 2-core VM: 17 s to load the zone, a 16.6 s transfer
//! in 1,462 messages, 33,196 queries sent during it, none lost, p99 4.5 ms),
//! but loading takes over half of the harness's 30 s start-up limit, which a
//! full parallel test run would overrun; so it runs on 500,000 records (the
//! transfer still takes seconds). The 1M-record version with the release
//! binary, next to Knot, is `bench/axfr_flood.py`.
//!
//! It can fail: with the UDP worker made to wait while a transfer is being
//! sent (a flag set in `xfr::prepare` and cleared in `Sending::finish`,
//! checked before each `recvmmsg`), the queries sent during the transfer
//! go unanswered and the last assertion fails (tried: 11,510 of 15,647
//! queries lost, p99 5.7 s).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Candor, Rng, TempDir};
use crate::xfr::kdig;

/// Host records in the transferred zone (besides SOA, NS and the NS's A).
const RECORDS: usize = 500_000;

/// The legitimate client's queries per second.
const RATE: u64 = 2_000;

/// How long a query may wait for its answer before it counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the client runs before the transfer starts and after it ends.
const MARGIN: Duration = Duration::from_secs(1);

/// The zone file: SOA, NS, the NS's address and `RECORDS` hosts `hN`.
fn zone_file(records: usize) -> String {
    let mut z = String::with_capacity(records * 32);
    z.push_str("$TTL 300\n@ SOA ns1.big.test. hostmaster.big.test. 1 3600 600 86400 60\n");
    z.push_str("@ NS ns1\nns1 A 192.0.2.1\n");
    for i in 0..records {
        let _ = writeln!(
            z,
            "h{i} A 10.{}.{}.{}",
            i >> 16 & 255,
            i >> 8 & 255,
            i & 255
        );
    }
    z
}

/// A query for `hN.big.test A` with `id`, no EDNS.
fn host_query(id: u16, n: usize) -> Vec<u8> {
    let mut q = Vec::with_capacity(40);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let label = format!("h{n}");
    q.push(label.len() as u8);
    q.extend_from_slice(label.as_bytes());
    q.extend_from_slice(b"\x03big\x04test\x00\x00\x01\x00\x01");
    q
}

/// What the client saw of one query.
#[derive(Clone, Copy)]
struct Sent {
    /// When it was sent.
    at: Instant,
    /// When a good answer came, if one did.
    answered: Option<Instant>,
}

/// The legitimate client's results: every query by its sequence number.
#[derive(Default)]
struct Client {
    /// Queries in the order sent.
    sent: Vec<Sent>,
    /// The sequence number of the query waiting under each ID.
    by_id: HashMap<u16, usize>,
    /// Answers that were not NOERROR with one A record, or were truncated.
    bad: Vec<String>,
}

/// Runs the client against `server` until `stop`: one socket, a sender
/// paced to `RATE` and a receiver thread that matches answers by ID.
fn run_client(server: SocketAddr, stop: Arc<AtomicBool>) -> Client {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind the client");
    sock.connect(server).expect("connect the client");
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    let recv = sock.try_clone().expect("clone the client socket");
    let state = Arc::new(Mutex::new(Client::default()));
    let receiving = Arc::new(AtomicBool::new(true));
    let receiver = {
        let (state, receiving) = (state.clone(), receiving.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while receiving.load(Ordering::Relaxed) {
                let Ok(n) = recv.recv(&mut buf) else { continue };
                let now = Instant::now();
                let msg = &buf[..n];
                let mut st = state.lock().expect("client state");
                let id = u16::from_be_bytes([msg[0], msg[1]]);
                let Some(seq) = st.by_id.remove(&id) else {
                    continue;
                };
                let (flags, ancount) = (
                    u16::from_be_bytes([msg[2], msg[3]]),
                    u16::from_be_bytes([msg[6], msg[7]]),
                );
                if flags & 0x000f != 0 || flags & 0x0200 != 0 || ancount != 1 {
                    st.bad.push(format!(
                        "query {seq}: flags {flags:#06x}, {ancount} answers"
                    ));
                    continue;
                }
                st.sent[seq].answered = Some(now);
            }
        })
    };
    let mut rng = Rng::new(0x5eed_0a0f);
    let start = Instant::now();
    let interval = Duration::from_nanos(1_000_000_000 / RATE);
    let mut seq: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let due = start + interval * u32::try_from(seq).expect("fewer than 2^32 queries");
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let id = (seq % 65_536) as u16;
        let msg = host_query(id, rng.below(RECORDS));
        {
            let mut st = state.lock().expect("client state");
            let index = st.sent.len();
            st.by_id.insert(id, index);
            st.sent.push(Sent {
                at: Instant::now(),
                answered: None,
            });
        }
        sock.send(&msg).expect("send a query");
        seq += 1;
    }
    thread::sleep(ANSWER_TIMEOUT);
    receiving.store(false, Ordering::Relaxed);
    receiver.join().expect("the receiver thread");
    let mut st = state.lock().expect("client state");
    std::mem::take(&mut *st)
}

/// The `(messages, records)` of kdig's `;; Received N B (M messages, R records)`.
fn received(kdig_out: &str) -> Option<(u64, u64)> {
    let line = kdig_out.lines().find(|l| l.contains("Received"))?;
    let inner = line.split('(').nth(1)?;
    let mut numbers = inner
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// The `p`-th percentile (nearest rank) of sorted `v`, in milliseconds.
fn pct(v: &[Duration], p: f64) -> f64 {
    let i = ((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i].as_secs_f64() * 1000.0
}

/// An AXFR of a large zone (kdig, over TCP) while a client asks 2,000
/// queries a second over UDP: every query is answered within a second,
/// those sent during the transfer too, and the transfer is complete.
#[test]
fn a_big_transfer_loses_no_udp_answers() {
    if std::process::Command::new("kdig")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: kdig not found (apt-get install knot-dnsutils)");
        return;
    }
    let dir = TempDir::new("xfr-flood");
    dir.write("big.test.zone", &zone_file(RECORDS));
    let server = Candor::start(dir.path(), &["--xfr-allow", "127.0.0.1"], "big.test");
    let addr = server.addr();

    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        thread::spawn(move || run_client(addr, stop))
    };
    thread::sleep(MARGIN);
    let xfr_start = Instant::now();
    let out = kdig(addr, &["+noall", "+stats", "big.test.", "AXFR"]);
    let xfr_end = Instant::now();
    thread::sleep(MARGIN);
    stop.store(true, Ordering::Relaxed);
    let client = client.join().expect("the client thread");

    let (messages, records) =
        received(&out).unwrap_or_else(|| panic!("no transfer summary from kdig:\n{out}"));
    // SOA, NS, ns1 A, the hosts, and the closing SOA.
    assert_eq!(records, RECORDS as u64 + 4, "incomplete transfer:\n{out}");
    let during: Vec<&Sent> = client
        .sent
        .iter()
        .filter(|s| s.at >= xfr_start && s.at < xfr_end)
        .collect();
    let lost: Vec<usize> = (0..client.sent.len())
        .filter(|&i| {
            let s = client.sent[i];
            s.answered.is_none_or(|a| a - s.at > ANSWER_TIMEOUT)
        })
        .collect();
    let mut latencies: Vec<Duration> = client
        .sent
        .iter()
        .filter_map(|s| s.answered.map(|a| a - s.at))
        .collect();
    latencies.sort();
    eprintln!(
        "AXFR of {records} records in {messages} messages took {:.2} s; {} queries sent, {} of \
         them during the transfer; lost {}; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        (xfr_end - xfr_start).as_secs_f64(),
        client.sent.len(),
        during.len(),
        lost.len(),
        pct(&latencies, 50.0),
        pct(&latencies, 99.0),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    assert!(client.bad.is_empty(), "wrong answers: {:?}", client.bad);
    // The transfer overlapped the client: at least half the queries its
    // duration allows were sent while it ran.
    let expected = (xfr_end - xfr_start).as_secs_f64() * RATE as f64;
    assert!(
        during.len() as f64 >= expected / 2.0 && during.len() >= 200,
        "only {} queries during a {:.2} s transfer",
        during.len(),
        (xfr_end - xfr_start).as_secs_f64()
    );
    assert!(
        lost.is_empty(),
        "{} of {} queries unanswered within {ANSWER_TIMEOUT:?} (first: {:?}); server log:\n{}",
        lost.len(),
        client.sent.len(),
        &lost[..lost.len().min(10)],
        server.log()
    );
}
