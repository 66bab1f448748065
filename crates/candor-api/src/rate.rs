//! Per-token rate limiting with fixed hourly windows, reported in
//! DNSimple's `X-RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of one window in seconds.
pub(crate) const WINDOW_SECS: u64 = 3600;

/// Above this many tracked tokens, expired windows are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// One token's current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// Epoch second the window started.
    start: u64,
    /// Requests allowed in it so far.
    used: u32,
}

/// The verdict for one request and what the headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    /// Whether the request may proceed.
    pub(crate) allowed: bool,
    /// Requests per window (`X-RateLimit-Limit`).
    pub(crate) limit: u32,
    /// Requests left in the window (`X-RateLimit-Remaining`).
    pub(crate) remaining: u32,
    /// Epoch second the window ends (`X-RateLimit-Reset`).
    pub(crate) reset: u64,
}

/// Request counts per token id.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Requests allowed per window.
    limit: u32,
    /// Current windows by token id.
    windows: Mutex<HashMap<i64, Window>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per token per hour.
    pub(crate) fn new(limit: u32) -> RateLimiter {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request by `token` now.
    pub(crate) fn check(&self, token: i64) -> Quota {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.check_at(token, now)
    }

    /// Counts one request by `token` at epoch second `now`. A refused
    /// request does not count.
    pub(crate) fn check_at(&self, token: i64, now: u64) -> Quota {
        // The map is always left consistent, so a poisoned lock is usable.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, w| now < w.start.saturating_add(WINDOW_SECS));
        }
        let window = windows.entry(token).or_insert(Window {
            start: now,
            used: 0,
        });
        if now >= window.start.saturating_add(WINDOW_SECS) {
            *window = Window {
                start: now,
                used: 0,
            };
        }
        let allowed = window.used < self.limit;
        if allowed {
            window.used += 1;
        }
        Quota {
            allowed,
            limit: self.limit,
            remaining: self.limit - window.used,
            reset: window.start.saturating_add(WINDOW_SECS),
        }
    }
}
