//! Fuzzes the secondary's side with arbitrary answers from a "primary":
//! the input's first byte picks the request (SOA query, AXFR, IXFR from a
//! zone held), the rest is a stream of TCP-framed messages (2-byte length
//! prefix) whose IDs are set to the request's, so the reader gets past
//! the ID check. Every message goes through `Exchange::on_message`; what a
//! complete answer brings is applied to the zone held (`build_full`,
//! `apply_steps`). Half the requests ask for the Candor view
//! (`Exchange::candor_view`): an answer that repeats the option keeps its
//! private types, and the result's `ams` view is compiled
//! (`regional_view`, which reads every REGIONAL record). The same bytes are also handed to the NOTIFY handler.
//! Nothing may panic.
#![no_main]

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use candor_wire::Name;
use candor_xfr::KeyRing;
use candor_xfr::client::{Ask, Exchange, Progress, Received, apply_steps, build_full, soa_record};
use candor_xfr::regional::regional_view;
use candor_xfr::secondary::{Primaries, Upstream, on_notify};
use candor_zone::load_zone_text;
use libfuzzer_sys::fuzz_target;

/// The time answers are read at.
const NOW: u64 = 1_700_000_000;

/// The request's ID.
const ID: u16 = 0x5150;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let apex = Name::from_text("example.", None).unwrap();
    let text = "$TTL 60\n@ SOA ns h 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.7\n";
    let held = Arc::new(load_zone_text(text.as_bytes(), Path::new("f"), &apex).unwrap());
    let ask = match mode % 3 {
        0 => Ask::Soa,
        1 => Ask::Axfr,
        _ => Ask::Ixfr(soa_record(&held).unwrap()),
    };
    let mut ex = match mode / 3 % 2 {
        0 => Exchange::new(&apex, &ask, ID, None, NOW),
        _ => Exchange::candor_view(&apex, &ask, ID, None, NOW),
    };
    let view = |zone: Result<candor_zone::Zone, _>| {
        if let Ok(z) = zone {
            let _ = regional_view(&Arc::new(z), Some("ams"));
        }
    };
    let primaries = Primaries::new(&["example.@127.0.0.1".parse::<Upstream>().unwrap()]);
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let mut msg = rest[2..2 + len].to_vec();
        rest = &rest[2 + len..];
        let _ = on_notify(&primaries, &KeyRing::default(), &msg, local, NOW);
        if msg.len() >= 2 {
            msg[..2].copy_from_slice(&ID.to_be_bytes());
        }
        match ex.on_message(&msg, NOW) {
            Ok(Progress::More) => {}
            Ok(Progress::Done(received)) => {
                match received {
                    Received::Full { records, .. } => {
                        view(build_full(&apex, &records));
                    }
                    Received::Incremental {
                        soa_record, steps, ..
                    } => {
                        view(apply_steps(&held, &steps, &soa_record));
                    }
                    Received::Soa(_) => {}
                }
                return;
            }
            Err(_) => return,
        }
    }
});
