//! Domain names in uncompressed wire form.
//!
//! A [`Name`] is always absolute and always valid: labels of 1..=63 bytes,
//! at most 255 bytes in all, ending with the root label. Because a suffix of
//! a wire name that starts at a label boundary is itself a wire name, the
//! hot path works on `&[u8]` slices and never builds `Name`s.

use std::fmt;

/// Longest domain name in wire form, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;

/// Longest label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

//----------- Name -----------------------------------------------------------

/// An absolute domain name, stored in uncompressed wire form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// The wire bytes, validated on construction.
    wire: Box<[u8]>,
}

/// Why a name could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// A label is longer than 63 bytes.
    LabelTooLong,
    /// The name is longer than 255 bytes in wire form.
    NameTooLong,
    /// Two dots in a row, or a dot at the start of a name other than the root.
    EmptyLabel,
    /// A `\` escape is incomplete or a `\DDD` escape is above 255.
    BadEscape,
    /// The name is relative and there is no origin to complete it.
    RelativeWithoutOrigin,
    /// The wire bytes end in the middle of a name, or use a reserved label type.
    BadWire,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::LabelTooLong => "label longer than 63 bytes",
            NameError::NameTooLong => "name longer than 255 bytes",
            NameError::EmptyLabel => "empty label",
            NameError::BadEscape => "bad escape sequence",
            NameError::RelativeWithoutOrigin => "relative name without an origin",
            NameError::BadWire => "malformed name",
        })
    }
}

impl std::error::Error for NameError {}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name {
            wire: Box::new([0]),
        }
    }

    /// Validates uncompressed wire bytes (exactly one name, nothing after it).
    pub fn from_wire(wire: &[u8]) -> Result<Name, NameError> {
        match wire_name_len(wire) {
            Some(len) if len == wire.len() => Ok(Name { wire: wire.into() }),
            _ => Err(NameError::BadWire),
        }
    }

    /// Reads a name in presentation format.
    ///
    /// `@` is the origin; a name without a trailing dot is relative to
    /// `origin`. Escapes `\X` and `\DDD` are understood (RFC 1035 §5.1).
    pub fn from_text(text: &str, origin: Option<&Name>) -> Result<Name, NameError> {
        Name::from_text_bytes(text.as_bytes(), origin)
    }

    /// Like [`Name::from_text`], on bytes (zone files need not be UTF-8).
    pub fn from_text_bytes(text: &[u8], origin: Option<&Name>) -> Result<Name, NameError> {
        let mut wire = Vec::with_capacity(text.len() + 2);
        text_to_wire(text, origin, &mut wire)?;
        Ok(Name {
            wire: wire.into_boxed_slice(),
        })
    }

    /// The uncompressed wire bytes.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Length in wire form.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// Number of labels, not counting the root label.
    pub fn label_count(&self) -> usize {
        wire_labels(&self.wire).count()
    }

    /// The same name with ASCII letters lowered.
    pub fn to_lowercase(&self) -> Name {
        let mut wire = self.wire.clone();
        lowercase_wire(&mut wire);
        Name { wire }
    }

    /// Whether `self` equals `other` or is below it, ignoring ASCII case.
    pub fn ends_with(&self, other: &Name) -> bool {
        wire_ends_with(&self.wire, &other.wire)
    }

    /// Whether the two names are equal, ignoring ASCII case.
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }

    /// The name one label up, or `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            return None;
        }
        let skip = 1 + self.wire[0] as usize;
        Some(Name {
            wire: self.wire[skip..].into(),
        })
    }

    /// The first label, without its length byte (empty for the root).
    pub fn first_label(&self) -> &[u8] {
        &self.wire[1..1 + self.wire[0] as usize]
    }

    /// Whether the first label is `*` (an RFC 4592 wildcard owner).
    pub fn is_wildcard(&self) -> bool {
        self.first_label() == b"*"
    }

    /// `label.self`, or an error if the result would be too long.
    pub fn prepend(&self, label: &[u8]) -> Result<Name, NameError> {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        let mut wire = Vec::with_capacity(self.wire.len() + label.len() + 1);
        push_label(&mut wire, label)?;
        wire.extend_from_slice(&self.wire);
        if wire.len() > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        Ok(Name {
            wire: wire.into_boxed_slice(),
        })
    }

    /// The name relative to `origin` in presentation format (`@` for the
    /// origin itself), or the absolute form if it is not below `origin`.
    pub fn to_relative_text(&self, origin: &Name) -> String {
        if self.eq_ignore_case(origin) {
            return "@".to_owned();
        }
        if self.ends_with(origin) {
            let cut = self.wire.len() - origin.wire.len();
            let mut out = String::new();
            write_labels(&self.wire[..cut], &mut out);
            out.pop(); // The separator before the origin.
            return out;
        }
        self.to_string()
    }
}

/// Appends one length-prefixed label.
fn push_label(wire: &mut Vec<u8>, label: &[u8]) -> Result<(), NameError> {
    if wire.len() + 1 + label.len() > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    wire.push(label.len() as u8);
    wire.extend_from_slice(label);
    Ok(())
}

/// Appends the wire form of presentation-format name `text` to `out`,
/// without allocating beyond `out`'s growth.
///
/// `@` is `origin` and names without a trailing dot are relative to it.
/// Escapes `\X` and `\DDD` are understood (RFC 1035 §5.1). On error `out`
/// is left as it was.
pub fn text_to_wire(
    text: &[u8],
    origin: Option<&Name>,
    out: &mut Vec<u8>,
) -> Result<(), NameError> {
    let start = out.len();
    let result = push_text_name(text, origin, out, start);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Does the work of [`text_to_wire`]; `start` is where the name begins.
fn push_text_name(
    text: &[u8],
    origin: Option<&Name>,
    out: &mut Vec<u8>,
    start: usize,
) -> Result<(), NameError> {
    match text {
        b"@" => {
            out.extend_from_slice(origin.ok_or(NameError::RelativeWithoutOrigin)?.as_wire());
            return Ok(());
        }
        b"." => {
            out.push(0);
            return Ok(());
        }
        b"" => return Err(NameError::EmptyLabel),
        _ => {}
    }
    let mut len_pos = out.len();
    out.push(0);
    let mut label_len = 0usize;
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        i += 1;
        let byte = match c {
            b'.' => {
                if label_len == 0 {
                    return Err(NameError::EmptyLabel);
                }
                out[len_pos] = label_len as u8;
                if i == text.len() {
                    // A trailing dot: the name is absolute.
                    out.push(0);
                    return check_total(out, start);
                }
                len_pos = out.len();
                out.push(0);
                label_len = 0;
                continue;
            }
            b'\\' => {
                let (byte, used) = read_escape(text.get(i..).unwrap_or_default())?;
                i += used;
                byte
            }
            _ => c,
        };
        if label_len == MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        out.push(byte);
        label_len += 1;
        if out.len() - start > MAX_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
    }
    // The text did not end in a dot, so the last label is not empty.
    out[len_pos] = label_len as u8;
    out.extend_from_slice(origin.ok_or(NameError::RelativeWithoutOrigin)?.as_wire());
    check_total(out, start)
}

/// Checks the total length of the name that starts at `start`.
fn check_total(out: &[u8], start: usize) -> Result<(), NameError> {
    if out.len() - start > MAX_NAME_LEN {
        Err(NameError::NameTooLong)
    } else {
        Ok(())
    }
}

/// Reads the escape after a `\`: `\DDD` or `\X`. Returns the byte and how
/// many input bytes it used.
pub fn read_escape(rest: &[u8]) -> Result<(u8, usize), NameError> {
    match rest {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            let v = u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0');
            u8::try_from(v)
                .map(|v| (v, 3))
                .map_err(|_| NameError::BadEscape)
        }
        [a, ..] if a.is_ascii_digit() => Err(NameError::BadEscape),
        [x, ..] => Ok((*x, 1)),
        [] => Err(NameError::BadEscape),
    }
}

/// Writes labels in presentation format, each followed by a dot.
fn write_labels(wire: &[u8], out: &mut String) {
    for start in wire_labels(wire) {
        let len = wire[start] as usize;
        for &b in &wire[start + 1..start + 1 + len] {
            match b {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x21..=0x7e => out.push(b as char),
                _ => {
                    out.push('\\');
                    out.push_str(&format!("{b:03}"));
                }
            }
        }
        out.push('.');
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        let mut out = String::with_capacity(self.wire.len() + 4);
        write_labels(&self.wire, &mut out);
        f.write_str(&out)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

//----------- Slice helpers for the hot path ----------------------------------

/// Length of the uncompressed name at the start of `wire`, or `None` if it
/// is not a valid uncompressed name (pointers are not allowed here).
pub fn wire_name_len(wire: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            let total = pos + 1;
            return (total <= MAX_NAME_LEN).then_some(total);
        }
        if len > MAX_LABEL_LEN {
            return None;
        }
        pos += 1 + len;
        if pos >= MAX_NAME_LEN {
            return None;
        }
    }
}

/// Offsets of the label length bytes of a valid wire name, from the first
/// label to the last one before the root.
pub fn wire_labels(wire: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = *wire.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let here = pos;
        pos += 1 + len;
        Some(here)
    })
}

/// Lowers ASCII letters of a wire name in place (length bytes are < 64 and
/// therefore never letters).
pub fn lowercase_wire(wire: &mut [u8]) {
    wire.make_ascii_lowercase();
}

/// Whether wire name `name` equals `suffix` or is below it, ignoring case.
fn wire_ends_with(name: &[u8], suffix: &[u8]) -> bool {
    if suffix.len() > name.len() {
        return false;
    }
    let start = name.len() - suffix.len();
    // The suffix must start on a label boundary of `name`.
    let on_boundary =
        start == 0 || wire_labels(name).any(|p| p + 1 + usize::from(name[p]) == start);
    on_boundary && name[start..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from_text(s, None).unwrap()
    }

    #[test]
    fn text_round_trip() {
        for s in [
            ".",
            "example.",
            "a.b.example.",
            "\\..example.",
            "a\\032b.example.",
            "*.x.",
        ] {
            assert_eq!(n(s).to_string(), s);
        }
        assert_eq!(n("A\\066c.").as_wire(), b"\x03ABc\x00");
    }

    #[test]
    fn relative_names() {
        let origin = n("example.com.");
        assert_eq!(
            Name::from_text("www", Some(&origin)).unwrap(),
            n("www.example.com.")
        );
        assert_eq!(Name::from_text("@", Some(&origin)).unwrap(), origin);
        assert_eq!(
            Name::from_text("www", None),
            Err(NameError::RelativeWithoutOrigin)
        );
        assert_eq!(n("www.example.com.").to_relative_text(&origin), "www");
        assert_eq!(origin.to_relative_text(&origin), "@");
        assert_eq!(n("other.org.").to_relative_text(&origin), "other.org.");
    }

    #[test]
    fn limits() {
        let long_label = "a".repeat(64);
        assert_eq!(
            Name::from_text(&long_label, None),
            Err(NameError::LabelTooLong)
        );
        let long_name = format!("{}.", vec!["a".repeat(63); 4].join("."));
        assert_eq!(
            Name::from_text(&long_name, None),
            Err(NameError::NameTooLong)
        );
        assert_eq!(Name::from_text("a..b.", None), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_text(".a.", None), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_text("a\\256.", None), Err(NameError::BadEscape));
        assert_eq!(Name::from_text("a\\", None), Err(NameError::BadEscape));
    }

    #[test]
    fn suffixes() {
        assert!(n("a.b.example.").ends_with(&n("EXAMPLE.")));
        assert!(n("example.").ends_with(&n("example.")));
        assert!(!n("xexample.").ends_with(&n("example.")));
        assert!(n("x.").ends_with(&Name::root()));
        assert_eq!(n("a.b.").parent(), Some(n("b.")));
        assert!(n("*.b.").is_wildcard());
    }

    #[test]
    fn wire_validation() {
        assert!(Name::from_wire(b"\x01a\x00").is_ok());
        assert!(Name::from_wire(b"\x01a").is_err());
        assert!(Name::from_wire(b"\xc0\x0c").is_err());
        assert!(Name::from_wire(b"\x01a\x00\x00").is_err());
    }
}
