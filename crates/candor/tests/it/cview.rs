//! Candor secondaries of a Candor primary get the Candor view
//! (docs/regions.md): ALIAS, POOL and regional records as themselves, so
//! each answers as a Candor server of its region would; a Knot secondary
//! of the same primary gets the flattened global view; regional changes
//! travel by IXFR; a restarted secondary serves its region from its copy
//! with the primary down.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::regions::{add, answer, wait_answer};
use crate::store::host_with;
use crate::support::{Candor, TempDir, free_port, udp_exchange};
use crate::xfr::{
    KEY, Kind, Secondary, add_key, api, kdig, knot_tools, wait_for_keys, wait_in_sync,
};

/// A Candor secondary of `example.com` from `primary` (key `KEY`),
/// listening on `addr`, with `--region` `region` if any, and its
/// `--zones` directory (keep it while the server runs).
fn candor_secondary(
    primary: SocketAddr,
    addr: SocketAddr,
    region: Option<&str>,
    data: &Path,
) -> (Candor, TempDir) {
    let follow = format!("example.com@{primary}@{KEY}");
    let mut extra = vec!["--no-status"];
    if let Some(r) = region {
        extra.extend(["--region", r]);
    }
    let (args, zones) =
        crate::secondary::secondary_args(addr, data, ["--secondary", &follow], &extra);
    (Candor::start_with(&args, "ready.test."), zones)
}

/// Stores the primary's key on a secondary (`tsig add
/// --secret-from-stdin`).
fn import_key(data: &Path, secret: &str) {
    let mut import = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["tsig", "add", KEY, "--secret-from-stdin", "--data-dir"])
        .arg(data)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run candor tsig add");
    std::io::Write::write_all(
        &mut import.stdin.take().expect("stdin"),
        format!("{secret}\n").as_bytes(),
    )
    .expect("write the secret");
    let out = import.wait_with_output().expect("candor tsig add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The CNAME targets `pool.example.com. A` is answered with over 32
/// queries (different IDs: the POOL picks by query).
fn pool_targets(addr: SocketAddr) -> BTreeSet<String> {
    let name = candor_wire::Name::from_text("pool.example.com.", None).unwrap();
    let mut seen = BTreeSet::new();
    for id in 0..32u16 {
        let spec = candor_wire::QuerySpec {
            id,
            recursion_desired: false,
            edns_udp_size: None,
        };
        let q = candor_wire::query_message(spec, &name, Rtype::A);
        let resp = udp_exchange(addr, &q, Duration::from_millis(500), 3).expect("an answer");
        let msg = decode_message(&resp).expect("well-formed");
        for r in msg.answer.iter().filter(|r| r.rtype == Rtype::CNAME) {
            seen.insert(candor_wire::Name::from_wire(&r.rdata).unwrap().to_string());
        }
    }
    seen
}

/// A hidden Candor primary with ALIAS, POOL, URL and `ams` records; Candor
/// secondaries with `--region ams` and without a region, and a Knot
/// secondary. Each Candor secondary answers as a Candor server of its
/// region (the ALIAS synthesized from the zone, the POOL rotating, the URL
/// as the redirector, `ams` records on ams only), Knot the flattened
/// global view; a change of regional records reaches both by IXFR; the
/// ams secondary, restarted with the primary down, serves its view from
/// its copy.
#[test]
fn candor_secondaries_answer_their_region_and_knot_the_global_view() {
    let Some((knotd, _)) = knot_tools("cview") else {
        return;
    };
    let (ams_addr, global_addr) = (
        SocketAddr::from(([127, 0, 0, 1], free_port())),
        SocketAddr::from(([127, 0, 0, 1], free_port())),
    );
    let knot_port = free_port();
    let pdata = TempDir::new("cview-primary");
    let dir = pdata.path();
    let mut notify = Vec::new();
    for to in [
        ams_addr.to_string(),
        global_addr.to_string(),
        format!("127.0.0.1:{knot_port}"),
    ] {
        notify.extend(["--notify".to_owned(), format!("{to}@{KEY}")]);
    }
    let mut extra = vec!["--xfr-allow".to_owned(), format!("127.0.0.1@{KEY}")];
    extra.extend(notify);
    let primary = host_with(dir, None, &extra);
    let secret = add_key(dir, KEY, "hmac-sha256");
    wait_for_keys(&primary);
    let target = api(
        &primary,
        "POST",
        "/records",
        Some(&crate::xfr::record("target", "A", "192.0.2.30")),
    );
    let target_id = crate::http::json_field(&target, "id").expect("record id");
    add(dir, &["flat", "ALIAS", "target.example.com"]);
    add(dir, &["pool", "POOL", "a.cdn.test"]);
    add(dir, &["pool", "POOL", "b.cdn.test"]);
    add(dir, &["old", "URL", "https://new.example/*"]);
    add(dir, &["web", "A", "192.0.2.1"]);
    add(dir, &["web", "A", "192.0.2.7", "--regions", "ams,sv1"]);
    add(dir, &["deep.below", "A", "192.0.2.20", "--regions", "ams"]);
    let only = api(
        &primary,
        "POST",
        "/records",
        Some(r#"{"name":"only","type":"A","content":"192.0.2.9","ttl":300,"regions":["ams"]}"#),
    );
    let only_id = crate::http::json_field(&only, "id").expect("record id");
    let p = primary.candor.addr();
    // The primary follows the CLI's writes within a second.
    wait_answer(
        p,
        "web.example.com.",
        Rtype::A,
        "NOERROR 192.0.2.1",
        &|| primary.candor.log(),
    );

    let (ams_data, global_data) = (TempDir::new("cview-ams"), TempDir::new("cview-global"));
    let (ams, _ams_zones) = candor_secondary(p, ams_addr, Some("ams"), ams_data.path());
    let (global, _global_zones) = candor_secondary(p, global_addr, None, global_data.path());
    import_key(ams_data.path(), &secret);
    import_key(global_data.path(), &secret);
    let knot = Secondary::start(Kind::Knot, &knotd, knot_port, p, &secret, &["example.com."]);
    let logs = || {
        format!(
            "--- primary:\n{}\n--- ams:\n{}\n--- global:\n{}\n--- knot:\n{}",
            primary.candor.log(),
            ams.log(),
            global.log(),
            knot.log()
        )
    };
    for to in [ams_addr, global_addr, knot.addr] {
        wait_in_sync(p, to, "example.com.", &logs);
    }

    // name, type: what the primary (the global view), the global and the
    // ams Candor secondaries, and Knot answer.
    let expect: [(&str, Rtype, [&str; 4]); 6] = [
        (
            "web.example.com.",
            Rtype::A,
            [
                "NOERROR 192.0.2.1",
                "NOERROR 192.0.2.1",
                "NOERROR 192.0.2.1 192.0.2.7",
                "NOERROR 192.0.2.1",
            ],
        ),
        (
            "only.example.com.",
            Rtype::A,
            ["NXDOMAIN", "NXDOMAIN", "NOERROR 192.0.2.9", "NXDOMAIN"],
        ),
        (
            "below.example.com.",
            Rtype::A,
            ["NXDOMAIN", "NXDOMAIN", "NOERROR", "NXDOMAIN"],
        ),
        ("flat.example.com.", Rtype::A, ["NOERROR 192.0.2.30"; 4]),
        ("old.example.com.", Rtype::A, ["NOERROR 127.0.0.1"; 4]),
        // ALIAS and POOL records are never answered as themselves.
        ("flat.example.com.", Rtype(65304), ["NOERROR"; 4]),
    ];
    let servers = [p, global_addr, ams_addr, knot.addr];
    let check = |expect: &[(&str, Rtype, [&str; 4])]| {
        for (name, qtype, wants) in expect {
            for (addr, want) in servers.iter().zip(wants) {
                assert_eq!(
                    answer(*addr, name, *qtype),
                    *want,
                    "{addr} {name} {qtype}\n{}",
                    logs()
                );
            }
        }
    };
    check(&expect);
    // The POOL: Candor servers spread queries over every member, Knot has
    // the CNAME to the first.
    let both: BTreeSet<String> = ["a.cdn.test.", "b.cdn.test."].map(str::to_owned).into();
    for addr in [p, global_addr, ams_addr] {
        assert_eq!(pool_targets(addr), both, "{addr}");
    }
    let first: BTreeSet<String> = ["a.cdn.test.".to_owned()].into();
    assert_eq!(pool_targets(knot.addr), first);
    // What travels: with the option, the private types; without, none.
    let key = format!("hmac-sha256:{KEY}:{secret}");
    let plain = kdig(p, &["-y", &key, "AXFR", "example.com."]);
    let candor = kdig(p, &["-y", &key, "AXFR", "example.com.", "+ednsopt=65305"]);
    for private in ["TYPE65303", "TYPE65304", "TYPE65305"] {
        assert!(!plain.contains(private), "AXFR carries {private}:\n{plain}");
        assert!(
            candor.contains(private),
            "no {private} in the Candor view:\n{candor}"
        );
    }

    // Regional changes through the API: one ams record goes, one comes,
    // an ams+sv1 one is added; both Candor secondaries follow by IXFR. The
    // ALIAS target moves: Candor secondaries synthesize the new address
    // from their zone, Knot gets it flattened.
    api(
        &primary,
        "PATCH",
        &format!("/records/{target_id}"),
        Some(r#"{"content":"192.0.2.31"}"#),
    );
    api(&primary, "DELETE", &format!("/records/{only_id}"), None);
    api(
        &primary,
        "POST",
        "/records",
        Some(r#"{"name":"late","type":"TXT","content":"ams","ttl":300,"regions":["ams"]}"#),
    );
    api(
        &primary,
        "POST",
        "/records",
        Some(
            r#"{"name":"web","type":"A","content":"192.0.2.8","ttl":300,"regions":["ams","sv1"]}"#,
        ),
    );
    for to in [ams_addr, global_addr, knot.addr] {
        wait_in_sync(p, to, "example.com.", &logs);
    }
    let after: [(&str, Rtype, [&str; 4]); 4] = [
        ("flat.example.com.", Rtype::A, ["NOERROR 192.0.2.31"; 4]),
        (
            "web.example.com.",
            Rtype::A,
            [
                "NOERROR 192.0.2.1",
                "NOERROR 192.0.2.1",
                "NOERROR 192.0.2.1 192.0.2.7 192.0.2.8",
                "NOERROR 192.0.2.1",
            ],
        ),
        ("only.example.com.", Rtype::A, ["NXDOMAIN"; 4]),
        (
            "late.example.com.",
            Rtype::TXT,
            ["NXDOMAIN", "NXDOMAIN", "NOERROR \"ams\"", "NXDOMAIN"],
        ),
    ];
    check(&after);
    for (name, log) in [("ams", ams.log()), ("global", global.log())] {
        assert_eq!(
            log.matches("transfer=AXFR").count(),
            1,
            "{name}:\n{}",
            logs()
        );
        assert!(log.contains("transfer=IXFR"), "{name}:\n{}", logs());
    }

    // The primary goes; the ams secondary restarts and serves its view
    // from the copy it wrote.
    drop(primary);
    drop(ams);
    let (ams, _ams_zones) = candor_secondary(p, ams_addr, Some("ams"), ams_data.path());
    assert_eq!(
        answer(ams_addr, "web.example.com.", Rtype::A),
        "NOERROR 192.0.2.1 192.0.2.7 192.0.2.8"
    );
    assert_eq!(
        answer(ams_addr, "late.example.com.", Rtype::TXT),
        "NOERROR \"ams\""
    );
    assert_eq!(pool_targets(ams_addr), both);
    assert_eq!(
        answer(ams_addr, "flat.example.com.", Rtype::A),
        "NOERROR 192.0.2.31"
    );
    drop(ams);
}
