//! `GET /v2/{account}/audit_log`: who changed what in the account, when
//! and from where (Candor extension; owners).

use axum::Json;
use axum::extract::State;
use candor_store::{AuditEntry, AuditQuery};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ApiResult;
use crate::auth::AccountScope;
use crate::error::{ApiError, Target};
use crate::params::QueryParams;
use crate::{AppState, views};

/// One entry as JSON.
fn entry(e: &AuditEntry) -> Value {
    json!({
        "id": e.id,
        "account_id": e.account_id,
        "action": e.action,
        "target": e.target,
        "detail": e.detail,
        "via": e.via,
        "token_id": e.token_id,
        "token_name": e.token_name,
        "user_email": e.user_email,
        "remote": e.remote,
        "created_at": e.at,
    })
}

/// The account's audit log, newest first, paginated like DNSimple's lists
/// (`page`, `per_page`); `since` (RFC 3339) keeps entries at or after it.
pub(crate) async fn list(
    State(state): State<AppState>,
    scope: AccountScope,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let (page, per_page) = query.pagination()?;
    let since = match query.non_empty("since") {
        Some(raw) => Some(
            OffsetDateTime::parse(raw.trim(), &Rfc3339)
                .map(OffsetDateTime::unix_timestamp)
                .map_err(|_| {
                    ApiError::invalid_field(
                        "since",
                        format!("{raw:?} is not an RFC 3339 time, like 2026-11-26T11:03:05Z"),
                    )
                })?,
        ),
        None => None,
    };
    let q = AuditQuery {
        account_id: Some(scope.id),
        since,
        page,
        per_page,
    };
    let log = state
        .read(Target::default(), move |store| store.audit(&q))
        .await?;
    Ok(views::page(&log, entry))
}
