//! Automated analysis in Argo Rollouts' terms: a subset of its `AnalysisTemplate` read from YAML
//! ([`parse_template`]), a measured value judged with a metric's conditions ([`assess`]), a
//! metric's phase from its measurements ([`metric_phase`]), when to measure next
//! ([`next_measurement_at`]), and a run's phase from its metrics' ([`run_phase`]). Pure: the
//! caller measures (queries Prometheus, calls the web endpoint, reads the router's metrics),
//! keeps the measurements and the clock.
//!
//! The semantics are Argo's, read from its source (argoproj/argo-rollouts, v1.10:
//! `analysis/analysis.go`, `utils/analysis/`, `utils/evaluate/evaluate.go`) where its
//! documentation is silent or says otherwise; each function says where it follows which.
//!
//! What is taken from Argo's template: `args` (`name`, `value`), and per metric `name`,
//! `interval`, `count`, `initialDelay`, `successCondition`, `failureCondition`, `failureLimit`,
//! `inconclusiveLimit`, `consecutiveErrorLimit`, and the `prometheus` (`address`, `query`,
//! `timeout` in seconds) and `web` (`url`, `method`, `headers`, `body`, `jsonPath`,
//! `timeoutSeconds`) providers, plus Slipway's own `slipway` provider (the router's metrics of a
//! slot). What is not taken yet is refused by name, never ignored: `dryRun`,
//! `measurementRetention`, `templates`, `consecutiveSuccessLimit`, `valueFrom`, the other
//! providers, and the providers' authentication, TLS and range-query settings. Unlike Argo, a
//! metric with an `interval` must give a `count`: an analysis in a pipeline step has to end.

mod condition;
mod duration;
mod phase;
mod template;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use condition::assess;
pub use phase::{ERROR_RETRY_INTERVAL_MS, metric_phase, next_measurement_at, run_phase};
pub use template::{TemplateError, parse_template};
pub(crate) use template::{load_yaml, yaml_to_json};

/// An analysis template: its arguments (after the caller's values were applied and every
/// `{{args.NAME}}` in its metrics replaced) and its metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplate {
    /// The template's arguments with their values.
    pub args: Vec<Arg>,
    /// What to measure and how to judge it.
    pub metrics: Vec<MetricSpec>,
}

/// One argument of a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    /// Its name, as in `{{args.NAME}}`.
    pub name: String,
    /// Its value: the caller's, else the template's. [`parse_template`] refuses an argument left
    /// without one, so a parsed template's are all set.
    #[serde(default)]
    pub value: Option<String>,
}

/// One metric: what to measure, how often, and how to judge each measurement and the whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSpec {
    /// Its name, unique in the template.
    pub name: String,
    /// Time between measurements (from one's end to the next's start).
    #[serde(default, with = "duration::serde_option")]
    pub interval: Option<Duration>,
    /// How many measurements with a verdict to take (see [`MetricSpec::effective_count`]).
    #[serde(default)]
    pub count: Option<u32>,
    /// Time from the analysis's start to the first measurement.
    #[serde(default, with = "duration::serde_duration")]
    pub initial_delay: Duration,
    /// An expression over `result` that makes a measurement successful.
    #[serde(default)]
    pub success_condition: Option<String>,
    /// An expression over `result` that makes a measurement failed.
    #[serde(default)]
    pub failure_condition: Option<String>,
    /// Failed measurements allowed; one more fails the metric (Argo's default, 0: the first
    /// failed measurement fails it).
    pub failure_limit: u32,
    /// Inconclusive measurements allowed; one more makes the metric inconclusive (default 0).
    pub inconclusive_limit: u32,
    /// Errors in a row allowed; one more makes the metric an error (default 4).
    pub consecutive_error_limit: u32,
    /// Where the value comes from.
    pub provider: Provider,
}

impl MetricSpec {
    /// Argo's `EffectiveCount`: `count` when given; 1 when neither `count` nor `interval` is;
    /// `None` (measure until stopped) for an `interval` without a `count`, which
    /// [`parse_template`] refuses but a hand-built metric may have. A `count` of 0 counts as not
    /// given, as in Argo.
    #[must_use]
    pub fn effective_count(&self) -> Option<u32> {
        match (self.count.filter(|count| *count > 0), self.interval) {
            (Some(count), _) => Some(count),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        }
    }

    /// The provider in a few words, for logs: `prometheus http://…:9090 sum(rate(…))`,
    /// `web GET https://…`, `slipway success-rate of slot canary`.
    #[must_use]
    pub fn describe_provider(&self) -> String {
        match &self.provider {
            Provider::Slipway { service, slot, metric, window } => {
                let mut text = format!("slipway {} of slot {slot}", metric.name());
                if let Some(service) = service {
                    text.push_str(&format!(" of service {service}"));
                }
                if let Some(window) = window {
                    text.push_str(&format!(" over {}", duration::format(*window)));
                }
                text
            }
            Provider::Judge { canary, baseline, metrics, .. } => format!(
                "judge {} of slot {canary} against {baseline}",
                metrics.iter().map(|metric| metric.name()).collect::<Vec<_>>().join(", ")
            ),
            Provider::Prometheus { address, query, .. } => format!("prometheus {address} {}", shorten(query)),
            Provider::Web { url, method, json_path, .. } => match json_path {
                Some(path) => format!("web {method} {url} {path}"),
                None => format!("web {method} {url}"),
            },
        }
    }
}

/// A query on one line, cut after 160 characters.
fn shorten(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= 160 { text } else { format!("{}…", text.chars().take(160).collect::<String>()) }
}

/// Where a metric's value comes from. Stored as `{"prometheus": {...}}`, as Argo writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Provider {
    /// Slipway's own router metrics of a slot of a service.
    Slipway {
        /// The service; the one being deployed when not given.
        service: Option<String>,
        /// The slot (`canary`, `green`, …).
        slot: String,
        /// Which of the router's metrics.
        metric: RouterMetric,
        /// The time the value is taken over; the caller's default when not given.
        #[serde(default, with = "duration::serde_option")]
        window: Option<Duration>,
    },
    /// A Prometheus server's instant query. The result is a number for a scalar, an array of
    /// numbers for a vector.
    Prometheus {
        /// The server's base address.
        address: String,
        /// The PromQL query.
        query: String,
        /// How long the query may take (Argo writes whole seconds); the caller's default when not
        /// given.
        #[serde(default, with = "duration::serde_option")]
        timeout: Option<Duration>,
    },
    /// Kayenta's statistical judge (Slipway's): the canary slot's per-second series of router
    /// metrics against a baseline slot's started at the same time, over a window. The result is
    /// `{score, outcome, verdict, series}`; without conditions a score at or above the
    /// configuration's `pass` is successful, below `marginal` failed, in between inconclusive
    /// (as Argo's `kayenta` provider judges its score).
    Judge {
        /// The service; the one being deployed when not given.
        service: Option<String>,
        /// The canary's slot.
        canary: String,
        /// The baseline's slot (the stable version, started beside the canary).
        baseline: String,
        /// The router metrics compared, one sample per second with requests.
        metrics: Vec<RouterMetric>,
        /// The time judged, up to the measurement.
        #[serde(default, with = "duration::serde_option")]
        window: Option<Duration>,
        /// The judge's configuration (Kayenta's: directions, critical metrics, group weights,
        /// pass and marginal scores), with Kayenta's defaults.
        config: crate::judge::JudgeConfig,
    },
    /// JSON (or text) over HTTP, Argo's `web` provider.
    Web {
        /// The address.
        url: String,
        /// `GET` (the default), `POST` or `PUT`.
        method: String,
        /// Request headers, in order.
        headers: Vec<(String, String)>,
        /// The request body (only with `POST` or `PUT`).
        body: Option<String>,
        /// A Kubernetes JSONPath template (`{$.data.ok}`) picking the result out of the response;
        /// the whole body when not given. Applied by the caller.
        json_path: Option<String>,
        /// How long the request may take (Argo: `timeoutSeconds`, 10 s when not given).
        #[serde(default, with = "duration::serde_option")]
        timeout: Option<Duration>,
    },
}

/// One of the router's metrics of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterMetric {
    /// Requests answered without a 5xx, as a fraction of all (`success-rate`).
    SuccessRate,
    /// Requests answered with a 5xx, as a fraction of all (`error-rate`).
    ErrorRate,
    /// Requests per second (`request-rate`).
    RequestRate,
    /// The median latency, in seconds (`latency-p50`).
    LatencyP50,
    /// The 90th percentile latency, in seconds (`latency-p90`).
    LatencyP90,
    /// The 99th percentile latency, in seconds (`latency-p99`).
    LatencyP99,
}

impl RouterMetric {
    /// Every router metric, in the order they are listed to people.
    pub const ALL: [RouterMetric; 6] = [
        RouterMetric::SuccessRate,
        RouterMetric::ErrorRate,
        RouterMetric::RequestRate,
        RouterMetric::LatencyP50,
        RouterMetric::LatencyP90,
        RouterMetric::LatencyP99,
    ];

    /// Its name in YAML and JSON (`success-rate`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RouterMetric::SuccessRate => "success-rate",
            RouterMetric::ErrorRate => "error-rate",
            RouterMetric::RequestRate => "request-rate",
            RouterMetric::LatencyP50 => "latency-p50",
            RouterMetric::LatencyP90 => "latency-p90",
            RouterMetric::LatencyP99 => "latency-p99",
        }
    }

    /// The metric of that name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.name() == name)
    }
}

/// What one measurement came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MeasurementPhase {
    /// The conditions call it a success.
    Successful,
    /// The conditions call it a failure.
    Failed,
    /// Neither (both conditions given, neither true).
    Inconclusive,
    /// No value could be measured, or a condition could not be evaluated.
    Error,
}

/// One measurement of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// What it came to.
    pub phase: MeasurementPhase,
    /// The measured value, when there was one.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Why it is an error, or anything else worth telling.
    #[serde(default)]
    pub message: Option<String>,
    /// When it started, in milliseconds since the epoch.
    pub started_at: i64,
    /// When it finished, in milliseconds since the epoch.
    pub finished_at: i64,
}

/// Where a metric stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MetricPhase {
    /// Not measured yet.
    Pending,
    /// Measured, more to come.
    Running,
    /// Ended well.
    Successful,
    /// Ended with too many failed measurements.
    Failed,
    /// Ended with too many inconclusive measurements.
    Inconclusive,
    /// Ended with too many errors in a row.
    Error,
}

/// Where a whole analysis run stands. Argo's rollout continues on Successful, aborts on Failed or
/// Error, and pauses for a person on Inconclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunPhase {
    /// Still measuring.
    Running,
    /// Every metric ended well.
    Successful,
    /// A metric failed.
    Failed,
    /// A metric was inconclusive (and none worse).
    Inconclusive,
    /// A metric could not be measured (and none failed).
    Error,
}

/// ` (did you mean `x`?)` when a candidate is close to `word`, else nothing.
fn did_you_mean_text<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    slipway_diagnostics::did_you_mean(word, candidates)
        .map(|candidate| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_round_trips_through_json() {
        let template = AnalysisTemplate {
            args: vec![Arg { name: "service".to_owned(), value: Some("web".to_owned()) }],
            metrics: vec![
                MetricSpec {
                    name: "success-rate".to_owned(),
                    interval: Some(Duration::from_secs(90)),
                    count: Some(3),
                    initial_delay: Duration::from_millis(1500),
                    success_condition: Some("result >= 0.95".to_owned()),
                    failure_condition: None,
                    failure_limit: 1,
                    inconclusive_limit: 0,
                    consecutive_error_limit: 4,
                    provider: Provider::Slipway {
                        service: Some("web".to_owned()),
                        slot: "canary".to_owned(),
                        metric: RouterMetric::LatencyP99,
                        window: Some(Duration::from_secs(300)),
                    },
                },
                MetricSpec {
                    name: "web".to_owned(),
                    interval: None,
                    count: None,
                    initial_delay: Duration::ZERO,
                    success_condition: None,
                    failure_condition: Some("result.ok == false".to_owned()),
                    failure_limit: 0,
                    inconclusive_limit: 0,
                    consecutive_error_limit: 4,
                    provider: Provider::Web {
                        url: "https://example.com/health".to_owned(),
                        method: "POST".to_owned(),
                        headers: vec![("Authorization".to_owned(), "Bearer x".to_owned())],
                        body: Some("{}".to_owned()),
                        json_path: Some("{$.data}".to_owned()),
                        timeout: Some(Duration::from_secs(20)),
                    },
                },
            ],
        };
        let json = serde_json::to_value(&template).expect("serializes");
        assert_eq!(json["metrics"][0]["interval"], "1m30s");
        assert_eq!(json["metrics"][0]["initialDelay"], "1s500ms");
        assert_eq!(json["metrics"][0]["provider"]["slipway"]["metric"], "latency-p99");
        assert_eq!(json["metrics"][1]["provider"]["web"]["jsonPath"], "{$.data}");
        assert_eq!(json["metrics"][1]["interval"], serde_json::Value::Null);
        let back: AnalysisTemplate = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, template);

        let measurement = Measurement {
            phase: MeasurementPhase::Inconclusive,
            value: Some(serde_json::json!([0.5])),
            message: None,
            started_at: 1,
            finished_at: 2,
        };
        let json = serde_json::to_string(&measurement).expect("serializes");
        assert_eq!(json, r#"{"phase":"inconclusive","value":[0.5],"message":null,"startedAt":1,"finishedAt":2}"#);
        assert_eq!(serde_json::from_str::<Measurement>(&json).expect("deserializes"), measurement);
    }

    #[test]
    fn describes_providers() {
        let mut metric = MetricSpec {
            name: "m".to_owned(),
            interval: None,
            count: None,
            initial_delay: Duration::ZERO,
            success_condition: None,
            failure_condition: None,
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            provider: Provider::Slipway {
                service: Some("shop".to_owned()),
                slot: "canary".to_owned(),
                metric: RouterMetric::ErrorRate,
                window: Some(Duration::from_secs(120)),
            },
        };
        assert_eq!(metric.describe_provider(), "slipway error-rate of slot canary of service shop over 2m");
        metric.provider = Provider::Prometheus {
            address: "http://prometheus:9090".to_owned(),
            query: "sum(rate(x[5m]))\n  /\n  sum(rate(y[5m]))\n".to_owned(),
            timeout: None,
        };
        assert_eq!(metric.describe_provider(), "prometheus http://prometheus:9090 sum(rate(x[5m])) / sum(rate(y[5m]))");
        metric.provider = Provider::Web {
            url: "http://x/y".to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: None,
            json_path: None,
            timeout: None,
        };
        assert_eq!(metric.describe_provider(), "web GET http://x/y");
    }
}
