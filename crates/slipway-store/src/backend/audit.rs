//! The audit log: who did what to what, and when, as a hash chain (`slipway_events::audit_chain`).
//!
//! Every entry is recorded in one transaction with its `prev_hash` (the newest entry's hash) and
//! its own `hash`. On PostgreSQL the transaction first takes an advisory lock of its own, so two
//! writers never read the same newest entry (the chain never forks) and ids are handed out in the
//! chain's order; SQLite has a single writer connection.
//!
//! Entries recorded before schema version 14 have no hashes. They are chained, in id order from
//! the genesis, the first time the store records an entry or is asked to ([`chain_audit`]), and
//! only while no entry has a hash yet: once the chain has begun, an entry without a hash is never
//! hashed again (the verifier reports it as changed), so clearing a hash cannot launder an edit.

use slipway_events::audit_chain::{self, GENESIS};

use super::POSTGRES;
use super::common::{DbConnection, DbPools, from_json, read_row, to_json};
use crate::error::Result;
use crate::model::{AuditEntry, AuditEntryId, NewAuditEntry, Timestamp};
use crate::store::Context;

/// The advisory lock that orders the audit log's writers on PostgreSQL.
const AUDIT_LOCK: i64 = 0x534c_4155_4449_5443; // "SLAUDITC"

/// How many entries without a hash are chained per statement batch read.
const CHAIN_PAGE: i64 = 1_000;

/// The columns of `audit_log` read into an [`AuditRow`], one per field.
macro_rules! audit_columns {
    () => {
        "id, at, actor, action, target, details, prev_hash, hash"
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
    prev_hash: Option<String>,
    hash: Option<String>,
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
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Takes the audit log's lock until the transaction ends (PostgreSQL; SQLite has one writer).
async fn lock_audit(connection: &mut DbConnection) -> Result<()> {
    if POSTGRES {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *connection).await?;
    }
    Ok(())
}

/// Chains the entries recorded before the chain began, in id order from the genesis, if no entry
/// has a hash yet; gives how many it chained and the hash of the newest (the chain's head).
/// Called under the audit lock.
async fn chain_unhashed(connection: &mut DbConnection) -> Result<(u64, Option<String>)> {
    let begun: Option<i64> = sqlx::query_scalar("SELECT id FROM audit_log WHERE hash IS NOT NULL LIMIT 1")
        .fetch_optional(&mut *connection)
        .await?;
    if begun.is_some() {
        return Ok((0, None));
    }
    let mut previous = GENESIS.to_owned();
    let mut after = i64::MIN;
    let mut chained = 0_u64;
    loop {
        let rows =
            sqlx::query(concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"))
                .bind(after)
                .bind(CHAIN_PAGE)
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .map(read_row::<AuditRow>)
                .collect::<Result<Vec<_>>>()?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            let entry = row.into_audit()?;
            let hash = audit_chain::entry_hash(
                entry.id.0,
                entry.at.millis(),
                &entry.actor,
                &entry.action,
                entry.target.as_deref(),
                &entry.details,
                &previous,
            );
            sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3")
                .bind(&previous)
                .bind(&hash)
                .bind(entry.id.0)
                .execute(&mut *connection)
                .await?;
            previous = hash;
            chained += 1;
        }
    }
    Ok((chained, (chained > 0).then_some(previous)))
}

/// Implements [`crate::Store::record_audit`].
pub(crate) async fn record_audit(pools: &DbPools, context: &Context, entry: &NewAuditEntry) -> Result<AuditEntry> {
    let details_text = to_json("audit details", &entry.details)?;
    // The details as they will be read back, so that the hash is over what a reader sees.
    let details: serde_json::Value = from_json("details", &details_text)?;
    let at = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    lock_audit(&mut transaction).await?;
    let newest: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *transaction)
            .await?;
    let prev_hash = match newest {
        None => GENESIS.to_owned(),
        Some((_, Some(hash))) => hash,
        // The chain has begun but its newest entry has lost its hash: follow it with an empty
        // link; the verifier reports that entry.
        Some((_, None)) => chain_unhashed(&mut transaction).await?.1.unwrap_or_default(),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, target, details, prev_hash) VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id",
    )
    .bind(at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.as_deref())
    .bind(&details_text)
    .bind(&prev_hash)
    .fetch_one(&mut *transaction)
    .await?;
    let hash =
        audit_chain::entry_hash(id, at, &entry.actor, &entry.action, entry.target.as_deref(), &details, &prev_hash);
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE id = $2").bind(&hash).bind(id).execute(&mut *transaction).await?;
    transaction.commit().await?;
    Ok(AuditEntry {
        id: AuditEntryId(id),
        at: Timestamp(at),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        details,
        prev_hash: Some(prev_hash),
        hash: Some(hash),
    })
}

/// Implements [`crate::Store::chain_audit`].
pub(crate) async fn chain_audit(pools: &DbPools, _context: &Context) -> Result<u64> {
    let mut transaction = pools.writer.begin().await?;
    lock_audit(&mut transaction).await?;
    let (chained, _) = chain_unhashed(&mut transaction).await?;
    transaction.commit().await?;
    Ok(chained)
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

/// Implements [`crate::Store::audit_after`].
pub(crate) async fn audit_after(
    pools: &DbPools,
    _context: &Context,
    after: Option<AuditEntryId>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    sqlx::query(concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"))
        .bind(after.map_or(i64::MIN, |id| id.0))
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<AuditRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(AuditRow::into_audit)
        .collect()
}
