//! API token secrets: generation, hashing and comparison.
//!
//! A secret is `cnd_` followed by 64 hex digits (256 random bits). Only its
//! SHA-256 is stored; with that much entropy a plain hash is enough (there is
//! nothing to brute-force), and it can be looked up by index.

use sha2::{Digest, Sha256};

use crate::StoreError;

/// Prefix of every secret, so leaked tokens are easy to recognise.
const PREFIX: &str = "cnd_";

/// A new random secret.
pub(crate) fn new_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| StoreError::Db(format!("no operating-system randomness: {e}")))?;
    let mut out = String::with_capacity(PREFIX.len() + 64);
    out.push_str(PREFIX);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    Ok(out)
}

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The stored form of a secret.
pub(crate) fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests;
