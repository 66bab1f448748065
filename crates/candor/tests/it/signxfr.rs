//! Issue 12, signed zones on standard secondaries with synthesized
//! answers: a signed store zone with an ALIAS to a name outside Candor
//! (served by a real Knot as the ALIAS upstream), an ALIAS to a name in
//! the zone (whose target has no AAAA), a POOL and a URL record,
//! transferred to Knot, NSD and BIND secondaries. The secondaries get
//! the ALIAS answers the ALIAS signer made, the POOL's CNAME with its
//! member's RRSIG and the URL's signed addresses, so Unbound, trusting
//! only the zone's DS and asking a secondary, validates them; the AXFR
//! passes `ldns-verify-zone`; and when the ALIAS target moves (outside,
//! or inside the zone), the secondaries get the new signed addresses by
//! IXFR after a NOTIFY. `candor dnssec export` of a zone with a POOL is
//! that view too, and verifies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;

use crate::dnssec::{
    Validator, ask_do, dnssec_verify, ok, signed_synth_store, unbound_path, wait_signed,
};
use crate::store::cli;
use crate::support::{Candor, KnotServer, TempDir, free_port};
use crate::xfr::{KEY, Kind, Secondary, add_key, knot_tools, serial};

/// `ldns-verify-zone`, or `None` when it is missing and
/// `CANDOR_SKIP_DNSSEC_TOOLS=1` allows skipping.
fn ldns_verify_zone() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/ldns-verify-zone");
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
        eprintln!("signxfr: skipped, ldns-verify-zone is not installed");
        return None;
    }
    panic!(
        "ldns-verify-zone is needed: apt-get install ldnsutils, or set \
         CANDOR_SKIP_DNSSEC_TOOLS=1 to skip this test"
    );
}

/// Polls `addr` (DO=1, no recursion, up to 20 s) until `name`/`rtype`
/// answers `want` (sorted) with an RRSIG and `addr` serves the serial `primary`
/// serves: the secondary holds the primary's latest version, signed.
fn wait_secondary(
    primary: SocketAddr,
    addr: SocketAddr,
    name: &str,
    rtype: Rtype,
    want: &[&str],
    logs: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (rcode, _, mut data, sigs) = ask_do(addr, name, rtype, false);
        data.sort();
        let serials = (
            serial(primary, "example.com."),
            serial(addr, "example.com."),
        );
        if rcode == 0 && data == want && sigs > 0 && serials.0 == serials.1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} {rtype} at {addr}: rcode {rcode}, {data:?}, {sigs} RRSIGs, serials \
             {serials:?}, not {want:?} signed:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The primary's AXFR of `example.com.` (kdig, the zone file lines
/// only), and whether `ldns-verify-zone` accepts it (with its report).
fn verify_axfr(ldns: &std::path::Path, candor: &Candor, dir: &TempDir) -> (String, bool, String) {
    let out = Command::new("kdig")
        .arg(format!("@{}", candor.addr().ip()))
        .args([
            "-p",
            &candor.addr().port().to_string(),
            "example.com",
            "AXFR",
        ])
        .output()
        .expect("run kdig");
    let text: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    // An AXFR ends with the SOA again; a zone file has it once.
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.len() > 1 && lines.first() == lines.last() {
        lines.pop();
    }
    let zone = lines.join("\n") + "\n";
    let (verified, report) = ldns_verify(ldns, dir, "axfr.zone", &zone);
    (zone, verified, report)
}

/// Whether `ldns-verify-zone` accepts the zone file `text` (written to
/// `dir/file`), with its report.
fn ldns_verify(ldns: &std::path::Path, dir: &TempDir, file: &str, text: &str) -> (bool, String) {
    let file = dir.write(file, text);
    let check = Command::new(ldns)
        .arg(&file)
        .output()
        .expect("run ldns-verify-zone");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    (check.status.success(), report)
}

/// See the module docs.
#[test]
fn secondaries_serve_signed_alias_pool_and_url_answers_that_validate() {
    let Some(unbound) = unbound_path() else {
        return;
    };
    let Some((knotd, _)) = knot_tools("signxfr") else {
        return;
    };
    let Some(ldns) = ldns_verify_zone() else {
        return;
    };
    let files = TempDir::new("signxfr-upstream");
    let zone_file = files.write(
        "target.test.zone",
        &crate::store::target_zone(1, "192.0.2.55"),
    );
    let upstream = KnotServer::start(&knotd, &[("target.test".to_owned(), zone_file)]);

    let dir = TempDir::new("signxfr");
    let data = dir.path().join("data");
    let ds = signed_synth_store(&data);
    let secret = add_key(&data, KEY, "hmac-sha256");
    let kinds: Vec<(Kind, PathBuf, u16)> = [Kind::Knot, Kind::Nsd, Kind::Bind]
        .into_iter()
        .filter_map(|k| Some((k, k.binary()?, free_port())))
        .collect();
    let mut args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--redirect-address",
        "127.0.0.1",
        "--xfr-allow",
        "127.0.0.1",
        "--alias-upstream",
        &upstream.addr().to_string(),
        "--alias-ttl-floor",
        "1",
        "--alias-ttl-ceiling",
        "2",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    for (_, _, port) in &kinds {
        args.extend(["--notify".to_owned(), format!("127.0.0.1:{port}@{KEY}")]);
    }
    let candor = Candor::start_with(&args, "example.com.");
    wait_signed(&candor, "app.example.com", Rtype::A, &["192.0.2.55"]);
    wait_signed(&candor, "local.example.com", Rtype::A, &["192.0.2.1"]);

    // The AXFR a standard secondary gets verifies as a whole.
    let (zone, verified, report) = verify_axfr(&ldns, &candor, &dir);
    assert!(verified, "ldns-verify-zone:\n{report}\n{zone}");
    let flat: String = zone
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    for line in [
        "app.example.com. 2 IN A 192.0.2.55\n",
        "app.example.com. 300 IN NSEC go.example.com. A TXT AAAA RRSIG NSEC\n",
        "local.example.com. 300 IN NSEC pool.example.com. A RRSIG NSEC\n",
        "pool.example.com. 3600 IN CNAME www.example.com.\n",
        "pool.example.com. 3600 IN RRSIG CNAME 13 3 3600 ",
        "go.example.com. 3600 IN RRSIG A 13 3 3600 ",
    ] {
        assert!(flat.contains(line), "{line}:\n{zone}");
    }

    // (name, type, rcode, answer records of the type asked)
    let cases: &[(&str, Rtype, u16, &[&str])] = &[
        ("app.example.com", Rtype::A, 0, &["192.0.2.55"]),
        ("app.example.com", Rtype::AAAA, 0, &["2001:db8::55"]),
        ("app.example.com", Rtype::TXT, 0, &["\"beside the ALIAS\""]),
        ("local.example.com", Rtype::A, 0, &["192.0.2.1"]),
        ("go.example.com", Rtype::A, 0, &["127.0.0.1"]),
        ("pool.example.com", Rtype::CNAME, 0, &["www.example.com."]),
        // NODATA at ALIAS owners: a type the name lacks, and AAAA where
        // the target has none (the signer's NSEC without AAAA).
        ("app.example.com", Rtype::MX, 0, &[]),
        ("local.example.com", Rtype::AAAA, 0, &[]),
        ("go.example.com", Rtype::TXT, 0, &[]),
    ];
    let mut secondaries = Vec::new();
    for (kind, binary, port) in &kinds {
        let secondary = Secondary::start(
            *kind,
            binary,
            *port,
            candor.addr(),
            &secret,
            &["example.com."],
        );
        let logs = || {
            format!(
                "--- candor:\n{}\n--- {kind:?}:\n{}",
                candor.log(),
                secondary.log()
            )
        };
        wait_secondary(
            candor.addr(),
            secondary.addr,
            "app.example.com",
            Rtype::A,
            &["192.0.2.55"],
            &logs,
        );
        let resolver = Validator::start(unbound, secondary.addr, &ds);
        for &(name, rtype, rcode, want) in cases {
            let (got_rcode, ad, got, _) = ask_do(resolver.addr, name, rtype, true);
            assert_eq!(
                (got_rcode, ad, got),
                (
                    rcode,
                    true,
                    want.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()
                ),
                "{name} {rtype} through Unbound from the {kind:?} secondary:\n{}",
                logs()
            );
        }
        // The POOL's A answer: the CNAME and its target, both validated.
        let (rcode, ad, got, _) = ask_do(resolver.addr, "pool.example.com", Rtype::A, true);
        assert_eq!(
            (rcode, ad, got),
            (0, true, vec!["192.0.2.1".to_owned()]),
            "POOL from the {kind:?} secondary:\n{}",
            logs()
        );
        secondaries.push((kind, secondary));
    }

    // The target moves upstream: the signer signs the new address, the
    // zone gets a new serial, and every secondary serves it signed after
    // the NOTIFY; a resolver validates it there.
    files.write(
        "target.test.zone",
        &crate::store::target_zone(2, "192.0.2.56"),
    );
    upstream.reload();
    wait_signed(&candor, "app.example.com", Rtype::A, &["192.0.2.56"]);
    let (zone, verified, report) = verify_axfr(&ldns, &candor, &dir);
    assert!(
        verified,
        "ldns-verify-zone after the move:\n{report}\n{zone}"
    );
    for (kind, secondary) in &secondaries {
        let logs = || {
            format!(
                "--- candor:\n{}\n--- {kind:?}:\n{}",
                candor.log(),
                secondary.log()
            )
        };
        wait_secondary(
            candor.addr(),
            secondary.addr,
            "app.example.com",
            Rtype::A,
            &["192.0.2.56"],
            &logs,
        );
        let resolver = Validator::start(unbound, secondary.addr, &ds);
        for (name, rtype, want) in [
            ("app.example.com", Rtype::A, "192.0.2.56"),
            ("app.example.com", Rtype::AAAA, "2001:db8::55"),
            ("local.example.com", Rtype::A, "192.0.2.1"),
        ] {
            let (rcode, ad, got, _) = ask_do(resolver.addr, name, rtype, true);
            assert_eq!(
                (rcode, ad, got),
                (0, true, vec![want.to_owned()]),
                "{name} {rtype} after the move, from the {kind:?} secondary:\n{}",
                logs()
            );
        }
    }

    // A target inside the zone gains an address: the write publishes a
    // version that still has the old signed answer, then the signer signs
    // the new one and gives the zone the next serial (no outside target
    // moved), which the secondaries get.
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.9"],
    );
    let both = ["192.0.2.1", "192.0.2.9"];
    wait_signed(&candor, "local.example.com", Rtype::A, &both);
    for (kind, secondary) in &secondaries {
        let logs = || {
            format!(
                "--- candor:\n{}\n--- {kind:?}:\n{}",
                candor.log(),
                secondary.log()
            )
        };
        wait_secondary(
            candor.addr(),
            secondary.addr,
            "local.example.com",
            Rtype::A,
            &both,
            &logs,
        );
        let resolver = Validator::start(unbound, secondary.addr, &ds);
        let (rcode, ad, mut got, _) = ask_do(resolver.addr, "local.example.com", Rtype::A, true);
        got.sort();
        assert_eq!(
            (rcode, ad, got),
            (0, true, both.map(str::to_owned).to_vec()),
            "the in-zone target's new address from the {kind:?} secondary:\n{}",
            logs()
        );
    }
}

/// `candor dnssec export` of a signed zone with a POOL writes what
/// standard secondaries get (the CNAME to the first member, with that
/// member's RRSIG): `dnssec-verify` and `ldns-verify-zone` accept it. With
/// ALIAS records (issue 12, gap 2) it signs their answers as the ALIAS
/// signer does: a target in the zone, one in another store zone, and ones
/// outside looked up at `--alias-upstream` (a real Knot; one does not
/// exist); without the flag it names the outside targets and the flag.
#[test]
fn dnssec_export_of_a_zone_with_a_pool_and_alias_verifies() {
    let Some(ldns) = ldns_verify_zone() else {
        return;
    };
    let dir = TempDir::new("signxfr-export");
    let data = dir.path().join("data");
    ok(&data, &["init", "--email", "ops@example.org"]);
    ok(&data, &["zone", "create", "example.com"]);
    for args in [
        &["www", "A", "192.0.2.1"][..],
        &["www2", "A", "192.0.2.2"],
        &["pool", "POOL", "www.example.com"],
        &["pool", "POOL", "www2.example.com"],
    ] {
        let mut all = vec!["record", "add", "example.com"];
        all.extend_from_slice(args);
        ok(&data, &all);
    }
    ok(&data, &["dnssec", "enable", "example.com"]);
    let text = ok(&data, &["dnssec", "export", "example.com"]);
    let flat: String = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    assert!(
        flat.contains("pool.example.com. 3600 IN CNAME www.example.com.\n")
            && flat.contains("pool.example.com. 3600 IN RRSIG CNAME 13 3 3600 ")
            && !flat.contains("TYPE65303"),
        "{text}"
    );
    assert_eq!(
        flat.matches("IN RRSIG CNAME").count(),
        1,
        "one member's signature: {text}"
    );
    if let Some((verified, log)) = dnssec_verify(&dir, &text) {
        assert!(verified, "dnssec-verify:\n{log}\n{text}");
    }
    let (verified, report) = ldns_verify(&ldns, &dir, "export.zone", &text);
    assert!(verified, "ldns-verify-zone:\n{report}\n{text}");

    // ALIAS records: one to a name in the zone, one to a name in another
    // store zone, one to a name outside Candor. Without an upstream the
    // outside one cannot be exported: the error names it and the flag.
    let Some((knotd, _)) = knot_tools("signxfr-export") else {
        return;
    };
    let files = TempDir::new("signxfr-export-upstream");
    let zone_file = files.write(
        "target.test.zone",
        &crate::store::target_zone(1, "192.0.2.55"),
    );
    let upstream = KnotServer::start(&knotd, &[("target.test".to_owned(), zone_file)]);
    ok(&data, &["zone", "create", "other.test"]);
    ok(
        &data,
        &["record", "add", "other.test", "www", "A", "192.0.2.7"],
    );
    for args in [
        &["app", "ALIAS", "www.target.test"][..],
        &["local", "ALIAS", "www.example.com"],
        &["near", "ALIAS", "www.other.test"],
        &["gone", "ALIAS", "nothing.target.test"],
    ] {
        let mut all = vec!["record", "add", "example.com"];
        all.extend_from_slice(args);
        ok(&data, &all);
    }
    let out = cli(&data, &["dnssec", "export", "example.com"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("www.target.test. (ALIAS at app.example.com.)")
            && err.contains("nothing.target.test. (ALIAS at gone.example.com.)")
            && !err.contains("www.other.test")
            && err.contains("--alias-upstream"),
        "{err}"
    );
    // With the upstream: every ALIAS owner's signed answer, and the file
    // verifies.
    let upstream_addr = upstream.addr().to_string();
    let text = ok(
        &data,
        &[
            "dnssec",
            "export",
            "example.com",
            "--alias-upstream",
            &upstream_addr,
        ],
    );
    let flat: String = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    for line in [
        "app.example.com. 3600 IN A 192.0.2.55\n",
        "app.example.com. 3600 IN AAAA 2001:db8::55\n",
        "app.example.com. 3600 IN RRSIG A 13 3 3600 ",
        "local.example.com. 3600 IN A 192.0.2.1\n",
        "local.example.com. 3600 IN RRSIG A 13 3 3600 ",
        "near.example.com. 3600 IN A 192.0.2.7\n",
        // A target that does not exist: no address, none listed.
        "gone.example.com. 300 IN NSEC local.example.com. RRSIG NSEC\n",
        // A target without AAAA: the signer's NSEC without it.
        "local.example.com. 300 IN NSEC near.example.com. A RRSIG NSEC\n",
    ] {
        assert!(flat.contains(line), "{line}:\n{text}");
    }
    assert!(!flat.contains("TYPE65304"), "{text}");
    if let Some((verified, log)) = dnssec_verify(&dir, &text) {
        assert!(verified, "dnssec-verify with ALIAS:\n{log}\n{text}");
    }
    let (verified, report) = ldns_verify(&ldns, &dir, "export-alias.zone", &text);
    assert!(verified, "ldns-verify-zone with ALIAS:\n{report}\n{text}");
}

/// Issue 12, gap 1: an ALIAS record added through the API to a signed
/// zone that is transferred reaches an AXFR asked for right after the
/// API's answer signed: the transfer waits (bounded) for the ALIAS signer
/// instead of sending unsigned addresses, for a target in the zone and
/// for one outside (looked up at a real Knot as the ALIAS upstream), and
/// `ldns-verify-zone` accepts each AXFR. Prints how long each AXFR took.
#[test]
fn an_alias_added_to_a_signed_zone_transfers_signed_at_once() {
    let Some(ldns) = ldns_verify_zone() else {
        return;
    };
    let Some((knotd, _)) = knot_tools("signxfr-at-once") else {
        return;
    };
    let files = TempDir::new("signxfr-at-once-upstream");
    let zone_file = files.write(
        "target.test.zone",
        &crate::store::target_zone(1, "192.0.2.55"),
    );
    let upstream = KnotServer::start(&knotd, &[("target.test".to_owned(), zone_file)]);
    let dir = TempDir::new("signxfr-at-once");
    let data = dir.path().join("data");
    let token = ok(&data, &["init", "--email", "ops@example.org"])
        .trim()
        .to_owned();
    ok(&data, &["zone", "create", "example.com"]);
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.1"],
    );
    ok(&data, &["dnssec", "enable", "example.com"]);
    let args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--redirect-address",
        "127.0.0.1",
        "--xfr-allow",
        "127.0.0.1",
        "--alias-upstream",
        &upstream.addr().to_string(),
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    let api = candor.listeners().api;
    let (zone, verified, report) = verify_axfr(&ldns, &candor, &dir);
    assert!(verified, "before: ldns-verify-zone:\n{report}\n{zone}");
    for (owner, target, want) in [
        ("app", "www.example.com", "192.0.2.1"),
        ("cdn", "www.target.test", "192.0.2.55"),
    ] {
        let body = format!(r#"{{"name":"{owner}","type":"ALIAS","content":"{target}","ttl":300}}"#);
        let r = crate::http::request(
            api,
            "POST",
            "/v2/1/zones/example.com/records",
            Some(&token),
            Some(&body),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let asked = Instant::now();
        let (zone, verified, report) = verify_axfr(&ldns, &candor, &dir);
        let took = asked.elapsed();
        eprintln!("signxfr: the AXFR after adding {owner} ALIAS {target} took {took:?}");
        assert!(
            verified,
            "{owner}: ldns-verify-zone:\n{report}\n{zone}\n{}",
            candor.log()
        );
        let flat: String = zone
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
            .collect();
        for line in [
            format!("{owner}.example.com. 300 IN A {want}\n"),
            format!("{owner}.example.com. 300 IN RRSIG A 13 3 300 "),
        ] {
            assert!(flat.contains(&line), "{line}:\n{zone}\n{}", candor.log());
        }
    }
}

/// The inception time of the first RRSIG in `candor`'s DO=1 answer for
/// `name` `rtype` (when it was signed, less an hour).
fn inception(candor: &Candor, name: &str, rtype: Rtype) -> u32 {
    use crate::support::{Edns, Query, udp_exchange};
    let q = Query::new(name, rtype).edns(Edns {
        dnssec_ok: true,
        ..Edns::with_payload(1232)
    });
    let reply = udp_exchange(candor.addr(), &q.to_wire(), Duration::from_secs(1), 3)
        .expect("candor answers");
    let msg = candor_wire::decode::decode_message(&reply).expect("a response");
    let sig = msg
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::RRSIG)
        .unwrap_or_else(|| panic!("no RRSIG over {name} {rtype}"));
    u32::from_be_bytes([sig.rdata[12], sig.rdata[13], sig.rdata[14], sig.rdata[15]])
}

/// Issue 12, gap 3: importing a changed copy of a served signed zone signs
/// only what changed, through the CLI (`candor zone import`: the server's
/// follower signs the journaled names) and through the API (`PUT
/// …/zones/{zone}/file`: the import itself signs them, and the response
/// means the change is served signed). The changed and added names answer
/// signed at once; an unchanged name keeps the RRSIG it had (a full signing
/// would have made a new one, with a later inception).
#[test]
fn zone_imports_into_a_served_signed_zone_sign_only_the_change() {
    let dir = TempDir::new("signxfr-import");
    let data = dir.path().join("data");
    let token = ok(&data, &["init", "--email", "ops@example.org"])
        .trim()
        .to_owned();
    ok(&data, &["zone", "create", "example.com"]);
    // More names than the server's follower patches from the journal
    // (1,000): an import that journaled every row would be signed in full.
    let hosts: String = (0..1100)
        .map(|i| format!("h{i}.example.com. 3600 IN A 10.0.{}.{}\n", i / 256, i % 256))
        .collect();
    let first = dir.write("first.zone", &hosts);
    ok(
        &data,
        &[
            "zone",
            "import",
            "example.com",
            &first.display().to_string(),
        ],
    );
    ok(&data, &["dnssec", "enable", "example.com"]);
    let args: Vec<String> = [
        "--data-dir",
        &data.display().to_string(),
        "--redirect-address",
        "127.0.0.1",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    wait_signed(&candor, "h1.example.com", Rtype::A, &["10.0.0.1"]);
    let kept = inception(&candor, "h1.example.com", Rtype::A);
    let file = ok(&data, &["zone", "export", "example.com"]);
    // Later signatures have a later inception.
    std::thread::sleep(Duration::from_millis(1100));

    // The CLI: h5 moves, `cli` is added.
    let changed =
        file.replace("10.0.0.5\n", "192.0.2.105\n") + "cli.example.com. 300 IN A 192.0.2.200\n";
    let path = dir.write("changed.zone", &changed);
    ok(
        &data,
        &["zone", "import", "example.com", &path.display().to_string()],
    );
    wait_signed(&candor, "cli.example.com", Rtype::A, &["192.0.2.200"]);
    wait_signed(&candor, "h5.example.com", Rtype::A, &["192.0.2.105"]);
    assert_eq!(
        inception(&candor, "h1.example.com", Rtype::A),
        kept,
        "the server signed the CLI's import in full:\n{}",
        candor.log()
    );

    // The API: h6 moves, `api` is added; served signed when it answers.
    let changed =
        changed.replace("10.0.0.6\n", "192.0.2.106\n") + "api.example.com. 300 IN A 192.0.2.201\n";
    let escaped = changed
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    let r = crate::http::request(
        candor.listeners().api,
        "PUT",
        "/v2/1/zones/example.com/file",
        Some(&token),
        Some(&format!(r#"{{"zone_file":"{escaped}"}}"#)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for (name, want) in [
        ("api.example.com", "192.0.2.201"),
        ("h6.example.com", "192.0.2.106"),
    ] {
        let (rcode, _, got, sigs) = ask_do(candor.addr(), name, Rtype::A, false);
        assert_eq!(
            (rcode, got, sigs > 0),
            (0, vec![want.to_owned()], true),
            "{name}"
        );
    }
    assert_eq!(
        inception(&candor, "h1.example.com", Rtype::A),
        kept,
        "the API's import signed in full:\n{}",
        candor.log()
    );
}
