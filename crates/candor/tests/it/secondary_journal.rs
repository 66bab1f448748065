//! A Candor secondary keeps a copy of each zone plus a journal of the
//! IXFRs applied since: API changes on a Candor primary reach it by IXFR
//! and are appended to the journal (the copy file is not rewritten);
//! restarted with the primary stopped, it serves the latest records from
//! the copy and the journal replayed.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::http::{json_field, request};
use crate::secondary::secondary_args;
use crate::store::host_with;
use crate::support::{Candor, Query, TempDir, free_port, udp_exchange};
use crate::xfr::wait_in_sync;

/// The entries in the journal at `path` (0 when it cannot be read).
fn journal_entries(path: &Path) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|b| candor_xfr::copy_journal::read(&b).ok().flatten())
        .map_or(0, |r| r.entries.len())
}

/// The answer records of `name`/`rtype` at `addr`, as their RDATA.
fn answers(addr: SocketAddr, name: &str, rtype: Rtype) -> Vec<Vec<u8>> {
    let q = Query::new(name, rtype).to_wire();
    let Some(resp) = udp_exchange(addr, &q, Duration::from_millis(500), 3) else {
        return Vec::new();
    };
    let m = decode_message(&resp).expect("decodes");
    m.answer
        .iter()
        .filter(|r| r.rtype == rtype)
        .map(|r| r.rdata.clone())
        .collect()
}

/// Three API changes after the first AXFR are appended to the journal
/// (the copy's inode and size stay); after a restart with the primary
/// down, the secondary serves all three from the copy and the journal.
#[test]
fn a_restarted_secondary_serves_copy_and_journal() {
    let sport = free_port();
    let secondary_addr = SocketAddr::from(([127, 0, 0, 1], sport));
    let pdata = TempDir::new("journal-primary");
    let mut p = host_with(
        pdata.path(),
        None,
        &[
            "--xfr-allow".to_owned(),
            "127.0.0.1".to_owned(),
            "--notify".to_owned(),
            secondary_addr.to_string(),
        ],
    );
    let api = |method: &str, path: &str, body: Option<&str>| {
        let path = format!("/v2/{}/zones/example.com{path}", p.account);
        let r = request(p.api, method, &path, Some(&p.token), body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {}",
            r.body
        );
        r.body
    };
    let record = |name: &str, rtype: &str, content: &str| {
        format!(r#"{{"name":"{name}","type":"{rtype}","content":"{content}","ttl":300}}"#)
    };
    // A copy large enough that three small entries stay below the
    // journal's bound (a quarter of the copy).
    let pad = "p".repeat(250);
    for i in 0..12 {
        api(
            "POST",
            "/records",
            Some(&record(&format!("pad{i}"), "TXT", &pad)),
        );
    }
    let sdata = TempDir::new("journal-secondary");
    let follow = format!("example.com@{}", p.candor.addr());
    let (args, _zones) =
        secondary_args(secondary_addr, sdata.path(), ["--secondary", &follow], &[]);
    let mut s = Candor::start_with(&args, "ready.test.");
    let logs = |s: &Candor| format!("--- secondary:\n{}", s.log());
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &|| {
        logs(&s)
    });
    let copy = sdata.path().join("secondary").join("example.com.zone");
    let journal = sdata
        .path()
        .join("secondary")
        .join("example.com.zone.journal");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !journal.exists() {
        assert!(Instant::now() < deadline, "no journal: {}", logs(&s));
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = std::fs::metadata(&copy).expect("the copy");
    assert_eq!(before.mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&journal).expect("journal").mode() & 0o777,
        0o600
    );

    let body = api("POST", "/records", Some(&record("j1", "A", "192.0.2.101")));
    let id = json_field(&body, "id").expect("record id");
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &|| {
        logs(&s)
    });
    api("POST", "/records", Some(&record("j2", "TXT", "journaled")));
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &|| {
        logs(&s)
    });
    api(
        "PATCH",
        &format!("/records/{id}"),
        Some(r#"{"content":"192.0.2.102"}"#),
    );
    wait_in_sync(p.candor.addr(), secondary_addr, "example.com.", &|| {
        logs(&s)
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while journal_entries(&journal) < 3 {
        assert!(
            Instant::now() < deadline,
            "{} journal entries: {}",
            journal_entries(&journal),
            logs(&s)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(journal_entries(&journal), 3, "{}", logs(&s));
    let after = std::fs::metadata(&copy).expect("the copy");
    assert_eq!(
        (after.ino(), after.len()),
        (before.ino(), before.len()),
        "the copy was rewritten: {}",
        logs(&s)
    );
    let log = s.log();
    assert_eq!(log.matches("transfer=AXFR").count(), 1, "{log}");
    assert_eq!(log.matches("transfer=IXFR").count(), 3, "{log}");
    let serial = crate::xfr::serial(p.candor.addr(), "example.com.");

    // The primary stops; the secondary restarts from its disk alone.
    p.candor.process().signal("TERM");
    let _ = p.candor.process().wait_timeout(Duration::from_secs(10));
    s.process().signal("TERM");
    let _ = s.process().wait_timeout(Duration::from_secs(10));
    let s = Candor::start_with(&args, "ready.test.");
    let log = s.log();
    assert!(
        log.contains("secondary zone served from its copy on disk")
            && log.contains("journal_entries=3"),
        "{log}"
    );
    assert_eq!(crate::xfr::serial(secondary_addr, "example.com."), serial);
    assert_eq!(
        answers(secondary_addr, "j1.example.com.", Rtype::A),
        vec![vec![192, 0, 2, 102]],
        "{log}"
    );
    assert_eq!(
        answers(secondary_addr, "j2.example.com.", Rtype::TXT),
        vec![b"\x09journaled".to_vec()],
        "{log}"
    );
    assert_eq!(
        answers(secondary_addr, "pad3.example.com.", Rtype::TXT).len(),
        1
    );
}
