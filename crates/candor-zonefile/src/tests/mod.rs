//! Data-driven tests: zone text in, records rendered as
//! `owner ttl class type rdata` (then errors as `file:line: message`) out.

mod fuzz;
mod rdata;
mod zone;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use candor_wire::{Class, Name, Rtype};

use crate::{ParseOptions, Record, parse_bytes, rdata_from_text, rdata_to_text, validate_rdata};

/// The origin all tests use.
fn origin() -> Name {
    name("example.com.")
}

/// A name from text that is known to be good.
fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap_or_else(|err| panic!("bad test name {text}: {err}"))
}

/// Options with `$INCLUDE` allowed.
fn options() -> ParseOptions {
    ParseOptions {
        allow_include: true,
        ..ParseOptions::new(origin())
    }
}

/// Checks the invariants every parsed record must meet: its RDATA
/// validates, and formatting then reading it again gives the same bytes.
#[track_caller]
fn check_record(record: &Record<'_>) {
    let text = rdata_to_text(record.rtype, record.rdata);
    if let Err(err) = validate_rdata(record.rtype, record.rdata) {
        panic!(
            "parsed {} RDATA does not validate: {err} ({text})",
            record.rtype
        );
    }
    match rdata_from_text(record.rtype, &text, &Name::root()) {
        Ok(wire) => assert_eq!(
            wire, record.rdata,
            "{} {text} does not round-trip",
            record.rtype
        ),
        Err(err) => panic!("{} {text} does not read back: {err}", record.rtype),
    }
}

/// Parses `text` and renders the records and then the errors, one a line.
fn render(text: &[u8], opts: &ParseOptions) -> String {
    let mut out = String::new();
    let result = parse_bytes(text, Path::new("test.zone"), opts, &mut |record| {
        check_record(&record);
        let rdata = rdata_to_text(record.rtype, record.rdata);
        let (owner, ttl, class, rtype) = (record.owner, record.ttl, record.class, record.rtype);
        let _ = writeln!(out, "{owner} {ttl} {class} {rtype} {rdata}");
    });
    for err in result.err().unwrap_or_default() {
        let _ = writeln!(out, "{err}");
    }
    out
}

/// Removes the indentation and blank lines of an expected text.
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

/// Removes the indentation that Rust string literals give zone text: the
/// smallest run of leading spaces over the lines after the first (the first
/// starts right after the quote). Lines indented further keep the rest, so
/// they have a blank owner.
fn unindent(text: &str) -> String {
    let indent = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let lines: Vec<&str> = text.split('\n').collect();
    let rest = lines.get(1..).unwrap_or_default();
    let min = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(line.get(min.min(indent(line))..).unwrap_or_default());
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Parses `zone` (origin `example.com.`, `$INCLUDE` allowed) and compares
/// the rendering with `expect`.
#[track_caller]
fn check(zone: &str, expect: &str) {
    check_with(zone, &options(), expect);
}

/// Like [`check`] with other options.
#[track_caller]
fn check_with(zone: &str, opts: &ParseOptions, expect: &str) {
    let actual = dedent(&render(unindent(zone).as_bytes(), opts));
    let expect = dedent(expect);
    assert!(
        actual == expect,
        "\n--- expected\n{expect}\n--- actual\n{actual}\n"
    );
}

/// A fresh path in the temporary directory for this test run.
fn temp_path(tag: &str) -> std::path::PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("candor-zonefile-{}-{n}-{tag}", std::process::id()))
}

/// Reads RDATA text of `rtype` and formats it again.
fn reformat(rtype: Rtype, text: &str) -> Result<String, String> {
    let wire = rdata_from_text(rtype, text, &origin())?;
    if let Err(err) = validate_rdata(rtype, &wire) {
        panic!("{rtype} {text} reads to RDATA that does not validate: {err}");
    }
    let formatted = rdata_to_text(rtype, &wire);
    let again = rdata_from_text(rtype, &formatted, &Name::root());
    assert_eq!(
        again.as_ref(),
        Ok(&wire),
        "{rtype} {formatted} does not round-trip"
    );
    Ok(formatted)
}

/// Every class the tests use is IN unless they say otherwise.
#[test]
fn options_default_to_class_in() {
    let opts = ParseOptions::new(origin());
    assert_eq!(opts.default_class, Class::IN);
    assert!(!opts.allow_include);
}
