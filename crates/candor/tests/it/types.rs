//! Every record type Knot DNS 3.2 reads in presentation format, in one
//! zone file, plus a type that only has the RFC 3597 generic form.
//! `candor zone check` accepts the file; Knot and candor, both serving it,
//! answer a TCP query for each record with the same rcode and the same
//! answer section, byte for byte on the wire, so names inside RDATA are
//! also compressed alike (Knot compresses those of NS, CNAME, SOA, PTR,
//! MINFO and MX, RFC 3597 §4). A difference an RFC asks for is listed in
//! [`KNOWN`] with its reason.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use candor_wire::decode::{Message, decode_message};
use candor_wire::{Name, Rtype};
use candor_zonefile::{KNOT_TYPES, rdata_from_text};

use crate::support::{Candor, KnotServer, Query, TempDir, knotd_path, render_message, tcp};

/// The zone's origin, without the final dot.
const ORIGIN: &str = "types.test";

/// One record of every type Knot 3.2 reads, and one of a private type:
/// mnemonic and RDATA. The owner is the mnemonic in lower case, except for
/// SOA and NS, which sit at the apex.
///
/// Names in RDATA are in lower case but one: Knot lower-cases the names in
/// the RDATA of the types RFC 4034 §6.2 lists (NS, MX, RT, MINFO, ...) when
/// it loads a zone, while candor keeps the case of the zone file, and
/// RFC 4343 lets both be. The LP target, of a type not on that list, is in
/// mixed case: both keep it.
const RECORDS: &[(&str, &str)] = &[
    ("SOA", "ns1 hostmaster 2024010101 7200 900 1209600 300"),
    ("NS", "ns1"),
    ("A", "192.0.2.1"),
    ("CNAME", "www.example.net."),
    ("PTR", "host.example.net."),
    ("HINFO", "\"PC\" \"Linux\""),
    ("MINFO", "owner-list errors.types.test."),
    ("MX", "10 mail"),
    ("TXT", "\"v=spf1 -all\" \"second string\""),
    ("RP", "admin.example.com. txt"),
    ("AFSDB", "1 afs"),
    ("RT", "10 relay"),
    ("KEY", "256 3 8 AQPSKmynfzW4kyBv015MUG2DeIQ3"),
    ("AAAA", "2001:db8::1"),
    ("LOC", "42 21 54 N 71 06 18 W -24m 30m"),
    ("SRV", "0 5 5060 sip"),
    ("NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp"),
    ("KX", "10 kx"),
    ("CERT", "PGP 0 0 AQPSKmynfzW4kyBv015MUG2DeIQ3"),
    ("DNAME", "example.org."),
    ("APL", "1:192.0.2.0/24 !2:2001:db8::/32 1:0.0.0.0/0"),
    ("DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
    ("SSHFP", "1 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
    (
        "IPSECKEY",
        "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
    ),
    (
        "RRSIG",
        "A 8 2 3600 20300101000000 20200101000000 2642 types.test. AQID",
    ),
    ("NSEC", "next A NS RRSIG NSEC"),
    ("DNSKEY", "257 3 8 AQPSKmynfzW4kyBv015MUG2DeIQ3"),
    ("DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="),
    (
        "NSEC3",
        "1 1 12 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
    ),
    ("NSEC3PARAM", "1 0 10 AABB"),
    ("TLSA", "3 0 0 308201"),
    ("SMIMEA", "3 0 0 308201"),
    ("CDS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
    ("CDNSKEY", "257 3 8 AQPSKmynfzW4kyBv015MUG2DeIQ3"),
    ("OPENPGPKEY", "AQPSKmynfzW4kyBv015MUG2DeIQ3"),
    ("CSYNC", "66 3 A NS AAAA"),
    ("ZONEMD", "2018031900 1 241 616263"),
    ("SVCB", "1 svc alpn=h2 port=8443"),
    ("HTTPS", "1 . alpn=h3,h2 ipv4hint=192.0.2.1"),
    ("SPF", "\"v=spf1 -all\""),
    ("NID", "10 0014:4fff:ff20:ee64"),
    ("L32", "10 10.1.2.0"),
    ("L64", "10 2001:0db8:1140:1000"),
    ("LP", "10 L64-Subnet1"),
    ("EUI48", "00-00-5e-00-53-2a"),
    ("EUI64", "00-00-5e-ef-10-00-00-2a"),
    ("URI", "10 1 \"ftp://ftp1.example.com/public\""),
    ("CAA", "0 issue \"ca.example.net\""),
    ("TYPE65000", "\\# 3 abcdef"),
];

/// Types whose answers differ from Knot's for a reason an RFC gives: the
/// reason. For these, candor's answer must still be the zone file's record,
/// or Knot's answer.
const KNOWN: &[(Rtype, &str)] = &[(
    Rtype::NSEC3,
    "Knot keeps NSEC3 records out of the name tree and answers NXDOMAIN for \
     an NSEC3 owner name that has nothing else, as RFC 5155 §7.2.9 asks; \
     candor serves the record",
)];

/// The owner of the record of `mnemonic` (absolute, without the final dot).
fn owner(mnemonic: &str) -> String {
    match mnemonic {
        "SOA" | "NS" => ORIGIN.to_owned(),
        _ => format!("{}.{ORIGIN}", mnemonic.to_ascii_lowercase()),
    }
}

/// The record type of `mnemonic`; panics on a mnemonic the test does not
/// know, which is a mistake in [`RECORDS`].
fn type_of(mnemonic: &str) -> Rtype {
    Rtype::from_mnemonic(mnemonic).unwrap_or_else(|| panic!("bad type in RECORDS: {mnemonic}"))
}

/// Writes the zone file into `dir` as `<origin>.zone` and returns its path.
fn write_zone(dir: &TempDir) -> PathBuf {
    let mut text = format!("$ORIGIN {ORIGIN}.\n$TTL 3600\nns1 A 192.0.2.53\n");
    for &(mnemonic, rdata) in RECORDS {
        let _ = writeln!(text, "{}. IN {mnemonic} {rdata}", owner(mnemonic));
    }
    dir.write(&format!("{ORIGIN}.zone"), &text)
}

/// The answer section as it is on the wire, or `None` if the message is
/// too short for what its header says.
fn answer_section(msg: &[u8]) -> Option<&[u8]> {
    let count = |at: usize| Some(u16::from_be_bytes(msg.get(at..at + 2)?.try_into().ok()?));
    let questions = count(4)?;
    let answers = count(6)?;
    let mut pos = 12;
    for _ in 0..questions {
        pos = skip_name(msg, pos)? + 4;
    }
    let start = pos;
    for _ in 0..answers {
        pos = skip_name(msg, pos)? + 8;
        pos += 2 + usize::from(count(pos)?);
    }
    msg.get(start..pos)
}

/// The offset after the possibly compressed name at `pos`.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            0xc0..=0xff => return Some(pos + 2),
            _ => pos += 1 + usize::from(len),
        }
    }
}

/// One query over TCP: the raw response and its decoding.
fn ask_tcp(addr: std::net::SocketAddr, wire: &[u8]) -> Option<(Vec<u8>, Message)> {
    let raw = tcp(addr, wire).ok()?;
    let msg = decode_message(&raw).ok()?;
    Some((raw, msg))
}

/// `candor zone check` accepts the file of every type, and the file holds
/// one record of every type Knot reads.
#[test]
fn zone_check_accepts_every_knot_type_and_says_which_the_store_refuses() {
    for &rtype in KNOT_TYPES {
        assert!(
            RECORDS
                .iter()
                .any(|&(m, _)| Rtype::from_mnemonic(m) == Some(rtype)),
            "RECORDS has no {rtype} record"
        );
    }
    let dir = TempDir::new("types-check");
    let file = write_zone(&dir);
    // Served from files as written: every type.
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["zone", "check", "--for", "files"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run candor zone check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "candor zone check refused the zone of every type:\n{stderr}"
    );
    let records = RECORDS.len() + 1;
    assert!(
        stderr.contains(&format!("{records} records")),
        "candor zone check did not count {records} records:\n{stderr}"
    );
    // Stored: every type but those DNSSEC signing makes, each refused with
    // the reason.
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(["zone", "check", "--for", "import"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run candor zone check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("made by DNSSEC signing"))
        .collect();
    assert_eq!(
        refused.len(),
        4,
        "RRSIG, NSEC, NSEC3, NSEC3PARAM:\n{stderr}"
    );
    assert!(
        stderr.contains("refused by candor zone import") && stderr.contains("4 problem(s)"),
        "{stderr}"
    );
}

/// Knot and candor serve the zone of every type; a TCP query for each
/// record gets the same rcode and the same answer section from both.
#[test]
fn every_knot_type_is_answered_as_knot_does() {
    let Some(knotd) = knotd_path() else {
        if std::env::var("CANDOR_SKIP_KNOT").is_ok_and(|v| v == "1") {
            eprintln!("types: skipped, knotd is not installed (CANDOR_SKIP_KNOT=1)");
            return;
        }
        panic!(
            "knotd not found: the types test needs Knot DNS. Install it with \
             `apt-get install knot knot-dnsutils`, or set CANDOR_SKIP_KNOT=1 to skip this test."
        );
    };
    let dir = TempDir::new("types-zones");
    let file = write_zone(&dir);
    let knot = KnotServer::start(&knotd, &[(ORIGIN.to_owned(), file)]);
    let candor = Candor::start(dir.path(), &[], ORIGIN);
    let origin = Name::from_text(&format!("{ORIGIN}."), None).expect("origin");

    let mut failures = String::new();
    for &(mnemonic, rdata) in RECORDS {
        let rtype = type_of(mnemonic);
        let owner = owner(mnemonic);
        let query = Query::new(&owner, rtype);
        let wire = query.to_wire();
        let from_knot = ask_tcp(knot.addr(), &wire);
        let from_candor = ask_tcp(candor.addr(), &wire);
        let report = |failures: &mut String, what: &str| {
            let _ = writeln!(
                failures,
                "{} ({mnemonic} {rdata}): {what}\n  knot:\n{}  candor:\n{}",
                query.describe(),
                render_message(from_knot.as_ref().map(|(_, m)| m)),
                render_message(from_candor.as_ref().map(|(_, m)| m)),
            );
        };
        let (Some((knot_raw, knot_msg)), Some((candor_raw, candor_msg))) =
            (&from_knot, &from_candor)
        else {
            report(&mut failures, "no response");
            continue;
        };
        let expected = rdata_from_text(rtype, rdata, &origin)
            .unwrap_or_else(|e| panic!("bad RDATA in RECORDS: {mnemonic} {rdata}: {e}"));
        let serves_file = candor_msg.rcode() == 0
            && candor_msg.answer.len() == 1
            && candor_msg
                .answer
                .iter()
                .all(|r| r.rtype == rtype && r.rdata == expected);
        let (knot_wire, candor_wire) = (answer_section(knot_raw), answer_section(candor_raw));
        let difference = if knot_msg.rcode() != candor_msg.rcode() {
            Some("different rcodes".to_owned())
        } else if knot_msg.answer != candor_msg.answer {
            Some("different answer records".to_owned())
        } else if knot_wire != candor_wire {
            let hex = |b: Option<&[u8]>| -> String {
                b.unwrap_or_default()
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect()
            };
            Some(format!(
                "the same records, written differently (name compression?):\n  \
                 knot answer section:   {}\n  candor answer section: {}",
                hex(knot_wire),
                hex(candor_wire)
            ))
        } else {
            None
        };
        if let Some((_, why)) = KNOWN.iter().find(|(t, _)| *t == rtype) {
            match difference {
                Some(_) if !serves_file => report(
                    &mut failures,
                    &format!("neither Knot's answer nor the record ({why})"),
                ),
                Some(_) => eprintln!("types: {mnemonic} differs from Knot as expected: {why}"),
                None => {}
            }
            continue;
        }
        if let Some(difference) = difference {
            report(&mut failures, &difference);
        } else if !serves_file {
            report(
                &mut failures,
                "both answer, but not with the record of the zone file",
            );
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
    eprintln!(
        "types: {} of {} records answered byte for byte alike by Knot and candor",
        RECORDS.len() - KNOWN.len(),
        RECORDS.len()
    );
}
