//! Runs of a GitHub Actions workflow started by hand (`workflow_dispatch`): before the run is
//! launched, the workflow file on the chosen branch is read from the pipeline's mirror and the
//! given values checked against its `on.workflow_dispatch.inputs`, every mistake at once; a
//! workflow without `workflow_dispatch` cannot be started by hand, as GitHub refuses it. The
//! engine's own lowering checks the inputs again when the run is launched.

use std::collections::BTreeMap;

use serde_json::Value;
pub use slipway_azure::ParameterDeclaration;
use slipway_store::Pipeline;
use slipway_triggers::WorkflowTriggers;
use slipway_triggers::github::{DispatchError, DispatchInput, InputType, InputValue};

use crate::Triggering;
use crate::load::Loaded;
use crate::{blocking, git, mirror, triggers_fetching};

/// Why a workflow cannot be started by hand with the given values.
#[derive(Debug, thiserror::Error)]
pub enum DispatchRefused {
    /// The workflow has no `workflow_dispatch` trigger.
    #[error(
        "{path} on {branch} has no `on: workflow_dispatch`, so it cannot be started by hand (GitHub refuses it too): add `workflow_dispatch:` to its `on:`"
    )]
    NotDispatchable {
        /// The workflow file.
        path: String,
        /// The branch read.
        branch: String,
    },
    /// The values given do not fit the inputs.
    #[error("{path} on {branch} does not accept these inputs:\n{}", list(.errors))]
    Inputs {
        /// The workflow file.
        path: String,
        /// The branch read.
        branch: String,
        /// Every mistake.
        errors: Vec<DispatchError>,
    },
}

fn list(errors: &[DispatchError]) -> String {
    errors
        .iter()
        .map(|error| match error {
            // The engine's wording, so that both checks read the same.
            DispatchError::Unknown { name, known } => {
                format!("- the workflow has no input named `{name}`; its inputs are: {known}")
            }
            other => format!("- {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of a parameter value as a dispatch input gets it (`gh workflow run -f name=value`).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks a manual run of `pipeline` on `branch` (its default branch when `None`) with
/// `parameters` when its file there is a GitHub Actions workflow. What cannot be read (git
/// fails, the file is missing or not valid, or is not a workflow) is left to the launch, which
/// reports it.
///
/// # Errors
/// [`DispatchRefused`] when the workflow has no `workflow_dispatch` or the values do not fit.
pub async fn check_manual_run(
    state: &Triggering,
    pipeline: &Pipeline,
    branch: Option<&str>,
    parameters: &BTreeMap<String, Value>,
) -> Result<(), DispatchRefused> {
    if !slipway_github::looks_like_workflow(&pipeline.yaml_path, "") {
        return Ok(());
    }
    let Some((branch_ref, loaded)) = read(state, pipeline, branch).await else { return Ok(()) };
    let Loaded::Workflow(workflow) = loaded else { return Ok(()) };
    let branch = branch_ref.strip_prefix("refs/heads/").unwrap_or(&branch_ref).to_owned();
    let path = pipeline.yaml_path.clone();
    let Some(dispatch) = &workflow.dispatch else { return Err(DispatchRefused::NotDispatchable { path, branch }) };
    let given: Vec<(String, String)> = parameters.iter().map(|(name, value)| (name.clone(), text(value))).collect();
    match dispatch.resolve(&given) {
        Ok(_) => Ok(()),
        Err(errors) => Err(DispatchRefused::Inputs { path, branch, errors }),
    }
}

/// The `workflow_dispatch` inputs of the pipeline file `text` (at `yaml_path`) as the run form shows
/// parameters (type, options, default), when it is a GitHub Actions workflow; `None` when it is
/// not one.
///
/// # Errors
/// Why the workflow cannot be started by hand: it cannot be read, or has no `workflow_dispatch`.
#[must_use]
pub fn form_inputs(yaml_path: &str, text: &str) -> Option<Result<Vec<ParameterDeclaration>, String>> {
    if !slipway_github::looks_like_workflow(yaml_path, text) {
        return None;
    }
    let loaded = slipway_source::contained(|| WorkflowTriggers::load(yaml_path, text))
        .unwrap_or_else(|panicked| Err(panicked.to_string()));
    Some(loaded.and_then(|triggers| match &triggers.dispatch {
        Some(dispatch) => Ok(dispatch.inputs.iter().map(declaration).collect()),
        None => Err(format!(
            "{yaml_path} has no `on: workflow_dispatch`, so it cannot be started by hand: add `workflow_dispatch:` to its `on:`"
        )),
    }))
}

/// A dispatch input as a run form parameter.
fn declaration(input: &DispatchInput) -> ParameterDeclaration {
    let (kind, values) = match &input.input_type {
        InputType::Boolean => ("boolean", Vec::new()),
        InputType::Number => ("number", Vec::new()),
        InputType::Choice(options) => ("string", options.iter().cloned().map(Value::String).collect()),
        InputType::String | InputType::Environment => ("string", Vec::new()),
    };
    let default = input
        .default
        .as_deref()
        .map(|default| input.typed(default).map_or_else(|_| Value::String(default.to_owned()), |typed| typed.to_json()))
        .or_else(|| (kind == "boolean").then(|| InputValue::Boolean(false).to_json()));
    let label = match &input.description {
        Some(description) if !description.trim().is_empty() => Some(description.trim().to_owned()),
        _ => None,
    };
    ParameterDeclaration { name: input.name.clone(), display_name: label, kind, default, default_yaml: None, values }
}

/// The branch's ref and the triggers of its head, or `None` when git cannot say.
async fn read(state: &Triggering, pipeline: &Pipeline, branch: Option<&str>) -> Option<(String, Loaded)> {
    let branch_ref = match branch {
        Some(branch) if branch.starts_with("refs/") => branch.to_owned(),
        Some(branch) => format!("refs/heads/{branch}"),
        None => crate::completion::default_branch(state, pipeline).await.ok()?,
    };
    let _lock = state.triggers().lock(pipeline.id).await;
    let repository = pipeline.repository.clone();
    let remote = blocking(move || git::ls_remote(&repository)).await.ok()?;
    let commit = remote.refs.get(&branch_ref)?.clone();
    let mirror = mirror(state, pipeline.id).await.ok()?;
    let loaded = triggers_fetching(state, pipeline, &mirror, &branch_ref, &commit).await.ok()?;
    Some((branch_ref, loaded))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::form_inputs;

    const WORKFLOW: &str = "on:
  workflow_dispatch:
    inputs:
      level:
        description: How big a release
        type: choice
        options: [patch, minor]
        default: minor
      dry-run:
        type: boolean
      retries:
        type: number
        default: 2
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
";

    #[test]
    fn a_workflows_inputs_become_the_run_forms_parameters() -> Result<(), String> {
        let inputs = form_inputs(".github/workflows/release.yml", WORKFLOW).ok_or("not a workflow")??;
        let shown: Vec<_> = inputs
            .iter()
            .map(|input| (input.name.as_str(), input.kind, input.default.clone(), input.values.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("level", "string", Some(json!("minor")), vec![json!("patch"), json!("minor")]),
                ("dry-run", "boolean", Some(json!(false)), vec![]),
                ("retries", "number", Some(json!(2.0)), vec![]),
            ]
        );
        assert_eq!(inputs[0].display_name.as_deref(), Some("How big a release"));
        let push_only = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n";
        let refused = form_inputs(".github/workflows/push.yml", push_only).ok_or("not a workflow")?;
        assert!(refused.as_ref().is_err_and(|reason| reason.contains("has no `on: workflow_dispatch`")), "{refused:?}");
        assert!(form_inputs("azure-pipelines.yml", "steps:\n- script: echo hi\n").is_none());
        Ok(())
    }
}
