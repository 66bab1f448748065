//! The operator-only ALIAS refresh switch.

use axum::http::StatusCode;
use serde_json::json;

use super::Harness;

#[tokio::test]
async fn the_operator_switches_alias_refreshing() {
    let h = Harness::new();
    let path = format!("/v2/{}/settings/alias_refresh", h.account);
    let reply = h.call("GET", &path, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"]["alias_refresh"], json!(true));
    let reply = h
        .call("PUT", &path, Some(json!({ "enabled": false })))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["data"]["alias_refresh"], json!(false));
    assert_eq!(
        h.store.setting("alias_refresh").expect("setting"),
        Some("off".to_owned())
    );
    let reply = h.call("PUT", &path, Some(json!({ "enabled": "no" }))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn other_accounts_may_not_touch_server_settings() {
    let h = Harness::new();
    let (other, token) = h.other_account();
    let path = format!("/v2/{other}/settings/alias_refresh");
    let reply = h
        .call_as(
            Some(&token),
            "PUT",
            &path,
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(h.store.setting("alias_refresh").expect("setting"), None);
}
