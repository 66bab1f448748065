//! Candor as a primary of real secondaries: Knot DNS 3.2, NSD 4.6 and BIND
//! 9.18 transfer the zone (AXFR, then IXFR after each NOTIFY) with TSIG and
//! answer exactly as Candor does; kdig checks the signature of every
//! transfer message, and bad keys and addresses outside the ACL are
//! refused.

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
pub(crate) const KEY: &str = "xfr.key";

/// `knotd` and `kdig`, or `None` when the test is to be skipped (Knot not
/// installed and `CANDOR_SKIP_KNOT=1`).
pub(crate) fn knot_tools(test: &str) -> Option<(std::path::PathBuf, &'static str)> {
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
pub(crate) fn add_key(dir: &Path, name: &str, algorithm: &str) -> String {
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
pub(crate) fn wait_for_keys(h: &Hosted) {
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

/// A Candor primary with its store in `data`: transfers allowed to
/// 127.0.0.1 with the key [`KEY`] (hmac-sha256, made here), NOTIFY sent
/// to 127.0.0.1:`port` signed with it, and the `extra` flags. Returns once
/// the server has picked the key up, with the key's secret.
pub(crate) fn keyed_primary(data: &Path, port: u16, extra: &[String]) -> (Hosted, String) {
    let mut args = vec![
        "--xfr-allow".to_owned(),
        format!("127.0.0.1@{KEY}"),
        "--notify".to_owned(),
        format!("127.0.0.1:{port}@{KEY}"),
    ];
    args.extend_from_slice(extra);
    let h = host_with(data, None, &args);
    let secret = add_key(data, KEY, "hmac-sha256");
    wait_for_keys(&h);
    (h, secret)
}

/// The serial `addr` serves for `zone`, if it answers.
pub(crate) fn serial(addr: SocketAddr, zone: &str) -> Option<u32> {
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
pub(crate) fn wait_in_sync(
    primary: SocketAddr,
    secondary: SocketAddr,
    zone: &str,
    log: &dyn Fn() -> String,
) {
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

/// The secondaries the tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Knot DNS 3.2.
    Knot,
    /// NSD 4.6.
    Nsd,
    /// BIND 9.18.
    Bind,
}

impl Kind {
    /// The server's binary, if installed.
    pub(crate) fn binary(self) -> Option<std::path::PathBuf> {
        let name = match self {
            Kind::Knot => return knotd_path(),
            Kind::Nsd => "nsd",
            Kind::Bind => "named",
        };
        ["/usr/sbin", "/usr/local/sbin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
    }
}

/// A secondary of Candor for some zones, killed on drop.
pub(crate) struct Secondary {
    /// The process (declared first: it is killed before the directory);
    /// `None` while stopped.
    process: Option<Process>,
    /// Where it answers.
    pub(crate) addr: SocketAddr,
    /// Configuration, storage and log.
    dir: TempDir,
}

impl Secondary {
    /// Starts a `kind` secondary on `port` for `zones` of `primary`, with
    /// the TSIG key `KEY` (hmac-sha256, `secret`) for transfers and for
    /// the NOTIFYs it accepts.
    pub(crate) fn start(
        kind: Kind,
        binary: &Path,
        port: u16,
        primary: SocketAddr,
        secret: &str,
        zones: &[&str],
    ) -> Secondary {
        Secondary::start_in(
            TempDir::new("xfr-secondary"),
            kind,
            binary,
            port,
            primary,
            secret,
            zones,
        )
    }

    /// Stops it (killed and reaped); its storage stays.
    pub(crate) fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again with its storage, after [`Secondary::stop`].
    pub(crate) fn restart(
        self,
        kind: Kind,
        binary: &Path,
        primary: SocketAddr,
        secret: &str,
        zones: &[&str],
    ) -> Secondary {
        let Secondary { process, addr, dir } = self;
        drop(process);
        Secondary::start_in(dir, kind, binary, addr.port(), primary, secret, zones)
    }

    /// [`Secondary::start`] in the directory `dir`.
    fn start_in(
        dir: TempDir,
        kind: Kind,
        binary: &Path,
        port: u16,
        primary: SocketAddr,
        secret: &str,
        zones: &[&str],
    ) -> Secondary {
        let d = dir.path().display().to_string();
        let (ip, pport) = (primary.ip(), primary.port());
        let mut cmd = Command::new(binary);
        match kind {
            Kind::Knot => {
                std::fs::create_dir_all(dir.path().join("storage")).expect("storage");
                let mut conf = format!(
                    "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n    \
                     udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
                     database:\n    storage: \"{d}/storage\"\n\
                     key:\n  - id: {KEY}.\n    algorithm: hmac-sha256\n    secret: {secret}\n\
                     remote:\n  - id: candor\n    address: {ip}@{pport}\n    key: {KEY}.\n\
                     acl:\n  - id: notify_from_candor\n    address: {ip}\n    key: {KEY}.\n    \
                     action: notify\n\
                     log:\n  - target: stderr\n    any: info\n\
                     template:\n  - id: default\n    storage: \"{d}/storage\"\n    \
                     zonefile-sync: -1\n    zonefile-load: none\n    journal-content: changes\n    \
                     semantic-checks: off\n\
                     zone:\n"
                );
                for zone in zones {
                    let _ = write!(
                        conf,
                        "  - domain: \"{zone}\"\n    master: candor\n    acl: notify_from_candor\n"
                    );
                }
                cmd.arg("-c").arg(dir.write("knot.conf", &conf));
            }
            Kind::Nsd => {
                let mut conf = format!(
                    "server:\n  ip-address: 127.0.0.1@{port}\n  zonesdir: \"{d}\"\n  \
                     database: \"\"\n  pidfile: \"{d}/nsd.pid\"\n  username: \"\"\n  \
                     chroot: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
                     zonelistfile: \"{d}/zone.list\"\n  xfrdir: \"{d}\"\n  verbosity: 2\n  \
                     server-count: 1\n  tcp-count: 10\n\
                     remote-control:\n  control-enable: no\n\
                     key:\n  name: {KEY}.\n  algorithm: hmac-sha256\n  secret: \"{secret}\"\n"
                );
                for zone in zones {
                    let _ = write!(
                        conf,
                        "zone:\n  name: {zone}\n  zonefile: \"{zone}zone\"\n  \
                         allow-notify: {ip} {KEY}.\n  request-xfr: {ip}@{pport} {KEY}.\n"
                    );
                }
                cmd.arg("-d").arg("-c").arg(dir.write("nsd.conf", &conf));
            }
            Kind::Bind => {
                let mut conf = format!(
                    "options {{\n  directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  \
                     listen-on-v6 {{ none; }};\n  pid-file \"{d}/named.pid\";\n  \
                     recursion no;\n  dnssec-validation no;\n  notify no;\n}};\n\
                     controls {{ }};\n\
                     key \"{KEY}.\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\n"
                );
                for zone in zones {
                    let _ = write!(
                        conf,
                        "zone \"{zone}\" {{\n  type secondary;\n  \
                         primaries port {pport} {{ {ip} key \"{KEY}.\"; }};\n  \
                         file \"{d}/{zone}db\";\n  allow-notify {{ key \"{KEY}.\"; }};\n}};\n"
                    );
                }
                cmd.args(["-g", "-n", "1", "-u", "root", "-c"])
                    .arg(dir.write("named.conf", &conf));
            }
        }
        let process = Process::spawn(cmd, &format!("{kind:?}"), &dir.path().join("server.log"));
        Secondary {
            process: Some(process),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// Makes a change through the API; panics unless it is acknowledged.
pub(crate) fn api(h: &Hosted, method: &str, path: &str, body: Option<&str>) -> String {
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
pub(crate) fn record(name: &str, rtype: &str, content: &str) -> String {
    format!(r#"{{"name":"{name}","type":"{rtype}","content":"{content}","ttl":300}}"#)
}

/// The parts of an answer both servers must agree on: rcode, AA, the
/// answer section, and the authority section of answers without one
/// (negative answers, referrals); sorted, as RRset order is free. NSD and
/// BIND also put the zone's NS records in the authority section of
/// positive answers (a choice RFC 2181 leaves them), which is left out.
pub(crate) fn essence(m: &Message) -> String {
    let mut answer: Vec<String> = m.answer.iter().map(|r| format!("{r:?}")).collect();
    let mut authority: Vec<String> = match m.answer.is_empty() {
        true => m.authority.iter().map(|r| format!("{r:?}")).collect(),
        false => Vec::new(),
    };
    answer.sort();
    authority.sort();
    format!(
        "rcode {} aa {}\nanswer {answer:#?}\nauthority {authority:#?}",
        m.rcode(),
        m.header.flags & candor_wire::Header::AA != 0
    )
}

/// A secondary of Candor with TSIG gets the zone by AXFR, then every API
/// change through NOTIFY and IXFR, and answers every name as Candor does
/// (ALIAS flattened to its target's addresses). Returns the secondary's
/// log.
fn follows_candor(kind: Kind) -> Option<String> {
    let Some(binary) = kind.binary() else {
        if std::env::var("CANDOR_SKIP_SECONDARIES").is_ok_and(|v| v == "1") {
            eprintln!("{kind:?} secondary: skipped, not installed (CANDOR_SKIP_SECONDARIES=1)");
            return None;
        }
        panic!(
            "{kind:?} is not installed: apt-get install knot nsd bind9 (scripts/test does), \
             or set CANDOR_SKIP_SECONDARIES=1 to skip this test"
        );
    };
    let data = TempDir::new("xfr-primary");
    let port = free_port();
    let (h, secret) = keyed_primary(data.path(), port, &[]);
    let secondary = Secondary::start(
        kind,
        &binary,
        port,
        h.candor.addr(),
        &secret,
        &["example.com."],
    );
    let logs = || {
        format!(
            "--- candor:\n{}\n--- {kind:?}:\n{}",
            h.candor.log(),
            secondary.log()
        )
    };
    wait_in_sync(h.candor.addr(), secondary.addr, "example.com.", &logs);

    // A series of API changes, each announced by NOTIFY.
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
    wait_in_sync(h.candor.addr(), secondary.addr, "example.com.", &logs);
    // The ALIAS's target moves: the flattened address follows.
    let list = format!(
        "/v2/{}/zones/example.com/records?name=mail&type=A",
        h.account
    );
    let mail = crate::http::json_field(
        &request(h.api, "GET", &list, Some(&h.token), None).body,
        "id",
    )
    .expect("mail record");
    api(
        &h,
        "PATCH",
        &format!("/records/{mail}"),
        Some(r#"{"content":"192.0.2.26"}"#),
    );
    wait_in_sync(h.candor.addr(), secondary.addr, "example.com.", &logs);

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
                let mut m = udp_exchange(addr, &q, Duration::from_millis(500), 3)
                    .and_then(|r| decode_message(&r).ok())?;
                // BIND gives the SOA of a negative answer to an SOA query
                // TTL 0, so the negative answer is not cached in place of
                // the SOA; its own choice, not part of the zone.
                if kind == Kind::Bind && qtype == Rtype::SOA {
                    m.authority.iter_mut().for_each(|r| r.ttl = 0);
                }
                Some(essence(&m))
            };
            let (ours, theirs) = (ask(h.candor.addr()), ask(secondary.addr));
            if ours != theirs {
                let _ = writeln!(
                    differences,
                    "{name} {qtype}:\ncandor {ours:#?}\n{kind:?} {theirs:#?}"
                );
            }
        }
    }
    assert!(differences.is_empty(), "{differences}");
    // The flattened ALIAS is the target's new address.
    assert_eq!(
        crate::store::addresses(secondary.addr, "flat.example.com."),
        ["192.0.2.26"]
    );
    Some(secondary.log())
}

/// Knot DNS 3.2 follows Candor: one AXFR, then only IXFRs.
#[test]
fn knot_follows_candor_through_notify_and_ixfr() {
    let Some(log) = follows_candor(Kind::Knot) else {
        return;
    };
    assert!(log.contains("IXFR, incoming"), "{log}");
    assert_eq!(
        log.matches("AXFR, incoming, remote").count(),
        2,
        "one AXFR (started, finished), then only IXFRs:\n{log}"
    );
}

/// NSD 4.6 follows Candor (IXFR over TCP, TSIG-verified).
#[test]
fn nsd_follows_candor_through_notify_and_ixfr() {
    let Some(log) = follows_candor(Kind::Nsd) else {
        return;
    };
    assert!(
        log.contains(&format!("TSIG verified with key {KEY}")),
        "{log}"
    );
}

/// BIND 9.18 follows Candor (its refresh asks for the SOA over UDP,
/// signed, and the answer must be signed).
#[test]
fn bind_follows_candor_through_notify_and_ixfr() {
    let Some(log) = follows_candor(Kind::Bind) else {
        return;
    };
    assert!(
        log.contains("transferred serial") && log.contains("TSIG 'xfr.key'"),
        "{log}"
    );
    assert!(!log.contains("expected a TSIG"), "{log}");
}

/// Runs kdig with `args` against `server`; returns its output (stdout and
/// stderr together).
pub(crate) fn kdig(server: SocketAddr, args: &[&str]) -> String {
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
