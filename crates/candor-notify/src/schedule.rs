//! Which deliveries to start, and when: a scheduler without I/O.
//!
//! The outbox holds deliveries for many subscribers, and some receivers
//! are slow or never answer: a webhook endpoint that accepts the
//! connection and then says nothing holds its delivery for the whole
//! request timeout. The scheduler keeps such a receiver from delaying
//! anyone else:
//!
//! - **One queue per subscriber.** A subscriber's deliveries go out in
//!   order, one at a time; a delivery that fails is retried (after the
//!   [`Backoff`] delay) before the next one of that subscriber. Nothing
//!   else ever waits for a queue: every queue whose first delivery is due
//!   and that has nothing in flight may start at once.
//! - **Two lanes with their own capacity.** The operator's subscribers
//!   (its webhooks and e-mails) and every e-mail go in the *priority*
//!   lane; customers' and the public's webhooks in the *webhooks* lane.
//!   The lanes share nothing, so however many customer webhooks hang,
//!   the operator's notifications and e-mails start as soon as they are
//!   due.
//! - **Caps.** At most [`Limits::per_account`] deliveries of one account
//!   (and of the public, together) are in flight, so one account's
//!   hanging receivers cannot take the webhooks lane from the others; at
//!   most [`Limits::email`] e-mails are in flight, so a stuck relay leaves
//!   the operator's webhooks room in the priority lane.
//! - **Failures.** A failed delivery is retried after the back-off delay
//!   (transient failures) or given up (permanent ones); the subscriber is
//!   disabled when [`Backoff::should_disable`] says its failures have gone
//!   on long enough, and its pending deliveries are given up with it.
//!
//! The caller owns the I/O: it tells the scheduler about queues
//! ([`Scheduler::queue`]) and deliveries ([`Scheduler::offer`]), starts
//! what [`Scheduler::poll`] returns, reports each outcome
//! ([`Scheduler::succeeded`], [`Scheduler::failed`]) and sleeps until
//! [`Scheduler::next_wake`] or until something finishes. Time is
//! milliseconds on whatever clock the caller likes; the tests simulate it.

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;

use crate::{Backoff, FailureKind};

/// Milliseconds on the caller's clock.
pub type Millis = u64;

/// Who a subscriber belongs to: it picks the lane and the cap that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// The operator (its own account, or subscribers made on the command line).
    Operator,
    /// A customer account.
    Account(i64),
    /// Someone who subscribed on the public page, without an account.
    Public,
}

/// How a subscriber is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Medium {
    /// A signed HTTP POST to the subscriber's endpoint.
    Webhook,
    /// An e-mail through the operator's relay.
    Email,
}

/// The two lanes, each with its own capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// The operator's subscribers and every e-mail.
    Priority,
    /// Customers' and the public's webhooks.
    Webhooks,
}

impl Lane {
    /// The lane of a subscriber.
    pub fn of(owner: Owner, medium: Medium) -> Lane {
        match (owner, medium) {
            (Owner::Operator, _) | (_, Medium::Email) => Lane::Priority,
            _ => Lane::Webhooks,
        }
    }
}

/// How many deliveries may be in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// In the priority lane.
    pub priority: usize,
    /// E-mails (they share one relay), within the priority lane.
    pub email: usize,
    /// In the webhooks lane.
    pub webhooks: usize,
    /// Of one account in the webhooks lane (the public counts as one).
    pub per_account: usize,
}

impl Default for Limits {
    /// 32 in the priority lane, 8 of them e-mails; 256 webhooks, 16 per
    /// account. A receiver that never answers holds its slot for the
    /// request timeout (10 s by default), so one account with many of them
    /// delays only its own deliveries, by about `its deliveries / 16 * 10 s`.
    fn default() -> Limits {
        Limits {
            priority: 32,
            email: 8,
            webhooks: 256,
            per_account: 16,
        }
    }
}

/// What the scheduler needs to know of a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// Who it belongs to.
    pub owner: Owner,
    /// How it is told.
    pub medium: Medium,
    /// Consecutive failed deliveries so far (from the outbox).
    pub failures: u32,
    /// When the current run of failures started, if one is running.
    pub failing_since: Option<Millis>,
}

/// One delivery waiting in a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job<J> {
    /// The caller's key for it (an outbox row id); queues keep their jobs
    /// in key order.
    pub key: J,
    /// When it may start.
    pub due: Millis,
    /// Attempts made so far.
    pub attempts: u32,
    /// Seed of the back-off jitter ([`crate::jitter_seed`] of its
    /// idempotency key).
    pub seed: u64,
}

/// A delivery to start now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start<Q, J> {
    /// Its queue (subscriber).
    pub queue: Q,
    /// The delivery.
    pub job: J,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

/// What to do after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<J> {
    /// Try again at this time; the queue waits for it.
    Retry {
        /// When.
        at: Millis,
    },
    /// Give this delivery up (a permanent failure); the queue goes on.
    GiveUp,
    /// Disable the subscriber: its failures have gone on long enough.
    /// These deliveries (the failed one first) are given up with it.
    Disable {
        /// Every delivery the queue held.
        abandoned: Vec<J>,
    },
}

/// One subscriber's queue.
#[derive(Debug)]
struct Queue<J> {
    /// Who and how.
    info: QueueInfo,
    /// Its deliveries in key order; the first is in flight when `running`.
    jobs: VecDeque<Job<J>>,
    /// The first job is in flight.
    running: bool,
}

/// The scheduler; see the module documentation.
#[derive(Debug)]
pub struct Scheduler<Q, J> {
    /// Capacity.
    limits: Limits,
    /// Retry delays and when to disable.
    backoff: Backoff,
    /// Every known queue.
    queues: HashMap<Q, Queue<J>>,
    /// The queue of every known job.
    jobs: HashMap<J, Q>,
    /// Deliveries in flight in the priority lane.
    priority: usize,
    /// E-mails in flight.
    email: usize,
    /// Deliveries in flight in the webhooks lane.
    webhooks: usize,
    /// Webhooks-lane deliveries in flight per owner.
    per_owner: HashMap<Owner, usize>,
}

impl<Q, J> Scheduler<Q, J>
where
    Q: Copy + Eq + Hash + Ord + Debug,
    J: Copy + Eq + Hash + Ord + Debug,
{
    /// An empty scheduler.
    pub fn new(limits: Limits, backoff: Backoff) -> Self {
        Scheduler {
            limits,
            backoff,
            queues: HashMap::new(),
            jobs: HashMap::new(),
            priority: 0,
            email: 0,
            webhooks: 0,
            per_owner: HashMap::new(),
        }
    }

    /// Makes a subscriber's queue known (no change if it is).
    pub fn queue(&mut self, queue: Q, info: QueueInfo) {
        self.queues.entry(queue).or_insert_with(|| Queue {
            info,
            jobs: VecDeque::new(),
            running: false,
        });
    }

    /// True when the queue is known.
    pub fn has_queue(&self, queue: Q) -> bool {
        self.queues.contains_key(&queue)
    }

    /// Adds a delivery to a known queue; false (and nothing changes) when
    /// the queue is unknown or the delivery already known.
    pub fn offer(&mut self, queue: Q, job: Job<J>) -> bool {
        if self.jobs.contains_key(&job.key) {
            return false;
        }
        let Some(q) = self.queues.get_mut(&queue) else {
            return false;
        };
        // Keep key order, never in front of the job in flight.
        let first = usize::from(q.running);
        let at = q
            .jobs
            .iter()
            .skip(first)
            .position(|j| j.key > job.key)
            .map_or(q.jobs.len(), |i| i + first);
        q.jobs.insert(at, job);
        self.jobs.insert(job.key, queue);
        true
    }

    /// The deliveries to start at `now`: the first of every queue that is
    /// due and has nothing in flight, as far as the limits allow: priority
    /// lane first, then queues without failures before those being retried
    /// (a receiver that keeps failing takes no slot from a working one),
    /// then oldest first. They count as in flight until reported.
    pub fn poll(&mut self, now: Millis) -> Vec<Start<Q, J>> {
        let mut ready: Vec<(Lane, bool, Millis, J, Q)> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.running)
            .filter_map(|(key, q)| {
                let job = q.jobs.front().filter(|j| j.due <= now)?;
                let lane = Lane::of(q.info.owner, q.info.medium);
                Some((lane, q.info.failures > 0, job.due, job.key, *key))
            })
            .collect();
        ready.sort_unstable();
        let mut started = Vec::new();
        for (_, _, _, job, key) in ready {
            let info = self.queues[&key].info;
            if !self.fits(info) {
                continue;
            }
            self.take(info);
            if let Some(q) = self.queues.get_mut(&key) {
                q.running = true;
                let attempt = q.jobs.front().map_or(1, |j| j.attempts + 1);
                started.push(Start {
                    queue: key,
                    job,
                    attempt,
                });
            }
        }
        started
    }

    /// Records a delivery made: it leaves its queue, and the subscriber's
    /// run of failures ends. False for a delivery not in flight.
    pub fn succeeded(&mut self, job: J) -> bool {
        let Some(key) = self.running_queue(job) else {
            return false;
        };
        let info = {
            let q = self.queues.get_mut(&key).expect("a running queue is known");
            q.running = false;
            q.jobs.pop_front();
            q.info.failures = 0;
            q.info.failing_since = None;
            q.info
        };
        self.jobs.remove(&job);
        self.release(info);
        true
    }

    /// Records a failed attempt at `now` and says what follows: a retry,
    /// giving the delivery up, or disabling the subscriber. `None` for a
    /// delivery not in flight.
    pub fn failed(&mut self, job: J, now: Millis, kind: FailureKind) -> Option<Verdict<J>> {
        let key = self.running_queue(job)?;
        let q = self.queues.get_mut(&key)?;
        q.running = false;
        q.info.failures = q.info.failures.saturating_add(1);
        let since = *q.info.failing_since.get_or_insert(now);
        let info = q.info;
        let failing_for = std::time::Duration::from_millis(now.saturating_sub(since));
        let verdict = if self.backoff.should_disable(info.failures, failing_for) {
            let abandoned: Vec<J> = q.jobs.drain(..).map(|j| j.key).collect();
            self.queues.remove(&key);
            for j in &abandoned {
                self.jobs.remove(j);
            }
            Verdict::Disable { abandoned }
        } else if kind == FailureKind::Permanent {
            q.jobs.pop_front();
            self.jobs.remove(&job);
            Verdict::GiveUp
        } else {
            let front = q.jobs.front_mut()?;
            front.attempts = front.attempts.saturating_add(1);
            let delay = self.backoff.delay(front.attempts, front.seed);
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            front.due = now.saturating_add(delay_ms);
            Verdict::Retry { at: front.due }
        };
        self.release(info);
        Some(verdict)
    }

    /// Forgets a delivery (given up on elsewhere, e.g. its subscriber was
    /// removed); one in flight stops counting as such. True when it was
    /// known.
    pub fn cancel(&mut self, job: J) -> bool {
        let Some(key) = self.jobs.remove(&job) else {
            return false;
        };
        let Some(q) = self.queues.get_mut(&key) else {
            return true;
        };
        let running = q.running && q.jobs.front().is_some_and(|j| j.key == job);
        q.jobs.retain(|j| j.key != job);
        if running {
            q.running = false;
            let info = q.info;
            self.release(info);
        }
        true
    }

    /// Forgets a queue with nothing waiting or in flight (a message's own
    /// queue once it was sent); true when it was forgotten.
    pub fn forget(&mut self, queue: Q) -> bool {
        let idle = self
            .queues
            .get(&queue)
            .is_some_and(|q| !q.running && q.jobs.is_empty());
        if idle {
            self.queues.remove(&queue);
        }
        idle
    }

    /// The next time a queue with nothing in flight has a delivery falling
    /// due, after `now`. (Deliveries already due but held back by the
    /// limits start when something in flight finishes.)
    pub fn next_wake(&self, now: Millis) -> Option<Millis> {
        self.queues
            .values()
            .filter(|q| !q.running)
            .filter_map(|q| q.jobs.front().map(|j| j.due))
            .filter(|due| *due > now)
            .min()
    }

    /// Deliveries in flight.
    pub fn in_flight(&self) -> usize {
        self.priority + self.webhooks
    }

    /// Deliveries known, in flight or waiting.
    pub fn pending(&self) -> usize {
        self.jobs.len()
    }

    /// The queue whose first job is `job`, in flight.
    fn running_queue(&self, job: J) -> Option<Q> {
        let key = *self.jobs.get(&job)?;
        let q = self.queues.get(&key)?;
        (q.running && q.jobs.front().is_some_and(|j| j.key == job)).then_some(key)
    }

    /// True when one more delivery of this kind fits the limits.
    fn fits(&self, info: QueueInfo) -> bool {
        match Lane::of(info.owner, info.medium) {
            Lane::Priority => {
                self.priority < self.limits.priority
                    && (info.medium != Medium::Email || self.email < self.limits.email)
            }
            Lane::Webhooks => {
                self.webhooks < self.limits.webhooks
                    && self.per_owner.get(&info.owner).copied().unwrap_or(0)
                        < self.limits.per_account
            }
        }
    }

    /// Counts one more delivery in flight.
    fn take(&mut self, info: QueueInfo) {
        match Lane::of(info.owner, info.medium) {
            Lane::Priority => {
                self.priority += 1;
                if info.medium == Medium::Email {
                    self.email += 1;
                }
            }
            Lane::Webhooks => {
                self.webhooks += 1;
                *self.per_owner.entry(info.owner).or_default() += 1;
            }
        }
    }

    /// Counts one delivery less in flight.
    fn release(&mut self, info: QueueInfo) {
        match Lane::of(info.owner, info.medium) {
            Lane::Priority => {
                self.priority = self.priority.saturating_sub(1);
                if info.medium == Medium::Email {
                    self.email = self.email.saturating_sub(1);
                }
            }
            Lane::Webhooks => {
                self.webhooks = self.webhooks.saturating_sub(1);
                if let Some(n) = self.per_owner.get_mut(&info.owner) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.per_owner.remove(&info.owner);
                    }
                }
            }
        }
    }
}
