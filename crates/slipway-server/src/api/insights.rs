//! Insights: DORA's four keys of an environment's delivery performance.

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
    route!(routes, environment_dora)
}

/// DORA's four keys of an environment over the last days: deployment frequency, lead time for
/// changes, change failure rate and failed deployment recovery time, each with the deployments it
/// rests on and DORA's performance level (reader).
#[utoipa::path(get, path = "/environments/{name}/dora", tag = "insights",
    params(("name" = String, Path, description = "The environment's name."), wire::DoraQuery),
    responses((status = 200, description = "The four keys.", body = wire::DoraMetrics),
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
