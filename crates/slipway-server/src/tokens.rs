//! Who am I, and personal access tokens: `GET /me` (the caller's user, which `slipway login` uses
//! to check a token) and `POST /users/{name}/tokens` (a new token for a user, shown once; admins
//! for anyone, every user for themselves).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use slipway_store::{AccessToken, User, UserRole};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The longest token name.
const MAX_TOKEN_NAME: usize = 100;

/// The routes of this module, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/users/{name}/tokens", post(create_token))
}

/// `GET /me` (any valid token): the caller's user.
pub async fn me(caller: Caller) -> Json<User> {
    Json(caller.user)
}

/// The body of `POST /users/{name}/tokens`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name to tell the token apart; `token` when absent.
    #[serde(default)]
    pub name: Option<String>,
}

/// A new token, shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// The user's name.
    pub user: String,
    /// The token's name.
    pub name: String,
    /// The token's record (never its secret).
    pub record: AccessToken,
    /// The token; it is stored only hashed.
    pub token: String,
}

/// `POST /users/{name}/tokens` (admin, or the user themselves): a new personal access token.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    name: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let Path(name) = name?;
    if caller.user.name != name {
        caller.require(UserRole::Admin)?;
    }
    // The body is optional: no body asks for a token with the default name.
    let body: CreateToken = if body.iter().all(u8::is_ascii_whitespace) {
        CreateToken::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: format!("the body is not a token request: {error}"),
        })?
    };
    let token_name = body.name.unwrap_or_else(|| "token".to_owned());
    if token_name.trim().is_empty()
        || token_name.chars().count() > MAX_TOKEN_NAME
        || token_name.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(format!(
            "a token's name must be 1 to {MAX_TOKEN_NAME} characters, without control characters"
        )));
    }
    let user = state
        .store()
        .user_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user named '{name}'")))?;
    let issued = state.store().create_access_token(user.id, token_name.trim(), None).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            user: user.name,
            name: issued.item.name.clone(),
            record: issued.item,
            token: issued.secret,
        }),
    ))
}
