//! Regional records: validation in every view, and each server's view
//! compiled by the full compile and by the incremental path alike.

use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::Zone;

use crate::tests::{TempDir, config};
use crate::{Actor, RecordInput, RecordPatch, Store, StoreConfig, StoreError};

/// The actor of test changes.
fn actor() -> Actor {
    Actor {
        token_id: None,
        via: "cli",
        remote: None,
    }
}

/// A record input with regions.
fn input(name: &str, rtype: &str, content: &str, regions: Option<&[&str]>) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ttl: Some(300),
        priority: None,
        regions: regions.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
    }
}

/// The configuration of a server in `region`.
fn in_region(region: Option<&str>) -> StoreConfig {
    StoreConfig {
        region: region.map(str::to_owned),
        ..config()
    }
}

/// The A records at `name` of a compiled zone, as addresses.
fn addresses(zone: &Zone, name: &str) -> Vec<String> {
    let owner = Name::from_text(name, None).unwrap();
    zone.records()
        .filter(|r| r.owner == owner.as_wire() && r.rtype == Rtype::A)
        .map(|r| {
            format!(
                "{}.{}.{}.{}",
                r.rdata[0], r.rdata[1], r.rdata[2], r.rdata[3]
            )
        })
        .collect()
}

/// Whether the name exists in a compiled zone.
fn exists(zone: &Zone, name: &str) -> bool {
    let owner = Name::from_text(name, None).unwrap();
    zone.node_by_name(owner.as_wire()).is_some()
}

/// Regions are stored normalized, and the API's field error names
/// `regions` with the reason.
#[test]
fn regions_are_stored_normalized_and_refused_with_the_field() {
    let s = crate::tests::store();
    let account = s.create_account("a@example.org").unwrap();
    s.create_zone(account.id, "example.com", &actor()).unwrap();
    let (info, _) = s
        .create_record(
            account.id,
            "example.com",
            &input("www", "A", "192.0.2.7", Some(&["SV1", "ams"])),
            &actor(),
        )
        .unwrap();
    assert_eq!(info.regions, vec!["ams".to_owned(), "sv1".to_owned()]);
    let err = s
        .create_record(
            account.id,
            "example.com",
            &input("www", "A", "192.0.2.8", Some(&["global", "ams"])),
            &actor(),
        )
        .unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("not a field error: {err:?}")
    };
    assert_eq!(errors[0].field, "regions");
    assert_eq!(
        errors[0].message,
        "\"global\" cannot be combined with other regions"
    );
}

/// A regional CNAME beside a global A is refused, though no server
/// compiling the global view would see them together; a regional CNAME
/// beside records of another region only is accepted.
#[test]
fn every_view_must_be_a_valid_zone() {
    let s = crate::tests::store();
    let account = s.create_account("a@example.org").unwrap();
    s.create_zone(account.id, "example.com", &actor()).unwrap();
    let add = |r: &RecordInput| s.create_record(account.id, "example.com", r, &actor());
    add(&input("www", "A", "192.0.2.1", None)).unwrap();
    let err = add(&input("www", "CNAME", "other.example.net", Some(&["ams"]))).unwrap_err();
    let StoreError::Invalid(errors) = err else {
        panic!("not a field error: {err:?}")
    };
    assert_eq!(
        errors[0].message,
        "CNAME beside other data at www.example.com. (in region ams)"
    );
    add(&input("app", "A", "192.0.2.2", Some(&["sv1"]))).unwrap();
    add(&input("app", "CNAME", "ams.example.net", Some(&["ams"]))).unwrap();
    // The same conflict made by an update, and by a batch.
    let (a, _) = add(&input("api", "A", "192.0.2.3", Some(&["sv1"]))).unwrap();
    add(&input("api", "CNAME", "ams.example.net", Some(&["ams"]))).unwrap();
    let patch = RecordPatch {
        regions: Some(vec!["ams".to_owned(), "sv1".to_owned()]),
        ..RecordPatch::default()
    };
    let err = s
        .update_record(account.id, "example.com", a.id, &patch, &actor())
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("CNAME beside other data at api.example.com. (in region ams)"),
        "{err:?}"
    );
}

/// Two servers on one store file: the `ams` one compiles the `ams`
/// records, the global one does not, through full compiles and record
/// writes (the incremental path) alike.
#[test]
fn each_server_compiles_its_own_view() {
    let dir = TempDir::new("regions");
    let path = dir.path().join("candor.db");
    let global = Store::open(&path, in_region(None)).unwrap();
    let ams = Store::open(&path, in_region(Some("ams"))).unwrap();
    let account = global.create_account("a@example.org").unwrap();
    global
        .create_zone(account.id, "example.com", &actor())
        .unwrap();
    let write = |store: &Store, r: &RecordInput| -> Arc<Zone> {
        let (_, change) = store
            .create_record(account.id, "example.com", r, &actor())
            .unwrap();
        change.compiled.unwrap()
    };
    let shared = input("www", "A", "192.0.2.1", None);
    let regional = input("www", "A", "192.0.2.7", Some(&["ams", "sv1"]));
    let only = input("only.ams", "A", "192.0.2.9", Some(&["ams"]));
    // Writes by the ams server: its view, patched.
    write(&ams, &shared);
    write(&ams, &regional);
    let z = write(&ams, &only);
    assert_eq!(
        addresses(&z, "www.example.com."),
        ["192.0.2.1", "192.0.2.7"]
    );
    assert_eq!(addresses(&z, "only.ams.example.com."), ["192.0.2.9"]);
    // The global server compiles its view in full: no regional record,
    // and no empty non-terminal left by one.
    let zone_id = global.compile_all().unwrap()[0].zone.id;
    let g = global.compile_zone(zone_id).unwrap().compiled.unwrap();
    assert_eq!(addresses(&g, "www.example.com."), ["192.0.2.1"]);
    assert!(!exists(&g, "only.ams.example.com."));
    assert!(!exists(&g, "ams.example.com."));
    // A write by the global server patches its own view.
    let g = write(&global, &input("mail", "A", "192.0.2.5", None));
    assert_eq!(addresses(&g, "www.example.com."), ["192.0.2.1"]);
    assert!(!exists(&g, "only.ams.example.com."));
    let z = ams.compile_zone(zone_id).unwrap().compiled.unwrap();
    assert_eq!(addresses(&z, "mail.example.com."), ["192.0.2.5"]);
    assert_eq!(addresses(&z, "only.ams.example.com."), ["192.0.2.9"]);
    // A regional write by a server outside the region leaves its view as
    // it was (the name gets no node).
    let g2 = write(&global, &input("edge", "A", "192.0.2.6", Some(&["sv1"])));
    assert!(!exists(&g2, "edge.example.com."));
    // Only the apex's REGIONAL records (for Candor secondaries) grow.
    assert_eq!(g2.record_count(), g.record_count() + 1);
    // Patched or compiled in full, every view carries every regional
    // record at the apex, the same ones.
    let full = global.compile_zone(zone_id).unwrap().compiled.unwrap();
    assert_eq!(regional_set(&g2), regional_set(&full));
    let z = ams.compile_zone(zone_id).unwrap().compiled.unwrap();
    assert_eq!(regional_set(&z), regional_set(&full));
    assert_eq!(
        regional_set(&full),
        [
            "edge.example.com. A 300 sv1",
            "only.ams.example.com. A 300 ams",
            "www.example.com. A 300 ams,sv1",
        ]
    );
    // A record moved to another name and made global, through the
    // patched path: its REGIONAL record goes, the others stay.
    let (edge, _) = global
        .create_record(
            account.id,
            "example.com",
            &input("edge2", "A", "192.0.2.8", Some(&["fra"])),
            &actor(),
        )
        .unwrap();
    let patch = RecordPatch {
        name: Some("moved".to_owned()),
        regions: Some(vec!["global".to_owned()]),
        ..RecordPatch::default()
    };
    let (_, change) = global
        .update_record(account.id, "example.com", edge.id, &patch, &actor())
        .unwrap();
    let patched = change.compiled.unwrap();
    let full = global.compile_zone(zone_id).unwrap().compiled.unwrap();
    assert_eq!(regional_set(&patched), regional_set(&full));
    assert_eq!(regional_set(&patched).len(), 3);
}

/// The REGIONAL records at a zone's apex, as "owner type TTL regions",
/// sorted.
fn regional_set(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .records()
        .filter(|r| r.rtype == candor_zone::REGIONAL)
        .map(|r| {
            let d = candor_zone::regional::decode(r.rdata).unwrap();
            let owner = candor_wire::Name::from_wire(&d.owner).unwrap();
            format!("{owner} {} {} {}", d.rtype, d.ttl, d.regions.join(","))
        })
        .collect();
    out.sort();
    out
}

/// Export writes regional records on `;@regions` lines (comments to other
/// servers); importing the export gives the same records, regions
/// included; a bad region list is refused with its line.
#[test]
fn regional_records_round_trip_through_zone_files() {
    let s = crate::tests::store();
    let account = s.create_account("a@example.org").unwrap();
    s.create_zone(account.id, "example.com", &actor()).unwrap();
    let add = |r: &RecordInput| s.create_record(account.id, "example.com", r, &actor());
    add(&input("www", "A", "192.0.2.1", None)).unwrap();
    add(&input("www", "A", "192.0.2.7", Some(&["sv1", "ams"]))).unwrap();
    add(&input("txt", "TXT", "only here", Some(&["ams"]))).unwrap();
    let listing = |s: &Store| {
        let q = crate::RecordQuery {
            name: None,
            name_like: None,
            rtype: None,
            sort: Some("id:asc".to_owned()),
            page: 1,
            per_page: 100,
        };
        let mut all: Vec<String> = s
            .records(account.id, "example.com", &q)
            .unwrap()
            .items
            .into_iter()
            .filter(|r| !r.system_record)
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.name,
                    r.rtype,
                    r.content,
                    r.regions.join(",")
                )
            })
            .collect();
        all.sort();
        all
    };
    let before = listing(&s);
    let text = s.export_zone_file(account.id, "example.com").unwrap();
    assert!(
        text.contains("\nwww.example.com.\t300\tIN\tA\t192.0.2.1\n"),
        "{text}"
    );
    assert!(
        text.contains("\n;@regions ams,sv1 www.example.com.\t300\tIN\tA\t192.0.2.7\n"),
        "{text}"
    );
    assert!(
        text.contains("\n;@regions ams txt.example.com.\t300\tIN\tTXT\t\"only here\"\n"),
        "{text}"
    );
    let (summary, change) = s
        .import_zone_file(
            account.id,
            "example.com",
            text.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(listing(&s), before);
    // This store's view is the global one.
    let zone = change.compiled.unwrap();
    assert_eq!(addresses(&zone, "www.example.com."), ["192.0.2.1"]);
    assert!(!exists(&zone, "txt.example.com."));
    // A bad list, and a conflict in one region's view, name their lines.
    let bad = "$TTL 300\nwww A 192.0.2.1\n;@regions ams,AMS x A 192.0.2.2\n\
               ;@regions ams www CNAME elsewhere.example.net.\n";
    let err = s
        .import_zone_file(
            account.id,
            "example.com",
            bad.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("example.com.zone:3: regions: \\\"ams\\\" is listed twice"),
        "{err:?}"
    );
    let conflict = "$TTL 300\nwww A 192.0.2.1\n;@regions ams www CNAME elsewhere.example.net.\n";
    let err = s
        .import_zone_file(
            account.id,
            "example.com",
            conflict.as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("CNAME beside other data at www.example.com. (in region ams)"),
        "{err:?}"
    );
    assert_eq!(listing(&s), before, "a refused import changed the zone");
}
