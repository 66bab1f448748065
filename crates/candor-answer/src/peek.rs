//! Prefetching for a batch of queries.
//!
//! Answering one query from a large zone waits on a chain of dependent
//! cache misses: the index slot of the name, then the node's RRset
//! descriptors, then the RRset's wire data. Each load needs the one before,
//! so a query stalls on each in turn; profiles of the 1M-name zone had
//! these stalls at about a quarter of server CPU.
//!
//! A UDP worker holds a whole batch of queries (up to 32), though, and the
//! queries are independent. So [`Peek::prepare`] takes a peek at every
//! query first, in stages, each stage starting the next load for every
//! query of the batch before any query waits on it:
//!
//! 1. read the question, pick the zone, prefetch the zone's own fields
//!    (with a thousand zones they are not all in cache) and hash the name;
//! 2. prefetch the name's index slot;
//! 3. find the node (its slot is now in cache) and prefetch its RRset
//!    descriptors;
//! 4. pick the RRset the answer will start with and prefetch its data.
//!
//! Then [`Peek::respond`] answers each query as [`respond`](crate::respond)
//! would, from cache. A peek only reads; it changes no answer, and a peek that finds
//! nothing (a malformed packet, a name in no zone) just prefetches nothing.

use candor_wire::{MAX_NAME_LEN, Rtype};
use candor_zone::{NameHash, NodeRef, ZoneSet};

use crate::{Config, Hint, Outcome, Request, WouldLimit, respond_hinted};

/// What the stages learned about one query. It holds no reference to the
/// zones, so one set of peeks serves batch after batch; every stage is
/// given the same [`ZoneSet`].
pub struct Peek {
    /// Position of the name's zone in the set, if any.
    zone: Option<usize>,
    /// The lower-cased QNAME (its first `len` bytes).
    name: [u8; MAX_NAME_LEN],
    /// Length of the QNAME.
    len: usize,
    /// Its hash.
    hash: NameHash,
    /// QTYPE.
    qtype: Rtype,
    /// The node, once found.
    node: Option<NodeRef>,
    /// Whether `node` is the index's answer for the name (stage 3 ran).
    probed: bool,
}

impl Default for Peek {
    fn default() -> Self {
        Peek {
            zone: None,
            name: [0; MAX_NAME_LEN],
            len: 0,
            hash: NameHash::default(),
            qtype: Rtype(0),
            node: None,
            probed: false,
        }
    }
}

/// The QNAME (lower-cased into `name`, returning its length) and QTYPE of
/// a plain query, or `None` for anything else: the real parser decides
/// what those get.
fn question(msg: &[u8], name: &mut [u8; MAX_NAME_LEN]) -> Option<(usize, Rtype)> {
    // QR clear, QDCOUNT 1.
    if msg.len() < 12 || msg[2] & 0x80 != 0 || msg[4..6] != [0, 1] {
        return None;
    }
    let mut pos = 12;
    loop {
        let label = usize::from(*msg.get(pos)?);
        // Compressed or reserved label types do not belong in a question.
        if label > 63 || pos - 12 + 1 + label > MAX_NAME_LEN {
            return None;
        }
        pos += 1 + label;
        if label == 0 {
            break;
        }
    }
    let len = pos - 12;
    let wire = msg.get(12..pos)?;
    name[..len].copy_from_slice(wire);
    name[..len].make_ascii_lowercase();
    let qtype = msg.get(pos..pos + 2)?;
    Some((len, Rtype(u16::from_be_bytes([qtype[0], qtype[1]]))))
}

impl Peek {
    /// Takes a peek at each of `msgs` (one peek per message, as many as
    /// both have), stage by stage across all of them. Then answer each
    /// message with its peek's [`respond`](Peek::respond).
    pub fn prepare<'m>(
        peeks: &mut [Peek],
        zones: &ZoneSet,
        msgs: impl IntoIterator<Item = &'m [u8]>,
    ) {
        let mut n = 0;
        for (peek, msg) in peeks.iter_mut().zip(msgs) {
            peek.start(zones, msg);
            n += 1;
        }
        let peeks = &mut peeks[..n];
        for peek in peeks.iter() {
            peek.locate(zones);
        }
        for peek in peeks.iter_mut() {
            peek.find_node(zones);
        }
        for peek in peeks.iter() {
            peek.find_rrset(zones);
        }
    }

    /// The position in the [`ZoneSet`] (the one given to
    /// [`prepare`](Peek::prepare)) of the zone whose apex is the longest
    /// suffix of the query's name, if the peek could read a question and
    /// some zone holds it. The UDP workers account and shed traffic per
    /// zone by it before answering.
    pub fn zone(&self) -> Option<usize> {
        self.zone
    }

    /// Stage 1: reads the question of `msg`, picks the zone, prefetches
    /// its fields and hashes the name.
    fn start(&mut self, zones: &ZoneSet, msg: &[u8]) {
        self.zone = None;
        self.node = None;
        self.probed = false;
        let Some((len, qtype)) = question(msg, &mut self.name) else {
            return;
        };
        self.len = len;
        self.qtype = qtype;
        self.zone = zones.find_position(&self.name[..len]);
        if let Some(i) = self.zone {
            zones.zones()[i].prefetch_header();
            self.hash = NameHash::of(&self.name[..len]);
        }
    }

    /// Stage 2: prefetches the name's index slot.
    fn locate(&self, zones: &ZoneSet) {
        if let Some(zone) = self.zone.and_then(|i| zones.zones().get(i)) {
            zone.prefetch_name(self.hash);
        }
    }

    /// Stage 3: finds the node of the name (absent for names that do not
    /// exist) and prefetches its RRset descriptors.
    fn find_node(&mut self, zones: &ZoneSet) {
        if let Some(zone) = self.zone.and_then(|i| zones.zones().get(i)) {
            self.node = zone.find_hashed(&self.name[..self.len], self.hash);
            self.probed = true;
            if let Some(node) = self.node {
                zone.prefetch_rrsets(node);
            }
        }
    }

    /// Stage 4: prefetches the data of the RRset the answer starts with:
    /// the QTYPE's, or a CNAME.
    fn find_rrset(&self, zones: &ZoneSet) {
        let zone = self.zone.and_then(|i| zones.zones().get(i));
        if let (Some(zone), Some(node)) = (zone, self.node) {
            let sets = zone.rrsets(node);
            if let Some(set) = sets
                .iter()
                .find(|s| s.rtype == self.qtype)
                .or_else(|| sets.iter().find(|s| s.rtype == Rtype::CNAME))
            {
                zone.prefetch_tails(set);
            }
        }
    }

    /// Answers the request this peek looked at, like
    /// [`respond`](crate::respond), without finding its zone and node again.
    /// The request's message and `zones` must be the ones the stages saw; if
    /// the name differs, the peek is ignored.
    pub fn respond(
        &self,
        zones: &ZoneSet,
        config: &Config,
        request: &Request<'_>,
        out: &mut [u8],
    ) -> Option<Outcome> {
        self.respond_with(zones, config, request, out, None)
    }

    /// [`Peek::respond`], told what the rate limiter would hold back
    /// (`limited`, asked without debiting): a DO=1 NXDOMAIN from a signed
    /// zone that it would hold back is written without its NSEC proofs
    /// and RRSIGs, and its [`Outcome::proofless`] is set: the caller
    /// debits the limiter as for any response, drops or slips it, and in
    /// the rare case the debit says send (a second passed in between)
    /// slips it too, never sending it as it is.
    pub fn respond_limited(
        &self,
        zones: &ZoneSet,
        config: &Config,
        request: &Request<'_>,
        out: &mut [u8],
        limited: WouldLimit<'_>,
    ) -> Option<Outcome> {
        self.respond_with(zones, config, request, out, Some(limited))
    }

    /// [`Peek::respond`] with the limiter's view, if given.
    fn respond_with(
        &self,
        zones: &ZoneSet,
        config: &Config,
        request: &Request<'_>,
        out: &mut [u8],
        limited: Option<WouldLimit<'_>>,
    ) -> Option<Outcome> {
        let zone = self.zone.and_then(|i| zones.zones().get(i));
        let hint = match zone {
            Some(zone) if self.probed => Some(Hint {
                zone,
                lower: &self.name[..self.len],
                first: self.node,
                limited,
            }),
            _ => None,
        };
        respond_hinted(zones, config, request, out, hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candor_wire::{Name, QuerySpec, query_message};

    fn query(name: &str, qtype: Rtype) -> Vec<u8> {
        let name = Name::from_text(name, None).expect("name");
        let spec = QuerySpec {
            id: 7,
            recursion_desired: false,
            edns_udp_size: Some(1232),
        };
        query_message(spec, &name, qtype)
    }

    #[test]
    fn question_reads_plain_queries_only() {
        let mut name = [0u8; MAX_NAME_LEN];
        let q = query("WWW.Example.", Rtype::AAAA);
        let (len, qtype) = question(&q, &mut name).expect("plain query");
        assert_eq!(&name[..len], b"\x03www\x07example\x00");
        assert_eq!(qtype, Rtype::AAAA);

        let mut response = q.clone();
        response[2] |= 0x80;
        assert!(question(&response, &mut name).is_none());
        let mut compressed = q.clone();
        compressed[12] = 0xc0;
        assert!(question(&compressed, &mut name).is_none());
        // Header, name and QTYPE are needed; the rest is not read.
        for cut in 0..12 + len + 2 {
            assert!(question(&q[..cut], &mut name).is_none(), "cut at {cut}");
        }
        assert!(question(&[0xff; 400], &mut name).is_none());
    }

    #[test]
    fn stages_find_the_node_the_lookup_finds() {
        use std::path::Path;
        use std::sync::Arc;
        let text = "$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
                    www A 192.0.2.2\nalias CNAME www\n";
        let origin = Name::from_text("example.", None).expect("origin");
        let zone = candor_zone::load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin)
            .expect("zone");
        let zones = ZoneSet::from_zones([Arc::new(zone)]);
        let zone = zones.find(b"\x07example\x00").expect("zone");
        let mut peek = Peek::default();
        for (name, found) in [
            ("WWW.example.", true),
            ("alias.example.", true),
            ("example.", true),
            ("nope.example.", false),
            ("www.example.org.", false),
        ] {
            let q = query(name, Rtype::A);
            Peek::prepare(std::slice::from_mut(&mut peek), &zones, [&q[..]]);
            let lower = Name::from_text(&name.to_ascii_lowercase(), None).expect("name");
            let expected = zone.node_by_name(lower.as_wire());
            assert_eq!(peek.node.map(|n| n.id), expected, "{name}");
            assert_eq!(expected.is_some(), found, "{name}");
        }
    }

    #[test]
    fn a_peek_at_another_query_is_ignored() {
        use std::path::Path;
        use std::sync::Arc;
        let text = "$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
                    www A 192.0.2.2\n";
        let origin = Name::from_text("example.", None).expect("origin");
        let zone = candor_zone::load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin)
            .expect("zone");
        let zones = ZoneSet::from_zones([Arc::new(zone)]);
        let config = Config {
            max_udp_payload: 1232,
            nsid: None,
            aliases: Default::default(),
            cookies: crate::Cookies::new(candor_guard::CookieSecrets::new([0; 16], None)),
        };
        let mut peek = Peek::default();
        let www = query("www.example.", Rtype::A);
        Peek::prepare(std::slice::from_mut(&mut peek), &zones, [&www[..]]);
        let other = query("nope.example.", Rtype::A);
        let request = Request {
            msg: &other,
            transport: crate::Transport::Udp,
            client: std::net::Ipv4Addr::LOCALHOST.into(),
            now: 0,
        };
        let (mut a, mut b) = (vec![0u8; 1232], vec![0u8; 1232]);
        let oa = peek.respond(&zones, &config, &request, &mut a);
        let ob = crate::respond(&zones, &config, &request, &mut b);
        assert_eq!(oa, ob);
        let len = oa.map_or(0, |o| o.len);
        assert_eq!(a[..len], b[..len]);
        // NXDOMAIN, not the A record the peek found for www.
        assert_eq!(a[3] & 0x0f, 3);
    }
}
