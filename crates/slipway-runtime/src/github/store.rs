//! The action store, and which actions of a plan cannot run here.
//!
//! The action store is a directory (`slipway run --actions DIR`) that holds the repositories of
//! actions, each in a folder named after the reference a workflow writes:
//!
//! ```text
//! DIR/
//!   octo/greet@v1/action.yml           uses: octo/greet@v1
//!   octo/tools@v2/lint/action.yml      uses: octo/tools/lint@v2
//! ```
//!
//! `uses: owner/repo[/path]@ref` is `DIR/owner/repo@ref[/path]` with an `action.yml` (or
//! `action.yaml`) in it; the owner and repository are matched without regard to case (as GitHub
//! matches them), the ref exactly. An action the store holds under that exact reference is used
//! even when Slipway has one built in under the same name; otherwise the built-in one runs. The
//! runtime finds the store in its run's context (`RunContext::actions_dir`, from
//! `RunOptions::actions_dir`): a setting of the machine that runs the job, not a variable a
//! pipeline could set.
//!
//! [`unknown_actions`] lists the `uses:` steps of a plan that cannot run here (neither built in,
//! nor in the store, nor a local action of the repository; or a Docker action), so that a run
//! stops before it starts, as it does for unknown tasks.

use std::path::{Path, PathBuf};

use slipway_diagnostics::Span;
use slipway_plan::{Action, JobKind, Plan, Step};

use super::actions::is_built_in;
use super::composite::json_of;

/// The code of the diagnostic about an action that cannot run here.
pub const UNKNOWN_ACTION_CODE: &str = "R0002";

/// How deep [`unknown_actions`] follows composite actions (GitHub's nesting limit).
const MAX_DEPTH: u32 = 9;

/// Why an action cannot run here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownKind {
    /// Neither built in nor in the action store (or there is no store).
    NotFound,
    /// A local action (`./path`) without an `action.yml`.
    MissingLocal,
    /// A Docker action: no container engine.
    Docker,
    /// An action whose metadata cannot be read, or that Slipway cannot run (`runs.using`, a
    /// missing `runs.main` file).
    Unusable,
}

/// A `uses:` step whose action cannot run here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAction {
    /// The action as written.
    pub action: String,
    /// Why it cannot run.
    pub kind: UnknownKind,
    /// Where the step is in the workflow (for an action used inside a composite action, the step
    /// of the workflow that uses that composite action).
    pub span: Option<Span>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// What `runs.using` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Using {
    /// `node12`, `node16`, `node20`, `node24` (the text, lower case).
    Node(String),
    Composite,
    Docker,
    /// Anything else, as written.
    Other(String),
}

/// An action's `action.yml`, as much as Slipway needs of it.
#[derive(Clone, Debug)]
pub(crate) struct Metadata {
    /// The metadata as JSON, every scalar a string.
    pub(crate) json: serde_json::Value,
    pub(crate) using: Using,
}

impl Metadata {
    /// Reads `action.yml` text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let options =
            slipway_yaml::Options { anchors: true, duplicate_keys: false, flow_indentation: true, tags: false };
        let json = match slipway_yaml::load_with(text, slipway_diagnostics::FileId(0), options) {
            Ok(node) => json_of(&node),
            Err(errors) => {
                let message = errors.first().map(|error| error.message.clone()).unwrap_or_default();
                return Err(format!("not valid YAML: {message}"));
            }
        };
        let using = json.pointer("/runs/using").and_then(serde_json::Value::as_str).unwrap_or_default();
        let using = match using.trim().to_ascii_lowercase().as_str() {
            "composite" => Using::Composite,
            "docker" => Using::Docker,
            node if node.starts_with("node") && node[4..].parse::<u32>().is_ok() => Using::Node(node.to_owned()),
            other => Using::Other(other.to_owned()),
        };
        Ok(Self { json, using })
    }

    /// A string under `runs` (`main`, `pre`, `post`, `pre-if`, `post-if`), when not empty.
    pub(crate) fn runs(&self, key: &str) -> Option<String> {
        self.json
            .get("runs")
            .and_then(|runs| runs.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    }
}

/// The `action.yml` (or `action.yaml`) of an action's folder.
pub(crate) fn manifest(dir: &Path) -> Option<PathBuf> {
    ["action.yml", "action.yaml"].iter().map(|name| dir.join(name)).find(|path| path.is_file())
}

/// Reads the metadata of the action in `dir`.
pub(crate) fn read_metadata(dir: &Path) -> Result<Metadata, String> {
    let Some(manifest) = manifest(dir) else {
        return Err(format!("there is no action.yml or action.yaml in {}", dir.display()));
    };
    let text = std::fs::read_to_string(&manifest)
        .map_err(|error| format!("could not read {}: {error}", manifest.display()))?;
    Metadata::parse(&text).map_err(|error| format!("{}: {error}", manifest.display()))
}

/// `owner/repo[/path]@ref` split: the owner, the repository, the path (may be empty), the ref.
pub(crate) fn split_reference(action: &str) -> Option<(&str, &str, &str, &str)> {
    let (name, reference) = action.trim().split_once('@')?;
    let mut parts = name.splitn(3, '/');
    let owner = parts.next().filter(|owner| !owner.is_empty())?;
    let repo = parts.next().filter(|repo| !repo.is_empty())?;
    let path = parts.next().unwrap_or_default().trim_matches('/');
    (!reference.is_empty()).then_some((owner, repo, path, reference))
}

/// The folders in `dir` whose name is `name` without regard to case, the exact one first.
fn entries(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_str().is_some_and(|found| found.eq_ignore_ascii_case(name)))
                .map(|entry| entry.path())
                .filter(|path| path.is_dir())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|path| path.file_name().and_then(|found| found.to_str()) != Some(name));
    found
}

/// The folder of the action `owner/repo[/path]@ref` in the store `store`, when it holds one
/// (a folder with an `action.yml` or `action.yaml`). The owner and the repository are matched
/// without regard to case (an exact match first), the ref exactly.
pub(crate) fn find(store: &Path, action: &str) -> Option<PathBuf> {
    let (owner, repo, path, reference) = split_reference(action)?;
    entries(store, owner).iter().find_map(|owner_dir| {
        let candidates = entries(owner_dir, &format!("{repo}@{reference}"));
        candidates.into_iter().find_map(|repo_dir| {
            let found_ref = repo_dir.file_name()?.to_str()?.split_once('@')?.1.to_owned();
            let dir = if path.is_empty() { repo_dir } else { repo_dir.join(path) };
            (found_ref == reference && manifest(&dir).is_some()).then_some(dir)
        })
    })
}

/// Where the store must hold `action` (for messages).
pub(crate) fn expected_place(store: &str, action: &str) -> String {
    match split_reference(action) {
        Some((owner, repo, "", reference)) => format!("{store}/{owner}/{repo}@{reference}/action.yml"),
        Some((owner, repo, path, reference)) => format!("{store}/{owner}/{repo}@{reference}/{path}/action.yml"),
        None => format!("{store}/OWNER/REPO@REF/action.yml"),
    }
}

/// The hint of an action the store should hold.
fn store_hint(store: Option<&Path>, action: &str) -> String {
    let place = expected_place(&store.map_or_else(|| "DIR".to_owned(), |store| store.display().to_string()), action);
    match store {
        Some(_) => format!("put the action's repository in the action store, so that {place} exists"),
        None => format!(
            "put the action's repository in an action store and run with `--actions DIR`, so that {place} exists (see docs/github-actions.md)"
        ),
    }
}

/// Checks the `uses:` steps of a plan: the actions that cannot run here, each with where it is
/// used and what to do. An action is known when Slipway has it built in (any ref), when it is a
/// local action (`./path`, from the repository at `workspace`) or is in the store, and its
/// `runs.using` is `composite` or `nodeNN`; the steps of composite actions are checked too.
#[must_use]
pub fn unknown_actions(plan: &Plan, store: Option<&Path>, workspace: &Path) -> Vec<UnknownAction> {
    let mut found = Vec::new();
    for stage in &plan.stages {
        for job in &stage.jobs {
            let hooks: Vec<&Step> = match &job.kind {
                JobKind::Deployment(deployment) => deployment.hooks.iter().flat_map(|hook| &hook.steps).collect(),
                JobKind::Agent | JobKind::Server => Vec::new(),
            };
            let steps: Vec<&Step> = job.steps.iter().chain(hooks).collect();
            // Folders that `actions/checkout` with `path:` puts the repository in.
            let checkout_paths: Vec<String> = steps
                .iter()
                .filter_map(|step| match &step.action {
                    Action::Uses { action, with } if super::actions::is_checkout(action) => with
                        .iter()
                        .find(|(name, _)| name == "path")
                        .map(|(_, value)| value.trim().trim_start_matches("./").trim_end_matches('/').to_owned()),
                    _ => None,
                })
                .filter(|path| !path.is_empty())
                .collect();
            let checker = Checker { store, workspace, checkout_paths: &checkout_paths };
            for step in steps {
                if let Action::Uses { action, .. } = &step.action {
                    checker.check(action, step.span, None, 0, &mut found);
                }
            }
        }
    }
    found
}

struct Checker<'a> {
    store: Option<&'a Path>,
    workspace: &'a Path,
    checkout_paths: &'a [String],
}

impl Checker<'_> {
    /// The folder of a local action, in the repository.
    fn local_dir(&self, action: &str) -> PathBuf {
        let relative = action.trim().trim_start_matches("./").trim_end_matches('/');
        for path in self.checkout_paths {
            if let Some(rest) = relative.strip_prefix(path.as_str()).and_then(|rest| rest.strip_prefix('/')) {
                return self.workspace.join(rest);
            }
        }
        self.workspace.join(relative)
    }

    fn check(
        &self,
        action: &str,
        span: Option<Span>,
        within: Option<&str>,
        depth: u32,
        found: &mut Vec<UnknownAction>,
    ) {
        let action = action.trim();
        let used = within.map_or_else(String::new, |outer| format!(" (used by the composite action `{outer}`)"));
        let mut push = |kind: UnknownKind, message: String, hint: String| {
            if !found.iter().any(|known: &UnknownAction| known.action == action && known.span == span) {
                found.push(UnknownAction { action: action.to_owned(), kind, span, message, hint });
            }
        };
        if action.starts_with("docker://") {
            push(
                UnknownKind::Docker,
                format!(
                    "the action `{action}`{used} runs in a Docker container, and no container engine is available to Slipway"
                ),
                "run the tool with a `run:` step instead".to_owned(),
            );
            return;
        }
        let (dir, from) = if action.starts_with("./") || action.starts_with("../") {
            let dir = self.local_dir(action);
            if manifest(&dir).is_none() {
                push(
                    UnknownKind::MissingLocal,
                    format!("the local action `{action}`{used} has no action.yml or action.yaml in {}", dir.display()),
                    "fix the path: a local action is a folder of the repository with an action.yml".to_owned(),
                );
                return;
            }
            (dir, "the local action")
        } else if let Some(dir) = self.store.and_then(|store| find(store, action)) {
            (dir, "the action")
        } else if is_built_in(action) {
            return;
        } else {
            let message = match self.store {
                Some(store) => {
                    format!(
                        "the action `{action}`{used} is neither built in nor in the action store {}",
                        store.display()
                    )
                }
                None => format!("the action `{action}`{used} is not built in, and no action store is given"),
            };
            push(UnknownKind::NotFound, message, store_hint(self.store, action));
            return;
        };
        let metadata = match read_metadata(&dir) {
            Ok(metadata) => metadata,
            Err(error) => {
                push(
                    UnknownKind::Unusable,
                    format!("{from} `{action}`{used} cannot be read: {error}"),
                    "fix its action.yml".to_owned(),
                );
                return;
            }
        };
        match &metadata.using {
            Using::Node(_) => {
                if let Some(main) = metadata.runs("main")
                    && !dir.join(&main).is_file()
                {
                    push(
                        UnknownKind::Unusable,
                        format!("{from} `{action}`{used} has no file {} (its `runs.main`)", dir.join(main).display()),
                        "put the action's whole repository (with its built files) in its folder".to_owned(),
                    );
                }
            }
            Using::Composite => {
                if depth >= MAX_DEPTH {
                    return;
                }
                let steps = metadata.json.pointer("/runs/steps").and_then(serde_json::Value::as_array);
                for inner in steps.into_iter().flatten() {
                    if let Some(uses) = inner.get("uses").and_then(serde_json::Value::as_str) {
                        self.check(uses, span, Some(action), depth + 1, found);
                    }
                }
            }
            Using::Docker => push(
                UnknownKind::Docker,
                format!(
                    "{from} `{action}`{used} runs in a Docker container (runs.using: docker), and no container engine is available to Slipway"
                ),
                "run the tool with a `run:` step instead".to_owned(),
            ),
            Using::Other(other) => push(
                UnknownKind::Unusable,
                format!("{from} `{action}`{used} has `runs.using: {other}`, which Slipway cannot run"),
                "Slipway runs composite actions and node actions (node20, node24)".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_plan::{Dialect, Job, Stage};

    fn write(path: &Path, text: &str) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)
    }

    fn uses(action: &str) -> Step {
        Step::new(Action::Uses { action: action.to_owned(), with: Vec::new() })
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan::new(Dialect::GithubActions, vec![Stage::new("__default", vec![Job::new("build", steps)])])
    }

    #[test]
    fn references_split_into_owner_repo_path_and_ref() {
        assert_eq!(split_reference("octo/tools/lint/x@v2"), Some(("octo", "tools", "lint/x", "v2")));
        assert_eq!(split_reference("octo/greet@v1"), Some(("octo", "greet", "", "v1")));
        assert_eq!(split_reference("octo/greet"), None);
        assert_eq!(split_reference("octo@v1"), None);
        assert_eq!(expected_place("/s", "octo/tools/lint@v2"), "/s/octo/tools@v2/lint/action.yml");
    }

    #[test]
    fn metadata_says_how_the_action_runs() -> Result<(), String> {
        let node = Metadata::parse("runs:\n  using: 'Node20'\n  main: dist/index.js\n  post: post.js\n")?;
        assert_eq!(node.using, Using::Node("node20".into()));
        assert_eq!(node.runs("main").as_deref(), Some("dist/index.js"));
        assert_eq!(node.runs("pre"), None);
        assert_eq!(Metadata::parse("runs:\n  using: docker\n  image: Dockerfile\n")?.using, Using::Docker);
        assert_eq!(Metadata::parse("runs:\n  using: composite\n  steps: []\n")?.using, Using::Composite);
        assert_eq!(Metadata::parse("runs: {}\n")?.using, Using::Other(String::new()));
        Ok(())
    }

    #[test]
    fn the_store_is_found_by_owner_repo_path_and_ref() -> Result<(), Box<dyn std::error::Error>> {
        let store = tempfile::tempdir()?;
        write(&store.path().join("Octo/Greet@v1/action.yml"), "runs:\n  using: node20\n  main: a.js\n")?;
        write(&store.path().join("octo/tools@v2/lint/action.yaml"), "runs:\n  using: composite\n  steps: []\n")?;
        assert_eq!(find(store.path(), "octo/greet@v1"), Some(store.path().join("Octo/Greet@v1")));
        assert_eq!(find(store.path(), "octo/tools/lint@v2"), Some(store.path().join("octo/tools@v2/lint")));
        assert_eq!(find(store.path(), "octo/greet@V1"), None, "the ref is matched exactly");
        assert_eq!(find(store.path(), "octo/tools@v2"), None, "no action.yml at the root");
        Ok(())
    }

    #[test]
    fn unknown_actions_are_listed_and_known_ones_are_not() -> Result<(), Box<dyn std::error::Error>> {
        let store = tempfile::tempdir()?;
        let repo = tempfile::tempdir()?;
        write(&store.path().join("octo/greet@v1/action.yml"), "runs:\n  using: node20\n  main: index.js\n")?;
        write(&store.path().join("octo/greet@v1/index.js"), "")?;
        write(&store.path().join("octo/nomain@v1/action.yml"), "runs:\n  using: node20\n  main: dist/index.js\n")?;
        write(&store.path().join("octo/box@v1/action.yml"), "runs:\n  using: docker\n  image: Dockerfile\n")?;
        write(
            &store.path().join("octo/both@v1/action.yml"),
            "runs:\n  using: composite\n  steps:\n    - uses: octo/missing@v3\n    - uses: actions/checkout@v4\n",
        )?;
        write(&repo.path().join(".github/actions/local/action.yml"), "runs:\n  using: composite\n  steps: []\n")?;
        let steps = vec![
            uses("actions/checkout@v4"),
            uses("actions/upload-artifact@v3"),
            uses("octo/greet@v1"),
            uses("./.github/actions/local"),
            uses("./.github/actions/missing"),
            uses("octo/unknown@v1"),
            uses("octo/box@v1"),
            uses("octo/both@v1"),
            uses("octo/nomain@v1"),
            uses("docker://alpine:3"),
        ];
        let unknown = unknown_actions(&plan(steps.clone()), Some(store.path()), repo.path());
        let names: Vec<&str> = unknown.iter().map(|unknown| unknown.action.as_str()).collect();
        assert_eq!(
            names,
            [
                "./.github/actions/missing",
                "octo/unknown@v1",
                "octo/box@v1",
                "octo/missing@v3",
                "octo/nomain@v1",
                "docker://alpine:3"
            ]
        );
        assert!(unknown[1].message.contains("neither built in nor in the action store"), "{unknown:?}");
        assert!(unknown[1].hint.contains("/octo/unknown@v1/action.yml"), "{unknown:?}");
        assert!(unknown[2].message.contains("no container engine"), "{unknown:?}");
        let kinds: Vec<UnknownKind> = unknown.iter().map(|unknown| unknown.kind).collect();
        assert_eq!(
            kinds,
            [
                UnknownKind::MissingLocal,
                UnknownKind::NotFound,
                UnknownKind::Docker,
                UnknownKind::NotFound,
                UnknownKind::Unusable,
                UnknownKind::Docker
            ]
        );
        assert!(unknown[3].message.contains("(used by the composite action `octo/both@v1`)"), "{unknown:?}");
        // Without a store, every action of the store is unknown, and the hint says `--actions`.
        let without = unknown_actions(&plan(steps), None, repo.path());
        assert_eq!(without.len(), 7, "{without:?}");
        assert!(without.iter().any(|unknown| unknown.action == "octo/greet@v1"
            && unknown.message.contains("no action store is given")
            && unknown.hint.contains("`--actions DIR`")));
        Ok(())
    }

    #[test]
    fn a_local_action_under_a_checkout_path_is_found_in_the_repository() -> Result<(), Box<dyn std::error::Error>> {
        let repo = tempfile::tempdir()?;
        write(&repo.path().join("tools/x/action.yml"), "runs:\n  using: composite\n  steps: []\n")?;
        let checkout =
            Step::new(Action::Uses { action: "actions/checkout@v4".into(), with: vec![("path".into(), "src".into())] });
        let unknown = unknown_actions(&plan(vec![checkout, uses("./src/tools/x")]), None, repo.path());
        assert!(unknown.is_empty(), "{unknown:?}");
        Ok(())
    }
}
