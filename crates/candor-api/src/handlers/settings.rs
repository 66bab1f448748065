//! Server settings that only the operator may change: the ALIAS refresh
//! switch (a Candor extension; DNSimple has no such endpoint).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::body::JsonBody;
use crate::error::Target;
use crate::views;

/// The store setting behind the switch.
const ALIAS_REFRESH: &str = "alias_refresh";

/// `PUT …/settings/alias_refresh` body.
#[derive(Debug, Deserialize)]
pub(crate) struct AliasRefresh {
    /// `false` serves cached ALIAS answers only and sends nothing upstream.
    enabled: bool,
}

/// The switch's state as JSON.
fn view(value: Option<&str>) -> Json<Value> {
    views::data(json!({ "alias_refresh": value != Some("off") }))
}

/// `GET /v2/{account}/settings/alias_refresh`.
pub(crate) async fn show(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let value = state
        .read(Target::default(), |store| store.setting(ALIAS_REFRESH))
        .await?;
    Ok(view(value.as_deref()))
}

/// `PUT /v2/{account}/settings/alias_refresh` with `{"enabled": bool}`;
/// running servers follow within a second.
pub(crate) async fn update(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AliasRefresh>,
) -> ApiResult<Json<Value>> {
    let value = if body.enabled { "on" } else { "off" };
    state
        .read(Target::default(), move |store| {
            store.set_setting(ALIAS_REFRESH, value)
        })
        .await?;
    Ok(view(Some(value)))
}
