//! The deliverer's I/O: reads what was added to the outbox (by id, so a
//! pass costs what is new), hands it to the [`Outbox`], sends what it
//! starts as tasks of their own (one that hangs holds nothing but its own
//! slot) and writes the outcomes back in the background. It holds no
//! policy.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use candor_notify::schedule::{Limits, Millis};
use candor_notify::{Backoff, DeliveryError, Email, FailureKind, Mailer, WebhookRequest, Webhooks};
use candor_status::db::{StatusDb, StatusError, now};
use candor_status::model::{Channel, Delivery, Message, PageSnapshot, Subscriber};
use candor_status::render;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::outbox::{Cursor, JobKey, Loaded, Note, Outbox, Record, Sent, Work};

/// Outbox rows read at once (the rest follow on the next pass).
const READ_BATCH: usize = 5_000;

/// How often the outbox is read without being woken (for writes made by
/// the CLI in another process).
const POLL: Duration = Duration::from_secs(1);

/// The e-mail address of an account (`None`: the operator's), read from
/// the store; runs on a blocking thread.
pub type AccountAddress = Arc<dyn Fn(Option<i64>) -> Option<String> + Send + Sync>;

/// What the deliverer needs.
pub struct Notifier {
    /// The status database.
    pub db: Arc<Mutex<StatusDb>>,
    /// The webhook client.
    pub webhooks: Webhooks,
    /// The SMTP relay, when configured.
    pub smtp: Option<Mailer>,
    /// The operator's account in the store (its subscribers are the
    /// operator's), when the store is served.
    pub operator_account: Option<i64>,
    /// Where an account's messages go.
    pub account_address: AccountAddress,
    /// How many deliveries may be in flight.
    pub limits: Limits,
    /// Retry delays and when to disable.
    pub backoff: Backoff,
    /// The deliverer's clock.
    pub clock: Clock,
}

/// The deliverer's clock: the system's, or (for tests only, with
/// `--notify-clock-skew-file`) the system's plus the whole seconds
/// written in a file, read at every look at the clock. The scheduler and
/// the outbox's timestamps (failures, retries, disabling) follow it, so a
/// test can live through a day of failed deliveries in seconds.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// The file holding the skew in seconds, when set.
    skew_file: Option<Arc<PathBuf>>,
}

impl Clock {
    /// A clock skewed by the seconds in `file` (none: the system clock).
    pub fn skewed_by(file: Option<PathBuf>) -> Clock {
        Clock {
            skew_file: file.map(Arc::new),
        }
    }

    /// Unix time in milliseconds: the scheduler's clock.
    pub fn now_ms(&self) -> Millis {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        system.saturating_add(self.skew_secs().saturating_mul(1000))
    }

    /// Unix time in seconds: the outbox's clock.
    pub fn now(&self) -> i64 {
        i64::try_from(self.now_ms() / 1000).unwrap_or(i64::MAX)
    }

    /// The skew: the file's number of seconds (0 when unset, missing or
    /// not a number).
    fn skew_secs(&self) -> u64 {
        self.skew_file
            .as_deref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// Runs `f` on the database on the blocking pool.
pub async fn with_db<T: Send + 'static>(
    db: &Arc<Mutex<StatusDb>>,
    f: impl FnOnce(&mut StatusDb) -> Result<T, StatusError> + Send + 'static,
) -> Result<T, String> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = db.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    })
    .await
    .map_err(|e| format!("status database task failed: {e}"))?
    .map_err(|e| e.to_string())
}

/// What one finished send task reports.
struct Done {
    /// The job.
    job: JobKey,
    /// How it went.
    sent: Sent,
    /// When it started.
    started: Instant,
}

/// Runs the deliverer until `stop` turns; `changed` wakes it when the
/// database changed.
pub async fn run(
    notifier: Notifier,
    mut changed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let webhooks = Arc::new(notifier.webhooks);
    let smtp = Arc::new(notifier.smtp);
    let db = notifier.db;
    let clock = notifier.clock;
    let mut outbox = Outbox::new(notifier.limits, notifier.backoff, notifier.operator_account);
    // The page (for the texts) and the database generation it is of.
    let mut snapshot: Option<(i64, Arc<PageSnapshot>)> = None;
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let mut read = true;
    loop {
        if read {
            let generation = snapshot.as_ref().map(|(g, _)| *g);
            read = match load(&db, outbox.cursor(), generation).await {
                Ok((loaded, page)) => {
                    if let Some(page) = page {
                        snapshot = Some(page);
                    }
                    outbox.take(loaded)
                }
                Err(e) => {
                    tracing::error!("cannot read the outbox: {e}");
                    false
                }
            };
        }
        let now = clock.now_ms();
        if let Some((_, page)) = &snapshot {
            for (job, work) in outbox.start(now) {
                let (db, webhooks, smtp, page) =
                    (db.clone(), webhooks.clone(), smtp.clone(), page.clone());
                let addresses = notifier.account_address.clone();
                tasks.spawn(async move {
                    let started = Instant::now();
                    let sent = match work {
                        Work::Delivery(d, s) => {
                            send_delivery(&db, &webhooks, &smtp, &page, &d, &s).await
                        }
                        Work::Message(m) => send_message(&smtp, addresses, &m).await,
                    };
                    Done { job, sent, started }
                });
            }
        }
        let wake = outbox
            .next_wake(now)
            .map_or(POLL, |at| Duration::from_millis(at.saturating_sub(now)))
            .min(POLL);
        tokio::select! {
            _ = changed.changed() => read = true,
            _ = tokio::time::sleep(wake) => read = true,
            Some(done) = tasks.join_next() => {
                if let Ok(done) = done {
                    finish(&mut outbox, &db, done, &clock);
                }
                while let Some(Ok(done)) = tasks.try_join_next() {
                    finish(&mut outbox, &db, done, &clock);
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Reads what was added to the outbox since `cursor`, the subscribers it
/// needs and, when the database's generation is not `generation`, the
/// page.
async fn load(
    db: &Arc<Mutex<StatusDb>>,
    cursor: Cursor,
    generation: Option<i64>,
) -> Result<(Loaded, Option<(i64, Arc<PageSnapshot>)>), String> {
    with_db(db, move |db| {
        let deliveries = db.pending_deliveries(cursor.deliveries_read, READ_BATCH)?;
        let messages = db.pending_messages(cursor.messages_read, READ_BATCH)?;
        let more = deliveries.len() == READ_BATCH || messages.len() == READ_BATCH;
        let mut subscribers: Vec<Subscriber> = Vec::new();
        for d in &deliveries {
            if !cursor.queued.contains(&d.subscriber_id)
                && !subscribers.iter().any(|s| s.id == d.subscriber_id)
            {
                subscribers.push(db.subscriber(d.subscriber_id)?);
            }
        }
        let current = db.generation()?;
        let page = if generation != Some(current) {
            Some((current, Arc::new(db.snapshot(now())?)))
        } else {
            None
        };
        let loaded = Loaded {
            deliveries,
            subscribers,
            messages,
            more,
        };
        Ok((loaded, page))
    })
    .await
}

/// Tells the outbox how a send ended, logs it, and writes it to the
/// database in the background (the loop never waits for the database).
fn finish(outbox: &mut Outbox, db: &Arc<Mutex<StatusDb>>, done: Done, clock: &Clock) {
    let Done { job, sent, started } = done;
    let (record, note) = outbox.finish(job, sent, clock.now_ms());
    match note {
        Note::Quiet => {}
        Note::Delivered {
            subscriber,
            event,
            incident,
            attempt,
            since_due_ms,
        } => tracing::info!(
            subscriber,
            event,
            incident,
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            since_due_ms,
            "notification delivered"
        ),
        Note::Failed {
            subscriber,
            job,
            verdict,
            error,
        } => tracing::warn!(subscriber, job = ?job, verdict, "notification failed: {error}"),
        Note::Disabled {
            subscriber,
            abandoned,
            error,
        } => tracing::warn!(
            subscriber,
            abandoned,
            "subscriber disabled after failing deliveries for a long time; the last error: {error}"
        ),
    }
    let Some(record) = record else {
        return;
    };
    let db = db.clone();
    let at = clock.now();
    tokio::spawn(async move {
        let written = with_db(&db, move |db| {
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
            tracing::error!("cannot record a delivery: {e}");
        }
    });
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
            tracing::error!("cannot read incident {incident_id}: {e}");
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
