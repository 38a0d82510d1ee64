//! Starting a run: the one way runs are created, whatever started them (the API, a trigger, the
//! web UI). It checks out the revision, loads the pipeline with the trigger's predefined
//! variables, creates the run (only if the trigger's guard holds), numbers it from the
//! pipeline's `name:`, moves the checkout into the run's directory and wakes the engine.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use slipway_driver::RepositoryInfo;
use slipway_events::{Event, LogKind, Stream, TaskResult, now_ms};
use slipway_store::{NewRun, Pipeline, QueueStatus, Run, RunId, StoreError, TriggerDetails, TriggerGuard, TriggerKind};

use crate::checkout::{self, CheckoutError, CheckoutRequest, Revision};
use crate::run_number::{self, NumberInputs};
use crate::{Core, LogFailure as _};

/// What to start.
#[derive(Clone, Debug)]
pub struct LaunchRequest {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// What to check out.
    pub revision: Revision,
    /// Runtime parameter values by name.
    pub parameters: BTreeMap<String, Value>,
    /// What started it.
    pub trigger: TriggerKind,
    /// What started it, with the trigger's predefined variables; the commit's message, author
    /// and e-mail are added.
    pub trigger_details: TriggerDetails,
    /// Who asked for it; the commit's author when `None`.
    pub requested_by: Option<String>,
    /// The condition the run is created under (see [`slipway_store::Store::create_triggered_run`]).
    pub guard: Option<TriggerGuard>,
    /// The upstream run whose completion triggered it.
    pub upstream_run: Option<RunId>,
    /// Queue-time variable values (an object of strings; see [`crate::variables`]).
    pub variables: Value,
    /// The run this one re-runs (see [`crate::reruns`]).
    pub retry_of: Option<RunId>,
}

impl LaunchRequest {
    /// A request with no parameters, guard or upstream run.
    #[must_use]
    pub fn new(pipeline: Pipeline, revision: Revision, trigger: TriggerKind, trigger_details: TriggerDetails) -> Self {
        Self {
            pipeline,
            revision,
            parameters: BTreeMap::new(),
            trigger,
            trigger_details,
            requested_by: None,
            guard: None,
            upstream_run: None,
            variables: json!({}),
            retry_of: None,
        }
    }
}

/// What became of a launch.
#[derive(Clone, Debug)]
pub enum Launched {
    /// The run, queued.
    Run(Box<Run>),
    /// The guard did not hold: the trigger was handled already (by a webhook and by polling).
    AlreadyTriggered,
}

/// Why a run could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The revision could not be checked out, or the pipeline is not valid.
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file operation of the data directory failed.
    #[error("{0}")]
    Io(String),
    /// The pipeline is disabled: it takes no new run.
    #[error("the pipeline '{0}' is disabled: it takes no new runs until an admin enables it")]
    Disabled(String),
}

/// The predefined variables a trigger recorded in a run's details, for its jobs.
#[must_use]
pub fn trigger_variables(run: &Run) -> Vec<(String, String)> {
    details_variables(&run.trigger_details)
}

fn details_variables(details: &TriggerDetails) -> Vec<(String, String)> {
    details.variables.iter().map(|(name, value)| (name.clone(), value.clone())).collect()
}

/// Queue-time variables (a JSON object of strings) as pairs.
fn queue_time_variables(variables: &Value) -> Vec<(String, String)> {
    variables
        .as_object()
        .map(|variables| {
            variables
                .iter()
                .filter_map(|(name, value)| value.as_str().map(|value| (name.clone(), value.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The parameters as `NAME=VALUE` texts for the front end: strings as they are, anything else
/// as JSON.
fn parameter_texts(parameters: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    parameters
        .iter()
        .map(|(name, value)| match value {
            Value::String(text) => (name.clone(), text.clone()),
            other => (name.clone(), other.to_string()),
        })
        .collect()
}

/// Starts a run (see the module's documentation).
///
/// # Errors
/// When the revision cannot be checked out, the pipeline is not valid, or the store fails.
pub async fn launch(core: &Core, request: LaunchRequest) -> Result<Launched, LaunchError> {
    let store = core.store();
    let pipeline = &request.pipeline;
    // As it is now, not as the caller read it.
    if store.pipeline(pipeline.id).await?.queue_status == QueueStatus::Disabled {
        return Err(LaunchError::Disabled(pipeline.name.clone()));
    }
    let variables = details_variables(&request.trigger_details);
    let checkouts = core.data_dir().join("checkouts");
    tokio::fs::create_dir_all(&checkouts).await.map_err(|error| LaunchError::Io(error.to_string()))?;
    let temporary = checkouts.join(crate::random_hex(12).map_err(LaunchError::Io)?);
    let loaded = {
        let (repository, yaml_path, name, revision, parameters, variables, destination) = (
            pipeline.repository.clone(),
            pipeline.yaml_path.clone(),
            pipeline.name.clone(),
            request.revision.clone(),
            parameter_texts(&request.parameters),
            variables.clone(),
            temporary.clone(),
        );
        tokio::task::spawn_blocking(move || {
            checkout::checkout_revision(&CheckoutRequest {
                repository: &repository,
                revision: &revision,
                yaml_path: &yaml_path,
                pipeline_name: &name,
                parameters: &parameters,
                variables: &variables,
                destination: &destination,
            })
        })
        .await
        .map_err(|error| LaunchError::Io(error.to_string()))?
    };
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Err(error.into());
        }
    };
    // A variable group the pipeline names must exist: a pipeline without it cannot run.
    match crate::run_variables::missing_group(store, &loaded.plan).await {
        Ok(None) => {}
        Ok(Some(reason)) => {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Err(CheckoutError::Pipeline(reason).into());
        }
        Err(error) => {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Err(error.into());
        }
    }
    let mut details = request.trigger_details.clone();
    for (field, value) in [
        (&mut details.message, &loaded.message),
        (&mut details.author, &loaded.author),
        (&mut details.email, &loaded.email),
        (&mut details.commit, &loaded.commit),
    ] {
        field.get_or_insert_with(|| value.clone());
    }

    let mut number = NumberInputs {
        format: loaded.plan.run_name.clone(),
        pipeline_name: pipeline.name.clone(),
        run_id: None,
        repository: RepositoryInfo {
            name: pipeline.name.clone(),
            branch: loaded.branch_ref.clone(),
            commit: loaded.commit.clone(),
            message: loaded.message.clone(),
            author: loaded.author.clone(),
            email: loaded.email.clone(),
            uri: pipeline.repository.clone(),
        },
        variables: variables.clone(),
    };
    number.variables.extend(
        store
            .pipeline_variable_values(pipeline.id)
            .await?
            .into_iter()
            .filter(|v| !v.is_secret)
            .map(|v| (v.name, v.value)),
    );
    number.variables.extend(queue_time_variables(&request.variables));
    number.variables.extend(run_number::plan_variables(&loaded.plan));
    let now = run_number::date_time(store.now());
    // A number that uses the run's id is made once the run exists; any other before, so that the
    // engine never sees a run without its number.
    let early_number =
        if number.needs_run_id() { None } else { Some(run_number::make(store, pipeline.id, &number, now).await?) };

    let mut new_run = NewRun::new(pipeline.id, early_number.clone().unwrap_or_else(|| "0".to_owned()), request.trigger);
    new_run.branch = Some(loaded.branch_ref.clone());
    new_run.commit = Some(loaded.commit.clone());
    new_run.parameters = serde_json::to_value(&request.parameters).unwrap_or_else(|_| json!({}));
    new_run.trigger_details = details;
    new_run.requested_by = request.requested_by.clone().or_else(|| Some(loaded.author.clone()));
    new_run.plan = Some(loaded.plan);
    new_run.upstream_run = request.upstream_run;
    new_run.variables = request.variables.clone();
    new_run.retry_of = request.retry_of;
    let created = match &request.guard {
        Some(guard) => store.create_triggered_run(&new_run, guard).await,
        None => store.create_run(&new_run).await.map(Some),
    };
    let run = match created {
        Ok(Some(run)) => run,
        Ok(None) => {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Ok(Launched::AlreadyTriggered);
        }
        Err(error) => {
            let _ = tokio::fs::remove_dir_all(&temporary).await;
            return Err(error.into());
        }
    };
    if early_number.is_none() {
        number.run_id = Some(run.id.get());
        let late = run_number::make(store, pipeline.id, &number, now).await?;
        store.set_run_number(run.id, &late).await?;
    }
    let run_dir = crate::orchestrator::run_directory(core.data_dir(), run.id);
    let moved = async {
        tokio::fs::create_dir_all(&run_dir).await?;
        tokio::fs::rename(&temporary, run_dir.join("source")).await
    }
    .await;
    if let Err(error) = moved {
        let _ = tokio::fs::remove_dir_all(&temporary).await;
        let message = format!("could not move the checkout into place: {error}");
        fail_run(core, run.id, &message).await.log_failure("failing a run whose checkout could not be moved");
        return Err(LaunchError::Io(message));
    }
    core.wake();
    Ok(Launched::Run(Box::new(store.run(run.id).await?)))
}

/// Records a run that a trigger started but that cannot run (its pipeline file is not valid at
/// that commit), completed as failed with the reason in its log, so that people see why nothing
/// ran. Created under `guard` like any triggered run; `None` when the guard did not hold.
///
/// # Errors
/// When the store fails.
pub async fn record_failed_run(
    core: &Core,
    request: &LaunchRequest,
    branch: &str,
    commit: &str,
    reason: &str,
) -> Result<Option<Run>, StoreError> {
    let store = core.store();
    if store.pipeline(request.pipeline.id).await?.queue_status == QueueStatus::Disabled {
        return Ok(None);
    }
    let number = NumberInputs {
        format: None,
        pipeline_name: request.pipeline.name.clone(),
        run_id: None,
        repository: RepositoryInfo {
            branch: branch.to_owned(),
            commit: commit.to_owned(),
            ..RepositoryInfo::default()
        },
        variables: details_variables(&request.trigger_details),
    };
    let number = run_number::make(store, request.pipeline.id, &number, run_number::date_time(store.now())).await?;
    let mut new_run = NewRun::new(request.pipeline.id, number, request.trigger);
    new_run.branch = Some(branch.to_owned());
    new_run.commit = Some(commit.to_owned());
    new_run.trigger_details = TriggerDetails { error: Some(reason.to_owned()), ..request.trigger_details.clone() };
    new_run.requested_by.clone_from(&request.requested_by);
    new_run.upstream_run = request.upstream_run;
    let created = match &request.guard {
        Some(guard) => store.create_triggered_run(&new_run, guard).await?,
        None => Some(store.create_run(&new_run).await?),
    };
    let Some(run) = created else { return Ok(None) };
    fail_run(core, run.id, &format!("the pipeline could not be loaded at commit {commit}: {reason}")).await?;
    Ok(Some(store.run(run.id).await?))
}

/// Completes a run as failed with `message` in its log (the engine may have done so already).
async fn fail_run(core: &Core, run: RunId, message: &str) -> Result<(), StoreError> {
    let store = core.store();
    let event = Event::Log {
        time: now_ms(),
        job: None,
        step: None,
        stream: Stream::System,
        kind: LogKind::Error,
        text: message.to_owned(),
    };
    store.append_events(run, &[event]).await?;
    match store.finish_run(run, TaskResult::Failed).await {
        Ok(_) => Ok(()),
        Err(StoreError::InvalidState { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_of_triggers_and_queue_time_and_parameter_texts() {
        let details = TriggerDetails::reason("PullRequest");
        assert_eq!(details_variables(&details), [("Build.Reason".to_owned(), "PullRequest".to_owned())]);
        let queued = json!({ "configuration": "Release", "odd": 5 });
        assert_eq!(queue_time_variables(&queued), [("configuration".to_owned(), "Release".to_owned())]);
        assert!(queue_time_variables(&json!("no")).is_empty());
        let parameters = BTreeMap::from([("n".to_owned(), json!(3)), ("s".to_owned(), json!("text"))]);
        assert_eq!(
            parameter_texts(&parameters),
            [("n".to_owned(), "3".to_owned()), ("s".to_owned(), "text".to_owned())]
        );
    }
}
