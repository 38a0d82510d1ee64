//! OTLP traces of runs: a consumer of the event stream (its cursor `traces`) that, for each run
//! that finished (`pipelinerun.finished`), builds the run's trace from the store and sends it
//! over OTLP/HTTP (protobuf) with the `opentelemetry` crates to the configured endpoint.
//!
//! A trace follows OpenTelemetry's CI/CD semantic conventions: the run is a `SERVER` span named
//! `RUN {pipeline}` with `cicd.pipeline.name`, `cicd.pipeline.run.id`,
//! `cicd.pipeline.run.url.full`, `cicd.pipeline.action.name`, `cicd.pipeline.result` (and
//! `error.type` when it failed) and the commit's `vcs.*` attributes; its stages, their jobs and
//! the jobs' steps are `INTERNAL` task spans below it with `cicd.pipeline.task.name`,
//! `.task.run.id`, `.task.run.url.full`, `.task.run.result` (and `error.type`),
//! `cicd.pipeline.task.type` for deployment jobs, and `cicd.worker.id`/`.name` for the agent
//! that ran a job. Spans are made after the fact with the times the store recorded; the trace
//! and span ids are derived from the server's URL and the run, so a run sent again (after a
//! crash before the cursor moved) is the same trace with the same spans.
//!
//! The cursor moves only after the receiver took a run's trace: while it is down or refuses,
//! the consumer tries again with back-off (logged with `tracing`), and nothing is lost. It runs
//! beside the other consumers and never holds them up. With no endpoint configured there is no
//! consumer.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use sha2::{Digest as _, Sha256};
use slipway_events::TaskResult;
use slipway_insights::cdevents::types;
use slipway_store::{
    EventFilter, EventOrigin, Job, JobId, Run, RunId, Step, Store, StoreError, StreamEvent, Timestamp,
};

use crate::AppState;

/// The consumer's cursor in the store.
pub const TRACES_CURSOR: &str = "traces";
/// How often the consumer looks for finished runs.
pub const TRACES_INTERVAL: Duration = Duration::from_millis(250);
/// The longest wait between two tries while the receiver keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// The service name when `OTEL_SERVICE_NAME` does not say.
pub const DEFAULT_SERVICE_NAME: &str = "slipway";
/// The path of traces under a base endpoint (OTLP/HTTP).
const TRACES_PATH: &str = "/v1/traces";
/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events read at a time.
const BATCH: u32 = 200;

/// Where and how traces are sent: from `slipway serve --otlp-endpoint` and the standard
/// `OTEL_*` variables (see [`TracesConfig::resolve`]).
#[derive(Clone, PartialEq, Eq)]
pub struct TracesConfig {
    /// The URL spans are posted to (ending in `/v1/traces` unless a traces endpoint said
    /// otherwise).
    pub endpoint: String,
    /// Headers sent with every export (`OTEL_EXPORTER_OTLP_TRACES_HEADERS` or
    /// `OTEL_EXPORTER_OTLP_HEADERS`), such as an API key.
    pub headers: Vec<(String, String)>,
    /// The resource's `service.name`.
    pub service_name: String,
}

impl fmt::Debug for TracesConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are often credentials: only their names are shown.
        let headers: Vec<String> = self.headers.iter().map(|(name, _)| format!("{name}: ***")).collect();
        formatter
            .debug_struct("TracesConfig")
            .field("endpoint", &self.endpoint)
            .field("headers", &headers)
            .field("service_name", &self.service_name)
            .finish()
    }
}

/// The trace configuration is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TracesConfigError {
    /// An endpoint is not an http(s) URL.
    #[error(
        "{origin}: '{value}' is not an http:// or https:// URL; give the OTLP/HTTP receiver's address, such as http://127.0.0.1:4318"
    )]
    Endpoint {
        /// Where it came from (`--otlp-endpoint` or a variable's name).
        origin: &'static str,
        /// What it said.
        value: String,
    },
    /// A headers variable has an entry that is not `name=value`.
    #[error(
        "{origin}: the entry '{entry}' is not name=value; write the headers as name=value pairs separated by commas, such as api-key=secret,team=ci"
    )]
    Header {
        /// The variable's name.
        origin: &'static str,
        /// The entry (its value left out).
        entry: String,
    },
    /// A protocol Slipway does not send.
    #[error(
        "{origin} is '{value}', but Slipway sends traces over OTLP/HTTP with protobuf only; set it to http/protobuf or unset it, and point the endpoint at the receiver's HTTP port (4318 by default)"
    )]
    Protocol {
        /// The variable's name.
        origin: &'static str,
        /// What it said.
        value: String,
    },
}

impl TracesConfig {
    /// The configuration from `flag` (`--otlp-endpoint`) and the process's environment; `None`
    /// when no endpoint is given (no traces are sent). See [`TracesConfig::resolve`].
    ///
    /// # Errors
    /// When an endpoint, a header or the protocol is wrong.
    pub fn from_environment(flag: Option<&str>) -> Result<Option<Self>, TracesConfigError> {
        Self::resolve(flag, |name| std::env::var(name).ok())
    }

    /// The configuration from `flag` and the variables `env` reads, in this order: the flag (a
    /// base URL to which `/v1/traces` is added, or a URL that ends with it already); else
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as it is; else `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// with `/v1/traces` added to its path, as OpenTelemetry's exporter specification says.
    /// Headers come from `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`
    /// (`name=value` pairs separated by commas, values percent-decoded); the service name from
    /// `OTEL_SERVICE_NAME`, else `slipway`. `None` when no endpoint is given.
    ///
    /// # Errors
    /// When an endpoint is not an http(s) URL, a header entry is not `name=value`, or
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`/`OTEL_EXPORTER_OTLP_PROTOCOL` asks for other than
    /// `http/protobuf`.
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TracesConfigError> {
        let set = |name: &str| env(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let endpoint = if let Some(flag) = flag.map(str::trim).filter(|flag| !flag.is_empty()) {
            let url = checked_url("--otlp-endpoint", flag)?;
            if url.trim_end_matches('/').ends_with(TRACES_PATH) { url } else { with_traces_path(&url) }
        } else if let Some(traces) = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            checked_url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces)?
        } else if let Some(base) = set("OTEL_EXPORTER_OTLP_ENDPOINT") {
            with_traces_path(&checked_url("OTEL_EXPORTER_OTLP_ENDPOINT", &base)?)
        } else {
            return Ok(None);
        };
        for source in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let Some(value) = set(source) {
                if value != "http/protobuf" {
                    return Err(TracesConfigError::Protocol { origin: source, value });
                }
                break;
            }
        }
        let headers = match (set("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), set("OTEL_EXPORTER_OTLP_HEADERS")) {
            (Some(headers), _) => parse_headers("OTEL_EXPORTER_OTLP_TRACES_HEADERS", &headers)?,
            (None, Some(headers)) => parse_headers("OTEL_EXPORTER_OTLP_HEADERS", &headers)?,
            (None, None) => Vec::new(),
        };
        let service_name = set("OTEL_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        Ok(Some(Self { endpoint, headers, service_name }))
    }
}

fn checked_url(origin: &'static str, value: &str) -> Result<String, TracesConfigError> {
    let value = value.trim();
    let rest = value.strip_prefix("http://").or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(value.to_owned()),
        _ => Err(TracesConfigError::Endpoint { origin, value: value.to_owned() }),
    }
}

/// `base` with `/v1/traces` added to its path (before a query, if any).
fn with_traces_path(base: &str) -> String {
    let (path, query) = base.split_once('?').map_or((base, None), |(path, query)| (path, Some(query)));
    let joined = format!("{}{TRACES_PATH}", path.trim_end_matches('/'));
    match query {
        Some(query) => format!("{joined}?{query}"),
        None => joined,
    }
}

fn parse_headers(origin: &'static str, text: &str) -> Result<Vec<(String, String)>, TracesConfigError> {
    let mut headers = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let Some((name, value)) = entry.split_once('=') else {
            return Err(TracesConfigError::Header { origin, entry: entry.to_owned() });
        };
        let name = percent_decode(name.trim());
        if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_graphic() && byte != b':') {
            return Err(TracesConfigError::Header { origin, entry: format!("{name}=...") });
        }
        headers.push((name, percent_decode(value.trim())));
    }
    Ok(headers)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|byte| char::from(*byte).to_digit(16));
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                index += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A stage as the run's plan names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StagePlan {
    /// Its name.
    pub name: String,
    /// Its display name, if it has one.
    pub display_name: Option<String>,
    /// The names of its deployment jobs.
    pub deployment_jobs: Vec<String>,
}

/// What a run's trace is made from, as the store has it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run.
    pub run: Run,
    /// Its pipeline's name.
    pub pipeline: String,
    /// Its pipeline's repository (a URL or a path on the server).
    pub repository: String,
    /// Its jobs (legs), in the order they were made.
    pub jobs: Vec<Job>,
    /// Its jobs' steps.
    pub steps: Vec<(JobId, Step)>,
    /// Its stages, in the plan's order, when the plan is known.
    pub stages: Vec<StagePlan>,
}

/// What the span of a task says about its result: `cicd.pipeline.result`'s value and, for
/// `failure` and `error`, the `error.type` Slipway reports (see `docs/telemetry.md`).
fn result_of(result: Option<TaskResult>) -> Option<&'static str> {
    Some(match result? {
        TaskResult::Succeeded | TaskResult::SucceededWithIssues => "success",
        TaskResult::Failed => "failure",
        TaskResult::Canceled => "cancellation",
        TaskResult::Skipped => "skip",
    })
}

fn time(at: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(at.millis()).unwrap_or(0))
}

/// `[start, end]` kept inside `[within.0, within.1]`, with `end` not before `start`.
fn inside(start: SystemTime, end: SystemTime, within: (SystemTime, SystemTime)) -> (SystemTime, SystemTime) {
    let start = start.clamp(within.0, within.1);
    (start, end.clamp(start, within.1))
}

/// The bytes of a hash of the server, the run and `what`.
fn digest(server: &str, run: RunId, what: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"slipway-trace\0");
    hash.update(server.as_bytes());
    hash.update(b"\0");
    hash.update(run.get().to_be_bytes());
    hash.update(b"\0");
    hash.update(what.as_bytes());
    hash.finalize().into()
}

/// The trace id of `run` on the server at `server` (its URL).
#[must_use]
pub fn trace_id(server: &str, run: RunId) -> TraceId {
    let bytes = digest(server, run, "trace");
    let mut id = [0; 16];
    id.copy_from_slice(&bytes[..16]);
    // An all-zero id is invalid; a hash is never that in practice, but never send one.
    if id == [0; 16] {
        id[15] = 1;
    }
    TraceId::from_bytes(id)
}

fn span_id(server: &str, run: RunId, what: &str) -> SpanId {
    let bytes = digest(server, run, what);
    let mut id = [0; 8];
    id.copy_from_slice(&bytes[..8]);
    if id == [0; 8] {
        id[7] = 1;
    }
    SpanId::from_bytes(id)
}

/// The repository as `vcs.repository.url.full`: a URL without its credentials, or `file://`
/// and an absolute path; `None` for anything else.
fn repository_url(repository: &str) -> Option<String> {
    let repository = repository.trim();
    if let Some((scheme, rest)) = repository.split_once("://") {
        let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        return Some(format!("{scheme}://{host}{path}"));
    }
    repository.starts_with('/').then(|| format!("file://{repository}"))
}

fn encode_query(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// One span being made.
struct Made {
    id: SpanId,
    parent: SpanId,
    kind: SpanKind,
    name: String,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<KeyValue>,
    status: Status,
}

/// Attributes and status of a task's result.
fn task_result(
    attributes: &mut Vec<KeyValue>,
    key: &'static str,
    result: Option<TaskResult>,
    error_type: &str,
    message: Option<&str>,
) -> Status {
    let Some(result) = result_of(result) else {
        return Status::Unset;
    };
    attributes.push(KeyValue::new(key, result));
    if result == "failure" || result == "error" {
        attributes.push(KeyValue::new("error.type", error_type.to_owned()));
        return Status::error(message.unwrap_or(result).to_owned());
    }
    Status::Unset
}

/// The spans of a finished run: the run (`SERVER`, the root), its stages, their jobs and the
/// jobs' steps (`INTERNAL`), with the times the store recorded (children kept inside their
/// parents) and ids derived from `server` (the server's URL, also the start of the runs' and
/// jobs' URLs) and the run. Pure, for the consumer and for tests.
#[must_use]
pub fn run_spans(record: &RunRecord, server: &str) -> Vec<SpanData> {
    let run = &record.run;
    let run_id = run.id;
    let run_url = format!("{server}/runs/{run_id}");
    let run_start = time(run.created_at);
    let run_end = time(run.finished_at.unwrap_or(run.created_at)).max(run_start);
    let root = span_id(server, run_id, "run");
    let mut made = Vec::new();

    let mut attributes = vec![
        KeyValue::new("cicd.pipeline.name", record.pipeline.clone()),
        KeyValue::new("cicd.pipeline.run.id", run_id.to_string()),
        KeyValue::new("cicd.pipeline.run.url.full", run_url.clone()),
        KeyValue::new("cicd.pipeline.action.name", "RUN"),
    ];
    // A run that failed without a job failing could not be run by Slipway (its YAML did not
    // load, its revision could not be checked out): an `error`, not a `failure`.
    let any_failed_job = record.jobs.iter().any(|job| job.result == Some(TaskResult::Failed));
    let status = if run.result == Some(TaskResult::Failed) && !any_failed_job {
        attributes.push(KeyValue::new("cicd.pipeline.result", "error"));
        attributes.push(KeyValue::new("error.type", "pipeline_error"));
        Status::error("the run failed before any of its jobs did")
    } else {
        task_result(&mut attributes, "cicd.pipeline.result", run.result, "job_failed", None)
    };
    if let Some(commit) = run.commit.as_deref().filter(|commit| !commit.is_empty()) {
        attributes.push(KeyValue::new("vcs.ref.head.revision", commit.to_owned()));
    }
    if let Some(branch) = run.branch.as_deref().filter(|branch| !branch.is_empty()) {
        let (name, kind) = match (branch.strip_prefix("refs/heads/"), branch.strip_prefix("refs/tags/")) {
            (Some(name), _) => (name, "branch"),
            (None, Some(name)) => (name, "tag"),
            (None, None) => (branch, "branch"),
        };
        attributes.push(KeyValue::new("vcs.ref.head.name", name.to_owned()));
        attributes.push(KeyValue::new("vcs.ref.head.type", kind));
    }
    if let Some(url) = repository_url(&record.repository) {
        attributes.push(KeyValue::new("vcs.repository.url.full", url));
    }
    made.push(Made {
        id: root,
        parent: SpanId::INVALID,
        kind: SpanKind::Server,
        name: format!("RUN {}", record.pipeline),
        start: run_start,
        end: run_end,
        attributes,
        status,
    });

    // Stages in the plan's order, then any the jobs name that the plan does not.
    let mut stages: Vec<StagePlan> = record.stages.clone();
    for job in &record.jobs {
        if !stages.iter().any(|stage| stage.name == job.stage) {
            stages.push(StagePlan { name: job.stage.clone(), ..StagePlan::default() });
        }
    }
    for stage in &stages {
        let jobs: Vec<&Job> = record.jobs.iter().filter(|job| job.stage == stage.name).collect();
        let times: Vec<(SystemTime, SystemTime)> = jobs.iter().filter_map(|job| job_times(job)).collect();
        let (Some(start), Some(end)) =
            (times.iter().map(|(start, _)| *start).min(), times.iter().map(|(_, end)| *end).max())
        else {
            continue;
        };
        let (start, end) = inside(start, end, (run_start, run_end));
        let stage_id = span_id(server, run_id, &format!("stage\0{}", stage.name));
        let result = jobs.iter().filter_map(|job| job.result).fold(None, TaskResult::merge);
        let mut attributes = vec![
            KeyValue::new("cicd.pipeline.task.name", stage.display_name.clone().unwrap_or_else(|| stage.name.clone())),
            KeyValue::new("cicd.pipeline.task.run.id", format!("{run_id}.{}", stage.name)),
            KeyValue::new("cicd.pipeline.task.run.url.full", run_url.clone()),
        ];
        let status = task_result(&mut attributes, "cicd.pipeline.task.run.result", result, "job_failed", None);
        made.push(Made {
            id: stage_id,
            parent: root,
            kind: SpanKind::Internal,
            name: stage.display_name.clone().unwrap_or_else(|| stage.name.clone()),
            start,
            end,
            attributes,
            status,
        });
        for job in jobs {
            let Some((job_start, job_end)) = job_times(job) else { continue };
            let (job_start, job_end) = inside(job_start, job_end, (start, end));
            let job_id = span_id(server, run_id, &format!("job\0{}", job.id));
            let job_url = format!("{run_url}?job={}", encode_query(&job.key));
            let mut attributes = vec![
                KeyValue::new("cicd.pipeline.task.name", job.display_name.clone()),
                KeyValue::new("cicd.pipeline.task.run.id", job.id.to_string()),
                KeyValue::new("cicd.pipeline.task.run.url.full", job_url.clone()),
            ];
            if stage.deployment_jobs.contains(&job.job) {
                attributes.push(KeyValue::new("cicd.pipeline.task.type", "deploy"));
            }
            if let Some(worker) = job.lease_holder.as_deref().filter(|worker| !worker.is_empty()) {
                attributes.push(KeyValue::new("cicd.worker.id", worker.to_owned()));
                attributes.push(KeyValue::new("cicd.worker.name", worker.to_owned()));
            }
            let steps: Vec<&Step> = record.steps.iter().filter(|(of, _)| *of == job.id).map(|(_, step)| step).collect();
            let failed_step = steps.iter().any(|step| step.result == Some(TaskResult::Failed));
            let error_type = if failed_step { "step_failed" } else { "job_failed" };
            let status = task_result(
                &mut attributes,
                "cicd.pipeline.task.run.result",
                job.result,
                error_type,
                job.message.as_deref(),
            );
            made.push(Made {
                id: job_id,
                parent: stage_id,
                kind: SpanKind::Internal,
                name: job.display_name.clone(),
                start: job_start,
                end: job_end,
                attributes,
                status,
            });
            for step in steps {
                let Some(at) = step.started_at.or(step.finished_at) else { continue };
                let (step_start, step_end) =
                    inside(time(at), time(step.finished_at.unwrap_or(at)), (job_start, job_end));
                let mut attributes = vec![
                    KeyValue::new("cicd.pipeline.task.name", step.display_name.clone()),
                    KeyValue::new("cicd.pipeline.task.run.id", format!("{}.{}", job.id, step.number)),
                    KeyValue::new("cicd.pipeline.task.run.url.full", job_url.clone()),
                ];
                let error_type = if step.exit_code.is_some_and(|code| code != 0) { "exit_code" } else { "step_failed" };
                let status = task_result(
                    &mut attributes,
                    "cicd.pipeline.task.run.result",
                    step.result,
                    error_type,
                    step.message.as_deref(),
                );
                if let Some(code) = step.exit_code {
                    attributes.push(KeyValue::new("process.exit.code", code));
                }
                made.push(Made {
                    id: span_id(server, run_id, &format!("step\0{}\0{}", job.id, step.number)),
                    parent: job_id,
                    kind: SpanKind::Internal,
                    name: step.display_name.clone(),
                    start: step_start,
                    end: step_end,
                    attributes,
                    status,
                });
            }
        }
    }

    let trace = trace_id(server, run_id);
    let scope = InstrumentationScope::builder("slipway").with_version(env!("CARGO_PKG_VERSION")).build();
    made.into_iter()
        .map(|span| SpanData {
            span_context: SpanContext::new(trace, span.id, TraceFlags::SAMPLED, false, TraceState::NONE),
            parent_span_id: span.parent,
            parent_span_is_remote: false,
            span_kind: span.kind,
            name: Cow::Owned(span.name),
            start_time: span.start,
            end_time: span.end,
            attributes: span.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: span.status,
            instrumentation_scope: scope.clone(),
        })
        .collect()
}

/// When a job ran: from its start (or end, for one that never started) to its end.
fn job_times(job: &Job) -> Option<(SystemTime, SystemTime)> {
    let start = job.started_at.or(job.finished_at)?;
    Some((time(start), time(job.finished_at.unwrap_or(start))))
}

/// The consumer could not send traces.
#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// The exporter could not be made.
    #[error("the OTLP exporter could not be made: {0}")]
    Build(String),
    /// The receiver did not take a run's trace.
    #[error("the OTLP receiver at {endpoint} did not take run {run}'s trace: {message}")]
    Export {
        /// Where it was sent.
        endpoint: String,
        /// The run.
        run: i64,
        /// What went wrong.
        message: String,
    },
}

/// An HTTP client for the OTLP exporter over `ureq` (the workspace's client, with its rustls),
/// each request on a blocking thread.
#[derive(Debug, Clone)]
struct UreqClient {
    agent: ureq::Agent,
}

impl UreqClient {
    fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(EXPORT_TIMEOUT))
            .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION"), " (traces)"))
            .build()
            .into();
        Self { agent }
    }
}

/// The most of a receiver's answer that is read.
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for UreqClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let agent = self.agent.clone();
        let (parts, body) = request.into_parts();
        let request = ureq::http::Request::from_parts(parts, body.to_vec());
        let answer = tokio::task::spawn_blocking(move || -> Result<_, opentelemetry_http::HttpError> {
            let mut answer = agent.run(request)?;
            let body = answer.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec()?;
            let (parts, _) = answer.into_parts();
            Ok(ureq::http::Response::from_parts(parts, opentelemetry_http::Bytes::from(body)))
        })
        .await??;
        Ok(answer)
    }
}

/// The consumer that sends finished runs' traces.
pub struct TraceExporter {
    store: Store,
    exporter: opentelemetry_otlp::SpanExporter,
    endpoint: String,
    server: String,
}

impl fmt::Debug for TraceExporter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("TraceExporter").field("endpoint", &self.endpoint).field("server", &self.server).finish()
    }
}

impl TraceExporter {
    /// The consumer over `store`'s stream, sending to `config`'s endpoint the traces of runs on
    /// the server at `server` (its URL: runs' URLs start with it, and the ids derive from it).
    ///
    /// # Errors
    /// When the exporter cannot be made.
    pub fn new(store: Store, config: &TracesConfig, server: &str) -> Result<Self, TracesError> {
        let headers: HashMap<String, String> = config.headers.iter().cloned().collect();
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(UreqClient::new())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(headers)
            .build()
            .map_err(|error| TracesError::Build(error.to_string()))?;
        let resource = Resource::builder_empty()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        exporter.set_resource(&resource);
        Ok(Self { store, exporter, endpoint: config.endpoint.clone(), server: server.trim_end_matches('/').to_owned() })
    }

    /// What the run's trace is made from.
    async fn record(&self, run: RunId) -> Result<RunRecord, StoreError> {
        let run = self.store.run(run).await?;
        let pipeline = self.store.pipeline(run.pipeline).await?;
        let jobs = self.store.jobs_of_run(run.id).await?;
        let steps = self.store.steps_of_run(run.id).await?;
        let stages = match self.store.run_plan(run.id).await? {
            Some(plan) => plan
                .stages
                .iter()
                .map(|stage| StagePlan {
                    name: stage.name.clone(),
                    display_name: stage.display_name.clone(),
                    deployment_jobs: stage
                        .jobs
                        .iter()
                        .filter(|job| serde_json::to_value(&job.kind).is_ok_and(|kind| kind["type"] == "deployment"))
                        .map(|job| job.name.clone())
                        .collect(),
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(RunRecord { run, pipeline: pipeline.name, repository: pipeline.repository, jobs, steps, stages })
    }

    /// Sends the trace of every run that finished since the last pass, moving the cursor after
    /// each; returns how many traces were sent.
    ///
    /// # Errors
    /// When the store fails or the receiver does not take a trace (the run is tried again by
    /// the next pass).
    pub async fn pass(&self) -> Result<usize, TracesError> {
        let mut sent = 0;
        loop {
            let after = self.store.event_cursor(TRACES_CURSOR).await?;
            let filter = EventFilter { after, limit: BATCH, ..EventFilter::default() };
            let events = self.store.list_stream_events(&filter).await?;
            let Some(last) = events.last().map(|event| event.position) else {
                return Ok(sent);
            };
            for event in &events {
                let Some(run) = finished_run(event) else { continue };
                let record = match self.record(run).await {
                    Ok(record) => record,
                    // The run is gone (deleted since): nothing to send.
                    Err(error) if error.is_not_found() => continue,
                    Err(error) => return Err(error.into()),
                };
                let spans = run_spans(&record, &self.server);
                let count = spans.len();
                self.exporter.export(spans).await.map_err(|error| TracesError::Export {
                    endpoint: self.endpoint.clone(),
                    run: run.get(),
                    message: error.to_string(),
                })?;
                self.store.set_event_cursor(TRACES_CURSOR, event.position).await?;
                tracing::debug!(run = run.get(), spans = count, "a run's trace was sent");
                sent += 1;
            }
            self.store.set_event_cursor(TRACES_CURSOR, last).await?;
        }
    }

    /// Sends traces every `interval` until `stop` is told; while passes fail, waits twice as
    /// long after each failure (up to [`MAX_BACKOFF`]), logging each.
    pub async fn run(self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut wait = interval;
        loop {
            match self.pass().await {
                Ok(_) => wait = interval,
                Err(error) => {
                    wait = (wait * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    tracing::warn!(%error, retry_in = ?wait, "sending runs' traces failed; it tries again");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return; },
            }
        }
    }
}

/// The run a stream event says finished, for Slipway's own `pipelinerun.finished`.
fn finished_run(event: &StreamEvent) -> Option<RunId> {
    if event.event_type != types::PIPELINE_RUN_FINISHED || event.origin != EventOrigin::Slipway {
        return None;
    }
    event.document["data"]["customData"]["runId"].as_i64().map(RunId)
}

/// Sends runs' traces until the server stops, when `state` has a trace configuration (else
/// ends at once); the event stream's [`crate::events::start`] runs it beside the feeder.
/// `server` is the server's URL, as the events name it.
pub fn run(state: &AppState, server: &str) -> impl Future<Output = ()> + Send + 'static {
    let consumer = state.traces().map(|config| {
        let consumer = TraceExporter::new(state.store().clone(), &config, server);
        if let Err(error) = &consumer {
            tracing::error!(%error, "runs' traces will not be sent");
        } else {
            tracing::info!(
                endpoint = config.endpoint,
                service = config.service_name,
                "runs' traces are sent over OTLP"
            );
        }
        consumer
    });
    let stop = state.stopping();
    async move {
        if let Some(Ok(consumer)) = consumer {
            consumer.run(TRACES_INTERVAL, stop).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone())
    }

    #[test]
    fn the_endpoint_comes_from_the_flag_then_the_traces_variable_then_the_base_variable() {
        let all = env(&[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/"),
        ]);
        let flag = TracesConfig::resolve(Some("http://flag:4318"), &all).unwrap_or_default();
        assert_eq!(flag.map(|config| config.endpoint).as_deref(), Some("http://flag:4318/v1/traces"));
        let already = TracesConfig::resolve(Some("https://flag/v1/traces"), &all).unwrap_or_default();
        assert_eq!(already.map(|config| config.endpoint).as_deref(), Some("https://flag/v1/traces"));
        let traces = TracesConfig::resolve(None, &all).unwrap_or_default();
        assert_eq!(traces.map(|config| config.endpoint).as_deref(), Some("http://traces:4318/custom"));
        let base = TracesConfig::resolve(None, env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/")]));
        assert_eq!(
            base.unwrap_or_default().map(|config| config.endpoint).as_deref(),
            Some("http://base:4318/v1/traces")
        );
        assert_eq!(TracesConfig::resolve(None, env(&[])), Ok(None));
        assert_eq!(TracesConfig::resolve(Some("  "), env(&[])), Ok(None));
    }

    #[test]
    fn headers_service_name_and_mistakes() {
        let config = TracesConfig::resolve(
            Some("http://127.0.0.1:4318"),
            env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", "ignored=1"),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=s%20ecret, team=ci"),
                ("OTEL_SERVICE_NAME", "ci-server"),
            ]),
        );
        let config = config.unwrap_or_default().unwrap_or_else(|| TracesConfig {
            endpoint: String::new(),
            headers: Vec::new(),
            service_name: String::new(),
        });
        assert_eq!(
            config.headers,
            [("api-key".to_owned(), "s ecret".to_owned()), ("team".to_owned(), "ci".to_owned())]
        );
        assert_eq!(config.service_name, "ci-server");
        assert!(!format!("{config:?}").contains("ecret"), "{config:?}");
        let default = TracesConfig::resolve(Some("http://x"), env(&[])).unwrap_or_default();
        assert_eq!(default.map(|config| config.service_name).as_deref(), Some("slipway"));

        let wrong = TracesConfig::resolve(Some("localhost:4318"), env(&[]));
        assert!(matches!(wrong, Err(TracesConfigError::Endpoint { origin: "--otlp-endpoint", .. })), "{wrong:?}");
        let header = TracesConfig::resolve(Some("http://x"), env(&[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")]));
        assert!(matches!(header, Err(TracesConfigError::Header { .. })), "{header:?}");
        let grpc = TracesConfig::resolve(Some("http://x"), env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]));
        assert!(matches!(grpc, Err(TracesConfigError::Protocol { .. })), "{grpc:?}");
        let traces_wins =
            env(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
        assert!(TracesConfig::resolve(Some("http://x"), traces_wins).is_ok());
    }

    #[test]
    fn repository_urls_lose_their_credentials() {
        assert_eq!(
            repository_url("https://user:token@git.example.com/team/shop.git").as_deref(),
            Some("https://git.example.com/team/shop.git")
        );
        assert_eq!(repository_url("/srv/git/shop").as_deref(), Some("file:///srv/git/shop"));
        assert_eq!(repository_url("shop"), None);
    }

    fn at(millis: i64) -> Option<Timestamp> {
        Some(Timestamp(millis))
    }

    fn job(id: i64, stage: &str, name: &str, times: (i64, i64), result: TaskResult) -> Job {
        Job {
            id: JobId(id),
            run: RunId(7),
            key: format!("{stage}.{name}"),
            stage: stage.to_owned(),
            job: name.to_owned(),
            leg: None,
            display_name: name.to_owned(),
            pool: "default".to_owned(),
            demands: Vec::new(),
            status: slipway_store::JobStatus::Completed,
            result: Some(result),
            message: (result == TaskResult::Failed).then(|| "a step failed".to_owned()),
            attempt: 1,
            lease_holder: Some("local:1".to_owned()),
            lease_expires_at: None,
            created_at: Timestamp(1_000),
            queued_at: at(1_000),
            started_at: at(times.0),
            finished_at: at(times.1),
            log_start: 0,
        }
    }

    fn step(number: i64, name: &str, times: (i64, i64), result: TaskResult, exit_code: i64) -> Step {
        Step {
            number,
            name: None,
            display_name: name.to_owned(),
            status: slipway_store::StepStatus::Completed,
            result: Some(result),
            exit_code: Some(exit_code),
            attempts: 1,
            message: None,
            started_at: at(times.0),
            finished_at: at(times.1),
        }
    }

    fn record() -> RunRecord {
        RunRecord {
            run: Run {
                id: RunId(7),
                pipeline: slipway_store::PipelineId(1),
                run_number: "20261201.1".to_owned(),
                trigger: slipway_store::TriggerKind::Manual,
                trigger_details: slipway_store::TriggerDetails::default(),
                branch: Some("refs/heads/main".to_owned()),
                commit: Some("abc123".to_owned()),
                parameters: serde_json::json!({}),
                variables: serde_json::json!({}),
                status: slipway_store::RunStatus::Completed,
                result: Some(TaskResult::Failed),
                requested_by: None,
                created_at: Timestamp(1_000),
                started_at: at(2_000),
                finished_at: at(9_000),
                cancel_requested: false,
                keep: false,
                retry_of: None,
                upstream_run: None,
            },
            pipeline: "shop".to_owned(),
            repository: "https://git.example.com/shop.git".to_owned(),
            jobs: vec![
                job(11, "build", "compile", (2_000, 4_000), TaskResult::Succeeded),
                job(12, "ship", "deploy", (4_500, 8_000), TaskResult::Failed),
            ],
            steps: vec![
                (JobId(11), step(1, "make", (2_100, 3_900), TaskResult::Succeeded, 0)),
                (JobId(12), step(1, "push", (4_600, 7_000), TaskResult::Failed, 3)),
            ],
            stages: vec![
                StagePlan {
                    name: "build".to_owned(),
                    display_name: Some("Build it".to_owned()),
                    deployment_jobs: Vec::new(),
                },
                StagePlan { name: "ship".to_owned(), display_name: None, deployment_jobs: vec!["deploy".to_owned()] },
            ],
        }
    }

    fn attribute(span: &SpanData, key: &str) -> Option<String> {
        span.attributes.iter().find(|pair| pair.key.as_str() == key).map(|pair| pair.value.to_string())
    }

    #[test]
    fn a_run_becomes_a_server_span_with_stage_job_and_step_children() {
        let spans = run_spans(&record(), "http://ci.example.com");
        let names: Vec<&str> = spans.iter().map(|span| span.name.as_ref()).collect();
        assert_eq!(names, ["RUN shop", "Build it", "compile", "make", "ship", "deploy", "push"]);
        let root = &spans[0];
        assert_eq!(root.span_kind, SpanKind::Server);
        assert_eq!(root.parent_span_id, SpanId::INVALID);
        assert_eq!(attribute(root, "cicd.pipeline.result").as_deref(), Some("failure"));
        assert_eq!(attribute(root, "error.type").as_deref(), Some("job_failed"));
        assert_eq!(attribute(root, "cicd.pipeline.run.url.full").as_deref(), Some("http://ci.example.com/runs/7"));
        assert_eq!(attribute(root, "vcs.ref.head.name").as_deref(), Some("main"));
        assert_eq!(attribute(root, "vcs.ref.head.revision").as_deref(), Some("abc123"));
        assert_eq!(root.start_time, time(Timestamp(1_000)));
        assert_eq!(root.end_time, time(Timestamp(9_000)));
        // Parents: stages under the run, jobs under their stage, steps under their job.
        let id = |index: usize| spans[index].span_context.span_id();
        let parents: Vec<SpanId> = spans.iter().map(|span| span.parent_span_id).collect();
        assert_eq!(parents[1..], [id(0), id(1), id(2), id(0), id(4), id(5)]);
        assert!(spans.iter().all(|span| span.span_context.trace_id() == trace_id("http://ci.example.com", RunId(7))));
        assert!(spans[1..].iter().all(|span| span.span_kind == SpanKind::Internal));
        // The stage spans its jobs; the failed step says so, with its exit code.
        assert_eq!((spans[1].start_time, spans[1].end_time), (time(Timestamp(2_000)), time(Timestamp(4_000))));
        assert_eq!(attribute(&spans[5], "cicd.pipeline.task.type").as_deref(), Some("deploy"));
        assert_eq!(attribute(&spans[5], "cicd.worker.name").as_deref(), Some("local:1"));
        assert_eq!(attribute(&spans[5], "error.type").as_deref(), Some("step_failed"));
        assert_eq!(attribute(&spans[6], "cicd.pipeline.task.run.result").as_deref(), Some("failure"));
        assert_eq!(attribute(&spans[6], "error.type").as_deref(), Some("exit_code"));
        assert_eq!(attribute(&spans[6], "cicd.pipeline.task.run.id").as_deref(), Some("12.1"));
        assert!(matches!(spans[6].status, Status::Error { .. }));
        assert_eq!(attribute(&spans[3], "cicd.pipeline.task.run.result").as_deref(), Some("success"));
        assert_eq!(spans[3].status, Status::Unset);
        // The same run makes the same spans; another server's does not.
        assert_eq!(run_spans(&record(), "http://ci.example.com"), spans);
        assert_ne!(trace_id("http://other", RunId(7)), trace_id("http://ci.example.com", RunId(7)));
    }

    #[test]
    fn a_run_that_failed_without_a_failed_job_is_an_error() {
        let mut record = record();
        record.jobs.clear();
        record.steps.clear();
        let spans = run_spans(&record, "http://ci");
        assert_eq!(spans.len(), 1);
        assert_eq!(attribute(&spans[0], "cicd.pipeline.result").as_deref(), Some("error"));
        assert_eq!(attribute(&spans[0], "error.type").as_deref(), Some("pipeline_error"));
    }
}
