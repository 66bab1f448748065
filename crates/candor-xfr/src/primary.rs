//! The primary's decisions: which transfer request gets what, in one
//! place. [`Primary::handle`] turns a request into a reply (one message, a
//! stream of messages, or nothing) without doing any I/O; the server's
//! connection loop writes what it returns.
//!
//! Order of checks: a malformed request is FORMERR; a signed request must
//! verify (RFC 8945 §5.2: BADKEY, BADSIG, BADTIME, all NOTAUTH); the zone
//! must be served (else NOTAUTH); then the ACL decides. A request the ACL
//! does not allow is answered NOTAUTH, and a signed one additionally with
//! the TSIG error BADKEY: that is what Knot DNS 3.2 answers for a transfer
//! its ACL denies, and the answer gives away nothing about the zone.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use candor_answer::SharedAliases;
use candor_wire::{Class, Header, MessageBuilder, Name, Rcode};
use candor_zone::ZoneSet;

use crate::acl::Acl;
use crate::journal::{Changed, Journal, Limits, serial_newer};
use crate::request::{Kind, Opt, RequestError, parse_request, question};
use crate::transfer::{Plan, Source, Transfer};
use crate::tsig::{self, KeyRing, Rejection, Signer};

/// The transport a request came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP: transfers stream.
    Tcp,
    /// UDP: IXFR gets the current SOA only (RFC 1995 §2: the client then
    /// asks over TCP); AXFR is not defined over UDP.
    Udp,
}

/// What to send back.
pub enum Reply {
    /// One message.
    Message(Vec<u8>),
    /// A stream of messages.
    Transfer(Box<Transfer>),
    /// Nothing (the request was not worth an answer).
    Drop,
}

/// Why a transfer was refused, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The ACL does not allow the source (with its key, if any).
    NotAllowed {
        /// The zone asked for.
        zone: Name,
        /// The key the request was signed with.
        key: Option<Name>,
    },
    /// The zone is not served here.
    NotServed {
        /// The zone asked for.
        zone: Name,
    },
    /// The request's TSIG record did not verify.
    Tsig {
        /// The zone asked for.
        zone: Name,
        /// The key it named.
        key: Name,
        /// The TSIG error (BADKEY, BADSIG, BADTIME, BADTRUNC).
        error: u16,
    },
}

/// A handled request: the reply and, if the transfer was refused, why.
pub struct Handled {
    /// What to send.
    pub reply: Reply,
    /// Why the transfer was refused, if it was.
    pub refusal: Option<Refusal>,
}

impl Handled {
    /// A reply that refuses nothing.
    fn reply(reply: Reply) -> Handled {
        Handled {
            reply,
            refusal: None,
        }
    }
}

/// The primary side of zone transfers (see the module docs).
pub struct Primary {
    /// The served zones.
    zones: Arc<ArcSwap<ZoneSet>>,
    /// The resolver's table of ALIAS targets.
    aliases: SharedAliases,
    /// Who may transfer.
    acl: Acl,
    /// The TSIG keys, replaced as a whole when they change.
    keys: Arc<ArcSwap<KeyRing>>,
    /// Recent changes of every zone, for IXFR.
    journal: Mutex<Journal>,
}

impl Primary {
    /// A primary serving `zones` to whoever `acl` allows.
    pub fn new(
        zones: Arc<ArcSwap<ZoneSet>>,
        aliases: SharedAliases,
        acl: Acl,
        keys: Arc<ArcSwap<KeyRing>>,
        limits: Limits,
    ) -> Primary {
        Primary {
            zones,
            aliases,
            acl,
            keys,
            journal: Mutex::new(Journal::new(limits)),
        }
    }

    /// The TSIG keys.
    pub fn keys(&self) -> &Arc<ArcSwap<KeyRing>> {
        &self.keys
    }

    /// The ACL.
    pub fn acl(&self) -> &Acl {
        &self.acl
    }

    /// Locks the journal (a panic elsewhere leaves it usable: the worst a
    /// half-done observation leaves is a history that starts later).
    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes note of the zones served now (see [`Journal::observe`]) and
    /// returns those whose serial changed. Takes time in proportion to the
    /// changed zones: run it off the answer path.
    pub fn observe(&self) -> Vec<Changed> {
        let set = self.zones.load_full();
        let aliases = self.aliases.load_full();
        self.journal().observe(&set, &aliases)
    }

    /// When a transfer asked for by `msg` may go ahead at the latest, if
    /// its zone has a version held back from secondaries while the ALIAS
    /// signer signs its ALIAS owners (see `journal`): the server waits
    /// until then, or until this says `None` (the journal saw the signed
    /// version), before calling [`Primary::handle`], so the transfer
    /// carries the signed answers. `None` for anything else, and for a
    /// request from `source` the ACL refuses (checked first, its TSIG
    /// verified at `now`), so nobody unauthorised is kept waiting.
    pub fn holding(&self, msg: &[u8], source: IpAddr, now: u64) -> Option<std::time::Instant> {
        let req = parse_request(msg).ok()?;
        let until = self.journal().held_until(req.zone.as_wire())?;
        let key = match &req.tsig {
            Some(t) => Some(
                tsig::verify_request(&self.keys.load(), msg, t, now)
                    .ok()?
                    .key()
                    .name()
                    .clone(),
            ),
            None => None,
        };
        self.acl.allows(source, key.as_ref()).then_some(until)
    }

    /// The earliest time a held-back zone version is released at the
    /// latest, if one is held: [`Primary::observe`] should run by then (a
    /// hold ends only at an observation), and may run sooner to see the
    /// signer's answers.
    pub fn next_release(&self) -> Option<std::time::Instant> {
        self.journal().next_release()
    }

    /// Answers a transfer request from `source` at time `now` (seconds
    /// since 1970).
    pub fn handle(&self, msg: &[u8], source: IpAddr, transport: Transport, now: u64) -> Handled {
        let req = match parse_request(msg) {
            Ok(req) => req,
            Err(RequestError::Drop) => return Handled::reply(Reply::Drop),
            Err(RequestError::FormErr(header, question)) => {
                return Handled::reply(error(
                    &header,
                    question,
                    Rcode::FORMERR,
                    None,
                    Sign::No,
                    now,
                ));
            }
        };
        if req.edns.is_some_and(|o| o.version != 0) {
            // Only EDNS version 0 is spoken (RFC 6891 §6.1.3).
            let reply = error(
                &req.header,
                req.question,
                Rcode::BADVERS,
                req.edns,
                Sign::No,
                now,
            );
            return Handled::reply(reply);
        }
        let zone_name = req.zone.clone();
        let mut signer = None;
        if let Some(t) = &req.tsig {
            match tsig::verify_request(&self.keys.load(), msg, t, now) {
                Ok(s) => signer = Some(s),
                Err(rejection) => {
                    return rejected(
                        &req.header,
                        req.question,
                        req.edns,
                        rejection,
                        zone_name,
                        now,
                    );
                }
            }
        }
        let key = signer.as_ref().map(|s| s.key().name().clone());
        let set = self.zones.load_full();
        let zone = match req.class {
            Class::IN => set.get(req.zone.as_wire()).cloned(),
            _ => None,
        };
        let Some(zone) = zone else {
            let sign = signer.as_mut().map_or(Sign::No, Sign::With);
            let reply = error(
                &req.header,
                req.question,
                Rcode::NOTAUTH,
                req.edns,
                sign,
                now,
            );
            return Handled {
                reply,
                refusal: Some(Refusal::NotServed { zone: zone_name }),
            };
        };
        if !self.acl.allows(source, key.as_ref()) {
            let sign = match &signer {
                Some(s) => Sign::Unsigned {
                    key_name: s.key().name(),
                    algorithm: s.key().algorithm().wire(),
                    error: tsig::BADKEY,
                },
                None => Sign::No,
            };
            let reply = error(
                &req.header,
                req.question,
                Rcode::NOTAUTH,
                req.edns,
                sign,
                now,
            );
            return Handled {
                reply,
                refusal: Some(Refusal::NotAllowed {
                    zone: zone_name,
                    key,
                }),
            };
        }
        let plan = match (req.kind, transport) {
            (Kind::Axfr, Transport::Udp) => {
                let sign = signer.as_mut().map_or(Sign::No, Sign::With);
                let reply = error(
                    &req.header,
                    req.question,
                    Rcode::NOTIMP,
                    req.edns,
                    sign,
                    now,
                );
                return Handled::reply(reply);
            }
            (Kind::Axfr, Transport::Tcp) => Plan::Full,
            (Kind::Ixfr { serial }, _) if !serial_newer(zone.serial(), serial) => Plan::SoaOnly,
            (Kind::Ixfr { .. }, Transport::Udp) => Plan::SoaOnly,
            (Kind::Ixfr { serial }, Transport::Tcp) => {
                match self.journal().steps_from(&req.zone, serial) {
                    Some((steps, soa)) => Plan::Incremental { steps, soa },
                    None => Plan::Full,
                }
            }
        };
        let single = match &plan {
            Plan::SoaOnly => true,
            Plan::Incremental { steps, .. } => steps.is_empty(),
            Plan::Full => false,
        };
        let source = Source {
            zone,
            zones: set,
            aliases: self.aliases.load_full(),
        };
        // The Candor view (ALIAS, POOL and REGIONAL records as themselves)
        // for a Candor secondary that asks, unless the zone is signed: a
        // secondary has no keys to sign what it would synthesize.
        let mut edns = req.edns;
        if let Some(opt) = &mut edns {
            opt.candor &= source.zone.signed().is_none();
        }
        let mut transfer = Transfer::new(req.header, req.question, edns, source, plan, signer);
        if single {
            let mut buf = vec![0u8; 65535];
            let reply = match transfer.next_message(&mut buf, now) {
                Some(len) => {
                    buf.truncate(len);
                    Reply::Message(buf)
                }
                None => Reply::Drop,
            };
            return Handled::reply(reply);
        }
        Handled::reply(Reply::Transfer(Box::new(transfer)))
    }

    /// Answers a request other than a transfer that carries a TSIG record
    /// (a secondary's SOA query when it refreshes): checks the signature
    /// as for transfers, answers the request without its TSIG record with
    /// `candor_answer::respond`, and signs the answer (RFC 8945 §5.3). No
    /// ACL applies: what is asked is public anyway.
    pub fn handle_signed(
        &self,
        msg: &[u8],
        client: std::net::IpAddr,
        config: &candor_answer::Config,
        transport: candor_answer::Transport,
        now: u64,
    ) -> Handled {
        let Some(header) = Header::parse(msg).filter(|h| h.flags & Header::QR == 0) else {
            return Handled::reply(Reply::Drop);
        };
        let question = question(msg).map_or(&[][..], |(q, _, _)| q);
        let zone = Name::from_wire(
            question
                .get(..question.len().saturating_sub(4))
                .unwrap_or(&[]),
        )
        .unwrap_or_else(|_| Name::root());
        let edns = candor_wire::parse_query(msg).ok().and_then(|q| q.edns);
        let edns = edns.map(|e| Opt {
            version: e.version,
            dnssec_ok: e.dnssec_ok,
            candor: false,
        });
        let tsig = tsig::last_record_start(msg).and_then(|start| tsig::read_tsig(msg, start));
        let Some(tsig) = tsig else {
            let reply = error(&header, question, Rcode::FORMERR, edns, Sign::No, now);
            return Handled::reply(reply);
        };
        let mut signer = match tsig::verify_request(&self.keys.load(), msg, &tsig, now) {
            Ok(s) => s,
            Err(rejection) => return rejected(&header, question, edns, rejection, zone, now),
        };
        // The request as if it had never been signed.
        let mut bare = msg[..tsig.start].to_vec();
        let arcount = u16::from_be_bytes([bare[10], bare[11]]).saturating_sub(1);
        bare[10..12].copy_from_slice(&arcount.to_be_bytes());
        let mut buf = vec![0u8; 65535];
        let zones = self.zones.load();
        let request = candor_answer::Request {
            msg: &bare,
            transport,
            client,
            now: now as u32,
        };
        let Some(len) = candor_answer::respond(&zones, config, &request, &mut buf).map(|o| o.len)
        else {
            return Handled::reply(Reply::Drop);
        };
        // Over UDP the signed answer must still fit what the client takes
        // (the answer path filled that already): if the TSIG record does
        // not fit too, the client gets an empty signed answer with TC and
        // asks again over TCP (RFC 8945 §5.3, RFC 1035 §4.2.1).
        let limit = match transport {
            candor_answer::Transport::Tcp => 65535,
            candor_answer::Transport::Udp => match candor_wire::parse_query(&bare) {
                Ok(q) => q.edns.map_or(512, |e| {
                    usize::from(e.udp_size.clamp(512, config.max_udp_payload.max(512)))
                }),
                Err(_) => 512,
            },
        };
        // A second signer for the truncated answer: signing advances it.
        let mut fallback = signer.clone();
        let reply = match signer.sign(&mut buf, len, now) {
            Some(signed) if signed <= limit => {
                buf.truncate(signed);
                Reply::Message(buf)
            }
            _ => truncated(&header, question, &mut fallback, now),
        };
        Handled::reply(reply)
    }
}

/// The reply to a request whose TSIG record was not accepted.
pub(crate) fn rejected(
    header: &Header,
    question: &[u8],
    edns: Option<Opt>,
    rejection: Rejection,
    zone: Name,
    now: u64,
) -> Handled {
    match rejection {
        Rejection::Malformed => {
            Handled::reply(error(header, question, Rcode::FORMERR, edns, Sign::No, now))
        }
        Rejection::Unsigned {
            error: code,
            key_name,
            algorithm,
        } => {
            let sign = Sign::Unsigned {
                key_name: &key_name,
                algorithm: &algorithm,
                error: code,
            };
            let reply = error(header, question, Rcode::NOTAUTH, edns, sign, now);
            Handled {
                reply,
                refusal: Some(Refusal::Tsig {
                    zone,
                    key: key_name,
                    error: code,
                }),
            }
        }
        Rejection::BadTime(mut s) => {
            let key = s.key().name().clone();
            let reply = error(
                header,
                question,
                Rcode::NOTAUTH,
                edns,
                Sign::With(&mut s),
                now,
            );
            Handled {
                reply,
                refusal: Some(Refusal::Tsig {
                    zone,
                    key,
                    error: tsig::BADTIME,
                }),
            }
        }
    }
}

/// How an error reply is signed.
pub(crate) enum Sign<'a> {
    /// Not at all: the request was not signed.
    No,
    /// With the request's key (the request verified).
    With(&'a mut Signer),
    /// A TSIG record without MAC carrying an error.
    Unsigned {
        /// The key name the request named.
        key_name: &'a Name,
        /// The algorithm's wire name it named.
        algorithm: &'a [u8],
        /// The TSIG error.
        error: u16,
    },
}

/// An empty, signed answer with TC set: the signed answer did not fit.
fn truncated(header: &Header, question: &[u8], signer: &mut Signer, now: u64) -> Reply {
    let mut buf = vec![0u8; 1024];
    let Ok(mut b) = MessageBuilder::new(&mut buf, header, question, 1024) else {
        return Reply::Drop;
    };
    b.set_flags(Header::AA | Header::TC);
    let len = b.finish();
    match signer.sign(&mut buf, len, now) {
        Some(len) => {
            buf.truncate(len);
            Reply::Message(buf)
        }
        None => Reply::Drop,
    }
}

/// A reply with `rcode` and no records, repeating the question.
pub(crate) fn error(
    header: &Header,
    question: &[u8],
    rcode: Rcode,
    edns: Option<Opt>,
    sign: Sign<'_>,
    now: u64,
) -> Reply {
    let mut buf = vec![0u8; 1024];
    let Ok(mut b) = MessageBuilder::new(&mut buf, header, question, 1024) else {
        return Reply::Drop;
    };
    b.set_rcode(rcode);
    // Room for the OPT and TSIG records: the question is at most 259
    // bytes and a TSIG record without MAC at most 530.
    let _ = b.reserve(11);
    if let Some(opt) = edns {
        let ext = (rcode.0 >> 4) as u8;
        let _ = b.push_opt(1232, ext, opt.dnssec_ok, &[]);
    }
    let len = b.finish();
    let len = match sign {
        Sign::No => Some(len),
        Sign::With(signer) => signer.sign(&mut buf, len, now),
        Sign::Unsigned {
            key_name,
            algorithm,
            error,
        } => tsig::append_unsigned(&mut buf, len, key_name, algorithm, error, now),
    };
    match len {
        Some(len) => {
            buf.truncate(len);
            Reply::Message(buf)
        }
        None => Reply::Drop,
    }
}
