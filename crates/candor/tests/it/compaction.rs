//! Background compaction through the real binary (docs/incremental.md):
//! record writes through the API grow the zone's overlay, the server
//! compacts it in the background and publishes the result, and every
//! acknowledged write stays served throughout.

use std::time::{Duration, Instant};

use crate::http::request;
use crate::store::{addresses, host_with};
use crate::support::TempDir;

/// Writes of new names through the API with a small compaction threshold:
/// each is served when its response arrives, the server compacts the
/// overlay several times while the writes go on (its log says so), and
/// afterwards every name written still answers with its address.
#[test]
fn writes_are_compacted_in_the_background_and_stay_served() {
    let dir = TempDir::new("candor-compaction");
    let h = host_with(
        dir.path(),
        None,
        &["--compact-overlay-names".to_owned(), "8".to_owned()],
    );
    let path = format!("/v2/{}/zones/example.com/records", h.account);
    let ip = |i: usize| format!("198.51.100.{}", i + 1);
    let writes = 60;
    for i in 0..writes {
        let body = format!(
            r#"{{"name":"c{i}","type":"A","content":"{}","ttl":300}}"#,
            ip(i)
        );
        let r = request(h.api, "POST", &path, Some(&h.token), Some(&body));
        assert_eq!(r.status, 201, "write {i}: {}", r.body);
        let name = format!("c{i}.example.com.");
        assert_eq!(
            addresses(h.candor.addr(), &name),
            [ip(i)],
            "{name} served at once"
        );
    }
    let compactions = || {
        h.candor
            .log()
            .matches("compacted the zone's overlay into a new base")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while compactions() < 3 {
        assert!(
            Instant::now() < deadline,
            "{} compactions in the log:\n{}",
            compactions(),
            h.candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..writes {
        let name = format!("c{i}.example.com.");
        assert_eq!(
            addresses(h.candor.addr(), &name),
            [ip(i)],
            "{name} still served"
        );
    }
}

/// A Candor secondary compacts the zone it holds as the primary does:
/// with a small `--compact-overlay-names`, the IXFRs of writes at new
/// names (A records, and ALIAS records to them) grow its overlay, it
/// compacts in the background (its log says so), stays in sync, and
/// answers every name afterwards.
#[test]
fn a_secondary_compacts_the_zone_it_holds() {
    use std::net::SocketAddr;

    use candor_wire::Rtype;

    use crate::regions::answer;
    use crate::support::{Candor, free_port};
    use crate::xfr::{api, record, wait_in_sync};

    let secondary_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let pdata = TempDir::new("seccompact-primary");
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
    let p = primary.candor.addr();
    let sdata = TempDir::new("seccompact-secondary");
    let follow = format!("example.com@{p}");
    let (args, _zones) = crate::secondary::secondary_args(
        secondary_addr,
        sdata.path(),
        ["--secondary", &follow],
        &["--no-status", "--compact-overlay-names", "8"],
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
    let ip = |i: usize| format!("198.51.100.{}", i + 1);
    let writes = 60;
    for i in 0..writes {
        let body = match i % 4 {
            3 => record(
                &format!("c{i}"),
                "ALIAS",
                &format!("c{}.example.com", i - 1),
            ),
            _ => record(&format!("c{i}"), "A", &ip(i)),
        };
        api(&primary, "POST", "/records", Some(&body));
        if i % 10 == 9 {
            wait_in_sync(p, s, "example.com.", &logs);
        }
    }
    wait_in_sync(p, s, "example.com.", &logs);
    let compactions = || {
        secondary
            .log()
            .matches("compacted the secondary zone's overlay into a new base")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while compactions() < 2 {
        assert!(
            Instant::now() < deadline,
            "{} compactions in the secondary's log:\n{}",
            compactions(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !secondary.log().contains("transfer=AXFR-style")
            && secondary.log().matches("transfer=AXFR").count() == 1,
        "one AXFR, then IXFRs only:\n{}",
        logs()
    );
    for i in 0..writes {
        let name = format!("c{i}.example.com.");
        let want = ip(if i % 4 == 3 { i - 1 } else { i });
        assert_eq!(
            answer(s, &name, Rtype::A),
            format!("NOERROR {want}"),
            "{name} on the secondary:\n{}",
            logs()
        );
    }
}
