//! The public subscription forms, which need no account and no
//! JavaScript: `POST /subscribe` (an e-mail address or a webhook URL),
//! the confirmation link `/subscribe/confirm?token=…` (double opt-in) and
//! the one-click unsubscribe `/unsubscribe?token=…` (RFC 8058: a `POST`
//! with `List-Unsubscribe=One-Click` ends the subscription at once).
//!
//! Links in e-mails only ever `GET` a page with a button; only a `POST`
//! changes anything, so the link checkers of mail systems confirm and
//! unsubscribe nothing. These are the only requests of the public site
//! that reach the database; each client (an IPv4 address or an IPv6 /64)
//! may post [`CLIENT_LIMIT`] forms an hour, and each address is sent at
//! most [`ADDRESS_LIMIT`] confirmation requests a day. Answers never say
//! whether an address is subscribed already.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::limit::Limiter;
use super::{HTML, Web, security_headers};
use crate::db::{PublicEmail, StatusDb, StatusError, now, random_id};
use crate::model::{Channel, PageSnapshot};
use crate::render::html;

/// Forms one client may post per hour.
pub const CLIENT_LIMIT: u32 = 10;
/// Confirmation requests one address is sent per day.
pub const ADDRESS_LIMIT: u32 = 3;
/// Keys each limiter remembers (it refuses new ones beyond).
const LIMITER_KEYS: usize = 100_000;
/// The largest form body read.
const MAX_BODY: usize = 8 * 1024;

/// Checks a webhook URL given on the form; `Err` says why it is refused
/// (e.g. a private address).
pub type CheckWebhook = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// What the forms need: the database and the limits.
pub struct Subscriptions {
    /// The status database.
    db: Arc<Mutex<StatusDb>>,
    /// Called after a write (wakes the notifier).
    changed: Arc<dyn Fn() + Send + Sync>,
    /// Refuses webhook URLs the notifier must not call.
    check_webhook: CheckWebhook,
    /// Forms per client.
    clients: Mutex<Limiter>,
    /// Confirmation requests per address.
    addresses: Mutex<Limiter>,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions").finish_non_exhaustive()
    }
}

impl Subscriptions {
    /// The forms on `db`; `changed` runs after every write.
    pub fn new(
        db: Arc<Mutex<StatusDb>>,
        changed: Arc<dyn Fn() + Send + Sync>,
        check_webhook: CheckWebhook,
    ) -> Subscriptions {
        Subscriptions {
            db,
            changed,
            check_webhook,
            clients: Mutex::new(Limiter::new(CLIENT_LIMIT, 3_600, LIMITER_KEYS)),
            addresses: Mutex::new(Limiter::new(ADDRESS_LIMIT, 86_400, LIMITER_KEYS)),
        }
    }

    /// Runs `f` on the database on the blocking pool.
    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut StatusDb) -> Result<T, StatusError> + Send + 'static,
    ) -> Result<T, StatusError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = db.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StatusError::NotFound(format!("the form ({e})"))))
    }
}

/// An HTML answer that is never cached.
fn page(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(headers);
    response
}

/// A notice page.
fn notice(status: StatusCode, snapshot: &PageSnapshot, title: &str, lines: &[&str]) -> Response {
    page(status, html::notice(snapshot, title, lines))
}

/// The limiter key of a client: its IPv4 address, or its IPv6 /64.
fn client_key(addr: Option<SocketAddr>) -> String {
    match addr.map(|a| a.ip()) {
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    }
}

/// Decodes an `application/x-www-form-urlencoded` body (or query string).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The value of `name` in the fields, trimmed, when not empty.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The query's and the body's fields.
async fn request_fields(req: Request) -> (Option<SocketAddr>, Vec<(String, String)>) {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let mut fields = form_fields(req.uri().query().unwrap_or("").as_bytes());
    if req.method() == Method::POST {
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .unwrap_or_default();
        fields.extend(form_fields(&body));
    }
    (client, fields)
}

/// `POST /subscribe`: an e-mail address (a confirmation request is sent)
/// or a webhook URL (subscribed at once; its secret shown once).
pub(super) async fn subscribe(State(web): State<Web>, req: Request) -> Response {
    let snapshot = web.site.load().page.clone();
    let Some(subs) = web.subscriptions.clone() else {
        return super::method_not_allowed();
    };
    let (client, fields) = request_fields(req).await;
    let at = now();
    let client = client_key(client);
    let allowed = subs
        .clients
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .allow(&client, at);
    if !allowed {
        let wait = subs
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retry_after(&client, at);
        let mut r = notice(
            StatusCode::TOO_MANY_REQUESTS,
            &snapshot,
            "Too many requests",
            &["Too many subscriptions from your network in the last hour. Please try again later."],
        );
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    match (field(&fields, "email"), field(&fields, "webhook_url")) {
        (Some(address), None) => subscribe_email(&subs, &snapshot, address.to_owned(), at).await,
        (None, Some(url)) => subscribe_webhook(&subs, &snapshot, url.to_owned(), at).await,
        _ => notice(
            StatusCode::BAD_REQUEST,
            &snapshot,
            "Nothing to subscribe",
            &["Give either an e-mail address or a webhook URL."],
        ),
    }
}

/// The e-mail half of `POST /subscribe`.
async fn subscribe_email(
    subs: &Subscriptions,
    snapshot: &PageSnapshot,
    address: String,
    at: i64,
) -> Response {
    let done = notice(
        StatusCode::OK,
        snapshot,
        "Check your inbox",
        &[
            &format!(
                "If {address} is not subscribed yet, a link to confirm the subscription is on its way to it."
            ),
            "Nothing else is sent to the address until it is confirmed.",
        ],
    );
    let fresh = subs
        .addresses
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .allow(&address.to_ascii_lowercase(), at);
    if !fresh {
        // The same answer: it must not tell whether the address is known.
        return done;
    }
    match subs
        .with_db(move |db| db.subscribe_public_email(&address, at))
        .await
    {
        Ok(PublicEmail::ConfirmationQueued(_)) => {
            (subs.changed)();
            done
        }
        Ok(PublicEmail::AlreadySubscribed(_)) => done,
        Err(StatusError::Invalid { reason, .. }) => notice(
            StatusCode::BAD_REQUEST,
            snapshot,
            "Not an address",
            &[&reason],
        ),
        Err(e) => notice(
            StatusCode::INTERNAL_SERVER_ERROR,
            snapshot,
            "Not subscribed",
            &[&format!(
                "The subscription could not be saved ({e}). Please try again later."
            )],
        ),
    }
}

/// The webhook half of `POST /subscribe`.
async fn subscribe_webhook(
    subs: &Subscriptions,
    snapshot: &PageSnapshot,
    url: String,
    at: i64,
) -> Response {
    if let Err(why) = (subs.check_webhook)(&url) {
        return notice(
            StatusCode::BAD_REQUEST,
            snapshot,
            "Webhook refused",
            &[&why],
        );
    }
    let secret = random_id(32);
    let given = secret.clone();
    match subs
        .with_db(move |db| db.subscribe_public_webhook(&url, &given, at))
        .await
    {
        Ok(s) => {
            (subs.changed)();
            let url = match &s.channel {
                Channel::Webhook { url, .. } => url.clone(),
                Channel::Email { address } => address.clone(),
            };
            notice(
                StatusCode::CREATED,
                snapshot,
                "Webhook subscribed",
                &[
                    &format!("Incident notifications will be POSTed to {url}."),
                    &format!(
                        "Signing secret (shown only now, keep it): {secret}. Each request carries \
                         X-Candor-Signature: t=…,v1=HMAC-SHA256(secret, t + \".\" + body)."
                    ),
                    &format!(
                        "To end the subscription, POST to {}/unsubscribe?token={} (keep this link \
                         private: it is the only way to remove the webhook).",
                        snapshot.url, s.token
                    ),
                ],
            )
        }
        Err(StatusError::Invalid { reason, .. }) => notice(
            StatusCode::BAD_REQUEST,
            snapshot,
            "Webhook refused",
            &[&reason],
        ),
        Err(e) => notice(
            StatusCode::INTERNAL_SERVER_ERROR,
            snapshot,
            "Not subscribed",
            &[&format!(
                "The subscription could not be saved ({e}). Please try again later."
            )],
        ),
    }
}

/// The answer for a token that names no subscription.
fn unknown_link(snapshot: &PageSnapshot) -> Response {
    notice(
        StatusCode::NOT_FOUND,
        snapshot,
        "Link not valid",
        &["This link names no subscription (any more): it may have ended already."],
    )
}

/// `GET|POST /subscribe/confirm`: a page with a button, and the
/// confirmation it posts.
pub(super) async fn confirm(State(web): State<Web>, req: Request) -> Response {
    let snapshot = web.site.load().page.clone();
    let Some(subs) = web.subscriptions.clone() else {
        return unknown_link(&snapshot);
    };
    let post = req.method() == Method::POST;
    let (_, fields) = request_fields(req).await;
    let token = field(&fields, "token").unwrap_or("").to_owned();
    let at = now();
    let result = if post {
        let token = token.clone();
        subs.with_db(move |db| db.confirm_subscriber(&token, at))
            .await
    } else {
        let token = token.clone();
        subs.with_db(move |db| db.subscriber_by_token(&token)).await
    };
    let s = match result {
        Ok(s) if s.public => s,
        _ => return unknown_link(&snapshot),
    };
    let address = match &s.channel {
        Channel::Email { address } => address.clone(),
        Channel::Webhook { url, .. } => url.clone(),
    };
    if post || s.confirmed_at.is_some() {
        return notice(
            StatusCode::OK,
            &snapshot,
            "Subscribed",
            &[
                &format!(
                    "{address} will hear about incidents and maintenance of {}.",
                    snapshot.name
                ),
                "Every e-mail has a link that ends the subscription in one click.",
            ],
        );
    }
    page(
        StatusCode::OK,
        html::confirm_action(
            &snapshot,
            "Confirm your subscription",
            &format!("Send incident updates of {} to {address}?", snapshot.name),
            "/subscribe/confirm",
            &token,
            "Confirm",
        ),
    )
}

/// `GET|POST /unsubscribe`: a page with a button, and the one-click
/// unsubscribe (RFC 8058) that mail clients and the button post.
pub(super) async fn unsubscribe(State(web): State<Web>, req: Request) -> Response {
    let snapshot = web.site.load().page.clone();
    let Some(subs) = web.subscriptions.clone() else {
        return unknown_link(&snapshot);
    };
    let post = req.method() == Method::POST;
    let (_, fields) = request_fields(req).await;
    let token = field(&fields, "token").unwrap_or("").to_owned();
    let at = now();
    if post {
        let token = token.clone();
        return match subs
            .with_db(move |db| db.unsubscribe_by_token(&token, at))
            .await
        {
            Ok(_) => {
                (subs.changed)();
                notice(
                    StatusCode::OK,
                    &snapshot,
                    "Unsubscribed",
                    &["Nothing more will be sent. You can subscribe again at any time."],
                )
            }
            Err(_) => unknown_link(&snapshot),
        };
    }
    let lookup = token.clone();
    match subs
        .with_db(move |db| db.subscriber_by_token(&lookup))
        .await
    {
        Ok(s) => {
            let target = match &s.channel {
                Channel::Email { address } => address.clone(),
                Channel::Webhook { url, .. } => url.clone(),
            };
            page(
                StatusCode::OK,
                html::confirm_action(
                    &snapshot,
                    "Unsubscribe",
                    &format!("Stop sending updates of {} to {target}?", snapshot.name),
                    &format!("/unsubscribe?token={token}"),
                    &token,
                    "Unsubscribe",
                ),
            )
        }
        Err(_) => unknown_link(&snapshot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        assert_eq!(
            form_fields(b"email=a%2Bb%40example.com&x=1+2&List-Unsubscribe=One-Click&bad=%zz"),
            [
                ("email".to_owned(), "a+b@example.com".to_owned()),
                ("x".to_owned(), "1 2".to_owned()),
                ("List-Unsubscribe".to_owned(), "One-Click".to_owned()),
                ("bad".to_owned(), "%zz".to_owned()),
            ]
        );
        assert_eq!(form_fields(b"a=%4"), [("a".to_owned(), "%4".to_owned())]);
    }

    #[test]
    fn clients_are_keyed_by_address_or_slash_64() {
        assert_eq!(
            client_key(Some("192.0.2.7:5000".parse().unwrap())),
            "192.0.2.7"
        );
        assert_eq!(
            client_key(Some("[2001:db8:1:2:3:4:5:6]:80".parse().unwrap())),
            "2001:db8:1:2::/64"
        );
    }
}
