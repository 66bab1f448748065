//! Which probes a round makes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use candor_status::model::ComponentKind;

#[cfg(test)]
mod tests;

/// What one monitored component is and where it answers.
#[derive(Clone, Debug)]
pub struct Target {
    /// The component's id in the status database.
    pub id: i64,
    /// What it is, which says how it is probed.
    pub kind: ComponentKind,
    /// Where it answers.
    pub addr: SocketAddr,
    /// HTTPS, for an API that serves it (the client config trusts its
    /// certificate).
    pub tls: Option<Arc<candor_tls::ClientConfig>>,
}

/// One vantage point: a name and the source address probes are sent from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vantage {
    /// Its name, shown in failure reasons (`lo2: udp: ...`).
    pub name: String,
    /// The source address; `None` leaves it to the system.
    pub source: Option<IpAddr>,
}

impl Vantage {
    /// The vantage point probes go out of when none is given: the
    /// system's choice of source address.
    pub fn local() -> Vantage {
        Vantage {
            name: "local".into(),
            source: None,
        }
    }

    /// Parses `IP` or `NAME=IP` (the `--status-vantage` syntax).
    pub fn parse(text: &str) -> Result<Vantage, String> {
        let (name, ip) = match text.split_once('=') {
            Some((name, ip)) => (name.trim().to_owned(), ip.trim()),
            None => (text.trim().to_owned(), text.trim()),
        };
        let source: IpAddr = ip
            .parse()
            .map_err(|_| format!("--status-vantage {text:?}: {ip:?} is not an IP address"))?;
        Ok(Vantage {
            name,
            source: Some(source),
        })
    }
}

/// One probe of a round: which component, from where.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The component probed.
    pub target: Target,
    /// The vantage point's name.
    pub vantage: String,
    /// The address the probe is sent from (the unspecified address of the
    /// target's family: the system's choice).
    pub source: IpAddr,
}

/// The probes of one round: every target that can be probed (an API, a
/// redirector or a name server; not a component of kind `Other`) from
/// every vantage point of its address family, targets first. A vantage
/// point without a source address probes both families.
pub fn plan(targets: &[Target], vantages: &[Vantage]) -> Vec<Probe> {
    let mut probes = Vec::with_capacity(targets.len() * vantages.len());
    for t in targets {
        if t.kind == ComponentKind::Other {
            continue;
        }
        for v in vantages {
            let source = match v.source {
                Some(ip) if ip.is_ipv4() != t.addr.is_ipv4() => continue,
                Some(ip) => ip,
                None if t.addr.is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            probes.push(Probe {
                target: t.clone(),
                vantage: v.name.clone(),
                source,
            });
        }
    }
    probes
}
