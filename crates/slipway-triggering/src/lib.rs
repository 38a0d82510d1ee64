//! Triggers: what starts runs besides people. The decisions are `slipway-triggers`' (Azure's
//! rules, pure); this module feeds them from git and the store, and starts the runs they ask for
//! through [`crate::launch`].
//!
//! - [`poll`]: every `poll_interval`, `git ls-remote` each pipeline's repository, and for each
//!   branch or tag that moved, decide the push with the pipeline file *at the pushed commit*
//!   (`trigger`: branches, tags, paths, `batch`, `none`, `[skip ci]`).
//! - [`webhooks`]: `POST /api/v1/webhooks/{provider}/{pipeline}`, verified with the pipeline's
//!   webhook secret; pushes go through the same decision as polling, pull requests through `pr`
//!   (branches, paths, drafts, `autoCancel`).
//! - [`schedule`]: a ticker that fires `schedules` (cron in UTC, branches, `always`, `batch`),
//!   each branch by the schedules in its own pipeline file, as Azure does.
//! - [`completion`]: watches runs that complete and starts the pipelines whose
//!   `resources.pipelines` triggers match them (branches, stages, tags), evaluated with their
//!   default branch's pipeline file, as Azure does.
//! - [`dispatch`]: checks a manual run of a GitHub Actions workflow against its
//!   `workflow_dispatch` inputs before it is launched.
//!
//! A pipeline file that is a GitHub Actions workflow is read by the GitHub front end
//! (`slipway_triggers::github`) and decided with GitHub's rules by the same four parts: `on.push`,
//! `on.pull_request`, `on.schedule` on the default branch only, and `on.workflow_run`.
//!
//! Each pipeline's trigger work is serialised by a lock, so a push seen by a webhook and by
//! polling at once is decided once (the store's trigger guards make sure of it across servers).
//! Git work happens in a bare mirror per pipeline, `triggers/ID.git` in the data directory.

#![warn(unreachable_pub)]

pub mod completion;
pub mod dispatch;
mod git;
pub mod intake;
mod load;
pub mod poll;
mod pull_requests;
pub mod schedule;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use slipway_engine::Core;
use slipway_engine::LogFailure as _;
use slipway_store::{NewAuditEntry, Pipeline, PipelineId, RunFilter, RunId, RunStatus, Timestamp, TriggerKind};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use git::{GitError, Mirror};
use load::Loaded;
use slipway_engine::launch::{LaunchError, LaunchRequest, Launched};

/// What trigger work needs: the engine's [`Core`] (it dereferences to it) and what the trigger
/// service shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Triggering {
    core: Core,
    shared: Arc<Shared>,
}

impl std::ops::Deref for Triggering {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Triggering {
    /// Trigger work over the engine's `core`.
    #[must_use]
    pub fn new(core: Core) -> Self {
        Self { core, shared: Arc::new(Shared::default()) }
    }

    /// The engine's parts.
    #[must_use]
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// What the trigger service shares: its configuration, per-pipeline locks and caches.
    #[must_use]
    pub fn triggers(&self) -> &Shared {
        &self.shared
    }
}

/// How the trigger service runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerConfig {
    /// How often repositories are polled for pushes; `None` turns polling off (webhooks, schedules
    /// and completions still work).
    pub poll_interval: Option<Duration>,
    /// How often schedules are looked at (cron has minute resolution).
    pub schedule_interval: Duration,
    /// How often completed runs are looked for.
    pub completion_interval: Duration,
    /// How long a webhook delivery waits for its decision before it is answered `202 Accepted`
    /// (the work goes on).
    pub webhook_wait: Duration,
}

/// The default poll interval: one minute.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

impl Default for TriggerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
            schedule_interval: Duration::from_secs(15),
            completion_interval: Duration::from_secs(2),
            webhook_wait: Duration::from_secs(8),
        }
    }
}

/// What the trigger parts share, kept in [`Triggering`].
#[derive(Debug, Default)]
pub struct Shared {
    config: Mutex<TriggerConfig>,
    locks: Mutex<HashMap<PipelineId, Arc<tokio::sync::Mutex<()>>>>,
    /// Wakes the poller before its interval (a batched branch's run completed).
    poke: Notify,
    /// Triggers read per pipeline and commit.
    loaded: Mutex<HashMap<(PipelineId, String, String), Loaded>>,
    /// When this process first saw a schedule that never fired, by pipeline and schedule key.
    first_seen: Mutex<HashMap<(PipelineId, String), Timestamp>>,
    /// The branch each repository's `HEAD` named, for pipelines without a default branch.
    default_branches: Mutex<HashMap<PipelineId, String>>,
}

/// How many trigger definitions are kept in memory before the cache starts over.
const LOADED_CACHE_SIZE: usize = 2048;

impl Shared {
    /// The configuration.
    #[must_use]
    pub fn config(&self) -> TriggerConfig {
        self.config.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the configuration (before the service starts).
    pub fn configure(&self, config: TriggerConfig) {
        *self.config.lock().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// Serialises trigger work on one pipeline.
    pub async fn lock(&self, pipeline: PipelineId) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = Arc::clone(self.locks.lock().unwrap_or_else(PoisonError::into_inner).entry(pipeline).or_default());
        lock.lock_owned().await
    }

    /// Asks the poller to poll now.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    fn cached(&self, key: &(PipelineId, String, String)) -> Option<Loaded> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn remember(&self, key: (PipelineId, String, String), loaded: Loaded) {
        let mut cache = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= LOADED_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, loaded);
    }

    fn default_branch(&self, pipeline: PipelineId) -> Option<String> {
        self.default_branches.lock().unwrap_or_else(PoisonError::into_inner).get(&pipeline).cloned()
    }

    fn remember_default_branch(&self, pipeline: PipelineId, branch: String) {
        self.default_branches.lock().unwrap_or_else(PoisonError::into_inner).insert(pipeline, branch);
    }

    /// When a never-fired schedule was first seen; records `now` the first time.
    fn first_seen(&self, pipeline: PipelineId, key: &str, now: Timestamp) -> Timestamp {
        *self.first_seen.lock().unwrap_or_else(PoisonError::into_inner).entry((pipeline, key.to_owned())).or_insert(now)
    }
}

/// What a trigger did with one event (a moved ref, a pull request, a schedule's fire time, a
/// completed run), as the webhook's answer and the tests see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    /// A run was started.
    Started {
        /// The run.
        run: RunId,
    },
    /// The trigger fired but the pipeline could not be loaded: a failed run says why.
    Failed {
        /// The failed run.
        run: RunId,
        /// Why.
        reason: String,
    },
    /// `batch: true` and a run of the branch is in progress: one run of the newest commit
    /// follows when it completes.
    Batched,
    /// Nothing was started, and why.
    Skipped {
        /// Why, for a person.
        reason: String,
    },
    /// The event was handled already (by a webhook and by polling).
    AlreadyHandled,
    /// It could not be decided now (git or the store failed); it is tried again on the next poll.
    Error {
        /// What went wrong.
        reason: String,
    },
}

impl Outcome {
    fn skipped(reason: impl ToString) -> Self {
        Self::Skipped { reason: reason.to_string() }
    }

    fn error(reason: impl ToString) -> Self {
        Self::Error { reason: reason.to_string() }
    }
}

/// An outcome for one ref, commit or pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    /// What it was about: a ref (`refs/heads/main`), `pull request 7`, a schedule, a run.
    pub subject: String,
    /// The commit, when there is one.
    pub commit: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Why trigger work on a pipeline failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// Git failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] slipway_store::StoreError),
    /// A blocking task could not be joined.
    #[error("{0}")]
    Join(String),
}

/// Runs blocking git work on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, GitError> + Send + 'static,
) -> Result<T, TriggerError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| TriggerError::Join(error.to_string()))?.map_err(Into::into)
}

/// The mirror of a pipeline.
async fn mirror(state: &Triggering, pipeline: PipelineId) -> Result<Mirror, TriggerError> {
    let data_dir = state.data_dir().to_path_buf();
    blocking(move || Mirror::open(&data_dir, pipeline)).await
}

/// Fetches the mirror when it lacks any of `commits`.
async fn fetch_unless_present(mirror: &Mirror, repository: &str, commits: Vec<String>) -> Result<(), TriggerError> {
    let (mirror, repository) = (mirror.clone(), repository.to_owned());
    blocking(
        move || {
            if commits.iter().all(|commit| mirror.has_commit(commit)) { Ok(()) } else { mirror.fetch(&repository) }
        },
    )
    .await
}

fn loaded_key(pipeline: &Pipeline, git_ref: &str, commit: &str) -> (PipelineId, String, String) {
    (pipeline.id, commit.to_owned(), format!("{git_ref}\n{}", pipeline.yaml_path))
}

/// The triggers of `pipeline` at `commit` like [`triggers_at`], fetching the mirror first when
/// they were not read yet and it lacks the commit.
async fn triggers_fetching(
    state: &Triggering,
    pipeline: &Pipeline,
    mirror: &Mirror,
    git_ref: &str,
    commit: &str,
) -> Result<Loaded, TriggerError> {
    if let Some(loaded) = state.triggers().cached(&loaded_key(pipeline, git_ref, commit)) {
        return Ok(loaded);
    }
    fetch_unless_present(mirror, &pipeline.repository, vec![commit.to_owned()]).await?;
    Ok(triggers_at(state, pipeline, mirror, git_ref, commit).await)
}

/// The triggers of `pipeline` at `commit`, read once and then remembered. `git_ref` gives the
/// predefined variables template expressions may use.
async fn triggers_at(state: &Triggering, pipeline: &Pipeline, mirror: &Mirror, git_ref: &str, commit: &str) -> Loaded {
    let key = loaded_key(pipeline, git_ref, commit);
    if let Some(loaded) = state.triggers().cached(&key) {
        return loaded;
    }
    let variables = vec![
        ("Build.SourceBranch".to_owned(), git_ref.to_owned()),
        ("Build.SourceBranchName".to_owned(), git_ref.rsplit('/').next().unwrap_or_default().to_owned()),
        ("Build.SourceVersion".to_owned(), commit.to_owned()),
        ("Build.DefinitionName".to_owned(), pipeline.name.clone()),
        ("Build.Repository.Name".to_owned(), pipeline.name.clone()),
    ];
    let (mirror, commit_owned, yaml_path) = (mirror.clone(), commit.to_owned(), pipeline.yaml_path.clone());
    let loaded =
        tokio::task::spawn_blocking(move || load::load_triggers(&mirror, &commit_owned, &yaml_path, &variables))
            .await
            .unwrap_or_else(|error| Loaded::Invalid(error.to_string()));
    state.triggers().remember(key, loaded.clone());
    loaded
}

/// Whether a run of `pipeline` started by `trigger` is queued or running, on `branch` if given,
/// and matching `also`.
async fn run_in_progress(
    state: &Triggering,
    pipeline: PipelineId,
    trigger: TriggerKind,
    branch: Option<&str>,
    also: impl Fn(&slipway_store::Run) -> bool,
) -> Result<Vec<slipway_store::Run>, slipway_store::StoreError> {
    let mut found = Vec::new();
    for status in [RunStatus::Queued, RunStatus::Running] {
        let filter = RunFilter {
            pipeline: Some(pipeline),
            status: Some(status),
            branch: branch.map(str::to_owned),
            limit: 1000,
            ..RunFilter::default()
        };
        found.extend(
            state.store().list_runs(&filter).await?.into_iter().filter(|run| run.trigger == trigger && also(run)),
        );
    }
    Ok(found)
}

/// Launches a triggered run and says what became of it. A pipeline that cannot be loaded at the
/// commit gives a failed run under the same guard; a checkout that fails for another reason is
/// an error (tried again later).
async fn start(state: &Triggering, request: LaunchRequest, branch: &str, commit: &str) -> Outcome {
    match slipway_engine::launch::launch(state, request.clone()).await {
        Ok(Launched::Run(run)) => Outcome::Started { run: run.id },
        Ok(Launched::AlreadyTriggered) => Outcome::AlreadyHandled,
        Err(LaunchError::Checkout(slipway_engine::checkout::CheckoutError::Pipeline(reason))) => {
            match slipway_engine::launch::record_failed_run(state, &request, branch, commit, &reason).await {
                Ok(Some(run)) => Outcome::Failed { run: run.id, reason },
                Ok(None) => Outcome::AlreadyHandled,
                Err(error) => Outcome::error(error),
            }
        }
        Err(LaunchError::Checkout(slipway_engine::checkout::CheckoutError::MergeConflict(reason))) => {
            Outcome::skipped(format!("the pull request does not merge into its target branch: {reason}"))
        }
        Err(error @ LaunchError::Disabled(_)) => Outcome::skipped(error.to_string()),
        Err(error) => {
            audit(
                state,
                &request.pipeline,
                "trigger.error",
                serde_json::json!({ "reason": error.to_string(), "ref": branch, "commit": commit }),
            )
            .await;
            Outcome::error(error)
        }
    }
}

/// Records an entry in the audit log (best effort: trigger work goes on if the store fails).
async fn audit(state: &Triggering, pipeline: &Pipeline, action: &str, details: serde_json::Value) {
    let entry = NewAuditEntry {
        actor: "triggers".to_owned(),
        action: action.to_owned(),
        target: Some(format!("pipeline:{}", pipeline.name)),
        details,
    };
    state.store().record_audit(&entry).await.log_failure("recording trigger work in the audit log");
}

/// The running trigger service: the poller, the schedule ticker and the completion watcher.
#[derive(Debug)]
pub struct TriggerService {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// How long [`TriggerService::shutdown`] waits for work in progress (a git fetch) before it
/// abandons it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

impl TriggerService {
    /// Starts the service with the configuration in `state`.
    #[must_use]
    pub fn start(state: &Triggering) -> Self {
        let config = state.triggers().config();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(interval) = config.poll_interval.filter(|interval| !interval.is_zero()) {
            let (state, stopped) = (state.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                let state = &state;
                every(interval, stopped, Some(&state.triggers().poke), || async move {
                    poll::poll_all(state).await;
                })
                .await;
            }));
        }
        {
            let (state, stopped) = (state.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                let state = &state;
                every(config.schedule_interval, stopped, None, || async move {
                    schedule::tick(state, time::OffsetDateTime::now_utc()).await;
                })
                .await;
            }));
        }
        {
            let state = state.clone();
            let mut stopped = stopped;
            tasks.push(tokio::spawn(async move {
                let mut watcher = completion::CompletionWatcher::new(state.store().now());
                while !*stopped.borrow() {
                    // A failed pass (the database was unreachable) is tried again on the next one.
                    watcher.pass(&state).await.log_failure("looking for completed runs that trigger pipelines");
                    tokio::select! {
                        () = tokio::time::sleep(config.completion_interval) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }));
        }
        Self { stop, tasks }
    }

    /// Stops: the work in progress finishes (or is abandoned after ten seconds).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(SHUTDOWN_WAIT, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// Runs `work` now and then every `interval` (or when poked) until stopped.
async fn every<F, Fut>(interval: Duration, mut stopped: watch::Receiver<bool>, poke: Option<&Notify>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        if *stopped.borrow() {
            return;
        }
        work().await;
        let poked = async {
            match poke {
                Some(poke) => poke.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = poked => {}
            _ = stopped.changed() => {}
        }
    }
}
