//! Tests of the ALIAS signer: what it signs and when, and that the answers
//! `candor_answer::respond` builds from what it publishes verify.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use candor_answer::{AliasEntry, AliasTable, Config, Cookies, Request, Transport, respond};
use candor_dnssec::{
    Algorithm, KeyRole, SigningKey, SigningPolicy, compile_signed, sign_zone, verify_rrset,
};
use candor_guard::CookieSecrets;
use candor_wire::decode::{Message, decode_message};
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::{ZoneSet, load_zone_text};

use super::*;

/// When the tests sign (2025-12-05).
const NOW: u64 = 1_764_900_000;

/// An RFC 3597 ALIAS line.
fn alias_line(owner: &str, target: &str) -> String {
    let wire = Name::from_text(target, None).unwrap();
    let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
    format!("{owner} TYPE65304 \\# {} {hex}\n", wire.wire_len())
}

/// A key for the zone (Ed25519, fresh).
fn key() -> SigningKey {
    let rng = ring_rng();
    SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).unwrap()
}

/// The operating system's random source.
fn ring_rng() -> ring::rand::SystemRandom {
    ring::rand::SystemRandom::new()
}

/// Zone `a.` signed with `key`: an apex ALIAS to a host in zone `b.` (A
/// only), an ALIAS outside (resolved by the "resolver"), a wildcard ALIAS,
/// an ALIAS never resolved; zone `b.` unsigned.
fn zones(key: &SigningKey) -> ZoneSet {
    let mut a = String::from("$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    a.push_str("@ MX 10 mail\n");
    a.push_str(&alias_line("@", "www.b."));
    a.push_str(&alias_line("out", "www.elsewhere.test."));
    a.push_str(&alias_line("*.w", "www.elsewhere.test."));
    a.push_str(&alias_line("never", "nobody.elsewhere.test."));
    let plain = load_zone_text(a.as_bytes(), Path::new("a.zone"), &name("a.")).unwrap();
    let signed = sign_zone(
        &plain,
        std::slice::from_ref(key),
        &SigningPolicy::default(),
        NOW,
        NonZeroUsize::MIN,
    )
    .unwrap();
    let served = compile_signed(&plain, &signed).unwrap();
    let b = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n";
    let b = load_zone_text(b.as_bytes(), Path::new("b.zone"), &name("b.")).unwrap();
    ZoneSet::from_zones([Arc::new(served), Arc::new(b)])
}

/// A name.
fn name(text: &str) -> Name {
    Name::from_text(text, None).unwrap()
}

/// The resolver's answer for www.elsewhere.test.
fn elsewhere(v4: &[[u8; 4]]) -> AliasEntry {
    AliasEntry {
        exists: true,
        v4: v4.to_vec(),
        v6: vec![[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]],
        ttl: 42,
    }
}

/// A resolver that knows www.elsewhere.test. as `entry`.
fn resolver(entry: AliasEntry) -> impl Fn(&[u8]) -> Option<AliasEntry> {
    move |t: &[u8]| (t == name("www.elsewhere.test.").as_wire()).then(|| entry.clone())
}

/// Plans and signs everything due; the owners signed.
fn run(
    signer: &mut Signer,
    zones: &ZoneSet,
    key: &SigningKey,
    entry: AliasEntry,
    now: u64,
) -> Vec<String> {
    let (wants, _) = signer.plan(zones, &resolver(entry), now);
    let mut owners = Vec::new();
    for want in wants {
        let signed = sign(&want, std::slice::from_ref(key), now)
            .unwrap()
            .unwrap();
        owners.push(Name::from_wire(&want.owner).unwrap().to_string());
        signer.complete(want, now, signed);
    }
    owners.sort();
    owners
}

/// Answers a DO=1 query from `zones` with the signer's table.
fn ask(zones: &ZoneSet, signer: &Signer, qname: &str, qtype: Rtype) -> Message {
    let config = Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([7; 16], None)),
    };
    config.aliases.store(Arc::new(
        AliasTable::default().with_signed(signer.published()),
    ));
    let spec = QuerySpec {
        id: 1,
        recursion_desired: false,
        edns_udp_size: Some(1232),
    };
    let mut q = query_message(spec, &name(qname), qtype);
    let len = q.len();
    q[len - 4] |= 0x80; // DO
    let mut out = vec![0u8; 65535];
    let request = Request {
        msg: &q,
        transport: Transport::Udp,
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        now: NOW as u32,
    };
    let n = respond(zones, &config, &request, &mut out).unwrap().len;
    decode_message(&out[..n]).unwrap()
}

/// Every RRSIG in `records` verifies over the records of its owner and
/// type there, with `key`; how many there were.
fn verify_all(records: &[candor_wire::decode::Record], key: &SigningKey) -> usize {
    let mut n = 0;
    for sig in records.iter().filter(|r| r.rtype == Rtype::RRSIG) {
        let covered = Rtype(u16::from_be_bytes([sig.rdata[0], sig.rdata[1]]));
        let set: Vec<&[u8]> = records
            .iter()
            .filter(|r| r.rtype == covered && r.owner == sig.owner)
            .map(|r| r.rdata.as_slice())
            .collect();
        assert!(!set.is_empty(), "an RRSIG over {covered} without its RRset");
        assert!(
            verify_rrset(
                key.dnskey_rdata(),
                sig.owner.as_wire(),
                covered,
                &set,
                &sig.rdata
            ),
            "{} {covered}",
            sig.owner
        );
        n += 1;
    }
    n
}

#[test]
fn aliases_of_signed_zones_are_signed_once_per_change() {
    let key = key();
    let z = zones(&key);
    let mut signer = Signer::new(3600);
    let v4 = [[198, 51, 100, 7], [198, 51, 100, 8]];
    // The first pass signs every resolved owner (not the unresolved one).
    assert_eq!(
        run(&mut signer, &z, &key, elsewhere(&v4), NOW),
        ["*.w.a.", "a.", "out.a."]
    );
    // Nothing changed: nothing to sign, however often it is asked.
    assert!(run(&mut signer, &z, &key, elsewhere(&v4), NOW + 10).is_empty());
    // Another TTL or another order from upstream: still nothing.
    let mut rotated = elsewhere(&[v4[1], v4[0]]);
    rotated.ttl = 7;
    assert!(run(&mut signer, &z, &key, rotated, NOW + 20).is_empty());
    // New addresses: the two owners pointing there, once.
    let moved = elsewhere(&[[198, 51, 100, 9]]);
    assert_eq!(
        run(&mut signer, &z, &key, moved.clone(), NOW + 30),
        ["*.w.a.", "out.a."]
    );
    assert!(run(&mut signer, &z, &key, moved.clone(), NOW + 40).is_empty());
    // Signatures are refreshed before they expire (5½ days), all at once.
    assert_eq!(
        run(&mut signer, &z, &key, moved.clone(), NOW + 6 * 86_400).len(),
        3
    );
    // The zone unsigned: its owners are dropped.
    let plain = ZoneSet::from_zones(z.zones().iter().skip(1).cloned());
    let (wants, dropped) = signer.plan(&plain, &resolver(moved), NOW);
    assert!(wants.is_empty() && dropped && signer.is_empty());
}

#[test]
fn signed_alias_answers_verify() {
    let key = key();
    let z = zones(&key);
    let mut signer = Signer::new(3600);
    run(&mut signer, &z, &key, elsewhere(&[[198, 51, 100, 7]]), NOW);

    // In-zone target (zone b.): the ALIAS's TTL, signed under a.
    let m = ask(&z, &signer, "a.", Rtype::A);
    assert_eq!(m.rcode(), 0);
    assert_eq!(m.answer.len(), 2, "{m:?}");
    assert_eq!(m.answer[0].rdata, [192, 0, 2, 80]);
    assert_eq!(m.answer[0].ttl, 300);
    assert_eq!(verify_all(&m.answer, &key), 1);
    // Outside target, both families.
    for qtype in [Rtype::A, Rtype::AAAA] {
        let m = ask(&z, &signer, "out.a.", qtype);
        assert_eq!(m.answer[0].rtype, qtype);
        assert_eq!(verify_all(&m.answer, &key), 1);
    }
    // A wildcard ALIAS: the expansion's signature (labels 2) and the
    // NSEC proving the name itself does not exist.
    let m = ask(&z, &signer, "x.w.a.", Rtype::A);
    assert_eq!(m.answer[0].owner, name("x.w.a."));
    assert_eq!(verify_all(&m.answer, &key), 1);
    assert_eq!(verify_all(&m.authority, &key), 1);
    assert!(m.authority.iter().any(|r| r.rtype == Rtype::NSEC));

    // NODATA for AAAA at the apex (www.b. has none): the signer's NSEC,
    // without AAAA (and with A), signed.
    let m = ask(&z, &signer, "a.", Rtype::AAAA);
    assert!(m.answer.is_empty());
    let nsec: Vec<_> = m
        .authority
        .iter()
        .filter(|r| r.rtype == Rtype::NSEC)
        .collect();
    assert_eq!(nsec.len(), 1);
    let bitmap = &nsec[0].rdata[wire_name_len(&nsec[0].rdata).unwrap()..];
    let types = nsec::bitmap_types(bitmap).unwrap();
    assert!(
        types.contains(&Rtype::A) && !types.contains(&Rtype::AAAA),
        "{types:?}"
    );
    assert!(types.contains(&Rtype::MX));
    assert_eq!(verify_all(&m.authority, &key), 2, "SOA and NSEC");
    // NODATA for a type the owner lacks (TXT): the zone's own NSEC.
    let m = ask(&z, &signer, "a.", Rtype::TXT);
    assert!(m.answer.is_empty());
    assert_eq!(verify_all(&m.authority, &key), 2);
    // Never resolved, or not signed yet: SERVFAIL, as without DNSSEC.
    assert_eq!(ask(&z, &signer, "never.a.", Rtype::A).rcode(), 2);
    assert_eq!(ask(&z, &Signer::new(3600), "out.a.", Rtype::A).rcode(), 2);
}

#[test]
fn only_keys_the_zone_publishes_sign() {
    let key = key();
    let z = zones(&key);
    let mut signer = Signer::new(60);
    let (wants, _) = signer.plan(&z, &resolver(elsewhere(&[[192, 0, 2, 9]])), NOW);
    assert_eq!(wants.len(), 3);
    assert!(wants.iter().all(|w| w.ttl == 60), "TTL capped");
    assert!(sign(&wants[0], &[self::key()], NOW).is_none());
    assert!(sign(&wants[0], &[self::key(), key], NOW).unwrap().is_ok());
}
