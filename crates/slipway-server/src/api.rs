//! The REST API's handlers, under `/api/v1`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_store::{Job, Pipeline, Run, RunFilter, RunId, RunStatus, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_service::pipelines::{CreatePipeline, register_pipeline};
use slipway_service::runs::{CreateRun, cancel, queue_manual_run};
use slipway_service::users::{CreateUser, CreatedUser};

/// The largest page of runs.
const MAX_PAGE: u32 = 200;

/// `GET /health`.
pub async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "database": state.store().backend_name() }))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document().to_string()).into_response()
}

/// `POST /pipelines` (admin).
pub async fn create_pipeline(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreatePipeline>, JsonRejection>,
) -> Result<(StatusCode, Json<Pipeline>), ApiError> {
    caller.require(UserRole::Admin)?;
    let Json(body) = body?;
    let pipeline = register_pipeline(&state, body).await?;
    Ok((StatusCode::CREATED, Json(pipeline)))
}

/// `GET /pipelines` (reader).
pub async fn list_pipelines(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(UserRole::Reader)?;
    let pipelines = state.store().list_pipelines().await?;
    Ok(Json(serde_json::json!({ "pipelines": pipelines })))
}

/// `POST /pipelines/{name}/runs` (contributor): checks out the branch, loads the pipeline, stores
/// its plan, numbers the run from the pipeline's `name:` and queues it (see [`crate::launch`]).
pub async fn create_run(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<CreateRun>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path(name) = name?;
    let Json(body) = body?;
    let run = queue_manual_run(&state, &caller.user.name, &name, body).await?;
    let location = format!("/api/v1/runs/{}", run.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(run)).into_response())
}

/// The query of `GET /runs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunsQuery {
    /// Only runs of this pipeline.
    pub pipeline: Option<String>,
    /// Only runs in this status: `queued`, `running` or `completed`.
    pub status: Option<String>,
    /// Only runs with an id below this one (the next page).
    pub before: Option<i64>,
    /// At most this many (1 to 200; 50 by default).
    pub limit: Option<u32>,
}

/// A page of runs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// Newest first.
    pub runs: Vec<Run>,
    /// The `before` of the next page, when there may be one.
    pub next_before: Option<RunId>,
}

/// `GET /runs` (reader).
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Result<Json<RunPage>, ApiError> {
    caller.require(UserRole::Reader)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(RunStatus::parse(text).map_err(|_| {
            ApiError::bad_request(format!("'{text}' is not a run status: use queued, running or completed"))
        })?),
    };
    let pipeline = match &query.pipeline {
        None => None,
        Some(name) => Some(
            state
                .store()
                .pipeline_by_name(name)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no pipeline named '{name}'")))?
                .id,
        ),
    };
    let filter = RunFilter { pipeline, status, branch: None, before: query.before.map(RunId), limit };
    let runs = state.store().list_runs(&filter).await?;
    let next_before = if runs.len() == limit as usize { runs.last().map(|run| run.id) } else { None };
    Ok(Json(RunPage { runs, next_before }))
}

/// A run with its jobs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its jobs, in the order they were queued.
    pub jobs: Vec<Job>,
}

async fn find_run(state: &AppState, id: Result<Path<i64>, PathRejection>) -> Result<Run, ApiError> {
    let Path(id) = id?;
    state.store().run(RunId(id)).await.map_err(|error| {
        if error.is_not_found() { ApiError::NotFound(format!("no run {id}")) } else { ApiError::from(error) }
    })
}

/// `GET /runs/{id}` (reader).
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<RunDetail>, ApiError> {
    caller.require(UserRole::Reader)?;
    let run = find_run(&state, id).await?;
    let jobs = state.store().jobs_of_run(run.id).await?;
    Ok(Json(RunDetail { run, jobs }))
}

/// The query of `GET /runs/{id}/logs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Follow the log live as server-sent events until the run completes.
    pub follow: Option<bool>,
}

/// One job's log.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobLog {
    /// The job.
    #[serde(flatten)]
    pub job: Job,
    /// Its whole log, one line per line.
    pub log: String,
}

/// `GET /runs/{id}/logs` (reader): every job's whole log; with `follow=true`, the lines as
/// server-sent events as they come (see [`crate::follow`]).
pub async fn run_logs(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<LogsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Reader)?;
    let Query(query) = query?;
    let run = find_run(&state, id).await?;
    if query.follow == Some(true) {
        return Ok(crate::follow::follow(state, run.id).into_response());
    }
    let store = state.store();
    let mut logs = Vec::new();
    for job in store.jobs_of_run(run.id).await? {
        let log = store.read_whole_log(job.id).await?;
        logs.push(JobLog { job, log });
    }
    Ok(Json(serde_json::json!({ "run": run.id, "status": run.status, "result": run.result, "jobs": logs }))
        .into_response())
}

/// `POST /runs/{id}/cancel` (contributor).
pub async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<(StatusCode, Json<Run>), ApiError> {
    caller.require(UserRole::Contributor)?;
    let run = find_run(&state, id).await?;
    Ok((StatusCode::ACCEPTED, Json(cancel(&state, &run).await?)))
}

/// `POST /users` (admin): creates a user with a first personal access token.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateUser>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(slipway_service::users::create_user(&state, &caller, &body).await?)))
}

/// Answers routes that do not exist.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("there is no such API route".into())
}

/// Answers methods a route does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::METHOD_NOT_ALLOWED,
        detail: "the route does not take this method".into(),
    }
}
