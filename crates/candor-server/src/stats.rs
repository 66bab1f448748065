//! Query counters: one set per worker, summed when read.

use std::sync::atomic::{AtomicU64, Ordering};

use candor_answer::CookieCheck;

/// Counters of one worker. Aligned to a cache line so workers never share one.
///
/// Each set has a single writer (its worker), so counting is a relaxed load
/// and store, not a locked read-modify-write; readers may see a slightly
/// old value, never a torn one.
#[derive(Default, Debug)]
#[repr(align(64))]
pub struct Stats {
    /// Packets received.
    pub received: AtomicU64,
    /// Responses sent.
    pub responded: AtomicU64,
    /// Packets dropped without a response (not queries, too short, send failures).
    pub dropped: AtomicU64,
    /// Responses with the TC bit.
    pub truncated: AtomicU64,
    /// Responses by rcode (the header's 4 bits: BADVERS counts as 0 and
    /// BADCOOKIE, 23 = 0x17, as 7 here; Candor never sends YXRRSET, so 7
    /// is BADCOOKIE).
    pub rcodes: [AtomicU64; 16],
    /// Responses the rate limiter replaced by a slip (TC=1 or BADCOOKIE).
    pub rrl_slipped: AtomicU64,
    /// Responses the rate limiter dropped.
    pub rrl_dropped: AtomicU64,
    /// Queries shed unanswered under overload (their zone was over its
    /// fair share; see `candor_traffic::worker`).
    pub shed: AtomicU64,
    /// Queries the worker's socket filter dropped in the kernel under
    /// overload (estimated: see `candor_traffic::filter`).
    pub kernel_shed: AtomicU64,
    /// Queries received through a quarantine socket: a shed zone's,
    /// steered away from the other zones' queue (see `crate::quarantine`).
    pub quarantined: AtomicU64,
    /// Requests with a client cookie alone (a server cookie was issued).
    pub cookie_client_only: AtomicU64,
    /// Requests with a valid server cookie.
    pub cookie_valid: AtomicU64,
    /// Requests with a server cookie that did not verify (a fresh one was
    /// issued).
    pub cookie_invalid: AtomicU64,
    /// How long answering took, per batch (UDP only; see
    /// [`LatencyHistogram`]).
    pub latency: LatencyHistogram,
}

/// The header rcode BADCOOKIE (23) leaves in a response's header: its low
/// four bits (the rest is in the OPT record).
pub const BADCOOKIE_HEADER_RCODE: usize = 23 & 0x0f;

/// Buckets of [`LatencyHistogram`]: upper bounds of 2^0 ... 2^16
/// microseconds, and one for longer.
pub const LATENCY_BUCKETS: usize = 18;

/// A histogram of answering time in microseconds, with power-of-two
/// buckets (1 us, 2 us, ... 65.5 ms, then everything longer).
///
/// A UDP worker records one observation per batch: the time from
/// `recvmmsg` returning to the last `sendmmsg` of the batch, weighted by
/// the batch's packet count. That is an upper bound of each query's time
/// inside Candor (kernel queueing before the receive is not in it), and it
/// costs three relaxed load/store pairs per batch of up to 32 queries, not
/// per packet: the two clock reads it uses were already taken for the
/// worker's load estimate. Single writer (the worker), like [`Stats`].
#[derive(Default, Debug)]
pub struct LatencyHistogram {
    /// Observations per bucket (not cumulative).
    pub buckets: [AtomicU64; LATENCY_BUCKETS],
    /// Sum of the observations, in microseconds.
    pub sum_us: AtomicU64,
}

impl LatencyHistogram {
    /// The bucket of a time of `us` microseconds: the smallest `k` with
    /// `us <= 2^k`, or the last bucket.
    #[inline]
    pub fn bucket(us: u64) -> usize {
        let k = (64 - us.saturating_sub(1).leading_zeros()) as usize;
        k.min(LATENCY_BUCKETS - 1)
    }

    /// The upper bound of bucket `k` in microseconds (`None`: unbounded).
    pub fn upper_bound_us(k: usize) -> Option<u64> {
        (k < LATENCY_BUCKETS - 1).then(|| 1u64 << k)
    }

    /// Records `n` queries that each took at most `us` microseconds. Only
    /// the owning worker may call it.
    #[inline]
    pub(crate) fn observe(&self, us: u64, n: u64) {
        bump(&self.buckets[Self::bucket(us)], n);
        bump(&self.sum_us, us.saturating_mul(n));
    }

    /// Adds this histogram into `sum`.
    pub fn add_to(&self, sum: &mut LatencySnapshot) {
        for (s, b) in sum.buckets.iter_mut().zip(&self.buckets) {
            *s += b.load(Ordering::Relaxed);
        }
        sum.sum_us += self.sum_us.load(Ordering::Relaxed);
    }
}

/// A point-in-time sum of [`LatencyHistogram`]s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// Observations per bucket (not cumulative).
    pub buckets: [u64; LATENCY_BUCKETS],
    /// Sum of the observations, in microseconds.
    pub sum_us: u64,
}

impl LatencySnapshot {
    /// How many observations there are.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// A point-in-time sum of counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Packets received.
    pub received: u64,
    /// Responses sent.
    pub responded: u64,
    /// Packets dropped.
    pub dropped: u64,
    /// Truncated responses.
    pub truncated: u64,
    /// Responses by rcode.
    pub rcodes: [u64; 16],
    /// Responses replaced by a rate limiter slip.
    pub rrl_slipped: u64,
    /// Responses dropped by the rate limiter.
    pub rrl_dropped: u64,
    /// Queries shed under overload.
    pub shed: u64,
    /// Queries shed in the kernel under overload (estimated).
    pub kernel_shed: u64,
    /// Queries received through a quarantine socket.
    pub quarantined: u64,
    /// Requests with a client cookie alone.
    pub cookie_client_only: u64,
    /// Requests with a valid server cookie.
    pub cookie_valid: u64,
    /// Requests with an invalid server cookie.
    pub cookie_invalid: u64,
    /// Answering time (UDP).
    pub latency: LatencySnapshot,
}

/// Adds `n` to a counter that only the calling worker writes.
#[inline]
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

impl Stats {
    /// Counts one response (already written into `resp`).
    pub(crate) fn count_response(&self, resp: &[u8]) {
        bump(&self.responded, 1);
        if let (Some(&flags_hi), Some(&flags_lo)) = (resp.get(2), resp.get(3)) {
            if flags_hi & 0x02 != 0 {
                bump(&self.truncated, 1);
            }
            bump(&self.rcodes[usize::from(flags_lo & 0x0f)], 1);
        }
    }

    /// Counts what a request's COOKIE option was.
    pub(crate) fn count_cookie(&self, cookie: CookieCheck) {
        let counter = match cookie {
            CookieCheck::Absent => return,
            CookieCheck::ClientOnly => &self.cookie_client_only,
            CookieCheck::Valid => &self.cookie_valid,
            CookieCheck::Invalid => &self.cookie_invalid,
        };
        bump(counter, 1);
    }

    /// Adds this worker's counters into `sum`.
    pub fn add_to(&self, sum: &mut StatsSnapshot) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        sum.received += get(&self.received);
        sum.responded += get(&self.responded);
        sum.dropped += get(&self.dropped);
        sum.truncated += get(&self.truncated);
        for (s, c) in sum.rcodes.iter_mut().zip(&self.rcodes) {
            *s += get(c);
        }
        sum.rrl_slipped += get(&self.rrl_slipped);
        sum.rrl_dropped += get(&self.rrl_dropped);
        sum.shed += get(&self.shed);
        sum.kernel_shed += get(&self.kernel_shed);
        sum.quarantined += get(&self.quarantined);
        sum.cookie_client_only += get(&self.cookie_client_only);
        sum.cookie_valid += get(&self.cookie_valid);
        sum.cookie_invalid += get(&self.cookie_invalid);
        self.latency.add_to(&mut sum.latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times land in the smallest power-of-two bucket that holds them, and
    /// anything past 2^16 us in the last one.
    #[test]
    fn latency_buckets() {
        assert_eq!(LatencyHistogram::bucket(0), 0);
        assert_eq!(LatencyHistogram::bucket(1), 0);
        assert_eq!(LatencyHistogram::bucket(2), 1);
        assert_eq!(LatencyHistogram::bucket(3), 2);
        assert_eq!(LatencyHistogram::bucket(4), 2);
        assert_eq!(LatencyHistogram::bucket(5), 3);
        assert_eq!(LatencyHistogram::bucket(65_536), 16);
        assert_eq!(LatencyHistogram::bucket(65_537), 17);
        assert_eq!(LatencyHistogram::bucket(u64::MAX), 17);
        assert_eq!(LatencyHistogram::upper_bound_us(16), Some(65_536));
        assert_eq!(LatencyHistogram::upper_bound_us(17), None);
    }

    /// An observation of a batch counts once per query, and snapshots sum
    /// workers.
    #[test]
    fn latency_observe_and_sum() {
        let (a, b) = (Stats::default(), Stats::default());
        a.latency.observe(10, 32);
        b.latency.observe(100_000, 1);
        let mut sum = StatsSnapshot::default();
        a.add_to(&mut sum);
        b.add_to(&mut sum);
        assert_eq!(sum.latency.count(), 33);
        assert_eq!(sum.latency.buckets[4], 32);
        assert_eq!(sum.latency.buckets[17], 1);
        assert_eq!(sum.latency.sum_us, 320 + 100_000);
    }
}
