//! Candor's catalog zone (RFC 9432, `serve --catalog`) consumed by real
//! secondaries: Knot DNS 3.2 and BIND 9.18 are configured with the catalog
//! zone alone, and serve every zone of the store by themselves; a zone
//! created through the CLI appears on them, a deleted one disappears.
//! (NSD 4.6 does not read catalog zones.)

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candor_wire::Rtype;
use candor_wire::decode::decode_message;

use crate::store::cli;
use crate::support::{Process, Query, TempDir, free_port, udp_exchange};
use crate::xfr::{KEY, Kind, keyed_primary, serial, wait_in_sync};

/// The catalog's name in the tests.
const CATALOG: &str = "catalog.invalid.";

/// Knot's configuration for a consumer of Candor's catalog: the catalog
/// zone is a secondary zone with `catalog-role: interpret`, and its
/// members are made from the template `member` (the same primary and
/// NOTIFY ACL). `{dir}`, `{port}`, `{primary}`, `{primary_port}` and
/// `{secret}` are filled in; the README shows the same snippet.
fn knot_conf(dir: &str, port: u16, primary: SocketAddr, secret: &str) -> String {
    let (ip, pport) = (primary.ip(), primary.port());
    format!(
        "server:\n    rundir: \"{dir}\"\n    listen: 127.0.0.1@{port}\n    \
         udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
         database:\n    storage: \"{dir}/storage\"\n\
         key:\n  - id: {KEY}.\n    algorithm: hmac-sha256\n    secret: {secret}\n\
         remote:\n  - id: candor\n    address: {ip}@{pport}\n    key: {KEY}.\n\
         acl:\n  - id: notify_from_candor\n    address: {ip}\n    key: {KEY}.\n    \
         action: notify\n\
         log:\n  - target: stderr\n    any: info\n\
         template:\n  - id: default\n    storage: \"{dir}/storage\"\n    \
         zonefile-sync: -1\n    zonefile-load: none\n    journal-content: changes\n    \
         semantic-checks: off\n\
         \x20 - id: member\n    storage: \"{dir}/storage\"\n    master: candor\n    \
         acl: notify_from_candor\n    zonefile-sync: -1\n    zonefile-load: none\n    \
         journal-content: changes\n    semantic-checks: off\n\
         zone:\n  - domain: {CATALOG}\n    master: candor\n    acl: notify_from_candor\n    \
         catalog-role: interpret\n    catalog-template: member\n"
    )
}

/// BIND's configuration for a consumer of Candor's catalog: the catalog
/// zone is a secondary zone named in `catalog-zones`, whose
/// `default-primaries` member zones are transferred from.
fn bind_conf(dir: &str, port: u16, primary: SocketAddr, secret: &str) -> String {
    let (ip, pport) = (primary.ip(), primary.port());
    format!(
        "options {{\n  directory \"{dir}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  \
         listen-on-v6 {{ none; }};\n  pid-file \"{dir}/named.pid\";\n  \
         recursion no;\n  dnssec-validation no;\n  notify no;\n  \
         allow-notify {{ key \"{KEY}.\"; }};\n  \
         catalog-zones {{\n    zone \"{CATALOG}\"\n      \
         default-primaries port {pport} {{ {ip} key \"{KEY}.\"; }}\n      \
         in-memory no\n      zone-directory \"{dir}/members\";\n  }};\n}};\n\
         controls {{ }};\n\
         key \"{KEY}.\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\n\
         zone \"{CATALOG}\" {{\n  type secondary;\n  \
         primaries port {pport} {{ {ip} key \"{KEY}.\"; }};\n  \
         file \"{dir}/catalog.db\";\n}};\n"
    )
}

/// Starts a `kind` consumer of the catalog of `primary` on `port`.
fn start_consumer(
    kind: Kind,
    binary: &Path,
    port: u16,
    primary: SocketAddr,
    secret: &str,
) -> (Process, TempDir) {
    let dir = TempDir::new("catalog-consumer");
    let d = dir.path().display().to_string();
    let mut cmd = Command::new(binary);
    match kind {
        Kind::Knot => {
            std::fs::create_dir_all(dir.path().join("storage")).expect("storage");
            let conf = dir.write("knot.conf", &knot_conf(&d, port, primary, secret));
            cmd.arg("-c").arg(conf);
        }
        Kind::Bind => {
            std::fs::create_dir_all(dir.path().join("members")).expect("members");
            let conf = dir.write("named.conf", &bind_conf(&d, port, primary, secret));
            cmd.args(["-g", "-n", "1", "-u", "root", "-c"]).arg(conf);
        }
        Kind::Nsd => unreachable!("NSD 4.6 does not read catalog zones"),
    }
    let process = Process::spawn(cmd, &format!("{kind:?}"), &dir.path().join("server.log"));
    (process, dir)
}

/// The rcode `addr` answers an SOA query for `zone` with.
fn soa_rcode(addr: SocketAddr, zone: &str) -> Option<u16> {
    let q = Query::new(zone, Rtype::SOA).to_wire();
    let resp = udp_exchange(addr, &q, Duration::from_millis(300), 2)?;
    Some(decode_message(&resp).ok()?.rcode())
}

/// A consumer of Candor's catalog serves the store's zones, then a zone
/// created with the CLI (serial in sync with Candor), and stops serving
/// it once it is deleted.
fn consumes_the_catalog(kind: Kind) {
    let Some(binary) = kind.binary() else {
        if std::env::var("CANDOR_SKIP_SECONDARIES").is_ok_and(|v| v == "1") {
            eprintln!("{kind:?} consumer: skipped, not installed (CANDOR_SKIP_SECONDARIES=1)");
            return;
        }
        panic!(
            "{kind:?} is not installed: apt-get install knot bind9 (scripts/test does), \
             or set CANDOR_SKIP_SECONDARIES=1 to skip this test"
        );
    };
    let data = TempDir::new("catalog-primary");
    let port = free_port();
    let (h, secret) = keyed_primary(
        data.path(),
        port,
        &["--catalog".to_owned(), "catalog.invalid".to_owned()],
    );
    let (_process, dir) = start_consumer(kind, &binary, port, h.candor.addr(), &secret);
    let logs = || {
        format!(
            "--- candor:\n{}\n--- {kind:?}:\n{}",
            h.candor.log(),
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        )
    };
    let primary = h.candor.addr();
    let secondary = SocketAddr::from(([127, 0, 0, 1], port));
    // The demo zone is a member: the consumer serves it by itself. (Knot
    // transfers the catalog but does not answer queries for it.)
    wait_in_sync(primary, secondary, "example.com.", &logs);

    // A new zone appears on the consumer.
    let out = cli(data.path(), &["zone", "create", "fresh.test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_in_sync(primary, secondary, "fresh.test.", &logs);

    // A deleted one disappears (REFUSED: not a zone it has any more).
    let before = serial(primary, CATALOG);
    let out = cli(data.path(), &["zone", "delete", "fresh.test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while soa_rcode(secondary, "fresh.test.") != Some(5) {
        assert!(
            Instant::now() < deadline,
            "the consumer still answers for fresh.test (rcode {:?}):\n{}",
            soa_rcode(secondary, "fresh.test."),
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(
        serial(primary, CATALOG),
        before,
        "the catalog's serial moved"
    );
    // The other member is untouched.
    assert_eq!(
        serial(secondary, "example.com."),
        serial(primary, "example.com.")
    );
}

/// Knot DNS 3.2 adds and removes member zones from Candor's catalog.
#[test]
fn knot_follows_the_catalog() {
    consumes_the_catalog(Kind::Knot);
}

/// BIND 9.18 adds and removes member zones from Candor's catalog.
#[test]
fn bind_follows_the_catalog() {
    consumes_the_catalog(Kind::Bind);
}
