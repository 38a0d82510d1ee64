//! Runs: the list, one run with its jobs, its logs (whole, or followed live as server-sent
//! events, see [`super::follow`]), cancelling, re-running and keeping one.
//!
//! Re-running (`POST /runs/{id}/rerun`):
//! - `{"failedOnly": false}` (the default) queues a new run of the same pipeline, commit, branch,
//!   parameters, trigger (with its predefined variables) and queue-time variables, loaded again
//!   (so it gets its own run number), marked as a re-run of the old one (`retryOf`, which also
//!   makes retention keep the old run as long as the new one). A pull request's run checks out
//!   its merge commit, which exists only in the old run's checkout: it cannot run again this way
//!   (a 422 says so).
//! - `{"failedOnly": true}` runs again, in place, the jobs of the run that failed or were
//!   cancelled, and those skipped because of them, as Azure's "re-run failed jobs" does; jobs that
//!   succeeded keep their results and output variables (see [`slipway_service::runs`]).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use slipway_service::runs::{cancel, keep, rerun_failed, rerun_whole};
use slipway_service::wire as to_wire;
use slipway_store::{RunFilter, RunId, UserRole};

use super::find_run;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The largest page of runs.
const MAX_PAGE: u32 = 200;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_runs);
    let routes = route!(routes, show_run);
    let routes = route!(routes, run_logs);
    let routes = route!(routes, cancel_run);
    let routes = route!(routes, rerun);
    route!(routes, keep_run)
}

/// Runs, newest first, a page at a time (reader).
#[utoipa::path(get, path = "/runs", tag = "runs", params(wire::RunsQuery),
    responses(
        (status = 200, description = "A page of runs.", body = wire::RunPage),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::RunsQuery>, QueryRejection>,
) -> Result<Json<wire::RunPage>, ApiError> {
    caller.require(UserRole::Reader)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(slipway_store::RunStatus::parse(text).map_err(|_| {
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
    let result = match query.result.as_deref() {
        None => None,
        Some(text) => Some(slipway_events::TaskResult::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{text}' is not a result: use Succeeded, SucceededWithIssues, Failed, Canceled or Skipped"
            ))
        })?),
    };
    let trigger = match query.trigger.as_deref() {
        None => None,
        Some(text) => Some(slipway_store::TriggerKind::parse(text).map_err(|_| {
            ApiError::bad_request(format!(
                "'{text}' is not a trigger: use manual, push, pr, schedule or pipeline-completion"
            ))
        })?),
    };
    let branch = query.branch.as_deref().map(slipway_service::runs::full_branch);
    let filter = RunFilter { pipeline, status, branch, result, trigger, before: query.before.map(RunId), limit };
    let runs = state.store().list_runs(&filter).await?;
    let next_before = if runs.len() == limit as usize { runs.last().map(|run| run.id.get()) } else { None };
    Ok(Json(wire::RunPage { runs: runs.iter().map(to_wire::run).collect(), next_before }))
}

/// One run with its jobs (reader).
#[utoipa::path(get, path = "/runs/{id}", tag = "runs",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run and its jobs.", body = wire::RunDetail),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn show_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::RunDetail>, ApiError> {
    caller.require(UserRole::Reader)?;
    let Path(id) = id?;
    let run = find_run(&state, id).await?;
    let jobs = state.store().jobs_of_run(run.id).await?;
    let attempts = state.store().job_attempts_of_run(run.id).await?;
    Ok(Json(to_wire::run_detail(&run, &jobs, &attempts)))
}

/// Every job's whole log (reader); with `follow=true`, the lines as server-sent events as they
/// come: `log` events ([`wire::follow::LogLine`]) until an `end` event
/// ([`wire::follow::LogEnd`]) when the run completed and every line was sent, or a `shutdown`
/// event ([`wire::follow::LogShutdown`]) when the server stops.
#[utoipa::path(get, path = "/runs/{id}/logs", tag = "runs",
    params(("id" = i64, Path, description = "The run's id."), wire::LogsQuery),
    responses(
        (status = 200, description = "The logs; with follow=true, a text/event-stream of log, end and shutdown \
            events.", body = wire::RunLogs),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn run_logs(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<wire::LogsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Reader)?;
    let Path(id) = id?;
    let Query(query) = query?;
    let run = find_run(&state, id).await?;
    if query.follow == Some(true) {
        return Ok(super::follow::follow(state, run.id).into_response());
    }
    let store = state.store();
    let attempts = store.job_attempts_of_run(run.id).await?;
    let mut jobs = Vec::new();
    for job in store.jobs_of_run(run.id).await? {
        let log = store.read_whole_log(&job).await?;
        let mut earlier_logs = Vec::new();
        for attempt in attempts.iter().filter(|attempt| attempt.job == job.id) {
            let until = attempt.first_line + attempt.line_count;
            let log = store.read_log_lines(job.id, attempt.first_line, Some(until)).await?;
            earlier_logs.push(wire::AttemptLog { attempt: attempt.attempt, log });
        }
        jobs.push(wire::JobLog { job: to_wire::job_with_attempts(&job, &attempts), log, earlier_logs });
    }
    let logs = wire::RunLogs { run: run.id.get(), status: to_wire::run_status(run.status), result: run.result, jobs };
    Ok(Json(logs).into_response())
}

/// Asks a run to stop (contributor): queued jobs are cancelled, running ones stopped.
#[utoipa::path(post, path = "/runs/{id}/cancel", tag = "runs",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 202, description = "The run, asked to stop.", body = wire::Run),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn cancel_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<(StatusCode, Json<wire::Run>), ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path(id) = id?;
    let run = find_run(&state, id).await?;
    Ok((StatusCode::ACCEPTED, Json(to_wire::run(&cancel(&state, &run).await?))))
}

/// Runs a completed run again (contributor): whole, as a new run (201), or only its failed jobs,
/// in place (202).
#[utoipa::path(post, path = "/runs/{id}/rerun", tag = "runs", request_body = wire::Rerun,
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 201, description = "The new run (a whole re-run).", body = wire::Run,
            headers(("location" = String, description = "The new run's URL."))),
        (status = 202, description = "The run, its failed jobs queued again.", body = wire::Run),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem),
        (status = 422, response = wire::Problem)))]
async fn rerun(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::Rerun>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path(id) = id?;
    let Json(body) = body?;
    let run = find_run(&state, id).await?;
    if body.failed_only {
        let updated = rerun_failed(&state, &caller, &run).await?;
        Ok((StatusCode::ACCEPTED, Json(to_wire::run(&updated))).into_response())
    } else {
        let created = rerun_whole(&state, &caller, &run).await?;
        let location = format!("/api/v1/runs/{}", created.id);
        Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(to_wire::run(&created))).into_response())
    }
}

/// Marks a run to be kept by retention, or not (contributor).
#[utoipa::path(post, path = "/runs/{id}/keep", tag = "runs", request_body = wire::KeepRun,
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run.", body = wire::Run),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn keep_run(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::KeepRun>, JsonRejection>,
) -> Result<Json<wire::Run>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(to_wire::run(&keep(&state, &caller, RunId(id), body.keep).await?)))
}
