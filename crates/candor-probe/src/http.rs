//! HTTP probes without I/O: the request, the status code of the response,
//! and what counts as an answer.

use std::net::SocketAddr;
use std::time::Duration;

use candor_status::engine::Outcome;
use candor_status::model::ComponentKind;

#[cfg(test)]
mod tests;

/// What an HTTP probe asks for and which status codes are an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The path asked for.
    pub path: &'static str,
    /// Which status codes count as up.
    pub expect: Expect,
}

/// Which status codes count as up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Only 200 (the API's OpenAPI document is always there).
    Ok,
    /// Anything below 500 (the redirector answers 404 for unknown hosts,
    /// which is fine; a 5xx is not).
    NotServerError,
}

impl Check {
    /// How a component of `kind` is probed over HTTP; `None` for name
    /// servers (DNS) and other components (not probed).
    pub fn for_kind(kind: ComponentKind) -> Option<Check> {
        match kind {
            ComponentKind::Api => Some(Check {
                path: "/v2/openapi.json",
                expect: Expect::Ok,
            }),
            ComponentKind::Redirector => Some(Check {
                path: "/",
                expect: Expect::NotServerError,
            }),
            ComponentKind::NameServer | ComponentKind::Other => None,
        }
    }

    /// The request: `GET` over HTTP/1.1, closing the connection after.
    pub fn request(&self, target: SocketAddr) -> String {
        format!(
            "GET {} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: candor-monitor\r\nConnection: close\r\n\r\n",
            self.path
        )
    }

    /// Judges the first bytes of the response (at least the 12 of
    /// `HTTP/1.1 200`).
    pub fn judge(&self, head: &[u8]) -> Result<(), String> {
        let code = status_code(head)?;
        let up = match self.expect {
            Expect::Ok => code == 200,
            Expect::NotServerError => code < 500,
        };
        if up {
            Ok(())
        } else {
            Err(format!("HTTP {code} for GET {}", self.path))
        }
    }
}

/// The status code of a response that starts with `head`.
pub fn status_code(head: &[u8]) -> Result<u16, String> {
    let line = String::from_utf8_lossy(head);
    line.strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "not an HTTP response".to_owned())
}

/// The verdict on an HTTP probe: what came within the timeout (`None`:
/// nothing did), and how long it took.
pub fn verdict(result: Option<Result<(), String>>, took: Duration, timeout: Duration) -> Outcome {
    match result {
        Some(Ok(())) => Outcome::Ok {
            latency_ms: crate::dns::millis(took),
        },
        Some(Err(e)) => Outcome::Failed {
            reason: format!("http: {e}"),
        },
        None => Outcome::Failed {
            reason: format!("http: no response within {} ms", timeout.as_millis()),
        },
    }
}
