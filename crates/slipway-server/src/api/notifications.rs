//! Notification subscriptions and their deliveries.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use slipway_api as wire;
use slipway_service::notifications as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_subscriptions, create_subscription);
    let routes = route!(routes, show_subscription, delete_subscription);
    let routes = route!(routes, test_subscription);
    route!(routes, list_deliveries)
}

/// Every subscription, oldest first, targets masked and secrets never shown (reader).
#[utoipa::path(get, path = "/notifications/subscriptions", tag = "notifications",
    responses((status = 200, description = "The subscriptions.", body = Vec<wire::NotificationSubscription>),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<wire::NotificationSubscription>>, ApiError> {
    Ok(Json(service::list(&state, &caller).await?))
}

/// Subscribes Slack, Teams, an e-mail address or a webhook to the event stream (admin).
#[utoipa::path(post, path = "/notifications/subscriptions", tag = "notifications",
    request_body = wire::CreateNotificationSubscription,
    responses((status = 201, description = "Created.", body = wire::NotificationSubscription),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn create_subscription(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreateNotificationSubscription>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::NotificationSubscription>), ApiError> {
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::create(&state, &caller, &body).await?)))
}

/// A subscription (reader).
#[utoipa::path(get, path = "/notifications/subscriptions/{id}", tag = "notifications",
    params(("id" = i64, Path, description = "The subscription's id.")),
    responses((status = 200, description = "The subscription.", body = wire::NotificationSubscription),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_subscription(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::NotificationSubscription>, ApiError> {
    let Path(id) = id?;
    Ok(Json(service::get(&state, &caller, id).await?))
}

/// Deletes a subscription and its delivery log (admin).
#[utoipa::path(delete, path = "/notifications/subscriptions/{id}", tag = "notifications",
    params(("id" = i64, Path, description = "The subscription's id.")),
    responses((status = 204, description = "Deleted."),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_subscription(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    service::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a test notification for a subscription, sent as any other (admin).
#[utoipa::path(post, path = "/notifications/subscriptions/{id}/test", tag = "notifications",
    params(("id" = i64, Path, description = "The subscription's id.")),
    responses((status = 202, description = "Queued.", body = wire::NotificationDelivery),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn test_subscription(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<(StatusCode, Json<wire::NotificationDelivery>), ApiError> {
    let Path(id) = id?;
    Ok((StatusCode::ACCEPTED, Json(service::test(&state, &caller, id).await?)))
}

/// The delivery log, newest first (reader).
#[utoipa::path(get, path = "/notifications/deliveries", tag = "notifications",
    params(wire::NotificationDeliveriesQuery),
    responses((status = 200, description = "Deliveries.", body = Vec<wire::NotificationDelivery>),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::NotificationDeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<wire::NotificationDelivery>>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::deliveries(&state, &caller, &query).await?))
}
