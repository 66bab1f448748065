//! The deliverer's bookkeeping, without I/O: outbox rows in, sends to
//! start and writes to make out.

use std::collections::HashMap;
use std::sync::Arc;

use candor_notify::schedule::{Job, Limits, Medium, Millis, Owner, QueueInfo, Scheduler, Verdict};
use candor_notify::{Backoff, DeliveryError, jitter_seed};
use candor_status::model::{Channel, Delivery, Message, Subscriber};

#[cfg(test)]
mod tests;

/// A scheduler queue: a subscriber's, or one message's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueKey {
    /// A subscriber's incident deliveries.
    Subscriber(i64),
    /// One message.
    Message(i64),
}

/// A scheduler job: an outbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKey {
    /// A row of `deliveries`.
    Delivery(i64),
    /// A row of `messages`.
    Message(i64),
}

/// What a job sends.
#[derive(Clone, Debug)]
pub enum Work {
    /// An incident notification to a subscriber.
    Delivery(Delivery, Arc<Subscriber>),
    /// An e-mail.
    Message(Message),
}

/// What one read of the outbox found.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// New pending deliveries, in id order.
    pub deliveries: Vec<Delivery>,
    /// Their subscribers that the outbox has no queue for.
    pub subscribers: Vec<Subscriber>,
    /// New pending messages, in id order.
    pub messages: Vec<Message>,
    /// There are more rows to read.
    pub more: bool,
}

/// Where the next read of the outbox starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The highest delivery id read.
    pub deliveries_read: i64,
    /// The highest message id read.
    pub messages_read: i64,
    /// Subscribers with a queue: not read again. (A subscriber the
    /// scheduler forgot, after disabling it, is read again: it may have
    /// been enabled since.)
    pub queued: Vec<i64>,
}

/// The end of one send.
#[derive(Debug)]
pub enum Sent {
    /// Delivered.
    Ok,
    /// Failed.
    Failed(DeliveryError),
    /// Not sent: the delivery was given up meanwhile (its subscriber was
    /// removed), or its incident could not be read.
    Skipped,
}

/// What to write to the outbox after a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// It was sent.
    Sent,
    /// It failed.
    Failed {
        /// Why.
        message: String,
        /// When to try again (Unix seconds); `None` gives it up.
        retry: Option<i64>,
        /// Disable the subscriber, giving up all its deliveries.
        disable: bool,
    },
}

/// What a finished send means, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Nothing worth a line.
    Quiet,
    /// An incident notification was delivered.
    Delivered {
        /// To whom.
        subscriber: i64,
        /// Which event (`incident.updated`).
        event: &'static str,
        /// Of which incident.
        incident: i64,
        /// At which attempt (1 is the first).
        attempt: u32,
        /// How long after it was due.
        since_due_ms: Millis,
    },
    /// A send failed.
    Failed {
        /// To whom (`None` for a message).
        subscriber: Option<i64>,
        /// Which job.
        job: JobKey,
        /// What happens next.
        verdict: String,
        /// Why.
        error: String,
    },
    /// ... and its subscriber was disabled, with this many deliveries.
    Disabled {
        /// Whom.
        subscriber: Option<i64>,
        /// Deliveries given up with it.
        abandoned: usize,
        /// Why the last one failed.
        error: String,
    },
}

/// Unix seconds as scheduler milliseconds.
pub fn ms(secs: i64) -> Millis {
    u64::try_from(secs).unwrap_or(0).saturating_mul(1000)
}

/// Scheduler milliseconds as Unix seconds, rounded up (retrying a second
/// late is fine, early is not).
pub fn secs(ms: Millis) -> i64 {
    i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX)
}

/// Who a subscriber belongs to, for the scheduler: the operator's account
/// and the command line's subscribers (no account) are the operator's.
pub fn owner(subscriber: &Subscriber, operator: Option<i64>) -> Owner {
    match subscriber.account_id {
        None if subscriber.public => Owner::Public,
        None => Owner::Operator,
        Some(a) if Some(a) == operator => Owner::Operator,
        Some(a) => Owner::Account(a),
    }
}

/// How a subscriber is told, for the scheduler.
pub fn medium(subscriber: &Subscriber) -> Medium {
    match subscriber.channel {
        Channel::Webhook { .. } => Medium::Webhook,
        Channel::Email { .. } => Medium::Email,
    }
}

/// The deliverer's state between passes.
pub struct Outbox {
    /// What starts when.
    scheduler: Scheduler<QueueKey, JobKey>,
    /// What each known job sends.
    work: HashMap<JobKey, Work>,
    /// Subscribers with a queue.
    subscribers: HashMap<i64, Arc<Subscriber>>,
    /// The highest delivery id read.
    deliveries_read: i64,
    /// The highest message id read.
    messages_read: i64,
    /// The operator's account in the store, when the store is served.
    operator: Option<i64>,
}

impl Outbox {
    /// An empty outbox; `operator` is the operator's account.
    pub fn new(limits: Limits, backoff: Backoff, operator: Option<i64>) -> Outbox {
        Outbox {
            scheduler: Scheduler::new(limits, backoff),
            work: HashMap::new(),
            subscribers: HashMap::new(),
            deliveries_read: 0,
            messages_read: 0,
            operator,
        }
    }

    /// Where the next read starts.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            deliveries_read: self.deliveries_read,
            messages_read: self.messages_read,
            queued: self
                .subscribers
                .keys()
                .copied()
                .filter(|id| self.scheduler.has_queue(QueueKey::Subscriber(*id)))
                .collect(),
        }
    }

    /// Takes what was read; true when there is more to read.
    pub fn take(&mut self, loaded: Loaded) -> bool {
        for s in loaded.subscribers {
            self.scheduler.queue(
                QueueKey::Subscriber(s.id),
                QueueInfo {
                    owner: owner(&s, self.operator),
                    medium: medium(&s),
                    failures: s.failures,
                    failing_since: s.failing_since.map(ms),
                },
            );
            self.subscribers.insert(s.id, Arc::new(s));
        }
        for d in loaded.deliveries {
            self.deliveries_read = self.deliveries_read.max(d.id);
            let Some(subscriber) = self.subscribers.get(&d.subscriber_id).cloned() else {
                continue;
            };
            let key = JobKey::Delivery(d.id);
            let job = Job {
                key,
                due: ms(d.next_attempt_at),
                attempts: d.attempts,
                seed: jitter_seed(&d.key),
            };
            if self
                .scheduler
                .offer(QueueKey::Subscriber(d.subscriber_id), job)
            {
                self.work.insert(key, Work::Delivery(d, subscriber));
            }
        }
        for m in loaded.messages {
            self.messages_read = self.messages_read.max(m.id);
            let (queue, key) = (QueueKey::Message(m.id), JobKey::Message(m.id));
            // Messages go through the operator's relay: the priority lane.
            self.scheduler.queue(
                queue,
                QueueInfo {
                    owner: Owner::Operator,
                    medium: Medium::Email,
                    failures: 0,
                    failing_since: None,
                },
            );
            let job = Job {
                key,
                due: ms(m.next_attempt_at),
                attempts: m.attempts,
                seed: jitter_seed(&m.key),
            };
            if self.scheduler.offer(queue, job) {
                self.work.insert(key, Work::Message(m));
            }
        }
        loaded.more
    }

    /// The sends to start now.
    pub fn start(&mut self, now: Millis) -> Vec<(JobKey, Work)> {
        let mut starts = Vec::new();
        for start in self.scheduler.poll(now) {
            match self.work.get(&start.job) {
                Some(work) => starts.push((start.job, work.clone())),
                None => {
                    self.scheduler.cancel(start.job);
                }
            }
        }
        starts
    }

    /// When something next falls due, if anything is waiting.
    pub fn next_wake(&self, now: Millis) -> Option<Millis> {
        self.scheduler.next_wake(now)
    }

    /// A send of `job` ended at `now`: what to write to the outbox (none
    /// for a skipped one), and what to log.
    pub fn finish(&mut self, job: JobKey, sent: Sent, now: Millis) -> (Option<Record>, Note) {
        let subscriber = match self.work.get(&job) {
            Some(Work::Delivery(d, _)) => Some(d.subscriber_id),
            _ => None,
        };
        let (record, note) = match sent {
            Sent::Skipped => {
                self.scheduler.cancel(job);
                self.work.remove(&job);
                if let JobKey::Message(id) = job {
                    self.scheduler.forget(QueueKey::Message(id));
                }
                return (None, Note::Quiet);
            }
            Sent::Ok => {
                self.scheduler.succeeded(job);
                let note = match self.work.remove(&job) {
                    Some(Work::Delivery(d, _)) => Note::Delivered {
                        subscriber: d.subscriber_id,
                        event: d.event.as_str(),
                        incident: d.incident_id,
                        attempt: d.attempts + 1,
                        since_due_ms: now.saturating_sub(ms(d.next_attempt_at)),
                    },
                    _ => Note::Quiet,
                };
                (Record::Sent, note)
            }
            Sent::Failed(e) => {
                let Some(verdict) = self.scheduler.failed(job, now, e.kind) else {
                    return (None, Note::Quiet);
                };
                let mut note = Note::Failed {
                    subscriber,
                    job,
                    verdict: format!("{verdict:?}"),
                    error: e.message.clone(),
                };
                let message = e.message;
                let record = match verdict {
                    Verdict::Retry { at } => {
                        match self.work.get_mut(&job) {
                            Some(Work::Delivery(d, _)) => {
                                d.attempts += 1;
                                d.next_attempt_at = secs(at);
                            }
                            Some(Work::Message(m)) => {
                                m.attempts += 1;
                                m.next_attempt_at = secs(at);
                            }
                            None => {}
                        }
                        Record::Failed {
                            message,
                            retry: Some(secs(at)),
                            disable: false,
                        }
                    }
                    Verdict::GiveUp => {
                        self.work.remove(&job);
                        Record::Failed {
                            message,
                            retry: None,
                            disable: false,
                        }
                    }
                    Verdict::Disable { abandoned } => {
                        self.work.remove(&job);
                        for a in &abandoned {
                            self.work.remove(a);
                        }
                        note = Note::Disabled {
                            subscriber,
                            abandoned: abandoned.len(),
                            error: message.clone(),
                        };
                        Record::Failed {
                            message,
                            retry: None,
                            disable: true,
                        }
                    }
                };
                (record, note)
            }
        };
        if let JobKey::Message(id) = job {
            self.scheduler.forget(QueueKey::Message(id));
        }
        (Some(record), note)
    }

    /// Deliveries and messages known and not finished.
    pub fn pending(&self) -> usize {
        self.work.len()
    }
}
