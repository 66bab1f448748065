//! Record fields in DNSimple's text conventions, to and from wire RDATA.
//!
//! - A/AAAA: the address.
//! - CNAME/NS/PTR: the target, absolute, without a trailing dot (one is
//!   accepted). MX: the exchange, with the preference in `priority`. SRV:
//!   `weight port target`, with the priority in `priority`.
//! - TXT: the text itself, split into 255-byte strings; content starting
//!   with `"` is read as zone-file quoted strings instead.
//! - Others (CAA, NAPTR, SSHFP, TLSA, DS, HTTPS, SVCB, ... every type with a
//!   presentation format, and any type as RFC 3597 `\# len hex`): zone-file
//!   presentation format after the type; names in them are absolute whether
//!   or not they end in a dot.
//!
//! Stored content is always derived back from the RDATA
//! ([`rdata_to_content`]), so equal records have equal content, and export
//! followed by import gives the same content.

use candor_wire::{Name, Rtype};
use candor_zone::{ALIAS, POOL};
use candor_zonefile::{rdata_from_text, rdata_to_text};

/// Smallest TTL accepted.
pub(crate) const MIN_TTL: u32 = 60;

/// Largest TTL accepted (30 days).
pub(crate) const MAX_TTL: u32 = 2_592_000;

/// The message for a TTL out of range.
pub(crate) const TTL_RANGE_MESSAGE: &str = "must be between 60 and 2592000";

/// The only region served for now.
pub(crate) const GLOBAL: &str = "global";

/// The type code URL records are stored under (private use, RFC 6895
/// §3.1). They are never served as such: the name answers with the
/// redirector's addresses, and zone files show them in RFC 3597 form.
pub(crate) const URL: Rtype = Rtype(65302);

/// The name of a stored type (`URL` and `POOL` for DNSimple's own types).
pub(crate) fn type_name(rtype: Rtype) -> String {
    match rtype {
        URL => "URL".to_owned(),
        POOL => "POOL".to_owned(),
        ALIAS => "ALIAS".to_owned(),
        _ => rtype.to_string(),
    }
}

/// Record types users may create.
const SUPPORTED: &[Rtype] = &[
    URL,
    POOL,
    ALIAS,
    Rtype::A,
    Rtype::AAAA,
    Rtype::CNAME,
    Rtype::NS,
    Rtype::PTR,
    Rtype::MX,
    Rtype::SRV,
    Rtype::TXT,
    Rtype::CAA,
    Rtype::NAPTR,
    Rtype::SSHFP,
    Rtype::TLSA,
    Rtype::DS,
    Rtype::HTTPS,
    Rtype::SVCB,
    Rtype::SPF,
    Rtype::HINFO,
];

/// Types whose records Candor makes itself when it signs a zone: refused
/// in the store (a copied signature would be served stale).
const SIGNING_TYPES: &[Rtype] = &[Rtype::RRSIG, Rtype::NSEC, Rtype::NSEC3, Rtype::NSEC3PARAM];

/// Reads a type mnemonic a user may create records of: DNSimple's types,
/// every type with a presentation format, and any other type in the
/// RFC 3597 form `TYPEnnn` (its content is then `\# len hex`).
pub(crate) fn parse_type(text: &str) -> Result<Rtype, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("can't be blank".to_owned());
    }
    let upper = trimmed.to_ascii_uppercase();
    if upper == "URL" {
        return Ok(URL);
    }
    if upper == "POOL" {
        return Ok(POOL);
    }
    if upper == "ALIAS" {
        return Ok(ALIAS);
    }
    match Rtype::from_mnemonic(trimmed) {
        Some(rtype) => check_type(rtype).map(|()| rtype),
        None => Err(format!("{trimmed} is not a supported record type")),
    }
}

/// Whether users may store records of this type, and if not, why: the
/// same rule for the API, `zone import` and uploaded zone files.
pub(crate) fn check_type(rtype: Rtype) -> Result<(), String> {
    if SUPPORTED.contains(&rtype) {
        return Ok(());
    }
    if rtype == Rtype::SOA {
        return Err("SOA records are system records, managed by Candor".to_owned());
    }
    if rtype.is_meta() || rtype.0 == 0 {
        return Err(format!("{rtype} is a query type, not a record type"));
    }
    if SIGNING_TYPES.contains(&rtype) {
        return Err(format!(
            "{rtype} records are made by DNSSEC signing, not stored: remove them (Candor \
             signs zones itself)"
        ));
    }
    // Types with a presentation format, and unknown ones in RFC 3597 form.
    Ok(())
}

/// Whether the record type carries a priority (MX preference, SRV priority).
pub(crate) fn has_priority(rtype: Rtype) -> bool {
    matches!(rtype, Rtype::MX | Rtype::SRV)
}

/// Checks a TTL.
pub(crate) fn check_ttl(ttl: u32) -> Result<u32, String> {
    if (MIN_TTL..=MAX_TTL).contains(&ttl) {
        Ok(ttl)
    } else {
        Err(TTL_RANGE_MESSAGE.to_owned())
    }
}

/// Most region labels on one record.
pub(crate) const MAX_REGIONS: usize = 16;

/// Longest region label.
pub(crate) const MAX_REGION_LEN: usize = 20;

/// Whether `label` is a region label as stored: 1–20 characters of
/// `a-z`, `0-9` and `-`, not starting or ending with `-`.
pub fn is_region_label(label: &str) -> bool {
    (1..=MAX_REGION_LEN).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Checks regions and returns their stored form: `global`, or the labels
/// lower-cased, sorted and joined by commas (`ams,sv1`). The error is a
/// message for the `regions` field.
pub(crate) fn check_regions(regions: Option<&[String]>) -> Result<String, String> {
    let Some(list) = regions else {
        return Ok(GLOBAL.to_owned());
    };
    if list.is_empty() {
        return Err("can't be empty (use [\"global\"] for every name server)".to_owned());
    }
    if list.len() > MAX_REGIONS {
        return Err(format!(
            "lists {} regions, at most {MAX_REGIONS}",
            list.len()
        ));
    }
    let mut labels: Vec<String> = Vec::with_capacity(list.len());
    for given in list {
        let label = given.trim().to_ascii_lowercase();
        if label != GLOBAL && !is_region_label(&label) {
            return Err(format!(
                "{given:?} is not a region label (letters, digits and hyphens, at most \
                 {MAX_REGION_LEN}, not starting or ending with a hyphen)"
            ));
        }
        if labels.contains(&label) {
            return Err(format!("{label:?} is listed twice"));
        }
        labels.push(label);
    }
    if labels.iter().any(|l| l == GLOBAL) {
        if labels.len() > 1 {
            return Err("\"global\" cannot be combined with other regions".to_owned());
        }
        return Ok(GLOBAL.to_owned());
    }
    labels.sort();
    Ok(labels.join(","))
}

/// The stored regions as a list.
pub(crate) fn regions_list(stored: &str) -> Vec<String> {
    stored.split(',').map(str::to_owned).collect()
}

/// Whether a record with stored regions `stored` is in the view of
/// `region` (`None`: the global view).
pub(crate) fn in_view(stored: &str, region: Option<&str>) -> bool {
    stored == GLOBAL || region.is_some_and(|r| stored.split(',').any(|l| l == r))
}

/// Converts content (and priority, for MX and SRV) to wire RDATA.
pub(crate) fn content_to_rdata(
    rtype: Rtype,
    content: &str,
    priority: Option<u16>,
) -> Result<Vec<u8>, String> {
    let root = Name::root();
    if rtype == Rtype::TXT {
        return txt_to_rdata(content);
    }
    if rtype == URL {
        let target = candor_redirect::parse_target(content.trim())?;
        return Ok(target.as_str().as_bytes().to_vec());
    }
    if rtype == POOL || rtype == ALIAS {
        // Each POOL record, and an ALIAS, names one target host, as a
        // CNAME does.
        return rdata_from_text(Rtype::CNAME, content.trim(), &root);
    }
    let text = content.trim();
    if text.is_empty() {
        return Err("can't be blank".to_owned());
    }
    if has_priority(rtype) {
        let prio = priority.unwrap_or(0);
        return rdata_from_text(rtype, &format!("{prio} {text}"), &root);
    }
    rdata_from_text(rtype, text, &root)
}

/// TXT content to RDATA: quoted strings if it starts with `"`, else the
/// bytes themselves in 255-byte strings.
fn txt_to_rdata(content: &str) -> Result<Vec<u8>, String> {
    if content.is_empty() {
        return Err("can't be blank".to_owned());
    }
    if content.starts_with('"') {
        return rdata_from_text(Rtype::TXT, content, &Name::root());
    }
    let bytes = content.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 255 + 1);
    for chunk in bytes.chunks(255) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    if out.len() > usize::from(u16::MAX) {
        return Err("is longer than 65535 bytes in wire form".to_owned());
    }
    Ok(out)
}

/// The canonical content and priority of wire RDATA.
pub(crate) fn rdata_to_content(rtype: Rtype, rdata: &[u8]) -> (String, Option<u16>) {
    match rtype {
        Rtype::TXT => (txt_content(rdata), None),
        URL => (String::from_utf8_lossy(rdata).into_owned(), None),
        Rtype::CNAME | Rtype::NS | Rtype::PTR | POOL | ALIAS => {
            // A POOL's or an ALIAS's RDATA is a host name, as a CNAME's.
            let shown = if matches!(rtype, POOL | ALIAS) {
                Rtype::CNAME
            } else {
                rtype
            };
            let mut text = rdata_to_text(shown, rdata);
            strip_root_dot(&mut text);
            (text, None)
        }
        Rtype::MX | Rtype::SRV => {
            let text = rdata_to_text(rtype, rdata);
            let priority = rdata.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let mut rest = match (priority, text.split_once(' ')) {
                (Some(_), Some((_, rest))) if !text.starts_with('\\') => rest.to_owned(),
                // Malformed RDATA (never stored): show the generic form.
                _ => return (text, None),
            };
            strip_root_dot(&mut rest);
            (rest, priority)
        }
        _ => (rdata_to_text(rtype, rdata), None),
    }
}

/// Removes the dot that ends an absolute name, unless the name is the root
/// or the dot is escaped (part of a label).
fn strip_root_dot(text: &mut String) {
    if text.len() < 2 || !text.ends_with('.') {
        return;
    }
    let body = &text[..text.len() - 1];
    if body.ends_with(' ') {
        return; // The root name as the last field.
    }
    let backslashes = body.bytes().rev().take_while(|&b| b == b'\\').count();
    if backslashes % 2 == 0 {
        text.pop();
    }
}

/// TXT RDATA as content: the plain text when that reads back to the same
/// RDATA, else quoted strings.
fn txt_content(rdata: &[u8]) -> String {
    let mut joined = Vec::with_capacity(rdata.len());
    let mut pos = 0;
    let mut plain = true;
    while let Some(&len) = rdata.get(pos) {
        let len = usize::from(len);
        let Some(s) = rdata.get(pos + 1..pos + 1 + len) else {
            plain = false;
            break;
        };
        joined.extend_from_slice(s);
        pos += 1 + len;
    }
    if plain
        && let Ok(text) = String::from_utf8(joined)
        && !text.starts_with('"')
        && txt_to_rdata(&text).is_ok_and(|back| back == rdata)
    {
        return text;
    }
    rdata_to_text(Rtype::TXT, rdata)
}

/// The normalized relative text of an owner: lower case, `""` for the apex.
pub(crate) fn relative_name(apex: &Name, owner: &Name) -> String {
    let text = owner.to_lowercase().to_relative_text(apex);
    if text == "@" { String::new() } else { text }
}

/// A zone name as users give it, normalized: trimmed, lower case, without
/// the trailing dot.
pub(crate) fn normalize_zone_name(text: &str) -> String {
    let t = text.trim();
    t.strip_suffix('.').unwrap_or(t).to_ascii_lowercase()
}

/// Checks a zone name (normalized) and returns it as a [`Name`].
pub(crate) fn check_zone_name(name: &str) -> Result<Name, String> {
    if name.is_empty() {
        return Err("can't be blank".to_owned());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("must have at least two labels (like example.com)".to_owned());
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "has an invalid label \"{label}\" (letters, digits, '-' and '_' only, 1 to 63 characters, no '-' at either end)"
            ));
        }
    }
    Name::from_text(&format!("{name}."), None).map_err(|e| format!("is not a valid name: {e}"))
}

/// Whether a zone is a reverse-mapping zone.
pub(crate) fn is_reverse(name: &str) -> bool {
    name == "in-addr.arpa"
        || name == "ip6.arpa"
        || name.ends_with(".in-addr.arpa")
        || name.ends_with(".ip6.arpa")
}

#[cfg(test)]
mod tests;
