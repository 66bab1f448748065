//! The OpenAPI 3.0 description of the API, served at
//! `GET /v2/openapi.json`. It is a hand-written static file; a test checks
//! it lists exactly the routes the router has.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /v2/openapi.json`: needs no token.
pub(crate) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
