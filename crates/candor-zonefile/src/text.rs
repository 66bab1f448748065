//! Small presentation-format readers and writers shared by the master-file
//! parser and the RDATA codec: names, integers, TTLs, character strings and
//! addresses.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use candor_wire::{Name, NameError, wire_name_len};

/// Largest TTL (RFC 2181 §8).
pub(crate) const MAX_TTL: u32 = (1 << 31) - 1;

//----------- Error messages --------------------------------------------------

/// Shows input text in an error message: lossy UTF-8, control characters
/// escaped, cut after 64 bytes.
pub(crate) fn show(text: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = text.get(..MAX).unwrap_or(text);
    let mut out = String::with_capacity(cut.len() + 3);
    for c in String::from_utf8_lossy(cut).chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut.len() < text.len() {
        out.push_str("...");
    }
    out
}

//----------- Names -----------------------------------------------------------

/// Appends the wire form of presentation-format name `text` to `out`
/// (see [`candor_wire::text_to_wire`]).
pub(crate) fn name_to_wire(text: &[u8], origin: &Name, out: &mut Vec<u8>) -> Result<(), NameError> {
    candor_wire::text_to_wire(text, Some(origin), out)
}

pub(crate) use candor_wire::read_escape;

/// Writes the wire name at the start of `wire` in presentation format
/// (absolute, with a trailing dot). Returns the bytes it used, or `None` if
/// there is no valid uncompressed name there.
pub(crate) fn write_name(wire: &[u8], out: &mut String) -> Option<usize> {
    let len = wire_name_len(wire)?;
    let name = Name::from_wire(wire.get(..len)?).ok()?;
    let _ = write!(out, "{name}");
    Some(len)
}

//----------- Numbers and TTLs ------------------------------------------------

/// Reads a decimal integer of at most `max` (digits only, no sign).
pub(crate) fn parse_uint(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (value <= max).then_some(value)
}

/// Reads a time period in seconds: a plain number or BIND units such as
/// `1w2d3h4m5s` (a last number without a unit is seconds). Saturates at
/// `u64::MAX`, so callers can report out-of-range values.
pub(crate) fn parse_period(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for &b in text {
        if b.is_ascii_digit() {
            let n = number.unwrap_or(0);
            number = Some(n.saturating_mul(10).saturating_add(u64::from(b - b'0')));
            continue;
        }
        let unit: u64 = match b.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        total = total.saturating_add(number.take()?.saturating_mul(unit));
    }
    match number {
        Some(n) => Some(total.saturating_add(n)),
        // The text ended with a unit.
        None => Some(total),
    }
}

/// Reads a TTL (a period of at most 2^31 - 1 seconds), with a specific
/// message on failure.
pub(crate) fn parse_ttl(text: &[u8]) -> Result<u32, String> {
    let Some(value) = parse_period(text) else {
        return Err(format!("bad TTL \"{}\"", show(text)));
    };
    u32::try_from(value)
        .ok()
        .filter(|&v| v <= MAX_TTL)
        .ok_or_else(|| format!("TTL \"{}\" out of range (maximum {MAX_TTL})", show(text)))
}

//----------- Character strings -----------------------------------------------

/// Appends `text` with escapes `\X` and `\DDD` resolved.
pub(crate) fn unescape_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        i += 1;
        if c == b'\\' {
            let rest = text.get(i..).unwrap_or_default();
            let (byte, used) =
                read_escape(rest).map_err(|_| format!("bad escape in \"{}\"", show(text)))?;
            out.push(byte);
            i += used;
        } else {
            out.push(c);
        }
    }
    Ok(())
}

/// Writes bytes inside double quotes, escaping `"`, `\` and anything that
/// is not printable ASCII.
pub(crate) fn write_quoted(bytes: &[u8], out: &mut String) {
    out.push('"');
    write_escaped(bytes, out);
    out.push('"');
}

/// Writes bytes for use inside double quotes (without the quotes).
pub(crate) fn write_escaped(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

//----------- Addresses -------------------------------------------------------

/// Reads a dotted-quad IPv4 address strictly: four decimal octets, no
/// leading zeros.
pub(crate) fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut octet = 0usize;
    let mut value = 0u32;
    let mut digits = 0;
    for &b in text {
        match b {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 => {
                *out.get_mut(octet)? = value as u8;
                octet += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || octet != 3 {
        return None;
    }
    *out.get_mut(3)? = value as u8;
    Some(out)
}

/// Reads an IPv6 address in any RFC 4291 §2.2 form (with `::` and embedded
/// IPv4).
pub(crate) fn parse_ipv6(text: &[u8]) -> Option<[u8; 16]> {
    let text = std::str::from_utf8(text).ok()?;
    text.parse::<Ipv6Addr>().ok().map(|a| a.octets())
}

/// Writes an IPv4 address.
pub(crate) fn write_ipv4(octets: [u8; 4], out: &mut String) {
    let _ = write!(out, "{}", Ipv4Addr::from(octets));
}

/// Writes an IPv6 address in RFC 5952 form.
pub(crate) fn write_ipv6(octets: [u8; 16], out: &mut String) {
    let _ = write!(out, "{}", Ipv6Addr::from(octets));
}
