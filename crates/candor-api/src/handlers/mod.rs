//! Route handlers, one module per DNSimple API section.

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod distribution;
pub(crate) mod dnssec;
pub(crate) mod domains;
pub(crate) mod identity;
pub(crate) mod records;
pub(crate) mod settings;
pub(crate) mod status;
pub(crate) mod traffic;
pub(crate) mod tsig;
pub(crate) mod zones;

use axum::http::StatusCode;

use crate::error::ApiError;

/// Result of a handler: a response or a JSON error.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// 404 for paths the API does not have.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("Not found")
}

/// 405 for a known path with an unsupported method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}
