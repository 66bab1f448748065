//! ALIAS targets inside the served zones and standard secondaries: when
//! the target of an ALIAS lives in another zone Candor serves and its
//! address changes through the API, the ALIAS owner's zone gets one new
//! serial, and Knot DNS (a secondary of that zone only) serves the new
//! flattened address after the NOTIFY and IXFR.
//!
//! `CANDOR_ALIAS_BUMP_CHANGES=N` sets how many changes the test makes (5
//! by default); each change's time from the API's answer to Knot serving
//! the new address is printed (run with `--nocapture`), with the median:
//! the figure in docs/benchmarks.md (issue 10).

use std::time::{Duration, Instant};

use crate::dnssec::ok;
use crate::http::{json_field, request};
use crate::store::addresses;
use crate::support::{TempDir, free_port};
use crate::xfr::{Kind, Secondary, keyed_primary, knot_tools, serial, wait_in_sync};

/// Knot follows a.test., whose `www ALIAS host.b.test.` points into
/// b.test., also served by the same Candor: each API change of
/// host.b.test.'s address reaches Knot, with exactly one new serial of
/// a.test. per change (the bump itself, a change of the SOA alone, makes
/// no further bump).
#[test]
fn knot_serves_the_new_address_of_an_alias_target_in_another_served_zone() {
    let Some((knotd, _)) = knot_tools("alias_bump") else {
        return;
    };
    let data = TempDir::new("alias-bump");
    let port = free_port();
    let (h, secret) = keyed_primary(data.path(), port, &[]);
    ok(data.path(), &["zone", "create", "b.test"]);
    ok(
        data.path(),
        &["record", "add", "b.test", "host", "A", "192.0.2.1"],
    );
    ok(data.path(), &["zone", "create", "a.test"]);
    ok(
        data.path(),
        &["record", "add", "a.test", "www", "ALIAS", "host.b.test."],
    );
    let primary = h.candor.addr();
    // The server follows the CLI's writes within a second or so.
    let deadline = Instant::now() + Duration::from_secs(20);
    while addresses(primary, "www.a.test.") != ["192.0.2.1"] {
        assert!(
            Instant::now() < deadline,
            "Candor does not serve www.a.test.:\n{}",
            h.candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let knot = Secondary::start(Kind::Knot, &knotd, port, primary, &secret, &["a.test."]);
    let logs = || format!("--- candor:\n{}\n--- knot:\n{}", h.candor.log(), knot.log());
    wait_in_sync(primary, knot.addr, "a.test.", &logs);
    assert_eq!(
        addresses(knot.addr, "www.a.test."),
        ["192.0.2.1"],
        "{}",
        logs()
    );

    let list = format!("/v2/{}/zones/b.test/records?name=host&type=A", h.account);
    let id = json_field(
        &request(h.api, "GET", &list, Some(&h.token), None).body,
        "id",
    )
    .expect("host.b.test. A record");
    let changes: u32 = std::env::var("CANDOR_ALIAS_BUMP_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut times = Vec::new();
    for i in 0..changes {
        let before = serial(primary, "a.test.").expect("a.test. serial");
        let address = format!("192.0.2.{}", 10 + i % 200);
        let path = format!("/v2/{}/zones/b.test/records/{id}", h.account);
        let body = format!(r#"{{"content":"{address}"}}"#);
        let r = request(h.api, "PATCH", &path, Some(&h.token), Some(&body));
        assert_eq!(r.status, 200, "{}", r.body);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(10);
        while addresses(knot.addr, "www.a.test.") != [address.as_str()] {
            assert!(
                Instant::now() < deadline,
                "change {i}: Knot does not serve {address} for www.a.test.:\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        times.push(start.elapsed());
        // Long enough for a second bump, were there one (the resolver's
        // task looks at the served zones every 100 ms).
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(
            serial(primary, "a.test."),
            Some(before.wrapping_add(1)),
            "change {i}: a.test. must get exactly one new serial:\n{}",
            logs()
        );
        // Knot may miss one SOA query's 2 x 300 ms under load: ask again.
        let knot_serial = (0..20).find_map(|_| {
            serial(knot.addr, "a.test.").or_else(|| {
                std::thread::sleep(Duration::from_millis(100));
                None
            })
        });
        assert_eq!(
            knot_serial,
            Some(before.wrapping_add(1)),
            "change {i}: Knot's serial of a.test.:\n{}",
            logs()
        );
    }
    times.sort();
    let ms: Vec<u128> = times.iter().map(|t| t.as_millis()).collect();
    eprintln!(
        "alias_bump: {changes} changes, API answer to Knot serving the new address: \
         p50 {} ms, max {} ms ({ms:?})",
        ms[ms.len() / 2],
        ms[ms.len() - 1]
    );
}

/// An RFC 3597 ALIAS line of `owner` to `target` (absolute).
fn alias_line(owner: &str, target: &str) -> String {
    let mut wire = Vec::new();
    for label in target.trim_end_matches('.').split('.') {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    let hex: String = wire.iter().map(|b| format!("{b:02x}")).collect();
    format!("{owner} 300 IN TYPE65304 \\# {} {hex}\n", wire.len())
}

/// A server with zone files alone and no `--alias-upstream` says once
/// per zone that ALIAS records to names outside its zones answer
/// SERVFAIL; a zone whose ALIAS records point inside the served zones
/// is not named.
#[test]
fn zone_files_with_alias_records_to_names_outside_warn_once_per_zone() {
    let dir = TempDir::new("alias-warn");
    let head = |origin: &str| {
        format!(
            "$ORIGIN {origin}\n$TTL 300\n@ SOA ns h 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.1\n"
        )
    };
    let mut outside = head("example.com.");
    outside.push_str(&alias_line("www", "cdn.example.net."));
    outside.push_str(&alias_line("api", "api.example.net."));
    std::fs::write(dir.path().join("example.com.zone"), outside).expect("zone file");
    let mut inside = head("inside.test.");
    inside.push_str(&alias_line("www", "ns.example.com."));
    std::fs::write(dir.path().join("inside.test.zone"), inside).expect("zone file");
    let candor = crate::support::Candor::start(dir.path(), &[], "example.com.");
    let warning = "zone example.com has ALIAS records to names outside the served zones but \
                   no --alias-upstream is set: they answer SERVFAIL";
    let deadline = Instant::now() + Duration::from_secs(10);
    while !candor.log().contains(warning) {
        assert!(
            Instant::now() < deadline,
            "no warning in the log:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A second pass of the watcher (once a second) says nothing again.
    std::thread::sleep(Duration::from_millis(1500));
    let log = candor.log();
    assert_eq!(log.matches(warning).count(), 1, "{log}");
    assert!(!log.contains("zone inside.test has ALIAS"), "{log}");
}

/// A server with zone files alone (no store) and `--alias-upstream`
/// resolves the ALIAS targets outside its zones through the upstream (a
/// real Knot), as a server with a store does, and says nothing about
/// SERVFAIL. (Before, the flag was accepted and ignored without a store.)
#[test]
fn zone_files_with_an_alias_upstream_resolve_targets_outside() {
    let Some((knotd, _)) = knot_tools("alias_bump") else {
        return;
    };
    let files = TempDir::new("alias-files-upstream");
    let knot = crate::store::target_upstream(&knotd, &files);
    let dir = TempDir::new("alias-files");
    let mut zone = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 7200 3600 1209600 300\n@ NS ns\n\
         ns A 192.0.2.1\n",
    );
    zone.push_str(&alias_line("@", "www.target.test."));
    zone.push_str(&alias_line("nowhere", "nope.target.test."));
    std::fs::write(dir.path().join("example.com.zone"), zone).expect("zone file");
    let candor = crate::support::Candor::start(
        dir.path(),
        &["--alias-upstream", &knot.addr().to_string()],
        "example.com.",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while addresses(candor.addr(), "example.com.") != ["192.0.2.55"] {
        assert!(
            Instant::now() < deadline,
            "example.com. does not answer the target's address:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A target that does not exist upstream: NODATA, no address.
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::store::rcode_of(candor.addr(), "nowhere.example.com.") != 0 {
        assert!(
            Instant::now() < deadline,
            "nowhere.example.com. never became NODATA:\n{}",
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(addresses(candor.addr(), "nowhere.example.com.").is_empty());
    assert!(
        !candor.log().contains("no --alias-upstream is set"),
        "{}",
        candor.log()
    );
}
