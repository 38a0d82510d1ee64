//! A fake job for the command tasks' tests: a working directory and the usual directories
//! below a temporary directory, recorded commands shown with the root as `<root>`.

use std::path::{Path, PathBuf};

use crate::fake::FakeHost;
use crate::host::{CommandLine, PostJob, SetVariable, TaskHost};
use crate::{InputSpec, Inputs};

/// A fake job.
pub(crate) struct Job {
    /// The temporary directory everything is below.
    pub root: tempfile::TempDir,
    /// The job.
    pub host: FakeHost,
    /// Whether programs are missing (every `run` fails to start).
    pub missing: bool,
}

impl Job {
    /// A job whose working directory is `s`, with `a` as the staging directory, `_temp` as the
    /// temporary directory and `w` as the build directory; build 42.
    pub(crate) fn new() -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        for dir in ["s", "a", "_temp", "w"] {
            std::fs::create_dir_all(root.path().join(dir)).expect("directory");
        }
        let path = |dir: &str| root.path().join(dir).display().to_string();
        let host = FakeHost::new(&root.path().join("s"))
            .with_variable("System.DefaultWorkingDirectory", &path("s"))
            .with_variable("Build.ArtifactStagingDirectory", &path("a"))
            .with_variable("Agent.TempDirectory", &path("_temp"))
            .with_variable("Agent.BuildDirectory", &path("w"))
            .with_variable("Build.BuildId", "42");
        Self { root, host, missing: false }
    }

    /// A job where no program can be started.
    pub(crate) fn missing_programs() -> Self {
        Self { missing: true, ..Self::new() }
    }

    /// A path below the root.
    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// Writes a file below the root.
    pub(crate) fn file(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("directory");
        std::fs::write(path, text).expect("file");
    }

    /// `text` with the root shown as `<root>`.
    pub(crate) fn shown(&self, text: &str) -> String {
        text.replace(&self.root.path().display().to_string(), "<root>")
    }

    /// The commands run, as typed.
    pub(crate) fn commands(&self) -> Vec<String> {
        self.host.commands.iter().map(|command| self.shown(&command.display())).collect()
    }
}

/// Resolves test inputs.
pub(crate) fn resolve(specs: &[InputSpec], pairs: &[(&str, &str)]) -> Inputs {
    let given: Vec<(String, String)> =
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
    Inputs::resolve(specs, &given).expect("valid inputs")
}

/// A host on which no program can be started.
pub(crate) struct Missing<'a>(pub &'a mut FakeHost);

impl TaskHost for Missing<'_> {
    fn variable(&self, name: &str) -> Option<String> {
        self.0.variable(name)
    }
    fn set_variable(&mut self, name: &str, value: &str, options: SetVariable) {
        self.0.set_variable(name, value, options);
    }
    fn working_directory(&self) -> PathBuf {
        self.0.working_directory()
    }
    fn log(&mut self, line: &str) {
        self.0.log(line);
    }
    fn warning(&mut self, message: &str) {
        self.0.warning(message);
    }
    fn error(&mut self, message: &str) {
        self.0.error(message);
    }
    fn prepend_path(&mut self, directory: &Path) {
        self.0.prepend_path(directory);
    }
    fn run(&mut self, _command: &CommandLine) -> Result<i32, String> {
        Err("program not found".to_owned())
    }
    fn publish_artifact(&mut self, name: &str, path: &Path) -> Result<(), String> {
        self.0.publish_artifact(name, path)
    }
    fn download_artifact(&mut self, name: Option<&str>, target: &Path, patterns: &[String]) -> Result<(), String> {
        self.0.download_artifact(name, target, patterns)
    }
    fn publish_test_results(&mut self, results: slipway_events::TestRun) {
        self.0.publish_test_results(results);
    }
    fn publish_coverage(&mut self, coverage: slipway_events::Coverage) {
        self.0.publish_coverage(coverage);
    }
    fn cache_directory(&self) -> PathBuf {
        self.0.cache_directory()
    }
    fn is_canceled(&self) -> bool {
        self.0.is_canceled()
    }
    fn secret_variables(&self) -> Vec<(String, String)> {
        self.0.secret_variables()
    }
    fn post_job(&mut self, display_name: &str, action: PostJob) {
        self.0.post_job(display_name, action);
    }
}
