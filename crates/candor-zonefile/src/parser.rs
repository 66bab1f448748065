//! The master-file reader: directives, owner names, TTL and class
//! defaults, and `$INCLUDE`.
//!
//! TTL defaults, in order: the record's own TTL, then `$TTL` (RFC 2308),
//! then the last TTL written on an earlier record (RFC 1035 §5.1), then the
//! SOA minimum once the SOA has been read (as BIND and Knot do), else an
//! error. `$INCLUDE` starts the included file with the including file's
//! origin (or the one given) and no previous owner; afterwards the
//! including file's origin and owner are as before, while `$TTL` and the
//! TTL defaults carry over.

use std::path::{Path, PathBuf};

use candor_wire::{Class, Name, Rtype};

use crate::lexer::{Cursor, Entry, Lexer, Tok};
use crate::text::{self, show};
use crate::{ParseOptions, Record, ZoneFileError, rdata};

/// How deep `$INCLUDE` may nest; this also stops files that include
/// themselves.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Parses `text` from `path`; `dir` is where `$INCLUDE` paths are relative
/// to (`None`: the current directory).
pub(crate) fn parse(
    text: &[u8],
    path: &Path,
    dir: Option<&Path>,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record<'_>),
) -> Result<(), Vec<ZoneFileError>> {
    let mut parser = Parser {
        opts,
        sink,
        errors: Vec::new(),
        dollar_ttl: None,
        last_ttl: None,
        soa_minimum: None,
        rdata: Vec::with_capacity(512),
        scratch: Vec::with_capacity(256),
    };
    let mut frame = Frame {
        path,
        dir,
        depth: 0,
        origin: opts.origin.clone(),
        owner: Owner::None,
        owner_text: Vec::with_capacity(64),
    };
    parser.run(text, &mut frame);
    if parser.errors.is_empty() {
        Ok(())
    } else {
        Err(parser.errors)
    }
}

/// The message for a file that cannot be read.
pub(crate) fn read_error(path: &Path, err: &std::io::Error) -> String {
    format!("cannot read \"{}\": {err}", path.display())
}

/// The owner that a line with a blank owner field refers to.
enum Owner {
    /// No record yet in this file.
    None,
    /// The last owner field could not be read (already reported); records
    /// that refer to it are skipped silently.
    Bad,
    /// The last owner.
    Known(Name),
}

/// The state of one file (the top file or an included one).
struct Frame<'f> {
    /// The file's path, for errors and records.
    path: &'f Path,
    /// Where this file's `$INCLUDE` paths are relative to.
    dir: Option<&'f Path>,
    /// How many `$INCLUDE`s deep this file is.
    depth: usize,
    /// The current `$ORIGIN`.
    origin: Name,
    /// The previous owner.
    owner: Owner,
    /// The owner field that gave `owner` under the current origin (empty if
    /// none): the same text again reuses the same name.
    owner_text: Vec<u8>,
}

/// The state shared by all files of one parse.
struct Parser<'o, 's> {
    /// The caller's options.
    opts: &'o ParseOptions,
    /// Where records go.
    sink: &'s mut dyn FnMut(Record<'_>),
    /// The errors so far.
    errors: Vec<ZoneFileError>,
    /// The `$TTL` value, if one was given.
    dollar_ttl: Option<u32>,
    /// The last TTL written on a record.
    last_ttl: Option<u32>,
    /// The minimum field of the last SOA.
    soa_minimum: Option<u32>,
    /// The RDATA of the current record.
    rdata: Vec<u8>,
    /// Wire form of a name being read.
    scratch: Vec<u8>,
}

/// An error in an entry: the line and the message.
type EntryError = (u32, String);

impl Parser<'_, '_> {
    /// Parses the text of one file.
    fn run(&mut self, src: &[u8], frame: &mut Frame<'_>) {
        let mut lexer = Lexer::new(src).read_regions(self.opts.regions);
        let mut entry = Entry::default();
        while !self.full()
            && let Some(result) = lexer.next_entry(&mut entry)
        {
            let outcome = match result {
                Ok(()) => self.entry(src, &entry, frame),
                Err(err) => Err((err.line, err.message.to_owned())),
            };
            if let Err((line, message)) = outcome {
                self.error(frame.path, line, message);
            }
        }
    }

    /// Whether the error limit has been reached.
    fn full(&self) -> bool {
        self.errors.len() >= self.opts.max_errors.max(1)
    }

    /// Records an error.
    fn error(&mut self, file: &Path, line: u32, message: String) {
        if !self.full() {
            self.errors.push(ZoneFileError {
                file: file.to_owned(),
                line,
                message,
            });
        }
    }

    /// Handles one entry: a directive or a record.
    fn entry(
        &mut self,
        src: &[u8],
        entry: &Entry,
        frame: &mut Frame<'_>,
    ) -> Result<(), EntryError> {
        let mut cur = Cursor::new(src, &entry.tokens, entry.line);
        if !entry.blank_owner {
            let Some(first) = cur.next() else {
                return Ok(());
            };
            if !first.quoted && first.text.first() == Some(&b'$') {
                if entry.regions.is_some() {
                    return Err((entry.line, "a ;@regions line must hold a record".to_owned()));
                }
                return self
                    .directive(first, &mut cur, frame)
                    .map_err(|m| (cur.line(), m));
            }
            self.set_owner(first, frame).map_err(|m| (entry.line, m))?;
        }
        let owner = match &frame.owner {
            Owner::Known(name) => name,
            Owner::Bad => return Ok(()),
            Owner::None => {
                return Err((entry.line, "blank owner and no previous owner".to_owned()));
            }
        };

        let zone_class = self.opts.default_class;
        let mut ttl = None;
        let mut class = None;
        let type_tok = loop {
            let tok = cur
                .next()
                .ok_or_else(|| (cur.line(), "missing record type".to_owned()))?;
            if ttl.is_none() && tok.text.first().is_some_and(u8::is_ascii_digit) {
                ttl = Some(text::parse_ttl(tok.text).map_err(|m| (cur.line(), m))?);
                continue;
            }
            if class.is_none()
                && let Some(c) = parse_class(tok.text)
            {
                if c != zone_class {
                    let message = format!("class {c} does not match the zone class {zone_class}");
                    return Err((cur.line(), message));
                }
                class = Some(c);
                continue;
            }
            break tok;
        };
        let rtype = parse_type(type_tok.text).ok_or_else(|| {
            (
                cur.line(),
                format!("unknown record type \"{}\"", show(type_tok.text)),
            )
        })?;

        self.rdata.clear();
        rdata::encode(rtype, &mut cur, &frame.origin, &mut self.rdata)
            .map_err(|m| (cur.line(), m))?;
        if rtype == Rtype::SOA
            && let Some(&[a, b, c, d]) = self.rdata.last_chunk::<4>()
        {
            self.soa_minimum = Some(u32::from_be_bytes([a, b, c, d]).min(text::MAX_TTL));
        }
        let ttl = match ttl {
            Some(ttl) => {
                self.last_ttl = Some(ttl);
                ttl
            }
            None => self
                .dollar_ttl
                .or(self.last_ttl)
                .or(self.soa_minimum)
                .ok_or_else(|| (entry.line, "missing TTL and no $TTL set".to_owned()))?,
        };
        let regions = match entry.regions {
            Some((start, end)) => Some(
                std::str::from_utf8(src.get(start..end).unwrap_or_default())
                    .map_err(|_| (entry.line, "the ;@regions list is not text".to_owned()))?,
            ),
            None => None,
        };
        (self.sink)(Record {
            owner,
            class: zone_class,
            ttl,
            rtype,
            rdata: &self.rdata,
            file: frame.path,
            line: entry.line,
            regions,
        });
        Ok(())
    }

    /// Reads an owner field, reusing the previous name if the text is the
    /// same.
    fn set_owner(&mut self, tok: Tok<'_>, frame: &mut Frame<'_>) -> Result<(), String> {
        if matches!(frame.owner, Owner::Known(_)) && frame.owner_text == tok.text {
            return Ok(());
        }
        frame.owner = Owner::Bad;
        frame.owner_text.clear();
        self.scratch.clear();
        let name = text::name_to_wire(tok.text, &frame.origin, &mut self.scratch)
            .and_then(|()| Name::from_wire(&self.scratch))
            .map_err(|err| format!("bad owner name \"{}\": {err}", show(tok.text)))?;
        frame.owner = Owner::Known(name);
        frame.owner_text.extend_from_slice(tok.text);
        Ok(())
    }

    /// Runs a `$` directive.
    fn directive(
        &mut self,
        word: Tok<'_>,
        cur: &mut Cursor<'_>,
        frame: &mut Frame<'_>,
    ) -> Result<(), String> {
        let word = word.text;
        if word.eq_ignore_ascii_case(b"$ORIGIN") {
            let tok = cur.required("name after $ORIGIN")?;
            self.scratch.clear();
            let origin = text::name_to_wire(tok.text, &frame.origin, &mut self.scratch)
                .and_then(|()| Name::from_wire(&self.scratch))
                .map_err(|err| format!("bad $ORIGIN \"{}\": {err}", show(tok.text)))?;
            no_more(cur)?;
            frame.origin = origin;
            frame.owner_text.clear();
            Ok(())
        } else if word.eq_ignore_ascii_case(b"$TTL") {
            let tok = cur.required("TTL after $TTL")?;
            let ttl = text::parse_ttl(tok.text)?;
            no_more(cur)?;
            self.dollar_ttl = Some(ttl);
            Ok(())
        } else if word.eq_ignore_ascii_case(b"$INCLUDE") {
            self.include(cur, frame)
        } else if word.eq_ignore_ascii_case(b"$GENERATE") {
            Err("$GENERATE is not supported".to_owned())
        } else {
            Err(format!("unknown directive \"{}\"", show(word)))
        }
    }

    /// Runs `$INCLUDE file [origin]`.
    fn include(&mut self, cur: &mut Cursor<'_>, frame: &Frame<'_>) -> Result<(), String> {
        let file = cur.required("file name after $INCLUDE")?;
        let origin = cur.next();
        no_more(cur)?;
        if !self.opts.allow_include {
            return Err(
                "$INCLUDE is not allowed in uploaded zone text (PUT .../zones/{zone}/file): \
                 it would read files on the server"
                    .to_owned(),
            );
        }
        if frame.depth >= MAX_INCLUDE_DEPTH {
            return Err(format!(
                "$INCLUDE nesting deeper than {MAX_INCLUDE_DEPTH} levels"
            ));
        }
        let mut raw = Vec::new();
        text::unescape_into(file.text, &mut raw)?;
        let relative = path_from_bytes(raw);
        let path = match frame.dir {
            Some(dir) => dir.join(relative),
            None => relative,
        };
        let origin = match origin {
            Some(tok) => {
                self.scratch.clear();
                text::name_to_wire(tok.text, &frame.origin, &mut self.scratch)
                    .and_then(|()| Name::from_wire(&self.scratch))
                    .map_err(|err| format!("bad $INCLUDE origin \"{}\": {err}", show(tok.text)))?
            }
            None => frame.origin.clone(),
        };
        let text = std::fs::read(&path).map_err(|err| read_error(&path, &err))?;
        let mut child = Frame {
            path: &path,
            dir: path.parent(),
            depth: frame.depth + 1,
            origin,
            owner: Owner::None,
            owner_text: Vec::new(),
        };
        self.run(&text, &mut child);
        Ok(())
    }
}

/// Fails if tokens are left over.
fn no_more(cur: &mut Cursor<'_>) -> Result<(), String> {
    match cur.next() {
        Some(tok) => Err(format!("trailing data \"{}\"", show(tok.text))),
        None => Ok(()),
    }
}

/// Reads a class mnemonic (`IN` first, as it is nearly always that).
fn parse_class(text: &[u8]) -> Option<Class> {
    if text.eq_ignore_ascii_case(b"IN") {
        return Some(Class::IN);
    }
    if !text.first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    Class::from_mnemonic(std::str::from_utf8(text).ok()?)
}

/// Reads a record type mnemonic, the common ones without a table search.
fn parse_type(text: &[u8]) -> Option<Rtype> {
    let common = [
        (&b"A"[..], Rtype::A),
        (b"AAAA", Rtype::AAAA),
        (b"NS", Rtype::NS),
        (b"MX", Rtype::MX),
        (b"CNAME", Rtype::CNAME),
        (b"TXT", Rtype::TXT),
    ];
    for (name, rtype) in common {
        if text.eq_ignore_ascii_case(name) {
            return Some(rtype);
        }
    }
    rdata::parse_rtype(text)
}

/// Turns `$INCLUDE` file name bytes into a path.
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}
