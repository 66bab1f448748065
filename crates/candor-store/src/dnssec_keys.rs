//! DNSSEC key states in the store (schema version 8): each key's RFC 7583
//! timestamps and what the parent was asked for and holds, the zone's
//! disabling flag, and the next event `candor serve` expects. The rules
//! are `candor_dnssec::rollover` (pure); this module reads the states,
//! applies the machine's actions in a transaction, and moves the zone to
//! its next serial when what it publishes changes.
//!
//! Which key publishes and signs what follows from the stored timestamps
//! alone (`ZoneKeys::select`), so every process that compiles a zone
//! signs it the same way; only `candor serve` moves the states on time.

use candor_dnssec::rollover::{Action, KeyState, Policy, Poll, Wait, ZoneKeys};
use candor_dnssec::{Algorithm, KeyRole, SigningKey};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::dnssec::{parse_role, role_name, state_row};
use crate::history::{self, Audit};
use crate::time::{now, rfc3339};
use crate::zones::{self, ZoneRow, find_zone};
use crate::{Actor, Store, StoreError, ZoneChange};

/// Who moves key states on time, in the audit log.
const SCHEDULE: Actor = Actor {
    token_id: None,
    via: "dnssec",
    remote: None,
};

/// A time from the database.
fn at(t: Option<i64>) -> Option<u64> {
    t.and_then(|t| u64::try_from(t).ok())
}

/// A time for the database.
fn db(t: Option<u64>) -> Option<i64> {
    t.and_then(|t| i64::try_from(t).ok())
}

/// The key states of zone `zone_id` (removed keys included) and whether
/// it is being disabled; empty when DNSSEC is off.
pub(crate) fn load(conn: &Connection, zone_id: i64) -> Result<ZoneKeys, StoreError> {
    let disabling: Option<Option<i64>> = conn
        .query_row(
            "SELECT disabling_at FROM dnssec WHERE zone_id = ?1",
            [zone_id],
            |r| r.get(0),
        )
        .optional()?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, role, published_at, active_at, retired_at, removed_at, ds_offered_at,
                ds_withdrawn_at, ds_seen_at, ds_gone_at
         FROM dnssec_keys WHERE zone_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([zone_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            [
                r.get::<_, Option<i64>>(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ],
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (id, role, published, t) = row?;
        let role = parse_role(&role)
            .ok_or_else(|| StoreError::Db(format!("DNSSEC key {id}: unknown role {role}")))?;
        keys.push(KeyState {
            id,
            role,
            published: at(Some(published)).unwrap_or(0),
            active: at(t[0]),
            retired: at(t[1]),
            removed: at(t[2]),
            ds_offered: at(t[3]),
            ds_withdrawn: at(t[4]),
            ds_seen: at(t[5]),
            ds_gone: at(t[6]),
        });
    }
    Ok(ZoneKeys {
        keys,
        disabling: disabling.flatten().and_then(|d| at(Some(d))),
    })
}

/// The zone's key states and its live keys (id and key), for the signer.
pub(crate) fn signing_keys(
    conn: &Connection,
    zone_id: i64,
) -> Result<(ZoneKeys, Vec<(i64, SigningKey)>), StoreError> {
    let states = load(conn, zone_id)?;
    Ok((states, crate::dnssec::keys_with_ids(conn, zone_id)?))
}

/// Stores a new key of `role` for zone `zone_id`, published at `at`
/// (signing from then on if `active`); returns its id and key tag.
pub(crate) fn insert_key(
    tx: &Transaction<'_>,
    zone_id: i64,
    algorithm: Algorithm,
    role: KeyRole,
    at: i64,
    active: bool,
) -> Result<(i64, u16), StoreError> {
    let rng = ring::rand::SystemRandom::new();
    let key = SigningKey::generate(algorithm, role, &rng)
        .map_err(|e| StoreError::Db(format!("cannot make a DNSSEC key: {e}")))?;
    tx.execute(
        "INSERT INTO dnssec_keys (zone_id, algorithm, role, key_tag, dnskey, pkcs8,
                                  created_at, updated_at, published_at, active_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8)",
        params![
            zone_id,
            key.algorithm().number(),
            role_name(role),
            key.key_tag(),
            key.dnskey_rdata(),
            key.pkcs8(),
            at,
            (active && role.signs_zone()).then_some(at)
        ],
    )?;
    Ok((tx.last_insert_rowid(), key.key_tag()))
}

/// Writes `keys` back (every timestamp of every key; a removed key's
/// private half is erased) and the zone's disabling flag.
fn store(tx: &Transaction<'_>, zone_id: i64, keys: &ZoneKeys, at: i64) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE dnssec_keys SET active_at = ?2, retired_at = ?3, removed_at = ?4,
                ds_offered_at = ?5, ds_withdrawn_at = ?6, ds_seen_at = ?7, ds_gone_at = ?8,
                pkcs8 = CASE WHEN ?4 IS NULL THEN pkcs8 ELSE x'' END, updated_at = ?9
         WHERE id = ?1 AND zone_id = ?10",
    )?;
    for k in &keys.keys {
        stmt.execute(params![
            k.id,
            db(k.active),
            db(k.retired),
            db(k.removed),
            db(k.ds_offered),
            db(k.ds_withdrawn),
            db(k.ds_seen),
            db(k.ds_gone),
            at,
            zone_id
        ])?;
    }
    tx.execute(
        "UPDATE dnssec SET disabling_at = ?2, updated_at = ?3 WHERE zone_id = ?1",
        params![zone_id, db(keys.disabling), at],
    )?;
    Ok(())
}

/// The key tag of key `id`.
fn key_tag(tx: &Transaction<'_>, id: i64) -> Result<u16, StoreError> {
    Ok(
        tx.query_row("SELECT key_tag FROM dnssec_keys WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// An action in words, for the audit log.
fn describe(
    tx: &Transaction<'_>,
    action: &Action,
    made: Option<(i64, u16)>,
) -> Result<String, StoreError> {
    let tag = |id| key_tag(tx, id);
    Ok(match *action {
        Action::Create(role) => format!(
            "published a new {} (key tag {})",
            role_name(role).to_uppercase(),
            made.map_or(0, |m| m.1)
        ),
        Action::Activate(id) => format!("key {} signs the zone", tag(id)?),
        Action::Retire(id) => format!("key {} stopped signing the zone", tag(id)?),
        Action::OfferDs(id) => format!("the DS of key {} is offered (CDS)", tag(id)?),
        Action::WithdrawDs(id) => format!("the CDS no longer asks for the DS of key {}", tag(id)?),
        Action::DsSeen(id) => format!("the parent holds the DS of key {}", tag(id)?),
        Action::DsGone(id) => format!("the parent no longer holds the DS of key {}", tag(id)?),
        Action::Remove(id) => format!("key {} removed from the zone", tag(id)?),
        Action::Unsign => "DNSSEC disabled: the zone is unsigned and its keys deleted".to_owned(),
    })
}

/// Applies `actions` at `at` to zone `z`'s `keys` in `tx`: new keys are
/// made with the algorithm of the zone's existing keys, every change is
/// audited as `who`; the zone moves to its next serial if what it
/// publishes changed (the change is returned, for the caller to publish).
fn apply(
    tx: &Transaction<'_>,
    config: &crate::StoreConfig,
    z: &mut ZoneRow,
    keys: &mut ZoneKeys,
    actions: &[Action],
    at: i64,
    who: &Actor,
) -> Result<Option<ZoneChange>, StoreError> {
    let when = u64::try_from(at).unwrap_or(0);
    let mut changed = false;
    for action in actions {
        let made = match action {
            Action::Create(role) => {
                let algorithm: u8 = tx.query_row(
                    "SELECT algorithm FROM dnssec_keys WHERE zone_id = ?1 AND removed_at IS NULL
                     ORDER BY id DESC LIMIT 1",
                    [z.id],
                    |r| r.get(0),
                )?;
                let algorithm =
                    Algorithm::from_number(algorithm).unwrap_or(Algorithm::EcdsaP256Sha256);
                Some(insert_key(tx, z.id, algorithm, *role, at, false)?)
            }
            _ => None,
        };
        let detail = describe(tx, action, made)?;
        keys.apply(action, when, made.map_or(0, |m| m.0));
        changed |= action.changes_zone();
        if *action == Action::Unsign {
            tx.execute("DELETE FROM dnssec_keys WHERE zone_id = ?1", [z.id])?;
            tx.execute("DELETE FROM dnssec WHERE zone_id = ?1", [z.id])?;
        }
        history::audit(
            tx,
            &Audit {
                account_id: z.account_id,
                actor: who,
                action: "dnssec.key",
                target: &z.name,
                detail: &format!("{}: {detail}", z.name),
                at,
            },
        )?;
    }
    if state_row(tx, z.id)?.is_some() {
        store(tx, z.id, keys, at)?;
    }
    if !changed {
        return Ok(None);
    }
    zones::bump_serial(tx, config, z, at)?;
    zones::compile_change(tx, z, config).map(Some)
}

/// The zone row of `zone_id`.
fn zone_by_id(tx: &Transaction<'_>, zone_id: i64) -> Result<ZoneRow, StoreError> {
    let sql = format!("SELECT {} FROM zones WHERE id = ?1", zones::ZONE_COLUMNS);
    tx.query_row(&sql, [zone_id], zones::zone_from_row)
        .optional()?
        .ok_or(StoreError::NotFound("zone"))
}

/// One key as `candor dnssec status` and the API show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    /// The key's id.
    pub id: i64,
    /// `"csk"`, `"ksk"` or `"zsk"`.
    pub role: &'static str,
    /// The algorithm number.
    pub algorithm: u8,
    /// The key tag.
    pub key_tag: u16,
    /// Where it is in its life: `"published"` (in the DNSKEY RRset, not
    /// signing yet), `"active"`, `"retired"` (published, no longer
    /// signing; a KSK: its DS no longer asked for), `"removed"`. A KSK
    /// is active from its publication (it signs the key sets at once).
    pub state: &'static str,
    /// The DS at the parent, for keys that have one: `"not offered yet"`,
    /// `"offered"` (give it to the registrar; the CDS asks for it),
    /// `"at the parent"`, `"withdrawn"` (the registrar should remove it),
    /// `"gone"`, or `"delete requested"` (disabling).
    pub ds: Option<&'static str>,
    /// RFC 7583's timestamps (RFC 3339 UTC).
    pub published_at: String,
    /// When it started signing.
    pub active_at: Option<String>,
    /// When it stopped signing.
    pub retired_at: Option<String>,
    /// When it left the DNSKEY RRset.
    pub removed_at: Option<String>,
}

/// A zone's DNSSEC keys and what comes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysStatus {
    /// Every key, oldest first.
    pub keys: Vec<KeyStatus>,
    /// When disabling was asked for (RFC 3339 UTC), if it was.
    pub disabling_since: Option<String>,
    /// The next event `candor serve` expects: when (RFC 3339 UTC; none
    /// when it waits for word from the parent) and what.
    pub next_event: Option<(Option<String>, String)>,
}

/// The time in RFC 3339, from seconds since the epoch.
fn show(t: u64) -> String {
    rfc3339(i64::try_from(t).unwrap_or(i64::MAX))
}

impl Store {
    /// A zone's key states (removed keys included) by zone id; empty when
    /// DNSSEC is off. For `candor serve`'s schedule.
    pub fn dnssec_key_states(&self, zone_id: i64) -> Result<ZoneKeys, StoreError> {
        self.read(|tx| load(tx, zone_id))
    }

    /// Moves zone `zone_id`'s keys on at `now` under `policy`: applies what
    /// `ZoneKeys::poll` says (again, inside the transaction, so a change
    /// made meanwhile by another process is seen) until nothing is left,
    /// audits each step, and records the next event for `status`. Returns
    /// the poll's last answer and the zone's change when what it
    /// publishes changed (for the caller to publish).
    pub fn dnssec_advance(
        &self,
        zone_id: i64,
        now: u64,
        policy: &Policy,
    ) -> Result<(Poll, Option<ZoneChange>), StoreError> {
        self.write(|tx| {
            let mut z = zone_by_id(tx, zone_id)?;
            let mut keys = load(tx, zone_id)?;
            let at = i64::try_from(now).unwrap_or(i64::MAX);
            let mut change = None;
            let mut poll = keys.poll(now, policy);
            for _ in 0..8 {
                if poll.actions.is_empty() {
                    break;
                }
                let actions = std::mem::take(&mut poll.actions);
                if let Some(c) =
                    apply(tx, &self.config, &mut z, &mut keys, &actions, at, &SCHEDULE)?
                {
                    change = Some(c);
                }
                poll = keys.poll(now, policy);
            }
            if state_row(tx, zone_id)?.is_some() {
                let (when, what) = next_event(&poll);
                tx.execute(
                    "UPDATE dnssec SET next_event_at = ?2, next_event = ?3 WHERE zone_id = ?1",
                    params![zone_id, db(when), what],
                )?;
            }
            Ok((poll, change, crate::incremental::key(&z)))
        })
        .map(|(poll, change, kept)| {
            // The next record write signs incrementally from this version.
            if let Some(change) = &change {
                self.compiled.remember(kept, change);
            }
            (poll, change)
        })
    }

    /// Records that the parent's DS RRset now matches what the zone's CDS
    /// asks for (`candor dnssec ds-seen`, the API's `ds_seen`): the DS of
    /// every key the CDS lists is there, the DS of every withdrawn key is
    /// gone, and while disabling, no DS is left. Returns what that told,
    /// in words. Nothing new to learn is a conflict saying why.
    pub fn dnssec_ds_seen(
        &self,
        account_id: i64,
        zone: &str,
        actor: &Actor,
    ) -> Result<Vec<String>, StoreError> {
        self.write(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            ds_seen(tx, &self.config, z, actor)
        })
    }

    /// [`Store::dnssec_ds_seen`] for zone `zone_id`, when `candor serve`
    /// saw the parent's DS RRset match the zone's CDS itself
    /// (`--dnssec-parent-check`); audited as the system.
    pub fn dnssec_parent_seen(&self, zone_id: i64) -> Result<Vec<String>, StoreError> {
        let actor = Actor {
            token_id: None,
            via: "parent-check",
            remote: None,
        };
        self.write(|tx| {
            let z = zone_by_id(tx, zone_id)?;
            ds_seen(tx, &self.config, z, &actor)
        })
    }
}

/// What `ds_seen` tells of zone `z` (see [`Store::dnssec_ds_seen`]),
/// applied and audited as `actor`.
fn ds_seen(
    tx: &Transaction<'_>,
    config: &crate::StoreConfig,
    mut z: ZoneRow,
    actor: &Actor,
) -> Result<Vec<String>, StoreError> {
    if state_row(tx, z.id)?.is_none() {
        return Err(not_enabled(&z.name));
    }
    let mut keys = load(tx, z.id)?;
    let actions = keys.ds_seen();
    if actions.is_empty() {
        let why = if keys.keys.iter().any(|k| k.in_cds()) {
            "the parent already holds every DS the zone asks for"
        } else {
            "the zone offers no DS yet (it is offered once the signed zone has been \
             served long enough: see `candor dnssec status`)"
        };
        return Err(StoreError::Conflict(format!(
            "nothing to confirm for {}: {why}",
            z.name
        )));
    }
    let words = actions
        .iter()
        .map(|a| describe(tx, a, None))
        .collect::<Result<Vec<_>, _>>()?;
    apply(tx, config, &mut z, &mut keys, &actions, now(), actor)?;
    Ok(words)
}

impl Store {
    /// Starts a rollover by hand: publishes a new key of `role` (by
    /// default the key that signs the zone's data: the ZSK of split keys,
    /// else the CSK); `candor serve` takes it through the rest. The zone
    /// moves to its next serial (for the caller to publish). A zone whose
    /// key cannot roll now is a conflict saying why.
    pub fn dnssec_rollover(
        &self,
        account_id: i64,
        zone: &str,
        role: Option<KeyRole>,
        actor: &Actor,
    ) -> Result<(u16, ZoneChange), StoreError> {
        self.write(|tx| {
            let mut z = find_zone(tx, account_id, zone)?;
            if state_row(tx, z.id)?.is_none() {
                return Err(not_enabled(&z.name));
            }
            let mut keys = load(tx, z.id)?;
            let role = role.unwrap_or_else(|| {
                if keys.keys.iter().any(|k| k.live() && k.role == KeyRole::Zsk) {
                    KeyRole::Zsk
                } else {
                    KeyRole::Csk
                }
            });
            keys.can_roll(role).map_err(|why| {
                StoreError::Conflict(format!("cannot roll the key of {}: {why}", z.name))
            })?;
            let change = apply(
                tx,
                &self.config,
                &mut z,
                &mut keys,
                &[Action::Create(role)],
                now(),
                actor,
            )?
            .ok_or_else(|| StoreError::Db("a rollover changed nothing".to_owned()))?;
            let tag = keys.keys.last().map_or(Ok(0), |k| key_tag(tx, k.id))?;
            Ok((tag, change))
        })
    }

    /// Asks for DNSSEC to be disabled the safe way: the zone publishes
    /// CDS/CDNSKEY DELETE (RFC 8078 §4) and stays signed; once the parent
    /// has no DS (`dnssec_ds_seen`) and caches have forgotten it, `candor
    /// serve` serves it unsigned and deletes the keys. The zone moves to
    /// its next serial (for the caller to publish). Already disabling, or
    /// not enabled, is a conflict.
    pub fn dnssec_start_disable(
        &self,
        account_id: i64,
        zone: &str,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        self.write(|tx| {
            let mut z = find_zone(tx, account_id, zone)?;
            if state_row(tx, z.id)?.is_none() {
                return Err(not_enabled(&z.name));
            }
            let mut keys = load(tx, z.id)?;
            if keys.disabling.is_some() {
                return Err(StoreError::Conflict(format!(
                    "DNSSEC is already being disabled for {}: remove the DS at the registrar, \
                     then run `candor dnssec ds-seen {}`",
                    z.name, z.name
                )));
            }
            let at = now();
            keys.disabling = Some(u64::try_from(at).unwrap_or(0));
            store(tx, z.id, &keys, at)?;
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            let change = zones::compile_change(tx, &z, &self.config)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "dnssec.disable",
                    target: &z.name,
                    detail: &format!(
                        "asked the parent to remove the DS of {} (CDS/CDNSKEY DELETE); the zone \
                         stays signed until the DS is gone",
                        z.name
                    ),
                    at,
                },
            )?;
            Ok(change)
        })
    }

    /// Cancels a disable under way: the CDS asks for the keys' DS again.
    /// The zone moves to its next serial (for the caller to publish); a
    /// zone not being disabled is a conflict.
    pub fn dnssec_cancel_disable(
        &self,
        account_id: i64,
        zone: &str,
        actor: &Actor,
    ) -> Result<ZoneChange, StoreError> {
        self.write(|tx| {
            let mut z = find_zone(tx, account_id, zone)?;
            let mut keys = load(tx, z.id)?;
            if keys.disabling.is_none() {
                return Err(StoreError::Conflict(format!(
                    "DNSSEC is not being disabled for {}",
                    z.name
                )));
            }
            keys.disabling = None;
            let at = now();
            store(tx, z.id, &keys, at)?;
            zones::bump_serial(tx, &self.config, &mut z, at)?;
            let change = zones::compile_change(tx, &z, &self.config)?;
            history::audit(
                tx,
                &Audit {
                    account_id,
                    actor,
                    action: "dnssec.enable",
                    target: &z.name,
                    detail: &format!("cancelled disabling DNSSEC for {}", z.name),
                    at,
                },
            )?;
            Ok(change)
        })
    }

    /// A zone's keys with their states and the next event `candor serve`
    /// recorded; `None` when DNSSEC is off.
    pub fn dnssec_keys_status(
        &self,
        account_id: i64,
        zone: &str,
    ) -> Result<Option<KeysStatus>, StoreError> {
        self.read(|tx| {
            let z = find_zone(tx, account_id, zone)?;
            let row: Option<(Option<i64>, Option<String>)> = tx
                .query_row(
                    "SELECT next_event_at, next_event FROM dnssec WHERE zone_id = ?1",
                    [z.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((next_at, next)) = row else {
                return Ok(None);
            };
            let states = load(tx, z.id)?;
            let mut keys = Vec::new();
            for k in &states.keys {
                let (algorithm, key_tag): (u8, u16) = tx.query_row(
                    "SELECT algorithm, key_tag FROM dnssec_keys WHERE id = ?1",
                    [k.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                keys.push(KeyStatus {
                    id: k.id,
                    role: role_name(k.role),
                    algorithm,
                    key_tag,
                    state: if k.removed.is_some() {
                        "removed"
                    } else if k.role == KeyRole::Ksk {
                        // A KSK signs the key sets from its publication
                        // on; it is retired once its DS is withdrawn.
                        if k.ds_withdrawn.is_some() {
                            "retired"
                        } else {
                            "active"
                        }
                    } else if k.retired.is_some() {
                        "retired"
                    } else if k.active.is_some() {
                        "active"
                    } else {
                        "published"
                    },
                    ds: ds_state(k, states.disabling.is_some()),
                    published_at: show(k.published),
                    active_at: k.active.map(show),
                    retired_at: k.retired.map(show),
                    removed_at: k.removed.map(show),
                });
            }
            Ok(Some(KeysStatus {
                keys,
                disabling_since: states.disabling.map(show),
                next_event: next.map(|what| (at(next_at).map(show), what)),
            }))
        })
    }
}

/// Where a key's DS stands, in words (`None` for a ZSK).
pub(crate) fn ds_state(k: &KeyState, disabling: bool) -> Option<&'static str> {
    if !k.role.signs_keys() {
        return None;
    }
    Some(if k.removed.is_some() || k.ds_gone.is_some() {
        "gone"
    } else if disabling {
        "delete requested"
    } else if k.ds_withdrawn.is_some() {
        "withdrawn"
    } else if k.ds_seen.is_some() {
        "at the parent"
    } else if k.ds_offered.is_some() {
        "offered"
    } else {
        "not offered yet"
    })
}

/// The next event of a poll for `status`: when, and what (or what word
/// from the parent it waits for).
fn next_event(poll: &Poll) -> (Option<u64>, Option<String>) {
    if let Some(t) = poll.next_time() {
        let what = poll.waits.iter().find_map(|w| match w {
            Wait::Until(at, what) if *at == t => Some((*what).to_owned()),
            _ => None,
        });
        return (Some(t), what);
    }
    match poll.waits.first() {
        Some(Wait::Parent(what)) => (
            None,
            Some(format!(
                "waiting for {what}: run `candor dnssec ds-seen` when it does"
            )),
        ),
        _ => (None, None),
    }
}

/// The conflict of a zone without DNSSEC.
pub(crate) fn not_enabled(zone: &str) -> StoreError {
    StoreError::Conflict(format!("DNSSEC is not enabled for {zone}"))
}

#[cfg(test)]
mod tests {
    use candor_dnssec::rollover::{Policy, Timing, Wait};
    use candor_dnssec::{Algorithm, CDS_DELETE, KeyRole};
    use candor_wire::Rtype;

    use crate::tests::{actor, store};
    use crate::time::now;
    use crate::{Store, StoreError, ZoneChange};

    /// A policy whose waits are all zero: every step is due at once.
    const NOW: Policy = Policy {
        timing: Timing {
            propagation: 0,
            dnskey_ttl: 0,
            max_zone_ttl: 0,
        },
        parent_ds_ttl: 0,
        zsk_lifetime: 0,
        csk_lifetime: 0,
    };

    /// The RDATAs of `rtype` at the apex of a change's compiled zone.
    fn apex(change: &ZoneChange, rtype: Rtype) -> Vec<Vec<u8>> {
        let zone = change.compiled.as_ref().unwrap();
        zone.records()
            .filter(|r| r.rtype == rtype && r.owner == zone.apex().as_wire())
            .map(|r| r.rdata.to_vec())
            .collect()
    }

    /// The key tags of the DNSKEY RRset of a change.
    fn dnskey_tags(change: &ZoneChange) -> Vec<u16> {
        apex(change, Rtype::DNSKEY)
            .iter()
            .map(|k| candor_dnssec::key_tag(k))
            .collect()
    }

    /// Moves the zone's keys on at `at` and returns the change.
    fn advance(s: &Store, z: i64, at: u64) -> Option<ZoneChange> {
        s.dnssec_advance(z, at, &NOW).unwrap().1
    }

    /// A CSK zone's whole life in the store: enabled (DS not offered until
    /// the schedule says), offered (CDS appears), rolled by hand (both
    /// keys published, then the new one signs, the CDS asks for both,
    /// then for the new one once the parent holds it, and the old key
    /// goes once the parent dropped its DS, its private half erased),
    /// then disabled (CDS DELETE, still signed, unsigned after the
    /// parent's DS is gone). Status and the DS list follow along; each
    /// step is in the audit log.
    #[test]
    fn a_csk_zone_rolls_and_disables_through_the_safe_states() {
        let s = store();
        let acct = s.create_account("owner@example.com").unwrap().id;
        let z = s
            .create_zone(acct, "example.com", &actor())
            .unwrap()
            .zone
            .id;
        let (_, on) = s
            .enable_dnssec(acct, "example.com", Algorithm::EcdsaP256Sha256, &actor())
            .unwrap();
        let old = dnskey_tags(&on);
        assert_eq!(old.len(), 1);
        assert!(apex(&on, Rtype::CDS).is_empty());
        assert_eq!(
            s.ds_records(acct, "example.com").unwrap()[0].state,
            "not offered yet"
        );
        let t = u64::try_from(now()).unwrap();

        // With real waits, nothing is due yet, and the status says when.
        let policy = Policy {
            timing: Timing {
                propagation: 60,
                dnskey_ttl: 3_600,
                max_zone_ttl: 3_600,
            },
            ..NOW
        };
        let (poll, change) = s.dnssec_advance(z, t, &policy).unwrap();
        assert!(change.is_none());
        assert_eq!(
            poll.waits,
            [Wait::Until(t_of(&s, z) + 3_660, "the DS is offered")]
        );
        let status = s.dnssec_keys_status(acct, "example.com").unwrap().unwrap();
        let (when, what) = status.next_event.unwrap();
        assert!(when.is_some());
        assert_eq!(what, "the DS is offered");
        assert_eq!(status.keys[0].state, "active");
        assert_eq!(status.keys[0].ds, Some("not offered yet"));

        let offered = advance(&s, z, t + 10).unwrap();
        assert_eq!(apex(&offered, Rtype::CDS).len(), 1);
        assert_eq!(
            s.ds_records(acct, "example.com").unwrap()[0].state,
            "offered"
        );
        assert_eq!(
            s.dnssec_ds_seen(acct, "example.com", &actor()).unwrap(),
            [format!("the parent holds the DS of key {}", old[0])]
        );
        assert!(matches!(
            s.dnssec_ds_seen(acct, "example.com", &actor()),
            Err(StoreError::Conflict(m)) if m.contains("already holds every DS")
        ));

        // A rollover by hand: both keys published, the old one signing.
        let (new_tag, rolled) = s
            .dnssec_rollover(acct, "example.com", None, &actor())
            .unwrap();
        assert_eq!(dnskey_tags(&rolled).len(), 2);
        assert!(dnskey_tags(&rolled).contains(&new_tag));
        assert!(matches!(
            s.dnssec_rollover(acct, "example.com", None, &actor()),
            Err(StoreError::Conflict(m)) if m.contains("already under way")
        ));
        let switched = advance(&s, z, t + 20).unwrap();
        assert_eq!(apex(&switched, Rtype::CDS).len(), 2);
        let soa_signer = |c: &ZoneChange| {
            let zone = c.compiled.as_ref().unwrap();
            zone.records()
                .filter(|r| r.rtype == Rtype::RRSIG && r.rdata[..2] == Rtype::SOA.0.to_be_bytes())
                .map(|r| u16::from_be_bytes([r.rdata[16], r.rdata[17]]))
                .collect::<Vec<u16>>()
        };
        assert_eq!(soa_signer(&switched), [new_tag]);
        // Until the parent holds the new DS, the old key stays.
        assert!(advance(&s, z, t + 1_000_000).is_none());
        s.dnssec_ds_seen(acct, "example.com", &actor()).unwrap();
        let withdrawn = advance(&s, z, t + 1_000_010).unwrap();
        assert_eq!(apex(&withdrawn, Rtype::CDS).len(), 1);
        assert_eq!(dnskey_tags(&withdrawn).len(), 2);
        let ds = s.ds_records(acct, "example.com").unwrap();
        let states: Vec<(&str, &str)> = ds.iter().map(|d| (d.keytag.as_str(), d.state)).collect();
        let (o, n) = (old[0].to_string(), new_tag.to_string());
        assert_eq!(
            states,
            [(o.as_str(), "withdrawn"), (n.as_str(), "at the parent")]
        );
        // The parent dropped the old DS: the old key goes.
        s.dnssec_ds_seen(acct, "example.com", &actor()).unwrap();
        let done = advance(&s, z, t + 1_000_020).unwrap();
        assert_eq!(dnskey_tags(&done), [new_tag]);
        assert_eq!(s.dnssec_keys(z).unwrap().len(), 1);
        let erased: Vec<usize> = s
            .read(|tx| {
                let mut st = tx.prepare("SELECT length(pkcs8) FROM dnssec_keys ORDER BY id")?;
                let rows = st
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            })
            .unwrap();
        assert_eq!(erased[0], 0);
        assert!(erased[1] > 0);
        let status = s.dnssec_keys_status(acct, "example.com").unwrap().unwrap();
        let keys: Vec<(&str, Option<&str>)> = status.keys.iter().map(|k| (k.state, k.ds)).collect();
        assert_eq!(
            keys,
            [("removed", Some("gone")), ("active", Some("at the parent"))]
        );

        // Disabling: CDS DELETE, still signed, until the parent's DS is gone.
        let asked = s
            .dnssec_start_disable(acct, "example.com", &actor())
            .unwrap();
        assert_eq!(apex(&asked, Rtype::CDS), [CDS_DELETE.to_vec()]);
        assert_eq!(dnskey_tags(&asked), [new_tag]);
        assert!(matches!(
            s.dnssec_start_disable(acct, "example.com", &actor()),
            Err(StoreError::Conflict(m)) if m.contains("already being disabled")
        ));
        assert_eq!(
            s.ds_records(acct, "example.com").unwrap()[0].state,
            "delete requested"
        );
        let (poll, change) = s.dnssec_advance(z, t + 2_000_000, &NOW).unwrap();
        assert!(change.is_none());
        assert!(matches!(poll.waits[..], [Wait::Parent(_)]), "{poll:?}");
        s.dnssec_ds_seen(acct, "example.com", &actor()).unwrap();
        let off = advance(&s, z, t + 2_000_010).unwrap();
        assert!(off.compiled.as_ref().unwrap().signed().is_none());
        assert!(!s.dnssec(acct, "example.com").unwrap().enabled);
        assert!(s.dnssec_keys_status(acct, "example.com").unwrap().is_none());

        let log = s.audit_log(acct, 1, 100).unwrap();
        let text = format!("{:?}", log.items);
        for step in [
            "is offered (CDS)",
            "published a new CSK",
            "stopped signing the zone",
            "removed from the zone",
            "CDS/CDNSKEY DELETE",
            "DNSSEC disabled: the zone is unsigned",
        ] {
            assert!(text.contains(step), "{step}: {text}");
        }
    }

    /// The key tags of the signatures over `rtype` at the apex of a
    /// change.
    fn signers(change: &ZoneChange, rtype: Rtype) -> Vec<u16> {
        let mut tags: Vec<u16> = apex(change, Rtype::RRSIG)
            .iter()
            .filter(|r| r[..2] == rtype.0.to_be_bytes())
            .map(|r| u16::from_be_bytes([r[16], r[17]]))
            .collect();
        tags.sort_unstable();
        tags
    }

    /// Split keys' KSK rolls by hand (double-RRset): refused while its DS
    /// is not offered; then the new KSK is published and signs the DNSKEY
    /// RRset beside the old one at once, the CDS asks for both DS records,
    /// then for the new one once the parent holds it, and the old KSK
    /// goes once the parent dropped its DS. The ZSK signs the data
    /// throughout; the DS list and the status follow.
    #[test]
    fn a_ksk_of_split_keys_rolls_through_both_ds() {
        let s = store();
        let acct = s.create_account("owner@example.com").unwrap().id;
        let z = s
            .create_zone(acct, "example.net", &actor())
            .unwrap()
            .zone
            .id;
        let (_, on) = s
            .enable_dnssec_with(
                acct,
                "example.net",
                Algorithm::EcdsaP256Sha256,
                true,
                &actor(),
            )
            .unwrap();
        let states = s.dnssec_key_states(z).unwrap();
        let ksk_id = states
            .keys
            .iter()
            .find(|k| k.role == KeyRole::Ksk)
            .unwrap()
            .id;
        let tag_of = |id: i64| {
            s.dnssec_keys_status(acct, "example.net")
                .unwrap()
                .unwrap()
                .keys
                .iter()
                .find(|k| k.id == id)
                .map(|k| k.key_tag)
                .unwrap()
        };
        let (old_ksk, zsk) = (tag_of(ksk_id), tag_of(states.keys[1].id));
        assert_eq!(signers(&on, Rtype::DNSKEY), [old_ksk]);
        assert!(matches!(
            s.dnssec_rollover(acct, "example.net", Some(KeyRole::Ksk), &actor()),
            Err(StoreError::Conflict(m)) if m.contains("still going secure")
        ));
        let t = u64::try_from(now()).unwrap();
        advance(&s, z, t).unwrap();
        s.dnssec_ds_seen(acct, "example.net", &actor()).unwrap();

        let (new_ksk, rolled) = s
            .dnssec_rollover(acct, "example.net", Some(KeyRole::Ksk), &actor())
            .unwrap();
        let mut both = vec![old_ksk, new_ksk];
        both.sort_unstable();
        assert_eq!(signers(&rolled, Rtype::DNSKEY), both);
        assert_eq!(signers(&rolled, Rtype::SOA), [zsk]);
        assert_eq!(dnskey_tags(&rolled).len(), 3);
        let offered = advance(&s, z, t + 10).unwrap();
        assert_eq!(apex(&offered, Rtype::CDS).len(), 2);
        assert_eq!(signers(&offered, Rtype::CDS), both);
        let ds = s.ds_records(acct, "example.net").unwrap();
        assert_eq!(ds.len(), 2);
        let status = s.dnssec_keys_status(acct, "example.net").unwrap().unwrap();
        let ksks: Vec<(&str, Option<&str>)> = status
            .keys
            .iter()
            .filter(|k| k.role == "ksk")
            .map(|k| (k.state, k.ds))
            .collect();
        assert_eq!(
            ksks,
            [
                ("active", Some("at the parent")),
                ("active", Some("offered"))
            ]
        );
        // Until the parent holds both, nothing moves.
        assert!(advance(&s, z, t + 20).is_none());
        assert_eq!(
            s.dnssec_ds_seen(acct, "example.net", &actor()).unwrap(),
            [format!("the parent holds the DS of key {new_ksk}")]
        );
        let withdrawn = advance(&s, z, t + 30).unwrap();
        assert_eq!(apex(&withdrawn, Rtype::CDS).len(), 1);
        assert_eq!(dnskey_tags(&withdrawn).len(), 3);
        assert_eq!(signers(&withdrawn, Rtype::DNSKEY), both);
        // The old KSK stays until the parent dropped its DS.
        assert!(advance(&s, z, t + 40).is_none());
        assert_eq!(
            s.dnssec_ds_seen(acct, "example.net", &actor()).unwrap(),
            [format!(
                "the parent no longer holds the DS of key {old_ksk}"
            )]
        );
        let done = advance(&s, z, t + 50).unwrap();
        assert_eq!(signers(&done, Rtype::DNSKEY), [new_ksk]);
        assert_eq!(signers(&done, Rtype::SOA), [zsk]);
        let mut left = dnskey_tags(&done);
        left.sort_unstable();
        let mut want = vec![zsk, new_ksk];
        want.sort_unstable();
        assert_eq!(left, want);
        let ds = s.ds_records(acct, "example.net").unwrap();
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].keytag, new_ksk.to_string());
        let status = s.dnssec_keys_status(acct, "example.net").unwrap().unwrap();
        assert_eq!(status.keys[0].state, "removed");
    }

    /// The publication time of the zone's first key.
    fn t_of(s: &Store, z: i64) -> u64 {
        s.dnssec_key_states(z).unwrap().keys[0].published
    }

    /// Split keys: a ZSK rollover needs no word from the parent; the KSK's
    /// DS stays offered; cancelling a disable brings the CDS back.
    #[test]
    fn a_zsk_rolls_without_the_parent_and_a_disable_can_be_cancelled() {
        let s = store();
        let acct = s.create_account("owner@example.com").unwrap().id;
        let z = s
            .create_zone(acct, "example.org", &actor())
            .unwrap()
            .zone
            .id;
        let (_, on) = s
            .enable_dnssec_with(acct, "example.org", Algorithm::Ed25519, true, &actor())
            .unwrap();
        assert_eq!(dnskey_tags(&on).len(), 2);
        let t = u64::try_from(now()).unwrap();
        advance(&s, z, t).unwrap();
        let (zsk, _) = s
            .dnssec_rollover(acct, "example.org", None, &actor())
            .unwrap();
        let keys = s.dnssec_key_states(z).unwrap();
        assert_eq!(keys.keys.last().unwrap().role, KeyRole::Zsk);
        advance(&s, z, t + 10).unwrap();
        let done = advance(&s, z, t + 20);
        // Activation and removal can both be due at once with zero waits.
        let last = done.or_else(|| advance(&s, z, t + 30));
        let states = s.dnssec_key_states(z).unwrap();
        assert_eq!(states.keys.iter().filter(|k| k.live()).count(), 2);
        assert!(last.is_none() || dnskey_tags(last.as_ref().unwrap()).contains(&zsk));
        assert_eq!(s.ds_records(acct, "example.org").unwrap().len(), 1);

        let asked = s
            .dnssec_start_disable(acct, "example.org", &actor())
            .unwrap();
        assert_eq!(apex(&asked, Rtype::CDS), [CDS_DELETE.to_vec()]);
        let back = s
            .dnssec_cancel_disable(acct, "example.org", &actor())
            .unwrap();
        assert_eq!(apex(&back, Rtype::CDS).len(), 1);
        assert_ne!(apex(&back, Rtype::CDS), [CDS_DELETE.to_vec()]);
    }

    /// Keys stored before key states existed (schema version 7) were
    /// published, signing and offered from their creation, and read so
    /// after the migration.
    #[test]
    fn keys_of_schema_version_7_migrate_as_published_active_and_offered() {
        let dir = crate::tests::TempDir::new("v7-keys");
        let path = dir.path().join("candor.db");
        std::fs::create_dir_all(dir.path()).unwrap();
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for step in &crate::db::MIGRATIONS[..7] {
                conn.execute_batch(step).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO accounts (id, email, created_at, updated_at)
                     VALUES (1, 'a@example.org', 100, 100);
                 INSERT INTO zones (id, account_id, name, serial, reverse, created_at, updated_at)
                     VALUES (1, 1, 'example.com', 1, 0, 100, 100);
                 INSERT INTO dnssec (zone_id, created_at, updated_at) VALUES (1, 500, 500);
                 INSERT INTO dnssec_keys (zone_id, algorithm, role, key_tag, dnskey, pkcs8,
                                          created_at, updated_at)
                     VALUES (1, 13, 'csk', 1, x'00', x'00', 500, 500),
                            (1, 13, 'zsk', 2, x'00', x'00', 600, 600);
                 PRAGMA user_version = 7;",
            )
            .unwrap();
        }
        let s = Store::open(&path, crate::tests::config()).unwrap();
        let keys = s.dnssec_key_states(1).unwrap();
        assert_eq!(keys.disabling, None);
        let got: Vec<_> = keys
            .keys
            .iter()
            .map(|k| (k.role, k.published, k.active, k.ds_offered, k.removed))
            .collect();
        assert_eq!(
            got,
            [
                (KeyRole::Csk, 500, Some(500), Some(500), None),
                (KeyRole::Zsk, 600, Some(600), None, None),
            ]
        );
    }
}
