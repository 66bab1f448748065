//! Tests of zone diffs: worked examples rendered as text, and a seeded
//! comparison with a naive model (the set difference of both versions'
//! records).

use std::collections::BTreeSet;
use std::path::Path;

use candor_wire::{Name, Rtype};
use expect_test::{Expect, expect};

use super::{OwnedRecord, ZoneDiff, canonical_name_cmp};
use crate::{Zone, load_zone_text};

/// Compiles zone text for `example.`.
fn build(text: &str) -> Zone {
    let origin = Name::from_text("example.", None).unwrap();
    load_zone_text(text.as_bytes(), Path::new("example.zone"), &origin).unwrap()
}

/// One record as a zone-file line.
fn line(r: &OwnedRecord) -> String {
    let owner = Name::from_wire(&r.owner).unwrap();
    format!(
        "{owner} {} {:?} {}",
        r.ttl,
        r.rtype,
        candor_zonefile::rdata_to_text(r.rtype, &r.rdata)
    )
}

/// Diffs two versions and compares the rendered diff with `expect`.
#[track_caller]
fn check(old: &str, new: &str, expect: Expect) {
    let diff = ZoneDiff::between(&build(old), &build(new));
    let mut text = format!("- {}\n+ {}\n", line(&diff.old_soa), line(&diff.new_soa));
    for r in &diff.removed {
        text += &format!("- {}\n", line(r));
    }
    for r in &diff.added {
        text += &format!("+ {}\n", line(r));
    }
    expect.assert_eq(&text);
}

const V1: &str = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n\
                  www A 192.0.2.1\nwww A 192.0.2.2\nmail MX 10 mx.other.\n";

#[test]
fn records_added_removed_and_names_gone() {
    check(
        V1,
        "$TTL 60\n@ SOA ns h 2 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n\
         www A 192.0.2.2\nwww A 192.0.2.3\nnew.deep TXT \"x\"\n",
        expect![[r#"
            - example. 60 SOA ns.example. h.example. 1 2 3 4 5
            + example. 60 SOA ns.example. h.example. 2 2 3 4 5
            - mail.example. 60 MX 10 mx.other.
            - www.example. 60 A 192.0.2.1
            + new.deep.example. 60 TXT "x"
            + www.example. 60 A 192.0.2.3
        "#]],
    );
}

#[test]
fn a_ttl_change_replaces_the_whole_rrset() {
    check(
        V1,
        "$TTL 60\n@ SOA ns h 2 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n\
         www 300 A 192.0.2.1\nwww 300 A 192.0.2.2\nmail MX 10 mx.other.\n",
        expect![[r#"
            - example. 60 SOA ns.example. h.example. 1 2 3 4 5
            + example. 60 SOA ns.example. h.example. 2 2 3 4 5
            - www.example. 60 A 192.0.2.1
            - www.example. 60 A 192.0.2.2
            + www.example. 300 A 192.0.2.1
            + www.example. 300 A 192.0.2.2
        "#]],
    );
}

#[test]
fn only_the_soa_changed() {
    let diff = ZoneDiff::between(&build(V1), &build(&V1.replace(" 1 2 3", " 7 2 3")));
    assert!(diff.is_empty());
    assert_eq!(diff.new_soa.rtype, Rtype::SOA);
}

#[test]
fn canonical_name_order() {
    // RFC 4034 §6.1's example, in order.
    let names = [
        "example.",
        "a.example.",
        "yljkjljk.a.example.",
        "z.a.example.",
        "zabc.a.example.",
        "z.example.",
        "\\001.z.example.",
        "*.z.example.",
        "\\200.z.example.",
    ];
    let wire: Vec<Vec<u8>> = names
        .iter()
        .map(|n| Name::from_text(n, None).unwrap().as_wire().to_vec())
        .collect();
    for (i, a) in wire.iter().enumerate() {
        for (j, b) in wire.iter().enumerate() {
            assert_eq!(
                canonical_name_cmp(a, b),
                i.cmp(&j),
                "{} vs {}",
                names[i],
                names[j]
            );
        }
    }
}

/// A xorshift generator: the model test is random but repeatable.
struct Rng(u64);

impl Rng {
    /// The next number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A random zone: a few names, types and TTLs, so that versions overlap.
fn random_zone(rng: &mut Rng, serial: u32) -> String {
    let mut text = format!("$TTL 60\n@ SOA ns h {serial} 2 3 4 5\n@ NS ns\n");
    for _ in 0..rng.below(30) {
        let name = ["www", "a.b", "b", "mail", "x.y.z", "ns"][rng.below(6) as usize];
        let ttl = [60, 300][rng.below(2) as usize];
        let rdata = match rng.below(3) {
            0 => format!("A 192.0.2.{}", rng.below(4)),
            1 => format!("TXT \"t{}\"", rng.below(3)),
            _ => format!("MX {} mx{}.other.", rng.below(2), rng.below(2)),
        };
        text += &format!("{name} {ttl} {rdata}\n");
    }
    text
}

/// The records of a zone, SOA excepted, as a set.
fn model(zone: &Zone) -> BTreeSet<(Vec<u8>, u16, u32, Vec<u8>)> {
    zone.records()
        .filter(|r| r.rtype != Rtype::SOA)
        .map(|r| (r.owner.to_vec(), r.rtype.0, r.ttl, r.rdata.to_vec()))
        .collect()
}

#[test]
fn diffs_match_the_set_difference() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        // A zone whose RRsets mix TTLs is refused; keep one TTL per RRset
        // by trying again.
        let text = |rng: &mut Rng, serial| loop {
            let text = random_zone(rng, serial);
            let origin = Name::from_text("example.", None).unwrap();
            if let Ok(z) = load_zone_text(text.as_bytes(), Path::new("x"), &origin) {
                return z;
            }
        };
        let old = text(&mut rng, round);
        let new = text(&mut rng, round + 1);
        let diff = ZoneDiff::between(&old, &new);
        let (m_old, m_new) = (model(&old), model(&new));
        let key = |r: &OwnedRecord| (r.owner.to_vec(), r.rtype.0, r.ttl, r.rdata.to_vec());
        let removed: BTreeSet<_> = diff.removed.iter().map(key).collect();
        let added: BTreeSet<_> = diff.added.iter().map(key).collect();
        assert_eq!(removed, &m_old - &m_new, "round {round}");
        assert_eq!(added, &m_new - &m_old, "round {round}");
        assert_eq!(removed.len(), diff.removed.len(), "no duplicates");
        assert!(
            diff.added
                .windows(2)
                .all(|w| w[0].canonical_cmp(&w[1]).is_lt())
        );
        assert_eq!(diff.new_soa.rdata.len(), diff.old_soa.rdata.len());
    }
}

/// `between_within` is `between` while the difference fits the budget
/// (48 bytes a record, its owner and RDATA, as the transfer journal
/// counts) and `None` past it, whether the records were removed, changed
/// or added at new names.
#[test]
fn a_bounded_diff_is_the_diff_or_nothing() {
    let new = "$TTL 60\n@ SOA ns h 2 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n\
               www A 192.0.2.2\nwww A 192.0.2.3\nnew.deep TXT \"x\"\n";
    let (old, new) = (build(V1), build(new));
    let full = ZoneDiff::between(&old, &new);
    let bytes: usize = full
        .removed
        .iter()
        .chain(&full.added)
        .map(|r| 48 + r.owner.len() + r.rdata.len())
        .sum();
    let within = ZoneDiff::between_within(&old, &new, bytes).expect("fits exactly");
    assert_eq!(within.removed, full.removed);
    assert_eq!(within.added, full.added);
    assert_eq!(within.old_soa, full.old_soa);
    assert_eq!(within.new_soa, full.new_soa);
    assert!(ZoneDiff::between_within(&old, &new, bytes - 1).is_none());
    assert!(ZoneDiff::between_within(&old, &old, 0).is_some());
}
