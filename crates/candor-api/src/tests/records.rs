//! Zone records: CRUD, filters, pagination, validation, batch.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Harness;

/// The names of a listing's records, in order.
fn names(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn create_record_returns_dnsimples_fields_and_publishes() {
    let h = Harness::new();
    h.create_zone("rec.test").await;
    let before = h.last_published().serial.expect("serial");
    let reply = h
        .call(
            "POST",
            &h.path("/zones/rec.test/records"),
            Some(json!({ "name": "www", "type": "A", "content": "192.0.2.1", "ttl": 600 })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let record = &reply.json["data"];
    let mut keys: Vec<&str> = record
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "content",
            "created_at",
            "id",
            "name",
            "parent_id",
            "priority",
            "regions",
            "system_record",
            "ttl",
            "type",
            "updated_at",
            "zone_id"
        ]
    );
    assert_eq!(record["zone_id"], json!("rec.test"));
    assert_eq!(record["parent_id"], json!(null));
    assert_eq!(record["name"], json!("www"));
    assert_eq!(record["content"], json!("192.0.2.1"));
    assert_eq!(record["ttl"], json!(600));
    assert_eq!(record["priority"], json!(null));
    assert_eq!(record["type"], json!("A"));
    assert_eq!(record["regions"], json!(["global"]));
    assert_eq!(record["system_record"], json!(false));

    let published = h.last_published();
    assert_eq!(published.zone, "rec.test");
    assert_ne!(published.serial, Some(before));
    assert_eq!(h.publish_count(), 2);
}

#[tokio::test]
async fn record_defaults_mx_priority_and_apex_name() {
    let h = Harness::new();
    h.create_zone("mx.test").await;
    let mx = h
        .create_record(
            "mx.test",
            json!({ "type": "MX", "content": "mail.mx.test", "priority": 10 }),
        )
        .await;
    assert_eq!(mx["name"], json!(""));
    assert_eq!(mx["priority"], json!(10));
    assert_eq!(mx["ttl"], json!(3600));
    assert_eq!(mx["content"], json!("mail.mx.test"));
    let txt = h
        .create_record(
            "mx.test",
            json!({ "name": "", "type": "TXT", "content": "v=spf1 -all" }),
        )
        .await;
    assert_eq!(txt["content"], json!("v=spf1 -all"));
}

#[tokio::test]
async fn list_get_update_delete() {
    let h = Harness::new();
    h.create_zone("crud.test").await;
    let www = h
        .create_record(
            "crud.test",
            json!({ "name": "www", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    h.create_record(
        "crud.test",
        json!({ "name": "www", "type": "AAAA", "content": "2001:db8::1" }),
    )
    .await;
    h.create_record(
        "crud.test",
        json!({ "name": "api", "type": "A", "content": "192.0.2.2" }),
    )
    .await;
    h.create_record(
        "crud.test",
        json!({ "name": "www-old", "type": "CNAME", "content": "www.crud.test" }),
    )
    .await;

    // Everything, SOA and NS included.
    let all = h
        .call("GET", &h.path("/zones/crud.test/records"), None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let total = all.json["pagination"]["total_entries"]
        .as_u64()
        .expect("total");
    assert_eq!(total, 4 + 1 + 2, "{}", all.json);
    let systems = all.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r["system_record"] == json!(true))
        .count();
    assert_eq!(systems, 3);

    // Exact name, type, name_like, apex.
    let exact = h
        .call("GET", &h.path("/zones/crud.test/records?name=www"), None)
        .await;
    assert_eq!(names(&exact.json), ["www", "www"]);
    let typed = h
        .call(
            "GET",
            &h.path("/zones/crud.test/records?name=www&type=AAAA"),
            None,
        )
        .await;
    assert_eq!(typed.json["data"][0]["content"], json!("2001:db8::1"));
    assert_eq!(typed.json["data"].as_array().expect("array").len(), 1);
    let like = h
        .call(
            "GET",
            &h.path("/zones/crud.test/records?name_like=www&sort=name:desc,type:asc"),
            None,
        )
        .await;
    assert_eq!(names(&like.json), ["www-old", "www", "www"]);
    let apex = h
        .call("GET", &h.path("/zones/crud.test/records?name="), None)
        .await;
    assert_eq!(apex.json["data"].as_array().expect("array").len(), 3);

    // Pagination.
    let page = h
        .call(
            "GET",
            &h.path("/zones/crud.test/records?sort=id:asc&per_page=3&page=3"),
            None,
        )
        .await;
    assert_eq!(
        page.json["pagination"],
        json!({ "current_page": 3, "per_page": 3, "total_entries": 7, "total_pages": 3 })
    );
    assert_eq!(page.json["data"].as_array().expect("array").len(), 1);

    // Get.
    let id = www["id"].as_i64().expect("id");
    let path = h.path(&format!("/zones/crud.test/records/{id}"));
    let got = h.call("GET", &path, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json["data"], www);

    // Update content and TTL; the type may be repeated.
    let count = h.publish_count();
    let updated = h
        .call(
            "PATCH",
            &path,
            Some(json!({ "content": "192.0.2.99", "ttl": 120, "type": "A" })),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.json);
    assert_eq!(updated.json["data"]["content"], json!("192.0.2.99"));
    assert_eq!(updated.json["data"]["ttl"], json!(120));
    assert_eq!(updated.json["data"]["name"], json!("www"));
    assert_eq!(updated.json["data"]["id"], json!(id));
    assert_eq!(h.publish_count(), count + 1);

    // Delete.
    let deleted = h.call("DELETE", &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.json, json!(null));
    assert_eq!(h.publish_count(), count + 2);
    let gone = h.call("GET", &path, None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.json,
        json!({ "message": format!("Record `{id}` not found") })
    );
    let again = h.call("DELETE", &path, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(h.publish_count(), count + 2);
}

#[tokio::test]
async fn type_cannot_change() {
    let h = Harness::new();
    h.create_zone("type.test").await;
    let rec = h
        .create_record(
            "type.test",
            json!({ "name": "x", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    let count = h.publish_count();
    let path = h.path(&format!("/zones/type.test/records/{}", rec["id"]));
    let reply = h
        .call(
            "PATCH",
            &path,
            Some(json!({ "type": "AAAA", "content": "::1" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_fields(), ["type"]);
    assert_eq!(h.publish_count(), count);
}

#[tokio::test]
async fn unknown_and_malformed_record_ids_are_404() {
    let h = Harness::new();
    h.create_zone("ids.test").await;
    for id in ["123456", "abc", "-1"] {
        let path = h.path(&format!("/zones/ids.test/records/{id}"));
        let reply = h.call("GET", &path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            reply.json,
            json!({ "message": format!("Record `{id}` not found") })
        );
        let patch = h.call("PATCH", &path, Some(json!({ "ttl": 300 }))).await;
        assert_eq!(patch.status, StatusCode::NOT_FOUND, "{id}");
    }
    let zone = h
        .call("GET", &h.path("/zones/nope.test/records"), None)
        .await;
    assert_eq!(
        zone.json,
        json!({ "message": "Zone `nope.test` not found" })
    );
    assert_eq!(h.publish_count(), 1);
}

#[tokio::test]
async fn system_records_are_read_only() {
    let h = Harness::new();
    h.create_zone("sys.test").await;
    let soa = h
        .call("GET", &h.path("/zones/sys.test/records?type=SOA"), None)
        .await;
    let id = soa.json["data"][0]["id"].as_i64().expect("SOA id");
    let path = h.path(&format!("/zones/sys.test/records/{id}"));
    let count = h.publish_count();
    let patch = h.call("PATCH", &path, Some(json!({ "ttl": 300 }))).await;
    assert!(patch.status.is_client_error(), "{}", patch.json);
    let delete = h.call("DELETE", &path, None).await;
    assert!(delete.status.is_client_error(), "{}", delete.json);
    assert_eq!(h.publish_count(), count);
}

/// Posts a record expected to fail validation; returns the error fields.
async fn rejected(h: &Harness, zone: &str, record: Value) -> Vec<String> {
    let count = h.publish_count();
    let reply = h
        .call(
            "POST",
            &h.path(&format!("/zones/{zone}/records")),
            Some(record.clone()),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{record}: {}",
        reply.json
    );
    assert_eq!(
        reply.json["message"],
        json!("Validation failed"),
        "{record}"
    );
    assert_eq!(
        h.publish_count(),
        count,
        "{record}: published a failed write"
    );
    reply.error_fields()
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let h = Harness::new();
    h.create_zone("valid.test").await;
    h.create_record(
        "valid.test",
        json!({ "name": "www", "type": "A", "content": "192.0.2.1" }),
    )
    .await;
    let bad_ipv4 = json!({ "name": "a", "type": "A", "content": "300.1.2.3" });
    assert_eq!(rejected(&h, "valid.test", bad_ipv4).await, ["content"]);
    let cname_beside = json!({ "name": "www", "type": "CNAME", "content": "elsewhere.example" });
    assert_eq!(rejected(&h, "valid.test", cname_beside).await, ["name"]);
    let low_ttl = json!({ "name": "b", "type": "A", "content": "192.0.2.2", "ttl": 5 });
    assert_eq!(rejected(&h, "valid.test", low_ttl).await, ["ttl"]);
    let high_ttl = json!({ "name": "b", "type": "A", "content": "192.0.2.2", "ttl": 99_999_999 });
    assert_eq!(rejected(&h, "valid.test", high_ttl).await, ["ttl"]);
    let outside = json!({ "name": "www.other.example.", "type": "A", "content": "192.0.2.3" });
    assert_eq!(rejected(&h, "valid.test", outside).await, ["name"]);
    let bad_type = json!({ "name": "c", "type": "BOGUS", "content": "x" });
    assert_eq!(rejected(&h, "valid.test", bad_type).await, ["type"]);
}

/// The API reads names as the CLI does: relative, or fully qualified with
/// a final dot; a relative name that repeats the zone is refused with a
/// hint instead of becoming `www.names.test.names.test`.
#[tokio::test]
async fn a_relative_name_repeating_the_zone_is_refused_with_a_hint() {
    let h = Harness::new();
    h.create_zone("names.test").await;
    let count = h.publish_count();
    let reply = h
        .call(
            "POST",
            &h.path("/zones/names.test/records"),
            Some(json!({ "name": "www.names.test", "type": "A", "content": "192.0.2.1" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(
        reply.json["errors"]["name"],
        json!([
            "is relative to the zone, so it would be www.names.test.names.test; \
             write \"www\" or \"www.names.test.\" (with a final dot)"
        ])
    );
    assert_eq!(h.publish_count(), count, "published a refused write");
    let rec = h
        .create_record(
            "names.test",
            json!({ "name": "www.names.test.", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    assert_eq!(rec["name"], json!("www"));
    let path = h.path(&format!("/zones/names.test/records/{}", rec["id"]));
    let reply = h
        .call("PATCH", &path, Some(json!({ "name": "web.names.test" })))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(reply.error_fields(), ["name"]);
}

#[tokio::test]
async fn update_validation_errors_name_the_field() {
    let h = Harness::new();
    h.create_zone("upd.test").await;
    let rec = h
        .create_record(
            "upd.test",
            json!({ "name": "www", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    let path = h.path(&format!("/zones/upd.test/records/{}", rec["id"]));
    let count = h.publish_count();
    for (patch, field) in [
        (json!({ "content": "not-an-ip" }), "content"),
        (json!({ "ttl": 1 }), "ttl"),
        (json!({ "name": "x.elsewhere.example." }), "name"),
    ] {
        let reply = h.call("PATCH", &path, Some(patch.clone())).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{patch}: {}",
            reply.json
        );
        assert_eq!(reply.error_fields(), [field], "{patch}");
    }
    assert_eq!(h.publish_count(), count);
    let unchanged = h.call("GET", &path, None).await;
    assert_eq!(unchanged.json["data"], rec);
}

#[tokio::test]
async fn batch_creates_updates_and_deletes_together() {
    let h = Harness::new();
    h.create_zone("batch.test").await;
    let keep = h
        .create_record(
            "batch.test",
            json!({ "name": "keep", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    let drop = h
        .create_record(
            "batch.test",
            json!({ "name": "drop", "type": "A", "content": "192.0.2.2" }),
        )
        .await;
    let count = h.publish_count();
    let reply = h
        .call(
            "POST",
            &h.path("/zones/batch.test/batch"),
            Some(json!({
                "creates": [
                    { "name": "new1", "type": "A", "content": "192.0.2.10" },
                    { "name": "new2", "type": "TXT", "content": "hello" }
                ],
                "updates": [ { "id": keep["id"], "content": "192.0.2.11", "ttl": 300 } ],
                "deletes": [ { "id": drop["id"] } ]
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let data = &reply.json["data"];
    let created: Vec<&str> = data["creates"]
        .as_array()
        .expect("creates")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(created, ["new1", "new2"]);
    assert_eq!(data["updates"][0]["id"], keep["id"]);
    assert_eq!(data["updates"][0]["content"], json!("192.0.2.11"));
    assert_eq!(data["updates"][0]["ttl"], json!(300));
    assert_eq!(data["deletes"], json!([{ "id": drop["id"] }]));
    assert_eq!(h.publish_count(), count + 1);

    let gone = h
        .call(
            "GET",
            &h.path(&format!("/zones/batch.test/records/{}", drop["id"])),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failing_batch_changes_and_publishes_nothing() {
    let h = Harness::new();
    h.create_zone("atomic.test").await;
    let keep = h
        .create_record(
            "atomic.test",
            json!({ "name": "keep", "type": "A", "content": "192.0.2.1" }),
        )
        .await;
    let count = h.publish_count();
    let reply = h
        .call(
            "POST",
            &h.path("/zones/atomic.test/batch"),
            Some(json!({
                "creates": [
                    { "name": "ok", "type": "A", "content": "192.0.2.10" },
                    { "name": "bad", "type": "A", "content": "nope" }
                ],
                "deletes": [ { "id": keep["id"] } ]
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(reply.error_fields(), ["creates[1].content"]);
    assert_eq!(h.publish_count(), count);
    let list = h
        .call("GET", &h.path("/zones/atomic.test/records?name=ok"), None)
        .await;
    assert_eq!(list.json["data"], json!([]));
    let still = h
        .call(
            "GET",
            &h.path(&format!("/zones/atomic.test/records/{}", keep["id"])),
            None,
        )
        .await;
    assert_eq!(still.status, StatusCode::OK);

    let retyped = h
        .call(
            "POST",
            &h.path("/zones/atomic.test/batch"),
            Some(json!({ "updates": [ { "id": keep["id"], "type": "TXT" } ] })),
        )
        .await;
    assert_eq!(retyped.status, StatusCode::BAD_REQUEST);
    assert_eq!(retyped.error_fields(), ["updates[0].type"]);
    assert_eq!(h.publish_count(), count);
}

/// `regions`: stored lower-case and sorted; a bad list is a 400 naming the
/// `regions` field and why, and nothing is published.
#[tokio::test]
async fn regions_are_normalized_and_bad_ones_refused_by_field() {
    let h = Harness::new();
    h.create_zone("regions.test").await;
    let rec = h
        .create_record(
            "regions.test",
            json!({ "name": "www", "type": "A", "content": "192.0.2.7", "regions": ["SV1", "ams"] }),
        )
        .await;
    assert_eq!(rec["regions"], json!(["ams", "sv1"]));
    let count = h.publish_count();
    for (regions, message) in [
        (
            json!([]),
            "can't be empty (use [\"global\"] for every name server)",
        ),
        (
            json!(["AMS!"]),
            "\"AMS!\" is not a region label (letters, digits and hyphens, at most 20, not \
             starting or ending with a hyphen)",
        ),
        (
            json!(["global", "ams"]),
            "\"global\" cannot be combined with other regions",
        ),
        (json!(["ams", "AMS"]), "\"ams\" is listed twice"),
    ] {
        let reply = h
            .call(
                "POST",
                &h.path("/zones/regions.test/records"),
                Some(
                    json!({ "name": "x", "type": "A", "content": "192.0.2.1", "regions": regions }),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
        assert_eq!(
            reply.json["errors"]["regions"],
            json!([message]),
            "{regions}"
        );
    }
    // A regional CNAME beside a global A: refused for the ams view.
    h.create_record(
        "regions.test",
        json!({ "name": "app", "type": "A", "content": "192.0.2.1" }),
    )
    .await;
    let reply = h
        .call(
            "POST",
            &h.path("/zones/regions.test/records"),
            Some(json!({ "name": "app", "type": "CNAME", "content": "x.example.net", "regions": ["ams"] })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(
        reply.json["errors"]["name"],
        json!(["CNAME beside other data at app.regions.test. (in region ams)"])
    );
    assert_eq!(h.publish_count(), count + 1, "published a refused write");
}
