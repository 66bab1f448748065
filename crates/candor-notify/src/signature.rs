//! The `X-Candor-Signature` scheme: `t=<unix secs>,v1=<hex HMAC-SHA256>`.
//!
//! The crate documentation describes it from a receiver's side.

#[cfg(test)]
mod tests;

use std::error::Error;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries a webhook's signature, as made by [`sign`].
pub const SIGNATURE_HEADER: &str = "X-Candor-Signature";

/// HMAC-SHA256, the MAC behind `v1`.
type HmacSha256 = Hmac<Sha256>;

/// Signs a webhook body: returns the `X-Candor-Signature` header value,
/// `t=<timestamp>,v1=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = mac(secret, &timestamp, body).finalize().into_bytes();
    let mut header = String::with_capacity(timestamp.len() + 6 + 2 * mac.len());
    header.push_str("t=");
    header.push_str(&timestamp);
    header.push_str(",v1=");
    for byte in mac {
        header.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        header.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
    }
    header
}

/// Checks an `X-Candor-Signature` header against a body, the way a receiver
/// should: the header must hold exactly one `t` and at least one `v1`, `t`
/// must be within `tolerance_secs` of `now` (either way), and one `v1` must
/// equal the HMAC of `"<t>.<body>"`, compared in constant time.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(VerifyError::Malformed)?;
        match key {
            "t" => {
                if timestamp.is_some()
                    || value.is_empty()
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(VerifyError::Malformed);
                }
                timestamp = Some(value);
            }
            "v1" => signatures.push(decode_hex(value).ok_or(VerifyError::Malformed)?),
            // Unknown keys leave room for other schemes beside v1.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(VerifyError::MissingSignature);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| VerifyError::Malformed)?;
    let age = now.saturating_sub(signed_at);
    if age.unsigned_abs() > tolerance_secs.max(0).unsigned_abs() {
        return Err(VerifyError::Stale { age_secs: age });
    }
    let expected = mac(secret, timestamp, body);
    let matches = signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok());
    if matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// Why [`verify`] rejected a signature header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The header is not a comma-separated list of `key=value` pairs, `t` is
    /// not a decimal number or appears twice, or a `v1` is not hex.
    Malformed,
    /// The header has no `t`.
    MissingTimestamp,
    /// The header has no `v1`.
    MissingSignature,
    /// `t` is further from the receiver's clock than the tolerance allows.
    Stale {
        /// The receiver's time minus `t`; negative when `t` is in the future.
        age_secs: i64,
    },
    /// No `v1` matches the body under this secret.
    Mismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Malformed => f.write_str("malformed signature header"),
            VerifyError::MissingTimestamp => f.write_str("signature header has no timestamp (t=)"),
            VerifyError::MissingSignature => f.write_str("signature header has no v1 signature"),
            VerifyError::Stale { age_secs } if *age_secs < 0 => {
                write!(
                    f,
                    "signature timestamp is {}s in the future",
                    age_secs.unsigned_abs()
                )
            }
            VerifyError::Stale { age_secs } => write!(f, "signature timestamp is {age_secs}s old"),
            VerifyError::Mismatch => f.write_str("signature does not match the body"),
        }
    }
}

impl Error for VerifyError {}

/// Lowercase hexadecimal digits, indexed by value.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The HMAC state after absorbing `"<timestamp>.<body>"`.
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Decodes hex digits (either case), or `None` if `text` is not hex.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let text = text.as_bytes();
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}
