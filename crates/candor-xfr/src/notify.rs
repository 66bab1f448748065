//! NOTIFY (RFC 1996) to the secondaries, as a state machine without I/O:
//! the caller tells it of zone changes ([`Notifier::zone_changed`]), sends
//! what [`Notifier::poll`] returns when [`Notifier::next_due`] comes, and
//! hands it every datagram received ([`Notifier::on_response`]).
//!
//! Each (secondary, zone) pair has at most one pending NOTIFY, for the
//! newest serial: a change that comes before the previous one was
//! acknowledged replaces it. A NOTIFY is sent again until a response with
//! its ID, from the secondary's address, for the zone, arrives (and, for a
//! secondary with a key, verifies): after 1 s, then twice as long each
//! time up to 5 minutes. Any response stops the retries, an error one
//! included (a secondary that answers NOTAUTH for a zone it does not have
//! will not change its mind on retries). Each secondary gets at most one
//! NOTIFY per `min_interval`, so a thousand zones changing at once (a
//! restart) reach it as a steady trickle rather than a burst.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_wire::decode::read_name;
use candor_wire::{Class, Header, Name, Opcode, Rcode, Rtype};

use crate::acl::key_name;
use crate::tsig::{KeyRing, Verifier, sign_request};

/// A secondary to notify, optionally with the TSIG key to sign with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its address (port 53 unless given).
    pub addr: SocketAddr,
    /// The key NOTIFYs to it are signed with.
    pub key: Option<Name>,
}

impl FromStr for Target {
    type Err = String;

    /// `ADDR`, `ADDR:PORT`, `[IPV6]:PORT`, each optionally `@KEYNAME`.
    fn from_str(text: &str) -> Result<Target, String> {
        let (addr, key) = match text.rsplit_once('@') {
            Some((a, k)) => (a, Some(key_name(k)?)),
            None => (text, None),
        };
        let addr = match addr.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => match addr.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, 53),
                Err(_) => return Err(format!("{addr:?} is not an address (ADDR or ADDR:PORT)")),
            },
        };
        Ok(Target { addr, key })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}@{key}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// Timing of NOTIFYs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Wait before the first retry.
    pub first_retry: Duration,
    /// Longest wait between retries.
    pub max_retry: Duration,
    /// Shortest time between two NOTIFYs to one secondary.
    pub min_interval: Duration,
}

impl Timing {
    /// 1 s, doubling to 5 minutes; at most 100 NOTIFYs a second to each
    /// secondary.
    pub const DEFAULT: Timing = Timing {
        first_retry: Duration::from_secs(1),
        max_retry: Duration::from_secs(300),
        min_interval: Duration::from_millis(10),
    };
}

/// A NOTIFY waiting for its acknowledgement.
#[derive(Debug)]
struct Pending {
    /// Index of the secondary in `targets`.
    target: usize,
    /// The zone.
    apex: Name,
    /// The serial announced.
    serial: u32,
    /// The message ID.
    id: u16,
    /// Transmissions so far.
    sent: u32,
    /// When to send next.
    due: Instant,
    /// The MAC of the last signed transmission (the response's covers it).
    mac: Option<Vec<u8>>,
}

/// A NOTIFY to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Where to.
    pub to: SocketAddr,
    /// The message.
    pub message: Vec<u8>,
    /// The zone.
    pub apex: Name,
    /// Which transmission this is (1 = the first).
    pub attempt: u32,
}

/// A NOTIFY acknowledged by a secondary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The secondary.
    pub from: SocketAddr,
    /// The zone.
    pub apex: Name,
    /// The serial announced.
    pub serial: u32,
    /// The response code (NOERROR, or the secondary's complaint).
    pub rcode: Rcode,
}

/// The NOTIFY state machine (see the module docs).
pub struct Notifier {
    /// The secondaries.
    targets: Vec<Target>,
    /// When each secondary was last sent a NOTIFY.
    last_sent: Vec<Option<Instant>>,
    /// NOTIFYs waiting for acknowledgement.
    pending: Vec<Pending>,
    /// Timing.
    timing: Timing,
    /// State of the message ID generator (xorshift; seeded by the caller
    /// with randomness, so IDs are not guessable from outside).
    rng: u64,
}

impl Notifier {
    /// A notifier for `targets`; `seed` seeds message IDs.
    pub fn new(targets: Vec<Target>, timing: Timing, seed: u64) -> Notifier {
        Notifier {
            last_sent: vec![None; targets.len()],
            targets,
            pending: Vec::new(),
            timing,
            rng: seed | 1,
        }
    }

    /// The secondaries.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// How many NOTIFYs wait for acknowledgement.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// A fresh message ID.
    fn next_id(&mut self) -> u16 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 24) as u16
    }

    /// Zone `apex` now has `serial`: every secondary is to be told, at once.
    pub fn zone_changed(&mut self, apex: &Name, serial: u32, now: Instant) {
        for target in 0..self.targets.len() {
            let id = self.next_id();
            let fresh = Pending {
                target,
                apex: apex.clone(),
                serial,
                id,
                sent: 0,
                due: now,
                mac: None,
            };
            match self
                .pending
                .iter_mut()
                .find(|p| p.target == target && p.apex == *apex)
            {
                Some(p) => *p = fresh,
                None => self.pending.push(fresh),
            }
        }
    }

    /// When [`poll`](Self::poll) next has something to send.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending
            .iter()
            .map(|p| {
                let spaced = self.last_sent[p.target].map(|t| t + self.timing.min_interval);
                spaced.map_or(p.due, |s| s.max(p.due))
            })
            .min()
    }

    /// The NOTIFYs due at `now`, signed with `keys` (at `unix` seconds
    /// since 1970) where the secondary has a key. A secondary whose key is
    /// not in `keys` gets unsigned NOTIFYs, which it will likely ignore
    /// (the caller should say so when it starts).
    pub fn poll(&mut self, now: Instant, keys: &KeyRing, unix: u64) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let mut order: Vec<usize> = (0..self.pending.len()).collect();
        order.sort_by_key(|&i| self.pending[i].due);
        for i in order {
            let p = &self.pending[i];
            if p.due > now {
                continue;
            }
            let target = &self.targets[p.target];
            if self.last_sent[p.target].is_some_and(|t| t + self.timing.min_interval > now) {
                continue;
            }
            let mut message = notify_message(p.id, &p.apex);
            let mac = target
                .key
                .as_ref()
                .and_then(|name| keys.get(name))
                .map(|key| sign_request(key, &mut message, unix));
            out.push(Outgoing {
                to: target.addr,
                message,
                apex: p.apex.clone(),
                attempt: p.sent + 1,
            });
            self.last_sent[p.target] = Some(now);
            let p = &mut self.pending[i];
            p.mac = mac;
            let wait = self
                .timing
                .first_retry
                .saturating_mul(1 << p.sent.min(20))
                .min(self.timing.max_retry);
            p.sent += 1;
            p.due = now + wait;
        }
        out
    }

    /// Looks at a datagram from `from`; if it acknowledges a pending
    /// NOTIFY, that NOTIFY is done and is returned.
    pub fn on_response(
        &mut self,
        from: SocketAddr,
        msg: &[u8],
        keys: &KeyRing,
        unix: u64,
    ) -> Option<Ack> {
        let header = Header::parse(msg)?;
        if header.flags & Header::QR == 0
            || header.opcode() != Opcode::NOTIFY
            || header.qdcount != 1
        {
            return None;
        }
        let (qname, _) = read_name(msg, 12).ok()?;
        let i = self.pending.iter().position(|p| {
            p.id == header.id
                && self.targets[p.target].addr == from
                && p.apex.eq_ignore_case(&qname)
        })?;
        let p = &self.pending[i];
        if let Some(name) = &self.targets[p.target].key {
            // A secondary with a key must sign its answer with it.
            let key = keys.get(name)?;
            let mac = p.mac.as_deref()?;
            Verifier::new(Arc::clone(key), mac).verify(msg, unix).ok()?;
        }
        let p = self.pending.swap_remove(i);
        Some(Ack {
            from,
            apex: p.apex,
            serial: p.serial,
            rcode: Rcode(header.flags & 0x000f),
        })
    }
}

/// A NOTIFY for the zone `apex`: opcode NOTIFY, AA, one question (the
/// zone's SOA).
pub fn notify_message(id: u16, apex: &Name) -> Vec<u8> {
    let mut m = Vec::with_capacity(12 + apex.wire_len() + 4);
    let flags = (u16::from(Opcode::NOTIFY.0) << 11) | Header::AA;
    for word in [id, flags, 1, 0, 0, 0] {
        m.extend_from_slice(&word.to_be_bytes());
    }
    m.extend_from_slice(apex.as_wire());
    m.extend_from_slice(&Rtype::SOA.0.to_be_bytes());
    m.extend_from_slice(&Class::IN.0.to_be_bytes());
    m
}
