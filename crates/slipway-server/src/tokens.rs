//! Who am I, and personal access tokens: `GET /me` (the caller's user, which `slipway login` uses
//! to check a token) and `POST /users/{name}/tokens` (a new token for a user, shown once; admins
//! for anyone, every user for themselves).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use slipway_store::User;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use slipway_service::users::{self, CreateToken, CreatedToken};

/// The routes of this module, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/users/{name}/tokens", post(create_token))
}

/// `GET /me` (any valid token): the caller's user.
pub async fn me(caller: Caller) -> Json<User> {
    Json(caller.0.user)
}

/// `POST /users/{name}/tokens` (admin, or the user themselves): a new personal access token.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let Path(name) = name?;
    // The body is optional: no body asks for a token with the default name.
    let body: CreateToken = if body.iter().all(u8::is_ascii_whitespace) {
        CreateToken::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: format!("the body is not a token request: {error}"),
        })?
    };
    Ok((StatusCode::CREATED, Json(users::create_token(&state, &caller, &name, body).await?)))
}
