//! Request bodies that cannot be read, unknown routes, and the promise that
//! failed writes publish nothing.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use super::{Harness, send};

#[tokio::test]
async fn missing_field_is_named() {
    let h = Harness::new();
    h.create_zone("json.test").await;
    let reply = h
        .call(
            "POST",
            &h.path("/zones/json.test/records"),
            Some(json!({ "name": "www", "type": "A" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json["message"],
        json!("Invalid request body: missing field `content`")
    );
    assert_eq!(reply.json["errors"], json!({ "content": ["is required"] }));
}

#[tokio::test]
async fn wrong_type_is_named() {
    let h = Harness::new();
    h.create_zone("json.test").await;
    let reply = h
        .call(
            "POST",
            &h.path("/zones/json.test/records"),
            Some(json!({ "name": "www", "type": "A", "content": "192.0.2.1", "ttl": "long" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.json["message"].as_str().expect("message");
    assert!(
        message.starts_with("Invalid request body: wrong type for `ttl`"),
        "{message}"
    );
    assert_eq!(reply.error_fields(), ["ttl"]);

    let negative = h
        .call(
            "POST",
            &h.path("/zones/json.test/records"),
            Some(json!({ "type": "MX", "content": "mx.json.test", "priority": -1 })),
        )
        .await;
    assert_eq!(negative.status, StatusCode::BAD_REQUEST);
    assert_eq!(negative.error_fields(), ["priority"]);

    let nested = h
        .call(
            "POST",
            &h.path("/zones/json.test/batch"),
            Some(json!({ "creates": [ { "type": "A", "content": 5 } ] })),
        )
        .await;
    assert_eq!(nested.status, StatusCode::BAD_REQUEST);
    assert_eq!(nested.error_fields(), ["creates[0].content"]);

    let nested_missing = h
        .call(
            "POST",
            &h.path("/zones/json.test/batch"),
            Some(json!({ "deletes": [ {} ] })),
        )
        .await;
    assert_eq!(nested_missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(nested_missing.error_fields(), ["deletes[0].id"]);
    assert_eq!(h.publish_count(), 1);
}

#[tokio::test]
async fn malformed_and_empty_bodies_are_400() {
    let h = Harness::new();
    h.create_zone("json.test").await;
    let path = h.path("/zones/json.test/records");
    let token = h.token.clone();
    let cases: [(&[u8], &str); 4] = [
        (b"{\"name\": ", "Malformed JSON body"),
        (b"", "Request body is empty"),
        (b"[1, 2]", "Invalid request body: expected a JSON object"),
        (
            b"{\"type\":\"A\",\"content\":\"192.0.2.1\"} trailing",
            "Malformed JSON body",
        ),
    ];
    for (body, start) in cases {
        let reply = h
            .raw(Some(&token), "POST", &path, Some(body.to_vec()))
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body:?}");
        let message = reply.json["message"].as_str().expect("message");
        assert!(message.starts_with(start), "{body:?}: {message}");
    }
    assert_eq!(h.publish_count(), 1);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = Harness::new();
    let missing = h.call("GET", "/v2/nothing/here/at/all", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json, json!({ "message": "Not found" }));
    let method = h.call("PUT", "/v2/whoami", None).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.json, json!({ "message": "Method not allowed" }));
}

#[tokio::test]
async fn every_write_publishes_exactly_once_before_answering() {
    let h = Harness::new();
    let mut expected = 0;
    h.create_zone("pub.test").await;
    expected += 1;
    assert_eq!(h.publish_count(), expected);
    let rec = h
        .create_record(
            "pub.test",
            json!({ "name": "a", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    expected += 1;
    assert_eq!(h.publish_count(), expected);
    let path = h.path(&format!("/zones/pub.test/records/{}", rec["id"]));
    let patched = h.call("PATCH", &path, Some(json!({ "ttl": 900 }))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.json);
    expected += 1;
    assert_eq!(h.publish_count(), expected);
    let batch = h
        .call(
            "POST",
            &h.path("/zones/pub.test/batch"),
            Some(json!({ "creates": [ { "name": "b", "type": "A", "content": "192.0.2.2" } ] })),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{}", batch.json);
    expected += 1;
    assert_eq!(h.publish_count(), expected);
    let import = h
        .call(
            "PUT",
            &h.path("/zones/pub.test/file"),
            Some(json!({ "zone_file": "c 300 IN A 192.0.2.3\n" })),
        )
        .await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.json);
    expected += 1;
    assert_eq!(h.publish_count(), expected);
    let deleted = h.call("DELETE", &h.path("/domains/pub.test"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    expected += 1;
    assert_eq!(h.publish_count(), expected);

    // Serials only go up, and the deletion comes last.
    let published = h.published.lock().expect("published").clone();
    let serials: Vec<u32> = published.iter().filter_map(|p| p.serial).collect();
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "{serials:?}");
    assert_eq!(published.last().and_then(|p| p.serial), None);

    // Reads publish nothing.
    h.call("GET", &h.path("/zones"), None).await;
    h.call("GET", "/v2/whoami", None).await;
    assert_eq!(h.publish_count(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_published_in_commit_order() {
    let h = Harness::new();
    h.create_zone("race.test").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let app = h.app.clone();
        let request = Request::builder()
            .method("POST")
            .uri(h.path("/zones/race.test/records"))
            .header(header::AUTHORIZATION, format!("Bearer {}", h.token))
            .body(Body::from(
                json!({ "name": format!("host{i}"), "type": "A", "content": "192.0.2.1" })
                    .to_string(),
            ))
            .expect("request");
        tasks.spawn(async move { send(&app, request).await.status });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::CREATED);
    }
    let serials: Vec<u32> = h
        .published
        .lock()
        .expect("published")
        .iter()
        .filter_map(|p| p.serial)
        .collect();
    assert_eq!(serials.len(), 17);
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "{serials:?}");
}

#[tokio::test]
async fn writes_are_audited_with_token_and_remote_address() {
    let h = Harness::new();
    let addr: SocketAddr = "203.0.113.9:41000".parse().expect("addr");
    let request = Request::builder()
        .method("POST")
        .uri(h.path("/domains"))
        .header(header::AUTHORIZATION, format!("Bearer {}", h.token))
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(addr))
        .body(Body::from(r#"{"name":"audit.test"}"#))
        .expect("request");
    let reply = send(&h.app, request).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    // Without ConnectInfo (as through `oneshot` by default) there is no address.
    h.create_zone("noremote.test").await;

    let log = h.store.audit_log(h.account, 1, 10).expect("audit log");
    let token = h
        .store
        .authenticate(&h.token)
        .expect("store")
        .expect("token");
    let entries: Vec<(Option<String>, &str, Option<i64>)> = log
        .items
        .iter()
        .map(|e| (e.remote.clone(), e.via.as_str(), e.token_id))
        .collect();
    assert_eq!(
        entries,
        [
            (None, "api", Some(token.id)),
            (Some("203.0.113.9".to_owned()), "api", Some(token.id)),
        ]
    );
}
