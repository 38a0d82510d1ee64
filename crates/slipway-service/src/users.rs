//! Users and their personal access tokens.

use slipway_api::{CreateToken, CreateUser, CreatedToken, CreatedUser};
use slipway_store::UserRole;

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, check_name, wire};

/// The longest token name.
const MAX_TOKEN_NAME: usize = 100;

/// Creates a user with a first personal access token (admin).
///
/// # Errors
/// 403 for a caller without the role, 400 for a bad name, 409 when the name is taken.
pub async fn create_user(state: &AppState, caller: &Caller, body: &CreateUser) -> Result<CreatedUser, ServiceError> {
    caller.require(UserRole::Admin)?;
    check_name(&body.name)?;
    let user = state.store().create_user(&body.name, wire::stored_role(body.role)).await?;
    let token = state.store().create_access_token(user.id, "first token", None).await?;
    let details = serde_json::json!({ "role": wire::user(&user).role });
    crate::audit::record(state, caller, "user.create", user.name.clone(), details).await;
    Ok(CreatedUser { user: wire::user(&user), token: token.secret })
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
    let details = serde_json::json!({ "name": issued.item.name });
    crate::audit::record(state, caller, "token.create", owner.name.clone(), details).await;
    Ok(CreatedToken {
        user: owner.name,
        name: issued.item.name.clone(),
        record: wire::access_token(&issued.item),
        token: issued.secret,
    })
}
