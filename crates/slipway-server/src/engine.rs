//! The engine: one orchestrator task that moves runs on, and worker slots that run their jobs.
//!
//! The orchestrator owns the progress of every unfinished run. For each one it rebuilds a
//! [`Scheduler`] from the run's stored plan and feeds it the results of the run's completed jobs as
//! stored, so a restarted server continues where the last one stopped. Legs the scheduler starts
//! become jobs in the store's queue; when the scheduler says the run finished, the run is completed
//! with its result. The orchestrator decides nothing about where a job runs beyond the queue.
//!
//! Worker slots lease jobs from the queue ([`Store::lease_job`]) with the holder `local:SLOT`,
//! renew the lease while the job runs, run it with the [`LocalExecutor`] on a thread of its own,
//! append its events and log lines to the store (already masked by the runtime), and complete it.
//! Jobs need what the orchestrator prepared for them in memory (their variables and the run's
//! shared context), so the orchestrator registers a job before it puts it in the queue, and on
//! start it registers every queued job before the workers start.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use slipway_events::{Event, EventSink, TaskResult, now_ms};
use slipway_plan::Plan;
use slipway_runtime::workspace::{self, RepositoryInfo};
use slipway_runtime::{CancelToken, Decision, Executor as _, JobOutcome, JobRequest, LegId, LocalExecutor, RunContext};
use slipway_runtime::{Scheduler, Selection, Variable};
use slipway_store::{
    Job, JobId, JobStatus, Lease, LeaseRequest, LeaseToken, NewJob, Reclaim, ReclaimAction, Run, RunFilter, RunId,
    RunStatus, Store, StoreError, VariableValue,
};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// The pool every job of this server is queued in (remote agents will serve pools later).
pub const LOCAL_POOL: &str = "default";

/// How many legs the scheduler may hand out at once per run: the worker slots are the real limit.
const LEGS_PER_RUN: usize = 1024;

/// The reason given to jobs that were running when a server stopped without draining.
pub const SERVER_STOPPED: &str = "the server stopped while the job was running";

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The data directory: runs keep their checkout and work directories in `runs/ID`.
    pub data_dir: PathBuf,
    /// How many jobs run at once in this process.
    pub workers: usize,
    /// How long a lease lasts unless renewed; it is renewed every third of that.
    pub lease_duration: Duration,
    /// How often the orchestrator and idle workers look at the store without being woken.
    pub poll_interval: Duration,
    /// Time between SIGTERM and SIGKILL when a step is stopped.
    pub kill_grace: Duration,
}

impl EngineConfig {
    /// A configuration with one worker per core, 60-second leases and a one-second poll.
    #[must_use]
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            workers: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            lease_duration: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            kill_grace: Duration::from_secs(5),
        }
    }
}

/// What a worker needs to run a job, prepared by the orchestrator.
#[derive(Clone, Debug)]
struct PreparedJob {
    run: RunId,
    request: JobRequest,
    cancel: CancelToken,
}

/// What the orchestrator and the workers share.
#[derive(Debug)]
struct Shared {
    store: Store,
    config: EngineConfig,
    prepared: Mutex<HashMap<JobId, PreparedJob>>,
    /// Wakes the orchestrator: a run was created or cancelled, or a job finished.
    wake: Arc<Notify>,
    /// Wakes idle workers: jobs were queued.
    work: Notify,
}

impl Shared {
    fn prepared(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, PreparedJob>> {
        self.prepared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running orchestrator and worker slots. Stop them with [`Engine::shutdown`].
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Starts the engine on `store`. `wake` is the notification the API sends when it creates or
    /// cancels a run. Jobs that an earlier process of this server left running (it was killed)
    /// end as failed with the reason stated; every unfinished run is then taken up again.
    ///
    /// # Errors
    /// When the store cannot be used.
    pub async fn start(store: Store, config: EngineConfig, wake: Arc<Notify>) -> Result<Self, StoreError> {
        store
            .reclaim_leases(&Reclaim::HeldBy("local:".into()), |_| ReclaimAction::Fail(SERVER_STOPPED.to_owned()))
            .await?;
        let shared =
            Arc::new(Shared { store, config, prepared: Mutex::new(HashMap::new()), wake, work: Notify::new() });
        let (stop, stop_receiver) = watch::channel(false);
        let mut orchestrator = Orchestrator { shared: Arc::clone(&shared), runs: HashMap::new() };
        orchestrator.pass().await?;
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(orchestrator.run(stop_receiver.clone())));
        for slot in 0..shared.config.workers {
            tasks.push(tokio::spawn(work(Arc::clone(&shared), slot, stop_receiver.clone())));
        }
        Ok(Self { shared, stop, tasks })
    }

    /// Wakes the orchestrator (the API calls this through the shared notification).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Drains: workers take no new job and finish the ones they run (their logs and results are
    /// stored), then the orchestrator records what follows from them and stops. Jobs still
    /// queued stay queued for the next start.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.work.notify_waiters();
        self.shared.wake.notify_one();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The state of one unfinished run in the orchestrator.
struct RunProgress {
    scheduler: Scheduler,
    plan: Arc<Plan>,
    context: Arc<RunContext>,
    cancel: CancelToken,
    /// The store's jobs of the run that the scheduler started, by id.
    legs: HashMap<JobId, LegId>,
    /// Jobs whose results the scheduler was given.
    fed: HashSet<JobId>,
}

struct Orchestrator {
    shared: Arc<Shared>,
    runs: HashMap<RunId, RunProgress>,
}

/// Why a run cannot go on: it is completed as failed.
#[derive(Debug, thiserror::Error)]
enum RunFailure {
    #[error("the run has no plan")]
    NoPlan,
    #[error(transparent)]
    Schedule(#[from] slipway_runtime::ScheduleError),
    #[error(transparent)]
    Variables(crate::variables::ResolveError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Orchestrator {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = *stop.borrow();
            // A failed pass (the database was unreachable) is tried again on the next one.
            let _ = self.pass().await;
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
            match take_up(&self.shared, run).await {
                Ok(progress) => {
                    self.runs.insert(run.id, progress);
                }
                Err(RunFailure::Store(error)) => return Err(error),
                Err(failure) => {
                    let message = format!("the run cannot go on: {failure}");
                    fail_run(&self.shared.store, run.id, &message).await?;
                }
            }
        }
        let mut queued_any = false;
        for run in unfinished {
            match self.advance(run.id).await {
                Ok(queued) => queued_any |= queued,
                // The scheduler may have decided more than was recorded: it is rebuilt from the
                // store on the next pass, as after a restart.
                Err(error) => {
                    self.runs.remove(&run.id);
                    if queued_any {
                        self.shared.work.notify_waiters();
                    }
                    return Err(error);
                }
            }
        }
        if queued_any {
            self.shared.work.notify_waiters();
        }
        Ok(())
    }

    /// Moves a run on: feeds the scheduler the jobs that completed, queues the legs it starts,
    /// completes the run when it says so. Whether jobs were queued.
    async fn advance(&mut self, run_id: RunId) -> Result<bool, StoreError> {
        let store = self.shared.store.clone();
        let Some(progress) = self.runs.get_mut(&run_id) else { return Ok(false) };
        let run = store.run(run_id).await?;
        if run.status == RunStatus::Completed {
            self.runs.remove(&run_id);
            return Ok(false);
        }
        if run.cancel_requested && !progress.scheduler.is_canceled() {
            progress.scheduler.cancel();
            if !progress.cancel.is_canceled() {
                progress.cancel.cancel();
            }
        }
        let mut jobs: HashMap<String, Job> =
            store.jobs_of_run(run_id).await?.into_iter().map(|job| (job.key.clone(), job)).collect();
        for job in jobs.values() {
            if job.status == JobStatus::Completed
                && !progress.fed.contains(&job.id)
                && let Some(&leg) = progress.legs.get(&job.id)
            {
                feed(&store, progress, leg, job).await?;
            }
        }
        let mut queued_any = false;
        let mut run_started = run.status == RunStatus::Running;
        loop {
            let decisions = progress.scheduler.poll();
            if decisions.is_empty() {
                break;
            }
            let mut fed_any = false;
            let mut events = Vec::new();
            for decision in decisions {
                match decision {
                    Decision::StageStarted { stage } => {
                        let (name, display_name) = stage_names(&progress.plan, stage);
                        events.push(Event::StageStarted { time: now_ms(), stage: name, display_name });
                    }
                    Decision::StageFinished { stage, result, message } => {
                        let (name, _) = stage_names(&progress.plan, stage);
                        events.push(Event::StageFinished {
                            time: now_ms(),
                            stage: name,
                            result,
                            duration_ms: 0,
                            message,
                        });
                    }
                    Decision::StartLeg { leg, variables } => {
                        let key = slipway_runtime::run::job_id(&progress.plan, leg);
                        match jobs.get(&key) {
                            Some(job) if job.status == JobStatus::Completed => {
                                progress.legs.insert(job.id, leg);
                                feed(&store, progress, leg, job).await?;
                                fed_any = true;
                            }
                            existing => {
                                let job = match existing {
                                    Some(job) => job.clone(),
                                    None => {
                                        let new_job = new_job(&progress.plan, leg, &key);
                                        let added = store.add_jobs(run_id, &[new_job]).await?;
                                        let Some(job) = added.into_iter().next() else { continue };
                                        jobs.insert(key.clone(), job.clone());
                                        job
                                    }
                                };
                                progress.legs.insert(job.id, leg);
                                let request = JobRequest {
                                    plan: Arc::clone(&progress.plan),
                                    leg,
                                    id: key,
                                    variables,
                                    run: Arc::clone(&progress.context),
                                };
                                let prepared = PreparedJob { run: run_id, request, cancel: progress.cancel.clone() };
                                self.shared.prepared().insert(job.id, prepared);
                                if job.status == JobStatus::Pending {
                                    store.queue_job(job.id).await?;
                                }
                                if !run_started {
                                    store.start_run(run_id).await?;
                                    run_started = true;
                                }
                                queued_any = true;
                            }
                        }
                    }
                    Decision::JobFinished { stage, job, result, message } => {
                        // A job skipped before any leg started is recorded so that it shows.
                        let Some(plan_job) = progress.plan.stages.get(stage).and_then(|s| s.jobs.get(job)) else {
                            continue;
                        };
                        let stage_name = progress.plan.stages.get(stage).map(|s| s.name.clone()).unwrap_or_default();
                        let prefix = format!("{stage_name}.{}", plan_job.name);
                        let known = jobs.keys().any(|key| key == &prefix || key.starts_with(&format!("{prefix}.")));
                        if known {
                            let reset = crate::reruns::finish_reset_jobs(
                                &store,
                                &mut jobs,
                                &prefix,
                                result,
                                message.as_deref(),
                            )
                            .await?;
                            progress.fed.extend(reset);
                        } else {
                            let skipped = NewJob {
                                stage: stage_name,
                                job: plan_job.name.clone(),
                                leg: None,
                                display_name: plan_job.display_name.clone().unwrap_or_else(|| plan_job.name.clone()),
                                pool: LOCAL_POOL.to_owned(),
                                demands: Vec::new(),
                                ready: false,
                            };
                            if let Some(mut added) = store.add_jobs(run_id, &[skipped]).await?.into_iter().next() {
                                // A job added to a cancelled run is completed as cancelled at once.
                                if added.status != JobStatus::Completed {
                                    added = store.finish_job_unleased(added.id, result, message.as_deref()).await?;
                                }
                                progress.fed.insert(added.id);
                                jobs.insert(prefix, added);
                            }
                        }
                    }
                    Decision::RunFinished { result } => {
                        events.push(Event::RunFinished { time: now_ms(), result, duration_ms: 0 });
                        store.append_events(run_id, &events).await?;
                        store.finish_run(run_id, result).await?;
                        self.runs.remove(&run_id);
                        return Ok(queued_any);
                    }
                }
            }
            if !events.is_empty() {
                store.append_events(run_id, &events).await?;
            }
            if !fed_any {
                break;
            }
        }
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

/// Builds the scheduler and shared context of a run from what the store holds.
async fn take_up(shared: &Shared, run: &Run) -> Result<RunProgress, RunFailure> {
    let store = &shared.store;
    let plan = Arc::new(store.run_plan(run.id).await?.ok_or(RunFailure::NoPlan)?);
    let variables = crate::variables::for_run(store, run, &plan).await.map_err(|error| match error {
        crate::variables::ResolveError::Store(error) => RunFailure::Store(error),
        other => RunFailure::Variables(other),
    })?;
    let pipeline = store.pipeline(run.pipeline).await?;
    let text = |key: &str| run.trigger_details.get(key).and_then(|value| value.as_str()).unwrap_or_default();
    let repository = RepositoryInfo {
        name: pipeline.name.clone(),
        branch: run.branch.clone().unwrap_or_else(|| "refs/heads/main".into()),
        commit: run.commit.clone().unwrap_or_default(),
        message: text("message").to_owned(),
        author: run.requested_by.clone().unwrap_or_default(),
        email: text("email").to_owned(),
        uri: pipeline.repository.clone(),
    };
    let run_dir = run_directory(&shared.config.data_dir, run.id);
    let work_dir = run_dir.join("work");
    let id = u64::try_from(run.id.get()).unwrap_or_default();
    let mut base = workspace::run_variables(id, &pipeline.name, &repository, &work_dir);
    base.force(Variable::readonly("Build.BuildNumber", run.run_number.clone()));
    for (name, value) in crate::launch::trigger_variables(run) {
        base.force(Variable::readonly(name, value));
    }
    variables.base.into_iter().for_each(|variable| base.force(variable));
    let counters = slipway_runtime::counters::Counters::default();
    let mut scheduler = Scheduler::with_variable_groups(
        Arc::clone(&plan),
        base,
        &Selection::default(),
        LEGS_PER_RUN,
        counters,
        variables.groups,
    )?;
    let mut context = RunContext::new(work_dir, run_dir.join("source"), false, run.run_number.clone());
    context.kill_grace = shared.config.kill_grace;
    context.cache_dir = shared.config.data_dir.join("cache");
    variables.secrets.iter().for_each(|secret| context.masker.add(secret));
    context.job_counter = crate::reruns::job_directories_used(&context.run_dir).into();
    let cancel = CancelToken::new();
    if run.cancel_requested {
        cancel.cancel();
        scheduler.cancel();
    }
    Ok(RunProgress { scheduler, plan, context: Arc::new(context), cancel, legs: HashMap::new(), fed: HashSet::new() })
}

/// Gives the scheduler a completed job's result and output variables.
async fn feed(store: &Store, progress: &mut RunProgress, leg: LegId, job: &Job) -> Result<(), StoreError> {
    let outputs = store.job_output_values(job.id).await?;
    let outputs = outputs.into_iter().map(|output| (output.name, output.value)).collect();
    progress.scheduler.leg_finished(leg, job.result.unwrap_or(TaskResult::Failed), outputs);
    progress.fed.insert(job.id);
    Ok(())
}

fn stage_names(plan: &Plan, stage: usize) -> (String, String) {
    plan.stages
        .get(stage)
        .map(|stage| (stage.name.clone(), stage.display_name.clone().unwrap_or_else(|| stage.name.clone())))
        .unwrap_or_default()
}

fn new_job(plan: &Plan, leg: LegId, key: &str) -> NewJob {
    let stage = plan.stages.get(leg.stage);
    let job = stage.and_then(|stage| stage.jobs.get(leg.job));
    let plan_leg = job.and_then(|job| job.legs.get(leg.leg));
    let job_display = job.map(|job| job.display_name.clone().unwrap_or_else(|| job.name.clone()));
    let display_name = plan_leg
        .and_then(|plan_leg| plan_leg.display_name.clone())
        .or_else(|| match (&job_display, plan_leg.and_then(|plan_leg| plan_leg.name.as_ref())) {
            (Some(display), Some(name)) => Some(format!("{display} {name}")),
            (display, _) => display.clone(),
        })
        .unwrap_or_else(|| key.to_owned());
    NewJob {
        stage: stage.map(|stage| stage.name.clone()).unwrap_or_default(),
        job: job.map(|job| job.name.clone()).unwrap_or_default(),
        leg: plan_leg.and_then(|plan_leg| plan_leg.name.clone()),
        display_name,
        pool: LOCAL_POOL.to_owned(),
        demands: Vec::new(),
        // Registered with the workers first, then queued.
        ready: false,
    }
}

/// The directory of a run: `runs/ID` in the data directory, with `source` (the checkout) and
/// `work` (what the runtime makes) in it.
#[must_use]
pub fn run_directory(data_dir: &std::path::Path, run: RunId) -> PathBuf {
    data_dir.join("runs").join(run.get().to_string())
}

/// One worker slot: leases jobs and runs them until the engine stops.
async fn work(shared: Arc<Shared>, slot: usize, mut stop: watch::Receiver<bool>) {
    let request = LeaseRequest {
        holder: format!("local:{slot}"),
        pool: LOCAL_POOL.to_owned(),
        capabilities: std::collections::BTreeMap::new(),
        duration: shared.config.lease_duration,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        match shared.store.lease_job(&request).await {
            Ok(Some(lease)) => {
                run_leased(&shared, lease).await;
                shared.wake.notify_one();
            }
            Ok(None) | Err(_) => {
                let notified = shared.work.notified();
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(shared.config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Sends the events of a job to the task that stores them.
struct ChannelSink(mpsc::UnboundedSender<Event>);

impl EventSink for ChannelSink {
    fn emit(&self, event: Event) {
        let _ = self.0.send(event);
    }
}

/// The log line an event adds to its job's log, if any. Formatted lines keep their `##[kind]`
/// prefix, as in Azure's raw logs, so that readers of the log (the web UI) can fold groups and
/// show warnings and errors.
fn log_line(event: &Event) -> Option<String> {
    use slipway_events::LogKind;
    match event {
        Event::Log { job: Some(_), kind, text, .. } => Some(match kind {
            LogKind::Output => text.clone(),
            LogKind::Group => format!("##[group]{text}"),
            LogKind::EndGroup => "##[endgroup]".to_owned(),
            LogKind::Section => format!("##[section]{text}"),
            LogKind::Warning => format!("##[warning]{text}"),
            LogKind::Error => format!("##[error]{text}"),
            LogKind::Debug => format!("##[debug]{text}"),
            LogKind::Command => format!("##[command]{text}"),
        }),
        Event::StepStarted { display_name, .. } => Some(format!("##[section]Starting: {display_name}")),
        Event::StepFinished { display_name, result, .. } => {
            Some(format!("##[section]Finishing: {display_name} ({result})"))
        }
        _ => None,
    }
}

/// Stores a job's events as they come, and its log lines in numbered chunks.
async fn store_events(store: Store, run: RunId, lease: LeaseToken, mut events: mpsc::UnboundedReceiver<Event>) {
    let mut sequence = 0;
    let mut step_names = HashMap::new();
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1000 {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let lines: Vec<String> = batch.iter().filter_map(log_line).collect();
        // A lost lease or an unreachable database loses these lines; the job is stopped then.
        let _ = store.append_events(run, &batch).await;
        if !lines.is_empty() && store.append_log_chunk(&lease, sequence, &lines).await.is_ok() {
            sequence += 1;
        }
        for event in &batch {
            record_outcome(&store, run, &lease, event, &mut step_names).await;
        }
    }
}

/// Keeps what an event says about a step, test results or coverage in the store's tables, which
/// the API and the web UI read (the events stay the full record).
async fn record_outcome(
    store: &Store,
    run: RunId,
    lease: &LeaseToken,
    event: &Event,
    step_names: &mut HashMap<u32, Option<String>>,
) {
    use slipway_store::{Step, StepStatus, Timestamp};
    let millis = |time: u64| Timestamp::from_millis(i64::try_from(time).unwrap_or(i64::MAX));
    // Like log lines, what a lost lease or an unreachable database does not keep is lost.
    let _ = match event {
        Event::StepStarted { time, step, name, display_name, .. } => {
            step_names.insert(*step, name.clone());
            let step = Step {
                number: i64::from(*step),
                name: name.clone(),
                display_name: display_name.clone(),
                status: StepStatus::Running,
                result: None,
                exit_code: None,
                attempts: 1,
                message: None,
                started_at: Some(millis(*time)),
                finished_at: None,
            };
            store.record_step(lease, &step).await
        }
        Event::StepFinished { time, step, display_name, result, duration_ms, exit_code, attempts, message, .. } => {
            let step = Step {
                number: i64::from(*step),
                name: step_names.get(step).cloned().flatten(),
                display_name: display_name.clone(),
                status: StepStatus::Completed,
                result: Some(*result),
                exit_code: exit_code.map(i64::from),
                attempts: i64::from(*attempts),
                message: message.clone(),
                started_at: Some(millis(time.saturating_sub(*duration_ms))),
                finished_at: Some(millis(*time)),
            };
            store.record_step(lease, &step).await
        }
        Event::TestResultsPublished { job, step, results, .. } => {
            store.add_test_run(run, job, i64::from(*step), results).await
        }
        Event::CoveragePublished { job, step, coverage, .. } => {
            store.add_coverage(run, job, i64::from(*step), coverage).await
        }
        _ => Ok(()),
    };
}

/// Renews a lease until aborted; tells the job to stop when the run is cancelled or the lease lost.
async fn keep_lease(store: Store, lease: LeaseToken, duration: Duration, cancel: CancelToken) {
    let mut interval = tokio::time::interval(duration / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        match store.renew_lease(&lease, duration).await {
            Ok(heartbeat) => {
                if heartbeat.cancel_requested && !cancel.is_canceled() {
                    cancel.cancel();
                }
            }
            Err(error) if error.is_lease_lost() => {
                cancel.cancel();
                cancel.cancel();
                return;
            }
            Err(_) => {}
        }
    }
}

async fn run_leased(shared: &Shared, lease: Lease) {
    let store = &shared.store;
    let prepared = shared.prepared().get(&lease.job.id).cloned();
    let Some(prepared) = prepared else {
        let message = "this server has no context for the job (it was queued by another server)";
        let _ = store.complete_job(&lease.token, TaskResult::Failed, Some(message)).await;
        return;
    };
    let (sender, receiver) = mpsc::unbounded_channel();
    let writer = tokio::spawn(store_events(store.clone(), prepared.run, lease.token.clone(), receiver));
    let heartbeat = tokio::spawn(keep_lease(
        store.clone(),
        lease.token.clone(),
        shared.config.lease_duration,
        prepared.cancel.clone(),
    ));
    let masker_outputs = Arc::clone(&prepared.request.run);
    let outcome = run_on_thread(prepared.request, prepared.cancel, ChannelSink(sender), &lease.job).await;
    heartbeat.abort();
    let _ = writer.await;
    let outputs: Vec<VariableValue> = outcome
        .outputs
        .iter()
        .map(|(name, value)| VariableValue {
            name: name.clone(),
            value: value.clone(),
            is_secret: masker_outputs.masker.mask(value) != *value,
        })
        .collect();
    if !outputs.is_empty() {
        let _ = store.set_job_outputs(&lease.token, &outputs).await;
    }
    crate::artifacts::keep_job_artifacts(store, &shared.config.data_dir, prepared.run, lease.job.id, &masker_outputs)
        .await;
    let _ = store.complete_job(&lease.token, outcome.result, outcome.message.as_deref()).await;
    shared.prepared().remove(&lease.job.id);
}

/// Runs a job with the [`LocalExecutor`] on a thread with a full-size stack (built-in tasks need
/// it), sending `jobStarted` and `jobFinished` around it.
async fn run_on_thread(request: JobRequest, cancel: CancelToken, sink: ChannelSink, job: &Job) -> JobOutcome {
    let (sender, receiver) = oneshot::channel();
    let started = Event::JobStarted {
        time: now_ms(),
        job: request.id.clone(),
        stage: job.stage.clone(),
        name: job.job.clone(),
        leg: job.leg.clone(),
        display_name: job.display_name.clone(),
        environment: None,
    };
    let spawned =
        std::thread::Builder::new().name(format!("job-{}", request.id)).stack_size(8 * 1024 * 1024).spawn(move || {
            let start = std::time::Instant::now();
            sink.emit(started);
            let id = request.id.clone();
            let outcome = LocalExecutor.run_job(request, &sink, &cancel);
            sink.emit(Event::JobFinished {
                time: now_ms(),
                job: id,
                result: outcome.result,
                duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                message: outcome.message.clone(),
            });
            let _ = sender.send(outcome);
        });
    let failed =
        |message: String| JobOutcome { result: TaskResult::Failed, outputs: Vec::new(), message: Some(message) };
    match spawned {
        Ok(_) => receiver.await.unwrap_or_else(|_| failed("the job's thread ended without a result".into())),
        Err(error) => failed(format!("could not start a thread for the job: {error}")),
    }
}
