//! Prometheus metrics for Candor, rendered when scraped.
//!
//! Nothing here runs on the query path. The UDP workers and the TCP side
//! already count into per-worker atomics (`candor_server::Stats`); the
//! [`dns::DnsCollector`] sums them each time `/metrics` is read. Other
//! subsystems (the ALIAS resolver, the publisher, the status page's probes
//! and outbox, zone transfers) are read the same way through closures
//! ([`Metrics::register_fn`]). Only the API's per-request families
//! ([`http::HttpMetrics`]) are written as requests happen, once per request.
//!
//! The output is the OpenMetrics text format (`# EOF` at the end), which
//! Prometheus reads; counters get the `_total` suffix.
//!
//! **Hook for per-zone query metrics.** Per-zone accounting on the query
//! path belongs to the attack defences; they register a collector with
//! [`Metrics::register_fn`] that writes, for a bounded set of zones (the
//! top N), `candor_dns_zone_queries_total{zone="..."}` through
//! [`Samples::counter`]. The rest of this crate needs no change for it.

#![forbid(unsafe_code)]

pub mod dns;
pub mod http;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric Candor exposes: a registry of collectors read on scrape.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The collectors.
    registry: Registry,
}

impl Metrics {
    /// An empty set of metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Adds a collector, read on every scrape.
    pub fn register(&mut self, collector: impl Collector) {
        self.registry.register_collector(Box::new(collector));
    }

    /// Adds a collector written as a closure that fills [`Samples`]: the
    /// simple way for a subsystem to expose counters and gauges it
    /// already keeps. It runs on the scraping task, so it must be quick
    /// (read atomics, take a short lock).
    pub fn register_fn(&mut self, f: impl Fn(&mut Samples) + Send + Sync + 'static) {
        self.register(FnCollector(Arc::new(f)));
    }

    /// The OpenMetrics text of every metric now.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String fails only if a collector fails, and ours
        // do not; a failure still leaves what was written, which is the
        // most useful thing to serve.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            out.push_str(&format!("# error: {e}\n# EOF\n"));
        }
        out
    }
}

/// Whether a sample counts up or goes up and down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Only increases (rendered with `_total`).
    Counter,
    /// Any value.
    Gauge,
}

/// One metric family being collected: help, kind and its labelled values.
#[derive(Debug)]
struct Family {
    /// The help text.
    help: &'static str,
    /// Counter or gauge.
    kind: Kind,
    /// Label sets and values, in the order added (an i128 holds a
    /// counter's u64 and a gauge's i64 alike).
    values: Vec<(Vec<(&'static str, String)>, i128)>,
}

/// The samples a closure collector writes on one scrape, grouped into
/// families by name.
#[derive(Debug, Default)]
pub struct Samples {
    /// Families by name.
    families: BTreeMap<&'static str, Family>,
}

impl Samples {
    /// Adds a sample.
    fn add(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &[(&'static str, &str)],
        value: i128,
    ) {
        let family = self.families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            values: Vec::new(),
        });
        let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        family.values.push((labels, value));
    }

    /// A counter (`name` without `_total`; the encoder appends it).
    pub fn counter(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    ) {
        self.add(name, help, Kind::Counter, labels, i128::from(value));
    }

    /// A gauge.
    pub fn gauge(
        &mut self,
        name: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: i64,
    ) {
        self.add(name, help, Kind::Gauge, labels, i128::from(value));
    }

    /// Writes every family.
    fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        for (name, family) in &self.families {
            let kind = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            let mut metric = encoder.encode_descriptor(name, family.help, None, kind)?;
            for (labels, value) in &family.values {
                let m = metric.encode_family(labels)?;
                // Values were added from a u64 (counters) or an i64
                // (gauges), so these conversions do not saturate.
                match family.kind {
                    Kind::Counter => {
                        ConstCounter::new(u64::try_from(*value).unwrap_or(u64::MAX)).encode(m)?
                    }
                    Kind::Gauge => {
                        ConstGauge::new(i64::try_from(*value).unwrap_or(i64::MAX)).encode(m)?
                    }
                }
            }
        }
        Ok(())
    }
}

/// A collector that runs a closure on every scrape.
#[derive(Clone)]
struct FnCollector(Arc<dyn Fn(&mut Samples) + Send + Sync>);

impl fmt::Debug for FnCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnCollector")
    }
}

impl Collector for FnCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let mut samples = Samples::default();
        (self.0)(&mut samples);
        samples.encode(&mut encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closure collector's counters and gauges come out in OpenMetrics
    /// text, counters with `_total`, labels quoted, `# EOF` last.
    #[test]
    fn closure_collector_renders() {
        let mut m = Metrics::new();
        m.register_fn(|s| {
            s.counter("candor_test_events", "Events.", &[("kind", "a")], 3);
            s.counter("candor_test_events", "Events.", &[("kind", "b\"")], 4);
            s.gauge("candor_test_level", "Level.", &[], -2);
        });
        let text = m.render();
        expect_test::expect![[r#"
            # HELP candor_test_events Events.
            # TYPE candor_test_events counter
            candor_test_events_total{kind="a"} 3
            candor_test_events_total{kind="b\""} 4
            # HELP candor_test_level Level.
            # TYPE candor_test_level gauge
            candor_test_level -2
            # EOF
        "#]]
        .assert_eq(&text);
    }
}
