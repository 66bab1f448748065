//! Wire behaviour of the real binary: TCP pipelining, idle timeout,
//! connection limits and floods, signals (SIGTERM, SIGHUP), malformed packets, odd
//! rcodes, NSID, and how zone-file errors are reported.

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::decode::{Message, decode_message};
use candor_wire::{Header, Rtype};
use socket2::{Domain, Socket, Type};

use crate::support::{
    Candor, Edns, Query, Rng, TempDir, ask, edns_option, frame, read_framed, render_message,
    tcp_connect, udp, udp_exchange,
};

/// The zone every test here serves.
const ZONE: &str = "srv.test";

/// Its file, with `serial` filled in. Line numbers matter for nothing here.
fn zone_text(serial: u32) -> String {
    format!(
        "$ORIGIN srv.test.\n$TTL 300\n\
         @ IN SOA ns1 hostmaster {serial} 3600 900 86400 300\n\
         @ IN NS ns1\n\
         ns1 IN A 192.0.2.53\n\
         www IN A 192.0.2.80\n\
         big IN TXT \"{}\" \"{}\" \"{}\"\n",
        "x".repeat(200),
        "y".repeat(200),
        "z".repeat(200),
    )
}

/// A zone directory holding `srv.test.zone` with serial 1.
fn zone_dir() -> TempDir {
    let dir = TempDir::new("srv-zones");
    dir.write(&format!("{ZONE}.zone"), &zone_text(1));
    dir
}

/// Starts candor on a fresh `srv.test` zone with `extra` arguments.
fn start(extra: &[&str]) -> (TempDir, Candor) {
    let dir = zone_dir();
    let server = Candor::start(dir.path(), extra, ZONE);
    (dir, server)
}

/// The SOA serial in an answer.
fn serial(m: &Message) -> Option<u32> {
    let soa = m.answer.iter().find(|r| r.rtype == Rtype::SOA)?;
    let tail = soa.rdata.get(soa.rdata.len().checked_sub(20)?..)?;
    Some(u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]))
}

/// Asserts `m` is the authoritative answer `www.srv.test A 192.0.2.80`.
fn assert_www(m: Option<&Message>, context: &str) {
    let ok = m.is_some_and(|m| {
        m.rcode() == 0
            && m.header.flags & (Header::QR | Header::AA) == (Header::QR | Header::AA)
            && m.answer.len() == 1
            && m.answer[0].rtype == Rtype::A
            && m.answer[0].rdata == [192, 0, 2, 80]
    });
    assert!(
        ok,
        "{context}: wrong answer for www.{ZONE} A:\n{}",
        render_message(m)
    );
}

/// Asks `www.srv.test A` over UDP and TCP and checks both answers.
fn assert_serving(addr: SocketAddr, context: &str) {
    let q = Query::new(&format!("www.{ZONE}"), Rtype::A);
    assert_www(ask(addr, &q, false).as_ref(), &format!("{context} (udp)"));
    assert_www(ask(addr, &q, true).as_ref(), &format!("{context} (tcp)"));
}

/// Decodes a response that must exist.
fn decoded(raw: Option<Vec<u8>>, what: &str) -> Message {
    let raw = raw.unwrap_or_else(|| panic!("{what}: no response"));
    decode_message(&raw).unwrap_or_else(|e| panic!("{what}: undecodable response: {e}"))
}

/// Three framed queries written at once on one connection get three answers.
#[test]
fn tcp_pipelined_queries_are_all_answered() {
    let (_dir, server) = start(&[]);
    let queries = [
        Query::new(&format!("www.{ZONE}"), Rtype::A),
        Query::new(ZONE, Rtype::SOA),
        Query::new(&format!("nothing.{ZONE}"), Rtype::A).edns(Edns::with_payload(1232)),
    ];
    let mut bytes = Vec::new();
    for q in &queries {
        bytes.extend_from_slice(&frame(&q.to_wire()));
    }
    let mut stream = tcp_connect(server.addr()).expect("connect");
    stream
        .write_all(&bytes)
        .expect("write three queries at once");
    let mut answers = Vec::new();
    for i in 0..3 {
        let raw = read_framed(&mut stream).unwrap_or_else(|e| panic!("answer {i}: {e}"));
        answers.push(decode_message(&raw).expect("decodable answer"));
    }
    let by_id = |id: u16| {
        answers
            .iter()
            .find(|m| m.header.id == id)
            .unwrap_or_else(|| panic!("no answer with id {id}"))
    };
    assert_www(Some(by_id(queries[0].id)), "pipelined query 1");
    assert_eq!(
        serial(by_id(queries[1].id)),
        Some(1),
        "pipelined query 2 (SOA)"
    );
    let nx = by_id(queries[2].id);
    assert_eq!(
        nx.rcode(),
        3,
        "pipelined query 3 is NXDOMAIN:\n{}",
        render_message(Some(nx))
    );
    assert!(nx.opt().is_some(), "pipelined query 3 keeps its EDNS");
}

/// With `--tcp-idle-timeout 1`, an idle connection is closed after about a second.
#[test]
fn tcp_idle_connection_is_closed() {
    let (_dir, server) = start(&["--tcp-idle-timeout", "1"]);
    let mut stream = tcp_connect(server.addr()).expect("connect");
    stream
        .write_all(&frame(&Query::new(ZONE, Rtype::SOA).to_wire()))
        .expect("write");
    read_framed(&mut stream).expect("the first query is answered");
    let idle_since = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(6)))
        .expect("set timeout");
    let mut buf = [0u8; 16];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("unexpected {n} bytes on an idle connection"),
        Err(e) => panic!("the idle connection was not closed within 6 s: {e}"),
    }
    let idle = idle_since.elapsed();
    assert!(
        idle >= Duration::from_millis(800),
        "closed after {idle:?}, before the 1 s idle timeout"
    );
}

/// With `--tcp-max-connections 2`, a third client is served at once and
/// the oldest idle connection is closed to make room for it.
#[test]
fn tcp_at_the_cap_the_oldest_idle_connection_makes_room() {
    let (_dir, server) = start(&["--tcp-max-connections", "2", "--tcp-idle-timeout", "30"]);
    let soa = frame(&Query::new(ZONE, Rtype::SOA).to_wire());
    let mut open = Vec::new();
    for i in 0..2 {
        let mut s = tcp_connect(server.addr()).expect("connect");
        s.write_all(&soa).expect("write");
        read_framed(&mut s).unwrap_or_else(|e| panic!("connection {i} is served: {e}"));
        open.push(s);
    }
    let mut third = tcp_connect(server.addr()).expect("connect a third time");
    third
        .write_all(&soa)
        .expect("write on the third connection");
    let answer = read_framed(&mut third).expect("the third connection is served at once");
    assert_eq!(
        serial(&decode_message(&answer).expect("decodable")),
        Some(1)
    );
    let mut buf = [0u8; 16];
    match open[0].read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the oldest idle connection was not closed: {other:?}"),
    }
    open[1]
        .write_all(&soa)
        .expect("write on the second connection");
    read_framed(&mut open[1]).expect("the second connection is still served");
}

/// A connection to `addr` from the loopback address 127.0.0.`from` (Linux
/// routes all of 127/8 to loopback, so this is another host to the server).
fn tcp_connect_from(from: u8, addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, from], 0)).into())?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(10))?;
    let stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// Issue 15: 300 idle connections and 40 slowloris connections (one byte a
/// second) from one host neither lock out another client nor outlast the
/// limits; the stop line counts why connections were closed.
#[test]
fn tcp_floods_from_one_host_leave_room_for_others() {
    let (_dir, mut server) = start(&[
        "--tcp-max-connections",
        "1000",
        "--tcp-query-timeout",
        "1",
        "--tcp-idle-timeout",
        "60",
    ]);
    let addr = server.addr();
    let idle: Vec<_> = (0..300)
        .map(|i| tcp_connect_from(2, addr).unwrap_or_else(|e| panic!("idle {i}: {e}")))
        .collect();
    let slow: Vec<_> = (0..40)
        .map(|i| tcp_connect_from(3, addr).unwrap_or_else(|e| panic!("slow {i}: {e}")))
        .collect();
    let trickle = std::thread::spawn(move || {
        // One byte a second of a 300-byte query, for 10 s.
        let mut slow = slow;
        for byte in [0x01u8, 0x2c].into_iter().chain([0; 8]) {
            slow.retain_mut(|s| s.write_all(&[byte]).is_ok());
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let q = Query::new(&format!("www.{ZONE}"), Rtype::A);
    for i in 0..20 {
        assert_www(
            ask(addr, &q, true).as_ref(),
            &format!("legit TCP query {i}"),
        );
    }
    trickle.join().expect("the trickling thread");
    drop(idle);
    server.process().signal("TERM");
    let status = server.process().wait_timeout(Duration::from_secs(10));
    let log = server.log();
    assert!(status.is_some(), "still running after SIGTERM; log:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains("tcp connections"))
        .unwrap_or_else(|| panic!("no summary line on stop; log:\n{log}"));
    // The idle host keeps 64 connections (the per-source default) and
    // closes its own oldest for each new one; every slowloris connection
    // let in is closed by the 1 s query deadline.
    let field = |name: &str| -> u64 {
        let key = format!("{name}=");
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    assert!(field("closed_per_source") >= 236, "{line}");
    assert_eq!(field("closed_query_deadline"), 40, "{line}");
    assert_eq!(field("closed_idle"), 0, "{line}");
}

/// SIGTERM stops the server with exit status 0 within 5 s.
#[test]
fn sigterm_exits_zero_within_five_seconds() {
    let (_dir, mut server) = start(&[]);
    server.process().signal("TERM");
    let status = server.process().wait_timeout(Duration::from_secs(5));
    let log = server.log();
    let status = status.unwrap_or_else(|| panic!("still running 5 s after SIGTERM; log:\n{log}"));
    assert!(
        status.success(),
        "exit status {status} after SIGTERM; log:\n{log}"
    );
}

/// A query for `www.srv.test A` whose additional record's owner is a
/// compression pointer to itself.
fn compression_loop_query(id: u16) -> Vec<u8> {
    let mut q = Query::new(&format!("www.{ZONE}"), Rtype::A);
    q.id = id;
    let mut m = q.to_wire();
    m[11] = 1; // ARCOUNT
    let at = m.len();
    m.extend_from_slice(&[0xc0 | (at >> 8) as u8, at as u8]);
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    m
}

/// Hand-made malformed packets, each with a name for messages.
fn malformed_packets(rng: &mut Rng) -> Vec<(&'static str, Vec<u8>)> {
    let valid = Query::new(&format!("www.{ZONE}"), Rtype::A).to_wire();
    let mut response = valid.clone();
    response[2] |= 0x80;
    let mut question_pointer = valid[..12].to_vec();
    question_pointer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let mut long_label = valid[..12].to_vec();
    long_label.extend_from_slice(&[64]);
    long_label.extend(std::iter::repeat_n(b'a', 64));
    long_label.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut huge_counts = valid.clone();
    huge_counts[6..12].copy_from_slice(&[0xff; 6]);
    let mut bad_opt = Query::new(ZONE, Rtype::SOA)
        .edns(Edns::with_payload(1232))
        .to_wire();
    let len = bad_opt.len();
    bad_opt[len - 2..].copy_from_slice(&[0xff, 0xff]); // RDLENGTH past the end
    let garbage: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![0x42]),
        ("truncated header", valid[..7].to_vec()),
        ("header only", valid[..12].to_vec()),
        ("truncated question", valid[..valid.len() - 3].to_vec()),
        ("response (QR=1)", response),
        ("pointer in question", question_pointer),
        ("64-byte label", long_label),
        ("huge section counts", huge_counts),
        ("OPT longer than the packet", bad_opt),
        (
            "compression loop in additional",
            compression_loop_query(0x4242),
        ),
        ("4096 bytes of garbage", garbage),
    ]
}

/// Malformed and random packets (UDP and TCP) never stop the server, which
/// still answers correctly after each kind and after 5,000 random ones.
#[test]
fn malformed_packets_never_stop_the_server() {
    let (_dir, mut server) = start(&[]);
    let addr = server.addr();
    let mut rng = Rng::new(0x0bad_cafe);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for (what, packet) in malformed_packets(&mut rng) {
        sock.send_to(&packet, addr).expect("send");
        let mut s = tcp_connect(addr).expect("connect");
        let _ = s.write_all(&frame(&packet));
        drop(s);
        assert_serving(addr, &format!("after {what}"));
    }
    // The compression loop gets FORMERR or nothing, never an answer.
    let raw = udp_exchange(
        addr,
        &compression_loop_query(0x4343),
        Duration::from_millis(500),
        1,
    );
    if let Some(raw) = raw {
        let m = decode_message(&raw).expect("decodable");
        assert_eq!(
            m.rcode(),
            1,
            "compression loop:\n{}",
            render_message(Some(&m))
        );
    }
    // 5,000 random packets: random bytes, and valid headers with random rest.
    let header = Query::new(ZONE, Rtype::SOA).to_wire();
    for i in 0..5000 {
        let len = match rng.below(4) {
            0 => rng.below(12),
            1 => 12 + rng.below(40),
            2 => rng.below(600),
            _ => rng.below(4097),
        };
        let mut packet: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        if rng.chance(50) && packet.len() >= 12 {
            packet[..4].copy_from_slice(&header[..4]);
            packet[4..6].copy_from_slice(&[0, 1]);
        }
        sock.send_to(&packet, addr).expect("send");
        if i % 500 == 499 {
            assert_serving(addr, &format!("after {} random packets", i + 1));
        }
    }
    // Garbage over TCP: unframed bytes, a short frame, an oversized frame.
    for junk in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0, 5, 1, 2],
        vec![0xff, 0xff, 0, 0],
    ] {
        let mut s = tcp_connect(addr).expect("connect");
        let _ = s.write_all(&junk);
    }
    assert!(
        server.process().try_wait().is_none(),
        "candor exited:\n{}",
        server.log()
    );
    assert_serving(addr, "after all malformed packets");
}

/// FORMERR for two questions, NOTIMP for STATUS, silence for QR=1,
/// BADVERS for EDNS version 1, TC without EDNS for a large answer.
#[test]
fn odd_queries_get_the_right_rcode() {
    let (_dir, server) = start(&[]);
    let addr = server.addr();

    // Two questions: FORMERR.
    let mut two = Query::new(&format!("www.{ZONE}"), Rtype::A).to_wire();
    let second = two[12..].to_vec();
    two.extend_from_slice(&second);
    two[5] = 2;
    let m = decoded(udp(addr, &two), "two questions");
    assert_eq!(
        (m.rcode(), m.header.id),
        (1, u16::from_be_bytes([two[0], two[1]]))
    );
    assert!(m.header.flags & Header::QR != 0, "FORMERR is a response");

    // Opcode 2 (STATUS): NOTIMP.
    let mut status = Query::new(ZONE, Rtype::SOA);
    status.opcode = 2;
    let m = decoded(udp(addr, &status.to_wire()), "opcode STATUS");
    assert_eq!(m.rcode(), 4, "STATUS:\n{}", render_message(Some(&m)));

    // QR=1: no response at all; a normal query right after is answered.
    let mut response = Query::new(&format!("www.{ZONE}"), Rtype::A).to_wire();
    response[2] |= 0x80;
    let got = udp_exchange(addr, &response, Duration::from_millis(500), 1);
    assert!(got.is_none(), "a packet with QR=1 was answered: {got:02x?}");
    assert_serving(addr, "after a QR=1 packet");

    // EDNS version 1: BADVERS, in an OPT of version 0.
    let q = Query::new(ZONE, Rtype::SOA).edns(Edns {
        version: 1,
        ..Edns::with_payload(1232)
    });
    let m = decoded(udp(addr, &q.to_wire()), "EDNS version 1");
    assert_eq!(m.rcode(), 16, "BADVERS:\n{}", render_message(Some(&m)));
    let opt = m.opt().expect("BADVERS comes with an OPT record");
    assert_eq!(
        (opt.ttl >> 16) & 0xff,
        0,
        "the OPT of a BADVERS response is version 0"
    );
    assert!(m.answer.is_empty(), "BADVERS has no answer");

    // Truncation without EDNS, the whole answer over TCP.
    let q = Query::new(&format!("big.{ZONE}"), Rtype::TXT);
    let m = ask(addr, &q, false).expect("UDP answer");
    assert!(
        m.header.flags & Header::TC != 0,
        "600 bytes of TXT over plain UDP sets TC"
    );
    let m = ask(addr, &q, true).expect("TCP answer");
    assert_eq!(
        m.answer.len(),
        1,
        "TCP carries the whole TXT:\n{}",
        render_message(Some(&m))
    );
}

/// The NSID option (code 3) in a response's OPT, if any.
fn nsid(m: &Message) -> Option<Vec<u8>> {
    edns_option(m, 3)
}

/// `--nsid test-ns` is returned in an NSID option only when the query asks.
#[test]
fn nsid_is_returned_when_asked() {
    let (_dir, server) = start(&["--nsid", "test-ns"]);
    let ask_nsid = Edns {
        nsid: true,
        ..Edns::with_payload(1232)
    };
    for tcp in [false, true] {
        let m = ask(
            server.addr(),
            &Query::new(ZONE, Rtype::SOA).edns(ask_nsid),
            tcp,
        )
        .expect("answer");
        assert_eq!(
            nsid(&m).as_deref(),
            Some(&b"test-ns"[..]),
            "NSID (tcp: {tcp})"
        );
        assert_eq!(serial(&m), Some(1), "the answer itself is intact");
    }
    let m = ask(
        server.addr(),
        &Query::new(ZONE, Rtype::SOA).edns(Edns::with_payload(1232)),
        false,
    )
    .expect("answer");
    assert_eq!(nsid(&m), None, "no NSID unless asked");
    let m = ask(server.addr(), &Query::new(ZONE, Rtype::SOA), false).expect("answer");
    assert!(m.opt().is_none(), "no OPT without EDNS in the query");
}

/// A broken zone file is reported as `file:line: message`; the other zones
/// still load and answer, and the broken zone is not served.
#[test]
fn broken_zone_is_reported_and_the_others_still_load() {
    let dir = zone_dir();
    let broken = dir.write(
        "broken.test.zone",
        "$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 300\n@ IN NS ns1\n\
         bad IN A not-an-address\nns1 IN A 192.0.2.1\n",
    );
    let server = Candor::start(dir.path(), &[], ZONE);
    assert_serving(server.addr(), "beside a broken zone");
    let log = server.log();
    let want = format!("{}:4: ", broken.display());
    assert!(
        log.contains(&want),
        "the log does not report {want:?}:\n{log}"
    );
    let m = ask(server.addr(), &Query::new("broken.test", Rtype::SOA), false).expect("answer");
    assert_eq!(
        m.rcode(),
        5,
        "the broken zone is not served:\n{}",
        render_message(Some(&m))
    );
}

/// Runs `candor zone check FILE`; returns success and standard error.
fn zone_check(file: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["zone", "check"])
        .arg(file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run candor zone check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `candor zone check` reports three distinct errors with their lines and
/// fails, and succeeds on a good file.
#[test]
fn zone_check_reports_every_error_with_its_line() {
    let dir = TempDir::new("check");
    let bad = dir.write(
        "check.test.zone",
        "$TTL 300\n\
         @ IN SOA ns1 hostmaster 1 3600 900 86400 300\n\
         @ IN NS ns1\n\
         bad1 IN A 300.1.2.3\n\
         ns1 IN A 192.0.2.1\n\
         bad2 IN NOSUCHTYPE foo\n\
         ok IN TXT \"fine\"\n\
         bad3 IN MX notanumber mail\n",
    );
    let (ok, stderr) = zone_check(&bad);
    assert!(!ok, "zone check accepted a broken file:\n{stderr}");
    for line in [4, 6, 8] {
        let want = format!("{}:{line}: ", bad.display());
        assert!(stderr.contains(&want), "missing {want:?} in:\n{stderr}");
    }
    let good = dir.write(
        "good.test.zone",
        &zone_text(5).replace("srv.test.", "good.test."),
    );
    let (ok, stderr) = zone_check(&good);
    assert!(ok, "zone check rejected a good file:\n{stderr}");
}

/// SIGHUP reloads a changed zone file: the new serial and record are served.
#[test]
fn sighup_reloads_a_changed_zone() {
    let (dir, mut server) = start(&[]);
    let soa = Query::new(ZONE, Rtype::SOA);
    assert_eq!(
        ask(server.addr(), &soa, false).as_ref().and_then(serial),
        Some(1)
    );
    let text = zone_text(2) + "new IN A 192.0.2.99\n";
    dir.write(&format!("{ZONE}.zone"), &text);
    server.process().signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = ask(server.addr(), &soa, false).as_ref().and_then(serial);
        if got == Some(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serial still {got:?} 10 s after SIGHUP; log:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let m = ask(
        server.addr(),
        &Query::new(&format!("new.{ZONE}"), Rtype::A),
        false,
    );
    assert!(
        m.as_ref()
            .is_some_and(|m| m.rcode() == 0 && m.answer.len() == 1),
        "the new record is served:\n{}",
        render_message(m.as_ref())
    );
}
