//! Signing keys: generation, PKCS#8 storage, and the public records made
//! from them (DNSKEY, DS, CDS, CDNSKEY; RFC 4034 §2 and §5, RFC 7344).

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};

/// A DNSSEC signing algorithm Candor signs with (IANA "DNS Security
/// Algorithm Numbers").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with curve P-256 and SHA-256 (13, RFC 6605): the default,
    /// validated by every current resolver.
    EcdsaP256Sha256,
    /// Ed25519 (15, RFC 8080).
    Ed25519,
}

impl Algorithm {
    /// The algorithm number in DNSKEY, DS and RRSIG records.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm with this number, if Candor signs with it.
    pub fn from_number(number: u8) -> Option<Algorithm> {
        match number {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The mnemonic (`ECDSAP256SHA256`, `ED25519`).
    pub fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }
}

/// What a key signs, which sets its DNSKEY flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// A combined signing key: signs everything; its DS goes to the parent
    /// (flags 257: Zone Key + Secure Entry Point). The default.
    Csk,
    /// A key-signing key: signs the DNSKEY, CDS and CDNSKEY RRsets; its DS
    /// goes to the parent (flags 257).
    Ksk,
    /// A zone-signing key: signs everything else (flags 256).
    Zsk,
}

impl KeyRole {
    /// The DNSKEY flags field (RFC 4034 §2.1.1).
    pub fn flags(self) -> u16 {
        match self {
            KeyRole::Csk | KeyRole::Ksk => 257,
            KeyRole::Zsk => 256,
        }
    }

    /// Whether the key signs the apex key sets (DNSKEY, CDS, CDNSKEY).
    pub fn signs_keys(self) -> bool {
        matches!(self, KeyRole::Csk | KeyRole::Ksk)
    }

    /// Whether the key signs the zone's other RRsets.
    pub fn signs_zone(self) -> bool {
        matches!(self, KeyRole::Csk | KeyRole::Zsk)
    }
}

/// A DS digest type (IANA "Delegation Signer (DS) Resource Record Digest
/// Algorithms").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestType {
    /// SHA-256 (2, RFC 4509): what Candor publishes and hands registrars.
    Sha256,
    /// SHA-384 (4, RFC 6605).
    Sha384,
}

impl DigestType {
    /// The digest type number.
    pub fn number(self) -> u8 {
        match self {
            DigestType::Sha256 => 2,
            DigestType::Sha384 => 4,
        }
    }
}

/// The CDS RDATA that asks the parent to remove the DS RRset (RFC 8078 §4:
/// `0 0 0 00`).
pub const CDS_DELETE: [u8; 5] = [0, 0, 0, 0, 0];

/// The CDNSKEY RDATA that asks the parent to remove the DS RRset (RFC 8078
/// §4: `0 3 0 AA==`).
pub const CDNSKEY_DELETE: [u8; 5] = [0, 0, 3, 0, 0];

/// Why a key could not be made or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The random source failed while generating a key.
    Random,
    /// The stored key is not a PKCS#8 document of the algorithm's key
    /// type (the reason comes from `ring`).
    Rejected(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Random => f.write_str("the random source failed while generating a key"),
            KeyError::Rejected(why) => write!(f, "the stored private key was rejected: {why}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The key pair of one algorithm.
enum Pair {
    /// ECDSA P-256; signatures are `r | s`, 64 bytes (RFC 6605 §4).
    Ecdsa(EcdsaKeyPair),
    /// Ed25519; signatures are 64 bytes (RFC 8080 §4).
    Ed25519(Ed25519KeyPair),
}

/// A private key with what it publishes: its algorithm, role and DNSKEY.
///
/// The secret is held as `ring` keeps it and as the PKCS#8 document it
/// was read from ([`SigningKey::pkcs8`], for storage); neither is shown by
/// `Debug`.
pub struct SigningKey {
    /// The algorithm.
    algorithm: Algorithm,
    /// The role (sets the DNSKEY flags).
    role: KeyRole,
    /// The PKCS#8 document (v1 or v2) the key was read from or generated as.
    pkcs8: Vec<u8>,
    /// The key pair.
    pair: Pair,
    /// The public key in DNSKEY form (RFC 6605 §4: `x | y`; RFC 8080 §3:
    /// the 32-byte point).
    public: Vec<u8>,
    /// The DNSKEY RDATA.
    dnskey: Vec<u8>,
    /// The key tag of the DNSKEY.
    tag: u16,
    /// Nonces for ECDSA signatures.
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("role", &self.role)
            .field("key_tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key with the random source `rng` (the operating
    /// system's in production: `ring::rand::SystemRandom`).
    pub fn generate(
        algorithm: Algorithm,
        role: KeyRole,
        rng: &dyn SecureRandom,
    ) -> Result<SigningKey, KeyError> {
        let doc = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(rng),
        }
        .map_err(|_| KeyError::Random)?;
        SigningKey::from_pkcs8(algorithm, role, doc.as_ref())
    }

    /// Reads a stored key: a PKCS#8 document of the algorithm's key type.
    pub fn from_pkcs8(
        algorithm: Algorithm,
        role: KeyRole,
        pkcs8: &[u8],
    ) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let pair = match algorithm {
            Algorithm::EcdsaP256Sha256 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(|e| KeyError::Rejected(e.to_string()))?,
            ),
            Algorithm::Ed25519 => Pair::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                    .map_err(|e| KeyError::Rejected(e.to_string()))?,
            ),
        };
        Ok(SigningKey::with_pair(
            algorithm,
            role,
            pkcs8.to_vec(),
            pair,
            rng,
        ))
    }

    /// A key from its raw parts, for known-answer tests against published
    /// examples (RFC 6605 §6, RFC 8080 §6): the private scalar and the
    /// public point of a P-256 key, or the 32-byte seed of an Ed25519 key.
    /// Such a key has no PKCS#8 document (`pkcs8` is empty).
    pub fn from_raw(
        algorithm: Algorithm,
        role: KeyRole,
        private: &[u8],
        public_dnskey: &[u8],
    ) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let pair = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(public_dnskey);
                Pair::Ecdsa(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        private,
                        &point,
                        &rng,
                    )
                    .map_err(|e| KeyError::Rejected(e.to_string()))?,
                )
            }
            Algorithm::Ed25519 => Pair::Ed25519(
                Ed25519KeyPair::from_seed_and_public_key(private, public_dnskey)
                    .map_err(|e| KeyError::Rejected(e.to_string()))?,
            ),
        };
        Ok(SigningKey::with_pair(
            algorithm,
            role,
            Vec::new(),
            pair,
            rng,
        ))
    }

    /// Fills in the public parts of a key pair.
    fn with_pair(
        algorithm: Algorithm,
        role: KeyRole,
        pkcs8: Vec<u8>,
        pair: Pair,
        rng: SystemRandom,
    ) -> SigningKey {
        let public = match &pair {
            // ring gives the uncompressed point, 0x04 | x | y; DNSKEY
            // holds x | y (RFC 6605 §4).
            Pair::Ecdsa(p) => p.public_key().as_ref().get(1..).unwrap_or(&[]).to_vec(),
            Pair::Ed25519(p) => p.public_key().as_ref().to_vec(),
        };
        let mut dnskey = Vec::with_capacity(4 + public.len());
        dnskey.extend_from_slice(&role.flags().to_be_bytes());
        dnskey.push(3);
        dnskey.push(algorithm.number());
        dnskey.extend_from_slice(&public);
        let tag = key_tag(&dnskey);
        SigningKey {
            algorithm,
            role,
            pkcs8,
            pair,
            public,
            dnskey,
            tag,
            rng,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The role.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The PKCS#8 document to store (secret: keep it out of logs).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as DNSKEY carries it.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// The DNSKEY RDATA (also the CDNSKEY RDATA, RFC 7344 §3.2).
    pub fn dnskey_rdata(&self) -> &[u8] {
        &self.dnskey
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        self.tag
    }

    /// The DS RDATA for this key at zone apex `owner` (lower-cased wire
    /// name); also the CDS RDATA (RFC 7344 §3.1).
    pub fn ds_rdata(&self, owner: &[u8], digest: DigestType) -> Vec<u8> {
        ds_rdata(owner, &self.dnskey, digest)
    }

    /// Signs `data` (the RRSIG's signed data, RFC 4034 §3.1.8.1).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.pair {
            Pair::Ecdsa(p) => p
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| SignError::Crypto),
            Pair::Ed25519(p) => Ok(p.sign(data).as_ref().to_vec()),
        }
    }
}

use crate::rrsig::SignError;

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B: the one's-
/// complement-style sum of the RDATA as 16-bit words, for every algorithm
/// but the retired RSA/MD5).
pub fn key_tag(dnskey_rdata: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for (i, b) in dnskey_rdata.iter().enumerate() {
        acc += if i & 1 == 1 {
            u32::from(*b)
        } else {
            u32::from(*b) << 8
        };
    }
    acc += (acc >> 16) & 0xFFFF;
    (acc & 0xFFFF) as u16
}

/// The DS RDATA of a DNSKEY (RFC 4034 §5.1.4): key tag, algorithm, digest
/// type, and the digest of the owner name (lower-cased wire form) followed
/// by the DNSKEY RDATA.
pub fn ds_rdata(owner: &[u8], dnskey_rdata: &[u8], digest: DigestType) -> Vec<u8> {
    let algorithm = match digest {
        DigestType::Sha256 => &ring::digest::SHA256,
        DigestType::Sha384 => &ring::digest::SHA384,
    };
    let mut ctx = ring::digest::Context::new(algorithm);
    let mut lower = owner.to_vec();
    lower.make_ascii_lowercase();
    ctx.update(&lower);
    ctx.update(dnskey_rdata);
    let d = ctx.finish();
    let mut out = Vec::with_capacity(4 + d.as_ref().len());
    out.extend_from_slice(&key_tag(dnskey_rdata).to_be_bytes());
    out.push(dnskey_rdata.get(3).copied().unwrap_or(0));
    out.push(digest.number());
    out.extend_from_slice(d.as_ref());
    out
}
