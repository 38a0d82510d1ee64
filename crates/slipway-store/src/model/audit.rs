//! The audit log's entries.

use super::{AuditEntryId, Timestamp};

/// An audit log entry to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Who did it (a user name, `system`, an agent).
    pub actor: String,
    /// What was done (`pipeline.create`, `token.revoke`).
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// Details as JSON (never secret values).
    pub details: serde_json::Value,
}

/// An audit log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (increasing).
    pub id: AuditEntryId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// Details.
    pub details: serde_json::Value,
    /// The hash of the entry before it in the audit log's hash chain (64 zeros for the first);
    /// `None` for an entry not chained (recorded before schema version 14 and not chained yet).
    pub prev_hash: Option<String>,
    /// Its hash, over its fields and `prev_hash` (`slipway_events::audit_chain`); `None` when
    /// not chained.
    pub hash: Option<String>,
}

impl AuditEntry {
    /// The entry as the hash chain sees it (an empty hash for one not chained).
    #[must_use]
    pub fn chained(&self) -> slipway_events::audit_chain::ChainedEntry {
        slipway_events::audit_chain::ChainedEntry {
            id: self.id.0,
            at: self.at.millis(),
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            details: self.details.clone(),
            prev_hash: self.prev_hash.clone().unwrap_or_default(),
            hash: self.hash.clone().unwrap_or_default(),
        }
    }
}
