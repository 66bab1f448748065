//! Known-answer tests against the RFCs' published examples, signatures
//! checked with `ring`'s verifier, and whole signed zones checked by BIND's
//! `dnssec-verify`.

use std::num::NonZeroUsize;
use std::path::Path;

use candor_wire::{Name, Rtype};
use candor_zone::{OwnedRecord, Zone, load_zone_text};
use candor_zonefile::{base64_decode, rdata_from_text};
use expect_test::expect;
use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};

use crate::nsec::{Chain, MAX_KEY_LEN, bitmap_types, canonical_key, covering, covers, type_bitmap};
use crate::{
    Algorithm, DigestType, KeyRole, KeySet, SignedZone, SigningKey, SigningPolicy, Validity,
    ZoneSignError, canonical_rdata, compile_signed, key_tag, rrsig_labels, sign_and_compile,
    sign_rrset, sign_zone, sign_zone_with, signed_at, signed_data, zone_text,
};

/// One signing thread.
const ONE: NonZeroUsize = NonZeroUsize::MIN;

/// Decodes base64 or fails the test.
fn b64(text: &str) -> Vec<u8> {
    base64_decode(text).unwrap()
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A wire name from text.
fn wire(text: &str) -> Vec<u8> {
    Name::from_text(text, None).unwrap().as_wire().to_vec()
}

/// RDATA from presentation text.
fn rdata(rtype: Rtype, text: &str) -> Vec<u8> {
    rdata_from_text(rtype, text, &Name::root()).unwrap()
}

/// Whether RRSIG RDATA `sig` over the RRset (`owner`, `rtype`, `ttl`,
/// `rdatas`) verifies with the DNSKEY RDATA `dnskey`: the validator's side,
/// with `ring`'s verifier, sharing only [`signed_data`] with the signer.
fn verifies(sig: &[u8], owner: &[u8], rtype: Rtype, rdatas: &[&[u8]], dnskey: &[u8]) -> bool {
    let signer_len = candor_wire::wire_name_len(&sig[18..]).unwrap();
    let (head, signature) = sig.split_at(18 + signer_len);
    assert_eq!(u16::from_be_bytes([head[0], head[1]]), rtype.0);
    assert_eq!(head[2], dnskey[3], "algorithm");
    assert_eq!(u16::from_be_bytes([head[16], head[17]]), key_tag(dnskey));
    let ttl = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    let mut canonical: Vec<Vec<u8>> = rdatas
        .iter()
        .map(|r| canonical_rdata(rtype, r).into_owned())
        .collect();
    canonical.sort();
    canonical.dedup();
    let refs: Vec<&[u8]> = canonical.iter().map(Vec::as_slice).collect();
    // A wildcard answer's signature covers the wildcard owner.
    let labels = usize::from(head[3]);
    let mut owner = owner.to_ascii_lowercase();
    let count = candor_wire::wire_labels(&owner).count();
    if labels < count {
        let skip = candor_wire::wire_labels(&owner)
            .nth(count - labels)
            .unwrap();
        owner = [b"\x01*".as_slice(), &owner[skip..]].concat();
    }
    let data = signed_data(head, &owner, rtype, ttl, &refs);
    let public = &dnskey[4..];
    match dnskey[3] {
        13 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, [&[4u8][..], public].concat())
            .verify(&data, signature)
            .is_ok(),
        15 => UnparsedPublicKey::new(&ED25519, public)
            .verify(&data, signature)
            .is_ok(),
        other => panic!("algorithm {other}"),
    }
}

/// RFC 4034 §5.4's DNSKEY (RSA/SHA-1, flags 256) has key tag 60485, and
/// its SHA-1 DS digest is the one printed there: the key tag algorithm of
/// Appendix B and the DS digest input (owner, then RDATA) are right.
#[test]
fn rfc4034_key_tag_and_ds_digest() {
    let dnskey = rdata(
        Rtype::DNSKEY,
        "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ\
         DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc\
         nOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
    );
    assert_eq!(key_tag(&dnskey), 60485);
    let owner = wire("dskey.example.com.");
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &[owner.as_slice(), &dnskey].concat(),
    );
    assert_eq!(
        hex(digest.as_ref()),
        "2bb183af5f22588179a53b0a98631fad1a292118"
    );
}

/// RFC 6605 §6.1: the published P-256 key pair gives the published DNSKEY,
/// key tag and SHA-256 DS; the published RRSIG over `www.example.net. A`
/// verifies over the data this crate builds; and a signature made here
/// with the same fields has the same RDATA up to the (random) signature
/// and verifies too.
#[test]
fn rfc6605_p256_example() {
    let public = b64(
        "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
    );
    let private = b64("GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=");
    let key =
        SigningKey::from_raw(Algorithm::EcdsaP256Sha256, KeyRole::Ksk, &private, &public).unwrap();
    let apex = wire("example.net.");
    assert_eq!(key.public_key(), public);
    assert_eq!(key.key_tag(), 55648);
    assert_eq!(
        hex(&key.ds_rdata(&apex, DigestType::Sha256)),
        "d9600d02b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"
    );

    let owner = wire("www.example.net.");
    let a = rdata(Rtype::A, "192.0.2.1");
    let published = rdata(
        Rtype::RRSIG,
        "A 13 3 3600 20100909100439 20100812100439 55648 example.net. \
         qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
    );
    assert!(verifies(
        &published,
        &owner,
        Rtype::A,
        &[&a],
        key.dnskey_rdata()
    ));

    let validity = Validity {
        inception: 1_281_607_479,
        expiration: 1_284_026_679,
    };
    let ours = sign_rrset(&key, &apex, &owner, Rtype::A, 3600, &[&a], validity).unwrap();
    assert_eq!(ours[..ours.len() - 64], published[..published.len() - 64]);
    assert!(verifies(&ours, &owner, Rtype::A, &[&a], key.dnskey_rdata()));
    // And a changed RRset does not verify.
    let other = rdata(Rtype::A, "192.0.2.2");
    assert!(!verifies(
        &ours,
        &owner,
        Rtype::A,
        &[&other],
        key.dnskey_rdata()
    ));
}

/// RFC 8080 §6.1 (with erratum 4935): Ed25519 signatures are
/// deterministic, so signing the example MX RRset with each published key
/// must give exactly the published RRSIG; the key tags and DS digests
/// match too.
#[test]
fn rfc8080_ed25519_examples() {
    let cases = [
        (
            "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
            "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
            3613,
            "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
            "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
        ),
        (
            "DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=",
            "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
            35217,
            "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
            "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
        ),
    ];
    let apex = wire("example.com.");
    let mx = rdata(Rtype::MX, "10 mail.example.com.");
    let validity = Validity {
        inception: 1_438_207_200,
        expiration: 1_440_021_600,
    };
    for (private, public, tag, ds, sig) in cases {
        let key = SigningKey::from_raw(
            Algorithm::Ed25519,
            KeyRole::Csk,
            &b64(private),
            &b64(public),
        )
        .unwrap();
        assert_eq!(key.key_tag(), tag);
        let ds_rdata = key.ds_rdata(&apex, DigestType::Sha256);
        assert_eq!(hex(&ds_rdata[4..]), ds);
        assert_eq!(ds_rdata[..4], [(tag >> 8) as u8, tag as u8, 15, 2]);
        let ours = sign_rrset(&key, &apex, &apex, Rtype::MX, 3600, &[&mx], validity).unwrap();
        let published = rdata(
            Rtype::RRSIG,
            &format!("MX 15 2 3600 1440021600 1438207200 {tag} example.com. {sig}"),
        );
        assert_eq!(hex(&ours), hex(&published), "key {tag}");
        assert!(verifies(
            &ours,
            &apex,
            Rtype::MX,
            &[&mx],
            key.dnskey_rdata()
        ));
    }
}

/// Generated keys of both algorithms and every role come back from their
/// PKCS#8 document as the same key (same DNSKEY, signatures that verify),
/// and a key's `Debug` shows neither the document nor the secret.
#[test]
fn generated_keys_round_trip_through_pkcs8() {
    let rng = ring::rand::SystemRandom::new();
    let apex = wire("example.org.");
    let txt = rdata(Rtype::TXT, "\"hello\"");
    let validity = SigningPolicy::default().validity(1_700_000_000, 7);
    for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        for role in [KeyRole::Csk, KeyRole::Ksk, KeyRole::Zsk] {
            let key = SigningKey::generate(algorithm, role, &rng).unwrap();
            let again = SigningKey::from_pkcs8(algorithm, role, key.pkcs8()).unwrap();
            assert_eq!(again.dnskey_rdata(), key.dnskey_rdata());
            assert_eq!(
                u16::from_be_bytes([key.dnskey_rdata()[0], key.dnskey_rdata()[1]]),
                role.flags()
            );
            let sig = sign_rrset(&again, &apex, &apex, Rtype::TXT, 60, &[&txt], validity).unwrap();
            assert!(verifies(
                &sig,
                &apex,
                Rtype::TXT,
                &[&txt],
                key.dnskey_rdata()
            ));
            let shown = format!("{key:?}");
            assert!(shown.contains("key_tag"), "{shown}");
            assert!(!shown.contains("pkcs8"), "{shown}");
        }
        // A document of the other algorithm is refused with a reason.
        let key = SigningKey::generate(algorithm, KeyRole::Csk, &rng).unwrap();
        let other = match algorithm {
            Algorithm::EcdsaP256Sha256 => Algorithm::Ed25519,
            Algorithm::Ed25519 => Algorithm::EcdsaP256Sha256,
        };
        let err = SigningKey::from_pkcs8(other, KeyRole::Csk, key.pkcs8()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the stored private key was rejected")
        );
    }
}

/// Names inside RDATA are lower-cased for the types RFC 4034 §6.2 lists
/// (as corrected by RFC 6840 §5.1), and left alone in the others.
#[test]
fn canonical_rdata_lowercases_listed_types_only() {
    let cases = [
        (Rtype::MX, "10 Mail.Example.COM."),
        (Rtype::CNAME, "WWW.example.com."),
        (Rtype::SOA, "NS1.Example. Host.Example. 1 2 3 4 5"),
        (Rtype::SRV, "0 5 5060 SIP.Example."),
        (
            Rtype::NAPTR,
            "100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:Info@Example.com!\" A.Example.",
        ),
        (Rtype::TXT, "\"KEEP Case\""),
        (Rtype::NSEC, "Host.Example. A NSEC RRSIG"),
        (Rtype::SVCB, "1 Svc.Example."),
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|(t, text)| {
            let wire = rdata(*t, text);
            let canonical = canonical_rdata(*t, &wire);
            format!("{t}: {}", candor_zonefile::rdata_to_text(*t, &canonical))
        })
        .collect();
    expect![[r#"
        MX: 10 mail.example.com.
        CNAME: www.example.com.
        SOA: ns1.example. host.example. 1 2 3 4 5
        SRV: 0 5 5060 sip.example.
        NAPTR: 100 10 "U" "E2U+sip" "!^.*$!sip:Info@Example.com!" a.example.
        TXT: "KEEP Case"
        NSEC: Host.Example. A RRSIG NSEC
        SVCB: 1 Svc.Example."#]]
    .assert_eq(&shown.join("\n"));
    assert_eq!(rrsig_labels(&wire("*.a.example.")), 2);
    assert_eq!(rrsig_labels(&wire("a.example.")), 2);
    assert_eq!(rrsig_labels(&wire(".")), 0);
}

/// RFC 4034 §4.3's example bitmap (A MX RRSIG NSEC TYPE1234), and the
/// inverse for a few sets.
#[test]
fn type_bitmap_matches_rfc4034_example() {
    let types = [Rtype::A, Rtype::MX, Rtype::RRSIG, Rtype::NSEC, Rtype(1234)];
    let bitmap = type_bitmap(&types);
    let mut expected = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03];
    expected.extend([0x04, 0x1b]);
    expected.extend([0u8; 26]);
    expected.push(0x20);
    assert_eq!(bitmap, expected);
    assert_eq!(bitmap_types(&bitmap).unwrap(), types);
    for set in [
        vec![],
        vec![Rtype::NS, Rtype::DS, Rtype::RRSIG, Rtype::NSEC],
        vec![Rtype(65535), Rtype::CAA, Rtype::A],
    ] {
        let mut sorted = set.clone();
        sorted.sort_by_key(|t| t.0);
        assert_eq!(bitmap_types(&type_bitmap(&set)).unwrap(), sorted);
    }
    assert_eq!(type_bitmap(&[Rtype::A, Rtype::A]), type_bitmap(&[Rtype::A]));
    assert!(bitmap_types(&[0, 0]).is_none());
    assert!(bitmap_types(&[1, 1, 0, 0, 1, 0]).is_none());
}

/// `covering` finds, for a name in a zone, the chain entry whose NSEC
/// proves it (itself if it exists), including names that sort after the
/// last one, and agrees with `covers` on every case.
#[test]
fn covering_finds_the_nsec_for_any_name() {
    let mut names: Vec<Vec<u8>> = ["example.", "a.example.", "z.a.example.", "b.example."]
        .iter()
        .map(|n| wire(n))
        .collect();
    // A label holding a byte above 'z' sorts last.
    names.push([b"\x01\xff".as_slice(), &wire("z.example.")].concat());
    let sorted: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    for w in sorted.windows(2) {
        assert_eq!(
            candor_zone::canonical_name_cmp(w[0], w[1]),
            std::cmp::Ordering::Less
        );
    }
    let cases = [
        ("example.", Ok(0)),
        ("0.example.", Err(0)),
        ("a.example.", Ok(1)),
        ("b.a.example.", Err(1)),
        ("zz.a.example.", Err(2)),
        ("aa.example.", Err(2)),
        ("b.example.", Ok(3)),
        ("c.example.", Err(3)),
        ("zzz.zzz.example.", Err(4)),
    ];
    for (name, expected) in cases {
        let n = wire(name);
        assert_eq!(covering(&sorted, &n), expected, "{name}");
        if let Err(i) = expected {
            let next = sorted[(i + 1) % sorted.len()];
            assert!(covers(sorted[i], next, &n), "{name}");
        }
    }
}

/// A zone with every kind of name a signer must treat differently.
const ZONE: &str = "\
$TTL 3600
@         IN SOA  ns1 hostmaster 2026120501 7200 3600 1209600 300
@         IN NS   ns1
@         IN NS   ns.elsewhere.net.
@         IN MX   10 Mail.Example.COM.
@         IN TXT  \"v=spf1 -all\"
ns1       IN A    192.0.2.1
mail      IN A    192.0.2.2
mail      IN AAAA 2001:db8::2
www       IN CNAME @
*.wild    IN A    192.0.2.3
*.wild    IN TXT  \"wildcard\"
deep.ent.x IN A   192.0.2.4
secure    IN NS   ns.secure
secure    IN DS   12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.secure IN A    192.0.2.5
insecure  IN NS   ns.insecure
ns.insecure IN A  192.0.2.6
old       IN DNAME new.example.net.
alias     IN TYPE65304 \\# 19 05616c696173076578616d706c65036e657400
";

/// The test zone, compiled.
fn test_zone() -> Zone {
    let origin = Name::from_text("example.com.", None).unwrap();
    load_zone_text(ZONE.as_bytes(), Path::new("example.com.zone"), &origin).unwrap()
}

/// The test zone without its ALIAS record, whose addresses a zone file
/// cannot hold (they are synthesized per query).
fn exportable_zone() -> Zone {
    let origin = Name::from_text("example.com.", None).unwrap();
    let text: String = ZONE
        .lines()
        .filter(|l| !l.contains("TYPE65304"))
        .map(|l| format!("{l}\n"))
        .collect();
    load_zone_text(text.as_bytes(), Path::new("example.com.zone"), &origin).unwrap()
}

/// The RFC 8080 example key 1 as a CSK: deterministic signatures, so
/// signed zones are snapshots.
fn rfc8080_key() -> SigningKey {
    SigningKey::from_raw(
        Algorithm::Ed25519,
        KeyRole::Csk,
        &b64("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI="),
        &b64("l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="),
    )
    .unwrap()
}

/// Every RRSIG of a signed zone verifies against the zone's DNSKEYs, and
/// every RRset that must be signed is.
fn check_signatures(zone: &Zone, signed: &SignedZone) -> usize {
    let mut all: Vec<OwnedRecord> = zone
        .records()
        .filter(|r| !candor_zone::is_private_type(r.rtype))
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    all.extend(signed.records.iter().cloned());
    let dnskeys: Vec<&OwnedRecord> = all.iter().filter(|r| r.rtype == Rtype::DNSKEY).collect();
    let mut checked = 0;
    for sig in all.iter().filter(|r| r.rtype == Rtype::RRSIG) {
        let covered = Rtype(u16::from_be_bytes([sig.rdata[0], sig.rdata[1]]));
        let rdatas: Vec<&[u8]> = all
            .iter()
            .filter(|r| r.owner == sig.owner && r.rtype == covered)
            .map(|r| &*r.rdata)
            .collect();
        assert!(!rdatas.is_empty(), "RRSIG without its RRset");
        let tag = u16::from_be_bytes([sig.rdata[16], sig.rdata[17]]);
        let key = dnskeys
            .iter()
            .find(|k| key_tag(&k.rdata) == tag)
            .expect("the signing key is published");
        assert!(
            verifies(&sig.rdata, &sig.owner, covered, &rdatas, &key.rdata),
            "{covered} at {:?}",
            Name::from_wire(&sig.owner)
        );
        checked += 1;
    }
    checked
}

/// Signing the test zone with a CSK: the NSEC chain skips glue, names
/// below the DNAME and empty non-terminals, keeps delegations with the
/// right bitmaps (DS or not), gives ALIAS owners A and AAAA; every RRSIG
/// verifies; the RRSIGs cover exactly the RRsets a validator expects.
#[test]
fn sign_zone_with_a_csk() {
    let zone = test_zone();
    let key = rfc8080_key();
    let signed = sign_zone(&zone, &[key], &SigningPolicy::default(), 1_764_900_000, ONE).unwrap();
    let checked = check_signatures(&zone, &signed);
    assert_eq!(checked, signed.signatures);
    let nsecs: Vec<String> = signed
        .records
        .iter()
        .filter(|r| r.rtype == Rtype::NSEC)
        .map(|r| {
            format!(
                "{} {} {}",
                Name::from_wire(&r.owner).unwrap(),
                r.ttl,
                candor_zonefile::rdata_to_text(r.rtype, &r.rdata)
            )
        })
        .collect();
    expect![[r#"
        example.com. 300 alias.example.com. NS SOA MX TXT RRSIG NSEC DNSKEY CDS CDNSKEY
        alias.example.com. 300 insecure.example.com. A AAAA RRSIG NSEC
        insecure.example.com. 300 mail.example.com. NS RRSIG NSEC
        mail.example.com. 300 ns1.example.com. A AAAA RRSIG NSEC
        ns1.example.com. 300 old.example.com. A RRSIG NSEC
        old.example.com. 300 secure.example.com. DNAME RRSIG NSEC
        secure.example.com. 300 *.wild.example.com. NS DS RRSIG NSEC
        *.wild.example.com. 300 www.example.com. A TXT RRSIG NSEC
        www.example.com. 300 deep.ent.x.example.com. CNAME RRSIG NSEC
        deep.ent.x.example.com. 300 example.com. A RRSIG NSEC"#]]
    .assert_eq(&nsecs.join("\n"));
    let covered: Vec<String> = signed
        .records
        .iter()
        .filter(|r| r.rtype == Rtype::RRSIG)
        .map(|r| {
            format!(
                "{} {} labels={}",
                Name::from_wire(&r.owner).unwrap(),
                Rtype(u16::from_be_bytes([r.rdata[0], r.rdata[1]])),
                r.rdata[3]
            )
        })
        .collect();
    expect![[r#"
        example.com. NS labels=2
        example.com. SOA labels=2
        example.com. MX labels=2
        example.com. TXT labels=2
        example.com. NSEC labels=2
        example.com. DNSKEY labels=2
        example.com. CDS labels=2
        example.com. CDNSKEY labels=2
        alias.example.com. NSEC labels=3
        insecure.example.com. NSEC labels=3
        mail.example.com. A labels=3
        mail.example.com. AAAA labels=3
        mail.example.com. NSEC labels=3
        ns1.example.com. A labels=3
        ns1.example.com. NSEC labels=3
        old.example.com. DNAME labels=3
        old.example.com. NSEC labels=3
        secure.example.com. DS labels=3
        secure.example.com. NSEC labels=3
        *.wild.example.com. A labels=3
        *.wild.example.com. TXT labels=3
        *.wild.example.com. NSEC labels=3
        www.example.com. CNAME labels=3
        www.example.com. NSEC labels=3
        deep.ent.x.example.com. A labels=5
        deep.ent.x.example.com. NSEC labels=5
    "#]]
    .assert_eq(&(covered.join("\n") + "\n"));
    // Signing is deterministic with an Ed25519 key and a fixed time, and
    // does not depend on the number of threads.
    for threads in [1, 2, 7, 1000] {
        let threads = NonZeroUsize::new(threads).unwrap();
        let again = sign_zone(
            &zone,
            &[rfc8080_key()],
            &SigningPolicy::default(),
            1_764_900_000,
            threads,
        );
        assert_eq!(again.unwrap(), signed, "{threads} threads");
    }
}

/// With a KSK and a ZSK, the apex key sets are signed by the KSK alone and
/// everything else by the ZSK alone; without one of them, signing fails
/// with a reason; a zone that holds its own DNSSEC records is refused.
#[test]
fn sign_zone_with_split_keys_and_errors() {
    let rng = ring::rand::SystemRandom::new();
    let zone = test_zone();
    let ksk = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Ksk, &rng).unwrap();
    let zsk = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Zsk, &rng).unwrap();
    let (ksk_tag, zsk_tag) = (ksk.key_tag(), zsk.key_tag());
    let policy = SigningPolicy::default();
    let signed = sign_zone(&zone, &[ksk, zsk], &policy, 1_764_900_000, ONE).unwrap();
    check_signatures(&zone, &signed);
    for sig in signed.records.iter().filter(|r| r.rtype == Rtype::RRSIG) {
        let covered = Rtype(u16::from_be_bytes([sig.rdata[0], sig.rdata[1]]));
        let tag = u16::from_be_bytes([sig.rdata[16], sig.rdata[17]]);
        let keyset = matches!(covered, Rtype::DNSKEY | Rtype::CDS | Rtype::CDNSKEY);
        assert_eq!(tag, if keyset { ksk_tag } else { zsk_tag }, "{covered}");
    }
    // CDS and CDNSKEY name the KSK only.
    let cds: Vec<&OwnedRecord> = signed
        .records
        .iter()
        .filter(|r| r.rtype == Rtype::CDS)
        .collect();
    assert_eq!(cds.len(), 1);
    assert_eq!(
        u16::from_be_bytes([cds[0].rdata[0], cds[0].rdata[1]]),
        ksk_tag
    );

    let zsk = SigningKey::generate(Algorithm::Ed25519, KeyRole::Zsk, &rng).unwrap();
    let err = sign_zone(&zone, &[zsk], &policy, 0, ONE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key signs the DNSKEY RRset (a CSK or KSK)"
    );
    let ksk = SigningKey::generate(Algorithm::Ed25519, KeyRole::Ksk, &rng).unwrap();
    let err = sign_zone(&zone, &[ksk], &policy, 0, ONE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key signs the zone's data (a CSK or ZSK)"
    );

    let origin = Name::from_text("example.com.", None).unwrap();
    let text = format!("{ZONE}www2 IN NSEC example.com. A\n");
    let zone = load_zone_text(text.as_bytes(), Path::new("x"), &origin).unwrap();
    let err = sign_zone(&zone, &[rfc8080_key()], &policy, 0, ONE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "www2.example.com. NSEC: a zone to be signed cannot hold its own NSEC records; Candor makes them"
    );
}

/// Validity periods: inception an hour back, expiration 14 days ahead less
/// at most 3 days of jitter that depends on the spread value only.
#[test]
fn validity_has_backdated_inception_and_jittered_expiration() {
    let policy = SigningPolicy::default();
    let now = 1_764_900_000u64;
    let mut seen = std::collections::BTreeSet::new();
    for spread in 0..1000u64 {
        let v = policy.validity(now, spread.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        assert_eq!(u64::from(v.inception), now - 3600);
        let exp = u64::from(v.expiration);
        assert!(
            exp <= now + 14 * 86_400 && exp >= now + 11 * 86_400,
            "{exp}"
        );
        seen.insert(exp);
    }
    assert!(
        seen.len() > 900,
        "jitter spreads expirations: {}",
        seen.len()
    );
    assert_eq!(policy.validity(now, 42), policy.validity(now, 42));
}

/// Runs BIND's `dnssec-verify` on a signed zone's text; `Ok` if it accepts
/// it, `Err` with its output if not. `None` when the tool is missing and
/// `CANDOR_SKIP_DNSSEC_TOOLS=1` allows skipping.
pub(crate) fn dnssec_verify(name: &str, text: &str, csk: bool) -> Option<Result<String, String>> {
    let found = std::process::Command::new("dnssec-verify")
        .arg("-V")
        .output();
    if found.is_err() {
        if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
            eprintln!(
                "{name}: skipped, dnssec-verify is not installed (CANDOR_SKIP_DNSSEC_TOOLS=1)"
            );
            return None;
        }
        panic!(
            "dnssec-verify (BIND) is needed: apt-get install bind9-utils, \
             or set CANDOR_SKIP_DNSSEC_TOOLS=1 to skip this test"
        );
    }
    let path =
        std::env::temp_dir().join(format!("candor-dnssec-{}-{name}.zone", std::process::id()));
    std::fs::write(&path, text).unwrap();
    // `-z`: a CSK carries the SEP flag and signs everything, which
    // dnssec-verify accepts only when told to ignore that flag.
    let out = std::process::Command::new("dnssec-verify")
        .args(if csk { &["-z"][..] } else { &[] })
        .args(["-o", "example.com."])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() {
        Ok(log)
    } else {
        Err(log)
    })
}

/// The current time, for zones a real validator checks.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// BIND's `dnssec-verify` accepts the signed test zone with freshly
/// generated keys of both algorithms, as a CSK and as a KSK+ZSK pair
/// (chain complete, every RRset signed by every algorithm, signatures
/// valid now); and it rejects the zone when one signature is broken or
/// one NSEC is missing, so the check can fail.
#[test]
fn dnssec_verify_accepts_signed_zones() {
    let rng = ring::rand::SystemRandom::new();
    let zone = exportable_zone();
    let policy = SigningPolicy::default();
    for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
        let key_sets = [
            vec![SigningKey::generate(algorithm, KeyRole::Csk, &rng).unwrap()],
            vec![
                SigningKey::generate(algorithm, KeyRole::Ksk, &rng).unwrap(),
                SigningKey::generate(algorithm, KeyRole::Zsk, &rng).unwrap(),
            ],
        ];
        for keys in key_sets {
            let signed = sign_zone(&zone, &keys, &policy, now(), ONE).unwrap();
            let text = zone_text(&zone, &signed);
            let name = format!("{}-{}", algorithm.number(), keys.len());
            let Some(verdict) = dnssec_verify(&name, &text, keys.len() == 1) else {
                return;
            };
            if let Err(log) = verdict {
                panic!("dnssec-verify rejected the zone:\n{log}\n{text}");
            }
        }
    }

    let keys = [SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap()];
    let signed = sign_zone(&zone, &keys, &policy, now(), ONE).unwrap();
    let mut broken = signed.clone();
    let sig = broken
        .records
        .iter_mut()
        .find(|r| r.rtype == Rtype::RRSIG && r.rdata[..2] == Rtype::MX.0.to_be_bytes())
        .unwrap();
    let last = sig.rdata.len() - 1;
    sig.rdata[last] ^= 1;
    let verdict = dnssec_verify("broken-sig", &zone_text(&zone, &broken), true).unwrap();
    assert!(verdict.is_err(), "a broken signature passed");
    let mut gap = signed.clone();
    let at = gap
        .records
        .iter()
        .position(|r| r.rtype == Rtype::NSEC && *r.owner == *wire("mail.example.com."))
        .unwrap();
    gap.records.remove(at);
    let verdict = dnssec_verify("missing-nsec", &zone_text(&zone, &gap), true).unwrap();
    assert!(verdict.is_err(), "a broken chain passed");
}

/// A seeded generator of awkward lower-case names (bytes 0, 1, 0xff,
/// letters and digits; one to four labels below `example.`).
fn awkward_names(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const BYTES: &[u8] = b"\x00\x01\xff-0az*";
    (0..count)
        .map(|_| {
            let mut name = Vec::new();
            for _ in 0..1 + next() % 4 {
                let len = 1 + (next() % 3) as usize;
                name.push(len as u8);
                for _ in 0..len {
                    name.push(BYTES[(next() % BYTES.len() as u64) as usize]);
                }
            }
            name.extend_from_slice(&wire("example."));
            name
        })
        .collect()
}

/// Canonical keys order names exactly as `canonical_name_cmp` does, and
/// `Chain::covering` gives the same answer as `covering` for names in and
/// out of the chain, bytes 0 and 1 and 0xff included.
#[test]
fn chain_keys_keep_canonical_order() {
    let names = awkward_names(0x9e37_79b9, 400);
    let key = |n: &[u8]| {
        let mut buf = [0u8; MAX_KEY_LEN];
        let len = canonical_key(n, &mut buf).unwrap();
        buf[..len].to_vec()
    };
    for pair in names.windows(2) {
        assert_eq!(
            key(&pair[0]).cmp(&key(&pair[1])),
            candor_zone::canonical_name_cmp(&pair[0], &pair[1]),
            "{:?} {:?}",
            pair[0],
            pair[1]
        );
    }
    let mut sorted = names.clone();
    sorted.push(wire("example."));
    sorted.sort_by(|a, b| candor_zone::canonical_name_cmp(a, b));
    sorted.dedup();
    let refs: Vec<&[u8]> = sorted.iter().map(Vec::as_slice).collect();
    let chain = Chain::new(&refs);
    assert_eq!(chain.len(), refs.len());
    for name in names.iter().chain(&awkward_names(7, 400)) {
        assert_eq!(chain.covering(name), covering(&refs, name), "{name:?}");
    }
    assert!(canonical_key(b"\x05ab", &mut [0u8; MAX_KEY_LEN]).is_none());
}

/// The signer's records compile into the zone: every RRSIG right after the
/// RRset it covers (none left over as an RRset of its own), NSEC RRsets at
/// exactly the chain's names, the chain in the zone the signer's, and the
/// zone's records are the unsigned zone's plus the signer's.
#[test]
fn signed_records_compile_into_the_zone() {
    let zone = test_zone();
    let signed = sign_zone(
        &zone,
        &[rfc8080_key()],
        &SigningPolicy::default(),
        1_764_900_000,
        ONE,
    )
    .unwrap();
    let served = compile_signed(&zone, &signed).unwrap();
    let parts = served.signed().expect("the compiled zone is signed");
    assert_eq!(parts.chain().len(), signed.chain.len());
    for (i, name) in signed.chain.iter().enumerate() {
        assert_eq!(
            parts.covering(name),
            Ok(served.node_by_name(name).unwrap()),
            "{i}"
        );
    }
    let mut signatures = 0;
    for id in 0..served.node_count() as u32 {
        for set in served.rrsets(served.node(id)) {
            assert_ne!(set.rtype, Rtype::RRSIG);
            if !served.sig_tails(set).is_empty() {
                signatures += 1;
            }
        }
    }
    assert_eq!(signatures, signed.signatures);
    let mut expected: Vec<OwnedRecord> = zone
        .records()
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    expected.extend(signed.records.iter().cloned());
    expected.sort_by(OwnedRecord::canonical_cmp);
    let mut got: Vec<OwnedRecord> = served
        .records()
        .map(|r| OwnedRecord::from_record(&r))
        .collect();
    got.sort_by(OwnedRecord::canonical_cmp);
    assert_eq!(got, expected);
    assert_eq!(served.record_count(), expected.len());
}

/// `sign_and_compile` makes the zone `compile_signed` makes of
/// `sign_zone_with`'s records (deterministic Ed25519 keys, a fixed time):
/// the same nodes in the same order, the same RRsets with the same data,
/// signatures and additional-section targets, whatever the number of
/// threads, with a CSK or with a KSK and a ZSK, POOL members included; and
/// it refuses what `sign_zone_with` refuses.
#[test]
fn sign_and_compile_makes_the_zone_compile_signed_makes() {
    let origin = Name::from_text("example.com.", None).unwrap();
    // A POOL of two members (wire names a.example.com., b.example.com.).
    let text = format!(
        "{ZONE}pool IN TYPE65303 \\# 15 0161076578616d706c6503636f6d00\n\
         pool IN TYPE65303 \\# 15 0162076578616d706c6503636f6d00\n"
    );
    let unsigned =
        || load_zone_text(text.as_bytes(), Path::new("example.com.zone"), &origin).unwrap();
    let csk = [rfc8080_key()];
    let rng = ring::rand::SystemRandom::new();
    let split = [
        SigningKey::generate(Algorithm::Ed25519, KeyRole::Ksk, &rng).unwrap(),
        SigningKey::generate(Algorithm::Ed25519, KeyRole::Zsk, &rng).unwrap(),
    ];
    let policy = SigningPolicy::default();
    let at = 1_764_900_000;
    for keys in [&csk[..], &split[..]] {
        let set = KeySet::all(keys);
        let zone = unsigned();
        let signed = sign_zone_with(&zone, &set, &policy, at, ONE).unwrap();
        let expected = compile_signed(&zone, &signed).unwrap();
        for threads in [1, 2, 7, 1000] {
            let threads = NonZeroUsize::new(threads).unwrap();
            let got = sign_and_compile(unsigned(), &set, &policy, at, threads).unwrap();
            assert_eq!(got.records, signed.records.len());
            assert_same_zone(&got.zone.unwrap(), &expected);
        }
    }
    let nsec = format!("{ZONE}x IN NSEC x.example.com. A\n");
    let zone = load_zone_text(nsec.as_bytes(), Path::new("example.com.zone"), &origin).unwrap();
    let set = KeySet::all(&csk);
    let refused = sign_zone_with(&zone, &set, &policy, at, ONE).unwrap_err();
    assert!(matches!(refused, ZoneSignError::DnssecRecord { .. }));
    assert_eq!(
        sign_and_compile(zone, &set, &policy, at, ONE).err(),
        Some(refused)
    );
}

/// Two compiled zones are the same: node by node (names, flags, RRsets
/// with their data, signatures and additional-section targets), and the
/// zone-wide parts.
fn assert_same_zone(a: &Zone, b: &Zone) {
    assert_eq!(a.node_count(), b.node_count());
    assert_eq!(a.record_count(), b.record_count());
    assert_eq!(a.serial(), b.serial());
    assert_eq!(a.negative_soa(), b.negative_soa());
    for id in 0..a.node_count() as u32 {
        assert_eq!(a.name_bytes(id), b.name_bytes(id), "{id}");
        assert_eq!(a.node(id), b.node(id), "{id}");
        let (sa, sb) = (a.rrsets(a.node(id)), b.rrsets(b.node(id)));
        assert_eq!(format!("{sa:?}"), format!("{sb:?}"), "{id}");
        for (x, y) in sa.iter().zip(sb) {
            assert_eq!(a.tails(x), b.tails(y));
            assert_eq!(a.sig_tails(x), b.sig_tails(y));
        }
    }
    let records = |z: &Zone| -> Vec<OwnedRecord> {
        z.records().map(|r| OwnedRecord::from_record(&r)).collect()
    };
    assert_eq!(records(a), records(b));
    let chain = |z: &Zone| z.signed().map(|p| p.chain().len());
    assert_eq!(chain(a), chain(b));
}

/// A served zone tells when it was signed (its SOA RRSIG's inception plus
/// the backdating); it is due for signing again once half its shortest
/// signature lifetime has passed, well before any signature expires.
#[test]
fn signed_at_and_refresh_due() {
    let zone = test_zone();
    let policy = SigningPolicy::default();
    let at = 1_764_900_000;
    let signed = sign_zone(&zone, &[rfc8080_key()], &policy, at, ONE).unwrap();
    let served = compile_signed(&zone, &signed).unwrap();
    assert_eq!(signed_at(&served, &policy), Some(at));
    assert_eq!(signed_at(&zone, &policy), None);
    let half = u64::from(policy.lifetime - policy.jitter) / 2;
    assert!(!policy.refresh_due(at, at + half - 1));
    assert!(policy.refresh_due(at, at + half));
    // Every signature still has at least `half` left when it is due.
    for r in served.records().filter(|r| r.rtype == Rtype::RRSIG) {
        let exp = u32::from_be_bytes([r.rdata[8], r.rdata[9], r.rdata[10], r.rdata[11]]);
        assert!(u64::from(exp) >= at + 2 * half, "{exp}");
    }
}
