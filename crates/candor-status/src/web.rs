//! The public site, pre-rendered.
//!
//! The status page must stay up when everything else is under stress, so
//! requests never touch the database or render anything: [`Site::build`]
//! renders every page of a [`PageSnapshot`] once, into bytes with their
//! ETags, and the owner publishes the new [`Site`] into a [`SharedSite`]
//! (one atomic pointer swap) whenever the page changes. [`router`] serves
//! from whatever site is current; a request costs a map lookup.
//!
//! [`Site::write_to`] writes the same bytes as static files, so the page
//! can also be published to any plain web server or object store and keep
//! working while the Candor host is down.
//!
//! Paths served (GET and HEAD):
//!
//! | path | file | content |
//! | --- | --- | --- |
//! | `/` | `index.html` | [`html::index`] |
//! | `/history` | `history/index.html` | [`html::history`] |
//! | `/incidents/{public_id}` | `incidents/{public_id}/index.html` | [`html::incident`] |
//! | `/history.atom` | `history.atom` | [`atom::feed`] |
//! | `/subscribe` | `subscribe/index.html` | [`html::subscribe`] |
//! | `/api/v2/summary.json` | same | [`json::summary`] |
//! | `/api/v2/status.json` | same | [`json::status`] |
//! | `/api/v2/components.json` | same | [`json::components`] |
//! | `/api/v2/incidents.json` | same | [`json::incidents`] |
//! | `/api/v2/incidents/unresolved.json` | same | [`json::unresolved`] |
//! | `/api/v2/scheduled-maintenances.json` | same | [`json::scheduled_maintenances`] |
//! | `/api/v2/scheduled-maintenances/upcoming.json` | same | [`json::upcoming_maintenances`] |
//! | `/api/v2/scheduled-maintenances/active.json` | same | [`json::active_maintenances`] |
//!
//! Anything else is a 404 page (`404.html` on disk); methods other than GET
//! and HEAD get 405. With [`router_with`], the subscription forms
//! ([`subscribe`]) are the exception: they are answered from the database.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::model::{IncidentView, PageSnapshot};
use crate::render::{atom, html, incident_path, is_safe_id, json};

pub mod limit;
pub mod subscribe;

pub use subscribe::Subscriptions;

/// Content type of the HTML pages.
pub const HTML: &str = "text/html; charset=utf-8";
/// Content type of the Atom feed.
pub const ATOM: &str = "application/atom+xml";
/// Content type of the JSON API.
pub const JSON: &str = "application/json";

/// `Cache-Control` of every page: short, so a change shows within seconds
/// even through caches, yet a burst of readers mostly hits the caches.
const CACHE: &str = "public, max-age=10";
/// `Content-Security-Policy` of every response: no scripts, no frames,
/// nothing loaded from anywhere; only the inline styles, and forms posted
/// to this site (the subscription forms).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The body of a 405.
const METHOD_NOT_ALLOWED: &str = "Only GET and HEAD are allowed here.\n";

/// One rendered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: Bytes,
    /// Its strong ETag, quoted: the first 128 bits of the body's SHA-256 in hex.
    pub etag: String,
}

impl Asset {
    /// An asset with its ETag computed.
    fn new(content_type: &'static str, body: impl Into<Bytes>) -> Asset {
        let body = body.into();
        let digest = Sha256::digest(&body);
        let mut etag = String::with_capacity(34);
        etag.push('"');
        for byte in &digest[..16] {
            etag.push(char::from(HEX[usize::from(byte >> 4)]));
            etag.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        etag.push('"');
        Asset {
            content_type,
            body,
            etag,
        }
    }
}

/// Lower-case hexadecimal digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Every page of one snapshot, rendered; immutable once built.
#[derive(Clone, Debug)]
pub struct Site {
    /// Path (as requested, e.g. `/history`) → page.
    assets: HashMap<String, Asset>,
    /// The page for unknown paths.
    not_found: Asset,
    /// The snapshot's page settings and state (without components and
    /// incidents), for the pages the forms answer with.
    page: Arc<PageSnapshot>,
}

/// The site the router serves, swapped as a whole on every change.
pub type SharedSite = Arc<ArcSwap<Site>>;

impl Site {
    /// Renders every page of the snapshot.
    ///
    /// Incidents get a page each (open ones, maintenance windows, history);
    /// one whose public id is not a plain token (see the model) gets none,
    /// so no path or file name can be smuggled in through an id.
    pub fn build(snapshot: &PageSnapshot) -> Site {
        let mut assets = HashMap::new();
        let mut add = |path: &str, asset: Asset| {
            assets.entry(path.to_owned()).or_insert(asset);
        };
        add("/", Asset::new(HTML, html::index(snapshot)));
        add("/history", Asset::new(HTML, html::history(snapshot)));
        add("/history.atom", Asset::new(ATOM, atom::feed(snapshot)));
        add("/subscribe", Asset::new(HTML, html::subscribe(snapshot)));
        let documents = [
            ("/api/v2/summary.json", json::summary(snapshot)),
            ("/api/v2/status.json", json::status(snapshot)),
            ("/api/v2/components.json", json::components(snapshot)),
            ("/api/v2/incidents.json", json::incidents(snapshot)),
            (
                "/api/v2/incidents/unresolved.json",
                json::unresolved(snapshot),
            ),
            (
                "/api/v2/scheduled-maintenances.json",
                json::scheduled_maintenances(snapshot),
            ),
            (
                "/api/v2/scheduled-maintenances/upcoming.json",
                json::upcoming_maintenances(snapshot),
            ),
            (
                "/api/v2/scheduled-maintenances/active.json",
                json::active_maintenances(snapshot),
            ),
        ];
        for (path, document) in documents {
            add(path, Asset::new(JSON, document.to_string()));
        }
        let views: Vec<&IncidentView> = snapshot
            .open_incidents
            .iter()
            .chain(&snapshot.maintenances)
            .chain(&snapshot.history)
            .collect();
        for view in views {
            let id = &view.incident.public_id;
            if is_safe_id(id) {
                add(
                    &incident_path(id),
                    Asset::new(HTML, html::incident(snapshot, view)),
                );
            }
        }
        let page = snapshot.clone_settings();
        Site {
            assets,
            not_found: Asset::new(HTML, html::not_found(snapshot)),
            page: Arc::new(page),
        }
    }

    /// The page at a request path. A trailing slash is ignored (`/history/`
    /// is `/history`), as static file servers do for directories.
    pub fn get(&self, path: &str) -> Option<&Asset> {
        let path = match path.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => stripped,
            _ => path,
        };
        self.assets.get(path)
    }

    /// The page served with 404 for unknown paths.
    pub fn not_found(&self) -> &Asset {
        &self.not_found
    }

    /// Every path served, sorted.
    pub fn paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.assets.keys().map(String::as_str).collect();
        paths.sort_unstable();
        paths
    }

    /// Writes every page under `dir` as static files: `index.html`,
    /// `history/index.html`, `incidents/{id}/index.html`, `history.atom`,
    /// `api/v2/summary.json`, ..., and `404.html`.
    ///
    /// Each file is replaced atomically (written to a temporary file in the
    /// same directory, synced, then renamed over the old one), so a web
    /// server reading the directory never sees a half-written page. Files
    /// whose bytes did not change are left alone (their modification times
    /// too, which keeps syncing tools quiet). Pages of incidents that left
    /// the snapshot are not deleted.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        for path in self.paths() {
            let Some(file) = file_path(path) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("path {path:?} cannot be a file name"),
                ));
            };
            if let Some(asset) = self.assets.get(path) {
                write_if_changed(&dir.join(file), &asset.body)?;
            }
        }
        write_if_changed(&dir.join("404.html"), &self.not_found.body)
    }
}

/// The relative file a site path is written to: `index.html` inside a
/// directory for pages without an extension, the path itself otherwise.
/// `None` for a path with an empty, `.` or `..` segment or a backslash.
fn file_path(path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    let mut file = PathBuf::new();
    if !trimmed.is_empty() {
        for segment in trimmed.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
                return None;
            }
            file.push(segment);
        }
    }
    let is_file = trimmed
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    if !is_file {
        file.push("index.html");
    }
    Some(file)
}

/// Makes temporary file names unique within the process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Atomically replaces `path` with `body` unless it already holds exactly
/// that.
fn write_if_changed(path: &Path, body: &[u8]) -> io::Result<()> {
    if fs::read(path).is_ok_and(|old| old == body) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("page");
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(body)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// The public site's router: GET and HEAD for every page of the current
/// site, from memory.
///
/// Responses carry `Content-Type`, `Content-Length`, `ETag`,
/// `Cache-Control: public, max-age=10`, `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: no-referrer` and a Content-Security-Policy that allows
/// no script at all; the JSON API also `Access-Control-Allow-Origin: *`
/// (it is public and read-only, so any site's widget may read it). A
/// request whose `If-None-Match` names the current ETag gets `304`.
/// Unknown paths get the 404 page, other methods `405` with `Allow`.
pub fn router(site: SharedSite) -> Router {
    router_with(site, None)
}

/// [`router`] with the public subscription forms ([`subscribe`]) when
/// `subscriptions` is given: `POST /subscribe`, `GET|POST
/// /subscribe/confirm` and `GET|POST /unsubscribe`.
pub fn router_with(site: SharedSite, subscriptions: Option<Arc<Subscriptions>>) -> Router {
    let web = Web {
        site,
        subscriptions,
    };
    Router::new()
        .route("/subscribe", post(subscribe::subscribe).fallback(serve))
        .route(
            "/subscribe/confirm",
            get(subscribe::confirm).post(subscribe::confirm),
        )
        .route(
            "/unsubscribe",
            get(subscribe::unsubscribe).post(subscribe::unsubscribe),
        )
        .fallback(serve)
        .with_state(web)
}

/// The router's state.
#[derive(Clone)]
struct Web {
    /// The pre-rendered site.
    site: SharedSite,
    /// The forms, when they are served.
    subscriptions: Option<Arc<Subscriptions>>,
}

/// The answer to a method other than GET and HEAD.
fn method_not_allowed() -> Response {
    let mut response = Response::new(Body::from(METHOD_NOT_ALLOWED));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let response_headers = response.headers_mut();
    response_headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response_headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    security_headers(response_headers);
    response
}

/// Answers one request from the pre-rendered site: every GET and HEAD.
async fn serve(State(web): State<Web>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let site = web.site;
    let head = method == Method::HEAD;
    if method != Method::GET && !head {
        return method_not_allowed();
    }
    let (status, asset) = {
        let site = site.load();
        match site.get(uri.path()) {
            Some(asset) => (StatusCode::OK, asset.clone()),
            None => (StatusCode::NOT_FOUND, site.not_found().clone()),
        }
    };
    let etag = HeaderValue::from_str(&asset.etag).ok();
    if status == StatusCode::OK && matches_etag(&headers, &asset.etag) {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        let response_headers = response.headers_mut();
        if let Some(etag) = etag {
            response_headers.insert(ETAG, etag);
        }
        response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE));
        security_headers(response_headers);
        return response;
    }
    let length = HeaderValue::from(asset.body.len());
    let mut response = Response::new(if head {
        Body::empty()
    } else {
        Body::from(asset.body.clone())
    });
    *response.status_mut() = status;
    let response_headers = response.headers_mut();
    response_headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    response_headers.insert(CONTENT_LENGTH, length);
    if let (StatusCode::OK, Some(etag)) = (status, etag) {
        response_headers.insert(ETAG, etag);
    }
    response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE));
    if asset.content_type == JSON {
        response_headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    security_headers(response_headers);
    response
}

/// The headers every response carries.
fn security_headers(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// True when an `If-None-Match` header names this ETag (or is `*`).
/// Comparison is weak, as RFC 9110 wants for `If-None-Match`: `W/"x"`
/// matches `"x"`.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests;
