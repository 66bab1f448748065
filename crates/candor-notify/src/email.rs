//! Email delivery: one message through an SMTP relay, its failure classified.

#[cfg(test)]
mod tests;

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{DeliveryError, io_cause, source_chain};

/// How the connection to the SMTP relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SmtpSecurity {
    /// Plain text throughout, for a relay on localhost or a trusted network.
    None,
    /// Plain connection upgraded with `STARTTLS`, which is then required
    /// (usually port 587).
    StartTls,
    /// TLS from the first byte, "implicit TLS" (usually port 465).
    Tls,
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SmtpSecurity::None => "none",
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
        })
    }
}

impl FromStr for SmtpSecurity {
    type Err = ParseSmtpSecurityError;

    /// Parses `none`, `starttls` or `tls`, ignoring ASCII case.
    fn from_str(text: &str) -> Result<SmtpSecurity, ParseSmtpSecurityError> {
        [
            SmtpSecurity::None,
            SmtpSecurity::StartTls,
            SmtpSecurity::Tls,
        ]
        .into_iter()
        .find(|security| text.eq_ignore_ascii_case(&security.to_string()))
        .ok_or_else(|| ParseSmtpSecurityError(text.to_owned()))
    }
}

/// The text given to [`SmtpSecurity::from_str`] is none of `none`,
/// `starttls` and `tls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSmtpSecurityError(pub String);

impl fmt::Display for ParseSmtpSecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown SMTP security {:?}: expected none, starttls or tls",
            self.0
        )
    }
}

impl Error for ParseSmtpSecurityError {}

/// Where and how to hand emails over for delivery.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The relay's host name (checked against its certificate with TLS).
    pub host: String,
    /// The relay's port: typically 25 with `None`, 587 with `StartTls`, 465
    /// with `Tls`.
    pub port: u16,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// The user to authenticate as; given together with `password` or not at all.
    pub username: Option<String>,
    /// The password to authenticate with; never printed.
    pub password: Option<String>,
    /// The `From` address, such as `Example Status <status@example.com>`.
    pub from: String,
    /// The limit on sending one email: connecting, TLS and the whole SMTP
    /// conversation together.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One email to one subscriber.
#[derive(Clone, Copy, Debug)]
pub struct Email<'a> {
    /// The recipient, such as `ops@example.com` or `Ops <ops@example.com>`.
    pub to: &'a str,
    /// The subject line.
    pub subject: &'a str,
    /// The plain-text body.
    pub text: &'a str,
    /// An HTML alternative to `text`, if any.
    pub html: Option<&'a str>,
    /// Kept across retries; becomes the `Message-ID` `<key@candor>` so a
    /// relay or receiver can drop duplicates. Characters other than ASCII
    /// letters, digits, `-` and `_` are written as `=XX` (hex), so any
    /// non-empty key gives a valid, distinct Message-ID.
    pub idempotency_key: &'a str,
    /// The `List-Unsubscribe` target, such as
    /// `https://status.example/unsubscribe?token=...` or `mailto:...`;
    /// sent inside `<>` unless already written that way. An http(s) target
    /// also gets `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
    /// (RFC 8058 one-click unsubscribe).
    pub list_unsubscribe: Option<&'a str>,
}

/// An email sender through one SMTP relay. It opens a connection per email.
#[derive(Clone)]
pub struct Mailer {
    /// The configured SMTP client.
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The `From` mailbox of every email.
    from: Mailbox,
    /// `host:port` of the relay, for error messages.
    server: String,
    /// The limit on sending one email.
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A sender using `config`. Fails, permanently, when `from` is not a
    /// valid mailbox, when only one of username and password is given, or
    /// when the TLS setup fails. It does not connect yet.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, DeliveryError> {
        let from: Mailbox = config.from.parse().map_err(|e| {
            DeliveryError::permanent(format!("invalid sender address {:?}: {e}", config.from))
        })?;
        let server = format!("{}:{}", config.host, config.port);
        let tls_error = |e: lettre::transport::smtp::Error| {
            DeliveryError::permanent(format!("cannot set up TLS for {server}: {e}"))
        };
        let builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(tls_error)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?
            }
        };
        let builder = builder.port(config.port).timeout(Some(config.timeout));
        let builder = match (&config.username, &config.password) {
            (Some(username), Some(password)) => {
                builder.credentials(Credentials::new(username.clone(), password.clone()))
            }
            (None, None) => builder,
            (Some(_), None) => {
                return Err(DeliveryError::permanent(
                    "SMTP username given without a password",
                ));
            }
            (None, Some(_)) => {
                return Err(DeliveryError::permanent(
                    "SMTP password given without a username",
                ));
            }
        };
        Ok(Mailer {
            transport: builder.build(),
            from,
            server,
            timeout: config.timeout,
        })
    }

    /// Sends one email.
    ///
    /// Errors are [`Permanent`](crate::FailureKind::Permanent) for an
    /// invalid recipient or message and for SMTP 5xx replies (except
    /// authentication failures, which are the relay configuration's fault
    /// rather than the subscriber's); [`Transient`](crate::FailureKind::Transient)
    /// for SMTP 4xx replies, authentication failures, timeouts, connection
    /// and TLS failures.
    pub async fn send(&self, email: &Email<'_>) -> Result<(), DeliveryError> {
        let message = self.message(email)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(self.smtp_error(&error)),
            Err(_) => Err(self.timed_out()),
        }
    }

    /// Builds the message: headers, then a plain or plain-plus-HTML body.
    fn message(&self, email: &Email<'_>) -> Result<Message, DeliveryError> {
        let to: Mailbox = email.to.parse().map_err(|e| {
            DeliveryError::permanent(format!("invalid recipient address {:?}: {e}", email.to))
        })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id(email.idempotency_key)?))
            // RFC 3834: keeps auto-responders (vacation replies) from answering.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ));
        if let Some(target) = email.list_unsubscribe {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                list_unsubscribe(target)?,
            ));
            // RFC 8058: the link ends the subscription with a POST of this
            // body, without a page to confirm on (mail clients show an
            // "Unsubscribe" button; link checkers that only GET do nothing).
            let bare = target.trim_start_matches('<').to_ascii_lowercase();
            if bare.starts_with("https://") || bare.starts_with("http://") {
                builder = builder.raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
            }
        }
        let built = match email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.to_owned(),
                html.to_owned(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.text.to_owned()),
        };
        built.map_err(|e| DeliveryError::permanent(format!("cannot build the email: {e}")))
    }

    /// The error for a connection or conversation that took too long.
    fn timed_out(&self) -> DeliveryError {
        DeliveryError::transient(format!(
            "SMTP timed out after {} ms talking to {}",
            self.timeout.as_millis(),
            self.server
        ))
    }

    /// Classifies an error from the SMTP conversation.
    fn smtp_error(&self, error: &lettre::transport::smtp::Error) -> DeliveryError {
        let server = &self.server;
        if let Some(code) = error.status() {
            let code = u16::from(code);
            let reply = source_chain(error);
            let described = format!("SMTP {code} from {server}: {reply}");
            return match code {
                // Authentication required, too weak, failed, or needing
                // encryption: the relay settings are wrong, not the subscriber.
                530 | 534 | 535 | 538 => DeliveryError::transient(format!(
                    "{described} (check the SMTP username, password and security)"
                )),
                _ if error.is_permanent() => DeliveryError::permanent(described),
                _ => DeliveryError::transient(described),
            };
        }
        if error.is_timeout() {
            return self.timed_out();
        }
        if io_cause(error).is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
            return DeliveryError::transient(format!("connection refused by {server}"));
        }
        if error.is_tls() {
            return DeliveryError::transient(format!(
                "TLS failed with {server}: {}",
                source_chain(error)
            ));
        }
        DeliveryError::transient(format!("SMTP failed with {server}: {error}"))
    }
}

/// The `Message-ID` for an idempotency key: `<key@candor>`, with characters
/// outside `[A-Za-z0-9_-]` written as `=XX` so the local part stays a valid
/// dot-atom and distinct keys stay distinct.
fn message_id(key: &str) -> Result<String, DeliveryError> {
    if key.is_empty() {
        return Err(DeliveryError::permanent("empty idempotency key"));
    }
    let mut id = String::with_capacity(key.len() + 9);
    id.push('<');
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            id.push(char::from(byte));
        } else {
            id.push_str(&format!("={byte:02X}"));
        }
    }
    id.push_str("@candor>");
    Ok(id)
}

/// The `List-Unsubscribe` header value for a target URL.
fn list_unsubscribe(target: &str) -> Result<String, DeliveryError> {
    if target.is_empty() || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DeliveryError::permanent(format!(
            "invalid List-Unsubscribe target {target:?}: must be printable ASCII without spaces"
        )));
    }
    if target.starts_with('<') && target.ends_with('>') {
        Ok(target.to_owned())
    } else {
        Ok(format!("<{target}>"))
    }
}
