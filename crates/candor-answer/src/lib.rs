//! The authoritative answer algorithm.
//!
//! [`respond`] turns one [`Request`] into one response message (or into
//! nothing, for packets that deserve no answer) and says what it sent: an
//! [`Outcome`] with the rcode, how the rate limiter accounts the response
//! and what the request's DNS cookie was, so the caller never reads the
//! response again. It implements RFC 1034 §4.3.2 with RFC 4592 wildcards,
//! RFC 6672 DNAME, RFC 2308 negative answers, RFC 6891 EDNS, RFC 7873 DNS
//! cookies (RFC 9018 server cookies) and RFC 8482 minimal ANY. [`slip`]
//! writes the small response the rate limiter sends in place of one.
//!
//! Invariants: it is synchronous and pure, never panics, never returns an
//! error (DNS failures are responses), and does not allocate: the response
//! is written into the caller's buffer from RRsets precompiled in wire form.
//! The caller passes the client's address and the time; nothing here reads
//! a clock.

#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_wire::{
    COOKIE_OPTION, Class, Echo, Header, MessageBuilder, NSID_OPTION, Owner, Query, QueryError,
    Rcode, RequestKind, Rtype, Section, TruncationError, parse_query,
};
use candor_zone::{ALIAS, Lookup, NodeId, NodeRef, POOL, RrSet, Zone, ZoneSet, is_private_type};

/// The transport a query came over; it decides the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: responses fit the client's advertised size (512 without EDNS).
    Udp,
    /// TCP: responses up to 65535 bytes.
    Tcp,
}

mod alias;
mod dnssec;
mod peek;

pub use alias::{AliasEntry, AliasTable, SharedAliases, SignedAlias, SignedNsec, SignedRrset};
pub use candor_guard::{CookieCheck, CookieSecrets, RateKey, ResponseKind, Slip};
pub use peek::Peek;

/// Answering settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Largest UDP response we send, whatever the client offers (RFC 9715
    /// recommends 1232 to avoid fragmentation).
    pub max_udp_payload: u16,
    /// Name server identifier for the NSID option (RFC 5001), if any.
    pub nsid: Option<Vec<u8>>,
    /// Addresses of ALIAS targets outside the served zones, kept by the
    /// background resolver.
    pub aliases: SharedAliases,
    /// The secrets server cookies are made and checked with.
    pub cookies: Cookies,
}

/// The server's cookie secrets, shared by every worker and replaced as a
/// whole at a rollover. Answering loads them only for a request with a
/// COOKIE option.
#[derive(Clone, Debug)]
pub struct Cookies(Arc<ArcSwap<CookieSecrets>>);

impl Cookies {
    /// Shared secrets, starting with `secrets`.
    pub fn new(secrets: CookieSecrets) -> Cookies {
        Cookies(Arc::new(ArcSwap::from_pointee(secrets)))
    }

    /// The secrets in use.
    pub fn get(&self) -> Arc<CookieSecrets> {
        self.0.load_full()
    }

    /// Replaces the secrets (a rollover, or a secret file read again).
    pub fn set(&self, secrets: CookieSecrets) {
        self.0.store(Arc::new(secrets));
    }
}

/// One request and what answering it needs besides the zones.
#[derive(Clone, Copy, Debug)]
pub struct Request<'m> {
    /// The message as received.
    pub msg: &'m [u8],
    /// How it came; it decides the size limit.
    pub transport: Transport,
    /// Where it came from: server cookies are bound to the address.
    pub client: IpAddr,
    /// Seconds since the Unix epoch: server cookies carry a timestamp.
    pub now: u32,
}

/// What [`respond`] sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The response's length in the caller's buffer.
    pub len: usize,
    /// Its rcode (extended rcodes included).
    pub rcode: Rcode,
    /// How the rate limiter accounts it: its kind and the name (and type)
    /// it is accounted by.
    pub key: RateKey,
    /// What the request's COOKIE option was.
    pub cookie: CookieCheck,
    /// A DO=1 NXDOMAIN from a signed zone written without its DNSSEC
    /// records, because the rate limiter said while it was answered that
    /// it would not be sent in full ([`Peek::respond_limited`]): it must
    /// never be sent as it is (it would not validate); drop it, or slip.
    pub proofless: bool,
}

/// Whether the rate limiter would hold back (drop or slip) a response
/// accounted by a key, to a request whose COOKIE option was as given:
/// asked, without debiting anything, before the answer writes records no
/// held-back response carries.
pub type WouldLimit<'a> = &'a dyn Fn(RateKey, CookieCheck) -> bool;

/// Longest CNAME/DNAME chain followed inside a zone.
const MAX_CHAIN: usize = 12;

/// Most RRsets whose additional-section targets we remember per answer.
const MAX_ADDITIONAL_SOURCES: usize = 16;

/// Answers one request. `out` receives the response; it should be 65535
/// bytes long so any response fits. Returns what was sent, or `None` if
/// the packet must be dropped (too short, or not a query).
pub fn respond(
    zones: &ZoneSet,
    config: &Config,
    request: &Request<'_>,
    out: &mut [u8],
) -> Option<Outcome> {
    respond_hinted(zones, config, request, out, None)
}

/// What a [`Peek`] already found for a query: its zone and what the index
/// holds for the exact QNAME, so answering need not look them up again.
#[derive(Clone, Copy)]
struct Hint<'z> {
    /// The zone whose apex is the longest suffix of the QNAME.
    zone: &'z Zone,
    /// The lower-cased QNAME the peek looked up.
    lower: &'z [u8],
    /// The index's answer for it.
    first: Option<NodeRef>,
    /// The rate limiter's view, when the caller gave it.
    limited: Option<WouldLimit<'z>>,
}

/// [`respond`], with what a peek found.
fn respond_hinted(
    zones: &ZoneSet,
    config: &Config,
    request: &Request<'_>,
    out: &mut [u8],
    hint: Option<Hint<'_>>,
) -> Option<Outcome> {
    match parse_query(request.msg) {
        Ok(query) => respond_to(
            config,
            request,
            &Echo {
                header: query.header,
                question: query.question,
                edns: query.edns,
            },
            out,
            |b, cookie| answer(zones, config, &query, request.transport, b, hint, cookie),
        ),
        Err(QueryError::Drop) => None,
        Err(QueryError::Reject(echo, rcode)) => reject(config, request, &echo, rcode, out),
        Err(QueryError::CookieOnly(echo)) => cookie_only(config, request, &echo, out),
    }
}

/// The response to a request [`parse_query`] rejects: what it repeats of
/// the request and the rcode. Kept out of line, off the path of queries.
#[cold]
#[inline(never)]
fn reject(
    config: &Config,
    request: &Request<'_>,
    echo: &Echo<'_>,
    rcode: Rcode,
    out: &mut [u8],
) -> Option<Outcome> {
    respond_to(config, request, echo, out, |_, _| Answered::error(rcode))
}

/// The answer to a query for a server cookie (RFC 7873 §5.4): no question,
/// no records, the cookie in the OPT record; NOERROR, or BADCOOKIE when the
/// query's server cookie is not valid.
#[cold]
#[inline(never)]
fn cookie_only(
    config: &Config,
    request: &Request<'_>,
    echo: &Echo<'_>,
    out: &mut [u8],
) -> Option<Outcome> {
    respond_to(config, request, echo, out, |_, cookie| {
        Answered::error(match cookie {
            CookieCheck::Invalid => Rcode::BADCOOKIE,
            _ => Rcode::NOERROR,
        })
    })
}

/// Writes, into `out`, what the rate limiter sends in place of a response
/// over its limit (`outcome` says what the response in `out` was): the
/// header, the question and the OPT record, nothing else. A
/// [`Slip::Truncated`] keeps the response's AA bit and rcode and sets TC,
/// so a client retries over TCP; a [`Slip::BadCookie`] is BADCOOKIE with a
/// fresh server cookie (RFC 7873 §5.2.3), so a client retries with it.
/// Returns the length, or `None` if the request is not one to answer.
pub fn slip(
    config: &Config,
    request: &Request<'_>,
    outcome: &Outcome,
    how: Slip,
    out: &mut [u8],
) -> Option<usize> {
    let authoritative = out.get(2).is_some_and(|f| f & (Header::AA >> 8) as u8 != 0);
    let echo = match parse_query(request.msg) {
        Ok(q) => Echo {
            header: q.header,
            question: q.question,
            edns: q.edns,
        },
        Err(QueryError::Reject(echo, _) | QueryError::CookieOnly(echo)) => echo,
        Err(QueryError::Drop) => return None,
    };
    let slipped = respond_to(config, request, &echo, out, |b, _| match how {
        Slip::Truncated => {
            let aa = if authoritative { Header::AA } else { 0 };
            b.set_flags(Header::TC | aa);
            Answered::error(outcome.rcode)
        }
        Slip::BadCookie => Answered::error(Rcode::BADCOOKIE),
    });
    slipped.map(|o| o.len)
}

/// What a body writer decided: the rcode, and how the response is
/// accounted.
#[derive(Clone, Copy, Debug)]
struct Answered {
    /// The rcode.
    rcode: Rcode,
    /// How the rate limiter accounts the response.
    key: RateKey,
    /// See [`Outcome::proofless`].
    proofless: bool,
}

impl Answered {
    /// A response with `rcode` and no zone's data.
    fn error(rcode: Rcode) -> Answered {
        Answered {
            rcode,
            proofless: false,
            key: RateKey::error_without_zone(),
        }
    }
}

/// Room for the COOKIE option's data in a response: the client cookie and
/// an RFC 9018 server cookie.
const COOKIE_REPLY_LEN: usize = 8 + candor_guard::cookie::SERVER_COOKIE_LEN;

/// Writes a response to the request `echo` describes (its header, question
/// and OPT record): the header and question, what `body` writes (told
/// what the request's cookie was; returning the rcode and how the response
/// is accounted), and an OPT record if the request had one (RFC 6891 §7),
/// whatever the rcode, with the request's client cookie and a server
/// cookie if it sent a COOKIE option (RFC 7873 §5.2).
fn respond_to(
    config: &Config,
    request: &Request<'_>,
    echo: &Echo<'_>,
    out: &mut [u8],
    body: impl FnOnce(&mut MessageBuilder<'_>, CookieCheck) -> Answered,
) -> Option<Outcome> {
    let edns = echo.edns;
    let limit = match (request.transport, edns) {
        (Transport::Tcp, _) => 65535,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => {
            usize::from(e.udp_size.clamp(512, config.max_udp_payload.max(512)))
        }
    };
    let Ok(mut b) = MessageBuilder::new(out, &echo.header, echo.question, limit) else {
        let len = error_response(&echo.header, Rcode::FORMERR, out)?;
        return Some(Outcome {
            len,
            rcode: Rcode::FORMERR,
            key: RateKey::error_without_zone(),
            cookie: CookieCheck::Absent,
            proofless: false,
        });
    };

    // The cookie goes back with a server cookie: the one sent, while it is
    // valid and young, or a fresh one. A request without a valid one is
    // still answered in full (RFC 7873 §5.2.3 choice 3, BIND's default):
    // Knot 3.2 answers it BADCOOKIE over UDP instead, which costs every
    // cookie client a round trip at first contact and after each rollover
    // and stops no attacker, who simply sends no cookie; the rate limiter
    // is what answers floods (with BADCOOKIE slips for cookie clients).
    let mut cookie_reply = [0u8; COOKIE_REPLY_LEN];
    let cookie = match edns.and_then(|e| e.cookie) {
        Some(c) => {
            let secrets = config.cookies.0.load();
            let (check, server) = secrets.reply(&c.client, c.server, request.client, request.now);
            cookie_reply[..8].copy_from_slice(&c.client);
            cookie_reply[8..].copy_from_slice(&server);
            check
        }
        None => CookieCheck::Absent,
    };
    let nsid = match (edns, &config.nsid) {
        (Some(e), Some(id)) if e.nsid => Some(&id[..id.len().min(255)]),
        _ => None,
    };
    let mut options: [(u16, &[u8]); 2] = [(0, &[]); 2];
    let mut n_options = 0;
    if let Some(id) = nsid {
        options[n_options] = (NSID_OPTION, id);
        n_options += 1;
    }
    if cookie.is_present() {
        options[n_options] = (COOKIE_OPTION, &cookie_reply);
        n_options += 1;
    }
    let options = &options[..n_options];
    // Room for our OPT record, so the answer can never crowd it out.
    let opt_len = 11 + options.iter().map(|(_, d)| 4 + d.len()).sum::<usize>();
    if edns.is_some() {
        // The question is at most 259 bytes, so this always fits in 512.
        let _ = b.reserve(opt_len);
    }

    let answered = body(&mut b, cookie);
    b.set_rcode(answered.rcode);
    if let Some(edns) = edns {
        let ext = (answered.rcode.0 >> 4) as u8;
        // The space was reserved above, so this cannot fail.
        let _ = b.push_opt(
            config.max_udp_payload.max(512),
            ext,
            edns.dnssec_ok,
            options,
        );
    }
    Some(Outcome {
        len: b.finish(),
        rcode: answered.rcode,
        key: answered.key,
        cookie,
        proofless: answered.proofless,
    })
}

/// A header-only response with `rcode` (no question: it could not be read).
fn error_response(header: &Header, rcode: Rcode, out: &mut [u8]) -> Option<usize> {
    let mut b = MessageBuilder::new(out, header, &[], 12).ok()?;
    b.set_rcode(rcode);
    Some(b.finish())
}

/// Decides the response and writes its records; returns the rcode and
/// how the response is accounted.
fn answer(
    zones: &ZoneSet,
    config: &Config,
    query: &Query<'_>,
    transport: Transport,
    b: &mut MessageBuilder<'_>,
    hint: Option<Hint<'_>>,
    cookie: CookieCheck,
) -> Answered {
    if query.has_tsig {
        // The answer path holds no TSIG keys, so no signature can be
        // verified here (RFC 8945 §5.2). The servers give signed requests
        // to `candor_xfr` instead (over UDP, on seeing this NOTAUTH).
        return Answered::error(Rcode::NOTAUTH);
    }
    if query.kind != RequestKind::Query {
        return Answered::error(decline(query, transport));
    }
    match query.qtype {
        Rtype::OPT | Rtype::TSIG | Rtype::TKEY => return Answered::error(Rcode::FORMERR),
        Rtype::MAILA | Rtype::MAILB => return Answered::error(Rcode::NOTIMP),
        _ => {}
    }
    if query.qclass != Class::IN {
        return Answered::error(Rcode::REFUSED);
    }

    // Lookups use the lower-cased QNAME; most queries are lower case
    // already, and then no copy is made.
    if query.qname.iter().any(u8::is_ascii_uppercase) {
        let mut lower = [0u8; candor_wire::MAX_NAME_LEN];
        let buf = &mut lower[..query.qname.len()];
        buf.copy_from_slice(query.qname);
        buf.make_ascii_lowercase();
        answer_name(zones, config, query, buf, transport, b, hint, cookie)
    } else {
        answer_name(
            zones,
            config,
            query,
            query.qname,
            transport,
            b,
            hint,
            cookie,
        )
    }
}

/// Answers for the lower-cased `qname` of a query that passed the checks.
#[allow(clippy::too_many_arguments)]
fn answer_name(
    zones: &ZoneSet,
    config: &Config,
    query: &Query<'_>,
    qname: &[u8],
    transport: Transport,
    b: &mut MessageBuilder<'_>,
    hint: Option<Hint<'_>>,
    cookie: CookieCheck,
) -> Answered {
    // A peek at the same name found the zone and probed the index for it.
    let (zone, first) = match hint {
        Some(h) if query.qtype != Rtype::DS && h.lower == qname => (Some(h.zone), Some(h.first)),
        _ => (find_zone(zones, query.qtype, qname), None),
    };
    let limited = hint.and_then(|h| h.limited).map(|l| (l, cookie));
    let Some(zone) = zone else {
        return Answered::error(Rcode::REFUSED);
    };
    b.set_flags(Header::AA);
    let mut ctx = Answer {
        zones,
        aliases: &config.aliases,
        zone,
        qtype: query.qtype,
        transport,
        sources: [None; MAX_ADDITIONAL_SOURCES],
        n_sources: 0,
        apex_offset: qname.len() - zone.apex().wire_len(),
        entropy: query.header.id,
        first,
        kind: ResponseKind::Answer,
        owner: 0,
        dnssec: query.edns.is_some_and(|e| e.dnssec_ok) && zone.signed().is_some(),
        proofs: [0; dnssec::MAX_PROOFS],
        entries: [dnssec::NO_ENTRY; dnssec::MAX_PROOFS],
        n_proofs: 0,
        denial_at_apex: false,
        limited,
        proofless: false,
    };
    let resolved = ctx.resolve(qname, query.qname, b).and_then(|rcode| {
        ctx.write_proofs(qname, b).map_err(|_| Truncated(rcode))?;
        Ok(rcode)
    });
    let rcode = match resolved {
        Ok(rcode) => {
            ctx.additional(b);
            rcode
        }
        Err(Truncated(rcode)) => {
            b.set_flags(Header::TC);
            rcode
        }
    };
    let apex = zone.apex().as_wire();
    let key = match (rcode, ctx.kind) {
        (Rcode::NOERROR, ResponseKind::Answer) => {
            RateKey::new(ResponseKind::Answer, qname, query.qtype.0)
        }
        (Rcode::NOERROR, kind @ (ResponseKind::Wildcard | ResponseKind::Referral)) => {
            RateKey::new(kind, zone.name_bytes(ctx.owner), 0)
        }
        (Rcode::NOERROR, _) => RateKey::new(ResponseKind::NoData, apex, 0),
        (Rcode::NXDOMAIN, _) => nxdomain_key(apex),
        _ => RateKey::new(ResponseKind::Error, apex, 0),
    };
    Answered {
        rcode,
        key,
        proofless: ctx.proofless,
    }
}

/// The account of an NXDOMAIN from the zone at `apex` (wire): one per
/// zone, whatever the name (what `Answer::nxdomain` asks the limiter
/// about before writing proofs, and what the response is debited by).
fn nxdomain_key(apex: &[u8]) -> RateKey {
    RateKey::new(ResponseKind::NxDomain, apex, 0)
}

/// The rcode for a request other than a standard query: none of them is
/// served here. Zone transfers are `candor_xfr`'s: the TCP listener hands
/// them over before this runs, a UDP worker on seeing NOTAUTH.
#[cold]
fn decline(query: &Query<'_>, transport: Transport) -> Rcode {
    match query.kind {
        // AXFR over UDP is not defined (RFC 5936 §4.2): NOTIMP, as from Knot.
        RequestKind::Axfr if transport == Transport::Udp => Rcode::NOTIMP,
        // Declined here: NOTAUTH ("not authorized", as RFC 8945 reads the
        // code), which is what Knot answers a transfer its ACL denies; the
        // server asks `candor_xfr` instead when transfers are configured.
        RequestKind::Axfr | RequestKind::Ixfr => Rcode::NOTAUTH,
        // NOTIFY is for secondary zones, which the servers hand to
        // `candor_xfr::secondary` on seeing NOTAUTH; Knot answers one its
        // ACL does not allow with NOTAUTH too.
        RequestKind::Notify => Rcode::NOTAUTH,
        // The zone section names an SOA, or the UPDATE is malformed (RFC
        // 2136 §3.1.1). Zones change through the API only, never through
        // DNS: NOTAUTH, as Knot answers an UPDATE its ACL does not allow.
        RequestKind::Update if query.qtype != Rtype::SOA => Rcode::FORMERR,
        RequestKind::Update => Rcode::NOTAUTH,
        // Standard queries are answered, never declined (`answer` does not
        // call this for them).
        RequestKind::Query => Rcode::SERVFAIL,
    }
}

/// The zone that answers for the lower-cased `qname`: the one whose apex
/// is its longest suffix, except that DS records live in the parent zone
/// (RFC 4035 §3.1.4.1).
fn find_zone<'z>(zones: &'z ZoneSet, qtype: Rtype, qname: &[u8]) -> Option<&'z Zone> {
    if qtype == Rtype::DS && qname.len() > 1 {
        let parent = &qname[1 + usize::from(qname[0])..];
        zones.find(parent).or_else(|| zones.find(qname))
    } else {
        zones.find(qname)
    }
}

/// The answer or authority section did not fit; the rcode so far.
struct Truncated(Rcode);

impl From<TruncationError> for Truncated {
    fn from(_: TruncationError) -> Truncated {
        Truncated(Rcode::NOERROR)
    }
}

/// State of one answer inside one zone.
struct Answer<'z> {
    /// Every served zone (ALIAS targets may be in any of them).
    zones: &'z ZoneSet,
    /// Resolved ALIAS targets outside them.
    aliases: &'z SharedAliases,
    /// The zone answering.
    zone: &'z Zone,
    /// QTYPE.
    qtype: Rtype,
    /// Transport (for ANY).
    transport: Transport,
    /// RRsets whose additional targets go in the additional section.
    sources: [Option<&'z RrSet>; MAX_ADDITIONAL_SOURCES],
    /// Entries of `sources` in use.
    n_sources: usize,
    /// Where the apex starts inside the QNAME (the zone was chosen because
    /// its apex is a suffix of the QNAME).
    apex_offset: usize,
    /// Chooses among a POOL's targets: the query ID, which resolvers pick
    /// at random for every query (RFC 5452 §9.2).
    entropy: u16,
    /// The index's answer for the QNAME, when a peek already asked
    /// (taken by the first lookup).
    first: Option<Option<NodeRef>>,
    /// How the rate limiter accounts the response so far: an answer
    /// (by QNAME), unless a wildcard, a referral or a negative answer
    /// made it another kind.
    kind: ResponseKind,
    /// The wildcard or delegation node the response is accounted by.
    owner: NodeId,
    /// Whether the answer carries DNSSEC records: the query set DO and
    /// the zone is signed (see `dnssec`).
    dnssec: bool,
    /// Nodes whose NSEC records go in the authority section.
    proofs: [NodeId; dnssec::MAX_PROOFS],
    /// The chain entry of each of `proofs`, when the search that found it
    /// said (`dnssec::NO_ENTRY` otherwise): its NSEC is then read from
    /// the chain's entry, not the node (`Zone::chain_proof`).
    entries: [u32; dnssec::MAX_PROOFS],
    /// Entries of `proofs` in use.
    n_proofs: usize,
    /// The answer is an NXDOMAIN for the QNAME itself (no CNAME or DNAME
    /// before it) whose closest encloser is the apex: what lets the
    /// proofs' owners be written without a compression search
    /// (`Answer::proof_owner`).
    denial_at_apex: bool,
    /// The rate limiter's view and the request's COOKIE check, when the
    /// caller gave them (`Answer::nxdomain` asks before writing proofs).
    limited: Option<(WouldLimit<'z>, CookieCheck)>,
    /// See [`Outcome::proofless`].
    proofless: bool,
}

/// Buffers holding the name being looked up while following a chain.
struct ChainName {
    /// Lower-cased wire form, for lookups.
    lower: [u8; candor_wire::MAX_NAME_LEN],
    /// As written in the RDATA that led here, for owners.
    orig: [u8; candor_wire::MAX_NAME_LEN],
    /// Length of both.
    len: usize,
}

impl ChainName {
    /// An empty name buffer.
    fn empty() -> ChainName {
        ChainName {
            lower: [0; 255],
            orig: [0; 255],
            len: 0,
        }
    }

    /// Replaces the name.
    fn set(&mut self, name: &[u8]) {
        self.len = name.len();
        self.orig[..name.len()].copy_from_slice(name);
        self.lower[..name.len()].copy_from_slice(name);
        self.lower[..name.len()].make_ascii_lowercase();
    }
}

impl<'z> Answer<'z> {
    /// Writes the answer and authority sections for `qname`.
    fn resolve(
        &mut self,
        qname: &[u8],
        qname_orig: &[u8],
        b: &mut MessageBuilder<'_>,
    ) -> Result<Rcode, Truncated> {
        let zone = self.zone;
        // The name being looked up once a CNAME or DNAME led away from the
        // QNAME (created only then: most answers never need it).
        let mut cur: Option<ChainName> = None;
        let mut visited: [NodeId; MAX_CHAIN + 1] = [u32::MAX; MAX_CHAIN + 1];
        for step in 0..=MAX_CHAIN {
            let (name, owner) = match &cur {
                None => (qname, Owner::Qname),
                Some(c) => (&c.lower[..c.len], Owner::Name(&c.orig[..c.len])),
            };
            let found = match self.first.take() {
                Some(first) => zone.lookup_after(name, first),
                None => zone.lookup(name),
            };
            let mut wild = false;
            let node = match found {
                Lookup::Exact(node) => node,
                Lookup::Wildcard(node) => {
                    wild = true;
                    // Answers for names a wildcard stands for are accounted
                    // by the wildcard, so random names meet one account.
                    if step == 0 {
                        self.kind = ResponseKind::Wildcard;
                        self.owner = node.id;
                    }
                    node
                }
                Lookup::Delegation { cut, at_cut: true } if self.qtype == Rtype::DS => {
                    zone.node(cut)
                }
                Lookup::Delegation { cut, .. } => {
                    self.referral(cut, b)?;
                    return Ok(Rcode::NOERROR);
                }
                Lookup::Dname(owner_id) => {
                    let Some(dname) = zone.rrset(zone.node(owner_id), Rtype::DNAME) else {
                        return Ok(Rcode::SERVFAIL);
                    };
                    // A DNAME used twice is a loop (e.g. one pointing at
                    // itself): stop rather than repeat records (RFC 2181 §5).
                    if visited[..step].contains(&owner_id) {
                        return Ok(Rcode::NOERROR);
                    }
                    visited[step] = owner_id;
                    let dname_owner = Owner::Name(zone.name_bytes(owner_id));
                    b.push_rrset(dname_owner, zone.tails(dname), 1)?;
                    self.sigs(dname_owner, dname, b)?;
                    let target = first_rdata(zone.tails(dname));
                    let prefix_len = name.len() - zone.name_bytes(owner_id).len();
                    if prefix_len + target.len() > candor_wire::MAX_NAME_LEN {
                        return Ok(Rcode::YXDOMAIN);
                    }
                    // The synthesized CNAME (RFC 6672 §3.1), prefix in the
                    // case of the query.
                    let mut new_name = [0u8; candor_wire::MAX_NAME_LEN];
                    let prefix: &[u8] = match owner {
                        Owner::Qname => &qname_orig[..prefix_len],
                        Owner::QnameSuffix(skip) => &qname_orig[skip..skip + prefix_len],
                        Owner::Name(n) => &n[..prefix_len],
                    };
                    new_name[..prefix_len].copy_from_slice(prefix);
                    new_name[prefix_len..prefix_len + target.len()].copy_from_slice(target);
                    let new_name = &new_name[..prefix_len + target.len()];
                    let mut tail = [0u8; CNAME_TAIL_MAX];
                    b.push_rrset(owner, cname_tail(&mut tail, dname.ttl, new_name), 1)?;
                    // The synthesized CNAME is the name's CNAME, so it is
                    // what QTYPE=CNAME asks for and nothing is followed
                    // (RFC 6672 §3.2, RFC 1034 §4.3.2 step 3a), like Knot.
                    if self.qtype == Rtype::CNAME {
                        return Ok(Rcode::NOERROR);
                    }
                    let c = cur.get_or_insert_with(ChainName::empty);
                    c.set(new_name);
                    if !in_zone(&c.lower[..c.len], zone) {
                        return Ok(Rcode::NOERROR);
                    }
                    continue;
                }
                Lookup::NxDomain(encloser) => {
                    self.denial_at_apex = cur.is_none() && encloser == 0;
                    self.nxdomain(name, encloser, b)?;
                    return Ok(Rcode::NXDOMAIN);
                }
            };

            // The name exists (or a wildcard stands for it). A CNAME
            // redirects every type except itself, ANY, and the DNSSEC types
            // that may sit beside it (RFC 4035 §2.5).
            let follows = !matches!(
                self.qtype,
                Rtype::CNAME | Rtype::ANY | Rtype::RRSIG | Rtype::NSEC
            );
            // A POOL answers as a CNAME to one of its targets, chosen per
            // query (DNSimple's POOL record), and is followed like one.
            let dnssec_type = matches!(self.qtype, Rtype::RRSIG | Rtype::NSEC);
            if !dnssec_type && let Some(pool) = zone.rrset(node, POOL) {
                if visited[..step].contains(&node.id) {
                    return Ok(Rcode::NOERROR);
                }
                let pick = usize::from(self.entropy) % usize::from(pool.count.max(1));
                let target = nth_rdata(zone.tails(pool), pick);
                let mut tail = [0u8; CNAME_TAIL_MAX];
                b.push_rrset(owner, cname_tail(&mut tail, pool.ttl, target), 1)?;
                self.pool_sigs(owner, pool, pick, b)?;
                if wild {
                    self.wildcard_answer(name);
                }
                if matches!(self.qtype, Rtype::CNAME | Rtype::ANY) || step == MAX_CHAIN {
                    return Ok(Rcode::NOERROR);
                }
                visited[step] = node.id;
                let c = cur.get_or_insert_with(ChainName::empty);
                c.set(target);
                if !in_zone(&c.lower[..c.len], zone) {
                    return Ok(Rcode::NOERROR);
                }
                continue;
            }
            if follows && let Some(cname) = zone.rrset(node, Rtype::CNAME) {
                // A loop ends where it would repeat a record.
                if visited[..step].contains(&node.id) {
                    return Ok(Rcode::NOERROR);
                }
                b.push_rrset(owner, zone.tails(cname), cname.count)?;
                self.sigs(owner, cname, b)?;
                if wild {
                    self.wildcard_answer(name);
                }
                if step == MAX_CHAIN {
                    return Ok(Rcode::NOERROR);
                }
                visited[step] = node.id;
                let c = cur.get_or_insert_with(ChainName::empty);
                c.set(first_rdata(zone.tails(cname)));
                if !in_zone(&c.lower[..c.len], zone) {
                    return Ok(Rcode::NOERROR);
                }
                continue;
            }
            return self.positive(node, owner, name, wild, b);
        }
        Ok(Rcode::NOERROR)
    }

    /// Answers from an existing node: the RRset of QTYPE, ANY, or NODATA.
    /// `name` is the lower-cased name asked for, `wild` whether `node` is
    /// the wildcard standing for it (DNSSEC proofs need both).
    fn positive(
        &mut self,
        node: NodeRef,
        owner: Owner<'_>,
        name: &[u8],
        wild: bool,
        b: &mut MessageBuilder<'_>,
    ) -> Result<Rcode, Truncated> {
        let zone = self.zone;
        if self.qtype == Rtype::RRSIG {
            // RRSIGs are compiled next to the RRsets they cover (and only
            // those over absent types form an RRSIG RRset of their own).
            if !self.all_sigs(node, owner, b)? {
                self.negative(b)?;
                self.nodata_proof(node.id, name, wild);
            } else if wild {
                self.wildcard_answer(name);
            }
            return Ok(Rcode::NOERROR);
        }
        if self.qtype == Rtype::ANY {
            // RFC 8482: over UDP one RRset is enough; TCP gets them all.
            // Candor's private types are never shown.
            let take = match self.transport {
                Transport::Udp => 1,
                Transport::Tcp => usize::MAX,
            };
            let mut shown = 0;
            for set in zone
                .rrsets(node)
                .iter()
                .filter(|s| !is_private_type(s.rtype))
                .take(take)
            {
                b.push_rrset(owner, zone.tails(set), set.count)?;
                self.sigs(owner, set, b)?;
                self.note_additional(set);
                shown += 1;
            }
            if shown == 0 {
                self.negative(b)?;
                self.nodata_proof(node.id, name, wild);
            } else if wild {
                self.wildcard_answer(name);
            }
            return Ok(Rcode::NOERROR);
        }
        let set = if is_private_type(self.qtype) {
            None
        } else {
            zone.rrset(node, self.qtype)
        };
        if let Some(set) = set {
            b.push_rrset(owner, zone.tails(set), set.count)?;
            self.sigs(owner, set, b)?;
            self.note_additional(set);
            if wild {
                self.wildcard_answer(name);
            }
            return Ok(Rcode::NOERROR);
        }
        if matches!(self.qtype, Rtype::A | Rtype::AAAA)
            && let Some(alias) = zone.rrset(node, ALIAS)
        {
            if self.dnssec {
                return self.signed_alias(node, owner, name, wild, b);
            }
            return self.alias(alias, owner, b);
        }
        self.negative(b)?;
        self.nodata_proof(node.id, name, wild);
        Ok(Rcode::NOERROR)
    }

    /// Answers A or AAAA at an ALIAS: the target's addresses with the
    /// owner's name. Targets in Candor's own zones are looked up there; a
    /// target that does not exist (or has no such addresses) is NODATA; a
    /// target Candor cannot resolve locally is SERVFAIL, as an ALIAS whose
    /// target was never resolved (nothing on this path waits for anyone).
    fn alias(
        &mut self,
        alias: &RrSet,
        owner: Owner<'_>,
        b: &mut MessageBuilder<'_>,
    ) -> Result<Rcode, Truncated> {
        let target = first_rdata(self.zone.tails(alias));
        let mut lower = [0u8; candor_wire::MAX_NAME_LEN];
        let len = target.len().min(candor_wire::MAX_NAME_LEN);
        lower[..len].copy_from_slice(&target[..len]);
        lower[..len].make_ascii_lowercase();
        let target = &lower[..len];
        match local_alias_target(self.zones, target, self.qtype) {
            LocalTarget::Outside => self.alias_from_resolver(target, owner, b),
            LocalTarget::Found(other, set) => {
                b.push_rrset(owner, other.tails(set), set.count)?;
                Ok(Rcode::NOERROR)
            }
            LocalTarget::Missing => {
                self.negative(b)?;
                Ok(Rcode::NOERROR)
            }
        }
    }

    /// An ALIAS target outside the served zones: what the background
    /// resolver last saw (RFC 8767-style, stale answers included), NODATA
    /// for a target that does not exist, SERVFAIL for one never resolved.
    fn alias_from_resolver(
        &mut self,
        target: &[u8],
        owner: Owner<'_>,
        b: &mut MessageBuilder<'_>,
    ) -> Result<Rcode, Truncated> {
        let table = self.aliases.load();
        let Some(entry) = table.get(target) else {
            return Ok(Rcode::SERVFAIL);
        };
        let mut tails = [0u8; alias::MAX_ADDRESSES * (10 + 16)];
        let mut len = 0;
        let mut count = 0u16;
        let mut put = |rtype: Rtype, addr: &[u8]| {
            let t = &mut tails[len..len + 10 + addr.len()];
            t[..2].copy_from_slice(&rtype.0.to_be_bytes());
            t[2..4].copy_from_slice(&1u16.to_be_bytes());
            t[4..8].copy_from_slice(&entry.ttl.to_be_bytes());
            t[8..10].copy_from_slice(&(addr.len() as u16).to_be_bytes());
            t[10..].copy_from_slice(addr);
            len += 10 + addr.len();
            count += 1;
        };
        if entry.exists && self.qtype == Rtype::A {
            entry
                .v4
                .iter()
                .take(alias::MAX_ADDRESSES)
                .for_each(|a| put(Rtype::A, a));
        } else if entry.exists {
            entry
                .v6
                .iter()
                .take(alias::MAX_ADDRESSES)
                .for_each(|a| put(Rtype::AAAA, a));
        }
        if count == 0 {
            self.negative(b)?;
        } else {
            b.push_rrset(owner, &tails[..len], count)?;
        }
        Ok(Rcode::NOERROR)
    }

    /// NXDOMAIN/NODATA: the SOA in the authority section (RFC 2308 §2).
    fn negative(&mut self, b: &mut MessageBuilder<'_>) -> Result<(), Truncated> {
        self.kind = ResponseKind::NoData;
        b.set_section(Section::Authority);
        // Right after the question, the SOA (and its RRSIGs) is the zone's
        // prerendered block, copied, unless it would compress differently
        // (`MessageBuilder::push_prerendered` decides) or not fit.
        if let Some(block) = self.zone.negative_blocks().and_then(|n| n.soa(self.dnssec))
            && dnssec::fast_paths()
            && b.push_prerendered(block)
        {
            return Ok(());
        }
        b.push_rrset(
            Owner::QnameSuffix(self.apex_offset),
            self.zone.negative_soa(),
            1,
        )?;
        self.soa_sigs(b)
    }

    /// A referral to the delegation at `cut`: NS in authority, glue later.
    fn referral(&mut self, cut: NodeId, b: &mut MessageBuilder<'_>) -> Result<(), Truncated> {
        let zone = self.zone;
        let Some(ns) = zone.rrset(zone.node(cut), Rtype::NS) else {
            return Ok(());
        };
        self.kind = ResponseKind::Referral;
        self.owner = cut;
        // A referral is not authoritative, unless a CNAME chain in this
        // zone already produced an authoritative answer record.
        if b.count(Section::Answer) == 0 {
            b.clear_flags(Header::AA);
        }
        b.set_section(Section::Authority);
        b.push_rrset(Owner::Name(zone.name_bytes(cut)), zone.tails(ns), ns.count)?;
        self.note_additional(ns);
        self.referral_proof(cut, b)
    }

    /// Remembers an RRset whose targets need additional records.
    fn note_additional(&mut self, set: &'z RrSet) {
        if !self.zone.additional(set).is_empty() && self.n_sources < MAX_ADDITIONAL_SOURCES {
            self.sources[self.n_sources] = Some(set);
            self.n_sources += 1;
        }
    }

    /// Writes the additional section: A, then AAAA, of every target, as
    /// far as they fit (they are optional: no TC; RFC 1035 §4.1, NSD).
    fn additional(&mut self, b: &mut MessageBuilder<'_>) {
        let zone = self.zone;
        b.set_section(Section::Additional);
        for rtype in [Rtype::A, Rtype::AAAA] {
            for (i, set) in self.sources[..self.n_sources].iter().flatten().enumerate() {
                for (j, add) in zone.additional(set).iter().enumerate() {
                    // Skip targets listed before (in this or an earlier set).
                    let seen = self.sources[..i]
                        .iter()
                        .flatten()
                        .any(|s| zone.additional(s).iter().any(|a| a.node == add.node))
                        || zone.additional(set)[..j].iter().any(|a| a.node == add.node);
                    if seen {
                        continue;
                    }
                    if let Some(addr) = zone.rrset(zone.node(add.node), rtype) {
                        let owner = Owner::Name(zone.additional_owner(add));
                        if b.push_rrset(owner, zone.tails(addr), addr.count).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Room for one CNAME RR tail: TYPE, CLASS, TTL, RDLENGTH and a name.
const CNAME_TAIL_MAX: usize = 10 + candor_wire::MAX_NAME_LEN;

/// Writes a CNAME RR tail to `target` into `buf`; returns the written part.
fn cname_tail<'b>(buf: &'b mut [u8; CNAME_TAIL_MAX], ttl: u32, target: &[u8]) -> &'b [u8] {
    let len = target.len().min(candor_wire::MAX_NAME_LEN);
    buf[..2].copy_from_slice(&Rtype::CNAME.0.to_be_bytes());
    buf[2..4].copy_from_slice(&1u16.to_be_bytes());
    buf[4..8].copy_from_slice(&ttl.to_be_bytes());
    buf[8..10].copy_from_slice(&(len as u16).to_be_bytes());
    buf[10..10 + len].copy_from_slice(&target[..len]);
    &buf[..10 + len]
}

/// The RDATA of the `n`th RR in a tails block (the last one if there are
/// fewer).
fn nth_rdata(tails: &[u8], n: usize) -> &[u8] {
    let mut pos = 0;
    let mut found = first_rdata(tails);
    for _ in 0..=n {
        let Some(len) = tails.get(pos + 8..pos + 10) else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let Some(rdata) = tails.get(pos + 10..pos + 10 + len) else {
            break;
        };
        found = rdata;
        pos += 10 + len;
    }
    found
}

/// The RDATA of the first RR in a tails block.
fn first_rdata(tails: &[u8]) -> &[u8] {
    let Some(len) = tails.get(8..10) else {
        return &[];
    };
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    tails.get(10..10 + len).unwrap_or(&[])
}

/// An ALIAS target as Candor's own zones answer it.
pub enum LocalTarget<'z> {
    /// No served zone holds the target: the resolver looks it up.
    Outside,
    /// The RRset of the type asked for, in the zone that holds it.
    Found(&'z Zone, &'z RrSet),
    /// The target, in a served zone, has no such records (or does not
    /// exist).
    Missing,
}

/// What an ALIAS to `target` (lower-cased wire) answers for `rtype` (A or
/// AAAA) from the served `zones`: the target's RRset, following CNAMEs
/// inside its zone as a resolver would, a bounded number of times. The
/// answer path and the ALIAS signer (`candor-alias`) both use it, so a
/// signed ALIAS answer holds what an unsigned one does.
pub fn local_alias_target<'z>(zones: &'z ZoneSet, target: &[u8], rtype: Rtype) -> LocalTarget<'z> {
    let Some(other) = zones.find(target) else {
        return LocalTarget::Outside;
    };
    let mut name = [0u8; candor_wire::MAX_NAME_LEN];
    let mut name_len = target.len().min(candor_wire::MAX_NAME_LEN);
    name[..name_len].copy_from_slice(&target[..name_len]);
    for _ in 0..MAX_CHAIN {
        let node = match other.lookup(&name[..name_len]) {
            Lookup::Exact(n) | Lookup::Wildcard(n) => n,
            _ => break,
        };
        if let Some(set) = other.rrset(node, rtype) {
            return LocalTarget::Found(other, set);
        }
        let Some(cname) = other.rrset(node, Rtype::CNAME) else {
            break;
        };
        let next = first_rdata(other.tails(cname));
        name_len = next.len().min(candor_wire::MAX_NAME_LEN);
        name[..name_len].copy_from_slice(&next[..name_len]);
        name[..name_len].make_ascii_lowercase();
        if !in_zone(&name[..name_len], other) {
            break;
        }
    }
    LocalTarget::Missing
}

/// Whether a lower-cased name is at or below the zone's apex.
fn in_zone(name: &[u8], zone: &Zone) -> bool {
    let apex = zone.apex().as_wire();
    name.len() >= apex.len() && name.ends_with(apex) && {
        let start = name.len() - apex.len();
        start == 0 || candor_wire::wire_labels(name).any(|p| p + 1 + usize::from(name[p]) == start)
    }
}

#[cfg(test)]
mod tests;
