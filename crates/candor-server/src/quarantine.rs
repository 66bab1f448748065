//! Quarantine sockets: while some zone is shed, the kernel steers its
//! queries into sockets of their own, so a flood never shares a queue
//! with the other zones' queries.
//!
//! Kernel shedding (`candor_traffic::filter`) drops most of a flooded
//! zone's packets before they are queued, but what it admits still fills
//! the worker's one socket queue, and a burst of it (or a moment when the
//! worker is not scheduled) overflows that queue: the kernel then drops
//! whatever arrives, legitimate queries for other zones included. That
//! was the last 0.1-0.3% of their answers lost under a saturating flood.
//!
//! So each address's `SO_REUSEPORT` group gets, while some worker sheds a
//! zone, one more socket per worker (bound after the workers' own, so
//! their indexes in the group are `workers..2 * workers`), and a steering
//! program (`candor_traffic::filter::steering`) sends the shed zones'
//! queries there. A worker reads its own socket first and its quarantine
//! socket with what time is left (`udp::Worker::run`): the other zones'
//! queries wait behind nothing but each other, and what overflows is the
//! flood's own queue.
//!
//! When no worker has shed anything, and no quarantine socket has been
//! sent [`FLOODED`] packets in a window, for [`LINGER`] (a worker's
//! shedding pauses for a window now and then during a flood, or stops
//! while the quarantine socket overflows, and a quarantine that closed
//! then let the flood back into everyone's queue), the program
//! keeps everything on the workers' own sockets, each worker drains its quarantine socket, and
//! the last one done closes them and removes the program: a server that
//! is not shedding runs exactly as before (no program, one socket per
//! worker). Nothing here runs per packet: a worker calls in when its
//! kernel plan changes (at most every 100 ms, in practice when an attack
//! starts or ends) and reads one atomic per batch.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use candor_traffic::filter::{self, ALWAYS, Rule};

/// How long steering outlasts the last shed rule (and the last window in
/// which a quarantine socket still had [`FLOODED`] packets).
pub(crate) const LINGER: Duration = Duration::from_secs(3);

/// Packets per 100 ms window (10,000 a second) that one worker's
/// quarantine socket must still be sent for steering to go on while no
/// worker sheds: a worker whose budget holds what it reads may stop
/// shedding while the flood still overflows its quarantine socket, and
/// ending the quarantine then would put the flood back in front of
/// everyone.
pub(crate) const FLOODED: u64 = 1_000;

/// The quarantine of one address's workers.
pub(crate) struct Quarantine {
    /// The address the group is bound to.
    addr: SocketAddr,
    /// Receive buffer asked for each quarantine socket.
    recv_buffer: usize,
    /// A descriptor of the group (a duplicate of the first worker's
    /// socket), through which programs are attached.
    anchor: UdpSocket,
    /// Workers in the group.
    workers: usize,
    /// Bumped whenever a worker's quarantine socket or the draining state
    /// changes, so each worker rereads [`Quarantine::socket`].
    generation: AtomicU64,
    /// Everything else, changed only under the lock.
    state: Mutex<State>,
}

/// The shared state of a [`Quarantine`].
#[derive(Default)]
struct State {
    /// Each worker's current kernel rules.
    plans: Vec<Vec<Rule>>,
    /// The rules of the steering program attached (empty: none steered).
    steered: Vec<Rule>,
    /// The quarantine sockets, one per worker, while they exist: exactly
    /// while a steering program is attached to the group (one that steers
    /// nothing while they drain), or the kernel's hash would send a share
    /// of every query to them.
    sockets: Vec<Arc<UdpSocket>>,
    /// Whether each worker has emptied its quarantine socket since the
    /// steering stopped.
    drained: Vec<bool>,
    /// Since when no worker sheds anything while `steered` still steers.
    idle_since: Option<Instant>,
}

/// What a worker reads besides its own socket.
pub(crate) struct Assignment {
    /// Its quarantine socket, if any.
    pub(crate) socket: Option<Arc<UdpSocket>>,
    /// Whether nothing is steered into it any more: once it reads empty,
    /// the worker hands it back ([`Quarantine::drained`]).
    pub(crate) draining: bool,
}

impl Quarantine {
    /// The quarantine of the group that `anchor` (a worker's socket bound
    /// to `addr`) belongs to, for `workers` workers.
    pub(crate) fn new(
        addr: SocketAddr,
        recv_buffer: usize,
        anchor: &UdpSocket,
        workers: usize,
    ) -> io::Result<Quarantine> {
        Ok(Quarantine {
            addr,
            recv_buffer,
            anchor: anchor.try_clone()?,
            workers,
            generation: AtomicU64::new(0),
            state: Mutex::new(State {
                plans: vec![Vec::new(); workers],
                drained: vec![true; workers],
                ..State::default()
            }),
        })
    }

    /// The generation of the assignments: a worker rereads its own
    /// ([`Quarantine::socket`]) when this changes. One relaxed load.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Worker `worker`'s quarantine socket and whether it is draining.
    pub(crate) fn socket(&self, worker: usize) -> Assignment {
        let state = self.lock();
        Assignment {
            socket: state.sockets.get(worker).cloned(),
            draining: state.steered.is_empty(),
        }
    }

    /// Worker `worker`'s kernel rules changed to `rules` (at `now`): steers
    /// what the workers shed, together, into the quarantine (binding its
    /// sockets first); when no worker sheds anything, keeps steering as it
    /// was until [`Quarantine::tick`] finds that lasted [`LINGER`].
    pub(crate) fn update(&self, worker: usize, rules: &[Rule], now: Instant) -> io::Result<()> {
        let mut state = self.lock();
        if let Some(plan) = state.plans.get_mut(worker) {
            *plan = rules.to_vec();
        }
        let wanted = union(&state.plans);
        if wanted.is_empty() {
            if !state.steered.is_empty() && state.idle_since.is_none() {
                state.idle_since = Some(now);
            }
            return Ok(());
        }
        state.idle_since = None;
        if wanted == state.steered {
            return Ok(());
        }
        self.steer(&mut state, wanted)
    }

    /// Called by the workers every window (100 ms) with the packets their
    /// quarantine socket was sent in it (read or dropped): stops steering
    /// once no worker has shed anything, nor had [`FLOODED`] packets in a
    /// window, for [`LINGER`].
    pub(crate) fn tick(&self, now: Instant, arrived: u64) -> io::Result<()> {
        let mut state = self.lock();
        if arrived >= FLOODED && state.idle_since.is_some() {
            state.idle_since = Some(now);
            return Ok(());
        }
        match state.idle_since {
            Some(since) if now.saturating_duration_since(since) >= LINGER => {
                state.idle_since = None;
                self.steer(&mut state, Vec::new())
            }
            _ => Ok(()),
        }
    }

    /// Attaches the steering program for `wanted` (binding the quarantine
    /// sockets first), or, when it is empty, the one that steers nothing
    /// and starts the draining.
    fn steer(&self, state: &mut State, wanted: Vec<Rule>) -> io::Result<()> {
        if wanted.is_empty() {
            // Nothing more goes in; the workers drain what is there.
            let program = filter::steering(&[], self.workers as u32);
            crate::sockfilter::attach_steering(self.anchor.as_raw_fd(), &program)?;
            state.steered.clear();
            state.drained = vec![false; self.workers];
            self.bump();
            tracing::debug!(addr = %self.addr, "quarantine: steering stopped, draining");
            return Ok(());
        }
        // Bound sockets join the group at once: they are kept only once the
        // program that steers around them is attached (dropped, they leave).
        let mut bound = Vec::new();
        if state.sockets.is_empty() {
            for _ in 0..self.workers {
                bound.push(Arc::new(crate::udp::udp_socket(
                    self.addr,
                    self.recv_buffer,
                )?));
            }
        }
        let program = filter::steering(&wanted, self.workers as u32);
        crate::sockfilter::attach_steering(self.anchor.as_raw_fd(), &program)?;
        if !bound.is_empty() {
            state.sockets = bound;
        }
        let zones = wanted.iter().filter(|r| r.admit != ALWAYS).count();
        state.steered = wanted;
        self.bump();
        tracing::info!(addr = %self.addr, zones, "quarantine: shed zones steered to their own sockets");
        Ok(())
    }

    /// Worker `worker` found its quarantine socket empty while draining and
    /// dropped it; the last one closes the sockets and removes the program.
    pub(crate) fn drained(&self, worker: usize) {
        let mut state = self.lock();
        if !state.steered.is_empty() {
            // Steering started again meanwhile: the worker picks its socket
            // up again at the next generation.
            self.bump();
            return;
        }
        if let Some(d) = state.drained.get_mut(worker) {
            *d = true;
        }
        if state.drained.iter().all(|d| *d) && !state.sockets.is_empty() {
            state.sockets.clear();
            if let Err(e) = crate::sockfilter::detach_steering(self.anchor.as_raw_fd()) {
                tracing::warn!(addr = %self.addr, error = %e, "quarantine: cannot remove the steering program");
            }
            tracing::info!(addr = %self.addr, "quarantine: closed, every zone back on the workers' own sockets");
        }
    }

    /// Tells every worker to reread its assignment.
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The state (a worker that panicked holding the lock leaves it usable:
    /// every change is complete before the lock is released).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The rules steered for every worker's `plans`: each shed zone once (by
/// apex), then the zones below them that stay, at most
/// [`filter::MAX_RULES`]; empty when no worker sheds anything.
fn union(plans: &[Vec<Rule>]) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for shed in [true, false] {
        for rule in plans.iter().flatten() {
            if (rule.admit != ALWAYS) == shed
                && !out.iter().any(|r| r.apex == rule.apex)
                && out.len() < filter::MAX_RULES
            {
                // The share does not matter to steering, only shed or not.
                out.push(Rule {
                    apex: rule.apex.clone(),
                    admit: if shed { 0 } else { ALWAYS },
                });
            }
        }
    }
    if out.iter().all(|r| r.admit == ALWAYS) {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use candor_wire::Name;

    use super::{ALWAYS, Quarantine, Rule, union};
    use crate::sockfilter::tests::{query, received};

    /// A rule for `apex` (a plain label string is enough here).
    fn rule(apex: &str, admit: u32) -> Rule {
        Rule {
            apex: apex.as_bytes().to_vec(),
            admit,
        }
    }

    /// The union steers each shed zone once whatever its share, keeps the
    /// zones below, and is empty when nothing is shed.
    #[test]
    fn the_union_steers_what_any_worker_sheds() {
        let plans = vec![
            vec![rule("sub.victim", ALWAYS), rule("victim", 5)],
            vec![rule("victim", 9), rule("other", 1)],
            vec![],
        ];
        assert_eq!(
            union(&plans),
            vec![
                rule("victim", 0),
                rule("other", 0),
                rule("sub.victim", ALWAYS)
            ]
        );
        assert!(union(&[vec![rule("sub.victim", ALWAYS)], vec![]]).is_empty());
        assert!(union(&[vec![], vec![]]).is_empty());
    }

    /// The whole cycle with the real kernel: two workers' sockets; a
    /// worker sheds a zone, so quarantine sockets are bound and the zone's
    /// queries land there (the others' on the workers' own); the shedding
    /// ends, so nothing more is quarantined; once both workers have
    /// drained, the quarantine sockets are closed and the program removed.
    #[test]
    fn a_shed_zone_is_quarantined_until_the_workers_drain() {
        let first =
            crate::udp::udp_socket("127.0.0.1:0".parse().expect("addr"), 1 << 16).expect("bind");
        let addr = first.local_addr().expect("addr");
        let workers = [first, crate::udp::udp_socket(addr, 1 << 16).expect("bind")];
        let q = Quarantine::new(addr, 1 << 16, &workers[0], 2).expect("quarantine");
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client.connect(addr).expect("connect");
        let victim = Rule {
            apex: Name::from_text("victim.test.", None)
                .expect("name")
                .as_wire()
                .to_vec(),
            admit: 1 << 30,
        };
        let now = std::time::Instant::now();
        let generation = q.generation();
        q.update(1, std::slice::from_ref(&victim), now)
            .expect("update");
        assert_ne!(q.generation(), generation);
        let (a, b) = (q.socket(0), q.socket(1));
        let (qa, qb) = (a.socket.expect("a socket"), b.socket.expect("a socket"));
        assert!(!a.draining && !b.draining);
        for id in 0..4 {
            client.send(&query(id, "x.victim.test.")).expect("send");
            client
                .send(&query(100 + id, "www.other.test."))
                .expect("send");
        }
        assert_eq!(received(&workers[0]), vec![100, 102]);
        assert_eq!(received(&workers[1]), vec![101, 103]);
        let mut quarantined = [received(&qa), received(&qb)].concat();
        quarantined.sort_unstable();
        assert_eq!(quarantined, vec![0, 1, 2, 3]);
        // The other worker sheds it too: the same program, nothing changes.
        let generation = q.generation();
        q.update(0, std::slice::from_ref(&victim), now)
            .expect("update");
        assert_eq!(q.generation(), generation);
        // Both stop: the zone stays quarantined for a while (a pause in
        // the shedding), then the workers drain and its queries come back.
        q.update(0, &[], now).expect("update");
        q.update(1, &[], now).expect("update");
        q.tick(now + super::LINGER / 2, 0).expect("tick");
        assert!(!q.socket(0).draining);
        client.send(&query(6, "x.victim.test.")).expect("send");
        let still = [received(&qa), received(&qb)].concat();
        assert_eq!(still, vec![6]);
        // A quarantine socket still flooded keeps it going, shed or not.
        q.tick(now + super::LINGER / 2, super::FLOODED)
            .expect("tick");
        q.tick(now + super::LINGER, 0).expect("tick");
        assert!(!q.socket(0).draining);
        let later = now + super::LINGER / 2 + super::LINGER;
        q.tick(later, super::FLOODED - 1).expect("tick");
        assert!(q.socket(0).draining);
        client.send(&query(7, "x.victim.test.")).expect("send");
        let back = [received(&workers[0]), received(&workers[1])].concat();
        assert_eq!(back, vec![7]);
        q.drained(0);
        assert_eq!(q.lock().sockets.len(), 2, "worker 1 still holds its socket");
        q.drained(1);
        assert!(q.lock().sockets.is_empty());
        drop((qa, qb));
        // The kernel's hash again, over the two workers' sockets only.
        for id in 20..30 {
            client.send(&query(id, "x.victim.test.")).expect("send");
        }
        let total = received(&workers[0]).len() + received(&workers[1]).len();
        assert_eq!(total, 10);
    }
}
