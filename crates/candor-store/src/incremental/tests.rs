//! Record writes that patch the last version give the zone a full compile
//! of the stored rows gives, and refuse what it refuses.

use std::sync::Arc;

use candor_zone::{Lookup, OwnedRecord, Zone};

use crate::tests::{actor, store};
use crate::{RecordBatch, RecordInput, RecordPatch, Store, StoreError, ZoneChange, compile, zones};

/// A record input with a TTL.
fn input(name: &str, rtype: &str, content: &str, ttl: u32) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ttl: Some(ttl),
        priority: (rtype == "MX").then_some(10),
        regions: None,
    }
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

/// What a lookup finds, without node ids.
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

/// Checks a write's zone against the full compile; says whether it was
/// patched.
fn check(s: &Store, account: i64, change: &ZoneChange) -> bool {
    let got: &Arc<Zone> = change.compiled.as_ref().unwrap();
    let want = full(s, account);
    assert_eq!(got.serial(), want.serial());
    assert_eq!(got.negative_soa(), want.negative_soa());
    let sorted = |z: &Zone| {
        let mut v: Vec<OwnedRecord> = z.records().map(|r| OwnedRecord::from_record(&r)).collect();
        v.sort_by(OwnedRecord::canonical_cmp);
        v
    };
    assert_eq!(sorted(got), sorted(&want));
    for r in want.records() {
        let mut child = b"\x02zz".to_vec();
        child.extend_from_slice(r.owner);
        for name in [r.owner, &child[..]] {
            assert_eq!(seen(got, name), seen(&want, name));
        }
    }
    got.overlay_names() > 0
}

/// Record writes patch, match a full compile of the rows, and compile in full when they must.
#[test]
fn record_writes_patch_and_match_a_full_compile() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap().id;
    s.create_zone(a, "example.com", &actor()).unwrap();
    let mut patched = 0;
    let mut ids = Vec::new();
    for (name, rtype, content) in [
        ("www", "A", "192.0.2.1"),
        ("mail", "A", "192.0.2.2"),
        ("", "MX", "mail.example.com"),
        ("", "TXT", "v=spf1 -all"),
        ("deep.er.name", "AAAA", "2001:db8::1"),
        ("c", "CNAME", "www.example.com"),
        ("go", "URL", "https://example.org/"),
    ] {
        let (info, change) = s
            .create_record(
                a,
                "example.com",
                &input(name, rtype, content, 600),
                &actor(),
            )
            .unwrap();
        patched += usize::from(check(&s, a, &change));
        ids.push(info.id);
    }
    // A second A record at www, then its TTL changed (the RRset's TTL is
    // the first row's: mixed TTLs compile in full).
    let (second, change) = s
        .create_record(
            a,
            "example.com",
            &input("www", "A", "192.0.2.9", 600),
            &actor(),
        )
        .unwrap();
    patched += usize::from(check(&s, a, &change));
    let ttl = RecordPatch {
        ttl: Some(60),
        ..RecordPatch::default()
    };
    let (_, change) = s
        .update_record(a, "example.com", second.id, &ttl, &actor())
        .unwrap();
    check(&s, a, &change);
    // Renamed, then deleted (its empty non-terminals go with it).
    let rename = RecordPatch {
        name: Some("web".to_owned()),
        ..RecordPatch::default()
    };
    let (_, change) = s
        .update_record(a, "example.com", ids[0], &rename, &actor())
        .unwrap();
    patched += usize::from(check(&s, a, &change));
    let change = s.delete_record(a, "example.com", ids[4], &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    // A delegation takes the full compile, and so does a name below it.
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("sub", "NS", "ns.sub.example.com", 600),
            &actor(),
        )
        .unwrap();
    assert!(!check(&s, a, &change));
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("ns.sub", "A", "192.0.2.53", 600),
            &actor(),
        )
        .unwrap();
    assert!(!check(&s, a, &change));
    // The builder's rules at the changed name refuse the write and leave
    // nothing behind.
    let before = full(&s, a).serial();
    let err = s
        .create_record(
            a,
            "example.com",
            &input("c", "A", "192.0.2.3", 600),
            &actor(),
        )
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("CNAME beside other data at c.example.com."),
        "{err:?}"
    );
    assert_eq!(full(&s, a).serial(), before);
    // A batch patches every name it touches.
    let batch = RecordBatch {
        creates: vec![
            input("b1", "A", "192.0.2.10", 600),
            input("b2", "TXT", "x", 600),
        ],
        updates: vec![(
            ids[1],
            RecordPatch {
                content: Some("192.0.2.22".to_owned()),
                ..RecordPatch::default()
            },
        )],
        deletes: vec![ids[5]],
    };
    let (_, change) = s.batch(a, "example.com", &batch, &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    assert!(patched >= 10, "{patched} writes patched");
    // The next write after another process's (not seen here) compiles in
    // full: the zone's serial no longer matches the kept version.
    s.write(|tx| {
        let mut z = zones::find_zone(tx, a, "example.com")?;
        zones::bump_serial(tx, &s.config, &mut z, 1)
    })
    .unwrap();
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("after", "A", "192.0.2.11", 600),
            &actor(),
        )
        .unwrap();
    assert!(!check(&s, a, &change));
}

/// `compile_zone` (what the store's follower calls when a zone's stored
/// version is not the one served) gives the version this process's write
/// compiled, not a second full compile; a version written elsewhere is
/// compiled.
#[test]
fn compile_zone_reuses_the_version_a_write_compiled() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap().id;
    let zone = s.create_zone(a, "example.com", &actor()).unwrap();
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("www", "A", "192.0.2.1", 600),
            &actor(),
        )
        .unwrap();
    let written = change.compiled.expect("compiled");
    let again = s.compile_zone(zone.zone.id).unwrap();
    assert!(Arc::ptr_eq(&written, again.compiled.as_ref().unwrap()));
    // Another process's write (here: behind the cache's back) is compiled.
    s.compiled.forget(zone.zone.id);
    let fresh = s.compile_zone(zone.zone.id).unwrap().compiled.unwrap();
    assert!(!Arc::ptr_eq(&written, &fresh));
    assert_eq!(fresh.serial(), written.serial());
}
