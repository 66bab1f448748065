//! Catalog zones (RFC 9432, schema version 2): a zone whose records list
//! other zones, so that a secondary which transfers the catalog adds and
//! removes its member zones by itself.
//!
//! Producer side: [`build`] compiles the catalog of a list of member zones
//! (`version TXT "2"` at the apex, one `<id>.zones PTR <member>` per
//! member) into an ordinary [`Zone`], served, transferred (AXFR, IXFR from
//! the journal) and NOTIFYed like any other. The unique id of a member
//! (RFC 9432 §4.1) is [`member_id`]: the first 16 bytes of the SHA-256 of
//! its lower-cased wire name, in hex. It is stable across restarts and
//! hosts and needs no state; a zone deleted and created again between two
//! catalog versions keeps its id (RFC 9432 §5.5 calls a change of id a
//! reset, which Candor does not ask for).
//!
//! Consumer side: [`members`] reads the member zones out of a catalog
//! zone received from a primary.

use candor_wire::{Name, Rtype};
use candor_zone::{Zone, ZoneBuilder, ZoneError};
use sha2::{Digest, Sha256};

/// The TTL of the catalog's records: consumers never query them through
/// resolvers, so nothing is gained by caching.
const TTL: u32 = 0;

/// The SOA timers of the catalog: refresh every 10 minutes (NOTIFY makes
/// changes reach consumers at once), retry every minute, expire after
/// four weeks, negative TTL 0.
const SOA_TIMERS: [u32; 4] = [600, 60, 2_419_200, 0];

/// The unique id (RFC 9432 §4.1) of member zone `zone`: 32 hex digits.
pub fn member_id(zone: &Name) -> String {
    let wire = zone.to_lowercase();
    let digest = Sha256::digest(wire.as_wire());
    let mut id = String::with_capacity(32);
    for b in &digest[..16] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    id
}

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The serial of the next catalog version: the time (seconds since 1970,
/// so a restarted server goes on from where it was), or one more than the
/// previous serial when that is not older (RFC 1982 arithmetic: several
/// changes in one second).
pub fn next_serial(previous: Option<u32>, now: u64) -> u32 {
    let clock = now as u32;
    match previous {
        Some(p) if !crate::journal::serial_newer(clock, p) => p.wrapping_add(1),
        _ => clock,
    }
}

/// Compiles the catalog zone `catalog` listing `members` (duplicates and
/// the catalog itself are left out) at `serial`.
pub fn build(catalog: &Name, members: &[Name], serial: u32) -> Result<Zone, Vec<ZoneError>> {
    let mut b = ZoneBuilder::new(catalog);
    let invalid = Name::from_text("invalid.", None).map_err(|e| name_error(&e))?;
    let mut soa = Vec::with_capacity(64);
    soa.extend_from_slice(invalid.as_wire());
    soa.extend_from_slice(invalid.as_wire());
    soa.extend_from_slice(&serial.to_be_bytes());
    for t in SOA_TIMERS {
        soa.extend_from_slice(&t.to_be_bytes());
    }
    b.add(catalog, Rtype::SOA, TTL, &soa, None);
    // RFC 9432 §4: the NS record is there because a zone needs one; it
    // points nowhere.
    b.add(catalog, Rtype::NS, TTL, invalid.as_wire(), None);
    let version = catalog.prepend(b"version").map_err(|e| name_error(&e))?;
    b.add(&version, Rtype::TXT, TTL, b"\x012", None);
    let zones = catalog.prepend(b"zones").map_err(|e| name_error(&e))?;
    for member in members {
        if member.eq_ignore_case(catalog) {
            continue;
        }
        let owner = zones
            .prepend(member_id(member).as_bytes())
            .map_err(|e| name_error(&e))?;
        b.add(
            &owner,
            Rtype::PTR,
            TTL,
            member.to_lowercase().as_wire(),
            None,
        );
    }
    b.finish()
}

/// A name that does not fit as a zone-level problem.
fn name_error(e: &impl std::fmt::Display) -> Vec<ZoneError> {
    vec![ZoneError {
        file: None,
        line: 0,
        kind: candor_zone::ZoneErrorKind::Placement,
        message: format!("catalog zone name: {e}"),
    }]
}

/// Why a zone is not a catalog Candor can consume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogError {
    /// No `version` TXT record at the apex.
    NoVersion,
    /// A schema version other than 2.
    Version(String),
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogError::NoVersion => {
                f.write_str("no version TXT record: not a catalog zone (RFC 9432 §4.2)")
            }
            CatalogError::Version(v) => {
                write!(f, "catalog schema version {v:?}: only version 2 is read")
            }
        }
    }
}

impl std::error::Error for CatalogError {}

/// The member zones a catalog zone lists (RFC 9432 §4.1: a PTR record
/// exactly one label below `zones.<catalog>`; records deeper down are
/// member properties, and a unique id with several PTR records is
/// broken, so it is left out), sorted and without duplicates.
pub fn members(zone: &Zone) -> Result<Vec<Name>, CatalogError> {
    let apex = zone.apex().to_lowercase();
    let version = apex
        .prepend(b"version")
        .map_err(|_| CatalogError::NoVersion)?;
    let zones = apex
        .prepend(b"zones")
        .map_err(|_| CatalogError::NoVersion)?;
    let mut found_version = None;
    let mut ptrs: Vec<(Vec<u8>, Name)> = Vec::new();
    for r in zone.records() {
        if r.rtype == Rtype::TXT && r.owner == version.as_wire() {
            found_version = Some(txt_text(r.rdata));
        }
        if r.rtype != Rtype::PTR {
            continue;
        }
        let Ok(owner) = Name::from_wire(r.owner) else {
            continue;
        };
        if owner.parent().is_some_and(|p| p == zones)
            && let Ok(member) = Name::from_wire(r.rdata)
        {
            ptrs.push((r.owner.to_vec(), member.to_lowercase()));
        }
    }
    match found_version {
        None => return Err(CatalogError::NoVersion),
        Some(v) if v != "2" => return Err(CatalogError::Version(v)),
        Some(_) => {}
    }
    let mut out = Vec::with_capacity(ptrs.len());
    for (i, (owner, member)) in ptrs.iter().enumerate() {
        let shared = ptrs
            .iter()
            .enumerate()
            .any(|(j, (o, _))| j != i && o == owner);
        if !shared {
            out.push(member.clone());
        }
    }
    out.sort_by(|a, b| a.as_wire().cmp(b.as_wire()));
    out.dedup();
    Ok(out)
}

/// The text of a TXT RDATA's character strings, joined.
fn txt_text(rdata: &[u8]) -> String {
    let mut text = Vec::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        text.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name from text.
    fn n(text: &str) -> Name {
        Name::from_text(text, None).expect("name")
    }

    /// The catalog lists each member once under `zones`, with the version
    /// and a placeholder NS, and reads back as the same members.
    #[test]
    fn a_catalog_round_trips() {
        let members = [n("Example.COM."), n("example.net."), n("example.com.")];
        let zone = build(&n("catalog.invalid."), &members, 7).expect("builds");
        assert_eq!(zone.serial(), 7);
        let mut text: Vec<String> = zone
            .records()
            .map(|r| {
                let owner = Name::from_wire(r.owner).expect("owner");
                format!("{owner} {}", r.rtype)
            })
            .collect();
        text.sort();
        let id = member_id(&n("example.com."));
        assert!(
            text.contains(&format!("{id}.zones.catalog.invalid. PTR")),
            "{text:?}"
        );
        assert!(text.contains(&"version.catalog.invalid. TXT".to_owned()));
        assert!(text.contains(&"catalog.invalid. NS".to_owned()));
        assert_eq!(
            members_text(&zone),
            ["example.com.", "example.net."],
            "duplicates collapse, case does not matter"
        );
    }

    /// The members of a catalog, as text.
    fn members_text(zone: &Zone) -> Vec<String> {
        members(zone)
            .expect("a catalog")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The id is stable (a fixed hash of the lower-cased name) and 32 hex
    /// digits, and differs between zones.
    #[test]
    fn member_ids_are_stable_hashes() {
        let a = member_id(&n("example.com."));
        assert_eq!(a, member_id(&n("EXAMPLE.com.")));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, member_id(&n("example.net.")));
    }

    /// Serials follow the clock, and go up by one within a second.
    #[test]
    fn serials_follow_the_clock_and_never_go_back() {
        assert_eq!(next_serial(None, 1_000), 1_000);
        assert_eq!(next_serial(Some(900), 1_000), 1_000);
        assert_eq!(next_serial(Some(1_000), 1_000), 1_001);
        assert_eq!(next_serial(Some(1_005), 1_000), 1_006);
    }

    /// A zone without the version record, or with another version, is
    /// not read as a catalog; PTRs deeper than one label below `zones`
    /// and ids with two PTRs are not members.
    #[test]
    fn consumers_read_only_version_2_members() {
        let zone = |records: &[(&str, Rtype, &[u8])]| {
            let apex = n("cat.test.");
            let mut b = ZoneBuilder::new(&apex);
            let mut soa = Vec::new();
            soa.extend_from_slice(n("invalid.").as_wire());
            soa.extend_from_slice(n("invalid.").as_wire());
            soa.extend_from_slice(&[0; 20]);
            b.add(&apex, Rtype::SOA, 0, &soa, None);
            b.add(&apex, Rtype::NS, 0, n("invalid.").as_wire(), None);
            for (owner, rtype, rdata) in records {
                b.add(&n(owner), *rtype, 0, rdata, None);
            }
            b.finish().expect("zone")
        };
        let a = n("a.test.");
        let b = n("b.test.");
        let c = n("c.test.");
        assert_eq!(members(&zone(&[])), Err(CatalogError::NoVersion));
        assert_eq!(
            members(&zone(&[("version.cat.test.", Rtype::TXT, b"\x011")])),
            Err(CatalogError::Version("1".to_owned()))
        );
        let z = zone(&[
            ("version.cat.test.", Rtype::TXT, b"\x012"),
            ("one.zones.cat.test.", Rtype::PTR, a.as_wire()),
            ("coo.one.zones.cat.test.", Rtype::PTR, b.as_wire()),
            ("two.zones.cat.test.", Rtype::PTR, b.as_wire()),
            ("two.zones.cat.test.", Rtype::PTR, c.as_wire()),
        ]);
        assert_eq!(members_text(&z), ["a.test."]);
    }
}
