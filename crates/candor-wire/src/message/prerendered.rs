//! Records rendered once and copied into many responses: a zone's
//! negative-answer authority records (its SOA, and for DNSSEC the SOA's
//! RRSIGs and the apex's NSEC with its RRSIGs) are the same bytes in every
//! response for a name in the zone, except for where their compression
//! pointers point. Those move by the QNAME's length and nothing else, so
//! the records are written once by [`MessageBuilder`] after a question for
//! the zone's apex, and each response copies them and adds one number to
//! each pointer, instead of searching its compression table for every
//! name ([`MessageBuilder::push_prerendered`]).
//!
//! The copy is what the builder would have written only when the
//! response's compression table offers the same targets as the one the
//! records were rendered against: every suffix of the QNAME is in it, a
//! block of records that compresses names is copied right after the
//! question, and no name in the block shares a name below the apex with
//! the QNAME (then the QNAME's labels below the apex can match nothing in
//! the block). Where that does not hold, `push_prerendered` writes nothing
//! and the caller writes the records one by one.

use super::{COMPRESS_ENTRIES, HEADER_LEN, Header, MessageBuilder, TruncationError};
use crate::types::Rtype;

/// Largest message a block is rendered in: every offset in it, shifted by
/// a QNAME of up to 255 bytes, stays a valid compression target (below
/// 0x4000).
const RENDER_LIMIT: usize = 0x3000;

/// Records as a [`MessageBuilder`] wrote them after a question whose QNAME
/// was a zone's apex, to be copied into responses to queries for names at
/// or below that apex ([`MessageBuilder::push_prerendered`]). One
/// allocation holds the records and what is needed to place them, back to
/// back (see the fields): one zone keeps a few of these, so their size is
/// per zone, not per name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prerendered {
    /// The records, as written (`len` bytes); then where each compression
    /// pointer in them starts (`pointers` little-endian `u16`s); then the
    /// compression-table entries the records added (`names` entries of
    /// three bytes: the offset in the records of a name or suffix written
    /// out, little-endian, and its uncompressed length); then `children`,
    /// the rest: for each name the records write as labels in front of a
    /// pointer to the whole apex, the last of those labels (length byte
    /// first, lower-cased), back to back. A QNAME whose label just above
    /// the apex is one of them shares more than the apex with that name.
    data: Box<[u8]>,
    /// The records' length.
    len: u16,
    /// How many pointers.
    pointers: u8,
    /// How many compression entries.
    names: u8,
    /// Records per section: answer, authority, additional.
    counts: [u16; 3],
    /// The length of the apex, in wire form.
    apex_len: u8,
    /// Whether every name in the records is a single pointer into the
    /// question and the records add no compression entries: then they
    /// compress the same way after any records, not only right after the
    /// question.
    pub(super) anywhere: bool,
}

impl Prerendered {
    /// Runs `write` on a builder holding a question for `apex`
    /// (lower-cased wire) and keeps what it wrote. `None` when `write`
    /// fails, writes nothing, or writes more than a block may hold; when
    /// the apex is the root (names there compress against nothing, so no
    /// pointer tells where a QNAME's labels could match); or when the
    /// records fill the compression table.
    pub fn render(
        apex: &[u8],
        write: impl FnOnce(&mut MessageBuilder<'_>) -> Result<(), TruncationError>,
    ) -> Option<Prerendered> {
        if apex.len() <= 1 || apex.len() > crate::MAX_NAME_LEN {
            return None;
        }
        let mut question = Vec::with_capacity(apex.len() + 4);
        question.extend_from_slice(apex);
        question.extend_from_slice(&[0, 1, 0, 1]);
        let header = Header {
            id: 0,
            flags: 0,
            qdcount: 1,
            ancount: 0,
            nscount: 0,
            arcount: 0,
        };
        let mut buf = vec![0u8; RENDER_LIMIT];
        let mut b = MessageBuilder::new(&mut buf, &header, &question, RENDER_LIMIT).ok()?;
        if !b.qname_whole {
            return None;
        }
        let start = b.len;
        let entries = b.comp_n;
        write(&mut b).ok()?;
        if b.len == start || b.comp_n >= COMPRESS_ENTRIES {
            return None;
        }
        let records = &b.buf[start..b.len];
        let scan = scan(records, start)?;
        let names = b.comp_n - entries;
        let mut data = Vec::with_capacity(
            records.len() + 2 * scan.pointers.len() + 3 * names + scan.children.len(),
        );
        data.extend_from_slice(records);
        for p in &scan.pointers {
            data.extend_from_slice(&p.to_le_bytes());
        }
        for (&off, &len) in b.comp_off[entries..b.comp_n]
            .iter()
            .zip(&b.comp_len[entries..b.comp_n])
        {
            data.extend_from_slice(&(off - start as u16).to_le_bytes());
            data.push(len);
        }
        data.extend_from_slice(&scan.children);
        Some(Prerendered {
            data: data.into(),
            len: u16::try_from(records.len()).ok()?,
            pointers: u8::try_from(scan.pointers.len()).ok()?,
            names: names as u8,
            counts: b.counts,
            apex_len: apex.len() as u8,
            anywhere: scan.whole && names == 0,
        })
    }

    /// The records' length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no records (never, for a rendered block).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes the block allocates (its struct aside).
    pub fn heap_size(&self) -> usize {
        self.data.len()
    }

    /// The records, the pointers' positions, the compression entries and
    /// the children (see `data`).
    #[inline]
    fn parts(&self) -> (&[u8], &[u8], &[u8], &[u8]) {
        let (records, rest) = self.data.split_at(self.len().min(self.data.len()));
        let (pointers, rest) = rest.split_at((2 * usize::from(self.pointers)).min(rest.len()));
        let (names, children) = rest.split_at((3 * usize::from(self.names)).min(rest.len()));
        (records, pointers, names, children)
    }
}

/// What [`scan`] found in a block of records.
struct Scan {
    /// Where each pointer starts, in the block.
    pointers: Vec<u16>,
    /// See [`Prerendered::children`].
    children: Vec<u8>,
    /// Whether every name is a single pointer below `start`.
    whole: bool,
}

/// Finds the names in `bytes`, records written by the builder starting at
/// offset `start` of a message whose question is a zone's apex: every
/// owner, and the RDATA names of the types the builder compresses.
fn scan(bytes: &[u8], start: usize) -> Option<Scan> {
    let mut found = Scan {
        pointers: Vec::new(),
        children: Vec::new(),
        whole: true,
    };
    let mut pos = 0;
    while pos < bytes.len() {
        pos = name(bytes, pos, start, &mut found)?;
        let fixed = bytes.get(pos..pos + 10)?;
        let rtype = Rtype(u16::from_be_bytes([fixed[0], fixed[1]]));
        let rdata = pos + 10;
        let end = rdata + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        match rtype {
            Rtype::NS | Rtype::CNAME | Rtype::PTR => {
                name(bytes, rdata, start, &mut found)?;
            }
            Rtype::MX => {
                name(bytes, rdata + 2, start, &mut found)?;
            }
            Rtype::SOA | Rtype::MINFO => {
                let second = name(bytes, rdata, start, &mut found)?;
                name(bytes, second, start, &mut found)?;
            }
            _ => {}
        }
        pos = end;
    }
    (pos == bytes.len()).then_some(found)
}

/// Reads the name at `pos` of `bytes` (see [`scan`]) into `found`;
/// returns where it ends.
fn name(bytes: &[u8], mut pos: usize, start: usize, found: &mut Scan) -> Option<usize> {
    let mut last_label = None;
    loop {
        let len = *bytes.get(pos)?;
        match len {
            0 => {
                found.whole = false;
                return Some(pos + 1);
            }
            1..=63 => {
                last_label = Some(pos);
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let target = usize::from(u16::from_be_bytes([len, *bytes.get(pos + 1)?]) & 0x3fff);
                found.pointers.push(u16::try_from(pos).ok()?);
                if target >= start || last_label.is_some() {
                    found.whole = false;
                }
                if target == HEADER_LEN
                    && let Some(at) = last_label
                {
                    let label = bytes.get(at..at + 1 + usize::from(bytes[at]))?;
                    found
                        .children
                        .extend(label.iter().map(u8::to_ascii_lowercase));
                }
                return Some(pos + 2);
            }
            _ => return None,
        }
    }
}

impl MessageBuilder<'_> {
    /// Copies `block` into the message when that writes exactly what the
    /// builder would write for the records it was rendered from (see the
    /// module's notes); returns whether it did. The QNAME must end with
    /// the apex the block was rendered for (ASCII case aside). When it
    /// returns `false` nothing was written: the records do not fit, or
    /// they would compress differently here; the caller writes them.
    pub fn push_prerendered(&mut self, block: &Prerendered) -> bool {
        let apex_len = usize::from(block.apex_len);
        let Some(shift) = self.question_end.checked_sub(HEADER_LEN + 4 + apex_len) else {
            return false;
        };
        let (records, pointers, names, children) = block.parts();
        let here = self.len;
        let end = here + records.len();
        if end > self.limit
            || !self.qname_whole
            || self.comp_n + usize::from(block.names) > COMPRESS_ENTRIES
            || !(block.anywhere || here == self.question_end && !self.shares_child(children, shift))
        {
            return false;
        }
        let out = &mut self.buf[here..end];
        out.copy_from_slice(records);
        for p in pointers.chunks_exact(2) {
            let p = usize::from(u16::from_le_bytes([p[0], p[1]]));
            if let Some(ptr) = out.get_mut(p..p + 2) {
                let moved = u16::from_be_bytes([ptr[0], ptr[1]]) + shift as u16;
                ptr.copy_from_slice(&moved.to_be_bytes());
            }
        }
        for name in names.chunks_exact(3) {
            self.comp_off[self.comp_n] = here as u16 + u16::from_le_bytes([name[0], name[1]]);
            self.comp_len[self.comp_n] = name[2];
            self.comp_n += 1;
        }
        for (count, add) in self.counts.iter_mut().zip(block.counts) {
            *count += add;
        }
        self.len = end;
        true
    }

    /// Whether the QNAME's label just above the apex (which starts
    /// `shift` bytes into it) is one of `children` (see `Prerendered`).
    fn shares_child(&self, children: &[u8], shift: usize) -> bool {
        if children.is_empty() || shift == 0 {
            return false;
        }
        let apex_at = HEADER_LEN + shift;
        let mut p = HEADER_LEN;
        let mut child = None;
        while p < apex_at {
            let next = p + 1 + usize::from(self.buf[p]);
            if next == apex_at {
                child = Some(&self.buf[p..next]);
            }
            p = next;
        }
        let Some(child) = child else {
            return true; // Not a name ending with the apex: never copied.
        };
        let mut rest = children;
        while let Some(&len) = rest.first() {
            let (label, after) = rest.split_at((1 + usize::from(len)).min(rest.len()));
            if label.eq_ignore_ascii_case(child) {
                return true;
            }
            rest = after;
        }
        false
    }
}
