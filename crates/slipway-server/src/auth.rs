//! Who is calling the API: personal access tokens in `Authorization: Bearer slw_...`, or the web
//! UI's session cookie (with its CSRF header for changes). What the caller's role allows is the
//! service's ([`slipway_service::Caller`]).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller of an API request; extracting it answers 401 without valid
/// credentials. It dereferences to the service's [`slipway_service::Caller`].
#[derive(Clone, Debug)]
pub struct Caller(pub slipway_service::Caller);

impl std::ops::Deref for Caller {
    type Target = slipway_service::Caller;

    fn deref(&self) -> &slipway_service::Caller {
        &self.0
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // A browser signed in to the web UI: its session cookie (see `slipway_web::cookie_caller`).
            if let Some(user) = slipway_web::cookie_caller(parts, state).await? {
                return Ok(Self(slipway_service::Caller { user }));
            }
            return Err(ApiError::Unauthorized("an `Authorization: Bearer TOKEN` header is needed".into()));
        };
        let Some(secret) = value.to_str().ok().and_then(|text| text.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError::Unauthorized("the Authorization header must be `Bearer TOKEN`".into()));
        };
        match state.store().authenticate_token(secret).await? {
            Some((user, _token)) => Ok(Self(slipway_service::Caller { user })),
            None => Err(ApiError::Unauthorized("the token is unknown, revoked or expired".into())),
        }
    }
}
