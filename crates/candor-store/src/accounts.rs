//! Accounts and API tokens.

use rusqlite::{OptionalExtension, Row, params};

use crate::time::{now, rfc3339};
use crate::{Account, Store, StoreError, TokenInfo, db, token};

/// Columns read by [`account_from_row`].
const ACCOUNT_COLUMNS: &str = "id, email, created_at, updated_at";

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
    })
}

/// Reads a token row.
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
            })
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
        self.new_token(account_id, None, name)
    }

    /// Creates a token that acts for `user_id` (a member of the account)
    /// in the account; the audit log then names the user.
    pub fn create_user_token(
        &self,
        account_id: i64,
        user_id: i64,
        name: &str,
    ) -> Result<(TokenInfo, String), StoreError> {
        self.new_token(account_id, Some(user_id), name)
    }

    /// Does the work of [`Store::create_token`] and [`Store::create_user_token`].
    fn new_token(
        &self,
        account_id: i64,
        user_id: Option<i64>,
        name: &str,
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
            Ok(TokenInfo {
                id: tx.last_insert_rowid(),
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
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE tokens SET revoked_at = ?1
                 WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL",
                params![now(), token_id, account_id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound("token"));
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
