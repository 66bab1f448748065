//! The operator's accounts (create, suspend, delete with zones) and an
//! owner's tokens and members, through the API.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Harness, Published};

/// The JSON of a reply, with the fields that change from run to run
/// (times, secrets) replaced, pretty-printed for a snapshot.
fn stable(value: &Value) -> String {
    let mut value = value.clone();
    let mut stack = vec![&mut value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (key, field) in map.iter_mut() {
                    let varies = key.ends_with("_at") || key == "secret";
                    if varies && !field.is_null() {
                        *field = json!("…");
                    } else {
                        stack.push(field);
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    serde_json::to_string_pretty(&value).expect("json")
}

#[tokio::test]
async fn the_operator_creates_suspends_and_deletes_accounts() {
    let h = Harness::new();
    let reply = h
        .call(
            "POST",
            "/v2/accounts",
            Some(json!({ "email": "customer@example.org" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.json);
    let customer = reply.json["data"]["id"].as_i64().expect("id");
    expect_test::expect![[r#"
        {
          "data": {
            "created_at": "…",
            "email": "customer@example.org",
            "id": 2,
            "plan_identifier": "candor",
            "suspended_at": null,
            "updated_at": "…"
          }
        }"#]]
    .assert_eq(&stable(&reply.json));
    let (_, token) = h.store.create_token(customer, "ci").expect("token");
    let theirs = |rest: &str| format!("/v2/{customer}{rest}");
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &theirs("/domains"),
            Some(json!({ "name": "example.com" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    // Suspended: reads work, changes are refused, the zone stays served.
    let reply = h
        .call("POST", &format!("/v2/accounts/{customer}/suspend"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["data"]["suspended_at"].is_string());
    let reply = h
        .call_as(Some(&token), "GET", &theirs("/zones"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &theirs("/zones/example.com/records"),
            Some(json!({ "name": "www", "type": "A", "content": "192.0.2.1" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    expect_test::expect![[r#"
        {
          "message": "This account is suspended: it may read but not change anything"
        }"#]]
    .assert_eq(&stable(&reply.json));
    let reply = h
        .call("POST", &format!("/v2/accounts/{customer}/unsuspend"), None)
        .await;
    assert_eq!(reply.json["data"]["suspended_at"], json!(null));

    // The operator's own account is neither suspended nor deleted.
    let own = format!("/v2/accounts/{}", h.account);
    let reply = h.call("POST", &format!("{own}/suspend"), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:#}", reply.json);
    let reply = h.call("DELETE", &own, None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:#}", reply.json);

    // Deleting the account stops serving its zone before the 204.
    let reply = h
        .call("DELETE", &format!("/v2/accounts/{customer}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.last_published(),
        Published {
            zone: "example.com".to_owned(),
            serial: None
        }
    );
    let reply = h.call_as(Some(&token), "GET", "/v2/whoami", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = h
        .call("DELETE", &format!("/v2/accounts/{customer}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn owners_manage_tokens_and_members() {
    let h = Harness::new();
    let reply = h
        .call(
            "POST",
            &h.path("/members"),
            Some(json!({ "email": "bob@example.org" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.json);
    let bob = reply.json["data"]["id"].as_i64().expect("id");
    let reply = h
        .call(
            "POST",
            &h.path("/tokens"),
            Some(json!({ "name": "bob's laptop", "user_id": bob })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.json);
    let secret = reply.json["data"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let token_id = reply.json["data"]["id"].as_i64().expect("id");
    expect_test::expect![[r#"
        {
          "data": {
            "account_id": 1,
            "created_at": "…",
            "id": 2,
            "last_used_at": null,
            "name": "bob's laptop",
            "secret": "…",
            "user_id": 1
          }
        }"#]]
    .assert_eq(&stable(&reply.json));
    // Bob is a member: he reads, but manages no tokens.
    let reply = h
        .call_as(Some(&secret), "GET", &h.path("/members"), None)
        .await;
    expect_test::expect![[r#"
        {
          "data": [
            {
              "created_at": "…",
              "email": "bob@example.org",
              "id": 1,
              "role": "member",
              "updated_at": "…"
            }
          ]
        }"#]]
    .assert_eq(&stable(&reply.json));
    let reply = h
        .call_as(Some(&secret), "GET", &h.path("/tokens"), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // The list never shows secrets.
    let reply = h.call("GET", &h.path("/tokens"), None).await;
    let names: Vec<&Value> = reply.json["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(names, [&json!("tests"), &json!("bob's laptop")]);
    assert!(!reply.json.to_string().contains(&secret));
    // Revoked, the token authenticates nobody.
    let reply = h
        .call("DELETE", &h.path(&format!("/tokens/{token_id}")), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = h.call_as(Some(&secret), "GET", "/v2/whoami", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = h
        .call("DELETE", &h.path(&format!("/tokens/{token_id}")), None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Bad roles are named; members are removed.
    let reply = h
        .call(
            "POST",
            &h.path("/members"),
            Some(json!({ "email": "bob@example.org", "role": "boss" })),
        )
        .await;
    assert_eq!(reply.error_fields(), ["role"]);
    let reply = h
        .call("DELETE", &h.path(&format!("/members/{bob}")), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = h.call("GET", &h.path("/members"), None).await;
    assert_eq!(reply.json["data"], json!([]));
}
