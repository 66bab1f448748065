//! `candor backup` while serving and `candor restore`: the restored data
//! directory serves every zone as the original did at backup time.

use std::time::Duration;

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::http::request;
use crate::store::{cli, host};
use crate::support::{Query, TempDir, udp_exchange};

/// Runs the CLI and asserts it succeeded; returns its standard output.
fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "candor {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The answer section of `name type` as (type, RDATA) pairs, sorted.
fn answer(addr: std::net::SocketAddr, name: &str, rtype: Rtype) -> Vec<(u16, Vec<u8>)> {
    let q = Query::new(name, rtype).to_wire();
    let resp = udp_exchange(addr, &q, Duration::from_millis(500), 3).expect("an answer");
    let msg = decode_message(&resp).expect("a response");
    let mut v: Vec<_> = msg
        .answer
        .iter()
        .map(|r| (r.rtype.0, r.rdata.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_backup_taken_while_serving_restores_every_zone() {
    let data = TempDir::new("candor-backup");
    let h = host(data.path(), None);
    let path = format!("/v2/{}/zones/example.com/records", h.account);
    for body in [
        r#"{"name":"www2","type":"A","content":"192.0.2.60"}"#,
        r#"{"name":"go","type":"URL","content":"https://example.net/"}"#,
        r#"{"name":"txt","type":"TXT","content":"before the backup"}"#,
    ] {
        let r = request(h.api, "POST", &path, Some(&h.token), Some(body));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    ok(data.path(), &["zone", "create", "second.example"]);
    std::thread::sleep(Duration::from_millis(1500)); // the server picks up the CLI's zone
    let exported = ok(data.path(), &["zone", "export", "example.com"]);
    let questions = [
        ("example.com.", Rtype::SOA),
        ("example.com.", Rtype::MX),
        ("www.example.com.", Rtype::A),
        ("www2.example.com.", Rtype::A),
        ("go.example.com.", Rtype::A),
        ("txt.example.com.", Rtype::TXT),
        ("second.example.", Rtype::SOA),
    ];
    let before: Vec<_> = questions
        .iter()
        .map(|&(name, rtype)| answer(h.candor.addr(), name, rtype))
        .collect();

    let backups = TempDir::new("candor-backup-dest");
    let dest = backups.path().join("b1");
    let dest_arg = dest.display().to_string();
    ok(data.path(), &["backup", &dest_arg]);
    // Written after the backup: not in it.
    let r = request(
        h.api,
        "POST",
        &path,
        Some(&h.token),
        Some(r#"{"name":"later","type":"A","content":"192.0.2.61"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A backup never overwrites.
    assert!(!cli(data.path(), &["backup", &dest_arg]).status.success());

    let restored = TempDir::new("candor-restored");
    ok(restored.path(), &["restore", &dest_arg]);
    // Restoring over data needs --force, which moves the data aside.
    let again = cli(restored.path(), &["restore", &dest_arg]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(restored.path(), &["restore", &dest_arg, "--force"]);
    assert!(
        std::fs::read_dir(restored.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e
                .file_name()
                .to_string_lossy()
                .starts_with("before-restore-"))
    );

    assert_eq!(
        ok(restored.path(), &["zone", "export", "example.com"]),
        exported
    );
    let r2 = host(restored.path(), Some(&h.token));
    for (&(name, rtype), then) in questions.iter().zip(&before) {
        let got = answer(r2.candor.addr(), name, rtype);
        assert!(!got.is_empty(), "{name} {rtype} is served after restore");
        assert_eq!(&got, then, "{name} {rtype} as at backup time");
    }
    assert!(answer(r2.candor.addr(), "later.example.com.", Rtype::A).is_empty());
    // The token of the original works on the restored server.
    let r = request(r2.api, "GET", "/v2/whoami", Some(&h.token), None);
    assert_eq!(r.status, 200, "{}", r.body);

    // A damaged backup is refused before anything is touched.
    let db = dest.join("candor.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let fresh = TempDir::new("candor-restored");
    let out = cli(fresh.path(), &["restore", &dest_arg]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fresh.path().join("candor.db").exists());
}
