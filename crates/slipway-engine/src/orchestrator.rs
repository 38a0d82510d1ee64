//! The orchestrator: one task that moves every unfinished run on.
//!
//! For each run it builds a run [`Driver`] from the run's stored plan, the `counter()` values the
//! run was given and the stages it already reported, and feeds it the results of the run's
//! completed jobs as stored, so a restarted server continues where the last one stopped. A leg
//! the driver starts becomes a job in the store's queue together with its spec (its piece of the
//! plan and its variables, see [`crate::agents::job_spec`]), in one transaction: a queued job is
//! self-contained, and any agent (remote, or in-process of any server process) can run it. When
//! the driver says the run finished, the run is completed with its result. The orchestrator
//! decides nothing about where a job runs beyond its pool and demands. [`Engine`] starts it with
//! the in-process agents ([`crate::local_agents`]) and the warden ([`crate::warden`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;

use slipway_driver::{Counters, Driver, JobEnd, LegId, LegStart, Masker, Selection, Step, Variable};
use slipway_events::{Event, TaskResult, now_ms};
use slipway_plan::Plan;
use slipway_runtime::CancelToken;
use slipway_store::{
    AgentLostAction, AgentState, Job, JobId, JobStatus, NewJob, PoolSettings, Reclaim, ReclaimAction, Run, RunFilter,
    RunId, RunStatus, Store, StoreError,
};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::LogFailure as _;
use crate::agents::{self, AgentTiming, Hub};
use crate::hooks::{DeliveryHooks, Gate, GateRequest, NoHooks};

/// The pool in-process agents serve, and that jobs naming no pool go to.
pub const LOCAL_POOL: &str = agents::DEFAULT_POOL;

/// How many legs the scheduler may hand out at once per run: the agents are the real limit.
const LEGS_PER_RUN: usize = 4096;

/// The reason given to jobs that were running when a server stopped without draining.
pub const SERVER_STOPPED: &str = "the server stopped while the job was running";

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The data directory: runs keep their checkout and work directories in `runs/ID`.
    pub data_dir: PathBuf,
    /// How many in-process agents run jobs in this process (`--local-agents`); 0 to only coordinate.
    pub workers: usize,
    /// Capabilities the in-process agents have besides the detected ones.
    pub local_capabilities: BTreeMap<String, String>,
    /// How long a lease lasts unless renewed.
    pub lease_duration: Duration,
    /// How often agents renew their leases (and hear about cancels).
    pub heartbeat_interval: Duration,
    /// How long an agent's lease request waits for a job.
    pub long_poll: Duration,
    /// An agent not heard from for this long is shown offline (at most: sooner when its long
    /// poll and a few heartbeats have passed in silence).
    pub agent_silence: Duration,
    /// How often the orchestrator and idle in-process agents look at the store without being woken.
    pub poll_interval: Duration,
    /// How often the warden takes back expired leases.
    pub warden_interval: Duration,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    pub kill_grace: Duration,
    /// Whether in-process agents confine their jobs away from the data directory.
    pub local_jobs: LocalJobs,
    /// The delivery rooms' hooks: which stages wait for checks, and deployments recorded.
    pub hooks: Arc<dyn DeliveryHooks>,
    /// The delivery room, for what deployment jobs ask of their environment's services.
    pub delivery: Arc<dyn crate::hooks::DeliveryOperator>,
}

/// How the server's in-process agents run jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalJobs {
    /// Each job is confined (Landlock) so that it can neither read nor write the data directory
    /// (the admin token, the secret key, the database, other runs) but for its own run's
    /// directory and the cache store. Where the machine cannot confine jobs, the server runs no
    /// in-process agent and says why.
    Confined,
    /// Jobs run as the server's user with nothing between them and the data directory
    /// (`--unconfined-local-agents`): only for machines whose pipelines are all trusted.
    Unconfined,
}

impl EngineConfig {
    /// A configuration with one in-process agent per core, 60-second leases renewed every 5
    /// seconds, 30-second long polls and a one-second poll.
    #[must_use]
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            local_capabilities: BTreeMap::new(),
            lease_duration: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(5),
            long_poll: Duration::from_secs(30),
            agent_silence: Duration::from_secs(90),
            poll_interval: Duration::from_secs(1),
            warden_interval: Duration::from_secs(1),
            kill_grace: Duration::from_secs(5),
            local_jobs: LocalJobs::Confined,
            hooks: Arc::new(NoHooks),
            delivery: Arc::new(crate::hooks::NoDelivery),
        }
    }

    /// The timing agents are given.
    #[must_use]
    pub fn timing(&self) -> AgentTiming {
        AgentTiming {
            lease_duration: self.lease_duration,
            heartbeat_interval: self.heartbeat_interval.min(self.lease_duration / 2),
            long_poll: self.long_poll,
            kill_grace: self.kill_grace,
        }
    }
}

/// What the engine's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: EngineConfig,
    /// Wakes the orchestrator: a run was created or cancelled, or a job finished.
    pub(crate) wake: Arc<Notify>,
    /// Wakes idle agents: jobs were queued.
    pub(crate) hub: Arc<Hub>,
    /// The cancel tokens of jobs in-process agents run, by run: a cancel reaches them at once.
    pub(crate) local_jobs: Mutex<HashMap<RunId, Vec<(JobId, CancelToken)>>>,
    /// The slot processes (versions of services) that in-process agents' jobs started: they
    /// outlive their jobs, and stop with the engine.
    pub(crate) slots: Arc<slipway_runtime::slots::SlotSupervisor>,
}

impl Shared {
    pub(crate) fn local_jobs(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Vec<(JobId, CancelToken)>>> {
        self.local_jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running engine. Stop it with [`Engine::shutdown`].
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine on `store`. `wake` is the notification the API sends when it creates or
    /// cancels a run; `hub` is what agents' lease requests wait on. Jobs that an earlier process of
    /// this server left running in its in-process agents (it was killed) end as failed with the
    /// reason stated; every unfinished run is then taken up again.
    ///
    /// # Errors
    /// When the store cannot be used.
    pub async fn start(
        store: Store,
        config: EngineConfig,
        wake: Arc<Notify>,
        hub: Arc<Hub>,
    ) -> Result<Self, StoreError> {
        hub.set_timing(config.timing());
        // The in-process agents died with the earlier process: their jobs fail, or go back in
        // the queue when their pool says `requeue`, as a lost agent's do; their logs say why.
        let pools: HashMap<String, PoolSettings> =
            store.list_pool_settings().await?.into_iter().map(|pool| (pool.name, pool.settings)).collect();
        let reclaimed = store
            .reclaim_leases(&Reclaim::HeldBy(agents::LOCAL_HOLDER_PREFIX.into()), |job| {
                match agents::lost_action(job, &pools) {
                    AgentLostAction::Fail => ReclaimAction::Fail(SERVER_STOPPED.to_owned()),
                    AgentLostAction::Requeue => ReclaimAction::Requeue,
                }
            })
            .await?;
        for lost in &reclaimed {
            let line = match &lost.action {
                ReclaimAction::Fail(reason) => slipway_events::LogKind::Error.line(reason),
                ReclaimAction::Requeue => slipway_events::LogKind::Warning.line(&format!(
                    "{SERVER_STOPPED}; the job goes back in the queue (pool '{}' requeues the jobs of lost agents)",
                    lost.job.pool
                )),
            };
            store.append_log_lines(lost.job.id, &[line]).await.log_failure("noting a stopped server in a job's log");
        }
        let local_agents = crate::local_agents::register(&store, &config).await?;
        let shared = Arc::new(Shared {
            store,
            config,
            wake,
            hub,
            local_jobs: Mutex::new(HashMap::new()),
            slots: slipway_runtime::slots::SlotSupervisor::new(),
        });
        let (stop, stop_receiver) = watch::channel(false);
        let mut orchestrator =
            Orchestrator { shared: Arc::clone(&shared), runs: HashMap::new(), pools: HashMap::new() };
        orchestrator.pass().await?;
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(orchestrator.run(stop_receiver.clone())));
        let local_ids = local_agents.iter().map(|agent| agent.id).collect();
        tasks.push(tokio::spawn(crate::warden::run(Arc::clone(&shared), local_ids, stop_receiver.clone())));
        for (slot, agent) in local_agents.into_iter().enumerate() {
            tasks.push(tokio::spawn(crate::local_agents::run(Arc::clone(&shared), slot, agent, stop_receiver.clone())));
        }
        Ok(Self { shared, stop, tasks })
    }

    /// Wakes the orchestrator (the API calls this through the shared notification).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Drains: in-process agents take no new job and finish the ones they run (their logs and
    /// results are stored), then the orchestrator records what follows from them and stops. Jobs
    /// still queued stay queued for the next start or for remote agents.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.hub.work.notify_waiters();
        self.shared.wake.notify_one();
        for task in self.tasks {
            let _ = task.await;
        }
        let slots = Arc::clone(&self.shared.slots);
        let _ = tokio::task::spawn_blocking(move || slots.shutdown()).await;
        if let Ok(agents) = self.shared.store.list_agents().await {
            for agent in agents.iter().filter(|agent| agent.name.starts_with(agents::LOCAL_AGENT_PREFIX)) {
                self.shared
                    .store
                    .agent_seen(agent.id, AgentState::Offline)
                    .await
                    .log_failure("marking an in-process agent offline");
            }
        }
    }
}

/// The state of one unfinished run in the orchestrator.
struct RunProgress {
    driver: Driver,
    plan: Arc<Plan>,
    /// The store's jobs of the run that the driver started, by id.
    legs: HashMap<JobId, LegId>,
    /// Jobs whose results the driver was given.
    fed: HashSet<JobId>,
    /// The values of secret output variables of the jobs fed so far: a job that gets one as a
    /// variable gets it as a secret (masked, kept out of the environment).
    secret_outputs: HashSet<String>,
    /// The run's secrets, for the warnings the driver gives.
    masker: Masker,
    /// The store's jobs of the run by key, as last read: all of them when the run is taken up,
    /// then only those that completed since (a pass must not read every job of every run).
    jobs: Option<HashMap<String, Job>>,
}

struct Orchestrator {
    shared: Arc<Shared>,
    runs: HashMap<RunId, RunProgress>,
    /// Pool settings, read at each pass.
    pools: HashMap<String, PoolSettings>,
}

/// Why a run cannot go on: it is completed as failed.
#[derive(Debug, thiserror::Error)]
enum RunFailure {
    #[error("the run has no plan")]
    NoPlan,
    #[error(transparent)]
    Schedule(#[from] slipway_driver::ScheduleError),
    #[error(transparent)]
    Variables(crate::run_variables::ResolveError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Slipway failed while moving it on ({0}); this is a bug, please report it")]
    Panicked(String),
}

/// The message a panic carried.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// A job the scheduler started that is not in the store yet.
struct NewLeg {
    leg: LegId,
    job: NewJob,
    spec: Vec<u8>,
}

impl Orchestrator {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = *stop.borrow();
            // A failed pass (the database was unreachable) is tried again on the next one.
            if let Err(error) = self.pass().await {
                tracing::warn!(%error, "an orchestrator pass failed; the next one tries again");
            }
            if stopping {
                return;
            }
            tokio::select! {
                () = self.shared.wake.notified() => {}
                () = tokio::time::sleep(self.shared.config.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Takes up runs not seen yet and moves every run on as far as it can go now.
    async fn pass(&mut self) -> Result<(), StoreError> {
        self.pools =
            self.shared.store.list_pool_settings().await?.into_iter().map(|pool| (pool.name, pool.settings)).collect();
        let mut unfinished = Vec::new();
        for status in [RunStatus::Running, RunStatus::Queued] {
            let filter = RunFilter { status: Some(status), limit: 1000, ..RunFilter::default() };
            unfinished.extend(self.shared.store.list_runs(&filter).await?);
        }
        unfinished.sort_by_key(|run| run.id);
        for run in &unfinished {
            if self.runs.contains_key(&run.id) {
                continue;
            }
            // A panic while taking up one run (a bug) fails that run, never the orchestrator.
            let taken = AssertUnwindSafe(take_up(&self.shared, run)).catch_unwind().await;
            match taken.unwrap_or_else(|panic| Err(RunFailure::Panicked(panic_message(panic.as_ref())))) {
                Ok(progress) => {
                    self.runs.insert(run.id, progress);
                }
                Err(RunFailure::Store(error)) => return Err(error),
                Err(failure) => {
                    let message = format!("the run cannot go on: {failure}");
                    tracing::warn!(run = run.id.get(), %failure, "a run cannot go on");
                    fail_run(&self.shared.store, run.id, &message).await?;
                }
            }
        }
        let mut queued_any = false;
        for run in unfinished {
            let advanced = AssertUnwindSafe(self.advance(run.id)).catch_unwind().await;
            let advanced = match advanced {
                Ok(advanced) => advanced,
                Err(panic) => {
                    let failure = RunFailure::Panicked(panic_message(panic.as_ref()));
                    tracing::error!(run = run.id.get(), %failure, "moving a run on panicked");
                    self.runs.remove(&run.id);
                    fail_run(&self.shared.store, run.id, &format!("the run cannot go on: {failure}")).await?;
                    continue;
                }
            };
            match advanced {
                Ok(queued) => queued_any |= queued,
                // The scheduler may have decided more than was recorded: it is rebuilt from the
                // store on the next pass, as after a restart.
                Err(error) => {
                    self.runs.remove(&run.id);
                    if queued_any {
                        self.shared.hub.work.notify_waiters();
                    }
                    return Err(error);
                }
            }
        }
        if queued_any {
            self.shared.hub.work.notify_waiters();
        }
        Ok(())
    }

    /// Moves a run on: feeds the driver the jobs that completed, queues the legs it starts with
    /// their specs, records jobs that never start and the events it gives, completes the run
    /// when it says so. Whether jobs were queued.
    async fn advance(&mut self, run_id: RunId) -> Result<bool, StoreError> {
        let store = self.shared.store.clone();
        let Some(progress) = self.runs.get_mut(&run_id) else { return Ok(false) };
        let run = store.run(run_id).await?;
        let hooks = Arc::clone(&self.shared.config.hooks);
        if run.status == RunStatus::Completed {
            self.runs.remove(&run_id);
            return Ok(false);
        }
        if run.cancel_requested && !progress.driver.is_canceled() {
            progress.driver.cancel();
            if let Some(jobs) = self.shared.local_jobs().get(&run_id) {
                for (_, cancel) in jobs {
                    cancel.cancel();
                }
            }
        }
        let mut jobs = match progress.jobs.take() {
            None => store.jobs_of_run(run_id).await?.into_iter().map(|job| (job.key.clone(), job)).collect(),
            Some(mut known) => {
                // Only the jobs the driver started that completed since the last pass are read
                // again (their ids are cheap to list); the rest is as this orchestrator left it.
                for id in store.completed_job_ids(run_id).await? {
                    if progress.legs.contains_key(&id) && !progress.fed.contains(&id) {
                        let job = store.job(id).await?;
                        known.insert(job.key.clone(), job);
                    }
                }
                known
            }
        };
        for job in jobs.values() {
            if job.status == JobStatus::Completed
                && !progress.fed.contains(&job.id)
                && let Some(&leg) = progress.legs.get(&job.id)
            {
                feed(&store, hooks.as_ref(), &run, progress, leg, job).await?;
            }
        }
        let mut queued_any = false;
        let mut run_started = run.status == RunStatus::Running;
        loop {
            // Stages waiting for their checks: decided again at every pass (an approval, the
            // clock, a lock given up may have opened them).
            for stage in progress.driver.waiting_stages() {
                let request = GateRequest {
                    run: &run,
                    plan: &progress.plan,
                    stage,
                    variables: progress.driver.base_variables(),
                    masker: &progress.masker,
                };
                match hooks.stage_gate(request).await? {
                    Gate::Open => progress.driver.open_gate(stage),
                    Gate::Failed(message) => progress.driver.fail_gate(stage, message),
                    Gate::Waiting => {}
                    Gate::Replan(plan) => {
                        // Nothing of the stage has started: the driver is built again from the
                        // plan stored, as after a restart.
                        store.set_run_plan(run_id, &plan).await?;
                        self.runs.remove(&run_id);
                        self.shared.wake.notify_one();
                        return Ok(queued_any);
                    }
                }
            }
            let steps = progress.driver.poll(now_ms());
            if steps.is_empty() {
                break;
            }
            let missing = progress.driver.missing_counters();
            if !missing.is_empty() {
                // A `counter()` the run was not given a value for: give it one, and decide again
                // from the store with it (nothing of this poll was acted on).
                store.allocate_run_counters(run_id, &missing).await?;
                self.runs.remove(&run_id);
                self.shared.wake.notify_one();
                return Ok(queued_any);
            }
            let mut fed_any = false;
            let mut events = Vec::new();
            let mut new_legs: Vec<NewLeg> = Vec::new();
            let mut requeued: Vec<Job> = Vec::new();
            for step in steps {
                match step {
                    // Its gate is asked at once, on the next round of this loop.
                    Step::StageWaiting(_) => fed_any = true,
                    Step::Event(event) => events.push(event),
                    Step::Warning(message) => events.push(Event::Issue {
                        time: now_ms(),
                        job: None,
                        step: None,
                        severity: slipway_events::Severity::Warning,
                        message: progress.masker.mask(&message),
                        source_path: None,
                        line: None,
                        column: None,
                        code: None,
                    }),
                    Step::StartLeg(start) => {
                        let leg = start.leg;
                        match jobs.get(&start.key) {
                            Some(job) if job.status == JobStatus::Completed => {
                                progress.legs.insert(job.id, leg);
                                feed(&store, hooks.as_ref(), &run, progress, leg, job).await?;
                                fed_any = true;
                            }
                            Some(job) => {
                                progress.legs.insert(job.id, leg);
                                if job.status == JobStatus::Pending {
                                    let spec = agents::job_spec(
                                        &progress.plan,
                                        leg,
                                        &start.variables,
                                        &progress.secret_outputs,
                                    )
                                    .map_err(|error| StoreError::Invalid { what: "job spec", reason: error })?;
                                    // Kept as the store now has it (queued), for later passes.
                                    requeued.push(store.queue_job_with_spec(job.id, &spec).await?);
                                    queued_any = true;
                                }
                            }
                            None => {
                                let spec =
                                    agents::job_spec(&progress.plan, leg, &start.variables, &progress.secret_outputs)
                                        .map_err(|error| StoreError::Invalid { what: "job spec", reason: error })?;
                                let job = new_job(&progress.plan, &start, &self.pools);
                                new_legs.push(NewLeg { leg, job, spec });
                            }
                        }
                    }
                    Step::JobFinished(end) => {
                        let is_it = |key: &str| slipway_plan::is_key_of_job(key, &end.key);
                        let known =
                            jobs.keys().any(|key| is_it(key)) || new_legs.iter().any(|new| is_it(&new.job.key()));
                        if known {
                            let reset = crate::reruns::finish_reset_jobs(
                                &store,
                                &mut jobs,
                                &end.key,
                                end.result,
                                end.message.as_deref(),
                            )
                            .await?;
                            progress.fed.extend(reset);
                        } else if let Some(skipped) = never_started(&progress.plan, &end, &self.pools)
                            && let Some(mut added) = store.add_jobs(run_id, &[skipped]).await?.into_iter().next()
                        {
                            // A job added to a cancelled run is completed as cancelled at once.
                            if added.status != JobStatus::Completed {
                                added = store.finish_job_unleased(added.id, end.result, end.message.as_deref()).await?;
                            }
                            progress.fed.insert(added.id);
                            jobs.insert(end.key.clone(), added);
                        }
                    }
                }
            }
            for job in requeued {
                if let Some(&leg) = progress.legs.get(&job.id) {
                    hooks.job_queued(&run, &progress.plan, leg, &job).await?;
                }
                jobs.insert(job.key.clone(), job);
            }
            if !new_legs.is_empty() {
                let pairs: Vec<(NewJob, Vec<u8>)> =
                    new_legs.iter().map(|new| (new.job.clone(), new.spec.clone())).collect();
                let added = store.add_ready_jobs(run_id, &pairs).await?;
                for (new, job) in new_legs.iter().zip(added) {
                    progress.legs.insert(job.id, new.leg);
                    if job.status == JobStatus::Completed {
                        // The run was cancelled meanwhile (the store completes jobs added to a
                        // cancelled run): the driver hears of the cancel before the result.
                        if !progress.driver.is_canceled() {
                            progress.driver.cancel();
                        }
                        feed(&store, hooks.as_ref(), &run, progress, new.leg, &job).await?;
                        fed_any = true;
                    } else {
                        hooks.job_queued(&run, &progress.plan, new.leg, &job).await?;
                        queued_any = true;
                    }
                    jobs.insert(job.key.clone(), job);
                }
            }
            if queued_any && !run_started {
                store.start_run(run_id).await?;
                run_started = true;
            }
            if !events.is_empty() {
                store.append_events(run_id, &events).await?;
            }
            for event in &events {
                if let Event::StageFinished { stage, .. } = event {
                    hooks.stage_finished(&run, Some(stage)).await?;
                }
            }
            if let Some(result) = progress.driver.result() {
                store.finish_run(run_id, result).await?;
                hooks.stage_finished(&run, None).await?;
                self.runs.remove(&run_id);
                return Ok(queued_any);
            }
            if !fed_any {
                break;
            }
        }
        progress.jobs = Some(jobs);
        Ok(queued_any)
    }
}

/// Completes a run that cannot go on as failed, with the reason in its log.
async fn fail_run(store: &Store, run: RunId, message: &str) -> Result<(), StoreError> {
    let event = Event::Log {
        time: now_ms(),
        job: None,
        step: None,
        stream: slipway_events::Stream::System,
        kind: slipway_events::LogKind::Error,
        text: message.to_owned(),
    };
    store.append_events(run, &[event]).await?;
    store.finish_run(run, TaskResult::Failed).await?;
    Ok(())
}

/// A GitHub workflow run's event payload (see [`crate::github_event`]); a `workflow_run`'s
/// upstream conclusion is read from the store (left out when it cannot be read).
async fn github_event(
    store: &Store,
    run: &Run,
    pipeline: &slipway_store::Pipeline,
    repository: &slipway_driver::RepositoryInfo,
) -> serde_json::Value {
    let upstream = match run.trigger_details.source_run {
        Some(source) => match store.run(source).await {
            Ok(upstream) => upstream.result,
            Err(error) => {
                tracing::warn!(run = run.id.get(), upstream = source.get(), %error, "the upstream run of a workflow_run event could not be read");
                None
            }
        },
        None => None,
    };
    crate::github_event::payload(&crate::github_event::EventFacts {
        details: &run.trigger_details,
        parameters: &run.parameters,
        requested_by: run.requested_by.as_deref(),
        default_branch: &pipeline.default_branch,
        workflow: &pipeline.yaml_path,
        repository,
        upstream_conclusion: upstream.map(slipway_driver::github::result_name),
    })
}

/// Builds the driver of a run from what the store holds: its plan, variables, the `counter()`
/// values it was given (allocating those it lacks), and the stages it already reported.
async fn take_up(shared: &Shared, run: &Run) -> Result<RunProgress, RunFailure> {
    let store = &shared.store;
    let plan = Arc::new(store.run_plan(run.id).await?.ok_or(RunFailure::NoPlan)?);
    let variables = crate::run_variables::for_run(store, run, &plan).await.map_err(|error| match error {
        crate::run_variables::ResolveError::Store(error) => RunFailure::Store(error),
        other => RunFailure::Variables(other),
    })?;
    let pipeline = store.pipeline(run.pipeline).await?;
    let repository = crate::run_variables::repository(run, &pipeline);
    let id = u64::try_from(run.id.get()).unwrap_or_default();
    let mut base = slipway_driver::run_variables(id, &pipeline.name, &repository);
    base.force(Variable::readonly("Build.BuildNumber", run.run_number.clone()));
    for (name, value) in crate::launch::trigger_variables(run) {
        base.force(Variable::readonly(name, value));
    }
    if plan.dialect == slipway_plan::Dialect::GithubActions {
        base.force(Variable::readonly(
            slipway_driver::github::EVENT_VARIABLE,
            github_event(store, run, &pipeline, &repository).await.to_string(),
        ));
    }
    variables.base.into_iter().for_each(|variable| base.force(variable));
    let masker = Masker::new();
    for variable in base.iter().filter(|variable| variable.secret) {
        masker.add(&variable.value);
    }
    for (_, group) in &variables.groups {
        for variable in group.iter().filter(|variable| variable.secret) {
            masker.add(&variable.value);
        }
    }
    let started_ms = u64::try_from(run.started_at.unwrap_or(run.created_at).millis()).unwrap_or_default();
    let build = |counters: Counters| {
        Driver::new(
            Arc::clone(&plan),
            base.clone(),
            &Selection::default(),
            LEGS_PER_RUN,
            counters,
            variables.groups.clone(),
            started_ms,
        )
    };
    let mut driver = build(Counters::allocated(store.run_counters(run.id).await?))?;
    // Pipeline-level `counter()`s are used as the driver is built: give the run those it lacks.
    for _ in 0..MAX_COUNTER_ROUNDS {
        let missing = driver.missing_counters();
        if missing.is_empty() {
            break;
        }
        driver = build(Counters::allocated(store.allocate_run_counters(run.id, &missing).await?))?;
    }
    for stage in shared.config.hooks.gated_stages(&plan) {
        driver.gate_stage(stage);
    }
    restore_stages(store, run.id, &mut driver).await?;
    if run.cancel_requested {
        driver.cancel();
    }
    Ok(RunProgress {
        driver,
        plan,
        legs: HashMap::new(),
        fed: HashSet::new(),
        secret_outputs: HashSet::new(),
        masker,
        jobs: None,
    })
}

/// How many times a driver is built again for `counter()` prefixes that depend on other
/// counters' values.
const MAX_COUNTER_ROUNDS: usize = 8;

/// Tells a driver built again which stages the run already reported started and finished (and
/// those of this attempt that finished without starting).
async fn restore_stages(store: &Store, run: RunId, driver: &mut Driver) -> Result<(), StoreError> {
    let mut stages: Vec<(String, Option<u64>, bool)> = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_events(run, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.sequence;
        for stored in &page {
            match stored.event() {
                Ok(Event::StageStarted { time, stage, .. }) => match stages.iter_mut().find(|known| known.0 == stage) {
                    Some(known) => known.1 = Some(time),
                    None => stages.push((stage, Some(time), false)),
                },
                Ok(Event::StageFinished { stage, .. }) => match stages.iter_mut().find(|known| known.0 == stage) {
                    Some(known) => known.2 = true,
                    None => stages.push((stage, None, true)),
                },
                // A stage that ended without starting before the run ended (skipped, or its
                // checks failed) is decided again when failed jobs are re-run.
                Ok(Event::RunFinished { .. }) => stages.retain(|(_, started, _)| started.is_some()),
                _ => {}
            }
        }
    }
    for (stage, started, finished) in stages {
        driver.restore_stage(&stage, started, finished);
    }
    Ok(())
}

/// Gives the driver a completed job's result and output variables, and tells the hooks.
async fn feed(
    store: &Store,
    hooks: &dyn DeliveryHooks,
    run: &Run,
    progress: &mut RunProgress,
    leg: LegId,
    job: &Job,
) -> Result<(), StoreError> {
    hooks.job_completed(run, &progress.plan, leg, job).await?;
    let outputs = store.job_output_values(job.id).await?;
    progress.secret_outputs.extend(outputs.iter().filter(|output| output.is_secret).map(|output| output.value.clone()));
    let outputs = outputs.into_iter().map(|output| (output.name, output.value)).collect();
    // The driver gives a leg's `jobFinished` event; the agent that ran the job already sent its
    // own (with the job's real duration), so the driver's is not recorded a second time.
    let _reported_by_the_agent: Option<Event> =
        progress.driver.leg_finished(leg, job.result.unwrap_or(TaskResult::Failed), outputs, now_ms());
    progress.fed.insert(job.id);
    Ok(())
}

/// The store's job of a leg the driver starts.
fn new_job(plan: &Plan, start: &LegStart, pools: &HashMap<String, PoolSettings>) -> NewJob {
    let job = plan.stages.get(start.leg.stage).and_then(|stage| stage.jobs.get(start.leg.job));
    let target = job.and_then(|job| job.legs.get(start.leg.leg)).and_then(|leg| leg.target.as_ref());
    let place = match (job, target) {
        // A leg placed on one agent (a virtual machine of an environment) goes to that agent.
        (_, Some(target)) => agents::Placement {
            pool: target.pool.clone(),
            demands: vec![slipway_plan::Demand {
                name: slipway_protocol::capability::NAME.to_owned(),
                equals: Some(target.agent.clone()),
            }],
        },
        (Some(job), None) => agents::placement(job, pools),
        (None, None) => agents::Placement { pool: LOCAL_POOL.to_owned(), demands: Vec::new() },
    };
    NewJob {
        stage: start.stage.clone(),
        job: start.job.clone(),
        leg: start.leg_name.clone(),
        display_name: start.display_name.clone(),
        pool: place.pool,
        demands: place.demands,
        ready: true,
    }
}

/// The store's job of a job that ended without starting (skipped, or cancelled before it ran),
/// so that it shows with the others.
fn never_started(plan: &Plan, end: &JobEnd, pools: &HashMap<String, PoolSettings>) -> Option<NewJob> {
    let job = plan.stages.get(end.stage)?.jobs.get(end.job)?;
    let place = agents::placement(job, pools);
    Some(NewJob {
        stage: end.stage_name.clone(),
        job: end.job_name.clone(),
        leg: None,
        display_name: end.display_name.clone(),
        pool: place.pool,
        demands: place.demands,
        ready: false,
    })
}

/// The directory of a run: `runs/ID` in the data directory, with `source` (the checkout) and
/// `work` (what the runtime makes) in it.
#[must_use]
pub fn run_directory(data_dir: &std::path::Path, run: RunId) -> PathBuf {
    data_dir.join("runs").join(run.get().to_string())
}

#[cfg(test)]
mod tests {
    //! A panic while one run is taken up or moved on (here put there by the delivery hooks, which
    //! the orchestrator calls in both places) fails that run with a clear reason; the orchestrator
    //! goes on serving every other run, those there before and those created after.

    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use slipway_driver::LegId;
    use slipway_events::TaskResult;
    use slipway_plan::{Action, Dialect, Plan, Shell, Stage, Step};
    use slipway_store::{
        Job, JobStatus, NewRun, PipelineId, PipelineSettings, QueueStatus, RetentionPolicy, Run, RunId, RunStatus,
        SecretKey, Store, StoreError, StoreOptions, TriggerKind,
    };
    use tokio::sync::Notify;

    use super::{Engine, EngineConfig, LocalJobs};
    use crate::agents::Hub;
    use crate::hooks::{DeliveryHooks, Gate, GateRequest, HookFuture};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Where the hooks panic, for a plan whose only stage is named `Boom`.
    #[derive(Debug, Clone, Copy)]
    enum PanicIn {
        /// While the run is taken up (its driver built: `gated_stages`).
        TakingUp,
        /// While the run is moved on (its first job queued: `job_queued`).
        MovingOn,
    }

    #[derive(Debug)]
    struct Panicky(PanicIn);

    fn is_boom(plan: &Plan) -> bool {
        plan.stages.iter().any(|stage| stage.name == "Boom")
    }

    impl DeliveryHooks for Panicky {
        fn gated_stages(&self, plan: &Plan) -> Vec<usize> {
            assert!(!(matches!(self.0, PanicIn::TakingUp) && is_boom(plan)), "a hook went wrong while taking up");
            Vec::new()
        }

        fn stage_gate<'a>(&'a self, _request: GateRequest<'a>) -> HookFuture<'a, Gate> {
            Box::pin(async { Ok(Gate::Open) })
        }

        fn job_queued<'a>(&'a self, _run: &'a Run, plan: &'a Plan, _leg: LegId, _job: &'a Job) -> HookFuture<'a, ()> {
            let boom = matches!(self.0, PanicIn::MovingOn) && is_boom(plan);
            Box::pin(async move {
                assert!(!boom, "a hook went wrong while moving on");
                Ok(())
            })
        }

        fn job_completed<'a>(
            &'a self,
            _run: &'a Run,
            _plan: &'a Plan,
            _leg: LegId,
            _job: &'a Job,
        ) -> HookFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }

        fn stage_finished<'a>(&'a self, _run: &'a Run, _stage: Option<&'a str>) -> HookFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
    }

    fn plan(stage: &str) -> Plan {
        let step = Step::new(Action::Script { shell: Shell::Default, script: "echo hello".into() });
        Plan::new(Dialect::AzurePipelines, vec![Stage::new(stage, vec![slipway_plan::Job::new("build", vec![step])])])
    }

    async fn create_run(store: &Store, pipeline: PipelineId, stage: &str) -> Result<RunId, String> {
        let mut run = NewRun::new(pipeline, "1", TriggerKind::Manual);
        run.plan = Some(plan(stage));
        Ok(store.create_run(&run).await.map_err(|error| error.to_string())?.id)
    }

    /// Waits (at most 30 s) until `done` says yes about the store.
    async fn wait_until<F, Fut>(what: &str, mut done: F) -> TestResult
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, StoreError>>,
    {
        let start = Instant::now();
        while !done().await? {
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("timed out waiting until {what}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn queued(store: &Store, run: RunId) -> Result<bool, StoreError> {
        Ok(store.jobs_of_run(run).await?.iter().any(|job| job.status == JobStatus::Queued))
    }

    async fn a_panic_fails_only_its_run(panic_in: PanicIn) -> TestResult {
        let directory = tempfile::tempdir()?;
        let location = directory.path().join("slipway.db").display().to_string();
        let store = Store::open(&location, StoreOptions::new(SecretKey::generate()?)).await?;
        let pipeline = store
            .create_pipeline(&PipelineSettings {
                name: "app".into(),
                repository: "/srv/git/app".into(),
                yaml_path: "azure-pipelines.yml".into(),
                default_branch: "main".into(),
                retention: RetentionPolicy::default(),
                queue_status: QueueStatus::Enabled,
            })
            .await?;
        let good = create_run(&store, pipeline.id, "Build").await?;
        let bad = create_run(&store, pipeline.id, "Boom").await?;
        let mut config = EngineConfig::new(directory.path().join("data"));
        config.workers = 0;
        config.local_jobs = LocalJobs::Unconfined;
        config.poll_interval = Duration::from_millis(50);
        config.hooks = Arc::new(Panicky(panic_in));
        let wake = Arc::new(Notify::new());
        let engine = Engine::start(store.clone(), config, Arc::clone(&wake), Arc::new(Hub::default())).await?;

        wait_until("the run that panicked completed", || async {
            Ok(store.run(bad).await?.status == RunStatus::Completed)
        })
        .await?;
        let failed = store.run(bad).await?;
        assert_eq!(failed.result, Some(TaskResult::Failed));
        let events = store.read_events(bad, 0, 1000).await?;
        let reason = events
            .iter()
            .find(|event| event.json.contains("the run cannot go on"))
            .ok_or("no event says why the run failed")?;
        assert!(reason.json.contains("Slipway failed while moving it on (a hook went wrong while"), "{}", reason.json);
        assert!(reason.json.contains("this is a bug, please report it"), "{}", reason.json);

        // The other run, there before, and one created after, are served as ever.
        wait_until("the other run's job is queued", || queued(&store, good)).await?;
        assert_eq!(store.run(good).await?.status, RunStatus::Running);
        let after = create_run(&store, pipeline.id, "Later").await?;
        wake.notify_one();
        wait_until("a run created after the panic has its job queued", || queued(&store, after)).await?;
        engine.shutdown().await;
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_taking_up_a_run_fails_that_run_and_the_others_go_on() -> TestResult {
        a_panic_fails_only_its_run(PanicIn::TakingUp).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_moving_a_run_on_fails_that_run_and_the_others_go_on() -> TestResult {
        a_panic_fails_only_its_run(PanicIn::MovingOn).await
    }
}
