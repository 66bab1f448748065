//! Operating the real binary: Prometheus metrics that move with the
//! traffic, health and readiness, JSON logs, the API access log, and the
//! audit log through the API and `candor audit`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use serde_json::Value;

use crate::http::{json_field, request};
use crate::store::host_with;
use crate::support::{Candor, Query, TempDir, ask, free_port, tcp, udp_exchange};

/// A fresh address for the metrics listener.
fn metrics_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Reads `/metrics` (retrying while the listener starts) and checks it is
/// OpenMetrics text.
fn scrape(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "no metrics listener on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = request(addr, "GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.ends_with("# EOF\n"), "not OpenMetrics:\n{}", r.body);
    r.body
}

/// The value of the sample `series` (name and labels exactly as
/// rendered), or 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| {
            v.trim()
                .parse()
                .unwrap_or_else(|e| panic!("{series}: {v:?}: {e}"))
        })
}

/// Queries over UDP and TCP move the counters by transport and rcode,
/// the answer-time histogram and the TCP connection count; `/healthz`
/// and `/readyz` answer on the metrics listener; every log line is JSON.
#[test]
fn metrics_move_with_queries_and_logs_are_json() {
    let zones = TempDir::new("observe-zones");
    zones.write(
        "obs.test.zone",
        "$ORIGIN obs.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 900 86400 300\n\
         @ IN NS ns1\nns1 IN A 192.0.2.53\nwww IN A 192.0.2.80\n",
    );
    let metrics = metrics_addr();
    let server = Candor::start(
        zones.path(),
        &[
            "--metrics-listen",
            &metrics.to_string(),
            "--log-format",
            "json",
            "--xfr-allow",
            "127.0.0.1",
        ],
        "obs.test",
    );
    let before = scrape(metrics);
    let www = Query::new("www.obs.test", Rtype::A);
    let missing = Query::new("nothing.obs.test", Rtype::A);
    for _ in 0..3 {
        assert!(ask(server.addr(), &www, false).is_some());
    }
    assert!(ask(server.addr(), &missing, false).is_some());
    assert!(ask(server.addr(), &missing, true).is_some());
    // Not a query: dropped without an answer (sent once).
    let junk = udp_exchange(server.addr(), &[0u8; 5], Duration::from_millis(300), 1);
    assert!(junk.is_none());
    // A zone transfer sent, and one refused (the zone is not served).
    let axfr = tcp(
        server.addr(),
        &Query::new("obs.test", Rtype::AXFR).to_wire(),
    );
    assert!(axfr.is_ok(), "{axfr:?}");
    let refused = tcp(
        server.addr(),
        &Query::new("nope.test", Rtype::AXFR).to_wire(),
    );
    assert!(refused.is_ok(), "{refused:?}");
    // The transfer is counted once its last message is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let text = scrape(metrics);
        if value(&text, r#"candor_xfr_requests_total{result="completed"}"#) >= 1.0
            || Instant::now() > deadline
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let moved = |series: &str| value(&after, series) - value(&before, series);
    // UDP queries may be retried on a busy machine: at least this many.
    let at_least = |series: &str, n: f64| {
        let m = moved(series);
        assert!(
            m >= n,
            "{series} moved by {m}, expected at least {n}:\n{after}"
        );
        m
    };
    at_least(
        r#"candor_dns_responses_total{transport="udp",rcode="NOERROR"}"#,
        3.0,
    );
    at_least(
        r#"candor_dns_responses_total{transport="udp",rcode="NXDOMAIN"}"#,
        1.0,
    );
    assert_eq!(
        moved(r#"candor_dns_responses_total{transport="tcp",rcode="NXDOMAIN"}"#),
        1.0
    );
    let received = at_least(r#"candor_dns_received_total{transport="udp"}"#, 5.0);
    at_least(r#"candor_dns_dropped_total{transport="udp"}"#, 1.0);
    assert_eq!(moved("candor_tcp_connections_accepted_total"), 3.0);
    assert_eq!(
        moved(r#"candor_xfr_requests_total{result="completed"}"#),
        1.0
    );
    assert_eq!(moved(r#"candor_xfr_requests_total{result="refused"}"#), 1.0);
    // Every packet received is in the answer-time histogram, once.
    assert_eq!(moved("candor_dns_udp_answer_seconds_count"), received);
    assert_eq!(
        value(&after, r#"candor_dns_udp_answer_seconds_bucket{le="+Inf"}"#),
        value(&after, "candor_dns_udp_answer_seconds_count")
    );
    assert_eq!(value(&after, "candor_zones_served"), 1.0);
    assert_eq!(value(&after, "candor_zones_under_attack"), 0.0);

    // The per-zone accounting names the busiest zones, folded once a
    // second: keep asking until a fold has seen the queries.
    let series = r#"candor_zone_top_queries_per_second{zone="obs.test."}"#;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for _ in 0..20 {
            ask(server.addr(), &www, false);
        }
        let text = scrape(metrics);
        if value(&text, series) >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no {series} in:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }

    let health = request(metrics, "GET", "/healthz", None, None);
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    let ready = request(metrics, "GET", "/readyz", None, None);
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (200, r#"{"status":"ready"}"#)
    );

    let log = server.log();
    let mut lines = 0;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
        lines += 1;
    }
    assert!(log.contains(r#""message":"metrics listening""#), "{log}");
    assert!(lines >= 3, "{log}");
}

/// Runs `candor audit` on `dir` with `args`; returns its standard output.
fn audit_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("audit")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run candor audit");
    assert!(
        out.status.success(),
        "candor audit {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An API change shows in the audit log through the API and the CLI (who,
/// what, from where), is counted by route template, and is written to the
/// access log with the token's id but never the token; the API's
/// `/readyz` is ready.
#[test]
fn api_requests_are_logged_counted_and_audited() {
    let dir = TempDir::new("observe-store");
    let metrics = metrics_addr();
    let h = host_with(
        dir.path(),
        None,
        &[
            "--metrics-listen".to_owned(),
            metrics.to_string(),
            "--log-format".to_owned(),
            "json".to_owned(),
        ],
    );
    let path = format!("/v2/{}/zones/example.com/records", h.account);
    let created = request(
        h.api,
        "POST",
        &path,
        Some(&h.token),
        Some(r#"{"name":"audited","type":"A","content":"192.0.2.77","ttl":300}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = json_field(&created.body, "id").expect("record id");

    let log = request(
        h.api,
        "GET",
        &format!("/v2/{}/audit_log?per_page=5", h.account),
        Some(&h.token),
        None,
    );
    assert_eq!(log.status, 200, "{}", log.body);
    let v: Value = serde_json::from_str(&log.body).expect("JSON");
    let newest = &v["data"][0];
    assert_eq!(newest["action"], "record.create", "{newest}");
    assert_eq!(newest["target"], format!("example.com/records/{id}"));
    assert_eq!(newest["via"], "api");
    assert_eq!(newest["remote"], "127.0.0.1");
    assert!(newest["token_id"].is_i64(), "{newest}");

    let cli = audit_cli(dir.path(), &["--account", "1", "--since", "1h"]);
    let first = cli.lines().next().unwrap_or_default();
    assert!(
        first.contains("via api from 127.0.0.1")
            && first.contains(&format!("record.create example.com/records/{id}")),
        "{cli}"
    );
    assert!(
        audit_cli(dir.path(), &["--since", "2999-01-01T00:00:00Z"]).is_empty(),
        "nothing is that new"
    );
    // A token made with the CLI is audited as the CLI's doing.
    let made = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["token", "create", "--name", "ci", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run candor token create");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let cli = audit_cli(dir.path(), &["--limit", "1"]);
    assert!(
        cli.contains("  cli  via cli from -  token.create tokens/"),
        "{cli}"
    );

    let text = scrape(metrics);
    let series = r#"candor_api_requests_total{method="POST",route="/v2/{account}/zones/{zone}/records",status="201"}"#;
    assert_eq!(value(&text, series), 1.0, "{text}");

    // The status page's monitor probes this server's name server within
    // its first round (a second after start).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(metrics);
        let ok = text.lines().any(|l| {
            l.starts_with("candor_status_probes_total{")
                && l.contains(r#"kind="nameserver",result="ok""#)
        });
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no name-server probe counted:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let ready = request(h.api, "GET", "/readyz", None, None);
    assert_eq!(ready.status, 200, "{}", ready.body);

    let server_log = h.candor.log();
    let access: Vec<Value> = server_log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "candor::access")
        .collect();
    let post = access
        .iter()
        .find(|v| v["fields"]["method"] == "POST")
        .unwrap_or_else(|| panic!("no access-log line for the POST:\n{server_log}"));
    let fields = &post["fields"];
    assert_eq!(
        fields["route"], "/v2/{account}/zones/{zone}/records",
        "{post}"
    );
    assert_eq!(fields["status"], 201);
    assert_eq!(fields["account"], 1);
    assert!(fields["token_id"].is_i64(), "{post}");
    assert_eq!(fields["client"], "127.0.0.1");
    assert!(fields["duration_ms"].is_f64(), "{post}");
    assert!(
        access.iter().any(|v| v["fields"]["route"] == "/readyz"),
        "the unauthenticated /readyz is logged too"
    );
    // The token appears once, in the first-start banner that prints it,
    // and in no log line.
    assert_eq!(
        server_log.matches(h.token.as_str()).count(),
        1,
        "{server_log}"
    );
}
