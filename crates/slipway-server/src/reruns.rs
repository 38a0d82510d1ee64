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
use slipway_store::{RunId, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_service::runs::{rerun_failed, rerun_whole};

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
