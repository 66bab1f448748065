//! Parsing queries and building responses, in caller-provided buffers.
//!
//! [`parse_query`] reads exactly what an authoritative server needs from a
//! request (header, the one question, EDNS, the [`RequestKind`]) without
//! allocating, reading every other record through so that a broken message
//! is always noticed.
//! [`MessageBuilder`] writes a response: header, question copied from the
//! query, then whole RRs with name compression, refusing (and rolling back)
//! anything that would exceed the size limit.

use crate::name::{MAX_NAME_LEN, wire_labels};
use crate::types::{Class, Opcode, Rcode, Rtype};

/// Size of the fixed message header.
const HEADER_LEN: usize = 12;

/// How many pointer hops a compressed name may take before we give up.
const MAX_POINTER_HOPS: usize = 64;

//----------- Header ---------------------------------------------------------

/// The fixed 12-byte message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Query identifier, copied into the response.
    pub id: u16,
    /// The second 16-bit word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Entries in the question section.
    pub qdcount: u16,
    /// Entries in the answer section.
    pub ancount: u16,
    /// Entries in the authority section.
    pub nscount: u16,
    /// Entries in the additional section.
    pub arcount: u16,
}

impl Header {
    /// QR bit: this is a response.
    pub const QR: u16 = 0x8000;
    /// AA bit: authoritative answer.
    pub const AA: u16 = 0x0400;
    /// TC bit: truncated.
    pub const TC: u16 = 0x0200;
    /// RD bit: recursion desired.
    pub const RD: u16 = 0x0100;
    /// RA bit: recursion available.
    pub const RA: u16 = 0x0080;
    /// AD bit: authentic data.
    pub const AD: u16 = 0x0020;
    /// CD bit: checking disabled.
    pub const CD: u16 = 0x0010;

    /// Reads the header from the first 12 bytes, if there are that many.
    pub fn parse(msg: &[u8]) -> Option<Header> {
        let h = msg.get(..HEADER_LEN)?;
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header {
            id: word(0),
            flags: word(2),
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        })
    }

    /// The opcode.
    pub fn opcode(&self) -> Opcode {
        Opcode(((self.flags >> 11) & 0x0f) as u8)
    }
}

//----------- Query ----------------------------------------------------------

/// EDNS(0) information from a query's OPT record (RFC 6891).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns<'a> {
    /// Requestor's UDP payload size, as sent (may be below 512).
    pub udp_size: u16,
    /// EDNS version.
    pub version: u8,
    /// The DO bit (RFC 3225).
    pub dnssec_ok: bool,
    /// The query carried an empty NSID option (RFC 5001).
    pub nsid: bool,
    /// The query's COOKIE option (RFC 7873), if it had a well-formed one.
    pub cookie: Option<Cookie<'a>>,
}

/// The EDNS option code of COOKIE (RFC 7873 §4).
pub const COOKIE_OPTION: u16 = 10;

/// The EDNS option code of NSID (RFC 5001).
pub const NSID_OPTION: u16 = 3;

/// A COOKIE option as received (RFC 7873 §4): an 8-byte client cookie and
/// a server cookie of 8 to 32 bytes, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookie<'a> {
    /// The client cookie.
    pub client: [u8; 8],
    /// The server cookie the client got from a server earlier, 8 to 32
    /// bytes; empty when it sent only a client cookie.
    pub server: &'a [u8],
}

/// What a request asks the server to do, from its opcode and QTYPE. Each
/// kind has its own rules for the answer and authority sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// A standard query (RFC 1035 §4.1): no answer or authority records.
    Query,
    /// A full zone transfer (RFC 5936 §2.1): no answer or authority
    /// records.
    Axfr,
    /// An incremental zone transfer (RFC 1995 §3): the client's SOA in the
    /// authority section, no answer records.
    Ixfr,
    /// A zone change notification (RFC 1996 §3.7): the new SOA may be in
    /// the answer section.
    Notify,
    /// A dynamic update (RFC 2136 §2): prerequisites in the answer section,
    /// updates in the authority section.
    Update,
}

impl RequestKind {
    /// Whether Candor reads requests with this opcode: QUERY, NOTIFY and
    /// UPDATE (not IQUERY, STATUS, DSO or the unassigned ones).
    fn reads(opcode: Opcode) -> bool {
        matches!(opcode, Opcode::QUERY | Opcode::NOTIFY | Opcode::UPDATE)
    }

    /// The kind of a request with this opcode and QTYPE, or `None` for an
    /// opcode Candor does not [read](RequestKind::reads).
    fn of(opcode: Opcode, qtype: Rtype) -> Option<RequestKind> {
        match opcode {
            Opcode::QUERY => Some(match qtype {
                Rtype::AXFR => RequestKind::Axfr,
                Rtype::IXFR => RequestKind::Ixfr,
                _ => RequestKind::Query,
            }),
            Opcode::NOTIFY => Some(RequestKind::Notify),
            Opcode::UPDATE => Some(RequestKind::Update),
            _ => None,
        }
    }

    /// Whether a request of this kind may hold `ancount` answer and
    /// `nscount` authority records.
    fn allows(self, ancount: u16, nscount: u16) -> bool {
        match self {
            RequestKind::Query | RequestKind::Axfr => ancount == 0 && nscount == 0,
            RequestKind::Ixfr => ancount == 0,
            RequestKind::Notify | RequestKind::Update => true,
        }
    }
}

/// The parts of a request an authoritative server uses.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// The header as received.
    pub header: Header,
    /// What the request asks for.
    pub kind: RequestKind,
    /// The question in wire form: QNAME, QTYPE, QCLASS, exactly as received.
    pub question: &'a [u8],
    /// QNAME, exactly as received (case preserved, no compression).
    pub qname: &'a [u8],
    /// QTYPE.
    pub qtype: Rtype,
    /// QCLASS.
    pub qclass: Class,
    /// The OPT record, if present (always EDNS version 0).
    pub edns: Option<Edns<'a>>,
    /// The query carries a TSIG record (which we cannot verify).
    pub has_tsig: bool,
}

/// What a response repeats of the request it answers: the header (ID,
/// opcode, RD and CD), the question, if it could be read, and the OPT
/// record, if there was one (RFC 6891 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo<'a> {
    /// The header as received.
    pub header: Header,
    /// The question in wire form, or nothing.
    pub question: &'a [u8],
    /// The OPT record's contents (of any version).
    pub edns: Option<Edns<'a>>,
}

/// Why a request cannot be answered normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError<'a> {
    /// Not worth a response: shorter than a header, or a response itself.
    Drop,
    /// Answer with this rcode and what the response repeats of the request,
    /// nothing else: FORMERR for a malformed message (a COOKIE option of a
    /// wrong length included, RFC 7873 §5.2.2), BADVERS for an EDNS version
    /// other than 0 (RFC 6891 §6.1.3), NOTIMP for an opcode whose messages
    /// Candor cannot read (RFC 1035 §4.1.1).
    Reject(Echo<'a>, Rcode),
    /// A query for a server cookie (RFC 7873 §5.4): QUERY with no question
    /// and no records but an OPT record with a COOKIE option. It is
    /// answered with a cookie and nothing else.
    CookieOnly(Echo<'a>),
}

/// Parses a request. Never panics; anything else is [`QueryError`].
///
/// Every record is read, so a message broken anywhere (a record running
/// past the end, a bad name, counts larger than the message, a second OPT)
/// is FORMERR, and so is a first COOKIE option of a wrong length (RFC 7873
/// §5.2.2; later ones are ignored, §5.2); bytes after the last record are
/// ignored. A message that reads well is then checked in this order: an
/// EDNS version other than 0 is BADVERS, an opcode other than QUERY, NOTIFY
/// and UPDATE is NOTIMP, a QUERY with no question and no records but a
/// COOKIE option asks for a cookie ([`QueryError::CookieOnly`]), and it is
/// FORMERR unless it has exactly one question, without compression, and
/// answer and authority records only where its [`RequestKind`] allows them.
pub fn parse_query(msg: &[u8]) -> Result<Query<'_>, QueryError<'_>> {
    let header = Header::parse(msg).ok_or(QueryError::Drop)?;
    if header.flags & Header::QR != 0 {
        return Err(QueryError::Drop);
    }
    // Errors repeat the question, once read, and the OPT record, once read.
    let reject = move |question, edns, rcode| {
        let echo = Echo {
            header,
            question,
            edns,
        };
        QueryError::Reject(echo, rcode)
    };

    // The question: one, uncompressed, in every request Candor answers;
    // other questions are only skipped, to find the OPT record.
    let mut question: &[u8] = &[];
    let mut fields = None;
    let mut pos = HEADER_LEN;
    if header.qdcount == 1
        && let Some(len) = question_name_len(&msg[HEADER_LEN..])
    {
        let Some(q) = msg.get(HEADER_LEN..HEADER_LEN + len + 4) else {
            return Err(reject(&[], None, Rcode::FORMERR));
        };
        let qtype = Rtype(u16::from_be_bytes([q[len], q[len + 1]]));
        let qclass = Class(u16::from_be_bytes([q[len + 2], q[len + 3]]));
        question = q;
        fields = Some((len, qtype, qclass));
        pos += len + 4;
    } else {
        let Some(end) = skip_questions(msg, header.qdcount) else {
            return Err(reject(&[], None, Rcode::FORMERR));
        };
        pos = end;
    }
    // Answer and authority records are read through; whether the request
    // may have them is decided below.
    let has_records = (header.ancount | header.nscount) != 0;
    if has_records {
        let count = u32::from(header.ancount) + u32::from(header.nscount);
        let Some(end) = skip_records(msg, pos, count) else {
            return Err(reject(question, None, Rcode::FORMERR));
        };
        pos = end;
    }
    let mut edns = None;
    let mut has_tsig = false;
    for _ in 0..header.arcount {
        let Some(rr) = read_rr(msg, pos) else {
            return Err(reject(question, edns, Rcode::FORMERR));
        };
        match Rtype(rr.rtype) {
            Rtype::OPT => {
                // One OPT at most, owned by the root (RFC 6891 §6.1.1). Even
                // a wrong one is echoed in the FORMERR (§7).
                if edns.is_some() {
                    return Err(reject(question, edns, Rcode::FORMERR));
                }
                let options = scan_options(&msg[rr.rdata_start..rr.end]);
                let found = options.unwrap_or_default();
                edns = Some(Edns {
                    udp_size: rr.class,
                    version: ((rr.ttl >> 16) & 0xff) as u8,
                    dnssec_ok: rr.ttl & 0x8000 != 0,
                    nsid: found.nsid,
                    cookie: found.cookie,
                });
                if rr.owner_first != 0 || options.is_none() {
                    return Err(reject(question, edns, Rcode::FORMERR));
                }
            }
            Rtype::TSIG => has_tsig = true,
            _ => {}
        }
        pos = rr.end;
    }

    if edns.is_some_and(|e| e.version != 0) {
        return Err(reject(question, edns, Rcode::BADVERS));
    }
    let Some((qname_len, qtype, qclass)) = fields else {
        if header.opcode() == Opcode::QUERY
            && header.qdcount == 0
            && !has_records
            && edns.is_some_and(|e| e.cookie.is_some())
        {
            return Err(QueryError::CookieOnly(Echo {
                header,
                question: &[],
                edns,
            }));
        }
        // Other opcodes' messages may not even have a question (a DSO
        // message has none, RFC 8490 §5.4): they are not judged by it.
        let rcode = if RequestKind::reads(header.opcode()) {
            Rcode::FORMERR
        } else {
            Rcode::NOTIMP
        };
        return Err(reject(question, edns, rcode));
    };
    let Some(kind) = RequestKind::of(header.opcode(), qtype) else {
        return Err(reject(question, edns, Rcode::NOTIMP));
    };
    if has_records && !kind.allows(header.ancount, header.nscount) {
        return Err(reject(question, edns, Rcode::FORMERR));
    }
    Ok(Query {
        header,
        kind,
        question,
        qname: &question[..qname_len],
        qtype,
        qclass,
        edns,
        has_tsig,
    })
}

/// Skips `count` questions, compressed or not; returns the offset after
/// them, if they are all there.
fn skip_questions(msg: &[u8], count: u16) -> Option<usize> {
    let mut pos = HEADER_LEN;
    for _ in 0..count {
        pos = skip_name(msg, pos)? + 4;
    }
    (pos <= msg.len()).then_some(pos)
}

/// Skips `count` records from `pos`; returns the offset after them, if
/// they are all there.
fn skip_records(msg: &[u8], mut pos: usize, count: u32) -> Option<usize> {
    for _ in 0..count {
        pos = read_rr(msg, pos)?.end;
    }
    Some(pos)
}

/// Length of an uncompressed QNAME at the start of `bytes`.
fn question_name_len(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let len = *bytes.get(pos)? as usize;
        if len == 0 {
            return Some(pos + 1);
        }
        if len > 63 {
            // Compression pointers (and reserved label types) make no sense
            // in the question of a query.
            return None;
        }
        pos += 1 + len;
        if pos >= MAX_NAME_LEN {
            return None;
        }
    }
}

/// One resource record located in a message.
struct RawRr {
    /// Record type.
    rtype: u16,
    /// Class field (the UDP size for OPT).
    class: u16,
    /// TTL field (extended rcode, version and flags for OPT).
    ttl: u32,
    /// Offset of the RDATA.
    rdata_start: usize,
    /// Offset just past the record.
    end: usize,
    /// First byte of the owner name (0 for the root).
    owner_first: u8,
}

/// Locates the record at `pos`, following compression in its owner name.
fn read_rr(msg: &[u8], pos: usize) -> Option<RawRr> {
    let first = *msg.get(pos)?;
    let name_end = skip_name(msg, pos)?;
    let fixed = msg.get(name_end..name_end + 10)?;
    let rdata_len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let rdata_start = name_end + 10;
    let end = rdata_start + rdata_len;
    if end > msg.len() {
        return None;
    }
    Some(RawRr {
        rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
        class: u16::from_be_bytes([fixed[2], fixed[3]]),
        ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        rdata_start,
        end,
        owner_first: first,
    })
}

/// Skips a possibly compressed name at `pos`, checking every pointer leads
/// backwards to a valid name; returns the offset after the name.
fn skip_name(msg: &[u8], pos: usize) -> Option<usize> {
    let mut p = pos;
    let mut end = None;
    let mut total = 0usize;
    for _ in 0..MAX_POINTER_HOPS + MAX_NAME_LEN {
        let len = *msg.get(p)?;
        match len {
            0 => return Some(end.unwrap_or(p + 1)),
            1..=63 => {
                total += 1 + usize::from(len);
                if total >= MAX_NAME_LEN {
                    return None;
                }
                p += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let target = usize::from(u16::from_be_bytes([len, *msg.get(p + 1)?]) & 0x3fff);
                if target >= p {
                    return None;
                }
                end.get_or_insert(p + 2);
                p = target;
            }
            _ => return None,
        }
    }
    None
}

/// The EDNS options a server acts on.
#[derive(Clone, Copy, Debug, Default)]
struct Options<'a> {
    /// An NSID option was present.
    nsid: bool,
    /// The first COOKIE option.
    cookie: Option<Cookie<'a>>,
}

/// Scans EDNS options for NSID and COOKIE; `None` if the option list is
/// malformed or the first COOKIE option has a length RFC 7873 §5.2.2 calls
/// malformed (anything but 8, or 16 to 40).
fn scan_options(options: &[u8]) -> Option<Options<'_>> {
    let mut found = Options::default();
    let mut cookies = 0;
    let mut rest = options;
    while !rest.is_empty() {
        let head = rest.get(..4)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let data = rest.get(4..4 + len)?;
        match code {
            NSID_OPTION => found.nsid = true,
            // Only the first COOKIE option counts (RFC 7873 §5.2).
            COOKIE_OPTION if cookies == 0 => {
                cookies += 1;
                if len != 8 && !(16..=40).contains(&len) {
                    return None;
                }
                let (client, server) = data.split_at(8);
                found.cookie = Some(Cookie {
                    client: client.try_into().ok()?,
                    server,
                });
            }
            _ => {}
        }
        rest = &rest[4 + len..];
    }
    Some(found)
}

//----------- Building queries -----------------------------------------------

/// How a query built by [`query_message`] looks.
#[derive(Clone, Copy, Debug)]
pub struct QuerySpec {
    /// Query ID.
    pub id: u16,
    /// Set the RD bit.
    pub recursion_desired: bool,
    /// Add an OPT record with this UDP payload size (EDNS version 0).
    pub edns_udp_size: Option<u16>,
}

/// A query for `name`/`qtype` in class IN, for clients of our own: tests,
/// benchmarks, monitors.
pub fn query_message(spec: QuerySpec, name: &crate::Name, qtype: Rtype) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.wire_len() + 4 + 11);
    let flags: u16 = if spec.recursion_desired {
        Header::RD
    } else {
        0
    };
    let arcount = u16::from(spec.edns_udp_size.is_some());
    for word in [spec.id, flags, 1, 0, 0, arcount] {
        q.extend_from_slice(&word.to_be_bytes());
    }
    q.extend_from_slice(name.as_wire());
    q.extend_from_slice(&qtype.0.to_be_bytes());
    q.extend_from_slice(&Class::IN.0.to_be_bytes());
    if let Some(size) = spec.edns_udp_size {
        q.extend_from_slice(&[0, 0, 41]);
        q.extend_from_slice(&size.to_be_bytes());
        q.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    q
}

//----------- MessageBuilder -------------------------------------------------

/// The section records are currently added to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Answer section.
    Answer = 0,
    /// Authority section.
    Authority = 1,
    /// Additional section.
    Additional = 2,
}

/// A record did not fit within the size limit; nothing of it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TruncationError;

/// How many names the compressor remembers.
const COMPRESS_ENTRIES: usize = 48;

/// A position in the builder to roll back to.
#[derive(Clone, Copy, Debug)]
struct Mark {
    /// Message length.
    len: usize,
    /// Section counts.
    counts: [u16; 3],
    /// Compression entries in use.
    entries: usize,
}

/// Writes a response into a caller-provided buffer.
///
/// Records are all-or-nothing: a record (or a whole RRset with
/// [`MessageBuilder::push_rrset`]) that would exceed the limit is not
/// written and [`TruncationError`] is returned.
pub struct MessageBuilder<'a> {
    /// The output buffer; its length bounds every limit.
    buf: &'a mut [u8],
    /// Bytes written.
    len: usize,
    /// The size the message may reach (space reserved for OPT excluded).
    limit: usize,
    /// Record counts: answer, authority, additional.
    counts: [u16; 3],
    /// The section new records go to.
    section: Section,
    /// Offsets of names (and name suffixes) usable as compression targets.
    comp_off: [u16; COMPRESS_ENTRIES],
    /// Uncompressed wire length of the name at the matching offset.
    comp_len: [u8; COMPRESS_ENTRIES],
    /// Entries in use.
    comp_n: usize,
    /// Where the question ends (and the first record starts).
    question_end: usize,
    /// Whether the compression table holds every suffix of the QNAME (it
    /// does unless the QNAME has nearly as many labels as the table has
    /// entries).
    qname_whole: bool,
}

/// Where an owner name comes from.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'n> {
    /// The QNAME (written as a pointer to the question).
    Qname,
    /// The suffix of the QNAME that starts this many bytes into it (at a
    /// label boundary), e.g. the zone apex: a pointer into the question.
    QnameSuffix(usize),
    /// Any other name, in uncompressed wire form.
    Name(&'n [u8]),
}

impl<'a> MessageBuilder<'a> {
    /// Starts a response to `query_header` with the given flags (QR is set
    /// here; the opcode and RD are copied from the query) and question.
    ///
    /// `limit` is the largest message allowed; it is clamped to the buffer.
    pub fn new(
        buf: &'a mut [u8],
        query_header: &Header,
        question: &[u8],
        limit: usize,
    ) -> Result<MessageBuilder<'a>, TruncationError> {
        let limit = limit.min(buf.len()).min(65535);
        let qlen = question.len();
        if HEADER_LEN + qlen > limit {
            return Err(TruncationError);
        }
        let flags = Header::QR | (query_header.flags & (0x7800 | Header::RD | Header::CD));
        buf[..2].copy_from_slice(&query_header.id.to_be_bytes());
        buf[2..4].copy_from_slice(&flags.to_be_bytes());
        buf[4..6].copy_from_slice(&(u16::from(qlen > 0)).to_be_bytes());
        buf[6..12].fill(0);
        buf[HEADER_LEN..HEADER_LEN + qlen].copy_from_slice(question);
        let mut builder = MessageBuilder {
            buf,
            len: HEADER_LEN + qlen,
            limit,
            counts: [0; 3],
            section: Section::Answer,
            comp_off: [0; COMPRESS_ENTRIES],
            comp_len: [0; COMPRESS_ENTRIES],
            comp_n: 0,
            question_end: HEADER_LEN + qlen,
            qname_whole: true,
        };
        if qlen > 4 {
            let qname_len = qlen - 4;
            builder.remember_name(HEADER_LEN, qname_len);
            builder.qname_whole = builder.comp_n < COMPRESS_ENTRIES;
        }
        Ok(builder)
    }

    /// Sets bits in the flags word (e.g. [`Header::AA`]).
    pub fn set_flags(&mut self, bits: u16) {
        let f = u16::from_be_bytes([self.buf[2], self.buf[3]]) | bits;
        self.buf[2..4].copy_from_slice(&f.to_be_bytes());
    }

    /// Clears bits in the flags word.
    pub fn clear_flags(&mut self, bits: u16) {
        let f = u16::from_be_bytes([self.buf[2], self.buf[3]]) & !bits;
        self.buf[2..4].copy_from_slice(&f.to_be_bytes());
    }

    /// Sets the low four bits of the response code.
    pub fn set_rcode(&mut self, rcode: Rcode) {
        self.buf[3] = (self.buf[3] & 0xf0) | (rcode.0 & 0x0f) as u8;
    }

    /// The current flags word.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// Lowers the limit by `n` bytes (e.g. to keep room for an OPT record).
    /// Fails if the message already uses that space.
    pub fn reserve(&mut self, n: usize) -> Result<(), TruncationError> {
        if self.len + n > self.limit {
            return Err(TruncationError);
        }
        self.limit -= n;
        Ok(())
    }

    /// Gives back space taken by [`MessageBuilder::reserve`].
    pub fn unreserve(&mut self, n: usize) {
        self.limit = (self.limit + n).min(self.buf.len()).min(65535);
    }

    /// Chooses the section for the following records.
    pub fn set_section(&mut self, section: Section) {
        self.section = section;
    }

    /// Number of records in a section.
    pub fn count(&self, section: Section) -> u16 {
        self.counts[section as usize]
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.len <= HEADER_LEN
    }

    /// Current position, to roll back to.
    fn mark(&self) -> Mark {
        Mark {
            len: self.len,
            counts: self.counts,
            entries: self.comp_n,
        }
    }

    /// Forgets everything written after `mark`.
    fn rollback(&mut self, mark: Mark) {
        self.len = mark.len;
        self.counts = mark.counts;
        self.comp_n = mark.entries;
    }

    /// Appends raw bytes, within the limit.
    fn put(&mut self, bytes: &[u8]) -> Result<(), TruncationError> {
        let end = self.len + bytes.len();
        if end > self.limit {
            return Err(TruncationError);
        }
        let dst = &mut self.buf[self.len..end];
        if bytes.len() <= 16 {
            // Most writes are a pointer or an RR header: a call to memmove
            // costs more than the copy.
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d = *s;
            }
        } else {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    /// Remembers every suffix of the uncompressed name at `off` (`len`
    /// bytes, root label included) as a compression target.
    fn remember_name(&mut self, off: usize, len: usize) {
        let mut p = off;
        let mut remaining = len;
        while remaining > 1 && p < 0x4000 && self.comp_n < COMPRESS_ENTRIES {
            let label = usize::from(self.buf[p]);
            self.comp_off[self.comp_n] = p as u16;
            self.comp_len[self.comp_n] = remaining as u8;
            self.comp_n += 1;
            p += 1 + label;
            remaining -= 1 + label;
        }
    }

    /// Whether the (possibly compressed) name at `off` equals `name`,
    /// ignoring ASCII case (RFC 4343). Like Knot, NSD and BIND, names in
    /// RDATA then take the case of the name they are compressed against
    /// (usually the QNAME), which keeps responses smallest.
    fn name_at_equals(&self, mut off: usize, name: &[u8]) -> bool {
        let mut i = 0;
        for _ in 0..MAX_POINTER_HOPS + MAX_NAME_LEN {
            let Some(&len) = self.buf[..self.len].get(off) else {
                return false;
            };
            if len >= 0xc0 {
                let Some(&low) = self.buf[..self.len].get(off + 1) else {
                    return false;
                };
                off = usize::from(u16::from_be_bytes([len, low]) & 0x3fff);
                continue;
            }
            let l = usize::from(len);
            let Some(want) = name.get(i..i + 1 + l) else {
                return false;
            };
            let Some(have) = self.buf[..self.len].get(off..off + 1 + l) else {
                return false;
            };
            if !have.eq_ignore_ascii_case(want) {
                return false;
            }
            if l == 0 {
                return true;
            }
            i += 1 + l;
            off += 1 + l;
        }
        false
    }

    /// Finds the longest suffix of `name` already in the message: returns
    /// the offset of the suffix within `name` and the pointer target.
    fn find_suffix(&self, name: &[u8]) -> Option<(usize, u16)> {
        let mut start = 0usize;
        while start < name.len() && name[start] != 0 {
            let want_len = name.len() - start;
            for e in 0..self.comp_n {
                if usize::from(self.comp_len[e]) == want_len
                    && self.name_at_equals(usize::from(self.comp_off[e]), &name[start..])
                {
                    return Some((start, self.comp_off[e]));
                }
            }
            start += 1 + usize::from(name[start]);
        }
        None
    }

    /// Writes a name with compression against names already written.
    fn put_name_compressed(&mut self, name: &[u8]) -> Result<(), TruncationError> {
        let here = self.len;
        match self.find_suffix(name) {
            Some((0, target)) => self.put(&(0xc000 | target).to_be_bytes()),
            Some((start, target)) => {
                self.put(&name[..start])?;
                self.put(&(0xc000 | target).to_be_bytes())?;
                self.remember_prefix(here, &name[..start], name.len());
                Ok(())
            }
            None => {
                self.put(name)?;
                self.remember_name(here, name.len());
                Ok(())
            }
        }
    }

    /// Remembers the labels of a name written as `prefix` + pointer: each
    /// label start is a suffix of the full name (`full_len` bytes long).
    fn remember_prefix(&mut self, off: usize, prefix: &[u8], full_len: usize) {
        for p in wire_labels(prefix) {
            let at = off + p;
            if at >= 0x4000 || self.comp_n >= COMPRESS_ENTRIES {
                return;
            }
            self.comp_off[self.comp_n] = at as u16;
            self.comp_len[self.comp_n] = (full_len - p) as u8;
            self.comp_n += 1;
        }
    }

    /// Writes an owner name.
    fn put_owner(&mut self, owner: Owner<'_>) -> Result<(), TruncationError> {
        match owner {
            Owner::Qname => self.put(&[0xc0, HEADER_LEN as u8]),
            Owner::QnameSuffix(skip) => {
                self.put(&(0xc000 | (HEADER_LEN + skip) as u16).to_be_bytes())
            }
            Owner::Name(name) => self.put_name_compressed(name),
        }
    }

    /// Appends an RRset stored in "tail" form: for each RR, TYPE, CLASS, TTL,
    /// RDLENGTH and RDATA as on the wire, with uncompressed names in RDATA.
    /// All RRs share `owner`. Names in RDATA of the RFC 1035 types that
    /// Knot also compresses (NS, CNAME, SOA, PTR, MINFO, MX) are compressed;
    /// others are copied as they are (RFC 3597 §4). On truncation nothing of
    /// the set remains.
    pub fn push_rrset(
        &mut self,
        owner: Owner<'_>,
        tails: &[u8],
        count: u16,
    ) -> Result<(), TruncationError> {
        let mark = self.mark();
        let result = self.push_rrset_inner(owner, tails, count);
        if result.is_err() {
            self.rollback(mark);
        }
        result
    }

    /// The body of [`MessageBuilder::push_rrset`], without rollback.
    fn push_rrset_inner(
        &mut self,
        owner: Owner<'_>,
        tails: &[u8],
        count: u16,
    ) -> Result<(), TruncationError> {
        let mut pos = 0usize;
        for _ in 0..count {
            let fixed = tails.get(pos..pos + 10).ok_or(TruncationError)?;
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata = tails
                .get(pos + 10..pos + 10 + rdlen)
                .ok_or(TruncationError)?;
            self.put_owner(owner)?;
            match Rtype(rtype) {
                Rtype::NS | Rtype::CNAME | Rtype::PTR | Rtype::MX | Rtype::SOA | Rtype::MINFO => {
                    self.put(&fixed[..8])?;
                    let rdlen_at = self.len;
                    self.put(&[0, 0])?;
                    self.put_compressible_rdata(Rtype(rtype), rdata)?;
                    let written = (self.len - rdlen_at - 2) as u16;
                    self.buf[rdlen_at..rdlen_at + 2].copy_from_slice(&written.to_be_bytes());
                }
                _ => self.put(&tails[pos..pos + 10 + rdlen])?,
            }
            self.counts[self.section as usize] += 1;
            pos += 10 + rdlen;
        }
        Ok(())
    }

    /// Appends an RRset and then the RRset of its RRSIGs (`sigs`), as
    /// `push_rrset` does twice for the same owner `name` (uncompressed
    /// wire), without searching the compression table: the caller knows
    /// that the longest suffix of `name` already in the message is
    /// `name[prefix..]` and that it was first written at `suffix_at` (the
    /// QNAME at 12, the apex inside it). The owner is then its first
    /// `prefix` bytes and a pointer to `suffix_at`, and every later owner
    /// a pointer to the first. Each RRset is written whole or not at all,
    /// as with `push_rrset`. When the table could not hold what that
    /// would write, or a record's RDATA has names to compress, this is
    /// `push_rrset` twice.
    ///
    /// This is what a DNSSEC denial costs per NSEC (the NSEC and its
    /// RRSIGs): one copy of each record after an owner written once.
    #[allow(clippy::too_many_arguments)]
    pub fn push_rrset_with_sigs_at(
        &mut self,
        name: &[u8],
        prefix: usize,
        suffix_at: u16,
        (tails, count): (&[u8], u16),
        (sigs, sig_count): (&[u8], u16),
    ) -> Result<(), TruncationError> {
        let here = self.len;
        let labels = wire_labels(name.get(..prefix).unwrap_or(&[])).count();
        let (nsecs, rrsigs) = (plain_rrs(tails), plain_rrs(sigs));
        let fits = prefix <= name.len()
            && here < 0x4000
            && self.comp_n + labels <= COMPRESS_ENTRIES
            && self.comp_off[..self.comp_n].contains(&suffix_at)
            && nsecs.is_some()
            && rrsigs.is_some();
        if !fits {
            let owner = Owner::Name(name);
            self.push_rrset(owner, tails, count)?;
            return if sigs.is_empty() {
                Ok(())
            } else {
                self.push_rrset(owner, sigs, sig_count)
            };
        }
        // Both RRsets whole, as counted, and within the limit: one check,
        // then copies (what a denial's NSEC costs under a flood).
        let total = prefix + 2 + tails.len() + 2 * usize::from(count) - 2
            + sigs.len()
            + 2 * usize::from(sig_count);
        if count > 0
            && nsecs == Some((count, true))
            && rrsigs == Some((sig_count, true))
            && here + total <= self.limit
        {
            let owner_at = if prefix == 0 { suffix_at } else { here as u16 };
            let pointer = (0xc000 | owner_at).to_be_bytes();
            let mut at = here;
            if prefix > 0 {
                self.buf[at..at + prefix].copy_from_slice(&name[..prefix]);
                self.remember_prefix(here, &name[..prefix], name.len());
                at += prefix;
            }
            self.buf[at..at + 2].copy_from_slice(&(0xc000 | suffix_at).to_be_bytes());
            at = copy_rrs(self.buf, at + 2, pointer, tails, true);
            at = copy_rrs(self.buf, at, pointer, sigs, false);
            debug_assert_eq!(at, here + total);
            self.len = at;
            self.counts[self.section as usize] += count + sig_count;
            return Ok(());
        }
        let mark = self.mark();
        let first = if prefix == 0 {
            Ok(())
        } else {
            self.put(&name[..prefix]).map(|()| {
                self.remember_prefix(here, &name[..prefix], name.len());
            })
        };
        let owner_at = if prefix == 0 { suffix_at } else { here as u16 };
        let result = first
            .and_then(|()| self.put(&(0xc000 | suffix_at).to_be_bytes()))
            .and_then(|()| self.put_tails_at(0xc000 | owner_at, tails, count, true));
        if result.is_err() {
            self.rollback(mark);
            return result;
        }
        if sigs.is_empty() {
            return Ok(());
        }
        let mark = self.mark();
        let result = self.put_tails_at(0xc000 | owner_at, sigs, sig_count, false);
        if result.is_err() {
            self.rollback(mark);
        }
        result
    }

    /// Writes `count` RR tails from `tails`, each after a pointer to its
    /// owner, except the first when `owner_written` (its owner is
    /// already there).
    fn put_tails_at(
        &mut self,
        pointer: u16,
        tails: &[u8],
        count: u16,
        owner_written: bool,
    ) -> Result<(), TruncationError> {
        let mut pos = 0usize;
        for i in 0..count {
            let fixed = tails.get(pos..pos + 10).ok_or(TruncationError)?;
            let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rr = tails.get(pos..pos + 10 + rdlen).ok_or(TruncationError)?;
            if i > 0 || !owner_written {
                self.put(&pointer.to_be_bytes())?;
            }
            self.put(rr)?;
            self.counts[self.section as usize] += 1;
            pos += 10 + rdlen;
        }
        Ok(())
    }

    /// Writes RDATA of a type whose names may be compressed.
    fn put_compressible_rdata(
        &mut self,
        rtype: Rtype,
        rdata: &[u8],
    ) -> Result<(), TruncationError> {
        let name_at = |at: usize| -> Result<usize, TruncationError> {
            crate::name::wire_name_len(rdata.get(at..).ok_or(TruncationError)?)
                .map(|l| at + l)
                .ok_or(TruncationError)
        };
        match rtype {
            Rtype::MX => {
                self.put(rdata.get(..2).ok_or(TruncationError)?)?;
                let end = name_at(2)?;
                self.put_name_compressed(&rdata[2..end])?;
                self.put(&rdata[end..])
            }
            // Two names, then (for SOA) the five numbers.
            Rtype::SOA | Rtype::MINFO => {
                let m_end = name_at(0)?;
                let r_end = name_at(m_end)?;
                self.put_name_compressed(&rdata[..m_end])?;
                self.put_name_compressed(&rdata[m_end..r_end])?;
                self.put(&rdata[r_end..])
            }
            _ => {
                let end = name_at(0)?;
                self.put_name_compressed(&rdata[..end])?;
                self.put(&rdata[end..])
            }
        }
    }

    /// Appends an OPT record (RFC 6891) to the additional section, using
    /// space set aside with [`MessageBuilder::reserve`] first. `options`
    /// are EDNS options, each its code and data.
    pub fn push_opt(
        &mut self,
        udp_size: u16,
        ext_rcode: u8,
        dnssec_ok: bool,
        options: &[(u16, &[u8])],
    ) -> Result<(), TruncationError> {
        let options_len: usize = options.iter().map(|(_, data)| 4 + data.len()).sum();
        self.unreserve(11 + options_len);
        let ttl = (u32::from(ext_rcode) << 24) | if dnssec_ok { 0x8000 } else { 0 };
        let mut fixed = [0u8; 11];
        fixed[1..3].copy_from_slice(&Rtype::OPT.0.to_be_bytes());
        fixed[3..5].copy_from_slice(&udp_size.to_be_bytes());
        fixed[5..9].copy_from_slice(&ttl.to_be_bytes());
        fixed[9..11].copy_from_slice(&(options_len as u16).to_be_bytes());
        let mark = self.mark();
        let mut result = self.put(&fixed);
        for (code, data) in options {
            let mut head = [0u8; 4];
            head[..2].copy_from_slice(&code.to_be_bytes());
            head[2..].copy_from_slice(&(data.len() as u16).to_be_bytes());
            result = result
                .and_then(|()| self.put(&head))
                .and_then(|()| self.put(data));
        }
        if result.is_err() {
            self.rollback(mark);
            return Err(TruncationError);
        }
        self.counts[Section::Additional as usize] += 1;
        Ok(())
    }

    /// Writes the section counts and returns the message length.
    pub fn finish(self) -> usize {
        self.buf[6..8].copy_from_slice(&self.counts[0].to_be_bytes());
        self.buf[8..10].copy_from_slice(&self.counts[1].to_be_bytes());
        self.buf[10..12].copy_from_slice(&self.counts[2].to_be_bytes());
        self.len
    }
}

/// The RRs in a block of RR tails when none has names in its RDATA that
/// the builder compresses (`None` when one has), and whether they end
/// exactly where the block does.
fn plain_rrs(mut tails: &[u8]) -> Option<(u16, bool)> {
    let mut n = 0u16;
    while let Some(h) = tails.get(..10) {
        if matches!(
            Rtype(u16::from_be_bytes([h[0], h[1]])),
            Rtype::NS | Rtype::CNAME | Rtype::PTR | Rtype::MX | Rtype::SOA | Rtype::MINFO
        ) {
            return None;
        }
        n = n.saturating_add(1);
        match tails.get(10 + usize::from(u16::from_be_bytes([h[8], h[9]]))..) {
            Some(rest) => tails = rest,
            None => return Some((n, false)),
        }
    }
    Some((n, tails.is_empty()))
}

/// Copies the RRs of `tails` (whole, as [`plain_rrs`] found them) into
/// `buf` from `at`, each after `pointer` (its owner), except the first
/// when `owner_written`; returns where they end. The caller checked that
/// they fit.
fn copy_rrs(
    buf: &mut [u8],
    mut at: usize,
    pointer: [u8; 2],
    tails: &[u8],
    owner_written: bool,
) -> usize {
    let mut rest = tails;
    let mut first = true;
    while let Some(h) = rest.get(..10) {
        let len = (10 + usize::from(u16::from_be_bytes([h[8], h[9]]))).min(rest.len());
        if !(first && owner_written) {
            buf[at..at + 2].copy_from_slice(&pointer);
            at += 2;
        }
        buf[at..at + len].copy_from_slice(&rest[..len]);
        at += len;
        rest = &rest[len..];
        first = false;
    }
    at
}

mod prerendered;
pub use prerendered::Prerendered;

#[cfg(test)]
mod tests;
