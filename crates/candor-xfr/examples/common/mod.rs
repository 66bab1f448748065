//! What the examples share: the wire form of their names and the SOA of
//! their zone, `large.example.`.

use candor_wire::Name;

/// The wire form of a name (the names here are all valid).
pub(crate) fn wire(text: &str) -> Vec<u8> {
    Name::from_text(text, None)
        .map(|n| n.as_wire().to_vec())
        .unwrap_or_default()
}

/// The SOA RDATA of `large.example.` with `serial`.
pub(crate) fn soa(serial: u32) -> Box<[u8]> {
    let mut v = wire("ns1.large.example.");
    v.extend_from_slice(&wire("hostmaster.large.example."));
    for n in [serial, 3600, 600, 86400, 300] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.into()
}
