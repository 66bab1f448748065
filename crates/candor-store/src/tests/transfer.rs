//! Zone-file import and export.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::{RecordPatch, ZoneText};

/// A zone file with one record of most supported types.
const FILE: &str = r#"$ORIGIN example.com.
$TTL 3600
@       IN SOA  ns.elsewhere.net. h.elsewhere.net. 1 2 3 4 5
@       IN NS   ns.elsewhere.net.
@       IN A    192.0.2.1
@       IN MX   10 mail
@       IN TXT  "v=spf1 -all"
@       IN CAA  0 issue "letsencrypt.org"
www  600 IN A   192.0.2.2
www     IN AAAA 2001:db8::2
Alias   IN CNAME www
mail    IN A    192.0.2.3
_sip._tcp IN SRV 10 5 5060 sip.example.net.
long    IN TXT  "part one" "part two"
quote   IN TXT  "say \"hi\"; bye"
sub     IN NS   ns1.sub
ns1.sub IN A    192.0.2.53
*.wild  IN A    192.0.2.9
host    IN SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
svc     IN HTTPS 1 . alpn=h2
ptr     IN PTR  host.example.net.
hinfo   IN HINFO "PC" "Linux"
"#;

#[test]
fn import_replaces_the_records_and_ignores_soa_and_apex_ns() {
    let (s, a) = store_with_zone();
    s.create_record(
        a,
        "example.com",
        &input("old", "A", "192.0.2.200"),
        &actor(),
    )
    .unwrap();
    let serial = s.zone(a, "example.com").unwrap().serial;
    let (summary, change) = s
        .import_zone_file(a, "example.com", FILE.as_bytes(), &actor(), &mut |_| {})
        .unwrap();
    assert_eq!(
        summary,
        crate::ImportSummary {
            records: 18,
            removed: 1
        }
    );
    assert_eq!(change.zone.serial, serial + 1);
    let compiled = change.compiled.unwrap();
    assert_eq!(compiled.record_count(), 18 + 3);
    assert_eq!(compiled.serial(), serial + 1);

    let records = user_records(&s, a, "example.com");
    let find = |name: &str, rtype: &str| {
        records
            .iter()
            .find(|r| r.0 == name && r.1 == rtype)
            .unwrap_or_else(|| panic!("{name} {rtype} missing"))
            .clone()
    };
    assert_eq!(
        find("", "MX"),
        (
            "".into(),
            "MX".into(),
            "mail.example.com".into(),
            3600,
            Some(10)
        )
    );
    assert_eq!(find("www", "A").3, 600);
    assert_eq!(find("alias", "CNAME").2, "www.example.com");
    assert_eq!(find("", "TXT").2, "v=spf1 -all");
    assert_eq!(find("long", "TXT").2, "\"part one\" \"part two\"");
    assert_eq!(find("quote", "TXT").2, "say \"hi\"; bye");
    assert_eq!(find("_sip._tcp", "SRV").2, "5 5060 sip.example.net");
    assert_eq!(find("_sip._tcp", "SRV").4, Some(10));
    assert_eq!(find("*.wild", "A").2, "192.0.2.9");
    assert_eq!(find("", "CAA").2, "0 issue \"letsencrypt.org\"");
    // The system records are Candor's, not the file's.
    let all = all_records(&s, a, "example.com");
    assert!(
        all[0]
            .content
            .starts_with("ns1.candor.test admin.candor.test ")
    );
    assert_eq!(
        all.iter()
            .filter(|r| r.rtype == "NS" && r.system_record)
            .count(),
        2
    );

    let changes = s.changes(a, "example.com", serial).unwrap();
    assert_eq!(changes.iter().filter(|c| c.action == "delete").count(), 1);
    assert_eq!(changes.iter().filter(|c| c.action == "create").count(), 18);
    let log = s.audit_log(a, 1, 1).unwrap();
    assert_eq!(log.items[0].action, "zone.import");
    assert_eq!(log.items[0].detail, "imported 18 records, removed 1");
}

#[test]
fn import_is_all_or_nothing_with_line_numbers() {
    let (s, a) = store_with_zone();
    s.create_record(a, "example.com", &input("keep", "A", "192.0.2.1"), &actor())
        .unwrap();
    let before = all_records(&s, a, "example.com");
    let serial = s.zone(a, "example.com").unwrap().serial;
    let import = |text: &str| {
        invalid(s.import_zone_file(a, "example.com", text.as_bytes(), &actor(), &mut |_| {}))
    };
    let messages = |errors: Vec<FieldError>| -> Vec<String> {
        assert!(errors.iter().all(|e| e.field == "zone_file"));
        errors.into_iter().map(|e| e.message).collect()
    };
    assert_eq!(
        messages(import(
            "$TTL 3600\nok A 192.0.2.1\nbad A 192.0.2.256\nx.other.org. A 192.0.2.1\n\
             short 30 A 192.0.2.1\nk RRSIG A 13 3 3600 20261231000000 20261201000000 1 example.com. AAAA\nsub SOA a b 1 2 3 4 5\n"
        )),
        [
            "example.com.zone:3: bad IPv4 address \"192.0.2.256\"",
            "example.com.zone:4: x.other.org. is outside the zone example.com.",
            "example.com.zone:5: TTL 30 must be between 60 and 2592000",
            "example.com.zone:6: RRSIG records are made by DNSSEC signing, not stored: remove \
             them (Candor signs zones itself)",
            "example.com.zone:7: SOA records are only allowed at the zone apex",
        ]
    );
    assert_eq!(
        messages(import(
            "$TTL 3600\nwww A 192.0.2.1\nwww CNAME x.example.net.\n"
        )),
        ["example.com.zone:3: CNAME beside other data at www.example.com."]
    );
    let include = import("$INCLUDE /etc/passwd\n");
    assert_eq!(include.len(), 1);
    assert!(
        include[0].message.starts_with("example.com.zone:1: "),
        "{include:?}"
    );
    // Nothing changed.
    assert_eq!(all_records(&s, a, "example.com"), before);
    assert_eq!(s.zone(a, "example.com").unwrap().serial, serial);
}

#[test]
fn import_reports_progress_and_skips_repeated_records() {
    let (s, a) = store_with_zone();
    let mut text = String::from("$TTL 300\n");
    for i in 0..25_000 {
        text.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256));
    }
    text.push_str("h0 A 10.0.0.0\n");
    let mut calls = Vec::new();
    let (summary, change) = s
        .import_zone_file(a, "example.com", text.as_bytes(), &actor(), &mut |n| {
            calls.push(n)
        })
        .unwrap();
    assert_eq!(calls, [10_000, 20_000]);
    assert_eq!(summary.records, 25_000);
    assert_eq!(change.compiled.unwrap().record_count(), 25_003);
    let page = s.records(a, "example.com", &rq()).unwrap();
    assert_eq!(page.total_entries, 25_003);
    // Importing again replaces them all.
    let (summary, _) = s
        .import_zone_file(
            a,
            "example.com",
            b"$TTL 60\nwww A 192.0.2.1\n",
            &actor(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary,
        crate::ImportSummary {
            records: 1,
            removed: 25_000
        }
    );
}

/// A zone with one record of each supported type, some awkward.
fn populated() -> (Store, i64) {
    let (s, a) = store_with_zone();
    s.import_zone_file(a, "example.com", FILE.as_bytes(), &actor(), &mut |_| {})
        .unwrap();
    let extra = [
        RecordInput {
            priority: Some(5),
            ..input("m2", "MX", "mx.example.net")
        },
        input("long2", "TXT", &"y".repeat(300)),
        input("esc", "TXT", "tab\there; \"quoted\" \\ back"),
        input(
            "naptr",
            "NAPTR",
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        ),
        input("_443._tcp", "TLSA", &format!("3 1 1 {}", "ab".repeat(32))),
        input("sub", "DS", &format!("12345 13 2 {}", "cd".repeat(32))),
        input("svcb", "SVCB", "1 svc.example.net. port=8443"),
        input("spf", "SPF", "\"v=spf1 -all\""),
    ];
    for inp in extra {
        s.create_record(a, "example.com", &inp, &actor())
            .unwrap_or_else(|e| panic!("{inp:?}: {e}"));
    }
    let (rec, _) = s
        .create_record(a, "example.com", &input("ttl", "A", "192.0.2.77"), &actor())
        .unwrap();
    s.update_record(
        a,
        "example.com",
        rec.id,
        &RecordPatch {
            ttl: Some(86_400),
            ..RecordPatch::default()
        },
        &actor(),
    )
    .unwrap();
    (s, a)
}

#[test]
fn export_then_import_gives_the_same_records() {
    let (s, a) = populated();
    let before = user_records(&s, a, "example.com");
    assert_eq!(before.len(), 27);
    let text = s.export_zone_file(a, "example.com").unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "$ORIGIN example.com.");
    assert!(
        lines[2].starts_with("example.com.\t3600\tIN\tSOA\tns1.candor.test. admin.candor.test. ")
    );
    assert_eq!(lines[3], "example.com.\t3600\tIN\tNS\tns1.candor.test.");
    assert_eq!(lines[4], "example.com.\t3600\tIN\tNS\tns2.candor.test.");

    // Into the same zone, and into a fresh store.
    let (summary, _) = s
        .import_zone_file(a, "example.com", text.as_bytes(), &actor(), &mut |_| {})
        .unwrap();
    assert_eq!(summary.records, 27);
    assert_eq!(user_records(&s, a, "example.com"), before);
    let (fresh, b) = store_with_zone();
    fresh
        .import_zone_file(b, "example.com", text.as_bytes(), &actor(), &mut |_| {})
        .unwrap();
    assert_eq!(user_records(&fresh, b, "example.com"), before);
    // The second export differs only in the serial.
    let again = fresh.export_zone_file(b, "example.com").unwrap();
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.contains("SOA") && !l.starts_with(';'))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&again), strip(&text));
}

/// Finds a program in `PATH`.
fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Checks a zone file with Knot: `kzonecheck` where installed, else
/// `knotc zone-check` (Debian's knot package has no kzonecheck) with a
/// throwaway configuration. Returns the tool's output on failure, or
/// `None` when Knot is missing and CANDOR_SKIP_KNOT=1.
fn knot_check(dir: &Path, origin: &str, file: &Path) -> Option<Result<(), String>> {
    let output = if let Some(kzonecheck) = find_program("kzonecheck") {
        Command::new(kzonecheck)
            .arg("-o")
            .arg(origin)
            .arg(file)
            .output()
    } else if let Some(knotc) = find_program("knotc") {
        let conf = dir.join("knot.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "server:\n    rundir: \"{d}\"\n\
                 database:\n    storage: \"{d}\"\n\
                 template:\n  - id: default\n    storage: \"{d}\"\n    semantic-checks: on\n\
                 zone:\n  - domain: {origin}\n    file: \"{}\"\n",
                file.display()
            ),
        )
        .unwrap();
        Command::new(knotc)
            .arg("-c")
            .arg(&conf)
            .arg("zone-check")
            .arg(origin)
            .output()
    } else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("knot check skipped: Knot is not installed (CANDOR_SKIP_KNOT=1)");
            return None;
        }
        panic!(
            "neither kzonecheck nor knotc found: install Knot (apt-get install knot), \
             or set CANDOR_SKIP_KNOT=1 to skip this check"
        );
    };
    let out = output.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // knotc reports problems as "error: ..." or "warning: ..." lines.
    let complaint = text.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("error") || l.contains("warning")
    });
    Some(if out.status.success() && !complaint {
        Ok(())
    } else {
        Err(text)
    })
}

#[test]
fn knot_accepts_the_export() {
    let (s, a) = populated();
    let dir = TempDir::new("knot");
    std::fs::create_dir_all(dir.path()).unwrap();
    let path = dir.path().join("example.com.zone");
    std::fs::write(&path, s.export_zone_file(a, "example.com").unwrap()).unwrap();
    if let Some(result) = knot_check(dir.path(), "example.com.", &path) {
        result.unwrap_or_else(|e| panic!("Knot refuses the export:\n{e}"));
    }
    // The check itself does see errors.
    std::fs::write(
        &path,
        "$ORIGIN example.com.\n@ 3600 IN SOA a. b. 1 2 3 4 5\n@ 3600 IN NS a.\nw 60 IN CNAME x.\nw 60 IN A 192.0.2.1\n",
    )
    .unwrap();
    if let Some(result) = knot_check(dir.path(), "example.com.", &path) {
        assert!(result.is_err(), "Knot accepted a CNAME beside an A record");
    }
}

#[test]
fn a_failed_import_into_a_new_zone_creates_nothing() {
    let s = store();
    let a = s.create_account("new@example.org").unwrap().id;
    let bad = "$ORIGIN fresh.example.\nwww 3600 IN A 192.0.2.1\nbad 3600 IN A 300.1.1.1\n";
    match s.import_zone_file_creating(
        a,
        "fresh.example",
        ZoneText::Upload(bad.as_bytes()),
        &actor(),
        &mut |_| {},
    ) {
        Err(StoreError::Invalid(e)) => assert!(e[0].message.contains(":3:"), "{e:?}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        s.zone(a, "fresh.example"),
        Err(StoreError::NotFound("zone"))
    );
    assert!(s.zone_versions().unwrap().is_empty());
    // The same file, corrected, creates the zone with its records.
    let good = bad.replace("300.1.1.1", "192.0.2.3");
    let (summary, change) = s
        .import_zone_file_creating(
            a,
            "fresh.example",
            ZoneText::Upload(good.as_bytes()),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(summary.records, 2);
    assert_eq!(change.zone.name, "fresh.example");
    // Without creation, a missing zone is NotFound and stays missing.
    assert_eq!(
        s.import_zone_file(a, "other.example", good.as_bytes(), &actor(), &mut |_| {})
            .map(|_| ()),
        Err(StoreError::NotFound("zone"))
    );
}

/// Importing a zone file into a signed zone gives a signed zone to serve
/// (the API publishes what the import returns): every RRset of the new
/// records signed, the NSEC chain over the new names.
#[test]
fn import_into_a_signed_zone_is_signed() {
    let (s, a) = store_with_zone();
    s.enable_dnssec(
        a,
        "example.com",
        candor_dnssec::Algorithm::EcdsaP256Sha256,
        &actor(),
    )
    .unwrap();
    let (_, change) = s
        .import_zone_file(a, "example.com", FILE.as_bytes(), &actor(), &mut |_| {})
        .unwrap();
    let compiled = change.compiled.unwrap();
    assert!(compiled.signed().is_some(), "served unsigned");
    let www = Name::from_text("www.example.com.", None).unwrap();
    assert!(
        compiled
            .records()
            .any(|r| r.rtype == candor_wire::Rtype::RRSIG && r.owner == www.as_wire()),
        "www has no RRSIG"
    );
}

/// A zone file of `hosts` A records (`h0` … at 192.0.2.x), with host
/// `changed` at another address and `extra` more names.
fn hosts_file(hosts: u32, changed: u32, extra: &[&str]) -> String {
    let mut text = String::from("$ORIGIN example.com.\n$TTL 3600\n");
    for i in 0..hosts {
        let last = if i == changed { 250 } else { i };
        text.push_str(&format!("h{i} A 192.0.2.{last}\n"));
    }
    for name in extra {
        text.push_str(&format!("{name} TXT \"added\"\n"));
    }
    text
}

/// Re-importing a file that changes a few records of a signed zone keeps
/// the records it repeats (ids included), journals only the difference,
/// and signs only the changed names (the unchanged names' RRSIGs are the
/// same bytes as before; the new name is signed and in the NSEC chain,
/// the removed one is gone).
#[test]
fn reimport_into_a_signed_zone_signs_only_what_changed() {
    let (s, a) = store_with_zone();
    s.import_zone_file(
        a,
        "example.com",
        hosts_file(40, 99, &["gone"]).as_bytes(),
        &actor(),
        &mut |_| {},
    )
    .unwrap();
    let (_, enabled) = s
        .enable_dnssec(
            a,
            "example.com",
            candor_dnssec::Algorithm::EcdsaP256Sha256,
            &actor(),
        )
        .unwrap();
    let before = enabled.compiled.unwrap();
    let id_of = |name: &str| {
        all_records(&s, a, "example.com")
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.id)
    };
    let kept_id = id_of("h1").unwrap();
    // Let a second pass, so new signatures would differ in inception.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (summary, change) = s
        .import_zone_file(
            a,
            "example.com",
            hosts_file(40, 7, &["fresh"]).as_bytes(),
            &actor(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        summary,
        crate::ImportSummary {
            records: 41,
            removed: 2
        }
    );
    assert_eq!(
        id_of("h1"),
        Some(kept_id),
        "an unchanged record keeps its id"
    );
    let after = change.compiled.unwrap();
    assert!(after.signed().is_some());
    let sigs = |z: &candor_zone::Zone, owner: &str| -> Vec<Vec<u8>> {
        let owner = n(owner);
        z.records()
            .filter(|r| r.rtype == candor_wire::Rtype::RRSIG && r.owner == owner.as_wire())
            .map(|r| r.rdata.to_vec())
            .collect()
    };
    assert!(!sigs(&before, "h1.example.com.").is_empty());
    assert_eq!(
        sigs(&before, "h1.example.com."),
        sigs(&after, "h1.example.com."),
        "h1 was signed again: the import signed in full"
    );
    assert_ne!(
        sigs(&before, "h7.example.com."),
        sigs(&after, "h7.example.com.")
    );
    assert!(!sigs(&after, "fresh.example.com.").is_empty());
    assert!(sigs(&after, "gone.example.com.").is_empty());
    let nsec_to_fresh = after.records().any(|r| {
        r.rtype == candor_wire::Rtype::NSEC
            && r.rdata.starts_with(n("fresh.example.com.").as_wire())
    });
    assert!(nsec_to_fresh, "fresh is not in the NSEC chain");
    // The journal holds the difference: h7 replaced, gone removed, fresh
    // added.
    let serial = after.serial();
    let entries: Vec<(String, String)> = s
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT action, name FROM changes WHERE serial = ?1 ORDER BY action, name",
            )?;
            let rows = stmt
                .query_map([serial], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .unwrap();
    let entries: Vec<(&str, &str)> = entries
        .iter()
        .map(|(a, n)| (a.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("create", "fresh"),
            ("create", "h7"),
            ("delete", "gone"),
            ("delete", "h7")
        ]
    );
}
