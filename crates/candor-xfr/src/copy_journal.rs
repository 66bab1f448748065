//! The journal a Candor secondary keeps beside its copy of a zone: the
//! IXFRs applied since the copy was written, so an IXFR of one change
//! appends a few hundred bytes instead of rewriting the whole copy
//! (~40 MB for a million records).
//!
//! Sans I/O: [`header`] and [`entry`] make the bytes the caller appends
//! (and syncs), [`read`] reads a journal file's bytes back, and
//! [`replay`] applies what it holds to the copy. [`rewrite_due`] says when
//! the caller should write a fresh copy and start an empty journal.
//!
//! The file is a header, then entries, all integers big-endian:
//!
//! ```text
//! header: "CNDRJNL1" | base serial u32 | check [8]
//! entry:  length u32 | from u32 | to u32 | body [length] | check [8]
//! body:   SOA record | steps u32 | per step: from u32 | to u32 |
//!         removed u32 | records | added u32 | records
//! record: owner length u16 | owner | type u16 | TTL u32 | RDATA length u16 | RDATA
//! ```
//!
//! `check` is the first 8 bytes of the SHA-256 of what comes before it in
//! the header or the entry. `base` is the serial of the copy the journal
//! follows: a journal whose base is not the copy's serial is left over
//! from before the copy was rewritten (a crash between the copy's rename
//! and the journal's reset) and is not replayed.
//!
//! Invariants:
//! - A torn or corrupt tail (a crash mid-append) ends the journal: the
//!   entries before it are replayed, [`Read::tail`] says why the rest is
//!   not, and [`Read::good_len`] is where the caller truncates the file
//!   before appending again.
//! - Entries chain: the first starts at the base serial, each next at the
//!   serial the one before ended at. A broken chain, or an entry that does
//!   not apply, makes [`replay`] fail: the caller serves the copy alone
//!   and asks its primary for the whole zone.
//! - Nothing here panics on any bytes.

use std::sync::Arc;

use candor_wire::Rtype;
use candor_zone::{OwnedRecord, Zone};
use sha2::{Digest, Sha256};

use crate::client::{ApplyError, Step, apply_steps_patched};
use crate::journal::serial_newer;

/// What every journal file starts with.
pub const MAGIC: &[u8; 8] = b"CNDRJNL1";

/// The size of a journal's header.
pub const HEADER_LEN: usize = MAGIC.len() + 4 + CHECK_LEN;

/// The size of a check value.
const CHECK_LEN: usize = 8;

/// The fixed part of an entry before its body: length, from, to.
const ENTRY_HEAD: usize = 12;

/// Most entries a journal holds before the copy is rewritten (each costs
/// one patch when the copy is loaded).
pub const MAX_ENTRIES: usize = 1000;

/// The check value of `bytes`.
fn check(bytes: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// The header of a journal that follows a copy at serial `base`.
pub fn header(base: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&base.to_be_bytes());
    let sum = check(&out);
    out.extend_from_slice(&sum);
    out
}

/// The entry for an IXFR that took the zone from serial `from` to `to`:
/// its `steps` and the SOA record it ended with.
pub fn entry(from: u32, to: u32, soa: &OwnedRecord, steps: &[Step]) -> Vec<u8> {
    let mut body = Vec::new();
    put_record(&mut body, soa);
    put_u32(&mut body, steps.len());
    for s in steps {
        body.extend_from_slice(&s.from.to_be_bytes());
        body.extend_from_slice(&s.to.to_be_bytes());
        for list in [&s.removed, &s.added] {
            put_u32(&mut body, list.len());
            for r in list {
                put_record(&mut body, r);
            }
        }
    }
    let mut out = Vec::with_capacity(ENTRY_HEAD + body.len() + CHECK_LEN);
    put_u32(&mut out, body.len());
    out.extend_from_slice(&from.to_be_bytes());
    out.extend_from_slice(&to.to_be_bytes());
    out.extend_from_slice(&body);
    let sum = check(&out);
    out.extend_from_slice(&sum);
    out
}

/// Appends a count or length that fits 32 bits (all the encoder writes
/// do: record counts and message-bounded sizes).
fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n.min(u32::MAX as usize) as u32).to_be_bytes());
}

/// Appends one record (owner and RDATA are wire-bounded: < 64 KiB).
fn put_record(out: &mut Vec<u8>, r: &OwnedRecord) {
    out.extend_from_slice(&(r.owner.len() as u16).to_be_bytes());
    out.extend_from_slice(&r.owner);
    out.extend_from_slice(&r.rtype.0.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&r.rdata);
}

/// One IXFR as the journal holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The serial it starts at.
    pub from: u32,
    /// The serial it ends at.
    pub to: u32,
    /// The SOA record it ended with.
    pub soa: OwnedRecord,
    /// Its steps, as received.
    pub steps: Vec<Step>,
}

/// A journal file read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// The serial of the copy it follows.
    pub base: u32,
    /// The entries, up to the first that is torn or corrupt.
    pub entries: Vec<Entry>,
    /// The bytes the header and those entries take: where the next entry
    /// goes (the file is truncated here when there is a bad tail).
    pub good_len: usize,
    /// Why the bytes after `good_len` were not read, if there are any.
    pub tail: Option<String>,
}

/// Reads a journal's bytes. `Ok(None)` for an empty file (a crash before
/// its header was written); an error when the header is not a journal's.
pub fn read(bytes: &[u8]) -> Result<Option<Read>, String> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let Some(head) = bytes.get(..HEADER_LEN) else {
        return Err(format!(
            "the header is cut short ({} of {HEADER_LEN} bytes)",
            bytes.len()
        ));
    };
    if &head[..MAGIC.len()] != MAGIC {
        return Err("not a Candor copy journal (wrong magic bytes)".to_owned());
    }
    let (covered, sum) = head.split_at(HEADER_LEN - CHECK_LEN);
    if check(covered) != sum {
        return Err("the header's checksum does not match".to_owned());
    }
    let base = be32(&head[MAGIC.len()..]);
    let mut read = Read {
        base,
        entries: Vec::new(),
        good_len: HEADER_LEN,
        tail: None,
    };
    while read.good_len < bytes.len() {
        let at = read.good_len;
        match read_entry(&bytes[at..]) {
            Ok((e, len)) => {
                read.entries.push(e);
                read.good_len += len;
            }
            Err(why) => {
                read.tail = Some(format!(
                    "entry {} at byte {at} ({} bytes to the end): {why}",
                    read.entries.len() + 1,
                    bytes.len() - at
                ));
                break;
            }
        }
    }
    Ok(Some(read))
}

/// The big-endian u32 at the start of `b` (which holds at least 4 bytes).
fn be32(b: &[u8]) -> u32 {
    let mut four = [0u8; 4];
    four.copy_from_slice(&b[..4]);
    u32::from_be_bytes(four)
}

/// Reads the entry at the start of `bytes`: it and how long it is.
fn read_entry(bytes: &[u8]) -> Result<(Entry, usize), String> {
    if bytes.len() < ENTRY_HEAD + CHECK_LEN {
        return Err("cut short before the end of its header".to_owned());
    }
    let body_len = be32(bytes) as usize;
    let len = ENTRY_HEAD
        .checked_add(body_len)
        .and_then(|n| n.checked_add(CHECK_LEN))
        .ok_or("its length is impossible")?;
    if len > bytes.len() {
        return Err(format!(
            "cut short: it says {len} bytes, {} follow",
            bytes.len()
        ));
    }
    let (covered, sum) = bytes[..len].split_at(len - CHECK_LEN);
    if check(covered) != sum {
        return Err("its checksum does not match".to_owned());
    }
    let from = be32(&bytes[4..]);
    let to = be32(&bytes[8..]);
    let mut r = Reader {
        bytes: &covered[ENTRY_HEAD..],
    };
    let soa = r.record()?;
    let mut steps = Vec::new();
    for _ in 0..r.u32()? {
        let from = r.u32()?;
        let to = r.u32()?;
        let mut lists = [Vec::new(), Vec::new()];
        for list in &mut lists {
            for _ in 0..r.u32()? {
                list.push(r.record()?);
            }
        }
        let [removed, added] = lists;
        steps.push(Step {
            from,
            to,
            removed,
            added,
        });
    }
    if !r.bytes.is_empty() {
        return Err(format!("{} bytes after its last step", r.bytes.len()));
    }
    Ok((
        Entry {
            from,
            to,
            soa,
            steps,
        },
        len,
    ))
}

/// Reads an entry's body, front to back.
struct Reader<'a> {
    /// What is left to read.
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err("its body is cut short".to_owned());
        }
        let (out, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(out)
    }

    /// The next u16.
    fn u16(&mut self) -> Result<u16, String> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// The next u32.
    fn u32(&mut self) -> Result<u32, String> {
        self.take(4).map(be32)
    }

    /// The next record.
    fn record(&mut self) -> Result<OwnedRecord, String> {
        let n = usize::from(self.u16()?);
        let owner = self.take(n)?.into();
        let rtype = Rtype(self.u16()?);
        let ttl = self.u32()?;
        let n = usize::from(self.u16()?);
        let rdata = self.take(n)?.into();
        Ok(OwnedRecord {
            owner,
            rtype,
            ttl,
            rdata,
        })
    }
}

/// Why a journal was not replayed onto its copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The journal follows another version of the copy (it was left over
    /// when the copy was rewritten): the copy alone is the newest.
    OtherBase {
        /// The journal's base serial.
        base: u32,
        /// The copy's serial.
        copy: u32,
    },
    /// An entry does not start where the one before ended.
    BrokenChain {
        /// Which entry (from 1).
        entry: usize,
        /// The serial it should start at.
        expected: u32,
        /// The serials it goes from and to.
        found: (u32, u32),
    },
    /// An entry does not apply to the version before it.
    Apply {
        /// Which entry (from 1).
        entry: usize,
        /// Why.
        error: ApplyError,
    },
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::OtherBase { base, copy } => write!(
                f,
                "the journal follows serial {base}, the copy holds serial {copy}"
            ),
            ReplayError::BrokenChain {
                entry,
                expected,
                found: (from, to),
            } => write!(
                f,
                "entry {entry} goes from serial {from} to {to}; it should start at {expected}"
            ),
            ReplayError::Apply { entry, error } => {
                write!(f, "entry {entry} does not apply: {error}")
            }
        }
    }
}

impl std::error::Error for ReplayError {}

/// The zone the copy and the journal's entries make: `copy` itself when
/// there are none.
pub fn replay(copy: &Arc<Zone>, read: &Read) -> Result<Arc<Zone>, ReplayError> {
    if read.base != copy.serial() {
        return Err(ReplayError::OtherBase {
            base: read.base,
            copy: copy.serial(),
        });
    }
    let mut current = Arc::clone(copy);
    for (i, e) in read.entries.iter().enumerate() {
        let chained = e.from == current.serial()
            && serial_newer(e.to, e.from)
            && crate::client::Soa::from_rdata(&e.soa.rdata).is_some_and(|s| s.serial == e.to);
        if !chained {
            return Err(ReplayError::BrokenChain {
                entry: i + 1,
                expected: current.serial(),
                found: (e.from, e.to),
            });
        }
        current = Arc::new(
            apply_steps_patched(&current, &e.steps, &e.soa).map_err(|error| {
                ReplayError::Apply {
                    entry: i + 1,
                    error,
                }
            })?,
        );
    }
    Ok(current)
}

/// Whether a journal of `entries` entries and `journal_bytes` bytes has
/// grown enough, next to a copy of `copy_bytes`, that the copy should be
/// rewritten and the journal emptied: past a quarter of the copy's size
/// or [`MAX_ENTRIES`] entries.
pub fn rewrite_due(journal_bytes: u64, entries: usize, copy_bytes: u64) -> bool {
    journal_bytes > copy_bytes / 4 || entries >= MAX_ENTRIES
}

#[cfg(test)]
mod tests;
