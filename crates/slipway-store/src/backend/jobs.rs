//! Jobs of runs: adding them (with their sealed spec when ready), reading them, moving them from
//! pending to queued, finishing them without a lease, and locking one for a change.

use slipway_events::TaskResult;

use super::POSTGRES;
use super::common::{DbConnection, DbPools, from_json, read_row, require_name, to_json};
use super::events::record_change;
use super::runs::lock_run;
use crate::crypto::constant_time_equal;
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    ChangeKind, Job, JobAttempt, JobId, JobStatus, LeaseToken, NewJob, RunId, RunStatus, Timestamp, parse_result,
};
use crate::store::Context;

/// The columns of `jobs` read into a [`JobRow`], one per field.
macro_rules! job_columns {
    () => {
        "id, run_id, job_key, stage, job, leg, display_name, pool, demands, status, result, message, attempt, \
         lease_holder, lease_expires_at, created_at, queued_at, started_at, finished_at, log_start"
    };
}
pub(super) use job_columns;

/// A row of `job_columns!()`.
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: i64,
    run_id: i64,
    job_key: String,
    stage: String,
    job: String,
    leg: Option<String>,
    display_name: String,
    pool: String,
    demands: String,
    status: String,
    result: Option<String>,
    message: Option<String>,
    attempt: i64,
    lease_holder: Option<String>,
    lease_expires_at: Option<i64>,
    created_at: i64,
    queued_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    log_start: i64,
}

impl JobRow {
    pub(super) fn into_job(self) -> Result<Job> {
        Ok(Job {
            id: JobId(self.id),
            run: RunId(self.run_id),
            key: self.job_key,
            stage: self.stage,
            job: self.job,
            leg: self.leg,
            display_name: self.display_name,
            pool: self.pool,
            demands: from_json("demands", &self.demands)?,
            status: JobStatus::parse(&self.status)?,
            result: parse_result(self.result)?,
            message: self.message,
            attempt: self.attempt,
            lease_holder: self.lease_holder,
            lease_expires_at: self.lease_expires_at.map(Timestamp),
            created_at: Timestamp(self.created_at),
            queued_at: self.queued_at.map(Timestamp),
            started_at: self.started_at.map(Timestamp),
            finished_at: self.finished_at.map(Timestamp),
            log_start: self.log_start,
        })
    }
}

/// A row of `job_columns!()` followed by the job's lease id, next log chunk number and line count.
#[derive(sqlx::FromRow)]
struct LockedJobRow {
    #[sqlx(flatten)]
    job: JobRow,
    lease_id: Option<String>,
    log_sequence: i64,
    log_lines: i64,
}

/// Implements [`crate::Store::add_jobs`].
pub(crate) async fn add_jobs(pools: &DbPools, context: &Context, run: RunId, jobs: &[NewJob]) -> Result<Vec<Job>> {
    let mut transaction = pools.writer.begin().await?;
    let created = insert_jobs(&mut transaction, context, run, jobs.iter().map(|job| (job, None))).await?;
    transaction.commit().await?;
    Ok(created)
}

/// Implements [`crate::Store::add_ready_jobs`].
pub(crate) async fn add_ready_jobs(
    pools: &DbPools,
    context: &Context,
    run: RunId,
    jobs: &[(NewJob, Vec<u8>)],
) -> Result<Vec<Job>> {
    let mut transaction = pools.writer.begin().await?;
    let created =
        insert_jobs(&mut transaction, context, run, jobs.iter().map(|(job, spec)| (job, Some(spec.as_slice()))))
            .await?;
    transaction.commit().await?;
    Ok(created)
}

/// The context a job's spec is sealed with.
fn spec_context(job: JobId) -> String {
    format!("slipway/v2/job-spec/{job}")
}

/// Inserts or replaces a job's sealed spec.
async fn write_spec(connection: &mut DbConnection, context: &Context, job: JobId, spec: &[u8]) -> Result<()> {
    let sealed = context.key.seal(&spec_context(job), spec)?;
    sqlx::query(
        "INSERT INTO job_specs (job_id, sealed) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET sealed = excluded.sealed",
    )
    .bind(job.0)
    .bind(sealed)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Adds jobs to a run inside a transaction; a job with a spec is stored with it and queued at once.
async fn insert_jobs<'a>(
    transaction: &mut DbConnection,
    context: &Context,
    run: RunId,
    jobs: impl Iterator<Item = (&'a NewJob, Option<&'a [u8]>)>,
) -> Result<Vec<Job>> {
    let now = context.now().millis();
    let current = lock_run(&mut *transaction, run).await?;
    if current.status == RunStatus::Completed {
        return Err(StoreError::InvalidState {
            entity: "run",
            id: run.0,
            state: "completed".into(),
            action: "add jobs",
        });
    }
    let mut created = Vec::new();
    for (job, spec) in jobs {
        require_name("job name", &job.job)?;
        require_name("pool", &job.pool)?;
        let key = job.key();
        let (status, queued_at, result, message) = if current.cancel_requested {
            ("completed", None, Some("Canceled"), Some("the run was cancelled"))
        } else if job.ready || spec.is_some() {
            ("queued", Some(now), None, None)
        } else {
            ("pending", None, None, None)
        };
        let row = sqlx::query(concat!(
            "INSERT INTO jobs (run_id, job_key, stage, job, leg, display_name, pool, demands, status, created_at, \
             queued_at, result, message, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $12 IS NULL THEN NULL ELSE $10 END) \
             RETURNING ",
            job_columns!()
        ))
        .bind(run.0)
        .bind(&key)
        .bind(&job.stage)
        .bind(&job.job)
        .bind(job.leg.as_deref())
        .bind(&job.display_name)
        .bind(&job.pool)
        .bind(to_json("demands", &job.demands)?)
        .bind(status)
        .bind(now)
        .bind(queued_at)
        .bind(result)
        .bind(message)
        .fetch_one(&mut *transaction)
        .await
        .map_err(conflict_or("job", &key))?;
        let added = read_row::<JobRow>(&row)?.into_job()?;
        if let Some(spec) = spec {
            write_spec(&mut *transaction, context, added.id, spec).await?;
        }
        created.push(added);
    }
    Ok(created)
}

/// Implements [`crate::Store::queue_job_with_spec`].
pub(crate) async fn queue_job_with_spec(pools: &DbPools, context: &Context, job: JobId, spec: &[u8]) -> Result<Job> {
    let mut transaction = pools.writer.begin().await?;
    let run: Option<i64> = sqlx::query_scalar("SELECT run_id FROM jobs WHERE id = $1")
        .bind(job.0)
        .fetch_optional(&mut *transaction)
        .await?;
    let run = lock_run(&mut transaction, RunId(run.ok_or_else(|| StoreError::not_found("job", job))?)).await?;
    let (current, ..) = lock_job(&mut transaction, job).await?;
    match current.status {
        JobStatus::Pending | JobStatus::Queued => {}
        other => {
            return Err(StoreError::InvalidState {
                entity: "job",
                id: job.0,
                state: other.to_string(),
                action: "queue it",
            });
        }
    }
    write_spec(&mut transaction, context, job, spec).await?;
    if current.status == JobStatus::Pending {
        let sql = if run.cancel_requested {
            "UPDATE jobs SET status = 'completed', result = 'Canceled', message = 'the run was cancelled', \
             finished_at = $2 WHERE id = $1"
        } else {
            "UPDATE jobs SET status = 'queued', queued_at = $2 WHERE id = $1"
        };
        sqlx::query(sql).bind(job.0).bind(context.now().millis()).execute(&mut *transaction).await?;
    }
    let updated = reload_job(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::job_spec`].
pub(crate) async fn job_spec(pools: &DbPools, context: &Context, job: JobId) -> Result<Option<Vec<u8>>> {
    let sealed: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM job_specs WHERE job_id = $1")
        .bind(job.0)
        .fetch_optional(&pools.reader)
        .await?;
    sealed
        .map(|sealed| {
            context
                .key
                .open(&spec_context(job), &sealed)
                .ok_or_else(|| StoreError::Decryption(format!("job {job} spec")))
        })
        .transpose()
}

/// Implements [`crate::Store::running_jobs`].
pub(crate) async fn running_jobs(pools: &DbPools, _context: &Context) -> Result<Vec<Job>> {
    sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE status = 'running' ORDER BY id"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<JobRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(JobRow::into_job)
        .collect()
}

/// Implements [`crate::Store::job`].
pub(crate) async fn job(pools: &DbPools, _context: &Context, job: JobId) -> Result<Job> {
    let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
        .bind(job.0)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<JobRow>)
        .transpose()?;
    row.map(JobRow::into_job).transpose()?.ok_or_else(|| StoreError::not_found("job", job))
}

/// Implements [`crate::Store::jobs_of_run`].
pub(crate) async fn jobs_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<Job>> {
    sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE run_id = $1 ORDER BY id"))
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<JobRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(JobRow::into_job)
        .collect()
}

/// Implements [`crate::Store::completed_job_ids`].
pub(crate) async fn completed_job_ids(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<JobId>> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT id FROM jobs WHERE run_id = $1 AND status = 'completed' ORDER BY id")
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .into_iter()
        .map(JobId)
        .collect())
}

/// A row of `job_attempts`.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    job_id: i64,
    attempt: i64,
    result: Option<String>,
    message: Option<String>,
    lease_holder: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    first_line: i64,
    line_count: i64,
}

/// Implements [`crate::Store::job_attempts_of_run`].
pub(crate) async fn job_attempts_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<JobAttempt>> {
    sqlx::query(
        "SELECT a.job_id, a.attempt, a.result, a.message, a.lease_holder, a.started_at, a.finished_at, a.first_line, \
         a.line_count FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.run_id = $1 \
         ORDER BY a.job_id, a.attempt",
    )
    .bind(run.0)
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<AttemptRow>)
    .map(|row| {
        let row = row?;
        Ok(JobAttempt {
            job: JobId(row.job_id),
            attempt: row.attempt,
            result: parse_result(row.result)?,
            message: row.message,
            lease_holder: row.lease_holder,
            started_at: row.started_at.map(Timestamp),
            finished_at: row.finished_at.map(Timestamp),
            first_line: row.first_line,
            line_count: row.line_count,
        })
    })
    .collect()
}

/// Implements [`crate::Store::queued_jobs`].
pub(crate) async fn queued_jobs(pools: &DbPools, _context: &Context, pool: Option<&str>) -> Result<Vec<Job>> {
    sqlx::query(concat!(
        "SELECT ",
        job_columns!(),
        " FROM jobs WHERE status = 'queued' AND ($1 IS NULL OR pool = $1) ORDER BY queued_at, id"
    ))
    .bind(pool)
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<JobRow>)
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(JobRow::into_job)
    .collect()
}

/// Reads a job with its lease id, next log chunk number and line count, locking its row.
pub(super) async fn lock_job(connection: &mut DbConnection, job: JobId) -> Result<(Job, Option<String>, i64, i64)> {
    let sql = if POSTGRES {
        concat!(
            "SELECT ",
            job_columns!(),
            ", lease_id, log_sequence, log_lines FROM jobs WHERE id = $1 FOR NO KEY UPDATE"
        )
    } else {
        concat!("SELECT ", job_columns!(), ", lease_id, log_sequence, log_lines FROM jobs WHERE id = $1")
    };
    let row = sqlx::query(sql)
        .bind(job.0)
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(read_row::<LockedJobRow>)
        .transpose()?;
    let row = row.ok_or_else(|| StoreError::not_found("job", job))?;
    Ok((row.job.into_job()?, row.lease_id, row.log_sequence, row.log_lines))
}

/// Reads a job again inside a transaction.
pub(super) async fn reload_job(connection: &mut DbConnection, job: JobId) -> Result<Job> {
    let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
        .bind(job.0)
        .fetch_one(&mut *connection)
        .await
        .map_err(StoreError::from)
        .and_then(|row| read_row::<JobRow>(&row))?;
    row.into_job()
}

/// Locks a job and checks that `lease` holds it (running, same lease id).
pub(super) async fn lock_leased_job(connection: &mut DbConnection, lease: &LeaseToken) -> Result<(Job, i64, i64)> {
    let (job, lease_id, log_sequence, log_lines) = lock_job(connection, lease.job).await?;
    let held = job.status == JobStatus::Running
        && lease_id.as_deref().is_some_and(|current| constant_time_equal(current, &lease.lease_id));
    if !held {
        return Err(StoreError::LeaseLost { job: lease.job });
    }
    Ok((job, log_sequence, log_lines))
}

/// Implements [`crate::Store::queue_job`].
pub(crate) async fn queue_job(pools: &DbPools, context: &Context, job: JobId) -> Result<Job> {
    let mut transaction = pools.writer.begin().await?;
    let run: Option<i64> = sqlx::query_scalar("SELECT run_id FROM jobs WHERE id = $1")
        .bind(job.0)
        .fetch_optional(&mut *transaction)
        .await?;
    let run = lock_run(&mut transaction, RunId(run.ok_or_else(|| StoreError::not_found("job", job))?)).await?;
    let (current, ..) = lock_job(&mut transaction, job).await?;
    match current.status {
        JobStatus::Queued => return Ok(current),
        JobStatus::Pending => {}
        other => {
            return Err(StoreError::InvalidState {
                entity: "job",
                id: job.0,
                state: other.to_string(),
                action: "queue it",
            });
        }
    }
    // A job of a run that is being cancelled ends instead of waiting in the queue.
    let sql = if run.cancel_requested {
        "UPDATE jobs SET status = 'completed', result = 'Canceled', message = 'the run was cancelled', \
         finished_at = $2 WHERE id = $1"
    } else {
        "UPDATE jobs SET status = 'queued', queued_at = $2 WHERE id = $1"
    };
    sqlx::query(sql).bind(job.0).bind(context.now().millis()).execute(&mut *transaction).await?;
    let updated = reload_job(&mut transaction, job).await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::finish_job_unleased`].
pub(crate) async fn finish_job_unleased(
    pools: &DbPools,
    context: &Context,
    job: JobId,
    result: TaskResult,
    message: Option<&str>,
) -> Result<Job> {
    let mut transaction = pools.writer.begin().await?;
    let (current, ..) = lock_job(&mut transaction, job).await?;
    if !matches!(current.status, JobStatus::Pending | JobStatus::Queued) {
        return Err(StoreError::InvalidState {
            entity: "job",
            id: job.0,
            state: current.status.to_string(),
            action: "finish it without a lease",
        });
    }
    sqlx::query("UPDATE jobs SET status = 'completed', result = $2, message = $3, finished_at = $4 WHERE id = $1")
        .bind(job.0)
        .bind(result.as_str())
        .bind(message)
        .bind(context.now().millis())
        .execute(&mut *transaction)
        .await?;
    let updated = reload_job(&mut transaction, job).await?;
    record_change(
        &mut transaction,
        ChangeKind::JobFinished,
        job.0,
        context.now(),
        &serde_json::json!({ "attempt": updated.attempt, "result": result.as_str(), "leased": false }),
    )
    .await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::set_job_message`].
pub(crate) async fn set_job_message(
    pools: &DbPools,
    _context: &Context,
    job: JobId,
    message: Option<&str>,
) -> Result<()> {
    let changed = sqlx::query("UPDATE jobs SET message = $2 WHERE id = $1")
        .bind(job.0)
        .bind(message)
        .execute(&pools.writer)
        .await?;
    if changed.rows_affected() == 0 {
        return Err(StoreError::not_found("job", job));
    }
    Ok(())
}
