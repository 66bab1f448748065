//! Record writes to a signed zone sign incrementally and give the zone
//! signing every row gives: the same records and NSEC chain, an RRSIG by
//! the same key over the same RRsets, and BIND's `dnssec-verify` accepts
//! the result; what incremental signing does not do signs in full.

use std::sync::Arc;

use candor_dnssec::Algorithm;
use candor_wire::Rtype;
use candor_zone::{OwnedRecord, Zone};

use crate::tests::{actor, store};
use crate::{RecordBatch, RecordInput, RecordPatch, Store, ZoneChange, zones};

/// A record input.
fn input(name: &str, rtype: &str, content: &str) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ttl: Some(600),
        priority: (rtype == "MX").then_some(10),
        regions: None,
    }
}

/// The zone compiled and signed in full from every stored row now.
fn full(s: &Store, account: i64) -> Arc<Zone> {
    s.read(|tx| {
        let z = zones::find_zone(tx, account, "example.com")?;
        zones::compile_change(tx, &z, &s.config)
    })
    .unwrap()
    .compiled
    .unwrap()
}

/// An RRSIG's owner, type covered, key tag and original TTL.
type SigShape = (Box<[u8]>, [u8; 2], [u8; 2], [u8; 4]);

/// A zone's records without RRSIGs, and its RRSIGs as (owner, type
/// covered, key tag, original TTL): what must match whatever the time of
/// signing.
fn shape(z: &Zone) -> (Vec<OwnedRecord>, Vec<SigShape>) {
    let mut records: Vec<OwnedRecord> = z
        .records()
        .filter(|r| r.rtype != Rtype::RRSIG)
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    records.sort_by(OwnedRecord::canonical_cmp);
    let mut sigs: Vec<_> = z
        .records()
        .filter(|r| r.rtype == Rtype::RRSIG)
        .map(|r| {
            let d = r.rdata;
            (
                Box::<[u8]>::from(r.owner),
                [d[0], d[1]],
                [d[16], d[17]],
                [d[4], d[5], d[6], d[7]],
            )
        })
        .collect();
    sigs.sort();
    (records, sigs)
}

/// Checks a write's zone against signing in full; says whether it was
/// signed incrementally (patched).
fn check(s: &Store, account: i64, change: &ZoneChange) -> bool {
    let got = change.compiled.as_ref().unwrap();
    let want = full(s, account);
    assert_eq!(got.serial(), want.serial());
    assert_eq!(shape(got), shape(&want));
    let chain = |z: &Zone| -> Vec<Vec<u8>> {
        let parts = z.signed().unwrap();
        parts.nodes().map(|id| z.name_bytes(id).to_vec()).collect()
    };
    assert_eq!(chain(got), chain(&want));
    // The answer path's denial index: the chain's keys and heads, and the
    // apex wildcard's NSEC.
    let (gp, wp) = (got.signed().unwrap(), want.signed().unwrap());
    assert_eq!(gp.chain(), wp.chain());
    assert_eq!(
        got.name_bytes(gp.apex_wildcard()),
        want.name_bytes(wp.apex_wildcard())
    );
    got.overlay_names() > 0
}

/// Creates, renames, deletes (a name and its empty non-terminals going)
/// and a batch on a signed zone sign incrementally and match signing in
/// full; a delegation signs in full; a refused write leaves nothing; an
/// ALIAS is refused with the full route's message; `dnssec-verify`
/// accepts the last zone.
#[test]
fn writes_to_a_signed_zone_sign_incrementally() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap().id;
    s.create_zone(a, "example.com", &actor()).unwrap();
    s.enable_dnssec(a, "example.com", Algorithm::Ed25519, &actor())
        .unwrap();
    let mut patched = 0;
    let mut ids = Vec::new();
    for (name, rtype, content) in [
        ("www", "A", "192.0.2.1"),
        ("mail", "A", "192.0.2.2"),
        ("", "MX", "mail.example.com"),
        ("deep.er.name", "AAAA", "2001:db8::1"),
        ("c", "CNAME", "www.example.com"),
        ("www", "TXT", "hello"),
    ] {
        let (info, change) = s
            .create_record(a, "example.com", &input(name, rtype, content), &actor())
            .unwrap();
        patched += usize::from(check(&s, a, &change));
        ids.push(info.id);
    }
    let rename = RecordPatch {
        name: Some("web".to_owned()),
        ..RecordPatch::default()
    };
    let (_, change) = s
        .update_record(a, "example.com", ids[1], &rename, &actor())
        .unwrap();
    patched += usize::from(check(&s, a, &change));
    let change = s.delete_record(a, "example.com", ids[3], &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    let batch = RecordBatch {
        creates: vec![input("b1", "A", "192.0.2.10"), input("b2", "TXT", "x")],
        updates: vec![],
        deletes: vec![ids[4]],
    };
    let (_, change) = s.batch(a, "example.com", &batch, &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    assert_eq!(patched, 9, "every write above signs incrementally");

    // A delegation signs in full (and the next write patches again).
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("sub", "NS", "ns.example.net"),
            &actor(),
        )
        .unwrap();
    assert!(!check(&s, a, &change));
    let (_, change) = s
        .create_record(a, "example.com", &input("x", "A", "192.0.2.7"), &actor())
        .unwrap();
    assert!(check(&s, a, &change));

    // A refused write: the builder's rule. (ALIAS and POOL are signed
    // zones' records too since the ALIAS signer: candor-alias's tests.)
    let before = full(&s, a).serial();
    let err = s
        .create_record(
            a,
            "example.com",
            &input("c2", "CNAME", "www.example.com"),
            &actor(),
        )
        .and_then(|_| s.create_record(a, "example.com", &input("c2", "A", "192.0.2.3"), &actor()))
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("CNAME beside other data at c2.example.com."),
        "{err:?}"
    );
    assert_eq!(full(&s, a).serial(), before.wrapping_add(1));

    // The served zone as a master file passes BIND's verifier.
    let zone = s
        .create_record(a, "example.com", &input("last", "A", "192.0.2.8"), &actor())
        .unwrap()
        .1
        .compiled
        .unwrap();
    assert!(zone.overlay_names() > 0);
    let empty = candor_dnssec::SignedZone {
        records: Vec::new(),
        chain: Vec::new(),
        signatures: 0,
    };
    let text = candor_dnssec::zone_text(&zone, &empty);
    verify(&text);
}

/// A signed zone holding ALIAS, POOL, URL and regional records: writes
/// of those records, and of other names beside them, sign incrementally
/// (they used to sign the whole zone) and match signing every row, split
/// keys (KSK + ZSK) included.
#[test]
fn writes_to_a_signed_zone_with_alias_pool_and_regional_records_sign_incrementally() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap().id;
    s.create_zone(a, "example.com", &actor()).unwrap();
    s.enable_dnssec_with(a, "example.com", Algorithm::Ed25519, true, &actor())
        .unwrap();
    let regional = |name: &str, rtype: &str, content: &str, regions: &[&str]| RecordInput {
        regions: Some(regions.iter().map(|r| (*r).to_owned()).collect()),
        ..input(name, rtype, content)
    };
    let mut patched = 0;
    let mut writes = 0;
    let mut ids = Vec::new();
    for record in [
        input("www", "A", "192.0.2.1"),
        input("", "ALIAS", "target.example.net"),
        input("app", "ALIAS", "www.example.com"),
        input("pool", "POOL", "www.example.com"),
        input("pool", "POOL", "a.example.net"),
        input("pool", "POOL", "b.example.net"),
        input("go", "URL", "https://example.net/"),
        regional("eu", "A", "192.0.2.9", &["ams"]),
        input("other", "TXT", "beside them"),
        regional("eu", "AAAA", "2001:db8::9", &["ams", "sv1"]),
    ] {
        let (info, change) = s
            .create_record(a, "example.com", &record, &actor())
            .unwrap();
        patched += usize::from(check(&s, a, &change));
        writes += 1;
        ids.push(info.id);
    }
    // A POOL member and an ALIAS go, a POOL member's target changes.
    let change = s.delete_record(a, "example.com", ids[4], &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    let change = s.delete_record(a, "example.com", ids[2], &actor()).unwrap();
    patched += usize::from(check(&s, a, &change));
    let retarget = RecordPatch {
        content: Some("c.example.net".to_owned()),
        ..RecordPatch::default()
    };
    let (_, change) = s
        .update_record(a, "example.com", ids[5], &retarget, &actor())
        .unwrap();
    patched += usize::from(check(&s, a, &change));
    writes += 3;
    // The first write after enabling may find no version to patch.
    assert!(patched >= writes - 1, "{patched} of {writes} incremental");
    let zone = full(&s, a);
    let pool = zone
        .records()
        .filter(|r| r.rtype == Rtype::RRSIG && r.rdata[..2] == Rtype::CNAME.0.to_be_bytes())
        .count();
    assert_eq!(pool, 2, "one RRSIG per POOL member (one ZSK)");

    // An ALIAS target's addresses changed: the zone moves to a new serial
    // for secondaries, and only its SOA is signed again.
    let (_, change) = s
        .create_record(
            a,
            "example.com",
            &input("cdn", "ALIAS", "edge.cdn.example"),
            &actor(),
        )
        .unwrap();
    assert!(check(&s, a, &change));
    let bumped = s
        .bump_alias_zones_named(
            &["example.com".to_owned()],
            &["edge.cdn.example".to_owned()],
        )
        .unwrap();
    assert_eq!(bumped.len(), 1);
    assert_eq!(bumped[0].zone.serial, change.zone.serial.wrapping_add(1));
    assert!(check(&s, a, &bumped[0]), "the bump signed incrementally");
}

/// Another process's writes (the CLI: a second store on the same file)
/// are patched into the version the server's store kept, from the names
/// the journal says changed (a rename's old name too), and signed
/// incrementally; a serial the journal does not explain (a DNSSEC key
/// step) compiles and signs in full, and the next CLI write patches again;
/// so does the server's own write following a CLI write.
#[test]
fn the_follower_signs_other_processes_writes_incrementally() {
    let dir = crate::tests::TempDir::new("follow-signed");
    std::fs::create_dir_all(dir.path()).unwrap();
    let path = dir.path().join("candor.db");
    let server = Store::open(&path, crate::tests::config()).unwrap();
    let cli = Store::open(&path, crate::tests::config()).unwrap();
    let a = server.create_account("a@example.org").unwrap().id;
    let id = server
        .create_zone(a, "example.com", &actor())
        .unwrap()
        .zone
        .id;
    server
        .enable_dnssec_with(a, "example.com", Algorithm::Ed25519, true, &actor())
        .unwrap();
    server
        .create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let follow = |s: &Store| s.compile_zone(id).unwrap();
    // One CLI write, then several before the server looks.
    cli.create_record(a, "example.com", &input("mail", "A", "192.0.2.2"), &actor())
        .unwrap();
    assert!(check(&server, a, &follow(&server)));
    let (pool, _) = cli
        .create_record(
            a,
            "example.com",
            &input("pool", "POOL", "www.example.com"),
            &actor(),
        )
        .unwrap();
    let (rec, _) = cli
        .create_record(a, "example.com", &input("old", "TXT", "renamed"), &actor())
        .unwrap();
    let rename = RecordPatch {
        name: Some("new".to_owned()),
        ..RecordPatch::default()
    };
    cli.update_record(a, "example.com", rec.id, &rename, &actor())
        .unwrap();
    cli.delete_record(a, "example.com", pool.id, &actor())
        .unwrap();
    let followed = follow(&server);
    assert!(check(&server, a, &followed), "patched, not signed in full");
    let names: Vec<Vec<u8>> = followed
        .compiled
        .as_ref()
        .unwrap()
        .records()
        .map(|r| r.owner.to_vec())
        .collect();
    let old = candor_wire::Name::from_text("old.example.com.", None).unwrap();
    assert!(
        !names.contains(&old.as_wire().to_vec()),
        "the old name left"
    );
    // A key step (no journal entry at its serial): in full, still right.
    cli.dnssec_rollover(a, "example.com", None, &actor())
        .unwrap();
    assert!(!check(&server, a, &follow(&server)));
    cli.create_record(a, "example.com", &input("x", "A", "192.0.2.7"), &actor())
        .unwrap();
    assert!(check(&server, a, &follow(&server)));
    // The server's own write after the CLI's, before its follower looked:
    // patched too, with the CLI's names from the journal.
    cli.create_record(a, "example.com", &input("y", "A", "192.0.2.8"), &actor())
        .unwrap();
    let (_, change) = server
        .create_record(a, "example.com", &input("z", "A", "192.0.2.9"), &actor())
        .unwrap();
    assert!(check(&server, a, &change));
    let y = candor_wire::Name::from_text("y.example.com.", None).unwrap();
    assert!(
        change
            .compiled
            .as_ref()
            .unwrap()
            .records()
            .any(|r| r.owner == y.as_wire()),
        "the CLI's write is in the server's version"
    );
}

/// A process that leaves signing to the server (`candor record …`)
/// checks a signed zone as a full compile does but does not sign it: the
/// same records, no signatures; the serving process signs it.
#[test]
fn a_process_that_does_not_serve_leaves_signing_to_the_server() {
    use super::super::{Signing, full_compile_for};
    let s = store();
    let a = s.create_account("a@example.org").unwrap().id;
    s.create_zone(a, "example.com", &actor()).unwrap();
    s.enable_dnssec(a, "example.com", Algorithm::Ed25519, &actor())
        .unwrap();
    s.create_record(a, "example.com", &input("www", "A", "192.0.2.1"), &actor())
        .unwrap();
    let compile = |signing| {
        s.read(|tx| {
            let z = zones::find_zone(tx, a, "example.com")?;
            full_compile_for(tx, &z, &s.config, "test", signing)
        })
        .unwrap()
        .compiled
        .unwrap()
    };
    let left = compile(Signing::LeftToServer);
    let now = compile(Signing::Now);
    assert!(left.signed().is_none());
    assert!(now.signed().is_some());
    let unsigned = |z: &Zone| {
        let mut r: Vec<OwnedRecord> = z
            .records()
            .filter(|r| !matches!(r.rtype, Rtype::RRSIG | Rtype::NSEC | Rtype::DNSKEY))
            .map(|r| OwnedRecord::from_record(&r))
            .collect();
        r.sort_by(OwnedRecord::canonical_cmp);
        r
    };
    assert_eq!(unsigned(&left), unsigned(&now));
}

/// Runs `dnssec-verify` (BIND) on a zone's text; skipped only with
/// `CANDOR_SKIP_DNSSEC_TOOLS=1` when it is not installed.
fn verify(text: &str) {
    if std::process::Command::new("dnssec-verify")
        .arg("-V")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1"),
            "dnssec-verify (BIND) is needed: apt-get install bind9-utils"
        );
        return;
    }
    let path =
        std::env::temp_dir().join(format!("candor-store-signed-{}.zone", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("dnssec-verify")
        .args(["-z", "-o", "example.com."])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "dnssec-verify rejected the zone:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
