//! Floods against one zone, end to end (issue 15, points 4 and 6).
//!
//! - Per-zone isolation: a worker slowed to about 100 answers a second
//!   (the hidden `--test-slow-worker-us`, a busy wait after every answer)
//!   takes a random-subdomain flood of ten times that for one zone, and
//!   another zone's legitimate client still gets at least 99.9% of its
//!   answers: the flooded zone is held to its fair share and its excess
//!   is dropped before it costs an answer.
//! - Attack targets told to their owners: a flood over `--attack-qps`
//!   makes the zone's owner's webhook receive a private notice naming the
//!   zone, the operator's `GET …/traffic/top` and `candor top` list it,
//!   and the public status page shows an incident that names no zone.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use serde_json::Value;

use crate::http::request;
use crate::status::{Receiver, get, get_json, wait_for};
use crate::support::{Candor, Query, Rng, TempDir, free_port};

/// A zone file for `origin` with an address at `www`.
fn zone_text(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\n\
         ns A 192.0.2.1\nwww A 192.0.2.80\n"
    )
}

/// Sends a random-subdomain flood for `zone` at `qps` (in bursts every
/// millisecond) from its own socket until `stop`; returns how many it sent.
fn flood(addr: SocketAddr, zone: &str, qps: u64, stop: Arc<AtomicBool>) -> u64 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the flood socket");
    let mut rng = Rng::new(0x5eed);
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = start.elapsed().as_micros() as u64 * qps / 1_000_000;
        while sent < due {
            let name = format!("{}{}.{zone}", rng.label(), sent);
            let mut q = Query::new(&name, Rtype::A).to_wire();
            q[..2].copy_from_slice(&(sent as u16).to_be_bytes());
            let _ = socket.send_to(&q, addr);
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    sent
}

/// What a legitimate client measured.
#[derive(Debug)]
struct Legit {
    /// Queries sent in the measured period.
    sent: usize,
    /// Of those, answered (NOERROR with the address) within 2 s.
    answered: usize,
    /// Latencies of the answered ones, sorted.
    latencies: Vec<Duration>,
}

impl Legit {
    /// The `p`th percentile latency (0 to 100).
    fn percentile(&self, p: usize) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i]
    }
}

/// Asks `www.<zone> A` at `qps` for `measure` (after `warmup`, whose
/// queries are not counted), each with its own ID, and collects answers.
fn legit_client(
    addr: SocketAddr,
    zone: &str,
    qps: u64,
    warmup: Duration,
    measure: Duration,
) -> Legit {
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("bind the legit socket"));
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let sent_at: Arc<Mutex<HashMap<u16, Instant>>> = Arc::default();
    let answers: Arc<Mutex<Vec<(u16, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (socket, answers, done) = (socket.clone(), answers.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !done.load(Ordering::Relaxed) {
                if let Ok((n, _)) = socket.recv_from(&mut buf)
                    && n >= 12
                    && buf[3] & 0x0f == 0
                    && u16::from_be_bytes([buf[6], buf[7]]) == 1
                {
                    let id = u16::from_be_bytes([buf[0], buf[1]]);
                    answers.lock().expect("answers").push((id, Instant::now()));
                }
            }
        })
    };
    let query = Query::new(&format!("www.{zone}"), Rtype::A).to_wire();
    let start = Instant::now();
    let total = ((warmup + measure).as_secs_f64() * qps as f64) as u64;
    let warm = (warmup.as_secs_f64() * qps as f64) as u64;
    for k in 0..total {
        let due = start + Duration::from_micros(k * 1_000_000 / qps);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let id = k as u16;
        let mut q = query.clone();
        q[..2].copy_from_slice(&id.to_be_bytes());
        if k >= warm {
            sent_at.lock().expect("sent").insert(id, Instant::now());
        }
        let _ = socket.send_to(&q, addr);
    }
    std::thread::sleep(Duration::from_secs(2));
    done.store(true, Ordering::Relaxed);
    let _ = reader.join();
    let sent_at = sent_at.lock().expect("sent");
    let mut latencies = Vec::new();
    for (id, at) in answers.lock().expect("answers").iter() {
        if let Some(sent) = sent_at.get(id)
            && *at >= *sent
            && *at - *sent <= Duration::from_secs(2)
        {
            latencies.push(*at - *sent);
        }
    }
    latencies.sort();
    Legit {
        sent: sent_at.len(),
        answered: latencies.len(),
        latencies,
    }
}

/// Issue 15, point 4: a worker slowed to ~100 answers a second (10 ms
/// each) takes a random-subdomain flood of 1,000 queries a second for one
/// zone; another zone's client (20 qps, 1,000 queries counted) still gets
/// at least 99.9% of its answers once the worker has measured itself (the
/// first two seconds are not counted), and the server says it shed the
/// flood, most of it in the kernel (its socket filter), and the rest through
/// a quarantine socket of its own, which closes once the flood is over.
/// (The flood is ten times the answering capacity, not more, and
/// slow: the debug build's receive path, on a shared and loaded machine,
/// must keep up with the packets, as a release build does with far more.
/// The receive buffer is the default: a worker slowed ten thousand times
/// spends up to tens of milliseconds on one batch of the flood, and on a
/// loaded test machine may not run for a few hundred more, but the flood
/// waits in the quarantine socket's queue, so the bystander's queue holds
/// only the bystander's queries. Without shedding the worker answers 100
/// queries a second of the 1,020 it is sent, so the test fails.)
#[test]
fn a_flooded_zone_cannot_starve_another() {
    let dir = TempDir::new("attack-zones");
    dir.write("victim.test.zone", &zone_text("victim.test"));
    dir.write("bystander.test.zone", &zone_text("bystander.test"));
    let candor = Candor::start(
        dir.path(),
        &["--rrl-rate", "0", "--test-slow-worker-us", "10000"],
        "bystander.test.",
    );
    let addr = candor.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let stop = stop.clone();
        std::thread::spawn(move || flood(addr, "victim.test", 1_000, stop))
    };
    let legit = legit_client(
        addr,
        "bystander.test",
        20,
        Duration::from_secs(2),
        Duration::from_secs(50),
    );
    stop.store(true, Ordering::Relaxed);
    let flooded = flooder.join().expect("the flood thread");
    // Once the flood is over, shedding ramps out and the quarantine
    // sockets are drained and closed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !candor.log().contains("quarantine: closed") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let share = legit.answered as f64 / legit.sent.max(1) as f64;
    eprintln!(
        "flood {flooded} queries; legit {}/{} answered ({:.2}%), p50 {:?} p99 {:?}",
        legit.answered,
        legit.sent,
        share * 100.0,
        legit.percentile(50),
        legit.percentile(99),
    );
    assert!(legit.sent >= 950, "{legit:?}");
    assert!(
        share >= 0.999,
        "the bystander zone got {:.2}% of its answers ({}/{})\n{}",
        share * 100.0,
        legit.answered,
        legit.sent,
        candor.log()
    );
    // Without shedding, a worker answering 100 a second could not have
    // kept up: check that it did shed.
    let mut candor = candor;
    candor.process().signal("TERM");
    candor.process().wait_timeout(Duration::from_secs(10));
    let log = candor.log();
    let counter = |name: &str| -> u64 {
        log.lines()
            .find_map(|l| l.split(&format!(" {name}=")).nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (shed, kernel) = (counter("shed"), counter("kernel_shed"));
    // Most of the flood never reached the worker: its socket filter
    // dropped it in the kernel (estimated from the share let through).
    assert!(
        kernel > flooded / 2,
        "kernel shed {kernel} of {flooded}:\n{log}"
    );
    assert!(shed > 0, "the worker shed the rest:\n{log}");
    // What reached it came through a quarantine socket, away from the
    // bystander's queue, and the quarantine closed after the flood.
    assert!(
        log.contains("quarantine: shed zones steered to their own sockets"),
        "{log}"
    );
    assert!(counter("quarantined") > 0, "nothing quarantined:\n{log}");
    assert!(log.contains("quarantine: closed"), "{log}");
}

/// Issue 15, point 6: a random-subdomain flood against a customer's zone
/// over `--attack-qps`: the customer's webhook gets a private notice that
/// names the zone and the kind of flood; the operator's traffic endpoint
/// and `candor top` list the zone under attack; the public status page
/// shows an incident for it, and neither it nor its JSON names the zone.
#[test]
fn a_flooded_zone_is_told_to_its_owner_and_not_named_publicly() {
    let data = TempDir::new("attack-data");
    let status = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args: Vec<String> = [
        "--data-dir",
        &data.path().display().to_string(),
        "--api-listen",
        &api.to_string(),
        "--status-listen",
        &status.to_string(),
        "--webhook-allow-private",
        "--attack-qps",
        "300",
        "--attack-sustain",
        "2",
        "--attack-quiet",
        "3",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    // DNS answers first; the API may take a moment longer on a loaded
    // machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !candor.log().contains("REST API listening") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let operator_token = candor
        .log()
        .lines()
        .find_map(|l| l.split("API token (shown once, store it now): ").nth(1))
        .map(|t| t.trim().to_owned())
        .expect("the demo token in the log");
    let cli = |args: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_candor"))
            .args(args)
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .expect("run candor");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let customer: i64 = cli(&["account", "create", "victim-owner@example.org"])
        .parse()
        .expect("an account id");
    let token = cli(&["token", "create", "--account", &customer.to_string()]);
    let r = request(
        api,
        "POST",
        &format!("/v2/{customer}/domains"),
        Some(&token),
        Some(r#"{"name": "victim.example"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let receiver = Receiver::start();
    let r = request(
        api,
        "POST",
        &format!("/v2/{customer}/status/subscriptions"),
        Some(&token),
        Some(&format!(
            r#"{{"webhook_url": "http://{}/owner"}}"#,
            receiver.addr
        )),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    wait_for(Duration::from_secs(60), "the status page", || {
        std::net::TcpStream::connect(status).ok()
    });
    wait_for(Duration::from_secs(10), "the zone to be served", || {
        crate::support::ask(
            candor.addr(),
            &Query::new("victim.example", Rtype::SOA),
            false,
        )
        .filter(|m| m.rcode() == 0)
    });

    let stop = Arc::new(AtomicBool::new(false));
    let addr = candor.addr();
    let flooder = {
        let stop = stop.clone();
        std::thread::spawn(move || flood(addr, "victim.example", 1_000, stop))
    };
    let notice = wait_for(Duration::from_secs(30), "the owner's notice", || {
        receiver
            .hooks()
            .into_iter()
            .find(|h| h.headers.get("x-candor-event").map(String::as_str) == Some("zone.notice"))
    });
    let body: Value = serde_json::from_slice(&notice.body).expect("JSON");
    let subject = body["subject"].as_str().unwrap_or_default();
    let text = body["text"].as_str().unwrap_or_default();
    assert!(subject.contains("victim.example"), "{body:#}");
    assert!(text.contains("random-subdomain flood"), "{body:#}");
    assert!(text.contains("What Candor is doing"), "{body:#}");

    // The operator sees the zone, by name, in the traffic endpoint and in
    // `candor top`.
    let top = request(
        api,
        "GET",
        "/v2/1/traffic/top?order=nxdomain",
        Some(&operator_token),
        None,
    );
    assert_eq!(top.status, 200, "{}", top.body);
    let top: Value = serde_json::from_str(&top.body).expect("JSON");
    assert_eq!(top["data"]["zones"][0]["zone"], "victim.example", "{top:#}");
    assert_eq!(
        top["data"]["attacks"][0]["kind"], "random_subdomain",
        "{top:#}"
    );
    let denied = request(
        api,
        "GET",
        &format!("/v2/{customer}/traffic/top"),
        Some(&token),
        None,
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    let screen = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["top", "--once", "--api", &format!("http://{api}")])
        .env("CANDOR_TOKEN", &operator_token)
        .output()
        .expect("run candor top");
    let screen_text = String::from_utf8_lossy(&screen.stdout);
    assert!(
        screen.status.success(),
        "{}",
        String::from_utf8_lossy(&screen.stderr)
    );
    assert!(screen_text.contains("victim.example"), "{screen_text}");
    assert!(screen_text.contains("UNDER ATTACK"), "{screen_text}");

    // The public page shows the platform-level effect, never the zone.
    let incident = wait_for(Duration::from_secs(10), "the public incident", || {
        get_json(status, "/api/v2/incidents.json")["incidents"]
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|i| i["name"] == "Query flood against a customer zone")
                    .cloned()
            })
    });
    let summary = get(status, "/api/v2/summary.json").1;
    let page = get(status, "/").1;
    let incidents = get(status, "/api/v2/incidents.json").1;
    for (what, text) in [
        ("the incident", incident.to_string()),
        ("summary.json", summary),
        ("the page", page),
        ("incidents.json", incidents),
    ] {
        assert!(!text.contains("victim"), "{what} names the zone: {text}");
    }

    stop.store(true, Ordering::Relaxed);
    let _ = flooder.join();
    // The end is told too, and the incident resolves.
    wait_for(Duration::from_secs(30), "the end of the attack", || {
        receiver.hooks().into_iter().find(|h| {
            String::from_utf8_lossy(&h.body).contains("has ended")
                && h.headers.get("x-candor-event").map(String::as_str) == Some("zone.notice")
        })
    });
    wait_for(Duration::from_secs(10), "the incident to resolve", || {
        get_json(status, "/api/v2/incidents.json")["incidents"]
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|i| i["name"] == "Query flood against a customer zone")
                    .filter(|i| i["status"] == "resolved")
                    .cloned()
            })
    });
}

/// Asks `name A` at `qps` for `seconds` from one socket; returns how many
/// came back as full answers (NOERROR, not truncated, with an answer) and
/// how many as truncated slips.
fn full_answers(addr: SocketAddr, name: &str, qps: u64, seconds: u64) -> (usize, usize) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the client socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("timeout");
    let query = Query::new(name, Rtype::A).to_wire();
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 1500];
    let start = Instant::now();
    let mut count = |buf: &[u8], n: usize| {
        if n >= 12 && buf[2] & 0x02 != 0 {
            truncated += 1;
        } else if n >= 12 && buf[3] & 0x0f == 0 && u16::from_be_bytes([buf[6], buf[7]]) > 0 {
            full += 1;
        }
    };
    for k in 0..qps * seconds {
        let due = start + Duration::from_micros(k * 1_000_000 / qps);
        while Instant::now() < due {
            if let Ok(n) = socket.recv(&mut buf) {
                count(&buf, n);
            }
        }
        let _ = socket.send_to(&query, addr);
    }
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        if let Ok(n) = socket.recv(&mut buf) {
            count(&buf, n);
        }
    }
    (full, truncated)
}

/// The bodies of the flood incident's timeline, oldest first.
fn flood_timeline(status: SocketAddr) -> Vec<String> {
    let incidents = get_json(status, "/api/v2/incidents.json");
    let Some(incident) = incidents["incidents"].as_array().and_then(|list| {
        list.iter()
            .find(|i| i["name"] == "Query flood against a customer zone")
    }) else {
        return Vec::new();
    };
    let mut bodies: Vec<String> = incident["incident_updates"]
        .as_array()
        .map(|u| {
            u.iter()
                .filter_map(|u| u["body"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    bodies.reverse();
    bodies
}

/// Issue 15, point 6's mitigation: while a zone is under attack its
/// responses are rate limited at a quarter of `--rrl-rate` (here 200, so
/// 50 a second per client network), the operator's incident timeline says
/// so, and after the attack the usual rate is back and the timeline says
/// that too. A client asking one name of the zone 150 times a second gets
/// every answer in full before the attack, a sixth to two thirds of them
/// during it (the rest are dropped: no TC slips for a zone under attack),
/// and all of them again after.
#[test]
fn an_attacked_zone_gets_tighter_rate_limiting() {
    let data = TempDir::new("tighten-data");
    let status = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args: Vec<String> = [
        "--data-dir",
        &data.path().display().to_string(),
        "--status-listen",
        &status.to_string(),
        "--rrl-rate",
        "200",
        "--attack-qps",
        "300",
        "--attack-sustain",
        "2",
        "--attack-quiet",
        "3",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    let addr = candor.addr();
    wait_for(Duration::from_secs(60), "the status page", || {
        std::net::TcpStream::connect(status).ok()
    });

    let (before, _) = full_answers(addr, "example.com", 150, 2);
    assert!(before >= 295, "before the attack: {before} of 300 in full");

    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let stop = stop.clone();
        std::thread::spawn(move || flood(addr, "example.com", 1_000, stop))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let tightened = loop {
        let timeline = flood_timeline(status);
        if let Some(b) = timeline
            .iter()
            .find(|b| b.contains("rate limited more tightly, to 50 per second"))
        {
            break b.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no tightening on the timeline: {timeline:#?}\n{}\n{}",
            get(status, "/api/v2/incidents.json").1,
            candor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        tightened.starts_with("Mitigation applied automatically"),
        "{tightened}"
    );
    assert!(
        !tightened.contains("example"),
        "names the zone: {tightened}"
    );
    let (during, slipped) = full_answers(addr, "example.com", 150, 2);
    // At most 50 a second plus the credit left when the limit changed; the
    // excess is debited too, so one second over the limit can use up the
    // next one's credit (as in BIND): between 50 and 200 of the 300.
    assert!(
        (40..=200).contains(&during),
        "during the attack: {during} of 300 in full, {slipped} slipped\n{}",
        candor.log()
    );
    assert_eq!(
        slipped, 0,
        "over the limit, a zone under attack's responses are dropped, not slipped"
    );

    stop.store(true, Ordering::Relaxed);
    let _ = flooder.join();
    wait_for(
        Duration::from_secs(30),
        "the lifting on the timeline",
        || {
            flood_timeline(status)
                .into_iter()
                .find(|b| b.starts_with("Mitigation lifted") && b.contains("rate limited as usual"))
        },
    );
    // The account's debt from the attack is repaid at the full rate while
    // the client waits.
    std::thread::sleep(Duration::from_secs(2));
    let (after, _) = full_answers(addr, "example.com", 150, 2);
    assert!(after >= 295, "after the attack: {after} of 300 in full");
    assert!(
        candor
            .log()
            .contains("rate limiting tightened for zones under attack"),
        "{}",
        candor.log()
    );
}

/// TCP queries are counted per zone too (issue 15, point 6): a client
/// asking the demo zone only over TCP, about 200 queries a second, makes it
/// show in the operator's top-N with that rate, and its NXDOMAIN answers
/// in its ratio.
#[test]
fn tcp_queries_are_counted_per_zone() {
    let data = TempDir::new("tcp-traffic");
    let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let args: Vec<String> = [
        "--data-dir",
        &data.path().display().to_string(),
        "--api-listen",
        &api.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let candor = Candor::start_with(&args, "example.com.");
    let token = candor
        .log()
        .lines()
        .find_map(|l| l.split("API token (shown once, store it now): ").nth(1))
        .map(|t| t.trim().to_owned())
        .expect("the demo token in the log");
    wait_for(Duration::from_secs(60), "the API", || {
        std::net::TcpStream::connect(api).ok()
    });
    let addr = candor.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Every other query is for a name that does not exist.
                let name = if k.is_multiple_of(2) {
                    "example.com".to_owned()
                } else {
                    format!("nx{k}.example.com")
                };
                let _ = crate::support::tcp(addr, &Query::new(&name, Rtype::A).to_wire());
                k += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            k
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let zone = loop {
        let top = request(api, "GET", "/v2/1/traffic/top", Some(&token), None);
        assert_eq!(top.status, 200, "{}", top.body);
        let top: Value = serde_json::from_str(&top.body).expect("JSON");
        if let Some(z) = top["data"]["zones"].as_array().and_then(|zones| {
            zones
                .iter()
                .find(|z| z["zone"] == "example.com" && z["qps"].as_f64().unwrap_or(0.0) > 20.0)
                .cloned()
        }) {
            break z;
        }
        assert!(
            Instant::now() < deadline,
            "TCP queries not counted: {top:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    stop.store(true, Ordering::Relaxed);
    let sent = client.join().expect("the client");
    assert!(sent > 0);
    let ratio = zone["nxdomain_ratio"].as_f64().unwrap_or(0.0);
    assert!((0.3..=0.7).contains(&ratio), "{zone:#}");
}
