//! Answers from a patched zone (`Zone::patch`, an overlay over a compiled
//! base) are byte for byte the answers from the same records compiled
//! afresh, through `respond` and through a `Peek`, for positive answers,
//! NODATA, NXDOMAIN, wildcards, CNAME chains, referrals and additional
//! sections around the names that changed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use candor_answer::{Config, Cookies, Peek, Request, Transport, respond};
use candor_guard::CookieSecrets;
use candor_wire::{Name, QuerySpec, Rtype, query_message};
use candor_zone::{NodeChange, PatchError, Zone, ZoneBuilder, ZoneSet};

/// Records by owner (wire): type, TTL, RDATA.
type Model = BTreeMap<Vec<u8>, Vec<(Rtype, u32, Box<[u8]>)>>;

/// The wire form of a name relative to `example.`.
fn w(text: &str) -> Vec<u8> {
    let origin = Name::from_text("example.", None).unwrap();
    Name::from_text(text, Some(&origin))
        .unwrap()
        .as_wire()
        .to_vec()
}

/// An RDATA of a 16-bit preference and a name.
fn pref_name(pref: u16, target: &str) -> Box<[u8]> {
    let mut v = pref.to_be_bytes().to_vec();
    v.extend_from_slice(&w(target));
    v.into()
}

/// The SOA RDATA with `serial`.
fn soa(serial: u32) -> Box<[u8]> {
    let mut v = w("ns1");
    v.extend_from_slice(&w("hostmaster"));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}

/// The starting zone: glue, a delegation, a wildcard, CNAMEs, MX targets.
fn start() -> Model {
    let mut m = Model::new();
    let mut add = |name: &str, rtype: Rtype, rdata: Box<[u8]>| {
        m.entry(w(name)).or_default().push((rtype, 300, rdata));
    };
    add("@", Rtype::SOA, soa(1));
    add("@", Rtype::NS, w("ns1").into());
    add("@", Rtype::MX, pref_name(10, "mail"));
    add("@", Rtype::MX, pref_name(20, "h2"));
    add("ns1", Rtype::A, vec![192, 0, 2, 1].into());
    add("mail", Rtype::A, vec![192, 0, 2, 2].into());
    add("*.wild", Rtype::TXT, vec![1, b'w'].into());
    add("*.wild", Rtype::A, vec![192, 0, 2, 3].into());
    add("deleg", Rtype::NS, w("ns.deleg").into());
    add("ns.deleg", Rtype::A, vec![192, 0, 2, 4].into());
    add("www", Rtype::CNAME, w("h1").into());
    add("chain", Rtype::CNAME, w("www").into());
    for i in 0..8u8 {
        add(&format!("h{i}"), Rtype::A, vec![192, 0, 2, 10 + i].into());
    }
    m
}

/// Compiles a model, each record at its own line (as the store's rows and
/// zone files are), so an RRset's TTL is its first record's.
fn compile(m: &Model) -> Option<Zone> {
    let mut b = ZoneBuilder::new(&Name::from_text("example.", None).unwrap());
    let mut line = 0;
    for (owner, records) in m {
        let owner = Name::from_wire(owner).unwrap();
        for (rtype, ttl, rdata) in records {
            line += 1;
            b.add(
                &owner,
                *rtype,
                *ttl,
                rdata,
                Some((std::path::Path::new(""), line)),
            );
        }
    }
    b.finish().ok()
}

/// The answering settings.
fn config() -> Config {
    Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([7; 16], None)),
    }
}

/// Every answer of `zones` to the queries, through `respond` and a peek.
fn answers(zones: &ZoneSet, queries: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let config = config();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65535];
    let mut peeks: Vec<Peek> = queries.iter().map(|_| Peek::default()).collect();
    Peek::prepare(&mut peeks, zones, queries.iter().map(|q| &q[..]));
    for (q, peek) in queries.iter().zip(&peeks) {
        let request = Request {
            msg: q,
            transport: Transport::Udp,
            client: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)),
            now: 1_700_000_000,
        };
        let len = respond(zones, &config, &request, &mut buf).map(|o| o.len);
        let direct = len.map(|l| buf[..l].to_vec()).unwrap_or_default();
        let len = peek
            .respond(zones, &config, &request, &mut buf)
            .map(|o| o.len);
        let peeked = len.map(|l| buf[..l].to_vec()).unwrap_or_default();
        assert_eq!(direct, peeked, "peek and respond differ");
        out.push(direct);
    }
    out
}

/// The queries: each pool name and a child of it, for several types.
fn queries(pool: &[&str]) -> Vec<Vec<u8>> {
    let origin = Name::from_text("example.", None).unwrap();
    let mut out = Vec::new();
    for name in pool.iter().flat_map(|p| [p.to_string(), format!("zz.{p}")]) {
        let name = Name::from_text(&name, Some(&origin)).unwrap();
        for qtype in [
            Rtype::A,
            Rtype::AAAA,
            Rtype::MX,
            Rtype::TXT,
            Rtype::CNAME,
            Rtype::ANY,
        ] {
            let spec = QuerySpec {
                id: 7,
                recursion_desired: false,
                edns_udp_size: Some(1232),
            };
            out.push(query_message(spec, &name, qtype));
        }
    }
    out
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    /// The next number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Random changes, each answered by the patched and the compiled zone: every
/// answer must be the same bytes.
#[test]
fn patched_zones_answer_as_compiled_ones() {
    let pool = [
        "@", "mail", "h1", "h2", "h3", "h9", "www", "chain", "x.wild", "wild", "deleg", "a.b.new",
        "b.new", "new", "ns1",
    ];
    let queries = queries(&pool);
    let mut patched_count = 0;
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = start();
        let mut zone = Arc::new(compile(&model).unwrap());
        for serial in 2..40u32 {
            let owner = w(pool[rng.below(pool.len() as u64) as usize]);
            let ttl = [60, 300][rng.below(2) as usize];
            let mut records: Vec<(Rtype, u32, Box<[u8]>)> = match rng.below(6) {
                0 => vec![],
                1 => vec![(
                    Rtype::CNAME,
                    ttl,
                    w(["h1", "mail", "x.wild", "nowhere"][rng.below(4) as usize]).into(),
                )],
                2 => vec![(
                    Rtype::MX,
                    ttl,
                    pref_name(5, ["h3", "mail", "b.new", "y.wild"][rng.below(4) as usize]),
                )],
                3 => vec![(
                    Rtype::TXT,
                    ttl,
                    vec![2, b't', b'0' + rng.below(9) as u8].into(),
                )],
                _ => vec![(
                    Rtype::A,
                    ttl,
                    vec![198, 51, 100, rng.below(250) as u8].into(),
                )],
            };
            let mut next = model.clone();
            if owner == w("@") {
                records = model[&w("@")]
                    .iter()
                    .filter(|r| r.0 != Rtype::SOA)
                    .cloned()
                    .collect();
                records.push((Rtype::TXT, ttl, vec![1, b'a' + (serial % 26) as u8].into()));
            }
            if records.is_empty() {
                next.remove(&owner);
            } else {
                next.insert(owner.clone(), records.clone());
            }
            let mut apex = next.get(&w("@")).cloned().unwrap_or_default();
            apex.retain(|r| r.0 != Rtype::SOA);
            apex.push((Rtype::SOA, 3600, soa(serial)));
            next.insert(w("@"), apex.clone());
            let changes = [
                NodeChange {
                    owner: owner.into(),
                    records,
                },
                NodeChange {
                    owner: w("@").into(),
                    records: apex,
                },
            ];
            let Some(compiled) = compile(&next) else {
                assert!(zone.patch(&changes).is_err());
                continue;
            };
            match zone.patch(&changes) {
                Ok(p) => {
                    let p = Arc::new(p);
                    let a = answers(&ZoneSet::from_zones([p.clone()]), &queries);
                    let b = answers(&ZoneSet::from_zones([Arc::new(compiled)]), &queries);
                    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                        assert_eq!(x, y, "seed {seed} serial {serial} query {i}");
                    }
                    zone = p;
                    patched_count += 1;
                }
                Err(PatchError::Rebuild(_)) => zone = Arc::new(compiled),
                Err(e) => panic!("seed {seed}: {e}"),
            }
            model = next;
        }
    }
    assert!(patched_count > 200, "{patched_count} patched versions");
}

/// The model signed in full at `now` with `keys`, compiled to serve.
fn signed_full(m: &Model, keys: &[candor_dnssec::SigningKey], now: u64) -> Zone {
    let zone = compile(m).unwrap();
    let policy = candor_dnssec::SigningPolicy::default();
    let one = std::num::NonZeroUsize::MIN;
    let signed = candor_dnssec::sign_zone(&zone, keys, &policy, now, one).unwrap();
    candor_dnssec::compile_signed(&zone, &signed).unwrap()
}

/// Incremental signing (`candor_dnssec::sign_change`, a patch of a signed
/// zone) answers byte for byte as signing in full at the same time with
/// the same Ed25519 key, with DO=1 (RRSIGs, NSEC proofs of NODATA,
/// NXDOMAIN, wildcards, referrals, found through the patched chain) and
/// DO=0, through `respond` and a `Peek`.
#[test]
fn incrementally_signed_zones_answer_as_fully_signed_ones() {
    use candor_dnssec::{Algorithm, ChangeSignError, KeyRole, SigningKey, SigningPolicy};
    let rng = ring::rand::SystemRandom::new();
    let keys = [SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).unwrap()];
    let now = 1_700_000_000;
    let pool = [
        "@", "mail", "h1", "h3", "h9", "www", "x.wild", "deleg", "deleg0", "a.b.new", "new", "zz",
    ];
    let mut queries = queries(&pool);
    // The same queries with DO=1 (the DO bit is the top bit of the OPT
    // record's flags, its last four bytes but two).
    let with_do: Vec<Vec<u8>> = queries
        .iter()
        .map(|q| {
            let mut q = q.clone();
            let len = q.len();
            q[len - 4] |= 0x80;
            q
        })
        .collect();
    queries.extend(with_do);
    let mut incremental = 0;
    for seed in 1..=4u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = start();
        let mut zone = Arc::new(signed_full(&model, &keys, now));
        for serial in 2..16u32 {
            let owner = w(pool[1 + rng.below(pool.len() as u64 - 1) as usize]);
            let records: Vec<(Rtype, u32, Box<[u8]>)> = match rng.below(3) {
                0 => vec![],
                1 => vec![(Rtype::TXT, 300, vec![1, b'0' + rng.below(9) as u8].into())],
                _ => vec![(Rtype::A, 300, vec![198, 51, 100, rng.below(9) as u8].into())],
            };
            let mut next = model.clone();
            if records.is_empty() {
                next.remove(&owner);
            } else {
                next.insert(owner.clone(), records.clone());
            }
            let mut apex = next[&w("@")].clone();
            apex.retain(|r| r.0 != Rtype::SOA);
            apex.push((Rtype::SOA, 3600, soa(serial)));
            next.insert(w("@"), apex.clone());
            let changes = [
                NodeChange {
                    owner: owner.into(),
                    records,
                },
                NodeChange {
                    owner: w("@").into(),
                    records: apex,
                },
            ];
            if compile(&next).is_none() {
                continue;
            }
            let full = Arc::new(signed_full(&next, &keys, now));
            let policy = SigningPolicy::default();
            match candor_dnssec::sign_change(&zone, &changes, &keys, &policy, now) {
                Ok((p, _)) => {
                    let p = Arc::new(p);
                    let a = answers(&ZoneSet::from_zones([p.clone()]), &queries);
                    let b = answers(&ZoneSet::from_zones([full]), &queries);
                    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                        assert_eq!(x, y, "seed {seed} serial {serial} query {i}");
                    }
                    zone = p;
                    incremental += 1;
                }
                Err(ChangeSignError::Rebuild(_)) => zone = full,
                Err(e) => panic!("seed {seed}: {e}"),
            }
            model = next;
        }
    }
    assert!(
        incremental > 30,
        "{incremental} incrementally signed versions"
    );
}
