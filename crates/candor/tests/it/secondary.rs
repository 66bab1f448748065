//! Candor as a secondary (`serve --secondary ZONE@PRIMARY[@KEY]`): of a
//! Knot DNS 3.2 primary (AXFR, then a change + NOTIFY → IXFR, TSIG good
//! and bad, NOTIFY refused from elsewhere, a restart with the primary down
//! still serves until the SOA expire, then SERVFAIL) and of a Candor
//! primary (API changes reach it through NOTIFY and IXFR). Differential:
//! the secondary answers every name exactly as its primary.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::http::request;
use crate::store::{Hosted, host_with};
use crate::support::{Candor, Process, Query, TempDir, free_port, knotd_path, udp_exchange};
use crate::xfr::{KEY, add_key, essence, serial, wait_for_keys, wait_in_sync};

/// The arguments of a Candor secondary listening on `addr` with its data
/// directory `data`, following as `follow` says (`--secondary
/// ZONE@PRIMARY[@KEY]` or `--secondary-catalog ...`), with the flags
/// `extra` too; started with `Candor::start_with(&args, "ready.test.")`.
/// Its `--zones` directory (returned: keep it while the server runs)
/// holds `ready.test.`, which it answers at once, so its start can be
/// waited for.
pub(crate) fn secondary_args(
    addr: SocketAddr,
    data: &Path,
    follow: [&str; 2],
    extra: &[&str],
) -> (Vec<String>, TempDir) {
    let zones = TempDir::new("candor-secondary-zones");
    zones.write(
        "ready.test.zone",
        "$TTL 60\n@ SOA ns.ready.test. h.ready.test. 1 60 60 600 60\n@ NS ns\nns A 192.0.2.1\n",
    );
    let mut args: Vec<String> = vec![
        "--zones".to_owned(),
        zones.path().display().to_string(),
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--no-demo".to_owned(),
        "--listen".to_owned(),
        addr.to_string(),
    ];
    args.extend(follow.iter().chain(extra).map(|a| (*a).to_owned()));
    (args, zones)
}

/// The zone Knot serves, at `serial`, with `www` as www's address. SOA
/// timers: refresh 2 s, retry 1 s, expire 12 s (so the test sees it
/// expire).
fn zone_text(serial: u32, www: &str) -> String {
    format!(
        "$ORIGIN sec.test.\n$TTL 300\n@ SOA ns.sec.test. h.sec.test. {serial} 2 1 12 60\n\
         @ NS ns\nns A 192.0.2.53\nwww A {www}\nwww AAAA 2001:db8::1\n\
         mail MX 10 mail\nmail A 192.0.2.25\nalias CNAME www\n*.wild TXT \"wild\"\n\
         sub NS ns.sub\nns.sub A 192.0.2.99\n"
    )
}

/// A Knot DNS primary of `sec.test.` with TSIG key `KEY` (`secret`),
/// sending NOTIFY to `notify`; killed on drop.
struct KnotPrimary {
    /// The process (declared first: killed before the directory goes).
    _process: Process,
    /// Where it answers.
    addr: SocketAddr,
    /// Its configuration, zone file, storage and log.
    dir: TempDir,
}

impl KnotPrimary {
    /// Starts it on `port`.
    fn start(knotd: &Path, port: u16, secret: &str, notify: SocketAddr) -> KnotPrimary {
        let dir = TempDir::new("knot-primary");
        let d = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("storage")).expect("storage");
        let file = dir.write("sec.test.zone", &zone_text(1, "192.0.2.1"));
        let conf = format!(
            "server:\n    rundir: \"{d}\"\n    listen: 127.0.0.1@{port}\n    \
             udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             database:\n    storage: \"{d}/storage\"\n\
             key:\n  - id: {KEY}.\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             remote:\n  - id: candor\n    address: {}@{}\n    key: {KEY}.\n\
             acl:\n  - id: transfer\n    address: 127.0.0.1\n    key: {KEY}.\n    \
             action: transfer\n\
             log:\n  - target: stderr\n    any: info\n\
             template:\n  - id: default\n    storage: \"{d}/storage\"\n    \
             zonefile-sync: -1\n    zonefile-load: difference\n    journal-content: changes\n    \
             semantic-checks: off\n\
             zone:\n  - domain: sec.test.\n    file: \"{}\"\n    notify: candor\n    \
             acl: transfer\n",
            notify.ip(),
            notify.port(),
            file.display()
        );
        let mut cmd = Command::new(knotd);
        cmd.arg("-c").arg(dir.write("knot.conf", &conf));
        let process = Process::spawn(cmd, "knotd", &dir.path().join("knot.log"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while serial(addr, "sec.test.").is_none() {
            assert!(Instant::now() < deadline, "knotd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        KnotPrimary {
            _process: process,
            addr,
            dir,
        }
    }

    /// Replaces the zone with version `serial` and has Knot load the
    /// difference (it then sends NOTIFY).
    fn change(&self, version: u32, www: &str) {
        self.dir.write("sec.test.zone", &zone_text(version, www));
        let out = Command::new("knotc")
            .arg("-s")
            .arg(self.dir.path().join("knot.sock"))
            .args(["zone-reload", "sec.test."])
            .output()
            .expect("run knotc");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // knotc returns before the zone is loaded.
        let deadline = Instant::now() + Duration::from_secs(10);
        while serial(self.addr, "sec.test.") != Some(version) {
            assert!(
                Instant::now() < deadline,
                "knot did not load serial {version}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }
}

/// Names and types both servers are asked in the differential checks.
const TYPES: [Rtype; 6] = [
    Rtype::A,
    Rtype::AAAA,
    Rtype::TXT,
    Rtype::MX,
    Rtype::NS,
    Rtype::SOA,
];

/// Asks both servers each of `names` × [`TYPES`]; returns the differences.
fn differences(primary: SocketAddr, secondary: SocketAddr, names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        for qtype in TYPES {
            let q = Query::new(name, qtype).to_wire();
            let ask = |addr| {
                udp_exchange(addr, &q, Duration::from_millis(500), 3)
                    .and_then(|r| decode_message(&r).ok())
                    .map(|m| essence(&m))
            };
            let (theirs, ours) = (ask(primary), ask(secondary));
            if theirs != ours {
                let _ = writeln!(
                    out,
                    "{name} {qtype}:\nprimary {theirs:#?}\ncandor {ours:#?}"
                );
            }
        }
    }
    out
}

/// The rcode `addr` answers for `name` A, if it answers.
fn rcode(addr: SocketAddr, name: &str) -> Option<u16> {
    let q = Query::new(name, Rtype::A).to_wire();
    let resp = udp_exchange(addr, &q, Duration::from_millis(300), 2)?;
    Some(decode_message(&resp).ok()?.rcode())
}

/// A NOTIFY for `zone`, unsigned.
fn notify(zone: &str) -> Vec<u8> {
    let mut q = Query::new(zone, Rtype::SOA).to_wire();
    q[2] = 0x24; // opcode NOTIFY, AA
    q[3] = 0;
    q
}

/// Candor follows a Knot primary with TSIG: AXFR, then IXFR after a change
/// and Knot's NOTIFY, answering as Knot does; a wrong secret gets nothing;
/// an unsigned NOTIFY is refused; after a restart with Knot stopped it
/// still serves the zone, until the SOA expire passes (then SERVFAIL).
#[test]
fn candor_follows_a_knot_primary() {
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("skipped: Knot DNS is not installed (CANDOR_SKIP_KNOT=1)");
            return;
        }
        panic!("knotd not found: apt-get install knot, or set CANDOR_SKIP_KNOT=1");
    };
    let data = TempDir::new("secondary-of-knot");
    let kport = free_port();
    let upstream = format!("sec.test@127.0.0.1:{kport}@{KEY}");
    let h = host_with(
        data.path(),
        None,
        &["--secondary".to_owned(), upstream.clone()],
    );
    let secret = add_key(data.path(), KEY, "hmac-sha256");
    wait_for_keys(&h);
    let knot = KnotPrimary::start(&knotd, kport, &secret, h.candor.addr());
    let logs = || format!("--- candor:\n{}\n--- knot:\n{}", h.candor.log(), knot.log());
    wait_in_sync(knot.addr, h.candor.addr(), "sec.test.", &logs);
    assert!(h.candor.log().contains("transfer=AXFR"), "{}", logs());

    // A change on Knot: NOTIFY, then IXFR.
    knot.change(2, "192.0.2.2");
    wait_in_sync(knot.addr, h.candor.addr(), "sec.test.", &logs);
    let log = h.candor.log();
    assert!(
        log.lines()
            .any(|l| l.contains("secondary zone transferred") && l.contains("transfer=IXFR")),
        "{}",
        logs()
    );
    assert!(
        knot.log().lines().any(|l| l.contains("notify, outgoing")
            && l.contains("serial 2")
            && !l.contains("error")),
        "Candor acknowledged Knot's NOTIFY of serial 2:\n{}",
        logs()
    );
    let names = [
        "sec.test.",
        "www.sec.test.",
        "alias.sec.test.",
        "mail.sec.test.",
        "a.wild.sec.test.",
        "host.sub.sec.test.",
        "nothing.sec.test.",
    ];
    let diff = differences(knot.addr, h.candor.addr(), &names);
    assert!(diff.is_empty(), "{diff}");

    // NOTIFY without the key, or from a stranger, is refused.
    let resp = udp_exchange(
        h.candor.addr(),
        &notify("sec.test."),
        Duration::from_millis(500),
        3,
    )
    .expect("an answer to NOTIFY");
    assert_eq!(
        decode_message(&resp).expect("decodes").rcode(),
        9,
        "NOTAUTH"
    );

    // Another Candor with the wrong secret for the key gets nothing.
    let wrong = TempDir::new("secondary-wrong-key");
    let w = host_with(
        wrong.path(),
        None,
        &["--secondary".to_owned(), upstream.clone()],
    );
    add_key(wrong.path(), KEY, "hmac-sha256");
    wait_for_keys(&w);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !w.candor.log().contains("BADSIG") {
        assert!(
            Instant::now() < deadline,
            "no TSIG failure:\n{}",
            w.candor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        rcode(w.candor.addr(), "www.sec.test."),
        Some(5),
        "not served"
    );
    drop(w);

    // Restart with Knot stopped: served from the copy on disk.
    let copy = data.path().join("secondary/sec.test.zone");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&copy).expect("the copy").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    drop(knot);
    restart_serves_until_expire(h, data.path(), &upstream);
}

/// Stops `h`, starts Candor again on `data` as a secondary through
/// `upstream` (now down): it serves the copy, then SERVFAIL once the SOA
/// expire (12 s) has passed.
fn restart_serves_until_expire(mut h: Hosted, data: &Path, upstream: &str) {
    h.candor.process().signal("TERM");
    let _ = h.candor.process().wait_timeout(Duration::from_secs(10));
    let args = vec![
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--secondary".to_owned(),
        upstream.to_owned(),
    ];
    let c = Candor::start_with(&args, "sec.test.");
    let q = Query::new("www.sec.test.", Rtype::A).to_wire();
    let resp = udp_exchange(c.addr(), &q, Duration::from_millis(500), 3).expect("an answer");
    let m = decode_message(&resp).expect("decodes");
    assert_eq!(m.answer.len(), 1, "{}", c.log());
    assert!(
        c.log().contains("served from its copy on disk"),
        "{}",
        c.log()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while rcode(c.addr(), "www.sec.test.") != Some(2) {
        assert!(
            Instant::now() < deadline,
            "no SERVFAIL after expire ({:?}):\n{}",
            rcode(c.addr(), "www.sec.test."),
            c.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(c.log().contains("secondary zone expired"), "{}", c.log());
}

/// Candor follows a Candor primary with TSIG (the primary's key stored
/// on the secondary with `tsig add --secret-from-stdin`): the demo zone
/// arrives by AXFR, every API change by NOTIFY and IXFR, and both answer
/// every name alike.
#[test]
fn candor_follows_a_candor_primary() {
    let sport = free_port();
    let secondary_addr = SocketAddr::from(([127, 0, 0, 1], sport));
    let pdata = TempDir::new("candor-primary");
    let p = host_with(
        pdata.path(),
        None,
        &[
            "--xfr-allow".to_owned(),
            format!("127.0.0.1@{KEY}"),
            "--notify".to_owned(),
            format!("{secondary_addr}@{KEY}"),
        ],
    );
    let secret = add_key(pdata.path(), KEY, "hmac-sha256");
    wait_for_keys(&p);
    let sdata = TempDir::new("candor-secondary");
    let follow = format!("example.com@{}@{KEY}", p.candor.addr());
    let (args, _zones) =
        secondary_args(secondary_addr, sdata.path(), ["--secondary", &follow], &[]);
    let s = Candor::start_with(&args, "ready.test.");
    // The primary's key, stored on the secondary (read from stdin).
    let mut import = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["tsig", "add", KEY, "--secret-from-stdin", "--data-dir"])
        .arg(sdata.path())
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run candor tsig add");
    std::io::Write::write_all(
        &mut import.stdin.take().expect("stdin"),
        format!("{secret}\n").as_bytes(),
    )
    .expect("write the secret");
    let out = import.wait_with_output().expect("candor tsig add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = || {
        format!(
            "--- primary:\n{}\n--- secondary:\n{}",
            p.candor.log(),
            s.log()
        )
    };
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &logs);

    let api = |method: &str, path: &str, body: Option<&str>| {
        let path = format!("/v2/{}/zones/example.com{path}", p.account);
        let r = request(p.api, method, &path, Some(&p.token), body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {}",
            r.body
        );
        r.body
    };
    let record = |name: &str, rtype: &str, content: &str| {
        format!(r#"{{"name":"{name}","type":"{rtype}","content":"{content}","ttl":300}}"#)
    };
    let mut ids = Vec::new();
    for i in 0..4 {
        let body = api(
            "POST",
            "/records",
            Some(&record(&format!("h{i}"), "A", &format!("192.0.2.{i}"))),
        );
        ids.push(crate::http::json_field(&body, "id").expect("record id"));
        wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &logs);
    }
    api("POST", "/records", Some(&record("t", "TXT", "hello")));
    api("DELETE", &format!("/records/{}", ids[0]), None);
    api(
        "PATCH",
        &format!("/records/{}", ids[1]),
        Some(r#"{"content":"192.0.2.77"}"#),
    );
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &logs);
    let names = [
        "example.com.",
        "www.example.com.",
        "mail.example.com.",
        "h0.example.com.",
        "h1.example.com.",
        "h3.example.com.",
        "t.example.com.",
        "nothing.example.com.",
    ];
    let diff = differences(p.candor.addr(), secondary_addr, &names);
    assert!(diff.is_empty(), "{diff}");
    let log = s.log();
    assert_eq!(log.matches("transfer=AXFR").count(), 1, "{}", logs());
    assert!(log.contains("transfer=IXFR"), "{}", logs());
}

/// Candor learns its secondary zones from a Candor primary's catalog
/// (`--secondary-catalog`): the primary's zones are served, a zone
/// created on the primary appears, a deleted one disappears (REFUSED);
/// the catalog itself is not served.
#[test]
fn candor_follows_a_candor_primarys_catalog() {
    let sport = free_port();
    let secondary_addr = SocketAddr::from(([127, 0, 0, 1], sport));
    let pdata = TempDir::new("catalog-candor-primary");
    let p = host_with(
        pdata.path(),
        None,
        &[
            "--catalog".to_owned(),
            "catalog.invalid".to_owned(),
            "--xfr-allow".to_owned(),
            "127.0.0.1".to_owned(),
            "--notify".to_owned(),
            secondary_addr.to_string(),
        ],
    );
    let sdata = TempDir::new("catalog-candor-secondary");
    let follow = format!("catalog.invalid@{}", p.candor.addr());
    let (args, _zones) = secondary_args(
        secondary_addr,
        sdata.path(),
        ["--secondary-catalog", &follow],
        &[],
    );
    let s = Candor::start_with(&args, "ready.test.");
    let logs = || {
        format!(
            "--- primary:\n{}\n--- secondary:\n{}",
            p.candor.log(),
            s.log()
        )
    };
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &logs);
    let out = crate::store::cli(pdata.path(), &["zone", "create", "fresh.test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_in_sync(p.candor.addr(), secondary_addr, "fresh.test.", &logs);
    let out = crate::store::cli(pdata.path(), &["zone", "delete", "fresh.test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while rcode(secondary_addr, "fresh.test.") != Some(5) {
        assert!(
            Instant::now() < deadline,
            "fresh.test still served:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!sdata.path().join("secondary/fresh.test.zone").exists());
    assert_eq!(
        rcode(secondary_addr, "catalog.invalid."),
        Some(5),
        "the catalog is not served"
    );
    let diff = differences(
        p.candor.addr(),
        secondary_addr,
        &["example.com.", "www.example.com."],
    );
    assert!(diff.is_empty(), "{diff}");
}
