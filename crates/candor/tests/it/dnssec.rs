//! `candor dnssec` on a real store: enable makes a key and prints its DS,
//! CDS and CDNSKEY; status shows the same; export prints the zone signed
//! with the stored key, which BIND's `dnssec-verify` accepts; disable
//! deletes the keys, after which export refuses. The export, served by
//! Knot DNS as a pre-signed zone, validates in Unbound; so do `candor
//! serve`'s own answers, every kind of them, and the answers of Knot,
//! NSD and BIND secondaries from the signed zone they transferred; after
//! disabling, Candor serves the zone unsigned.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::store::cli;
use crate::support::{
    Candor, Edns, KnotServer, Process, Query, TempDir, free_port, knotd_path, udp_exchange,
};

/// Runs the CLI and requires success; returns standard output.
pub(crate) fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "candor {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error of a finished command.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `dnssec-verify` accepts a zone file (`None` when it is missing
/// and `CANDOR_SKIP_DNSSEC_TOOLS=1` allows skipping).
pub(crate) fn dnssec_verify(dir: &TempDir, text: &str) -> Option<(bool, String)> {
    if std::process::Command::new("dnssec-verify")
        .arg("-V")
        .output()
        .is_err()
    {
        if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
            eprintln!(
                "dnssec: skipped, dnssec-verify is not installed (CANDOR_SKIP_DNSSEC_TOOLS=1)"
            );
            return None;
        }
        panic!(
            "dnssec-verify (BIND) is needed: apt-get install bind9-utils, \
             or set CANDOR_SKIP_DNSSEC_TOOLS=1 to skip this test"
        );
    }
    let file = dir.write("signed.zone", text);
    let out = std::process::Command::new("dnssec-verify")
        .args(["-z", "-o", "example.com."])
        .arg(&file)
        .output()
        .expect("run dnssec-verify");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), log))
}

#[test]
fn dnssec_enable_status_export_and_disable() {
    let dir = TempDir::new("candor-dnssec");
    let data = dir.path().join("data");
    ok(&data, &["init", "--email", "ops@example.org"]);
    ok(&data, &["zone", "create", "example.com"]);
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.1"],
    );
    ok(
        &data,
        &["record", "add", "example.com", "*.wild", "TXT", "wild"],
    );
    ok(
        &data,
        &[
            "record",
            "add",
            "example.com",
            "sub",
            "NS",
            "ns.sub.example.com",
        ],
    );
    ok(
        &data,
        &["record", "add", "example.com", "ns.sub", "A", "192.0.2.53"],
    );

    let off = cli(&data, &["dnssec", "status", "example.com"]);
    assert!(off.status.success());
    assert!(off.stdout.is_empty());
    assert!(
        stderr(&off).contains("DNSSEC is not enabled"),
        "{}",
        stderr(&off)
    );
    let refused = cli(&data, &["dnssec", "export", "example.com"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("run `candor dnssec enable example.com` first"),
        "{}",
        stderr(&refused)
    );

    let enabled = cli(&data, &["dnssec", "enable", "example.com"]);
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    // The DS, not offered yet: no CDS until `candor serve` has served the
    // signed zone long enough, and the user is told so.
    assert!(
        stderr(&enabled).contains("The DS below is NOT offered yet"),
        "{}",
        stderr(&enabled)
    );
    let printed = String::from_utf8_lossy(&enabled.stdout).into_owned();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "{printed}");
    let ds: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&ds[..3], ["example.com.", "IN", "DS"]);
    let fields: Vec<&str> = ds[3].split(' ').collect();
    assert_eq!((fields[1], fields[2], fields[3].len()), ("13", "2", 64));
    let status = cli(&data, &["dnssec", "status", "example.com"]);
    assert_eq!(String::from_utf8_lossy(&status.stdout), printed);
    assert!(
        stderr(&status).contains(&format!(
            "key {} CSK algorithm 13: active (published ",
            fields[0]
        )) && stderr(&status).contains("; DS not offered yet"),
        "{}",
        stderr(&status)
    );
    let twice = cli(&data, &["dnssec", "enable", "example.com"]);
    assert!(!twice.status.success());
    assert!(
        stderr(&twice).contains("already enabled"),
        "{}",
        stderr(&twice)
    );

    let signed = ok(&data, &["dnssec", "export", "example.com"]);
    assert!(
        signed.contains("\tNSEC\t") && signed.contains("\tRRSIG\t"),
        "{signed}"
    );
    // The DNSKEY in the export is the key of the DS printed above.
    assert!(signed.contains("\tRRSIG\tDNSKEY 13 2 3600 "), "{signed}");
    assert!(
        signed.contains(&format!(" {} example.com. ", fields[0])),
        "{signed}"
    );
    if let Some((accepted, log)) = dnssec_verify(&dir, &signed) {
        assert!(
            accepted,
            "dnssec-verify rejected the export:\n{log}\n{signed}"
        );
    }

    // Disabling the safe way: CDS/CDNSKEY DELETE, still signed.
    let asked = cli(&data, &["dnssec", "disable", "example.com"]);
    assert!(asked.status.success(), "{}", stderr(&asked));
    assert!(
        stderr(&asked).contains("CDS/CDNSKEY DELETE"),
        "{}",
        stderr(&asked)
    );
    assert_eq!(
        ok(&data, &["dnssec", "status", "example.com"]),
        "example.com.\tIN\tCDS\t0 0 0 00\nexample.com.\tIN\tCDNSKEY\t0 3 0 AA==\n"
    );
    let twice = cli(&data, &["dnssec", "disable", "example.com"]);
    assert!(
        stderr(&twice).contains("already being disabled"),
        "{}",
        stderr(&twice)
    );
    assert!(
        ok(&data, &["dnssec", "export", "example.com"]).contains("\tCDS\t0 0 0 00\n"),
        "the export publishes CDS DELETE"
    );

    // A signed zone takes an ALIAS (issue 12: its answers are signed by
    // the ALIAS signer when its addresses are known).
    ok(
        &data,
        &[
            "record",
            "add",
            "example.com",
            "app",
            "ALIAS",
            "www.example.com",
        ],
    );
    // At once, with a warning.
    let forced = cli(&data, &["dnssec", "disable", "example.com", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stderr(&forced).contains("WARNING"), "{}", stderr(&forced));
    assert!(ok(&data, &["dnssec", "status", "example.com"]).is_empty());
    let again = cli(&data, &["dnssec", "disable", "example.com"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not enabled"), "{}", stderr(&again));
    assert!(
        !cli(&data, &["dnssec", "export", "example.com"])
            .status
            .success()
    );
}

/// Unbound as a validating resolver on a free port, trusting `anchor` (a
/// DS record in presentation form) for example.com and asking the server
/// at `auth` for that zone; killed on drop.
pub(crate) struct Validator {
    /// The process (dropped first: killed before the directory goes).
    _process: Process,
    /// Where it answers.
    pub(crate) addr: SocketAddr,
    /// Its configuration and log.
    _dir: TempDir,
}

impl Validator {
    /// Starts unbound and waits until it answers.
    pub(crate) fn start(unbound: &Path, auth: SocketAddr, anchor: &str) -> Validator {
        Validator::start_for(unbound, auth, anchor, &["example.com."], "")
    }

    /// Starts unbound with stub zones `zones` (each at `auth`) and more
    /// `server:` settings `extra` (each line indented), and waits until it
    /// answers.
    fn start_for(
        unbound: &Path,
        auth: SocketAddr,
        anchor: &str,
        zones: &[&str],
        extra: &str,
    ) -> Validator {
        let dir = TempDir::new("unbound");
        let port = free_port();
        let conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  \
             username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
             use-syslog: no\n  verbosity: 1\n  val-log-level: 2\n  num-threads: 1\n  \
             do-ip6: no\n  so-reuseport: no\n  do-not-query-localhost: no\n  \
             module-config: \"validator iterator\"\n  qname-minimisation: no\n  \
             aggressive-nsec: no\n  access-control: 127.0.0.0/8 allow\n  \
             trust-anchor: \"{anchor}\"\n{extra}\
             remote-control:\n  control-enable: no\n",
            d = dir.path().display(),
        );
        let mut conf = conf;
        for zone in zones {
            conf.push_str(&format!(
                "stub-zone:\n  name: \"{zone}\"\n  stub-addr: {}@{}\n",
                auth.ip(),
                auth.port()
            ));
        }
        let conf_path = dir.write("unbound.conf", &conf);
        let log = dir.path().join("unbound.log");
        let mut cmd = Command::new(unbound);
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let process = Process::spawn(cmd, "unbound", &log);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let probe = Query::new(zones.first().copied().unwrap_or("."), Rtype::SOA).to_wire();
        let deadline = Instant::now() + Duration::from_secs(10);
        while udp_exchange(addr, &probe, Duration::from_millis(200), 1).is_none() {
            assert!(
                Instant::now() < deadline,
                "unbound did not answer:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Validator {
            _process: process,
            addr,
            _dir: dir,
        }
    }

    /// Asks a recursive DO=1 question: (rcode, AD bit, answer count).
    fn ask(&self, name: &str, rtype: Rtype) -> (u16, bool, usize) {
        let mut q = Query::new(name, rtype).edns(Edns {
            dnssec_ok: true,
            ..Edns::with_payload(1232)
        });
        q.rd = true;
        let reply = udp_exchange(self.addr, &q.to_wire(), Duration::from_secs(2), 3)
            .unwrap_or_else(|| panic!("no answer from unbound for {name} {rtype}"));
        let m = decode_message(&reply).expect("a response");
        (m.rcode(), m.header.flags & 0x0020 != 0, m.answer.len())
    }
}

/// The exported signed zone, served by Knot DNS as a pre-signed zone and
/// asked through Unbound with the zone's DS as trust anchor, validates:
/// positive answers, NXDOMAIN, NODATA, a wildcard answer, the apex DNSKEY
/// and the proof that a delegation has no DS all come back with AD set.
/// With a DS that matches no key, the same questions fail (SERVFAIL), so
/// the check can fail.
#[test]
fn a_validating_resolver_accepts_the_signed_export() {
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("dnssec: skipped, knotd is not installed (CANDOR_SKIP_KNOT=1)");
            return;
        }
        panic!("knotd is needed: apt-get install knot, or set CANDOR_SKIP_KNOT=1");
    };
    let unbound = Path::new("/usr/sbin/unbound");
    if !unbound.is_file() {
        if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
            eprintln!("dnssec: skipped, unbound is not installed (CANDOR_SKIP_DNSSEC_TOOLS=1)");
            return;
        }
        panic!("unbound is needed: apt-get install unbound, or set CANDOR_SKIP_DNSSEC_TOOLS=1");
    }
    let dir = TempDir::new("candor-dnssec-validate");
    let data = dir.path().join("data");
    ok(&data, &["init", "--email", "ops@example.org"]);
    ok(&data, &["zone", "create", "example.com"]);
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.1"],
    );
    ok(
        &data,
        &["record", "add", "example.com", "*.wild", "TXT", "wild"],
    );
    ok(
        &data,
        &[
            "record",
            "add",
            "example.com",
            "sub",
            "NS",
            "ns.sub.example.com",
        ],
    );
    ok(
        &data,
        &["record", "add", "example.com", "ns.sub", "A", "192.0.2.53"],
    );
    let status = ok(&data, &["dnssec", "enable", "example.com"]);
    let ds = status.lines().next().expect("a DS line").replace('\t', " ");
    let signed = ok(&data, &["dnssec", "export", "example.com"]);
    let file = dir.write("example.com.zone", &signed);
    let knot = KnotServer::start(&knotd, &[("example.com".to_owned(), file)]);

    let resolver = Validator::start(unbound, knot.addr(), &ds);
    let cases = [
        ("www.example.com", Rtype::A, 0, 1),
        ("example.com", Rtype::DNSKEY, 0, 1),
        ("nope.example.com", Rtype::A, 3, 0),
        ("www.example.com", Rtype::TXT, 0, 0),
        ("x.wild.example.com", Rtype::TXT, 0, 1),
        ("sub.example.com", Rtype::DS, 0, 0),
    ];
    for (name, rtype, rcode, answers) in cases {
        let (got_rcode, ad, got_answers) = resolver.ask(name, rtype);
        assert_eq!(
            (got_rcode, ad),
            (rcode, true),
            "{name} {rtype}: rcode {got_rcode}, AD {ad}"
        );
        // The answer section holds the RRset and its RRSIG.
        assert_eq!(got_answers, answers * 2, "{name} {rtype}");
    }
    drop(resolver);

    // A DS of a key the zone does not have: nothing validates.
    let fields: Vec<&str> = ds.split(' ').collect();
    let wrong_digest = "0".repeat(64);
    let wrong = format!("{} {wrong_digest}", fields[..6].join(" "));
    let resolver = Validator::start(unbound, knot.addr(), &wrong);
    for (name, rtype, _, _) in cases {
        let (got_rcode, ad, _) = resolver.ask(name, rtype);
        assert_eq!(
            (got_rcode, ad),
            (2, false),
            "{name} {rtype} with a wrong anchor"
        );
    }
}

/// Unbound's path, or `None` when it is missing and
/// `CANDOR_SKIP_DNSSEC_TOOLS=1` allows skipping.
pub(crate) fn unbound_path() -> Option<&'static Path> {
    let unbound = Path::new("/usr/sbin/unbound");
    if unbound.is_file() {
        return Some(unbound);
    }
    if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
        eprintln!("dnssec: skipped, unbound is not installed (CANDOR_SKIP_DNSSEC_TOOLS=1)");
        return None;
    }
    panic!("unbound is needed: apt-get install unbound, or set CANDOR_SKIP_DNSSEC_TOOLS=1");
}

/// Asks `candor` directly with DO=1: the SOA serial in the answer to
/// `example.com SOA`, and whether `www.example.com A` comes with an RRSIG.
fn served(candor: &Candor) -> (u32, bool) {
    let ask = |name: &str, rtype: Rtype| {
        let q = Query::new(name, rtype).edns(Edns {
            dnssec_ok: true,
            ..Edns::with_payload(1232)
        });
        let reply = udp_exchange(candor.addr(), &q.to_wire(), Duration::from_secs(1), 3)
            .expect("candor answers");
        decode_message(&reply).expect("a response")
    };
    let soa = ask("example.com", Rtype::SOA);
    let serial = soa
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::SOA)
        .map_or(0, |r| {
            let f = &r.rdata[r.rdata.len() - 20..];
            u32::from_be_bytes([f[0], f[1], f[2], f[3]])
        });
    let www = ask("www.example.com", Rtype::A);
    (serial, www.answer.iter().any(|r| r.rtype == Rtype::RRSIG))
}

/// The inception time of the RRSIG over `name` `rtype` that `candor`
/// answers with (DO=1).
fn inception(candor: &Candor, name: &str, rtype: Rtype) -> u32 {
    let q = Query::new(name, rtype).edns(Edns {
        dnssec_ok: true,
        ..Edns::with_payload(1232)
    });
    let reply = udp_exchange(candor.addr(), &q.to_wire(), Duration::from_secs(1), 3)
        .expect("candor answers");
    let msg = decode_message(&reply).expect("a response");
    let sig = msg
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::RRSIG)
        .unwrap_or_else(|| panic!("no RRSIG over {name} {rtype}"));
    u32::from_be_bytes([sig.rdata[12], sig.rdata[13], sig.rdata[14], sig.rdata[15]])
}

/// Waits (up to 10 s) until `candor` serves a serial other than `old`.
fn wait_serial(candor: &Candor, old: u32) -> (u32, bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = served(candor);
        if now.0 != old {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "serial {old} still served:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `candor serve` answers a signed store zone so that Unbound, trusting
/// only the zone's DS, validates every kind of answer: positive, the apex
/// DNSKEY, a CNAME chain, a wildcard, NODATA, NODATA at an empty
/// non-terminal, NXDOMAIN, a delegation's DS and the proof that another
/// has none, a record added while serving (the follower of CLI writes
/// signs too), and records added and removed through the API (signed
/// incrementally: the NXDOMAIN of the removed one validates). A DS of another key fails them (SERVFAIL), so the check can
/// fail. AXFR carries the signatures (kdig). After `candor dnssec disable`
/// the zone is served unsigned under a new serial.
#[test]
fn a_validating_resolver_accepts_candors_signed_answers() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let dir = TempDir::new("candor-dnssec-serve");
    let data = dir.path().join("data");
    let token = ok(&data, &["init", "--email", "ops@example.org"])
        .trim()
        .to_owned();
    ok(&data, &["zone", "create", "example.com"]);
    for args in [
        &["www", "A", "192.0.2.1"][..],
        &["*.wild", "TXT", "wild"],
        &["srv._tcp.deep", "TXT", "under an empty non-terminal"],
        &["alias", "CNAME", "www.example.com"],
        &["sub", "NS", "ns.sub.example.com"],
        &["ns.sub", "A", "192.0.2.53"],
        &["secure", "NS", "ns.sub.example.com"],
        &[
            "secure",
            "DS",
            "60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A",
        ],
    ] {
        let mut all = vec!["record", "add", "example.com"];
        all.extend_from_slice(args);
        ok(&data, &all);
    }
    // Enabled before the server starts: the start-up compile signs.
    let status = ok(&data, &["dnssec", "enable", "example.com"]);
    // The key a standard secondary transfers the signed zone with.
    let secret = crate::xfr::add_key(&data, crate::xfr::KEY, "hmac-sha256");
    let ds = status.lines().next().expect("a DS line").replace('\t', " ");
    let args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--redirect-address",
        "127.0.0.1",
        "--xfr-allow",
        "127.0.0.1",
        // The DS is offered (CDS) within seconds.
        "--dnssec-propagation-delay",
        "0",
        "--dnssec-test-ttl-cap",
        "1",
        "--dnssec-key-check-every",
        "1",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    let (serial, signed) = served(&candor);
    assert!(signed, "www.example.com A has no RRSIG:\n{}", candor.log());

    let resolver = Validator::start(unbound, candor.addr(), &ds);
    // (name, type, rcode, RRsets in the answer section: each with its RRSIG)
    let cases = [
        ("www.example.com", Rtype::A, 0, 1),
        ("example.com", Rtype::DNSKEY, 0, 1),
        ("example.com", Rtype::SOA, 0, 1),
        ("alias.example.com", Rtype::A, 0, 2),
        ("x.wild.example.com", Rtype::TXT, 0, 1),
        ("x.wild.example.com", Rtype::A, 0, 0),
        ("www.example.com", Rtype::TXT, 0, 0),
        ("deep.example.com", Rtype::A, 0, 0),
        ("nope.example.com", Rtype::A, 3, 0),
        ("a.b.www.example.com", Rtype::A, 3, 0),
        ("sub.example.com", Rtype::DS, 0, 0),
        ("secure.example.com", Rtype::DS, 0, 1),
    ];
    for (name, rtype, rcode, answers) in cases {
        let (got_rcode, ad, got_answers) = resolver.ask(name, rtype);
        assert_eq!(
            (got_rcode, ad),
            (rcode, true),
            "{name} {rtype}: rcode {got_rcode}, AD {ad}"
        );
        assert_eq!(got_answers, answers * 2, "{name} {rtype}");
    }

    // A record added while serving is signed when the follower compiles it.
    ok(
        &data,
        &["record", "add", "example.com", "new", "A", "192.0.2.7"],
    );
    let (serial_added, _) = wait_serial(&candor, serial);
    assert_eq!(resolver.ask("new.example.com", Rtype::A), (0, true, 2));
    drop(resolver);

    // Once the DS is offered (a second or two after start here) the key
    // states stay put: a later change of them would sign everything anew.
    let deadline = Instant::now() + Duration::from_secs(15);
    while rdata_at(candor.addr(), "example.com", Rtype::CDS).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no CDS offered:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Writes through the API sign incrementally (only the SOA, the changed
    // RRsets and the NSECs around them): a record added, another added
    // and removed. www's signature is the one made before them (a second
    // ago at least), the SOA's is new; a fresh resolver validates the new
    // name and the removed one's NXDOMAIN.
    std::thread::sleep(Duration::from_millis(1100));
    let api = candor.listeners().api;
    let records = "/v2/1/zones/example.com/records";
    let add = |name: &str| {
        let body = format!(r#"{{"name":"{name}","type":"A","content":"192.0.2.9","ttl":300}}"#);
        let r = crate::http::request(api, "POST", records, Some(&token), Some(&body));
        assert_eq!(r.status, 201, "{}", r.body);
        crate::http::json_field(&r.body, "id").expect("a record id")
    };
    add("api1");
    let gone = add("api2");
    let r = crate::http::request(
        api,
        "DELETE",
        &format!("{records}/{gone}"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    let (serial3, _) = served(&candor);
    assert_ne!(serial3, serial_added);
    let (www, soa) = (
        inception(&candor, "www.example.com", Rtype::A),
        inception(&candor, "example.com", Rtype::SOA),
    );
    assert!(
        www < soa,
        "www signed at {www}, the SOA at {soa}: signed in full"
    );
    let resolver = Validator::start(unbound, candor.addr(), &ds);
    assert_eq!(resolver.ask("api1.example.com", Rtype::A), (0, true, 2));
    assert_eq!(resolver.ask("api2.example.com", Rtype::A), (3, true, 0));
    assert_eq!(resolver.ask("new.example.com", Rtype::A), (0, true, 2));
    assert_eq!(resolver.ask("www.example.com", Rtype::A), (0, true, 2));
    drop(resolver);

    // A DS of a key the zone does not have: nothing validates.
    let fields: Vec<&str> = ds.split(' ').collect();
    let wrong = format!("{} {}", fields[..6].join(" "), "0".repeat(64));
    let resolver = Validator::start(unbound, candor.addr(), &wrong);
    for (name, rtype, _, _) in &cases[..3] {
        let (got_rcode, ad, _) = resolver.ask(name, *rtype);
        assert_eq!(
            (got_rcode, ad),
            (2, false),
            "{name} {rtype} with a wrong anchor"
        );
    }
    drop(resolver);

    // A zone transfer carries the signatures and the chain (and the CDS,
    // once the DS is offered: a second or two after start here).
    let deadline = Instant::now() + Duration::from_secs(15);
    while rdata_at(candor.addr(), "example.com", Rtype::CDS).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no CDS offered:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(ok(&data, &["dnssec", "status", "example.com"]).contains("\tCDS\t"));
    let serial2 = served(&candor).0;
    if let Ok(out) = Command::new("kdig")
        .arg(format!("@{}", candor.addr().ip()))
        .args([
            "-p",
            &candor.addr().port().to_string(),
            "example.com",
            "AXFR",
        ])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        for rtype in ["RRSIG", "NSEC", "DNSKEY", "CDS", "CDNSKEY"] {
            assert!(
                text.contains(&format!("\t{rtype}\t")),
                "no {rtype} in AXFR:\n{text}"
            );
        }
        assert!(text.contains("new.example.com."), "{text}");
    }

    // Issue 12: standard secondaries (Knot, NSD, BIND) transfer the signed
    // zone and serve it unchanged: the same resolver, pointed at each,
    // validates every answer kind there too.
    for kind in [
        crate::xfr::Kind::Knot,
        crate::xfr::Kind::Nsd,
        crate::xfr::Kind::Bind,
    ] {
        let Some(binary) = kind.binary() else {
            continue;
        };
        let secondary = crate::xfr::Secondary::start(
            kind,
            &binary,
            free_port(),
            candor.addr(),
            &secret,
            &["example.com."],
        );
        let logs = || {
            format!(
                "--- candor:\n{}\n--- knot:\n{}",
                candor.log(),
                secondary.log()
            )
        };
        crate::xfr::wait_in_sync(candor.addr(), secondary.addr, "example.com.", &logs);
        let resolver = Validator::start(unbound, secondary.addr, &ds);
        for (name, rtype, rcode, answers) in cases {
            let (got_rcode, ad, got_answers) = resolver.ask(name, rtype);
            assert_eq!(
                (got_rcode, ad, got_answers),
                (rcode, true, answers * 2),
                "{name} {rtype} from the {kind:?} secondary: rcode {got_rcode}, AD {ad}\n{}",
                logs()
            );
        }
        assert_eq!(resolver.ask("new.example.com", Rtype::A), (0, true, 2));
    }

    // Disabled at once: a new serial, served unsigned.
    ok(&data, &["dnssec", "disable", "example.com", "--force"]);
    let (_, signed) = wait_serial(&candor, serial2);
    assert!(
        !signed,
        "www.example.com A still has an RRSIG after disable"
    );
}

/// Asks `addr` a DO=1 question (RD as given): the rcode, the AD bit, and
/// the answer section's records of the type asked (rendered) and RRSIGs.
pub(crate) fn ask_do(
    addr: SocketAddr,
    name: &str,
    rtype: Rtype,
    rd: bool,
) -> (u16, bool, Vec<String>, usize) {
    let mut q = Query::new(name, rtype).edns(Edns {
        dnssec_ok: true,
        ..Edns::with_payload(1232)
    });
    q.rd = rd;
    let Some(reply) = udp_exchange(addr, &q.to_wire(), Duration::from_secs(2), 3) else {
        return (u16::MAX, false, Vec::new(), 0);
    };
    let m = decode_message(&reply).expect("a response");
    let data = m
        .answer
        .iter()
        .filter(|r| r.rtype == rtype)
        .map(|r| crate::support::render_rdata(r.rtype, &r.rdata))
        .collect();
    let sigs = m.answer.iter().filter(|r| r.rtype == Rtype::RRSIG).count();
    (m.rcode(), m.header.flags & 0x0020 != 0, data, sigs)
}

/// Polls `candor` (DO=1, up to 10 s) until `name`/`rtype` answers `want`
/// with an RRSIG: the ALIAS signer has published it.
pub(crate) fn wait_signed(candor: &Candor, name: &str, rtype: Rtype, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (rcode, _, data, sigs) = ask_do(candor.addr(), name, rtype, false);
        if rcode == 0 && data == want && sigs > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} {rtype}: rcode {rcode}, {data:?}, {sigs} RRSIGs, not {want:?} signed:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Issue 12, synthesized answers: in a signed store zone, Unbound (trusting
/// only the zone's DS) validates an ALIAS to a name outside Candor (served
/// by a real Knot as the ALIAS upstream), an ALIAS to a name in the zone
/// (its target has no AAAA: the NODATA is proven too), a POOL answer
/// whichever member is chosen, a URL record's addresses, and NODATA at an
/// ALIAS owner. When the target's address changes upstream, the new
/// answer is signed and validates too.
#[test]
fn a_validating_resolver_accepts_signed_alias_pool_and_url_answers() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            return;
        }
        panic!("knotd not found: install knot (apt-get install knot) or set CANDOR_SKIP_KNOT=1");
    };
    let files = TempDir::new("alias-upstream");
    let target = crate::store::target_zone;
    let zone_file = files.write("target.test.zone", &target(1, "192.0.2.55"));
    let knot = KnotServer::start(&knotd, &[("target.test".to_owned(), zone_file)]);

    let dir = TempDir::new("candor-dnssec-synth");
    let data = dir.path().join("data");
    let ds = signed_synth_store(&data);
    let args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--redirect-address",
        "127.0.0.1",
        "--alias-upstream",
        &knot.addr().to_string(),
        "--alias-ttl-floor",
        "1",
        "--alias-ttl-ceiling",
        "2",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    wait_signed(&candor, "app.example.com", Rtype::A, &["192.0.2.55"]);
    wait_signed(&candor, "local.example.com", Rtype::A, &["192.0.2.1"]);

    let resolver = Validator::start(unbound, candor.addr(), &ds);
    // (name, type, rcode, answer records of the type asked)
    let cases: &[(&str, Rtype, u16, &[&str])] = &[
        ("app.example.com", Rtype::A, 0, &["192.0.2.55"]),
        ("app.example.com", Rtype::AAAA, 0, &["2001:db8::55"]),
        ("local.example.com", Rtype::A, 0, &["192.0.2.1"]),
        ("go.example.com", Rtype::A, 0, &["127.0.0.1"]),
        // NODATA at ALIAS owners: a type the name lacks, and AAAA where
        // the target has none (the signer's NSEC without AAAA).
        ("app.example.com", Rtype::MX, 0, &[]),
        ("local.example.com", Rtype::AAAA, 0, &[]),
        ("local.example.com", Rtype::TXT, 0, &[]),
    ];
    for &(name, rtype, rcode, want) in cases {
        let (got_rcode, ad, got, _) = ask_do(resolver.addr, name, rtype, true);
        assert_eq!(
            (got_rcode, ad, got),
            (
                rcode,
                true,
                want.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()
            ),
            "{name} {rtype} through Unbound:\n{}",
            candor.log()
        );
    }
    // A POOL answer validates through Unbound (which then keeps the
    // member it got for the POOL's TTL); Candor's answers for every member
    // carry that member's RRSIG (each one verified: candor-answer's
    // `pool_answers_carry_the_chosen_members_signature`).
    let (rcode, ad, _, _) = ask_do(resolver.addr, "pool.example.com", Rtype::A, true);
    assert_eq!((rcode, ad), (0, true), "POOL through Unbound");
    let mut members = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let (rcode, _, cname, sigs) =
            ask_do(candor.addr(), "pool.example.com", Rtype::CNAME, false);
        assert_eq!((rcode, sigs), (0, 1), "each member's CNAME with its RRSIG");
        members.extend(cname);
    }
    assert_eq!(members.len(), 2, "{members:?}");

    // The target moves upstream: the new address is signed and validates
    // once Unbound's copy (TTL 2 s: the ALIAS ceiling) has expired.
    files.write("target.test.zone", &target(2, "192.0.2.56"));
    knot.reload();
    wait_signed(&candor, "app.example.com", Rtype::A, &["192.0.2.56"]);
    std::thread::sleep(Duration::from_millis(2500));
    let (rcode, ad, got, _) = ask_do(resolver.addr, "app.example.com", Rtype::A, true);
    assert_eq!(
        (rcode, ad, got),
        (0, true, vec!["192.0.2.56".to_owned()]),
        "after the move:\n{}",
        candor.log()
    );
}

/// The RDATAs of `rtype` at `name` that the server at `addr` answers
/// (asked directly, DO=1).
fn rdata_at(addr: SocketAddr, name: &str, rtype: Rtype) -> Vec<Vec<u8>> {
    let q = Query::new(name, rtype).edns(Edns {
        dnssec_ok: true,
        ..Edns::with_payload(1232)
    });
    let reply = udp_exchange(addr, &q.to_wire(), Duration::from_secs(1), 3).expect("an answer");
    let m = decode_message(&reply).expect("a response");
    let mut all: Vec<Vec<u8>> = m
        .answer
        .iter()
        .filter(|r| r.rtype == rtype)
        .map(|r| r.rdata.to_vec())
        .collect();
    all.sort();
    all
}

/// A DS (or CDS) RDATA in presentation form, as `record add` takes it.
fn ds_text(rdata: &[u8]) -> String {
    let hex: String = rdata[4..].iter().map(|b| format!("{b:02X}")).collect();
    format!(
        "{} {} {} {hex}",
        u16::from_be_bytes([rdata[0], rdata[1]]),
        rdata[2],
        rdata[3]
    )
}

/// The key tags of the DNSKEY RRset `addr` serves at `zone`.
fn key_tags(addr: SocketAddr, zone: &str) -> Vec<u16> {
    let mut tags: Vec<u16> = rdata_at(addr, zone, Rtype::DNSKEY)
        .iter()
        .map(|k| candor_dnssec::key_tag(k))
        .collect();
    tags.sort_unstable();
    tags
}

/// The parent (example.net) and child (shop.example.net) of the rollover
/// tests, both signed and served by one `candor serve` with a test
/// schedule of seconds, and Unbound trusting only the parent's DS and
/// caching nothing longer than a second (the TTL cap the server's
/// schedule assumes).
struct Family {
    /// The validator.
    resolver: Validator,
    /// The server.
    candor: Candor,
    /// The data directory.
    data: std::path::PathBuf,
    /// Holds the data directory.
    _dir: TempDir,
}

/// The child zone of [`Family`].
const CHILD: &str = "shop.example.net";

impl Family {
    /// Sets up both zones (the child with a KSK and a ZSK if `split`),
    /// starts the server (with `extra` arguments), waits until the child's
    /// DS is offered, puts it in the parent (as a registrar would), and
    /// starts the validator.
    fn start(unbound: &Path, split: bool, extra: &[&str]) -> Family {
        let dir = TempDir::new("candor-dnssec-roll");
        let data = dir.path().join("data");
        ok(&data, &["init", "--email", "ops@example.org"]);
        ok(&data, &["zone", "create", "example.net"]);
        ok(&data, &["zone", "create", CHILD]);
        for (zone, args) in [
            ("example.net", &["shop", "NS", "ns.shop.example.net"][..]),
            ("example.net", &["ns.shop", "A", "127.0.0.1"]),
            (CHILD, &["www", "A", "192.0.2.80"]),
        ] {
            let mut all = vec!["record", "add", zone];
            all.extend_from_slice(args);
            ok(&data, &all);
        }
        let anchor = ok(&data, &["dnssec", "enable", "example.net"])
            .lines()
            .next()
            .expect("a DS line")
            .replace('\t', " ");
        if split {
            ok(&data, &["dnssec", "enable", CHILD, "--split-keys"]);
        } else {
            ok(&data, &["dnssec", "enable", CHILD]);
        }
        let args: Vec<String> = [
            "--data-dir",
            &data.display().to_string(),
            "--dnssec-propagation-delay",
            "2",
            "--dnssec-parent-ds-ttl",
            "1",
            "--dnssec-test-ttl-cap",
            "1",
            "--dnssec-key-check-every",
            "1",
        ]
        .iter()
        .chain(extra)
        .map(|a| (*a).to_owned())
        .collect();
        let candor = Candor::start_with(&args, "example.net.");
        let deadline = Instant::now() + Duration::from_secs(20);
        while rdata_at(candor.addr(), CHILD, Rtype::CDS).is_empty() {
            assert!(
                Instant::now() < deadline,
                "no CDS offered:\n{}",
                candor.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let family = Family {
            resolver: Validator::start_for(
                unbound,
                candor.addr(),
                &anchor,
                &["example.net.", "shop.example.net."],
                "  cache-max-ttl: 1\n  cache-max-negative-ttl: 1\n",
            ),
            candor,
            data,
            _dir: dir,
        };
        while !family.follow_cds() {
            assert!(Instant::now() < deadline, "the parent never held the DS");
            std::thread::sleep(Duration::from_millis(200));
        }
        family
    }

    /// Acts as a parent that follows the child's CDS: makes the parent's
    /// DS RRset what the CDS asks for (DELETE: none), and once the parent
    /// serves that, tells Candor (`ds-seen`). Returns whether the parent
    /// serves what the CDS asks for.
    fn follow_cds(&self) -> bool {
        self.follow_cds_telling(true)
    }

    /// [`Family::follow_cds`], telling Candor (`ds-seen`) only if `tell`.
    fn follow_cds_telling(&self, tell: bool) -> bool {
        let addr = self.candor.addr();
        let cds = rdata_at(addr, CHILD, Rtype::CDS);
        if cds.is_empty() {
            return false;
        }
        let want: Vec<String> = if cds == [candor_dnssec::CDS_DELETE.to_vec()] {
            Vec::new()
        } else {
            cds.iter().map(|r| ds_text(r)).collect()
        };
        let listed = ok(
            &self.data,
            &["record", "list", "example.net", "--type", "DS"],
        );
        let have: Vec<(String, String)> = listed
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                Some((f.first()?.to_string(), f.last()?.to_uppercase()))
            })
            .collect();
        for (id, content) in &have {
            if !want.contains(content) {
                ok(&self.data, &["record", "delete", "example.net", id]);
            }
        }
        for ds in &want {
            if !have.iter().any(|(_, c)| c == ds) {
                ok(
                    &self.data,
                    &["record", "add", "example.net", "shop", "DS", ds],
                );
            }
        }
        // Both sorted as text: the server lists them in canonical (wire)
        // order, which differs from text order for some key tags.
        let mut served: Vec<String> = rdata_at(addr, CHILD, Rtype::DS)
            .iter()
            .map(|r| ds_text(r))
            .collect();
        served.sort();
        let mut sorted = want.clone();
        sorted.sort();
        if served != sorted {
            return false;
        }
        // Tells nothing new most of the time: a conflict, ignored.
        if tell {
            let _ = cli(&self.data, &["dnssec", "ds-seen", CHILD]);
        }
        true
    }
}

/// Asks Unbound at `addr` continuously, until `stop`, the questions of
/// `questions`; returns every answer: (question index, rcode, AD), or
/// rcode 0xffff for no answer.
fn watch(
    addr: SocketAddr,
    questions: Vec<(&'static str, Rtype)>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(usize, Instant, u16, bool)>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for (i, (name, rtype)) in questions.iter().enumerate() {
                let mut q = Query::new(name, *rtype).edns(Edns {
                    dnssec_ok: true,
                    ..Edns::with_payload(1232)
                });
                q.rd = true;
                let got = udp_exchange(addr, &q.to_wire(), Duration::from_secs(3), 1)
                    .and_then(|r| decode_message(&r).ok())
                    .map_or((0xffff, false), |m| {
                        (m.rcode(), m.header.flags & 0x0020 != 0)
                    });
                seen.push((i, Instant::now(), got.0, got.1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen
    })
}

/// The questions asked throughout, with their rcodes.
const WATCHED: [(&str, Rtype, u16); 3] = [
    ("www.shop.example.net", Rtype::A, 0),
    ("nope.shop.example.net", Rtype::A, 3),
    ("shop.example.net", Rtype::DNSKEY, 0),
];

/// A CSK rollover driven by `candor serve` on a test schedule of seconds,
/// with a parent (Candor too) that follows the child's CDS: Unbound,
/// trusting only the parent's DS, validates every answer (AD) from
/// before the rollover starts until after it ends, through the new key's
/// publication, the switch of signer, the DS change at the parent and
/// the old key's removal; at the end the zone publishes only the new key
/// and the parent's DS names only it.
#[test]
fn a_csk_rollover_validates_throughout() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let f = Family::start(unbound, false, &[]);
    let addr = f.candor.addr();
    let old = key_tags(addr, CHILD);
    assert_eq!(old.len(), 1);
    for (name, rtype, rcode) in WATCHED {
        assert_eq!(f.resolver.ask(name, rtype).0, rcode, "{name} {rtype}");
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch(
        f.resolver.addr,
        WATCHED.iter().map(|(n, t, _)| (*n, *t)).collect(),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(2));

    let rolled = cli(&f.data, &["dnssec", "rollover", CHILD]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut both = false;
    loop {
        f.follow_cds();
        let tags = key_tags(addr, CHILD);
        both |= tags.len() == 2;
        if both && tags.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rollover did not finish: DNSKEY {tags:?}\n{}\n{}",
            ok(&f.data, &["dnssec", "status", CHILD]),
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // A few seconds after the end, for caches that held the old state.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = watcher.join().expect("the watcher");

    let new = key_tags(addr, CHILD);
    assert_eq!(new.len(), 1);
    assert_ne!(new, old, "the key tag changed");
    let parent: Vec<u16> = rdata_at(addr, CHILD, Rtype::DS)
        .iter()
        .map(|r| u16::from_be_bytes([r[0], r[1]]))
        .collect();
    assert_eq!(parent, new, "the parent's DS names the new key only");
    assert!(answers.len() > 60, "only {} answers", answers.len());
    let bad: Vec<_> = answers
        .iter()
        .filter(|(i, _, rcode, ad)| (*rcode, *ad) != (WATCHED[*i].2, true))
        .map(|(i, _, rcode, ad)| (WATCHED[*i].0, rcode, ad))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} answers did not validate: {:?}\n{}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(10)],
        f.candor.log()
    );
}

/// Disabling through the safe states: the zone publishes CDS/CDNSKEY
/// DELETE and stays signed (answers still validate) while the parent
/// holds the DS, however long that takes; once the parent dropped it and
/// Candor is told, the zone is served unsigned, and the answers are
/// insecure (no AD), never bogus: no SERVFAIL at any moment.
#[test]
fn disabling_keeps_the_zone_signed_until_the_parent_drops_the_ds() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let f = Family::start(unbound, false, &[]);
    let addr = f.candor.addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch(
        f.resolver.addr,
        WATCHED.iter().map(|(n, t, _)| (*n, *t)).collect(),
        stop.clone(),
    );
    let asked = cli(&f.data, &["dnssec", "disable", CHILD]);
    assert!(asked.status.success(), "{}", stderr(&asked));
    let deadline = Instant::now() + Duration::from_secs(20);
    while rdata_at(addr, CHILD, Rtype::CDS) != [candor_dnssec::CDS_DELETE.to_vec()] {
        assert!(
            Instant::now() < deadline,
            "no CDS DELETE:\n{}",
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The parent does not act for a while: the zone stays signed.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(key_tags(addr, CHILD).len(), 1, "{}", f.candor.log());
    assert_eq!(
        f.resolver.ask("www.shop.example.net", Rtype::A),
        (0, true, 2)
    );
    let status = cli(&f.data, &["dnssec", "status", CHILD]);
    assert!(
        stderr(&status).contains("waiting for the parent to remove the DS"),
        "{}",
        stderr(&status)
    );

    // The parent drops the DS; Candor is told; the zone goes unsigned.
    let dropped = Instant::now();
    while !key_tags(addr, CHILD).is_empty() {
        f.follow_cds();
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "still signed:\n{}",
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(rdata_at(addr, CHILD, Rtype::CDS).is_empty());
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = watcher.join().expect("the watcher");
    assert_eq!(
        f.resolver.ask("www.shop.example.net", Rtype::A),
        (0, false, 1)
    );
    assert!(!ok(&f.data, &["dnssec", "status", CHILD]).contains("DS"));

    assert!(answers.len() > 30, "only {} answers", answers.len());
    let bad: Vec<_> = answers
        .iter()
        .filter(|(i, at, rcode, ad)| *rcode != WATCHED[*i].2 || (*at < dropped && !*ad))
        .map(|(i, _, rcode, ad)| (WATCHED[*i].0, rcode, ad))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} answers failed: {:?}\n{}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(10)],
        f.candor.log()
    );
}

/// A UDP forwarder on a free port of 127.0.0.1, relaying each query to
/// the address `to` holds (once set) and the answer back: a stand-in
/// resolver for `--dnssec-parent-check`, whose address must be given
/// before the server's own port is known. Runs until the process ends.
fn forwarder(to: std::sync::Arc<std::sync::Mutex<Option<SocketAddr>>>) -> SocketAddr {
    let front = std::net::UdpSocket::bind(("127.0.0.1", crate::support::free_port()))
        .expect("a forwarder socket");
    let addr = front.local_addr().expect("its address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, client)) = front.recv_from(&mut buf) {
            let Some(server) = *to.lock().expect("the target") else {
                continue;
            };
            let back = std::net::UdpSocket::bind("127.0.0.1:0").expect("a socket");
            back.set_read_timeout(Some(Duration::from_secs(1))).ok();
            if back.send_to(&buf[..n], server).is_err() {
                continue;
            }
            let mut answer = [0u8; 4096];
            if let Ok((m, _)) = back.recv_from(&mut answer) {
                let _ = front.send_to(&answer[..m], client);
            }
        }
    });
    addr
}

/// A [`Family`] whose Candor runs `--dnssec-parent-check` every second
/// through a [`forwarder`], and where the forwarder sends (set it once
/// the family is up).
fn parent_checked_family(
    unbound: &Path,
) -> (Family, std::sync::Arc<std::sync::Mutex<Option<SocketAddr>>>) {
    let target = std::sync::Arc::new(std::sync::Mutex::new(None));
    let via = forwarder(target.clone()).to_string();
    let f = Family::start(
        unbound,
        false,
        &[
            "--dnssec-parent-check",
            &via,
            "--dnssec-parent-check-every",
            "1",
        ],
    );
    (f, target)
}

/// `--dnssec-parent-check`: nobody runs `ds-seen`; Candor asks (through a
/// forwarder) the validating resolver for the child's DS and moves a CSK
/// rollover on when the validated answer matches the CDS: the key tag
/// changes, the parent ends with the new DS only, and every answer
/// validates throughout.
#[test]
fn the_parent_check_moves_a_rollover_on_without_ds_seen() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let (f, target) = parent_checked_family(unbound);
    let addr = f.candor.addr();
    *target.lock().expect("the target") = Some(f.resolver.addr);
    let old = key_tags(addr, CHILD);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch(
        f.resolver.addr,
        WATCHED.iter().map(|(n, t, _)| (*n, *t)).collect(),
        stop.clone(),
    );
    let rolled = cli(&f.data, &["dnssec", "rollover", CHILD]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut both = false;
    loop {
        // The parent follows the CDS; nobody tells Candor.
        f.follow_cds_telling(false);
        let tags = key_tags(addr, CHILD);
        both |= tags.len() == 2;
        if both && tags.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rollover did not finish without ds-seen: DNSKEY {tags:?}\n{}\n{}",
            ok(&f.data, &["dnssec", "status", CHILD]),
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = watcher.join().expect("the watcher");
    let new = key_tags(addr, CHILD);
    assert_ne!(new, old, "the key tag changed");
    assert!(
        f.candor.log().contains("the parent's DS matches the CDS"),
        "{}",
        f.candor.log()
    );
    let bad: Vec<_> = answers
        .iter()
        .filter(|(i, _, rcode, ad)| (*rcode, *ad) != (WATCHED[*i].2, true))
        .map(|(i, _, rcode, ad)| (WATCHED[*i].0, rcode, ad))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} answers did not validate: {:?}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(10)]
    );
}

/// `--dnssec-parent-check` pointed at the parent's own name server (which
/// never sets AD): the DS there matches the CDS, but an unvalidated answer
/// is not believed, so the rollover keeps waiting for the parent and the
/// log says why; `--dnssec-parent-check-unvalidated` would believe it.
#[test]
fn the_parent_check_believes_only_validated_answers() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let (f, target) = parent_checked_family(unbound);
    let addr = f.candor.addr();
    *target.lock().expect("the target") = Some(addr);
    let rolled = cli(&f.data, &["dnssec", "rollover", CHILD]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut refused = 0;
    // Several refused checks while the parent holds the DS the CDS asks for.
    while refused < 3 {
        f.follow_cds_telling(false);
        let log = f.candor.log();
        refused = log.matches("is not validated (no AD bit)").count();
        assert!(
            !log.contains("the parent's DS matches the CDS"),
            "an unvalidated DS was believed:\n{log}"
        );
        assert!(
            Instant::now() < deadline,
            "the parent check never ran: {}\n{log}",
            ok(&f.data, &["dnssec", "status", CHILD])
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(key_tags(addr, CHILD).len(), 2, "both keys still published");
}

/// Split keys: a KSK rollover by hand (`--key ksk`, double-RRset): the
/// new KSK is published and its DS offered at once, the parent (following
/// the CDS) goes from the old DS to both to the new one, the old KSK
/// leaves; the ZSK stays; Unbound, trusting only the parent's DS,
/// validates every answer throughout.
#[test]
fn a_ksk_rollover_of_split_keys_validates_throughout() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let f = Family::start(unbound, true, &[]);
    let addr = f.candor.addr();
    let first = key_tags(addr, CHILD);
    assert_eq!(first.len(), 2, "a KSK and a ZSK");
    let ds_tags = || -> Vec<u16> {
        rdata_at(addr, CHILD, Rtype::DS)
            .iter()
            .map(|r| u16::from_be_bytes([r[0], r[1]]))
            .collect()
    };
    let old_ksk = ds_tags();
    assert_eq!(old_ksk.len(), 1);
    let zsk: Vec<u16> = first
        .iter()
        .copied()
        .filter(|t| !old_ksk.contains(t))
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch(
        f.resolver.addr,
        WATCHED.iter().map(|(n, t, _)| (*n, *t)).collect(),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_secs(2));

    let rolled = cli(&f.data, &["dnssec", "rollover", CHILD, "--key", "ksk"]);
    assert!(rolled.status.success(), "{}", stderr(&rolled));
    assert!(stderr(&rolled).contains("new KSK"), "{}", stderr(&rolled));
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut three, mut both_ds) = (false, false);
    loop {
        f.follow_cds();
        let tags = key_tags(addr, CHILD);
        three |= tags.len() == 3;
        both_ds |= ds_tags().len() == 2;
        if three && tags.len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the KSK rollover did not finish: DNSKEY {tags:?}\n{}\n{}",
            ok(&f.data, &["dnssec", "status", CHILD]),
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = watcher.join().expect("the watcher");

    assert!(both_ds, "the parent held both DS records at some point");
    let new_ksk = ds_tags();
    assert_eq!(new_ksk.len(), 1);
    assert_ne!(new_ksk, old_ksk, "the parent's DS names the new KSK");
    let mut now = key_tags(addr, CHILD);
    now.sort_unstable();
    let mut want = vec![new_ksk[0], zsk[0]];
    want.sort_unstable();
    assert_eq!(now, want, "the new KSK and the same ZSK");
    assert!(answers.len() > 60, "only {} answers", answers.len());
    let bad: Vec<_> = answers
        .iter()
        .filter(|(i, _, rcode, ad)| (*rcode, *ad) != (WATCHED[*i].2, true))
        .map(|(i, _, rcode, ad)| (WATCHED[*i].0, rcode, ad))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} answers did not validate: {:?}\n{}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(10)],
        f.candor.log()
    );
}

/// Split keys: the ZSK rolls by itself on its lifetime (8 s here) by
/// pre-publication, without the parent; Unbound validates every answer
/// throughout two rollovers; the KSK and the parent's DS stay.
#[test]
fn zsk_rollovers_on_schedule_validate_throughout() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let f = Family::start(unbound, true, &["--dnssec-zsk-lifetime", "8"]);
    let addr = f.candor.addr();
    let first = key_tags(addr, CHILD);
    assert_eq!(first.len(), 2, "a KSK and a ZSK");
    let ds_before = rdata_at(addr, CHILD, Rtype::DS);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch(
        f.resolver.addr,
        WATCHED.iter().map(|(n, t, _)| (*n, *t)).collect(),
        stop.clone(),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut sets = vec![first.clone()];
    // Two whole rollovers: the key set goes 2 → 3 → 2 keys twice.
    while sets.iter().filter(|s| s.len() == 2).count() < 3 {
        let now = key_tags(addr, CHILD);
        if sets.last() != Some(&now) {
            sets.push(now);
        }
        assert!(
            Instant::now() < deadline,
            "ZSK rollovers did not finish: {sets:?}\n{}",
            f.candor.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = watcher.join().expect("the watcher");
    let last = sets.last().expect("a key set");
    let ksk: Vec<u16> = ds_before
        .iter()
        .map(|r| u16::from_be_bytes([r[0], r[1]]))
        .collect();
    assert_eq!(ksk.len(), 1);
    assert!(
        last.contains(&ksk[0]) && first.contains(&ksk[0]),
        "{sets:?}"
    );
    assert_eq!(
        last.iter().filter(|t| first.contains(t)).count(),
        1,
        "only the KSK is left of the first keys: {sets:?}"
    );
    assert_eq!(rdata_at(addr, CHILD, Rtype::DS), ds_before);
    let bad: Vec<_> = answers
        .iter()
        .filter(|(i, _, rcode, ad)| (*rcode, *ad) != (WATCHED[*i].2, true))
        .map(|(i, _, rcode, ad)| (WATCHED[*i].0, rcode, ad))
        .collect();
    assert!(answers.len() > 60, "only {} answers", answers.len());
    assert!(
        bad.is_empty(),
        "{} of {} answers did not validate: {:?}\n{}",
        bad.len(),
        answers.len(),
        &bad[..bad.len().min(10)],
        f.candor.log()
    );
}

/// A store in `data` with `example.com.` signed (a CSK) and a record of
/// each synthesized kind beside plain ones: `app` ALIAS to
/// `www.target.test` (outside, with a TXT beside it), `local` ALIAS to
/// `www` inside, `pool` POOL of `www` and `www2`, `go` URL. Returns the
/// zone's DS as one presentation line, for a parent zone.
pub(crate) fn signed_synth_store(data: &Path) -> String {
    ok(data, &["init", "--email", "ops@example.org"]);
    ok(data, &["zone", "create", "example.com"]);
    ok(data, &["dnssec", "enable", "example.com"]);
    let status = ok(data, &["dnssec", "status", "example.com"]);
    let ds = status.lines().next().expect("a DS line").replace('\t', " ");
    for args in [
        &["www", "A", "192.0.2.1"][..],
        &["www2", "A", "192.0.2.2"],
        &["app", "ALIAS", "www.target.test"],
        &["app", "TXT", "beside the ALIAS"],
        &["local", "ALIAS", "www.example.com"],
        &["pool", "POOL", "www.example.com"],
        &["pool", "POOL", "www2.example.com"],
        &["go", "URL", "https://example.org/"],
    ] {
        let mut all = vec!["record", "add", "example.com"];
        all.extend_from_slice(args);
        ok(data, &all);
    }
    ds
}

/// With the rate limiter on, a signed zone's NXDOMAINs that it holds back
/// are written without their NSEC proofs (the work a flood of names
/// spread over the zone would cost); none of those ever goes out: every
/// response is either the whole signed denial or an empty truncated slip,
/// across several seconds of a client over its rate (slip 1: every held
/// back response slipped, so each query gets one).
#[test]
fn held_back_signed_denials_never_go_out_without_their_proofs() {
    let dir = TempDir::new("candor-dnssec-rrl");
    let data = dir.path().join("data");
    ok(&data, &["init", "--email", "ops@example.org"]);
    ok(&data, &["zone", "create", "example.com"]);
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.1"],
    );
    for i in 0..50 {
        let name = format!("h{i}");
        ok(
            &data,
            &["record", "add", "example.com", &name, "A", "192.0.2.1"],
        );
    }
    ok(&data, &["dnssec", "enable", "example.com"]);
    let args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--rrl-rate",
        "3",
        "--rrl-slip",
        "1",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    let (_, signed) = served(&candor);
    assert!(signed, "not served signed:\n{}", candor.log());
    let (mut whole, mut slipped) = (0, 0);
    let until = Instant::now() + Duration::from_millis(2_600);
    let mut i = 0u32;
    while Instant::now() < until {
        i += 1;
        let q = Query::new(&format!("h{}x.example.com", i % 50), Rtype::A).edns(Edns {
            dnssec_ok: true,
            ..Edns::with_payload(1232)
        });
        let Some(reply) = udp_exchange(candor.addr(), &q.to_wire(), Duration::from_secs(2), 1)
        else {
            continue;
        };
        let m = decode_message(&reply).expect("a response");
        let nsecs = m
            .authority
            .iter()
            .filter(|r| r.rtype == Rtype::NSEC)
            .count();
        if m.header.flags & 0x0200 != 0 {
            // TC: a slip carries no records.
            assert!(
                m.answer.is_empty() && m.authority.is_empty(),
                "a slip with records"
            );
            slipped += 1;
        } else {
            assert_eq!(m.rcode(), 3, "query {i}");
            assert!(
                nsecs >= 1,
                "an NXDOMAIN without its NSEC proofs went out: {m:?}"
            );
            whole += 1;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(
        whole >= 3 && slipped >= 10,
        "{whole} whole, {slipped} slipped"
    );
}
