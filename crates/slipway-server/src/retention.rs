//! Retention's API: a pipeline's settings (through `PATCH /pipelines/{name}`) and keeping a run
//! (`POST /runs/{id}/keep`). The cleanup itself is the engine's ([`slipway_engine::retention`]).

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use serde::Deserialize;
use slipway_store::{Run, RunId, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_service::runs::keep;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/runs/{id}/keep", post(keep_run))
}

/// The body of `POST /runs/{id}/keep`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepRun {
    /// Whether retention must keep the run.
    pub keep: bool,
}

/// `POST /runs/{id}/keep` (contributor): marks a run to be kept by retention, or not.
async fn keep_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<UrlPath<i64>, PathRejection>,
    body: Result<Json<KeepRun>, JsonRejection>,
) -> Result<Json<Run>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let UrlPath(id) = id?;
    let Json(body) = body?;
    Ok(Json(keep(&state, &caller, RunId(id), body.keep).await?))
}
