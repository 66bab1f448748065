//! Property tests on pseudo-random input: nothing panics, everything the
//! parser produces validates, and valid RDATA round-trips through text.

use std::path::Path;

use candor_wire::{Name, Rtype};

use super::{check_record, origin};
use crate::{ParseOptions, parse_bytes, rdata_from_text, rdata_to_text, validate_rdata};

/// A small xorshift64* generator: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (which must not be 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One element of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len().max(1)))
    }
}

/// Pieces of zone files, valid and not.
const FRAGMENTS: &[&str] = &[
    "$ORIGIN",
    "$TTL",
    "$INCLUDE",
    "$GENERATE",
    "@",
    "www",
    "example.com.",
    "sub",
    " ",
    " ",
    "\t",
    "\n",
    "\n",
    "\r\n",
    "(",
    ")",
    ";",
    "; comment\n",
    "\"",
    "\\",
    "\\#",
    "IN",
    "CH",
    "CLASS1",
    "3600",
    "1h30m",
    "4294967296",
    "A",
    "AAAA",
    "NS",
    "MX",
    "TXT",
    "SOA",
    "SRV",
    "CAA",
    "NAPTR",
    "SVCB",
    "HTTPS",
    "LOC",
    "NSEC",
    "NSEC3",
    "RRSIG",
    "DS",
    "DNSKEY",
    "TLSA",
    "SSHFP",
    "URI",
    "HINFO",
    "TYPE65534",
    "ANY",
    "OPT",
    "192.0.2.1",
    "::1",
    "2001:db8::192.0.2.1",
    "10",
    "0",
    "65535",
    "alpn=h2",
    "alpn=\"h2,h3\"",
    "=",
    ",",
    "key65000=",
    "ipv4hint=",
    "mandatory=alpn",
    "port=443",
    "ech=AA==",
    "AA==",
    "abcdef",
    "ABCDEF0123",
    "N",
    "S",
    "E",
    "W",
    "1.5m",
    "-3m",
    "42",
    "59.999",
    ".",
    "..",
    "\\065",
    "\\999",
    "\\.",
    "\u{ff}",
    "\x00",
    "issue",
    "\"text\"",
    "\"semi;colon\"",
    "-",
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
    "20030322173103",
    "20240101",
    "APL",
    "EUI48",
    "EUI64",
    "IPSECKEY",
    "CERT",
    "NID",
    "1:192.0.2.0/24",
    "!2:::/0",
    "00-00-5e-00-53-2a",
    "0014:4fff:ff20:ee64",
];

/// Zone-file-like byte strings never make the parser panic, and every
/// record it hands out validates and round-trips.
#[test]
fn random_zone_text_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let opts = ParseOptions {
        max_errors: 1000,
        regions: false,
        ..ParseOptions::new(origin())
    };
    let mut records = 0usize;
    for _ in 0..20_000 {
        let text = if rng.below(2) == 0 {
            fragment_soup(&mut rng)
        } else {
            record_lines(&mut rng)
        };
        let _ = parse_bytes(&text, Path::new("fuzz"), &opts, &mut |record| {
            check_record(&record);
            records += 1;
        });
        let _ = rdata_from_text(Rtype::HTTPS, &String::from_utf8_lossy(&text), &origin());
    }
    // The fragments are meant to form some valid records too.
    assert!(records > 5_000, "only {records} records parsed");
}

/// Up to 40 random fragments and bytes.
fn fragment_soup(rng: &mut Rng) -> Vec<u8> {
    let mut text = Vec::new();
    for _ in 0..1 + rng.below(40) {
        if rng.below(10) == 0 {
            text.push(rng.next() as u8);
        } else {
            let fragment = rng.pick(FRAGMENTS).copied().unwrap_or_default();
            text.extend_from_slice(fragment.as_bytes());
        }
        if rng.below(3) == 0 {
            text.push(b' ');
        }
    }
    text
}

/// A few lines shaped like records, built from the seeds with some words
/// replaced or dropped.
fn record_lines(rng: &mut Rng) -> Vec<u8> {
    const OWNERS: &[&str] = &[
        "@",
        "www",
        "a.b",
        "x.example.com.",
        "",
        "*.w",
        "$TTL 60",
        "$ORIGIN o.",
    ];
    const TTLS: &[&str] = &["", "", "60 ", "1h ", "IN ", "60 IN ", "IN 1d "];
    let mut text = String::new();
    for _ in 0..1 + rng.below(6) {
        text.push_str(rng.pick(OWNERS).copied().unwrap_or_default());
        text.push(' ');
        text.push_str(rng.pick(TTLS).copied().unwrap_or_default());
        let (rtype, seed) = rng.pick(SEEDS).copied().unwrap_or_default();
        text.push_str(rtype);
        text.push(' ');
        let paren = rng.below(8) == 0;
        if paren {
            text.push_str("( ");
        }
        for word in seed.split(' ') {
            match rng.below(16) {
                0 => {}
                1 => text.push_str(rng.pick(FRAGMENTS).copied().unwrap_or_default()),
                2 => text.push('\n'),
                _ => text.push_str(word),
            }
            text.push(' ');
        }
        if paren {
            text.push_str("\n)");
        }
        text.push_str(if rng.below(4) == 0 { "\r\n" } else { "\n" });
    }
    text.into_bytes()
}

/// Valid RDATA of many types, as seeds for mutation.
const SEEDS: &[(&str, &str)] = &[
    ("A", "192.0.2.1"),
    ("AAAA", "2001:db8::1"),
    ("NS", "ns1.example.com."),
    ("SOA", "ns. h. 1 2 3 4 5"),
    ("MX", "10 mx.example.com."),
    ("TXT", "\"abc\" \"\" \"d\""),
    ("HINFO", "a b"),
    ("RP", "a. b."),
    ("AFSDB", "1 a."),
    ("SRV", "1 2 3 t."),
    ("NAPTR", "1 2 \"a\" \"b\" \"c\" r."),
    ("KX", "1 k."),
    ("CAA", "0 issue \"ca\""),
    ("SSHFP", "1 3 AABB"),
    ("TLSA", "3 0 0 AABBCC"),
    ("DS", "1 8 3 AABB"),
    ("DNSKEY", "256 3 8 AQID"),
    (
        "RRSIG",
        "A 8 2 60 20240101000000 20230101000000 1 example. AQID",
    ),
    ("NSEC", "a. A NS TYPE1234 TYPE65535"),
    ("NSEC3", "1 0 1 AB 2T7B4G4V A"),
    ("NSEC3PARAM", "1 0 1 AB"),
    ("ZONEMD", "1 1 240 AABB"),
    ("CSYNC", "1 3 A NS"),
    ("OPENPGPKEY", "AQID"),
    ("URI", "1 2 \"u\""),
    (
        "SVCB",
        "1 t. mandatory=alpn alpn=h2,h3 no-default-alpn port=1 ipv4hint=1.2.3.4 ech=AQID ipv6hint=::1 dohpath=/q ohttp key99=x",
    ),
    ("HTTPS", "0 ."),
    ("LOC", "1 2 3.5 N 4 5 6 W 7m 8m 9m 10m"),
    ("MINFO", "a. b."),
    ("RT", "1 r."),
    ("KEY", "256 3 8 AQID"),
    ("CERT", "PGP 1 8 AQID"),
    ("APL", "1:192.0.2.0/24 !2:2001:db8::/32"),
    ("IPSECKEY", "10 1 2 192.0.2.38 AQID"),
    ("IPSECKEY", "10 3 0 gw."),
    ("NID", "10 0014:4fff:ff20:ee64"),
    ("L32", "10 10.1.2.0"),
    ("L64", "10 2001:0db8:1140:1000"),
    ("LP", "10 l."),
    ("EUI48", "00-00-5e-00-53-2a"),
    ("EUI64", "00-00-5e-ef-10-00-00-2a"),
    ("TYPE65534", "\\# 2 ABCD"),
];

/// Mutated and random wire RDATA: formatting never panics, and RDATA that
/// validates formats in a text that reads back to the same bytes.
#[test]
fn random_wire_round_trips() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut valid = 0usize;
    for &(mnemonic, text) in SEEDS {
        let Some(rtype) = Rtype::from_mnemonic(mnemonic) else {
            panic!("bad seed type {mnemonic}");
        };
        let seed = rdata_from_text(rtype, text, &Name::root())
            .unwrap_or_else(|err| panic!("bad seed {mnemonic} {text}: {err}"));
        for _ in 0..2_000 {
            let mut wire = seed.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut wire);
            }
            let formatted = rdata_to_text(rtype, &wire);
            if validate_rdata(rtype, &wire).is_ok() {
                valid += 1;
                let again = rdata_from_text(rtype, &formatted, &Name::root());
                assert_eq!(
                    again.as_ref(),
                    Ok(&wire),
                    "{rtype} {formatted} does not round-trip"
                );
            } else {
                assert!(
                    formatted.starts_with("\\#"),
                    "invalid {rtype} {wire:?} formats as {formatted}"
                );
            }
        }
    }
    assert!(valid > 10_000, "only {valid} mutations were valid");
}

/// Changes `wire` a little: a byte, its length, or a run of random bytes.
fn mutate(rng: &mut Rng, wire: &mut Vec<u8>) {
    let len = wire.len();
    match rng.below(6) {
        0 if len > 0 => {
            let i = rng.below(len);
            if let Some(b) = wire.get_mut(i) {
                *b = rng.next() as u8;
            }
        }
        1 if len > 0 => {
            let i = rng.below(len);
            if let Some(b) = wire.get_mut(i) {
                *b ^= 1 << rng.below(8);
            }
        }
        2 => wire.truncate(rng.below(len + 1)),
        3 => wire.push(rng.next() as u8),
        4 => {
            let at = rng.below(len + 1);
            let extra: Vec<u8> = (0..rng.below(5)).map(|_| rng.next() as u8).collect();
            wire.splice(at..at, extra);
        }
        _ => {}
    }
}

/// Random text for every type: reading never panics, and whatever reads
/// validates and round-trips.
#[test]
fn random_rdata_text_is_consistent() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for &(mnemonic, seed) in SEEDS {
        let Some(rtype) = Rtype::from_mnemonic(mnemonic) else {
            panic!("bad seed type {mnemonic}");
        };
        let words: Vec<&str> = seed.split(' ').collect();
        for _ in 0..500 {
            let mut text = String::new();
            for _ in 0..rng.below(12) {
                let word = if rng.below(2) == 0 {
                    rng.pick(&words).copied().unwrap_or_default()
                } else {
                    rng.pick(FRAGMENTS).copied().unwrap_or_default()
                };
                text.push_str(word);
                text.push(' ');
            }
            if let Ok(wire) = rdata_from_text(rtype, &text, &origin()) {
                if let Err(err) = validate_rdata(rtype, &wire) {
                    panic!("{rtype} {text} reads to invalid RDATA: {err}");
                }
                let formatted = rdata_to_text(rtype, &wire);
                let again = rdata_from_text(rtype, &formatted, &Name::root());
                assert_eq!(
                    again.as_ref(),
                    Ok(&wire),
                    "{rtype} {formatted} does not round-trip"
                );
            }
        }
    }
}
