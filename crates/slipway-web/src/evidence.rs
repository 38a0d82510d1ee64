//! Evidence bundles of deployments and runs.

use axum::Router;
use slipway_service::AppState;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
