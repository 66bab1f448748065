//! DNS wire format: domain names, record types and classes, query parsing
//! and response building.
//!
//! This crate is pure: it does no I/O, never allocates on the query path
//! (parsing a query and building a response work in caller-provided
//! buffers), and never panics on untrusted input.

#![forbid(unsafe_code)]

pub mod decode;
mod message;
mod name;
mod types;

pub use message::{
    COOKIE_OPTION, Cookie, Echo, Edns, Header, MessageBuilder, NSID_OPTION, Owner, Prerendered,
    Query, QueryError, QuerySpec, RequestKind, Section, TruncationError, parse_query,
    query_message,
};
pub use name::{
    MAX_NAME_LEN, Name, NameError, lowercase_wire, read_escape, text_to_wire, wire_labels,
    wire_name_len,
};
pub use types::{Class, Opcode, Rcode, Rtype};
