//! The status page under stress, end to end (issue 11): a subscriber
//! whose endpoint fails for a day is disabled, on a clock the test moves
//! (`--notify-clock-skew-file`), and the operator and the account see it;
//! a name server behind a link that loses 30% of its UDP packets is shown
//! as degraded, never as an outage.

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{json_field, request};
use crate::status::{Primary, Receiver, Secondary, Smtp, get_json, wait_for};
use crate::support::{Rng, TempDir};

/// Issue 11, point 6: a receiver that answers 500 to everything is
/// retried for a day (the notifier's clock moved 2.5 h at a time), then
/// disabled: not before a day of failures, and then no more attempts. The
/// operator sees it in `candor status subscriber list`, the account in
/// its subscriptions and by e-mail; re-enabled, it gets the next
/// incident.
#[test]
fn a_subscriber_failing_for_a_day_is_disabled_and_told() {
    let failing = Receiver::failing_first(usize::MAX);
    let smtp = Smtp::start();
    let ns2 = Secondary::start();
    let clock = TempDir::new("clock");
    let skew = clock.write("skew", "0");
    let skew_flag = skew.display().to_string();
    let primary = Primary::start(
        ns2.addr,
        smtp.as_ref().map(|s| s.addr),
        &["--notify-clock-skew-file", &skew_flag],
    );
    let (customer, token) = primary.customer("customer@example.net");
    let (status, body) = primary.subscribe_as(
        customer,
        &token,
        &format!(r#"{{"webhook_url": "http://{}/fails"}}"#, failing.addr),
    );
    assert_eq!(status, 201, "{body}");
    let id = json_field(&body, "id").expect("a subscription id");
    let subscription = || -> Value {
        let r = request(
            primary.api,
            "GET",
            &format!("/v2/{customer}/status/subscriptions"),
            Some(&token),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let all: Value = serde_json::from_str(&r.body).expect("JSON");
        all["data"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|s| {
                        s["id"].as_i64().map(|i| i.to_string()).as_deref() == Some(id.as_str())
                    })
                    .cloned()
            })
            .expect("the subscription")
    };
    let listed_disabled = || {
        primary
            .cli(&["status", "subscriber", "list"])
            .lines()
            .any(|l| l.contains("/fails") && l.contains("disabled"))
    };

    primary.open_incident("Receiver outage");
    wait_for(Duration::from_secs(15), "the first attempt", || {
        (!failing.hooks().is_empty()).then_some(())
    });
    // Each step makes the retry due (back-off is at most an hour); the
    // subscriber is disabled at the first failure a day after the first.
    let step = 9_000u64;
    let mut hours = 0.0;
    for attempt in 2..=14 {
        let ahead = step * (attempt - 1);
        std::fs::write(&skew, ahead.to_string()).expect("move the clock");
        wait_for(
            Duration::from_secs(15),
            &format!("attempt {attempt}"),
            || (failing.hooks().len() >= attempt as usize).then_some(()),
        );
        if wait_until(Duration::from_secs(3), || {
            subscription()["disabled_at"] != Value::Null
        }) {
            hours = ahead as f64 / 3600.0;
            break;
        }
        assert!(!listed_disabled(), "disabled after {attempt} attempts");
    }
    assert!(
        (24.0..=27.5).contains(&hours),
        "disabled after {hours} h of failures"
    );
    let attempts = failing.hooks().len();
    eprintln!("disabled after {hours} h of failures on the notifier's clock, {attempts} attempts");
    assert!(attempts >= 10, "{attempts} attempts");
    // The account sees why; the operator sees it in the list.
    let s = subscription();
    let reason = s["disabled_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("HTTP 500"), "{s}");
    assert!(listed_disabled(), "the operator's list");
    if let Some(smtp) = &smtp {
        wait_for(Duration::from_secs(15), "the notice e-mail", || {
            smtp.messages()
                .iter()
                .any(|m| m.contains("customer@example.net") && m.contains("disabled"))
                .then_some(())
        });
    }
    // No more attempts, however late it gets.
    std::fs::write(&skew, (step * 20).to_string()).expect("move the clock");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(failing.hooks().len(), attempts, "attempts after disabling");
    // Re-enabled by the account: the next incident reaches it.
    let r = request(
        primary.api,
        "POST",
        &format!("/v2/{customer}/status/subscriptions/{id}/enable"),
        Some(&token),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    primary.open_incident("Second outage");
    wait_for(Duration::from_secs(15), "a delivery after enabling", || {
        (failing.hooks().len() > attempts).then_some(())
    });
    assert_eq!(subscription()["disabled_at"], Value::Null);
}

/// Polls `f` every 100 ms for up to `limit`; true once it holds.
fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// A lossy link in front of a name server: UDP and TCP on one port; 30% of
/// the UDP queries (seeded, so every run loses the same ones) are dropped,
/// the rest forwarded with their answers; TCP is forwarded untouched.
struct LossyLink {
    /// Its address.
    addr: SocketAddr,
    /// UDP queries dropped.
    dropped: Arc<AtomicUsize>,
    /// UDP queries forwarded.
    forwarded: Arc<AtomicUsize>,
}

impl LossyLink {
    /// Starts it in front of `upstream`, on threads that live as long as
    /// the test.
    fn start(upstream: SocketAddr, loss_percent: u64) -> LossyLink {
        // A port free for both (a `bind(0)` UDP port's TCP twin may be taken).
        let port = crate::support::free_port();
        let udp = UdpSocket::bind(("127.0.0.1", port)).expect("bind the link");
        let addr = udp.local_addr().expect("its address");
        let tcp = TcpListener::bind(addr).expect("bind the link's TCP side");
        let (dropped, forwarded) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (d, f) = (dropped.clone(), forwarded.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(11);
            let mut buf = [0u8; 4096];
            while let Ok((n, client)) = udp.recv_from(&mut buf) {
                if rng.chance(loss_percent) {
                    d.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                f.fetch_add(1, Ordering::Relaxed);
                let (query, reply_to) = (buf[..n].to_vec(), udp.try_clone().expect("clone"));
                std::thread::spawn(move || {
                    let Ok(up) = UdpSocket::bind("127.0.0.1:0") else {
                        return;
                    };
                    let _ = up.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut answer = [0u8; 4096];
                    if up.send_to(&query, upstream).is_ok()
                        && let Ok(n) = up.recv(&mut answer)
                    {
                        let _ = reply_to.send_to(&answer[..n], client);
                    }
                });
            }
        });
        std::thread::spawn(move || {
            for client in tcp.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        LossyLink {
            addr,
            dropped,
            forwarded,
        }
    }
}

/// Issue 11, point 3, end to end: a real `candor serve` behind a link that
/// loses 30% of the UDP queries (TCP gets through) is shown as degraded
/// ("answering unreliably", minor impact, a minor banner), never as a
/// partial or major outage, with one incident.
#[test]
fn packet_loss_is_degraded_not_an_outage() {
    let ns2 = Secondary::start();
    let link = LossyLink::start(ns2.addr, 30);
    let settings = [
        "--status-interval-ms",
        "300",
        "--status-timeout-ms",
        "700",
        "--status-fail-rounds",
        "3",
        "--status-hold",
        "4",
    ];
    let primary = Primary::start(link.addr, None, &settings);
    let started = Instant::now();
    let mut degraded_after = None;
    while started.elapsed() < Duration::from_secs(25) {
        let state = primary.component("ns2");
        assert!(
            state == "operational" || state == "degraded_performance",
            "ns2 is {state} after {:?} ({} UDP queries dropped, {} forwarded)",
            started.elapsed(),
            link.dropped.load(Ordering::Relaxed),
            link.forwarded.load(Ordering::Relaxed),
        );
        if state == "degraded_performance" && degraded_after.is_none() {
            degraded_after = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (dropped, forwarded) = (
        link.dropped.load(Ordering::Relaxed),
        link.forwarded.load(Ordering::Relaxed),
    );
    let degraded_after = degraded_after.expect("ns2 shown as degraded");
    eprintln!(
        "30% UDP loss ({dropped} dropped, {forwarded} forwarded): degraded after {degraded_after:?}"
    );
    assert!(
        dropped * 100 / (dropped + forwarded) >= 15,
        "{dropped} of {}",
        dropped + forwarded
    );
    let incidents = get_json(primary.status, "/api/v2/incidents.json")["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(
        incidents[0]["name"], "ns2 in Frankfurt is answering unreliably",
        "{}",
        incidents[0]
    );
    assert_eq!(incidents[0]["impact"], "minor");
    let s = get_json(primary.status, "/api/v2/status.json");
    assert_eq!(s["status"]["indicator"], "minor", "{s}");
}
