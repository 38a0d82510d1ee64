//! Environments (with their deployments and checks), the checks on variable groups and agent
//! pools, runs' checkpoints and approvals.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use slipway_api as wire;
use slipway_service::environments::{self as service, ResourceRef};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, list_environments, create_environment);
    let routes = route!(routes, show_environment, update_environment, delete_environment);
    let routes = route!(routes, list_deployments);
    let routes = route!(routes, redeploy);
    let routes = route!(routes, list_checks, add_check);
    let routes = route!(routes, delete_check);
    let routes = route!(routes, list_group_checks, add_group_check);
    let routes = route!(routes, delete_group_check);
    let routes = route!(routes, list_pool_checks, add_pool_check);
    let routes = route!(routes, delete_pool_check);
    let routes = route!(routes, run_checkpoints);
    let routes = route!(routes, list_approvals);
    route!(routes, show_approval, decide_approval)
}

/// Every environment (reader).
#[utoipa::path(get, path = "/environments", tag = "environments",
    responses((status = 200, description = "The environments, by name.", body = wire::EnvironmentList),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<wire::EnvironmentList>, ApiError> {
    Ok(Json(wire::EnvironmentList { environments: service::list(&state, &caller).await? }))
}

/// Creates an environment (admin). A deployment job's first use of a name creates one too.
#[utoipa::path(post, path = "/environments", tag = "environments", request_body = wire::CreateEnvironment,
    responses((status = 201, description = "Created.", body = wire::Environment),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreateEnvironment>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Environment>), ApiError> {
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::create(&state, &caller, &body).await?)))
}

/// One environment (reader).
#[utoipa::path(get, path = "/environments/{name}", tag = "environments",
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 200, description = "The environment.", body = wire::Environment),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_environment(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::Environment>, ApiError> {
    let Path(name) = name?;
    Ok(Json(service::show(&state, &caller, &name).await?))
}

/// Renames an environment or changes its description (admin).
#[utoipa::path(patch, path = "/environments/{name}", tag = "environments", request_body = wire::UpdateEnvironment,
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 200, description = "The environment.", body = wire::Environment),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn update_environment(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::UpdateEnvironment>, JsonRejection>,
) -> Result<Json<wire::Environment>, ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    Ok(Json(service::update(&state, &caller, &name, &body).await?))
}

/// Deletes an environment with its checks and deployment history (admin).
#[utoipa::path(delete, path = "/environments/{name}", tag = "environments",
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 204, description = "Deleted."), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(name) = name?;
    service::delete(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An environment's deployments, newest first, and what runs where (reader).
#[utoipa::path(get, path = "/environments/{name}/deployments", tag = "environments",
    params(("name" = String, Path, description = "The environment's name."), wire::DeploymentsQuery),
    responses((status = 200, description = "The deployments.", body = wire::DeploymentList),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn list_deployments(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<wire::DeploymentsQuery>, QueryRejection>,
) -> Result<Json<wire::DeploymentList>, ApiError> {
    let Path(name) = name?;
    let Query(query) = query?;
    Ok(Json(service::deployments(&state, &caller, &name, query.before, query.limit).await?))
}

/// Deploys an earlier successful deployment's version again (the manual rollback): its job runs
/// again in its run, and the new deployment is recorded as `redeployed` (contributor).
#[utoipa::path(post, path = "/environments/{name}/deployments/{id}/redeploy", tag = "environments",
    params(("name" = String, Path, description = "The environment's name."), ("id" = i64, Path, description = "The deployment's id.")),
    responses((status = 202, description = "The run, queued again.", body = wire::Run),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn redeploy(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<(StatusCode, Json<wire::Run>), ApiError> {
    let Path((name, id)) = path?;
    Ok((StatusCode::ACCEPTED, Json(service::redeploy(&state, &caller, &name, id).await?)))
}

/// The checks on an environment (reader).
#[utoipa::path(get, path = "/environments/{name}/checks", tag = "environments",
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 200, description = "The checks.", body = wire::CheckList),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn list_checks(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::CheckList>, ApiError> {
    let Path(name) = name?;
    Ok(Json(wire::CheckList { checks: service::checks(&state, &caller, ResourceRef::Environment(&name)).await? }))
}

/// Adds a check to an environment (admin): `{"type": ..., "settings": {...}, "timeoutMinutes": N}`.
#[utoipa::path(post, path = "/environments/{name}/checks", tag = "environments", request_body = wire::NewCheck,
    params(("name" = String, Path, description = "The environment's name.")),
    responses((status = 201, description = "Added.", body = wire::Check),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn add_check(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::NewCheck>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Check>), ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::add_check(&state, &caller, ResourceRef::Environment(&name), &body).await?)))
}

/// Removes a check from an environment (admin); stages already waiting keep their copy.
#[utoipa::path(delete, path = "/environments/{name}/checks/{id}", tag = "environments",
    params(("name" = String, Path, description = "The environment's name."), ("id" = i64, Path, description = "The check's id.")),
    responses((status = 204, description = "Removed."), (status = 400, response = wire::Problem),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_check(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, id)) = path?;
    service::delete_check(&state, &caller, ResourceRef::Environment(&name), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a run's stages wait or waited for: their checkpoints and checks (reader).
#[utoipa::path(get, path = "/runs/{id}/checkpoints", tag = "environments",
    params(("id" = i64, Path, description = "The run's id.")),
    responses((status = 200, description = "The checkpoints, oldest first.", body = wire::CheckpointList),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn run_checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::CheckpointList>, ApiError> {
    let Path(id) = id?;
    Ok(Json(wire::CheckpointList { checkpoints: service::run_checkpoints(&state, &caller, id).await? }))
}

/// Approvals, newest first (reader): `?state=pending`, `?mine=true` for those the caller may
/// decide now.
#[utoipa::path(get, path = "/approvals", tag = "environments", params(wire::ApprovalsQuery),
    responses((status = 200, description = "The approvals.", body = wire::ApprovalList),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_approvals(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<wire::ApprovalsQuery>, QueryRejection>,
) -> Result<Json<wire::ApprovalList>, ApiError> {
    let Query(query) = query?;
    let approvals =
        service::list_approvals(&state, &caller, query.state.as_deref(), query.mine.unwrap_or(false)).await?;
    Ok(Json(wire::ApprovalList { approvals }))
}

/// One approval (reader).
#[utoipa::path(get, path = "/approvals/{id}", tag = "environments",
    params(("id" = i64, Path, description = "The approval's id.")),
    responses((status = 200, description = "The approval.", body = wire::Approval),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn show_approval(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<wire::Approval>, ApiError> {
    let Path(id) = id?;
    Ok(Json(service::show_approval(&state, &caller, id).await?))
}

/// Approves or rejects (one of its approvers): `{"status": "approved" | "rejected", "comment": "..."}`,
/// with `deferredUntil` to approve now with effect later.
#[utoipa::path(post, path = "/approvals/{id}", tag = "environments", request_body = wire::DecideApproval,
    params(("id" = i64, Path, description = "The approval's id.")),
    responses((status = 200, description = "The approval as it is now.", body = wire::Approval),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn decide_approval(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<wire::DecideApproval>, JsonRejection>,
) -> Result<Json<wire::Approval>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(service::decide(&state, &caller, id, &body).await?))
}

/// The checks on a variable group (reader): stages that use the group wait for them.
#[utoipa::path(get, path = "/variable-groups/{group}/checks", tag = "environments",
    params(("group" = String, Path, description = "The variable group's name.")),
    responses((status = 200, description = "The checks.", body = wire::CheckList),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn list_group_checks(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::CheckList>, ApiError> {
    let Path(group) = group?;
    Ok(Json(wire::CheckList { checks: service::checks(&state, &caller, ResourceRef::VariableGroup(&group)).await? }))
}

/// Adds a check to a variable group (admin).
#[utoipa::path(post, path = "/variable-groups/{group}/checks", tag = "environments", request_body = wire::NewCheck,
    params(("group" = String, Path, description = "The variable group's name.")),
    responses((status = 201, description = "Added.", body = wire::Check),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 404, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn add_group_check(
    State(state): State<AppState>,
    caller: Caller,
    group: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::NewCheck>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Check>), ApiError> {
    let Path(group) = group?;
    let Json(body) = body?;
    Ok((
        StatusCode::CREATED,
        Json(service::add_check(&state, &caller, ResourceRef::VariableGroup(&group), &body).await?),
    ))
}

/// Removes a check from a variable group (admin).
#[utoipa::path(delete, path = "/variable-groups/{group}/checks/{id}", tag = "environments",
    params(("group" = String, Path, description = "The variable group's name."), ("id" = i64, Path, description = "The check's id.")),
    responses((status = 204, description = "Removed."), (status = 400, response = wire::Problem),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_group_check(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((group, id)) = path?;
    service::delete_check(&state, &caller, ResourceRef::VariableGroup(&group), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The checks on an agent pool (reader): stages whose jobs run in the pool wait for them.
#[utoipa::path(get, path = "/pools/{name}/checks", tag = "environments",
    params(("name" = String, Path, description = "The pool's name.")),
    responses((status = 200, description = "The checks.", body = wire::CheckList),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_pool_checks(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<wire::CheckList>, ApiError> {
    let Path(name) = name?;
    Ok(Json(wire::CheckList { checks: service::checks(&state, &caller, ResourceRef::Pool(&name)).await? }))
}

/// Adds a check to an agent pool (admin).
#[utoipa::path(post, path = "/pools/{name}/checks", tag = "environments", request_body = wire::NewCheck,
    params(("name" = String, Path, description = "The pool's name.")),
    responses((status = 201, description = "Added.", body = wire::Check),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem),
        (status = 422, response = wire::Problem)))]
async fn add_pool_check(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::NewCheck>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::Check>), ApiError> {
    let Path(name) = name?;
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(service::add_check(&state, &caller, ResourceRef::Pool(&name), &body).await?)))
}

/// Removes a check from an agent pool (admin).
#[utoipa::path(delete, path = "/pools/{name}/checks/{id}", tag = "environments",
    params(("name" = String, Path, description = "The pool's name."), ("id" = i64, Path, description = "The check's id.")),
    responses((status = 204, description = "Removed."), (status = 400, response = wire::Problem),
        (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_pool_check(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((name, id)) = path?;
    service::delete_check(&state, &caller, ResourceRef::Pool(&name), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
