//! JSON request bodies, with 400 answers that name the problem: the
//! missing field, or the field with the wrong type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest request body accepted (zone file imports are the big ones).
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// A JSON body deserialized into `T`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    format!("Request body is larger than {MAX_BODY} bytes"),
                )
            } else {
                ApiError::new(status, rejection.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a JSON body, naming the offending field on failure.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "Request body is empty: expected a JSON object",
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        // Structs also deserialize from arrays; only objects are accepted.
        return Err(match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(_) => ApiError::bad_request("Invalid request body: expected a JSON object"),
            Err(e) => ApiError::bad_request(format!("Malformed JSON body: {e}")),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        describe(&path, e.inner())
    })?;
    de.end().map_err(|e| describe(".", &e))?;
    Ok(value)
}

/// Turns a deserialization error at `path` into a 400 answer.
fn describe(path: &str, err: &serde_json::Error) -> ApiError {
    let text = err.to_string();
    // serde_json appends the position; the field name says more.
    let reason = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    if !err.is_data() {
        return ApiError::bad_request(format!("Malformed JSON body: {text}"));
    }
    let parent = if path == "." { "" } else { path };
    if let Some(missing) = quoted_after(reason, "missing field `") {
        let field = join(parent, missing);
        let mut error = ApiError::invalid_field(&field, "is required");
        error.message = format!("Invalid request body: missing field `{field}`");
        return error;
    }
    if parent.is_empty() {
        return ApiError::bad_request(format!("Invalid request body: {reason}"));
    }
    let mut error = ApiError::invalid_field(parent, reason);
    let problem = if reason.starts_with("invalid value") {
        "invalid value"
    } else {
        "wrong type"
    };
    error.message = format!("Invalid request body: {problem} for `{parent}`: {reason}");
    error
}

/// The text between `prefix` and the next backquote, if `text` has it.
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.find(prefix)? + prefix.len();
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

/// `parent.field`, or `field` at the top level.
fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}
