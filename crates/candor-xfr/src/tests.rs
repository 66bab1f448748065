//! Tests of the primary: requests in, replies rendered as text (one line
//! per record, a header line per message) and compared with snapshots.

/// The client of signed queries in these tests.
const LOCAL: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_answer::{AliasEntry, AliasTable, SharedAliases};
use candor_wire::decode::{Message, decode_message};
use candor_wire::{Class, Header, Name, Rtype};
use candor_zone::{Zone, ZoneSet, load_zone_text};
use expect_test::{Expect, expect};

use crate::journal::Limits;
use crate::primary::{Handled, Primary, Refusal, Reply, Transport};
use crate::tsig::{self, Algorithm, Key, KeyRing, Verifier, sign_request};
use crate::{Acl, Rule};

//----------- Fixtures --------------------------------------------------------

/// The time every test signs at.
const NOW: u64 = 1_700_000_000;

/// A key both sides know.
fn key(name: &str, secret: &[u8]) -> Key {
    Key::new(
        &Name::from_text(name, None).unwrap(),
        Algorithm::HmacSha256,
        secret.to_vec(),
    )
}

/// A private-type record (ALIAS 65304, POOL 65303) in RFC 3597 form.
fn private(rtype: u16, target: &str) -> String {
    let wire = Name::from_text(target, None).unwrap();
    let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
    format!("TYPE{rtype} \\# {} {hex}", wire.wire_len())
}

/// Compiles zone text for `origin`.
fn zone(origin: &str, text: &str) -> Arc<Zone> {
    let origin = Name::from_text(origin, None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("test.zone"), &origin).unwrap())
}

/// `example.` at serial `serial`, with an ALIAS to an in-zone name, one to
/// a name the resolver knows, one to a name nobody knows, and a POOL.
fn example(serial: u32, www: &str) -> Arc<Zone> {
    zone(
        "example.",
        &format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. {serial} 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nwww A {www}\nwww AAAA 2001:db8::1\n\
             @ {}\nout {}\nlost {}\npool 60 {}\npool 60 {}\nmail MX 10 mail.example.\n\
             mail A 192.0.2.25\n",
            private(65304, "www.example."),
            private(65304, "cdn.other."),
            private(65304, "nowhere.other."),
            private(65303, "b.pool.other."),
            private(65303, "a.pool.other."),
        ),
    )
}

/// What the ALIAS resolver knows in these tests: `cdn.other.` has the
/// address 198.51.100.7 (TTL 120) and no IPv6 address.
fn cdn_aliases() -> AliasTable {
    let cdn = Name::from_text("cdn.other.", None).unwrap();
    AliasTable::new([(
        cdn.as_wire().into(),
        AliasEntry {
            exists: true,
            v4: vec![[198, 51, 100, 7]],
            v6: vec![],
            ttl: 120,
        },
    )])
}

/// A primary serving `zones` under `acl`, with `keys`, the resolver knowing
/// `cdn.other.`.
fn primary(
    zones: Vec<Arc<Zone>>,
    acl: &[&str],
    keys: Vec<Key>,
) -> (Primary, Arc<ArcSwap<ZoneSet>>) {
    let set = Arc::new(ArcSwap::from_pointee(ZoneSet::from_zones(zones)));
    let table = cdn_aliases();
    let aliases: SharedAliases = Arc::new(ArcSwap::from_pointee(table));
    let acl = Acl::new(acl.iter().map(|r| r.parse::<Rule>().unwrap()).collect());
    let keys = Arc::new(ArcSwap::from_pointee(KeyRing::new(keys)));
    let limits = Limits {
        max_steps: 3,
        max_bytes: 1 << 20,
    };
    (Primary::new(set.clone(), aliases, acl, keys, limits), set)
}

/// An AXFR (or, with `serial`, IXFR) request for `zone`.
fn request(zone: &str, ixfr: Option<u32>) -> Vec<u8> {
    let name = Name::from_text(zone, None).unwrap();
    let mut m = Vec::new();
    let nscount = u16::from(ixfr.is_some());
    for word in [0x4242u16, 0, 1, 0, nscount, 0] {
        m.extend_from_slice(&word.to_be_bytes());
    }
    m.extend_from_slice(name.as_wire());
    let qtype = if ixfr.is_some() {
        Rtype::IXFR
    } else {
        Rtype::AXFR
    };
    m.extend_from_slice(&qtype.0.to_be_bytes());
    m.extend_from_slice(&Class::IN.0.to_be_bytes());
    if let Some(serial) = ixfr {
        // The owner is a pointer to the question; the SOA's names are the
        // root (what kdig sends).
        m.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0]);
        m.extend_from_slice(&serial.to_be_bytes());
        m.extend_from_slice(&[0; 16]);
    }
    m
}

/// One record as a line: owner, TTL, type, RDATA.
fn render_record(r: &candor_wire::decode::Record) -> String {
    if r.rtype == Rtype::TSIG {
        return format!("{} TSIG", r.owner);
    }
    format!(
        "{} {} {} {}",
        r.owner,
        r.ttl,
        r.rtype,
        candor_zonefile::rdata_to_text(r.rtype, &r.rdata)
    )
}

/// A message as text: a header line, then its records.
fn render_message(m: &Message, out: &mut String) {
    let flags = m.header.flags;
    let _ = writeln!(
        out,
        ";; {} qd={} an={} ar={}{}",
        candor_wire::Rcode(m.rcode()),
        m.header.qdcount,
        m.header.ancount,
        m.header.arcount,
        if flags & Header::AA != 0 { " aa" } else { "" },
    );
    for r in m.answer.iter().chain(&m.additional) {
        let _ = writeln!(out, "{}", render_record(r));
    }
}

/// Every message of a reply.
fn messages(handled: Handled) -> Vec<Vec<u8>> {
    match handled.reply {
        Reply::Drop => Vec::new(),
        Reply::Message(m) => vec![m],
        Reply::Transfer(mut t) => {
            let mut buf = vec![0u8; 65535];
            let mut out = Vec::new();
            while let Some(n) = t.next_message(&mut buf, NOW) {
                out.push(buf[..n].to_vec());
            }
            out
        }
    }
}

/// Renders every message of a reply.
fn render(handled: Handled) -> String {
    let refusal = handled.refusal.clone();
    let mut out = String::new();
    for m in messages(handled) {
        render_message(&decode_message(&m).unwrap(), &mut out);
    }
    if let Some(r) = refusal {
        let _ = writeln!(out, ";; refused: {r:?}");
    }
    out
}

/// The address tests send from.
fn from(addr: &str) -> IpAddr {
    addr.parse().unwrap()
}

/// Sends `msg` from `source` over TCP and compares the rendered reply.
#[track_caller]
fn check(p: &Primary, msg: &[u8], source: &str, expect: Expect) {
    expect.assert_eq(&render(p.handle(msg, from(source), Transport::Tcp, NOW)));
}

//----------- AXFR ------------------------------------------------------------

/// An AXFR is the zone with ALIAS and POOL flattened, SOA first and last.
#[test]
fn axfr_flattens_private_types() {
    let (p, _) = primary(vec![example(1, "192.0.2.80")], &["192.0.2.0/24"], vec![]);
    check(
        &p,
        &request("example.", None),
        "192.0.2.9",
        expect![[r#"
            ;; NOERROR qd=1 an=12 ar=0 aa
            example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
            example. 300 NS ns.example.
            example. 300 A 192.0.2.80
            example. 300 AAAA 2001:db8::1
            ns.example. 300 A 192.0.2.53
            www.example. 300 A 192.0.2.80
            www.example. 300 AAAA 2001:db8::1
            out.example. 120 A 198.51.100.7
            pool.example. 60 CNAME a.pool.other.
            mail.example. 300 A 192.0.2.25
            mail.example. 300 MX 10 mail.example.
            example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        "#]],
    );
}

/// Nothing is transferred unless a rule allows the source (and its key).
#[test]
fn refused_unless_allowed() {
    let zones = || vec![example(1, "192.0.2.80")];
    let k = key("xfr.key.", b"secret-secret-secret");
    // No rules: nothing is allowed.
    let (p, _) = primary(zones(), &[], vec![]);
    check(
        &p,
        &request("example.", None),
        "127.0.0.1",
        expect![[r#"
            ;; NOTAUTH qd=1 an=0 ar=0
            ;; refused: NotAllowed { zone: Name(example.), key: None }
        "#]],
    );
    // Another prefix; and a rule that wants a key the request lacks.
    let (p, _) = primary(
        zones(),
        &["10.0.0.0/8", "2001:db8::/32", "192.0.2.9@xfr.key"],
        vec![k.clone()],
    );
    for source in ["192.0.2.9", "11.0.0.1", "2001:db9::1"] {
        let handled = p.handle(
            &request("example.", None),
            from(source),
            Transport::Tcp,
            NOW,
        );
        assert!(
            matches!(handled.refusal, Some(Refusal::NotAllowed { .. })),
            "{source}"
        );
    }
    // IPv4 mapped into IPv6 is IPv4; IPv6 prefixes match.
    for source in ["::ffff:10.1.2.3", "2001:db8:5::1"] {
        let handled = p.handle(
            &request("example.", None),
            from(source),
            Transport::Tcp,
            NOW,
        );
        assert!(handled.refusal.is_none(), "{source}");
    }
    // With the key, the same source is allowed.
    let mut signed = request("example.", None);
    sign_request(&k, &mut signed, NOW);
    let handled = p.handle(&signed, from("192.0.2.9"), Transport::Tcp, NOW);
    assert!(handled.refusal.is_none());
}

/// A zone not served is NOTAUTH, a broken request FORMERR, and no bytes panic.
#[test]
fn unknown_zones_and_malformed_requests() {
    let (p, _) = primary(vec![example(1, "192.0.2.80")], &["0.0.0.0/0"], vec![]);
    check(
        &p,
        &request("www.example.", None),
        "192.0.2.9",
        expect![[r#"
            ;; NOTAUTH qd=1 an=0 ar=0
            ;; refused: NotServed { zone: Name(www.example.) }
        "#]],
    );
    // An IXFR without the client's SOA.
    let mut broken = request("example.", None);
    let at = broken.len() - 4;
    broken[at..at + 2].copy_from_slice(&Rtype::IXFR.0.to_be_bytes());
    check(
        &p,
        &broken,
        "192.0.2.9",
        expect![[r#"
            ;; FORMERR qd=1 an=0 ar=0
        "#]],
    );
    // Whatever the bytes, no panic.
    let mut rng = 0x1234_5678_9abc_def1u64;
    let valid = request("example.", Some(1));
    for _ in 0..20_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut m = valid.clone();
        let n = (rng % 4) as usize + 1;
        for i in 0..n {
            let at = ((rng >> (8 * i + 8)) as usize) % m.len();
            m[at] = (rng >> (8 * i + 16)) as u8;
        }
        m.truncate((rng >> 40) as usize % (m.len() + 1));
        let _ = messages(p.handle(&m, from("192.0.2.9"), Transport::Tcp, NOW));
    }
}

/// A zone of `n` A records (plus SOA and NS).
fn big_zone(n: usize) -> Arc<Zone> {
    let mut text = String::from("$TTL 60\n@ SOA ns h 7 2 3 4 5\n@ NS ns\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "host-{i} A 10.{}.{}.{}",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
    }
    zone("big.example.", &text)
}

/// A large zone goes out in messages of at most 16 KiB, every record once.
#[test]
fn large_zones_span_many_messages_of_bounded_size() {
    let (p, _) = primary(vec![big_zone(5000)], &["127.0.0.0/8"], vec![]);
    let msgs = messages(p.handle(
        &request("big.example.", None),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    ));
    assert!(msgs.len() > 5, "{} messages", msgs.len());
    let mut records = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        assert!(
            m.len() <= crate::transfer::MESSAGE_TARGET,
            "message {i}: {} bytes",
            m.len()
        );
        let d = decode_message(m).unwrap();
        assert_eq!(
            d.header.qdcount,
            u16::from(i == 0),
            "the question comes once"
        );
        records.extend(d.answer);
    }
    assert_eq!(records.len(), 5000 + 3);
    assert_eq!(records[0].rtype, Rtype::SOA);
    assert_eq!(records[records.len() - 1].rtype, Rtype::SOA);
    let distinct: std::collections::BTreeSet<_> = records[1..records.len() - 1].iter().collect();
    assert_eq!(distinct.len(), 5000 + 1, "every record once");
}

//----------- TSIG ------------------------------------------------------------

/// Every message of a signed transfer is signed, each MAC chained to the last.
#[test]
fn signed_transfers_sign_every_message() {
    let k = key("xfr.key.", b"0123456789abcdef0123456789abcdef");
    let (p, _) = primary(
        vec![big_zone(3000)],
        &["127.0.0.1@xfr.key"],
        vec![k.clone()],
    );
    let mut req = request("big.example.", None);
    let mac = sign_request(&k, &mut req, NOW);
    let msgs = messages(p.handle(&req, from("127.0.0.1"), Transport::Tcp, NOW));
    assert!(msgs.len() > 2);
    let mut verifier = Verifier::new(Arc::new(k.clone()), &mac);
    for m in &msgs {
        verifier.verify(m, NOW + 10).unwrap();
    }
    // A message out of order does not verify.
    let mut verifier = Verifier::new(Arc::new(k), &mac);
    verifier.verify(&msgs[0], NOW).unwrap();
    assert_eq!(
        verifier.verify(&msgs[2], NOW),
        Err(tsig::ResponseError::BadSig)
    );
}

/// BADKEY, BADSIG and BADTIME as RFC 8945 §5.2 has them.
#[test]
fn tsig_errors() {
    let k = key("xfr.key.", b"0123456789abcdef0123456789abcdef");
    let (p, _) = primary(
        vec![example(1, "192.0.2.80")],
        &["0.0.0.0/0"],
        vec![k.clone()],
    );
    let signed = |key: &Key, at: u64| {
        let mut req = request("example.", None);
        sign_request(key, &mut req, at);
        req
    };
    // Unknown key: BADKEY, unsigned.
    check(
        &p,
        &signed(&key("other.key.", b"x"), NOW),
        "192.0.2.9",
        expect![[r#"
            ;; NOTAUTH qd=1 an=0 ar=1
            other.key. TSIG
            ;; refused: Tsig { zone: Name(example.), key: Name(other.key.), error: 17 }
        "#]],
    );
    // Right name, wrong secret: BADSIG.
    let handled = p.handle(
        &signed(&key("xfr.key.", b"wrong"), NOW),
        from("192.0.2.9"),
        Transport::Tcp,
        NOW,
    );
    assert!(
        matches!(
            handled.refusal,
            Some(Refusal::Tsig {
                error: tsig::BADSIG,
                ..
            })
        ),
        "{:?}",
        handled.refusal
    );
    // A flag changed after signing: BADSIG. (The ID may change: the MAC
    // covers the original ID, as forwarders rewrite IDs.)
    let mut tampered = signed(&k, NOW);
    tampered[2] ^= 1;
    let handled = p.handle(&tampered, from("192.0.2.9"), Transport::Tcp, NOW);
    assert!(matches!(
        handled.refusal,
        Some(Refusal::Tsig {
            error: tsig::BADSIG,
            ..
        })
    ));
    // Signed ten minutes ago: BADTIME, signed, with our time.
    let mut req = request("example.", None);
    let mac = sign_request(&k, &mut req, NOW - 600);
    let handled = p.handle(&req, from("192.0.2.9"), Transport::Tcp, NOW);
    assert!(matches!(
        handled.refusal,
        Some(Refusal::Tsig {
            error: tsig::BADTIME,
            ..
        })
    ));
    let reply = messages(handled).remove(0);
    let mut verifier = Verifier::new(Arc::new(k.clone()), &mac);
    assert_eq!(
        verifier.verify(&reply, NOW),
        Err(tsig::ResponseError::Error(tsig::BADTIME))
    );
    // Good: allowed, signed.
    let handled = p.handle(
        &signed(&k, NOW + 299),
        from("192.0.2.9"),
        Transport::Tcp,
        NOW,
    );
    assert!(handled.refusal.is_none());
}

/// A signed request the ACL denies gets NOTAUTH with BADKEY, as from Knot.
#[test]
fn denied_signed_requests_get_badkey() {
    let k = key("xfr.key.", b"0123456789abcdef0123456789abcdef");
    let (p, _) = primary(
        vec![example(1, "192.0.2.80")],
        &["10.0.0.0/8@xfr.key"],
        vec![k.clone()],
    );
    let mut req = request("example.", None);
    sign_request(&k, &mut req, NOW);
    check(
        &p,
        &req,
        "192.0.2.9",
        expect![[r#"
            ;; NOTAUTH qd=1 an=0 ar=1
            xfr.key. TSIG
            ;; refused: NotAllowed { zone: Name(example.), key: Some(Name(xfr.key.)) }
        "#]],
    );
}

//----------- IXFR ------------------------------------------------------------

/// IXFR from the journal: the steps since the client's version, or the SOA, or the whole zone.
#[test]
fn ixfr_from_the_journal() {
    let (p, set) = primary(vec![example(1, "192.0.2.80")], &["127.0.0.1"], vec![]);
    p.observe();
    // Version 2: www moves (and the apex ALIAS to it follows), mail goes.
    let publish = |z: Arc<Zone>| {
        let mut s = ZoneSet::clone(&set.load());
        s.insert(z);
        set.store(Arc::new(s));
        p.observe()
    };
    let changed = publish(example(2, "192.0.2.81"));
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].serial, 2);
    publish(example(3, "192.0.2.82"));
    check(
        &p,
        &request("example.", Some(1)),
        "127.0.0.1",
        expect![[r#"
            ;; NOERROR qd=1 an=14 ar=0 aa
            example. 300 SOA ns.example. hostmaster.example. 3 3600 600 86400 60
            example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
            example. 300 A 192.0.2.80
            www.example. 300 A 192.0.2.80
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
            example. 300 A 192.0.2.81
            www.example. 300 A 192.0.2.81
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
            example. 300 A 192.0.2.81
            www.example. 300 A 192.0.2.81
            example. 300 SOA ns.example. hostmaster.example. 3 3600 600 86400 60
            example. 300 A 192.0.2.82
            www.example. 300 A 192.0.2.82
            example. 300 SOA ns.example. hostmaster.example. 3 3600 600 86400 60
        "#]],
    );
    // Up to date (or ahead): the SOA alone.
    check(
        &p,
        &request("example.", Some(3)),
        "127.0.0.1",
        expect![[r#"
            ;; NOERROR qd=1 an=1 ar=0 aa
            example. 300 SOA ns.example. hostmaster.example. 3 3600 600 86400 60
        "#]],
    );
    // Over UDP: the SOA alone, whatever the client has.
    let udp = p.handle(
        &request("example.", Some(1)),
        from("127.0.0.1"),
        Transport::Udp,
        NOW,
    );
    assert_eq!(messages(udp).len(), 1);
    // A serial the journal never saw: the whole zone, AXFR style.
    let full = messages(p.handle(
        &request("example.", Some(0)),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    ));
    let d = decode_message(&full[0]).unwrap();
    assert_eq!(d.answer.len(), 12);
    // The journal keeps three steps: after four more versions, version 1
    // is out of reach.
    for serial in 4..=7 {
        publish(example(serial, "192.0.2.82"));
    }
    let full = messages(p.handle(
        &request("example.", Some(1)),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    ));
    assert_eq!(decode_message(&full[0]).unwrap().answer.len(), 12);
    let steps = messages(p.handle(
        &request("example.", Some(4)),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    ));
    assert_eq!(decode_message(&steps[0]).unwrap().answer.len(), 2 + 3 * 2);
}

//----------- ACL -------------------------------------------------------------

/// Prefixes match IPv4, IPv6 and IPv4-mapped addresses; bad rules are refused.
#[test]
fn prefixes() {
    let cases = [
        ("192.0.2.0/24", "192.0.2.255", true),
        ("192.0.2.0/24", "192.0.3.0", false),
        ("192.0.2.77/24", "192.0.2.1", true),
        ("192.0.2.1", "192.0.2.1", true),
        ("192.0.2.1", "192.0.2.2", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("0.0.0.0/0", "2001:db8::1", false),
        ("::/0", "2001:db8::1", true),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/33", "2001:db8:8000::1", false),
        ("10.0.0.0/8", "::ffff:10.9.9.9", true),
    ];
    for (prefix, addr, inside) in cases {
        let p: crate::Prefix = prefix.parse().unwrap();
        assert_eq!(p.contains(from(addr)), inside, "{prefix} {addr}");
    }
    for bad in [
        "192.0.2.0/33",
        "::/129",
        "example.com",
        "192.0.2.0/x",
        "10.0.0.0/8@",
    ] {
        assert!(bad.parse::<Rule>().is_err(), "{bad}");
    }
    let rule: Rule = "10.0.0.0/8@Xfr.Key".parse().unwrap();
    assert_eq!(rule.to_string(), "10.0.0.0/8@xfr.key.");
}

//----------- NOTIFY ----------------------------------------------------------

/// NOTIFY is sent again with back-off until a matching (signed) answer comes.
#[test]
fn notify_retries_until_acknowledged() {
    use std::time::{Duration, Instant};

    use crate::notify::{Notifier, Target, Timing};

    let k = key("n.key.", b"notify-secret");
    let keys = KeyRing::new([k.clone()]);
    let targets: Vec<Target> = ["127.0.0.1:5301", "[::1]:5302@n.key"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let timing = Timing {
        first_retry: Duration::from_secs(1),
        max_retry: Duration::from_secs(4),
        min_interval: Duration::from_millis(10),
    };
    let mut n = Notifier::new(targets.clone(), timing, 7);
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let apex = Name::from_text("example.", None).unwrap();
    n.zone_changed(&apex, 5, t0);
    // Both secondaries at once; the second one's NOTIFY is signed.
    let sent = n.poll(at(0), &keys, NOW);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        decode_message(&sent[1].message).unwrap().additional.len(),
        1
    );
    // Retries after 1, 2, 4 and then every 4 seconds.
    let mut times = Vec::new();
    let mut now = 0;
    while times.len() < 5 {
        now += 100;
        if !n.poll(at(now), &keys, NOW).is_empty() {
            times.push(now);
        }
    }
    assert_eq!(times, [1000, 3000, 7000, 11000, 15000]);
    // An answer from the wrong address, or with another ID, changes nothing.
    let reply = |m: &[u8]| {
        let mut r = m.to_vec();
        r[2] |= 0x80;
        r
    };
    let unsigned = n.poll(at(19000), &keys, NOW);
    let first = unsigned.iter().find(|o| o.to.port() == 5301).unwrap();
    let wrong = "127.0.0.2:5301".parse().unwrap();
    assert!(
        n.on_response(wrong, &reply(&first.message), &keys, NOW)
            .is_none()
    );
    let ack = n
        .on_response(first.to, &reply(&first.message), &keys, NOW)
        .unwrap();
    assert_eq!((ack.serial, ack.rcode), (5, candor_wire::Rcode::NOERROR));
    assert_eq!(n.pending(), 1);
    // The signed one needs a signed answer.
    let signed = unsigned.iter().find(|o| o.to.port() == 5302).unwrap();
    let mut answer = reply(&signed.message[..12 + apex.wire_len() + 4]);
    answer[11] = 0;
    assert!(n.on_response(signed.to, &answer, &keys, NOW).is_none());
    // A newer serial replaces the pending one and goes out at once.
    n.zone_changed(&apex, 6, at(19500));
    assert_eq!(n.pending(), 2);
    let sent = n.poll(at(19500), &keys, NOW);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].attempt, 1);
}

/// NOTIFYs to one secondary are spaced by the minimum interval.
#[test]
fn notify_is_spaced_per_secondary() {
    use std::time::{Duration, Instant};

    use crate::notify::{Notifier, Timing};

    let mut n = Notifier::new(vec!["127.0.0.1".parse().unwrap()], Timing::DEFAULT, 1);
    let t0 = Instant::now();
    for i in 0..50 {
        let apex = Name::from_text(&format!("z{i}.example."), None).unwrap();
        n.zone_changed(&apex, 1, t0);
    }
    // 10 ms apart: one per poll, the next one due 10 ms later.
    assert_eq!(n.poll(t0, &KeyRing::default(), NOW).len(), 1);
    assert_eq!(
        n.poll(t0 + Duration::from_millis(5), &KeyRing::default(), NOW)
            .len(),
        0
    );
    assert_eq!(n.next_due(), Some(t0 + Duration::from_millis(10)));
    assert_eq!(
        n.poll(t0 + Duration::from_millis(10), &KeyRing::default(), NOW)
            .len(),
        1
    );
}

//----------- Signed queries --------------------------------------------------

/// A signed SOA query is answered signed, whoever asks; a bad MAC is BADSIG.
#[test]
fn signed_queries_get_signed_answers() {
    let k = key("xfr.key.", b"0123456789abcdef0123456789abcdef");
    let (p, _) = primary(vec![example(1, "192.0.2.80")], &[], vec![k.clone()]);
    let config = candor_answer::Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: SharedAliases::default(),
        cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new([7; 16], None)),
    };
    let tcp = candor_answer::Transport::Tcp;
    // An SOA query, as a secondary refreshing sends it: no ACL applies.
    let mut q = candor_wire::query_message(
        candor_wire::QuerySpec {
            id: 7,
            recursion_desired: false,
            edns_udp_size: None,
        },
        &Name::from_text("example.", None).unwrap(),
        Rtype::SOA,
    );
    let mac = sign_request(&k, &mut q, NOW);
    let handled = p.handle_signed(&q, LOCAL, &config, tcp, NOW);
    let reply = messages(handled).remove(0);
    Verifier::new(Arc::new(k.clone()), &mac)
        .verify(&reply, NOW)
        .unwrap();
    let mut text = String::new();
    render_message(&decode_message(&reply).unwrap(), &mut text);
    expect![[r#"
        ;; NOERROR qd=1 an=1 ar=1 aa
        example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        xfr.key. TSIG
    "#]]
    .assert_eq(&text);
    // A bad signature: NOTAUTH, BADSIG.
    q[3] ^= 0x10;
    let handled = p.handle_signed(&q, LOCAL, &config, tcp, NOW);
    assert!(matches!(
        handled.refusal,
        Some(Refusal::Tsig {
            error: tsig::BADSIG,
            ..
        })
    ));
}

/// An IXFR ends at the version the journal saw last, not at a newer one it has not diffed.
#[test]
fn ixfr_ends_at_the_version_the_journal_saw_last() {
    let (p, set) = primary(vec![example(1, "192.0.2.80")], &["127.0.0.1"], vec![]);
    p.observe();
    let publish = |z: Arc<Zone>| {
        let mut s = ZoneSet::clone(&set.load());
        s.insert(z);
        set.store(Arc::new(s));
    };
    publish(example(2, "192.0.2.81"));
    p.observe();
    // Version 3 is served, but the journal has not seen it yet: the client
    // gets version 2, consistently, and version 3 with the next NOTIFY.
    publish(example(3, "192.0.2.82"));
    check(
        &p,
        &request("example.", Some(1)),
        "127.0.0.1",
        expect![[r#"
            ;; NOERROR qd=1 an=8 ar=0 aa
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
            example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
            example. 300 A 192.0.2.80
            www.example. 300 A 192.0.2.80
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
            example. 300 A 192.0.2.81
            www.example. 300 A 192.0.2.81
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        "#]],
    );
    check(
        &p,
        &request("example.", Some(2)),
        "127.0.0.1",
        expect![[r#"
            ;; NOERROR qd=1 an=1 ar=0 aa
            example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        "#]],
    );
}

/// A signed UDP answer that no longer fits comes back empty, with TC, signed.
#[test]
fn signed_udp_answers_that_no_longer_fit_are_truncated() {
    let k = key("xfr.key.", b"0123456789abcdef0123456789abcdef");
    let big = format!(
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nbig TXT \"{}\"\n",
        "x".repeat(200)
    );
    let big = format!("{big}big TXT \"{}\"\n", "y".repeat(200));
    let (p, _) = primary(vec![zone("example.", &big)], &[], vec![k.clone()]);
    let config = candor_answer::Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: SharedAliases::default(),
        cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new([7; 16], None)),
    };
    let spec = candor_wire::QuerySpec {
        id: 9,
        recursion_desired: false,
        edns_udp_size: None,
    };
    let name = Name::from_text("big.example.", None).unwrap();
    let mut q = candor_wire::query_message(spec, &name, Rtype::TXT);
    let mac = sign_request(&k, &mut q, NOW);
    let udp = candor_answer::Transport::Udp;
    let reply = messages(p.handle_signed(&q, LOCAL, &config, udp, NOW)).remove(0);
    assert!(reply.len() <= 512, "{}", reply.len());
    Verifier::new(Arc::new(k.clone()), &mac)
        .verify(&reply, NOW)
        .unwrap();
    let d = decode_message(&reply).unwrap();
    assert!(d.header.flags & Header::TC != 0 && d.answer.is_empty());
    // Over TCP it fits.
    let tcp = candor_answer::Transport::Tcp;
    let reply = messages(p.handle_signed(&q, LOCAL, &config, tcp, NOW)).remove(0);
    assert_eq!(decode_message(&reply).unwrap().answer.len(), 2);
}

/// A step removes the flattened records secondaries were sent, even if the ALIAS target changed since.
#[test]
fn a_step_removes_what_secondaries_were_sent() {
    // other.: an ALIAS to www.example., which is in another zone.
    let other = |serial: u32, extra: &str| {
        zone(
            "other.",
            &format!(
                "$TTL 60\n@ SOA ns h {serial} 2 3 4 5\n@ NS ns.example.\n@ {}\n{extra}",
                private(65304, "www.example.")
            ),
        )
    };
    let (p, set) = primary(
        vec![example(1, "192.0.2.80"), other(1, "")],
        &["127.0.0.1"],
        vec![],
    );
    p.observe();
    let publish = |z: Arc<Zone>| {
        let mut s = ZoneSet::clone(&set.load());
        s.insert(z);
        set.store(Arc::new(s));
        p.observe();
    };
    // The target moves (other. does not change), then other. changes.
    publish(example(2, "192.0.2.81"));
    publish(other(2, "txt TXT \"x\"\n"));
    check(
        &p,
        &request("other.", Some(1)),
        "127.0.0.1",
        expect![[r#"
            ;; NOERROR qd=1 an=7 ar=0 aa
            other. 60 SOA ns.other. h.other. 2 2 3 4 5
            other. 60 SOA ns.other. h.other. 1 2 3 4 5
            other. 300 A 192.0.2.80
            other. 60 SOA ns.other. h.other. 2 2 3 4 5
            other. 300 A 192.0.2.81
            txt.other. 60 TXT "x"
            other. 60 SOA ns.other. h.other. 2 2 3 4 5
        "#]],
    );
}

//----------- The Candor view ------------------------------------------------

mod candor;
mod incremental;

//----------- Signed zones with private types ---------------------------------

mod signed;

//----------- Compaction ------------------------------------------------------

/// `www.example.` moved to 192.0.2.`last` and the SOA at `serial`: the
/// changes a store write makes (see `candor_zone::Zone::patch`).
fn move_www(serial: u32, last: u8) -> Vec<candor_zone::NodeChange> {
    let name = |t: &str| Name::from_text(t, None).unwrap().as_wire().to_vec();
    let mut soa = name("ns.example.");
    soa.extend(name("hostmaster.example."));
    for v in [serial, 3600, 600, 86400, 60] {
        soa.extend(v.to_be_bytes());
    }
    vec![
        candor_zone::NodeChange {
            owner: name("www.example.").into(),
            records: vec![(Rtype::A, 300, [192, 0, 2, last].into())],
        },
        candor_zone::NodeChange {
            owner: name("example.").into(),
            records: vec![
                (Rtype::SOA, 300, soa.into()),
                (Rtype::NS, 300, name("ns.example.").into()),
            ],
        },
    ]
}

/// The records an IXFR from `serial` answers with (AXFR style: the whole
/// zone when the journal does not reach back).
fn ixfr_records(p: &Primary, serial: u32) -> usize {
    let msgs = messages(p.handle(
        &request("example.", Some(serial)),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    ));
    msgs.iter()
        .map(|m| decode_message(m).unwrap().answer.len())
        .sum()
}

/// A compacted version published at the same serial (background
/// compaction) keeps the journal's steps, and the next step, from a version
/// on the old base to one on the new, holds the change alone; a zone
/// replaced at the same serial by other records still starts over.
#[test]
fn a_compacted_version_keeps_the_journal() {
    let v1 = zone(
        "example.",
        "$TTL 300\n@ SOA ns.example. hostmaster.example. 1 3600 600 86400 60\n\
         @ NS ns.example.\nns A 192.0.2.53\nwww A 192.0.2.80\nmail A 192.0.2.25\n",
    );
    let (p, set) = primary(vec![v1.clone()], &["127.0.0.1"], vec![]);
    p.observe();
    let publish = |z: Arc<Zone>| {
        let mut s = ZoneSet::clone(&set.load());
        s.insert(z);
        set.store(Arc::new(s));
        p.observe()
    };
    let v2 = Arc::new(v1.patch(&move_www(2, 81)).unwrap());
    publish(v2.clone());
    // One step: SOA 2, SOA 1, www .80, SOA 2, www .81, SOA 2.
    assert_eq!(ixfr_records(&p, 1), 6);
    let compacted = Arc::new(v2.compact().unwrap());
    assert!(
        publish(compacted.clone()).is_empty(),
        "same serial: no NOTIFY"
    );
    assert_eq!(ixfr_records(&p, 1), 6, "the step survives the compaction");
    // The next write patches the compacted base; the journal saw it.
    let v3 = Arc::new(compacted.patch(&move_www(3, 82)).unwrap());
    publish(v3.clone());
    assert_eq!(ixfr_records(&p, 2), 6);
    assert_eq!(ixfr_records(&p, 1), 10);
    // A version on a compacted base the journal never saw, after one on
    // the old base: the step is still the change.
    let v4 = Arc::new(v3.patch(&move_www(4, 83)).unwrap());
    let v5 = Arc::new(
        Arc::new(v4.compact().unwrap())
            .patch(&move_www(5, 84))
            .unwrap(),
    );
    publish(v4);
    publish(v5);
    assert_eq!(ixfr_records(&p, 4), 6);
    // Other records at the same serial: the history starts over (the
    // whole zone, five records and the SOA twice).
    publish(zone(
        "example.",
        "$TTL 300\n@ SOA ns.example. hostmaster.example. 5 3600 600 86400 60\n\
         @ NS ns.example.\nns A 192.0.2.53\nwww A 192.0.2.99\n",
    ));
    assert_eq!(ixfr_records(&p, 4), 5);
}

/// Versions patched from the one observed before (the journal then keeps
/// the owners of ALIAS and POOL records by the change) give the steps
/// that the same versions compiled afresh give (every node walked): an
/// ALIAS added, one replaced by an address, a POOL member dropped, a
/// target moving, then a name with an ALIAS deleted.
#[test]
fn patched_versions_give_the_steps_compiled_ones_give() {
    use candor_zone::NodeChange;

    use crate::journal::Journal;

    let wire = |text: &str| -> Box<[u8]> { Name::from_text(text, None).unwrap().as_wire().into() };
    let soa = |serial: u32| -> Box<[u8]> {
        let mut v = wire("ns.example.").to_vec();
        v.extend_from_slice(&wire("hostmaster.example."));
        for n in [serial, 3600, 600, 86400, 60] {
            v.extend_from_slice(&n.to_be_bytes());
        }
        v.into()
    };
    let apex = |serial: u32| NodeChange {
        owner: wire("example."),
        records: vec![
            (Rtype::SOA, 300, soa(serial)),
            (Rtype::NS, 300, wire("ns.example.")),
            (candor_zone::ALIAS, 300, wire("www.example.")),
        ],
    };
    let v1 = example(1, "192.0.2.80");
    let v2 = Arc::new(
        v1.patch(&[
            apex(2),
            NodeChange {
                owner: wire("new.example."),
                records: vec![(candor_zone::ALIAS, 300, wire("cdn.other."))],
            },
            NodeChange {
                owner: wire("out.example."),
                records: vec![(Rtype::A, 300, [192, 0, 2, 9].into())],
            },
            NodeChange {
                owner: wire("pool.example."),
                records: vec![(candor_zone::POOL, 60, wire("a.pool.other."))],
            },
            NodeChange {
                owner: wire("www.example."),
                records: vec![
                    (Rtype::A, 300, [192, 0, 2, 81].into()),
                    (
                        Rtype::AAAA,
                        300,
                        "2001:db8::1"
                            .parse::<std::net::Ipv6Addr>()
                            .unwrap()
                            .octets()
                            .into(),
                    ),
                ],
            },
        ])
        .unwrap(),
    );
    let v3 = Arc::new(
        v2.patch(&[
            apex(3),
            NodeChange {
                owner: wire("new.example."),
                records: vec![],
            },
        ])
        .unwrap(),
    );
    let text = |serial: u32, new: bool| {
        format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. {serial} 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nwww A 192.0.2.81\nwww AAAA 2001:db8::1\n\
             @ {}\nout A 192.0.2.9\nlost {}\npool 60 {}\nmail MX 10 mail.example.\n\
             mail A 192.0.2.25\n{}",
            private(65304, "www.example."),
            private(65304, "nowhere.other."),
            private(65303, "a.pool.other."),
            if new {
                format!("new {}\n", private(65304, "cdn.other."))
            } else {
                String::new()
            },
        )
    };
    let compiled = [
        example(1, "192.0.2.80"),
        zone("example.", &text(2, true)),
        zone("example.", &text(3, false)),
    ];
    let table = cdn_aliases();
    let steps = |versions: &[Arc<Zone>]| {
        let mut journal = Journal::new(Limits::DEFAULT);
        for v in versions {
            journal.observe(&Arc::new(ZoneSet::from_zones([v.clone()])), &table);
        }
        let (steps, _) = journal.steps_from(v1.apex(), 1).unwrap();
        steps
            .iter()
            .map(|s| {
                let show = |rs: &[candor_zone::OwnedRecord]| -> Vec<String> {
                    rs.iter()
                        .map(|r| format!("{:?} {} {:?}", r.owner, r.rtype, r.rdata))
                        .collect()
                };
                (
                    show(&s.removed),
                    show(&s.added),
                    show(&s.candor_removed),
                    show(&s.candor_added),
                )
            })
            .collect::<Vec<_>>()
    };
    let patched = steps(&[v1.clone(), v2, v3]);
    assert_eq!(patched, steps(&compiled));
    // The steps are not empty: the synthesized records did change.
    assert!(
        patched[0]
            .1
            .iter()
            .any(|r| r.contains(&format!("{}", Rtype::A)))
    );
    assert_eq!(patched.len(), 2);
}
