//! The feature flags of environments: one flag document per environment.

use super::common::{DbConnection, DbPools};
use crate::error::{Result, StoreError};
use crate::model::{EnvironmentId, FlagDocumentRecord, Timestamp};
use crate::store::Context;

type FlagRow = (i64, String, i64, Option<String>, i64);

const COLUMNS: &str = "environment_id, document, revision, updated_by, updated_at";

fn record((environment, document, revision, updated_by, updated_at): FlagRow) -> FlagDocumentRecord {
    FlagDocumentRecord {
        environment: EnvironmentId(environment),
        document,
        revision,
        updated_by,
        updated_at: Timestamp(updated_at),
    }
}

async fn read(connection: &mut DbConnection, environment: EnvironmentId) -> Result<Option<FlagDocumentRecord>> {
    let row: Option<FlagRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM environment_flags WHERE environment_id = $1"))
            .bind(environment.0)
            .fetch_optional(&mut *connection)
            .await?;
    Ok(row.map(record))
}

/// Implements [`crate::Store::flag_document`].
pub(crate) async fn flag_document(
    pools: &DbPools,
    _context: &Context,
    environment: EnvironmentId,
) -> Result<Option<FlagDocumentRecord>> {
    let mut connection = pools.reader.acquire().await?;
    read(&mut connection, environment).await
}

/// Implements [`crate::Store::save_flag_document`]. Each case is one statement, so two writers
/// of the same revision cannot both succeed.
pub(crate) async fn save_flag_document(
    pools: &DbPools,
    context: &Context,
    environment: EnvironmentId,
    document: &str,
    expected_revision: Option<i64>,
    updated_by: Option<&str>,
) -> Result<FlagDocumentRecord> {
    let mut connection = pools.writer.acquire().await?;
    let now = context.now().millis();
    let saved: Option<FlagRow> = match expected_revision {
        None => {
            sqlx::query_as(&format!(
                "INSERT INTO environment_flags ({COLUMNS}) VALUES ($1, $2, 1, $3, $4) \
                 ON CONFLICT (environment_id) DO UPDATE SET document = excluded.document, \
                 revision = environment_flags.revision + 1, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at RETURNING {COLUMNS}"
            ))
            .bind(environment.0)
            .bind(document)
            .bind(updated_by)
            .bind(now)
            .fetch_optional(&mut *connection)
            .await?
        }
        Some(0) => {
            sqlx::query_as(&format!(
                "INSERT INTO environment_flags ({COLUMNS}) VALUES ($1, $2, 1, $3, $4) \
                 ON CONFLICT (environment_id) DO NOTHING RETURNING {COLUMNS}"
            ))
            .bind(environment.0)
            .bind(document)
            .bind(updated_by)
            .bind(now)
            .fetch_optional(&mut *connection)
            .await?
        }
        Some(expected) => {
            sqlx::query_as(&format!(
                "UPDATE environment_flags SET document = $2, revision = revision + 1, updated_by = $3, \
                 updated_at = $4 WHERE environment_id = $1 AND revision = $5 RETURNING {COLUMNS}"
            ))
            .bind(environment.0)
            .bind(document)
            .bind(updated_by)
            .bind(now)
            .bind(expected)
            .fetch_optional(&mut *connection)
            .await?
        }
    };
    match saved {
        Some(row) => Ok(record(row)),
        None => {
            let current = read(&mut connection, environment).await?.map_or(0, |record| record.revision);
            Err(StoreError::InvalidState {
                entity: "flag document of environment",
                id: environment.0,
                state: format!("at revision {current}"),
                action: "save it over another revision",
            })
        }
    }
}
