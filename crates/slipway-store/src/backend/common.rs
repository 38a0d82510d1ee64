//! What every domain of the backend shares: the database's types, reading columns (times, JSON,
//! counts) and checking names.

use sqlx::Row;

use super::Db;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::store::Pools;

pub(super) type DbRow = <Db as sqlx::Database>::Row;

pub(super) type DbConnection = <Db as sqlx::Database>::Connection;

pub(super) type DbPools = Pools<Db>;

/// Reads a time column.
pub(super) fn timestamp(row: &DbRow, column: &str) -> Result<Timestamp> {
    Ok(Timestamp(row.try_get::<i64, _>(column)?))
}

/// Reads a time column that may be NULL.
pub(super) fn optional_timestamp(row: &DbRow, column: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
}

/// Reads a JSON text column into `T`.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(row: &DbRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|error| StoreError::corrupt(format!("column {column}: {error}")))
}

/// Writes `value` as JSON text for a column.
pub(super) fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::invalid(what, error.to_string()))
}

/// Reads an optional count column that must fit a `u32`.
pub(super) fn optional_u32(row: &DbRow, column: &str) -> Result<Option<u32>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|value| u32::try_from(value).map_err(|_| StoreError::corrupt(format!("column {column}: {value}"))))
        .transpose()
}

/// Refuses an empty (or blank) name.
pub(super) fn require_name(what: &'static str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid(what, "it is empty"));
    }
    Ok(())
}
