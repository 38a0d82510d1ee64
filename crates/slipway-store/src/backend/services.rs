//! Services in environments and their slots (the traffic router's configuration).

use super::common::{DbConnection, DbPools, read_row, require_name};
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{EnvironmentId, Service, ServiceId, ServiceSlot, Timestamp};
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
