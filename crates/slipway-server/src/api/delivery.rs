//! Services in environments and their slots: the traffic router's configuration, and its
//! metrics.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use slipway_api as wire;
use slipway_service::delivery as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_services, create_service);
    let routes = route!(routes, show_service, delete_service);
    let routes = route!(routes, set_slot, delete_slot);
    let routes = route!(routes, show_analysis_run);
    let routes = route!(routes, decide_analysis_run);
    let routes = route!(routes, set_traffic);
    let routes = route!(routes, swap_slots);
    route!(routes, router_metrics)
}

/// The services of an environment with their slots, weights and requests (reader).
#[utoipa::path(get, path = "/environments/{name}/services", tag = "delivery",
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 200, description = "The services.", body = wire::ServiceList),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn list_services(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::ServiceList>, ApiError> {
    let Path(name) = name?;
    Ok(Json(wire::ServiceList { services: service::list(&state, &caller, &name).await? }))
}

/// Creates a service, its router listening on `listen` (admin).
#[utoipa::path(post, path = "/environments/{name}/services", tag = "delivery", request_body = wire::CreateService,
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 201, description = "Created.", body = wire::Service),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn create_service(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::CreateService>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Service>), ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::create(&state, &caller, &name, &body).await?)))
}

/// One service (reader).
#[utoipa::path(get, path = "/environments/{name}/services/{service}", tag = "delivery",
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name.")),
    responses((status = 200, description = "The service.", body = wire::Service),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_service(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<wire::Service>, ApiError> {
    let Path((name, item)) = path?;
    Ok(Json(service::show(&state, &caller, &name, &item).await?))
}

/// Deletes a service; its router stops (admin).
#[utoipa::path(delete, path = "/environments/{name}/services/{service}", tag = "delivery",
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name.")),
    responses((status = 204, description = "Deleted."), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_service(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, item)) = path?;
    service::delete(&state, &caller, &name, &item).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds or replaces a slot: its upstream and weight (contributor).
#[utoipa::path(put, path = "/environments/{name}/services/{service}/slots/{slot}", tag = "delivery", request_body = wire::SetSlot,
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name."),
        ("slot" = String, Path, description = "The slot's name.")),
    responses((status = 200, description = "The service.", body = wire::Service),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn set_slot(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Json<wire::SetSlot>, JsonRejection>,
) -> Result<Json<wire::Service>, ApiError> {
    let Path((name, item, slot)) = path?;
    let Json(body) = body?;
    Ok(Json(service::set_slot(&state, &caller, &name, &item, &slot, &body).await?))
}

/// Removes a slot (contributor).
#[utoipa::path(delete, path = "/environments/{name}/services/{service}/slots/{slot}", tag = "delivery",
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name."),
        ("slot" = String, Path, description = "The slot's name.")),
    responses((status = 200, description = "The service.", body = wire::Service), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_slot(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Json<wire::Service>, ApiError> {
    let Path((name, item, slot)) = path?;
    Ok(Json(service::delete_slot(&state, &caller, &name, &item, &slot).await?))
}

/// Sets the traffic weights of some slots; the others keep theirs (contributor).
#[utoipa::path(post, path = "/environments/{name}/services/{service}/traffic", tag = "delivery", request_body = wire::SetTraffic,
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name.")),
    responses((status = 200, description = "The service.", body = wire::Service),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn set_traffic(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<wire::SetTraffic>, JsonRejection>,
) -> Result<Json<wire::Service>, ApiError> {
    let Path((name, item)) = path?;
    let Json(body) = body?;
    Ok(Json(service::set_traffic(&state, &caller, &name, &item, &body).await?))
}

/// Swaps two slots' versions (a blue-green swap): each keeps its name and weight (contributor).
#[utoipa::path(post, path = "/environments/{name}/services/{service}/swap", tag = "delivery", request_body = wire::SwapSlots,
    params(("name" = String, Path, description = "The environment's name."), ("service" = String, Path, description = "The service's name.")),
    responses((status = 200, description = "The service.", body = wire::Service),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn swap_slots(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<wire::SwapSlots>, JsonRejection>,
) -> Result<Json<wire::Service>, ApiError> {
    let Path((name, item)) = path?;
    let Json(body) = body?;
    Ok(Json(service::swap(&state, &caller, &name, &item, &body).await?))
}

/// An analysis run with every measurement (reader): what a delivery task started, as
/// `slipway_events::delivery::AnalysisState` (`id`, `phase`, `message`, `metrics` with their
/// `measurements`).
#[utoipa::path(get, path = "/analysis-runs/{id}", tag = "delivery",
    params(("id" = i64, Path, description = "The analysis run's id.")),
    responses((status = 200, description = "The analysis run.", body = Object),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_analysis_run(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<slipway_events::delivery::AnalysisState>, ApiError> {
    let Path(id) = path?;
    Ok(Json(service::analysis_run(&state, &caller, id).await?))
}

/// Decides an inconclusive analysis run, `pass` or `fail` (contributor): the deployment waiting
/// on it goes on, or rolls back.
#[utoipa::path(post, path = "/analysis-runs/{id}/decision", tag = "delivery", request_body = wire::AnalysisDecision,
    params(("id" = i64, Path, description = "The analysis run's id.")),
    responses((status = 200, description = "The analysis run, decided.", body = Object),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn decide_analysis_run(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::AnalysisDecision>, JsonRejection>,
) -> Result<Json<slipway_events::delivery::AnalysisState>, ApiError> {
    let Path(id) = path?;
    let Json(body) = body?;
    let pass = match body.decision.as_str() {
        "pass" => true,
        "fail" => false,
        other => {
            return Err(ApiError::bad_request(format!("'decision' is `pass` or `fail`, not `{other}`")));
        }
    };
    Ok(Json(service::decide_analysis(&state, &caller, id, pass, body.comment.as_deref()).await?))
}

/// Every router's metrics, in Prometheus's text format (reader): requests per service and slot
/// by status class, and latency histograms.
#[utoipa::path(get, path = "/metrics/router", tag = "delivery",
    responses((status = 200, description = "The metrics.", content_type = "text/plain"),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn router_metrics(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    let text = service::metrics_text(&state, &caller)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
