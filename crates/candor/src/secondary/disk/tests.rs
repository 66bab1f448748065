//! Tests of a secondary's copy and journal on disk: IXFRs are appended
//! (the copy untouched) and replayed on load; an AXFR or a journal past
//! its bound rewrites the copy and empties the journal; a torn tail, a
//! journal of an older copy and a broken chain are each handled as the
//! module says; the files are private.

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_xfr::client::Step;
use candor_zone::{OwnedRecord, Zone, load_zone_text};

use super::*;

/// A directory removed when dropped.
struct Dir(PathBuf);

impl Dir {
    /// A new empty directory named after `test`.
    fn new(test: &str) -> Dir {
        let path = std::env::temp_dir().join(format!("candor-disk-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The zone's name.
fn apex() -> Name {
    Name::from_text("disk.test.", None).unwrap()
}

/// `disk.test.` at `serial` with hosts h0..h`hosts` and `www` at `www`.
fn zone(serial: u32, hosts: u32, www: &str) -> Arc<Zone> {
    let mut text = format!(
        "$TTL 300\n@ SOA ns.disk.test. h.disk.test. {serial} 2 1 600 60\n@ NS ns\nns A 192.0.2.53\n\
         www A {www}\n"
    );
    for i in 0..hosts {
        text.push_str(&format!("h{i} A 198.51.100.{}\n", i % 250));
    }
    Arc::new(load_zone_text(text.as_bytes(), Path::new("t.zone"), &apex()).unwrap())
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

/// The IXFR from `a` to `b`, handed over as the zone task does.
fn diff(a: &Zone, b: &Arc<Zone>) -> ToDisk {
    let set = |z: &Zone| -> HashSet<OwnedRecord> {
        z.records()
            .filter(|r| r.rtype != Rtype::SOA)
            .map(|r| OwnedRecord::from_record(&r))
            .collect()
    };
    let (sa, sb) = (set(a), set(b));
    let step = Step {
        from: a.serial(),
        to: b.serial(),
        removed: sa.difference(&sb).cloned().collect(),
        added: sb.difference(&sa).cloned().collect(),
    };
    ToDisk::Diff {
        from: a.serial(),
        zone: Arc::clone(b),
        steps: Arc::from(vec![step]),
    }
}

/// The copy's inode (a rewrite renames a new file over it).
fn inode(dir: &Path) -> u64 {
    fs::metadata(dir.join(copy_name(&apex()))).unwrap().ino()
}

/// An AXFR writes the copy and an empty journal (both 0600); IXFRs are
/// appended to the journal, the copy left alone; loading replays them.
#[test]
fn ixfrs_are_appended_and_replayed() {
    let d = Dir::new("append");
    let mut disk = OnDisk::default();
    let v1 = zone(1, 200, "192.0.2.1");
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(v1.clone())]);
    let copy_ino = inode(&d.0);
    for file in [copy_name(&apex()), journal_name(&apex())] {
        let mode = fs::metadata(d.0.join(file)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let v2 = zone(2, 201, "192.0.2.1");
    let v3 = zone(3, 201, "192.0.2.3");
    let v4 = zone(4, 199, "192.0.2.3");
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v2)]);
    // Two versions handed over during a write go together.
    persist(&d.0, &apex(), &mut disk, &[diff(&v2, &v3), diff(&v3, &v4)]);
    assert_eq!(inode(&d.0), copy_ino);
    assert_eq!(disk.entries, 3);
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!(loaded.replayed, 3);
    assert!(!loaded.axfr_next);
    assert_eq!(loaded.zone.serial(), 4);
    assert_eq!(lines(&loaded.zone), lines(&v4));
    assert_eq!(loaded.disk, disk);
}

/// A journal past a quarter of the copy's size makes the next write a
/// rewrite of the copy at the newest version, and the journal empty.
#[test]
fn a_journal_past_its_bound_rewrites_the_copy() {
    let d = Dir::new("bound");
    let mut disk = OnDisk::default();
    let mut held = zone(1, 20, "192.0.2.1");
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(held.clone())]);
    let first = inode(&d.0);
    let mut rewritten_at = None;
    for serial in 2..40u32 {
        let next = zone(serial, 20 + serial, "192.0.2.1");
        persist(&d.0, &apex(), &mut disk, &[diff(&held, &next)]);
        held = next;
        if inode(&d.0) != first {
            rewritten_at = Some(serial);
            break;
        }
        assert!(disk.journal_bytes <= disk.copy_bytes / 4 + 400);
    }
    let at = rewritten_at.expect("the copy was rewritten");
    assert_eq!(disk.entries, 0);
    assert_eq!(disk.copy_serial, Some(at));
    let journal = fs::read(d.0.join(journal_name(&apex()))).unwrap();
    assert_eq!(journal, candor_xfr::copy_journal::header(at));
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!((loaded.replayed, loaded.zone.serial()), (0, at));
    assert_eq!(lines(&loaded.zone), lines(&held));
}

/// A torn last entry (a crash mid-append) is left out: the version
/// before it loads, and the next append cuts the tail off.
#[test]
fn a_torn_tail_loads_what_came_before() {
    let d = Dir::new("torn");
    let mut disk = OnDisk::default();
    let v1 = zone(1, 200, "192.0.2.1");
    let v2 = zone(2, 200, "192.0.2.2");
    let v3 = zone(3, 200, "192.0.2.3");
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(v1.clone())]);
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v2)]);
    let journal = d.0.join(journal_name(&apex()));
    let good = fs::read(&journal).unwrap();
    let mut after = disk;
    persist(&d.0, &apex(), &mut after, &[diff(&v2, &v3)]);
    let whole = fs::read(&journal).unwrap();
    fs::write(&journal, &whole[..whole.len() - 5]).unwrap();
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!((loaded.replayed, loaded.zone.serial()), (1, 2));
    assert_eq!(lines(&loaded.zone), lines(&v2));
    assert_eq!(loaded.disk, disk);
    // The next append goes where the good entries end.
    let mut disk = loaded.disk;
    persist(&d.0, &apex(), &mut disk, &[diff(&v2, &v3)]);
    assert_eq!(fs::read(&journal).unwrap(), whole);
    assert!(fs::read(&journal).unwrap().starts_with(&good));
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!(lines(&loaded.zone), lines(&v3));
}

/// A journal of an older copy (a crash after the copy's rename, before
/// the journal's reset) is not replayed: the copy is the newest.
#[test]
fn a_journal_of_an_older_copy_is_ignored() {
    let d = Dir::new("older");
    let mut disk = OnDisk::default();
    let v1 = zone(1, 10, "192.0.2.1");
    let v2 = zone(2, 10, "192.0.2.2");
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(v1.clone())]);
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v2)]);
    let journal = d.0.join(journal_name(&apex()));
    let old = fs::read(&journal).unwrap();
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(v2.clone())]);
    fs::write(&journal, old).unwrap();
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!((loaded.replayed, loaded.zone.serial()), (0, 2));
    assert!(!loaded.axfr_next);
    assert_eq!(lines(&loaded.zone), lines(&v2));
}

/// A journal whose entries do not chain from the copy: the copy alone is
/// served and the next transfer is an AXFR; the next IXFR handed over
/// starts the journal afresh.
#[test]
fn a_broken_chain_serves_the_copy_and_asks_for_axfr() {
    let d = Dir::new("chain");
    let mut disk = OnDisk::default();
    let v1 = zone(1, 10, "192.0.2.1");
    let v2 = zone(2, 10, "192.0.2.2");
    let v3 = zone(3, 10, "192.0.2.3");
    persist(&d.0, &apex(), &mut disk, &[ToDisk::Full(v1.clone())]);
    // An entry 2→3 appended where 1→2 should be.
    let ToDisk::Diff { steps, .. } = diff(&v2, &v3) else {
        unreachable!()
    };
    let soa = candor_xfr::client::soa_record(&v3).unwrap();
    let mut bytes = candor_xfr::copy_journal::header(1);
    bytes.extend(candor_xfr::copy_journal::entry(2, 3, &soa, &steps));
    fs::write(d.0.join(journal_name(&apex())), bytes).unwrap();
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert!(loaded.axfr_next);
    assert_eq!((loaded.replayed, loaded.zone.serial()), (0, 1));
    let mut disk = loaded.disk;
    assert_eq!(disk.journal_bytes, 0);
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v2)]);
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!((loaded.replayed, loaded.zone.serial()), (1, 2));
}

/// A version that does not follow what the disk holds is written whole.
#[test]
fn an_ixfr_from_elsewhere_is_written_whole() {
    let d = Dir::new("elsewhere");
    let mut disk = OnDisk::default();
    let v1 = zone(1, 10, "192.0.2.1");
    let v2 = zone(2, 10, "192.0.2.2");
    let v3 = zone(3, 10, "192.0.2.3");
    // Nothing on disk yet: an IXFR result is written whole.
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v2)]);
    assert_eq!((disk.copy_serial, disk.entries), (Some(2), 0));
    persist(&d.0, &apex(), &mut disk, &[diff(&v1, &v3)]);
    assert_eq!((disk.copy_serial, disk.entries), (Some(3), 0));
    let loaded = load(&d.0, &apex()).unwrap().unwrap();
    assert_eq!(lines(&loaded.zone), lines(&v3));
}
