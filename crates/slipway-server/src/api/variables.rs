//! Variables: a pipeline's (`/pipelines/{name}/variables`) and the variable groups
//! (`/variable-groups`, Azure's Library). The rules are the service's
//! ([`slipway_service::variables`]); a secret's value is never answered.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_api as wire;
use slipway_service::variables::{
    create_variable_group, delete_group_variable, delete_pipeline_variable, delete_variable_group, pipeline_variables,
    set_group_variable, set_pipeline_variable, variable_group, variable_groups,
};
use slipway_store::UserRole;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_pipeline_variables);
    let routes = route!(routes, set_pipeline_variable_route, delete_pipeline_variable_route);
    let routes = route!(routes, list_groups, create_group);
    let routes = route!(routes, show_group, delete_group);
    route!(routes, set_group_variable_route, delete_group_variable_route)
}

/// A pipeline's variables (reader).
#[utoipa::path(get, path = "/pipelines/{name}/variables", tag = "variables",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses(
        (status = 200, description = "Its variables, by name; secrets' values are null.", body = Vec<wire::Variable>),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn list_pipeline_variables(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<wire::Variable>>, ApiError> {
    let Path(name) = name?;
    Ok(Json(pipeline_variables(&state, &caller, &name).await?.1))
}

/// Sets a pipeline's variable (contributor).
#[utoipa::path(put, path = "/pipelines/{name}/variables/{var}", tag = "variables", request_body = wire::SetVariable,
    params(("name" = String, Path, description = "The pipeline's name."),
        ("var" = String, Path, description = "The variable's name.")),
    responses(
        (status = 200, description = "The variable.", body = wire::Variable),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn set_pipeline_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<wire::SetVariable>, JsonRejection>,
) -> Result<Json<wire::Variable>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path((name, variable)) = path?;
    let Json(body) = body?;
    Ok(Json(set_pipeline_variable(&state, &caller, &name, &variable, body).await?))
}

/// Deletes a pipeline's variable (contributor).
#[utoipa::path(delete, path = "/pipelines/{name}/variables/{var}", tag = "variables",
    params(("name" = String, Path, description = "The pipeline's name."),
        ("var" = String, Path, description = "The variable's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn delete_pipeline_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, variable)) = path?;
    delete_pipeline_variable(&state, &caller, &name, &variable).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every variable group (reader).
#[utoipa::path(get, path = "/variable-groups", tag = "variables",
    responses(
        (status = 200, description = "The groups, by name.", body = Vec<wire::VariableGroup>),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<wire::VariableGroup>>, ApiError> {
    Ok(Json(variable_groups(&state, &caller).await?))
}

/// Creates a variable group (admin).
#[utoipa::path(post, path = "/variable-groups", tag = "variables", request_body = wire::CreateGroup,
    responses(
        (status = 201, description = "The group.", body = wire::VariableGroup,
            headers(("location" = String, description = "The group's URL."))),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreateGroup>, JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(UserRole::Admin)?;
    let Json(body) = body?;
    let group = create_variable_group(&state, &caller, body).await?;
    let location = format!("/api/v1/variable-groups/{}", wire::path_segment(&group.name));
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(group)).into_response())
}

/// One variable group (reader); names are compared ignoring case.
#[utoipa::path(get, path = "/variable-groups/{group}", tag = "variables",
    params(("group" = String, Path, description = "The group's name.")),
    responses(
        (status = 200, description = "The group.", body = wire::VariableGroup),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn show_group(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::VariableGroup>, ApiError> {
    let Path(group) = group?;
    Ok(Json(variable_group(&state, &caller, &group).await?))
}

/// Deletes a variable group (admin).
#[utoipa::path(delete, path = "/variable-groups/{group}", tag = "variables",
    params(("group" = String, Path, description = "The group's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(group) = group?;
    delete_variable_group(&state, &caller, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a variable of a group (contributor).
#[utoipa::path(put, path = "/variable-groups/{group}/variables/{var}", tag = "variables",
    request_body = wire::SetVariable,
    params(("group" = String, Path, description = "The group's name."),
        ("var" = String, Path, description = "The variable's name.")),
    responses(
        (status = 200, description = "The variable.", body = wire::Variable),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn set_group_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<wire::SetVariable>, JsonRejection>,
) -> Result<Json<wire::Variable>, ApiError> {
    caller.require(UserRole::Contributor)?;
    let Path((group, variable)) = path?;
    let Json(body) = body?;
    Ok(Json(set_group_variable(&state, &caller, &group, &variable, body).await?))
}

/// Deletes a variable of a group (contributor).
#[utoipa::path(delete, path = "/variable-groups/{group}/variables/{var}", tag = "variables",
    params(("group" = String, Path, description = "The group's name."),
        ("var" = String, Path, description = "The variable's name.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn delete_group_variable_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((group, variable)) = path?;
    delete_group_variable(&state, &caller, &group, &variable).await?;
    Ok(StatusCode::NO_CONTENT)
}
