//! Background compaction: writes keep patching while it runs, nothing they
//! wrote is lost, and what it swaps in reads as a full compile of the rows.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use candor_zone::{Lookup, OwnedRecord, Zone};

use crate::tests::{actor, store};
use crate::{RecordInput, Store, StoreError, ZoneChange, compile, zones};

use super::Compactor;

/// An A record at `name`.
fn a(name: &str, last: u8) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: "A".to_owned(),
        content: format!("192.0.2.{last}"),
        ttl: Some(600),
        priority: None,
        regions: None,
    }
}

/// A zone's records, sorted.
fn records(z: &Zone) -> Vec<OwnedRecord> {
    let mut v: Vec<OwnedRecord> = z.records().map(|r| OwnedRecord::from_record(&r)).collect();
    v.sort_by(OwnedRecord::canonical_cmp);
    v
}

/// The zone compiled afresh from every stored row.
fn full(s: &Store, account: i64) -> Zone {
    s.read(|tx| {
        let z = zones::find_zone(tx, account, "example.com")?;
        let apex = z.apex()?;
        compile::compile_stored(tx, z.id, &apex, &s.config)
            .map(|r| r.map_err(|e| StoreError::Db(format!("{e:?}"))))?
    })
    .unwrap()
}

/// What a lookup of `name` finds, without node ids (which differ between
/// a patched and a compiled version).
fn seen(z: &Zone, name: &[u8]) -> String {
    let node = |id| {
        let sets: Vec<String> = z
            .rrsets(z.node(id))
            .iter()
            .map(|s| format!("{} {:?} {}", s.rtype, z.tails(s), z.additional(s).len()))
            .collect();
        format!("{:?} {sets:?}", z.name_bytes(id))
    };
    match z.lookup(name) {
        Lookup::Exact(n) => format!("exact {}", node(n.id)),
        Lookup::Delegation { cut, at_cut } => format!("cut {} {at_cut}", node(cut)),
        Lookup::Dname(n) => format!("dname {}", node(n)),
        Lookup::Wildcard(n) => format!("wild {}", node(n.id)),
        Lookup::NxDomain(n) => format!("nx {}", node(n)),
    }
}

/// Checks that a version reads as the full compile of the rows now: the
/// records, and what every owner and a name below it look up to.
fn same_as_rows(s: &Store, account: i64, got: &Zone) {
    let want = full(s, account);
    assert_eq!(got.serial(), want.serial());
    assert_eq!(records(got), records(&want));
    for r in want.records() {
        let mut child = b"\x02zz".to_vec();
        child.extend_from_slice(r.owner);
        for name in [r.owner, &child[..]] {
            assert_eq!(seen(got, name), seen(&want, name));
        }
    }
}

/// A store with an account and a zone in a shared handle.
fn setup() -> (Arc<Store>, i64, i64) {
    let s = store();
    let account = s.create_account("a@example.org").unwrap().id;
    let zone = s.create_zone(account, "example.com", &actor()).unwrap();
    (Arc::new(s), account, zone.zone.id)
}

/// Many writes of new names with the compaction thread running: the
/// overlay crosses the threshold again and again, each time the thread
/// compacts it while writes go on, and the writes after a swap patch the
/// new base (the overlay they leave shrinks). Every write's zone and every
/// compacted version read as the full compile of the rows they stand for.
#[test]
fn many_writes_cross_the_threshold_and_are_compacted_while_writes_go_on() {
    let (s, account, _) = setup();
    let (tx, rx) = mpsc::channel::<ZoneChange>();
    let compactor = Compactor::spawn(Arc::clone(&s), 16, move |c| {
        let _ = tx.send(c);
    })
    .unwrap();
    let mut by_serial: Vec<(u32, Vec<OwnedRecord>)> = Vec::new();
    let (mut shrank, mut last, mut most) = (0, 0, 0);
    for i in 0..400u32 {
        let (_, change) = s
            .create_record(
                account,
                "example.com",
                &a(&format!("n{i}"), (i % 250) as u8),
                &actor(),
            )
            .unwrap();
        let z = change.compiled.unwrap();
        if i % 25 == 0 {
            same_as_rows(&s, account, &z);
        }
        let names = z.overlay_names();
        shrank += usize::from(names < last);
        (last, most) = (names, most.max(names));
        by_serial.push((z.serial(), records(&z)));
        if i % 50 == 49 {
            // Give the thread time to finish one while no write runs too.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(compactor);
    let compacted: Vec<ZoneChange> = rx.try_iter().collect();
    assert!(compacted.len() >= 3, "{} compactions", compacted.len());
    assert!(shrank >= 3, "the overlay shrank {shrank} times");
    // Never near the overlay's limit, where a write would compile in full.
    assert!(most < 200, "the overlay grew to {most} names");
    for c in &compacted {
        let z = c.compiled.as_ref().unwrap();
        assert_eq!(c.zone.serial, z.serial());
        let written = by_serial.iter().find(|(serial, _)| *serial == z.serial());
        assert_eq!(
            Some(&records(z)),
            written.map(|(_, r)| r),
            "serial {}",
            z.serial()
        );
    }
    // What the store keeps last reads as the rows.
    let (_, kept) = s.compiled.current(compacted[0].zone.id).unwrap();
    same_as_rows(&s, account, &kept);
}

/// A write that lands while the base compiles ends up in the version
/// swapped in, and the next write patches that version.
#[test]
fn a_write_racing_the_compaction_is_not_lost() {
    let (s, account, zone_id) = setup();
    for i in 0..8 {
        s.create_record(account, "example.com", &a(&format!("n{i}"), i), &actor())
            .unwrap();
    }
    let (_, from) = s.compiled.current(zone_id).unwrap();
    assert!(from.overlay_names() >= 8);
    let compacted = Arc::new(from.compact().unwrap());
    // The racing write, on the old base.
    let (_, racing) = s
        .create_record(account, "example.com", &a("racer", 99), &actor())
        .unwrap();
    let change = s
        .catch_up_and_swap(zone_id, from, compacted, &mut Vec::new())
        .unwrap()
        .unwrap();
    let swapped = change.compiled.unwrap();
    assert_eq!(
        records(&swapped),
        records(racing.compiled.as_ref().unwrap())
    );
    same_as_rows(&s, account, &swapped);
    assert_eq!(swapped.overlay_names(), 2, "the racer and the apex");
    let (_, kept) = s.compiled.current(zone_id).unwrap();
    assert!(Arc::ptr_eq(&kept, &swapped));
    // The next write patches the swapped-in version.
    let (_, next) = s
        .create_record(account, "example.com", &a("after", 7), &actor())
        .unwrap();
    let next = next.compiled.unwrap();
    assert_eq!(next.overlay_names(), 3);
    same_as_rows(&s, account, &next);
}

/// A kept version the row has moved past (another process wrote) is not
/// compacted but let go.
#[test]
fn a_stale_version_is_let_go_not_compacted() {
    let (s, account, zone_id) = setup();
    for i in 0..4 {
        s.create_record(account, "example.com", &a(&format!("n{i}"), i), &actor())
            .unwrap();
    }
    // Another process's write: the serial moves, nothing is kept for it.
    s.write(|tx| {
        tx.execute(
            "UPDATE zones SET serial = serial + 1, updated_at = updated_at + 1 WHERE id = ?1",
            [zone_id],
        )?;
        Ok(())
    })
    .unwrap();
    let stop = AtomicBool::new(false);
    let got = s
        .compact_due(2, Duration::from_millis(10), &mut Vec::new(), &stop)
        .unwrap();
    assert!(got.is_none());
    assert!(s.compiled.current(zone_id).is_none());
}
