//! Fuzzes the reading of REGIONAL records (`candor_zone::regional::decode`,
//! RDATA a Candor primary sends its Candor secondaries): nothing may
//! panic, and what decodes encodes back to the same bytes (labels and
//! owner are already in the lower case `encode` writes).
#![no_main]

use candor_zone::regional::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = decode(data) else {
        return;
    };
    let _ = r.in_region(Some("ams"));
    let mut again = Vec::new();
    encode(&r.owner, r.rtype, r.ttl, &r.regions, r.rdata, &mut again);
    if data.iter().take(r.owner.len()).all(|b| !b.is_ascii_uppercase()) {
        assert_eq!(again, data);
    }
});
