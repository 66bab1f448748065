//! The notifier's I/O: reads the status database's outbox, lets
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
use candor_status::model::{Channel, Delivery, PageSnapshot, Subscriber};
use candor_status::render;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::status::with_db;

/// Outbox rows read at once (the rest follow on the next pass).
const READ_BATCH: usize = 5_000;

/// How often the outbox is read without being woken (for writes made by
/// the CLI in another process).
const POLL: Duration = Duration::from_secs(1);

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
    /// How many deliveries may be in flight.
    pub(crate) limits: Limits,
    /// Retry delays and when to disable.
    pub(crate) backoff: Backoff,
}

/// Unix time in milliseconds: the scheduler's clock.
fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Who a subscriber belongs to, for the scheduler.
fn owner(subscriber: &Subscriber, operator: Option<i64>) -> Owner {
    match subscriber.account_id {
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
    /// The delivery.
    delivery: Delivery,
    /// The subscriber.
    subscriber: i64,
    /// How it went.
    sent: Sent,
    /// When it started.
    started: Instant,
}

/// Runs the notifier until `stop` turns.
pub(crate) async fn run(
    notifier: Notifier,
    mut changed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let Notifier {
        db,
        webhooks,
        smtp,
        operator_account,
        limits,
        backoff,
    } = notifier;
    let webhooks = Arc::new(webhooks);
    let smtp = Arc::new(smtp);
    let mut scheduler: Scheduler<i64, i64> = Scheduler::new(limits, backoff);
    let mut subscribers: HashMap<i64, Arc<Subscriber>> = HashMap::new();
    let mut deliveries: HashMap<i64, Delivery> = HashMap::new();
    let mut watermark = 0i64;
    let mut snapshot: Option<(i64, Arc<PageSnapshot>)> = None;
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut read = true;
    loop {
        if read {
            read = false;
            match load(&db, watermark, &snapshot, &subscribers, &scheduler).await {
                Ok(loaded) => {
                    if let Some(s) = loaded.snapshot {
                        snapshot = Some(s);
                    }
                    for s in loaded.subscribers {
                        scheduler.queue(
                            s.id,
                            QueueInfo {
                                owner: owner(&s, operator_account),
                                medium: medium(&s),
                                failures: s.failures,
                                failing_since: s
                                    .failing_since
                                    .map(|t| u64::try_from(t).unwrap_or(0) * 1000),
                            },
                        );
                        subscribers.insert(s.id, Arc::new(s));
                    }
                    for d in loaded.deliveries {
                        watermark = watermark.max(d.id);
                        let job = Job {
                            key: d.id,
                            due: u64::try_from(d.next_attempt_at).unwrap_or(0) * 1000,
                            attempts: d.attempts,
                            seed: jitter_seed(&d.key),
                        };
                        if scheduler.offer(d.subscriber_id, job) {
                            deliveries.insert(d.id, d);
                        }
                    }
                    if loaded.more {
                        read = true;
                    }
                }
                Err(e) => tracing::error!("cannot read the outbox: {e:#}"),
            }
        }
        let now = now_ms();
        if let Some((_, page)) = &snapshot {
            for start in scheduler.poll(now) {
                let (Some(d), Some(s)) = (
                    deliveries.get(&start.job).cloned(),
                    subscribers.get(&start.queue).cloned(),
                ) else {
                    scheduler.cancel(start.job);
                    continue;
                };
                tasks.spawn(send(
                    db.clone(),
                    webhooks.clone(),
                    smtp.clone(),
                    page.clone(),
                    d,
                    s,
                ));
            }
        }
        let wake = scheduler
            .next_wake(now)
            .map_or(POLL, |at| Duration::from_millis(at.saturating_sub(now)))
            .min(POLL);
        tokio::select! {
            _ = changed.changed() => read = true,
            _ = tokio::time::sleep(wake) => read = true,
            Some(done) = tasks.join_next() => {
                if let Ok(done) = done {
                    finish(&db, &mut scheduler, &mut deliveries, done, now_ms());
                }
                while let Some(Ok(done)) = tasks.try_join_next() {
                    finish(&db, &mut scheduler, &mut deliveries, done, now_ms());
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
    /// The page (name, address, overall state) when it changed.
    snapshot: Option<(i64, Arc<PageSnapshot>)>,
    /// There are more rows to read.
    more: bool,
}

/// Reads deliveries added since `watermark`, the subscribers they need
/// and, when the database changed, the page.
async fn load(
    db: &Arc<Mutex<StatusDb>>,
    watermark: i64,
    snapshot: &Option<(i64, Arc<PageSnapshot>)>,
    known: &HashMap<i64, Arc<Subscriber>>,
    scheduler: &Scheduler<i64, i64>,
) -> anyhow::Result<Loaded> {
    let generation = snapshot.as_ref().map(|(g, _)| *g);
    // Subscribers the scheduler forgot (disabled) are read again: they
    // may have been re-enabled.
    let have: Vec<i64> = known
        .keys()
        .copied()
        .filter(|id| scheduler.has_queue(*id))
        .collect();
    with_db(db, move |db| {
        let deliveries = db.pending_deliveries(watermark, READ_BATCH)?;
        let more = deliveries.len() == READ_BATCH;
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
            snapshot,
            more,
        })
    })
    .await
}

/// Sends one delivery.
async fn send(
    db: Arc<Mutex<StatusDb>>,
    webhooks: Arc<Webhooks>,
    smtp: Arc<Option<Mailer>>,
    snapshot: Arc<PageSnapshot>,
    delivery: Delivery,
    subscriber: Arc<Subscriber>,
) -> Done {
    let started = Instant::now();
    let (id, incident_id) = (delivery.id, delivery.incident_id);
    let view = with_db(&db, move |db| {
        if !db.delivery_pending(id)? {
            return Ok(None);
        }
        Ok(Some(db.incident(incident_id)?))
    })
    .await;
    let view = match view {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Done {
                subscriber: subscriber.id,
                delivery,
                sent: Sent::Skipped,
                started,
            };
        }
        Err(e) => {
            tracing::error!("cannot read incident {incident_id}: {e:#}");
            return Done {
                subscriber: subscriber.id,
                delivery,
                sent: Sent::Skipped,
                started,
            };
        }
    };
    let Some(update) = view.updates.iter().find(|u| u.id == delivery.update_id) else {
        return Done {
            subscriber: subscriber.id,
            delivery,
            sent: Sent::Skipped,
            started,
        };
    };
    let result = match &subscriber.channel {
        Channel::Webhook { url, secret } => {
            let body = render::notify::webhook_payload(&snapshot, &view, update, delivery.event);
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
        Channel::Email { address } => match smtp.as_ref() {
            Some(mailer) => {
                let text = render::notify::email(&snapshot, &view, update, delivery.event);
                mailer
                    .send(&Email {
                        to: address,
                        subject: &text.subject,
                        text: &text.text,
                        html: Some(&text.html),
                        idempotency_key: &delivery.key,
                        list_unsubscribe: None,
                    })
                    .await
            }
            None => Err(DeliveryError {
                kind: FailureKind::Permanent,
                message: "no SMTP relay is configured (--smtp-relay)".into(),
            }),
        },
    };
    Done {
        subscriber: subscriber.id,
        delivery,
        sent: match result {
            Ok(()) => Sent::Ok,
            Err(e) => Sent::Failed(e),
        },
        started,
    }
}

/// Tells the scheduler how a send ended and writes it to the outbox (in
/// the background: the loop never waits for the database).
fn finish(
    db: &Arc<Mutex<StatusDb>>,
    scheduler: &mut Scheduler<i64, i64>,
    deliveries: &mut HashMap<i64, Delivery>,
    done: Done,
    now: Millis,
) {
    let Done {
        delivery,
        subscriber,
        sent,
        started,
    } = done;
    let id = delivery.id;
    let record = match sent {
        Sent::Skipped => {
            scheduler.cancel(id);
            deliveries.remove(&id);
            return;
        }
        Sent::Ok => {
            scheduler.succeeded(id);
            deliveries.remove(&id);
            let due = u64::try_from(delivery.next_attempt_at).unwrap_or(0) * 1000;
            tracing::info!(
                subscriber,
                event = delivery.event.as_str(),
                incident = delivery.incident_id,
                attempt = delivery.attempts + 1,
                elapsed_ms = started.elapsed().as_millis() as u64,
                since_due_ms = now.saturating_sub(due),
                "notification delivered"
            );
            Record::Succeeded
        }
        Sent::Failed(e) => {
            let Some(verdict) = scheduler.failed(id, now, e.kind) else {
                return;
            };
            tracing::warn!(
                subscriber,
                attempt = delivery.attempts + 1,
                verdict = ?verdict,
                "notification failed: {e}"
            );
            let message = e.message;
            match verdict {
                Verdict::Retry { at } => {
                    if let Some(d) = deliveries.get_mut(&id) {
                        d.attempts += 1;
                        d.next_attempt_at = i64::try_from(at.div_ceil(1000)).unwrap_or(i64::MAX);
                    }
                    Record::Failed {
                        message,
                        retry: Some(i64::try_from(at.div_ceil(1000)).unwrap_or(i64::MAX)),
                        disable: false,
                    }
                }
                Verdict::GiveUp => {
                    deliveries.remove(&id);
                    Record::Failed {
                        message,
                        retry: None,
                        disable: false,
                    }
                }
                Verdict::Disable { abandoned } => {
                    for a in &abandoned {
                        deliveries.remove(a);
                    }
                    tracing::warn!(
                        subscriber,
                        abandoned = abandoned.len(),
                        "subscriber disabled after failed deliveries"
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
    let db = db.clone();
    tokio::spawn(async move {
        let written = with_db(&db, move |db| {
            match record {
                Record::Succeeded => db.delivery_succeeded(id, candor_status::db::now())?,
                Record::Failed {
                    message,
                    retry,
                    disable,
                } => db.delivery_failed(id, &message, retry, disable, candor_status::db::now())?,
            }
            Ok(())
        })
        .await;
        if let Err(e) = written {
            tracing::error!("cannot record a delivery: {e:#}");
        }
    });
}

/// What to write to the outbox after a send.
enum Record {
    /// It was delivered.
    Succeeded,
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
