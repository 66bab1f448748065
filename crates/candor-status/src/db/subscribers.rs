//! Subscribers: who hears of incidents, and where.

use super::*;

impl StatusDb {
    /// Adds a subscriber. A webhook URL must be http(s); an address must
    /// look like one. Zones are lower-cased without the final dot.
    pub fn add_subscriber(
        &mut self,
        channel: &Channel,
        account_id: Option<i64>,
        zones: &[String],
        now: Timestamp,
    ) -> Result<Subscriber> {
        let zones = zones
            .iter()
            .map(|z| check_zone(z))
            .collect::<Result<Vec<_>>>()?;
        let (kind, target, secret) = check_channel(channel)?;
        let tx = self.conn.transaction()?;
        if let Some(account) = account_id {
            let limit = max_subscriptions(&tx)?;
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM subscribers WHERE account_id = ?1 AND removed_at IS NULL",
                params![account],
                |r| r.get(0),
            )?;
            if count >= limit {
                return Err(invalid(
                    "subscriptions",
                    format!("an account may have at most {limit} subscriptions; remove one first"),
                ));
            }
        }
        tx.execute(
            "INSERT INTO subscribers(kind, target, secret, account_id, created_at, token, confirmed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
            params![kind, target, secret, account_id, now, random_id(32)],
        )?;
        let id = tx.last_insert_rowid();
        for zone in &zones {
            tx.execute(
                "INSERT OR IGNORE INTO subscriber_zones(subscriber_id, zone) VALUES (?1, ?2)",
                params![id, zone],
            )?;
        }
        tx.commit()?;
        self.subscriber(id)
    }

    /// One subscriber (also removed ones, whose deliveries may be pending).
    pub fn subscriber(&self, id: i64) -> Result<Subscriber> {
        self.subscribers_where("id = ?1", params![id])?
            .pop()
            .ok_or_else(|| StatusError::NotFound(format!("subscriber {id}")))
    }

    /// Subscribers of an account (`None`: the operator's own), not removed.
    pub fn subscribers(&self, account_id: Option<i64>) -> Result<Vec<Subscriber>> {
        match account_id {
            Some(a) => self.subscribers_where("account_id = ?1 AND removed_at IS NULL", params![a]),
            None => self.subscribers_where("removed_at IS NULL", []),
        }
    }

    pub(super) fn subscribers_where(
        &self,
        filter: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Subscriber>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, kind, target, secret, account_id, created_at, failures, disabled_at, failing_since,
                 disabled_reason, token, public, confirmed_at
             FROM subscribers WHERE {filter} ORDER BY id"
        ))?;
        let rows = stmt.query_map(args, |r| {
            let kind: String = r.get(1)?;
            let target: String = r.get(2)?;
            let channel = if kind == "webhook" {
                Channel::Webhook {
                    url: target,
                    secret: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                }
            } else {
                Channel::Email { address: target }
            };
            Ok(Subscriber {
                id: r.get(0)?,
                channel,
                account_id: r.get(4)?,
                zones: Vec::new(),
                created_at: r.get(5)?,
                failures: r.get(6)?,
                disabled_at: r.get(7)?,
                failing_since: r.get(8)?,
                disabled_reason: r.get(9)?,
                token: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                public: r.get(11)?,
                confirmed_at: r.get(12)?,
            })
        })?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT zone FROM subscriber_zones WHERE subscriber_id = ?1 ORDER BY zone",
        )?;
        for s in &mut out {
            s.zones = stmt
                .query_map(params![s.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(out)
    }

    /// Removes a subscriber (scoped to `account_id` when given). Pending
    /// deliveries to it are abandoned.
    pub fn remove_subscriber(
        &mut self,
        id: i64,
        account_id: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE subscribers SET removed_at = ?3
             WHERE id = ?1 AND removed_at IS NULL AND (?2 IS NULL OR account_id = ?2)",
            params![id, account_id, now],
        )?;
        if n == 0 {
            return Err(StatusError::NotFound(format!("subscriber {id}")));
        }
        tx.execute(
            "UPDATE deliveries SET abandoned_at = ?2, last_error = 'subscriber removed'
             WHERE subscriber_id = ?1 AND delivered_at IS NULL AND abandoned_at IS NULL",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Re-enables a subscriber disabled after failures.
    pub fn enable_subscriber(&mut self, id: i64, account_id: Option<i64>) -> Result<Subscriber> {
        let n = self.conn.execute(
            "UPDATE subscribers SET disabled_at = NULL, disabled_reason = NULL, failures = 0, failing_since = NULL
             WHERE id = ?1 AND removed_at IS NULL AND (?2 IS NULL OR account_id = ?2)",
            params![id, account_id],
        )?;
        if n == 0 {
            return Err(StatusError::NotFound(format!("subscriber {id}")));
        }
        self.subscriber(id)
    }
}

/// Subscriptions one account may have, unless the operator set another
/// number ([`StatusDb::set_max_subscriptions`]).
pub const MAX_SUBSCRIPTIONS: i64 = 100;

/// The operator's limit on subscriptions per account.
fn max_subscriptions(tx: &Transaction<'_>) -> Result<i64> {
    let set: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'max_subscriptions'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(set
        .and_then(|v| v.parse().ok())
        .unwrap_or(MAX_SUBSCRIPTIONS))
}

impl StatusDb {
    /// Sets how many subscriptions one account may have (each costs a
    /// delivery per incident update; the operator's own are not counted).
    pub fn set_max_subscriptions(&mut self, limit: u32) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('max_subscriptions', ?1)
             ON CONFLICT(key) DO UPDATE SET value = ?1",
            params![limit.to_string()],
        )?;
        Ok(())
    }
}

/// Checks a channel: a webhook URL must be http(s), with a secret of at
/// least 16 characters; an address must look like one. Returns the stored
/// kind, target and secret.
pub(super) fn check_channel(channel: &Channel) -> Result<(&'static str, &str, Option<&str>)> {
    Ok(match channel {
        Channel::Webhook { url, secret } => {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.len() < 10 {
                return Err(invalid("url", "must be an http:// or https:// URL"));
            }
            if url.len() > 2000 || url.chars().any(char::is_whitespace) {
                return Err(invalid(
                    "url",
                    "must be at most 2000 characters, without spaces",
                ));
            }
            if secret.len() < 16 {
                return Err(invalid("secret", "must be at least 16 characters"));
            }
            ("webhook", url.as_str(), Some(secret.as_str()))
        }
        Channel::Email { address } => {
            let ok = address.len() <= 254
                && address.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                })
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',');
            if !ok {
                return Err(invalid(
                    "email",
                    format!("{address:?} is not an e-mail address"),
                ));
            }
            ("email", address.as_str(), None)
        }
    })
}
