//! [`Store`]'s pipelines and their trigger state: creating, changing, reading and deleting
//! pipelines, the last commit seen on each branch, when each schedule last fired, webhook secrets,
//! revision numbers and the `counter()` values of runs.

use std::collections::BTreeMap;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
#[cfg(doc)]
use crate::model::TriggerGuard;
use crate::model::{
    BranchHead, Pipeline, PipelineId, PipelineSettings, RetentionReport, RunId, ScheduleFire, Timestamp,
};

impl Store {
    /// Creates a pipeline.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::Invalid`] for an empty name.
    pub async fn create_pipeline(&self, settings: &PipelineSettings) -> Result<Pipeline> {
        dispatch!(self, pipelines::create_pipeline(settings))
    }

    /// Changes a pipeline's settings (its name too).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or [`StoreError::Conflict`] when the new name is taken.
    pub async fn update_pipeline(&self, pipeline: PipelineId, settings: &PipelineSettings) -> Result<Pipeline> {
        dispatch!(self, pipelines::update_pipeline(pipeline, settings))
    }

    /// Records what a pipeline's triggers found when they read its repository now: `None` when
    /// all went well, else what went wrong.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_trigger_check(&self, pipeline: PipelineId, error: Option<&str>) -> Result<()> {
        dispatch!(self, pipelines::record_trigger_check(pipeline, error))
    }

    /// A pipeline by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn pipeline(&self, pipeline: PipelineId) -> Result<Pipeline> {
        dispatch!(self, pipelines::pipeline(pipeline))
    }

    /// A pipeline by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn pipeline_by_name(&self, name: &str) -> Result<Option<Pipeline>> {
        dispatch!(self, pipelines::pipeline_by_name(name))
    }

    /// Every pipeline, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_pipelines(&self) -> Result<Vec<Pipeline>> {
        dispatch!(self, pipelines::list_pipelines())
    }

    /// Deletes a pipeline with all its runs and everything they hold.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn delete_pipeline(&self, pipeline: PipelineId) -> Result<RetentionReport> {
        dispatch!(self, pipelines::delete_pipeline(pipeline))
    }

    // ----- trigger state -----

    /// The last commit seen on each branch of a pipeline.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn branch_heads(&self, pipeline: PipelineId) -> Result<Vec<BranchHead>> {
        dispatch!(self, pipelines::branch_heads(pipeline))
    }

    /// Records the last commit seen on a branch without creating a run (such as when a pipeline
    /// is created, so that only later pushes trigger it). To trigger, use
    /// [`Store::create_triggered_run`] with [`TriggerGuard::BranchHead`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn set_branch_head(&self, pipeline: PipelineId, branch: &str, commit: &str) -> Result<()> {
        dispatch!(self, pipelines::set_branch_head(pipeline, branch, commit))
    }

    /// When each schedule of a pipeline last fired.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn schedule_fires(&self, pipeline: PipelineId) -> Result<Vec<ScheduleFire>> {
        dispatch!(self, pipelines::schedule_fires(pipeline))
    }

    /// Records that a schedule fired for `fire_time` without creating a run (the schedule decided
    /// not to run: nothing changed, or a scheduled run is in progress), so that the same fire time
    /// is not decided again. Whether it was recorded: `false` when it already fired for that time
    /// or a later one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn record_schedule_fire(
        &self,
        pipeline: PipelineId,
        schedule: &str,
        fire_time: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, pipelines::record_schedule_fire(pipeline, schedule, fire_time))
    }

    /// Sets (or with `None` removes) the secret that webhook deliveries for a pipeline must prove;
    /// it is stored encrypted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline; [`StoreError::Invalid`] for an empty secret.
    pub async fn set_webhook_secret(&self, pipeline: PipelineId, secret: Option<&str>) -> Result<()> {
        dispatch!(self, pipelines::set_webhook_secret(pipeline, secret))
    }

    /// A pipeline's webhook secret, decrypted, if one is set.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when the stored secret is damaged.
    pub async fn webhook_secret(&self, pipeline: PipelineId) -> Result<Option<String>> {
        dispatch!(self, pipelines::webhook_secret(pipeline))
    }

    // ----- revisions and counter() values -----

    /// The next `$(Rev:r)` for a run-number prefix (the run number with `$(Rev:r)` left out):
    /// 1 the first time, then 2, 3, ... Atomic: concurrent callers get different numbers.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown pipeline.
    pub async fn next_revision(&self, pipeline: PipelineId, prefix: &str) -> Result<i64> {
        dispatch!(self, pipelines::next_counter_value(pipeline, "revision", prefix, 1))
    }

    /// The `counter(prefix, seed)` values a run was given.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn run_counters(&self, run: RunId) -> Result<BTreeMap<String, i64>> {
        dispatch!(self, pipelines::run_counters(run))
    }

    /// Gives a run the next value of each of Azure's `counter(prefix, seed)` in `requests`, once:
    /// `seed` for a prefix its pipeline never used, one more than the pipeline's last value
    /// otherwise; a prefix the run was given a value for keeps it. Atomic; gives all the run's
    /// counter values.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown run.
    pub async fn allocate_run_counters(&self, run: RunId, requests: &[(String, i64)]) -> Result<BTreeMap<String, i64>> {
        dispatch!(self, pipelines::allocate_run_counters(run, requests))
    }
}
