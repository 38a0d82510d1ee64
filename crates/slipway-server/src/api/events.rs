//! The event stream: reading it, and pushing CDEvents and DevLake webhook payloads into it.

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    routes
}
