//! Evidence bundles of deployments and runs in the web UI: the signed tar.gz downloaded with
//! the signed-in user as the caller (`/runs/{id}/evidence`,
//! `/environments/{name}/deployments/{id}/evidence`, what the API serves under `/api/v1`), and
//! the links to them on a run's page and in an environment's deployment history.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use maud::{Markup, html};
use slipway_service::AppState;
use slipway_service::evidence::{self as service, Subject};

use super::{UiError, Viewer, url_encode};

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/runs/{id}/evidence", get(run_evidence))
        .route("/environments/{name}/deployments/{id}/evidence", get(deployment_evidence))
}

/// The link to a run's evidence bundle.
pub(crate) fn run_link(run: i64) -> Markup {
    html! {
        a href=(format!("/runs/{run}/evidence")) download title="A signed archive of the run's changes, approvals, checks, tests and security results" { "Evidence" }
    }
}

/// The link to a deployment's evidence bundle.
pub(crate) fn deployment_link(environment: &str, deployment: i64) -> Markup {
    html! {
        a.muted href=(format!("/environments/{}/deployments/{deployment}/evidence", url_encode(environment))) download
            title="A signed archive of the deployment's changes, approvals, checks, tests, security results and analysis" { "evidence" }
    }
}

fn download(bundle: service::Bundle) -> Response {
    (
        [
            (header::CONTENT_TYPE, slipway_api::evidence::EVIDENCE_MEDIA_TYPE.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", bundle.file_name)),
        ],
        bundle.bytes,
    )
        .into_response()
}

/// `GET /runs/{id}/evidence`.
async fn run_evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Response, UiError> {
    let Path(id) = id.map_err(|_| UiError::bad_request("a run's id is a number"))?;
    Ok(download(service::bundle(&state, &viewer.caller(), &Subject::Run(id)).await?))
}

/// `GET /environments/{name}/deployments/{id}/evidence`.
async fn deployment_evidence(
    State(state): State<AppState>,
    viewer: Viewer,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<Response, UiError> {
    let Path((environment, id)) =
        path.map_err(|_| UiError::bad_request("a deployment is named by its environment and its id (a number)"))?;
    Ok(download(service::bundle(&state, &viewer.caller(), &Subject::Deployment { environment, id }).await?))
}
