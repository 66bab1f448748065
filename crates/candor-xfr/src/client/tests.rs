//! Tests of the transfer client: Candor's own primary answers the
//! client's requests (AXFR, IXFR over several versions, signed and not),
//! the client reads every message and applies what it received, and the
//! result must be the primary's zone record for record; hand-made broken
//! answers are refused with the reason.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_answer::SharedAliases;
use candor_wire::{Name, Rtype};
use candor_zone::{OwnedRecord, Zone, ZoneSet, load_zone_text};

use super::*;
use crate::journal::Limits;
use crate::primary::{Primary, Reply, Transport};
use crate::tsig::{Algorithm, Key, KeyRing};
use crate::{Acl, Rule};

/// The time every test signs at.
const NOW: u64 = 1_700_000_000;

/// The zone `sec.test.` at `serial` with `body` after its SOA and NS.
fn zone(serial: u32, body: &str) -> Arc<Zone> {
    let origin = Name::from_text("sec.test.", None).unwrap();
    let text = format!(
        "$TTL 300\n@ SOA ns.sec.test. h.sec.test. {serial} 2 1 10 60\n@ NS ns\nns A 192.0.2.53\n{body}"
    );
    Arc::new(load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin).unwrap())
}

/// A zone's records as sorted text lines.
fn lines(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .records()
        .map(|r| {
            let owner = Name::from_wire(r.owner).unwrap();
            let hex: String = r.rdata.iter().map(|b| format!("{b:02x}")).collect();
            format!("{owner} {} {} {hex}", r.ttl, r.rtype)
        })
        .collect();
    out.sort();
    out
}

/// A primary allowing 127.0.0.1 (with `key`, if given), serving `first`;
/// returns it and the served set to swap versions into.
fn primary(first: Arc<Zone>, key: Option<&Key>) -> (Primary, Arc<ArcSwap<ZoneSet>>) {
    let set = Arc::new(ArcSwap::from_pointee(ZoneSet::from_zones([first])));
    let aliases: SharedAliases = Arc::default();
    let rule = match key {
        Some(k) => format!("127.0.0.1@{}", k.name()),
        None => "127.0.0.1".to_owned(),
    };
    let acl = Acl::new(vec![rule.parse::<Rule>().unwrap()]);
    let keys = Arc::new(ArcSwap::from_pointee(KeyRing::new(key.cloned())));
    let limits = Limits {
        max_steps: 5,
        max_bytes: 1 << 20,
    };
    let p = Primary::new(set.clone(), aliases, acl, keys, limits);
    p.observe();
    (p, set)
}

/// Publishes `zone` on the primary and lets its journal see it.
fn publish(p: &Primary, set: &ArcSwap<ZoneSet>, zone: Arc<Zone>) {
    set.store(Arc::new(ZoneSet::from_zones([zone])));
    p.observe();
}

/// Sends `ask` through `p` and reads the whole answer with the client.
fn exchange(
    (p, set): (&Primary, &ArcSwap<ZoneSet>),
    ask: &Ask,
    key: Option<&Arc<Key>>,
) -> Result<Received, ClientError> {
    let apex = Name::from_text("sec.test.", None).unwrap();
    let mut ex = Exchange::new(&apex, ask, 0x1234, key, NOW);
    let source = "127.0.0.1".parse().unwrap();
    if *ask == Ask::Soa {
        // A query, not a transfer: the answer path answers it (through
        // the primary when signed, which signs the answer).
        let config = candor_answer::Config {
            max_udp_payload: 1232,
            nsid: None,
            aliases: SharedAliases::default(),
            cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new([7; 16], None)),
        };
        let tcp = candor_answer::Transport::Tcp;
        let reply = match key {
            Some(_) => match p
                .handle_signed(ex.message(), source, &config, tcp, NOW)
                .reply
            {
                Reply::Message(m) => m,
                _ => panic!("no answer"),
            },
            None => {
                let mut buf = vec![0u8; 65535];
                let request = candor_answer::Request {
                    msg: ex.message(),
                    transport: tcp,
                    client: source,
                    now: NOW as u32,
                };
                let len = candor_answer::respond(&set.load(), &config, &request, &mut buf)
                    .expect("an answer")
                    .len;
                buf.truncate(len);
                buf
            }
        };
        return match ex.on_message(&reply, NOW)? {
            Progress::Done(r) => Ok(r),
            Progress::More => panic!("an SOA answer is one message"),
        };
    }
    let handled = p.handle(ex.message(), source, Transport::Tcp, NOW);
    let mut buf = vec![0u8; 65535];
    let mut messages = Vec::new();
    match handled.reply {
        Reply::Message(m) => messages.push(m),
        Reply::Transfer(mut t) => {
            while let Some(len) = t.next_message(&mut buf, NOW) {
                messages.push(buf[..len].to_vec());
            }
        }
        Reply::Drop => panic!("dropped"),
    }
    for m in messages {
        if let Progress::Done(r) = ex.on_message(&m, NOW)? {
            return Ok(r);
        }
    }
    panic!("the answer did not end")
}

/// A key.
fn key(secret: &[u8]) -> Arc<Key> {
    let name = Name::from_text("xfr.key.", None).unwrap();
    Arc::new(Key::new(&name, Algorithm::HmacSha256, secret.to_vec()))
}

/// AXFR, then IXFRs over one and over several versions, unsigned and
/// signed: applying what arrived gives the primary's zone exactly.
#[test]
fn transfers_from_candor_rebuild_the_primarys_zone() {
    let signing = key(b"0123456789abcdef0123456789abcdef");
    for key in [None, Some(&signing)] {
        let v1 = zone(
            1,
            "www A 192.0.2.1\nold TXT \"bye\"\nmail MX 10 mail\nmail A 192.0.2.25\n",
        );
        let (p, set) = primary(v1.clone(), key.map(|k| &**k));
        let Received::Full { soa, records } = exchange((&p, &set), &Ask::Axfr, key).unwrap() else {
            panic!("not full")
        };
        assert_eq!(soa.serial, 1);
        let held = Arc::new(build_full(v1.apex(), &records).unwrap());
        assert_eq!(lines(&held), lines(&v1));

        let v2 = zone(
            2,
            "www A 192.0.2.2\nmail MX 10 mail\nmail A 192.0.2.25\nnew AAAA ::1\n",
        );
        let v3 = zone(
            3,
            "www 60 A 192.0.2.2\nmail MX 20 mail\nmail A 192.0.2.25\nnew AAAA ::1\n",
        );
        publish(&p, &set, v2.clone());
        let ixfr = Ask::Ixfr(soa_record(&held).unwrap());
        let Received::Incremental {
            soa,
            soa_record: s,
            steps,
        } = exchange((&p, &set), &ixfr, key).unwrap()
        else {
            panic!("not incremental")
        };
        assert_eq!((soa.serial, steps.len()), (2, 1));
        let at2 = apply_steps(&held, &steps, &s).unwrap();
        assert_eq!(lines(&at2), lines(&v2));
        // Patched, not recompiled: the same zone.
        let patched = apply_steps_patched(&held, &steps, &s).unwrap();
        assert!(patched.overlay_names() > 0);
        assert_eq!(lines(&patched), lines(&v2));

        // From version 1 across two steps.
        publish(&p, &set, v3.clone());
        let Received::Incremental {
            soa_record: s,
            steps,
            ..
        } = exchange((&p, &set), &ixfr, key).unwrap()
        else {
            panic!("not incremental")
        };
        assert_eq!(
            steps.iter().map(|s| (s.from, s.to)).collect::<Vec<_>>(),
            [(1, 2), (2, 3)]
        );
        assert_eq!(lines(&apply_steps(&held, &steps, &s).unwrap()), lines(&v3));
        let patched = apply_steps_patched(&held, &steps, &s).unwrap();
        assert!(patched.overlay_names() > 0);
        assert_eq!(lines(&patched), lines(&v3));

        // Up to date: the SOA alone.
        let current = Ask::Ixfr(soa_record(&v3).unwrap());
        let got = exchange((&p, &set), &current, key).unwrap();
        assert!(
            matches!(got, Received::Soa(Soa { serial: 3, .. })),
            "{got:?}"
        );
        // An SOA query.
        let got = exchange((&p, &set), &Ask::Soa, key).unwrap();
        assert_eq!(
            got,
            Received::Soa(Soa {
                serial: 3,
                refresh: 2,
                retry: 1,
                expire: 10
            })
        );
    }
}

/// An answer signed with another secret, or not signed at all when a key
/// is used, is refused; a primary that does not know the key says so.
#[test]
fn answers_must_verify_with_the_key() {
    let good = key(b"0123456789abcdef0123456789abcdef");
    let other = key(b"another secret, not the primary's");
    let v1 = zone(1, "www A 192.0.2.1\n");
    let (p, set) = primary(v1, Some(&good));
    let err = exchange((&p, &set), &Ask::Axfr, Some(&other)).unwrap_err();
    assert_eq!(
        err,
        ClientError::Tsig(ResponseError::Error(crate::tsig::BADSIG))
    );
    assert!(err.to_string().contains("BADSIG"), "{err}");
    // Unsigned request: the ACL wants the key, so NOTAUTH.
    assert_eq!(
        exchange((&p, &set), &Ask::Axfr, None).unwrap_err(),
        ClientError::Rcode(Rcode::NOTAUTH)
    );
}

/// Builds a response message to request ID 7 for `sec.test.` `qtype`,
/// with `answer` records (owner, type, RDATA).
fn response(qtype: Rtype, question: bool, answer: &[(&str, Rtype, Vec<u8>)]) -> Vec<u8> {
    let mut m = Vec::new();
    let qd = u16::from(question);
    for w in [7u16, Header::QR | Header::AA, qd, answer.len() as u16, 0, 0] {
        m.extend_from_slice(&w.to_be_bytes());
    }
    let apex = Name::from_text("sec.test.", None).unwrap();
    if question {
        m.extend_from_slice(apex.as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
    }
    for (owner, rtype, rdata) in answer {
        m.extend_from_slice(Name::from_text(owner, None).unwrap().as_wire());
        m.extend_from_slice(&rtype.0.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&300u32.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }
    m
}

/// SOA RDATA with `serial`.
fn soa(serial: u32) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(Name::from_text("ns.sec.test.", None).unwrap().as_wire());
    r.extend_from_slice(Name::from_text("h.sec.test.", None).unwrap().as_wire());
    for w in [serial, 2, 1, 10, 60] {
        r.extend_from_slice(&w.to_be_bytes());
    }
    r
}

/// Broken answers are refused with the reason; nothing panics.
#[test]
fn broken_answers_are_refused() {
    let apex = Name::from_text("sec.test.", None).unwrap();
    let held = OwnedRecord {
        owner: apex.as_wire().into(),
        rtype: Rtype::SOA,
        ttl: 300,
        rdata: soa(1).into(),
    };
    let a = vec![192, 0, 2, 1];
    let cases: Vec<(Ask, Vec<Vec<u8>>, ClientError)> = vec![
        (
            Ask::Axfr,
            vec![response(
                Rtype::AXFR,
                true,
                &[("www.sec.test.", Rtype::A, a.clone())],
            )],
            ClientError::Protocol("the first record is not the SOA"),
        ),
        (
            Ask::Axfr,
            vec![response(
                Rtype::SOA,
                true,
                &[("sec.test.", Rtype::SOA, soa(2))],
            )],
            ClientError::Malformed("the question is not the request's"),
        ),
        (
            Ask::Axfr,
            vec![response(
                Rtype::AXFR,
                true,
                &[("sec.test.", Rtype::SOA, vec![0, 0])],
            )],
            ClientError::Protocol("malformed SOA"),
        ),
        (
            Ask::Axfr,
            vec![response(
                Rtype::AXFR,
                true,
                &[("www.sec.test.", Rtype::SOA, soa(2))],
            )],
            ClientError::Protocol("an SOA record not at the apex"),
        ),
        (
            Ask::Ixfr(held.clone()),
            vec![response(
                Rtype::IXFR,
                true,
                &[
                    ("sec.test.", Rtype::SOA, soa(3)),
                    ("sec.test.", Rtype::SOA, soa(1)),
                    ("sec.test.", Rtype::SOA, soa(2)),
                    ("sec.test.", Rtype::SOA, soa(5)),
                ],
            )],
            ClientError::Protocol("an IXFR step does not start where the last ended"),
        ),
        (
            Ask::Soa,
            vec![vec![0; 5]],
            ClientError::Malformed("cannot be decoded"),
        ),
        (
            Ask::Soa,
            vec![response(
                Rtype::SOA,
                true,
                &[("www.sec.test.", Rtype::A, a.clone())],
            )],
            ClientError::Protocol("no SOA record in the answer"),
        ),
    ];
    for (ask, messages, want) in cases {
        let mut ex = Exchange::new(&apex, &ask, 7, None, NOW);
        let mut got = None;
        for m in &messages {
            match ex.on_message(m, NOW) {
                Ok(_) => {}
                Err(e) => {
                    got = Some(e);
                    break;
                }
            }
        }
        assert_eq!(got.as_ref(), Some(&want), "{ask:?}");
    }
    // Another ID.
    let mut ex = Exchange::new(&apex, &Ask::Soa, 8, None, NOW);
    let m = response(Rtype::SOA, true, &[("sec.test.", Rtype::SOA, soa(2))]);
    assert_eq!(
        ex.on_message(&m, NOW),
        Err(ClientError::Malformed("not an answer to the request"))
    );
    // Private types are dropped from a whole zone.
    let mut ex = Exchange::new(&apex, &Ask::Axfr, 7, None, NOW);
    let m = response(
        Rtype::AXFR,
        true,
        &[
            ("sec.test.", Rtype::SOA, soa(2)),
            ("sec.test.", Rtype(65304), apex.as_wire().to_vec()),
            ("www.sec.test.", Rtype::A, a),
            ("sec.test.", Rtype::SOA, soa(2)),
        ],
    );
    let Ok(Progress::Done(Received::Full { records, .. })) = ex.on_message(&m, NOW) else {
        panic!("not a whole zone")
    };
    assert_eq!(
        records.iter().map(|r| r.rtype).collect::<Vec<_>>(),
        [Rtype::SOA, Rtype::A]
    );
}

/// An IXFR that starts elsewhere, or deletes what is not there, is not
/// applied.
#[test]
fn ixfr_that_does_not_fit_is_not_applied() {
    let v1 = zone(1, "www A 192.0.2.1\n");
    let apex = v1.apex().clone();
    let soa_rec = OwnedRecord {
        owner: apex.as_wire().into(),
        rtype: Rtype::SOA,
        ttl: 300,
        rdata: soa(3).into(),
    };
    let step = |from, removed: Vec<OwnedRecord>| Step {
        from,
        to: 3,
        removed,
        added: Vec::new(),
    };
    assert_eq!(
        apply_steps(&v1, &[step(2, vec![])], &soa_rec).map(|_| ()),
        Err(ApplyError::NotFromHeld { held: 1, from: 2 })
    );
    let ghost = OwnedRecord {
        owner: Name::from_text("ghost.sec.test.", None)
            .unwrap()
            .as_wire()
            .into(),
        rtype: Rtype::A,
        ttl: 300,
        rdata: vec![192, 0, 2, 9].into(),
    };
    let err = apply_steps(&v1, &[step(1, vec![ghost])], &soa_rec)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the IXFR deletes a record the zone does not have: ghost.sec.test. A"
    );
}

/// Answers with flipped bits and random bytes never make the reader or
/// the applying panic (a seeded stand-in for the `xfr_response` fuzz
/// target, run with every `cargo test`).
#[test]
fn mangled_answers_never_panic() {
    let v1 = zone(1, "www A 192.0.2.1\nmail MX 10 mail\nmail A 192.0.2.25\n");
    let v2 = zone(2, "www A 192.0.2.2\nmail MX 10 mail\nnew TXT \"x\"\n");
    let (p, set) = primary(v1.clone(), None);
    publish(&p, &set, v2);
    let apex = Name::from_text("sec.test.", None).unwrap();
    let source = "127.0.0.1".parse().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for ask in [Ask::Axfr, Ask::Ixfr(soa_record(&v1).unwrap())] {
        let ex = Exchange::new(&apex, &ask, 0x1234, None, NOW);
        let Reply::Transfer(mut t) = p.handle(ex.message(), source, Transport::Tcp, NOW).reply
        else {
            panic!("no transfer")
        };
        let mut buf = vec![0u8; 65535];
        let len = t.next_message(&mut buf, NOW).unwrap();
        let good = buf[..len].to_vec();
        for round in 0..3000 {
            let mut m = good.clone();
            if round % 10 == 9 {
                m = (0..(next() % 300) as usize).map(|_| next() as u8).collect();
            } else {
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % m.len();
                    m[i] ^= 1 << (next() % 8);
                }
            }
            let mut ex = Exchange::new(&apex, &ask, 0x1234, None, NOW);
            if let Ok(Progress::Done(received)) = ex.on_message(&m, NOW) {
                match received {
                    Received::Full { records, .. } => {
                        let _ = build_full(&apex, &records);
                    }
                    Received::Incremental {
                        soa_record, steps, ..
                    } => {
                        let plain = apply_steps(&v1, &steps, &soa_record).map(|z| lines(&z));
                        let patched =
                            apply_steps_patched(&v1, &steps, &soa_record).map(|z| lines(&z));
                        if let Ok(plain) = plain {
                            assert_eq!(patched.ok(), Some(plain));
                        }
                    }
                    Received::Soa(_) => {}
                }
            }
        }
    }
}

/// Private types from a primary that does not send the Candor view (no
/// option in its answer) are dropped wherever they come, the first record
/// of an AXFR-style IXFR answer included, even when the Candor view was
/// asked for.
#[test]
fn private_types_without_the_candor_view_are_dropped() {
    let apex = Name::from_text("sec.test.", None).unwrap();
    let held = OwnedRecord {
        owner: apex.as_wire().into(),
        rtype: Rtype::SOA,
        ttl: 300,
        rdata: soa(1).into(),
    };
    let alias = Name::from_text("www.sec.test.", None)
        .unwrap()
        .as_wire()
        .to_vec();
    let records = [
        ("sec.test.", Rtype::SOA, soa(2)),
        ("flat.sec.test.", candor_zone::ALIAS, alias.clone()),
        ("pool.sec.test.", candor_zone::POOL, alias),
        ("www.sec.test.", Rtype::A, vec![192, 0, 2, 1]),
        ("sec.test.", Rtype::SOA, soa(2)),
    ];
    for ask in [Ask::Axfr, Ask::Ixfr(held.clone())] {
        let qtype = match ask {
            Ask::Axfr => Rtype::AXFR,
            _ => Rtype::IXFR,
        };
        let mut ex = Exchange::candor_view(&apex, &ask, 7, None, NOW);
        let answer = response(qtype, true, &records);
        let Ok(Progress::Done(Received::Full { records, .. })) = ex.on_message(&answer, NOW) else {
            panic!("{ask:?}: not a whole zone");
        };
        let types: Vec<Rtype> = records.iter().map(|r| r.rtype).collect();
        assert_eq!(types, [Rtype::SOA, Rtype::A], "{ask:?}");
    }
}
