//! Fuzzes the transfer side with arbitrary requests: AXFR/IXFR requests
//! and signed queries go through `Primary` (request parsing, TSIG, the
//! ACL, the journal) and every message of the reply must be a well-formed
//! message that echoes the request's ID. Half of the inputs are signed
//! with a key the primary knows first, so the paths behind a good
//! signature are reached too.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_answer::{Config, SharedAliases, Transport as AnswerTransport};
use candor_wire::Name;
use candor_wire::decode::decode_message;
use candor_xfr::tsig::{Algorithm, Key, KeyRing, sign_request};
use candor_xfr::{Acl, Limits, Primary, Reply, Transport};
use candor_zone::{ZoneSet, load_zone_text};
use libfuzzer_sys::fuzz_target;

/// The time requests are handled at.
const NOW: u64 = 1_700_000_000;

/// A version of `example.` with serial `serial`.
fn zone(serial: u32) -> Arc<candor_zone::Zone> {
    let text = format!(
        "$TTL 60\n@ SOA ns h {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n\
         www A 192.0.2.{serial}\n* TXT \"w\"\nsub NS ns.sub\nns.sub A 192.0.2.9\n\
         @ TYPE65304 \\# 17 03777777076578616d706c6500\n"
    );
    let origin = Name::from_text("example.", None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("f"), &origin).unwrap())
}

/// The key requests are signed with.
fn key() -> Key {
    Key::new(
        &Name::from_text("k.", None).unwrap(),
        Algorithm::HmacSha256,
        b"fuzz".to_vec(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, msg)) = data.split_first() else {
        return;
    };
    let zones = Arc::new(ArcSwap::from_pointee(ZoneSet::from_zones([zone(1)])));
    let keys = Arc::new(ArcSwap::from_pointee(KeyRing::new([key()])));
    let acl = Acl::new(vec!["127.0.0.0/8".parse().unwrap()]);
    let primary = Primary::new(
        zones.clone(),
        SharedAliases::default(),
        acl,
        keys,
        Limits::DEFAULT,
    );
    primary.observe();
    for serial in 2..=3 {
        zones.store(Arc::new(ZoneSet::from_zones([zone(serial)])));
        primary.observe();
    }
    let mut msg = msg.to_vec();
    if mode & 1 == 1 {
        sign_request(&key(), &mut msg, NOW);
    }
    let source = "127.0.0.1".parse().unwrap();
    let handled = match mode >> 1 & 3 {
        0 => primary.handle(&msg, source, Transport::Tcp, NOW),
        1 => primary.handle(&msg, source, Transport::Udp, NOW),
        _ => {
            let config = Config {
                max_udp_payload: 1232,
                nsid: None,
                aliases: SharedAliases::default(),
                cookies: candor_answer::Cookies::new(candor_answer::CookieSecrets::new(
                    [7; 16], None,
                )),
            };
            primary.handle_signed(
                &msg,
                std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
                &config,
                AnswerTransport::Tcp,
                NOW,
            )
        }
    };
    let id = msg.get(..2).map(|b| [b[0], b[1]]);
    let check = |m: &[u8]| {
        let decoded = decode_message(m).expect("a well-formed reply");
        assert_eq!(Some(decoded.header.id.to_be_bytes()), id);
    };
    match handled.reply {
        Reply::Drop => {}
        Reply::Message(m) => check(&m),
        Reply::Transfer(mut t) => {
            let mut buf = vec![0u8; 65535];
            let mut n = 0;
            while let Some(len) = t.next_message(&mut buf, NOW) {
                check(&buf[..len]);
                n += 1;
                assert!(n < 1000, "a transfer of a tiny zone never ends");
            }
        }
    }
});
