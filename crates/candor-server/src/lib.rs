//! The network side of the name server: UDP workers, the TCP listener,
//! zone transfers and NOTIFY.
//!
//! This crate only moves bytes. Every answer to a query comes from
//! `candor_answer::respond` on the current [`ZoneSet`] snapshot, which is
//! loaded once per batch of packets from an [`ArcSwap`]; publishing a new
//! snapshot never blocks a worker. Transfer requests over TCP go to
//! `candor_xfr::Primary` instead, and NOTIFYs are sent as
//! `candor_xfr::Notifier` decides (module `xfr`).
//!
//! Nothing here logs per packet or allocates per packet: each UDP worker
//! owns its buffers, TCP connections share one scratch buffer per runtime
//! thread, and counters are atomics summed on read.

// `unsafe` is allowed in the UDP module (the `recvmmsg`/`sendmmsg` calls
// and the zeroed structs they take), in `fdlimit` (`getrlimit` and
// `setrlimit`), in `priority` (`setpriority`) and in `sockfilter`
// (`SO_ATTACH_FILTER`, `SO_ATTACH_REUSEPORT_CBPF`) only.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod fdlimit;
#[allow(unsafe_code)]
mod priority;
mod quarantine;
#[allow(unsafe_code)]
mod sockfilter;
mod stats;
mod tcp;
#[allow(unsafe_code)]
mod udp;
mod xfr;

use std::sync::Arc;

use arc_swap::ArcSwap;
use candor_zone::ZoneSet;

pub use fdlimit::{FdLimit, raise_fd_limit};
pub use priority::{BACKGROUND_NICE, yield_to_udp_workers};
pub use stats::{
    BADCOOKIE_HEADER_RCODE, LATENCY_BUCKETS, LatencyHistogram, LatencySnapshot, Stats,
    StatsSnapshot,
};
pub use tcp::{
    ConnectionSnapshot, ConnectionStats, TcpConfig, TcpStats, max_connections_for, serve_tcp,
};
pub use udp::{UdpConfig, UdpWorkers, bind_udp};
pub use xfr::{SecondarySide, Transfers, XfrSnapshot, XfrStats, follow_zones, run_notifier};

/// The zones being served, replaced as a whole when anything changes.
pub type SharedZones = Arc<ArcSwap<ZoneSet>>;
