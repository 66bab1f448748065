//! Instruction counts of the answer path, for A/B comparisons where timing
//! is too noisy (a shared machine): answers each case of the `answer`
//! benchmark `N` times (the argument, default 0). Run it under
//! `valgrind --tool=cachegrind` with N = 0 and N = 100000; the difference
//! of the two instruction totals divided by N * 8 is the instructions per
//! answer.

use std::hint::black_box;

use candor_answer::respond;
use candor_wire::Rtype;

#[path = "../benches/common/mod.rs"]
mod common;
use common::{config, query, request, zones};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let zones = zones();
    let config = config();
    let mut out = vec![0u8; 65535];
    let cases = [
        query("host7.z0042.example.", Rtype::A),
        query("HoSt7.Z0042.example.", Rtype::AAAA),
        query("host7.z0042.example.", Rtype::TXT),
        query("nosuchname.z0042.example.", Rtype::A),
        query("anything.wild.z0042.example.", Rtype::A),
        query("www.z0042.example.", Rtype::A),
        query("host.sub.z0042.example.", Rtype::A),
        query("www.example.org.", Rtype::A),
    ];
    for _ in 0..n {
        for q in &cases {
            black_box(respond(
                black_box(&zones),
                &config,
                &request(black_box(q)),
                &mut out,
            ));
        }
    }
}
