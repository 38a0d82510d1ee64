//! Pipeline variables, variable groups (Azure's Library) and secrets: their API, and what a run
//! gets from them.
//!
//! Values are kept by the store, secret ones encrypted; no route ever answers a secret value
//! (it is `null`). When a run starts, [`for_run`] gives the orchestrator:
//! - the pipeline's variables (the "pipeline settings" variables of Azure), put under the
//!   YAML's: as in Azure, a variable of the YAML (root, stage or job) overrides one of the same
//!   name set here;
//! - the variables of every group the YAML names (`- group: NAME` in any `variables:`), placed
//!   where the entry stands, so later entries override them; a group that does not exist fails
//!   the run, naming it;
//! - every secret value, for the run's masker, so that no log line shows one. Secrets reach the
//!   runtime as secret variables: masked, and not put in steps' environments (map them with
//!   `env:` as in Azure).
//!
//! Queue-time variables (`"variables"` in `POST /pipelines/{name}/runs`) follow a simple form of
//! Azure's "settable at queue time" rule: a run may set only variables that the pipeline's
//! settings define and that are not secret, and the value it gives replaces the pipeline
//! setting's for that run (a YAML variable of the same name still wins, as in Azure). Any other
//! name is refused with a 400 naming the variables that can be set.

use std::collections::BTreeMap;

use slipway_api::{CreateGroup, SetVariable, Variable, VariableGroup as ShownGroup};
use slipway_store::{Pipeline, PipelineId, Store, StoreError, UserRole, VariableGroup};

use crate::caller::Caller;
use crate::error::ServiceError;
use crate::{AppState, wire};

/// The longest variable group description.
const MAX_DESCRIPTION: usize = 1000;

/// Prefixes Azure reserves for the system's variables: a user's variable may not start with one.
const RESERVED_PREFIXES: &[&str] =
    &["system.", "build.", "agent.", "release.", "pipeline.", "endpoint", "input", "secret", "path", "securefile"];

/// Checks a variable name: Azure's letters, digits, `.` and `_` (1 to 100), not a reserved prefix.
///
/// # Errors
/// [`ServiceError::BadRequest`] saying why.
pub fn check_variable_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|character| character.is_ascii_alphanumeric() || character == '.' || character == '_');
    if !valid {
        return Err(ServiceError::bad_request(format!(
            "'{}' is not a valid variable name: use 1 to 100 letters, digits, '.' and '_'",
            name.escape_debug()
        )));
    }
    let lower = name.to_ascii_lowercase();
    if let Some(prefix) = RESERVED_PREFIXES.iter().find(|prefix| lower.starts_with(*prefix)) {
        return Err(ServiceError::bad_request(format!(
            "'{name}' starts with '{prefix}', which is reserved for the system's variables"
        )));
    }
    Ok(())
}

fn check_group_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|character| character.is_ascii_alphanumeric() || "._- ".contains(character))
        && name.trim() == name;
    if valid {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "'{}' is not a valid variable group name: use 1 to 100 letters, digits, spaces, '.', '_' and '-'",
            name.escape_debug()
        )))
    }
}

async fn find_pipeline(state: &AppState, name: &str) -> Result<Pipeline, ServiceError> {
    state
        .store()
        .pipeline_by_name(name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no pipeline named '{name}'")))
}

/// A group by name (names are compared ignoring case, as Azure does).
async fn group_by_name(store: &Store, name: &str) -> Result<Option<VariableGroup>, StoreError> {
    if let Some(group) = store.variable_group_by_name(name).await? {
        return Ok(Some(group));
    }
    Ok(store.list_variable_groups().await?.into_iter().find(|group| group.name.eq_ignore_ascii_case(name)))
}

async fn find_group(state: &AppState, name: &str) -> Result<VariableGroup, ServiceError> {
    group_by_name(state.store(), name)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no variable group named '{name}'")))
}

// The operations, shared by the API's routes and the web UI's forms (which pass the signed-in
// user as a `Caller`), so that both check roles and names and write the audit log alike.

/// A pipeline and its variables (reader).
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown pipeline, or the store's error.
pub async fn pipeline_variables(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<(Pipeline, Vec<Variable>), ServiceError> {
    caller.require(UserRole::Reader)?;
    let pipeline = find_pipeline(state, name).await?;
    let variables = state.store().list_pipeline_variables(pipeline.id).await?;
    Ok((pipeline, variables.into_iter().map(|variable| wire::variable(&variable)).collect()))
}

/// Sets a pipeline's variable (contributor); a name already set in another case is the same
/// variable (names ignore case, as in Azure).
///
/// # Errors
/// 403 for a caller without the role, 400 for a bad name, 404 for an unknown pipeline.
pub async fn set_pipeline_variable(
    state: &AppState,
    caller: &Caller,
    name: &str,
    variable: &str,
    body: SetVariable,
) -> Result<Variable, ServiceError> {
    caller.require(UserRole::Contributor)?;
    check_variable_name(variable)?;
    let pipeline = find_pipeline(state, name).await?;
    let existing = state.store().list_pipeline_variables(pipeline.id).await?;
    let variable = existing
        .iter()
        .find(|listed| listed.name.eq_ignore_ascii_case(variable))
        .map_or_else(|| variable.to_owned(), |listed| listed.name.clone());
    state.store().set_pipeline_variable(pipeline.id, &variable, &body.value, body.secret).await?;
    audit(state, caller, "pipeline.variable.set", &format!("{}/{variable}", pipeline.name), body.secret).await;
    Ok(Variable { name: variable, value: (!body.secret).then_some(body.value), secret: body.secret })
}

/// Deletes a pipeline's variable (contributor).
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown pipeline or variable.
pub async fn delete_pipeline_variable(
    state: &AppState,
    caller: &Caller,
    name: &str,
    variable: &str,
) -> Result<(), ServiceError> {
    caller.require(UserRole::Contributor)?;
    let pipeline = find_pipeline(state, name).await?;
    let existing = state.store().list_pipeline_variables(pipeline.id).await?;
    let Some(found) = existing.iter().find(|listed| listed.name.eq_ignore_ascii_case(variable)) else {
        return Err(ServiceError::NotFound(format!("pipeline '{name}' has no variable '{variable}'")));
    };
    state.store().delete_pipeline_variable(pipeline.id, &found.name).await?;
    audit(state, caller, "pipeline.variable.delete", &format!("{}/{}", pipeline.name, found.name), found.is_secret)
        .await;
    Ok(())
}

/// Every variable group (reader).
///
/// # Errors
/// 403 for a caller without the role, or the store's error.
pub async fn variable_groups(state: &AppState, caller: &Caller) -> Result<Vec<ShownGroup>, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(state.store().list_variable_groups().await?.into_iter().map(|group| wire::variable_group(&group)).collect())
}

/// Creates a variable group (admin).
///
/// # Errors
/// 403 for a caller without the role, 400 for a bad name or description, 409 for a name taken.
pub async fn create_variable_group(
    state: &AppState,
    caller: &Caller,
    body: CreateGroup,
) -> Result<ShownGroup, ServiceError> {
    caller.require(UserRole::Admin)?;
    check_group_name(&body.name)?;
    if body.description.chars().count() > MAX_DESCRIPTION {
        return Err(ServiceError::bad_request(format!("a description may have at most {MAX_DESCRIPTION} characters")));
    }
    if group_by_name(state.store(), &body.name).await?.is_some() {
        return Err(ServiceError::Conflict(format!("a variable group named '{}' exists", body.name)));
    }
    let group = state.store().create_variable_group(&body.name, &body.description).await?;
    audit(state, caller, "variable-group.create", &group.name, false).await;
    Ok(wire::variable_group(&group))
}

/// A variable group (reader).
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown group.
pub async fn variable_group(state: &AppState, caller: &Caller, group: &str) -> Result<ShownGroup, ServiceError> {
    caller.require(UserRole::Reader)?;
    Ok(wire::variable_group(&find_group(state, group).await?))
}

/// Deletes a variable group (admin).
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown group.
pub async fn delete_variable_group(state: &AppState, caller: &Caller, group: &str) -> Result<(), ServiceError> {
    caller.require(UserRole::Admin)?;
    let found = find_group(state, group).await?;
    state.store().delete_variable_group(found.id).await?;
    audit(state, caller, "variable-group.delete", &found.name, false).await;
    Ok(())
}

/// Sets a variable of a group (contributor).
///
/// # Errors
/// 403 for a caller without the role, 400 for a bad name, 404 for an unknown group.
pub async fn set_group_variable(
    state: &AppState,
    caller: &Caller,
    group: &str,
    variable: &str,
    body: SetVariable,
) -> Result<Variable, ServiceError> {
    caller.require(UserRole::Contributor)?;
    check_variable_name(variable)?;
    let found = find_group(state, group).await?;
    let variable = found
        .variables
        .iter()
        .find(|listed| listed.name.eq_ignore_ascii_case(variable))
        .map_or_else(|| variable.to_owned(), |listed| listed.name.clone());
    state.store().set_group_variable(found.id, &variable, &body.value, body.secret).await?;
    audit(state, caller, "variable-group.variable.set", &format!("{}/{variable}", found.name), body.secret).await;
    Ok(Variable { name: variable, value: (!body.secret).then_some(body.value), secret: body.secret })
}

/// Deletes a variable of a group (contributor).
///
/// # Errors
/// 403 for a caller without the role, 404 for an unknown group or variable.
pub async fn delete_group_variable(
    state: &AppState,
    caller: &Caller,
    group: &str,
    variable: &str,
) -> Result<(), ServiceError> {
    caller.require(UserRole::Contributor)?;
    let found = find_group(state, group).await?;
    let Some(listed) = found.variables.iter().find(|listed| listed.name.eq_ignore_ascii_case(variable)) else {
        return Err(ServiceError::NotFound(format!("variable group '{}' has no variable '{variable}'", found.name)));
    };
    state.store().delete_group_variable(found.id, &listed.name).await?;
    audit(
        state,
        caller,
        "variable-group.variable.delete",
        &format!("{}/{}", found.name, listed.name),
        listed.is_secret,
    )
    .await;
    Ok(())
}

// The API's routes.

/// Records a change in the audit log (never a value). Best effort.
async fn audit(state: &AppState, caller: &Caller, action: &str, target: &str, secret: bool) {
    crate::audit::record(state, caller, action, target, serde_json::json!({ "secret": secret })).await;
}

/// Checks the queue-time variables of a new run against the pipeline's variables (see the module
/// documentation) and gives them as the run's `variables` JSON, names as the pipeline spells them.
///
/// # Errors
/// [`ServiceError::BadRequest`] for a variable the run may not set.
pub async fn queue_time_variables(
    store: &Store,
    pipeline: PipelineId,
    given: &BTreeMap<String, String>,
) -> Result<serde_json::Value, ServiceError> {
    let mut variables = serde_json::Map::new();
    if given.is_empty() {
        return Ok(serde_json::Value::Object(variables));
    }
    let defined = store.list_pipeline_variables(pipeline).await?;
    for (name, value) in given {
        match defined.iter().find(|listed| listed.name.eq_ignore_ascii_case(name)) {
            Some(listed) if !listed.is_secret => {
                variables.insert(listed.name.clone(), serde_json::Value::String(value.clone()));
            }
            Some(_) => {
                return Err(ServiceError::bad_request(format!(
                    "variable '{name}' is secret: secret variables cannot be set when a run is queued"
                )));
            }
            None => {
                let settable: Vec<&str> =
                    defined.iter().filter(|listed| !listed.is_secret).map(|listed| listed.name.as_str()).collect();
                let settable = if settable.is_empty() { "none".to_owned() } else { settable.join(", ") };
                return Err(ServiceError::bad_request(format!(
                    "variable '{name}' cannot be set when a run is queued: only the pipeline's own (not secret) \
                     variables can be (set with PUT /api/v1/pipelines/{{name}}/variables/{{var}}); settable: {settable}"
                )));
            }
        }
    }
    Ok(serde_json::Value::Object(variables))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_follow_azure() {
        assert!(check_variable_name("My.Var_1").is_ok());
        for bad in ["", "has space", "a-b", "Build.Reason", "system.debug", "secretThing", &"x".repeat(101)] {
            assert!(check_variable_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_group_name("Shared settings").is_ok());
        assert!(check_group_name(" lead").is_err());
        assert!(check_group_name("a/b").is_err());
    }
}
