//! The OpenAPI document lists exactly the router's routes, and the route
//! table really is what the router serves.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use super::Harness;
use crate::openapi::DOCUMENT;
use crate::routes;

/// Fills a route's placeholders with plausible values.
fn concrete(path: &str, account: i64) -> String {
    path.replace("{account}", &account.to_string())
        .replace("{zone}", "example.com")
        .replace("{domain}", "example.com")
        .replace("{record}", "1")
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let doc: Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(routed, documented);
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            assert!(op["operationId"].is_string(), "{method} {path}");
            assert!(op["responses"].is_object(), "{method} {path}");
        }
    }
}

#[test]
fn every_reference_resolves() {
    let doc: Value = serde_json::from_str(DOCUMENT).expect("valid JSON");
    let mut stack = vec![&doc];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.trim_start_matches('#');
                    assert!(doc.pointer(pointer).is_some(), "dangling {target}");
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_route_in_the_table_is_served() {
    let h = Harness::new();
    for route in routes() {
        let path = concrete(route.path, h.account);
        let reply = h.call_as(None, route.method, &path, None).await;
        let expected = if route.access == crate::auth::Access::Public {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(reply.status, expected, "{} {}", route.method, route.path);
    }
}

#[tokio::test]
async fn document_is_served_without_a_token() {
    let h = Harness::new();
    let reply = h.call_as(None, "GET", "/v2/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    assert!(reply.json["paths"]["/v2/{account}/zones/{zone}/file"]["put"].is_object());
}
