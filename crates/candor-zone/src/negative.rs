//! A zone version's negative-answer authority records, written once as a
//! response would carry them ([`candor_wire::Prerendered`]): what every
//! NXDOMAIN and NODATA from the zone repeats, copied by the answer path
//! instead of being compressed record by record.

use candor_wire::{MessageBuilder, Owner, Prerendered, Rtype, Section, wire_name_len};

use crate::Zone;
use crate::zone::tail_count;

/// The blocks of one zone version. Each holds records exactly as
/// `MessageBuilder::push_rrset` writes them into the authority section
/// after a question for the apex.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NegativeBlocks {
    /// The SOA with the negative TTL ([`Zone::negative_soa`]), owned by
    /// the apex.
    soa: Option<Prerendered>,
    /// A signed zone's blocks.
    signed: Option<Box<SignedBlocks>>,
}

/// The blocks of a signed zone, and what its denials' owners need.
#[derive(Debug, Default, PartialEq, Eq)]
struct SignedBlocks {
    /// The SOA, then the RRSIGs over the SOA.
    soa: Option<Prerendered>,
    /// The apex's NSEC, then its RRSIGs: the proof that covers the apex's
    /// wildcard in most zones, and names sorting before the first name
    /// below the apex.
    apex_nsec: Option<Prerendered>,
    /// `soa` and then `apex_nsec`: the whole authority section of an
    /// NXDOMAIN that the apex's NSEC proves alone (the name sorts before
    /// the first name below the apex, and the apex's NSEC covers the
    /// wildcard), one copy instead of two; and the start of one whose
    /// name falls among the zone's names (its covering NSEC follows).
    apex_nxdomain: Option<Prerendered>,
    /// `soa`, then `apex_nsec`, then the NSEC of the chain's last name
    /// with its RRSIGs: the whole authority section of an NXDOMAIN for a name
    /// that sorts after every name of the zone (the last NSEC covers it
    /// and the apex's covers the wildcard). With `apex_nxdomain`, the two
    /// ends of the chain: where most random labels of a flood fall in a
    /// zone whose names cluster (`www`, `mail`, `host1`...).
    last_nxdomain: Option<Prerendered>,
    /// The labels just below the apex of the SOA's MNAME and RNAME, for
    /// each that is below the apex (length byte first, lower-cased, back
    /// to back): a name below the apex ending in one of them shares more
    /// than the apex with that SOA name, so a response holding the SOA
    /// compresses it against the SOA's.
    soa_children: Box<[u8]>,
}

impl NegativeBlocks {
    /// The blocks of `zone`; `None` when there are none (no SOA, or the
    /// root zone, whose names never compress).
    pub(crate) fn of(zone: &Zone) -> Option<Box<NegativeBlocks>> {
        let apex = zone.apex().as_wire();
        let owner = Owner::QnameSuffix(0);
        let soa_set = zone.rrset(zone.node(0), Rtype::SOA)?;
        let negative = zone.negative_soa();
        if negative.is_empty() {
            return None;
        }
        let soa = |b: &mut MessageBuilder<'_>| {
            b.set_section(Section::Authority);
            b.push_rrset(owner, negative, 1)
        };
        let mut blocks = NegativeBlocks {
            soa: Prerendered::render(apex, soa),
            signed: None,
        };
        let soa_sigs = zone.sig_tails(soa_set);
        if zone.signed().is_some() && !soa_sigs.is_empty() {
            let mut signed = SignedBlocks {
                soa: Prerendered::render(apex, |b| {
                    soa(b)?;
                    b.push_rrset(owner, soa_sigs, tail_count(soa_sigs))
                }),
                ..SignedBlocks::default()
            };
            let rdata = negative.get(10..).unwrap_or(&[]);
            let mname = rdata
                .get(..wire_name_len(rdata).unwrap_or(0))
                .unwrap_or(&[]);
            let rest = &rdata[mname.len()..];
            let rname = rest.get(..wire_name_len(rest).unwrap_or(0)).unwrap_or(&[]);
            let mut children = Vec::new();
            for name in [mname, rname] {
                if let Some(label) = child_of(name, apex) {
                    children.extend(label.iter().map(u8::to_ascii_lowercase));
                }
            }
            signed.soa_children = children.into();
            if let Some(nsec) = zone.rrset(zone.node(0), Rtype::NSEC) {
                let sigs = zone.sig_tails(nsec);
                let apex_nsec = |b: &mut MessageBuilder<'_>| {
                    b.set_section(Section::Authority);
                    b.push_rrset(Owner::Name(apex), zone.tails(nsec), nsec.count)?;
                    if sigs.is_empty() {
                        return Ok(());
                    }
                    b.push_rrset(Owner::Name(apex), sigs, tail_count(sigs))
                };
                signed.apex_nsec = Prerendered::render(apex, apex_nsec);
                signed.apex_nxdomain = Prerendered::render(apex, |b| {
                    soa(b)?;
                    b.push_rrset(owner, soa_sigs, tail_count(soa_sigs))?;
                    apex_nsec(b)
                });
                // The chain's last name, when the apex's NSEC also
                // proves there is no wildcard (the order the answer
                // proves them in: the wildcard's first).
                let parts = zone.signed();
                let last = parts
                    .filter(|p| p.apex_wildcard() == 0)
                    .and_then(|p| p.last_node())
                    .filter(|&id| id != 0);
                if let Some(id) = last
                    && let Some(last_nsec) = zone.rrset(zone.node(id), Rtype::NSEC)
                {
                    let name = Owner::Name(zone.name_bytes(id));
                    let last_sigs = zone.sig_tails(last_nsec);
                    signed.last_nxdomain = Prerendered::render(apex, |b| {
                        soa(b)?;
                        b.push_rrset(owner, soa_sigs, tail_count(soa_sigs))?;
                        apex_nsec(b)?;
                        b.push_rrset(name, zone.tails(last_nsec), last_nsec.count)?;
                        if last_sigs.is_empty() {
                            return Ok(());
                        }
                        b.push_rrset(name, last_sigs, tail_count(last_sigs))
                    });
                }
            }
            blocks.signed = Some(Box::new(signed));
        }
        (blocks.soa.is_some() || blocks.signed.is_some()).then(|| Box::new(blocks))
    }

    /// The SOA of a negative answer, with its RRSIGs when `signed`.
    #[inline]
    pub fn soa(&self, signed: bool) -> Option<&Prerendered> {
        if signed {
            self.signed.as_ref()?.soa.as_ref()
        } else {
            self.soa.as_ref()
        }
    }

    /// The apex's NSEC with its RRSIGs (a signed zone's).
    #[inline]
    pub fn apex_nsec(&self) -> Option<&Prerendered> {
        self.signed.as_ref()?.apex_nsec.as_ref()
    }

    /// The SOA with its RRSIGs, then the apex's NSEC with its RRSIGs (a
    /// signed zone's).
    #[inline]
    pub fn apex_nxdomain(&self) -> Option<&Prerendered> {
        self.signed.as_ref()?.apex_nxdomain.as_ref()
    }

    /// The SOA with its RRSIGs, the apex's NSEC with its RRSIGs, then the
    /// NSEC of the chain's last name with its RRSIGs (a signed zone's whose
    /// apex NSEC covers the wildcard).
    #[inline]
    pub fn last_nxdomain(&self) -> Option<&Prerendered> {
        self.signed.as_ref()?.last_nxdomain.as_ref()
    }

    /// Whether `label` (a label of a lower-cased name below the apex, the
    /// one just below it, length byte first) is the label just below the
    /// apex of the SOA's MNAME or RNAME; `true` (it may be) for a zone
    /// without signed blocks.
    #[inline]
    pub fn soa_child(&self, label: &[u8]) -> bool {
        let Some(signed) = &self.signed else {
            return true;
        };
        let mut rest = &signed.soa_children[..];
        while let Some(&len) = rest.first() {
            let (child, after) = rest.split_at((1 + usize::from(len)).min(rest.len()));
            if child == label {
                return true;
            }
            rest = after;
        }
        false
    }

    /// Bytes the blocks take, this struct included.
    pub fn heap_size(&self) -> usize {
        let block = |b: &Option<Prerendered>| b.as_ref().map_or(0, Prerendered::heap_size);
        let signed = self.signed.as_ref().map_or(0, |s| {
            size_of::<SignedBlocks>()
                + block(&s.soa)
                + block(&s.apex_nsec)
                + block(&s.apex_nxdomain)
                + block(&s.last_nxdomain)
                + s.soa_children.len()
        });
        size_of::<NegativeBlocks>() + block(&self.soa) + signed
    }
}

/// The label of `name` (wire, any case) just below `apex` (lower-cased
/// wire), when `name` is below it.
fn child_of<'n>(name: &'n [u8], apex: &[u8]) -> Option<&'n [u8]> {
    let end = name.len().checked_sub(apex.len())?;
    if end == 0 || !name[end..].eq_ignore_ascii_case(apex) {
        return None;
    }
    let mut p = 0;
    while p < end {
        let next = p + 1 + usize::from(name[p]);
        if next == end {
            return name.get(p..end);
        }
        p = next;
    }
    None
}
