//! Services in environments and their slots (the traffic router's configuration).

use super::common::{DbConnection, DbPools, read_row, require_name};
use super::common::{from_json, to_json};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{
    AnalysisRun, AnalysisRunId, EnvironmentId, JobId, NewAnalysisRun, RunId, Service, ServiceId, ServiceSlot, Timestamp,
};
use crate::store::Context;

macro_rules! service_columns {
    () => {
        "id, environment_id, name, listen, provider, created_by, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    environment_id: i64,
    name: String,
    listen: String,
    provider: String,
    created_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

async fn slots_of(connection: &mut DbConnection, service: i64) -> Result<Vec<ServiceSlot>> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT name, upstream, weight, updated_at FROM service_slots WHERE service_id = $1 ORDER BY name",
    )
    .bind(service)
    .fetch_all(&mut *connection)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, upstream, weight, updated_at)| ServiceSlot {
            name,
            upstream,
            weight: u32::try_from(weight).unwrap_or(0),
            updated_at: Timestamp(updated_at),
        })
        .collect())
}

async fn load(connection: &mut DbConnection, row: ServiceRow) -> Result<Service> {
    let slots = slots_of(connection, row.id).await?;
    Ok(Service {
        id: ServiceId(row.id),
        environment: EnvironmentId(row.environment_id),
        name: row.name,
        listen: row.listen,
        provider: row.provider,
        slots,
        created_by: row.created_by,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

async fn load_all(connection: &mut DbConnection, rows: Vec<super::common::DbRow>) -> Result<Vec<Service>> {
    let mut services = Vec::with_capacity(rows.len());
    for row in &rows {
        services.push(load(connection, read_row::<ServiceRow>(row)?).await?);
    }
    Ok(services)
}

/// Implements [`crate::Store::create_service`].
pub(crate) async fn create_service(
    pools: &DbPools,
    context: &Context,
    environment: EnvironmentId,
    name: &str,
    listen: &str,
    provider: &str,
    created_by: Option<&str>,
) -> Result<Service> {
    require_name("service name", name)?;
    let mut connection = pools.writer.acquire().await?;
    let now = context.now().millis();
    let row = sqlx::query(concat!(
        "INSERT INTO services (environment_id, name, name_key, listen, provider, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING ",
        service_columns!()
    ))
    .bind(environment.0)
    .bind(name.trim())
    .bind(name.trim().to_lowercase())
    .bind(listen)
    .bind(provider)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *connection)
    .await
    .map_err(conflict_or("service", name))?;
    load(&mut connection, read_row::<ServiceRow>(&row)?).await
}

/// Implements [`crate::Store::services`].
pub(crate) async fn services(
    pools: &DbPools,
    _context: &Context,
    environment: Option<EnvironmentId>,
) -> Result<Vec<Service>> {
    let mut connection = pools.reader.acquire().await?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        service_columns!(),
        " FROM services WHERE ($1 IS NULL OR environment_id = $1) ORDER BY environment_id, name_key"
    ))
    .bind(environment.map(|id| id.0))
    .fetch_all(&mut *connection)
    .await?;
    load_all(&mut connection, rows).await
}

/// Implements [`crate::Store::service`].
pub(crate) async fn service(
    pools: &DbPools,
    _context: &Context,
    environment: EnvironmentId,
    name: &str,
) -> Result<Service> {
    let mut connection = pools.reader.acquire().await?;
    let row = sqlx::query(concat!(
        "SELECT ",
        service_columns!(),
        " FROM services WHERE environment_id = $1 AND name_key = $2"
    ))
    .bind(environment.0)
    .bind(name.trim().to_lowercase())
    .fetch_optional(&mut *connection)
    .await?
    .ok_or_else(|| StoreError::not_found("service", name))?;
    load(&mut connection, read_row::<ServiceRow>(&row)?).await
}

/// Implements [`crate::Store::delete_service`].
pub(crate) async fn delete_service(pools: &DbPools, _context: &Context, service: ServiceId) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM services WHERE id = $1").bind(service.0).execute(&pools.writer).await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::not_found("service", service.0));
    }
    Ok(())
}

/// Implements [`crate::Store::set_slots`].
pub(crate) async fn set_slots(
    pools: &DbPools,
    context: &Context,
    service: ServiceId,
    slots: &[(String, String, u32)],
    remove: &[String],
) -> Result<Service> {
    let mut transaction = pools.writer.begin().await?;
    let now = context.now().millis();
    for (name, upstream, weight) in slots {
        sqlx::query(
            "INSERT INTO service_slots (service_id, name, upstream, weight, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (service_id, name) DO UPDATE SET upstream = excluded.upstream, weight = excluded.weight, \
             updated_at = excluded.updated_at",
        )
        .bind(service.0)
        .bind(name)
        .bind(upstream)
        .bind(i64::from(*weight))
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    }
    for name in remove {
        sqlx::query("DELETE FROM service_slots WHERE service_id = $1 AND name = $2")
            .bind(service.0)
            .bind(name)
            .execute(&mut *transaction)
            .await?;
    }
    let row = sqlx::query(concat!("UPDATE services SET updated_at = $2 WHERE id = $1 RETURNING ", service_columns!()))
        .bind(service.0)
        .bind(now)
        .fetch_optional(&mut *transaction)
        .await?
        .ok_or_else(|| StoreError::not_found("service", service.0))?;
    let updated = load(&mut transaction, read_row::<ServiceRow>(&row)?).await?;
    transaction.commit().await?;
    Ok(updated)
}

// ----- analysis runs -----

macro_rules! analysis_columns {
    () => {
        "id, service_id, job_id, run_id, template_name, template, load, phase, message, measurements, started_at, \
         updated_at, finished_at"
    };
}

#[derive(sqlx::FromRow)]
struct AnalysisRow {
    id: i64,
    service_id: i64,
    job_id: Option<i64>,
    run_id: Option<i64>,
    template_name: String,
    template: String,
    load: Option<String>,
    phase: String,
    message: Option<String>,
    measurements: String,
    started_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
}

impl AnalysisRow {
    fn into_run(self) -> Result<AnalysisRun> {
        Ok(AnalysisRun {
            id: AnalysisRunId(self.id),
            service: ServiceId(self.service_id),
            job: self.job_id.map(JobId),
            run: self.run_id.map(RunId),
            template_name: self.template_name,
            template: from_json("analysis template", &self.template)?,
            load: self.load.as_deref().map(|text| from_json("analysis load", text)).transpose()?,
            phase: self.phase,
            message: self.message,
            measurements: from_json("analysis measurements", &self.measurements)?,
            started_at: Timestamp(self.started_at),
            updated_at: Timestamp(self.updated_at),
            finished_at: self.finished_at.map(Timestamp),
        })
    }
}

fn analysis_rows(rows: &[super::common::DbRow]) -> Result<Vec<AnalysisRun>> {
    rows.iter().map(|row| read_row::<AnalysisRow>(row).and_then(AnalysisRow::into_run)).collect()
}

/// Implements [`crate::Store::create_analysis_run`].
pub(crate) async fn create_analysis_run(
    pools: &DbPools,
    context: &Context,
    new: &NewAnalysisRun,
) -> Result<AnalysisRun> {
    let now = context.now().millis();
    let row = sqlx::query(concat!(
        "INSERT INTO analysis_runs (service_id, job_id, run_id, template_name, template, load, phase, measurements, \
         started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'Running', '{}', $7, $7) RETURNING ",
        analysis_columns!()
    ))
    .bind(new.service.0)
    .bind(new.job.map(|job| job.0))
    .bind(new.run.map(|run| run.0))
    .bind(&new.template_name)
    .bind(to_json("analysis template", &new.template)?)
    .bind(new.load.as_ref().map(|load| to_json("analysis load", load)).transpose()?)
    .bind(now)
    .fetch_one(&pools.writer)
    .await
    .map_err(|error| match error {
        sqlx::Error::Database(ref database) if database.is_foreign_key_violation() => {
            StoreError::not_found("service", new.service.0)
        }
        other => other.into(),
    })?;
    read_row::<AnalysisRow>(&row)?.into_run()
}

/// Implements [`crate::Store::analysis_run`].
pub(crate) async fn analysis_run(pools: &DbPools, _context: &Context, id: AnalysisRunId) -> Result<AnalysisRun> {
    let row = sqlx::query(concat!("SELECT ", analysis_columns!(), " FROM analysis_runs WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&pools.reader)
        .await?
        .ok_or_else(|| StoreError::not_found("analysis run", id.0))?;
    read_row::<AnalysisRow>(&row)?.into_run()
}

/// Implements [`crate::Store::unfinished_analysis_runs`].
pub(crate) async fn unfinished_analysis_runs(pools: &DbPools, _context: &Context) -> Result<Vec<AnalysisRun>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        analysis_columns!(),
        " FROM analysis_runs WHERE finished_at IS NULL ORDER BY id"
    ))
    .fetch_all(&pools.reader)
    .await?;
    analysis_rows(&rows)
}

/// Implements [`crate::Store::service_analysis_runs`].
pub(crate) async fn service_analysis_runs(
    pools: &DbPools,
    _context: &Context,
    service: ServiceId,
    limit: i64,
) -> Result<Vec<AnalysisRun>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        analysis_columns!(),
        " FROM analysis_runs WHERE service_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(service.0)
    .bind(limit.clamp(0, 1000))
    .fetch_all(&pools.reader)
    .await?;
    analysis_rows(&rows)
}

/// Implements [`crate::Store::update_analysis_run`].
pub(crate) async fn update_analysis_run(
    pools: &DbPools,
    context: &Context,
    id: AnalysisRunId,
    phase: &str,
    message: Option<&str>,
    measurements: &serde_json::Value,
    finished: bool,
) -> Result<bool> {
    let now = context.now().millis();
    // An ended run does not change again (a restarted server may measure once more than needed).
    let updated = sqlx::query(
        "UPDATE analysis_runs SET phase = $2, message = $3, measurements = $4, updated_at = $5, \
         finished_at = CASE WHEN $6 THEN $5 ELSE NULL END WHERE id = $1 AND finished_at IS NULL",
    )
    .bind(id.0)
    .bind(phase)
    .bind(message)
    .bind(to_json("analysis measurements", measurements)?)
    .bind(now)
    .bind(finished)
    .execute(&pools.writer)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Implements [`crate::Store::decide_analysis_run`].
pub(crate) async fn decide_analysis_run(
    pools: &DbPools,
    context: &Context,
    id: AnalysisRunId,
    phase: &str,
    message: &str,
) -> Result<bool> {
    let now = context.now().millis();
    let updated = sqlx::query(
        "UPDATE analysis_runs SET phase = $2, message = $3, updated_at = $4 WHERE id = $1 AND phase = 'Inconclusive'",
    )
    .bind(id.0)
    .bind(phase)
    .bind(message)
    .bind(now)
    .execute(&pools.writer)
    .await?;
    Ok(updated.rows_affected() > 0)
}
