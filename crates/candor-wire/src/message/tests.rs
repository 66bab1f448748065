//! Tests for query parsing and response building.

use super::*;
use crate::Name;

/// Builds a query for `name`/`qtype` with optional EDNS (size, version),
/// the DO bit set.
fn query(name: &str, qtype: Rtype, edns: Option<(u16, u8)>) -> Vec<u8> {
    let spec = QuerySpec {
        id: 0x1234,
        recursion_desired: true,
        edns_udp_size: edns.map(|e| e.0),
    };
    let mut q = query_message(spec, &Name::from_text(name, None).unwrap(), qtype);
    if let Some((_, version)) = edns {
        let n = q.len();
        q[n - 5] = version;
        q[n - 4] = 0x80;
    }
    q
}

#[test]
fn builds_the_query_it_parses() {
    let msg = query("a.example.", Rtype::AAAA, Some((1232, 0)));
    let q = parse_query(&msg).unwrap();
    assert_eq!(
        (q.header.id, q.header.flags, q.qtype),
        (0x1234, Header::RD, Rtype::AAAA)
    );
    assert_eq!(
        q.edns.map(|e| (e.udp_size, e.dnssec_ok)),
        Some((1232, true))
    );
}

#[test]
fn parses_a_plain_query() {
    let msg = query("WWW.Example.", Rtype::A, None);
    let q = parse_query(&msg).unwrap();
    assert_eq!(q.header.id, 0x1234);
    assert_eq!(q.qname, b"\x03WWW\x07Example\x00");
    assert_eq!(q.qtype, Rtype::A);
    assert_eq!(q.qclass, Class::IN);
    assert!(q.edns.is_none());
}

#[test]
fn parses_edns() {
    let msg = query("example.", Rtype::MX, Some((1232, 0)));
    let q = parse_query(&msg).unwrap();
    let e = q.edns.unwrap();
    assert_eq!(
        (e.udp_size, e.version, e.dnssec_ok, e.nsid),
        (1232, 0, true, false)
    );
}

#[test]
fn rejects_malformed_queries() {
    assert_eq!(parse_query(&[0; 5]).unwrap_err(), QueryError::Drop);
    let mut response = query("example.", Rtype::A, None);
    response[2] |= 0x80;
    assert_eq!(parse_query(&response).unwrap_err(), QueryError::Drop);
    let formerr =
        |msg: &[u8]| matches!(parse_query(msg), Err(QueryError::Reject(_, Rcode::FORMERR)));
    let truncated = query("example.", Rtype::A, None);
    assert!(formerr(&truncated[..truncated.len() - 1]));
    let mut two_questions = query("example.", Rtype::A, None);
    two_questions[5] = 2;
    assert!(formerr(&two_questions));
    let mut pointer = query("example.", Rtype::A, None);
    pointer[12] = 0xc0;
    assert!(formerr(&pointer));
    let mut bad_opt = query("example.", Rtype::A, Some((4096, 0)));
    let n = bad_opt.len();
    bad_opt[n - 2] = 9; // RDLENGTH beyond the end.
    assert!(formerr(&bad_opt));
}

/// A record in wire form, the owner uncompressed.
fn record(owner: &str, rtype: Rtype, rdata: &[u8]) -> Vec<u8> {
    let mut r = Name::from_text(owner, None).unwrap().as_wire().to_vec();
    r.extend_from_slice(&rtype.0.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// An OPT record with the DO bit, of EDNS `version`, with `options`.
fn opt(version: u8, options: &[u8]) -> Vec<u8> {
    let mut r = vec![0, 0, 41, 0x04, 0xd0, 0, version, 0x80, 0];
    r.extend_from_slice(&(options.len() as u16).to_be_bytes());
    r.extend_from_slice(options);
    r
}

/// A message with `opcode`, the question if any, and the records of the
/// answer, authority and additional sections, counted in the header.
fn message(opcode: u8, question: Option<(&str, Rtype)>, sections: [Vec<Vec<u8>>; 3]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, opcode << 3, 0];
    m.extend_from_slice(&u16::from(question.is_some()).to_be_bytes());
    for section in &sections {
        m.extend_from_slice(&(section.len() as u16).to_be_bytes());
    }
    if let Some((name, qtype)) = question {
        m.extend_from_slice(Name::from_text(name, None).unwrap().as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
    }
    for r in sections.iter().flat_map(|s| s.iter()) {
        m.extend_from_slice(r);
    }
    m
}

/// What `parse_query` makes of a message, in a few words: the request
/// kind, or the rcode and what the error response can repeat.
fn outcome(msg: &[u8]) -> String {
    // A cookie, when there is one: the server cookie's length.
    let cookie = |edns: Option<crate::Edns<'_>>| match edns.and_then(|e| e.cookie) {
        Some(c) => format!(" +cookie {}", c.server.len()),
        None => String::new(),
    };
    match parse_query(msg) {
        Ok(q) => format!("{:?}{}", q.kind, cookie(q.edns)),
        Err(QueryError::Drop) => "drop".to_owned(),
        Err(QueryError::CookieOnly(echo)) => format!("cookie only{}", cookie(echo.edns)),
        Err(QueryError::Reject(echo, rcode)) => format!(
            "{rcode}{}{}{}",
            if echo.question.is_empty() {
                ""
            } else {
                " +question"
            },
            match echo.edns {
                Some(e) => format!(" +opt v{} do={}", e.version, e.dnssec_ok),
                None => String::new(),
            },
            cookie(echo.edns),
        ),
    }
}

#[test]
fn each_request_kind_may_carry_its_own_records() {
    let soa = record("example.", Rtype::SOA, &[0; 22]);
    let a = record("www.example.", Rtype::A, &[192, 0, 2, 1]);
    let q = |qtype| Some(("example.", qtype));
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "query",
            message(0, q(Rtype::A), [vec![], vec![], vec![]]),
            "Query",
        ),
        (
            "axfr",
            message(0, q(Rtype::AXFR), [vec![], vec![], vec![]]),
            "Axfr",
        ),
        (
            "ixfr with the client's SOA in authority",
            message(
                0,
                q(Rtype::IXFR),
                [vec![], vec![soa.clone()], vec![opt(0, &[])]],
            ),
            "Ixfr",
        ),
        (
            "notify with the new SOA in answer",
            message(4, q(Rtype::SOA), [vec![soa.clone()], vec![], vec![]]),
            "Notify",
        ),
        (
            "update with prerequisites and updates",
            message(
                5,
                q(Rtype::SOA),
                [vec![a.clone()], vec![a.clone(), a.clone()], vec![]],
            ),
            "Update",
        ),
        (
            "query with an authority record",
            message(0, q(Rtype::A), [vec![], vec![a.clone()], vec![]]),
            "FORMERR +question",
        ),
        (
            "query with an answer record",
            message(0, q(Rtype::A), [vec![a.clone()], vec![], vec![opt(0, &[])]]),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "axfr with an authority record",
            message(0, q(Rtype::AXFR), [vec![], vec![soa.clone()], vec![]]),
            "FORMERR +question",
        ),
        (
            "ixfr with its SOA in answer",
            message(0, q(Rtype::IXFR), [vec![soa.clone()], vec![], vec![]]),
            "FORMERR +question",
        ),
        (
            "status, with records",
            message(2, q(Rtype::A), [vec![a.clone()], vec![], vec![opt(0, &[])]]),
            "NOTIMP +question +opt v0 do=true",
        ),
        (
            "dso, without a question (RFC 8490 §5.4)",
            message(6, None, [vec![], vec![], vec![opt(0, &[])]]),
            "NOTIMP +opt v0 do=true",
        ),
    ];
    for (what, msg, expected) in cases {
        assert_eq!(outcome(msg), *expected, "{what}");
    }
}

#[test]
fn every_record_is_read_and_the_opt_kept_for_the_error() {
    let soa = record("example.", Rtype::SOA, &[0; 22]);
    let q = Some(("example.", Rtype::A));
    let with_count = |mut m: Vec<u8>, at: usize, count: u8| {
        m[at] = count;
        m
    };
    let mut owned_opt = vec![1, b'x'];
    owned_opt.extend_from_slice(&opt(0, &[]));
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "no question",
            message(0, None, [vec![], vec![], vec![opt(0, &[])]]),
            "FORMERR +opt v0 do=true",
        ),
        (
            "no question, EDNS version 1",
            message(0, None, [vec![], vec![], vec![opt(1, &[])]]),
            "BADVERS +opt v1 do=true",
        ),
        (
            "query, EDNS version 1",
            message(0, q, [vec![], vec![], vec![opt(1, &[])]]),
            "BADVERS +question +opt v1 do=true",
        ),
        (
            "two questions",
            with_count(message(0, q, [vec![], vec![], vec![opt(0, &[])]]), 5, 2),
            "FORMERR",
        ),
        (
            "ARCOUNT one too many after the OPT",
            with_count(message(0, q, [vec![], vec![], vec![opt(0, &[])]]), 11, 2),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "the same, EDNS version 1",
            with_count(message(0, q, [vec![], vec![], vec![opt(1, &[])]]), 11, 2),
            "FORMERR +question +opt v1 do=true",
        ),
        (
            "NSCOUNT one too many: the OPT is read as authority",
            with_count(
                message(0, q, [vec![], vec![soa.clone()], vec![opt(0, &[])]]),
                9,
                2,
            ),
            "FORMERR +question",
        ),
        (
            "two OPT records",
            message(0, q, [vec![], vec![], vec![opt(0, &[]), opt(0, &[])]]),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "an option running past the OPT",
            message(0, q, [vec![], vec![], vec![opt(0, &[0, 3, 0, 9])]]),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "an OPT not owned by the root",
            message(0, q, [vec![], vec![], vec![owned_opt]]),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "a TSIG after the OPT",
            message(
                0,
                q,
                [
                    vec![],
                    vec![],
                    vec![opt(0, &[]), record("k.", Rtype::TSIG, &[])],
                ],
            ),
            "Query",
        ),
    ];
    for (what, msg, expected) in cases {
        assert_eq!(outcome(msg), *expected, "{what}");
    }
}

/// Parses a name at `off` in `msg`, following pointers, into text.
fn read_name(msg: &[u8], mut off: usize) -> String {
    let mut out = String::new();
    loop {
        let len = msg[off] as usize;
        if len >= 0xc0 {
            off = (u16::from_be_bytes([msg[off], msg[off + 1]]) & 0x3fff) as usize;
            continue;
        }
        if len == 0 {
            return if out.is_empty() { ".".into() } else { out };
        }
        out.push_str(std::str::from_utf8(&msg[off + 1..off + 1 + len]).unwrap());
        out.push('.');
        off += 1 + len;
    }
}

/// One RR tail: TYPE CLASS TTL RDLENGTH RDATA.
fn tail(rtype: Rtype, rdata: &[u8]) -> Vec<u8> {
    let mut t = rtype.0.to_be_bytes().to_vec();
    t.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
    t.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    t.extend_from_slice(rdata);
    t
}

#[test]
fn compresses_rdata_names_against_the_question() {
    let msg = query("example.", Rtype::MX, None);
    let q = parse_query(&msg).unwrap();
    let mut buf = [0u8; 512];
    let mut b = MessageBuilder::new(&mut buf, &q.header, q.question, 512).unwrap();
    let mut rdata = vec![0, 10];
    rdata.extend_from_slice(Name::from_text("mail.example.", None).unwrap().as_wire());
    let mut tails = tail(Rtype::MX, &rdata);
    tails.extend(tail(Rtype::MX, &rdata));
    b.push_rrset(Owner::Qname, &tails, 2).unwrap();
    b.set_section(Section::Additional);
    let other = Name::from_text("x.mail.example.", None).unwrap();
    b.push_rrset(
        Owner::Name(other.as_wire()),
        &tail(Rtype::A, &[1, 2, 3, 4]),
        1,
    )
    .unwrap();
    let len = b.finish();
    let out = &buf[..len];
    // Header + question (13 bytes) + 2 MX (2+10+2+5+2, then 2+10+2+2) + A (3+x + 2 + 14).
    assert_eq!(len, 12 + 13 + 21 + 16 + 18);
    assert_eq!(&out[6..8], &[0, 2]);
    assert_eq!(&out[10..12], &[0, 1]);
    let first_mx_target = 12 + 13 + 2 + 10 + 2;
    assert_eq!(read_name(out, first_mx_target), "mail.example.");
    assert_eq!(read_name(out, 12 + 13 + 21 + 16), "x.mail.example.");
}

#[test]
fn truncation_rolls_back_the_whole_rrset() {
    let msg = query("example.", Rtype::TXT, None);
    let q = parse_query(&msg).unwrap();
    let mut buf = [0u8; 512];
    let mut b = MessageBuilder::new(&mut buf, &q.header, q.question, 100).unwrap();
    let mut tails = tail(Rtype::TXT, &[40; 41]);
    tails.extend(tail(Rtype::TXT, &[40; 41]));
    assert_eq!(b.push_rrset(Owner::Qname, &tails, 2), Err(TruncationError));
    assert_eq!(b.count(Section::Answer), 0);
    assert_eq!(b.len(), 12 + 13);
    b.push_rrset(Owner::Qname, &tails[..51], 1).unwrap();
    assert_eq!(b.count(Section::Answer), 1);
}

/// Names in RDATA are compressed for the types Knot compresses (NS, CNAME,
/// SOA, PTR, MINFO, MX) and for no other (RFC 3597 §4): each case is a
/// type, RDATA before, between and after its names, and whether they shrink.
#[test]
fn compresses_rdata_names_of_rfc_1035_types_only() {
    let names: &[u8] = b"\x01a\x07example\x00";
    let cases: &[(Rtype, &[u8], usize, bool)] = &[
        (Rtype::NS, &[], 1, true),
        (Rtype::CNAME, &[], 1, true),
        (Rtype::PTR, &[], 1, true),
        (Rtype::MX, &[0, 10], 1, true),
        (Rtype::MINFO, &[], 2, true),
        (Rtype::SOA, &[], 2, true),
        (Rtype::DNAME, &[], 1, false),
        (Rtype::RP, &[], 2, false),
        (Rtype::AFSDB, &[0, 1], 1, false),
        (Rtype::RT, &[0, 10], 1, false),
        (Rtype::KX, &[0, 10], 1, false),
        (Rtype::LP, &[0, 10], 1, false),
        (Rtype::SRV, &[0, 1, 0, 2, 0, 3], 1, false),
        (Rtype(7), &[], 1, false),
    ];
    let mut failures = String::new();
    for &(rtype, fixed, count, compressed) in cases {
        let msg = query("example.", rtype, None);
        let q = parse_query(&msg).unwrap();
        let mut buf = [0u8; 512];
        let mut b = MessageBuilder::new(&mut buf, &q.header, q.question, 512).unwrap();
        let mut rdata = fixed.to_vec();
        for _ in 0..count {
            rdata.extend_from_slice(names);
        }
        if rtype == Rtype::SOA {
            rdata.extend_from_slice(&[0; 20]);
        }
        b.push_rrset(Owner::Qname, &tail(rtype, &rdata), 1).unwrap();
        let len = b.finish();
        // Header, question (13 bytes), owner pointer, type to RDLENGTH.
        let rdlen = u16::from_be_bytes([buf[12 + 13 + 10], buf[12 + 13 + 11]]);
        let shrunk = usize::from(rdlen) < rdata.len();
        if shrunk != compressed || len != 12 + 13 + 12 + usize::from(rdlen) {
            failures.push_str(&format!("{rtype}: RDLENGTH {rdlen} of {}\n", rdata.len()));
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

/// A COOKIE option with `len` bytes of data (client cookie first).
fn cookie_option(len: u16) -> Vec<u8> {
    let mut o = vec![0, 10];
    o.extend_from_slice(&len.to_be_bytes());
    o.extend((0..len).map(|i| i as u8));
    o
}

/// COOKIE options of every length RFC 7873 allows and forbids, several in one
/// OPT, and queries for a cookie alone (§5.4).
#[test]
fn cookie_options() {
    let q = Some(("example.", Rtype::A));
    let with_options = |options: &[u8]| message(0, q, [vec![], vec![], vec![opt(0, options)]]);
    let nsid = [0, 3, 0, 0];
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "a client cookie",
            with_options(&cookie_option(8)),
            "Query +cookie 0",
        ),
        (
            "client and server cookie, shortest",
            with_options(&cookie_option(16)),
            "Query +cookie 8",
        ),
        (
            "client and an RFC 9018 server cookie",
            with_options(&cookie_option(24)),
            "Query +cookie 16",
        ),
        (
            "client and server cookie, longest",
            with_options(&cookie_option(40)),
            "Query +cookie 32",
        ),
        (
            "after NSID",
            with_options(&[&nsid[..], &cookie_option(8)].concat()),
            "Query +cookie 0",
        ),
        // RFC 7873 §5.2.2: too short for a client cookie, between a client
        // cookie alone and the shortest pair, or too long: FORMERR.
        (
            "empty",
            with_options(&cookie_option(0)),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "7 bytes",
            with_options(&cookie_option(7)),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "9 bytes",
            with_options(&cookie_option(9)),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "15 bytes",
            with_options(&cookie_option(15)),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "41 bytes",
            with_options(&cookie_option(41)),
            "FORMERR +question +opt v0 do=true",
        ),
        (
            "a broken second COOKIE is ignored (RFC 7873 §5.2)",
            with_options(&[cookie_option(8), cookie_option(3)].concat()),
            "Query +cookie 0",
        ),
        (
            "the first COOKIE counts",
            with_options(&[cookie_option(24), cookie_option(8)].concat()),
            "Query +cookie 16",
        ),
        (
            "a cookie running past the OPT",
            with_options(&cookie_option(24)[..20]),
            "FORMERR +question +opt v0 do=true",
        ),
        // RFC 7873 §5.4: no question, asking for a cookie.
        (
            "no question, a cookie",
            message(0, None, [vec![], vec![], vec![opt(0, &cookie_option(8))]]),
            "cookie only +cookie 0",
        ),
        (
            "no question, a cookie with a server cookie",
            message(0, None, [vec![], vec![], vec![opt(0, &cookie_option(24))]]),
            "cookie only +cookie 16",
        ),
        (
            "no question, no cookie",
            message(0, None, [vec![], vec![], vec![opt(0, &nsid)]]),
            "FORMERR +opt v0 do=true",
        ),
        (
            "no question, a malformed cookie",
            message(0, None, [vec![], vec![], vec![opt(0, &cookie_option(12))]]),
            "FORMERR +opt v0 do=true",
        ),
        (
            "no question, a cookie, EDNS version 1",
            message(0, None, [vec![], vec![], vec![opt(1, &cookie_option(8))]]),
            "BADVERS +opt v1 do=true +cookie 0",
        ),
        (
            "no question but an answer record, a cookie",
            message(
                0,
                None,
                [
                    vec![record("example.", Rtype::A, &[192, 0, 2, 1])],
                    vec![],
                    vec![opt(0, &cookie_option(8))],
                ],
            ),
            "FORMERR +opt v0 do=true +cookie 0",
        ),
        (
            "NOTIFY without a question, a cookie",
            message(4, None, [vec![], vec![], vec![opt(0, &cookie_option(8))]]),
            "FORMERR +opt v0 do=true +cookie 0",
        ),
    ];
    for (what, msg, expected) in cases {
        assert_eq!(outcome(msg), *expected, "{what}");
    }
}

/// `push_rrset_with_sigs_at` writes what `push_rrset` twice writes when
/// told where the owner's longest known suffix is: below the apex of a
/// QNAME (labels + pointer), the apex itself, the QNAME; it falls back to
/// `push_rrset` for RDATA with names to compress; and at every size limit
/// it keeps exactly what `push_rrset` keeps (whole RRsets or nothing).
#[test]
fn rrset_with_sigs_at_a_known_suffix_is_what_push_rrset_writes() {
    let wire = |t: &str| Name::from_text(t, None).unwrap().as_wire().to_vec();
    let qname = "random.flood.example.";
    let msg = query(qname, Rtype::A, None);
    let q = parse_query(&msg).unwrap();
    let apex_at = 12 + 7; // "random." is 7 bytes.
    let nsec = {
        let mut t = tail(Rtype::NSEC, &wire("zz.flood.example."));
        t.extend(tail(Rtype::NSEC, &[0, 1, 0x40]));
        t
    };
    let mut sigs = tail(Rtype::RRSIG, &[7; 90]);
    sigs.extend(tail(Rtype::RRSIG, &[8; 90]));
    let cases: [(&str, usize, u16, &[u8], u16); 4] = [
        ("a.b.flood.example.", 4, apex_at, &nsec, 2),
        ("flood.example.", 0, apex_at, &nsec, 2),
        (qname, 0, 12, &nsec, 2),
        // An NS RRset has names to compress: push_rrset's way.
        (
            "a.b.flood.example.",
            4,
            apex_at,
            &tail(Rtype::NS, &wire("ns.flood.example.")),
            1,
        ),
    ];
    for (owner, prefix, at, tails, count) in cases {
        let owner = wire(owner);
        for limit in (12 + q.question.len()..=512).step_by(3) {
            let (mut one, mut two) = ([0u8; 512], [0u8; 512]);
            let mut a = MessageBuilder::new(&mut one, &q.header, q.question, limit).unwrap();
            let mut b = MessageBuilder::new(&mut two, &q.header, q.question, limit).unwrap();
            let ra = a.push_rrset_with_sigs_at(&owner, prefix, at, (tails, count), (&sigs, 2));
            let rb = b
                .push_rrset(Owner::Name(&owner), tails, count)
                .and_then(|()| b.push_rrset(Owner::Name(&owner), &sigs, 2));
            assert_eq!(ra, rb, "{owner:?} at {limit}");
            // What follows compresses against the same table.
            let next = wire("x.b.flood.example.");
            let na = a.push_rrset(Owner::Name(&next), &tail(Rtype::A, &[1, 2, 3, 4]), 1);
            let nb = b.push_rrset(Owner::Name(&next), &tail(Rtype::A, &[1, 2, 3, 4]), 1);
            assert_eq!(na, nb);
            let (la, lb) = (a.finish(), b.finish());
            assert_eq!(one[..la], two[..lb], "{owner:?} at {limit}");
        }
    }
}

/// `push_prerendered` writes what the records' `push_rrset`s write, or
/// nothing: for SOAs whose names are below the apex (sharing a child of
/// it or not), the apex itself, outside it, or inside each other; for
/// QNAMEs that share those children or not, in any case, with more
/// labels than the compression table holds; at every size limit; and
/// what follows compresses against the same table. It must also copy in
/// the usual cases (a flood's QNAME), or it would save nothing.
#[test]
fn prerendered_blocks_are_what_push_rrset_writes() {
    let wire = |t: &str| Name::from_text(t, None).unwrap().as_wire().to_vec();
    let apex = wire("flood.example.");
    let soas = [
        ("ns1.flood.example.", "hostmaster.flood.example."),
        ("ns1.flood.example.", "h.ns1.flood.example."),
        ("flood.example.", "a.b.flood.example."),
        ("ns.other.test.", "hostmaster.example."),
        ("a.b.c.d.e.f.flood.example.", "x.d.e.f.flood.example."),
    ];
    let long = format!("{}flood.example.", "a.".repeat(50));
    // Room in the table for one, two, three of the SOA's names.
    let tight: Vec<String> = (43..=46)
        .map(|n| format!("{}flood.example.", "a.".repeat(n)))
        .collect();
    let qnames = [
        "flood.example.",
        "random.flood.example.",
        "RanDom.Flood.EXAMPLE.",
        "ns1.flood.example.",
        "NS1.flood.example.",
        "x.ns1.flood.example.",
        "x.hostmaster.FLOOD.example.",
        "b.flood.example.",
        "q.b.flood.example.",
        "f.flood.example.",
        "ns.flood.example.",
        &long,
        &tight[0],
        &tight[1],
        &tight[2],
        &tight[3],
    ];
    let sigs = {
        let mut t = tail(Rtype::RRSIG, &[7; 90]);
        t.extend(tail(Rtype::RRSIG, &[8; 90]));
        t
    };
    let nsec = tail(Rtype::NSEC, &wire("a.flood.example."));
    let mut copied = 0;
    for (mname, rname) in soas {
        let mut rdata = wire(mname);
        rdata.extend(wire(rname));
        rdata.extend([0; 20]);
        let soa = tail(Rtype::SOA, &rdata);
        // Each block as the answer path writes it: the SOA (and its
        // RRSIGs) right after the question, the apex's NSEC anywhere.
        let write_soa = |b: &mut MessageBuilder<'_>, signed: bool, apex_at: usize| {
            b.set_section(Section::Authority);
            b.push_rrset(Owner::QnameSuffix(apex_at), &soa, 1)?;
            if signed {
                b.push_rrset(Owner::QnameSuffix(apex_at), &sigs, 2)?;
            }
            Ok(())
        };
        let write_nsec = |b: &mut MessageBuilder<'_>| {
            b.set_section(Section::Authority);
            b.push_rrset(Owner::Name(&apex), &nsec, 1)?;
            b.push_rrset(Owner::Name(&apex), &sigs, 2)
        };
        let blocks = [
            Prerendered::render(&apex, |b| write_soa(b, false, 0)).unwrap(),
            Prerendered::render(&apex, |b| write_soa(b, true, 0)).unwrap(),
        ];
        let apex_nsec = Prerendered::render(&apex, write_nsec).unwrap();
        assert!(apex_nsec.anywhere);
        for qname in qnames {
            let msg = query(qname, Rtype::A, None);
            let q = parse_query(&msg).unwrap();
            let apex_at = q.qname.len() - apex.len();
            for (signed, block) in [false, true].into_iter().zip(&blocks) {
                for limit in (12 + q.question.len()..=700).step_by(7) {
                    let (mut one, mut two) = ([0u8; 700], [0u8; 700]);
                    let mut a =
                        MessageBuilder::new(&mut one, &q.header, q.question, limit).unwrap();
                    let mut b =
                        MessageBuilder::new(&mut two, &q.header, q.question, limit).unwrap();
                    // The SOA block, or the records.
                    a.set_section(Section::Authority);
                    let ra = if a.push_prerendered(block) {
                        copied += 1;
                        Ok(())
                    } else {
                        write_soa(&mut a, signed, apex_at)
                    };
                    let rb = write_soa(&mut b, signed, apex_at);
                    assert_eq!(ra, rb, "{mname} {rname} {qname} at {limit}");
                    // The apex's NSEC after it.
                    let na = if a.push_prerendered(&apex_nsec) {
                        Ok(())
                    } else {
                        write_nsec(&mut a)
                    };
                    let nb = write_nsec(&mut b);
                    assert_eq!(na, nb, "{mname} {rname} {qname} at {limit}");
                    // A block that writes names goes only right after the
                    // question.
                    assert!(!a.push_prerendered(block));
                    // What follows compresses against the same table.
                    for next in [mname, rname, "z.b.flood.example.", "y.ns1.flood.example."] {
                        let next = wire(next);
                        let ta = tail(Rtype::A, &[1, 2, 3, 4]);
                        let na = a.push_rrset(Owner::Name(&next), &ta, 1);
                        let nb = b.push_rrset(Owner::Name(&next), &ta, 1);
                        assert_eq!(na, nb);
                    }
                    let (la, lb) = (a.finish(), b.finish());
                    assert_eq!(one[..la], two[..lb], "{mname} {rname} {qname} at {limit}");
                }
            }
        }
    }
    assert!(copied > 1000, "{copied}");
}
