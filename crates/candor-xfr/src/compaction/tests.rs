//! Tests of a secondary zone's compaction: the compacted zone reads as the
//! zone held, at the same serial, with the IXFRs applied while it compiled
//! caught up, and the next IXFR patches its small overlay; a full
//! transfer meanwhile drops it.

use std::path::Path;

use candor_wire::{Name, Rtype};
use candor_zone::{OwnedRecord, load_zone_text};

use super::*;
use crate::client::{Step, apply_steps_patched, build_full, soa_record};

/// `sec.test.` at serial 1 with `h0`–`h199` at 192.0.2.1.
fn start() -> Arc<Zone> {
    let mut text = String::from(
        "$TTL 300\n@ SOA ns.sec.test. h.sec.test. 1 2 1 10 60\n@ NS ns\nns A 192.0.2.53\n",
    );
    for i in 0..200 {
        text.push_str(&format!("h{i} A 192.0.2.1\n"));
    }
    let origin = Name::from_text("sec.test.", None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin).unwrap())
}

/// An A record of `h{i}.sec.test.` at 192.0.2.`last`.
fn a(i: usize, last: u8) -> OwnedRecord {
    OwnedRecord {
        owner: Name::from_text(&format!("h{i}.sec.test."), None)
            .unwrap()
            .as_wire()
            .into(),
        rtype: Rtype::A,
        ttl: 300,
        rdata: [192, 0, 2, last].into(),
    }
}

/// Applies an IXFR of one step to `held`: the names `names` move from
/// .`old` to .`new`, serial + 1.
fn ixfr(held: &Arc<Zone>, names: std::ops::Range<usize>, old: u8, new: u8) -> Arc<Zone> {
    let mut soa = soa_record(held).unwrap();
    let serial = held.serial() + 1;
    let at = soa.rdata.len() - 20;
    soa.rdata[at..at + 4].copy_from_slice(&serial.to_be_bytes());
    let step = Step {
        from: held.serial(),
        to: serial,
        removed: names.clone().map(|i| a(i, old)).collect(),
        added: names.map(|i| a(i, new)).collect(),
    };
    Arc::new(apply_steps_patched(held, &[step], &soa).unwrap())
}

/// A zone's records as sorted text lines.
fn lines(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .records()
        .map(|r| format!("{:?} {} {} {:?}", r.owner, r.ttl, r.rtype, r.rdata))
        .collect();
    out.sort();
    out
}

#[test]
fn a_compaction_reads_as_the_zone_held_and_catches_up() {
    let v1 = start();
    let v2 = ixfr(&v1, 0..60, 1, 2);
    assert_eq!(v2.overlay_names(), 61, "60 names and the apex");
    assert!(Compaction::due(&v2, 100).is_none());
    let v3 = ixfr(&v2, 60..120, 1, 2);
    let compaction = Compaction::due(&v3, 100).expect("due at 100 names");
    assert!(Arc::ptr_eq(compaction.from(), &v3));
    let made = compaction.compile().unwrap();
    // Nothing arrived meanwhile: the fresh compile itself.
    let quiet = Compaction::due(&v3, 100)
        .unwrap()
        .finish(made, &v3)
        .unwrap();
    assert_eq!(quiet.overlay_names(), 0);
    assert_eq!((quiet.serial(), lines(&quiet)), (v3.serial(), lines(&v3)));

    // Two IXFRs while it compiles: caught up, the overlay holds their
    // names only.
    let compaction = Compaction::due(&v3, 100).unwrap();
    let made = compaction.compile().unwrap();
    let v4 = ixfr(&v3, 0..10, 2, 3);
    let v5 = ixfr(&v4, 150..155, 1, 4);
    let caught = Arc::new(compaction.finish(made, &v5).unwrap());
    assert_eq!((caught.serial(), lines(&caught)), (v5.serial(), lines(&v5)));
    assert_eq!(caught.overlay_names(), 16, "15 names and the apex");
    // The next IXFR patches the new base: a small overlay.
    let v6 = ixfr(&caught, 10..20, 2, 5);
    assert_eq!(v6.overlay_names(), 26);
    assert_eq!(lines(&v6), lines(&ixfr(&v5, 10..20, 2, 5)));

    // A full transfer meanwhile: nothing relates the versions.
    let compaction = Compaction::due(&v6, 1).unwrap();
    let made = compaction.compile().unwrap();
    let records: Vec<OwnedRecord> = v6.records().map(|r| OwnedRecord::from_record(&r)).collect();
    let axfr = Arc::new(build_full(v6.apex(), &records).unwrap());
    assert!(matches!(
        compaction.finish(made, &axfr),
        Err(PatchError::Rebuild(_))
    ));
}
