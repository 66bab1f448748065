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
fn ok(dir: &std::path::Path, args: &[&str]) -> String {
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
fn dnssec_verify(dir: &TempDir, text: &str) -> Option<(bool, String)> {
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

    let printed = ok(&data, &["dnssec", "enable", "example.com"]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    let ds: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&ds[..3], ["example.com.", "IN", "DS"]);
    let fields: Vec<&str> = ds[3].split(' ').collect();
    assert_eq!((fields[1], fields[2], fields[3].len()), ("13", "2", 64));
    assert!(
        lines[1].contains("\tCDS\t") && lines[1].ends_with(ds[3]),
        "{printed}"
    );
    assert!(lines[2].contains("\tCDNSKEY\t257 3 13 "), "{printed}");
    assert_eq!(ok(&data, &["dnssec", "status", "example.com"]), printed);
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

    // A signed zone refuses an ALIAS (its answers are made per query and
    // would go out unsigned), and says why.
    let alias = cli(
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
    assert!(!alias.status.success());
    assert!(
        stderr(&alias).contains(
            "ALIAS record at app.example.com.: a zone with DNSSEC cannot hold ALIAS or POOL \
             records yet"
        ),
        "{}",
        stderr(&alias)
    );

    ok(&data, &["dnssec", "disable", "example.com"]);
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
struct Validator {
    /// The process (dropped first: killed before the directory goes).
    _process: Process,
    /// Where it answers.
    addr: SocketAddr,
    /// Its configuration and log.
    _dir: TempDir,
}

impl Validator {
    /// Starts unbound and waits until it answers.
    fn start(unbound: &Path, auth: SocketAddr, anchor: &str) -> Validator {
        let dir = TempDir::new("unbound");
        let port = free_port();
        let conf = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  \
             username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  \
             use-syslog: no\n  verbosity: 1\n  val-log-level: 2\n  num-threads: 1\n  \
             do-ip6: no\n  so-reuseport: no\n  do-not-query-localhost: no\n  \
             module-config: \"validator iterator\"\n  qname-minimisation: no\n  \
             aggressive-nsec: no\n  access-control: 127.0.0.0/8 allow\n  \
             trust-anchor: \"{anchor}\"\n\
             remote-control:\n  control-enable: no\n\
             stub-zone:\n  name: \"example.com.\"\n  stub-addr: {ip}@{auth_port}\n",
            d = dir.path().display(),
            ip = auth.ip(),
            auth_port = auth.port(),
        );
        let conf_path = dir.write("unbound.conf", &conf);
        let log = dir.path().join("unbound.log");
        let mut cmd = Command::new(unbound);
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let process = Process::spawn(cmd, "unbound", &log);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let probe = Query::new("example.com", Rtype::SOA).to_wire();
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
fn unbound_path() -> Option<&'static Path> {
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
    let (serial2, _) = wait_serial(&candor, serial);
    assert_eq!(resolver.ask("new.example.com", Rtype::A), (0, true, 2));
    drop(resolver);

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
    assert_ne!(serial3, serial2);
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

    // A zone transfer carries the signatures and the chain.
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

    // Disabled: a new serial, served unsigned.
    ok(&data, &["dnssec", "disable", "example.com"]);
    let (_, signed) = wait_serial(&candor, serial3);
    assert!(
        !signed,
        "www.example.com A still has an RRSIG after disable"
    );
}
