//! Fuzzes the zone-file parser with arbitrary text: it must never panic,
//! and every record it accepts must survive RDATA text round trips. The
//! first byte's low bit turns on `;@regions` lines (as the store's import
//! reads them).
#![no_main]

use std::path::Path;

use candor_wire::{Class, Name};
use candor_zonefile::{ParseOptions, parse_bytes, rdata_from_text, rdata_to_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = Name::from_text("example.", None).unwrap();
    let regions = data.first().is_some_and(|b| b & 1 == 1);
    let opts = ParseOptions { origin: origin.clone(), default_class: Class::IN, allow_include: false, max_errors: 20, regions };
    let _ = parse_bytes(data, Path::new("fuzz.zone"), &opts, &mut |r| {
        let text = rdata_to_text(r.rtype, r.rdata);
        let back = rdata_from_text(r.rtype, &text, &origin)
            .unwrap_or_else(|e| panic!("{} {text:?} does not read back: {e}", r.rtype));
        assert_eq!(back, r.rdata, "{} {text:?}", r.rtype);
        assert!(regions || r.regions.is_none(), "regions read while off");
    });
});
