//! Record types, classes, opcodes and response codes.

use std::fmt;

//----------- Rtype ----------------------------------------------------------

/// A resource record type (RFC 1035 §3.2.2 and later registrations).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rtype(pub u16);

/// Defines the known record types: constants plus the mnemonic table.
macro_rules! rtypes {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl Rtype {
            $(
                #[doc = concat!("The `", stringify!($name), "` type.")]
                pub const $name: Rtype = Rtype($value);
            )*
        }
        /// Known mnemonics and their values.
        const RTYPE_NAMES: &[(&str, u16)] = &[$((stringify!($name), $value)),*];
    };
}

rtypes! {
    A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MINFO = 14, MX = 15, TXT = 16,
    RP = 17, AFSDB = 18, RT = 21, KEY = 25, AAAA = 28, LOC = 29, SRV = 33, NAPTR = 35, KX = 36,
    CERT = 37, DNAME = 39, OPT = 41, APL = 42, DS = 43, SSHFP = 44, IPSECKEY = 45, RRSIG = 46,
    NSEC = 47, DNSKEY = 48, DHCID = 49, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SMIMEA = 53,
    CDS = 59, CDNSKEY = 60, OPENPGPKEY = 61, CSYNC = 62, ZONEMD = 63, SVCB = 64, HTTPS = 65,
    SPF = 99, NID = 104, L32 = 105, L64 = 106, LP = 107, EUI48 = 108, EUI64 = 109, TKEY = 249,
    TSIG = 250, IXFR = 251, AXFR = 252, MAILB = 253, MAILA = 254, ANY = 255, URI = 256,
    CAA = 257,
}

impl Rtype {
    /// Looks up a mnemonic (`A`, `mx`, `TYPE65534`), ignoring case.
    pub fn from_mnemonic(text: &str) -> Option<Rtype> {
        if let Some(&(_, v)) = RTYPE_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(text))
        {
            return Some(Rtype(v));
        }
        let digits = text
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("TYPE"))
            .map(|_| &text[4..])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Rtype)
    }

    /// Whether this is a meta type or query-only type that cannot be stored
    /// in a zone (OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB, ANY; RFC 6895 §3.1).
    pub fn is_meta(self) -> bool {
        matches!(self.0, 41 | 128..=255)
    }
}

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match RTYPE_NAMES.iter().find(|(_, v)| *v == self.0) {
            Some((n, _)) => f.write_str(n),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

//----------- Class ----------------------------------------------------------

/// A resource record class.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Class(pub u16);

impl Class {
    /// Internet.
    pub const IN: Class = Class(1);
    /// Chaos.
    pub const CH: Class = Class(3);
    /// Hesiod.
    pub const HS: Class = Class(4);
    /// None (RFC 2136).
    pub const NONE: Class = Class(254);
    /// Any class (query only).
    pub const ANY: Class = Class(255);

    /// Looks up a mnemonic (`IN`, `ch`, `CLASS1`), ignoring case.
    pub fn from_mnemonic(text: &str) -> Option<Class> {
        let known = [
            ("IN", 1),
            ("CH", 3),
            ("CS", 2),
            ("HS", 4),
            ("NONE", 254),
            ("ANY", 255),
        ];
        if let Some(&(_, v)) = known.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
            return Some(Class(v));
        }
        let digits = text
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("CLASS"))
            .map(|_| &text[5..])?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(Class)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("IN"),
            2 => f.write_str("CS"),
            3 => f.write_str("CH"),
            4 => f.write_str("HS"),
            254 => f.write_str("NONE"),
            255 => f.write_str("ANY"),
            v => write!(f, "CLASS{v}"),
        }
    }
}

impl fmt::Debug for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

//----------- Opcode ---------------------------------------------------------

/// A message opcode (4 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Standard query.
    pub const QUERY: Opcode = Opcode(0);
    /// Zone change notification (RFC 1996).
    pub const NOTIFY: Opcode = Opcode(4);
    /// Dynamic update (RFC 2136).
    pub const UPDATE: Opcode = Opcode(5);
}

//----------- Rcode ----------------------------------------------------------

/// A response code; values above 15 need EDNS (the upper 8 bits go in OPT).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rcode(pub u16);

impl Rcode {
    /// No error.
    pub const NOERROR: Rcode = Rcode(0);
    /// The query could not be understood.
    pub const FORMERR: Rcode = Rcode(1);
    /// The server failed to answer.
    pub const SERVFAIL: Rcode = Rcode(2);
    /// The name does not exist.
    pub const NXDOMAIN: Rcode = Rcode(3);
    /// The opcode is not implemented.
    pub const NOTIMP: Rcode = Rcode(4);
    /// The server refuses to answer.
    pub const REFUSED: Rcode = Rcode(5);
    /// A DNAME substitution made the name too long (RFC 6672 §2.2).
    pub const YXDOMAIN: Rcode = Rcode(6);
    /// The server is not authoritative for the zone (RFC 2136/8945).
    pub const NOTAUTH: Rcode = Rcode(9);
    /// Unsupported EDNS version (RFC 6891 §6.1.3).
    pub const BADVERS: Rcode = Rcode(16);
    /// A bad or missing server cookie (RFC 7873 §8).
    pub const BADCOOKIE: Rcode = Rcode(23);
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            16 => "BADVERS",
            23 => "BADCOOKIE",
            v => return write!(f, "RCODE{v}"),
        };
        f.write_str(name)
    }
}

impl fmt::Debug for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics() {
        assert_eq!(Rtype::from_mnemonic("aaaa"), Some(Rtype::AAAA));
        assert_eq!(Rtype::from_mnemonic("TYPE65534"), Some(Rtype(65534)));
        assert_eq!(Rtype::from_mnemonic("TYPE65536"), None);
        assert_eq!(Rtype::from_mnemonic("TYPE"), None);
        assert_eq!(Rtype::from_mnemonic("BOGUS"), None);
        assert_eq!(Rtype(65534).to_string(), "TYPE65534");
        assert_eq!(Rtype::HTTPS.to_string(), "HTTPS");
        assert_eq!(Rtype::from_mnemonic("eui48"), Some(Rtype(108)));
        assert_eq!(Rtype(14).to_string(), "MINFO");
        assert_eq!(Class::from_mnemonic("class3"), Some(Class::CH));
        assert!(Rtype::OPT.is_meta() && Rtype::ANY.is_meta() && !Rtype::CAA.is_meta());
    }
}
