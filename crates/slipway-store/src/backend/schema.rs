//! The schema and the store's own records: migrating at open, the secret key check, the schema
//! version.

use std::collections::HashMap;

use super::common::{DbPools, read_row};
use super::{Db, POSTGRES};
use crate::clock::Clock;
use crate::crypto::sha256_hex;
use crate::error::{Result, StoreError};
use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS, POSTGRES_MIGRATION_LOCK};
use crate::store::Context;

/// The `store_meta` entry holding a value sealed with the secret key, and the context it is sealed with.
const SECRET_KEY_CHECK: &str = "secret_key_check";

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
    let applied: Vec<(i64, String)> = sqlx::query("SELECT version, checksum FROM slipway_migrations")
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
    let applied: HashMap<i64, String> = applied.into_iter().collect();
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
