//! Zone transfers out of Candor: AXFR (RFC 5936) and IXFR (RFC 1995)
//! responses, TSIG (RFC 8945), the transfer ACL and NOTIFY (RFC 1996);
//! catalog zones (RFC 9432); and the secondary's side: transfer requests
//! and the reading of their answers, the refresh timers, NOTIFY received.
//!
//! Everything here is sans I/O: [`Primary::handle`] turns a request's bytes
//! (and where it came from, and the time) into a reply, a [`Transfer`]
//! writes one message at a time into the caller's buffer, and a
//! [`Notifier`] says which NOTIFYs to send when. `candor-server` owns the
//! sockets and the tasks.
//!
//! Invariants:
//! - Refused unless allowed: with an empty [`Acl`] nothing is transferred.
//! - A transfer reads an `Arc<Zone>` snapshot and holds one node's records
//!   and one message at a time: memory per transfer does not grow with the
//!   zone, and publishing a new version never waits for a transfer.
//! - Private types never reach a standard secondary: ALIAS and POOL are
//!   flattened and REGIONAL records left out (see `view`), in AXFR and
//!   IXFR alike. Only a request with the `CANDOR_VIEW` EDNS option (a
//!   Candor secondary the ACL allows) gets them as themselves.
//! - Nothing here panics on any request bytes; secrets never reach `Debug`.
//!
//! Codemap: `request` reads transfer requests; `catalog` builds and reads
//! catalog zones (RFC 9432); `tsig` verifies and signs;
//! `acl` decides who may transfer; `client` asks primaries and reads
//! their answers; `refresh` says when a secondary zone is checked or
//! expires; `secondary` holds its primaries and answers their NOTIFYs;
//! `regional` makes a Candor secondary's own view of a zone; `compaction`
//! compacts a secondary zone's overlay; `copy_journal` is the journal of
//! IXFRs a secondary keeps beside its copy of a zone; `view` flattens private types; `journal`
//! keeps each zone's recent diffs; `transfer` packs messages; `primary`
//! puts them together; `notify` is the NOTIFY state machine; `lag` says how
//! far secondaries are behind.

#![forbid(unsafe_code)]

pub mod acl;
pub mod catalog;
pub mod client;
pub mod compaction;
pub mod copy_journal;
pub mod journal;
pub mod lag;
pub mod notify;
pub mod primary;
pub mod refresh;
pub mod regional;
pub mod request;
pub mod secondary;
pub mod transfer;
pub mod tsig;
pub mod view;

#[cfg(test)]
mod tests;

pub use acl::{Acl, Prefix, Rule};
pub use journal::{Changed, Journal, Limits};
pub use notify::{Notifier, Target, Timing};
pub use primary::{Handled, Primary, Refusal, Reply, Transport};
pub use request::{Special, is_transfer, special};
pub use transfer::Transfer;
pub use tsig::{Algorithm, Key, KeyRing};
