//! What re-running a completed run needs from the engine: making the run's directory whole
//! again (a checkout of its commit and the artifacts earlier jobs published, which the cleanup
//! may have removed), the request that runs its commit again as a new run, and, for the
//! orchestrator, completing the jobs put back to pending that the driver now skips. Who may
//! re-run what, and recording it, is the service's.

use std::collections::HashMap;
use std::path::Path;

use slipway_events::TaskResult;
use slipway_store::{Job, JobId, JobStatus, Run, Store, StoreError};

use crate::Core;
use crate::checkout::Revision;
use crate::launch::LaunchRequest;

/// Why a run cannot run again.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    /// The run is not in a state to run again (it has no commit).
    #[error("{0}")]
    Conflict(String),
    /// Its commit cannot be checked out again.
    #[error("{0}")]
    Unprocessable(String),
    /// A file of the data directory could not be written.
    #[error("{0}")]
    Io(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An artifact could not be put back.
    #[error(transparent)]
    Artifact(#[from] crate::artifacts::ArtifactError),
}

/// Whether a completed run has jobs that a re-run of failed jobs would run again: it failed or
/// was cancelled, or one of its jobs did.
#[must_use]
pub fn has_failed_jobs(run: &Run, jobs: &[Job]) -> bool {
    matches!(run.result, Some(TaskResult::Failed | TaskResult::Canceled))
        || jobs.iter().any(|job| matches!(job.result, Some(TaskResult::Failed | TaskResult::Canceled)))
}

/// Whether a job is run again by a re-run of failed jobs.
#[must_use]
pub fn is_rerun(job: &Job) -> bool {
    job.status == JobStatus::Completed && !job.result.is_some_and(TaskResult::is_success)
}

/// Makes the run's directory whole for a re-run of its failed jobs in place: its checkout and
/// the artifacts its jobs published, where the cleanup removed them. Holds the cleanup off
/// meanwhile.
///
/// # Errors
/// A [`RerunError`] saying what could not be put back.
pub async fn prepare_run_directory(core: &Core, run: &Run) -> Result<(), RerunError> {
    let _maintenance = crate::retention::maintenance().await;
    let run_dir = crate::orchestrator::run_directory(core.data_dir(), run.id);
    prepare_source(core, run, &run_dir.join("source")).await?;
    let blobs = crate::blobs::BlobStore::new(core.data_dir());
    crate::artifacts::restore_local_store(core.store(), &blobs, run.id, &run_dir.join("work").join("artifacts"))
        .await?;
    Ok(())
}

/// The request that runs a completed run's commit again as a new run of its pipeline, with its
/// trigger (and the trigger's variables), parameters and queue-time variables, marked as a
/// re-run of it and asked for by `requested_by`.
///
/// # Errors
/// [`RerunError::Conflict`] for a run with no commit.
pub async fn rerun_request(core: &Core, run: &Run, requested_by: &str) -> Result<LaunchRequest, RerunError> {
    let (Some(git_ref), Some(commit)) = (run.branch.clone(), run.commit.clone()) else {
        return Err(RerunError::Conflict(format!("run {} has no commit to run again", run.id)));
    };
    let pipeline = core.store().pipeline(run.pipeline).await?;
    // The commit's facts are read again from the checkout; the trigger's variables are kept.
    let details = slipway_store::TriggerDetails {
        message: None,
        author: None,
        email: None,
        commit: None,
        error: None,
        rerun_of: Some(run.id),
        ..run.trigger_details.clone()
    };
    let mut request = LaunchRequest::new(pipeline, Revision::Commit { git_ref, commit }, run.trigger, details);
    request.parameters = serde_json::from_value(run.parameters.clone()).unwrap_or_default();
    request.variables = run.variables.clone();
    request.requested_by = Some(requested_by.to_owned());
    request.upstream_run = run.upstream_run;
    request.retry_of = Some(run.id);
    Ok(request)
}

/// Checks the run's commit out into `source` if it is not there (the cleanup removed it).
async fn prepare_source(core: &Core, run: &Run, source: &Path) -> Result<(), RerunError> {
    if source.is_dir() {
        return Ok(());
    }
    let checkout = checkout_commit(core, run).await?;
    let moved = async {
        if let Some(parent) = source.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&checkout, source).await
    }
    .await;
    if let Err(error) = moved {
        let _ = tokio::fs::remove_dir_all(&checkout).await;
        return Err(RerunError::Io(format!("could not move the checkout into place: {error}")));
    }
    Ok(())
}

/// Clones the run's repository at its commit into a new directory under `checkouts`.
async fn checkout_commit(core: &Core, run: &Run) -> Result<std::path::PathBuf, RerunError> {
    let pipeline = core.store().pipeline(run.pipeline).await?;
    let commit =
        run.commit.clone().ok_or_else(|| RerunError::Conflict(format!("run {} has no commit to check out", run.id)))?;
    let checkouts = core.data_dir().join("checkouts");
    tokio::fs::create_dir_all(&checkouts).await.map_err(|error| RerunError::Io(error.to_string()))?;
    let temporary = checkouts.join(crate::random_hex(12).map_err(RerunError::Io)?);
    let (repository, branch, destination) = (pipeline.repository.clone(), run.branch.clone(), temporary.clone());
    let cloned =
        tokio::task::spawn_blocking(move || clone_at_commit(&repository, branch.as_deref(), &commit, &destination))
            .await
            .map_err(|error| RerunError::Io(error.to_string()))?;
    if let Err(detail) = cloned {
        let _ = tokio::fs::remove_dir_all(&temporary).await;
        return Err(RerunError::Unprocessable(detail));
    }
    Ok(temporary)
}

/// Clones `repository` into `destination` and checks out `commit`, on a local branch named as
/// `branch` (`refs/heads/NAME`) when there is one, else detached. Blocking.
///
/// # Errors
/// A message saying what failed: a repository Slipway does not fetch from, a bad commit, or git.
pub fn clone_at_commit(repository: &str, branch: Option<&str>, commit: &str, destination: &Path) -> Result<(), String> {
    crate::checkout::check_repository(repository).map_err(|error| error.to_string())?;
    let local_branch = branch
        .and_then(|branch| branch.strip_prefix("refs/heads/"))
        .filter(|name| crate::checkout::check_branch(name).is_ok());
    slipway_git::checkout_commit(repository, commit, local_branch, destination).map_err(|error| error.to_string())
}

/// Completes the jobs under `prefix` (`STAGE.JOB`, and its legs) that a re-run of failed jobs put
/// back to pending but that the scheduler now skips, with its result; gives their ids. The
/// orchestrator calls this when the scheduler finishes a job without starting it.
///
/// # Errors
/// When the store fails.
pub async fn finish_reset_jobs(
    store: &Store,
    jobs: &mut HashMap<String, Job>,
    prefix: &str,
    result: TaskResult,
    message: Option<&str>,
) -> Result<Vec<JobId>, StoreError> {
    let mut finished = Vec::new();
    for job in jobs.values_mut() {
        if slipway_plan::is_key_of_job(&job.key, prefix) && job.status == JobStatus::Pending {
            *job = store.finish_job_unleased(job.id, result, message).await?;
            finished.push(job.id);
        }
    }
    Ok(finished)
}

/// The highest job directory number the runtime used in a run's work directory (`w/N`), so that
/// jobs run again (after a restart, or a re-run) get new directories.
#[must_use]
pub fn job_directories_used(work_dir: &Path) -> usize {
    std::fs::read_dir(work_dir.join("w"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<usize>().ok()))
        .max()
        .unwrap_or(0)
}
