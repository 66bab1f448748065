//! The notifier's I/O: reads the status database's outbox (incident
//! deliveries and other e-mails), lets
//! [`candor_notify::schedule::Scheduler`] decide what starts when, sends
//! webhooks and e-mails, and writes every outcome back.
//!
//! All the policy (one queue per subscriber, the lanes and caps that keep
//! customers' receivers from delaying the operator and each other,
//! retries, disabling) lives in the scheduler, which is tested with
//! simulated time; this loop only moves bytes. Sends run as tasks of their
//! own, so one that hangs holds nothing but its own slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_notify::schedule::{Job, Limits, Medium, Millis, Owner, QueueInfo, Scheduler, Verdict};
use candor_notify::{
    Backoff, DeliveryError, Email, FailureKind, Mailer, WebhookRequest, Webhooks, jitter_seed,
};
use candor_status::db::{StatusDb, now};
use candor_status::model::{Channel, Delivery, Message, MessageKind, PageSnapshot, Subscriber};
use candor_status::render;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::status::with_db;

/// Outbox rows read at once (the rest follow on the next pass).
const READ_BATCH: usize = 5_000;

/// How often the outbox is read without being woken (for writes made by
/// the CLI in another process).
const POLL: Duration = Duration::from_secs(1);

/// The e-mail address of an account (`None`: the operator's), read from
/// the store; runs on a blocking thread.
pub(crate) type AccountAddress = Arc<dyn Fn(Option<i64>) -> Option<String> + Send + Sync>;

/// What the notifier needs.
pub(crate) struct Notifier {
    /// The status database.
    pub(crate) db: Arc<Mutex<StatusDb>>,
    /// The webhook client.
    pub(crate) webhooks: Webhooks,
    /// The SMTP relay, when configured.
    pub(crate) smtp: Option<Mailer>,
    /// The operator's account in the store (its subscribers are the
    /// operator's), when the store is served.
    pub(crate) operator_account: Option<i64>,
    /// Where an account's messages go.
    pub(crate) account_address: AccountAddress,
    /// How many deliveries may be in flight.
    pub(crate) limits: Limits,
    /// Retry delays and when to disable.
    pub(crate) backoff: Backoff,
}

/// A scheduler queue: a subscriber's, or one message's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum QueueKey {
    /// A subscriber's incident deliveries.
    Subscriber(i64),
    /// One message.
    Message(i64),
}

/// A scheduler job: an outbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum JobKey {
    /// A row of `deliveries`.
    Delivery(i64),
    /// A row of `messages`.
    Message(i64),
}

/// What a job sends.
#[derive(Clone)]
enum Work {
    /// An incident notification to a subscriber.
    Delivery(Delivery, Arc<Subscriber>),
    /// An e-mail.
    Message(Message),
}

/// Unix time in milliseconds: the scheduler's clock.
fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Unix seconds as scheduler milliseconds.
fn ms(secs: i64) -> Millis {
    u64::try_from(secs).unwrap_or(0).saturating_mul(1000)
}

/// Scheduler milliseconds as Unix seconds, rounded up (retrying a second
/// late is fine, early is not).
fn secs(ms: Millis) -> i64 {
    i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX)
}

/// Who a subscriber belongs to, for the scheduler.
fn owner(subscriber: &Subscriber, operator: Option<i64>) -> Owner {
    match subscriber.account_id {
        None if subscriber.public => Owner::Public,
        None => Owner::Operator,
        Some(a) if Some(a) == operator => Owner::Operator,
        Some(a) => Owner::Account(a),
    }
}

/// How a subscriber is told, for the scheduler.
fn medium(subscriber: &Subscriber) -> Medium {
    match subscriber.channel {
        Channel::Webhook { .. } => Medium::Webhook,
        Channel::Email { .. } => Medium::Email,
    }
}

/// The end of one send.
enum Sent {
    /// Delivered.
    Ok,
    /// Failed.
    Failed(DeliveryError),
    /// Not sent: the delivery was given up meanwhile (its subscriber was
    /// removed), or its incident could not be read.
    Skipped,
}

/// What one finished send task reports.
struct Done {
    /// The job.
    job: JobKey,
    /// Which subscriber, for the log (`None` for messages).
    subscriber: Option<i64>,
    /// How it went.
    sent: Sent,
    /// When it started.
    started: Instant,
}

/// The notifier's state between passes.
struct State {
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
    /// The page (for the texts) and the database generation it is of.
    snapshot: Option<(i64, Arc<PageSnapshot>)>,
}

/// Runs the notifier until `stop` turns.
pub(crate) async fn run(
    notifier: Notifier,
    mut changed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let webhooks = Arc::new(notifier.webhooks);
    let smtp = Arc::new(notifier.smtp);
    let db = notifier.db;
    let mut state = State {
        scheduler: Scheduler::new(notifier.limits, notifier.backoff),
        work: HashMap::new(),
        subscribers: HashMap::new(),
        deliveries_read: 0,
        messages_read: 0,
        snapshot: None,
    };
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut read = true;
    loop {
        if read {
            read = match load(&db, &state).await {
                Ok(loaded) => state.take(loaded, notifier.operator_account),
                Err(e) => {
                    tracing::error!("cannot read the outbox: {e:#}");
                    false
                }
            };
        }
        let now = now_ms();
        if let Some((_, page)) = &state.snapshot {
            for start in state.scheduler.poll(now) {
                let Some(work) = state.work.get(&start.job).cloned() else {
                    state.scheduler.cancel(start.job);
                    continue;
                };
                let (db, webhooks, smtp, page) =
                    (db.clone(), webhooks.clone(), smtp.clone(), page.clone());
                let addresses = notifier.account_address.clone();
                tasks.spawn(async move {
                    let started = Instant::now();
                    match work {
                        Work::Delivery(d, s) => Done {
                            job: start.job,
                            subscriber: Some(s.id),
                            sent: send_delivery(&db, &webhooks, &smtp, &page, &d, &s).await,
                            started,
                        },
                        Work::Message(m) if is_webhook_notice(&m) => Done {
                            job: start.job,
                            subscriber: m.subscriber_id,
                            sent: send_webhook_notice(&db, &webhooks, &m).await,
                            started,
                        },
                        Work::Message(m) => Done {
                            job: start.job,
                            subscriber: None,
                            sent: send_message(&smtp, addresses, &m).await,
                            started,
                        },
                    }
                });
            }
        }
        let wake = state
            .scheduler
            .next_wake(now)
            .map_or(POLL, |at| Duration::from_millis(at.saturating_sub(now)))
            .min(POLL);
        tokio::select! {
            _ = changed.changed() => read = true,
            _ = tokio::time::sleep(wake) => read = true,
            Some(done) = tasks.join_next() => {
                if let Ok(done) = done {
                    state.finish(&db, done, now_ms());
                }
                while let Some(Ok(done)) = tasks.try_join_next() {
                    state.finish(&db, done, now_ms());
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// What one read of the outbox found.
struct Loaded {
    /// New pending deliveries, in id order.
    deliveries: Vec<Delivery>,
    /// Their subscribers that the scheduler has no queue for.
    subscribers: Vec<Subscriber>,
    /// New pending messages, in id order.
    messages: Vec<Message>,
    /// The page (name, address, overall state) when it changed.
    snapshot: Option<(i64, Arc<PageSnapshot>)>,
    /// There are more rows to read.
    more: bool,
}

/// Reads what was added to the outbox since the last read, the subscribers
/// it needs and, when the database changed, the page.
async fn load(db: &Arc<Mutex<StatusDb>>, state: &State) -> anyhow::Result<Loaded> {
    let generation = state.snapshot.as_ref().map(|(g, _)| *g);
    let (deliveries_read, messages_read) = (state.deliveries_read, state.messages_read);
    // Subscribers the scheduler forgot (disabled) are read again: they
    // may have been enabled since.
    let have: Vec<i64> = state
        .subscribers
        .keys()
        .copied()
        .filter(|id| state.scheduler.has_queue(QueueKey::Subscriber(*id)))
        .collect();
    with_db(db, move |db| {
        let deliveries = db.pending_deliveries(deliveries_read, READ_BATCH)?;
        let messages = db.pending_messages(messages_read, READ_BATCH)?;
        let more = deliveries.len() == READ_BATCH || messages.len() == READ_BATCH;
        let mut subscribers: Vec<Subscriber> = Vec::new();
        for d in &deliveries {
            if !have.contains(&d.subscriber_id)
                && !subscribers.iter().any(|s| s.id == d.subscriber_id)
            {
                subscribers.push(db.subscriber(d.subscriber_id)?);
            }
        }
        let current = db.generation()?;
        let snapshot = if generation != Some(current) {
            Some((current, Arc::new(db.snapshot(now())?)))
        } else {
            None
        };
        Ok(Loaded {
            deliveries,
            subscribers,
            messages,
            snapshot,
            more,
        })
    })
    .await
}

impl State {
    /// Takes what was read; true when there is more to read.
    fn take(&mut self, loaded: Loaded, operator: Option<i64>) -> bool {
        if let Some(s) = loaded.snapshot {
            self.snapshot = Some(s);
        }
        for s in loaded.subscribers {
            self.scheduler.queue(
                QueueKey::Subscriber(s.id),
                QueueInfo {
                    owner: owner(&s, operator),
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
            // Messages go through the operator's relay: the priority lane;
            // except a customer's zone notice to its own webhook, which
            // waits in that account's lane like its incident deliveries.
            let (owner, medium) = match (m.kind, m.account_id, &m.address) {
                (MessageKind::ZoneNotice, Some(a), None) if Some(a) != operator => {
                    (Owner::Account(a), Medium::Webhook)
                }
                _ => (Owner::Operator, Medium::Email),
            };
            self.scheduler.queue(
                queue,
                QueueInfo {
                    owner,
                    medium,
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

    /// Tells the scheduler how a send ended and writes it to the outbox (in
    /// the background: the loop never waits for the database).
    fn finish(&mut self, db: &Arc<Mutex<StatusDb>>, done: Done, now: Millis) {
        let Done {
            job,
            subscriber,
            sent,
            started,
        } = done;
        let record = match sent {
            Sent::Skipped => {
                self.scheduler.cancel(job);
                self.work.remove(&job);
                if let JobKey::Message(id) = job {
                    self.scheduler.forget(QueueKey::Message(id));
                }
                return;
            }
            Sent::Ok => {
                self.scheduler.succeeded(job);
                if let Some(Work::Delivery(d, _)) = self.work.get(&job) {
                    tracing::info!(
                        subscriber,
                        event = d.event.as_str(),
                        incident = d.incident_id,
                        attempt = d.attempts + 1,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        since_due_ms = now.saturating_sub(ms(d.next_attempt_at)),
                        "notification delivered"
                    );
                }
                self.work.remove(&job);
                Record::Sent
            }
            Sent::Failed(e) => {
                let Some(verdict) = self.scheduler.failed(job, now, e.kind) else {
                    return;
                };
                tracing::warn!(subscriber, job = ?job, verdict = ?verdict, "notification failed: {e}");
                let message = e.message;
                match verdict {
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
                        for a in &abandoned {
                            self.work.remove(a);
                        }
                        tracing::warn!(
                            subscriber,
                            abandoned = abandoned.len(),
                            "subscriber disabled after failing deliveries for a long time"
                        );
                        Record::Failed {
                            message,
                            retry: None,
                            disable: true,
                        }
                    }
                }
            }
        };
        if let JobKey::Message(id) = job {
            self.scheduler.forget(QueueKey::Message(id));
        }
        let db = db.clone();
        tokio::spawn(async move {
            let written = with_db(&db, move |db| {
                let at = candor_status::db::now();
                match (job, record) {
                    (JobKey::Delivery(id), Record::Sent) => db.delivery_succeeded(id, at)?,
                    (JobKey::Message(id), Record::Sent) => db.message_sent(id, at)?,
                    (
                        JobKey::Delivery(id),
                        Record::Failed {
                            message,
                            retry,
                            disable,
                        },
                    ) => db.delivery_failed(id, &message, retry, disable, at)?,
                    (JobKey::Message(id), Record::Failed { message, retry, .. }) => {
                        db.message_failed(id, &message, retry, at)?
                    }
                }
                Ok(())
            })
            .await;
            if let Err(e) = written {
                tracing::error!("cannot record a delivery: {e:#}");
            }
        });
    }
}

/// What to write to the outbox after a send.
enum Record {
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

/// Sends one incident notification.
async fn send_delivery(
    db: &Arc<Mutex<StatusDb>>,
    webhooks: &Webhooks,
    smtp: &Option<Mailer>,
    snapshot: &PageSnapshot,
    delivery: &Delivery,
    subscriber: &Subscriber,
) -> Sent {
    let (id, incident_id) = (delivery.id, delivery.incident_id);
    let view = with_db(db, move |db| {
        if !db.delivery_pending(id)? {
            return Ok(None);
        }
        Ok(Some(db.incident(incident_id)?))
    })
    .await;
    let view = match view {
        Ok(Some(v)) => v,
        Ok(None) => return Sent::Skipped,
        Err(e) => {
            tracing::error!("cannot read incident {incident_id}: {e:#}");
            return Sent::Skipped;
        }
    };
    let Some(update) = view.updates.iter().find(|u| u.id == delivery.update_id) else {
        return Sent::Skipped;
    };
    let result = match &subscriber.channel {
        Channel::Webhook { url, secret } => {
            let body = render::notify::webhook_payload(snapshot, &view, update, delivery.event);
            webhooks
                .deliver(&WebhookRequest {
                    url,
                    secret: secret.as_bytes(),
                    event: delivery.event.as_str(),
                    idempotency_key: &delivery.key,
                    body: &body,
                })
                .await
                .map(|_| ())
        }
        Channel::Email { address } => match smtp {
            Some(mailer) => {
                let unsubscribe = render::notify::unsubscribe_url(&snapshot.url, &subscriber.token);
                let text = render::notify::email(
                    snapshot,
                    &view,
                    update,
                    delivery.event,
                    Some(&unsubscribe),
                );
                mailer
                    .send(&Email {
                        to: address,
                        subject: &text.subject,
                        text: &text.text,
                        html: Some(&text.html),
                        idempotency_key: &delivery.key,
                        list_unsubscribe: Some(&unsubscribe),
                    })
                    .await
            }
            None => Err(no_relay()),
        },
    };
    match result {
        Ok(()) => Sent::Ok,
        Err(e) => Sent::Failed(e),
    }
}

/// Whether `m` is a zone notice to a subscriber's webhook.
fn is_webhook_notice(m: &Message) -> bool {
    m.kind == MessageKind::ZoneNotice && m.address.is_none() && m.subscriber_id.is_some()
}

/// Sends a zone notice to its subscriber's webhook: a signed POST of
/// `{"event": "zone.notice", "subject": ..., "text": ...}`, like an
/// incident notification (same signature, idempotency key, no redirects).
async fn send_webhook_notice(db: &Arc<Mutex<StatusDb>>, webhooks: &Webhooks, m: &Message) -> Sent {
    let Some(id) = m.subscriber_id else {
        return Sent::Skipped;
    };
    let subscriber = match with_db(db, move |db| Ok(db.subscriber(id)?)).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(subscriber = id, "zone notice not sent: {e:#}");
            return Sent::Skipped;
        }
    };
    if subscriber.disabled_at.is_some() {
        return Sent::Skipped;
    }
    let Channel::Webhook { url, secret } = &subscriber.channel else {
        return Sent::Skipped;
    };
    let body = serde_json::json!({
        "event": "zone.notice",
        "account_id": m.account_id,
        "subject": m.subject,
        "text": m.body,
    })
    .to_string();
    let sent = webhooks
        .deliver(&WebhookRequest {
            url,
            secret: secret.as_bytes(),
            event: "zone.notice",
            idempotency_key: &m.key,
            body: body.as_bytes(),
        })
        .await;
    match sent {
        Ok(_) => Sent::Ok,
        Err(e) => Sent::Failed(e),
    }
}

/// Sends one message.
async fn send_message(
    smtp: &Option<Mailer>,
    account_address: AccountAddress,
    message: &Message,
) -> Sent {
    let to = match &message.address {
        Some(a) => Some(a.clone()),
        None => {
            let account = message.account_id;
            tokio::task::spawn_blocking(move || account_address(account))
                .await
                .ok()
                .flatten()
        }
    };
    let Some(to) = to else {
        tracing::warn!(
            account = message.account_id,
            "no address for a status message, so it is not sent: {}",
            message.subject
        );
        return Sent::Failed(DeliveryError {
            kind: FailureKind::Permanent,
            message: "the account has no e-mail address".into(),
        });
    };
    let Some(mailer) = smtp else {
        tracing::warn!(
            to,
            "no SMTP relay (--smtp-relay), so this is not sent: {}",
            message.subject
        );
        return Sent::Failed(no_relay());
    };
    let sent = mailer
        .send(&Email {
            to: &to,
            subject: &message.subject,
            text: &message.body,
            html: None,
            idempotency_key: &message.key,
            list_unsubscribe: message.list_unsubscribe.as_deref(),
        })
        .await;
    match sent {
        Ok(()) => Sent::Ok,
        Err(e) => Sent::Failed(e),
    }
}

/// The failure of an e-mail without a relay.
fn no_relay() -> DeliveryError {
    DeliveryError {
        kind: FailureKind::Permanent,
        message: "no SMTP relay is configured (--smtp-relay)".into(),
    }
}
