//! Tests of the served zones' ALIAS targets: which targets are followed,
//! that a patched version costs its change (no walk) and reads as a walk
//! of the new version would, which changes move a target inside the
//! served zones (and which zones get a new serial for it), and that the
//! incremental outside set equals a full recompute over random series.

use std::path::Path;
use std::sync::Arc;

use candor_wire::{Name, Rtype};
use candor_zone::{ZoneSet, load_zone_text};

use super::*;

/// A lower-cased wire name.
fn wire(text: &str) -> Box<[u8]> {
    Name::from_text(text, None)
        .unwrap()
        .to_lowercase()
        .as_wire()
        .into()
}

/// An ALIAS record of `owner` (absolute) to `target`.
fn alias(owner: &str, target: &str) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner),
        rtype: ALIAS,
        ttl: 300,
        rdata: Name::from_text(target, None).unwrap().as_wire().into(),
    }
}

/// An RFC 3597 ALIAS line.
fn alias_line(owner: &str, target: &str) -> String {
    let wire = Name::from_text(target, None).unwrap();
    let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
    format!("{owner} TYPE65304 \\# {} {hex}\n", wire.wire_len())
}

/// Zone `apex` with `body` after its SOA and NS.
fn zone(apex: &str, body: &str) -> Arc<Zone> {
    let text = format!("$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n{body}");
    let origin = Name::from_text(apex, None).unwrap();
    Arc::new(load_zone_text(text.as_bytes(), Path::new("z.zone"), &origin).unwrap())
}

/// The next version of `z`: `removed` and `added`, serial + 1.
fn patched(z: &Arc<Zone>, removed: Vec<OwnedRecord>, added: Vec<OwnedRecord>) -> Arc<Zone> {
    let soa = z
        .records()
        .find(|r| r.rtype == Rtype::SOA)
        .map(|r| OwnedRecord::from_record(&r))
        .unwrap();
    let mut new_soa = soa.clone();
    let serial = z.serial() + 1;
    let at = new_soa.rdata.len() - 20;
    new_soa.rdata[at..at + 4].copy_from_slice(&serial.to_be_bytes());
    let diff = ZoneDiff {
        old_soa: soa,
        new_soa: new_soa.clone(),
        removed,
        added,
    };
    match z.apply_diff(&diff) {
        Ok(next) => Arc::new(next),
        // Changes the patch leaves to a rebuild (wildcards): an
        // unrelated version, as the store or a secondary makes it.
        Err(_) => {
            let mut b = candor_zone::ZoneBuilder::new(z.apex());
            let records = z
                .records()
                .map(|r| OwnedRecord::from_record(&r))
                .filter(|r| r.rtype != Rtype::SOA && !diff.removed.contains(r))
                .chain(diff.added.iter().cloned())
                .chain([new_soa]);
            for r in records {
                b.add(
                    &Name::from_wire(&r.owner).unwrap(),
                    r.rtype,
                    r.ttl,
                    &r.rdata,
                    None,
                );
            }
            Arc::new(b.finish().unwrap())
        }
    }
}

#[test]
fn targets_outside_every_served_zone_are_followed() {
    let mut body = alias_line("@", "www.b.");
    body.push_str(&alias_line("out", "WWW.Elsewhere.Test."));
    body.push_str(&alias_line("*.w", "www.elsewhere.test."));
    body.push_str(&alias_line("other", "cdn.example.net."));
    let a = zone("a.", &body);
    let b = zone("b.", "www A 192.0.2.7\n");
    let set = ZoneSet::from_zones([a, b]);
    let mut served = ServedTargets::default();
    let mut delta = served.update(&set);
    delta.outside_added.sort();
    // www.b. is served: the answer path finds it itself. The first read
    // moves nothing.
    assert_eq!(
        delta.outside_added,
        ["cdn.example.net", "www.elsewhere.test"]
    );
    assert!(delta.moved.is_empty() && delta.bump.is_empty());
    assert_eq!(served.outside(), ["cdn.example.net", "www.elsewhere.test"]);
    // Nothing changed: nothing is read again.
    assert!(served.update(&set).is_empty());
    assert_eq!(served.walks, 2);
    // Zone b. goes: www.b. is outside now, and a. flattened its address.
    let only_a = set.without(&wire("b."));
    let delta = served.update(&only_a);
    assert_eq!(delta.outside_added, ["www.b"]);
    assert_eq!(delta.moved, ["www.b"]);
    assert_eq!(delta.bump, ["a"]);
    assert_eq!(
        served.outside(),
        ["cdn.example.net", "www.b", "www.elsewhere.test"]
    );
    // Zone a. goes: nothing is followed.
    let mut delta = served.update(&ZoneSet::new());
    delta.outside_removed.sort();
    assert_eq!(
        delta.outside_removed,
        ["cdn.example.net", "www.b", "www.elsewhere.test"]
    );
    assert!(served.outside().is_empty());
}

#[test]
fn a_patched_version_costs_its_change_and_reads_as_a_walk() {
    let mut body = String::new();
    for i in 0..50 {
        body.push_str(&format!("h{i} A 192.0.2.{i}\n"));
    }
    body.push_str(&alias_line("one", "t1.out.test."));
    body.push_str(&alias_line("two", "t1.out.test."));
    body.push_str(&alias_line("three", "t2.out.test."));
    let v1 = zone("a.", &body);
    let mut served = ServedTargets::default();
    served.update(&ZoneSet::from_zones([v1.clone()]));
    assert_eq!(served.walks, 1);

    // One of two ALIAS records to t1 goes: t1 is still followed.
    let v2 = patched(&v1, vec![alias("one.a.", "t1.out.test.")], Vec::new());
    let set = ZoneSet::from_zones([v2.clone()]);
    assert!(served.update(&set).is_empty());
    assert_eq!(served.outside(), ["t1.out.test", "t2.out.test"]);
    // The second goes and a new target comes (at a new name).
    let v3 = patched(
        &v2,
        vec![alias("two.a.", "t1.out.test.")],
        vec![alias("four.a.", "T3.Out.Test.")],
    );
    let set = ZoneSet::from_zones([v3.clone()]);
    let delta = served.update(&set);
    assert_eq!(delta.outside_removed, ["t1.out.test"]);
    assert_eq!(delta.outside_added, ["t3.out.test"]);
    assert_eq!(served.outside(), ["t2.out.test", "t3.out.test"]);
    // A compaction of that version (same records, a new base).
    let v4 = Arc::new(v3.compact().unwrap());
    let set = ZoneSet::from_zones([v4.clone()]);
    assert!(served.update(&set).is_empty());
    assert_eq!(
        served.walks, 1,
        "patched and compacted versions cost their change"
    );
    // The same as walking the last version.
    let mut fresh = ServedTargets::default();
    fresh.update(&set);
    assert_eq!(fresh.outside(), served.outside());
    assert_eq!(
        fresh.zones[&wire("a.")].targets,
        served.zones[&wire("a.")].targets
    );
    // An unrelated version of the zone (a new AXFR) is walked.
    let set = ZoneSet::from_zones([zone("a.", &alias_line("x", "t9.out.test."))]);
    let mut delta = served.update(&set);
    delta.outside_removed.sort();
    assert_eq!(delta.outside_removed, ["t2.out.test", "t3.out.test"]);
    assert_eq!(delta.outside_added, ["t9.out.test"]);
    assert_eq!(served.walks, 2);
    assert_eq!(served.outside(), ["t9.out.test"]);
}

/// An A record of `owner` (absolute).
fn a(owner: &str, last: u8) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner),
        rtype: Rtype::A,
        ttl: 300,
        rdata: Box::new([192, 0, 2, last]),
    }
}

/// A CNAME record of `owner` (absolute) to `target`.
fn cname(owner: &str, target: &str) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner),
        rtype: Rtype::CNAME,
        ttl: 300,
        rdata: Name::from_text(target, None).unwrap().as_wire().into(),
    }
}

/// A TXT record of `owner` (absolute).
fn txt(owner: &str) -> OwnedRecord {
    OwnedRecord {
        owner: wire(owner),
        rtype: Rtype::TXT,
        ttl: 300,
        rdata: Box::new(*b"\x02hi"),
    }
}

/// `zones` with `zone` in place of the zone of the same apex.
fn with(set: &ZoneSet, zone: &Arc<Zone>) -> ZoneSet {
    let mut set = set.without(zone.apex().as_wire());
    set.insert(zone.clone());
    set
}

#[test]
fn a_target_in_another_served_zone_that_changes_its_address_bumps_the_zones_pointing_at_it() {
    let mut body = alias_line("www", "host.b.");
    body.push_str(&alias_line("api", "Host.B."));
    let za = zone("a.", &body);
    let c = zone("c.", &alias_line("@", "host.b."));
    let mut hosts = String::from("host A 192.0.2.10\n");
    for i in 0..200 {
        hosts.push_str(&format!("n{i} A 192.0.2.{}\n", i % 250));
        hosts.push_str(&format!("x{i} ALIAS-TO\n"));
    }
    // Many other targets in b., so a change's cost shows.
    let hosts: String = hosts
        .lines()
        .map(|l| match l.strip_suffix(" ALIAS-TO") {
            Some(owner) => alias_line(owner, &format!("{owner}.b.")),
            None => format!("{l}\n"),
        })
        .collect();
    let zb = zone("b.", &hosts);
    let mut set = ZoneSet::from_zones([za.clone(), zb.clone(), c]);
    let mut served = ServedTargets::default();
    served.update(&set);
    let probes = served.probes;

    // host.b.'s address changes: a. and c. need a new serial.
    let b2 = patched(&zb, vec![a("host.b.", 10)], vec![a("host.b.", 11)]);
    set = with(&set, &b2);
    let delta = served.update(&set);
    assert_eq!(delta.moved, ["host.b"]);
    assert_eq!(delta.bump, ["a", "c"]);
    assert!(delta.outside_added.is_empty() && delta.outside_removed.is_empty());
    assert_eq!(served.probes - probes, 1, "only host.b. is looked at again");

    // Another record at the name, or another name's address: no move.
    let b3 = patched(&b2, Vec::new(), vec![txt("host.b."), a("n7.b.", 99)]);
    set = with(&set, &b3);
    let delta = served.update(&set);
    assert!(delta.moved.is_empty(), "{delta:?}");
    // n7.b. is itself a target? No: x7.b. is; its name has no records.
    // A new serial of a. or c. (the SOA alone) moves nothing.
    let a2 = patched(&za, Vec::new(), Vec::new());
    set = with(&set, &a2);
    assert!(served.update(&set).is_empty());
    // The target disappears, then comes back.
    let b4 = patched(&b3, vec![a("host.b.", 11), txt("host.b.")], Vec::new());
    set = with(&set, &b4);
    assert_eq!(served.update(&set).bump, ["a", "c"]);
    let b5 = patched(&b4, Vec::new(), vec![a("host.b.", 12)]);
    set = with(&set, &b5);
    assert_eq!(served.update(&set).bump, ["a", "c"]);
    assert_eq!(served.walks, 3, "patched versions are not walked");
}

#[test]
fn cname_chains_wildcards_and_names_appearing_move_their_targets() {
    let mut body = alias_line("chain", "alias.b.");
    body.push_str(&alias_line("wild", "x.w.b."));
    body.push_str(&alias_line("later", "new.b."));
    let za = zone("a.", &body);
    let zb = zone(
        "b.",
        "alias CNAME mid\nmid CNAME host\nhost A 192.0.2.1\n*.w A 192.0.2.2\n",
    );
    let mut set = ZoneSet::from_zones([za, zb.clone()]);
    let mut served = ServedTargets::default();
    served.update(&set);

    // The end of a CNAME chain changes.
    let b2 = patched(&zb, vec![a("host.b.", 1)], vec![a("host.b.", 3)]);
    set = with(&set, &b2);
    assert_eq!(served.update(&set).moved, ["alias.b"]);
    // A link of the chain changes.
    let b3 = patched(
        &b2,
        vec![cname("mid.b.", "host.b.")],
        vec![cname("mid.b.", "other.b."), a("other.b.", 4)],
    );
    set = with(&set, &b3);
    assert_eq!(served.update(&set).moved, ["alias.b"]);
    // The wildcard's address changes.
    let b4 = patched(&b3, vec![a("*.w.b.", 2)], vec![a("*.w.b.", 5)]);
    set = with(&set, &b4);
    assert_eq!(served.update(&set).moved, ["x.w.b"]);
    // A name below the target makes it an empty non-terminal: the
    // wildcard no longer matches it.
    let b5 = patched(&b4, Vec::new(), vec![a("y.x.w.b.", 6)]);
    set = with(&set, &b5);
    assert_eq!(served.update(&set).moved, ["x.w.b"]);
    // A target that did not exist appears.
    let b6 = patched(&b5, Vec::new(), vec![a("new.b.", 7)]);
    set = with(&set, &b6);
    let delta = served.update(&set);
    assert_eq!(delta.moved, ["new.b"]);
    assert_eq!(delta.bump, ["a"]);
}

#[test]
fn targets_in_their_own_zone_and_aliases_at_each_other_never_ping_pong() {
    // a. points at itself and at b.'s ALIAS owner, b. at a.'s.
    let mut body = alias_line("www", "www.b.");
    body.push_str(&alias_line("self", "self.a."));
    body.push_str(&alias_line("mine", "host.a."));
    body.push_str("host A 192.0.2.1\n");
    let za = zone("a.", &body);
    let zb = zone("b.", &alias_line("www", "www.a."));
    let mut set = ZoneSet::from_zones([za.clone(), zb.clone()]);
    let mut served = ServedTargets::default();
    served.update(&set);
    // A target in the ALIAS owner's own zone changes: the zone has a new
    // version already, no bump.
    let a2 = patched(&za, vec![a("host.a.", 1)], vec![a("host.a.", 2)]);
    set = with(&set, &a2);
    let delta = served.update(&set);
    assert_eq!(delta.moved, ["host.a"]);
    assert!(delta.bump.is_empty());
    // New serials (what a bump publishes) move nothing, in any order.
    for _ in 0..3 {
        let (a3, b3) = (
            patched(set.get(&wire("a.")).unwrap(), Vec::new(), Vec::new()),
            patched(set.get(&wire("b.")).unwrap(), Vec::new(), Vec::new()),
        );
        set = with(&set, &a3);
        assert!(served.update(&set).is_empty());
        set = with(&set, &b3);
        assert!(served.update(&set).is_empty());
    }
    // Changing an ALIAS record (not an address) moves no target either.
    let b4 = patched(
        set.get(&wire("b.")).unwrap(),
        vec![alias("www.b.", "www.a.")],
        vec![alias("www.b.", "self.a.")],
    );
    set = with(&set, &b4);
    let delta = served.update(&set);
    assert!(delta.moved.is_empty() && delta.bump.is_empty(), "{delta:?}");
}

#[test]
fn a_zone_that_comes_takes_its_targets_inside() {
    let za = zone("a.", &alias_line("www", "host.b."));
    let mut served = ServedTargets::default();
    let set = ZoneSet::from_zones([za]);
    assert_eq!(served.update(&set).outside_added, ["host.b"]);
    let set = with(&set, &zone("b.", "host A 192.0.2.1\n"));
    let delta = served.update(&set);
    assert_eq!(delta.outside_removed, ["host.b"]);
    assert_eq!(delta.moved, ["host.b"]);
    assert_eq!(delta.bump, ["a"]);
    assert!(served.outside().is_empty());
}

/// Each target's place as a fresh read of `set` finds it.
fn places(s: &ServedTargets) -> Vec<(Box<[u8]>, Place)> {
    s.all
        .iter()
        .map(|(k, t)| (k.clone(), t.place.clone()))
        .collect()
}

/// A small deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    /// A number below `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

#[test]
fn the_incremental_outside_set_and_moves_equal_a_full_recompute() {
    // Zones z0..z3 (z3 comes and goes), names n0..n5 in each; records:
    // ALIAS at aK to random names of the zones or outside, A/CNAME at nK.
    const APEXES: [&str; 4] = ["z0.", "z1.", "z2.", "z3."];
    let (mut moves, mut patched_moves, mut outside_changes) = (0, 0, 0);
    for seed in 0..20u64 {
        let mut rng = Random(seed);
        let target = |rng: &mut Random| -> String {
            let z = rng.below(5);
            match (z, rng.below(4)) {
                (4, _) => format!("n{}.out.", rng.below(3)),
                // Names a wildcard may match.
                (_, 0) => format!("n{}.n{}.{}", rng.below(6), rng.below(6), APEXES[z as usize]),
                // CNAME owners.
                (_, 1) => format!("c{}.{}", rng.below(3), APEXES[z as usize]),
                _ => format!("n{}.{}", rng.below(6), APEXES[z as usize]),
            }
        };
        let mut set = ZoneSet::from_zones(APEXES[..3].iter().map(|a| zone(a, "")));
        let mut served = ServedTargets::default();
        served.update(&set);
        for round in 0..60 {
            let before = {
                let mut fresh = ServedTargets::default();
                fresh.update(&set);
                places(&fresh)
            };
            let z = rng.below(4) as usize;
            let apex = APEXES[z];
            match set.get(&wire(apex)).cloned() {
                None => set = with(&set, &zone(apex, "n0 A 192.0.2.1\n")),
                Some(_) if z == 3 && rng.below(4) == 0 => set = set.without(&wire(apex)),
                Some(old) => {
                    // Remove one record of the zone's or add one.
                    let records: Vec<OwnedRecord> = old
                        .records()
                        .map(|r| OwnedRecord::from_record(&r))
                        .filter(|r| [Rtype::A, Rtype::CNAME, ALIAS].contains(&r.rtype))
                        .collect();
                    let (mut removed, mut added) = (Vec::new(), Vec::new());
                    if !records.is_empty() && rng.below(3) == 0 {
                        removed.push(records[rng.below(records.len() as u64) as usize].clone());
                    } else {
                        let owner = rng.below(6);
                        let last = rng.below(3) as u8;
                        let candidate = match rng.below(12) {
                            0..=3 => alias(&format!("a{owner}.{apex}"), &target(&mut rng)),
                            4..=6 => a(&format!("n{owner}.{apex}"), last),
                            // Wildcards (rarer: a zone with one is
                            // rebuilt, not patched), names under names.
                            7 if rng.below(3) == 0 => a(&format!("*.n{owner}.{apex}"), last),
                            7 | 8 => a(&format!("n{}.n{owner}.{apex}", rng.below(6)), last),
                            // Chains inside the zone, mostly.
                            _ if rng.below(3) == 0 => {
                                cname(&format!("c{}.{apex}", owner % 3), &target(&mut rng))
                            }
                            _ => cname(
                                &format!("c{}.{apex}", owner % 3),
                                &format!(
                                    "{}{}.{apex}",
                                    ["n", "c"][rng.below(2) as usize],
                                    rng.below(6)
                                ),
                            ),
                        };
                        // Keep the zone valid: nothing beside a CNAME,
                        // one ALIAS per name.
                        let busy = records.iter().any(|r| {
                            r.owner == candidate.owner
                                && (r.rtype == Rtype::CNAME
                                    || candidate.rtype == Rtype::CNAME
                                    || r.rtype == ALIAS && candidate.rtype == ALIAS)
                        });
                        if !busy && !records.contains(&candidate) {
                            added.push(candidate);
                        }
                    }
                    set = with(&set, &patched(&old, removed, added));
                }
            }
            let walks = served.walks;
            let delta = served.update(&set);
            let mut fresh = ServedTargets::default();
            fresh.update(&set);
            assert_eq!(
                served.outside(),
                fresh.outside(),
                "seed {seed} round {round}"
            );
            let after = places(&fresh);
            assert_eq!(places(&served), after, "seed {seed} round {round}");
            // Moved: the targets followed before and after whose place
            // differs.
            let mut want: Vec<String> = after
                .iter()
                .filter(|(k, p)| before.iter().any(|(b, q)| b == k && q != p))
                .map(|(k, _)| served.all[k].text.clone())
                .collect();
            want.sort();
            assert_eq!(delta.moved, want, "seed {seed} round {round}");
            moves += want.len();
            if served.walks == walks {
                patched_moves += want.len();
            }
            outside_changes += delta.outside_added.len() + delta.outside_removed.len();
        }
    }
    // The series did exercise both, moves in patched versions too.
    assert!(
        moves > 20 && patched_moves > 10 && outside_changes > 40,
        "{moves} {patched_moves} {outside_changes}"
    );
}
