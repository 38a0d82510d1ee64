//! Users and personal access tokens: `GET /me` (the caller's user, which `slipway login` uses to
//! check a token), `POST /users` (a user with a first token) and `POST /users/{name}/tokens` (a new
//! token, shown once; admins for anyone, every user for themselves).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use slipway_api as wire;
use slipway_service::users;
use slipway_service::wire as to_wire;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    let routes = route!(routes, me);
    let routes = route!(routes, create_user);
    route!(routes, create_token)
}

/// The caller's user (any valid token).
#[utoipa::path(get, path = "/me", tag = "users",
    responses(
        (status = 200, description = "The caller.", body = wire::User),
        (status = 401, response = wire::Problem)))]
async fn me(caller: Caller) -> Json<wire::User> {
    Json(to_wire::user(&caller.0.user))
}

/// Creates a user with a first personal access token (admin).
#[utoipa::path(post, path = "/users", tag = "users", request_body = wire::CreateUser,
    responses(
        (status = 201, description = "The user and their token, shown this once.", body = wire::CreatedUser),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 409, response = wire::Problem)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<wire::CreateUser>, JsonRejection>,
) -> Result<(StatusCode, Json<wire::CreatedUser>), ApiError> {
    let Json(body) = body?;
    Ok((StatusCode::CREATED, Json(users::create_user(&state, &caller, &body).await?)))
}

/// A new personal access token (admin, or the user themselves); the body is optional.
#[utoipa::path(post, path = "/users/{name}/tokens", tag = "users",
    request_body(content = Option<wire::CreateToken>, description = "The token's name (optional)."),
    params(("name" = String, Path, description = "The user's name.")),
    responses(
        (status = 201, description = "The token, shown this once.", body = wire::CreatedToken),
        (status = 400, response = wire::Problem), (status = 401, response = wire::Problem),
        (status = 403, response = wire::Problem), (status = 404, response = wire::Problem),
        (status = 422, response = wire::Problem)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<wire::CreatedToken>), ApiError> {
    let Path(name) = name?;
    // The body is optional: no body asks for a token with the default name.
    let body: wire::CreateToken = if body.iter().all(u8::is_ascii_whitespace) {
        wire::CreateToken::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: format!("the body is not a token request: {error}"),
        })?
    };
    Ok((StatusCode::CREATED, Json(users::create_token(&state, &caller, &name, body).await?)))
}
