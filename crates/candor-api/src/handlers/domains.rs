//! Domains: DNSimple creates and deletes hosted zones through these, so
//! Candor does too. A domain here is a zone seen from the registrar side.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body::JsonBody;
use crate::error::Target;
use crate::params::{PathParams, QueryParams};
use crate::views;

/// Body of `POST /v2/{account}/domains`.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateDomain {
    /// The zone's apex, like `example.com`.
    name: String,
}

/// `GET /v2/{account}/domains`: filter `name_like`, `sort`, pagination.
pub(crate) async fn list(
    State(state): State<AppState>,
    scope: AccountScope,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let page = super::zones::list_page(&state, scope, &query).await?;
    Ok(views::page(&page, views::domain))
}

/// `POST /v2/{account}/domains`: creates the zone, with its SOA and NS
/// records, and publishes it; 201 with the domain.
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    JsonBody(body): JsonBody<CreateDomain>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let account = scope.id;
    let actor = caller.actor();
    let target = Target::domain(&body.name);
    let domain = state
        .write(target, move |store| {
            let change = store.create_zone(account, &body.name, &actor)?;
            Ok((views::domain(&change.zone), change))
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(domain)))
}

/// `GET /v2/{account}/domains/{domain}` (name or id).
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let zone = state
        .read(target, move |store| store.zone(account, &domain))
        .await?;
    Ok(views::data(views::domain(&zone)))
}

/// `DELETE /v2/{account}/domains/{domain}`: deletes the zone and stops
/// serving it; 204.
pub(crate) async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    state
        .write(target, move |store| {
            Ok(((), store.delete_zone(account, &domain, &actor)?))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
