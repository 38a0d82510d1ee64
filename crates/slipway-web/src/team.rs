//! The team dashboard page.

use axum::Router;
use slipway_service::AppState;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
