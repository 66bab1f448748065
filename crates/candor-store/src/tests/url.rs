//! URL records: validated targets, served as the redirector's addresses,
//! listed for the redirector, exported and imported in RFC 3597 form.

use candor_wire::Rtype;

use super::*;

#[test]
fn url_records_are_served_as_the_redirectors_addresses() {
    let (s, account) = store_with_zone();
    let (record, change) = s
        .create_record(
            account,
            "example.com",
            &input("go", "URL", "https://new.example/*"),
            &actor(),
        )
        .unwrap();
    assert_eq!(
        (record.rtype.as_str(), record.content.as_str()),
        ("URL", "https://new.example/*")
    );
    let zone = change.compiled.unwrap();
    let node = zone.node(zone.node_by_name(n("go.example.com.").as_wire()).unwrap());
    let a = zone
        .rrset(node, Rtype::A)
        .expect("the redirector's address");
    assert_eq!(&zone.tails(a)[10..], &[192, 0, 2, 80]);
    assert!(
        zone.rrset(node, crate::content::URL).is_none(),
        "URL itself is never served"
    );
    assert_eq!(
        s.redirects().unwrap(),
        vec![(
            "go.example.com".to_owned(),
            "https://new.example/*".to_owned()
        )]
    );
}

#[test]
fn bad_url_records_are_refused_with_the_reason() {
    let (s, account) = store_with_zone();
    let err = |name: &str, content: &str| match s.create_record(
        account,
        "example.com",
        &input(name, "URL", content),
        &actor(),
    ) {
        Err(StoreError::Invalid(e)) => format!("{}: {}", e[0].field, e[0].message),
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(
        err("x", "ftp://new.example"),
        "content: must start with http:// or https://"
    );
    assert_eq!(err("x", "https://"), "content: has no host");
    s.create_record(
        account,
        "example.com",
        &input("both", "A", "192.0.2.1"),
        &actor(),
    )
    .unwrap();
    assert_eq!(
        err("both", "https://new.example"),
        "name: both has a URL record beside A or AAAA records"
    );
    s.create_record(
        account,
        "example.com",
        &input("twice", "URL", "https://a.example"),
        &actor(),
    )
    .unwrap();
    assert_eq!(
        err("twice", "https://b.example"),
        "name: twice has more than one URL record"
    );
    // A CNAME beside the URL's addresses is the usual CNAME conflict.
    let cname = s.create_record(
        account,
        "example.com",
        &input("twice", "CNAME", "x.example"),
        &actor(),
    );
    assert!(matches!(cname, Err(StoreError::Invalid(_))));
}

#[test]
fn url_records_export_and_import_in_rfc3597_form() {
    let (s, account) = store_with_zone();
    s.create_record(
        account,
        "example.com",
        &input("go", "URL", "https://new.example/a"),
        &actor(),
    )
    .unwrap();
    let text = s.export_zone_file(account, "example.com").unwrap();
    assert!(
        text.contains("go.example.com.\t3600\tIN\tTYPE65302\t\\# "),
        "{text}"
    );
    let (summary, change) = s
        .import_zone_file(
            account,
            "example.com",
            text.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.records, 1);
    assert!(change.compiled.is_some());
    let again = s.export_zone_file(account, "example.com").unwrap();
    let body = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with(';') && !l.contains("SOA"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&text), body(&again));
    // A bad target in a file is refused with its line.
    let bad = "$ORIGIN example.com.\ngo 3600 IN TYPE65302 \\# 3 667470\n";
    match s.import_zone_file(
        account,
        "example.com",
        bad.as_bytes(),
        &actor(),
        &mut |_| {},
    ) {
        Err(StoreError::Invalid(e)) => assert!(e[0].message.contains(":2: URL target"), "{e:?}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn pool_records_compile_to_a_pool_rrset_and_refuse_neighbours() {
    let (s, account) = store_with_zone();
    for target in ["a.cdn.example", "b.cdn.example"] {
        s.create_record(
            account,
            "example.com",
            &input("www", "POOL", target),
            &actor(),
        )
        .unwrap();
    }
    let (_, change) = s
        .create_record(
            account,
            "example.com",
            &input("www", "POOL", "c.cdn.example"),
            &actor(),
        )
        .unwrap();
    let zone = change.compiled.unwrap();
    let node = zone.node(zone.node_by_name(n("www.example.com.").as_wire()).unwrap());
    assert_eq!(
        zone.rrset(node, candor_zone::POOL).map(|p| p.count),
        Some(3)
    );
    let listed = all_records(&s, account, "example.com");
    assert!(
        listed
            .iter()
            .any(|r| r.rtype == "POOL" && r.content == "b.cdn.example")
    );
    let beside = s.create_record(
        account,
        "example.com",
        &input("www", "A", "192.0.2.1"),
        &actor(),
    );
    match beside {
        Err(StoreError::Invalid(e)) => {
            assert!(e[0].message.contains("POOL beside other data"), "{e:?}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn alias_targets_are_accepted_anywhere() {
    let (s, account) = store_with_zone();
    s.create_zone(account, "cdn.example", &actor()).unwrap();
    s.create_record(
        account,
        "cdn.example",
        &input("edge", "A", "192.0.2.9"),
        &actor(),
    )
    .unwrap();
    // At the apex, beside the system NS/SOA and an MX.
    s.create_record(
        account,
        "example.com",
        &input("", "MX", "mail.example.com"),
        &actor(),
    )
    .unwrap();
    let (record, change) = s
        .create_record(
            account,
            "example.com",
            &input("", "ALIAS", "edge.cdn.example"),
            &actor(),
        )
        .unwrap();
    assert_eq!(
        (record.rtype.as_str(), record.content.as_str()),
        ("ALIAS", "edge.cdn.example")
    );
    let zone = change.compiled.unwrap();
    let apex = zone.node(zone.node_by_name(n("example.com.").as_wire()).unwrap());
    assert!(zone.rrset(apex, candor_zone::ALIAS).is_some());
    let refused = |name: &str, rtype: &str, content: &str| match s.create_record(
        account,
        "example.com",
        &input(name, rtype, content),
        &actor(),
    ) {
        Err(StoreError::Invalid(e)) => e[0].message.clone(),
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert!(refused("", "A", "192.0.2.1").contains("ALIAS beside A or AAAA"));
    // Targets outside Candor's zones are accepted whatever the process's
    // flags (stored data never depends on them) and listed for the
    // resolver.
    let with = &s;
    let acc = account;
    with.create_record(
        acc,
        "example.com",
        &input("x", "ALIAS", "WWW.Elsewhere.test"),
        &actor(),
    )
    .unwrap();
    assert_eq!(
        with.alias_targets().unwrap(),
        vec!["www.elsewhere.test".to_owned()]
    );
}

#[test]
fn imported_alias_targets_are_accepted_anywhere() {
    let (s, account) = store_with_zone();
    let line = |owner: &str, target: &str| {
        let wire = n(target);
        let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
        format!("{owner} 3600 IN TYPE65304 \\# {} {hex}\n", wire.wire_len())
    };
    // A target outside Candor's zones imports: it is resolved (or
    // answers SERVFAIL until it is) whatever flags the server runs with.
    let outside = format!("$ORIGIN example.com.\n{}", line("@", "www.elsewhere.test."));
    let (_, change) = s
        .import_zone_file(
            account,
            "example.com",
            outside.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    assert!(change.compiled.is_some());
    let inside = format!(
        "$ORIGIN example.com.\nmail 3600 A 192.0.2.25\n{}",
        line("@", "mail.example.com.")
    );
    let (_, change) = s
        .import_zone_file(
            account,
            "example.com",
            inside.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    let zone = change.compiled.unwrap();
    let apex = zone.node(zone.node_by_name(n("example.com.").as_wire()).unwrap());
    assert!(zone.rrset(apex, candor_zone::ALIAS).is_some());
}
