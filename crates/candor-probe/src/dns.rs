//! DNS probes without I/O: the canary query, the check of an answer, and
//! the verdict on a name server from its UDP and TCP legs.

use std::time::Duration;

use candor_status::engine::Outcome;
use candor_wire::decode::decode_message;
use candor_wire::{Header, Name, QuerySpec, Rtype, query_message};

#[cfg(test)]
pub(crate) mod tests;

/// What a DNS probe asks, and how strictly the answer is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// The canary's SOA: the answer must be authoritative (AA), NOERROR and
    /// hold the SOA.
    Canary(Name),
    /// The root's SOA, when there is no canary (no zone served yet): any
    /// answer to our question shows the server is up.
    Root,
}

impl Ask {
    /// The canary named by `--status-canary`, with or without the final
    /// dot; `None` when it is not a domain name.
    pub fn canary(text: &str) -> Option<Ask> {
        let absolute = if text.ends_with('.') {
            text.to_owned()
        } else {
            format!("{text}.")
        };
        Name::from_text(&absolute, None).ok().map(Ask::Canary)
    }

    /// The query, with message ID `id` (pick one that is hard to guess).
    pub fn query(&self, id: u16) -> Vec<u8> {
        let spec = QuerySpec {
            id,
            recursion_desired: false,
            edns_udp_size: Some(1232),
        };
        let root = Name::root();
        let name = match self {
            Ask::Canary(name) => name,
            Ask::Root => &root,
        };
        query_message(spec, name, Rtype::SOA)
    }

    /// Reads a message that came back for the query with ID `id`.
    pub fn check(&self, msg: &[u8], id: u16) -> Reply {
        let Ok(m) = decode_message(msg) else {
            return Reply::Wrong("malformed answer".into());
        };
        if m.header.id != id || m.header.flags & Header::QR == 0 {
            return Reply::NotOurs;
        }
        if *self == Ask::Root {
            return Reply::Good;
        }
        let rcode = m.rcode();
        if rcode != 0 {
            return Reply::Wrong(format!("rcode {rcode} for the canary"));
        }
        if m.header.flags & Header::AA == 0 {
            return Reply::Wrong("answer without the AA flag".into());
        }
        if !m.answer.iter().any(|r| r.rtype == Rtype::SOA) {
            return Reply::Wrong("no SOA in the answer".into());
        }
        Reply::Good
    }
}

/// What one message that came back says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The answer we asked for.
    Good,
    /// Not an answer to our query (another ID, or not a response): over
    /// UDP, keep waiting; over TCP, a failure.
    NotOurs,
    /// An answer to our query, but a wrong one; why.
    Wrong(String),
}

/// How one leg (UDP or TCP) of a DNS probe ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leg {
    /// A good answer after this long.
    Answered(Duration),
    /// A wrong answer, or an I/O error; why.
    Failed(String),
    /// Nothing within the timeout.
    TimedOut,
}

/// The verdict on a name server asked over UDP and TCP at once: both
/// answered is `Ok` (with the slower leg's time); one of them is
/// `Impaired` (users get answers: resolvers retry over the other way,
/// some of them late); none is `Failed`. Reasons name the leg:
/// `udp: no answer within 700 ms`.
pub fn verdict(udp: &Leg, tcp: &Leg, timeout: Duration) -> Outcome {
    let mut reasons = Vec::new();
    let mut answered = Vec::new();
    for (proto, leg) in [("udp", udp), ("tcp", tcp)] {
        match leg {
            Leg::Answered(took) => answered.push(*took),
            Leg::Failed(e) => reasons.push(format!("{proto}: {e}")),
            Leg::TimedOut => reasons.push(format!(
                "{proto}: no answer within {} ms",
                timeout.as_millis()
            )),
        }
    }
    match (answered.iter().max(), reasons.is_empty()) {
        (Some(took), true) => Outcome::Ok {
            latency_ms: millis(*took),
        },
        (Some(took), false) => Outcome::Impaired {
            latency_ms: millis(*took),
            reason: reasons.join(", "),
        },
        (None, _) => Outcome::Failed {
            reason: reasons.join(", "),
        },
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u32 {
    d.as_millis().try_into().unwrap_or(u32::MAX)
}
