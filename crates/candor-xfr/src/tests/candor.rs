//! The Candor view of transfers (docs/regions.md): a request with the
//! `CANDOR_VIEW` option gets ALIAS, POOL and REGIONAL records as
//! themselves, in AXFR and IXFR, and the option back; a request without it
//! never sees one; the client keeps private types only when it asked and
//! the answer says so; a secondary compiles its region's view.

use super::*;
use crate::client::{Ask, Exchange, Progress, Received, apply_steps, build_full, soa_record};
use crate::regional::regional_view;
use crate::request::CANDOR_VIEW;

/// A REGIONAL record at the apex in RFC 3597 form: `owner` `rtype` `rdata`
/// (wire) limited to `regions`.
fn regional(owner: &str, rtype: Rtype, rdata: &[u8], regions: &[&str]) -> String {
    let owner = Name::from_text(owner, None).unwrap();
    let mut out = Vec::new();
    candor_zone::regional::encode(owner.as_wire(), rtype, 300, regions, rdata, &mut out);
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    format!("@ TYPE65305 \\# {} {hex}", out.len())
}

/// `example.` at `serial` with an ALIAS, a POOL, and `ams` records:
/// `only` (a name of its own) and a second address of `www` (`www_ams`).
fn regional_example(serial: u32, www_ams: &str) -> Arc<Zone> {
    let ip: std::net::Ipv4Addr = www_ams.parse().unwrap();
    zone(
        "example.",
        &format!(
            "$TTL 300\n@ SOA ns.example. hostmaster.example. {serial} 3600 600 86400 60\n\
             @ NS ns.example.\nns A 192.0.2.53\nwww A 192.0.2.80\nflat {}\npool {}\n\
             {}\n{}\n",
            private(65304, "www.example."),
            private(65303, "a.pool.other."),
            regional("only.example.", Rtype::A, &[192, 0, 2, 9], &["ams"]),
            regional("www.example.", Rtype::A, &ip.octets(), &["ams", "sv1"]),
        ),
    )
}

/// An AXFR or IXFR request with an OPT record holding the option.
fn candor_request(zone: &str, ixfr: Option<u32>) -> Vec<u8> {
    let mut m = request(zone, ixfr);
    m[11] = 1;
    m.extend_from_slice(&[0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 4]);
    m.extend_from_slice(&CANDOR_VIEW.to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m
}

/// Sends `msg` and renders the reply, REGIONAL records decoded (the OPT
/// record renders as `. 0 OPT` with its options in hex).
fn render_candor(p: &Primary, msg: &[u8]) -> String {
    let text = render(p.handle(msg, from("127.0.0.1"), Transport::Tcp, NOW));
    text.lines()
        .map(|l| match l.split_once(" TYPE65305 ") {
            Some((head, _)) => format!("{head} REGIONAL"),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// AXFR with the option: the records as compiled, private types
/// included, and the option repeated; without it, the flattened view and
/// no REGIONAL record.
#[test]
fn axfr_in_the_candor_view_carries_private_types() {
    let (p, _) = primary(
        vec![regional_example(1, "192.0.2.7")],
        &["127.0.0.1"],
        vec![],
    );
    expect![[r#"
        ;; NOERROR qd=1 an=9 ar=1 aa
        example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        example. 300 NS ns.example.
        example. 300 REGIONAL
        example. 300 REGIONAL
        ns.example. 300 A 192.0.2.53
        www.example. 300 A 192.0.2.80
        flat.example. 300 TYPE65304 \# 13 03777777076578616D706C6500
        pool.example. 300 TYPE65303 \# 14 016104706F6F6C056F7468657200
        example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        . 0 OPT \# 4 FF190000"#]]
    .assert_eq(&render_candor(&p, &candor_request("example.", None)));
    let plain = render_candor(&p, &request("example.", None));
    assert!(
        !plain.contains("REGIONAL") && !plain.contains("TYPE6530"),
        "{plain}"
    );
    assert!(plain.contains("flat.example. 300 A 192.0.2.80"), "{plain}");
}

/// IXFR with the option: a change of a regional record travels as its
/// REGIONAL records; without the option the step has only the SOAs.
#[test]
fn ixfr_in_the_candor_view_carries_regional_changes() {
    let (p, set) = primary(
        vec![regional_example(1, "192.0.2.7")],
        &["127.0.0.1"],
        vec![],
    );
    p.observe();
    let mut s = ZoneSet::clone(&set.load());
    s.insert(regional_example(2, "192.0.2.8"));
    set.store(Arc::new(s));
    p.observe();
    expect![[r#"
        ;; NOERROR qd=1 an=6 ar=1 aa
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        example. 300 REGIONAL
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        example. 300 REGIONAL
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        . 0 OPT \# 4 FF190000"#]]
    .assert_eq(&render_candor(&p, &candor_request("example.", Some(1))));
    expect![[r#"
        ;; NOERROR qd=1 an=4 ar=0 aa
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        example. 300 SOA ns.example. hostmaster.example. 1 3600 600 86400 60
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60
        example. 300 SOA ns.example. hostmaster.example. 2 3600 600 86400 60"#]]
    .assert_eq(&render_candor(&p, &request("example.", Some(1))));
}

/// Reads a whole reply with `ex`.
fn receive(ex: &mut Exchange, handled: Handled) -> Received {
    for m in messages(handled) {
        if let Progress::Done(r) = ex.on_message(&m, NOW).unwrap() {
            return r;
        }
    }
    panic!("the answer did not end");
}

/// The addresses `zone` answers for `name` (its A RRset), sorted.
fn addresses(zone: &Zone, name: &str) -> Vec<String> {
    let owner = Name::from_text(name, None).unwrap();
    let mut out: Vec<String> = zone
        .records()
        .filter(|r| r.rtype == Rtype::A && r.owner == owner.as_wire())
        .map(|r| candor_zonefile::rdata_to_text(Rtype::A, r.rdata))
        .collect();
    out.sort();
    out
}

/// A Candor secondary asking with `Exchange::candor_view` gets the zone
/// with its private types (and keeps them through IXFR), compiles the
/// `ams` view from it, and a server without a region serves it as held.
/// A secondary that did not ask, or whose primary did not say it sends
/// the Candor view, keeps no private type.
#[test]
fn a_candor_secondary_keeps_private_types_and_compiles_its_view() {
    let (p, set) = primary(
        vec![regional_example(1, "192.0.2.7")],
        &["127.0.0.1"],
        vec![],
    );
    p.observe();
    let apex = Name::from_text("example.", None).unwrap();
    let mut ex = Exchange::candor_view(&apex, &Ask::Axfr, 0x4242, None, NOW);
    let handled = p.handle(ex.message(), from("127.0.0.1"), Transport::Tcp, NOW);
    let Received::Full { records, .. } = receive(&mut ex, handled) else {
        panic!("not a whole zone");
    };
    let held = Arc::new(build_full(&apex, &records).unwrap());
    assert_eq!(
        held.records().count(),
        regional_example(1, "192.0.2.7").records().count()
    );
    let (global, skipped) = regional_view(&held, None).unwrap();
    assert!(Arc::ptr_eq(&global, &held) && skipped == 0);
    let (fra, _) = regional_view(&held, Some("fra")).unwrap();
    assert!(Arc::ptr_eq(&fra, &held));
    let (ams, _) = regional_view(&held, Some("ams")).unwrap();
    assert_eq!(addresses(&ams, "www.example."), ["192.0.2.7", "192.0.2.80"]);
    assert_eq!(addresses(&ams, "only.example."), ["192.0.2.9"]);
    assert!(addresses(&held, "only.example.").is_empty());
    assert!(held.node_by_name(b"\x04only\x07example\x00").is_none());

    // An IXFR in the Candor view moves www's ams address.
    let mut s = ZoneSet::clone(&set.load());
    s.insert(regional_example(2, "192.0.2.8"));
    set.store(Arc::new(s));
    p.observe();
    let ask = Ask::Ixfr(soa_record(&held).unwrap());
    let mut ex = Exchange::candor_view(&apex, &ask, 0x4242, None, NOW);
    let handled = p.handle(ex.message(), from("127.0.0.1"), Transport::Tcp, NOW);
    let Received::Incremental {
        steps, soa_record, ..
    } = receive(&mut ex, handled)
    else {
        panic!("not an IXFR");
    };
    let held = Arc::new(apply_steps(&held, &steps, &soa_record).unwrap());
    let (ams, _) = regional_view(&held, Some("ams")).unwrap();
    assert_eq!(addresses(&ams, "www.example."), ["192.0.2.8", "192.0.2.80"]);
    assert_eq!(held.serial(), 2);

    // Not asked: the standard view, nothing private.
    let mut ex = Exchange::new(&apex, &Ask::Axfr, 0x4242, None, NOW);
    let handled = p.handle(
        &candor_request("example.", None),
        from("127.0.0.1"),
        Transport::Tcp,
        NOW,
    );
    let Received::Full { records, .. } = receive(&mut ex, handled) else {
        panic!("not a whole zone");
    };
    assert!(
        !records
            .iter()
            .any(|r| candor_zone::is_private_type(r.rtype))
    );
    // Asked, but the answer does not repeat the option (a primary that
    // ignores it, here one whose option was rewritten): nothing private.
    let mut ex = Exchange::candor_view(&apex, &Ask::Axfr, 0x4242, None, NOW);
    let handled = p.handle(ex.message(), from("127.0.0.1"), Transport::Tcp, NOW);
    let mut msgs = messages(handled);
    for m in &mut msgs {
        let n = m.len();
        m[n - 4..n - 2].copy_from_slice(&65000u16.to_be_bytes());
    }
    let mut got = None;
    for m in &msgs {
        if let Progress::Done(r) = ex.on_message(m, NOW).unwrap() {
            got = Some(r);
        }
    }
    let Some(Received::Full { records, .. }) = got else {
        panic!("not a whole zone");
    };
    assert!(
        !records
            .iter()
            .any(|r| candor_zone::is_private_type(r.rtype))
    );
    assert!(records.iter().any(|r| r.rtype == Rtype::NS));
}

/// A regional record the patch cannot take (a wildcard) is compiled in
/// full; a malformed REGIONAL record is left out and counted.
#[test]
fn regional_views_fall_back_to_a_full_compile_and_skip_bad_records() {
    let held = zone(
        "example.",
        &format!(
            "$TTL 300\n@ SOA ns.example. h.example. 1 3600 600 86400 60\n@ NS ns.example.\n\
             ns A 192.0.2.53\n{}\n@ TYPE65305 \\# 3 c00c00\n",
            regional("*.wild.example.", Rtype::TXT, b"\x02hi", &["ams"]),
        ),
    );
    let (ams, skipped) = regional_view(&held, Some("ams")).unwrap();
    assert_eq!(skipped, 1);
    let wild = ams.records().filter(|r| r.rtype == Rtype::TXT).count();
    assert_eq!(wild, 1);
    assert!(matches!(
        ams.lookup(b"\x01x\x04wild\x07example\x00"),
        candor_zone::Lookup::Wildcard(_)
    ));
}

/// A signed zone goes out in the standard view even to a request with the
/// option (a secondary could not sign what it would synthesize): no
/// private type, no option back; and its REGIONAL records are neither
/// signed nor in the apex's NSEC bitmap (and an ALIAS no signer signed
/// gets no addresses).
#[test]
fn signed_zones_go_out_in_the_standard_view() {
    use candor_dnssec::{Algorithm, KeyRole, SigningKey, SigningPolicy, compile_signed, sign_zone};
    let unsigned = regional_example(1, "192.0.2.7");
    let rng = ring::rand::SystemRandom::new();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap();
    let one = std::num::NonZeroUsize::MIN;
    let signed = sign_zone(&unsigned, &[key], &SigningPolicy::default(), NOW, one).unwrap();
    let zone = Arc::new(compile_signed(&unsigned, &signed).unwrap());
    assert!(zone.signed().is_some());
    let (p, _) = primary(vec![zone], &["127.0.0.1"], vec![]);
    let text = render_candor(&p, &candor_request("example.", None));
    for private in [
        "REGIONAL",
        "TYPE65303",
        "TYPE65304",
        "TYPE65305",
        "OPT \\# 4 FF190000",
    ] {
        assert!(!text.contains(private), "{private}:\n{text}");
    }
    let bitmap = "example. 60 NSEC flat.example. NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY\n";
    assert!(text.contains(bitmap), "{text}");
    assert!(text.contains("\n. 0 OPT"), "{text}");
    // No ALIAS signer has signed `flat`'s answer: no unsigned addresses.
    assert!(!text.contains("flat.example. 300 A"), "{text}");
}
