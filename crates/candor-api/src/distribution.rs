//! Distribution checks: ask each of our own name servers (and each
//! secondary) for a zone's SOA over UDP and compare the serial with the
//! store's. [`ask_soa`] is also what the binary's secondaries monitor asks
//! with.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use candor_wire::decode::decode_message;
use candor_wire::{Header, Name, QuerySpec, Rtype, query_message, wire_name_len};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

/// How long each name server has to answer.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// Largest response we read (SOA answers are far smaller).
const MAX_RESPONSE: usize = 4096;

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Distribution {
    /// Every name server answered; `true` when all serve `serial`.
    Answered(bool),
    /// At least one name server did not answer in time (or could not be
    /// asked at all).
    TimedOut,
}

/// What one name server said to an SOA query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// It answered with this SOA serial.
    Serial(u32),
    /// It answered without the zone's SOA (REFUSED, NXDOMAIN, a referral).
    NoSoa,
    /// It did not answer.
    Silent,
}

/// Asks every name server for `zone`'s SOA at once and compares serials.
pub(crate) async fn check(nameservers: &[SocketAddr], zone: &Name, serial: u32) -> Distribution {
    let mut tasks = JoinSet::new();
    for &addr in nameservers {
        let zone = zone.clone();
        tasks.spawn(async move { ask_soa(addr, &zone).await });
    }
    let mut distributed = true;
    let mut silent = false;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Reply::Serial(s)) => distributed &= s == serial,
            Ok(Reply::NoSoa) => distributed = false,
            Ok(Reply::Silent) | Err(_) => silent = true,
        }
    }
    if silent {
        Distribution::TimedOut
    } else {
        Distribution::Answered(distributed)
    }
}

/// Asks every address in `addrs` for `zone`'s SOA at once; the replies in
/// the order of `addrs`.
pub(crate) async fn ask_each(addrs: &[SocketAddr], zone: &Name) -> Vec<Reply> {
    let mut tasks = JoinSet::new();
    for (i, &addr) in addrs.iter().enumerate() {
        let zone = zone.clone();
        tasks.spawn(async move { (i, ask_soa(addr, &zone).await) });
    }
    let mut replies = vec![Reply::Silent; addrs.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, reply)) = joined {
            replies[i] = reply;
        }
    }
    replies
}

/// One SOA query for `zone` to one name server over UDP, waiting at most
/// one second.
pub async fn ask_soa(addr: SocketAddr, zone: &Name) -> Reply {
    let addr = reachable(addr);
    let deadline = Instant::now() + QUERY_TIMEOUT;
    match timeout_at(deadline, exchange(addr, zone)).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(err)) => {
            tracing::warn!(%addr, %err, "distribution check could not query a name server");
            Reply::Silent
        }
        Err(_) => Reply::Silent,
    }
}

/// Where to reach a listener: one bound to the unspecified address
/// (`0.0.0.0:53`, `[::]:53`) is asked on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// Sends the query and reads until a response with our id arrives.
async fn exchange(addr: SocketAddr, zone: &Name) -> std::io::Result<Reply> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    // A connected socket only receives datagrams from the name server.
    socket.connect(addr).await?;
    let id = random_id();
    let spec = QuerySpec {
        id,
        recursion_desired: false,
        edns_udp_size: Some(1232),
    };
    socket.send(&query_message(spec, zone, Rtype::SOA)).await?;
    let mut buf = vec![0u8; MAX_RESPONSE];
    loop {
        let len = socket.recv(&mut buf).await?;
        if let Some(reply) = read_reply(&buf[..len], id, zone) {
            return Ok(reply);
        }
    }
}

/// Reads a response to our query; `None` for anything else (another id,
/// garbage), which is ignored.
fn read_reply(msg: &[u8], id: u16, zone: &Name) -> Option<Reply> {
    let message = decode_message(msg).ok()?;
    let is_response = message.header.flags & Header::QR != 0;
    if message.header.id != id || !is_response {
        return None;
    }
    if message.rcode() != 0 {
        return Some(Reply::NoSoa);
    }
    let serial = message
        .answer
        .iter()
        .filter(|r| r.rtype == Rtype::SOA && r.owner.eq_ignore_case(zone))
        .find_map(|r| soa_serial(&r.rdata));
    Some(serial.map_or(Reply::NoSoa, Reply::Serial))
}

/// The serial field of SOA RDATA whose names are uncompressed.
fn soa_serial(rdata: &[u8]) -> Option<u32> {
    let mname = wire_name_len(rdata)?;
    let rname = wire_name_len(rdata.get(mname..)?)?;
    let at = mname + rname;
    let bytes = rdata.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// An unpredictable query id, so stray datagrams are not taken for answers.
fn random_id() -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    // Truncation keeps the low 16 bits, which is all a query id holds.
    hasher.finish() as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soa_serial_reads_after_two_names() {
        let mut rdata = Vec::new();
        rdata.extend_from_slice(b"\x03ns1\x07example\x00");
        rdata.extend_from_slice(b"\x00");
        rdata.extend_from_slice(&2024_0101_u32.to_be_bytes());
        rdata.extend_from_slice(&[0; 16]);
        assert_eq!(soa_serial(&rdata), Some(2024_0101));
        assert_eq!(soa_serial(&rdata[..10]), None);
    }

    #[test]
    fn unspecified_listeners_are_asked_on_loopback() {
        let any4: SocketAddr = "0.0.0.0:53".parse().expect("addr");
        let any6: SocketAddr = "[::]:5353".parse().expect("addr");
        let real: SocketAddr = "192.0.2.1:53".parse().expect("addr");
        assert_eq!(reachable(any4), "127.0.0.1:53".parse().expect("addr"));
        assert_eq!(reachable(any6), "[::1]:5353".parse().expect("addr"));
        assert_eq!(reachable(real), real);
    }
}
