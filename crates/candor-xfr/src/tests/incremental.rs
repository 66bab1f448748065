//! A Candor secondary applies IXFRs in the Candor view (ALIAS, POOL and
//! REGIONAL records as themselves) by patching the zone it holds, and
//! the result reads exactly as a full compile of the same version: random
//! series of changes (seeded), each version published on a real
//! `Primary`, transferred by IXFR (one to three steps at a time) and
//! applied with `apply_steps_patched`; the patched zone, the `ams` view
//! made from it and the answers to every name must equal those of the
//! zone compiled whole from an AXFR of the same version.

use super::*;
use crate::client::{
    Ask, Exchange, Progress, Received, apply_steps_patched, build_full, soa_record,
};
use crate::regional::{regional_view, regional_view_after};

/// A small deterministic random source (xorshift64*).
struct Rng(u64);

impl Rng {
    /// The next number.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What one name of the generated zone holds.
#[derive(Clone, Debug)]
enum Kind {
    /// Nothing (the name is absent).
    Absent,
    /// A records (last octets), maybe with a TXT.
    Addresses(Vec<u8>, bool),
    /// An ALIAS to a target (in the zone or outside), maybe with a TXT.
    Alias(String, bool),
    /// A POOL of members.
    Pool(Vec<String>),
    /// A CNAME.
    Cname(String),
}

/// Names of the generated zone (under `example.`).
const NAMES: usize = 24;

/// A random content for a name.
fn random_kind(rng: &mut Rng) -> Kind {
    let target = |rng: &mut Rng| match rng.below(3) {
        0 => format!("n{}.example.", rng.below(NAMES)),
        _ => format!("t{}.out.test.", rng.below(6)),
    };
    match rng.below(6) {
        0 => Kind::Absent,
        1 => {
            let n = 1 + rng.below(3);
            Kind::Addresses(
                (0..n).map(|_| rng.below(250) as u8).collect(),
                rng.below(2) == 0,
            )
        }
        2 | 3 => Kind::Alias(target(rng), rng.below(2) == 0),
        4 => {
            let n = 1 + rng.below(3);
            Kind::Pool(
                (0..n)
                    .map(|i| format!("m{}.cdn.test.", i + rng.below(4)))
                    .collect(),
            )
        }
        _ => Kind::Cname(target(rng)),
    }
}

/// A REGIONAL record (at the apex, RFC 3597 form) for `owner` A `last`,
/// limited to `regions`, with TTL `ttl`.
fn regional(owner: &str, last: u8, regions: &[&str], ttl: u32) -> String {
    let owner = Name::from_text(owner, None).unwrap();
    let mut out = Vec::new();
    candor_zone::regional::encode(
        owner.as_wire(),
        Rtype::A,
        ttl,
        regions,
        &[192, 0, 2, last],
        &mut out,
    );
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    format!("@ TYPE65305 \\# {} {hex}\n", out.len())
}

/// The generated zone's state: each name's content, the apex ALIAS, and
/// the regional records (owner index among `r0`–`r3`, last octet, ams
/// alone or ams and sv1, TTL 60 or 300: `r0` and `r1` also have global
/// records of TTL 300, the same address as a regional one at times).
#[derive(Clone, Debug)]
struct State {
    /// `n0`–`n23`.
    names: Vec<Kind>,
    /// The apex's ALIAS target, if any.
    apex_alias: Option<String>,
    /// Regional A records at `r0`–`r3`.
    regional: Vec<(usize, u8, bool, u32)>,
}

impl State {
    /// A random start.
    fn new(rng: &mut Rng) -> State {
        State {
            names: (0..NAMES).map(|_| random_kind(rng)).collect(),
            apex_alias: None,
            regional: Vec::new(),
        }
    }

    /// One to five random changes.
    fn change(&mut self, rng: &mut Rng) {
        for _ in 0..1 + rng.below(5) {
            match rng.below(8) {
                0 => {
                    self.apex_alias = match self.apex_alias {
                        Some(_) => None,
                        None => Some(format!("t{}.out.test.", rng.below(6))),
                    }
                }
                1 | 2 => {
                    let ttl = [60, 300][rng.below(2)];
                    let r = (rng.below(4), rng.below(4) as u8, rng.below(2) == 0, ttl);
                    match self.regional.iter().position(|x| x.0 == r.0) {
                        Some(i) if rng.below(2) == 0 => drop(self.regional.remove(i)),
                        _ => self.regional.push(r),
                    }
                }
                _ => {
                    let i = rng.below(NAMES);
                    self.names[i] = random_kind(rng);
                }
            }
        }
    }

    /// The zone text at `serial`.
    fn text(&self, serial: u32) -> String {
        let mut t = format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. {serial} 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nr0 TXT \"global\"\nr1 A 192.0.2.1\n"
        );
        if let Some(target) = &self.apex_alias {
            t.push_str(&format!("@ {}\n", private(65304, target)));
        }
        for (i, kind) in self.names.iter().enumerate() {
            let owner = format!("n{i}");
            match kind {
                Kind::Absent => {}
                Kind::Addresses(lasts, txt) => {
                    for last in lasts {
                        t.push_str(&format!("{owner} A 192.0.2.{last}\n"));
                    }
                    if *txt {
                        t.push_str(&format!("{owner} TXT \"{i}\"\n"));
                    }
                }
                Kind::Alias(target, txt) => {
                    t.push_str(&format!("{owner} {}\n", private(65304, target)));
                    if *txt {
                        t.push_str(&format!("{owner} TXT \"{i}\"\n"));
                    }
                }
                Kind::Pool(members) => {
                    for m in members {
                        t.push_str(&format!("{owner} {}\n", private(65303, m)));
                    }
                }
                Kind::Cname(target) => t.push_str(&format!("{owner} CNAME {target}\n")),
            }
        }
        for (r, last, sv1, ttl) in &self.regional {
            let regions: &[&str] = if *sv1 { &["ams", "sv1"] } else { &["ams"] };
            t.push_str(&regional(&format!("r{r}.example."), *last, regions, *ttl));
        }
        t
    }
}

/// Reads a whole reply with `ex`.
fn receive(ex: &mut Exchange, handled: Handled) -> Received {
    for m in messages(handled) {
        if let Progress::Done(r) = ex.on_message(&m, NOW).unwrap() {
            return r;
        }
    }
    panic!("the answer did not end");
}

/// A transfer in the Candor view from `p`.
fn transfer(p: &Primary, ask: &Ask) -> Received {
    let apex = Name::from_text("example.", None).unwrap();
    let mut ex = Exchange::candor_view(&apex, ask, 0x4242, None, NOW);
    let handled = p.handle(ex.message(), from("127.0.0.1"), Transport::Tcp, NOW);
    receive(&mut ex, handled)
}

/// A zone's records as sorted text lines.
fn lines(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .records()
        .map(|r| {
            let owner = Name::from_wire(r.owner).unwrap();
            let hex: String = r.rdata.iter().map(|b| format!("{b:02x}")).collect();
            format!("{owner} {} {} {hex}", r.ttl, r.rtype)
        })
        .collect();
    out.sort();
    out
}

/// The answers (bytes) of `zone` to A, AAAA, TXT and CNAME queries for
/// the apex and every generated name, POOL answers included (the query
/// ID picks the member).
fn answers(zone: &Arc<Zone>) -> Vec<Vec<u8>> {
    let set = ZoneSet::from_zones([Arc::clone(zone)]);
    let config = candor_answer::Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: SharedAliases::default(),
        cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new([7; 16], None)),
    };
    let mut names = vec!["example.".to_owned()];
    names.extend((0..NAMES).map(|i| format!("n{i}.example.")));
    names.extend((0..4).map(|i| format!("r{i}.example.")));
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65535];
    for (id, name) in names.iter().enumerate() {
        let name = Name::from_text(name, None).unwrap();
        for qtype in [Rtype::A, Rtype::AAAA, Rtype::TXT, Rtype::CNAME] {
            let spec = candor_wire::QuerySpec {
                id: id as u16,
                recursion_desired: false,
                edns_udp_size: Some(1232),
            };
            let q = candor_wire::query_message(spec, &name, qtype);
            let request = candor_answer::Request {
                msg: &q,
                transport: candor_answer::Transport::Udp,
                client: from("127.0.0.1"),
                now: NOW as u32,
            };
            let len =
                candor_answer::respond(&set, &config, &request, &mut buf).map_or(0, |o| o.len);
            out.push(buf[..len].to_vec());
        }
    }
    out
}

/// Random series of changes with ALIAS, POOL and REGIONAL records: every
/// IXFR is applied by patching, and the result (and its `ams` view, and
/// their answers) equals the full compile of the same version.
#[test]
fn ixfr_with_private_types_patches_as_a_full_compile_reads() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut state = State::new(&mut rng);
        let mut serial = 1;
        let first = zone("example.", &state.text(serial));
        let (p, set) = primary(vec![first], &["127.0.0.1"], vec![]);
        p.observe();
        let Received::Full { records, .. } = transfer(&p, &Ask::Axfr) else {
            panic!("seed {seed}: not a whole zone");
        };
        let mut held =
            Arc::new(build_full(&Name::from_text("example.", None).unwrap(), &records).unwrap());
        // The ams view as a secondary in ams keeps it: patched by each
        // IXFR's steps.
        let mut ams = regional_view(&held, Some("ams")).unwrap().0;
        let mut patched_views = 0;
        for round in 0..30 {
            // One to three versions between transfers.
            for _ in 0..1 + rng.below(3) {
                state.change(&mut rng);
                serial += 1;
                let mut s = ZoneSet::clone(&set.load());
                s.insert(zone("example.", &state.text(serial)));
                set.store(Arc::new(s));
                p.observe();
            }
            let ixfr = Ask::Ixfr(soa_record(&held).unwrap());
            let Received::Incremental {
                soa_record, steps, ..
            } = transfer(&p, &ixfr)
            else {
                panic!("seed {seed} round {round}: not incremental");
            };
            let patched = Arc::new(apply_steps_patched(&held, &steps, &soa_record).unwrap());
            let Received::Full { records, .. } = transfer(&p, &Ask::Axfr) else {
                panic!("seed {seed} round {round}: not a whole zone");
            };
            let full = Arc::new(build_full(patched.apex(), &records).unwrap());
            let what = format!(
                "seed {seed} round {round} serial {serial}:\n{}",
                state.text(serial)
            );
            assert!(patched.overlay_names() > 0, "not patched: {what}");
            assert_eq!(lines(&patched), lines(&full), "{what}");
            assert_eq!(answers(&patched), answers(&full), "{what}");
            let view = |z: &Arc<Zone>| {
                regional_view(z, Some("ams")).map(|(v, n)| (lines(&v), answers(&v), n))
            };
            assert_eq!(view(&patched).ok(), view(&full).ok(), "ams view: {what}");
            let (next, _) = regional_view_after(&ams, &patched, &steps, Some("ams")).unwrap();
            let (whole, _) = regional_view(&full, Some("ams")).unwrap();
            assert_eq!(
                lines(&next),
                lines(&whole),
                "ams view after the steps: {what}"
            );
            assert_eq!(
                answers(&next),
                answers(&whole),
                "ams view after the steps: {what}"
            );
            patched_views += usize::from(!Arc::ptr_eq(&next, &patched) && next.overlay_names() > 0);
            ams = next;
            held = patched;
        }
        assert!(
            patched_views > 10,
            "seed {seed}: {patched_views} views patched"
        );
    }
}
