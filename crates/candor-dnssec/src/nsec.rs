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
    (0..names.len().min(types.len()))
        .map(|i| chain_rdata(names, i, &types[i]))
        .collect()
}

/// The NSEC RDATA of `names[i]` in [`chain`], with the types at it: one
/// entry at a time, for a caller that keeps them its own way.
pub fn chain_rdata(names: &[&[u8]], i: usize, types: &[Rtype]) -> Vec<u8> {
    let next = names.get(i + 1).or(names.first()).copied().unwrap_or(&[0]);
    nsec_rdata(next, &type_bitmap(types))
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

// The chain search lives in `candor-zone`, which keeps a signed zone's
// chain next to its nodes; these are the same items.
pub use candor_zone::{Chain, MAX_KEY_LEN, canonical_key};
