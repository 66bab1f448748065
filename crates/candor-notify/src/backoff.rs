//! The retry policy: exponential back-off with deterministic jitter, and
//! when to give up on a subscriber.

#[cfg(test)]
mod tests;

use std::time::Duration;

/// How long to wait between attempts, and when to stop trying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The longest delay, however many failures there were.
    pub max: Duration,
    /// Consecutive failures after which a subscriber may be disabled; 0
    /// never disables.
    pub disable_after: u32,
    /// How long the failures must have gone on, too, before a subscriber
    /// is disabled.
    pub disable_span: Duration,
}

impl Default for Backoff {
    /// 2 s, doubling up to 1 h; disabled after failures that went on for
    /// a day (at least 10 of them; a day of retries makes about 30). A
    /// receiver that is down for minutes, or for a night, during a busy
    /// incident is not given up on: it gets everything when it is back.
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(3600),
            disable_after: 10,
            disable_span: Duration::from_secs(86_400),
        }
    }
}

impl Backoff {
    /// Delay before attempt number `failures + 1`, after `failures`
    /// consecutive failures (`failures` >= 1; 0 counts as 1): `base *
    /// 2^(failures-1)`, capped at `max`, then scaled into `[delay/2, delay]`
    /// by jitter derived from `seed` and `failures`.
    ///
    /// The jitter spreads retries of many deliveries that failed together
    /// (one receiver down for everyone) and is deterministic so that tests
    /// and replays agree; derive `seed` from the delivery with
    /// [`jitter_seed`].
    pub fn delay(&self, failures: u32, seed: u64) -> Duration {
        let failures = failures.max(1);
        let doublings = failures - 1;
        let factor = 2u32.saturating_pow(doublings);
        let delay = self.base.saturating_mul(factor).min(self.max).as_nanos();
        let low = delay / 2;
        let span = delay - low;
        let jitter = u128::from(mix(seed ^ u64::from(failures).rotate_left(32))) % (span + 1);
        duration_from_nanos(low + jitter)
    }

    /// True when a subscriber with this many consecutive failures, the
    /// first of them `failing_for` ago, should be disabled.
    pub fn should_disable(&self, failures: u32, failing_for: Duration) -> bool {
        self.disable_after != 0
            && failures >= self.disable_after
            && failing_for >= self.disable_span
    }
}

/// A jitter seed for [`Backoff::delay`] from a delivery's idempotency key
/// (64-bit FNV-1a: stable across builds and platforms).
pub fn jitter_seed(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The SplitMix64 finaliser: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A duration of `nanos` nanoseconds (which fits: it is at most a `Duration`'s).
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it fits in a u32.
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}
