//! Records: create, read, update, delete, listing, system-record
//! protection, validation messages and the journal.

use super::*;
use crate::{RecordBatch, RecordPatch};

#[test]
fn creating_a_record_bumps_the_serial_and_journals_it() {
    let (s, a) = store_with_zone();
    let before = s.zone(a, "example.com").unwrap();
    let (rec, change) = s
        .create_record(a, "example.com", &input("WWW", "a", "192.0.2.1"), &actor())
        .unwrap();
    assert_eq!(rec.name, "www");
    assert_eq!(rec.rtype, "A");
    assert_eq!(rec.content, "192.0.2.1");
    assert_eq!(rec.ttl, 3600);
    assert_eq!(rec.priority, None);
    assert_eq!(rec.regions, ["global"]);
    assert!(!rec.system_record);
    assert_eq!(change.zone.serial, before.serial + 1);
    let compiled = change.compiled.unwrap();
    assert_eq!(compiled.serial(), before.serial + 1);
    assert_eq!(compiled.record_count(), 4);
    assert_eq!(s.record(a, "example.com", rec.id).unwrap(), rec);

    // The SOA record shows the new serial.
    let soa = &all_records(&s, a, "example.com")[0];
    assert!(soa.content.contains(&format!(" {} ", before.serial + 1)));

    let changes = s.changes(a, "example.com", before.serial).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].serial, before.serial + 1);
    assert_eq!(changes[0].action, "create");
    assert_eq!(changes[0].record, rec);
    assert_eq!(
        s.changes(a, "example.com", before.serial + 1).unwrap(),
        vec![]
    );

    let log = s.audit_log(a, 1, 1).unwrap();
    let entry = &log.items[0];
    assert_eq!(entry.action, "record.create");
    assert_eq!(entry.target, format!("example.com/records/{}", rec.id));
    assert_eq!(entry.detail, "created www A 192.0.2.1 (ttl 3600)");
    assert_eq!(entry.via, "cli");
    assert_eq!(log.total_entries, 2);
}

#[test]
fn records_of_every_supported_type() {
    let (s, a) = store_with_zone();
    let cases: Vec<(RecordInput, &str, Option<u16>)> = vec![
        (input("", "A", "192.0.2.1"), "192.0.2.1", None),
        (input("v6", "AAAA", "2001:DB8::1"), "2001:db8::1", None),
        (
            input("alias", "CNAME", "target.example.net."),
            "target.example.net",
            None,
        ),
        (input("sub", "NS", "ns.example.net"), "ns.example.net", None),
        (
            input("ptr", "PTR", "host.example.net"),
            "host.example.net",
            None,
        ),
        (
            RecordInput {
                priority: Some(10),
                ..input("", "MX", "mail.example.com")
            },
            "mail.example.com",
            Some(10),
        ),
        (
            RecordInput {
                priority: Some(20),
                ..input("_sip._udp", "SRV", "5 5060 sip.example.com")
            },
            "5 5060 sip.example.com",
            Some(20),
        ),
        (input("", "TXT", "v=spf1 -all"), "v=spf1 -all", None),
        (
            input("", "CAA", "0 issue \"letsencrypt.org\""),
            "0 issue \"letsencrypt.org\"",
            None,
        ),
        (
            input("hinfo", "HINFO", "\"PC\" \"Linux\""),
            "\"PC\" \"Linux\"",
            None,
        ),
        (input("*", "A", "192.0.2.9"), "192.0.2.9", None),
        (input("*.wild", "TXT", "\"a\" \"b\""), "\"a\" \"b\"", None),
    ];
    for (inp, content, priority) in cases {
        let (rec, _) = s.create_record(a, "example.com", &inp, &actor()).unwrap();
        assert_eq!(
            (rec.content.as_str(), rec.priority),
            (content, priority),
            "{inp:?}"
        );
    }
    // Priority is ignored for types without one.
    let (rec, _) = s
        .create_record(
            a,
            "example.com",
            &RecordInput {
                priority: Some(5),
                ..input("p", "A", "192.0.2.2")
            },
            &actor(),
        )
        .unwrap();
    assert_eq!(rec.priority, None);
    // MX without a priority gets 0.
    let (rec, _) = s
        .create_record(
            a,
            "example.com",
            &input("m", "MX", "mx.example.net"),
            &actor(),
        )
        .unwrap();
    assert_eq!(rec.priority, Some(0));
}

#[test]
fn names_are_relative_or_absolute_inside_the_zone() {
    let (s, a) = store_with_zone();
    let create = |name: &str| {
        s.create_record(a, "example.com", &input(name, "TXT", name), &actor())
            .map(|(r, _)| r.name)
    };
    assert_eq!(create("@"), Ok(String::new()));
    assert_eq!(create("Mixed.Case"), Ok("mixed.case".to_owned()));
    assert_eq!(create("abs.example.com."), Ok("abs".to_owned()));
    assert_eq!(create("EXAMPLE.COM."), Ok(String::new()));
    assert_eq!(
        invalid(create("www.example.org.")),
        vec![fe("name", "is outside the zone")]
    );
    assert_eq!(
        invalid(create("a b")),
        vec![fe(
            "name",
            "may contain only printable characters other than spaces"
        )]
    );
    assert_eq!(
        invalid(create("a..b")),
        vec![fe("name", "is not valid: empty label")]
    );
}

/// A relative name that ends in the zone's name is refused with a hint,
/// on create, update and in batches; the same name with a final dot is
/// taken as fully qualified.
#[test]
fn a_relative_name_repeating_the_zone_is_refused_with_a_hint() {
    let (s, a) = store_with_zone();
    let create = |name: &str| {
        s.create_record(a, "example.com", &input(name, "A", "192.0.2.1"), &actor())
            .map(|(r, _)| r.name)
    };
    assert_eq!(
        invalid(create("www.example.com")),
        vec![fe(
            "name",
            "is relative to the zone, so it would be www.example.com.example.com; \
             write \"www\" or \"www.example.com.\" (with a final dot)"
        )]
    );
    assert_eq!(
        invalid(create("Example.COM")),
        vec![fe(
            "name",
            "is relative to the zone, so it would be Example.COM.example.com; \
             write \"@\" or \"Example.COM.\" (with a final dot)"
        )]
    );
    assert_eq!(create("www.example.com."), Ok("www".to_owned()));
    assert_eq!(create("example.com.au"), Ok("example.com.au".to_owned()));
    assert_eq!(user_records(&s, a, "example.com").len(), 2);

    let (rec, _) = s
        .create_record(a, "example.com", &input("app", "A", "192.0.2.2"), &actor())
        .unwrap();
    let rename = |name: &str| RecordPatch {
        name: Some(name.to_owned()),
        ..RecordPatch::default()
    };
    assert_eq!(
        invalid(s.update_record(
            a,
            "example.com",
            rec.id,
            &rename("app.example.com"),
            &actor()
        )),
        vec![fe(
            "name",
            "is relative to the zone, so it would be app.example.com.example.com; \
             write \"app\" or \"app.example.com.\" (with a final dot)"
        )]
    );
    let batch = RecordBatch {
        creates: vec![input("api.example.com", "A", "192.0.2.3")],
        updates: vec![(rec.id, rename("web.example.com"))],
        deletes: vec![],
    };
    let fields: Vec<String> = invalid(s.batch(a, "example.com", &batch, &actor()))
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["updates[0].name", "creates[0].name"]);
}

/// A record stored before names repeating the zone were refused can still
/// be changed, as long as the change keeps its name.
#[test]
fn a_stored_name_repeating_the_zone_stays_editable() {
    let (s, a) = store_with_zone();
    let (rec, _) = s
        .create_record(a, "example.com", &input("old", "A", "192.0.2.1"), &actor())
        .unwrap();
    s.lock()
        .execute(
            "UPDATE records SET name = 'old.example.com' WHERE id = ?1",
            [rec.id],
        )
        .unwrap();
    let ttl = RecordPatch {
        ttl: Some(600),
        ..RecordPatch::default()
    };
    let (changed, _) = s
        .update_record(a, "example.com", rec.id, &ttl, &actor())
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.ttl),
        ("old.example.com", 600)
    );
    let same_name = RecordPatch {
        name: Some("old.example.com".to_owned()),
        content: Some("192.0.2.9".to_owned()),
        ..RecordPatch::default()
    };
    let (changed, _) = s
        .update_record(a, "example.com", rec.id, &same_name, &actor())
        .unwrap();
    assert_eq!(changed.content, "192.0.2.9");
    let batch = RecordBatch {
        updates: vec![(rec.id, ttl)],
        ..RecordBatch::default()
    };
    assert!(s.batch(a, "example.com", &batch, &actor()).is_ok());
}

#[test]
fn every_invalid_field_is_reported() {
    let (s, a) = store_with_zone();
    let create = |inp: RecordInput| s.create_record(a, "example.com", &inp, &actor());
    assert_eq!(
        invalid(create(input("www", "A", "300.0.0.1"))),
        vec![fe("content", "bad IPv4 address \"300.0.0.1\"")]
    );
    assert_eq!(
        invalid(create(input("www", "A", ""))),
        vec![fe("content", "can't be blank")]
    );
    assert_eq!(
        invalid(create(input("www", "BOGUS", "x"))),
        vec![fe("type", "BOGUS is not a supported record type")]
    );
    assert_eq!(
        invalid(create(input("www", "ALIAS", "x..example.net"))),
        vec![fe("content", "bad target \"x..example.net\": empty label")]
    );
    assert_eq!(
        invalid(create(input("", "SOA", "a b 1 2 3 4 5"))),
        vec![fe(
            "type",
            "SOA records are system records, managed by Candor"
        )]
    );
    assert_eq!(
        invalid(create(input("", "NS", "ns.example.net"))),
        vec![fe(
            "name",
            "apex NS records are system records, managed by Candor"
        )]
    );
    assert_eq!(
        invalid(create(RecordInput {
            ttl: Some(59),
            ..input("www", "A", "192.0.2.1")
        })),
        vec![fe("ttl", "must be between 60 and 2592000")]
    );
    assert_eq!(
        invalid(create(RecordInput {
            regions: Some(vec!["ams".to_owned(), "AMS".to_owned()]),
            ..input("www", "A", "192.0.2.1")
        })),
        vec![fe("regions", "\"ams\" is listed twice")]
    );
    // All problems at once.
    assert_eq!(
        invalid(create(RecordInput {
            ttl: Some(3_000_000),
            ..input("x.other.", "A", "1.2.3")
        })),
        vec![
            fe("name", "is outside the zone"),
            fe("ttl", "must be between 60 and 2592000"),
            fe("content", "bad IPv4 address \"1.2.3\""),
        ]
    );
    // Nothing was stored, and the serial did not move.
    assert_eq!(user_records(&s, a, "example.com"), vec![]);
    assert_eq!(s.changes(a, "example.com", 0).unwrap().len(), 2);
}

#[test]
fn zone_rules_are_checked_by_compiling() {
    let (s, a) = store_with_zone();
    let serial = s.zone(a, "example.com").unwrap().serial;
    let create = |inp: RecordInput| s.create_record(a, "example.com", &inp, &actor());
    create(input("www", "A", "192.0.2.1")).unwrap();
    assert_eq!(
        invalid(create(input("www", "CNAME", "other.example.net"))),
        vec![fe("name", "CNAME beside other data at www.example.com.")]
    );
    create(input("alias", "CNAME", "a.example.net")).unwrap();
    assert_eq!(
        invalid(create(input("alias", "CNAME", "b.example.net"))),
        vec![fe("name", "more than one CNAME at alias.example.com.")]
    );
    assert_eq!(
        invalid(create(input("", "CNAME", "b.example.net"))),
        vec![fe("name", "CNAME beside other data at example.com.")]
    );
    assert_eq!(
        invalid(create(input("www", "A", "192.0.2.1"))),
        vec![fe(
            "content",
            "a record with this name, type and content already exists"
        )]
    );
    // Only the two good records were committed.
    assert_eq!(s.zone(a, "example.com").unwrap().serial, serial + 2);
    assert_eq!(user_records(&s, a, "example.com").len(), 2);
}

#[test]
fn updates_change_fields_and_keep_the_rest() {
    let (s, a) = store_with_zone();
    let (mx, _) = s
        .create_record(
            a,
            "example.com",
            &RecordInput {
                priority: Some(10),
                ttl: Some(600),
                ..input("", "MX", "mail.example.com")
            },
            &actor(),
        )
        .unwrap();
    let patch = RecordPatch {
        priority: Some(20),
        ..RecordPatch::default()
    };
    let (updated, change) = s
        .update_record(a, "example.com", mx.id, &patch, &actor())
        .unwrap();
    assert_eq!(updated.priority, Some(20));
    assert_eq!(updated.content, "mail.example.com");
    assert_eq!(updated.ttl, 600);
    assert_eq!(updated.created_at, mx.created_at);
    assert_eq!(change.zone.serial, s.zone(a, "example.com").unwrap().serial);

    let patch = RecordPatch {
        name: Some("mx".to_owned()),
        content: Some("mail2.example.com.".to_owned()),
        ttl: Some(120),
        ..RecordPatch::default()
    };
    let (updated, _) = s
        .update_record(a, "example.com", mx.id, &patch, &actor())
        .unwrap();
    assert_eq!(
        (
            updated.name.as_str(),
            updated.content.as_str(),
            updated.ttl,
            updated.priority
        ),
        ("mx", "mail2.example.com", 120, Some(20))
    );
    let log = s.audit_log(a, 1, 1).unwrap();
    assert_eq!(
        log.items[0].detail,
        "changed @ MX mail.example.com (ttl 600) to mx MX 20 mail2.example.com (ttl 120)"
    );
    let changes = s.changes(a, "example.com", 0).unwrap();
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["create", "create", "create", "update", "update"]);
    assert_eq!(changes[4].record, updated);

    // Invalid patches change nothing.
    let bad = RecordPatch {
        content: Some("not a name".to_owned()),
        ttl: Some(1),
        ..RecordPatch::default()
    };
    let errors = invalid(s.update_record(a, "example.com", mx.id, &bad, &actor()));
    assert_eq!(errors[0], fe("ttl", "must be between 60 and 2592000"));
    assert_eq!(errors[1].field, "content");
    assert_eq!(s.record(a, "example.com", mx.id).unwrap(), updated);
    assert_eq!(
        s.update_record(a, "example.com", 9999, &RecordPatch::default(), &actor())
            .map(|(r, _)| r),
        Err(StoreError::NotFound("record"))
    );
}

#[test]
fn an_update_that_breaks_the_zone_is_refused() {
    let (s, a) = store_with_zone();
    s.create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let (c, _) = s
        .create_record(
            a,
            "example.com",
            &input("alias", "CNAME", "x.example.net"),
            &actor(),
        )
        .unwrap();
    let patch = RecordPatch {
        name: Some("www".to_owned()),
        ..RecordPatch::default()
    };
    assert_eq!(
        invalid(s.update_record(a, "example.com", c.id, &patch, &actor())),
        vec![fe("name", "CNAME beside other data at www.example.com.")]
    );
    assert_eq!(s.record(a, "example.com", c.id).unwrap(), c);
}

#[test]
fn system_records_cannot_be_changed_or_deleted() {
    let (s, a) = store_with_zone();
    let records = all_records(&s, a, "example.com");
    let (soa, ns) = (&records[0], &records[1]);
    let patch = RecordPatch {
        ttl: Some(600),
        ..RecordPatch::default()
    };
    assert_eq!(
        invalid(s.update_record(a, "example.com", soa.id, &patch, &actor())),
        vec![fe(
            "id",
            &format!(
                "record {} is a system record (SOA at the apex) and cannot be changed",
                soa.id
            )
        )]
    );
    assert_eq!(
        invalid(s.delete_record(a, "example.com", ns.id, &actor())),
        vec![fe(
            "id",
            &format!(
                "record {} is a system record (NS at the apex) and cannot be deleted",
                ns.id
            )
        )]
    );
    assert_eq!(all_records(&s, a, "example.com"), records);
}

#[test]
fn deleting_a_record() {
    let (s, a) = store_with_zone();
    let (rec, _) = s
        .create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let change = s.delete_record(a, "example.com", rec.id, &actor()).unwrap();
    assert_eq!(change.compiled.unwrap().record_count(), 3);
    assert_eq!(
        s.record(a, "example.com", rec.id),
        Err(StoreError::NotFound("record"))
    );
    assert!(matches!(
        s.delete_record(a, "example.com", rec.id, &actor()),
        Err(StoreError::NotFound("record"))
    ));
    // Ids are never given out twice.
    let (next, _) = s
        .create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    assert!(next.id > rec.id);
    s.delete_record(a, "example.com", next.id, &actor())
        .unwrap();
    let last = s.changes(a, "example.com", 0).unwrap().pop().unwrap();
    assert_eq!((last.action.as_str(), last.record.id), ("delete", next.id));
    assert_eq!(last.serial, change.zone.serial + 2);

    // A record id from another zone of the same account is NotFound here.
    s.create_zone(a, "example.net", &actor()).unwrap();
    let (other, _) = s
        .create_record(a, "example.net", &input("x", "A", "192.0.2.1"), &actor())
        .unwrap();
    assert_eq!(
        s.record(a, "example.com", other.id),
        Err(StoreError::NotFound("record"))
    );
    assert!(matches!(
        s.delete_record(a, "example.com", other.id, &actor()),
        Err(StoreError::NotFound("record"))
    ));
}

#[test]
fn record_listing_filters_sorts_and_pages() {
    let (s, a) = store_with_zone();
    for (name, rtype, content) in [
        ("www", "A", "192.0.2.3"),
        ("api", "A", "192.0.2.1"),
        ("www", "AAAA", "2001:db8::1"),
        ("mail", "A", "192.0.2.2"),
        ("", "TXT", "hello"),
    ] {
        s.create_record(a, "example.com", &input(name, rtype, content), &actor())
            .unwrap();
    }
    let list = |q: RecordQuery| -> Vec<String> {
        s.records(a, "example.com", &q)
            .unwrap()
            .items
            .into_iter()
            .map(|r| format!("{} {} {}", r.name, r.rtype, r.content))
            .collect()
    };
    assert_eq!(
        list(RecordQuery {
            name: Some("WWW".to_owned()),
            ..rq()
        }),
        ["www A 192.0.2.3", "www AAAA 2001:db8::1"]
    );
    assert_eq!(
        list(RecordQuery {
            name: Some("@".to_owned()),
            rtype: Some("txt".to_owned()),
            ..rq()
        }),
        [" TXT hello"]
    );
    assert_eq!(
        list(RecordQuery {
            name_like: Some("a".to_owned()),
            ..rq()
        }),
        ["api A 192.0.2.1", "mail A 192.0.2.2"]
    );
    assert_eq!(
        list(RecordQuery {
            rtype: Some("A".to_owned()),
            sort: Some("content:desc".to_owned()),
            ..rq()
        }),
        ["www A 192.0.2.3", "mail A 192.0.2.2", "api A 192.0.2.1"]
    );
    assert_eq!(
        list(RecordQuery {
            rtype: Some("A".to_owned()),
            sort: Some("name:asc".to_owned()),
            ..rq()
        }),
        ["api A 192.0.2.1", "mail A 192.0.2.2", "www A 192.0.2.3"]
    );
    let types: Vec<String> = s
        .records(
            a,
            "example.com",
            &RecordQuery {
                sort: Some("type:desc,name:asc".to_owned()),
                ..rq()
            },
        )
        .unwrap()
        .items
        .into_iter()
        .map(|r| format!("{}/{}", r.rtype, r.name))
        .collect();
    assert_eq!(
        types,
        [
            "TXT/", "SOA/", "NS/", "NS/", "AAAA/www", "A/api", "A/mail", "A/www"
        ]
    );
    let page = s
        .records(
            a,
            "example.com",
            &RecordQuery {
                per_page: 3,
                page: 3,
                ..rq()
            },
        )
        .unwrap();
    assert_eq!(
        (page.total_entries, page.total_pages, page.items.len()),
        (8, 3, 2)
    );
    assert_eq!(
        invalid(s.records(
            a,
            "example.com",
            &RecordQuery {
                sort: Some("ttl".to_owned()),
                ..rq()
            }
        )),
        vec![fe(
            "sort",
            "cannot sort by \"ttl\" (use id, name, content, type)"
        )]
    );
    assert_eq!(
        invalid(s.records(
            a,
            "example.com",
            &RecordQuery {
                per_page: 101,
                ..rq()
            }
        )),
        vec![fe("per_page", "must be between 1 and 100")]
    );
}
