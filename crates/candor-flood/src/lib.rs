//! The pure parts of `candor-flood`, the benchmark load generator: DNS queries
//! written into fixed buffers (a random-subdomain query rewrites only its ID
//! and its first label), a small random generator, the query streams of the
//! legitimate client (`www.z{}.test:1000@2000`), open-loop pacing and the
//! latency summary. The sockets are in `main.rs`.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

/// Length of the random first label of a flood query (`[a-z0-9]`, 36^12
/// names: a run never asks the same name twice in practice).
pub const LABEL_LEN: usize = 12;

/// Offset of the first label's text in a query: the 12-byte header and the
/// label's length byte.
pub const LABEL_AT: usize = 13;

/// The alphabet of random labels.
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// What is wrong with a command-line value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    /// Writes the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// xorshift64*: fast, seeded, good enough for query names and IDs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (a zero seed is replaced, xorshift needs a bit set).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Appends `name` (dotted, with or without the final dot) in wire form.
pub fn push_name(out: &mut Vec<u8>, name: &str) -> Result<(), Invalid> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut total = 1;
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(Invalid(format!(
                    "{name:?}: a label is empty or over 63 bytes"
                )));
            }
            total += label.len() + 1;
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    if total > 255 {
        return Err(Invalid(format!("{name:?}: over 255 bytes in wire form")));
    }
    out.push(0);
    Ok(())
}

/// Whether a query carries an EDNS OPT record, and with which flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edns {
    /// No OPT record.
    Off,
    /// An OPT record (1,232-byte payload), DO clear.
    On,
    /// An OPT record with the DNSSEC OK bit set (RFC 3225): a signed zone
    /// answers with its RRSIGs and NSEC proofs.
    DnssecOk,
}

impl Edns {
    /// From the command line's `--edns` and `--dnssec-ok` (which implies EDNS).
    pub fn from_flags(edns: bool, dnssec_ok: bool) -> Edns {
        match (edns, dnssec_ok) {
            (_, true) => Edns::DnssecOk,
            (true, false) => Edns::On,
            (false, false) => Edns::Off,
        }
    }
}

/// A query for `name` and `qtype` (class IN, RD off), with an EDNS OPT record
/// (1,232-byte payload, DO as `edns` says) unless `edns` is `Off`.
pub fn query(id: u16, name: &str, qtype: u16, edns: Edns) -> Result<Vec<u8>, Invalid> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    let additional = u8::from(edns != Edns::Off);
    out.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, additional]);
    push_name(&mut out, name)?;
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    if edns != Edns::Off {
        // Root owner, type OPT, payload 1232, extended rcode 0, version 0,
        // flags (DO is the top bit), no options.
        let flags = if edns == Edns::DnssecOk { 0x80 } else { 0 };
        out.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, flags, 0, 0, 0]);
    }
    Ok(out)
}

/// The template of a flood query: a `LABEL_LEN`-byte first label under `zone`
/// that starts with `prefix` (the rest rewritten for every packet by
/// `randomize`), type A. A prefix the zone's names share (`h` for hosts
/// `h0`, `h1`, ...) puts the random names next to existing ones, where a
/// signed zone's denial search and the cache work hardest.
pub fn flood_template(zone: &str, prefix: &str, edns: Edns) -> Result<Vec<u8>, Invalid> {
    if prefix.len() >= LABEL_LEN || !prefix.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(Invalid(format!(
            "the prefix {prefix:?} must be shorter than {LABEL_LEN} bytes of [a-z0-9]"
        )));
    }
    let label = format!("{prefix}{}", "a".repeat(LABEL_LEN - prefix.len()));
    let name = format!("{label}.{}", zone.strip_suffix('.').unwrap_or(zone));
    query(0, &name, 1, edns)
}

/// Gives a flood query built by `flood_template` a random ID and first
/// label, keeping the label's first `keep` bytes (the template's prefix)
/// and making the next `digits` random characters decimal digits: with
/// prefix `h` and 5 digits, a name falls between two random hosts of
/// `h0` to `h99999` (`h12345` and `h12346` for `h12345x0q7a9`), so a
/// signed zone's denial reads a random entry of its NSEC chain, as a
/// flood made by someone who walked the chain would.
pub fn randomize(packet: &mut [u8], rng: &mut Rng, keep: usize, digits: usize) {
    let bits = rng.next_u64();
    packet[0..2].copy_from_slice(&(bits as u16).to_be_bytes());
    let mut r = rng.next_u64();
    let from = LABEL_AT + keep.min(LABEL_LEN);
    for (i, byte) in packet[from..LABEL_AT + LABEL_LEN].iter_mut().enumerate() {
        // Fewer than 36^12 < 2^64 outcomes: one draw is enough.
        // A digit is one of the alphabet's last ten.
        let (radix, first) = if i < digits { (10, 26) } else { (36, 0) };
        *byte = ALPHABET[first + (r % radix) as usize];
        r /= radix;
    }
}

/// One stream of the legitimate client: names (a template whose `{}` is
/// replaced by 0000, 0001, ... up to `count`), asked in turn at `rate` a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The text it was parsed from, the stream's label in the report.
    pub label: String,
    /// The names, in the order they are asked.
    pub names: Vec<String>,
    /// Queries a second.
    pub rate: f64,
}

impl Stream {
    /// Parses `TEMPLATE[:COUNT]@RATE`, e.g. `www.z{}.test:1000@2000` or
    /// `www.victim.test@200`.
    pub fn parse(text: &str) -> Result<Stream, Invalid> {
        let (spec, rate) = text
            .rsplit_once('@')
            .ok_or_else(|| Invalid(format!("{text:?}: expected TEMPLATE[:COUNT]@RATE")))?;
        let rate: f64 = rate
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| Invalid(format!("{text:?}: the rate must be a positive number")))?;
        let (template, count) = match spec.rsplit_once(':') {
            Some((t, c)) => (
                t,
                c.parse::<usize>()
                    .ok()
                    .filter(|c| (1..=1_000_000).contains(c))
                    .ok_or_else(|| Invalid(format!("{text:?}: COUNT must be 1 to 1000000")))?,
            ),
            None => (spec, 1),
        };
        if count > 1 && !template.contains("{}") {
            return Err(Invalid(format!(
                "{text:?}: COUNT needs a {{}} in the template"
            )));
        }
        let names: Vec<String> = (0..count)
            .map(|i| template.replace("{}", &format!("{i:04}")))
            .collect();
        for name in &names {
            push_name(&mut Vec::new(), name)?;
        }
        Ok(Stream {
            label: text.to_string(),
            names,
            rate,
        })
    }
}

/// Open-loop pacing: how many packets should have been sent after `elapsed`
/// at `rate` a second (`None` rate: flat out, no limit).
pub fn due(rate: Option<f64>, elapsed: Duration) -> u64 {
    match rate {
        Some(r) => (r * elapsed.as_secs_f64()) as u64,
        None => u64::MAX,
    }
}

/// The latencies of the answered queries of a stream, in a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Queries sent in the measured window.
    pub sent: u64,
    /// Of them, answered (NOERROR, not truncated) within the timeout.
    pub answered: u64,
    /// Median latency of the answered ones, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// The slowest answer, ms.
    pub max_ms: f64,
}

impl Summary {
    /// Summarizes latencies in nanoseconds (sorted here) of `sent` queries.
    pub fn new(sent: u64, mut latencies_ns: Vec<u64>) -> Summary {
        latencies_ns.sort_unstable();
        let pct = |p: f64| -> f64 {
            if latencies_ns.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least p% at or below it.
            let rank = ((p / 100.0) * latencies_ns.len() as f64).ceil() as usize;
            let i = rank.clamp(1, latencies_ns.len()) - 1;
            latencies_ns[i] as f64 / 1e6
        };
        Summary {
            sent,
            answered: latencies_ns.len() as u64,
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            p999_ms: pct(99.9),
            max_ms: pct(100.0),
        }
    }

    /// The answered share of the queries sent.
    pub fn share(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.answered as f64 / self.sent as f64
        }
    }
}

/// What a response says, from its header: the ID, whether it is a NOERROR
/// answer that is not truncated, and the rcode (`None`: not a response).
pub fn read_response(packet: &[u8]) -> Option<(u16, bool, u8)> {
    if packet.len() < 12 || packet[2] & 0x80 == 0 {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let rcode = packet[3] & 0x0F;
    let truncated = packet[2] & 0x02 != 0;
    Some((id, rcode == 0 && !truncated, rcode))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query is what kdig would send for the same question: header, name, type, class, OPT.
    #[test]
    fn query_wire_form() {
        let q = query(0x1234, "www.example.", 28, Edns::On).unwrap();
        let mut want = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
        want.extend_from_slice(b"\x03www\x07example\x00\x00\x1c\x00\x01");
        want.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q, want);
        assert_eq!(query(1, "a.b", 1, Edns::Off).unwrap().len(), 12 + 5 + 4);
    }

    /// With DO the OPT record's flags are 0x8000 (what `kdig +dnssec` sends)
    /// and nothing else differs; `--dnssec-ok` implies EDNS.
    #[test]
    fn dnssec_ok_sets_the_do_bit() {
        let plain = query(0x1234, "www.example.", 28, Edns::On).unwrap();
        let signed = query(0x1234, "www.example.", 28, Edns::DnssecOk).unwrap();
        let flags_at = signed.len() - 4;
        assert_eq!(&signed[flags_at..flags_at + 2], &[0x80, 0]);
        assert_eq!(&plain[flags_at..flags_at + 2], &[0, 0]);
        assert_eq!(signed[..flags_at], plain[..flags_at]);
        assert_eq!(signed[flags_at + 2..], plain[flags_at + 2..]);
        assert_eq!(Edns::from_flags(false, true), Edns::DnssecOk);
        assert_eq!(Edns::from_flags(true, false), Edns::On);
        assert_eq!(Edns::from_flags(false, false), Edns::Off);
        let mut flood = flood_template("victim.test", "", Edns::DnssecOk).unwrap();
        randomize(&mut flood, &mut Rng::new(3), 0, 0);
        let at = flood.len() - 4;
        assert_eq!(flood[at], 0x80);
    }

    /// Bad names are refused with the reason.
    #[test]
    fn bad_names_refused() {
        assert!(
            query(1, "a..b", 1, Edns::Off)
                .unwrap_err()
                .0
                .contains("empty")
        );
        let long = format!("{}.test", "x".repeat(64));
        assert!(query(1, &long, 1, Edns::Off).unwrap_err().0.contains("63"));
        let huge = vec!["x".repeat(60); 5].join(".");
        assert!(query(1, &huge, 1, Edns::Off).unwrap_err().0.contains("255"));
    }

    /// With a prefix and digits, every name starts with the prefix, then
    /// that many digits (each of the ten seen at each place), then the
    /// alphabet.
    #[test]
    fn digits_follow_the_prefix() {
        let mut p = flood_template("victim.test.", "h", Edns::Off).unwrap();
        let mut rng = Rng::new(15);
        let mut seen = [[false; 10]; 5];
        for _ in 0..1_000 {
            randomize(&mut p, &mut rng, 1, 5);
            let label = &p[LABEL_AT..LABEL_AT + LABEL_LEN];
            assert_eq!(label[0], b'h');
            for (place, &d) in label[1..6].iter().enumerate() {
                assert!(d.is_ascii_digit(), "{label:?}");
                seen[place][usize::from(d - b'0')] = true;
            }
            assert!(label[6..].iter().all(|b| ALPHABET.contains(b)));
        }
        assert!(
            seen.iter().flatten().all(|&s| s),
            "every digit at every place"
        );
    }

    /// Every randomized flood query is a distinct name under the zone, in the alphabet.
    #[test]
    fn randomized_names_differ_and_stay_in_the_zone() {
        let mut p = flood_template("victim.test.", "", Edns::Off).unwrap();
        let mut rng = Rng::new(15);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            randomize(&mut p, &mut rng, 0, 0);
            assert_eq!(p[LABEL_AT - 1] as usize, LABEL_LEN);
            assert!(
                p[LABEL_AT..LABEL_AT + LABEL_LEN]
                    .iter()
                    .all(|b| ALPHABET.contains(b))
            );
            assert_eq!(
                &p[LABEL_AT + LABEL_LEN..LABEL_AT + LABEL_LEN + 7],
                b"\x06victim"
            );
            seen.insert(p[LABEL_AT..LABEL_AT + LABEL_LEN].to_vec());
        }
        assert_eq!(seen.len(), 10_000);
        // With a prefix, every label starts with it and the rest still varies.
        let mut p = flood_template("victim.test.", "h0", Edns::Off).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1_000 {
            randomize(&mut p, &mut rng, 2, 0);
            assert_eq!(&p[LABEL_AT..LABEL_AT + 2], b"h0");
            seen.insert(p[LABEL_AT..LABEL_AT + LABEL_LEN].to_vec());
        }
        assert_eq!(seen.len(), 1_000);
        assert!(flood_template("victim.test.", "H", Edns::Off).is_err());
        assert!(flood_template("victim.test.", &"h".repeat(LABEL_LEN), Edns::Off).is_err());
    }

    /// Streams parse with and without a count; bad ones say what is wrong.
    #[test]
    fn streams_parse() {
        let s = Stream::parse("www.z{}.test:3@2000").unwrap();
        assert_eq!(
            s.names,
            ["www.z0000.test", "www.z0001.test", "www.z0002.test"]
        );
        assert_eq!(s.rate, 2000.0);
        assert_eq!(
            Stream::parse("www.victim.test@200").unwrap().names,
            ["www.victim.test"]
        );
        assert!(Stream::parse("www.test").unwrap_err().0.contains("RATE"));
        assert!(
            Stream::parse("www.test@0")
                .unwrap_err()
                .0
                .contains("positive")
        );
        assert!(Stream::parse("www.test:5@10").unwrap_err().0.contains("{}"));
        assert!(
            Stream::parse("w{}.test:0@10")
                .unwrap_err()
                .0
                .contains("COUNT")
        );
    }

    /// Pacing allows rate × elapsed packets, or any number flat out.
    #[test]
    fn pacing() {
        assert_eq!(due(Some(1000.0), Duration::from_millis(1500)), 1500);
        assert_eq!(due(Some(1000.0), Duration::ZERO), 0);
        assert_eq!(due(None, Duration::ZERO), u64::MAX);
    }

    /// Percentiles are nearest-rank over the answered queries; the share counts the lost ones.
    #[test]
    fn summary_percentiles() {
        let s = Summary::new(200, (1..=100).map(|ms| ms * 1_000_000).collect());
        assert_eq!(
            (s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(s.p999_ms, 100.0);
        assert_eq!(s.share(), 0.5);
        let empty = Summary::new(0, Vec::new());
        assert_eq!((empty.share(), empty.p99_ms), (0.0, 0.0));
    }

    /// Responses are told from queries; TC and error rcodes are not answers.
    #[test]
    fn responses_read() {
        let mut r = query(7, "a.test", 1, Edns::Off).unwrap();
        assert_eq!(read_response(&r), None);
        r[2] = 0x84;
        assert_eq!(read_response(&r), Some((7, true, 0)));
        r[2] = 0x86;
        assert_eq!(read_response(&r), Some((7, false, 0)));
        r[2] = 0x84;
        r[3] = 3;
        assert_eq!(read_response(&r), Some((7, false, 3)));
        assert_eq!(read_response(&r[..5]), None);
    }
}
