//! Zone records: list, create, show, update, delete and batch changes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_store::{FieldError, RecordBatch, RecordInput, RecordPatch, RecordQuery, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body::JsonBody;
use crate::error::Target;
use crate::params::{PathParams, QueryParams};
use crate::views;

/// A record to create (`POST .../records`, batch `creates`).
#[derive(Debug, Deserialize)]
pub(crate) struct NewRecord {
    /// Owner relative to the zone; empty (the default) is the apex.
    #[serde(default)]
    name: String,
    /// Record type, like `A` or `MX`.
    #[serde(rename = "type")]
    rtype: String,
    /// Presentation-format content.
    content: String,
    /// TTL in seconds; the zone's default when absent.
    ttl: Option<u32>,
    /// MX/SRV priority.
    priority: Option<u16>,
    /// Regions; Candor serves every record everywhere.
    regions: Option<Vec<String>>,
}

impl NewRecord {
    /// The store's input.
    fn into_input(self) -> RecordInput {
        RecordInput {
            name: self.name,
            rtype: self.rtype,
            content: self.content,
            ttl: self.ttl,
            priority: self.priority,
            regions: self.regions,
        }
    }
}

/// Changes to a record (`PATCH .../records/{id}`); absent fields stay.
#[derive(Debug, Deserialize)]
pub(crate) struct RecordChanges {
    /// New owner relative to the zone.
    name: Option<String>,
    /// The type cannot change; clients that send the current one anyway
    /// are accepted.
    #[serde(rename = "type")]
    rtype: Option<String>,
    /// New content.
    content: Option<String>,
    /// New TTL.
    ttl: Option<u32>,
    /// New priority.
    priority: Option<u16>,
    /// New regions.
    regions: Option<Vec<String>>,
}

impl RecordChanges {
    /// The store's patch and the type the client asserted, if any.
    fn into_patch(self) -> (RecordPatch, Option<String>) {
        let patch = RecordPatch {
            name: self.name,
            content: self.content,
            ttl: self.ttl,
            priority: self.priority,
            regions: self.regions,
        };
        (patch, self.rtype)
    }
}

/// One update in a batch: the record id and its changes.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchUpdate {
    /// The record to change.
    id: i64,
    /// New owner relative to the zone.
    name: Option<String>,
    /// Must be the record's current type when given.
    #[serde(rename = "type")]
    rtype: Option<String>,
    /// New content.
    content: Option<String>,
    /// New TTL.
    ttl: Option<u32>,
    /// New priority.
    priority: Option<u16>,
    /// New regions.
    regions: Option<Vec<String>>,
}

/// One deletion in a batch.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchDelete {
    /// The record to delete.
    id: i64,
}

/// Body of `POST .../batch`; every list may be absent.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchBody {
    /// Records to create.
    #[serde(default)]
    creates: Vec<NewRecord>,
    /// Records to change.
    #[serde(default)]
    updates: Vec<BatchUpdate>,
    /// Records to delete.
    #[serde(default)]
    deletes: Vec<BatchDelete>,
}

/// `GET .../records`: filters `name` (exact, empty for the apex),
/// `name_like`, `type`; `sort`; pagination.
pub(crate) async fn list(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let (page, per_page) = query.pagination()?;
    let q = RecordQuery {
        name: query.get("name"),
        name_like: query.non_empty("name_like"),
        rtype: query.non_empty("type"),
        sort: query.non_empty("sort"),
        page,
        per_page,
    };
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let page = state
        .read(target, move |store| store.records(account, &zone, &q))
        .await?;
    Ok(views::page(&page, views::record))
}

/// `POST .../records`: 201 with the record, once the zone is published.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    JsonBody(body): JsonBody<NewRecord>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let account = scope.id;
    let actor = caller.actor();
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let input = body.into_input();
    let record = state
        .write(target, move |store| {
            let (record, change) = store.create_record(account, &zone, &input, &actor)?;
            Ok((views::record(&record), change))
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(record)))
}

/// `GET .../records/{record}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let id = path.record_id()?;
    let zone = path.get("zone").to_owned();
    let target = Target::record(&zone, id);
    let record = state
        .read(target, move |store| store.record(account, &zone, id))
        .await?;
    Ok(views::data(views::record(&record)))
}

/// `PATCH .../records/{record}`: 200 with the changed record.
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    JsonBody(body): JsonBody<RecordChanges>,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let id = path.record_id()?;
    let actor = caller.actor();
    let zone = path.get("zone").to_owned();
    let target = Target::record(&zone, id);
    let (patch, rtype) = body.into_patch();
    let record = state
        .write(target, move |store| {
            if let Some(rtype) = &rtype {
                check_type(&store.record(account, &zone, id)?.rtype, rtype, "type")?;
            }
            let (record, change) = store.update_record(account, &zone, id, &patch, &actor)?;
            Ok((views::record(&record), change))
        })
        .await?;
    Ok(views::data(record))
}

/// `DELETE .../records/{record}`: 204.
pub(crate) async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let account = scope.id;
    let id = path.record_id()?;
    let actor = caller.actor();
    let zone = path.get("zone").to_owned();
    let target = Target::record(&zone, id);
    state
        .write(target, move |store| {
            Ok(((), store.delete_record(account, &zone, id, &actor)?))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../batch`: creates, updates and deletes in one transaction, all
/// or nothing; 200 with what was done.
pub(crate) async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    JsonBody(body): JsonBody<BatchBody>,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let actor = caller.actor();
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let deletes: Vec<i64> = body.deletes.iter().map(|d| d.id).collect();
    let creates = body.creates.len();
    let mut asserted = Vec::new();
    let mut updates = Vec::with_capacity(body.updates.len());
    for (index, update) in body.updates.into_iter().enumerate() {
        if let Some(rtype) = update.rtype {
            asserted.push((index, update.id, rtype));
        }
        let patch = RecordPatch {
            name: update.name,
            content: update.content,
            ttl: update.ttl,
            priority: update.priority,
            regions: update.regions,
        };
        updates.push((update.id, patch));
    }
    let batch = RecordBatch {
        creates: body
            .creates
            .into_iter()
            .map(NewRecord::into_input)
            .collect(),
        updates,
        deletes,
    };
    let data = state
        .write(target, move |store| {
            for (index, id, rtype) in &asserted {
                let current = store.record(account, &zone, *id)?;
                check_type(&current.rtype, rtype, &format!("updates[{index}].type"))?;
            }
            let (records, change) = store.batch(account, &zone, &batch, &actor)?;
            let (created, updated) = records.split_at(creates.min(records.len()));
            let data = json!({
                "creates": created.iter().map(views::record).collect::<Vec<_>>(),
                "updates": updated.iter().map(views::record).collect::<Vec<_>>(),
                "deletes": batch.deletes.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
            });
            Ok((data, change))
        })
        .await?;
    Ok(views::data(data))
}

/// Refuses a type change: records keep their type, as on DNSimple.
fn check_type(current: &str, asked: &str, field: &str) -> Result<(), StoreError> {
    if current.eq_ignore_ascii_case(asked) {
        Ok(())
    } else {
        Err(StoreError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: format!("cannot be changed from {current} to {asked}"),
        }]))
    }
}
