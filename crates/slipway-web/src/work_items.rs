//! Work items and incidents in the web UI: the list, the board and one item's page.

use axum::Router;

use crate::AppState;

/// The routes of these pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
