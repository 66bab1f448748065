//! Bearer-token authentication and rate limiting for every private route.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use candor_store::Actor;

use crate::AppState;
use crate::error::{ApiError, Target};
use crate::rate::Quota;

/// Who is calling: put into the request extensions by [`authenticate`].
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    /// The token's id.
    pub(crate) token_id: i64,
    /// The one account the token may see.
    pub(crate) account_id: i64,
    /// The user the token acts for, if any.
    pub(crate) user_id: Option<i64>,
    /// The client's IP address, when the server knows it.
    pub(crate) remote: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Only routes behind `authenticate` ask for a caller; without one
        // the request was not authenticated.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}

impl Caller {
    /// The audit-log actor for writes made by this caller.
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            token_id: Some(self.token_id),
            via: "api",
            remote: self.remote.clone(),
        }
    }

    /// Checks the `{account}` path segment: it must be the caller's own
    /// numeric account id. Anything else is reported as not found, so
    /// callers learn nothing about other accounts.
    pub(crate) fn account(&self, account: &str) -> Result<i64, ApiError> {
        match account.parse::<i64>() {
            Ok(id) if id == self.account_id => Ok(id),
            _ => Err(ApiError::account_not_found(account)),
        }
    }
}

/// Middleware: checks the bearer token, counts the request against the
/// token's hourly quota and adds the rate-limit headers to the response.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(secret) = bearer(req.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    let token = match state
        .read(Target::default(), move |store| store.authenticate(&secret))
        .await
    {
        Ok(Some(token)) => token,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(err) => return err.into_response(),
    };
    let quota = state.limiter.check(token.id);
    if !quota.allowed {
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded").into_response();
        add_rate_headers(response.headers_mut(), &quota);
        return response;
    }
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    req.extensions_mut().insert(Caller {
        token_id: token.id,
        account_id: token.account_id,
        user_id: token.user_id,
        remote,
    });
    let mut response = next.run(req).await;
    add_rate_headers(response.headers_mut(), &quota);
    response
}

/// The token from `Authorization: Bearer <token>` (the scheme is matched
/// without regard to case), if there is a non-empty one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Sets DNSimple's three rate-limit headers.
fn add_rate_headers(headers: &mut HeaderMap, quota: &Quota) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(quota.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(quota.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(quota.reset));
}
