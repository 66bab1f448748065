//! Accounts, their tokens and their members (Candor extensions; DNSimple
//! manages these in its web interface).
//!
//! The operator creates, suspends and deletes customers' accounts under
//! `/v2/accounts`; an account's owners manage its tokens (a new token's
//! secret is in the creation response only) and its members under
//! `/v2/{account}/tokens` and `/v2/{account}/members`. The route table
//! says who may call each route; these handlers only do the work.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use candor_store::{Role, Store, TokenInfo, User};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::{AccountScope, Caller};
use crate::body::JsonBody;
use crate::error::{ApiError, Target};
use crate::params::PathParams;
use crate::views;

/// `POST /v2/accounts` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewAccount {
    /// The account's e-mail address (unique).
    email: String,
}

/// `POST /v2/{account}/tokens` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewToken {
    /// A name to recognise the token by.
    name: String,
    /// The member the token acts for; an account token (full access, as
    /// an owner) without it.
    user_id: Option<i64>,
}

/// `POST /v2/{account}/members` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewMember {
    /// The user's e-mail address; a user is created if there is none.
    email: String,
    /// `owner` or `member` (the default).
    role: Option<String>,
}

/// A path segment that must be an id; anything else names nothing (404).
fn id(path: &PathParams, name: &str, noun: &str) -> ApiResult<i64> {
    let raw = path.get(name);
    raw.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("{noun} `{raw}` not found")))
}

/// A token as JSON (never its secret).
fn token_view(token: &TokenInfo) -> Value {
    json!({
        "id": token.id,
        "account_id": token.account_id,
        "user_id": token.user_id,
        "name": token.name,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    })
}

/// A member as JSON: the user and their role.
fn member_view(user: &User, role: Role) -> Value {
    let mut value = views::user(user);
    value["role"] = json!(role.as_str());
    value
}

//----------- Accounts (the operator) -------------------------------------------

/// `POST /v2/accounts` with `{"email": ...}`: 201 with the new account.
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewAccount>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let account = state
        .read(Target::default(), move |store| {
            store.create_account(&body.email)
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(views::account(&account))))
}

/// `POST /v2/accounts/{customer}/suspend`: the account's zones keep being
/// served, its tokens may only read.
pub(crate) async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let customer = id(&path, "customer", "Account")?;
    let actor = caller.actor();
    let account = state
        .read(Target::default(), move |store| {
            store.suspend_account(customer, &actor)
        })
        .await?;
    Ok(views::data(views::account(&account)))
}

/// `POST /v2/accounts/{customer}/unsuspend`.
pub(crate) async fn unsuspend(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let customer = id(&path, "customer", "Account")?;
    let actor = caller.actor();
    let account = state
        .read(Target::default(), move |store| {
            store.unsuspend_account(customer, &actor)
        })
        .await?;
    Ok(views::data(views::account(&account)))
}

/// `DELETE /v2/accounts/{customer}`: deletes the account with its zones,
/// which stop being served before the 204 is sent.
pub(crate) async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let customer = id(&path, "customer", "Account")?;
    let actor = caller.actor();
    state
        .write_all(Target::default(), move |store: &Store| {
            store.delete_account(customer, &actor)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//----------- Tokens (owners) ---------------------------------------------------

/// `GET /v2/{account}/tokens`: the live tokens, never their secrets.
pub(crate) async fn tokens(
    State(state): State<AppState>,
    scope: AccountScope,
) -> ApiResult<Json<Value>> {
    let tokens = state
        .read(Target::default(), move |store| store.tokens(scope.id))
        .await?;
    Ok(views::data(tokens.iter().map(token_view).collect()))
}

/// `POST /v2/{account}/tokens` with `{"name": ..., "user_id": ...}`: 201
/// with the token and, this once, its `secret`.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    scope: AccountScope,
    caller: Caller,
    JsonBody(body): JsonBody<NewToken>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let actor = caller.actor();
    let (token, secret) = state
        .read(Target::default(), move |store| {
            store.create_token_by(scope.id, body.user_id, &body.name, &actor)
        })
        .await?;
    let mut value = token_view(&token);
    value["secret"] = json!(secret);
    Ok((StatusCode::CREATED, views::data(value)))
}

/// `DELETE /v2/{account}/tokens/{token}`: revokes the token; 204.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    scope: AccountScope,
    caller: Caller,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let token = id(&path, "token", "Token")?;
    let actor = caller.actor();
    state
        .read(Target::default(), move |store| {
            store.revoke_token_by(scope.id, token, &actor)
        })
        .await
        .map_err(|e| not_found_as(e, "Token", token))?;
    Ok(StatusCode::NO_CONTENT)
}

//----------- Members (owners manage, members read) -----------------------------

/// `GET /v2/{account}/members`: users and their roles.
pub(crate) async fn members(
    State(state): State<AppState>,
    scope: AccountScope,
) -> ApiResult<Json<Value>> {
    let members = state
        .read(Target::default(), move |store| store.members(scope.id))
        .await?;
    Ok(views::data(
        members.iter().map(|(u, r)| member_view(u, *r)).collect(),
    ))
}

/// `POST /v2/{account}/members` with `{"email": ..., "role": ...}`: makes
/// the user (created if new) a member, or changes their role; 201.
pub(crate) async fn add_member(
    State(state): State<AppState>,
    scope: AccountScope,
    JsonBody(body): JsonBody<NewMember>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = match body.role.as_deref() {
        None => Role::Member,
        Some(name) => Role::parse(name)
            .ok_or_else(|| ApiError::invalid_field("role", "must be owner or member"))?,
    };
    let user = state
        .read(Target::default(), move |store| {
            let user = match store.user_by_email(&body.email)? {
                Some(user) => user,
                None => store.create_user(&body.email)?,
            };
            store.add_member(scope.id, user.id, role)?;
            Ok(user)
        })
        .await?;
    Ok((StatusCode::CREATED, views::data(member_view(&user, role))))
}

/// `DELETE /v2/{account}/members/{user}`: ends the membership and revokes
/// the user's tokens in the account; 204.
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    scope: AccountScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let user = id(&path, "user", "User")?;
    state
        .read(Target::default(), move |store| {
            store.remove_member(scope.id, user)
        })
        .await
        .map_err(|e| not_found_as(e, "User", user))?;
    Ok(StatusCode::NO_CONTENT)
}

/// A store NotFound as "`noun` `id` not found"; other errors unchanged.
fn not_found_as(err: ApiError, noun: &str, id: i64) -> ApiError {
    if err.status == StatusCode::NOT_FOUND {
        ApiError::not_found(format!("{noun} `{id}` not found"))
    } else {
        err
    }
}
