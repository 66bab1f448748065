//! The delivery outbox: queued in the same transaction as the update it
//! tells of, then sent, retried and given up on by the notifier.

use super::*;

/// How many outbox rows are in one state (see [`StatusDb::outbox_counts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxCount {
    /// `webhook` or `email`.
    pub channel: String,
    /// `notification` (an incident update to a subscriber) or `message`
    /// (another e-mail, such as a confirmation request).
    pub what: &'static str,
    /// `queued` (not tried yet), `retrying`, `sent` or `failed` (given up).
    pub state: &'static str,
    /// How many.
    pub count: u64,
}

impl StatusDb {
    /// The outbox by channel, kind and state, for the metrics: every row
    /// ever queued is in one state (rows are kept), so `sent` and `failed`
    /// only grow.
    pub fn outbox_counts(&self) -> Result<Vec<OutboxCount>> {
        let state = |done: &str, gave_up: &str| {
            format!(
                "CASE WHEN {done} IS NOT NULL THEN 'sent' WHEN {gave_up} IS NOT NULL THEN 'failed' \
                 WHEN attempts > 0 THEN 'retrying' ELSE 'queued' END"
            )
        };
        let sql = format!(
            "SELECT s.kind, 'notification', {}, COUNT(*) FROM deliveries d
                 JOIN subscribers s ON s.id = d.subscriber_id GROUP BY 1, 3
             UNION ALL
             SELECT 'email', 'message', {}, COUNT(*) FROM messages GROUP BY 3",
            state("d.delivered_at", "d.abandoned_at").replace("attempts", "d.attempts"),
            state("sent_at", "abandoned_at"),
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            let what: String = r.get(1)?;
            let state: String = r.get(2)?;
            Ok(OutboxCount {
                channel: r.get(0)?,
                what: if what == "message" {
                    "message"
                } else {
                    "notification"
                },
                state: match state.as_str() {
                    "sent" => "sent",
                    "failed" => "failed",
                    "retrying" => "retrying",
                    _ => "queued",
                },
                count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Deliveries due at `now`, oldest first, with their subscribers.
    pub fn due_deliveries(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<(Delivery, Subscriber)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, subscriber_id, incident_id, update_id, event, attempts, next_attempt_at,
                 delivered_at, last_error, abandoned_at
             FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], delivery_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut delivery, event) = row?;
            delivery.event = event.parse()?;
            let subscriber = self.subscriber(delivery.subscriber_id)?;
            out.push((delivery, subscriber));
        }
        Ok(out)
    }

    /// Pending deliveries (neither delivered nor given up) with an id above
    /// `after`, in id order, at most `limit`: the notifier reads the
    /// outbox once after a start and then only what was added since.
    pub fn pending_deliveries(&self, after: i64, limit: usize) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, subscriber_id, incident_id, update_id, event, attempts, next_attempt_at,
                 delivered_at, last_error, abandoned_at
             FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL AND id > ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], delivery_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut delivery, event) = row?;
            delivery.event = event.parse()?;
            out.push(delivery);
        }
        Ok(out)
    }

    /// True when a delivery is still to be made (not delivered, not given
    /// up, e.g. because its subscriber was removed meanwhile).
    pub fn delivery_pending(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM deliveries WHERE id = ?1 AND delivered_at IS NULL AND abandoned_at IS NULL",
                params![id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The earliest time a pending delivery falls due.
    pub fn next_due(&self) -> Result<Option<Timestamp>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every delivery of an incident (for tests and the CLI).
    pub fn deliveries(&self, incident_id: i64) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, subscriber_id, incident_id, update_id, event, attempts, next_attempt_at,
                 delivered_at, last_error, abandoned_at
             FROM deliveries WHERE incident_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![incident_id], delivery_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut delivery, event) = row?;
            delivery.event = event.parse()?;
            out.push(delivery);
        }
        Ok(out)
    }

    /// Marks a delivery done; the subscriber's failure count restarts.
    pub fn delivery_succeeded(&mut self, id: i64, now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET delivered_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        tx.execute(
            "UPDATE subscribers SET failures = 0, failing_since = NULL
             WHERE id = (SELECT subscriber_id FROM deliveries WHERE id = ?1)",
            params![id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt. `retry_at` is when to try again, `None`
    /// to give up on this delivery (a permanent failure). With `disable`
    /// the subscriber is switched off and its pending deliveries abandoned.
    pub fn delivery_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        disable: bool,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?2,
                 next_attempt_at = COALESCE(?3, next_attempt_at),
                 abandoned_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE NULL END
             WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        let subscriber: i64 = tx.query_row(
            "SELECT subscriber_id FROM deliveries WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE subscribers SET failures = failures + 1, failing_since = COALESCE(failing_since, ?2)
             WHERE id = ?1",
            params![subscriber, now],
        )?;
        if disable {
            let (kind, target, account, failures, since): (String, String, Option<i64>, u32, Option<i64>) =
                tx.query_row(
                    "SELECT kind, target, account_id, failures, failing_since FROM subscribers WHERE id = ?1",
                    params![subscriber],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )?;
            let since = since.unwrap_or(now);
            let reason = format!(
                "{failures} deliveries in a row failed over {}, since {}; the last error: {error}",
                crate::engine::duration(now - since),
                crate::engine::clock(since),
            );
            let changed = tx.execute(
                "UPDATE subscribers SET disabled_at = ?2, disabled_reason = ?3
                 WHERE id = ?1 AND disabled_at IS NULL",
                params![subscriber, now, reason],
            )?;
            if changed > 0 {
                let page = page_of(&tx)?;
                let (subject, body) = crate::render::notify::disabled_notice(
                    &page,
                    subscriber,
                    &format!("{kind} {target}"),
                    &reason,
                );
                insert_message(
                    &tx,
                    &NewMessage {
                        kind: MessageKind::SubscriberDisabled,
                        account_id: account,
                        subscriber_id: Some(subscriber),
                        address: None,
                        subject: &subject,
                        body: &body,
                        list_unsubscribe: None,
                    },
                    now,
                )?;
            }
            tx.execute(
                "UPDATE deliveries SET abandoned_at = ?2, last_error = COALESCE(last_error, 'subscriber disabled')
                 WHERE subscriber_id = ?1 AND delivered_at IS NULL AND abandoned_at IS NULL",
                params![subscriber, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

type DeliveryRow = (Delivery, String);

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok((
        Delivery {
            id: r.get(0)?,
            key: r.get(1)?,
            subscriber_id: r.get(2)?,
            incident_id: r.get(3)?,
            update_id: r.get(4)?,
            event: Event::IncidentCreated,
            attempts: r.get(6)?,
            next_attempt_at: r.get(7)?,
            delivered_at: r.get(8)?,
            last_error: r.get(9)?,
            abandoned_at: r.get(10)?,
        },
        r.get(5)?,
    ))
}

/// Queues one delivery per subscriber that wants to hear of this incident:
/// enabled, not removed, and either without a zone filter or sharing a zone
/// with the incident (an incident naming no zone affects every zone).
pub(super) fn queue_deliveries(
    tx: &Transaction<'_>,
    incident_id: i64,
    update_id: i64,
    event: Event,
    now: Timestamp,
) -> Result<usize> {
    let subscribers: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT s.id FROM subscribers s
             WHERE s.removed_at IS NULL AND s.disabled_at IS NULL
               AND (s.public = 0 OR s.confirmed_at IS NOT NULL) AND (
                 NOT EXISTS (SELECT 1 FROM subscriber_zones sz WHERE sz.subscriber_id = s.id)
                 OR NOT EXISTS (SELECT 1 FROM incident_zones iz WHERE iz.incident_id = ?1)
                 OR EXISTS (SELECT 1 FROM subscriber_zones sz JOIN incident_zones iz ON iz.zone = sz.zone
                            WHERE sz.subscriber_id = s.id AND iz.incident_id = ?1))
             ORDER BY s.id",
        )?;
        let rows = stmt.query_map(params![incident_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for subscriber in &subscribers {
        tx.execute(
            "INSERT INTO deliveries(key, subscriber_id, incident_id, update_id, event, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![random_id(24), subscriber, incident_id, update_id, event.as_str(), now],
        )?;
    }
    Ok(subscribers.len())
}

/// The page's name and public URL, for texts written inside a transaction.
pub(super) fn page_of(tx: &Transaction<'_>) -> Result<crate::render::notify::Page> {
    let get = |key: &str| -> Result<Option<String>> {
        Ok(tx
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    };
    Ok(crate::render::notify::Page {
        name: get("page_name")?.unwrap_or_else(|| "Candor status".to_owned()),
        url: get("page_url")?.unwrap_or_default(),
    })
}

/// A message to queue.
pub(super) struct NewMessage<'a> {
    /// What it is about.
    pub(super) kind: MessageKind,
    /// The account told when `address` is `None`.
    pub(super) account_id: Option<i64>,
    /// The subscriber it is about.
    pub(super) subscriber_id: Option<i64>,
    /// Where to send it.
    pub(super) address: Option<&'a str>,
    /// Subject.
    pub(super) subject: &'a str,
    /// Plain-text body.
    pub(super) body: &'a str,
    /// One-click unsubscribe URL.
    pub(super) list_unsubscribe: Option<&'a str>,
}

/// Queues a message, due now.
pub(super) fn insert_message(
    tx: &Transaction<'_>,
    m: &NewMessage<'_>,
    now: Timestamp,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO messages(key, kind, account_id, subscriber_id, address, subject, body,
             list_unsubscribe, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            random_id(24),
            m.kind.as_str(),
            m.account_id,
            m.subscriber_id,
            m.address,
            m.subject,
            m.body,
            m.list_unsubscribe,
            now
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

impl StatusDb {
    /// Pending messages with an id above `after`, in id order, at most
    /// `limit`.
    pub fn pending_messages(&self, after: i64, limit: usize) -> Result<Vec<Message>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, key, kind, account_id, subscriber_id, address, subject, body, list_unsubscribe,
                 attempts, next_attempt_at
             FROM messages WHERE sent_at IS NULL AND abandoned_at IS NULL AND id > ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok((
                Message {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    kind: MessageKind::Confirmation,
                    account_id: r.get(3)?,
                    subscriber_id: r.get(4)?,
                    address: r.get(5)?,
                    subject: r.get(6)?,
                    body: r.get(7)?,
                    list_unsubscribe: r.get(8)?,
                    attempts: r.get(9)?,
                    next_attempt_at: r.get(10)?,
                },
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut m, kind) = row?;
            m.kind = kind.parse()?;
            out.push(m);
        }
        Ok(out)
    }

    /// Records a message sent.
    pub fn message_sent(&mut self, id: i64, now: Timestamp) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Records a failed attempt at a message: tried again at `retry_at`, or
    /// given up (`None`).
    pub fn message_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET attempts = attempts + 1, last_error = ?2,
                 next_attempt_at = COALESCE(?3, next_attempt_at),
                 abandoned_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE NULL END
             WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        Ok(())
    }

    /// Pending messages about a subscriber (for tests).
    pub fn messages_about(&self, subscriber_id: i64) -> Result<Vec<Message>> {
        Ok(self
            .pending_messages(0, usize::MAX >> 1)?
            .into_iter()
            .filter(|m| m.subscriber_id == Some(subscriber_id))
            .collect())
    }
}
