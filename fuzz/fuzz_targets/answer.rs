//! Fuzzes the answer algorithm on random zones and random queries.
//!
//! The input is read as a little program: records over a tiny label
//! alphabet (so wildcards, empty non-terminals, delegations, CNAME/DNAME
//! chains and loops collide often), then requests: queries, and now and then
//! an AXFR, an IXFR with its SOA in authority, a NOTIFY with an SOA in
//! answer or an UPDATE with a prerequisite and an update. Every response
//! must be a well-formed message that echoes the ID and question, and
//! answering through a batch `Peek` must give the same bytes; the requests
//! Candor declines get no records and no AA bit.
#![no_main]

use std::sync::Arc;

use candor_answer::{Config, CookieSecrets, Cookies, Peek, Request, Transport, respond};
use candor_wire::decode::decode_message;
use candor_wire::{Name, Rtype};
use candor_zone::{ZoneBuilder, ZoneSet};
use libfuzzer_sys::fuzz_target;

/// Labels names are made of.
const LABELS: [&str; 8] = ["*", "a", "b", "ns", "www", "sub", "A", "x"];

/// Reads bytes one at a time, yielding zeros when exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
}

/// A name of 0..=3 labels under `example.`.
fn name(b: &mut Bytes<'_>) -> Name {
    let n = b.next() % 4;
    let mut text = String::new();
    for _ in 0..n {
        text.push_str(LABELS[usize::from(b.next() % 8)]);
        text.push('.');
    }
    text.push_str("example.");
    Name::from_text(&text, None).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let apex = Name::from_text("example.", None).unwrap();
    let mut builder = ZoneBuilder::new(&apex);
    let mut soa = Vec::new();
    soa.extend_from_slice(Name::from_text("ns.example.", None).unwrap().as_wire());
    soa.extend_from_slice(Name::from_text("h.example.", None).unwrap().as_wire());
    soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]);
    builder.add(&apex, Rtype::SOA, 60, &soa, None);
    builder.add(&apex, Rtype::NS, 60, Name::from_text("ns.example.", None).unwrap().as_wire(), None);
    let records = b.next() % 24;
    for _ in 0..records {
        let owner = name(&mut b);
        let target = name(&mut b);
        let ttl = u32::from(b.next());
        match b.next() % 10 {
            0 => builder.add(&owner, Rtype::A, ttl, &[192, 0, 2, b.next()], None),
            1 => builder.add(&owner, Rtype::AAAA, ttl, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b.next()], None),
            2 => builder.add(&owner, Rtype::CNAME, ttl, target.as_wire(), None),
            3 => builder.add(&owner, Rtype::NS, ttl, target.as_wire(), None),
            4 => builder.add(&owner, Rtype::DNAME, ttl, target.as_wire(), None),
            5 => {
                let mut mx = vec![0, b.next()];
                mx.extend_from_slice(target.as_wire());
                builder.add(&owner, Rtype::MX, ttl, &mx, None);
            }
            6 => {
                let len = usize::from(b.next());
                let mut txt = vec![len as u8];
                txt.extend(std::iter::repeat_n(b'x', len));
                builder.add(&owner, Rtype::TXT, ttl, &txt, None);
            }
            7 => builder.add(&owner, Rtype::DS, ttl, &[0, 1, 8, 2, b.next()], None),
            8 => builder.add(&owner, candor_zone::POOL, ttl, target.as_wire(), None),
            _ => builder.add(&owner, candor_zone::ALIAS, ttl, target.as_wire(), None),
        }
    }
    // Broken zones (CNAME beside data, ...) are refused; that is fine.
    let Ok(zone) = builder.finish() else { return };
    let zones = ZoneSet::from_zones([Arc::new(zone)]);
    let config = Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([3; 16], None)),
    };
    let mut out = vec![0u8; 65535];
    for _ in 0..4 {
        let qname = name(&mut b);
        let qtype = [Rtype::A, Rtype::AAAA, Rtype::NS, Rtype::CNAME, Rtype::MX, Rtype::TXT, Rtype::DS, Rtype::ANY, Rtype::DNAME, Rtype::SOA][usize::from(b.next() % 10)];
        let edns = b.next();
        let id = b.next();
        // Mostly queries; an eighth of the time one of the other requests.
        let kind = b.next() % 40;
        let (opcode, qtype, answer, authority) = match kind {
            0 => (0, Rtype::AXFR, 0, 0),
            1 => (0, Rtype::IXFR, 0, 1),
            2 => (4, Rtype::SOA, 1, 0),
            3 => (5, qtype, 1, 1),
            _ => (0, qtype, 0, 0),
        };
        let mut q = vec![0x42, id, opcode << 3, 0, 0, 1, 0, answer, 0, authority, 0, u8::from(edns & 1 == 1)];
        q.extend_from_slice(qname.as_wire());
        q.extend_from_slice(&qtype.0.to_be_bytes());
        q.extend_from_slice(&[0, 1]);
        for _ in 0..answer + authority {
            // An SOA owned by the QNAME (a pointer to it).
            q.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22]);
            q.extend_from_slice(&[0, 0]);
            q.extend_from_slice(&[0; 20]);
        }
        if edns & 1 == 1 {
            q.extend_from_slice(&[0, 0, 41, 2, 0, 0, 0, 0, 0, 0, 0]);
        }
        let transport = if edns & 2 == 0 { Transport::Udp } else { Transport::Tcp };
        let request = Request { msg: &q, transport, client: [192, 0, 2, 1].into(), now: 1_700_000_000 };
        let outcome = respond(&zones, &config, &request, &mut out).expect("queries are answered");
        let len = outcome.len;
        // Through a peek (as the UDP workers answer): the same bytes, and
        // the same outcome (the rate limiter reads it).
        let mut peek = Peek::default();
        Peek::prepare(std::slice::from_mut(&mut peek), &zones, [&q[..]]);
        let mut peeked = vec![0u8; 65535];
        let peeked_outcome = peek.respond(&zones, &config, &request, &mut peeked);
        assert_eq!(peeked_outcome.map(|o| &peeked[..o.len]), Some(&out[..len]), "a peek changed the response");
        assert_eq!(peeked_outcome, Some(outcome), "a peek changed the outcome");
        let limit = match (transport, edns & 1) {
            (Transport::Tcp, _) => 65535,
            (_, 1) => 512,
            _ => 512,
        };
        assert!(len <= limit, "response of {len} bytes over the {limit}-byte limit");
        let m = decode_message(&out[..len]).expect("responses decode");
        assert_eq!(m.header.id, u16::from_be_bytes([0x42, id]));
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.questions[0].0, qname);
        if kind < 4 {
            // Transfers, NOTIFY and UPDATE are declined: NOTAUTH, NOTIMP for
            // AXFR over UDP, FORMERR for an UPDATE whose zone is not SOA.
            assert!(matches!(m.rcode(), 1 | 4 | 9), "rcode {} for request kind {kind}", m.rcode());
            assert!(m.answer.is_empty() && m.authority.is_empty());
            assert_eq!(m.header.flags & candor_wire::Header::AA, 0);
        }
    }
});
