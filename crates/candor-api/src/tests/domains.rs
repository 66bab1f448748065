//! Domains: zone creation and deletion the DNSimple way.

use axum::http::StatusCode;
use serde_json::json;

use super::{Harness, Published};

#[tokio::test]
async fn create_domain_returns_201_and_publishes_the_zone() {
    let h = Harness::new();
    let reply = h
        .call(
            "POST",
            &h.path("/domains"),
            Some(json!({ "name": "Example.COM" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let domain = &reply.json["data"];
    assert!(domain["id"].is_i64());
    assert_eq!(domain["account_id"], json!(h.account));
    assert_eq!(domain["registrant_id"], json!(null));
    assert_eq!(domain["name"], json!("example.com"));
    assert_eq!(domain["unicode_name"], json!("example.com"));
    assert_eq!(domain["state"], json!("hosted"));
    assert_eq!(domain["auto_renew"], json!(false));
    assert_eq!(domain["private_whois"], json!(false));
    assert_eq!(domain["expires_on"], json!(null));
    assert_eq!(domain["expires_at"], json!(null));
    assert!(domain["created_at"].is_string());
    assert!(domain["updated_at"].is_string());
    assert_eq!(domain.as_object().expect("object").len(), 12);
    assert!(reply.headers.get("x-ratelimit-limit").is_some());

    // Published before the response came back.
    let published = h.last_published();
    assert_eq!(published.zone, "example.com");
    assert!(published.serial.is_some());
    assert_eq!(h.publish_count(), 1);
}

#[tokio::test]
async fn get_and_list_domains() {
    let h = Harness::new();
    let created = h.create_zone("alpha.test").await;
    h.create_zone("beta.test").await;
    h.create_zone("gamma.test").await;

    let by_name = h.call("GET", &h.path("/domains/alpha.test"), None).await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert_eq!(by_name.json["data"], created);
    let id = created["id"].as_i64().expect("id");
    let by_id = h
        .call("GET", &h.path(&format!("/domains/{id}")), None)
        .await;
    assert_eq!(by_id.json["data"], created);

    let list = h
        .call("GET", &h.path("/domains?per_page=2&sort=name:desc"), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["gamma.test", "beta.test"]);
    assert_eq!(
        list.json["pagination"],
        json!({ "current_page": 1, "per_page": 2, "total_entries": 3, "total_pages": 2 })
    );

    let filtered = h.call("GET", &h.path("/domains?name_like=alp"), None).await;
    assert_eq!(filtered.json["data"].as_array().expect("array").len(), 1);
    assert_eq!(filtered.json["data"][0]["state"], json!("hosted"));
}

#[tokio::test]
async fn delete_domain_returns_204_and_publishes_the_deletion() {
    let h = Harness::new();
    h.create_zone("gone.test").await;
    let reply = h.call("DELETE", &h.path("/domains/gone.test"), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.json, json!(null));
    assert!(reply.headers.get("x-ratelimit-remaining").is_some());
    assert_eq!(
        h.last_published(),
        Published {
            zone: "gone.test".to_owned(),
            serial: None
        }
    );
    let after = h.call("GET", &h.path("/domains/gone.test"), None).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(
        after.json,
        json!({ "message": "Domain `gone.test` not found" })
    );
    let zone = h.call("GET", &h.path("/zones/gone.test"), None).await;
    assert_eq!(
        zone.json,
        json!({ "message": "Zone `gone.test` not found" })
    );
}

#[tokio::test]
async fn duplicate_domain_is_409_and_publishes_nothing() {
    let h = Harness::new();
    h.create_zone("taken.test").await;
    let before = h.publish_count();
    let reply = h
        .call(
            "POST",
            &h.path("/domains"),
            Some(json!({ "name": "taken.test" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.json);
    assert!(reply.json["message"].is_string());
    assert_eq!(h.publish_count(), before);

    // Another account cannot take it either (zone names are global: one
    // name server set serves them all).
    let (other, token) = h.other_account();
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &format!("/v2/{other}/domains"),
            Some(json!({ "name": "taken.test" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.json);
    assert_eq!(h.publish_count(), before);
}

#[tokio::test]
async fn invalid_domain_names_are_400_with_the_field() {
    let h = Harness::new();
    for name in ["", "bad..name", "-", "a b.test"] {
        let reply = h
            .call("POST", &h.path("/domains"), Some(json!({ "name": name })))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            reply.json
        );
        assert_eq!(reply.json["message"], json!("Validation failed"), "{name}");
        assert_eq!(reply.error_fields(), ["name"], "{name}");
    }
    assert_eq!(h.publish_count(), 0);
}

#[tokio::test]
async fn delete_unknown_domain_is_404() {
    let h = Harness::new();
    let reply = h.call("DELETE", &h.path("/domains/nope.test"), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.json,
        json!({ "message": "Domain `nope.test` not found" })
    );
    assert_eq!(h.publish_count(), 0);
}
