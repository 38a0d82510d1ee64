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
}
