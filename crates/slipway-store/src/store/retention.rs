//! [`Store`]'s retention: deleting the runs that pipelines' retention policies no longer keep.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::model::RetentionPolicy;
use crate::model::RetentionReport;

impl Store {
    /// Deletes the completed runs that their pipelines' [`RetentionPolicy`] no longer keeps, never
    /// one that must stay: runs marked keep, the newest successful run of each branch of each
    /// pipeline, and any run that a kept run needs (the run it re-runs, its upstream run),
    /// followed transitively. Runs are deleted in small transactions so that other writers are
    /// not held up; returns what was deleted and the blobs no longer referenced.
    ///
    /// # Errors
    /// When the database cannot be used; runs deleted before the error stay deleted.
    pub async fn apply_retention(&self) -> Result<RetentionReport> {
        dispatch!(self, retention::apply_retention())
    }
}
