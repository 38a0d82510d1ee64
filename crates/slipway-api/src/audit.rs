//! The audit log: its entries as exported, and what verifying its hash chain found.

use serde::{Deserialize, Serialize};
use slipway_events::audit_chain::{ChainReport, ChainedEntry};
use utoipa::ToSchema;

/// The media type of the audit log's export: one [`AuditEntry`] as JSON per line.
pub const AUDIT_EXPORT_MEDIA_TYPE: &str = "application/x-ndjson";

/// Which part of the audit log to export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries with an id above this one (the whole log when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
}

/// What to check the audit log's chain against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditVerifyQuery {
    /// An entry noted from an earlier check, `ID:HASH` (its `lastId` and `lastHash`): the chain
    /// must still hold it, else its newest entries were cut off (`truncated`) or it was
    /// rewritten (`rewritten`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
}

/// One line of the audit log's export: an entry with its place in the hash chain. Its fields
/// are named as the hash covers them (`prev_hash`, snake case), so that an export can be checked
/// offline (`slipway audit verify --file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Its id (increasing).
    pub id: i64,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Who (a user name, `system`, an agent).
    pub actor: String,
    /// What (`user.create`, `variable.set`).
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// Details (never secret values).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The hash of the entry before it (64 zeros for the first); empty when it has none.
    pub prev_hash: String,
    /// Its hash: SHA-256 of its canonical fields and `prev_hash`, lowercase hex; empty when it
    /// has none.
    pub hash: String,
}

impl From<ChainedEntry> for AuditEntry {
    fn from(entry: ChainedEntry) -> Self {
        let ChainedEntry { id, at, actor, action, target, details, prev_hash, hash } = entry;
        Self { id, at, actor, action, target, details, prev_hash, hash }
    }
}

impl From<AuditEntry> for ChainedEntry {
    fn from(entry: AuditEntry) -> Self {
        let AuditEntry { id, at, actor, action, target, details, prev_hash, hash } = entry;
        Self { id, at, actor, action, target, details, prev_hash, hash }
    }
}

/// The first place the audit log's hash chain breaks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditBreak {
    /// `changed` (the entry's fields do not hash to its hash), `deleted` (its `prev_hash` is not
    /// the hash of the entry before it: an entry between was deleted, or the one before
    /// rewritten), `reordered` (its id does not increase), `rewritten` (the anchor's entry has
    /// another hash) or `truncated` (the chain ends before the anchor).
    pub kind: String,
    /// The entry where the break shows.
    pub id: i64,
    /// The entry before it, if any.
    pub previous_id: Option<i64>,
    /// What the chain says it should be: the stored hash (changed), the previous entry's hash or
    /// 64 zeros (deleted), the previous id (reordered).
    pub expected: String,
    /// What it is: the hash of the fields (changed), the entry's `prev_hash` (deleted), its id
    /// (reordered).
    pub found: String,
    /// The break in a sentence.
    pub message: String,
}

/// What verifying the audit log's hash chain found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditVerification {
    /// How many entries were checked (up to and including the first break).
    pub entries: u64,
    /// Whether the chain is whole.
    pub intact: bool,
    /// The newest entry checked: note its id and hash somewhere else; a later check that no
    /// longer reaches them shows that newer entries were cut off.
    pub last_id: Option<i64>,
    /// Its hash.
    pub last_hash: Option<String>,
    /// The first break, if any.
    pub first_break: Option<AuditBreak>,
}

impl From<&ChainReport> for AuditVerification {
    fn from(report: &ChainReport) -> Self {
        Self {
            entries: report.entries,
            intact: report.intact(),
            last_id: report.last.as_ref().map(|(id, _)| *id),
            last_hash: report.last.as_ref().map(|(_, hash)| hash.clone()),
            first_break: report.first_break.as_ref().map(|found| AuditBreak {
                kind: found.kind.as_str().to_owned(),
                id: found.id,
                previous_id: found.previous_id,
                expected: found.expected.clone(),
                found: found.found.clone(),
                message: found.to_string(),
            }),
        }
    }
}
