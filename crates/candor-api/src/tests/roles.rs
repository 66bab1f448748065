//! Every route of the route table called by every kind of caller: the
//! status codes are a snapshot, one line per route, so a change of who may
//! do what shows up in review. Each call gets a fresh world, so a caller's
//! successful delete does not turn the next caller's call into a 404.
//! Only the operator's postmortem is a 400: the authorization passed, but
//! a postmortem needs a resolved incident; likewise the owner's DNSSEC
//! disable is a 428: the domain has no DNSSEC to disable.

use std::fmt::Write as _;

use candor_status::db::{ComponentSpec, StatusDb};
use candor_status::model::ComponentKind;
use candor_store::Role;
use expect_test::expect;
use serde_json::{Value, json};

use super::Harness;
use crate::auth::Access;
use crate::routes;

/// The callers, in the snapshot's column order.
const CALLERS: [&str; 6] = ["anon", "other", "member", "owner", "op-member", "operator"];

/// A harness with the status page, the operator's account (the harness
/// account, its token is the operator's owner token) and a customer's.
struct World {
    /// The router and store.
    h: Harness,
    /// The customer's account.
    customer: i64,
    /// Tokens by caller, as in [`CALLERS`] (`None` for the anonymous one).
    tokens: Vec<Option<String>>,
    /// Values for the path's placeholders other than `{account}`.
    ids: Vec<(&'static str, String)>,
}

impl World {
    /// Builds the world: a customer with a zone, a record and a
    /// subscription; a third account; an incident with an update.
    async fn new() -> World {
        let mut db = StatusDb::open_memory().expect("status db");
        let spec = ComponentSpec {
            key: "api".to_owned(),
            name: "API".to_owned(),
            location: None,
            description: None,
            kind: ComponentKind::Other,
        };
        db.sync_components(&[spec], 1_000).expect("components");
        let h = Harness::with_status(db);
        let store = &h.store;
        let customer = store.create_account("customer@example.org").expect("a").id;
        let (_, owner) = store.create_token(customer, "owner").expect("token");
        let (member_id, member) = member_token(&h, customer, "member@example.org");
        let (ci, _) = store.create_token(customer, "ci").expect("token");
        let (_, op_member) = member_token(&h, h.account, "staff@example.org");
        let (_, other) = h.other_account();

        let path = |rest: &str| format!("/v2/{customer}{rest}");
        let created = h
            .call_as(
                Some(&owner),
                "POST",
                &path("/domains"),
                Some(json!({"name": "example.com"})),
            )
            .await;
        assert_eq!(created.status, 201, "{:#}", created.json);
        let record = h
            .call_as(
                Some(&owner),
                "POST",
                &path("/zones/example.com/records"),
                Some(json!({"name": "www", "type": "A", "content": "192.0.2.1"})),
            )
            .await;
        let subscription = h
            .call_as(
                Some(&owner),
                "POST",
                &path("/status/subscriptions"),
                Some(json!({"email": "alerts@example.org"})),
            )
            .await;
        let incident = h
            .call(
                "POST",
                &h.path("/status/incidents"),
                Some(json!({"name": "Slow", "body": "Looking."})),
            )
            .await;
        store
            .create_tsig_key("xfr.example.com", "hmac-sha256")
            .expect("key");
        let id = |v: &Value| v.as_i64().expect("id").to_string();
        let ids = vec![
            ("{zone}", "example.com".to_owned()),
            ("{domain}", "example.com".to_owned()),
            ("{record}", id(&record.json["data"]["id"])),
            ("{subscription}", id(&subscription.json["data"]["id"])),
            ("{incident}", id(&incident.json["data"]["id"])),
            ("{update}", id(&incident.json["data"]["updates"][0]["id"])),
            ("{key}", "xfr.example.com".to_owned()),
            ("{customer}", customer.to_string()),
            ("{token}", ci.id.to_string()),
            ("{user}", member_id.to_string()),
        ];
        let tokens = vec![
            None,
            Some(other),
            Some(member),
            Some(owner),
            Some(op_member),
            Some(h.token.clone()),
        ];
        World {
            h,
            customer,
            tokens,
            ids,
        }
    }

    /// The path a caller uses for a route: the customer's account, except
    /// that the operator's callers name their own account on the routes of
    /// the operator's account.
    fn path(&self, route: &crate::Route, caller: usize) -> String {
        let operator_route = matches!(route.access, Access::Operator | Access::OperatorMember);
        let account = if operator_route && CALLERS[caller].starts_with("op") {
            self.h.account
        } else {
            self.customer
        };
        let mut path = route.path.replace("{account}", &account.to_string());
        for (placeholder, value) in &self.ids {
            path = path.replace(placeholder, value);
        }
        path
    }
}

/// A new user who is a member (role `member`) of `account`: their id and
/// a token for them.
fn member_token(h: &Harness, account: i64, email: &str) -> (i64, String) {
    let user = h.store.create_user(email).expect("user");
    h.store
        .add_member(account, user.id, Role::Member)
        .expect("member");
    let (_, secret) = h
        .store
        .create_user_token(account, user.id, "t")
        .expect("token");
    (user.id, secret)
}

/// A valid body for a route's request, if it takes one.
fn body(method: &str, path: &str) -> Option<Value> {
    let body = match (method, path.rsplit('/').next().unwrap_or("")) {
        ("POST", "domains") => json!({"name": "new.example"}),
        ("PUT", "file") => json!({"zone_file": "www 300 IN A 192.0.2.9\n"}),
        ("POST", "records") => json!({"name": "api", "type": "A", "content": "192.0.2.2"}),
        ("PATCH", "{record}") => json!({"content": "192.0.2.3"}),
        ("POST", "batch") => {
            json!({"creates": [{"name": "b", "type": "A", "content": "192.0.2.4"}]})
        }
        ("PUT", "alias_refresh") => json!({"enabled": false}),
        ("POST", "tsig_keys") => json!({"name": "new.example.com"}),
        ("POST", "incidents") => json!({"name": "n", "body": "b"}),
        ("PATCH", "{incident}") => json!({"name": "n"}),
        ("POST", "updates") => json!({"status": "identified", "body": "b"}),
        ("PUT", "postmortem") => json!({"body": "What happened."}),
        ("PATCH", "{update}") => json!({"body": "x"}),
        ("POST", "subscriptions") => json!({"email": "b@example.org"}),
        ("POST", "accounts") => json!({"email": "new@example.org"}),
        ("POST", "tokens") => json!({"name": "deploy"}),
        ("POST", "members") => json!({"email": "new@example.org", "role": "owner"}),
        _ => return None,
    };
    Some(body)
}

#[tokio::test]
async fn every_route_answers_every_caller_as_its_role_allows() {
    let mut table = String::new();
    for (i, route) in routes().iter().enumerate() {
        let mut line = format!(
            "{} {} [{}]:",
            route.method,
            route.path,
            route.access.describe()
        );
        for (caller, name) in CALLERS.iter().enumerate() {
            let world = World::new().await;
            let path = world.path(&routes()[i], caller);
            let reply = world
                .h
                .call_as(
                    world.tokens[caller].as_deref(),
                    route.method,
                    &path,
                    body(route.method, route.path),
                )
                .await;
            write!(line, " {name}={}", reply.status.as_u16()).expect("write");
        }
        table.push_str(&line);
        table.push('\n');
    }
    expect![[r#"
        GET /v2/openapi.json [anyone]: anon=200 other=200 member=200 owner=200 op-member=200 operator=200
        GET /healthz [anyone]: anon=200 other=200 member=200 owner=200 op-member=200 operator=200
        GET /readyz [anyone]: anon=200 other=200 member=200 owner=200 op-member=200 operator=200
        GET /v2/whoami [any token]: anon=401 other=200 member=200 owner=200 op-member=200 operator=200
        GET /v2/accounts [any token]: anon=401 other=200 member=200 owner=200 op-member=200 operator=200
        POST /v2/accounts [operator]: anon=401 other=403 member=403 owner=403 op-member=403 operator=201
        DELETE /v2/accounts/{customer} [operator]: anon=401 other=403 member=403 owner=403 op-member=403 operator=204
        POST /v2/accounts/{customer}/suspend [operator]: anon=401 other=403 member=403 owner=403 op-member=403 operator=200
        POST /v2/accounts/{customer}/unsuspend [operator]: anon=401 other=403 member=403 owner=403 op-member=403 operator=200
        GET /v2/{account}/tokens [owner]: anon=401 other=404 member=403 owner=200 op-member=404 operator=404
        POST /v2/{account}/tokens [owner]: anon=401 other=404 member=403 owner=201 op-member=404 operator=404
        DELETE /v2/{account}/tokens/{token} [owner]: anon=401 other=404 member=403 owner=204 op-member=404 operator=404
        GET /v2/{account}/audit_log [owner]: anon=401 other=404 member=403 owner=200 op-member=404 operator=404
        GET /v2/{account}/members [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/members [owner]: anon=401 other=404 member=403 owner=201 op-member=404 operator=404
        DELETE /v2/{account}/members/{user} [owner]: anon=401 other=404 member=403 owner=204 op-member=404 operator=404
        GET /v2/{account}/domains [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/domains [owner]: anon=401 other=404 member=403 owner=201 op-member=404 operator=404
        GET /v2/{account}/domains/{domain} [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        DELETE /v2/{account}/domains/{domain} [owner]: anon=401 other=404 member=403 owner=204 op-member=404 operator=404
        GET /v2/{account}/domains/{domain}/dnssec [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/domains/{domain}/dnssec [owner]: anon=401 other=404 member=403 owner=201 op-member=404 operator=404
        DELETE /v2/{account}/domains/{domain}/dnssec [owner]: anon=401 other=404 member=403 owner=428 op-member=404 operator=404
        POST /v2/{account}/domains/{domain}/dnssec/rollover [owner]: anon=401 other=404 member=403 owner=409 op-member=404 operator=404
        POST /v2/{account}/domains/{domain}/dnssec/ds_seen [owner]: anon=401 other=404 member=403 owner=409 op-member=404 operator=404
        GET /v2/{account}/domains/{domain}/ds_records [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/zones [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/zones/{zone} [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/zones/{zone}/file [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        PUT /v2/{account}/zones/{zone}/file [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/zones/{zone}/distribution [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/zones/{zone}/records [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/zones/{zone}/records [member]: anon=401 other=404 member=201 owner=201 op-member=404 operator=404
        GET /v2/{account}/zones/{zone}/records/{record} [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        PATCH /v2/{account}/zones/{zone}/records/{record} [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        DELETE /v2/{account}/zones/{zone}/records/{record} [member]: anon=401 other=404 member=204 owner=204 op-member=404 operator=404
        GET /v2/{account}/zones/{zone}/records/{record}/distribution [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/zones/{zone}/batch [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        GET /v2/{account}/settings/alias_refresh [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        PUT /v2/{account}/settings/alias_refresh [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=200
        GET /v2/{account}/traffic/top [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        GET /v2/{account}/tsig_keys [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        POST /v2/{account}/tsig_keys [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=201
        DELETE /v2/{account}/tsig_keys/{key} [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=204
        GET /v2/{account}/status/components [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        GET /v2/{account}/status/incidents [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        POST /v2/{account}/status/incidents [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=201
        GET /v2/{account}/status/incidents/{incident} [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        PATCH /v2/{account}/status/incidents/{incident} [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=200
        POST /v2/{account}/status/incidents/{incident}/updates [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=201
        PUT /v2/{account}/status/incidents/{incident}/postmortem [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=400
        PATCH /v2/{account}/status/updates/{update} [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=200
        GET /v2/{account}/status/maintenances [operator member]: anon=401 other=404 member=403 owner=403 op-member=200 operator=200
        PATCH /v2/{account}/status/maintenances/{incident} [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=400
        POST /v2/{account}/status/maintenances/{incident}/cancel [operator]: anon=401 other=404 member=403 owner=403 op-member=403 operator=404
        GET /v2/{account}/status/subscriptions [member]: anon=401 other=404 member=200 owner=200 op-member=404 operator=404
        POST /v2/{account}/status/subscriptions [owner]: anon=401 other=404 member=403 owner=201 op-member=404 operator=404
        DELETE /v2/{account}/status/subscriptions/{subscription} [owner]: anon=401 other=404 member=403 owner=204 op-member=404 operator=404
        POST /v2/{account}/status/subscriptions/{subscription}/enable [owner]: anon=401 other=404 member=403 owner=200 op-member=404 operator=404
    "#]].assert_eq(&table);
}
