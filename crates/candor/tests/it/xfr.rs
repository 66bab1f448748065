//! Candor as a primary of real secondaries: Knot DNS 3.2 transfers the
//! zones (AXFR, then IXFR after each NOTIFY) with TSIG and answers exactly
//! as Candor does; kdig checks the signature of every transfer message,
//! and bad keys and addresses outside the ACL are refused.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::{Message, decode_message};

use crate::http::request;
use crate::store::{Hosted, cli, host_with};
use crate::support::{Process, Query, TempDir, free_port, knotd_path, udp_exchange};

/// The TSIG key the tests make.
const KEY: &str = "xfr.key";

/// `knotd` and `kdig`, or `None` when the test is to be skipped (Knot not
/// installed and `CANDOR_SKIP_KNOT=1`).
fn knot_tools(test: &str) -> Option<(std::path::PathBuf, &'static str)> {
    let kdig_works = Command::new("kdig").arg("-V").output().is_ok();
    match knotd_path() {
        Some(knotd) if kdig_works => Some((knotd, "kdig")),
        _ if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") => {
            eprintln!("{test}: skipped, Knot DNS is not installed (CANDOR_SKIP_KNOT=1)");
            None
        }
        _ => panic!(
            "knotd or kdig not found: install them (apt-get install knot knot-dnsutils) or \
             set CANDOR_SKIP_KNOT=1 to skip this test"
        ),
    }
}

/// Adds a TSIG key to the store in `dir` with the CLI; returns its secret.
fn add_key(dir: &Path, name: &str, algorithm: &str) -> String {
    let out = cli(dir, &["tsig", "add", name, "--algorithm", algorithm]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Waits until the server's log says it loaded a TSIG key (the server
/// reads the store's keys every second).
fn wait_for_keys(h: &Hosted) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.candor.log().contains("TSIG keys changed") {
        assert!(
            Instant::now() < deadline,
            "keys not loaded:\n{}",
            h.candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The serial `addr` serves for `zone`, if it answers.
fn serial(addr: SocketAddr, zone: &str) -> Option<u32> {
    let q = Query::new(zone, Rtype::SOA).to_wire();
    let resp = udp_exchange(addr, &q, Duration::from_millis(300), 2)?;
    let msg = decode_message(&resp).ok()?;
    let soa = msg.answer.iter().find(|r| r.rtype == Rtype::SOA)?;
    // Two names, then the serial.
    let m = candor_wire::wire_name_len(&soa.rdata)?;
    let r = candor_wire::wire_name_len(&soa.rdata[m..])?;
    let s = soa.rdata.get(m + r..m + r + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Waits until `secondary` serves the serial `primary` serves for `zone`.
fn wait_in_sync(primary: SocketAddr, secondary: SocketAddr, zone: &str, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let want = serial(primary, zone);
        if want.is_some() && serial(secondary, zone) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the secondary did not reach serial {want:?} of {zone} (it has {:?}):\n{}",
            serial(secondary, zone),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Knot DNS as a secondary of Candor for some zones, killed on drop.
struct KnotSecondary {
    /// The process (declared first: it is killed before the directory).
    _process: Process,
    /// Where it answers.
    addr: SocketAddr,
    /// Configuration, storage and log.
    dir: TempDir,
}

impl KnotSecondary {
    /// Starts `knotd` on `port` as a secondary of `primary` for `zones`,
    /// with the TSIG key `KEY` (hmac-sha256, `secret`) for transfers and
    /// for the NOTIFYs it accepts.
    fn start(
        knotd: &Path,
        port: u16,
        primary: SocketAddr,
        secret: &str,
        zones: &[&str],
    ) -> KnotSecondary {
        let dir = TempDir::new("knot-secondary");
        let run = dir.path().join("run");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&run).expect("create rundir");
        std::fs::create_dir_all(&storage).expect("create storage");
        let mut conf = format!(
            "server:\n    rundir: \"{run}\"\n    listen: 127.0.0.1@{port}\n    \
             udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             database:\n    storage: \"{storage}\"\n\
             key:\n  - id: {KEY}.\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             remote:\n  - id: candor\n    address: {ip}@{pport}\n    key: {KEY}.\n\
             acl:\n  - id: notify_from_candor\n    address: {ip}\n    key: {KEY}.\n    \
             action: notify\n\
             log:\n  - target: stderr\n    any: info\n\
             template:\n  - id: default\n    storage: \"{storage}\"\n    \
             zonefile-sync: -1\n    zonefile-load: none\n    journal-content: changes\n    \
             semantic-checks: off\n\
             zone:\n",
            run = run.display(),
            storage = storage.display(),
            ip = primary.ip(),
            pport = primary.port(),
        );
        for zone in zones {
            let _ = write!(
                conf,
                "  - domain: \"{zone}\"\n    master: candor\n    acl: notify_from_candor\n"
            );
        }
        let conf = dir.write("knot.conf", &conf);
        let mut cmd = Command::new(knotd);
        cmd.arg("-c").arg(&conf);
        let process = Process::spawn(cmd, "knotd", &dir.path().join("knot.log"));
        KnotSecondary {
            _process: process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }

    /// Its log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }
}

/// Makes a change through the API; panics unless it is acknowledged.
fn api(h: &Hosted, method: &str, path: &str, body: Option<&str>) -> String {
    let path = format!("/v2/{}/zones/example.com{path}", h.account);
    let r = request(h.api, method, &path, Some(&h.token), body);
    assert!(
        (200..300).contains(&r.status),
        "{method} {path}: {} {}",
        r.status,
        r.body
    );
    r.body
}

/// A record creation body.
fn record(name: &str, rtype: &str, content: &str) -> String {
    format!(r#"{{"name":"{name}","type":"{rtype}","content":"{content}","ttl":300}}"#)
}

/// The parts of an answer both servers must agree on: rcode, AA, and the
/// answer and authority sections (sorted: RRset order is free).
fn essence(m: &Message) -> String {
    let mut answer: Vec<String> = m.answer.iter().map(|r| format!("{r:?}")).collect();
    let mut authority: Vec<String> = m.authority.iter().map(|r| format!("{r:?}")).collect();
    answer.sort();
    authority.sort();
    format!(
        "rcode {} aa {}\nanswer {answer:#?}\nauthority {authority:#?}",
        m.rcode(),
        m.header.flags & candor_wire::Header::AA != 0
    )
}

/// Knot, a secondary of Candor with TSIG, gets the zone by AXFR, then every
/// API change through NOTIFY and IXFR, and answers every name as Candor
/// does (ALIAS flattened to its target's addresses).
#[test]
fn knot_follows_candor_through_notify_and_ixfr() {
    let Some((knotd, _)) = knot_tools("xfr") else {
        return;
    };
    let data = TempDir::new("xfr-primary");
    let knot_port = free_port();
    let h = host_with(
        data.path(),
        None,
        &[
            "--xfr-allow".to_owned(),
            format!("127.0.0.1@{KEY}"),
            "--notify".to_owned(),
            format!("127.0.0.1:{knot_port}@{KEY}"),
        ],
    );
    let secret = add_key(data.path(), KEY, "hmac-sha256");
    wait_for_keys(&h);
    let knot = KnotSecondary::start(
        &knotd,
        knot_port,
        h.candor.addr(),
        &secret,
        &["example.com."],
    );
    let logs = || format!("--- candor:\n{}\n--- knot:\n{}", h.candor.log(), knot.log());
    wait_in_sync(h.candor.addr(), knot.addr, "example.com.", &logs);
    assert!(knot.log().contains("AXFR, incoming"), "{}", logs());

    // A series of API changes, each announced by NOTIFY and sent as IXFR.
    let mut ids = Vec::new();
    for i in 0..6 {
        let body = record(&format!("host{i}"), "A", &format!("192.0.2.{}", 100 + i));
        let body = api(&h, "POST", "/records", Some(&body));
        ids.push(crate::http::json_field(&body, "id").expect("record id"));
    }
    api(
        &h,
        "POST",
        "/records",
        Some(&record("txt", "TXT", "hello world")),
    );
    api(
        &h,
        "POST",
        "/records",
        Some(&record("mx", "MX", "mail.example.com")),
    );
    api(
        &h,
        "POST",
        "/records",
        Some(&record("flat", "ALIAS", "mail.example.com")),
    );
    api(&h, "DELETE", &format!("/records/{}", ids[0]), None);
    api(
        &h,
        "PATCH",
        &format!("/records/{}", ids[1]),
        Some(r#"{"content":"192.0.2.201"}"#),
    );
    wait_in_sync(h.candor.addr(), knot.addr, "example.com.", &logs);
    // The ALIAS's target moves: the flattened address follows.
    let mail = crate::http::json_field(
        &request(
            h.api,
            "GET",
            &format!(
                "/v2/{}/zones/example.com/records?name=mail&type=A",
                h.account
            ),
            Some(&h.token),
            None,
        )
        .body,
        "id",
    )
    .expect("mail record");
    api(
        &h,
        "PATCH",
        &format!("/records/{mail}"),
        Some(r#"{"content":"192.0.2.26"}"#),
    );
    wait_in_sync(h.candor.addr(), knot.addr, "example.com.", &logs);
    let knot_log = knot.log();
    assert!(knot_log.contains("IXFR, incoming"), "{}", logs());
    assert_eq!(
        knot_log.matches("AXFR, incoming, remote").count(),
        2,
        "one AXFR (started, finished), then only IXFRs:\n{}",
        logs()
    );

    // Differential: the secondary answers exactly as the primary.
    let names = [
        "example.com.",
        "www.example.com.",
        "mail.example.com.",
        "host0.example.com.",
        "host1.example.com.",
        "host5.example.com.",
        "txt.example.com.",
        "mx.example.com.",
        "flat.example.com.",
        "nothing.example.com.",
        "deep.host2.example.com.",
    ];
    let types = [
        Rtype::A,
        Rtype::AAAA,
        Rtype::TXT,
        Rtype::MX,
        Rtype::NS,
        Rtype::SOA,
        Rtype::CNAME,
    ];
    let mut differences = String::new();
    for name in names {
        for qtype in types {
            let q = Query::new(name, qtype).to_wire();
            let ask = |addr| {
                udp_exchange(addr, &q, Duration::from_millis(500), 3)
                    .and_then(|r| decode_message(&r).ok())
                    .map(|m| essence(&m))
            };
            let (ours, theirs) = (ask(h.candor.addr()), ask(knot.addr));
            if ours != theirs {
                let _ = writeln!(
                    differences,
                    "{name} {qtype}:\ncandor {ours:#?}\nknot {theirs:#?}"
                );
            }
        }
    }
    assert!(differences.is_empty(), "{differences}");
    // The flattened ALIAS is the target's new address.
    assert_eq!(
        crate::store::addresses(knot.addr, "flat.example.com."),
        ["192.0.2.26"]
    );
}

/// Runs kdig with `args` against `server`; returns its output (stdout and
/// stderr together).
fn kdig(server: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(args)
        .output()
        .expect("run kdig");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// TSIG and the ACL decide who transfers: kdig verifies the signature of
/// every message of a many-message AXFR (hmac-sha256 and hmac-sha512), and
/// a wrong secret, an unknown key, an unsigned request where a key is
/// needed and an address outside the ACL are refused (NOTAUTH, as Knot
/// answers), each source logged once.
#[test]
fn tsig_and_the_acl_decide_who_transfers() {
    if knot_tools("xfr acl").is_none() {
        return;
    }
    let data = TempDir::new("xfr-acl");
    let h = host_with(
        data.path(),
        None,
        &[
            "--xfr-allow".to_owned(),
            format!("127.0.0.1@{KEY}"),
            "--xfr-allow".to_owned(),
            "127.0.0.1@big.key".to_owned(),
            "--xfr-allow".to_owned(),
            "127.0.0.3/32".to_owned(),
        ],
    );
    let secret = add_key(data.path(), KEY, "hmac-sha256");
    let big_secret = add_key(data.path(), "big.key", "hmac-sha512");
    // A zone big enough for many messages.
    let mut text =
        String::from("$TTL 300\n@ SOA ns1.big.test. h.big.test. 1 3600 600 86400 60\n@ NS ns1\n");
    for i in 0..3000 {
        let _ = writeln!(text, "host-{i} A 10.0.{}.{}", i / 256, i % 256);
    }
    let file = data.write("big.test.zone", &text);
    let out = cli(
        data.path(),
        &["zone", "import", "big.test", &file.display().to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while serial(h.candor.addr(), "big.test.").is_none() {
        assert!(
            Instant::now() < deadline,
            "big.test not served:\n{}",
            h.candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_for_keys(&h);
    let addr = h.candor.addr();

    for (key, secret, algorithm) in [
        (KEY, &secret, "hmac-sha256"),
        ("big.key", &big_secret, "hmac-sha512"),
    ] {
        let out = kdig(
            addr,
            &[
                "-y",
                &format!("{algorithm}:{key}:{secret}"),
                "big.test.",
                "AXFR",
            ],
        );
        let summary = out.lines().find(|l| l.contains("Received")).unwrap_or("");
        assert!(
            summary.contains("records") && !out.contains(";; ERROR") && !out.contains(";; WARNING"),
            "{algorithm}:\n{out}"
        );
        let messages: u32 = summary
            .split('(')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(messages > 2, "{summary}");
        // SOA, the two system NS records, 3000 A records and the SOA again.
        assert!(summary.contains("3004 records"), "{summary}");
    }
    // Refusals, as Knot answers them.
    let wrong = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
    let cases = [
        (
            vec!["-y".to_owned(), format!("hmac-sha256:{KEY}:{wrong}")],
            "BADSIG",
        ),
        (
            vec!["-y".to_owned(), format!("hmac-sha256:nobody.key:{wrong}")],
            "BADKEY",
        ),
        (vec![], "NOTAUTH"),
        (vec!["-b".to_owned(), "127.0.0.2".to_owned()], "NOTAUTH"),
        (vec!["-b".to_owned(), "127.0.0.2".to_owned()], "NOTAUTH"),
    ];
    for (extra, want) in &cases {
        let mut args: Vec<&str> = extra.iter().map(String::as_str).collect();
        args.extend(["example.com.", "AXFR"]);
        let out = kdig(addr, &args);
        assert!(out.contains(want), "{extra:?}: want {want}:\n{out}");
    }
    // An allowed address without a key.
    let out = kdig(addr, &["-b", "127.0.0.3", "example.com.", "AXFR"]);
    assert!(
        out.contains("Received") && !out.contains(";; ERROR"),
        "{out}"
    );
    let log = h.candor.log();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("zone transfer refused") && l.contains("source=127.0.0.2"))
            .count(),
        1,
        "{log}"
    );
    assert!(
        !log.contains(&secret) && !log.contains(&big_secret),
        "a secret in the log"
    );
}
