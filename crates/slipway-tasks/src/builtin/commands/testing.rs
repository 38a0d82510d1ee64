//! A fake job for the command tasks' tests: a working directory and the usual directories
//! below a temporary directory, recorded commands shown with the root as `<root>`.

use std::path::PathBuf;

use crate::fake::FakeHost;

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
