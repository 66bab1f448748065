//! DNSSEC per domain, shaped like DNSimple's: `GET|POST|DELETE
//! /v2/{account}/domains/{domain}/dnssec` and the delegation signer
//! records to give the registrar, `GET .../ds_records`.
//!
//! Enabling makes and stores the zone's signing key (ECDSA P-256, a
//! combined signing key); the name servers sign answers with it from
//! issue 12's serving stage on (docs/dnssec.md).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_dnssec::Algorithm;
use candor_store::{DnssecState, DsRecordInfo};
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;

/// The DNSSEC state as DNSimple shows it.
fn view(state: &DnssecState) -> Value {
    json!({
        "enabled": state.enabled,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
    })
}

/// A DS record as DNSimple shows it.
fn ds_view(ds: &DsRecordInfo) -> Value {
    json!({
        "id": ds.id,
        "domain_id": ds.domain_id,
        "algorithm": ds.algorithm,
        "digest": ds.digest,
        "digest_type": ds.digest_type,
        "keytag": ds.keytag,
        "public_key": ds.public_key,
        "created_at": ds.created_at,
        "updated_at": ds.updated_at,
    })
}

/// `GET /v2/{account}/domains/{domain}/dnssec`: whether it is enabled.
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let dnssec = state
        .read(target, move |store| store.dnssec(account, &domain))
        .await?;
    Ok(views::data(view(&dnssec)))
}

/// `POST /v2/{account}/domains/{domain}/dnssec`: makes the zone's key;
/// 201 with the state; 409 if it is enabled already.
pub(crate) async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    // The zone moves to a new serial, signed, published before answering.
    let dnssec = state
        .write(target, move |store| {
            store.enable_dnssec(account, &domain, Algorithm::EcdsaP256Sha256, &actor)
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(view(&dnssec))))
}

/// `DELETE /v2/{account}/domains/{domain}/dnssec`: deletes the zone's
/// keys; 204; 428 if DNSSEC is not enabled, as on DNSimple.
pub(crate) async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let check = domain.clone();
    let enabled = state
        .read(target.clone(), move |store| {
            Ok(store.dnssec(account, &check)?.enabled)
        })
        .await?;
    if !enabled {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "DNSSEC is not enabled for this domain",
        ));
    }
    // The zone moves to a new serial, unsigned, published before
    // answering. (Disabled by someone else in between: 409.)
    state
        .write(target, move |store| {
            Ok(((), store.disable_dnssec(account, &domain, &actor)?))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/{account}/domains/{domain}/ds_records`: the DS records to give
/// the registrar (none while DNSSEC is off), in one page.
pub(crate) async fn ds_records(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let records = state
        .read(target, move |store| store.ds_records(account, &domain))
        .await?;
    let count = records.len();
    Ok(Json(json!({
        "data": records.iter().map(ds_view).collect::<Vec<Value>>(),
        "pagination": {
            "current_page": 1,
            "per_page": count.max(1),
            "total_entries": count,
            "total_pages": 1,
        },
    })))
}
