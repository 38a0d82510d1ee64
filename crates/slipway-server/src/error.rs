//! The API's one error type, answered as `application/problem+json` (RFC 9457).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_store::StoreError;

/// Everything an API call can answer instead of its result.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials came with the request.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller's role does not allow the call.
    #[error("{0}")]
    Forbidden(String),
    /// What the path names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed: its body, its query string or its path.
    #[error("{detail}")]
    BadRequest {
        /// The status: 400, or what the body's extractor said (413 for oversize bodies, 415 for a
        /// missing JSON content type, 422 for JSON of the wrong shape).
        status: StatusCode,
        /// What is wrong.
        detail: String,
    },
    /// A name that must be unique is taken, or the state of the thing does not allow the call.
    #[error("{0}")]
    Conflict(String),
    /// The request was understood but cannot be carried out: the repository cannot be checked
    /// out, or the pipeline is not valid.
    #[error("{0}")]
    Unprocessable(String),
    /// Something went wrong on the server (the database); details are not shown to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 with this detail.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest { status: StatusCode::BAD_REQUEST, detail: detail.into() }
    }

    /// The HTTP status of the error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest { status, .. } => *status,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem's `type`: a stable, relative URI naming the kind of problem.
    fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "/problems/unauthorized",
            Self::Forbidden(_) => "/problems/forbidden",
            Self::NotFound(_) => "/problems/not-found",
            Self::BadRequest { .. } => "/problems/bad-request",
            Self::Conflict(_) => "/problems/conflict",
            Self::Unprocessable(_) => "/problems/unprocessable",
            Self::Internal(_) => "/problems/internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::Internal(cause) => {
                // The answer hides the cause; the log must have it, as the answer says.
                tracing::error!(cause = cause.as_str(), "a request failed inside the server");
                "the server could not complete the request; its log has the details".to_owned()
            }
            other => other.to_string(),
        };
        let problem = slipway_api::Problem {
            kind: self.kind().to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
        };
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let content_type = HeaderValue::from_static(slipway_api::PROBLEM_CONTENT_TYPE);
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<slipway_service::ServiceError> for ApiError {
    fn from(error: slipway_service::ServiceError) -> Self {
        use slipway_service::ServiceError;
        match error {
            ServiceError::Unauthorized(detail) => Self::Unauthorized(detail),
            ServiceError::Forbidden(detail) => Self::Forbidden(detail),
            ServiceError::NotFound(detail) => Self::NotFound(detail),
            ServiceError::BadRequest(detail) => Self::bad_request(detail),
            ServiceError::Conflict(detail) => Self::Conflict(detail),
            ServiceError::Unprocessable(detail) => Self::Unprocessable(detail),
            ServiceError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound(error.to_string()),
            StoreError::Conflict { .. } | StoreError::InvalidState { .. } => Self::Conflict(error.to_string()),
            StoreError::Invalid { .. } => Self::bad_request(error.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::BadRequest { status: rejection.status(), detail: rejection.body_text() }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}
