//! Which key does what in a signed zone at one moment: the keys in the
//! DNSKEY RRset, the keys that sign the apex key sets, the keys that sign
//! the rest, and what the CDS/CDNSKEY RRsets ask of the parent. A
//! rollover (`rollover`) moves keys through these roles one at a time.

use crate::key::SigningKey;

/// What the CDS and CDNSKEY RRsets (RFC 7344) ask the parent for.
#[derive(Clone, Debug)]
pub enum Cds<'k> {
    /// A DS for each of these keys (none: no CDS or CDNSKEY RRset).
    Keys(Vec<&'k SigningKey>),
    /// Remove the DS RRset: the zone is going unsigned (RFC 8078 §4,
    /// `CDS_DELETE` and `CDNSKEY_DELETE`).
    Delete,
}

/// The keys of a zone by what they do when it is signed.
#[derive(Clone, Debug)]
pub struct KeySet<'k> {
    /// The DNSKEY RRset.
    pub dnskey: Vec<&'k SigningKey>,
    /// Keys that sign the DNSKEY, CDS and CDNSKEY RRsets (each must be in
    /// `dnskey`).
    pub key_signers: Vec<&'k SigningKey>,
    /// Keys that sign every other RRset (each must be in `dnskey`).
    pub zone_signers: Vec<&'k SigningKey>,
    /// The CDS/CDNSKEY RRsets.
    pub cds: Cds<'k>,
}

impl<'k> KeySet<'k> {
    /// Every key published and signing by its role, a CDS for every key
    /// that signs keys: a zone outside any rollover.
    pub fn all(keys: &'k [SigningKey]) -> KeySet<'k> {
        let signers: Vec<&SigningKey> = keys.iter().filter(|k| k.role().signs_keys()).collect();
        KeySet {
            dnskey: keys.iter().collect(),
            key_signers: signers.clone(),
            zone_signers: keys.iter().filter(|k| k.role().signs_zone()).collect(),
            cds: Cds::Keys(signers),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;
    use std::path::Path;

    use candor_wire::{Name, Rtype};
    use candor_zone::load_zone_text;

    use super::{Cds, KeySet};
    use crate::{
        Algorithm, CDNSKEY_DELETE, CDS_DELETE, KeyRole, SigningKey, SigningPolicy, sign_zone_with,
    };

    /// A rollover's key set signs as it says: both keys in the DNSKEY
    /// RRset and over it, only the new one over the data; CDS DELETE is
    /// RFC 8078's record; no CDS at all leaves CDS and CDNSKEY out of the
    /// apex's NSEC bitmap too.
    #[test]
    fn keys_publish_and_sign_as_the_set_says() {
        let origin = Name::from_text("example.com.", None).unwrap();
        let text = "@ 3600 IN SOA ns.example.com. h.example.com. 1 2 3 4 300\n\
                    @ 3600 IN NS ns.example.com.\nns 3600 IN A 192.0.2.1\n";
        let zone = load_zone_text(text.as_bytes(), Path::new("z"), &origin).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let old = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap();
        let new = SigningKey::generate(Algorithm::EcdsaP256Sha256, KeyRole::Csk, &rng).unwrap();
        let sign = |set: &KeySet<'_>| {
            sign_zone_with(
                &zone,
                set,
                &SigningPolicy::default(),
                1_764_900_000,
                NonZeroUsize::MIN,
            )
            .unwrap()
            .records
        };
        let set = KeySet {
            dnskey: vec![&old, &new],
            key_signers: vec![&old, &new],
            zone_signers: vec![&new],
            cds: Cds::Delete,
        };
        let records = sign(&set);
        let of = |t: Rtype| records.iter().filter(move |r| r.rtype == t);
        assert_eq!(of(Rtype::DNSKEY).count(), 2);
        assert_eq!(
            of(Rtype::CDS).map(|r| &*r.rdata).collect::<Vec<_>>(),
            [&CDS_DELETE[..]]
        );
        assert_eq!(
            of(Rtype::CDNSKEY).map(|r| &*r.rdata).collect::<Vec<_>>(),
            [&CDNSKEY_DELETE[..]]
        );
        let signers = |covered: Rtype| {
            let mut tags: Vec<u16> = of(Rtype::RRSIG)
                .filter(|r| {
                    r.rdata[..2] == covered.0.to_be_bytes() && *r.owner == *origin.as_wire()
                })
                .map(|r| u16::from_be_bytes([r.rdata[16], r.rdata[17]]))
                .collect();
            tags.sort_unstable();
            tags
        };
        let mut both = vec![old.key_tag(), new.key_tag()];
        both.sort_unstable();
        assert_eq!(signers(Rtype::DNSKEY), both);
        assert_eq!(signers(Rtype::CDS), both);
        assert_eq!(signers(Rtype::SOA), [new.key_tag()]);
        let apex_nsec = |records: &[candor_zone::OwnedRecord]| {
            let r = records
                .iter()
                .find(|r| r.rtype == Rtype::NSEC && *r.owner == *origin.as_wire())
                .unwrap();
            candor_zonefile::rdata_to_text(Rtype::NSEC, &r.rdata)
        };
        assert!(
            apex_nsec(&records).contains(" CDS CDNSKEY"),
            "{}",
            apex_nsec(&records)
        );

        let quiet = KeySet {
            cds: Cds::Keys(Vec::new()),
            ..set
        };
        let records = sign(&quiet);
        assert!(
            !records
                .iter()
                .any(|r| matches!(r.rtype, Rtype::CDS | Rtype::CDNSKEY))
        );
        assert!(
            !apex_nsec(&records).contains("CDS"),
            "{}",
            apex_nsec(&records)
        );
    }
}
