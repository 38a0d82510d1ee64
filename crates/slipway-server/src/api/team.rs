//! The team dashboard's figures.

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    routes
}
