//! Regional records (docs/regions.md): servers with `--region` on one
//! store answer their region's view, a server without one and a Knot
//! secondary of it the global view; `--region` on a primary that feeds
//! secondaries is refused at start.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::store::{Hosted, cli, host_with};
use crate::support::{Query, TempDir, free_port, udp_exchange};
use crate::xfr::wait_in_sync;
use crate::xfr::{KEY, Kind, Secondary, add_key, api, kdig, knot_tools, record, wait_for_keys};

/// What a server answers for `name`/`qtype`: the rcode's name and the
/// answer's records of that type in presentation form, sorted.
pub(crate) fn answer(addr: SocketAddr, name: &str, qtype: Rtype) -> String {
    let q = Query::new(name, qtype).to_wire();
    let Some(resp) = udp_exchange(addr, &q, Duration::from_millis(500), 3) else {
        return "no answer".to_owned();
    };
    let m = decode_message(&resp).expect("a well-formed response");
    let mut records: Vec<String> = m
        .answer
        .iter()
        .filter(|r| r.rtype == qtype)
        .map(|r| crate::support::render_rdata(r.rtype, &r.rdata))
        .collect();
    records.sort();
    format!(
        "{} {}",
        crate::support::rcode_name(m.rcode()),
        records.join(" ")
    )
    .trim_end()
    .to_owned()
}

/// Polls until `addr` answers `name`/`qtype` with `want` (5 s at most).
pub(crate) fn wait_answer(
    addr: SocketAddr,
    name: &str,
    qtype: Rtype,
    want: &str,
    log: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = answer(addr, name, qtype);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} answers {name} {qtype} with {got:?}, not {want:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Adds a record with the CLI; panics unless it is stored.
pub(crate) fn add(dir: &std::path::Path, args: &[&str]) {
    let mut all = vec!["record", "add", "example.com"];
    all.extend_from_slice(args);
    let out = cli(dir, &all);
    assert!(
        out.status.success(),
        "record add {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts a server with `--region region` on the store in `dir` (no demo,
/// no status page: the global server runs those).
fn regional(dir: &std::path::Path, token: &str, region: &str) -> Hosted {
    host_with(
        dir,
        Some(token),
        &[
            "--region".to_owned(),
            region.to_owned(),
            "--no-demo".to_owned(),
            "--no-status".to_owned(),
        ],
    )
}

/// One store, a global server (the primary) and servers in `ams` and
/// `sv1`: an `ams` record is answered by the ams server only (NXDOMAIN for
/// a name it alone makes, NODATA beside other records), global records by
/// all; changes from the CLI and from the ams server's own API reach the
/// right servers; a Knot secondary of the primary gets the global view,
/// and AXFR carries no regional record.
#[test]
fn each_region_answers_its_view_and_secondaries_get_the_global_one() {
    let data = TempDir::new("regions");
    let dir = data.path();
    let knot_port = free_port();
    let primary = host_with(
        dir,
        None,
        &[
            "--xfr-allow".to_owned(),
            format!("127.0.0.1@{KEY}"),
            "--notify".to_owned(),
            format!("127.0.0.1:{knot_port}@{KEY}"),
        ],
    );
    add(dir, &["web", "A", "192.0.2.1"]);
    add(dir, &["web", "A", "192.0.2.7", "--regions", "AMS,sv1"]);
    add(dir, &["only", "A", "192.0.2.9", "--regions", "ams"]);
    add(dir, &["deep.below", "A", "192.0.2.20", "--regions", "ams"]);
    add(dir, &["both", "TXT", "everywhere"]);
    add(dir, &["both", "A", "192.0.2.11", "--regions", "ams"]);
    // The CLI shows the regions, and the export writes them on
    // `;@regions` lines.
    let list = cli(dir, &["record", "list", "example.com", "--name", "web"]);
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    let lines: Vec<&str> = list
        .lines()
        .map(|l| l.split_once('\t').map_or(l, |(_, rest)| rest))
        .collect();
    assert_eq!(
        lines,
        [
            "web\t3600\tA\t192.0.2.1",
            "web\t3600\tA\t192.0.2.7\tams,sv1"
        ]
    );
    let export = cli(dir, &["zone", "export", "example.com"]);
    let export = String::from_utf8_lossy(&export.stdout).into_owned();
    assert!(
        export.contains("\n;@regions ams,sv1 web.example.com.\t3600\tIN\tA\t192.0.2.7\n"),
        "{export}"
    );
    let ams = regional(dir, &primary.token, "ams");
    let sv1 = regional(dir, &primary.token, "sv1");
    let logs = || {
        format!(
            "--- primary:\n{}\n--- ams:\n{}\n--- sv1:\n{}",
            primary.candor.log(),
            ams.candor.log(),
            sv1.candor.log()
        )
    };
    let (p, a, s) = (primary.candor.addr(), ams.candor.addr(), sv1.candor.addr());
    // The global server follows the CLI's writes within a second.
    wait_answer(
        p,
        "both.example.com.",
        Rtype::TXT,
        "NOERROR \"everywhere\"",
        &logs,
    );
    let expect: [(&str, Rtype, [&str; 3]); 6] = [
        (
            "web.example.com.",
            Rtype::A,
            [
                "NOERROR 192.0.2.1",
                "NOERROR 192.0.2.1 192.0.2.7",
                "NOERROR 192.0.2.1 192.0.2.7",
            ],
        ),
        (
            "only.example.com.",
            Rtype::A,
            ["NXDOMAIN", "NOERROR 192.0.2.9", "NXDOMAIN"],
        ),
        // An empty non-terminal only in the ams view.
        (
            "below.example.com.",
            Rtype::A,
            ["NXDOMAIN", "NOERROR", "NXDOMAIN"],
        ),
        (
            "deep.below.example.com.",
            Rtype::A,
            ["NXDOMAIN", "NOERROR 192.0.2.20", "NXDOMAIN"],
        ),
        (
            "both.example.com.",
            Rtype::A,
            ["NOERROR", "NOERROR 192.0.2.11", "NOERROR"],
        ),
        (
            "both.example.com.",
            Rtype::TXT,
            ["NOERROR \"everywhere\""; 3],
        ),
    ];
    for (name, qtype, [global, in_ams, in_sv1]) in expect {
        assert_eq!(answer(p, name, qtype), global, "global {name} {qtype}");
        assert_eq!(answer(a, name, qtype), in_ams, "ams {name} {qtype}");
        assert_eq!(answer(s, name, qtype), in_sv1, "sv1 {name} {qtype}");
    }

    // A change through the ams server's API: answered by it at once (its
    // view, patched), by sv1 once it follows the store, never globally.
    let body =
        r#"{"name":"late","type":"A","content":"192.0.2.12","ttl":300,"regions":["ams","sv1"]}"#;
    api(&ams, "POST", "/records", Some(body));
    assert_eq!(
        answer(a, "late.example.com.", Rtype::A),
        "NOERROR 192.0.2.12"
    );
    wait_answer(
        s,
        "late.example.com.",
        Rtype::A,
        "NOERROR 192.0.2.12",
        &logs,
    );
    // A global change through the primary's API reaches every view.
    api(
        &primary,
        "POST",
        "/records",
        Some(&record("shared", "A", "192.0.2.13")),
    );
    for addr in [p, a, s] {
        wait_answer(
            addr,
            "shared.example.com.",
            Rtype::A,
            "NOERROR 192.0.2.13",
            &logs,
        );
    }
    assert_eq!(answer(p, "late.example.com.", Rtype::A), "NXDOMAIN");

    // A Knot secondary of the primary: the global view.
    let Some((knotd, _)) = knot_tools("regions") else {
        return;
    };
    let secret = add_key(dir, KEY, "hmac-sha256");
    wait_for_keys(&primary);
    let knot = Secondary::start(Kind::Knot, &knotd, knot_port, p, &secret, &["example.com."]);
    let knot_logs = || format!("{}\n--- knot:\n{}", logs(), knot.log());
    wait_in_sync(p, knot.addr, "example.com.", &knot_logs);
    for (name, qtype, [global, _, _]) in expect {
        assert_eq!(
            answer(knot.addr, name, qtype),
            global,
            "knot {name} {qtype}"
        );
    }
    assert_eq!(answer(knot.addr, "late.example.com.", Rtype::A), "NXDOMAIN");
    let axfr = kdig(
        p,
        &[
            "-y",
            &format!("hmac-sha256:{KEY}:{secret}"),
            "AXFR",
            "example.com.",
        ],
    );
    assert!(axfr.contains("web.example.com."), "{axfr}");
    for regional in ["192.0.2.7", "192.0.2.9", "192.0.2.12", "TYPE65305"] {
        assert!(!axfr.contains(regional), "AXFR carries {regional}:\n{axfr}");
    }
}

/// `--region` on a server that feeds secondaries (`--xfr-allow`,
/// `--notify`, `--catalog`) is refused before anything starts, naming the
/// flag; a label that is not one is refused by the flag's parser.
#[test]
fn a_region_on_a_primary_that_feeds_secondaries_is_refused() {
    let data = TempDir::new("regions-refused");
    let dir = data.path().display().to_string();
    let serve = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_candor"))
            .args(["serve", "--data-dir", &dir, "--region"])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .expect("run candor");
        assert!(!out.status.success(), "{extra:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for (flag, value) in [
        ("--xfr-allow", "127.0.0.1"),
        ("--notify", "127.0.0.1:5399"),
        ("--catalog", "catalog.invalid"),
    ] {
        let err = serve(&["ams", flag, value]);
        assert!(
            err.contains(&format!("--region ams cannot go with {flag}")),
            "{flag}: {err}"
        );
    }
    let err = serve(&["AMS!"]);
    assert!(err.contains("\"AMS!\" is not a region label"), "{err}");
    assert!(
        !data.path().join("candor.db").exists(),
        "a refused start created the store"
    );
}
