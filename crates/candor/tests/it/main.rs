//! Integration tests of the real `candor` binary: a differential test
//! against Knot DNS and tests of its wire behaviour (TCP, signals,
//! malformed input, zone errors, reload).

mod differential;
mod server;
mod support;
