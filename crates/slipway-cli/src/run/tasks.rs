//! Where `slipway run` finds tasks, and the check that every `task:` step has one before the run
//! starts.
//!
//! Task folders come from `--tasks DIR` (in the order given), then from the `[tasks]` section of
//! the configuration files: `slipway.toml` at the repository's root, then the user's
//! `$XDG_CONFIG_HOME/slipway/config.toml` (`~/.config/slipway/config.toml` when
//! `XDG_CONFIG_HOME` is not set):
//!
//! ```toml
//! [tasks]
//! directories = ["../azure-pipelines-tasks/Tasks", "/opt/slipway/tasks"]
//! ```
//!
//! Relative directories in a configuration file start at that file's directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use slipway_diagnostics::{Diagnostic, SourceMap, did_you_mean, render_all};
use slipway_plan::Plan;
use slipway_runtime::tasks::{UNKNOWN_TASK_CODE, task_steps, unavailable};
use slipway_tasks::folder::TaskFolder;

/// A configuration file.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    /// The `[tasks]` section.
    #[serde(default)]
    tasks: TasksSection,
}

/// `[tasks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TasksSection {
    /// Directories that hold task folders (or are one).
    #[serde(default)]
    directories: Vec<String>,
}

/// The configuration files that apply to a repository, in the order they count.
fn config_files(repository_root: &Path) -> Vec<PathBuf> {
    let mut files = vec![repository_root.join("slipway.toml")];
    let user = std::env::var_os("XDG_CONFIG_HOME").filter(|value| !value.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|value| !value.is_empty()).map(|home| PathBuf::from(home).join(".config"))
    });
    if let Some(directory) = user {
        files.push(directory.join("slipway").join("config.toml"));
    }
    files
}

/// Reads the task directories a configuration file lists, made absolute.
///
/// # Errors
/// When the file exists but cannot be read or is not valid.
fn directories_in(file: &Path) -> Result<Vec<PathBuf>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("could not read {}: {error}", file.display())),
    };
    let config: ConfigFile = toml::from_str(&text)
        .map_err(|error| format!("{} is not a valid configuration file: {error}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(config.tasks.directories.iter().map(|directory| base.join(directory)).collect())
}

/// Every task directory: those given with `--tasks`, then those of the configuration files.
///
/// # Errors
/// When a configuration file cannot be read or is not valid.
pub fn directories(given: &[PathBuf], repository_root: &Path) -> Result<Vec<PathBuf>, String> {
    let mut all: Vec<PathBuf> = given.to_vec();
    for file in config_files(repository_root) {
        all.extend(directories_in(&file)?);
    }
    Ok(all)
}

/// Reads the task folders of the directories; problems with folders are printed as warnings.
pub fn discover(directories: &[PathBuf]) -> Vec<TaskFolder> {
    if directories.is_empty() {
        return Vec::new();
    }
    let discovery = slipway_tasks::folder::discover(directories);
    for problem in &discovery.problems {
        eprintln!("warning: {problem}");
    }
    discovery.folders
}

/// Checks that every `task:` step of the plan has a task. Returns the diagnostics (errors, or
/// warnings when the steps are to be skipped), empty when every task is available.
pub fn check(plan: &Plan, folders: &[TaskFolder], skip_unknown: bool) -> Vec<Diagnostic> {
    let known: Vec<String> = slipway_tasks::builtin::all()
        .map(|task| task.name.to_owned())
        .chain(folders.iter().map(|folder| folder.name.clone()))
        .collect();
    let mut diagnostics = Vec::new();
    for task in task_steps(plan) {
        let reference = task.reference();
        let Some(problem) = unavailable(&reference, folders) else { continue };
        let mut diagnostic = if skip_unknown {
            Diagnostic::warning(UNKNOWN_TASK_CODE, format!("{problem}; the step is skipped"), task.step.span)
        } else {
            Diagnostic::error(UNKNOWN_TASK_CODE, problem, task.step.span)
                .with_hint("add a folder that holds the task with `--tasks DIR` (or under `[tasks] directories` in slipway.toml), or run the other steps with `--skip-unknown-tasks`")
        };
        let has_name = known.iter().any(|name| name.eq_ignore_ascii_case(&reference.name));
        if !has_name && let Some(close) = did_you_mean(&reference.name, known.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_note(format!("did you mean `{close}`?"));
        }
        diagnostics.push(diagnostic);
    }
    diagnostics
}

/// Prints diagnostics on standard error.
pub fn print(diagnostics: &[Diagnostic], sources: &SourceMap) {
    if !diagnostics.is_empty() {
        eprint!("{}", render_all(diagnostics, sources));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_directories_are_relative_to_the_file() {
        let directory = std::env::temp_dir().join(format!("slipway-config-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&directory);
        let file = directory.join("slipway.toml");
        let _ = std::fs::write(&file, "[tasks]\ndirectories = [\"tasks\", \"/opt/tasks\"]\n");
        assert_eq!(directories_in(&file), Ok(vec![directory.join("tasks"), PathBuf::from("/opt/tasks")]));
        let _ = std::fs::write(&file, "[tasks]\ndirectory = \"tasks\"\n");
        assert!(directories_in(&file).is_err_and(|error| error.contains("unknown field `directory`")));
        assert_eq!(directories_in(&directory.join("missing.toml")), Ok(Vec::new()));
        let _ = std::fs::remove_dir_all(&directory);
    }
}
