//! Candor never takes a zone offline by itself: stored data serves
//! whatever flags the server starts with, a zone that stops compiling
//! serves its last known good version, a refused import changes nothing,
//! and a change made elsewhere never replaces a newer acknowledged one.

use std::path::Path;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::http::request;
use crate::store::{Hosted, addresses, cli, host, host_with};
use crate::support::{Query, TempDir, free_port, udp_exchange};

/// Stops a hosted server with SIGTERM and waits for it.
fn stop(mut h: Hosted) {
    h.candor.process().signal("TERM");
    assert!(
        h.candor
            .process()
            .wait_timeout(Duration::from_secs(10))
            .is_some(),
        "the server did not stop"
    );
}

/// The response code for `name A`.
fn rcode(h: &Hosted, name: &str) -> u16 {
    let q = Query::new(name, Rtype::A).to_wire();
    let resp = udp_exchange(h.candor.addr(), &q, Duration::from_millis(500), 3).expect("an answer");
    decode_message(&resp).expect("a response").rcode()
}

/// The zone's distribution check, as JSON.
fn distribution(h: &Hosted) -> serde_json::Value {
    let path = format!("/v2/{}/zones/example.com/distribution", h.account);
    let r = request(h.api, "GET", &path, Some(&h.token), None);
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("JSON")
}

/// The codes of the problems the distribution check lists.
fn problem_codes(h: &Hosted) -> Vec<String> {
    distribution(h)["data"]["problems"]
        .as_array()
        .expect("a problems list")
        .iter()
        .map(|p| p["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Creates a record through the API; returns the status and body.
fn create(h: &Hosted, name: &str, rtype: &str, content: &str) -> (u16, String) {
    let body = format!(r#"{{"name":"{name}","type":"{rtype}","content":"{content}"}}"#);
    let path = format!("/v2/{}/zones/example.com/records", h.account);
    let r = request(h.api, "POST", &path, Some(&h.token), Some(&body));
    (r.status, r.body)
}

#[test]
fn a_restart_without_alias_upstream_serves_every_stored_zone() {
    let dir = TempDir::new("candor-offline");
    // An upstream that never answers: the ALIAS stays unresolved.
    let upstream = format!("127.0.0.1:{}", free_port());
    let h = host_with(dir.path(), None, &["--alias-upstream".to_owned(), upstream]);
    let token = h.token.clone();
    let (status, body) = create(&h, "app", "ALIAS", "myapp.herokuapp.example");
    assert_eq!(status, 201, "{body}");
    stop(h);

    // Without --alias-upstream: the zone serves (the helper waits for it
    // to answer its SOA), only the ALIAS name is SERVFAIL.
    let h = host(dir.path(), Some(&token));
    assert_eq!(
        addresses(h.candor.addr(), "mail.example.com."),
        vec!["192.0.2.25".to_owned()]
    );
    assert_eq!(rcode(&h, "app.example.com."), 2, "SERVFAIL until resolved");
    assert_eq!(problem_codes(&h), vec!["alias_without_upstream".to_owned()]);
    // The ALIAS task names the zone in a warning as it first reads it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !h.candor.log().contains("no --alias-upstream") {
        assert!(
            std::time::Instant::now() < deadline,
            "a warning at start:\n{}",
            h.candor.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The zone stays editable, through the API and the CLI, and new ALIAS
    // records elsewhere are accepted.
    let (status, body) = create(&h, "api", "A", "192.0.2.44");
    assert_eq!(status, 201, "{body}");
    let (status, body) = create(&h, "other", "ALIAS", "edge.cdn.example");
    assert_eq!(status, 201, "{body}");
    let out = cli(
        dir.path(),
        &["record", "add", "example.com", "fromcli", "A", "192.0.2.45"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop(h);
}

/// Makes the stored zone `example.com` stop compiling, as a bug or a
/// migration could: a CNAME written straight into the database at the
/// apex, beside its SOA, NS, A and MX records.
fn break_zone(data: &Path) {
    let conn = rusqlite::Connection::open(data.join("candor.db")).expect("open the database");
    let inserted = conn
        .execute(
            "INSERT INTO records (zone_id, name, rtype, rtype_code, content, ttl, regions, system,
                                  rdata, created_at, updated_at)
             SELECT id, '', 'CNAME', 5, 'elsewhere.example', 3600, 'global', 0,
                    X'09656c73657768657265076578616d706c6500', 0, 0
             FROM zones WHERE name = 'example.com'",
            [],
        )
        .expect("insert");
    assert_eq!(inserted, 1);
}

/// The serial example.com is served with (after an acknowledged write,
/// the stored one).
fn served_serial(h: &Hosted) -> u32 {
    let q = Query::new("example.com.", Rtype::SOA).to_wire();
    let resp = udp_exchange(h.candor.addr(), &q, Duration::from_millis(500), 3).expect("an answer");
    let msg = decode_message(&resp).expect("a response");
    let soa = msg
        .answer
        .iter()
        .find(|r| r.rtype == Rtype::SOA)
        .expect("the SOA");
    let tail = &soa.rdata[soa.rdata.len() - 20..];
    u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]])
}

/// Polls the status page's summary until its "Zone publishing" component
/// shows `state`; returns the summary.
fn wait_for_publishing(h: &Hosted, state: &str) -> serde_json::Value {
    let status = h.candor.listeners().status;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = request(status, "GET", "/api/v2/summary.json", None, None);
        let summary: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        let shown = summary["components"]
            .as_array()
            .expect("components")
            .iter()
            .find(|c| c["name"] == "Zone publishing")
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned());
        if shown.as_deref() == Some(state) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "Zone publishing is {shown:?}, not {state}: {summary}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_zone_that_stops_compiling_serves_its_last_known_good_version() {
    let dir = TempDir::new("candor-offline");
    let h = host(dir.path(), None);
    let token = h.token.clone();
    let (status, body) = create(&h, "good", "A", "192.0.2.77");
    assert_eq!(status, 201, "{body}");
    // The copy is written in the background, within seconds.
    let serial = served_serial(&h);
    let copy = dir.path().join("last-good").join("zone-1.zone");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&copy).is_ok_and(|t| t.contains(&format!("serial {serial}."))) {
        assert!(
            Instant::now() < deadline,
            "no last known good copy of serial {serial} at {}",
            copy.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(h);

    break_zone(dir.path());
    let h = host(dir.path(), Some(&token));
    assert_eq!(
        addresses(h.candor.addr(), "good.example.com."),
        vec!["192.0.2.77".to_owned()],
        "the last known good version serves"
    );
    let log = h.candor.log();
    assert!(
        log.contains("ERROR") && log.contains("serving its last known good version"),
        "{log}"
    );
    assert_eq!(
        problem_codes(&h),
        vec!["stored_version_not_served".to_owned()]
    );
    // The operator sees it on the status page, without the zone's name.
    let summary = wait_for_publishing(&h, "degraded_performance");
    assert!(
        summary["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .any(|i| i["name"] == "Zone changes not published"),
        "{summary}"
    );
    assert!(!summary.to_string().contains("example.com"), "{summary}");
    // Edits that leave the zone broken are refused with the reason; the
    // edit that fixes it (deleting the stray record) is served at once.
    let (status, body) = create(&h, "more", "A", "192.0.2.78");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("CNAME"), "{body}");
    let path = format!("/v2/{}/zones/example.com/records?type=CNAME", h.account);
    let r = request(h.api, "GET", &path, Some(&h.token), None);
    let list: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    let stray = list["data"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["name"] == "")
        .expect("the stray CNAME is listed")["id"]
        .as_i64()
        .expect("an id");
    let path = format!("/v2/{}/zones/example.com/records/{stray}", h.account);
    assert_eq!(
        request(h.api, "DELETE", &path, Some(&h.token), None).status,
        204
    );
    assert!(problem_codes(&h).is_empty());
    let summary = wait_for_publishing(&h, "operational");
    assert!(
        summary["incidents"]
            .as_array()
            .expect("incidents")
            .is_empty(),
        "resolved: {summary}"
    );
    let (status, body) = create(&h, "more", "A", "192.0.2.78");
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        addresses(h.candor.addr(), "more.example.com."),
        vec!["192.0.2.78".to_owned()]
    );
    stop(h);
}

#[test]
fn a_refused_import_creates_no_zone() {
    let dir = TempDir::new("candor-offline");
    let h = host(dir.path(), None);
    let file = dir.write(
        "fresh.zone",
        "$ORIGIN fresh.example.\n$TTL 3600\nwww A 192.0.2.1\nbad A 300.1.1.1\n",
    );
    let out = cli(
        dir.path(),
        &[
            "zone",
            "import",
            "fresh.example",
            &file.display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":4:"), "the error names the line: {stderr}");
    let out = cli(dir.path(), &["zone", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(!listed.contains("fresh.example"), "{listed}");
    // Nothing new is served either (the running server polls every second).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(rcode(&h, "www.fresh.example."), 5, "REFUSED: no such zone");
    stop(h);
}

#[test]
fn concurrent_cli_and_api_writes_never_unserve_an_acknowledged_change() {
    let dir = TempDir::new("candor-offline");
    let h = host(dir.path(), None);
    // The CLI changes the zone as fast as it can, so the server's store
    // follower keeps compiling versions that the API's writes overtake.
    // (The window is a compile's length, so this rarely catches a
    // publisher that accepts older serials; the publisher's own tests
    // check that rule deterministically.)
    let stop_cli = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cli_thread = {
        let (dir, stop_cli) = (dir.path().to_owned(), stop_cli.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop_cli.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("cli{n}");
                let out = cli(
                    &dir,
                    &["record", "add", "example.com", &name, "A", "192.0.2.9"],
                );
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                n += 1;
            }
            n
        })
    };
    for i in 0..60 {
        let ip = format!("198.51.100.{}", i + 1);
        let (status, body) = create(&h, &format!("api{i}"), "A", &ip);
        assert_eq!(status, 201, "{body}");
        // Acknowledged means served, now and at every later check.
        for earlier in (0..=i).rev().take(3) {
            assert_eq!(
                addresses(h.candor.addr(), &format!("api{earlier}.example.com.")),
                vec![format!("198.51.100.{}", earlier + 1)],
                "api{earlier} after write {i}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_cli.store(true, std::sync::atomic::Ordering::Relaxed);
    let cli_writes = cli_thread.join().expect("the CLI thread");
    assert!(cli_writes > 0);
    stop(h);
}

#[test]
fn zone_check_says_what_every_way_in_does() {
    let dir = TempDir::new("candor-offline");
    let h = host(dir.path(), None);
    let body = "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n\
                ns1 A 192.0.2.1\nmac EUI48 00-00-5e-00-53-2a\nx TYPE999 \\# 2 abcd\n";
    let with_include = format!("{body}$INCLUDE more.zone\n");
    dir.write("more.zone", "inc A 192.0.2.3\n");
    let file = dir.write("example.com.zone", &with_include);
    let file_arg = file.display().to_string();
    let check = |extra: &[&str]| {
        let mut args = vec!["zone", "check", file_arg.as_str()];
        args.extend_from_slice(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_candor"))
            .args(&args)
            .output()
            .expect("run candor");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, report) = check(&[]);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("accepted by candor serve --zones"),
        "{report}"
    );
    assert!(
        report.contains("accepted by candor zone import"),
        "{report}"
    );
    assert!(report.contains("refused by the API"), "{report}");
    assert!(
        report.contains("example.com.zone:8: $INCLUDE is not allowed in uploaded zone text"),
        "{report}"
    );
    assert_eq!(check(&["--for", "files", "--for", "import"]).0, Some(0));

    // What it said of the import: accepted, EUI48 and TYPE999 served.
    let out = cli(dir.path(), &["zone", "import", "example.com", &file_arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(1500));
    for (name, rtype, rdata) in [
        (
            "mac.example.com.",
            Rtype(108),
            vec![0, 0, 0x5e, 0, 0x53, 0x2a],
        ),
        ("x.example.com.", Rtype(999), vec![0xab, 0xcd]),
        ("inc.example.com.", Rtype::A, vec![192, 0, 2, 3]),
    ] {
        let q = Query::new(name, rtype).to_wire();
        let resp =
            udp_exchange(h.candor.addr(), &q, Duration::from_millis(500), 3).expect("answer");
        let msg = decode_message(&resp).expect("a response");
        assert_eq!(
            msg.answer.first().map(|r| r.rdata.clone()),
            Some(rdata),
            "{name}"
        );
    }

    // What it said of the API: refused with $INCLUDE, accepted without.
    let path = format!("/v2/{}/zones/example.com/file", h.account);
    let upload = |text: &str| {
        let json = serde_json::json!({ "zone_file": text }).to_string();
        request(h.api, "PUT", &path, Some(&h.token), Some(&json))
    };
    let r = upload(&with_include);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("$INCLUDE is not allowed"), "{}", r.body);
    let r = upload(body);
    assert!(r.status < 300, "{} {}", r.status, r.body);
    std::fs::write(&file, body).expect("rewrite the file");
    let (code, report) = check(&[]);
    assert_eq!(code, Some(0), "{report}");
    stop(h);
}
