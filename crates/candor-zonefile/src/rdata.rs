//! RDATA between presentation text and wire form.
//!
//! Each supported type is described once, as a list of fields
//! ([`schema`]). The same description drives reading text ([`encode`]),
//! and one walk over wire RDATA that both validates and formats it
//! (`walk`). Because validation and formatting are the same code, RDATA
//! that validates always formats in its type's own syntax, and that syntax
//! reads back to the same bytes; the tests check this on random RDATA.

use candor_wire::{Name, Rtype};

use crate::codec::{self, HexDecoder};
use crate::lexer::{Cursor, Entry, Lexer, Tok};
use crate::text::{self, show};
use crate::{apl, loc, svcb, walk};

/// Largest RDATA (the RDLENGTH field is 16 bits).
const MAX_RDATA_LEN: usize = 65535;

//----------- Schema ----------------------------------------------------------

/// The kinds of RDATA fields. "Rest" kinds take all remaining tokens or
/// bytes and come last.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// An 8-bit decimal number.
    U8,
    /// A 16-bit decimal number.
    U16,
    /// A 32-bit decimal number.
    U32,
    /// A 32-bit number of seconds; text may use TTL units (`1h30m`).
    Period,
    /// A DNSSEC algorithm: a number or mnemonic (RFC 4034 Appendix A.1).
    Alg,
    /// A record type, as a mnemonic or `TYPEnnn`.
    Type,
    /// An RRSIG timestamp (RFC 4034 §3.2).
    Time,
    /// An uncompressed domain name.
    Name,
    /// One length-prefixed character string.
    CharStr,
    /// Rest: one or more character strings (TXT).
    Strings,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// Rest: at least one byte as hex, possibly split over tokens.
    Hex,
    /// Rest: at least one byte as base64, possibly split over tokens.
    Base64,
    /// A CAA tag: length-prefixed, letters and digits (RFC 8659 §4.1).
    CaaTag,
    /// Rest: one string without a length prefix (CAA value, URI target).
    Text,
    /// An NSEC3 salt: length-prefixed, hex, `-` when empty.
    Salt,
    /// An NSEC3 next hashed owner: length-prefixed, base32hex.
    Hash,
    /// Rest: an NSEC type bitmap (RFC 4034 §4.1.2), possibly empty.
    Bitmap,
    /// Rest: SVCB parameters (RFC 9460).
    SvcParams,
    /// All of a LOC record (RFC 1876).
    Loc,
    /// A CERT certificate type: a 16-bit number or mnemonic (RFC 4398
    /// §2.1).
    CertType,
    /// An IPSECKEY gateway, in the form the gateway type (the RDATA's
    /// second byte) says: `.`, IPv4, IPv6 or a name (RFC 4025 §2.3).
    Gateway,
    /// Rest: an IPSECKEY public key in base64, present exactly when the
    /// algorithm (the RDATA's third byte) is not 0 (RFC 4025 §2.4, §3.1).
    IpsecKey,
    /// Rest: an APL list of address prefixes, possibly empty (RFC 3123).
    Apl,
    /// An EUI-48 address: six hex pairs joined by `-` (RFC 7043 §3.2).
    Eui48,
    /// An EUI-64 address: eight hex pairs joined by `-` (RFC 7043 §4.2).
    Eui64,
    /// A 64-bit ILNP node identifier or locator: four groups of four hex
    /// digits joined by `:` (RFC 6742 §2.1, §2.3).
    L64,
}

/// One field: its kind, and its name for messages.
pub(crate) type Field = (Kind, &'static str);

/// The fields of each type with a text format; `None` for types that only
/// have the RFC 3597 generic form.
fn schema(rtype: Rtype) -> Option<&'static [Field]> {
    use Kind::*;
    Some(match rtype {
        Rtype::A => &[(Ipv4, "IPv4 address")],
        Rtype::AAAA => &[(Ipv6, "IPv6 address")],
        Rtype::NS => &[(Name, "name server")],
        Rtype::CNAME | Rtype::DNAME | Rtype::PTR => &[(Name, "target")],
        Rtype::MINFO => &[(Name, "responsible mailbox"), (Name, "error mailbox")],
        Rtype::SOA => &[
            (Name, "primary name server"),
            (Name, "mailbox"),
            (U32, "serial"),
            (Period, "refresh"),
            (Period, "retry"),
            (Period, "expire"),
            (Period, "minimum"),
        ],
        Rtype::MX => &[(U16, "preference"), (Name, "exchange")],
        Rtype::KX => &[(U16, "preference"), (Name, "exchanger")],
        Rtype::RT => &[(U16, "preference"), (Name, "intermediate host")],
        Rtype::LP => &[(U16, "preference"), (Name, "locator name")],
        Rtype::NID => &[(U16, "preference"), (L64, "node ID")],
        Rtype::L32 => &[(U16, "preference"), (Ipv4, "locator")],
        Rtype::L64 => &[(U16, "preference"), (L64, "locator")],
        Rtype::EUI48 => &[(Eui48, "EUI-48 address")],
        Rtype::EUI64 => &[(Eui64, "EUI-64 address")],
        Rtype::AFSDB => &[(U16, "subtype"), (Name, "hostname")],
        Rtype::TXT | Rtype::SPF => &[(Strings, "text")],
        Rtype::HINFO => &[(CharStr, "CPU"), (CharStr, "OS")],
        Rtype::RP => &[(Name, "mailbox"), (Name, "TXT owner")],
        Rtype::SRV => &[
            (U16, "priority"),
            (U16, "weight"),
            (U16, "port"),
            (Name, "target"),
        ],
        Rtype::NAPTR => &[
            (U16, "order"),
            (U16, "preference"),
            (CharStr, "flags"),
            (CharStr, "services"),
            (CharStr, "regexp"),
            (Name, "replacement"),
        ],
        Rtype::CAA => &[(U8, "flags"), (CaaTag, "tag"), (Text, "value")],
        Rtype::SSHFP => &[
            (U8, "algorithm"),
            (U8, "fingerprint type"),
            (Hex, "fingerprint"),
        ],
        Rtype::TLSA | Rtype::SMIMEA => &[
            (U8, "certificate usage"),
            (U8, "selector"),
            (U8, "matching type"),
            (Hex, "certificate data"),
        ],
        Rtype::DS | Rtype::CDS => &[
            (U16, "key tag"),
            (Alg, "algorithm"),
            (U8, "digest type"),
            (Hex, "digest"),
        ],
        Rtype::DNSKEY | Rtype::CDNSKEY | Rtype::KEY => &[
            (U16, "flags"),
            (U8, "protocol"),
            (Alg, "algorithm"),
            (Base64, "public key"),
        ],
        Rtype::CERT => &[
            (CertType, "certificate type"),
            (U16, "key tag"),
            (Alg, "algorithm"),
            (Base64, "certificate"),
        ],
        Rtype::IPSECKEY => &[
            (U8, "precedence"),
            (U8, "gateway type"),
            (U8, "algorithm"),
            (Gateway, "gateway"),
            (IpsecKey, "public key"),
        ],
        Rtype::APL => &[(Apl, "address prefixes")],
        Rtype::RRSIG => &[
            (Type, "type covered"),
            (Alg, "algorithm"),
            (U8, "labels"),
            (U32, "original TTL"),
            (Time, "expiration"),
            (Time, "inception"),
            (U16, "key tag"),
            (Name, "signer"),
            (Base64, "signature"),
        ],
        Rtype::NSEC => &[(Name, "next name"), (Bitmap, "type bitmap")],
        Rtype::NSEC3 => &[
            (U8, "hash algorithm"),
            (U8, "flags"),
            (U16, "iterations"),
            (Salt, "salt"),
            (Hash, "next hashed owner"),
            (Bitmap, "type bitmap"),
        ],
        Rtype::NSEC3PARAM => &[
            (U8, "hash algorithm"),
            (U8, "flags"),
            (U16, "iterations"),
            (Salt, "salt"),
        ],
        Rtype::ZONEMD => &[
            (U32, "serial"),
            (U8, "scheme"),
            (U8, "hash algorithm"),
            (Hex, "digest"),
        ],
        Rtype::CSYNC => &[(U32, "serial"), (U16, "flags"), (Bitmap, "type bitmap")],
        Rtype::DHCID => &[(Base64, "data")],
        Rtype::OPENPGPKEY => &[(Base64, "public key")],
        Rtype::URI => &[(U16, "priority"), (U16, "weight"), (Text, "target")],
        Rtype::SVCB | Rtype::HTTPS => &[
            (U16, "priority"),
            (Name, "target"),
            (SvcParams, "SvcParams"),
        ],
        Rtype::LOC => &[(Loc, "location")],
        _ => return None,
    })
}

/// DNSSEC algorithm mnemonics (RFC 4034 Appendix A.1 and the IANA
/// registry).
const ALGORITHMS: &[(&str, u8)] = &[
    ("RSAMD5", 1),
    ("DH", 2),
    ("DSA", 3),
    ("RSASHA1", 5),
    ("DSA-NSEC3-SHA1", 6),
    ("RSASHA1-NSEC3-SHA1", 7),
    ("RSASHA256", 8),
    ("RSASHA512", 10),
    ("ECC-GOST", 12),
    ("ECDSAP256SHA256", 13),
    ("ECDSAP384SHA384", 14),
    ("ED25519", 15),
    ("ED448", 16),
    ("INDIRECT", 252),
    ("PRIVATEDNS", 253),
    ("PRIVATEOID", 254),
];

/// CERT certificate type mnemonics (RFC 4398 §2.1).
const CERT_TYPES: &[(&str, u16)] = &[
    ("PKIX", 1),
    ("SPKI", 2),
    ("PGP", 3),
    ("IPKIX", 4),
    ("ISPKI", 5),
    ("IPGP", 6),
    ("ACPKIX", 7),
    ("IACPKIX", 8),
    ("URI", 253),
    ("OID", 254),
];

//----------- Text to wire ----------------------------------------------------

/// Reads the RDATA of `rtype` from the tokens left in `cur` and appends its
/// wire form to `out`. All tokens must be used.
pub(crate) fn encode(
    rtype: Rtype,
    cur: &mut Cursor<'_>,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if rtype.is_meta() {
        return Err(format!("type {rtype} cannot appear in a zone"));
    }
    if cur
        .peek()
        .is_some_and(|tok| !tok.quoted && tok.text == b"\\#")
    {
        cur.next();
        return encode_generic(rtype, cur, out);
    }
    // A is by far the most common type; skip the schema machinery for it.
    if rtype == Rtype::A {
        let tok = cur.required("IPv4 address")?;
        let octets = text::parse_ipv4(tok.text)
            .ok_or_else(|| format!("bad IPv4 address \"{}\"", show(tok.text)))?;
        out.extend_from_slice(&octets);
        return no_more(cur);
    }
    let Some(fields) = schema(rtype) else {
        return Err(format!(
            "type {rtype} has no text format here; use the RFC 3597 \\# form"
        ));
    };
    let start = out.len();
    let ctx = Ctx {
        rtype,
        origin,
        start,
    };
    for &(kind, what) in fields {
        encode_field(&ctx, kind, what, cur, out)?;
    }
    no_more(cur)?;
    if out.len() - start > MAX_RDATA_LEN {
        return Err(format!("{rtype} RDATA longer than {MAX_RDATA_LEN} bytes"));
    }
    check_semantics(rtype, out.get(start..).unwrap_or_default())
}

/// Fails if tokens are left over.
fn no_more(cur: &mut Cursor<'_>) -> Result<(), String> {
    match cur.next() {
        Some(tok) => Err(format!("trailing data \"{}\"", show(tok.text))),
        None => Ok(()),
    }
}

/// What a field reader needs to know about the RDATA around it.
struct Ctx<'o> {
    /// The type being read.
    rtype: Rtype,
    /// The origin for relative names.
    origin: &'o Name,
    /// Where the RDATA starts in the output buffer.
    start: usize,
}

/// Reads one field.
fn encode_field(
    ctx: &Ctx<'_>,
    kind: Kind,
    what: &str,
    cur: &mut Cursor<'_>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let Ctx {
        rtype,
        origin,
        start,
    } = *ctx;
    let bad = |tok: Tok<'_>| format!("bad {what} \"{}\"", show(tok.text));
    match kind {
        Kind::U8 | Kind::U16 | Kind::U32 => {
            let tok = cur.required(what)?;
            let max = match kind {
                Kind::U8 => u64::from(u8::MAX),
                Kind::U16 => u64::from(u16::MAX),
                _ => u64::from(u32::MAX),
            };
            let value = text::parse_uint(tok.text, max).ok_or_else(|| bad(tok))?;
            let bytes = (value as u32).to_be_bytes();
            let width = match kind {
                Kind::U8 => 1,
                Kind::U16 => 2,
                _ => 4,
            };
            out.extend_from_slice(bytes.get(4 - width..).unwrap_or_default());
        }
        Kind::Period => {
            let tok = cur.required(what)?;
            let value = text::parse_period(tok.text)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| bad(tok))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        Kind::Alg => {
            let tok = cur.required(what)?;
            let number = text::parse_uint(tok.text, 255).map(|v| v as u8);
            let by_name = || {
                ALGORITHMS
                    .iter()
                    .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(tok.text))
            };
            let value = number
                .or_else(|| by_name().map(|&(_, v)| v))
                .ok_or_else(|| bad(tok))?;
            out.push(value);
        }
        Kind::Type => {
            let tok = cur.required(what)?;
            let rtype = parse_rtype(tok.text).ok_or_else(|| bad(tok))?;
            out.extend_from_slice(&rtype.0.to_be_bytes());
        }
        Kind::Time => {
            let tok = cur.required(what)?;
            let value = codec::parse_time(tok.text).ok_or_else(|| bad(tok))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        Kind::Name => {
            let tok = cur.required(what)?;
            text::name_to_wire(tok.text, origin, out)
                .map_err(|err| format!("bad {what} \"{}\": {err}", show(tok.text)))?;
        }
        Kind::CharStr => encode_charstr(rtype, cur.required(what)?, out)?,
        Kind::Strings => {
            encode_charstr(rtype, cur.required(what)?, out)?;
            for tok in cur.by_ref() {
                encode_charstr(rtype, tok, out)?;
            }
        }
        Kind::Ipv4 => {
            let tok = cur.required(what)?;
            out.extend_from_slice(&text::parse_ipv4(tok.text).ok_or_else(|| bad(tok))?);
        }
        Kind::Ipv6 => {
            let tok = cur.required(what)?;
            out.extend_from_slice(&text::parse_ipv6(tok.text).ok_or_else(|| bad(tok))?);
        }
        Kind::Hex => {
            let mut decoder = HexDecoder::default();
            let start = out.len();
            let first = cur.required(what)?;
            for tok in std::iter::once(first).chain(cur.by_ref()) {
                if !decoder.push(tok.text, out) {
                    return Err(format!("bad hex in {what} \"{}\"", show(tok.text)));
                }
            }
            if !decoder.finish() {
                return Err(format!("odd number of hex digits in {what}"));
            }
            // Empty tokens ("") must not make an empty field that the
            // presentation format could not show again.
            if out.len() == start {
                return Err(format!("empty {what}"));
            }
        }
        Kind::Base64 => encode_base64(cur.required(what)?, cur, what, out)?,
        Kind::CaaTag => {
            let tok = cur.required(what)?;
            let ok = !tok.text.is_empty() && tok.text.iter().all(u8::is_ascii_alphanumeric);
            if !ok || tok.text.len() > 255 {
                return Err(format!("bad CAA tag \"{}\"", show(tok.text)));
            }
            out.push(tok.text.len() as u8);
            out.extend_from_slice(tok.text);
        }
        Kind::Text => text::unescape_into(cur.required(what)?.text, out)?,
        Kind::Salt => {
            let tok = cur.required(what)?;
            let len_pos = out.len();
            out.push(0);
            if tok.text != b"-" {
                let mut decoder = HexDecoder::default();
                if !decoder.push(tok.text, out) || !decoder.finish() || tok.text.is_empty() {
                    return Err(bad(tok));
                }
            }
            set_length_prefix(out, len_pos)
                .ok_or_else(|| format!("{what} longer than 255 bytes"))?;
        }
        Kind::Hash => {
            let tok = cur.required(what)?;
            let len_pos = out.len();
            out.push(0);
            codec::base32hex_decode(tok.text, out).ok_or_else(|| bad(tok))?;
            if out.len() == len_pos + 1 {
                return Err(bad(tok));
            }
            set_length_prefix(out, len_pos)
                .ok_or_else(|| format!("{what} longer than 255 bytes"))?;
        }
        Kind::Bitmap => {
            let mut types = Vec::new();
            for tok in cur.by_ref() {
                types.push(parse_rtype(tok.text).ok_or_else(|| bad(tok))?.0);
            }
            encode_bitmap(&mut types, out);
        }
        Kind::SvcParams => svcb::encode(rtype, cur, out, start)?,
        Kind::Loc => loc::encode(cur, out)?,
        Kind::CertType => {
            let tok = cur.required(what)?;
            let by_name = || {
                CERT_TYPES
                    .iter()
                    .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(tok.text))
                    .map(|&(_, v)| v)
            };
            let value = text::parse_uint(tok.text, u64::from(u16::MAX))
                .map(|v| v as u16)
                .or_else(by_name)
                .ok_or_else(|| bad(tok))?;
            out.extend_from_slice(&value.to_be_bytes());
        }
        Kind::Gateway => {
            let tok = cur.required(what)?;
            // The schema reads the gateway type just before.
            match out.get(start + 1).copied().unwrap_or(u8::MAX) {
                0 if tok.text == b"." => {}
                0 => {
                    return Err(format!(
                        "bad {what} \"{}\": gateway type 0 takes \".\"",
                        show(tok.text)
                    ));
                }
                1 => out.extend_from_slice(&text::parse_ipv4(tok.text).ok_or_else(|| bad(tok))?),
                2 => out.extend_from_slice(&text::parse_ipv6(tok.text).ok_or_else(|| bad(tok))?),
                3 => text::name_to_wire(tok.text, origin, out)
                    .map_err(|err| format!("bad {what} \"{}\": {err}", show(tok.text)))?,
                other => return Err(format!("unknown gateway type {other}")),
            }
        }
        Kind::IpsecKey => {
            // The schema reads the algorithm two fields before.
            let algorithm = out.get(start + 2).copied().unwrap_or(0);
            match (algorithm, cur.next()) {
                (0, None) => {}
                (0, Some(tok)) => {
                    return Err(format!(
                        "algorithm 0 takes no {what}, but \"{}\" follows",
                        show(tok.text)
                    ));
                }
                (_, None) => return Err(format!("missing {what}")),
                (_, Some(first)) => encode_base64(first, cur, what, out)?,
            }
        }
        Kind::Apl => apl::encode(cur, out)?,
        Kind::Eui48 | Kind::Eui64 | Kind::L64 => {
            let tok = cur.required(what)?;
            let (sep, group, groups) = hex_groups(kind);
            codec::parse_hex_groups(tok.text, sep, group, groups, out).ok_or_else(|| {
                let digits = group * 2;
                format!(
                    "bad {what} \"{}\": expected {groups} groups of {digits} hex digits \
                     joined by \"{}\"",
                    show(tok.text),
                    char::from(sep)
                )
            })?;
        }
    }
    Ok(())
}

/// The layout of a hex-group kind: separator, bytes per group, groups.
pub(crate) fn hex_groups(kind: Kind) -> (u8, usize, usize) {
    match kind {
        Kind::Eui48 => (b'-', 1, 6),
        Kind::Eui64 => (b'-', 1, 8),
        _ => (b':', 2, 4),
    }
}

/// Reads base64 from `first` and all tokens after it (they are joined, so
/// the data may be split by white space) into `out`; at least one byte.
fn encode_base64(
    first: Tok<'_>,
    cur: &mut Cursor<'_>,
    what: &str,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut joined = first.text.to_vec();
    for tok in cur.by_ref() {
        joined.extend_from_slice(tok.text);
    }
    let start = out.len();
    codec::base64_decode(&joined, out)
        .ok_or_else(|| format!("bad base64 in {what} \"{}\"", show(&joined)))?;
    if out.len() == start {
        return Err(format!("empty {what}"));
    }
    Ok(())
}

/// Reads a record type mnemonic or `TYPEnnn`.
pub(crate) fn parse_rtype(text: &[u8]) -> Option<Rtype> {
    Rtype::from_mnemonic(std::str::from_utf8(text).ok()?)
}

/// Fills in the length byte at `len_pos` for the bytes after it; `None` if
/// there are more than 255.
fn set_length_prefix(out: &mut [u8], len_pos: usize) -> Option<()> {
    let len = u8::try_from(out.len() - len_pos - 1).ok()?;
    *out.get_mut(len_pos)? = len;
    Some(())
}

/// Appends one character string (length byte and bytes).
fn encode_charstr(rtype: Rtype, tok: Tok<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let len_pos = out.len();
    out.push(0);
    text::unescape_into(tok.text, out)?;
    set_length_prefix(out, len_pos).ok_or_else(|| format!("{rtype} string longer than 255 bytes"))
}

/// Appends a type bitmap for `types` (sorted and deduplicated here).
fn encode_bitmap(types: &mut Vec<u16>, out: &mut Vec<u8>) {
    types.sort_unstable();
    types.dedup();
    let mut rest = types.as_slice();
    while let Some(&first) = rest.first() {
        let window = first >> 8;
        let mut bits = [0u8; 32];
        let mut used = 0;
        while let Some((&t, tail)) = rest.split_first() {
            if t >> 8 != window {
                break;
            }
            let low = usize::from(t as u8);
            if let Some(byte) = bits.get_mut(low / 8) {
                *byte |= 0x80 >> (low % 8);
            }
            used = low / 8 + 1;
            rest = tail;
        }
        out.push(window as u8);
        out.push(used as u8);
        out.extend_from_slice(bits.get(..used).unwrap_or_default());
    }
}

/// Reads the RFC 3597 form after `\#`: a length and that many bytes in hex.
fn encode_generic(rtype: Rtype, cur: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let tok = cur.required("RDATA length after \\#")?;
    let len = text::parse_uint(tok.text, MAX_RDATA_LEN as u64)
        .ok_or_else(|| format!("bad \\# RDATA length \"{}\"", show(tok.text)))?;
    let start = out.len();
    let mut decoder = HexDecoder::default();
    for tok in cur.by_ref() {
        if !decoder.push(tok.text, out) {
            return Err(format!("bad hex in \\# RDATA \"{}\"", show(tok.text)));
        }
        if (out.len() - start) as u64 > len {
            break;
        }
    }
    if !decoder.finish() {
        return Err("odd number of hex digits in \\# RDATA".to_owned());
    }
    let got = out.len() - start;
    if got as u64 != len {
        return Err(format!(
            "\\# RDATA has {got} bytes but its length says {len}"
        ));
    }
    validate(rtype, out.get(start..).unwrap_or_default())
}

/// Checks rules that go beyond the field layout.
pub(crate) fn check_semantics(rtype: Rtype, rdata: &[u8]) -> Result<(), String> {
    // Digest lengths fixed by the algorithm (RFC 4034 §5.1.4, RFC 4509,
    // RFC 6605, RFC 4255, RFC 6594, RFC 6698, RFC 8976).
    let (kind_at, data_at, what, expected): (usize, usize, &str, &[(u8, usize)]) = match rtype {
        Rtype::DS | Rtype::CDS => (3, 4, "digest type", &[(1, 20), (2, 32), (4, 48)]),
        Rtype::SSHFP => (1, 2, "fingerprint type", &[(1, 20), (2, 32)]),
        Rtype::TLSA | Rtype::SMIMEA => (2, 3, "matching type", &[(1, 32), (2, 64)]),
        Rtype::ZONEMD => (5, 6, "hash algorithm", &[(1, 48), (2, 64)]),
        _ => return Ok(()),
    };
    let Some(&kind) = rdata.get(kind_at) else {
        return Ok(());
    };
    let len = rdata.len().saturating_sub(data_at);
    match expected.iter().find(|&&(k, _)| k == kind) {
        Some(&(_, want)) if want != len => Err(format!(
            "{rtype} data must be {want} bytes for {what} {kind}, not {len}"
        )),
        _ => Ok(()),
    }
}

//----------- Entry points ----------------------------------------------------

/// See [`crate::has_text_form`].
pub(crate) fn has_text_form(rtype: Rtype) -> bool {
    !rtype.is_meta() && schema(rtype).is_some()
}

/// See [`crate::rdata_from_text`].
pub(crate) fn from_text(rtype: Rtype, text: &[u8], origin: &Name) -> Result<Vec<u8>, String> {
    let mut lexer = Lexer::new(text);
    let mut entry = Entry::default();
    let mut tokens = Vec::new();
    while let Some(result) = lexer.next_entry(&mut entry) {
        result.map_err(|err| err.message.to_owned())?;
        tokens.extend_from_slice(&entry.tokens);
    }
    let mut cur = Cursor::new(text, &tokens, 1);
    let mut out = Vec::new();
    encode(rtype, &mut cur, origin, &mut out)?;
    Ok(out)
}

/// See [`crate::rdata_to_text`].
pub(crate) fn to_text(rtype: Rtype, rdata: &[u8]) -> String {
    if !rtype.is_meta()
        && rdata.len() <= MAX_RDATA_LEN
        && let Some(fields) = schema(rtype)
    {
        let mut out = String::with_capacity(rdata.len() * 2 + 16);
        if walk::walk(rtype, fields, rdata, Some(&mut out)).is_ok() {
            return out;
        }
    }
    let mut out = format!("\\# {}", rdata.len());
    if !rdata.is_empty() {
        out.push(' ');
        codec::write_hex(rdata, &mut out);
    }
    out
}

/// See [`crate::validate_rdata`].
pub(crate) fn validate(rtype: Rtype, rdata: &[u8]) -> Result<(), String> {
    if rtype.is_meta() {
        return Err(format!("type {rtype} cannot appear in a zone"));
    }
    if rdata.len() > MAX_RDATA_LEN {
        return Err(format!("{rtype} RDATA longer than {MAX_RDATA_LEN} bytes"));
    }
    match schema(rtype) {
        Some(fields) => walk::walk(rtype, fields, rdata, None),
        None => Ok(()),
    }
}
