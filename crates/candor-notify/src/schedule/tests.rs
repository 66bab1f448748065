//! Timelines: subscribers whose receivers answer, fail or hang, driven by
//! simulated time.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

/// How a subscriber's receiver behaves.
#[derive(Clone, Copy, Debug)]
enum Receiver {
    /// Answers 200 after this many milliseconds.
    Answers(Millis),
    /// Accepts and never answers: the attempt fails after the timeout.
    Hangs,
    /// Answers 500 to the first `n` attempts, then 200 at once.
    FailsFirst(u32),
    /// Answers 404: a permanent failure.
    Gone,
    /// Answers 500 until this time, then 200.
    DownUntil(Millis),
}

/// The request timeout of the simulated deliverer.
const TIMEOUT: Millis = 10_000;

/// A simulated deliverer: the scheduler plus receivers and a clock.
struct Sim {
    scheduler: Scheduler<i64, i64>,
    now: Millis,
    receivers: HashMap<i64, Receiver>,
    attempts: HashMap<i64, u32>,
    /// Attempts in flight: (finishes at, job, queue, succeeds, kind).
    running: Vec<(Millis, i64, i64, bool, FailureKind)>,
    /// (time, queue, job) of every start.
    started: Vec<(Millis, i64, i64)>,
    /// (time, queue, job) of every delivery made.
    delivered: Vec<(Millis, i64, i64)>,
    /// Verdicts of failed attempts.
    verdicts: Vec<(Millis, i64, Verdict<i64>)>,
    /// Most webhooks of one owner in flight at once.
    peak: HashMap<Owner, usize>,
    owners: HashMap<i64, Owner>,
    media: HashMap<i64, Medium>,
}

impl Sim {
    fn new(limits: Limits) -> Sim {
        Sim {
            scheduler: Scheduler::new(limits, Backoff::default()),
            now: 0,
            receivers: HashMap::new(),
            attempts: HashMap::new(),
            running: Vec::new(),
            started: Vec::new(),
            delivered: Vec::new(),
            verdicts: Vec::new(),
            peak: HashMap::new(),
            owners: HashMap::new(),
            media: HashMap::new(),
        }
    }

    /// A subscriber `id`.
    fn subscriber(&mut self, id: i64, owner: Owner, medium: Medium, receiver: Receiver) {
        self.scheduler.queue(
            id,
            QueueInfo {
                owner,
                medium,
                failures: 0,
                failing_since: None,
            },
        );
        self.receivers.insert(id, receiver);
        self.owners.insert(id, owner);
        self.media.insert(id, medium);
    }

    /// Delivery `job` for subscriber `queue`, due now.
    fn offer(&mut self, queue: i64, job: i64) {
        assert!(self.scheduler.offer(
            queue,
            Job {
                key: job,
                due: self.now,
                attempts: 0,
                seed: job as u64,
            }
        ));
    }

    /// Starts what the scheduler says.
    fn poll(&mut self) {
        for s in self.scheduler.poll(self.now) {
            let n = self.attempts.entry(s.queue).or_default();
            *n += 1;
            let (after, ok, kind) = match self.receivers[&s.queue] {
                Receiver::Answers(ms) => (ms, true, FailureKind::Transient),
                Receiver::Hangs => (TIMEOUT, false, FailureKind::Transient),
                Receiver::FailsFirst(k) => (1, *n > k, FailureKind::Transient),
                Receiver::Gone => (1, false, FailureKind::Permanent),
                Receiver::DownUntil(t) => (1, self.now >= t, FailureKind::Transient),
            };
            self.running
                .push((self.now + after, s.job, s.queue, ok, kind));
            self.started.push((self.now, s.queue, s.job));
            let owner = self.owners[&s.queue];
            let in_flight = self
                .running
                .iter()
                .filter(|r| self.owners[&r.2] == owner && self.media[&r.2] == Medium::Webhook)
                .count();
            let peak = self.peak.entry(owner).or_default();
            *peak = (*peak).max(in_flight);
        }
    }

    /// Runs the event loop up to `until`.
    fn run_until(&mut self, until: Millis) {
        loop {
            self.poll();
            let next_done = self.running.iter().map(|r| r.0).min();
            let next = [next_done, self.scheduler.next_wake(self.now)]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => self.now = t,
                _ => {
                    self.now = until;
                    self.poll();
                    return;
                }
            }
            let (done, rest): (Vec<_>, Vec<_>) =
                self.running.drain(..).partition(|r| r.0 <= self.now);
            self.running = rest;
            for (_, job, queue, ok, kind) in done {
                if ok {
                    assert!(self.scheduler.succeeded(job));
                    self.delivered.push((self.now, queue, job));
                } else {
                    let verdict = self
                        .scheduler
                        .failed(job, self.now, kind)
                        .expect("in flight");
                    self.verdicts.push((self.now, job, verdict));
                }
            }
        }
    }

    /// When `job` was delivered.
    fn delivered_at(&self, job: i64) -> Option<Millis> {
        self.delivered.iter().find(|d| d.2 == job).map(|d| d.0)
    }
}

#[test]
fn a_hanging_receiver_holds_up_only_its_own_queue() {
    let mut sim = Sim::new(Limits::default());
    let account = Owner::Account(7);
    sim.subscriber(1, account, Medium::Webhook, Receiver::Hangs);
    sim.subscriber(2, account, Medium::Webhook, Receiver::Answers(50));
    // The first incident, then the second one a second later.
    sim.offer(1, 10);
    sim.offer(2, 11);
    sim.run_until(1_000);
    sim.offer(1, 20);
    sim.offer(2, 21);
    sim.run_until(60_000);
    assert_eq!(sim.delivered_at(11), Some(50));
    assert_eq!(
        sim.delivered_at(21),
        Some(1_050),
        "the good receiver hears of the second incident at once"
    );
    // The hanging one gets its deliveries in order: the second incident
    // only after the first (never, here), retried with back-off.
    assert!(sim.started.iter().all(|s| s.2 != 20));
    let retries: Vec<Millis> = sim
        .started
        .iter()
        .filter(|s| s.2 == 10)
        .map(|s| s.0)
        .collect();
    assert_eq!(retries[0], 0);
    assert!(retries[1] >= TIMEOUT + 1_000 && retries[1] <= TIMEOUT + 2_000);
}

#[test]
fn customers_hanging_webhooks_never_delay_the_operator_or_email() {
    let limits = Limits::default();
    let mut sim = Sim::new(limits);
    // 1,000 hanging webhooks of account 7, each with a delivery due first.
    for id in 1..=1_000 {
        sim.subscriber(id, Owner::Account(7), Medium::Webhook, Receiver::Hangs);
        sim.offer(id, id);
    }
    sim.subscriber(
        2_001,
        Owner::Operator,
        Medium::Webhook,
        Receiver::Answers(20),
    );
    sim.subscriber(2_002, Owner::Operator, Medium::Email, Receiver::Answers(30));
    sim.subscriber(
        2_003,
        Owner::Account(7),
        Medium::Email,
        Receiver::Answers(30),
    );
    sim.subscriber(
        2_004,
        Owner::Account(8),
        Medium::Webhook,
        Receiver::Answers(20),
    );
    sim.subscriber(2_005, Owner::Public, Medium::Webhook, Receiver::Answers(20));
    sim.subscriber(
        2_006,
        Owner::Account(7),
        Medium::Webhook,
        Receiver::Answers(20),
    );
    for (queue, job) in [
        (2_001, 3_001),
        (2_002, 3_002),
        (2_003, 3_003),
        (2_004, 3_004),
        (2_005, 3_005),
        (2_006, 3_006),
    ] {
        sim.offer(queue, job);
    }
    sim.run_until(100);
    for job in [3_001, 3_002, 3_003, 3_004, 3_005] {
        assert!(
            sim.delivered_at(job).is_some_and(|t| t <= 30),
            "delivery {job} waited: {:?}",
            sim.delivered_at(job)
        );
    }
    // Account 7's own good webhook waits behind its hanging ones (its cap
    // is full): that account's problem, no one else's. It gets its turn
    // after the first attempt of every earlier delivery of the account (16
    // at a time, 10 s each: 62 rounds), before any of them is retried.
    assert_eq!(sim.delivered_at(3_006), None);
    sim.run_until(70 * TIMEOUT);
    assert_eq!(sim.peak[&Owner::Account(7)], limits.per_account);
    assert_eq!(
        sim.delivered_at(3_006),
        Some(62 * TIMEOUT + 20),
        "account 7's good webhook got its turn"
    );
}

#[test]
fn one_subscriber_keeps_its_order_and_backs_off() {
    let mut sim = Sim::new(Limits::default());
    sim.subscriber(
        1,
        Owner::Account(7),
        Medium::Webhook,
        Receiver::FailsFirst(2),
    );
    sim.offer(1, 10);
    sim.offer(1, 11);
    sim.run_until(60_000);
    let first = sim.delivered_at(10).expect("delivered after two failures");
    let second = sim.delivered_at(11).expect("then the next one");
    assert!(first < second);
    // Two retries: about 2 s, then about 4 s (with jitter: half to all of it).
    assert!((2_000..=6_002).contains(&first), "{first}");
    assert_eq!(
        sim.started.iter().map(|s| s.2).collect::<Vec<_>>(),
        [10, 10, 10, 11]
    );
    assert!(matches!(sim.verdicts[0].2, Verdict::Retry { .. }));
}

#[test]
fn a_permanent_failure_gives_up_that_delivery_only() {
    let mut sim = Sim::new(Limits::default());
    sim.subscriber(1, Owner::Account(7), Medium::Webhook, Receiver::Gone);
    sim.offer(1, 10);
    sim.offer(1, 11);
    sim.run_until(1_000);
    assert_eq!(
        sim.verdicts
            .iter()
            .map(|v| (v.1, v.2.clone()))
            .collect::<Vec<_>>(),
        [(10, Verdict::GiveUp), (11, Verdict::GiveUp)]
    );
    assert_eq!(sim.scheduler.pending(), 0);
    assert_eq!(sim.scheduler.in_flight(), 0);
}

#[test]
fn cancelled_deliveries_free_their_slot() {
    let mut sim = Sim::new(Limits {
        per_account: 1,
        ..Limits::default()
    });
    sim.subscriber(1, Owner::Account(7), Medium::Webhook, Receiver::Hangs);
    sim.subscriber(2, Owner::Account(7), Medium::Webhook, Receiver::Answers(5));
    sim.offer(1, 10);
    sim.offer(2, 11);
    sim.run_until(100);
    assert_eq!(
        sim.delivered_at(11),
        None,
        "the account's one slot is taken"
    );
    // Subscriber 1 is removed elsewhere: its delivery is cancelled.
    assert!(sim.scheduler.cancel(10));
    sim.running.retain(|r| r.1 != 10);
    sim.run_until(200);
    assert_eq!(sim.delivered_at(11), Some(105));
    assert!(!sim.scheduler.succeeded(10));
    assert_eq!(sim.scheduler.failed(10, 200, FailureKind::Transient), None);
}

#[test]
fn disabling_gives_up_every_pending_delivery() {
    let mut sim = Sim::new(Limits::default());
    sim.scheduler = Scheduler::new(
        Limits::default(),
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(1),
            disable_after: 3,
            disable_span: Duration::ZERO,
        },
    );
    sim.subscriber(
        1,
        Owner::Account(7),
        Medium::Webhook,
        Receiver::FailsFirst(100),
    );
    sim.offer(1, 10);
    sim.offer(1, 11);
    sim.run_until(60_000);
    let last = sim.verdicts.last().expect("failures").2.clone();
    assert_eq!(
        last,
        Verdict::Disable {
            abandoned: vec![10, 11]
        }
    );
    assert_eq!(sim.verdicts.len(), 3);
    assert!(!sim.scheduler.has_queue(1));
    assert_eq!(sim.scheduler.next_wake(sim.now), None);
}

#[test]
fn a_receiver_down_for_minutes_or_a_night_is_not_disabled() {
    let mut sim = Sim::new(Limits::default());
    // Down 13 s during a busy incident (20 updates), then down 10 hours.
    sim.subscriber(
        1,
        Owner::Account(7),
        Medium::Webhook,
        Receiver::DownUntil(13_000),
    );
    for job in 0..20 {
        sim.offer(1, job);
    }
    sim.run_until(120_000);
    assert!(sim.verdicts.len() >= 4, "{} failures", sim.verdicts.len());
    assert_eq!(sim.delivered.len(), 20, "every update arrives, in order");
    assert!(sim.delivered.windows(2).all(|w| w[0].2 < w[1].2));
    let hour = 3_600_000;
    sim.receivers
        .insert(1, Receiver::DownUntil(sim.now + 10 * hour));
    sim.offer(1, 100);
    sim.run_until(sim.now + 11 * hour);
    assert!(sim.delivered_at(100).is_some());
    assert!(
        !sim.verdicts
            .iter()
            .any(|v| matches!(v.2, Verdict::Disable { .. })),
        "{} failures, none disabled it",
        sim.verdicts.len()
    );
}

#[test]
fn a_receiver_failing_for_a_day_is_disabled() {
    let mut sim = Sim::new(Limits::default());
    sim.subscriber(1, Owner::Account(7), Medium::Webhook, Receiver::Hangs);
    sim.offer(1, 10);
    sim.offer(1, 11);
    let day = 86_400_000;
    sim.run_until(2 * day);
    let (at, _, verdict) = sim.verdicts.last().expect("failures").clone();
    assert_eq!(
        verdict,
        Verdict::Disable {
            abandoned: vec![10, 11]
        }
    );
    // Disabled at the first failure a day after the first one (retries
    // are at most an hour apart), after many attempts.
    assert!(
        at >= day + TIMEOUT && at <= day + TIMEOUT + 3_600_000,
        "{at}"
    );
    assert!(sim.verdicts.len() >= 10);
    assert!(
        sim.verdicts[..sim.verdicts.len() - 1]
            .iter()
            .all(|v| matches!(v.2, Verdict::Retry { .. }))
    );
}
