//! Agents as admins see them: one-time registration tokens, the agents list (with each agent's
//! shown state and current job), deleting an agent, and pools' settings. What agents themselves
//! call is [`super::protocol`].

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use slipway_api as wire;
use slipway_service::agents::{issue_registration_token, listed_agents};
use slipway_service::wire as to_wire;
use slipway_store::{AgentId, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, create_registration_token, list_registration_tokens);
    let routes = route!(routes, list_agents);
    let routes = route!(routes, delete_agent);
    let routes = route!(routes, list_pools);
    route!(routes, set_pool)
}

/// A one-time token that registers one agent (admin); the body is optional.
#[utoipa::path(post, path = "/registration-tokens", tag = "agents",
    request_body(content = Option<wire::CreateRegistrationToken>, description = "When it expires (optional)."),
    responses(
        (status = 201, description = "The token, shown this once.", body = wire::CreatedRegistrationToken),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn create_registration_token(
    State(state): State<AppState>,
    caller: Caller,
    body: Option<Json<wire::CreateRegistrationToken>>,
) -> Result<(StatusCode, Json<wire::CreatedRegistrationToken>), ApiError> {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(issue_registration_token(&state, &caller, &body).await?)))
}

/// The registration tokens, used or not (admin; never their secrets).
#[utoipa::path(get, path = "/registration-tokens", tag = "agents",
    responses(
        (status = 200, description = "The tokens.", body = wire::RegistrationTokenList), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_registration_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<wire::RegistrationTokenList>, ApiError> {
    caller.require(UserRole::Admin)?;
    let tokens = state.store().list_registration_tokens().await?;
    Ok(Json(wire::RegistrationTokenList {
        registration_tokens: tokens.iter().map(to_wire::registration_token).collect(),
    }))
}

/// Every agent with its state and current job (reader).
#[utoipa::path(get, path = "/agents", tag = "agents",
    responses((status = 200, description = "The agents.", body = wire::AgentList), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_agents(State(state): State<AppState>, caller: Caller) -> Result<Json<wire::AgentList>, ApiError> {
    Ok(Json(wire::AgentList { agents: listed_agents(&state, &caller).await? }))
}

/// Deletes an agent: its credential stops working (admin).
#[utoipa::path(delete, path = "/agents/{id}", tag = "agents",
    params(("id" = i64, Path, description = "The agent's id.")),
    responses((status = 204, description = "Deleted."), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 404, response = wire::Problem)))]
async fn delete_agent(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(UserRole::Admin)?;
    let Path(id) = id?;
    if state.store().delete_agent(AgentId(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no agent {id}")))
    }
}

/// The pools with their settings or agents, and how many agents serve each (reader).
#[utoipa::path(get, path = "/pools", tag = "agents",
    responses((status = 200, description = "The pools, by name.", body = wire::PoolList), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem)))]
async fn list_pools(State(state): State<AppState>, caller: Caller) -> Result<Json<wire::PoolList>, ApiError> {
    Ok(Json(wire::PoolList { pools: slipway_service::agents::pools(&state, &caller).await? }))
}

/// Sets a pool's settings (admin): what becomes of a job whose agent is lost, and the demands
/// each `vmImage` stands for.
#[utoipa::path(put, path = "/pools/{name}", tag = "agents", request_body = wire::PoolSettings,
    params(("name" = String, Path, description = "The pool's name.")),
    responses(
        (status = 200, description = "The pool.", body = wire::Pool),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem), (status = 403, response = wire::Problem), (status = 422, response = wire::Problem)))]
async fn set_pool(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Result<Json<wire::PoolSettings>, JsonRejection>,
) -> Result<Json<wire::Pool>, ApiError> {
    let Path(name) = name?;
    let Json(settings) = body?;
    Ok(Json(slipway_service::agents::set_pool(&state, &caller, &name, &settings).await?))
}
