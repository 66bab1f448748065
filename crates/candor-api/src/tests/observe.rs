//! Health checks, request metrics by route template, and the audit log.

use std::sync::Arc;

use axum::http::StatusCode;
use candor_metrics::Metrics;
use candor_metrics::http::HttpMetrics;
use serde_json::json;

use super::Harness;
use crate::Observe;

/// `/healthz` and `/readyz` answer without a token; a server that is not
/// ready says why with a 503.
#[tokio::test]
async fn health_and_readiness() {
    let h = Harness::new();
    let live = h.call_as(None, "GET", "/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json, json!({"status": "ok"}));
    let ready = h.call_as(None, "GET", "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json, json!({"status": "ready"}));

    let starting = Harness::observed(Observe {
        http: HttpMetrics::new(),
        ready: Arc::new(|| Err("zones are still loading".to_owned())),
    });
    let reply = starting.call_as(None, "GET", "/readyz", None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reply.json,
        json!({"status": "unavailable", "reason": "zones are still loading"})
    );
    // Liveness does not depend on readiness.
    let live = starting.call_as(None, "GET", "/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK);
}

/// Requests are counted by route template (never the concrete path, so
/// zone names and ids do not become labels) and status; unknown paths are
/// `unmatched`.
#[tokio::test]
async fn requests_are_counted_by_route_template() {
    let http = HttpMetrics::new();
    let mut metrics = Metrics::new();
    http.register(&mut metrics, "candor_api");
    let h = Harness::observed(Observe {
        http,
        ready: Arc::new(|| Ok(())),
    });
    h.create_zone("example.com").await;
    let shown = h.call("GET", &h.path("/zones/example.com"), None).await;
    assert_eq!(shown.status, StatusCode::OK);
    let missing = h.call("GET", &h.path("/zones/nope.example"), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let unknown = h.call_as(None, "GET", "/no/such/path", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let text = metrics.render();
    for line in [
        r#"candor_api_requests_total{method="POST",route="/v2/{account}/domains",status="201"} 1"#,
        r#"candor_api_requests_total{method="GET",route="/v2/{account}/zones/{zone}",status="200"} 1"#,
        r#"candor_api_requests_total{method="GET",route="/v2/{account}/zones/{zone}",status="404"} 1"#,
        r#"candor_api_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"candor_api_request_duration_seconds_count{method="GET",route="/v2/{account}/zones/{zone}"} 2"#,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    assert!(!text.contains("example.com"), "{text}");
}

/// The audit log lists the account's changes newest first with the token
/// that made them, filters by `since`, paginates, and rejects a bad time
/// naming the parameter.
#[tokio::test]
async fn audit_log_lists_changes() {
    let h = Harness::new();
    h.create_zone("example.com").await;
    let record = h
        .create_record(
            "example.com",
            json!({"name": "www", "type": "A", "content": "192.0.2.1"}),
        )
        .await;
    let (other, other_token) = h.other_account();
    let reply = h.call("GET", &h.path("/audit_log"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.json);
    let data = reply.json["data"].as_array().expect("data");
    let actions: Vec<&str> = data.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["record.create", "zone.create"]);
    let first = &data[0];
    assert_eq!(first["via"], "api");
    assert_eq!(first["token_name"], "tests");
    assert_eq!(
        first["target"],
        format!("example.com/records/{}", record["id"])
    );
    assert!(first["token_id"].is_i64(), "{first}");
    assert!(first["created_at"].is_string(), "{first}");
    assert_eq!(reply.json["pagination"]["total_entries"], 2);

    let paged = h
        .call("GET", &h.path("/audit_log?per_page=1&page=2"), None)
        .await;
    assert_eq!(paged.json["data"][0]["action"], "zone.create");
    assert_eq!(paged.json["pagination"]["total_pages"], 2);

    let future = h
        .call(
            "GET",
            &h.path("/audit_log?since=2999-01-01T00:00:00Z"),
            None,
        )
        .await;
    assert_eq!(future.json["data"], json!([]));

    let bad = h
        .call("GET", &h.path("/audit_log?since=yesterday"), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_fields(), ["since"]);

    // Another account sees its own (empty) log, and not this one.
    let theirs = h
        .call_as(
            Some(&other_token),
            "GET",
            &format!("/v2/{other}/audit_log"),
            None,
        )
        .await;
    assert_eq!(theirs.json["data"], json!([]));
    let ours = h
        .call_as(Some(&other_token), "GET", &h.path("/audit_log"), None)
        .await;
    assert_eq!(ours.status, StatusCode::NOT_FOUND);
}

/// Creating and revoking a token through the API is audited, naming the
/// token that did it; the new token's secret is not in the log.
#[tokio::test]
async fn token_changes_are_audited() {
    let h = Harness::new();
    let created = h
        .call("POST", &h.path("/tokens"), Some(json!({"name": "deploy"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.json);
    let id = created.json["data"]["id"].as_i64().expect("id");
    let secret = created.json["data"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let revoked = h
        .call("DELETE", &h.path(&format!("/tokens/{id}")), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let log = h.call("GET", &h.path("/audit_log"), None).await;
    let data = log.json["data"].as_array().expect("data");
    let entries: Vec<(&str, &str)> = data
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["target"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let target = format!("tokens/{id}");
    assert_eq!(
        entries,
        [
            ("token.revoke", target.as_str()),
            ("token.create", target.as_str())
        ]
    );
    assert!(data.iter().all(|e| e["token_name"] == "tests"), "{data:?}");
    assert!(!log.json.to_string().contains(&secret));
}
