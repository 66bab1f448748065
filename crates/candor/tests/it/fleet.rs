//! The fleet seen from the primary: a real Knot DNS secondary's serial and
//! lag on the distribution endpoint, and the status page's "Secondary name
//! servers" incident while it is stopped and behind, resolved once it has
//! caught up.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::request;
use crate::store::{Hosted, addresses};
use crate::support::{KnotServer, TempDir, free_port};
use crate::xfr::{Kind, Secondary, api, keyed_primary, knot_tools, record, serial, wait_in_sync};

/// The zone's distribution answer (`data`).
fn distribution(h: &Hosted) -> Value {
    let path = format!("/v2/{}/zones/example.com/distribution", h.account);
    let r = request(h.api, "GET", &path, Some(&h.token), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).expect("JSON");
    body["data"].clone()
}

/// Polls the status page's summary until the "Secondary name servers"
/// component shows `state`; returns the summary.
fn wait_for_secondaries(h: &Hosted, state: &str, log: &dyn Fn() -> String) -> Value {
    let status = h.candor.listeners().status;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = request(status, "GET", "/api/v2/summary.json", None, None);
        let summary: Value = serde_json::from_str(&r.body).expect("JSON");
        let shown = summary["components"]
            .as_array()
            .expect("components")
            .iter()
            .find(|c| c["name"] == "Secondary name servers")
            .map(|c| c["status"].as_str().unwrap_or_default().to_owned());
        if shown.as_deref() == Some(state) {
            return summary;
        }
        assert!(
            Instant::now() < deadline,
            "Secondary name servers is {shown:?}, not {state}: {summary}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The open incidents' names in a summary.
fn incidents(summary: &Value) -> Vec<String> {
    summary["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Knot follows Candor; the distribution endpoint shows its serial (asked
/// over the wire) and lag; stopped while the zone changes, it is shown
/// `silent`, then behind on the status page after the (short) threshold;
/// restarted, it catches up and the incident resolves.
#[test]
fn a_stopped_secondary_opens_an_incident_until_it_catches_up() {
    let Some((knotd, _)) = knot_tools("fleet lag") else {
        return;
    };
    let data = TempDir::new("fleet-primary");
    let port = free_port();
    let metrics_addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (h, secret) = keyed_primary(
        data.path(),
        port,
        &[
            "--secondary-lag-threshold".to_owned(),
            "2".to_owned(),
            "--secondary-check-interval".to_owned(),
            "0.3".to_owned(),
            "--status-interval-ms".to_owned(),
            "300".to_owned(),
            "--metrics-listen".to_owned(),
            metrics_addr.to_string(),
            // Knot is not told of the catalog: not watched, no incident.
            "--catalog".to_owned(),
            "catalog.invalid".to_owned(),
        ],
    );
    let zones = ["example.com."];
    let mut knot = Secondary::start(Kind::Knot, &knotd, port, h.candor.addr(), &secret, &zones);
    let primary = h.candor.addr();
    let logs =
        |knot: &Secondary| format!("--- candor:\n{}\n--- knot:\n{}", h.candor.log(), knot.log());
    wait_in_sync(primary, knot.addr, "example.com.", &|| logs(&knot));

    // In sync: the endpoint names the secondary with the primary's serial.
    let now = serial(primary, "example.com.").expect("served");
    let d = distribution(&h);
    let entry = &d["secondaries"][0];
    assert_eq!(entry["address"], knot.addr.to_string(), "{d}");
    assert_eq!(entry["serial"], now, "{d}");
    assert_eq!(entry["state"], "current", "{d}");
    assert_eq!(entry["serials_behind"], 0, "{d}");
    assert_eq!(entry["lag_seconds"], 0, "{d}");
    assert_eq!(d["distributed"], true, "{d}");
    wait_for_secondaries(&h, "operational", &|| logs(&knot));
    // Still in sync after the threshold: nothing is opened.
    std::thread::sleep(Duration::from_secs(3));
    let summary = wait_for_secondaries(&h, "operational", &|| logs(&knot));
    assert!(incidents(&summary).is_empty(), "{summary}");

    // Stopped while the zone changes.
    knot.stop();
    api(
        &h,
        "POST",
        "/records",
        Some(&record("late", "A", "192.0.2.55")),
    );
    let d = distribution(&h);
    assert_eq!(d["secondaries"][0]["state"], "silent", "{d}");
    assert_eq!(d["distributed"], false, "{d}");
    let summary = wait_for_secondaries(&h, "degraded_performance", &|| logs(&knot));
    assert!(
        incidents(&summary).contains(&"Secondary name servers behind".to_owned()),
        "{summary}"
    );
    let text = summary.to_string();
    assert!(
        text.contains(&knot.addr.to_string()),
        "names the secondary: {text}"
    );
    assert!(!text.contains("example.com"), "names no zone: {text}");
    assert!(h.candor.log().contains("a secondary is behind the primary"));
    let metrics = request(metrics_addr, "GET", "/metrics", None, None).body;
    let late = format!(
        "candor_secondary_zones_late{{secondary=\"{}\"}} 1",
        knot.addr
    );
    assert!(metrics.contains(&late), "{metrics}");

    // Restarted: it catches up (NOTIFY retried, or its own refresh) and
    // the incident resolves.
    let knot = knot.restart(Kind::Knot, &knotd, primary, &secret, &zones);
    wait_in_sync(primary, knot.addr, "example.com.", &|| logs(&knot));
    let summary = wait_for_secondaries(&h, "operational", &|| logs(&knot));
    assert!(incidents(&summary).is_empty(), "resolved: {summary}");
    let d = distribution(&h);
    assert_eq!(d["secondaries"][0]["state"], "current", "{d}");
    assert_eq!(
        d["secondaries"][0]["serial"],
        serial(primary, "example.com.").expect("served"),
        "{d}"
    );
    assert_eq!(d["distributed"], true, "{d}");
    drop(knot);
}

/// An ALIAS to a name outside Candor whose addresses change upstream
/// (only there: nothing changes in Candor's zone) reaches a Knot
/// secondary: the change is a new serial, an IXFR and a NOTIFY.
#[test]
fn an_alias_targets_new_addresses_reach_a_standard_secondary() {
    let Some((knotd, _)) = knot_tools("fleet alias") else {
        return;
    };
    // The upstream: a real Knot serving the target, TTL 1.
    let files = TempDir::new("fleet-upstream");
    let target = |serial: u32, address: &str| {
        format!(
            "$ORIGIN target.test.\n$TTL 1\n@ SOA ns h {serial} 7200 3600 1209600 1\n@ NS ns\n\
             ns A 192.0.2.53\nwww A {address}\n"
        )
    };
    let zone = files.write("target.test.zone", &target(1, "192.0.2.55"));
    let upstream = KnotServer::start(&knotd, &[("target.test".to_owned(), zone.clone())]);

    let data = TempDir::new("fleet-primary");
    let port = free_port();
    let (h, secret) = keyed_primary(
        data.path(),
        port,
        &[
            "--alias-upstream".to_owned(),
            upstream.addr().to_string(),
            "--alias-ttl-floor".to_owned(),
            "1".to_owned(),
            "--alias-ttl-ceiling".to_owned(),
            "1".to_owned(),
        ],
    );
    let primary = h.candor.addr();
    let knot = Secondary::start(
        Kind::Knot,
        &knotd,
        port,
        primary,
        &secret,
        &["example.com."],
    );
    let logs = || format!("--- candor:\n{}\n--- knot:\n{}", h.candor.log(), knot.log());
    wait_in_sync(primary, knot.addr, "example.com.", &logs);
    api(
        &h,
        "POST",
        "/records",
        Some(&record("flat", "ALIAS", "www.target.test")),
    );
    wait_for(
        &|| addresses(knot.addr, "flat.example.com.") == ["192.0.2.55"],
        &logs,
    );
    let before = serial(primary, "example.com.").expect("served");

    // Only the target's address changes, upstream.
    std::fs::write(&zone, target(2, "192.0.2.66")).expect("rewrite the upstream's zone");
    upstream.reload();
    wait_for(
        &|| addresses(primary, "flat.example.com.") == ["192.0.2.66"],
        &logs,
    );
    wait_for(
        &|| addresses(knot.addr, "flat.example.com.") == ["192.0.2.66"],
        &logs,
    );
    wait_in_sync(primary, knot.addr, "example.com.", &logs);
    let after = serial(primary, "example.com.").expect("served");
    assert!(after > before, "a new serial: {before} → {after}");
    let log = knot.log();
    assert_eq!(
        log.matches("AXFR, incoming, remote").count(),
        2,
        "one AXFR (started, finished), then only IXFRs:\n{log}"
    );
    assert!(
        h.candor
            .log()
            .contains("ALIAS target addresses changed: new serial for secondaries")
    );
    // No new serial while the addresses stay the same (TTL 1: refreshed
    // every second).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(serial(primary, "example.com."), Some(after), "{}", logs());
}

/// Polls `check` for up to 20 seconds.
fn wait_for(check: &dyn Fn() -> bool, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out:\n{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
}
