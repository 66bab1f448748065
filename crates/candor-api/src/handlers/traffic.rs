//! `GET /v2/{account}/traffic/top`: the zones receiving the most queries
//! in the last second, their NXDOMAIN ratio, rate limiter actions and shed
//! queries, and the attacks in progress (a Candor extension; the
//! operator's account only, since it names every customer's zones).

use axum::Json;
use axum::extract::State;
use candor_traffic::{Attack, Order, TopSnapshot, Totals, ZoneTraffic};
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::error::ApiError;
use crate::params::QueryParams;
use crate::views;

/// Zones listed when the client does not say.
const DEFAULT_LIMIT: usize = 20;

/// Totals as JSON.
fn totals(t: &Totals) -> Value {
    json!({"queries": t.queries, "nxdomain": t.nxdomain, "rrl": t.rrl, "shed": t.shed})
}

/// One zone as JSON.
fn zone(z: &ZoneTraffic) -> Value {
    json!({
        "zone": z.zone.trim_end_matches('.'),
        "qps": z.qps,
        "nxdomain_ratio": z.nxdomain_ratio,
        "rrl_per_second": z.rrl_per_second,
        "shed_per_second": z.shed_per_second,
        "totals": totals(&z.totals),
    })
}

/// One attack as JSON.
fn attack(a: &Attack) -> Value {
    json!({
        "zone": a.zone.trim_end_matches('.'),
        "kind": a.kind.as_str(),
        "since": a.since,
        "peak_qps": a.peak_qps,
        "qps": a.last.qps,
        "mitigation": a.mitigation(),
    })
}

/// The `order` parameter.
fn order(params: &QueryParams) -> Result<Order, ApiError> {
    match params.non_empty("order").as_deref() {
        None | Some("queries") => Ok(Order::Queries),
        Some("nxdomain") => Ok(Order::NxDomain),
        Some("rrl") => Ok(Order::Rrl),
        Some("shed") => Ok(Order::Shed),
        Some(other) => Err(ApiError::invalid_field(
            "order",
            format!("must be one of queries, nxdomain, rrl, shed; got `{other}`"),
        )),
    }
}

/// The `limit` parameter: 1 to 100, 20 by default.
fn limit(params: &QueryParams) -> Result<usize, ApiError> {
    match params.non_empty("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=candor_traffic::top::TOP).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_field(
                "limit",
                format!("must be an integer from 1 to 100, got `{raw}`"),
            )),
        },
    }
}

/// `GET /v2/{account}/traffic/top?order=queries|nxdomain|rrl|shed&limit=N`.
pub(crate) async fn top(
    State(state): State<AppState>,
    params: QueryParams,
) -> ApiResult<Json<Value>> {
    let (order, limit) = (order(&params)?, limit(&params)?);
    let Some(traffic) = &state.traffic else {
        return Ok(views::data(json!({
            "enabled": false,
            "zones": [],
            "attacks": [],
        })));
    };
    let snap: std::sync::Arc<TopSnapshot> = traffic.latest();
    let attacks = traffic.attacks();
    Ok(views::data(json!({
        "enabled": true,
        "at": snap.at,
        "seconds": snap.seconds,
        "total": totals(&snap.total),
        "no_zone": totals(&snap.no_zone),
        "tracked": snap.tracked,
        "floor": snap.floor,
        "capacity": snap.capacity,
        "limited": snap.limited,
        "order": match order {
            Order::Queries => "queries",
            Order::NxDomain => "nxdomain",
            Order::Rrl => "rrl",
            Order::Shed => "shed",
        },
        "zones": snap.top(order, limit).into_iter().map(zone).collect::<Vec<_>>(),
        "attacks": attacks.iter().map(attack).collect::<Vec<_>>(),
    })))
}
