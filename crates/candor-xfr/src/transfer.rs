//! Zone transfer responses as a stream of messages (RFC 5936 §2.2, RFC
//! 1995 §4), produced one at a time into the caller's buffer.
//!
//! A [`Transfer`] holds what it sends as a plan of parts (single records,
//! the records of a compiled zone node by node, lists of records from the
//! journal) and a cursor into it. Memory per transfer is the cursor, one
//! node's records and the caller's buffer: the zone is read from an
//! `Arc<Zone>` snapshot, never copied or rendered as a whole, and a new
//! version published meanwhile changes nothing for a transfer under way.
//!
//! Messages are filled up to [`MESSAGE_TARGET`] bytes (a record larger than
//! that goes alone in a message of up to 64 KiB), with name compression.
//! The first message repeats the question; later ones have none (RFC 5936
//! §2.2.1 allows both). With TSIG, every message is signed.

use std::collections::VecDeque;
use std::sync::Arc;

use candor_answer::AliasTable;
use candor_wire::{Header, MessageBuilder, Owner, Rcode, TruncationError};
use candor_zone::{OwnedRecord, Zone, ZoneSet};

use crate::journal::{Step, zone_soa};
use crate::request::{CANDOR_VIEW, Opt};
use crate::tsig::Signer;
use crate::view::{Records, Resolver, next_tail, node_records, push_tail};

/// How large a message grows before the next one starts: 16 KiB keeps
/// every name within reach of compression pointers (which point at most
/// 16 KiB into a message) and a message's worth of work small.
pub const MESSAGE_TARGET: usize = 16 * 1024;

/// The UDP payload size announced in the OPT record of responses.
const EDNS_SIZE: u16 = 1232;

/// One part of a transfer's plan.
enum Part {
    /// One record (an SOA).
    Record(OwnedRecord),
    /// Every record of the zone except its SOA, node by node.
    Body,
    /// Records from the journal.
    List(Arc<[OwnedRecord]>),
}

/// A zone transfer response under way (see the module docs).
pub struct Transfer {
    /// The request's header (ID, opcode, RD and CD are repeated).
    header: Header,
    /// The request's question, repeated in the first message.
    question: Vec<u8>,
    /// The request's OPT record: responses carry one if it had one.
    edns: Option<Opt>,
    /// What is left to send.
    parts: VecDeque<Part>,
    /// Position in the part at the front: the next node for `Body`, the
    /// next record for `List`.
    position: usize,
    /// The zone being sent.
    zone: Arc<Zone>,
    /// The served zones when the transfer started (for ALIAS targets).
    zones: Arc<ZoneSet>,
    /// The resolver's table when the transfer started.
    aliases: Arc<AliasTable>,
    /// Records of the node being sent, as RR tails.
    tails: Vec<u8>,
    /// The next record in `tails`.
    tails_at: usize,
    /// The node whose records `tails` holds.
    tails_node: u32,
    /// Scratch space for one record's tail.
    scratch: Vec<u8>,
    /// Whether the next message is the first.
    first: bool,
    /// Signs each message, when the request was signed.
    signer: Option<Signer>,
    /// Records sent so far.
    records: u64,
    /// Messages sent so far.
    messages: u64,
}

/// What a transfer is made of.
pub enum Plan {
    /// The whole zone: SOA, every other record, SOA (AXFR, and IXFR when
    /// the journal does not reach back to the client's version).
    Full,
    /// The steps from the client's version to the version `soa` belongs
    /// to (IXFR; no steps: the client has that version).
    Incremental {
        /// The steps, oldest first.
        steps: Vec<Arc<Step>>,
        /// The SOA of the version they end at.
        soa: OwnedRecord,
    },
    /// Only the current SOA (IXFR from a client that is up to date, or
    /// over UDP).
    SoaOnly,
}

/// Where a transfer's data comes from.
pub struct Source {
    /// The zone, as served when the transfer started.
    pub zone: Arc<Zone>,
    /// The served zones then.
    pub zones: Arc<ZoneSet>,
    /// The resolver's table then.
    pub aliases: Arc<AliasTable>,
}

impl Transfer {
    /// A transfer answering a request with `header`, `question` (and an OPT
    /// record if the request had one, `edns`), sending `plan` from `source`.
    pub fn new(
        header: Header,
        question: &[u8],
        edns: Option<Opt>,
        source: Source,
        plan: Plan,
        signer: Option<Signer>,
    ) -> Transfer {
        let soa = zone_soa(&source.zone);
        let mut parts = VecDeque::new();
        match plan {
            Plan::Full => {
                parts.push_back(Part::Record(soa.clone()));
                parts.push_back(Part::Body);
                parts.push_back(Part::Record(soa));
            }
            Plan::Incremental { steps, soa } => {
                parts.push_back(Part::Record(soa.clone()));
                if steps.is_empty() {
                    return Transfer::with_parts(header, question, edns, source, parts, signer);
                }
                let candor = edns.is_some_and(|o| o.candor);
                for step in steps {
                    let (removed, added) = match candor {
                        true => (&step.candor_removed, &step.candor_added),
                        false => (&step.removed, &step.added),
                    };
                    parts.push_back(Part::Record(step.old_soa.clone()));
                    parts.push_back(Part::List(removed.clone()));
                    parts.push_back(Part::Record(step.new_soa.clone()));
                    parts.push_back(Part::List(added.clone()));
                }
                parts.push_back(Part::Record(soa));
            }
            Plan::SoaOnly => parts.push_back(Part::Record(soa)),
        }
        Transfer::with_parts(header, question, edns, source, parts, signer)
    }

    /// A transfer sending `parts`.
    fn with_parts(
        header: Header,
        question: &[u8],
        edns: Option<Opt>,
        source: Source,
        parts: VecDeque<Part>,
        signer: Option<Signer>,
    ) -> Transfer {
        Transfer {
            header,
            question: question.to_vec(),
            edns,
            parts,
            position: 0,
            zone: source.zone,
            zones: source.zones,
            aliases: source.aliases,
            tails: Vec::new(),
            tails_at: 0,
            tails_node: 0,
            scratch: Vec::with_capacity(512),
            first: true,
            signer,
            records: 0,
            messages: 0,
        }
    }

    /// The zone being sent.
    pub fn zone(&self) -> &Arc<Zone> {
        &self.zone
    }

    /// Records and messages sent so far.
    pub fn sent(&self) -> (u64, u64) {
        (self.records, self.messages)
    }

    /// Writes the next message into `buf` (which should hold 65535 bytes)
    /// and returns its length, or `None` when the transfer is complete.
    /// `now` (seconds since 1970) is the time signed, with TSIG.
    pub fn next_message(&mut self, buf: &mut [u8], now: u64) -> Option<usize> {
        if self.parts.is_empty() && !self.first {
            return None;
        }
        let (mut len, mut count) = self.fill(buf, MESSAGE_TARGET);
        if count == 0 && !self.parts.is_empty() {
            // A record larger than the target: alone, in a larger message.
            (len, count) = self.fill(buf, 65535);
            if count == 0 {
                // Not even that (a name and 64 KiB of RDATA): no server
                // could send it. Skip it rather than loop forever.
                self.skip_one();
            }
        }
        self.first = false;
        self.messages += 1;
        self.records += count as u64;
        match &mut self.signer {
            Some(signer) => signer.sign(buf, len, now),
            None => Some(len),
        }
    }

    /// Builds one message of at most `limit` bytes from the plan; returns
    /// its length and how many records it holds.
    fn fill(&mut self, buf: &mut [u8], limit: usize) -> (usize, usize) {
        let question: &[u8] = if self.first { &self.question } else { &[] };
        let Ok(mut b) = MessageBuilder::new(buf, &self.header, question, limit) else {
            return (0, 0);
        };
        b.set_flags(Header::AA);
        b.set_rcode(Rcode::NOERROR);
        let reserved = self.signer.as_ref().map_or(0, Signer::record_len)
            + match self.edns {
                Some(o) if o.candor => 15,
                Some(_) => 11,
                None => 0,
            };
        // A question is at most 259 bytes, so there is always room.
        let _ = b.reserve(reserved);
        let mut count = 0;
        while self.push_next(&mut b).is_ok() {
            count += 1;
        }
        // The OPT record takes back its own room; the TSIG record's stays
        // free past the end of the message, where the signer writes it.
        if let Some(opt) = self.edns {
            // The Candor view says so in every message (the option,
            // empty), so a secondary never mistakes one for the other.
            let candor: &[(u16, &[u8])] = &[(CANDOR_VIEW, &[])];
            let options = if opt.candor { candor } else { &[] };
            let _ = b.push_opt(EDNS_SIZE, 0, opt.dnssec_ok, options);
        }
        (b.finish(), count)
    }

    /// Pushes the next record of the plan; `Err` when the message is full
    /// or the plan is done.
    fn push_next(&mut self, b: &mut MessageBuilder<'_>) -> Result<(), TruncationError> {
        loop {
            match self.parts.front() {
                None => return Err(TruncationError),
                Some(Part::Record(r)) => {
                    record_tail(r, &mut self.scratch);
                    b.push_rrset(Owner::Name(&r.owner), &self.scratch, 1)?;
                    self.parts.pop_front();
                    return Ok(());
                }
                Some(Part::List(list)) => {
                    let Some(r) = list.get(self.position) else {
                        self.parts.pop_front();
                        self.position = 0;
                        continue;
                    };
                    record_tail(r, &mut self.scratch);
                    b.push_rrset(Owner::Name(&r.owner), &self.scratch, 1)?;
                    self.position += 1;
                    return Ok(());
                }
                Some(Part::Body) => {
                    if let Some((_, _, _, len)) = next_tail(&self.tails[self.tails_at..]) {
                        let owner = self.zone.name_bytes(self.tails_node);
                        let tail = &self.tails[self.tails_at..self.tails_at + len];
                        b.push_rrset(Owner::Name(owner), tail, 1)?;
                        self.tails_at += len;
                        return Ok(());
                    }
                    if self.position >= self.zone.node_count() {
                        self.parts.pop_front();
                        self.position = 0;
                        continue;
                    }
                    self.tails.clear();
                    self.tails_at = 0;
                    self.tails_node = self.position as u32;
                    let resolver = Resolver {
                        zones: &self.zones,
                        aliases: &self.aliases,
                    };
                    let which = match self.edns {
                        Some(o) if o.candor => Records::Candor,
                        _ => Records::All,
                    };
                    node_records(
                        &self.zone,
                        self.tails_node,
                        resolver,
                        which,
                        &mut self.tails,
                    );
                    self.position += 1;
                }
            }
        }
    }

    /// Drops the next record of the plan (one that fits in no message).
    fn skip_one(&mut self) {
        match self.parts.front() {
            Some(Part::Record(_)) => {
                self.parts.pop_front();
            }
            Some(Part::List(_)) => self.position += 1,
            Some(Part::Body) => {
                if let Some((_, _, _, len)) = next_tail(&self.tails[self.tails_at..]) {
                    self.tails_at += len;
                }
            }
            None => {}
        }
    }
}

/// Writes a record's tail (TYPE, CLASS, TTL, RDLENGTH, RDATA) into `out`.
fn record_tail(r: &OwnedRecord, out: &mut Vec<u8>) {
    out.clear();
    push_tail(out, r.rtype, r.ttl, &r.rdata);
}
