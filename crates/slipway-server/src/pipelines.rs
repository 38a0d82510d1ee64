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
use slipway_store::{Pipeline, QueueStatus, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_service::pipelines::{RetentionSettings, by_name, delete_pipeline, set_queue_status};

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
        pipeline = slipway_service::pipelines::set_retention(&state, &caller, &name, Some(retention)).await?;
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
