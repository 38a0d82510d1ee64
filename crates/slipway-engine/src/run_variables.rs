//! The variables a run starts with: the pipeline's own (plain and secret), and those of the
//! variable groups its YAML names (`- group: NAME`), as the orchestrator gives them to the run
//! driver.

use slipway_driver::{RepositoryInfo, Variable};
use slipway_plan::Plan;
use slipway_store::{Pipeline, Run, Store, StoreError, VariableGroup};

/// The repository a run checks out, as the store knows it: the pipeline's repository, the run's
/// branch and commit, and the commit's facts its launch recorded (`Build.Repository.*`,
/// `Build.Source*`, `Build.RequestedFor*`). The orchestrator's predefined variables and the job
/// message agents get are made from this one value.
#[must_use]
pub(crate) fn repository(run: &Run, pipeline: &Pipeline) -> RepositoryInfo {
    let details = &run.trigger_details;
    RepositoryInfo {
        name: pipeline.name.clone(),
        branch: run.branch.clone().unwrap_or_default(),
        commit: run.commit.clone().or_else(|| details.commit.clone()).unwrap_or_default(),
        message: details.message.clone().unwrap_or_default(),
        author: run.requested_by.clone().unwrap_or_default(),
        email: details.email.clone().unwrap_or_default(),
        uri: pipeline.repository.clone(),
    }
}

/// The variable group named `name`, its name compared ignoring case as Azure does.
///
/// # Errors
/// When the store fails.
pub(crate) async fn group_by_name(store: &Store, name: &str) -> Result<Option<VariableGroup>, StoreError> {
    if let Some(group) = store.variable_group_by_name(name).await? {
        return Ok(Some(group));
    }
    Ok(store.list_variable_groups().await?.into_iter().find(|group| group.name.eq_ignore_ascii_case(name)))
}

/// The names of the variable groups a plan names, in order, each once (ignoring case).
#[must_use]
pub(crate) fn group_names(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let declared = plan.variables.iter().chain(
        plan.stages
            .iter()
            .flat_map(|stage| stage.variables.iter().chain(stage.jobs.iter().flat_map(|job| job.variables.iter()))),
    );
    for variable in declared {
        if let slipway_plan::Variable::Group { name } = variable
            && !names.iter().any(|known| known.eq_ignore_ascii_case(name))
        {
            names.push(name.clone());
        }
    }
    names
}

/// Why a plan cannot run for want of a variable group it names, if it cannot.
///
/// # Errors
/// When the store fails.
pub(crate) async fn missing_group(store: &Store, plan: &Plan) -> Result<Option<String>, StoreError> {
    for name in group_names(plan) {
        if group_by_name(store, &name).await?.is_none() {
            return Ok(Some(missing_group_message(&name)));
        }
    }
    Ok(None)
}

fn missing_group_message(name: &str) -> String {
    format!(
        "variable group '{name}' does not exist (the pipeline names it in `- group: {name}`; create it with POST /api/v1/variable-groups)"
    )
}

/// What a run gets from the pipeline's variables and the groups its YAML names.
#[derive(Default)]
pub(crate) struct RunVariables {
    /// The pipeline's variables with the run's queue-time values, to put under the YAML's.
    pub base: Vec<Variable>,
    /// Each group's variables, by group name, for the scheduler.
    pub groups: Vec<(String, Vec<Variable>)>,
    /// Every secret value, for the masker.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for RunVariables {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RunVariables")
            .field("base", &self.base.iter().map(|variable| &variable.name).collect::<Vec<_>>())
            .field("groups", &self.groups.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a run's variables could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// The YAML names a variable group that does not exist.
    #[error("{}", missing_group_message(.0))]
    MissingGroup(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The variables a run starts with (see the module documentation).
///
/// # Errors
/// [`ResolveError::MissingGroup`] when the plan names a group that does not exist.
pub(crate) async fn for_run(store: &Store, run: &Run, plan: &Plan) -> Result<RunVariables, ResolveError> {
    let mut resolved = RunVariables::default();
    let queued = run.variables.as_object().cloned().unwrap_or_default();
    let mut overridden = Vec::new();
    for stored in store.pipeline_variable_values(run.pipeline).await? {
        let given = queued.get(&stored.name).and_then(|value| value.as_str()).filter(|_| !stored.is_secret);
        if given.is_some() {
            overridden.push(stored.name.clone());
        }
        let value = given.map_or(stored.value, str::to_owned);
        if stored.is_secret {
            resolved.secrets.push(value.clone());
        }
        resolved.base.push(Variable { name: stored.name, value, secret: stored.is_secret, readonly: false });
    }
    // Queue-time values of variables the pipeline no longer defines are still the run's.
    for (name, value) in queued {
        if let (false, Some(value)) = (overridden.contains(&name), value.as_str())
            && !resolved.base.iter().any(|variable| variable.name.eq_ignore_ascii_case(&name))
        {
            resolved.base.push(Variable::new(name, value));
        }
    }
    for name in group_names(plan) {
        let Some(group) = group_by_name(store, &name).await? else {
            return Err(ResolveError::MissingGroup(name));
        };
        let values = match store.group_variable_values(&group.name).await {
            Ok(values) => values,
            Err(error) if error.is_not_found() => return Err(ResolveError::MissingGroup(name)),
            Err(error) => return Err(error.into()),
        };
        let mut variables = Vec::with_capacity(values.len());
        for value in values {
            if value.is_secret {
                resolved.secrets.push(value.value.clone());
            }
            variables.push(Variable { name: value.name, value: value.value, secret: value.is_secret, readonly: false });
        }
        resolved.groups.push((name, variables));
    }
    Ok(resolved)
}
