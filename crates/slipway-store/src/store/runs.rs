//! [`Store`]'s runs: creating them (for a trigger, under its guard), reading and listing them,
//! their plan, number and keep flag, and their life: starting, finishing, cancelling, deleting and
//! re-running their jobs.

use slipway_events::TaskResult;
use slipway_plan::Plan;

use super::Store;
use crate::error::{Result, StoreError};
use crate::model::{JobId, NewRun, PipelineId, RetentionReport, Run, RunFilter, RunId, TriggerGuard};

impl Store {
    /// Creates a run (status `queued`) with a new, never reused id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline or `retry_of`/`upstream_run` run.
    pub async fn create_run(&self, run: &NewRun) -> Result<Run> {
        let created: Option<Run> = dispatch!(self, runs::create_run(run, None))?;
        created.ok_or_else(|| StoreError::corrupt("a run without a trigger guard was not created"))
    }

    /// Creates a run for a trigger only if the guard holds, in the same transaction that records
    /// the trigger: `None` when the trigger was already handled (the branch head moved on, the
    /// schedule already fired for that time).
    ///
    /// # Errors
    /// As [`Store::create_run`].
    pub async fn create_triggered_run(&self, run: &NewRun, guard: &TriggerGuard) -> Result<Option<Run>> {
        dispatch!(self, runs::create_run(run, Some(guard)))
    }

    /// A run by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn run(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::run(run))
    }

    /// A run's plan, when it has one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::Corrupt`] when the stored plan
    /// cannot be read.
    pub async fn run_plan(&self, run: RunId) -> Result<Option<Plan>> {
        dispatch!(self, runs::run_plan(run))
    }

    /// Stores a run's plan (replacing any).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_plan(&self, run: RunId, plan: &Plan) -> Result<()> {
        dispatch!(self, runs::set_run_plan(run, plan))
    }

    /// Changes a run's number (`build.updatebuildnumber`, or a format using `$(Build.BuildId)`).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_number(&self, run: RunId, run_number: &str) -> Result<()> {
        dispatch!(self, runs::set_run_number(run, run_number))
    }

    /// Sets whether retention must keep a run.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn set_run_keep(&self, run: RunId, keep: bool) -> Result<()> {
        dispatch!(self, runs::set_run_keep(run, keep))
    }

    /// Runs matching a filter, newest first; page with [`RunFilter::before`].
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        dispatch!(self, runs::list_runs(filter))
    }

    /// The newest run of each pipeline that has one.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn latest_runs(&self) -> Result<Vec<Run>> {
        dispatch!(self, runs::latest_runs())
    }

    /// The newest run of a pipeline that succeeded (or succeeded with issues), on a branch if given.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn latest_successful_run(&self, pipeline: PipelineId, branch: Option<&str>) -> Result<Option<Run>> {
        dispatch!(self, runs::latest_successful_run(pipeline, branch))
    }

    /// Marks a run as running (its first job started); does nothing to a running run.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a completed run.
    pub async fn start_run(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::start_run(run))
    }

    /// Completes a run with its result.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] when it already completed.
    pub async fn finish_run(&self, run: RunId, result: TaskResult) -> Result<Run> {
        dispatch!(self, runs::finish_run(run, result))
    }

    /// Asks a run to cancel: sets its flag (which lease holders see on their next heartbeat) and
    /// completes its pending and queued jobs as `Canceled`, in one transaction. Does nothing to a
    /// completed run.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn request_cancel(&self, run: RunId) -> Result<Run> {
        dispatch!(self, runs::request_cancel(run))
    }

    /// Deletes a run and everything it holds, whatever retention says.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run; [`StoreError::InvalidState`] for a run that has
    /// not completed.
    pub async fn delete_run(&self, run: RunId) -> Result<RetentionReport> {
        dispatch!(self, runs::delete_run(run))
    }

    /// Puts a completed run back in the queue to run these of its jobs again, as Azure's "re-run
    /// failed jobs" does, in one transaction: each job becomes `pending` with its result, message,
    /// lease, steps and output variables cleared, keeping its log (the new attempt's lines follow
    /// the earlier ones) and its attempt count (its next lease is the next attempt); the run
    /// becomes `queued` with no result and no cancel request. The run's other jobs keep their
    /// results and output variables, for the orchestrator to feed to the scheduler again. With
    /// no jobs named, the run is only put back in the queue (its jobs that never started, such as
    /// those of a run cancelled early, are started then).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run or a job of another run;
    /// [`StoreError::InvalidState`] when the run or a job has not completed.
    pub async fn rerun_jobs(&self, run: RunId, jobs: &[JobId]) -> Result<Run> {
        dispatch!(self, runs::rerun_jobs(run, jobs))
    }
}
