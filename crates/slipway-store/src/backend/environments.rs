//! Environments, the checks on protected resources, deployments, and what runs' stages wait for:
//! checkpoints with the checks they evaluate, approvers' decisions and exclusive locks.

use super::common::{DbConnection, DbPools, from_json, read_row, require_name, to_json};
use super::events::record_change;
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    AnalysisRunId, Approval, ApprovalDecision, ChangeKind, Check, CheckId, CheckRun, CheckRunId, CheckRunState,
    Checkpoint, CheckpointId, CheckpointState, Deployment, DeploymentFacts, DeploymentId, Environment, EnvironmentId,
    JobId, NewCheck, NewCheckRun, NewDeployment, PipelineId, ProtectedResource, RunId, Timestamp, parse_result,
    result_text,
};
use crate::store::Context;
use slipway_events::TaskResult;

// ----- environments -----

/// The columns of `environments` read into an [`EnvironmentRow`].
macro_rules! environment_columns {
    () => {
        "id, name, description, created_by, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: i64,
    name: String,
    description: String,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl EnvironmentRow {
    fn into_environment(self) -> Environment {
        Environment {
            id: EnvironmentId(self.id),
            name: self.name,
            description: self.description,
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        }
    }
}

/// The key names are compared by.
fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Refuses names that cannot be an environment's.
fn check_environment_name(name: &str) -> Result<()> {
    require_name("environment name", name)?;
    if name.len() > 256 {
        return Err(StoreError::invalid("environment name", "it is longer than 256 bytes"));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid("environment name", "it holds a control character"));
    }
    Ok(())
}

async fn environment_by_key(connection: &mut DbConnection, name: &str) -> Result<Option<Environment>> {
    let row = sqlx::query(concat!("SELECT ", environment_columns!(), " FROM environments WHERE name_key = $1"))
        .bind(name_key(name))
        .fetch_optional(&mut *connection)
        .await?;
    Ok(row.map(|row| read_row::<EnvironmentRow>(&row)).transpose()?.map(EnvironmentRow::into_environment))
}

/// Implements [`crate::Store::ensure_environment`].
pub(crate) async fn ensure_environment(pools: &DbPools, context: &Context, name: &str) -> Result<Environment> {
    check_environment_name(name)?;
    let mut transaction = pools.writer.begin().await?;
    let now = context.now();
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO environments (name, name_key, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, '', NULL, $3, $3) ON CONFLICT (name_key) DO NOTHING RETURNING id",
    )
    .bind(name.trim())
    .bind(name_key(name))
    .bind(now.millis())
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(id) = created {
        record_change(&mut transaction, ChangeKind::EnvironmentCreated, id, now, &serde_json::json!({})).await?;
    }
    let found =
        environment_by_key(&mut transaction, name).await?.ok_or_else(|| StoreError::not_found("environment", name))?;
    transaction.commit().await?;
    Ok(found)
}

/// Implements [`crate::Store::create_environment`].
pub(crate) async fn create_environment(
    pools: &DbPools,
    context: &Context,
    name: &str,
    description: &str,
    created_by: Option<&str>,
) -> Result<Environment> {
    check_environment_name(name)?;
    let now = context.now().millis();
    let mut transaction = pools.writer.begin().await?;
    let row = sqlx::query(concat!(
        "INSERT INTO environments (name, name_key, description, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING ",
        environment_columns!()
    ))
    .bind(name.trim())
    .bind(name_key(name))
    .bind(description)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("environment", name))?;
    let created = read_row::<EnvironmentRow>(&row)?.into_environment();
    record_change(
        &mut transaction,
        ChangeKind::EnvironmentCreated,
        created.id.0,
        Timestamp(now),
        &serde_json::json!({}),
    )
    .await?;
    transaction.commit().await?;
    Ok(created)
}

/// Implements [`crate::Store::environment`].
pub(crate) async fn environment(pools: &DbPools, _context: &Context, name: &str) -> Result<Environment> {
    let mut connection = pools.reader.acquire().await?;
    environment_by_key(&mut connection, name).await?.ok_or_else(|| StoreError::not_found("environment", name))
}

/// Implements [`crate::Store::environment_by_id`].
pub(crate) async fn environment_by_id(pools: &DbPools, _context: &Context, id: EnvironmentId) -> Result<Environment> {
    let row = sqlx::query(concat!("SELECT ", environment_columns!(), " FROM environments WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&pools.reader)
        .await?
        .ok_or_else(|| StoreError::not_found("environment", id.0))?;
    Ok(read_row::<EnvironmentRow>(&row)?.into_environment())
}

/// Implements [`crate::Store::list_environments`].
pub(crate) async fn list_environments(pools: &DbPools, _context: &Context) -> Result<Vec<Environment>> {
    sqlx::query(concat!("SELECT ", environment_columns!(), " FROM environments ORDER BY name_key"))
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(|row| read_row::<EnvironmentRow>(row).map(EnvironmentRow::into_environment))
        .collect()
}

/// Implements [`crate::Store::update_environment`].
pub(crate) async fn update_environment(
    pools: &DbPools,
    context: &Context,
    id: EnvironmentId,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Environment> {
    if let Some(name) = name {
        check_environment_name(name)?;
    }
    let row = sqlx::query(concat!(
        "UPDATE environments SET name = COALESCE($2, name), name_key = COALESCE($3, name_key), \
         description = COALESCE($4, description), updated_at = $5 WHERE id = $1 RETURNING ",
        environment_columns!()
    ))
    .bind(id.0)
    .bind(name.map(str::trim))
    .bind(name.map(name_key))
    .bind(description)
    .bind(context.now().millis())
    .fetch_optional(&pools.writer)
    .await
    .map_err(conflict_or("environment", name.unwrap_or_default()))?
    .ok_or_else(|| StoreError::not_found("environment", id.0))?;
    Ok(read_row::<EnvironmentRow>(&row)?.into_environment())
}

/// Implements [`crate::Store::delete_environment`].
pub(crate) async fn delete_environment(pools: &DbPools, _context: &Context, id: EnvironmentId) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    let deleted = sqlx::query("DELETE FROM environments WHERE id = $1").bind(id.0).execute(&mut *transaction).await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("environment", id.0));
    }
    let resource = ProtectedResource::Environment(id);
    delete_resource_checks(&mut transaction, &resource).await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes the checks on a resource and the lock on it (the resource is being deleted).
pub(super) async fn delete_resource_checks(connection: &mut DbConnection, resource: &ProtectedResource) -> Result<()> {
    for table in ["checks", "resource_locks"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE resource_type = $1 AND resource_key = $2"))
            .bind(resource.kind())
            .bind(resource.key())
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

// ----- checks -----

macro_rules! check_columns {
    () => {
        "id, resource_type, resource_key, kind, settings, timeout_minutes, created_by, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct CheckRow {
    id: i64,
    resource_type: String,
    resource_key: String,
    kind: String,
    settings: String,
    timeout_minutes: i64,
    created_by: Option<String>,
    created_at: i64,
}

impl CheckRow {
    fn into_check(self) -> Result<Check> {
        Ok(Check {
            id: CheckId(self.id),
            resource: ProtectedResource::parse(&self.resource_type, &self.resource_key)?,
            kind: self.kind,
            settings: from_json("settings", &self.settings)?,
            timeout_minutes: u32::try_from(self.timeout_minutes).unwrap_or(u32::MAX),
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
        })
    }
}

/// Implements [`crate::Store::add_check`].
pub(crate) async fn add_check(
    pools: &DbPools,
    context: &Context,
    resource: &ProtectedResource,
    check: &NewCheck,
) -> Result<Check> {
    require_name("check type", &check.kind)?;
    let row = sqlx::query(concat!(
        "INSERT INTO checks (resource_type, resource_key, kind, settings, timeout_minutes, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        check_columns!()
    ))
    .bind(resource.kind())
    .bind(resource.key())
    .bind(&check.kind)
    .bind(to_json("check settings", &check.settings)?)
    .bind(i64::from(check.timeout_minutes))
    .bind(check.created_by.as_deref())
    .bind(context.now().millis())
    .fetch_one(&pools.writer)
    .await?;
    read_row::<CheckRow>(&row)?.into_check()
}

/// Implements [`crate::Store::list_checks`].
pub(crate) async fn list_checks(
    pools: &DbPools,
    _context: &Context,
    resource: &ProtectedResource,
) -> Result<Vec<Check>> {
    sqlx::query(concat!(
        "SELECT ",
        check_columns!(),
        " FROM checks WHERE resource_type = $1 AND resource_key = $2 ORDER BY id"
    ))
    .bind(resource.kind())
    .bind(resource.key())
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(|row| read_row::<CheckRow>(row).and_then(CheckRow::into_check))
    .collect()
}

/// Implements [`crate::Store::delete_check`].
pub(crate) async fn delete_check(
    pools: &DbPools,
    _context: &Context,
    resource: &ProtectedResource,
    check: CheckId,
) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM checks WHERE id = $1 AND resource_type = $2 AND resource_key = $3")
        .bind(check.0)
        .bind(resource.kind())
        .bind(resource.key())
        .execute(&pools.writer)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("check", check.0));
    }
    Ok(())
}

// ----- deployments -----

macro_rules! deployment_columns {
    () => {
        "d.id, d.environment_id, d.resource, d.pipeline_id, p.name AS pipeline_name, d.run_id, \
         r.run_number, d.job_id, d.stage, d.job, d.strategy, d.commit_sha, d.branch, d.triggered_by, \
         d.queued_at, CASE WHEN d.finished_at IS NULL THEN (SELECT j.started_at FROM jobs j WHERE j.id = d.job_id) \
         ELSE d.started_at END AS started_at, d.finished_at, d.result, d.artifacts, d.changes, \
         d.outcome, d.outcome_detail, d.analysis_run_id"
    };
}

#[derive(sqlx::FromRow)]
struct DeploymentRow {
    id: i64,
    environment_id: i64,
    resource: Option<String>,
    pipeline_id: i64,
    pipeline_name: String,
    run_id: i64,
    run_number: String,
    job_id: i64,
    stage: String,
    job: String,
    strategy: String,
    commit_sha: Option<String>,
    branch: Option<String>,
    triggered_by: String,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    result: Option<String>,
    artifacts: String,
    changes: Option<String>,
    outcome: Option<String>,
    outcome_detail: Option<String>,
    analysis_run_id: Option<i64>,
}

impl DeploymentRow {
    fn into_deployment(self) -> Result<Deployment> {
        Ok(Deployment {
            id: DeploymentId(self.id),
            environment: EnvironmentId(self.environment_id),
            resource: self.resource,
            pipeline: PipelineId(self.pipeline_id),
            pipeline_name: self.pipeline_name,
            run: RunId(self.run_id),
            run_number: self.run_number,
            job: JobId(self.job_id),
            stage: self.stage,
            job_name: self.job,
            strategy: self.strategy,
            commit: self.commit_sha,
            branch: self.branch,
            triggered_by: self.triggered_by,
            queued_at: Timestamp(self.queued_at),
            started_at: self.started_at.map(Timestamp),
            finished_at: self.finished_at.map(Timestamp),
            result: parse_result(self.result)?,
            artifacts: from_json("artifacts", &self.artifacts)?,
            changes: self.changes.as_deref().map(|text| from_json("changes", text)).transpose()?,
            outcome: self.outcome,
            outcome_detail: self.outcome_detail,
            analysis_run: self.analysis_run_id.map(AnalysisRunId),
        })
    }
}

/// Implements [`crate::Store::record_deployment`].
pub(crate) async fn record_deployment(pools: &DbPools, context: &Context, deployment: &NewDeployment) -> Result<()> {
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let recorded: Option<i64> = sqlx::query_scalar(
        "INSERT INTO deployments (environment_id, resource, pipeline_id, run_id, job_id, attempt, stage, job, \
         strategy, commit_sha, branch, triggered_by, queued_at, artifacts, changes) \
         SELECT $1, $2, r.pipeline_id, r.id, j.id, j.attempt + 1, $5, $6, $7, r.commit_sha, r.branch, $8, $9, $10, $11 \
         FROM jobs j JOIN runs r ON r.id = j.run_id WHERE j.id = $4 AND r.id = $3 \
         AND NOT EXISTS (SELECT 1 FROM deployments d WHERE d.job_id = $4 AND d.finished_at IS NULL) RETURNING id",
    )
    .bind(deployment.environment.0)
    .bind(deployment.resource.as_deref())
    .bind(deployment.run.0)
    .bind(deployment.job.0)
    .bind(&deployment.stage)
    .bind(&deployment.job_name)
    .bind(&deployment.strategy)
    .bind(&deployment.triggered_by)
    .bind(now.millis())
    .bind(to_json("deployment artifacts", &deployment.artifacts)?)
    .bind(deployment.changes.as_ref().map(|changes| to_json("deployment changes", changes)).transpose()?)
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(id) = recorded {
        record_change(&mut transaction, ChangeKind::DeploymentQueued, id, now, &serde_json::json!({})).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::finish_deployment`].
pub(crate) async fn finish_deployment(
    pools: &DbPools,
    context: &Context,
    job: JobId,
    result: TaskResult,
) -> Result<()> {
    // The deployment started when its job did; while it runs that is read from the job, which is
    // why it is kept only once the deployment ends (a re-run starts the job again).
    let now = context.now();
    let mut transaction = pools.writer.begin().await?;
    let finished: Vec<i64> = sqlx::query_scalar(
        "UPDATE deployments SET finished_at = $2, result = $3, \
         started_at = (SELECT j.started_at FROM jobs j WHERE j.id = $1), \
         outcome = CASE WHEN outcome IS NULL AND $3 IN ('Failed', 'Canceled') THEN 'failed' ELSE outcome END \
         WHERE job_id = $1 AND finished_at IS NULL RETURNING id",
    )
    .bind(job.0)
    .bind(now.millis())
    .bind(result_text(Some(result)))
    .fetch_all(&mut *transaction)
    .await?;
    for id in finished {
        let details = serde_json::json!({ "result": result.as_str() });
        record_change(&mut transaction, ChangeKind::DeploymentFinished, id, now, &details).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::deployment`].
pub(crate) async fn deployment(pools: &DbPools, _context: &Context, id: DeploymentId) -> Result<Deployment> {
    let row = sqlx::query(concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d JOIN pipelines p ON p.id = d.pipeline_id JOIN runs r ON r.id = d.run_id WHERE d.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&pools.reader)
    .await?
    .ok_or_else(|| StoreError::not_found("deployment", id.0))?;
    read_row::<DeploymentRow>(&row).and_then(DeploymentRow::into_deployment)
}

/// Implements [`crate::Store::job_deployment`].
pub(crate) async fn job_deployment(pools: &DbPools, _context: &Context, job: JobId) -> Result<Option<Deployment>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d JOIN pipelines p ON p.id = d.pipeline_id JOIN runs r ON r.id = d.run_id \
         WHERE d.job_id = $1 ORDER BY d.id DESC LIMIT 1"
    ))
    .bind(job.0)
    .fetch_optional(&pools.reader)
    .await?;
    row.as_ref().map(|row| read_row::<DeploymentRow>(row).and_then(DeploymentRow::into_deployment)).transpose()
}

/// Implements [`crate::Store::set_deployment_outcome`].
pub(crate) async fn set_deployment_outcome(
    pools: &DbPools,
    context: &Context,
    job: JobId,
    outcome: &str,
    detail: Option<&str>,
    analysis: Option<AnalysisRunId>,
) -> Result<()> {
    // The job's latest deployment (a re-run of the job records a new one).
    let mut transaction = pools.writer.begin().await?;
    let changed: Option<i64> = sqlx::query_scalar(
        "UPDATE deployments SET outcome = $2, outcome_detail = $3, analysis_run_id = $4 \
         WHERE id = (SELECT MAX(id) FROM deployments WHERE job_id = $1) RETURNING id",
    )
    .bind(job.0)
    .bind(outcome)
    .bind(detail)
    .bind(analysis.map(|id| id.0))
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(id) = changed {
        let details = serde_json::json!({ "outcome": outcome, "detail": detail });
        record_change(&mut transaction, ChangeKind::DeploymentOutcome, id, context.now(), &details).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Implements [`crate::Store::list_deployments`].
pub(crate) async fn list_deployments(
    pools: &DbPools,
    _context: &Context,
    environment: EnvironmentId,
    before: Option<DeploymentId>,
    limit: i64,
) -> Result<Vec<Deployment>> {
    sqlx::query(concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d JOIN pipelines p ON p.id = d.pipeline_id JOIN runs r ON r.id = d.run_id \
         WHERE d.environment_id = $1 AND ($2 IS NULL OR d.id < $2) ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(environment.0)
    .bind(before.map(|id| id.0))
    .bind(limit.clamp(0, 1000))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(|row| read_row::<DeploymentRow>(row).and_then(DeploymentRow::into_deployment))
    .collect()
}

/// Implements [`crate::Store::deployment_facts`].
pub(crate) async fn deployment_facts(
    pools: &DbPools,
    _context: &Context,
    environment: EnvironmentId,
    queued_since: Timestamp,
) -> Result<Vec<DeploymentFacts>> {
    type FactsRow = (i64, Option<String>, i64, Option<i64>, Option<String>, Option<String>, Option<String>);
    let rows: Vec<FactsRow> = sqlx::query_as(
        "SELECT id, resource, queued_at, finished_at, result, outcome, changes FROM deployments \
         WHERE environment_id = $1 AND queued_at >= $2 ORDER BY id DESC",
    )
    .bind(environment.0)
    .bind(queued_since.millis())
    .fetch_all(&pools.reader)
    .await?;
    rows.into_iter()
        .map(|(id, resource, queued_at, finished_at, result, outcome, changes)| {
            Ok(DeploymentFacts {
                id: DeploymentId(id),
                resource,
                queued_at: Timestamp(queued_at),
                finished_at: finished_at.map(Timestamp),
                result: parse_result(result)?,
                outcome,
                changes: changes.as_deref().map(|text| from_json("changes", text)).transpose()?,
            })
        })
        .collect()
}

/// Implements [`crate::Store::successful_deployments`].
pub(crate) async fn successful_deployments(
    pools: &DbPools,
    _context: &Context,
    environment: EnvironmentId,
    limit: i64,
) -> Result<Vec<Deployment>> {
    sqlx::query(concat!(
        "SELECT ",
        deployment_columns!(),
        " FROM deployments d JOIN pipelines p ON p.id = d.pipeline_id JOIN runs r ON r.id = d.run_id \
         WHERE d.environment_id = $1 AND d.result IN ('Succeeded', 'SucceededWithIssues') \
         ORDER BY d.finished_at DESC, d.id DESC LIMIT $2"
    ))
    .bind(environment.0)
    .bind(limit.clamp(0, 10_000))
    .fetch_all(&pools.reader)
    .await?
    .iter()
    .map(|row| read_row::<DeploymentRow>(row).and_then(DeploymentRow::into_deployment))
    .collect()
}

// ----- checkpoints and their checks -----

macro_rules! checkpoint_columns {
    () => {
        "id, run_id, stage, state, message, created_at, finished_at"
    };
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    id: i64,
    run_id: i64,
    stage: String,
    state: String,
    message: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

macro_rules! check_run_columns {
    () => {
        "c.id, c.checkpoint_id, c.check_id, c.resource_type, c.resource_key, c.resource_name, c.kind, c.settings, \
         c.timeout_minutes, c.state, c.message, c.created_at, c.finished_at, c.next_at"
    };
}

#[derive(sqlx::FromRow)]
struct CheckRunRow {
    id: i64,
    checkpoint_id: i64,
    check_id: Option<i64>,
    resource_type: String,
    resource_key: String,
    resource_name: String,
    kind: String,
    settings: String,
    timeout_minutes: i64,
    state: String,
    message: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
    next_at: Option<i64>,
}

impl CheckRunRow {
    fn into_check_run(self, decisions: Vec<ApprovalDecision>) -> Result<CheckRun> {
        Ok(CheckRun {
            id: CheckRunId(self.id),
            checkpoint: CheckpointId(self.checkpoint_id),
            check: self.check_id.map(CheckId),
            resource: ProtectedResource::parse(&self.resource_type, &self.resource_key)?,
            resource_name: self.resource_name,
            kind: self.kind,
            settings: from_json("settings", &self.settings)?,
            timeout_minutes: u32::try_from(self.timeout_minutes).unwrap_or(u32::MAX),
            state: CheckRunState::parse(&self.state)?,
            message: self.message,
            created_at: Timestamp(self.created_at),
            finished_at: self.finished_at.map(Timestamp),
            next_at: self.next_at.map(Timestamp),
            decisions,
        })
    }
}

async fn decisions_of(connection: &mut DbConnection, check_run: i64) -> Result<Vec<ApprovalDecision>> {
    let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT user_name, status, comment, decided_at, effective_at FROM approval_decisions \
         WHERE check_run_id = $1 ORDER BY decided_at, user_name",
    )
    .bind(check_run)
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, status, comment, decided_at, effective_at)| ApprovalDecision {
            user,
            status,
            comment,
            decided_at: Timestamp(decided_at),
            effective_at: Timestamp(effective_at),
        })
        .collect())
}

async fn check_runs_of(connection: &mut DbConnection, checkpoint: i64) -> Result<Vec<CheckRun>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        check_run_columns!(),
        " FROM check_runs c WHERE c.checkpoint_id = $1 ORDER BY c.position"
    ))
    .bind(checkpoint)
    .fetch_all(&mut *connection)
    .await?;
    let mut checks = Vec::with_capacity(rows.len());
    for row in &rows {
        let row = read_row::<CheckRunRow>(row)?;
        let decisions = if row.kind == "approval" { decisions_of(connection, row.id).await? } else { Vec::new() };
        checks.push(row.into_check_run(decisions)?);
    }
    Ok(checks)
}

async fn load_checkpoint(connection: &mut DbConnection, row: CheckpointRow) -> Result<Checkpoint> {
    let checks = check_runs_of(connection, row.id).await?;
    Ok(Checkpoint {
        id: CheckpointId(row.id),
        run: RunId(row.run_id),
        stage: row.stage,
        state: CheckpointState::parse(&row.state)?,
        message: row.message,
        created_at: Timestamp(row.created_at),
        finished_at: row.finished_at.map(Timestamp),
        checks,
    })
}

async fn current_checkpoint(connection: &mut DbConnection, run: RunId, stage: &str) -> Result<Option<Checkpoint>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        checkpoint_columns!(),
        " FROM checkpoints WHERE run_id = $1 AND stage = $2 AND NOT superseded"
    ))
    .bind(run.0)
    .bind(stage)
    .fetch_optional(&mut *connection)
    .await?;
    match row {
        Some(row) => Ok(Some(load_checkpoint(connection, read_row::<CheckpointRow>(&row)?).await?)),
        None => Ok(None),
    }
}

/// Implements [`crate::Store::open_checkpoint`].
pub(crate) async fn open_checkpoint(
    pools: &DbPools,
    context: &Context,
    run: RunId,
    stage: &str,
    checks: &[NewCheckRun],
) -> Result<Checkpoint> {
    let mut transaction = pools.writer.begin().await?;
    if let Some(existing) = current_checkpoint(&mut transaction, run, stage).await? {
        return Ok(existing);
    }
    let now = context.now().millis();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO checkpoints (run_id, stage, state, created_at) VALUES ($1, $2, 'waiting', $3) RETURNING id",
    )
    .bind(run.0)
    .bind(stage)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await?;
    for (position, check) in checks.iter().enumerate() {
        let check_run: i64 = sqlx::query_scalar(
            "INSERT INTO check_runs (checkpoint_id, position, check_id, resource_type, resource_key, resource_name, \
             kind, settings, timeout_minutes, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) RETURNING id",
        )
        .bind(id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(check.check.0)
        .bind(check.resource.kind())
        .bind(check.resource.key())
        .bind(&check.resource_name)
        .bind(&check.kind)
        .bind(to_json("check settings", &check.settings)?)
        .bind(i64::from(check.timeout_minutes))
        .bind(now)
        .fetch_one(&mut *transaction)
        .await?;
        if check.kind == "approval" {
            let details = serde_json::json!({ "run": run.0, "stage": stage, "resource": check.resource_name });
            record_change(&mut transaction, ChangeKind::ApprovalRequested, check_run, Timestamp(now), &details).await?;
        }
    }
    let created = current_checkpoint(&mut transaction, run, stage).await?;
    transaction.commit().await?;
    created.ok_or_else(|| StoreError::not_found("checkpoint", format!("{}/{stage}", run.0)))
}

/// Implements [`crate::Store::checkpoint`].
pub(crate) async fn checkpoint(
    pools: &DbPools,
    _context: &Context,
    run: RunId,
    stage: &str,
) -> Result<Option<Checkpoint>> {
    let mut connection = pools.reader.acquire().await?;
    current_checkpoint(&mut connection, run, stage).await
}

/// Implements [`crate::Store::checkpoints_of_run`].
pub(crate) async fn checkpoints_of_run(pools: &DbPools, _context: &Context, run: RunId) -> Result<Vec<Checkpoint>> {
    let mut connection = pools.reader.acquire().await?;
    let rows =
        sqlx::query(concat!("SELECT ", checkpoint_columns!(), " FROM checkpoints WHERE run_id = $1 ORDER BY id"))
            .bind(run.0)
            .fetch_all(&mut *connection)
            .await?;
    let mut checkpoints = Vec::with_capacity(rows.len());
    for row in &rows {
        checkpoints.push(load_checkpoint(&mut connection, read_row::<CheckpointRow>(row)?).await?);
    }
    Ok(checkpoints)
}

/// Implements [`crate::Store::update_check_run`].
pub(crate) async fn update_check_run(
    pools: &DbPools,
    context: &Context,
    check: CheckRunId,
    state: CheckRunState,
    message: Option<&str>,
    next_at: Option<Timestamp>,
) -> Result<bool> {
    let finished = state.is_final().then(|| context.now().millis());
    let updated = sqlx::query(
        "UPDATE check_runs SET state = $2, message = $3, next_at = $4, finished_at = $5 \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(check.0)
    .bind(state.as_str())
    .bind(message)
    .bind(next_at.map(|at| at.0))
    .bind(finished)
    .execute(&pools.writer)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Implements [`crate::Store::finish_checkpoint`].
pub(crate) async fn finish_checkpoint(
    pools: &DbPools,
    context: &Context,
    checkpoint: CheckpointId,
    state: CheckpointState,
    message: Option<&str>,
) -> Result<bool> {
    let mut transaction = pools.writer.begin().await?;
    let now = context.now().millis();
    let updated = sqlx::query(
        "UPDATE checkpoints SET state = $2, message = $3, finished_at = $4 WHERE id = $1 AND state = 'waiting'",
    )
    .bind(checkpoint.0)
    .bind(state.as_str())
    .bind(message)
    .bind(now)
    .execute(&mut *transaction)
    .await?;
    if updated.rows_affected() == 1 {
        // What was still undecided is no longer waited for.
        sqlx::query(
            "UPDATE check_runs SET state = 'canceled', finished_at = $2 WHERE checkpoint_id = $1 AND state = 'pending'",
        )
        .bind(checkpoint.0)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    transaction.commit().await?;
    Ok(updated.rows_affected() == 1)
}

/// Implements [`crate::Store::cancel_waiting_checkpoints`].
pub(crate) async fn cancel_waiting_checkpoints(
    pools: &DbPools,
    context: &Context,
    run: RunId,
    message: &str,
) -> Result<()> {
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM checkpoints WHERE run_id = $1 AND state = 'waiting'")
        .bind(run.0)
        .fetch_all(&pools.writer)
        .await?;
    for (id,) in ids {
        finish_checkpoint(pools, context, CheckpointId(id), CheckpointState::Canceled, Some(message)).await?;
    }
    Ok(())
}

// ----- approvals -----

macro_rules! approval_columns {
    () => {
        "k.run_id, r.run_number, r.requested_by, k.stage, r.pipeline_id, p.name AS pipeline_name"
    };
}

/// A row of `check_run_columns!()` and `approval_columns!()`.
#[derive(sqlx::FromRow)]
struct ApprovalRow {
    #[sqlx(flatten)]
    check: CheckRunRow,
    run_id: i64,
    run_number: String,
    requested_by: Option<String>,
    stage: String,
    pipeline_id: i64,
    pipeline_name: String,
}

async fn read_approvals(connection: &mut DbConnection, rows: &[super::common::DbRow]) -> Result<Vec<Approval>> {
    let mut approvals = Vec::with_capacity(rows.len());
    for row in rows {
        let row = read_row::<ApprovalRow>(row)?;
        let decisions = decisions_of(connection, row.check.id).await?;
        approvals.push(Approval {
            check: row.check.into_check_run(decisions)?,
            run: RunId(row.run_id),
            run_number: row.run_number,
            requested_by: row.requested_by,
            stage: row.stage,
            pipeline: PipelineId(row.pipeline_id),
            pipeline_name: row.pipeline_name,
        });
    }
    Ok(approvals)
}

/// Implements [`crate::Store::list_approvals`].
pub(crate) async fn list_approvals(
    pools: &DbPools,
    _context: &Context,
    state: Option<CheckRunState>,
    limit: i64,
) -> Result<Vec<Approval>> {
    let mut connection = pools.reader.acquire().await?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        check_run_columns!(),
        ", ",
        approval_columns!(),
        " FROM check_runs c JOIN checkpoints k ON k.id = c.checkpoint_id JOIN runs r ON r.id = k.run_id \
         JOIN pipelines p ON p.id = r.pipeline_id WHERE c.kind = 'approval' AND ($1 IS NULL OR c.state = $1) \
         ORDER BY c.id DESC LIMIT $2"
    ))
    .bind(state.map(CheckRunState::as_str))
    .bind(limit.clamp(0, 1000))
    .fetch_all(&mut *connection)
    .await?;
    read_approvals(&mut connection, &rows).await
}

/// Implements [`crate::Store::approval`].
pub(crate) async fn approval(pools: &DbPools, _context: &Context, id: CheckRunId) -> Result<Approval> {
    let mut connection = pools.reader.acquire().await?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        check_run_columns!(),
        ", ",
        approval_columns!(),
        " FROM check_runs c JOIN checkpoints k ON k.id = c.checkpoint_id JOIN runs r ON r.id = k.run_id \
         JOIN pipelines p ON p.id = r.pipeline_id WHERE c.kind = 'approval' AND c.id = $1"
    ))
    .bind(id.0)
    .fetch_all(&mut *connection)
    .await?;
    read_approvals(&mut connection, &rows).await?.pop().ok_or_else(|| StoreError::not_found("approval", id.0))
}

/// Implements [`crate::Store::decide_approval`].
pub(crate) async fn decide_approval(
    pools: &DbPools,
    context: &Context,
    id: CheckRunId,
    decision: &ApprovalDecision,
) -> Result<()> {
    let mut transaction = pools.writer.begin().await?;
    let found: Option<(String, String)> = sqlx::query_as("SELECT kind, state FROM check_runs WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *transaction)
        .await?;
    let Some((_, state)) = found.filter(|(kind, _)| kind == "approval") else {
        return Err(StoreError::not_found("approval", id.0));
    };
    if state != CheckRunState::Pending.as_str() {
        return Err(StoreError::InvalidState { entity: "approval", id: id.0, state, action: "decide it" });
    }
    sqlx::query(
        "INSERT INTO approval_decisions (check_run_id, user_name, status, comment, decided_at, effective_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(&decision.user)
    .bind(&decision.status)
    .bind(&decision.comment)
    .bind(context.now().millis())
    .bind(decision.effective_at.0)
    .execute(&mut *transaction)
    .await
    .map_err(conflict_or("decision of", &decision.user))?;
    let details = serde_json::json!({ "user": decision.user, "status": decision.status, "comment": decision.comment });
    record_change(&mut transaction, ChangeKind::ApprovalDecided, id.0, context.now(), &details).await?;
    transaction.commit().await?;
    Ok(())
}

// ----- exclusive locks -----

/// Implements [`crate::Store::pending_lock_requests`].
pub(crate) async fn pending_lock_requests(
    pools: &DbPools,
    _context: &Context,
    resource: &ProtectedResource,
) -> Result<Vec<(CheckpointId, RunId, String)>> {
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT k.id, k.run_id, k.stage FROM check_runs c JOIN checkpoints k ON k.id = c.checkpoint_id \
         WHERE c.kind = 'exclusiveLock' AND c.state = 'pending' AND c.resource_type = $1 AND c.resource_key = $2 \
         AND k.state = 'waiting' ORDER BY k.id",
    )
    .bind(resource.kind())
    .bind(resource.key())
    .fetch_all(&pools.reader)
    .await?;
    Ok(rows.into_iter().map(|(checkpoint, run, stage)| (CheckpointId(checkpoint), RunId(run), stage)).collect())
}

/// Implements [`crate::Store::lock_holder`].
pub(crate) async fn lock_holder(
    pools: &DbPools,
    _context: &Context,
    resource: &ProtectedResource,
) -> Result<Option<(CheckpointId, RunId, String)>> {
    let row: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT checkpoint_id, run_id, stage FROM resource_locks WHERE resource_type = $1 AND resource_key = $2",
    )
    .bind(resource.kind())
    .bind(resource.key())
    .fetch_optional(&pools.reader)
    .await?;
    Ok(row.map(|(checkpoint, run, stage)| (CheckpointId(checkpoint), RunId(run), stage)))
}

/// Implements [`crate::Store::acquire_lock`].
pub(crate) async fn acquire_lock(
    pools: &DbPools,
    context: &Context,
    resource: &ProtectedResource,
    checkpoint: CheckpointId,
    run: RunId,
    stage: &str,
) -> Result<bool> {
    let mut connection = pools.writer.acquire().await?;
    sqlx::query(
        "INSERT INTO resource_locks (resource_type, resource_key, checkpoint_id, run_id, stage, acquired_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (resource_type, resource_key) DO NOTHING",
    )
    .bind(resource.kind())
    .bind(resource.key())
    .bind(checkpoint.0)
    .bind(run.0)
    .bind(stage)
    .bind(context.now().millis())
    .execute(&mut *connection)
    .await?;
    let (holder,): (i64,) =
        sqlx::query_as("SELECT checkpoint_id FROM resource_locks WHERE resource_type = $1 AND resource_key = $2")
            .bind(resource.kind())
            .bind(resource.key())
            .fetch_one(&mut *connection)
            .await?;
    Ok(holder == checkpoint.0)
}

/// Implements [`crate::Store::release_locks`].
pub(crate) async fn release_locks(pools: &DbPools, _context: &Context, run: RunId, stage: Option<&str>) -> Result<()> {
    sqlx::query("DELETE FROM resource_locks WHERE run_id = $1 AND ($2 IS NULL OR stage = $2)")
        .bind(run.0)
        .bind(stage)
        .execute(&pools.writer)
        .await?;
    Ok(())
}
