//! An in-memory [`TaskHost`] for tests: a real working directory (a temporary directory), recorded
//! logs, issues, variables, artifacts, test results and coverage, and commands that are recorded
//! and answered with a chosen exit code instead of being run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::host::{CommandLine, HostError, PostJob, SetVariable, TaskHost};

/// What a fake job saw.
#[derive(Default)]
pub struct FakeHost {
    /// The job's default working directory.
    pub working_directory: PathBuf,
    /// Variables by name (looked up ignoring case).
    pub variables: BTreeMap<String, String>,
    /// Variables set by the task, with their options.
    pub set: Vec<(String, String, SetVariable)>,
    /// Log lines.
    pub log: Vec<String>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Errors.
    pub errors: Vec<String>,
    /// Directories prepended to `PATH`.
    pub path: Vec<PathBuf>,
    /// Commands the task ran.
    pub commands: Vec<CommandLine>,
    /// The exit code every command returns.
    pub exit_code: i32,
    /// When set, no program can be started (as when it is not on the `PATH`): `run` fails with
    /// this message.
    pub cannot_start: Option<String>,
    /// Published artifacts: name and path.
    pub published: Vec<(String, PathBuf)>,
    /// Where artifacts live: `artifacts/<name>` below this directory, when set.
    pub artifact_store: Option<PathBuf>,
    /// Published test results.
    pub test_results: Vec<slipway_events::TestRun>,
    /// Published coverage.
    pub coverage: Vec<slipway_events::Coverage>,
    /// The cache store directory.
    pub cache: PathBuf,
    /// Secret variables.
    pub secrets: Vec<(String, String)>,
    /// Post-job actions, by display name.
    pub post_jobs: Vec<(String, PostJob)>,
}

impl FakeHost {
    /// A host whose working directory is `directory`, with a cache store beside it.
    #[must_use]
    pub fn new(directory: &Path) -> Self {
        Self { working_directory: directory.to_path_buf(), cache: directory.join(".cache-store"), ..Self::default() }
    }

    /// A host on which no program can be started.
    #[must_use]
    pub fn without_programs(mut self) -> Self {
        self.cannot_start = Some("No such file or directory (os error 2)".to_owned());
        self
    }

    /// Sets a variable.
    #[must_use]
    pub fn with_variable(mut self, name: &str, value: &str) -> Self {
        self.variables.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Runs the registered post-job actions, last first.
    pub fn run_post_jobs(&mut self) -> Vec<crate::Outcome> {
        let actions: Vec<(String, PostJob)> = std::mem::take(&mut self.post_jobs);
        actions.into_iter().rev().map(|(_, action)| action(self)).collect()
    }
}

impl TaskHost for FakeHost {
    fn variable(&self, name: &str) -> Option<String> {
        let known =
            self.variables.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone());
        // A real job always defines its default working directory.
        known.or_else(|| {
            name.eq_ignore_ascii_case("System.DefaultWorkingDirectory")
                .then(|| self.working_directory.display().to_string())
        })
    }

    fn set_variable(&mut self, name: &str, value: &str, options: SetVariable) {
        self.variables.insert(name.to_owned(), value.to_owned());
        self.set.push((name.to_owned(), value.to_owned(), options));
    }

    fn working_directory(&self) -> PathBuf {
        self.working_directory.clone()
    }

    fn log(&mut self, line: &str) {
        self.log.push(line.to_owned());
    }

    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }

    fn error(&mut self, message: &str) {
        self.errors.push(message.to_owned());
    }

    fn prepend_path(&mut self, directory: &Path) {
        self.path.insert(0, directory.to_path_buf());
    }

    fn run(&mut self, command: &CommandLine) -> Result<i32, HostError> {
        if let Some(reason) = &self.cannot_start {
            return Err(HostError::Failed(reason.clone().into()));
        }
        self.log.push(format!("[command]{}", command.display()));
        self.commands.push(command.clone());
        Ok(self.exit_code)
    }

    fn publish_artifact(&mut self, name: &str, path: &Path) -> Result<(), HostError> {
        if !path.exists() {
            return Err(HostError::Failed(format!("path does not exist: {}", path.display()).into()));
        }
        self.published.push((name.to_owned(), path.to_path_buf()));
        Ok(())
    }

    fn download_artifact(&mut self, name: Option<&str>, target: &Path, patterns: &[String]) -> Result<(), HostError> {
        let Some(store) = &self.artifact_store else {
            return Err(HostError::Failed("no artifacts in this fake job".into()));
        };
        let source = store.join(name.unwrap_or_default());
        let _ = patterns;
        copy_tree(&source, target).map_err(|error| HostError::Failed(Box::new(error)))
    }

    fn publish_test_results(&mut self, results: slipway_events::TestRun) {
        self.test_results.push(results);
    }

    fn publish_coverage(&mut self, coverage: slipway_events::Coverage) {
        self.coverage.push(coverage);
    }

    fn cache_directory(&self) -> PathBuf {
        self.cache.clone()
    }

    fn is_canceled(&self) -> bool {
        false
    }

    fn secret_variables(&self) -> Vec<(String, String)> {
        self.secrets.clone()
    }

    fn post_job(&mut self, display_name: &str, action: PostJob) {
        self.post_jobs.push((display_name.to_owned(), action));
    }
}

fn copy_tree(source: &Path, target: &Path) -> std::io::Result<()> {
    if source.is_dir() {
        std::fs::create_dir_all(target)?;
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, target).map(|_| ())
    }
}
