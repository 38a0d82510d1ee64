//! The variables API: a pipeline's variables (`/pipelines/{name}/variables`) and the variable
//! groups (`/variable-groups`). The rules are the service's ([`slipway_service::variables`]).

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use slipway_service::variables::{
    CreateGroup, SetVariable, ShownGroup, ShownVariable, create_variable_group, delete_group_variable,
    delete_pipeline_variable, delete_variable_group, pipeline_variables, set_group_variable, set_pipeline_variable,
    variable_group, variable_groups,
};

use slipway_store::UserRole;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pipelines/{name}/variables", get(list_pipeline_variables_route))
        .route(
            "/pipelines/{name}/variables/{var}",
            put(set_pipeline_variable_route).delete(delete_pipeline_variable_route),
        )
        .route("/variable-groups", get(list_groups_route).post(create_group_route))
        .route("/variable-groups/{group}", get(get_group_route).delete(delete_group_route))
        .route(
            "/variable-groups/{group}/variables/{var}",
            put(set_group_variable_route).delete(delete_group_variable_route),
        )
}

/// `GET /pipelines/{name}/variables` (reader).
async fn list_pipeline_variables_route(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<ShownVariable>>, ApiError> {
    let Path(name) = name?;
    Ok(Json(pipeline_variables(&state, &caller, &name).await?.1))
}

/// `PUT /pipelines/{name}/variables/{var}` (contributor).
async fn set_pipeline_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<SetVariable>, JsonRejection>,
) -> Result<Json<ShownVariable>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path((name, variable)) = path?;
    let Json(body) = body?;
    Ok(Json(set_pipeline_variable(&state, &caller, &name, &variable, body).await?))
}

/// `DELETE /pipelines/{name}/variables/{var}` (contributor).
async fn delete_pipeline_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, variable)) = path?;
    delete_pipeline_variable(&state, &caller, &name, &variable).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /variable-groups` (reader).
async fn list_groups_route(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ShownGroup>>, ApiError> {
    Ok(Json(variable_groups(&state, &caller).await?))
}

/// `POST /variable-groups` (admin).
async fn create_group_route(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateGroup>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Admin)?;
    let Json(body) = body?;
    let group = create_variable_group(&state, &caller, body).await?;
    let location = format!("/api/v1/variable-groups/{}", group.name);
    Ok((StatusCode::CREATED, [(axum::http::header::LOCATION, location)], Json(group)).into_response())
}

/// `GET /variable-groups/{group}` (reader).
async fn get_group_route(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
) -> Result<Json<ShownGroup>, ApiError> {
    let Path(group) = group?;
    Ok(Json(variable_group(&state, &caller, &group).await?))
}

/// `DELETE /variable-groups/{group}` (admin).
async fn delete_group_route(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(group) = group?;
    delete_variable_group(&state, &caller, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /variable-groups/{group}/variables/{var}` (contributor).
async fn set_group_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<SetVariable>, JsonRejection>,
) -> Result<Json<ShownVariable>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path((group, variable)) = path?;
    let Json(body) = body?;
    Ok(Json(set_group_variable(&state, &caller, &group, &variable, body).await?))
}

/// `DELETE /variable-groups/{group}/variables/{var}` (contributor).
async fn delete_group_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((group, variable)) = path?;
    delete_group_variable(&state, &caller, &group, &variable).await?;
    Ok(StatusCode::NO_CONTENT)
}
