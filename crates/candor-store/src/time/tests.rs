//! Tests of the timestamp helpers against known dates.

use super::*;

#[test]
fn formats_known_instants() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_685_400), "2026-11-26T09:30:00Z");
    assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
}

#[test]
fn first_serial_is_the_date_and_01() {
    assert_eq!(first_serial(1_795_685_400), 2_026_112_601);
    assert_eq!(first_serial(951_782_400), 2_000_022_901);
}

#[test]
fn now_is_after_2024() {
    assert!(now() > 1_704_067_200);
}
