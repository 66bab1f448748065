//! Binary-to-text encodings used in RDATA: hex (also in groups, for EUI
//! addresses and ILNP identifiers), base64 (RFC 4648 §4),
//! base32hex without padding (RFC 4648 §7, for NSEC3), and RRSIG
//! timestamps (RFC 4034 §3.2).

//----------- Hex -------------------------------------------------------------

/// Decodes hex digits that may be split over several tokens: feed each token
/// to [`HexDecoder::push`], then call [`HexDecoder::finish`].
#[derive(Default)]
pub(crate) struct HexDecoder {
    /// The high nibble of a byte whose low nibble is still to come.
    pending: Option<u8>,
}

impl HexDecoder {
    /// Decodes one token into `out`; `false` on a character that is not hex.
    pub(crate) fn push(&mut self, text: &[u8], out: &mut Vec<u8>) -> bool {
        for &c in text {
            let Some(nibble) = hex_value(c) else {
                return false;
            };
            match self.pending.take() {
                Some(high) => out.push(high << 4 | nibble),
                None => self.pending = Some(nibble),
            }
        }
        true
    }

    /// Whether the digits came in whole bytes.
    pub(crate) fn finish(self) -> bool {
        self.pending.is_none()
    }
}

/// The value of one hex digit.
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Appends bytes as upper-case hex.
pub(crate) fn write_hex(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

/// Reads `groups` groups of `group` bytes, each written as exactly
/// `2 * group` hex digits, joined by `sep`: EUI-48 and EUI-64 addresses
/// (RFC 7043 §3.2, §4.2) and ILNP identifiers (RFC 6742 §2.3).
pub(crate) fn parse_hex_groups(
    text: &[u8],
    sep: u8,
    group: usize,
    groups: usize,
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut count = 0;
    for part in text.split(|&c| c == sep) {
        if part.len() != 2 * group {
            return None;
        }
        let mut decoder = HexDecoder::default();
        if !decoder.push(part, out) {
            return None;
        }
        count += 1;
    }
    (count == groups).then_some(())
}

/// Lower-case hex digits.
const LOWER_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends bytes as lower-case hex in groups of `group` bytes joined by
/// `sep` (the inverse of [`parse_hex_groups`]).
pub(crate) fn write_hex_groups(bytes: &[u8], sep: char, group: usize, out: &mut String) {
    for (i, chunk) in bytes.chunks(group.max(1)).enumerate() {
        if i > 0 {
            out.push(sep);
        }
        for &b in chunk {
            out.push(char::from(LOWER_DIGITS[usize::from(b >> 4)]));
            out.push(char::from(LOWER_DIGITS[usize::from(b & 15)]));
        }
    }
}

//----------- Base64 ----------------------------------------------------------

/// The base64 alphabet (RFC 4648 §4).
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of one base64 digit.
fn base64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes padded base64 (whitespace already removed) into `out`.
pub(crate) fn base64_decode(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let quads = text.chunks_exact(4);
    let last = quads.len().checked_sub(1);
    for (n, quad) in quads.enumerate() {
        let &[a, b, c, d] = quad else { return None };
        let pad = match (c, d) {
            (b'=', b'=') => 2,
            (_, b'=') => 1,
            _ => 0,
        };
        if pad > 0 && Some(n) != last {
            return None;
        }
        let mut acc = base64_value(a)? << 18 | base64_value(b)? << 12;
        if pad < 2 {
            acc |= base64_value(c)? << 6;
        }
        if pad < 1 {
            acc |= base64_value(d)?;
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(bytes.get(1..4 - pad).unwrap_or_default());
    }
    Some(())
}

/// Appends bytes as padded base64.
pub(crate) fn write_base64(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let acc = b(0) << 16 | b(1) << 8 | b(2);
        let digit = |shift: u32| char::from(BASE64[((acc >> shift) & 63) as usize]);
        out.push(digit(18));
        out.push(digit(12));
        out.push(if chunk.len() > 1 { digit(6) } else { '=' });
        out.push(if chunk.len() > 2 { digit(0) } else { '=' });
    }
}

//----------- Base32hex -------------------------------------------------------

/// The base32hex alphabet (RFC 4648 §7).
const BASE32HEX: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

/// Decodes unpadded base32hex, ignoring case (RFC 5155 §3.3). The length
/// must be one a whole number of bytes produces, and unused bits must be
/// zero, so that the encoding is unique.
pub(crate) fn base32hex_decode(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !matches!(text.len() % 8, 0 | 2 | 4 | 5 | 7) {
        return None;
    }
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &c in text {
        let v = match c.to_ascii_uppercase() {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'A'..=b'V' => d - b'A' + 10,
            _ => return None,
        };
        acc = (acc << 5 | u64::from(v)) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    (acc & ((1 << bits) - 1) == 0).then_some(())
}

/// Appends bytes as unpadded upper-case base32hex.
pub(crate) fn write_base32hex(bytes: &[u8], out: &mut String) {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8 | u32::from(b)) & 0xfff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32HEX[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32HEX[((acc << (5 - bits)) & 31) as usize]));
    }
}

//----------- Timestamps ------------------------------------------------------

/// Reads an RRSIG timestamp: `YYYYMMDDHHmmSS` in UTC, or seconds since the
/// epoch as a plain number; both are taken modulo 2^32 (RFC 4034 §3.2).
pub(crate) fn parse_time(text: &[u8]) -> Option<u32> {
    if text.len() != 14 {
        return crate::text::parse_uint(text, u64::from(u32::MAX)).map(|v| v as u32);
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = text.get(from..to)?;
        crate::text::parse_uint(part, 9999).map(|v| v as i64)
    };
    let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
    let (hour, minute, second) = (num(8, 10)?, num(10, 12)?, num(12, 14)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(secs.rem_euclid(1 << 32) as u32)
}

/// Appends a timestamp as `YYYYMMDDHHmmSS`.
pub(crate) fn write_time(secs: u32, out: &mut String) {
    let secs = i64::from(secs);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    let text = format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    );
    out.push_str(&text);
}

/// Days in a month of the proleptic Gregorian calendar.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (inverse of
/// [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
