//! Cookie tests: the RFC 9018 Appendix A vectors, the lifetime window,
//! renewal, rollover, and the secret file format. Each case is one row.

use std::net::IpAddr;

use super::{CookieCheck, CookieSecrets, SecretsError};

/// The secret of RFC 9018 Appendix A.1 to A.3.
const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

/// The secret before the rollover of Appendix A.4.
const OLD_SECRET: &str = "dd3bdf9344b678b185a6f5cb60fca715";

/// The secret after the rollover of Appendix A.4.
const NEW_SECRET: &str = "445536bcd2513298075a5d379663c962";

/// Bytes from hexadecimal digits.
fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// Lower-case hexadecimal digits of some bytes.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Secrets from one or two hexadecimal secrets.
fn secrets(current: &str, previous: Option<&str>) -> CookieSecrets {
    let array = |s: &str| <[u8; 16]>::try_from(hex(s)).expect("16 bytes");
    CookieSecrets::new(array(current), previous.map(array))
}

/// One reply: the secrets, the COOKIE option the client sent (client
/// cookie, then server cookie if any), its address and the time; the
/// verdict and the server cookie expected back.
struct Case {
    /// What the case shows.
    name: &'static str,
    /// The secrets: current, previous.
    secrets: (&'static str, Option<&'static str>),
    /// The COOKIE option's data, in hexadecimal.
    option: &'static str,
    /// The client's address.
    addr: &'static str,
    /// Seconds since the Unix epoch.
    now: u32,
    /// The verdict expected.
    check: CookieCheck,
    /// The server cookie expected in the reply.
    reply: Reply,
}

/// The server cookie a reply should carry.
enum Reply {
    /// The one the client sent.
    Same,
    /// A fresh one, made now with the current secret.
    Fresh,
    /// These bytes (hexadecimal), from the RFC.
    Vector(&'static str),
}

/// RFC 9018 Appendix A, and the rules around it.
const CASES: &[Case] = &[
    Case {
        name: "A.1: learning a new server cookie",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957",
        addr: "198.51.100.100",
        now: 1559731985,
        check: CookieCheck::ClientOnly,
        reply: Reply::Vector("010000005cf79f111f8130c3eee29480"),
    },
    Case {
        name: "A.1's cookie back at once: valid, sent back as it came",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 + 60,
        check: CookieCheck::Valid,
        reply: Reply::Vector("010000005cf79f111f8130c3eee29480"),
    },
    Case {
        name: "A.2: the same client 40 minutes later gets a renewed cookie",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559734385,
        check: CookieCheck::Valid,
        reply: Reply::Vector("010000005cf7a871d4a564a1442aca77"),
    },
    Case {
        name: "A.3: non-zero reserved bytes verify (at the time it was made)",
        secrets: (SECRET, None),
        option: "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
        addr: "203.0.113.203",
        now: 1559727985,
        check: CookieCheck::Valid,
        reply: Reply::Vector("01abcdef5cf78f71a314227b6679ebf5"),
    },
    Case {
        name: "A.3: the vector's reply time is past the hour, so a fresh cookie",
        secrets: (SECRET, None),
        option: "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
        addr: "203.0.113.203",
        now: 1559734700,
        check: CookieCheck::Invalid,
        reply: Reply::Vector("010000005cf7a9acf73a7810aca2381e"),
    },
    Case {
        name: "A.4: IPv6, made with the previous secret, renewed with the new one",
        secrets: (NEW_SECRET, Some(OLD_SECRET)),
        option: "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
        addr: "2001:db8:220:1:59de:d0f4:8769:82b8",
        now: 1559741961,
        check: CookieCheck::Valid,
        reply: Reply::Vector("010000005cf7c609a6bb79d16625507a"),
    },
    Case {
        name: "A.4 without the previous secret: invalid, fresh cookie",
        secrets: (NEW_SECRET, None),
        option: "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
        addr: "2001:db8:220:1:59de:d0f4:8769:82b8",
        now: 1559741961,
        check: CookieCheck::Invalid,
        reply: Reply::Vector("010000005cf7c609a6bb79d16625507a"),
    },
    Case {
        name: "an hour old: still valid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 + 3600,
        check: CookieCheck::Valid,
        reply: Reply::Fresh,
    },
    Case {
        name: "a second over the hour: invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 + 3601,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
    Case {
        name: "exactly half an hour old: sent back as it came",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 + 1800,
        check: CookieCheck::Valid,
        reply: Reply::Same,
    },
    Case {
        name: "five minutes ahead of our clock (another server's): valid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 - 300,
        check: CookieCheck::Valid,
        reply: Reply::Same,
    },
    Case {
        name: "more than five minutes ahead: invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985 - 301,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
    Case {
        name: "from another address: invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.101",
        now: 1559731985,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
    Case {
        name: "with another client cookie: invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c958010000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
    Case {
        name: "version 2 (unknown): invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c957020000005cf79f111f8130c3eee29480",
        addr: "198.51.100.100",
        now: 1559731985,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
    Case {
        name: "not 16 bytes (another server's own format): invalid",
        secrets: (SECRET, None),
        option: "2464c4abcf10c9570102030405060708",
        addr: "198.51.100.100",
        now: 1559731985,
        check: CookieCheck::Invalid,
        reply: Reply::Fresh,
    },
];

/// Every case of [`CASES`]: the verdict and the server cookie sent back.
#[test]
fn replies_follow_rfc_9018() {
    let mut failures = Vec::new();
    for case in CASES {
        let secrets = secrets(case.secrets.0, case.secrets.1);
        let option = hex(case.option);
        let client = <[u8; 8]>::try_from(&option[..8]).expect("client cookie");
        let addr: IpAddr = case.addr.parse().expect("address");
        let (check, reply) = secrets.reply(&client, &option[8..], addr, case.now);
        let expected = match case.reply {
            Reply::Same => to_hex(&option[8..]),
            Reply::Fresh => to_hex(&secrets.fresh(&client, addr, case.now)),
            Reply::Vector(bytes) => bytes.to_owned(),
        };
        if (check, to_hex(&reply)) != (case.check, expected.clone()) {
            failures.push(format!(
                "{}: got {check:?} {}, expected {:?} {expected}",
                case.name,
                to_hex(&reply),
                case.check,
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A cookie made before a rollover stays valid (and is renewed) until the
/// rollover after it.
#[test]
fn rollover_keeps_clients_until_the_next_one() {
    let client = [1, 2, 3, 4, 5, 6, 7, 8];
    let addr: IpAddr = "192.0.2.1".parse().expect("address");
    let first = secrets(OLD_SECRET, None);
    let cookie = first.fresh(&client, addr, 1_000_000);
    // After one rollover the cookie still verifies, and is replaced.
    let second = first.rotate(hex(NEW_SECRET).try_into().expect("16 bytes"));
    let (check, renewed) = second.reply(&client, &cookie, addr, 1_000_010);
    assert_eq!(check, CookieCheck::Valid);
    assert_ne!(renewed, cookie, "made with the new secret");
    assert_eq!(
        second.reply(&client, &renewed, addr, 1_000_020),
        (CookieCheck::Valid, renewed),
        "the renewed cookie is current"
    );
    // After a second rollover the first cookie is gone.
    let third = second.rotate([9; 16]);
    assert_eq!(
        third.reply(&client, &cookie, addr, 1_000_030).0,
        CookieCheck::Invalid
    );
    assert_eq!(
        third.reply(&client, &renewed, addr, 1_000_030).0,
        CookieCheck::Valid
    );
}

/// The secret file format: one or two secrets, comments, and each way to get
/// it wrong; secrets never show in `Debug`.
#[test]
fn secret_files() {
    let good = format!("# current\n{SECRET}\n\n  {OLD_SECRET}  # previous\n");
    assert_eq!(
        CookieSecrets::parse(&good),
        Ok(secrets(SECRET, Some(OLD_SECRET)))
    );
    assert_eq!(
        CookieSecrets::parse(&SECRET.to_uppercase()),
        Ok(secrets(SECRET, None))
    );
    let cases = [
        ("", SecretsError::Empty),
        ("# nothing\n\n", SecretsError::Empty),
        ("e5e973e5", SecretsError::BadSecret { line: 1 }),
        (
            "\nx5e973e5a6b2a43f48e7dc849e37bfcf",
            SecretsError::BadSecret { line: 2 },
        ),
        (
            "0xe5e973e5a6b2a43f48e7dc849e37bf",
            SecretsError::BadSecret { line: 1 },
        ),
        (
            "+5e973e5a6b2a43f48e7dc849e37bfcf",
            SecretsError::BadSecret { line: 1 },
        ),
    ];
    for (text, error) in cases {
        assert_eq!(CookieSecrets::parse(text), Err(error), "{text:?}");
    }
    let three = format!("{SECRET}\n{OLD_SECRET}\n{NEW_SECRET}\n");
    assert_eq!(
        CookieSecrets::parse(&three),
        Err(SecretsError::TooMany { line: 3 })
    );
    assert!(!format!("{:?}", secrets(SECRET, None)).contains("e5"));
}
