//! Last-known-good copies of served zones, one file per zone.
//!
//! A copy is an RFC 1035 zone file holding exactly the records the zone
//! served (URL records already turned into the redirector's addresses,
//! ALIAS and POOL as their private types), every one in the RFC 3597
//! generic form (`TYPEnnn \# len hex`) with an absolute owner name. The
//! generic form is on purpose: reading a copy back needs only the generic
//! RDATA parser and `ZoneBuilder`, not the per-type text conversions that
//! an upgrade might have broken; and it stays readable by any RFC 3597
//! tool (`candor zone check` included).
//!
//! Files are written to a temporary name, synced and renamed, so a crash
//! leaves either the old copy or the new one; they are private (0600 in a
//! 0700 directory), like the store.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use candor_wire::Name;
use candor_zone::{Zone, load_zone_text};

/// The copy of zone `id` in `dir`.
fn path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("zone-{id}.zone"))
}

/// Writes `zone` as the last-known-good copy of store zone `id` (named
/// `name`), replacing the previous copy atomically.
pub fn write_last_good(dir: &Path, id: i64, name: &str, zone: &Zone) -> std::io::Result<()> {
    let comment = format!(
        "Candor's last known good copy of zone {name} (store id {id}), serial {}.\n\
         ; Served if the stored zone stops compiling; every record in RFC 3597 form.",
        zone.serial()
    );
    write_zone_copy(dir, &format!("zone-{id}.zone"), &comment, zone)
}

/// Writes `zone` to `dir/file_name` (the directory is made private if
/// new) in the form of a last-known-good copy, after a `; comment` line,
/// replacing the previous file atomically. Also used for the zones Candor
/// receives as a secondary.
pub fn write_zone_copy(
    dir: &Path,
    file_name: &str,
    comment: &str,
    zone: &Zone,
) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = zone.apex().to_string();
    // Written through a buffer rather than made as one string first: a
    // signed zone of a million names is ~3,000,000 records and 634 MB of
    // text, which held whole nearly doubled the memory the zone itself
    // takes, just after it was signed (the server's peak).
    write_private_file_with(dir, file_name, |file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        writeln!(out, "; {comment}")?;
        let mut last_owner: &[u8] = &[];
        let mut owner_text = String::new();
        let mut line = String::new();
        for r in zone.records() {
            if r.owner != last_owner {
                last_owner = r.owner;
                owner_text = Name::from_wire(r.owner)
                    .map(|n| n.to_string())
                    .map_err(|e| {
                        std::io::Error::other(format!("owner name in zone {name}: {e}"))
                    })?;
            }
            line.clear();
            let _ = write!(
                line,
                "{owner_text} {} IN TYPE{} \\# {}",
                r.ttl,
                r.rtype.0,
                r.rdata.len()
            );
            if !r.rdata.is_empty() {
                line.push(' ');
                for b in r.rdata {
                    let _ = write!(line, "{b:02x}");
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        out.flush()
    })
}

/// Replaces `dir/file_name` with `bytes` atomically and durably: written
/// to a temporary file beside it (0600), synced, renamed over it, and the
/// directory synced, so a crash leaves the old file or the new one.
pub fn write_private_file(dir: &Path, file_name: &str, bytes: &[u8]) -> std::io::Result<()> {
    write_private_file_with(dir, file_name, |file| file.write_all(bytes))
}

/// [`write_private_file`] with the contents written by `write` into the
/// temporary file, for contents too large to hold in memory first.
fn write_private_file_with(
    dir: &Path,
    file_name: &str,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let final_path = dir.join(file_name);
    let temporary = dir.join(format!(".{file_name}.tmp"));
    {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        if let Err(e) = write(&mut file) {
            // Not left behind half written.
            drop(file);
            let _ = fs::remove_file(&temporary);
            return Err(e);
        }
        file.sync_all()?;
    }
    fs::rename(&temporary, &final_path)?;
    // The rename itself is durable once the directory is synced.
    fs::File::open(dir)?.sync_all()
}

/// Reads the last-known-good copy of store zone `id`, whose apex must be
/// `apex`. The error says why there is no usable copy.
pub fn read_last_good(dir: &Path, id: i64, apex: &Name) -> Result<Zone, String> {
    read_zone_copy(&path(dir, id), apex)
}

/// Reads a zone file written by [`write_zone_copy`], whose apex must be
/// `apex`. The error says why it is not usable.
pub fn read_zone_copy(file: &Path, apex: &Name) -> Result<Zone, String> {
    let text = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    load_zone_text(&text, file, apex).map_err(|errors| {
        let shown: Vec<String> = errors.iter().take(3).map(|e| e.to_string()).collect();
        format!("{} does not load: {}", file.display(), shown.join("; "))
    })
}

/// Removes the copy of a deleted zone (a missing file is fine).
pub(crate) fn remove(dir: &Path, id: i64) {
    let file = path(dir, id);
    match fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("cannot remove {}: {e}", file.display()),
    }
}
