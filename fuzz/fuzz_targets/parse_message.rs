//! Fuzzes the two message parsers with arbitrary bytes: the query-path
//! parser and the full decoder must never panic, and must agree on what a
//! well-formed question is.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let query = candor_wire::parse_query(data);
    let full = candor_wire::decode::decode_message(data);
    if let (Ok(q), Ok(m)) = (query, full) {
        assert_eq!(m.questions.len(), 1);
        let (name, qtype, qclass) = &m.questions[0];
        assert_eq!(name.as_wire(), q.qname);
        assert_eq!(*qtype, q.qtype);
        assert_eq!(*qclass, q.qclass);
    }
});
