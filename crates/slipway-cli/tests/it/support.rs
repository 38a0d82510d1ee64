//! Running the real `slipway` binary and recording what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// A command running the `slipway` binary built for these tests, in `directory`.
pub fn slipway(directory: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command.current_dir(directory).env("NO_COLOR", "1").env_remove("SLIPWAY_SERVER");
    command
}

/// Runs a command and renders its whole transcript: exit code, stdout and stderr, with
/// machine-specific paths replaced by `[WORKSPACE]`.
pub fn transcript(command: &mut Command) -> String {
    let output = command.output().expect("slipway runs");
    let workspace = workspace().display().to_string();
    let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&workspace, "[WORKSPACE]");
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().map_or_else(|| "signal".to_owned(), |code| code.to_string()),
        clean(&output.stdout),
        clean(&output.stderr)
    )
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch repository holding a copy of a fixture pipeline as `azure-pipelines.yml` (so
/// `checkout: self` in place touches nothing of ours), a work directory that its runs share (so
/// counters and the cache store persist between them), and an empty user configuration
/// directory. Removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Scratch {
    /// A repository with `pipeline` as its `azure-pipelines.yml` and an `input.txt`.
    pub fn new(pipeline: &Path) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "slipway-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Self { dir };
        std::fs::create_dir_all(scratch.dir.join("config")).unwrap_or_else(|error| panic!("{error}"));
        scratch.copy(pipeline, "azure-pipelines.yml");
        scratch.write("input.txt", "input from the repository\n");
        scratch
    }

    /// A repository with the pipeline `tests/it/fixtures/run/NAME`.
    pub fn run_fixture(name: &str) -> Self {
        Self::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/run").join(name))
    }

    /// The repository.
    pub fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    /// Copies `source` to `target` in the repository.
    pub fn copy(&self, source: &Path, target: &str) {
        let target = self.repo().join(target);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::copy(source, &target).unwrap_or_else(|error| panic!("{}: {error}", source.display()));
    }

    /// Writes `text` to `path` in the repository.
    pub fn write(&self, path: &str, text: &str) {
        let path = self.repo().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }

    /// `slipway run ARGS` in the repository, with the scratch work and configuration directories.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .arg("run")
            .args(args)
            .current_dir(self.repo())
            .env("SLIPWAY_WORK_DIR", self.dir.join("work"))
            .env("SLIPWAY_KILL_GRACE_MS", "300")
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("NO_COLOR", "1");
        command
    }

    /// Runs `slipway run ARGS`.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_env(args, &[])
    }

    /// Runs `slipway run ARGS` with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap_or_else(|error| panic!("{error}"));
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Whether stdout holds `text`.
    pub fn has(&self, text: &str) -> bool {
        self.stdout.contains(text)
    }

    /// Asserts stdout holds each of `texts`.
    #[track_caller]
    pub fn expect(&self, texts: &[&str]) {
        for text in texts {
            assert!(self.has(text), "missing {text:?} in:\n{}\n{}", self.stdout, self.stderr);
        }
    }

    /// Asserts stdout holds none of `texts`.
    #[track_caller]
    pub fn refuse(&self, texts: &[&str]) {
        for text in texts {
            assert!(!self.has(text), "unexpected {text:?} in:\n{}", self.stdout);
        }
    }
}
