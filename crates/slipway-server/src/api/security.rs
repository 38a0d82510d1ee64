//! Security: what a run's security reports say and whether its artifacts' signed provenance
//! verifies; the signed provenance of one artifact; a pipeline's newest security results.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use slipway_api as wire;
use slipway_service::{provenance, security as service};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, run_security);
    let routes = route!(routes, pipeline_security);
    let routes = route!(routes, rotate_provenance_key);
    route!(routes, artifact_provenance)
}

/// Makes a new signing key for provenance; the old one is retired (it signs no more, and what it
/// signed still verifies) (admin).
#[utoipa::path(post, path = "/provenance/keys/rotate", tag = "security",
    responses((status = 200, description = "The public keys after the rotation.", body = serde_json::Value),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn rotate_provenance_key(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let document = provenance::rotate(&state, &caller).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], document).into_response())
}

/// What a run's published security reports (SARIF, CycloneDX, SPDX files in its artifacts) say,
/// and each artifact's signed-provenance verdict (reader).
#[utoipa::path(get, path = "/runs/{id}/security", tag = "security",
    params(("id" = i64, Path, description = "The run's id.")),
    responses((status = 200, description = "The run's security.", body = wire::RunSecurity),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn run_security(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::RunSecurity>, ApiError> {
    let Path(id) = id?;
    Ok(Json(service::run_security(&state, &caller, slipway_store::RunId(id)).await?))
}

/// A pipeline's newest completed run with security reports or artifacts, and what they say
/// (reader).
#[utoipa::path(get, path = "/pipelines/{name}/security", tag = "security",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses((status = 200, description = "The pipeline's security.", body = wire::PipelineSecurity),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn pipeline_security(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::PipelineSecurity>, ApiError> {
    let Path(name) = name?;
    Ok(Json(service::pipeline_security(&state, &caller, &name).await?))
}

/// An artifact's signed provenance: the DSSE envelope (an in-toto statement with a SLSA
/// provenance v1 predicate) the server signed when the artifact was published; `slipway verify`
/// checks it offline with the keys at `/.well-known/slipway/provenance-keys.json` (reader).
#[utoipa::path(get, path = "/runs/{id}/artifacts/{name}/provenance", tag = "security",
    params(("id" = i64, Path, description = "The run's id."), ("name" = String, Path, description = "The artifact's name.")),
    responses((status = 200, description = "The DSSE envelope.", body = serde_json::Value),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn artifact_provenance(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(i64, String)>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path((id, name)) = path?;
    Ok(Json(provenance::envelope(&state, &caller, slipway_store::RunId(id), &name).await?))
}
