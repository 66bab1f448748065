//! Router tests: every endpoint driven through `tower::ServiceExt::oneshot`
//! against an in-memory store, with a recording publish hook and, for the
//! distribution checks, real UDP name servers on 127.0.0.1.

mod accounts;
mod distribution;
mod dnssec;
mod domains;
mod errors;
mod identity;
mod observe;
mod openapi;
mod rate;
mod records;
mod roles;
mod settings;
mod status;
mod traffic;
mod tsig;
mod zones;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use candor_answer::{Config, CookieSecrets, Cookies, Transport, respond};
use candor_status::db::StatusDb;
use candor_store::{Store, StoreConfig, ZoneChange};
use candor_wire::Name;
use candor_zone::ZoneSet;
use serde_json::Value;
use tower::ServiceExt;

use crate::{ApiState, Observe, router_with};

/// One call of the publish hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Published {
    /// The zone's name.
    pub(crate) zone: String,
    /// The compiled zone's serial; `None` for a deletion.
    pub(crate) serial: Option<u32>,
}

/// A router over a fresh in-memory store with one account and token.
pub(crate) struct Harness {
    /// The router under test.
    pub(crate) app: Router,
    /// The store behind it.
    pub(crate) store: Arc<Store>,
    /// The seeded account.
    pub(crate) account: i64,
    /// A token for it.
    pub(crate) token: String,
    /// Every call of the publish hook, in order.
    pub(crate) published: Arc<Mutex<Vec<Published>>>,
    /// The status page's database, when the harness runs one.
    pub(crate) status: Option<Arc<Mutex<StatusDb>>>,
    /// Calls of the status change hook.
    pub(crate) status_changes: Arc<AtomicUsize>,
    /// The per-zone traffic counters behind `…/traffic/top`.
    pub(crate) traffic: Arc<candor_traffic::Traffic>,
}

/// A decoded response.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Status.
    pub(crate) status: StatusCode,
    /// Headers.
    pub(crate) headers: HeaderMap,
    /// The JSON body, or `Null` when empty.
    pub(crate) json: Value,
}

impl Reply {
    /// A header as an integer.
    pub(crate) fn header_u64(&self, name: &str) -> u64 {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ASCII header")
            .parse()
            .expect("integer header")
    }

    /// The `errors` keys of an error body.
    pub(crate) fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Store settings for tests.
pub(crate) fn store_config() -> StoreConfig {
    let root = Name::root();
    StoreConfig {
        nameservers: vec![
            Name::from_text("ns1.candor.test", Some(&root)).expect("name"),
            Name::from_text("ns2.candor.test", Some(&root)).expect("name"),
        ],
        hostmaster: Name::from_text("hostmaster.candor.test", Some(&root)).expect("name"),
        default_ttl: 3600,
        soa_refresh: 3600,
        soa_retry: 600,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    }
}

impl Harness {
    /// A harness with a generous rate limit and no name servers.
    pub(crate) fn new() -> Harness {
        Harness::with(10_000, Vec::new())
    }

    /// A harness with this rate limit and these name servers.
    pub(crate) fn with(limit: u32, nameservers: Vec<SocketAddr>) -> Harness {
        Harness::serving(limit, nameservers, Arc::new(Mutex::new(ZoneSet::new())))
    }

    /// A harness whose publish hook keeps `served` (the zones as published,
    /// for test name servers to answer from) up to date.
    pub(crate) fn serving(
        limit: u32,
        nameservers: Vec<SocketAddr>,
        served: Arc<Mutex<ZoneSet>>,
    ) -> Harness {
        Harness::build(limit, nameservers, served, None, Observe::default())
    }

    /// A harness whose router counts into `observe` and answers `/readyz`
    /// with its hook.
    pub(crate) fn observed(observe: Observe) -> Harness {
        let served = Arc::new(Mutex::new(ZoneSet::new()));
        Harness::build(10_000, Vec::new(), served, None, observe)
    }

    /// A harness that also runs the status page, on this database.
    pub(crate) fn with_status(status: StatusDb) -> Harness {
        let served = Arc::new(Mutex::new(ZoneSet::new()));
        Harness::build(10_000, Vec::new(), served, Some(status), Observe::default())
    }

    /// Builds the harness.
    fn build(
        limit: u32,
        nameservers: Vec<SocketAddr>,
        served: Arc<Mutex<ZoneSet>>,
        status: Option<StatusDb>,
        observe: Observe,
    ) -> Harness {
        let store = Arc::new(Store::open_in_memory(store_config()).expect("store"));
        let account = store.create_account("owner@example.com").expect("account");
        let (_, token) = store.create_token(account.id, "tests").expect("token");
        let published = Arc::new(Mutex::new(Vec::new()));
        let publish = {
            let published = Arc::clone(&published);
            let served = Arc::clone(&served);
            move |change: &ZoneChange| {
                let mut set = served.lock().expect("served");
                match &change.compiled {
                    Some(zone) => set.insert(Arc::clone(zone)),
                    None => {
                        let apex = Name::from_text(&change.zone.name, Some(&Name::root()))
                            .expect("zone name");
                        *set = set.without(apex.to_lowercase().as_wire());
                    }
                }
                published.lock().expect("published").push(Published {
                    zone: change.zone.name.clone(),
                    serial: change.compiled.as_ref().map(|z| z.serial()),
                });
            }
        };
        let status = status.map(|db| Arc::new(Mutex::new(db)));
        let status_changes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&status_changes);
        let traffic = Arc::new(candor_traffic::Traffic::new());
        let app = router_with(
            ApiState {
                store: Arc::clone(&store),
                publish: Arc::new(publish),
                nameservers,
                rate_limit_per_hour: limit,
                status: status.clone(),
                webhook_allow_private: false,
                zone_notes: Arc::new(|_: &candor_store::Store, _: &str| Vec::new()),
                traffic: Some(traffic.clone()),
                secondaries: crate::Secondaries::none(),
                status_changed: Arc::new(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                }),
            },
            observe,
        );
        Harness {
            app,
            store,
            account: account.id,
            token,
            published,
            status,
            status_changes,
            traffic,
        }
    }

    /// A second account with its own token: (account id, token).
    pub(crate) fn other_account(&self) -> (i64, String) {
        let account = self
            .store
            .create_account("other@example.com")
            .expect("account");
        let (_, token) = self.store.create_token(account.id, "other").expect("token");
        (account.id, token)
    }

    /// `/v2/{account}` followed by `rest`.
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("/v2/{}{rest}", self.account)
    }

    /// Sends a request with the harness token.
    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let token = self.token.clone();
        self.call_as(Some(&token), method, path, body).await
    }

    /// Sends a request with this token (or none).
    pub(crate) async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|v| v.to_string().into_bytes());
        self.raw(token, method, path, body).await
    }

    /// Sends a request with a raw body.
    pub(crate) async fn raw(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(bytes) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(bytes)),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        send(&self.app, request).await
    }

    /// How many times the publish hook has been called.
    pub(crate) fn publish_count(&self) -> usize {
        self.published.lock().expect("published").len()
    }

    /// The last call of the publish hook.
    pub(crate) fn last_published(&self) -> Published {
        self.published
            .lock()
            .expect("published")
            .last()
            .cloned()
            .expect("something was published")
    }

    /// Creates a zone through the API and returns its JSON.
    pub(crate) async fn create_zone(&self, name: &str) -> Value {
        let reply = self
            .call(
                "POST",
                &self.path("/domains"),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
        reply.json["data"].clone()
    }

    /// Creates a record through the API and returns its JSON.
    pub(crate) async fn create_record(&self, zone: &str, record: Value) -> Value {
        let reply = self
            .call(
                "POST",
                &self.path(&format!("/zones/{zone}/records")),
                Some(record),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
        reply.json["data"].clone()
    }
}

/// Runs one request through the router.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {bytes:?}"))
    };
    Reply {
        status,
        headers,
        json,
    }
}

/// A UDP name server on 127.0.0.1 for distribution checks, answering with
/// the real answer algorithm from a zone set, until dropped.
pub(crate) struct NameServer {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Set to stop the thread.
    stop: Arc<AtomicBool>,
    /// The serving thread.
    thread: Option<JoinHandle<()>>,
}

impl NameServer {
    /// Answers from `zones` as it is at each query.
    pub(crate) fn spawn(zones: Arc<Mutex<ZoneSet>>) -> NameServer {
        NameServer::start(Some(zones))
    }

    /// Receives queries and never answers.
    pub(crate) fn silent() -> NameServer {
        NameServer::start(None)
    }

    /// Binds the socket and starts the thread.
    fn start(zones: Option<Arc<Mutex<ZoneSet>>>) -> NameServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let config = Config {
                max_udp_payload: 1232,
                nsid: None,
                aliases: Default::default(),
                cookies: Cookies::new(CookieSecrets::new([0; 16], None)),
            };
            let mut query = vec![0u8; 4096];
            let mut out = vec![0u8; 65535];
            while !flag.load(Ordering::Relaxed) {
                let Ok((len, peer)) = socket.recv_from(&mut query) else {
                    continue;
                };
                let Some(zones) = &zones else { continue };
                let set = zones.lock().expect("zones");
                if let Some(n) = respond(&set, &config, &dns_request(&query[..len], peer), &mut out)
                {
                    let _ = socket.send_to(&out[..n.len], peer);
                }
            }
        });
        NameServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A copy of a zone set (zones are shared, the set is not).
pub(crate) fn snapshot(set: &Mutex<ZoneSet>) -> ZoneSet {
    ZoneSet::from_zones(set.lock().expect("zones").zones().iter().cloned())
}

/// A UDP request for `msg` from `peer` (the time only dates server
/// cookies, which these tests do not check).
fn dns_request(msg: &[u8], peer: std::net::SocketAddr) -> candor_answer::Request<'_> {
    candor_answer::Request {
        msg,
        transport: Transport::Udp,
        client: peer.ip(),
        now: 0,
    }
}
