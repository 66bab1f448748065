//! Response rate limiting (RRL), in the design BIND, Knot and NSD share
//! (Vixie and Schryver, ISC-TN-2012-1).
//!
//! A reflection attack sends queries with a victim's address as source, so
//! the victim receives the responses: one question, asked over and over,
//! turns a server into an amplifier. A legitimate resolver caches, so it
//! rarely asks the same question many times a second. So responses are
//! accounted per client network (IPv4 /24, IPv6 /56 by default: an
//! attacker iterating a victim's addresses is still one account) and per
//! *response*: an answer by its name and type, NXDOMAIN and NODATA by the
//! zone (so random names still meet one account), a wildcard answer by the
//! wildcard, a referral by the delegation, an error by the zone. Each
//! account earns `rate` responses a second; beyond that, responses are
//! dropped, except every `slip`th, which goes out truncated (TC=1: a real
//! client retries over TCP, which cannot be spoofed) or, when the query
//! had a client cookie, as BADCOOKIE with a fresh server cookie (the
//! client retries with it and is then exempt), as BIND does.
//!
//! An account runs from `rate` (a second's worth of credit) down to
//! `-window × rate`: a flood that stops is still held for up to `window`
//! seconds, so one that pauses and resumes gains nothing. While a flood
//! lasts, its account stays below zero and no full response goes out.
//!
//! # The table
//!
//! Accounts live in one table shared by every UDP worker: a fixed array of
//! 64-byte sets of eight `AtomicU64` entries, each entry a whole account
//! packed into one word (see [`Entry`]). A check hashes the key, loads one
//! set (one cache line), and updates one entry with one compare-and-swap:
//! no lock, no allocation, no waiting.
//!
//! With varied traffic that one line is rarely in cache, and its miss (and
//! TLB miss) costs several times the rest of the check. So a check comes in
//! two steps, like the answer path's peek: [`Limiter::account`] hashes the
//! key and starts loading its set, [`Limiter::debit`] decides. A worker
//! takes the first step for every response of its batch before the second
//! for any, and the misses overlap.
//!
//! Why shared rather than per worker: `SO_REUSEPORT` spreads packets over
//! the workers by a hash of source address *and port*, and resolvers pick
//! a random port per query, so a single resolver's (or flood's) queries
//! land on every worker. Per-worker tables would each see a share of a
//! flow that depends on how the hash falls, and limits per worker could
//! only be `rate / workers`, wrong in both directions when the share is
//! uneven. A shared table counts each flow once, exactly. What sharing
//! costs is contention on a set two workers update at once; that happens
//! for a flood's account (responses that are being dropped anyway) and
//! almost never for the many accounts of legitimate traffic.
//!
//! When a key's set is full, the entry with the most credit (the account
//! that matters least: it has sent the fewest responses lately) makes
//! room; an account in debt is never evicted by one with credit, so fresh
//! keys cannot flush a flood's account out and let it start over. Two keys
//! share an entry only when their 20-bit tags and their set collide
//! (about one in a million per pair of keys in the same set).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cookie::CookieCheck;

//----------- What is accounted ------------------------------------------------

/// How the rate limiter classifies a response (the classes of BIND and
/// NSD): each kind is accounted separately, under its own name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// Records of the QTYPE (or a CNAME chain to them): accounted by QNAME
    /// and QTYPE.
    Answer,
    /// An answer synthesized from a wildcard: accounted by the wildcard's
    /// owner, so a flood of random names under it meets one account.
    Wildcard,
    /// The name exists but has no records of the QTYPE: accounted by the
    /// zone apex, whatever the name and type.
    NoData,
    /// The name does not exist: accounted by the zone apex, so random
    /// names meet one account.
    NxDomain,
    /// A referral to a delegation: accounted by the delegation point.
    Referral,
    /// Any other rcode (REFUSED, FORMERR, SERVFAIL, NOTIMP, ...):
    /// accounted by the zone apex, or together for a client when no zone
    /// answered.
    Error,
}

/// What a response is accounted under, besides the client's network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateKey {
    /// Its kind.
    pub kind: ResponseKind,
    /// A hash of the name it is accounted by (zero when there is none).
    pub name: u64,
    /// The QTYPE, for answers; zero for the other kinds.
    pub qtype: u16,
}

impl RateKey {
    /// The key of a response of `kind` accounted by `name` (lower-cased
    /// wire form) and, for answers, `qtype`.
    pub fn new(kind: ResponseKind, name: &[u8], qtype: u16) -> RateKey {
        RateKey {
            kind,
            name: hash_name(name),
            qtype,
        }
    }

    /// The key of an error no zone answered: one account per client
    /// network.
    pub fn error_without_zone() -> RateKey {
        RateKey {
            kind: ResponseKind::Error,
            name: 0,
            qtype: 0,
        }
    }
}

/// A fast hash of a name (Fx, eight bytes at a step). It needs no
/// resistance to collisions: only a client that could send the other name
/// itself (the same network) shares its account, and [`Limiter`] mixes in
/// the network and a secret seed before picking the set.
fn hash_name(name: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = name.len() as u64;
    let mut chunks = name.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K)
}

//----------- Verdicts -----------------------------------------------------------

/// What to send instead of a response over the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slip {
    /// The header, question and OPT record with TC=1: a client retries over
    /// TCP.
    Truncated,
    /// BADCOOKIE with a fresh server cookie (the query had a client
    /// cookie): a client retries with the cookie and is then exempt.
    BadCookie,
}

impl Slip {
    /// How a response to a request whose COOKIE option was `cookie`
    /// slips: with a client cookie, BADCOOKIE; without one, truncated.
    pub fn for_cookie(cookie: CookieCheck) -> Slip {
        match cookie {
            CookieCheck::Absent => Slip::Truncated,
            _ => Slip::BadCookie,
        }
    }
}

/// What to do with a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Send this small response in its place.
    Slip(Slip),
    /// Send nothing.
    Drop,
}

//----------- Configuration ------------------------------------------------------

/// Rate limiting settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrlConfig {
    /// Responses per second per account (1 to [`MAX_RATE`]).
    pub rate: u32,
    /// Seconds a flood is remembered after it stops: an account's debt
    /// goes down to `window × rate` (1 to 3600).
    pub window: u32,
    /// Every `slip`th response over the limit is sent as a [`Slip`], the
    /// others are dropped; 0 drops them all, 1 slips them all (0 to 10).
    pub slip: u32,
    /// IPv4 clients are accounted per network of this prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 clients are accounted per network of this prefix length.
    pub ipv6_prefix: u8,
    /// Clients in these networks are never limited.
    pub exempt: Vec<Prefix>,
    /// Accounts the table holds (rounded up to a power of two, at least
    /// one set of [`WAYS`]); 8 bytes each.
    pub entries: usize,
}

/// The largest rate an account can hold (its credit is a 24-bit field).
pub const MAX_RATE: u32 = (1 << 23) - 1;

/// How much tighter the limit is for the responses of a zone under attack
/// ([`Limiter::debit_tightened`]): a quarter of the rate (50 a second with
/// the default 200), at least one.
pub const TIGHTEN_DIVISOR: u32 = 4;

/// The longest window, as in BIND.
pub const MAX_WINDOW: u32 = 3600;

/// The largest slip, as in BIND (the counter is a 4-bit field).
pub const MAX_SLIP: u32 = 10;

/// Entries per set: one 64-byte cache line of 8-byte entries.
pub const WAYS: usize = 8;

/// The default table: 262,144 accounts in 2 MiB, about what Knot 3.2
/// (393,241 buckets) and BIND (up to one entry per response a second)
/// keep for a server answering a few hundred thousand queries a second.
pub const DEFAULT_ENTRIES: usize = 1 << 18;

//----------- Prefix -------------------------------------------------------------

/// A network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The address with the bits past the prefix cleared.
    addr: IpAddr,
    /// The prefix length.
    len: u8,
}

impl Prefix {
    /// The network of `len` bits around `addr`, if `len` fits its family.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then(|| Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// Whether `addr` is in this network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        addr.is_ipv4() == self.addr.is_ipv4() && mask(addr, self.len) == self.addr
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Reads `ADDRESS/LENGTH`, or an address alone (one host).
    fn from_str(text: &str) -> Result<Prefix, PrefixError> {
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| PrefixError)?;
        let len = match len {
            Some(len) => len.parse().map_err(|_| PrefixError)?,
            None if canonical(addr).is_ipv4() => 32,
            None => 128,
        };
        Prefix::new(addr, len).ok_or(PrefixError)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A network that is not `ADDRESS[/LENGTH]` with a length its family has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixError;

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected ADDRESS or ADDRESS/LENGTH (at most 32 for IPv4, 128 for IPv6)")
    }
}

impl std::error::Error for PrefixError {}

/// An IPv4-mapped IPv6 address as the IPv4 address it is; others as they
/// are.
fn canonical(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

/// `addr` with every bit past the first `len` cleared.
fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(bits.into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(bits.into())
        }
    }
}

//----------- Entries ------------------------------------------------------------

/// One account, packed into a `u64` so that it is read and replaced with
/// one atomic operation:
///
/// | bits  | field                                                        |
/// |-------|--------------------------------------------------------------|
/// | 44–63 | tag: 20 bits of the key's hash, never 0 (0 is an empty entry) |
/// | 40–43 | slip counter: limited responses since the last slip           |
/// | 24–39 | the second of the last update, modulo 65,536                  |
/// | 0–23  | credit + 2²³: responses left this second, negative in debt    |
///
/// An entry left alone for more than 18 hours may look recent when its
/// 16-bit second wraps around; it is an entry nobody used for that long,
/// and it costs at most a wrong start for its key.
struct Entry;

impl Entry {
    /// Bits of the credit field.
    const CREDIT_BITS: u32 = 24;
    /// Added to the credit to store it unsigned.
    const BIAS: i64 = 1 << (Self::CREDIT_BITS - 1);
    /// The least credit the field holds.
    const MIN_CREDIT: i64 = -(Self::BIAS - 1);

    /// Packs an account.
    fn pack(tag: u64, credit: i64, second: u16, slips: u32) -> u64 {
        let credit = (credit.clamp(Self::MIN_CREDIT, Self::BIAS - 1) + Self::BIAS) as u64;
        (tag << 44) | (u64::from(slips & 0xf) << 40) | (u64::from(second) << 24) | credit
    }

    /// The tag.
    fn tag(word: u64) -> u64 {
        word >> 44
    }

    /// The slip counter.
    fn slips(word: u64) -> u32 {
        ((word >> 40) & 0xf) as u32
    }

    /// The second of the last update.
    fn second(word: u64) -> u16 {
        (word >> 24) as u16
    }

    /// The credit as stored (at the last update).
    fn credit(word: u64) -> i64 {
        (word & ((1 << Self::CREDIT_BITS) - 1)) as i64 - Self::BIAS
    }
}

/// One cache line of entries.
#[derive(Default)]
#[repr(align(64))]
struct Set([AtomicU64; WAYS]);

/// Where a response is accounted, found by [`Limiter::account`].
#[derive(Clone, Copy, Debug)]
pub struct Account {
    /// The set.
    set: usize,
    /// The tag.
    tag: u64,
    /// How a response over the limit slips.
    slip: Slip,
}

/// How often a check retries its compare-and-swap when another worker
/// changed the set in between. Each failure means another check succeeded;
/// after the last one the response goes by what was read, uncounted.
const CAS_TRIES: usize = 4;

//----------- Limiter ------------------------------------------------------------

/// An entry's credit at `second` for an account earning `rate` a second:
/// what it had, plus `rate` for every second since, up to `rate`.
fn credit_at(word: u64, second: u16, rate: i64) -> i64 {
    let elapsed = i64::from(second.wrapping_sub(Entry::second(word)));
    (Entry::credit(word) + elapsed * rate).min(rate)
}

/// The rate limiter: a fixed table of accounts, shared by every worker.
pub struct Limiter {
    /// The sets; their number is a power of two.
    sets: Box<[Set]>,
    /// Sets minus one: a hash's set is `hash & mask`.
    mask: u64,
    /// Keys the hash, so that nobody outside can aim keys at a set.
    seed: [u64; 2],
    /// Responses per second per account.
    rate: i64,
    /// The lowest an account goes: `-window × rate`.
    floor: i64,
    /// See [`RrlConfig::slip`].
    slip: u32,
    /// See [`RrlConfig::ipv4_prefix`].
    ipv4_prefix: u8,
    /// See [`RrlConfig::ipv6_prefix`].
    ipv6_prefix: u8,
    /// See [`RrlConfig::exempt`].
    exempt: Box<[Prefix]>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("entries", &(self.sets.len() * WAYS))
            .field("rate", &self.rate)
            .field("floor", &self.floor)
            .field("slip", &self.slip)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// A limiter with an empty table. `seed` keys the hash of accounts: pass
    /// random bits, so that the sets keys fall in cannot be predicted.
    /// Values out of range are clamped to it (see [`RrlConfig`]).
    pub fn new(config: &RrlConfig, seed: [u64; 2]) -> Limiter {
        let sets = (config.entries / WAYS).max(1).next_power_of_two();
        let rate = i64::from(config.rate.clamp(1, MAX_RATE));
        let window = i64::from(config.window.clamp(1, MAX_WINDOW));
        Limiter {
            sets: (0..sets).map(|_| Set::default()).collect(),
            mask: sets as u64 - 1,
            seed,
            rate,
            floor: (-window * rate).max(Entry::MIN_CREDIT),
            slip: config.slip.min(MAX_SLIP),
            ipv4_prefix: config.ipv4_prefix.min(32),
            ipv6_prefix: config.ipv6_prefix.min(128),
            exempt: config.exempt.clone().into_boxed_slice(),
        }
    }

    /// Accounts one response to `client` and says what to do with it. `now`
    /// is the time in seconds (any clock that counts seconds; the Unix
    /// epoch's does).
    ///
    /// Responses to a query with a valid server cookie are not limited (the
    /// client's address is proven) and not accounted, nor are responses to
    /// exempt networks.
    pub fn check(&self, client: IpAddr, key: RateKey, cookie: CookieCheck, now: u32) -> Verdict {
        match self.account(client, key, cookie) {
            Some(account) => self.debit(account, now),
            None => Verdict::Send,
        }
    }

    /// The first step of [`Limiter::check`]: where a response to `client`
    /// is accounted, or `None` if it is not limited (a valid server cookie,
    /// an exempt network). Starts loading the account's set into the cache,
    /// so that [`Limiter::debit`] soon after finds it there.
    pub fn account(&self, client: IpAddr, key: RateKey, cookie: CookieCheck) -> Option<Account> {
        if cookie == CookieCheck::Valid || self.is_exempt(client) {
            return None;
        }
        let hash = self.hash(client, key);
        let set = (hash & self.mask) as usize;
        // The miss starts now, and the worker goes on with the next
        // response.
        prefetch(&self.sets[set]);
        Some(Account {
            set,
            tag: (hash >> 44).max(1),
            slip: Slip::for_cookie(cookie),
        })
    }

    /// The second step of [`Limiter::check`]: debits the account one
    /// response at `now` and says what to do with the response.
    pub fn debit(&self, account: Account, now: u32) -> Verdict {
        self.debit_at(account, now, self.rate)
    }

    /// [`Limiter::debit`] for a response of a zone under attack: the
    /// account earns `rate / TIGHTEN_DIVISOR` a second (at least one) and
    /// holds at most that much credit. The table and the slip are the same,
    /// so an account moves between the two limits as the attack starts and
    /// ends, keeping its debt.
    pub fn debit_tightened(&self, account: Account, now: u32) -> Verdict {
        self.debit_at(account, now, self.tightened_rate())
    }

    /// The rate [`Limiter::debit_tightened`] applies.
    pub fn tightened_rate(&self) -> i64 {
        (self.rate / i64::from(TIGHTEN_DIVISOR)).max(1)
    }

    /// [`Limiter::debit`] at `rate` responses a second.
    fn debit_at(&self, account: Account, now: u32, rate: i64) -> Verdict {
        let Some(set) = self.sets.get(account.set) else {
            return Verdict::Send;
        };
        let tag = account.tag;
        let second = now as u16;
        let mut verdict = Verdict::Send;
        for _ in 0..CAS_TRIES {
            let (way, old, credit, slips) = self.find(set, tag, second, rate);
            let (decided, slips) = self.decide(credit, slips, account.slip);
            verdict = decided;
            let new = Entry::pack(tag, (credit - 1).max(self.floor), second, slips);
            if set.0[way]
                .compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                break;
            }
        }
        verdict
    }

    /// Whether a response to `client` accounted by `key` would be held
    /// back (dropped or slipped) if it were debited now: its account has
    /// no credit left at `now` (at the tightened rate of a zone under
    /// attack when `tightened`). Debits nothing, so a response that would
    /// be held back need not be written in full (a signed zone's NSEC
    /// proofs); the debit that follows decides, and says the same unless
    /// a second passes in between.
    pub fn would_limit(
        &self,
        client: IpAddr,
        key: RateKey,
        cookie: CookieCheck,
        now: u32,
        tightened: bool,
    ) -> bool {
        let Some(account) = self.account(client, key, cookie) else {
            return false;
        };
        let Some(set) = self.sets.get(account.set) else {
            return false;
        };
        let rate = if tightened {
            self.tightened_rate()
        } else {
            self.rate
        };
        let (_, _, credit, _) = self.find(set, account.tag, now as u16, rate);
        credit <= 0
    }

    /// Whether `client` is in an exempt network.
    pub fn is_exempt(&self, client: IpAddr) -> bool {
        self.exempt.iter().any(|p| p.contains(client))
    }

    /// The key's entry in `set`, or the one to replace with it: the way, the
    /// word read, the credit now and the slip counter.
    fn find(&self, set: &Set, tag: u64, second: u16, rate: i64) -> (usize, u64, i64, u32) {
        let words: [u64; WAYS] = std::array::from_fn(|way| set.0[way].load(Ordering::Relaxed));
        if let Some(way) = words.iter().position(|&w| Entry::tag(w) == tag) {
            let word = words[way];
            return (way, word, credit_at(word, second, rate), Entry::slips(word));
        }
        let mut victim = (0, 0, i64::MIN);
        for (way, &word) in words.iter().enumerate() {
            let credit = if word == 0 {
                i64::MAX
            } else {
                self.credit(word, second)
            };
            if credit > victim.2 {
                victim = (way, word, credit);
            }
        }
        // A new account starts with a second's worth of credit.
        (victim.0, victim.1, rate, 0)
    }

    /// An entry's credit at `second`: what it had, plus `rate` for every
    /// second since, up to `rate`.
    fn credit(&self, word: u64, second: u16) -> i64 {
        credit_at(word, second, self.rate)
    }

    /// The verdict for a response to an account with `credit`, and the slip
    /// counter after it.
    fn decide(&self, credit: i64, slips: u32, slip: Slip) -> (Verdict, u32) {
        if credit > 0 {
            (Verdict::Send, slips)
        } else if self.slip == 0 {
            (Verdict::Drop, 0)
        } else if slips + 1 >= self.slip {
            (Verdict::Slip(slip), 0)
        } else {
            (Verdict::Drop, slips + 1)
        }
    }

    /// The account's hash: the client's network, its family and the key,
    /// mixed under the seed. A folded 128-bit multiply (as in wyhash) per
    /// step: a few nanoseconds, and every input bit reaches the bits that
    /// pick the set and the tag.
    fn hash(&self, client: IpAddr, key: RateKey) -> u64 {
        let client = canonical(client);
        let (network, family) = match mask_for(client, self.ipv4_prefix, self.ipv6_prefix) {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 4u64),
            IpAddr::V6(a) => (u128::from(a), 6u64),
        };
        let kind = key.kind as u64;
        let shape = (family << 56) | (kind << 48) | u64::from(key.qtype);
        let a = fold(
            (network >> 64) as u64 ^ self.seed[0],
            network as u64 ^ self.seed[1] ^ 0x9e37_79b9_7f4a_7c15,
        );
        fold(
            a ^ key.name,
            shape ^ self.seed[0].rotate_left(32) ^ 0xa076_1d64_78bd_642f,
        )
    }
}

/// Asks the CPU to start loading `set`'s cache line. A prefetch
/// instruction retires at once, where a load would hold back the ones after
/// it until its line arrived.
#[inline(always)]
fn prefetch(set: &Set) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it reads nothing into the program,
    // never faults, and SSE, which it needs, is part of every x86-64 CPU.
    #[allow(unsafe_code)]
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((set as *const Set).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(set.0[0].load(Ordering::Relaxed));
}

/// `client` masked to the prefix length of its family.
fn mask_for(client: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> IpAddr {
    match client {
        IpAddr::V4(_) => mask(client, ipv4_prefix),
        IpAddr::V6(_) => mask(client, ipv6_prefix),
    }
}

/// The high and low halves of the 128-bit product, xored.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ (product >> 64) as u64
}

#[cfg(test)]
mod tests;
