//! The operator's TSIG keys: created with a secret shown once, listed
//! without secrets, deleted; other accounts get 403.

use axum::http::StatusCode;
use serde_json::json;

use super::Harness;

#[tokio::test]
async fn the_operator_manages_tsig_keys() {
    let h = Harness::new();
    let path = format!("/v2/{}/tsig_keys", h.account);
    let reply = h
        .call(
            "POST",
            &path,
            Some(json!({ "name": "Xfr.Example.com", "algorithm": "hmac-sha512" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let data = &reply.json["data"];
    assert_eq!(data["name"], json!("xfr.example.com."));
    assert_eq!(data["algorithm"], json!("hmac-sha512"));
    let secret = data["secret"].as_str().expect("secret");
    assert_eq!(
        candor_zonefile::base64_decode(secret).map(|s| s.len()),
        Some(64)
    );
    // The default algorithm; a taken name; a bad one.
    let reply = h
        .call("POST", &path, Some(json!({ "name": "b.example" })))
        .await;
    assert_eq!(reply.json["data"]["algorithm"], json!("hmac-sha256"));
    let again = json!({ "name": "xfr.example.com." });
    assert_eq!(
        h.call("POST", &path, Some(again)).await.status,
        StatusCode::CONFLICT
    );
    let bad = json!({ "name": "x", "algorithm": "hmac-md5" });
    let reply = h.call("POST", &path, Some(bad)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json["errors"]["algorithm"].is_array());
    // Listed without secrets.
    let reply = h.call("GET", &path, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let names: Vec<&str> = reply.json["data"]
        .as_array()
        .expect("list")
        .iter()
        .map(|k| k["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["b.example.", "xfr.example.com."]);
    assert!(!reply.json.to_string().contains(secret));
    assert!(reply.json["data"][0].get("secret").is_none());
    // Deleted once.
    let one = format!("{path}/xfr.example.com");
    assert_eq!(
        h.call("DELETE", &one, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call("DELETE", &one, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(h.store.tsig_keys().expect("keys").len(), 1);
}

#[tokio::test]
async fn other_accounts_may_not_see_or_make_keys() {
    let h = Harness::new();
    h.store
        .create_tsig_key("k.example.", "hmac-sha256")
        .expect("key");
    let (other, token) = h.other_account();
    let path = format!("/v2/{other}/tsig_keys");
    for (method, body) in [
        ("GET", None),
        ("POST", Some(json!({ "name": "mine.example" }))),
    ] {
        let reply = h.call_as(Some(&token), method, &path, body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method}");
    }
    let reply = h
        .call_as(Some(&token), "DELETE", &format!("{path}/k.example"), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(h.store.tsig_keys().expect("keys").len(), 1);
}
