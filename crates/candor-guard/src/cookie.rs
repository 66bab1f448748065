//! DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018).
//!
//! A client sends an 8-byte client cookie; the server answers with it and a
//! server cookie, which the client sends back from then on. The server
//! cookie is a MAC of the client cookie and the client's address under a
//! server secret, so a server that gets a valid one back knows the query
//! came from that address: a spoofed source cannot have seen the cookie.
//! That is what lets the rate limiter exempt such clients.
//!
//! The server cookie is RFC 9018's: version 1, three reserved bytes, a
//! 32-bit timestamp (seconds, serial-number arithmetic) and SipHash-2-4 of
//! client cookie ‖ version ‖ reserved ‖ timestamp ‖ client address, keyed
//! with a 128-bit secret. Servers that share a secret (an anycast set)
//! accept each other's cookies. Like BIND and Knot, a cookie is accepted
//! from an hour before now to five minutes after (RFC 9018 §4.3), and one
//! older than half an hour is replaced by a fresh one.
//!
//! Secrets roll over without breaking clients: [`CookieSecrets`] holds the
//! current secret, which makes every new cookie, and the previous one, which
//! still verifies. A client holding a cookie made with the previous secret
//! gets a fresh one with its next answer.

use std::fmt;
use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// Length of a client cookie.
pub const CLIENT_COOKIE_LEN: usize = 8;

/// Length of an RFC 9018 server cookie.
pub const SERVER_COOKIE_LEN: usize = 16;

/// Length of a server secret (128 bits, RFC 9018 §4.4).
pub const SECRET_LEN: usize = 16;

/// The RFC 9018 server cookie version.
const VERSION: u8 = 1;

/// A server cookie is accepted up to this many seconds after its
/// timestamp (RFC 9018 §4.3: "a 1-hour period in the past")...
const MAX_AGE: i64 = 3600;

/// ...and up to this many seconds before it (clock skew between servers
/// sharing a secret: "a 5-minute period into the future").
const MAX_AHEAD: i64 = 300;

/// A valid server cookie older than this is replaced by a fresh one
/// (RFC 9018 §4.3: at least when it is "more than half an hour old").
const RENEW_AGE: i64 = 1800;

//----------- CookieCheck ------------------------------------------------------

/// What a request's COOKIE option turned out to be. Counted per response,
/// and read by the rate limiter: only [`CookieCheck::Valid`] proves the
/// client's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieCheck {
    /// No COOKIE option (or no OPT record, or a request answered without
    /// reading it).
    Absent,
    /// A client cookie alone: a server cookie was issued with the answer
    /// (RFC 7873 §5.2.3).
    ClientOnly,
    /// A server cookie made with a secret this server holds, for this
    /// client cookie and address, within its lifetime (§5.2.5).
    Valid,
    /// A server cookie that did not verify: made by a server with another
    /// secret, expired, for another address, or forged. A fresh one was
    /// issued (§5.2.4).
    Invalid,
}

impl CookieCheck {
    /// Whether the request carried a COOKIE option at all.
    pub fn is_present(self) -> bool {
        self != CookieCheck::Absent
    }
}

//----------- CookieSecrets ----------------------------------------------------

/// The server secrets: the current one makes new cookies and verifies, the
/// previous one (if any) only verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct CookieSecrets {
    /// Makes every new server cookie.
    current: [u8; SECRET_LEN],
    /// The secret before the last rollover; still verifies.
    previous: Option<[u8; SECRET_LEN]>,
}

impl fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of logs.
        f.debug_struct("CookieSecrets")
            .field("previous", &self.previous.is_some())
            .finish_non_exhaustive()
    }
}

/// Which secret verified a server cookie, and how old the cookie is.
enum Verified {
    /// The current secret; the cookie's age in seconds (negative when its
    /// timestamp is ahead of our clock).
    Current(i64),
    /// The previous secret.
    Previous,
    /// Neither, or the cookie is not an RFC 9018 cookie within its
    /// lifetime.
    No,
}

impl CookieSecrets {
    /// Secrets with `current` and, during a rollover, the `previous` one.
    pub fn new(current: [u8; SECRET_LEN], previous: Option<[u8; SECRET_LEN]>) -> CookieSecrets {
        CookieSecrets { current, previous }
    }

    /// The secrets after a rollover to `next`: it makes new cookies, and
    /// the current secret still verifies the cookies it made. Roll over at
    /// most once an hour, so that every cookie still within its lifetime
    /// was made by one of the two.
    pub fn rotate(&self, next: [u8; SECRET_LEN]) -> CookieSecrets {
        CookieSecrets {
            current: next,
            previous: Some(self.current),
        }
    }

    /// Reads secrets shared with other servers, as written in a secret
    /// file: one or two secrets of 32 hexadecimal digits, one per line, the
    /// current one first and the previous one (during a rollover) second.
    /// Blank lines and text after `#` are ignored.
    pub fn parse(text: &str) -> Result<CookieSecrets, SecretsError> {
        let mut secrets = Vec::with_capacity(2);
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let secret = parse_hex_secret(line).ok_or(SecretsError::BadSecret { line: i + 1 })?;
            if secrets.len() == 2 {
                return Err(SecretsError::TooMany { line: i + 1 });
            }
            secrets.push(secret);
        }
        match secrets[..] {
            [current] => Ok(CookieSecrets::new(current, None)),
            [current, previous] => Ok(CookieSecrets::new(current, Some(previous))),
            _ => Err(SecretsError::Empty),
        }
    }

    /// The server cookie to answer a request's COOKIE option with, and what
    /// the option was: `server` is the server cookie the client sent (empty
    /// if none) for `client` from address `addr`, `now` the time in seconds
    /// since the Unix epoch.
    ///
    /// A valid cookie is sent back as it came while it is younger than half
    /// an hour and made with the current secret; otherwise, and for a
    /// missing or invalid cookie, a fresh one is made.
    pub fn reply(
        &self,
        client: &[u8; CLIENT_COOKIE_LEN],
        server: &[u8],
        addr: IpAddr,
        now: u32,
    ) -> (CookieCheck, [u8; SERVER_COOKIE_LEN]) {
        if server.is_empty() {
            return (CookieCheck::ClientOnly, self.fresh(client, addr, now));
        }
        match self.verify(client, server, addr, now) {
            Verified::Current(age) if age <= RENEW_AGE => {
                let mut same = [0u8; SERVER_COOKIE_LEN];
                same.copy_from_slice(&server[..SERVER_COOKIE_LEN]);
                (CookieCheck::Valid, same)
            }
            Verified::Current(_) | Verified::Previous => {
                (CookieCheck::Valid, self.fresh(client, addr, now))
            }
            Verified::No => (CookieCheck::Invalid, self.fresh(client, addr, now)),
        }
    }

    /// A new server cookie for `client` at `addr`, made now with the
    /// current secret.
    pub fn fresh(
        &self,
        client: &[u8; CLIENT_COOKIE_LEN],
        addr: IpAddr,
        now: u32,
    ) -> [u8; SERVER_COOKIE_LEN] {
        let mut cookie = [0u8; SERVER_COOKIE_LEN];
        cookie[0] = VERSION;
        cookie[4..8].copy_from_slice(&now.to_be_bytes());
        let mac = mac(&self.current, client, &cookie[..8], addr);
        cookie[8..].copy_from_slice(&mac.to_le_bytes());
        cookie
    }

    /// Checks a server cookie: RFC 9018 form (16 bytes, version 1), a
    /// timestamp within the accepted period, and a MAC one of the secrets
    /// made. The reserved bytes are not judged; they are part of what the
    /// MAC covers (RFC 9018 Appendix A.3 verifies a cookie with non-zero
    /// reserved bytes).
    fn verify(
        &self,
        client: &[u8; CLIENT_COOKIE_LEN],
        server: &[u8],
        addr: IpAddr,
        now: u32,
    ) -> Verified {
        let Ok(server) = <&[u8; SERVER_COOKIE_LEN]>::try_from(server) else {
            return Verified::No;
        };
        if server[0] != VERSION {
            return Verified::No;
        }
        let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        // Serial-number arithmetic (RFC 1982), as RFC 9018 §4.3 asks: the
        // difference is read as a signed 32-bit number.
        let age = i64::from(now.wrapping_sub(stamp) as i32);
        if !(-MAX_AHEAD..=MAX_AGE).contains(&age) {
            return Verified::No;
        }
        let sent = u64::from_le_bytes([
            server[8], server[9], server[10], server[11], server[12], server[13], server[14],
            server[15],
        ]);
        if mac(&self.current, client, &server[..8], addr) == sent {
            return Verified::Current(age);
        }
        match &self.previous {
            Some(previous) if mac(previous, client, &server[..8], addr) == sent => {
                Verified::Previous
            }
            _ => Verified::No,
        }
    }
}

/// SipHash-2-4 under `secret` of client cookie ‖ version, reserved and
/// timestamp (`head`, the first 8 bytes of the server cookie) ‖ client
/// address (4 or 16 bytes). RFC 9018 writes the 64-bit result out in
/// little-endian byte order, the order its test vectors use.
fn mac(
    secret: &[u8; SECRET_LEN],
    client: &[u8; CLIENT_COOKIE_LEN],
    head: &[u8],
    addr: IpAddr,
) -> u64 {
    let mut h = SipHasher24::new_with_key(secret);
    h.write(client);
    h.write(head);
    match addr {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.finish()
}

/// A 128-bit secret written as 32 hexadecimal digits.
fn parse_hex_secret(text: &str) -> Option<[u8; SECRET_LEN]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * SECRET_LEN {
        return None;
    }
    let mut secret = [0u8; SECRET_LEN];
    for (byte, pair) in secret.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
    }
    Some(secret)
}

//----------- SecretsError -----------------------------------------------------

/// Why a secret file cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretsError {
    /// It holds no secret.
    Empty,
    /// This line is not 32 hexadecimal digits.
    BadSecret {
        /// The line, counting from 1.
        line: usize,
    },
    /// A third secret, on this line: only the current and the previous one
    /// are kept.
    TooMany {
        /// The line, counting from 1.
        line: usize,
    },
}

impl fmt::Display for SecretsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretsError::Empty => f.write_str("no secret in the file"),
            SecretsError::BadSecret { line } => write!(
                f,
                "line {line}: a secret is 32 hexadecimal digits (128 bits)"
            ),
            SecretsError::TooMany { line } => write!(
                f,
                "line {line}: at most two secrets, the current one and the previous one"
            ),
        }
    }
}

impl std::error::Error for SecretsError {}

#[cfg(test)]
mod tests;
