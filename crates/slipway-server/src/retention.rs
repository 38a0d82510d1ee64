//! Retention's API: a pipeline's settings (through `PATCH /pipelines/{name}`) and keeping a run
//! (`POST /runs/{id}/keep`). The cleanup itself is the engine's ([`slipway_engine::retention`]).

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use serde::Deserialize;
use slipway_store::{Pipeline, RetentionPolicy, Run, RunId, StoreError, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The most days or runs a retention setting may name.
const MAX_RETENTION: u32 = 1_000_000;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/runs/{id}/keep", post(keep_run))
}

/// Retention settings as the API takes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Keep runs that finished less than this many days ago; `null` for no limit by age.
    #[serde(default)]
    pub days: Option<u32>,
    /// Keep the newest this many completed runs; `null` for no limit by count.
    #[serde(default)]
    pub runs: Option<u32>,
}

fn check_limit(what: &str, value: Option<u32>) -> Result<(), ApiError> {
    match value {
        Some(0) => Err(ApiError::bad_request(format!("retention {what} must be at least 1 (or null for no limit)"))),
        Some(value) if value > MAX_RETENTION => {
            Err(ApiError::bad_request(format!("retention {what} may be at most {MAX_RETENTION}")))
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
) -> Result<Pipeline, ApiError> {
    caller.require(UserRole::Admin)?;
    let pipeline = state
        .store()
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no pipeline named '{name}'")))?;
    let mut settings = pipeline.settings();
    if let Some(retention) = retention {
        check_limit("days", retention.days)?;
        check_limit("runs", retention.runs)?;
        settings.retention = RetentionPolicy { days: retention.days, runs: retention.runs };
    }
    let updated = state.store().update_pipeline(pipeline.id, &settings).await?;
    let entry = slipway_store::NewAuditEntry {
        actor: caller.user.name.clone(),
        action: "pipeline.update".into(),
        target: Some(updated.name.clone()),
        details: serde_json::json!({ "retention": updated.retention }),
    };
    let _ = state.store().record_audit(&entry).await;
    Ok(updated)
}

/// The body of `POST /runs/{id}/keep`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepRun {
    /// Whether retention must keep the run.
    pub keep: bool,
}

/// Marks a run to be kept by retention, or not (contributor); gives the run.
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown run.
pub async fn keep(state: &AppState, caller: &Caller, id: RunId, keep: bool) -> Result<Run, ApiError> {
    caller.require(UserRole::Contributor)?;
    let store = state.store();
    let missing = |error: StoreError| {
        if error.is_not_found() { ApiError::NotFound(format!("no run {id}")) } else { ApiError::from(error) }
    };
    store.set_run_keep(id, keep).await.map_err(missing)?;
    let entry = slipway_store::NewAuditEntry {
        actor: caller.user.name.clone(),
        action: if keep { "run.keep" } else { "run.unkeep" }.into(),
        target: Some(format!("run {id}")),
        details: serde_json::json!({ "keep": keep }),
    };
    let _ = store.record_audit(&entry).await;
    store.run(id).await.map_err(missing)
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
