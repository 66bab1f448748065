//! The secondary's side of the wire, sans I/O: requests to a primary (an
//! SOA query, AXFR, IXFR with the SOA held; TSIG-signed with a key) and
//! the reading of its answers, message by message, into what was received
//! ([`Received`]), which [`apply`] turns into the next version of the zone.
//!
//! Answers are untrusted: nothing here panics on any bytes. A message must
//! answer the request (ID, QR, opcode, question), carry NOERROR, and with
//! TSIG every message must verify (Knot, NSD, BIND and Candor sign each
//! one; RFC 8945 §5.3.1 lets a server leave up to 99 in a row unsigned,
//! which is refused here). At most [`MAX_RECORDS`] records are taken from
//! one transfer.
//!
//! Reading an IXFR answer (RFC 1995 §4): the first record is the
//! primary's SOA (serial S). A reply with that SOA alone means "you are up
//! to date" (or, over UDP, "ask over TCP"). If the second record is an SOA
//! with the client's serial, the answer is incremental: steps of (old SOA,
//! deletions, new SOA, additions), ending with the SOA of S where the next
//! step's old SOA would be. Otherwise it is AXFR-style: the whole zone,
//! ending with the SOA of S.
//!
//! Private types (ALIAS, POOL, URL) are dropped from what is received: in
//! a zone transfer they can only come from a primary that is not Candor,
//! and Candor's answer path would interpret them.

use std::collections::HashMap;
use std::sync::Arc;

use candor_wire::decode::{Message, decode_message};
use candor_wire::{Class, Header, Name, Opcode, Rcode, Rtype};
use candor_zone::{OwnedRecord, Zone, ZoneBuilder, ZoneError, is_private_type};

use crate::journal::serial_newer;
use crate::tsig::{Key, ResponseError, Verifier, sign_request};

/// Most records one transfer may bring (a primary streaming forever runs
/// out of this before the secondary runs out of memory).
pub const MAX_RECORDS: usize = 20_000_000;

//----------- SOA fields ------------------------------------------------------

/// The fields of an SOA record a secondary lives by (RFC 1035 §3.3.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Soa {
    /// The version.
    pub serial: u32,
    /// Seconds between checks of the primary.
    pub refresh: u32,
    /// Seconds before a failed check is tried again.
    pub retry: u32,
    /// Seconds after the last successful check when the zone stops being
    /// served.
    pub expire: u32,
}

impl Soa {
    /// The fields of SOA RDATA (uncompressed), if it is well-formed.
    pub fn from_rdata(rdata: &[u8]) -> Option<Soa> {
        let m = candor_wire::wire_name_len(rdata)?;
        let r = candor_wire::wire_name_len(rdata.get(m..)?)?;
        let fixed = rdata.get(m + r..m + r + 20)?;
        let word = |i: usize| {
            u32::from_be_bytes([
                fixed[4 * i],
                fixed[4 * i + 1],
                fixed[4 * i + 2],
                fixed[4 * i + 3],
            ])
        };
        Some(Soa {
            serial: word(0),
            refresh: word(1),
            retry: word(2),
            expire: word(3),
        })
    }

    /// The SOA fields of a compiled zone.
    pub fn of_zone(zone: &Zone) -> Option<Soa> {
        zone.records()
            .find(|r| r.rtype == Rtype::SOA)
            .and_then(|r| Soa::from_rdata(r.rdata))
    }
}

//----------- Requests --------------------------------------------------------

/// What to ask a primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// The zone's SOA (a refresh check, over UDP).
    Soa,
    /// The whole zone.
    Axfr,
    /// The changes since the version whose SOA record this is.
    Ixfr(OwnedRecord),
}

/// Why an answer was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The bytes are not a DNS message, or not an answer to the request.
    Malformed(&'static str),
    /// The primary answered with this error.
    Rcode(Rcode),
    /// The answer's TSIG record is missing or does not verify.
    Tsig(ResponseError),
    /// The answer does not follow RFC 5936 / RFC 1995.
    Protocol(&'static str),
    /// More than [`MAX_RECORDS`] records.
    TooLarge,
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Malformed(why) => write!(f, "malformed answer: {why}"),
            ClientError::Rcode(rcode) => write!(f, "the primary answered {rcode}"),
            ClientError::Tsig(e) => write!(f, "TSIG: {}", tsig_error_text(*e)),
            ClientError::Protocol(why) => write!(f, "broken transfer: {why}"),
            ClientError::TooLarge => write!(f, "more than {MAX_RECORDS} records"),
        }
    }
}

impl std::error::Error for ClientError {}

/// What a TSIG problem with an answer means.
fn tsig_error_text(e: ResponseError) -> String {
    match e {
        ResponseError::Unsigned => "the answer is not signed".to_owned(),
        ResponseError::Malformed => "malformed TSIG record, or another key".to_owned(),
        ResponseError::Error(code) => {
            let name = match code {
                crate::tsig::BADSIG => "BADSIG (the primary has another secret)",
                crate::tsig::BADKEY => "BADKEY (the primary does not know the key)",
                crate::tsig::BADTIME => "BADTIME (the clocks differ)",
                _ => "an error",
            };
            format!("the primary says {name}")
        }
        ResponseError::BadSig => "the answer's MAC does not verify".to_owned(),
        ResponseError::BadTime => "the answer was signed too far from our time".to_owned(),
    }
}

/// One request to a primary and the reading of its answer.
#[derive(Debug)]
pub struct Exchange {
    /// The request's bytes (signed, with a key).
    message: Vec<u8>,
    /// The zone.
    zone: Name,
    /// The request's ID.
    id: u16,
    /// SOA, AXFR or IXFR.
    qtype: Rtype,
    /// The serial held (IXFR).
    held: Option<u32>,
    /// Verifies the answer's messages, with a key.
    verifier: Option<Verifier>,
    /// Where the reading is.
    state: Reading,
    /// Records read so far.
    records: usize,
    /// Messages read so far.
    messages: usize,
    /// Whether the Candor view was asked for.
    asked_candor: bool,
    /// Whether the answer is in the Candor view (the first message
    /// repeated the option): private types are then kept.
    candor: bool,
}

/// What a whole answer brought.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// The SOA (an answer to [`Ask::Soa`]; an IXFR answer with the SOA
    /// alone: the primary has nothing newer, or wants TCP).
    Soa(Soa),
    /// The whole zone (AXFR, or an AXFR-style IXFR answer), its SOA first.
    Full {
        /// The SOA fields.
        soa: Soa,
        /// Every record, the SOA included once.
        records: Vec<OwnedRecord>,
    },
    /// The changes since the version held, oldest first.
    Incremental {
        /// The SOA fields of the version they end at.
        soa: Soa,
        /// Its SOA record.
        soa_record: OwnedRecord,
        /// The steps.
        steps: Vec<Step>,
    },
}

/// One version step of an IXFR answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Serial before.
    pub from: u32,
    /// Serial after.
    pub to: u32,
    /// Records deleted (SOAs excepted).
    pub removed: Vec<OwnedRecord>,
    /// Records added (SOAs excepted).
    pub added: Vec<OwnedRecord>,
}

/// Where reading an answer is.
#[derive(Debug)]
enum Reading {
    /// Waiting for the answer to an SOA query.
    SoaAnswer,
    /// Waiting for the first record (the primary's SOA).
    Start,
    /// IXFR: the first SOA read; the second record decides.
    AfterFirst(Soa, OwnedRecord),
    /// The whole zone, until its SOA comes again.
    Full(Soa, Vec<OwnedRecord>),
    /// IXFR: the deletions of a step.
    Deleting(Soa, OwnedRecord, Vec<Step>, Step),
    /// IXFR: the additions of a step.
    Adding(Soa, OwnedRecord, Vec<Step>, Step),
    /// Complete (the value is taken out by `on_message`).
    Done,
}

/// What one message moved.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The answer goes on in further messages.
    More,
    /// The answer is complete.
    Done(Received),
}

impl Exchange {
    /// A request `ask` for `zone` with message ID `id`, signed with `key`
    /// at `now` (seconds since 1970) when there is one.
    pub fn new(zone: &Name, ask: &Ask, id: u16, key: Option<&Arc<Key>>, now: u64) -> Exchange {
        Exchange::build(zone, ask, id, key, now, false)
    }

    /// [`Exchange::new`] asking for the Candor view (docs/regions.md): the
    /// request carries an OPT record with the `CANDOR_VIEW` option, and
    /// when the primary's answer repeats it (a Candor primary), private
    /// types (ALIAS, POOL, REGIONAL) are kept instead of dropped. Other
    /// primaries ignore the option (RFC 6891 §6.1.2) and answer as usual.
    pub fn candor_view(
        zone: &Name,
        ask: &Ask,
        id: u16,
        key: Option<&Arc<Key>>,
        now: u64,
    ) -> Exchange {
        Exchange::build(zone, ask, id, key, now, true)
    }

    /// The request, with the Candor view option when `candor` is set.
    fn build(
        zone: &Name,
        ask: &Ask,
        id: u16,
        key: Option<&Arc<Key>>,
        now: u64,
        candor: bool,
    ) -> Exchange {
        let (qtype, authority) = match ask {
            Ask::Soa => (Rtype::SOA, None),
            Ask::Axfr => (Rtype::AXFR, None),
            Ask::Ixfr(soa) => (Rtype::IXFR, Some(soa)),
        };
        let mut m = Vec::with_capacity(128);
        let counts = [1, 0, u16::from(authority.is_some()), u16::from(candor)];
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&0u16.to_be_bytes());
        for c in counts {
            m.extend_from_slice(&c.to_be_bytes());
        }
        m.extend_from_slice(zone.as_wire());
        m.extend_from_slice(&qtype.0.to_be_bytes());
        m.extend_from_slice(&Class::IN.0.to_be_bytes());
        if let Some(soa) = authority {
            m.extend_from_slice(&soa.owner);
            m.extend_from_slice(&Rtype::SOA.0.to_be_bytes());
            m.extend_from_slice(&Class::IN.0.to_be_bytes());
            m.extend_from_slice(&soa.ttl.to_be_bytes());
            m.extend_from_slice(&(soa.rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&soa.rdata);
        }
        if candor {
            // OPT: root owner, 1232-byte payload, version 0, the option.
            m.push(0);
            m.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
            m.extend_from_slice(&1232u16.to_be_bytes());
            m.extend_from_slice(&0u32.to_be_bytes());
            m.extend_from_slice(&4u16.to_be_bytes());
            m.extend_from_slice(&crate::request::CANDOR_VIEW.to_be_bytes());
            m.extend_from_slice(&0u16.to_be_bytes());
        }
        let verifier = key.map(|key| {
            let mac = sign_request(key, &mut m, now);
            Verifier::new(Arc::clone(key), &mac)
        });
        let held = match ask {
            Ask::Ixfr(soa) => Soa::from_rdata(&soa.rdata).map(|s| s.serial),
            _ => None,
        };
        Exchange {
            message: m,
            zone: zone.to_lowercase(),
            id,
            qtype,
            held,
            verifier,
            state: match ask {
                Ask::Soa => Reading::SoaAnswer,
                _ => Reading::Start,
            },
            records: 0,
            messages: 0,
            asked_candor: candor,
            candor: false,
        }
    }

    /// The request's bytes.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// Records and messages read so far.
    pub fn read(&self) -> (usize, usize) {
        (self.records, self.messages)
    }

    /// Reads the next message of the answer, received at `now`.
    pub fn on_message(&mut self, msg: &[u8], now: u64) -> Result<Progress, ClientError> {
        if matches!(self.state, Reading::Done) {
            return Err(ClientError::Protocol("a message after the end"));
        }
        let m = decode_message(msg).map_err(|_| ClientError::Malformed("cannot be decoded"))?;
        if m.header.id != self.id
            || m.header.flags & Header::QR == 0
            || m.header.opcode() != Opcode::QUERY
        {
            return Err(ClientError::Malformed("not an answer to the request"));
        }
        self.check_question(&m)?;
        if let Some(v) = &mut self.verifier {
            v.verify(msg, now).map_err(ClientError::Tsig)?;
        }
        let rcode = m.rcode();
        if rcode != Rcode::NOERROR.0 {
            return Err(ClientError::Rcode(Rcode(rcode)));
        }
        if self.messages == 0 {
            self.candor = self.asked_candor && repeats_candor_view(&m);
        }
        self.messages += 1;
        if m.header.flags & Header::TC != 0 {
            return Err(ClientError::Protocol("the answer is truncated"));
        }
        if matches!(self.state, Reading::SoaAnswer) {
            return self.soa_answer(&m);
        }
        for r in m.answer {
            if r.class != Class::IN {
                return Err(ClientError::Protocol("a record of another class"));
            }
            self.records += 1;
            if self.records > MAX_RECORDS {
                return Err(ClientError::TooLarge);
            }
            let mut owner = r.owner.as_wire().to_vec();
            owner.make_ascii_lowercase();
            let record = OwnedRecord {
                owner: owner.into(),
                rtype: r.rtype,
                ttl: r.ttl,
                rdata: r.rdata.into(),
            };
            if let Some(done) = self.take(record)? {
                return Ok(Progress::Done(done));
            }
        }
        // An IXFR answer whose first message holds the SOA alone: up to
        // date (a later message would have been part of the same answer
        // only if this one had more records in it).
        if let Reading::AfterFirst(soa, _) = &self.state {
            let soa = *soa;
            self.state = Reading::Done;
            return Ok(Progress::Done(Received::Soa(soa)));
        }
        Ok(Progress::More)
    }

    /// Checks the question of a message, if it repeats one (only the
    /// first message of a transfer must).
    fn check_question(&self, m: &Message) -> Result<(), ClientError> {
        match m.questions.as_slice() {
            [] if self.messages > 0 => Ok(()),
            [(name, qtype, class)]
                if name.eq_ignore_case(&self.zone)
                    && *qtype == self.qtype
                    && *class == Class::IN =>
            {
                Ok(())
            }
            _ => Err(ClientError::Malformed("the question is not the request's")),
        }
    }

    /// Reads the answer to an SOA query.
    fn soa_answer(&mut self, m: &Message) -> Result<Progress, ClientError> {
        let soa = m
            .answer
            .iter()
            .find(|r| r.rtype == Rtype::SOA && r.owner.eq_ignore_case(&self.zone))
            .and_then(|r| Soa::from_rdata(&r.rdata))
            .ok_or(ClientError::Protocol("no SOA record in the answer"))?;
        if m.header.flags & Header::AA == 0 {
            return Err(ClientError::Protocol("the answer is not authoritative"));
        }
        self.state = Reading::Done;
        Ok(Progress::Done(Received::Soa(soa)))
    }

    /// Takes one record of a transfer; returns what was received when it
    /// was the last one.
    fn take(&mut self, record: OwnedRecord) -> Result<Option<Received>, ClientError> {
        let is_soa = record.rtype == Rtype::SOA;
        let soa = if is_soa {
            if *record.owner != *self.zone.as_wire() {
                return Err(ClientError::Protocol("an SOA record not at the apex"));
            }
            Some(Soa::from_rdata(&record.rdata).ok_or(ClientError::Protocol("malformed SOA"))?)
        } else {
            None
        };
        let state = std::mem::replace(&mut self.state, Reading::Done);
        self.state = match (state, soa) {
            (Reading::Start, Some(s)) if self.qtype == Rtype::IXFR => {
                Reading::AfterFirst(s, record)
            }
            (Reading::Start, Some(s)) => Reading::Full(s, vec![record]),
            (Reading::Start, None) => {
                return Err(ClientError::Protocol("the first record is not the SOA"));
            }
            (Reading::AfterFirst(last, last_record), Some(s)) if Some(s.serial) == self.held => {
                let step = Step {
                    from: s.serial,
                    ..Step::default()
                };
                Reading::Deleting(last, last_record, Vec::new(), step)
            }
            (Reading::AfterFirst(s, first), _) => {
                // AXFR-style: the second record is the zone's first after
                // the SOA (or the closing SOA of a zone of one record).
                if is_soa {
                    return Ok(Some(Received::Full {
                        soa: s,
                        records: vec![first],
                    }));
                }
                let mut records = vec![first];
                if self.candor || !is_private_type(record.rtype) {
                    records.push(record);
                }
                Reading::Full(s, records)
            }
            (Reading::Full(s, records), Some(_)) => {
                return Ok(Some(Received::Full { soa: s, records }));
            }
            (Reading::Full(s, mut records), None) => {
                if self.candor || !is_private_type(record.rtype) {
                    records.push(record);
                }
                Reading::Full(s, records)
            }
            (Reading::Deleting(last, lr, steps, mut step), Some(s)) => {
                step.to = s.serial;
                Reading::Adding(last, lr, steps, step)
            }
            (Reading::Deleting(last, lr, steps, mut step), None) => {
                if self.candor || !is_private_type(record.rtype) {
                    step.removed.push(record);
                }
                Reading::Deleting(last, lr, steps, step)
            }
            (Reading::Adding(last, lr, mut steps, step), Some(s)) => {
                let ends = step.to == last.serial;
                if !ends && s.serial != step.to {
                    return Err(ClientError::Protocol(
                        "an IXFR step does not start where the last ended",
                    ));
                }
                steps.push(step);
                if ends {
                    return Ok(Some(Received::Incremental {
                        soa: last,
                        soa_record: lr,
                        steps,
                    }));
                }
                let next = Step {
                    from: s.serial,
                    ..Step::default()
                };
                Reading::Deleting(last, lr, steps, next)
            }
            (Reading::Adding(last, lr, steps, mut step), None) => {
                if self.candor || !is_private_type(record.rtype) {
                    step.added.push(record);
                }
                Reading::Adding(last, lr, steps, step)
            }
            (Reading::SoaAnswer | Reading::Done, _) => {
                return Err(ClientError::Protocol("a record after the end"));
            }
        };
        Ok(None)
    }
}

/// Whether an answer's OPT record carries the Candor view option.
fn repeats_candor_view(m: &Message) -> bool {
    m.additional
        .iter()
        .filter(|r| r.rtype == Rtype::OPT)
        .any(|r| crate::request::has_candor_view(&r.rdata) == Some(true))
}

//----------- Applying --------------------------------------------------------

/// Why received data did not make a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// The IXFR does not start at the version held.
    NotFromHeld {
        /// The serial held.
        held: u32,
        /// Where the IXFR starts.
        from: u32,
    },
    /// The IXFR deletes a record the zone does not have.
    MissingRecord(String),
    /// The result is not a valid zone.
    Invalid(Vec<ZoneError>),
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApplyError::NotFromHeld { held, from } => {
                write!(
                    f,
                    "the IXFR starts at serial {from}, not at the {held} held"
                )
            }
            ApplyError::MissingRecord(r) => {
                write!(f, "the IXFR deletes a record the zone does not have: {r}")
            }
            ApplyError::Invalid(errors) => {
                let shown: Vec<String> = errors.iter().take(3).map(ToString::to_string).collect();
                write!(f, "the received zone is not valid: {}", shown.join("; "))
            }
        }
    }
}

impl std::error::Error for ApplyError {}

/// Compiles a zone received whole.
pub fn build_full(apex: &Name, records: &[OwnedRecord]) -> Result<Zone, ApplyError> {
    build(apex, records.iter())
}

/// Compiles `records` into zone `apex`.
fn build<'a>(
    apex: &Name,
    records: impl Iterator<Item = &'a OwnedRecord>,
) -> Result<Zone, ApplyError> {
    let mut b = ZoneBuilder::new(apex);
    for r in records {
        let Ok(owner) = Name::from_wire(&r.owner) else {
            continue;
        };
        b.add(&owner, r.rtype, r.ttl, &r.rdata, None);
    }
    b.finish().map_err(ApplyError::Invalid)
}

/// Applies IXFR `steps` to `zone` (which must hold the version the first
/// starts at) and sets the SOA to `soa_record`.
pub fn apply_steps(
    zone: &Zone,
    steps: &[Step],
    soa_record: &OwnedRecord,
) -> Result<Zone, ApplyError> {
    if let Some(first) = steps.first()
        && first.from != zone.serial()
    {
        return Err(ApplyError::NotFromHeld {
            held: zone.serial(),
            from: first.from,
        });
    }
    // Records by (owner, type, RDATA); a deletion matches whatever TTL.
    type Key = (Box<[u8]>, u16, Box<[u8]>);
    let mut records: HashMap<Key, u32> = zone
        .records()
        .filter(|r| r.rtype != Rtype::SOA)
        .map(|r| ((r.owner.into(), r.rtype.0, r.rdata.into()), r.ttl))
        .collect();
    for step in steps {
        for r in &step.removed {
            let key = (r.owner.clone(), r.rtype.0, r.rdata.clone());
            if records.remove(&key).is_none() {
                let owner =
                    Name::from_wire(&r.owner).map_or_else(|_| "?".to_owned(), |n| n.to_string());
                return Err(ApplyError::MissingRecord(format!("{owner} {}", r.rtype)));
            }
        }
        for r in &step.added {
            if r.rtype != Rtype::SOA {
                records.insert((r.owner.clone(), r.rtype.0, r.rdata.clone()), r.ttl);
            }
        }
    }
    let owned: Vec<OwnedRecord> = records
        .into_iter()
        .map(|((owner, rtype, rdata), ttl)| OwnedRecord {
            owner,
            rtype: Rtype(rtype),
            ttl,
            rdata,
        })
        .chain(std::iter::once(soa_record.clone()))
        .collect();
    build(zone.apex(), owned.iter())
}

/// [`apply_steps`] in proportion to the steps (docs/incremental.md): each
/// step is applied to the held zone with `Zone::apply_diff`, which patches
/// an overlay over the compiled zone instead of compiling every record.
/// Steps with private types (ALIAS, POOL, REGIONAL: the Candor view)
/// patch like any other, as a primary's record writes do. Whatever the
/// patch does not take (a delegation or wildcard change, a removal of a
/// record the zone lacks, a full overlay) goes through [`apply_steps`], so
/// the result and the errors are the same, except that owner names
/// compare without regard to case here.
pub fn apply_steps_patched(
    zone: &Arc<Zone>,
    steps: &[Step],
    soa_record: &OwnedRecord,
) -> Result<Zone, ApplyError> {
    patch_steps(zone, steps, soa_record).map_or_else(|| apply_steps(zone, steps, soa_record), Ok)
}

/// The steps applied by patching, or `None` when the full path must do it.
fn patch_steps(zone: &Arc<Zone>, steps: &[Step], soa_record: &OwnedRecord) -> Option<Zone> {
    let first = steps.first()?;
    if first.from != zone.serial() {
        return None;
    }
    let mut current = Arc::clone(zone);
    for step in steps {
        // Every step sets the final SOA: versions in between are never
        // served, and the last one must end with the one received.
        let diff = candor_zone::ZoneDiff {
            old_soa: soa_record.clone(),
            new_soa: soa_record.clone(),
            removed: step.removed.clone(),
            added: step
                .added
                .iter()
                .filter(|r| r.rtype != Rtype::SOA)
                .cloned()
                .collect(),
        };
        current = Arc::new(current.apply_diff(&diff).ok()?);
    }
    Arc::try_unwrap(current).ok()
}

/// Whether `primary` (the primary's serial) is newer than what is held.
pub fn is_newer(primary: u32, held: Option<u32>) -> bool {
    held.is_none_or(|h| serial_newer(primary, h))
}

/// The SOA record of a compiled zone, owned (for an IXFR request).
pub fn soa_record(zone: &Zone) -> Option<OwnedRecord> {
    zone.records()
        .find(|r| r.rtype == Rtype::SOA)
        .map(|r| OwnedRecord::from_record(&r))
}

#[cfg(test)]
mod tests;
