//! SVCB and HTTPS parameters (RFC 9460 §2.1 and Appendix A).
//!
//! A parameter is `key=value` or a bare `key`; the value may be quoted
//! (`alpn="h2,h3"`). Values are read in two steps, as Appendix A.1 says:
//! first as a character string (`\X`, `\DDD`), then, for list-valued keys,
//! split at commas not escaped with a backslash. So a literal comma in an
//! ALPN id is `\\,` in the zone file, and a literal backslash `\\\\`.
//! On the wire the parameters are sorted by key with no duplicates.

use candor_wire::Rtype;

use crate::codec;
use crate::lexer::Cursor;
use crate::text::{self, show};
use crate::walk::Reader;

/// The named keys, indexed by number (RFC 9460 §14.3.2, RFC 9461, RFC 9540).
const KEYS: &[&str] = &[
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
    "dohpath",
    "ohttp",
];

/// `mandatory`.
const MANDATORY: u16 = 0;
/// `alpn`.
const ALPN: u16 = 1;
/// `no-default-alpn`.
const NO_DEFAULT_ALPN: u16 = 2;
/// `port`.
const PORT: u16 = 3;
/// `ipv4hint`.
const IPV4HINT: u16 = 4;
/// `ech`.
const ECH: u16 = 5;
/// `ipv6hint`.
const IPV6HINT: u16 = 6;
/// `ohttp`.
const OHTTP: u16 = 8;

/// Reads a key name or `keyNNNNN` (65535 is reserved and refused).
fn parse_key(text: &[u8]) -> Option<u16> {
    if let Some(i) = KEYS
        .iter()
        .position(|k| k.as_bytes().eq_ignore_ascii_case(text))
    {
        return u16::try_from(i).ok();
    }
    let digits = text.strip_prefix(b"key")?;
    if digits.len() > 1 && digits.first() == Some(&b'0') {
        return None;
    }
    text::parse_uint(digits, 65534).map(|v| v as u16)
}

/// The presentation name of a key.
fn key_name(key: u16) -> String {
    match KEYS.get(usize::from(key)) {
        Some(name) => (*name).to_owned(),
        None => format!("key{key}"),
    }
}

//----------- Text to wire ----------------------------------------------------

/// Reads the parameters from the rest of `cur` and appends them to `out`;
/// the RDATA (priority first) starts at `start`.
pub(crate) fn encode(
    rtype: Rtype,
    cur: &mut Cursor<'_>,
    out: &mut Vec<u8>,
    start: usize,
) -> Result<(), String> {
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut mandatory: Vec<u16> = Vec::new();
    for tok in cur.by_ref() {
        let (key_text, value) = match tok.text.iter().position(|&b| b == b'=') {
            Some(i) => (tok.text.get(..i).unwrap_or_default(), tok.text.get(i + 1..)),
            None => (tok.text, None),
        };
        let key = parse_key(key_text)
            .ok_or_else(|| format!("unknown SvcParamKey \"{}\"", show(key_text)))?;
        let mut raw = Vec::new();
        if let Some(value) = value {
            text::unescape_into(strip_quotes(value), &mut raw)?;
        }
        let wire = encode_value(key, value.is_some(), &raw, &mut mandatory)?;
        params.push((key, wire));
    }
    params.sort_by_key(|&(key, _)| key);
    if let Some(pair) = params
        .windows(2)
        .find(|w| matches!(w, [a, b] if a.0 == b.0))
    {
        let key = pair.first().map_or(0, |p| p.0);
        return Err(format!("duplicate SvcParamKey {}", key_name(key)));
    }
    let priority = match out.get(start..start + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    };
    let keys: Vec<u16> = params.iter().map(|&(key, _)| key).collect();
    check(rtype, priority, &keys, &mandatory)?;
    for (key, value) in params {
        let len = u16::try_from(value.len())
            .map_err(|_| format!("SvcParam {} longer than 65535 bytes", key_name(key)))?;
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value);
    }
    Ok(())
}

/// Removes the quotes around a `key="value"` value.
fn strip_quotes(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

/// Converts one value (already unescaped once) to wire form. Keys listed
/// by `mandatory` are added to `mandatory`.
fn encode_value(
    key: u16,
    has_value: bool,
    raw: &[u8],
    mandatory: &mut Vec<u16>,
) -> Result<Vec<u8>, String> {
    let name = key_name(key);
    let needs_value = matches!(key, MANDATORY | ALPN | PORT | IPV4HINT | ECH | IPV6HINT);
    if needs_value && (!has_value || raw.is_empty()) {
        return Err(format!("SvcParamKey {name} needs a value"));
    }
    let bad = || format!("bad {name} value \"{}\"", show(raw));
    let mut wire = Vec::new();
    match key {
        MANDATORY => {
            let mut keys = Vec::new();
            for item in split_list(raw, &name)? {
                let listed = parse_key(&item)
                    .ok_or_else(|| format!("unknown SvcParamKey \"{}\"", show(&item)))?;
                if listed == MANDATORY {
                    return Err("mandatory must not list itself".to_owned());
                }
                keys.push(listed);
            }
            keys.sort_unstable();
            if keys.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
                return Err("duplicate key in mandatory".to_owned());
            }
            for listed in &keys {
                wire.extend_from_slice(&listed.to_be_bytes());
            }
            mandatory.extend_from_slice(&keys);
        }
        ALPN => {
            for item in split_list(raw, &name)? {
                let len = u8::try_from(item.len())
                    .map_err(|_| "alpn id longer than 255 bytes".to_owned())?;
                wire.push(len);
                wire.extend_from_slice(&item);
            }
        }
        NO_DEFAULT_ALPN | OHTTP => {
            if !raw.is_empty() {
                return Err(format!("SvcParamKey {name} takes no value"));
            }
        }
        PORT => {
            let port = text::parse_uint(raw, u64::from(u16::MAX)).ok_or_else(bad)?;
            wire.extend_from_slice(&(port as u16).to_be_bytes());
        }
        IPV4HINT => {
            for item in split_list(raw, &name)? {
                wire.extend_from_slice(&text::parse_ipv4(&item).ok_or_else(bad)?);
            }
        }
        IPV6HINT => {
            for item in split_list(raw, &name)? {
                wire.extend_from_slice(&text::parse_ipv6(&item).ok_or_else(bad)?);
            }
        }
        ECH => codec::base64_decode(raw, &mut wire).ok_or_else(bad)?,
        _ => wire.extend_from_slice(raw),
    }
    Ok(wire)
}

/// Splits a value list at commas; `\X` stands for `X` (Appendix A.1).
fn split_list(raw: &[u8], name: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut items = vec![Vec::new()];
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b',' => items.push(Vec::new()),
            b'\\' => {
                let &next = bytes
                    .next()
                    .ok_or_else(|| format!("bad escape in {name} list"))?;
                if let Some(item) = items.last_mut() {
                    item.push(next);
                }
            }
            _ => {
                if let Some(item) = items.last_mut() {
                    item.push(b);
                }
            }
        }
    }
    if items.iter().any(Vec::is_empty) {
        return Err(format!("empty item in {name} list"));
    }
    Ok(items)
}

/// Checks the rules that involve several parameters (RFC 9460 §2.4.2,
/// §8): AliasMode has none, and every mandatory key is present.
fn check(rtype: Rtype, priority: u16, keys: &[u16], mandatory: &[u16]) -> Result<(), String> {
    if priority == 0 && !keys.is_empty() {
        return Err(format!(
            "{rtype} in AliasMode (priority 0) must not have SvcParams"
        ));
    }
    match mandatory.iter().find(|key| !keys.contains(key)) {
        Some(&key) => Err(format!(
            "mandatory SvcParamKey {} is missing",
            key_name(key)
        )),
        None => Ok(()),
    }
}

//----------- Wire to text ----------------------------------------------------

/// Validates the parameters left in `r` and formats them into `out`.
pub(crate) fn walk(rtype: Rtype, r: &mut Reader<'_>, out: &mut String) -> Result<(), String> {
    let priority = match r.whole() {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let truncated = || format!("{rtype} RDATA ends inside a SvcParam");
    let mut keys: Vec<u16> = Vec::new();
    let mut mandatory: Vec<u16> = Vec::new();
    while r.remaining() > 0 {
        let key = r.uint::<2>().ok_or_else(truncated)? as u16;
        let len = r.uint::<2>().ok_or_else(truncated)? as usize;
        let value = r.take(len).ok_or_else(truncated)?;
        if keys.last().is_some_and(|&last| last >= key) {
            return Err(format!(
                "{rtype} SvcParamKeys are not in strictly increasing order"
            ));
        }
        if key == u16::MAX {
            return Err(format!("{rtype} RDATA uses the reserved SvcParamKey 65535"));
        }
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(&key_name(key));
        walk_value(key, value, out, &mut mandatory)
            .ok_or_else(|| format!("{rtype} RDATA has a bad {} value", key_name(key)))?;
        keys.push(key);
    }
    check(rtype, priority, &keys, &mandatory)
}

/// Validates and formats one value (with its `=`); `None` if it is bad.
fn walk_value(key: u16, value: &[u8], out: &mut String, mandatory: &mut Vec<u16>) -> Option<()> {
    match key {
        MANDATORY => {
            let mut previous: Option<u16> = None;
            for pair in chunks(value, 2)? {
                let listed = u16::from_be_bytes(pair.try_into().ok()?);
                if listed == MANDATORY || previous.is_some_and(|p| p >= listed) {
                    return None;
                }
                out.push(if previous.is_none() { '=' } else { ',' });
                out.push_str(&key_name(listed));
                previous = Some(listed);
                mandatory.push(listed);
            }
        }
        ALPN => {
            let mut rest = value;
            if rest.is_empty() {
                return None;
            }
            out.push_str("=\"");
            let mut first = true;
            while let [len, tail @ ..] = rest {
                let id = tail.get(..usize::from(*len)).filter(|id| !id.is_empty())?;
                if !first {
                    out.push(',');
                }
                first = false;
                for &b in id {
                    match b {
                        b',' => out.push_str("\\\\,"),
                        b'\\' => out.push_str("\\\\\\\\"),
                        _ => text::write_escaped(&[b], out),
                    }
                }
                rest = tail.get(usize::from(*len)..)?;
            }
            out.push('"');
        }
        NO_DEFAULT_ALPN | OHTTP => {
            if !value.is_empty() {
                return None;
            }
        }
        PORT => {
            let port = u16::from_be_bytes(value.try_into().ok()?);
            out.push_str(&format!("={port}"));
        }
        IPV4HINT => {
            for (i, addr) in chunks(value, 4)?.enumerate() {
                out.push(if i == 0 { '=' } else { ',' });
                text::write_ipv4(addr.try_into().ok()?, out);
            }
        }
        IPV6HINT => {
            for (i, addr) in chunks(value, 16)?.enumerate() {
                out.push(if i == 0 { '=' } else { ',' });
                text::write_ipv6(addr.try_into().ok()?, out);
            }
        }
        ECH => {
            if value.is_empty() {
                return None;
            }
            out.push('=');
            codec::write_base64(value, out);
        }
        _ => {
            if !value.is_empty() {
                out.push('=');
                text::write_quoted(value, out);
            }
        }
    }
    Some(())
}

/// Splits a non-empty value into items of `size` bytes; `None` if it does
/// not divide evenly.
fn chunks(value: &[u8], size: usize) -> Option<std::slice::ChunksExact<'_, u8>> {
    (!value.is_empty() && value.len().is_multiple_of(size)).then(|| value.chunks_exact(size))
}
