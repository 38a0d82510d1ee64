//! The team dashboard's figures: pipeline health, flaky tests, queue times, agent use and DORA's
//! metrics of every environment over the last days (see docs/team-dashboard.md).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use slipway_api::team as wire;
use slipway_service::team as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    route!(routes, team)
}

/// The team dashboard over the last `days` days (1 to 90, 30 when not given): per pipeline its
/// runs, pass rate (succeeded over succeeded and failed), median and 90th percentile of run
/// durations and a daily series; flaky tests (a test that failed and passed on the same commit,
/// with the runs where it did each); how long jobs waited for an agent per pool, with a daily
/// series; each agent's and pool's jobs and busy time; and DORA's five metrics of every
/// environment. `pipeline` narrows pipeline health, flaky tests and queue times to one
/// pipeline (reader).
#[utoipa::path(get, path = "/team", tag = "team",
    params(wire::TeamQuery),
    responses((status = 200, description = "The dashboard's figures.", body = wire::TeamDashboard),
        (status = 400, response = slipway_api::Problem), (status = 401, response = slipway_api::Problem),
        (status = 403, response = slipway_api::Problem), (status = 404, response = slipway_api::Problem)))]
async fn team(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::TeamQuery>, QueryRejection>,
) -> Result<Json<wire::TeamDashboard>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::dashboard(&state, &caller, &query).await?))
}
