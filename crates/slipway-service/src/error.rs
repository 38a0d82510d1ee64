//! The service's one error type: what a caller did wrong or what went wrong, without HTTP. The
//! API answers it as `application/problem+json` with a status, the web UI as a page.

use slipway_store::StoreError;

/// Everything a service call can give instead of its result.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No valid credentials came with the request.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller's role does not allow the call.
    #[error("{0}")]
    Forbidden(String),
    /// What was named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value given is malformed or out of range.
    #[error("{0}")]
    BadRequest(String),
    /// A name that must be unique is taken, or the state of the thing does not allow the call.
    #[error("{0}")]
    Conflict(String),
    /// The request was understood but cannot be carried out: the repository cannot be checked
    /// out, or the pipeline is not valid.
    #[error("{0}")]
    Unprocessable(String),
    /// Something went wrong on the server (the database); details go to its log, not the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// A malformed value, with this detail.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(detail.into())
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound(error.to_string()),
            StoreError::Conflict { .. } | StoreError::InvalidState { .. } => Self::Conflict(error.to_string()),
            StoreError::Invalid { .. } => Self::bad_request(error.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<slipway_engine::artifacts::ArtifactError> for ServiceError {
    fn from(error: slipway_engine::artifacts::ArtifactError) -> Self {
        match error {
            slipway_engine::artifacts::ArtifactError::Invalid(detail) => Self::bad_request(detail),
            slipway_engine::artifacts::ArtifactError::Io(error) => Self::Internal(error.to_string()),
            slipway_engine::artifacts::ArtifactError::Store(error) => Self::from(error),
        }
    }
}
