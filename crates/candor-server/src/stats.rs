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
    /// Responses by rcode (low 4 bits; BADVERS counts as 0 here).
    pub rcodes: [AtomicU64; 16],
    /// Responses the rate limiter replaced by a slip (TC=1 or BADCOOKIE).
    pub rrl_slipped: AtomicU64,
    /// Responses the rate limiter dropped.
    pub rrl_dropped: AtomicU64,
    /// Queries shed unanswered under overload (their zone was over its
    /// fair share; see `candor_traffic::worker`).
    pub shed: AtomicU64,
    /// Requests with a client cookie alone (a server cookie was issued).
    pub cookie_client_only: AtomicU64,
    /// Requests with a valid server cookie.
    pub cookie_valid: AtomicU64,
    /// Requests with a server cookie that did not verify (a fresh one was
    /// issued).
    pub cookie_invalid: AtomicU64,
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
    /// Requests with a client cookie alone.
    pub cookie_client_only: u64,
    /// Requests with a valid server cookie.
    pub cookie_valid: u64,
    /// Requests with an invalid server cookie.
    pub cookie_invalid: u64,
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
        sum.cookie_client_only += get(&self.cookie_client_only);
        sum.cookie_valid += get(&self.cookie_valid);
        sum.cookie_invalid += get(&self.cookie_invalid);
    }
}
