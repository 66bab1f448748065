use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::*;
use crate::{FailureKind, VerifyError, verify};

const SECRET: &[u8] = b"whsec_0123456789";
const BODY: &[u8] = br#"{"incident":{"id":7,"status":"investigating"}}"#;

/// One request as the test server received it.
#[derive(Debug)]
struct Received {
    /// The request line, such as `POST /hook HTTP/1.1`.
    request_line: String,
    /// Header names (lowercased) and values, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Starts an HTTP/1.1 server on 127.0.0.1 that answers every request with
/// `status` (plus `extra` header lines) and reports what it received.
async fn server(status: u16, extra: &'static str) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some(received) = read_request(&mut stream).await else {
                continue;
            };
            let _ = sender.send(received);
            let response = format!(
                "HTTP/1.1 {status} Test\r\nContent-Length: 0\r\nConnection: close\r\n{extra}\r\n"
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (format!("http://{address}"), receiver)
}

/// Reads one request with a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        request_line,
        headers,
        body,
    })
}

fn request(url: &str) -> WebhookRequest<'_> {
    WebhookRequest {
        url,
        secret: SECRET,
        event: "incident.created",
        idempotency_key: "delivery-0001",
        body: BODY,
    }
}

fn webhooks() -> Webhooks {
    Webhooks::allowing_private(Duration::from_secs(5)).expect("client")
}

#[tokio::test]
async fn delivers_a_signed_request() {
    let (base, mut received) = server(200, "").await;
    let url = format!("{base}/hook");
    let status = webhooks().deliver(&request(&url)).await;
    assert_eq!(status, Ok(200));

    let got = received.recv().await.expect("a request");
    assert_eq!(got.request_line, "POST /hook HTTP/1.1");
    assert_eq!(got.body, BODY);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-candor-event"), Some("incident.created"));
    assert_eq!(got.header("idempotency-key"), Some("delivery-0001"));
    assert_eq!(got.header("user-agent"), Some(USER_AGENT));
    assert!(USER_AGENT.starts_with("candor-status/"));
    let signature = got.header("x-candor-signature").expect("signature header");
    assert_eq!(verify(SECRET, signature, &got.body, unix_now(), 60), Ok(()));
    assert_eq!(
        verify(b"wrong", signature, &got.body, unix_now(), 60),
        Err(VerifyError::Mismatch)
    );
}

#[tokio::test]
async fn classifies_statuses() {
    let webhooks = webhooks();
    for (status, expected) in [
        (201, None),
        (204, None),
        (500, Some(FailureKind::Transient)),
        (503, Some(FailureKind::Transient)),
        (408, Some(FailureKind::Transient)),
        (429, Some(FailureKind::Transient)),
        (410, Some(FailureKind::Permanent)),
        (404, Some(FailureKind::Permanent)),
        (400, Some(FailureKind::Permanent)),
        (401, Some(FailureKind::Permanent)),
    ] {
        let (base, mut received) = server(status, "").await;
        let url = format!("{base}/hook");
        let result = webhooks.deliver(&request(&url)).await;
        match expected {
            None => assert_eq!(result, Ok(status)),
            Some(kind) => {
                let error = result.expect_err("a failure");
                assert_eq!(error.kind, kind, "{status}: {error}");
                assert!(
                    error.message.starts_with(&format!("HTTP {status} ")),
                    "{error}"
                );
                assert!(error.message.contains(&url), "{error}");
            }
        }
        assert!(received.recv().await.is_some());
    }
}

#[tokio::test]
async fn does_not_follow_redirects() {
    let (base, mut received) = server(302, "Location: /elsewhere\r\n").await;
    let url = format!("{base}/hook");
    let error = webhooks()
        .deliver(&request(&url))
        .await
        .expect_err("a failure");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!(
        error.message,
        format!("HTTP 302 Found from {url}: redirects are not followed")
    );
    let first = received.recv().await.expect("the first request");
    assert_eq!(first.request_line, "POST /hook HTTP/1.1");
    assert!(received.try_recv().is_err(), "the redirect was followed");
}

#[tokio::test]
async fn refused_connection_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    drop(listener);
    let url = format!("http://{address}/hook");
    let error = webhooks()
        .deliver(&request(&url))
        .await
        .expect_err("a failure");
    assert_eq!(error.kind, FailureKind::Transient);
    assert_eq!(error.message, format!("connection refused by {url}"));
}

#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    // Accepts and reads, never answers; the task ends with the test's runtime.
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = read_request(&mut stream).await;
            open.push(stream);
        }
    });
    let webhooks = Webhooks::allowing_private(Duration::from_millis(300)).expect("client");
    let url = format!("http://{address}/hook");
    let started = Instant::now();
    let error = webhooks
        .deliver(&request(&url))
        .await
        .expect_err("a failure");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(error.kind, FailureKind::Transient);
    assert_eq!(
        error.message,
        format!("timed out after 300 ms waiting for {url}")
    );
}

#[tokio::test]
async fn bad_urls_are_permanent() {
    let webhooks = webhooks();
    for (url, message) in [
        (
            "ftp://x",
            r#"unsupported webhook URL scheme "ftp": only http and https are allowed"#,
        ),
        (
            "file:///etc/passwd",
            r#"unsupported webhook URL scheme "file": only http and https are allowed"#,
        ),
        (
            "not a url",
            "invalid webhook URL: relative URL without a base",
        ),
        ("http://", "invalid webhook URL: empty host"),
        ("https://:hunter2@", "invalid webhook URL: empty host"),
    ] {
        let error = webhooks
            .deliver(&request(url))
            .await
            .expect_err("a failure");
        assert_eq!(error.kind, FailureKind::Permanent, "{url}");
        assert_eq!(error.message, message, "{url}");
    }
}

#[tokio::test]
async fn bad_header_values_are_permanent() {
    let (base, mut received) = server(200, "").await;
    let url = format!("{base}/hook");
    let error = webhooks()
        .deliver(&WebhookRequest {
            event: "incident\r\nX-Evil: 1",
            ..request(&url)
        })
        .await
        .expect_err("a failure");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(error.message.contains("X-Candor-Event"), "{error}");
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn messages_hold_no_secrets() {
    let (base, _received) = server(500, "").await;
    let url = base.replace("http://", "http://user:hunter2@") + "/hook?token=tok3n";
    let error = webhooks()
        .deliver(&request(&url))
        .await
        .expect_err("a failure");
    assert_eq!(error.kind, FailureKind::Transient);
    let address = base.trim_start_matches("http://");
    assert_eq!(
        error.message,
        format!("HTTP 500 Internal Server Error from http://user@{address}/hook?…")
    );
    let debug = format!("{:?}", request(&url));
    assert!(!debug.contains("whsec"), "{debug}");
}

#[tokio::test]
async fn private_destinations_are_refused_by_default() {
    // A real receiver on loopback, which the default sender must not reach.
    let (base, mut received) = server(200, "").await;
    let webhooks = Webhooks::new(Duration::from_secs(5)).expect("client");
    let url = format!("{base}/hook");
    let err = webhooks
        .deliver(&request(&url))
        .await
        .expect_err("loopback refused");
    assert!(err.is_permanent());
    assert!(
        err.message
            .ends_with("127.0.0.1 is not a public address; webhooks go to public addresses only"),
        "{err}"
    );
    // A name that resolves to loopback only is refused by the resolver.
    let url = format!("{}/hook", base.replace("127.0.0.1", "localhost"));
    let err = webhooks
        .deliver(&request(&url))
        .await
        .expect_err("localhost refused");
    assert!(
        err.message.contains("localhost has no public address"),
        "{err}"
    );
    assert!(received.try_recv().is_err(), "nothing reached the receiver");
}
