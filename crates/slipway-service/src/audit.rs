//! Recording what people change in the audit log. A failed write is logged and the change
//! stands (it happened): the audit log is evidence, not a lock.

use slipway_store::NewAuditEntry;

use crate::AppState;
use crate::caller::Caller;

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
