//! The executor interface: what runs one job (one leg) of a plan, here or, later, on an agent.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slipway_events::{EventSink, TaskResult};
use slipway_plan::{Job, Plan, Stage};

use crate::artifacts::ArtifactStore;
use slipway_driver::Masker;
use slipway_driver::{LegId, Variables};

/// Tells running work that the run was cancelled. Cheap to clone; all clones share the state.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicU8>);

impl CancelToken {
    /// A token that was not cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a cancel: running steps are stopped (SIGTERM, a grace period, SIGKILL), then what
    /// runs after a cancel (`always()`, `canceled()`) runs. A second call forces: everything is
    /// killed at once and nothing more starts.
    pub fn cancel(&self) {
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |level| Some((level + 1).min(2)));
    }

    /// Whether a cancel was asked for.
    #[must_use]
    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::SeqCst) >= 1
    }

    /// Whether a second cancel forced the run to stop at once.
    #[must_use]
    pub fn is_forced(&self) -> bool {
        self.0.load(Ordering::SeqCst) >= 2
    }
}

/// Where the run happens and what every job of it shares.
#[derive(Debug)]
pub struct RunContext {
    /// The run's own directory: job workspaces, temporary files, artifacts.
    pub run_dir: PathBuf,
    /// The repository the pipeline belongs to, used in place by `checkout: self`.
    pub source_dir: PathBuf,
    /// Whether `checkout: self` copies the working tree instead (`--isolated`).
    pub isolated: bool,
    /// The pipeline artifact store.
    pub artifacts: ArtifactStore,
    /// The run's secrets.
    pub masker: Masker,
    /// `Build.BuildNumber`, which steps may change.
    pub build_number: Mutex<String>,
    /// Tags added by steps.
    pub tags: Mutex<Vec<String>>,
    /// Time between SIGTERM and SIGKILL when stopping a step.
    pub kill_grace: Duration,
    /// Hands out job directory numbers.
    pub job_counter: AtomicUsize,
    /// How long a minute of `timeoutInMinutes` lasts (a minute, except in tests).
    pub minute: Duration,
    /// Task folders that `task:` steps may use, searched before the built-in tasks.
    pub task_folders: Vec<slipway_tasks::folder::TaskFolder>,
    /// Whether `task:` steps whose task is not available are skipped (with a warning) instead of
    /// failing.
    pub skip_unknown_tasks: bool,
    /// The local cache store of `Cache@2`, kept between runs.
    pub cache_dir: PathBuf,
    /// The environment steps start from, before the job's variables and the step's `env:`;
    /// this process's environment when `None` (as an agent passes its own on).
    pub base_environment: Option<Vec<(String, String)>>,
    /// The delivery room and the agent's slot processes, when a server runs the job.
    pub delivery: Option<Arc<crate::delivery::DeliveryLink>>,
    /// The GitHub action store (`slipway run --actions DIR`; see [`crate::github::store`]).
    pub actions_dir: Option<PathBuf>,
}

impl RunContext {
    /// A context for a run in `run_dir` of the repository at `source_dir`.
    #[must_use]
    pub fn new(run_dir: PathBuf, source_dir: PathBuf, isolated: bool, build_number: String) -> Self {
        Self {
            artifacts: ArtifactStore::new(run_dir.join("artifacts")),
            cache_dir: run_dir.join("cache"),
            run_dir,
            source_dir,
            isolated,
            masker: Masker::new(),
            build_number: Mutex::new(build_number),
            tags: Mutex::new(Vec::new()),
            kill_grace: Duration::from_secs(5),
            job_counter: AtomicUsize::new(0),
            minute: Duration::from_secs(60),
            task_folders: Vec::new(),
            skip_unknown_tasks: false,
            actions_dir: None,
            base_environment: None,
            delivery: None,
        }
    }
}

/// One leg to run.
#[derive(Clone, Debug)]
pub struct JobRequest {
    /// The whole plan.
    pub plan: Arc<Plan>,
    /// Which leg.
    pub leg: LegId,
    /// The job's id in events: `stage.job` or `stage.job.leg`.
    pub id: String,
    /// Its variables (pipeline, stage, job and leg scopes, resolved).
    pub variables: Variables,
    /// What the run's jobs share.
    pub run: Arc<RunContext>,
}

impl JobRequest {
    /// The stage of the job.
    #[must_use]
    pub fn stage(&self) -> Option<&Stage> {
        self.plan.stages.get(self.leg.stage)
    }

    /// The job.
    #[must_use]
    pub fn job(&self) -> Option<&Job> {
        self.stage()?.jobs.get(self.leg.job)
    }
}

/// How a leg ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutcome {
    /// The leg's result.
    pub result: TaskResult,
    /// Output variables, `step.var` (or the deployment forms) to value.
    pub outputs: Vec<(String, String)>,
    /// Why it ended this way, when not obvious.
    pub message: Option<String>,
}

/// Runs jobs. The local implementation is [`crate::local::LocalExecutor`]; tests use fakes, and
/// agents will implement it by sending the job away.
pub trait Executor: Send + Sync {
    /// Runs one leg to its end, sending step, log and other events of the job to `events`.
    /// `cancel` tells it the run was cancelled.
    fn run_job(&self, request: JobRequest, events: &dyn EventSink, cancel: &CancelToken) -> JobOutcome;
}
