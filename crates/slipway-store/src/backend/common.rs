//! What every domain of the backend shares: the database's types, turning column values into the
//! model's (JSON text, counts) and checking names.
//!
//! Rows are read into private `…Row` structs that derive [`sqlx::FromRow`], one field per column
//! of the domain's column list, and then turned into the public model types (ids, timestamps,
//! parsed names and JSON) by their `into_…` method; a query that reads a few columns once reads
//! them as a tuple.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Db;
use crate::error::{Result, StoreError};
use crate::store::Pools;

/// A connection (or transaction) of this backend's database.
pub(super) type DbConnection = <Db as sqlx::Database>::Connection;

/// A row of the backend's database.
pub(super) type DbRow = <Db as sqlx::Database>::Row;

/// This backend's connections.
pub(super) type DbPools = Pools<Db>;

/// Parses the JSON text of a column into `T`; `column` names it in the error.
pub(super) fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| StoreError::corrupt(format!("column {column}: {error}")))
}

/// Reads a row into its row type. Rows are fetched with `sqlx::query` and read here rather than
/// with `sqlx::query_as`, whose `fetch_all` passes the rows one at a time through the driver's
/// stream: reading 200 runs took 12 µs a run that way and 7 µs this way (`bench/server.sh`'s
/// runs list was 15 % slower).
pub(super) fn read_row<T: for<'r> sqlx::FromRow<'r, DbRow>>(row: &DbRow) -> Result<T> {
    T::from_row(row).map_err(StoreError::from)
}

/// Writes `value` as JSON text for a column.
pub(super) fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::invalid(what, error.to_string()))
}

/// The value of an optional count column that must fit a `u32`; `column` names it in the error.
pub(super) fn to_u32(column: &str, value: Option<i64>) -> Result<Option<u32>> {
    value
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
