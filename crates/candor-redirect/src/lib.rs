//! The HTTP redirector behind DNSimple-style URL records.
//!
//! A URL record such as `example.com URL https://target.example/path` makes
//! the name resolve to the redirector's addresses, and the redirector answers
//! every HTTP request whose host is `example.com` with
//! `301 Moved Permanently` and `Location: https://target.example/path`.
//!
//! - [`parse_target`] validates a record's content and returns a
//!   [`RedirectTarget`]; its errors are what the API reports for bad URLs.
//!   A target ending in `/*` forwards the request's path and query (see
//!   [`RedirectTarget::location`] and the [`target`] module for the rule).
//! - [`Redirects`] is an immutable map from host name to target, published
//!   through a [`SharedRedirects`] and swapped whole when records change,
//!   like the DNS server's `ZoneSet`.
//! - [`router`] builds the [`axum::Router`] that serves every method and path.

#![forbid(unsafe_code)]

pub mod target;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

pub use target::{MAX_TARGET_LEN, RedirectTarget, parse_target};

/// How long clients may cache a redirect, as a `Cache-Control` value.
///
/// Without it, browsers keep a `301` for as long as they like, so a visitor
/// would keep following a URL record's old target after it is changed or
/// deleted; an hour bounds that while still sparing the redirector repeat
/// visits.
pub const REDIRECT_CACHE_CONTROL: &str = "max-age=3600";

/// The body of the `404` sent for a host without a URL record.
const UNKNOWN_HOST_BODY: &str = "No redirect is configured for this host.\n";

/// The body of the `400` sent when the request names no valid host.
const BAD_HOST_BODY: &str = "The request has no valid Host header.\n";

/// An immutable map from host name to redirect target.
///
/// Host names are stored in lower case without a trailing dot; lookups
/// expect the same form.
#[derive(Clone, Debug, Default)]
pub struct Redirects {
    /// Targets by normalized host name. Keys come from requests, so the
    /// default (DoS-resistant) hasher is used.
    by_host: HashMap<String, RedirectTarget>,
}

impl Redirects {
    /// Builds the map, normalizing each host name (lower case, no trailing
    /// dot). When a host appears more than once, the last entry wins.
    pub fn new(entries: impl IntoIterator<Item = (String, RedirectTarget)>) -> Self {
        let by_host = entries
            .into_iter()
            .map(|(host, target)| (normalize_host(&host), target))
            .collect();
        Self { by_host }
    }

    /// Returns the target for a host name, which must already be in lower
    /// case without a trailing dot.
    pub fn get(&self, host: &str) -> Option<&RedirectTarget> {
        self.by_host.get(host)
    }

    /// Returns the number of hosts with a redirect.
    pub fn len(&self) -> usize {
        self.by_host.len()
    }

    /// Returns whether no host has a redirect.
    pub fn is_empty(&self) -> bool {
        self.by_host.is_empty()
    }
}

/// The published redirect map: the server stores a new [`Redirects`] when
/// URL records change, and each request loads the current one.
pub type SharedRedirects = Arc<ArcSwap<Redirects>>;

/// Lower-cases a host name and removes one trailing dot.
fn normalize_host(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.to_ascii_lowercase()
}

/// Builds the redirector's router, which answers every method and path.
///
/// The host is taken from the request target when it is in absolute form
/// (and from `:authority` in HTTP/2), otherwise from the `Host` header; its
/// port and one trailing dot are dropped and it is lower-cased. A host with
/// a URL record gets `301 Moved Permanently` with `Location`,
/// `Cache-Control: max-age=3600` and a small HTML page linking the target;
/// an unknown host gets `404` and a missing or malformed host `400`, both
/// with a short plain-text body. `HEAD` gets the same status and headers
/// without a body.
pub fn router(redirects: SharedRedirects) -> Router {
    Router::new().fallback(redirect).with_state(redirects)
}

/// Answers one request; the handler behind every method and path.
async fn redirect(
    State(redirects): State<SharedRedirects>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let head = method == Method::HEAD;
    let Some(host) = request_host(&uri, &headers) else {
        return plain(StatusCode::BAD_REQUEST, BAD_HOST_BODY, head);
    };
    let redirects = redirects.load();
    let Some(target) = redirects.get(&host) else {
        return plain(StatusCode::NOT_FOUND, UNKNOWN_HOST_BODY, head);
    };
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = target.location(path_and_query);
    // Targets and request paths are both visible ASCII, so this cannot fail;
    // an error is still answered rather than trusted away.
    let Ok(location_value) = HeaderValue::from_str(&location) else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The redirect target is invalid.\n",
            head,
        );
    };
    let page = redirect_page(&location);
    let mut response = respond(
        StatusCode::MOVED_PERMANENTLY,
        "text/html; charset=utf-8",
        page,
        head,
    );
    let response_headers = response.headers_mut();
    response_headers.insert(LOCATION, location_value);
    response_headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(REDIRECT_CACHE_CONTROL),
    );
    response
}

/// Returns the request's normalized host, or `None` when there is none or
/// it is not a valid host name or IP address (with an optional port).
fn request_host(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let authority = match uri.authority() {
        Some(authority) => authority.as_str(),
        None => headers.get(HOST)?.to_str().ok()?,
    };
    let (host, port) = target::split_host_port(authority)?;
    if port.is_some_and(|port| !target::valid_port(port)) {
        return None;
    }
    let valid = if host.starts_with('[') {
        target::valid_ipv6_literal(host)
    } else {
        target::valid_host_name(host)
    };
    valid.then(|| normalize_host(host))
}

/// Builds a plain-text response.
fn plain(status: StatusCode, body: &'static str, head: bool) -> Response {
    respond(status, "text/plain; charset=utf-8", body.to_owned(), head)
}

/// Builds a response with a body and its `Content-Type` and
/// `Content-Length`; for `HEAD` the body is left out but the headers are
/// the same.
fn respond(status: StatusCode, content_type: &'static str, body: String, head: bool) -> Response {
    let length = HeaderValue::from(body.len());
    let mut response = Response::new(if head {
        Body::empty()
    } else {
        Body::from(body)
    });
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, length);
    response
}

/// Returns the small HTML page sent with a redirect, linking the target.
fn redirect_page(location: &str) -> String {
    let escaped = escape_html(location);
    format!(
        "<!DOCTYPE html>\n<html><head><title>Moved Permanently</title></head>\
         <body><p>Moved to <a href=\"{escaped}\">{escaped}</a>.</p></body></html>\n"
    )
}

/// Escapes text for use in HTML content and double- or single-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests;
