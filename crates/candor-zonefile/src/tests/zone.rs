//! Master-file syntax: directives, owners, TTLs, classes, parentheses,
//! comments, `$INCLUDE`, and error reporting.

use std::path::Path;

use super::{check, check_with, options, temp_path};
use crate::{ParseOptions, parse_bytes, parse_file};

#[test]
fn basic_zone() {
    check(
        "$ORIGIN example.com.
         $TTL 3600
         @   IN  SOA ns1 hostmaster ( 2024010101 ; serial
                     7200       ; refresh
                     3600 1209600
                     300 )
             IN  NS  ns1
             IN  NS  ns2.example.net.
         ns1 IN  A   192.0.2.1
         www 300 IN A 192.0.2.2
             IN  AAAA 2001:db8::1
         mail    MX  10 www
         Example.COM. TXT \"mixed case owner\"
        ",
        "example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300
         example.com. 3600 IN NS ns1.example.com.
         example.com. 3600 IN NS ns2.example.net.
         ns1.example.com. 3600 IN A 192.0.2.1
         www.example.com. 300 IN A 192.0.2.2
         www.example.com. 3600 IN AAAA 2001:db8::1
         mail.example.com. 3600 IN MX 10 www.example.com.
         Example.COM. 3600 IN TXT \"mixed case owner\"",
    );
}

#[test]
fn ttl_and_class_in_either_order() {
    check(
        "a 300 IN A 192.0.2.1
         b IN 300 A 192.0.2.2
         c IN A 192.0.2.3
         d 1h30m A 192.0.2.4
         e 2d IN A 192.0.2.5
         f 1W A 192.0.2.6
         g 1h30 A 192.0.2.7
         h 2147483647 A 192.0.2.8",
        "a.example.com. 300 IN A 192.0.2.1
         b.example.com. 300 IN A 192.0.2.2
         c.example.com. 300 IN A 192.0.2.3
         d.example.com. 5400 IN A 192.0.2.4
         e.example.com. 172800 IN A 192.0.2.5
         f.example.com. 604800 IN A 192.0.2.6
         g.example.com. 3630 IN A 192.0.2.7
         h.example.com. 2147483647 IN A 192.0.2.8",
    );
}

#[test]
fn ttl_defaults() {
    // Without $TTL, a record takes the last TTL written (RFC 1035 §5.1).
    check(
        "a 60 A 192.0.2.1
         b A 192.0.2.2
         $TTL 1d
         c A 192.0.2.3
         d 5 A 192.0.2.4
         e A 192.0.2.5",
        "a.example.com. 60 IN A 192.0.2.1
         b.example.com. 60 IN A 192.0.2.2
         c.example.com. 86400 IN A 192.0.2.3
         d.example.com. 5 IN A 192.0.2.4
         e.example.com. 86400 IN A 192.0.2.5",
    );
    // Without either, the SOA minimum (BIND and Knot), SOA included.
    check(
        "@ SOA ns hm 1 1h 15m 1w 1d
         a A 192.0.2.1",
        "example.com. 86400 IN SOA ns.example.com. hm.example.com. 1 3600 900 604800 86400
         a.example.com. 86400 IN A 192.0.2.1",
    );
    check(
        "a A 192.0.2.1
         b 10 A 192.0.2.2",
        "b.example.com. 10 IN A 192.0.2.2
         test.zone:1: missing TTL and no $TTL set",
    );
}

#[test]
fn owners() {
    check(
        "$TTL 60
         @ A 192.0.2.1
         \tA 192.0.2.2
         sub A 192.0.2.3
         abs.example.org. A 192.0.2.4
         a\\.b A 192.0.2.5
         \\065\\066c A 192.0.2.6
         back\\\\slash A 192.0.2.7
         *.wild A 192.0.2.8
         . A 192.0.2.9
         sp\\032ace A 192.0.2.10",
        "example.com. 60 IN A 192.0.2.1
         example.com. 60 IN A 192.0.2.2
         sub.example.com. 60 IN A 192.0.2.3
         abs.example.org. 60 IN A 192.0.2.4
         a\\.b.example.com. 60 IN A 192.0.2.5
         ABc.example.com. 60 IN A 192.0.2.6
         back\\\\slash.example.com. 60 IN A 192.0.2.7
         *.wild.example.com. 60 IN A 192.0.2.8
         . 60 IN A 192.0.2.9
         sp\\032ace.example.com. 60 IN A 192.0.2.10",
    );
}

#[test]
fn blank_owner_needs_a_previous_owner() {
    check(
        "$TTL 60
          A 192.0.2.1
         a A 192.0.2.2
          A 192.0.2.3",
        "a.example.com. 60 IN A 192.0.2.2
         a.example.com. 60 IN A 192.0.2.3
         test.zone:2: blank owner and no previous owner",
    );
}

#[test]
fn origin_changes() {
    check(
        "$TTL 60
         a A 192.0.2.1
         $ORIGIN sub.example.com.
         a A 192.0.2.2
         @ A 192.0.2.3
         $ORIGIN deeper
         a A 192.0.2.4
         $ORIGIN .
         tld A 192.0.2.5",
        "a.example.com. 60 IN A 192.0.2.1
         a.sub.example.com. 60 IN A 192.0.2.2
         sub.example.com. 60 IN A 192.0.2.3
         a.deeper.sub.example.com. 60 IN A 192.0.2.4
         tld. 60 IN A 192.0.2.5",
    );
}

#[test]
fn same_owner_text_under_a_new_origin_is_a_new_name() {
    check(
        "$TTL 60
         www A 192.0.2.1
         $ORIGIN example.net.
         www A 192.0.2.2",
        "www.example.com. 60 IN A 192.0.2.1
         www.example.net. 60 IN A 192.0.2.2",
    );
}

#[test]
fn parentheses_comments_and_line_endings() {
    check(
        "$TTL 60\r\n\
         ; a comment line\r\n\
         \r\n\
         a (\tA ; comment inside\r\n\
         \t192.0.2.1 )\r\n\
         b TXT ( \"one;not a comment\" ; a comment\n\
               \"two (not a paren)\" )\n\
         c TXT \"x\" ; trailing comment\n\
         d\t\tIN\tA\t192.0.2.2\n\
         e A 192.0.2.3",
        "a.example.com. 60 IN A 192.0.2.1
         b.example.com. 60 IN TXT \"one;not a comment\" \"two (not a paren)\"
         c.example.com. 60 IN TXT \"x\"
         d.example.com. 60 IN A 192.0.2.2
         e.example.com. 60 IN A 192.0.2.3",
    );
}

#[test]
fn record_lines_are_where_records_start() {
    let zone = "$TTL 60\n\n; comment\nmulti SOA ns hm (\n 1 2 3\n 4 5 )\nnext A 192.0.2.1\n  A 192.0.2.2\n";
    let mut lines = Vec::new();
    let result = parse_bytes(zone.as_bytes(), Path::new("t"), &options(), &mut |r| {
        lines.push((r.owner.to_string(), r.line, r.file.to_owned()));
    });
    assert_eq!(result, Ok(()));
    let lines: Vec<_> = lines.iter().map(|(o, l, _)| format!("{o}:{l}")).collect();
    assert_eq!(
        lines,
        [
            "multi.example.com.:4",
            "next.example.com.:7",
            "next.example.com.:8"
        ]
    );
}

#[test]
fn generic_rdata() {
    check(
        "$TTL 60
         a TYPE65534 \\# 3 abcdef
         b A \\# 4 0a000001
         c TYPE1 \\# 4 0A00 0002
         d TYPE65534 \\# 0
         e CNAME \\# 17 03777777076578616d706c65 03636f6d 00
         f A \\# 3 0a0000
         g A \\# 4 0a00000102
         h TYPE65534 \\# 2 abc
         i TYPE65534 \\# x 00
         j NS \\# 2 0141",
        "a.example.com. 60 IN TYPE65534 \\# 3 ABCDEF
         b.example.com. 60 IN A 10.0.0.1
         c.example.com. 60 IN A 10.0.0.2
         d.example.com. 60 IN TYPE65534 \\# 0
         e.example.com. 60 IN CNAME www.example.com.
         test.zone:7: A RDATA ends before the IPv4 address
         test.zone:8: \\# RDATA has 5 bytes but its length says 4
         test.zone:9: odd number of hex digits in \\# RDATA
         test.zone:10: bad \\# RDATA length \"x\"
         test.zone:11: NS RDATA has a bad name server",
    );
}

#[test]
fn errors_are_all_reported_with_positions() {
    check(
        "$TTL 60
         a A 1.2.3
         b AAA 192.0.2.1
         c A 192.0.2.1
         d CH A 192.0.2.1
         e 4294967296 A 192.0.2.1
         f ANY \\# 0
         g MX 10
         h MX x y
         i SOA ns hm 1 2 3 4 (
             5 6 )
         j A 192.0.2.1 extra
         k TXT \"unterminated
         l A 192.0.2.9
         m ) A 192.0.2.1
         n 1x A 192.0.2.1
         o..p A 192.0.2.1
         $BOGUS
         $GENERATE 1-10 a$ A 192.0.2.$",
        "c.example.com. 60 IN A 192.0.2.1
         l.example.com. 60 IN A 192.0.2.9
         test.zone:2: bad IPv4 address \"1.2.3\"
         test.zone:3: unknown record type \"AAA\"
         test.zone:5: class CH does not match the zone class IN
         test.zone:6: TTL \"4294967296\" out of range (maximum 2147483647)
         test.zone:7: class ANY does not match the zone class IN
         test.zone:8: missing exchange
         test.zone:9: bad preference \"x\"
         test.zone:11: trailing data \"6\"
         test.zone:12: trailing data \"extra\"
         test.zone:13: unterminated quoted string
         test.zone:15: unbalanced parentheses
         test.zone:16: bad TTL \"1x\"
         test.zone:17: bad owner name \"o..p\": empty label
         test.zone:18: unknown directive \"$BOGUS\"
         test.zone:19: $GENERATE is not supported",
    );
}

#[test]
fn meta_types_and_unsupported_text() {
    check(
        "$TTL 60
         a IN ANY \\# 0
         b OPT \\# 0
         c AXFR \\# 0
         d TYPE65534 abc
         e TYPE11 192.0.2.1 6 25
         f EUI48 00-00-5e-00-53-2a
         f EUI64 00-00-5e-ef-10-00-00-2a",
        "f.example.com. 60 IN EUI48 00-00-5e-00-53-2a
         f.example.com. 60 IN EUI64 00-00-5e-ef-10-00-00-2a
         test.zone:2: type ANY cannot appear in a zone
         test.zone:3: type OPT cannot appear in a zone
         test.zone:4: type AXFR cannot appear in a zone
         test.zone:5: type TYPE65534 has no text format here; use the RFC 3597 \\# form
         test.zone:6: type TYPE11 has no text format here; use the RFC 3597 \\# form",
    );
}

#[test]
fn parentheses_errors_resynchronise() {
    check(
        "$TTL 60
         a A ( 192.0.2.1
         b A 192.0.2.2",
        "test.zone:2: unbalanced parentheses",
    );
    check(
        "$TTL 60
         a TXT ( \"open
            \"more\" )
         b A 192.0.2.2",
        "b.example.com. 60 IN A 192.0.2.2
         test.zone:2: unterminated quoted string",
    );
}

#[test]
fn bad_owner_skips_its_blank_owner_records() {
    check(
        "$TTL 60
         bad..name A 192.0.2.1
             A 192.0.2.2
         good A 192.0.2.3",
        "good.example.com. 60 IN A 192.0.2.3
         test.zone:2: bad owner name \"bad..name\": empty label",
    );
}

#[test]
fn error_limit() {
    let opts = ParseOptions {
        max_errors: 2,
        regions: false,
        ..options()
    };
    check_with(
        "$TTL 60
         a A x
         b A y
         c A z
         d A 192.0.2.1",
        &opts,
        "test.zone:2: bad IPv4 address \"x\"
         test.zone:3: bad IPv4 address \"y\"",
    );
}

#[test]
fn long_names_and_labels() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    let long = format!("{0}.{0}.{0}.{0}", "b".repeat(62));
    check(
        &format!("$TTL 60\n{label63} A 192.0.2.1\n{label64} A 192.0.2.1\n{long} A 192.0.2.1\n"),
        &format!(
            "{label63}.example.com. 60 IN A 192.0.2.1
             test.zone:3: bad owner name \"{label64}\": label longer than 63 bytes
             test.zone:4: bad owner name \"{}...\": name longer than 255 bytes",
            &long[..64],
        ),
    );
}

#[test]
fn include_files() {
    let dir = temp_path("include-dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(
        dir.join("sub/hosts.zone"),
        "h1 A 192.0.2.1\n  A 192.0.2.2\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    std::fs::write(
        dir.join("main.zone"),
        "$TTL 60\nwww A 192.0.2.9\n$INCLUDE sub/hosts.zone\n  A 192.0.2.10\n\
         $INCLUDE \"sub/hosts.zone\" other.org.\n$INCLUDE sub/missing.zone\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let mut out = Vec::new();
    let result = parse_file(&dir.join("main.zone"), &options(), &mut |r| {
        let file = r
            .file
            .strip_prefix(&dir)
            .unwrap_or(r.file)
            .display()
            .to_string();
        out.push(format!(
            "{file}:{} {} {}",
            r.line,
            r.owner,
            crate::rdata_to_text(r.rtype, r.rdata)
        ));
    });
    assert_eq!(
        out,
        [
            "main.zone:2 www.example.com. 192.0.2.9",
            "sub/hosts.zone:1 h1.example.com. 192.0.2.1",
            "sub/hosts.zone:2 h1.example.com. 192.0.2.2",
            "main.zone:4 www.example.com. 192.0.2.10",
            "sub/hosts.zone:1 h1.other.org. 192.0.2.1",
            "sub/hosts.zone:2 h1.other.org. 192.0.2.2",
        ]
    );
    let errors = result.err().unwrap_or_default();
    let missing = dir.join("sub/missing.zone");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors.first().map(ToString::to_string).unwrap_or_default(),
        format!(
            "{}:6: cannot read \"{}\": No such file or directory (os error 2)",
            dir.join("main.zone").display(),
            missing.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn include_refused_and_nested_too_deep() {
    let opts = ParseOptions::new(super::origin());
    check_with(
        "$INCLUDE whatever.zone",
        &opts,
        "test.zone:1: $INCLUDE is not allowed in uploaded zone text (PUT .../zones/{zone}/file): \
         it would read files on the server",
    );

    // A file that includes itself stops at the depth limit; the record
    // before the $INCLUDE is seen once per level (the top and 8 nested).
    let path = temp_path("self.zone");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    std::fs::write(&path, format!("x 60 A 192.0.2.1\n$INCLUDE {name}\n"))
        .unwrap_or_else(|err| panic!("{err}"));
    let mut count = 0;
    let result = parse_file(&path, &options(), &mut |_| count += 1);
    assert_eq!(count, 9);
    let errors: Vec<String> = result
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [format!(
            "{}:2: $INCLUDE nesting deeper than 8 levels",
            path.display()
        )]
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn parse_file_reports_unreadable_files() {
    let path = temp_path("does-not-exist.zone");
    let result = parse_file(&path, &options(), &mut |_| {});
    let errors: Vec<String> = result
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [format!(
            "{0}:0: cannot read \"{0}\": No such file or directory (os error 2)",
            path.display()
        )]
    );
}

#[test]
fn non_utf8_text_is_fine() {
    let zone = b"$TTL 60\n\xff\xfe A 192.0.2.1\na TXT \"\xe9t\xe9\"\n";
    let mut got = Vec::new();
    let result = parse_bytes(zone, Path::new("t"), &options(), &mut |r| {
        got.push(format!(
            "{} {}",
            r.owner,
            crate::rdata_to_text(r.rtype, r.rdata)
        ));
    });
    assert_eq!(result, Ok(()));
    assert_eq!(
        got,
        [
            "\\255\\254.example.com. 192.0.2.1",
            "a.example.com. \"\\233t\\233\""
        ]
    );
}

#[test]
fn byte_order_mark_is_skipped() {
    check(
        "\u{feff}$TTL 60
         a A 192.0.2.1",
        "a.example.com. 60 IN A 192.0.2.1",
    );
}

/// `;@regions LIST` lines: records with their region list when asked for,
/// comments otherwise (as for every other server); a `;@regions` line
/// without a record, or holding a directive, is an error with its line.
#[test]
fn regions_lines_are_records_only_when_asked_for() {
    let zone = "$TTL 300\n\
                www A 192.0.2.1\n\
                ;@regions ams,sv1 www A 192.0.2.7\n\
                ;@regions ams\tonly.example.com. 60 IN TXT \"a b\" ; a comment\n\
                ; a plain comment\n\
                after A 192.0.2.2\n";
    let read = |regions: bool| {
        let mut got = Vec::new();
        let opts = ParseOptions {
            regions,
            ..options()
        };
        parse_bytes(zone.as_bytes(), Path::new("t"), &opts, &mut |r| {
            got.push(format!(
                "{} {} {} {:?} {}",
                r.line, r.owner, r.rtype, r.regions, r.ttl
            ));
        })
        .unwrap();
        got
    };
    assert_eq!(
        read(true),
        [
            "2 www.example.com. A None 300",
            "3 www.example.com. A Some(\"ams,sv1\") 300",
            "4 only.example.com. TXT Some(\"ams\") 60",
            "6 after.example.com. A None 300",
        ]
    );
    assert_eq!(
        read(false),
        [
            "2 www.example.com. A None 300",
            "6 after.example.com. A None 300"
        ]
    );
    let opts = ParseOptions {
        regions: true,
        ..options()
    };
    for (text, line, message) in [
        (
            ";@regions ams\nwww 300 A 192.0.2.1\n",
            1,
            "a ;@regions line needs a record after its regions",
        ),
        (
            "www 300 A 192.0.2.1\n;@regions ams $TTL 60\n",
            2,
            "a ;@regions line must hold a record",
        ),
    ] {
        let errors = parse_bytes(text.as_bytes(), Path::new("t"), &opts, &mut |_| {}).unwrap_err();
        assert_eq!(errors[0].line, line, "{text:?}");
        assert_eq!(errors[0].message, message, "{text:?}");
    }
}
