//! Simulated timelines of the key state machine: a zone, a parent that
//! follows its CDS RRset, an operator who reports what the parent holds,
//! and every combination of what a resolver's caches may hold at every
//! moment. Validation must never fail; a machine that waits less than
//! the caches hold must be caught.

use super::{Action, KeyState, Policy, Timing, Wait, ZoneKeys};
use crate::key::KeyRole;

/// Start of every simulation.
const T0: u64 = 1_764_900_000;

/// A day.
const DAY: u64 = 86_400;

/// The delays of the simulated zone: five minutes to reach every server,
/// an hour of DNSKEY TTL, a day of the largest TTL, a day and an hour for
/// the parent's DS.
const POLICY: Policy = Policy {
    timing: Timing {
        propagation: 300,
        dnskey_ttl: 3_600,
        max_zone_ttl: 86_400,
    },
    parent_ds_ttl: 90_000,
    zsk_lifetime: 0,
    csk_lifetime: 0,
};

/// What the zone publishes at a moment, as key ids.
#[derive(Clone, Debug, PartialEq, Eq)]
struct View {
    /// The DNSKEY RRset.
    dnskey: Vec<i64>,
    /// Signers of the DNSKEY RRset.
    key_signers: Vec<i64>,
    /// Signers of the data.
    zone_signers: Vec<i64>,
    /// The CDS (`None`: DELETE).
    cds: Option<Vec<i64>>,
}

/// Something that happens to the zone from outside.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// DNSSEC is enabled: one CSK, or a KSK and a ZSK.
    Enable {
        /// KSK + ZSK instead of a CSK.
        split: bool,
    },
    /// A rollover by hand.
    Roll(KeyRole),
    /// DNSSEC is disabled.
    Disable,
}

/// A simulated run: the zone's and the parent's timelines.
struct Run {
    /// (since, what the zone publishes).
    zone: Vec<(u64, View)>,
    /// (since, the DS RRset at the parent, as key ids).
    parent: Vec<(u64, Vec<i64>)>,
    /// The keys at the end.
    end: ZoneKeys,
    /// Every key ever made.
    made: i64,
}

/// The view of `keys`.
fn view(keys: &ZoneKeys) -> View {
    let ids: Vec<(i64, i64)> = keys.keys.iter().map(|k| (k.id, k.id)).collect();
    let s = keys.select(&ids);
    let own = |v: Vec<&i64>| v.into_iter().copied().collect::<Vec<i64>>();
    View {
        dnskey: own(s.dnskey),
        key_signers: own(s.key_signers),
        zone_signers: own(s.zone_signers),
        cds: s.cds.map(own),
    }
}

/// Runs the machine (believing `policy`) from `T0` to `end` in steps of a
/// minute; `events` happen at their times. The parent scans the CDS every
/// hour and follows it (no CDS: no change); half an hour after the
/// parent changed, the operator reports it (`ds_seen`).
fn run(policy: &Policy, events: &[(u64, Event)], end: u64) -> Run {
    let mut keys = ZoneKeys::default();
    let mut made = 0;
    let mut zone: Vec<(u64, View)> = vec![(0, view(&keys))];
    let mut parent: Vec<(u64, Vec<i64>)> = vec![(0, Vec::new())];
    let mut t = T0;
    while t <= end {
        for &(at, event) in events {
            if at != t {
                continue;
            }
            match event {
                Event::Enable { split } => {
                    let roles: &[KeyRole] = if split {
                        &[KeyRole::Ksk, KeyRole::Zsk]
                    } else {
                        &[KeyRole::Csk]
                    };
                    for &role in roles {
                        made += 1;
                        keys.keys.push(KeyState::new(made, role, t, true));
                    }
                }
                Event::Roll(role) => {
                    assert_eq!(keys.can_roll(role), Ok(()), "{t}");
                    made += 1;
                    keys.apply(&Action::Create(role), t, made);
                }
                Event::Disable => keys.disabling = Some(t),
            }
        }
        for _ in 0..10 {
            let poll = keys.poll(t, policy);
            if poll.actions.is_empty() {
                break;
            }
            for a in &poll.actions {
                if let Action::Create(_) = a {
                    made += 1;
                }
                keys.apply(a, t, made);
            }
        }
        let now = view(&keys);
        if zone.last().map(|(_, v)| v) != Some(&now) {
            zone.push((t, now.clone()));
        }
        // The parent follows the CDS it sees at its scan.
        let (since, held) = parent.last().cloned().unwrap_or_default();
        if (t - T0).is_multiple_of(3_600) {
            let want = match &now.cds {
                None => Some(Vec::new()),
                Some(list) if list.is_empty() => None,
                Some(list) => Some(list.clone()),
            };
            if let Some(want) = want.filter(|w| *w != held) {
                parent.push((t, want));
            }
        }
        // The operator reports a parent that matches the CDS.
        let matches = match &now.cds {
            None => held.is_empty(),
            Some(list) => *list == held,
        };
        if matches && t >= since + 1_800 {
            for a in keys.ds_seen() {
                keys.apply(&a, t, made);
            }
        }
        t += 60;
    }
    Run {
        zone,
        parent,
        end: keys,
        made,
    }
}

/// The views of `timeline` in force at some moment of `[lo, hi]`.
fn in_window<T>(timeline: &[(u64, T)], lo: u64, hi: u64) -> impl Iterator<Item = &T> {
    timeline
        .iter()
        .enumerate()
        .filter_map(move |(i, (from, v))| {
            let until = timeline.get(i + 1).map_or(u64::MAX, |(next, _)| *next);
            (*from <= hi && until > lo).then_some(v)
        })
}

/// The first moment at which some resolver fails to validate, with the
/// caches' real delays `real`: at any time `t` it may hold the parent's DS
/// RRset from any moment of the last DS TTL, the zone's DNSKEY RRset from
/// any moment of the last DNSKEY TTL plus propagation, and data from the
/// last largest TTL plus propagation. With a DS, the DNSKEY RRset must be
/// signed by a key the DS names, and the data by a key in that DNSKEY
/// RRset. Also: the parent's DS never names a key the zone does not
/// publish at that moment.
fn first_failure(run: &Run, real: &Policy) -> Option<String> {
    let t = &real.timing;
    let key_age = u64::from(t.dnskey_ttl + t.propagation);
    let sig_age = u64::from(t.max_zone_ttl + t.propagation);
    let ds_age = u64::from(real.parent_ds_ttl);
    let mut moments: Vec<u64> = Vec::new();
    for c in run
        .zone
        .iter()
        .map(|(c, _)| *c)
        .chain(run.parent.iter().map(|(c, _)| *c))
    {
        for age in [0, key_age, sig_age, ds_age] {
            moments.extend([c + age, c + age + 1, (c + age).saturating_sub(1)]);
        }
    }
    for &now in &moments {
        for ds in in_window(&run.parent, now, now) {
            for zone in in_window(&run.zone, now, now) {
                if let Some(k) = ds.iter().find(|k| !zone.dnskey.contains(k)) {
                    return Some(format!(
                        "{now}: the parent's DS names key {k}, not published"
                    ));
                }
            }
        }
        for ds in in_window(&run.parent, now.saturating_sub(ds_age), now) {
            if ds.is_empty() {
                continue;
            }
            for keys in in_window(&run.zone, now.saturating_sub(key_age), now) {
                if !keys.key_signers.iter().any(|k| ds.contains(k)) {
                    return Some(format!("{now}: DS {ds:?}, DNSKEY RRset {keys:?}"));
                }
                for data in in_window(&run.zone, now.saturating_sub(sig_age), now) {
                    if !data.zone_signers.iter().any(|k| keys.dnskey.contains(k)) {
                        return Some(format!(
                            "{now}: DS {ds:?}, DNSKEY RRset {keys:?}, data {data:?}"
                        ));
                    }
                }
            }
        }
    }
    None
}

/// The key ids the zone published at `at`.
fn published_at(run: &Run, at: u64) -> Vec<i64> {
    in_window(&run.zone, at, at)
        .next()
        .map(|v| v.dnskey.clone())
        .unwrap_or_default()
}

/// The DS RRset at the parent at `at`.
fn parent_at(run: &Run, at: u64) -> Vec<i64> {
    in_window(&run.parent, at, at)
        .next()
        .cloned()
        .unwrap_or_default()
}

/// A CSK's life: enabled (the DS offered only after the largest TTL),
/// rolled by hand (the parent goes from the old DS to both to the new
/// one), disabled (CDS DELETE, unsigned after the parent dropped the DS).
/// Every moment validates for every cache, and the parent never names a
/// key the zone does not publish.
#[test]
fn a_csk_from_enable_through_a_rollover_to_disable_always_validates() {
    let events = [
        (T0, Event::Enable { split: false }),
        (T0 + 10 * DAY, Event::Roll(KeyRole::Csk)),
        (T0 + 30 * DAY, Event::Disable),
    ];
    let run = run(&POLICY, &events, T0 + 40 * DAY);
    assert_eq!(first_failure(&run, &POLICY), None);
    assert_eq!(run.made, 2);
    // The DS was offered after propagation + the largest TTL, not before.
    let cds_from = run
        .zone
        .iter()
        .find(|(_, v)| v.cds.as_ref().is_some_and(|c| !c.is_empty()))
        .map(|(t, _)| *t);
    assert_eq!(cds_from, Some(T0 + 300 + 86_400));
    assert_eq!(parent_at(&run, T0 + 9 * DAY), [1]);
    assert_eq!(published_at(&run, T0 + 9 * DAY), [1]);
    assert_eq!(published_at(&run, T0 + 10 * DAY), [1, 2]);
    assert_eq!(parent_at(&run, T0 + 10 * DAY + 3 * 3_600), [1, 2]);
    assert_eq!(parent_at(&run, T0 + 20 * DAY), [2]);
    assert_eq!(published_at(&run, T0 + 20 * DAY), [2]);
    assert_eq!(parent_at(&run, T0 + 35 * DAY), Vec::<i64>::new());
    assert_eq!(published_at(&run, T0 + 35 * DAY), Vec::<i64>::new());
    assert_eq!(run.end, ZoneKeys::default());
}

/// Split keys: the ZSK rolls every 30 days by itself (pre-publication),
/// the KSK and the parent's DS stay; every moment validates.
#[test]
fn zsk_rollovers_on_schedule_always_validate() {
    let policy = Policy {
        zsk_lifetime: 30 * DAY,
        ..POLICY
    };
    let run = run(
        &policy,
        &[(T0, Event::Enable { split: true })],
        T0 + 100 * DAY,
    );
    assert_eq!(first_failure(&run, &policy), None);
    // The KSK (1) and ZSKs 2, 3, 4, 5: one roll a month.
    assert_eq!(run.made, 5);
    assert_eq!(parent_at(&run, T0 + 99 * DAY), [1]);
    assert_eq!(published_at(&run, T0 + 95 * DAY), [1, 5]);
    let live: Vec<i64> = run
        .end
        .keys
        .iter()
        .filter(|k| k.live())
        .map(|k| k.id)
        .collect();
    assert_eq!(live, [1, 5]);
    // Between rolls the zone waits for the next one.
    let at = T0 + 95 * DAY;
    let poll = run.end.poll(at, &policy);
    assert!(poll.actions.is_empty());
    assert!(
        matches!(poll.waits[..], [Wait::Until(t, "a ZSK rollover starts")] if t > at),
        "{poll:?}"
    );
}

/// A machine that waits less than the caches really hold is caught: the
/// DNSKEY TTL, the largest TTL and the parent's DS TTL each matter.
#[test]
fn waiting_less_than_the_caches_hold_breaks_validation() {
    let events = [
        (T0, Event::Enable { split: false }),
        (T0 + 10 * DAY, Event::Roll(KeyRole::Csk)),
        (T0 + 30 * DAY, Event::Disable),
    ];
    let short = |f: &dyn Fn(&mut Policy)| {
        let mut p = POLICY;
        f(&mut p);
        p
    };
    for believed in [
        short(&|p| p.timing.dnskey_ttl = 60),
        short(&|p| p.timing.max_zone_ttl = 3_600),
        short(&|p| p.parent_ds_ttl = 600),
    ] {
        let run = run(&believed, &events, T0 + 40 * DAY);
        assert!(first_failure(&run, &POLICY).is_some(), "{believed:?}");
    }
    // The same with a ZSK rollover.
    let zsk = Policy {
        zsk_lifetime: 20 * DAY,
        ..POLICY
    };
    for believed in [
        Policy {
            timing: Timing {
                dnskey_ttl: 60,
                ..zsk.timing
            },
            ..zsk
        },
        Policy {
            timing: Timing {
                max_zone_ttl: 3_600,
                ..zsk.timing
            },
            ..zsk
        },
    ] {
        let run = run(
            &believed,
            &[(T0, Event::Enable { split: true })],
            T0 + 50 * DAY,
        );
        assert!(first_failure(&run, &zsk).is_some(), "{believed:?}");
    }
}

/// Without word from the parent, a CSK rollover and a disable wait for
/// it and say so; `ds_seen` reports what the CDS asked for; rollovers by
/// hand are refused when they cannot start.
#[test]
fn the_parent_is_waited_for_and_rollovers_start_only_when_they_can() {
    let mut keys = ZoneKeys::default();
    keys.keys.push(KeyState::new(1, KeyRole::Csk, T0, true));
    assert_eq!(keys.ds_seen(), []);
    assert_eq!(
        keys.can_roll(KeyRole::Zsk),
        Err("the zone has no key of that role")
    );
    assert!(keys.can_roll(KeyRole::Ksk).is_err());
    let poll = keys.poll(T0, &POLICY);
    assert_eq!(
        poll.waits,
        [Wait::Until(T0 + 300 + 86_400, "the DS is offered")]
    );
    assert_eq!(poll.next_time(), Some(T0 + 86_700));
    let later = T0 + 2 * DAY;
    assert_eq!(keys.poll(later, &POLICY).actions, [Action::OfferDs(1)]);
    keys.apply(&Action::OfferDs(1), later, 0);
    assert_eq!(keys.ds_seen(), [Action::DsSeen(1)]);

    keys.apply(&Action::Create(KeyRole::Csk), later, 2);
    assert_eq!(
        keys.can_roll(KeyRole::Csk),
        Err("a rollover of that key is already under way")
    );
    let step = keys.poll(later + 3_900, &POLICY).actions;
    assert_eq!(
        step,
        [Action::Activate(2), Action::Retire(1), Action::OfferDs(2)]
    );
    for a in &step {
        keys.apply(a, later + 3_900, 0);
    }
    // Nobody says the parent has the new DS: the old key stays.
    let poll = keys.poll(later + 100 * DAY, &POLICY);
    assert!(poll.actions.is_empty());
    assert!(matches!(poll.waits[..], [Wait::Parent(_)]), "{poll:?}");

    keys.disabling = Some(later);
    assert_eq!(keys.ds_seen(), [Action::DsGone(1), Action::DsGone(2)]);
    let poll = keys.poll(later + 100 * DAY, &POLICY);
    assert!(poll.actions.is_empty());
    assert!(matches!(poll.waits[..], [Wait::Parent(_)]), "{poll:?}");
    assert_eq!(
        keys.can_roll(KeyRole::Csk),
        Err("DNSSEC is being disabled for this zone")
    );
    let ids = [(1, "one"), (2, "two")];
    let s = keys.select(&ids);
    assert_eq!(s.cds, None);
    assert_eq!(s.dnskey, [&"one", &"two"]);
    assert_eq!(s.key_signers, [&"one", &"two"]);
    assert_eq!(s.zone_signers, [&"two"]);
}

/// Split keys through a KSK rollover (double-RRset) between two ZSK
/// rolls, then a disable: the new KSK signs the key sets from its
/// publication, the parent goes from the old DS to both to the new one,
/// the old KSK goes only after the parent dropped its DS, and every
/// moment validates for every cache.
#[test]
fn a_ksk_rollover_of_split_keys_always_validates() {
    let policy = Policy {
        zsk_lifetime: 30 * DAY,
        ..POLICY
    };
    let events = [
        (T0, Event::Enable { split: true }),
        (T0 + 10 * DAY, Event::Roll(KeyRole::Ksk)),
        (T0 + 40 * DAY + 3_600, Event::Roll(KeyRole::Ksk)),
        (T0 + 70 * DAY, Event::Disable),
    ];
    let run = run(&policy, &events, T0 + 80 * DAY);
    assert_eq!(first_failure(&run, &policy), None);
    // KSK 1, ZSK 2; KSK 3 at day 10; ZSK 4 at day 30; KSK 5 at day 40;
    // ZSK 6 at day 60.
    assert_eq!(run.made, 6);
    assert_eq!(parent_at(&run, T0 + 9 * DAY), [1]);
    assert_eq!(published_at(&run, T0 + 9 * DAY), [1, 2]);
    // The new KSK is published and signs the key sets at once.
    let at_roll = in_window(&run.zone, T0 + 10 * DAY, T0 + 10 * DAY)
        .next()
        .cloned()
        .expect("a view");
    assert_eq!(at_roll.dnskey, [1, 2, 3]);
    assert_eq!(at_roll.key_signers, [1, 3]);
    assert_eq!(at_roll.zone_signers, [2]);
    assert_eq!(at_roll.cds, Some(vec![1, 3]));
    assert_eq!(parent_at(&run, T0 + 10 * DAY + 3 * 3_600), [1, 3]);
    assert_eq!(parent_at(&run, T0 + 20 * DAY), [3]);
    assert_eq!(published_at(&run, T0 + 20 * DAY), [2, 3]);
    // The old KSK stayed until the parent had dropped its DS.
    let old_gone = run
        .zone
        .iter()
        .find(|(t, v)| *t > T0 && !v.dnskey.contains(&1))
        .map(|(t, _)| *t)
        .expect("key 1 removed");
    let ds_dropped = run
        .parent
        .iter()
        .find(|(t, ds)| *t > T0 && !ds.contains(&1))
        .map(|(t, _)| *t)
        .expect("DS 1 dropped");
    assert!(old_gone > ds_dropped, "{old_gone} {ds_dropped}");
    assert_eq!(parent_at(&run, T0 + 55 * DAY), [5]);
    assert_eq!(published_at(&run, T0 + 65 * DAY), [5, 6]);
    assert_eq!(parent_at(&run, T0 + 79 * DAY), Vec::<i64>::new());
    assert_eq!(run.end, ZoneKeys::default());
}

/// A KSK rollover whose machine believes the parent's DS TTL shorter
/// than caches hold it removes the old KSK while a resolver may still
/// hold a DS RRset naming it alone: caught.
#[test]
fn a_ksk_rollover_waiting_less_than_the_ds_ttl_is_caught() {
    let events = [
        (T0, Event::Enable { split: true }),
        (T0 + 10 * DAY, Event::Roll(KeyRole::Ksk)),
    ];
    let believed = Policy {
        parent_ds_ttl: 600,
        ..POLICY
    };
    let run = run(&believed, &events, T0 + 30 * DAY);
    assert!(first_failure(&run, &POLICY).is_some());
    // Believing the real TTL, the same events validate.
    let run = run_real(&events);
    assert_eq!(first_failure(&run, &POLICY), None);
}

/// `run` with the real policy until 30 days after `T0`.
fn run_real(events: &[(u64, Event)]) -> Run {
    run(&POLICY, events, T0 + 30 * DAY)
}

/// A KSK rolls by hand only once its DS is offered (the zone no longer
/// going secure), and one roll at a time; the new KSK's DS is offered at
/// once and the old one is withdrawn only after the parent's DS TTL.
#[test]
fn a_ksk_rolls_only_once_its_ds_is_offered() {
    let mut keys = ZoneKeys::default();
    keys.keys.push(KeyState::new(1, KeyRole::Ksk, T0, true));
    keys.keys.push(KeyState::new(2, KeyRole::Zsk, T0, true));
    assert_eq!(
        keys.can_roll(KeyRole::Ksk),
        Err("the KSK's DS is not offered yet (the zone is still going secure)")
    );
    let later = T0 + 2 * DAY;
    assert_eq!(keys.poll(later, &POLICY).actions, [Action::OfferDs(1)]);
    keys.apply(&Action::OfferDs(1), later, 0);
    assert_eq!(keys.can_roll(KeyRole::Ksk), Ok(()));
    keys.apply(&Action::Create(KeyRole::Ksk), later, 3);
    assert_eq!(
        keys.can_roll(KeyRole::Ksk),
        Err("a rollover of that key is already under way")
    );
    assert_eq!(keys.poll(later, &POLICY).actions, [Action::OfferDs(3)]);
    keys.apply(&Action::OfferDs(3), later, 0);
    // The parent is told to hold both; it says it does.
    assert_eq!(keys.ds_seen(), [Action::DsSeen(1), Action::DsSeen(3)]);
    let seen = later + 3_600;
    for a in keys.ds_seen() {
        keys.apply(&a, seen, 0);
    }
    let poll = keys.poll(seen, &POLICY);
    assert!(poll.actions.is_empty());
    assert_eq!(
        poll.waits,
        [Wait::Until(
            seen + 90_000 + 300,
            "the CDS stops asking for the old key's DS"
        )]
    );
}
