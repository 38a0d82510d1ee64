//! Variables and secrets: pipeline variables, variable groups and jobs' output variables, secret
//! values sealed with the store's key.

use super::common::{DbConnection, DbPools, read_row, require_name};
use super::jobs::lock_leased_job;
use crate::error::{Result, StoreError, conflict_or};
use crate::model::{LeaseToken, ListedVariable, Timestamp, VariableGroup, VariableGroupId, VariableValue};
use crate::store::Context;
use crate::store::VariableScope;

// ----- variables of pipelines, groups and jobs -----

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
    let rows: Vec<(String, bool, Option<String>)> = sqlx::query(sql)
        .bind(owner)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(read_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(name, is_secret, value)| ListedVariable { name, is_secret, value: if is_secret { None } else { value } })
        .collect())
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

/// A variable with its value, plain or sealed.
#[derive(sqlx::FromRow)]
struct VariableRow {
    name: String,
    is_secret: bool,
    value: Option<String>,
    sealed: Option<Vec<u8>>,
}

/// Implements the methods of [`crate::Store`] that return variables with secrets decrypted.
pub(crate) async fn variable_values(
    pools: &DbPools,
    context: &Context,
    scope: VariableScope,
    owner: i64,
) -> Result<Vec<VariableValue>> {
    let sql = variable_sql!(scope, "SELECT name, is_secret, value, sealed FROM ", " WHERE owner_id = $1 ORDER BY name");
    let rows = sqlx::query(sql)
        .bind(owner)
        .fetch_all(&pools.reader)
        .await?
        .iter()
        .map(read_row::<VariableRow>)
        .collect::<Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|VariableRow { name, is_secret, value, sealed }| {
            let value = if is_secret {
                let opened = sealed
                    .and_then(|sealed| context.key.open(&scope.seal_context(owner, &name), &sealed))
                    .ok_or_else(|| StoreError::Decryption(format!("{} {owner} variable {name}", scope.name())))?;
                String::from_utf8(opened)
                    .map_err(|_| StoreError::Decryption(format!("{} {owner} variable {name}", scope.name())))?
            } else {
                value.unwrap_or_default()
            };
            Ok(VariableValue { name, value, is_secret })
        })
        .collect()
}

// ----- variable groups -----

/// The columns of `variable_groups` read into a [`GroupRow`], one per field.
macro_rules! group_columns {
    () => {
        "id, name, description, created_at, updated_at"
    };
}

/// A row of `group_columns!()`.
#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    name: String,
    description: String,
    created_at: i64,
    updated_at: i64,
}

impl GroupRow {
    /// The group, with its variables listed.
    async fn into_group(self, connection: &mut DbConnection) -> Result<VariableGroup> {
        Ok(VariableGroup {
            id: VariableGroupId(self.id),
            name: self.name,
            description: self.description,
            variables: listed_variables(connection, VariableScope::Group, self.id).await?,
            created_at: Timestamp(self.created_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
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
    let row = sqlx::query(concat!(
        "INSERT INTO variable_groups (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING ",
        group_columns!()
    ))
    .bind(name)
    .bind(description)
    .bind(context.now().millis())
    .fetch_one(&mut *transaction)
    .await
    .map_err(conflict_or("variable group", name))?;
    let group = read_row::<GroupRow>(&row)?.into_group(&mut transaction).await?;
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
    let mut transaction = pools.writer.begin().await?;
    let deleted =
        sqlx::query("DELETE FROM variable_groups WHERE id = $1").bind(group.0).execute(&mut *transaction).await?;
    // The checks on it go with it.
    super::environments::delete_resource_checks(
        &mut transaction,
        &crate::model::ProtectedResource::VariableGroup(group),
    )
    .await?;
    transaction.commit().await?;
    Ok(deleted.rows_affected() > 0)
}

/// Implements [`crate::Store::list_variable_groups`].
pub(crate) async fn list_variable_groups(pools: &DbPools, _context: &Context) -> Result<Vec<VariableGroup>> {
    let mut connection = pools.reader.acquire().await?;
    let rows = sqlx::query(concat!("SELECT ", group_columns!(), " FROM variable_groups ORDER BY name"))
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(read_row::<GroupRow>)
        .collect::<Result<Vec<_>>>()?;
    let mut groups = Vec::with_capacity(rows.len());
    for row in rows {
        groups.push(row.into_group(&mut connection).await?);
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
    let row = sqlx::query(concat!("SELECT ", group_columns!(), " FROM variable_groups WHERE name = $1"))
        .bind(name)
        .fetch_optional(&mut *connection)
        .await?
        .as_ref()
        .map(read_row::<GroupRow>)
        .transpose()?;
    match row {
        Some(row) => Ok(Some(row.into_group(&mut connection).await?)),
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

// ----- jobs' output variables -----

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
