//! Insights: DORA's five metrics of delivery performance: an environment's over a period, and any
//! metric's series in GitLab's DORA API shape.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use slipway_api as wire;
use slipway_service::insights as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, environment_dora);
    route!(routes, dora_metrics)
}

/// DORA's five metrics of an environment over the last days: deployment frequency, lead time for
/// changes, change failure rate, failed deployment recovery time and deployment rework rate, each
/// with the deployments it rests on (`d42`; `e17` for one pushed from outside) and DORA's
/// performance level (reader).
#[utoipa::path(get, path = "/environments/{name}/dora", tag = "insights",
    params(("name" = String, Path, description = "The environment's name."), wire::DoraQuery),
    responses((status = 200, description = "The five metrics.", body = wire::DoraMetrics),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn environment_dora(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<wire::DoraQuery>, QueryRejection>,
) -> Result<Json<wire::DoraMetrics>, ApiError> {
    let Path(name) = name?;
    let Query(query) = query?;
    Ok(Json(service::dora_metrics(&state, &caller, &name, query.days).await?))
}

/// One DORA metric's series in the shape of GitLab's DORA API (`GET /projects/:id/dora/metrics`):
/// `[{"date", "value"}]` per day, week or month (UTC) from `start_date` to `end_date` (included),
/// or one for `all` (its `date` is `null`). Values: `deployment_frequency`, successful deployments
/// a day (per day over the bucket for weeks, months and `all`); `lead_time_for_changes` and
/// `time_to_restore_service`, medians in seconds; `change_failure_rate` and `rework_rate`, ratios.
/// Without `environment`, every environment whose name says production (reader).
#[utoipa::path(get, path = "/dora/metrics", tag = "insights",
    params(wire::DoraSeriesQuery),
    responses((status = 200, description = "The series.", body = Vec<wire::DoraDataPoint>),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn dora_metrics(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::DoraSeriesQuery>, QueryRejection>,
) -> Result<Json<Vec<wire::DoraDataPoint>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::dora_series(&state, &caller, &query).await?))
}
