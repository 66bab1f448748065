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
//! - `/v2/{account}/tsig_keys`: the TSIG keys of zone transfers and NOTIFY
//!   (the operator's account only; a key's secret is shown at creation
//!   only).

#![forbid(unsafe_code)]

mod auth;
mod body;
mod distribution;
mod error;
mod handlers;
mod observe;
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

use crate::auth::Access;
use crate::error::{ApiError, Target};
use crate::rate::RateLimiter;

pub use distribution::{Reply as SoaReply, ask_soa};
pub use observe::{Observe, READY_TIMEOUT, Readiness, metrics_router};

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
    /// Per-zone traffic of the UDP workers (`GET …/traffic/top`); `None`
    /// when it is not counted.
    pub traffic: Option<Arc<candor_traffic::Traffic>>,
    /// The secondaries of every zone, reported on by the distribution
    /// endpoints.
    pub secondaries: Secondaries,
}

/// The secondaries (standard or Candor) that serve every zone from this
/// primary: the distribution endpoints ask each of them for the zone's SOA
/// and say how far behind it is.
#[derive(Clone)]
pub struct Secondaries {
    /// Where they answer DNS.
    pub addrs: Vec<std::net::SocketAddr>,
    /// The lag of a secondary serving the given serial of a zone (`None`:
    /// not serving the zone), from the primary's memory of when it served
    /// which serial; `None` when the primary does not serve the zone.
    pub lag: LagOf,
}

/// See [`Secondaries::lag`].
pub type LagOf = Arc<dyn Fn(&candor_wire::Name, Option<u32>) -> Option<SecondaryLag> + Send + Sync>;

/// A secondary's lag behind the primary for one zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecondaryLag {
    /// Serials behind (0 when current); `None` when it does not serve the
    /// zone.
    pub serials: Option<u32>,
    /// Seconds since the primary first served a serial it does not have.
    pub seconds: u64,
}

impl Secondaries {
    /// No secondaries.
    pub fn none() -> Secondaries {
        Secondaries {
            addrs: Vec::new(),
            lag: Arc::new(|_, _| None),
        }
    }
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
    /// See [`ApiState::traffic`].
    traffic: Option<Arc<candor_traffic::Traffic>>,
    /// See [`ApiState::secondaries`].
    secondaries: Secondaries,
    /// See [`Observe::ready`].
    ready: Readiness,
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

impl Shared {
    /// Runs a write that changes any number of zones (deleting an account)
    /// on the blocking pool and publishes every change before returning.
    pub(crate) async fn write_all<F>(self: &Arc<Self>, target: Target, f: F) -> Result<(), ApiError>
    where
        F: FnOnce(&Store) -> Result<Vec<ZoneChange>, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            // The guard protects no data, so a poisoned lock is still usable.
            let _order = shared
                .write_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for change in f(&shared.store)? {
                (shared.publish)(&change);
            }
            Ok(())
        });
        match task.await {
            Ok(result) => result.map_err(|e| ApiError::store(e, &target)),
            Err(join) => Err(ApiError::internal(&format!("store task failed: {join}"))),
        }
    }
}

/// One route: method, path (axum syntax), who may call it and handler. The
/// router is built from this table, the OpenAPI test checks the document
/// against it and the role test checks every route for every role.
pub(crate) struct Route {
    /// HTTP method, upper case. The handler already knows its method; this
    /// copy is for the tests, which compare it with the document and call
    /// every route.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) method: &'static str,
    /// Path with `{param}` placeholders, as in OpenAPI.
    pub(crate) path: &'static str,
    /// Who may call the route.
    pub(crate) access: Access,
    /// The handler.
    pub(crate) handler: MethodRouter<AppState>,
}

/// Every route of the API, with who may call it (see [`Access`]; the
/// README's role table is checked against this).
pub(crate) fn routes() -> Vec<Route> {
    use Access::{Member, Operator, OperatorMember, Owner, Public, Token};
    use handlers::{
        accounts, audit, distribution as dist, dnssec, domains, identity, records, settings,
        status, traffic, tsig, zones,
    };
    /// Shorthand for a route.
    fn route(
        method: &'static str,
        path: &'static str,
        access: Access,
        handler: MethodRouter<AppState>,
    ) -> Route {
        Route {
            method,
            path,
            access,
            handler,
        }
    }
    vec![
        route("GET", "/v2/openapi.json", Public, get(openapi::document)),
        route("GET", "/healthz", Public, get(observe::healthz)),
        route("GET", "/readyz", Public, get(observe::readyz)),
        route("GET", "/v2/whoami", Token, get(identity::whoami)),
        route("GET", "/v2/accounts", Token, get(identity::accounts)),
        route("POST", "/v2/accounts", Operator, post(accounts::create)),
        route(
            "DELETE",
            "/v2/accounts/{customer}",
            Operator,
            delete(accounts::destroy),
        ),
        route(
            "POST",
            "/v2/accounts/{customer}/suspend",
            Operator,
            post(accounts::suspend),
        ),
        route(
            "POST",
            "/v2/accounts/{customer}/unsuspend",
            Operator,
            post(accounts::unsuspend),
        ),
        route("GET", "/v2/{account}/tokens", Owner, get(accounts::tokens)),
        route(
            "POST",
            "/v2/{account}/tokens",
            Owner,
            post(accounts::create_token),
        ),
        route(
            "DELETE",
            "/v2/{account}/tokens/{token}",
            Owner,
            delete(accounts::revoke_token),
        ),
        route("GET", "/v2/{account}/audit_log", Owner, get(audit::list)),
        route(
            "GET",
            "/v2/{account}/members",
            Member,
            get(accounts::members),
        ),
        route(
            "POST",
            "/v2/{account}/members",
            Owner,
            post(accounts::add_member),
        ),
        route(
            "DELETE",
            "/v2/{account}/members/{user}",
            Owner,
            delete(accounts::remove_member),
        ),
        route("GET", "/v2/{account}/domains", Member, get(domains::list)),
        route(
            "POST",
            "/v2/{account}/domains",
            Owner,
            post(domains::create),
        ),
        route(
            "GET",
            "/v2/{account}/domains/{domain}",
            Member,
            get(domains::show),
        ),
        route(
            "DELETE",
            "/v2/{account}/domains/{domain}",
            Owner,
            delete(domains::destroy),
        ),
        route(
            "GET",
            "/v2/{account}/domains/{domain}/dnssec",
            Member,
            get(dnssec::show),
        ),
        route(
            "POST",
            "/v2/{account}/domains/{domain}/dnssec",
            Owner,
            post(dnssec::enable),
        ),
        route(
            "DELETE",
            "/v2/{account}/domains/{domain}/dnssec",
            Owner,
            delete(dnssec::disable),
        ),
        route(
            "POST",
            "/v2/{account}/domains/{domain}/dnssec/rollover",
            Owner,
            post(dnssec::rollover),
        ),
        route(
            "POST",
            "/v2/{account}/domains/{domain}/dnssec/ds_seen",
            Owner,
            post(dnssec::ds_seen),
        ),
        route(
            "GET",
            "/v2/{account}/domains/{domain}/ds_records",
            Member,
            get(dnssec::ds_records),
        ),
        route("GET", "/v2/{account}/zones", Member, get(zones::list)),
        route(
            "GET",
            "/v2/{account}/zones/{zone}",
            Member,
            get(zones::show),
        ),
        route(
            "GET",
            "/v2/{account}/zones/{zone}/file",
            Member,
            get(zones::file),
        ),
        route(
            "PUT",
            "/v2/{account}/zones/{zone}/file",
            Member,
            put(zones::import),
        ),
        route(
            "GET",
            "/v2/{account}/zones/{zone}/distribution",
            Member,
            get(dist::zone),
        ),
        route(
            "GET",
            "/v2/{account}/zones/{zone}/records",
            Member,
            get(records::list),
        ),
        route(
            "POST",
            "/v2/{account}/zones/{zone}/records",
            Member,
            post(records::create),
        ),
        route(
            "GET",
            "/v2/{account}/zones/{zone}/records/{record}",
            Member,
            get(records::show),
        ),
        route(
            "PATCH",
            "/v2/{account}/zones/{zone}/records/{record}",
            Member,
            patch(records::update),
        ),
        route(
            "DELETE",
            "/v2/{account}/zones/{zone}/records/{record}",
            Member,
            delete(records::destroy),
        ),
        route(
            "GET",
            "/v2/{account}/zones/{zone}/records/{record}/distribution",
            Member,
            get(dist::record),
        ),
        route(
            "POST",
            "/v2/{account}/zones/{zone}/batch",
            Member,
            post(records::batch),
        ),
        route(
            "GET",
            "/v2/{account}/settings/alias_refresh",
            OperatorMember,
            get(settings::show),
        ),
        route(
            "PUT",
            "/v2/{account}/settings/alias_refresh",
            Operator,
            put(settings::update),
        ),
        route(
            "GET",
            "/v2/{account}/traffic/top",
            OperatorMember,
            get(traffic::top),
        ),
        route(
            "GET",
            "/v2/{account}/tsig_keys",
            OperatorMember,
            get(tsig::list),
        ),
        route(
            "POST",
            "/v2/{account}/tsig_keys",
            Operator,
            post(tsig::create),
        ),
        route(
            "DELETE",
            "/v2/{account}/tsig_keys/{key}",
            Operator,
            delete(tsig::destroy),
        ),
        route(
            "GET",
            "/v2/{account}/status/components",
            OperatorMember,
            get(status::components),
        ),
        route(
            "GET",
            "/v2/{account}/status/incidents",
            OperatorMember,
            get(status::incidents),
        ),
        route(
            "POST",
            "/v2/{account}/status/incidents",
            Operator,
            post(status::open_incident),
        ),
        route(
            "GET",
            "/v2/{account}/status/incidents/{incident}",
            OperatorMember,
            get(status::incident),
        ),
        route(
            "PATCH",
            "/v2/{account}/status/incidents/{incident}",
            Operator,
            patch(status::edit_incident),
        ),
        route(
            "POST",
            "/v2/{account}/status/incidents/{incident}/updates",
            Operator,
            post(status::post_update),
        ),
        route(
            "PUT",
            "/v2/{account}/status/incidents/{incident}/postmortem",
            Operator,
            put(status::postmortem),
        ),
        route(
            "PATCH",
            "/v2/{account}/status/updates/{update}",
            Operator,
            patch(status::edit_update),
        ),
        route(
            "GET",
            "/v2/{account}/status/maintenances",
            OperatorMember,
            get(status::maintenances),
        ),
        route(
            "PATCH",
            "/v2/{account}/status/maintenances/{incident}",
            Operator,
            patch(status::reschedule),
        ),
        route(
            "POST",
            "/v2/{account}/status/maintenances/{incident}/cancel",
            Operator,
            post(status::cancel),
        ),
        route(
            "GET",
            "/v2/{account}/status/subscriptions",
            Member,
            get(status::subscriptions),
        ),
        route(
            "POST",
            "/v2/{account}/status/subscriptions",
            Owner,
            post(status::subscribe),
        ),
        route(
            "DELETE",
            "/v2/{account}/status/subscriptions/{subscription}",
            Owner,
            delete(status::unsubscribe),
        ),
        route(
            "POST",
            "/v2/{account}/status/subscriptions/{subscription}/enable",
            Owner,
            post(status::enable_subscription),
        ),
    ]
}

/// Builds the API router, always ready and with metrics nobody reads (see
/// [`router_with`]). Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the audit log
/// records the client's address.
pub fn router(state: ApiState) -> Router {
    router_with(state, Observe::default())
}

/// Builds the API router, counting requests into `observe.http` and
/// answering `/readyz` with `observe.ready`. Every request, matched or not,
/// is written to the access log (target `candor::access`).
pub fn router_with(state: ApiState, observe: Observe) -> Router {
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
        traffic: state.traffic,
        secondaries: state.secondaries,
        ready: observe.ready,
    });
    let mut public = Router::new();
    let mut private = Router::new();
    for route in routes() {
        if route.access == Access::Public {
            public = public.route(route.path, route.handler);
        } else {
            let handler = route
                .handler
                .route_layer(axum::middleware::from_fn_with_state(
                    route.access,
                    auth::authorize,
                ));
            private = private.route(route.path, handler);
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
        .layer(axum::middleware::from_fn_with_state(
            observe.http,
            observe::access,
        ))
        .with_state(shared)
}
