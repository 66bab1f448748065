//! Zones: list, get, zone file export and import.

use axum::http::StatusCode;
use serde_json::json;

use super::Harness;

#[tokio::test]
async fn get_zone_has_dnsimples_fields() {
    let h = Harness::new();
    let domain = h.create_zone("zone.test").await;
    let reply = h.call("GET", &h.path("/zones/zone.test"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let zone = &reply.json["data"];
    assert_eq!(zone["id"], domain["id"]);
    assert_eq!(zone["account_id"], json!(h.account));
    assert_eq!(zone["name"], json!("zone.test"));
    assert_eq!(zone["reverse"], json!(false));
    assert_eq!(zone["secondary"], json!(false));
    assert_eq!(zone["last_transferred_at"], json!(null));
    assert_eq!(zone["active"], json!(true));
    assert!(zone["created_at"].is_string());
    assert!(zone["updated_at"].is_string());
    assert_eq!(zone.as_object().expect("object").len(), 9);

    let id = domain["id"].as_i64().expect("id");
    let by_id = h.call("GET", &h.path(&format!("/zones/{id}")), None).await;
    assert_eq!(by_id.json["data"], *zone);

    h.create_zone("2.0.192.in-addr.arpa").await;
    let reverse = h
        .call("GET", &h.path("/zones/2.0.192.in-addr.arpa"), None)
        .await;
    assert_eq!(reverse.json["data"]["reverse"], json!(true));
}

#[tokio::test]
async fn list_zones_filters_sorts_and_pages() {
    let h = Harness::new();
    for name in ["a-shop.test", "b-blog.test", "c-shop.test", "d-shop.test"] {
        h.create_zone(name).await;
    }
    let all = h.call("GET", &h.path("/zones"), None).await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        all.json["pagination"],
        json!({ "current_page": 1, "per_page": 30, "total_entries": 4, "total_pages": 1 })
    );

    let page = h
        .call(
            "GET",
            &h.path("/zones?name_like=shop&sort=name:asc&page=2&per_page=2"),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let names: Vec<&str> = page.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|z| z["name"].as_str())
        .collect();
    assert_eq!(names, ["d-shop.test"]);
    assert_eq!(
        page.json["pagination"],
        json!({ "current_page": 2, "per_page": 2, "total_entries": 3, "total_pages": 2 })
    );

    let desc = h.call("GET", &h.path("/zones?sort=id:desc"), None).await;
    assert_eq!(desc.json["data"][0]["name"], json!("d-shop.test"));

    // Pages are capped at 100 entries, like DNSimple.
    let capped = h.call("GET", &h.path("/zones?per_page=1000"), None).await;
    assert_eq!(capped.json["pagination"]["per_page"], json!(100));
}

#[tokio::test]
async fn bad_pagination_and_sort_are_400() {
    let h = Harness::new();
    for (query, field) in [
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=-1", "per_page"),
    ] {
        let reply = h
            .call("GET", &h.path(&format!("/zones?{query}")), None)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    let sort = h.call("GET", &h.path("/zones?sort=color:asc"), None).await;
    assert_eq!(sort.status, StatusCode::BAD_REQUEST, "{}", sort.json);
    assert_eq!(sort.error_fields(), ["sort"]);
}

#[tokio::test]
async fn zone_file_export() {
    let h = Harness::new();
    h.create_zone("file.test").await;
    h.create_record(
        "file.test",
        json!({ "name": "www", "type": "A", "content": "192.0.2.7", "ttl": 600 }),
    )
    .await;
    let reply = h.call("GET", &h.path("/zones/file.test/file"), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.json["data"]["zone"].as_str().expect("zone text");
    assert!(text.contains("SOA"), "{text}");
    assert!(text.contains("ns1.candor.test."), "{text}");
    assert!(text.contains("192.0.2.7"), "{text}");
    assert_eq!(reply.json["data"].as_object().expect("object").len(), 1);

    let missing = h.call("GET", &h.path("/zones/nope.test/file"), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json,
        json!({ "message": "Zone `nope.test` not found" })
    );
}

#[tokio::test]
async fn zone_file_import_replaces_records_and_publishes() {
    let h = Harness::new();
    h.create_zone("import.test").await;
    h.create_record(
        "import.test",
        json!({ "name": "old", "type": "A", "content": "192.0.2.1" }),
    )
    .await;
    let before = h.last_published().serial.expect("serial");
    let zone_file = "www 300 IN A 192.0.2.10\n\
                     @ 3600 IN MX 10 mail.import.test.\n\
                     mail IN AAAA 2001:db8::1\n";
    let reply = h
        .call(
            "PUT",
            &h.path("/zones/import.test/file"),
            Some(json!({ "zone_file": zone_file })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let data = &reply.json["data"];
    assert_eq!(data["zone"]["name"], json!("import.test"));
    assert_eq!(data["records"], json!(3));
    assert_eq!(data["removed"], json!(1));
    let after = h.last_published();
    assert_eq!(after.zone, "import.test");
    assert!(after.serial.expect("serial") != before);

    let records = h
        .call(
            "GET",
            &h.path("/zones/import.test/records?sort=name:asc"),
            None,
        )
        .await;
    let mut seen: Vec<(String, String)> = records.json["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r["system_record"] == json!(false))
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let expected = [("", "MX"), ("mail", "AAAA"), ("www", "A")];
    assert_eq!(
        seen,
        expected.map(|(n, t)| (n.to_owned(), t.to_owned())).to_vec()
    );
}

#[tokio::test]
async fn broken_zone_file_import_is_400_and_changes_nothing() {
    let h = Harness::new();
    h.create_zone("broken.test").await;
    let count = h.publish_count();
    let reply = h
        .call(
            "PUT",
            &h.path("/zones/broken.test/file"),
            Some(json!({ "zone_file": "www IN A 999.1.1.1\n" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
    assert_eq!(reply.json["message"], json!("Validation failed"));
    assert!(!reply.error_fields().is_empty());
    assert_eq!(h.publish_count(), count);

    let missing_field = h
        .call(
            "PUT",
            &h.path("/zones/broken.test/file"),
            Some(json!({ "zone": "www IN A 192.0.2.1\n" })),
        )
        .await;
    assert_eq!(missing_field.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing_field.error_fields(), ["zone_file"]);
    assert_eq!(h.publish_count(), count);
}
