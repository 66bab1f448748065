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
    let listed: Vec<Value> = secondaries
        .addrs
        .iter()
        .zip(replies)
        .map(|(addr, reply)| secondary_entry(secondaries, *addr, &name, serial, reply))
        .collect();
    let all_current = listed.iter().all(|e| e["state"] == "current");
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

/// One secondary's entry: `address`, `serial` (or null), `state`
/// (`current`, `behind`, `missing`: answers without the zone, `silent`: no
/// answer), `serials_behind` and `lag_seconds` (null when not known).
fn secondary_entry(
    secondaries: &crate::Secondaries,
    addr: std::net::SocketAddr,
    zone: &Name,
    serial: u32,
    reply: Reply,
) -> Value {
    let address = addr.to_string();
    let (theirs, state) = match reply {
        Reply::Serial(s) if s == serial => (Some(s), "current"),
        Reply::Serial(s) => (Some(s), "behind"),
        Reply::NoSoa => (None, "missing"),
        Reply::Silent => {
            return json!({
                "address": address, "serial": null, "state": "silent",
                "serials_behind": null, "lag_seconds": null,
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
        "address": address,
        "serial": theirs,
        "state": state,
        "serials_behind": behind,
        "lag_seconds": seconds,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Secondaries, SecondaryLag};

    #[test]
    fn each_reply_becomes_a_state_with_its_lag() {
        // The primary's timeline says: serial 7 is 40 s behind, a zone
        // not served there since 90 s.
        let secondaries = Secondaries {
            addrs: Vec::new(),
            lag: Arc::new(|_, serial| {
                Some(match serial {
                    Some(s) => SecondaryLag {
                        serials: Some(10 - s),
                        seconds: 40,
                    },
                    None => SecondaryLag {
                        serials: None,
                        seconds: 90,
                    },
                })
            }),
        };
        let addr: std::net::SocketAddr = "192.0.2.2:53".parse().expect("addr");
        let zone = Name::from_text("example.com.", None).expect("name");
        let entry = |reply| secondary_entry(&secondaries, addr, &zone, 10, reply);
        assert_eq!(
            entry(Reply::Serial(10)),
            json!({"address": "192.0.2.2:53", "serial": 10, "state": "current",
                   "serials_behind": 0, "lag_seconds": 0})
        );
        assert_eq!(
            entry(Reply::Serial(7)),
            json!({"address": "192.0.2.2:53", "serial": 7, "state": "behind",
                   "serials_behind": 3, "lag_seconds": 40})
        );
        assert_eq!(
            entry(Reply::NoSoa),
            json!({"address": "192.0.2.2:53", "serial": null, "state": "missing",
                   "serials_behind": null, "lag_seconds": 90})
        );
        assert_eq!(
            entry(Reply::Silent),
            json!({"address": "192.0.2.2:53", "serial": null, "state": "silent",
                   "serials_behind": null, "lag_seconds": null})
        );
    }
}
