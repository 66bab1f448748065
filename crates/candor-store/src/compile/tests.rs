//! Tests of owner names, the SOA and zone-error mapping.

use std::path::PathBuf;

use super::*;

/// A name from text.
fn n(s: &str) -> Name {
    Name::from_text(s, None).unwrap()
}

#[test]
fn owner_names() {
    let apex = n("example.com.");
    assert_eq!(owner_name(&apex, ""), Ok(apex.clone()));
    assert_eq!(owner_name(&apex, "@"), Ok(apex.clone()));
    assert_eq!(owner_name(&apex, "www"), Ok(n("www.example.com.")));
    assert_eq!(owner_name(&apex, "*"), Ok(n("*.example.com.")));
    assert_eq!(owner_name(&apex, "*.x"), Ok(n("*.x.example.com.")));
    assert_eq!(
        owner_name(&apex, "www.example.com."),
        Ok(n("www.example.com."))
    );
    assert_eq!(owner_name(&apex, "Example.COM."), Ok(n("Example.COM.")));
    assert_eq!(owner_name(&apex, "a\\."), Ok(n("a\\..example.com.")));
    assert_eq!(
        owner_name(&apex, "www.other.org."),
        Err("is outside the zone".to_owned())
    );
    assert_eq!(
        owner_name(&apex, "xexample.com."),
        Err("is outside the zone".to_owned())
    );
    assert_eq!(
        owner_name(&apex, "."),
        Err("is outside the zone".to_owned())
    );
    assert_eq!(
        owner_name(&apex, "a b"),
        Err("may contain only printable characters other than spaces".to_owned())
    );
    assert_eq!(
        owner_name(&apex, "a..b"),
        Err("is not valid: empty label".to_owned())
    );
    assert_eq!(
        owner_name(&apex, &"a".repeat(64)),
        Err("is not valid: label longer than 63 bytes".to_owned())
    );
}

/// Names given as input: a relative name ending in the zone's name is
/// refused with both ways to write it; everything else is `owner_name`.
#[test]
fn input_owner_names_refuse_relative_names_that_repeat_the_zone() {
    let apex = n("example.com.");
    let hint = |full: &str, short: &str, given: &str| {
        Err(format!(
            "is relative to the zone, so it would be {full}; write \"{short}\" or \
             \"{given}.\" (with a final dot)"
        ))
    };
    assert_eq!(
        input_owner_name(&apex, "www.example.com"),
        hint("www.example.com.example.com", "www", "www.example.com")
    );
    assert_eq!(
        input_owner_name(&apex, "a.b.EXAMPLE.com"),
        hint("a.b.EXAMPLE.com.example.com", "a.b", "a.b.EXAMPLE.com")
    );
    assert_eq!(
        input_owner_name(&apex, "*.example.com"),
        hint("*.example.com.example.com", "*", "*.example.com")
    );
    assert_eq!(
        input_owner_name(&apex, "example.com"),
        hint("example.com.example.com", "@", "example.com")
    );
    // What `owner_name` accepts otherwise is accepted as it is.
    for name in [
        "",
        "@",
        "www",
        "www.example.com.",
        "example.com.",
        "example.com.au",
        "xexample.com",
        "example",
        "a\\.",
    ] {
        assert_eq!(
            input_owner_name(&apex, name),
            owner_name(&apex, name),
            "{name:?}"
        );
    }
    // An escaped final dot is part of a label, not a fully-qualified name.
    assert_eq!(
        input_owner_name(&apex, "www.example.com\\."),
        Ok(n("www.example.com\\..example.com."))
    );
    // Errors of `owner_name` come first.
    assert_eq!(
        input_owner_name(&apex, "www.other.org."),
        Err("is outside the zone".to_owned())
    );
    // A zone whose doubled name is too long for any owner.
    let long = format!("{}.com.", "a".repeat(63));
    let long = n(&format!("{}.{long}", "b".repeat(63)));
    assert_eq!(input_owner_name(&long, "www"), owner_name(&long, "www"));
}

#[test]
fn soa_content_and_rdata() {
    let config = StoreConfig {
        nameservers: vec![n("ns1.candor.test."), n("ns2.candor.test.")],
        hostmaster: n("admin.candor.test."),
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    };
    let (content, rdata) = soa(&config, 2_026_112_601);
    assert_eq!(
        content,
        "ns1.candor.test admin.candor.test 2026112601 86400 7200 604800 300"
    );
    assert_eq!(
        candor_zonefile::rdata_to_text(Rtype::SOA, &rdata),
        "ns1.candor.test. admin.candor.test. 2026112601 86400 7200 604800 300"
    );
    assert_eq!(name_without_dot(&Name::root()), ".");
}

#[test]
fn zone_errors_name_their_field() {
    let errors = vec![
        ZoneError {
            file: Some(PathBuf::from("")),
            line: 3,
            kind: ZoneErrorKind::Placement,
            message: "CNAME beside other data at www.example.com.".to_owned(),
        },
        ZoneError {
            file: None,
            line: 0,
            kind: ZoneErrorKind::Data,
            message: "record data longer than 65535 bytes".to_owned(),
        },
    ];
    assert_eq!(
        zone_errors(errors),
        vec![
            FieldError::new("name", "CNAME beside other data at www.example.com."),
            FieldError::new("content", "record data longer than 65535 bytes"),
        ]
    );
}
