//! Which zones are under attack, from the once-a-second [`TopSnapshot`]s.
//!
//! A zone is under attack when it receives at least
//! [`Thresholds::min_qps`] queries per second for
//! [`Thresholds::sustain`] seconds in a row; the attack ends after
//! [`Thresholds::quiet`] seconds in a row below that rate. Its kind is
//! read from what the queries get:
//!
//! - at least [`Thresholds::nxdomain_ratio`] of the answers NXDOMAIN: a
//!   random-subdomain ("water torture") flood, meant to get past resolver
//!   caches to the authoritative servers;
//! - else at least [`Thresholds::rrl_ratio`] of the responses slipped or
//!   dropped by the rate limiter: a reflection flood (spoofed sources
//!   asking the same questions, to aim the answers at a victim);
//! - else a plain query flood.
//!
//! The detector only decides; the binary tells the zone's owner
//! ([`Attack::notice`]) and the operator.

use std::collections::HashMap;

use candor_zone::ZoneId;

use crate::top::{TopSnapshot, ZoneTraffic};

/// When a zone counts as under attack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Queries per second for one zone.
    pub min_qps: f64,
    /// Seconds in a row at or above `min_qps` before an attack starts.
    pub sustain: u32,
    /// Seconds in a row below `min_qps` before it ends.
    pub quiet: u32,
    /// NXDOMAIN share of the answers that makes it a random-subdomain flood.
    pub nxdomain_ratio: f64,
    /// Rate-limited share of the responses that makes it a reflection flood.
    pub rrl_ratio: f64,
}

impl Default for Thresholds {
    /// 5,000 qps for 3 s, ended after 60 quiet seconds; half NXDOMAIN, or
    /// a third rate limited.
    fn default() -> Self {
        Thresholds {
            min_qps: 5_000.0,
            sustain: 3,
            quiet: 60,
            nxdomain_ratio: 0.5,
            rrl_ratio: 0.3,
        }
    }
}

/// What kind of flood a zone receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttackKind {
    /// Queries for names that do not exist, each one different.
    RandomSubdomain,
    /// The same questions from (spoofed) sources, answered to a victim.
    Reflection,
    /// Many queries, mostly for names that exist.
    QueryFlood,
}

impl AttackKind {
    /// A stable identifier (for JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::RandomSubdomain => "random_subdomain",
            AttackKind::Reflection => "reflection",
            AttackKind::QueryFlood => "query_flood",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            AttackKind::RandomSubdomain => {
                "a random-subdomain flood (queries for names that do not exist, \
                 each one different, so that resolver caches do not absorb them)"
            }
            AttackKind::Reflection => {
                "a reflection flood (the same questions from spoofed addresses, \
                 so that the answers hit a third party)"
            }
            AttackKind::QueryFlood => "a query flood (many queries for names that exist)",
        }
    }

    /// The kind that `z`'s traffic shows.
    fn of(z: &ZoneTraffic, t: &Thresholds) -> AttackKind {
        let answered = z.totals.queries.saturating_sub(z.totals.shed);
        if z.nxdomain_ratio >= t.nxdomain_ratio {
            AttackKind::RandomSubdomain
        } else if answered > 0 && z.totals.rrl as f64 >= t.rrl_ratio * answered as f64 {
            AttackKind::Reflection
        } else {
            AttackKind::QueryFlood
        }
    }
}

/// An attack on one zone, as last measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Attack {
    /// The zone's apex (presentation form).
    pub zone: String,
    /// Its id.
    pub id: ZoneId,
    /// What kind of flood.
    pub kind: AttackKind,
    /// When it started (seconds since the Unix epoch).
    pub since: u64,
    /// The highest query rate seen.
    pub peak_qps: f64,
    /// The last second's figures.
    pub last: ZoneTraffic,
}

impl Attack {
    /// What Candor does about it, from what its counters show.
    pub fn mitigation(&self) -> String {
        let mut parts = Vec::new();
        if self.last.shed_per_second > 0.0 {
            parts.push(format!(
                "the name servers are saturated, so the zone is held to its fair share and \
                 {:.0} queries per second beyond it are dropped before they are answered; \
                 other zones keep answering",
                self.last.shed_per_second
            ));
        }
        if self.last.rrl_per_second > 0.0 {
            parts.push(format!(
                "response rate limiting slips (truncated answers, which real resolvers retry \
                 over TCP) or drops {:.0} responses per second from the flooding networks",
                self.last.rrl_per_second
            ));
        }
        if parts.is_empty() {
            parts.push(
                "every query is answered; rate limiting and fair-share shedding engage \
                 automatically if the flood grows"
                    .to_owned(),
            );
        }
        parts.join("; ")
    }

    /// The private notice for the zone's owner: subject and body.
    pub fn notice(&self, started: bool) -> (String, String) {
        if started {
            (
                format!("Your zone {} is under attack", self.zone),
                format!(
                    "Since {} (UTC seconds since 1970), your zone {} receives {}: {:.0} queries \
                     per second (peak {:.0}), {:.0}% of them answered NXDOMAIN. What Candor is \
                     doing: {}. You need not act; we will tell you when it ends.",
                    self.since,
                    self.zone,
                    self.kind.describe(),
                    self.last.qps,
                    self.peak_qps,
                    self.last.nxdomain_ratio * 100.0,
                    self.mitigation(),
                ),
            )
        } else {
            (
                format!("The attack on your zone {} has ended", self.zone),
                format!(
                    "The flood against your zone {} ({}) has ended; its peak was {:.0} queries \
                     per second. Traffic is back below the attack threshold.",
                    self.zone,
                    self.kind.describe(),
                    self.peak_qps,
                ),
            )
        }
    }
}

/// A change the detector found.
#[derive(Clone, Debug, PartialEq)]
pub enum AttackEvent {
    /// A zone came under attack.
    Started(Attack),
    /// An attack ended.
    Ended(Attack),
}

/// One zone's state.
#[derive(Clone, Debug, Default)]
struct State {
    /// Seconds in a row over the threshold.
    over: u32,
    /// Seconds in a row under it.
    under: u32,
    /// The attack, once started.
    attack: Option<Attack>,
}

/// Follows snapshots and says when attacks start and end.
#[derive(Debug)]
pub struct Detector {
    /// The thresholds.
    thresholds: Thresholds,
    /// Zones over the threshold or under attack (at most the snapshots'
    /// top plus the attacks in progress).
    zones: HashMap<ZoneId, State>,
}

impl Detector {
    /// A detector with these thresholds.
    pub fn new(thresholds: Thresholds) -> Detector {
        Detector {
            thresholds,
            zones: HashMap::new(),
        }
    }

    /// The attacks in progress.
    pub fn attacks(&self) -> impl Iterator<Item = &Attack> {
        self.zones.values().filter_map(|s| s.attack.as_ref())
    }

    /// Reads one second's snapshot; returns the attacks that started or
    /// ended with it.
    pub fn observe(&mut self, snap: &TopSnapshot) -> Vec<AttackEvent> {
        let t = self.thresholds;
        let mut events = Vec::new();
        let mut seen = Vec::new();
        for z in snap.zones.iter().filter(|z| z.qps >= t.min_qps) {
            seen.push(z.id);
            let state = self.zones.entry(z.id).or_default();
            state.over += 1;
            state.under = 0;
            match &mut state.attack {
                Some(a) => {
                    a.peak_qps = a.peak_qps.max(z.qps);
                    a.last = z.clone();
                }
                None if state.over >= t.sustain => {
                    let attack = Attack {
                        zone: z.zone.clone(),
                        id: z.id,
                        kind: AttackKind::of(z, &t),
                        since: snap.at.saturating_sub(u64::from(t.sustain)),
                        peak_qps: z.qps,
                        last: z.clone(),
                    };
                    events.push(AttackEvent::Started(attack.clone()));
                    state.attack = Some(attack);
                }
                None => {}
            }
        }
        self.zones.retain(|id, state| {
            if seen.contains(id) {
                return true;
            }
            state.over = 0;
            state.under += 1;
            match &state.attack {
                Some(a) if state.under >= t.quiet => {
                    events.push(AttackEvent::Ended(a.clone()));
                    false
                }
                Some(_) => true,
                None => false,
            }
        });
        events
    }
}

#[cfg(test)]
mod tests {
    use candor_zone::ZoneId;

    use super::{AttackEvent, AttackKind, Detector, Thresholds};
    use crate::top::{TopSnapshot, Totals, ZoneTraffic};

    /// A one-second snapshot with one zone at `qps`, `nx` NXDOMAIN share,
    /// `rrl` rate-limited share.
    fn second(at: u64, qps: u64, nx: f64, rrl: f64) -> TopSnapshot {
        let totals = Totals {
            queries: qps,
            nxdomain: (qps as f64 * nx) as u64,
            rrl: (qps as f64 * rrl) as u64,
            shed: 0,
        };
        TopSnapshot {
            at,
            seconds: 1.0,
            total: totals,
            zones: vec![ZoneTraffic {
                zone: "victim.example.".to_owned(),
                id: ZoneId(7),
                totals,
                qps: qps as f64,
                nxdomain_ratio: nx,
                rrl_per_second: qps as f64 * rrl,
                shed_per_second: 0.0,
            }],
            ..TopSnapshot::default()
        }
    }

    /// Three seconds over the threshold start an attack, one blip does
    /// not, and it ends after the quiet period.
    #[test]
    fn an_attack_starts_after_sustain_and_ends_after_quiet() {
        let t = Thresholds {
            quiet: 5,
            ..Thresholds::default()
        };
        let mut d = Detector::new(t);
        assert!(d.observe(&second(1, 9_000, 0.9, 0.0)).is_empty());
        assert!(d.observe(&second(2, 100, 0.9, 0.0)).is_empty(), "a blip");
        assert!(d.observe(&second(3, 9_000, 0.9, 0.0)).is_empty());
        assert!(d.observe(&second(4, 9_000, 0.9, 0.0)).is_empty());
        let events = d.observe(&second(5, 9_000, 0.9, 0.0));
        let [AttackEvent::Started(a)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(a.kind, AttackKind::RandomSubdomain);
        assert_eq!(a.since, 2);
        let (subject, body) = a.notice(true);
        assert!(subject.contains("victim.example."));
        assert!(body.contains("random-subdomain"), "{body}");
        for s in 6..10 {
            assert!(d.observe(&second(s, 10, 0.0, 0.0)).is_empty());
        }
        assert_eq!(d.attacks().count(), 1);
        let events = d.observe(&second(10, 10, 0.0, 0.0));
        assert!(matches!(&events[..], [AttackEvent::Ended(_)]), "{events:?}");
        assert_eq!(d.attacks().count(), 0);
    }

    /// The kind follows what the queries get.
    #[test]
    fn the_kind_is_read_from_the_answers() {
        let t = Thresholds {
            sustain: 1,
            ..Thresholds::default()
        };
        let kind = |nx, rrl| {
            let mut d = Detector::new(t);
            match &d.observe(&second(1, 10_000, nx, rrl))[..] {
                [AttackEvent::Started(a)] => a.kind,
                e => panic!("{e:?}"),
            }
        };
        assert_eq!(kind(0.8, 0.5), AttackKind::RandomSubdomain);
        assert_eq!(kind(0.0, 0.5), AttackKind::Reflection);
        assert_eq!(kind(0.1, 0.1), AttackKind::QueryFlood);
    }
}
