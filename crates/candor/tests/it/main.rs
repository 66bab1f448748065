//! Integration tests of the real `candor` binary: a differential test
//! against Knot DNS and tests of its wire behaviour (TCP, signals,
//! malformed input, zone errors, reload), rate limiting and DNS cookies,
//! every record type Knot reads, the store and REST API (durability across
//! kill -9, changes served at once, the CLI, the official DNSimple client),
//! and zone transfers to Knot DNS as a secondary.

#![forbid(unsafe_code)]

mod alias_bump;
mod attack;
mod backup;
mod catalog;
mod compaction;
mod cview;
mod differential;
mod dnssec;
mod fleet;
mod guard;
mod http;
mod observe;
mod offline;
mod ops;
mod packaging;
mod regions;
mod secondary;
mod secondary_alias;
mod secondary_journal;
mod server;
mod signxfr;
mod status;
mod status_cli;
mod status_stress;
mod store;
mod support;
mod tidy;
mod tls;
mod types;
mod xfr;
mod xfr_flood;
