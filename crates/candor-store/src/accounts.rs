//! Accounts and API tokens.

use rusqlite::{OptionalExtension, Row, params};

use crate::history::{self, Audit};
use crate::time::{now, rfc3339};
use crate::{
    Account, Actor, Grant, Role, Store, StoreError, TokenInfo, ZoneChange, ZoneInfo, db, token,
};

/// Columns read by [`account_from_row`].
const ACCOUNT_COLUMNS: &str = "id, email, created_at, updated_at, suspended_at";

/// The operator's account: the first account created (lowest id). It runs
/// the installation (settings, TSIG keys, the status page, other
/// accounts), and can be neither suspended nor deleted.
const OPERATOR_SQL: &str = "SELECT MIN(id) FROM accounts";

/// Columns read by [`token_from_row`].
pub(crate) const TOKEN_COLUMNS: &str = "id, account_id, name, created_at, last_used_at, user_id";

/// Longest token name.
const MAX_TOKEN_NAME: usize = 100;

/// Reads an account row.
fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        email: row.get(1)?,
        created_at: rfc3339(row.get(2)?),
        updated_at: rfc3339(row.get(3)?),
        suspended_at: row.get::<_, Option<i64>>(4)?.map(rfc3339),
    })
}

/// The operator's account id, if there is any account.
fn operator_id(conn: &rusqlite::Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row(OPERATOR_SQL, [], |row| row.get(0))?)
}

/// Fails unless `account_id` exists and is not the operator's account,
/// which must not be suspended or deleted: nobody could run the
/// installation afterwards.
fn customer_account(conn: &rusqlite::Connection, account_id: i64) -> Result<Account, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
    let account = conn
        .query_row(&sql, [account_id], account_from_row)
        .optional()?
        .ok_or(StoreError::NotFound("account"))?;
    if operator_id(conn)? == Some(account_id) {
        return Err(StoreError::invalid(
            "account",
            "is the operator's account, which can be neither suspended nor deleted",
        ));
    }
    Ok(account)
}
fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.get(0)?,
        account_id: row.get(1)?,
        name: row.get(2)?,
        created_at: rfc3339(row.get(3)?),
        last_used_at: row.get::<_, Option<i64>>(4)?.map(rfc3339),
        user_id: row.get(5)?,
    })
}

/// Checks an e-mail address (loosely: something@something, no spaces).
pub(crate) fn check_email(email: &str) -> Result<(), StoreError> {
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if email.is_empty() {
        return Err(StoreError::invalid("email", "can't be blank"));
    }
    if !valid {
        return Err(StoreError::invalid(
            "email",
            "is not a valid e-mail address",
        ));
    }
    Ok(())
}

impl Store {
    /// Creates an account. E-mail addresses are unique without regard to
    /// case (Conflict).
    pub fn create_account(&self, email: &str) -> Result<Account, StoreError> {
        let email = email.trim();
        check_email(email)?;
        self.write(|tx| {
            let at = now();
            let inserted = tx.execute(
                "INSERT INTO accounts (email, created_at, updated_at) VALUES (?1, ?2, ?2)",
                params![email, at],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if db::is_constraint(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "an account with e-mail {email} already exists"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(Account {
                id: tx.last_insert_rowid(),
                email: email.to_owned(),
                created_at: rfc3339(at),
                updated_at: rfc3339(at),
                suspended_at: None,
            })
        })
    }

    /// The operator's account: the first account (lowest id), `None` in an
    /// empty store.
    pub fn operator_account(&self) -> Result<Option<i64>, StoreError> {
        self.read(|tx| operator_id(tx))
    }

    /// What a token may do: its role in its account, and whether that
    /// account is the operator's or suspended. `None` when the token acts
    /// for a user who is no longer a member of the account: such a token
    /// authenticates nobody.
    pub fn grant(&self, token: TokenInfo) -> Result<Option<Grant>, StoreError> {
        self.read(|tx| {
            let role = match token.user_id {
                None => Some(Role::Owner),
                Some(user) => tx
                    .query_row(
                        "SELECT role FROM memberships WHERE account_id = ?1 AND user_id = ?2",
                        params![token.account_id, user],
                        |row| row.get::<_, String>(0),
                    )
                    .optional()?
                    .as_deref()
                    .and_then(Role::parse),
            };
            let Some(role) = role else {
                return Ok(None);
            };
            let suspended: Option<Option<i64>> = tx
                .query_row(
                    "SELECT suspended_at FROM accounts WHERE id = ?1",
                    [token.account_id],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(suspended) = suspended else {
                return Ok(None);
            };
            let operator = operator_id(tx)? == Some(token.account_id);
            Ok(Some(Grant {
                token,
                role,
                operator,
                suspended: suspended.is_some(),
            }))
        })
    }

    /// Suspends a customer's account: its zones keep being served, as
    /// DNSimple keeps serving the zones of accounts it suspends (taking a
    /// customer's names off the Internet is a bigger step than stopping
    /// their changes, and deleting the account does it), but its tokens
    /// may only read. Suspending a suspended account changes nothing; the
    /// operator's account cannot be suspended.
    pub fn suspend_account(&self, account_id: i64, actor: &Actor) -> Result<Account, StoreError> {
        self.set_suspension(account_id, Some(now()), actor)
    }

    /// Lifts a suspension (an active account stays as it is).
    pub fn unsuspend_account(&self, account_id: i64, actor: &Actor) -> Result<Account, StoreError> {
        self.set_suspension(account_id, None, actor)
    }

    /// Does the work of [`Store::suspend_account`] and
    /// [`Store::unsuspend_account`]: `at` is the suspension time, or
    /// `None` to lift it.
    fn set_suspension(
        &self,
        account_id: i64,
        at: Option<i64>,
        actor: &Actor,
    ) -> Result<Account, StoreError> {
        self.write(|tx| {
            let account = customer_account(tx, account_id)?;
            if account.suspended_at.is_some() == at.is_some() {
                return Ok(account);
            }
            let when = now();
            tx.execute(
                "UPDATE accounts SET suspended_at = ?1, updated_at = ?2 WHERE id = ?3",
                params![at, when, account_id],
            )?;
            let action = if at.is_some() {
                "account.suspend"
            } else {
                "account.unsuspend"
            };
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action,
                    target: &account.email,
                    detail: &format!("{action} {account_id}"),
                    at: when,
                },
            )?;
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
            Ok(tx.query_row(&sql, [account_id], account_from_row)?)
        })
    }

    /// Deletes a customer's account with its zones, records, tokens,
    /// memberships and audit log; users stay (they may belong to other
    /// accounts). Returns one deletion per zone, for the publisher to stop
    /// serving them. The operator's audit log records the deletion; the
    /// operator's account cannot be deleted.
    pub fn delete_account(
        &self,
        account_id: i64,
        actor: &Actor,
    ) -> Result<Vec<ZoneChange>, StoreError> {
        self.write(|tx| {
            let account = customer_account(tx, account_id)?;
            let zones = {
                let mut stmt = tx.prepare(
                    "SELECT id, account_id, name, reverse, serial, created_at, updated_at
                     FROM zones WHERE account_id = ?1 ORDER BY id",
                )?;
                let rows = stmt.query_map([account_id], |row| {
                    Ok(ZoneInfo {
                        id: row.get(0)?,
                        account_id: row.get(1)?,
                        name: row.get(2)?,
                        reverse: row.get(3)?,
                        serial: row.get(4)?,
                        created_at: rfc3339(row.get(5)?),
                        updated_at: rfc3339(row.get(6)?),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.execute("DELETE FROM accounts WHERE id = ?1", [account_id])?;
            if let Some(operator) = operator_id(tx)? {
                let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
                history::audit(
                    tx,
                    &Audit {
                        account_id: operator,
                        actor,
                        action: "account.delete",
                        target: &account.email,
                        detail: &format!(
                            "deleted account {account_id} with zones [{}]",
                            names.join(", ")
                        ),
                        at: now(),
                    },
                )?;
            }
            Ok(zones
                .into_iter()
                .map(|zone| ZoneChange {
                    zone,
                    compiled: None,
                })
                .collect())
        })
    }

    /// One account.
    pub fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
            Ok(tx.query_row(&sql, [id], account_from_row).optional()?)
        })
    }

    /// All accounts, by id.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map([], account_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Creates an API token for an account. Returns the token and its
    /// secret; the secret is shown once: only its SHA-256 is stored.
    pub fn create_token(
        &self,
        account_id: i64,
        name: &str,
    ) -> Result<(TokenInfo, String), StoreError> {
        self.new_token(account_id, None, name, None)
    }

    /// Creates a token that acts for `user_id` (a member of the account)
    /// in the account; the audit log then names the user.
    pub fn create_user_token(
        &self,
        account_id: i64,
        user_id: i64,
        name: &str,
    ) -> Result<(TokenInfo, String), StoreError> {
        self.new_token(account_id, Some(user_id), name, None)
    }

    /// Creates a token as [`Store::create_token`] (`user_id` `None`) or
    /// [`Store::create_user_token`] do, and writes who did it to the audit
    /// log in the same transaction (`token.create`; never the secret).
    pub fn create_token_by(
        &self,
        account_id: i64,
        user_id: Option<i64>,
        name: &str,
        actor: &Actor,
    ) -> Result<(TokenInfo, String), StoreError> {
        self.new_token(account_id, user_id, name, Some(actor))
    }

    /// Does the work of [`Store::create_token`], [`Store::create_user_token`]
    /// and [`Store::create_token_by`] (which audits).
    fn new_token(
        &self,
        account_id: i64,
        user_id: Option<i64>,
        name: &str,
        actor: Option<&Actor>,
    ) -> Result<(TokenInfo, String), StoreError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::invalid("name", "can't be blank"));
        }
        if name.chars().count() > MAX_TOKEN_NAME || name.chars().any(char::is_control) {
            return Err(StoreError::invalid(
                "name",
                "must be at most 100 characters, without control characters",
            ));
        }
        let secret = token::new_secret()?;
        let hash = token::hash(&secret);
        let info = self.write(|tx| {
            account_exists(tx, account_id)?;
            if let Some(user) = user_id {
                crate::users::check_member(tx, account_id, user)?;
            }
            let at = now();
            tx.execute(
                "INSERT INTO tokens (account_id, name, secret_hash, created_at, user_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![account_id, name, &hash[..], at, user_id],
            )?;
            let id = tx.last_insert_rowid();
            if let Some(actor) = actor {
                let detail = match user_id {
                    Some(user) => format!("token {id} {name:?} for user {user}"),
                    None => format!("token {id} {name:?}"),
                };
                history::audit(
                    tx,
                    &Audit {
                        account_id,
                        actor,
                        action: "token.create",
                        target: &format!("tokens/{id}"),
                        detail: &detail,
                        at,
                    },
                )?;
            }
            Ok(TokenInfo {
                id,
                account_id,
                name: name.to_owned(),
                created_at: rfc3339(at),
                last_used_at: None,
                user_id,
            })
        })?;
        Ok((info, secret))
    }

    /// Finds the live token with this secret, by the secret's hash (the
    /// stored hash is compared in constant time), and records its use (at
    /// most once a second, to spare the disk).
    pub fn authenticate(&self, secret: &str) -> Result<Option<TokenInfo>, StoreError> {
        let hash = token::hash(secret);
        self.write(|tx| {
            let found = tx
                .query_row(
                    &format!(
                        "SELECT {TOKEN_COLUMNS}, secret_hash FROM tokens
                         WHERE secret_hash = ?1 AND revoked_at IS NULL"
                    ),
                    [&hash[..]],
                    |row| Ok((token_from_row(row)?, row.get::<_, Vec<u8>>(6)?)),
                )
                .optional()?;
            let Some((mut info, stored)) = found else {
                return Ok(None);
            };
            if !token::constant_time_eq(&stored, &hash) {
                return Ok(None);
            }
            let at = now();
            tx.execute(
                "UPDATE tokens SET last_used_at = ?1
                 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at <> ?1)",
                params![at, info.id],
            )?;
            info.last_used_at = Some(rfc3339(at));
            Ok(Some(info))
        })
    }

    /// An account's live tokens, by id.
    pub fn tokens(&self, account_id: i64) -> Result<Vec<TokenInfo>, StoreError> {
        self.read(|tx| {
            account_exists(tx, account_id)?;
            let sql = format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens
                 WHERE account_id = ?1 AND revoked_at IS NULL ORDER BY id"
            );
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map([account_id], token_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Revokes a token of this account (tokens of other accounts, and
    /// revoked ones, are NotFound). The row is kept for the audit log.
    pub fn revoke_token(&self, account_id: i64, token_id: i64) -> Result<(), StoreError> {
        self.revoke(account_id, token_id, None)
    }

    /// Revokes a token as [`Store::revoke_token`] does and writes who did
    /// it to the audit log in the same transaction (`token.revoke`).
    pub fn revoke_token_by(
        &self,
        account_id: i64,
        token_id: i64,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.revoke(account_id, token_id, Some(actor))
    }

    /// Does the work of [`Store::revoke_token`] and [`Store::revoke_token_by`].
    fn revoke(
        &self,
        account_id: i64,
        token_id: i64,
        actor: Option<&Actor>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let at = now();
            let changed = tx.execute(
                "UPDATE tokens SET revoked_at = ?1
                 WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL",
                params![at, token_id, account_id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("token"));
            }
            if let Some(actor) = actor {
                history::audit(
                    tx,
                    &Audit {
                        account_id,
                        actor,
                        action: "token.revoke",
                        target: &format!("tokens/{token_id}"),
                        detail: &format!("token {token_id} revoked"),
                        at,
                    },
                )?;
            }
            Ok(())
        })
    }
}

/// Fails with NotFound unless the account exists.
pub(crate) fn account_exists(
    conn: &rusqlite::Connection,
    account_id: i64,
) -> Result<(), StoreError> {
    let found: Option<i64> = conn
        .query_row("SELECT id FROM accounts WHERE id = ?1", [account_id], |r| {
            r.get(0)
        })
        .optional()?;
    found.map(|_| ()).ok_or(StoreError::NotFound("account"))
}
