//! Differential test against Knot DNS: the same generated zone files are
//! served by `candor` and by `knotd`, several thousand questions are sent to
//! both, and every response is compared section by section.
//!
//! Everything is generated from one fixed seed (printed in every report) by
//! a small xorshift generator, so a failure reproduces exactly. Differences
//! that an RFC allows are listed in [`ALLOWED`], each with its reason; every
//! other difference fails the test, with a readable report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use candor_wire::decode::{Message, Record};
use candor_wire::{Class, Header, Name, Rtype};

use crate::support::{
    Candor, Defect, Edns, KnotServer, Query, Rng, TempDir, ask, flag_names, knotd_path, record,
    render_message,
};

/// The fixed seed; `CANDOR_DIFF_SEED` (hex) overrides it to explore, and
/// `CANDOR_DIFF_DUMP=FILE` writes every difference, allowed or not, to FILE.
const SEED: u64 = 0x00c0_ffee_d15c_0de5;

/// How many differences the report shows in full.
const SHOWN: usize = 30;

/// Header bits that must match.
const COMPARED_FLAGS: u16 = Header::QR | Header::AA | Header::TC | Header::RD | Header::RA;

//----------- Zone generation ---------------------------------------------------

/// One zone file being written, and what the questions need to know about it.
struct ZoneText {
    /// Origin without the final dot.
    origin: String,
    /// The file's text.
    text: String,
    /// Owner names written (absolute, without the final dot, as written).
    owners: BTreeSet<String>,
    /// Names below which random labels are interesting (wildcard parents,
    /// delegations, DNAME owners, empty non-terminals).
    probes: BTreeSet<String>,
    /// Owners of DNAME records (absolute, without the final dot).
    dnames: BTreeSet<String>,
}

impl ZoneText {
    /// A zone with its SOA; `minimum` is the negative-caching TTL.
    fn new(origin: &str, serial: u32, minimum: u32) -> ZoneText {
        let mut z = ZoneText {
            origin: origin.to_owned(),
            text: format!("$ORIGIN {origin}.\n$TTL 3600\n"),
            owners: BTreeSet::new(),
            probes: BTreeSet::new(),
            dnames: BTreeSet::new(),
        };
        z.rr(
            "@",
            3600,
            "SOA",
            &format!("ns1 hostmaster {serial} 7200 900 1209600 {minimum}"),
        );
        z.probes.insert(origin.to_owned());
        z
    }

    /// The absolute form (without final dot) of a relative owner.
    fn abs(&self, owner: &str) -> String {
        if owner == "@" {
            self.origin.clone()
        } else {
            format!("{owner}.{}", self.origin)
        }
    }

    /// Writes one record; `owner` is relative to the origin or `@`.
    fn rr(&mut self, owner: &str, ttl: u32, rtype: &str, rdata: &str) {
        let _ = writeln!(self.text, "{owner}\t{ttl}\tIN\t{rtype}\t{rdata}");
        self.owners.insert(self.abs(owner));
        if rtype == "DNAME" {
            self.dnames.insert(self.abs(owner));
        }
    }

    /// Marks a relative name as worth probing below.
    fn probe(&mut self, owner: &str) {
        let abs = self.abs(owner);
        self.probes.insert(abs);
    }
}

/// Hex digits for hashes and keys.
fn hex(rng: &mut Rng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rng.below(256)))
        .collect()
}

/// A TXT RDATA of `strings` strings of `len` characters each.
fn long_txt(rng: &mut Rng, strings: usize, len: usize) -> String {
    let mut out = Vec::new();
    for _ in 0..strings {
        let s: String = (0..len)
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect();
        out.push(format!("\"{s}\""));
    }
    out.join(" ")
}

/// The hand-written main zone: every feature named in the test plan.
fn example_zone(rng: &mut Rng) -> ZoneText {
    let mut z = ZoneText::new("example.test", 2024010101, 300);
    for ns in ["ns1", "ns2", "ns3.other.test.", "ns.example.net."] {
        z.rr("@", 3600, "NS", ns);
    }
    z.rr("@", 3600, "MX", "10 mail");
    z.rr("@", 3600, "MX", "20 mx.other.test.");
    z.rr("@", 3600, "MX", "30 noaddr");
    z.rr("@", 3600, "TXT", "\"v=spf1 -all\"");
    z.rr("@", 3600, "CAA", "0 issue \"ca.example.net\"");
    z.rr("@", 3600, "A", "192.0.2.1");
    z.rr("@", 3600, "AAAA", "2001:db8::1");
    z.rr("ns1", 3600, "A", "192.0.2.53");
    z.rr("ns1", 3600, "AAAA", "2001:db8::53");
    z.rr("ns2", 3600, "A", "192.0.2.54");
    z.rr("mail", 300, "A", "192.0.2.25");
    z.rr("mail", 300, "AAAA", "2001:db8::25");
    z.rr("noaddr", 300, "TXT", "\"a target without addresses\"");
    let hosts = 3 + rng.below(4);
    for i in 0..hosts {
        let owner = format!("host{i}");
        z.rr(&owner, 300, "A", &format!("192.0.2.{}", 10 + i));
        z.rr(&owner, 300, "AAAA", &format!("2001:db8::{:x}", 0x100 + i));
    }
    z.rr("www", 300, "A", "192.0.2.80");
    z.rr("www", 300, "A", "192.0.2.81");
    z.rr("www", 300, "AAAA", "2001:db8::80");
    // Mixed-case owners (the same node written in two cases, too).
    z.rr("MiXeD", 300, "A", "192.0.2.66");
    z.rr("mixed", 300, "TXT", "\"lower-case line, same node\"");
    z.rr("UPPER.Case", 300, "AAAA", "2001:db8::66");

    // Wildcards.
    z.rr("*.wild", 600, "A", "192.0.2.100");
    z.rr("*.wild", 600, "AAAA", "2001:db8::100");
    z.rr("*.wild", 600, "MX", "10 mail");
    z.rr("deep.*.wild", 600, "TXT", "\"below a wildcard\"");
    z.rr(
        "x.y.wild",
        600,
        "TXT",
        "\"makes y.wild an empty non-terminal\"",
    );
    z.rr(
        "exists.wild",
        600,
        "TXT",
        "\"an exact match beside the wildcard\"",
    );
    z.rr("*.txtonly", 600, "TXT", "\"wildcard with TXT only\"");
    z.rr("*.wcname", 600, "CNAME", "www");
    z.rr("*.wchain", 600, "CNAME", "alias.wcname");
    for p in ["wild", "y.wild", "txtonly", "wcname", "wchain"] {
        z.probe(p);
    }

    // Empty non-terminals.
    z.rr("a.b.c", 300, "A", "192.0.2.3");
    z.probe("b.c");
    z.probe("c");

    // CNAME chains of length 1..=4 ending at www, and a few more shapes.
    for len in 1..=4 {
        for k in 0..len {
            let target = if k + 1 == len {
                "www".to_owned()
            } else {
                format!("chain{len}-{}", k + 1)
            };
            z.rr(&format!("chain{len}-{k}"), 300, "CNAME", &target);
        }
    }
    z.rr("cross", 300, "CNAME", "www.other.test.");
    z.rr("crossnx", 300, "CNAME", "nothing.other.test.");
    z.rr("outside", 300, "CNAME", "www.example.net.");
    z.rr("loop1", 300, "CNAME", "loop2");
    z.rr("loop2", 300, "CNAME", "loop3");
    z.rr("loop3", 300, "CNAME", "loop1");
    z.rr("selfloop", 300, "CNAME", "selfloop");
    z.rr("todeleg", 300, "CNAME", "host.sub");
    z.rr("towild", 300, "CNAME", "foo.wild");
    z.rr("tonx", 300, "CNAME", "nothere");
    z.rr("todname", 300, "CNAME", "host.dnl");
    z.rr("MixedTarget", 300, "CNAME", "WwW.Example.Test.");

    // DNAME: to another served zone, and within this zone.
    z.rr("dn", 900, "DNAME", "other.test.");
    z.rr("dnl", 900, "DNAME", "wild.example.test.");
    z.rr("dnout", 900, "DNAME", "example.net.");
    z.rr("dnself", 900, "DNAME", "dnself.example.test.");
    // Into a wildcard CNAME: the name a DNAME leads to holds a CNAME.
    z.rr("dnc", 900, "DNAME", "wcname.example.test.");
    for p in ["dn", "dnl", "dnout", "dnself", "dnc"] {
        z.probe(p);
    }

    // Delegations.
    z.rr("sub", 3600, "NS", "ns.sub");
    z.rr("sub", 3600, "NS", "ns1");
    z.rr("sub", 3600, "DS", &format!("12345 13 2 {}", hex(rng, 32)));
    z.rr("ns.sub", 3600, "A", "192.0.2.77");
    z.rr("ns.sub", 3600, "AAAA", "2001:db8::77");
    z.rr("deep.x.sub", 3600, "A", "192.0.2.78");
    z.rr("in-parent", 3600, "NS", "ns1");
    z.rr("in-parent", 3600, "NS", "ns2");
    z.rr("oob", 3600, "NS", "ns.example.net.");
    z.rr("oob", 3600, "NS", "ns.other.test.");
    z.rr("sibling", 3600, "NS", "ns.sub");
    z.rr("sibling", 3600, "NS", "ns.example.net.");
    for p in ["sub", "x.sub", "in-parent", "oob", "sibling"] {
        z.probe(p);
    }

    // Additional-section targets.
    z.rr("_sip._tcp", 300, "SRV", "10 5 5060 sip");
    z.rr("_sip._tcp", 300, "SRV", "20 5 5060 noaddr");
    z.rr("sip", 300, "A", "192.0.2.60");
    z.rr("_xmpp._tcp", 300, "SRV", "0 0 5222 xmpp.other.test.");
    z.rr("_wild._tcp", 300, "SRV", "0 0 443 srv.wild");
    z.rr("mxhost", 300, "MX", "10 host0");
    z.rr("mxhost", 300, "MX", "20 ns.sub");
    z.rr("mxwild", 300, "MX", "10 any.wild");

    // Other types.
    z.rr(
        "naptr",
        300,
        "NAPTR",
        "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.test.",
    );
    z.rr("ssh", 300, "SSHFP", &format!("1 1 {}", hex(rng, 20)));
    z.rr(
        "_443._tcp.www",
        300,
        "TLSA",
        &format!("3 1 1 {}", hex(rng, 32)),
    );
    z.rr("svc", 300, "HTTPS", "1 tgt alpn=h2,h3 port=8443");
    z.rr("svc", 300, "SVCB", "0 www");
    z.rr("tgt", 300, "A", "192.0.2.9");
    z.rr("tgt", 300, "HTTPS", "1 . ipv4hint=192.0.2.9");
    z.rr("ptr", 300, "PTR", "www");
    z.rr("caa", 300, "CAA", "128 issuewild \";\"");
    z.rr("unk", 300, "TYPE65534", "\\# 3 010203");

    // Truncation: over 512 bytes, and over 1232.
    let txt = long_txt(rng, 3, 200);
    z.rr("bigtxt", 300, "TXT", &txt);
    let txt = long_txt(rng, 6, 250);
    z.rr("hugetxt", 300, "TXT", &txt);
    z
}

/// The zone other zones point into.
fn other_zone() -> ZoneText {
    let mut z = ZoneText::new("other.test", 7, 600);
    z.rr("@", 3600, "NS", "ns1.example.test.");
    z.rr("@", 3600, "NS", "ns3");
    z.rr("ns3", 3600, "A", "198.51.100.3");
    z.rr("www", 300, "A", "198.51.100.80");
    z.rr("www", 300, "AAAA", "2001:db8:1::80");
    z.rr("host", 300, "A", "198.51.100.81");
    z.rr("back", 300, "CNAME", "www.example.test.");
    z.rr("*.any", 300, "TXT", "\"other wildcard\"");
    z.probe("any");
    z
}

/// The parent of a served child zone.
fn parent_zone(rng: &mut Rng) -> ZoneText {
    let mut z = ZoneText::new("parent.test", 100, 120);
    z.rr("@", 3600, "NS", "ns1");
    z.rr("ns1", 3600, "A", "203.0.113.1");
    z.rr("child", 3600, "NS", "ns1.child");
    z.rr("child", 3600, "NS", "ns1");
    z.rr("child", 3600, "DS", &format!("54321 8 2 {}", hex(rng, 32)));
    z.rr("ns1.child", 3600, "A", "203.0.113.53");
    z.rr("nods", 3600, "NS", "ns1");
    z.rr("www", 300, "A", "203.0.113.80");
    z.probe("child");
    z.probe("nods");
    z
}

/// The child zone, also delegated from its served parent.
fn child_zone() -> ZoneText {
    let mut z = ZoneText::new("child.parent.test", 200, 60);
    z.rr("@", 3600, "NS", "ns1");
    z.rr("@", 3600, "NS", "ns1.parent.test.");
    z.rr("ns1", 3600, "A", "203.0.113.53");
    z.rr("www", 300, "A", "203.0.113.90");
    z.rr("grand", 3600, "NS", "ns.grand");
    z.rr("ns.grand", 3600, "A", "203.0.113.99");
    z.probe("grand");
    z
}

/// A reverse zone with PTRs.
fn reverse_zone() -> ZoneText {
    let mut z = ZoneText::new("2.0.192.in-addr.arpa", 1, 3600);
    z.rr("@", 86400, "NS", "ns1.example.test.");
    for (i, host) in [
        (1, "example.test."),
        (25, "mail.example.test."),
        (53, "ns1.example.test."),
    ] {
        z.rr(&i.to_string(), 86400, "PTR", host);
    }
    z.rr("80", 86400, "PTR", "www.example.test.");
    z.rr("80", 86400, "PTR", "web.example.test.");
    z.rr("128/26", 86400, "NS", "ns1.example.test.");
    z.rr("130", 86400, "CNAME", "130.128/26");
    z.probe("128/26");
    z
}

/// What a generated random name holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Holds {
    /// Ordinary data: type → (TTL, RDATAs).
    Data(BTreeMap<&'static str, (u32, Vec<String>)>),
    /// A CNAME.
    Cname(u32, String),
    /// A delegation (NS names) with glue written separately.
    Cut(Vec<String>),
}

/// A zone drawn at random: names of 1..=3 labels from a small pool (so
/// empty non-terminals, wildcards and chains occur), a large NS set, CNAMEs
/// to other random names, and delegations with glue.
fn random_zone(rng: &mut Rng) -> ZoneText {
    const LABELS: &[&str] = &["a", "b", "c", "mx", "www", "srv", "e"];
    const TTLS: &[u32] = &[60, 300, 3600, 86400];
    let origin = "rand.test";
    let mut z = ZoneText::new(origin, 42, 900);
    // A large-ish NS set, most with in-zone addresses.
    for i in 0..9 {
        z.rr("@", 3600, "NS", &format!("nameserver-{i:02}"));
        if i % 4 != 3 {
            z.rr(
                &format!("nameserver-{i:02}"),
                3600,
                "A",
                &format!("198.51.100.{}", 100 + i),
            );
            z.rr(
                &format!("nameserver-{i:02}"),
                3600,
                "AAAA",
                &format!("2001:db8:2::{i}"),
            );
        }
    }
    let mut names: BTreeMap<String, Holds> = BTreeMap::new();
    for _ in 0..70 {
        let depth = 1 + rng.below(3);
        let mut labels: Vec<&str> = (0..depth).map(|_| *rng.pick(LABELS)).collect();
        if rng.chance(12) {
            labels[0] = "*";
        }
        let name = labels.join(".");
        let is_below = |other: &str| name.ends_with(&format!(".{other}"));
        let above_cut = names
            .iter()
            .any(|(n, h)| matches!(h, Holds::Cut(_)) && is_below(n));
        if above_cut {
            continue;
        }
        let kind = rng.below(10);
        let ttl = *rng.pick(TTLS);
        match (kind, names.get_mut(&name)) {
            (0, None) if labels[0] != "*" => {
                let has_children = names.keys().any(|n| n.ends_with(&format!(".{name}")));
                if !has_children {
                    let ns = vec![format!("ns.{name}"), "nameserver-00".to_owned()];
                    names.insert(name.clone(), Holds::Cut(ns));
                }
            }
            (1, None) => {
                let targets: Vec<String> = names.keys().cloned().collect();
                let target = if targets.is_empty() || rng.chance(20) {
                    format!("nowhere.{}", rng.pick(LABELS))
                } else {
                    rng.pick(&targets).replace('*', "star")
                };
                names.insert(name.clone(), Holds::Cname(ttl, target));
            }
            (_, None) if kind >= 2 => {
                names.insert(name.clone(), Holds::Data(BTreeMap::new()));
                add_random_data(rng, names.get_mut(&name), ttl);
            }
            (_, Some(h @ Holds::Data(_))) if kind >= 2 => add_random_data(rng, Some(h), ttl),
            _ => {}
        }
    }
    for (name, holds) in &names {
        // Random case for the owner as written.
        let owner = if rng.chance(20) {
            rng.mix_case(name)
        } else {
            name.clone()
        };
        match holds {
            Holds::Data(sets) => {
                for (rtype, (ttl, rdatas)) in sets {
                    for rdata in rdatas {
                        z.rr(&owner, *ttl, rtype, rdata);
                    }
                }
            }
            Holds::Cname(ttl, target) => z.rr(&owner, *ttl, "CNAME", target),
            Holds::Cut(ns) => {
                for n in ns {
                    z.rr(&owner, 3600, "NS", n);
                }
                z.rr(
                    &format!("ns.{name}"),
                    3600,
                    "A",
                    &format!("198.51.100.{}", rng.below(250)),
                );
                z.probe(name);
            }
        }
        if let Some(parent) = name.strip_prefix("*.") {
            z.probe(parent);
        } else if name == "*" {
            z.probe("@");
        }
    }
    z
}

/// Adds one random RR (of a type not yet present, or a further RR of an
/// existing RRset with its TTL) to a data node.
fn add_random_data(rng: &mut Rng, holds: Option<&mut Holds>, ttl: u32) {
    const TYPES: &[&str] = &["A", "AAAA", "TXT", "MX", "SRV", "CAA", "HTTPS", "TYPE65534"];
    let Some(Holds::Data(sets)) = holds else {
        return;
    };
    let rtype = *rng.pick(TYPES);
    let rdata = match rtype {
        "A" => format!("192.0.2.{}", 1 + rng.below(254)),
        "AAAA" => format!("2001:db8:3::{:x}", rng.below(0xffff)),
        "TXT" => format!("\"t{}\"", rng.below(1000)),
        "MX" => format!(
            "{} {}",
            rng.below(50),
            rng.pick(&["www", "mx", "a.b", "nowhere"])
        ),
        "SRV" => format!(
            "1 2 {} {}",
            1 + rng.below(65000),
            rng.pick(&["srv", "www.c", "a"])
        ),
        "CAA" => format!("0 issue \"ca{}.example\"", rng.below(10)),
        "HTTPS" => format!("1 {} alpn=h2", rng.pick(&["www", "b.c", "."])),
        _ => format!("\\# 2 {:04x}", rng.below(0xffff)),
    };
    let entry = sets.entry(rtype).or_insert_with(|| (ttl, Vec::new()));
    if !entry.1.contains(&rdata) {
        entry.1.push(rdata);
    }
}

//----------- Questions ---------------------------------------------------------

/// One question and how to send it.
#[derive(Clone, Debug)]
struct Question {
    /// The query.
    query: Query,
    /// Over TCP instead of UDP.
    tcp: bool,
}

impl Question {
    /// A line for reports.
    fn describe(&self) -> String {
        format!(
            "{}{}",
            self.query.describe(),
            if self.tcp { " +tcp" } else { "" }
        )
    }
}

/// The qtypes asked of every name.
const QTYPES: &[Rtype] = &[
    Rtype::A,
    Rtype::AAAA,
    Rtype::NS,
    Rtype::SOA,
    Rtype::MX,
    Rtype::TXT,
    Rtype::CNAME,
    Rtype::DNAME,
    Rtype::DS,
    Rtype::SRV,
    Rtype::ANY,
    Rtype::CAA,
    Rtype::HTTPS,
    Rtype(65534),
    Rtype::RRSIG,
    Rtype::NSEC,
];

/// Every ancestor of `name` strictly below `origin` (empty non-terminals
/// included), and `name` itself.
fn with_ancestors(name: &str, origin: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    let mut cur = name;
    while let Some((_, parent)) = cur.split_once('.') {
        if parent.len() <= origin.len() {
            break;
        }
        out.push(parent.to_owned());
        cur = parent;
    }
    out
}

/// Builds the questions: every name × [`QTYPES`], random labels below every
/// probe point (QTYPE=CNAME below every DNAME), names outside every zone,
/// odd classes, opcodes and EDNS versions, transfers, NOTIFY and UPDATE
/// with their records, and broken messages; each with random case, EDNS,
/// DO, RD and transport.
fn questions(rng: &mut Rng, zones: &[ZoneText]) -> Vec<Question> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for z in zones {
        for owner in &z.owners {
            names.extend(with_ancestors(&owner.to_ascii_lowercase(), &z.origin));
        }
    }
    let mut plain: Vec<(String, Rtype)> = Vec::new();
    for name in &names {
        for &t in QTYPES {
            plain.push((name.clone(), t));
        }
    }
    for z in zones {
        for p in &z.probes {
            for _ in 0..4 {
                let one = format!("{}.{p}", rng.label());
                plain.push((one, *rng.pick(QTYPES)));
                let two = format!("{}.{}.{p}", rng.label(), rng.label());
                plain.push((two, *rng.pick(QTYPES)));
            }
            for t in [Rtype::A, Rtype::DS, Rtype::NS, Rtype::ANY] {
                plain.push((format!("{}.{p}", rng.label()), t));
            }
        }
    }
    for outside in [
        ".",
        "test",
        "xexample.test",
        "example.net",
        "www.example.net",
        "in-addr.arpa",
        "0.192.in-addr.arpa",
        "example.test.example.net",
    ] {
        for t in [Rtype::A, Rtype::SOA, Rtype::NS, Rtype::DS, Rtype::ANY] {
            plain.push((outside.to_owned(), t));
        }
    }

    let name_list: Vec<&String> = names.iter().collect();
    let mut out = Vec::with_capacity(plain.len() + 200);
    for (name, qtype) in plain {
        let mut q = Query::new(&name, qtype);
        randomize(rng, &mut q);
        out.push(Question {
            query: q,
            tcp: rng.chance(8),
        });
    }
    // Truncation: large RRsets and referrals at every UDP size.
    for name in [
        "bigtxt.example.test",
        "hugetxt.example.test",
        "rand.test",
        "x.sub.example.test",
    ] {
        for qtype in [Rtype::TXT, Rtype::ANY, Rtype::NS] {
            for payload in [None, Some(512), Some(1232), Some(4096)] {
                let mut q = Query::new(name, qtype);
                q.edns = payload.map(Edns::with_payload);
                out.push(Question {
                    query: q,
                    tcp: false,
                });
            }
        }
    }
    for i in 0..120 {
        let name = (*rng.pick(&name_list)).clone();
        let mut q = Query::new(&name, *rng.pick(QTYPES));
        randomize(rng, &mut q);
        match i % 6 {
            0 => q.qclass = Class::CH,
            1 => q.qclass = Class::ANY,
            2 => {
                q.edns = Some(Edns {
                    version: 1,
                    ..Edns::with_payload(1232)
                })
            }
            3 => q.opcode = 4, // NOTIFY
            4 => q.opcode = 2, // STATUS
            _ => q.opcode = 5, // UPDATE
        }
        out.push(Question {
            query: q,
            tcp: rng.chance(10),
        });
    }
    // QTYPE=CNAME below every DNAME: the synthesized CNAME answers it
    // (RFC 6672 §3.2, RFC 1034 §4.3.2 step 3a), whatever the new name holds.
    for z in zones {
        for owner in &z.dnames {
            for _ in 0..2 {
                let mut q = Query::new(&format!("{}.{owner}", rng.label()), Rtype::CNAME);
                randomize(rng, &mut q);
                out.push(Question {
                    query: q,
                    tcp: rng.chance(10),
                });
            }
        }
    }
    out.extend(requests_with_records(rng, zones, &name_list));
    out.extend(broken_messages(rng, &name_list));
    out
}

/// Zone transfers, NOTIFY and UPDATE, with the records each carries (RFC
/// 1995 §3, RFC 1996 §3.7, RFC 2136 §2), at every apex, at a name below
/// one and outside every zone; over UDP and TCP.
fn requests_with_records(rng: &mut Rng, zones: &[ZoneText], names: &[&String]) -> Vec<Question> {
    let mut out = Vec::new();
    let mut apexes: Vec<String> = zones.iter().map(|z| z.origin.clone()).collect();
    apexes.push((*rng.pick(names)).clone());
    apexes.push("example.net".to_owned());
    for apex in &apexes {
        let soa = |serial: u32| record(apex, Rtype::SOA, Class::IN, 0, &soa_rdata(apex, serial));
        let mut shapes: Vec<(Query, bool)> = Vec::new();
        for tcp in [false, true] {
            // IXFR from an older serial: the client's SOA in authority.
            let mut ixfr = Query::new(apex, Rtype::IXFR);
            ixfr.authority.push(soa(1));
            shapes.push((ixfr, tcp));
            shapes.push((Query::new(apex, Rtype::AXFR), tcp));
            // UPDATE: "name is in use" as prerequisite, one A record added.
            let mut update = Query::new(apex, Rtype::SOA);
            update.opcode = 5;
            let name = format!("{}.{apex}", rng.label());
            update
                .answer
                .push(record(apex, Rtype::ANY, Class::ANY, 0, &[]));
            update
                .authority
                .push(record(&name, Rtype::A, Class::IN, 300, &[192, 0, 2, 7]));
            shapes.push((update, tcp));
        }
        // UPDATE with updates only; with a zone section that is not SOA.
        let mut update = Query::new(apex, Rtype::SOA);
        update.opcode = 5;
        update
            .authority
            .push(record(apex, Rtype::TXT, Class::IN, 300, b"\x02hi"));
        shapes.push((update, rng.chance(50)));
        let mut not_soa = Query::new(apex, Rtype::A);
        not_soa.opcode = 5;
        not_soa
            .authority
            .push(record(apex, Rtype::TXT, Class::IN, 300, b"\x02hi"));
        shapes.push((not_soa, false));
        // NOTIFY with the new SOA in the answer section.
        let mut notify = Query::new(apex, Rtype::SOA);
        notify.opcode = 4;
        notify.answer.push(soa(9));
        shapes.push((notify, rng.chance(20)));
        for (mut q, tcp) in shapes {
            randomize(rng, &mut q);
            out.push(Question { query: q, tcp });
        }
    }
    out
}

/// Messages broken in each [`Defect`]'s way, mostly with an OPT record
/// (of version 0 or 1, with and without DO), since the FORMERR must carry
/// one too (RFC 6891 §7).
fn broken_messages(rng: &mut Rng, names: &[&String]) -> Vec<Question> {
    let mut out = Vec::new();
    for defect in [
        Defect::NoQuestion,
        Defect::MissingAdditional,
        Defect::MissingAuthority,
        Defect::SecondOpt,
        Defect::BrokenOption,
    ] {
        let edns = [
            None,
            Some(Edns::with_payload(1232)),
            Some(Edns {
                dnssec_ok: true,
                ..Edns::with_payload(4096)
            }),
            Some(Edns {
                version: 1,
                ..Edns::with_payload(1232)
            }),
        ];
        for e in edns {
            if e.is_none() && matches!(defect, Defect::SecondOpt | Defect::BrokenOption) {
                continue;
            }
            let name = rng.pick(names).as_str();
            let mut q = Query::new(name, *rng.pick(QTYPES));
            q.rd = rng.chance(30);
            q.edns = e;
            q.defect = Some(defect);
            out.push(Question {
                query: q,
                tcp: rng.chance(20),
            });
        }
    }
    out
}

/// The RDATA of an SOA record for `apex` with `serial`.
fn soa_rdata(apex: &str, serial: u32) -> Vec<u8> {
    let name = |n: String| {
        Name::from_text(&format!("{n}."), None)
            .expect("generated names are valid")
            .as_wire()
            .to_vec()
    };
    let mut rdata = name(format!("ns1.{apex}"));
    rdata.extend(name(format!("hostmaster.{apex}")));
    for field in [serial, 7200, 900, 1_209_600, 300] {
        rdata.extend_from_slice(&field.to_be_bytes());
    }
    rdata
}

/// Random case, EDNS (none, 512, 1232, 4096), DO and RD for a query.
fn randomize(rng: &mut Rng, q: &mut Query) {
    if rng.chance(25) {
        q.name = rng.mix_case(&q.name);
    }
    q.edns = match rng.below(4) {
        0 => None,
        n => Some(Edns {
            dnssec_ok: rng.chance(25),
            ..Edns::with_payload([512, 1232, 4096][n - 1])
        }),
    };
    q.rd = rng.chance(30);
}

//----------- Comparison --------------------------------------------------------

/// Both responses to one question.
struct Outcome {
    /// The question.
    question: Question,
    /// Knot's response.
    knot: Option<Message>,
    /// Ours.
    ours: Option<Message>,
}

/// A section as a set of RRsets: (lower-cased owner, type, class, TTL) →
/// sorted RDATAs (duplicates kept, so a repeated record is a difference).
type RrSets = BTreeMap<(Vec<u8>, u16, u16, u32), Vec<Vec<u8>>>;

/// A section as RRsets, OPT left out; with `fold`, names inside RDATA
/// are lower-cased too.
fn rrsets(records: &[Record], fold: bool) -> RrSets {
    let mut out = RrSets::new();
    for r in records.iter().filter(|r| r.rtype != Rtype::OPT) {
        let key = (
            r.owner.to_lowercase().as_wire().to_vec(),
            r.rtype.0,
            r.class.0,
            r.ttl,
        );
        let rdata = if fold {
            fold_rdata_names(r.rtype, &r.rdata)
        } else {
            r.rdata.clone()
        };
        out.entry(key).or_default().push(rdata);
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// RDATA with the domain names in it lower-cased, for the types that
/// carry names (RFC 3597 §4 list, SRV, NAPTR, SVCB/HTTPS).
fn fold_rdata_names(rtype: Rtype, rdata: &[u8]) -> Vec<u8> {
    let mut out = rdata.to_vec();
    let mut fold_at = |pos: usize| -> Option<usize> {
        let len = candor_wire::wire_name_len(out.get(pos..)?)?;
        candor_wire::lowercase_wire(&mut out[pos..pos + len]);
        Some(pos + len)
    };
    let _ = match rtype.0 {
        2..=5 | 7..=9 | 12 | 39 => fold_at(0),
        15 | 18 | 21 | 36 | 64 | 65 => fold_at(2),
        33 => fold_at(6),
        6 | 14 | 17 => fold_at(0).and_then(&mut fold_at),
        35 => {
            // ORDER, PREFERENCE, then three character-strings.
            let mut pos = 4;
            for _ in 0..3 {
                pos += 1 + usize::from(*rdata.get(pos).unwrap_or(&0));
            }
            fold_at(pos)
        }
        _ => None,
    };
    out
}

/// What of the OPT record is compared: version and DO (not the size).
fn opt_summary(m: &Message) -> Option<(u8, bool)> {
    m.opt()
        .map(|o| (((o.ttl >> 16) & 0xff) as u8, o.ttl & 0x8000 != 0))
}

/// The kinds of difference between two responses (empty if they match);
/// `fold` compares names inside RDATA case-insensitively.
fn differences(knot: Option<&Message>, ours: Option<&Message>, fold: bool) -> Vec<&'static str> {
    let (k, o) = match (knot, ours) {
        (None, None) => return Vec::new(),
        (Some(k), Some(o)) => (k, o),
        _ => return vec!["presence"],
    };
    let mut kinds = Vec::new();
    if k.rcode() != o.rcode() {
        kinds.push("rcode");
    }
    if k.header.flags & COMPARED_FLAGS != o.header.flags & COMPARED_FLAGS {
        kinds.push("flags");
    }
    if (k.header.flags | o.header.flags) & Header::TC != 0 {
        return kinds;
    }
    let lower = |m: &Message| -> Vec<(Vec<u8>, Rtype, Class)> {
        m.questions
            .iter()
            .map(|(n, t, c)| (n.to_lowercase().as_wire().to_vec(), *t, *c))
            .collect()
    };
    if lower(k) != lower(o) {
        kinds.push("question");
    }
    if rrsets(&k.answer, fold) != rrsets(&o.answer, fold) {
        kinds.push("answer");
    }
    if rrsets(&k.authority, fold) != rrsets(&o.authority, fold) {
        kinds.push("authority");
    }
    if rrsets(&k.additional, fold) != rrsets(&o.additional, fold) {
        kinds.push("additional");
    }
    if opt_summary(k) != opt_summary(o) {
        kinds.push("opt");
    }
    kinds
}

/// The allowance for names in RDATA written in another case (see the test).
const NAME_CASE: &str = "case of names in RDATA (RFC 4343 §3)";

/// What an allowance may consult.
struct Ctx {
    /// Knot, for follow-up questions.
    knot: SocketAddr,
}

/// A difference an RFC allows.
struct Allowed {
    /// Short name for the summary.
    kind: &'static str,
    /// Whether it explains this outcome.
    applies: fn(&Ctx, &Outcome) -> bool,
}

/// The differences an RFC allows; everything else must match. Each rule
/// is narrow: it names the exact shape of the difference it accepts.
const ALLOWED: &[Allowed] = &[
    // RFC 8482 §4.1/§4.2: an ANY query may be answered with a subset of the
    // RRsets at the name ("one RRset or a small set"); which one is the
    // responder's choice, and it may differ between transports. We accept
    // it when rcode, flags and authority match and every RRset in either
    // answer is exactly what Knot returns when asked for that type.
    Allowed {
        kind: "minimal ANY (RFC 8482 §4.1)",
        applies: allowed_any,
    },
    // RFC 1034 §4.3.2: a QCLASS=* response "should never be authoritative
    // unless the server can guarantee that the response covers all
    // classes"; declining with REFUSED (a policy refusal, RFC 1035 §4.1.1)
    // is allowed. Knot answers from its IN data with AA set.
    Allowed {
        kind: "REFUSED for QCLASS ANY (RFC 1034 §4.3.2)",
        applies: allowed_qclass_any,
    },
    // RFC 1034 §4.3.2 step 6: outside referrals the additional section holds
    // optional data "which may be useful", and RFC 2181 §9 lets it be cut
    // short without TC. Accepted when everything else matches, the answer
    // is authoritative (no referral: glue there is not optional, RFC 9471),
    // and every record we add is one Knot adds when nothing limits the size.
    Allowed {
        kind: "optional additional data (RFC 1034 §4.3.2, RFC 2181 §9)",
        applies: allowed_additional,
    },
    // RFC 2181 §5: identical RRs in one response are meaningless. In a name
    // loop Knot repeats the synthesized CNAME; we accept an answer without
    // repeats that equals Knot's once its repeats are removed, everything
    // else matching. (Repeats of our own are never accepted.)
    Allowed {
        kind: "repeated RRs in a loop (RFC 2181 §5)",
        applies: allowed_repeats,
    },
    // RFC 6891 §7: "If an OPT record is present in a received request,
    // compliant responders MUST include an OPT record in their respective
    // responses." Knot leaves it out of the FORMERR for a message it cannot
    // parse to its end; candor keeps it (version 0, DO echoed). Accepted
    // for broken messages that carried an OPT, both responses FORMERR,
    // everything else matching.
    Allowed {
        kind: "OPT in a FORMERR (RFC 6891 §7)",
        applies: allowed_formerr_opt,
    },
];

/// Both responses, if both servers answered.
fn both(o: &Outcome) -> Option<(&Message, &Message)> {
    Some((o.knot.as_ref()?, o.ours.as_ref()?))
}

/// rcode and compared flags are equal.
fn same_header(k: &Message, ours: &Message) -> bool {
    k.rcode() == ours.rcode()
        && k.header.flags & COMPARED_FLAGS == ours.header.flags & COMPARED_FLAGS
}

/// See [`ALLOWED`]: REFUSED, with nothing else, for QCLASS ANY.
fn allowed_qclass_any(_: &Ctx, o: &Outcome) -> bool {
    let Some((_, ours)) = both(o) else {
        return false;
    };
    o.question.query.qclass == Class::ANY
        && ours.rcode() == 5
        && ours.header.flags & Header::AA == 0
        && ours.answer.is_empty()
        && ours.authority.is_empty()
}

/// See [`ALLOWED`]: a different choice of optional additional records.
fn allowed_additional(ctx: &Ctx, o: &Outcome) -> bool {
    let Some((k, ours)) = both(o) else {
        return false;
    };
    if !same_header(k, ours)
        || ours.header.flags & Header::AA == 0
        || rrsets(&k.answer, true) != rrsets(&ours.answer, true)
        || rrsets(&k.authority, true) != rrsets(&ours.authority, true)
        || opt_summary(k) != opt_summary(ours)
    {
        return false;
    }
    let mut full = o.question.query.clone();
    full.edns = Some(Edns {
        payload: 4096,
        ..full.edns.unwrap_or(Edns::with_payload(4096))
    });
    let Some(unlimited) = ask(ctx.knot, &full, true) else {
        return false;
    };
    let known = rrsets(&unlimited.additional, true);
    rrsets(&ours.additional, true).iter().all(|(key, rdatas)| {
        known
            .get(key)
            .is_some_and(|have| rdatas.iter().all(|r| have.contains(r)))
    })
}

/// See [`ALLOWED`]: our FORMERR to a broken message has the OPT Knot's lacks.
fn allowed_formerr_opt(_: &Ctx, o: &Outcome) -> bool {
    let Some((k, ours)) = both(o) else {
        return false;
    };
    let q = &o.question.query;
    q.defect.is_some()
        && q.edns.is_some()
        && same_header(k, ours)
        && k.rcode() == 1
        && k.opt().is_none()
        && opt_summary(ours) == Some((0, q.edns.is_some_and(|e| e.dnssec_ok)))
        && k.questions == ours.questions
        && [k, ours]
            .iter()
            .all(|m| m.answer.is_empty() && m.authority.is_empty())
        && ours.additional.len() == 1
}

/// See [`ALLOWED`]: Knot's answer repeats RRs and equals ours without them.
fn allowed_repeats(_: &Ctx, o: &Outcome) -> bool {
    let Some((k, ours)) = both(o) else {
        return false;
    };
    let dedup = |m: &Message| -> RrSets {
        let mut sets = rrsets(&m.answer, true);
        for v in sets.values_mut() {
            v.dedup();
        }
        sets
    };
    let repeats = |m: &Message| {
        rrsets(&m.answer, true)
            .values()
            .any(|v| v.windows(2).any(|w| w[0] == w[1]))
    };
    repeats(k)
        && !repeats(ours)
        && same_header(k, ours)
        && dedup(k) == dedup(ours)
        && rrsets(&k.authority, true) == rrsets(&ours.authority, true)
        && rrsets(&k.additional, true) == rrsets(&ours.additional, true)
}

/// See [`ALLOWED`]: minimal ANY responses that choose different RRsets.
fn allowed_any(ctx: &Ctx, o: &Outcome) -> bool {
    let (Some(k), Some(ours)) = (&o.knot, &o.ours) else {
        return false;
    };
    let q = &o.question.query;
    if q.qtype != Rtype::ANY || q.opcode != 0 || q.qclass != Class::IN {
        return false;
    }
    if k.rcode() != ours.rcode()
        || k.header.flags & COMPARED_FLAGS != ours.header.flags & COMPARED_FLAGS
        || rrsets(&k.authority, true) != rrsets(&ours.authority, true)
        || opt_summary(k) != opt_summary(ours)
        || k.answer.is_empty()
        || ours.answer.is_empty()
    {
        // With no answer on either side there is no choice of RRsets to
        // excuse whatever else differs.
        return false;
    }
    let sets: BTreeSet<(Vec<u8>, u16)> = k
        .answer
        .iter()
        .chain(ours.answer.iter())
        .map(|r| (r.owner.to_lowercase().as_wire().to_vec(), r.rtype.0))
        .collect();
    sets.into_iter().all(|(owner, rtype)| {
        let owner_name = Name::from_wire(&owner)
            .map(|n| n.to_string())
            .unwrap_or_default();
        let mut follow = Query::new(&owner_name, Rtype(rtype));
        follow.edns = Some(Edns::with_payload(4096));
        let Some(direct) = ask(ctx.knot, &follow, true) else {
            return false;
        };
        let want: RrSets = rrsets(&direct.answer, true)
            .into_iter()
            .filter(|((o, t, _, _), _)| *o == owner && *t == rtype)
            .collect();
        let pick = |m: &Message| -> RrSets {
            rrsets(&m.answer, true)
                .into_iter()
                .filter(|((o, t, _, _), _)| *o == owner && *t == rtype)
                .collect()
        };
        !want.is_empty()
            && [pick(k), pick(ours)]
                .iter()
                .all(|got| got.is_empty() || *got == want)
    })
}

/// How one question came out.
enum Verdict {
    /// Both responses match exactly.
    Identical,
    /// They differ in a way an RFC allows (the allowance's name).
    Allowed(&'static str),
    /// They differ otherwise (the kinds of difference, joined by `+`).
    Different(String),
}

/// Compares both responses to one question.
fn classify(ctx: &Ctx, o: &Outcome) -> Verdict {
    let exact = differences(o.knot.as_ref(), o.ours.as_ref(), false);
    if exact.is_empty() {
        return Verdict::Identical;
    }
    let kinds = differences(o.knot.as_ref(), o.ours.as_ref(), true);
    if kinds.is_empty() {
        // RFC 4343 §2/§3: names compare case-insensitively, and a server may
        // give names in RDATA another case (Knot takes the QNAME's case
        // through name compression; candor keeps the zone file's).
        return Verdict::Allowed(NAME_CASE);
    }
    match ALLOWED.iter().find(|a| (a.applies)(ctx, o)) {
        Some(a) => Verdict::Allowed(a.kind),
        None => Verdict::Different(kinds.join("+")),
    }
}

/// One difference for the report: the question and both responses.
fn render_failure(kind: &str, o: &Outcome) -> String {
    format!(
        "\n[{kind}] {}\n  knot:\n{}  candor:\n{}",
        o.question.describe(),
        render_message(o.knot.as_ref()),
        render_message(o.ours.as_ref())
    )
}

//----------- The test ----------------------------------------------------------

/// Sends every generated question to Knot and to candor and compares the
/// responses; fails with a report of every difference no RFC allows.
#[test]
fn same_answers_as_knot() {
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("differential: skipped, knotd is not installed (CANDOR_SKIP_KNOT=1)");
            return;
        }
        panic!(
            "knotd not found: the differential test needs Knot DNS. Install it with \
             `apt-get install knot knot-dnsutils`, or set CANDOR_SKIP_KNOT=1 to skip this test."
        );
    };
    let seed = std::env::var("CANDOR_DIFF_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(SEED);
    let mut rng = Rng::new(seed);

    let zones = vec![
        example_zone(&mut rng),
        other_zone(),
        parent_zone(&mut rng),
        child_zone(),
        reverse_zone(),
        random_zone(&mut rng),
    ];
    let dir = TempDir::new("diff-zones");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for z in &zones {
        files.push((
            z.origin.clone(),
            dir.write(&format!("{}.zone", z.origin), &z.text),
        ));
    }
    let mut knot = KnotServer::start(&knotd, &files);
    // Knot runs without its rrl and cookies modules, so Candor runs without
    // rate limiting: the test asks thousands of questions a second from one
    // address, and the NXDOMAIN and NODATA ones share an account per zone.
    // The questions carry no COOKIE option (Knot would ignore it).
    let candor = Candor::start(dir.path(), &["--rrl-rate", "0"], "example.test");
    for (origin, _) in &files {
        let soa = ask(candor.addr(), &Query::new(origin, Rtype::SOA), false);
        assert!(
            soa.as_ref()
                .is_some_and(|m| m.rcode() == 0 && !m.answer.is_empty()),
            "candor did not load zone {origin} (seed {seed:#x}):\n{}\nlog:\n{}",
            render_message(soa.as_ref()),
            candor.log()
        );
    }

    let questions = questions(&mut rng, &zones);
    let ctx = Ctx { knot: knot.addr() };
    let mut identical = 0usize;
    let over_tcp = questions.iter().filter(|q| q.tcp).count();
    let mut truncated = 0usize;
    let mut allowed: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures: Vec<(String, Outcome)> = Vec::new();
    let mut dump = String::new();
    for question in &questions {
        let outcome = Outcome {
            question: question.clone(),
            knot: ask(knot.addr(), &question.query, question.tcp),
            ours: ask(candor.addr(), &question.query, question.tcp),
        };
        let tc = |m: &Option<Message>| m.as_ref().is_some_and(|m| m.header.flags & Header::TC != 0);
        if tc(&outcome.knot) || tc(&outcome.ours) {
            truncated += 1;
        }
        match classify(&ctx, &outcome) {
            Verdict::Identical => identical += 1,
            Verdict::Allowed(kind) => {
                *allowed.entry(kind).or_default() += 1;
                dump.push_str(&render_failure(&format!("allowed: {kind}"), &outcome));
            }
            Verdict::Different(kinds) => {
                dump.push_str(&render_failure(&kinds, &outcome));
                failures.push((kinds, outcome));
            }
        }
    }
    let dump_path = std::env::var_os("CANDOR_DIFF_DUMP");
    if let Some(path) = &dump_path {
        let _ = std::fs::write(path, dump);
    }

    let mut summary = format!(
        "differential (seed {seed:#x}): {} questions sent to both servers ({over_tcp} over \
         TCP), {} compared ({truncated} truncated: rcode and flags only), {identical} \
         identical, {} allowed",
        questions.len(),
        questions.len(),
        allowed.values().sum::<usize>()
    );
    for (kind, n) in &allowed {
        let _ = write!(summary, "; {kind}: {n}");
    }
    let _ = write!(summary, "; {} differences", failures.len());
    eprintln!("{summary}");
    if failures.is_empty() {
        return;
    }

    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (kind, _) in &failures {
        *by_kind.entry(kind.as_str()).or_default() += 1;
    }
    let mut report = format!("{summary}\n\ndifferences by kind:\n");
    for (kind, n) in &by_kind {
        let _ = writeln!(report, "  {kind}: {n}");
    }
    // The first few of each kind, then the rest in order, SHOWN in all.
    let mut shown: Vec<&(String, Outcome)> = Vec::new();
    for kind in by_kind.keys() {
        shown.extend(failures.iter().filter(|(k, _)| k == kind).take(3));
    }
    for f in &failures {
        if shown.len() >= SHOWN {
            break;
        }
        if !shown.iter().any(|s| std::ptr::eq(*s, f)) {
            shown.push(f);
        }
    }
    shown.truncate(SHOWN);
    let _ = writeln!(report, "\nfirst {} differences:", shown.len());
    for (kind, o) in shown {
        report.push_str(&render_failure(kind, o));
    }
    if let Some(path) = &dump_path {
        let path = path.to_string_lossy();
        let _ = writeln!(report, "\nevery difference, allowed or not, is in {path}");
    }
    let _ = writeln!(report, "\nknot still running: {}", knot.is_running());
    let _ = writeln!(report, "flags compared: {}", flag_names(COMPARED_FLAGS));
    panic!("{report}");
}
