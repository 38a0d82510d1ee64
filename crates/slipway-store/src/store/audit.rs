//! [`Store`]'s audit log.

use super::Store;
use crate::error::Result;
use crate::model::{AuditEntry, AuditEntryId, NewAuditEntry};

impl Store {
    /// Records an audit log entry, timed now.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        dispatch!(self, audit::record_audit(entry))
    }

    /// Audit log entries, newest first, with an id below `before` if given; at most `limit`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_audit(&self, before: Option<AuditEntryId>, limit: i64) -> Result<Vec<AuditEntry>> {
        dispatch!(self, audit::list_audit(before, limit))
    }
}
