//! The job queue: workers lease the oldest job they can run, renew and complete their lease, and
//! leases that were lost are taken back; agent pools' settings.

use std::time::Duration;

use slipway_events::TaskResult;

use super::POSTGRES;
use super::common::{DbPools, from_json, read_row, require_name, to_json};
use super::events::record_change;
use super::jobs::{JobRow, job_columns, lock_job, lock_leased_job, reload_job};
use crate::crypto::{constant_time_equal, random_hex};
use crate::error::{Result, StoreError};
use crate::model::{
    ChangeKind, Demand, Heartbeat, Job, JobId, JobStatus, Lease, LeaseRequest, LeaseToken, PoolRecord, PoolSettings,
    Reclaim, ReclaimAction, ReclaimedLease, Timestamp,
};
use crate::store::Context;

// ----- leases -----

/// A row of `job_columns!()` followed by the job's lease id.
#[derive(sqlx::FromRow)]
struct LeasedJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    lease_id: Option<String>,
}

/// Implements [`crate::Store::lease_job`].
pub(crate) async fn lease_job(pools: &DbPools, context: &Context, request: &LeaseRequest) -> Result<Option<Lease>> {
    const PAGE: i64 = 100;
    // Scan the pool's queue in order without locks, match demands here, and take the first match
    // with a compare-and-set that only succeeds while the job is still queued (and, on PostgreSQL,
    // not locked by another worker taking it right now: SKIP LOCKED moves on instead of waiting).
    let mut after: (i64, i64) = (i64::MIN, i64::MIN);
    loop {
        let candidates: Vec<(i64, String, Option<i64>)> = sqlx::query(
            "SELECT id, demands, queued_at FROM jobs WHERE status = 'queued' AND pool = $1 \
             AND (queued_at > $2 OR (queued_at = $2 AND id > $3)) ORDER BY queued_at, id LIMIT $4",
        )
        .bind(&request.pool)
        .bind(after.0)
        .bind(after.1)
        .bind(PAGE)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
        for (id, demands, queued_at) in &candidates {
            after = (queued_at.unwrap_or(i64::MIN), *id);
            let demands: Vec<Demand> = from_json("demands", demands)?;
            if !demands.iter().all(|demand| demand.is_met_by(&request.capabilities)) {
                continue;
            }
            if let Some(lease) = take_job(pools, context, JobId(*id), request).await? {
                return Ok(Some(lease));
            }
        }
        if i64::try_from(candidates.len()).unwrap_or(PAGE) < PAGE {
            return Ok(None);
        }
    }
}

/// Leases one job if it is still queued (and, on PostgreSQL, not being taken by another worker).
async fn take_job(pools: &DbPools, context: &Context, job: JobId, request: &LeaseRequest) -> Result<Option<Lease>> {
    let now = context.now();
    let expires_at = now.plus(request.duration);
    let lease_id = random_hex(16)?;
    let sql = if POSTGRES {
        concat!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_id = $2, lease_holder = $3, \
             lease_expires_at = $4, log_sequence = 0, started_at = $5, message = NULL \
             WHERE id = (SELECT id FROM jobs WHERE id = $1 AND status = 'queued' FOR NO KEY UPDATE SKIP LOCKED) RETURNING ",
            job_columns!()
        )
    } else {
        concat!(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_id = $2, lease_holder = $3, \
             lease_expires_at = $4, log_sequence = 0, started_at = $5, message = NULL \
             WHERE id = $1 AND status = 'queued' RETURNING ",
            job_columns!()
        )
    };
    let mut transaction = pools.writer.begin().await?;
    let row = sqlx::query(sql)
        .bind(job.0)
        .bind(&lease_id)
        .bind(&request.holder)
        .bind(expires_at.millis())
        .bind(now.millis())
        .fetch_optional(&mut *transaction)
        .await?
        .as_ref()
        .map(read_row::<JobRow>)
        .transpose()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let leased = row.into_job()?;
    record_change(
        &mut transaction,
        ChangeKind::JobStarted,
        job.0,
        now,
        &serde_json::json!({ "attempt": leased.attempt, "holder": request.holder }),
    )
    .await?;
    transaction.commit().await?;
    // The run is marked running after the job's transaction, not inside it: locks are always
    // taken run first, then job (as cancelling does), so that PostgreSQL never deadlocks.
    let mut transaction = pools.writer.begin().await?;
    let started =
        sqlx::query("UPDATE runs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'")
            .bind(leased.run.0)
            .bind(now.millis())
            .execute(&mut *transaction)
            .await?
            .rows_affected();
    if started == 1 {
        record_change(&mut transaction, ChangeKind::RunStarted, leased.run.0, now, &serde_json::json!({})).await?;
    }
    transaction.commit().await?;
    Ok(Some(Lease { token: LeaseToken { job, lease_id }, job: leased, expires_at }))
}

/// Implements [`crate::Store::renew_lease`].
pub(crate) async fn renew_lease(
    pools: &DbPools,
    context: &Context,
    lease: &LeaseToken,
    duration: Duration,
) -> Result<Heartbeat> {
    let expires_at = context.now().plus(duration);
    let mut transaction = pools.writer.begin().await?;
    let (job, ..) = lock_leased_job(&mut transaction, lease).await?;
    sqlx::query("UPDATE jobs SET lease_expires_at = $2 WHERE id = $1")
        .bind(lease.job.0)
        .bind(expires_at.millis())
        .execute(&mut *transaction)
        .await?;
    let cancel_requested: bool = sqlx::query_scalar("SELECT cancel_requested FROM runs WHERE id = $1")
        .bind(job.run.0)
        .fetch_one(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(Heartbeat { expires_at, cancel_requested })
}

/// Implements [`crate::Store::complete_job`].
pub(crate) async fn complete_job(
    pools: &DbPools,
    context: &Context,
    lease: &LeaseToken,
    result: TaskResult,
    message: Option<&str>,
) -> Result<Job> {
    let mut transaction = pools.writer.begin().await?;
    let (current, lease_id, ..) = lock_job(&mut transaction, lease.job).await?;
    let same_lease = lease_id.as_deref().is_some_and(|current| constant_time_equal(current, &lease.lease_id));
    if current.status == JobStatus::Completed && same_lease && current.result == Some(result) {
        return Ok(current);
    }
    if current.status != JobStatus::Running || !same_lease {
        return Err(StoreError::LeaseLost { job: lease.job });
    }
    sqlx::query(
        "UPDATE jobs SET status = 'completed', result = $2, message = $3, finished_at = $4, lease_expires_at = NULL \
         WHERE id = $1",
    )
    .bind(lease.job.0)
    .bind(result.as_str())
    .bind(message)
    .bind(context.now().millis())
    .execute(&mut *transaction)
    .await?;
    let updated = reload_job(&mut transaction, lease.job).await?;
    record_change(
        &mut transaction,
        ChangeKind::JobFinished,
        lease.job.0,
        context.now(),
        &serde_json::json!({ "attempt": updated.attempt, "result": result.as_str() }),
    )
    .await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::reclaim_leases`].
pub(crate) async fn reclaim_leases(
    pools: &DbPools,
    context: &Context,
    which: &Reclaim,
    decide: &(dyn Fn(&Job) -> ReclaimAction + Send + Sync),
) -> Result<Vec<ReclaimedLease>> {
    let now = context.now();
    let rows =
        sqlx::query(concat!("SELECT ", job_columns!(), ", lease_id FROM jobs WHERE status = 'running' ORDER BY id"))
            .fetch_all(&pools.writer)
            .await?
            .iter()
            .map(read_row::<LeasedJobRow>)
            .collect::<Result<Vec<_>>>()?;
    let mut reclaimed = Vec::new();
    for row in rows {
        let job = row.job.into_job()?;
        let lease_id = row.lease_id;
        let holder = job.lease_holder.clone().unwrap_or_default();
        let selected = match which {
            Reclaim::Expired => job.lease_expires_at.is_some_and(|expiry| expiry < now),
            Reclaim::HeldBy(prefix) => holder.starts_with(prefix.as_str()),
        };
        let Some(lease_id) = lease_id.filter(|_| selected) else {
            continue;
        };
        let action = decide(&job);
        let mut transaction = pools.writer.begin().await?;
        let changed = match &action {
            ReclaimAction::Fail(reason) => {
                let changed = sqlx::query(
                    "UPDATE jobs SET status = 'completed', result = 'Failed', message = $3, finished_at = $4, \
                     lease_expires_at = NULL WHERE id = $1 AND lease_id = $2 AND status = 'running'",
                )
                .bind(job.id.0)
                .bind(&lease_id)
                .bind(reason)
                .bind(now.millis())
                .execute(&mut *transaction)
                .await?
                .rows_affected();
                if changed == 1 {
                    sqlx::query(
                        "UPDATE steps SET status = 'completed', result = 'Failed', message = $2, finished_at = $3 \
                         WHERE job_id = $1 AND status <> 'completed'",
                    )
                    .bind(job.id.0)
                    .bind(reason)
                    .bind(now.millis())
                    .execute(&mut *transaction)
                    .await?;
                    record_change(
                        &mut transaction,
                        ChangeKind::JobFinished,
                        job.id.0,
                        now,
                        &serde_json::json!({ "attempt": job.attempt, "result": TaskResult::Failed.as_str() }),
                    )
                    .await?;
                }
                changed
            }
            ReclaimAction::Requeue => {
                let message = format!("put back in the queue: the lease held by '{holder}' was lost");
                let changed = sqlx::query(
                    "UPDATE jobs SET status = 'queued', lease_id = NULL, lease_holder = NULL, lease_expires_at = NULL, \
                     message = $3, started_at = NULL WHERE id = $1 AND lease_id = $2 AND status = 'running'",
                )
                .bind(job.id.0)
                .bind(&lease_id)
                .bind(&message)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
                if changed == 1 {
                    sqlx::query(
                        "UPDATE steps SET status = 'completed', result = 'Canceled', message = $2, finished_at = $3 \
                         WHERE job_id = $1 AND status <> 'completed'",
                    )
                    .bind(job.id.0)
                    .bind(&message)
                    .bind(now.millis())
                    .execute(&mut *transaction)
                    .await?;
                }
                changed
            }
        };
        if changed == 1 {
            let updated = reload_job(&mut transaction, job.id).await?;
            transaction.commit().await?;
            reclaimed.push(ReclaimedLease { job: updated, holder, action });
        }
    }
    Ok(reclaimed)
}

// ----- agent pools -----

/// A row of `pools`.
#[derive(sqlx::FromRow)]
struct PoolRow {
    name: String,
    settings: String,
    updated_at: i64,
}

impl PoolRow {
    fn into_pool(self) -> Result<PoolRecord> {
        Ok(PoolRecord {
            name: self.name,
            settings: from_json("settings", &self.settings)?,
            updated_at: Timestamp(self.updated_at),
        })
    }
}

/// Implements [`crate::Store::set_pool_settings`].
pub(crate) async fn set_pool_settings(
    pools: &DbPools,
    context: &Context,
    name: &str,
    settings: &PoolSettings,
) -> Result<PoolRecord> {
    require_name("pool", name)?;
    let row = sqlx::query(
        "INSERT INTO pools (name, settings, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
         SET settings = excluded.settings, updated_at = excluded.updated_at RETURNING name, settings, updated_at",
    )
    .bind(name)
    .bind(to_json("pool settings", settings)?)
    .bind(context.now().millis())
    .fetch_one(&pools.writer)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read_row::<PoolRow>(&row))?;
    row.into_pool()
}

/// Implements [`crate::Store::list_pool_settings`].
pub(crate) async fn list_pool_settings(pools: &DbPools, _context: &Context) -> Result<Vec<PoolRecord>> {
    sqlx::query("SELECT name, settings, updated_at FROM pools ORDER BY name")
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<PoolRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(PoolRow::into_pool)
        .collect()
}
