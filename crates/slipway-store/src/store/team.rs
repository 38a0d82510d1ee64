//! [`Store`]'s queries for the team dashboard: aggregates over a window of time
//! ([`TeamWindow`]) that read a few rows per pipeline, pool, agent or day, whatever the number of
//! runs and jobs in it.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{AgentBusy, FlakyTest, QueueTime, RunHealth, TeamWindow};

impl Store {
    /// Runs that finished in the window, by pipeline (and by day, UTC, with `by_day`): how many,
    /// how many succeeded (with or without issues), failed (any other result) and were
    /// canceled, and the median and 90th percentile (nearest rank) of the durations of those
    /// that ran jobs and were not canceled, from their first job's start to their end.
    /// Pipelines (and days) without a finished run are left out.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn team_run_health(&self, window: &TeamWindow, by_day: bool) -> Result<Vec<RunHealth>> {
        dispatch!(self, team::team_run_health(window, by_day))
    }

    /// Jobs queued in the window that an agent took, by pool (and by day queued, UTC, with
    /// `by_day`): how many, and the median and 90th percentile (nearest rank) of their waits
    /// from queued to started. A job put back in the queue when its agent was lost counts from
    /// its first queueing to its last start.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn team_queue_times(&self, window: &TeamWindow, by_day: bool) -> Result<Vec<QueueTime>> {
        dispatch!(self, team::team_queue_times(window, by_day))
    }

    /// What each lease holder ran in the window, by pool of the jobs: attempts started in it
    /// and the time it spent running attempts, clipped to the window (every attempt, those of
    /// failed jobs run again included). The window's pipeline is not applied: agents serve every
    /// pipeline.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn team_agent_use(&self, window: &TeamWindow) -> Result<Vec<AgentBusy>> {
        dispatch!(self, team::team_agent_use(window))
    }

    /// Flaky tests of runs created in the window: tests (by pipeline, commit, job, suite and
    /// name) that failed and passed on the same commit, in two runs or in two attempts of a job
    /// run again; the most failures first, then the newest, at most `limit`.
    ///
    /// # Errors
    /// When the database cannot be read, or [`StoreError::Corrupt`] when stored test results are
    /// not what Slipway writes.
    pub async fn team_flaky_tests(&self, window: &TeamWindow, limit: usize) -> Result<Vec<FlakyTest>> {
        dispatch!(self, team::team_flaky_tests(window, limit))
    }
}
