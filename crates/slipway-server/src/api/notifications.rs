//! Notification subscriptions and their deliveries.

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    routes
}
