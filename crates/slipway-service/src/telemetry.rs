//! Telemetry: the server's metrics in Prometheus's format, with the OpenTelemetry CI/CD names
//! (semantic conventions, `cicd.*` metrics) in their Prometheus form, and Slipway's own series
//! for deployments and DORA's metrics. See docs/telemetry.md.
//!
//! Every figure is read from the store when the metrics are scraped (aggregate queries that
//! return a few rows per pipeline or environment, see `Store::telemetry_run_durations`), so
//! they are right after a restart and the same on every server of one database; only DORA's
//! figures, which read an environment's deployments, are kept for [`DORA_CACHE`].
//!
//! | series | type | labels |
//! | --- | --- | --- |
//! | `cicd_pipeline_run_duration_seconds` | histogram | `cicd_pipeline_name`, `cicd_pipeline_run_state`, `cicd_pipeline_result`, `error_type` |
//! | `cicd_pipeline_run_active` | gauge | `cicd_pipeline_name`, `cicd_pipeline_run_state` |
//! | `cicd_worker_count` | gauge | `cicd_worker_state` |
//! | `cicd_pipeline_run_errors_total` | counter | `cicd_pipeline_name`, `error_type` |
//! | `slipway_deployments_total` | counter | `environment`, `outcome` |
//! | `slipway_dora_*` | gauge | `environment` |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelValue, LabelValueEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use slipway_insights::dora;
use slipway_store::{AgentState, StoreError};
use tokio::sync::Mutex;

use crate::AppState;

/// The media type of what [`Telemetry::render`] writes: OpenMetrics text, which Prometheus
/// reads.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long DORA's figures are kept before they are computed again.
pub const DORA_CACHE: Duration = Duration::from_secs(60);

/// The period of DORA's figures, in days.
pub const DORA_DAYS: i64 = 30;

/// The upper bounds of the duration histogram's buckets, in seconds (`+Inf` follows).
pub const BUCKETS_SECONDS: [f64; 13] =
    [1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0];

const DAY_MS: i64 = 24 * 3600 * 1000;

/// What can go wrong when the metrics are gathered.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The metrics could not be written out.
    #[error("the metrics could not be written: {0}")]
    Encode(#[from] std::fmt::Error),
}

/// The server's metrics: what is kept between scrapes (DORA's figures, for [`DORA_CACHE`]).
/// One per router; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Telemetry {
    /// DORA's figures and when they were computed; the lock also makes concurrent scrapes
    /// wait for one computation.
    dora: Mutex<Option<(tokio::time::Instant, Vec<DoraFigures>)>>,
}

impl Telemetry {
    /// Nothing kept yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The metrics now, as OpenMetrics text ([`CONTENT_TYPE`]).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn render(&self, state: &AppState) -> Result<String, TelemetryError> {
        let store = state.store();
        let bounds_ms: Vec<i64> = BUCKETS_SECONDS.iter().map(|seconds| (seconds * 1000.0) as i64).collect();
        let runs = store.telemetry_run_durations(&bounds_ms).await?;
        let active = store.telemetry_active_runs().await?;
        let agents: Vec<AgentState> = store.list_agents().await?.into_iter().map(|agent| agent.state).collect();
        let deployments = store.telemetry_deployments().await?;
        let dora = self.dora(state).await?;
        let snapshot = Snapshot::from_tallies(&runs, &active, &agents, &deployments, dora);
        Ok(snapshot.render()?)
    }

    /// DORA's figures of the production-tier environments, from the cache when fresh.
    async fn dora(&self, state: &AppState) -> Result<Vec<DoraFigures>, StoreError> {
        let mut cached = self.dora.lock().await;
        if let Some((at, figures)) = cached.as_ref()
            && at.elapsed() < DORA_CACHE
        {
            return Ok(figures.clone());
        }
        let figures = dora_figures(state).await?;
        *cached = Some((tokio::time::Instant::now(), figures.clone()));
        Ok(figures)
    }
}

/// DORA's figures of every environment whose name says production (GitLab's guess of the tier,
/// [`crate::insights::production_tier`]) over the last [`DORA_DAYS`] days.
async fn dora_figures(state: &AppState) -> Result<Vec<DoraFigures>, StoreError> {
    let store = state.store();
    let end = store.now().millis().saturating_add(1);
    let start = end.saturating_sub(DORA_DAYS * DAY_MS);
    let mut all = Vec::new();
    for environment in store.list_environments().await? {
        if !crate::insights::production_tier(&environment.name) {
            continue;
        }
        let deployments = crate::insights::read_deployments(store, &environment, start).await?;
        match dora::compute(&deployments, start, end) {
            Ok(report) => all.push(DoraFigures::from_report(&environment.name, &report)),
            Err(error) => tracing::warn!(environment = environment.name, %error, "DORA's figures for /metrics"),
        }
    }
    Ok(all)
}

/// DORA's figures of one environment (seconds for times; `None` when there is nothing to
/// measure, and then no sample).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DoraFigures {
    /// The environment.
    pub(crate) environment: String,
    /// Deployments a day.
    pub(crate) per_day: f64,
    /// The median lead time for changes.
    pub(crate) lead_time_seconds: Option<f64>,
    /// The change failure rate.
    pub(crate) change_failure_rate: Option<f64>,
    /// The median time to restore after a failed deployment.
    pub(crate) time_to_restore_seconds: Option<f64>,
    /// The deployment rework rate.
    pub(crate) rework_rate: Option<f64>,
}

impl DoraFigures {
    fn from_report(environment: &str, report: &dora::Report) -> Self {
        let seconds = |millis: Option<i64>| millis.map(|millis| millis as f64 / 1000.0);
        Self {
            environment: environment.to_owned(),
            per_day: report.deployment_frequency.per_day,
            lead_time_seconds: seconds(report.lead_time.median_ms),
            change_failure_rate: report.change_failure_rate.rate,
            time_to_restore_seconds: seconds(report.recovery_time.median_ms),
            rework_rate: report.rework_rate.rate,
        }
    }
}

/// One series of the duration histogram: its buckets (not cumulative, the last above every
/// bound), count and sum.
#[derive(Debug, Clone, PartialEq, Default)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum_seconds: f64,
}

/// The labels of a series of the duration histogram: pipeline, phase, result, error type.
type DurationKey = (String, &'static str, &'static str, String);

/// The metrics at one moment, ready to be written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Snapshot {
    durations: BTreeMap<DurationKey, Histogram>,
    errors: BTreeMap<(String, String), u64>,
    active: BTreeMap<(String, &'static str), i64>,
    workers: BTreeMap<&'static str, i64>,
    deployments: BTreeMap<(String, String), u64>,
    dora: Vec<DoraFigures>,
}

/// OpenTelemetry's `cicd.pipeline.result` of a run's result and failure kind.
fn pipeline_result(result: &str, error_type: &str) -> &'static str {
    match (result, error_type) {
        ("Succeeded" | "SucceededWithIssues", _) => "success",
        ("Canceled", _) => "cancellation",
        ("Skipped", _) => "skip",
        (_, "agent_lost") => "error",
        (_, "timeout") => "timeout",
        _ => "failure",
    }
}

/// OpenTelemetry's `cicd.pipeline.run.state` of a phase kept by the store.
fn run_state(phase: &str) -> &'static str {
    if phase == "pending" { "pending" } else { "executing" }
}

/// OpenTelemetry's `cicd.worker.state` of an agent's state: idle agents are available, busy and
/// draining ones (finishing a job, taking no other) busy, offline ones offline.
fn worker_state(state: AgentState) -> &'static str {
    match state {
        AgentState::Idle => "available",
        AgentState::Busy | AgentState::Draining => "busy",
        AgentState::Offline => "offline",
    }
}

/// The `outcome` label of a finished deployment: its delivery outcome when it was rolled back
/// or is a redeployment, else its result.
fn deployment_outcome(result: Option<&str>, outcome: Option<&str>) -> String {
    match (outcome, result) {
        (Some(outcome @ ("rolledBack" | "redeployed")), _) => outcome.to_owned(),
        (_, Some("Succeeded" | "SucceededWithIssues")) => "success".to_owned(),
        (_, Some("Failed") | None) => "failure".to_owned(),
        (_, Some("Canceled")) => "canceled".to_owned(),
        (_, Some("Skipped")) => "skipped".to_owned(),
        (_, Some(other)) => other.to_ascii_lowercase(),
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Snapshot {
    /// The metrics from the store's tallies (see `Store::telemetry_run_durations`,
    /// `Store::telemetry_active_runs`, `Store::telemetry_deployments`), the agents' states and
    /// DORA's figures.
    pub(crate) fn from_tallies(
        runs: &[(String, String, String, String, i64, i64, i64)],
        active: &[(String, Option<String>, i64)],
        agents: &[AgentState],
        deployments: &[(String, Option<String>, Option<String>, i64)],
        dora: Vec<DoraFigures>,
    ) -> Self {
        let mut snapshot = Self { dora, ..Self::default() };
        for (pipeline, result, error_type, phase, bucket, runs, sum_ms) in runs {
            let otel = pipeline_result(result, error_type);
            let key = (pipeline.clone(), run_state(phase), otel, error_type.clone());
            let series = snapshot
                .durations
                .entry(key)
                .or_insert_with(|| Histogram { buckets: vec![0; BUCKETS_SECONDS.len() + 1], ..Histogram::default() });
            let index = usize::try_from(*bucket).unwrap_or(0).min(BUCKETS_SECONDS.len());
            if let Some(slot) = series.buckets.get_mut(index) {
                *slot += count(*runs);
            }
            series.count += count(*runs);
            series.sum_seconds += *sum_ms as f64 / 1000.0;
            if phase != "pending" && otel != "success" && otel != "cancellation" && otel != "skip" {
                *snapshot.errors.entry((pipeline.clone(), error_type.clone())).or_default() += count(*runs);
            }
        }
        for (pipeline, status, runs) in active {
            for state in ["pending", "executing"] {
                snapshot.active.entry((pipeline.clone(), state)).or_default();
            }
            let state = match status.as_deref() {
                Some("queued") => "pending",
                Some("running") => "executing",
                _ => continue,
            };
            *snapshot.active.entry((pipeline.clone(), state)).or_default() += runs;
        }
        for state in ["available", "busy", "offline"] {
            snapshot.workers.insert(state, 0);
        }
        for state in agents {
            *snapshot.workers.entry(worker_state(*state)).or_default() += 1;
        }
        for (environment, result, outcome, deployments) in deployments {
            let outcome = deployment_outcome(result.as_deref(), outcome.as_deref());
            *snapshot.deployments.entry((environment.clone(), outcome)).or_default() += count(*deployments);
        }
        snapshot
    }

    /// The metrics as OpenMetrics text.
    pub(crate) fn render(self) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

/// A label value, escaped as the text formats want (`\\`, `\"`, `\n`).
#[derive(Debug)]
struct Text<'a>(&'a str);

impl EncodeLabelValue for Text<'_> {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        for character in self.0.chars() {
            match character {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                other => encoder.write_char(other)?,
            }
        }
        Ok(())
    }
}

/// A series' labels.
type Labels<'a> = Vec<(&'static str, Text<'a>)>;

fn gauge(metric: &mut MetricEncoder, labels: &Labels, value: f64) -> Result<(), std::fmt::Error> {
    metric.encode_family(labels)?.encode_gauge(&value)
}

fn counter(metric: &mut MetricEncoder, labels: &Labels, value: u64) -> Result<(), std::fmt::Error> {
    metric.encode_family(labels)?.encode_counter::<NoLabelSet, _, f64>(&value, None)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        {
            let mut metric = encoder.encode_descriptor(
                "cicd_pipeline_run_duration",
                "Duration of finished pipeline runs by pipeline, state (pending: queued; executing: running) and result.",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for ((pipeline, state, result, error_type), series) in &self.durations {
                let mut labels = vec![
                    ("cicd_pipeline_name", Text(pipeline)),
                    ("cicd_pipeline_run_state", Text(state)),
                    ("cicd_pipeline_result", Text(result)),
                ];
                if !error_type.is_empty() {
                    labels.push(("error_type", Text(error_type)));
                }
                let buckets: Vec<(f64, u64)> =
                    BUCKETS_SECONDS.iter().copied().chain([f64::MAX]).zip(series.buckets.iter().copied()).collect();
                metric.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                    series.sum_seconds,
                    series.count,
                    &buckets,
                    None,
                )?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "cicd_pipeline_run_active",
                "Pipeline runs not finished, by pipeline and state (pending: queued; executing: running).",
                None,
                MetricType::Gauge,
            )?;
            for ((pipeline, state), runs) in &self.active {
                let labels = vec![("cicd_pipeline_name", Text(pipeline)), ("cicd_pipeline_run_state", Text(state))];
                gauge(&mut metric, &labels, *runs as f64)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "cicd_worker_count",
                "Agents (workers) by state: available (idle), busy (running or finishing a job), offline.",
                None,
                MetricType::Gauge,
            )?;
            for (state, agents) in &self.workers {
                gauge(&mut metric, &vec![("cicd_worker_state", Text(state))], *agents as f64)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "cicd_pipeline_run_errors",
                "Pipeline runs that ended in failure, timeout or error, by pipeline and error type.",
                None,
                MetricType::Counter,
            )?;
            for ((pipeline, error_type), runs) in &self.errors {
                let labels = vec![("cicd_pipeline_name", Text(pipeline)), ("error_type", Text(error_type))];
                counter(&mut metric, &labels, *runs)?;
            }
        }
        {
            let mut metric = encoder.encode_descriptor(
                "slipway_deployments",
                "Finished deployments by environment and outcome (success, failure, canceled, skipped, rolledBack, redeployed).",
                None,
                MetricType::Counter,
            )?;
            for ((environment, outcome), deployments) in &self.deployments {
                let labels = vec![("environment", Text(environment)), ("outcome", Text(outcome))];
                counter(&mut metric, &labels, *deployments)?;
            }
        }
        type Figure = fn(&DoraFigures) -> Option<f64>;
        let figures: [(&str, &str, Option<Unit>, Figure); 5] = [
            (
                "slipway_dora_deployment_frequency_per_day",
                "DORA: deployments a day over the last 30 days, per production environment.",
                None,
                |figures| Some(figures.per_day),
            ),
            (
                "slipway_dora_lead_time",
                "DORA: median lead time for changes over the last 30 days, per production environment.",
                Some(Unit::Seconds),
                |figures| figures.lead_time_seconds,
            ),
            (
                "slipway_dora_change_failure_rate",
                "DORA: change failure rate (0 to 1) over the last 30 days, per production environment.",
                None,
                |figures| figures.change_failure_rate,
            ),
            (
                "slipway_dora_time_to_restore",
                "DORA: median time to restore after a failed deployment over the last 30 days, per production environment.",
                Some(Unit::Seconds),
                |figures| figures.time_to_restore_seconds,
            ),
            (
                "slipway_dora_rework_rate",
                "DORA: deployment rework rate (0 to 1) over the last 30 days, per production environment.",
                None,
                |figures| figures.rework_rate,
            ),
        ];
        for (name, help, unit, figure) in &figures {
            let mut metric = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
            for figures in &self.dora {
                if let Some(value) = figure(figures) {
                    gauge(&mut metric, &vec![("environment", Text(&figures.environment))], value)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> String {
        value.to_owned()
    }

    #[test]
    fn a_small_fixture_is_written_exactly() {
        let runs = vec![
            // Two successful runs of "shop": queued 0.5 s and 2 s, ran 3 s and 40 s.
            (text("shop"), text("Succeeded"), String::new(), text("executing"), 1, 1, 3000),
            (text("shop"), text("Succeeded"), String::new(), text("executing"), 4, 1, 40_000),
            (text("shop"), text("Succeeded"), String::new(), text("pending"), 0, 1, 500),
            (text("shop"), text("Succeeded"), String::new(), text("pending"), 1, 1, 2000),
            // One failed on an agent lost, after 2 hours, of a pipeline with a quote in its name.
            (text("a \"b\""), text("Failed"), text("agent_lost"), text("executing"), 12, 1, 7_200_000),
            (text("a \"b\""), text("Failed"), text("agent_lost"), text("pending"), 0, 1, 0),
        ];
        let active = vec![(text("a \"b\""), None, 0), (text("shop"), Some(text("running")), 1)];
        let agents = [AgentState::Idle, AgentState::Busy, AgentState::Draining];
        let deployments = vec![
            (text("production"), Some(text("Succeeded")), None, 2),
            (text("production"), Some(text("Succeeded")), Some(text("promoted")), 1),
            (text("production"), Some(text("Failed")), Some(text("rolledBack")), 1),
        ];
        let dora = vec![DoraFigures {
            environment: text("production"),
            per_day: 0.1,
            lead_time_seconds: Some(90.0),
            change_failure_rate: Some(0.25),
            time_to_restore_seconds: None,
            rework_rate: Some(0.0),
        }];
        let snapshot = Snapshot::from_tallies(&runs, &active, &agents, &deployments, dora);
        let rendered = snapshot.render().expect("rendered");
        let buckets = |counts: [u64; 14]| {
            let mut lines = String::new();
            let mut total = 0;
            for (bound, count) in BUCKETS_SECONDS.iter().map(|b| format!("{b:?}")).chain([text("+Inf")]).zip(counts) {
                total += count;
                let _ = writeln!(lines, "cicd_pipeline_run_duration_seconds_bucket{{le=\"{bound}\",LABELS}} {total}");
            }
            lines
        };
        let histogram = |labels: &str, sum: &str, count: u64, counts: [u64; 14]| {
            format!(
                "cicd_pipeline_run_duration_seconds_sum{{{labels}}} {sum}\n\
                 cicd_pipeline_run_duration_seconds_count{{{labels}}} {count}\n{}",
                buckets(counts).replace("LABELS", labels),
            )
        };
        let expected = [
            "# HELP cicd_pipeline_run_duration_seconds Duration of finished pipeline runs by pipeline, state (pending: queued; executing: running) and result.\n".to_owned(),
            "# TYPE cicd_pipeline_run_duration_seconds histogram\n".to_owned(),
            "# UNIT cicd_pipeline_run_duration_seconds seconds\n".to_owned(),
            histogram(
                r#"cicd_pipeline_name="a \"b\"",cicd_pipeline_run_state="executing",cicd_pipeline_result="error",error_type="agent_lost""#,
                "7200.0",
                1,
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
            ),
            histogram(
                r#"cicd_pipeline_name="a \"b\"",cicd_pipeline_run_state="pending",cicd_pipeline_result="error",error_type="agent_lost""#,
                "0.0",
                1,
                [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            histogram(
                r#"cicd_pipeline_name="shop",cicd_pipeline_run_state="executing",cicd_pipeline_result="success""#,
                "43.0",
                2,
                [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            histogram(
                r#"cicd_pipeline_name="shop",cicd_pipeline_run_state="pending",cicd_pipeline_result="success""#,
                "2.5",
                2,
                [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            "# HELP cicd_pipeline_run_active Pipeline runs not finished, by pipeline and state (pending: queued; executing: running).\n\
             # TYPE cicd_pipeline_run_active gauge\n\
             cicd_pipeline_run_active{cicd_pipeline_name=\"a \\\"b\\\"\",cicd_pipeline_run_state=\"executing\"} 0.0\n\
             cicd_pipeline_run_active{cicd_pipeline_name=\"a \\\"b\\\"\",cicd_pipeline_run_state=\"pending\"} 0.0\n\
             cicd_pipeline_run_active{cicd_pipeline_name=\"shop\",cicd_pipeline_run_state=\"executing\"} 1.0\n\
             cicd_pipeline_run_active{cicd_pipeline_name=\"shop\",cicd_pipeline_run_state=\"pending\"} 0.0\n"
                .to_owned(),
            "# HELP cicd_worker_count Agents (workers) by state: available (idle), busy (running or finishing a job), offline.\n\
             # TYPE cicd_worker_count gauge\n\
             cicd_worker_count{cicd_worker_state=\"available\"} 1.0\n\
             cicd_worker_count{cicd_worker_state=\"busy\"} 2.0\n\
             cicd_worker_count{cicd_worker_state=\"offline\"} 0.0\n"
                .to_owned(),
            "# HELP cicd_pipeline_run_errors Pipeline runs that ended in failure, timeout or error, by pipeline and error type.\n\
             # TYPE cicd_pipeline_run_errors counter\n\
             cicd_pipeline_run_errors_total{cicd_pipeline_name=\"a \\\"b\\\"\",error_type=\"agent_lost\"} 1\n"
                .to_owned(),
            "# HELP slipway_deployments Finished deployments by environment and outcome (success, failure, canceled, skipped, rolledBack, redeployed).\n\
             # TYPE slipway_deployments counter\n\
             slipway_deployments_total{environment=\"production\",outcome=\"rolledBack\"} 1\n\
             slipway_deployments_total{environment=\"production\",outcome=\"success\"} 3\n"
                .to_owned(),
            "# HELP slipway_dora_deployment_frequency_per_day DORA: deployments a day over the last 30 days, per production environment.\n\
             # TYPE slipway_dora_deployment_frequency_per_day gauge\n\
             slipway_dora_deployment_frequency_per_day{environment=\"production\"} 0.1\n\
             # HELP slipway_dora_lead_time_seconds DORA: median lead time for changes over the last 30 days, per production environment.\n\
             # TYPE slipway_dora_lead_time_seconds gauge\n\
             # UNIT slipway_dora_lead_time_seconds seconds\n\
             slipway_dora_lead_time_seconds{environment=\"production\"} 90.0\n\
             # HELP slipway_dora_change_failure_rate DORA: change failure rate (0 to 1) over the last 30 days, per production environment.\n\
             # TYPE slipway_dora_change_failure_rate gauge\n\
             slipway_dora_change_failure_rate{environment=\"production\"} 0.25\n\
             # HELP slipway_dora_time_to_restore_seconds DORA: median time to restore after a failed deployment over the last 30 days, per production environment.\n\
             # TYPE slipway_dora_time_to_restore_seconds gauge\n\
             # UNIT slipway_dora_time_to_restore_seconds seconds\n\
             # HELP slipway_dora_rework_rate DORA: deployment rework rate (0 to 1) over the last 30 days, per production environment.\n\
             # TYPE slipway_dora_rework_rate gauge\n\
             slipway_dora_rework_rate{environment=\"production\"} 0.0\n\
             # EOF\n"
                .to_owned(),
        ]
        .concat();
        assert_eq!(rendered, expected, "\n{rendered}");
    }

    #[test]
    fn results_take_opentelemetrys_names() {
        assert_eq!(pipeline_result("SucceededWithIssues", ""), "success");
        assert_eq!(pipeline_result("Failed", "job_failed"), "failure");
        assert_eq!(pipeline_result("Failed", "not_started"), "failure");
        assert_eq!(pipeline_result("Failed", "timeout"), "timeout");
        assert_eq!(pipeline_result("Failed", "agent_lost"), "error");
        assert_eq!(pipeline_result("Canceled", ""), "cancellation");
        assert_eq!(pipeline_result("Skipped", ""), "skip");
        assert_eq!(deployment_outcome(Some("Succeeded"), Some("redeployed")), "redeployed");
        assert_eq!(deployment_outcome(Some("Canceled"), None), "canceled");
        assert_eq!(worker_state(AgentState::Offline), "offline");
    }
}
