//! Zones: creation, system records, lookup, isolation, listing, deletion.

use super::*;
use crate::time::{first_serial, now};

#[test]
fn a_new_zone_has_soa_and_apex_ns_as_system_records() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let change = s.create_zone(a.id, " Example.COM. ", &actor()).unwrap();
    let z = &change.zone;
    assert_eq!(z.name, "example.com");
    assert_eq!(z.account_id, a.id);
    assert!(!z.reverse);
    assert_eq!(z.serial, first_serial(now()));
    assert_eq!(z.serial % 100, 1);
    let compiled = change.compiled.unwrap();
    assert_eq!(compiled.serial(), z.serial);
    assert_eq!(compiled.record_count(), 3);
    assert_eq!(compiled.apex(), &n("example.com."));

    let records = all_records(&s, a.id, "example.com");
    let shown: Vec<(&str, &str, &str, bool)> = records
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.rtype.as_str(),
                r.content.as_str(),
                r.system_record,
            )
        })
        .collect();
    let soa = format!(
        "ns1.candor.test admin.candor.test {} 86400 7200 604800 300",
        z.serial
    );
    assert_eq!(
        shown,
        vec![
            ("", "SOA", soa.as_str(), true),
            ("", "NS", "ns1.candor.test", true),
            ("", "NS", "ns2.candor.test", true),
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.ttl == 3600 && r.regions == ["global"])
    );
    assert!(
        records
            .iter()
            .all(|r| r.zone_name == "example.com" && r.priority.is_none())
    );
}

#[test]
fn zone_names_are_checked_and_unique_across_accounts() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    s.create_zone(a.id, "example.com", &actor()).unwrap();
    let taken = Err(StoreError::Conflict(
        "zone example.com already exists".to_owned(),
    ));
    assert_eq!(
        s.create_zone(b.id, "EXAMPLE.com.", &actor())
            .map(|c| c.zone),
        taken
    );
    assert_eq!(
        s.create_zone(a.id, "example.com", &actor()).map(|c| c.zone),
        taken
    );
    assert_eq!(
        invalid(s.create_zone(a.id, "localhost", &actor())),
        vec![fe(
            "name",
            "must have at least two labels (like example.com)"
        )]
    );
    assert_eq!(
        invalid(s.create_zone(a.id, "", &actor())),
        vec![fe("name", "can't be blank")]
    );
    assert_eq!(invalid(s.create_zone(a.id, "a b.com", &actor())).len(), 1);
    assert_eq!(
        s.create_zone(999, "other.com", &actor()).map(|c| c.zone),
        Err(StoreError::NotFound("account"))
    );
    let reverse = s
        .create_zone(a.id, "2.0.192.in-addr.arpa", &actor())
        .unwrap();
    assert!(reverse.zone.reverse);
}

#[test]
fn zones_are_found_by_name_or_id_only_by_their_owner() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    let z = s.create_zone(a.id, "example.com", &actor()).unwrap().zone;
    assert_eq!(s.zone(a.id, "example.com").unwrap(), z);
    assert_eq!(s.zone(a.id, "Example.Com.").unwrap(), z);
    assert_eq!(s.zone(a.id, &z.id.to_string()).unwrap(), z);
    let nf = Err(StoreError::NotFound("zone"));
    assert_eq!(s.zone(a.id, "example.org"), nf);
    assert_eq!(s.zone(a.id, "99999999999999999999999"), nf);

    // Account B sees nothing of A's zone, whatever it tries.
    let act = actor();
    assert_eq!(s.zone(b.id, "example.com"), nf);
    assert_eq!(s.zone(b.id, &z.id.to_string()), nf);
    assert_eq!(s.zones(b.id, &zq(1, 10)).unwrap().total_entries, 0);
    assert!(matches!(
        s.records(b.id, "example.com", &rq()),
        Err(StoreError::NotFound("zone"))
    ));
    let records = all_records(&s, a.id, "example.com");
    assert!(matches!(
        s.record(b.id, "example.com", records[0].id),
        Err(StoreError::NotFound("zone"))
    ));
    let created = s.create_record(b.id, "example.com", &input("x", "A", "192.0.2.1"), &act);
    assert!(matches!(created, Err(StoreError::NotFound("zone"))));
    assert!(matches!(
        s.delete_record(b.id, "example.com", records[1].id, &act),
        Err(StoreError::NotFound("zone"))
    ));
    assert!(matches!(
        s.delete_zone(b.id, "example.com", &act),
        Err(StoreError::NotFound("zone"))
    ));
    assert_eq!(
        s.export_zone_file(b.id, "example.com"),
        Err(StoreError::NotFound("zone"))
    );
    assert_eq!(
        s.changes(b.id, "example.com", 0),
        Err(StoreError::NotFound("zone"))
    );
    assert!(matches!(
        s.import_zone_file(b.id, "example.com", b"", &act, &mut |_| {}),
        Err(StoreError::NotFound("zone"))
    ));
    // And A's zone is untouched.
    assert_eq!(s.zone(a.id, "example.com").unwrap(), z);
}

#[test]
fn zone_listing_pages_sorts_and_filters() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    for name in [
        "delta.com",
        "alpha.com",
        "echo.net",
        "charlie.com",
        "bravo.org",
    ] {
        s.create_zone(a.id, name, &actor()).unwrap();
    }
    s.create_zone(b.id, "foxtrot.com", &actor()).unwrap();
    let names = |p: &crate::Page<crate::ZoneInfo>| -> Vec<String> {
        p.items.iter().map(|z| z.name.clone()).collect()
    };

    let page = s.zones(a.id, &zq(1, 2)).unwrap();
    assert_eq!(names(&page), ["delta.com", "alpha.com"]);
    assert_eq!(
        (
            page.current_page,
            page.per_page,
            page.total_entries,
            page.total_pages
        ),
        (1, 2, 5, 3)
    );
    let page = s.zones(a.id, &zq(3, 2)).unwrap();
    assert_eq!(names(&page), ["bravo.org"]);
    assert_eq!(s.zones(a.id, &zq(4, 2)).unwrap().items.len(), 0);

    let mut q = zq(1, 10);
    q.sort = Some("name:desc".to_owned());
    assert_eq!(
        names(&s.zones(a.id, &q).unwrap()),
        [
            "echo.net",
            "delta.com",
            "charlie.com",
            "bravo.org",
            "alpha.com"
        ]
    );
    q.sort = Some("id:desc".to_owned());
    assert_eq!(names(&s.zones(a.id, &q).unwrap())[0], "bravo.org");
    q.sort = None;
    q.name_like = Some(".COM".to_owned());
    let page = s.zones(a.id, &q).unwrap();
    assert_eq!(names(&page), ["delta.com", "alpha.com", "charlie.com"]);
    assert_eq!(page.total_entries, 3);
    q.name_like = Some("%".to_owned());
    assert_eq!(s.zones(a.id, &q).unwrap().total_entries, 0);

    q.name_like = None;
    q.sort = Some("serial".to_owned());
    assert_eq!(
        invalid(s.zones(a.id, &q)),
        vec![fe("sort", "cannot sort by \"serial\" (use id, name)")]
    );
    assert_eq!(
        invalid(s.zones(a.id, &zq(0, 0))),
        vec![
            fe("page", "must be at least 1"),
            fe("per_page", "must be between 1 and 100")
        ]
    );
    assert_eq!(
        s.zones(999, &zq(1, 10)),
        Err(StoreError::NotFound("account"))
    );
}

#[test]
fn deleting_a_zone_removes_it_and_frees_the_name() {
    let (s, a) = store_with_zone();
    s.create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let change = s.delete_zone(a, "example.com", &actor()).unwrap();
    assert!(change.compiled.is_none());
    assert_eq!(change.zone.name, "example.com");
    assert_eq!(s.zone(a, "example.com"), Err(StoreError::NotFound("zone")));
    assert!(matches!(
        s.delete_zone(a, "example.com", &actor()),
        Err(StoreError::NotFound("zone"))
    ));
    let again = s.create_zone(a, "example.com", &actor()).unwrap();
    assert_eq!(user_records(&s, a, "example.com"), vec![]);
    assert_eq!(s.changes(a, "example.com", 0).unwrap().len(), 2);
    assert_ne!(again.zone.id, change.zone.id);
    let log = s.audit_log(a, 1, 10).unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["zone.create", "zone.delete", "record.create", "zone.create"]
    );
}

#[test]
fn compile_all_returns_every_zone() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    s.create_zone(a.id, "one.com", &actor()).unwrap();
    s.create_zone(b.id, "two.com", &actor()).unwrap();
    s.create_record(a.id, "one.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let all = s.compile_all().unwrap();
    let names: Vec<&str> = all.iter().map(|c| c.zone.name.as_str()).collect();
    assert_eq!(names, ["one.com", "two.com"]);
    let one = all[0].compiled.as_ref().unwrap();
    assert_eq!(one.record_count(), 4);
    assert_eq!(one.serial(), all[0].zone.serial);
}

#[test]
fn zones_cannot_nest_inside_another_accounts_zones() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    s.create_zone(a.id, "example.com", &actor()).unwrap();
    s.create_zone(a.id, "deep.sub.example.org", &actor())
        .unwrap();
    assert_eq!(
        s.create_zone(b.id, "x.example.com", &actor())
            .map(|c| c.zone),
        Err(StoreError::Conflict(
            "zone x.example.com would overlap zone example.com of another account".to_owned()
        ))
    );
    assert_eq!(
        s.create_zone(b.id, "example.org", &actor()).map(|c| c.zone),
        Err(StoreError::Conflict(
            "zone example.org would overlap zone deep.sub.example.org of another account"
                .to_owned()
        ))
    );
    // Similar names that are not nested are fine, and so is nesting
    // within one account.
    s.create_zone(b.id, "notexample.com", &actor()).unwrap();
    s.create_zone(b.id, "b.example.net", &actor()).unwrap();
    s.create_zone(a.id, "x.example.com", &actor()).unwrap();
    s.create_zone(a.id, "sub.example.org", &actor()).unwrap();
}
