//! Server settings that only the operator may change: the ALIAS refresh
//! switch (a Candor extension; DNSimple has no such endpoint).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;

/// The store setting behind the switch.
const ALIAS_REFRESH: &str = "alias_refresh";

/// `PUT …/settings/alias_refresh` body.
#[derive(Debug, Deserialize)]
pub(crate) struct AliasRefresh {
    /// `false` serves cached ALIAS answers only and sends nothing upstream.
    enabled: bool,
}

/// The caller's account, which must be the operator's: the installation's
/// first account. Other accounts get 403: server settings and the status
/// page affect every zone.
pub(crate) async fn operator(
    state: &AppState,
    caller: &Caller,
    path: &PathParams,
) -> ApiResult<i64> {
    let account = caller.account(path.get("account"))?;
    let first = state
        .read(Target::default(), |store| {
            Ok(store.accounts()?.first().map(|a| a.id))
        })
        .await?;
    if first != Some(account) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Only the operator's account (the first account) may change server settings or the status page",
        ));
    }
    Ok(account)
}

/// The switch's state as JSON.
fn view(value: Option<&str>) -> Json<Value> {
    views::data(json!({ "alias_refresh": value != Some("off") }))
}

/// `GET /v2/{account}/settings/alias_refresh`.
pub(crate) async fn show(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    operator(&state, &caller, &path).await?;
    let value = state
        .read(Target::default(), |store| store.setting(ALIAS_REFRESH))
        .await?;
    Ok(view(value.as_deref()))
}

/// `PUT /v2/{account}/settings/alias_refresh` with `{"enabled": bool}`;
/// running servers follow within a second.
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<AliasRefresh>,
) -> ApiResult<Json<Value>> {
    operator(&state, &caller, &path).await?;
    let value = if body.enabled { "on" } else { "off" };
    state
        .read(Target::default(), move |store| {
            store.set_setting(ALIAS_REFRESH, value)
        })
        .await?;
    Ok(view(Some(value)))
}
