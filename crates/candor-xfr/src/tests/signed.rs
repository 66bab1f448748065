//! Signed zones with ALIAS and POOL records as standard secondaries
//! receive them (docs/dnssec.md, "Synthesized answers"): every RRset of an
//! AXFR is covered by a signature that verifies with the zone's key, every
//! NSEC lists exactly the types sent at its owner, and an IXFR applied to
//! an older AXFR gives the newer AXFR.

use std::collections::{BTreeMap, BTreeSet};

use candor_alias::sign::{Signer, sign};
use candor_dnssec::{
    Algorithm, KeyRole, SigningKey, SigningPolicy, compile_signed, nsec, sign_zone, verify_rrset,
};
use candor_wire::decode::Record;

use super::*;
use crate::Journal;

/// `example.` at `serial` with `www` at `www`: an ALIAS at the apex to
/// `www` (in the zone: A and AAAA), one to `cdn.other.` (A only), one to
/// `nowhere.other.` (which does not exist), a TXT beside an ALIAS, and a
/// POOL of two members; signed with `key`.
fn signed_example(serial: u32, www: &str, key: &SigningKey) -> Arc<Zone> {
    let unsigned = zone(
        "example.",
        &format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. {serial} 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nwww A {www}\nwww AAAA 2001:db8::1\n\
             @ {}\nout {}\nout TXT \"beside\"\nlost {}\npool 60 {}\npool 60 {}\n",
            private(65304, "www.example."),
            private(65304, "cdn.other."),
            private(65304, "nowhere.other."),
            private(65303, "b.pool.other."),
            private(65303, "a.pool.other."),
        ),
    );
    let one = std::num::NonZeroUsize::MIN;
    let signed = sign_zone(
        &unsigned,
        std::slice::from_ref(key),
        &SigningPolicy::default(),
        NOW,
        one,
    )
    .unwrap();
    Arc::new(compile_signed(&unsigned, &signed).unwrap())
}

/// What the resolver knows of the targets outside: `cdn.other.` has one
/// IPv4 address, `nowhere.other.` does not exist.
fn resolved(target: &[u8]) -> Option<AliasEntry> {
    let name = Name::from_wire(target).ok()?.to_string();
    match name.as_str() {
        "cdn.other." => Some(AliasEntry {
            exists: true,
            v4: vec![[198, 51, 100, 7]],
            v6: vec![],
            ttl: 120,
        }),
        "nowhere.other." => Some(AliasEntry {
            exists: false,
            v4: vec![],
            v6: vec![],
            ttl: 120,
        }),
        _ => None,
    }
}

/// The resolver's table for `set` after the ALIAS signer (candor-alias,
/// the code `candor serve` runs) has signed what `set`'s ALIAS owners
/// answer now with `key`.
fn signed_table(signer: &mut Signer, set: &ZoneSet, key: &SigningKey) -> AliasTable {
    let (wants, _) = signer.plan(set, &resolved, NOW);
    for want in wants {
        let answer = sign(&want, std::slice::from_ref(key), NOW)
            .unwrap()
            .unwrap();
        signer.complete(want, NOW, answer);
    }
    let entries = ["cdn.other.", "nowhere.other."].map(|n| {
        let wire = Name::from_text(n, None).unwrap();
        (Box::from(wire.as_wire()), resolved(wire.as_wire()).unwrap())
    });
    AliasTable::new(entries).with_signed(signer.published())
}

/// A primary serving `zone` to 127.0.0.1 with the resolver's `table`.
fn serve(zone: Arc<Zone>, table: AliasTable) -> (Primary, Arc<ArcSwap<ZoneSet>>, SharedAliases) {
    let set = Arc::new(ArcSwap::from_pointee(ZoneSet::from_zones(vec![zone])));
    let aliases: SharedAliases = Arc::new(ArcSwap::from_pointee(table));
    let acl = Acl::new(vec!["127.0.0.1".parse::<Rule>().unwrap()]);
    let keys = Arc::new(ArcSwap::from_pointee(KeyRing::new(Vec::new())));
    let limits = Limits {
        max_steps: 5,
        max_bytes: 1 << 20,
    };
    let p = Primary::new(set.clone(), aliases.clone(), acl, keys, limits);
    (p, set, aliases)
}

/// The records of every message of a transfer (SOA first and last).
fn transfer(p: &Primary, ixfr: Option<u32>) -> Vec<Record> {
    let handled = p.handle(
        &request("example.", ixfr),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    );
    assert!(handled.refusal.is_none(), "{:?}", handled.refusal);
    messages(handled)
        .iter()
        .flat_map(|m| decode_message(m).unwrap().answer)
        .collect()
}

/// A record as a comparable key: owner (lower case), type, RDATA.
type Key3 = (Vec<u8>, u16, Vec<u8>);

/// The records of an AXFR as a set (the final SOA once).
fn zone_set(axfr: &[Record]) -> BTreeSet<Key3> {
    axfr[..axfr.len() - 1].iter().map(key3).collect()
}

/// The comparable key of a record.
fn key3(r: &Record) -> Key3 {
    let mut owner = r.owner.as_wire().to_vec();
    owner.make_ascii_lowercase();
    (owner, r.rtype.0, r.rdata.clone())
}

/// What a validator would reject in a whole zone: RRsets without a
/// signature by `dnskey` that verifies, NSECs that do not list exactly
/// the types at their owner, and RRSIGs over nothing sent.
fn problems(records: &[Key3], dnskey: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut sets: BTreeMap<(Vec<u8>, u16), Vec<&[u8]>> = BTreeMap::new();
    let mut types: BTreeMap<Vec<u8>, BTreeSet<u16>> = BTreeMap::new();
    for (owner, rtype, rdata) in records {
        types.entry(owner.clone()).or_default().insert(*rtype);
        sets.entry((owner.clone(), *rtype)).or_default().push(rdata);
    }
    for ((owner, rtype), rdatas) in &sets {
        let name = Name::from_wire(owner).unwrap();
        if *rtype == Rtype::RRSIG.0 {
            continue;
        }
        let sigs = sets
            .get(&(owner.clone(), Rtype::RRSIG.0))
            .map_or(&[][..], Vec::as_slice);
        let ok = sigs
            .iter()
            .any(|sig| verify_rrset(dnskey, owner, Rtype(*rtype), rdatas, sig));
        if !ok {
            found.push(format!("{name} {} is not covered", Rtype(*rtype)));
        }
        if *rtype == Rtype::NSEC.0 {
            let next = candor_wire::wire_name_len(rdatas[0]).unwrap();
            let listed: BTreeSet<u16> = nsec::bitmap_types(&rdatas[0][next..])
                .unwrap()
                .iter()
                .map(|t| t.0)
                .collect();
            if listed != types[owner] {
                found.push(format!("the NSEC at {name} lists {listed:?}"));
            }
        }
    }
    // Every signature covers something sent.
    for (owner, _, rrsig) in records.iter().filter(|r| r.1 == Rtype::RRSIG.0) {
        let covered = u16::from_be_bytes([rrsig[0], rrsig[1]]);
        if !sets.contains_key(&(owner.clone(), covered)) {
            found.push(format!(
                "an RRSIG over {} at {} covers nothing",
                Rtype(covered),
                Name::from_wire(owner).unwrap()
            ));
        }
    }
    found
}

/// The zone's DNSKEY RDATA.
fn dnskey(key: &SigningKey) -> Vec<u8> {
    key.dnskey_rdata().to_vec()
}

/// A fresh ECDSA P-256 CSK.
fn csk() -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap()
}

/// The AXFR of a signed zone carries the ALIAS answers the signer made
/// (A and AAAA with their RRSIGs; the owner's NSEC without a family the
/// target lacks), the POOL's CNAME with its member's RRSIG, and every
/// RRset verifies; before the signer has signed them, the ALIAS owners
/// get no addresses at all, never unsigned ones (and their NSECs list
/// types not sent, which the check finds, so it can fail).
#[test]
fn axfr_of_a_signed_zone_covers_every_rrset() {
    let key = csk();
    let zone = signed_example(1, "192.0.2.80", &key);
    let (p, set, aliases) = serve(zone, AliasTable::default());
    let unsigned = transfer(&p, None);
    let sent: Vec<Key3> = zone_set(&unsigned).into_iter().collect();
    let found = problems(&sent, &dnskey(&key));
    assert!(
        !found.iter().any(|f| f.ends_with("is not covered"))
            && found.iter().any(|f| f.starts_with("the NSEC at example."))
            && found
                .iter()
                .any(|f| f.starts_with("the NSEC at out.example.")),
        "{found:?}"
    );
    let alias_owners = [&b"\x07example\x00"[..], b"\x03out\x07example\x00"];
    let addresses = sent
        .iter()
        .filter(|r| alias_owners.contains(&&r.0[..]) && [Rtype::A.0, Rtype::AAAA.0].contains(&r.1))
        .count();
    assert_eq!(addresses, 0, "{sent:?}");

    let mut signer = Signer::new(3600);
    aliases.store(Arc::new(signed_table(&mut signer, &set.load(), &key)));
    let axfr = transfer(&p, None);
    let sent: Vec<Key3> = zone_set(&axfr).into_iter().collect();
    assert_eq!(problems(&sent, &dnskey(&key)), Vec::<String>::new());
    let text: String = axfr
        .iter()
        .filter(|r| r.rtype != Rtype::RRSIG)
        .map(|r| format!("{}\n", render_record(r)))
        .collect();
    for line in [
        // The apex ALIAS to www: its addresses, the ALIAS record's TTL.
        "example. 300 A 192.0.2.80",
        "example. 300 AAAA 2001:db8::1",
        // cdn.other. has IPv4 only: the NSEC at out lists no AAAA.
        "out.example. 300 A 198.51.100.7",
        "out.example. 60 NSEC pool.example. A TXT RRSIG NSEC",
        // nowhere.other. does not exist: no address, none listed.
        "lost.example. 60 NSEC ns.example. RRSIG NSEC",
        "pool.example. 60 CNAME a.pool.other.",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    assert!(!text.contains("TYPE6530"), "{text}");
}

/// When an ALIAS target moves, the version published before the signer
/// signed the new addresses still carries the old signed answer, and the
/// next version (the serial the signer asks for) carries the new one:
/// each IXFR step applied to the AXFR before it gives the AXFR after it,
/// and each version verifies.
#[test]
fn ixfr_steps_carry_the_new_signed_alias_answer() {
    let key = csk();
    let v1 = signed_example(1, "192.0.2.80", &key);
    let (p, set, aliases) = serve(v1, AliasTable::default());
    let mut signer = Signer::new(3600);
    aliases.store(Arc::new(signed_table(&mut signer, &set.load(), &key)));
    p.observe();
    let publish = |z: Arc<Zone>| {
        let mut s = ZoneSet::clone(&set.load());
        s.insert(z);
        set.store(Arc::new(s));
        p.observe();
    };
    let mut versions = vec![zone_set(&transfer(&p, None))];
    // www moves: version 2 is published before the signer has seen it.
    publish(signed_example(2, "192.0.2.81", &key));
    versions.push(zone_set(&transfer(&p, None)));
    // The signer signs the new answer, then the zone gets serial 3.
    aliases.store(Arc::new(signed_table(&mut signer, &set.load(), &key)));
    publish(signed_example(3, "192.0.2.81", &key));
    versions.push(zone_set(&transfer(&p, None)));

    let apex_a = |v: &BTreeSet<Key3>| {
        v.iter()
            .filter(|(o, t, _)| o.len() == 9 && *t == Rtype::A.0)
            .map(|r| r.2.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(apex_a(&versions[1]), [vec![192, 0, 2, 80]], "old answer");
    assert_eq!(apex_a(&versions[2]), [vec![192, 0, 2, 81]], "new answer");
    for v in &versions {
        let all: Vec<Key3> = v.iter().cloned().collect();
        assert_eq!(problems(&all, &dnskey(&key)), Vec::<String>::new());
    }
    // IXFR from each serial, applied, gives the latest AXFR.
    for from_serial in 1..3u32 {
        let ixfr = transfer(&p, Some(from_serial));
        let mut zone = versions[from_serial as usize - 1].clone();
        // SOA new, then per step: SOA old, deletions, SOA new, additions.
        let mut deleting = false;
        for r in &ixfr[1..ixfr.len() - 1] {
            if r.rtype == Rtype::SOA {
                deleting = !deleting;
            }
            if deleting {
                zone.remove(&key3(r));
            } else {
                zone.insert(key3(r));
            }
        }
        let wrong: Vec<String> = zone
            .symmetric_difference(&versions[2])
            .map(|(owner, rtype, _)| {
                format!("{} {}", Name::from_wire(owner).unwrap(), Rtype(*rtype))
            })
            .collect();
        assert!(wrong.is_empty(), "IXFR from {from_serial}: {wrong:?}");
    }
}

/// A version of a signed zone whose ALIAS owners the signer has not
/// signed is held back: the journal neither records nor announces it and
/// transfers of the zone are told to wait, until the signed answers are in
/// the table; then it is released with them, and its IXFR step and AXFR
/// verify. A hold that runs out (the signer cannot sign: the target never
/// resolves) releases the version without addresses for those owners,
/// and later versions pending only on them are not held again.
#[test]
fn versions_wait_for_the_alias_signer_bounded() {
    const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let key = csk();
    let (p, set, aliases) = serve(signed_example(1, "192.0.2.80", &key), AliasTable::default());
    let axfr_request = request("example.", None);
    // At start-up nothing is signed yet: held, no NOTIFY.
    assert_eq!(p.observe(), Vec::new());
    let until = p.holding(&axfr_request, LOCAL, NOW).expect("held");
    assert!(until > std::time::Instant::now());
    assert_eq!(p.next_release(), Some(until));
    assert_eq!(p.holding(&request("other.", None), LOCAL, NOW), None);
    // Nobody the ACL refuses is kept waiting (they are refused at once).
    let stranger: std::net::IpAddr = "192.0.2.99".parse().unwrap();
    assert_eq!(p.holding(&axfr_request, stranger, NOW), None);
    let mut signer = Signer::new(3600);
    aliases.store(Arc::new(signed_table(&mut signer, &set.load(), &key)));
    let changed = p.observe();
    assert_eq!(changed.len(), 1, "released: {changed:?}");
    assert_eq!(
        (p.holding(&axfr_request, LOCAL, NOW), p.next_release()),
        (None, None)
    );
    let v1 = zone_set(&transfer(&p, None));

    // A version that moves the next name of an ALIAS owner's NSEC (a name
    // added after `out`) makes its signed NSEC stale: held again until the
    // signer has signed against the new NSEC.
    let unsigned = zone(
        "example.",
        &format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. 2 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nwww A 192.0.2.80\nwww AAAA 2001:db8::1\n\
             @ {}\nout {}\nout TXT \"beside\"\nout0 TXT \"new\"\nlost {}\npool 60 {}\n\
             pool 60 {}\n",
            private(65304, "www.example."),
            private(65304, "cdn.other."),
            private(65304, "nowhere.other."),
            private(65303, "b.pool.other."),
            private(65303, "a.pool.other."),
        ),
    );
    let one = std::num::NonZeroUsize::MIN;
    let signed = sign_zone(
        &unsigned,
        std::slice::from_ref(&key),
        &SigningPolicy::default(),
        NOW,
        one,
    )
    .unwrap();
    let v2 = Arc::new(compile_signed(&unsigned, &signed).unwrap());
    let mut s = ZoneSet::clone(&set.load());
    s.insert(v2);
    set.store(Arc::new(s));
    assert_eq!(p.observe(), Vec::new(), "held for the stale NSEC at out");
    assert!(p.holding(&axfr_request, LOCAL, NOW).is_some());
    // IXFR meanwhile: the released version, nothing newer.
    let ixfr = transfer(&p, Some(1));
    assert_eq!(ixfr.len(), 1, "the SOA of serial 1 only: {ixfr:?}");
    aliases.store(Arc::new(signed_table(&mut signer, &set.load(), &key)));
    assert_eq!(p.observe().len(), 1);
    let v2 = zone_set(&transfer(&p, None));
    let all: Vec<Key3> = v2.iter().cloned().collect();
    assert_eq!(problems(&all, &dnskey(&key)), Vec::<String>::new());
    // The IXFR step from 1, applied to version 1, gives version 2.
    let ixfr = transfer(&p, Some(1));
    let mut applied = v1.clone();
    let mut deleting = false;
    for r in &ixfr[1..ixfr.len() - 1] {
        if r.rtype == Rtype::SOA {
            deleting = !deleting;
        }
        if deleting {
            applied.remove(&key3(r));
        } else {
            applied.insert(key3(r));
        }
    }
    assert_eq!(applied, v2);

    // The hold is bounded: a journal on its own, with a clock.
    let mut journal = Journal::new(Limits::DEFAULT).with_hold(std::time::Duration::from_secs(3));
    let start = std::time::Instant::now();
    let zones = Arc::new(ZoneSet::from_zones(vec![signed_example(
        7,
        "192.0.2.80",
        &key,
    )]));
    let apex = Name::from_text("example.", None).unwrap();
    let empty = AliasTable::default();
    assert_eq!(journal.observe_at(&zones, &empty, start), Vec::new());
    let second = start + std::time::Duration::from_secs(2);
    assert_eq!(journal.observe_at(&zones, &empty, second), Vec::new());
    assert_eq!(
        journal.held_until(apex.as_wire()),
        Some(start + std::time::Duration::from_secs(3))
    );
    let late = start + std::time::Duration::from_secs(3);
    assert_eq!(
        journal.observe_at(&zones, &empty, late).len(),
        1,
        "released"
    );
    assert_eq!(journal.held_until(apex.as_wire()), None);
    // The next version, pending on the same owners only, is not held.
    let zones = Arc::new(ZoneSet::from_zones(vec![signed_example(
        8,
        "192.0.2.80",
        &key,
    )]));
    assert_eq!(journal.observe_at(&zones, &empty, late).len(), 1);
    // An unsigned zone is never held.
    let plain = Arc::new(ZoneSet::from_zones(vec![zone(
        "plain.",
        &format!(
            "$TTL 300\n@ SOA ns.plain. h.plain. 1 3600 600 86400 60\n@ NS ns.plain.\n\
             ns A 192.0.2.53\n@ {}\n",
            private(65304, "cdn.other.")
        ),
    )]));
    assert_eq!(journal.observe_at(&plain, &empty, start).len(), 1);
}
