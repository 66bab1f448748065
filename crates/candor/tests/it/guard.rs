//! The defences against spoofed floods, end to end: a flood of one
//! question from one source is rate limited (a second's worth of full
//! answers, then every other response truncated and the rest dropped), a
//! client that proves its address with a DNS cookie is exempt, exempt
//! networks are never limited, and a secret file shared by several servers
//! rolls over without breaking the clients that hold cookies.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use candor_guard::{CookieCheck, CookieSecrets};
use candor_wire::decode::{Message, decode_message};
use candor_wire::{Header, Rtype};

use crate::support::{Candor, Edns, Query, TempDir, edns_option, tcp, udp};

/// The zone the tests serve: a TXT record of about 1.1 kB, the kind of
/// answer an amplification attack asks for.
const ZONE: &str = "guard.test";

/// The rate the flood tests set (responses a second per account): low, so
/// a test's flood is far above it.
const RATE: u32 = 50;

/// A zone directory with the large TXT record.
fn zone_dir() -> TempDir {
    let dir = TempDir::new("guard-zones");
    let chunk = "a".repeat(250);
    dir.write(
        &format!("{ZONE}.zone"),
        &format!(
            "$ORIGIN {ZONE}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\n\
             ns A 192.0.2.1\nwww A 192.0.2.80\n\
             big TXT \"{chunk}\" \"{chunk}\" \"{chunk}\" \"{chunk}\"\n"
        ),
    );
    dir
}

/// The query of every flood: `big.guard.test TXT` with EDNS (1232 bytes),
/// and with a COOKIE option holding `cookie`, if any.
fn big_query(id: u16, cookie: Option<&[u8]>) -> Vec<u8> {
    let mut q = Query::new(&format!("big.{ZONE}"), Rtype::TXT)
        .edns(Edns::with_payload(1232))
        .to_wire();
    q[..2].copy_from_slice(&id.to_be_bytes());
    if let Some(cookie) = cookie {
        with_cookie(&mut q, cookie);
    }
    q
}

/// Appends a COOKIE option to the OPT record that ends `msg`.
fn with_cookie(msg: &mut Vec<u8>, cookie: &[u8]) {
    let n = msg.len();
    let rdlen = u16::from_be_bytes([msg[n - 2], msg[n - 1]]) + 4 + cookie.len() as u16;
    msg[n - 2..].copy_from_slice(&rdlen.to_be_bytes());
    msg.extend_from_slice(&10u16.to_be_bytes());
    msg.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    msg.extend_from_slice(cookie);
}

/// The COOKIE option's data in a response (client and server cookie).
fn cookie_of(m: &Message) -> Option<Vec<u8>> {
    edns_option(m, 10)
}

/// What came back for the queries of a flood.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    /// Full answers (the TXT record).
    full: usize,
    /// Truncated answers: the question and the OPT record, TC=1.
    truncated: usize,
    /// BADCOOKIE answers.
    badcookie: usize,
    /// Nothing.
    silent: usize,
    /// Bytes of the queries.
    bytes_out: usize,
    /// Bytes of the responses other than full answers.
    bytes_limited: usize,
}

/// Sends `count` queries made by `query(id)` from one socket, spread over
/// `over`, and tallies the responses (waiting half a second after the
/// last). Responses are told apart by ID.
fn flood(addr: SocketAddr, count: u16, over: Duration, query: impl Fn(u16) -> Vec<u8>) -> Tally {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind the flood socket");
    sock.connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_millis(1)))
        .expect("timeout");
    let mut tally = Tally::default();
    let mut seen: HashMap<u16, Message> = HashMap::new();
    let mut buf = vec![0u8; 65535];
    let mut receive = |tally: &mut Tally, seen: &mut HashMap<u16, Message>| {
        while let Ok(n) = sock.recv(&mut buf) {
            let m = decode_message(&buf[..n]).expect("responses decode");
            if m.answer.is_empty() {
                tally.bytes_limited += n;
            }
            seen.insert(m.header.id, m);
        }
    };
    let start = Instant::now();
    for id in 0..count {
        let q = query(id);
        tally.bytes_out += q.len();
        let _ = sock.send(&q);
        // Pace the queries evenly over the period.
        let due = start + over.mul_f64(f64::from(id + 1) / f64::from(count));
        while Instant::now() < due {
            receive(&mut tally, &mut seen);
        }
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        receive(&mut tally, &mut seen);
    }
    for id in 0..count {
        match seen.get(&id) {
            None => tally.silent += 1,
            Some(m) if m.rcode() == 23 => tally.badcookie += 1,
            Some(m) if m.header.flags & Header::TC != 0 => {
                assert!(
                    m.answer.is_empty() && m.authority.is_empty() && m.additional.len() == 1,
                    "a slip is the question and the OPT record"
                );
                tally.truncated += 1;
            }
            Some(m) => {
                assert_eq!(m.answer.len(), 1, "a full answer");
                tally.full += 1;
            }
        }
    }
    tally
}

/// A value from the server's stop summary.
fn summary(server: &mut Candor, name: &str) -> u64 {
    server.process().signal("TERM");
    let status = server.process().wait_timeout(Duration::from_secs(10));
    let log = server.log();
    assert!(status.is_some(), "still running after SIGTERM; log:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains(" stopped "))
        .unwrap_or_else(|| panic!("no summary on stop; log:\n{log}"));
    let key = format!("{name}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key.as_str()))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// 2,000 queries for one large answer from one address within a second,
/// forty times the limit: after the first second's worth of full answers,
/// every other response is a small truncated one and the others are
/// dropped, so the flood is reflected at less than its own size.
#[test]
fn a_spoofed_flood_is_slipped_and_dropped() {
    let dir = zone_dir();
    let rate = RATE.to_string();
    let mut server = Candor::start(dir.path(), &["--rrl-rate", &rate, "--rrl-slip", "2"], ZONE);
    let count = 2_000;
    let t = flood(server.addr(), count, Duration::from_secs(1), |id| {
        big_query(id, None)
    });
    let limited = usize::from(count) - t.full;
    // A second's worth of credit, twice if the flood straddles a second.
    assert!(
        (RATE as usize..=2 * RATE as usize).contains(&t.full),
        "{t:?}"
    );
    assert_eq!(t.badcookie, 0, "{t:?}");
    assert!(
        t.truncated.abs_diff(limited / 2) <= 2,
        "every other limited response slips: {t:?}"
    );
    assert_eq!(t.full + t.truncated + t.silent, usize::from(count), "{t:?}");
    // A slip is no larger than the query it answers: beyond its first
    // second, the flood is reflected at half its size.
    let query_len = big_query(0, None).len();
    assert_eq!(t.bytes_limited, t.truncated * query_len, "{t:?}");
    // The server counted what it did.
    let slipped = summary(&mut server, "rrl_slipped");
    assert_eq!(slipped, t.truncated as u64);
}

/// A client that sent back the server cookie it was given is never limited,
/// even while its network's account is deep in debt from a flood; over TCP
/// it gets cookies too.
#[test]
fn a_client_with_a_valid_cookie_is_exempt() {
    let dir = zone_dir();
    let rate = RATE.to_string();
    let server = Candor::start(dir.path(), &["--rrl-rate", &rate, "--rrl-slip", "1"], ZONE);
    let addr = server.addr();
    // A flood from this address puts the account in debt...
    let t = flood(addr, 500, Duration::from_millis(200), |id| {
        big_query(id, None)
    });
    assert!(t.full <= 2 * RATE as usize, "{t:?}");
    // ...so the first query with a client cookie is limited too: BADCOOKIE
    // (slip 1: every limited response slips), with a server cookie.
    let client_cookie = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    let first = udp(addr, &big_query(9_000, Some(&client_cookie))).expect("a response");
    let first = decode_message(&first).expect("decodes");
    assert_eq!(first.rcode(), 23, "BADCOOKIE while the account is in debt");
    let cookie = cookie_of(&first).expect("a cookie with the BADCOOKIE");
    assert_eq!(cookie.len(), 24);
    assert_eq!(cookie[..8], client_cookie);
    // With the server cookie back, every query is answered in full.
    let t = flood(addr, 500, Duration::from_millis(200), |id| {
        big_query(id, Some(&cookie))
    });
    assert_eq!(
        t,
        Tally {
            full: 500,
            bytes_out: t.bytes_out,
            ..Tally::default()
        }
    );
    // The cookie alone does it: without it the account is still in debt.
    let t = flood(addr, 50, Duration::from_millis(50), |id| {
        big_query(id, None)
    });
    assert_eq!(t.full, 0, "{t:?}");
    // TCP: no rate limiting, and the cookie comes back.
    let raw = tcp(addr, &big_query(9_001, Some(&client_cookie))).expect("a TCP answer");
    let m = decode_message(&raw).expect("decodes");
    assert_eq!((m.rcode(), m.answer.len()), (0, 1));
    assert_eq!(
        cookie_of(&m).map(|c| c[..8].to_vec()),
        Some(client_cookie.to_vec())
    );
}

/// An exempt network gets every answer, however fast it asks.
#[test]
fn exempt_networks_are_never_limited() {
    let dir = zone_dir();
    let rate = RATE.to_string();
    let server = Candor::start(
        dir.path(),
        &["--rrl-rate", &rate, "--rrl-exempt", "127.0.0.0/8"],
        ZONE,
    );
    let t = flood(server.addr(), 400, Duration::from_millis(200), |id| {
        big_query(id, None)
    });
    assert_eq!(t.full, 400, "{t:?}");
}

/// Servers sharing a secret file accept each other's cookies; a rollover
/// written to the file (new secret first, the old one second) and read on
/// SIGHUP keeps the cookies clients hold valid, and renews them.
#[test]
fn a_shared_secret_file_rolls_over_without_breaking_clients() {
    const OLD: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";
    const NEW: &str = "445536bcd2513298075a5d379663c962";
    let dir = zone_dir();
    let secrets = TempDir::new("guard-secret");
    let file = secrets.write("cookie.secret", &format!("{OLD}\n"));
    let file = file.display().to_string();
    let mut server = Candor::start(dir.path(), &["--cookie-secret-file", &file], ZONE);
    let addr = server.addr();
    let client: IpAddr = Ipv4Addr::LOCALHOST.into();
    let now = || {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as u32
    };
    let client_cookie = [1, 2, 3, 4, 5, 6, 7, 8];
    let www = |id: u16, cookie: &[u8]| {
        let mut q = Query::new(&format!("www.{ZONE}"), Rtype::A)
            .edns(Edns::with_payload(1232))
            .to_wire();
        q[..2].copy_from_slice(&id.to_be_bytes());
        with_cookie(&mut q, cookie);
        let m = decode_message(&udp(addr, &q).expect("an answer")).expect("decodes");
        assert_eq!((m.rcode(), m.answer.len()), (0, 1));
        cookie_of(&m).expect("a cookie")
    };
    // The server cookie is the one any server with the secret makes.
    let old = CookieSecrets::parse(OLD).expect("secret");
    let cookie = www(1, &client_cookie);
    assert_eq!(
        old.reply(&client_cookie, &cookie[8..], client, now()).0,
        CookieCheck::Valid
    );
    // Roll over: the new secret makes cookies, the old one still verifies.
    std::fs::write(&file, format!("{NEW}\n{OLD}\n")).expect("write the secret file");
    server.process().signal("HUP");
    let both = CookieSecrets::parse(&format!("{NEW}\n{OLD}")).expect("secrets");
    let new_only = CookieSecrets::parse(NEW).expect("secret");
    let deadline = Instant::now() + Duration::from_secs(10);
    let renewed = loop {
        let renewed = www(2, &cookie);
        if renewed != cookie {
            break renewed;
        }
        assert!(
            Instant::now() < deadline,
            "the secret file was not read again"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The client's old cookie was accepted (answered, not refused) and
    // replaced by one of the new secret.
    assert_eq!(
        new_only
            .reply(&client_cookie, &renewed[8..], client, now())
            .0,
        CookieCheck::Valid
    );
    assert_eq!(
        both.reply(&client_cookie, &cookie[8..], client, now()).0,
        CookieCheck::Valid
    );
    assert_eq!(summary(&mut server, "cookies_invalid"), 0);
}
