//! The REST API's handlers, under `/api/v1`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_store::{
    Job, Pipeline, PipelineSettings, RetentionPolicy, Run, RunFilter, RunId, RunStatus, TriggerKind, User, UserRole,
};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_engine::checkout::{self, CheckoutError, Revision};
use slipway_engine::launch::{LaunchError, LaunchRequest, Launched};

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

/// The body of `POST /pipelines`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePipeline {
    /// The pipeline's name: letters, digits, `.`, `_` and `-`.
    pub name: String,
    /// A local path or a URL `git clone` can fetch.
    pub repository: String,
    /// The YAML file's path in the repository.
    #[serde(default = "default_yaml_path")]
    pub yaml_path: String,
    /// The branch runs use when none is given; the repository's default branch when empty.
    #[serde(default)]
    pub default_branch: String,
}

fn default_yaml_path() -> String {
    "azure-pipelines.yml".to_owned()
}

/// Checks a pipeline or user name: 1 to 100 letters, digits, `.`, `_` and `-`.
///
/// # Errors
/// A 400 naming the rule.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{name}' is not a valid name: use 1 to 100 letters, digits, '.', '_' and '-'"
        )))
    }
}

fn invalid_input(error: CheckoutError) -> ApiError {
    match error {
        CheckoutError::Invalid(detail) => ApiError::bad_request(detail),
        CheckoutError::Io(error) => ApiError::Internal(error.to_string()),
        other => ApiError::Unprocessable(other.to_string()),
    }
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

/// Creates a pipeline (for the API and the web UI): checks the name, repository, file path and
/// branch, keeps a local repository's path absolute, checks that git can read the repository and
/// that the pipeline file is on the branch runs will use, and records the heads its triggers start
/// from.
///
/// # Errors
/// A 400 for a malformed value, a 422 for a repository, branch or file that is not there, a 409
/// when the name is taken.
pub async fn register_pipeline(state: &AppState, body: CreatePipeline) -> Result<Pipeline, ApiError> {
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
        .join(format!("intake-{}", slipway_engine::random_hex(12).map_err(ApiError::Internal)?));
    let intake = slipway_triggering::intake::inspect(&repository, default_branch, &yaml_path, scratch)
        .await
        .map_err(|error| ApiError::Unprocessable(error.to_string()))?;
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

/// `GET /pipelines` (reader).
pub async fn list_pipelines(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(UserRole::Reader)?;
    let pipelines = state.store().list_pipelines().await?;
    Ok(Json(serde_json::json!({ "pipelines": pipelines })))
}

/// The body of `POST /pipelines/{name}/runs`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRun {
    /// The branch to run; the pipeline's default branch when absent.
    #[serde(default)]
    pub branch: Option<String>,
    /// Runtime parameter values by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Queue-time variable values by name (see [`crate::variables`] for which may be set).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
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

/// Starts a manual run of the pipeline `name` for `requested_by` (for the API and the web UI):
/// checks out the branch, loads the pipeline with the parameters, stores its plan and queues it.
///
/// # Errors
/// A 404 for an unknown pipeline, a 400 for a bad branch, a 422 when the repository cannot be
/// checked out or the pipeline is not valid.
pub async fn queue_manual_run(
    state: &AppState,
    requested_by: &str,
    name: &str,
    body: CreateRun,
) -> Result<Run, ApiError> {
    let store = state.store();
    let pipeline =
        store.pipeline_by_name(name).await?.ok_or_else(|| ApiError::NotFound(format!("no pipeline named '{name}'")))?;
    let branch = body.branch.filter(|branch| !branch.is_empty()).or_else(|| {
        let default = pipeline.default_branch.trim();
        (!default.is_empty()).then(|| default.to_owned())
    });
    let branch = branch.map(|branch| branch.strip_prefix("refs/heads/").map(str::to_owned).unwrap_or(branch));
    if let Some(branch) = &branch {
        checkout::check_branch(branch).map_err(invalid_input)?;
    }
    let mut request = LaunchRequest::new(
        pipeline,
        Revision::Branch(branch),
        TriggerKind::Manual,
        serde_json::json!({ "reason": "Manual" }),
    );
    request.parameters = body.parameters;
    request.variables = crate::variables::queue_time_variables(store, request.pipeline.id, &body.variables).await?;
    request.requested_by = Some(requested_by.to_owned());
    match slipway_engine::launch::launch(state, request).await {
        Ok(Launched::Run(run)) => Ok(*run),
        Ok(Launched::AlreadyTriggered) => Err(ApiError::Conflict("the run was already started".into())),
        Err(LaunchError::Checkout(error)) => Err(invalid_input(error)),
        Err(LaunchError::Store(error)) => Err(error.into()),
        Err(LaunchError::Io(error)) => Err(ApiError::Internal(error)),
        Err(error @ LaunchError::Disabled(_)) => Err(ApiError::Conflict(error.to_string())),
    }
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

/// Asks a run to stop (for the API and the web UI).
///
/// # Errors
/// A 409 when the run already completed.
pub async fn cancel(state: &AppState, run: &Run) -> Result<Run, ApiError> {
    if run.status == RunStatus::Completed {
        return Err(ApiError::Conflict(format!("run {} already completed", run.id)));
    }
    let run = state.store().request_cancel(run.id).await?;
    state.wake();
    Ok(run)
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The user's name.
    pub name: String,
    /// `admin`, `contributor` or `reader`.
    pub role: UserRole,
}

/// A new user with their first token, shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// A personal access token for them; it is stored only hashed.
    pub token: String,
}

/// `POST /users` (admin): creates a user with a first personal access token.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateUser>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    caller.require(UserRole::Admin)?;
    let Json(body) = body?;
    check_name(&body.name)?;
    let user = state.store().create_user(&body.name, body.role).await?;
    let token = state.store().create_access_token(user.id, "first token", None).await?;
    Ok((StatusCode::CREATED, Json(CreatedUser { user, token: token.secret })))
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
