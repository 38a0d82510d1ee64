//! [`Store`]'s environments: the environments, the checks on them, deployments to them, and what
//! runs' stages wait for (checkpoints, their checks, approvers' decisions, exclusive locks).

use slipway_events::TaskResult;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{
    AnalysisRunId, Approval, ApprovalDecision, Check, CheckId, CheckRunId, CheckRunState, Checkpoint, CheckpointId,
    CheckpointState, Deployment, DeploymentFacts, DeploymentId, Environment, EnvironmentId, JobId, NewCheck,
    NewCheckRun, NewDeployment, ProtectedResource, RunId, Timestamp,
};

impl Store {
    // ----- environments -----

    /// The environment of that name (compared without regard to case), created if there is none
    /// (a deployment job's first use, as in Azure).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a name that cannot be an environment's.
    pub async fn ensure_environment(&self, name: &str) -> Result<Environment> {
        dispatch!(self, environments::ensure_environment(name))
    }

    /// Creates an environment.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when one of that name exists; [`StoreError::Invalid`] for a bad name.
    pub async fn create_environment(
        &self,
        name: &str,
        description: &str,
        created_by: Option<&str>,
    ) -> Result<Environment> {
        dispatch!(self, environments::create_environment(name, description, created_by))
    }

    /// The environment of that name (compared without regard to case).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn environment(&self, name: &str) -> Result<Environment> {
        dispatch!(self, environments::environment(name))
    }

    /// The environment with that id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn environment_by_id(&self, id: EnvironmentId) -> Result<Environment> {
        dispatch!(self, environments::environment_by_id(id))
    }

    /// Every environment, by name.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_environments(&self) -> Result<Vec<Environment>> {
        dispatch!(self, environments::list_environments())
    }

    /// Renames an environment or changes its description.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] when the new name is taken.
    pub async fn update_environment(
        &self,
        id: EnvironmentId,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Environment> {
        dispatch!(self, environments::update_environment(id, name, description))
    }

    /// Deletes an environment with its checks and deployment history.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        dispatch!(self, environments::delete_environment(id))
    }

    // ----- checks -----

    /// Adds a check to a protected resource (the caller made sure it exists).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn add_check(&self, resource: &ProtectedResource, check: &NewCheck) -> Result<Check> {
        dispatch!(self, environments::add_check(resource, check))
    }

    /// The checks on a protected resource, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_checks(&self, resource: &ProtectedResource) -> Result<Vec<Check>> {
        dispatch!(self, environments::list_checks(resource))
    }

    /// Removes a check from a resource (stages already waiting keep their copy).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the resource has no such check.
    pub async fn delete_check(&self, resource: &ProtectedResource, check: CheckId) -> Result<()> {
        dispatch!(self, environments::delete_check(resource, check))
    }

    // ----- deployments -----

    /// Records a deployment when its job is queued (nothing when the job has one that has not
    /// ended; the commit, branch and pipeline are the run's).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_deployment(&self, deployment: &NewDeployment) -> Result<()> {
        dispatch!(self, environments::record_deployment(deployment))
    }

    /// Records how the job's deployment that has not ended yet ended.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn finish_deployment(&self, job: JobId, result: TaskResult) -> Result<()> {
        dispatch!(self, environments::finish_deployment(job, result))
    }

    /// A deployment.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn deployment(&self, id: DeploymentId) -> Result<Deployment> {
        dispatch!(self, environments::deployment(id))
    }

    /// The latest deployment of a job, if it is a deployment job.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn job_deployment(&self, job: JobId) -> Result<Option<Deployment>> {
        dispatch!(self, environments::job_deployment(job))
    }

    /// Records how the job's (latest) deployment ended as a release: `promoted` or `rolledBack`,
    /// why, and the analysis run that decided it.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn set_deployment_outcome(
        &self,
        job: JobId,
        outcome: &str,
        detail: Option<&str>,
        analysis: Option<AnalysisRunId>,
    ) -> Result<()> {
        dispatch!(self, environments::set_deployment_outcome(job, outcome, detail, analysis))
    }

    /// What DORA's metrics read of an environment's deployments queued at `queued_since` or
    /// later, newest first: one narrow query, without the run's and pipeline's names or the
    /// artifacts.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn deployment_facts(
        &self,
        environment: EnvironmentId,
        queued_since: Timestamp,
    ) -> Result<Vec<DeploymentFacts>> {
        dispatch!(self, environments::deployment_facts(environment, queued_since))
    }

    /// An environment's deployments, newest first, before `before`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_deployments(
        &self,
        environment: EnvironmentId,
        before: Option<DeploymentId>,
        limit: i64,
    ) -> Result<Vec<Deployment>> {
        dispatch!(self, environments::list_deployments(environment, before, limit))
    }

    /// An environment's successful deployments, the last finished first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn successful_deployments(&self, environment: EnvironmentId, limit: i64) -> Result<Vec<Deployment>> {
        dispatch!(self, environments::successful_deployments(environment, limit))
    }

    // ----- checkpoints -----

    /// The checkpoint of a run's stage, made with `checks` if it has none yet (the one it has is
    /// returned as it is: made once, whatever the checks are now).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn open_checkpoint(&self, run: RunId, stage: &str, checks: &[NewCheckRun]) -> Result<Checkpoint> {
        dispatch!(self, environments::open_checkpoint(run, stage, checks))
    }

    /// The current checkpoint of a run's stage, if it has one.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn checkpoint(&self, run: RunId, stage: &str) -> Result<Option<Checkpoint>> {
        dispatch!(self, environments::checkpoint(run, stage))
    }

    /// Every checkpoint of a run (superseded ones too), oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn checkpoints_of_run(&self, run: RunId) -> Result<Vec<Checkpoint>> {
        dispatch!(self, environments::checkpoints_of_run(run))
    }

    /// Records what evaluating a pending check found; whether it was still pending.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn update_check_run(
        &self,
        check: CheckRunId,
        state: CheckRunState,
        message: Option<&str>,
        next_at: Option<Timestamp>,
    ) -> Result<bool> {
        dispatch!(self, environments::update_check_run(check, state, message, next_at))
    }

    /// Decides a waiting checkpoint (its undecided checks are cancelled); whether it was waiting.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn finish_checkpoint(
        &self,
        checkpoint: CheckpointId,
        state: CheckpointState,
        message: Option<&str>,
    ) -> Result<bool> {
        dispatch!(self, environments::finish_checkpoint(checkpoint, state, message))
    }

    /// Cancels the run's waiting checkpoints (the run ended, or was cancelled).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn cancel_waiting_checkpoints(&self, run: RunId, message: &str) -> Result<()> {
        dispatch!(self, environments::cancel_waiting_checkpoints(run, message))
    }

    // ----- approvals -----

    /// Approvals, newest first, in `state` if given.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_approvals(&self, state: Option<CheckRunState>, limit: i64) -> Result<Vec<Approval>> {
        dispatch!(self, environments::list_approvals(state, limit))
    }

    /// One approval.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn approval(&self, id: CheckRunId) -> Result<Approval> {
        dispatch!(self, environments::approval(id))
    }

    /// Records an approver's decision on a pending approval (one per approver).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::InvalidState`] when it is decided already;
    /// [`StoreError::Conflict`] when this approver decided before.
    pub async fn decide_approval(&self, id: CheckRunId, decision: &ApprovalDecision) -> Result<()> {
        dispatch!(self, environments::decide_approval(id, decision))
    }

    // ----- exclusive locks -----

    /// The waiting checkpoints that ask for a resource's exclusive lock, oldest first.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn pending_lock_requests(
        &self,
        resource: &ProtectedResource,
    ) -> Result<Vec<(CheckpointId, RunId, String)>> {
        dispatch!(self, environments::pending_lock_requests(resource))
    }

    /// Who holds a resource's exclusive lock (checkpoint, run, stage).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn lock_holder(&self, resource: &ProtectedResource) -> Result<Option<(CheckpointId, RunId, String)>> {
        dispatch!(self, environments::lock_holder(resource))
    }

    /// Takes a resource's exclusive lock for a checkpoint if it is free; whether the checkpoint
    /// holds it.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn acquire_lock(
        &self,
        resource: &ProtectedResource,
        checkpoint: CheckpointId,
        run: RunId,
        stage: &str,
    ) -> Result<bool> {
        dispatch!(self, environments::acquire_lock(resource, checkpoint, run, stage))
    }

    /// Gives up the locks a run's stage holds (every stage's, with `None`).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn release_locks(&self, run: RunId, stage: Option<&str>) -> Result<()> {
        dispatch!(self, environments::release_locks(run, stage))
    }
}
