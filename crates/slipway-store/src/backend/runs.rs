//! Runs: creating them (for triggers under a guard), reading and listing them, their plan, number
//! and keep flag, and their life: starting, finishing, cancelling, deleting and re-running jobs.

use slipway_events::TaskResult;
use slipway_plan::Plan;

use super::artifacts::{blobs_of_runs, unreferenced};
use super::common::{DbConnection, DbPools, from_json, read_row, to_json};
use super::events::record_change;
use super::jobs::lock_job;
use super::pipelines::{apply_guard, require_pipeline};
use super::{Db, POSTGRES};
use crate::error::{Result, StoreError};
use crate::model::{
    ChangeKind, JobId, JobStatus, NewRun, PipelineId, RetentionReport, Run, RunFilter, RunId, RunStatus, Timestamp,
    TriggerGuard, TriggerKind, parse_result,
};
use crate::store::Context;

/// The columns of `runs` read into a [`RunRow`], one per field.
macro_rules! run_columns {
    () => {
        "id, pipeline_id, run_number, trigger_kind, trigger_details, branch, commit_sha, parameters, variables, \
         status, result, requested_by, created_at, started_at, finished_at, cancel_requested, keep, retry_of, \
         upstream_run_id"
    };
}

/// A row of `run_columns!()`.
#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    pipeline_id: i64,
    run_number: String,
    trigger_kind: String,
    trigger_details: String,
    branch: Option<String>,
    commit_sha: Option<String>,
    parameters: String,
    variables: String,
    status: String,
    result: Option<String>,
    requested_by: Option<String>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    cancel_requested: bool,
    keep: bool,
    retry_of: Option<i64>,
    upstream_run_id: Option<i64>,
}

impl RunRow {
    fn into_run(self) -> Result<Run> {
        Ok(Run {
            id: RunId(self.id),
            pipeline: PipelineId(self.pipeline_id),
            run_number: self.run_number,
            trigger: TriggerKind::parse(&self.trigger_kind)?,
            trigger_details: from_json("trigger_details", &self.trigger_details)?,
            branch: self.branch,
            commit: self.commit_sha,
            parameters: from_json("parameters", &self.parameters)?,
            variables: from_json("variables", &self.variables)?,
            status: RunStatus::parse(&self.status)?,
            result: parse_result(self.result)?,
            requested_by: self.requested_by,
            created_at: Timestamp(self.created_at),
            started_at: self.started_at.map(Timestamp),
            finished_at: self.finished_at.map(Timestamp),
            cancel_requested: self.cancel_requested,
            keep: self.keep,
            retry_of: self.retry_of.map(RunId),
            upstream_run: self.upstream_run_id.map(RunId),
        })
    }
}

/// Fails with `NotFound` unless the run exists.
pub(super) async fn require_run(connection: &mut DbConnection, run: RunId) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM runs WHERE id = $1").bind(run.0).fetch_optional(&mut *connection).await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found("run", run))
}

/// Implements [`crate::Store::create_run`] (no guard) and [`crate::Store::create_triggered_run`].
pub(crate) async fn create_run(
    pools: &DbPools,
    context: &Context,
    run: &NewRun,
    guard: Option<&TriggerGuard>,
) -> Result<Option<Run>> {
    let plan = run.plan.as_ref().map(|plan| to_json("plan", plan)).transpose()?;
    let mut transaction = pools.writer.begin().await?;
    require_pipeline(&mut transaction, run.pipeline).await?;
    for linked in [run.retry_of, run.upstream_run].into_iter().flatten() {
        require_run(&mut transaction, linked).await?;
    }
    if let Some(guard) = guard
        && !apply_guard(&mut transaction, context, run.pipeline, guard).await?
    {
        return Ok(None);
    }
    let row = sqlx::query(concat!(
        "INSERT INTO runs (pipeline_id, run_number, trigger_kind, trigger_details, branch, commit_sha, parameters, \
         variables, plan, status, requested_by, created_at, retry_of, upstream_run_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11, $12, $13) RETURNING ",
        run_columns!()
    ))
    .bind(run.pipeline.0)
    .bind(&run.run_number)
    .bind(run.trigger.as_str())
    .bind(to_json("trigger details", &run.trigger_details)?)
    .bind(run.branch.as_deref())
    .bind(run.commit.as_deref())
    .bind(to_json("parameters", &run.parameters)?)
    .bind(to_json("variables", &run.variables)?)
    .bind(plan)
    .bind(run.requested_by.as_deref())
    .bind(context.now().millis())
    .bind(run.retry_of.map(|id| id.0))
    .bind(run.upstream_run.map(|id| id.0))
    .fetch_one(&mut *transaction)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read_row::<RunRow>(&row))?;
    let created = row.into_run()?;
    record_change(&mut transaction, ChangeKind::RunQueued, created.id.0, created.created_at, &serde_json::json!({}))
        .await?;
    transaction.commit().await?;
    Ok(Some(created))
}

/// Implements [`crate::Store::run`].
pub(crate) async fn run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Run> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
        .bind(run.0)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<RunRow>)
        .transpose()?;
    row.map(RunRow::into_run).transpose()?.ok_or_else(|| StoreError::not_found("run", run))
}

/// Implements [`crate::Store::run_plan`].
pub(crate) async fn run_plan(pools: &DbPools, _context: &Context, run: RunId) -> Result<Option<Plan>> {
    let plan: Option<Option<String>> =
        sqlx::query_scalar("SELECT plan FROM runs WHERE id = $1").bind(run.0).fetch_optional(&pools.reader).await?;
    let text = plan.ok_or_else(|| StoreError::not_found("run", run))?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|error| StoreError::corrupt(format!("plan of run {run}: {error}")))
    })
    .transpose()
}

/// Turns an update that changed no row into `NotFound`.
fn found_run(changed: sqlx::Result<<Db as sqlx::Database>::QueryResult>, run: RunId) -> Result<()> {
    if changed?.rows_affected() == 0 {
        return Err(StoreError::not_found("run", run));
    }
    Ok(())
}

/// Implements [`crate::Store::set_run_plan`].
pub(crate) async fn set_run_plan(pools: &DbPools, _context: &Context, run: RunId, plan: &Plan) -> Result<()> {
    let changed = sqlx::query("UPDATE runs SET plan = $2 WHERE id = $1")
        .bind(run.0)
        .bind(to_json("plan", plan)?)
        .execute(&pools.writer)
        .await;
    found_run(changed, run)
}

/// Implements [`crate::Store::set_run_number`].
pub(crate) async fn set_run_number(pools: &DbPools, _context: &Context, run: RunId, run_number: &str) -> Result<()> {
    let changed = sqlx::query("UPDATE runs SET run_number = $2 WHERE id = $1")
        .bind(run.0)
        .bind(run_number)
        .execute(&pools.writer)
        .await;
    found_run(changed, run)
}

/// Implements [`crate::Store::set_run_keep`].
pub(crate) async fn set_run_keep(pools: &DbPools, _context: &Context, run: RunId, keep: bool) -> Result<()> {
    let changed =
        sqlx::query("UPDATE runs SET keep = $2 WHERE id = $1").bind(run.0).bind(keep).execute(&pools.writer).await;
    found_run(changed, run)
}

/// Implements [`crate::Store::list_runs`].
pub(crate) async fn list_runs(pools: &DbPools, _context: &Context, filter: &RunFilter) -> Result<Vec<Run>> {
    let limit = if filter.limit == 0 { 50 } else { i64::from(filter.limit.min(1000)) };
    sqlx::query(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE ($1 IS NULL OR pipeline_id = $1) AND ($2 IS NULL OR status = $2) \
         AND ($3 IS NULL OR branch = $3) AND ($4 IS NULL OR id < $4) AND ($6 IS NULL OR result = $6) \
         AND ($7 IS NULL OR trigger_kind = $7) ORDER BY id DESC LIMIT $5"
    ))
    .bind(filter.pipeline.map(|id| id.0))
    .bind(filter.status.map(RunStatus::as_str))
    .bind(filter.branch.as_deref())
    .bind(filter.before.map(|id| id.0))
    .bind(limit)
    .bind(filter.result.map(TaskResult::as_str))
    .bind(filter.trigger.map(TriggerKind::as_str))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<RunRow>)
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(RunRow::into_run)
    .collect()
}

/// Implements [`crate::Store::latest_runs`].
pub(crate) async fn latest_runs(pools: &DbPools, _context: &Context) -> Result<Vec<Run>> {
    sqlx::query(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY pipeline_id) ORDER BY pipeline_id"
    ))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(read_row::<RunRow>)
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .map(RunRow::into_run)
    .collect()
}

/// Implements [`crate::Store::latest_successful_run`].
pub(crate) async fn latest_successful_run(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
    branch: Option<&str>,
) -> Result<Option<Run>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        run_columns!(),
        " FROM runs WHERE pipeline_id = $1 AND ($2 IS NULL OR branch = $2) AND status = 'completed' \
         AND result IN ('Succeeded', 'SucceededWithIssues') ORDER BY id DESC LIMIT 1"
    ))
    .bind(pipeline.0)
    .bind(branch)
    .fetch_optional(&pools.reader)
    .await?
    .as_ref()
    .map(read_row::<RunRow>)
    .transpose()?;
    row.map(RunRow::into_run).transpose()
}

/// Reads a run, locking its row until the transaction ends (on SQLite the single writer is the lock).
pub(super) async fn lock_run(connection: &mut DbConnection, run: RunId) -> Result<Run> {
    let sql = if POSTGRES {
        concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1 FOR NO KEY UPDATE")
    } else {
        concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1")
    };
    let row = sqlx::query(sql)
        .bind(run.0)
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(read_row::<RunRow>)
        .transpose()?;
    row.map(RunRow::into_run).transpose()?.ok_or_else(|| StoreError::not_found("run", run))
}

/// Reads a run again inside a transaction.
async fn reload_run(connection: &mut DbConnection, run: RunId) -> Result<Run> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
        .bind(run.0)
        .fetch_one(&mut *connection)
        .await
        .map_err(StoreError::from)
        .and_then(|row| read_row::<RunRow>(&row))?;
    row.into_run()
}

/// Implements [`crate::Store::start_run`].
pub(crate) async fn start_run(pools: &DbPools, context: &Context, run: RunId) -> Result<Run> {
    let mut transaction = pools.writer.begin().await?;
    let current = lock_run(&mut transaction, run).await?;
    match current.status {
        RunStatus::Running => return Ok(current),
        RunStatus::Completed => {
            return Err(StoreError::InvalidState {
                entity: "run",
                id: run.0,
                state: "completed".into(),
                action: "start it",
            });
        }
        RunStatus::Queued => {}
    }
    // A run whose failed jobs run again keeps the start of its first attempt.
    sqlx::query("UPDATE runs SET status = 'running', started_at = COALESCE(started_at, $2) WHERE id = $1")
        .bind(run.0)
        .bind(context.now().millis())
        .execute(&mut *transaction)
        .await?;
    let updated = reload_run(&mut transaction, run).await?;
    record_change(&mut transaction, ChangeKind::RunStarted, run.0, context.now(), &serde_json::json!({})).await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::finish_run`].
pub(crate) async fn finish_run(pools: &DbPools, context: &Context, run: RunId, result: TaskResult) -> Result<Run> {
    let mut transaction = pools.writer.begin().await?;
    let current = lock_run(&mut transaction, run).await?;
    if current.status == RunStatus::Completed {
        return Err(StoreError::InvalidState {
            entity: "run",
            id: run.0,
            state: "completed".into(),
            action: "finish it again",
        });
    }
    let now = context.now().millis();
    sqlx::query(
        "UPDATE runs SET status = 'completed', result = $2, finished_at = $3, started_at = COALESCE(started_at, $3) \
         WHERE id = $1",
    )
    .bind(run.0)
    .bind(result.as_str())
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    let updated = reload_run(&mut transaction, run).await?;
    record_change(
        &mut transaction,
        ChangeKind::RunFinished,
        run.0,
        Timestamp(now),
        &serde_json::json!({ "result": result.as_str() }),
    )
    .await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::request_cancel`].
pub(crate) async fn request_cancel(pools: &DbPools, context: &Context, run: RunId) -> Result<Run> {
    let mut transaction = pools.writer.begin().await?;
    let current = lock_run(&mut transaction, run).await?;
    if current.status == RunStatus::Completed {
        return Ok(current);
    }
    let now = context.now().millis();
    sqlx::query("UPDATE runs SET cancel_requested = TRUE WHERE id = $1").bind(run.0).execute(&mut *transaction).await?;
    sqlx::query(
        "UPDATE jobs SET status = 'completed', result = 'Canceled', message = 'the run was cancelled', finished_at = $2 \
         WHERE run_id = $1 AND status IN ('pending', 'queued')",
    )
    .bind(run.0)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    let updated = reload_run(&mut transaction, run).await?;
    transaction.commit().await?;
    Ok(updated)
}

/// Implements [`crate::Store::delete_run`].
pub(crate) async fn delete_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<RetentionReport> {
    let mut transaction = pools.writer.begin().await?;
    let current = lock_run(&mut transaction, run).await?;
    if current.status != RunStatus::Completed {
        return Err(StoreError::InvalidState {
            entity: "run",
            id: run.0,
            state: current.status.to_string(),
            action: "delete it before it completes",
        });
    }
    let blobs = blobs_of_runs(&mut transaction, &[run.0]).await?;
    sqlx::query("DELETE FROM runs WHERE id = $1").bind(run.0).execute(&mut *transaction).await?;
    let unreferenced_blobs = unreferenced(&mut transaction, blobs).await?;
    transaction.commit().await?;
    Ok(RetentionReport { deleted_runs: vec![run], unreferenced_blobs })
}

/// Implements [`crate::Store::rerun_jobs`].
pub(crate) async fn rerun_jobs(pools: &DbPools, _context: &Context, run: RunId, jobs: &[JobId]) -> Result<Run> {
    let mut transaction = pools.writer.begin().await?;
    let current = lock_run(&mut transaction, run).await?;
    if current.status != RunStatus::Completed {
        return Err(StoreError::InvalidState {
            entity: "run",
            id: run.0,
            state: current.status.to_string(),
            action: "re-run its jobs before it completes",
        });
    }
    for job in jobs {
        let (found, _, _, log_lines) = lock_job(&mut transaction, *job).await?;
        if found.run != run {
            return Err(StoreError::not_found("job", *job));
        }
        if found.status != JobStatus::Completed {
            return Err(StoreError::InvalidState {
                entity: "job",
                id: job.0,
                state: found.status.to_string(),
                action: "re-run it",
            });
        }
        // The attempt that ended is kept, with the lines of the log that are its own; the next
        // attempt's log starts after them.
        sqlx::query(
            "INSERT INTO job_attempts (job_id, attempt, result, message, lease_holder, started_at, finished_at, \
             first_line, line_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (job_id, attempt) DO NOTHING",
        )
        .bind(job.0)
        .bind(found.attempt)
        .bind(found.result.map(|result| result.as_str()))
        .bind(&found.message)
        .bind(&found.lease_holder)
        .bind(found.started_at.map(|at| at.0))
        .bind(found.finished_at.map(|at| at.0))
        .bind(found.log_start)
        .bind((log_lines - found.log_start).max(0))
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE jobs SET status = 'pending', result = NULL, message = NULL, lease_id = NULL, lease_holder = NULL, \
             lease_expires_at = NULL, queued_at = NULL, started_at = NULL, finished_at = NULL, log_start = log_lines \
             WHERE id = $1",
        )
        .bind(job.0)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM steps WHERE job_id = $1").bind(job.0).execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM job_outputs WHERE owner_id = $1").bind(job.0).execute(&mut *transaction).await?;
    }
    // Stages whose checks did not pass wait for them again, at a new checkpoint.
    sqlx::query("UPDATE checkpoints SET superseded = TRUE WHERE run_id = $1 AND state <> 'passed'")
        .bind(run.0)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "UPDATE runs SET status = 'queued', result = NULL, finished_at = NULL, cancel_requested = FALSE WHERE id = $1",
    )
    .bind(run.0)
    .execute(&mut *transaction)
    .await?;
    let updated = reload_run(&mut transaction, run).await?;
    transaction.commit().await?;
    Ok(updated)
}
