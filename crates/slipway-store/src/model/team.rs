//! The team dashboard's figures as the store reads them: pipeline health, queue times, agent use
//! and flaky tests over a window of time, each aggregated by the database where it can be
//! (counts, medians and 90th percentiles of durations), so that a read returns a few rows per
//! pipeline, pool, agent or day whatever the number of runs.

use super::{RunId, Timestamp};

/// The window the team dashboard's queries cover: from `start` (included) to `end` (excluded),
/// optionally one pipeline's runs only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamWindow {
    /// The window's start.
    pub start: Timestamp,
    /// Its end (excluded).
    pub end: Timestamp,
    /// Only this pipeline's runs (pipeline health, flaky tests, queue times).
    pub pipeline: Option<String>,
}

/// Runs that finished in a window (of a pipeline, or of one of its days): how they ended and how
/// long they ran (from their first job's start to their end).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunHealth {
    /// The pipeline's name.
    pub pipeline: String,
    /// The day (days since the Unix epoch, UTC) for a day's figures; `None` for the window's.
    pub day: Option<i64>,
    /// Runs finished.
    pub runs: i64,
    /// Of which succeeded (with or without issues).
    pub succeeded: i64,
    /// Failed.
    pub failed: i64,
    /// Canceled.
    pub canceled: i64,
    /// The median duration of those that ran jobs and were not canceled, in milliseconds (the
    /// mean of the two middle ones for an even number, rounded down).
    pub median_ms: Option<i64>,
    /// The 90th percentile (nearest rank), in milliseconds.
    pub p90_ms: Option<i64>,
}

/// Jobs of a pool queued in a window (or one of its days) that an agent took: how long they
/// waited, from queued to started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueTime {
    /// The pool.
    pub pool: String,
    /// The day (days since the Unix epoch, UTC) for a day's figures; `None` for the window's.
    pub day: Option<i64>,
    /// Jobs that started.
    pub jobs: i64,
    /// The median wait, in milliseconds.
    pub median_ms: Option<i64>,
    /// The 90th percentile (nearest rank), in milliseconds.
    pub p90_ms: Option<i64>,
}

/// What one lease holder (an agent) ran of one pool's jobs in a window: every attempt, the
/// current ones and those run again since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentBusy {
    /// The lease holder as the store keeps it (`agent:NAME`, `local:N`).
    pub holder: String,
    /// The pool of the jobs.
    pub pool: String,
    /// Attempts that started in the window.
    pub jobs: i64,
    /// Milliseconds of the window it was running them (a job still running counts up to the
    /// window's end; one that began before the window from its start).
    pub busy_ms: i64,
}

/// A flaky test: one that failed and passed on the same commit of a pipeline (in another run,
/// or when failed jobs were run again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlakyTest {
    /// The pipeline's name.
    pub pipeline: String,
    /// The commit.
    pub commit: String,
    /// The job (its key) that published the results.
    pub job: String,
    /// The test's class, fixture or suite.
    pub suite: Option<String>,
    /// The test's name.
    pub name: String,
    /// The runs where it failed, oldest first (a run appears once).
    pub failed_runs: Vec<RunId>,
    /// The runs where it passed, oldest first.
    pub passed_runs: Vec<RunId>,
    /// How many times it failed on the commit.
    pub failures: i64,
    /// How many times it passed.
    pub passes: i64,
    /// When the newest of those runs was created.
    pub last_seen: Timestamp,
}
