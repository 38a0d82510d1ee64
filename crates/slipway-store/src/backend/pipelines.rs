//! Pipelines and their trigger state: the pipelines themselves, the last commit seen on each
//! branch, when each schedule last fired, webhook secrets, revision and `counter()` values.

use std::collections::BTreeMap;

use super::artifacts::{blobs_of_runs, unreferenced};
use super::common::{DbConnection, DbPools, read_row, require_name, to_u32};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    BranchHead, Pipeline, PipelineId, PipelineSettings, QueueStatus, RetentionPolicy, RetentionReport, RunId,
    ScheduleFire, Timestamp, TriggerGuard, TriggerHealth,
};
use crate::store::Context;

// ----- pipelines -----

/// The columns of `pipelines` read into a [`PipelineRow`], one per field.
macro_rules! pipeline_columns {
    () => {
        "id, name, repository, yaml_path, default_branch, retention_days, retention_runs, queue_status, \
         trigger_checked_at, trigger_error, created_at, updated_at"
    };
}

/// A row of `pipeline_columns!()`.
#[derive(sqlx::FromRow)]
struct PipelineRow {
    id: i64,
    name: String,
    repository: String,
    yaml_path: String,
    default_branch: String,
    retention_days: Option<i64>,
    retention_runs: Option<i64>,
    queue_status: String,
    trigger_checked_at: Option<i64>,
    trigger_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl PipelineRow {
    fn into_pipeline(self) -> Result<Pipeline> {
        Ok(Pipeline {
            id: PipelineId(self.id),
            name: self.name,
            repository: self.repository,
            yaml_path: self.yaml_path,
            default_branch: self.default_branch,
            retention: RetentionPolicy {
                days: to_u32("retention_days", self.retention_days)?,
                runs: to_u32("retention_runs", self.retention_runs)?,
            },
            queue_status: QueueStatus::parse(&self.queue_status)?,
            triggers: TriggerHealth { checked_at: self.trigger_checked_at.map(Timestamp), error: self.trigger_error },
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

/// Implements [`crate::Store::create_pipeline`].
pub(crate) async fn create_pipeline(
    pools: &DbPools,
    context: &Context,
    settings: &PipelineSettings,
) -> Result<Pipeline> {
    require_name("pipeline name", &settings.name)?;
    let now = context.now();
    let row = sqlx::query(concat!(
        "INSERT INTO pipelines (name, repository, yaml_path, default_branch, retention_days, retention_runs, \
         queue_status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
        pipeline_columns!()
    ))
    .bind(&settings.name)
    .bind(&settings.repository)
    .bind(&settings.yaml_path)
    .bind(&settings.default_branch)
    .bind(settings.retention.days.map(i64::from))
    .bind(settings.retention.runs.map(i64::from))
    .bind(settings.queue_status.as_str())
    .bind(now.millis())
    .fetch_one(&pools.writer)
    .await
    .map_err(conflict_or("pipeline", &settings.name))?;
    read_row::<PipelineRow>(&row)?.into_pipeline()
}

/// Implements [`crate::Store::update_pipeline`].
pub(crate) async fn update_pipeline(
    pools: &DbPools,
    context: &Context,
    pipeline: PipelineId,
    settings: &PipelineSettings,
) -> Result<Pipeline> {
    require_name("pipeline name", &settings.name)?;
    let row = sqlx::query(concat!(
        "UPDATE pipelines SET name = $2, repository = $3, yaml_path = $4, default_branch = $5, \
         retention_days = $6, retention_runs = $7, queue_status = $8, updated_at = $9 WHERE id = $1 RETURNING ",
        pipeline_columns!()
    ))
    .bind(pipeline.0)
    .bind(&settings.name)
    .bind(&settings.repository)
    .bind(&settings.yaml_path)
    .bind(&settings.default_branch)
    .bind(settings.retention.days.map(i64::from))
    .bind(settings.retention.runs.map(i64::from))
    .bind(settings.queue_status.as_str())
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await
    .map_err(conflict_or("pipeline", &settings.name))?;
    let row = row.as_ref().map(read_row::<PipelineRow>).transpose()?;
    row.map(PipelineRow::into_pipeline).transpose()?.ok_or_else(|| StoreError::not_found("pipeline", pipeline))
}

/// Implements [`crate::Store::record_trigger_check`].
pub(crate) async fn record_trigger_check(
    pools: &DbPools,
    context: &Context,
    pipeline: PipelineId,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE pipelines SET trigger_checked_at = $2, trigger_error = $3 WHERE id = $1")
        .bind(pipeline.0)
        .bind(context.now().millis())
        .bind(error)
        .execute(&pools.writer)
        .await?;
    Ok(())
}

/// Implements [`crate::Store::pipeline`].
pub(crate) async fn pipeline(pools: &DbPools, _context: &Context, pipeline: PipelineId) -> Result<Pipeline> {
    let row = sqlx::query(concat!("SELECT ", pipeline_columns!(), " FROM pipelines WHERE id = $1"))
        .bind(pipeline.0)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<PipelineRow>)
        .transpose()?;
    row.map(PipelineRow::into_pipeline).transpose()?.ok_or_else(|| StoreError::not_found("pipeline", pipeline))
}

/// Implements [`crate::Store::pipeline_by_name`].
pub(crate) async fn pipeline_by_name(pools: &DbPools, _context: &Context, name: &str) -> Result<Option<Pipeline>> {
    let row = sqlx::query(concat!("SELECT ", pipeline_columns!(), " FROM pipelines WHERE name = $1"))
        .bind(name)
        .fetch_optional(&pools.reader)
        .await?
        .as_ref()
        .map(read_row::<PipelineRow>)
        .transpose()?;
    row.map(PipelineRow::into_pipeline).transpose()
}

/// Implements [`crate::Store::list_pipelines`].
pub(crate) async fn list_pipelines(pools: &DbPools, _context: &Context) -> Result<Vec<Pipeline>> {
    sqlx::query(concat!("SELECT ", pipeline_columns!(), " FROM pipelines ORDER BY name"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<PipelineRow>)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(PipelineRow::into_pipeline)
        .collect()
}

/// Implements [`crate::Store::delete_pipeline`].
pub(crate) async fn delete_pipeline(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
) -> Result<RetentionReport> {
    let mut transaction = pools.writer.begin().await?;
    let runs: Vec<i64> = sqlx::query_scalar("SELECT id FROM runs WHERE pipeline_id = $1 ORDER BY id")
        .bind(pipeline.0)
        .fetch_all(&mut *transaction)
        .await?;
    let blobs = blobs_of_runs(&mut transaction, &runs).await?;
    let deleted =
        sqlx::query("DELETE FROM pipelines WHERE id = $1").bind(pipeline.0).execute(&mut *transaction).await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("pipeline", pipeline));
    }
    let unreferenced_blobs = unreferenced(&mut transaction, blobs).await?;
    transaction.commit().await?;
    Ok(RetentionReport { deleted_runs: runs.into_iter().map(RunId).collect(), unreferenced_blobs })
}

/// Fails with `NotFound` unless the pipeline exists.
pub(super) async fn require_pipeline(connection: &mut DbConnection, pipeline: PipelineId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM pipelines WHERE id = $1")
        .bind(pipeline.0)
        .fetch_optional(&mut *connection)
        .await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found("pipeline", pipeline))
}

// ----- branch heads and schedule fires -----

/// Implements [`crate::Store::branch_heads`].
pub(crate) async fn branch_heads(pools: &DbPools, _context: &Context, pipeline: PipelineId) -> Result<Vec<BranchHead>> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query("SELECT branch, commit_sha, updated_at FROM branch_heads WHERE pipeline_id = $1 ORDER BY branch")
            .bind(pipeline.0)
            .fetch_all(&pools.reader)
            .await?
            .iter()
            .map(read_row)
            .collect::<Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(branch, commit, updated_at)| BranchHead { branch, commit, updated_at: Timestamp(updated_at) })
        .collect())
}

/// Implements [`crate::Store::set_branch_head`].
pub(crate) async fn set_branch_head(
    pools: &DbPools,
    context: &Context,
    pipeline: PipelineId,
    branch: &str,
    commit: &str,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_pipeline(&mut transaction, pipeline).await?;
    sqlx::query(
        "INSERT INTO branch_heads (pipeline_id, branch, commit_sha, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (pipeline_id, branch) DO UPDATE SET commit_sha = excluded.commit_sha, updated_at = excluded.updated_at",
    )
    .bind(pipeline.0)
    .bind(branch)
    .bind(commit)
    .bind(context.now().millis())
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::schedule_fires`].
pub(crate) async fn schedule_fires(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
) -> Result<Vec<ScheduleFire>> {
    let rows: Vec<(String, i64)> =
        sqlx::query("SELECT schedule, last_fired_at FROM schedule_fires WHERE pipeline_id = $1 ORDER BY schedule")
            .bind(pipeline.0)
            .fetch_all(&pools.reader)
            .await?
            .iter()
            .map(read_row)
            .collect::<Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(schedule, last_fired_at)| ScheduleFire { schedule, last_fired_at: Timestamp(last_fired_at) })
        .collect())
}

/// Implements [`crate::Store::record_schedule_fire`]: the same record as
/// [`TriggerGuard::ScheduleFire`], without a run.
pub(crate) async fn record_schedule_fire(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
    schedule: &str,
    fire_time: Timestamp,
) -> Result<bool> {
    let mut transaction = pools.writer.begin().await?;
    require_pipeline(&mut transaction, pipeline).await?;
    let recorded = record_fire(&mut transaction, pipeline, schedule, fire_time).await?;
    transaction.commit().await?;
    Ok(recorded)
}

/// Records that a schedule fired for `fire_time` unless it already fired for that time or a later
/// one; whether it was recorded.
async fn record_fire(
    connection: &mut DbConnection,
    pipeline: PipelineId,
    schedule: &str,
    fire_time: Timestamp,
) -> Result<bool> {
    let changed = sqlx::query(
        "INSERT INTO schedule_fires (pipeline_id, schedule, last_fired_at) VALUES ($1, $2, $3) \
         ON CONFLICT (pipeline_id, schedule) DO UPDATE SET last_fired_at = excluded.last_fired_at \
         WHERE schedule_fires.last_fired_at < excluded.last_fired_at",
    )
    .bind(pipeline.0)
    .bind(schedule)
    .bind(fire_time.millis())
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Checks and records a trigger; whether the run may be created.
pub(super) async fn apply_guard(
    connection: &mut DbConnection,
    context: &Context,
    pipeline: PipelineId,
    guard: &TriggerGuard,
) -> Result<bool> {
    let now = context.now().millis();
    let changed = match guard {
        TriggerGuard::BranchHead { branch, previous: Some(previous), commit } => sqlx::query(
            "UPDATE branch_heads SET commit_sha = $4, updated_at = $5 \
                 WHERE pipeline_id = $1 AND branch = $2 AND commit_sha = $3",
        )
        .bind(pipeline.0)
        .bind(branch)
        .bind(previous)
        .bind(commit)
        .bind(now)
        .execute(&mut *connection)
        .await?
        .rows_affected(),
        TriggerGuard::BranchHead { branch, previous: None, commit } => sqlx::query(
            "INSERT INTO branch_heads (pipeline_id, branch, commit_sha, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (pipeline_id, branch) DO NOTHING",
        )
        .bind(pipeline.0)
        .bind(branch)
        .bind(commit)
        .bind(now)
        .execute(&mut *connection)
        .await?
        .rows_affected(),
        TriggerGuard::ScheduleFire { schedule, fire_time } => {
            return record_fire(connection, pipeline, schedule, *fire_time).await;
        }
    };
    Ok(changed == 1)
}

// ----- webhook secrets -----

/// The context a pipeline's webhook secret is sealed with.
fn webhook_seal_context(pipeline: PipelineId) -> String {
    format!("slipway/v1/webhook/{}", pipeline.0)
}

/// Implements [`crate::Store::set_webhook_secret`].
pub(crate) async fn set_webhook_secret(
    pools: &DbPools,
    context: &Context,
    pipeline: PipelineId,
    secret: Option<&str>,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_pipeline(&mut transaction, pipeline).await?;
    match secret {
        Some(secret) => {
            if secret.is_empty() {
                return Err(StoreError::invalid("webhook secret", "it cannot be empty"));
            }
            let sealed = context.key.seal(&webhook_seal_context(pipeline), secret.as_bytes())?;
            sqlx::query(
                "INSERT INTO webhook_secrets (pipeline_id, sealed, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (pipeline_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
            )
            .bind(pipeline.0)
            .bind(sealed)
            .bind(context.now().millis())
            .execute(&mut *transaction)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM webhook_secrets WHERE pipeline_id = $1")
                .bind(pipeline.0)
                .execute(&mut *transaction)
                .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::webhook_secret`].
pub(crate) async fn webhook_secret(pools: &DbPools, context: &Context, pipeline: PipelineId) -> Result<Option<String>> {
    let sealed: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM webhook_secrets WHERE pipeline_id = $1")
        .bind(pipeline.0)
        .fetch_optional(&pools.reader)
        .await?;
    let Some(sealed) = sealed else { return Ok(None) };
    let damaged = || StoreError::Decryption(format!("the webhook secret of pipeline {}", pipeline.0));
    let opened = context.key.open(&webhook_seal_context(pipeline), &sealed).ok_or_else(damaged)?;
    String::from_utf8(opened).map(Some).map_err(|_| damaged())
}

// ----- revisions and counter() values -----

/// Implements [`crate::Store::next_revision`] (`kind` `revision`, seed 1).
pub(crate) async fn next_counter_value(
    pools: &DbPools,
    _context: &Context,
    pipeline: PipelineId,
    kind: &str,
    prefix: &str,
    seed: i64,
) -> Result<i64> {
    let mut transaction = pools.writer.begin().await?;
    require_pipeline(&mut transaction, pipeline).await?;
    let value: i64 = sqlx::query_scalar(
        "INSERT INTO counters (pipeline_id, kind, prefix, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (pipeline_id, kind, prefix) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(pipeline.0)
    .bind(kind)
    .bind(prefix)
    .bind(seed)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(value)
}

/// Implements [`crate::Store::run_counters`].
pub(crate) async fn run_counters(pools: &DbPools, _context: &Context, run: RunId) -> Result<BTreeMap<String, i64>> {
    let values: Vec<(String, i64)> = sqlx::query("SELECT prefix, value FROM run_counters WHERE run_id = $1")
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(values.into_iter().collect())
}

/// Implements [`crate::Store::allocate_run_counters`].
pub(crate) async fn allocate_run_counters(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    requests: &[(String, i64)],
) -> Result<BTreeMap<String, i64>> {
    let mut transaction = pools.writer.begin().await?;
    let pipeline: i64 = sqlx::query_scalar("SELECT pipeline_id FROM runs WHERE id = $1")
        .bind(run.0)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| StoreError::not_found("run", run))?;
    for (prefix, seed) in requests {
        let given: Option<i64> = sqlx::query_scalar("SELECT value FROM run_counters WHERE run_id = $1 AND prefix = $2")
            .bind(run.0)
            .bind(prefix)
            .fetch_optional(&mut *transaction)
            .await?;
        if given.is_some() {
            continue;
        }
        let value: i64 = sqlx::query_scalar(
            "INSERT INTO counters (pipeline_id, kind, prefix, value) VALUES ($1, 'counter', $2, $3) \
             ON CONFLICT (pipeline_id, kind, prefix) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(pipeline)
        .bind(prefix)
        .bind(seed)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query("INSERT INTO run_counters (run_id, prefix, value) VALUES ($1, $2, $3)")
            .bind(run.0)
            .bind(prefix)
            .bind(value)
            .execute(&mut *transaction)
            .await?;
    }
    let values: Vec<(String, i64)> = sqlx::query("SELECT prefix, value FROM run_counters WHERE run_id = $1")
        .bind(run.0)
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
    transaction.commit().await?;
    Ok(values.into_iter().collect())
}
