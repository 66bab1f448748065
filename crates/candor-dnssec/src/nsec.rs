//! NSEC (RFC 4034 §4): type bitmaps, the chain over a zone's names in
//! canonical order, and finding the NSEC that covers a name.
//!
//! The chain is built once per zone version, so a negative answer costs a
//! binary search over the sorted names (about 17 comparisons for 100,000
//! names) and no signature, whatever name an attacker asks for. [`Chain`]
//! keeps the names as byte-comparable keys, so that search is `memcmp`
//! only; [`covering`] is the same search over wire names.

use std::cmp::Ordering;

use candor_wire::Rtype;
use candor_zone::canonical_name_cmp;

/// The type bitmap of an NSEC (or NSEC3) record (RFC 4034 §4.1.2): one
/// window block per 256 types in use, each as long as its highest set bit
/// needs. `types` may be in any order and hold duplicates.
pub fn type_bitmap(types: &[Rtype]) -> Vec<u8> {
    let mut sorted: Vec<u16> = types.iter().map(|t| t.0).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let window = (sorted[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut used = 0usize;
        while i < sorted.len() && (sorted[i] >> 8) as u8 == window {
            let low = usize::from(sorted[i] as u8);
            bits[low / 8] |= 0x80 >> (low % 8);
            used = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(used as u8);
        out.extend_from_slice(&bits[..used]);
    }
    out
}

/// The types a bitmap holds, in increasing order (the inverse of
/// [`type_bitmap`]); `None` if the bitmap is malformed.
pub fn bitmap_types(bitmap: &[u8]) -> Option<Vec<Rtype>> {
    let mut types = Vec::new();
    let mut rest = bitmap;
    let mut last_window: Option<u8> = None;
    while !rest.is_empty() {
        let (&window, &len) = (rest.first()?, rest.get(1)?);
        if len == 0 || len > 32 || last_window.is_some_and(|w| w >= window) {
            return None;
        }
        let bits = rest.get(2..2 + usize::from(len))?;
        for (byte, b) in bits.iter().enumerate() {
            for bit in 0..8 {
                if b & (0x80 >> bit) != 0 {
                    types.push(Rtype(u16::from(window) << 8 | (byte * 8 + bit) as u16));
                }
            }
        }
        last_window = Some(window);
        rest = &rest[2 + usize::from(len)..];
    }
    Some(types)
}

/// The NSEC RDATA: the next owner name (wire, uncompressed) and the type
/// bitmap.
pub fn nsec_rdata(next: &[u8], bitmap: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(next.len() + bitmap.len());
    out.extend_from_slice(next);
    out.extend_from_slice(bitmap);
    out
}

/// The NSEC RDATA of every name of a chain: `names[i]` (lower-cased wire
/// names in canonical order, the apex first) with the types at it
/// (`types[i]`, which should include NSEC and RRSIG) points at
/// `names[i + 1]`, and the last name back at the apex (RFC 4034 §4.1.1).
pub fn chain(names: &[&[u8]], types: &[Vec<Rtype>]) -> Vec<Vec<u8>> {
    names
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (_, t))| {
            let next = names.get(i + 1).or(names.first()).copied().unwrap_or(&[0]);
            nsec_rdata(next, &type_bitmap(t))
        })
        .collect()
}

/// Where `name` falls among `sorted` (lower-cased wire names in canonical
/// order, as [`chain`] takes them): `Ok(i)` if it is `sorted[i]`,
/// `Err(i)` if the NSEC of `sorted[i]` covers it (the last name before
/// it; `i` is the last index when `name` sorts after every name, whose
/// NSEC wraps around to the apex). A binary search: O(log n) name
/// comparisons, nothing allocated.
pub fn covering(sorted: &[&[u8]], name: &[u8]) -> Result<usize, usize> {
    match sorted.binary_search_by(|probe| canonical_name_cmp(probe, name)) {
        Ok(i) => Ok(i),
        // Everything in `zone` sorts after the apex, so `i` is at least 1
        // for a name in the zone; a name before the apex is covered by
        // the wrap-around NSEC of the last name.
        Err(0) => Err(sorted.len().saturating_sub(1)),
        Err(i) => Err(i - 1),
    }
}

/// Whether `name` lies strictly between `owner` and `next` in canonical
/// order, wrapping around the end of the chain (`next` at or before
/// `owner`): what a validator checks of a covering NSEC (RFC 4035 §5.4).
pub fn covers(owner: &[u8], next: &[u8], name: &[u8]) -> bool {
    let after_owner = canonical_name_cmp(owner, name) == Ordering::Less;
    let before_next = canonical_name_cmp(name, next) == Ordering::Less;
    if canonical_name_cmp(owner, next) == Ordering::Less {
        after_owner && before_next
    } else {
        after_owner || before_next
    }
}

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
    let mut n = 0;
    for &start in starts[..count].iter().rev() {
        let start = usize::from(start);
        let label = name.get(start + 1..start + 1 + usize::from(name[start]))?;
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
        *out.get_mut(n)? = 0;
        n += 1;
    }
    Some(n)
}

/// The chain's names as [`canonical_key`]s, back to back: the search a
/// negative answer makes, with one key built for the query name and
/// `memcmp` for every comparison, nothing allocated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// The keys, back to back.
    keys: Vec<u8>,
    /// Where each key ends in `keys`.
    ends: Vec<u32>,
}

impl Chain {
    /// The chain of `sorted` (lower-cased wire names in canonical order,
    /// as [`chain`] takes them). Names that are not wire names are left
    /// out (a compiled zone has none).
    pub fn new(sorted: &[&[u8]]) -> Chain {
        let mut buf = [0u8; MAX_KEY_LEN];
        let mut c = Chain::default();
        for name in sorted {
            if let Some(len) = canonical_key(name, &mut buf) {
                c.keys.extend_from_slice(&buf[..len]);
                c.ends.push(c.keys.len() as u32);
            }
        }
        c
    }

    /// How many names the chain holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The key of entry `i`.
    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.keys[start..self.ends[i] as usize]
    }

    /// Where `name` falls in the chain, as [`covering`] says it.
    pub fn covering(&self, name: &[u8]) -> Result<usize, usize> {
        let mut buf = [0u8; MAX_KEY_LEN];
        let Some(len) = canonical_key(name, &mut buf) else {
            return Err(self.len().saturating_sub(1));
        };
        let key = &buf[..len];
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        match lo {
            0 => Err(self.len().saturating_sub(1)),
            i => Err(i - 1),
        }
    }
}
