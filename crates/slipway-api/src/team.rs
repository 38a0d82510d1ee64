//! The team dashboard: pipeline health, flaky tests, queue times, agent use (wire types).
//!
//! `GET /api/v1/team` answers a [`TeamDashboard`] over the last `days` days: per pipeline its
//! runs, pass rate and durations with a daily series; the flaky tests (a test that failed and
//! passed on the same commit); how long jobs waited for an agent, per pool; how busy each agent
//! and pool was; and DORA's five metrics of every environment as
//! `GET /api/v1/environments/{name}/dora` gives them. Days are UTC dates written `YYYY-MM-DD`;
//! durations are milliseconds; rates and shares are ratios from 0 to 1.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DoraMetrics;

/// What the team dashboard covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TeamQuery {
    /// The last this many days up to now (1 to 90; 30 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Only this pipeline's runs (pipeline health, flaky tests and queue times; agents and DORA
    /// are the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
}

/// The team dashboard's figures over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamDashboard {
    /// The window's length in days.
    pub days: u32,
    /// The window's start.
    pub start: i64,
    /// Its end (excluded).
    pub end: i64,
    /// The pipeline asked for, if any.
    pub pipeline: Option<String>,
    /// Each pipeline with runs that finished in the window, by name.
    pub pipelines: Vec<TeamPipeline>,
    /// Flaky tests of runs created in the window, the most failures first (at most 100).
    pub flaky_tests: Vec<TeamFlakyTest>,
    /// Queue times of jobs queued in the window, per pool.
    pub queues: Vec<TeamQueue>,
    /// Each agent: registered ones, and any other that ran jobs in the window.
    pub agents: Vec<TeamAgent>,
    /// Each pool that ran jobs in the window or has agents.
    pub pools: Vec<TeamPool>,
    /// DORA's five metrics of every environment over the window.
    pub dora: Vec<DoraMetrics>,
}

/// A pipeline's health: runs that finished in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamPipeline {
    /// The pipeline.
    pub pipeline: String,
    /// Runs finished.
    pub runs: i64,
    /// Of which succeeded (with or without issues).
    pub succeeded: i64,
    /// Failed.
    pub failed: i64,
    /// Canceled.
    pub canceled: i64,
    /// Succeeded over succeeded and failed (canceled runs left out); none without either.
    pub pass_rate: Option<f64>,
    /// The median duration of runs that ran jobs and were not canceled, from their first job's
    /// start to their end.
    pub median_duration_ms: Option<i64>,
    /// The 90th percentile (nearest rank) of those durations.
    pub p90_duration_ms: Option<i64>,
    /// Every day of the window, the oldest first.
    pub daily: Vec<TeamPipelineDay>,
}

/// A pipeline's runs that finished on one day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamPipelineDay {
    /// The day (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// Runs finished.
    pub runs: i64,
    /// Of which succeeded.
    pub succeeded: i64,
    /// Failed.
    pub failed: i64,
    /// The day's pass rate; none without a succeeded or failed run.
    pub pass_rate: Option<f64>,
    /// The day's median duration.
    pub median_duration_ms: Option<i64>,
}

/// A test that failed and passed on the same commit of a pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamFlakyTest {
    /// The pipeline.
    pub pipeline: String,
    /// The commit.
    pub commit: String,
    /// The job that published the results (`Stage.Job`).
    pub job: String,
    /// The test's class, fixture or suite.
    pub suite: Option<String>,
    /// The test's name.
    pub name: String,
    /// The runs where it failed (the same run as a passing one when its failed job was run
    /// again).
    pub failed_runs: Vec<i64>,
    /// The runs where it passed.
    pub passed_runs: Vec<i64>,
    /// How many times it failed on the commit.
    pub count: i64,
    /// How many times it passed.
    pub passes: i64,
    /// When the newest of those runs was created.
    pub last_seen: i64,
}

/// How long jobs of a pool waited for an agent, from queued to started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamQueue {
    /// The pool.
    pub pool: String,
    /// Jobs queued in the window that started.
    pub jobs: i64,
    /// The median wait.
    pub median_ms: Option<i64>,
    /// The 90th percentile (nearest rank).
    pub p90_ms: Option<i64>,
    /// Every day of the window, the oldest first.
    pub daily: Vec<TeamQueueDay>,
}

/// A pool's jobs queued on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamQueueDay {
    /// The day (UTC), `YYYY-MM-DD`.
    pub date: String,
    /// Jobs that started.
    pub jobs: i64,
    /// The median wait.
    pub median_ms: Option<i64>,
}

/// What an agent ran in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamAgent {
    /// The agent's name (`local-N` for the server's in-process agents).
    pub agent: String,
    /// Its pool when it is registered; none for one deleted since.
    pub pool: Option<String>,
    /// Job attempts it started in the window.
    pub jobs: i64,
    /// Milliseconds of the window it was running jobs.
    pub busy_ms: i64,
    /// The share of the window it was busy.
    pub busy_share: f64,
}

/// What a pool's agents ran in the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct TeamPool {
    /// The pool.
    pub pool: String,
    /// Its agents: those registered in it, and any other that ran its jobs in the window.
    pub agents: i64,
    /// Job attempts started in the window.
    pub jobs: i64,
    /// Milliseconds of agents' time spent running its jobs.
    pub busy_ms: i64,
    /// That time over its agents' time in the window (none without agents).
    pub busy_share: Option<f64>,
}
