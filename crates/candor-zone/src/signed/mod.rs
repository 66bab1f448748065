//! What a signed zone carries besides its records (DNSSEC, docs/dnssec.md
//! "How answers carry signatures"): every RRSIG sits in the data arena
//! right after the tails of the RRset it covers (`RrSet::sig_len` bytes),
//! NSEC records are ordinary RRsets, and [`SignedParts`] holds the NSEC
//! chain in canonical order so a negative answer finds its covering NSEC
//! by binary search. An unsigned zone has no `SignedParts` and no RRSIG
//! bytes: it pays one pointer and nothing on any path.

use std::cmp::Ordering;

use candor_wire::Rtype;

use crate::zone::{NodeId, Zone};

/// The most bytes a [`canonical_key`] takes: every byte of a 255-byte
/// name escaped.
pub const MAX_KEY_LEN: usize = 2 * candor_wire::MAX_NAME_LEN;

/// Writes into `out` a key whose byte order is the canonical order of
/// lower-cased wire names (RFC 4034 §6.1), and returns its length: the
/// labels from the root down, each ended by a 0 byte, with the bytes 0 and
/// 1 inside a label written as `1 1` and `1 2` so that a label's end sorts
/// before anything that continues it. `None` if `name` is not a wire name.
pub fn canonical_key(name: &[u8], out: &mut [u8; MAX_KEY_LEN]) -> Option<usize> {
    let mut starts = [0u8; 128];
    let mut count = 0;
    let mut pos = 0usize;
    loop {
        let len = usize::from(*name.get(pos)?);
        if len == 0 {
            break;
        }
        *starts.get_mut(count)? = u8::try_from(pos).ok()?;
        count += 1;
        pos += 1 + len;
    }
    key_of_labels(name, &starts[..count], out)
}

/// Names as [`canonical_key`]s, back to back: the search a negative answer
/// makes, with one key built for the query name, nothing allocated.
///
/// Every name of a zone's chain starts with the apex's key (the first
/// entry), so the search skips it: `heads[i]` is the next 8 bytes of key
/// `i` (zero-padded, big-endian), and a query's key is placed among them
/// by comparing `u64`s in one dense array (8 bytes per name: 8 MB for a
/// million names) before any `memcmp`, which only runs among the entries
/// that share those 8 bytes, bounded first by where each first byte starts
/// (`buckets`) and searched in every 8th head (`upper`) before one cache
/// line of heads. A name below the apex is placed from its labels below
/// it, with no key built unless a head ties. Measured in docs/dnssec.md,
/// "Denial at the cost of an unsigned answer".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// The keys, back to back.
    keys: Vec<u8>,
    /// Where each key ends in `keys`.
    ends: Vec<u32>,
    /// How many leading bytes every key shares with the first (the apex's
    /// key); 0 when the chain has no index.
    skip: usize,
    /// The 8 bytes of each key after `skip`, as a big-endian number, one
    /// per entry; `None` without an index.
    heads: Option<Vec<u64>>,
    /// The 8 bytes of each key after its head's (zero-padded), one per
    /// entry when `heads` is built (else empty): among entries whose heads
    /// tie with a name's (names that share their first 8 bytes below the
    /// apex with the name asked, which a flood can choose), these decide
    /// in one or two cache lines what the keys decided by a binary search
    /// reading two cold lines a step (docs/dnssec.md, "Ties decided by the
    /// next 8 bytes"). 8 bytes a name.
    seconds: Vec<u64>,
    /// `buckets[b]` is the first entry whose head's top byte is at least
    /// `b` (257 entries, 1 KiB; empty when not built): where a head's
    /// search starts and ends, so a name whose first byte no entry shares
    /// costs one look (the common case for a flood's random labels).
    buckets: Vec<u32>,
    /// The levels above the heads, a static B-tree of cache lines (empty
    /// when not built): `upper[0]` holds every [`UPPER`]-th head, each
    /// level above every [`UPPER`]-th entry of the one below, up to a
    /// level of one line. A search reads one line per level, top down,
    /// each picked by the line above (5 lines for 100,000 names, then one
    /// look at the heads), where a binary search over every 8th head read
    /// 14 entries, each a load waiting on the one before: under a flood
    /// the kernel's work between batches evicts them, and those loads
    /// were the largest part of a signed denial's cost (docs/dnssec.md,
    /// "The proof beside the chain, and a B-tree above the heads"). About
    /// a seventh of the heads' size.
    upper: Vec<Level>,
    /// The lower-cased wire name whose key is the skipped prefix (the
    /// apex), built with `buckets` (empty without them): a name that ends
    /// with it is searched from its labels below it, without building
    /// its key unless a head ties.
    apex: Vec<u8>,
}

/// The bytes of the key buffer a search clears for a name whose labels
/// below the apex take at most half of them.
const SMALL_KEY: usize = 64;

/// How many heads one entry of [`Chain`]'s upper level stands for: the
/// heads one 64-byte cache line holds.
const UPPER: usize = 8;

/// Buckets of at most this many heads (four lines) are searched directly,
/// not through [`Chain::upper`].
const SMALL_BUCKET: usize = 4 * UPPER;

/// [`UPPER`] entries of a level above the heads, aligned to one cache
/// line; a level's last line is padded with `u64::MAX`, which is below no
/// head, so counting the entries below a head counts no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
struct Line([u64; UPPER]);

/// One level of [`Chain::upper`]: its entries in lines, and how many.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Level {
    /// The entries, [`UPPER`] to a line.
    lines: Vec<Line>,
    /// How many entries (the last line may be part padding).
    len: usize,
}

impl Level {
    /// Every [`UPPER`]-th of `below`.
    fn every_upper(below: impl Iterator<Item = u64>) -> Level {
        let mut level = Level::default();
        for (i, x) in below.step_by(UPPER).enumerate() {
            if i % UPPER == 0 {
                level.lines.push(Line([u64::MAX; UPPER]));
            }
            if let Some(line) = level.lines.last_mut() {
                line.0[i % UPPER] = x;
            }
            level.len = i + 1;
        }
        level
    }

    /// The entries, in order.
    fn entries(&self) -> impl Iterator<Item = u64> + '_ {
        self.lines.iter().flat_map(|l| l.0).take(self.len)
    }

    /// How many entries are below `h`, given `above`, how many entries of
    /// the level above (every [`UPPER`]-th of these) are (0 for the top
    /// level, which is one line): one line read.
    #[inline(always)]
    fn below(&self, above: Option<usize>, h: u64) -> usize {
        let line = match above {
            None => 0,
            Some(0) => return 0,
            Some(p) => p - 1,
        };
        match self.lines.get(line) {
            Some(l) => UPPER * line + l.0.iter().filter(|&&x| x < h).count(),
            None => self.len,
        }
    }
}

/// The first 8 bytes of `rest` (zero-padded) as a big-endian number: a
/// smaller head means a smaller key, an equal head decides nothing.
#[inline]
fn head(rest: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = rest.len().min(8);
    b[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(b)
}

/// The [`head`] of the bytes after `rest`'s first 8: between keys with
/// equal heads, a smaller second means a smaller key (a key never holds
/// two 0 bytes in a row, so the zero padding of one that ends sorts as
/// its end does), an equal one decides nothing.
#[inline]
fn second(rest: &[u8]) -> u64 {
    head(rest.get(8..).unwrap_or(&[]))
}

impl Chain {
    /// The chain of `sorted` (lower-cased wire names in canonical order).
    /// Names that are not wire names are left out (a compiled zone has
    /// none).
    pub fn new(sorted: &[&[u8]]) -> Chain {
        let mut buf = [0u8; MAX_KEY_LEN];
        let mut c = Chain::default();
        for name in sorted {
            if let Some(len) = canonical_key(name, &mut buf) {
                c.keys.extend_from_slice(&buf[..len]);
                c.ends.push(c.keys.len() as u32);
            }
        }
        c.index();
        c
    }

    /// Builds the search index (`skip`, `heads`) over the keys: the
    /// prefix skipped is the first key when every key starts with it
    /// (a zone's apex), else nothing.
    pub(crate) fn index(&mut self) {
        self.skip = 0;
        self.heads = None;
        self.seconds = Vec::new();
        if self.is_empty() {
            return;
        }
        let first = self.key(0);
        let skip = if (0..self.len()).all(|i| self.key(i).starts_with(first)) {
            first.len()
        } else {
            0
        };
        self.skip = skip;
        let (heads, seconds) = (0..self.len())
            .map(|i| {
                let rest = &self.key(i)[skip..];
                (head(rest), second(rest))
            })
            .unzip();
        self.seconds = seconds;
        self.heads = Some(heads);
        self.bucket();
    }

    /// Builds `buckets` (257 binary searches), `upper` and `apex` from the
    /// heads.
    pub(crate) fn bucket(&mut self) {
        self.apex = match &self.heads {
            Some(_) if self.skip > 0 => wire_of_key(&self.keys[..self.skip]).unwrap_or_default(),
            _ => Vec::new(),
        };
        (self.buckets, self.upper) = match &self.heads {
            Some(heads) => (
                (0..=256u64)
                    .map(|b| heads.partition_point(|&x| x >> 56 < b) as u32)
                    .collect(),
                {
                    let mut levels = vec![Level::every_upper(heads.iter().copied())];
                    while let Some(top) = levels.last()
                        && top.len > UPPER
                    {
                        let next = Level::every_upper(top.entries());
                        levels.push(next);
                    }
                    levels
                },
            ),
            None => (Vec::new(), Vec::new()),
        };
    }

    /// An empty chain with room for `bytes` of keys and `entries` keys,
    /// indexed as `like` is (so that keys taken from it keep their heads).
    pub(crate) fn with_capacity(like: &Chain, bytes: usize, entries: usize) -> Chain {
        Chain {
            keys: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(entries),
            skip: like.skip,
            heads: like.heads.as_ref().map(|_| Vec::with_capacity(entries)),
            seconds: Vec::with_capacity(if like.heads.is_some() { entries } else { 0 }),
            buckets: Vec::new(),
            upper: Vec::new(),
            apex: Vec::new(),
        }
    }

    /// How many bytes the keys take.
    pub(crate) fn key_bytes(&self) -> usize {
        self.keys.len()
    }

    /// How many names the chain holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends a key (the caller keeps canonical order).
    pub(crate) fn push_key(&mut self, key: &[u8]) {
        // A key that does not share the skipped prefix (never one of the
        // zone's names) drops the index: the search then compares keys.
        self.buckets = Vec::new();
        self.upper = Vec::new();
        self.apex = Vec::new();
        let shares =
            self.skip <= key.len() && (self.is_empty() || key.starts_with(&self.keys[..self.skip]));
        match &mut self.heads {
            Some(heads) if shares => {
                heads.push(head(&key[self.skip..]));
                self.seconds.push(second(&key[self.skip..]));
            }
            _ => (self.heads, self.seconds) = (None, Vec::new()),
        }
        self.keys.extend_from_slice(key);
        self.ends.push(self.keys.len() as u32);
    }

    /// Appends `other`'s entries `range` (the caller keeps canonical
    /// order): one copy of their keys and one pass over their ends, which
    /// is what makes a patch's new chain cheap next to pushing every key.
    pub(crate) fn extend_from(&mut self, other: &Chain, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let start = if range.start == 0 {
            0
        } else {
            other.ends[range.start - 1] as usize
        };
        let end = other.ends[range.end - 1] as usize;
        let shift = self.keys.len() as i64 - start as i64;
        self.buckets = Vec::new();
        self.upper = Vec::new();
        self.apex = Vec::new();
        match (&mut self.heads, &other.heads) {
            (Some(heads), Some(theirs)) if other.skip == self.skip => {
                heads.extend_from_slice(&theirs[range.clone()]);
                match other.seconds.get(range.clone()) {
                    Some(seconds) => self.seconds.extend_from_slice(seconds),
                    // Not kept with the heads: the keys decide ties.
                    None => self.seconds = Vec::new(),
                }
            }
            _ => (self.heads, self.seconds) = (None, Vec::new()),
        }
        self.keys.extend_from_slice(&other.keys[start..end]);
        self.ends.extend(
            other.ends[range]
                .iter()
                .map(|&e| (i64::from(e) + shift) as u32),
        );
    }

    /// Where `key` (a [`canonical_key`]) is: `Ok(i)` if it is entry `i`,
    /// `Err(i)` if it would go before entry `i`.
    pub(crate) fn search_key(&self, key: &[u8]) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// The key of entry `i`.
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.keys[start..self.ends[i] as usize]
    }

    /// How many heads are below `h`, given that the answer is between
    /// `from` and `to` (its bucket's bounds): one line of each level of
    /// `upper` (when built), then a count over the at most `UPPER - 1`
    /// heads between the two upper entries it falls between. `near(start)` is
    /// told, before those heads are read, that the answer is `start` or
    /// one of the `UPPER - 1` after it.
    #[inline]
    fn lower_bound(
        &self,
        heads: &[u64],
        (from, to): (usize, usize),
        h: u64,
        near: impl Fn(usize),
    ) -> usize {
        if from == to {
            return from;
        }
        // A name sorting after every head of its bucket (or before every
        // one) is placed by one compare with the bucket's last (first)
        // head, which every such name reads, so it stays in cache: a
        // flood of a prefix the zone's names share and then random
        // letters is mostly such names.
        if heads[to - 1] < h {
            return to;
        }
        if h <= heads[from] {
            return from;
        }
        // A small bucket (a first byte few names share) is searched in
        // its own few lines, not from the top of the levels.
        if to - from <= SMALL_BUCKET
            || self.upper.first().map(|l| l.len) != Some(heads.len().div_ceil(UPPER))
        {
            return from + heads[from..to].partition_point(|&x| x < h);
        }
        // An entry of a level is below h exactly when the UPPER entries it
        // stands for start below h, so a level's count is the one below's
        // rounded up to a multiple of UPPER: given it, the count below is
        // in one line.
        let mut j = None;
        for level in self.upper.iter().rev() {
            j = Some(level.below(j, h));
        }
        let j = j.unwrap_or(0);
        if j == 0 {
            return 0;
        }
        let start = UPPER * j - (UPPER - 1);
        let end = (UPPER * j).min(heads.len());
        near(start);
        start + heads[start..end].iter().filter(|&&x| x < h).count()
    }

    /// [`Chain::covering`] for a name that ends with `apex` (`None` for
    /// any other): its key would be the skipped prefix and then its labels
    /// below the apex, so only those are read: the head from at most 8 of
    /// their bytes, and their key (`rest`) built only when a head ties,
    /// to compare with the keys' bytes after the prefix.
    fn covering_below_apex(&self, heads: &[u64], name: &[u8]) -> Option<Result<usize, usize>> {
        let below = name.len().checked_sub(self.apex.len())?;
        if name[below..] != self.apex[..] {
            return None;
        }
        self.covering_labels(heads, name, below, |_| {})
    }

    /// [`Chain::covering_below_apex`] once the apex is known to start at
    /// `below`: `None` when `below` is not where a label starts.
    #[inline(always)]
    fn covering_labels(
        &self,
        heads: &[u64],
        name: &[u8],
        below: usize,
        near: impl Fn(usize),
    ) -> Option<Result<usize, usize>> {
        let mut buf: [u8; 128];
        let starts: &[u8] = if below > 0 && 1 + usize::from(name[0]) == below {
            // One label below the apex (a flood's name): no walk, and no
            // buffer to clear.
            &[0]
        } else {
            buf = [0u8; 128];
            label_starts(name, below, &mut buf)?
        };
        let h = head_of_labels(name, starts);
        let (from, to) = self.bucket_of(heads, h);
        let lo = self.lower_bound(heads, (from, to), h, near);
        if heads.get(lo) == Some(&h) {
            let hi = equal_run(heads, lo, to, h);
            return self.among_ties(name, starts, below, lo, hi);
        }
        Some(self.covered_at(lo))
    }

    /// Where a search over the heads for head `h` starts and ends: the
    /// entries whose heads share its first byte.
    #[inline(always)]
    fn bucket_of(&self, heads: &[u64], h: u64) -> (usize, usize) {
        let top = (h >> 56) as usize;
        match (self.buckets.get(top), self.buckets.get(top + 1)) {
            (Some(&from), Some(&to)) => (from as usize, to as usize),
            _ => (0, heads.len()),
        }
    }

    /// The entry that is or covers the name with labels `starts` of
    /// `name` below the apex (at `below`), whose head equals the heads of
    /// entries `lo..hi`: their keys decide, compared with the name's
    /// (built here, a tie being rare).
    fn among_ties(
        &self,
        name: &[u8],
        starts: &[u8],
        below: usize,
        mut lo: usize,
        mut hi: usize,
    ) -> Option<Result<usize, usize>> {
        // A key takes at most twice the bytes of the labels: a short
        // name's fits in a buffer that costs less to clear.
        let (mut small, mut large);
        let buf: &mut [u8] = if 2 * below <= SMALL_KEY {
            small = [0u8; SMALL_KEY];
            &mut small
        } else {
            large = [0u8; MAX_KEY_LEN];
            &mut large
        };
        let len = key_of_labels(name, starts, buf)?;
        let rest = &buf[..len];
        match self.among_seconds(lo, hi, second(rest)) {
            Ok(run) => (lo, hi) = run,
            Err(at) => return Some(self.covered_at(at)),
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).get(self.skip..)?.cmp(rest) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(Ok(mid)),
            }
        }
        Some(self.covered_at(lo))
    }

    /// Narrows the entries `lo..hi`, whose heads tie with a name's, by
    /// the name's [`second`] `s`: `Ok(run)` of those whose seconds tie too
    /// (their keys decide), or `Err(at)` when the name sorts before entry
    /// `at` and after every entry before it. The whole run when the
    /// seconds are not built.
    #[inline]
    fn among_seconds(&self, lo: usize, hi: usize, s: u64) -> Result<(usize, usize), usize> {
        let built = self.heads.as_ref().map(Vec::len) == Some(self.seconds.len());
        let Some(seconds) = self.seconds.get(lo..hi).filter(|_| built && hi - lo > 1) else {
            return Ok((lo, hi));
        };
        let at = lo + seconds.partition_point(|&x| x < s);
        if at == hi || seconds[at - lo] != s {
            return Err(at);
        }
        Ok((at, equal_run(&self.seconds, at, hi, s)))
    }

    /// The entry covering a name that sorts before entry `lo` and after
    /// the one before it (the last entry, whose NSEC wraps around, when
    /// `lo` is 0).
    #[inline(always)]
    fn covered_at(&self, lo: usize) -> Result<usize, usize> {
        match lo {
            0 => Err(self.len().saturating_sub(1)),
            i => Err(i - 1),
        }
    }

    /// [`Chain::covering`] for a name whose last `name.len() - below`
    /// bytes are the chain's apex and start a label, which the caller
    /// knows (it chose the zone by that suffix), so they are not compared
    /// again. A wrong `below` gives a wrong entry, never a panic.
    pub fn covering_below(&self, name: &[u8], below: usize) -> Result<usize, usize> {
        self.covering_below_near(name, below, |_| {})
    }

    /// [`Chain::covering_below`], telling `near(start)` as soon as the
    /// search knows the answer is one of the [`UPPER`] entries from
    /// `start - 1` (so that their data can start loading while it reads
    /// the heads that decide which). Not told when the answer needs no
    /// such step.
    #[inline]
    pub(crate) fn covering_below_near(
        &self,
        name: &[u8],
        below: usize,
        near: impl Fn(usize),
    ) -> Result<usize, usize> {
        if let Some(heads) = &self.heads
            && !self.apex.is_empty()
            && name.len().checked_sub(below) == Some(self.apex.len())
            && let Some(found) = self.covering_labels(heads, name, below, near)
        {
            return found;
        }
        self.covering(name)
    }

    /// Where `name` falls in the chain: `Ok(i)` if it is entry `i`,
    /// `Err(i)` if entry `i`'s NSEC covers it (the last entry before it;
    /// the last entry when it sorts after every one, or before the first,
    /// whose NSEC wraps around). `Err(0)` for an empty chain.
    pub fn covering(&self, name: &[u8]) -> Result<usize, usize> {
        if let Some(heads) = &self.heads
            && !self.apex.is_empty()
            && let Some(found) = self.covering_below_apex(heads, name)
        {
            return found;
        }
        let mut buf = [0u8; MAX_KEY_LEN];
        let Some(len) = canonical_key(name, &mut buf) else {
            return Err(self.len().saturating_sub(1));
        };
        let key = &buf[..len];
        let (mut lo, mut hi) = (0usize, self.len());
        if let Some(heads) = &self.heads
            && key.get(..self.skip) == self.keys.get(..self.skip)
        {
            // Narrow to the entries whose heads equal the key's; the rest
            // are decided by the heads alone.
            let h = head(&key[self.skip..]);
            let (from, to) = self.bucket_of(heads, h);
            lo = self.lower_bound(heads, (from, to), h, |_| {});
            hi = lo;
            // Usually no entry shares the head: one look says so.
            if heads.get(lo) == Some(&h) {
                hi = equal_run(heads, lo, to, h);
                match self.among_seconds(lo, hi, second(&key[self.skip..])) {
                    Ok(run) => (lo, hi) = run,
                    Err(at) => return self.covered_at(at),
                }
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        self.covered_at(lo)
    }
}

/// Where the NSEC proof of one chain entry is (its owner, the NSEC
/// tails and the RRSIGs after them), so that a denial writes it from one
/// 20-byte entry instead of reading the entry's node and then its RRset
/// descriptors: under a flood of names next to the zone's own, each of
/// those is a cache miss (docs/dnssec.md, "The proof beside the chain,
/// and a B-tree above the heads").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProofAt {
    /// The entry's node (kept here rather than in an array of its own:
    /// the answer reads both, and this way one cache line has both).
    pub(crate) node: NodeId,
    /// Offset of the NSEC tails in the zone's data arena (a patched
    /// zone's offsets go on into its overlay's); the RRSIGs follow them.
    pub(crate) data_off: u32,
    /// Offset of the owner in the names arena (likewise).
    pub(crate) name_off: u32,
    /// Length of the NSEC tails; 0 when they do not fit in 16 bits (or
    /// the entry has no NSEC): then the answer reads the node.
    pub(crate) nsec_len: u16,
    /// Length of the RRSIG tails.
    pub(crate) sig_len: u16,
    /// Length of the owner.
    pub(crate) name_len: u8,
    /// NSEC records in the tails (1 in a zone Candor signed).
    pub(crate) nsec_count: u8,
    /// RRSIG records after them (one per zone-signing key).
    pub(crate) sig_count: u8,
}

impl ProofAt {
    /// The proof of node `node`, named at `name_off` (`name_len` bytes),
    /// whose NSEC RRset is `nsec`, with the RRSIG tails `sigs`.
    pub(crate) fn new(
        node: NodeId,
        (name_off, name_len): (u32, u8),
        nsec: Option<&crate::RrSet>,
        sigs: &[u8],
    ) -> ProofAt {
        let fitted = nsec.and_then(|set| {
            Some((
                set,
                u16::try_from(set.data_len).ok().filter(|&len| len > 0)?,
                u8::try_from(set.count).ok()?,
                u8::try_from(crate::zone::tail_count(sigs)).ok()?,
            ))
        });
        match fitted {
            Some((set, nsec_len, nsec_count, sig_count)) => ProofAt {
                node,
                data_off: set.data_off,
                name_off,
                nsec_len,
                sig_len: set.sig_len,
                name_len,
                nsec_count,
                sig_count,
            },
            None => ProofAt {
                node,
                ..ProofAt::default()
            },
        }
    }

    /// The proof of compiled node `id` of `zone`.
    fn of(zone: &Zone, id: NodeId) -> ProofAt {
        let node = &zone.nodes[id as usize];
        let nsec = zone.rrset(zone.node(id), Rtype::NSEC);
        let sigs = nsec.map_or(&[][..], |s| zone.sig_tails(s));
        ProofAt::new(id, (node.name_off, node.name_len), nsec, sigs)
    }
}

/// One chain entry's NSEC proof, as a denial writes it: found by
/// [`Zone::chain_proof`] without the entry's node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainProof<'z> {
    /// The owner (lower-cased wire).
    pub name: &'z [u8],
    /// The NSEC RRset's tails.
    pub nsec: &'z [u8],
    /// How many records `nsec` holds.
    pub nsec_count: u16,
    /// The tails of the RRSIGs over it.
    pub sigs: &'z [u8],
    /// How many records `sigs` holds.
    pub sig_count: u16,
}

/// The parts of a signed zone that only DO=1 negative answers read: the
/// NSEC chain (every node with an NSEC RRset, in canonical order) and the
/// node of each entry.
#[derive(Clone, Debug, Default)]
pub struct SignedParts {
    /// The chain's names as search keys.
    pub(crate) chain: Chain,
    /// `proofs[i]` is entry `i`'s node and where its NSEC and RRSIGs are.
    pub(crate) proofs: Vec<ProofAt>,
    /// The node whose NSEC covers (or is) `*.<apex>`: the wildcard half
    /// of every NXDOMAIN proof whose closest encloser is the apex (a
    /// random-subdomain flood's), found once per version instead of by a
    /// search per query.
    pub(crate) apex_wildcard: NodeId,
}

impl SignedParts {
    /// The chain of a compiled zone: its nodes with an NSEC RRset, sorted
    /// canonically; `None` when no node has one (an unsigned zone).
    pub(crate) fn of(zone: &Zone) -> Option<Box<SignedParts>> {
        let mut buf = [0u8; MAX_KEY_LEN];
        let mut keyed: Vec<(Vec<u8>, NodeId)> = Vec::new();
        for id in 0..zone.node_count() as NodeId {
            if zone.rrset(zone.node(id), Rtype::NSEC).is_some()
                && let Some(len) = canonical_key(zone.name_bytes(id), &mut buf)
            {
                keyed.push((buf[..len].to_vec(), id));
            }
        }
        if keyed.is_empty() {
            return None;
        }
        keyed.sort_unstable();
        let mut chain = Chain::default();
        let mut proofs = Vec::with_capacity(keyed.len());
        for (key, id) in keyed {
            chain.keys.extend_from_slice(&key);
            chain.ends.push(chain.keys.len() as u32);
            proofs.push(ProofAt::of(zone, id));
        }
        chain.index();
        Some(Box::new(SignedParts::new(
            chain,
            proofs,
            zone.apex().as_wire(),
        )))
    }

    /// The parts of `chain` (whose entry `i` is `proofs[i]`'s node) for
    /// the zone at `apex` (lower-cased wire).
    pub(crate) fn new(chain: Chain, proofs: Vec<ProofAt>, apex: &[u8]) -> SignedParts {
        let mut chain = chain;
        chain.bucket();
        let mut parts = SignedParts {
            chain,
            proofs,
            apex_wildcard: 0,
        };
        let mut wild = [0u8; candor_wire::MAX_NAME_LEN + 2];
        if let Some(name) = wild.get_mut(..apex.len() + 2) {
            name[0] = 1;
            name[1] = b'*';
            name[2..].copy_from_slice(apex);
            parts.apex_wildcard = match parts.covering(name) {
                Ok(id) | Err(id) => id,
            };
        }
        parts
    }

    /// [`Chain::covering_below`]: the chain entry (not its node) that is
    /// or covers `name`, whose apex starts `below` bytes into it. Its
    /// node is [`SignedParts::node_at`], its proof [`Zone::chain_proof`].
    /// The entries the search narrows to start loading before it picks
    /// one: the entry is then in cache when the answer reads it.
    #[inline]
    pub fn entry_below(&self, name: &[u8], below: usize) -> Result<usize, usize> {
        self.chain
            .covering_below_near(name, below, |start| self.prefetch_entries(start))
    }

    /// Starts loading the proof entries `start - 1` to `start + UPPER - 1`
    /// (those of the heads a search narrowed to and the one before).
    #[inline]
    fn prefetch_entries(&self, start: usize) {
        let first = start.saturating_sub(1);
        if let Some(p) = self.proofs.get(first) {
            let n = (UPPER + 1).min(self.proofs.len() - first);
            crate::prefetch_bytes((p as *const ProofAt).cast(), n * size_of::<ProofAt>());
        }
    }

    /// The node of chain entry `i` (the apex's for one past the end).
    #[inline]
    pub fn node_at(&self, i: usize) -> NodeId {
        self.proofs.get(i).map_or(0, |p| p.node)
    }

    /// The node whose NSEC covers (or is) the apex's wildcard name.
    pub fn apex_wildcard(&self) -> NodeId {
        self.apex_wildcard
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The node of each chain entry, in chain order (canonical order of
    /// their names): what the incremental signer walks to find a name's
    /// neighbours.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeId> + DoubleEndedIterator + '_ {
        self.proofs.iter().map(|p| p.node)
    }

    /// The node of the chain's last entry (whose NSEC wraps around).
    #[inline]
    pub fn last_node(&self) -> Option<NodeId> {
        self.proofs.last().map(|p| p.node)
    }

    /// How many entries the chain has.
    pub fn len(&self) -> usize {
        self.proofs.len()
    }

    /// Whether the chain is empty (never, for a zone's parts).
    pub fn is_empty(&self) -> bool {
        self.proofs.is_empty()
    }

    /// Where `name` (lower-cased wire) falls in the chain, as node ids:
    /// `Ok(node)` if a chain entry is that name, `Err(node)` for the node
    /// whose NSEC covers it.
    pub fn covering(&self, name: &[u8]) -> Result<NodeId, NodeId> {
        let node = |i: usize| self.node_at(i);
        match self.chain.covering(name) {
            Ok(i) => Ok(node(i)),
            Err(i) => Err(node(i)),
        }
    }
}

/// Where the labels of `name` above byte `below` (the apex) start, in
/// `buf`: `None` when `below` is not where a label starts.
#[inline(always)]
fn label_starts<'b>(name: &[u8], below: usize, buf: &'b mut [u8; 128]) -> Option<&'b [u8]> {
    let (mut count, mut pos) = (0, 0usize);
    while pos < below {
        *buf.get_mut(count)? = u8::try_from(pos).ok()?;
        count += 1;
        pos += 1 + usize::from(*name.get(pos)?);
    }
    if pos != below {
        return None; // The apex's bytes inside a label.
    }
    Some(&buf[..count])
}

/// The [`canonical_key`] of the labels of `name` that start at `starts`
/// (in name order; the key takes them in reverse), into `out`: the part
/// of a name's key after its apex's. Its length, or `None` if a label
/// runs past `name`.
fn key_of_labels(name: &[u8], starts: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for &start in starts.iter().rev() {
        let start = usize::from(start);
        let label = name.get(start + 1..start + 1 + usize::from(*name.get(start)?))?;
        if label.iter().all(|&b| b > 1) {
            // The usual label: copied whole (a loop over its bytes was
            // most of what a denial's search cost).
            out.get_mut(n..n + label.len())?.copy_from_slice(label);
            n += label.len();
        } else {
            for &b in label {
                if b <= 1 {
                    *out.get_mut(n)? = 1;
                    *out.get_mut(n + 1)? = b + 1;
                    n += 2;
                } else {
                    *out.get_mut(n)? = b;
                    n += 1;
                }
            }
        }
        *out.get_mut(n)? = 0;
        n += 1;
    }
    Some(n)
}

/// The [`head`] of [`key_of_labels`]: its first 8 bytes, read from the
/// labels without writing the key (one load for the usual label of 8
/// bytes or more below the apex).
#[inline]
fn head_of_labels(name: &[u8], starts: &[u8]) -> u64 {
    if let Some(&last) = starts.last() {
        let last = usize::from(last);
        if let Some(first8) = name.get(last + 1..last + 9)
            && usize::from(name[last]) >= 8
            && let Ok(b) = <[u8; 8]>::try_from(first8)
        {
            // No byte is 0 or 1 (which the key escapes) exactly when no
            // byte of `x` with its lowest bit cleared is zero.
            let x = u64::from_be_bytes(b);
            let y = x & 0xfefe_fefe_fefe_fefe;
            if y.wrapping_sub(0x0101_0101_0101_0101) & !y & 0x8080_8080_8080_8080 == 0 {
                return x;
            }
        }
    }
    let mut b = [0u8; 8];
    let mut n = 0;
    'labels: for &start in starts.iter().rev() {
        let start = usize::from(start);
        let len = usize::from(name.get(start).copied().unwrap_or(0));
        for &byte in name.get(start + 1..start + 1 + len).unwrap_or(&[]) {
            let escaped: &[u8] = match byte {
                0 => &[1, 1],
                1 => &[1, 2],
                _ => std::slice::from_ref(&byte),
            };
            for &e in escaped {
                if n == 8 {
                    break 'labels;
                }
                b[n] = e;
                n += 1;
            }
        }
        if n == 8 {
            break;
        }
        b[n] = 0;
        n += 1;
    }
    u64::from_be_bytes(b)
}

/// The wire name whose [`canonical_key`] is `key` (a key of a whole
/// name), or `None` if `key` is not one.
fn wire_of_key(key: &[u8]) -> Option<Vec<u8>> {
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label = Vec::new();
    let mut bytes = key.iter();
    while let Some(&b) = bytes.next() {
        match b {
            0 => labels.push(std::mem::take(&mut label)),
            1 => label.push(bytes.next()?.checked_sub(1)?),
            _ => label.push(b),
        }
    }
    if !label.is_empty() {
        return None;
    }
    let mut wire = Vec::with_capacity(key.len() + 1);
    for label in labels.iter().rev() {
        wire.push(
            u8::try_from(label.len())
                .ok()
                .filter(|&l| (1..=63).contains(&l))?,
        );
        wire.extend_from_slice(label);
    }
    wire.push(0);
    Some(wire)
}

/// The end of the run of heads equal to `h` that starts at `lo`
/// (`heads[lo] == h`), at most `to`: steps doubling from `lo` until one
/// leaves the run, then a binary search in the last step, so a short run
/// (the usual one) costs a look or two and a long one (names sharing 8
/// bytes after the apex) a logarithm of its length.
#[inline]
fn equal_run(heads: &[u64], lo: usize, to: usize, h: u64) -> usize {
    let to = to.min(heads.len());
    let (mut last, mut step) = (lo, 1);
    let end = loop {
        let i = lo + step;
        if i >= to || heads[i] != h {
            break i.min(to);
        }
        last = i;
        step *= 2;
    };
    last + 1 + heads[last + 1..end].partition_point(|&x| x == h)
}

//----------- Signatures while building --------------------------------------

/// One RRSIG record waiting to be placed after the RRset it covers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingSig {
    /// The owner's node.
    pub(crate) node: u32,
    /// The type covered (the RDATA's first two bytes).
    pub(crate) covered: u16,
    /// Offset of the RDATA in the builder's RDATA arena.
    pub(crate) rdata_off: u32,
    /// RDATA length.
    pub(crate) rdata_len: u16,
    /// TTL.
    pub(crate) ttl: u32,
    /// Line in its source (0 if unknown).
    pub(crate) line: u32,
    /// Index into the builder's source list.
    pub(crate) source: u16,
}

/// The RRSIG records of a zone being built, sorted by (node, type covered,
/// RDATA), consumed RRset by RRset as the builder writes them in (node,
/// type) order.
pub(crate) struct Signatures {
    /// The records.
    sigs: Vec<PendingSig>,
    /// The next one not placed yet.
    next: usize,
    /// Ones that cover no RRset of their node.
    orphans: Vec<PendingSig>,
}

impl Signatures {
    /// Signatures from `sigs`, in any order.
    pub(crate) fn new(mut sigs: Vec<PendingSig>, rdata: &[u8]) -> Signatures {
        let rd = |s: &PendingSig| {
            &rdata[s.rdata_off as usize..s.rdata_off as usize + usize::from(s.rdata_len)]
        };
        sigs.sort_unstable_by(|a, b| {
            (a.node, a.covered)
                .cmp(&(b.node, b.covered))
                .then_with(|| rd(a).cmp(rd(b)))
        });
        sigs.dedup_by(|b, a| a.node == b.node && a.covered == b.covered && rd(a) == rd(b));
        Signatures {
            sigs,
            next: 0,
            orphans: Vec::new(),
        }
    }

    /// Appends to `data` the tails of the RRSIGs over the RRset (`node`,
    /// `rtype`) just written, and returns how many bytes and records that
    /// took. RRsets must come in (node, type) order; signatures passed
    /// over on the way cover nothing and are kept as orphans.
    pub(crate) fn append(
        &mut self,
        node: u32,
        rtype: u16,
        rdata: &[u8],
        data: &mut Vec<u8>,
    ) -> (usize, usize) {
        while let Some(s) = self.sigs.get(self.next)
            && (s.node, s.covered) < (node, rtype)
        {
            self.orphans.push(*s);
            self.next += 1;
        }
        let start = data.len();
        let mut count = 0;
        while let Some(s) = self.sigs.get(self.next)
            && (s.node, s.covered) == (node, rtype)
        {
            data.extend_from_slice(&Rtype::RRSIG.0.to_be_bytes());
            data.extend_from_slice(&1u16.to_be_bytes());
            data.extend_from_slice(&s.ttl.to_be_bytes());
            data.extend_from_slice(&s.rdata_len.to_be_bytes());
            data.extend_from_slice(
                &rdata[s.rdata_off as usize..s.rdata_off as usize + usize::from(s.rdata_len)],
            );
            count += 1;
            self.next += 1;
        }
        (data.len() - start, count)
    }

    /// The signatures that covered no RRset of their node.
    pub(crate) fn orphans(mut self) -> Vec<PendingSig> {
        self.orphans.extend_from_slice(&self.sigs[self.next..]);
        self.orphans
    }
}

#[cfg(test)]
mod tests;
