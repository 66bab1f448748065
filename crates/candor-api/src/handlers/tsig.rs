//! TSIG keys for zone transfers and NOTIFY (a Candor extension): the
//! server's, so only the operator's account may list, create or delete
//! them. A new key's secret is in the creation response only; running
//! servers pick keys up within a second.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_store::TsigKeyInfo;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::body::JsonBody;
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;

/// `POST …/tsig_keys` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewKey {
    /// The key's name (a domain name).
    name: String,
    /// `hmac-sha256` (the default), `hmac-sha384` or `hmac-sha512`.
    algorithm: Option<String>,
}

/// A key as JSON (never its secret).
fn view(key: &TsigKeyInfo) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "algorithm": key.algorithm,
        "created_at": key.created_at,
    })
}

/// `GET /v2/{account}/tsig_keys`.
pub(crate) async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let keys = state
        .read(Target::default(), |store| store.tsig_keys())
        .await?;
    Ok(views::data(Value::Array(keys.iter().map(view).collect())))
}

/// `POST /v2/{account}/tsig_keys` with `{"name": ..., "algorithm": ...}`:
/// 201 with the key and, this once, its `secret` (base64).
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewKey>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let algorithm = body.algorithm.unwrap_or_else(|| "hmac-sha256".to_owned());
    let (key, secret) = state
        .read(Target::default(), move |store| {
            store.create_tsig_key(&body.name, &algorithm)
        })
        .await?;
    let mut value = view(&key);
    value["secret"] = Value::String(secret);
    Ok((StatusCode::CREATED, views::data(value)))
}

/// `DELETE /v2/{account}/tsig_keys/{key}`: 204.
pub(crate) async fn destroy(
    State(state): State<AppState>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let name = path.get("key").to_owned();
    if name.is_empty() {
        return Err(ApiError::not_found("TSIG key not found"));
    }
    state
        .read(Target::default(), move |store| store.delete_tsig_key(&name))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
