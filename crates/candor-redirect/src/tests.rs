//! Tests of the redirect map and the router, driven through
//! `tower::ServiceExt::oneshot` and, once, over a real TCP connection.

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use super::*;

/// Builds a published map from `(host, target)` pairs the test knows to be valid.
fn shared(entries: &[(&str, &str)]) -> SharedRedirects {
    let redirects = Redirects::new(
        entries
            .iter()
            .map(|(host, target)| ((*host).to_owned(), parse_target(target).unwrap())),
    );
    Arc::new(ArcSwap::from_pointee(redirects))
}

/// A response reduced to what the tests look at.
struct Answer {
    /// The status code.
    status: StatusCode,
    /// The `Location` header, if any.
    location: Option<String>,
    /// The `Content-Type` header, if any.
    content_type: Option<String>,
    /// The `Content-Length` header, if any.
    content_length: Option<String>,
    /// The `Cache-Control` header, if any.
    cache_control: Option<String>,
    /// The body as text.
    body: String,
}

/// Sends one request with the given method, target and optional `Host` header.
async fn send(redirects: &SharedRedirects, method: &str, uri: &str, host: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = router(redirects.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let status = response.status();
    let location = header("location");
    let content_type = header("content-type");
    let content_length = header("content-length");
    let cache_control = header("cache-control");
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Answer {
        status,
        location,
        content_type,
        content_length,
        cache_control,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Sends a `GET` for `uri` with the given `Host` header.
async fn get(redirects: &SharedRedirects, uri: &str, host: &str) -> Answer {
    send(redirects, "GET", uri, Some(host)).await
}

#[test]
fn map_normalizes_hosts() {
    let redirects = shared(&[("Example.COM.", "https://t.example/")]);
    let map = redirects.load();
    assert_eq!(map.len(), 1);
    assert!(!map.is_empty());
    assert!(map.get("example.com").is_some());
    assert!(Redirects::default().is_empty());
}

#[tokio::test]
async fn known_host_gets_permanent_redirect() {
    let redirects = shared(&[("example.com", "https://target.example/path")]);
    let answer = get(&redirects, "/anything?q=1", "example.com").await;
    assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://target.example/path")
    );
    assert_eq!(answer.cache_control.as_deref(), Some("max-age=3600"));
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert!(
        answer
            .body
            .contains("<a href=\"https://target.example/path\">")
    );
    assert_eq!(answer.content_length, Some(answer.body.len().to_string()));
}

#[tokio::test]
async fn every_method_is_redirected() {
    let redirects = shared(&[("example.com", "https://target.example/")]);
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let answer = send(&redirects, method, "/x", Some("example.com")).await;
        assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY, "{method}");
    }
}

#[tokio::test]
async fn forwarding_keeps_path_and_query() {
    let redirects = shared(&[
        ("root.example", "https://new.example/*"),
        ("nested.example", "https://new.example/old/*"),
    ]);
    for (host, uri, expected) in [
        ("root.example", "/", "https://new.example/"),
        ("root.example", "/a/b", "https://new.example/a/b"),
        (
            "root.example",
            "/a/b?x=1&y=2",
            "https://new.example/a/b?x=1&y=2",
        ),
        ("root.example", "/?x=1", "https://new.example/?x=1"),
        ("nested.example", "/", "https://new.example/old/"),
        (
            "nested.example",
            "/a/b?x=1",
            "https://new.example/old/a/b?x=1",
        ),
    ] {
        let answer = get(&redirects, uri, host).await;
        assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(answer.location.as_deref(), Some(expected), "{host}{uri}");
    }
}

#[tokio::test]
async fn host_is_normalized() {
    let redirects = shared(&[("example.com", "https://target.example/")]);
    for host in [
        "EXAMPLE.com",
        "example.com:8080",
        "Example.Com.:80",
        "example.com.",
    ] {
        let answer = get(&redirects, "/", host).await;
        assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY, "{host}");
    }
    // An absolute-form request target names the host itself.
    let answer = send(&redirects, "GET", "http://Example.com/x", None).await;
    assert_eq!(answer.status, StatusCode::MOVED_PERMANENTLY);
}

#[tokio::test]
async fn ip_literal_hosts_are_looked_up() {
    let redirects = shared(&[
        ("192.0.2.1", "https://v4.example/"),
        ("[2001:db8::1]", "https://v6.example/"),
    ]);
    let v4 = get(&redirects, "/", "192.0.2.1:8080").await;
    assert_eq!(v4.location.as_deref(), Some("https://v4.example/"));
    let v6 = get(&redirects, "/", "[2001:DB8::1]:80").await;
    assert_eq!(v6.location.as_deref(), Some("https://v6.example/"));
}

#[tokio::test]
async fn unknown_host_is_not_found() {
    let redirects = shared(&[("example.com", "https://target.example/")]);
    let answer = get(&redirects, "/", "other.example").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.location, None);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.body, UNKNOWN_HOST_BODY);
}

#[tokio::test]
async fn missing_or_invalid_host_is_bad_request() {
    let redirects = shared(&[("example.com", "https://target.example/")]);
    let missing = send(&redirects, "GET", "/", None).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body, BAD_HOST_BODY);
    for host in [
        "",
        "exa mple.com",
        "example.com:",
        "example.com:99999",
        "example.com:1:2",
        "user@example.com",
        "[::1",
        "<script>",
        "a..b",
    ] {
        let answer = get(&redirects, "/", host).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{host:?}");
        assert_eq!(answer.location, None);
    }
}

#[tokio::test]
async fn head_has_headers_without_body() {
    let redirects = shared(&[("example.com", "https://target.example/path")]);
    let full = get(&redirects, "/", "example.com").await;
    let head = send(&redirects, "HEAD", "/", Some("example.com")).await;
    assert_eq!(head.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(head.location, full.location);
    assert_eq!(head.content_type, full.content_type);
    assert_eq!(head.content_length, full.content_length);
    assert_eq!(head.cache_control, full.cache_control);
    assert_eq!(head.body, "");

    let unknown = send(&redirects, "HEAD", "/", Some("other.example")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, "");
}

#[tokio::test]
async fn html_body_escapes_the_target() {
    let target = "https://t.example/a\"b<c>d&e'f";
    let redirects = shared(&[("example.com", target)]);
    let answer = get(&redirects, "/", "example.com").await;
    assert_eq!(answer.location.as_deref(), Some(target));
    let escaped = "https://t.example/a&quot;b&lt;c&gt;d&amp;e&#39;f";
    assert!(
        answer
            .body
            .contains(&format!("<a href=\"{escaped}\">{escaped}</a>")),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains("<c>"));
    assert!(!answer.body.contains("a\"b"));
}

#[tokio::test]
async fn published_map_is_swapped() {
    let redirects = shared(&[("example.com", "https://old.example/")]);
    let before = get(&redirects, "/", "example.com").await;
    assert_eq!(before.location.as_deref(), Some("https://old.example/"));
    redirects.store(Arc::new(Redirects::new([(
        "example.com".to_owned(),
        parse_target("https://new.example/").unwrap(),
    )])));
    let after = get(&redirects, "/", "example.com").await;
    assert_eq!(after.location.as_deref(), Some("https://new.example/"));
}

/// A xorshift64 generator, enough to produce varied inputs without extra crates.
struct XorShift(u64);

impl XorShift {
    /// Returns the next pseudo-random number.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Returns a pseudo-random index below `n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn parse_target_never_panics_on_random_input() {
    // Fragments that steer the generator towards almost-valid URLs.
    const PIECES: &[&str] = &[
        "http://", "https://", "HTTPS://", "[", "]", ":", "::", "@", "#", "/", "/*", "*", "?", ".",
        "-", "_", "a", "Z", "0", "9", "255", "65535", "99999", "xn--", "%2F", " ", "\t", "\u{0}",
        "\u{7f}", "é", "\u{200b}", "\"", "<", ">", "&", "'", "\\",
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut input = String::new();
        if rng.below(3) != 0 {
            input.push_str(["http://", "https://"][rng.below(2)]);
        }
        for _ in 0..rng.below(12) {
            input.push_str(PIECES[rng.below(PIECES.len())]);
        }
        if let Ok(target) = parse_target(&input) {
            accepted += 1;
            // Whatever is accepted must make a valid header for any request path.
            for path in ["", "/", "/a/b?x=1", "//x"] {
                let location = target.location(path);
                assert!(HeaderValue::from_str(&location).is_ok(), "{input:?}");
                assert!(location.starts_with("http"), "{input:?}");
            }
        }
    }
    assert!(
        accepted > 0,
        "the generator should produce some valid targets"
    );
}

#[tokio::test]
async fn serves_real_http_over_tcp() {
    let redirects = shared(&[("example.com", "https://new.example/*")]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router(redirects)).await });

    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /a/b?x=1 HTTP/1.1\r\nHost: Example.com:80\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap().to_ascii_lowercase();
    assert!(
        response.starts_with("http/1.1 301 moved permanently\r\n"),
        "{response}"
    );
    assert!(
        response.contains("\r\nlocation: https://new.example/a/b?x=1\r\n"),
        "{response}"
    );
    assert!(response.contains("\r\ncache-control: max-age=3600\r\n"));
    server.abort();
}
