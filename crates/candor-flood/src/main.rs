//! `candor-flood`: benchmark load for issue 15, two subcommands.
//!
//! `flood` is open loop: it never waits for answers. It sends random names
//! under one zone (`LABEL.zone A`, a new 12-character label every packet) in
//! batches of `--batch` with one `sendmmsg`, at `--rate` a second or as fast
//! as it can, for `--seconds`, and prints what it sent (and, with
//! `--count-answers`, what came back) as one JSON line.
//!
//! `legit` is the legitimate client: each `--stream TEMPLATE[:COUNT]@RATE`
//! asks its names in turn at a fixed rate from its own socket, matches
//! answers by ID and prints, per stream, the queries sent after `--warmup`,
//! the share answered (NOERROR, not truncated, within `--timeout-ms`) and
//! latency percentiles, as one JSON line.
//!
//! Both bind to `--source` (a 127.0.0.0/8 address keeps their traffic apart
//! in the server's rate limiter) and run on whatever CPU `taskset` gives them.
#![deny(unsafe_code)]

use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use candor_flood::{
    Edns, Invalid, Rng, Stream, Summary, due, flood_template, query, randomize, read_response,
};
use clap::{Parser, Subcommand};

/// Benchmark load: an open-loop flood and a measuring legitimate client.
#[derive(Parser, Debug)]
#[command(name = "candor-flood", version)]
struct Cli {
    /// Which load.
    #[command(subcommand)]
    command: Command,
}

/// The two kinds of load.
#[derive(Subcommand, Debug)]
enum Command {
    /// Random subdomains of one zone, open loop.
    Flood(FloodArgs),
    /// Fixed-rate queries whose answers are timed.
    Legit(LegitArgs),
}

/// Options of `flood`.
#[derive(clap::Args, Debug)]
struct FloodArgs {
    /// The server, ADDRESS:PORT.
    #[arg(long)]
    target: SocketAddr,
    /// The address to send from.
    #[arg(long, default_value = "127.0.0.2")]
    source: IpAddr,
    /// The attacked zone; every query is a fresh name under it.
    #[arg(long)]
    zone: String,
    /// Queries a second; 0 sends as fast as one thread can.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// How long to send.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Queries per sendmmsg.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    batch: u16,
    /// Add an EDNS OPT record to every query.
    #[arg(long)]
    edns: bool,
    /// Set the DNSSEC OK bit in every query (implies --edns): a signed zone
    /// answers with signatures and NSEC proofs.
    #[arg(long)]
    dnssec_ok: bool,
    /// Read and count the responses between batches (costs the sender CPU).
    #[arg(long)]
    count_answers: bool,
    /// Seed of the random names.
    #[arg(long, default_value_t = 15)]
    seed: u64,
    /// Start every random first label with this text (`[a-z0-9]`, shorter
    /// than 12 bytes): `h` puts the names among hosts `h0`, `h1`, ...
    #[arg(long, default_value = "")]
    prefix: String,
    /// Make the first N random characters after the prefix digits: with
    /// `--prefix h --digits 5` each name falls between two random hosts of
    /// `h0` to `h99999` (a random entry of a signed zone's NSEC chain).
    #[arg(long, default_value_t = 0)]
    digits: usize,
}

/// Options of `legit`.
#[derive(clap::Args, Debug)]
struct LegitArgs {
    /// The server, ADDRESS:PORT.
    #[arg(long)]
    target: SocketAddr,
    /// The address to send from.
    #[arg(long, default_value = "127.0.0.3")]
    source: IpAddr,
    /// A stream, TEMPLATE[:COUNT]@RATE: `www.z{}.test:1000@2000` asks
    /// www.z0000.test ... www.z0999.test A in turn, 2,000 a second.
    #[arg(long = "stream", required = true, value_parser = parse_stream)]
    streams: Vec<Stream>,
    /// Seconds measured (after the warm-up).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds sent but not measured first.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// An answer later than this is lost.
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// Add an EDNS OPT record to every query.
    #[arg(long)]
    edns: bool,
    /// Set the DNSSEC OK bit in every query (implies --edns): a signed zone
    /// answers with signatures and NSEC proofs.
    #[arg(long)]
    dnssec_ok: bool,
}

/// clap's parser for `--stream`.
fn parse_stream(text: &str) -> Result<Stream, Invalid> {
    Stream::parse(text)
}

/// Runs the subcommand; errors go to stderr with exit status 1.
fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Flood(args) => flood(&args),
        Command::Legit(args) => legit(&args),
    };
    match result {
        Ok(line) => {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        Err(e) => {
            let _ = writeln!(io::stderr(), "candor-flood: {e}");
            std::process::exit(1);
        }
    }
}

/// A UDP socket bound to `source` (any port) and connected to `target`.
fn connected(source: IpAddr, target: SocketAddr) -> io::Result<UdpSocket> {
    let sock = UdpSocket::bind(SocketAddr::new(source, 0))
        .map_err(|e| io::Error::new(e.kind(), format!("binding {source}: {e}")))?;
    sock.connect(target)?;
    Ok(sock)
}

/// Buffers and headers for one `sendmmsg` or `recvmmsg` on a connected socket.
struct Batch {
    /// The packets (each `SLOT` bytes).
    bufs: Vec<[u8; SLOT]>,
    /// One iovec per packet, pointing into `bufs`.
    iovs: Vec<libc::iovec>,
    /// One header per packet, pointing at its iovec.
    hdrs: Vec<libc::mmsghdr>,
}

/// Room per packet.
const SLOT: usize = 1232;

#[allow(unsafe_code)]
impl Batch {
    /// `n` empty slots.
    fn new(n: usize) -> Batch {
        let mut bufs = vec![[0u8; SLOT]; n];
        let iovs: Vec<libc::iovec> = bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: SLOT,
            })
            .collect();
        let mut batch = Batch {
            bufs,
            iovs,
            hdrs: Vec::with_capacity(n),
        };
        for iov in batch.iovs.iter_mut() {
            // SAFETY: mmsghdr is plain data (pointers, lengths, flags); all zeros is valid.
            let mut h: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            batch.hdrs.push(h);
        }
        batch
    }

    /// Sends the first `n` slots, each `len` bytes long; returns how many went.
    fn send(&mut self, fd: i32, n: usize, len: usize) -> io::Result<usize> {
        for iov in &mut self.iovs[..n] {
            iov.iov_len = len;
        }
        // SAFETY: the headers point at iovecs and buffers owned by `self`,
        // alive and unmoved (the Vecs are never resized) for the call.
        let rc = unsafe { libc::sendmmsg(fd, self.hdrs.as_mut_ptr(), n as u32, 0) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc as usize)
        }
    }

    /// Receives what is queued without waiting; returns how many packets.
    fn drain(&mut self, fd: i32) -> usize {
        for iov in &mut self.iovs {
            iov.iov_len = SLOT;
        }
        // SAFETY: as in `send`; the kernel writes at most `SLOT` bytes per buffer.
        let rc = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                self.hdrs.len() as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        rc.max(0) as usize
    }
}

/// The `flood` subcommand.
fn flood(args: &FloodArgs) -> Result<String, Box<dyn std::error::Error>> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        return Err(Invalid("--seconds must be positive".into()).into());
    }
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        return Err(Invalid("--rate must be 0 (flat out) or positive".into()).into());
    }
    let sock = connected(args.source, args.target)?;
    let fd = sock.as_raw_fd();
    let template = flood_template(
        &args.zone,
        &args.prefix,
        Edns::from_flags(args.edns, args.dnssec_ok),
    )?;
    let n = usize::from(args.batch);
    let mut out = Batch::new(n);
    for b in &mut out.bufs {
        b[..template.len()].copy_from_slice(&template);
    }
    let mut inbox = Batch::new(64);
    let mut rng = Rng::new(args.seed);
    let rate = (args.rate > 0.0).then_some(args.rate);
    let (mut sent, mut answers, mut errors, mut calls) = (0u64, 0u64, 0u64, 0u64);
    let start = Instant::now();
    let length = Duration::from_secs_f64(args.seconds);
    loop {
        let elapsed = start.elapsed();
        if elapsed >= length {
            break;
        }
        let allowed = due(rate, elapsed).saturating_sub(sent);
        if allowed == 0 {
            thread::sleep(Duration::from_micros(100));
            continue;
        }
        let count = n.min(usize::try_from(allowed).unwrap_or(n));
        for b in &mut out.bufs[..count] {
            randomize(
                &mut b[..template.len()],
                &mut rng,
                args.prefix.len(),
                args.digits,
            );
        }
        calls += 1;
        match out.send(fd, count, template.len()) {
            Ok(k) => sent += k as u64,
            // ECONNREFUSED (an ICMP error from an earlier packet), ENOBUFS, EAGAIN:
            // count it and go on, a flood does not stop for errors.
            Err(_) => {
                errors += 1;
                sent += count as u64;
            }
        }
        if args.count_answers {
            loop {
                let got = inbox.drain(fd);
                answers += got as u64;
                if got < inbox.hdrs.len() {
                    break;
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if args.count_answers {
        thread::sleep(Duration::from_millis(200));
        while let got @ 1.. = inbox.drain(fd) {
            answers += got as u64;
        }
    }
    Ok(format!(
        "{{\"sent\":{sent},\"seconds\":{secs:.3},\"qps\":{:.0},\"answers\":{},\"send_errors\":{errors},\"calls\":{calls}}}",
        sent as f64 / secs,
        if args.count_answers {
            answers.to_string()
        } else {
            "null".into()
        },
    ))
}

/// Marks a send time as inside the measured window.
const MEASURED: u64 = 1 << 63;

/// The `legit` subcommand: one sender and one receiver thread per stream.
fn legit(args: &LegitArgs) -> Result<String, Box<dyn std::error::Error>> {
    if !(args.seconds > 0.0
        && args.seconds.is_finite()
        && args.warmup >= 0.0
        && args.warmup.is_finite())
    {
        return Err(Invalid("--seconds must be positive and --warmup not negative".into()).into());
    }
    let start = Instant::now();
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut handles = Vec::new();
    for stream in &args.streams {
        if stream.rate * timeout.as_secs_f64() > 30_000.0 {
            return Err(Invalid(format!(
                "{}: rate × timeout over 30,000 queries in flight (IDs would be reused)",
                stream.label
            ))
            .into());
        }
        let sock = connected(args.source, args.target)?;
        sock.set_read_timeout(Some(Duration::from_millis(20)))?;
        let receiver = sock.try_clone()?;
        let packets = stream
            .names
            .iter()
            .map(|n| query(0, n, 1, Edns::from_flags(args.edns, args.dnssec_ok)))
            .collect::<Result<Vec<_>, _>>()?;
        let sent_at: Arc<Vec<AtomicU64>> =
            Arc::new((0..65536).map(|_| AtomicU64::new(0)).collect());
        let done = Arc::new(AtomicBool::new(false));
        let (warmup, seconds, rate) = (args.warmup, args.seconds, stream.rate);
        let send_times = Arc::clone(&sent_at);
        let sender = thread::spawn(move || {
            send_stream(&sock, &packets, rate, warmup, seconds, start, &send_times)
        });
        let (recv_times, recv_done) = (Arc::clone(&sent_at), Arc::clone(&done));
        let reader = thread::spawn(move || {
            receive_stream(&receiver, start, timeout, &recv_times, &recv_done)
        });
        handles.push((stream.label.clone(), sender, reader, done));
    }
    let mut parts = Vec::new();
    for (label, sender, reader, done) in handles {
        let sent = sender
            .join()
            .map_err(|_| Invalid("a sender thread panicked".into()))??;
        thread::sleep(timeout);
        done.store(true, Ordering::Relaxed);
        let (latencies, other) = reader
            .join()
            .map_err(|_| Invalid("a receiver thread panicked".into()))?;
        let s = Summary::new(sent, latencies);
        parts.push(format!(
            "{{\"stream\":\"{}\",\"sent\":{},\"answered\":{},\"share\":{:.6},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3},\"max_ms\":{:.3},\"other_responses\":{other}}}",
            label.replace('"', ""),
            s.sent,
            s.answered,
            s.share(),
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.p999_ms,
            s.max_ms
        ));
    }
    Ok(format!("{{\"streams\":[{}]}}", parts.join(",")))
}

/// Sends a stream's queries at `rate` for `warmup + seconds`; returns how
/// many were sent in the measured window.
fn send_stream(
    sock: &UdpSocket,
    packets: &[Vec<u8>],
    rate: f64,
    warmup: f64,
    seconds: f64,
    start: Instant,
    sent_at: &[AtomicU64],
) -> io::Result<u64> {
    let total = ((warmup + seconds) * rate) as u64;
    let mut measured = 0;
    let mut buf = Vec::with_capacity(512);
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        let id = (k & 0xFFFF) as u16;
        buf.clear();
        buf.extend_from_slice(&packets[(k as usize) % packets.len()]);
        buf[0..2].copy_from_slice(&id.to_be_bytes());
        let t = start.elapsed();
        let in_window = t.as_secs_f64() >= warmup;
        measured += u64::from(in_window);
        let stamp = (t.as_nanos() as u64 + 1) | if in_window { MEASURED } else { 0 };
        sent_at[usize::from(id)].store(stamp, Ordering::Relaxed);
        // A refused or dropped send is a lost query, as it would be for a real client.
        let _ = sock.send(&buf);
    }
    Ok(measured)
}

/// Receives a stream's answers until `done`; returns the latencies (ns) of
/// measured queries answered within `timeout`, and the number of other
/// responses (errors, TC).
fn receive_stream(
    sock: &UdpSocket,
    start: Instant,
    timeout: Duration,
    sent_at: &[AtomicU64],
    done: &AtomicBool,
) -> (Vec<u64>, u64) {
    let mut latencies = Vec::new();
    let mut other = 0;
    let mut buf = [0u8; 4096];
    while !done.load(Ordering::Relaxed) {
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let now = start.elapsed().as_nanos() as u64;
        let Some((id, good, _rcode)) = read_response(&buf[..n]) else {
            continue;
        };
        let stamp = sent_at[usize::from(id)].swap(0, Ordering::Relaxed);
        if stamp == 0 || stamp & MEASURED == 0 {
            continue;
        }
        let latency = now.saturating_sub((stamp & !MEASURED) - 1);
        if !good {
            other += 1;
        } else if latency <= timeout.as_nanos() as u64 {
            latencies.push(latency);
        }
    }
    (latencies, other)
}
