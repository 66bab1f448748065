//! Key rollovers and the safe way into and out of DNSSEC, as a pure state
//! machine over each key's RFC 7583 timestamps (published, active,
//! retired, removed) and what the parent was told and holds (the DS
//! offered in CDS, withdrawn from it, seen at the parent, gone from it).
//!
//! [`ZoneKeys::poll`] says what to do at a moment (`Action`s) and what
//! it waits for next; the caller (the store, driven by `candor serve`)
//! applies the actions with [`ZoneKeys::apply`], stores the timestamps and
//! republishes the zone. Which key publishes and signs what follows from
//! the timestamps alone ([`ZoneKeys::select`]), so every process that
//! compiles the zone signs it the same way.
//!
//! - **ZSK rollover by pre-publication** (RFC 7583 §3.2.1, RFC 6781
//!   §4.1.1.1): publish the new key; after propagation + DNSKEY TTL it
//!   signs instead of the old one; after propagation + the largest TTL
//!   in the zone the old key leaves the DNSKEY RRset.
//! - **CSK rollover**: the same for the data signatures, while both keys
//!   sign the DNSKEY RRset; when the new key signs, the CDS/CDNSKEY
//!   RRsets ask for both DS records; once the parent holds the new DS
//!   (the caller says so: [`ZoneKeys::ds_seen`]) and caches have had
//!   time to fetch it, the CDS asks for the new one only; once the parent
//!   has dropped the old DS, the old key goes. A DS at the parent never
//!   names a key the zone does not publish.
//! - **KSK rollover** of split keys (double-RRset, RFC 7583 §3.3.3): the
//!   new KSK is published and signs the DNSKEY, CDS and CDNSKEY RRsets at
//!   once beside the old one, and the CDS asks for both DS records; once
//!   the parent holds the new DS (and no cache can hold a DNSKEY RRset
//!   without the new key) the CDS asks for the new one only; once the
//!   parent has dropped the old DS, the old KSK goes. The ZSK is untouched.
//! - **Going secure** (enable): the key publishes and signs at once; its
//!   DS is offered (CDS, and to the user) only after propagation + the
//!   largest TTL, when no cache can hold unsigned data any more.
//! - **Going insecure** (disable): the zone stays signed and publishes
//!   CDS/CDNSKEY DELETE (RFC 8078 §4) until the parent has removed the DS
//!   and caches have forgotten it; then it is served unsigned.

use crate::key::{KeyRole, SigningKey};
use crate::keyset::{Cds, KeySet};

/// The delays a rollover waits out, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a change takes to reach every name server of the zone
    /// (secondaries included): Dprp of RFC 7583.
    pub propagation: u32,
    /// The DNSKEY RRset's TTL: TTLkey.
    pub dnskey_ttl: u32,
    /// The largest TTL of any signed RRset in the zone (NSEC included):
    /// TTLsig.
    pub max_zone_ttl: u32,
}

/// Which of the two keys of a rollover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The key being replaced.
    Old,
    /// The key replacing it.
    New,
}

/// A planned pre-publication rollover: the moments (seconds since the
/// epoch) at which the zone changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZskRoll {
    /// The new key is added to the DNSKEY RRset (still signed with the
    /// old key only).
    pub publish: u64,
    /// Signatures are made with the new key instead of the old one:
    /// `publish + propagation + dnskey_ttl` (Ipub).
    pub activate: u64,
    /// The old key leaves the DNSKEY RRset: `activate + propagation +
    /// max_zone_ttl` (Iret).
    pub remove_old: u64,
}

impl ZskRoll {
    /// The earliest safe schedule of a rollover that starts at `start`.
    pub fn plan(start: u64, timing: &Timing) -> ZskRoll {
        let activate = start + u64::from(timing.propagation) + u64::from(timing.dnskey_ttl);
        ZskRoll {
            publish: start,
            activate,
            remove_old: activate + u64::from(timing.propagation) + u64::from(timing.max_zone_ttl),
        }
    }

    /// Whether `key` is in the DNSKEY RRset the zone publishes at `now`.
    pub fn published(&self, key: Which, now: u64) -> bool {
        match key {
            Which::Old => now < self.remove_old,
            Which::New => now >= self.publish,
        }
    }

    /// The key that signs the zone's data at `now`.
    pub fn signer(&self, now: u64) -> Which {
        if now < self.activate {
            Which::Old
        } else {
            Which::New
        }
    }

    /// Whether the rollover is over at `now` (the old key can be deleted).
    pub fn done(&self, now: u64) -> bool {
        now >= self.remove_old
    }
}

/// How long to wait for things outside the zone, and when keys roll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The zone's delays (propagation, DNSKEY TTL, largest TTL).
    pub timing: Timing,
    /// How long a resolver may keep the parent's DS RRset after the
    /// parent changed it: the DS TTL plus the parent's propagation delay.
    pub parent_ds_ttl: u32,
    /// A ZSK rolls this many seconds after it started signing (0: never
    /// by itself).
    pub zsk_lifetime: u64,
    /// A CSK rolls this many seconds after it started signing (0: never
    /// by itself; a CSK rollover needs the parent's DS to change).
    pub csk_lifetime: u64,
}

/// One key's state: RFC 7583's timestamps (seconds since the epoch) and
/// what the parent was asked for and holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyState {
    /// The key's id in the store.
    pub id: i64,
    /// Its role.
    pub role: KeyRole,
    /// When it entered the DNSKEY RRset.
    pub published: u64,
    /// When it started signing the zone's data (`None`: not yet; a KSK
    /// never does).
    pub active: Option<u64>,
    /// When it stopped signing the zone's data.
    pub retired: Option<u64>,
    /// When it left the DNSKEY RRset (it signs nothing any more).
    pub removed: Option<u64>,
    /// When its DS was first offered: in the CDS/CDNSKEY RRsets and shown
    /// to the user for the registrar.
    pub ds_offered: Option<u64>,
    /// When the CDS RRset stopped asking for its DS.
    pub ds_withdrawn: Option<u64>,
    /// When the parent was seen holding its DS.
    pub ds_seen: Option<u64>,
    /// When the parent was seen without its DS (after it was withdrawn,
    /// or while the zone goes unsigned).
    pub ds_gone: Option<u64>,
}

impl KeyState {
    /// A key published at `now`; `active` says whether it signs the
    /// zone's data from the start (the first key of a zone does).
    pub fn new(id: i64, role: KeyRole, now: u64, active: bool) -> KeyState {
        KeyState {
            id,
            role,
            published: now,
            active: (active && role.signs_zone()).then_some(now),
            retired: None,
            removed: None,
            ds_offered: None,
            ds_withdrawn: None,
            ds_seen: None,
            ds_gone: None,
        }
    }

    /// Whether the key is in the DNSKEY RRset.
    pub fn live(&self) -> bool {
        self.removed.is_none()
    }

    /// Whether it signs the DNSKEY, CDS and CDNSKEY RRsets (every
    /// published CSK and KSK does: one with a DS at the parent must).
    pub fn signs_keys(&self) -> bool {
        self.live() && self.role.signs_keys()
    }

    /// Whether it signs the zone's other RRsets.
    pub fn signs_zone(&self) -> bool {
        self.live() && self.role.signs_zone() && self.active.is_some() && self.retired.is_none()
    }

    /// Whether the CDS/CDNSKEY RRsets ask for its DS (outside a disable).
    pub fn in_cds(&self) -> bool {
        self.signs_keys() && self.ds_offered.is_some() && self.ds_withdrawn.is_none()
    }
}

/// A zone's keys and whether it is going unsigned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneKeys {
    /// The keys, oldest first (removed ones included until forgotten).
    pub keys: Vec<KeyState>,
    /// When disabling was asked for: the zone publishes CDS DELETE and
    /// stays signed until the parent's DS is gone.
    pub disabling: Option<u64>,
}

/// Something to do to a zone's keys now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Make a key of this role and publish it (it does not sign data yet).
    Create(KeyRole),
    /// The key starts signing the zone's data.
    Activate(i64),
    /// The key stops signing the zone's data.
    Retire(i64),
    /// Offer the key's DS: CDS/CDNSKEY, and to the user.
    OfferDs(i64),
    /// Stop asking for the key's DS.
    WithdrawDs(i64),
    /// The parent holds the key's DS.
    DsSeen(i64),
    /// The parent no longer holds the key's DS.
    DsGone(i64),
    /// The key leaves the DNSKEY RRset; its private half can go.
    Remove(i64),
    /// Disabling is complete: the zone is served unsigned, its keys go.
    Unsign,
}

impl Action {
    /// Whether the signed zone changes (a new serial to publish): all but
    /// what the caller learns about the parent.
    pub fn changes_zone(&self) -> bool {
        !matches!(self, Action::DsSeen(_) | Action::DsGone(_))
    }
}

/// What a zone waits for after the actions of a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// A moment (seconds since the epoch), and what happens then.
    Until(u64, &'static str),
    /// Word from the parent (`candor dnssec ds-seen`), and what about.
    Parent(&'static str),
}

/// The result of [`ZoneKeys::poll`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poll {
    /// What to do now, in order.
    pub actions: Vec<Action>,
    /// What comes next (empty: nothing is scheduled).
    pub waits: Vec<Wait>,
}

impl Poll {
    /// Adds `action` if `now` is at or past `at`, else waits for `at`.
    fn at(&mut self, now: u64, at: u64, action: &[Action], what: &'static str) {
        if now >= at {
            self.actions.extend_from_slice(action);
        } else {
            self.waits.push(Wait::Until(at, what));
        }
    }

    /// The earliest moment waited for, if any.
    pub fn next_time(&self) -> Option<u64> {
        self.waits
            .iter()
            .filter_map(|w| match w {
                Wait::Until(t, _) => Some(*t),
                Wait::Parent(_) => None,
            })
            .min()
    }
}

/// The keys by what they do, as [`ZoneKeys::select`] gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection<T> {
    /// The DNSKEY RRset.
    pub dnskey: Vec<T>,
    /// Signers of the apex key sets.
    pub key_signers: Vec<T>,
    /// Signers of the rest.
    pub zone_signers: Vec<T>,
    /// The keys whose DS the CDS/CDNSKEY RRsets ask for; `None`: they ask
    /// for the DS RRset to be deleted.
    pub cds: Option<Vec<T>>,
}

impl<'k> From<Selection<&'k SigningKey>> for KeySet<'k> {
    fn from(s: Selection<&'k SigningKey>) -> KeySet<'k> {
        KeySet {
            dnskey: s.dnskey,
            key_signers: s.key_signers,
            zone_signers: s.zone_signers,
            cds: s.cds.map_or(Cds::Delete, Cds::Keys),
        }
    }
}

/// Seconds as `u64`.
fn secs(s: u32) -> u64 {
    u64::from(s)
}

impl ZoneKeys {
    /// The live keys of `role`, oldest first.
    fn live(&self, role: KeyRole) -> Vec<&KeyState> {
        self.keys
            .iter()
            .filter(|k| k.role == role && k.live())
            .collect()
    }

    /// What `keys` (each with its id) do now; keys without a state, and
    /// states without a key, are left out.
    pub fn select<'k, K>(&self, keys: &'k [(i64, K)]) -> Selection<&'k K> {
        let find = |id: i64| keys.iter().find(|(k, _)| *k == id).map(|(_, key)| key);
        let pick = |f: &dyn Fn(&KeyState) -> bool| -> Vec<&'k K> {
            self.keys
                .iter()
                .filter(|k| f(k))
                .filter_map(|k| find(k.id))
                .collect()
        };
        Selection {
            dnskey: pick(&KeyState::live),
            key_signers: pick(&KeyState::signs_keys),
            zone_signers: pick(&KeyState::signs_zone),
            cds: self.disabling.is_none().then(|| pick(&KeyState::in_cds)),
        }
    }

    /// What to do at `now`, and what comes after.
    pub fn poll(&self, now: u64, policy: &Policy) -> Poll {
        let t = &policy.timing;
        let mut poll = Poll::default();
        // When the parent's DS changes, how long until no cache holds the
        // old DS RRset.
        let parent = secs(policy.parent_ds_ttl) + secs(t.propagation);
        if self.disabling.is_some() {
            let sep: Vec<&KeyState> = self.keys.iter().filter(|k| k.signs_keys()).collect();
            match sep.iter().map(|k| k.ds_gone).collect::<Option<Vec<u64>>>() {
                Some(gone) => {
                    let g = gone.into_iter().max().unwrap_or(0);
                    poll.at(now, g + parent, &[Action::Unsign], "the zone goes unsigned");
                }
                None => poll.waits.push(Wait::Parent(
                    "the parent to remove the DS (the zone asks with CDS/CDNSKEY DELETE)",
                )),
            }
            return poll;
        }
        // Until a new key is in every cached DNSKEY RRset.
        let ipub = secs(t.propagation) + secs(t.dnskey_ttl);
        // Until no cache holds data signed by a retired key.
        let iret = secs(t.propagation) + secs(t.max_zone_ttl);
        for role in [KeyRole::Csk, KeyRole::Ksk, KeyRole::Zsk] {
            match self.live(role).as_slice() {
                [] => {}
                [key] => {
                    if role.signs_keys() && key.ds_offered.is_none() {
                        // Going secure: no cache may hold unsigned data
                        // (or an unsigned DNSKEY answer) once the DS can
                        // be at the parent.
                        let at = key.published
                            + secs(t.propagation)
                            + secs(t.max_zone_ttl.max(t.dnskey_ttl));
                        poll.at(now, at, &[Action::OfferDs(key.id)], "the DS is offered");
                    }
                    let lifetime = match role {
                        KeyRole::Csk => policy.csk_lifetime,
                        KeyRole::Zsk => policy.zsk_lifetime,
                        KeyRole::Ksk => 0,
                    };
                    if let Some(active) = key.active.filter(|_| lifetime > 0) {
                        let what = match role {
                            KeyRole::Zsk => "a ZSK rollover starts",
                            _ => "a CSK rollover starts",
                        };
                        poll.at(now, active + lifetime, &[Action::Create(role)], what);
                    }
                }
                [old, new, ..] => {
                    if new.active.is_none() && role.signs_zone() {
                        let mut step = vec![Action::Activate(new.id), Action::Retire(old.id)];
                        if role.signs_keys() {
                            step.push(Action::OfferDs(new.id));
                        }
                        poll.at(now, new.published + ipub, &step, "the new key signs");
                        continue;
                    }
                    if role == KeyRole::Ksk && new.ds_offered.is_none() {
                        // A KSK signs the key sets from its publication on,
                        // so its DS can be at the parent at once beside the
                        // old one's: a resolver validates the DNSKEY RRset
                        // with either DS (double-RRset, RFC 7583 §3.3.3).
                        poll.at(
                            now,
                            new.published,
                            &[Action::OfferDs(new.id)],
                            "the new key's DS is offered",
                        );
                        continue;
                    }
                    let retired = old.retired.unwrap_or(now);
                    if !role.signs_keys() {
                        poll.at(
                            now,
                            retired + iret,
                            &[Action::Remove(old.id)],
                            "the old key is removed",
                        );
                    } else if old.ds_withdrawn.is_none() {
                        match new.ds_seen {
                            // Once the old DS is withdrawn the parent may
                            // hold the new one alone: by then no cache may
                            // hold the old DS RRset, nor a DNSKEY RRset
                            // without the new key.
                            Some(seen) => poll.at(
                                now,
                                (seen + parent).max(new.published + ipub),
                                &[Action::WithdrawDs(old.id)],
                                "the CDS stops asking for the old key's DS",
                            ),
                            None => poll.waits.push(Wait::Parent(
                                "the parent to hold the new key's DS (offered in CDS)",
                            )),
                        }
                    } else {
                        // A KSK signed the key sets only, and the DNSKEY
                        // RRset is signed by the new key too: it can go
                        // once the parent dropped its DS (no cache holds
                        // a DS RRset naming it alone: that was before the
                        // new DS was seen, a parent DS TTL ago).
                        let after = if role.signs_zone() { retired + iret } else { 0 };
                        match old.ds_gone {
                            Some(gone) => poll.at(
                                now,
                                after.max(gone),
                                &[Action::Remove(old.id)],
                                "the old key is removed",
                            ),
                            None => poll.waits.push(Wait::Parent(
                                "the parent to remove the old key's DS (no longer in CDS)",
                            )),
                        }
                    }
                }
            }
        }
        poll
    }

    /// What the caller learnt when told that the parent's DS RRset now
    /// matches what the zone's CDS RRset asks for (`candor dnssec
    /// ds-seen`): the DS of every key in the CDS is there, the DS of every
    /// withdrawn key is gone; while disabling, no DS is left. Empty when
    /// that tells nothing new.
    pub fn ds_seen(&self) -> Vec<Action> {
        let mut out = Vec::new();
        for k in self.keys.iter().filter(|k| k.signs_keys()) {
            if self.disabling.is_some() {
                if k.ds_gone.is_none() {
                    out.push(Action::DsGone(k.id));
                }
            } else if k.in_cds() && k.ds_seen.is_none() {
                out.push(Action::DsSeen(k.id));
            } else if k.ds_withdrawn.is_some() && k.ds_gone.is_none() {
                out.push(Action::DsGone(k.id));
            }
        }
        out
    }

    /// Whether a rollover of the zone's `role` key may start by hand: it
    /// has exactly one such key, signing, and is not going unsigned.
    pub fn can_roll(&self, role: KeyRole) -> Result<(), &'static str> {
        if self.disabling.is_some() {
            return Err("DNSSEC is being disabled for this zone");
        }
        match (role, self.live(role).as_slice()) {
            (_, []) => Err("the zone has no key of that role"),
            // A KSK's new DS is offered at once, so the old one's must be
            // offered already (the zone no longer going secure).
            (KeyRole::Ksk, [key]) if key.ds_offered.is_some() => Ok(()),
            (KeyRole::Ksk, [_]) => {
                Err("the KSK's DS is not offered yet (the zone is still going secure)")
            }
            (_, [key]) if key.active.is_some() => Ok(()),
            (_, [_]) => Err("the key of that role does not sign yet"),
            _ => Err("a rollover of that key is already under way"),
        }
    }

    /// Applies `action` at `now`; `new_id` is the id of the key a
    /// `Create` makes.
    pub fn apply(&mut self, action: &Action, now: u64, new_id: i64) {
        let mut set = |id: i64, f: &dyn Fn(&mut KeyState)| {
            if let Some(k) = self.keys.iter_mut().find(|k| k.id == id) {
                f(k);
            }
        };
        match *action {
            Action::Create(role) => self.keys.push(KeyState::new(new_id, role, now, false)),
            Action::Activate(id) => set(id, &|k| k.active = Some(now)),
            Action::Retire(id) => set(id, &|k| k.retired = Some(now)),
            Action::OfferDs(id) => set(id, &|k| k.ds_offered = Some(now)),
            Action::WithdrawDs(id) => set(id, &|k| k.ds_withdrawn = Some(now)),
            Action::DsSeen(id) => set(id, &|k| k.ds_seen = Some(now)),
            Action::DsGone(id) => set(id, &|k| k.ds_gone = Some(now)),
            Action::Remove(id) => set(id, &|k| k.removed = Some(now)),
            Action::Unsign => {
                self.keys.clear();
                self.disabling = None;
            }
        }
    }
}

/// Whether the parent's DS RRset `parent` (the RDATAs a resolver gives
/// for the zone's DS) is what the zone's CDS RRset `cds` (its RDATAs as
/// served) asks for, which is what [`ZoneKeys::ds_seen`] is told: every DS
/// the CDS lists is there, and no DS names another key (one of another
/// digest type for a listed key is fine); with CDS DELETE (RFC 8078), no
/// DS at all. Without a CDS nothing is asked: `false`.
pub fn parent_matches(cds: &[&[u8]], parent: &[&[u8]]) -> bool {
    if cds.is_empty() {
        return false;
    }
    if cds.iter().all(|c| *c == crate::CDS_DELETE) {
        return parent.is_empty();
    }
    // Key tag and algorithm: which key a DS names.
    let key = |ds: &[u8]| ds.get(..3).map(<[u8]>::to_vec);
    cds.iter().all(|c| parent.contains(c))
        && parent
            .iter()
            .all(|p| key(p).is_some() && cds.iter().any(|c| key(c) == key(p)))
}

#[cfg(test)]
mod tests {
    use super::{Timing, Which, ZskRoll};

    /// The parent matches the CDS when it holds exactly the DS records
    /// asked for (other digest types of those keys allowed), and holds no
    /// DS at all for CDS DELETE; nothing matches an empty CDS.
    #[test]
    fn the_parent_matches_what_the_cds_asks_for() {
        use super::parent_matches;
        let ds = |tag: u8, digest: u8, byte: u8| vec![0, tag, 13, digest, byte, byte];
        let (a, b) = (ds(1, 2, 0xaa), ds(2, 2, 0xbb));
        let a384 = ds(1, 4, 0xcc);
        let delete = crate::CDS_DELETE.to_vec();
        let m = |cds: &[&Vec<u8>], parent: &[&Vec<u8>]| {
            let cds: Vec<&[u8]> = cds.iter().map(|v| v.as_slice()).collect();
            let parent: Vec<&[u8]> = parent.iter().map(|v| v.as_slice()).collect();
            parent_matches(&cds, &parent)
        };
        assert!(m(&[&a], &[&a]));
        assert!(m(&[&a], &[&a, &a384]));
        assert!(m(&[&a, &b], &[&b, &a]));
        assert!(!m(&[&a, &b], &[&a]), "the new DS is missing");
        assert!(!m(&[&b], &[&a, &b]), "the old DS is still there");
        assert!(!m(&[&a], &[&ds(1, 2, 0xff)]), "a wrong digest");
        assert!(!m(&[&a], &[]));
        assert!(m(&[&delete], &[]));
        assert!(!m(&[&delete], &[&a]));
        assert!(!m(&[], &[]), "nothing asked");
    }

    /// The timing used by the tests: a minute to reach every server, an
    /// hour of DNSKEY TTL, a day of the largest RRset TTL.
    const TIMING: Timing = Timing {
        propagation: 60,
        dnskey_ttl: 3_600,
        max_zone_ttl: 86_400,
    };

    /// Whether a resolver can validate at every moment of a timeline: at
    /// any time `t`, it may hold a DNSKEY RRset fetched at any `k` no
    /// longer ago than the DNSKEY TTL plus propagation (a secondary may
    /// serve the older version that long), and a signature fetched at
    /// any `s` no longer ago than the largest TTL plus propagation; the
    /// key that made that signature must be in that key set. Returns the
    /// first failing (t, k, s).
    fn first_failure(roll: &ZskRoll, timing: &Timing, end: u64) -> Option<(u64, u64, u64)> {
        let step = 60;
        let key_age = u64::from(timing.dnskey_ttl + timing.propagation);
        let sig_age = u64::from(timing.max_zone_ttl + timing.propagation);
        let mut t = roll.publish;
        while t <= end {
            let mut k = t.saturating_sub(key_age);
            while k <= t {
                let mut s = t.saturating_sub(sig_age);
                while s <= t {
                    // What a server published at those moments (a lagging
                    // secondary shows an older moment, covered by the ages).
                    if !roll.published(roll.signer(s), k) {
                        return Some((t, k, s));
                    }
                    s += step * 30;
                }
                k += step;
            }
            t += step * 10;
        }
        None
    }

    /// The planned schedule keeps every cache combination validating from
    /// before the rollover starts until after it ends, and it ends.
    #[test]
    fn a_planned_rollover_never_breaks_validation() {
        let start = 1_764_900_000;
        let roll = ZskRoll::plan(start, &TIMING);
        assert_eq!(roll.activate - roll.publish, 3_660);
        assert_eq!(roll.remove_old - roll.activate, 86_460);
        assert_eq!(
            first_failure(&roll, &TIMING, roll.remove_old + 2 * 86_400),
            None
        );
        assert!(roll.published(Which::Old, start) && roll.published(Which::New, start));
        assert!(!roll.done(roll.remove_old - 1) && roll.done(roll.remove_old));
        assert_eq!(roll.signer(roll.activate - 1), Which::Old);
        assert_eq!(roll.signer(roll.activate), Which::New);
    }

    /// Cutting either wait short breaks validation for some cache, so the
    /// check above can fail.
    #[test]
    fn shortcuts_break_validation() {
        let start = 1_764_900_000;
        let planned = ZskRoll::plan(start, &TIMING);
        let early_activate = ZskRoll {
            activate: planned.activate - 600,
            ..planned
        };
        let early_removal = ZskRoll {
            remove_old: planned.remove_old - 600,
            ..planned
        };
        for roll in [early_activate, early_removal] {
            assert!(
                first_failure(&roll, &TIMING, planned.remove_old + 86_400).is_some(),
                "{roll:?}"
            );
        }
    }
}

#[cfg(test)]
#[path = "rollover_sim.rs"]
mod sim;
