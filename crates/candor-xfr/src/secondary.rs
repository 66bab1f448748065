//! Candor as a secondary: which primaries each secondary zone has
//! ([`Upstream`], [`Primaries`]) and the answer to a NOTIFY
//! ([`on_notify`]), sans I/O. The binary runs one refresh loop per zone
//! ([`crate::refresh::Refresh`] with [`crate::client::Exchange`]) and hands
//! NOTIFYs the UDP workers receive to [`on_notify`].
//!
//! A NOTIFY (RFC 1996) is accepted only for a secondary zone, only from
//! the address of one of its primaries, and, for a primary configured with
//! a TSIG key, only signed with that key (and verified). Accepted: NOERROR,
//! signed like the request, and the zone's refresh is due at once.
//! Otherwise NOTAUTH (as Knot answers a NOTIFY its ACL denies), with the
//! TSIG error when the signature is the problem; malformed: FORMERR.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use candor_wire::decode::read_name;
use candor_wire::{Class, Header, Name, Opcode, Rcode, Rtype};

use crate::acl::key_name;
use crate::primary::{Reply, Sign, error, rejected};
use crate::request::question;
use crate::tsig::{self, KeyRing};

/// One primary of one secondary zone: `ZONE@ADDR[:PORT][@KEY]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// The zone, lower-cased.
    pub zone: Name,
    /// The primary's address (port 53 unless given).
    pub primary: SocketAddr,
    /// The TSIG key requests to it are signed with, and NOTIFYs from it
    /// must be signed with.
    pub key: Option<Name>,
}

impl FromStr for Upstream {
    type Err = String;

    /// `ZONE@ADDR`, `ZONE@ADDR:PORT`, `ZONE@[IPV6]:PORT`, each optionally
    /// followed by `@KEYNAME`.
    fn from_str(text: &str) -> Result<Upstream, String> {
        let mut parts = text.splitn(3, '@');
        let zone = parts.next().unwrap_or_default();
        let Some(addr) = parts.next() else {
            return Err(format!(
                "{text:?}: expected ZONE@PRIMARY[:PORT][@KEY], e.g. example.com@192.0.2.1"
            ));
        };
        let zone = key_name(zone).map_err(|e| e.replace("key name", "zone name"))?;
        let primary = match addr.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => match addr.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, 53),
                Err(_) => {
                    return Err(format!(
                        "{addr:?} is not an address (ADDR, ADDR:PORT or [IPV6]:PORT)"
                    ));
                }
            },
        };
        let key = parts.next().map(key_name).transpose()?;
        Ok(Upstream { zone, primary, key })
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.zone, self.primary)?;
        match &self.key {
            Some(key) => write!(f, "@{key}"),
            None => Ok(()),
        }
    }
}

/// One primary of a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimaryServer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its TSIG key.
    pub key: Option<Name>,
}

/// The secondary zones and their primaries, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Primaries {
    /// Primaries by zone.
    zones: BTreeMap<Name, Vec<PrimaryServer>>,
}

impl Primaries {
    /// The zones and primaries of `upstreams` (several for one zone are
    /// tried in the order given).
    pub fn new(upstreams: &[Upstream]) -> Primaries {
        let mut zones: BTreeMap<Name, Vec<PrimaryServer>> = BTreeMap::new();
        for u in upstreams {
            let server = PrimaryServer {
                addr: u.primary,
                key: u.key.clone(),
            };
            let list = zones.entry(u.zone.clone()).or_default();
            if !list.contains(&server) {
                list.push(server);
            }
        }
        Primaries { zones }
    }

    /// The secondary zones with their primaries.
    pub fn zones(&self) -> impl Iterator<Item = (&Name, &[PrimaryServer])> {
        self.zones.iter().map(|(z, p)| (z, p.as_slice()))
    }

    /// The primaries of `zone`, if it is a secondary zone.
    pub fn of(&self, zone: &Name) -> Option<&[PrimaryServer]> {
        self.zones.get(&zone.to_lowercase()).map(Vec::as_slice)
    }

    /// Whether there are no secondary zones.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// A copy with `zone` served by `servers` (a zone learned from a
    /// catalog), or without `zone` when `servers` is empty.
    pub fn with(&self, zone: &Name, servers: &[PrimaryServer]) -> Primaries {
        let mut zones = self.zones.clone();
        match servers.is_empty() {
            true => zones.remove(&zone.to_lowercase()),
            false => zones.insert(zone.to_lowercase(), servers.to_vec()),
        };
        Primaries { zones }
    }
}

/// What to do with a NOTIFY.
#[derive(Debug)]
pub struct Notified {
    /// The answer to send, if any.
    pub reply: Option<Vec<u8>>,
    /// The zone whose refresh is due now, when the NOTIFY was accepted.
    pub zone: Option<Name>,
    /// Why it was refused, for the log.
    pub refusal: Option<String>,
}

impl Notified {
    /// An answer that accepts nothing.
    fn refused(reply: Reply, why: String) -> Notified {
        Notified {
            reply: match reply {
                Reply::Message(m) => Some(m),
                _ => None,
            },
            zone: None,
            refusal: Some(why),
        }
    }
}

/// Whether `msg` is a NOTIFY request (the only thing [`on_notify`] takes).
pub fn is_notify(msg: &[u8]) -> bool {
    Header::parse(msg).is_some_and(|h| h.flags & Header::QR == 0 && h.opcode() == Opcode::NOTIFY)
}

/// Answers the NOTIFY `msg` from `source` at `now` (seconds since 1970),
/// verifying TSIG with `keys` (see the module docs).
pub fn on_notify(
    primaries: &Primaries,
    keys: &KeyRing,
    msg: &[u8],
    source: IpAddr,
    now: u64,
) -> Notified {
    let Some(header) = Header::parse(msg).filter(|h| h.flags & Header::QR == 0) else {
        return Notified::refused(Reply::Drop, "not a request".to_owned());
    };
    let Some((q, qtype, _)) = question(msg).filter(|_| header.qdcount == 1) else {
        let reply = error(&header, &[], Rcode::FORMERR, None, Sign::No, now);
        return Notified::refused(reply, "no question".to_owned());
    };
    let class = Class(u16::from_be_bytes([q[q.len() - 2], q[q.len() - 1]]));
    let zone = match read_name(msg, 12) {
        Ok((name, _)) if qtype == Rtype::SOA && class == Class::IN => name.to_lowercase(),
        _ => {
            let reply = error(&header, q, Rcode::FORMERR, None, Sign::No, now);
            return Notified::refused(reply, "the question is not a zone's SOA".to_owned());
        }
    };
    let tsig = tsig::last_record_start(msg)
        .and_then(|start| tsig::read_tsig(msg, start))
        .filter(|t| t.start > 0);
    let mut signer = None;
    if let Some(t) = &tsig {
        match tsig::verify_request(keys, msg, t, now) {
            Ok(s) => signer = Some(s),
            Err(rejection) => {
                let handled = rejected(&header, q, None, rejection, zone.clone(), now);
                return Notified::refused(handled.reply, format!("TSIG does not verify ({zone})"));
            }
        }
    }
    let key = signer.as_ref().map(|s| s.key().name().clone());
    let allowed = primaries.of(&zone).is_some_and(|list| {
        list.iter().any(|p| {
            p.addr.ip() == source
                && match &p.key {
                    Some(want) => key.as_ref().is_some_and(|k| k.eq_ignore_case(want)),
                    None => true,
                }
        })
    });
    let sign = signer.as_mut().map_or(Sign::No, Sign::With);
    if !allowed {
        let why = match primaries.of(&zone) {
            None => format!("{zone} is not a secondary zone here"),
            Some(_) => format!("not from a primary of {zone} (with its key)"),
        };
        return Notified::refused(error(&header, q, Rcode::NOTAUTH, None, sign, now), why);
    }
    let reply = match error(&header, q, Rcode::NOERROR, None, sign, now) {
        Reply::Message(m) => Some(m),
        _ => None,
    };
    Notified {
        reply,
        zone: Some(zone),
        refusal: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::notify_message;
    use crate::tsig::{Algorithm, Key, Verifier, sign_request};
    use candor_wire::decode::decode_message;
    use std::sync::Arc;

    /// The time of the tests.
    const NOW: u64 = 1_700_000_000;

    /// Parses an upstream.
    fn up(text: &str) -> Upstream {
        text.parse().unwrap()
    }

    /// Upstreams read with defaults, IPv6 and keys; bad ones say why.
    #[test]
    fn upstreams_parse() {
        let u = up("Example.COM@192.0.2.1");
        assert_eq!(u.to_string(), "example.com.@192.0.2.1:53");
        assert_eq!(
            up("example.com.@[2001:db8::1]:5353@xfr.key").to_string(),
            "example.com.@[2001:db8::1]:5353@xfr.key."
        );
        for (bad, want) in [
            ("example.com", "expected ZONE@PRIMARY"),
            ("example.com@nowhere", "is not an address"),
            ("@192.0.2.1", "zone name"),
        ] {
            let err = bad.parse::<Upstream>().unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
        let p = Primaries::new(&[
            up("a.test@192.0.2.1"),
            up("a.test@192.0.2.2"),
            up("a.test@192.0.2.1"),
        ]);
        assert_eq!(
            p.of(&Name::from_text("A.test.", None).unwrap())
                .unwrap()
                .len(),
            2
        );
        let b = Name::from_text("b.test.", None).unwrap();
        let more = p.with(
            &b,
            p.of(&Name::from_text("a.test.", None).unwrap()).unwrap(),
        );
        assert_eq!(more.of(&b).map(<[_]>::len), Some(2));
        assert!(more.with(&b, &[]).of(&b).is_none());
    }

    /// The rcode and whether the answer is signed and verifies.
    fn answer(n: &Notified, key: Option<(&Arc<Key>, &[u8])>) -> (u16, bool) {
        let m = n.reply.as_ref().expect("a reply");
        let rcode = decode_message(m).unwrap().rcode();
        let verified =
            key.is_some_and(|(k, mac)| Verifier::new(Arc::clone(k), mac).verify(m, NOW).is_ok());
        (rcode, verified)
    }

    /// NOTIFYs are accepted only for secondary zones, from their
    /// primaries, signed with the primary's key where it has one.
    #[test]
    fn notify_is_accepted_only_from_primaries() {
        let key = Arc::new(Key::new(
            &Name::from_text("xfr.key.", None).unwrap(),
            Algorithm::HmacSha256,
            b"0123456789abcdef0123456789abcdef".to_vec(),
        ));
        let keys = KeyRing::new([Key::clone(&key)]);
        let primaries = Primaries::new(&[
            up("open.test@127.0.0.1"),
            up("keyed.test@127.0.0.1@xfr.key"),
        ]);
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let notify = |zone: &str| notify_message(77, &Name::from_text(zone, None).unwrap());

        let n = on_notify(&primaries, &keys, &notify("OPEN.test."), local, NOW);
        assert_eq!(
            n.zone.as_ref().map(ToString::to_string).as_deref(),
            Some("open.test.")
        );
        assert_eq!(answer(&n, None), (0, false));

        let n = on_notify(&primaries, &keys, &notify("open.test."), other, NOW);
        assert!(n.zone.is_none() && n.refusal.is_some());
        assert_eq!(answer(&n, None).0, Rcode::NOTAUTH.0);

        let n = on_notify(&primaries, &keys, &notify("elsewhere.test."), local, NOW);
        assert!(n.refusal.unwrap().contains("not a secondary zone"));

        // Keyed: unsigned is refused; signed is accepted and answered signed.
        let n = on_notify(&primaries, &keys, &notify("keyed.test."), local, NOW);
        assert!(n.zone.is_none());
        let mut signed = notify("keyed.test.");
        let mac = sign_request(&key, &mut signed, NOW);
        let n = on_notify(&primaries, &keys, &signed, local, NOW);
        assert!(n.zone.is_some(), "{:?}", n.refusal);
        assert_eq!(answer(&n, Some((&key, &mac))), (0, true));
        // Signed with a secret the server does not have: BADSIG, NOTAUTH.
        let wrong = Key::new(key.name(), Algorithm::HmacSha256, b"wrong".to_vec());
        let mut bad = notify("keyed.test.");
        sign_request(&wrong, &mut bad, NOW);
        let n = on_notify(&primaries, &keys, &bad, local, NOW);
        assert!(n.zone.is_none());
        assert_eq!(answer(&n, None).0, Rcode::NOTAUTH.0);

        // Malformed: no question.
        let mut empty = notify("open.test.");
        empty[5] = 0;
        empty.truncate(12);
        let n = on_notify(&primaries, &keys, &empty, local, NOW);
        assert_eq!(answer(&n, None).0, Rcode::FORMERR.0);
        assert!(is_notify(&notify("x.")) && !is_notify(&[0; 3]));
    }
}
