//! DNSSEC per zone: whether signing is enabled, the zone's keys (with their
//! private halves as PKCS#8 documents, which the signer needs), and the DS
//! records the zone's owner gives the registrar.
//!
//! Enabling makes one combined signing key (CSK, docs/dnssec.md "Keys").
//! Private keys leave this module only as `candor_dnssec::SigningKey`,
//! whose `Debug` shows no secret; nothing here logs.
//!
//! A zone with keys is signed whenever it is compiled ([`sign_compiled`],
//! called by every compile path: writes, start-up, the follower of other
//! processes' writes), so enabling and disabling move the zone to a new
//! serial that is served signed, or unsigned again.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use candor_dnssec::{Algorithm, DigestType, KeyRole, SigningKey, SigningPolicy, ZoneSignError};
use candor_zone::Zone;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::history::{self, Audit};
use crate::incremental;
use crate::time::{now, rfc3339};
use crate::zones::{self, find_zone};
use crate::{Actor, FieldError, Store, StoreError, ZoneChange};

/// Whether this process leaves signing to the server (see
/// [`set_signing_deferred`]).
static SIGNING_DEFERRED: AtomicBool = AtomicBool::new(false);

/// For a process that does not serve (`candor record …`): a record write
/// to a signed zone that this process cannot sign incrementally (it kept
/// no version of the zone: every CLI write) checks the zone as a full
/// compile does but does not sign it; the zone it returns is unsigned and
/// must not be published. `candor serve` signs the change itself: its
/// follower patches what the journal says changed into the version it
/// serves and signs only that (`Store::compile_zone`), and at start-up it
/// signs every zone. Signing a 100,000-record zone in full took the CLI
/// 15–30 s per write (docs/dnssec.md).
pub fn set_signing_deferred(deferred: bool) {
    SIGNING_DEFERRED.store(deferred, Ordering::Relaxed);
}

/// Whether [`set_signing_deferred`] is on.
pub(crate) fn signing_deferred() -> bool {
    SIGNING_DEFERRED.load(Ordering::Relaxed)
}

/// How many threads sign a zone (see [`set_signing_threads`]).
static SIGNING_THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets how many threads sign a zone when it is compiled (`candor serve
/// --dnssec-signing-threads`); 1 until set. Signing is nearly all of a
/// signed zone's compile time, and the result does not depend on it.
pub fn set_signing_threads(threads: NonZeroUsize) {
    SIGNING_THREADS.store(threads.get(), Ordering::Relaxed);
}

/// The keys of zone `zone_id` (none when DNSSEC is off), read on `conn`.
pub(crate) fn zone_keys(conn: &Connection, zone_id: i64) -> Result<Vec<SigningKey>, StoreError> {
    Ok(keys_with_ids(conn, zone_id)?
        .into_iter()
        .map(|(_, key)| key)
        .collect())
}

/// The live keys of zone `zone_id` with their ids, in id order; a key that
/// cannot be read is a database error naming it.
pub(crate) fn keys_with_ids(
    conn: &Connection,
    zone_id: i64,
) -> Result<Vec<(i64, SigningKey)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, algorithm, role, pkcs8 FROM dnssec_keys
         WHERE zone_id = ?1 AND removed_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([zone_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, u8>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, algorithm, role, pkcs8) = row?;
        let bad = |why: String| StoreError::Db(format!("DNSSEC key {id}: {why}"));
        let algorithm = Algorithm::from_number(algorithm)
            .ok_or_else(|| bad(format!("unknown algorithm {algorithm}")))?;
        let role = parse_role(&role).ok_or_else(|| bad(format!("unknown role {role}")))?;
        let key =
            SigningKey::from_pkcs8(algorithm, role, &pkcs8).map_err(|e| bad(e.to_string()))?;
        keys.push((id, key));
    }
    Ok(keys)
}

/// The zone to serve for a freshly compiled one: itself when the zone has
/// no DNSSEC keys, otherwise signed with them now and compiled again with
/// the signer's records (`candor_dnssec::sign_and_compile`: the zone
/// `sign_zone` and `compile_signed` make, with less memory at the peak). A
/// record the signer makes itself (RRSIG, NSEC, DNSKEY at the apex, ...)
/// is a problem of the zone, reported like any other; a key that cannot
/// sign is a database error naming it, never a silently unsigned zone.
pub(crate) fn sign_compiled(
    conn: &Connection,
    zone_id: i64,
    compiled: Zone,
) -> Result<Result<Zone, Vec<FieldError>>, StoreError> {
    let (states, keys) = crate::dnssec_keys::signing_keys(conn, zone_id)?;
    if keys.is_empty() {
        return Ok(Ok(compiled));
    }
    // POOL members are signed here, one by one; ALIAS answers are signed
    // by the ALIAS signer when their addresses are known (`candor-alias`,
    // docs/dnssec.md "Synthesized answers").
    let threads =
        NonZeroUsize::new(SIGNING_THREADS.load(Ordering::Relaxed)).unwrap_or(NonZeroUsize::MIN);
    let at = u64::try_from(now()).unwrap_or(0);
    // Which key publishes and signs what: the rollover's states.
    let set = states.select(&keys).into();
    let apex = compiled.apex().clone();
    let signed = match candor_dnssec::sign_and_compile(
        compiled,
        &set,
        &SigningPolicy::default(),
        at,
        threads,
    ) {
        Ok(signed) => signed,
        Err(e @ ZoneSignError::DnssecRecord { .. }) => {
            return Ok(Err(vec![FieldError::new("type", e.to_string())]));
        }
        Err(e) => {
            return Err(StoreError::Db(format!("cannot sign {apex}: {e}")));
        }
    };
    // Everything signing made besides the zone to serve is free now, in
    // small chunks between live ones that glibc keeps: give the pages back
    // (a 100,000-record zone served signed: 70 MB of heap in use, 173 MB
    // resident without this). Only after a large signing, since a release
    // walks the whole heap.
    if signed.records >= RELEASE_AFTER {
        candor_zone::release_free_heap();
    }
    let served = signed.zone;
    served.map(Ok).map_err(|errors| {
        let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
        StoreError::Db(format!(
            "signed zone {apex} does not compile: {}",
            problems.join("; ")
        ))
    })
}

/// How many records the signer must have made (RRSIG, NSEC, ...) for the
/// freed heap to be handed back after the zone is compiled (its
/// signatures' buffers, the builder's arrays: some hundred bytes a
/// record, so tens of MB at this size). Smaller zones (a
/// server starting with a thousand of them) leave too little for a walk
/// of the heap per zone to be worth it.
const RELEASE_AFTER: usize = 50_000;

/// Whether a zone is signed, as DNSimple's `GET .../dnssec` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnssecState {
    /// Whether signing is enabled.
    pub enabled: bool,
    /// When it was enabled (RFC 3339 UTC), if it is.
    pub created_at: Option<String>,
    /// When its state last changed (RFC 3339 UTC), if it is enabled.
    pub updated_at: Option<String>,
}

/// A delegation signer record for the parent zone, in DNSimple's shape
/// (numbers as decimal strings, the digest in upper-case hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsRecordInfo {
    /// The key's id.
    pub id: i64,
    /// The zone's id.
    pub domain_id: i64,
    /// The DNSSEC algorithm number (`"13"`, `"15"`).
    pub algorithm: String,
    /// The digest, upper-case hex.
    pub digest: String,
    /// The digest type number (`"2"`: SHA-256).
    pub digest_type: String,
    /// The key tag.
    pub keytag: String,
    /// The public key, base64 (for registries that take DNSKEY data).
    pub public_key: String,
    /// When the key was made (RFC 3339 UTC).
    pub created_at: String,
    /// When the key last changed (RFC 3339 UTC).
    pub updated_at: String,
    /// Where the DS stands (docs/dnssec.md, "Rollovers"): `"not offered
    /// yet"` (do not give it to the registrar yet), `"offered"`, `"at the
    /// parent"`, `"withdrawn"` (remove it at the registrar), `"gone"`, or
    /// `"delete requested"` (DNSSEC is being disabled: remove every DS).
    pub state: &'static str,
}

/// The `dnssec` row of a zone: created and updated times.
pub(crate) fn state_row(
    tx: &Transaction<'_>,
    zone_id: i64,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT created_at, updated_at FROM dnssec WHERE zone_id = ?1",
            [zone_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The state as shown.
fn state(row: Option<(i64, i64)>) -> DnssecState {
    DnssecState {
        enabled: row.is_some(),
        created_at: row.map(|(c, _)| rfc3339(c)),
        updated_at: row.map(|(_, u)| rfc3339(u)),
    }
}

/// The stored form of a key role.
pub(crate) fn role_name(role: KeyRole) -> &'static str {
    match role {
        KeyRole::Csk => "csk",
        KeyRole::Ksk => "ksk",
        KeyRole::Zsk => "zsk",
    }
}

/// A key role from its stored form.
pub(crate) fn parse_role(name: &str) -> Option<KeyRole> {
    match name {
        "csk" => Some(KeyRole::Csk),
        "ksk" => Some(KeyRole::Ksk),
        "zsk" => Some(KeyRole::Zsk),
        _ => None,
    }
}

impl Store {
    /// The keys of zone `zone` (by name, any account) that sign its data
    /// (CSK or ZSK), for the ALIAS signer (`candor-alias`), which signs
    /// ALIAS answers with them off the query path; none when DNSSEC is off
    /// or the zone is not stored. The keys hold their secrets: never log
    /// them (their `Debug` shows algorithm, role and key tag only).
    pub fn zone_signing_keys(&self, zone: &str) -> Result<Vec<SigningKey>, StoreError> {
        self.read(|tx| {
            let name = crate::content::normalize_zone_name(zone);
            let id: Option<i64> = tx
                .query_row("SELECT id FROM zones WHERE name = ?1", [name], |r| r.get(0))
                .optional()?;
            let keys = match id {
                Some(id) => zone_keys(tx, id)?,
                None => Vec::new(),
            };
            Ok(keys.into_iter().filter(|k| k.role().signs_zone()).collect())
        })
    }

    /// Whether DNSSEC is enabled for a zone of an account.
    pub fn dnssec(&self, account_id: i64, zone: &str) -> Result<DnssecState, StoreError> {
        self.read(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            Ok(state(state_row(tx, z.id)?))
        })
    }

    /// Enables DNSSEC for a zone: makes a combined signing key of
    /// `algorithm` with the operating system's randomness and stores it;
    /// the audit log says who (never the key). The zone moves to its next
    /// serial, signed: the change is for the caller to publish. A zone
    /// that has it enabled already is a conflict.
    pub fn enable_dnssec(
        &self,
        account_id: i64,
        zone: &str,
        algorithm: Algorithm,
        actor: &Actor,
    ) -> Result<(DnssecState, ZoneChange), StoreError> {
        self.enable_dnssec_with(account_id, zone, algorithm, false, actor)
    }

    /// [`Store::enable_dnssec`] with a KSK and a ZSK instead of a CSK when
    /// `split` (the ZSK then rolls by itself, without the parent: docs/
    /// dnssec.md, "Rollovers"). The keys publish and sign at once; their
    /// DS is offered once the signed zone has been served long enough
    /// (`candor serve` moves the states on).
    pub fn enable_dnssec_with(
        &self,
        account_id: i64,
        zone: &str,
        algorithm: Algorithm,
        split: bool,
        actor: &Actor,
    ) -> Result<(DnssecState, ZoneChange), StoreError> {
        let (state, change, kept) = self.write(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            if state_row(tx, z.id)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "DNSSEC is already enabled for {}",
                    z.name
                )));
            }
            let at = now();
            tx.execute(
                "INSERT INTO dnssec (zone_id, created_at, updated_at) VALUES (?1, ?2, ?2)",
                params![z.id, at],
            )?;
            let roles: &[KeyRole] = if split {
                &[KeyRole::Ksk, KeyRole::Zsk]
            } else {
                &[KeyRole::Csk]
            };
            let mut made = Vec::new();
            for &role in roles {
                let (_, tag) = crate::dnssec_keys::insert_key(tx, z.id, algorithm, role, at, true)?;
                made.push(format!(
                    "{} {}, key tag {tag}",
                    role_name(role).to_uppercase(),
                    algorithm.mnemonic()
                ));
            }
            let mut z = z;
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            let change = zones::compile_change(tx, &z, &self.config)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "dnssec.enable",
                    target: &z.name,
                    detail: &format!("enabled DNSSEC for {}: {}", z.name, made.join("; ")),
                    at,
                },
            )?;
            Ok((state(state_row(tx, z.id)?), change, incremental::key(&z)))
        })?;
        // The next record write signs incrementally from this version.
        self.compiled.remember(kept, &change);
        Ok((state, change))
    }

    /// Disables DNSSEC for a zone and deletes its keys (audited); the zone
    /// moves to its next serial, unsigned (the change is for the caller to
    /// publish). A zone without DNSSEC is a conflict (the API answers it
    /// 428, as DNSimple does).
    pub fn disable_dnssec(
        &self,
        account_id: i64,
        zone: &str,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        self.write(|tx| {
            let mut z = find_zone(tx, account_id, zone)?;
            if state_row(tx, z.id)?.is_none() {
                return Err(crate::dnssec_keys::not_enabled(&z.name));
            }
            tx.execute("DELETE FROM dnssec_keys WHERE zone_id = ?1", [z.id])?;
            tx.execute("DELETE FROM dnssec WHERE zone_id = ?1", [z.id])?;
            let at = now();
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            let change = zones::compile_change(tx, &z, &self.config)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "dnssec.disable",
                    target: &z.name,
                    detail: &format!("disabled DNSSEC for {} and deleted its keys", z.name),
                    at,
                },
            )?;
            Ok(change)
        })
    }

    /// The DS records (SHA-256) of a zone's keys that the parent must
    /// hold, oldest key first; none when DNSSEC is off.
    pub fn ds_records(&self, account_id: i64, zone: &str) -> Result<Vec<DsRecordInfo>, StoreError> {
        self.read(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            let apex = z.apex()?.to_lowercase();
            let mut stmt = tx.prepare(
                "SELECT id, algorithm, role, dnskey, created_at, updated_at
                 FROM dnssec_keys WHERE zone_id = ?1 AND removed_at IS NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([z.id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, u8>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?;
            let states = crate::dnssec_keys::load(tx, z.id)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, algorithm, role, dnskey, created, updated) = row?;
                let state = states
                    .keys
                    .iter()
                    .find(|k| k.id == id)
                    .and_then(|k| crate::dnssec_keys::ds_state(k, states.disabling.is_some()))
                    .unwrap_or("not offered yet");
                if !parse_role(&role).is_some_and(KeyRole::signs_keys) {
                    continue;
                }
                let ds = candor_dnssec::ds_rdata(apex.as_wire(), &dnskey, DigestType::Sha256);
                out.push(DsRecordInfo {
                    id,
                    domain_id: z.id,
                    algorithm: algorithm.to_string(),
                    digest: ds[4..].iter().map(|b| format!("{b:02X}")).collect(),
                    digest_type: ds[3].to_string(),
                    keytag: u16::from_be_bytes([ds[0], ds[1]]).to_string(),
                    public_key: candor_zonefile::base64_encode(dnskey.get(4..).unwrap_or(&[])),
                    created_at: rfc3339(created),
                    updated_at: rfc3339(updated),
                    state,
                });
            }
            Ok(out)
        })
    }

    /// The zones with DNSSEC enabled: (id, name).
    pub fn dnssec_zones(&self) -> Result<Vec<(i64, String)>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT z.id, z.name FROM zones z JOIN dnssec d ON d.zone_id = z.id ORDER BY z.id",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Signs zone `zone_id` again under its next serial (the refresh of
    /// signatures before they expire; secondaries follow the serial). The
    /// change is for the caller to publish. A zone without DNSSEC is a
    /// conflict.
    pub fn resign_zone(&self, zone_id: i64) -> Result<ZoneChange, StoreError> {
        self.write(|tx| {
            let sql = format!("SELECT {} FROM zones WHERE id = ?1", zones::ZONE_COLUMNS);
            let mut z = tx
                .query_row(&sql, [zone_id], zones::zone_from_row)
                .optional()?
                .ok_or(StoreError::NotFound("zone"))?;
            if state_row(tx, z.id)?.is_none() {
                return Err(crate::dnssec_keys::not_enabled(&z.name));
            }
            zones::bump_serial(tx, &self.config, &mut z, now())?;
            let change = zones::compile_change(tx, &z, &self.config)?;
            Ok((change, incremental::key(&z)))
        })
        .map(|(change, kept)| {
            // The next record write signs incrementally from this version.
            self.compiled.remember(kept, &change);
            change
        })
    }

    /// The signing keys of a zone (by id), for the signer; none when
    /// DNSSEC is off. A stored key that no longer reads is an error
    /// naming the key, never a silently unsigned zone.
    pub fn dnssec_keys(&self, zone_id: i64) -> Result<Vec<SigningKey>, StoreError> {
        self.read(|tx| zone_keys(tx, zone_id))
    }
}

#[cfg(test)]
mod tests {
    use candor_dnssec::Algorithm;

    use crate::tests::{actor, store};
    use crate::{Store, StoreError};

    /// A new account's id.
    fn account(s: &Store, email: &str) -> i64 {
        s.create_account(email).unwrap().id
    }

    /// A new zone's id.
    fn zone(s: &Store, account: i64, name: &str) -> i64 {
        s.create_zone(account, name, &actor()).unwrap().zone.id
    }

    /// Enabling makes and stores a CSK whose DS the store reports, in
    /// DNSimple's shape; the key reads back for the signer; enabling twice
    /// and disabling a zone without DNSSEC are conflicts; disabling
    /// removes the keys; another account's zone is not found; enabling
    /// and disabling are in the audit log.
    #[test]
    fn enable_list_ds_and_disable() {
        let s = store();
        let acct = account(&s, "owner@example.com");
        let z = zone(&s, acct, "example.com");
        assert!(!s.dnssec(acct, "example.com").unwrap().enabled);
        assert!(s.ds_records(acct, "example.com").unwrap().is_empty());

        let before = s.compile_zone(z).unwrap();
        assert!(before.compiled.as_ref().unwrap().signed().is_none());
        let (on, change) = s
            .enable_dnssec(acct, "Example.COM.", Algorithm::EcdsaP256Sha256, &actor())
            .unwrap();
        // The zone moved to its next serial, signed.
        let signed = change.compiled.unwrap();
        assert_eq!(signed.serial(), before.zone.serial.wrapping_add(1));
        assert!(signed.signed().is_some());
        assert!(
            signed
                .records()
                .any(|r| r.rtype == candor_wire::Rtype::DNSKEY)
        );
        assert!(
            s.compile_zone(z)
                .unwrap()
                .compiled
                .unwrap()
                .signed()
                .is_some()
        );
        assert!(on.enabled);
        assert!(on.created_at.is_some());
        assert_eq!(s.dnssec(acct, "example.com").unwrap(), on);
        assert!(matches!(
            s.enable_dnssec(acct, "example.com", Algorithm::Ed25519, &actor()),
            Err(StoreError::Conflict(m)) if m == "DNSSEC is already enabled for example.com"
        ));

        let ds = s.ds_records(acct, "example.com").unwrap();
        assert_eq!(ds.len(), 1);
        let d = &ds[0];
        assert_eq!(
            (d.domain_id, d.algorithm.as_str(), d.digest_type.as_str()),
            (z, "13", "2")
        );
        assert_eq!(d.digest.len(), 64);
        assert!(
            d.digest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        let keys = s.dnssec_keys(z).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_tag().to_string(), d.keytag);
        assert_eq!(
            candor_zonefile::base64_encode(keys[0].public_key()),
            d.public_key
        );
        // The DS digest is the one the key computes itself.
        let apex = candor_wire::Name::from_text("example.com.", None).unwrap();
        let ds_rdata = keys[0].ds_rdata(apex.as_wire(), candor_dnssec::DigestType::Sha256);
        let hex: String = ds_rdata[4..].iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, d.digest);
        assert!(!format!("{keys:?}").contains("pkcs8"));

        let other = account(&s, "other@example.com");
        assert_eq!(
            s.dnssec(other, "example.com"),
            Err(StoreError::NotFound("zone"))
        );
        assert_eq!(
            s.ds_records(other, "example.com"),
            Err(StoreError::NotFound("zone"))
        );

        assert_eq!(s.dnssec_zones().unwrap(), [(z, "example.com".to_owned())]);
        let again = s.resign_zone(z).unwrap().compiled.unwrap();
        assert_eq!(again.serial(), signed.serial().wrapping_add(1));
        assert!(again.signed().is_some());
        let signed = again;
        let off = s.disable_dnssec(acct, "example.com", &actor()).unwrap();
        let unsigned = off.compiled.unwrap();
        assert_eq!(unsigned.serial(), signed.serial().wrapping_add(1));
        assert!(unsigned.signed().is_none());
        assert!(
            !unsigned
                .records()
                .any(|r| r.rtype == candor_wire::Rtype::RRSIG)
        );
        assert!(!s.dnssec(acct, "example.com").unwrap().enabled);
        assert!(s.dnssec_keys(z).unwrap().is_empty());
        assert!(s.dnssec_zones().unwrap().is_empty());
        assert!(matches!(s.resign_zone(z), Err(StoreError::Conflict(_))));
        assert!(matches!(
            s.disable_dnssec(acct, "example.com", &actor()),
            Err(StoreError::Conflict(m)) if m == "DNSSEC is not enabled for example.com"
        ));
        let (on, _) = s
            .enable_dnssec(acct, "example.com", Algorithm::Ed25519, &actor())
            .unwrap();
        assert!(on.enabled);
        assert_eq!(
            s.ds_records(acct, "example.com").unwrap()[0].algorithm,
            "15"
        );

        // Who did what is in the audit log; no key material is.
        let log = s.audit_log(acct, 1, 100).unwrap();
        let actions: Vec<&str> = log
            .items
            .iter()
            .filter(|e| e.action.starts_with("dnssec."))
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(actions.len(), 3, "{actions:?}");
        assert!(actions.contains(&"dnssec.disable"));
        let text = format!("{:?}", log.items);
        assert!(
            text.contains("enabled DNSSEC for example.com: CSK ECDSAP256SHA256, key tag "),
            "{text}"
        );
    }

    /// Keys go with their zone when it is deleted.
    #[test]
    fn keys_go_with_the_zone() {
        let s = store();
        let acct = account(&s, "owner@example.com");
        let z = zone(&s, acct, "example.org");
        s.enable_dnssec(acct, "example.org", Algorithm::EcdsaP256Sha256, &actor())
            .unwrap();
        s.delete_zone(acct, "example.org", &actor()).unwrap();
        assert!(s.dnssec_keys(z).unwrap().is_empty());
    }
}
