//! Fuzzes everything that reads packets from the network with arbitrary
//! bytes: the query-path parser (its COOKIE option parsing included), the
//! full decoder, `respond` itself on a small zone set, directly and
//! through a batch `Peek`, and the rate limiter's `slip`. Nothing may
//! panic; parsers must agree on the question; every response must decode,
//! respect the size limit, be the same with and without the peek, and
//! carry an OPT record whenever the request did (RFC 6891 §7), whatever
//! its rcode, and a COOKIE option exactly when the request had a
//! well-formed one (RFC 7873 §5.2); a slip is the question and OPT only.
//! Fuzz inputs that start with a plain query and an OPT record with a
//! COOKIE option (see the `cookie` target for the cookie rules) reach
//! every branch of the option parser.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use candor_answer::{Config, CookieSecrets, Cookies, Peek, Request, Slip, Transport, respond, slip};
use candor_wire::decode::decode_message;
use candor_wire::{Class, Name};
use candor_zone::{ZoneBuilder, ZoneSet};
use candor_zonefile::{ParseOptions, parse_bytes};
use libfuzzer_sys::fuzz_target;

/// A zone with a bit of everything.
const ZONE: &str = r#"
$TTL 300
@ SOA ns h 1 2 3 4 5
@ NS ns
@ MX 10 mail
ns A 192.0.2.1
mail AAAA 2001:db8::25
www CNAME @
* TXT "wild"
sub NS ns.sub
ns.sub A 192.0.2.53
old DNAME example.
big TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big TXT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big TXT "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
big TXT "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
big TXT "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
big TXT "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
"#;

/// The zone set, built once.
fn zones() -> &'static ZoneSet {
    static ZONES: OnceLock<ZoneSet> = OnceLock::new();
    ZONES.get_or_init(|| {
        let origin = Name::from_text("example.", None).unwrap();
        let opts = ParseOptions { origin: origin.clone(), default_class: Class::IN, allow_include: false, max_errors: 1, regions: false };
        let mut b = ZoneBuilder::new(&origin);
        parse_bytes(ZONE.as_bytes(), Path::new("fuzz.zone"), &opts, &mut |r| {
            b.add(r.owner, r.rtype, r.ttl, r.rdata, None);
        })
        .unwrap();
        ZoneSet::from_zones([Arc::new(b.finish().unwrap())])
    })
}

fuzz_target!(|data: &[u8]| {
    let query = candor_wire::parse_query(data);
    let full = decode_message(data);
    if let (Ok(q), Ok(m)) = (query, &full) {
        assert_eq!(m.questions.len(), 1);
        let (name, qtype, qclass) = &m.questions[0];
        assert_eq!(name.as_wire(), q.qname);
        assert_eq!(*qtype, q.qtype);
        assert_eq!(*qclass, q.qclass);
    }
    // An OPT the full decoder finds in the additional section, the query
    // parser finds too, even when it rejects the message.
    let opt = match query {
        Ok(q) => q.edns,
        Err(candor_wire::QueryError::Reject(echo, _) | candor_wire::QueryError::CookieOnly(echo)) => echo.edns,
        Err(candor_wire::QueryError::Drop) => None,
    };
    let edns = opt.is_some();
    // A cookie the parser accepts has the lengths RFC 7873 §4 allows, and
    // is the first COOKIE option's data.
    let cookie = opt.and_then(|e| e.cookie);
    if let Some(c) = cookie {
        assert!(c.server.is_empty() || (8..=32).contains(&c.server.len()));
        if let Ok(m) = &full {
            let data = cookie_options(m).into_iter().next().expect("the decoder sees the option");
            assert_eq!(&data[..8], &c.client[..]);
            assert_eq!(&data[8..], c.server);
        }
    }
    if let Ok(m) = &full
        && m.opt().is_some()
        && m.header.flags & candor_wire::Header::QR == 0
    {
        assert!(edns, "the parser missed the OPT record");
    }
    let config = Config {
        max_udp_payload: 1232,
        nsid: Some(b"fuzz".to_vec()),
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([5; 16], Some([6; 16]))),
    };
    let mut out = vec![0u8; 65535];
    let mut peeked = vec![0u8; 65535];
    let mut peek = Peek::default();
    for transport in [Transport::Udp, Transport::Tcp] {
        let request = Request { msg: data, transport, client: [198, 51, 100, 7].into(), now: 1_700_000_000 };
        let outcome = respond(zones(), &config, &request, &mut out);
        let len = outcome.map(|o| o.len);
        // The UDP workers answer through a peek: same bytes, whatever arrives.
        Peek::prepare(std::slice::from_mut(&mut peek), zones(), [data]);
        let peeked_outcome = peek.respond(zones(), &config, &request, &mut peeked);
        assert_eq!(peeked_outcome.map(|o| &peeked[..o.len]), len.map(|l| &out[..l]), "a peek changed the response");
        assert_eq!(peeked_outcome, outcome, "a peek changed the outcome");
        let Some(outcome) = outcome else { continue };
        let limit = if transport == Transport::Udp { 1232 } else { 65535 };
        assert!(outcome.len <= limit);
        let m = decode_message(&out[..outcome.len]).expect("responses decode");
        assert_eq!(&out[..2], &data[..2], "the ID is echoed");
        assert!(m.questions.len() <= 1);
        assert_eq!(m.opt().is_some(), edns, "an OPT in the response if and only if in the request");
        // A response to a well-formed cookie carries the client cookie and an
        // RFC 9018 server cookie; no other response carries one.
        let sent = cookie_options(&m);
        assert_eq!(outcome.cookie.is_present(), cookie.is_some());
        match cookie {
            Some(c) if outcome.len > 12 => {
                assert_eq!(sent.len(), 1, "one COOKIE option");
                assert_eq!(sent[0].len(), 24);
                assert_eq!(&sent[0][..8], &c.client[..]);
            }
            _ => assert!(sent.is_empty() || outcome.len <= 12),
        }
        // What the rate limiter sends instead: the question and the OPT,
        // TC or BADCOOKIE, within the limit.
        for how in [Slip::Truncated, Slip::BadCookie] {
            let mut slipped = out.clone();
            let len = slip(&config, &request, &outcome, how, &mut slipped).expect("a response can slip");
            assert!(len <= limit);
            let s = decode_message(&slipped[..len]).expect("slips decode");
            assert!(s.answer.is_empty() && s.authority.is_empty());
            assert_eq!(s.additional.len(), usize::from(edns));
            assert_eq!(s.opt().is_some(), edns);
            match how {
                Slip::Truncated => assert!(s.header.flags & candor_wire::Header::TC != 0 || len == 12),
                Slip::BadCookie => assert!(s.rcode() == 23 || !edns || len == 12),
            }
        }
    }
});

/// The data of every COOKIE option in a message's OPT record.
fn cookie_options(m: &candor_wire::decode::Message) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let Some(opt) = m.opt() else { return found };
    let mut rest = &opt.rdata[..];
    while rest.len() >= 4 {
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let Some(data) = rest.get(4..4 + len) else { break };
        if code == 10 {
            found.push(data.to_vec());
        }
        rest = &rest[4 + len..];
    }
    found
}
