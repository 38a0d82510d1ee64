//! Work items and incidents: bugs, tasks and incidents, their links and comments.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use slipway_api as wire;
use slipway_service::work_items as service;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_work_items, create_work_item);
    let routes = route!(routes, show_work_item, update_work_item);
    let routes = route!(routes, add_comment);
    let routes = route!(routes, add_links);
    route!(routes, show_work_item_rules, update_work_item_rules)
}

/// Work items, newest first, as the query selects (reader).
#[utoipa::path(get, path = "/work-items", tag = "work items", params(wire::WorkItemsQuery),
    responses((status = 200, description = "A page of work items.", body = wire::WorkItemPage),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn list_work_items(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::WorkItemsQuery>, QueryRejection>,
) -> Result<Json<wire::WorkItemPage>, ApiError> {
    let Query(query) = query?;
    Ok(Json(service::list(&state, &caller, &query).await?))
}

/// Opens a work item: a bug, task or incident (contributor).
#[utoipa::path(post, path = "/work-items", tag = "work items", request_body = wire::CreateWorkItem,
    responses((status = 201, description = "Opened.", body = wire::WorkItemDetails),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem)))]
async fn create_work_item(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreateWorkItem>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::WorkItemDetails>), ApiError> {
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::create(&state, &caller, &body).await?)))
}

/// A work item with its links and comments (reader).
#[utoipa::path(get, path = "/work-items/{id}", tag = "work items",
    params(("id" = i64, Path, description = "The work item's id.")),
    responses((status = 200, description = "The work item.", body = wire::WorkItemDetails),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_work_item(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::WorkItemDetails>, ApiError> {
    let Path(id) = id?;
    Ok(Json(service::get(&state, &caller, id).await?))
}

/// Changes a work item's state, assignee, title, description or severity (contributor).
/// Resolving or closing it sets when and how (`resolution`); reopening clears both.
#[utoipa::path(patch, path = "/work-items/{id}", tag = "work items", request_body = wire::UpdateWorkItem,
    params(("id" = i64, Path, description = "The work item's id.")),
    responses((status = 200, description = "The work item.", body = wire::WorkItemDetails),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 409, response = wire::Problem)))]
async fn update_work_item(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::UpdateWorkItem>, JsonRejection>,
) -> Result<Json<wire::WorkItemDetails>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(service::update(&state, &caller, id, &body).await?))
}

/// Adds a comment to a work item (contributor).
#[utoipa::path(post, path = "/work-items/{id}/comments", tag = "work items", request_body = wire::AddWorkItemComment,
    params(("id" = i64, Path, description = "The work item's id.")),
    responses((status = 201, description = "Added.", body = wire::WorkItemComment),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::AddWorkItemComment>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::WorkItemComment>), ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::add_comment(&state, &caller, id, &body).await?)))
}

/// Links a work item to runs, commits, deployments, environments or pipelines (contributor);
/// links it has already are left as they are.
#[utoipa::path(post, path = "/work-items/{id}/links", tag = "work items", request_body = wire::AddWorkItemLinks,
    params(("id" = i64, Path, description = "The work item's id.")),
    responses((status = 200, description = "The work item with its links.", body = wire::WorkItemDetails),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn add_links(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::AddWorkItemLinks>, JsonRejection>,
) -> Result<Json<wire::WorkItemDetails>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(service::add_links(&state, &caller, id, &body).await?))
}

/// A pipeline's rules for the work items its runs open (reader): whether failures open bugs,
/// the protected branches, the security threshold, whether failed deployments open incidents,
/// and whom new items go to.
#[utoipa::path(get, path = "/pipelines/{name}/work-item-rules", tag = "work items",
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses((status = 200, description = "The rules.", body = wire::WorkItemRules),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem)))]
async fn show_work_item_rules(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::WorkItemRules>, ApiError> {
    let Path(name) = name?;
    Ok(Json(service::rules(&state, &caller, &name).await?))
}

/// Changes a pipeline's work-item rules (admin); fields left out stay as they are.
#[utoipa::path(patch, path = "/pipelines/{name}/work-item-rules", tag = "work items",
    request_body = wire::UpdateWorkItemRules,
    params(("name" = String, Path, description = "The pipeline's name.")),
    responses((status = 200, description = "The rules.", body = wire::WorkItemRules),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn update_work_item_rules(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::UpdateWorkItemRules>, JsonRejection>,
) -> Result<Json<wire::WorkItemRules>, ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    Ok(Json(service::update_rules(&state, &caller, &name, &body).await?))
}
