//! How far secondaries are behind the primary, sans I/O.
//!
//! [`Timeline`] remembers, for every served zone, when the primary first
//! served each of its recent serials (shown every new served set with
//! [`Timeline::observe`]). A secondary's lag for a zone is then two
//! numbers: how many serials it is behind (RFC 1982 difference) and for
//! how many seconds the primary has served something the secondary does
//! not have — measured from when the primary first served the oldest
//! serial newer than the secondary's ([`Timeline::lag`]). A secondary that
//! has the current serial has lag zero; one that does not serve the zone
//! at all is behind since the zone was first seen.
//!
//! [`Follower`] is the monitor's memory of one secondary: the last serial
//! it answered per zone, so a secondary that stops answering is judged by
//! what it last served (it falls behind as soon as the primary moves on),
//! and [`Follower::late`] lists the zones behind longer than a threshold.
//! The caller asks over the wire and passes the time (Unix seconds).

use std::collections::{HashMap, VecDeque};

use candor_wire::Name;
use candor_zone::ZoneSet;

use crate::journal::serial_newer;

/// Serials remembered per zone; a secondary older than all of them is
/// behind at least since the oldest one.
pub const HISTORY: usize = 64;

/// When the primary first served each recent serial of each zone.
#[derive(Debug, Default)]
pub struct Timeline {
    /// By lower-cased wire apex: (serial, first served at), oldest first.
    zones: HashMap<Box<[u8]>, VecDeque<(u32, i64)>>,
    /// A zone left out (the catalog zone: secondaries that follow a
    /// catalog need not serve it).
    ignored: Option<Box<[u8]>>,
}

/// A secondary's lag behind the primary for one zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lag {
    /// Serials behind (RFC 1982 difference, 0 when current); `None` when
    /// the secondary does not serve the zone.
    pub serials: Option<u32>,
    /// Seconds since the primary first served a serial the secondary does
    /// not have (0 when current).
    pub seconds: u64,
}

/// The key of a zone apex.
fn key(apex: &Name) -> Box<[u8]> {
    apex.to_lowercase().as_wire().into()
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// An empty timeline that leaves the zone `apex` out.
    pub fn ignoring(apex: &Name) -> Timeline {
        Timeline {
            ignored: Some(key(apex)),
            ..Timeline::default()
        }
    }

    /// Takes note of the served set at time `now`: a zone's new serial is
    /// recorded with `now`, zones no longer served are forgotten.
    pub fn observe(&mut self, set: &ZoneSet, now: i64) {
        let mut seen: HashMap<Box<[u8]>, ()> = HashMap::with_capacity(set.len());
        for zone in set.zones() {
            let k = key(zone.apex());
            if self.ignored.as_ref() == Some(&k) {
                continue;
            }
            let serial = zone.serial();
            let history = self.zones.entry(k.clone()).or_default();
            match history.back() {
                Some(&(last, _)) if last == serial => {}
                Some(&(last, _)) if !serial_newer(serial, last) => {
                    // Replaced by an older serial (a re-created zone): its
                    // history starts again.
                    history.clear();
                    history.push_back((serial, now));
                }
                _ => {
                    history.push_back((serial, now));
                    if history.len() > HISTORY {
                        history.pop_front();
                    }
                }
            }
            seen.insert(k, ());
        }
        self.zones.retain(|k, _| seen.contains_key(k));
    }

    /// The serial the primary serves for `apex` now, if it serves it.
    pub fn serial(&self, apex: &Name) -> Option<u32> {
        self.zones.get(&key(apex))?.back().map(|&(s, _)| s)
    }

    /// The lag of a secondary serving `secondary` (`None`: not serving the
    /// zone) for `apex` at `now`; `None` when the primary does not serve
    /// the zone.
    pub fn lag(&self, apex: &Name, secondary: Option<u32>, now: i64) -> Option<Lag> {
        let history = self.zones.get(&key(apex))?;
        let &(current, _) = history.back()?;
        let since = |at: i64| u64::try_from(now.saturating_sub(at)).unwrap_or(0);
        let oldest = history.front().map_or(now, |&(_, at)| at);
        let lag = match secondary {
            Some(s) if s == current || serial_newer(s, current) => Lag {
                serials: Some(0),
                seconds: 0,
            },
            Some(s) => {
                // The first serial the secondary lacks; older than the
                // whole history: at least since the oldest one.
                let first = history
                    .iter()
                    .find(|&&(serial, _)| serial_newer(serial, s))
                    .map_or(oldest, |&(_, at)| at);
                Lag {
                    serials: Some(current.wrapping_sub(s)),
                    seconds: since(first),
                }
            }
            None => Lag {
                serials: None,
                seconds: since(oldest),
            },
        };
        Some(lag)
    }

    /// The zones in the timeline, by apex (lower case), for the monitor's
    /// rounds.
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }
}

/// What a secondary answered to an SOA query for a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It serves this serial.
    Serial(u32),
    /// It answered, but without the zone's SOA (REFUSED, NXDOMAIN, a
    /// referral): it does not serve the zone.
    Missing,
    /// It did not answer.
    Silent,
}

/// The monitor's memory of one secondary.
#[derive(Debug, Default)]
pub struct Follower {
    /// Per zone (lower-cased wire apex): what it last answered (never
    /// `Silent`), or `None` before its first answer.
    last: HashMap<Box<[u8]>, Answer>,
    /// Whether its last query got any answer.
    answering: bool,
}

impl Follower {
    /// A secondary not asked yet.
    pub fn new() -> Follower {
        Follower::default()
    }

    /// Takes note of an answer for `apex`. Silence keeps what it answered
    /// before.
    pub fn record(&mut self, apex: &Name, answer: Answer) {
        self.answering = answer != Answer::Silent;
        if answer != Answer::Silent {
            self.last.insert(key(apex), answer);
        }
    }

    /// Whether its last query was answered.
    pub fn answering(&self) -> bool {
        self.answering
    }

    /// The serial it last served for `apex` (`None`: it has not answered
    /// with one, or answered without the zone).
    pub fn serial(&self, apex: &Name) -> Option<u32> {
        match self.last.get(&key(apex)) {
            Some(Answer::Serial(s)) => Some(*s),
            _ => None,
        }
    }

    /// Forgets zones the primary no longer serves.
    pub fn retain(&mut self, timeline: &Timeline) {
        self.last.retain(|k, _| timeline.zones.contains_key(k));
    }

    /// The zones of `timeline` this secondary is behind on for more than
    /// `threshold` seconds at `now`, judged by what it last answered (a
    /// zone it never answered for counts as not served), with the worst
    /// lag in seconds.
    pub fn late(&self, timeline: &Timeline, threshold: u64, now: i64) -> Late {
        let mut late = Late::default();
        for (k, history) in &timeline.zones {
            let Some(&(current, _)) = history.back() else {
                continue;
            };
            let serial = match self.last.get(k) {
                Some(Answer::Serial(s)) => Some(*s),
                _ => None,
            };
            // The same rule as `Timeline::lag`, without rebuilding a name.
            let oldest = history.front().map_or(now, |&(_, at)| at);
            let since = match serial {
                Some(s) if s == current || serial_newer(s, current) => continue,
                Some(s) => history
                    .iter()
                    .find(|&&(serial, _)| serial_newer(serial, s))
                    .map_or(oldest, |&(_, at)| at),
                None => oldest,
            };
            let seconds = u64::try_from(now.saturating_sub(since)).unwrap_or(0);
            if seconds > threshold {
                late.zones += 1;
                late.worst = late.worst.max(seconds);
            }
        }
        late
    }
}

/// The zones a secondary is late on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Late {
    /// How many zones.
    pub zones: usize,
    /// The worst lag, in seconds.
    pub worst: u64,
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use candor_zone::{Zone, ZoneSet, load_zone_text};

    use super::*;

    /// A zone `apex` with SOA serial `serial`.
    fn zone(apex: &str, serial: u32) -> Arc<Zone> {
        let text = format!(
            "$TTL 300\n@ SOA ns1 h {serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n"
        );
        let origin = Name::from_text(apex, None).expect("apex");
        Arc::new(load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin).expect("zone"))
    }

    /// A served set of `zones`.
    fn set(zones: &[Arc<Zone>]) -> ZoneSet {
        ZoneSet::from_zones(zones.iter().cloned())
    }

    /// `name` as a `Name`.
    fn n(name: &str) -> Name {
        Name::from_text(name, None).expect("name")
    }

    #[test]
    fn lag_counts_from_the_first_serial_the_secondary_lacks() {
        let mut t = Timeline::new();
        t.observe(&set(&[zone("a.test.", 10)]), 1000);
        t.observe(&set(&[zone("a.test.", 11)]), 1100);
        t.observe(&set(&[zone("a.test.", 13)]), 1150);
        let apex = n("A.test.");
        assert_eq!(t.serial(&apex), Some(13));
        let lag = |s, now| t.lag(&apex, s, now).expect("served");
        assert_eq!(
            lag(Some(13), 1200),
            Lag {
                serials: Some(0),
                seconds: 0
            }
        );
        // It has 11: it lacks 13, first served at 1150.
        assert_eq!(
            lag(Some(11), 1200),
            Lag {
                serials: Some(2),
                seconds: 50
            }
        );
        // It has 10: it lacks 11, first served at 1100.
        assert_eq!(lag(Some(10), 1200).seconds, 100);
        // Older than the whole history: at least since the oldest.
        assert_eq!(lag(Some(5), 1200).seconds, 200);
        assert_eq!(lag(Some(5), 1200).serials, Some(8));
        // Not served there at all.
        assert_eq!(
            lag(None, 1200),
            Lag {
                serials: None,
                seconds: 200
            }
        );
        // A secondary ahead of us (a primary that went back) is not behind.
        assert_eq!(lag(Some(20), 1200).seconds, 0);
        assert_eq!(t.lag(&n("b.test."), Some(1), 1200), None);
    }

    #[test]
    fn serials_wrap_as_rfc_1982_says() {
        let mut t = Timeline::new();
        t.observe(&set(&[zone("w.test.", u32::MAX)]), 0);
        t.observe(&set(&[zone("w.test.", 1)]), 10);
        let lag = t.lag(&n("w.test."), Some(u32::MAX), 30).expect("served");
        assert_eq!(
            lag,
            Lag {
                serials: Some(2),
                seconds: 20
            }
        );
    }

    #[test]
    fn history_is_bounded_and_forgets_deleted_zones() {
        let mut t = Timeline::new();
        for i in 0..200u32 {
            t.observe(
                &set(&[zone("a.test.", i + 1), zone("b.test.", 7)]),
                i64::from(i),
            );
        }
        assert_eq!(
            t.zones.get(&key(&n("a.test."))).map(VecDeque::len),
            Some(HISTORY)
        );
        assert_eq!(t.zone_count(), 2);
        // A re-created zone with a lower serial starts again.
        t.observe(&set(&[zone("a.test.", 3)]), 500);
        assert_eq!(t.zone_count(), 1);
        assert_eq!(t.zones.get(&key(&n("a.test."))).map(VecDeque::len), Some(1));
        assert_eq!(
            t.lag(&n("a.test."), Some(2), 510).map(|l| l.seconds),
            Some(10)
        );
    }

    #[test]
    fn a_silent_secondary_is_judged_by_what_it_last_served() {
        let mut t = Timeline::new();
        t.observe(&set(&[zone("a.test.", 1), zone("b.test.", 1)]), 0);
        let mut f = Follower::new();
        let (a, b) = (n("a.test."), n("b.test."));
        f.record(&a, Answer::Serial(1));
        f.record(&b, Answer::Serial(1));
        assert!(f.answering());
        assert_eq!(f.late(&t, 30, 1000), Late::default());
        // It stops answering; nothing changes: not late.
        f.record(&a, Answer::Silent);
        f.record(&b, Answer::Silent);
        assert!(!f.answering());
        assert_eq!(f.serial(&a), Some(1));
        assert_eq!(f.late(&t, 30, 1000), Late::default());
        // The primary moves on at 1000: late once the threshold passes.
        t.observe(&set(&[zone("a.test.", 2), zone("b.test.", 1)]), 1000);
        assert_eq!(f.late(&t, 30, 1030), Late::default());
        assert_eq!(
            f.late(&t, 30, 1031),
            Late {
                zones: 1,
                worst: 31
            }
        );
        // It catches up.
        f.record(&a, Answer::Serial(2));
        assert_eq!(f.late(&t, 30, 2000), Late::default());
        // A zone it does not serve is late since the zone was first seen.
        f.record(&b, Answer::Missing);
        assert_eq!(
            f.late(&t, 30, 2000),
            Late {
                zones: 1,
                worst: 2000
            }
        );
        // A deleted zone is forgotten.
        t.observe(&set(&[zone("a.test.", 2)]), 2001);
        f.retain(&t);
        assert_eq!(f.late(&t, 30, 2002), Late::default());
    }
}
