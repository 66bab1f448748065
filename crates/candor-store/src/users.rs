//! Users (people) and their memberships of accounts.
//!
//! An account owns zones and tokens; a user is someone who acts for one or
//! more accounts. Tokens made for a user carry its id, so the audit log can
//! name the person behind a change, and `whoami` can show them.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::accounts::{account_exists, check_email};
use crate::time::{now, rfc3339};
use crate::{Role, Store, StoreError, User, db};

/// Columns read by [`user_from_row`].
const USER_COLUMNS: &str = "users.id, users.email, users.created_at, users.updated_at";

/// Reads a user row.
fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        created_at: rfc3339(row.get(2)?),
        updated_at: rfc3339(row.get(3)?),
    })
}

/// Fails unless `user_id` is a member of `account_id`.
pub(crate) fn check_member(
    tx: &Transaction<'_>,
    account_id: i64,
    user_id: i64,
) -> Result<(), StoreError> {
    let found: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM memberships WHERE account_id = ?1 AND user_id = ?2",
            params![account_id, user_id],
            |row| row.get(0),
        )
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid(
            "user_id",
            "is not a member of this account",
        )),
    }
}

impl Store {
    /// Creates a user. E-mail addresses are unique without regard to case
    /// (Conflict).
    pub fn create_user(&self, email: &str) -> Result<User, StoreError> {
        let email = email.trim();
        check_email(email)?;
        self.write(|tx| {
            let at = now();
            match tx.execute(
                "INSERT INTO users (email, created_at, updated_at) VALUES (?1, ?2, ?2)",
                params![email, at],
            ) {
                Ok(_) => {}
                Err(e) if db::is_constraint(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "a user with e-mail {email} already exists"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            Ok(User {
                id: tx.last_insert_rowid(),
                email: email.to_owned(),
                created_at: rfc3339(at),
                updated_at: rfc3339(at),
            })
        })
    }

    /// One user.
    pub fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
            Ok(tx.query_row(&sql, [id], user_from_row).optional()?)
        })
    }

    /// A user by e-mail address (compared without case).
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1");
            Ok(tx
                .query_row(&sql, [email.trim()], user_from_row)
                .optional()?)
        })
    }

    /// Makes a user a member of an account with a role; an existing
    /// membership gets the new role.
    pub fn add_member(&self, account_id: i64, user_id: i64, role: Role) -> Result<(), StoreError> {
        self.write(|tx| {
            account_exists(tx, account_id)?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM users WHERE id = ?1", [user_id], |row| {
                    row.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NotFound("user"));
            }
            tx.execute(
                "INSERT INTO memberships (account_id, user_id, role, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role",
                params![account_id, user_id, role.as_str(), now()],
            )?;
            Ok(())
        })
    }

    /// Ends a user's membership of an account and revokes the tokens that
    /// act for them in it (NotFound if they were no member).
    pub fn remove_member(&self, account_id: i64, user_id: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM memberships WHERE account_id = ?1 AND user_id = ?2",
                params![account_id, user_id],
            )?;
            if removed == 0 {
                return Err(StoreError::NotFound("user"));
            }
            tx.execute(
                "UPDATE tokens SET revoked_at = ?1
                 WHERE account_id = ?2 AND user_id = ?3 AND revoked_at IS NULL",
                params![now(), account_id, user_id],
            )?;
            Ok(())
        })
    }

    /// Sets a run-time setting (e.g. `alias_refresh` = `on`/`off`), which
    /// running servers pick up.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                 updated_at = excluded.updated_at",
                params![key, value, now()],
            )?;
            Ok(())
        })
    }

    /// A run-time setting, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                    row.get(0)
                })
                .optional()?)
        })
    }

    /// The members of an account with their roles, by user id.
    pub fn members(&self, account_id: i64) -> Result<Vec<(User, Role)>, StoreError> {
        self.read(|tx| {
            account_exists(tx, account_id)?;
            let sql = format!(
                "SELECT {USER_COLUMNS}, memberships.role FROM users
                 JOIN memberships ON memberships.user_id = users.id
                 WHERE memberships.account_id = ?1 ORDER BY users.id"
            );
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map([account_id], |row| {
                Ok((user_from_row(row)?, row.get::<_, String>(4)?))
            })?;
            let mut members = Vec::new();
            for row in rows {
                let (user, role) = row?;
                // Only `add_member` writes roles, and it writes valid ones.
                let role = Role::parse(&role).unwrap_or(Role::Member);
                members.push((user, role));
            }
            Ok(members)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::store;
    use crate::{Role, StoreError};

    #[test]
    fn users_join_accounts_and_tokens_act_for_them() {
        let s = store();
        let account = s.create_account("team@example.test").unwrap();
        let other = s.create_account("other@example.test").unwrap();
        let alice = s.create_user("alice@example.test").unwrap();
        assert!(matches!(
            s.create_user("ALICE@example.test"),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.create_user("not an address"),
            Err(StoreError::Invalid(_))
        ));
        // Not a member yet: no token for her.
        assert!(matches!(
            s.create_user_token(account.id, alice.id, "laptop"),
            Err(StoreError::Invalid(e)) if e[0].field == "user_id"
        ));
        s.add_member(account.id, alice.id, Role::Owner).unwrap();
        assert!(matches!(
            s.add_member(account.id, 999, Role::Member),
            Err(StoreError::NotFound("user"))
        ));
        let members = s.members(account.id).unwrap();
        assert_eq!(members, vec![(alice.clone(), Role::Owner)]);
        assert!(s.members(other.id).unwrap().is_empty());
        let (token, secret) = s.create_user_token(account.id, alice.id, "laptop").unwrap();
        assert_eq!(token.user_id, Some(alice.id));
        let found = s.authenticate(&secret).unwrap().unwrap();
        assert_eq!(
            (found.account_id, found.user_id),
            (account.id, Some(alice.id))
        );
        // A member of one account is not one of another.
        assert!(s.create_user_token(other.id, alice.id, "x").is_err());
        assert_eq!(s.user(alice.id).unwrap(), Some(alice));
        // Account tokens have no user.
        let (plain, _) = s.create_token(account.id, "ci").unwrap();
        assert_eq!(plain.user_id, None);
    }
}
