//! `whoami`, `accounts` and authentication.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::{Harness, send};

#[tokio::test]
async fn whoami_shows_the_tokens_account() {
    let h = Harness::new();
    let reply = h.call("GET", "/v2/whoami", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let data = &reply.json["data"];
    assert_eq!(data["user"], json!(null));
    let account = &data["account"];
    assert_eq!(account["id"], json!(h.account));
    assert_eq!(account["email"], json!("owner@example.com"));
    assert_eq!(account["plan_identifier"], json!("candor"));
    assert!(account["created_at"].is_string());
    assert!(account["updated_at"].is_string());
    let keys: Vec<&String> = account.as_object().expect("object").keys().collect();
    // DNSimple's five fields and Candor's `suspended_at`.
    assert_eq!(account["suspended_at"], json!(null));
    assert_eq!(keys.len(), 6, "{keys:?}");
}

#[tokio::test]
async fn whoami_names_the_user_of_a_user_token() {
    let h = Harness::new();
    let user = h.store.create_user("alice@example.com").expect("user");
    h.store
        .add_member(h.account, user.id, candor_store::Role::Owner)
        .expect("member");
    let (_, secret) = h
        .store
        .create_user_token(h.account, user.id, "laptop")
        .expect("token");
    let reply = h.call_as(Some(&secret), "GET", "/v2/whoami", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let data = &reply.json["data"];
    assert_eq!(data["user"]["id"], json!(user.id));
    assert_eq!(data["user"]["email"], json!("alice@example.com"));
    assert_eq!(data["account"]["id"], json!(h.account));
}

#[tokio::test]
async fn accounts_lists_only_the_tokens_account_but_every_one_for_the_operator() {
    let h = Harness::new();
    let (other, token) = h.other_account();
    let reply = h.call_as(Some(&token), "GET", "/v2/accounts", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let ids: Vec<&Value> = reply.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&json!(other)]);
    // The harness account is the first, so its owner token is the operator's.
    let reply = h.call("GET", "/v2/accounts", None).await;
    let ids: Vec<&Value> = reply.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&json!(h.account), &json!(other)]);
}

#[tokio::test]
async fn missing_token_is_401() {
    let h = Harness::new();
    let reply = h.call_as(None, "GET", "/v2/whoami", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json, json!({ "message": "Authentication failed" }));
    assert!(reply.headers.get("x-ratelimit-limit").is_none());
}

#[tokio::test]
async fn unknown_token_is_401() {
    let h = Harness::new();
    let reply = h
        .call_as(Some("not-a-token"), "GET", "/v2/whoami", None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json, json!({ "message": "Authentication failed" }));
    let zones = h
        .call_as(Some("not-a-token"), "GET", &h.path("/zones"), None)
        .await;
    assert_eq!(zones.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn other_schemes_and_empty_tokens_are_401() {
    let h = Harness::new();
    for value in [
        "Basic b3duZXJAZXhhbXBsZS5jb206cGFzc3dvcmQ=".to_owned(),
        "Bearer ".to_owned(),
        "Bearer".to_owned(),
        h.token.clone(),
    ] {
        let request = Request::builder()
            .uri("/v2/whoami")
            .header(header::AUTHORIZATION, value.as_str())
            .body(Body::empty())
            .expect("request");
        let reply = send(&h.app, request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{value}");
    }
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let h = Harness::new();
    let request = Request::builder()
        .uri("/v2/whoami")
        .header(header::AUTHORIZATION, format!("bearer {}", h.token))
        .body(Body::empty())
        .expect("request");
    let reply = send(&h.app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn another_accounts_id_is_404() {
    let h = Harness::new();
    let (other, _) = h.other_account();
    for path in [
        format!("/v2/{other}/zones"),
        format!("/v2/{other}/domains"),
        format!("/v2/{other}/zones/example.com/records"),
        "/v2/abc/zones".to_owned(),
        "/v2/999999/domains/example.com".to_owned(),
    ] {
        let reply = h.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        let account = path.split('/').nth(2).expect("account segment");
        assert_eq!(
            reply.json,
            json!({ "message": format!("Account `{account}` not found") }),
            "{path}"
        );
        assert!(reply.headers.get("x-ratelimit-remaining").is_some());
    }
}

#[tokio::test]
async fn another_accounts_zone_is_404_even_on_ones_own_account() {
    let h = Harness::new();
    h.create_zone("mine.test").await;
    let zone_id = h.call("GET", &h.path("/zones/mine.test"), None).await.json["data"]["id"].clone();
    let (other, token) = h.other_account();
    let as_other = |path: String| {
        let token = token.clone();
        let h = &h;
        async move { h.call_as(Some(&token), "GET", &path, None).await }
    };
    for path in [
        format!("/v2/{other}/zones/mine.test"),
        format!("/v2/{other}/zones/{zone_id}"),
        format!("/v2/{other}/domains/mine.test"),
        format!("/v2/{other}/zones/mine.test/records"),
        format!("/v2/{other}/zones/mine.test/file"),
    ] {
        let reply = as_other(path.clone()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            reply.json["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("not found")),
            "{path}: {}",
            reply.json
        );
    }
    // The other account cannot write to it either.
    let before = h.publish_count();
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &format!("/v2/{other}/zones/mine.test/records"),
            Some(json!({ "name": "www", "type": "A", "content": "192.0.2.1" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = h
        .call_as(
            Some(&token),
            "DELETE",
            &format!("/v2/{other}/domains/mine.test"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(h.publish_count(), before);
    // And the other account's listing does not show it.
    let list = as_other(format!("/v2/{other}/zones")).await;
    assert_eq!(list.json["data"], json!([]));
}
