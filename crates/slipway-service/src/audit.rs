//! Recording what people change in the audit log. A failed write is logged and the change
//! stands (it happened): the audit log is evidence, not a lock.
//!
//! The log is a hash chain (`slipway_events::audit_chain`, kept by the store): admins export it
//! as JSON lines ([`prepare_export`], [`export_page`], [`export_line`]) and have the server check
//! it ([`verify`]). See docs/audit.md.

use slipway_api as api;
use slipway_events::audit_chain::{self, Verifier};
use slipway_store::{AuditEntryId, NewAuditEntry, UserRole};

use crate::AppState;
use crate::caller::Caller;
use crate::error::ServiceError;

/// Records that `caller` did `action` to `target`, with `details`.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: impl Into<String>,
    details: serde_json::Value,
) {
    let target = target.into();
    let entry = NewAuditEntry {
        actor: caller.user.name.clone(),
        action: action.to_owned(),
        target: Some(target.clone()),
        details,
    };
    if let Err(error) = state.store().record_audit(&entry).await {
        tracing::error!(%error, action, target, actor = %caller.user.name, "an audit entry was not recorded");
    }
}

/// How many entries the export and the check read from the store at a time.
pub const AUDIT_PAGE: i64 = 1_000;

/// Gets the audit log ready to be exported by `caller` (admin): entries recorded before the hash
/// chain began are chained first, so that every exported line carries its hashes.
///
/// # Errors
/// 403 for a caller who is not an admin; the store's failure.
pub async fn prepare_export(state: &AppState, caller: &Caller) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    state.store().chain_audit().await?;
    Ok(())
}

/// A page of the audit log for its export (admin): at most [`AUDIT_PAGE`] entries, oldest
/// first, with ids above `after` (from the first when `None`).
///
/// # Errors
/// 403 for a caller who is not an admin; the store's failure.
pub async fn export_page(
    state: &AppState,
    caller: &Caller,
    after: Option<i64>,
) -> Result<Vec<api::AuditEntry>, ServiceError> {
    caller.require(UserRole::Admin)?;
    let page = state.store().audit_after(after.map(AuditEntryId), AUDIT_PAGE).await?;
    Ok(page.iter().map(|entry| api::AuditEntry::from(entry.chained())).collect())
}

/// One line of the export: the entry as JSON and a line break.
#[must_use]
pub fn export_line(entry: &api::AuditEntry) -> String {
    // Plain data with string keys always serializes.
    let mut line = serde_json::to_string(entry).unwrap_or_default();
    line.push('\n');
    line
}

/// Checks the whole audit log's hash chain, oldest first, up to its first break (admin); with an
/// `anchor` (`ID:HASH`, noted from an earlier check), also that the chain still holds that entry.
///
/// # Errors
/// 403 for a caller who is not an admin; 400 for a malformed anchor; the store's failure.
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    anchor: Option<&str>,
) -> Result<api::AuditVerification, ServiceError> {
    prepare_export(state, caller).await?;
    let mut verifier = Verifier::new();
    if let Some(text) = anchor {
        let (id, hash) = audit_chain::parse_anchor(text).ok_or_else(|| {
            ServiceError::bad_request(format!(
                "'anchor' is ID:HASH (an entry id and its 64-digit hex hash), not `{text}`"
            ))
        })?;
        verifier = verifier.with_anchor(id, &hash);
    }
    let mut after = None;
    loop {
        let page = state.store().audit_after(after, AUDIT_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        if page.iter().any(|entry| verifier.push(&entry.chained()).is_some()) {
            break;
        }
    }
    let report = verifier.finish();
    if let Some(found) = &report.first_break {
        tracing::warn!(id = found.id, kind = found.kind.as_str(), "the audit log's hash chain is broken: {found}");
    }
    Ok(api::AuditVerification::from(&report))
}
