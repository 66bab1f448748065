//! Tests of zone compilation: zone-level checks and the compiled lookup,
//! compared with a naive model.

use std::collections::BTreeSet;
use std::path::Path;

use candor_wire::{Name, Rtype};

use crate::{Lookup, Zone, load_zone_text};

/// Compiles zone text for `example.`; returns the zone or the errors as text.
fn build(text: &str) -> Result<Zone, String> {
    let origin = Name::from_text("example.", None).unwrap();
    load_zone_text(text.as_bytes(), Path::new("example.zone"), &origin)
        .map_err(|errors| errors.iter().map(|e| format!("{e}\n")).collect())
}

const HEAD: &str = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n";

#[test]
fn zone_level_errors_name_file_and_line() {
    let text =
        format!("{HEAD}a CNAME b\na A 192.0.2.1\nsub SOA ns h 1 2 3 4 5\nx.other. A 192.0.2.1\n");
    let errors = build(&text).unwrap_err();
    assert_eq!(
        errors,
        "example.zone:7: out-of-zone data: x.other. is not in zone example.\n\
         example.zone:4: CNAME beside other data at a.example.\n\
         example.zone:6: SOA record at sub.example., not at the zone apex\n"
    );
}

#[test]
fn apex_needs_soa_and_ns() {
    assert_eq!(
        build("$TTL 60\nwww A 192.0.2.1\n").unwrap_err(),
        "example.zone: no SOA record at the zone apex example.\n\
         example.zone: no NS records at the zone apex example.\n"
    );
    let two_soa = format!("{HEAD}@ SOA ns2 h 1 2 3 4 5\n");
    assert_eq!(
        build(&two_soa).unwrap_err(),
        "example.zone:2: more than one SOA record at the apex\n"
    );
}

#[test]
fn duplicates_are_merged_and_negative_ttl_is_the_minimum() {
    let z = build(&format!(
        "{HEAD}www A 192.0.2.1\nWWW A 192.0.2.1\nwww A 192.0.2.2\n"
    ))
    .unwrap();
    let www = z
        .node_by_name(Name::from_text("www.example.", None).unwrap().as_wire())
        .unwrap();
    assert_eq!(z.rrset(z.node(www), Rtype::A).unwrap().count, 2);
    assert_eq!(z.record_count(), 4);
    // TTL 60, SOA minimum 5: the negative SOA has TTL 5.
    assert_eq!(&z.negative_soa()[4..8], &5u32.to_be_bytes());
}

/// The naive model of RFC 1034 §4.3.2 step 3 / RFC 4592: walk down from
/// the apex over a plain set of names.
fn model(names: &BTreeSet<Vec<u8>>, cuts: &BTreeSet<Vec<u8>>, qname: &Name) -> String {
    let labels: Vec<Name> = {
        let mut v = vec![qname.clone()];
        while let Some(p) = v.last().unwrap().parent() {
            v.push(p);
        }
        v.reverse();
        v
    };
    let apex_depth = 1; // "example." is labels[1].
    for n in &labels[apex_depth + 1..] {
        let w = n.as_wire().to_vec();
        if cuts.contains(&w) {
            return format!("delegation {n} at_cut={}", n == qname);
        }
        if !names.contains(&w) {
            let parent = n.parent().unwrap();
            let wild = parent.prepend(b"*").unwrap();
            if names.contains(wild.as_wire()) {
                return format!("wildcard {wild}");
            }
            return format!("nxdomain {parent}");
        }
    }
    format!("exact {qname}")
}

/// Renders a lookup result in the model's terms.
fn render(z: &Zone, l: Lookup) -> String {
    let name = |id| Name::from_wire(z.name_bytes(id)).unwrap();
    match l {
        Lookup::Exact(node) => format!("exact {}", name(node.id)),
        Lookup::Delegation { cut, at_cut } => format!("delegation {} at_cut={at_cut}", name(cut)),
        Lookup::Wildcard(node) => format!("wildcard {}", name(node.id)),
        Lookup::NxDomain(id) => format!("nxdomain {}", name(id)),
        Lookup::Dname(id) => format!("dname {}", name(id)),
    }
}

#[test]
fn lookup_agrees_with_a_naive_model() {
    // Small random zones over a tiny alphabet, so names collide often.
    let labels = ["a", "b", "*", "c"];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let mut text = HEAD.to_owned();
        let mut names = BTreeSet::new();
        let mut cuts = BTreeSet::new();
        let mut owners = Vec::new();
        for _ in 0..(next() % 12) {
            let depth = 1 + next() % 3;
            let owner: Vec<&str> = (0..depth).map(|_| labels[(next() % 4) as usize]).collect();
            let owner = owner.join(".");
            if next() % 5 == 0 && !owner.starts_with('*') {
                text.push_str(&format!("{owner} NS ns.elsewhere.\n"));
                cuts.insert(
                    Name::from_text(&format!("{owner}.example."), None)
                        .unwrap()
                        .as_wire()
                        .to_vec(),
                );
            } else {
                text.push_str(&format!("{owner} TXT x\n"));
            }
            owners.push(owner);
        }
        let Ok(z) = build(&text) else { continue };
        // Every owner and its ancestors exist.
        for o in &owners {
            let mut n = Name::from_text(&format!("{o}.example."), None).unwrap();
            while n.label_count() > 1 {
                names.insert(n.as_wire().to_vec());
                n = n.parent().unwrap();
            }
        }
        // Cuts hide what is below them from the model's walk only through `cuts`.
        for _ in 0..40 {
            let depth = 1 + next() % 4;
            let q: Vec<&str> = (0..depth).map(|_| labels[(next() % 4) as usize]).collect();
            let q = Name::from_text(&format!("{}.example.", q.join(".")), None).unwrap();
            let got = render(&z, z.lookup(q.as_wire()));
            let want = model(&names, &cuts, &q);
            assert_eq!(got, want, "zone:\n{text}query {q}");
        }
    }
}

#[test]
fn records_lists_every_record_once_and_rebuilds_the_same_zone() {
    let text = format!(
        "{HEAD}www 300 A 192.0.2.1\nwww 300 A 192.0.2.2\nWWW AAAA 2001:db8::1\n\
         a.b.c TXT \"deep\"\n*.w MX 10 www\nsub NS ns.sub\nns.sub A 192.0.2.53\n\
         ns A 192.0.2.54\n"
    );
    let zone = build(&text).unwrap();
    let listed: Vec<(Vec<u8>, Rtype, u32, Vec<u8>)> = zone
        .records()
        .map(|r| (r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec()))
        .collect();
    assert_eq!(listed.len(), zone.record_count());
    let unique: BTreeSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len());
    let www = Name::from_text("www.example.", None).unwrap();
    assert!(listed.contains(&(www.as_wire().to_vec(), Rtype::A, 300, vec![192, 0, 2, 2])));
    // Building a zone from the listed records gives the same records.
    let mut again = crate::ZoneBuilder::new(zone.apex());
    for (owner, rtype, ttl, rdata) in &listed {
        again.add(&Name::from_wire(owner).unwrap(), *rtype, *ttl, rdata, None);
    }
    let again = again.finish().unwrap();
    let relisted: Vec<_> = again
        .records()
        .map(|r| (r.owner.to_vec(), r.rtype, r.ttl, r.rdata.to_vec()))
        .collect();
    assert_eq!(relisted, listed);
}

#[test]
fn each_error_says_what_it_is_about() {
    use crate::{ZoneBuilder, ZoneErrorKind};
    let apex = Name::from_text("example.", None).unwrap();
    let mut b = ZoneBuilder::new(&apex);
    let soa = b"\x02ns\x00\x01h\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05";
    b.add(&apex, Rtype::SOA, 60, soa, None);
    b.add(&apex, Rtype::NS, 60, b"\x02ns\x00", None);
    let www = Name::from_text("www.example.", None).unwrap();
    b.add(&www, Rtype::TXT, 60, &vec![0u8; 70_000], None);
    b.add(&www, Rtype::CNAME, 60, b"\x01a\x00", None);
    b.add(&www, Rtype::A, 60, &[192, 0, 2, 1], None);
    let kinds: Vec<_> = b.finish().unwrap_err().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ZoneErrorKind::Data, ZoneErrorKind::Placement]);
    let errors = build(&format!("{HEAD}www A not-an-address\n")).unwrap_err();
    assert!(errors.contains("example.zone:4:"), "{errors}");
    let origin = Name::from_text("example.", None).unwrap();
    let parsed = load_zone_text(b"www A not-an-address\n", Path::new("x.zone"), &origin);
    assert!(
        parsed
            .unwrap_err()
            .iter()
            .any(|e| e.kind == ZoneErrorKind::File),
    );
}
