//! Fuzzes everything that reads packets from the network with arbitrary
//! bytes: the query-path parser, the full decoder, and `respond` itself on
//! a small zone set, directly and through a batch `Peek`. Nothing may
//! panic; parsers must agree on the question; every response must decode,
//! respect the size limit, be the same with and without the peek, and
//! carry an OPT record whenever the request did (RFC 6891 §7), whatever
//! its rcode.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use candor_answer::{Config, Peek, Transport, respond};
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
        let opts = ParseOptions { origin: origin.clone(), default_class: Class::IN, allow_include: false, max_errors: 1 };
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
    let edns = match query {
        Ok(q) => q.edns.is_some(),
        Err(candor_wire::QueryError::Reject(echo, _)) => echo.edns.is_some(),
        Err(candor_wire::QueryError::Drop) => false,
    };
    if let Ok(m) = &full
        && m.opt().is_some()
        && m.header.flags & candor_wire::Header::QR == 0
    {
        assert!(edns, "the parser missed the OPT record");
    }
    let config = Config { max_udp_payload: 1232, nsid: Some(b"fuzz".to_vec()), aliases: Default::default() };
    let mut out = vec![0u8; 65535];
    let mut peeked = vec![0u8; 65535];
    let mut peek = Peek::default();
    for transport in [Transport::Udp, Transport::Tcp] {
        let len = respond(zones(), &config, data, transport, &mut out);
        // The UDP workers answer through a peek: same bytes, whatever arrives.
        Peek::prepare(std::slice::from_mut(&mut peek), zones(), [data]);
        let peeked_len = peek.respond(zones(), &config, data, transport, &mut peeked);
        assert_eq!(peeked_len.map(|l| &peeked[..l]), len.map(|l| &out[..l]), "a peek changed the response");
        if let Some(len) = len {
            let limit = if transport == Transport::Udp { 1232 } else { 65535 };
            assert!(len <= limit);
            let m = decode_message(&out[..len]).expect("responses decode");
            assert_eq!(&out[..2], &data[..2], "the ID is echoed");
            assert!(m.questions.len() <= 1);
            assert_eq!(m.opt().is_some(), edns, "an OPT in the response if and only if in the request");
        }
    }
});
