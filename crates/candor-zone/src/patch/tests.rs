//! Tests of incremental changes: every patched version must read exactly as
//! the zone the builder compiles from the same records.

use std::collections::BTreeMap;
use std::sync::Arc;

use candor_wire::{Name, Rtype};

use super::{NodeChange, PatchError};
use crate::{Lookup, OwnedRecord, Zone, ZoneBuilder, ZoneDiff};

/// The records of a zone by owner (lower-cased wire): type, TTL, RDATA.
type Model = BTreeMap<Vec<u8>, Vec<(Rtype, u32, Box<[u8]>)>>;

/// The wire form of a name given in text (relative names under `example.`).
fn w(text: &str) -> Vec<u8> {
    let origin = Name::from_text("example.", None).unwrap();
    Name::from_text(text, Some(&origin))
        .unwrap()
        .as_wire()
        .to_vec()
}

/// An A record's RDATA.
fn a(last: u8) -> Box<[u8]> {
    vec![192, 0, 2, last].into()
}

/// An AAAA record's RDATA.
fn aaaa(last: u8) -> Box<[u8]> {
    let mut v = vec![0x20, 0x01, 0x0d, 0xb8];
    v.resize(15, 0);
    v.push(last);
    v.into()
}

/// An RDATA of a preference and a name (MX).
fn mx(pref: u16, target: &str) -> Box<[u8]> {
    let mut v = pref.to_be_bytes().to_vec();
    v.extend_from_slice(&w(target));
    v.into()
}

/// An SRV record's RDATA.
fn srv(target: &str) -> Box<[u8]> {
    let mut v = vec![0, 1, 0, 2, 0, 80];
    v.extend_from_slice(&w(target));
    v.into()
}

/// A TXT record's RDATA.
fn txt(s: &str) -> Box<[u8]> {
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v.into()
}

/// The SOA RDATA with `serial` (MINIMUM 300).
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = w("ns1");
    v.extend_from_slice(&w("hostmaster"));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// A small zone with every structure a change can meet: glue, a
/// delegation, a wildcard, a CNAME, MX/SRV targets (present, absent,
/// matched by the wildcard), empty non-terminals.
fn start_model() -> Model {
    let mut m = Model::new();
    let mut add = |name: &str, rtype: Rtype, ttl: u32, rdata: Box<[u8]>| {
        m.entry(w(name)).or_default().push((rtype, ttl, rdata));
    };
    add("@", Rtype::SOA, 3600, soa(1));
    add("@", Rtype::NS, 3600, w("ns1").into());
    add("@", Rtype::MX, 300, mx(10, "mail"));
    add("@", Rtype::MX, 300, mx(20, "h3"));
    add("@", Rtype::MX, 300, mx(30, "later"));
    add("@", Rtype::MX, 300, mx(40, "x.wild"));
    add("@", Rtype::A, 300, a(1));
    add("ns1", Rtype::A, 300, a(2));
    add("mail", Rtype::A, 300, a(3));
    add("mail", Rtype::AAAA, 300, aaaa(3));
    add("*.wild", Rtype::A, 300, a(4));
    add("deleg", Rtype::NS, 300, w("ns.deleg").into());
    add("ns.deleg", Rtype::A, 300, a(5));
    add("c0", Rtype::CNAME, 300, w("h1").into());
    add("_sip._tcp", Rtype::SRV, 300, srv("h2"));
    add("a.b.sub", Rtype::TXT, 300, txt("deep"));
    for i in 0..12u8 {
        add(&format!("h{i}"), Rtype::A, 300, a(10 + i));
    }
    m
}

/// Compiles a model with the builder.
fn compile(m: &Model) -> Result<Zone, Vec<crate::ZoneError>> {
    let apex = Name::from_text("example.", None).unwrap();
    let mut b = ZoneBuilder::new(&apex);
    for (owner, records) in m {
        let owner = Name::from_wire(owner).unwrap();
        for (rtype, ttl, rdata) in records {
            b.add(&owner, *rtype, *ttl, rdata, None);
        }
    }
    b.finish()
}

/// A describing text of an RRset: type, TTL, count, bytes, and the
/// additional records it brings (owner and addresses).
fn describe_set(z: &Zone, set: &crate::RrSet) -> String {
    let mut s = format!("{} {} {} {:?}", set.rtype, set.ttl, set.count, z.tails(set));
    for add in z.additional(set) {
        let node = z.node(add.node);
        let addrs: Vec<String> = [Rtype::A, Rtype::AAAA]
            .iter()
            .filter_map(|t| z.rrset(node, *t).map(|x| format!("{:?}", z.tails(x))))
            .collect();
        if !addrs.is_empty() {
            s += &format!(" +{:?}={addrs:?}", z.additional_owner(add));
        }
    }
    s
}

/// A describing text of a node: name and RRsets.
fn describe_node(z: &Zone, id: u32) -> String {
    let sets: Vec<String> = z
        .rrsets(z.node(id))
        .iter()
        .map(|s| describe_set(z, s))
        .collect();
    format!("{:?} {sets:?}", z.name_bytes(id))
}

/// What a lookup of `name` finds, written without node ids (which differ
/// between a patched and a compiled version).
fn describe_lookup(z: &Zone, name: &[u8]) -> String {
    let l = z.lookup(name);
    let hashed = z.lookup_after(name, z.find_hashed(name, crate::NameHash::of(name)));
    assert_eq!(format!("{l:?}"), format!("{hashed:?}"), "{name:?}");
    match l {
        Lookup::Exact(n) => format!("exact {} {:?}", describe_node(z, n.id), n.flags),
        Lookup::Delegation { cut, at_cut } => format!("cut {} {at_cut}", describe_node(z, cut)),
        Lookup::Dname(n) => format!("dname {}", describe_node(z, n)),
        Lookup::Wildcard(n) => format!("wild {}", describe_node(z, n.id)),
        Lookup::NxDomain(n) => format!("nx {}", describe_node(z, n)),
    }
}

/// Checks that two versions read the same for every name in `probes`.
fn assert_same(patched: &Zone, compiled: &Zone, probes: &[Vec<u8>]) {
    assert_eq!(patched.serial(), compiled.serial());
    assert_eq!(patched.negative_soa(), compiled.negative_soa());
    assert_eq!(patched.negative_blocks(), compiled.negative_blocks());
    assert_eq!(patched.record_count(), compiled.record_count());
    let mut x: Vec<OwnedRecord> = patched
        .records()
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    let mut y: Vec<OwnedRecord> = compiled
        .records()
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    x.sort_by(OwnedRecord::canonical_cmp);
    y.sort_by(OwnedRecord::canonical_cmp);
    assert_eq!(x, y);
    for name in probes {
        assert_eq!(
            describe_lookup(patched, name),
            describe_lookup(compiled, name),
            "{:?}",
            Name::from_wire(name).map(|n| n.to_string())
        );
        assert_eq!(
            patched.node_by_name(name).is_some(),
            compiled.node_by_name(name).is_some()
        );
    }
}

/// Names to look up: every owner, its ancestors, a child, and the pool.
fn probes(m: &Model, pool: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = pool.to_vec();
    for owner in m.keys() {
        let mut n = owner.clone();
        while n.len() > w("@").len() {
            out.push(n.clone());
            n = n[1 + usize::from(n[0])..].to_vec();
        }
        let mut child = b"\x02zz".to_vec();
        child.extend_from_slice(owner);
        out.push(child);
    }
    out.sort();
    out.dedup();
    out
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    /// The next number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// The names random changes pick from.
fn pool() -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = [
        "@",
        "mail",
        "later",
        "h3",
        "x.wild",
        "y.wild",
        "*.wild",
        "z.deleg",
        "c0",
        "c1",
        "a.b.sub",
        "b.sub",
        "sub",
        "q.r.s.new",
        "r.s.new",
        "_sip._tcp",
        "ns1",
    ]
    .iter()
    .map(|s| w(s))
    .collect();
    names.extend((0..16).map(|i| w(&format!("h{i}"))));
    names.extend((0..4).map(|i| w(&format!("x{i}.h{i}"))));
    names
}

/// Random new content for `owner`: nothing, addresses, TXT, MX, a CNAME,
/// or (at the apex) the required SOA and NS with other data.
fn random_content(rng: &mut Rng, owner: &[u8], serial: u32) -> Vec<(Rtype, u32, Box<[u8]>)> {
    let ttl = [60, 300, 3600][rng.below(3) as usize];
    let mut out = Vec::new();
    if owner == w("@") {
        out.push((Rtype::SOA, 3600, soa(serial)));
        out.push((Rtype::NS, 3600, w("ns1").into()));
    }
    match rng.below(8) {
        0 if owner != w("@") => {}
        1 if owner != w("@") => {
            let targets = ["h1", "h5", "mail", "nowhere", "x.wild", "c0"];
            out.push((Rtype::CNAME, ttl, w(targets[rng.below(6) as usize]).into()));
        }
        2 => {
            let targets = ["mail", "h7", "later", "y.wild", "b.sub", "q.r.s.new"];
            for i in 0..=rng.below(3) {
                let t = targets[rng.below(6) as usize];
                out.push((Rtype::MX, ttl, mx(i as u16, t)));
            }
        }
        3 => out.push((Rtype::TXT, ttl, txt(&format!("t{}", rng.below(5))))),
        4 => out.push((
            Rtype::SRV,
            ttl,
            srv(["h2", "later", "h9"][rng.below(3) as usize]),
        )),
        5 if owner != w("@") => {
            // The mistake the validator must catch.
            out.push((Rtype::CNAME, ttl, w("h1").into()));
            out.push((Rtype::A, ttl, a(99)));
        }
        _ => {
            for _ in 0..=rng.below(2) {
                out.push((Rtype::A, ttl, a(rng.below(4) as u8)));
            }
            if rng.below(2) == 0 {
                out.push((Rtype::AAAA, ttl, aaaa(rng.below(4) as u8)));
            }
        }
    }
    out
}

/// Random changes, patched and compiled afresh: every lookup, record, diff and compaction agrees.
#[test]
fn random_patches_read_as_full_rebuilds() {
    let pool = pool();
    for seed in 1..=30u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = start_model();
        let mut zone = Arc::new(compile(&model).unwrap());
        let mut serial = 1;
        let (mut patched, mut rebuilt, mut invalid) = (0, 0, 0);
        for step in 0..60 {
            serial += 1;
            let mut changes = Vec::new();
            let mut next = model.clone();
            for _ in 0..=rng.below(3) {
                let owner = pool[rng.below(pool.len() as u64) as usize].clone();
                let records = random_content(&mut rng, &owner, serial);
                if records.is_empty() {
                    next.remove(&owner);
                } else {
                    next.insert(owner.clone(), records.clone());
                }
                changes.push(NodeChange {
                    owner: owner.into(),
                    records,
                });
            }
            // Every change carries the new SOA, as a store write does.
            let apex = w("@");
            let mut apex_records = next.get(&apex).cloned().unwrap_or_default();
            apex_records.retain(|r| r.0 != Rtype::SOA);
            apex_records.push((Rtype::SOA, 3600, soa(serial)));
            next.insert(apex.clone(), apex_records.clone());
            changes.push(NodeChange {
                owner: apex.into(),
                records: apex_records,
            });
            let full = compile(&next);
            match (zone.patch(&changes), full) {
                (Ok(p), Ok(f)) => {
                    assert_same(&p, &f, &probes(&next, &pool));
                    // The diff, through the overlays' names only, is the
                    // diff of the two compiled versions.
                    let compiled_old = compile(&model).unwrap();
                    assert_eq!(
                        ZoneDiff::between(&zone, &p),
                        ZoneDiff::between(&compiled_old, &f)
                    );
                    assert!(crate::patch::changed_names(&zone, &p).is_some());
                    if step % 10 == 0 {
                        // And the patched version compacts to the same zone.
                        assert_same(&p.compact().unwrap(), &f, &probes(&next, &pool));
                    }
                    zone = Arc::new(p);
                    model = next;
                    patched += 1;
                }
                (Err(PatchError::Rebuild(_)), Ok(f)) => {
                    zone = Arc::new(f);
                    model = next;
                    rebuilt += 1;
                }
                (Err(PatchError::Invalid(_)), Err(_)) | (Err(PatchError::Rebuild(_)), Err(_)) => {
                    invalid += 1;
                }
                (Ok(_), Err(e)) => {
                    panic!("seed {seed}: patch accepted what the builder refuses: {e:?}")
                }
                (Err(PatchError::Invalid(e)), Ok(_)) => {
                    panic!("seed {seed}: patch refused what the builder accepts: {e:?}")
                }
            }
        }
        assert!(
            patched > 20,
            "seed {seed}: {patched} patched, {rebuilt} rebuilt, {invalid} invalid"
        );
    }
}

/// A model's zone and the names used by the hand-written tests below.
fn small() -> (Model, Arc<Zone>) {
    let m = start_model();
    let z = Arc::new(compile(&m).unwrap());
    (m, z)
}

/// Applies one change to the model and the zone, and checks both agree.
fn change(
    m: &mut Model,
    z: &Arc<Zone>,
    owner: &str,
    records: Vec<(Rtype, u32, Box<[u8]>)>,
) -> Zone {
    if records.is_empty() {
        m.remove(&w(owner));
    } else {
        m.insert(w(owner), records.clone());
    }
    let p = z
        .patch(&[NodeChange {
            owner: w(owner).into(),
            records,
        }])
        .unwrap();
    assert_same(&p, &compile(m).unwrap(), &probes(m, &pool()));
    p
}

/// A new deep name creates its empty non-terminals; removing it removes them.
#[test]
fn new_names_bring_their_empty_non_terminals_and_go_with_them() {
    let (mut m, z) = small();
    let p = Arc::new(change(&mut m, &z, "q.r.s.new", vec![(Rtype::A, 60, a(7))]));
    assert!(matches!(p.lookup(&w("r.s.new")), Lookup::Exact(n) if p.rrsets(n).is_empty()));
    assert!(matches!(p.lookup(&w("new")), Lookup::Exact(_)));
    let p = Arc::new(change(&mut m, &p, "q.r.s.new", vec![]));
    assert!(matches!(p.lookup(&w("new")), Lookup::NxDomain(0)));
    assert_eq!(p.overlay_names(), 4);
}

/// A name emptied of data that has names below it stays, as an empty non-terminal.
#[test]
fn an_emptied_name_with_children_stays_as_an_empty_non_terminal() {
    let (mut m, z) = small();
    let p = Arc::new(change(
        &mut m,
        &z,
        "b.sub",
        vec![(Rtype::TXT, 60, txt("x"))],
    ));
    let p = change(&mut m, &p, "b.sub", vec![]);
    assert!(matches!(p.lookup(&w("b.sub")), Lookup::Exact(n) if p.rrsets(n).is_empty()));
    assert!(matches!(p.lookup(&w("zz.b.sub")), Lookup::NxDomain(_)));
}

/// CNAMEs appear and go; other types at a CNAME are NODATA.
#[test]
fn cname_changes_and_nodata_around_them() {
    let (mut m, z) = small();
    let p = Arc::new(change(
        &mut m,
        &z,
        "c1",
        vec![(Rtype::CNAME, 60, w("h4").into())],
    ));
    let c1 = p.node_by_name(&w("c1")).unwrap();
    assert!(p.rrset(p.node(c1), Rtype::CNAME).is_some());
    assert!(p.rrset(p.node(c1), Rtype::A).is_none());
    // The old CNAME goes; its name with it.
    let p = change(&mut m, &p, "c0", vec![]);
    assert!(matches!(p.lookup(&w("c0")), Lookup::NxDomain(0)));
}

/// An exact name shadows a wildcard for itself only; removing one beside a wildcard rebuilds.
#[test]
fn names_under_a_wildcard_and_removed_names_beside_one() {
    let (mut m, z) = small();
    // An exact name below the wildcard's parent shadows it for itself only.
    let p = Arc::new(change(
        &mut m,
        &z,
        "y.wild",
        vec![(Rtype::TXT, 60, txt("y"))],
    ));
    assert!(matches!(p.lookup(&w("y.wild")), Lookup::Exact(_)));
    assert!(matches!(p.lookup(&w("other.wild")), Lookup::Wildcard(_)));
    // Taking it away again is the conservative case: rebuild.
    let gone = p.patch(&[NodeChange {
        owner: w("y.wild").into(),
        records: vec![],
    }]);
    assert!(matches!(gone, Err(PatchError::Rebuild(_))), "{gone:?}");
}

/// Additional sections follow changed target addresses and new MX RRsets.
#[test]
fn additional_targets_follow_changed_addresses() {
    let (mut m, z) = small();
    // mail.example. is an MX target with an exact entry: its new
    // addresses show in the apex MX's additional section.
    let p = Arc::new(change(&mut m, &z, "mail", vec![(Rtype::A, 60, a(33))]));
    let apex = p.node(0);
    let mxs = p.rrset(apex, Rtype::MX).unwrap();
    assert!(describe_set(&p, mxs).contains("192, 0, 2, 33]"));
    // A new MX RRset whose target exists gets its additional entries.
    let p = change(
        &mut m,
        &p,
        "h0",
        vec![(Rtype::MX, 60, mx(1, "h1")), (Rtype::MX, 60, mx(2, "mail"))],
    );
    let h0 = p.node_by_name(&w("h0")).unwrap();
    assert_eq!(
        p.additional(p.rrset(p.node(h0), Rtype::MX).unwrap()).len(),
        2
    );
}

/// NS, DNAME, wildcard, below-a-cut and waiting-target changes ask for a rebuild.
#[test]
fn structural_changes_ask_for_a_rebuild() {
    let (_, z) = small();
    let one = |owner: &str, records: Vec<(Rtype, u32, Box<[u8]>)>| {
        z.patch(&[NodeChange {
            owner: w(owner).into(),
            records,
        }])
    };
    let rebuild = |r: Result<Zone, PatchError>| matches!(r, Err(PatchError::Rebuild(_)));
    assert!(rebuild(one("h1", vec![(Rtype::NS, 60, w("ns1").into())])));
    assert!(rebuild(one("h1", vec![(Rtype::DNAME, 60, w("h2").into())])));
    assert!(rebuild(one("*.h1", vec![(Rtype::A, 60, a(1))])));
    assert!(rebuild(one("z.deleg", vec![(Rtype::A, 60, a(1))])));
    assert!(rebuild(one("deleg", vec![])));
    // "later" is an MX target that does not exist yet.
    assert!(rebuild(one("later", vec![(Rtype::A, 60, a(1))])));
    // "x.wild" is an MX target matched by the wildcard.
    assert!(rebuild(one("x.wild", vec![(Rtype::TXT, 60, txt("x"))])));
}

/// Invalid changes are refused with the builder's messages, in its order.
#[test]
fn invalid_changes_get_the_builders_messages() {
    let (_, z) = small();
    let err = z
        .patch(&[
            NodeChange {
                owner: w("h1").into(),
                records: vec![(Rtype::CNAME, 60, w("h2").into()), (Rtype::A, 60, a(1))],
            },
            NodeChange {
                owner: w("sub").into(),
                records: vec![(Rtype::SOA, 60, soa(9))],
            },
            NodeChange {
                owner: w("x.other.").into(),
                records: vec![(Rtype::A, 60, a(1))],
            },
            NodeChange {
                owner: w("@").into(),
                records: vec![(Rtype::NS, 3600, w("ns1").into())],
            },
        ])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "out-of-zone data: x.other. is not in zone example.; \
         CNAME beside other data at h1.example.; \
         SOA record at sub.example., not at the zone apex; \
         no SOA record at the zone apex example."
    );
}

/// `apply_diff` gives the compiled next version, twice in a row, and refuses a missing removal.
#[test]
fn apply_diff_matches_the_compiled_next_version() {
    let (mut m, z) = small();
    let mut next = m.clone();
    next.get_mut(&w("@")).unwrap().retain(|r| r.0 != Rtype::SOA);
    next.get_mut(&w("@"))
        .unwrap()
        .push((Rtype::SOA, 3600, soa(2)));
    next.insert(w("h1"), vec![(Rtype::A, 300, a(77))]);
    next.remove(&w("h2"));
    next.insert(w("new1"), vec![(Rtype::TXT, 300, txt("n"))]);
    let old = compile(&m).unwrap();
    let new = compile(&next).unwrap();
    let diff = ZoneDiff::between(&old, &new);
    let p = z.apply_diff(&diff).unwrap();
    assert_same(&p, &new, &probes(&next, &pool()));
    assert_eq!(p.serial(), 2);
    // A second diff on top of the patched version.
    m = next.clone();
    next.insert(w("h5"), vec![(Rtype::AAAA, 300, aaaa(5))]);
    next.get_mut(&w("@")).unwrap().retain(|r| r.0 != Rtype::SOA);
    next.get_mut(&w("@"))
        .unwrap()
        .push((Rtype::SOA, 3600, soa(3)));
    let newer = compile(&next).unwrap();
    let diff = ZoneDiff::between(&compile(&m).unwrap(), &newer);
    let p = Arc::new(p).apply_diff(&diff).unwrap();
    assert_same(&p, &newer, &probes(&next, &pool()));
    // A removal of a record the zone does not have is an error.
    let mut bad = diff.clone();
    bad.removed.push(OwnedRecord {
        owner: w("h9").into(),
        rtype: Rtype::A,
        ttl: 300,
        rdata: a(250),
    });
    assert!(matches!(
        Arc::new(p).apply_diff(&bad),
        Err(PatchError::Invalid(_))
    ));
}

/// An RRset's TTL is its first given record's, as the builder takes it from a file.
#[test]
fn an_rrsets_ttl_is_its_first_records_as_the_builder_takes_it_from_a_file() {
    let (mut m, z) = small();
    // RDATA order puts 192.0.2.1 first; the first given has TTL 900.
    let records = vec![(Rtype::A, 900, a(9)), (Rtype::A, 60, a(1))];
    let p = z
        .patch(&[NodeChange {
            owner: w("h1").into(),
            records: records.clone(),
        }])
        .unwrap();
    m.insert(w("h1"), records);
    // The builder given places (a file's lines, or stored rows' ordinals).
    let apex = Name::from_text("example.", None).unwrap();
    let mut b = ZoneBuilder::new(&apex);
    let mut line = 0;
    for (owner, records) in &m {
        let owner = Name::from_wire(owner).unwrap();
        for (rtype, ttl, rdata) in records {
            line += 1;
            b.add(
                &owner,
                *rtype,
                *ttl,
                rdata,
                Some((std::path::Path::new(""), line)),
            );
        }
    }
    let compiled = b.finish().unwrap();
    assert_same(&p, &compiled, &probes(&m, &pool()));
    let h1 = p.node_by_name(&w("h1")).unwrap();
    assert_eq!(p.rrset(p.node(h1), Rtype::A).unwrap().ttl, 900);
}

/// Changes that bring DNSSEC records into an unsigned zone rebuild (signed
/// zones patch: `patch::signed::tests`).
#[test]
fn dnssec_records_into_an_unsigned_zone_rebuild() {
    let (m, z) = small();
    let mut nsec = w("mail");
    nsec.extend_from_slice(&[0, 1, 0x40]);
    let mut at_apex = m[&w("@")].clone();
    at_apex.push((Rtype::NSEC, 300, nsec.into()));
    let change = NodeChange {
        owner: w("@").into(),
        records: at_apex,
    };
    assert!(matches!(z.patch(&[change]), Err(PatchError::Rebuild(_))));
}

/// Background compaction: a compacted base caught up with the writes made meanwhile.
mod compaction;
