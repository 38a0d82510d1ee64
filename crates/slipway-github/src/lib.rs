//! The GitHub Actions front end, pure: a workflow file loaded with a span on every node, checked
//! against GitHub's workflow schema (`workflow-v1.0.json`: keys, types, allowed values, and the
//! contexts and functions each key's expressions may use), every error at once at
//! `file:line:col`. Files come in as text; nothing here reads the disk.
//!
//! [`check`] (and [`check_with`], which also looks into the reusable workflows a job calls)
//! gives every [`Diagnostic`] and, when there are no errors, the typed [`Workflow`].
//! [`looks_like_workflow`] tells a GitHub workflow from an Azure pipeline by its path and
//! content. What is checked:
//!
//! - YAML as GitHub reads it: one document; anchors and aliases accepted (since September 2025;
//!   no merge keys); duplicate keys reported as GitHub reports them, case-insensitively; `on` a
//!   string key (YAML 1.2, not 1.1's boolean).
//! - The schema (module `schema`, interpreted by module `reader`): unknown keys with what was
//!   expected, missing required keys, wrong types and values, and each `${{ }}` parsed by
//!   `slipway-github-expr` against the contexts and functions its key allows, at its own column.
//! - GitHub's semantic checks (module `semantic`): job and step ids, `needs` (unknown jobs,
//!   cycles), `runs-on` groups, matrix vectors, container images, `uses` formats, cron syntax;
//!   and for reusable workflow calls whose file is given, `with` and `secrets` against the called
//!   workflow's `on.workflow_call`.
//!
//! Diagnostics' messages begin with GitHub's own words where GitHub has them, so that they can
//! be compared with GitHub's parser (the conformance test does), then say where and what was
//! expected.

mod calls;
mod model;
mod reader;
mod schema;
mod semantic;

pub use model::{
    Concurrency, Environment, Job, JobKind, Permissions, RunDefaults, RunsOn, Secrets, Step, StepAction, StepsJob,
    Strategy, Text, Trigger, Workflow, WorkflowCall, is_true,
};

use slipway_diagnostics::{Diagnostic, FileId};
use slipway_yaml::Node;

use crate::reader::Reader;
use crate::schema::Schema;

/// The YAML rules GitHub Actions reads workflows with.
const YAML: slipway_yaml::Options =
    slipway_yaml::Options { anchors: true, duplicate_keys: true, flow_indentation: true };

/// What checking a workflow found.
#[derive(Debug)]
pub struct Checked {
    /// The workflow, when there are no errors.
    pub workflow: Option<Workflow>,
    /// Every error and warning, in the file's order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Gives a reusable workflow a job's `uses` names (`./.github/workflows/x.yml` or
/// `owner/repo/.github/workflows/x.yml@ref`): the id the caller registered its text under in
/// its source map, and the text; `None` when it is not at hand (it is then not looked into).
pub type Called<'a> = dyn Fn(&str) -> Option<(FileId, String)> + 'a;

/// The GitHub token's permissions a workflow has when it sets none: the repository's or
/// organization's setting, which the file does not say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultPermissions {
    /// Read and write on every scope (GitHub's permissive default).
    #[default]
    Permissive,
    /// Read on `contents` and `packages` only (GitHub's restricted default).
    LimitedRead,
}

/// Limits and settings a check runs with. The defaults are GitHub's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The default `GITHUB_TOKEN` permissions, against which reusable workflows' requests are
    /// checked when the caller sets none.
    pub default_permissions: DefaultPermissions,
    /// How deep mappings and sequences may nest (GitHub: 50).
    pub max_depth: usize,
    /// How many jobs a workflow may have, counting those of the workflows it calls.
    pub max_jobs: usize,
    /// How many levels of reusable workflows may be called below the workflow checked (GitHub
    /// connects at most ten levels of workflows on github.com: the caller and nine below it).
    pub max_nested_calls: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { default_permissions: DefaultPermissions::Permissive, max_depth: 50, max_jobs: 256, max_nested_calls: 9 }
    }
}

/// Checks the workflow `text`, registered as `file` in the caller's source map, with GitHub's
/// limits. Reusable workflows that jobs call are not looked into (see [`check_with`]).
#[must_use]
pub fn check(text: &str, file: FileId) -> Checked {
    check_with(text, file, &Options::default(), &|_| None)
}

/// Checks the workflow `text` as [`check`] does, with `options`; each reusable workflow a job
/// calls that `called` gives is checked too, and the call against it (inputs, secrets,
/// permissions, nesting, the job limit).
#[must_use]
pub fn check_with(text: &str, file: FileId, options: &Options, called: &Called<'_>) -> Checked {
    let root = match slipway_yaml::load_with(text, file, YAML) {
        Ok(root) => root,
        Err(diagnostics) => return Checked { workflow: None, diagnostics },
    };
    let mut diagnostics = structure(&root, text, options);
    // The calls are checked whatever else is wrong: they look only at parts with their shape.
    diagnostics.extend(calls::check(&root, options, called));
    diagnostics
        .sort_by_key(|diagnostic| diagnostic.span.map(|span| (span.file != file, span.start.line, span.start.column)));
    let workflow = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| Workflow::from_node(&root));
    Checked { workflow, diagnostics }
}

/// The schema's and the semantic checks' findings on a loaded tree.
fn structure(root: &Node, text: &str, options: &Options) -> Vec<Diagnostic> {
    let mut reader = Reader::new(Schema::workflow(), text);
    if let Some(deep) = root.deeper_than(options.max_depth) {
        reader.diagnostics.push(
            Diagnostic::error("G0110", "Maximum object depth exceeded", Some(deep.span)).with_note(format!(
                "GitHub reads mappings and sequences nested at most {} levels deep",
                options.max_depth
            )),
        );
        return reader.diagnostics;
    }
    if root.is_null() {
        reader.diagnostics.push(
            Diagnostic::error("G0100", "the workflow file is empty", Some(root.span))
                .with_hint("a workflow needs at least `on:` and `jobs:`"),
        );
        return reader.diagnostics;
    }
    reader.read_root(root, "workflow-root-strict");
    let mut diagnostics = reader.diagnostics;
    diagnostics.extend(semantic::check(root));
    diagnostics
}

/// Whether a file is a GitHub Actions workflow rather than an Azure pipeline: by its path
/// (`.github/workflows/*.yml` or `.yaml`), or else by its content (top-level `on` and `jobs`,
/// the jobs a mapping whose jobs have `runs-on` or `uses`, or `steps`).
#[must_use]
pub fn looks_like_workflow(path: &str, text: &str) -> bool {
    let path = path.replace('\\', "/");
    let in_workflows = path.rsplit_once('/').is_some_and(|(folder, name)| {
        (folder == ".github/workflows" || folder.ends_with("/.github/workflows"))
            && (name.ends_with(".yml") || name.ends_with(".yaml"))
    });
    if in_workflows {
        return true;
    }
    let Ok(root) = slipway_yaml::load_with(text, FileId(0), YAML) else { return false };
    let (Some(_), Some(jobs)) = (root.get("on"), root.get("jobs").and_then(Node::as_mapping)) else { return false };
    !jobs.is_empty()
        && jobs
            .iter()
            .all(|(_, job)| job.get("runs-on").is_some() || job.get("uses").is_some() || job.get("steps").is_some())
}
