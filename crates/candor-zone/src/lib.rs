//! The zone model: records are validated and compiled once into an
//! immutable, read-optimized [`Zone`]; a [`ZoneSet`] finds the zone for a
//! name by longest suffix.
//!
//! Compilation is where all the work happens: owner names are lower-cased
//! and indexed, empty non-terminals are created, every RRset is encoded in
//! wire form, delegation points, wildcards and DNAMEs are flagged, the
//! additional-section targets of NS/MX/SRV/SVCB/HTTPS records are resolved
//! and the negative-answer SOA is precomputed. Lookups then only hash and
//! compare bytes.

mod build;
mod index;
mod load;
mod set;
mod zone;

pub use build::{ZoneBuilder, ZoneError};
pub use load::{LoadReport, load_zone_dir, load_zone_file, load_zone_text, origin_from_path};
pub use set::ZoneSet;
pub use zone::{
    ALIAS, AdditionalRef, Lookup, Node, NodeId, NodeRef, POOL, RrSet, Zone, is_private_type,
};
