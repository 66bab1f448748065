//! TSIG (RFC 8945): keys, verifying signed requests, and signing every
//! message of a response, the many messages of a zone transfer included
//! (§5.3.1: each MAC covers the previous MAC, the message and the timers).
//!
//! The MACs are HMACs from the `hmac` and `sha2` crates (RustCrypto, which
//! Candor already uses for webhook signatures), with the comparison done
//! in constant time by `hmac`. Only full-length MACs are accepted.
//! Secrets never appear in `Debug` output.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use candor_wire::decode::read_name;
use candor_wire::{Class, Name, Rtype};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

//----------- Errors ---------------------------------------------------------

/// TSIG error: the MAC does not verify (RFC 8945 §5.2.2).
pub const BADSIG: u16 = 16;
/// TSIG error: the key or its algorithm is unknown (RFC 8945 §5.2.1).
pub const BADKEY: u16 = 17;
/// TSIG error: the time signed is outside the fudge (RFC 8945 §5.2.3).
pub const BADTIME: u16 = 18;
/// TSIG error: the MAC was truncated more than allowed (RFC 8945 §5.2.2.1).
pub const BADTRUNC: u16 = 22;

/// How far the signer's clock may be from ours, in seconds, in what we
/// sign (RFC 8945 §10 recommends 300).
pub const FUDGE: u16 = 300;

//----------- Algorithm ------------------------------------------------------

/// A TSIG algorithm (RFC 8945 §6). HMAC-MD5 is not offered (§6: MUST NOT
/// use), nor HMAC-SHA1 (NOT RECOMMENDED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `hmac-sha256`, mandatory to implement and the default.
    HmacSha256,
    /// `hmac-sha384`.
    HmacSha384,
    /// `hmac-sha512`.
    HmacSha512,
}

impl Algorithm {
    /// Every algorithm, in the order they are offered.
    pub const ALL: [Algorithm; 3] = [
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ];

    /// The algorithm's name, as Knot, BIND and kdig spell it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm with this name (any case, final dot optional).
    pub fn from_name(text: &str) -> Option<Algorithm> {
        let text = text.strip_suffix('.').unwrap_or(text);
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(text))
    }

    /// The algorithm's name as an uncompressed, lower-case wire name.
    pub(crate) fn wire(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha384 => b"\x0bhmac-sha384\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The algorithm whose wire name this is (any case).
    fn from_wire(wire: &[u8]) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.wire().eq_ignore_ascii_case(wire))
    }

    /// The length of a full MAC.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }

    /// The MAC of the concatenation of `parts`.
    fn mac(self, secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        /// One HMAC over `parts`.
        fn run<M: Mac + KeyInit>(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes keys of any length, so this always succeeds.
            match <M as KeyInit>::new_from_slice(secret) {
                Ok(mut mac) => {
                    for part in parts {
                        mac.update(part);
                    }
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Algorithm::HmacSha256 => run::<Hmac<Sha256>>(secret, parts),
            Algorithm::HmacSha384 => run::<Hmac<Sha384>>(secret, parts),
            Algorithm::HmacSha512 => run::<Hmac<Sha512>>(secret, parts),
        }
    }

    /// Whether `mac` is the MAC of `parts`, compared in constant time.
    fn verify(self, secret: &[u8], parts: &[&[u8]], mac: &[u8]) -> bool {
        /// One HMAC over `parts`, checked against `mac`.
        fn run<M: Mac + KeyInit>(secret: &[u8], parts: &[&[u8]], mac: &[u8]) -> bool {
            match <M as KeyInit>::new_from_slice(secret) {
                Ok(mut m) => {
                    for part in parts {
                        m.update(part);
                    }
                    m.verify_slice(mac).is_ok()
                }
                Err(_) => false,
            }
        }
        match self {
            Algorithm::HmacSha256 => run::<Hmac<Sha256>>(secret, parts, mac),
            Algorithm::HmacSha384 => run::<Hmac<Sha384>>(secret, parts, mac),
            Algorithm::HmacSha512 => run::<Hmac<Sha512>>(secret, parts, mac),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

//----------- Keys -----------------------------------------------------------

/// A TSIG key: a name both sides know it by, an algorithm and a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// The key's name, lower-cased.
    name: Name,
    /// Its algorithm.
    algorithm: Algorithm,
    /// The shared secret.
    secret: Vec<u8>,
}

impl Key {
    /// A key named `name` (compared without case).
    pub fn new(name: &Name, algorithm: Algorithm, secret: Vec<u8>) -> Key {
        Key {
            name: name.to_lowercase(),
            algorithm,
            secret,
        }
    }

    /// The key's name, lower-cased.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret: keys end up in logs through Debug.
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The keys a server knows, by name.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    /// Keys by lower-cased wire name.
    keys: HashMap<Box<[u8]>, Arc<Key>>,
}

impl KeyRing {
    /// A ring holding `keys` (a later key of the same name wins).
    pub fn new(keys: impl IntoIterator<Item = Key>) -> KeyRing {
        KeyRing {
            keys: keys
                .into_iter()
                .map(|k| (k.name.as_wire().into(), Arc::new(k)))
                .collect(),
        }
    }

    /// The key with this name (any case).
    pub fn get(&self, name: &Name) -> Option<&Arc<Key>> {
        self.keys.get(name.to_lowercase().as_wire())
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

//----------- The TSIG record ------------------------------------------------

/// A TSIG record read from the end of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsigRecord<'a> {
    /// Where the record starts in the message.
    pub start: usize,
    /// The key's name.
    pub key_name: Name,
    /// The algorithm's name, in wire form as received.
    pub algorithm: Vec<u8>,
    /// When the message was signed (seconds since 1970, 48 bits).
    pub time_signed: u64,
    /// How far off the clocks may be, in seconds.
    pub fudge: u16,
    /// The MAC.
    pub mac: &'a [u8],
    /// The message ID before any forwarder changed it.
    pub original_id: u16,
    /// The TSIG error field.
    pub error: u16,
    /// Other data (the server's time in a BADTIME response).
    pub other: &'a [u8],
}

/// Reads the TSIG record that starts at `start` and ends the message;
/// `None` if it is malformed, is not class ANY, TTL 0, or does not end
/// the message exactly.
pub fn read_tsig(msg: &[u8], start: usize) -> Option<TsigRecord<'_>> {
    let (key_name, pos) = read_name(msg, start).ok()?;
    let fixed = msg.get(pos..pos + 10)?;
    let word = |b: &[u8], i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    if Rtype(word(fixed, 0)) != Rtype::TSIG
        || Class(word(fixed, 2)) != Class::ANY
        || fixed[4..8] != [0, 0, 0, 0]
    {
        return None;
    }
    let rdata_start = pos + 10;
    let rdata_end = rdata_start + usize::from(word(fixed, 8));
    if rdata_end != msg.len() {
        return None;
    }
    let (algorithm, p) = read_name(msg, rdata_start).ok()?;
    let rd = msg.get(p..rdata_end)?;
    let fixed1 = rd.get(..10)?;
    let time_signed = u64::from_be_bytes([
        0, 0, fixed1[0], fixed1[1], fixed1[2], fixed1[3], fixed1[4], fixed1[5],
    ]);
    let fudge = word(fixed1, 6);
    let mac_len = usize::from(word(fixed1, 8));
    let mac = rd.get(10..10 + mac_len)?;
    let rest = rd.get(10 + mac_len..)?;
    let tail = rest.get(..6)?;
    let other_len = usize::from(word(tail, 4));
    let other = rest.get(6..6 + other_len)?;
    if rest.len() != 6 + other_len {
        return None;
    }
    Some(TsigRecord {
        start,
        key_name,
        algorithm: algorithm.as_wire().to_vec(),
        time_signed,
        fudge,
        mac,
        original_id: word(tail, 0),
        error: word(tail, 2),
        other,
    })
}

/// The "TSIG variables" of RFC 8945 §4.3.3 that a full MAC covers.
fn variables(key: &Key, time_signed: u64, fudge: u16, error: u16, other: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(key.name.wire_len() + 30 + other.len());
    v.extend_from_slice(key.name.as_wire());
    v.extend_from_slice(&Class::ANY.0.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(key.algorithm.wire());
    v.extend_from_slice(&timers(time_signed, fudge));
    v.extend_from_slice(&error.to_be_bytes());
    v.extend_from_slice(&(other.len() as u16).to_be_bytes());
    v.extend_from_slice(other);
    v
}

/// Time signed (48 bits) and fudge, as on the wire.
fn timers(time_signed: u64, fudge: u16) -> [u8; 8] {
    let t = time_signed.to_be_bytes();
    let f = fudge.to_be_bytes();
    [t[2], t[3], t[4], t[5], t[6], t[7], f[0], f[1]]
}

/// A MAC with its two-byte length in front, as the next MAC covers it.
fn prefixed(mac: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + mac.len());
    v.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    v.extend_from_slice(mac);
    v
}

/// The message without its TSIG record: ARCOUNT one less and the ID set
/// back to the original ID (RFC 8945 §4.3.1).
fn stripped(msg: &[u8], tsig: &TsigRecord<'_>) -> Option<Vec<u8>> {
    let mut m = msg.get(..tsig.start)?.to_vec();
    if m.len() < 12 {
        return None;
    }
    let arcount = u16::from_be_bytes([m[10], m[11]]).checked_sub(1)?;
    m[10..12].copy_from_slice(&arcount.to_be_bytes());
    m[0..2].copy_from_slice(&tsig.original_id.to_be_bytes());
    Some(m)
}

/// Appends a TSIG record to the message in `buf[..len]` and counts it in
/// ARCOUNT. Returns the new length, or `None` if `buf` is too short.
fn append(buf: &mut [u8], len: usize, key: &Key, fields: &Fields<'_>) -> Option<usize> {
    let mut rr = Vec::with_capacity(64 + fields.mac.len());
    rr.extend_from_slice(key.name.as_wire());
    rr.extend_from_slice(&Rtype::TSIG.0.to_be_bytes());
    rr.extend_from_slice(&Class::ANY.0.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 0]);
    let rdlen_at = rr.len();
    rr.extend_from_slice(&[0, 0]);
    rr.extend_from_slice(key.algorithm.wire());
    rr.extend_from_slice(&timers(fields.time_signed, FUDGE));
    rr.extend_from_slice(&(fields.mac.len() as u16).to_be_bytes());
    rr.extend_from_slice(fields.mac);
    rr.extend_from_slice(&fields.original_id.to_be_bytes());
    rr.extend_from_slice(&fields.error.to_be_bytes());
    rr.extend_from_slice(&(fields.other.len() as u16).to_be_bytes());
    rr.extend_from_slice(fields.other);
    let rdlen = (rr.len() - rdlen_at - 2) as u16;
    rr[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    let end = len + rr.len();
    if len < 12 || end > buf.len() || end > 65535 {
        return None;
    }
    buf[len..end].copy_from_slice(&rr);
    let arcount = u16::from_be_bytes([buf[10], buf[11]]).wrapping_add(1);
    buf[10..12].copy_from_slice(&arcount.to_be_bytes());
    Some(end)
}

/// The fields of a TSIG record to write.
struct Fields<'a> {
    /// Time signed.
    time_signed: u64,
    /// The MAC (empty in BADKEY and BADSIG answers).
    mac: &'a [u8],
    /// The original ID.
    original_id: u16,
    /// The TSIG error.
    error: u16,
    /// Other data.
    other: &'a [u8],
}

/// How many bytes a TSIG record made with `key` takes (with `other_len`
/// bytes of other data).
fn record_len(key: &Key, other_len: usize) -> usize {
    key.name.wire_len() + 10 + key.algorithm.wire().len() + 16 + key.algorithm.mac_len() + other_len
}

//----------- Server side ----------------------------------------------------

/// Why a signed request was not accepted, and how to answer it (RFC 8945
/// §5.2): NOTAUTH with this TSIG error; a BADTIME answer is signed.
#[derive(Debug)]
pub enum Rejection {
    /// The record cannot be read, or its MAC has an impossible length:
    /// FORMERR, unsigned.
    Malformed,
    /// Unknown key or algorithm, or a MAC that does not verify, or a MAC
    /// shorter than the full length: answer with this error, unsigned.
    Unsigned {
        /// `BADKEY`, `BADSIG` or `BADTRUNC`.
        error: u16,
        /// The key name and algorithm to repeat.
        key_name: Name,
        /// The algorithm's wire name as received.
        algorithm: Vec<u8>,
    },
    /// The request verified but was signed too far from our time: BADTIME,
    /// signed, our time in other data.
    BadTime(Signer),
}

/// Verifies a request's TSIG record with a key from `keys`, at time `now`
/// (seconds since 1970). On success the returned [`Signer`] signs the
/// response messages.
pub fn verify_request(
    keys: &KeyRing,
    msg: &[u8],
    tsig: &TsigRecord<'_>,
    now: u64,
) -> Result<Signer, Rejection> {
    let unsigned = |error| Rejection::Unsigned {
        error,
        key_name: tsig.key_name.clone(),
        algorithm: tsig.algorithm.clone(),
    };
    let Some(key) = keys.get(&tsig.key_name) else {
        return Err(unsigned(BADKEY));
    };
    if Algorithm::from_wire(&tsig.algorithm) != Some(key.algorithm) {
        return Err(unsigned(BADKEY));
    }
    let full = key.algorithm.mac_len();
    // A MAC shorter than half the full length (or 10 bytes) or longer than
    // it is malformed (§5.2.2.1); a shorter valid one is refused by policy.
    if tsig.mac.len() > full || tsig.mac.len() < (full / 2).max(10) {
        return Err(Rejection::Malformed);
    }
    let Some(body) = stripped(msg, tsig) else {
        return Err(Rejection::Malformed);
    };
    let vars = variables(key, tsig.time_signed, tsig.fudge, tsig.error, tsig.other);
    if tsig.mac.len() < full {
        return Err(unsigned(BADTRUNC));
    }
    if !key.algorithm.verify(&key.secret, &[&body, &vars], tsig.mac) {
        return Err(unsigned(BADSIG));
    }
    let signer = Signer {
        key: key.clone(),
        prior: prefixed(tsig.mac),
        first: true,
        original_id: tsig.original_id,
        error: 0,
        other: Vec::new(),
        time_signed: None,
    };
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return Err(Rejection::BadTime(Signer {
            error: BADTIME,
            other: timers(now, 0)[..6].to_vec(),
            time_signed: Some(tsig.time_signed),
            ..signer
        }));
    }
    Ok(signer)
}

/// Appends an unsigned TSIG record (no MAC) carrying `error` to the
/// response in `buf[..len]`, for BADKEY, BADSIG and BADTRUNC answers
/// (RFC 8945 §5.3.2). Returns the new length.
pub fn append_unsigned(
    buf: &mut [u8],
    len: usize,
    key_name: &Name,
    algorithm: &[u8],
    error: u16,
    now: u64,
) -> Option<usize> {
    // The key is unknown, so the record repeats what the request named.
    let mut rr = Vec::with_capacity(64);
    rr.extend_from_slice(key_name.as_wire());
    rr.extend_from_slice(&Rtype::TSIG.0.to_be_bytes());
    rr.extend_from_slice(&Class::ANY.0.to_be_bytes());
    rr.extend_from_slice(&[0, 0, 0, 0]);
    let rdata_len = algorithm.len() + 16;
    rr.extend_from_slice(&(rdata_len as u16).to_be_bytes());
    rr.extend_from_slice(algorithm);
    rr.extend_from_slice(&timers(now, FUDGE));
    rr.extend_from_slice(&[0, 0]);
    let id = buf.get(..2)?;
    let id = [id[0], id[1]];
    rr.extend_from_slice(&id);
    rr.extend_from_slice(&error.to_be_bytes());
    rr.extend_from_slice(&[0, 0]);
    let end = len + rr.len();
    if len < 12 || end > buf.len() || end > 65535 {
        return None;
    }
    buf[len..end].copy_from_slice(&rr);
    let arcount = u16::from_be_bytes([buf[10], buf[11]]).wrapping_add(1);
    buf[10..12].copy_from_slice(&arcount.to_be_bytes());
    Some(end)
}

/// Signs the messages of a response, one after another (RFC 8945 §5.3 and
/// §5.3.1): the first MAC covers the request's MAC, the message and the
/// TSIG variables; each later one the previous MAC, the message and the
/// timers. Every message is signed.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The key.
    key: Arc<Key>,
    /// The previous MAC (the request's, at first), with its length.
    prior: Vec<u8>,
    /// Whether the next message is the first.
    first: bool,
    /// The original ID to write.
    original_id: u16,
    /// The TSIG error of the response (BADTIME or 0).
    error: u16,
    /// Other data (our time, in a BADTIME response).
    other: Vec<u8>,
    /// The time signed to write instead of now (a BADTIME response repeats
    /// the request's).
    time_signed: Option<u64>,
}

impl Signer {
    /// The key the response is signed with.
    pub fn key(&self) -> &Arc<Key> {
        &self.key
    }

    /// How many bytes the TSIG record of each message takes: the builder
    /// keeps this much room.
    pub fn record_len(&self) -> usize {
        record_len(&self.key, self.other.len())
    }

    /// Signs the message in `buf[..len]` at time `now`, appending the TSIG
    /// record; returns the new length (`None` if `buf` has no room).
    pub fn sign(&mut self, buf: &mut [u8], len: usize, now: u64) -> Option<usize> {
        let msg = buf.get(..len)?;
        let time_signed = self.time_signed.unwrap_or(now);
        let mac = if self.first {
            let vars = variables(&self.key, time_signed, FUDGE, self.error, &self.other);
            self.key
                .algorithm
                .mac(&self.key.secret, &[&self.prior, msg, &vars])
        } else {
            let t = timers(time_signed, FUDGE);
            self.key
                .algorithm
                .mac(&self.key.secret, &[&self.prior, msg, &t])
        };
        let fields = Fields {
            time_signed,
            mac: &mac,
            original_id: self.original_id,
            error: self.error,
            other: &self.other,
        };
        let end = append(buf, len, &self.key, &fields)?;
        self.prior = prefixed(&mac);
        self.first = false;
        Some(end)
    }
}

//----------- Client side ----------------------------------------------------

/// Signs a request (a NOTIFY, or a test's transfer request) in place,
/// appending the TSIG record. Returns the MAC, which the response's MAC
/// covers.
pub fn sign_request(key: &Key, msg: &mut Vec<u8>, now: u64) -> Vec<u8> {
    let vars = variables(key, now, FUDGE, 0, &[]);
    let mac = key.algorithm.mac(&key.secret, &[msg, &vars]);
    let original_id = msg
        .get(..2)
        .map_or(0, |id| u16::from_be_bytes([id[0], id[1]]));
    let len = msg.len();
    msg.resize(len + record_len(key, 0), 0);
    let fields = Fields {
        time_signed: now,
        mac: &mac,
        original_id,
        error: 0,
        other: &[],
    };
    match append(msg, len, key, &fields) {
        Some(end) => msg.truncate(end),
        None => msg.truncate(len),
    }
    mac
}

/// Why a response's signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The message has no TSIG record where one is needed.
    Unsigned,
    /// The record is malformed or names another key.
    Malformed,
    /// The response carries this TSIG error.
    Error(u16),
    /// The MAC does not verify.
    BadSig,
    /// It was signed too far from our time.
    BadTime,
}

/// Verifies the signed messages of a response, in order (the client side
/// of [`Signer`]): for NOTIFY answers, and for tests of transfers.
#[derive(Debug)]
pub struct Verifier {
    /// The key.
    key: Arc<Key>,
    /// The previous MAC (the request's, at first), with its length.
    prior: Vec<u8>,
    /// Whether the next message is the first.
    first: bool,
}

impl Verifier {
    /// A verifier for the answers to a request signed with `key` whose MAC
    /// was `request_mac`.
    pub fn new(key: Arc<Key>, request_mac: &[u8]) -> Verifier {
        Verifier {
            key,
            prior: prefixed(request_mac),
            first: true,
        }
    }

    /// Verifies the next message (which must be signed) at time `now`.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<(), ResponseError> {
        let start = last_record_start(msg).ok_or(ResponseError::Unsigned)?;
        let tsig = read_tsig(msg, start).ok_or(ResponseError::Unsigned)?;
        if !tsig.key_name.eq_ignore_case(&self.key.name)
            || Algorithm::from_wire(&tsig.algorithm) != Some(self.key.algorithm)
        {
            return Err(ResponseError::Malformed);
        }
        if tsig.error != 0 && tsig.error != BADTIME {
            return Err(ResponseError::Error(tsig.error));
        }
        let body = stripped(msg, &tsig).ok_or(ResponseError::Malformed)?;
        let ok = if self.first {
            let vars = variables(
                &self.key,
                tsig.time_signed,
                tsig.fudge,
                tsig.error,
                tsig.other,
            );
            self.key
                .algorithm
                .verify(&self.key.secret, &[&self.prior, &body, &vars], tsig.mac)
        } else {
            let t = timers(tsig.time_signed, tsig.fudge);
            self.key
                .algorithm
                .verify(&self.key.secret, &[&self.prior, &body, &t], tsig.mac)
        };
        if !ok {
            return Err(ResponseError::BadSig);
        }
        if tsig.error == BADTIME {
            return Err(ResponseError::Error(BADTIME));
        }
        if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
            return Err(ResponseError::BadTime);
        }
        self.prior = prefixed(tsig.mac);
        self.first = false;
        Ok(())
    }
}

/// Where the last record of a message starts (`None` if the message has
/// no additional records or cannot be read).
pub fn last_record_start(msg: &[u8]) -> Option<usize> {
    let header = candor_wire::Header::parse(msg)?;
    if header.arcount == 0 {
        return None;
    }
    let mut pos = 12;
    for _ in 0..header.qdcount {
        pos = read_name(msg, pos).ok()?.1 + 4;
    }
    let total = u32::from(header.ancount) + u32::from(header.nscount) + u32::from(header.arcount);
    let mut start = pos;
    for _ in 0..total {
        start = pos;
        let (_, p) = read_name(msg, pos).ok()?;
        let fixed = msg.get(p..p + 10)?;
        pos = p + 10 + usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    }
    (pos <= msg.len()).then_some(start)
}

#[cfg(test)]
mod tests;
