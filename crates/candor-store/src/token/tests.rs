//! Tests of secret generation and hashing.

use super::*;

#[test]
fn secrets_are_random_and_well_formed() {
    let a = new_secret().unwrap();
    let b = new_secret().unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with("cnd_"));
    assert_eq!(a.len(), 68);
    assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn hash_is_sha256() {
    // SHA-256("abc") from FIPS 180-2.
    let h = hash("abc");
    assert_eq!(h[..4], [0xba, 0x78, 0x16, 0xbf]);
    assert_eq!(h[28..], [0xf2, 0x00, 0x15, 0xad]);
}

#[test]
fn comparison() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}
