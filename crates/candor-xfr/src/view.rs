//! What a standard secondary (Knot, NSD, BIND, ...) receives of a zone:
//! every record the zone serves, with Candor's private types replaced by
//! what they stand for, since no other server knows them.
//!
//! - An ALIAS becomes the current A and AAAA records of its target, as a
//!   query for them would be answered: a target in a served zone is looked
//!   up there (CNAMEs followed inside its zone, at most 12), one outside
//!   comes from the background resolver's table. A target nobody knows
//!   yet (never resolved, or no resolver configured) gives no records: the
//!   secondary answers NODATA where Candor answers SERVFAIL, until the
//!   next transfer after the resolver has seen the target.
//! - A POOL becomes a CNAME to one of its members: the first in canonical
//!   order. The choice is stable, so a secondary's copy changes only when
//!   the pool does; Candor itself keeps spreading queries over every
//!   member, the secondary always sends them to the first.
//!
//! In a signed zone every record sent is covered by the zone's own
//! signatures, none made here (docs/dnssec.md, "Synthesized answers"):
//!
//! - An ALIAS owner's A and AAAA are the signed answer the ALIAS signer
//!   published for it (`AliasTable::signed`: the addresses with their
//!   RRSIGs, exactly what DO=1 queries get), and its NSEC is the signer's
//!   rewrite without a family the target lacks, while the zone's NSEC
//!   there is still the one it was made from (else the zone's). Until
//!   the signer has signed an owner (a moment after start-up or after the
//!   record is added) no addresses go out for it, never unsigned ones:
//!   the journal holds such a version back from secondaries for a moment
//!   ([`unsigned_alias_owners`], `Journal::observe_at`) and transfers of
//!   it wait, so this is what is sent only when the signer cannot sign
//!   (the target never resolved, the keys unusable). Then a validator
//!   fails that owner's A and AAAA either way (the zone's NSEC there lists
//!   them); unsigned addresses would make the whole zone fail
//!   verification (a secondary that validates what it loads refuses it).
//! - A POOL's CNAME carries its member's precompiled RRSIGs (the signer
//!   signed each member on its own, in member order).
//! - URL records are already the redirector's A and AAAA records in the
//!   compiled zone (the store compiles them that way), so nothing is left
//!   to do for them here.
//! - REGIONAL records (records limited to regions, kept at the apex) are
//!   left out: a standard secondary serves the global view.
//!
//! A Candor secondary that asks for it gets the Candor view instead
//! ([`Records::Candor`]): the records as compiled, private types included,
//! which it serves and synthesizes from as the primary does.

use candor_answer::{AliasTable, SignedAlias};
use candor_wire::{Class, Rtype};
use candor_zone::{
    ALIAS, Lookup, NodeId, OwnedRecord, POOL, REGIONAL, Zone, ZoneSet, is_private_type,
};

/// Longest CNAME chain followed from an ALIAS target, as the answer path
/// does.
const MAX_CHAIN: usize = 12;

/// Most addresses of one type taken from the resolver's table, as the
/// answer path does.
const MAX_ADDRESSES: usize = 16;

/// What private types are resolved against.
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    /// The served zones (ALIAS targets in any of them are looked up there).
    pub zones: &'a ZoneSet,
    /// ALIAS targets outside them, as the background resolver last saw them.
    pub aliases: &'a AliasTable,
}

/// Which records of a node to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    /// Everything a secondary receives (the SOA excepted: transfers place
    /// it themselves).
    All,
    /// Only the records that stand for private types.
    Synthesized,
    /// What a Candor secondary receives (the Candor view,
    /// docs/regions.md): every record as compiled, ALIAS, POOL and REGIONAL
    /// records as themselves (the SOA excepted, as for `All`).
    Candor,
}

/// Appends to `out` the records of node `id` of `zone` (see [`Records`]),
/// as RR tails: TYPE, CLASS, TTL, RDLENGTH and RDATA, back to back.
/// Returns how many records were appended.
pub fn node_records(
    zone: &Zone,
    id: NodeId,
    resolver: Resolver<'_>,
    which: Records,
    out: &mut Vec<u8>,
) -> usize {
    let node = zone.node(id);
    let sets = zone.rrsets(node);
    let mut count = 0;
    if which == Records::Candor {
        for set in sets {
            if set.rtype != Rtype::SOA {
                out.extend_from_slice(zone.tails(set));
                count += usize::from(set.count);
            }
            count += push_sigs(out, zone.sig_tails(set));
        }
        return count;
    }
    // At an ALIAS owner of a signed zone: what the signer published for
    // it (`Some(None)` while it has not signed it yet).
    let signed_alias = (zone.signed().is_some() && sets.iter().any(|s| s.rtype == ALIAS))
        .then(|| resolver.aliases.signed(zone.name_bytes(id)));
    for set in sets {
        match set.rtype {
            // REGIONAL records are for Candor secondaries only.
            REGIONAL => {}
            // Transfers place the SOA themselves; its RRSIGs go here.
            Rtype::SOA if which == Records::All => {
                count += push_sigs(out, zone.sig_tails(set));
            }
            Rtype::SOA => {}
            POOL => {
                if let Some(first) = first_rdata(zone.tails(set)) {
                    push_tail(out, Rtype::CNAME, set.ttl, first);
                    count += 1;
                    count += push_sigs(out, member_sigs(zone.sig_tails(set), set.count, 0));
                }
            }
            ALIAS => {
                let Some(target) = first_rdata(zone.tails(set)) else {
                    continue;
                };
                for rtype in [Rtype::A, Rtype::AAAA] {
                    // The zone builder refuses an ALIAS beside A or AAAA
                    // records; should one exist anyway, it is what queries
                    // get, and what the secondary gets.
                    if sets.iter().any(|s| s.rtype == rtype) {
                        continue;
                    }
                    count += match signed_alias {
                        Some(Some(signed)) => push_signed_family(out, signed, rtype),
                        // A signed zone never sends unsigned addresses
                        // (module docs).
                        Some(None) => 0,
                        None => alias_records(zone, resolver, target, rtype, out),
                    };
                }
            }
            // The NSEC at a signed ALIAS owner stands for the ALIAS too: it
            // must list exactly the families sent.
            Rtype::NSEC if signed_alias.is_some() => {
                let current = first_rdata(zone.tails(set));
                match signed_alias.flatten().and_then(|s| s.nsec.as_ref()) {
                    Some(nsec) if current == Some(&nsec.base[..]) => {
                        out.extend_from_slice(&nsec.set.tails);
                        out.extend_from_slice(&nsec.set.sigs);
                        count += usize::from(nsec.set.count) + usize::from(nsec.set.sig_count);
                    }
                    _ => {
                        out.extend_from_slice(zone.tails(set));
                        count += usize::from(set.count);
                        count += push_sigs(out, zone.sig_tails(set));
                    }
                }
            }
            _ if which == Records::All => {
                out.extend_from_slice(zone.tails(set));
                count += usize::from(set.count);
                // A signed zone's RRSIGs over the RRset follow it.
                count += push_sigs(out, zone.sig_tails(set));
            }
            _ => {}
        }
    }
    count
}

/// Appends a block of RRSIG tails; returns how many records it held.
fn push_sigs(out: &mut Vec<u8>, sigs: &[u8]) -> usize {
    out.extend_from_slice(sigs);
    usize::from(candor_zone::tail_count(sigs))
}

/// Appends the signed `rtype` (A or AAAA) RRset of a signed ALIAS answer
/// with its RRSIGs; returns how many records (none: the target has no
/// address of that family).
fn push_signed_family(out: &mut Vec<u8>, signed: &SignedAlias, rtype: Rtype) -> usize {
    let family = if rtype == Rtype::A {
        &signed.a
    } else {
        &signed.aaaa
    };
    let Some(set) = family else {
        return 0;
    };
    out.extend_from_slice(&set.tails);
    out.extend_from_slice(&set.sigs);
    usize::from(set.count) + usize::from(set.sig_count)
}

/// The RRSIGs of POOL member `pick` among the RRSIG tails `sigs` over a
/// POOL of `members` members: the signer signs each member's CNAME on its
/// own, so the signatures come as one run per member, in member order, as
/// the answer path reads them (`candor-answer`'s `pool_sigs`). Empty when
/// they are not runs of one size (an unsigned zone).
fn member_sigs(sigs: &[u8], members: u16, pick: usize) -> &[u8] {
    let members = usize::from(members.max(1));
    let total = usize::from(candor_zone::tail_count(sigs));
    let per = total / members;
    if per == 0 || per * members != total {
        return &[];
    }
    let (start, end) = (
        skip_tails(sigs, pick * per),
        skip_tails(sigs, (pick + 1) * per),
    );
    sigs.get(start..end).unwrap_or(&[])
}

/// The offset of RR tail `n` in a block of tails (the block's length when
/// it holds fewer).
fn skip_tails(tails: &[u8], n: usize) -> usize {
    let mut at = 0;
    for _ in 0..n {
        match next_tail(&tails[at..]) {
            Some((_, _, _, len)) => at += len,
            None => break,
        }
    }
    at
}

/// Whether one of a zone's own records (as `Zone::records` and
/// `ZoneDiff` give them: lower-cased owner, RRSIGs as records) is one a
/// standard secondary gets something else for at its node, so that a
/// step of the journal takes it from [`node_records`]'s
/// [`Records::Synthesized`] instead: the private types themselves, the
/// RRSIGs over a POOL's member CNAMEs, and at an ALIAS owner of a signed
/// zone its NSEC and the RRSIGs over that.
pub fn stands_in(zone: &Zone, owner: &[u8], rtype: Rtype, rdata: &[u8]) -> bool {
    if is_private_type(rtype) {
        return true;
    }
    let covered = match rtype {
        Rtype::NSEC => Rtype::NSEC,
        Rtype::RRSIG => match rdata.get(..2) {
            Some(c) => Rtype(u16::from_be_bytes([c[0], c[1]])),
            None => return false,
        },
        _ => return false,
    };
    let Some(id) = zone.node_by_name(owner) else {
        return false;
    };
    let sets = zone.rrsets(zone.node(id));
    let has = |t: Rtype| sets.iter().any(|s| s.rtype == t);
    covered == Rtype::CNAME && has(POOL)
        || covered == Rtype::NSEC && zone.signed().is_some() && has(ALIAS)
}

/// The ALIAS owners (lower-cased wire names) of a signed `zone` whose
/// signed answer a transfer cannot send yet: the signer has not signed
/// them (`aliases` has no answer for them), or signed them against
/// another NSEC than the zone's at the owner while the answer needs its
/// rewrite of it (a family is missing). Empty for an unsigned zone. Reads
/// every node: run it off the answer path, once per zone version.
pub fn unsigned_alias_owners(zone: &Zone, aliases: &AliasTable) -> Vec<Box<[u8]>> {
    let mut out = Vec::new();
    if zone.signed().is_none() {
        return out;
    }
    for id in 0..zone.node_count() as NodeId {
        let node = zone.node(id);
        if zone.rrset(node, ALIAS).is_none() {
            continue;
        }
        let owner = zone.name_bytes(id);
        let ready = aliases.signed(owner).is_some_and(|signed| {
            signed.nsec.as_ref().is_none_or(|nsec| {
                let current = zone
                    .rrset(node, Rtype::NSEC)
                    .and_then(|s| first_rdata(zone.tails(s)));
                current == Some(&nsec.base[..])
            })
        });
        if !ready {
            out.push(owner.into());
        }
    }
    out
}

/// Every record of `zone` as a standard secondary receives it (see the
/// module docs), the SOA first: what an AXFR carries, as records, for
/// whole-zone work off the query path (`candor dnssec export`).
pub fn standard_records(zone: &Zone, resolver: Resolver<'_>) -> Vec<OwnedRecord> {
    let mut all = vec![crate::journal::zone_soa(zone)];
    let mut tails = Vec::new();
    for id in 0..zone.node_count() as NodeId {
        tails.clear();
        node_records(zone, id, resolver, Records::All, &mut tails);
        let owner = zone.name_bytes(id);
        let mut rest = &tails[..];
        while let Some((rtype, ttl, rdata, len)) = next_tail(rest) {
            all.push(OwnedRecord {
                owner: owner.into(),
                rtype,
                ttl,
                rdata: rdata.into(),
            });
            rest = &rest[len..];
        }
    }
    all
}

/// Whether a node holds a private type (and so has synthesized records).
pub fn has_private(zone: &Zone, id: NodeId) -> bool {
    zone.rrsets(zone.node(id))
        .iter()
        .any(|s| s.rtype == POOL || s.rtype == ALIAS)
}

/// Appends the `rtype` records (A or AAAA) an ALIAS to `target` stands
/// for; returns how many.
fn alias_records(
    zone: &Zone,
    resolver: Resolver<'_>,
    target: &[u8],
    rtype: Rtype,
    out: &mut Vec<u8>,
) -> usize {
    let mut name = [0u8; candor_wire::MAX_NAME_LEN];
    let len = target.len().min(candor_wire::MAX_NAME_LEN);
    name[..len].copy_from_slice(&target[..len]);
    name[..len].make_ascii_lowercase();
    let Some(found) = resolver.zones.find(&name[..len]) else {
        return table_records(resolver.aliases, &name[..len], rtype, out);
    };
    // A target in the zone being transferred is read from the version
    // being transferred, not from whatever is served by now.
    let other = if found.apex() == zone.apex() {
        zone
    } else {
        found
    };
    let mut name_len = len;
    for _ in 0..MAX_CHAIN {
        let node = match other.lookup(&name[..name_len]) {
            Lookup::Exact(n) | Lookup::Wildcard(n) => n,
            _ => return 0,
        };
        if let Some(set) = other.rrset(node, rtype) {
            out.extend_from_slice(other.tails(set));
            return usize::from(set.count);
        }
        let Some(next) = other
            .rrset(node, Rtype::CNAME)
            .and_then(|c| first_rdata(other.tails(c)))
        else {
            return 0;
        };
        name_len = next.len().min(candor_wire::MAX_NAME_LEN);
        name[..name_len].copy_from_slice(&next[..name_len]);
        name[..name_len].make_ascii_lowercase();
        if !in_zone(&name[..name_len], other) {
            return 0;
        }
    }
    0
}

/// Whether a lower-cased wire name is at or below the zone's apex.
fn in_zone(name: &[u8], zone: &Zone) -> bool {
    let apex = zone.apex().as_wire();
    name.len() >= apex.len() && name.ends_with(apex) && {
        let start = name.len() - apex.len();
        start == 0 || candor_wire::wire_labels(name).any(|p| p + 1 + usize::from(name[p]) == start)
    }
}

/// Appends the resolver's `rtype` addresses for `target`; returns how many.
fn table_records(table: &AliasTable, target: &[u8], rtype: Rtype, out: &mut Vec<u8>) -> usize {
    let Some(entry) = table.get(target).filter(|e| e.exists) else {
        return 0;
    };
    if rtype == Rtype::A {
        for a in entry.v4.iter().take(MAX_ADDRESSES) {
            push_tail(out, Rtype::A, entry.ttl, a);
        }
        entry.v4.len().min(MAX_ADDRESSES)
    } else {
        for a in entry.v6.iter().take(MAX_ADDRESSES) {
            push_tail(out, Rtype::AAAA, entry.ttl, a);
        }
        entry.v6.len().min(MAX_ADDRESSES)
    }
}

/// Appends one RR tail.
pub(crate) fn push_tail(out: &mut Vec<u8>, rtype: Rtype, ttl: u32, rdata: &[u8]) {
    out.extend_from_slice(&rtype.0.to_be_bytes());
    out.extend_from_slice(&Class::IN.0.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// The RDATA of the first RR in a run of tails.
fn first_rdata(tails: &[u8]) -> Option<&[u8]> {
    next_tail(tails).map(|(_, _, rdata, _)| rdata)
}

/// The first RR tail of `tails`: its type, TTL, RDATA and whole length.
pub(crate) fn next_tail(tails: &[u8]) -> Option<(Rtype, u32, &[u8], usize)> {
    let head = tails.get(..10)?;
    let rdlen = usize::from(u16::from_be_bytes([head[8], head[9]]));
    let rdata = tails.get(10..10 + rdlen)?;
    Some((
        Rtype(u16::from_be_bytes([head[0], head[1]])),
        u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        rdata,
        10 + rdlen,
    ))
}
