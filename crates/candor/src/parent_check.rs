//! Asking for a zone's DS at the parent (`serve --dnssec-parent-check`):
//! while a zone's key states wait for word from the parent (a CSK or KSK
//! rollover, a disable), `keyroll` asks a resolver (or the parent's name
//! server) for the zone's DS RRset now and then; when it matches what the
//! zone's CDS asks for (`candor_dnssec::rollover::parent_matches`), that
//! counts as `candor dnssec ds-seen`, as Knot's `ksk-submission` check
//! does. This module is the socket: one UDP query, one answer.
//!
//! The answer is believed only when the resolver says it validated it (the
//! AD bit, asked for with AD in the query, RFC 6840 §5.7): a DS taken on
//! trust from an unvalidated path could move a rollover on before the
//! parent really holds the new DS, and validators would then find the zone
//! bogus. `--dnssec-parent-check-unvalidated` drops that rule, for a parent
//! name server asked directly over a path the operator trusts (an
//! authoritative server never sets AD).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use candor_wire::decode::decode_message;
use candor_wire::{Header, Name, QuerySpec, Rtype, query_message};

/// How long to wait for the answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The DS RDATAs `server` gives for `apex` (recursion desired, so a
/// resolver or the parent's own server will do): empty when it has none
/// (NOERROR without DS, or NXDOMAIN); `Err` saying why when there is no
/// usable answer (no answer in time, truncated, another rcode, or, with
/// `validated`, an answer without the AD bit).
pub(crate) fn parent_ds(
    server: SocketAddr,
    apex: &Name,
    validated: bool,
) -> Result<Vec<Vec<u8>>, String> {
    let local: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let id = random_id();
    let spec = QuerySpec {
        id,
        recursion_desired: true,
        edns_udp_size: Some(1232),
    };
    let mut query = query_message(spec, apex, Rtype::DS);
    // AD in a query asks a validator to say whether it validated the
    // answer (RFC 6840 §5.7).
    if let Some(flags) = query.get_mut(2..4) {
        let set = u16::from_be_bytes([flags[0], flags[1]]) | Header::AD;
        flags.copy_from_slice(&set.to_be_bytes());
    }
    socket
        .send_to(&query, server)
        .map_err(|e| format!("cannot send to {server}: {e}"))?;
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer from {server} within {TIMEOUT:?}"));
        }
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("socket: {e}"))?;
        let (n, from) = socket
            .recv_from(&mut buf)
            .map_err(|_| format!("no answer from {server} within {TIMEOUT:?}"))?;
        if from != server {
            continue;
        }
        let Ok(m) = decode_message(&buf[..n]) else {
            return Err(format!("a malformed answer from {server}"));
        };
        if m.header.id != id || m.header.flags & Header::QR == 0 {
            continue;
        }
        if m.header.flags & Header::TC != 0 {
            return Err(format!("a truncated answer from {server}"));
        }
        if validated && m.header.flags & Header::AD == 0 {
            return Err(format!(
                "the answer from {server} is not validated (no AD bit): point \
                 --dnssec-parent-check at a validating resolver, or add \
                 --dnssec-parent-check-unvalidated to trust the parent's own name server"
            ));
        }
        return match m.rcode() {
            0 => Ok(m
                .answer
                .into_iter()
                .filter(|r| r.rtype == Rtype::DS && r.owner.to_lowercase() == apex.to_lowercase())
                .map(|r| r.rdata)
                .collect()),
            3 => Ok(Vec::new()),
            rcode => Err(format!("rcode {rcode} from {server}")),
        };
    }
}

/// A message ID nobody can guess (the standard library's per-process
/// random hash keys).
fn random_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}
