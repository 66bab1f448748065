//! Who may transfer zones: address prefixes, each optionally tied to a
//! TSIG key. Nothing is allowed unless a rule allows it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use candor_wire::Name;

/// An IPv4 or IPv6 prefix, e.g. `192.0.2.0/24` or `2001:db8::/32`; a bare
/// address is a prefix of full length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The address, with the bits past `len` cleared.
    addr: IpAddr,
    /// The prefix length.
    len: u8,
}

impl Prefix {
    /// Whether `addr` is inside the prefix. IPv4 addresses mapped into
    /// IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) count as
    /// the IPv4 addresses they are.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, addr) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                mask(u128::from(u32::from(a)) << 96, self.len) == u128::from(u32::from(p)) << 96
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => mask(u128::from(a), self.len) == u128::from(p),
            _ => false,
        }
    }
}

/// `value` with only its first `len` bits kept (IPv4 addresses are
/// shifted into the top 32 bits first).
fn mask(value: u128, len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => value,
        l => value & (u128::MAX << (128 - u32::from(l))),
    }
}

impl FromStr for Prefix {
    type Err = String;

    fn from_str(text: &str) -> Result<Prefix, String> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => width,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= width)
                .ok_or_else(|| format!("prefix length {l:?} is not between 0 and {width}"))?,
        };
        let addr = match addr {
            IpAddr::V4(a) => {
                let bits = (mask(u128::from(u32::from(a)) << 96, len) >> 96) as u32;
                IpAddr::V4(bits.into())
            }
            IpAddr::V6(a) => IpAddr::V6(mask(u128::from(a), len).into()),
        };
        Ok(Prefix { addr, len })
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// One rule: transfers from these addresses are allowed, if signed with
/// this key when one is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Where requests may come from.
    pub prefix: Prefix,
    /// The TSIG key they must be signed with, if any (lower-cased).
    pub key: Option<Name>,
}

impl FromStr for Rule {
    type Err = String;

    /// `PREFIX` or `PREFIX@KEYNAME`.
    fn from_str(text: &str) -> Result<Rule, String> {
        let (prefix, key) = match text.split_once('@') {
            Some((p, k)) => (p, Some(k)),
            None => (text, None),
        };
        let key = match key {
            None => None,
            Some(k) => Some(key_name(k)?),
        };
        Ok(Rule {
            prefix: prefix.parse()?,
            key,
        })
    }
}

/// A TSIG key name from text (absolute; the final dot is optional),
/// lower-cased.
pub fn key_name(text: &str) -> Result<Name, String> {
    let absolute = if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    };
    match Name::from_text(&absolute, None) {
        Ok(name) if !name.is_root() => Ok(name.to_lowercase()),
        Ok(_) => Err("a key name cannot be the root".to_owned()),
        Err(e) => Err(format!("key name {text:?}: {e}")),
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}@{key}", self.prefix),
            None => write!(f, "{}", self.prefix),
        }
    }
}

/// The transfer ACL: a request is allowed if any rule allows it; with no
/// rules nothing is allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    /// The rules.
    rules: Vec<Rule>,
}

impl Acl {
    /// An ACL of these rules.
    pub fn new(rules: Vec<Rule>) -> Acl {
        Acl { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether a request from `addr`, signed with the (verified) key `key`
    /// if any, may transfer. A rule without a key allows signed and
    /// unsigned requests alike.
    pub fn allows(&self, addr: IpAddr, key: Option<&Name>) -> bool {
        self.rules.iter().any(|rule| {
            rule.prefix.contains(addr)
                && match &rule.key {
                    None => true,
                    Some(want) => key.is_some_and(|k| k.eq_ignore_case(want)),
                }
        })
    }
}
