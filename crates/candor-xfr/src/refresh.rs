//! When a secondary checks its primaries, as a state machine without I/O
//! (RFC 1034 §4.3.5, RFC 1996): the caller asks [`Refresh::poll`] what to
//! do at `now`, does it, and reports back with [`Refresh::on_checked`];
//! NOTIFYs from a primary go to [`Refresh::on_notify`]. Times are seconds
//! since 1970, so what survives a restart (the time the data was last
//! confirmed by a primary) is a plain number.
//!
//! - A zone held is checked every SOA *refresh* seconds; a failed check
//!   is tried again after *retry* seconds.
//! - A zone that no primary has confirmed for SOA *expire* seconds (since
//!   the last successful check or transfer) expires: it is not served
//!   until a primary answers again.
//! - A zone not held yet is asked for at once, then after 1, 2, 4 … up
//!   to [`FIRST_RETRY_MAX`] seconds while the primaries fail.
//! - A NOTIFY makes the next check due at once; one that arrives during a
//!   check makes another check follow it (the NOTIFY may announce a
//!   version newer than what the check found).
//!
//! SOA timers below [`MIN_INTERVAL`] are raised to it, so a zone whose
//! SOA says 0 does not make Candor poll its primary in a loop.

use crate::client::Soa;

/// The shortest refresh or retry interval, in seconds.
pub const MIN_INTERVAL: u32 = 1;

/// Longest wait between attempts to get a zone not held yet, in seconds.
pub const FIRST_RETRY_MAX: u64 = 60;

/// What the caller should do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Check the primaries (SOA query, then a transfer if newer), and
    /// report with [`Refresh::on_checked`].
    Check,
    /// Stop serving the zone: it expired.
    Expire,
    /// Nothing until this time (or a NOTIFY).
    Wait(u64),
    /// Nothing until a check under way is reported.
    Busy,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// A primary confirmed the version held (its SOA has the same
    /// serial, or an older one), whose SOA is this.
    UpToDate(Soa),
    /// A newer version was transferred and is served now.
    Transferred(Soa),
    /// No primary could be reached, or none gave a usable answer.
    Failed,
}

/// The refresh state of one secondary zone (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refresh {
    /// The SOA of the version held, if any.
    held: Option<Soa>,
    /// When a primary last confirmed the version held.
    confirmed: u64,
    /// When the next check is due.
    due: u64,
    /// Checks failed in a row.
    failures: u32,
    /// Whether a check is under way.
    checking: bool,
    /// Whether a NOTIFY came during the check under way.
    notified: bool,
    /// Whether the zone expired (and is not served).
    expired: bool,
}

impl Refresh {
    /// A zone not held yet: the first check is due at once.
    pub fn empty(now: u64) -> Refresh {
        Refresh {
            held: None,
            confirmed: 0,
            due: now,
            failures: 0,
            checking: false,
            notified: false,
            expired: false,
        }
    }

    /// A zone held since before a restart, last confirmed at `confirmed`:
    /// checked at once (it may have changed while Candor was down), served
    /// until it expires.
    pub fn held(soa: Soa, confirmed: u64, now: u64) -> Refresh {
        Refresh {
            held: Some(soa),
            confirmed,
            due: now,
            failures: 0,
            checking: false,
            notified: false,
            expired: false,
        }
    }

    /// The SOA of the version held.
    pub fn soa(&self) -> Option<Soa> {
        self.held
    }

    /// Whether the zone expired.
    pub fn is_expired(&self) -> bool {
        self.expired
    }

    /// When a primary last confirmed the version held.
    pub fn confirmed(&self) -> u64 {
        self.confirmed
    }

    /// When the zone held expires unless a primary confirms it.
    pub fn expires_at(&self) -> Option<u64> {
        self.held
            .map(|soa| self.confirmed.saturating_add(u64::from(soa.expire)))
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: u64) -> Action {
        if !self.expired
            && let Some(at) = self.expires_at()
            && now >= at
        {
            self.expired = true;
            return Action::Expire;
        }
        if self.checking {
            return Action::Busy;
        }
        if now >= self.due {
            self.checking = true;
            self.notified = false;
            return Action::Check;
        }
        let wake = match self.expires_at() {
            Some(at) if !self.expired => self.due.min(at),
            _ => self.due,
        };
        Action::Wait(wake)
    }

    /// A NOTIFY for the zone arrived (from a primary, verified) at `now`.
    pub fn on_notify(&mut self, now: u64) {
        if self.checking {
            self.notified = true;
        } else {
            self.due = now;
        }
    }

    /// The check [`Action::Check`] asked for ended at `now`.
    pub fn on_checked(&mut self, checked: Checked, now: u64) {
        self.checking = false;
        match checked {
            Checked::UpToDate(soa) | Checked::Transferred(soa) => {
                self.held = Some(soa);
                self.confirmed = now;
                self.failures = 0;
                self.expired = false;
                self.due = now + u64::from(soa.refresh.max(MIN_INTERVAL));
            }
            Checked::Failed => {
                self.failures = self.failures.saturating_add(1);
                let wait = match self.held {
                    Some(soa) => u64::from(soa.retry.max(MIN_INTERVAL)),
                    None => (1u64 << self.failures.saturating_sub(1).min(6)).min(FIRST_RETRY_MAX),
                };
                self.due = now + wait;
            }
        }
        if self.notified {
            self.notified = false;
            self.due = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SOA with `serial` and the timers refresh 10, retry 3, expire 30.
    fn soa(serial: u32) -> Soa {
        Soa {
            serial,
            refresh: 10,
            retry: 3,
            expire: 30,
        }
    }

    /// Runs a timeline: at each time, either polls (and answers a check
    /// with the given outcome) or delivers a NOTIFY; returns what each
    /// poll said, as text.
    fn timeline(mut r: Refresh, events: &[(u64, Event)]) -> Vec<String> {
        let mut out = Vec::new();
        for &(now, event) in events {
            match event {
                Event::Poll => out.push(format!("{now}: {:?}", r.poll(now))),
                Event::Notify => {
                    r.on_notify(now);
                    out.push(format!("{now}: notified"));
                }
                Event::Report(c) => {
                    r.on_checked(c, now);
                    out.push(format!("{now}: {c:?}"));
                }
            }
        }
        out
    }

    /// What happens at a time of a timeline.
    #[derive(Clone, Copy, Debug)]
    enum Event {
        /// Ask what to do.
        Poll,
        /// A NOTIFY arrives.
        Notify,
        /// The check ends so.
        Report(Checked),
    }

    use Event::{Notify, Poll, Report};

    /// A zone not held yet is asked for at once, then with back-off while
    /// the primary fails; once transferred it is checked every refresh.
    #[test]
    fn a_new_zone_backs_off_then_follows_refresh() {
        let got = timeline(
            Refresh::empty(100),
            &[
                (100, Poll),
                (100, Poll),
                (101, Report(Checked::Failed)),
                (101, Poll),
                (102, Poll),
                (102, Report(Checked::Failed)),
                (104, Poll),
                (104, Report(Checked::Transferred(soa(1)))),
                (104, Poll),
                (114, Poll),
                (115, Report(Checked::UpToDate(soa(1)))),
                (115, Poll),
            ],
        );
        assert_eq!(
            got,
            [
                "100: Check",
                "100: Busy",
                "101: Failed",
                "101: Wait(102)",
                "102: Check",
                "102: Failed",
                "104: Check",
                "104: Transferred(Soa { serial: 1, refresh: 10, retry: 3, expire: 30 })",
                "104: Wait(114)",
                "114: Check",
                "115: UpToDate(Soa { serial: 1, refresh: 10, retry: 3, expire: 30 })",
                "115: Wait(125)",
            ]
        );
    }

    /// Failed checks are retried every retry seconds; with no primary
    /// answering for expire seconds the zone expires once, and comes
    /// back when a primary answers again.
    #[test]
    fn a_zone_expires_when_no_primary_answers() {
        let got = timeline(
            Refresh::held(soa(1), 0, 0),
            &[
                (0, Poll),
                (1, Report(Checked::Failed)),
                (1, Poll),
                (4, Poll),
                (5, Report(Checked::Failed)),
                (29, Poll),
                (29, Report(Checked::Failed)),
                (30, Poll),
                (30, Poll),
                (32, Poll),
                (33, Report(Checked::UpToDate(soa(1)))),
                (33, Poll),
            ],
        );
        assert_eq!(
            got,
            [
                "0: Check",
                "1: Failed",
                "1: Wait(4)",
                "4: Check",
                "5: Failed",
                "29: Check",
                "29: Failed",
                "30: Expire",
                "30: Wait(32)",
                "32: Check",
                "33: UpToDate(Soa { serial: 1, refresh: 10, retry: 3, expire: 30 })",
                "33: Wait(43)",
            ]
        );
    }

    /// A NOTIFY makes the check due at once; one during a check makes
    /// another check follow it.
    #[test]
    fn notify_brings_the_check_forward() {
        let got = timeline(
            Refresh::held(soa(1), 50, 50),
            &[
                (50, Poll),
                (50, Report(Checked::UpToDate(soa(1)))),
                (52, Poll),
                (53, Notify),
                (53, Poll),
                (53, Notify),
                (54, Report(Checked::Transferred(soa(2)))),
                (54, Poll),
            ],
        );
        assert_eq!(
            got,
            [
                "50: Check",
                "50: UpToDate(Soa { serial: 1, refresh: 10, retry: 3, expire: 30 })",
                "52: Wait(60)",
                "53: notified",
                "53: Check",
                "53: notified",
                "54: Transferred(Soa { serial: 2, refresh: 10, retry: 3, expire: 30 })",
                "54: Check",
            ]
        );
    }

    /// After a restart, a copy older than expire is expired at once; a
    /// fresher one serves until its expiry, even with the primary down.
    #[test]
    fn restarts_keep_the_expiry_of_the_copy() {
        let mut stale = Refresh::held(soa(1), 100, 131);
        assert_eq!(stale.poll(131), Action::Expire);
        let mut fresh = Refresh::held(soa(1), 100, 110);
        assert_eq!(fresh.poll(110), Action::Check);
        fresh.on_checked(Checked::Failed, 111);
        assert_eq!(fresh.poll(111), Action::Wait(114));
        assert_eq!(fresh.expires_at(), Some(130));
        assert_eq!(fresh.poll(130), Action::Expire);
        assert!(fresh.is_expired());
    }

    /// SOA timers of 0 are raised to the minimum interval.
    #[test]
    fn zero_timers_do_not_spin() {
        let zero = Soa {
            serial: 1,
            refresh: 0,
            retry: 0,
            expire: 1000,
        };
        let mut r = Refresh::held(zero, 0, 0);
        assert_eq!(r.poll(0), Action::Check);
        r.on_checked(Checked::UpToDate(zero), 0);
        assert_eq!(r.poll(0), Action::Wait(u64::from(MIN_INTERVAL)));
        assert_eq!(r.poll(1), Action::Check);
        r.on_checked(Checked::Failed, 1);
        assert_eq!(r.poll(1), Action::Wait(2));
    }
}
