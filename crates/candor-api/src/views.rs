//! The JSON objects of DNSimple API v2, built from the store's types.

use axum::Json;
use candor_store::{Account, ImportSummary, Page, RecordInfo, User, ZoneInfo};
use serde_json::{Value, json};

/// Plan reported for every account.
pub(crate) const PLAN: &str = "candor";

/// `{"data": value}`.
pub(crate) fn data(value: Value) -> Json<Value> {
    Json(json!({ "data": value }))
}

/// `{"data": [...], "pagination": {...}}` for one page of a list.
pub(crate) fn page<T>(page: &Page<T>, view: impl Fn(&T) -> Value) -> Json<Value> {
    let items: Vec<Value> = page.items.iter().map(view).collect();
    Json(json!({
        "data": items,
        "pagination": {
            "current_page": page.current_page,
            "per_page": page.per_page,
            "total_entries": page.total_entries,
            "total_pages": page.total_pages,
        },
    }))
}

/// An account, as in `whoami` and `accounts`.
pub(crate) fn user(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    })
}

/// An account.
pub(crate) fn account(account: &Account) -> Value {
    json!({
        "id": account.id,
        "email": account.email,
        "plan_identifier": PLAN,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
        "suspended_at": account.suspended_at,
    })
}

/// A zone. Candor has no secondary zones and every zone is served.
pub(crate) fn zone(zone: &ZoneInfo) -> Value {
    json!({
        "id": zone.id,
        "account_id": zone.account_id,
        "name": zone.name,
        "reverse": zone.reverse,
        "secondary": false,
        "last_transferred_at": null,
        "active": true,
        "created_at": zone.created_at,
        "updated_at": zone.updated_at,
    })
}

/// A domain: DNSimple's view of a hosted zone (not registered with us, so
/// no registrant, expiry or renewal).
pub(crate) fn domain(zone: &ZoneInfo) -> Value {
    json!({
        "id": zone.id,
        "account_id": zone.account_id,
        "registrant_id": null,
        "name": zone.name,
        "unicode_name": zone.name,
        "state": "hosted",
        "auto_renew": false,
        "private_whois": false,
        "expires_on": null,
        "expires_at": null,
        "created_at": zone.created_at,
        "updated_at": zone.updated_at,
    })
}

/// A zone record. `zone_id` is the zone's name, as on DNSimple.
pub(crate) fn record(record: &RecordInfo) -> Value {
    json!({
        "id": record.id,
        "zone_id": record.zone_name,
        "parent_id": null,
        "name": record.name,
        "content": record.content,
        "ttl": record.ttl,
        "priority": record.priority,
        "type": record.rtype,
        "regions": record.regions,
        "system_record": record.system_record,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}

/// The answer to a zone-file import: the zone and what changed.
pub(crate) fn import(zone_info: &ZoneInfo, summary: &ImportSummary) -> Value {
    json!({
        "zone": zone(zone_info),
        "records": summary.records,
        "removed": summary.removed,
    })
}
