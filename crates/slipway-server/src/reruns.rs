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

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use slipway_engine::reruns;
use slipway_store::{Job, JobId, Run, RunId, RunStatus, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_engine::checkout::CheckoutError;
use slipway_engine::launch::{LaunchError, Launched};

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

/// The API's answer for a re-run the engine could not prepare.
fn rerun_error(error: reruns::RerunError) -> ApiError {
    match error {
        reruns::RerunError::Conflict(detail) => ApiError::Conflict(detail),
        reruns::RerunError::Unprocessable(detail) => ApiError::Unprocessable(detail),
        reruns::RerunError::Io(detail) => ApiError::Internal(detail),
        reruns::RerunError::Store(error) => error.into(),
        reruns::RerunError::Artifact(error) => error.into(),
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
    let failed = reruns::has_failed_jobs(run, &jobs);
    // With no job to run again (none had started), the whole run is queued again in place.
    let again: Vec<&Job> = jobs.iter().filter(|job| reruns::is_rerun(job)).collect();
    if !failed {
        return Err(ApiError::Conflict(format!("run {} has no failed or cancelled jobs to run again", run.id)));
    }
    reruns::prepare_run_directory(state, run).await.map_err(rerun_error)?;
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

/// Queues a new run of a completed run's pipeline, commit, parameters and variables, numbered by
/// the pipeline's `name:` and marked as a re-run of it (contributor); gives the new run.
///
/// # Errors
/// 403 for a caller without the role, 409 for a run that has not completed or has no commit,
/// 422 when the run cannot run again (its commit or pipeline file cannot be read).
pub async fn rerun_whole(state: &AppState, caller: &Caller, run: &Run) -> Result<Run, ApiError> {
    check_rerun(caller, run)?;
    let request = reruns::rerun_request(state, run, &caller.user.name).await.map_err(rerun_error)?;
    let created = match slipway_engine::launch::launch(state, request).await {
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
