//! Error responses, shaped like DNSimple's:
//! `{"message": "...", "errors": {"field": ["reason", ...]}}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use candor_store::StoreError;
use serde_json::{Value, json};

/// An error answer: status, message and per-field reasons.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// Human-readable summary.
    pub(crate) message: String,
    /// Reasons per field, for validation failures.
    pub(crate) errors: BTreeMap<String, Vec<String>>,
}

/// What a request asked for, so a store's "not found" can name it the way
/// DNSimple does (``Zone `example.com` not found``).
#[derive(Clone, Debug, Default)]
pub(crate) struct Target {
    /// How the zone is called on this endpoint: `Zone` or `Domain`.
    pub(crate) noun: &'static str,
    /// The zone (or domain) as given in the path.
    pub(crate) zone: Option<String>,
    /// The record id as given in the path.
    pub(crate) record: Option<i64>,
}

impl Target {
    /// A target that is a zone, called `Zone`.
    pub(crate) fn zone(zone: &str) -> Target {
        Target {
            noun: "Zone",
            zone: Some(zone.to_owned()),
            record: None,
        }
    }

    /// A target that is a zone, called `Domain`.
    pub(crate) fn domain(domain: &str) -> Target {
        Target {
            noun: "Domain",
            zone: Some(domain.to_owned()),
            record: None,
        }
    }

    /// A record in a zone.
    pub(crate) fn record(zone: &str, record: i64) -> Target {
        Target {
            noun: "Zone",
            zone: Some(zone.to_owned()),
            record: Some(record),
        }
    }
}

impl ApiError {
    /// An error with a status and a message and no field reasons.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: BTreeMap::new(),
        }
    }

    /// 400 for a request that cannot be understood.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 "Validation failed" with one reason for one field.
    pub(crate) fn invalid_field(field: &str, reason: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(field.to_owned(), vec![reason.into()]);
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: "Validation failed".to_owned(),
            errors,
        }
    }

    /// 404 with a message.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 404 for an account other than the caller's (or no account at all).
    pub(crate) fn account_not_found(account: &str) -> ApiError {
        ApiError::not_found(format!("Account `{account}` not found"))
    }

    /// 401 for a missing or unknown token.
    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "Authentication failed")
    }

    /// 500: the detail is logged, never sent to the client.
    pub(crate) fn internal(detail: &str) -> ApiError {
        tracing::error!(detail, "internal error in the API");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }

    /// Maps a store error to the answer DNSimple would give.
    pub(crate) fn store(err: StoreError, target: &Target) -> ApiError {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(not_found_message(what, target)),
            StoreError::Invalid(fields) => {
                let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for field in fields {
                    errors.entry(field.field).or_default().push(field.message);
                }
                ApiError {
                    status: StatusCode::BAD_REQUEST,
                    message: "Validation failed".to_owned(),
                    errors,
                }
            }
            StoreError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            StoreError::Db(detail) => ApiError::internal(&detail),
            // The API's store is open already; a missing file is internal.
            missing @ StoreError::Missing(_) => ApiError::internal(&missing.to_string()),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        if self.errors.is_empty() {
            json!({ "message": self.message })
        } else {
            json!({ "message": self.message, "errors": self.errors })
        }
    }
}

/// DNSimple's wording for a missing thing: ``Record `12` not found``.
fn not_found_message(what: &str, target: &Target) -> String {
    let noun = if target.noun.is_empty() {
        "Zone"
    } else {
        target.noun
    };
    match (what, &target.zone, target.record) {
        ("zone" | "domain", Some(zone), _) => format!("{noun} `{zone}` not found"),
        ("record", _, Some(id)) => format!("Record `{id}` not found"),
        _ => {
            let mut chars = what.chars();
            match chars.next() {
                Some(first) => format!("{}{} not found", first.to_uppercase(), chars.as_str()),
                None => "Not found".to_owned(),
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
