//! The answer path's defences against floods and spoofed sources, sans
//! I/O: DNS cookies ([`cookie`]) and response rate limiting ([`rrl`]).
//!
//! Nothing here reads the clock, a socket, a file or a random source, and
//! nothing starts a thread: the caller passes the time (seconds since the
//! Unix epoch), the client's address and the secrets, so every rule is
//! tested over simulated time. Nothing allocates after construction, nothing
//! locks, nothing waits: [`Limiter::check`] is one cache line of atomics and
//! a cookie check one or two SipHash computations.

// The one `unsafe` block is the prefetch hint in `rrl` (with its SAFETY
// comment); everything else is safe code.
#![deny(unsafe_code)]

pub mod cookie;
pub mod rrl;

pub use cookie::{CookieCheck, CookieSecrets, SecretsError};
pub use rrl::{
    Account, Limiter, Prefix, PrefixError, RateKey, ResponseKind, RrlConfig, Slip, Verdict,
};
