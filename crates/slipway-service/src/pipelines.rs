//! Pipelines: creating one (its repository and file checked first), enabling and disabling it,
//! its retention settings, and deleting it with its runs.

use slipway_api::{CreatePipeline, RetentionSettings};
use slipway_engine::checkout;
use slipway_store::{Pipeline, PipelineSettings, QueueStatus, RetentionPolicy, RunFilter, RunStatus, UserRole};

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, audit, check_name, invalid_input};

/// The most days or runs a retention setting may name.
const MAX_RETENTION: u32 = 1_000_000;

/// Creates a pipeline (for the API and the web UI): checks the name, repository, file path and
/// branch, keeps a local repository's path absolute, checks that git can read the repository and
/// that the pipeline file is on the branch runs will use, and records the heads its triggers start
/// from.
///
/// # Errors
/// A 400 for a malformed value, a 422 for a repository, branch or file that is not there, a 409
/// when the name is taken.
pub async fn register_pipeline(state: &AppState, body: CreatePipeline) -> Result<Pipeline, ServiceError> {
    check_name(&body.name)?;
    checkout::check_repository(&body.repository).map_err(invalid_input)?;
    let yaml_path = checkout::normalize_yaml_path(&body.yaml_path).map_err(invalid_input)?;
    if !body.default_branch.is_empty() {
        checkout::check_branch(&body.default_branch).map_err(invalid_input)?;
    }
    // A local path is kept absolute, so that it means the same whatever the server's directory.
    let local = std::path::Path::new(&body.repository);
    let repository = match local.is_dir().then(|| std::fs::canonicalize(local)) {
        Some(Ok(path)) => path.display().to_string(),
        _ => body.repository.clone(),
    };
    let default_branch = Some(body.default_branch.as_str()).filter(|branch| !branch.is_empty());
    let scratch = state
        .data_dir()
        .join("checkouts")
        .join(format!("intake-{}", slipway_engine::random_hex(12).map_err(ServiceError::Internal)?));
    let intake = slipway_triggering::intake::inspect(&repository, default_branch, &yaml_path, scratch)
        .await
        .map_err(|error| ServiceError::Unprocessable(error.to_string()))?;
    let settings = PipelineSettings {
        name: body.name,
        repository,
        yaml_path,
        default_branch: body.default_branch,
        retention: RetentionPolicy::default(),
        queue_status: slipway_store::QueueStatus::Enabled,
    };
    let pipeline = state.store().create_pipeline(&settings).await?;
    slipway_triggering::poll::record_initial_heads(state.triggering(), &pipeline, &intake.refs).await;
    Ok(pipeline)
}

/// The pipeline named `name`, or a 404.
///
/// # Errors
/// 404 when there is none.
pub async fn by_name(state: &AppState, name: &str) -> Result<Pipeline, ServiceError> {
    state
        .store()
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))
}

/// Enables or disables a pipeline (admin); gives it.
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown pipeline.
pub async fn set_queue_status(
    state: &AppState,
    caller: &Caller,
    name: &str,
    status: QueueStatus,
) -> Result<Pipeline, ServiceError> {
    caller.require(UserRole::Admin)?;
    let pipeline = by_name(state, name).await?;
    if pipeline.queue_status == status {
        return Ok(pipeline);
    }
    let settings = slipway_store::PipelineSettings { queue_status: status, ..pipeline.settings() };
    let updated = state.store().update_pipeline(pipeline.id, &settings).await?;
    let action = match status {
        QueueStatus::Enabled => "pipeline.enable",
        QueueStatus::Disabled => "pipeline.disable",
    };
    audit::record(state, caller, action, &updated.name, serde_json::json!({ "queueStatus": status })).await;
    Ok(updated)
}

/// Deletes a pipeline with its runs, their logs, artifacts records and test results, its
/// variables and trigger state (admin). A pipeline with unfinished runs is not deleted: cancel
/// them (or disable the pipeline and let them finish) first.
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown pipeline, 409 while runs are unfinished.
pub async fn delete_pipeline(state: &AppState, caller: &Caller, name: &str) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let pipeline = by_name(state, name).await?;
    let mut unfinished = 0;
    for status in [RunStatus::Queued, RunStatus::Running] {
        let filter = RunFilter { pipeline: Some(pipeline.id), status: Some(status), limit: 1, ..RunFilter::default() };
        unfinished += state.store().list_runs(&filter).await?.len();
    }
    if unfinished > 0 {
        return Err(ServiceError::Conflict(format!(
            "the pipeline '{name}' has unfinished runs: cancel them, or disable the pipeline and let them finish, then delete it"
        )));
    }
    let report = state.store().delete_pipeline(pipeline.id).await?;
    // Its trigger mirror goes too; run directories and blobs no run uses any more go with the
    // next cleanup.
    let mirror = state.data_dir().join("triggers").join(format!("{}.git", pipeline.id.get()));
    if let Err(error) = tokio::fs::remove_dir_all(&mirror).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(%error, pipeline = name, "the deleted pipeline's trigger mirror was not removed");
    }
    let details = serde_json::json!({ "deletedRuns": report.deleted_runs.len(), "repository": pipeline.repository });
    audit::record(state, caller, "pipeline.delete", name, details).await;
    Ok(())
}

fn check_limit(what: &str, value: Option<u32>) -> Result<(), ServiceError> {
    match value {
        Some(0) => {
            Err(ServiceError::bad_request(format!("retention {what} must be at least 1 (or null for no limit)")))
        }
        Some(value) if value > MAX_RETENTION => {
            Err(ServiceError::bad_request(format!("retention {what} may be at most {MAX_RETENTION}")))
        }
        _ => Ok(()),
    }
}

/// Sets a pipeline's retention settings (admin), replacing the old ones.
///
/// # Errors
/// 403 for a caller without the role, 400 for a limit out of range, 404 for an unknown pipeline.
pub async fn set_retention(
    state: &AppState,
    caller: &Caller,
    name: &str,
    retention: Option<RetentionSettings>,
) -> Result<Pipeline, ServiceError> {
    caller.require(UserRole::Admin)?;
    let pipeline = state
        .store()
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))?;
    let mut settings = pipeline.settings();
    if let Some(retention) = retention {
        check_limit("days", retention.days)?;
        check_limit("runs", retention.runs)?;
        settings.retention = RetentionPolicy { days: retention.days, runs: retention.runs };
    }
    let updated = state.store().update_pipeline(pipeline.id, &settings).await?;
    let details = serde_json::json!({ "retention": updated.retention });
    audit::record(state, caller, "pipeline.update", updated.name.clone(), details).await;
    Ok(updated)
}
