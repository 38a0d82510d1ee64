//! Re-running a completed run: `POST /runs/{id}/rerun`.
//!
//! - `{"failedOnly": false}` (the default) queues a new run of the same pipeline, commit, branch,
//!   parameters, trigger (with its predefined variables) and queue-time variables, loaded again
//!   through [`crate::launch`] (so it gets its own run number), marked as a re-run of the old one
//!   (`retryOf`, which also makes retention keep the old run as long as the new one). A pull
//!   request's run checks out its merge commit, which exists only in the old run's checkout: it
//!   cannot run again this way (a 422 says so).
//! - `{"failedOnly": true}` runs again, in place, the jobs of the run that failed or were
//!   cancelled, and those skipped (such as because a job they depend on failed), as Azure's
//!   "re-run failed jobs" does; jobs that succeeded keep their results and output variables.
//!   [`slipway_store::Store::rerun_jobs`] puts those jobs back to pending and the run back in
//!   the queue; the orchestrator then takes the run up as it does after a restart, feeding the
//!   scheduler the jobs that kept their results. Each job run again keeps its earlier log: the
//!   new attempt's lines follow a line `##[section]Attempt N ...`, and the job's `attempt` counts
//!   its leases. The run's directory is made whole first (a checkout of the commit and the
//!   artifacts earlier jobs published) if the cleanup removed it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use slipway_events::TaskResult;
use slipway_store::{Job, JobId, JobStatus, Run, RunId, RunStatus, Store, StoreError, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::checkout::{CheckoutError, Revision};
use crate::error::ApiError;
use crate::launch::{LaunchError, LaunchRequest, Launched};

/// The body of `POST /runs/{id}/rerun`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rerun {
    /// Run only the failed and cancelled jobs again, in place, instead of a new run.
    #[serde(default)]
    pub failed_only: bool,
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/runs/{id}/rerun", post(rerun))
}

/// `POST /runs/{id}/rerun` (contributor).
async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<UrlPath<i64>, PathRejection>,
    body: Result<Json<Rerun>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Contributor)?;
    let UrlPath(id) = id?;
    let Json(body) = body?;
    let run = state.store().run(RunId(id)).await.map_err(|error| {
        if error.is_not_found() { ApiError::NotFound(format!("no run {id}")) } else { ApiError::from(error) }
    })?;
    if body.failed_only {
        let updated = rerun_failed(&state, &caller, &run).await?;
        Ok((StatusCode::ACCEPTED, Json(updated)).into_response())
    } else {
        let created = rerun_whole(&state, &caller, &run).await?;
        let location = format!("/api/v1/runs/{}", created.id);
        Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(created)).into_response())
    }
}

/// Checks that the caller may re-run `run` (contributor) and that it completed.
fn check_rerun(caller: &Caller, run: &Run) -> Result<(), ApiError> {
    caller.require(UserRole::Contributor)?;
    if run.status != RunStatus::Completed {
        return Err(ApiError::Conflict(format!("run {} has not completed: cancel it or wait for it first", run.id)));
    }
    Ok(())
}

/// Whether a completed run has jobs that a re-run of failed jobs would run again: it failed or
/// was cancelled, or one of its jobs did.
#[must_use]
pub fn has_failed_jobs(run: &Run, jobs: &[Job]) -> bool {
    matches!(run.result, Some(TaskResult::Failed | TaskResult::Canceled))
        || jobs.iter().any(|job| matches!(job.result, Some(TaskResult::Failed | TaskResult::Canceled)))
}

/// Whether a job is run again by a re-run of failed jobs.
fn is_rerun(job: &Job) -> bool {
    job.status == JobStatus::Completed && !job.result.is_some_and(TaskResult::is_success)
}

/// Runs the failed, cancelled and skipped jobs of a completed run again, in place (contributor);
/// gives the run, queued again.
///
/// # Errors
/// 403 for a caller without the role, 409 for a run that has not completed or has no failed
/// jobs, 422 when its commit cannot be checked out again.
pub async fn rerun_failed(state: &AppState, caller: &Caller, run: &Run) -> Result<Run, ApiError> {
    check_rerun(caller, run)?;
    let store = state.store();
    let jobs = store.jobs_of_run(run.id).await?;
    // A run cancelled before its jobs started has only skipped jobs: they run again too.
    let failed = has_failed_jobs(run, &jobs);
    // With no job to run again (none had started), the whole run is queued again in place.
    let again: Vec<&Job> = jobs.iter().filter(|job| is_rerun(job)).collect();
    if !failed {
        return Err(ApiError::Conflict(format!("run {} has no failed or cancelled jobs to run again", run.id)));
    }
    let _maintenance = crate::retention::maintenance().await;
    let run_dir = crate::engine::run_directory(state.data_dir(), run.id);
    prepare_source(state, run, &run_dir.join("source")).await?;
    let blobs = crate::blobs::BlobStore::new(state.data_dir());
    crate::artifacts::restore_local_store(store, &blobs, run.id, &run_dir.join("work").join("artifacts")).await?;
    let ids: Vec<JobId> = again.iter().map(|job| job.id).collect();
    let updated = store.rerun_jobs(run.id, &ids).await?;
    for job in again {
        let line = format!(
            "##[section]Attempt {} of this job: re-run of the failed jobs requested by {}",
            job.attempt + 1,
            caller.user.name
        );
        let _ = store.append_log_lines(job.id, &[line]).await;
    }
    audit(state, caller, "run.rerun-failed", run.id, serde_json::json!({ "jobs": ids })).await;
    state.wake();
    Ok(updated)
}

/// Checks the run's commit out into `source` if it is not there (the cleanup removed it).
async fn prepare_source(state: &AppState, run: &Run, source: &Path) -> Result<(), ApiError> {
    if source.is_dir() {
        return Ok(());
    }
    let checkout = checkout_commit(state, run).await?;
    let moved = async {
        if let Some(parent) = source.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&checkout, source).await
    }
    .await;
    if let Err(error) = moved {
        let _ = tokio::fs::remove_dir_all(&checkout).await;
        return Err(ApiError::Internal(format!("could not move the checkout into place: {error}")));
    }
    Ok(())
}

/// Clones the run's repository at its commit into a new directory under `checkouts`.
async fn checkout_commit(state: &AppState, run: &Run) -> Result<std::path::PathBuf, ApiError> {
    let pipeline = state.store().pipeline(run.pipeline).await?;
    let commit =
        run.commit.clone().ok_or_else(|| ApiError::Conflict(format!("run {} has no commit to check out", run.id)))?;
    let checkouts = state.data_dir().join("checkouts");
    tokio::fs::create_dir_all(&checkouts).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    let temporary = checkouts.join(crate::random_hex(12).map_err(ApiError::Internal)?);
    let (repository, branch, destination) = (pipeline.repository.clone(), run.branch.clone(), temporary.clone());
    let cloned =
        tokio::task::spawn_blocking(move || clone_at_commit(&repository, branch.as_deref(), &commit, &destination))
            .await
            .map_err(|error| ApiError::Internal(error.to_string()))?;
    if let Err(detail) = cloned {
        let _ = tokio::fs::remove_dir_all(&temporary).await;
        return Err(ApiError::Unprocessable(detail));
    }
    Ok(temporary)
}

fn git(directory: Option<&Path>, arguments: &[&str]) -> Result<(), String> {
    let mut command = Command::new("git");
    command
        .args(arguments)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", crate::checkout::ALLOWED_GIT_PROTOCOLS);
    if let Some(directory) = directory {
        command.current_dir(directory);
    }
    let output = command.output().map_err(|error| format!("git could not be started: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {} failed: {}",
            arguments.first().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Clones `repository` into `destination` and checks out `commit`, on a local branch named as
/// `branch` (`refs/heads/NAME`) when there is one, else detached. Blocking.
///
/// # Errors
/// A message saying what failed: a bad commit or branch, or git.
pub fn clone_at_commit(repository: &str, branch: Option<&str>, commit: &str, destination: &Path) -> Result<(), String> {
    crate::checkout::check_repository(repository).map_err(|error| error.to_string())?;
    let well_formed = (7..=64).contains(&commit.len()) && commit.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !well_formed {
        return Err(format!("'{commit}' is not a commit id"));
    }
    let destination_text = destination.to_str().ok_or("the data directory's path is not UTF-8")?;
    git(None, &["clone", "--quiet", "--no-recurse-submodules", "--no-checkout", "--", repository, destination_text])?;
    let local_branch = branch.and_then(|branch| branch.strip_prefix("refs/heads/"));
    match local_branch {
        Some(name) if crate::checkout::check_branch(name).is_ok() => {
            git(Some(destination), &["checkout", "--quiet", "-B", name, commit])
        }
        _ => git(Some(destination), &["checkout", "--quiet", "--detach", commit]),
    }
    .map_err(|detail| format!("commit {commit} cannot be checked out again: {detail}"))
}

/// Queues a new run of a completed run's pipeline, commit, parameters and variables, numbered by
/// the pipeline's `name:` and marked as a re-run of it (contributor); gives the new run.
///
/// # Errors
/// 403 for a caller without the role, 409 for a run that has not completed or has no commit,
/// 422 when the run cannot run again (its commit or pipeline file cannot be read).
pub async fn rerun_whole(state: &AppState, caller: &Caller, run: &Run) -> Result<Run, ApiError> {
    check_rerun(caller, run)?;
    let store = state.store();
    let (Some(git_ref), Some(commit)) = (run.branch.clone(), run.commit.clone()) else {
        return Err(ApiError::Conflict(format!("run {} has no commit to run again", run.id)));
    };
    let pipeline = store.pipeline(run.pipeline).await?;
    let mut details = run.trigger_details.as_object().cloned().unwrap_or_default();
    // The commit's facts are read again from the checkout; the trigger's variables are kept.
    for key in ["message", "author", "email", "commit", "error"] {
        details.remove(key);
    }
    details.insert("rerunOf".into(), serde_json::json!(run.id));
    let mut request = LaunchRequest::new(
        pipeline,
        Revision::Commit { git_ref, commit },
        run.trigger,
        serde_json::Value::Object(details),
    );
    request.parameters = serde_json::from_value(run.parameters.clone()).unwrap_or_default();
    request.variables = run.variables.clone();
    request.requested_by = Some(caller.user.name.clone());
    request.upstream_run = run.upstream_run;
    request.retry_of = Some(run.id);
    let created = match crate::launch::launch(state, request).await {
        Ok(Launched::Run(created)) => created,
        Ok(Launched::AlreadyTriggered) => return Err(ApiError::Conflict("the run was already started".into())),
        Err(LaunchError::Checkout(CheckoutError::Io(error))) => return Err(ApiError::Internal(error.to_string())),
        Err(LaunchError::Checkout(error)) => {
            return Err(ApiError::Unprocessable(format!("run {} cannot run again: {error}", run.id)));
        }
        Err(LaunchError::Store(error)) => return Err(error.into()),
        Err(LaunchError::Io(error)) => return Err(ApiError::Internal(error)),
        Err(error @ LaunchError::Disabled(_)) => return Err(ApiError::Conflict(error.to_string())),
    };
    audit(state, caller, "run.rerun", run.id, serde_json::json!({ "newRun": created.id })).await;
    Ok(*created)
}

async fn audit(state: &AppState, caller: &Caller, action: &str, run: RunId, details: serde_json::Value) {
    let entry = slipway_store::NewAuditEntry {
        actor: caller.user.name.clone(),
        action: action.to_owned(),
        target: Some(format!("run {run}")),
        details,
    };
    let _ = state.store().record_audit(&entry).await;
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
    let leg_prefix = format!("{prefix}.");
    let mut finished = Vec::new();
    for job in jobs.values_mut() {
        let under = job.key == prefix || job.key.starts_with(&leg_prefix);
        if under && job.status == JobStatus::Pending {
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
