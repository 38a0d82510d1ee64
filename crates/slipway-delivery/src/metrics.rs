//! What the router measures per service and slot: requests by status class and the latency to
//! the upstream's response headers, as Prometheus metrics (`prometheus-client`), and read back
//! for analysis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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
    series: Mutex<HashMap<SlotKey, Arc<Mutex<Series>>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A slot of a service: (service, slot).
type SlotKey = (String, String);

/// One slot's metrics, looked up once.
#[derive(Clone, Debug)]
pub struct SlotMetrics {
    classes: [Counter; 5],
    latency: Histogram,
    series: Arc<Mutex<Series>>,
}

impl SlotMetrics {
    /// Records one request.
    pub fn record(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.classes[class].inc();
        self.latency.observe(seconds);
        self.series.lock().unwrap_or_else(PoisonError::into_inner).record(now_second(), status, seconds);
    }
}

/// How many seconds of each slot's requests are kept for analysis.
pub const SERIES_SECONDS: u64 = 3600;

/// The latency buckets of the series' histograms: upper bounds in seconds (0.5 ms doubling),
/// and one more for everything slower.
const SERIES_BUCKETS: usize = 17;

fn bucket_bound(index: usize) -> f64 {
    0.000_5 * f64::from(1_u32 << index.min(30))
}

fn bucket_of(seconds: f64) -> usize {
    (0..SERIES_BUCKETS - 1).find(|&index| seconds <= bucket_bound(index)).unwrap_or(SERIES_BUCKETS - 1)
}

fn now_second() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// One second of a slot's requests.
#[derive(Clone, Copy, Debug, Default)]
struct Second {
    second: u64,
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    buckets: [u64; SERIES_BUCKETS],
}

/// A slot's requests second by second, for the last [`SERIES_SECONDS`].
#[derive(Debug, Default)]
struct Series {
    seconds: std::collections::VecDeque<Second>,
}

impl Series {
    fn record(&mut self, second: u64, status: u16, seconds: f64) {
        if self.seconds.back().is_none_or(|last| last.second < second) {
            self.seconds.push_back(Second { second, ..Second::default() });
            while self.seconds.front().is_some_and(|first| first.second + SERIES_SECONDS < second) {
                self.seconds.pop_front();
            }
        }
        // A clock that went back counts into the newest second.
        let Some(entry) = self.seconds.back_mut() else { return };
        match status {
            500.. => entry.server_errors += 1,
            400..500 => entry.client_errors += 1,
            _ => entry.ok += 1,
        }
        entry.buckets[bucket_of(seconds)] += 1;
    }

    /// One window per second from `from` to `to` that had requests.
    fn seconds(&self, from: u64, to: u64) -> Vec<Window> {
        self.seconds
            .iter()
            .filter(|second| second.second >= from && second.second <= to)
            .map(|second| Window {
                seconds: 1,
                ok: second.ok,
                client_errors: second.client_errors,
                server_errors: second.server_errors,
                buckets: second.buckets,
            })
            .filter(|window| window.total() > 0)
            .collect()
    }

    fn window(&self, from: u64, to: u64) -> Window {
        let mut window = Window::default();
        for second in self.seconds.iter().filter(|second| second.second >= from && second.second <= to) {
            window.ok += second.ok;
            window.client_errors += second.client_errors;
            window.server_errors += second.server_errors;
            for (total, count) in window.buckets.iter_mut().zip(second.buckets) {
                *total += count;
            }
        }
        window.seconds = to.saturating_sub(from) + 1;
        window
    }
}

/// A slot's requests over a window of time, as analysis reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Window {
    /// How long the window is, in seconds.
    pub seconds: u64,
    /// 1xx, 2xx and 3xx answers.
    pub ok: u64,
    /// 4xx answers.
    pub client_errors: u64,
    /// 5xx answers (and upstreams not reached).
    pub server_errors: u64,
    buckets: [u64; SERIES_BUCKETS],
}

impl Window {
    /// All requests.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.ok + self.client_errors + self.server_errors
    }

    /// The share of requests not answered with a 5xx (Flagger's request success rate), `None`
    /// without requests.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    pub fn success_rate(&self) -> Option<f64> {
        (self.total() > 0).then(|| (self.total() - self.server_errors) as f64 / self.total() as f64)
    }

    /// Requests per second.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    pub fn request_rate(&self) -> f64 {
        self.total() as f64 / self.seconds.max(1) as f64
    }

    /// A latency quantile in milliseconds (`q` in 0..=1), interpolated within its histogram
    /// bucket; `None` without requests.
    #[must_use]
    #[expect(clippy::cast_precision_loss, reason = "request counts are far below 2^52")]
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0_u64;
        for (index, &count) in self.buckets.iter().enumerate() {
            if count > 0 && (below + count) as f64 >= rank {
                let lower = if index == 0 { 0.0 } else { bucket_bound(index - 1) };
                if index == SERIES_BUCKETS - 1 {
                    return Some(lower * 1000.0);
                }
                let upper = bucket_bound(index);
                let within = ((rank - below as f64) / count as f64).clamp(0.0, 1.0);
                return Some((lower + (upper - lower) * within) * 1000.0);
            }
            below += count;
        }
        Some(bucket_bound(SERIES_BUCKETS - 2) * 1000.0)
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
        Self { registry: Mutex::new(registry), requests, latency, series: Mutex::new(HashMap::new()) }
    }

    /// Records one request to a slot.
    pub fn record(&self, service: &str, slot: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        self.requests.get_or_create(&RequestLabels { service: service.to_owned(), slot: slot.to_owned(), class }).inc();
        self.latency.get_or_create(&SlotLabels { service: service.to_owned(), slot: slot.to_owned() }).observe(seconds);
        self.series_of(service, slot).lock().unwrap_or_else(PoisonError::into_inner).record(
            now_second(),
            status,
            seconds,
        );
    }

    fn series_of(&self, service: &str, slot: &str) -> Arc<Mutex<Series>> {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(series.entry((service.to_owned(), slot.to_owned())).or_default())
    }

    /// A slot's requests second by second over the last `seconds` seconds (the current one
    /// excluded, as it is not over), only the seconds that had requests: the samples a
    /// statistical judge compares.
    #[must_use]
    pub fn per_second(&self, service: &str, slot: &str, seconds: u64) -> Vec<Window> {
        let now = now_second();
        let series = self.series_of(service, slot);
        let series = series.lock().unwrap_or_else(PoisonError::into_inner);
        series.seconds(now.saturating_sub(seconds.max(1)), now.saturating_sub(1))
    }

    /// A slot's requests over the last `seconds` seconds (the current one included).
    #[must_use]
    pub fn window(&self, service: &str, slot: &str, seconds: u64) -> Window {
        let now = now_second();
        let series = self.series_of(service, slot);
        let series = series.lock().unwrap_or_else(PoisonError::into_inner);
        series.window(now.saturating_sub(seconds.max(1) - 1), now)
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
            series: self.series_of(service, slot),
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
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod series_tests {
    use super::*;

    #[test]
    fn a_window_counts_the_requests_of_its_seconds_and_reads_quantiles() {
        let mut series = Series::default();
        for _ in 0..90 {
            series.record(100, 200, 0.001);
        }
        for _ in 0..10 {
            series.record(101, 503, 0.1);
        }
        let window = series.window(100, 101);
        assert_eq!((window.ok, window.server_errors, window.total()), (90, 10, 100));
        assert_eq!(window.success_rate(), Some(0.9));
        assert!((window.request_rate() - 50.0).abs() < 1e-9);
        let p50 = window.latency_ms(0.5).unwrap_or_default();
        assert!(p50 > 0.5 && p50 <= 1.0, "{p50}");
        let p99 = window.latency_ms(0.99).unwrap_or_default();
        assert!(p99 > 64.0 && p99 <= 128.0, "{p99}");
        assert_eq!(series.window(200, 300).success_rate(), None);
        // A clock that went back counts into the newest second.
        series.record(50, 200, 0.001);
        assert_eq!(series.window(101, 101).ok, 1);
        // Seconds older than the series keeps are dropped.
        series.record(100 + SERIES_SECONDS + 10, 200, 0.001);
        assert_eq!(series.window(0, 200).total(), 0);
    }
}
