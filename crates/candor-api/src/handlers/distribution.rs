//! Distribution checks: whether every Candor name server serves the
//! zone's current serial.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_wire::Name;
use serde_json::{Value, json};

use super::ApiResult;
use crate::auth::AccountScope;
use crate::distribution::{Distribution, Reply, ask_each, check};
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
/// 504 when one of our own name servers did not answer. Candor adds
/// `problems`: what is wrong with how the zone is served (empty when
/// nothing is), and `secondaries`: each secondary's serial (asked now,
/// over the wire) and its lag. `distributed` is true only when every
/// secondary serves the current serial too; a secondary that does not
/// answer makes it false (its entry says `silent`), not a 504.
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
    let secondaries = &state.secondaries;
    let (own, replies) = tokio::join!(
        check(&state.nameservers, &name, serial),
        ask_each(&secondaries.addrs, &name)
    );
    let mut all_current = true;
    let listed: Vec<Value> = secondaries
        .addrs
        .iter()
        .zip(replies)
        .map(|(addr, reply)| {
            let entry = secondary_entry(&state.secondaries, &name, serial, reply);
            all_current &= entry["state"] == "current";
            json!({
                "address": addr.to_string(),
                "serial": entry["serial"],
                "state": entry["state"],
                "serials_behind": entry["serials_behind"],
                "lag_seconds": entry["lag_seconds"],
            })
        })
        .collect();
    match own {
        Distribution::Answered(distributed) => Ok(views::data(json!({
            "distributed": distributed && all_current,
            "problems": problems,
            "secondaries": listed,
        }))),
        Distribution::TimedOut => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "Could not query zone, connection timed out",
        )),
    }
}

/// One secondary's entry: `serial` (or null), `state` (`current`,
/// `behind`, `missing`: answers without the zone, `silent`: no answer),
/// `serials_behind` and `lag_seconds` (null when not known).
fn secondary_entry(
    secondaries: &crate::Secondaries,
    zone: &Name,
    serial: u32,
    reply: Reply,
) -> Value {
    let (theirs, state) = match reply {
        Reply::Serial(s) if s == serial => (Some(s), "current"),
        Reply::Serial(s) => (Some(s), "behind"),
        Reply::NoSoa => (None, "missing"),
        Reply::Silent => {
            return json!({
                "serial": null, "state": "silent", "serials_behind": null, "lag_seconds": null,
            });
        }
    };
    let lag = (secondaries.lag)(zone, theirs);
    let behind = match (state, theirs) {
        ("current", _) => Some(0),
        (_, Some(s)) => Some(serial.wrapping_sub(s)),
        _ => None,
    };
    let seconds = match state {
        "current" => Some(0),
        _ => lag.map(|l| l.seconds),
    };
    json!({
        "serial": theirs,
        "state": state,
        "serials_behind": behind,
        "lag_seconds": seconds,
    })
}
