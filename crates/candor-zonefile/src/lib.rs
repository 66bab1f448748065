//! Zone files in RFC 1035 master-file format, and RDATA in presentation
//! format.
//!
//! [`parse_file`] and [`parse_bytes`] read a master file (RFC 1035 §5,
//! `$TTL` from RFC 2308, BIND and Knot practice) and hand each record to a
//! callback as uncompressed wire RDATA. [`rdata_from_text`],
//! [`rdata_to_text`] and [`validate_rdata`] convert single RDATA between
//! text and wire form for the API and for zone export.
//!
//! Invariants:
//! - Nothing here panics on any input, and there is no `unsafe`.
//! - Every RDATA this crate produces passes [`validate_rdata`], and for every
//!   RDATA that passes it, `rdata_from_text(t, &rdata_to_text(t, w), o)`
//!   gives `w` back.
//! - The parser does not allocate per token: it works on the file's bytes,
//!   keeps one RDATA buffer, and builds a new owner [`Name`] only when the
//!   owner field changes.
//!
//! Codemap: `lexer` splits the text into entries (one record or directive,
//! parentheses joined); `parser` runs directives and fills in owner, TTL
//! and class; `rdata` describes each type as a list of fields and reads
//! RDATA text by it, `walk` validates and formats wire RDATA by the same
//! lists, and `svcb`, `loc` and `apl` handle the three types whose syntax
//! does not fit a list; `text` and `codec` hold the small readers and
//! encoders they share.
//!
//! Every type that Knot DNS 3.2 reads in its own presentation format has
//! one here too ([`KNOT_TYPES`], [`has_text_form`]); any other type can
//! still be written in the generic form.

#![forbid(unsafe_code)]

mod apl;
mod codec;
mod lexer;
mod loc;
mod parser;
mod rdata;
mod svcb;
mod text;
mod walk;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use candor_wire::{Class, Name, Rtype};

//----------- Record ----------------------------------------------------------

/// One record as read from a zone file. Borrowed: the parser reuses its
/// buffers.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The owner name: absolute, in the case it was written.
    pub owner: &'a Name,
    /// The class (always the zone's class; others are errors).
    pub class: Class,
    /// The TTL in seconds, at most 2^31 - 1.
    pub ttl: u32,
    /// The record type (never a meta type).
    pub rtype: Rtype,
    /// Uncompressed wire RDATA; names in it are uncompressed and keep the
    /// case in which they were written.
    pub rdata: &'a [u8],
    /// The file this record came from (differs from the top file inside
    /// `$INCLUDE`).
    pub file: &'a Path,
    /// The 1-based line where the record starts.
    pub line: u32,
    /// The region list of a record written on a `;@regions LIST` line
    /// (`"ams,sv1"`, unchecked), when [`ParseOptions::regions`] is on;
    /// `None` for other records.
    pub regions: Option<&'a str>,
}

//----------- ZoneFileError ---------------------------------------------------

/// A problem in a zone file, with its position.
///
/// Displays as `{file}:{line}: {message}`. Line 0 means the file as a
/// whole (for example when it cannot be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneFileError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// The 1-based line of the problem.
    pub line: u32,
    /// What is wrong: lower-case, no trailing period.
    pub message: String,
}

impl fmt::Display for ZoneFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

impl std::error::Error for ZoneFileError {}

//----------- ParseOptions ----------------------------------------------------

/// How to read a zone file.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// The initial `$ORIGIN`: relative names are completed with it.
    pub origin: Name,
    /// The zone's class; records of another class are errors.
    pub default_class: Class,
    /// Whether `$INCLUDE` may read other files (never for uploads).
    pub allow_include: bool,
    /// Stop after this many errors (0 counts as 1).
    pub max_errors: usize,
    /// Read `;@regions LIST owner ttl class type rdata` lines as records
    /// limited to the regions in LIST (Candor's zone export writes them;
    /// other servers read comments). Off: they are comments.
    pub regions: bool,
}

impl ParseOptions {
    /// Options for a zone at `origin`: class IN, `$INCLUDE` refused, at
    /// most 100 errors.
    pub fn new(origin: Name) -> ParseOptions {
        ParseOptions {
            origin,
            default_class: Class::IN,
            allow_include: false,
            max_errors: 100,
            regions: false,
        }
    }
}

//----------- Parsing ---------------------------------------------------------

/// Parses a zone file from disk, calling `sink` for each record in file
/// order.
///
/// It keeps going after an error (skipping the broken entry and
/// resynchronising at the next line outside parentheses) so that every
/// problem is reported, and stops after `max_errors`. `Ok(())` only if
/// there were no errors. `$INCLUDE` paths are relative to the including
/// file's directory.
pub fn parse_file(
    path: &Path,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record<'_>),
) -> Result<(), Vec<ZoneFileError>> {
    let text = std::fs::read(path).map_err(|err| {
        vec![ZoneFileError {
            file: path.to_owned(),
            line: 0,
            message: parser::read_error(path, &err),
        }]
    })?;
    parser::parse(&text, path, path.parent(), opts, sink)
}

/// Parses zone-file text held in memory, like [`parse_file`].
///
/// `source` names the text in errors and records. `$INCLUDE` paths in the
/// text are relative to the current directory (inside included files,
/// to the included file's directory).
pub fn parse_bytes(
    text: &[u8],
    source: &Path,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record<'_>),
) -> Result<(), Vec<ZoneFileError>> {
    parser::parse(text, source, None, opts, sink)
}

//----------- RDATA -----------------------------------------------------------

/// Converts RDATA of one type from presentation text to wire form.
///
/// `text` is what follows the type in a zone file; it may contain quoted
/// strings, comments and parentheses, and may use the RFC 3597 `\# len
/// hex` form for any type. Relative names are completed with `origin`.
pub fn rdata_from_text(rtype: Rtype, text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    rdata::from_text(rtype, text.as_bytes(), origin)
}

/// Formats RDATA in presentation format, as a zone file or dig shows it.
///
/// Names are absolute. Unknown types, and RDATA that is not well-formed for
/// its type, use the RFC 3597 `\# len hex` form. Never panics.
pub fn rdata_to_text(rtype: Rtype, rdata: &[u8]) -> String {
    rdata::to_text(rtype, rdata)
}

/// Whether RDATA of `rtype` has a type-specific presentation format that
/// [`rdata_from_text`] reads and [`rdata_to_text`] writes (otherwise only
/// the RFC 3597 `\# len hex` form applies). False for meta types.
pub fn has_text_form(rtype: Rtype) -> bool {
    rdata::has_text_form(rtype)
}

/// The record types whose RDATA Knot DNS 3.2 reads in presentation format:
/// the type names its zone-file scanner (libzscanner) knows, checked by
/// loading one record of every registered type with `knotc zone-check`
/// (Knot 3.2.6). Knot refuses the others (MD, MF, MB, MG, MR, NULL, WKS,
/// X25, ISDN, NSAP, PX, GPOS, A6, ...) unless written as `TYPEnnn`.
/// Each of these has a text form here; the tests check it.
pub const KNOT_TYPES: &[Rtype] = &[
    Rtype::A,
    Rtype::NS,
    Rtype::CNAME,
    Rtype::SOA,
    Rtype::PTR,
    Rtype::HINFO,
    Rtype::MINFO,
    Rtype::MX,
    Rtype::TXT,
    Rtype::RP,
    Rtype::AFSDB,
    Rtype::RT,
    Rtype::KEY,
    Rtype::AAAA,
    Rtype::LOC,
    Rtype::SRV,
    Rtype::NAPTR,
    Rtype::KX,
    Rtype::CERT,
    Rtype::DNAME,
    Rtype::APL,
    Rtype::DS,
    Rtype::SSHFP,
    Rtype::IPSECKEY,
    Rtype::RRSIG,
    Rtype::NSEC,
    Rtype::DNSKEY,
    Rtype::DHCID,
    Rtype::NSEC3,
    Rtype::NSEC3PARAM,
    Rtype::TLSA,
    Rtype::SMIMEA,
    Rtype::CDS,
    Rtype::CDNSKEY,
    Rtype::OPENPGPKEY,
    Rtype::CSYNC,
    Rtype::ZONEMD,
    Rtype::SVCB,
    Rtype::HTTPS,
    Rtype::SPF,
    Rtype::NID,
    Rtype::L32,
    Rtype::L64,
    Rtype::LP,
    Rtype::EUI48,
    Rtype::EUI64,
    Rtype::URI,
    Rtype::CAA,
];

/// Checks that wire RDATA is well-formed for its type.
///
/// Types without a known layout accept any RDATA up to 65535 bytes; meta
/// types (OPT, TSIG, ANY, ...) accept none.
pub fn validate_rdata(rtype: Rtype, rdata: &[u8]) -> Result<(), String> {
    rdata::validate(rtype, rdata)
}

//----------- Base64 ----------------------------------------------------------

/// Padded base64 (RFC 4648 §4) of `bytes`, as in zone files and in the TSIG
/// secrets of Knot, BIND and NSD configurations.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    codec::write_base64(bytes, &mut out);
    out
}

/// Decodes padded base64, ignoring ASCII whitespace; `None` if it is not
/// base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(compact.len() / 4 * 3);
    codec::base64_decode(&compact, &mut out)?;
    Some(out)
}
