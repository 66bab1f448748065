//! Tests of the canary check and the verdict.

use super::*;

/// A response to a query for `example.com. SOA` with message ID `id`:
/// `flags` in the header, `rcode`, and the SOA in the answer or not.
pub(crate) fn response(id: u16, flags: u16, rcode: u16, soa: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(flags | rcode).to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&u16::from(soa).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(b"\x07example\x03com\x00\x00\x06\x00\x01");
    if soa {
        // Owner: a pointer to the question's name; SOA, IN, TTL 300.
        m.extend_from_slice(&[0xC0, 0x0C, 0, 6, 0, 1, 0, 0, 1, 44, 0, 22]);
        // MNAME and RNAME the root, then five 32-bit fields.
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&[0; 20]);
    }
    m
}

/// The canary, as `--status-canary example.com` gives it.
fn canary() -> Ask {
    Ask::canary("example.com").expect("a name")
}

/// Every way an answer can be good, not ours or wrong, in a table.
#[test]
fn answers_are_checked() {
    let (qr, aa) = (Header::QR, Header::AA);
    let cases: &[(&str, Ask, Vec<u8>, Reply)] = &[
        ("good", canary(), response(7, qr | aa, 0, true), Reply::Good),
        (
            "another id",
            canary(),
            response(8, qr | aa, 0, true),
            Reply::NotOurs,
        ),
        (
            "a query, not a response",
            canary(),
            response(7, aa, 0, true),
            Reply::NotOurs,
        ),
        (
            "REFUSED",
            canary(),
            response(7, qr, 5, false),
            Reply::Wrong("rcode 5 for the canary".into()),
        ),
        (
            "not authoritative",
            canary(),
            response(7, qr, 0, true),
            Reply::Wrong("answer without the AA flag".into()),
        ),
        (
            "no SOA",
            canary(),
            response(7, qr | aa, 0, false),
            Reply::Wrong("no SOA in the answer".into()),
        ),
        (
            "garbage",
            canary(),
            vec![1, 2, 3],
            Reply::Wrong("malformed answer".into()),
        ),
        (
            "root: any answer",
            Ask::Root,
            response(7, qr, 5, false),
            Reply::Good,
        ),
        (
            "root: another id",
            Ask::Root,
            response(9, qr, 0, false),
            Reply::NotOurs,
        ),
    ];
    for (what, ask, msg, want) in cases {
        assert_eq!(ask.check(msg, 7), *want, "{what}");
    }
}

/// The query asks for the SOA of the canary (or the root), without RD,
/// with EDNS.
#[test]
fn the_query_asks_for_the_soa() {
    let q = candor_wire::decode::decode_message(&canary().query(0x1234)).unwrap();
    assert_eq!(q.header.id, 0x1234);
    assert_eq!(q.header.flags & Header::RD, 0);
    assert_eq!(q.questions.len(), 1);
    assert_eq!(q.questions[0].1, Rtype::SOA);
    assert_eq!(q.questions[0].0.to_string(), "example.com.");
    assert_eq!(q.additional.len(), 1, "an OPT record");
    let q = candor_wire::decode::decode_message(&Ask::Root.query(1)).unwrap();
    assert_eq!(q.questions[0].0.to_string(), ".");
    assert!(Ask::canary("bad..name").is_none());
    assert_eq!(Ask::canary("example.com."), Ask::canary("example.com"));
}

/// Both legs, one of them, or none: Ok, Impaired or Failed, with reasons
/// that name the leg.
#[test]
fn verdict_from_the_two_legs() {
    let ms = Duration::from_millis;
    let timeout = ms(700);
    let cases: &[(Leg, Leg, Outcome)] = &[
        (
            Leg::Answered(ms(3)),
            Leg::Answered(ms(9)),
            Outcome::Ok { latency_ms: 9 },
        ),
        (
            Leg::TimedOut,
            Leg::Answered(ms(12)),
            Outcome::Impaired {
                latency_ms: 12,
                reason: "udp: no answer within 700 ms".into(),
            },
        ),
        (
            Leg::Answered(ms(1)),
            Leg::Failed("connection refused".into()),
            Outcome::Impaired {
                latency_ms: 1,
                reason: "tcp: connection refused".into(),
            },
        ),
        (
            Leg::TimedOut,
            Leg::TimedOut,
            Outcome::Failed {
                reason: "udp: no answer within 700 ms, tcp: no answer within 700 ms".into(),
            },
        ),
        (
            Leg::Failed("rcode 5 for the canary".into()),
            Leg::Failed("rcode 5 for the canary".into()),
            Outcome::Failed {
                reason: "udp: rcode 5 for the canary, tcp: rcode 5 for the canary".into(),
            },
        ),
    ];
    for (udp, tcp, want) in cases {
        assert_eq!(verdict(udp, tcp, timeout), *want, "{udp:?} {tcp:?}");
    }
}
