//! Users and their personal access tokens.

use serde::{Deserialize, Serialize};
use slipway_store::{AccessToken, User, UserRole};

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, check_name};

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The user's name.
    pub name: String,
    /// `admin`, `contributor` or `reader`.
    pub role: UserRole,
}

/// A new user with their first token, shown this once.
#[derive(Debug, Serialize)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// A personal access token for them; it is stored only hashed.
    pub token: String,
}

/// The longest token name.
const MAX_TOKEN_NAME: usize = 100;

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

/// Creates a user with a first personal access token (admin).
///
/// # Errors
/// 403 for a caller without the role, 400 for a bad name, 409 when the name is taken.
pub async fn create_user(state: &AppState, caller: &Caller, body: &CreateUser) -> Result<CreatedUser, ServiceError> {
    caller.require(UserRole::Admin)?;
    check_name(&body.name)?;
    let user = state.store().create_user(&body.name, body.role).await?;
    let token = state.store().create_access_token(user.id, "first token", None).await?;
    Ok(CreatedUser { user, token: token.secret })
}

/// Creates a personal access token for the user named `user` (admin, or the user themselves).
///
/// # Errors
/// 403 for another user's token without the admin role, 400 for a bad name, 404 for an unknown
/// user.
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    user: &str,
    body: CreateToken,
) -> Result<CreatedToken, ServiceError> {
    if caller.user.name != user {
        caller.require(UserRole::Admin)?;
    }
    let token_name = body.name.unwrap_or_else(|| "token".to_owned());
    if token_name.trim().is_empty()
        || token_name.chars().count() > MAX_TOKEN_NAME
        || token_name.chars().any(char::is_control)
    {
        return Err(ServiceError::bad_request(format!(
            "a token's name must be 1 to {MAX_TOKEN_NAME} characters, without control characters"
        )));
    }
    let owner = state
        .store()
        .user_by_name(user)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no user named '{user}'")))?;
    let issued = state.store().create_access_token(owner.id, token_name.trim(), None).await?;
    Ok(CreatedToken { user: owner.name, name: issued.item.name.clone(), record: issued.item, token: issued.secret })
}
