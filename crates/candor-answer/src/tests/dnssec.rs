//! DO=1 answers from a signed zone: which RRSIGs and NSEC records each
//! kind of answer carries (docs/dnssec.md), and DO=0 answers from a signed
//! zone byte-for-byte those of the unsigned zone.

use std::num::NonZeroUsize;
use std::sync::Arc;

use candor_dnssec::{Algorithm, KeyRole, SigningKey, SigningPolicy, compile_signed, sign_zone};
use candor_wire::Rtype;
use candor_zone::{Zone, ZoneSet};
use expect_test::{Expect, expect};

use super::{config, query, render_answer, request, zone};
use crate::{Transport, respond};

/// A zone with every kind of answer: wildcards (RFC 4592's example), an
/// empty non-terminal, a CNAME, a DNAME, a delegation with DS and one
/// without.
const ZONE: &str = r#"
$TTL 3600
example.                 SOA   ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
example.                 NS    ns.example.com.
*.example.               TXT   "this is a wildcard"
*.example.               MX    10 host1.example.
host1.example.           A     192.0.2.1
_ssh._tcp.host1.example. SRV   0 0 22 host1.example.
alias.host1.example.     CNAME host1.example.
dn.host1.example.        DNAME example.net.
subdel.example.          NS    ns.example.com.
secure.example.          NS    ns.example.com.
secure.example.          DS    60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
"#;

/// The RFC 8080 example key 1 as a CSK: Ed25519 signatures are
/// deterministic, so the signed zone is the same every run.
fn key() -> SigningKey {
    let b64 = |t: &str| candor_zonefile::base64_decode(t).unwrap();
    SigningKey::from_raw(
        Algorithm::Ed25519,
        KeyRole::Csk,
        &b64("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI="),
        &b64("l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="),
    )
    .unwrap()
}

/// `ZONE` compiled, unsigned and signed.
fn zones() -> (ZoneSet, ZoneSet) {
    let plain = zone("example.", ZONE);
    let signed = sign_zone(
        &plain,
        &[key()],
        &SigningPolicy::default(),
        1_764_900_000,
        NonZeroUsize::MIN,
    )
    .unwrap();
    let served: Zone = compile_signed(&plain, &signed).unwrap();
    (
        ZoneSet::from_zones([plain]),
        ZoneSet::from_zones([Arc::new(served)]),
    )
}

/// A query with EDNS (1232 bytes) and the DO bit set.
fn query_do(name: &str, qtype: Rtype) -> Vec<u8> {
    let mut q = query(name, qtype, Some(1232));
    let len = q.len();
    // The OPT record's TTL is its last six bytes but two; DO is the top
    // bit of its flags.
    q[len - 4] |= 0x80;
    q
}

/// Answers `name`/`qtype` with DO=1 over `transport` and checks the rendering.
#[track_caller]
fn check_do(zones: &ZoneSet, name: &str, qtype: Rtype, transport: Transport, expect: Expect) {
    expect.assert_eq(&render_answer(zones, &query_do(name, qtype), transport).0);
}

#[test]
fn positive_cname_and_dname_answers_carry_their_rrsigs() {
    let (_, z) = zones();
    check_do(
        &z,
        "host1.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=true
            answer: host1.example. 3600 IN A 192.0.2.1
            answer: host1.example. 3600 IN RRSIG A labels=2 tag=3613
        "#]],
    );
    check_do(
        &z,
        "alias.host1.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=true
            answer: alias.host1.example. 3600 IN CNAME host1.example.
            answer: alias.host1.example. 3600 IN RRSIG CNAME labels=3 tag=3613
            answer: host1.example. 3600 IN A 192.0.2.1
            answer: host1.example. 3600 IN RRSIG A labels=2 tag=3613
        "#]],
    );
    check_do(
        &z,
        "www.dn.host1.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=true
            answer: dn.host1.example. 3600 IN DNAME example.net.
            answer: dn.host1.example. 3600 IN RRSIG DNAME labels=3 tag=3613
            answer: www.dn.host1.example. 3600 IN CNAME www.example.net.
        "#]],
    );
    check_do(
        &z,
        "example.",
        Rtype::DNSKEY,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: example. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=
        answer: example. 3600 IN RRSIG DNSKEY labels=1 tag=3613
    "#]],
    );
}

#[test]
fn wildcard_answers_prove_the_name_does_not_exist() {
    let (_, z) = zones();
    check_do(
        &z,
        "host3.example.",
        Rtype::MX,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: host3.example. 3600 IN MX 10 host1.example.
        answer: host3.example. 3600 IN RRSIG MX labels=1 tag=3613
        authority: dn.host1.example. 300 IN NSEC secure.example. DNAME RRSIG NSEC
        authority: dn.host1.example. 300 IN RRSIG NSEC labels=3 tag=3613
        additional: host1.example. 3600 IN A 192.0.2.1
    "#]],
    );
    // Wildcard NODATA: the wildcard's NSEC and the one covering the name.
    check_do(
        &z,
        "host3.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
        authority: example. 3600 IN RRSIG SOA labels=1 tag=3613
        authority: *.example. 300 IN NSEC host1.example. MX TXT RRSIG NSEC
        authority: *.example. 300 IN RRSIG NSEC labels=1 tag=3613
        authority: dn.host1.example. 300 IN NSEC secure.example. DNAME RRSIG NSEC
        authority: dn.host1.example. 300 IN RRSIG NSEC labels=3 tag=3613
    "#]],
    );
}

#[test]
fn denials_carry_nsec_proofs() {
    let (_, z) = zones();
    // NODATA at a name with data: its own NSEC.
    check_do(
        &z,
        "host1.example.",
        Rtype::MX,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
        authority: example. 3600 IN RRSIG SOA labels=1 tag=3613
        authority: host1.example. 300 IN NSEC _ssh._tcp.host1.example. A RRSIG NSEC
        authority: host1.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
    // NODATA at an empty non-terminal: the NSEC covering it.
    check_do(
        &z,
        "_tcp.host1.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
        authority: example. 3600 IN RRSIG SOA labels=1 tag=3613
        authority: host1.example. 300 IN NSEC _ssh._tcp.host1.example. A RRSIG NSEC
        authority: host1.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
    // NXDOMAIN: the NSEC covering the wildcard at the closest encloser
    // (host1.example.), then the one covering the name.
    check_do(
        &z,
        "nope.host1.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
            rcode NXDOMAIN flags qr aa rd
            opt: udp=1232 version=0 do=true
            authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
            authority: example. 3600 IN RRSIG SOA labels=1 tag=3613
            authority: host1.example. 300 IN NSEC _ssh._tcp.host1.example. A RRSIG NSEC
            authority: host1.example. 300 IN RRSIG NSEC labels=2 tag=3613
            authority: dn.host1.example. 300 IN NSEC secure.example. DNAME RRSIG NSEC
            authority: dn.host1.example. 300 IN RRSIG NSEC labels=3 tag=3613
        "#]],
    );
    // DS asked at a delegation without one: the cut's NSEC.
    check_do(
        &z,
        "subdel.example.",
        Rtype::DS,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
        authority: example. 3600 IN RRSIG SOA labels=1 tag=3613
        authority: subdel.example. 300 IN NSEC example. NS RRSIG NSEC
        authority: subdel.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
}

#[test]
fn referrals_carry_the_ds_or_its_absence() {
    let (_, z) = zones();
    check_do(
        &z,
        "www.secure.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr rd
        opt: udp=1232 version=0 do=true
        authority: secure.example. 3600 IN NS ns.example.com.
        authority: secure.example. 3600 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
        authority: secure.example. 3600 IN RRSIG DS labels=2 tag=3613
    "#]],
    );
    check_do(
        &z,
        "www.subdel.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr rd
        opt: udp=1232 version=0 do=true
        authority: subdel.example. 3600 IN NS ns.example.com.
        authority: subdel.example. 300 IN NSEC example. NS RRSIG NSEC
        authority: subdel.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
    check_do(
        &z,
        "secure.example.",
        Rtype::DS,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: secure.example. 3600 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
        answer: secure.example. 3600 IN RRSIG DS labels=2 tag=3613
    "#]],
    );
}

#[test]
fn any_and_rrsig_queries() {
    let (_, z) = zones();
    check_do(
        &z,
        "host1.example.",
        Rtype::ANY,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: host1.example. 3600 IN A 192.0.2.1
        answer: host1.example. 3600 IN RRSIG A labels=2 tag=3613
    "#]],
    );
    check_do(
        &z,
        "host1.example.",
        Rtype::ANY,
        Transport::Tcp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: host1.example. 3600 IN A 192.0.2.1
        answer: host1.example. 3600 IN RRSIG A labels=2 tag=3613
        answer: host1.example. 300 IN NSEC _ssh._tcp.host1.example. A RRSIG NSEC
        answer: host1.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
    check_do(
        &z,
        "host1.example.",
        Rtype::RRSIG,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: host1.example. 3600 IN RRSIG A labels=2 tag=3613
        answer: host1.example. 300 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
}

/// With DO=0 a signed zone answers exactly as the unsigned one, byte for
/// byte; with DO=1 an unsigned zone answers as with DO=0 (DO echoed).
/// A zone without a wildcard at the apex, whose SOA names are inside it
/// (`ns1` exists and has a child, `hostmaster` does not), and a name that
/// sorts before `*` (so the apex's wildcard is covered by another NSEC).
const FLOOD: &str = r#"
$TTL 300
flood.example.        SOA   ns1.flood.example. hostmaster.flood.example. 1 7200 3600 1209600 300
flood.example.        NS    ns1.flood.example.
ns1.flood.example.    A     192.0.2.53
a.ns1.flood.example.  A     192.0.2.54
host1.flood.example.  A     192.0.2.1
host2.flood.example.  A     192.0.2.2
deep.er.flood.example. TXT  "x"
zz.flood.example.     A     192.0.2.9
"#;

/// `FLOOD` signed, with `extra` records added.
fn flood_zone(extra: &str) -> ZoneSet {
    let plain = zone("flood.example.", &format!("{FLOOD}{extra}"));
    let signed = sign_zone(
        &plain,
        &[key()],
        &SigningPolicy::default(),
        1_764_900_000,
        NonZeroUsize::MIN,
    )
    .unwrap();
    ZoneSet::from_zones([Arc::new(compile_signed(&plain, &signed).unwrap())])
}

#[test]
fn denials_at_the_apex_match_the_general_path() {
    // `render_answer` answers each query again with every NSEC owner
    // compressed by the message builder's search and asserts the same
    // bytes; the names cover each case of `Answer::proof_owner`.
    let long = format!("{}flood.example.", "a.".repeat(60));
    let names = [
        "b.flood.example.",            // covered by the apex's NSEC
        "f.flood.example.",            // by deep.er's: labels + pointer
        "F.FLOOD.Example.",            // the same, upper case
        "hostmaster.flood.example.",   // the SOA's RNAME, absent
        "x.hostmaster.flood.example.", // below it
        "ns0.flood.example.",          // before the MNAME
        "nz.flood.example.",           // after a.ns1, below the MNAME
        "zzz.flood.example.",          // after the last name
        "host1.flood.example.",        // NODATA (MX): the QNAME's NSEC
        "x.er.flood.example.",         // closest encloser an ENT
        "x.deep.er.flood.example.",    // closest encloser not the apex
        &long,                         // more labels than the table holds
    ];
    for extra in ["", "\\033bang.flood.example. A 192.0.2.7\n"] {
        let z = flood_zone(extra);
        for name in names {
            for qtype in [Rtype::A, Rtype::MX] {
                for transport in [Transport::Udp, Transport::Tcp] {
                    let (text, outcome) = render_answer(&z, &query_do(name, qtype), transport);
                    assert!(outcome.is_some(), "{name}: {text}");
                }
            }
        }
    }
    // Random labels below the apex take the NXDOMAIN blocks: the SOA and
    // the apex's NSEC (which covers the wildcard) as one copy, and with
    // them the chain's last NSEC for a name after every name; a name among
    // the zone's names gets its covering NSEC written after the block.
    let z = flood_zone("");
    for (name, from_blocks) in [
        ("b.flood.example.", 1),
        ("f.flood.example.", 1),
        ("zzz.flood.example.", 2),
        ("x.deep.er.flood.example.", 0),
    ] {
        crate::dnssec::tests::NXDOMAIN_BLOCKS.set(0);
        let q = query_do(name, Rtype::A);
        let mut out = vec![0u8; 65535];
        respond(&z, &config(), &request(&q, Transport::Udp), &mut out);
        assert_eq!(
            crate::dnssec::tests::NXDOMAIN_BLOCKS.get(),
            from_blocks,
            "{name}: proofs from the prerendered blocks"
        );
    }
    // The case the SOA's names decide: a.ns1's owner goes through the
    // search (it shares ns1.flood.example. with the MNAME).
    check_do(
        &flood_zone(""),
        "nz.flood.example.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
            rcode NXDOMAIN flags qr aa rd
            opt: udp=1232 version=0 do=true
            authority: flood.example. 300 IN SOA ns1.flood.example. hostmaster.flood.example. 1 7200 3600 1209600 300
            authority: flood.example. 300 IN RRSIG SOA labels=2 tag=3613
            authority: flood.example. 300 IN NSEC deep.er.flood.example. NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY
            authority: flood.example. 300 IN RRSIG NSEC labels=2 tag=3613
            authority: a.ns1.flood.example. 300 IN NSEC zz.flood.example. A RRSIG NSEC
            authority: a.ns1.flood.example. 300 IN RRSIG NSEC labels=4 tag=3613
        "#]],
    );
}

/// The prerendered blocks (the SOA with its RRSIGs, the apex's NSEC)
/// give what the records written one by one give: `render_answer`
/// answers each query again without them and compares the bytes. Random
/// labels (upper case too) below the apex, below the SOA's names and
/// other names, and at several depths; DO on and off; sizes that
/// truncate; signed and unsigned zones, SOA names inside the zone and out.
#[test]
fn prerendered_denials_match_the_general_path() {
    let outside = "$TTL 300\n@ SOA ns.other.test. h.other.test. 1 2 3 4 5\n@ NS ns.other.test.\nwww A 192.0.2.1\n";
    let zones = [
        (flood_zone(""), "flood.example."),
        (
            flood_zone("\\033bang.flood.example. A 192.0.2.7\n"),
            "flood.example.",
        ),
        (
            ZoneSet::from_zones([zone("flood.example.", FLOOD)]),
            "flood.example.",
        ),
        (
            ZoneSet::from_zones([zone("out.test.", outside)]),
            "out.test.",
        ),
    ];
    let parents = [
        "",
        "ns1.",
        "hostmaster.",
        "host1.",
        "deep.er.",
        "a.ns1.",
        "www.",
    ];
    let alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (z, apex) in &zones {
        for _ in 0..400 {
            let r = next();
            let mut name = String::new();
            for _ in 0..(r % 3) {
                let len = 1 + (next() % 14) as usize;
                let label: String = (0..len)
                    .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                    .collect();
                name.push_str(&label);
                name.push('.');
            }
            name.push_str(parents[(r >> 8) as usize % parents.len()]);
            name.push_str(apex);
            let qtype = [Rtype::A, Rtype::MX, Rtype::TXT, Rtype::NS][(r >> 16) as usize % 4];
            let size = [512, 600, 1232][(r >> 20) as usize % 3];
            let mut q = query(&name, qtype, Some(size));
            if r & (1 << 30) != 0 {
                let len = q.len();
                q[len - 4] |= 0x80; // DO
            }
            let transport = if r & (1 << 31) != 0 {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            let (text, outcome) = render_answer(z, &q, transport);
            assert!(outcome.is_some(), "{name}: {text}");
        }
    }
}

#[test]
fn do_zero_and_unsigned_zones_are_unchanged() {
    let (plain, signed) = zones();
    let config = config();
    let names = [
        ("host1.example.", Rtype::A),
        ("host1.example.", Rtype::MX),
        ("host3.example.", Rtype::MX),
        ("host3.example.", Rtype::A),
        ("_tcp.host1.example.", Rtype::A),
        ("nope.host1.example.", Rtype::A),
        ("alias.host1.example.", Rtype::A),
        ("www.dn.host1.example.", Rtype::A),
        ("www.secure.example.", Rtype::A),
        ("subdel.example.", Rtype::DS),
        ("example.", Rtype::SOA),
    ];
    for (name, qtype) in names {
        for edns in [None, Some(1232)] {
            let q = query(name, qtype, edns);
            let (mut a, mut b) = (vec![0u8; 65535], vec![0u8; 65535]);
            let la = respond(&plain, &config, &request(&q, Transport::Udp), &mut a).unwrap();
            let lb = respond(&signed, &config, &request(&q, Transport::Udp), &mut b).unwrap();
            assert_eq!(a[..la.len], b[..lb.len], "{name} {qtype} {edns:?}");
            assert_eq!(la, lb);
        }
        let q = query_do(name, qtype);
        let unsigned_do = render_answer(&plain, &q, Transport::Udp).0;
        let unsigned = render_answer(&plain, &query(name, qtype, Some(1232)), Transport::Udp).0;
        assert_eq!(
            unsigned_do,
            unsigned.replace("do=false", "do=true"),
            "{name} {qtype}"
        );
    }
}

/// A signed zone with a POOL of three members (two inside the zone) and a
/// wildcard POOL, signed with `keys`.
fn pool_zones(keys: &[SigningKey]) -> (ZoneSet, ZoneSet) {
    let mut text = String::from(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na A 192.0.2.10\nb A 192.0.2.11\n",
    );
    for target in ["a.p.", "b.p.", "c.other.test."] {
        text.push_str(&super::pool_line("www", target));
    }
    for target in ["a.p.", "b.p."] {
        text.push_str(&super::pool_line("*.w", target));
    }
    let plain = zone("p.", &text);
    let signed = sign_zone(
        &plain,
        keys,
        &SigningPolicy::default(),
        1_764_900_000,
        NonZeroUsize::MIN,
    )
    .unwrap();
    let served = compile_signed(&plain, &signed).unwrap();
    (
        ZoneSet::from_zones([plain]),
        ZoneSet::from_zones([Arc::new(served)]),
    )
}

/// Every POOL member's CNAME goes out with its own signature, which
/// verifies (with one key, and with a KSK and two ZSKs, as in a ZSK
/// rollover: two signatures per member), at the POOL's name and through
/// a wildcard POOL; DO=0 answers are those of the unsigned zone.
#[test]
fn pool_answers_carry_the_chosen_members_signature() {
    let rng = ring::rand::SystemRandom::new();
    let zsk = |_| SigningKey::generate(Algorithm::Ed25519, KeyRole::Zsk, &rng).unwrap();
    let ksk = SigningKey::generate(Algorithm::Ed25519, KeyRole::Ksk, &rng).unwrap();
    let split = [ksk, zsk(1), zsk(2)];
    for (keys, per_member) in [(&[key()][..], 1), (&split[..], 2)] {
        let (plain, z) = pool_zones(keys);
        let config = config();
        let mut seen = std::collections::BTreeSet::new();
        for (qname, owner) in [("www.p.", "www.p."), ("x.w.p.", "x.w.p.")] {
            for id in 0..32u16 {
                let mut q = query_do(qname, Rtype::CNAME);
                q[..2].copy_from_slice(&id.to_be_bytes());
                let mut out = vec![0u8; 65535];
                let len = respond(&z, &config, &request(&q, Transport::Udp), &mut out)
                    .unwrap()
                    .len;
                let m = candor_wire::decode::decode_message(&out[..len]).unwrap();
                let cname: Vec<_> = m
                    .answer
                    .iter()
                    .filter(|r| r.rtype == Rtype::CNAME)
                    .collect();
                let sigs: Vec<_> = m
                    .answer
                    .iter()
                    .filter(|r| r.rtype == Rtype::RRSIG)
                    .collect();
                assert_eq!(cname.len(), 1);
                assert_eq!(sigs.len(), per_member, "{qname} id {id}");
                let owner = candor_wire::Name::from_text(owner, None).unwrap();
                for sig in sigs {
                    let verified = keys.iter().any(|k| {
                        candor_dnssec::verify_rrset(
                            k.dnskey_rdata(),
                            owner.as_wire(),
                            Rtype::CNAME,
                            &[&cname[0].rdata],
                            &sig.rdata,
                        )
                    });
                    assert!(verified, "{qname} id {id}: the member's signature verifies");
                    // Another member's CNAME does not verify with it.
                    let other = candor_wire::Name::from_text("c.other.test.", None).unwrap();
                    let mistaken = keys.iter().any(|k| {
                        candor_dnssec::verify_rrset(
                            k.dnskey_rdata(),
                            owner.as_wire(),
                            Rtype::CNAME,
                            &[other.as_wire()],
                            &sig.rdata,
                        )
                    });
                    assert!(!mistaken || cname[0].rdata == other.as_wire());
                }
                seen.insert((qname, cname[0].rdata.clone()));
                // DO=0: the unsigned zone's bytes.
                let mut q0 = query(qname, Rtype::CNAME, Some(1232));
                q0[..2].copy_from_slice(&id.to_be_bytes());
                let (mut a, mut b) = (vec![0u8; 65535], vec![0u8; 65535]);
                let la = respond(&plain, &config, &request(&q0, Transport::Udp), &mut a).unwrap();
                let lb = respond(&z, &config, &request(&q0, Transport::Udp), &mut b).unwrap();
                assert_eq!(a[..la.len], b[..lb.len]);
            }
        }
        assert_eq!(seen.len(), 5, "every member was chosen and verified");
    }
}

#[test]
fn pool_answers_with_do() {
    let (_, z) = pool_zones(&[key()]);
    // An in-zone member is followed, each step signed; the wildcard POOL
    // proves the name it stands for does not exist.
    let mut q = query_do("www.p.", Rtype::A);
    q[..2].copy_from_slice(&0u16.to_be_bytes());
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: www.p. 60 IN CNAME a.p.
        answer: www.p. 60 IN RRSIG CNAME labels=2 tag=3613
        answer: a.p. 60 IN A 192.0.2.10
        answer: a.p. 60 IN RRSIG A labels=2 tag=3613
    "#]]
    .assert_eq(&render_answer(&z, &q, Transport::Udp).0);
    let mut q = query_do("x.w.p.", Rtype::AAAA);
    q[..2].copy_from_slice(&1u16.to_be_bytes());
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: x.w.p. 60 IN CNAME b.p.
        answer: x.w.p. 60 IN RRSIG CNAME labels=2 tag=3613
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
        authority: p. 60 IN RRSIG SOA labels=1 tag=3613
        authority: *.w.p. 5 IN NSEC www.p. CNAME RRSIG NSEC
        authority: *.w.p. 5 IN RRSIG NSEC labels=2 tag=3613
        authority: b.p. 5 IN NSEC ns.p. A RRSIG NSEC
        authority: b.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]]
    .assert_eq(&render_answer(&z, &q, Transport::Udp).0);
    // The POOL's NSEC lists CNAME (what it answers), so a validator
    // accepts a CNAME there and nothing else.
    check_do(
        &z,
        "www.p.",
        Rtype::NSEC,
        Transport::Udp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: www.p. 5 IN NSEC p. CNAME RRSIG NSEC
        answer: www.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
    // A name below the POOL does not exist.
    check_do(
        &z,
        "x.www.p.",
        Rtype::A,
        Transport::Udp,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
        authority: p. 60 IN RRSIG SOA labels=1 tag=3613
        authority: www.p. 5 IN NSEC p. CNAME RRSIG NSEC
        authority: www.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]],
    );
}

/// A signed zone with an ALIAS at `app.p.` (to a name outside), and the
/// table the ALIAS signer would publish for it: the A RRset signed, AAAA
/// missing, and the owner's NSEC without AAAA, signed (made here with the
/// signer's primitives; `candor-alias` tests the signer itself).
fn alias_signed(nsec_base_matches: bool) -> (ZoneSet, crate::Config) {
    use crate::{AliasEntry, AliasTable, SignedAlias, SignedNsec, SignedRrset};
    let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    text.push_str(
        &super::pool_line("app", "www.elsewhere.test.").replace("TYPE65303", "TYPE65304"),
    );
    text.push_str("app MX 10 ns\n");
    let plain = zone("p.", &text);
    let signed = sign_zone(
        &plain,
        &[key()],
        &SigningPolicy::default(),
        1_764_900_000,
        NonZeroUsize::MIN,
    )
    .unwrap();
    let served = compile_signed(&plain, &signed).unwrap();
    let owner = candor_wire::Name::from_text("app.p.", None).unwrap();
    let apex = candor_wire::Name::from_text("p.", None).unwrap();
    let validity = SigningPolicy::default().validity(1_764_900_000, 0);
    let tail = |rtype: Rtype, ttl: u32, rdata: &[u8]| {
        let mut t = rtype.0.to_be_bytes().to_vec();
        t.extend_from_slice(&1u16.to_be_bytes());
        t.extend_from_slice(&ttl.to_be_bytes());
        t.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        t.extend_from_slice(rdata);
        t
    };
    let signed_set = |rtype: Rtype, ttl: u32, rdata: &[u8]| {
        let sig = candor_dnssec::sign_rrset(
            &key(),
            apex.as_wire(),
            owner.as_wire(),
            rtype,
            ttl,
            &[rdata],
            validity,
        )
        .unwrap();
        SignedRrset {
            tails: tail(rtype, ttl, rdata).into(),
            count: 1,
            sigs: tail(Rtype::RRSIG, ttl, &sig).into(),
            sig_count: 1,
        }
    };
    let node = served.lookup(owner.as_wire());
    let candor_zone::Lookup::Exact(node) = node else {
        panic!("app.p. exists");
    };
    let nsec = served.rrset(node, Rtype::NSEC).unwrap();
    let base = super::super::first_rdata(served.tails(nsec)).to_vec();
    let next = &base[..candor_wire::wire_name_len(&base).unwrap()];
    let bitmap =
        candor_dnssec::nsec::type_bitmap(&[Rtype::A, Rtype::MX, Rtype::RRSIG, Rtype::NSEC]);
    let variant = candor_dnssec::nsec::nsec_rdata(next, &bitmap);
    let mut base_seen = base.clone();
    if !nsec_base_matches {
        base_seen[1] ^= 0x20; // As if the zone's chain had moved on.
    }
    let table = AliasTable::new([(
        Box::from(
            candor_wire::Name::from_text("www.elsewhere.test.", None)
                .unwrap()
                .as_wire(),
        ),
        AliasEntry {
            exists: true,
            v4: vec![[198, 51, 100, 7]],
            v6: Vec::new(),
            ttl: 42,
        },
    )])
    .with_signed([(
        Box::from(owner.as_wire()),
        Arc::new(SignedAlias {
            a: Some(signed_set(Rtype::A, 60, &[198, 51, 100, 7])),
            aaaa: None,
            nsec: Some(SignedNsec {
                base: base_seen.into(),
                set: signed_set(Rtype::NSEC, nsec.ttl, &variant),
            }),
        }),
    )]);
    let config = config();
    config.aliases.store(Arc::new(table));
    (ZoneSet::from_zones([Arc::new(served)]), config)
}

/// Renders a DO=1 answer with `config` (its ALIAS table).
fn render_with(
    zones: &ZoneSet,
    config: &crate::Config,
    name: &str,
    qtype: Rtype,
    dnssec: bool,
) -> String {
    let q = if dnssec {
        query_do(name, qtype)
    } else {
        query(name, qtype, Some(1232))
    };
    let mut out = vec![0u8; 65535];
    let len = respond(zones, config, &request(&q, Transport::Udp), &mut out)
        .unwrap()
        .len;
    super::render(&candor_wire::decode::decode_message(&out[..len]).unwrap())
}

#[test]
fn alias_answers_with_do_copy_the_signers_answer() {
    let (z, config) = alias_signed(true);
    // A: the signed set (the ALIAS's TTL), with its RRSIG.
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        answer: app.p. 60 IN A 198.51.100.7
        answer: app.p. 60 IN RRSIG A labels=2 tag=3613
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::A, true));
    // DO=0: the resolver's entry as before (its TTL), no RRSIG.
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=false
        answer: app.p. 42 IN A 198.51.100.7
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::A, false));
    // AAAA: NODATA proven by the signer's NSEC (A, MX: no AAAA).
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
        authority: p. 60 IN RRSIG SOA labels=1 tag=3613
        authority: app.p. 5 IN NSEC ns.p. A MX RRSIG NSEC
        authority: app.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::AAAA, true));
    // A type the owner lacks: the zone's own NSEC (lists A and AAAA).
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
        authority: p. 60 IN RRSIG SOA labels=1 tag=3613
        authority: app.p. 5 IN NSEC ns.p. A MX AAAA RRSIG NSEC
        authority: app.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::TXT, true));
    // The signer's NSEC was made from another chain: the zone's NSEC.
    let (z, config) = alias_signed(false);
    expect![[r#"
        rcode NOERROR flags qr aa rd
        opt: udp=1232 version=0 do=true
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
        authority: p. 60 IN RRSIG SOA labels=1 tag=3613
        authority: app.p. 5 IN NSEC ns.p. A MX AAAA RRSIG NSEC
        authority: app.p. 5 IN RRSIG NSEC labels=2 tag=3613
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::AAAA, true));
    // Nothing signed for the owner yet: SERVFAIL (as never resolved).
    config.aliases.store(Arc::new(crate::AliasTable::default()));
    expect![[r#"
        rcode SERVFAIL flags qr aa rd
        opt: udp=1232 version=0 do=true
    "#]]
    .assert_eq(&render_with(&z, &config, "app.p.", Rtype::A, true));
}

/// A peek told that the rate limiter would hold the response back writes
/// a signed zone's NXDOMAIN without its NSEC proofs and RRSIGs and says
/// so (`proofless`), having asked about the zone's NXDOMAIN account; told
/// it would not, it writes what `respond` writes. Other answers, and an
/// unsigned zone's, are never written without their records.
#[test]
fn held_back_denials_are_written_without_proofs() {
    use candor_guard::{CookieCheck, RateKey};
    let signed = flood_zone("");
    let plain = ZoneSet::from_zones([zone("flood.example.", FLOOD)]);
    let config = config();
    let asked = std::cell::Cell::new(None);
    let hold = |key: RateKey, _: CookieCheck| {
        asked.set(Some(key));
        true
    };
    let send = |_: RateKey, _: CookieCheck| false;
    let apex_nxdomain = RateKey::new(
        crate::ResponseKind::NxDomain,
        b"\x05flood\x07example\x00",
        0,
    );
    for (zones, is_signed) in [(&signed, true), (&plain, false)] {
        for (name, qtype, nxdomain) in [
            ("nope.flood.example.", Rtype::A, true),
            ("x.deep.er.flood.example.", Rtype::A, true),
            ("host1.flood.example.", Rtype::MX, false),
            ("host1.flood.example.", Rtype::A, false),
        ] {
            let q = query_do(name, qtype);
            let mut peek = crate::Peek::default();
            crate::Peek::prepare(std::slice::from_mut(&mut peek), zones, [&q[..]]);
            let req = request(&q, Transport::Udp);
            let mut full = vec![0u8; 65535];
            let o = respond(zones, &config, &req, &mut full).expect("answered");
            assert!(!o.proofless);
            let mut sent = vec![0u8; 65535];
            let s = peek
                .respond_limited(zones, &config, &req, &mut sent, &send)
                .expect("answered");
            assert_eq!((s, &sent[..s.len]), (o, &full[..o.len]), "{name}");
            asked.set(None);
            let mut held = vec![0u8; 65535];
            let h = peek
                .respond_limited(zones, &config, &req, &mut held, &hold)
                .expect("answered");
            assert_eq!(h.proofless, nxdomain && is_signed, "{name} {qtype}");
            if h.proofless {
                assert_eq!(h.rcode, candor_wire::Rcode::NXDOMAIN);
                assert_eq!(asked.get(), Some(apex_nxdomain), "{name}");
                // The authority section: the SOA alone.
                assert_eq!(u16::from_be_bytes([held[8], held[9]]), 1, "{name}");
                assert!(h.len < o.len, "{name}");
            } else {
                assert_eq!(&held[..h.len], &full[..o.len], "{name} {qtype}");
            }
        }
    }
}
