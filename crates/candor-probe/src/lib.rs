//! The status page's monitors, in two layers.
//!
//! The decisions are pure functions, tested without sockets:
//!
//! - [`plan`]: which probes a round makes (every monitored component from
//!   every vantage point whose address family fits), and the `--status-vantage`
//!   syntax.
//! - [`dns`]: the canary query, the check of an answer (ours, authoritative,
//!   with the SOA) and the verdict on a name server from what its UDP and
//!   TCP legs found: both answered is [`Outcome::Ok`], one of them is
//!   [`Outcome::Impaired`] (users get answers, some late), none is
//!   [`Outcome::Failed`].
//! - [`http`]: the request line of an HTTP probe, the status code read from
//!   the response's first bytes, and what counts as an answer.
//!
//! [`net`] is the thin I/O layer: it sends what the pure layer wrote,
//! from the vantage point's source address, within the timeout, and hands
//! back what came (or the I/O error, or that nothing came in time).
//!
//! [`Outcome::Ok`]: candor_status::engine::Outcome::Ok
//! [`Outcome::Impaired`]: candor_status::engine::Outcome::Impaired
//! [`Outcome::Failed`]: candor_status::engine::Outcome::Failed

#![forbid(unsafe_code)]

pub mod dns;
pub mod http;
pub mod net;
pub mod plan;

pub use plan::{Probe, Target, Vantage, plan};
