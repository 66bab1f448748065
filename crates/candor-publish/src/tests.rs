//! Tests of the publisher: never backwards, deletions are final, and the
//! last known good version of a zone that no longer compiles.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_store::{Actor, RecordInput, Store, StoreConfig, ZoneChange};
use candor_wire::Name;
use candor_zone::{ALIAS, ZoneSet};

use crate::{Outcome, Publisher, SharedZones, StartReport, serial_newer};

/// A name from text.
fn n(s: &str) -> Name {
    Name::from_text(s, None).unwrap()
}

/// The store configuration of the tests.
fn config() -> StoreConfig {
    StoreConfig {
        nameservers: vec![n("ns1.candor.test."), n("ns2.candor.test.")],
        hostmaster: n("admin.candor.test."),
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: vec!["192.0.2.80".parse().unwrap()],
        region: None,
    }
}

/// The actor of test changes.
fn actor() -> Actor {
    Actor {
        token_id: None,
        via: "cli",
        remote: None,
    }
}

/// A record input.
fn input(name: &str, rtype: &str, content: &str) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ttl: None,
        priority: None,
        regions: None,
    }
}

/// An empty served set.
fn shared() -> SharedZones {
    Arc::new(ArcSwap::from_pointee(ZoneSet::new()))
}

/// The serial served for `zone` (presentation form with the final dot).
fn served(zones: &SharedZones, zone: &str) -> Option<u32> {
    zones.load().get(n(zone).as_wire()).map(|z| z.serial())
}

/// A fresh temporary directory.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "candor-publish-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A store with zone `example.com` and the changes of three writes to it,
/// in commit order.
fn three_changes(store: &Store) -> (i64, Vec<ZoneChange>) {
    let account = store.create_account("a@example.org").unwrap().id;
    let mut changes = vec![store.create_zone(account, "example.com", &actor()).unwrap()];
    for i in 1..=2 {
        let (_, change) = store
            .create_record(
                account,
                "example.com",
                &input(&format!("w{i}"), "A", "192.0.2.1"),
                &actor(),
            )
            .unwrap();
        changes.push(change);
    }
    (account, changes)
}

#[test]
fn serials_compare_in_rfc_1982_arithmetic() {
    assert!(serial_newer(2, 1));
    assert!(!serial_newer(1, 2));
    assert!(!serial_newer(7, 7));
    assert!(serial_newer(0, u32::MAX));
    assert!(serial_newer(5, u32::MAX - 5));
    assert!(!serial_newer(u32::MAX, 0));
    // Exactly 2^31 apart is undefined: never counted as newer.
    assert!(!serial_newer(1 << 31, 0));
    assert!(!serial_newer(0, 1 << 31));
}

#[test]
fn an_older_version_never_replaces_a_newer_one() {
    let store = Store::open_in_memory(config()).unwrap();
    let (_, changes) = three_changes(&store);
    let zones = shared();
    let p = Publisher::new(zones.clone(), None);
    let newest = changes[2].zone.serial;
    assert_eq!(p.publish(&changes[2]), Outcome::Published);
    // A compile that read an older serial, published late (the race of a
    // follower against the API), is dropped.
    assert_eq!(p.publish(&changes[1]), Outcome::NotNewer { served: newest });
    assert_eq!(p.publish(&changes[2]), Outcome::NotNewer { served: newest });
    assert_eq!(served(&zones, "example.com."), Some(newest));
    assert_eq!(p.serial(changes[0].zone.id), Some(newest));
}

#[test]
fn subscribers_see_every_change_of_the_served_set() {
    let store = Store::open_in_memory(config()).unwrap();
    let (account, changes) = three_changes(&store);
    let p = Publisher::new(shared(), None);
    let mut rx = p.subscribe();
    let seen = |rx: &mut tokio::sync::watch::Receiver<u64>| rx.has_changed().unwrap_or(false);
    p.publish(&changes[1]);
    assert!(seen(&mut rx));
    rx.mark_unchanged();
    // Dropped versions change nothing.
    p.publish(&changes[0]);
    assert!(!seen(&mut rx));
    p.replace_files(ZoneSet::new());
    assert!(seen(&mut rx));
    rx.mark_unchanged();
    p.publish(&store.delete_zone(account, "example.com", &actor()).unwrap());
    assert!(seen(&mut rx));
}

#[test]
fn a_deleted_zone_is_never_published_again() {
    let store = Store::open_in_memory(config()).unwrap();
    let (account, changes) = three_changes(&store);
    let zones = shared();
    let p = Publisher::new(zones.clone(), None);
    p.publish(&changes[1]);
    let deleted = store.delete_zone(account, "example.com", &actor()).unwrap();
    assert_eq!(p.publish(&deleted), Outcome::Removed);
    assert_eq!(served(&zones, "example.com."), None);
    assert_eq!(p.publish(&changes[2]), Outcome::Deleted);
    assert_eq!(served(&zones, "example.com."), None);
    // Created again (a new id): served, and removing the old id (a late
    // follower) does not take the new zone down.
    let again = store.create_zone(account, "example.com", &actor()).unwrap();
    assert_ne!(again.zone.id, changes[0].zone.id);
    assert_eq!(p.publish(&again), Outcome::Published);
    p.remove(changes[0].zone.id);
    assert_eq!(served(&zones, "example.com."), Some(again.zone.serial));
}

#[test]
fn a_zone_created_again_elsewhere_replaces_the_old_id() {
    let store = Store::open_in_memory(config()).unwrap();
    let (account, changes) = three_changes(&store);
    let zones = shared();
    let p = Publisher::new(zones.clone(), None);
    p.publish(&changes[2]);
    // Another process deleted and created the zone; this one sees only
    // the new id.
    store.delete_zone(account, "example.com", &actor()).unwrap();
    let again = store.create_zone(account, "example.com", &actor()).unwrap();
    assert_eq!(p.publish(&again), Outcome::Published);
    assert_eq!(p.ids(), vec![again.zone.id]);
    p.remove(changes[0].zone.id);
    assert_eq!(served(&zones, "example.com."), Some(again.zone.serial));
}

#[test]
fn last_good_copies_round_trip_every_record() {
    let store = Store::open_in_memory(config()).unwrap();
    let account = store.create_account("a@example.org").unwrap().id;
    store.create_zone(account, "example.com", &actor()).unwrap();
    let mut last = None;
    for (name, rtype, content) in [
        ("", "ALIAS", "edge.cdn.example"),
        ("", "MX", "mail.example.com"),
        ("www", "CNAME", "example.com"),
        ("txt", "TXT", "hello \"world\""),
        ("go", "URL", "https://example.net/"),
        ("pool", "POOL", "a.cdn.example"),
        ("*.wild", "AAAA", "2001:db8::1"),
    ] {
        let (_, change) = store
            .create_record(
                account,
                "example.com",
                &input(name, rtype, content),
                &actor(),
            )
            .unwrap();
        last = Some(change);
    }
    let change = last.unwrap();
    let zone = change.compiled.clone().unwrap();
    let dir = temp_dir("round-trip");
    crate::write_last_good(&dir, change.zone.id, "example.com", &zone).unwrap();
    let read = crate::read_last_good(&dir, change.zone.id, &n("example.com.")).unwrap();
    let records = |z: &candor_zone::Zone| {
        let mut v: Vec<_> = z
            .records()
            .map(|r| (r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(records(&read), records(&zone));
    assert_eq!(read.serial(), zone.serial());
    assert!(records(&read).iter().any(|r| r.1 == ALIAS));
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join(format!("zone-{}.zone", change.zone.id));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the copy is private");
    // The wrong apex is refused, not served under another name.
    assert!(crate::read_last_good(&dir, change.zone.id, &n("example.org.")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A signed zone's last-known-good copy keeps its signatures and chain:
/// read back, it is the same signed zone (RRSIGs next to their RRsets,
/// the NSEC chain rebuilt), as served.
#[test]
fn last_good_copies_of_signed_zones_stay_signed() {
    let store = Store::open_in_memory(config()).unwrap();
    let account = store.create_account("a@example.org").unwrap().id;
    store.create_zone(account, "example.com", &actor()).unwrap();
    store
        .create_record(
            account,
            "example.com",
            &input("www", "A", "192.0.2.1"),
            &actor(),
        )
        .unwrap();
    let (_, change) = store
        .enable_dnssec(
            account,
            "example.com",
            candor_dnssec::Algorithm::EcdsaP256Sha256,
            &actor(),
        )
        .unwrap();
    let zone = change.compiled.clone().unwrap();
    assert!(zone.signed().is_some());
    let dir = temp_dir("signed-round-trip");
    crate::write_last_good(&dir, change.zone.id, "example.com", &zone).unwrap();
    let read = crate::read_last_good(&dir, change.zone.id, &n("example.com.")).unwrap();
    let records = |z: &candor_zone::Zone| {
        let mut v: Vec<_> = z
            .records()
            .map(|r| (r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(records(&read), records(&zone));
    assert!(
        records(&read)
            .iter()
            .any(|r| r.1 == candor_wire::Rtype::RRSIG)
    );
    let chain = |z: &candor_zone::Zone| z.signed().map(|p| p.chain().clone());
    assert_eq!(chain(&read), chain(&zone));
    let www = read.node(read.node_by_name(b"\x03www\x07example\x03com\0").unwrap());
    let a = read.rrset(www, candor_wire::Rtype::A).unwrap();
    assert!(!read.sig_tails(a).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Makes the stored zone `example.com` stop compiling, as a bug or a
/// migration could: a CNAME written straight into the database beside the
/// apex's other records.
fn break_zone(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO records (zone_id, name, rtype, rtype_code, content, ttl, regions, system,
                              rdata, created_at, updated_at)
         SELECT id, '', 'CNAME', 5, 'elsewhere.example', 3600, 'global', 0,
                X'09656c73657768657265076578616d706c6500', 0, 0
         FROM zones WHERE name = 'example.com'",
        [],
    )
    .unwrap();
}

#[test]
fn a_stored_zone_that_stops_compiling_serves_its_last_good_version() {
    let dir = temp_dir("start");
    let db = dir.join("candor.db");
    let copies = dir.join("last-good");
    let (zone_id, good_serial) = {
        let store = Store::open(&db, config()).unwrap();
        let (_, changes) = three_changes(&store);
        let p = Publisher::new(shared(), Some(copies.clone()));
        assert_eq!(
            p.start(&store).unwrap(),
            StartReport {
                compiled: 1,
                ..StartReport::default()
            }
        );
        assert_eq!(p.persist(), 1);
        assert_eq!(p.persist(), 0, "an unchanged zone is not copied again");
        (changes[2].zone.id, changes[2].zone.serial)
    };
    break_zone(&db);
    let store = Store::open(&db, config()).unwrap();
    let zones = shared();
    let p = Publisher::new(zones.clone(), Some(copies.clone()));
    let report = p.start(&store).unwrap();
    assert_eq!(
        report,
        StartReport {
            last_good: 1,
            ..StartReport::default()
        }
    );
    assert_eq!(served(&zones, "example.com."), Some(good_serial));
    let zone = zones
        .load()
        .get(n("example.com.").as_wire())
        .unwrap()
        .clone();
    assert!(zone.node_by_name(n("w2.example.com.").as_wire()).is_some());
    let failure = p.failure("example.com").expect("the failure is recorded");
    assert_eq!(failure.zone_id, zone_id);
    assert_eq!(failure.served_serial, Some(good_serial));
    assert!(failure.error.contains("CNAME"), "{}", failure.error);
    // The copy of the good version is not overwritten by anything worse.
    assert_eq!(p.persist(), 0);
    assert!(p.known_failure(zone_id, failure.stored_serial));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_copy_a_broken_zone_is_reported_and_others_serve() {
    let dir = temp_dir("no-copy");
    let db = dir.join("candor.db");
    {
        let store = Store::open(&db, config()).unwrap();
        let (account, _) = three_changes(&store);
        store.create_zone(account, "example.org", &actor()).unwrap();
    }
    break_zone(&db);
    let store = Store::open(&db, config()).unwrap();
    let zones = shared();
    let p = Publisher::new(zones.clone(), Some(dir.join("last-good")));
    let report = p.start(&store).unwrap();
    assert_eq!(
        report,
        StartReport {
            compiled: 1,
            unserved: 1,
            ..StartReport::default()
        }
    );
    assert!(served(&zones, "example.org.").is_some());
    assert_eq!(p.failure("example.com").unwrap().served_serial, None);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Zones from elsewhere (a catalog, a secondary zone) are served beside
/// the store's, stay across zone file reloads, and go when removed; a
/// copy written with `write_zone_copy` reads back the same.
#[test]
fn other_zones_are_served_beside_the_stores() {
    let zones = shared();
    let p = Publisher::new(zones.clone(), None);
    let text = "$TTL 60\n@ SOA ns h 5 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
    let other = candor_zone::load_zone_text(
        text.as_bytes(),
        std::path::Path::new("t"),
        &n("other.test."),
    )
    .unwrap();
    let changes = p.subscribe();
    let other = Arc::new(other);
    p.serve_other(other.clone());
    assert!(changes.has_changed().unwrap());
    assert_eq!(served(&zones, "other.test."), Some(5));
    let file_zone =
        candor_zone::load_zone_text(text.as_bytes(), std::path::Path::new("f"), &n("file.test."))
            .unwrap();
    p.replace_files(ZoneSet::from_zones([Arc::new(file_zone)]));
    assert_eq!(served(&zones, "other.test."), Some(5));
    assert_eq!(served(&zones, "file.test."), Some(5));
    p.remove_other(&n("OTHER.test."));
    assert_eq!(served(&zones, "other.test."), None);
    assert_eq!(served(&zones, "file.test."), Some(5));

    let dir = temp_dir("copy");
    crate::write_zone_copy(&dir, "other.test.zone", "a test copy", &other).unwrap();
    let back = crate::read_zone_copy(&dir.join("other.test.zone"), &n("other.test.")).unwrap();
    assert_eq!(back.records().count(), other.records().count());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("other.test.zone"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A compacted version replaces the served version of its serial (and an
/// older one), never a newer one, and never brings a deleted zone back.
#[test]
fn a_compacted_version_replaces_the_same_serial_but_never_goes_backwards() {
    let store = Store::open_in_memory(config()).unwrap();
    let (_, changes) = three_changes(&store);
    let zones = shared();
    let p = Publisher::new(zones.clone(), None);
    assert_eq!(p.publish(&changes[1]), Outcome::Published);
    let compact = |c: &ZoneChange| ZoneChange {
        zone: c.zone.clone(),
        compiled: c.compiled.as_ref().map(|z| Arc::new(z.compact().unwrap())),
    };
    let same = compact(&changes[1]);
    assert_eq!(p.publish_compacted(&same), Outcome::Published);
    let now = zones
        .load()
        .get(n("example.com.").as_wire())
        .cloned()
        .unwrap();
    assert!(Arc::ptr_eq(&now, same.compiled.as_ref().unwrap()));
    // The compaction of a write not yet published: newer, so published;
    // the write's own version then is not newer.
    let ahead = compact(&changes[2]);
    assert_eq!(p.publish_compacted(&ahead), Outcome::Published);
    let served_now = changes[2].zone.serial;
    assert_eq!(
        p.publish(&changes[2]),
        Outcome::NotNewer { served: served_now }
    );
    assert_eq!(
        p.publish_compacted(&same),
        Outcome::NotNewer { served: served_now }
    );
    p.remove(changes[0].zone.id);
    assert_eq!(p.publish_compacted(&ahead), Outcome::Deleted);
}
