//! Reading zone transfer requests: AXFR (RFC 5936 §2.1) and IXFR (RFC 1995
//! §3, the client's SOA in the authority section), with their EDNS and
//! TSIG records. Requests are untrusted: nothing here panics, whatever the
//! bytes.

use candor_wire::decode::read_name;
use candor_wire::{Class, Header, Name, Opcode, Rtype};

use crate::tsig::{TsigRecord, read_tsig};

/// What is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The whole zone.
    Axfr,
    /// The changes since the client's version, whose SOA serial this is.
    Ixfr {
        /// The client's serial.
        serial: u32,
    },
}

/// What a request's OPT record (RFC 6891) says that a response repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opt {
    /// The EDNS version (only 0 is served; others get BADVERS).
    pub version: u8,
    /// The DO bit, echoed (RFC 3225 §3).
    pub dnssec_ok: bool,
    /// Whether the request carries the [`CANDOR_VIEW`] option: a Candor
    /// secondary asking for the records themselves (docs/regions.md).
    pub candor: bool,
}

/// The EDNS option (local/experimental range, RFC 6891 §9) with which a
/// Candor secondary asks for the "Candor view" of a transfer: ALIAS, POOL
/// and REGIONAL records as themselves instead of flattened. Empty; the
/// primary repeats it in the OPT record of every message of a transfer it
/// sends that way, and only then does the secondary keep private types.
pub const CANDOR_VIEW: u16 = 65305;

/// Whether OPT RDATA (a run of options: code, length, data) holds the
/// [`CANDOR_VIEW`] option; `None` when the options are malformed.
pub fn has_candor_view(mut options: &[u8]) -> Option<bool> {
    let mut found = false;
    while !options.is_empty() {
        let head = options.get(..4)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        options.get(4..4 + len)?;
        found |= code == CANDOR_VIEW;
        options = &options[4 + len..];
    }
    Some(found)
}

/// A transfer request.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The header as received.
    pub header: Header,
    /// The question: QNAME, QTYPE and QCLASS as received.
    pub question: &'a [u8],
    /// The zone asked for, lower-cased.
    pub zone: Name,
    /// AXFR or IXFR.
    pub kind: Kind,
    /// QCLASS.
    pub class: Class,
    /// The request's OPT record, if any (the response then carries one).
    pub edns: Option<Opt>,
    /// The TSIG record, if the request is signed.
    pub tsig: Option<TsigRecord<'a>>,
}

/// Why a request cannot be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError<'a> {
    /// Not worth an answer (shorter than a header, or a response).
    Drop,
    /// Malformed: FORMERR, repeating the header and, if it could be read,
    /// the question.
    FormErr(Header, &'a [u8]),
}

/// Whether `msg` asks for a zone transfer (a QUERY with one question of
/// type AXFR or IXFR). A cheap look at the header and question, for the
/// connection loop to pick the handler; [`parse_request`] checks the rest.
pub fn is_transfer(msg: &[u8]) -> bool {
    let Some(header) = Header::parse(msg) else {
        return false;
    };
    if header.flags & Header::QR != 0 || header.opcode() != Opcode::QUERY || header.qdcount != 1 {
        return false;
    }
    question(msg).is_some_and(|(_, qtype, _)| matches!(qtype, Rtype::AXFR | Rtype::IXFR))
}

/// Requests that Candor's transfer side answers instead of the answer
/// path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// A zone transfer request (see [`is_transfer`]).
    Transfer,
    /// Any other request with a TSIG record (a secondary's signed SOA
    /// query): the signature is checked and the answer signed.
    Signed,
}

/// Which requests go to `Primary` rather than to the answer path: zone
/// transfers, and signed requests. Allocation-free; `None` for everything
/// else, which `candor_answer::respond` answers.
pub fn special(msg: &[u8]) -> Option<Special> {
    if is_transfer(msg) {
        return Some(Special::Transfer);
    }
    match candor_wire::parse_query(msg) {
        Ok(q) if q.has_tsig => Some(Special::Signed),
        _ => None,
    }
}

/// The question of a message: its bytes, QTYPE and the offset after it.
/// The QNAME must be uncompressed.
pub(crate) fn question(msg: &[u8]) -> Option<(&[u8], Rtype, usize)> {
    let mut pos = 12;
    loop {
        let len = usize::from(*msg.get(pos)?);
        if len == 0 {
            break;
        }
        if len > 63 || pos - 12 + len + 1 >= candor_wire::MAX_NAME_LEN {
            return None;
        }
        pos += 1 + len;
    }
    let end = pos + 5;
    let q = msg.get(12..end)?;
    let qtype = Rtype(u16::from_be_bytes([q[q.len() - 4], q[q.len() - 3]]));
    Some((q, qtype, end))
}

/// One record located in a message.
struct Located {
    /// Where it starts.
    start: usize,
    /// Its owner.
    owner: Name,
    /// Its type.
    rtype: Rtype,
    /// Where its RDATA starts.
    rdata: usize,
    /// Where it ends.
    end: usize,
}

/// Locates the record at `pos`.
fn locate(msg: &[u8], pos: usize) -> Option<Located> {
    let (owner, p) = read_name(msg, pos).ok()?;
    let fixed = msg.get(p..p + 10)?;
    let end = p + 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    if end > msg.len() {
        return None;
    }
    Some(Located {
        start: pos,
        owner,
        rtype: Rtype(u16::from_be_bytes([fixed[0], fixed[1]])),
        rdata: p + 10,
        end,
    })
}

/// Reads a transfer request (see the module docs).
pub fn parse_request(msg: &[u8]) -> Result<Request<'_>, RequestError<'_>> {
    let header = Header::parse(msg).ok_or(RequestError::Drop)?;
    if header.flags & Header::QR != 0 {
        return Err(RequestError::Drop);
    }
    let Some((question, qtype, mut pos)) = question(msg).filter(|_| header.qdcount == 1) else {
        return Err(RequestError::FormErr(header, &[]));
    };
    let formerr = RequestError::FormErr(header, question);
    let zone = Name::from_wire(&question[..question.len() - 4])
        .map_err(|_| formerr)?
        .to_lowercase();
    let class = Class(u16::from_be_bytes([
        question[question.len() - 2],
        question[question.len() - 1],
    ]));
    if header.opcode() != Opcode::QUERY || header.ancount != 0 {
        return Err(formerr);
    }
    let kind = match (qtype, header.nscount) {
        (Rtype::AXFR, 0) => Kind::Axfr,
        (Rtype::IXFR, 1) => {
            let soa = locate(msg, pos).ok_or(formerr)?;
            if soa.rtype != Rtype::SOA || !soa.owner.eq_ignore_case(&zone) {
                return Err(formerr);
            }
            // Two names, possibly compressed, then the serial.
            let (_, p) = read_name(msg, soa.rdata).map_err(|_| formerr)?;
            let (_, p) = read_name(msg, p).map_err(|_| formerr)?;
            let serial = msg
                .get(p..p + 4)
                .filter(|_| p + 20 <= soa.end)
                .ok_or(formerr)?;
            pos = soa.end;
            Kind::Ixfr {
                serial: u32::from_be_bytes([serial[0], serial[1], serial[2], serial[3]]),
            }
        }
        _ => return Err(formerr),
    };
    let mut edns = None;
    let mut tsig = None;
    for i in 0..header.arcount {
        let rr = locate(msg, pos).ok_or(formerr)?;
        match rr.rtype {
            Rtype::OPT if edns.is_none() && rr.owner.is_root() => {
                // The TTL field holds the extended rcode, version and flags.
                let ttl = msg.get(rr.rdata - 6..rr.rdata - 2).ok_or(formerr)?;
                let candor = has_candor_view(&msg[rr.rdata..rr.end]).ok_or(formerr)?;
                edns = Some(Opt {
                    version: ttl[1],
                    dnssec_ok: ttl[2] & 0x80 != 0,
                    candor,
                });
            }
            Rtype::OPT => return Err(formerr),
            // TSIG must be the last record (RFC 8945 §5.1).
            Rtype::TSIG if i + 1 == header.arcount => {
                tsig = Some(read_tsig(&msg[..rr.end], rr.start).ok_or(formerr)?);
            }
            Rtype::TSIG => return Err(formerr),
            _ => {}
        }
        pos = rr.end;
    }
    // Bytes after the TSIG record would not be covered by its MAC.
    if tsig.is_some() && pos != msg.len() {
        return Err(formerr);
    }
    Ok(Request {
        header,
        question,
        zone,
        kind,
        class,
        edns,
        tsig,
    })
}
