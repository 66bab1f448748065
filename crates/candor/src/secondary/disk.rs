//! What a secondary keeps of each zone in `DATA_DIR/secondary/`: a full
//! copy (`NAME.zone`, the form of `candor_publish::write_zone_copy`) and
//! a journal of the IXFRs applied since (`NAME.zone.journal`, the format
//! of `candor_xfr::copy_journal`), both 0600.
//!
//! - An IXFR appends one entry to the journal and syncs it (a few hundred
//!   bytes for one change); an AXFR, or a journal past its bound
//!   (`copy_journal::rewrite_due`: a quarter of the copy's size or 1,000
//!   entries), rewrites the copy atomically and then starts an empty
//!   journal at its serial.
//! - Loading replays the journal onto the copy. A torn or corrupt tail is
//!   logged and left out (what came before it is served; the next append
//!   cuts it off); a journal of an older copy (a crash between the
//!   copy's rename and the journal's reset) is ignored; a broken serial
//!   chain or an entry that does not apply leaves the copy alone served,
//!   and the zone's next transfer is an AXFR.
//! - When a primary last confirmed the zone is the later modification
//!   time of the two files: every append, rewrite or "up to date" check
//!   sets one of them.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use candor_publish::{read_zone_copy, write_private_file, write_zone_copy};
use candor_wire::Name;
use candor_xfr::client::{Step, soa_record};
use candor_xfr::copy_journal;
use candor_zone::Zone;

/// The file a secondary zone's copy is kept in.
pub(super) fn copy_name(zone: &Name) -> String {
    let text = zone.to_string();
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    match plain {
        true => format!("{text}zone"),
        false => format!("{}.zone", candor_xfr::catalog::member_id(zone)),
    }
}

/// The file a secondary zone's journal is kept in, beside its copy.
pub(super) fn journal_name(zone: &Name) -> String {
    format!("{}.journal", copy_name(zone))
}

/// Removes a zone's copy and journal (a zone gone from its catalog).
pub(super) fn remove(dir: &Path, zone: &Name) {
    for file in [copy_name(zone), journal_name(zone)] {
        let _ = fs::remove_file(dir.join(file));
    }
}

/// What the copy and journal of a zone hold, as its writer knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct OnDisk {
    /// The copy's serial (the journal's base); `None`: no usable copy.
    copy_serial: Option<u32>,
    /// The copy's size in bytes.
    copy_bytes: u64,
    /// The serial the copy and the journal make; `None`: unknown (the
    /// next version is written whole).
    serial: Option<u32>,
    /// The journal's good bytes (header and whole entries); 0: it is
    /// started afresh, at the copy's serial, by the next append.
    journal_bytes: u64,
    /// Its entries.
    entries: usize,
}

/// What a zone's task hands its writer, in the order it held them.
pub(super) enum ToDisk {
    /// A version received whole: the copy is rewritten.
    Full(Arc<Zone>),
    /// A version an IXFR made of the one handed over before it (serial
    /// `from`) with `steps`.
    Diff {
        /// The serial it was made from.
        from: u32,
        /// The new version.
        zone: Arc<Zone>,
        /// The IXFR's steps.
        steps: Arc<[Step]>,
    },
}

impl ToDisk {
    /// The version handed over.
    fn zone(&self) -> &Arc<Zone> {
        match self {
            ToDisk::Full(z) | ToDisk::Diff { zone: z, .. } => z,
        }
    }
}

/// A zone's copy read back, its journal replayed.
pub(super) struct Loaded {
    /// The zone the copy and journal make.
    pub(super) zone: Arc<Zone>,
    /// When a primary last confirmed it (seconds since 1970).
    pub(super) confirmed: u64,
    /// What the files hold, for the zone's writer.
    pub(super) disk: OnDisk,
    /// The journal entries replayed.
    pub(super) replayed: usize,
    /// Whether the journal did not fit the copy: the next transfer is an
    /// AXFR.
    pub(super) axfr_next: bool,
}

/// A file's modification time in seconds since 1970 (0 if unknown).
fn mtime(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Reads the copy of `zone` in `dir` and replays its journal; `None`
/// when there is no copy. Problems with the journal are logged here (the
/// copy alone is then returned); the error says why the copy is not usable.
pub(super) fn load(dir: &Path, zone: &Name) -> Result<Option<Loaded>, String> {
    let file = dir.join(copy_name(zone));
    let meta = match fs::metadata(&file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let copy = Arc::new(read_zone_copy(&file, zone)?);
    let mut loaded = Loaded {
        confirmed: mtime(&meta),
        disk: OnDisk {
            copy_serial: Some(copy.serial()),
            copy_bytes: meta.len(),
            serial: Some(copy.serial()),
            journal_bytes: 0,
            entries: 0,
        },
        zone: copy,
        replayed: 0,
        axfr_next: false,
    };
    let path = dir.join(journal_name(zone));
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(loaded)),
        Err(e) => {
            tracing::error!(%zone, "secondary zone: cannot read {}: {e}; serving the copy alone", path.display());
            return Ok(Some(loaded));
        }
    };
    if let Ok(meta) = fs::metadata(&path) {
        loaded.confirmed = loaded.confirmed.max(mtime(&meta));
    }
    let read = match copy_journal::read(&bytes) {
        Ok(Some(read)) => read,
        Ok(None) => return Ok(Some(loaded)),
        Err(e) => {
            tracing::warn!(%zone, "secondary zone: the journal {} is not usable ({e}); serving the copy alone", path.display());
            return Ok(Some(loaded));
        }
    };
    if let Some(tail) = &read.tail {
        tracing::warn!(
            %zone,
            "secondary zone: the journal {} ends in a torn or corrupt entry, left out ({tail}); \
             serving the {} entries before it",
            path.display(),
            read.entries.len()
        );
    }
    match copy_journal::replay(&loaded.zone, &read) {
        Ok(made) => {
            loaded.disk.serial = Some(made.serial());
            loaded.disk.journal_bytes = read.good_len as u64;
            loaded.disk.entries = read.entries.len();
            loaded.replayed = read.entries.len();
            loaded.zone = made;
        }
        Err(e @ copy_journal::ReplayError::OtherBase { .. }) => {
            tracing::info!(%zone, "secondary zone: the journal is older than the copy ({e}); not replayed");
        }
        Err(e) => {
            tracing::error!(
                %zone,
                "secondary zone: the journal {} does not fit its copy ({e}); serving the copy \
                 alone and asking the primary for the whole zone",
                path.display()
            );
            loaded.axfr_next = true;
        }
    }
    Ok(Some(loaded))
}

/// Writes the versions in `batch` (handed over in this order) for `zone`:
/// appends them to its journal when they are IXFRs from what the disk
/// holds, else (or when they would take the journal past its bound, or
/// the append failed) rewrites the copy with the newest. Blocking (it syncs
/// files); errors are logged, and leave the next version written whole.
pub(super) fn persist(dir: &Path, zone: &Name, disk: &mut OnDisk, batch: &[ToDisk]) {
    let Some(newest) = batch.last().map(ToDisk::zone) else {
        return;
    };
    let started = Instant::now();
    let mut entries = Vec::new();
    let mut serial = disk.serial;
    let mut whole = disk.copy_serial.is_none();
    for item in batch {
        match item {
            ToDisk::Diff {
                from,
                zone: z,
                steps,
            } if serial == Some(*from) => {
                let Some(soa) = soa_record(z) else {
                    whole = true;
                    break;
                };
                entries.push(copy_journal::entry(*from, z.serial(), &soa, steps));
                serial = Some(z.serial());
            }
            _ => {
                whole = true;
                break;
            }
        }
    }
    // Entries that would take the journal past its bound are not written
    // there: the copy is rewritten at once instead.
    let adding: usize = entries.iter().map(Vec::len).sum();
    whole = whole
        || copy_journal::rewrite_due(
            disk.journal_bytes + adding as u64,
            disk.entries + entries.len(),
            disk.copy_bytes,
        );
    if !whole {
        match append(dir, zone, disk, &entries) {
            Ok(bytes) => {
                disk.serial = serial;
                tracing::debug!(
                    %zone,
                    serial = newest.serial(),
                    entries = entries.len(),
                    bytes,
                    journal_bytes = disk.journal_bytes,
                    us = started.elapsed().as_micros() as u64,
                    "secondary zone persisted: journal appended and synced"
                );
                return;
            }
            Err(e) => {
                disk.serial = None;
                tracing::error!(%zone, "cannot append to the secondary zone's journal ({e}); rewriting its copy");
            }
        }
    }
    match rewrite(dir, zone, disk, newest) {
        Ok(()) => tracing::info!(
            %zone,
            serial = newest.serial(),
            copy_bytes = disk.copy_bytes,
            ms = started.elapsed().as_millis() as u64,
            "secondary zone persisted: copy rewritten, journal emptied"
        ),
        Err(e) => {
            disk.serial = None;
            tracing::error!(%zone, "cannot write the secondary zone's copy: {e}");
        }
    }
}

/// Appends `entries` to the journal (started afresh at the copy's serial
/// when it has no good bytes; anything after its good bytes cut off),
/// synced. How many bytes were appended.
fn append(dir: &Path, zone: &Name, disk: &mut OnDisk, entries: &[Vec<u8>]) -> std::io::Result<u64> {
    let path = dir.join(journal_name(zone));
    let fresh = disk.journal_bytes == 0;
    let mut bytes = Vec::new();
    if fresh {
        let base = disk
            .copy_serial
            .ok_or_else(|| std::io::Error::other("there is no copy"))?;
        bytes = copy_journal::header(base);
    }
    for e in entries {
        bytes.extend_from_slice(e);
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)?;
    file.set_len(disk.journal_bytes)?;
    file.seek(SeekFrom::Start(disk.journal_bytes))?;
    file.write_all(&bytes)?;
    file.sync_data()?;
    if fresh {
        sync_dir(dir)?;
    }
    disk.journal_bytes += bytes.len() as u64;
    disk.entries += entries.len();
    Ok(bytes.len() as u64)
}

/// Rewrites the copy with `zone` (atomically), then starts an empty
/// journal at its serial (atomically too).
fn rewrite(dir: &Path, name: &Name, disk: &mut OnDisk, zone: &Zone) -> std::io::Result<()> {
    let comment = format!(
        "Zone {name} as received by Candor from its primary, serial {}; the IXFRs \
         applied since are in {}.",
        zone.serial(),
        journal_name(name)
    );
    let copy = copy_name(name);
    write_zone_copy(dir, &copy, &comment, zone)?;
    let copy_bytes = fs::metadata(dir.join(&copy))?.len();
    *disk = OnDisk {
        copy_serial: Some(zone.serial()),
        copy_bytes,
        serial: Some(zone.serial()),
        journal_bytes: 0,
        entries: 0,
    };
    let header = copy_journal::header(zone.serial());
    write_private_file(dir, &journal_name(name), &header)?;
    disk.journal_bytes = header.len() as u64;
    Ok(())
}

/// Makes renames and new files in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Sets the modification time of a zone's journal (or of its copy, when
/// it has none yet) to now: a primary confirmed the zone.
pub(super) fn touch(dir: &Path, zone: &Name) {
    let journal = dir.join(journal_name(zone));
    let file = match journal.exists() {
        true => journal,
        false => dir.join(copy_name(zone)),
    };
    let result = fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = result {
        tracing::debug!(file = %file.display(), "cannot touch the copy: {e}");
    }
}

#[cfg(test)]
mod tests;
