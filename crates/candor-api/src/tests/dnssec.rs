//! DNSSEC per domain, DNSimple's way: enable (201), state, DS records in
//! DNSimple's delegation signer shape, disable (202 through CDS DELETE,
//! 204 with `force=true`, then 428), another account's domain (404);
//! Candor's additions: key states, rollover, ds_seen.

use axum::http::StatusCode;
use expect_test::expect;
use serde_json::json;

use super::Harness;

#[tokio::test]
async fn enable_show_ds_records_and_disable() {
    let h = Harness::new();
    let zone = h.create_zone("example.com").await;
    let zone_id = zone["id"].as_i64().expect("id");
    let dnssec = h.path("/domains/example.com/dnssec");
    let ds = h.path("/domains/example.com/ds_records");

    let off = h.call("GET", &dnssec, None).await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(
        off.json,
        json!({"data": {"enabled": false, "created_at": null, "updated_at": null}})
    );
    let none = h.call("GET", &ds, None).await;
    assert_eq!(none.json["data"], json!([]));
    assert_eq!(none.json["pagination"]["total_entries"], json!(0));
    assert_eq!(
        h.call("DELETE", &dnssec, None).await.status,
        StatusCode::PRECONDITION_REQUIRED
    );

    let before = h.published.lock().unwrap().len();
    let on = h.call("POST", &dnssec, None).await;
    assert_eq!(on.status, StatusCode::CREATED, "{}", on.json);
    // The zone moved to a new, signed serial, published before the answer.
    let published = h.published.lock().unwrap()[before..].to_vec();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].zone, "example.com");
    assert!(published[0].serial.is_some());
    assert_eq!(on.json["data"]["enabled"], json!(true));
    assert!(on.json["data"]["created_at"].is_string());
    assert_eq!(on.json["data"]["keys"][0]["role"], json!("csk"));
    assert_eq!(on.json["data"]["keys"][0]["state"], json!("active"));
    assert_eq!(on.json["data"]["keys"][0]["ds"], json!("not offered yet"));
    assert_eq!(on.json["data"]["disabling_since"], json!(null));
    assert_eq!(h.call("GET", &dnssec, None).await.json, on.json);
    assert_eq!(
        h.call("POST", &dnssec, None).await.status,
        StatusCode::CONFLICT
    );

    let list = h.call("GET", &ds, None).await;
    assert_eq!(list.status, StatusCode::OK);
    let record = &list.json["data"][0];
    let mut keys: Vec<&str> = record
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    expect![[
        r#"algorithm created_at digest digest_type domain_id id keytag public_key state updated_at"#
    ]]
    .assert_eq(&keys.join(" "));
    assert_eq!(record["domain_id"], json!(zone_id));
    assert_eq!(record["algorithm"], json!("13"));
    assert_eq!(record["digest_type"], json!("2"));
    // Not to be given to the registrar before `candor serve` offers it.
    assert_eq!(record["state"], json!("not offered yet"));
    assert_eq!(record["digest"].as_str().map(str::len), Some(64));
    let tag: u32 = record["keytag"]
        .as_str()
        .expect("tag")
        .parse()
        .expect("num");
    assert!(tag <= 65535);
    let public = record["public_key"].as_str().expect("key");
    assert_eq!(
        candor_zonefile::base64_decode(public).map(|k| k.len()),
        Some(64)
    );
    assert_eq!(list.json["pagination"]["total_entries"], json!(1));
    // Nothing secret in any answer.
    assert!(!list.json.to_string().contains("pkcs8"));

    // Another account sees no such domain.
    let (_, other) = h.other_account();
    let reply = h.call_as(Some(&other), "GET", &ds, None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // A rollover by hand: a second key, published; a second one is refused.
    let roll = h.path("/domains/example.com/dnssec/rollover");
    let rolled = h.call("POST", &roll, None).await;
    assert_eq!(rolled.status, StatusCode::CREATED, "{}", rolled.json);
    assert_eq!(rolled.json["data"]["keys"][1]["state"], json!("published"));
    assert_eq!(
        h.call("POST", &roll, None).await.status,
        StatusCode::CONFLICT
    );
    // Nothing offered yet: nothing for the parent to have confirmed.
    let seen = h.path("/domains/example.com/dnssec/ds_seen");
    let nothing = h.call("POST", &seen, None).await;
    assert_eq!(nothing.status, StatusCode::CONFLICT, "{}", nothing.json);

    // Disabling the safe way: 202, the zone still signed, CDS DELETE.
    let before = h.published.lock().unwrap().len();
    let asked = h.call("DELETE", &dnssec, None).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.json);
    assert!(asked.json["data"]["disabling_since"].is_string());
    assert_eq!(asked.json["data"]["enabled"], json!(true));
    assert_eq!(
        h.call("GET", &ds, None).await.json["data"][0]["state"],
        json!("delete requested")
    );
    assert_eq!(
        h.call("DELETE", &dnssec, None).await.status,
        StatusCode::CONFLICT
    );
    // The parent has no DS now: ds_seen says so.
    let gone = h.call("POST", &seen, None).await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.json);
    assert_eq!(
        gone.json["data"]["learned"].as_array().map(Vec::len),
        Some(2)
    );
    let bad = h
        .call("DELETE", &format!("{dnssec}?force=maybe"), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let forced = h
        .call("DELETE", &format!("{dnssec}?force=true"), None)
        .await;
    assert_eq!(forced.status, StatusCode::NO_CONTENT);
    // Unsigned again under a later serial, published before the answers.
    let after = h.published.lock().unwrap()[before..].to_vec();
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(
        after[1].serial,
        published[0].serial.map(|s| s.wrapping_add(3))
    );
    assert_eq!(
        h.call("GET", &dnssec, None).await.json["data"]["enabled"],
        json!(false)
    );
    assert_eq!(h.call("GET", &ds, None).await.json["data"], json!([]));
    assert_eq!(
        h.call("DELETE", &dnssec, None).await.status,
        StatusCode::PRECONDITION_REQUIRED
    );
    let missing = h.path("/domains/nope.example/dnssec");
    assert_eq!(
        h.call("GET", &missing, None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Split keys through the API: `{"split_keys": true}` makes a KSK and a
/// ZSK (GET shows them and `split_keys`), one DS (the KSK's); wrong
/// fields are named; the KSK rolls with `{"role": "ksk"}` and then two
/// DS records are listed; a body while disabling is a conflict.
#[tokio::test]
async fn split_keys_are_enabled_shown_and_rolled() {
    let h = Harness::new();
    h.create_zone("example.com").await;
    let dnssec = h.path("/domains/example.com/dnssec");

    for (body, field) in [
        (json!({"split_keys": "yes"}), "split_keys"),
        (json!({"algorithm": "RSASHA1"}), "algorithm"),
        (json!({"split_key": true}), "split_key"),
    ] {
        let bad = h.call("POST", &dnssec, Some(body.clone())).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{body}: {}", bad.json);
        assert!(bad.json.to_string().contains(field), "{body}: {}", bad.json);
    }
    assert_eq!(
        h.call("GET", &dnssec, None).await.json["data"]["enabled"],
        json!(false)
    );

    let on = h
        .call(
            "POST",
            &dnssec,
            Some(json!({"split_keys": true, "algorithm": "ED25519"})),
        )
        .await;
    assert_eq!(on.status, StatusCode::CREATED, "{}", on.json);
    let data = &on.json["data"];
    assert_eq!(data["split_keys"], json!(true));
    let roles: Vec<(&str, &str, &str)> = data["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["role"].as_str().unwrap_or(""),
                k["algorithm"].as_str().unwrap_or(""),
                k["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(roles, [("ksk", "15", "active"), ("zsk", "15", "active")]);
    assert_eq!(data["keys"][0]["ds"], json!("not offered yet"));
    assert_eq!(data["keys"][1]["ds"], json!(null));
    let ds = h
        .call("GET", &h.path("/domains/example.com/ds_records"), None)
        .await;
    assert_eq!(ds.json["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(ds.json["data"][0]["keytag"], data["keys"][0]["keytag"]);

    // A KSK whose DS is not offered yet cannot roll.
    let roll = h.path("/domains/example.com/dnssec/rollover");
    let early = h.call("POST", &roll, Some(json!({"role": "ksk"}))).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.json);
    assert!(early.json.to_string().contains("going secure"));
    let wrong = h.call("POST", &roll, Some(json!({"role": "key"}))).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.json["errors"]["role"].is_array(), "{}", wrong.json);

    // Disabling: a body on POST does not silently cancel it.
    let asked = h.call("DELETE", &dnssec, None).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.json);
    let body = h
        .call("POST", &dnssec, Some(json!({"split_keys": false})))
        .await;
    assert_eq!(body.status, StatusCode::CONFLICT, "{}", body.json);
    let cancelled = h.call("POST", &dnssec, None).await;
    assert_eq!(cancelled.status, StatusCode::CREATED, "{}", cancelled.json);
    assert_eq!(cancelled.json["data"]["split_keys"], json!(true));
}
