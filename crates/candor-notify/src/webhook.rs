//! Webhook delivery: one signed JSON POST, its response classified.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};

use crate::signature::{SIGNATURE_HEADER, sign};
use crate::{DeliveryError, io_cause, source_chain};

/// The header naming the event, such as `incident.created`.
pub const EVENT_HEADER: &str = "X-Candor-Event";

/// The header carrying the delivery's idempotency key, the same on every
/// retry so receivers can drop duplicates.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The `User-Agent` of webhook requests.
pub const USER_AGENT: &str = concat!("candor-status/", env!("CARGO_PKG_VERSION"));

/// One webhook delivery: what to POST where, and the secret to sign it with.
#[derive(Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The subscriber's `http` or `https` URL.
    pub url: &'a str,
    /// The subscriber's signing secret (see the crate documentation).
    pub secret: &'a [u8],
    /// The event name sent in `X-Candor-Event`.
    pub event: &'a str,
    /// Sent in `Idempotency-Key`; keep it across retries of one delivery.
    pub idempotency_key: &'a str,
    /// The JSON body, sent and signed byte for byte.
    pub body: &'a [u8],
}

impl std::fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("event", &self.event)
            .field("idempotency_key", &self.idempotency_key)
            .field("body", &String::from_utf8_lossy(self.body))
            .finish()
    }
}

/// A webhook sender: an HTTP client that follows no redirects, times out
/// whole requests, and trusts the Mozilla root certificates (rustls).
///
/// Cloning is cheap and shares the connection pool.
#[derive(Clone, Debug)]
pub struct Webhooks {
    /// The HTTP client, configured once.
    client: reqwest::Client,
    /// The limit on connecting plus the whole exchange, for error messages.
    timeout: Duration,
    /// Loopback and private destinations are allowed (tests, or an
    /// operator whose receivers live on the private network).
    allow_private: bool,
}

impl Webhooks {
    /// A sender whose requests give up after `timeout` (connecting, sending
    /// and waiting for the response head together), and that only sends to
    /// public addresses (see [`is_public`](crate::is_public)).
    pub fn new(timeout: Duration) -> Result<Webhooks, DeliveryError> {
        Webhooks::build(timeout, false)
    }

    /// Like [`Webhooks::new`], but also sending to loopback, private and
    /// other non-public addresses. Only for receivers the operator trusts:
    /// any account can register a webhook URL.
    pub fn allowing_private(timeout: Duration) -> Result<Webhooks, DeliveryError> {
        Webhooks::build(timeout, true)
    }

    fn build(timeout: Duration, allow_private: bool) -> Result<Webhooks, DeliveryError> {
        let mut builder = reqwest::Client::builder();
        if !allow_private {
            builder = builder.dns_resolver(crate::destination::PublicOnly);
        }
        let client = builder
            .user_agent(USER_AGENT)
            // A redirect would send the signed body somewhere the subscriber
            // did not register; the response is classified instead.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .tls_backend_preconfigured(tls_config()?)
            .build()
            .map_err(|e| {
                DeliveryError::permanent(format!("cannot set up the webhook HTTP client: {e}"))
            })?;
        Ok(Webhooks {
            client,
            timeout,
            allow_private,
        })
    }

    /// POSTs one webhook, signed with a fresh timestamp, and returns the
    /// response's status when it is 2xx.
    ///
    /// Errors are [`Permanent`](crate::FailureKind::Permanent) for an
    /// invalid or non-http(s) URL, an event name or key that cannot be a
    /// header value, 3xx (redirects are not followed), 410 Gone and other
    /// 4xx; [`Transient`](crate::FailureKind::Transient) for 408, 429, 5xx,
    /// timeouts and connection failures.
    pub async fn deliver(&self, req: &WebhookRequest<'_>) -> Result<u16, DeliveryError> {
        let url = parse_url(req.url)?;
        let shown = display_url(&url);
        if !self.allow_private {
            let literal = url
                .host_str()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                .and_then(|h| h.parse::<std::net::IpAddr>().ok());
            if let Some(ip) = literal.filter(|ip| !crate::is_public(*ip)) {
                return Err(DeliveryError::permanent(format!(
                    "{shown}: {ip} is not a public address; webhooks go to public addresses only"
                )));
            }
        }
        let event = header_value(EVENT_HEADER, req.event)?;
        let idempotency_key = header_value(IDEMPOTENCY_HEADER, req.idempotency_key)?;
        let signature = sign(req.secret, unix_now(), req.body);
        let response = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(EVENT_HEADER, event)
            .header(IDEMPOTENCY_HEADER, idempotency_key)
            .header(SIGNATURE_HEADER, signature)
            .body(req.body.to_vec())
            .send()
            .await
            .map_err(|e| self.request_error(&e, &shown))?;
        classify_status(response.status(), &shown)
    }

    /// Classifies an error from sending a request (not an HTTP status).
    fn request_error(&self, error: &reqwest::Error, shown: &str) -> DeliveryError {
        if error.is_timeout() {
            return DeliveryError::transient(format!(
                "timed out after {} ms waiting for {shown}",
                self.timeout.as_millis()
            ));
        }
        if error.is_builder() {
            return DeliveryError::permanent(format!(
                "cannot build a request to {shown}: {}",
                source_chain(error)
            ));
        }
        if error.is_connect() {
            let refused = io_cause(error)
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
            return if refused {
                DeliveryError::transient(format!("connection refused by {shown}"))
            } else {
                DeliveryError::transient(format!(
                    "cannot connect to {shown}: {}",
                    source_chain(error)
                ))
            };
        }
        DeliveryError::transient(format!(
            "request to {shown} failed: {}",
            source_chain(error)
        ))
    }
}

/// Maps a response status to the delivery's outcome.
fn classify_status(status: StatusCode, shown: &str) -> Result<u16, DeliveryError> {
    let code = status.as_u16();
    let described = match status.canonical_reason() {
        Some(reason) => format!("HTTP {code} {reason} from {shown}"),
        None => format!("HTTP {code} from {shown}"),
    };
    match code {
        200..=299 => Ok(code),
        300..=399 => Err(DeliveryError::permanent(format!(
            "{described}: redirects are not followed"
        ))),
        410 => Err(DeliveryError::permanent(format!(
            "{described}: the receiver asks us to stop sending"
        ))),
        408 | 429 | 500..=599 => Err(DeliveryError::transient(described)),
        400..=499 => Err(DeliveryError::permanent(described)),
        _ => Err(DeliveryError::transient(format!("unexpected {described}"))),
    }
}

/// Parses a subscriber's URL, accepting only `http` and `https`.
fn parse_url(url: &str) -> Result<Url, DeliveryError> {
    // The URL is not echoed: it may hold a password.
    let parsed = Url::parse(url)
        .map_err(|e| DeliveryError::permanent(format!("invalid webhook URL: {e}")))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some_and(|host| !host.is_empty()) => Ok(parsed),
        "http" | "https" => Err(DeliveryError::permanent("invalid webhook URL: no host")),
        scheme => Err(DeliveryError::permanent(format!(
            "unsupported webhook URL scheme {scheme:?}: only http and https are allowed"
        ))),
    }
}

/// The URL as shown in error messages: without a password, and with the
/// query (which often carries tokens) elided.
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Only fails for URLs without a host, which `parse_url` refused.
    let _ = shown.set_password(None);
    let elided = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    let mut shown = String::from(shown);
    if elided {
        shown.push_str("?…");
    }
    shown
}

/// A request header value, or a permanent error naming the header.
fn header_value(name: &str, value: &str) -> Result<HeaderValue, DeliveryError> {
    HeaderValue::from_str(value).map_err(|_| {
        DeliveryError::permanent(format!("{value:?} is not a valid {name} header value"))
    })
}

/// The TLS configuration of webhook requests: rustls with the ring provider
/// (the one lettre uses too) and the Mozilla roots from `webpki-roots`.
fn tls_config() -> Result<rustls::ClientConfig, DeliveryError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| DeliveryError::permanent(format!("cannot set up webhook TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(config)
}

/// The current Unix time in seconds (0 if the clock is before 1970).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
