//! Tests of record content conversion and of the field checks.

use super::*;

/// Content → RDATA → content, asserting the content comes back as `want`.
fn round_trip(rtype: Rtype, content: &str, priority: Option<u16>, want: &str) -> Vec<u8> {
    let rdata = content_to_rdata(rtype, content, priority).unwrap();
    let (back, prio) = rdata_to_content(rtype, &rdata);
    assert_eq!(back, want, "{rtype} {content:?}");
    assert_eq!(
        prio,
        if has_priority(rtype) {
            priority.or(Some(0))
        } else {
            None
        }
    );
    assert_eq!(
        content_to_rdata(rtype, &back, prio).unwrap(),
        rdata,
        "{rtype} {back:?}"
    );
    rdata
}

#[test]
fn types() {
    assert_eq!(parse_type("a"), Ok(Rtype::A));
    assert_eq!(parse_type(" https "), Ok(Rtype::HTTPS));
    assert_eq!(parse_type("TYPE1"), Ok(Rtype::A));
    assert_eq!(parse_type(""), Err("can't be blank".to_owned()));
    assert_eq!(parse_type("alias"), Ok(ALIAS));
    assert_eq!(parse_type("url"), Ok(URL));
    assert_eq!(parse_type("pool"), Ok(POOL));
    assert_eq!(
        parse_type("soa"),
        Err("SOA records are system records, managed by Candor".to_owned())
    );
    assert_eq!(
        parse_type("BOGUS"),
        Err("BOGUS is not a supported record type".to_owned())
    );
    // Every type with a presentation format, and any type in RFC 3597
    // form; never the ones signing makes, nor query types.
    assert_eq!(parse_type("DNSKEY"), Ok(Rtype::DNSKEY));
    assert_eq!(parse_type("eui48"), Ok(Rtype(108)));
    assert_eq!(parse_type("TYPE999"), Ok(Rtype(999)));
    assert_eq!(
        parse_type("NSEC"),
        Err(
            "NSEC records are made by DNSSEC signing, not stored: remove them (Candor signs \
             zones itself)"
                .to_owned()
        )
    );
    assert_eq!(
        parse_type("ANY"),
        Err("ANY is a query type, not a record type".to_owned())
    );
    assert_eq!(
        content_to_rdata(Rtype(999), "\\# 2 abcd", None),
        Ok(vec![0xab, 0xcd])
    );
    assert_eq!(rdata_to_content(Rtype(999), &[0xab, 0xcd]).0, "\\# 2 ABCD");
}

#[test]
fn addresses() {
    assert_eq!(
        round_trip(Rtype::A, " 192.0.2.1 ", None, "192.0.2.1"),
        [192, 0, 2, 1]
    );
    round_trip(Rtype::AAAA, "2001:DB8::1", None, "2001:db8::1");
    assert_eq!(
        content_to_rdata(Rtype::A, "300.1.1.1", None),
        Err("bad IPv4 address \"300.1.1.1\"".to_owned())
    );
    assert_eq!(
        content_to_rdata(Rtype::A, "  ", None),
        Err("can't be blank".to_owned())
    );
}

#[test]
fn hostnames_are_absolute_without_the_dot() {
    let a = round_trip(Rtype::CNAME, "www.example.com", None, "www.example.com");
    let b = round_trip(Rtype::CNAME, "www.example.com.", None, "www.example.com");
    assert_eq!(a, b);
    assert_eq!(a, b"\x03www\x07example\x03com\x00");
    round_trip(Rtype::NS, "ns.Other.net", None, "ns.Other.net");
    round_trip(Rtype::PTR, "host.example.", None, "host.example");
    round_trip(Rtype::CNAME, "a\\.b.example", None, "a\\.b.example");
}

#[test]
fn mx_and_srv_take_the_priority_apart() {
    let rdata = round_trip(Rtype::MX, "mail.example.com", Some(10), "mail.example.com");
    assert_eq!(&rdata[..2], [0, 10]);
    round_trip(Rtype::MX, "mail.example.com", None, "mail.example.com");
    round_trip(Rtype::MX, ".", Some(0), ".");
    let rdata = round_trip(
        Rtype::SRV,
        "5 5060 sip.example.com.",
        Some(20),
        "5 5060 sip.example.com",
    );
    assert_eq!(&rdata[..6], [0, 20, 0, 5, 0x13, 0xc4]);
    round_trip(Rtype::SRV, "0 0 .", Some(0), "0 0 .");
    assert!(content_to_rdata(Rtype::SRV, "5 sip.example.com", Some(1)).is_err());
    assert!(content_to_rdata(Rtype::MX, "10 mail.example.com", Some(1)).is_err());
}

#[test]
fn txt_is_the_text_itself() {
    let rdata = round_trip(
        Rtype::TXT,
        "v=spf1 include:x -all",
        None,
        "v=spf1 include:x -all",
    );
    assert_eq!(rdata[0] as usize, rdata.len() - 1);
    // Semicolons, quotes inside and backslashes are just text.
    round_trip(
        Rtype::TXT,
        "v=DKIM1; k=rsa; p=a\\b \"q\"",
        None,
        "v=DKIM1; k=rsa; p=a\\b \"q\"",
    );
    // Long text is split into 255-byte strings and joined again.
    let long = "x".repeat(600);
    let rdata = round_trip(Rtype::TXT, &long, None, &long);
    assert_eq!(rdata.len(), 603);
    assert_eq!((rdata[0], rdata[256], rdata[512]), (255, 255, 90));
    // Quoted content is zone-file strings.
    let rdata = round_trip(Rtype::TXT, "\"a b\" \"c\"", None, "\"a b\" \"c\"");
    assert_eq!(rdata, b"\x03a b\x01c");
    round_trip(Rtype::TXT, "\"one string\"", None, "one string");
    round_trip(Rtype::TXT, "\"\"", None, "\"\"");
    assert_eq!(
        content_to_rdata(Rtype::TXT, "", None),
        Err("can't be blank".to_owned())
    );
    // Strings that are not valid UTF-8 are shown quoted with escapes.
    let (content, _) = rdata_to_content(Rtype::TXT, b"\x02\xff\xfe");
    assert!(content.starts_with('"'), "{content}");
    assert_eq!(
        content_to_rdata(Rtype::TXT, &content, None).unwrap(),
        b"\x02\xff\xfe"
    );
}

#[test]
fn other_types_use_presentation_format() {
    round_trip(
        Rtype::CAA,
        "0 issue \"letsencrypt.org\"",
        None,
        "0 issue \"letsencrypt.org\"",
    );
    for (rtype, text) in [
        (Rtype::HINFO, "\"INTEL\" \"LINUX\""),
        (Rtype::SSHFP, "1 1 0123456789abcdef0123456789abcdef01234567"),
        (
            Rtype::NAPTR,
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        ),
        (Rtype::HTTPS, "1 . alpn=h2"),
        (Rtype::SVCB, "1 svc.example.com. port=8443"),
        (Rtype::SPF, "\"v=spf1 -all\""),
        (
            Rtype::TLSA,
            "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        (
            Rtype::DS,
            "12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
    ] {
        let rdata = content_to_rdata(rtype, text, None).unwrap();
        let (content, prio) = rdata_to_content(rtype, &rdata);
        assert_eq!(prio, None);
        assert_eq!(
            content_to_rdata(rtype, &content, None).unwrap(),
            rdata,
            "{rtype} {content}"
        );
    }
    assert_eq!(
        content_to_rdata(Rtype::SSHFP, "1 1 abc", None),
        Err("odd number of hex digits in fingerprint".to_owned())
    );
}

#[test]
fn field_checks() {
    assert_eq!(check_ttl(60), Ok(60));
    assert_eq!(check_ttl(2_592_000), Ok(2_592_000));
    assert_eq!(check_ttl(59), Err(TTL_RANGE_MESSAGE.to_owned()));
    assert_eq!(check_ttl(2_592_001), Err(TTL_RANGE_MESSAGE.to_owned()));
    assert_eq!(check_regions(None), Ok("global".to_owned()));
    assert_eq!(
        check_regions(Some(&["Global".to_owned()])),
        Ok("global".to_owned())
    );
    assert_eq!(regions_list("global"), vec!["global".to_owned()]);
}

/// The regions of a record: stored lower-case and sorted; every refusal
/// says why.
#[test]
fn regions_are_checked_and_normalized() {
    let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let check = |l: &[&str]| check_regions(Some(&list(l)));
    assert_eq!(check(&["sv1", "AMS"]), Ok("ams,sv1".to_owned()));
    assert_eq!(check(&["fra-2"]), Ok("fra-2".to_owned()));
    assert_eq!(
        check(&["a2345678901234567890"]),
        Ok("a2345678901234567890".to_owned())
    );
    assert!(check(&[]).is_err_and(|e| e.starts_with("can't be empty")));
    assert!(check(&["AMS!"]).is_err_and(|e| e.starts_with("\"AMS!\" is not a region label")));
    assert!(check(&["-ams"]).is_err_and(|e| e.contains("not a region label")));
    assert!(check(&["ams-"]).is_err_and(|e| e.contains("not a region label")));
    assert!(check(&[""]).is_err_and(|e| e.contains("not a region label")));
    assert!(check(&["a23456789012345678901"]).is_err_and(|e| e.contains("not a region label")));
    assert_eq!(
        check(&["ams", "AMS"]),
        Err("\"ams\" is listed twice".to_owned())
    );
    assert_eq!(
        check(&["global", "ams"]),
        Err("\"global\" cannot be combined with other regions".to_owned())
    );
    let many: Vec<String> = (0..17).map(|i| format!("r{i}")).collect();
    assert_eq!(
        check_regions(Some(&many)),
        Err("lists 17 regions, at most 16".to_owned())
    );
    assert!(in_view("global", None));
    assert!(in_view("global", Some("ams")));
    assert!(in_view("ams,sv1", Some("sv1")));
    assert!(!in_view("ams,sv1", Some("sv")));
    assert!(!in_view("ams,sv1", None));
}

#[test]
fn zone_names() {
    assert_eq!(normalize_zone_name(" Example.COM. "), "example.com");
    assert!(check_zone_name("example.com").is_ok());
    assert!(check_zone_name("2.0.192.in-addr.arpa").is_ok());
    assert!(check_zone_name("_sub.example.com").is_ok());
    assert_eq!(check_zone_name(""), Err("can't be blank".to_owned()));
    assert_eq!(
        check_zone_name("com"),
        Err("must have at least two labels (like example.com)".to_owned())
    );
    let bad = check_zone_name("a..com").unwrap_err();
    assert!(bad.starts_with("has an invalid label \"\""), "{bad}");
    assert!(check_zone_name("-a.com").is_err());
    assert!(check_zone_name("a b.com").is_err());
    assert!(check_zone_name(&format!("{}.com", "a".repeat(64))).is_err());
    assert!(is_reverse("2.0.192.in-addr.arpa"));
    assert!(is_reverse("8.b.d.0.1.0.0.2.ip6.arpa"));
    assert!(!is_reverse("example.com"));
    assert!(!is_reverse("notin-addr.arpa"));
}

#[test]
fn relative_names() {
    let apex = Name::from_text("example.com.", None).unwrap();
    let owner = Name::from_text("WWW.Example.com.", None).unwrap();
    assert_eq!(relative_name(&apex, &owner), "www");
    assert_eq!(relative_name(&apex, &apex), "");
}
