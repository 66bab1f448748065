//! The name server's counters, summed over the workers on every scrape.

use std::fmt;
use std::sync::Arc;

use candor_server::{
    BADCOOKIE_HEADER_RCODE, LatencyHistogram, LatencySnapshot, Stats, StatsSnapshot, TcpStats,
    XfrStats,
};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use crate::Samples;

/// Reads the UDP workers' and the TCP side's counters when scraped.
#[derive(Debug, Clone)]
pub struct DnsCollector {
    /// Every UDP worker's counters (of every listening address).
    udp: Vec<Arc<Stats>>,
    /// The TCP side's counters.
    tcp: Arc<TcpStats>,
    /// Zone transfer counters, when transfers are handled.
    xfr: Option<Arc<XfrStats>>,
}

impl DnsCollector {
    /// A collector over these counters.
    pub fn new(udp: Vec<Arc<Stats>>, tcp: Arc<TcpStats>, xfr: Option<Arc<XfrStats>>) -> Self {
        DnsCollector { udp, tcp, xfr }
    }

    /// The UDP workers' counters, summed.
    fn udp_totals(&self) -> StatsSnapshot {
        let mut sum = StatsSnapshot::default();
        for s in &self.udp {
            s.add_to(&mut sum);
        }
        sum
    }
}

/// The name of an rcode as the header carries it (low four bits; 7 is
/// BADCOOKIE in Candor's responses, see `candor_server::Stats::rcodes`).
fn rcode_name(code: usize) -> &'static str {
    match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        BADCOOKIE_HEADER_RCODE => "BADCOOKIE",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "RCODE11",
        12 => "RCODE12",
        13 => "RCODE13",
        14 => "RCODE14",
        _ => "RCODE15",
    }
}

/// The rcodes always shown (others only once seen).
const COMMON_RCODES: [usize; 6] = [0, 1, 2, 3, 5, 9];

/// Writes one transport's query counters.
fn transport(s: &mut Samples, name: &str, t: &StatsSnapshot) {
    let tr = [("transport", name)];
    s.counter(
        "candor_dns_received",
        "DNS messages received.",
        &tr,
        t.received,
    );
    s.counter(
        "candor_dns_dropped",
        "DNS messages answered with nothing (not a query, malformed, or a send that failed); \
         rate-limiter drops are counted in candor_dns_rrl.",
        &tr,
        t.dropped,
    );
    s.counter(
        "candor_dns_truncated",
        "Responses sent with the TC bit (too large for UDP, or a rate-limiter slip).",
        &tr,
        t.truncated,
    );
    for (code, &n) in t.rcodes.iter().enumerate() {
        if n == 0 && !COMMON_RCODES.contains(&code) {
            continue;
        }
        s.counter(
            "candor_dns_responses",
            "DNS responses sent, by transport and rcode (BADCOOKIE includes rate-limiter slips \
             to cookie clients).",
            &[("transport", name), ("rcode", rcode_name(code))],
            n,
        );
    }
    for (result, n) in [
        ("client_only", t.cookie_client_only),
        ("valid", t.cookie_valid),
        ("invalid", t.cookie_invalid),
    ] {
        s.counter(
            "candor_dns_cookies",
            "Requests with a DNS COOKIE option, by what it held (client_only: a server cookie \
             was issued; invalid: a fresh one was).",
            &[("transport", name), ("result", result)],
            n,
        );
    }
}

impl Collector for DnsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let udp = self.udp_totals();
        let mut tcp = StatsSnapshot::default();
        self.tcp.queries.add_to(&mut tcp);
        let conns = self.tcp.connections.snapshot();
        let mut s = Samples::default();
        transport(&mut s, "udp", &udp);
        transport(&mut s, "tcp", &tcp);
        for (action, n) in [("slip", udp.rrl_slipped), ("drop", udp.rrl_dropped)] {
            s.counter(
                "candor_dns_rrl",
                "UDP responses the rate limiter replaced by a slip (TC=1 or BADCOOKIE) or dropped.",
                &[("action", action)],
                n,
            );
        }
        s.counter(
            "candor_dns_shed",
            "UDP queries shed unanswered under overload, because their zone was over its fair share.",
            &[],
            udp.shed,
        );
        s.counter(
            "candor_dns_kernel_shed",
            "UDP queries dropped in the kernel under overload by the workers' socket filters, because their zone was over its fair share (estimated from the share let through).",
            &[],
            udp.kernel_shed,
        );
        s.counter(
            "candor_dns_quarantined",
            "UDP queries for zones shed under overload that the kernel steered to the workers' quarantine sockets, away from the other zones' queue.",
            &[],
            udp.quarantined,
        );
        s.gauge(
            "candor_tcp_connections_open",
            "DNS TCP connections open now.",
            &[],
            i64::try_from(conns.open()).unwrap_or(i64::MAX),
        );
        s.counter(
            "candor_tcp_connections_accepted",
            "DNS TCP connections accepted and given a slot.",
            &[],
            conns.admitted,
        );
        for (reason, n) in [
            ("idle", conns.idle),
            ("query_deadline", conns.query_deadline),
            ("send_deadline", conns.send_deadline),
            ("evicted", conns.evicted),
            ("per_source", conns.per_source),
            ("refused_full", conns.full),
        ] {
            s.counter(
                "candor_tcp_connections_closed",
                "DNS TCP connections Candor closed, by reason (evicted: idle, to make room at the \
                 cap; per_source: over the per-source limit; refused_full: new, at the cap with \
                 none idle). Connections the client closed are not counted here.",
                &[("reason", reason)],
                n,
            );
        }
        if let Some(xfr) = &self.xfr {
            let x = xfr.snapshot();
            for (result, n) in [
                ("completed", x.completed),
                ("aborted", x.aborted),
                ("refused", x.refused),
                ("busy", x.busy),
            ] {
                s.counter(
                    "candor_xfr_requests",
                    "Zone transfer requests (AXFR, IXFR) by result: completed, aborted by the \
                     client, refused (ACL, TSIG, zone not served), busy (no transfer slot freed \
                     in time).",
                    &[("result", result)],
                    n,
                );
            }
        }
        s.encode(&mut encoder)?;
        latency(&mut encoder, &udp.latency)
    }
}

/// Writes the UDP answering-time histogram, in seconds.
fn latency(encoder: &mut DescriptorEncoder<'_>, h: &LatencySnapshot) -> Result<(), fmt::Error> {
    let mut metric = encoder.encode_descriptor(
        "candor_dns_udp_answer_seconds",
        "Time from receiving a batch of UDP queries to the end of sending its responses, \
         counted once per query of the batch (an upper bound of each query's time inside \
         Candor; queueing in the kernel before it is not included).",
        None,
        MetricType::Histogram,
    )?;
    let buckets: Vec<(f64, u64)> = h
        .buckets
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let bound =
                LatencyHistogram::upper_bound_us(k).map_or(f64::INFINITY, |us| us as f64 / 1e6);
            (bound, n)
        })
        .collect();
    metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
        h.sum_us as f64 / 1e6,
        h.count(),
        &buckets,
        None,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::Metrics;

    /// Counters of several workers are summed, rcodes are named (7 as
    /// BADCOOKIE), TCP connections open are accepted minus ended, and the
    /// latency histogram is cumulative in seconds.
    #[test]
    fn sums_workers_and_names_rcodes() {
        let (w1, w2) = (Arc::new(Stats::default()), Arc::new(Stats::default()));
        w1.received.store(10, Ordering::Relaxed);
        w2.received.store(5, Ordering::Relaxed);
        w1.rcodes[3].store(4, Ordering::Relaxed);
        w2.rcodes[BADCOOKIE_HEADER_RCODE].store(2, Ordering::Relaxed);
        w1.rrl_slipped.store(2, Ordering::Relaxed);
        w1.latency.buckets[4].store(32, Ordering::Relaxed);
        w1.latency.sum_us.store(320, Ordering::Relaxed);
        let tcp = Arc::new(TcpStats::default());
        tcp.connections.admitted.store(3, Ordering::Relaxed);
        tcp.connections.closed.store(1, Ordering::Relaxed);
        let xfr = Arc::new(XfrStats::default());
        xfr.completed.store(1, Ordering::Relaxed);
        let mut m = Metrics::new();
        m.register(DnsCollector::new(vec![w1, w2], tcp, Some(xfr)));
        let text = m.render();
        for line in [
            r#"candor_dns_received_total{transport="udp"} 15"#,
            r#"candor_dns_received_total{transport="tcp"} 0"#,
            r#"candor_dns_responses_total{transport="udp",rcode="NXDOMAIN"} 4"#,
            r#"candor_dns_responses_total{transport="udp",rcode="BADCOOKIE"} 2"#,
            r#"candor_dns_responses_total{transport="tcp",rcode="NOERROR"} 0"#,
            r#"candor_dns_rrl_total{action="slip"} 2"#,
            "candor_tcp_connections_open 2",
            r#"candor_xfr_requests_total{result="completed"} 1"#,
            r#"candor_dns_udp_answer_seconds_bucket{le="0.000008"} 0"#,
            r#"candor_dns_udp_answer_seconds_bucket{le="0.000016"} 32"#,
            r#"candor_dns_udp_answer_seconds_bucket{le="+Inf"} 32"#,
            "candor_dns_udp_answer_seconds_count 32",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("YXRRSET"), "{text}");
        assert!(!text.contains("RCODE11"), "rcodes never seen are left out");
    }
}
