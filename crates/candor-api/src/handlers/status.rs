//! The status page (a Candor extension): components, incidents and
//! maintenance windows for the operator's account, and subscriptions to
//! the page's notifications for any account, scoped to its own zones.
//!
//! The status database is SQLite behind a mutex, so every call runs on the
//! blocking pool; after each successful write the database is unlocked and
//! [`crate::ApiState::status_changed`] is called, which wakes the notifier
//! and re-renders the page.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_status::db::{NewIncident, NewUpdate, StatusDb, StatusError, now, random_id};
use candor_status::model::{
    Channel, Component, ComponentStatus, Impact, IncidentStatus, IncidentUpdate, IncidentView,
    Subscriber, Timestamp, UpdateSource,
};
use candor_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body::JsonBody;
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;

/// Incidents listed by `GET …/status/incidents`.
const LIST_LIMIT: usize = 100;

/// Length of a generated webhook secret.
const SECRET_LEN: usize = 32;

//----------- Request bodies --------------------------------------------------

/// A component and the state an incident gives it.
#[derive(Debug, Deserialize)]
pub(crate) struct ComponentState {
    /// Component id (from `GET …/status/components`).
    id: i64,
    /// A component status name, like `major_outage`.
    status: String,
}

/// Body of `POST …/status/incidents`.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenIncident {
    /// Title.
    name: String,
    /// The first update's text.
    body: String,
    /// Initial status: `investigating` (the default) for incidents,
    /// `scheduled` (the default) for maintenance windows.
    status: Option<String>,
    /// Impact; derived from the components' states when absent.
    impact: Option<String>,
    /// Affected components.
    #[serde(default)]
    components: Vec<ComponentState>,
    /// Zones named as affected.
    #[serde(default)]
    zones: Vec<String>,
    /// Maintenance window start (RFC 3339).
    scheduled_for: Option<String>,
    /// Maintenance window end (RFC 3339).
    scheduled_until: Option<String>,
}

/// Body of `PATCH …/status/incidents/{incident}`.
#[derive(Debug, Deserialize)]
pub(crate) struct EditIncident {
    /// New title.
    name: Option<String>,
    /// New impact.
    impact: Option<String>,
}

/// Body of `POST …/status/incidents/{incident}/updates`.
#[derive(Debug, Deserialize)]
pub(crate) struct PostUpdate {
    /// The status the update sets.
    status: String,
    /// Text.
    body: String,
    /// New impact.
    impact: Option<String>,
    /// New affected components, replacing the old list.
    components: Option<Vec<ComponentState>>,
}

/// Body of `PATCH …/status/updates/{update}` and of
/// `PUT …/status/incidents/{incident}/postmortem`.
#[derive(Debug, Deserialize)]
pub(crate) struct Text {
    /// The text.
    body: String,
}

/// Body of `PATCH …/status/maintenances/{incident}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Reschedule {
    /// New start (RFC 3339).
    scheduled_for: String,
    /// New end (RFC 3339).
    scheduled_until: String,
}

/// Body of `POST …/status/maintenances/{incident}/cancel` (may be empty).
#[derive(Debug, Deserialize)]
pub(crate) struct Cancel {
    /// Why, for the timeline.
    body: Option<String>,
}

/// Body of `POST …/status/subscriptions`: exactly one of `webhook_url`
/// and `email`.
#[derive(Debug, Deserialize)]
pub(crate) struct Subscribe {
    /// Where to POST signed notifications.
    webhook_url: Option<String>,
    /// Where to e-mail notifications.
    email: Option<String>,
    /// Only incidents affecting these zones of the account.
    #[serde(default)]
    zones: Vec<String>,
}

//----------- Plumbing ----------------------------------------------------------

/// The status database, shared.
type Db = Arc<Mutex<StatusDb>>;

/// 404 when this server runs no status page.
fn not_running() -> ApiError {
    ApiError::not_found("The status page is not running on this server")
}

/// The status database, or the 404 saying there is none.
fn status_db(state: &AppState) -> ApiResult<Db> {
    state.status.clone().ok_or_else(not_running)
}

/// Maps a status database error to an answer; internal details are logged
/// and not sent.
fn status_error(err: StatusError) -> ApiError {
    match err {
        StatusError::Invalid { field, reason } => ApiError::invalid_field(field, reason),
        StatusError::NotFound(what) => {
            let mut chars = what.chars();
            let message = match chars.next() {
                Some(first) => format!("{}{} not found", first.to_uppercase(), chars.as_str()),
                None => "Not found".to_owned(),
            };
            ApiError::not_found(message)
        }
        other => ApiError::internal(&other.to_string()),
    }
}

/// Runs `f` on the status database on the blocking pool.
async fn read<T, F>(db: Db, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&StatusDb) -> Result<T, StatusError> + Send + 'static,
{
    let task = tokio::task::spawn_blocking(move || {
        // Transactions roll back when dropped, so a panic leaves the
        // database consistent and a poisoned lock usable.
        let guard = db.lock().unwrap_or_else(PoisonError::into_inner);
        f(&guard)
    });
    match task.await {
        Ok(result) => result.map_err(status_error),
        Err(join) => Err(ApiError::internal(&format!("status task failed: {join}"))),
    }
}

/// Runs the write `f` on the status database on the blocking pool and,
/// when it succeeds, calls the change hook with the database unlocked.
async fn write<T, F>(state: &AppState, db: Db, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut StatusDb) -> Result<T, StatusError> + Send + 'static,
{
    let changed = Arc::clone(&state.status_changed);
    let task = tokio::task::spawn_blocking(move || {
        let result = {
            let mut guard = db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        };
        if result.is_ok() {
            changed();
        }
        result
    });
    match task.await {
        Ok(result) => result.map_err(status_error),
        Err(join) => Err(ApiError::internal(&format!("status task failed: {join}"))),
    }
}

/// The database of the operator's routes, if the page runs (the route
/// table lets only the operator's account call them).
fn operator_db(state: &AppState) -> ApiResult<Db> {
    status_db(state)
}

/// Who the caller is, as updates and edits name them: the token's user's
/// e-mail address, else the token's name (never its secret).
async fn who(state: &AppState, caller: &Caller) -> ApiResult<String> {
    let (token, account, user) = (caller.token_id, caller.account_id, caller.user_id);
    let name = state
        .read(Target::default(), move |store| {
            if let Some(user) = user
                && let Some(user) = store.user(user)?
            {
                return Ok(Some(user.email));
            }
            Ok(store
                .tokens(account)?
                .into_iter()
                .find(|t| t.id == token)
                .map(|t| t.name))
        })
        .await?;
    Ok(name.unwrap_or_else(|| format!("token {token}")))
}

/// Parses a status-model name given in `field`.
fn parse<T>(field: &str, value: &str) -> ApiResult<T>
where
    T: std::str::FromStr<Err = candor_status::model::UnknownName>,
{
    value
        .parse()
        .map_err(|e: candor_status::model::UnknownName| {
            ApiError::invalid_field(field, e.to_string())
        })
}

/// Parses an optional status-model name given in `field`.
fn parse_opt<T>(field: &str, value: Option<&str>) -> ApiResult<Option<T>>
where
    T: std::str::FromStr<Err = candor_status::model::UnknownName>,
{
    value.map(|v| parse(field, v)).transpose()
}

/// Parses component states given in `field`.
fn component_states(
    field: &str,
    states: &[ComponentState],
) -> ApiResult<Vec<(i64, ComponentStatus)>> {
    states
        .iter()
        .enumerate()
        .map(|(i, c)| Ok((c.id, parse(&format!("{field}[{i}].status"), &c.status)?)))
        .collect()
}

/// Parses an RFC 3339 time given in `field`.
fn parse_time(field: &str, value: Option<&str>) -> ApiResult<Option<Timestamp>> {
    value
        .map(|v| {
            OffsetDateTime::parse(v.trim(), &Rfc3339)
                .map(OffsetDateTime::unix_timestamp)
                .map_err(|_| {
                    ApiError::invalid_field(
                        field,
                        format!("{v:?} is not an RFC 3339 time, like 2026-11-26T11:03:05Z"),
                    )
                })
        })
        .transpose()
}

/// Checks that a text field is not blank.
fn not_blank(field: &str, text: &str) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    Ok(())
}

/// The `{update}` or `{subscription}` segment as an id; anything else names
/// nothing, so it is a 404.
fn id_param(path: &PathParams, name: &str, noun: &str) -> ApiResult<i64> {
    let raw = path.get(name);
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("{noun} {raw} not found")))
}

//----------- Views -------------------------------------------------------------

/// A time as RFC 3339 UTC (`2026-11-26T11:03:05Z`).
fn rfc3339(ts: Timestamp) -> Value {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// An optional time as RFC 3339 or null.
fn rfc3339_opt(ts: Option<Timestamp>) -> Value {
    ts.map_or(Value::Null, rfc3339)
}

/// A component.
fn component_view(c: &Component) -> Value {
    json!({
        "id": c.id,
        "key": c.key,
        "name": c.name,
        "location": c.location,
        "description": c.description,
        "kind": c.kind.as_str(),
        "status": c.status.as_str(),
        "position": c.position,
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
    })
}

/// One update of an incident's timeline, with its earlier wordings.
fn update_view(u: &IncidentUpdate) -> Value {
    let (source, posted_by) = match &u.source {
        UpdateSource::Monitor => ("monitor", None),
        UpdateSource::Mitigation => ("mitigation", None),
        UpdateSource::Operator(name) => ("operator", Some(name.as_str())),
    };
    let revisions: Vec<Value> = u
        .revisions
        .iter()
        .map(|r| {
            json!({
                "body": r.body,
                "replaced_at": rfc3339(r.replaced_at),
                "replaced_by": r.replaced_by,
            })
        })
        .collect();
    json!({
        "id": u.id,
        "incident_id": u.incident_id,
        "status": u.status.as_str(),
        "body": u.body,
        "source": source,
        "posted_by": posted_by,
        "created_at": rfc3339(u.created_at),
        "edited_at": rfc3339_opt(u.edited_at()),
        "revisions": revisions,
    })
}

/// An incident or maintenance window with its timeline, newest first.
fn incident_view(view: &IncidentView) -> Value {
    let i = &view.incident;
    let components: Vec<Value> = i
        .components
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "status": c.status.as_str() }))
        .collect();
    json!({
        "id": i.id,
        "public_id": i.public_id,
        "name": i.name,
        "status": i.status.as_str(),
        "impact": i.impact.as_str(),
        "maintenance": i.maintenance,
        "automatic": i.automatic,
        "created_at": rfc3339(i.created_at),
        "updated_at": rfc3339(i.updated_at),
        "started_at": rfc3339(i.started_at),
        "monitoring_at": rfc3339_opt(i.monitoring_at),
        "resolved_at": rfc3339_opt(i.resolved_at),
        "scheduled_for": rfc3339_opt(i.scheduled_for),
        "scheduled_until": rfc3339_opt(i.scheduled_until),
        "zones": i.zones,
        "components": components,
        "postmortem": i.postmortem,
        "postmortem_at": rfc3339_opt(i.postmortem_at),
        "updates": view.updates.iter().map(update_view).collect::<Vec<_>>(),
    })
}

/// A subscription, never with its webhook secret.
fn subscription_view(s: &Subscriber) -> Value {
    let (kind, webhook_url, email) = match &s.channel {
        Channel::Webhook { url, .. } => ("webhook", Some(url.as_str()), None),
        Channel::Email { address } => ("email", None, Some(address.as_str())),
    };
    json!({
        "id": s.id,
        "type": kind,
        "webhook_url": webhook_url,
        "email": email,
        "account_id": s.account_id,
        "zones": s.zones,
        "created_at": rfc3339(s.created_at),
        "failures": s.failures,
        "disabled_at": rfc3339_opt(s.disabled_at),
        "disabled_reason": s.disabled_reason,
    })
}

//----------- Components and incidents (operator) -------------------------------

/// `GET /v2/{account}/status/components`.
pub(crate) async fn components(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let list = read(db, |db| db.components()).await?;
    Ok(views::data(list.iter().map(component_view).collect()))
}

/// `GET /v2/{account}/status/incidents`: the latest 100, newest first.
pub(crate) async fn incidents(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let list = read(db, |db| db.all_incidents(LIST_LIMIT)).await?;
    Ok(views::data(list.iter().map(incident_view).collect()))
}

/// `GET /v2/{account}/status/incidents/{incident}` (database or public id).
pub(crate) async fn incident(
    State(state): State<AppState>,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let id = path.get("incident").to_owned();
    let view = read(db, move |db| db.find_incident(&id)).await?;
    Ok(views::data(incident_view(&view)))
}

/// `POST /v2/{account}/status/incidents`: opens an incident, or schedules
/// maintenance when both `scheduled_for` and `scheduled_until` are given;
/// 201 with the incident.
pub(crate) async fn open_incident(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<OpenIncident>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let db = operator_db(&state)?;
    not_blank("name", &body.name)?;
    not_blank("body", &body.body)?;
    let scheduled_for = parse_time("scheduled_for", body.scheduled_for.as_deref())?;
    let scheduled_until = parse_time("scheduled_until", body.scheduled_until.as_deref())?;
    if scheduled_until.is_some() && scheduled_for.is_none() {
        return Err(ApiError::invalid_field(
            "scheduled_for",
            "a maintenance window needs a start",
        ));
    }
    let status = match body.status.as_deref() {
        Some(s) => parse("status", s)?,
        None if scheduled_for.is_some() => IncidentStatus::Scheduled,
        None => IncidentStatus::Investigating,
    };
    let new = NewIncident {
        name: body.name,
        status,
        impact: parse_opt("impact", body.impact.as_deref())?,
        automatic: false,
        started_at: None,
        scheduled_for,
        scheduled_until,
        components: component_states("components", &body.components)?,
        zones: body.zones,
        body: body.body,
        source: UpdateSource::Operator(who(&state, &caller).await?),
    };
    let written = write(&state, db, move |db| db.create_incident(&new, now())).await?;
    Ok((
        StatusCode::CREATED,
        views::data(incident_view(&written.incident)),
    ))
}

/// `PATCH /v2/{account}/status/incidents/{incident}` with `name` and/or
/// `impact`: the change is logged, nothing is lost.
pub(crate) async fn edit_incident(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<EditIncident>,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    if let Some(name) = &body.name {
        not_blank("name", name)?;
    }
    let impact: Option<Impact> = parse_opt("impact", body.impact.as_deref())?;
    let by = who(&state, &caller).await?;
    let id = path.get("incident").to_owned();
    let view = write(&state, db, move |db| {
        let found = db.find_incident(&id)?.incident.id;
        db.edit_incident(found, body.name.as_deref(), impact, &by, now())
    })
    .await?;
    Ok(views::data(incident_view(&view)))
}

/// `POST /v2/{account}/status/incidents/{incident}/updates`: a new entry
/// on the timeline; 201 with the incident.
pub(crate) async fn post_update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<PostUpdate>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let db = operator_db(&state)?;
    not_blank("body", &body.body)?;
    let update = NewUpdate {
        status: parse("status", &body.status)?,
        impact: parse_opt("impact", body.impact.as_deref())?,
        components: body
            .components
            .as_deref()
            .map(|c| component_states("components", c))
            .transpose()?,
        body: body.body,
        source: UpdateSource::Operator(who(&state, &caller).await?),
    };
    let id = path.get("incident").to_owned();
    let written = write(&state, db, move |db| {
        let found = db.find_incident(&id)?.incident.id;
        db.post_update(found, &update, now())
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        views::data(incident_view(&written.incident)),
    ))
}

/// `PATCH /v2/{account}/status/updates/{update}` with `body`: rewords an
/// update; the earlier wording is kept as a revision. Answers with the
/// incident.
pub(crate) async fn edit_update(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<Text>,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let update = id_param(&path, "update", "Update")?;
    not_blank("body", &body.body)?;
    let by = who(&state, &caller).await?;
    let view = write(&state, db, move |db| {
        db.edit_update(update, &body.body, &by, now())
    })
    .await?;
    Ok(views::data(incident_view(&view)))
}

/// `PUT /v2/{account}/status/incidents/{incident}/postmortem` with `body`:
/// attaches (or rewrites) the report of a closed incident.
pub(crate) async fn postmortem(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<Text>,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    not_blank("body", &body.body)?;
    let by = who(&state, &caller).await?;
    let id = path.get("incident").to_owned();
    let view = write(&state, db, move |db| {
        let found = db.find_incident(&id)?.incident.id;
        db.attach_postmortem(found, &body.body, &by, now())
    })
    .await?;
    Ok(views::data(incident_view(&view)))
}

//----------- Maintenance (operator) --------------------------------------------

/// `GET /v2/{account}/status/maintenances`: the windows not over yet,
/// soonest first.
pub(crate) async fn maintenances(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let list = read(db, |db| db.open_maintenance()).await?;
    Ok(views::data(list.iter().map(incident_view).collect()))
}

/// `PATCH /v2/{account}/status/maintenances/{incident}` with
/// `scheduled_for` and `scheduled_until`: moves a window that is not over
/// (logged; subscribers are told).
pub(crate) async fn reschedule(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    JsonBody(body): JsonBody<Reschedule>,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let from = parse_time("scheduled_for", Some(&body.scheduled_for))?.unwrap_or_default();
    let until = parse_time("scheduled_until", Some(&body.scheduled_until))?.unwrap_or_default();
    let by = who(&state, &caller).await?;
    let id = path.get("incident").to_owned();
    let written = write(&state, db, move |db| {
        let found = db.find_incident(&id)?.incident.id;
        db.reschedule_maintenance(found, from, until, &by, now())
    })
    .await?;
    Ok(views::data(incident_view(&written.incident)))
}

/// `POST /v2/{account}/status/maintenances/{incident}/cancel` with an
/// optional `body`: the window will not take place; it is completed with
/// an update saying so.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let db = operator_db(&state)?;
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<Cancel>(&body)
            .map_err(|e| ApiError::invalid_field("body", format!("not a JSON object: {e}")))?
            .body
    };
    let by = who(&state, &caller).await?;
    let id = path.get("incident").to_owned();
    let written = write(&state, db, move |db| {
        let found = db.find_incident(&id)?.incident.id;
        db.cancel_maintenance(found, reason.as_deref(), &by, now())
    })
    .await?;
    Ok(views::data(incident_view(&written.incident)))
}

//----------- Subscriptions (any account, its own) ------------------------------

/// `GET /v2/{account}/status/subscriptions`: the account's subscriptions,
/// without secrets.
pub(crate) async fn subscriptions(
    State(state): State<AppState>,
    scope: AccountScope,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let db = status_db(&state)?;
    let list = read(db, move |db| db.subscribers(Some(account))).await?;
    Ok(views::data(list.iter().map(subscription_view).collect()))
}

/// The host of an http(s) URL when it is an IP address literal. (Names
/// are checked when delivering: the notifier only connects to public
/// addresses they resolve to.)
fn literal_host(url: &str) -> Option<std::net::IpAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    host.parse().ok()
}

/// `POST /v2/{account}/status/subscriptions`: a webhook (its signing
/// secret is generated here and shown in this answer only) or an e-mail
/// address, optionally only for some of the account's zones; 201.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    scope: AccountScope,
    JsonBody(body): JsonBody<Subscribe>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let account = scope.id;
    let db = status_db(&state)?;
    let channel = match (body.webhook_url, body.email) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "email",
                "give either webhook_url or email, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid_field(
                "webhook_url",
                "webhook_url or email is required",
            ));
        }
        (Some(url), None) => {
            let url = url.trim().to_owned();
            if !state.webhook_allow_private
                && let Some(ip) = literal_host(&url).filter(|ip| !candor_notify::is_public(*ip))
            {
                return Err(ApiError::invalid_field(
                    "webhook_url",
                    format!("{ip} is not a public address; webhooks go to public addresses only"),
                ));
            }
            Channel::Webhook {
                url,
                secret: random_id(SECRET_LEN),
            }
        }
        (None, Some(address)) => Channel::Email {
            address: address.trim().to_owned(),
        },
    };
    let zones = own_zones(&state, account, body.zones).await?;
    let secret = match &channel {
        Channel::Webhook { secret, .. } => Some(secret.clone()),
        Channel::Email { .. } => None,
    };
    let subscriber = write(&state, db, move |db| {
        db.add_subscriber(&channel, Some(account), &zones, now())
    })
    .await
    .map_err(|mut e| {
        // The database calls the webhook's URL `url`; this body calls it
        // `webhook_url`.
        if let Some(reasons) = e.errors.remove("url") {
            e.errors.insert("webhook_url".to_owned(), reasons);
        }
        e
    })?;
    let mut view = subscription_view(&subscriber);
    if let (Some(secret), Some(object)) = (secret, view.as_object_mut()) {
        object.insert("secret".to_owned(), Value::String(secret));
    }
    Ok((StatusCode::CREATED, views::data(view)))
}

/// The canonical names of `zones`, each of which must be a zone of the
/// account in the store; the first that is not is a 400 naming it.
async fn own_zones(state: &AppState, account: i64, zones: Vec<String>) -> ApiResult<Vec<String>> {
    let checked = state
        .read(Target::default(), move |store| {
            let mut names = Vec::with_capacity(zones.len());
            for (i, zone) in zones.iter().enumerate() {
                match store.zone(account, zone) {
                    Ok(info) => names.push(Ok(info.name)),
                    Err(StoreError::NotFound(_)) => {
                        names.push(Err((i, zone.clone())));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(names)
        })
        .await?;
    checked
        .into_iter()
        .map(|r| {
            r.map_err(|(i, zone)| {
                ApiError::invalid_field(
                    &format!("zones[{i}]"),
                    format!("{zone} is not a zone of this account"),
                )
            })
        })
        .collect()
}

/// `DELETE /v2/{account}/status/subscriptions/{subscription}`: 204; other
/// accounts' subscriptions are not found.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let account = scope.id;
    let db = status_db(&state)?;
    let id = id_param(&path, "subscription", "Subscriber")?;
    write(&state, db, move |db| {
        db.remove_subscriber(id, Some(account), now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/{account}/status/subscriptions/{subscription}/enable`: turns a
/// subscription disabled after failed deliveries back on.
pub(crate) async fn enable_subscription(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let account = scope.id;
    let db = status_db(&state)?;
    let id = id_param(&path, "subscription", "Subscriber")?;
    let subscriber = write(&state, db, move |db| {
        db.enable_subscriber(id, Some(account))
    })
    .await?;
    Ok(views::data(subscription_view(&subscriber)))
}
