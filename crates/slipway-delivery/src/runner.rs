//! The analysis runner: measures the server's analysis runs (kept in the store, so a restarted
//! server goes on where it stopped) metric by metric when each measurement is due, from the
//! router's own per-slot series, a Prometheus server's HTTP API or any JSON over HTTP (Argo's
//! `web`), judges every measurement with the metric's conditions and each run with Argo's rules
//! ([`crate::analysis`]), keeps every measurement, and sends synthetic load through a service's
//! router while a run that asks for it measures.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use slipway_store::{AnalysisRun, AnalysisRunId, Service, Store, StoreError};
use tokio::sync::{Notify, watch};

use crate::analysis::{
    AnalysisTemplate, Measurement, MeasurementPhase, MetricPhase, MetricSpec, Provider, RouterMetric, RunPhase,
};
use crate::host::{RouterHost, metrics_label};

/// Why a metric could not be measured or a probe could not look (kept as the measurement's or
/// the journal entry's message).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MeasureError {
    /// No requests reached the slot in the window.
    #[error("no requests reached slot '{slot}' of service '{service}' in the last {seconds} s")]
    NoRequests { slot: String, service: String, seconds: u64 },
    /// The judge's canary or baseline had no requests in the window.
    #[error(
        "no requests reached slot '{slot}' of service '{service}' in the last {seconds} s: the judge compares the canary with a baseline under the same traffic"
    )]
    NothingToJudge { slot: String, service: String, seconds: u64 },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run's service is gone.
    #[error("the run's service was deleted")]
    ServiceDeleted,
    /// A service the metric names is not in the run's environment.
    #[error("no service '{name}' in the environment of service '{own}'")]
    NoSuchService { name: String, own: String },
    /// Not an HTTP method.
    #[error("'{0}' is not an HTTP method")]
    NotAMethod(String),
    /// Not a URL.
    #[error("'{url}' is not a URL: {source}")]
    NotAUrl { url: String, source: hyper::http::uri::InvalidUri },
    /// An `https://` (or other) address, which measurements do not reach yet.
    #[error("'{0}': only http:// addresses can be measured so far (https is not supported yet)")]
    NotHttpMeasured(String),
    /// An `https://` (or other) address, which probes do not reach yet.
    #[error("'{0}': only http:// addresses can be probed so far")]
    NotHttpProbed(String),
    /// The request could not be built (a header that is not one).
    #[error("the request to {url} cannot be made: {source}")]
    Request { url: String, source: hyper::http::Error },
    /// The exchange failed (connecting, reading the answer, an answer too long).
    #[error("{url}: {source}")]
    Exchange { url: String, source: Box<dyn std::error::Error + Send + Sync> },
    /// The answer was not a success.
    #[error("{url} answered {status}: {excerpt}")]
    Answered { url: String, status: hyper::StatusCode, excerpt: String },
    /// No answer in time (`seconds` as the template or experiment wrote it).
    #[error("{url} did not answer within {seconds} s")]
    TimedOut { url: String, seconds: f64 },
    /// Prometheus answered with something not JSON.
    #[error("Prometheus answered with something not JSON: {0}")]
    PrometheusNotJson(#[source] serde_json::Error),
    /// Prometheus refused the query.
    #[error("Prometheus refused the query: {0}")]
    PrometheusRefused(String),
    /// A sample without its value.
    #[error("a sample without a value")]
    SampleWithoutValue,
    /// A sample whose value is not a number.
    #[error("the sample '{0}' is not a number")]
    SampleNotANumber(String),
    /// A vector answer without results.
    #[error("Prometheus answered a vector without results")]
    VectorWithoutResults,
    /// A result type conditions cannot use (`matrix`, `string`).
    #[error("Prometheus answered a {0} result; use a query that gives a scalar or an instant vector")]
    ResultType(String),
    /// A `web` answer that is not JSON, with a jsonPath to apply.
    #[error("the answer is not JSON, so the jsonPath cannot be applied: {0}")]
    AnswerNotJson(#[source] serde_json::Error),
    /// A jsonPath that does not parse.
    #[error("the jsonPath '{path}' is not valid: {source}")]
    JsonPath { path: String, source: serde_json_path::ParseError },
    /// A jsonPath that found nothing.
    #[error("the jsonPath '{0}' found nothing in the answer")]
    JsonPathFoundNothing(String),
    /// A chaos experiment's fault given as a probe.
    #[error("a fault is an action, not a probe")]
    FaultAsProbe,
}

/// How often the runner looks for measurements due while runs are measuring.
const TICK: Duration = Duration::from_millis(250);
/// How often it looks when none was (runs this server starts wake it at once; this is for runs
/// another server process started on the same store).
const IDLE_TICK: Duration = Duration::from_secs(5);
/// How long a provider may take unless the metric says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The router window of a metric with neither `window` nor `interval`.
const DEFAULT_WINDOW: Duration = Duration::from_secs(30);
/// The time a judge compares when the metric says neither `window` nor `interval`.
const DEFAULT_JUDGE_WINDOW: Duration = Duration::from_secs(60);
/// The largest answer a provider may give.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Measures analysis runs.
#[derive(Debug)]
pub struct AnalysisRunner {
    store: Store,
    routers: Arc<RouterHost>,
    client: HttpClient,
    wake: Arc<Notify>,
    /// Runs being measured now.
    measuring: Mutex<HashSet<AnalysisRunId>>,
    /// The synthetic load of each run that asked for it: dropping the sender stops it.
    loads: Mutex<HashMap<AnalysisRunId, watch::Sender<bool>>>,
    /// Chaos experiments of this server's lifetime (their faults live in the routers, which a
    /// restart clears with them), by id.
    chaos: Mutex<HashMap<i64, ChaosRun>>,
    /// The next experiment's id.
    next_chaos: std::sync::atomic::AtomicI64,
}

/// A chaos experiment as it runs: its journal so far.
#[derive(Clone, Debug)]
pub struct ChaosRun {
    /// Its id.
    pub id: i64,
    /// `running`, `completed`, `failed` (the hypothesis did not hold before the method) or
    /// `aborted`.
    pub status: String,
    /// Whether the hypothesis did not hold after the method.
    pub deviated: bool,
    /// Chaos Toolkit's journal.
    pub journal: serde_json::Value,
    /// Asked to stop.
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// The measurements of a run, by metric.
#[must_use]
pub fn measurements_of(run: &AnalysisRun) -> BTreeMap<String, Vec<Measurement>> {
    serde_json::from_value(run.measurements.clone()).unwrap_or_default()
}

/// The template with the service being deployed filled in where a `slipway` metric names none.
#[must_use]
pub fn bind_service(mut template: AnalysisTemplate, service: &str) -> AnalysisTemplate {
    for metric in &mut template.metrics {
        if let Provider::Slipway { service: named @ None, .. } | Provider::Judge { service: named @ None, .. } =
            &mut metric.provider
        {
            *named = Some(service.to_owned());
        }
    }
    template
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

fn phase_text(phase: RunPhase) -> &'static str {
    match phase {
        RunPhase::Running => "Running",
        RunPhase::Successful => "Successful",
        RunPhase::Failed => "Failed",
        RunPhase::Inconclusive => "Inconclusive",
        RunPhase::Error => "Error",
    }
}

impl AnalysisRunner {
    /// Starts measuring the store's unfinished analysis runs (and any started later).
    #[must_use]
    pub fn start(store: Store, routers: Arc<RouterHost>) -> Arc<Self> {
        let runner = Arc::new(Self {
            store,
            routers,
            client: Client::builder(TokioExecutor::new()).build_http(),
            wake: Arc::new(Notify::new()),
            measuring: Mutex::new(HashSet::new()),
            loads: Mutex::new(HashMap::new()),
            chaos: Mutex::new(HashMap::new()),
            next_chaos: std::sync::atomic::AtomicI64::new(1),
        });
        let weak = Arc::downgrade(&runner);
        let woken = Arc::clone(&runner.wake);
        tokio::spawn(async move {
            loop {
                let Some(runner) = weak.upgrade() else { return };
                let busy = match Arc::clone(&runner).tick().await {
                    Ok(busy) => busy,
                    Err(error) => {
                        tracing::warn!(%error, "the analysis runner could not read the store");
                        true
                    }
                };
                drop(runner);
                let wake = woken.notified();
                tokio::select! {
                    () = wake => {}
                    () = tokio::time::sleep(if busy { TICK } else { IDLE_TICK }) => {}
                }
            }
        });
        runner
    }

    /// Looks for due measurements now (a run was started).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends a run early, recorded as `Terminated` with `reason`.
    ///
    /// # Errors
    /// When the store cannot be written.
    pub async fn terminate(&self, id: AnalysisRunId, reason: &str) -> Result<(), StoreError> {
        let run = self.store.analysis_run(id).await?;
        if run.phase == "Inconclusive" {
            // Nobody decided it; it ended for good.
            self.store.decide_analysis_run(id, "Terminated", reason).await?;
        } else {
            self.store.update_analysis_run(id, "Terminated", Some(reason), &run.measurements, true).await?;
        }
        self.loads.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        Ok(())
    }

    /// Measures what is due; whether any run is still measuring.
    async fn tick(self: Arc<Self>) -> Result<bool, StoreError> {
        let runs = self.store.unfinished_analysis_runs().await?;
        let busy = !runs.is_empty();
        let running: HashSet<AnalysisRunId> = runs.iter().map(|run| run.id).collect();
        self.loads.lock().unwrap_or_else(PoisonError::into_inner).retain(|id, _| running.contains(id));
        for run in runs {
            if let Some(load) = &run.load {
                self.ensure_load(&run, load).await;
            }
            if !self.measuring.lock().unwrap_or_else(PoisonError::into_inner).insert(run.id) {
                continue;
            }
            let runner = Arc::clone(&self);
            tokio::spawn(async move {
                let id = run.id;
                if let Err(error) = runner.measure(run).await {
                    tracing::warn!(%error, run = id.get(), "could not record an analysis run's measurements");
                }
                runner.measuring.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
            });
        }
        Ok(busy)
    }

    /// Takes the measurements of `run` that are due and records them, and how the run stands.
    async fn measure(&self, run: AnalysisRun) -> Result<(), StoreError> {
        let template: AnalysisTemplate = match serde_json::from_value(run.template.clone()) {
            Ok(template) => template,
            Err(error) => {
                let message = format!("its template cannot be read: {error}");
                self.store.update_analysis_run(run.id, "Error", Some(&message), &run.measurements, true).await?;
                return Ok(());
            }
        };
        let mut measurements = measurements_of(&run);
        let started = run.started_at.millis();
        let mut measured = false;
        for metric in &template.metrics {
            let taken = measurements.entry(metric.name.clone()).or_default();
            if matches!(
                crate::analysis::metric_phase(metric, taken),
                MetricPhase::Successful | MetricPhase::Failed | MetricPhase::Inconclusive | MetricPhase::Error
            ) {
                continue;
            }
            let Some(due) = crate::analysis::next_measurement_at(metric, started, taken) else { continue };
            if due > now_ms() {
                continue;
            }
            let measurement = self.take(metric, &run).await;
            taken.push(measurement);
            measured = true;
        }
        let phases: Vec<MetricPhase> = template
            .metrics
            .iter()
            .map(|metric| {
                crate::analysis::metric_phase(metric, measurements.get(&metric.name).map_or(&[][..], Vec::as_slice))
            })
            .collect();
        let phase = crate::analysis::run_phase(&phases);
        if !measured && phase == RunPhase::Running {
            return Ok(());
        }
        let message = (phase != RunPhase::Running).then(|| verdict(&template, &measurements, phase));
        let json = serde_json::to_value(&measurements).unwrap_or_default();
        let finished = phase != RunPhase::Running;
        if self.store.update_analysis_run(run.id, phase_text(phase), message.as_deref(), &json, finished).await?
            && finished
        {
            tracing::info!(run = run.id.get(), phase = phase_text(phase), "an analysis run ended");
            self.loads.lock().unwrap_or_else(PoisonError::into_inner).remove(&run.id);
        }
        Ok(())
    }

    /// One measurement of a metric, judged.
    async fn take(&self, metric: &MetricSpec, run: &AnalysisRun) -> Measurement {
        let started_at = now_ms();
        let value = self.value(metric, run).await;
        let finished_at = now_ms();
        match value {
            Ok(value) => {
                let (phase, message) = crate::analysis::assess(metric, &value);
                Measurement { phase, value: Some(value), message, started_at, finished_at }
            }
            Err(error) => Measurement {
                phase: MeasurementPhase::Error,
                value: None,
                message: Some(error.to_string()),
                started_at,
                finished_at,
            },
        }
    }

    async fn value(&self, metric: &MetricSpec, run: &AnalysisRun) -> Result<serde_json::Value, MeasureError> {
        match &metric.provider {
            Provider::Slipway { service, slot, metric: which, window } => {
                let service = self.service_of(run, service.as_deref()).await?;
                let window = window.or(metric.interval).unwrap_or(DEFAULT_WINDOW).max(Duration::from_secs(1));
                self.router_value(&service, slot, *which, window.as_secs())
            }
            Provider::Judge { service, canary, baseline, metrics, window, config } => {
                let service = self.service_of(run, service.as_deref()).await?;
                let window = window.or(metric.interval).unwrap_or(DEFAULT_JUDGE_WINDOW);
                let seconds = window.as_secs().clamp(1, crate::judge::MAX_SAMPLES as u64);
                let label = metrics_label(&service);
                let samples = |slot: &str| self.routers.metrics().per_second(&label, slot, seconds);
                let (canary_seconds, baseline_seconds) = (samples(canary), samples(baseline));
                if canary_seconds.is_empty() || baseline_seconds.is_empty() {
                    return Err(MeasureError::NothingToJudge {
                        slot: if canary_seconds.is_empty() { canary } else { baseline }.clone(),
                        service: service.name.clone(),
                        seconds,
                    });
                }
                let series = |windows: &[crate::metrics::Window]| -> BTreeMap<String, Vec<f64>> {
                    metrics.iter().map(|metric| (metric.name().to_owned(), sample(*metric, windows))).collect()
                };
                let (canary_series, baseline_series) = (series(&canary_seconds), series(&baseline_seconds));
                let verdict = crate::judge::judge(&baseline_series, &canary_series, config);
                let mut compared = serde_json::Map::new();
                for metric in metrics {
                    let name = metric.name();
                    compared.insert(
                        name.to_owned(),
                        serde_json::json!({
                            "baseline": baseline_series.get(name),
                            "canary": canary_series.get(name),
                        }),
                    );
                }
                Ok(serde_json::json!({
                    "score": verdict.score,
                    "outcome": verdict.outcome,
                    "verdict": verdict,
                    "series": compared,
                }))
            }
            Provider::Prometheus { address, query, timeout } => {
                let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
                let url = format!("{}/api/v1/query?query={encoded}", address.trim_end_matches('/'));
                let body = self.fetch(Method::GET, &url, &[], None, timeout.unwrap_or(DEFAULT_TIMEOUT)).await?;
                prometheus_value(&body)
            }
            Provider::Web { url, method, headers, body, json_path, timeout } => {
                let method =
                    Method::from_bytes(method.as_bytes()).map_err(|_| MeasureError::NotAMethod(method.clone()))?;
                let answer =
                    self.fetch(method, url, headers, body.as_deref(), timeout.unwrap_or(DEFAULT_TIMEOUT)).await?;
                web_value(&answer, json_path.as_deref())
            }
        }
    }

    /// A router metric of a slot over the last `seconds`.
    fn router_value(
        &self,
        service: &Service,
        slot: &str,
        which: RouterMetric,
        seconds: u64,
    ) -> Result<serde_json::Value, MeasureError> {
        let seconds = seconds.max(1);
        let seen = self.routers.metrics().window(&metrics_label(service), slot, seconds);
        let none = || MeasureError::NoRequests { slot: slot.to_owned(), service: service.name.clone(), seconds };
        let value = match which {
            RouterMetric::SuccessRate => seen.success_rate().ok_or_else(none)?,
            RouterMetric::ErrorRate => seen.success_rate().map(|rate| 1.0 - rate).ok_or_else(none)?,
            RouterMetric::RequestRate => seen.request_rate(),
            RouterMetric::LatencyP50 => seen.latency_ms(0.5).ok_or_else(none)? / 1000.0,
            RouterMetric::LatencyP90 => seen.latency_ms(0.9).ok_or_else(none)? / 1000.0,
            RouterMetric::LatencyP99 => seen.latency_ms(0.99).ok_or_else(none)? / 1000.0,
        };
        Ok(number(value))
    }

    async fn service_of(&self, run: &AnalysisRun, name: Option<&str>) -> Result<Service, MeasureError> {
        let services = self.store.services(None).await?;
        let own = services.iter().find(|service| service.id == run.service).ok_or(MeasureError::ServiceDeleted)?;
        match name {
            None => Ok(own.clone()),
            Some(name) => services
                .iter()
                .find(|service| service.environment == own.environment && service.name == name)
                .cloned()
                .ok_or_else(|| MeasureError::NoSuchService { name: name.to_owned(), own: own.name.clone() }),
        }
    }

    async fn fetch(
        &self,
        method: Method,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
        timeout: Duration,
    ) -> Result<Bytes, MeasureError> {
        let uri: Uri = url.parse().map_err(|source| MeasureError::NotAUrl { url: url.to_owned(), source })?;
        if uri.scheme_str() != Some("http") {
            return Err(MeasureError::NotHttpMeasured(url.to_owned()));
        }
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_owned())))
            .map_err(|source| MeasureError::Request { url: url.to_owned(), source })?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| exchange_failed(url, error))?;
            let status = response.status();
            let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
            let bytes = limited.collect().await.map_err(|error| exchange_failed(url, error))?.to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&bytes);
                return Err(MeasureError::Answered {
                    url: url.to_owned(),
                    status,
                    excerpt: text.chars().take(300).collect(),
                });
            }
            Ok(bytes)
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| MeasureError::TimedOut { url: url.to_owned(), seconds: timeout.as_secs_f64() })?
    }

    /// Starts the run's synthetic load if it is not running.
    async fn ensure_load(&self, run: &AnalysisRun, load: &serde_json::Value) {
        if self.loads.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&run.id) {
            return;
        }
        let Ok(load) = serde_json::from_value::<slipway_events::delivery::Load>(load.clone()) else { return };
        let Ok(service) = self.service_of(run, None).await else { return };
        let url = format!("http://{}{}", service.listen, load.path);
        let Ok(uri) = url.parse::<Uri>() else {
            tracing::warn!(url, "an analysis run's load has an address that is not a URL");
            return;
        };
        let stop = self.spawn_load(uri, load.rate);
        self.loads.lock().unwrap_or_else(PoisonError::into_inner).insert(run.id, stop);
    }

    /// Sends `rate` requests a second to `uri` until the sender it gives is dropped or says stop.
    fn spawn_load(&self, uri: Uri, rate: u32) -> watch::Sender<bool> {
        let (stop, mut stopped) = watch::channel(false);
        let client = self.client.clone();
        let every = Duration::from_secs_f64(1.0 / f64::from(rate.clamp(1, 1000)));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
                }
                let client = client.clone();
                let uri = uri.clone();
                tokio::spawn(async move {
                    let Ok(request) = Request::get(uri).body(Full::new(Bytes::new())) else { return };
                    if let Ok(Ok(response)) =
                        tokio::time::timeout(Duration::from_secs(10), client.request(request)).await
                    {
                        let _ = response.into_body().collect().await;
                    }
                });
            }
        });
        stop
    }
}

/// A failed exchange with `url`.
fn exchange_failed(url: &str, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> MeasureError {
    MeasureError::Exchange { url: url.to_owned(), source: error.into() }
}

/// One metric's value in each second (a second's error rate, latency quantile in seconds, ...).
fn sample(metric: RouterMetric, seconds: &[crate::metrics::Window]) -> Vec<f64> {
    seconds
        .iter()
        .filter_map(|second| match metric {
            RouterMetric::SuccessRate => second.success_rate(),
            RouterMetric::ErrorRate => second.success_rate().map(|rate| 1.0 - rate),
            RouterMetric::RequestRate => Some(second.request_rate()),
            RouterMetric::LatencyP50 => second.latency_ms(0.5).map(|ms| ms / 1000.0),
            RouterMetric::LatencyP90 => second.latency_ms(0.9).map(|ms| ms / 1000.0),
            RouterMetric::LatencyP99 => second.latency_ms(0.99).map(|ms| ms / 1000.0),
        })
        .collect()
}

fn number(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A Prometheus instant query's answer as Argo gives it to conditions: a number for a scalar,
/// an array of numbers for a vector.
fn prometheus_value(body: &[u8]) -> Result<serde_json::Value, MeasureError> {
    let answer: serde_json::Value = serde_json::from_slice(body).map_err(MeasureError::PrometheusNotJson)?;
    if answer["status"] != "success" {
        return Err(MeasureError::PrometheusRefused(answer["error"].as_str().unwrap_or("no reason given").to_owned()));
    }
    let sample = |value: &serde_json::Value| -> Result<serde_json::Value, MeasureError> {
        let text = value.get(1).and_then(serde_json::Value::as_str).ok_or(MeasureError::SampleWithoutValue)?;
        let parsed: f64 = text.parse().map_err(|_| MeasureError::SampleNotANumber(text.to_owned()))?;
        Ok(number(parsed))
    };
    let data = &answer["data"];
    match data["resultType"].as_str() {
        Some("scalar") => sample(&data["result"]),
        Some("vector") => data["result"]
            .as_array()
            .map(|series| series.iter().map(|one| sample(&one["value"])).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .map(serde_json::Value::Array)
            .ok_or(MeasureError::VectorWithoutResults),
        other => Err(MeasureError::ResultType(other.unwrap_or("missing").to_owned())),
    }
}

/// A `web` answer: its JSON (or text), picked with the JSONPath when one is given.
fn web_value(body: &[u8], json_path: Option<&str>) -> Result<serde_json::Value, MeasureError> {
    let parsed: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) if json_path.is_none() => return Ok(serde_json::Value::String(String::from_utf8_lossy(body).into())),
        Err(error) => return Err(MeasureError::AnswerNotJson(error)),
    };
    let Some(path) = json_path else { return Ok(parsed) };
    // Argo writes Kubernetes JSONPath templates (`{$.data.ok}`); the braces go.
    let expression = path.trim().strip_prefix('{').and_then(|inner| inner.strip_suffix('}')).unwrap_or(path.trim());
    let expression = if expression.starts_with('$') { expression.to_owned() } else { format!("${expression}") };
    let query = serde_json_path::JsonPath::parse(&expression)
        .map_err(|source| MeasureError::JsonPath { path: path.to_owned(), source })?;
    let found = query.query(&parsed).all();
    match found.as_slice() {
        [] => Err(MeasureError::JsonPathFoundNothing(path.to_owned())),
        [one] => Ok((*one).clone()),
        many => Ok(serde_json::Value::Array(many.iter().map(|value| (*value).clone()).collect())),
    }
}

/// Why a run ended as it did: each metric that did not succeed, with its counts and last value.
fn verdict(template: &AnalysisTemplate, measurements: &BTreeMap<String, Vec<Measurement>>, phase: RunPhase) -> String {
    let mut parts = Vec::new();
    for metric in &template.metrics {
        let taken = measurements.get(&metric.name).map_or(&[][..], Vec::as_slice);
        let metric_phase = crate::analysis::metric_phase(metric, taken);
        if phase == RunPhase::Successful || matches!(metric_phase, MetricPhase::Successful) {
            continue;
        }
        let count = |wanted: MeasurementPhase| taken.iter().filter(|measurement| measurement.phase == wanted).count();
        let last = taken
            .last()
            .map(|measurement| {
                let value = measurement.value.as_ref().map_or_else(|| "no value".to_owned(), ToString::to_string);
                match &measurement.message {
                    Some(message) => format!("; last {value}: {message}"),
                    None => format!("; last {value}"),
                }
            })
            .unwrap_or_default();
        let why = match metric_phase {
            MetricPhase::Failed => format!(
                "{} of {} measurements failed (failureLimit {})",
                count(MeasurementPhase::Failed),
                taken.len(),
                metric.failure_limit
            ),
            MetricPhase::Inconclusive => format!(
                "{} measurements inconclusive (inconclusiveLimit {})",
                count(MeasurementPhase::Inconclusive),
                metric.inconclusive_limit
            ),
            MetricPhase::Error => {
                format!("more than {} errors in a row (consecutiveErrorLimit)", metric.consecutive_error_limit)
            }
            MetricPhase::Pending | MetricPhase::Running => "stopped before it ended".to_owned(),
            MetricPhase::Successful => continue,
        };
        parts.push(format!("metric '{}' {:?}: {why}{last}", metric.name, metric_phase));
    }
    if parts.is_empty() {
        let total: usize = measurements.values().map(Vec::len).sum();
        format!("every metric passed ({total} measurements)")
    } else {
        parts.join("; ")
    }
}

fn iso_now() -> String {
    let millis = now_ms();
    let seconds = millis.div_euclid(1000);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        millis.rem_euclid(1000)
    )
}

impl AnalysisRunner {
    /// Starts a chaos experiment against `service` (with synthetic load through its router
    /// while it runs, when asked); its id.
    pub fn start_chaos(
        self: &Arc<Self>,
        service: Service,
        experiment: crate::chaos::Experiment,
        load: Option<slipway_events::delivery::Load>,
    ) -> i64 {
        let id = self.next_chaos.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let journal = serde_json::json!({
            "platform": "slipway",
            "experiment": {"title": experiment.title},
            "start": iso_now(),
            "status": "running",
            "deviated": false,
            "steady_states": {"before": null, "after": null, "during": []},
            "run": [],
            "rollbacks": [],
        });
        let run = ChaosRun { id, status: "running".into(), deviated: false, journal, stop: Arc::clone(&stop) };
        self.chaos.lock().unwrap_or_else(PoisonError::into_inner).insert(id, run);
        let runner = Arc::clone(self);
        tokio::spawn(async move {
            let load = load.and_then(|load| {
                format!("http://{}{}", service.listen, load.path)
                    .parse::<Uri>()
                    .ok()
                    .map(|uri| runner.spawn_load(uri, load.rate))
            });
            let started = std::time::Instant::now();
            let (status, deviated) = runner.experiment(id, &service, &experiment, &stop).await;
            // The implicit rollback: every fault goes, whatever happened.
            let cleared = runner.routers.set_faults(&service, Vec::new()).await;
            drop(load);
            runner.update_chaos(id, |run| {
                run.status = status.to_owned();
                run.deviated = deviated;
                run.journal["status"] = serde_json::json!(status);
                run.journal["deviated"] = serde_json::json!(deviated);
                run.journal["rollbacks"] = serde_json::json!([{
                    "activity": {"type": "action", "name": "take away the injected faults"},
                    "status": if cleared.is_ok() { "succeeded" } else { "failed" },
                    "output": cleared.err().map(|error| error.to_string()),
                }]);
                run.journal["end"] = serde_json::json!(iso_now());
                run.journal["duration"] = serde_json::json!(started.elapsed().as_secs_f64());
            });
        });
        id
    }

    /// A chaos experiment as it is now.
    #[must_use]
    pub fn chaos(&self, id: i64) -> Option<ChaosRun> {
        self.chaos.lock().unwrap_or_else(PoisonError::into_inner).get(&id).cloned()
    }

    /// Asks a chaos experiment to stop (its faults are taken away).
    pub fn stop_chaos(&self, id: i64) {
        if let Some(run) = self.chaos.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
            run.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn update_chaos(&self, id: i64, change: impl FnOnce(&mut ChaosRun)) {
        if let Some(run) = self.chaos.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
            change(run);
        }
    }

    /// Waits `seconds`, or less when asked to stop; whether it was.
    async fn pause(seconds: f64, stop: &std::sync::atomic::AtomicBool) -> bool {
        let until = std::time::Instant::now() + Duration::from_secs_f64(seconds.clamp(0.0, 3600.0));
        while std::time::Instant::now() < until {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100).min(until - std::time::Instant::now())).await;
        }
        stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs the experiment's steps; its status and whether it deviated.
    async fn experiment(
        &self,
        id: i64,
        service: &Service,
        experiment: &crate::chaos::Experiment,
        stop: &std::sync::atomic::AtomicBool,
    ) -> (&'static str, bool) {
        let before = self.hypothesis(service, experiment, stop).await;
        let met = before["steady_state_met"] == true;
        self.update_chaos(id, |run| run.journal["steady_states"]["before"] = before);
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return ("aborted", false);
        }
        if !met {
            return ("failed", false);
        }
        let mut faults: Vec<crate::faults::Fault> = Vec::new();
        for activity in &experiment.method {
            if Self::pause(activity.pause_before, stop).await {
                return ("aborted", false);
            }
            let started = iso_now();
            let (status, output) = match &activity.provider {
                crate::chaos::ChaosProvider::Fault { slot, fraction, kind, duration } => {
                    faults.push(crate::faults::Fault {
                        slot: slot.clone(),
                        fraction: *fraction,
                        kind: kind.kind(),
                        until: std::time::Instant::now() + Duration::from_secs_f64(duration.clamp(0.0, 3600.0)),
                    });
                    match self.routers.set_faults(service, faults.clone()).await {
                        Ok(()) => (
                            "succeeded",
                            serde_json::json!({"injected": format!("{kind:?}"), "slot": slot, "fraction": fraction, "duration": duration}),
                        ),
                        Err(error) => ("failed", serde_json::json!(error.to_string())),
                    }
                }
                provider => match self.probe(service, provider).await {
                    Ok(value) => ("succeeded", value),
                    Err(error) => ("failed", serde_json::json!(error.to_string())),
                },
            };
            let entry = serde_json::json!({
                "activity": {"type": if activity.probe { "probe" } else { "action" }, "name": activity.name},
                "status": status,
                "output": output,
                "start": started,
                "end": iso_now(),
            });
            self.update_chaos(id, |run| {
                if let Some(entries) = run.journal["run"].as_array_mut() {
                    entries.push(entry);
                }
            });
            if status == "failed" && !activity.probe {
                // An action that could not act: the experiment cannot say anything.
                return ("failed", false);
            }
            if Self::pause(activity.pause_after, stop).await {
                return ("aborted", false);
            }
        }
        let after = self.hypothesis(service, experiment, stop).await;
        let deviated = after["steady_state_met"] != true;
        self.update_chaos(id, |run| run.journal["steady_states"]["after"] = after);
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return ("aborted", false);
        }
        ("completed", deviated)
    }

    /// Checks the steady-state hypothesis: each probe's value and whether it is within tolerance.
    async fn hypothesis(
        &self,
        service: &Service,
        experiment: &crate::chaos::Experiment,
        stop: &std::sync::atomic::AtomicBool,
    ) -> serde_json::Value {
        let mut probes = Vec::new();
        let mut met = true;
        for probe in &experiment.probes {
            if Self::pause(probe.pause_before, stop).await {
                met = false;
                break;
            }
            let (output, within) = match self.probe(service, &probe.provider).await {
                Ok(value) => {
                    let within = probe
                        .tolerance
                        .as_ref()
                        .is_some_and(|tolerance| crate::chaos::within_tolerance(tolerance, &value));
                    (value, within)
                }
                Err(error) => (serde_json::json!(error.to_string()), false),
            };
            met &= within;
            probes.push(serde_json::json!({
                "activity": {"type": "probe", "name": probe.name, "tolerance": probe.tolerance},
                "output": output,
                "tolerance_met": within,
                "status": "succeeded",
            }));
            if Self::pause(probe.pause_after, stop).await {
                met = false;
                break;
            }
        }
        serde_json::json!({"steady_state_met": met, "probes": probes})
    }

    /// A probe's value.
    async fn probe(
        &self,
        service: &Service,
        provider: &crate::chaos::ChaosProvider,
    ) -> Result<serde_json::Value, MeasureError> {
        match provider {
            crate::chaos::ChaosProvider::Slipway { slot, metric, window } => {
                self.router_value(service, slot, *metric, *window)
            }
            crate::chaos::ChaosProvider::Http { url, method, timeout } => {
                let uri: Uri = url.parse().map_err(|source| MeasureError::NotAUrl { url: url.clone(), source })?;
                if uri.scheme_str() != Some("http") {
                    return Err(MeasureError::NotHttpProbed(url.clone()));
                }
                let method =
                    Method::from_bytes(method.as_bytes()).map_err(|_| MeasureError::NotAMethod(method.clone()))?;
                let request = Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Full::new(Bytes::new()))
                    .map_err(|source| MeasureError::Request { url: url.clone(), source })?;
                let exchange = async {
                    let response = self.client.request(request).await.map_err(|error| exchange_failed(url, error))?;
                    let status = response.status().as_u16();
                    let headers: serde_json::Map<String, serde_json::Value> = response
                        .headers()
                        .iter()
                        .filter_map(|(name, value)| {
                            value.to_str().ok().map(|value| (name.to_string(), serde_json::json!(value)))
                        })
                        .collect();
                    let limited = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
                    let body = limited.collect().await.map_err(|error| exchange_failed(url, error))?.to_bytes();
                    Ok(
                        serde_json::json!({"status": status, "headers": headers, "body": String::from_utf8_lossy(&body)}),
                    )
                };
                tokio::time::timeout(Duration::from_secs_f64(timeout.clamp(0.1, 300.0)), exchange)
                    .await
                    .map_err(|_| MeasureError::TimedOut { url: url.clone(), seconds: *timeout })?
            }
            crate::chaos::ChaosProvider::Fault { .. } => Err(MeasureError::FaultAsProbe),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_answers_become_numbers_or_arrays() {
        let vector =
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.97"]}]}}"#;
        assert_eq!(prometheus_value(vector).ok(), Some(serde_json::json!([0.97])));
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
        assert_eq!(prometheus_value(scalar).ok(), Some(serde_json::json!(2.0)));
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(prometheus_value(empty).ok(), Some(serde_json::json!([])));
        let refused = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            prometheus_value(refused).map_err(|error| error.to_string()),
            Err("Prometheus refused the query: parse error".to_owned())
        );
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(prometheus_value(matrix).is_err_and(|error| error.to_string().contains("matrix")));
    }

    #[test]
    fn web_answers_are_picked_with_kubernetes_style_json_paths() {
        let body = br#"{"data":{"ok":true,"rates":[0.9,0.95]}}"#;
        assert_eq!(web_value(body, Some("{$.data.ok}")).ok(), Some(serde_json::json!(true)));
        assert_eq!(web_value(body, Some("$.data.rates[*]")).ok(), Some(serde_json::json!([0.9, 0.95])));
        assert_eq!(web_value(body, None).ok(), Some(serde_json::json!({"data":{"ok":true,"rates":[0.9,0.95]}})));
        assert!(
            web_value(body, Some("{$.data.missing}")).is_err_and(|error| error.to_string().contains("found nothing"))
        );
        assert_eq!(web_value(b"plain", None).ok(), Some(serde_json::json!("plain")));
    }
}
