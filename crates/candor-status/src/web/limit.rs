//! Rate limits for the public forms: at most `limit` requests per key
//! (a client, an address) in a fixed window of `period` seconds. No I/O
//! and no clock: the caller passes the time.

use std::collections::HashMap;

use crate::model::Timestamp;

/// Requests counted per key, in fixed windows.
#[derive(Debug)]
pub struct Limiter {
    /// Requests allowed per window.
    limit: u32,
    /// Window length in seconds.
    period: i64,
    /// Keys remembered at most; when full (after dropping expired windows)
    /// new keys are refused: the limiter fails closed, its memory bounded.
    capacity: usize,
    /// Key → (window start, requests in it).
    windows: HashMap<String, (Timestamp, u32)>,
}

impl Limiter {
    /// A limiter of `limit` requests per `period` seconds per key,
    /// remembering at most `capacity` keys.
    pub fn new(limit: u32, period: i64, capacity: usize) -> Limiter {
        Limiter {
            limit,
            period: period.max(1),
            capacity,
            windows: HashMap::new(),
        }
    }

    /// Counts a request of `key` at `now`; false when it is over the limit
    /// (and then it is not counted).
    pub fn allow(&mut self, key: &str, now: Timestamp) -> bool {
        if !self.windows.contains_key(key) && self.windows.len() >= self.capacity {
            let period = self.period;
            self.windows.retain(|_, (start, _)| now - *start < period);
            if self.windows.len() >= self.capacity {
                return false;
            }
        }
        let entry = self.windows.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= self.period {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Seconds until `key` may make a request again (0: now).
    pub fn retry_after(&self, key: &str, now: Timestamp) -> i64 {
        match self.windows.get(key) {
            Some((start, n)) if *n >= self.limit => (start + self.period - now).max(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_in_windows_and_fails_closed_when_full() {
        let mut l = Limiter::new(2, 60, 3);
        assert!(l.allow("a", 0));
        assert!(l.allow("a", 10));
        assert!(!l.allow("a", 59));
        assert_eq!(l.retry_after("a", 59), 1);
        assert!(l.allow("b", 59), "other keys are not affected");
        assert!(l.allow("a", 60), "a new window");
        assert!(l.allow("c", 61));
        // Full: a new key is refused until windows expire.
        assert!(!l.allow("d", 62));
        assert!(l.allow("d", 200));
    }
}
