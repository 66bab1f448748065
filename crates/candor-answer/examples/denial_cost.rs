//! What a DO=1 NXDOMAIN from a signed zone costs next to the same query on
//! the unsigned zone, measured so that a loaded machine does not decide
//! the answer: the two are answered in alternating slices of 2,048
//! queries (a few milliseconds each), 201 pairs, and the report is the
//! median of the per-slice times and of the pairs' ratios (signed over
//! unsigned), with the range of the middle half. Whatever slows the machine
//! during one pair slows both halves of it.
//!
//! ```sh
//! cargo run --release -p candor-answer --example denial_cost -- [HOSTS]
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/denial_cost HOSTS count
//! callgrind_annotate --inclusive=yes cg.out | grep count_
//! ```
//!
//! With `cold KB` (`denial_cost HOSTS cold 1024`), each slice is answered
//! as a UDP worker answers it instead: in batches of 32 through
//! `Peek::prepare` and `Peek::respond`, and before each batch KB KiB of
//! other memory are read, as the kernel's work between two batches
//! (receiving and sending 32 datagrams) evicts the cache lines the last
//! batch left; only the batches are timed: the cache misses the warm loop
//! hides. It is a model, and a harsh one: through the server less is
//! evicted than `cold 8192` evicts (docs/dnssec.md, "A batch's searches in
//! step, tried").
//!
//! With `count` (`count peeked`: through peeks, in batches), each flood is answered once per zone in its own function
//! (`count_<flood>_<zone>`) and nothing is timed: instructions per answer
//! are its inclusive count over 2,048, the same on a loaded machine.
//!
//! The zone is `flood.example.` with HOSTS names `hostN` (10,000 by
//! default), signed with a fresh ECDSA P-256 CSK. Five floods of random
//! names, each a fresh label: `hex` (12 hexadecimal digits, as the
//! criterion benchmark `signed/nxdomain_random`), `flood` (12 characters
//! of `a-z0-9`, as `candor-flood` sends), `nearby` (`hostN` followed by
//! four hex digits: names that share their first bytes with the zone's,
//! the chain search's slow case), `prefix` (`host` and 8 characters of
//! `a-z0-9`, as `candor-flood --prefix` sends and `bench/subdomain_flood.py
//! --flood-prefix h` measures through the server: a name among the hosts
//! when the fifth character is a digit, after the last one otherwise) and
//! `among` (`host`, a digit and seven letters: always among the hosts,
//! never tying a head: the part of `prefix` that costs most signed).

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use candor_answer::{Peek, respond};
use candor_wire::Rtype;
use candor_zone::ZoneSet;

#[path = "../benches/common/mod.rs"]
#[allow(dead_code)]
mod common;
use common::{config, n, query, request, zone_start};

/// Queries per slice.
const SLICE: usize = 2048;
/// Pairs of slices.
const PAIRS: usize = 201;
/// Queries a UDP worker takes in one batch.
const BATCH: usize = 32;

/// The next xorshift64 state.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// The median and the middle half's range of `v` (sorted here).
fn median(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() / 4], v[v.len() * 3 / 4])
}

/// Builds the zones and floods, measures, prints one line per flood.
fn main() {
    let hosts: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let plain = {
        let mut b = zone_start("flood.example.");
        for h in 0..hosts {
            let owner = n(&format!("host{h}.flood.example."));
            b.add(&owner, Rtype::A, 3600, &h.to_be_bytes(), None);
        }
        Arc::new(b.finish().expect("valid zone"))
    };
    let rng = ring::rand::SystemRandom::new();
    let key = candor_dnssec::SigningKey::generate(
        candor_dnssec::Algorithm::EcdsaP256Sha256,
        candor_dnssec::KeyRole::Csk,
        &rng,
    )
    .expect("a key");
    let threads = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    let records = candor_dnssec::sign_zone(
        &plain,
        &[key],
        &candor_dnssec::SigningPolicy::default(),
        1_700_000_000,
        threads,
    )
    .expect("signs");
    let signed = Arc::new(candor_dnssec::compile_signed(&plain, &records).expect("compiles"));
    let unsigned = ZoneSet::from_zones([plain]);
    let signed = ZoneSet::from_zones([signed]);
    let config = config();

    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut flood = |label: &dyn Fn(&mut u64) -> String| -> Vec<Vec<u8>> {
        (0..SLICE)
            .map(|_| {
                let mut q = query(&format!("{}.flood.example.", label(&mut x)), Rtype::A);
                let len = q.len();
                q[len - 4] |= 0x80; // DO
                q
            })
            .collect()
    };
    let sets = [
        (
            "hex",
            flood(&|x| format!("{:012x}", next(x) & 0xffff_ffff_ffff)),
        ),
        (
            "flood",
            flood(&|x| {
                (0..12)
                    .map(|_| char::from(alphabet[(next(x) % 36) as usize]))
                    .collect()
            }),
        ),
        (
            "nearby",
            flood(&|x| {
                let r = next(x);
                format!("host{}{:04x}", r % u64::from(hosts), (r >> 20) & 0xffff)
            }),
        ),
        (
            "prefix",
            flood(&|x| {
                let rest: String = (0..8)
                    .map(|_| char::from(alphabet[(next(x) % 36) as usize]))
                    .collect();
                format!("host{rest}")
            }),
        ),
        (
            "among",
            flood(&|x| {
                let r = next(x);
                let rest: String = (0..7)
                    .map(|i| char::from(b'a' + ((r >> (5 * i)) % 26) as u8))
                    .collect();
                format!("host{}{rest}", r % 10)
            }),
        ),
    ];
    let mut out = vec![0u8; 65535];
    if std::env::args().nth(2).as_deref() == Some("count") {
        let peeked = std::env::args().nth(3).as_deref() == Some("peeked");
        // One pass over each flood and zone, each in its own function, for
        // `valgrind --tool=callgrind`: their inclusive instruction counts
        // over 2,048 are the instructions per answer.
        for (name, queries) in &sets {
            match *name {
                "hex" => {
                    count_hex_unsigned(&unsigned, &config, queries, &mut out, peeked);
                    count_hex_signed(&signed, &config, queries, &mut out, peeked);
                }
                "flood" => {
                    count_flood_unsigned(&unsigned, &config, queries, &mut out, peeked);
                    count_flood_signed(&signed, &config, queries, &mut out, peeked);
                }
                "nearby" => {
                    count_nearby_unsigned(&unsigned, &config, queries, &mut out, peeked);
                    count_nearby_signed(&signed, &config, queries, &mut out, peeked);
                }
                "among" => {
                    count_among_unsigned(&unsigned, &config, queries, &mut out, peeked);
                    count_among_signed(&signed, &config, queries, &mut out, peeked);
                }
                _ => {
                    count_prefix_unsigned(&unsigned, &config, queries, &mut out, peeked);
                    count_prefix_signed(&signed, &config, queries, &mut out, peeked);
                }
            }
        }
        return;
    }
    // `cold KB`: batches through peeks, KB KiB read between them.
    let cold: Option<usize> = match std::env::args().nth(2).as_deref() {
        Some("cold") => Some(
            std::env::args()
                .nth(3)
                .and_then(|a| a.parse().ok())
                .unwrap_or(1024),
        ),
        _ => None,
    };
    let other = vec![1u64; cold.unwrap_or(0) * 1024 / 8];
    let mut peeks: Vec<Peek> = (0..BATCH).map(|_| Peek::default()).collect();
    let mut slice = |zones: &ZoneSet, queries: &[Vec<u8>]| -> f64 {
        if cold.is_none() {
            let start = Instant::now();
            for q in queries {
                black_box(respond(black_box(zones), &config, &request(q), &mut out));
            }
            return start.elapsed().as_nanos() as f64 / queries.len() as f64;
        }
        let mut spent = std::time::Duration::ZERO;
        for batch in queries.chunks(BATCH) {
            // One load per cache line of the other memory.
            black_box(other.iter().step_by(8).fold(0u64, |a, &b| a ^ b));
            let start = Instant::now();
            answer_batch(&mut peeks, zones, &config, batch, &mut out);
            spent += start.elapsed();
        }
        spent.as_nanos() as f64 / queries.len() as f64
    };
    let mut report = std::io::stdout().lock();
    let _ = writeln!(
        report,
        "{hosts} hosts; ns per query, median [middle half]; {PAIRS} pairs of {SLICE}{}",
        match cold {
            Some(kb) => format!(", in peeked batches of {BATCH} with {kb} KiB read between"),
            None => String::new(),
        }
    );
    let blocks = |zones: &ZoneSet| {
        zones
            .find(b"\x05flood\x07example\x00")
            .and_then(|z| z.negative_blocks())
            .map_or(0, |n| n.heap_size())
    };
    let _ = writeln!(
        report,
        "negative blocks: unsigned zone {} bytes, signed zone {} bytes",
        blocks(&unsigned),
        blocks(&signed)
    );
    for (name, queries) in &sets {
        // Warm both up.
        slice(&unsigned, queries);
        slice(&signed, queries);
        let (mut u, mut s, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..PAIRS {
            let a = slice(&unsigned, queries);
            let b = slice(&signed, queries);
            u.push(a);
            s.push(b);
            r.push(b / a);
        }
        let (u, s, r) = (median(&mut u), median(&mut s), median(&mut r));
        let _ = writeln!(
            report,
            "{name:>7}: unsigned {:.0} [{:.0}, {:.0}]  signed {:.0} [{:.0}, {:.0}]  \
             signed/unsigned {:.2} [{:.2}, {:.2}]",
            u.0, u.1, u.2, s.0, s.1, s.2, r.0, r.1, r.2
        );
    }
}

/// Answers each of `queries` once from `zones`: one by one, or as a UDP
/// worker does (`peeked`).
fn answer_all(
    zones: &ZoneSet,
    config: &candor_answer::Config,
    queries: &[Vec<u8>],
    out: &mut [u8],
    peeked: bool,
) {
    if !peeked {
        for q in queries {
            black_box(respond(black_box(zones), config, &request(q), out));
        }
        return;
    }
    let mut peeks: Vec<Peek> = (0..BATCH).map(|_| Peek::default()).collect();
    for batch in queries.chunks(BATCH) {
        answer_batch(&mut peeks, zones, config, batch, out);
    }
}

/// Answers one batch as a UDP worker does: a peek at each query, then
/// each answered through its peek.
fn answer_batch(
    peeks: &mut [Peek],
    zones: &ZoneSet,
    config: &candor_answer::Config,
    batch: &[Vec<u8>],
    out: &mut [u8],
) {
    Peek::prepare(peeks, black_box(zones), batch.iter().map(|q| &q[..]));
    for (peek, q) in peeks.iter().zip(batch) {
        black_box(peek.respond(zones, config, &request(q), out));
    }
}

/// Functions that answer every query once, one per flood and zone, so
/// that callgrind counts each apart.
macro_rules! counters {
    ($($name:ident = $id:literal),*) => {$(
        /// Answers each of `queries` once from `zones` (through peeks, in
        /// batches, when `peeked`).
        #[inline(never)]
        fn $name(zones: &ZoneSet, config: &candor_answer::Config, queries: &[Vec<u8>], out: &mut [u8], peeked: bool) {
            // A constant of its own, so the linker folds no two together.
            black_box($id);
            answer_all(zones, config, queries, out, peeked);
        }
    )*};
}
counters!(
    count_hex_unsigned = 1u8,
    count_hex_signed = 2u8,
    count_flood_unsigned = 3u8,
    count_flood_signed = 4u8,
    count_nearby_unsigned = 5u8,
    count_nearby_signed = 6u8,
    count_prefix_unsigned = 7u8,
    count_prefix_signed = 8u8,
    count_among_unsigned = 9u8,
    count_among_signed = 10u8
);
