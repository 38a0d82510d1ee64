//! `/metrics`: the server's metrics in Prometheus's text format.

use axum::Router;

use crate::AppState;

/// The route of the metrics.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
