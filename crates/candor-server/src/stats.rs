//! Query counters: one set per worker, summed when read.

use std::sync::atomic::{AtomicU64, Ordering};

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

    /// Adds this worker's counters into `sum`.
    pub fn add_to(&self, sum: &mut StatsSnapshot) {
        sum.received += self.received.load(Ordering::Relaxed);
        sum.responded += self.responded.load(Ordering::Relaxed);
        sum.dropped += self.dropped.load(Ordering::Relaxed);
        sum.truncated += self.truncated.load(Ordering::Relaxed);
        for (s, c) in sum.rcodes.iter_mut().zip(&self.rcodes) {
            *s += c.load(Ordering::Relaxed);
        }
    }
}
