//! Distribution checks against real UDP name servers on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use candor_zone::ZoneSet;
use serde_json::json;

use super::{Harness, NameServer, snapshot};

#[tokio::test]
async fn distributed_when_every_name_server_has_the_serial() {
    let live = Arc::new(Mutex::new(ZoneSet::new()));
    let stale = Arc::new(Mutex::new(ZoneSet::new()));
    let ns1 = NameServer::spawn(Arc::clone(&live));
    let ns2 = NameServer::spawn(Arc::clone(&stale));
    let h = Harness::serving(1000, vec![ns1.addr, ns2.addr], Arc::clone(&live));
    h.create_zone("dist.test").await;
    let zone_path = h.path("/zones/dist.test/distribution");

    // The second server has not loaded the zone at all: it refuses.
    let reply = h.call("GET", &zone_path, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": false, "problems": [], "secondaries": [] } })
    );

    // Both serve the current serial.
    *stale.lock().expect("stale") = snapshot(&live);
    let reply = h.call("GET", &zone_path, None).await;
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": true, "problems": [], "secondaries": [] } })
    );

    // A change reaches the first server only: an older serial is not enough.
    let record = h
        .create_record(
            "dist.test",
            json!({ "name": "www", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    let reply = h.call("GET", &zone_path, None).await;
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": false, "problems": [], "secondaries": [] } })
    );
    let record_path = h.path(&format!(
        "/zones/dist.test/records/{}/distribution",
        record["id"]
    ));
    let reply = h.call("GET", &record_path, None).await;
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": false, "problems": [], "secondaries": [] } })
    );

    *stale.lock().expect("stale") = snapshot(&live);
    let reply = h.call("GET", &zone_path, None).await;
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": true, "problems": [], "secondaries": [] } })
    );
    let reply = h.call("GET", &record_path, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": true, "problems": [], "secondaries": [] } })
    );
    assert!(reply.headers.get("x-ratelimit-remaining").is_some());

    // Unknown records and other accounts' zones are 404 before any query.
    let missing = h
        .call(
            "GET",
            &h.path("/zones/dist.test/records/999999/distribution"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let (other, token) = h.other_account();
    let foreign = h
        .call_as(
            Some(&token),
            "GET",
            &format!("/v2/{other}/zones/dist.test/distribution"),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_silent_name_server_is_504_after_about_a_second() {
    let live = Arc::new(Mutex::new(ZoneSet::new()));
    let ns1 = NameServer::spawn(Arc::clone(&live));
    let silent = NameServer::silent();
    let h = Harness::serving(1000, vec![ns1.addr, silent.addr], Arc::clone(&live));
    h.create_zone("slow.test").await;
    let started = Instant::now();
    let reply = h
        .call("GET", &h.path("/zones/slow.test/distribution"), None)
        .await;
    let took = started.elapsed();
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        reply.json,
        json!({ "message": "Could not query zone, connection timed out" })
    );
    assert!(reply.headers.get("x-ratelimit-limit").is_some());
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn no_name_servers_means_nothing_is_pending() {
    let h = Harness::new();
    h.create_zone("none.test").await;
    let reply = h
        .call("GET", &h.path("/zones/none.test/distribution"), None)
        .await;
    assert_eq!(
        reply.json,
        json!({ "data": { "distributed": true, "problems": [], "secondaries": [] } })
    );
    let missing = h
        .call("GET", &h.path("/zones/nope.test/distribution"), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
