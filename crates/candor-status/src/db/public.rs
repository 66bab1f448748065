//! Subscriptions made on the public page, without an account: e-mail with
//! double opt-in (nothing but the confirmation request is sent before the
//! address is confirmed), webhooks, and the links in every e-mail that
//! confirm or end a subscription by its token.

use super::outbox::{NewMessage, insert_message, page_of};
use super::subscribers::check_channel;
use super::*;

/// Unconfirmed public addresses are dropped after this long (seconds).
pub const UNCONFIRMED_TTL: i64 = 7 * 86_400;

/// What asking to subscribe an address on the public page did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicEmail {
    /// A confirmation request was queued to the address.
    ConfirmationQueued(Subscriber),
    /// The address is subscribed and confirmed already; nothing was sent.
    AlreadySubscribed(Subscriber),
}

impl StatusDb {
    /// Subscribes an address from the public page: a new, unconfirmed
    /// subscriber and a confirmation request to it, or for an address
    /// waiting for confirmation, the request again. The caller limits how
    /// often (per address and per client).
    pub fn subscribe_public_email(&mut self, address: &str, now: Timestamp) -> Result<PublicEmail> {
        let address = address.trim();
        let channel = Channel::Email {
            address: address.to_owned(),
        };
        check_channel(&channel)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE subscribers SET removed_at = ?1
             WHERE public = 1 AND confirmed_at IS NULL AND removed_at IS NULL AND created_at < ?2",
            params![now, now - UNCONFIRMED_TTL],
        )?;
        let existing: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT id, confirmed_at FROM subscribers
                 WHERE public = 1 AND kind = 'email' AND target = ?1 COLLATE NOCASE
                   AND removed_at IS NULL
                 ORDER BY id DESC LIMIT 1",
                params![address],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let id = match existing {
            Some((id, Some(_))) => {
                tx.commit()?;
                return Ok(PublicEmail::AlreadySubscribed(self.subscriber(id)?));
            }
            Some((id, None)) => id,
            None => {
                tx.execute(
                    "INSERT INTO subscribers(kind, target, created_at, token, public)
                     VALUES ('email', ?1, ?2, ?3, 1)",
                    params![address, now, random_id(32)],
                )?;
                tx.last_insert_rowid()
            }
        };
        let token: String = tx.query_row(
            "SELECT token FROM subscribers WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        let page = page_of(&tx)?;
        let (subject, body) = crate::render::notify::confirmation(&page, &token);
        insert_message(
            &tx,
            &NewMessage {
                kind: MessageKind::Confirmation,
                account_id: None,
                subscriber_id: Some(id),
                address: Some(address),
                subject: &subject,
                body: &body,
                list_unsubscribe: None,
            },
            now,
        )?;
        tx.commit()?;
        Ok(PublicEmail::ConfirmationQueued(self.subscriber(id)?))
    }

    /// Subscribes a webhook from the public page (its secret is shown
    /// once, on the answer to the form).
    pub fn subscribe_public_webhook(
        &mut self,
        url: &str,
        secret: &str,
        now: Timestamp,
    ) -> Result<Subscriber> {
        let channel = Channel::Webhook {
            url: url.trim().to_owned(),
            secret: secret.to_owned(),
        };
        let (kind, target, secret) = check_channel(&channel)?;
        self.conn.execute(
            "INSERT INTO subscribers(kind, target, secret, created_at, token, public, confirmed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?4)",
            params![kind, target, secret, now, random_id(32)],
        )?;
        let id = self.conn.last_insert_rowid();
        self.subscriber(id)
    }

    /// The subscriber (not removed) with this token.
    pub fn subscriber_by_token(&self, token: &str) -> Result<Subscriber> {
        if token.is_empty() {
            return Err(StatusError::NotFound("subscription".into()));
        }
        self.subscribers_where("token = ?1 AND removed_at IS NULL", params![token])?
            .pop()
            .ok_or_else(|| StatusError::NotFound("subscription".into()))
    }

    /// Confirms the address of the subscriber with this token; it is sent
    /// incident notifications from now on.
    pub fn confirm_subscriber(&mut self, token: &str, now: Timestamp) -> Result<Subscriber> {
        let s = self.subscriber_by_token(token)?;
        self.conn.execute(
            "UPDATE subscribers SET confirmed_at = ?2 WHERE id = ?1 AND confirmed_at IS NULL",
            params![s.id, now],
        )?;
        self.subscriber(s.id)
    }

    /// Ends the subscription with this token (the one-click unsubscribe of
    /// every e-mail); pending deliveries to it are dropped.
    pub fn unsubscribe_by_token(&mut self, token: &str, now: Timestamp) -> Result<Subscriber> {
        let s = self.subscriber_by_token(token)?;
        self.remove_subscriber(s.id, None, now)?;
        Ok(s)
    }
}
