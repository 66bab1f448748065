//! REGIONAL records: how a record limited to some regions travels inside a
//! compiled zone, and in zone transfers to Candor secondaries
//! (docs/regions.md).
//!
//! A zone compiles the view of one region (or the global view), so records
//! limited to other regions are not among its records. They still have to
//! reach Candor secondaries, which compile their own view. Each such record
//! is kept as one record of the private type [`REGIONAL`] **at the apex**,
//! whose RDATA holds the record's owner, type, TTL, regions and RDATA
//! (see [`encode`]). At the apex, not at the record's owner: a name whose
//! records are all elsewhere must stay absent from the view (NXDOMAIN), and
//! the apex exists in every view. As a private type it is never answered,
//! never signed and never sent to a standard secondary.
//!
//! RDATA, all lengths in bytes:
//!
//! ```text
//! owner (uncompressed wire name) | TYPE (2) | TTL (4) |
//! region count (1, 1-16) | count x (label length (1, 1-20) | label) |
//! RDATA (the rest)
//! ```
//!
//! Labels are lower-case `a-z`, `0-9` and `-`, as the store keeps them.
//! Everything read here is untrusted (it comes from a primary): [`decode`]
//! checks every field and never panics.

use candor_wire::{Name, Rtype};

use crate::zone::is_private_type;

/// The private-use type (RFC 6895 §3.1) of REGIONAL records: one record
/// limited to regions, kept at the apex (see the module docs). Never served.
pub const REGIONAL: Rtype = Rtype(65305);

/// Most region labels one record may list (as the store allows).
pub const MAX_REGIONS: usize = 16;

/// Longest region label (as the store allows).
pub const MAX_LABEL: usize = 20;

/// A decoded REGIONAL record: the record it stands for and its regions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regional<'a> {
    /// The record's owner, wire form, lower-cased.
    pub owner: Box<[u8]>,
    /// The record's type.
    pub rtype: Rtype,
    /// The record's TTL.
    pub ttl: u32,
    /// The regions it is served in (validated labels).
    pub regions: Vec<&'a str>,
    /// The record's RDATA.
    pub rdata: &'a [u8],
}

impl Regional<'_> {
    /// Whether a server in `region` serves the record (`None`: a server
    /// without a region, which serves the global view only).
    pub fn in_region(&self, region: Option<&str>) -> bool {
        region.is_some_and(|r| self.regions.contains(&r))
    }
}

/// Why REGIONAL RDATA cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionalError {
    /// The owner is not a valid uncompressed wire name.
    Owner,
    /// The RDATA ends before the fixed fields or a label.
    Truncated,
    /// No regions, or more than [`MAX_REGIONS`].
    RegionCount,
    /// A label that is not 1–20 of `a-z`, `0-9`, `-` (not at either end).
    Label,
    /// The type is SOA or a private type, which are never regional.
    Type,
}

impl std::fmt::Display for RegionalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self {
            RegionalError::Owner => "the owner is not a valid name",
            RegionalError::Truncated => "the RDATA is truncated",
            RegionalError::RegionCount => "it lists no regions or more than 16",
            RegionalError::Label => "a region label is not valid",
            RegionalError::Type => "the record type cannot be regional",
        };
        write!(f, "REGIONAL record: {why}")
    }
}

impl std::error::Error for RegionalError {}

/// Whether a region label is valid as the store keeps it: 1–20 of `a-z`,
/// `0-9` and `-`, not starting or ending with `-`.
pub fn valid_label(label: &[u8]) -> bool {
    (1..=MAX_LABEL).contains(&label.len())
        && label
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && label.first() != Some(&b'-')
        && label.last() != Some(&b'-')
}

/// Appends the REGIONAL RDATA of the record (`owner` in wire form, any
/// case: it is lower-cased) limited to `regions` (valid labels, at most
/// [`MAX_REGIONS`]; extra ones are left out) to `out`.
pub fn encode(
    owner: &[u8],
    rtype: Rtype,
    ttl: u32,
    regions: &[&str],
    rdata: &[u8],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(owner);
    out[start..].make_ascii_lowercase();
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    let regions = &regions[..regions.len().min(MAX_REGIONS)];
    out.push(regions.len() as u8);
    for r in regions {
        let r = &r.as_bytes()[..r.len().min(MAX_LABEL)];
        out.push(r.len() as u8);
        out.extend_from_slice(r);
    }
    out.extend_from_slice(rdata);
}

/// Reads REGIONAL RDATA (untrusted; see the module docs).
pub fn decode(rdata: &[u8]) -> Result<Regional<'_>, RegionalError> {
    let len = candor_wire::wire_name_len(rdata).ok_or(RegionalError::Owner)?;
    let owner = Name::from_wire(&rdata[..len]).map_err(|_| RegionalError::Owner)?;
    let fixed = rdata.get(len..len + 7).ok_or(RegionalError::Truncated)?;
    let rtype = Rtype(u16::from_be_bytes([fixed[0], fixed[1]]));
    let ttl = u32::from_be_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
    let count = usize::from(fixed[6]);
    if count == 0 || count > MAX_REGIONS {
        return Err(RegionalError::RegionCount);
    }
    if rtype == Rtype::SOA || is_private_type(rtype) {
        return Err(RegionalError::Type);
    }
    let mut pos = len + 7;
    let mut regions = Vec::with_capacity(count);
    for _ in 0..count {
        let n = usize::from(*rdata.get(pos).ok_or(RegionalError::Truncated)?);
        let label = rdata
            .get(pos + 1..pos + 1 + n)
            .ok_or(RegionalError::Truncated)?;
        if !valid_label(label) {
            return Err(RegionalError::Label);
        }
        // Valid labels are ASCII.
        regions.push(std::str::from_utf8(label).map_err(|_| RegionalError::Label)?);
        pos += 1 + n;
    }
    Ok(Regional {
        owner: owner.to_lowercase().as_wire().into(),
        rtype,
        ttl,
        regions,
        rdata: &rdata[pos..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record encodes and decodes to itself, owner lower-cased, and is
    /// in exactly the regions it lists.
    #[test]
    fn round_trip() {
        let owner = Name::from_text("WWW.Example.com.", None).unwrap();
        let mut out = Vec::new();
        encode(
            owner.as_wire(),
            Rtype::A,
            300,
            &["ams", "sv1"],
            &[192, 0, 2, 7],
            &mut out,
        );
        let r = decode(&out).unwrap();
        assert_eq!(&*r.owner, b"\x03www\x07example\x03com\x00");
        assert_eq!((r.rtype, r.ttl), (Rtype::A, 300));
        assert_eq!(r.regions, ["ams", "sv1"]);
        assert_eq!(r.rdata, [192, 0, 2, 7]);
        assert!(r.in_region(Some("ams")) && r.in_region(Some("sv1")));
        assert!(!r.in_region(Some("fra")) && !r.in_region(None));
    }

    /// Every malformed field is refused with its own error, and no prefix
    /// of a valid record panics or decodes.
    #[test]
    fn malformed_rdata_is_refused() {
        let mut good = Vec::new();
        encode(b"\x01a\x00", Rtype::TXT, 60, &["ams"], b"\x02hi", &mut good);
        // The RDATA is the rest: only cuts before it fail.
        for cut in 0..good.len() - 3 {
            assert!(decode(&good[..cut]).is_err(), "prefix of {cut} bytes");
        }
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.clone();
            f(&mut v);
            decode(&v).map(|_| ())
        };
        assert_eq!(with(&|v| v[0] = 0xC0), Err(RegionalError::Owner));
        assert_eq!(with(&|v| v[9] = 0), Err(RegionalError::RegionCount));
        assert_eq!(with(&|v| v[9] = 17), Err(RegionalError::RegionCount));
        assert_eq!(with(&|v| v[11] = b'A'), Err(RegionalError::Label));
        assert_eq!(with(&|v| v[11] = b'-'), Err(RegionalError::Label));
        assert_eq!(with(&|v| v[10] = 0), Err(RegionalError::Label));
        assert_eq!(
            with(&|v| v[3..5].copy_from_slice(&[0, 6])),
            Err(RegionalError::Type)
        );
        assert_eq!(
            with(&|v| v[3..5].copy_from_slice(&REGIONAL.0.to_be_bytes())),
            Err(RegionalError::Type)
        );
        // Every byte set to every value: no panic, and what decodes
        // encodes back to the same bytes (owner in lower case).
        for at in 0..good.len() {
            for value in 0..=255u8 {
                let mut v = good.clone();
                v[at] = value;
                if let Ok(r) = decode(&v) {
                    let mut again = Vec::new();
                    encode(&r.owner, r.rtype, r.ttl, &r.regions, r.rdata, &mut again);
                    let mut want = v.clone();
                    want[..r.owner.len()].make_ascii_lowercase();
                    assert_eq!(again, want, "byte {at} = {value}");
                }
            }
        }
    }
}
