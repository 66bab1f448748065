//! Snapshot tests of the answer algorithm: each case renders the response
//! dig-style and compares it with the expected text. The zones are the
//! RFC 1034 §6 and RFC 4592 §2.2.1 examples, plus cases for the edges the
//! differential test against Knot DNS also covers.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use candor_guard::{CookieCheck, CookieSecrets, ResponseKind, Slip};
use candor_wire::decode::{Message, Record, decode_message};
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::{ZoneSet, load_zone_text};
use candor_zonefile::rdata_to_text;
use expect_test::{Expect, expect};

use crate::{Config, Cookies, Outcome, Request, Transport, respond};

/// The cookie secret of every test (RFC 9018 Appendix A's).
const SECRET: [u8; 16] = [
    0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf,
];

/// Where every test request comes from.
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100));

/// When every test request is answered (the time of RFC 9018 A.1).
const NOW: u32 = 1559731985;

/// The answering settings of the tests.
fn config() -> Config {
    Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new(SECRET, None)),
    }
}

/// A request for `msg` from [`CLIENT`] at [`NOW`].
fn request(msg: &[u8], transport: Transport) -> Request<'_> {
    Request {
        msg,
        transport,
        client: CLIENT,
        now: NOW,
    }
}

/// Answers `msg` like `respond` does, for tests that look at the bytes.
fn answer_len(zones: &ZoneSet, config: &Config, msg: &[u8], out: &mut [u8]) -> Option<usize> {
    respond(zones, config, &request(msg, Transport::Udp), out).map(|o| o.len)
}

/// Compiles zone text with the given origin.
fn zone(origin: &str, text: &str) -> Arc<candor_zone::Zone> {
    let origin = Name::from_text(origin, None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("test.zone"), &origin).unwrap())
}

/// A query message (RD set, like dig's default).
fn query(name: &str, qtype: Rtype, edns: Option<u16>) -> Vec<u8> {
    let spec = QuerySpec {
        id: 0xabcd,
        recursion_desired: true,
        edns_udp_size: edns,
    };
    query_message(spec, &Name::from_text(name, None).unwrap(), qtype)
}

/// Renders a record like a zone file line (an RRSIG as its covered type,
/// labels and key tag: the signature bytes are checked by validators, in
/// the integration tests).
fn render_record(r: &Record) -> String {
    if r.rtype == Rtype::RRSIG && r.rdata.len() >= 18 {
        return format!(
            "{} {} {} RRSIG {} labels={} tag={}",
            r.owner,
            r.ttl,
            r.class,
            Rtype(u16::from_be_bytes([r.rdata[0], r.rdata[1]])),
            r.rdata[3],
            u16::from_be_bytes([r.rdata[16], r.rdata[17]])
        );
    }
    format!(
        "{} {} {} {} {}",
        r.owner,
        r.ttl,
        r.class,
        r.rtype,
        rdata_to_text(r.rtype, &r.rdata)
    )
}

/// Renders a response dig-style.
fn render(m: &Message) -> String {
    let mut out = String::new();
    let flags = m.header.flags;
    let mut names = Vec::new();
    for (bit, name) in [
        (0x8000, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
    ] {
        if flags & bit != 0 {
            names.push(name);
        }
    }
    out.push_str(&format!(
        "rcode {} flags {}\n",
        candor_wire::Rcode(m.rcode()),
        names.join(" ")
    ));
    // A response repeats the question (`check_with` makes sure), unless it
    // could not be read.
    if m.questions.is_empty() {
        out.push_str("no question\n");
    }
    if let Some(opt) = m.opt() {
        out.push_str(&format!(
            "opt: udp={} version={} do={}\n",
            opt.class.0,
            (opt.ttl >> 16) & 0xff,
            opt.ttl & 0x8000 != 0
        ));
        // Options, if any: a COOKIE as client and server cookie.
        let mut rest = &opt.rdata[..];
        while rest.len() >= 4 {
            let code = u16::from_be_bytes([rest[0], rest[1]]);
            let len = usize::from(u16::from_be_bytes([rest[2], rest[3]])).min(rest.len() - 4);
            let data = &rest[4..4 + len];
            match code {
                10 if len > 8 => out.push_str(&format!(
                    "cookie: client {} server {}\n",
                    hex(&data[..8]),
                    hex(&data[8..])
                )),
                _ => out.push_str(&format!("option {code}: {}\n", hex(data))),
            }
            rest = &rest[4 + len..];
        }
    }
    for (title, section) in [
        ("answer", &m.answer),
        ("authority", &m.authority),
        ("additional", &m.additional),
    ] {
        for r in section.iter().filter(|r| r.rtype != Rtype::OPT) {
            out.push_str(&format!("{title}: {}\n", render_record(r)));
        }
    }
    out
}

/// Answers `name`/`qtype` over UDP without EDNS from `zones` and checks the rendering.
#[track_caller]
fn check(zones: &ZoneSet, name: &str, qtype: Rtype, expect: Expect) {
    check_with(zones, &query(name, qtype, None), Transport::Udp, expect);
}

/// Lower-case hexadecimal digits.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Answers a raw query and checks the rendering.
#[track_caller]
fn check_with(zones: &ZoneSet, q: &[u8], transport: Transport, expect: Expect) {
    let text = render_answer(zones, q, transport).0;
    expect.assert_eq(&text);
}

/// Answers a raw query from [`CLIENT`] at [`NOW`], directly and through a
/// peek (which must not change a byte, nor the outcome), and renders the
/// response; returns the outcome too.
#[track_caller]
fn render_answer(zones: &ZoneSet, q: &[u8], transport: Transport) -> (String, Option<Outcome>) {
    let config = config();
    let mut out = vec![0u8; 65535];
    let outcome = respond(zones, &config, &request(q, transport), &mut out);
    let len = outcome.map(|o| o.len);
    // The UDP workers answer through a peek; it must not change a byte.
    let mut peek = crate::Peek::default();
    crate::Peek::prepare(std::slice::from_mut(&mut peek), zones, [q]);
    let mut peeked = vec![0u8; 65535];
    let peeked_outcome = peek.respond(zones, &config, &request(q, transport), &mut peeked);
    assert_eq!(
        peeked_outcome.map(|o| &peeked[..o.len]),
        len.map(|l| &out[..l]),
        "answering through a peek changed the response"
    );
    assert_eq!(
        peeked_outcome, outcome,
        "answering through a peek changed the outcome"
    );
    // Negative answers copy the zone's prerendered SOA and apex NSEC
    // blocks, and denials write their NSEC owners without a compression
    // search, where the result is known; the general path must give the
    // same bytes.
    crate::dnssec::tests::GENERAL_PROOFS.set(true);
    let mut general = vec![0u8; 65535];
    let general_outcome = respond(zones, &config, &request(q, transport), &mut general);
    crate::dnssec::tests::GENERAL_PROOFS.set(false);
    assert_eq!(
        general_outcome.map(|o| &general[..o.len]),
        len.map(|l| &out[..l]),
        "the prerendered blocks or NSEC owners written without a search changed the response"
    );
    let text = match len {
        None => "no response\n".to_owned(),
        Some(len) => {
            let m = decode_message(&out[..len]).expect("response must decode");
            if m.header.qdcount == 1 {
                let n = candor_wire::wire_name_len(&out[12..len]).expect("a question") + 4;
                assert_eq!(out[12..12 + n], q[12..12 + n], "the question, as asked");
            }
            render(&m)
        }
    };
    (text, outcome)
}

/// The RFC 4592 §2.2.1 example zone.
fn rfc4592() -> ZoneSet {
    ZoneSet::from_zones([zone(
        "example.",
        r#"
$TTL 3600
example.                 SOA   ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
example.                 NS    ns.example.com.
example.                 NS    ns.example.net.
*.example.               TXT   "this is a wildcard"
*.example.               MX    10 host1.example.
sub.*.example.           TXT   "this is not a wildcard"
host1.example.           A     192.0.2.1
_ssh._tcp.host1.example. SRV   0 0 22 host1.example.
_ssh._tcp.host2.example. SRV   0 0 22 host2.example.
subdel.example.          NS    ns.example.com.
subdel.example.          NS    ns.example.net.
"#,
    )])
}

#[test]
fn rfc4592_wildcard_synthesis() {
    let z = rfc4592();
    check(
        &z,
        "host3.example.",
        Rtype::MX,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: host3.example. 3600 IN MX 10 host1.example.
        additional: host1.example. 3600 IN A 192.0.2.1
    "#]],
    );
    check(
        &z,
        "foo.bar.example.",
        Rtype::TXT,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: foo.bar.example. 3600 IN TXT "this is a wildcard"
    "#]],
    );
    check(
        &z,
        "HOST3.Example.",
        Rtype::MX,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            answer: HOST3.Example. 3600 IN MX 10 host1.Example.
            additional: host1.Example. 3600 IN A 192.0.2.1
        "#]],
    );
}

#[test]
fn rfc4592_wildcard_nodata() {
    let z = rfc4592();
    check(
        &z,
        "host3.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn rfc4592_existing_names_block_wildcards() {
    let z = rfc4592();
    // host1 exists: no synthesis (§2.2.1).
    check(
        &z,
        "host1.example.",
        Rtype::MX,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
    // sub.*.example exists; "*" in the middle is not a wildcard.
    check(
        &z,
        "sub.*.example.",
        Rtype::MX,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
    // _tcp.host1 is an empty non-terminal: it exists, so no synthesis below it.
    check(
        &z,
        "_telnet._tcp.host1.example.",
        Rtype::SRV,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
    // The empty non-terminal itself answers NODATA.
    check(
        &z,
        "_tcp.host1.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
    // ghost.*.example: the closest encloser *.example has no "*" child.
    check(
        &z,
        "ghost.*.example.",
        Rtype::MX,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        authority: example. 300 IN SOA ns.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn rfc4592_delegation_beats_wildcard() {
    let z = rfc4592();
    check(
        &z,
        "host.subdel.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr rd
        authority: subdel.example. 3600 IN NS ns.example.com.
        authority: subdel.example. 3600 IN NS ns.example.net.
    "#]],
    );
}

/// A zone shaped like the RFC 1034 §6.1 examples, with the cases around them.
fn rfc1034() -> ZoneSet {
    ZoneSet::from_zones([
        zone(
            "example.",
            r#"
$TTL 3600
@        SOA   ns1 hostmaster 2024010101 7200 3600 1209600 300
@        NS    ns1
@        NS    ns2.sub
@        MX    10 mail
@        MX    20 mail.other.test.
ns1      A     192.0.2.1
ns1      AAAA  2001:db8::1
mail     A     192.0.2.25
www      A     192.0.2.80
www      A     192.0.2.81
alias    CNAME www
chain    CNAME alias
gone     CNAME nothere
loop1    CNAME loop2
loop2    CNAME loop1
outside  CNAME www.other.test.
sub      NS    ns1.sub
sub      NS    ns2.sub
ns1.sub  A     192.0.2.53
ns2.sub  A     192.0.2.54
ns2.sub  AAAA  2001:db8::54
deep.a.b A     192.0.2.99
old      DNAME new.example.
www.new  A     192.0.2.123
alias.new CNAME www.new
_sip._udp SRV  10 5 5060 www
intocut  CNAME host.sub
"#,
        ),
        zone(
            "other.test.",
            r#"
$TTL 300
@   SOA ns hostmaster 1 7200 3600 1209600 60
@   NS  ns.example.
www A   198.51.100.1
"#,
        ),
    ])
}

#[test]
fn rfc1034_positive_answers() {
    let z = rfc1034();
    check(
        &z,
        "www.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: www.example. 3600 IN A 192.0.2.80
        answer: www.example. 3600 IN A 192.0.2.81
    "#]],
    );
    check(
        &z,
        "example.",
        Rtype::MX,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: example. 3600 IN MX 10 mail.example.
        answer: example. 3600 IN MX 20 mail.other.test.
        additional: mail.example. 3600 IN A 192.0.2.25
    "#]],
    );
    check(
        &z,
        "example.",
        Rtype::NS,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: example. 3600 IN NS ns1.example.
        answer: example. 3600 IN NS ns2.sub.example.
        additional: ns1.example. 3600 IN A 192.0.2.1
        additional: ns2.sub.example. 3600 IN A 192.0.2.54
        additional: ns1.example. 3600 IN AAAA 2001:db8::1
        additional: ns2.sub.example. 3600 IN AAAA 2001:db8::54
    "#]],
    );
    check(
        &z,
        "_sip._udp.example.",
        Rtype::SRV,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: _sip._udp.example. 3600 IN SRV 10 5 5060 www.example.
        additional: www.example. 3600 IN A 192.0.2.80
        additional: www.example. 3600 IN A 192.0.2.81
    "#]],
    );
}

#[test]
fn rfc1034_negative_answers() {
    let z = rfc1034();
    check(
        &z,
        "nope.example.",
        Rtype::A,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
    check(
        &z,
        "www.example.",
        Rtype::TXT,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
    // Empty non-terminals exist.
    check(
        &z,
        "a.b.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
    check(
        &z,
        "b.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn rfc1034_cnames() {
    let z = rfc1034();
    check(
        &z,
        "chain.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: chain.example. 3600 IN CNAME alias.example.
        answer: alias.example. 3600 IN CNAME www.example.
        answer: www.example. 3600 IN A 192.0.2.80
        answer: www.example. 3600 IN A 192.0.2.81
    "#]],
    );
    check(
        &z,
        "alias.example.",
        Rtype::CNAME,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: alias.example. 3600 IN CNAME www.example.
    "#]],
    );
    check(
        &z,
        "gone.example.",
        Rtype::A,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        answer: gone.example. 3600 IN CNAME nothere.example.
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
    check(
        &z,
        "loop1.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: loop1.example. 3600 IN CNAME loop2.example.
        answer: loop2.example. 3600 IN CNAME loop1.example.
    "#]],
    );
    // Chains are followed inside the zone only.
    check(
        &z,
        "outside.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: outside.example. 3600 IN CNAME www.other.test.
    "#]],
    );
    check(
        &z,
        "intocut.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: intocut.example. 3600 IN CNAME host.sub.example.
        authority: sub.example. 3600 IN NS ns1.sub.example.
        authority: sub.example. 3600 IN NS ns2.sub.example.
        additional: ns1.sub.example. 3600 IN A 192.0.2.53
        additional: ns2.sub.example. 3600 IN A 192.0.2.54
        additional: ns2.sub.example. 3600 IN AAAA 2001:db8::54
    "#]],
    );
}

#[test]
fn rfc1034_referrals() {
    let z = rfc1034();
    check(
        &z,
        "host.sub.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr rd
        authority: sub.example. 3600 IN NS ns1.sub.example.
        authority: sub.example. 3600 IN NS ns2.sub.example.
        additional: ns1.sub.example. 3600 IN A 192.0.2.53
        additional: ns2.sub.example. 3600 IN A 192.0.2.54
        additional: ns2.sub.example. 3600 IN AAAA 2001:db8::54
    "#]],
    );
    check(
        &z,
        "sub.example.",
        Rtype::NS,
        expect![[r#"
        rcode NOERROR flags qr rd
        authority: sub.example. 3600 IN NS ns1.sub.example.
        authority: sub.example. 3600 IN NS ns2.sub.example.
        additional: ns1.sub.example. 3600 IN A 192.0.2.53
        additional: ns2.sub.example. 3600 IN A 192.0.2.54
        additional: ns2.sub.example. 3600 IN AAAA 2001:db8::54
    "#]],
    );
    // Glue is not authoritative data: a query for it is a referral.
    check(
        &z,
        "ns1.sub.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr rd
        authority: sub.example. 3600 IN NS ns1.sub.example.
        authority: sub.example. 3600 IN NS ns2.sub.example.
        additional: ns1.sub.example. 3600 IN A 192.0.2.53
        additional: ns2.sub.example. 3600 IN A 192.0.2.54
        additional: ns2.sub.example. 3600 IN AAAA 2001:db8::54
    "#]],
    );
    // DS at the cut is answered by the parent (NODATA here).
    check(
        &z,
        "sub.example.",
        Rtype::DS,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn rfc6672_dname() {
    let z = rfc1034();
    check(
        &z,
        "www.old.example.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
        answer: www.old.example. 3600 IN CNAME www.new.example.
        answer: www.new.example. 3600 IN A 192.0.2.123
    "#]],
    );
    check(
        &z,
        "old.example.",
        Rtype::DNAME,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
    "#]],
    );
    check(
        &z,
        "x.old.example.",
        Rtype::A,
        expect![[r#"
        rcode NXDOMAIN flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
        answer: x.old.example. 3600 IN CNAME x.new.example.
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn rfc6672_qtype_cname_below_a_dname() {
    let z = rfc1034();
    // The synthesized CNAME is the QNAME's CNAME, which is what QTYPE=CNAME
    // asks for (RFC 1034 §4.3.2 step 3a): nothing at the new name is read.
    check(
        &z,
        "alias.old.example.",
        Rtype::CNAME,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
        answer: alias.old.example. 3600 IN CNAME alias.new.example.
    "#]],
    );
    check(
        &z,
        "x.old.example.",
        Rtype::CNAME,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
        answer: x.old.example. 3600 IN CNAME x.new.example.
    "#]],
    );
    // Other types go on to the new name, ANY included.
    check(
        &z,
        "alias.old.example.",
        Rtype::ANY,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: old.example. 3600 IN DNAME new.example.
        answer: alias.old.example. 3600 IN CNAME alias.new.example.
        answer: alias.new.example. 3600 IN CNAME www.new.example.
    "#]],
    );
}

#[test]
fn dnssec_types_do_not_follow_cnames() {
    let z = rfc1034();
    // RRSIG and NSEC may sit beside a CNAME (RFC 4035 §2.5): NODATA here.
    check(
        &z,
        "alias.example.",
        Rtype::RRSIG,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
    check(
        &z,
        "gone.example.",
        Rtype::NSEC,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
    "#]],
    );
}

#[test]
fn dname_loops_stop() {
    let z = ZoneSet::from_zones([zone(
        "l.",
        "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nself DNAME self.l.\na DNAME b.l.\nb DNAME a.l.\n",
    )]);
    check(
        &z,
        "x.self.l.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: self.l. 60 IN DNAME self.l.
        answer: x.self.l. 60 IN CNAME x.self.l.
    "#]],
    );
    check(
        &z,
        "x.a.l.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: a.l. 60 IN DNAME b.l.
        answer: x.a.l. 60 IN CNAME x.b.l.
        answer: b.l. 60 IN DNAME a.l.
        answer: x.b.l. 60 IN CNAME x.a.l.
    "#]],
    );
}

#[test]
fn refused_outside_served_zones() {
    let z = rfc1034();
    check(
        &z,
        "www.example.org.",
        Rtype::A,
        expect![[r#"
        rcode REFUSED flags qr rd
    "#]],
    );
    check(
        &z,
        ".",
        Rtype::NS,
        expect![[r#"
        rcode REFUSED flags qr rd
    "#]],
    );
}

#[test]
fn rfc8482_minimal_any() {
    let z = rfc1034();
    check(
        &z,
        "www.example.",
        Rtype::ANY,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: www.example. 3600 IN A 192.0.2.80
        answer: www.example. 3600 IN A 192.0.2.81
    "#]],
    );
    check_with(
        &z,
        &query("www.example.", Rtype::ANY, None),
        Transport::Tcp,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: www.example. 3600 IN A 192.0.2.80
        answer: www.example. 3600 IN A 192.0.2.81
    "#]],
    );
}

#[test]
fn edns_and_errors() {
    let z = rfc1034();
    let mut badvers = query("www.example.", Rtype::A, Some(1232));
    let n = badvers.len();
    badvers[n - 5] = 1; // EDNS version 1.
    check_with(
        &z,
        &badvers,
        Transport::Udp,
        expect![[r#"
            rcode BADVERS flags qr rd
            opt: udp=1232 version=0 do=false
        "#]],
    );
    let mut notify = query("www.example.", Rtype::A, None);
    notify[2] = 0x20; // Opcode NOTIFY.
    check_with(
        &z,
        &notify,
        Transport::Udp,
        expect![[r#"
            rcode NOTAUTH flags qr
        "#]],
    );
    let mut two = query("www.example.", Rtype::A, None);
    two[5] = 2;
    check_with(
        &z,
        &two,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            no question
        "#]],
    );
    let mut response = query("www.example.", Rtype::A, None);
    response[2] |= 0x80;
    check_with(
        &z,
        &response,
        Transport::Udp,
        expect![[r#"
        no response
    "#]],
    );
    check(
        &z,
        "example.",
        Rtype::AXFR,
        expect![[r#"
            rcode NOTIMP flags qr rd
        "#]],
    );
}

/// A record in wire form, the owner uncompressed.
fn record(owner: &str, rtype: Rtype, class: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = Name::from_text(owner, None).unwrap().as_wire().to_vec();
    r.extend_from_slice(&rtype.0.to_be_bytes());
    r.extend_from_slice(&class.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// An OPT record: UDP size, EDNS version, DO bit, options.
fn opt(udp: u16, version: u8, dnssec_ok: bool, options: &[u8]) -> Vec<u8> {
    let ttl = (u32::from(version) << 16) | if dnssec_ok { 0x8000 } else { 0 };
    let mut r = vec![0];
    r.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
    r.extend_from_slice(&udp.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(options.len() as u16).to_be_bytes());
    r.extend_from_slice(options);
    r
}

/// The SOA RDATA of the `rfc1034` zone with another serial.
fn soa_rdata(serial: u32) -> Vec<u8> {
    let mut rdata = Name::from_text("ns1.example.", None)
        .unwrap()
        .as_wire()
        .to_vec();
    rdata.extend_from_slice(
        Name::from_text("hostmaster.example.", None)
            .unwrap()
            .as_wire(),
    );
    for field in [serial, 7200, 3600, 1209600, 300] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    rdata
}

/// A message with `opcode` (RD set), the question if any, and the records
/// of the answer, authority and additional sections, counted in the header.
fn message(opcode: u8, question: Option<(&str, Rtype)>, sections: [Vec<Vec<u8>>; 3]) -> Vec<u8> {
    let mut m = vec![0xab, 0xcd, (opcode << 3) | 1, 0];
    m.extend_from_slice(&u16::from(question.is_some()).to_be_bytes());
    for section in &sections {
        m.extend_from_slice(&(section.len() as u16).to_be_bytes());
    }
    if let Some((name, qtype)) = question {
        m.extend_from_slice(Name::from_text(name, None).unwrap().as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    for r in sections.iter().flat_map(|s| s.iter()) {
        m.extend_from_slice(r);
    }
    m
}

#[test]
fn transfers_notify_and_update_are_declined() {
    let z = rfc1034();
    let soa = record("example.", Rtype::SOA, 1, 0, &soa_rdata(1));
    let ixfr = message(
        0,
        Some(("example.", Rtype::IXFR)),
        [vec![], vec![soa.clone()], vec![]],
    );
    let a = record("new.example.", Rtype::A, 1, 300, &[192, 0, 2, 7]);
    // IXFR with the client's SOA in authority (RFC 1995 §3), over both
    // transports, and AXFR: no transfer is allowed yet.
    check_with(
        &z,
        &ixfr,
        Transport::Udp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
        "#]],
    );
    let ixfr_edns = message(
        0,
        Some(("example.", Rtype::IXFR)),
        [vec![], vec![soa.clone()], vec![opt(1232, 0, true, &[])]],
    );
    check_with(
        &z,
        &ixfr_edns,
        Transport::Tcp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
            opt: udp=1232 version=0 do=true
        "#]],
    );
    let axfr = message(0, Some(("example.", Rtype::AXFR)), [vec![], vec![], vec![]]);
    check_with(
        &z,
        &axfr,
        Transport::Tcp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
        "#]],
    );
    // AXFR over UDP is not defined (RFC 5936 §4.2).
    check_with(
        &z,
        &axfr,
        Transport::Udp,
        expect![[r#"
            rcode NOTIMP flags qr rd
        "#]],
    );
    // UPDATE with a prerequisite ("name is in use") and an update (RFC 2136
    // §2.4, §2.5): no dynamic update.
    let in_use = record("www.example.", Rtype::ANY, 255, 0, &[]);
    let update = message(
        5,
        Some(("example.", Rtype::SOA)),
        [vec![in_use], vec![a.clone()], vec![]],
    );
    check_with(
        &z,
        &update,
        Transport::Udp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
        "#]],
    );
    let elsewhere = message(
        5,
        Some(("example.org.", Rtype::SOA)),
        [vec![], vec![a.clone()], vec![]],
    );
    check_with(
        &z,
        &elsewhere,
        Transport::Tcp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
        "#]],
    );
    // The zone section names an SOA, or the UPDATE is malformed (§3.1.1).
    let not_soa = message(
        5,
        Some(("example.", Rtype::A)),
        [vec![], vec![a.clone()], vec![]],
    );
    check_with(
        &z,
        &not_soa,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
        "#]],
    );
    // NOTIFY with the new SOA in the answer section (RFC 1996 §3.7): not a
    // secondary.
    let notify = message(
        4,
        Some(("example.", Rtype::SOA)),
        [vec![soa.clone()], vec![], vec![]],
    );
    check_with(
        &z,
        &notify,
        Transport::Udp,
        expect![[r#"
            rcode NOTAUTH flags qr rd
        "#]],
    );
    // An opcode whose messages we cannot read, such as DSO (RFC 8490 §5.4)
    // without a question: NOTIMP, the OPT echoed.
    let dso = message(6, None, [vec![], vec![], vec![opt(1232, 0, false, &[])]]);
    check_with(
        &z,
        &dso,
        Transport::Tcp,
        expect![[r#"
            rcode NOTIMP flags qr rd
            no question
            opt: udp=1232 version=0 do=false
        "#]],
    );
}

#[test]
fn records_where_the_request_allows_none_are_formerr() {
    let z = rfc1034();
    let soa = record("example.", Rtype::SOA, 1, 0, &soa_rdata(1));
    let a = record("www.example.", Rtype::A, 1, 300, &[192, 0, 2, 80]);
    // A standard query has empty answer and authority sections.
    let query = message(
        0,
        Some(("www.example.", Rtype::A)),
        [vec![], vec![a.clone()], vec![]],
    );
    check_with(
        &z,
        &query,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
        "#]],
    );
    // An IXFR's SOA goes in authority, not answer.
    let ixfr = message(
        0,
        Some(("example.", Rtype::IXFR)),
        [vec![soa.clone()], vec![], vec![]],
    );
    check_with(
        &z,
        &ixfr,
        Transport::Tcp,
        expect![[r#"
            rcode FORMERR flags qr rd
        "#]],
    );
    // NSCOUNT says two records, the message holds one.
    let mut short = message(
        0,
        Some(("example.", Rtype::IXFR)),
        [vec![], vec![soa], vec![]],
    );
    short[9] = 2;
    check_with(
        &z,
        &short,
        Transport::Tcp,
        expect![[r#"
            rcode FORMERR flags qr rd
        "#]],
    );
}

#[test]
fn formerr_carries_the_opt_of_the_request() {
    let z = rfc1034();
    let q = Some(("www.example.", Rtype::A));
    let with_do = opt(4096, 0, true, &[]);
    // No question.
    check_with(
        &z,
        &message(0, None, [vec![], vec![], vec![with_do.clone()]]),
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            no question
            opt: udp=1232 version=0 do=true
        "#]],
    );
    // ARCOUNT counts a record after the OPT that is not there.
    let mut missing = message(0, q, [vec![], vec![], vec![with_do.clone()]]);
    missing[11] = 2;
    check_with(
        &z,
        &missing,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=true
        "#]],
    );
    // Two OPT records (RFC 6891 §6.1.1).
    let two = message(
        0,
        q,
        [vec![], vec![], vec![with_do.clone(), with_do.clone()]],
    );
    check_with(
        &z,
        &two,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=true
        "#]],
    );
    // An option running past the OPT's RDATA.
    let broken = opt(1232, 0, false, &[0, 3, 0, 8, 1]);
    check_with(
        &z,
        &message(0, q, [vec![], vec![], vec![broken]]),
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=false
        "#]],
    );
    // An OPT owned by another name than the root.
    let mut owned = vec![1, b'x'];
    owned.extend_from_slice(&with_do);
    check_with(
        &z,
        &message(0, q, [vec![], vec![], vec![owned]]),
        Transport::Tcp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=true
        "#]],
    );
    // An EDNS version we do not speak is BADVERS (RFC 6891 §6.1.3) even
    // without a question; a message broken in its records stays FORMERR.
    let v1 = opt(1232, 1, false, &[]);
    check_with(
        &z,
        &message(0, None, [vec![], vec![], vec![v1.clone()]]),
        Transport::Udp,
        expect![[r#"
            rcode BADVERS flags qr rd
            no question
            opt: udp=1232 version=0 do=false
        "#]],
    );
    let mut missing_v1 = message(0, q, [vec![], vec![], vec![v1]]);
    missing_v1[11] = 2;
    check_with(
        &z,
        &missing_v1,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=false
        "#]],
    );
    // Without an OPT there is none to echo.
    let mut plain = message(0, q, [vec![], vec![], vec![]]);
    plain[11] = 1;
    check_with(
        &z,
        &plain,
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
        "#]],
    );
}

#[test]
fn truncation_without_edns() {
    let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    for i in 0..40 {
        text.push_str(&format!(
            "big TXT \"record number {i} with some padding to make it long\"\n"
        ));
    }
    let z = ZoneSet::from_zones([zone("t.", &text)]);
    check(
        &z,
        "big.t.",
        Rtype::TXT,
        expect![[r#"
        rcode NOERROR flags qr aa tc rd
    "#]],
    );
    let big = query("big.t.", Rtype::TXT, Some(4096));
    let config = Config {
        max_udp_payload: 4096,
        ..config()
    };
    let mut out = vec![0u8; 65535];
    let len = answer_len(&z, &config, &big, &mut out).unwrap();
    let m = decode_message(&out[..len]).unwrap();
    assert_eq!(m.header.flags & 0x0200, 0, "fits in 4096 bytes");
    assert_eq!(m.answer.len(), 40);
}

/// A POOL RR in RFC 3597 zone-file form.
pub(super) fn pool_line(owner: &str, target: &str) -> String {
    let wire = Name::from_text(target, None).unwrap();
    let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
    format!("{owner} TYPE65303 \\# {} {hex}\n", wire.wire_len())
}

/// A zone with a POOL of three targets, two of them inside the zone.
fn pool_zone() -> ZoneSet {
    let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    text.push_str("a A 192.0.2.10\nb A 192.0.2.11\n");
    for target in ["a.p.", "b.p.", "c.other.test."] {
        text.push_str(&pool_line("www", target));
    }
    ZoneSet::from_zones([zone("p.", &text)])
}

#[test]
fn pool_answers_one_cname_chosen_per_query() {
    let z = pool_zone();
    let config = config();
    let mut out = vec![0u8; 65535];
    let mut seen = std::collections::BTreeSet::new();
    for id in 0..64u16 {
        let mut q = query("www.p.", Rtype::A, None);
        q[..2].copy_from_slice(&id.to_be_bytes());
        let len = answer_len(&z, &config, &q, &mut out).unwrap();
        let m = decode_message(&out[..len]).unwrap();
        let cnames: Vec<_> = m
            .answer
            .iter()
            .filter(|r| r.rtype == Rtype::CNAME)
            .collect();
        assert_eq!(cnames.len(), 1, "exactly one CNAME per answer");
        let target = Name::from_wire(&cnames[0].rdata).unwrap().to_string();
        // In-zone targets are followed, like any CNAME.
        let followed = m.answer.iter().any(|r| r.rtype == Rtype::A);
        assert_eq!(followed, target != "c.other.test.", "{target}");
        seen.insert(target);
    }
    assert_eq!(seen.len(), 3, "every target is chosen: {seen:?}");
    check(
        &z,
        "www.p.",
        Rtype::CNAME,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: www.p. 60 IN CNAME b.p.
    "#]],
    );
    check(
        &z,
        "www.p.",
        Rtype(65303),
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: www.p. 60 IN CNAME b.p.
        authority: p. 5 IN SOA ns.p. h.p. 1 2 3 4 5
    "#]],
    );
}

#[test]
fn pool_beside_other_data_is_refused() {
    let origin = Name::from_text("p.", None).unwrap();
    let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nwww A 192.0.2.1\n");
    text.push_str(&pool_line("www", "a.p."));
    let errors = load_zone_text(text.as_bytes(), Path::new("p.zone"), &origin).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "p.zone:5: POOL beside other data at www.p."
    );
}

/// An ALIAS RR in RFC 3597 zone-file form.
fn alias_line(owner: &str, target: &str) -> String {
    pool_line(owner, target).replace("TYPE65303", "TYPE65304")
}

/// An apex ALIAS to a host in another served zone, beside MX and TXT.
fn alias_zones() -> ZoneSet {
    let mut a = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
    a.push_str("@ MX 10 mail\n@ TXT \"hello\"\n");
    a.push_str(&alias_line("@", "www.b."));
    a.push_str(&alias_line("gone", "nothere.b."));
    a.push_str(&alias_line("away", "www.elsewhere.test."));
    a.push_str(&alias_line("viacname", "cdn.b."));
    let b = "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
             www A 192.0.2.7\nwww A 192.0.2.8\nwww AAAA 2001:db8::7\ncdn CNAME www\n";
    ZoneSet::from_zones([zone("a.", &a), zone("b.", b)])
}

#[test]
fn alias_answers_with_the_targets_addresses_under_its_own_name() {
    let z = alias_zones();
    check(
        &z,
        "A.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: A. 300 IN A 192.0.2.7
        answer: A. 300 IN A 192.0.2.8
    "#]],
    );
    check(
        &z,
        "a.",
        Rtype::AAAA,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: a. 300 IN AAAA 2001:db8::7
    "#]],
    );
    // The other data at the apex is untouched, and ANY never shows ALIAS.
    check(
        &z,
        "a.",
        Rtype::MX,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: a. 60 IN MX 10 mail.a.
    "#]],
    );
    check(
        &z,
        "gone.a.",
        Rtype::ANY,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: a. 5 IN SOA ns.a. h.a. 1 2 3 4 5
    "#]],
    );
    check(
        &z,
        "gone.a.",
        Rtype(65304),
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: a. 5 IN SOA ns.a. h.a. 1 2 3 4 5
    "#]],
    );
}

#[test]
fn alias_targets_that_are_missing_or_unresolved() {
    let z = alias_zones();
    // A target that does not exist: NODATA.
    check(
        &z,
        "gone.a.",
        Rtype::A,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        authority: a. 5 IN SOA ns.a. h.a. 1 2 3 4 5
    "#]],
    );
    // A CNAME at the target is followed inside its zone.
    check(
        &z,
        "viacname.a.",
        Rtype::AAAA,
        expect![[r#"
        rcode NOERROR flags qr aa rd
        answer: viacname.a. 300 IN AAAA 2001:db8::7
    "#]],
    );
    // A target nobody resolved (no resolver outside Candor's zones yet): SERVFAIL.
    check(
        &z,
        "away.a.",
        Rtype::A,
        expect![[r#"
        rcode SERVFAIL flags qr aa rd
    "#]],
    );
}

#[test]
fn alias_beside_addresses_is_refused() {
    let origin = Name::from_text("a.", None).unwrap();
    let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n@ A 192.0.2.1\n");
    text.push_str(&alias_line("@", "www.b."));
    let errors = load_zone_text(text.as_bytes(), Path::new("a.zone"), &origin).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "a.zone:5: ALIAS beside A or AAAA records at a."
    );
}

//----------- Cookies, slips and how responses are accounted -------------------

/// The data of a COOKIE option, written in hexadecimal.
fn cookie_option(hex_digits: &str) -> Vec<u8> {
    let data: Vec<u8> = (0..hex_digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_digits[i..i + 2], 16).unwrap())
        .collect();
    let mut option = vec![0, 10];
    option.extend_from_slice(&(data.len() as u16).to_be_bytes());
    option.extend_from_slice(&data);
    option
}

/// A query (RD set) with EDNS and a COOKIE option, `None` for no question.
fn with_cookie(question: Option<(&str, Rtype)>, cookie: &str) -> Vec<u8> {
    let opt = opt(1232, 0, false, &cookie_option(cookie));
    message(0, question, [vec![], vec![], vec![opt]])
}

/// RFC 9018 A.1's client cookie.
const CLIENT_COOKIE: &str = "2464c4abcf10c957";

/// The server cookie RFC 9018 A.1 gives that client cookie from
/// [`CLIENT`] at [`NOW`] under [`SECRET`].
const SERVER_COOKIE: &str = "010000005cf79f111f8130c3eee29480";

/// Responses to a COOKIE option carry the client cookie and a server cookie
/// (RFC 9018 A.1's, as the test runs at its time, address and secret).
#[test]
fn cookies_are_answered_with_a_server_cookie() {
    let z = rfc1034();
    let www = Some(("www.example.", Rtype::A));
    // A client cookie alone: a normal answer and a fresh server cookie
    // (RFC 7873 §5.2.3, as BIND answers; RFC 9018 A.1's cookie).
    check_with(
        &z,
        &with_cookie(www, CLIENT_COOKIE),
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
            answer: www.example. 3600 IN A 192.0.2.80
            answer: www.example. 3600 IN A 192.0.2.81
        "#]],
    );
    // The cookie sent back: valid, and returned as it came (§5.2.5).
    check_with(
        &z,
        &with_cookie(www, &format!("{CLIENT_COOKIE}{SERVER_COOKIE}")),
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
            answer: www.example. 3600 IN A 192.0.2.80
            answer: www.example. 3600 IN A 192.0.2.81
        "#]],
    );
    // Another server's (or a forged) cookie: answered, with ours (§5.2.4).
    check_with(
        &z,
        &with_cookie(
            www,
            &format!("{CLIENT_COOKIE}0100000000000000ffffffffffffffff"),
        ),
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr aa rd
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
            answer: www.example. 3600 IN A 192.0.2.80
            answer: www.example. 3600 IN A 192.0.2.81
        "#]],
    );
    // Over TCP too, and with errors (here NXDOMAIN).
    check_with(
        &z,
        &with_cookie(Some(("nothere.example.", Rtype::A)), CLIENT_COOKIE),
        Transport::Tcp,
        expect![[r#"
            rcode NXDOMAIN flags qr aa rd
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
            authority: example. 300 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300
        "#]],
    );
    // A COOKIE option of a length no cookie has: FORMERR, no cookie
    // (§5.2.2), as from Knot.
    check_with(
        &z,
        &with_cookie(www, "2464c4abcf10c95701020304"),
        Transport::Udp,
        expect![[r#"
            rcode FORMERR flags qr rd
            opt: udp=1232 version=0 do=false
        "#]],
    );
}

/// RFC 7873 §5.4: no question, a cookie: NOERROR or BADCOOKIE.
#[test]
fn queries_for_a_server_cookie() {
    let z = rfc1034();
    // RFC 7873 §5.4: no question, a client cookie: NOERROR and a cookie.
    check_with(
        &z,
        &with_cookie(None, CLIENT_COOKIE),
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr rd
            no question
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
        "#]],
    );
    // A valid server cookie: NOERROR, the cookie confirmed.
    check_with(
        &z,
        &with_cookie(None, &format!("{CLIENT_COOKIE}{SERVER_COOKIE}")),
        Transport::Udp,
        expect![[r#"
            rcode NOERROR flags qr rd
            no question
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
        "#]],
    );
    // An invalid one: BADCOOKIE, with a fresh cookie.
    check_with(
        &z,
        &with_cookie(
            None,
            &format!("{CLIENT_COOKIE}0100000000000000ffffffffffffffff"),
        ),
        Transport::Udp,
        expect![[r#"
            rcode BADCOOKIE flags qr rd
            no question
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
        "#]],
    );
}

/// Answers `q` over UDP, then replaces the response by the slip `how` and
/// renders that.
#[track_caller]
fn check_slip(zones: &ZoneSet, q: &[u8], how: Slip, expect: Expect) {
    let config = config();
    let request = request(q, Transport::Udp);
    let mut out = vec![0u8; 65535];
    let outcome = respond(zones, &config, &request, &mut out).expect("a response");
    let len = crate::slip(&config, &request, &outcome, how, &mut out).expect("a slip");
    let m = decode_message(&out[..len]).expect("slips decode");
    expect.assert_eq(&render(&m));
}

/// What the rate limiter sends instead of a response.
#[test]
fn slips_are_the_question_and_the_opt_record() {
    let z = rfc1034();
    check_slip(
        &z,
        &query("www.example.", Rtype::A, Some(1232)),
        Slip::Truncated,
        expect![[r#"
            rcode NOERROR flags qr aa tc rd
            opt: udp=1232 version=0 do=false
        "#]],
    );
    // The rcode stays; a client retries over TCP whatever it is.
    check_slip(
        &z,
        &query("nothere.example.", Rtype::A, None),
        Slip::Truncated,
        expect![[r#"
            rcode NXDOMAIN flags qr aa tc rd
        "#]],
    );
    check_slip(
        &z,
        &query("www.elsewhere.", Rtype::A, None),
        Slip::Truncated,
        expect![[r#"
            rcode REFUSED flags qr tc rd
        "#]],
    );
    // A query with a client cookie gets BADCOOKIE and a fresh cookie.
    check_slip(
        &z,
        &with_cookie(Some(("www.example.", Rtype::A)), CLIENT_COOKIE),
        Slip::BadCookie,
        expect![[r#"
            rcode BADCOOKIE flags qr rd
            opt: udp=1232 version=0 do=false
            cookie: client 2464c4abcf10c957 server 010000005cf79f111f8130c3eee29480
        "#]],
    );
}

/// The name a response is accounted by: a kind, a name (none for errors
/// no zone answered) and the QTYPE for answers.
type Account = (ResponseKind, Option<&'static str>, Rtype);

/// The rate limiter's key for each kind of response (BIND's and NSD's
/// classes).
#[test]
fn responses_are_accounted_by_kind_and_name() {
    use ResponseKind::*;
    let none = Rtype(0);
    let cases: &[(ZoneSet, &str, Rtype, Account)] = &[
        (
            rfc1034(),
            "www.example.",
            Rtype::A,
            (Answer, Some("www.example."), Rtype::A),
        ),
        // Case does not make another account.
        (
            rfc1034(),
            "WWW.Example.",
            Rtype::A,
            (Answer, Some("www.example."), Rtype::A),
        ),
        (
            rfc1034(),
            "www.example.",
            Rtype::MX,
            (NoData, Some("example."), none),
        ),
        (
            rfc1034(),
            "nothere.example.",
            Rtype::A,
            (NxDomain, Some("example."), none),
        ),
        (
            rfc1034(),
            "xyz.example.",
            Rtype::TXT,
            (NxDomain, Some("example."), none),
        ),
        (
            rfc1034(),
            "host.sub.example.",
            Rtype::A,
            (Referral, Some("sub.example."), none),
        ),
        (
            rfc1034(),
            "alias.example.",
            Rtype::A,
            (Answer, Some("alias.example."), Rtype::A),
        ),
        (
            rfc1034(),
            "gone.example.",
            Rtype::A,
            (NxDomain, Some("example."), none),
        ),
        (
            rfc1034(),
            "outside.example.",
            Rtype::A,
            (Answer, Some("outside.example."), Rtype::A),
        ),
        (
            rfc1034(),
            "www.old.example.",
            Rtype::A,
            (Answer, Some("www.old.example."), Rtype::A),
        ),
        (
            rfc4592(),
            "host3.example.",
            Rtype::MX,
            (Wildcard, Some("*.example."), none),
        ),
        (
            rfc4592(),
            "random.host3.example.",
            Rtype::TXT,
            (Wildcard, Some("*.example."), none),
        ),
        (
            rfc4592(),
            "host3.example.",
            Rtype::A,
            (NoData, Some("example."), none),
        ),
        (
            alias_zones(),
            "away.a.",
            Rtype::A,
            (Error, Some("a."), none),
        ),
        (rfc1034(), "www.elsewhere.", Rtype::A, (Error, None, none)),
        (rfc1034(), "example.", Rtype::AXFR, (Error, None, none)),
    ];
    let mut failures = Vec::new();
    for (zones, name, qtype, (kind, account, account_type)) in cases {
        let expected = match account {
            Some(n) => {
                let wire = Name::from_text(n, None).unwrap();
                candor_guard::RateKey::new(*kind, wire.as_wire(), account_type.0)
            }
            None => candor_guard::RateKey::error_without_zone(),
        };
        let (_, outcome) = render_answer(zones, &query(name, *qtype, None), Transport::Udp);
        let outcome = outcome.expect("answered");
        if outcome.key != expected || outcome.cookie != CookieCheck::Absent {
            failures.push(format!(
                "{name} {qtype}: {:?}, expected {kind:?} by {account:?}",
                outcome.key.kind
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

mod dnssec;
