//! [`Store`]'s audit log, a hash chain: every entry carries the hash of the one before it.

use super::Store;
use crate::error::Result;
use crate::model::{AuditEntry, AuditEntryId, NewAuditEntry};

impl Store {
    /// Records an audit log entry, timed now, chained to the newest entry in the same transaction
    /// (its `prev_hash` and `hash`, see `slipway_events::audit_chain`); concurrent writers never
    /// fork the chain. Entries recorded before the chain began are chained first (see
    /// [`Store::chain_audit`]).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        dispatch!(self, audit::record_audit(entry))
    }

    /// Chains the entries recorded before schema version 14 (without hashes), in id order from
    /// the genesis, if no entry has a hash yet; gives how many it chained. Once the chain has
    /// begun an entry without a hash is left as it is, for the verifier to report.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub async fn chain_audit(&self) -> Result<u64> {
        dispatch!(self, audit::chain_audit())
    }

    /// Audit log entries, newest first, with an id below `before` if given; at most `limit`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn list_audit(&self, before: Option<AuditEntryId>, limit: i64) -> Result<Vec<AuditEntry>> {
        dispatch!(self, audit::list_audit(before, limit))
    }

    /// Audit log entries, oldest first, with an id above `after` if given; at most `limit`
    /// (1 to 10,000): a page of the chain, for exporting and verifying it.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn audit_after(&self, after: Option<AuditEntryId>, limit: i64) -> Result<Vec<AuditEntry>> {
        dispatch!(self, audit::audit_after(after, limit))
    }
}
