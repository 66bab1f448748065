//! `candor dnssec` on a real store: enable makes a key and prints its DS,
//! CDS and CDNSKEY; status shows the same; export prints the zone signed
//! with the stored key, which BIND's `dnssec-verify` accepts; disable
//! deletes the keys, after which export refuses.

use std::process::Output;

use crate::store::cli;
use crate::support::TempDir;

/// Runs the CLI and requires success; returns standard output.
fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "candor {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error of a finished command.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether `dnssec-verify` accepts a zone file (`None` when it is missing
/// and `CANDOR_SKIP_DNSSEC_TOOLS=1` allows skipping).
fn dnssec_verify(dir: &TempDir, text: &str) -> Option<(bool, String)> {
    if std::process::Command::new("dnssec-verify")
        .arg("-V")
        .output()
        .is_err()
    {
        if std::env::var("CANDOR_SKIP_DNSSEC_TOOLS").is_ok_and(|v| v == "1") {
            eprintln!(
                "dnssec: skipped, dnssec-verify is not installed (CANDOR_SKIP_DNSSEC_TOOLS=1)"
            );
            return None;
        }
        panic!(
            "dnssec-verify (BIND) is needed: apt-get install bind9-utils, \
             or set CANDOR_SKIP_DNSSEC_TOOLS=1 to skip this test"
        );
    }
    let file = dir.write("signed.zone", text);
    let out = std::process::Command::new("dnssec-verify")
        .args(["-z", "-o", "example.com."])
        .arg(&file)
        .output()
        .expect("run dnssec-verify");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), log))
}

#[test]
fn dnssec_enable_status_export_and_disable() {
    let dir = TempDir::new("candor-dnssec");
    let data = dir.path().join("data");
    ok(&data, &["init", "--email", "ops@example.org"]);
    ok(&data, &["zone", "create", "example.com"]);
    ok(
        &data,
        &["record", "add", "example.com", "www", "A", "192.0.2.1"],
    );
    ok(
        &data,
        &["record", "add", "example.com", "*.wild", "TXT", "wild"],
    );
    ok(
        &data,
        &[
            "record",
            "add",
            "example.com",
            "sub",
            "NS",
            "ns.sub.example.com",
        ],
    );
    ok(
        &data,
        &["record", "add", "example.com", "ns.sub", "A", "192.0.2.53"],
    );

    let off = cli(&data, &["dnssec", "status", "example.com"]);
    assert!(off.status.success());
    assert!(off.stdout.is_empty());
    assert!(
        stderr(&off).contains("DNSSEC is not enabled"),
        "{}",
        stderr(&off)
    );
    let refused = cli(&data, &["dnssec", "export", "example.com"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("run `candor dnssec enable example.com` first"),
        "{}",
        stderr(&refused)
    );

    let printed = ok(&data, &["dnssec", "enable", "example.com"]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 3, "{printed}");
    let ds: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&ds[..3], ["example.com.", "IN", "DS"]);
    let fields: Vec<&str> = ds[3].split(' ').collect();
    assert_eq!((fields[1], fields[2], fields[3].len()), ("13", "2", 64));
    assert!(
        lines[1].contains("\tCDS\t") && lines[1].ends_with(ds[3]),
        "{printed}"
    );
    assert!(lines[2].contains("\tCDNSKEY\t257 3 13 "), "{printed}");
    assert_eq!(ok(&data, &["dnssec", "status", "example.com"]), printed);
    let twice = cli(&data, &["dnssec", "enable", "example.com"]);
    assert!(!twice.status.success());
    assert!(
        stderr(&twice).contains("already enabled"),
        "{}",
        stderr(&twice)
    );

    let signed = ok(&data, &["dnssec", "export", "example.com"]);
    assert!(
        signed.contains("\tNSEC\t") && signed.contains("\tRRSIG\t"),
        "{signed}"
    );
    // The DNSKEY in the export is the key of the DS printed above.
    assert!(signed.contains("\tRRSIG\tDNSKEY 13 2 3600 "), "{signed}");
    assert!(
        signed.contains(&format!(" {} example.com. ", fields[0])),
        "{signed}"
    );
    if let Some((accepted, log)) = dnssec_verify(&dir, &signed) {
        assert!(
            accepted,
            "dnssec-verify rejected the export:\n{log}\n{signed}"
        );
    }

    ok(&data, &["dnssec", "disable", "example.com"]);
    assert!(ok(&data, &["dnssec", "status", "example.com"]).is_empty());
    let again = cli(&data, &["dnssec", "disable", "example.com"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not enabled"), "{}", stderr(&again));
    assert!(
        !cli(&data, &["dnssec", "export", "example.com"])
            .status
            .success()
    );
}
