//! TSIG tests: every algorithm signs and verifies both ways, and secrets
//! stay out of `Debug`.

use std::sync::Arc;

use candor_wire::Name;

use super::{Algorithm, Key, KeyRing, Verifier, read_tsig, sign_request, verify_request};

/// A message to sign: an SOA query for `example.`.
fn query() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x07example\x00\x00\x06\x00\x01");
    m
}

/// Every algorithm signs a request, verifies it, and signs two responses the client verifies.
#[test]
fn every_algorithm_round_trips() {
    for algorithm in Algorithm::ALL {
        let name = Name::from_text("Key.Example.", None).unwrap();
        let key = Key::new(&name, algorithm, b"a shared secret".to_vec());
        let keys = KeyRing::new([key.clone()]);
        let mut req = query();
        let mac = sign_request(&key, &mut req, 1000);
        assert_eq!(mac.len(), algorithm.mac_len());
        let start = super::last_record_start(&req).unwrap();
        let tsig = read_tsig(&req, start).unwrap();
        assert_eq!(tsig.key_name.to_string(), "key.example.");
        let mut signer = verify_request(&keys, &req, &tsig, 1100).unwrap();
        // The server signs two responses; the client verifies both.
        let mut verifier = Verifier::new(Arc::new(key), &mac);
        for _ in 0..2 {
            let mut buf = vec![0u8; 512];
            let mut resp = query();
            resp[2] |= 0x80;
            buf[..resp.len()].copy_from_slice(&resp);
            let len = signer.sign(&mut buf, resp.len(), 1100).unwrap();
            verifier.verify(&buf[..len], 1100).unwrap();
        }
        assert_eq!(
            Algorithm::from_name(&algorithm.name().to_uppercase()),
            Some(algorithm)
        );
    }
}

/// Secrets are not in Debug output.
#[test]
fn secrets_never_show_in_debug() {
    let name = Name::from_text("k.", None).unwrap();
    let key = Key::new(&name, Algorithm::HmacSha512, b"TOPSECRET".to_vec());
    let text = format!("{key:?} {:?}", KeyRing::new([key.clone()]));
    assert!(
        !text.contains("TOPSECRET") && !text.contains("84, 79, 80"),
        "{text}"
    );
}
