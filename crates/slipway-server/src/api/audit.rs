//! The audit log: its export and the check of its hash chain.

/// The routes of this module.
pub(crate) fn routes(routes: super::Routes) -> super::Routes {
    routes
}
