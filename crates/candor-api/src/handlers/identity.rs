//! `whoami` and `accounts`: who the token belongs to.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::ApiResult;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Target};
use crate::views;

/// `GET /v2/whoami`: the token's account, and the user it acts for (null
/// for account tokens, as for DNSimple's account access tokens).
pub(crate) async fn whoami(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let account = own_account(&state, &caller).await?;
    let user = match caller.user_id {
        Some(id) => state
            .read(Target::default(), move |store| {
                Ok(store.user(id)?.map(|u| views::user(&u)))
            })
            .await?
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    Ok(views::data(json!({ "user": user, "account": account })))
}

/// `GET /v2/accounts`: the one account the token may see; for the
/// operator, every account (with `suspended_at`).
pub(crate) async fn accounts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    if caller.is_operator() {
        let all = state
            .read(Target::default(), |store| store.accounts())
            .await?;
        return Ok(views::data(all.iter().map(views::account).collect()));
    }
    let account = own_account(&state, &caller).await?;
    Ok(views::data(json!([account])))
}

/// The caller's account as JSON. A token whose account is gone no longer
/// authenticates anyone.
async fn own_account(state: &AppState, caller: &Caller) -> ApiResult<Value> {
    let id = caller.account_id;
    let account = state
        .read(Target::default(), move |store| {
            Ok(store.account(id)?.map(|a| views::account(&a)))
        })
        .await?;
    account.ok_or_else(ApiError::unauthorized)
}
