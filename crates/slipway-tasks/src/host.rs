//! What a running task may ask of the job that runs it.

use std::path::{Path, PathBuf};

/// How to set a variable (`task.setvariable` options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetVariable {
    /// Mask the value everywhere and keep it out of the environment.
    pub secret: bool,
    /// Make it an output variable (`dependencies.J.outputs['step.name']`).
    pub output: bool,
    /// Later steps may not change it.
    pub readonly: bool,
}

/// A process for a task to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// The program (looked up on the job's `PATH`).
    pub program: String,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// Where it runs; the job's default working directory when `None`.
    pub working_directory: Option<PathBuf>,
    /// Extra environment variables.
    pub environment: Vec<(String, String)>,
}

impl CommandLine {
    /// A command line for `program` with `arguments`.
    #[must_use]
    pub fn new(program: impl Into<String>, arguments: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            program: program.into(),
            arguments: arguments.into_iter().map(Into::into).collect(),
            working_directory: None,
            environment: Vec::new(),
        }
    }

    /// The command as a person would type it, for the log.
    #[must_use]
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.arguments.iter().map(String::as_str))
            .map(|word| {
                if word.is_empty() || word.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                    format!("\"{}\"", word.replace('"', "\\\""))
                } else {
                    word.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A version of a service to start in a slot: a process that outlives the job, supervised by the
/// agent that runs the job (restarted when it crashes, stopped when its slot is retired).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotProcess {
    /// `environment/service/slot`, for its log file and messages.
    pub key: String,
    /// The command.
    pub command: CommandLine,
    /// The address it listens on and is checked at (`127.0.0.1`).
    pub host: String,
    /// Its port; the agent picks a free one when `None` (given to it as `PORT`).
    pub port: Option<u16>,
    /// The path that answers 2xx once it is ready (`/healthz`).
    pub health_path: String,
    /// How long it has to become healthy.
    pub health_timeout: std::time::Duration,
}

/// A slot's process that became healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedProcess {
    /// Its port.
    pub port: u16,
    /// Where the router reaches it (`http://127.0.0.1:41234`).
    pub upstream: String,
    /// Its process id.
    pub pid: u32,
    /// Where its output goes.
    pub log_file: PathBuf,
}

/// What a delivery task says when the job has no server to ask (`slipway run`).
pub const NO_DELIVERY: &str = "delivery tasks need the Slipway server: services, slots and their router live there; \
     run this pipeline on a server (`slipway serve`, then `slipway pipelines run`)";

/// Why the job could not do what a task asked of it ([`TaskHost`]'s fallible requests).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The job has no server to ask (`slipway run`): [`NO_DELIVERY`].
    #[error("{NO_DELIVERY}")]
    NoDelivery,
    /// The program is neither a path that exists nor found on the job's `PATH` (the agent's words).
    #[error(
        "Unable to locate executable file: '{0}'. Please verify either the file path exists or the file can be found within a directory specified by the PATH environment variable."
    )]
    ProgramNotFound(String),
    /// The program could not be started.
    #[error("Could not start {program}: {source}")]
    CannotStart {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The step ran out of time while the program ran.
    #[error("The task has timed out.")]
    TimedOut,
    /// The job was canceled while the program ran.
    #[error("The operation was canceled.")]
    Canceled,
    /// The working directory asked for does not exist.
    #[error("The working directory {} does not exist.", .0.display())]
    NoWorkingDirectory(PathBuf),
    /// The server's delivery room refused the request, saying why.
    #[error("{0}")]
    Refused(String),
    /// What the job relies on failed (the artifact store, the slot supervisor, starting a process).
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// Work a task leaves for the end of the job (`Cache@2` saves the cache in a post-job step). It
/// runs after the job's last step, in reverse order of registration, when the job has succeeded
/// so far (the default `succeeded()` condition).
pub type PostJob = Box<dyn FnOnce(&mut dyn TaskHost) -> crate::Outcome + Send>;

/// The job, as a task sees it. The runtime implements this; tests implement it in memory.
pub trait TaskHost {
    /// A variable's value (case-insensitive name), secrets included.
    fn variable(&self, name: &str) -> Option<String>;

    /// Expands `$(name)` macros with the job's variables, as the agent does (a macro naming no
    /// variable stays as written). Values a step wrote were expanded before the task runs; input
    /// defaults such as `$(Build.ArtifactStagingDirectory)` need this.
    fn expand(&self, text: &str) -> String {
        slipway_expr::macros::expand(text, &|name| self.variable(name))
    }

    /// Sets a variable, as `##vso[task.setvariable]` does.
    fn set_variable(&mut self, name: &str, value: &str, options: SetVariable);

    /// `System.DefaultWorkingDirectory`: where relative paths in inputs start.
    fn working_directory(&self) -> PathBuf;

    /// Writes a line to the step's log.
    fn log(&mut self, line: &str);

    /// Records a warning on the step (shown in the summary).
    fn warning(&mut self, message: &str);

    /// Records an error on the step (shown in the summary). Returning [`crate::Outcome::Failed`]
    /// fails the step; an error alone does not.
    fn error(&mut self, message: &str);

    /// Puts a directory first on the `PATH` of this and later steps (`task.prependpath`).
    fn prepend_path(&mut self, directory: &Path);

    /// Runs a process in the job's environment: its output goes to the log, masked, with
    /// logging commands processed. Returns the exit code.
    ///
    /// # Errors
    /// When the process cannot be started (not found, not executable), with a description.
    fn run(&mut self, command: &CommandLine) -> Result<i32, HostError>;

    /// Publishes `path` (a file or a directory) as the pipeline artifact `name`.
    ///
    /// # Errors
    /// When the path does not exist or the artifact store fails.
    fn publish_artifact(&mut self, name: &str, path: &Path) -> Result<(), HostError>;

    /// Downloads the artifact `name` (every artifact when `None`) into `target`, keeping only
    /// files matching `patterns` (minimatch, relative to the artifact; all files when empty).
    ///
    /// # Errors
    /// When no such artifact exists or the files cannot be written.
    fn download_artifact(&mut self, name: Option<&str>, target: &Path, patterns: &[String]) -> Result<(), HostError>;

    /// Keeps a test run's results with the run (`PublishTestResults`).
    fn publish_test_results(&mut self, results: slipway_events::TestRun);

    /// Keeps a code coverage summary with the run (`PublishCodeCoverageResults`).
    fn publish_coverage(&mut self, coverage: slipway_events::Coverage);

    /// The directory of the local cache store that `Cache@2` saves to and restores from.
    fn cache_directory(&self) -> PathBuf;

    /// Whether the job is being cancelled; long tasks should stop soon.
    fn is_canceled(&self) -> bool;

    /// The secret variables (name and value), which task processes receive as `SECRET_<NAME>`.
    fn secret_variables(&self) -> Vec<(String, String)>;

    /// Registers work for a post-job step named `display_name` (shown as `Post-job: NAME`).
    fn post_job(&mut self, display_name: &str, action: PostJob);

    /// Asks the server's delivery room (services, slots, traffic, analysis) on the job's behalf.
    ///
    /// # Errors
    /// When the job has no server ([`NO_DELIVERY`]), or the server refused, saying why.
    fn delivery(
        &mut self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, HostError> {
        let _ = request;
        Err(HostError::NoDelivery)
    }

    /// Starts a slot's process on this agent and waits until it is healthy.
    ///
    /// # Errors
    /// When it cannot start, exits, or is not healthy in time: why, with its last output.
    fn start_slot(&mut self, process: &SlotProcess) -> Result<StartedProcess, HostError> {
        let _ = process;
        Err(HostError::NoDelivery)
    }

    /// How the slot process this agent runs at `upstream` was started (its `PORT` left out), to
    /// start the same version again in another slot (a baseline beside a canary).
    fn slot_command(&mut self, upstream: &str) -> Option<CommandLine> {
        let _ = upstream;
        None
    }

    /// Stops the slot process this agent runs at `upstream`; false when it runs none there.
    fn stop_slot(&mut self, upstream: &str) -> bool {
        let _ = upstream;
        false
    }
}
