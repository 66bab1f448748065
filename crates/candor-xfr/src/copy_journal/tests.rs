//! Tests of the copy journal: what it replays equals the zone the IXFRs
//! made; a torn or corrupt tail ends it where the last good entry ends;
//! a journal of another copy, a broken serial chain or an entry that does
//! not apply are refused with the reason; no bytes make it panic.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::{OwnedRecord, Zone, load_zone_text};

use super::*;
use crate::client::soa_record;

/// The zone `j.test.` at `serial` with `body` after its SOA and NS.
fn zone(serial: u32, body: &str) -> Arc<Zone> {
    let origin = Name::from_text("j.test.", None).unwrap();
    let text = format!(
        "$TTL 300\n@ SOA ns.j.test. h.j.test. {serial} 2 1 10 60\n@ NS ns\nns A 192.0.2.53\n{body}"
    );
    Arc::new(load_zone_text(text.as_bytes(), Path::new("t.zone"), &origin).unwrap())
}

/// A zone's records other than the SOA.
fn set(zone: &Zone) -> BTreeSet<(Vec<u8>, u16, u32, Vec<u8>)> {
    zone.records()
        .filter(|r| r.rtype != Rtype::SOA)
        .map(|r| (r.owner.to_vec(), r.rtype.0, r.ttl, r.rdata.to_vec()))
        .collect()
}

/// A zone's records (the SOA included) as sorted text lines.
fn lines(zone: &Zone) -> Vec<String> {
    let mut out: Vec<String> = zone
        .records()
        .map(|r| {
            let owner = Name::from_wire(r.owner).unwrap();
            let hex: String = r.rdata.iter().map(|b| format!("{b:02x}")).collect();
            format!("{owner} {} {} {hex}", r.ttl, r.rtype)
        })
        .collect();
    out.sort();
    out
}

/// The IXFR step from `a` to `b`.
fn step(a: &Zone, b: &Zone) -> Step {
    let own = |(owner, rtype, ttl, rdata): &(Vec<u8>, u16, u32, Vec<u8>)| OwnedRecord {
        owner: owner.clone().into(),
        rtype: Rtype(*rtype),
        ttl: *ttl,
        rdata: rdata.clone().into(),
    };
    let (sa, sb) = (set(a), set(b));
    Step {
        from: a.serial(),
        to: b.serial(),
        removed: sa.difference(&sb).map(own).collect(),
        added: sb.difference(&sa).map(own).collect(),
    }
}

/// The entry for the IXFR from `a` to `b` (one step).
fn entry_between(a: &Zone, b: &Zone) -> Vec<u8> {
    entry(
        a.serial(),
        b.serial(),
        &soa_record(b).unwrap(),
        &[step(a, b)],
    )
}

/// Three versions: 1, 2 (www changed, mail added), 3 (mail gone, two
/// steps condensed in one IXFR to 5 with a TXT added).
fn versions() -> [Arc<Zone>; 4] {
    [
        zone(1, "www A 192.0.2.1\n"),
        zone(2, "www A 192.0.2.2\nmail A 192.0.2.25\nmail MX 10 mail\n"),
        zone(3, "www A 192.0.2.2\n"),
        zone(5, "www A 192.0.2.2\nt TXT \"hello\"\n"),
    ]
}

/// A journal of the copy at version 1 holding 1→2, 2→3 and 3→5.
fn journal() -> (Vec<u8>, Vec<usize>) {
    let v = versions();
    let mut bytes = header(1);
    let mut ends = vec![bytes.len()];
    for pair in v.windows(2) {
        bytes.extend_from_slice(&entry_between(&pair[0], &pair[1]));
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// Replaying the journal onto the copy makes the last version, record for
/// record (SOA included); the entries read back are the ones written.
#[test]
fn replay_equals_the_zone() {
    let v = versions();
    let (bytes, ends) = journal();
    let read = read(&bytes).unwrap().unwrap();
    assert_eq!(read.base, 1);
    assert_eq!(read.entries.len(), 3);
    assert_eq!(read.good_len, bytes.len());
    assert_eq!(read.tail, None);
    assert_eq!(read.entries[1].steps, vec![step(&v[1], &v[2])]);
    assert_eq!(*ends.last().unwrap(), bytes.len());
    let made = replay(&v[0], &read).unwrap();
    assert_eq!(made.serial(), 5);
    assert_eq!(lines(&made), lines(&v[3]));
}

/// An IXFR of several steps is one entry and replays as such.
#[test]
fn an_entry_of_several_steps_replays() {
    let v = versions();
    let steps = [step(&v[0], &v[1]), step(&v[1], &v[2])];
    let mut bytes = header(1);
    bytes.extend_from_slice(&entry(1, 3, &soa_record(&v[2]).unwrap(), &steps));
    let read = read(&bytes).unwrap().unwrap();
    assert_eq!(read.entries[0].steps, steps);
    assert_eq!(lines(&replay(&v[0], &read).unwrap()), lines(&v[2]));
}

/// A journal with no entries replays to the copy itself.
#[test]
fn an_empty_journal_is_the_copy() {
    let v = versions();
    let read = read(&header(1)).unwrap().unwrap();
    assert!(read.entries.is_empty());
    assert!(Arc::ptr_eq(&replay(&v[0], &read).unwrap(), &v[0]));
}

/// The last entry cut at every length (a crash mid-append): the entries
/// before it are read and replayed, the tail is reported, and `good_len`
/// is where the last whole entry ends.
#[test]
fn a_torn_tail_is_ignored() {
    let v = versions();
    let (bytes, ends) = journal();
    for cut in ends[2] + 1..ends[3] {
        let read = read(&bytes[..cut]).unwrap().unwrap();
        assert_eq!(read.entries.len(), 2, "cut at {cut}");
        assert_eq!(read.good_len, ends[2], "cut at {cut}");
        let tail = read.tail.as_deref().unwrap();
        assert!(tail.starts_with("entry 3 at byte"), "{tail}");
        assert_eq!(lines(&replay(&v[0], &read).unwrap()), lines(&v[2]));
    }
}

/// A flipped bit anywhere in an entry fails its checksum: it and what
/// follows are not read.
#[test]
fn a_corrupt_entry_ends_the_journal() {
    let (bytes, ends) = journal();
    for at in ends[1]..ends[2] {
        let mut broken = bytes.clone();
        broken[at] ^= 0x10;
        let read = read(&broken).unwrap().unwrap();
        assert_eq!(read.entries.len(), 1, "flip at {at}");
        assert_eq!(read.good_len, ends[1]);
        assert!(read.tail.is_some());
    }
}

/// A missing, short, foreign or corrupt header: no journal, with why.
#[test]
fn headers_are_checked() {
    assert_eq!(read(&[]), Ok(None));
    let h = header(7);
    assert_eq!(
        read(&h[..5]),
        Err("the header is cut short (5 of 20 bytes)".to_owned())
    );
    let mut foreign = h.clone();
    foreign[0] = b'X';
    assert_eq!(
        read(&foreign),
        Err("not a Candor copy journal (wrong magic bytes)".to_owned())
    );
    let mut corrupt = h.clone();
    corrupt[9] ^= 1;
    assert_eq!(
        read(&corrupt),
        Err("the header's checksum does not match".to_owned())
    );
}

/// A journal of another copy (the copy was rewritten, the journal not
/// yet reset) is not replayed.
#[test]
fn a_journal_of_another_copy_is_not_replayed() {
    let v = versions();
    let (bytes, _) = journal();
    let read = read(&bytes).unwrap().unwrap();
    assert_eq!(
        replay(&v[3], &read).unwrap_err(),
        ReplayError::OtherBase { base: 1, copy: 5 }
    );
}

/// Entries that do not chain (one missing in the middle, or one whose SOA
/// is not its end serial) are refused with which entry and why.
#[test]
fn a_broken_serial_chain_is_refused() {
    let v = versions();
    let mut bytes = header(1);
    bytes.extend_from_slice(&entry_between(&v[0], &v[1]));
    bytes.extend_from_slice(&entry_between(&v[2], &v[3]));
    let read1 = read(&bytes).unwrap().unwrap();
    let e = replay(&v[0], &read1).unwrap_err();
    assert_eq!(
        e,
        ReplayError::BrokenChain {
            entry: 2,
            expected: 2,
            found: (3, 5)
        }
    );
    assert_eq!(
        e.to_string(),
        "entry 2 goes from serial 3 to 5; it should start at 2"
    );
    let mut bytes = header(1);
    bytes.extend_from_slice(&entry(
        1,
        2,
        &soa_record(&v[2]).unwrap(),
        &[step(&v[0], &v[1])],
    ));
    let read2 = read(&bytes).unwrap().unwrap();
    assert!(matches!(
        replay(&v[0], &read2),
        Err(ReplayError::BrokenChain { entry: 1, .. })
    ));
}

/// An entry that removes a record the zone does not have is refused.
#[test]
fn an_entry_that_does_not_apply_is_refused() {
    let v = versions();
    let mut bytes = header(1);
    // 2→3 written as if it started at 1: it removes mail, absent from 1.
    let mut wrong = step(&v[1], &v[2]);
    wrong.from = 1;
    bytes.extend_from_slice(&entry(1, 3, &soa_record(&v[2]).unwrap(), &[wrong]));
    let read = read(&bytes).unwrap().unwrap();
    let e = replay(&v[0], &read).unwrap_err();
    assert!(
        matches!(
            e,
            ReplayError::Apply {
                entry: 1,
                error: ApplyError::MissingRecord(_)
            }
        ),
        "{e}"
    );
}

/// The copy is rewritten past a quarter of its size or MAX_ENTRIES.
#[test]
fn rewrite_is_due_past_the_bounds() {
    assert!(!rewrite_due(1000, 10, 40_000));
    assert!(rewrite_due(10_001, 10, 40_000));
    assert!(rewrite_due(100, MAX_ENTRIES, 40_000_000));
    assert!(!rewrite_due(100, MAX_ENTRIES - 1, 40_000_000));
}

/// Random bytes after a good header, and random changes to a good
/// journal, never panic; whatever is read is a prefix of the entries.
#[test]
fn no_bytes_make_it_panic() {
    let (good, _) = journal();
    let whole = read(&good).unwrap().unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let mut bytes = good.clone();
        if round % 2 == 0 {
            bytes.truncate(HEADER_LEN);
            let n = (next() % 200) as usize;
            bytes.extend((0..n).map(|_| next() as u8));
        } else {
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
        }
        if let Ok(Some(r)) = read(&bytes) {
            assert!(r.good_len <= bytes.len());
            let n = r.entries.len();
            assert!(n <= whole.entries.len() || round % 2 == 0);
            if round % 2 == 1 && r.base == 1 {
                assert_eq!(r.entries[..], whole.entries[..n]);
            }
        }
    }
}
