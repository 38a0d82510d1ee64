//! The audit log: who did what to what, and when.

use super::common::{DbPools, from_json, read_row, to_json};
use crate::error::{Result, StoreError};
use crate::model::{AuditEntry, AuditEntryId, NewAuditEntry, Timestamp};
use crate::store::Context;

/// The columns of `audit_log` read into an [`AuditRow`], one per field.
macro_rules! audit_columns {
    () => {
        "id, at, actor, action, target, details"
    };
}

/// A row of `audit_columns!()`.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    details: String,
}

impl AuditRow {
    fn into_audit(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: AuditEntryId(self.id),
            at: Timestamp(self.at),
            actor: self.actor,
            action: self.action,
            target: self.target,
            details: from_json("details", &self.details)?,
        })
    }
}

/// Implements [`crate::Store::record_audit`].
pub(crate) async fn record_audit(pools: &DbPools, context: &Context, entry: &NewAuditEntry) -> Result<AuditEntry> {
    let row = sqlx::query(concat!(
        "INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5) RETURNING ",
        audit_columns!()
    ))
    .bind(context.now().millis())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.as_deref())
    .bind(to_json("audit details", &entry.details)?)
    .fetch_one(&pools.writer)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read_row::<AuditRow>(&row))?;
    row.into_audit()
}

/// Implements [`crate::Store::list_audit`].
pub(crate) async fn list_audit(
    pools: &DbPools,
    _context: &Context,
    before: Option<AuditEntryId>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    sqlx::query(concat!(
        "SELECT ",
        audit_columns!(),
        " FROM audit_log WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    ))
    .bind(before.map(|id| id.0))
    .bind(limit.clamp(0, 10_000))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<AuditRow>)
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(AuditRow::into_audit)
    .collect()
}
