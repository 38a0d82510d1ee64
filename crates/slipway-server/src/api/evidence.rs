//! Evidence bundles of deployments and runs.

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    routes
}
