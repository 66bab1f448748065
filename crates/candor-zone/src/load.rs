//! Loading zones from RFC 1035 zone files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candor_wire::{Class, Name};
use candor_zonefile::{ParseOptions, ZoneFileError, parse_bytes, parse_file};

use crate::build::{ZoneBuilder, ZoneError, ZoneErrorKind};
use crate::zone::Zone;

/// Errors are reported up to this many per file.
const MAX_ERRORS: usize = 100;

/// Reads, validates and compiles one zone file. Every problem found is
/// returned, each with its file and line.
pub fn load_zone_file(path: &Path, origin: &Name) -> Result<Zone, Vec<ZoneError>> {
    let opts = parse_options(origin, IncludePolicy::Allow);
    compile(path, origin, |builder| {
        parse_file(path, &opts, &mut |r| {
            builder.add(r.owner, r.rtype, r.ttl, r.rdata, Some((r.file, r.line)));
        })
    })
}

/// Compiles zone-file text that did not come from a file of its own (an
/// upload, a test); `source` names it in errors. `$INCLUDE` is refused:
/// text from elsewhere must not read local files.
pub fn load_zone_text(text: &[u8], source: &Path, origin: &Name) -> Result<Zone, Vec<ZoneError>> {
    let opts = parse_options(origin, IncludePolicy::Refuse);
    compile(source, origin, |builder| {
        parse_bytes(text, source, &opts, &mut |r| {
            builder.add(r.owner, r.rtype, r.ttl, r.rdata, Some((r.file, r.line)));
        })
    })
}

/// Whether `$INCLUDE` may read files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IncludePolicy {
    /// Allowed (zone files on the server's own disk).
    Allow,
    /// Refused (text from clients).
    Refuse,
}

/// Parser settings for a zone.
fn parse_options(origin: &Name, include: IncludePolicy) -> ParseOptions {
    ParseOptions {
        origin: origin.clone(),
        default_class: Class::IN,
        allow_include: include == IncludePolicy::Allow,
        max_errors: MAX_ERRORS,
        regions: false,
    }
}

/// Runs a parser into a fresh builder and compiles the result, merging
/// parse errors and zone errors.
fn compile(
    source: &Path,
    origin: &Name,
    parse: impl FnOnce(&mut ZoneBuilder) -> Result<(), Vec<ZoneFileError>>,
) -> Result<Zone, Vec<ZoneError>> {
    let mut builder = ZoneBuilder::new(origin);
    builder.set_main_source(source);
    let parse_errors: Vec<ZoneError> = match parse(&mut builder) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| ZoneError {
                file: Some(e.file),
                line: e.line,
                kind: ZoneErrorKind::File,
                message: e.message,
            })
            .collect(),
    };
    match builder.finish() {
        Ok(zone) if parse_errors.is_empty() => Ok(zone),
        Ok(_) => Err(parse_errors),
        Err(mut zone_errors) => {
            let mut all = parse_errors;
            all.append(&mut zone_errors);
            Err(all)
        }
    }
}

/// What loading a directory of zone files produced.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Zones that loaded.
    pub zones: Vec<Arc<Zone>>,
    /// Files that did not, with their problems.
    pub failed: Vec<(PathBuf, Vec<ZoneError>)>,
}

/// Loads every `<origin>.zone` file in `dir` (origin = file name without
/// `.zone`). A broken file is reported and skipped; the others still load.
pub fn load_zone_dir(dir: &Path) -> std::io::Result<LoadReport> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zone") && p.is_file())
        .collect();
    files.sort();
    let mut report = LoadReport::default();
    for path in files {
        let origin = match origin_from_path(&path) {
            Ok(o) => o,
            Err(e) => {
                report.failed.push((path, vec![e]));
                continue;
            }
        };
        match load_zone_file(&path, &origin) {
            Ok(zone) => report.zones.push(Arc::new(zone)),
            Err(errors) => report.failed.push((path, errors)),
        }
    }
    Ok(report)
}

/// The origin named by a zone file's name: `example.com.zone` → `example.com.`.
pub fn origin_from_path(path: &Path) -> Result<Name, ZoneError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let text = if stem.ends_with('.') {
        stem.to_owned()
    } else {
        format!("{stem}.")
    };
    Name::from_text(&text, None).map_err(|e| ZoneError {
        file: Some(path.to_owned()),
        line: 0,
        kind: ZoneErrorKind::File,
        message: format!("file name does not give a valid zone name: {e}"),
    })
}
