//! [`Store`]'s jobs: adding them to runs (with their spec when ready), reading them, queueing them
//! when their dependencies finished, finishing them without a lease, their message and spec.

use slipway_events::TaskResult;

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{Job, JobAttempt, JobId, NewJob, RunId};

impl Store {
    /// Adds jobs to a run, `queued` when [`NewJob::ready`], else `pending`.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a job with the same key exists in the run.
    pub async fn add_jobs(&self, run: RunId, jobs: &[NewJob]) -> Result<Vec<Job>> {
        dispatch!(self, jobs::add_jobs(run, jobs))
    }

    /// Adds jobs to a run that are ready now, each with its spec (what any worker needs to run
    /// it, sealed with the store's key), queued in the same transaction, so that no worker can
    /// lease a job before its spec is there. Jobs of a run being cancelled end as cancelled.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a job with the same key exists in the run.
    pub async fn add_ready_jobs(&self, run: RunId, jobs: &[(NewJob, Vec<u8>)]) -> Result<Vec<Job>> {
        dispatch!(self, jobs::add_ready_jobs(run, jobs))
    }

    /// Stores a pending (or queued) job's spec and queues it, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a running or completed job.
    pub async fn queue_job_with_spec(&self, job: JobId, spec: &[u8]) -> Result<Job> {
        dispatch!(self, jobs::queue_job_with_spec(job, spec))
    }

    /// A job's spec, decrypted, if it has one.
    ///
    /// # Errors
    /// [`StoreError::Decryption`] when the stored spec is damaged.
    pub async fn job_spec(&self, job: JobId) -> Result<Option<Vec<u8>>> {
        dispatch!(self, jobs::job_spec(job))
    }

    /// Every running (leased) job, by id.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn running_jobs(&self) -> Result<Vec<Job>> {
        dispatch!(self, jobs::running_jobs())
    }

    /// A job by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is none.
    pub async fn job(&self, job: JobId) -> Result<Job> {
        dispatch!(self, jobs::job(job))
    }

    /// The earlier attempts of a run's jobs that were run again in place, by job and attempt.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn job_attempts_of_run(&self, run: RunId) -> Result<Vec<JobAttempt>> {
        dispatch!(self, jobs::job_attempts_of_run(run))
    }

    /// The ids of a run's completed jobs (cheaper than [`Store::jobs_of_run`] when only what
    /// completed since is wanted).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn completed_job_ids(&self, run: RunId) -> Result<Vec<JobId>> {
        dispatch!(self, jobs::completed_job_ids(run))
    }

    /// A run's jobs, in the order they were added.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn jobs_of_run(&self, run: RunId) -> Result<Vec<Job>> {
        dispatch!(self, jobs::jobs_of_run(run))
    }

    /// Jobs waiting in the queue, oldest first, of one pool or all.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn queued_jobs(&self, pool: Option<&str>) -> Result<Vec<Job>> {
        dispatch!(self, jobs::queued_jobs(pool))
    }

    /// Puts a pending job in the queue (its dependencies finished).
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] unless the job is pending (or already queued, which is fine).
    pub async fn queue_job(&self, job: JobId) -> Result<Job> {
        dispatch!(self, jobs::queue_job(job))
    }

    /// Completes a job that is not running (pending or queued): skipped, or cancelled before it ran.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] for a running or completed job.
    pub async fn finish_job_unleased(&self, job: JobId, result: TaskResult, message: Option<&str>) -> Result<Job> {
        dispatch!(self, jobs::finish_job_unleased(job, result, message))
    }

    /// Sets the message shown with a job (such as why it waits: no agent can take it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown job.
    pub async fn set_job_message(&self, job: JobId, message: Option<&str>) -> Result<()> {
        dispatch!(self, jobs::set_job_message(job, message))
    }
}
