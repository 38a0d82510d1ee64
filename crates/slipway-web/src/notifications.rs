//! Notification subscriptions and their delivery log in the web UI.

use axum::Router;

use crate::AppState;

/// The routes of these pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
