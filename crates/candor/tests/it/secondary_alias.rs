//! A Candor secondary synthesizes ALIAS answers as a primary does: an
//! ALIAS in a secondary zone whose target lies outside the zones it
//! serves is resolved through its own `--alias-upstream` (here a real
//! Knot DNS), follows the target when it moves, and ALIAS records that
//! arrive by IXFR are followed too (docs/regions.md, "Candor
//! secondaries").

use std::net::SocketAddr;

use candor_wire::Rtype;

use crate::regions::{answer, wait_answer};
use crate::store::host_with;
use crate::support::{Candor, KnotServer, TempDir, free_port, knotd_path};
use crate::xfr::{api, record, wait_in_sync};

/// The upstream's zone: `www.target.test` at `v4` (and an AAAA).
fn target_zone(serial: u32, v4: &str) -> String {
    format!(
        "$ORIGIN target.test.\n$TTL 60\n@ SOA ns h {serial} 7200 3600 1209600 60\n@ NS ns\n\
         ns A 192.0.2.53\nwww A {v4}\nwww AAAA 2001:db8::55\nother A 192.0.2.77\n"
    )
}

/// A primary without an upstream (so whatever the secondary answers for
/// an ALIAS to `target.test` it resolved itself) and a Candor secondary
/// with Knot as its `--alias-upstream`: the secondary answers the
/// target's addresses, follows the target when Knot's zone changes, and
/// follows an ALIAS added later (by IXFR); an ALIAS to a name inside the
/// zone still answers from the zone.
#[test]
fn a_candor_secondary_resolves_alias_targets_outside_its_zones() {
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("secondary ALIAS test: skipped, knotd is not installed (CANDOR_SKIP_KNOT=1)");
            return;
        }
        panic!("knotd not found: install knot (apt-get install knot) or set CANDOR_SKIP_KNOT=1");
    };
    let files = TempDir::new("secalias-upstream");
    let zone_file = files.write("target.test.zone", &target_zone(1, "192.0.2.55"));
    let knot = KnotServer::start(&knotd, &[("target.test".to_owned(), zone_file.clone())]);

    let secondary_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let pdata = TempDir::new("secalias-primary");
    let primary = host_with(
        pdata.path(),
        None,
        &[
            "--xfr-allow".to_owned(),
            "127.0.0.1".to_owned(),
            "--notify".to_owned(),
            secondary_addr.to_string(),
        ],
    );
    api(
        &primary,
        "POST",
        "/records",
        Some(&record("inside", "A", "192.0.2.30")),
    );
    api(
        &primary,
        "POST",
        "/records",
        Some(&record("flat", "ALIAS", "www.target.test")),
    );
    api(
        &primary,
        "POST",
        "/records",
        Some(&record("local", "ALIAS", "inside.example.com")),
    );
    let p = primary.candor.addr();

    let sdata = TempDir::new("secalias-secondary");
    let upstream = knot.addr().to_string();
    let follow = format!("example.com@{p}");
    let (args, _zones) = crate::secondary::secondary_args(
        secondary_addr,
        sdata.path(),
        ["--secondary", &follow],
        &[
            "--no-status",
            "--alias-upstream",
            &upstream,
            // Short TTLs, so the target's move is seen within the test.
            "--alias-ttl-floor",
            "1",
            "--alias-ttl-ceiling",
            "2",
            "--alias-timeout-ms",
            "300",
        ],
    );
    let secondary = Candor::start_with(&args, "ready.test.");
    let s = secondary.addr();
    let logs = || {
        format!(
            "--- primary:\n{}\n--- secondary:\n{}",
            primary.candor.log(),
            secondary.log()
        )
    };
    wait_in_sync(p, s, "example.com.", &logs);

    // The primary has no upstream: it cannot answer the outside target.
    assert_eq!(answer(p, "flat.example.com.", Rtype::A), "SERVFAIL");
    // The secondary resolves it through Knot, both families.
    wait_answer(
        s,
        "flat.example.com.",
        Rtype::A,
        "NOERROR 192.0.2.55",
        &logs,
    );
    assert_eq!(
        answer(s, "flat.example.com.", Rtype::AAAA),
        "NOERROR 2001:db8::55"
    );
    // A target inside the zone answers from the zone, as before.
    assert_eq!(
        answer(s, "local.example.com.", Rtype::A),
        "NOERROR 192.0.2.30"
    );

    // The target moves: the secondary follows within its TTL ceiling.
    std::fs::write(&zone_file, target_zone(2, "192.0.2.56")).expect("rewrite the zone");
    knot.reload();
    wait_answer(
        s,
        "flat.example.com.",
        Rtype::A,
        "NOERROR 192.0.2.56",
        &logs,
    );

    // An ALIAS added on the primary reaches the secondary by IXFR and its
    // new target is resolved there too.
    api(
        &primary,
        "POST",
        "/records",
        Some(&record("more", "ALIAS", "other.target.test")),
    );
    wait_in_sync(p, s, "example.com.", &logs);
    wait_answer(
        s,
        "more.example.com.",
        Rtype::A,
        "NOERROR 192.0.2.77",
        &logs,
    );
    assert!(
        secondary.log().contains("transfer=IXFR"),
        "the ALIAS came by IXFR:\n{}",
        logs()
    );
}
