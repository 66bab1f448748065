//! `candor backup DEST` and `candor restore SRC`: copies of the data
//! directory's databases taken while `serve` runs, and their return.
//!
//! A backup directory holds `candor.db` (the store), `status.db` (the
//! status page, when it exists) and `MANIFEST` (when, which build, and the
//! SHA-256 and size of each file). Restore checks all of that before it
//! touches the data directory, and never deletes anything there: with
//! `--force` the files it replaces are moved aside first.

use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use candor_store::{backup_database, check_database, store_schema_version};
use sha2::{Digest, Sha256};

use crate::data::DataArgs;

/// The `last-good-REGION` directories in a data directory.
fn last_good_of_regions(dir: &std::path::Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("last-good-"))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// The databases of a data directory, the store's first (required).
const FILES: [&str; 2] = ["candor.db", "status.db"];

/// The manifest's file name.
const MANIFEST: &str = "MANIFEST";

/// SHA-256 of a file, in hex.
fn sha256(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// Backs up the data directory's databases into `dest`, a new directory.
pub(crate) fn backup(data: &DataArgs, dest: &Path) -> anyhow::Result<ExitCode> {
    let dir = data.dir();
    let store = dir.join(FILES[0]);
    if !store.is_file() {
        bail!(
            "no Candor store at {} (pass --data-dir to name the directory that has it)",
            store.display()
        );
    }
    if dest.exists()
        && std::fs::read_dir(dest)
            .with_context(|| format!("cannot read {}", dest.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty: a backup never overwrites anything",
            dest.display()
        );
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dest)
        .with_context(|| format!("cannot create {}", dest.display()))?;
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut manifest = format!(
        "# Candor backup\ncreated {created}\ncandor {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for name in FILES {
        let src = dir.join(name);
        if !src.is_file() {
            continue;
        }
        let target = dest.join(name);
        let bytes = backup_database(&src, &target)
            .with_context(|| format!("cannot back up {}", src.display()))?;
        let check = check_database(&target)?;
        let _ = writeln!(
            manifest,
            "file {name} {bytes} {} schema {}",
            sha256(&target)?,
            check.schema_version
        );
        eprintln!("{}: {bytes} bytes", target.display());
    }
    let path = dest.join(MANIFEST);
    std::fs::write(&path, manifest).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::fs::File::open(dest)?.sync_all()?;
    eprintln!("backup of {} written to {}", dir.display(), dest.display());
    Ok(ExitCode::SUCCESS)
}

/// One file the manifest lists.
struct Listed {
    /// Its name.
    name: String,
    /// Its size.
    bytes: u64,
    /// Its SHA-256.
    sha256: String,
}

/// Reads a backup's manifest.
fn read_manifest(src: &Path) -> anyhow::Result<Vec<Listed>> {
    let path = src.join(MANIFEST);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is not a Candor backup: no {MANIFEST}", src.display()))?;
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() != Some(&"file") {
            continue;
        }
        let bad = || {
            anyhow::anyhow!(
                "{}:{}: not `file NAME BYTES SHA256 ...`",
                path.display(),
                i + 1
            )
        };
        let name = fields.get(1).ok_or_else(bad)?;
        if !FILES.contains(name) {
            bail!("{}:{}: unknown file {name}", path.display(), i + 1);
        }
        files.push(Listed {
            name: (*name).to_owned(),
            bytes: fields.get(2).and_then(|b| b.parse().ok()).ok_or_else(bad)?,
            sha256: (*fields.get(3).ok_or_else(bad)?).to_owned(),
        });
    }
    if !files.iter().any(|f| f.name == FILES[0]) {
        bail!("{} lists no {}", path.display(), FILES[0]);
    }
    Ok(files)
}

/// Restores a backup into the data directory.
pub(crate) fn restore(data: &DataArgs, src: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let files = read_manifest(src)?;
    // Everything is checked before anything is touched.
    for f in &files {
        let path = src.join(&f.name);
        let check = check_database(&path)
            .with_context(|| format!("{} is unusable: the backup is damaged", path.display()))?;
        if check.bytes != f.bytes || sha256(&path)? != f.sha256 {
            bail!(
                "{} does not match the manifest (size or SHA-256): the backup is damaged",
                path.display()
            );
        }
        if f.name == FILES[0] && check.schema_version > store_schema_version() {
            bail!(
                "{} has schema version {}, newer than this build knows ({}): restore it with \
                 the Candor that made it",
                path.display(),
                check.schema_version,
                store_schema_version()
            );
        }
    }
    let dir = data.dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let present: Vec<PathBuf> = FILES
        .iter()
        .flat_map(|name| ["", "-wal", "-shm"].map(|tail| dir.join(format!("{name}{tail}"))))
        .chain(std::iter::once(dir.join("last-good")))
        .filter(|p| p.exists())
        // The last good copies of regional servers' views (`serve --region`).
        .chain(last_good_of_regions(&dir))
        .collect();
    if !present.is_empty() {
        if !force {
            bail!(
                "{} already holds Candor data ({}); stop the server and pass --force to move it \
                 aside (nothing is deleted)",
                dir.display(),
                present[0].display()
            );
        }
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = dir.join(format!("before-restore-{seconds}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&aside)
            .with_context(|| format!("cannot create {}", aside.display()))?;
        for p in &present {
            let name = p.file_name().map(PathBuf::from).unwrap_or_default();
            std::fs::rename(p, aside.join(&name))
                .with_context(|| format!("cannot move {} aside", p.display()))?;
        }
        eprintln!("moved the data it replaces to {}", aside.display());
    }
    for f in &files {
        let from = src.join(&f.name);
        let temporary = dir.join(format!(".{}.restoring", f.name));
        std::fs::copy(&from, &temporary)
            .with_context(|| format!("cannot copy {}", from.display()))?;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, dir.join(&f.name))?;
    }
    std::fs::File::open(&dir)?.sync_all()?;
    eprintln!(
        "restored {} into {}; start `candor serve --data-dir {}`",
        src.display(),
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
