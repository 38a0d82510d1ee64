//! `/metrics`: the server's metrics in Prometheus's text format (OpenMetrics 1.0), from
//! [`slipway_service::telemetry`]; see docs/telemetry.md.
//!
//! Who may read them: Prometheus scrapes without a session, so by default anyone who reaches
//! the server may (the figures are counts by pipeline, environment and state: no secret, no
//! log). A request that carries `Authorization: Bearer TOKEN` must carry a valid personal
//! access token (of any role) all the same, and with `SLIPWAY_METRICS_AUTH=token` in the
//! server's environment one is required (Prometheus's `authorization: credentials_file:`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use slipway_service::telemetry::{CONTENT_TYPE, Telemetry};

use crate::AppState;

/// The environment variable that says who may read `/metrics`: `open` (the default) or `token`.
const ACCESS_VARIABLE: &str = "SLIPWAY_METRICS_AUTH";

/// Who may read `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone (a bearer token, when one comes, must be valid).
    Open,
    /// Only a request with a valid personal access token.
    Token,
}

impl Access {
    /// The access `SLIPWAY_METRICS_AUTH` asks for (`token` for a value not understood, saying
    /// so).
    fn from_environment() -> Self {
        match std::env::var(ACCESS_VARIABLE).as_deref().map(str::trim) {
            Err(_) | Ok("" | "open") => Self::Open,
            Ok("token") => Self::Token,
            Ok(other) => {
                tracing::warn!(value = other, "{ACCESS_VARIABLE} must be 'open' or 'token'; /metrics needs a token");
                Self::Token
            }
        }
    }
}

/// The route of the metrics.
pub(crate) fn routes() -> Router<AppState> {
    let telemetry = Arc::new(Telemetry::new());
    let access = Access::from_environment();
    Router::new().route(
        "/metrics",
        get(move |State(state): State<AppState>, headers: HeaderMap| {
            let telemetry = Arc::clone(&telemetry);
            async move { metrics(&state, &telemetry, access, &headers).await }
        }),
    )
}

/// An answer of 401 saying why.
fn unauthorized(reason: &str) -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, format!("{reason}\n")).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"slipway\""));
    response
}

/// `GET /metrics`.
async fn metrics(state: &AppState, telemetry: &Telemetry, access: Access, headers: &HeaderMap) -> Response {
    match headers.get(header::AUTHORIZATION) {
        None if access == Access::Token => {
            return unauthorized("/metrics needs an `Authorization: Bearer TOKEN` header (a personal access token)");
        }
        None => {}
        Some(value) => {
            let Some(secret) = value.to_str().ok().and_then(|text| text.strip_prefix("Bearer ")).map(str::trim) else {
                return unauthorized("the Authorization header must be `Bearer TOKEN`");
            };
            match state.store().authenticate_token(secret).await {
                Ok(Some(_)) => {}
                Ok(None) => return unauthorized("the token is unknown, revoked or expired"),
                Err(error) => {
                    tracing::error!(%error, "/metrics: checking the token");
                    return (StatusCode::INTERNAL_SERVER_ERROR, "the store failed\n").into_response();
                }
            }
        }
    }
    match telemetry.render(state).await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "/metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "the metrics could not be gathered\n").into_response()
        }
    }
}
