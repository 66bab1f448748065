//! A complete, allocating message decoder, for tests, tools and fuzzing.
//!
//! The query path never uses this: it reads only what it needs with
//! [`crate::parse_query`]. This decoder reads every section and expands
//! compressed names, including those inside the RDATA of the RFC 1035 types
//! and SRV (RFC 3597 §4), so two messages can be compared record by record.

use crate::message::Header;
use crate::name::{MAX_NAME_LEN, Name};
use crate::types::{Class, Rtype};

/// A decoded resource record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Record {
    /// Owner name, case as received.
    pub owner: Name,
    /// Type.
    pub rtype: Rtype,
    /// Class (the UDP size for OPT).
    pub class: Class,
    /// TTL (extended rcode and flags for OPT).
    pub ttl: u32,
    /// RDATA with every compressed name expanded.
    pub rdata: Vec<u8>,
}

/// A decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The questions (normally one).
    pub questions: Vec<(Name, Rtype, Class)>,
    /// Answer section.
    pub answer: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section, OPT included.
    pub additional: Vec<Record>,
}

/// The message is malformed; `at` is the offset where decoding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset of the problem.
    pub at: usize,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed message at offset {}", self.at)
    }
}

impl std::error::Error for DecodeError {}

impl Message {
    /// The response code, including the extended bits from OPT.
    pub fn rcode(&self) -> u16 {
        let low = self.header.flags & 0x000f;
        match self.opt() {
            Some(opt) => low | (((opt.ttl >> 24) as u16) << 4),
            None => low,
        }
    }

    /// The OPT record, if any.
    pub fn opt(&self) -> Option<&Record> {
        self.additional.iter().find(|r| r.rtype == Rtype::OPT)
    }
}

/// Decodes a whole message. Bytes after the last record are an error.
pub fn decode_message(msg: &[u8]) -> Result<Message, DecodeError> {
    let header = Header::parse(msg).ok_or(DecodeError { at: 0 })?;
    let mut pos = 12;
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        let (name, next) = read_name(msg, pos)?;
        let fixed = msg.get(next..next + 4).ok_or(DecodeError { at: next })?;
        questions.push((
            name,
            Rtype(u16::from_be_bytes([fixed[0], fixed[1]])),
            Class(u16::from_be_bytes([fixed[2], fixed[3]])),
        ));
        pos = next + 4;
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    let counts = [header.ancount, header.nscount, header.arcount];
    for (section, count) in sections.iter_mut().zip(counts) {
        for _ in 0..count {
            let (record, next) = read_record(msg, pos)?;
            section.push(record);
            pos = next;
        }
    }
    if pos != msg.len() {
        return Err(DecodeError { at: pos });
    }
    let [answer, authority, additional] = sections;
    Ok(Message {
        header,
        questions,
        answer,
        authority,
        additional,
    })
}

/// Reads a possibly compressed name; returns it and the offset after it.
pub fn read_name(msg: &[u8], start: usize) -> Result<(Name, usize), DecodeError> {
    let mut wire = Vec::with_capacity(64);
    let mut pos = start;
    let mut end = None;
    let mut hops = 0;
    loop {
        let len = *msg.get(pos).ok_or(DecodeError { at: pos })?;
        match len {
            0 => {
                wire.push(0);
                break;
            }
            1..=63 => {
                let label = msg
                    .get(pos..pos + 1 + usize::from(len))
                    .ok_or(DecodeError { at: pos })?;
                wire.extend_from_slice(label);
                if wire.len() >= MAX_NAME_LEN {
                    return Err(DecodeError { at: pos });
                }
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *msg.get(pos + 1).ok_or(DecodeError { at: pos })?;
                let target = usize::from(u16::from_be_bytes([len, low]) & 0x3fff);
                hops += 1;
                if target >= pos || hops > 128 {
                    return Err(DecodeError { at: pos });
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(DecodeError { at: pos }),
        }
    }
    let name = Name::from_wire(&wire).map_err(|_| DecodeError { at: start })?;
    Ok((name, end.unwrap_or(pos + 1)))
}

/// Reads one record at `pos`.
fn read_record(msg: &[u8], pos: usize) -> Result<(Record, usize), DecodeError> {
    let (owner, next) = read_name(msg, pos)?;
    let fixed = msg.get(next..next + 10).ok_or(DecodeError { at: next })?;
    let rtype = Rtype(u16::from_be_bytes([fixed[0], fixed[1]]));
    let class = Class(u16::from_be_bytes([fixed[2], fixed[3]]));
    let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
    let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let start = next + 10;
    let end = start + rdlen;
    let raw = msg.get(start..end).ok_or(DecodeError { at: start })?;
    let rdata = expand_rdata(msg, rtype, start, end).unwrap_or_else(|_| raw.to_vec());
    Ok((
        Record {
            owner,
            rtype,
            class,
            ttl,
            rdata,
        },
        end,
    ))
}

/// RDATA with compressed names expanded, for the types that may carry them.
fn expand_rdata(
    msg: &[u8],
    rtype: Rtype,
    start: usize,
    end: usize,
) -> Result<Vec<u8>, DecodeError> {
    let bad = DecodeError { at: start };
    let mut out = Vec::with_capacity(end - start);
    let name_at = |pos: usize, out: &mut Vec<u8>| -> Result<usize, DecodeError> {
        let (name, next) = read_name(msg, pos)?;
        if next > end {
            return Err(bad);
        }
        out.extend_from_slice(name.as_wire());
        Ok(next)
    };
    let fixed = |pos: usize, n: usize, out: &mut Vec<u8>| -> Result<usize, DecodeError> {
        out.extend_from_slice(
            msg.get(pos..pos + n)
                .filter(|_| pos + n <= end)
                .ok_or(bad)?,
        );
        Ok(pos + n)
    };
    let pos = match rtype {
        Rtype::NS
        | Rtype::CNAME
        | Rtype::PTR
        | Rtype::DNAME
        | Rtype(3)
        | Rtype(4)
        | Rtype(7)
        | Rtype(8)
        | Rtype(9) => name_at(start, &mut out)?,
        Rtype::MX | Rtype::AFSDB | Rtype::KX => {
            let p = fixed(start, 2, &mut out)?;
            name_at(p, &mut out)?
        }
        Rtype::SRV => {
            let p = fixed(start, 6, &mut out)?;
            name_at(p, &mut out)?
        }
        Rtype::SOA => {
            let p = name_at(start, &mut out)?;
            let p = name_at(p, &mut out)?;
            fixed(p, 20, &mut out)?
        }
        Rtype::RP | Rtype(14) => {
            let p = name_at(start, &mut out)?;
            name_at(p, &mut out)?
        }
        _ => return Ok(msg[start..end].to_vec()),
    };
    if pos != end {
        return Err(bad);
    }
    Ok(out)
}
