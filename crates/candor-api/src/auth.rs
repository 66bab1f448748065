//! Authentication, authorization and rate limiting: the one place that
//! decides who may call which route.
//!
//! [`authenticate`] runs on every private route: it checks the bearer
//! token, counts the request against the token's quota and puts a
//! [`Caller`] (token, role, operator or not, suspended or not) into the
//! request. [`authorize`] then runs with the route's [`Access`], taken from
//! the route table (`crate::routes`): it checks the `{account}` segment
//! against the caller's account (another account is a 404, so callers
//! learn nothing about it), the caller's role (403), and refuses changes
//! from suspended accounts (403). Handlers take the [`AccountScope`] it
//! leaves behind instead of reading the path themselves.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use candor_store::{Actor, Role};

use crate::AppState;
use crate::error::{ApiError, Target};
use crate::observe::AccessTag;
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
    /// The token's role in its account.
    pub(crate) role: Role,
    /// Whether the token's account is the operator's.
    pub(crate) operator: bool,
    /// Whether the token's account is suspended.
    pub(crate) suspended: bool,
    /// The client's IP address, when the server knows it.
    pub(crate) remote: Option<String>,
}

/// Who may call a route: each entry of the route table names one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, without a token.
    Public,
    /// Any valid token.
    Token,
    /// Members and owners of the `{account}` in the path.
    Member,
    /// Owners of the `{account}` in the path.
    Owner,
    /// Members and owners of the operator's account (reading what the
    /// operator runs: settings, TSIG keys, the status page).
    OperatorMember,
    /// Owners of the operator's account: the installation's settings, TSIG
    /// keys, the status page and other accounts.
    Operator,
}

impl Access {
    /// The requirement in words, as the README's role table shows it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Access::Public => "anyone",
            Access::Token => "any token",
            Access::Member => "member",
            Access::Owner => "owner",
            Access::OperatorMember => "operator member",
            Access::Operator => "operator",
        }
    }
}

/// The account a route works on, after [`authorize`] checked the caller
/// may act in it: the `{account}` segment, parsed. Asking for it on a route
/// without `{account}` is a bug in the route table, answered with a 500.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccountScope {
    /// The account's id.
    pub(crate) id: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for AccountScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AccountScope>()
            .copied()
            .ok_or_else(|| ApiError::internal("route has no account scope"))
    }
}

/// Why [`decide`] turned a caller away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No valid token: 401.
    Unauthenticated,
    /// The path names an account that is not the caller's: 404.
    OtherAccount(String),
    /// The caller's role is not enough: 403.
    Role(Access),
    /// The caller's account is suspended and the request would change
    /// something: 403.
    Suspended,
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> ApiError {
        match denied {
            Denied::Unauthenticated => ApiError::unauthorized(),
            Denied::OtherAccount(account) => ApiError::account_not_found(&account),
            Denied::Role(access) => ApiError::new(
                StatusCode::FORBIDDEN,
                match access {
                    Access::Operator | Access::OperatorMember => {
                        "Only the operator's account (the first account) may do this"
                    }
                    _ => "Your role in this account does not allow this",
                },
            ),
            Denied::Suspended => ApiError::new(
                StatusCode::FORBIDDEN,
                "This account is suspended: it may read but not change anything",
            ),
        }
    }
}

/// Decides whether `caller` may call a route that needs `access`, with
/// `account` the path's `{account}` segment (if the route has one) and
/// `method` the request's. Returns the account scope for the handler.
pub(crate) fn decide(
    access: Access,
    caller: Option<&Caller>,
    account: Option<&str>,
    method: &Method,
) -> Result<Option<AccountScope>, Denied> {
    if access == Access::Public {
        return Ok(None);
    }
    let caller = caller.ok_or(Denied::Unauthenticated)?;
    let scope = match account {
        Some(raw) => match raw.parse::<i64>() {
            Ok(id) if id == caller.account_id => Some(AccountScope { id }),
            _ => return Err(Denied::OtherAccount(raw.to_owned())),
        },
        None => None,
    };
    let allowed = match access {
        Access::Public | Access::Token | Access::Member => true,
        Access::Owner => caller.role == Role::Owner,
        Access::OperatorMember => caller.operator,
        Access::Operator => caller.is_operator(),
    };
    if !allowed {
        return Err(Denied::Role(access));
    }
    let reads = matches!(*method, Method::GET | Method::HEAD);
    if caller.suspended && !reads {
        return Err(Denied::Suspended);
    }
    Ok(scope)
}

/// Middleware on every private route, after [`authenticate`]: applies the
/// route's [`Access`] through [`decide`] and leaves an [`AccountScope`]
/// for the handler.
pub(crate) async fn authorize(State(access): State<Access>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let account = match RawPathParams::from_request_parts(&mut parts, &()).await {
        Ok(params) => params
            .iter()
            .find(|(name, _)| *name == "account")
            .map(|(_, value)| value.to_owned()),
        Err(rejection) => return ApiError::bad_request(rejection.body_text()).into_response(),
    };
    let caller = parts.extensions.get::<Caller>();
    match decide(access, caller, account.as_deref(), &parts.method) {
        Ok(scope) => {
            if let Some(scope) = scope {
                parts.extensions.insert(scope);
            }
            next.run(Request::from_parts(parts, body)).await
        }
        Err(denied) => ApiError::from(denied).into_response(),
    }
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
    /// Whether the caller is the operator: an owner of the operator's
    /// account.
    pub(crate) fn is_operator(&self) -> bool {
        self.operator && self.role == Role::Owner
    }

    /// The audit-log actor for writes made by this caller.
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            token_id: Some(self.token_id),
            via: "api",
            remote: self.remote.clone(),
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
    let grant = state.read(Target::default(), move |store| {
        match store.authenticate(&secret)? {
            Some(token) => store.grant(token),
            None => Ok(None),
        }
    });
    let grant = match grant.await {
        Ok(Some(grant)) => grant,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(err) => return err.into_response(),
    };
    let token = &grant.token;
    let quota = state.limiter.check(token.id);
    if !quota.allowed {
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "API rate limit exceeded").into_response();
        add_rate_headers(response.headers_mut(), &quota);
        response.extensions_mut().insert(AccessTag {
            account_id: token.account_id,
            token_id: token.id,
            user_id: token.user_id,
        });
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
        role: grant.role,
        operator: grant.operator,
        suspended: grant.suspended,
        remote,
    });
    let mut response = next.run(req).await;
    add_rate_headers(response.headers_mut(), &quota);
    response.extensions_mut().insert(AccessTag {
        account_id: token.account_id,
        token_id: token.id,
        user_id: token.user_id,
    });
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
