// The store's operations, written once and compiled once per backend: `lib.rs` includes this file
// in a module that defines `Db` (the sqlx database) and `POSTGRES`. The SQL is shared: both
// databases take `$1` parameters, `RETURNING`, `ON CONFLICT`, partial indexes and `TRUE`/`FALSE`;
// the few differences (row locks, advisory locks) are chosen by `POSTGRES`. Each `pub(crate)`
// function implements the `Store` method it names, documented there.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use slipway_events::{Coverage, Event, TaskResult, TestRun};
use slipway_plan::Plan;
use sqlx::Row;

use crate::clock::Clock;
use crate::crypto::{constant_time_equal, new_secret, random_hex, secret_prefix, sha256_hex};
use crate::error::{Result, StoreError, conflict_or};
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, POSTGRES_MIGRATION_LOCK};
use crate::model::*;
use crate::{Context, Pools, VariableScope};

type DbRow = <Db as sqlx::Database>::Row;
type DbConnection = <Db as sqlx::Database>::Connection;
type DbPools = Pools<Db>;

/// Runs at most this many runs' deletions in one transaction.
const RETENTION_BATCH: usize = 50;
/// Token use is recorded at most this often.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;
/// The kinds of secret the store issues, as their text starts.
const ACCESS_TOKEN_KIND: &str = "slw";
const REGISTRATION_TOKEN_KIND: &str = "slwreg";
const AGENT_CREDENTIAL_KIND: &str = "slwagent";
const SECRET_KEY_CHECK: &str = "secret_key_check";

macro_rules! pipeline_columns {
    () => {
        "id, name, repository, yaml_path, default_branch, retention_days, retention_runs, queue_status, \
         trigger_checked_at, trigger_error, created_at, updated_at"
    };
}
macro_rules! run_columns {
    () => {
        "id, pipeline_id, run_number, trigger_kind, trigger_details, branch, commit_sha, parameters, variables, \
         status, result, requested_by, created_at, started_at, finished_at, cancel_requested, keep, retry_of, \
         upstream_run_id"
    };
}
macro_rules! job_columns {
    () => {
        "id, run_id, job_key, stage, job, leg, display_name, pool, demands, status, result, message, attempt, \
         lease_holder, lease_expires_at, created_at, queued_at, started_at, finished_at"
    };
}
macro_rules! step_columns {
    () => {
        "number, name, display_name, status, result, exit_code, attempts, message, started_at, finished_at"
    };
}
macro_rules! artifact_columns {
    () => {
        "id, run_id, job_id, name, digest, manifest, file_count, byte_count, created_at"
    };
}
macro_rules! token_columns {
    () => {
        "id, user_id, name, prefix, created_at, last_used_at, expires_at, revoked_at"
    };
}
macro_rules! agent_columns {
    () => {
        "id, name, pool, capabilities, version, state, created_at, last_seen_at"
    };
}
macro_rules! registration_columns {
    () => {
        "id, prefix, created_by, created_at, expires_at, used_at, agent_id"
    };
}

/// One SQL text per variable table, the table name spliced in.
macro_rules! variable_sql {
    ($scope:expr, $before:literal, $after:literal) => {
        match $scope {
            VariableScope::Group => concat!($before, "group_variables", $after),
            VariableScope::Pipeline => concat!($before, "pipeline_variables", $after),
            VariableScope::Job => concat!($before, "job_outputs", $after),
        }
    };
}

// ----- decoding rows -----

/// Reads a time column.
fn timestamp(row: &DbRow, column: &str) -> Result<Timestamp> {
    Ok(Timestamp(row.try_get::<i64, _>(column)?))
}

/// Reads a time column that may be NULL.
fn optional_timestamp(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
}

/// Reads a JSON text column into `T`.
fn json_column<T: serde::de::DeserializeOwned>(row: &DbRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::corrupt(format!("column {column}: {error}")))
}

/// Writes `value` as JSON text for a column.
fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::invalid(what, error.to_string()))
}

/// Reads an optional count column that must fit a `u32`.
fn optional_u32(row: &DbRow, column: &str) -> Result<Option<u32>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|value| u32::try_from(value).map_err(|_| StoreError::corrupt(format!("column {column}: {value}"))))
        .transpose()
}

/// A pipeline from a row of `pipeline_columns!()`.
fn pipeline_from(row: &DbRow) -> Result<Pipeline> {
    Ok(Pipeline {
        id: PipelineId(row.try_get("id")?),
        name: row.try_get("name")?,
        repository: row.try_get("repository")?,
        yaml_path: row.try_get("yaml_path")?,
        default_branch: row.try_get("default_branch")?,
        retention: RetentionPolicy {
            days: optional_u32(row, "retention_days")?,
            runs: optional_u32(row, "retention_runs")?,
        },
        queue_status: QueueStatus::parse(&row.try_get::<String, _>("queue_status")?)?,
        triggers: TriggerHealth {
            checked_at: row.try_get::<Option<i64>, _>("trigger_checked_at")?.map(Timestamp),
            error: row.try_get("trigger_error")?,
        },
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

/// A run from a row of `run_columns!()`.
fn run_from(row: &DbRow) -> Result<Run> {
    Ok(Run {
        id: RunId(row.try_get("id")?),
        pipeline: PipelineId(row.try_get("pipeline_id")?),
        run_number: row.try_get("run_number")?,
        trigger: TriggerKind::parse(&row.try_get::<String, _>("trigger_kind")?)?,
        trigger_details: json_column(row, "trigger_details")?,
        branch: row.try_get("branch")?,
        commit: row.try_get("commit_sha")?,
        parameters: json_column(row, "parameters")?,
        variables: json_column(row, "variables")?,
        status: RunStatus::parse(&row.try_get::<String, _>("status")?)?,
        result: parse_result(row.try_get("result")?)?,
        requested_by: row.try_get("requested_by")?,
        created_at: timestamp(row, "created_at")?,
        started_at: optional_timestamp(row, "started_at")?,
        finished_at: optional_timestamp(row, "finished_at")?,
        cancel_requested: row.try_get("cancel_requested")?,
        keep: row.try_get("keep")?,
        retry_of: row.try_get::<Option<i64>, _>("retry_of")?.map(RunId),
        upstream_run: row.try_get::<Option<i64>, _>("upstream_run_id")?.map(RunId),
    })
}

/// A job from a row of `job_columns!()`.
fn job_from(row: &DbRow) -> Result<Job> {
    Ok(Job {
        id: JobId(row.try_get("id")?),
        run: RunId(row.try_get("run_id")?),
        key: row.try_get("job_key")?,
        stage: row.try_get("stage")?,
        job: row.try_get("job")?,
        leg: row.try_get("leg")?,
        display_name: row.try_get("display_name")?,
        pool: row.try_get("pool")?,
        demands: json_column(row, "demands")?,
        status: JobStatus::parse(&row.try_get::<String, _>("status")?)?,
        result: parse_result(row.try_get("result")?)?,
        message: row.try_get("message")?,
        attempt: row.try_get("attempt")?,
        lease_holder: row.try_get("lease_holder")?,
        lease_expires_at: optional_timestamp(row, "lease_expires_at")?,
        created_at: timestamp(row, "created_at")?,
        queued_at: optional_timestamp(row, "queued_at")?,
        started_at: optional_timestamp(row, "started_at")?,
        finished_at: optional_timestamp(row, "finished_at")?,
    })
}

/// A step from a row of `step_columns!()`.
fn step_from(row: &DbRow) -> Result<Step> {
    Ok(Step {
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        status: StepStatus::parse(&row.try_get::<String, _>("status")?)?,
        result: parse_result(row.try_get("result")?)?,
        exit_code: row.try_get("exit_code")?,
        attempts: row.try_get("attempts")?,
        message: row.try_get("message")?,
        started_at: optional_timestamp(row, "started_at")?,
        finished_at: optional_timestamp(row, "finished_at")?,
    })
}

/// An artifact from a row of `artifact_columns!()`.
fn artifact_from(row: &DbRow) -> Result<Artifact> {
    Ok(Artifact {
        id: ArtifactId(row.try_get("id")?),
        run: RunId(row.try_get("run_id")?),
        job: row.try_get::<Option<i64>, _>("job_id")?.map(JobId),
        name: row.try_get("name")?,
        digest: row.try_get("digest")?,
        manifest: json_column(row, "manifest")?,
        files: row.try_get("file_count")?,
        bytes: row.try_get("byte_count")?,
        created_at: timestamp(row, "created_at")?,
    })
}

/// A user from a row of `users`.
fn user_from(row: &DbRow) -> Result<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        name: row.try_get("name")?,
        role: UserRole::parse(&row.try_get::<String, _>("role")?)?,
        created_at: timestamp(row, "created_at")?,
    })
}

/// An access token from a row of `token_columns!()`.
fn token_from(row: &DbRow) -> Result<AccessToken> {
    Ok(AccessToken {
        id: AccessTokenId(row.try_get("id")?),
        user: UserId(row.try_get("user_id")?),
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        created_at: timestamp(row, "created_at")?,
        last_used_at: optional_timestamp(row, "last_used_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
        revoked_at: optional_timestamp(row, "revoked_at")?,
    })
}

/// An agent from a row of `agent_columns!()`.
fn agent_from(row: &DbRow) -> Result<Agent> {
    Ok(Agent {
        id: AgentId(row.try_get("id")?),
        name: row.try_get("name")?,
        pool: row.try_get("pool")?,
        capabilities: json_column(row, "capabilities")?,
        version: row.try_get("version")?,
        state: AgentState::parse(&row.try_get::<String, _>("state")?)?,
        created_at: timestamp(row, "created_at")?,
        last_seen_at: optional_timestamp(row, "last_seen_at")?,
    })
}

/// A registration token from a row of `registration_columns!()`.
fn registration_from(row: &DbRow) -> Result<RegistrationToken> {
    Ok(RegistrationToken {
        id: RegistrationTokenId(row.try_get("id")?),
        prefix: row.try_get("prefix")?,
        created_by: row.try_get("created_by")?,
        created_at: timestamp(row, "created_at")?,
        expires_at: optional_timestamp(row, "expires_at")?,
        used_at: optional_timestamp(row, "used_at")?,
        agent: row.try_get::<Option<i64>, _>("agent_id")?.map(AgentId),
    })
}

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

/// Refuses an empty (or blank) name.
fn require_name(what: &'static str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid(what, "it is empty"));
    }
    Ok(())
}

// ----- opening -----

/// Brings the schema up to date in one transaction (on PostgreSQL under an advisory lock, so
/// that servers starting together migrate once).
pub(crate) async fn migrate(pool: &sqlx::Pool<Db>) -> Result<()> {
    let mut transaction = pool.begin().await?;
    if POSTGRES {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(POSTGRES_MIGRATION_LOCK)
            .execute(&mut *transaction)
            .await?;
    }
    sqlx::query(CREATE_MIGRATIONS_TABLE).execute(&mut *transaction).await?;
    let applied: HashMap<i64, String> = sqlx::query("SELECT version, checksum FROM slipway_migrations")
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<i64, _>("version")?, row.try_get::<String, _>("checksum")?)))
        .collect::<Result<_>>()?;
    let newest_known = MIGRATIONS.iter().map(|migration| migration.version).max().unwrap_or(0);
    if let Some(newer) = applied.keys().copied().filter(|version| *version > newest_known).max() {
        return Err(StoreError::Migration {
            version: newer,
            description: "unknown".to_owned(),
            reason: format!(
                "the database was migrated by a newer Slipway (schema {newer}; this one knows up to {newest_known})"
            ),
        });
    }
    for migration in MIGRATIONS {
        let sql = if POSTGRES { migration.postgres } else { migration.sqlite };
        let checksum = sha256_hex(sql);
        match applied.get(&migration.version) {
            Some(recorded) if *recorded == checksum => continue,
            Some(_) => {
                return Err(StoreError::Migration {
                    version: migration.version,
                    description: migration.description.to_owned(),
                    reason: "it was changed after it had been applied to this database".to_owned(),
                });
            }
            None => {}
        }
        // Through `Executor` (a boxed future): `RawSql::execute` makes the caller's future not `Send`.
        sqlx::Executor::execute(&mut *transaction, sqlx::raw_sql(sql)).await.map_err(|error| {
            StoreError::Migration {
                version: migration.version,
                description: migration.description.to_owned(),
                reason: error.to_string(),
            }
        })?;
        sqlx::query(
            "INSERT INTO slipway_migrations (version, description, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(migration.version)
        .bind(migration.description)
        .bind(&checksum)
        .bind(crate::SystemClock.now().millis())
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Checks the secret key against the value sealed with it when the store was created (sealing
/// one if there is none yet).
pub(crate) async fn check_secret_key(pools: &DbPools, context: &Context) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM store_meta WHERE name = $1")
        .bind(SECRET_KEY_CHECK)
        .fetch_optional(&mut *transaction)
        .await?;
    match stored {
        Some(text) => {
            let sealed =
                crate::crypto::unhex(&text).ok_or_else(|| StoreError::corrupt("the secret key check value"))?;
            if context.key.open(SECRET_KEY_CHECK, &sealed).is_none() {
                return Err(StoreError::WrongSecretKey);
            }
        }
        None => {
            let sealed = context.key.seal(SECRET_KEY_CHECK, b"slipway")?;
            sqlx::query("INSERT INTO store_meta (name, value) VALUES ($1, $2)")
                .bind(SECRET_KEY_CHECK)
                .bind(crate::crypto::hex(&sealed))
                .execute(&mut *transaction)
                .await?;
        }
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::schema_version`].
pub(crate) async fn schema_version(pools: &DbPools, _context: &Context) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM slipway_migrations")
        .fetch_one(&pools.reader)
        .await?
        .unwrap_or(0))
}

// ----- pipelines -----

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
    pipeline_from(&row)
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
    row.as_ref().map(pipeline_from).transpose()?.ok_or_else(|| StoreError::not_found("pipeline", pipeline))
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
        .await?;
    row.as_ref().map(pipeline_from).transpose()?.ok_or_else(|| StoreError::not_found("pipeline", pipeline))
}

/// Implements [`crate::Store::pipeline_by_name`].
pub(crate) async fn pipeline_by_name(pools: &DbPools, _context: &Context, name: &str) -> Result<Option<Pipeline>> {
    let row = sqlx::query(concat!("SELECT ", pipeline_columns!(), " FROM pipelines WHERE name = $1"))
        .bind(name)
        .fetch_optional(&pools.reader)
        .await?;
    row.as_ref().map(pipeline_from).transpose()
}

/// Implements [`crate::Store::list_pipelines`].
pub(crate) async fn list_pipelines(pools: &DbPools, _context: &Context) -> Result<Vec<Pipeline>> {
    sqlx::query(concat!("SELECT ", pipeline_columns!(), " FROM pipelines ORDER BY name"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(pipeline_from)
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

/// Implements [`crate::Store::branch_heads`].
pub(crate) async fn branch_heads(pools: &DbPools, _context: &Context, pipeline: PipelineId) -> Result<Vec<BranchHead>> {
    sqlx::query("SELECT branch, commit_sha, updated_at FROM branch_heads WHERE pipeline_id = $1 ORDER BY branch")
        .bind(pipeline.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(BranchHead {
                branch: row.try_get("branch")?,
                commit: row.try_get("commit_sha")?,
                updated_at: timestamp(row, "updated_at")?,
            })
        })
        .collect()
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
    sqlx::query("SELECT schedule, last_fired_at FROM schedule_fires WHERE pipeline_id = $1 ORDER BY schedule")
        .bind(pipeline.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(ScheduleFire { schedule: row.try_get("schedule")?, last_fired_at: timestamp(row, "last_fired_at")? })
        })
        .collect()
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
    let changed = sqlx::query(
        "INSERT INTO schedule_fires (pipeline_id, schedule, last_fired_at) VALUES ($1, $2, $3) \
         ON CONFLICT (pipeline_id, schedule) DO UPDATE SET last_fired_at = excluded.last_fired_at \
         WHERE schedule_fires.last_fired_at < excluded.last_fired_at",
    )
    .bind(pipeline.0)
    .bind(schedule)
    .bind(fire_time.millis())
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    transaction.commit().await?;
    Ok(changed == 1)
}

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
pub(crate) async fn run_counters(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
) -> Result<std::collections::BTreeMap<String, i64>> {
    let rows = sqlx::query("SELECT prefix, value FROM run_counters WHERE run_id = $1")
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?;
    rows.iter().map(|row| Ok((row.try_get("prefix")?, row.try_get("value")?))).collect()
}

/// Implements [`crate::Store::allocate_run_counters`].
pub(crate) async fn allocate_run_counters(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    requests: &[(String, i64)],
) -> Result<std::collections::BTreeMap<String, i64>> {
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
    let rows = sqlx::query("SELECT prefix, value FROM run_counters WHERE run_id = $1")
        .bind(run.0)
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    rows.iter().map(|row| Ok((row.try_get("prefix")?, row.try_get("value")?))).collect()
}

/// Fails with `NotFound` unless the pipeline exists.
async fn require_pipeline(connection: &mut DbConnection, pipeline: PipelineId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM pipelines WHERE id = $1")
        .bind(pipeline.0)
        .fetch_optional(&mut *connection)
        .await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found("pipeline", pipeline))
}

/// Fails with `NotFound` unless the run exists.
async fn require_run(connection: &mut DbConnection, run: RunId) -> Result<()> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM runs WHERE id = $1").bind(run.0).fetch_optional(&mut *connection).await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found("run", run))
}

// ----- runs -----

/// Checks and records a trigger; whether the run may be created.
async fn apply_guard(
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
        TriggerGuard::ScheduleFire { schedule, fire_time } => sqlx::query(
            "INSERT INTO schedule_fires (pipeline_id, schedule, last_fired_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (pipeline_id, schedule) DO UPDATE SET last_fired_at = excluded.last_fired_at \
                 WHERE schedule_fires.last_fired_at < excluded.last_fired_at",
        )
        .bind(pipeline.0)
        .bind(schedule)
        .bind(fire_time.millis())
        .execute(&mut *connection)
        .await?
        .rows_affected(),
    };
    Ok(changed == 1)
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
    .await?;
    let created = run_from(&row)?;
    transaction.commit().await?;
    Ok(Some(created))
}

/// Implements [`crate::Store::run`].
pub(crate) async fn run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Run> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
        .bind(run.0)
        .fetch_optional(&pools.reader)
        .await?;
    row.as_ref().map(run_from).transpose()?.ok_or_else(|| StoreError::not_found("run", run))
}

/// Implements [`crate::Store::run_plan`].
pub(crate) async fn run_plan(pools: &DbPools, _context: &Context, run: RunId) -> Result<Option<Plan>> {
    let row = sqlx::query("SELECT plan FROM runs WHERE id = $1").bind(run.0).fetch_optional(&pools.reader).await?;
    let row = row.ok_or_else(|| StoreError::not_found("run", run))?;
    let text: Option<String> = row.try_get("plan")?;
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
         AND ($3 IS NULL OR branch = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    ))
    .bind(filter.pipeline.map(|id| id.0))
    .bind(filter.status.map(RunStatus::as_str))
    .bind(filter.branch.as_deref())
    .bind(filter.before.map(|id| id.0))
    .bind(limit)
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(run_from)
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
    .map(run_from)
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
    .await?;
    row.as_ref().map(run_from).transpose()
}

/// Reads a run, locking its row until the transaction ends (on SQLite the single writer is the lock).
async fn lock_run(connection: &mut DbConnection, run: RunId) -> Result<Run> {
    let sql = if POSTGRES {
        concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1 FOR NO KEY UPDATE")
    } else {
        concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1")
    };
    let row = sqlx::query(sql).bind(run.0).fetch_optional(&mut *connection).await?;
    row.as_ref().map(run_from).transpose()?.ok_or_else(|| StoreError::not_found("run", run))
}

/// Reads a run again inside a transaction.
async fn reload_run(connection: &mut DbConnection, run: RunId) -> Result<Run> {
    let row = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
        .bind(run.0)
        .fetch_one(&mut *connection)
        .await?;
    run_from(&row)
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
    sqlx::query("UPDATE runs SET status = 'running', started_at = $2 WHERE id = $1")
        .bind(run.0)
        .bind(context.now().millis())
        .execute(&mut *transaction)
        .await?;
    let updated = reload_run(&mut transaction, run).await?;
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
        let (found, ..) = lock_job(&mut transaction, *job).await?;
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
        sqlx::query(
            "UPDATE jobs SET status = 'pending', result = NULL, message = NULL, lease_id = NULL, lease_holder = NULL, \
             lease_expires_at = NULL, queued_at = NULL, started_at = NULL, finished_at = NULL WHERE id = $1",
        )
        .bind(job.0)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM steps WHERE job_id = $1").bind(job.0).execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM job_outputs WHERE owner_id = $1").bind(job.0).execute(&mut *transaction).await?;
    }
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

// ----- jobs and the queue -----

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
        let added = job_from(&row)?;
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
            context.key.open(&spec_context(job), &sealed).ok_or_else(|| StoreError::Decryption(format!("job {job} spec")))
        })
        .transpose()
}

/// Implements [`crate::Store::running_jobs`].
pub(crate) async fn running_jobs(pools: &DbPools, _context: &Context) -> Result<Vec<Job>> {
    sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE status = 'running' ORDER BY id"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(job_from)
        .collect()
}

/// Implements [`crate::Store::job`].
pub(crate) async fn job(pools: &DbPools, _context: &Context, job: JobId) -> Result<Job> {
    let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
        .bind(job.0)
        .fetch_optional(&pools.reader)
        .await?;
    row.as_ref().map(job_from).transpose()?.ok_or_else(|| StoreError::not_found("job", job))
}

/// Implements [`crate::Store::jobs_of_run`].
pub(crate) async fn jobs_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<Job>> {
    sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE run_id = $1 ORDER BY id"))
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(job_from)
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
    .map(job_from)
    .collect()
}

/// Reads a job with its lease id, next log chunk number and line count, locking its row.
async fn lock_job(connection: &mut DbConnection, job: JobId) -> Result<(Job, Option<String>, i64, i64)> {
    let sql = if POSTGRES {
        concat!(
            "SELECT ",
            job_columns!(),
            ", lease_id, log_sequence, log_lines FROM jobs WHERE id = $1 FOR NO KEY UPDATE"
        )
    } else {
        concat!("SELECT ", job_columns!(), ", lease_id, log_sequence, log_lines FROM jobs WHERE id = $1")
    };
    let row = sqlx::query(sql).bind(job.0).fetch_optional(&mut *connection).await?;
    let row = row.ok_or_else(|| StoreError::not_found("job", job))?;
    Ok((job_from(&row)?, row.try_get("lease_id")?, row.try_get("log_sequence")?, row.try_get("log_lines")?))
}

/// Reads a job again inside a transaction.
async fn reload_job(connection: &mut DbConnection, job: JobId) -> Result<Job> {
    let row = sqlx::query(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
        .bind(job.0)
        .fetch_one(&mut *connection)
        .await?;
    job_from(&row)
}

/// Locks a job and checks that `lease` holds it (running, same lease id).
async fn lock_leased_job(connection: &mut DbConnection, lease: &LeaseToken) -> Result<(Job, i64, i64)> {
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

/// Implements [`crate::Store::lease_job`].
pub(crate) async fn lease_job(pools: &DbPools, context: &Context, request: &LeaseRequest) -> Result<Option<Lease>> {
    const PAGE: i64 = 100;
    // Scan the pool's queue in order without locks, match demands here, and take the first match
    // with a compare-and-set that only succeeds while the job is still queued (and, on PostgreSQL,
    // not locked by another worker taking it right now: SKIP LOCKED moves on instead of waiting).
    let mut after: (i64, i64) = (i64::MIN, i64::MIN);
    loop {
        let candidates = sqlx::query(
            "SELECT id, demands, queued_at FROM jobs WHERE status = 'queued' AND pool = $1 \
             AND (queued_at > $2 OR (queued_at = $2 AND id > $3)) ORDER BY queued_at, id LIMIT $4",
        )
        .bind(&request.pool)
        .bind(after.0)
        .bind(after.1)
        .bind(PAGE)
        .fetch_all(&pools.reader)
        .await?;
        for row in &candidates {
            let id: i64 = row.try_get("id")?;
            after = (row.try_get::<Option<i64>, _>("queued_at")?.unwrap_or(i64::MIN), id);
            let demands: Vec<Demand> = json_column(row, "demands")?;
            if !demands.iter().all(|demand| demand.is_met_by(&request.capabilities)) {
                continue;
            }
            if let Some(lease) = take_job(pools, context, JobId(id), request).await? {
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
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let leased = job_from(&row)?;
    transaction.commit().await?;
    // The run is marked running after the job's transaction, not inside it: locks are always
    // taken run first, then job (as cancelling does), so that PostgreSQL never deadlocks.
    sqlx::query("UPDATE runs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'")
        .bind(leased.run.0)
        .bind(now.millis())
        .execute(&pools.writer)
        .await?;
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
            .await?;
    let mut reclaimed = Vec::new();
    for row in &rows {
        let job = job_from(row)?;
        let lease_id: Option<String> = row.try_get("lease_id")?;
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

/// Implements [`crate::Store::record_step`].
pub(crate) async fn record_step(pools: &DbPools, _context: &Context, lease: &LeaseToken, step: &Step) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    lock_leased_job(&mut transaction, lease).await?;
    upsert_step(&mut transaction, lease.job, step).await?;
    transaction.commit().await?;
    Ok(())
}

/// Inserts or replaces a step of a job by its number.
async fn upsert_step(connection: &mut DbConnection, job: JobId, step: &Step) -> Result<()> {
    sqlx::query(
        "INSERT INTO steps (job_id, number, name, display_name, status, result, exit_code, attempts, message, \
         started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (job_id, number) DO UPDATE SET name = COALESCE(excluded.name, steps.name), \
         display_name = excluded.display_name, \
         status = excluded.status, result = excluded.result, exit_code = excluded.exit_code, \
         attempts = excluded.attempts, message = excluded.message, started_at = excluded.started_at, \
         finished_at = excluded.finished_at",
    )
    .bind(job.0)
    .bind(step.number)
    .bind(step.name.as_deref())
    .bind(&step.display_name)
    .bind(step.status.as_str())
    .bind(result_text(step.result))
    .bind(step.exit_code)
    .bind(step.attempts)
    .bind(step.message.as_deref())
    .bind(step.started_at.map(Timestamp::millis))
    .bind(step.finished_at.map(Timestamp::millis))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Implements [`crate::Store::steps_of_job`].
pub(crate) async fn steps_of_job(pools: &DbPools, _context: &Context, job: JobId) -> Result<Vec<Step>> {
    sqlx::query(concat!("SELECT ", step_columns!(), " FROM steps WHERE job_id = $1 ORDER BY number"))
        .bind(job.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(step_from)
        .collect()
}

/// Implements [`crate::Store::steps_of_run`].
pub(crate) async fn steps_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<(JobId, Step)>> {
    sqlx::query(concat!(
        "SELECT job_id, ",
        step_columns!(),
        " FROM steps WHERE job_id IN (SELECT id FROM jobs WHERE run_id = $1) ORDER BY job_id, number"
    ))
    .bind(run.0)
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(|row| Ok((JobId(row.try_get("job_id")?), step_from(row)?)))
    .collect()
}

/// Implements [`crate::Store::set_job_outputs`].
pub(crate) async fn set_job_outputs(
    pools: &DbPools,
    context: &Context,
    lease: &LeaseToken,
    outputs: &[VariableValue],
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    lock_leased_job(&mut transaction, lease).await?;
    for output in outputs {
        write_variable(
            &mut transaction,
            context,
            VariableScope::Job,
            lease.job.0,
            &output.name,
            &output.value,
            output.is_secret,
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(())
}

// ----- logs -----

/// Stores a chunk of lines at `first_line` and advances the job's line count (and chunk number, for a lease holder's chunk).
async fn insert_chunk(
    connection: &mut DbConnection,
    job: JobId,
    first_line: i64,
    lines: &[String],
    writer: Option<(&str, i64)>,
) -> Result<()> {
    let count = i64::try_from(lines.len()).map_err(|_| StoreError::invalid("log chunk", "too many lines"))?;
    sqlx::query("INSERT INTO log_chunks (job_id, first_line, line_count, lease_id, sequence, lines) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(job.0)
        .bind(first_line)
        .bind(count)
        .bind(writer.map(|(lease_id, _)| lease_id))
        .bind(writer.map(|(_, sequence)| sequence))
        .bind(to_json("log lines", &lines)?)
        .execute(&mut *connection)
        .await?;
    let sequence_step = i64::from(writer.is_some());
    sqlx::query("UPDATE jobs SET log_lines = log_lines + $2, log_sequence = log_sequence + $3 WHERE id = $1")
        .bind(job.0)
        .bind(count)
        .bind(sequence_step)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Implements [`crate::Store::append_log_chunk`].
pub(crate) async fn append_log_chunk(
    pools: &DbPools,
    _context: &Context,
    lease: &LeaseToken,
    sequence: i64,
    lines: &[String],
) -> Result<ChunkOutcome> {
    let mut transaction = pools.writer.begin().await?;
    let (job, lease_id, expected, log_lines) = lock_job(&mut transaction, lease.job).await?;
    // A chunk stored before under this lease is recognised first, even after the job completed.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT lines FROM log_chunks WHERE job_id = $1 AND lease_id = $2 AND sequence = $3")
            .bind(lease.job.0)
            .bind(&lease.lease_id)
            .bind(sequence)
            .fetch_optional(&mut *transaction)
            .await?;
    if let Some(stored) = stored {
        let stored: Vec<String> = serde_json::from_str(&stored)
            .map_err(|error| StoreError::corrupt(format!("log chunk {sequence} of job {}: {error}", lease.job)))?;
        if stored != lines {
            return Err(StoreError::LogChunkMismatch { job: lease.job, sequence });
        }
        return Ok(ChunkOutcome::AlreadyStored);
    }
    let held = job.status == JobStatus::Running
        && lease_id.as_deref().is_some_and(|current| constant_time_equal(current, &lease.lease_id));
    if !held {
        return Err(StoreError::LeaseLost { job: lease.job });
    }
    if sequence != expected {
        return Err(StoreError::LogChunkOutOfOrder { job: lease.job, sequence, expected });
    }
    insert_chunk(&mut transaction, lease.job, log_lines, lines, Some((&lease.lease_id, sequence))).await?;
    transaction.commit().await?;
    Ok(ChunkOutcome::Stored { first_line: log_lines })
}

/// Implements [`crate::Store::append_job_chunk`].
pub(crate) async fn append_job_chunk(
    pools: &DbPools,
    _context: &Context,
    lease: &LeaseToken,
    chunk: &JobChunk,
) -> Result<ChunkOutcome> {
    let mut transaction = pools.writer.begin().await?;
    let (job, lease_id, expected, log_lines) = lock_job(&mut transaction, lease.job).await?;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT lines FROM log_chunks WHERE job_id = $1 AND lease_id = $2 AND sequence = $3")
            .bind(lease.job.0)
            .bind(&lease.lease_id)
            .bind(chunk.sequence)
            .fetch_optional(&mut *transaction)
            .await?;
    if let Some(stored) = stored {
        let stored: Vec<String> = serde_json::from_str(&stored).map_err(|error| {
            StoreError::corrupt(format!("log chunk {} of job {}: {error}", chunk.sequence, lease.job))
        })?;
        if stored != chunk.lines {
            return Err(StoreError::LogChunkMismatch { job: lease.job, sequence: chunk.sequence });
        }
        return Ok(ChunkOutcome::AlreadyStored);
    }
    let held = job.status == JobStatus::Running
        && lease_id.as_deref().is_some_and(|current| constant_time_equal(current, &lease.lease_id));
    if !held {
        return Err(StoreError::LeaseLost { job: lease.job });
    }
    if chunk.sequence != expected {
        return Err(StoreError::LogChunkOutOfOrder { job: lease.job, sequence: chunk.sequence, expected });
    }
    insert_chunk(&mut transaction, lease.job, log_lines, &chunk.lines, Some((&lease.lease_id, chunk.sequence)))
        .await?;
    if !chunk.events.is_empty() {
        let count = i64::try_from(chunk.events.len()).map_err(|_| StoreError::invalid("events", "too many"))?;
        let total: i64 =
            sqlx::query_scalar("UPDATE runs SET event_count = event_count + $2 WHERE id = $1 RETURNING event_count")
                .bind(job.run.0)
                .bind(count)
                .fetch_one(&mut *transaction)
                .await?;
        for (sequence, event) in (total - count + 1..).zip(&chunk.events) {
            sqlx::query("INSERT INTO run_events (run_id, sequence, event) VALUES ($1, $2, $3)")
                .bind(job.run.0)
                .bind(sequence)
                .bind(event.to_json_line())
                .execute(&mut *transaction)
                .await?;
        }
    }
    for step in &chunk.steps {
        upsert_step(&mut transaction, lease.job, step).await?;
    }
    for (step, results) in &chunk.test_runs {
        sqlx::query(
            "INSERT INTO test_runs (run_id, job_key, step, total, passed, failed, skipped, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(job.run.0)
        .bind(&job.key)
        .bind(step)
        .bind(count(results.total)?)
        .bind(count(results.passed)?)
        .bind(count(results.failed)?)
        .bind(count(results.skipped)?)
        .bind(to_json("test results", results)?)
        .execute(&mut *transaction)
        .await?;
    }
    for (step, coverage) in &chunk.coverage {
        sqlx::query("INSERT INTO coverage_summaries (run_id, job_key, step, data) VALUES ($1, $2, $3, $4)")
            .bind(job.run.0)
            .bind(&job.key)
            .bind(step)
            .bind(to_json("coverage", coverage)?)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(ChunkOutcome::Stored { first_line: log_lines })
}

/// Implements [`crate::Store::append_log_lines`].
pub(crate) async fn append_log_lines(pools: &DbPools, _context: &Context, job: JobId, lines: &[String]) -> Result<i64> {
    let mut transaction = pools.writer.begin().await?;
    let (_, _, _, log_lines) = lock_job(&mut transaction, job).await?;
    insert_chunk(&mut transaction, job, log_lines, lines, None).await?;
    transaction.commit().await?;
    Ok(log_lines)
}

/// Implements [`crate::Store::read_log`].
pub(crate) async fn read_log(
    pools: &DbPools,
    _context: &Context,
    job: JobId,
    from_line: i64,
    max_lines: i64,
) -> Result<LogSlice> {
    const CHUNKS_PER_QUERY: i64 = 200;
    let from_line = from_line.max(0);
    let max_lines = max_lines.max(0);
    // The job's state is read before its lines: if it had completed, every line is among them.
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1").bind(job.0).fetch_optional(&pools.reader).await?;
    let status = status.ok_or_else(|| StoreError::not_found("job", job))?;
    let job_completed = JobStatus::parse(&status)? == JobStatus::Completed;
    let mut start: i64 = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT MAX(first_line) FROM log_chunks WHERE job_id = $1 AND first_line <= $2",
    )
    .bind(job.0)
    .bind(from_line)
    .fetch_one(&pools.reader)
    .await?
    .unwrap_or(0);
    let mut lines = Vec::new();
    let mut next_line = from_line;
    let mut last_chunk_id = i64::MIN;
    'pages: while i64::try_from(lines.len()).unwrap_or(i64::MAX) < max_lines {
        let chunks = sqlx::query(
            "SELECT id, first_line, lines FROM log_chunks WHERE job_id = $1 AND (first_line > $2 OR (first_line = $2 AND id > $3)) \
             ORDER BY first_line, id LIMIT $4",
        )
        .bind(job.0)
        .bind(start)
        .bind(last_chunk_id)
        .bind(CHUNKS_PER_QUERY)
        .fetch_all(&pools.reader)
        .await?;
        for chunk in &chunks {
            let first_line: i64 = chunk.try_get("first_line")?;
            start = first_line;
            last_chunk_id = chunk.try_get("id")?;
            let chunk_lines: Vec<String> = json_column(chunk, "lines")?;
            for (offset, line) in chunk_lines.into_iter().enumerate() {
                let number = first_line + i64::try_from(offset).unwrap_or(i64::MAX);
                if number < next_line {
                    continue;
                }
                if i64::try_from(lines.len()).unwrap_or(i64::MAX) >= max_lines {
                    break 'pages;
                }
                lines.push(line);
                next_line = number + 1;
            }
        }
        if i64::try_from(chunks.len()).unwrap_or(0) < CHUNKS_PER_QUERY {
            break;
        }
    }
    Ok(LogSlice { first_line: from_line, lines, next_line, job_completed })
}

// ----- events -----

/// Implements [`crate::Store::append_events`].
pub(crate) async fn append_events(pools: &DbPools, _context: &Context, run: RunId, events: &[Event]) -> Result<i64> {
    let count = i64::try_from(events.len()).map_err(|_| StoreError::invalid("events", "too many"))?;
    let mut transaction = pools.writer.begin().await?;
    // The update locks the run's row, so concurrent appends to one run are numbered one after another.
    let total: Option<i64> =
        sqlx::query_scalar("UPDATE runs SET event_count = event_count + $2 WHERE id = $1 RETURNING event_count")
            .bind(run.0)
            .bind(count)
            .fetch_optional(&mut *transaction)
            .await?;
    let total = total.ok_or_else(|| StoreError::not_found("run", run))?;
    let first = total - count + 1;
    for (sequence, event) in (first..).zip(events) {
        sqlx::query("INSERT INTO run_events (run_id, sequence, event) VALUES ($1, $2, $3)")
            .bind(run.0)
            .bind(sequence)
            .bind(event.to_json_line())
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(first)
}

/// Implements [`crate::Store::read_events`].
pub(crate) async fn read_events(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    sqlx::query("SELECT sequence, event FROM run_events WHERE run_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3")
        .bind(run.0)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| Ok(StoredEvent { sequence: row.try_get("sequence")?, json: row.try_get("event")? }))
        .collect()
}

// ----- artifacts, test results, coverage -----

/// Implements [`crate::Store::record_artifact`].
pub(crate) async fn record_artifact(pools: &DbPools, context: &Context, artifact: &NewArtifact) -> Result<Artifact> {
    require_name("artifact name", &artifact.name)?;
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, artifact.run).await?;
    if let Some(job) = artifact.job {
        let run: Option<i64> = sqlx::query_scalar("SELECT run_id FROM jobs WHERE id = $1")
            .bind(job.0)
            .fetch_optional(&mut *transaction)
            .await?;
        if run != Some(artifact.run.0) {
            return Err(StoreError::not_found("job", job));
        }
    }
    let row = sqlx::query(concat!(
        "INSERT INTO artifacts (run_id, job_id, name, digest, manifest, file_count, byte_count, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, name) DO UPDATE SET job_id = excluded.job_id, \
         digest = excluded.digest, manifest = excluded.manifest, file_count = excluded.file_count, \
         byte_count = excluded.byte_count RETURNING ",
        artifact_columns!()
    ))
    .bind(artifact.run.0)
    .bind(artifact.job.map(|job| job.0))
    .bind(&artifact.name)
    .bind(&artifact.digest)
    .bind(to_json("manifest", &artifact.manifest)?)
    .bind(artifact.files)
    .bind(artifact.bytes)
    .bind(context.now().millis())
    .fetch_one(&mut *transaction)
    .await?;
    let recorded = artifact_from(&row)?;
    sqlx::query("DELETE FROM artifact_blobs WHERE artifact_id = $1")
        .bind(recorded.id.0)
        .execute(&mut *transaction)
        .await?;
    let blobs: HashSet<&String> = artifact.blobs.iter().collect();
    for digest in blobs {
        sqlx::query("INSERT INTO artifact_blobs (artifact_id, digest) VALUES ($1, $2)")
            .bind(recorded.id.0)
            .bind(digest)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(recorded)
}

/// Implements [`crate::Store::artifacts_of_run`].
pub(crate) async fn artifacts_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<Artifact>> {
    sqlx::query(concat!("SELECT ", artifact_columns!(), " FROM artifacts WHERE run_id = $1 ORDER BY name"))
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(artifact_from)
        .collect()
}

/// Implements [`crate::Store::is_blob_referenced`].
pub(crate) async fn is_blob_referenced(pools: &DbPools, _context: &Context, digest: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT artifact_id FROM artifact_blobs WHERE digest = $1 LIMIT 1")
        .bind(digest)
        .fetch_optional(&pools.reader)
        .await?;
    Ok(found.is_some())
}

/// The blob digests the artifacts of these runs reference.
async fn blobs_of_runs(connection: &mut DbConnection, runs: &[i64]) -> Result<HashSet<String>> {
    let mut blobs = HashSet::new();
    for run in runs {
        let digests: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT artifact_blobs.digest FROM artifact_blobs \
             JOIN artifacts ON artifacts.id = artifact_blobs.artifact_id WHERE artifacts.run_id = $1",
        )
        .bind(run)
        .fetch_all(&mut *connection)
        .await?;
        blobs.extend(digests);
    }
    Ok(blobs)
}

/// Those of `blobs` that no artifact references any more, sorted.
async fn unreferenced(connection: &mut DbConnection, blobs: HashSet<String>) -> Result<Vec<String>> {
    let mut unreferenced = Vec::new();
    for digest in blobs {
        let found: Option<i64> = sqlx::query_scalar("SELECT artifact_id FROM artifact_blobs WHERE digest = $1 LIMIT 1")
            .bind(&digest)
            .fetch_optional(&mut *connection)
            .await?;
        if found.is_none() {
            unreferenced.push(digest);
        }
    }
    unreferenced.sort();
    Ok(unreferenced)
}

/// A test count as a database integer.
fn count(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::invalid("test results", "a count is too large"))
}

/// Implements [`crate::Store::add_test_run`].
pub(crate) async fn add_test_run(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    job: &str,
    step: i64,
    results: &TestRun,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, run).await?;
    sqlx::query(
        "INSERT INTO test_runs (run_id, job_key, step, total, passed, failed, skipped, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(run.0)
    .bind(job)
    .bind(step)
    .bind(count(results.total)?)
    .bind(count(results.passed)?)
    .bind(count(results.failed)?)
    .bind(count(results.skipped)?)
    .bind(to_json("test results", results)?)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::test_runs`].
pub(crate) async fn test_runs(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<StoredTestRun>> {
    sqlx::query("SELECT job_key, step, data FROM test_runs WHERE run_id = $1 ORDER BY id")
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredTestRun {
                run,
                job: row.try_get("job_key")?,
                step: row.try_get("step")?,
                results: json_column(row, "data")?,
            })
        })
        .collect()
}

/// Implements [`crate::Store::test_totals`].
pub(crate) async fn test_totals(pools: &DbPools, _context: &Context, run: RunId) -> Result<TestTotals> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS total, CAST(COALESCE(SUM(passed), 0) AS BIGINT) AS passed, \
         CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS failed, CAST(COALESCE(SUM(skipped), 0) AS BIGINT) AS skipped \
         FROM test_runs WHERE run_id = $1",
    )
    .bind(run.0)
    .fetch_one(&pools.reader)
    .await?;
    Ok(TestTotals {
        total: row.try_get("total")?,
        passed: row.try_get("passed")?,
        failed: row.try_get("failed")?,
        skipped: row.try_get("skipped")?,
    })
}

/// Implements [`crate::Store::add_coverage`].
pub(crate) async fn add_coverage(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    job: &str,
    step: i64,
    coverage: &Coverage,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_run(&mut transaction, run).await?;
    sqlx::query("INSERT INTO coverage_summaries (run_id, job_key, step, data) VALUES ($1, $2, $3, $4)")
        .bind(run.0)
        .bind(job)
        .bind(step)
        .bind(to_json("coverage", coverage)?)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::coverage_summaries`].
pub(crate) async fn coverage_summaries(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<StoredCoverage>> {
    sqlx::query("SELECT job_key, step, data FROM coverage_summaries WHERE run_id = $1 ORDER BY id")
        .bind(run.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredCoverage {
                run,
                job: row.try_get("job_key")?,
                step: row.try_get("step")?,
                coverage: json_column(row, "data")?,
            })
        })
        .collect()
}

// ----- variables and secrets -----

/// Inserts or replaces a variable, sealing a secret value.
async fn write_variable(
    connection: &mut DbConnection,
    context: &Context,
    scope: VariableScope,
    owner: i64,
    name: &str,
    value: &str,
    is_secret: bool,
) -> Result<()> {
    require_name("variable name", name)?;
    let (plain, sealed) = if is_secret {
        (None, Some(context.key.seal(&scope.seal_context(owner, name), value.as_bytes())?))
    } else {
        (Some(value), None)
    };
    let sql = variable_sql!(
        scope,
        "INSERT INTO ",
        " (owner_id, name, is_secret, value, sealed, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (owner_id, name) DO UPDATE SET is_secret = excluded.is_secret, value = excluded.value, \
         sealed = excluded.sealed, updated_at = excluded.updated_at"
    );
    sqlx::query(sql)
        .bind(owner)
        .bind(name)
        .bind(is_secret)
        .bind(plain)
        .bind(sealed)
        .bind(context.now().millis())
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Fails with `NotFound` unless the group, pipeline or job exists.
async fn require_owner(connection: &mut DbConnection, scope: VariableScope, owner: i64) -> Result<()> {
    let (sql, entity) = match scope {
        VariableScope::Group => ("SELECT id FROM variable_groups WHERE id = $1", "variable group"),
        VariableScope::Pipeline => ("SELECT id FROM pipelines WHERE id = $1", "pipeline"),
        VariableScope::Job => ("SELECT id FROM jobs WHERE id = $1", "job"),
    };
    let found: Option<i64> = sqlx::query_scalar(sql).bind(owner).fetch_optional(&mut *connection).await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found(entity, owner))
}

/// Implements the `set_*_variable` methods of [`crate::Store`].
pub(crate) async fn set_variable(
    pools: &DbPools,
    context: &Context,
    scope: VariableScope,
    owner: i64,
    name: &str,
    value: &str,
    is_secret: bool,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    require_owner(&mut transaction, scope, owner).await?;
    write_variable(&mut transaction, context, scope, owner, name, value, is_secret).await?;
    if scope == VariableScope::Group {
        sqlx::query("UPDATE variable_groups SET updated_at = $2 WHERE id = $1")
            .bind(owner)
            .bind(context.now().millis())
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements the `delete_*_variable` methods of [`crate::Store`].
pub(crate) async fn delete_variable(
    pools: &DbPools,
    context: &Context,
    scope: VariableScope,
    owner: i64,
    name: &str,
) -> Result<bool> {
    let mut transaction = pools.writer.begin().await?;
    let sql = variable_sql!(scope, "DELETE FROM ", " WHERE owner_id = $1 AND name = $2");
    let deleted = sqlx::query(sql).bind(owner).bind(name).execute(&mut *transaction).await?.rows_affected() > 0;
    if deleted && scope == VariableScope::Group {
        sqlx::query("UPDATE variable_groups SET updated_at = $2 WHERE id = $1")
            .bind(owner)
            .bind(context.now().millis())
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(deleted)
}

/// Variables of an owner without secret values.
async fn listed_variables(
    connection: &mut DbConnection,
    scope: VariableScope,
    owner: i64,
) -> Result<Vec<ListedVariable>> {
    // The sealed value is not even read: listings cannot leak it.
    let sql = variable_sql!(scope, "SELECT name, is_secret, value FROM ", " WHERE owner_id = $1 ORDER BY name");
    sqlx::query(sql)
        .bind(owner)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| {
            let is_secret: bool = row.try_get("is_secret")?;
            let value: Option<String> = row.try_get("value")?;
            Ok(ListedVariable { name: row.try_get("name")?, is_secret, value: if is_secret { None } else { value } })
        })
        .collect()
}

/// Implements the listing methods of variables of [`crate::Store`]: no secret values.
pub(crate) async fn list_variables(
    pools: &DbPools,
    _context: &Context,
    scope: VariableScope,
    owner: i64,
) -> Result<Vec<ListedVariable>> {
    let mut connection = pools.reader.acquire().await?;
    listed_variables(&mut connection, scope, owner).await
}

/// Implements the methods of [`crate::Store`] that return variables with secrets decrypted.
pub(crate) async fn variable_values(
    pools: &DbPools,
    context: &Context,
    scope: VariableScope,
    owner: i64,
) -> Result<Vec<VariableValue>> {
    let sql = variable_sql!(scope, "SELECT name, is_secret, value, sealed FROM ", " WHERE owner_id = $1 ORDER BY name");
    sqlx::query(sql)
        .bind(owner)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| {
            let name: String = row.try_get("name")?;
            let is_secret: bool = row.try_get("is_secret")?;
            let value = if is_secret {
                let sealed: Option<Vec<u8>> = row.try_get("sealed")?;
                let opened = sealed
                    .and_then(|sealed| context.key.open(&scope.seal_context(owner, &name), &sealed))
                    .ok_or_else(|| StoreError::Decryption(format!("{} {owner} variable {name}", scope.name())))?;
                String::from_utf8(opened)
                    .map_err(|_| StoreError::Decryption(format!("{} {owner} variable {name}", scope.name())))?
            } else {
                row.try_get::<Option<String>, _>("value")?.unwrap_or_default()
            };
            Ok(VariableValue { name, value, is_secret })
        })
        .collect()
}

/// A variable group from its row, with its variables listed.
async fn group_from(connection: &mut DbConnection, row: &DbRow) -> Result<VariableGroup> {
    let id: i64 = row.try_get("id")?;
    Ok(VariableGroup {
        id: VariableGroupId(id),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        variables: listed_variables(connection, VariableScope::Group, id).await?,
        created_at: timestamp(row, "created_at")?,
        updated_at: timestamp(row, "updated_at")?,
    })
}

/// Implements [`crate::Store::create_variable_group`].
pub(crate) async fn create_variable_group(
    pools: &DbPools,
    context: &Context,
    name: &str,
    description: &str,
) -> Result<VariableGroup> {
    require_name("variable group name", name)?;
    let mut transaction = pools.writer.begin().await?;
    let row = sqlx::query(
        "INSERT INTO variable_groups (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         RETURNING id, name, description, created_at, updated_at",
    )
    .bind(name)
    .bind(description)
    .bind(context.now().millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("variable group", name))?;
    let group = group_from(&mut transaction, &row).await?;
    transaction.commit().await?;
    Ok(group)
}

/// Implements [`crate::Store::update_variable_group`].
pub(crate) async fn update_variable_group(
    pools: &DbPools,
    context: &Context,
    group: VariableGroupId,
    name: &str,
    description: &str,
) -> Result<()> {
    require_name("variable group name", name)?;
    let changed = sqlx::query("UPDATE variable_groups SET name = $2, description = $3, updated_at = $4 WHERE id = $1")
        .bind(group.0)
        .bind(name)
        .bind(description)
        .bind(context.now().millis())
        .execute(&pools.writer)
        .await
        .map_err(conflict_or("variable group", name))?;
    if changed.rows_affected() == 0 {
        return Err(StoreError::not_found("variable group", group));
    }
    Ok(())
}

/// Implements [`crate::Store::delete_variable_group`].
pub(crate) async fn delete_variable_group(pools: &DbPools, _context: &Context, group: VariableGroupId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM variable_groups WHERE id = $1").bind(group.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::list_variable_groups`].
pub(crate) async fn list_variable_groups(pools: &DbPools, _context: &Context) -> Result<Vec<VariableGroup>> {
    let mut connection = pools.reader.acquire().await?;
    let rows = sqlx::query("SELECT id, name, description, created_at, updated_at FROM variable_groups ORDER BY name")
        .fetch_all(&mut *connection)
        .await?;
    let mut groups = Vec::with_capacity(rows.len());
    for row in &rows {
        groups.push(group_from(&mut connection, row).await?);
    }
    Ok(groups)
}

/// Implements [`crate::Store::variable_group_by_name`].
pub(crate) async fn variable_group_by_name(
    pools: &DbPools,
    _context: &Context,
    name: &str,
) -> Result<Option<VariableGroup>> {
    let mut connection = pools.reader.acquire().await?;
    let row = sqlx::query("SELECT id, name, description, created_at, updated_at FROM variable_groups WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *connection)
        .await?;
    match row {
        Some(row) => Ok(Some(group_from(&mut connection, &row).await?)),
        None => Ok(None),
    }
}

/// Implements [`crate::Store::group_variable_values`].
pub(crate) async fn group_variable_values(
    pools: &DbPools,
    context: &Context,
    group_name: &str,
) -> Result<Vec<VariableValue>> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM variable_groups WHERE name = $1")
        .bind(group_name)
        .fetch_optional(&pools.reader)
        .await?;
    let id = id.ok_or_else(|| StoreError::not_found("variable group", group_name))?;
    variable_values(pools, context, VariableScope::Group, id).await
}

// ----- users, tokens, sessions -----

/// Implements [`crate::Store::create_user`].
pub(crate) async fn create_user(pools: &DbPools, context: &Context, name: &str, role: UserRole) -> Result<User> {
    require_name("user name", name)?;
    let row = sqlx::query(
        "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) RETURNING id, name, role, created_at",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(context.now().millis())
    .fetch_one(&pools.writer)
    .await
    .map_err(conflict_or("user", name))?;
    user_from(&row)
}

/// Implements [`crate::Store::user`].
pub(crate) async fn user(pools: &DbPools, _context: &Context, user: UserId) -> Result<User> {
    let row = sqlx::query("SELECT id, name, role, created_at FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(&pools.reader)
        .await?;
    row.as_ref().map(user_from).transpose()?.ok_or_else(|| StoreError::not_found("user", user))
}

/// Implements [`crate::Store::user_by_name`].
pub(crate) async fn user_by_name(pools: &DbPools, _context: &Context, name: &str) -> Result<Option<User>> {
    let row = sqlx::query("SELECT id, name, role, created_at FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&pools.reader)
        .await?;
    row.as_ref().map(user_from).transpose()
}

/// Implements [`crate::Store::list_users`].
pub(crate) async fn list_users(pools: &DbPools, _context: &Context) -> Result<Vec<User>> {
    sqlx::query("SELECT id, name, role, created_at FROM users ORDER BY name")
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(user_from)
        .collect()
}

/// Implements [`crate::Store::set_user_role`].
pub(crate) async fn set_user_role(pools: &DbPools, _context: &Context, user: UserId, role: UserRole) -> Result<User> {
    let row = sqlx::query("UPDATE users SET role = $2 WHERE id = $1 RETURNING id, name, role, created_at")
        .bind(user.0)
        .bind(role.as_str())
        .fetch_optional(&pools.writer)
        .await?;
    row.as_ref().map(user_from).transpose()?.ok_or_else(|| StoreError::not_found("user", user))
}

/// Implements [`crate::Store::delete_user`].
pub(crate) async fn delete_user(pools: &DbPools, _context: &Context, user: UserId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(user.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::create_access_token`].
pub(crate) async fn create_access_token(
    pools: &DbPools,
    context: &Context,
    user: UserId,
    name: &str,
    expires_at: Option<Timestamp>,
) -> Result<Issued<AccessToken>> {
    let (secret, prefix) = new_secret(ACCESS_TOKEN_KIND)?;
    let mut transaction = pools.writer.begin().await?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user.0).fetch_optional(&mut *transaction).await?;
    owner.ok_or_else(|| StoreError::not_found("user", user))?;
    let row = sqlx::query(concat!(
        "INSERT INTO access_tokens (user_id, name, prefix, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        token_columns!()
    ))
    .bind(user.0)
    .bind(name)
    .bind(&prefix)
    .bind(sha256_hex(&secret))
    .bind(context.now().millis())
    .bind(expires_at.map(Timestamp::millis))
    .fetch_one(&mut *transaction)
    .await?;
    let token = token_from(&row)?;
    transaction.commit().await?;
    Ok(Issued { item: token, secret })
}

/// Implements [`crate::Store::list_access_tokens`].
pub(crate) async fn list_access_tokens(pools: &DbPools, _context: &Context, user: UserId) -> Result<Vec<AccessToken>> {
    sqlx::query(concat!("SELECT ", token_columns!(), " FROM access_tokens WHERE user_id = $1 ORDER BY id"))
        .bind(user.0)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(token_from)
        .collect()
}

/// Implements [`crate::Store::revoke_access_token`].
pub(crate) async fn revoke_access_token(pools: &DbPools, context: &Context, token: AccessTokenId) -> Result<bool> {
    let mut transaction = pools.writer.begin().await?;
    let changed = sqlx::query("UPDATE access_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(token.0)
        .bind(context.now().millis())
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE access_token_id = $1").bind(token.0).execute(&mut *transaction).await?;
    transaction.commit().await?;
    Ok(changed.rows_affected() > 0)
}

/// Implements [`crate::Store::authenticate_token`].
pub(crate) async fn authenticate_token(
    pools: &DbPools,
    context: &Context,
    secret: &str,
) -> Result<Option<(User, AccessToken)>> {
    let Some(prefix) = secret_prefix(ACCESS_TOKEN_KIND, secret) else {
        return Ok(None);
    };
    let row = sqlx::query(concat!("SELECT ", token_columns!(), ", hash FROM access_tokens WHERE prefix = $1"))
        .bind(prefix)
        .fetch_optional(&pools.reader)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let hash: String = row.try_get("hash")?;
    let mut token = token_from(&row)?;
    let now = context.now();
    let valid = constant_time_equal(&hash, &sha256_hex(secret))
        && token.revoked_at.is_none()
        && token.expires_at.is_none_or(|expiry| expiry > now);
    if !valid {
        return Ok(None);
    }
    if token.last_used_at.is_none_or(|used| now.millis() - used.millis() >= LAST_USED_RESOLUTION_MS) {
        sqlx::query("UPDATE access_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token.id.0)
            .bind(now.millis())
            .execute(&pools.writer)
            .await?;
        token.last_used_at = Some(now);
    }
    let owner = user(pools, context, token.user).await?;
    Ok(Some((owner, token)))
}

/// Implements [`crate::Store::create_session`].
pub(crate) async fn create_session(
    pools: &DbPools,
    context: &Context,
    token: AccessTokenId,
    duration: Duration,
) -> Result<Issued<Session>> {
    let secret = random_hex(32)?;
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let row = sqlx::query("SELECT user_id, expires_at, revoked_at FROM access_tokens WHERE id = $1")
        .bind(token.0)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| StoreError::not_found("access token", token))?;
    let user = UserId(row.try_get("user_id")?);
    let token_expiry: Option<i64> = row.try_get("expires_at")?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    if revoked.is_some() || token_expiry.is_some_and(|expiry| expiry <= now.millis()) {
        return Err(StoreError::Invalid { what: "access token", reason: "it is revoked or expired".into() });
    }
    let mut expires_at = now.plus(duration);
    if let Some(expiry) = token_expiry {
        expires_at = Timestamp(expires_at.millis().min(expiry));
    }
    let session = Session { user, token, created_at: now, expires_at };
    sqlx::query(
        "INSERT INTO sessions (hash, user_id, access_token_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&secret))
    .bind(user.0)
    .bind(token.0)
    .bind(session.created_at.millis())
    .bind(session.expires_at.millis())
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(Issued { item: session, secret })
}

/// Implements [`crate::Store::session`]: the session's token must still be valid, whatever the
/// session's own expiry says.
pub(crate) async fn session(pools: &DbPools, context: &Context, secret: &str) -> Result<Option<(User, Session)>> {
    let now = context.now().millis();
    let row = sqlx::query(
        "SELECT users.id, users.name, users.role, users.created_at, sessions.created_at AS session_created_at, \
         sessions.expires_at, sessions.access_token_id FROM sessions \
         JOIN users ON users.id = sessions.user_id \
         JOIN access_tokens ON access_tokens.id = sessions.access_token_id \
         WHERE sessions.hash = $1 AND sessions.expires_at > $2 AND access_tokens.revoked_at IS NULL \
         AND (access_tokens.expires_at IS NULL OR access_tokens.expires_at > $2)",
    )
    .bind(sha256_hex(secret))
    .bind(now)
    .fetch_optional(&pools.reader)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let owner = user_from(&row)?;
    let session = Session {
        user: owner.id,
        token: AccessTokenId(row.try_get("access_token_id")?),
        created_at: timestamp(&row, "session_created_at")?,
        expires_at: timestamp(&row, "expires_at")?,
    };
    Ok(Some((owner, session)))
}

/// Implements [`crate::Store::delete_session`].
pub(crate) async fn delete_session(pools: &DbPools, _context: &Context, secret: &str) -> Result<bool> {
    let deleted =
        sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(sha256_hex(secret)).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::delete_expired_sessions`].
pub(crate) async fn delete_expired_sessions(pools: &DbPools, context: &Context) -> Result<u64> {
    let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(context.now().millis())
        .execute(&pools.writer)
        .await?;
    Ok(deleted.rows_affected())
}

// ----- agents -----

/// Implements [`crate::Store::create_registration_token`].
pub(crate) async fn create_registration_token(
    pools: &DbPools,
    context: &Context,
    created_by: Option<&str>,
    expires_at: Option<Timestamp>,
) -> Result<Issued<RegistrationToken>> {
    let (secret, prefix) = new_secret(REGISTRATION_TOKEN_KIND)?;
    let row = sqlx::query(concat!(
        "INSERT INTO registration_tokens (prefix, hash, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
        registration_columns!()
    ))
    .bind(&prefix)
    .bind(sha256_hex(&secret))
    .bind(created_by)
    .bind(context.now().millis())
    .bind(expires_at.map(Timestamp::millis))
    .fetch_one(&pools.writer)
    .await?;
    Ok(Issued { item: registration_from(&row)?, secret })
}

/// Implements [`crate::Store::list_registration_tokens`].
pub(crate) async fn list_registration_tokens(pools: &DbPools, _context: &Context) -> Result<Vec<RegistrationToken>> {
    sqlx::query(concat!("SELECT ", registration_columns!(), " FROM registration_tokens ORDER BY id DESC"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(registration_from)
        .collect()
}

/// Implements [`crate::Store::register_agent`].
pub(crate) async fn register_agent(
    pools: &DbPools,
    context: &Context,
    registration_secret: &str,
    agent: &NewAgent,
) -> Result<Option<Issued<Agent>>> {
    require_name("agent name", &agent.name)?;
    require_name("pool", &agent.pool)?;
    let Some(prefix) = secret_prefix(REGISTRATION_TOKEN_KIND, registration_secret) else {
        return Ok(None);
    };
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let row =
        sqlx::query(concat!("SELECT ", registration_columns!(), ", hash FROM registration_tokens WHERE prefix = $1"))
            .bind(prefix)
            .fetch_optional(&mut *transaction)
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let token = registration_from(&row)?;
    let hash: String = row.try_get("hash")?;
    let usable = constant_time_equal(&hash, &sha256_hex(registration_secret))
        && token.used_at.is_none()
        && token.expires_at.is_none_or(|expiry| expiry > now);
    if !usable {
        return Ok(None);
    }
    let (credential, credential_prefix) = new_secret(AGENT_CREDENTIAL_KIND)?;
    let row = sqlx::query(concat!(
        "INSERT INTO agents (name, pool, capabilities, version, credential_prefix, credential_hash, state, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'idle', $7, $7) RETURNING ",
        agent_columns!()
    ))
    .bind(&agent.name)
    .bind(&agent.pool)
    .bind(to_json("capabilities", &agent.capabilities)?)
    .bind(&agent.version)
    .bind(&credential_prefix)
    .bind(sha256_hex(&credential))
    .bind(now.millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("agent", &agent.name))?;
    let created = agent_from(&row)?;
    let used =
        sqlx::query("UPDATE registration_tokens SET used_at = $2, agent_id = $3 WHERE id = $1 AND used_at IS NULL")
            .bind(token.id.0)
            .bind(now.millis())
            .bind(created.id.0)
            .execute(&mut *transaction)
            .await?;
    if used.rows_affected() != 1 {
        return Ok(None);
    }
    transaction.commit().await?;
    Ok(Some(Issued { item: created, secret: credential }))
}

/// Implements [`crate::Store::authenticate_agent`].
pub(crate) async fn authenticate_agent(pools: &DbPools, _context: &Context, secret: &str) -> Result<Option<Agent>> {
    let Some(prefix) = secret_prefix(AGENT_CREDENTIAL_KIND, secret) else {
        return Ok(None);
    };
    let row =
        sqlx::query(concat!("SELECT ", agent_columns!(), ", credential_hash FROM agents WHERE credential_prefix = $1"))
            .bind(prefix)
            .fetch_optional(&pools.reader)
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let hash: String = row.try_get("credential_hash")?;
    if !constant_time_equal(&hash, &sha256_hex(secret)) {
        return Ok(None);
    }
    agent_from(&row).map(Some)
}

/// Implements [`crate::Store::agent_seen`].
pub(crate) async fn agent_seen(pools: &DbPools, context: &Context, agent: AgentId, state: AgentState) -> Result<Agent> {
    let row = sqlx::query(concat!(
        "UPDATE agents SET state = $2, last_seen_at = $3 WHERE id = $1 RETURNING ",
        agent_columns!()
    ))
    .bind(agent.0)
    .bind(state.as_str())
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await?;
    row.as_ref().map(agent_from).transpose()?.ok_or_else(|| StoreError::not_found("agent", agent))
}

/// Implements [`crate::Store::update_agent`].
pub(crate) async fn update_agent(
    pools: &DbPools,
    context: &Context,
    agent: AgentId,
    capabilities: &BTreeMap<String, String>,
    version: &str,
) -> Result<Agent> {
    let row = sqlx::query(concat!(
        "UPDATE agents SET capabilities = $2, version = $3, last_seen_at = $4 WHERE id = $1 RETURNING ",
        agent_columns!()
    ))
    .bind(agent.0)
    .bind(to_json("capabilities", capabilities)?)
    .bind(version)
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await?;
    row.as_ref().map(agent_from).transpose()?.ok_or_else(|| StoreError::not_found("agent", agent))
}

/// Implements [`crate::Store::mark_silent_agents_offline`].
pub(crate) async fn mark_silent_agents_offline(
    pools: &DbPools,
    context: &Context,
    silence: Duration,
) -> Result<Vec<Agent>> {
    let cutoff = context.now().minus(silence);
    sqlx::query(concat!(
        "UPDATE agents SET state = 'offline' WHERE state <> 'offline' AND (last_seen_at IS NULL OR last_seen_at < $1) RETURNING ",
        agent_columns!()
    ))
    .bind(cutoff.millis())
    .fetch_all(&pools.writer)
    .await?
    .iter()
    .map(agent_from)
    .collect()
}

/// Implements [`crate::Store::list_agents`].
pub(crate) async fn list_agents(pools: &DbPools, _context: &Context) -> Result<Vec<Agent>> {
    sqlx::query(concat!("SELECT ", agent_columns!(), " FROM agents ORDER BY name"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(agent_from)
        .collect()
}

/// Implements [`crate::Store::delete_agent`].
pub(crate) async fn delete_agent(pools: &DbPools, _context: &Context, agent: AgentId) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM agents WHERE id = $1").bind(agent.0).execute(&pools.writer).await?;
    Ok(deleted.rows_affected() > 0)
}

// ----- audit log -----

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

// ----- retention -----

/// What retention needs to know of a run.
struct RunFacts {
    id: i64,
    pipeline: i64,
    completed: bool,
    successful: bool,
    branch: Option<String>,
    finished_at: Option<i64>,
    keep: bool,
    needs: Vec<i64>,
}

/// Implements [`crate::Store::apply_retention`].
pub(crate) async fn apply_retention(pools: &DbPools, context: &Context) -> Result<RetentionReport> {
    let now = context.now();
    let policies: HashMap<i64, RetentionPolicy> =
        list_pipelines(pools, context).await?.into_iter().map(|pipeline| (pipeline.id.0, pipeline.retention)).collect();
    let rows = sqlx::query(
        "SELECT id, pipeline_id, status, result, branch, finished_at, keep, retry_of, upstream_run_id FROM runs ORDER BY id DESC",
    )
    .fetch_all(&pools.writer)
    .await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in &rows {
        let result = parse_result(row.try_get("result")?)?;
        runs.push(RunFacts {
            id: row.try_get("id")?,
            pipeline: row.try_get("pipeline_id")?,
            completed: RunStatus::parse(&row.try_get::<String, _>("status")?)? == RunStatus::Completed,
            successful: result.is_some_and(TaskResult::is_success),
            branch: row.try_get("branch")?,
            finished_at: row.try_get("finished_at")?,
            keep: row.try_get("keep")?,
            needs: [row.try_get::<Option<i64>, _>("retry_of")?, row.try_get::<Option<i64>, _>("upstream_run_id")?]
                .into_iter()
                .flatten()
                .collect(),
        });
    }
    // Candidates: completed runs beyond every limit their pipeline sets (runs are newest first).
    let mut completed_seen: HashMap<i64, u32> = HashMap::new();
    let mut newest_success_seen: HashSet<(i64, Option<String>)> = HashSet::new();
    let mut expired: HashSet<i64> = HashSet::new();
    for run in &runs {
        if !run.completed {
            continue;
        }
        let rank = completed_seen.entry(run.pipeline).or_insert(0);
        *rank += 1;
        let newest_success = run.successful && newest_success_seen.insert((run.pipeline, run.branch.clone()));
        let Some(policy) = policies.get(&run.pipeline) else {
            continue;
        };
        if policy.days.is_none() && policy.runs.is_none() {
            continue;
        }
        let beyond_count = policy.runs.is_none_or(|limit| *rank > limit);
        let beyond_age = policy.days.is_none_or(|days| {
            let cutoff = now.minus(Duration::from_secs(u64::from(days) * 86_400)).millis();
            run.finished_at.is_some_and(|finished| finished < cutoff)
        });
        if beyond_count && beyond_age && !run.keep && !newest_success {
            expired.insert(run.id);
        }
    }
    // Whatever a kept run needs is kept, transitively.
    let by_id: HashMap<i64, &RunFacts> = runs.iter().map(|run| (run.id, run)).collect();
    let mut pending: Vec<i64> = runs.iter().filter(|run| !expired.contains(&run.id)).map(|run| run.id).collect();
    while let Some(kept) = pending.pop() {
        for needed in by_id.get(&kept).map(|run| run.needs.as_slice()).unwrap_or_default() {
            if expired.remove(needed) {
                pending.push(*needed);
            }
        }
    }
    // Newest first: a run is deleted before the older runs it needs, so that each deletion can
    // simply check that no run needs it any more.
    let mut doomed: Vec<i64> = expired.into_iter().collect();
    doomed.sort_unstable_by(|left, right| right.cmp(left));
    let mut report = RetentionReport::default();
    let mut blobs_freed: HashSet<String> = HashSet::new();
    let still_deletable = if POSTGRES {
        "SELECT id FROM runs WHERE id = $1 AND keep = FALSE AND status = 'completed' FOR UPDATE"
    } else {
        "SELECT id FROM runs WHERE id = $1 AND keep = FALSE AND status = 'completed'"
    };
    for batch in doomed.chunks(RETENTION_BATCH) {
        let mut transaction = pools.writer.begin().await?;
        let mut blobs = HashSet::new();
        for run in batch {
            // Checked again inside the transaction: a run marked keep, or needed by a run created,
            // since the plan was made stays.
            let found: Option<i64> =
                sqlx::query_scalar(still_deletable).bind(run).fetch_optional(&mut *transaction).await?;
            let needed: Option<i64> =
                sqlx::query_scalar("SELECT id FROM runs WHERE retry_of = $1 OR upstream_run_id = $1 LIMIT 1")
                    .bind(run)
                    .fetch_optional(&mut *transaction)
                    .await?;
            if found.is_none() || needed.is_some() {
                continue;
            }
            blobs.extend(blobs_of_runs(&mut transaction, &[*run]).await?);
            sqlx::query("DELETE FROM runs WHERE id = $1").bind(run).execute(&mut *transaction).await?;
            report.deleted_runs.push(RunId(*run));
        }
        blobs_freed.extend(unreferenced(&mut transaction, blobs).await?);
        transaction.commit().await?;
    }
    let mut unreferenced_blobs: Vec<String> = blobs_freed.into_iter().collect();
    unreferenced_blobs.sort();
    report.unreferenced_blobs = unreferenced_blobs;
    Ok(report)
}

// ----- agent pools -----

fn pool_from(row: &DbRow) -> Result<PoolRecord> {
    Ok(PoolRecord {
        name: row.try_get("name")?,
        settings: json_column(row, "settings")?,
        updated_at: timestamp(row, "updated_at")?,
    })
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
    .await?;
    pool_from(&row)
}

/// Implements [`crate::Store::list_pool_settings`].
pub(crate) async fn list_pool_settings(pools: &DbPools, _context: &Context) -> Result<Vec<PoolRecord>> {
    sqlx::query("SELECT name, settings, updated_at FROM pools ORDER BY name")
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(pool_from)
        .collect()
}
