//! Evidence bundles of deployments and runs: one signed tar.gz each, with a readable index page
//! (reader). See docs/evidence.md.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use slipway_api as wire;
use slipway_service::evidence::{self as service, Subject};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, run_evidence);
    route!(routes, deployment_evidence)
}

/// The bundle as a download.
fn download(bundle: service::Bundle) -> Response {
    (
        [
            (header::CONTENT_TYPE, wire::evidence::EVIDENCE_MEDIA_TYPE.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", bundle.file_name)),
        ],
        bundle.bytes,
    )
        .into_response()
}

/// A run's evidence bundle: the run, its commit, linked work items, approvals and checks with
/// who decided and when, test results, security reports, SBOMs, provenance and its deployments,
/// as a gzip-compressed tar with `index.html`, `evidence.json`, the attached files and a manifest
/// signed with the server's provenance key ring; `slipway evidence verify` checks it (reader).
#[utoipa::path(get, path = "/runs/{id}/evidence", tag = "evidence",
    params(("id" = i64, Path, description = "The run's id.")),
    responses((status = 200, description = "The signed evidence bundle.", content_type = "application/gzip", body = Vec<u8>),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn run_evidence(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id?;
    Ok(download(service::bundle(&state, &caller, &Subject::Run(id)).await?))
}

/// A deployment's evidence bundle: as a run's, with the deployment, the commits since the
/// environment's previous successful deployment and the analysis runs that judged it (reader).
#[utoipa::path(get, path = "/environments/{name}/deployments/{id}/evidence", tag = "evidence",
    params(("name" = String, Path, description = "The environment's name."), ("id" = i64, Path, description = "The deployment's id.")),
    responses((status = 200, description = "The signed evidence bundle.", content_type = "application/gzip", body = Vec<u8>),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn deployment_evidence(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((environment, id)) = path?;
    Ok(download(service::bundle(&state, &caller, &Subject::Deployment { environment, id }).await?))
}
