//! The Candor REST API, shaped like DNSimple API v2.
//!
//! Unmodified DNSimple clients (the official Python, Go and Ruby clients,
//! Terraform's provider, `curl` scripts written for DNSimple) manage Candor
//! zones through it: the paths, verbs, query parameters, JSON shapes, status
//! codes and rate-limit headers are DNSimple's. Zones are created and
//! deleted through the `domains` endpoints, as on DNSimple, where a hosted
//! domain is a zone.
//!
//! [`router`] builds the [`axum::Router`]. Every route except
//! `GET /v2/openapi.json` needs `Authorization: Bearer <token>`; the token
//! decides the one account the caller may see, and anything belonging to
//! another account is reported as not found.
//!
//! The store is blocking (SQLite), so every store call runs on tokio's
//! blocking pool. Writes are serialized inside this crate and each one is
//! handed to [`ApiState::publish`] before its response is sent, in commit
//! order, so a client that got its `201` can query the name servers at once.
//!
//! Candor extensions to the DNSimple API, documented in the OpenAPI
//! document served at `GET /v2/openapi.json`:
//!
//! - `PUT /v2/{account}/zones/{zone}/file` replaces a zone's records with
//!   the records of an RFC 1035 zone file, `{"zone_file": "..."}`.
//! - `/v2/{account}/status/…`: the status page's components, incidents and
//!   maintenance windows (the operator's account only) and subscriptions
//!   to its notifications (any account, for its own zones).

#![forbid(unsafe_code)]

mod auth;
mod body;
mod distribution;
mod error;
mod handlers;
mod openapi;
mod params;
mod rate;
mod views;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use candor_store::{Store, StoreError, ZoneChange};

use crate::error::{ApiError, Target};
use crate::rate::RateLimiter;

/// What the API needs from the rest of Candor.
pub struct ApiState {
    /// Accounts, tokens, zones and records.
    pub store: Arc<Store>,
    /// Called with every successful change, before the response is sent,
    /// so the name servers serve it by the time the client hears of it.
    /// Calls come one at a time, in the order the store committed them.
    pub publish: Arc<dyn Fn(&ZoneChange) + Send + Sync>,
    /// Our own DNS listeners, asked for a zone's SOA by the distribution
    /// checks.
    pub nameservers: Vec<SocketAddr>,
    /// Requests each token may make per hour (a fixed window that starts
    /// with the token's first request). With 0 every request is refused.
    pub rate_limit_per_hour: u32,
    /// The status page's database, when the status page runs.
    pub status: Option<Arc<Mutex<candor_status::db::StatusDb>>>,
    /// Called after every status write (wakes the notifier, re-renders the page).
    pub status_changed: Arc<dyn Fn() + Send + Sync>,
    /// Webhook subscriptions may name loopback and private addresses (the
    /// notifier then delivers there too). Off by default: any account can
    /// subscribe, and must not make Candor call its internal network.
    pub webhook_allow_private: bool,
    /// What is wrong with a zone's serving, by zone name (its stored
    /// version does not compile, ALIAS targets nobody resolves, ...):
    /// shown by the distribution endpoints. Runs on a blocking thread.
    pub zone_notes: ZoneNotes,
}

/// The hook that tells what is wrong with a zone's serving (see
/// [`ApiState::zone_notes`]).
pub type ZoneNotes = Arc<dyn Fn(&Store, &str) -> Vec<ZoneNote> + Send + Sync>;

/// A problem with how a zone is served, as the distribution endpoints
/// show it (`{"code": ..., "message": ...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneNote {
    /// A stable identifier of the kind of problem.
    pub code: &'static str,
    /// What is wrong and what it means for the zone, in words.
    pub message: String,
}

/// The state every handler shares.
pub(crate) struct Shared {
    /// The store.
    store: Arc<Store>,
    /// The publish hook.
    publish: Arc<dyn Fn(&ZoneChange) + Send + Sync>,
    /// Name servers asked by the distribution checks.
    nameservers: Vec<SocketAddr>,
    /// Per-token request counts.
    limiter: RateLimiter,
    /// Held across each write and its publication, so changes are
    /// published in the order the store committed them: otherwise two
    /// concurrent writes to one zone could publish the older zone last.
    write_lock: Mutex<()>,
    /// The status page's database; `None` when the page does not run.
    status: Option<Arc<Mutex<candor_status::db::StatusDb>>>,
    /// Called after every successful status write, with the database
    /// unlocked.
    status_changed: Arc<dyn Fn() + Send + Sync>,
    /// See [`ApiState::webhook_allow_private`].
    webhook_allow_private: bool,
    /// See [`ApiState::zone_notes`].
    zone_notes: ZoneNotes,
}

/// The handlers' state: cheap to clone.
pub(crate) type AppState = Arc<Shared>;

impl Shared {
    /// Runs a read against the store on the blocking pool. `target` names
    /// what was asked for, for not-found messages.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, target: Target, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(result) => result.map_err(|e| ApiError::store(e, &target)),
            Err(join) => Err(ApiError::internal(&format!("store task failed: {join}"))),
        }
    }

    /// Runs a write against the store on the blocking pool and publishes
    /// its change before returning. Failed writes publish nothing.
    pub(crate) async fn write<T, F>(self: &Arc<Self>, target: Target, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<(T, ZoneChange), StoreError> + Send + 'static,
    {
        let shared = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || -> Result<T, StoreError> {
            // The guard protects no data, so a poisoned lock is still usable.
            let _order = shared
                .write_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (value, change) = f(&shared.store)?;
            (shared.publish)(&change);
            Ok(value)
        });
        match task.await {
            Ok(result) => result.map_err(|e| ApiError::store(e, &target)),
            Err(join) => Err(ApiError::internal(&format!("store task failed: {join}"))),
        }
    }
}

/// One route: method, path (axum syntax) and handler. The router is built
/// from this table and the OpenAPI test checks the document against it.
pub(crate) struct Route {
    /// HTTP method, upper case. The handler already knows its method; this
    /// copy is for the OpenAPI test, which compares it with the document.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) method: &'static str,
    /// Path with `{param}` placeholders, as in OpenAPI.
    pub(crate) path: &'static str,
    /// Whether the route needs a token.
    pub(crate) authenticated: bool,
    /// The handler.
    pub(crate) handler: MethodRouter<AppState>,
}

/// Every route of the API.
pub(crate) fn routes() -> Vec<Route> {
    use handlers::{distribution as dist, domains, identity, records, settings, status, zones};
    /// Shorthand for an authenticated route.
    fn auth(method: &'static str, path: &'static str, handler: MethodRouter<AppState>) -> Route {
        Route {
            method,
            path,
            authenticated: true,
            handler,
        }
    }
    vec![
        Route {
            method: "GET",
            path: "/v2/openapi.json",
            authenticated: false,
            handler: get(openapi::document),
        },
        auth("GET", "/v2/whoami", get(identity::whoami)),
        auth("GET", "/v2/accounts", get(identity::accounts)),
        auth("GET", "/v2/{account}/domains", get(domains::list)),
        auth("POST", "/v2/{account}/domains", post(domains::create)),
        auth("GET", "/v2/{account}/domains/{domain}", get(domains::show)),
        auth(
            "DELETE",
            "/v2/{account}/domains/{domain}",
            delete(domains::destroy),
        ),
        auth("GET", "/v2/{account}/zones", get(zones::list)),
        auth("GET", "/v2/{account}/zones/{zone}", get(zones::show)),
        auth("GET", "/v2/{account}/zones/{zone}/file", get(zones::file)),
        auth("PUT", "/v2/{account}/zones/{zone}/file", put(zones::import)),
        auth(
            "GET",
            "/v2/{account}/zones/{zone}/distribution",
            get(dist::zone),
        ),
        auth(
            "GET",
            "/v2/{account}/zones/{zone}/records",
            get(records::list),
        ),
        auth(
            "POST",
            "/v2/{account}/zones/{zone}/records",
            post(records::create),
        ),
        auth(
            "GET",
            "/v2/{account}/zones/{zone}/records/{record}",
            get(records::show),
        ),
        auth(
            "PATCH",
            "/v2/{account}/zones/{zone}/records/{record}",
            patch(records::update),
        ),
        auth(
            "DELETE",
            "/v2/{account}/zones/{zone}/records/{record}",
            delete(records::destroy),
        ),
        auth(
            "GET",
            "/v2/{account}/zones/{zone}/records/{record}/distribution",
            get(dist::record),
        ),
        auth(
            "POST",
            "/v2/{account}/zones/{zone}/batch",
            post(records::batch),
        ),
        auth(
            "GET",
            "/v2/{account}/settings/alias_refresh",
            get(settings::show),
        ),
        auth(
            "PUT",
            "/v2/{account}/settings/alias_refresh",
            put(settings::update),
        ),
        auth(
            "GET",
            "/v2/{account}/status/components",
            get(status::components),
        ),
        auth(
            "GET",
            "/v2/{account}/status/incidents",
            get(status::incidents),
        ),
        auth(
            "POST",
            "/v2/{account}/status/incidents",
            post(status::open_incident),
        ),
        auth(
            "GET",
            "/v2/{account}/status/incidents/{incident}",
            get(status::incident),
        ),
        auth(
            "PATCH",
            "/v2/{account}/status/incidents/{incident}",
            patch(status::edit_incident),
        ),
        auth(
            "POST",
            "/v2/{account}/status/incidents/{incident}/updates",
            post(status::post_update),
        ),
        auth(
            "PUT",
            "/v2/{account}/status/incidents/{incident}/postmortem",
            put(status::postmortem),
        ),
        auth(
            "PATCH",
            "/v2/{account}/status/updates/{update}",
            patch(status::edit_update),
        ),
        auth(
            "GET",
            "/v2/{account}/status/maintenances",
            get(status::maintenances),
        ),
        auth(
            "PATCH",
            "/v2/{account}/status/maintenances/{incident}",
            patch(status::reschedule),
        ),
        auth(
            "POST",
            "/v2/{account}/status/maintenances/{incident}/cancel",
            post(status::cancel),
        ),
        auth(
            "GET",
            "/v2/{account}/status/subscriptions",
            get(status::subscriptions),
        ),
        auth(
            "POST",
            "/v2/{account}/status/subscriptions",
            post(status::subscribe),
        ),
        auth(
            "DELETE",
            "/v2/{account}/status/subscriptions/{subscription}",
            delete(status::unsubscribe),
        ),
        auth(
            "POST",
            "/v2/{account}/status/subscriptions/{subscription}/enable",
            post(status::enable_subscription),
        ),
    ]
}

/// Builds the API router. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the audit log
/// records the client's address.
pub fn router(state: ApiState) -> Router {
    let shared: AppState = Arc::new(Shared {
        store: state.store,
        publish: state.publish,
        nameservers: state.nameservers,
        limiter: RateLimiter::new(state.rate_limit_per_hour),
        write_lock: Mutex::new(()),
        status: state.status,
        status_changed: state.status_changed,
        webhook_allow_private: state.webhook_allow_private,
        zone_notes: state.zone_notes,
    });
    let mut public = Router::new();
    let mut private = Router::new();
    for route in routes() {
        if route.authenticated {
            private = private.route(route.path, route.handler);
        } else {
            public = public.route(route.path, route.handler);
        }
    }
    let private = private.route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(&shared),
        auth::authenticate,
    ));
    public
        .merge(private)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(shared)
}
