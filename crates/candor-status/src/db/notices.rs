//! Private notices to one account's subscribers: not incidents (nothing
//! on the public page), but messages in the same outbox, delivered by the
//! same notifier to each subscriber's webhook or e-mail address. Used to
//! tell a zone's owner that the zone is under attack.

use super::outbox::{NewMessage, insert_message};
use super::{Result, StatusDb};
use crate::model::{Channel, MessageKind, Timestamp};

/// `zone` as subscriptions store it: lower case, no final dot.
fn plain(zone: &str) -> String {
    zone.trim_end_matches('.').to_ascii_lowercase()
}

impl StatusDb {
    /// Queues a private notice about `zone` to every enabled subscriber of
    /// `account_id` that follows it (subscribed without a zone filter, or
    /// with `zone` in it): one message per subscriber, sent to its webhook
    /// or its e-mail address. Returns how many were queued.
    pub fn queue_zone_notice(
        &mut self,
        account_id: i64,
        zone: &str,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<usize> {
        let zone = plain(zone);
        let targets: Vec<(i64, Option<String>)> = self
            .subscribers(Some(account_id))?
            .into_iter()
            .filter(|s| s.disabled_at.is_none() && !s.public)
            .filter(|s| s.zones.is_empty() || s.zones.iter().any(|z| plain(z) == zone))
            .map(|s| {
                let address = match s.channel {
                    Channel::Email { address } => Some(address),
                    Channel::Webhook { .. } => None,
                };
                (s.id, address)
            })
            .collect();
        let tx = self.conn.transaction()?;
        for (subscriber, address) in &targets {
            insert_message(
                &tx,
                &NewMessage {
                    kind: MessageKind::ZoneNotice,
                    account_id: Some(account_id),
                    subscriber_id: Some(*subscriber),
                    address: address.as_deref(),
                    subject,
                    body,
                    list_unsubscribe: None,
                },
                now,
            )?;
        }
        Self::bump(&tx)?;
        tx.commit()?;
        Ok(targets.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::db::StatusDb;
    use crate::model::{Channel, MessageKind};

    /// A webhook channel with a secret.
    fn webhook(n: u32) -> Channel {
        Channel::Webhook {
            url: format!("https://hooks.example.net/{n}"),
            secret: "0123456789abcdef".to_owned(),
        }
    }

    /// The account's subscribers that follow the zone get the notice, to
    /// their webhook or address; others, and other accounts, get nothing.
    #[test]
    fn a_zone_notice_reaches_the_owners_subscribers_only() {
        let mut db = StatusDb::open_memory().expect("db");
        let all = db
            .add_subscriber(&webhook(1), Some(7), &[], 10)
            .expect("sub");
        let mail = Channel::Email {
            address: "owner@example.org".to_owned(),
        };
        let this = db
            .add_subscriber(&mail, Some(7), &["victim.example".into()], 10)
            .expect("sub");
        db.add_subscriber(&webhook(2), Some(7), &["other.example".into()], 10)
            .expect("sub");
        db.add_subscriber(&webhook(3), Some(8), &[], 10)
            .expect("sub");
        db.add_subscriber(&webhook(4), None, &[], 10).expect("sub");
        let queued = db
            .queue_zone_notice(7, "Victim.Example.", "Under attack", "Details", 20)
            .expect("queued");
        assert_eq!(queued, 2);
        let messages = db.pending_messages(0, 10).expect("messages");
        let got: Vec<_> = messages
            .iter()
            .map(|m| (m.kind, m.account_id, m.subscriber_id, m.address.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (MessageKind::ZoneNotice, Some(7), Some(all.id), None),
                (
                    MessageKind::ZoneNotice,
                    Some(7),
                    Some(this.id),
                    Some("owner@example.org".to_owned())
                ),
            ]
        );
    }
}
