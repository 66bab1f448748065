//! UDP workers: one thread and one `SO_REUSEPORT` socket per worker,
//! packets received and sent in batches with `recvmmsg`/`sendmmsg`.
//!
//! No async runtime on this path: a worker blocks in `recvmmsg` (with a
//! short timeout so it notices shutdown), answers the whole batch from one
//! snapshot of the zones, asks the rate limiter about each response (UDP
//! only: a TCP client cannot spoof its address), and sends the whole batch
//! with one `sendmmsg`.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use candor_answer::{Config, Outcome, Peek, Request, Transport, slip};
use candor_guard::{Account, Limiter, Slip, Verdict};
use candor_traffic::filter::{self, ALWAYS, Rule};
use candor_traffic::worker::{KernelRule, SlotRef};
use candor_traffic::{Traffic, WorkerTraffic};
use candor_wire::Rcode;
use candor_zone::ZoneSet;
use socket2::{Domain, Protocol, Socket, Type};

use crate::SharedZones;
use crate::quarantine::Quarantine;
use crate::stats::{Stats, bump};

/// Packets per `recvmmsg`/`sendmmsg` call.
const BATCH: usize = 32;

/// Largest query we accept over UDP; larger ones are truncated by the
/// kernel (`MSG_TRUNC`) and dropped.
const RX_SIZE: usize = 4096;

/// Largest response we write over UDP (the answer limit is at most this).
const TX_SIZE: usize = 4096;

/// How often a blocked worker wakes up to check for shutdown.
const POLL: Duration = Duration::from_millis(200);

/// Settings for the UDP side.
#[derive(Clone, Debug)]
pub struct UdpConfig {
    /// Worker threads (each with its own socket) per address.
    pub workers: usize,
    /// Answering settings.
    pub answer: Config,
    /// Receive coalescing: when the worker is busy (see [`Load`]), after
    /// a batch that was neither a lone packet nor at least half full, wait
    /// this long before the next `recvmmsg`, so the next batch is bigger
    /// (zero: never wait). See [`Worker::run`].
    pub coalesce: Duration,
    /// The kernel receive buffer asked for each socket (`SO_RCVBUF`; the
    /// kernel doubles it for its bookkeeping and caps it at `rmem_max`).
    /// It bounds the queue a flood can build: see [`udp_socket`].
    pub recv_buffer: usize,
    /// Zone transfers: an IXFR over UDP gets the current SOA from them
    /// (RFC 1995 §2), if the ACL allows; without them the answer path
    /// refuses it.
    pub transfers: Option<Arc<crate::xfr::Transfers>>,
    /// Response rate limiting, shared by every worker (of every address);
    /// `None` turns it off.
    pub limiter: Option<Arc<Limiter>>,
    /// Per-zone accounting and fair-share shedding (see
    /// `candor_traffic`): every worker counts its queries per zone and
    /// folds them in here every 100 ms; `None` turns both off.
    pub traffic: Option<Arc<Traffic>>,
    /// Whether a worker that sheds zones may also drop most of their
    /// packets in the kernel, before its socket's queue, with a socket
    /// filter (`candor_traffic::filter`). Needs `traffic`.
    pub kernel_shed: bool,
    /// For tests only: time each worker spins after answering a query, to
    /// shrink its capacity (so a test can overload it tenfold with little
    /// traffic). Zero in production.
    pub test_slow_answer: Duration,
}

/// Numbers the workers of every address, for the traffic aggregator.
static NEXT_WORKER: AtomicUsize = AtomicUsize::new(0);

/// A fresh worker number for the traffic aggregator (the TCP side's
/// table takes one too).
pub(crate) fn next_worker_index() -> usize {
    NEXT_WORKER.fetch_add(1, Ordering::Relaxed)
}

/// The running workers.
pub struct UdpWorkers {
    /// Worker threads.
    threads: Vec<JoinHandle<()>>,
    /// Per-worker counters.
    stats: Vec<Arc<Stats>>,
    /// Set to stop the workers.
    stop: Arc<AtomicBool>,
}

impl UdpWorkers {
    /// Per-worker counters.
    pub fn stats(&self) -> &[Arc<Stats>] {
        &self.stats
    }

    /// Stops the workers and waits for them.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Binds `config.workers` sockets on `addr` (with `SO_REUSEPORT`) and
/// starts one worker thread per socket.
pub fn bind_udp(
    addr: SocketAddr,
    config: &UdpConfig,
    zones: SharedZones,
) -> io::Result<UdpWorkers> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut stats = Vec::new();
    let mut sockets = Vec::new();
    // Bind everything first, so a bad address fails before any thread runs.
    for _ in 0..config.workers.max(1) {
        sockets.push(udp_socket(addr, config.recv_buffer)?);
    }
    // Quarantine sockets for the zones shed (see `crate::quarantine`):
    // bound only while some zone is, and only with kernel shedding.
    let quarantine = match (&config.traffic, config.kernel_shed) {
        (Some(_), true) => {
            match Quarantine::new(addr, config.recv_buffer, &sockets[0], sockets.len()) {
                Ok(q) => Some(Arc::new(q)),
                Err(e) => {
                    tracing::warn!(%addr, error = %e, "no quarantine sockets: flooded zones share the workers' queues");
                    None
                }
            }
        }
        _ => None,
    };
    for (i, socket) in sockets.into_iter().enumerate() {
        let s = Arc::new(Stats::default());
        stats.push(s.clone());
        let worker = Worker {
            socket,
            zones: zones.clone(),
            config: config.answer.clone(),
            limiter: config.limiter.clone(),
            traffic: config.traffic.clone(),
            kernel_shed: config.kernel_shed,
            quarantine: quarantine.clone(),
            local: i,
            index: next_worker_index(),
            slow: config.test_slow_answer,
            coalesce: config.coalesce,
            transfers: config.transfers.clone(),
            stats: s,
            stop: stop.clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("udp-{i}"))
                .spawn(move || worker.run())?,
        );
    }
    Ok(UdpWorkers {
        threads,
        stats,
        stop,
    })
}

/// A UDP socket for one worker.
///
/// The receive buffer is the queue in front of the worker, and a queue is
/// latency: at saturation every answer waits for everything queued before
/// it. A 4 MiB buffer held ~30 ms of a random-subdomain flood. Since a
/// flooded zone's queries are steered to a quarantine socket (`quarantine`)
/// the workers' own queue no longer fills with the flood, and the default
/// (`--udp-recv-buffer`, 128 KiB asked, 256 KiB granted, about 300 small
/// queries) is sized the other way round too: it must outlast the longest
/// time a worker sharing its core waits for it, a scheduler tick (4 ms at
/// HZ=250), at the rate it is sent. At 50k qps it holds ~5 ms; half of it
/// (the earlier default) overflowed during a 1M-record AXFR on the worker's
/// core (docs/benchmarks.md, "A queue that outlasts a scheduler tick"). At
/// 350k qps it is ~0.8 ms of queue, and beyond that the kernel drops the
/// excess before it costs a system call.
pub(crate) fn udp_socket(addr: SocketAddr, recv_buffer: usize) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    let _ = socket.set_recv_buffer_size(recv_buffer);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.set_read_timeout(Some(POLL))?;
    if addr.is_ipv4() {
        set_dont_fragment(&socket)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Sends IPv4 responses with DF set, whatever the cached path MTU
/// (`IP_PMTUDISC_PROBE`). Fragmented DNS responses invite spoofing
/// (RFC 9715); responses stay within `max_udp_payload` (1232 by default)
/// and a client that cannot get one retries over TCP. It also saves the
/// kernel choosing an IP ID for every packet (2% of server CPU in profiles).
fn set_dont_fragment(socket: &Socket) -> io::Result<()> {
    let value: libc::c_int = libc::IP_PMTUDISC_PROBE;
    // SAFETY: a valid descriptor, an option of type int, and a pointer to a
    // live int of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One worker's state.
struct Worker {
    /// Its socket.
    socket: UdpSocket,
    /// The zones.
    zones: SharedZones,
    /// Answering settings.
    config: Config,
    /// See [`UdpConfig::limiter`].
    limiter: Option<Arc<Limiter>>,
    /// See [`UdpConfig::traffic`].
    traffic: Option<Arc<Traffic>>,
    /// See [`UdpConfig::kernel_shed`].
    kernel_shed: bool,
    /// Its address's quarantine (see `crate::quarantine`), with kernel
    /// shedding.
    quarantine: Option<Arc<Quarantine>>,
    /// Its number among its address's workers.
    local: usize,
    /// This worker's number among all workers (for the aggregator).
    index: usize,
    /// See [`UdpConfig::test_slow_answer`].
    slow: Duration,
    /// See [`UdpConfig::coalesce`].
    coalesce: Duration,
    /// See [`UdpConfig::transfers`].
    transfers: Option<Arc<crate::xfr::Transfers>>,
    /// Its counters.
    stats: Arc<Stats>,
    /// Shutdown flag.
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// The receive-answer-send loop.
    ///
    /// Receive coalescing, like a NIC's interrupt moderation: most of a
    /// UDP server's CPU is the kernel's per-call and per-wakeup work, not
    /// the answers (about 70% in profiles). Under load that does not fill
    /// the batches, a worker that calls `recvmmsg` again at once gets a
    /// few packets per call and sleeps and wakes for each few. So after a
    /// batch of 2 to `BATCH / 2 - 1` packets it first waits `coalesce`
    /// and lets packets gather. A lone packet and a batch at least half
    /// full (the queue is not draining anyway) skip the wait.
    ///
    /// The wait buys CPU with latency, which pays only when CPU is short:
    /// it happens only while the worker is busy (its [`Load`] over the
    /// last window above [`Load::BUSY`]). At light and moderate load every
    /// packet is received as soon as it arrives.
    fn run(self) {
        let mut batch = Batch::new();
        let mut peeks: Vec<Peek> = (0..BATCH).map(|_| Peek::default()).collect();
        // What each query of the batch was answered with (and whom), and
        // where the rate limiter accounts it.
        let mut answered: [Option<(Outcome, IpAddr)>; BATCH] = [None; BATCH];
        let mut accounts: [Option<Account>; BATCH] = [None; BATCH];
        // Where each query was counted per zone, and which were shed.
        let mut slots: [Option<SlotRef>; BATCH] = [None; BATCH];
        let mut shed = [false; BATCH];
        let mut traffic = self.traffic.as_ref().map(|_| {
            let mut t = WorkerTraffic::new(Instant::now());
            t.set_kernel_shedding(self.kernel_shed);
            t
        });
        let fd = self.socket.as_raw_fd();
        let mut last = BATCH;
        let mut load = Load::new(Instant::now());
        // The socket's drop counter and the thread's CPU time when the
        // traffic window was last closed.
        let mut probes = (crate::sockfilter::drops(fd), thread_cpu());
        // Its quarantine socket, while the address has one.
        let mut split = self.quarantine.clone().map(Split::new);
        // A sleep of 50 us lasts 100 us with the default timer slack of
        // 50 us; ask for 1 us so the wait is the one configured.
        set_timer_slack_ns(1_000);
        while !self.stop.load(Ordering::Relaxed) {
            // The coalescing sleep counts as waiting: it is time not spent
            // working. Counted as neither, it replaced the wait in
            // `recvmmsg` it caused, so the share of working time rose and
            // kept coalescing on once it had started, at any load.
            let waiting = Instant::now();
            let quarantined = split
                .as_mut()
                .and_then(|s| s.refresh(self.local, self.index));
            let received = match quarantined {
                None => {
                    if !self.coalesce.is_zero() && last > 1 && last < BATCH / 2 && load.busy() {
                        std::thread::sleep(self.coalesce);
                    }
                    batch.receive(fd, libc::MSG_WAITFORONE).map(|n| (n, fd))
                }
                Some(q) => {
                    let draining = split.as_ref().is_some_and(|s| s.draining);
                    receive_split(&mut batch, fd, q, draining)
                }
            };
            let started = Instant::now();
            load.idle(started.saturating_duration_since(waiting), started);
            let (n, from) = match received {
                // The quarantine socket read empty while draining: done.
                Ok((0, _)) => {
                    if let Some(s) = &mut split {
                        s.hand_back(self.local);
                    }
                    continue;
                }
                Ok(received) => received,
                Err(e) if is_transient(&e) => {
                    self.roll(&mut traffic, started, &mut probes, &mut split);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "udp receive failed");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            bump(&self.stats.received, n as u64);
            if from != fd {
                bump(&self.stats.quarantined, n as u64);
                if let Some(s) = &mut split {
                    s.window += n as u64;
                }
            }
            last = n;
            let zones = self.zones.load();
            let now = unix_seconds();
            // Start the cache misses of every query before answering any
            // (see `candor_answer::Peek`).
            Peek::prepare(&mut peeks[..n], &zones, (0..n).map(|i| batch.query(i)));
            let answering = Instant::now();
            for (i, peek) in peeks[..n].iter().enumerate() {
                // Counted per zone, and shed before any answering if the
                // zone is over its fair share of an overloaded worker.
                (slots[i], shed[i]) = match &mut traffic {
                    Some(t) => {
                        let zone = peek.zone().and_then(|p| Some((zones.id(p)?, p as u32)));
                        let (slot, admit) = t.admit(zone);
                        (Some(slot), !admit)
                    }
                    None => (None, false),
                };
                if shed[i] {
                    answered[i] = None;
                    continue;
                }
                let client = batch.client(i);
                let (query, resp) = batch.slot(i);
                answered[i] = query.and_then(|msg| {
                    let request = Request {
                        msg,
                        transport: Transport::Udp,
                        client,
                        now,
                    };
                    let outcome = match &self.limiter {
                        // What the limiter will hold back is not written
                        // in full (a signed zone's denial proofs).
                        Some(limiter) => {
                            // Asked only by a signed zone's NXDOMAIN; the
                            // same rate as the debit below applies.
                            let limited = |key, cookie| {
                                let tightened = match (&traffic, slots[i]) {
                                    (Some(t), Some(slot)) => t.tightened(slot),
                                    _ => false,
                                };
                                limiter.would_limit(client, key, cookie, now, tightened)
                            };
                            peek.respond_limited(&zones, &self.config, &request, resp, &limited)?
                        }
                        None => peek.respond(&zones, &self.config, &request, resp)?,
                    };
                    Some((outcome, client))
                });
                if let (Some(t), Some(slot), Some((outcome, _))) =
                    (&mut traffic, slots[i], answered[i])
                    && outcome.rcode == Rcode::NXDOMAIN
                {
                    t.nxdomain(slot);
                }
                if !self.slow.is_zero() {
                    spin(self.slow);
                }
            }
            drop(zones);
            // The rate limiter's accounts, in two passes for the same
            // reason: locate every one (starting its cache miss), then
            // debit them (see `candor_guard::rrl`).
            if let Some(limiter) = &self.limiter {
                for (account, answer) in accounts.iter_mut().zip(&answered[..n]) {
                    *account = answer.and_then(|(outcome, client)| {
                        limiter.account(client, outcome.key, outcome.cookie)
                    });
                }
            }
            let mut out = 0;
            for i in 0..n {
                let Some((outcome, client)) = answered[i] else {
                    if shed[i] {
                        bump(&self.stats.shed, 1);
                    } else {
                        bump(&self.stats.dropped, 1);
                    }
                    continue;
                };
                // The answer path declines transfers and signed queries
                // with NOTAUTH (and nothing else Candor serves gets it):
                // one compare keeps every other query off the transfer side.
                let (query, resp) = batch.slot(i);
                if outcome.rcode == Rcode::NOTAUTH
                    && let Some(t) = &self.transfers
                    && let Some(msg) = query
                    && let Some(answer) = crate::xfr::answer_udp(t, msg, client, &self.config, resp)
                {
                    match answer {
                        Some(len) => {
                            self.stats.count_response(&resp[..len]);
                            batch.queue_reply(i, out, len);
                            out += 1;
                        }
                        None => bump(&self.stats.dropped, 1),
                    }
                    continue;
                }
                if outcome.rcode == Rcode::REFUSED
                    && let Some(t) = &self.transfers
                    && let Some(msg) = query
                {
                    crate::xfr::servfail_if_expired(t, msg, &mut resp[..outcome.len]);
                }
                self.stats.count_cookie(outcome.cookie);
                let verdict = match (&self.limiter, accounts[i]) {
                    // A zone under attack gets a tighter limit (see
                    // `candor_traffic::Traffic::tightened`).
                    (Some(limiter), Some(account)) => match (&traffic, slots[i]) {
                        (Some(t), Some(slot)) if t.tightened(slot) => {
                            limiter.debit_tightened(account, now)
                        }
                        _ => limiter.debit(account, now),
                    },
                    _ => Verdict::Send,
                };
                // A response written without its proofs because the
                // limiter would hold it back is never sent as it is: if
                // the debit says send (a second passed since), it goes
                // as a slip, and the client asks again over TCP.
                let verdict = match verdict {
                    Verdict::Send if outcome.proofless => {
                        Verdict::Slip(Slip::for_cookie(outcome.cookie))
                    }
                    v => v,
                };
                let len = match verdict {
                    Verdict::Send => outcome.len,
                    // A zone under attack or held to its fair share gets
                    // no slips: they cost a saturated worker more than
                    // the answers (see `WorkerTraffic::no_slip`).
                    Verdict::Slip(_) if matches!((&traffic, slots[i]), (Some(t), Some(slot)) if t.no_slip(slot)) =>
                    {
                        bump(&self.stats.rrl_dropped, 1);
                        if let (Some(t), Some(slot)) = (&mut traffic, slots[i]) {
                            t.rrl(slot);
                        }
                        continue;
                    }
                    Verdict::Slip(how) => {
                        bump(&self.stats.rrl_slipped, 1);
                        if let (Some(t), Some(slot)) = (&mut traffic, slots[i]) {
                            t.rrl(slot);
                        }
                        let request = Request {
                            msg: query.unwrap_or_default(),
                            transport: Transport::Udp,
                            client,
                            now,
                        };
                        match slip(&self.config, &request, &outcome, how, resp) {
                            Some(len) => len,
                            None => continue,
                        }
                    }
                    Verdict::Drop => {
                        bump(&self.stats.rrl_dropped, 1);
                        if let (Some(t), Some(slot)) = (&mut traffic, slots[i]) {
                            t.rrl(slot);
                        }
                        continue;
                    }
                };
                self.stats.count_response(&resp[..len]);
                batch.queue_reply(i, out, len);
                out += 1;
            }
            let mut sent = 0;
            while sent < out {
                match batch.send(from, sent, out) {
                    Ok(k) => sent += k.max(1),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        // Skip the packet that failed (e.g. unreachable
                        // destination); the rest of the batch still goes out.
                        bump(&self.stats.dropped, 1);
                        sent += 1;
                    }
                }
            }
            let finished = Instant::now();
            let worked = finished.saturating_duration_since(started);
            load.work(worked, finished);
            if let Some(t) = &mut traffic {
                t.work(worked);
                t.answering(finished.saturating_duration_since(answering));
            }
            self.roll(&mut traffic, finished, &mut probes, &mut split);
            // One observation per batch, weighted by its size (see
            // `LatencyHistogram`): no clock read or counter per packet.
            let us = u64::try_from(worked.as_micros()).unwrap_or(u64::MAX);
            self.stats.latency.observe(us, n as u64);
        }
    }

    /// Closes the worker's traffic window if it is due, and folds it into
    /// the shared counters (every 100 ms: one lock, never per packet), and
    /// takes the zones whose responses are rate limited more tightly.
    /// Logs when the worker starts or stops shedding (at most every
    /// 100 ms, never per packet).
    fn roll(
        &self,
        traffic: &mut Option<WorkerTraffic>,
        now: Instant,
        probes: &mut (Option<u32>, Option<Duration>),
        split: &mut Option<Split>,
    ) {
        if let (Some(t), Some(shared)) = (traffic, &self.traffic) {
            let before = t.limited();
            if t.window_closes(now) {
                // What the kernel dropped (its filter, or a full queue).
                let counter = crate::sockfilter::drops(self.socket.as_raw_fd());
                if let (Some(new), Some(old)) = (counter, probes.0) {
                    t.count_kernel_drops(u64::from(new.wrapping_sub(old)));
                }
                // And the CPU it used, receiving included.
                let cpu = thread_cpu();
                if let (Some(new), Some(old)) = (cpu, probes.1) {
                    t.count_cpu(new.saturating_sub(old));
                }
                *probes = (counter, cpu);
                // And what its quarantine socket dropped; and the
                // quarantine closes once nothing has been shed for a while.
                if let Some(s) = split.as_mut()
                    && s.socket.is_some()
                {
                    let dropped = s.drops();
                    t.count_kernel_drops(dropped);
                    // Still flooded through the quarantine, shed or not (a
                    // worker whose budget holds what it reads stops
                    // shedding while its quarantine socket overflows):
                    // keep steering.
                    let arrived = std::mem::take(&mut s.window) + dropped;
                    if let Err(e) = s.shared.tick(now, arrived) {
                        tracing::warn!(worker = self.index, error = %e, "cannot stop steering to the quarantine sockets");
                    }
                }
            }
            if let Some(report) = t.roll(now) {
                let zones = self.zones.load();
                bump(&self.stats.kernel_shed, report.kernel_shed);
                shared.fold(self.index, report, &zones);
                let (limited, capacity) = (report.limited, report.capacity);
                t.set_tightened(&shared.tightened());
                if let Some(plan) = t.kernel_plan() {
                    let rules = kernel_rules(plan, &zones);
                    if let Some(s) = split.as_mut() {
                        s.rules = rules.clone();
                        if let Some(q) = &s.socket
                            && let Err(e) = attach_filter(self.index, q.as_raw_fd(), &rules)
                        {
                            tracing::warn!(worker = self.index, error = %e, "cannot filter the quarantine socket");
                        }
                        if let Err(e) = s.shared.update(self.local, &rules, now) {
                            tracing::warn!(
                                worker = self.index,
                                error = %e,
                                "cannot steer shed zones to quarantine sockets"
                            );
                        }
                    }
                    if let Err(e) = attach_filter(self.index, self.socket.as_raw_fd(), &rules) {
                        tracing::warn!(
                            worker = self.index,
                            error = %e,
                            "cannot shed in the kernel (socket filter); shedding in the worker only"
                        );
                        t.set_kernel_shedding(false);
                        let _ = t.kernel_plan();
                    }
                }
                match (before, limited) {
                    (0, n) if n > 0 => tracing::info!(
                        worker = self.index,
                        zones = n,
                        budget_per_second = ?capacity,
                        "overloaded: zones over their fair share are shed"
                    ),
                    (n, 0) if n > 0 => tracing::info!(worker = self.index, "shedding stopped"),
                    _ => {}
                }
            }
        }
    }
}

/// Attaches the socket filter for `rules` to socket `fd` of worker
/// `worker`, or removes it when there are none. Logs what changed (at most
/// every 100 ms, never per packet).
fn attach_filter(worker: usize, fd: i32, rules: &[Rule]) -> io::Result<()> {
    match candor_traffic::filter::program(rules) {
        Some(program) => {
            crate::sockfilter::attach(fd, &program)?;
            let shed = rules.iter().filter(|r| r.admit != ALWAYS).count();
            tracing::debug!(
                worker,
                zones = shed,
                instructions = program.len(),
                "kernel shedding: socket filter attached"
            );
        }
        None => {
            crate::sockfilter::detach(fd)?;
            tracing::debug!(worker, "kernel shedding: socket filter removed");
        }
    }
    Ok(())
}

/// A worker's side of its address's [`Quarantine`].
struct Split {
    /// The address's quarantine.
    shared: Arc<Quarantine>,
    /// The generation of the assignment last read.
    generation: u64,
    /// The worker's quarantine socket, while it has one.
    socket: Option<Arc<UdpSocket>>,
    /// Whether nothing is steered into it any more.
    draining: bool,
    /// Its drop counter when last read.
    drops: Option<u32>,
    /// Packets read from it since the last window closed.
    window: u64,
    /// The worker's kernel rules, for the socket filter of a quarantine
    /// socket it picks up.
    rules: Vec<Rule>,
}

impl Split {
    /// A worker's side of `shared`, with no socket yet.
    fn new(shared: Arc<Quarantine>) -> Split {
        Split {
            generation: shared.generation(),
            shared,
            socket: None,
            draining: false,
            drops: None,
            window: 0,
            rules: Vec::new(),
        }
    }

    /// Rereads the assignment of worker `local` (numbered `index` among
    /// all workers) if it changed (one atomic load per batch otherwise);
    /// the quarantine socket's descriptor, if any.
    #[inline]
    fn refresh(&mut self, local: usize, index: usize) -> Option<i32> {
        let generation = self.shared.generation();
        if generation != self.generation {
            self.generation = generation;
            let assignment = self.shared.socket(local);
            self.draining = assignment.draining;
            let same = match (&self.socket, &assignment.socket) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                self.socket = assignment.socket;
                if let Some(q) = &self.socket {
                    let fd = q.as_raw_fd();
                    self.drops = crate::sockfilter::drops(fd);
                    if let Err(e) = attach_filter(index, fd, &self.rules) {
                        tracing::warn!(worker = index, error = %e, "cannot filter the quarantine socket");
                    }
                }
            }
        }
        self.socket.as_ref().map(|q| q.as_raw_fd())
    }

    /// Packets the quarantine socket dropped since the last call (its
    /// filter, or its queue full).
    fn drops(&mut self) -> u64 {
        let Some(q) = &self.socket else {
            return 0;
        };
        let now = crate::sockfilter::drops(q.as_raw_fd());
        let n = match (now, self.drops) {
            (Some(new), Some(old)) => u64::from(new.wrapping_sub(old)),
            _ => 0,
        };
        self.drops = now;
        n
    }

    /// The quarantine socket read empty while draining: gives it back.
    fn hand_back(&mut self, local: usize) {
        self.socket = None;
        self.drops = None;
        self.shared.drained(local);
    }
}

/// One receive for a worker with a quarantine socket `q`: its own socket
/// `main` first, then `q`, without blocking; if both are empty, waits for
/// either (up to [`POLL`]) and tries once more. `Ok((n, fd))`: `n` packets
/// from `fd`; `Ok((0, q))`: `q` is empty and `draining` (hand it back).
fn receive_split(batch: &mut Batch, main: i32, q: i32, draining: bool) -> io::Result<(usize, i32)> {
    for attempt in 0..2 {
        for fd in [main, q] {
            match batch.receive(fd, libc::MSG_DONTWAIT) {
                Ok(n) if n > 0 => return Ok((n, fd)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if draining {
            return Ok((0, q));
        }
        if attempt == 0 {
            let mut fds = [main, q].map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            // SAFETY: two live `pollfd`s, the count passed.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, POLL.as_millis() as libc::c_int) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            if rc == 0 {
                break;
            }
        }
    }
    Err(io::ErrorKind::WouldBlock.into())
}

/// The socket filter's rules for a worker's kernel plan: each shed zone's
/// apex with its share, after accepting rules for the served zones below
/// it (their queries end in its apex too). A zone that has moved in the
/// set, or has more zones below it than a program holds, gets no rule (the
/// worker still sheds it). Scans every apex for the zones below, once per
/// new plan (a new plan comes at most every 100 ms, usually when an
/// attack starts or ends).
fn kernel_rules(plan: &[KernelRule], zones: &ZoneSet) -> Vec<Rule> {
    let mut rules = Vec::new();
    for shed in plan {
        let pos = shed.pos as usize;
        let Some(zone) = zones.zones().get(pos) else {
            continue;
        };
        if zones.id(pos) != Some(shed.id) {
            continue;
        }
        let apex = zone.apex().as_wire().to_ascii_lowercase();
        if !filter::usable(&apex) {
            continue;
        }
        let below: Vec<Vec<u8>> = zones
            .zones()
            .iter()
            .map(|z| z.apex().as_wire())
            .filter(|name| filter::is_below(name, &apex))
            .take(filter::MAX_RULES)
            .map(<[u8]>::to_ascii_lowercase)
            .collect();
        if rules.len() + below.len() + 1 > filter::MAX_RULES
            || below.iter().any(|b| !filter::usable(b))
        {
            continue;
        }
        rules.extend(below.into_iter().map(|apex| Rule {
            apex,
            admit: ALWAYS,
        }));
        rules.push(Rule {
            apex,
            admit: shed.admit,
        });
    }
    rules
}

/// Busy-waits for `d` (the test-only slow worker: it must cost CPU time,
/// as answering does, not sleep).
#[cold]
fn spin(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// How busy a worker has been: the share of wall time it spent working
/// (answering and sending) rather than waiting in `recvmmsg` or sleeping
/// to coalesce, over windows of [`Load::WINDOW`]. Two clock reads per
/// batch (vDSO, ~20 ns each) are its whole cost.
struct Load {
    /// Start of the current window.
    window_start: Instant,
    /// Time spent working in the current window.
    busy: Duration,
    /// Time spent waiting for packets in the current window.
    waiting: Duration,
    /// Whether the last complete window was busy.
    was_busy: bool,
}

impl Load {
    /// The length of a measuring window.
    const WINDOW: Duration = Duration::from_millis(10);

    /// The share of working time above which the worker counts as busy
    /// (in percent). Below it the CPU saved by coalescing is not needed,
    /// and latency wins.
    const BUSY: u32 = 50;

    /// A fresh measurement starting at `now`.
    fn new(now: Instant) -> Load {
        Load {
            window_start: now,
            busy: Duration::ZERO,
            waiting: Duration::ZERO,
            was_busy: false,
        }
    }

    /// Counts time spent waiting for packets.
    fn idle(&mut self, spent: Duration, now: Instant) {
        self.waiting += spent;
        self.roll(now);
    }

    /// Counts time spent working.
    fn work(&mut self, spent: Duration, now: Instant) {
        self.busy += spent;
        self.roll(now);
    }

    /// Closes the window once it is long enough.
    fn roll(&mut self, now: Instant) {
        if now.saturating_duration_since(self.window_start) < Self::WINDOW {
            return;
        }
        let total = self.busy + self.waiting;
        self.was_busy = !total.is_zero()
            && self.busy.as_nanos() * 100 > total.as_nanos() * u128::from(Self::BUSY);
        self.busy = Duration::ZERO;
        self.waiting = Duration::ZERO;
        self.window_start = now;
    }

    /// Whether the last window was busy.
    fn busy(&self) -> bool {
        self.was_busy
    }
}

/// The CPU time (user and system) the calling thread has used, if the
/// clock can be read: one system call, made once per 100 ms window.
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(ts.tv_sec).ok()?,
        u32::try_from(ts.tv_nsec).ok()?,
    ))
}

/// Sets this thread's timer slack (how late the kernel may wake it from a
/// sleep, to batch wake-ups). Failure only makes sleeps less precise.
fn set_timer_slack_ns(ns: libc::c_ulong) {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and affects only
    // the calling thread; the unused arguments are zero as required.
    let _ = unsafe {
        libc::prctl(
            libc::PR_SET_TIMERSLACK,
            ns,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
}

/// The time in whole seconds since the Unix epoch (for server cookies and
/// the rate limiter's accounts), read once per batch; 0 before 1970.
fn unix_seconds() -> u32 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Errors that just mean "nothing arrived yet".
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

//----------- Batch: the recvmmsg/sendmmsg buffers ----------------------------

/// Receive and transmit buffers plus the kernel structures pointing at
/// them. Boxed once per worker and reused for every batch.
struct Batch {
    /// Received packets.
    rx: Box<[[u8; RX_SIZE]; BATCH]>,
    /// Responses.
    tx: Box<[[u8; TX_SIZE]; BATCH]>,
    /// Source addresses of received packets.
    addrs: Box<[libc::sockaddr_storage; BATCH]>,
    /// Receive message headers.
    rx_hdrs: Box<[libc::mmsghdr; BATCH]>,
    /// Receive iovecs.
    rx_iov: Box<[libc::iovec; BATCH]>,
    /// Send message headers (filled by `queue_reply`).
    tx_hdrs: Box<[libc::mmsghdr; BATCH]>,
    /// Send iovecs.
    tx_iov: Box<[libc::iovec; BATCH]>,
    /// Lengths of received packets (0 for truncated ones).
    lens: [usize; BATCH],
}

/// Plain C structs for which all-zero bytes are a valid value, so that
/// [`zeroed`] can make one. Some libc structs have private padding fields
/// (`sockaddr_storage` everywhere, `msghdr` on musl), so they cannot be
/// built field by field.
///
/// # Safety
///
/// Implement it only for types whose fields are all integers, raw pointers
/// (null is a valid raw pointer) or arrays and structs of those: no
/// references, `NonNull`, function pointers, `bool`s or enums.
unsafe trait Zeroable: Copy {}

// SAFETY: `sockaddr_storage` is an address family (an integer) followed by
// integer padding.
unsafe impl Zeroable for libc::sockaddr_storage {}
// SAFETY: `mmsghdr` is a `msghdr` (raw pointers, lengths, flags and
// padding, all integers or raw pointers) and an unsigned length.
unsafe impl Zeroable for libc::mmsghdr {}
// SAFETY: `iovec` is a raw pointer and a length.
unsafe impl Zeroable for libc::iovec {}

/// A zeroed value of one of the libc structs the batch hands the kernel.
fn zeroed<T: Zeroable>() -> T {
    // SAFETY: `Zeroable` is implemented only for types for which all-zero
    // bytes are a valid value.
    unsafe { MaybeUninit::<T>::zeroed().assume_init() }
}

impl Batch {
    /// Allocates the buffers.
    fn new() -> Batch {
        Batch {
            rx: vec![[0u8; RX_SIZE]; BATCH]
                .into_boxed_slice()
                .try_into()
                .unwrap_or_else(|_| unreachable!()),
            tx: vec![[0u8; TX_SIZE]; BATCH]
                .into_boxed_slice()
                .try_into()
                .unwrap_or_else(|_| unreachable!()),
            addrs: Box::new([zeroed(); BATCH]),
            rx_hdrs: Box::new([zeroed(); BATCH]),
            rx_iov: Box::new([zeroed(); BATCH]),
            tx_hdrs: Box::new([zeroed(); BATCH]),
            tx_iov: Box::new([zeroed(); BATCH]),
            lens: [0; BATCH],
        }
    }

    /// Receives up to `BATCH` packets; with `MSG_WAITFORONE` in `flags`,
    /// blocking until at least one arrives or the socket timeout passes,
    /// with `MSG_DONTWAIT` not at all.
    fn receive(&mut self, fd: i32, flags: libc::c_int) -> io::Result<usize> {
        for i in 0..BATCH {
            self.rx_iov[i] = libc::iovec {
                iov_base: self.rx[i].as_mut_ptr().cast(),
                iov_len: RX_SIZE,
            };
            let hdr = &mut self.rx_hdrs[i].msg_hdr;
            hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &mut self.rx_iov[i];
            hdr.msg_iovlen = 1;
            hdr.msg_control = std::ptr::null_mut();
            hdr.msg_controllen = 0;
            hdr.msg_flags = 0;
            self.rx_hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points at live buffers owned by `self`
        // (packet buffer, iovec, address storage) with correct lengths, and
        // `self` is borrowed mutably for the whole call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.rx_hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            let truncated = self.rx_hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            self.lens[i] = if truncated {
                0
            } else {
                self.rx_hdrs[i].msg_len as usize
            };
        }
        Ok(n)
    }

    /// The bytes received in slot `i` (empty if truncated).
    fn query(&self, i: usize) -> &[u8] {
        &self.rx[i][..self.lens[i]]
    }

    /// The source address of the packet in slot `i` (the unspecified
    /// address for a family other than IPv4 and IPv6, which a UDP socket
    /// of either never reports).
    fn client(&self, i: usize) -> IpAddr {
        let storage = &self.addrs[i];
        match libc::c_int::from(storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a `sockaddr_in` here, as the
                // family says; `sockaddr_storage` is at least as large and
                // as aligned as every socket address type.
                let sin = unsafe {
                    &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for a `sockaddr_in6`.
                let sin6 = unsafe {
                    &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
            }
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// The query (if usable) and response buffer of slot `i`.
    fn slot(&mut self, i: usize) -> (Option<&[u8]>, &mut [u8]) {
        let len = self.lens[i];
        let query = (len > 0).then(|| &self.rx[i][..len]);
        (query, &mut self.tx[i][..])
    }

    /// Queues the response in slot `i` (length `len`) as message `out`.
    fn queue_reply(&mut self, i: usize, out: usize, len: usize) {
        self.tx_iov[out] = libc::iovec {
            iov_base: self.tx[i].as_mut_ptr().cast(),
            iov_len: len,
        };
        let src = &self.rx_hdrs[i].msg_hdr;
        let hdr = &mut self.tx_hdrs[out].msg_hdr;
        hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
        hdr.msg_namelen = src.msg_namelen;
        hdr.msg_iov = &mut self.tx_iov[out];
        hdr.msg_iovlen = 1;
        hdr.msg_control = std::ptr::null_mut();
        hdr.msg_controllen = 0;
        hdr.msg_flags = 0;
    }

    /// Sends queued messages `from..to`; returns how many went out.
    fn send(&mut self, fd: i32, from: usize, to: usize) -> io::Result<usize> {
        // SAFETY: headers `from..to` were filled by `queue_reply` and point
        // at buffers owned by `self`, which is borrowed for the whole call.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                self.tx_hdrs[from..to].as_mut_ptr(),
                (to - from) as libc::c_uint,
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Load;

    /// Feeds `windows` windows in which the worker works `busy_us` and
    /// waits `idle_us` per batch; returns whether it counts as busy.
    fn after(busy_us: u64, idle_us: u64, windows: u32) -> bool {
        let start = Instant::now();
        let mut now = start;
        let mut load = Load::new(start);
        let end = start + Load::WINDOW * windows;
        while now < end {
            now += Duration::from_micros(idle_us);
            load.idle(Duration::from_micros(idle_us), now);
            now += Duration::from_micros(busy_us);
            load.work(Duration::from_micros(busy_us), now);
        }
        load.busy()
    }

    #[test]
    fn coalescing_follows_the_share_of_time_spent_working() {
        // Light load: a query every 100 us taking 5 us.
        assert!(!after(5, 95, 3));
        // Moderate load: 40% working.
        assert!(!after(40, 60, 3));
        // Heavy load: 80% working.
        assert!(after(80, 20, 3));
        // Nothing decided before the first window closes.
        assert!(!after(80, 20, 0));
    }

    #[test]
    fn the_decision_follows_the_last_window_only() {
        let start = Instant::now();
        let mut load = Load::new(start);
        let mut now = start;
        for _ in 0..200 {
            now += Duration::from_micros(90);
            load.work(Duration::from_micros(90), now);
            now += Duration::from_micros(10);
            load.idle(Duration::from_micros(10), now);
        }
        assert!(load.busy());
        for _ in 0..200 {
            now += Duration::from_micros(90);
            load.idle(Duration::from_micros(90), now);
            now += Duration::from_micros(10);
            load.work(Duration::from_micros(10), now);
        }
        assert!(!load.busy(), "load fell: latency wins again");
    }
}
