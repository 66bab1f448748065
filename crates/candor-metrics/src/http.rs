//! The API's requests, by route template and status, and their latency.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

use crate::Metrics;

/// Labels of a request count: method, route template, status.
type RequestLabels = [(&'static str, String); 3];

/// Labels of a latency histogram: method, route template.
type RouteLabels = [(&'static str, String); 2];

/// Upper bounds of the latency buckets, in seconds (0.5 ms to 10 s).
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with [`BUCKETS`].
fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Requests to an HTTP service, counted once per request (not on the DNS
/// query path). Labels are bounded: the route is the template of the
/// route table (`/v2/{account}/zones/{zone}`), never the path a client
/// sent, `unmatched` for paths no route has; methods outside the usual
/// few are `other`.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    /// Requests by method, route and status.
    requests: Family<RequestLabels, Counter>,
    /// Time to the response's head, by method and route.
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(histogram),
        }
    }
}

/// A method as a bounded label.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl HttpMetrics {
    /// Empty families.
    pub fn new() -> HttpMetrics {
        HttpMetrics::default()
    }

    /// Counts one request: `route` is the matched route template (or
    /// `unmatched`), `elapsed` the time to the response's head.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&[
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&[("method", method.to_owned()), ("route", route.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// Registers the families in `metrics` as `{prefix}_requests_total` and
    /// `{prefix}_request_duration_seconds`.
    pub fn register(&self, metrics: &mut Metrics, prefix: &str) {
        metrics.registry.register(
            format!("{prefix}_requests"),
            "HTTP requests by method, route template and status.",
            self.requests.clone(),
        );
        metrics.registry.register(
            format!("{prefix}_request_duration_seconds"),
            "Time from an HTTP request to its response's head, by method and route template.",
            self.latency.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests are counted by route template and status, and timed per
    /// route; an unusual method becomes `other`.
    #[test]
    fn counts_and_times_requests() {
        let http = HttpMetrics::new();
        let mut m = Metrics::new();
        http.register(&mut m, "candor_api");
        let route = "/v2/{account}/zones";
        http.observe("GET", route, 200, Duration::from_millis(2));
        http.observe("GET", route, 200, Duration::from_millis(30));
        http.observe("BREW", "unmatched", 404, Duration::from_micros(100));
        let text = m.render();
        assert!(
            text.contains(
                r#"candor_api_requests_total{method="GET",route="/v2/{account}/zones",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"candor_api_requests_total{method="other",route="unmatched",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"candor_api_request_duration_seconds_bucket{le="0.005",method="GET",route="/v2/{account}/zones"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"candor_api_request_duration_seconds_count{method="GET",route="/v2/{account}/zones"} 2"#
            ),
            "{text}"
        );
    }
}
