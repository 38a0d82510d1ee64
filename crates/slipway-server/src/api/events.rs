//! The event stream: reading it (`GET /events`, with a long poll for subscribers), and pushing
//! CDEvents (`POST /events`: structured or binary CloudEvents, bare CDEvents, batches) and DevLake
//! webhook payloads (`POST /events/devlake/...`) into it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use slipway_api as wire;

use slipway_service::events::{self as service, BinaryAttributes};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The largest body pushed in (a batch of up to 1,000 events).
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_events, push_events; layer = DefaultBodyLimit::max(MAX_EVENT_BYTES));
    let routes = route!(routes, devlake_deployment; layer = DefaultBodyLimit::max(MAX_EVENT_BYTES));
    let routes = route!(routes, devlake_incident; layer = DefaultBodyLimit::max(MAX_EVENT_BYTES));
    route!(routes, devlake_close)
}

/// Reads a JSON body, whatever its media type says (CloudEvents' own, or none); an empty body is
/// `None`.
fn json_body(body: Result<Bytes, BytesRejection>, optional: bool) -> Result<Option<Value>, ApiError> {
    let body =
        body.map_err(|rejection| ApiError::BadRequest { status: rejection.status(), detail: rejection.body_text() })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return if optional { Ok(None) } else { Err(ApiError::bad_request("the body is empty: send a JSON object")) };
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|error| ApiError::bad_request(format!("the body is not JSON: {error}")))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

/// The stream's events, oldest first, after a position (reader). With `wait`, a request that
/// finds none waits up to that many seconds for one: subscribers follow the stream by asking
/// again with `after` set to the page's `next`.
#[utoipa::path(get, path = "/events", tag = "events",
    params(wire::EventsQuery),
    responses((status = 200, description = "A page of the stream.", body = wire::EventPage),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::EventsQuery>, QueryRejection>,
) -> Result<Json<wire::EventPage>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::list(&state, &caller, &query).await?))
}

/// Pushes CDEvents 0.5.1 into the stream (contributor): a structured CloudEvent
/// (`application/cloudevents+json`, the CDEvent as `data`), a CDEvent in binary mode (`ce-*`
/// headers), a bare CDEvent, or a batch (a JSON array, `application/cloudevents-batch+json`).
/// Each is checked against its CDEvents schema, every problem named at its JSON pointer; nothing
/// is stored unless all are valid. An event whose source and id are there already is not stored
/// again. Deployments (`service.deployed`, ...) and incidents count in DORA like Slipway's own.
#[utoipa::path(post, path = "/events", tag = "events",
    request_body(content = Object, description = "A CloudEvent, a CDEvent, or an array of them.",
        content_type = "application/cloudevents+json"),
    responses((status = 202, description = "What became of each event.", body = [wire::EventAccepted]),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn push_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Vec<wire::EventAccepted>>), ApiError> {
    let body = json_body(body, false)?.unwrap_or(Value::Null);
    let attributes = BinaryAttributes {
        specversion: header(&headers, "ce-specversion"),
        id: header(&headers, "ce-id"),
        source: header(&headers, "ce-source"),
        event_type: header(&headers, "ce-type"),
        subject: header(&headers, "ce-subject"),
        time: header(&headers, "ce-time"),
    };
    let accepted = service::push(&state, &caller, &body, &attributes).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// A deployment Slipway did not run, in DevLake's webhook payload (contributor): `id`,
/// `startedDate`, `finishedDate`, `result`, `environment`, `deploymentCommits` with `repoUrl` and
/// `commitSha`; stored as `service.deployed` (or a failed deployment).
#[utoipa::path(post, path = "/events/devlake/deployments", tag = "events",
    request_body(content = Object, description = "DevLake's deployment payload.", content_type = "application/json"),
    responses((status = 202, description = "The event it became.", body = wire::EventAccepted),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn devlake_deployment(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<wire::EventAccepted>), ApiError> {
    let body = json_body(body, false)?.unwrap_or(Value::Null);
    Ok((StatusCode::ACCEPTED, Json(service::devlake_deployment(&state, &caller, &body).await?)))
}

/// An incident, in DevLake's webhook payload for issues of type `INCIDENT` (contributor):
/// `issueKey`, `title`, `originalStatus`, `createdDate`, `status` (`DONE` resolves it),
/// `resolutionDate`; stored as `incident.detected` or `incident.resolved`.
#[utoipa::path(post, path = "/events/devlake/incidents", tag = "events",
    request_body(content = Object, description = "DevLake's issue payload.", content_type = "application/json"),
    responses((status = 202, description = "The event it became.", body = wire::EventAccepted),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn devlake_incident(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<wire::EventAccepted>), ApiError> {
    let body = json_body(body, false)?.unwrap_or(Value::Null);
    Ok((StatusCode::ACCEPTED, Json(service::devlake_incident(&state, &caller, &body).await?)))
}

/// Closes an incident pushed as DevLake's payload, by its key (contributor): `incident.resolved`,
/// at `resolutionDate` or now.
#[utoipa::path(post, path = "/events/devlake/incidents/{key}/close", tag = "events",
    params(("key" = String, Path, description = "The incident's issueKey.")),
    request_body(content = Option<wire::DevLakeClose>, description = "Optional.", content_type = "application/json"),
    responses((status = 202, description = "The event it became.", body = wire::EventAccepted),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn devlake_close(
    State(state): State<AppState>,
    caller: Caller,
    key: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<wire::EventAccepted>), ApiError> {
    let Path(key) = key?;
    let close = match json_body(body, true)? {
        None => wire::DevLakeClose::default(),
        Some(value) => serde_json::from_value(value)
            .map_err(|error| ApiError::bad_request(format!("the body is not DevLake's close request: {error}")))?,
    };
    Ok((StatusCode::ACCEPTED, Json(service::devlake_close(&state, &caller, &key, &close).await?)))
}
