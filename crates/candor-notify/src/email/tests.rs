use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;
use crate::FailureKind;

/// One message as the test SMTP server received it.
#[derive(Debug)]
struct Received {
    /// The `MAIL FROM:` argument.
    mail_from: String,
    /// The `RCPT TO:` arguments.
    rcpt_to: Vec<String>,
    /// The DATA section, lines joined with `\n`, dot-stuffing undone.
    data: String,
}

/// Starts a minimal SMTP server on 127.0.0.1 that answers `RCPT TO` with
/// `rcpt_reply(address)` and everything else positively; it reports each
/// message it accepts. Returns the port.
async fn smtp_server(
    rcpt_reply: fn(&str) -> &'static str,
) -> (u16, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut mail_from = String::new();
                let mut rcpt_to = Vec::new();
                let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &str = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250 test.local"
                    } else if upper.starts_with("MAIL FROM:") {
                        mail_from = line["MAIL FROM:".len()..].to_owned();
                        "250 2.1.0 ok"
                    } else if upper.starts_with("RCPT TO:") {
                        let address = line["RCPT TO:".len()..].to_owned();
                        let reply = rcpt_reply(&address);
                        if reply.starts_with('2') {
                            rcpt_to.push(address);
                        }
                        reply
                    } else if upper == "DATA" {
                        let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                        let mut data = Vec::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
                        }
                        let _ = sender.send(Received {
                            mail_from: std::mem::take(&mut mail_from),
                            rcpt_to: std::mem::take(&mut rcpt_to),
                            data: data.join("\n"),
                        });
                        "250 2.0.0 queued"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                        break;
                    } else {
                        "250 ok"
                    };
                    let _ = write.write_all(format!("{reply}\r\n").as_bytes()).await;
                }
            });
        }
    });
    (port, receiver)
}

fn accept_all(_: &str) -> &'static str {
    "250 2.1.5 ok"
}

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Candor Status <status@candor.test>".to_owned(),
        timeout: Duration::from_secs(5),
    }
}

fn email() -> Email<'static> {
    Email {
        to: "Ops <ops@example.com>",
        subject: "Investigating: API errors",
        text: "We are investigating elevated API errors.\n.\nMore soon.",
        html: None,
        idempotency_key: "incident-7:sub-12",
        list_unsubscribe: Some("https://status.example/unsubscribe?token=t0k"),
    }
}

/// The header lines of a message, unfolded.
fn headers(data: &str) -> Vec<String> {
    let head = data.split("\n\n").next().unwrap_or_default();
    let mut headers: Vec<String> = Vec::new();
    for line in head.lines() {
        match headers.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => headers.push(line.to_owned()),
        }
    }
    headers
}

#[tokio::test]
async fn sends_a_message() {
    let (port, mut received) = smtp_server(accept_all).await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    mailer.send(&email()).await.expect("sent");

    let got = received.recv().await.expect("a message");
    assert_eq!(got.mail_from, "<status@candor.test>");
    assert_eq!(got.rcpt_to, ["<ops@example.com>"]);
    let headers = headers(&got.data);
    for expected in [
        "From: \"Candor Status\" <status@candor.test>",
        "To: Ops <ops@example.com>",
        "Subject: Investigating: API errors",
        "Message-ID: <incident-7=3Asub-12@candor>",
        "List-Unsubscribe: <https://status.example/unsubscribe?token=t0k>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
        "Content-Type: text/plain; charset=utf-8",
    ] {
        assert!(
            headers.iter().any(|h| h == expected),
            "{expected} not in {headers:#?}"
        );
    }
    assert!(
        headers.iter().any(|h| h.starts_with("Date: ")),
        "{headers:#?}"
    );
    let body = got
        .data
        .split_once("\n\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    assert_eq!(
        body,
        "We are investigating elevated API errors.\n.\nMore soon."
    );
}

#[tokio::test]
async fn sends_html_as_an_alternative() {
    let (port, mut received) = smtp_server(accept_all).await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    let html = "<p>We are investigating elevated <b>API</b> errors.</p>";
    mailer
        .send(&Email {
            html: Some(html),
            list_unsubscribe: None,
            ..email()
        })
        .await
        .expect("sent");
    let got = received.recv().await.expect("a message");
    assert!(
        got.data.contains("Content-Type: multipart/alternative;"),
        "{}",
        got.data
    );
    assert!(
        got.data
            .contains("We are investigating elevated API errors."),
        "{}",
        got.data
    );
    assert!(!got.data.contains("List-Unsubscribe"), "{}", got.data);
    assert!(!got.data.contains("List-Unsubscribe"), "{}", got.data);
}

#[tokio::test]
async fn header_injection_is_encoded() {
    let (port, mut received) = smtp_server(accept_all).await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    mailer
        .send(&Email {
            subject: "Outage\r\nBcc: victim@example.com",
            ..email()
        })
        .await
        .expect("sent");
    let got = received.recv().await.expect("a message");
    assert!(
        headers(&got.data).iter().all(|h| !h.starts_with("Bcc:")),
        "{}",
        got.data
    );
    assert_eq!(got.rcpt_to, ["<ops@example.com>"]);
}

#[tokio::test]
async fn rejected_recipient_is_permanent() {
    let (port, mut received) = smtp_server(|address| {
        if address.contains("gone@") {
            "550 5.1.1 no such user"
        } else {
            "250 2.1.5 ok"
        }
    })
    .await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    let error = mailer
        .send(&Email {
            to: "gone@example.com",
            ..email()
        })
        .await
        .expect_err("failure");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert_eq!(
        error.message,
        format!("SMTP 550 from 127.0.0.1:{port}: 5.1.1 no such user")
    );
    // The relay still works for others.
    mailer.send(&email()).await.expect("sent");
    assert_eq!(
        received.recv().await.expect("a message").rcpt_to,
        ["<ops@example.com>"]
    );
}

#[tokio::test]
async fn deferred_recipient_is_transient() {
    let (port, _received) = smtp_server(|_| "451 4.3.0 try again later").await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    let error = mailer.send(&email()).await.expect_err("failure");
    assert_eq!(error.kind, FailureKind::Transient);
    assert_eq!(
        error.message,
        format!("SMTP 451 from 127.0.0.1:{port}: 4.3.0 try again later")
    );
}

#[tokio::test]
async fn authentication_failure_is_transient() {
    // 535 is a permanent reply, but it is the relay settings that are wrong,
    // not the subscriber: disabling subscribers over it would be wrong.
    let (port, _received) = smtp_server(|_| "535 5.7.8 authentication failed").await;
    let mailer = Mailer::new(&config(port)).expect("mailer");
    let error = mailer.send(&email()).await.expect_err("failure");
    assert_eq!(error.kind, FailureKind::Transient);
    assert!(
        error
            .message
            .starts_with(&format!("SMTP 535 from 127.0.0.1:{port}")),
        "{error}"
    );
}

#[tokio::test]
async fn absent_server_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    let mailer = Mailer::new(&config(port)).expect("mailer");
    let error = mailer.send(&email()).await.expect_err("failure");
    assert_eq!(error.kind, FailureKind::Transient);
    assert_eq!(
        error.message,
        format!("connection refused by 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    // Accepts but never greets; the task ends with the test's runtime.
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let mailer = Mailer::new(&SmtpConfig {
        timeout: Duration::from_millis(300),
        ..config(port)
    })
    .expect("mailer");
    let started = Instant::now();
    let error = mailer.send(&email()).await.expect_err("failure");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(error.kind, FailureKind::Transient);
    assert_eq!(
        error.message,
        format!("SMTP timed out after 300 ms talking to 127.0.0.1:{port}")
    );
}

#[tokio::test]
async fn bad_addresses_are_permanent() {
    // Nothing listens on port 9 of 127.0.0.1 in tests; the recipient is
    // checked before connecting, so the error is not a connection error.
    let mailer = Mailer::new(&config(9)).expect("mailer");
    for to in ["not an address", "ops@", "", "a@b@c"] {
        let error = mailer
            .send(&Email { to, ..email() })
            .await
            .expect_err("failure");
        assert_eq!(error.kind, FailureKind::Permanent, "{to}");
        assert!(
            error
                .message
                .starts_with(&format!("invalid recipient address {to:?}: ")),
            "{error}"
        );
    }
    let error = mailer
        .send(&Email {
            idempotency_key: "",
            ..email()
        })
        .await
        .expect_err("failure");
    assert_eq!(error.kind, FailureKind::Permanent);
    let error = mailer
        .send(&Email {
            list_unsubscribe: Some("https://x/ y"),
            ..email()
        })
        .await
        .expect_err("failure");
    assert_eq!(error.kind, FailureKind::Permanent);

    let error = Mailer::new(&SmtpConfig {
        from: "status at candor".to_owned(),
        ..config(9)
    })
    .expect_err("failure");
    assert_eq!(error.kind, FailureKind::Permanent);
    assert!(
        error
            .message
            .starts_with("invalid sender address \"status at candor\": "),
        "{error}"
    );
}

#[test]
fn credentials_come_in_pairs() {
    let only_user = SmtpConfig {
        username: Some("u".to_owned()),
        ..config(25)
    };
    assert_eq!(
        Mailer::new(&only_user).expect_err("failure").message,
        "SMTP username given without a password"
    );
    let only_password = SmtpConfig {
        password: Some("p".to_owned()),
        ..config(25)
    };
    assert_eq!(
        Mailer::new(&only_password).expect_err("failure").message,
        "SMTP password given without a username"
    );
    let both = SmtpConfig {
        username: Some("u".to_owned()),
        password: Some("p".to_owned()),
        security: SmtpSecurity::StartTls,
        ..config(587)
    };
    assert!(Mailer::new(&both).is_ok());
    assert!(
        Mailer::new(&SmtpConfig {
            security: SmtpSecurity::Tls,
            ..config(465)
        })
        .is_ok()
    );
}

#[test]
fn debug_hides_the_password() {
    let config = SmtpConfig {
        username: Some("mailer".to_owned()),
        password: Some("hunter2".to_owned()),
        ..config(587)
    };
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("password: Some(\"<redacted>\")"), "{debug}");
    assert!(debug.contains("mailer"), "{debug}");
    let mailer = Mailer::new(&config).expect("mailer");
    let debug = format!("{mailer:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn security_parses_and_displays() {
    for (text, security) in [
        ("none", SmtpSecurity::None),
        ("starttls", SmtpSecurity::StartTls),
        ("tls", SmtpSecurity::Tls),
    ] {
        assert_eq!(text.parse(), Ok(security));
        assert_eq!(security.to_string(), text);
    }
    assert_eq!("STARTTLS".parse(), Ok(SmtpSecurity::StartTls));
    let error = "ssl".parse::<SmtpSecurity>().expect_err("failure");
    assert_eq!(
        error.to_string(),
        r#"unknown SMTP security "ssl": expected none, starttls or tls"#
    );
}

#[test]
fn message_ids_are_valid_and_distinct() {
    assert_eq!(
        message_id("6f1c0b7e-2d4a-4c3b-9a51-0d1f2e3c4b5a")
            .ok()
            .as_deref(),
        Some("<6f1c0b7e-2d4a-4c3b-9a51-0d1f2e3c4b5a@candor>")
    );
    assert_eq!(message_id("a.b").ok().as_deref(), Some("<a=2Eb@candor>"));
    assert_eq!(
        message_id("a=2Eb").ok().as_deref(),
        Some("<a=3D2Eb@candor>")
    );
    assert_eq!(message_id("é").ok().as_deref(), Some("<=C3=A9@candor>"));
    assert!(message_id("").is_err());
}
