//! Batches: all or nothing, one serial, errors naming their entry.

use super::*;
use crate::{RecordBatch, RecordPatch};

#[test]
fn a_batch_applies_everything_as_one_serial() {
    let (s, a) = store_with_zone();
    let (old_a, _) = s
        .create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let (txt, _) = s
        .create_record(a, "example.com", &input("", "TXT", "old"), &actor())
        .unwrap();
    let serial = s.zone(a, "example.com").unwrap().serial;
    // Replacing an A record by a CNAME at the same name only works because
    // the zone is checked as it is after the whole batch.
    let batch = RecordBatch {
        creates: vec![
            input("www", "CNAME", "web.example.net"),
            input("api", "A", "192.0.2.7"),
        ],
        updates: vec![(
            txt.id,
            RecordPatch {
                content: Some("new".to_owned()),
                ..RecordPatch::default()
            },
        )],
        deletes: vec![old_a.id],
    };
    let (records, change) = s.batch(a, "example.com", &batch, &actor()).unwrap();
    let shown: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| (r.name.as_str(), r.rtype.as_str(), r.content.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("www", "CNAME", "web.example.net"),
            ("api", "A", "192.0.2.7"),
            ("", "TXT", "new")
        ]
    );
    assert_eq!(change.zone.serial, serial + 1);
    assert_eq!(change.compiled.unwrap().serial(), serial + 1);
    let changes = s.changes(a, "example.com", serial).unwrap();
    let actions: Vec<(&str, u32)> = changes
        .iter()
        .map(|c| (c.action.as_str(), c.serial))
        .collect();
    assert_eq!(
        actions,
        [
            ("delete", serial + 1),
            ("update", serial + 1),
            ("create", serial + 1),
            ("create", serial + 1)
        ]
    );
    let log = s.audit_log(a, 1, 1).unwrap();
    assert_eq!(log.items[0].action, "records.batch");
    assert_eq!(log.items[0].detail, "2 created, 1 updated, 1 deleted");
}

#[test]
fn one_bad_entry_applies_nothing() {
    let (s, a) = store_with_zone();
    let (keep, _) = s
        .create_record(a, "example.com", &input("keep", "A", "192.0.2.1"), &actor())
        .unwrap();
    let before = all_records(&s, a, "example.com");
    let serial = s.zone(a, "example.com").unwrap().serial;
    let soa_id = before[0].id;

    let batch = RecordBatch {
        creates: vec![
            input("ok", "A", "192.0.2.2"),
            input("bad", "A", "192.0.2.300"),
        ],
        updates: vec![(
            keep.id,
            RecordPatch {
                ttl: Some(5),
                ..RecordPatch::default()
            },
        )],
        deletes: vec![soa_id],
    };
    assert_eq!(
        invalid(s.batch(a, "example.com", &batch, &actor())),
        vec![
            fe(
                "deletes[0]",
                &format!(
                    "record {soa_id} is a system record (SOA at the apex) and cannot be deleted"
                )
            ),
            fe("updates[0].ttl", "must be between 60 and 2592000"),
            fe("creates[1].content", "bad IPv4 address \"192.0.2.300\""),
        ]
    );
    // A batch that passes the field checks but breaks the zone.
    let batch = RecordBatch {
        creates: vec![
            input("x", "A", "192.0.2.2"),
            input("keep", "CNAME", "a.example.net"),
        ],
        ..RecordBatch::default()
    };
    assert_eq!(
        invalid(s.batch(a, "example.com", &batch, &actor())),
        vec![fe("name", "CNAME beside other data at keep.example.com.")]
    );
    // Duplicates inside the batch.
    let batch = RecordBatch {
        creates: vec![input("d", "A", "192.0.2.2"), input("d", "A", "192.0.2.2")],
        ..RecordBatch::default()
    };
    assert_eq!(
        invalid(s.batch(a, "example.com", &batch, &actor())),
        vec![fe(
            "creates[1].content",
            "a record with this name, type and content already exists"
        )]
    );
    let batch = RecordBatch {
        updates: vec![(keep.id, RecordPatch::default())],
        deletes: vec![keep.id],
        ..RecordBatch::default()
    };
    assert_eq!(
        invalid(s.batch(a, "example.com", &batch, &actor())),
        vec![fe("updates[0].id", "names a record twice in this batch")]
    );
    // Unknown ids.
    let batch = RecordBatch {
        deletes: vec![9999],
        ..RecordBatch::default()
    };
    assert!(matches!(
        s.batch(a, "example.com", &batch, &actor()),
        Err(StoreError::NotFound("record"))
    ));
    assert_eq!(
        invalid(s.batch(a, "example.com", &RecordBatch::default(), &actor())),
        vec![fe("batch", "has no changes")]
    );

    assert_eq!(all_records(&s, a, "example.com"), before);
    assert_eq!(s.zone(a, "example.com").unwrap().serial, serial);
}
