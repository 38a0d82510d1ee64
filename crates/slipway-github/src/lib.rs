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
//!   no merge keys); duplicate keys reported as GitHub reports them, case-insensitively; explicit
//!   tags checked; a flow list's `]` at its key's indentation accepted; `on` a string key (YAML
//!   1.2, not 1.1's boolean).
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
pub mod dispatch;
pub mod lower;
mod model;
mod reader;
mod schema;
mod semantic;

pub use model::{
    Concurrency, Environment, Job, JobKind, Permissions, RunDefaults, RunsOn, Secrets, Step, StepAction, StepsJob,
    Strategy, Text, Trigger, Workflow, WorkflowCall, is_true,
};

use slipway_diagnostics::{Diagnostic, FileId, SourceMap};
use slipway_yaml::Node;

use crate::reader::Reader;
use crate::schema::Schema;

/// The YAML rules GitHub Actions reads workflows with.
const YAML: slipway_yaml::Options =
    slipway_yaml::Options { anchors: true, duplicate_keys: true, flow_indentation: true, tags: true };

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

/// Reads the workflow `text` into a tree as GitHub reads YAML (anchors and aliases resolved,
/// duplicate keys refused), without checking it against the schema.
///
/// # Errors
///
/// The YAML's errors, at their places.
pub fn read(text: &str, file: FileId) -> Result<Node, Vec<Diagnostic>> {
    slipway_yaml::load_with(text, file, YAML)
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

/// A workflow file read, checked and lowered: every file read (the workflow first, then the
/// reusable workflows of its repository that it calls), what the check and the lowering said,
/// and the plan when there are no errors.
#[derive(Debug)]
pub struct Compiled {
    /// The workflow and the reusable workflows it calls, by the ids its diagnostics use.
    pub sources: SourceMap,
    /// The check's diagnostics and the workflow.
    pub checked: Checked,
    /// The lowering's errors (none when the check failed, as it did not run).
    pub lowering: Vec<Diagnostic>,
    /// The plan, when neither the check nor the lowering found an error.
    pub plan: Option<slipway_plan::Plan>,
}

impl Compiled {
    /// Every diagnostic, the check's then the lowering's.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.checked.diagnostics.iter().chain(&self.lowering)
    }
}

/// Reads a repository file for [`compile`]: its path from the repository's root to the name
/// shown in diagnostics and its text, or why it cannot be read.
pub type ReadFile<'a> = dyn Fn(&str) -> Result<(String, String), String> + 'a;

/// Reads the workflow at `path` (from its repository's root) through `read`, checks it with
/// GitHub's rules (and each reusable workflow of the same repository it calls, as
/// `./.github/workflows/x.yml`, found beside the workflow's `.github` folder) and lowers it with
/// `inputs` for its `workflow_dispatch` or `workflow_call` inputs.
#[must_use]
pub fn compile(path: &str, read: &ReadFile<'_>, inputs: &[(String, String)]) -> Compiled {
    let mut sources = SourceMap::new();
    let (name, text) = match read(path) {
        Ok(file) => file,
        Err(error) => {
            let diagnostic = Diagnostic::error("E0002", format!("cannot read the workflow {path}: {error}"), None)
                .with_hint("check the path; workflows are read only from inside their repository");
            let checked = Checked { workflow: None, diagnostics: vec![diagnostic] };
            return Compiled { sources, checked, lowering: Vec::new(), plan: None };
        }
    };
    let file = sources.add(name, text.as_str());
    let called_files = std::cell::RefCell::new(Vec::new());
    let base = path.rsplit_once(".github/workflows/").map_or("", |(base, _)| base).to_owned();
    let called = |reference: &str| {
        let relative = reference.strip_prefix("./")?;
        if relative.split('/').any(|segment| segment == ".." || segment == ".") {
            return None;
        }
        let (name, text) = read(&format!("{base}{relative}")).ok()?;
        let mut called_files = called_files.borrow_mut();
        called_files.push((name, text.clone()));
        // The ids the called files get once added after the entry file, in this order.
        Some((FileId(u32::try_from(called_files.len()).ok()?), text))
    };
    let checked = check_with(&text, file, &Options::default(), &called);
    for (name, text) in called_files.into_inner() {
        sources.add(name, text);
    }
    let (plan, lowering) = match &checked.workflow {
        Some(workflow) if !checked.diagnostics.iter().any(Diagnostic::is_error) => {
            let files = (0..sources.len())
                .filter_map(|index| u32::try_from(index).ok())
                .map(|index| sources.name(FileId(index)).to_owned())
                .collect();
            match lower::lower(workflow, files, inputs) {
                Ok(plan) => (Some(plan), Vec::new()),
                Err(diagnostics) => (None, diagnostics),
            }
        }
        _ => (None, Vec::new()),
    };
    Compiled { sources, checked, lowering, plan }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(text: &str) -> Workflow {
        let checked = check(text, FileId(0));
        assert!(checked.diagnostics.iter().all(|d| !d.is_error()), "{:?}", checked.diagnostics);
        checked.workflow.expect("a valid workflow has its model")
    }

    #[test]
    fn on_is_normalized_from_each_of_its_forms() {
        let jobs = "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n";
        let events = |workflow: &Workflow| workflow.on.iter().map(|t| t.event.value.clone()).collect::<Vec<_>>();
        assert_eq!(events(&valid(&format!("on: push\n{jobs}"))), ["push"]);
        assert_eq!(events(&valid(&format!("on: [push, pull_request]\n{jobs}"))), ["push", "pull_request"]);
        let mapping = valid(&format!(
            "on:\n  push:\n    branches: main\n  schedule:\n    - cron: '0 5 * * 1'\n  workflow_dispatch:\n{jobs}"
        ));
        assert_eq!(events(&mapping), ["push", "schedule", "workflow_dispatch"]);
        let branches = mapping.on[0].filter("branches").expect("branches");
        assert_eq!(branches.iter().map(|b| b.value.as_str()).collect::<Vec<_>>(), ["main"]);
        assert_eq!(mapping.on[1].crons()[0].value, "0 5 * * 1");
        assert!(mapping.on[2].config.is_none());
    }

    #[test]
    fn jobs_and_steps_are_read_with_their_spans() {
        let workflow = valid(
            "on: push\nenv:\n  A: '1'\njobs:\n  build:\n    runs-on: [self-hosted, linux]\n    steps:\n      - id: hi\n        run: echo hi\n        shell: bash\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n  test:\n    needs: build\n    if: success()\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - run: make test\n  call:\n    needs: [build, test]\n    uses: ./.github/workflows/x.yml\n    secrets: inherit\n",
        );
        assert_eq!(workflow.env[0].1.value, "1");
        let build = workflow.job("build").expect("build");
        let JobKind::Steps(steps) = &build.kind else { panic!("a steps job") };
        assert_eq!(steps.runs_on.labels.iter().map(|l| l.value.as_str()).collect::<Vec<_>>(), ["self-hosted", "linux"]);
        assert!(matches!(&steps.steps[0].action, StepAction::Run { shell: Some(shell), .. } if shell.value == "bash"));
        assert!(matches!(&steps.steps[1].action, StepAction::Uses { with, .. } if with[0].1.value == "0"));
        assert_eq!(steps.steps[0].span.start.line, 8);
        let test = workflow.job("test").expect("test");
        assert_eq!(test.needs[0].value, "build");
        assert_eq!(test.condition.as_ref().map(|c| c.value.as_str()), Some("success()"));
        let call = workflow.job("call").expect("call");
        assert!(matches!(&call.kind, JobKind::Workflow(WorkflowCall { secrets: Some(Secrets::Inherit(_)), .. })));
        assert_eq!(call.needs.len(), 2);
        assert_eq!(workflow.step_count(), 3);
    }

    #[test]
    fn text_around_an_if_expression_is_a_warning() {
        let checked = check(
            "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n        if: (${{ success() }} || ${{ failure() }})\n",
            FileId(0),
        );
        assert!(checked.workflow.is_some());
        assert!(checked.diagnostics.iter().any(|d| d.code == "G0204" && !d.is_error()));
    }

    #[test]
    fn workflows_are_told_from_azure_pipelines() {
        assert!(looks_like_workflow(".github/workflows/ci.yml", ""));
        assert!(looks_like_workflow("a/b/.github/workflows/ci.yaml", ""));
        assert!(!looks_like_workflow(".github/ci.yml", "steps:\n- script: echo\n"));
        assert!(looks_like_workflow("ci.yml", "on: push\njobs:\n  a:\n    runs-on: x\n"));
        assert!(!looks_like_workflow("azure-pipelines.yml", "trigger: none\njobs:\n- job: a\n  steps: []\n"));
    }
}
