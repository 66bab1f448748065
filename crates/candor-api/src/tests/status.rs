//! The status page's routes: the operator's incidents and maintenance,
//! and subscriptions scoped to their account.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use candor_status::db::{ComponentSpec, StatusDb};
use candor_status::model::{Channel, ComponentKind};
use serde_json::{Value, json};

use super::{Harness, Reply};

/// A harness whose status page has two components: ids 1 (`ns1`) and 2
/// (`API`).
fn harness() -> Harness {
    let mut db = StatusDb::open_memory().expect("status db");
    let specs = [("ns:127.0.0.1:53", "ns1"), ("api", "API")].map(|(key, name)| ComponentSpec {
        key: key.to_owned(),
        name: name.to_owned(),
        location: None,
        description: None,
        kind: ComponentKind::Other,
    });
    db.sync_components(&specs, 1_000).expect("components");
    Harness::with_status(db)
}

/// Asserts a status, showing the body when it differs.
#[track_caller]
fn expect(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{:#}", reply.json);
}

/// Asserts a 400 naming exactly `field`.
#[track_caller]
fn rejects(reply: &Reply, field: &str) {
    expect(reply, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_fields(), [field], "{:#}", reply.json);
}

/// Whether a JSON string is an RFC 3339 UTC time like `2026-11-26T11:03:05Z`.
fn is_utc_time(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| t.len() == 20 && t.ends_with('Z') && t.as_bytes().get(10) == Some(&b'T'))
}

impl Harness {
    /// How many times the status change hook ran.
    fn changes(&self) -> usize {
        self.status_changes.load(Ordering::Relaxed)
    }

    /// Opens an incident and returns it.
    async fn open(&self, body: Value) -> Value {
        let reply = self
            .call("POST", &self.path("/status/incidents"), Some(body))
            .await;
        expect(&reply, StatusCode::CREATED);
        reply.json["data"].clone()
    }
}

#[tokio::test]
async fn status_routes_are_not_found_without_a_status_page() {
    let h = Harness::new();
    for (method, path) in [
        ("GET", "/status/components"),
        ("GET", "/status/incidents"),
        ("GET", "/status/subscriptions"),
    ] {
        let reply = h.call(method, &h.path(path), None).await;
        expect(&reply, StatusCode::NOT_FOUND);
        assert_eq!(
            reply.json,
            json!({ "message": "The status page is not running on this server" })
        );
    }
    let reply = h
        .call(
            "POST",
            &h.path("/status/subscriptions"),
            Some(json!({ "email": "a@example.com" })),
        )
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_operator_runs_an_incident_to_its_postmortem() {
    let h = harness();
    let reply = h.call("GET", &h.path("/status/components"), None).await;
    expect(&reply, StatusCode::OK);
    let components = &reply.json["data"];
    assert_eq!(components[0]["id"], json!(1));
    assert_eq!(components[0]["key"], json!("ns:127.0.0.1:53"));
    assert_eq!(components[1]["status"], json!("operational"));
    assert!(is_utc_time(&components[1]["updated_at"]));

    let incident = h
        .open(json!({
            "name": "ns1 not answering",
            "body": "We are looking into it.",
            "components": [{ "id": 1, "status": "major_outage" }],
            "zones": ["Example.COM."],
        }))
        .await;
    assert_eq!(h.changes(), 1);
    assert_eq!(incident["status"], json!("investigating"));
    assert_eq!(incident["impact"], json!("critical"));
    assert_eq!(incident["maintenance"], json!(false));
    assert_eq!(incident["zones"], json!(["example.com"]));
    assert_eq!(
        incident["components"],
        json!([{ "id": 1, "name": "ns1", "status": "major_outage" }])
    );
    assert!(is_utc_time(&incident["created_at"]));
    let first = &incident["updates"][0];
    assert_eq!(first["source"], json!("operator"));
    assert_eq!(first["posted_by"], json!("tests"));
    let id = incident["id"].as_i64().expect("id");
    let public = incident["public_id"]
        .as_str()
        .expect("public id")
        .to_owned();
    let update_id = first["id"].as_i64().expect("update id");

    let reply = h
        .call(
            "POST",
            &h.path(&format!("/status/incidents/{public}/updates")),
            Some(json!({ "status": "identified", "body": "A bad route.", "impact": "major" })),
        )
        .await;
    expect(&reply, StatusCode::CREATED);
    assert_eq!(reply.json["data"]["status"], json!("identified"));
    assert_eq!(reply.json["data"]["impact"], json!("major"));
    assert_eq!(
        reply.json["data"]["updates"][0]["body"],
        json!("A bad route.")
    );

    let reply = h
        .call(
            "PATCH",
            &h.path(&format!("/status/updates/{update_id}")),
            Some(json!({ "body": "We are looking into ns1." })),
        )
        .await;
    expect(&reply, StatusCode::OK);
    let edited = &reply.json["data"]["updates"][1];
    assert_eq!(edited["body"], json!("We are looking into ns1."));
    assert_eq!(
        edited["revisions"][0]["body"],
        json!("We are looking into it.")
    );
    assert_eq!(edited["revisions"][0]["replaced_by"], json!("tests"));
    assert!(is_utc_time(&edited["edited_at"]));

    let reply = h
        .call(
            "PATCH",
            &h.path(&format!("/status/incidents/{id}")),
            Some(json!({ "name": "ns1 unreachable" })),
        )
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"]["name"], json!("ns1 unreachable"));

    let postmortem = h.path(&format!("/status/incidents/{id}/postmortem"));
    let reply = h
        .call("PUT", &postmortem, Some(json!({ "body": "Too early." })))
        .await;
    rejects(&reply, "postmortem");

    let reply = h
        .call(
            "POST",
            &h.path(&format!("/status/incidents/{id}/updates")),
            Some(json!({ "status": "resolved", "body": "Fixed.", "components": [] })),
        )
        .await;
    expect(&reply, StatusCode::CREATED);
    assert!(is_utc_time(&reply.json["data"]["resolved_at"]));
    assert_eq!(reply.json["data"]["components"], json!([]));

    let reply = h
        .call(
            "PUT",
            &postmortem,
            Some(json!({ "body": "What happened." })),
        )
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"]["postmortem"], json!("What happened."));

    let reply = h
        .call("GET", &h.path(&format!("/status/incidents/{public}")), None)
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(
        reply.json["data"]["updates"].as_array().map(Vec::len),
        Some(3)
    );
    let reply = h.call("GET", &h.path("/status/incidents"), None).await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"][0]["id"], json!(id));
    let reply = h.call("GET", &h.path("/status/incidents/nope"), None).await;
    expect(&reply, StatusCode::NOT_FOUND);
    assert_eq!(h.changes(), 6);
}

#[tokio::test]
async fn maintenance_is_scheduled_with_a_window() {
    let h = harness();
    let window = h
        .open(json!({
            "name": "Moving ns1",
            "body": "ns1 moves to a new rack.",
            "components": [{ "id": 1, "status": "under_maintenance" }],
            "scheduled_for": "2036-11-26T11:00:00Z",
            "scheduled_until": "2036-11-26T13:00:00+01:00",
        }))
        .await;
    assert_eq!(window["maintenance"], json!(true));
    assert_eq!(window["status"], json!("scheduled"));
    assert_eq!(window["impact"], json!("maintenance"));
    assert_eq!(window["scheduled_for"], json!("2036-11-26T11:00:00Z"));
    assert_eq!(window["scheduled_until"], json!("2036-11-26T12:00:00Z"));
}

#[tokio::test]
async fn other_accounts_may_not_use_the_operator_routes() {
    let h = harness();
    let incident = h
        .open(json!({ "name": "Slow answers", "body": "Looking." }))
        .await;
    let id = incident["id"].as_i64().expect("id");
    let update = incident["updates"][0]["id"].as_i64().expect("update id");
    let (other, token) = h.other_account();
    let text = json!({ "body": "x" });
    let calls = [
        ("GET", "/status/components".to_owned(), None),
        ("GET", "/status/incidents".to_owned(), None),
        (
            "POST",
            "/status/incidents".to_owned(),
            Some(json!({ "name": "n", "body": "b" })),
        ),
        ("GET", format!("/status/incidents/{id}"), None),
        (
            "PATCH",
            format!("/status/incidents/{id}"),
            Some(json!({ "name": "n" })),
        ),
        (
            "POST",
            format!("/status/incidents/{id}/updates"),
            Some(json!({ "status": "resolved", "body": "b" })),
        ),
        (
            "PUT",
            format!("/status/incidents/{id}/postmortem"),
            Some(text.clone()),
        ),
        ("PATCH", format!("/status/updates/{update}"), Some(text)),
    ];
    for (method, rest, body) in calls {
        let path = format!("/v2/{other}{rest}");
        let reply = h.call_as(Some(&token), method, &path, body.clone()).await;
        expect(&reply, StatusCode::FORBIDDEN);
        // And the operator's account id in the path is not theirs.
        let path = h.path(&rest);
        let reply = h.call_as(Some(&token), method, &path, body).await;
        expect(&reply, StatusCode::NOT_FOUND);
    }
    assert_eq!(h.changes(), 1);
    let reply = h
        .call("GET", &h.path(&format!("/status/incidents/{id}")), None)
        .await;
    assert_eq!(reply.json["data"]["name"], json!("Slow answers"));
    assert_eq!(reply.json["data"]["status"], json!("investigating"));
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let h = harness();
    let path = h.path("/status/incidents");
    let cases = [
        (
            json!({ "name": "n", "body": "b", "status": "exploded" }),
            "status",
        ),
        (
            json!({ "name": "n", "body": "b", "status": "resolved" }),
            "status",
        ),
        (json!({ "name": "n", "body": "  " }), "body"),
        (json!({ "body": "b" }), "name"),
        (
            json!({ "name": "n", "body": "b", "impact": "huge" }),
            "impact",
        ),
        (
            json!({ "name": "n", "body": "b", "components": [{ "id": 99, "status": "major_outage" }] }),
            "components",
        ),
        (
            json!({ "name": "n", "body": "b", "components": [{ "id": 1, "status": "down" }] }),
            "components[0].status",
        ),
        (
            json!({ "name": "n", "body": "b", "zones": ["a..b"] }),
            "zones",
        ),
        (
            json!({ "name": "n", "body": "b", "scheduled_for": "tomorrow", "scheduled_until": "2026-11-26T12:00:00Z" }),
            "scheduled_for",
        ),
        (
            json!({ "name": "n", "body": "b", "scheduled_for": "2026-11-26T12:00:00Z", "scheduled_until": "2026-11-26T11:00:00Z" }),
            "scheduled_until",
        ),
    ];
    for (body, field) in cases {
        let reply = h.call("POST", &path, Some(body.clone())).await;
        assert_eq!(
            reply.error_fields(),
            [field],
            "{body} gave {:#}",
            reply.json
        );
        expect(&reply, StatusCode::BAD_REQUEST);
    }
    let incident = h.open(json!({ "name": "n", "body": "b" })).await;
    let id = incident["id"].as_i64().expect("id");
    let updates = h.path(&format!("/status/incidents/{id}/updates"));
    let reply = h
        .call(
            "POST",
            &updates,
            Some(json!({ "status": "completed", "body": "b" })),
        )
        .await;
    rejects(&reply, "status");
    let reply = h
        .call(
            "POST",
            &updates,
            Some(json!({ "status": "monitoring", "body": "" })),
        )
        .await;
    rejects(&reply, "body");
    let reply = h
        .call(
            "PATCH",
            &h.path("/status/updates/12345"),
            Some(json!({ "body": "b" })),
        )
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
    assert_eq!(h.changes(), 1);
}

#[tokio::test]
async fn subscriptions_belong_to_their_account() {
    let h = harness();
    h.create_zone("example.com").await;
    let subscriptions = h.path("/status/subscriptions");
    let reply = h
        .call(
            "POST",
            &subscriptions,
            Some(json!({ "webhook_url": "https://hooks.example.net/candor", "zones": ["EXAMPLE.com"] })),
        )
        .await;
    expect(&reply, StatusCode::CREATED);
    let hook = &reply.json["data"];
    let secret = hook["secret"].as_str().expect("secret shown once");
    assert_eq!(secret.len(), 32);
    assert_eq!(hook["type"], json!("webhook"));
    assert_eq!(hook["account_id"], json!(h.account));
    assert_eq!(hook["zones"], json!(["example.com"]));
    let hook_id = hook["id"].as_i64().expect("id");
    let stored = h
        .status
        .as_ref()
        .expect("status db")
        .lock()
        .expect("lock")
        .subscriber(hook_id)
        .expect("stored");
    assert!(matches!(&stored.channel, Channel::Webhook { secret: s, .. } if s == secret));

    let reply = h
        .call(
            "POST",
            &subscriptions,
            Some(json!({ "email": "ops@example.com" })),
        )
        .await;
    expect(&reply, StatusCode::CREATED);
    assert!(reply.json["data"].get("secret").is_none());

    let reply = h.call("GET", &subscriptions, None).await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(2));
    assert!(!reply.json.to_string().contains(secret));
    assert!(reply.json["data"][0].get("secret").is_none());

    // The second account sees, removes and re-enables none of them, and
    // may not name the first account's zones.
    let (other, token) = h.other_account();
    let theirs = format!("/v2/{other}/status/subscriptions");
    let reply = h.call_as(Some(&token), "GET", &theirs, None).await;
    assert_eq!(reply.json["data"], json!([]));
    let reply = h
        .call_as(Some(&token), "DELETE", &format!("{theirs}/{hook_id}"), None)
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &format!("{theirs}/{hook_id}/enable"),
            None,
        )
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
    let reply = h
        .call_as(
            Some(&token),
            "POST",
            &theirs,
            Some(json!({ "email": "b@example.org", "zones": ["example.com"] })),
        )
        .await;
    rejects(&reply, "zones[0]");

    let reply = h
        .call(
            "POST",
            &subscriptions,
            Some(json!({ "email": "a@example.com", "zones": ["example.com", "example.org"] })),
        )
        .await;
    rejects(&reply, "zones[1]");
    assert_eq!(
        reply.json["errors"]["zones[1]"],
        json!(["example.org is not a zone of this account"])
    );
    let reply = h
        .call(
            "POST",
            &subscriptions,
            Some(json!({ "email": "a@example.com", "webhook_url": "https://x.example/h" })),
        )
        .await;
    rejects(&reply, "email");
    let reply = h
        .call("POST", &subscriptions, Some(json!({ "zones": [] })))
        .await;
    rejects(&reply, "webhook_url");
    let reply = h
        .call(
            "POST",
            &subscriptions,
            Some(json!({ "webhook_url": "ftp://x.example/h" })),
        )
        .await;
    rejects(&reply, "webhook_url");
    // Webhooks may not point into Candor's own network.
    for (url, ip) in [
        ("http://127.0.0.1:9/h", "127.0.0.1"),
        ("https://user:pw@[::1]:8443/h", "::1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://10.0.0.7?x=1", "10.0.0.7"),
    ] {
        let reply = h
            .call("POST", &subscriptions, Some(json!({ "webhook_url": url })))
            .await;
        rejects(&reply, "webhook_url");
        assert_eq!(
            reply.json["errors"]["webhook_url"],
            json!([format!(
                "{ip} is not a public address; webhooks go to public addresses only"
            )]),
            "{url}"
        );
    }

    let reply = h
        .call("DELETE", &format!("{subscriptions}/{hook_id}"), None)
        .await;
    expect(&reply, StatusCode::NO_CONTENT);
    let reply = h
        .call("DELETE", &format!("{subscriptions}/{hook_id}"), None)
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
    let reply = h.call("GET", &subscriptions, None).await;
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_disabled_subscription_is_enabled_again() {
    let h = harness();
    let reply = h
        .call(
            "POST",
            &h.path("/status/subscriptions"),
            Some(json!({ "webhook_url": "https://hooks.example.net/candor" })),
        )
        .await;
    expect(&reply, StatusCode::CREATED);
    let id = reply.json["data"]["id"].as_i64().expect("id");
    h.open(json!({ "name": "n", "body": "b" })).await;
    {
        let mut db = h.status.as_ref().expect("status db").lock().expect("lock");
        let due = db.due_deliveries(i64::MAX, 10).expect("due");
        assert_eq!(due.len(), 1);
        db.delivery_failed(due[0].0.id, "HTTP 500", None, true, 2_000)
            .expect("failed");
        assert!(db.subscriber(id).expect("subscriber").disabled_at.is_some());
    }
    // The account sees why.
    let reply = h.call("GET", &h.path("/status/subscriptions"), None).await;
    let reason = reply.json["data"][0]["disabled_reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("the last error: HTTP 500"),
        "{}",
        reply.json
    );
    let reply = h
        .call(
            "POST",
            &h.path(&format!("/status/subscriptions/{id}/enable")),
            None,
        )
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"]["disabled_at"], Value::Null);
    assert_eq!(reply.json["data"]["failures"], json!(0));
}

#[tokio::test]
async fn only_owners_of_the_operator_account_speak_for_the_platform() {
    let h = harness();
    let member = h.store.create_user("member@example.net").expect("user");
    h.store
        .add_member(h.account, member.id, "member")
        .expect("membership");
    let owner = h.store.create_user("owner@example.net").expect("user");
    h.store
        .add_member(h.account, owner.id, "owner")
        .expect("membership");
    let (_, member_token) = h
        .store
        .create_user_token(h.account, member.id, "member")
        .expect("token");
    let (_, owner_token) = h
        .store
        .create_user_token(h.account, owner.id, "owner")
        .expect("token");
    let path = h.path("/status/incidents");
    let body = json!({ "name": "DNS is down", "body": "It is not." });
    // A member may read, not post.
    let reply = h
        .call_as(Some(&member_token), "POST", &path, Some(body.clone()))
        .await;
    expect(&reply, StatusCode::FORBIDDEN);
    assert!(
        reply.json.to_string().contains("Only owners"),
        "{}",
        reply.json
    );
    let reply = h.call_as(Some(&member_token), "GET", &path, None).await;
    expect(&reply, StatusCode::OK);
    assert_eq!(h.changes(), 0);
    // An owner may, and is named.
    let reply = h
        .call_as(Some(&owner_token), "POST", &path, Some(body))
        .await;
    expect(&reply, StatusCode::CREATED);
    assert_eq!(
        reply.json["data"]["updates"][0]["posted_by"],
        json!("owner@example.net")
    );
}

#[tokio::test]
async fn maintenance_is_listed_rescheduled_and_cancelled() {
    let h = harness();
    let window = h
        .open(json!({
            "name": "New disks",
            "body": "ns1 restarts.",
            "components": [{ "id": 1, "status": "under_maintenance" }],
            "scheduled_for": "2036-01-10T10:00:00Z",
            "scheduled_until": "2036-01-10T11:00:00Z",
        }))
        .await;
    let id = window["id"].as_i64().expect("id");
    // In the past: refused.
    let reply = h
        .call(
            "POST",
            &h.path("/status/incidents"),
            Some(json!({
                "name": "Too late",
                "body": "b",
                "scheduled_for": "2020-01-10T10:00:00Z",
                "scheduled_until": "2020-01-10T11:00:00Z",
            })),
        )
        .await;
    expect(&reply, StatusCode::BAD_REQUEST);
    assert!(
        reply.json.to_string().contains("scheduled_until"),
        "{}",
        reply.json
    );
    let reply = h.call("GET", &h.path("/status/maintenances"), None).await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(1));
    let reply = h
        .call(
            "PATCH",
            &h.path(&format!("/status/maintenances/{id}")),
            Some(json!({
                "scheduled_for": "2036-01-11T10:00:00Z",
                "scheduled_until": "2036-01-11T12:00:00Z",
            })),
        )
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(
        reply.json["data"]["scheduled_for"],
        json!("2036-01-11T10:00:00Z")
    );
    assert_eq!(
        reply.json["data"]["updates"].as_array().map(Vec::len),
        Some(2)
    );
    let reply = h
        .call(
            "POST",
            &h.path(&format!("/status/maintenances/{id}/cancel")),
            Some(json!({ "body": "Not needed after all." })),
        )
        .await;
    expect(&reply, StatusCode::OK);
    assert_eq!(reply.json["data"]["status"], json!("completed"));
    assert_eq!(
        reply.json["data"]["updates"][0]["body"],
        json!("Cancelled: Not needed after all.")
    );
    let reply = h.call("GET", &h.path("/status/maintenances"), None).await;
    assert_eq!(reply.json["data"].as_array().map(Vec::len), Some(0));
    // An incident is not a maintenance window.
    let incident = h.open(json!({ "name": "n", "body": "b" })).await;
    let reply = h
        .call(
            "POST",
            &h.path(&format!(
                "/status/maintenances/{}/cancel",
                incident["id"].as_i64().unwrap_or_default()
            )),
            None,
        )
        .await;
    expect(&reply, StatusCode::NOT_FOUND);
}
