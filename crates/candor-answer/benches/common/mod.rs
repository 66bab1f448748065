//! The zones, queries and settings the answer benchmark and the
//! `answer_count` example share (included by both with `#[path]`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use candor_answer::{Config, Cookies, Request, Transport};
use candor_guard::CookieSecrets;
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::{ZoneBuilder, ZoneSet};

/// Wire name helper.
pub(crate) fn n(text: &str) -> Name {
    Name::from_text(text, None).expect("valid name")
}

/// A zone at `origin` with its SOA and one NS, `ns1.<origin>`.
pub(crate) fn zone_start(origin: &str) -> ZoneBuilder {
    let apex = n(origin);
    let mut b = ZoneBuilder::new(&apex);
    let ns = n(&format!("ns1.{origin}"));
    let mut soa = ns.as_wire().to_vec();
    soa.extend_from_slice(n(&format!("hostmaster.{origin}")).as_wire());
    soa.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 1, 44]);
    b.add(&apex, Rtype::SOA, 3600, &soa, None);
    b.add(&apex, Rtype::NS, 3600, ns.as_wire(), None);
    b
}

/// 100 zones like the benchmark's `mixed` set: hosts, a wildcard, a
/// delegation with glue, a CNAME.
pub(crate) fn zones() -> ZoneSet {
    let mut all = Vec::new();
    for z in 0..100 {
        let mut b = zone_start(&format!("z{z:04}.example."));
        b.add(
            &n(&format!("ns1.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 0, 1],
            None,
        );
        for h in 0..50u8 {
            let owner = n(&format!("host{h}.z{z:04}.example."));
            b.add(&owner, Rtype::A, 3600, &[198, 18, 0, h], None);
            b.add(
                &owner,
                Rtype::AAAA,
                3600,
                &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, h],
                None,
            );
        }
        b.add(
            &n(&format!("*.wild.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 1, 1],
            None,
        );
        b.add(
            &n(&format!("www.z{z:04}.example.")),
            Rtype::CNAME,
            3600,
            n(&format!("host1.z{z:04}.example.")).as_wire(),
            None,
        );
        b.add(
            &n(&format!("sub.z{z:04}.example.")),
            Rtype::NS,
            3600,
            n(&format!("ns.sub.z{z:04}.example.")).as_wire(),
            None,
        );
        b.add(
            &n(&format!("ns.sub.z{z:04}.example.")),
            Rtype::A,
            3600,
            &[198, 18, 2, 1],
            None,
        );
        all.push(Arc::new(b.finish().expect("valid zone")));
    }
    ZoneSet::from_zones(all)
}

/// A query with EDNS (1232 bytes), like dnsperf -e sends.
pub(crate) fn query(name: &str, qtype: Rtype) -> Vec<u8> {
    let spec = QuerySpec {
        id: 0x1234,
        recursion_desired: false,
        edns_udp_size: Some(1232),
    };
    query_message(spec, &n(name), qtype)
}

/// The answering settings of every benchmark.
pub(crate) fn config() -> Config {
    Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([7; 16], None)),
    }
}

/// A UDP request for `msg` from a fixed client.
pub(crate) fn request(msg: &[u8]) -> Request<'_> {
    Request {
        msg,
        transport: Transport::Udp,
        client: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        now: 1_700_000_000,
    }
}
