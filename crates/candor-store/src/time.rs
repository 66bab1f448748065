//! Timestamps: Unix seconds in the database, RFC 3339 UTC in the API, and
//! the date-based first SOA serial.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in Unix seconds.
pub(crate) fn now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock before 1970 is wrong; count it as the epoch.
        Err(_) => 0,
    }
}

/// Formats Unix seconds as RFC 3339 UTC with seconds: `2026-11-26T09:30:00Z`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The first serial of a zone created at `secs`: `YYYYMMDD01`.
pub(crate) fn first_serial(secs: i64) -> u32 {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let serial = (y * 10_000 + i64::from(m) * 100 + i64::from(d)) * 100 + 1;
    // Years past 4294 do not fit; the serial then simply starts at 1.
    u32::try_from(serial).unwrap_or(1)
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
