//! Feature flags: an environment's flagd document read and changed (whole, or one flag), with
//! its revision for optimistic concurrency (`ETag` on reads; `If-Match` or a `revision` field on
//! changes, 409 when it moved on), and the OpenFeature Remote Evaluation Protocol (OFREP) for
//! applications.
//!
//! OFREP is served per environment under the environment's path: an OFREP provider's base URL is
//! `https://SLIPWAY/api/v1/environments/NAME` (OFREP's provider guideline: the base URL is what
//! comes before the `/ofrep` namespace), so the usual paths follow it:
//! `POST .../ofrep/v1/evaluate/flags/{key}` and `POST .../ofrep/v1/evaluate/flags` (bulk, with
//! `ETag` and `If-None-Match`). An application authenticates as any caller does (a reader's
//! token in the provider's `Authorization` header). The answers are OFREP's shapes, mapped from
//! an evaluation as flagd maps its own (flagd's `core/pkg/service/ofrep/models.go`); only
//! authentication and an unknown environment answer problem+json.

use std::hash::{Hash as _, Hasher as _};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use slipway_delivery::flags::{ErrorCode, EvaluationContext, Reason, Resolution};
use slipway_service::flags as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, get_flags, put_flags);
    let routes = route!(routes, set_flag, put_flag, delete_flag);
    let routes = route!(routes, ofrep_evaluate);
    route!(routes, ofrep_bulk)
}

/// The revision an `If-Match` header names (`"3"`, `3` or `W/"3"`), and a body's `revision`:
/// one revision, or none.
fn revision(headers: &HeaderMap, field: Option<i64>) -> Result<Option<i64>, ApiError> {
    let header = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
            Some(text.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "If-Match must name a revision (a number, as the ETag of GET), not {text:?}"
                ))
            })?)
        }
    };
    match (header, field) {
        (Some(header), Some(field)) if header != field => Err(ApiError::bad_request(format!(
            "If-Match says revision {header} and the body revision {field}: give one"
        ))),
        (header, field) => Ok(header.or(field)),
    }
}

/// A flag set answered with its revision as `ETag`.
fn with_etag(set: wire::FlagSet) -> Response {
    let etag = format!("\"{}\"", set.revision);
    let mut response = Json(set).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// An environment's flags: its flagd document, revision (also the `ETag`) and flags (reader).
#[utoipa::path(get, path = "/environments/{name}/flags", tag = "flags",
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 200, description = "The flags.", body = wire::FlagSet),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn get_flags(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    Ok(with_etag(service::get(&state, &caller, &name).await?))
}

/// Replaces an environment's whole flag document (contributor); 422 names every mistake.
#[utoipa::path(put, path = "/environments/{name}/flags", tag = "flags", request_body = wire::PutFlags,
    params(("name" = String, Path, description = "The environment's name."),
        ("If-Match" = Option<String>, Header, description = "Save only over this revision.")),
    responses((status = 200, description = "The flags as saved.", body = wire::FlagSet),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn put_flags(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<wire::PutFlags>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    let revision = revision(&headers, body.revision)?;
    Ok(with_etag(service::replace(&state, &caller, &name, body.document, revision).await?))
}

/// Changes one flag's state and/or default variant (contributor).
#[utoipa::path(patch, path = "/environments/{name}/flags/{key}", tag = "flags", request_body = wire::SetFlag,
    params(("name" = String, Path, description = "The environment's name."), ("key" = String, Path, description = "The flag's key."),
        ("If-Match" = Option<String>, Header, description = "Change only this revision.")),
    responses((status = 200, description = "The flags as saved.", body = wire::FlagSet),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn set_flag(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<wire::SetFlag>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Path((name, key)) = path?;
    let Json(mut body) = body?;
    body.revision = revision(&headers, body.revision)?;
    Ok(with_etag(service::set(&state, &caller, &name, &key, &body).await?))
}

/// Adds or replaces one whole flag, as flagd JSON (contributor).
#[utoipa::path(put, path = "/environments/{name}/flags/{key}", tag = "flags",
    request_body(content = Object, description = "The flag as flagd defines one: state, variants, defaultVariant, targeting, metadata."),
    params(("name" = String, Path, description = "The environment's name."), ("key" = String, Path, description = "The flag's key."),
        ("If-Match" = Option<String>, Header, description = "Change only this revision.")),
    responses((status = 200, description = "The flags as saved.", body = wire::FlagSet),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn put_flag(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Path((name, key)) = path?;
    let Json(body) = body?;
    let revision = revision(&headers, None)?;
    Ok(with_etag(service::put_flag(&state, &caller, &name, &key, body, revision).await?))
}

/// Removes one flag (contributor).
#[utoipa::path(delete, path = "/environments/{name}/flags/{key}", tag = "flags",
    params(("name" = String, Path, description = "The environment's name."), ("key" = String, Path, description = "The flag's key."),
        ("If-Match" = Option<String>, Header, description = "Change only this revision.")),
    responses((status = 200, description = "The flags as saved.", body = wire::FlagSet),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn delete_flag(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((name, key)) = path?;
    let revision = revision(&headers, None)?;
    Ok(with_etag(service::delete_flag(&state, &caller, &name, &key, revision).await?))
}

/// An OFREP request's context: an empty body is an empty context (as flagd takes it); a body
/// that is not `{"context": {...}}` is OFREP's `INVALID_CONTEXT`.
fn context(body: &[u8]) -> Result<EvaluationContext, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(EvaluationContext::new());
    }
    let request: wire::OfrepRequest =
        serde_json::from_slice(body).map_err(|error| format!("the request is not an OFREP request: {error}"))?;
    match request.context {
        serde_json::Value::Object(context) => Ok(context),
        serde_json::Value::Null => Ok(EvaluationContext::new()),
        other => Err(format!("the context must be an object, not {other}")),
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    (status, Json(body)).into_response()
}

/// An evaluation in OFREP's terms: success (no value nor variant when the application's own
/// default is to be used) or failure, with the status a single evaluation answers.
fn ofrep(resolution: Resolution) -> (StatusCode, wire::OfrepEvaluation) {
    let mut answer = wire::OfrepEvaluation {
        key: resolution.key,
        metadata: resolution.metadata,
        ..wire::OfrepEvaluation::default()
    };
    match resolution.reason {
        Reason::Error => {
            let code = resolution.error_code.unwrap_or(ErrorCode::General);
            answer.error_code = Some(code.as_str().to_owned());
            answer.error_details = resolution.error_details;
            let status = if code == ErrorCode::FlagNotFound { StatusCode::NOT_FOUND } else { StatusCode::BAD_REQUEST };
            (status, answer)
        }
        reason => {
            answer.reason = Some(reason.as_str().to_owned());
            answer.value = resolution.value;
            answer.variant = resolution.variant;
            (StatusCode::OK, answer)
        }
    }
}

/// Evaluates one flag for the request's context (OFREP; reader).
#[utoipa::path(post, path = "/environments/{name}/ofrep/v1/evaluate/flags/{key}", tag = "flags",
    request_body = wire::OfrepRequest,
    params(("name" = String, Path, description = "The environment's name."), ("key" = String, Path, description = "The flag's key.")),
    responses((status = 200, description = "The evaluation.", body = wire::OfrepEvaluation),
        (status = 400, description = "The flag cannot be evaluated (`PARSE_ERROR`, `GENERAL`), or the context is not valid (`INVALID_CONTEXT`).", body = wire::OfrepEvaluation),
        (status = 404, description = "No such flag (`FLAG_NOT_FOUND`).", body = wire::OfrepEvaluation),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn ofrep_evaluate(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path((name, key)) = path?;
    let context = match context(&body) {
        Ok(context) => context,
        Err(details) => {
            let failure = wire::OfrepEvaluation {
                key,
                error_code: Some(ErrorCode::InvalidContext.as_str().to_owned()),
                error_details: Some(details),
                ..wire::OfrepEvaluation::default()
            };
            return Ok(json_response(StatusCode::BAD_REQUEST, &failure));
        }
    };
    let (_, document) = slipway_service::flags::document(&state, &caller, &name).await?;
    let (status, answer) = ofrep(document.evaluate(&key, &context));
    Ok(json_response(status, &answer))
}

/// Evaluates every flag of the environment for the request's context (OFREP's bulk evaluation;
/// reader). The `ETag` names the answer: with it in `If-None-Match`, an unchanged answer is a 304.
#[utoipa::path(post, path = "/environments/{name}/ofrep/v1/evaluate/flags", tag = "flags",
    request_body = wire::OfrepRequest,
    params(("name" = String, Path, description = "The environment's name."),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of an earlier answer.")),
    responses((status = 200, description = "Every flag's evaluation.", body = wire::OfrepBulk,
            headers(("ETag" = String, description = "Names this answer."))),
        (status = 304, description = "The answer is the one the If-None-Match names."),
        (status = 400, description = "The context is not valid (`INVALID_CONTEXT`).", body = wire::OfrepFailure),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn ofrep_bulk(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let context = match context(&body) {
        Ok(context) => context,
        Err(details) => {
            let failure = wire::OfrepFailure {
                key: None,
                error_code: Some(ErrorCode::InvalidContext.as_str().to_owned()),
                error_details: details,
            };
            return Ok(json_response(StatusCode::BAD_REQUEST, &failure));
        }
    };
    let (revision, document) = slipway_service::flags::document(&state, &caller, &name).await?;
    let bulk = wire::OfrepBulk {
        flags: document.evaluate_all(&context).into_iter().map(|resolution| ofrep(resolution).1).collect(),
        metadata: document.metadata().clone(),
    };
    let text = serde_json::to_string(&bulk).map_err(|error| ApiError::Internal(error.to_string()))?;
    // The answer's own hash: a change of document or of the context's outcome changes it.
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    let etag = format!("\"{revision}-{:016x}\"", hasher.finish());
    let etag_value = HeaderValue::from_str(&etag).map_err(|error| ApiError::Internal(error.to_string()))?;
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], text).into_response()
    };
    response.headers_mut().insert(header::ETAG, etag_value);
    Ok(response)
}
