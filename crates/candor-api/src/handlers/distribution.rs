//! Distribution checks: whether every Candor name server serves the
//! zone's current serial.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_wire::Name;
use serde_json::{Value, json};

use super::ApiResult;
use crate::auth::AccountScope;
use crate::distribution::{Distribution, check};
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;
use crate::{AppState, ZoneNote};

/// `GET .../zones/{zone}/distribution`.
pub(crate) async fn zone(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let zone = path.get("zone").to_owned();
    let target = Target::zone(&zone);
    let notes = state.zone_notes.clone();
    let (info, notes) = state
        .read(target, move |store| {
            let info = store.zone(account, &zone)?;
            let notes = notes(store, &info.name);
            Ok((info, notes))
        })
        .await?;
    answer(&state, &info.name, info.serial, &notes).await
}

/// `GET .../zones/{zone}/records/{record}/distribution`. The zone is
/// published as a whole, so the record is distributed exactly when its
/// zone's current serial is.
pub(crate) async fn record(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let id = path.record_id()?;
    let zone = path.get("zone").to_owned();
    let target = Target::record(&zone, id);
    let notes = state.zone_notes.clone();
    let (info, notes) = state
        .read(target, move |store| {
            store.record(account, &zone, id)?;
            let info = store.zone(account, &zone)?;
            let notes = notes(store, &info.name);
            Ok((info, notes))
        })
        .await?;
    answer(&state, &info.name, info.serial, &notes).await
}

/// Runs the check and answers like DNSimple: `{"distributed": bool}`, or
/// 504 when a name server did not answer. Candor adds `problems`: what is
/// wrong with how the zone is served (empty when nothing is).
async fn answer(
    state: &AppState,
    zone: &str,
    serial: u32,
    notes: &[ZoneNote],
) -> ApiResult<Json<Value>> {
    let problems: Vec<Value> = notes
        .iter()
        .map(|n| json!({ "code": n.code, "message": n.message }))
        .collect();
    let name = Name::from_text(zone, Some(&Name::root()))
        .map_err(|e| ApiError::internal(&format!("stored zone name {zone:?} is invalid: {e}")))?;
    match check(&state.nameservers, &name, serial).await {
        Distribution::Answered(distributed) => Ok(views::data(
            json!({ "distributed": distributed, "problems": problems }),
        )),
        Distribution::TimedOut => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Could not query zone, connection timed out",
        )),
    }
}
