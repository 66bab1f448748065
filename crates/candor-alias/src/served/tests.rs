//! Tests of the served zones' ALIAS targets: which targets are followed,
//! and that a patched version costs its change (no walk) and reads as a
//! walk of the new version would.

use std::path::Path;
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::{ZoneSet, load_zone_text};

use super::*;

/// A lower-cased wire name.
fn wire(text: &str) -> Box<[u8]> {
    Name::from_text(text, None)
        .unwrap()
        .to_lowercase()
        .as_wire()
        .into()
}

/// An ALIAS record of `owner` (absolute) to `target`.
fn alias(owner: &str, target: &str) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner),
        rtype: ALIAS,
        ttl: 300,
        rdata: Name::from_text(target, None).unwrap().as_wire().into(),
    }
}

/// An RFC 3597 ALIAS line.
fn alias_line(owner: &str, target: &str) -> String {
    let wire = Name::from_text(target, None).unwrap();
    let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
    format!("{owner} TYPE65304 \\# {} {hex}\n", wire.wire_len())
}

/// Zone `apex` with `body` after its SOA and NS.
fn zone(apex: &str, body: &str) -> Arc<Zone> {
    let text = format!("$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{body}");
    let origin = Name::from_text(apex, None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("z.zone"), &origin).unwrap())
}

/// The next version of `z`: `removed` and `added`, serial + 1.
fn patched(z: &Arc<Zone>, removed: Vec<OwnedRecord>, added: Vec<OwnedRecord>) -> Arc<Zone> {
    let soa = z
        .records()
        .find(|r| r.rtype == Rtype::SOA)
        .map(|r| OwnedRecord::from_record(&r))
        .unwrap();
    let mut new_soa = soa.clone();
    let serial = z.serial() + 1;
    let at = new_soa.rdata.len() - 20;
    new_soa.rdata[at..at + 4].copy_from_slice(&serial.to_be_bytes());
    let diff = ZoneDiff {
        old_soa: soa,
        new_soa,
        removed,
        added,
    };
    Arc::new(z.apply_diff(&diff).unwrap())
}

#[test]
fn targets_outside_every_served_zone_are_followed() {
    let mut body = alias_line("@", "www.b.");
    body.push_str(&alias_line("out", "WWW.Elsewhere.Test."));
    body.push_str(&alias_line("*.w", "www.elsewhere.test."));
    body.push_str(&alias_line("other", "cdn.example.net."));
    let a = zone("a.", &body);
    let b = zone("b.", "www A 192.0.2.7\n");
    let set = ZoneSet::from_zones([a, b]);
    let mut served = ServedTargets::default();
    assert!(served.update(&set));
    // www.b. is served: the answer path finds it itself.
    assert_eq!(
        served.outside(&set),
        ["cdn.example.net", "www.elsewhere.test"]
    );
    // Nothing changed: nothing is read again.
    assert!(!served.update(&set));
    assert_eq!(served.walks, 2);
    // Zone b. goes: its names are outside now.
    let only_a = set.without(&wire("b."));
    assert!(served.update(&only_a), "www.b. is outside now");
    assert_eq!(
        served.outside(&only_a),
        ["cdn.example.net", "www.b", "www.elsewhere.test"]
    );
    // Zone a. goes: nothing is followed.
    assert!(served.update(&ZoneSet::new()));
    assert!(served.outside(&ZoneSet::new()).is_empty());
}

#[test]
fn a_patched_version_costs_its_change_and_reads_as_a_walk() {
    let mut body = String::new();
    for i in 0..50 {
        body.push_str(&format!("h{i} A 192.0.2.{i}\n"));
    }
    body.push_str(&alias_line("one", "t1.out.test."));
    body.push_str(&alias_line("two", "t1.out.test."));
    body.push_str(&alias_line("three", "t2.out.test."));
    let v1 = zone("a.", &body);
    let mut served = ServedTargets::default();
    served.update(&ZoneSet::from_zones([v1.clone()]));
    assert_eq!(served.walks, 1);

    // One of two ALIAS records to t1 goes: t1 is still followed.
    let v2 = patched(&v1, vec![alias("one.a.", "t1.out.test.")], Vec::new());
    let set = ZoneSet::from_zones([v2.clone()]);
    assert!(!served.update(&set));
    assert_eq!(served.outside(&set), ["t1.out.test", "t2.out.test"]);
    // The second goes and a new target comes (at a new name).
    let v3 = patched(
        &v2,
        vec![alias("two.a.", "t1.out.test.")],
        vec![alias("four.a.", "T3.Out.Test.")],
    );
    let set = ZoneSet::from_zones([v3.clone()]);
    assert!(served.update(&set));
    assert_eq!(served.outside(&set), ["t2.out.test", "t3.out.test"]);
    // A compaction of that version (same records, a new base).
    let v4 = Arc::new(v3.compact().unwrap());
    let set = ZoneSet::from_zones([v4.clone()]);
    assert!(!served.update(&set));
    assert_eq!(
        served.walks, 1,
        "patched and compacted versions cost their change"
    );
    // The same as walking the last version.
    let mut fresh = ServedTargets::default();
    fresh.update(&set);
    assert_eq!(fresh.outside(&set), served.outside(&set));
    assert_eq!(
        fresh.zones[&wire("a.")].targets,
        served.zones[&wire("a.")].targets
    );
    // An unrelated version of the zone (a new AXFR) is walked.
    let set = ZoneSet::from_zones([zone("a.", &alias_line("x", "t9.out.test."))]);
    assert!(served.update(&set));
    assert_eq!(served.walks, 2);
    assert_eq!(served.outside(&set), ["t9.out.test"]);
}
