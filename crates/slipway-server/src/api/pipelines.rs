//! Pipelines: creating and listing them; one pipeline's `GET`, `PATCH` and `DELETE` (an admin
//! can disable a pipeline, as Azure's queue status does: no new run is queued by anyone or
//! anything and its triggers are not polled, while runs already queued go on; and enable it
//! again, change its retention, or delete it with its runs once none is unfinished); and queueing
//! a run by hand.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use slipway_service::pipelines::{by_name, delete_pipeline, register_pipeline, set_queue_status, set_retention};
use slipway_service::runs::queue_manual_run;
use slipway_service::wire as to_wire;
use slipway_store::UserRole;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, create_pipeline, list_pipelines);
    let routes = route!(routes, show_pipeline, update_pipeline, remove_pipeline);
    route!(routes, create_run)
}

/// Creates a pipeline (admin): checks the name, that git can read the repository (schemes other
/// than `https`, `ssh`, `git` and `file` and remote helpers are refused) and that the pipeline
/// file is on the branch runs will use.
#[utoipa::path(post, path = "/pipelines", tag = "pipelines", request_body = wire::CreatePipeline,
    responses(
        (status = 201, description = "The pipeline.", body = wire::Pipeline),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 409, response = wire::Problem),
        (status = 422, response = wire::Problem)))]
async fn create_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreatePipeline>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Pipeline>), ApiError> {
    caller.require(UserRole::Admin)?;
    let Json(body) = body?;
    let pipeline = register_pipeline(&state, body).await?;
    Ok((StatusCode::CREATED, Json(to_wire::pipeline(&pipeline))))
}

/// Every pipeline (reader).
#[utoipa::path(get, path = "/pipelines", tag = "pipelines",
    responses(
        (status = 200, description = "The pipelines, by name.", body = wire::PipelineList),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_pipelines(State(state): State<AppState>, caller: Caller) -> Result<Json<wire::PipelineList>, ApiError> {
    caller.require(UserRole::Reader)?;
    let pipelines = state.store().list_pipelines().await?;
    Ok(Json(wire::PipelineList { pipelines: pipelines.iter().map(to_wire::pipeline).collect() }))
}

/// One pipeline (reader), with what its triggers last found.
#[utoipa::path(get, path = "/pipelines/{name}", tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "The pipeline.", body = wire::Pipeline),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn show_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::Pipeline>, ApiError> {
    caller.require(UserRole::Reader)?;
    let Path(name) = name?;
    Ok(Json(to_wire::pipeline(&by_name(&state, &name).await?)))
}

/// Changes a pipeline's retention settings or queue status (admin).
#[utoipa::path(patch, path = "/pipelines/{name}", tag = "pipelines", request_body = wire::UpdatePipeline,
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "The pipeline as it is now.", body = wire::Pipeline),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn update_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::UpdatePipeline>, JsonRejection>,
) -> Result<Json<wire::Pipeline>, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    let Json(body) = body?;
    let mut pipeline = by_name(&state, &name).await?;
    if let Some(retention) = body.retention {
        pipeline = set_retention(&state, &caller, &name, Some(retention)).await?;
    }
    if let Some(status) = body.queue_status {
        pipeline = set_queue_status(&state, &caller, &name, to_wire::stored_queue_status(status)).await?;
    }
    Ok(Json(to_wire::pipeline(&pipeline)))
}

/// Deletes a pipeline with its runs, their logs, artifacts and test results, its variables and
/// trigger state (admin); refused while it has unfinished runs.
#[utoipa::path(delete, path = "/pipelines/{name}", tag = "pipelines",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn remove_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(name) = name?;
    delete_pipeline(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a run by hand (contributor): checks out the branch, loads the pipeline with the
/// parameters, stores its plan, numbers the run from the pipeline's `name:` and queues it.
#[utoipa::path(post, path = "/pipelines/{name}/runs", tag = "runs", request_body = wire::CreateRun,
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 201, description = "The run, queued.", body = wire::Run,
            headers(("location" = String, description = "The run's URL."))),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn create_run(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::CreateRun>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path(name) = name?;
    let Json(body) = body?;
    let run = queue_manual_run(&state, &caller.user.name, &name, body).await?;
    let location = format!("/api/v1/runs/{}", run.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(to_wire::run(&run))).into_response())
}
