//! RRSIGs: the canonical form of an RRset (RFC 4034 §6.2, §6.3), the data
//! a signature covers (§3.1.8.1), and validity periods.

use std::borrow::Cow;
use std::fmt;

use candor_wire::{Rtype, wire_labels, wire_name_len};

use crate::key::SigningKey;

/// Why a signature could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignError {
    /// The signing library refused (for ECDSA, its random source failed).
    Crypto,
    /// A signing thread panicked (a bug; nothing was signed).
    Worker,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Crypto => f.write_str("the signature could not be made (random source)"),
            SignError::Worker => f.write_str("a signing thread failed"),
        }
    }
}

impl std::error::Error for SignError {}

/// When a signature is valid: RRSIG inception and expiration, seconds
/// since the epoch modulo 2^32 (RFC 4034 §3.1.5, serial arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// The signature is not valid before this time.
    pub inception: u32,
    /// The signature is not valid after this time.
    pub expiration: u32,
}

/// How long signatures live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningPolicy {
    /// Seconds from signing to expiration before jitter (14 days, as
    /// Knot's `rrsig-lifetime`).
    pub lifetime: u32,
    /// Up to this many seconds are taken off each RRset's expiration,
    /// spread evenly by a hash of owner and type (3 days), so that
    /// signatures made together do not all need refreshing at once.
    pub jitter: u32,
    /// Inception is this many seconds before signing (1 hour), for
    /// validators whose clocks run behind.
    pub backdate: u32,
}

impl Default for SigningPolicy {
    fn default() -> SigningPolicy {
        SigningPolicy {
            lifetime: 14 * 86_400,
            jitter: 3 * 86_400,
            backdate: 3_600,
        }
    }
}

impl SigningPolicy {
    /// Whether a zone signed at `signed_at` (seconds since the epoch, see
    /// [`signed_at`](crate::signed_at)) should be signed again at `now`:
    /// once half its shortest signature lifetime (lifetime less jitter)
    /// has passed, 5½ days by default, so the earliest signature still has
    /// as long again (plus the backdating) before it expires.
    pub fn refresh_due(&self, signed_at: u64, now: u64) -> bool {
        let shortest = u64::from(self.lifetime.saturating_sub(self.jitter));
        now >= signed_at.saturating_add(shortest / 2)
    }

    /// The validity of a signature made at `now` (seconds since the epoch)
    /// for an RRset whose spread value is `spread` (any number; the zone
    /// signer uses a hash of owner and type).
    pub fn validity(&self, now: u64, spread: u64) -> Validity {
        let jitter = spread % (u64::from(self.jitter) + 1);
        Validity {
            inception: now.wrapping_sub(u64::from(self.backdate)) as u32,
            expiration: (now + u64::from(self.lifetime)).wrapping_sub(jitter) as u32,
        }
    }
}

/// Where the domain names in an RDATA of a type whose names are lower-
/// cased for signing sit (RFC 4034 §6.2 item 3 as corrected by RFC 6840
/// §5.1: NSEC's next name and HINFO are left alone): the bytes skipped
/// before the first name, and how many names follow one another.
fn name_fields(rtype: Rtype) -> Option<(usize, usize)> {
    Some(match rtype.0 {
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, NXT, DNAME.
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 30 | 39 => (0, 1),
        // SOA, MINFO, RP.
        6 | 14 | 17 => (0, 2),
        // MX, AFSDB, RT, KX.
        15 | 18 | 21 | 36 => (2, 1),
        // PX.
        26 => (2, 2),
        // SRV.
        33 => (6, 1),
        // SIG, RRSIG: the signer's name.
        24 | 46 => (18, 1),
        _ => return None,
    })
}

/// The canonical form of an RDATA (RFC 4034 §6.2): domain names in the
/// RDATA of the types listed there are lower-cased; every other RDATA is
/// its own canonical form. Names in stored RDATA are never compressed.
pub fn canonical_rdata(rtype: Rtype, rdata: &[u8]) -> Cow<'_, [u8]> {
    let (mut at, count) = match (rtype, name_fields(rtype)) {
        (Rtype::NAPTR, _) => {
            // ORDER, PREFERENCE, FLAGS, SERVICES, REGEXP, then REPLACEMENT.
            let mut at = 4;
            for _ in 0..3 {
                match rdata.get(at) {
                    Some(&len) => at += 1 + usize::from(len),
                    None => return Cow::Borrowed(rdata),
                }
            }
            (at, 1)
        }
        (_, Some(fields)) => fields,
        (_, None) => return Cow::Borrowed(rdata),
    };
    let mut out: Option<Vec<u8>> = None;
    for _ in 0..count {
        let Some(len) = rdata.get(at..).and_then(wire_name_len) else {
            break;
        };
        let name = &rdata[at..at + len];
        if name.iter().any(u8::is_ascii_uppercase) {
            out.get_or_insert_with(|| rdata.to_vec())[at..at + len].make_ascii_lowercase();
        }
        at += len;
    }
    match out {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(rdata),
    }
}

/// The RRSIG labels field for an owner name (RFC 4034 §3.1.3): its labels,
/// not counting the root nor a leading `*` label.
pub fn rrsig_labels(owner: &[u8]) -> u8 {
    let count = wire_labels(owner).count();
    let wild = owner.starts_with(b"\x01*");
    (count - usize::from(wild)) as u8
}

/// The data an RRSIG signs (RFC 4034 §3.1.8.1): `head`, the RRSIG RDATA
/// without its signature, then every RR of the set in canonical form and
/// order, with the original TTL. `owner` must be lower-case; `rdatas`
/// must already be canonical, sorted and without duplicates.
pub fn signed_data(head: &[u8], owner: &[u8], rtype: Rtype, ttl: u32, rdatas: &[&[u8]]) -> Vec<u8> {
    let per_rr = owner.len() + 10;
    let mut data =
        Vec::with_capacity(head.len() + rdatas.iter().map(|r| r.len() + per_rr).sum::<usize>());
    data.extend_from_slice(head);
    for rdata in rdatas {
        data.extend_from_slice(owner);
        data.extend_from_slice(&rtype.0.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes());
        data.extend_from_slice(&ttl.to_be_bytes());
        data.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        data.extend_from_slice(rdata);
    }
    data
}

/// Signs one RRset with `key` and returns the RRSIG RDATA.
///
/// `signer` is the zone apex and `owner` the RRset's owner (wire names;
/// both are lower-cased here); `rdatas` are the RRs in any order, as
/// stored (canonicalized, sorted and deduplicated here, RFC 4034 §6.3).
pub fn sign_rrset(
    key: &SigningKey,
    signer: &[u8],
    owner: &[u8],
    rtype: Rtype,
    ttl: u32,
    rdatas: &[&[u8]],
    validity: Validity,
) -> Result<Vec<u8>, SignError> {
    let mut head = Vec::with_capacity(18 + signer.len() + 64);
    head.extend_from_slice(&rtype.0.to_be_bytes());
    head.push(key.algorithm().number());
    head.push(rrsig_labels(owner));
    head.extend_from_slice(&ttl.to_be_bytes());
    head.extend_from_slice(&validity.expiration.to_be_bytes());
    head.extend_from_slice(&validity.inception.to_be_bytes());
    head.extend_from_slice(&key.key_tag().to_be_bytes());
    let signer_at = head.len();
    head.extend_from_slice(signer);
    head[signer_at..].make_ascii_lowercase();

    let mut owner_lower = owner.to_vec();
    owner_lower.make_ascii_lowercase();
    let mut canonical: Vec<Cow<'_, [u8]>> =
        rdatas.iter().map(|r| canonical_rdata(rtype, r)).collect();
    canonical.sort_unstable();
    canonical.dedup();
    let refs: Vec<&[u8]> = canonical.iter().map(|c| c.as_ref()).collect();
    let data = signed_data(&head, &owner_lower, rtype, ttl, &refs);
    let signature = key.sign(&data)?;
    head.extend_from_slice(&signature);
    Ok(head)
}

/// Whether `rrsig` (an RRSIG RDATA) is a valid signature by the key of
/// `dnskey` (a DNSKEY RDATA) over the RRset `owner`/`rtype` with `rdatas`
/// (in any order, as stored), as a validator checks it (RFC 4035 §5.3.3,
/// without the time: the caller compares inception and expiration). The
/// labels field is honoured, so a wildcard's signature verifies for the
/// name it was expanded to. For tests and self-checks; nothing on the
/// query path verifies.
pub fn verify_rrset(
    dnskey: &[u8],
    owner: &[u8],
    rtype: Rtype,
    rdatas: &[&[u8]],
    rrsig: &[u8],
) -> bool {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
    let (Some(head), Some(public)) = (rrsig.get(..18), dnskey.get(4..)) else {
        return false;
    };
    if head[..2] != rtype.0.to_be_bytes() || dnskey.get(3) != Some(&head[2]) {
        return false;
    }
    let Some(signer_len) = rrsig.get(18..).and_then(wire_name_len) else {
        return false;
    };
    let (fixed, signature) = rrsig.split_at(18 + signer_len);
    let ttl = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    // The owner as signed: the name's last `labels` labels, behind `*`
    // when the answer came from a wildcard (RFC 4035 §5.3.2).
    let mut lower = owner.to_vec();
    lower.make_ascii_lowercase();
    let labels = wire_labels(&lower).count();
    let want = usize::from(head[3]);
    let signed_owner = if want < labels {
        let skip = wire_labels(&lower)
            .nth(labels - want)
            .unwrap_or(lower.len() - 1);
        let mut w = b"\x01*".to_vec();
        w.extend_from_slice(&lower[skip..]);
        w
    } else {
        lower
    };
    let mut head = fixed.to_vec();
    head[18..].make_ascii_lowercase();
    let mut canonical: Vec<Cow<'_, [u8]>> =
        rdatas.iter().map(|r| canonical_rdata(rtype, r)).collect();
    canonical.sort_unstable();
    canonical.dedup();
    let refs: Vec<&[u8]> = canonical.iter().map(|c| c.as_ref()).collect();
    let data = signed_data(&head, &signed_owner, rtype, ttl, &refs);
    match head[2] {
        13 => {
            let mut point = vec![4u8];
            point.extend_from_slice(public);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(&data, signature)
                .is_ok()
        }
        15 => UnparsedPublicKey::new(&ED25519, public)
            .verify(&data, signature)
            .is_ok(),
        _ => false,
    }
}
