//! Who is calling: personal access tokens in `Authorization: Bearer slw_...` (or the web UI's
//! session cookie, with its CSRF header for changes), and roles.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use slipway_store::{User, UserRole};

use crate::AppState;
use crate::error::ApiError;

/// The authenticated user of a request. Extracting it answers 401 without a valid token.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user the token belongs to.
    pub user: User,
}

/// The rank of a role: each role may do what the ones below it may.
fn rank(role: UserRole) -> u8 {
    match role {
        UserRole::Reader => 0,
        UserRole::Contributor => 1,
        UserRole::Admin => 2,
    }
}

impl Caller {
    /// Checks that the caller has at least `role`.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`] when the caller's role is lower.
    pub fn require(&self, role: UserRole) -> Result<(), ApiError> {
        if rank(self.user.role) >= rank(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {role} role; user '{}' is a {}",
                self.user.name, self.user.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // A browser signed in to the web UI: its session cookie (see `crate::ui::session`).
            if let Some(user) = crate::ui::session::cookie_caller(parts, state).await? {
                return Ok(Self { user });
            }
            return Err(ApiError::Unauthorized("an `Authorization: Bearer TOKEN` header is needed".into()));
        };
        let Some(secret) = value.to_str().ok().and_then(|text| text.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError::Unauthorized("the Authorization header must be `Bearer TOKEN`".into()));
        };
        match state.store().authenticate_token(secret).await? {
            Some((user, _token)) => Ok(Self { user }),
            None => Err(ApiError::Unauthorized("the token is unknown, revoked or expired".into())),
        }
    }
}
