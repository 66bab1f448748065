//! Wire RDATA to text: one walk over the fields of a type's schema that
//! validates and, when asked, formats.

use candor_wire::Rtype;

use crate::codec;
use crate::rdata::{Field, Kind, check_semantics, hex_groups};
use crate::text;
use crate::{apl, loc, svcb};

/// Reads wire RDATA field by field.
pub(crate) struct Reader<'a> {
    /// The RDATA.
    data: &'a [u8],
    /// Where the next field starts.
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    /// All of the RDATA, including what has been taken.
    pub(crate) fn whole(&self) -> &'a [u8] {
        self.data
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    /// Takes all remaining bytes.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let bytes = self.data.get(self.pos..).unwrap_or_default();
        self.pos = self.data.len();
        bytes
    }

    /// The remaining bytes, without taking them.
    pub(crate) fn peek_rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// Takes a big-endian number of `N` bytes.
    pub(crate) fn uint<const N: usize>(&mut self) -> Option<u32> {
        let bytes = self.take(N)?;
        Some(bytes.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    }

    /// Takes one length-prefixed string.
    pub(crate) fn charstr(&mut self) -> Option<&'a [u8]> {
        let len = self.uint::<1>()?;
        self.take(len as usize)
    }

    /// Number of bytes not yet taken.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

/// Validates `rdata` against `fields` and, if `out` is given, formats it
/// there. Formatting may fail where validation does not (a LOC that has no
/// unique text form); the caller then uses the generic form.
pub(crate) fn walk(
    rtype: Rtype,
    fields: &[Field],
    rdata: &[u8],
    mut out: Option<&mut String>,
) -> Result<(), String> {
    let mut r = Reader::new(rdata);
    let mut last = "";
    for &(kind, what) in fields {
        if let Some(out) = out.as_deref_mut()
            && !out.is_empty()
        {
            out.push(' ');
        }
        walk_field(rtype, kind, what, &mut r, out.as_deref_mut())?;
        last = what;
    }
    if r.remaining() > 0 {
        return Err(format!("{rtype} RDATA has trailing data after the {last}"));
    }
    if let Some(out) = out {
        out.truncate(out.trim_end_matches(' ').len());
    }
    check_semantics(rtype, rdata)
}

/// Validates and formats one field.
fn walk_field(
    rtype: Rtype,
    kind: Kind,
    what: &str,
    r: &mut Reader<'_>,
    out: Option<&mut String>,
) -> Result<(), String> {
    let short = || format!("{rtype} RDATA ends before the {what}");
    let bad = || format!("{rtype} RDATA has a bad {what}");
    let formatting = out.is_some();
    let mut scratch = String::new();
    let text = match out {
        Some(out) => out,
        None => &mut scratch,
    };
    match kind {
        Kind::U8 | Kind::Alg => push_num(text, r.uint::<1>().ok_or_else(short)?),
        Kind::U16 => push_num(text, r.uint::<2>().ok_or_else(short)?),
        Kind::U32 | Kind::Period => push_num(text, r.uint::<4>().ok_or_else(short)?),
        Kind::Type => {
            let value = r.uint::<2>().ok_or_else(short)?;
            text.push_str(&Rtype(value as u16).to_string());
        }
        Kind::Time => codec::write_time(r.uint::<4>().ok_or_else(short)?, text),
        Kind::Name => {
            if r.remaining() == 0 {
                return Err(short());
            }
            let used = text::write_name(r.peek_rest(), text).ok_or_else(bad)?;
            r.take(used);
        }
        Kind::CharStr => text::write_quoted(r.charstr().ok_or_else(short)?, text),
        Kind::Strings => {
            if r.remaining() == 0 {
                return Err(short());
            }
            while r.remaining() > 0 {
                if !text.is_empty() && !text.ends_with(' ') {
                    text.push(' ');
                }
                text::write_quoted(r.charstr().ok_or_else(bad)?, text);
            }
        }
        Kind::Ipv4 => {
            let bytes = r.take(4).ok_or_else(short)?;
            text::write_ipv4(bytes.try_into().map_err(|_| short())?, text);
        }
        Kind::Ipv6 => {
            let bytes = r.take(16).ok_or_else(short)?;
            text::write_ipv6(bytes.try_into().map_err(|_| short())?, text);
        }
        Kind::Hex => {
            let bytes = r.rest();
            if bytes.is_empty() {
                return Err(short());
            }
            codec::write_hex(bytes, text);
        }
        Kind::Base64 => {
            let bytes = r.rest();
            if bytes.is_empty() {
                return Err(short());
            }
            codec::write_base64(bytes, text);
        }
        Kind::CaaTag => {
            let tag = r.charstr().ok_or_else(short)?;
            if tag.is_empty() || !tag.iter().all(u8::is_ascii_alphanumeric) {
                return Err(bad());
            }
            text.extend(tag.iter().map(|&b| char::from(b)));
        }
        Kind::Text => text::write_quoted(r.rest(), text),
        Kind::Salt => {
            let salt = r.charstr().ok_or_else(short)?;
            if salt.is_empty() {
                text.push('-');
            } else {
                codec::write_hex(salt, text);
            }
        }
        Kind::Hash => {
            let hash = r.charstr().ok_or_else(short)?;
            if hash.is_empty() {
                return Err(bad());
            }
            codec::write_base32hex(hash, text);
        }
        Kind::Bitmap => walk_bitmap(r.rest(), text).ok_or_else(bad)?,
        Kind::SvcParams => svcb::walk(rtype, r, text)?,
        Kind::Loc => {
            if !loc::walk(r.rest(), text)? && formatting {
                return Err(format!("{rtype} RDATA has no unique text form"));
            }
        }
        Kind::CertType => push_num(text, r.uint::<2>().ok_or_else(short)?),
        Kind::Gateway => {
            // The schema reads the gateway type just before.
            match r.whole().get(1) {
                Some(0) => text.push('.'),
                Some(1) => {
                    let bytes = r.take(4).ok_or_else(short)?;
                    text::write_ipv4(bytes.try_into().map_err(|_| short())?, text);
                }
                Some(2) => {
                    let bytes = r.take(16).ok_or_else(short)?;
                    text::write_ipv6(bytes.try_into().map_err(|_| short())?, text);
                }
                Some(3) => {
                    if r.remaining() == 0 {
                        return Err(short());
                    }
                    let used = text::write_name(r.peek_rest(), text).ok_or_else(bad)?;
                    r.take(used);
                }
                _ => return Err(format!("{rtype} RDATA has an unknown gateway type")),
            }
        }
        Kind::IpsecKey => {
            // The schema reads the algorithm two fields before.
            let algorithm = r.whole().get(2).copied().unwrap_or(0);
            let key = r.rest();
            match (algorithm, key.is_empty()) {
                (0, true) => {}
                (0, false) => return Err(format!("{rtype} RDATA has a {what} for algorithm 0")),
                (_, true) => return Err(short()),
                (_, false) => codec::write_base64(key, text),
            }
        }
        Kind::Apl => {
            if !apl::walk(rtype, r, text)? && formatting {
                return Err(format!("{rtype} RDATA has no unique text form"));
            }
        }
        Kind::Eui48 | Kind::Eui64 | Kind::L64 => {
            let (sep, group, groups) = hex_groups(kind);
            let bytes = r.take(group * groups).ok_or_else(short)?;
            codec::write_hex_groups(bytes, char::from(sep), group, text);
        }
    }
    Ok(())
}

/// Appends a decimal number.
fn push_num(out: &mut String, value: u32) {
    out.push_str(&value.to_string());
}

/// Validates a type bitmap and writes its types, separated by spaces.
fn walk_bitmap(mut bitmap: &[u8], out: &mut String) -> Option<()> {
    let mut previous: Option<u8> = None;
    let mut first = true;
    while let [window, len, rest @ ..] = bitmap {
        let len = usize::from(*len);
        if previous.is_some_and(|p| p >= *window) || !(1..=32).contains(&len) {
            return None;
        }
        let bits = rest.get(..len)?;
        if bits.last() == Some(&0) {
            return None;
        }
        for (i, &byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    if !first {
                        out.push(' ');
                    }
                    first = false;
                    let value = u16::from(*window) << 8 | (i * 8 + bit) as u16;
                    out.push_str(&Rtype(value).to_string());
                }
            }
        }
        previous = Some(*window);
        bitmap = rest.get(len..)?;
    }
    // One byte on its own cannot start a window.
    bitmap.is_empty().then_some(())
}
