//! The audit log: who did what to what, and when.

use sqlx::Row;

use super::common::{DbPools, DbRow, json_column, timestamp, to_json};
use crate::error::Result;
use crate::model::*;
use crate::store::Context;

/// An audit entry from a row of `audit_log`.
fn audit_from(row: &DbRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: AuditEntryId(row.try_get("id")?),
        at: timestamp(row, "at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        details: json_column(row, "details")?,
    })
}

/// Implements [`crate::Store::record_audit`].
pub(crate) async fn record_audit(pools: &DbPools, context: &Context, entry: &NewAuditEntry) -> Result<AuditEntry> {
    let row = sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, at, actor, action, target, details",
    )
    .bind(context.now().millis())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.as_deref())
    .bind(to_json("audit details", &entry.details)?)
    .fetch_one(&pools.writer)
    .await?;
    audit_from(&row)
}

/// Implements [`crate::Store::list_audit`].
pub(crate) async fn list_audit(
    pools: &DbPools,
    _context: &Context,
    before: Option<AuditEntryId>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    sqlx::query(
        "SELECT id, at, actor, action, target, details FROM audit_log WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(before.map(|id| id.0))
    .bind(limit.clamp(0, 10_000))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(audit_from)
    .collect()
}
