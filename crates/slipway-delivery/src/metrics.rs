//! What the router measures per service and slot: requests by status class and the latency to
//! the upstream's response headers, as Prometheus metrics (`prometheus-client`), and read back
//! for analysis.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of a request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The service.
    pub service: String,
    /// The slot.
    pub slot: String,
    /// `2xx`, `3xx`, `4xx`, `5xx` (502 when the upstream could not be reached).
    pub class: String,
}

/// The labels of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SlotLabels {
    /// The service.
    pub service: String,
    /// The slot.
    pub slot: String,
}

/// The histogram buckets: 0.5 ms doubling to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 16))
}

/// The router's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<SlotLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One slot's metrics, looked up once.
#[derive(Clone, Debug)]
pub struct SlotMetrics {
    classes: [Counter; 5],
    latency: Histogram,
}

impl SlotMetrics {
    /// Records one request.
    pub fn record(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.classes[class].inc();
        self.latency.observe(seconds);
    }
}

/// How many requests a slot answered, by status class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotCounts {
    /// 2xx and 3xx.
    pub ok: u64,
    /// 4xx.
    pub client_errors: u64,
    /// 5xx (and upstreams not reached).
    pub server_errors: u64,
}

impl SlotCounts {
    /// All of them.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.ok + self.client_errors + self.server_errors
    }
}

impl Metrics {
    /// Empty metrics, registered as `slipway_router_requests` and
    /// `slipway_router_request_duration_seconds`.
    #[must_use]
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<SlotLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let mut registry = Registry::default();
        registry.register(
            "slipway_router_requests",
            "Requests the router passed to a slot, by status class",
            requests.clone(),
        );
        registry.register(
            "slipway_router_request_duration_seconds",
            "Time from a request to its slot's response headers",
            latency.clone(),
        );
        Self { registry: Mutex::new(registry), requests, latency }
    }

    /// Records one request to a slot.
    pub fn record(&self, service: &str, slot: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        self.requests.get_or_create(&RequestLabels { service: service.to_owned(), slot: slot.to_owned(), class }).inc();
        self.latency.get_or_create(&SlotLabels { service: service.to_owned(), slot: slot.to_owned() }).observe(seconds);
    }

    /// The handles of one slot's metrics, to record without looking them up per request.
    #[must_use]
    pub fn slot(&self, service: &str, slot: &str) -> SlotMetrics {
        let counter = |class: &str| {
            self.requests
                .get_or_create(&RequestLabels {
                    service: service.to_owned(),
                    slot: slot.to_owned(),
                    class: class.to_owned(),
                })
                .clone()
        };
        SlotMetrics {
            classes: [counter("1xx"), counter("2xx"), counter("3xx"), counter("4xx"), counter("5xx")],
            latency: self
                .latency
                .get_or_create(&SlotLabels { service: service.to_owned(), slot: slot.to_owned() })
                .clone(),
        }
    }

    /// A slot's request counts so far.
    #[must_use]
    pub fn counts(&self, service: &str, slot: &str) -> SlotCounts {
        let get = |class: &str| {
            self.requests
                .get_or_create(&RequestLabels {
                    service: service.to_owned(),
                    slot: slot.to_owned(),
                    class: class.to_owned(),
                })
                .get()
        };
        SlotCounts { ok: get("2xx") + get("3xx"), client_errors: get("4xx"), server_errors: get("5xx") }
    }

    /// The metrics in Prometheus's text format.
    #[must_use]
    pub fn text(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}
