//! One pipeline: `GET`, `PATCH` and `DELETE /pipelines/{name}`. An admin can disable a pipeline
//! (Azure's queue status: no new run is queued by anyone or anything, its triggers are not
//! polled; runs already queued go on) and enable it again, change its retention, or delete it
//! with its runs once none is unfinished.

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use slipway_store::{NewAuditEntry, Pipeline, QueueStatus, RunFilter, RunStatus, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::retention::RetentionSettings;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/pipelines/{name}", get(show).patch(update).delete(delete))
}

/// The body of `PATCH /pipelines/{name}`: what to change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePipeline {
    /// The new retention settings (replacing the old ones).
    #[serde(default)]
    pub retention: Option<RetentionSettings>,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub queue_status: Option<QueueStatus>,
}

/// The pipeline named `name`, or a 404.
///
/// # Errors
/// 404 when there is none.
pub async fn by_name(state: &AppState, name: &str) -> Result<Pipeline, ApiError> {
    state.store().pipeline_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("no pipeline named '{name}'")))
}

/// Records an admin's change to a pipeline in the audit log; a failed write is logged, and the
/// change stands.
async fn audit(state: &AppState, caller: &Caller, action: &str, pipeline: &str, details: serde_json::Value) {
    let entry = NewAuditEntry {
        actor: caller.user.name.clone(),
        action: action.to_owned(),
        target: Some(pipeline.to_owned()),
        details,
    };
    if let Err(error) = state.store().record_audit(&entry).await {
        tracing::error!(%error, action, pipeline, "an audit entry was not recorded");
    }
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
) -> Result<Pipeline, ApiError> {
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
    audit(state, caller, action, &updated.name, serde_json::json!({ "queueStatus": status })).await;
    Ok(updated)
}

/// Deletes a pipeline with its runs, their logs, artifacts records and test results, its
/// variables and trigger state (admin). A pipeline with unfinished runs is not deleted: cancel
/// them (or disable the pipeline and let them finish) first.
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown pipeline, 409 while runs are unfinished.
pub async fn delete_pipeline(state: &AppState, caller: &Caller, name: &str) -> Result<(), ApiError> {
    caller.require(UserRole::Admin)?;
    let pipeline = by_name(state, name).await?;
    let mut unfinished = 0;
    for status in [RunStatus::Queued, RunStatus::Running] {
        let filter = RunFilter { pipeline: Some(pipeline.id), status: Some(status), limit: 1, ..RunFilter::default() };
        unfinished += state.store().list_runs(&filter).await?.len();
    }
    if unfinished > 0 {
        return Err(ApiError::Conflict(format!(
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
    audit(state, caller, "pipeline.delete", name, details).await;
    Ok(())
}

/// `GET /pipelines/{name}` (reader).
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Json<Pipeline>, ApiError> {
    caller.require(UserRole::Reader)?;
    let UrlPath(name) = name?;
    Ok(Json(by_name(&state, &name).await?))
}

/// `PATCH /pipelines/{name}` (admin): changes a pipeline's retention settings or queue status.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<UrlPath<String>, PathRejection>,
    body: Result<Json<UpdatePipeline>, JsonRejection>,
) -> Result<Json<Pipeline>, ApiError> {
    caller.require(UserRole::Admin)?;
    let UrlPath(name) = name?;
    let Json(body) = body?;
    let mut pipeline = by_name(&state, &name).await?;
    if let Some(retention) = body.retention {
        pipeline = crate::retention::set_retention(&state, &caller, &name, Some(retention)).await?;
    }
    if let Some(status) = body.queue_status {
        pipeline = set_queue_status(&state, &caller, &name, status).await?;
    }
    Ok(Json(pipeline))
}

/// `DELETE /pipelines/{name}` (admin).
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(UserRole::Admin)?;
    let UrlPath(name) = name?;
    delete_pipeline(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
