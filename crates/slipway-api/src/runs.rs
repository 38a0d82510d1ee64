//! Runs, their jobs and their logs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_events::TaskResult;
use utoipa::{IntoParams, ToSchema};

/// What started a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TriggerKind {
    /// A person, through the UI, API or CLI.
    #[default]
    #[serde(rename = "manual")]
    Manual,
    /// A push to a branch or tag (`trigger:`).
    #[serde(rename = "push")]
    Push,
    /// A pull request (`pr:`).
    #[serde(rename = "pr")]
    PullRequest,
    /// A schedule (`schedules:`).
    #[serde(rename = "schedule")]
    Schedule,
    /// Another pipeline's run completed (`resources.pipelines`).
    #[serde(rename = "pipeline-completion")]
    PipelineCompletion,
}

/// Where a run is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Created; no job has started.
    #[default]
    Queued,
    /// At least one job started.
    Running,
    /// Finished, with a result.
    Completed,
}

/// Where a job is in its life: `pending` → `queued` → `running` (leased) → `completed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for the jobs it depends on.
    #[default]
    Pending,
    /// Ready, in the queue, waiting for an agent.
    Queued,
    /// Leased by an agent that runs it.
    Running,
    /// Finished, with a result (also when skipped or cancelled before it ran).
    Completed,
}

/// A run of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Run {
    /// Its id (`Build.BuildId`).
    pub id: i64,
    /// Its pipeline's id.
    pub pipeline: i64,
    /// Its number (`Build.BuildNumber`), from the pipeline's `name:`.
    pub run_number: String,
    /// What started it.
    pub trigger: TriggerKind,
    /// What the trigger recorded: the reason, the commit's message and author, the trigger's
    /// predefined variables (`variables`).
    #[schema(value_type = Object)]
    pub trigger_details: serde_json::Value,
    /// The ref it runs (`refs/heads/main`).
    pub branch: Option<String>,
    /// The commit it runs.
    pub commit: Option<String>,
    /// Its runtime parameters.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// Its queue-time variables.
    #[schema(value_type = Object)]
    pub variables: serde_json::Value,
    /// Where it is.
    pub status: RunStatus,
    /// How it ended, once completed: `Succeeded`, `SucceededWithIssues`, `Failed`, `Canceled`,
    /// `Skipped`.
    #[schema(value_type = Option<String>)]
    pub result: Option<TaskResult>,
    /// Who asked for it.
    pub requested_by: Option<String>,
    /// When it was created.
    pub created_at: i64,
    /// When its first job started.
    pub started_at: Option<i64>,
    /// When it completed.
    pub finished_at: Option<i64>,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// Whether retention keeps it whatever its settings say.
    pub keep: bool,
    /// The run this one runs again.
    pub retry_of: Option<i64>,
    /// The run whose completion triggered it.
    pub upstream_run: Option<i64>,
}

impl Run {
    /// How long it ran (until `now_ms` while it runs); `None` before it started.
    #[must_use]
    pub fn duration_ms(&self, now_ms: i64) -> Option<i64> {
        let started = self.started_at?;
        Some(self.finished_at.unwrap_or(now_ms).saturating_sub(started).max(0))
    }
}

/// A demand a job makes of the agent that runs it (`pool.demands`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Demand {
    /// The capability's name.
    pub name: String,
    /// The value it must have (`-equals`); any value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// A job of a run (a leg of a matrix or parallel job is a job of its own).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Its run's id.
    pub run: i64,
    /// `stage.job`, or `stage.job.leg`.
    pub key: String,
    /// Its stage's name.
    pub stage: String,
    /// Its job's name.
    pub job: String,
    /// Its leg's name, for matrix and parallel legs.
    pub leg: Option<String>,
    /// What people see.
    pub display_name: String,
    /// The agent pool it runs in.
    pub pool: String,
    /// What it demands of the agent.
    pub demands: Vec<Demand>,
    /// Where it is.
    pub status: JobStatus,
    /// How it ended, once completed.
    #[schema(value_type = Option<String>)]
    pub result: Option<TaskResult>,
    /// Why, when not obvious (also why a queued job waits).
    pub message: Option<String>,
    /// How many times it was leased.
    pub attempt: i64,
    /// Who holds its lease: `agent:NAME` or `local:N`.
    pub lease_holder: Option<String>,
    /// When the lease runs out unless renewed.
    pub lease_expires_at: Option<i64>,
    /// When it was created.
    pub created_at: i64,
    /// When it was queued.
    pub queued_at: Option<i64>,
    /// When it started.
    pub started_at: Option<i64>,
    /// When it finished.
    pub finished_at: Option<i64>,
    /// Its earlier attempts, when its run's failed jobs were run again (oldest first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_attempts: Vec<JobAttempt>,
}

/// An earlier attempt of a job run again in place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct JobAttempt {
    /// Which attempt it was.
    pub attempt: i64,
    /// How it ended.
    #[schema(value_type = Option<String>)]
    pub result: Option<TaskResult>,
    /// Why, when it said.
    pub message: Option<String>,
    /// Who ran it.
    pub lease_holder: Option<String>,
    /// When it started.
    pub started_at: Option<i64>,
    /// When it finished.
    pub finished_at: Option<i64>,
    /// How many lines its log has.
    pub log_lines: i64,
}

/// `GET /runs/{id}`: a run and its jobs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its jobs, in the order they were created.
    pub jobs: Vec<Job>,
}

/// `GET /runs`: a page of runs, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RunPage {
    /// The runs.
    pub runs: Vec<Run>,
    /// Ask with `before` set to this for the next page; `null` on the last.
    pub next_before: Option<i64>,
}

/// The query of `GET /runs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only the runs of the pipeline of this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// Only runs with this status: `queued`, `running` or `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Only runs of this branch (`main` or `refs/heads/main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Only runs that ended so: `Succeeded`, `SucceededWithIssues`, `Failed`, `Canceled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Only runs started so: `manual`, `push`, `pr`, `schedule`, `pipeline-completion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Only runs with a smaller id (the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    /// How many runs at most (1 to 200; 50 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The body of `POST /pipelines/{name}/runs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRun {
    /// The branch to run; the pipeline's default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Runtime parameter values by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Queue-time values of the pipeline's own variables that are not secret; YAML variables of
    /// the same name still win.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// The body of `POST /runs/{id}/rerun`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rerun {
    /// Run only the failed and cancelled jobs again, in place, instead of a new run.
    #[serde(default)]
    pub failed_only: bool,
}

/// The body of `POST /runs/{id}/keep`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepRun {
    /// Whether retention must keep the run.
    pub keep: bool,
}

/// The query of `GET /runs/{id}/logs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Follow the log live (server-sent events) until the run completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow: Option<bool>,
}

/// One job's whole log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct JobLog {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// Its log (of its current attempt), a line each, with `##[section]` and `##[error]` markers
    /// as Azure's logs have them.
    pub log: String,
    /// The logs of its earlier attempts, oldest first, when it was run again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_logs: Vec<AttemptLog>,
}

/// The log of an earlier attempt of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AttemptLog {
    /// Which attempt.
    pub attempt: i64,
    /// Its log.
    pub log: String,
}

/// `GET /runs/{id}/logs`: every job's whole log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RunLogs {
    /// The run's id.
    pub run: i64,
    /// Where the run is.
    pub status: RunStatus,
    /// How it ended, once completed.
    #[schema(value_type = Option<String>)]
    pub result: Option<TaskResult>,
    /// Each job with its log.
    pub jobs: Vec<JobLog>,
}

/// The server-sent events of `GET /runs/{id}/logs?follow=true`: each event's name, and the JSON of
/// its `data`.
pub mod follow {
    use serde::{Deserialize, Serialize};
    use slipway_events::TaskResult;
    use utoipa::ToSchema;

    /// The name of a [`LogLine`] event.
    pub const LOG: &str = "log";
    /// The name of a [`LogEnd`] event.
    pub const END: &str = "end";
    /// The name of a [`LogShutdown`] event.
    pub const SHUTDOWN: &str = "shutdown";
    /// The name of a [`LogWaiting`] event.
    pub const WAITING: &str = "waiting";

    /// A new line of a job's log.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct LogLine {
        /// The job's key (`stage.job` or `stage.job.leg`).
        pub job: String,
        /// The line's number in its job's log, from 0.
        pub line: i64,
        /// The line (already masked).
        pub text: String,
    }

    /// The run completed and every line was sent (or it was deleted): the stream ends.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct LogEnd {
        /// `completed`, or `deleted` for a run deleted while followed.
        pub status: String,
        /// The run's result.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        pub result: Option<TaskResult>,
    }

    /// Why a queued job waits (an agent that can run it is offline or busy), sent when it changes;
    /// an empty `reason` when it no longer waits for that.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct LogWaiting {
        /// The job's key (`stage.job` or `stage.job.leg`).
        pub job: String,
        /// Why it waits.
        pub reason: String,
    }

    /// The server is stopping and closed the stream; the run goes on.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    pub struct LogShutdown {
        /// Why the stream closed.
        pub reason: String,
    }
}
