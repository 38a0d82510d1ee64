//! The `validate`, `expand` and `plan` commands, and loading a pipeline into a plan for `run`.
//!
//! This is the edge of the Azure front end: it reads files from disk (through [`RepositoryFiles`], which never reads outside the repository),
//! learns the compile-time variables from the git checkout, and prints diagnostics, expanded YAML
//! and plans. Everything between is the pure `slipway_azure` crate.
//!
//! It is the edge of the GitHub Actions front end (`slipway_github`) too: a file is a GitHub
//! workflow by its path (`.github/workflows/*.yml`) or content (top-level `on` and `jobs`), or
//! when `--dialect github` says so. `validate` checks workflows (and the reusable workflows of
//! the same repository that they call); `expand` prints a workflow as GitHub reads it, and
//! `plan` and `run` lower it into the plan (`--param` giving its `workflow_dispatch` inputs).

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use crate::output::{out, outln};
use clap::{Args, ValueEnum};
use slipway_azure::{FileSystem, Location, Options};
use slipway_diagnostics::{Diagnostic, SourceMap, render_all};
use slipway_plan::Plan;
use slipway_source::RepositoryFiles;

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: `file:line:col`, the source line and a caret, on stderr.
    #[default]
    Text,
    /// For tools: one JSON document on stdout.
    Json,
}

/// The pipeline dialects Slipway reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// An Azure Pipelines YAML file.
    Azure,
    /// A GitHub Actions workflow.
    Github,
}

/// Options shared by every command that loads a pipeline.
#[derive(Args, Clone, Debug, Default)]
pub struct LoadArgs {
    /// The file's dialect; by default chosen by its path (`.github/workflows/*.yml` is GitHub
    /// Actions) and content (top-level `on` and `jobs` whose jobs have `runs-on`, `uses` or `steps`).
    #[arg(long, value_enum)]
    pub dialect: Option<Dialect>,
    /// A runtime parameter value; objects and lists as YAML or JSON text. Repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub parameters: Vec<(String, String)>,
    /// A local checkout of a repository named in `resources.repositories`, for `file@ALIAS` templates. Repeatable.
    #[arg(long = "repo", value_name = "ALIAS=PATH", value_parser = parse_pair)]
    pub repositories: Vec<(String, String)>,
}

/// Arguments of `slipway validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Pipeline files to check.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub load: LoadArgs,
    /// A directory of task folders, or one task folder, where `task:` steps may find their task
    /// besides the built-in ones (repeatable; as `slipway run --tasks`, with the configuration
    /// files' `[tasks]` too).
    #[arg(long = "tasks", value_name = "DIR")]
    pub tasks: Vec<PathBuf>,
    /// Report `task:` steps whose task is unknown as warnings (`slipway run --skip-unknown-tasks`
    /// skips them) instead of errors.
    #[arg(long)]
    pub skip_unknown_tasks: bool,
    /// The action store of GitHub workflows (as `slipway run --actions`): `uses:` steps may find
    /// their action there besides the built-in and local ones.
    #[arg(long = "actions", value_name = "DIR")]
    pub actions: Option<PathBuf>,
}

/// Arguments of `slipway expand`.
#[derive(Args)]
pub struct ExpandArgs {
    /// The pipeline file.
    pub path: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Arguments of `slipway plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// The pipeline file.
    pub path: PathBuf,
    /// Output format (the plan is printed as JSON).
    #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
    pub format: PlanFormat,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// Output formats of `slipway plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The plan as pretty-printed JSON.
    Json,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

/// `path` relative to `base` when it lies below it, else `path` as it is.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base).map(Path::to_path_buf).unwrap_or_else(|_| path.to_path_buf())
}

/// Makes `path` absolute and removes `.` and `..` without touching the disk.
fn absolute(path: &Path, current_directory: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { current_directory.join(path) };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A loaded pipeline: where it is and everything the front end said about it.
pub struct Loaded {
    /// Every file read.
    pub sources: SourceMap,
    /// The expanded document, if expansion got that far.
    pub expanded: Option<slipway_yaml::Node>,
    /// The plan, if the pipeline is valid.
    pub plan: Option<Plan>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The repository the entry file belongs to (its git checkout, or its directory outside git).
    pub root: PathBuf,
}

/// Where the file at `path` is: the absolute entry, its repository's root (its git checkout, or
/// its directory outside git), its location in that repository, and the current directory.
fn entry(path: &Path) -> (PathBuf, PathBuf, Location, PathBuf) {
    let current_directory = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let entry = absolute(path, &current_directory);
    let start = entry.parent().map_or_else(|| current_directory.clone(), Path::to_path_buf);
    let root = crate::git::repository_root(&start).unwrap_or(start);
    let relative = relative_to(&entry, &root);
    let location = Location::local(relative.to_string_lossy().replace('\\', "/"));
    (entry, root, location, current_directory)
}

/// Reads, checks and lowers the file at `path` as a GitHub Actions workflow when it is one (by
/// `args.dialect`, or else by its path and content), with `args.parameters` as its inputs;
/// `None` when it is an Azure pipeline. The file, and each reusable workflow of the same
/// repository it calls (`uses: ./.github/workflows/x.yml`), is read through
/// [`RepositoryFiles`], so nothing outside the repository is read.
pub fn github_workflow(path: &Path, args: &LoadArgs) -> Option<slipway_github::Compiled> {
    if args.dialect == Some(Dialect::Azure) {
        return None;
    }
    let (_, root, location, current_directory) = entry(path);
    let files = RepositoryFiles::new(&root).shown_relative_to(&current_directory);
    let is_github = args.dialect == Some(Dialect::Github)
        || slipway_github::looks_like_workflow(&location.path, &files.read(&location).unwrap_or_default());
    if !is_github {
        return None;
    }
    // On a thread of its own with a large stack, as an Azure pipeline is: a panic (a bug) is a
    // diagnostic, never the end of the process.
    let compiled = slipway_source::contained(|| {
        let read = |relative: &str| {
            let location = Location::local(relative);
            let text = files.read(&location).map_err(|error| error.to_string())?;
            Ok((files.display_name(&location), text))
        };
        slipway_github::compile(&location.path, &read, &args.parameters)
    });
    Some(compiled.unwrap_or_else(|panicked| slipway_github::Compiled {
        sources: SourceMap::new(),
        checked: slipway_github::Checked {
            workflow: None,
            diagnostics: vec![Diagnostic::error("E0001", panicked.to_string(), None)],
        },
        lowering: Vec::new(),
        plan: None,
    }))
}

/// The plan of a compiled workflow, after printing its diagnostics; else the exit code (2).
fn github_plan(compiled: slipway_github::Compiled) -> Result<(Plan, SourceMap), ExitCode> {
    let diagnostics: Vec<Diagnostic> = compiled.diagnostics().cloned().collect();
    print_diagnostics(&diagnostics, &compiled.sources);
    match compiled.plan {
        Some(plan) => Ok((plan, compiled.sources)),
        None => Err(ExitCode::from(2)),
    }
}

/// Loads, expands, validates and lowers the pipeline at `path`.
pub fn load(path: &Path, args: &LoadArgs) -> Loaded {
    let (entry, root, location, current_directory) = entry(path);
    // The pipeline's own repository is the git checkout that holds the entry file (or the entry
    // file's directory outside git); others come from `--repo`. No file outside them is read.
    let file_system = args
        .repositories
        .iter()
        .fold(RepositoryFiles::new(&root).shown_relative_to(&current_directory), |files, (alias, path)| {
            files.with_repository(alias, absolute(Path::new(path), &current_directory))
        });
    let options =
        Options { parameters: args.parameters.clone(), variables: crate::git::compile_time_variables(&root, &entry) };
    let compiled = match slipway_source::contained(|| slipway_azure::compile(&location, &file_system, &options)) {
        Ok(compiled) => compiled,
        Err(panicked) => {
            let diagnostic = Diagnostic::error("E0001", panicked.to_string(), None);
            return Loaded {
                sources: SourceMap::new(),
                expanded: None,
                plan: None,
                diagnostics: vec![diagnostic],
                root,
            };
        }
    };
    Loaded {
        sources: compiled.sources,
        expanded: compiled.expanded,
        plan: compiled.plan,
        diagnostics: compiled.diagnostics,
        root,
    }
}

fn print_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap) {
    if !diagnostics.is_empty() {
        eprint!("{}", render_all(diagnostics, sources));
    }
}

fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

/// `slipway validate`.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    let mut valid = true;
    let mut reports = Vec::new();
    let store = match crate::run::actions::store(args.actions.as_deref()) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for path in &args.paths {
        if let Some(workflow) = github_workflow(path, &args.load) {
            let mut diagnostics = workflow.checked.diagnostics.clone();
            // Every `uses:` step needs an action that can run here, as `slipway run` checks
            // before it starts.
            if let Some(plan) = &workflow.plan {
                let (_, root, _, _) = entry(path);
                diagnostics.extend(crate::run::actions::check(plan, store.as_deref(), &root));
            }
            let ok = workflow.checked.workflow.is_some() && !has_errors(&diagnostics);
            valid &= ok;
            let diagnostics = &diagnostics;
            match args.format {
                Format::Text => {
                    print_diagnostics(diagnostics, &workflow.sources);
                    match &workflow.checked.workflow {
                        Some(checked) if ok => outln!("{}: valid ({})", path.display(), github_summary(checked)),
                        _ => eprintln!("{}: invalid", path.display()),
                    }
                }
                Format::Json => reports.push(serde_json::json!({
                    "path": path.display().to_string(),
                    "dialect": "github",
                    "valid": ok,
                    "diagnostics": diagnostics.iter().map(|diagnostic| diagnostic.to_json(&workflow.sources)).collect::<Vec<_>>(),
                })),
            }
            continue;
        }
        let mut loaded = load(path, &args.load);
        // Every `task:` step needs a task, as `slipway run` checks before it starts.
        if let Some(plan) = &loaded.plan {
            match crate::run::tasks::directories(&args.tasks, &loaded.root) {
                Ok(directories) => {
                    let folders = crate::run::tasks::discover(&directories);
                    loaded.diagnostics.extend(crate::run::tasks::check(plan, &folders, args.skip_unknown_tasks));
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            }
        }
        let ok = !has_errors(&loaded.diagnostics) && loaded.plan.is_some();
        valid &= ok;
        match args.format {
            Format::Text => {
                print_diagnostics(&loaded.diagnostics, &loaded.sources);
                if ok {
                    let summary = loaded.plan.as_ref().map(summary).unwrap_or_default();
                    outln!("{}: valid ({summary})", path.display());
                } else {
                    eprintln!("{}: invalid", path.display());
                }
            }
            Format::Json => reports.push(serde_json::json!({
                "path": path.display().to_string(),
                "valid": ok,
                "diagnostics": loaded.diagnostics.iter().map(|diagnostic| diagnostic.to_json(&loaded.sources)).collect::<Vec<_>>(),
            })),
        }
    }
    if args.format == Format::Json {
        let document = serde_json::json!({ "valid": valid, "files": reports });
        outln!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
    }
    if valid { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

/// `3 stages, 5 jobs, 12 steps`.
fn summary(plan: &Plan) -> String {
    let plural = |count: usize, word: &str| if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") };
    let jobs = plan.jobs().count();
    let steps: usize = plan
        .jobs()
        .map(|(_, job)| match &job.kind {
            slipway_plan::JobKind::Deployment(deployment) => deployment.hooks.iter().map(|hook| hook.steps.len()).sum(),
            _ => job.steps.len(),
        })
        .sum();
    format!("{}, {}, {}", plural(plan.stages.len(), "stage"), plural(jobs, "job"), plural(steps, "step"))
}

/// `GitHub Actions workflow: 2 jobs, 5 steps`.
fn github_summary(workflow: &slipway_github::Workflow) -> String {
    let plural = |count: usize, word: &str| if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") };
    format!(
        "GitHub Actions workflow: {}, {}",
        plural(workflow.jobs.len(), "job"),
        plural(workflow.step_count(), "step")
    )
}

/// `slipway expand`.
pub fn expand(args: &ExpandArgs) -> ExitCode {
    if let Some(workflow) = github_workflow(&args.path, &args.load) {
        // A workflow has no templates: expanded, it is the workflow as GitHub reads it (anchors
        // and aliases resolved), once it is valid and can become a plan.
        let sources = match github_plan(workflow) {
            Ok((_, sources)) => sources,
            Err(code) => return code,
        };
        let Some(text) = sources.get(slipway_diagnostics::FileId(0)).map(|file| file.text.clone()) else {
            return ExitCode::from(2);
        };
        return match slipway_github::read(&text, slipway_diagnostics::FileId(0)) {
            Ok(root) => {
                out!("{}", slipway_yaml::emit(&root));
                ExitCode::SUCCESS
            }
            Err(diagnostics) => {
                print_diagnostics(&diagnostics, &sources);
                ExitCode::from(2)
            }
        };
    }
    let loaded = load(&args.path, &args.load);
    print_diagnostics(&loaded.diagnostics, &loaded.sources);
    match loaded.expanded {
        Some(root) if !has_errors(&loaded.diagnostics) => {
            out!("{}", slipway_yaml::emit(&root));
            ExitCode::SUCCESS
        }
        _ => ExitCode::from(2),
    }
}

/// `slipway plan`.
pub fn plan(args: &PlanArgs) -> ExitCode {
    let loaded = match github_workflow(&args.path, &args.load) {
        Some(workflow) => match github_plan(workflow) {
            Ok((plan, _)) => Some(plan),
            Err(code) => return code,
        },
        None => {
            let loaded = load(&args.path, &args.load);
            print_diagnostics(&loaded.diagnostics, &loaded.sources);
            loaded.plan.filter(|_| !has_errors(&loaded.diagnostics))
        }
    };
    match loaded {
        Some(plan) => match args.format {
            PlanFormat::Json => match serde_json::to_string_pretty(&plan) {
                Ok(text) => {
                    outln!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: the plan could not be written as JSON: {error}");
                    ExitCode::FAILURE
                }
            },
        },
        _ => ExitCode::from(2),
    }
}

/// Loads, expands, validates and lowers the pipeline at `path`; gives the plan and the files it
/// was read from (for diagnostics about its steps). On failure the diagnostics have been printed
/// (text on stderr) and the exit code to return (2) is given back.
pub fn load_plan(
    path: &Path,
    parameters: &[(String, String)],
    repositories: &[(String, PathBuf)],
) -> Result<(Plan, SourceMap), ExitCode> {
    let args = LoadArgs {
        dialect: None,
        parameters: parameters.to_vec(),
        repositories: repositories.iter().map(|(alias, path)| (alias.clone(), path.display().to_string())).collect(),
    };
    if let Some(workflow) = github_workflow(path, &args) {
        return github_plan(workflow);
    }
    let loaded = load(path, &args);
    print_diagnostics(&loaded.diagnostics, &loaded.sources);
    match loaded.plan {
        Some(plan) if !has_errors(&loaded.diagnostics) => Ok((plan, loaded.sources)),
        _ => Err(ExitCode::from(2)),
    }
}
