//! Tests of signed zones: RRSIGs next to the RRsets they cover, the NSEC
//! chain, and that unsigned zones' hot structs did not grow.

use std::path::Path;

use candor_wire::{Name, Rtype};

use crate::{Lookup, NodeRef, RrSet, Zone, ZoneDiff, load_zone_text};

/// Compiles zone text for `example.`; returns the zone or the errors as text.
fn build(text: &str) -> Result<Zone, String> {
    let origin = Name::from_text("example.", None).unwrap();
    load_zone_text(text.as_bytes(), Path::new("example.zone"), &origin)
        .map_err(|errors| errors.iter().map(|e| format!("{e}\n")).collect())
}

/// A small zone with RRSIG and NSEC records in the signer's shape (the
/// signatures' bytes do not matter here: nothing is verified).
const SIGNED: &str = "$TTL 60
@ SOA ns h 1 2 3 4 5
@ NS ns
@ NSEC ns.example. NS SOA RRSIG NSEC
@ RRSIG SOA 13 1 60 20270101000000 20261201000000 1 example. AAAA
@ RRSIG NS 13 1 60 20270101000000 20261201000000 1 example. AAAB
@ RRSIG NSEC 13 1 60 20270101000000 20261201000000 1 example. AAAC
ns A 192.0.2.1
ns NSEC www.example. A RRSIG NSEC
ns RRSIG A 13 2 60 20270101000000 20261201000000 1 example. AAAD
ns RRSIG NSEC 13 2 60 20270101000000 20261201000000 1 example. AAAE
www A 192.0.2.2
www RRSIG A 13 2 60 20270101000000 20261201000000 1 example. AAAF
www RRSIG A 13 2 60 20270101000000 20261201000000 2 example. AAAG
www NSEC example. A RRSIG NSEC
www RRSIG NSEC 13 2 60 20270101000000 20261201000000 1 example. AAAH
";

#[test]
fn hot_structs_did_not_grow() {
    // The RRSIG length fits the RrSet's padding; the lookup view and the
    // node are untouched; a zone pays one pointer for its chain.
    assert_eq!(size_of::<RrSet>(), 24);
    assert_eq!(size_of::<NodeRef>(), 16);
    assert_eq!(size_of::<crate::Node>(), 16);
    assert_eq!(size_of::<Option<Box<super::SignedParts>>>(), 8);
}

#[test]
fn rrsigs_follow_the_rrsets_they_cover() {
    let zone = build(SIGNED).unwrap();
    let www = zone.node(zone.node_by_name(b"\x03www\x07example\0").unwrap());
    let types: Vec<Rtype> = zone.rrsets(www).iter().map(|s| s.rtype).collect();
    assert_eq!(
        types,
        [Rtype::A, Rtype::NSEC],
        "RRSIG is no RRset of its own"
    );
    let a = zone.rrset(www, Rtype::A).unwrap();
    assert_eq!(a.count, 1);
    let sigs = zone.sig_tails(a);
    // Two RRSIGs (key tags 1 and 2), each a tail of type RRSIG.
    let mut n = 0;
    let mut pos = 0;
    while pos < sigs.len() {
        assert_eq!(&sigs[pos..pos + 2], &Rtype::RRSIG.0.to_be_bytes());
        assert_eq!(&sigs[pos + 10..pos + 12], &Rtype::A.0.to_be_bytes());
        pos += 10 + usize::from(u16::from_be_bytes([sigs[pos + 8], sigs[pos + 9]]));
        n += 1;
    }
    assert_eq!(n, 2);
    // The RRset's own tails hold only the A record.
    assert_eq!(zone.tails(a).len(), 10 + 4);
    assert_eq!(zone.record_count(), 15);
    // `records` gives each RRset followed by its RRSIGs.
    let listed: Vec<(String, Rtype)> = zone
        .records()
        .map(|r| (Name::from_wire(r.owner).unwrap().to_string(), r.rtype))
        .filter(|(o, _)| o == "www.example.")
        .collect();
    let types: Vec<Rtype> = listed.iter().map(|(_, t)| *t).collect();
    assert_eq!(
        types,
        [
            Rtype::A,
            Rtype::RRSIG,
            Rtype::RRSIG,
            Rtype::NSEC,
            Rtype::RRSIG
        ]
    );
}

#[test]
fn chain_is_canonical_and_finds_covering_nodes() {
    let zone = build(SIGNED).unwrap();
    let parts = zone.signed().unwrap();
    assert_eq!(parts.chain().len(), 3);
    let id = |n: &[u8]| zone.node_by_name(n).unwrap();
    assert_eq!(parts.covering(b"\x07example\0"), Ok(0));
    assert_eq!(
        parts.covering(b"\x03www\x07example\0"),
        Ok(id(b"\x03www\x07example\0"))
    );
    // Between ns and www.
    assert_eq!(
        parts.covering(b"\x02nx\x07example\0"),
        Err(id(b"\x02ns\x07example\0"))
    );
    // Before ns: the apex's NSEC; after www: www's (it wraps around).
    assert_eq!(parts.covering(b"\x01a\x07example\0"), Err(0));
    assert_eq!(
        parts.covering(b"\x01z\x07example\0"),
        Err(id(b"\x03www\x07example\0"))
    );
    assert_eq!(
        parts.covering(b"\x01a\x03www\x07example\0"),
        Err(id(b"\x03www\x07example\0"))
    );
    assert!(matches!(
        zone.lookup(b"\x02nx\x07example\0"),
        Lookup::NxDomain(0)
    ));
}

#[test]
fn unsigned_zones_have_no_chain_and_no_signature_bytes() {
    let zone = build("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n").unwrap();
    assert!(zone.signed().is_none());
    for r in zone.records() {
        assert_ne!(r.rtype, Rtype::RRSIG);
    }
    let ns = zone.node(zone.node_by_name(b"\x02ns\x07example\0").unwrap());
    assert!(zone.sig_tails(zone.rrset(ns, Rtype::A).unwrap()).is_empty());
}

/// An RRSIG over a type its name does not have (Knot loads such a zone
/// file) is kept as an RRSIG RRset of its own, not dropped or refused; one
/// over a type the name has goes next to that RRset.
#[test]
fn an_rrsig_over_a_missing_rrset_is_an_rrsig_rrset() {
    let text = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n\
                ns A 192.0.2.1\n\
                ns RRSIG MX 13 2 60 20270101000000 20261201000000 1 example. AAAA\n\
                ns RRSIG A 13 2 60 20270101000000 20261201000000 1 example. AAAB\n";
    let zone = build(text).unwrap();
    let Lookup::Exact(ns) = zone.lookup(b"\x02ns\x07example\0") else {
        panic!("ns.example. not found");
    };
    let own = zone
        .rrset(ns, Rtype::RRSIG)
        .expect("the orphan RRSIG RRset");
    assert_eq!(own.count, 1);
    let a = zone.rrset(ns, Rtype::A).expect("A");
    assert!(!zone.sig_tails(a).is_empty());
    assert_eq!(zone.record_count(), 5);
}

#[test]
fn diffs_carry_changed_signatures() {
    let old = build(SIGNED).unwrap();
    let new_text = SIGNED
        .replace("1 2 3 4 5", "2 2 3 4 5")
        .replace("1 example. AAAA", "1 example. AAAI")
        .replace("www A 192.0.2.2\n", "www A 192.0.2.2\nwww TXT hi\n")
        .replace(
            "A RRSIG NSEC\nwww RRSIG NSEC",
            "A TXT RRSIG NSEC\nwww RRSIG NSEC",
        )
        + "www RRSIG TXT 13 2 60 20270101000000 20261201000000 1 example. AAAJ\n";
    let new = build(&new_text).unwrap();
    let diff = ZoneDiff::between(&old, &new);
    let show = |rs: &[crate::OwnedRecord]| -> Vec<(String, Rtype)> {
        rs.iter()
            .map(|r| (Name::from_wire(&r.owner).unwrap().to_string(), r.rtype))
            .collect()
    };
    let www = "www.example.".to_owned();
    let apex = "example.".to_owned();
    assert_eq!(
        show(&diff.removed),
        [(apex.clone(), Rtype::RRSIG), (www.clone(), Rtype::NSEC)]
    );
    assert_eq!(
        show(&diff.added),
        [
            (apex, Rtype::RRSIG),
            (www.clone(), Rtype::TXT),
            (www.clone(), Rtype::RRSIG),
            (www, Rtype::NSEC)
        ]
    );
}

/// The chain's index (8-byte heads after the apex's key, their upper level
/// and first-byte buckets, each alone and together, searched from the
/// labels below the apex or from the whole key) gives what the plain
/// binary search over keys gives, for names that share the heads
/// (long common prefixes), names that end inside them, the apex, names
/// before and after every entry, and names outside the zone; and the
/// apex's wildcard NSEC is the one covering `*.<apex>`.
#[test]
fn the_chain_index_finds_what_the_keys_find() {
    let wire = |t: &str| Name::from_text(t, None).unwrap().as_wire().to_vec();
    let mut names: Vec<Vec<u8>> = vec![wire("example.")];
    for i in 0..300u32 {
        names.push(wire(&format!("hostnamelong{i}.example.")));
        names.push(wire(&format!("h{}.example.", i % 7)));
        names.push(wire(&format!("x.hostnamelong{}.example.", i * 3)));
        // Ties past the second 8 bytes too.
        names.push(wire(&format!("hostnamelongest-{}.example.", i % 40)));
    }
    names.push(wire("!.example."));
    for awkward in ["\\000", "\\001", "\\000\\001a", "\\001\\000", "a\\000"] {
        names.push(wire(&format!("{awkward}.example.")));
    }
    names.sort_by(|a, b| crate::canonical_name_cmp(a, b));
    names.dedup();
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let chain = super::Chain::new(&refs);
    assert!(chain.heads.is_some() && chain.skip > 0, "indexed");
    assert_eq!(chain.buckets.len(), 257, "bucketed");
    assert_eq!(
        chain.upper.first().map(|l| l.len),
        Some(chain.len().div_ceil(super::UPPER)),
        "leveled"
    );
    // 614 names: levels of 77, 10 and 2 entries, the top one line.
    assert_eq!(chain.upper.len(), 3, "a B-tree of lines");
    assert!(chain.upper.last().is_some_and(|l| l.lines.len() == 1));
    let mut plain = chain.clone();
    plain.heads = None;
    plain.seconds = Vec::new();
    plain.buckets = Vec::new();
    plain.upper = Vec::new();
    let mut unbucketed = chain.clone();
    unbucketed.buckets = Vec::new();
    let mut unleveled = chain.clone();
    unleveled.upper = Vec::new();
    let mut heads_only = unleveled.clone();
    heads_only.buckets = Vec::new();
    let mut unseconded = chain.clone();
    unseconded.seconds = Vec::new();
    assert_eq!(chain.seconds.len(), chain.len(), "seconds built");
    assert_eq!(
        chain.apex,
        wire("example."),
        "the apex read back from its key"
    );
    // Heads at each bucket's ends and one off them: the search places
    // them where the plain search over all heads does (the bucket-end
    // checks and the B-tree alike).
    let heads = chain.heads.as_deref().unwrap();
    for b in 0..256 {
        let (from, to) = (chain.buckets[b] as usize, chain.buckets[b + 1] as usize);
        if from == to {
            continue;
        }
        for edge in [heads[from], heads[to - 1], heads[(from + to) / 2]] {
            for h in [edge.wrapping_sub(1), edge, edge.wrapping_add(1)] {
                if (h >> 56) as usize != b {
                    continue;
                }
                assert_eq!(
                    chain.lower_bound(heads, (from, to), h, |_| {}),
                    heads.partition_point(|&x| x < h),
                    "bucket {b}, head {h:#x}"
                );
            }
        }
    }
    let mut keyed = chain.clone();
    keyed.apex = Vec::new();
    let mut probes: Vec<Vec<u8>> = names.clone();
    for i in 0..400u32 {
        probes.push(wire(&format!("h{i}.example.")));
        probes.push(wire(&format!("h{}z.example.", i % 9)));
        probes.push(wire(&format!("a.h{}.example.", i % 9)));
        probes.push(wire(&format!("hostnamelong{}.example.", i + 1000)));
        probes.push(wire(&format!("hostnamelong{i}x.example.")));
        probes.push(wire(&format!("hostname{i}.example.")));
        probes.push(wire(&format!("y.hostnamelong{i}.example.")));
        probes.push(wire(&format!("hostnamelong{i}.example.")));
        probes.push(wire(&format!("hostnamelongest-{}.example.", i % 50)));
        probes.push(wire(&format!("hostnamelongest-{}a.example.", i % 50)));
        probes.push(wire(&format!("hostnamelonges{i}.example.")));
        probes.push(wire(&format!("hostnamel{i}.example.")));
    }
    for extra in [
        "*.example.",
        "a.example.",
        "zzzz.example.",
        "example.",
        "other.",
        ".",
        // Bytes 0 and 1 (escaped in keys) within and after 8 bytes.
        "\\000.example.",
        "h\\001.example.",
        "hostname\\000x.example.",
        "\\000\\000.example.",
        "\\000\\001b.example.",
        "\\000\\002.example.",
        "\\000\\000\\000\\000\\000\\000\\000\\000\\000.example.",
        // The apex's bytes at the end of a label, not a label of their own.
        "a\\007example.",
    ] {
        probes.push(wire(extra));
    }
    for name in &probes {
        assert_eq!(chain.covering(name), plain.covering(name), "{name:?}");
        assert_eq!(unbucketed.covering(name), plain.covering(name), "{name:?}");
        assert_eq!(unleveled.covering(name), plain.covering(name), "{name:?}");
        assert_eq!(heads_only.covering(name), plain.covering(name), "{name:?}");
        assert_eq!(unseconded.covering(name), plain.covering(name), "{name:?}");
        assert_eq!(keyed.covering(name), plain.covering(name), "{name:?}");
        // Told where the apex starts (its bytes not compared): names
        // ending with it, whether or not a label starts there.
        let apex = wire("example.");
        if name.ends_with(&apex) {
            let below = name.len() - apex.len();
            assert_eq!(
                chain.covering_below(name, below),
                plain.covering(name),
                "{name:?}"
            );
            assert_eq!(
                keyed.covering_below(name, below),
                plain.covering(name),
                "{name:?}"
            );
            assert_eq!(
                unseconded.covering_below(name, below),
                plain.covering(name),
                "{name:?}"
            );
        }
    }

    let zone = build(SIGNED).unwrap();
    let parts = zone.signed().unwrap();
    let star = parts.covering(b"\x01*\x07example\0");
    assert_eq!(Err(parts.apex_wildcard()), star);
}
