//! The status page's deliverer: everything in the status database's
//! outbox (incident notifications and other e-mails) reaches its
//! subscriber, without one receiver delaying another.
//!
//! - [`outbox::Outbox`] is the bookkeeping, without I/O: it turns outbox
//!   rows into [`candor_notify::schedule::Scheduler`] queues and jobs
//!   (whose lane a subscriber's notifications take, messages in the
//!   priority lane), says which sends start, and turns each send's end
//!   into the write the outbox needs (sent, retry at, given up, subscriber
//!   disabled). Tested with simulated time.
//! - [`run`] is the I/O: it reads what was added to the outbox, sends
//!   what the outbox starts as tasks of their own, and writes outcomes
//!   back in the background, so its loop never waits for a send or a
//!   database write.

#![forbid(unsafe_code)]

pub mod outbox;
mod run;

pub use run::{AccountAddress, Clock, Notifier, run, with_db};
