//! Delivery of status-page notifications: one signed webhook POST or one
//! email at a time, scheduled so that no receiver holds up another, with every failure classified as worth retrying or not.
//!
//! The durable outbox and its retry loop live elsewhere; this crate gives
//! them the primitives:
//!
//! - [`Webhooks::deliver`] POSTs a JSON body to a subscriber's URL, signed
//!   with the subscriber's secret (see below).
//! - [`Mailer::send`] sends one email through an SMTP relay ([`SmtpConfig`]).
//! - Both return a [`DeliveryError`] whose [`FailureKind`] says whether the
//!   delivery may succeed later ([`FailureKind::Transient`]: retry after
//!   [`Backoff::delay`]) or never will ([`FailureKind::Permanent`]: give up on
//!   this delivery). Error messages name the cause precisely and never contain
//!   the webhook secret or the SMTP password.
//! - [`Backoff`] is the retry policy: exponential delays with deterministic
//!   jitter, and the point at which a failing subscriber is disabled.
//! - [`schedule::Scheduler`] decides which deliveries start when, without
//!   I/O: one queue per subscriber, lanes and caps so that no receiver
//!   delays another subscriber and no customer delays the operator.
//!
//! Every delivery carries an idempotency key chosen by the outbox and kept
//! across retries, so receivers can drop duplicates: webhooks send it in the
//! `Idempotency-Key` header, emails use it as the local part of their
//! `Message-ID` (`<key@candor>`).
//!
//! # Webhook signatures
//!
//! Each webhook request carries these headers:
//!
//! ```text
//! Content-Type: application/json
//! X-Candor-Event: incident.created
//! Idempotency-Key: 6f1c...
//! X-Candor-Signature: t=1700000000,v1=b90cd8ddb297589ed6cab2988ad033ba89b631e1af9b9a539c406a4620955e0b
//! ```
//!
//! `t` is the Unix time (seconds) at which the request was signed, and `v1`
//! is the lowercase hex HMAC-SHA256, keyed with the subscriber's secret, of
//! the bytes of `t` as written in the header, a `.`, and the raw request body:
//! `HMAC-SHA256(secret, "1700000000." + body)`. A receiver verifies it by
//! recomputing the HMAC over the body exactly as received (before any JSON
//! parsing), comparing in constant time, and rejecting timestamps too far
//! from its own clock, which stops an intercepted request from being
//! replayed later. A retry is signed afresh with a new `t` but keeps its
//! `Idempotency-Key`. A header may carry several `v1` values (for example
//! while a secret is rotated); one matching value is enough. Unknown keys
//! are ignored, so new schemes can be added beside `v1`. In Python:
//!
//! ```text
//! import hashlib, hmac, time
//!
//! def verify(secret: bytes, header: str, body: bytes, tolerance: int = 300) -> bool:
//!     pairs = [part.strip().split("=", 1) for part in header.split(",")]
//!     if any(len(pair) != 2 for pair in pairs):
//!         return False
//!     timestamps = [value for key, value in pairs if key == "t"]
//!     signatures = [value for key, value in pairs if key == "v1"]
//!     if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
//!         return False
//!     if abs(time.time() - int(timestamps[0])) > tolerance:
//!         return False
//!     message = timestamps[0].encode() + b"." + body
//!     expected = hmac.new(secret, message, hashlib.sha256).hexdigest()
//!     return any(hmac.compare_digest(expected, s) for s in signatures)
//! ```
//!
//! [`sign`] and [`verify`] implement the same scheme in Rust.

#![forbid(unsafe_code)]

mod backoff;
mod destination;
mod email;
pub mod schedule;
mod signature;
mod webhook;

use std::error::Error;
use std::fmt;

pub use backoff::{Backoff, jitter_seed};
pub use destination::is_public;
pub use email::{Email, Mailer, ParseSmtpSecurityError, SmtpConfig, SmtpSecurity};
pub use signature::{SIGNATURE_HEADER, VerifyError, sign, verify};
pub use webhook::{EVENT_HEADER, IDEMPOTENCY_HEADER, USER_AGENT, WebhookRequest, Webhooks};

/// How a failed delivery should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The delivery may succeed later (timeouts, refused connections, HTTP
    /// 5xx, 408 and 429, SMTP 4xx): retry it after a back-off.
    Transient,
    /// The delivery will never succeed as it is (an invalid URL or address,
    /// HTTP 4xx, 410 Gone, a redirect, SMTP 5xx): do not retry it.
    Permanent,
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureKind::Transient => "transient",
            FailureKind::Permanent => "permanent",
        })
    }
}

/// Why one delivery failed, and whether retrying it makes sense.
///
/// `Display` shows `message` alone; log `kind` beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryError {
    /// Whether the failure is worth a retry.
    pub kind: FailureKind,
    /// What went wrong, specific enough for an operator or a subscriber to
    /// act on (`connection refused by 127.0.0.1:9`, `HTTP 500 Internal
    /// Server Error from https://hooks.example/candor`, `SMTP 550 from
    /// mail.example:587: 5.1.1 no such user`). Never contains secrets.
    pub message: String,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub(crate) fn transient(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind: FailureKind::Transient,
            message: message.into(),
        }
    }

    /// A failure that retrying will not fix.
    pub(crate) fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }

    /// True when retrying the delivery cannot help.
    pub fn is_permanent(&self) -> bool {
        self.kind == FailureKind::Permanent
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for DeliveryError {}

/// Finds the first I/O error in an error's chain of sources.
fn io_cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = error.source();
    }
    None
}

/// The messages of an error's sources (not the error itself), joined with `: `.
fn source_chain(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    let mut current = error.source();
    while let Some(error) = current {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&error.to_string());
        current = error.source();
    }
    text
}
