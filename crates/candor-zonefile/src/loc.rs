//! LOC records (RFC 1876): location, altitude and precision.
//!
//! Text: `d1 [m1 [s1]] N|S d2 [m2 [s2]] E|W alt[m] [siz[m] [hp[m] [vp[m]]]]`.
//! Sizes and precisions are stored as a digit times a power of ten
//! centimetres, so text such as `1.5m` is rounded down as BIND does.

use crate::lexer::Cursor;
use crate::text::{self, show};

/// The equator and the prime meridian on the wire (RFC 1876 §2).
const ZERO_ANGLE: i64 = 1 << 31;

/// Altitude 0 on the wire: 100,000 m below the WGS 84 spheroid, in cm.
const ZERO_ALTITUDE: i64 = 10_000_000;

/// Thousandths of an arc second in a degree.
const MS_PER_DEGREE: i64 = 3_600_000;

/// The default size (1 m), horizontal precision (10,000 m) and vertical
/// precision (10 m), encoded.
const DEFAULTS: [u8; 3] = [0x12, 0x16, 0x13];

//----------- Text to wire ----------------------------------------------------

/// Reads a LOC RDATA from the rest of `cur` and appends it to `out`.
pub(crate) fn encode(cur: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let latitude = angle(cur, *b"NS", 90, "latitude")?;
    let longitude = angle(cur, *b"EW", 180, "longitude")?;
    let tok = cur.required("altitude")?;
    let altitude = meters(tok.text)
        .map(|cm| cm + ZERO_ALTITUDE)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("bad altitude \"{}\"", show(tok.text)))?;
    let mut precision = DEFAULTS;
    let names = ["size", "horizontal precision", "vertical precision"];
    for (slot, what) in precision.iter_mut().zip(names) {
        let Some(tok) = cur.next() else { break };
        *slot = meters(tok.text)
            .filter(|cm| (0..=9_000_000_000).contains(cm))
            .map(encode_precision)
            .ok_or_else(|| format!("bad {what} \"{}\"", show(tok.text)))?;
    }
    out.push(0);
    out.extend_from_slice(&precision);
    out.extend_from_slice(&latitude.to_be_bytes());
    out.extend_from_slice(&longitude.to_be_bytes());
    out.extend_from_slice(&altitude.to_be_bytes());
    Ok(())
}

/// Reads `deg [min [sec]] hemisphere`; `hemispheres` holds the letter of
/// the positive one, then of the negative one.
fn angle(cur: &mut Cursor<'_>, hemispheres: [u8; 2], max: i64, what: &str) -> Result<u32, String> {
    let mut numbers: [&[u8]; 3] = [b"0"; 3];
    let mut count = 0;
    let sign = loop {
        let tok = cur.required(what)?;
        if count > 0
            && let Some(sign) = hemisphere(tok.text, hemispheres)
        {
            break sign;
        }
        let Some(slot) = numbers.get_mut(count) else {
            return Err(format!("missing hemisphere in {what}"));
        };
        *slot = tok.text;
        count += 1;
    };
    let [deg, min, sec] = numbers;
    let bad = |text: &[u8]| format!("bad {what} \"{}\"", show(text));
    let deg = whole(deg, max).ok_or_else(|| bad(deg))?;
    let min = whole(min, 59).ok_or_else(|| bad(min))?;
    let ms = seconds(sec).ok_or_else(|| bad(sec))?;
    let total = (deg * 60 + min) * 60_000 + ms;
    if total > max * MS_PER_DEGREE {
        return Err(format!("{what} out of range"));
    }
    u32::try_from(ZERO_ANGLE + sign * total).map_err(|_| format!("{what} out of range"))
}

/// The sign for a hemisphere letter: 1 for the first of `hemispheres`, -1
/// for the second.
fn hemisphere(text: &[u8], hemispheres: [u8; 2]) -> Option<i64> {
    let [letter] = text else { return None };
    let [positive, negative] = hemispheres;
    match letter.to_ascii_uppercase() {
        l if l == positive => Some(1),
        l if l == negative => Some(-1),
        _ => None,
    }
}

/// Reads a whole number of at most `max`.
fn whole(text: &[u8], max: i64) -> Option<i64> {
    text::parse_uint(text, max as u64).map(|v| v as i64)
}

/// Reads seconds with up to three decimals, in thousandths.
fn seconds(text: &[u8]) -> Option<i64> {
    let (int, frac) = split_decimal(text, 3)?;
    let int = whole(int, 59)?;
    Some(int * 1000 + frac)
}

/// Splits `int[.frac]`, with at most `places` digits after the point, and
/// returns the fraction scaled to `places` digits.
fn split_decimal(text: &[u8], places: u32) -> Option<(&[u8], i64)> {
    let Some(dot) = text.iter().position(|&b| b == b'.') else {
        return Some((text, 0));
    };
    let int = text.get(..dot)?;
    let frac = text.get(dot + 1..)?;
    if frac.is_empty() || frac.len() > places as usize {
        return None;
    }
    let value = whole(frac, i64::MAX)?;
    Some((int, value * 10i64.pow(places - frac.len() as u32)))
}

/// Reads `[-]m[.cc][m]` as centimetres.
fn meters(text: &[u8]) -> Option<i64> {
    let text = text
        .strip_suffix(b"m")
        .or_else(|| text.strip_suffix(b"M"))
        .unwrap_or(text);
    let (negative, text) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, cm) = split_decimal(text, 2)?;
    let value = whole(int, 100_000_000_000)? * 100 + cm;
    Some(if negative { -value } else { value })
}

/// Encodes centimetres as a digit and a power of ten, rounding down.
fn encode_precision(cm: i64) -> u8 {
    let mut exponent = 0u32;
    while exponent < 9 && cm >= 10i64.pow(exponent + 1) {
        exponent += 1;
    }
    let mantissa = (cm / 10i64.pow(exponent)).min(9);
    (mantissa as u8) << 4 | exponent as u8
}

//----------- Wire to text ----------------------------------------------------

/// Validates a LOC RDATA and formats it into `out`. `Ok(false)` means it is
/// valid but has no text form that reads back to the same bytes (another
/// version, or a zero size written with a non-zero exponent).
pub(crate) fn walk(data: &[u8], out: &mut String) -> Result<bool, String> {
    let Some((&version, _)) = data.split_first() else {
        return Err("LOC RDATA is empty".to_owned());
    };
    if version != 0 {
        return Ok(false);
    }
    let Ok::<[u8; 16], _>(bytes) = data.try_into() else {
        return Err(format!("LOC RDATA must be 16 bytes, not {}", data.len()));
    };
    let [_, size, hp, vp, rest @ ..] = bytes;
    let [a0, a1, a2, a3, o0, o1, o2, o3, h0, h1, h2, h3] = rest;
    let latitude = i64::from(u32::from_be_bytes([a0, a1, a2, a3])) - ZERO_ANGLE;
    let longitude = i64::from(u32::from_be_bytes([o0, o1, o2, o3])) - ZERO_ANGLE;
    let altitude = i64::from(u32::from_be_bytes([h0, h1, h2, h3])) - ZERO_ALTITUDE;
    if latitude.abs() > 90 * MS_PER_DEGREE || longitude.abs() > 180 * MS_PER_DEGREE {
        return Err("LOC RDATA has a bad latitude or longitude".to_owned());
    }
    let mut canonical = true;
    for p in [size, hp, vp] {
        let (mantissa, exponent) = (p >> 4, p & 15);
        if mantissa > 9 || exponent > 9 {
            return Err("LOC RDATA has a bad size or precision".to_owned());
        }
        canonical &= mantissa != 0 || exponent == 0;
    }
    write_angle(latitude, *b"NS", out);
    out.push(' ');
    write_angle(longitude, *b"EW", out);
    out.push(' ');
    write_meters(altitude, out);
    for p in [size, hp, vp] {
        out.push(' ');
        write_meters(i64::from(p >> 4) * 10i64.pow(u32::from(p & 15)), out);
    }
    Ok(canonical)
}

/// Writes `deg min sec.ms H` for thousandths of an arc second from zero.
fn write_angle(value: i64, hemispheres: [u8; 2], out: &mut String) {
    let [positive, negative] = hemispheres;
    let h = char::from(if value < 0 { negative } else { positive });
    let v = value.abs();
    let text = format!(
        "{} {} {}.{:03} {h}",
        v / MS_PER_DEGREE,
        v / 60_000 % 60,
        v / 1000 % 60,
        v % 1000
    );
    out.push_str(&text);
}

/// Writes centimetres as metres with two decimals and an `m`.
fn write_meters(cm: i64, out: &mut String) {
    let sign = if cm < 0 { "-" } else { "" };
    out.push_str(&format!("{sign}{}.{:02}m", cm.abs() / 100, cm.abs() % 100));
}
