//! Zones: listing, details, the zone file, and (a Candor extension) zone
//! file import.

use axum::Json;
use axum::extract::State;
use candor_store::{Page, ZoneInfo, ZoneQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body::JsonBody;
use crate::error::Target;
use crate::params::{PathParams, QueryParams};
use crate::views;

/// Body of `PUT /v2/{account}/zones/{zone}/file`.
#[derive(Debug, Deserialize)]
pub(crate) struct ImportZone {
    /// RFC 1035 zone file text; relative names are relative to the zone.
    zone_file: String,
}

/// `GET /v2/{account}/zones`: filter `name_like`, `sort`, pagination.
pub(crate) async fn list(
    State(state): State<AppState>,
    scope: AccountScope,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let page = list_page(&state, scope, &query).await?;
    Ok(views::page(&page, views::zone))
}

/// One page of the caller's zones, as `zones` and `domains` list them.
pub(crate) async fn list_page(
    state: &AppState,
    scope: AccountScope,
    query: &QueryParams,
) -> ApiResult<Page<ZoneInfo>> {
    let account = scope.id;
    let (page, per_page) = query.pagination()?;
    let q = ZoneQuery {
        name_like: query.non_empty("name_like"),
        sort: query.non_empty("sort"),
        page,
        per_page,
    };
    state
        .read(Target::default(), move |store| store.zones(account, &q))
        .await
}

/// `GET /v2/{account}/zones/{zone}` (name or id).
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let info = state
        .read(target, move |store| store.zone(account, &zone))
        .await?;
    Ok(views::data(views::zone(&info)))
}

/// `GET /v2/{account}/zones/{zone}/file`: `{"data": {"zone": "..."}}`.
pub(crate) async fn file(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let text = state
        .read(target, move |store| store.export_zone_file(account, &zone))
        .await?;
    Ok(views::data(json!({ "zone": text })))
}

/// `PUT /v2/{account}/zones/{zone}/file` (Candor extension): replaces the
/// zone's records with those of a zone file and publishes the result.
pub(crate) async fn import(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    JsonBody(body): JsonBody<ImportZone>,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let actor = caller.actor();
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let data = state
        .write(target, move |store| {
            let (summary, change) = store.import_zone_file(
                account,
                &zone,
                body.zone_file.as_bytes(),
                &actor,
                &mut |_: usize| {},
            )?;
            Ok((views::import(&change.zone, &summary), change))
        })
        .await?;
    Ok(views::data(data))
}
