//! TSIG keys (RFC 8945) for zone transfers and NOTIFY: server-wide, kept
//! with their secrets (a MAC cannot be checked against a hash). A new
//! key's secret is made here from operating-system randomness, as long as
//! the algorithm's hash (RFC 8945 §6 recommends no shorter), and shown to
//! the caller once; listings never include it. The database file is
//! private to the server's user.

use rusqlite::{OptionalExtension, params};

use crate::time::{now, rfc3339};
use crate::{Store, StoreError};

/// The algorithms a key may use, with their secret lengths.
pub const TSIG_ALGORITHMS: &[(&str, usize)] = &[
    ("hmac-sha256", 32),
    ("hmac-sha384", 48),
    ("hmac-sha512", 64),
];

/// A TSIG key, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigKeyInfo {
    /// Id.
    pub id: i64,
    /// The key's name: lower case, absolute, with the final dot.
    pub name: String,
    /// Its algorithm (`hmac-sha256`, ...).
    pub algorithm: String,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
}

/// A TSIG key with its secret, for the server that signs with it.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigSecret {
    /// The key.
    pub info: TsigKeyInfo,
    /// The shared secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for TsigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: this type ends up in logs through Debug.
        f.debug_struct("TsigSecret")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A key name in the stored form, or why it is not a name.
fn key_name(name: &str) -> Result<String, StoreError> {
    let name = name.trim().to_ascii_lowercase();
    let absolute = if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    };
    match candor_wire::Name::from_text(&absolute, None) {
        Ok(n) if !n.is_root() => Ok(n.to_string()),
        Ok(_) => Err(StoreError::invalid("name", "can't be the root")),
        Err(e) => Err(StoreError::invalid(
            "name",
            format!("is not a domain name: {e}"),
        )),
    }
}

/// Columns of a key, in `TsigKeyInfo` order.
const COLUMNS: &str = "id, name, algorithm, created_at";

/// A key from a row of [`COLUMNS`].
fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TsigKeyInfo> {
    Ok(TsigKeyInfo {
        id: row.get(0)?,
        name: row.get(1)?,
        algorithm: row.get(2)?,
        created_at: rfc3339(row.get(3)?),
    })
}

impl Store {
    /// Creates a TSIG key named `name` (a domain name; any case, final dot
    /// optional) for `algorithm`, with a new random secret. Returns the
    /// key and its secret in base64, which is shown this once.
    pub fn create_tsig_key(
        &self,
        name: &str,
        algorithm: &str,
    ) -> Result<(TsigKeyInfo, String), StoreError> {
        self.add_tsig_key(name, algorithm, None)
    }

    /// Stores a TSIG key made elsewhere (a primary's key, for Candor as
    /// its secondary): `secret` is its base64 text, at least 16 bytes.
    pub fn import_tsig_key(
        &self,
        name: &str,
        algorithm: &str,
        secret: &str,
    ) -> Result<TsigKeyInfo, StoreError> {
        let bytes = candor_zonefile::base64_decode(secret.trim())
            .filter(|b| b.len() >= 16)
            .ok_or_else(|| {
                StoreError::invalid("secret", "must be base64 of at least 16 bytes".to_owned())
            })?;
        self.add_tsig_key(name, algorithm, Some(bytes))
            .map(|(info, _)| info)
    }

    /// Stores a TSIG key with `secret`, or a new random one.
    fn add_tsig_key(
        &self,
        name: &str,
        algorithm: &str,
        secret: Option<Vec<u8>>,
    ) -> Result<(TsigKeyInfo, String), StoreError> {
        let name = key_name(name)?;
        let algorithm = algorithm.trim().to_ascii_lowercase();
        let Some(&(algorithm, len)) = TSIG_ALGORITHMS.iter().find(|(a, _)| *a == algorithm) else {
            let known: Vec<&str> = TSIG_ALGORITHMS.iter().map(|(a, _)| *a).collect();
            return Err(StoreError::invalid(
                "algorithm",
                format!("must be one of {}", known.join(", ")),
            ));
        };
        let secret = match secret {
            Some(given) => given,
            None => {
                let mut fresh = vec![0u8; len];
                getrandom::getrandom(&mut fresh)
                    .map_err(|e| StoreError::Db(format!("no operating-system randomness: {e}")))?;
                fresh
            }
        };
        let info = self.write(|tx| {
            let taken: Option<i64> = tx
                .query_row("SELECT id FROM tsig_keys WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a TSIG key named {name} exists already"
                )));
            }
            tx.execute(
                "INSERT INTO tsig_keys (name, algorithm, secret, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![name, algorithm, secret, now()],
            )?;
            let id = tx.last_insert_rowid();
            Ok(tx.query_row(
                &format!("SELECT {COLUMNS} FROM tsig_keys WHERE id = ?1"),
                [id],
                from_row,
            )?)
        })?;
        Ok((info, candor_zonefile::base64_encode(&secret)))
    }

    /// Every TSIG key, by name, without secrets.
    pub fn tsig_keys(&self) -> Result<Vec<TsigKeyInfo>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!("SELECT {COLUMNS} FROM tsig_keys ORDER BY name"))?;
            let rows = stmt.query_map([], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Every TSIG key with its secret, for the server.
    pub fn tsig_secrets(&self) -> Result<Vec<TsigSecret>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS}, secret FROM tsig_keys ORDER BY name"
            ))?;
            let rows = stmt.query_map([], |row| {
                Ok(TsigSecret {
                    info: from_row(row)?,
                    secret: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Deletes the TSIG key named `name`.
    pub fn delete_tsig_key(&self, name: &str) -> Result<TsigKeyInfo, StoreError> {
        let name = key_name(name)?;
        self.write(|tx| {
            let info = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM tsig_keys WHERE name = ?1"),
                    [&name],
                    from_row,
                )
                .optional()?
                .ok_or(StoreError::NotFound("TSIG key"))?;
            tx.execute("DELETE FROM tsig_keys WHERE id = ?1", [info.id])?;
            Ok(info)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::StoreError;
    use crate::tests::store;

    /// Keys are created with a fresh secret, listed without it, and deleted.
    #[test]
    fn keys_are_made_listed_and_removed() {
        let s = store();
        let (key, secret) = s.create_tsig_key("Xfr.Example", "HMAC-SHA512").unwrap();
        assert_eq!(
            (key.name.as_str(), key.algorithm.as_str()),
            ("xfr.example.", "hmac-sha512")
        );
        assert_eq!(candor_zonefile::base64_decode(&secret).unwrap().len(), 64);
        let (_, other) = s.create_tsig_key("b.example.", "hmac-sha256").unwrap();
        assert_ne!(secret, other);
        assert!(matches!(
            s.create_tsig_key("xfr.example.", "hmac-sha256"),
            Err(StoreError::Conflict(_))
        ));
        for (name, algorithm) in [
            ("a..b", "hmac-sha256"),
            (".", "hmac-sha256"),
            ("k", "hmac-md5"),
        ] {
            assert!(matches!(
                s.create_tsig_key(name, algorithm),
                Err(StoreError::Invalid(_))
            ));
        }
        let names: Vec<String> = s.tsig_keys().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["b.example.", "xfr.example."]);
        let secrets = s.tsig_secrets().unwrap();
        assert_eq!(candor_zonefile::base64_encode(&secrets[1].secret), secret);
        assert!(!format!("{secrets:?}").contains("secret: ["));
        s.delete_tsig_key("XFR.example").unwrap();
        assert_eq!(
            s.delete_tsig_key("xfr.example."),
            Err(StoreError::NotFound("TSIG key"))
        );
        assert_eq!(s.tsig_keys().unwrap().len(), 1);
    }

    /// A key made elsewhere is stored with its secret; a secret that is
    /// not base64 of at least 16 bytes is refused, naming the field.
    #[test]
    fn keys_made_elsewhere_are_imported() {
        let s = store();
        let secret = candor_zonefile::base64_encode(b"0123456789abcdef0123456789abcdef");
        let key = s
            .import_tsig_key("xfr.example", "hmac-sha256", &format!("{secret}\n"))
            .unwrap();
        assert_eq!(key.name, "xfr.example.");
        assert_eq!(
            s.tsig_secrets().unwrap()[0].secret,
            b"0123456789abcdef0123456789abcdef"
        );
        for bad in ["not base64!", "c2hvcnQ="] {
            match s.import_tsig_key("other.example", "hmac-sha256", bad) {
                Err(StoreError::Invalid(errors)) => {
                    assert!(format!("{errors:?}").contains("secret"), "{errors:?}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
