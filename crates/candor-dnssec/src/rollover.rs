//! When each step of a key rollover may happen: the timing of RFC 7583,
//! as pure arithmetic over seconds, for the rollover task to follow.
//!
//! Only the pre-publication rollover of a zone-signing key (or of a CSK's
//! data signatures) is here so far (RFC 7583 §3.2.1, RFC 6781
//! §4.1.1.1): publish the new key, wait until every cache that holds the
//! DNSKEY RRset has the new key too, sign with it, wait until every cached
//! signature of the old key has expired from caches, withdraw the old
//! key. docs/dnssec.md has the rest of the plan (KSK/CSK with the DS at
//! the parent, enable and disable).

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

#[cfg(test)]
mod tests {
    use super::{Timing, Which, ZskRoll};

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
