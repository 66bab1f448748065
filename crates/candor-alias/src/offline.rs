//! Signed ALIAS answers made outside `candor serve`, for `candor dnssec
//! export` (docs/dnssec.md, "Synthesized answers"): the same answers the
//! ALIAS task would publish, made once from the store.
//!
//! [`outside_targets`] says which ALIAS targets of a zone no zone of a
//! [`ZoneSet`] holds (the caller adds the store's zones that hold the
//! others first); [`resolve_targets`] asks the upstreams for those with
//! the task's own lookup; [`signed_answers`] plans and signs every ALIAS
//! owner of the zone with [`sign`] exactly as the task does, and returns
//! the [`AliasTable`] the transfer view (`candor_xfr::view`) reads, so the
//! exported file is what a standard secondary would get by AXFR.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use candor_answer::{AliasEntry, AliasTable, LocalTarget, local_alias_target};
use candor_dnssec::SigningKey;
use candor_wire::{Name, Rtype};
use candor_zone::{ALIAS, Zone, ZoneSet};

use crate::sign::{self, Signer, rdatas};
use crate::{AliasSettings, AliasStats};

/// The targets (lower-cased wire names, sorted, once each) of `zone`'s
/// ALIAS records that no zone of `zones` holds.
pub fn outside_targets(zone: &Zone, zones: &ZoneSet) -> Vec<Box<[u8]>> {
    let mut out: Vec<Box<[u8]>> = alias_targets(zone)
        .into_iter()
        .filter(|t| matches!(local_alias_target(zones, t, Rtype::A), LocalTarget::Outside))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The targets (lower-cased wire names) of `zone`'s ALIAS records.
pub fn alias_targets(zone: &Zone) -> Vec<Box<[u8]>> {
    zone.records()
        .filter(|r| r.rtype == ALIAS)
        .filter_map(|r| rdatas_first(r.rdata))
        .collect()
}

/// An ALIAS record's target from its RDATA (one wire name), lower-cased.
fn rdatas_first(rdata: &[u8]) -> Option<Box<[u8]>> {
    let len = candor_wire::wire_name_len(rdata)?;
    Some(rdata.get(..len)?.to_ascii_lowercase().into())
}

/// Looks every target (lower-cased wire names) up at `upstreams` (tried in
/// order, `timeout` per query) with the ALIAS task's lookup; a target no
/// upstream answered usefully maps to `None`.
pub async fn resolve_targets(
    targets: &[Box<[u8]>],
    upstreams: &[SocketAddr],
    timeout: Duration,
) -> HashMap<Box<[u8]>, Option<AliasEntry>> {
    let settings = AliasSettings {
        upstreams: upstreams.to_vec(),
        ttl_floor: Duration::ZERO,
        ttl_ceiling: Duration::MAX,
        max_stale: Duration::ZERO,
        timeout,
        max_concurrent: 1,
        max_per_second: u32::MAX,
    };
    let stats = AliasStats::default();
    let mut out = HashMap::new();
    for target in targets {
        let entry = match Name::from_wire(target) {
            Ok(name) => {
                let text = name.to_string();
                let text = text.strip_suffix('.').unwrap_or(&text).to_owned();
                crate::resolve(&text, &settings, &stats).await
            }
            Err(_) => None,
        };
        out.insert(target.clone(), entry);
    }
    out
}

/// Why [`signed_answers`] could not sign an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    /// The owner, in presentation form.
    pub owner: String,
    /// Why.
    pub why: String,
}

/// Signs every ALIAS owner of `zone` (a signed zone in `zones`, which also
/// holds the zones of its in-Candor targets) at `now` with `keys` (the
/// zone's data-signing keys, `Store::zone_signing_keys`), targets outside
/// `zones` answered by `resolved`, the TTL capped at `ttl_cap` as the task
/// does: the table of signed answers the transfer view reads. An owner
/// whose target was never resolved has nothing to sign and is left out;
/// the caller checks [`outside_targets`] first.
pub fn signed_answers(
    zone: &Zone,
    zones: &ZoneSet,
    resolved: &dyn Fn(&[u8]) -> Option<AliasEntry>,
    keys: &[SigningKey],
    ttl_cap: u32,
    now: u64,
) -> Result<AliasTable, Vec<Unsigned>> {
    let mut signer = Signer::new(ttl_cap);
    let (wants, _) = signer.plan(zones, resolved, now);
    let mut failed = Vec::new();
    for want in wants
        .into_iter()
        .filter(|w| &*w.apex == zone.apex().as_wire())
    {
        let owner = || Name::from_wire(&want.owner).map_or_else(|_| "?".into(), |n| n.to_string());
        match sign::sign(&want, keys, now) {
            Some(Ok(answer)) => signer.complete(want, now, answer),
            Some(Err(e)) => failed.push(Unsigned {
                owner: owner(),
                why: e.to_string(),
            }),
            None => failed.push(Unsigned {
                owner: owner(),
                why: "no key of the store is published in the zone's DNSKEY RRset".into(),
            }),
        }
    }
    if !failed.is_empty() {
        return Err(failed);
    }
    Ok(AliasTable::default().with_signed(signer.published()))
}

/// The owners (presentation form) of `zone`'s ALIAS records to `target`
/// (a wire name, any case), for error messages.
pub fn owners_of(zone: &Zone, target: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for id in 0..zone.node_count() as candor_zone::NodeId {
        let node = zone.node(id);
        let Some(set) = zone.rrset(node, ALIAS) else {
            continue;
        };
        if rdatas(zone.tails(set)).any(|r| r.eq_ignore_ascii_case(target))
            && let Ok(name) = Name::from_wire(zone.name_bytes(id))
        {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::path::Path;
    use std::sync::Arc;

    use candor_dnssec::{
        Algorithm, KeyRole, SigningPolicy, compile_signed, sign_zone, verify_rrset,
    };
    use candor_zone::load_zone_text;

    use super::*;

    /// When the tests sign (2025-12-05).
    const NOW: u64 = 1_764_900_000;

    /// An RFC 3597 ALIAS line.
    fn alias_line(owner: &str, target: &str) -> String {
        let wire = Name::from_text(target, None).unwrap();
        let hex: String = wire.as_wire().iter().map(|b| format!("{b:02x}")).collect();
        format!("{owner} TYPE65304 \\# {} {hex}\n", wire.wire_len())
    }

    /// A lower-cased wire name.
    fn wire(text: &str) -> Box<[u8]> {
        Name::from_text(text, None).unwrap().as_wire().into()
    }

    /// Zone `a.` signed with `key` (an ALIAS to `www.b.`, one to
    /// `www.elsewhere.test.`) and zone `b.` (unsigned, `www` with an A).
    fn zones(key: &SigningKey) -> (Arc<Zone>, ZoneSet) {
        let mut a = String::from("$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
        a.push_str(&alias_line("@", "WWW.b."));
        a.push_str(&alias_line("out", "www.elsewhere.test."));
        let origin = Name::from_text("a.", None).unwrap();
        let plain = load_zone_text(a.as_bytes(), Path::new("a.zone"), &origin).unwrap();
        let signed = sign_zone(
            &plain,
            std::slice::from_ref(key),
            &SigningPolicy::default(),
            NOW,
            NonZeroUsize::MIN,
        )
        .unwrap();
        let a = Arc::new(compile_signed(&plain, &signed).unwrap());
        let b = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n";
        let origin = Name::from_text("b.", None).unwrap();
        let b = load_zone_text(b.as_bytes(), Path::new("b.zone"), &origin).unwrap();
        (a.clone(), ZoneSet::from_zones([a, Arc::new(b)]))
    }

    /// Targets outside the set are found (in-set ones are not, case does
    /// not matter), and every owner is signed as the task signs it: the
    /// in-zone target's A with a signature that verifies, the outside
    /// one's from the resolver's answer, and a family the target lacks
    /// proven by the rewritten NSEC. A key the zone does not publish signs
    /// nothing and says which owner failed.
    #[test]
    fn signs_every_owner_of_an_exported_zone() {
        let rng = ring::rand::SystemRandom::new();
        let key = SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).unwrap();
        let (a, set) = zones(&key);
        assert_eq!(outside_targets(&a, &set), vec![wire("www.elsewhere.test.")]);
        assert_eq!(owners_of(&a, &wire("www.elsewhere.test.")), ["out.a."]);
        let resolved = |t: &[u8]| {
            (t == &*wire("www.elsewhere.test.")).then(|| AliasEntry {
                exists: true,
                v4: vec![[198, 51, 100, 7]],
                v6: vec![],
                ttl: 42,
            })
        };
        let table =
            signed_answers(&a, &set, &resolved, std::slice::from_ref(&key), 3600, NOW).unwrap();
        assert_eq!(table.signed_len(), 2);
        let apex = table.signed(&wire("a.")).unwrap();
        let set_a = apex.a.as_ref().unwrap();
        let rdata: Vec<&[u8]> = rdatas(&set_a.tails).collect();
        assert_eq!(rdata, [&[192, 0, 2, 80][..]]);
        let sig = rdatas(&set_a.sigs).next().unwrap();
        assert!(verify_rrset(
            key.dnskey_rdata(),
            &wire("a."),
            Rtype::A,
            &rdata,
            sig
        ));
        let out = table.signed(&wire("out.a.")).unwrap();
        assert!(out.a.is_some() && out.aaaa.is_none() && out.nsec.is_some());

        let other = SigningKey::generate(Algorithm::Ed25519, KeyRole::Csk, &rng).unwrap();
        let failed = signed_answers(&a, &set, &resolved, &[other], 3600, NOW).unwrap_err();
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(failed.iter().any(|f| f.owner == "out.a."), "{failed:?}");
    }
}
