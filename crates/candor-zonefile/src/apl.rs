//! APL RDATA (RFC 3123): a possibly empty list of address prefixes.
//!
//! In text each item is `[!]family:address/prefix`; on the wire it is the
//! family, the prefix length, the negation flag with the length of the
//! address part, and the address without its trailing zero bytes (§4).
//! Only the two families with a text form (§5) are read: 1 (IPv4) and 2
//! (IPv6), as in Knot. Wire items of other families, and addresses that
//! end in a zero byte (text would shorten them), are valid but have no
//! unique text form, so such RDATA is shown in the RFC 3597 generic form.

use candor_wire::Rtype;

use crate::lexer::Cursor;
use crate::text::{self, show};
use crate::walk::Reader;

/// The negation flag in the byte that also holds the address length.
const NEGATED: u8 = 0x80;

/// The address length and the longest prefix of a family with a text form.
fn family(number: u16) -> Option<(usize, u8)> {
    match number {
        1 => Some((4, 32)),
        2 => Some((16, 128)),
        _ => None,
    }
}

/// Reads every remaining token as one item and appends its wire form.
pub(crate) fn encode(cur: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    for tok in cur.by_ref() {
        encode_item(tok.text, out)
            .map_err(|why| format!("bad address prefix \"{}\": {why}", show(tok.text)))?;
    }
    Ok(())
}

/// Appends the wire form of one `[!]family:address/prefix` item.
fn encode_item(item: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    const SHAPE: &str = "expected [!]family:address/prefix";
    let (negated, rest) = match item.split_first() {
        Some((b'!', rest)) => (true, rest),
        _ => (false, item),
    };
    let colon = rest.iter().position(|&c| c == b':').ok_or(SHAPE)?;
    let slash = rest.iter().rposition(|&c| c == b'/').ok_or(SHAPE)?;
    let (Some(number), Some(address), Some(prefix)) = (
        rest.get(..colon),
        rest.get(colon + 1..slash),
        rest.get(slash + 1..),
    ) else {
        return Err(SHAPE);
    };
    let number = text::parse_uint(number, u64::from(u16::MAX)).ok_or(SHAPE)? as u16;
    let (len, max) = family(number).ok_or("the address family must be 1 or 2")?;
    let prefix = text::parse_uint(prefix, u64::from(max)).ok_or("bad prefix length")? as u8;
    let mut bytes = [0u8; 16];
    match number {
        1 => {
            let octets = text::parse_ipv4(address).ok_or("bad IPv4 address")?;
            bytes[..4].copy_from_slice(&octets);
        }
        _ => bytes = text::parse_ipv6(address).ok_or("bad IPv6 address")?,
    }
    let address = bytes.get(..len).unwrap_or_default();
    let used = address
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    out.extend_from_slice(&number.to_be_bytes());
    out.push(prefix);
    out.push(used as u8 | if negated { NEGATED } else { 0 });
    out.extend_from_slice(address.get(..used).unwrap_or_default());
    Ok(())
}

/// Validates the rest of `r` as APL items and writes them, separated by
/// spaces. `Ok(false)` if they are valid but have no unique text form.
pub(crate) fn walk(rtype: Rtype, r: &mut Reader<'_>, out: &mut String) -> Result<bool, String> {
    let bad = || format!("{rtype} RDATA has a bad address prefix");
    let mut unique = true;
    while r.remaining() > 0 {
        let number = r.uint::<2>().ok_or_else(bad)? as u16;
        let prefix = r.uint::<1>().ok_or_else(bad)? as u8;
        let flags = r.uint::<1>().ok_or_else(bad)? as u8;
        let used = usize::from(flags & !NEGATED);
        let address = r.take(used).ok_or_else(bad)?;
        let Some((len, max)) = family(number) else {
            unique = false;
            continue;
        };
        if prefix > max || used > len {
            return Err(bad());
        }
        if address.last() == Some(&0) {
            unique = false;
        }
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        if flags & NEGATED != 0 {
            out.push('!');
        }
        let mut bytes = [0u8; 16];
        if let Some(head) = bytes.get_mut(..used) {
            head.copy_from_slice(address);
        }
        out.push_str(&number.to_string());
        out.push(':');
        if number == 1 {
            text::write_ipv4([bytes[0], bytes[1], bytes[2], bytes[3]], out);
        } else {
            text::write_ipv6(bytes, out);
        }
        out.push('/');
        out.push_str(&prefix.to_string());
    }
    Ok(unique)
}
