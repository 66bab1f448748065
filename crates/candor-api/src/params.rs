//! Path segments and query parameters, with JSON errors instead of axum's
//! plain-text rejections.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

/// Entries per page when the client does not say.
pub(crate) const DEFAULT_PER_PAGE: u32 = 30;

/// Most entries per page; larger requests are capped, as DNSimple does.
pub(crate) const MAX_PER_PAGE: u32 = 100;

/// The path's `{param}` segments, percent-decoded.
#[derive(Debug)]
pub(crate) struct PathParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Path(map)| PathParams(map))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

impl PathParams {
    /// A segment by name; every route defines the ones its handler asks for.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The `{record}` segment as a record id. A non-numeric id names no
    /// record, so it is a 404 like any other unknown id.
    pub(crate) fn record_id(&self) -> Result<i64, ApiError> {
        let raw = self.get("record");
        raw.parse::<i64>()
            .map_err(|_| ApiError::not_found(format!("Record `{raw}` not found")))
    }
}

/// The query string's parameters (the last value wins when repeated).
#[derive(Debug, Default)]
pub(crate) struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(map)| QueryParams(map))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

impl QueryParams {
    /// A parameter, if present.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A parameter, if present and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// `page` and `per_page`: 1 and 30 by default; `per_page` is capped at
    /// 100. Anything but a positive integer is a validation error.
    pub(crate) fn pagination(&self) -> Result<(u32, u32), ApiError> {
        let page = self.positive("page")?.unwrap_or(1);
        let per_page = self
            .positive("per_page")?
            .unwrap_or(DEFAULT_PER_PAGE)
            .min(MAX_PER_PAGE);
        Ok((page, per_page))
    }

    /// A positive integer parameter (empty counts as absent).
    fn positive(&self, name: &str) -> Result<Option<u32>, ApiError> {
        match self.0.get(name).map(|v| v.trim()) {
            None | Some("") => Ok(None),
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ApiError::invalid_field(
                    name,
                    format!("must be a positive integer, got `{raw}`"),
                )),
            },
        }
    }
}
