//! Runs: queueing one by hand, cancelling it, keeping it from retention, and running it again
//! (whole, as a new run, or its failed jobs in place).

use slipway_api::CreateRun;
use slipway_engine::LogFailure as _;
use slipway_engine::checkout::{self, CheckoutError, Revision};
use slipway_engine::launch::{LaunchError, LaunchRequest, Launched};
use slipway_engine::reruns;
use slipway_store::{Job, JobId, Run, RunId, RunStatus, StoreError, TriggerKind, UserRole};

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, audit, invalid_input};

/// Starts a manual run of the pipeline `name` for `requested_by` (for the API and the web UI):
/// checks out the branch, loads the pipeline with the parameters, stores its plan and queues it.
///
/// # Errors
/// A 404 for an unknown pipeline, a 400 for a bad branch, a 422 when the repository cannot be
/// checked out or the pipeline is not valid (or is a workflow without `workflow_dispatch`, or
/// given inputs it does not accept).
pub async fn queue_manual_run(
    state: &AppState,
    requested_by: &str,
    name: &str,
    body: CreateRun,
) -> Result<Run, ServiceError> {
    let store = state.store();
    let pipeline = store
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))?;
    let branch = body.branch.filter(|branch| !branch.is_empty()).or_else(|| {
        let default = pipeline.default_branch.trim();
        (!default.is_empty()).then(|| default.to_owned())
    });
    let branch = branch.map(|branch| branch.strip_prefix("refs/heads/").map(str::to_owned).unwrap_or(branch));
    if let Some(branch) = &branch {
        checkout::check_branch(branch).map_err(invalid_input)?;
    }
    // A GitHub Actions workflow starts by hand only with `workflow_dispatch`, and with its inputs.
    slipway_triggering::dispatch::check_manual_run(state.triggering(), &pipeline, branch.as_deref(), &body.parameters)
        .await
        .map_err(|refused| ServiceError::Unprocessable(refused.to_string()))?;
    let mut request = LaunchRequest::new(
        pipeline,
        Revision::Branch(branch),
        TriggerKind::Manual,
        slipway_store::TriggerDetails { reason: Some("Manual".to_owned()), ..slipway_store::TriggerDetails::default() },
    );
    request.parameters = body.parameters;
    request.variables = crate::variables::queue_time_variables(store, request.pipeline.id, &body.variables).await?;
    request.requested_by = Some(requested_by.to_owned());
    match slipway_engine::launch::launch(state, request).await {
        Ok(Launched::Run(run)) => Ok(*run),
        Ok(Launched::AlreadyTriggered) => Err(ServiceError::Conflict("the run was already started".into())),
        Err(LaunchError::Checkout(error)) => Err(invalid_input(error)),
        Err(LaunchError::Store(error)) => Err(error.into()),
        Err(LaunchError::Io(error)) => Err(ServiceError::Internal(error)),
        Err(error @ LaunchError::Disabled(_)) => Err(ServiceError::Conflict(error.to_string())),
    }
}

/// The `workflow_dispatch` inputs of a pipeline file that is a GitHub Actions workflow, as the
/// run form shows parameters; `None` for another pipeline file (for the web UI).
///
/// # Errors
/// Why the workflow cannot be started by hand, inside the `Some`.
#[must_use]
pub fn workflow_inputs(
    yaml_path: &str,
    text: &str,
) -> Option<Result<Vec<slipway_triggering::dispatch::ParameterDeclaration>, String>> {
    slipway_triggering::dispatch::form_inputs(yaml_path, text)
}

/// Asks a run to stop (for the API and the web UI).
///
/// # Errors
/// A 409 when the run already completed.
pub async fn cancel(state: &AppState, run: &Run) -> Result<Run, ServiceError> {
    if run.status == RunStatus::Completed {
        return Err(ServiceError::Conflict(format!("run {} already completed", run.id)));
    }
    let run = state.store().request_cancel(run.id).await?;
    state.wake();
    Ok(run)
}

/// Marks a run to be kept by retention, or not (contributor); gives the run.
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown run.
pub async fn keep(state: &AppState, caller: &Caller, id: RunId, keep: bool) -> Result<Run, ServiceError> {
    caller.require(UserRole::Contributor)?;
    let store = state.store();
    let missing = |error: StoreError| {
        if error.is_not_found() { ServiceError::NotFound(format!("no run {id}")) } else { ServiceError::from(error) }
    };
    store.set_run_keep(id, keep).await.map_err(missing)?;
    let action = if keep { "run.keep" } else { "run.unkeep" };
    audit::record(state, caller, action, format!("run {id}"), serde_json::json!({ "keep": keep })).await;
    store.run(id).await.map_err(missing)
}

/// The API's answer for a re-run the engine could not prepare.
pub(crate) fn rerun_error(error: reruns::RerunError) -> ServiceError {
    match error {
        reruns::RerunError::Conflict(detail) => ServiceError::Conflict(detail),
        reruns::RerunError::Unprocessable(detail) => ServiceError::Unprocessable(detail),
        reruns::RerunError::Io(detail) => ServiceError::Internal(detail),
        reruns::RerunError::Store(error) => error.into(),
        reruns::RerunError::Artifact(error) => error.into(),
    }
}

/// Checks that the caller may re-run `run` (contributor) and that it completed.
pub(crate) fn check_rerun(caller: &Caller, run: &Run) -> Result<(), ServiceError> {
    caller.require(UserRole::Contributor)?;
    if run.status != RunStatus::Completed {
        return Err(ServiceError::Conflict(format!(
            "run {} has not completed: cancel it or wait for it first",
            run.id
        )));
    }
    Ok(())
}

/// Runs the failed, cancelled and skipped jobs of a completed run again, in place (contributor);
/// gives the run, queued again.
///
/// # Errors
/// 403 for a caller without the role, 409 for a run that has not completed or has no failed
/// jobs, 422 when its commit cannot be checked out again.
pub async fn rerun_failed(state: &AppState, caller: &Caller, run: &Run) -> Result<Run, ServiceError> {
    check_rerun(caller, run)?;
    let store = state.store();
    let jobs = store.jobs_of_run(run.id).await?;
    // A run cancelled before its jobs started has only skipped jobs: they run again too.
    let failed = reruns::has_failed_jobs(run, &jobs);
    // With no job to run again (none had started), the whole run is queued again in place.
    let again: Vec<&Job> = jobs.iter().filter(|job| reruns::is_rerun(job)).collect();
    if !failed {
        return Err(ServiceError::Conflict(format!("run {} has no failed or cancelled jobs to run again", run.id)));
    }
    reruns::prepare_run_directory(state, run).await.map_err(rerun_error)?;
    let ids: Vec<JobId> = again.iter().map(|job| job.id).collect();
    let updated = store.rerun_jobs(run.id, &ids).await?;
    for job in again {
        let line = slipway_events::LogKind::Section.line(&format!(
            "Attempt {} of this job: re-run of the failed jobs requested by {}",
            job.attempt + 1,
            caller.user.name
        ));
        store.append_log_lines(job.id, &[line]).await.log_failure("noting a re-run in a job's log");
    }
    audit::record(state, caller, "run.rerun-failed", format!("run {}", run.id), serde_json::json!({ "jobs": ids }))
        .await;
    state.wake();
    Ok(updated)
}

/// Queues a new run of a completed run's pipeline, commit, parameters and variables, numbered by
/// the pipeline's `name:` and marked as a re-run of it (contributor); gives the new run.
///
/// # Errors
/// 403 for a caller without the role, 409 for a run that has not completed or has no commit,
/// 422 when the run cannot run again (its commit or pipeline file cannot be read).
pub async fn rerun_whole(state: &AppState, caller: &Caller, run: &Run) -> Result<Run, ServiceError> {
    check_rerun(caller, run)?;
    let request = reruns::rerun_request(state, run, &caller.user.name).await.map_err(rerun_error)?;
    let created = match slipway_engine::launch::launch(state, request).await {
        Ok(Launched::Run(created)) => created,
        Ok(Launched::AlreadyTriggered) => return Err(ServiceError::Conflict("the run was already started".into())),
        Err(LaunchError::Checkout(CheckoutError::Io(error))) => return Err(ServiceError::Internal(error.to_string())),
        Err(LaunchError::Checkout(error)) => {
            return Err(ServiceError::Unprocessable(format!("run {} cannot run again: {error}", run.id)));
        }
        Err(LaunchError::Store(error)) => return Err(error.into()),
        Err(LaunchError::Io(error)) => return Err(ServiceError::Internal(error)),
        Err(error @ LaunchError::Disabled(_)) => return Err(ServiceError::Conflict(error.to_string())),
    };
    audit::record(state, caller, "run.rerun", format!("run {}", run.id), serde_json::json!({ "newRun": created.id }))
        .await;
    Ok(*created)
}

/// A branch as runs record it (`refs/heads/main`), from `main` or the full name; tags and other
/// refs (`refs/...`) are kept as they are.
#[must_use]
pub fn full_branch(branch: &str) -> String {
    let branch = branch.trim();
    if branch.starts_with("refs/") { branch.to_owned() } else { format!("refs/heads/{branch}") }
}
