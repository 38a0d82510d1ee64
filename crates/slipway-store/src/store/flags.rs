//! [`Store`]'s feature flags: one flagd flag-definition document per environment, with a
//! revision for optimistic concurrency.

use super::Store;
use crate::error::Result;
#[cfg(doc)]
use crate::error::StoreError;
use crate::model::{EnvironmentId, FlagDocumentRecord};

impl Store {
    /// The flag document of an environment; `None` when none was ever saved (revision 0).
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn flag_document(&self, environment: EnvironmentId) -> Result<Option<FlagDocumentRecord>> {
        dispatch!(self, flags::flag_document(environment))
    }

    /// Saves an environment's flag document (JSON text, already checked by the caller) as its
    /// next revision. With `expected_revision`, only over that revision (0: only if none was
    /// saved yet); without, over whatever is there.
    ///
    /// # Errors
    /// [`StoreError::InvalidState`] when the document is at another revision than expected (it
    /// changed meanwhile).
    pub async fn save_flag_document(
        &self,
        environment: EnvironmentId,
        document: &str,
        expected_revision: Option<i64>,
        updated_by: Option<&str>,
    ) -> Result<FlagDocumentRecord> {
        dispatch!(self, flags::save_flag_document(environment, document, expected_revision, updated_by))
    }
}
