//! Lowering an expanded pipeline into Slipway's neutral [`Plan`].
//!
//! The document shapes follow Azure:
//!
//! - `stages:` are kept as written. A stage without `dependsOn` depends on the stage before it;
//!   `dependsOn: []` means no dependency.
//! - `jobs:` (or the legacy `phases:`) alone make one implicit stage named `__default`.
//! - `steps:` alone (with job keys such as `pool` or `strategy` at the top level) make the implicit
//!   stage `__default` holding one implicit job named `Job`. Both names are what Azure reports as
//!   `System.StageName` and `System.PhaseName` for such pipelines.
//! - Jobs have no implicit dependencies. A job without a name is called `Job`, `Job2`, `Job3`...
//!   (the first free one), a stage without a name `Stage`, `Stage2`...
//! - A top-level `pool` is the default for every job, a stage's `pool` for the jobs of that stage.
//!
//! Matrix legs keep their configuration names and are displayed as `<job> <leg>`; `parallel: N`
//! makes legs `job1`..`jobN` (the names Azure's docs use in `dependencies.A.outputs['job1.step.var']`)
//! with `System.JobPositionInPhase` and `System.TotalJobsInPhase` set.
//!
//! Scalars are kept as the text written (Azure reads every value as a string); booleans use Azure's
//! spellings (`true`, `yes`, `on`, ... in any case). Conditions are parsed with `slipway-expr`.
//! Lowering never panics: what it cannot read (which [`crate::validate()`] reports first) becomes
//! a diagnostic.

mod jobs;
mod steps;
#[cfg(test)]
mod tests;

use slipway_diagnostics::{Diagnostic, FileId, SourceMap};
use slipway_plan::{
    Condition, Dialect, PLAN_VERSION, ParameterValue, PipelineResource, Plan, Pool, Repository, Resources, Stage,
    Variable,
};
use slipway_yaml::Node;

use crate::validate::expressions::{inner_span, parse};
use crate::validate::values::{azure_boolean, same_name, scalar_text, to_text};

/// The name Azure gives the stage of a pipeline that lists no stages.
pub const IMPLICIT_STAGE: &str = "__default";
/// The name Azure gives the job of a pipeline that lists its steps directly.
pub const IMPLICIT_JOB: &str = "Job";

/// Lowers an expanded, validated pipeline document into a plan.
///
/// # Errors
/// Returns diagnostics for anything that cannot be lowered (a document that is not a mapping, a
/// condition that does not parse); [`crate::validate()`] reports all of these first.
pub fn lower(root: &Node, sources: &SourceMap, parameters: Vec<ParameterValue>) -> Result<Plan, Vec<Diagnostic>> {
    let mut lowerer = Lowerer::default();
    let plan = lowerer.pipeline(root, sources, parameters);
    match plan {
        Some(plan) if !lowerer.diagnostics.iter().any(Diagnostic::is_error) => Ok(plan),
        _ => Err(lowerer.diagnostics),
    }
}

/// Collects what lowering could not read.
#[derive(Default)]
pub(crate) struct Lowerer {
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Lowerer {
    fn pipeline(&mut self, root: &Node, sources: &SourceMap, parameters: Vec<ParameterValue>) -> Option<Plan> {
        if root.as_mapping().is_none() {
            let message = if root.is_null() {
                "the pipeline is empty: expected `stages`, `jobs` or `steps`".to_owned()
            } else {
                format!("the pipeline expects a mapping, found {}", root.kind_name())
            };
            let code = if root.is_null() { "V0003" } else { "V0002" };
            self.diagnostics.push(Diagnostic::error(code, message, Some(root.span)));
            return None;
        }
        let files = (0..sources.len())
            .map(|index| sources.name(FileId(u32::try_from(index).unwrap_or(u32::MAX))).to_owned())
            .collect();
        let default_pool = root.get("pool").and_then(jobs::pool);
        let stages = if let Some(stages) = root.get("stages") {
            self.stages(stages, default_pool.as_ref(), root.get("lockBehavior"))
        } else {
            let jobs = if let Some(jobs) = root.get("jobs").or_else(|| root.get("phases")) {
                self.jobs(jobs, default_pool.as_ref())
            } else if root.get("steps").is_some() {
                let mut job = self.job(root, IMPLICIT_JOB.to_owned(), default_pool.as_ref());
                // At the top level `variables` are the pipeline's, not the implicit job's.
                job.variables.clear();
                vec![job]
            } else {
                Vec::new()
            };
            vec![Stage {
                name: IMPLICIT_STAGE.to_owned(),
                display_name: None,
                depends_on: Vec::new(),
                condition: None,
                variables: Vec::new(),
                jobs,
                lock_behavior: root.get("lockBehavior").and_then(scalar_text).map(str::to_owned),
                span: None,
            }]
        };
        Some(Plan {
            version: PLAN_VERSION,
            dialect: Dialect::AzurePipelines,
            files,
            run_name: root.get("name").and_then(scalar_text).filter(|name| !name.is_empty()).map(str::to_owned),
            append_commit_message: root
                .get("appendCommitMessageToRunName")
                .and_then(scalar_text)
                .and_then(azure_boolean),
            parameters,
            variables: variables(root.get("variables")),
            stages,
            resources: resources(root.get("resources")),
            extends: Vec::new(),
            env: Vec::new(),
        })
    }

    fn stages(&mut self, node: &Node, default_pool: Option<&Pool>, lock_behavior: Option<&Node>) -> Vec<Stage> {
        let items: Vec<&Node> = node.as_sequence().unwrap_or_default().iter().filter(|item| is_item(item)).collect();
        let names = generated_names(&items, &["stage"], "Stage");
        let mut stages = Vec::new();
        let mut previous: Option<String> = None;
        for (item, name) in items.into_iter().zip(names) {
            let depends_on = match item.get("dependsOn") {
                Some(value) if !value.is_null() => name_list(value),
                _ => previous.iter().cloned().collect(),
            };
            let stage_pool = item.get("pool").and_then(jobs::pool);
            let pool = stage_pool.as_ref().or(default_pool);
            stages.push(Stage {
                name: name.clone(),
                display_name: text_of(item.get("displayName")),
                depends_on,
                condition: self.condition(item.get("condition")),
                variables: variables(item.get("variables")),
                jobs: item.get("jobs").map(|jobs| self.jobs(jobs, pool)).unwrap_or_default(),
                lock_behavior: item.get("lockBehavior").or(lock_behavior).and_then(scalar_text).map(str::to_owned),
                span: Some(item.span),
            });
            previous = Some(name);
        }
        stages
    }

    /// A parsed condition, `None` when there is none; a diagnostic when it does not parse.
    pub(crate) fn condition(&mut self, node: Option<&Node>) -> Option<Condition> {
        let node = node?;
        let source = scalar_text(node)?.trim();
        if source.is_empty() {
            return None;
        }
        match parse(source) {
            Ok(expression) => {
                Some(Condition { source: source.to_owned(), expression: expression.into(), span: Some(node.span) })
            }
            Err(problem) => {
                self.diagnostics.push(Diagnostic::error(
                    "V0007",
                    format!("the condition `{source}` is not a valid expression: {}", problem.message),
                    Some(inner_span(node, 0, problem.offset, problem.length)),
                ));
                None
            }
        }
    }
}

/// Whether a list entry is something to lower (a mapping that is not a leftover template reference).
pub(crate) fn is_item(node: &Node) -> bool {
    node.as_mapping().is_some() && node.get("template").is_none()
}

/// The names of stages or jobs, with Azure-style names (`Job`, `Job2`, ...) for unnamed ones.
pub(crate) fn generated_names(items: &[&Node], keys: &[&str], base: &str) -> Vec<String> {
    let given: Vec<Option<String>> = items
        .iter()
        .map(|item| {
            keys.iter()
                .find_map(|key| item.get(key))
                .and_then(scalar_text)
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        })
        .collect();
    let mut taken: Vec<String> = given.iter().flatten().cloned().collect();
    let mut counter = 1_usize;
    given
        .into_iter()
        .map(|name| {
            name.unwrap_or_else(|| {
                loop {
                    let candidate = if counter == 1 { base.to_owned() } else { format!("{base}{counter}") };
                    counter += 1;
                    if !taken.iter().any(|name| same_name(name, &candidate)) {
                        taken.push(candidate.clone());
                        break candidate;
                    }
                }
            })
        })
        .collect()
}

/// The text of an optional scalar, `None` when absent or empty.
pub(crate) fn text_of(node: Option<&Node>) -> Option<String> {
    node.and_then(scalar_text).filter(|text| !text.is_empty()).map(str::to_owned)
}

/// A `dependsOn` value: one name or a list of names.
pub(crate) fn name_list(node: &Node) -> Vec<String> {
    match node.as_sequence() {
        Some(items) => items
            .iter()
            .filter_map(scalar_text)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
        None => {
            scalar_text(node).map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).into_iter().collect()
        }
    }
}

/// `variables` in mapping or list form.
pub(crate) fn variables(node: Option<&Node>) -> Vec<Variable> {
    let Some(node) = node else {
        return Vec::new();
    };
    if let Some(entries) = node.as_mapping() {
        return entries
            .iter()
            .filter_map(|(key, value)| {
                Some(Variable::Value { name: scalar_text(key)?.to_owned(), value: to_text(value), readonly: false })
            })
            .collect();
    }
    node.as_sequence()
        .unwrap_or_default()
        .iter()
        .filter(|item| is_item(item))
        .filter_map(|item| {
            if let Some(group) = item.get("group") {
                return Some(Variable::Group { name: to_text(group) });
            }
            Some(Variable::Value {
                name: scalar_text(item.get("name")?)?.to_owned(),
                value: item.get("value").map(to_text).unwrap_or_default(),
                readonly: item.get("readonly").and_then(scalar_text).and_then(azure_boolean).unwrap_or(false),
            })
        })
        .collect()
}

/// `resources.repositories` and `resources.pipelines`.
fn resources(node: Option<&Node>) -> Resources {
    let list = |kind: &str| node.and_then(|node| node.get(kind)).and_then(Node::as_sequence).unwrap_or_default();
    Resources {
        repositories: list("repositories")
            .iter()
            .filter_map(|item| {
                Some(Repository {
                    alias: scalar_text(item.get("repository")?)?.to_owned(),
                    kind: text_of(item.get("type")),
                    name: text_of(item.get("name")),
                    reference: text_of(item.get("ref")),
                    endpoint: text_of(item.get("endpoint")),
                })
            })
            .collect(),
        pipelines: list("pipelines")
            .iter()
            .filter_map(|item| {
                Some(PipelineResource {
                    alias: scalar_text(item.get("pipeline")?)?.to_owned(),
                    source: text_of(item.get("source")),
                })
            })
            .collect(),
    }
}
