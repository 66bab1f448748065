//! DNSSEC per domain, shaped like DNSimple's: `GET|POST|DELETE
//! /v2/{account}/domains/{domain}/dnssec` and the delegation signer
//! records to give the registrar, `GET .../ds_records`.
//!
//! Enabling makes and stores the zone's signing key (ECDSA P-256, a
//! combined signing key; with an optional body, `{"split_keys": true}`
//! makes a KSK and a ZSK instead and `"algorithm": "ED25519"` picks
//! Ed25519); the name servers sign answers with it at once,
//! and its DS is offered (`state` of each DS record) once the signed zone
//! has been served long enough. Disabling goes through the safe states
//! (CDS/CDNSKEY DELETE until the parent's DS is gone: 202), or at once
//! with `?force=true` (204). `POST .../dnssec/rollover` starts a key
//! rollover (optional body `{"role": "ksk"}` to roll the KSK of split
//! keys) and `POST .../dnssec/ds_seen` says the parent's DS now
//! matches the zone's CDS (docs/dnssec.md, "Rollovers").

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use candor_dnssec::{Algorithm, KeyRole};
use candor_store::{DnssecState, DsRecordInfo, KeysStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body;
use crate::error::{ApiError, Target};
use crate::params::{PathParams, QueryParams};
use crate::views;

/// The DNSSEC state as DNSimple shows it, with Candor's key states when
/// they are known.
fn view(state: &DnssecState, keys: Option<&KeysStatus>) -> Value {
    let mut v = json!({
        "enabled": state.enabled,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
    });
    if let (Some(keys), Some(map)) = (keys, v.as_object_mut()) {
        let split = keys
            .keys
            .iter()
            .any(|k| k.role == "ksk" && k.state != "removed");
        map.insert("split_keys".into(), json!(split));
        map.insert("disabling_since".into(), json!(keys.disabling_since));
        map.insert(
            "next_event".into(),
            keys.next_event
                .as_ref()
                .map_or(Value::Null, |(at, what)| json!({"at": at, "what": what})),
        );
        map.insert(
            "keys".into(),
            keys.keys
                .iter()
                .map(|k| {
                    json!({
                        "id": k.id,
                        "role": k.role,
                        "algorithm": k.algorithm.to_string(),
                        "keytag": k.key_tag.to_string(),
                        "state": k.state,
                        "ds": k.ds,
                        "published_at": k.published_at,
                        "active_at": k.active_at,
                        "retired_at": k.retired_at,
                        "removed_at": k.removed_at,
                    })
                })
                .collect::<Vec<Value>>()
                .into(),
        );
    }
    v
}

/// The state and key states of a domain.
fn full_view(
    store: &candor_store::Store,
    account: i64,
    domain: &str,
) -> Result<Value, candor_store::StoreError> {
    let state = store.dnssec(account, domain)?;
    let keys = store.dnssec_keys_status(account, domain)?;
    Ok(view(&state, keys.as_ref()))
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
        "state": ds.state,
    })
}

/// `GET /v2/{account}/domains/{domain}/dnssec`: whether it is enabled,
/// each key's state and the next event.
pub(crate) async fn show(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let dnssec = state
        .read(target, move |store| full_view(store, account, &domain))
        .await?;
    Ok(views::data(dnssec))
}

/// The optional body of `POST .../dnssec` (DNSimple sends none).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableBody {
    /// A KSK and a ZSK instead of one combined signing key.
    #[serde(default)]
    split_keys: bool,
    /// `ECDSAP256SHA256` (13, the default) or `ED25519` (15), by
    /// mnemonic or number.
    #[serde(default)]
    algorithm: Option<String>,
}

/// What `POST .../dnssec` asks for.
#[derive(Clone, Copy, Debug)]
struct EnableOptions {
    /// Whether a body was sent at all.
    given: bool,
    /// KSK + ZSK.
    split_keys: bool,
    /// The keys' algorithm.
    algorithm: Algorithm,
}

impl EnableOptions {
    /// Reads the optional body: empty is DNSimple's request (one ECDSA
    /// P-256 CSK); otherwise a JSON object with the fields above, each
    /// wrong one named in a 400.
    fn parse(bytes: &[u8]) -> Result<EnableOptions, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(EnableOptions {
                given: false,
                split_keys: false,
                algorithm: Algorithm::EcdsaP256Sha256,
            });
        }
        let b: EnableBody = body::parse(bytes)?;
        let algorithm = match b
            .algorithm
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("ECDSAP256SHA256" | "13") => Algorithm::EcdsaP256Sha256,
            Some("ED25519" | "15") => Algorithm::Ed25519,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "algorithm",
                    format!("{other:?} is not supported: use ECDSAP256SHA256 (13) or ED25519 (15)"),
                ));
            }
        };
        Ok(EnableOptions {
            given: true,
            split_keys: b.split_keys,
            algorithm,
        })
    }
}

/// The optional body of `POST .../dnssec/rollover`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloverBody {
    /// `csk`, `ksk` or `zsk`; by default the key that signs the data.
    #[serde(default)]
    role: Option<String>,
}

/// The role a rollover's optional body asks for (`None`: the default).
fn rollover_role(bytes: &[u8]) -> Result<Option<KeyRole>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let b: RolloverBody = body::parse(bytes)?;
    match b.role.as_deref() {
        None => Ok(None),
        Some("csk") => Ok(Some(KeyRole::Csk)),
        Some("ksk") => Ok(Some(KeyRole::Ksk)),
        Some("zsk") => Ok(Some(KeyRole::Zsk)),
        Some(other) => Err(ApiError::invalid_field(
            "role",
            format!("{other:?} is not a key role: use csk, ksk or zsk"),
        )),
    }
}

/// `POST /v2/{account}/domains/{domain}/dnssec`: makes the zone's keys
/// (optional body: `split_keys`, `algorithm`); 201 with the state; on a
/// zone being disabled, a POST without a body cancels that (201); 409 if
/// it is enabled already.
pub(crate) async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let options = EnableOptions::parse(&body)?;
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    // The zone moves to a new serial, signed, published before answering.
    let dnssec = state
        .write(target, move |store| {
            let disabling = store
                .dnssec_keys_status(account, &domain)?
                .is_some_and(|k| k.disabling_since.is_some());
            let change = if disabling {
                if options.given {
                    return Err(candor_store::StoreError::Conflict(format!(
                        "DNSSEC is being disabled for {domain}: a POST without a body \
                         cancels that and keeps its keys; to change the keys, let the \
                         disable finish (or DELETE with ?force=true) and enable again"
                    )));
                }
                store.dnssec_cancel_disable(account, &domain, &actor)?
            } else {
                store
                    .enable_dnssec_with(
                        account,
                        &domain,
                        options.algorithm,
                        options.split_keys,
                        &actor,
                    )?
                    .1
            };
            Ok((full_view(store, account, &domain)?, change))
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(dnssec)))
}

/// `DELETE /v2/{account}/domains/{domain}/dnssec`: asks the parent to
/// remove the DS (CDS/CDNSKEY DELETE), the zone staying signed until it
/// is gone (202 with the state); with `?force=true`, serves the zone
/// unsigned and deletes its keys at once (204); 428 if DNSSEC is not
/// enabled, as on DNSimple; 409 if it is being disabled already.
pub(crate) async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    query: QueryParams,
) -> ApiResult<Response> {
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
    let force = match query.get("force").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request("force: must be true or false"));
        }
    };
    // The zone moves to a new serial (CDS DELETE, or unsigned), published
    // before answering. (Disabled by someone else in between: 409.)
    let dnssec = state
        .write(target, move |store| {
            if force {
                let change = store.disable_dnssec(account, &domain, &actor)?;
                return Ok((Value::Null, change));
            }
            let change = store.dnssec_start_disable(account, &domain, &actor)?;
            Ok((full_view(store, account, &domain)?, change))
        })
        .await?;
    if dnssec.is_null() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((StatusCode::ACCEPTED, views::data(dnssec)).into_response())
}

/// `POST /v2/{account}/domains/{domain}/dnssec/rollover`: publishes a new
/// key to replace the one that signs the zone's data, or the key of the
/// body's `role` (`candor serve` takes it through the rest); 201 with the state; 409 when a rollover
/// cannot start now (one is under way, the zone is being disabled).
pub(crate) async fn rollover(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = rollover_role(&body)?;
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    let dnssec = state
        .write(target, move |store| {
            let (_, change) = store.dnssec_rollover(account, &domain, role, &actor)?;
            Ok((full_view(store, account, &domain)?, change))
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(dnssec)))
}

/// `POST /v2/{account}/domains/{domain}/dnssec/ds_seen`: the parent's DS
/// records now match what the zone's CDS asks for; 200 with what that
/// told (`learned`) and the state; 409 when it tells nothing new.
pub(crate) async fn ds_seen(
    State(state): State<AppState>,
    caller: Caller,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let actor = caller.actor();
    let domain = path.get("domain").to_owned();
    let target = Target::domain(&domain);
    // Key states only: the zone does not change, nothing to publish
    // (`candor serve` moves the zone on when the waits are over).
    let dnssec = state
        .read(target, move |store| {
            let learned = store.dnssec_ds_seen(account, &domain, &actor)?;
            let mut v = full_view(store, account, &domain)?;
            if let Some(map) = v.as_object_mut() {
                map.insert("learned".into(), json!(learned));
            }
            Ok(v)
        })
        .await?;
    Ok(views::data(dnssec))
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
