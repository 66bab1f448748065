//! Operating the API: health checks, the access log, request metrics, and
//! the router of the separate metrics listener.
//!
//! - `GET /healthz`: the process answers (200, always).
//! - `GET /readyz`: 200 when the server is ready to serve (the binary's
//!   [`Readiness`] hook: zones loaded, listeners bound, not stopping) and
//!   the store answers; 503 with `{"status": "unavailable", "reason": ...}`
//!   otherwise. Both are public: load balancers and orchestrators carry no
//!   token.
//! - The access log: one line per request at target `candor::access`
//!   (method, route template, status, duration, account, token id, user,
//!   client address; never the token itself), and the same request counted
//!   in [`HttpMetrics`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use candor_metrics::Metrics;
use candor_metrics::http::HttpMetrics;
use serde_json::json;

use crate::AppState;

/// Says whether the server is ready to serve, and if not, why. It may
/// block (read a database): it runs on the blocking pool, with a time
/// limit ([`READY_TIMEOUT`]).
pub type Readiness = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How long `/readyz` waits for the readiness checks before it answers 503.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// What the API router is observed with: its request metrics and the
/// readiness hook.
#[derive(Clone)]
pub struct Observe {
    /// Requests by route template and status, and their latency.
    pub http: HttpMetrics,
    /// The server's readiness (the store is checked as well).
    pub ready: Readiness,
}

impl Default for Observe {
    /// Fresh metrics (not exported anywhere) and a server that is always
    /// ready: for tests and embedders without a metrics listener.
    fn default() -> Self {
        Observe {
            http: HttpMetrics::new(),
            ready: Arc::new(|| Ok(())),
        }
    }
}

impl std::fmt::Debug for Observe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observe").finish_non_exhaustive()
    }
}

/// Who made a request, for the access log: put into the response's
/// extensions by `auth::authenticate` (requests without a valid token
/// have none).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AccessTag {
    /// The token's account.
    pub(crate) account_id: i64,
    /// The token's id (never its secret).
    pub(crate) token_id: i64,
    /// The user the token acts for, if any.
    pub(crate) user_id: Option<i64>,
}

/// Middleware around every request (matched or not): times it, then
/// writes the access-log line and counts it.
pub(crate) async fn access(State(http): State<HttpMetrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |ConnectInfo(a)| a.ip().to_string());
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let tag = response.extensions().get::<AccessTag>().copied();
    tracing::info!(
        target: "candor::access",
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        account = tag.map(|t| t.account_id),
        token_id = tag.map(|t| t.token_id),
        user_id = tag.and_then(|t| t.user_id),
        client = %client,
        "request"
    );
    http.observe(method.as_str(), &route, status, elapsed);
    response
}

/// `GET /healthz`: the process is alive and answering.
pub(crate) async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// Runs `check` on the blocking pool within [`READY_TIMEOUT`]: the 200 or
/// 503 of a readiness endpoint.
async fn ready_response(check: impl FnOnce() -> Result<(), String> + Send + 'static) -> Response {
    let outcome = tokio::time::timeout(READY_TIMEOUT, tokio::task::spawn_blocking(check)).await;
    let reason = match outcome {
        Ok(Ok(Ok(()))) => return Json(json!({"status": "ready"})).into_response(),
        Ok(Ok(Err(reason))) => reason,
        Ok(Err(join)) => format!("the readiness check failed: {join}"),
        Err(_) => format!(
            "the readiness check did not finish within {} s",
            READY_TIMEOUT.as_secs()
        ),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "reason": reason})),
    )
        .into_response()
}

/// `GET /readyz` on the API: the server's readiness hook, then one read of
/// the store.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let ready = Arc::clone(&state.ready);
    let store = Arc::clone(&state.store);
    ready_response(move || {
        ready()?;
        store
            .setting("alias_refresh")
            .map(drop)
            .map_err(|e| format!("the store does not answer: {e}"))
    })
    .await
}

/// The router of the metrics listener (`candor serve --metrics-listen`):
/// `GET /metrics` (OpenMetrics text, rendered from the live counters on
/// each scrape), and `/healthz` and `/readyz` as on the API (without the
/// store check, which `ready` makes when there is a store).
pub fn metrics_router(metrics: Arc<Metrics>, ready: Readiness) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move {
                    // Collectors may take locks or read a database: off the
                    // runtime's threads.
                    match tokio::task::spawn_blocking(move || metrics.render()).await {
                        Ok(text) => ([(header::CONTENT_TYPE, candor_metrics::CONTENT_TYPE)], text)
                            .into_response(),
                        Err(e) => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            format!("rendering the metrics failed: {e}\n"),
                        )
                            .into_response(),
                    }
                }
            }),
        )
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(move || {
                let ready = Arc::clone(&ready);
                ready_response(move || ready())
            }),
        )
}
