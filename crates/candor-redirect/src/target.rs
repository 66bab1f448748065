//! URL record targets: parsing and validating a record's content, and
//! building the `Location` of a redirect from it.
//!
//! # The path rule
//!
//! A target whose path ends in `/*` (and that has no query) forwards the
//! request's path and query: the `/*` is removed and the request's path and
//! query are appended to what is left, with exactly one slash between them.
//! `https://new.example/*` sends `/a/b?x=1` to `https://new.example/a/b?x=1`,
//! and `https://new.example/old/*` sends it to
//! `https://new.example/old/a/b?x=1`. Every other target is used as is,
//! whatever the request's path; a `*` anywhere else is an ordinary character.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The longest record content accepted as a target, in bytes.
pub const MAX_TARGET_LEN: usize = 2000;

/// A validated redirect target: an absolute `http` or `https` URL.
///
/// The scheme and host are stored in lower case; everything else is kept
/// exactly as written in the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The normalized URL, including a trailing `/*` when the path is forwarded.
    url: String,
    /// Whether the target ends in `/*` and so forwards the request's path and query.
    forward: bool,
}

impl RedirectTarget {
    /// Returns the normalized target, as it should be shown or stored.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Returns whether the target forwards the request's path and query (ends in `/*`).
    pub fn forwards_path(&self) -> bool {
        self.forward
    }

    /// Returns the `Location` for a request with the given path and query
    /// (the request target in origin form, such as `/a/b?x=1`).
    ///
    /// A target without `/*` is returned unchanged. A forwarding target
    /// drops its `/*` and appends the request's path and query; leading
    /// slashes of the request's path are collapsed into the one slash that
    /// joins them, so the result never has `//` at the join, and an empty
    /// request path becomes `/`.
    pub fn location(&self, path_and_query: &str) -> String {
        if !self.forward {
            return self.url.clone();
        }
        // The `/*` suffix is two ASCII bytes, so this slice is on a character boundary.
        let prefix = &self.url[..self.url.len() - 2];
        let rest = path_and_query.trim_start_matches('/');
        let mut location = String::with_capacity(prefix.len() + 1 + rest.len());
        location.push_str(prefix);
        location.push('/');
        location.push_str(rest);
        location
    }
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Parses and validates a URL record's content as a redirect target.
///
/// The content must be an absolute `http://` or `https://` URL of at most
/// [`MAX_TARGET_LEN`] ASCII characters, with a host (a DNS name, an IPv4
/// address or a bracketed IPv6 address) and an optional port, and without
/// user information, a fragment, whitespace or control characters. Non-ASCII
/// characters must be percent-encoded (and host names written in their
/// `xn--` form).
///
/// Errors are lower-case predicates meant to follow the field's name, such
/// as "must start with http:// or https://" or "has no host".
pub fn parse_target(content: &str) -> Result<RedirectTarget, String> {
    if content.is_empty() {
        return Err("is empty".to_owned());
    }
    if content.len() > MAX_TARGET_LEN {
        return Err(format!("is longer than {MAX_TARGET_LEN} characters"));
    }
    if content.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters".to_owned());
    }
    if !content.is_ascii() {
        return Err("must contain only ASCII characters (percent-encode the others)".to_owned());
    }
    let (scheme, after_scheme) =
        split_scheme(content).ok_or_else(|| "must start with http:// or https://".to_owned())?;
    if content.contains('#') {
        return Err("must not contain a fragment (#)".to_owned());
    }
    let authority_end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    let (authority, rest) = after_scheme.split_at(authority_end);
    if authority.contains('@') {
        return Err("must not contain user information (user@)".to_owned());
    }
    parse_authority(authority)?;

    let mut url = String::with_capacity(content.len());
    url.push_str(scheme);
    url.push_str("://");
    url.push_str(&authority.to_ascii_lowercase());
    url.push_str(rest);
    // Only a target without a query forwards; a query ending in `/*` is literal.
    let forward = !rest.contains('?') && rest.ends_with("/*");
    Ok(RedirectTarget { url, forward })
}

/// Splits off a case-insensitive `http://` or `https://` prefix, returning
/// the lower-case scheme and the text after `://`.
fn split_scheme(content: &str) -> Option<(&'static str, &str)> {
    for scheme in ["https", "http"] {
        let prefix_len = scheme.len() + 3;
        if let Some(prefix) = content.get(..prefix_len)
            && prefix[..scheme.len()].eq_ignore_ascii_case(scheme)
            && &prefix[scheme.len()..] == "://"
        {
            return Some((scheme, &content[prefix_len..]));
        }
    }
    None
}

/// Validates a target's authority (`host` or `host:port`).
fn parse_authority(authority: &str) -> Result<(), String> {
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| {
        if authority.starts_with('[') {
            "has an invalid IPv6 address".to_owned()
        } else {
            "has an invalid host name".to_owned()
        }
    })?;
    if host.is_empty() {
        return Err("has no host".to_owned());
    }
    if port.is_some_and(|port| !valid_port(port)) {
        return Err("has an invalid port".to_owned());
    }
    if host.starts_with('[') {
        if !valid_ipv6_literal(host) {
            return Err("has an invalid IPv6 address".to_owned());
        }
    } else if !valid_host_name(host) {
        return Err("has an invalid host name".to_owned());
    }
    Ok(())
}

/// Splits `host[:port]` or `[v6][:port]` into the host (brackets kept) and
/// the port text, or returns `None` when the brackets are unbalanced or
/// something other than a port follows them.
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        if after.is_empty() {
            Some((host, None))
        } else {
            after.strip_prefix(':').map(|port| (host, Some(port)))
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => Some((host, Some(port))),
            None => Some((authority, None)),
        }
    }
}

/// Returns whether `port` is a decimal port number from 1 to 65535.
pub(crate) fn valid_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0)
}

/// Returns whether `host` is a bracketed IPv6 address such as `[2001:db8::1]`.
pub(crate) fn valid_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<Ipv6Addr>().is_ok())
}

/// Returns whether `host` is a dotted-quad IPv4 address or a DNS host name
/// (one optional trailing dot, labels of 1 to 63 letters, digits, hyphens
/// and underscores not starting or ending with a hyphen, 253 characters at
/// most). A name whose last label is numeric must be a valid IPv4 address,
/// as browsers read such names as addresses.
pub(crate) fn valid_host_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !labels_ok {
        return false;
    }
    let last_is_numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|label| label.bytes().all(|b| b.is_ascii_digit()));
    !last_is_numeric || name.parse::<Ipv4Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a target that the test knows to be valid.
    fn target(content: &str) -> RedirectTarget {
        parse_target(content).unwrap()
    }

    #[test]
    fn accepts_ordinary_targets() {
        for ok in [
            "https://target.example/path",
            "http://target.example",
            "https://target.example:8443/a?b=c",
            "https://192.0.2.1/",
            "https://[2001:db8::1]:8080/x",
            "https://under_score.example./",
            "https://new.example/*",
        ] {
            assert!(parse_target(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn normalizes_scheme_and_host_only() {
        let t = target("HTTPS://Target.EXAMPLE/Path?Q=A");
        assert_eq!(t.as_str(), "https://target.example/Path?Q=A");
        assert_eq!(t.to_string(), t.as_str());
    }

    #[test]
    fn rejects_with_specific_messages() {
        let long = format!("https://a.example/{}", "x".repeat(MAX_TARGET_LEN));
        for (bad, message) in [
            ("", "is empty"),
            (long.as_str(), "is longer than 2000 characters"),
            ("ftp://a.example/", "must start with http:// or https://"),
            ("a.example/path", "must start with http:// or https://"),
            ("https:/a.example", "must start with http:// or https://"),
            ("https://", "has no host"),
            ("https:///path", "has no host"),
            ("https://:80/", "has no host"),
            ("https://a.example/#top", "must not contain a fragment (#)"),
            (
                "https://user:pw@a.example/",
                "must not contain user information (user@)",
            ),
            (
                "https://a.example/a b",
                "must not contain whitespace or control characters",
            ),
            (
                " https://a.example/",
                "must not contain whitespace or control characters",
            ),
            (
                "https://a.example/\u{7}",
                "must not contain whitespace or control characters",
            ),
            (
                "https://a.example/é",
                "must contain only ASCII characters (percent-encode the others)",
            ),
            ("https://a.example:0/", "has an invalid port"),
            ("https://a.example:65536/", "has an invalid port"),
            ("https://a.example:/", "has an invalid port"),
            ("https://a.example:8x/", "has an invalid port"),
            ("https://a.example:1:2/", "has an invalid port"),
            ("https://[::1/", "has an invalid IPv6 address"),
            ("https://[zz]/", "has an invalid IPv6 address"),
            ("https://[::1]x/", "has an invalid IPv6 address"),
            ("https://-a.example/", "has an invalid host name"),
            ("https://a..example/", "has an invalid host name"),
            ("https://a!.example/", "has an invalid host name"),
            ("https://999.1.1.1/", "has an invalid host name"),
            ("https://1.2.3/", "has an invalid host name"),
        ] {
            assert_eq!(parse_target(bad), Err(message.to_owned()), "{bad:?}");
        }
    }

    #[test]
    fn plain_target_ignores_request_path() {
        let t = target("https://target.example/path");
        assert!(!t.forwards_path());
        assert_eq!(t.location("/a/b?x=1"), "https://target.example/path");
        // A star that is not a final `/*` is literal, and so is a query ending in `/*`.
        for literal in ["https://t.example/a*", "https://t.example/?q=/*"] {
            let t = target(literal);
            assert!(!t.forwards_path(), "{literal}");
            assert_eq!(t.location("/x"), literal);
        }
    }

    #[test]
    fn forwarding_joins_paths() {
        let root = target("https://new.example/*");
        assert!(root.forwards_path());
        assert_eq!(root.location("/"), "https://new.example/");
        assert_eq!(root.location(""), "https://new.example/");
        assert_eq!(root.location("/a/b"), "https://new.example/a/b");
        assert_eq!(root.location("/a/b?x=1"), "https://new.example/a/b?x=1");
        assert_eq!(root.location("/?x=1"), "https://new.example/?x=1");
        assert_eq!(root.location("//a"), "https://new.example/a");

        let nested = target("https://new.example/old/*");
        assert_eq!(nested.location("/"), "https://new.example/old/");
        assert_eq!(
            nested.location("/a/b?x=1"),
            "https://new.example/old/a/b?x=1"
        );

        let with_port = target("http://new.example:8080/*");
        assert_eq!(with_port.location("/a"), "http://new.example:8080/a");
    }
}
