//! What the server does for agents, whichever way they reach it: remote agents through the HTTP
//! protocol ([`crate::agents_api`]), the in-process agents of the engine directly. Both get the
//! same [`JobMessage`] built from the job's stored spec, and their reports are stored by the same
//! functions here.
//!
//! - [`job_spec`] cuts a job's piece out of the plan with its variables when the job becomes ready;
//!   the store keeps it sealed with the job, so any server process can hand the job out.
//! - [`placement`] decides a job's pool and demands from Azure's `pool:` (`name`, `demands`,
//!   `vmImage` mapped to demands by the pool's settings).
//! - [`job_message`], [`store_chunk`], [`record_artifact`] and [`complete`] serve leased jobs.
//! - [`Hub`] is what long-polling lease requests wait on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use slipway_driver::{LegId, Variables};
use slipway_events::{Event, TaskResult};
use slipway_plan::Plan;
use slipway_protocol::{
    ArtifactManifest, ArtifactRecord, Chunk, Completion, JobInfo, JobMessage, JobTimeouts, JobVariable, JobWork,
    LeaseGrant, LegRef, PROTOCOL_VERSION, RunInfo,
};
use slipway_runtime::artifacts::ArtifactStore;
use slipway_store::{
    Agent, AgentId, AgentLostAction, AgentState, ChunkOutcome, Demand, Job, JobChunk, Lease, LeaseToken, PoolSettings,
    RunId, Step, StepStatus, Store, StoreError, Timestamp, VariableValue,
};
use tokio::sync::Notify;

/// The pool of jobs that name none (and of jobs naming Azure's hosted pool).
pub const DEFAULT_POOL: &str = "default";

/// The start of the holder name of the server's in-process agents' leases (`local:N`).
pub const LOCAL_HOLDER_PREFIX: &str = "local:";

/// The start of the holder name of remote agents' leases (`agent:NAME`).
const REMOTE_HOLDER_PREFIX: &str = "agent:";

/// The start of the name of the server's in-process agents (`local-N`); remote agents may not use it.
pub const LOCAL_AGENT_PREFIX: &str = "local-";

/// The start of the message shown on a queued job while every agent that can take it is offline
/// or busy.
pub const WAITING_PREFIX: &str = "waiting for an agent: ";

/// The reason a job fails with when its agent stopped renewing the lease.
pub const AGENT_LOST: &str = "agent lost";

/// The timing the server asks of agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentTiming {
    /// How long a lease lasts unless renewed.
    pub lease_duration: Duration,
    /// How often busy agents renew.
    pub heartbeat_interval: Duration,
    /// How long a lease request waits for a job.
    pub long_poll: Duration,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    pub kill_grace: Duration,
}

impl Default for AgentTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(5),
            long_poll: Duration::from_secs(30),
            kill_grace: Duration::from_secs(5),
        }
    }
}

/// What lease requests wait on, shared by the API and the engine.
#[derive(Debug, Default)]
pub struct Hub {
    /// Jobs were queued (or agents changed state): waiting lease requests try again.
    pub work: Notify,
    timing: Mutex<AgentTiming>,
    draining: Mutex<HashSet<AgentId>>,
}

impl Hub {
    /// The timing agents are given.
    #[must_use]
    pub fn timing(&self) -> AgentTiming {
        *self.timing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the timing agents are given (the engine does at start).
    pub fn set_timing(&self, timing: AgentTiming) {
        *self.timing.lock().unwrap_or_else(PoisonError::into_inner) = timing;
    }

    /// Records that an agent drains (or no longer does), and wakes waiting lease requests.
    pub fn set_draining(&self, agent: AgentId, draining: bool) {
        let mut set = self.draining.lock().unwrap_or_else(PoisonError::into_inner);
        if draining {
            set.insert(agent);
        } else {
            set.remove(&agent);
        }
        drop(set);
        self.work.notify_waiters();
    }

    /// Whether an agent drains.
    #[must_use]
    pub fn is_draining(&self, agent: AgentId) -> bool {
        self.draining.lock().unwrap_or_else(PoisonError::into_inner).contains(&agent)
    }
}

/// Who holds a job's lease: one of the server's in-process agents (slot `N`, the agent
/// `local-N`), or a remote agent by name. The store keeps it as text (`local:N`, `agent:NAME`,
/// its [`Display`](std::fmt::Display)); it is read back here, once.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeaseHolder {
    /// The in-process agent of this slot.
    Local(usize),
    /// A remote agent, by name.
    Agent(String),
}

impl LeaseHolder {
    /// The holder an agent leases as: `local-N` is the in-process slot `N`, any other name a
    /// remote agent.
    #[must_use]
    pub fn of_agent(agent_name: &str) -> Self {
        let slot = agent_name
            .strip_prefix(LOCAL_AGENT_PREFIX)
            .filter(|slot| slot.bytes().all(|byte| byte.is_ascii_digit()))
            .and_then(|slot| slot.parse().ok());
        slot.map_or_else(|| Self::Agent(agent_name.to_owned()), Self::Local)
    }

    /// Reads a holder as the store keeps it; `None` for text that names none.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(slot) = text.strip_prefix(LOCAL_HOLDER_PREFIX) {
            return slot.parse().ok().map(Self::Local);
        }
        text.strip_prefix(REMOTE_HOLDER_PREFIX).filter(|name| !name.is_empty()).map(|name| Self::Agent(name.to_owned()))
    }

    /// The name of the agent that holds the lease (`local-N` for an in-process slot).
    #[must_use]
    pub fn agent_name(&self) -> String {
        match self {
            Self::Local(slot) => format!("{LOCAL_AGENT_PREFIX}{slot}"),
            Self::Agent(name) => name.clone(),
        }
    }

    /// Whether it is one of the server's in-process agents.
    #[must_use]
    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(slot) => write!(formatter, "{LOCAL_HOLDER_PREFIX}{slot}"),
            Self::Agent(name) => write!(formatter, "{REMOTE_HOLDER_PREFIX}{name}"),
        }
    }
}

/// The agent a stored lease holder names, for people: the holder's text when it names none.
#[must_use]
pub fn holder_agent_name(holder: &str) -> String {
    LeaseHolder::parse(holder).map_or_else(|| holder.to_owned(), |holder| holder.agent_name())
}

/// A pool name as the server keeps it: trimmed, lowercase (Azure's pool names ignore case).
#[must_use]
pub fn normalize_pool(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || name == "azure pipelines" { DEFAULT_POOL.to_owned() } else { name }
}

/// The demands Azure's hosted images imply when the pool's settings do not map an image.
fn default_image_demands(image: &str) -> Vec<String> {
    let image = image.trim().to_ascii_lowercase();
    let os = if image.starts_with("ubuntu") || image.contains("linux") {
        "Linux"
    } else if image.starts_with("macos") {
        "Darwin"
    } else if image.starts_with("windows") || image.starts_with("vs20") || image.starts_with("win") {
        "Windows_NT"
    } else {
        return Vec::new();
    };
    vec![format!("Agent.OS -equals {os}")]
}

/// Where a job goes: its pool and demands, and why it cannot run anywhere when a demand is malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The pool.
    pub pool: String,
    /// The demands.
    pub demands: Vec<Demand>,
}

/// The pool and demands of a job of the plan: Azure's `pool: NAME`, `pool: { name, demands,
/// vmImage }`. A `vmImage` adds the demands its pool's settings map it to (or, unmapped, the
/// operating system the image implies). A demand that cannot be read is kept as a demand of a
/// capability named after its whole text, which no agent has: the job then waits with the reason
/// shown.
#[must_use]
pub fn placement(job: &slipway_plan::Job, settings: &HashMap<String, PoolSettings>) -> Placement {
    let pool = job.pool.as_ref();
    let name = normalize_pool(pool.and_then(|pool| pool.name.as_deref()).unwrap_or(DEFAULT_POOL));
    let mut texts: Vec<String> = pool.map(|pool| pool.demands.clone()).unwrap_or_default();
    if let Some(image) = pool.and_then(|pool| pool.image.as_deref()) {
        let mapped = settings.get(&name).and_then(|settings| {
            settings
                .vm_images
                .iter()
                .find(|(label, _)| label.eq_ignore_ascii_case(image.trim()))
                .map(|(_, demands)| demands.clone())
        });
        texts.extend(mapped.unwrap_or_else(|| default_image_demands(image)));
    }
    let demands = texts
        .iter()
        .map(|text| {
            Demand::parse(text).unwrap_or_else(|_| Demand { name: text.trim().to_owned(), equals: Some(String::new()) })
        })
        .collect();
    Placement { pool: name, demands }
}

/// The part of the plan a job needs: its stage with only that job.
#[must_use]
pub fn job_plan(plan: &Plan, leg: LegId) -> (Plan, LegRef) {
    let stage = plan.stages.get(leg.stage).map(|stage| {
        let mut cut = stage.clone_without_jobs();
        cut.jobs.extend(stage.jobs.get(leg.job).cloned());
        cut
    });
    let cut = Plan {
        version: plan.version,
        dialect: plan.dialect,
        files: plan.files.clone(),
        run_name: plan.run_name.clone(),
        append_commit_message: plan.append_commit_message,
        parameters: plan.parameters.clone(),
        variables: plan.variables.clone(),
        stages: stage.into_iter().collect(),
        resources: plan.resources.clone(),
        // A job does not need to know what its pipeline extends.
        extends: Vec::new(),
        env: plan.env.clone(),
    };
    (cut, LegRef { stage: 0, job: 0, leg: leg.leg })
}

/// A stage without its jobs (they are the bulk of a plan).
trait CloneWithoutJobs {
    fn clone_without_jobs(&self) -> Self;
}

impl CloneWithoutJobs for slipway_plan::Stage {
    fn clone_without_jobs(&self) -> Self {
        Self {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            depends_on: self.depends_on.clone(),
            condition: self.condition.clone(),
            variables: self.variables.clone(),
            jobs: Vec::new(),
            lock_behavior: self.lock_behavior.clone(),
            span: self.span,
        }
    }
}

/// What is stored with a job when it becomes ready: its [`JobWork`] as JSON. A variable whose
/// value is one of `secret_values` (secret outputs of the jobs it depends on) is sent as secret.
///
/// # Errors
/// When it cannot be written as JSON (never, in practice).
pub fn job_spec(
    plan: &Plan,
    leg: LegId,
    variables: &Variables,
    secret_values: &HashSet<String>,
) -> Result<Vec<u8>, String> {
    let (plan, leg) = job_plan(plan, leg);
    let variables = variables
        .iter()
        .map(|variable| JobVariable {
            name: variable.name.clone(),
            value: variable.value.clone(),
            secret: variable.secret || (!variable.value.is_empty() && secret_values.contains(&variable.value)),
            readonly: variable.readonly,
        })
        .collect();
    serde_json::to_vec(&JobWork { plan, leg, variables }).map_err(|error| error.to_string())
}

/// Why a leased job cannot be handed out.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The job cannot be run by anyone: it is failed with this reason.
    #[error("{0}")]
    Unusable(String),
}

/// The artifacts of a run as the protocol lists them.
///
/// # Errors
/// When the store cannot be read.
pub async fn run_artifacts(store: &Store, run: RunId) -> Result<Vec<ArtifactRecord>, StoreError> {
    Ok(store
        .artifacts_of_run(run)
        .await?
        .into_iter()
        .filter_map(|artifact| {
            let manifest: ArtifactManifest = serde_json::from_value(artifact.manifest).ok()?;
            Some(ArtifactRecord { name: artifact.name, digest: artifact.digest, manifest })
        })
        .collect())
}

/// Everything a leased job needs, built from its stored spec, its run and its pipeline.
///
/// # Errors
/// [`MessageError::Unusable`] when the job has no readable spec (the caller fails it).
pub async fn job_message(store: &Store, lease: &Lease, timing: AgentTiming) -> Result<JobMessage, MessageError> {
    let job = &lease.job;
    let spec = store.job_spec(job.id).await?.ok_or_else(|| {
        MessageError::Unusable("the job has no stored spec (it was queued by an older server)".to_owned())
    })?;
    let work: JobWork = serde_json::from_slice(&spec)
        .map_err(|error| MessageError::Unusable(format!("the job's stored spec cannot be read: {error}")))?;
    let run = store.run(job.run).await?;
    let pipeline = store.pipeline(run.pipeline).await?;
    let repository = crate::run_variables::repository(&run, &pipeline);
    Ok(JobMessage {
        protocol_version: PROTOCOL_VERSION,
        lease: LeaseGrant {
            job: job.id.get(),
            lease_id: lease.token.lease_id.clone(),
            duration_ms: millis(timing.lease_duration),
            heartbeat_interval_ms: millis(timing.heartbeat_interval),
        },
        run: RunInfo { id: run.id.get(), number: run.run_number.clone(), pipeline: pipeline.name.clone() },
        job: JobInfo {
            id: job.id.get(),
            key: job.key.clone(),
            stage: job.stage.clone(),
            name: job.job.clone(),
            leg: job.leg.clone(),
            display_name: job.display_name.clone(),
            attempt: job.attempt,
        },
        repository,
        work,
        artifacts: run_artifacts(store, run.id).await?,
        timeouts: JobTimeouts { kill_grace_ms: millis(timing.kill_grace) },
        // The server's lease endpoint names its OSV database for remote agents; in-process
        // agents read the server's copy in place (`local_agents`).
        osv: None,
    })
}

/// A duration in whole milliseconds.
#[must_use]
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The log line an event adds to its job's log, if any. Formatted lines keep their `##[kind]`
/// prefix, as in Azure's raw logs, so that readers of the log (the web UI) can fold groups and
/// show warnings and errors.
#[must_use]
pub fn log_line(event: &Event) -> Option<String> {
    use slipway_events::LogKind;
    match event {
        Event::Log { job: Some(_), kind, text, .. } => Some(kind.line(text)),
        Event::StepStarted { display_name, .. } => Some(LogKind::Section.line(&format!("Starting: {display_name}"))),
        Event::StepFinished { display_name, result, .. } => {
            Some(LogKind::Section.line(&format!("Finishing: {display_name} ({result})")))
        }
        _ => None,
    }
}

fn timestamp(time: u64) -> Timestamp {
    Timestamp(i64::try_from(time).unwrap_or(i64::MAX))
}

/// What a chunk of events means for the store: log lines, steps, test results, coverage.
#[must_use]
pub fn job_chunk(chunk: Chunk) -> JobChunk {
    let lines = chunk.events.iter().filter_map(log_line).collect();
    let mut steps: BTreeMap<u32, Step> = BTreeMap::new();
    let mut test_runs = Vec::new();
    let mut coverage = Vec::new();
    for event in &chunk.events {
        match event {
            Event::StepStarted { time, step, name, display_name, .. } => {
                steps.insert(
                    *step,
                    Step {
                        number: i64::from(*step),
                        name: name.clone(),
                        display_name: display_name.clone(),
                        status: StepStatus::Running,
                        result: None,
                        exit_code: None,
                        attempts: 1,
                        message: None,
                        started_at: Some(timestamp(*time)),
                        finished_at: None,
                    },
                );
            }
            Event::StepFinished {
                time, step, display_name, result, duration_ms, exit_code, attempts, message, ..
            } => {
                let name = steps.get(step).and_then(|started| started.name.clone());
                steps.insert(
                    *step,
                    Step {
                        number: i64::from(*step),
                        name,
                        display_name: display_name.clone(),
                        status: StepStatus::Completed,
                        result: Some(*result),
                        exit_code: exit_code.map(i64::from),
                        attempts: i64::from(*attempts),
                        message: message.clone(),
                        started_at: Some(timestamp(time.saturating_sub(*duration_ms))),
                        finished_at: Some(timestamp(*time)),
                    },
                );
            }
            Event::TestResultsPublished { step, results, .. } => test_runs.push((i64::from(*step), results.clone())),
            Event::CoveragePublished { step, coverage: summary, .. } => {
                coverage.push((i64::from(*step), summary.clone()));
            }
            _ => {}
        }
    }
    // A job's log lines are kept once, as its log: the run's event record keeps the rest.
    let events = chunk.events.into_iter().filter(|event| !matches!(event, Event::Log { job: Some(_), .. })).collect();
    JobChunk { sequence: chunk.sequence, lines, events, steps: steps.into_values().collect(), test_runs, coverage }
}

/// Stores a chunk of a leased job's events; whether it was new (not a retry).
///
/// # Errors
/// As [`Store::append_job_chunk`].
pub async fn store_chunk(store: &Store, lease: &LeaseToken, run: RunId, chunk: Chunk) -> Result<bool, StoreError> {
    let build_number = chunk.events.iter().rev().find_map(|event| match event {
        Event::BuildNumberChanged { build_number, .. } => Some(build_number.clone()),
        _ => None,
    });
    let outcome = store.append_job_chunk(lease, &job_chunk(chunk)).await?;
    let stored = matches!(outcome, ChunkOutcome::Stored { .. });
    if stored && let Some(number) = build_number {
        store.set_run_number(run, &number).await?;
    }
    Ok(stored)
}

/// Completes a leased job with its outputs. A completion sent again (a retry) changes nothing.
///
/// # Errors
/// [`StoreError::LeaseLost`] when the caller does not hold the lease (and did not complete the
/// job the same way before).
pub async fn complete(store: &Store, lease: &LeaseToken, completion: &Completion) -> Result<Job, StoreError> {
    if !completion.outputs.is_empty() {
        let outputs: Vec<VariableValue> = completion
            .outputs
            .iter()
            .map(|output| VariableValue {
                name: output.name.clone(),
                value: output.value.clone(),
                is_secret: output.secret,
            })
            .collect();
        match store.set_job_outputs(lease, &outputs).await {
            // A retried completion: the job completed already; `complete_job` tells whether the
            // same way.
            Ok(()) | Err(StoreError::LeaseLost { .. }) => {}
            Err(error) => return Err(error),
        }
    }
    store.complete_job(lease, completion.result, completion.message.as_deref()).await
}

/// The artifact store of a run on the server: `runs/ID/work/artifacts` in the data directory.
#[must_use]
pub fn run_artifact_dir(data_dir: &Path, run: RunId) -> PathBuf {
    crate::orchestrator::run_directory(data_dir, run).join("work").join("artifacts")
}

/// Installs a manifest sent by a remote agent into the run's artifact store, after checking that
/// every blob it references is there.
///
/// # Errors
/// A sentence saying what is wrong (a missing blob, a bad path).
pub fn install_manifest(data_dir: &Path, run: RunId, manifest: &ArtifactManifest) -> Result<(), String> {
    let store = ArtifactStore::new(run_artifact_dir(data_dir, run));
    for file in &manifest.files {
        if store.existing_blob(&file.digest).is_none() {
            return Err(format!(
                "artifact '{}': the blob {} of {} was not uploaded",
                manifest.name, file.digest, file.path
            ));
        }
    }
    store.install_manifest(manifest).map_err(|error| error.to_string())
}

/// What an agent is doing, as the API shows it: offline and draining as it said or as the server
/// noticed; otherwise busy while it holds a lease, idle when not.
#[must_use]
pub fn shown_state(agent: &Agent, current: Option<&Job>) -> AgentState {
    match agent.state {
        AgentState::Offline | AgentState::Draining => agent.state,
        AgentState::Idle | AgentState::Busy => {
            if current.is_some() {
                AgentState::Busy
            } else {
                AgentState::Idle
            }
        }
    }
}

/// Why a queued job is not running yet, from the registered agents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// No registered agent, in any state, can ever take it: it fails with this reason.
    Never(String),
    /// Agents that can take it exist, but every one is offline: it waits, saying so.
    Offline(String),
    /// Agents that can take it are online but busy or draining: it waits, saying so.
    Busy(String),
    /// An idle agent can take it: it is about to be leased.
    Ready,
}

/// A job's demands as Azure writes them (`name`, `name -equals value`).
fn demand_list(job: &Job) -> String {
    job.demands
        .iter()
        .map(|demand| match &demand.equals {
            Some(value) if value.is_empty() => format!("'{}' (not a valid demand)", demand.name),
            Some(value) => format!("{} -equals {value}", demand.name),
            None => demand.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `job` waits, given every registered agent (offline ones included: they may come back).
pub(crate) fn waiting(job: &Job, agents: &[Agent]) -> Waiting {
    let in_pool: Vec<&Agent> = agents.iter().filter(|agent| agent.pool == job.pool).collect();
    if in_pool.is_empty() {
        return Waiting::Never(format!(
            "No agent found in pool '{}': no agent is registered in it. Register one with `slipway agent \
             --pool {}` (or run the job in another pool), then run the pipeline again.",
            job.pool, job.pool
        ));
    }
    let able: Vec<&Agent> = in_pool
        .iter()
        .copied()
        .filter(|agent| job.demands.iter().all(|demand| demand.is_met_by(&agent.capabilities)))
        .collect();
    if able.is_empty() {
        return Waiting::Never(format!(
            "No agent found in pool '{}' which satisfies the specified demands: {} (none of its {} agent(s) \
             has them). Register an agent with these capabilities (`slipway agent --capability NAME=VALUE`) \
             or change the demands, then run the pipeline again.",
            job.pool,
            demand_list(job),
            in_pool.len()
        ));
    }
    if able.iter().all(|agent| agent.state == AgentState::Offline) {
        let names: Vec<&str> = able.iter().map(|agent| agent.name.as_str()).collect();
        return Waiting::Offline(format!(
            "{WAITING_PREFIX}the agent(s) of pool '{}' that can run this job are offline: {}",
            job.pool,
            names.join(", ")
        ));
    }
    if able.iter().any(|agent| agent.state == AgentState::Idle) {
        return Waiting::Ready;
    }
    Waiting::Busy(format!("{WAITING_PREFIX}every agent of pool '{}' that can run this job is busy", job.pool))
}

/// Fails the queued jobs that no registered agent can ever take (as Azure does, naming the
/// demands, also in the job's log), and shows on the others why they wait while every agent that
/// can take them is offline or busy; clears that once one is idle. Whether any job was failed
/// (the orchestrator must then move its run on).
///
/// # Errors
/// When the store fails.
pub async fn settle_waiting_jobs(store: &Store) -> Result<bool, StoreError> {
    let queued = store.queued_jobs(None).await?;
    if queued.is_empty() {
        return Ok(false);
    }
    let agents = store.list_agents().await?;
    let mut failed = false;
    for job in queued {
        let ours = job.message.as_deref().is_some_and(|message| message.starts_with(WAITING_PREFIX));
        match waiting(&job, &agents) {
            Waiting::Never(reason) => {
                tracing::info!(job = job.id.get(), %reason, "failing a job no agent can run");
                store.append_log_lines(job.id, &[slipway_events::LogKind::Error.line(&reason)]).await?;
                store.finish_job_unleased(job.id, TaskResult::Failed, Some(&reason)).await?;
                failed = true;
            }
            Waiting::Offline(reason) | Waiting::Busy(reason) => {
                if job.message.as_deref() != Some(reason.as_str()) && (ours || job.message.is_none()) {
                    store.set_job_message(job.id, Some(&reason)).await?;
                }
            }
            Waiting::Ready => {
                if ours {
                    store.set_job_message(job.id, None).await?;
                }
            }
        }
    }
    Ok(failed)
}

/// What happens to a job whose lease expired, by its pool's settings.
#[must_use]
pub fn lost_action(job: &Job, settings: &HashMap<String, PoolSettings>) -> AgentLostAction {
    settings.get(&job.pool).map(|settings| settings.on_agent_lost).unwrap_or_default()
}

/// The failure reason of a job whose lease holder was lost.
#[must_use]
pub fn agent_lost_reason(holder: &str) -> String {
    let who = holder_agent_name(holder);
    format!("{AGENT_LOST}: '{who}' stopped renewing the job's lease")
}

/// The result a job gets when it is failed for an agent loss.
pub const AGENT_LOST_RESULT: TaskResult = TaskResult::Failed;

#[cfg(test)]
mod tests {
    use super::*;

    /// A job's log lines are kept once (as its log), not again as the run's events; the run's
    /// own log lines (no job) and every other event stay events.
    #[test]
    fn a_chunk_keeps_each_log_line_once() {
        use slipway_events::{LogKind, Stream};
        let line = |job: Option<&str>, text: &str| Event::Log {
            time: 1,
            job: job.map(str::to_owned),
            step: Some(1),
            stream: Stream::Stdout,
            kind: LogKind::Output,
            text: text.into(),
        };
        let run_line = line(None, "the run says");
        let chunk = Chunk {
            sequence: 0,
            events: vec![line(Some("build"), "one"), line(Some("build"), "two"), run_line.clone()],
        };
        let stored = job_chunk(chunk);
        assert_eq!(stored.lines, ["one", "two"]);
        assert_eq!(stored.events, [run_line]);
    }

    fn job_with_pool(pool: Option<slipway_plan::Pool>) -> slipway_plan::Job {
        let mut job = slipway_plan::Job::new("j", Vec::new());
        job.pool = pool;
        job
    }

    #[test]
    fn pools_and_demands_follow_azure() {
        let settings = HashMap::from([(
            "linux".to_owned(),
            PoolSettings {
                vm_images: BTreeMap::from([("ubuntu-latest".into(), vec!["docker".into()])]),
                ..PoolSettings::default()
            },
        )]);
        let none = placement(&job_with_pool(None), &settings);
        assert_eq!(none, Placement { pool: "default".into(), demands: Vec::new() });
        let named = placement(
            &job_with_pool(Some(slipway_plan::Pool {
                name: Some("Linux".into()),
                image: Some("Ubuntu-Latest".into()),
                demands: vec!["npm".into(), "Agent.OS -equals Linux".into()],
            })),
            &settings,
        );
        assert_eq!(named.pool, "linux");
        let names: Vec<(&str, Option<&str>)> =
            named.demands.iter().map(|demand| (demand.name.as_str(), demand.equals.as_deref())).collect();
        assert_eq!(names, vec![("npm", None), ("Agent.OS", Some("Linux")), ("docker", None)]);
        let hosted = placement(
            &job_with_pool(Some(slipway_plan::Pool {
                name: None,
                image: Some("macOS-14".into()),
                demands: Vec::new(),
            })),
            &settings,
        );
        assert_eq!(hosted.demands, vec![Demand { name: "Agent.OS".into(), equals: Some("Darwin".into()) }]);
    }

    #[test]
    fn local_agents_hold_leases_as_local_slots() {
        let holder = |name: &str| LeaseHolder::of_agent(name).to_string();
        assert_eq!(holder("local-3"), "local:3");
        assert_eq!(holder("build-1"), "agent:build-1");
        assert_eq!(holder("local-x"), "agent:local-x");
        assert_eq!(holder("local-+3"), "agent:local-+3");
        for name in ["local-3", "build-1", "local-x"] {
            let read = LeaseHolder::parse(&holder(name));
            assert_eq!(read.as_ref().map(LeaseHolder::agent_name).as_deref(), Some(name));
        }
        assert_eq!(LeaseHolder::parse("local:2").map(|holder| holder.is_local()), Some(true));
        assert_eq!(LeaseHolder::parse("someone"), None);
        assert_eq!(holder_agent_name("someone"), "someone");
        assert_eq!(agent_lost_reason("agent:b"), "agent lost: 'b' stopped renewing the job's lease");
    }
}
