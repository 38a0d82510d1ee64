//! Running one leased job, whatever carries its reports: a remote agent sends them over HTTP
//! ([`crate::client`]), the server's in-process agents write them to the store. Both give the
//! runner an [`Uplink`]; the runner does the rest the same way:
//!
//! 1. it builds the job's [`JobRequest`] from the [`JobMessage`] (the piece of the plan, the
//!    variables with this agent's own `Agent.*` values, the checkout);
//! 2. it copies the run's artifacts from the server into the local artifact store (unless the
//!    store is the server's own);
//! 3. it runs the job with the [`LocalExecutor`] on a thread of its own, while one thread sends the
//!    job's events up in numbered chunks (a chunk that fails to send is sent again, unchanged,
//!    until it is stored) and another renews the lease every heartbeat and stops the job when the
//!    run is cancelled or the lease is lost;
//! 4. it uploads the artifacts the job published, then completes the job with its result and
//!    output variables.
//!
//! A job whose lease cannot be renewed before it expires is stopped at once (killed): the server
//! may give it to another agent, and a job never runs twice at the same time.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use slipway_driver::{LegId, Variable, Variables};
use slipway_events::{Event, EventSink, TaskResult, now_ms};
use slipway_protocol::{
    ArtifactManifest, Chunk, Completion, HeartbeatReply, JobMessage, MAX_CHUNK_EVENTS, OutputVariable,
};
use slipway_runtime::artifacts::ArtifactStore;
use slipway_runtime::{CancelToken, Executor as _, JobOutcome, JobRequest, LocalExecutor, RunContext};

/// Why a report did not reach the server.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    /// The agent no longer holds the job's lease: stop the job and report nothing more.
    #[error("the lease was lost: {0}")]
    LeaseLost(String),
    /// The server could not be reached or failed; trying again may work.
    #[error("{0}")]
    Transient(String),
    /// The server refused the report; trying again will not help.
    #[error("{0}")]
    Refused(String),
}

/// Where a running job's reports go.
pub trait Uplink: Send + Sync {
    /// Renews the job's lease.
    ///
    /// # Errors
    /// When the lease is lost or the server cannot be reached.
    fn heartbeat(&self) -> Result<HeartbeatReply, UplinkError>;

    /// Sends one chunk of the job's events. Sending the same chunk again must be harmless.
    ///
    /// # Errors
    /// When the chunk was not stored.
    fn send_chunk(&self, chunk: &Chunk) -> Result<(), UplinkError>;

    /// Whether the local artifact store is the server's own (the server's in-process agents), so
    /// that nothing is copied down or up.
    fn shares_artifact_store(&self) -> bool;

    /// Downloads a blob of the run's artifact store into `store`.
    ///
    /// # Errors
    /// When it cannot be downloaded.
    fn download_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError>;

    /// Which of these blobs the server lacks.
    ///
    /// # Errors
    /// When the server cannot be asked.
    fn missing_blobs(&self, digests: &[String]) -> Result<Vec<String>, UplinkError>;

    /// Uploads a blob from `store`.
    ///
    /// # Errors
    /// When it cannot be uploaded.
    fn upload_blob(&self, digest: &str, store: &ArtifactStore) -> Result<(), UplinkError>;

    /// Records an artifact the job published (its blobs are on the server).
    ///
    /// # Errors
    /// When it cannot be recorded.
    fn publish_artifact(&self, manifest: &ArtifactManifest) -> Result<(), UplinkError>;

    /// Completes the job. Sending the same completion again must be harmless.
    ///
    /// # Errors
    /// When the completion was not stored.
    fn complete(&self, completion: &Completion) -> Result<(), UplinkError>;

    /// Asks the server's delivery room for what a delivery task needs (slots, traffic,
    /// analysis), with the job's lease.
    ///
    /// # Errors
    /// When the server refused or could not be reached.
    fn delivery(
        &self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, UplinkError>;
}

/// Who runs the job: values of the `Agent.*` variables.
#[derive(Clone, Debug)]
pub struct AgentIdentity {
    /// `Agent.Name`.
    pub name: String,
    /// `Agent.Id`.
    pub id: i64,
    /// `Agent.WorkFolder` and friends.
    pub work_folder: PathBuf,
}

/// Where the job runs on this machine.
#[derive(Clone, Debug)]
pub struct JobPlace {
    /// The run's directory: job workspaces go in `w/JOB_ID` under it.
    pub run_dir: PathBuf,
    /// The checkout of the run's commit (`checkout: self` uses it in place).
    pub source_dir: PathBuf,
    /// The run's artifact store.
    pub artifacts_dir: PathBuf,
    /// The `Cache@2` store.
    pub cache_dir: PathBuf,
    /// How long a minute of `timeoutInMinutes` lasts (a minute, except in tests).
    pub minute: Duration,
    /// What the job's thread confines itself to before the first step (the server's in-process
    /// agents keep jobs out of its data directory); a job that cannot be confined fails.
    pub confinement: Option<crate::confine::Confinement>,
    /// The environment steps start from; this process's when `None`.
    pub environment: Option<Vec<(String, String)>>,
    /// The agent's supervisor of slot processes (the versions of services delivery tasks
    /// start) and where their output goes; without it delivery tasks cannot start versions.
    pub slots: Option<(Arc<slipway_runtime::slots::SlotSupervisor>, PathBuf)>,
}

/// How a job ended, as far as this agent knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobReport {
    /// The result sent to the server.
    pub result: TaskResult,
    /// Why, when not obvious.
    pub message: Option<String>,
    /// The lease was lost: the server decides what became of the job.
    pub lease_lost: bool,
    /// The completion reached the server.
    pub completed: bool,
}

/// How long events are gathered into one chunk after the first.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

/// How long to wait before trying a report again, after `attempt` failures.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100_u64.saturating_mul(1 << attempt.min(5)).min(2_000))
}

/// The state the runner's threads share.
struct Shared {
    uplink: Arc<dyn Uplink>,
    cancel: CancelToken,
    /// The lease was lost (the server said so, or it expired here without renewal).
    lost: AtomicBool,
    /// The job and its reports are over: the heartbeat stops.
    done: AtomicBool,
    /// When the lease runs out unless renewed, by this machine's clock.
    lease_end: Mutex<Instant>,
    heartbeat_interval: Duration,
    /// Artifacts the job published, by name.
    published: Mutex<Vec<String>>,
}

impl Shared {
    fn lose(&self) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            // Twice: stop at once, run nothing more (no `always()` steps on a lost lease).
            self.cancel.cancel();
            self.cancel.cancel();
        }
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn lease_expired(&self) -> bool {
        Instant::now() >= *self.lease_end.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `attempt` until it works, the lease is lost, or the lease expires here.
    fn retry<T>(&self, mut attempt: impl FnMut() -> Result<T, UplinkError>) -> Result<T, UplinkError> {
        let mut failures = 0;
        loop {
            if self.is_lost() {
                return Err(UplinkError::LeaseLost("the lease was lost".into()));
            }
            match attempt() {
                Ok(value) => return Ok(value),
                Err(UplinkError::LeaseLost(reason)) => {
                    self.lose();
                    return Err(UplinkError::LeaseLost(reason));
                }
                Err(UplinkError::Refused(reason)) => return Err(UplinkError::Refused(reason)),
                Err(UplinkError::Transient(reason)) => {
                    if self.lease_expired() {
                        self.lose();
                        return Err(UplinkError::LeaseLost(format!(
                            "the lease expired while the server could not be reached: {reason}"
                        )));
                    }
                    std::thread::sleep(backoff(failures));
                    failures += 1;
                }
            }
        }
    }
}

/// Renews the lease every heartbeat until the job is done; cancels the job on a cancelled run.
fn heartbeat_loop(shared: &Shared, wake: &Receiver<()>) {
    let mut failures = 0;
    loop {
        let wait = if failures == 0 { shared.heartbeat_interval } else { backoff(failures) };
        match wake.recv_timeout(wait) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if shared.done.load(Ordering::SeqCst) || shared.is_lost() {
            return;
        }
        let sent_at = Instant::now();
        match shared.uplink.heartbeat() {
            Ok(reply) => {
                failures = 0;
                let remaining = Duration::from_millis(reply.lease_remaining_ms);
                *shared.lease_end.lock().unwrap_or_else(PoisonError::into_inner) = sent_at + remaining;
                if reply.cancel_requested && !shared.cancel.is_canceled() {
                    shared.cancel.cancel();
                }
            }
            Err(UplinkError::LeaseLost(_)) => {
                shared.lose();
                return;
            }
            Err(UplinkError::Transient(_) | UplinkError::Refused(_)) => {
                failures += 1;
                if shared.lease_expired() {
                    shared.lose();
                    return;
                }
            }
        }
    }
}

/// Sends the job's events up in numbered chunks, in order, each until it is stored.
fn send_loop(shared: &Shared, events: &Receiver<Event>) {
    let mut sequence = 0_i64;
    while let Ok(first) = events.recv() {
        // Events that come soon after the first go in the same chunk: fewer, larger chunks (one
        // transaction each on the server), live logs at most a batch window late.
        let deadline = Instant::now() + BATCH_WINDOW;
        let mut batch = vec![first];
        while batch.len() < MAX_CHUNK_EVENTS {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            match events.recv_timeout(left) {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        for event in &batch {
            if let Event::ArtifactPublished { name, .. } = event {
                let mut published = shared.published.lock().unwrap_or_else(PoisonError::into_inner);
                if !published.contains(name) {
                    published.push(name.clone());
                }
            }
        }
        if shared.is_lost() {
            continue;
        }
        let chunk = Chunk { sequence, events: batch };
        match shared.retry(|| shared.uplink.send_chunk(&chunk)) {
            Ok(()) => sequence += 1,
            // A refused chunk is dropped (its lines are lost) so that later ones still go up; the
            // lease lost: nothing more is sent.
            Err(UplinkError::Refused(_)) => sequence += 1,
            Err(_) => {}
        }
    }
}

/// Sends events to the thread that sends chunks.
struct ChannelSink(Mutex<Sender<Event>>);

impl EventSink for ChannelSink {
    fn emit(&self, event: Event) {
        let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).send(event);
    }
}

/// Copies the run's artifacts that the local store lacks from the server.
fn download_artifacts(shared: &Shared, message: &JobMessage, store: &ArtifactStore) -> Result<(), String> {
    for record in &message.artifacts {
        let manifest = &record.manifest;
        if store.manifest(&manifest.name).is_ok_and(|local| local.digest() == manifest.digest()) {
            continue;
        }
        for file in &manifest.files {
            if store.existing_blob(&file.digest).is_none() {
                shared
                    .retry(|| shared.uplink.download_blob(&file.digest, store))
                    .map_err(|error| format!("could not download artifact '{}': {error}", manifest.name))?;
            }
        }
        store
            .install_manifest(manifest)
            .map_err(|error| format!("could not install artifact '{}': {error}", manifest.name))?;
    }
    Ok(())
}

/// Uploads the artifacts the job published: missing blobs first, then the manifests.
fn upload_artifacts(shared: &Shared, store: &ArtifactStore) -> Result<(), String> {
    let names = shared.published.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for name in names {
        let manifest = store.manifest(&name).map_err(|error| error.to_string())?;
        if !shared.uplink.shares_artifact_store() {
            let mut digests: Vec<String> = manifest.files.iter().map(|file| file.digest.clone()).collect();
            digests.sort();
            digests.dedup();
            let missing = shared
                .retry(|| shared.uplink.missing_blobs(&digests))
                .map_err(|error| format!("could not upload artifact '{name}': {error}"))?;
            for digest in missing {
                shared
                    .retry(|| shared.uplink.upload_blob(&digest, store))
                    .map_err(|error| format!("could not upload artifact '{name}': {error}"))?;
            }
        }
        shared
            .retry(|| shared.uplink.publish_artifact(&manifest))
            .map_err(|error| format!("could not publish artifact '{name}': {error}"))?;
    }
    Ok(())
}

/// The delivery room, reached through the job's uplink.
struct UplinkDelivery(Arc<Shared>);

impl slipway_runtime::delivery::DeliveryRemote for UplinkDelivery {
    fn call(
        &self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, String> {
        if self.0.is_lost() {
            return Err("the job's lease was lost".into());
        }
        // A change asked twice is harmless (the same weights, the same slot), so transient
        // failures are tried again like the job's other reports.
        self.0.retry(|| self.0.uplink.delivery(request)).map_err(|error| error.to_string())
    }
}

/// The job's variables as the runtime holds them, with this agent's `Agent.*` values.
fn job_variables(message: &JobMessage, agent: &AgentIdentity) -> Variables {
    let mut variables = Variables::new();
    for variable in &message.work.variables {
        variables.force(Variable {
            name: variable.name.clone(),
            value: variable.value.clone(),
            secret: variable.secret,
            readonly: variable.readonly,
        });
    }
    let host = slipway_runtime::workspace::hostname();
    let work = agent.work_folder.display().to_string();
    let entries = [
        ("Agent.Name", agent.name.clone()),
        ("Agent.Id", agent.id.to_string()),
        ("Agent.MachineName", host),
        ("Agent.OS", slipway_protocol::azure_os_name(std::env::consts::OS).to_owned()),
        ("Agent.OSArchitecture", slipway_protocol::azure_architecture_name(std::env::consts::ARCH).to_owned()),
        ("Agent.Version", slipway_protocol::SOFTWARE_VERSION.to_owned()),
        ("Agent.WorkFolder", work.clone()),
        ("Agent.RootDirectory", work.clone()),
        ("Agent.HomeDirectory", work),
        ("Agent.ToolsDirectory", agent.work_folder.join("_tool").display().to_string()),
    ];
    for (name, value) in entries {
        variables.force(Variable::readonly(name, value));
    }
    variables
}

/// Runs a leased job to its end and reports it through `uplink` (see the module documentation).
/// `cancel` stops the job from outside (the agent's own Ctrl-C, the server's in-process cancel).
/// `prepare` runs first, while the lease is already renewed (the agent checks out the commit and
/// brings its OSV database up to date there); its warnings go in the job's log, its error fails
/// the job.
#[must_use]
pub fn run_job(
    message: &JobMessage,
    place: &JobPlace,
    agent: &AgentIdentity,
    uplink: Arc<dyn Uplink>,
    cancel: &CancelToken,
    prepare: &dyn Fn() -> Result<Vec<String>, String>,
) -> JobReport {
    let lease_duration = Duration::from_millis(message.lease.duration_ms.max(1));
    let shared = Arc::new(Shared {
        uplink,
        cancel: cancel.clone(),
        lost: AtomicBool::new(false),
        done: AtomicBool::new(false),
        lease_end: Mutex::new(Instant::now() + lease_duration),
        heartbeat_interval: Duration::from_millis(message.lease.heartbeat_interval_ms.max(10)),
        published: Mutex::new(Vec::new()),
    });
    let (stop_heartbeat, heartbeat_wake) = mpsc::channel::<()>();
    let heartbeat = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("heartbeat-{}", message.job.id))
            .spawn(move || heartbeat_loop(&shared, &heartbeat_wake))
    };

    let mut context =
        RunContext::new(place.run_dir.clone(), place.source_dir.clone(), false, message.run.number.clone());
    context.artifacts = ArtifactStore::new(place.artifacts_dir.clone());
    context.cache_dir = place.cache_dir.clone();
    context.kill_grace = Duration::from_millis(message.timeouts.kill_grace_ms);
    context.minute = place.minute;
    context.base_environment.clone_from(&place.environment);
    if let Some((slots, log_directory)) = &place.slots {
        context.delivery = Some(Arc::new(slipway_runtime::delivery::DeliveryLink {
            remote: Arc::new(UplinkDelivery(Arc::clone(&shared))),
            slots: Arc::clone(slots),
            log_directory: log_directory.clone(),
        }));
    }
    // Job directories are numbered by the job's id, unique on the server.
    context.job_counter = AtomicUsize::new(usize::try_from(message.job.id).unwrap_or(usize::MAX / 2).saturating_sub(1));
    let context = Arc::new(context);

    let (sender, receiver) = mpsc::channel::<Event>();
    let sending = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("chunks-{}", message.job.id))
            .spawn(move || send_loop(&shared, &receiver))
    };
    let sink = ChannelSink(Mutex::new(sender));

    let mut outcome = match &sending {
        Ok(_) => {
            let prepared = prepare().and_then(|warnings| {
                for warning in warnings {
                    sink.emit(Event::Log {
                        time: now_ms(),
                        job: Some(message.job.key.clone()),
                        step: None,
                        stream: slipway_events::Stream::System,
                        kind: slipway_events::LogKind::Warning,
                        text: warning,
                    });
                }
                if shared.uplink.shares_artifact_store() {
                    Ok(())
                } else {
                    download_artifacts(&shared, message, &context.artifacts)
                }
            });
            match prepared {
                Ok(()) => execute(message, &context, agent, place.confinement.clone(), sink, cancel),
                Err(problem) => {
                    sink.emit(Event::Log {
                        time: now_ms(),
                        job: Some(message.job.key.clone()),
                        step: None,
                        stream: slipway_events::Stream::System,
                        kind: slipway_events::LogKind::Error,
                        text: problem.clone(),
                    });
                    drop(sink);
                    JobOutcome { result: TaskResult::Failed, outputs: Vec::new(), message: Some(problem) }
                }
            }
        }
        Err(error) => {
            drop(sink);
            JobOutcome {
                result: TaskResult::Failed,
                outputs: Vec::new(),
                message: Some(format!("could not start a thread for the job's reports: {error}")),
            }
        }
    };
    if let Ok(sending) = sending {
        let _ = sending.join();
    }

    let mut completed = false;
    if !shared.is_lost() {
        if let Err(problem) = upload_artifacts(&shared, &context.artifacts)
            && !shared.is_lost()
        {
            outcome.result = TaskResult::Failed;
            outcome.message = Some(problem);
        }
        let outputs = outcome
            .outputs
            .iter()
            .map(|(name, value)| OutputVariable {
                name: name.clone(),
                value: value.clone(),
                secret: context.masker.mask(value) != *value,
            })
            .collect();
        let completion = Completion { result: outcome.result, message: outcome.message.clone(), outputs };
        completed = shared.retry(|| shared.uplink.complete(&completion)).is_ok();
    }
    shared.done.store(true, Ordering::SeqCst);
    let _ = stop_heartbeat.send(());
    if let Ok(heartbeat) = heartbeat {
        let _ = heartbeat.join();
    }
    let lease_lost = shared.is_lost();
    JobReport {
        result: if lease_lost { TaskResult::Failed } else { outcome.result },
        message: if lease_lost { Some("the lease on the job was lost".into()) } else { outcome.message },
        lease_lost,
        completed,
    }
}

/// Runs the job with the [`LocalExecutor`] on a thread with a full-size stack (built-in tasks need
/// it), with `jobStarted` and `jobFinished` around it.
fn execute(
    message: &JobMessage,
    context: &Arc<RunContext>,
    agent: &AgentIdentity,
    confinement: Option<crate::confine::Confinement>,
    sink: ChannelSink,
    cancel: &CancelToken,
) -> JobOutcome {
    let work = &message.work;
    let request = JobRequest {
        plan: Arc::new(work.plan.clone()),
        leg: LegId { stage: work.leg.stage, job: work.leg.job, leg: work.leg.leg },
        id: message.job.key.clone(),
        variables: job_variables(message, agent),
        run: Arc::clone(context),
    };
    let started = Event::JobStarted {
        time: now_ms(),
        job: message.job.key.clone(),
        stage: message.job.stage.clone(),
        name: message.job.name.clone(),
        leg: message.job.leg.clone(),
        display_name: message.job.display_name.clone(),
        environment: None,
    };
    let cancel = cancel.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("job-{}", message.job.id))
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let start = Instant::now();
            sink.emit(started);
            let id = request.id.clone();
            // The confinement holds for this thread and all it starts, and ends with it.
            let confined = confinement.map_or(Ok(()), |confinement| confinement.apply_to_this_thread());
            let outcome = match confined {
                Ok(()) => LocalExecutor.run_job(request, &sink, &cancel),
                Err(error) => {
                    let text = format!("{error}; the job was not run");
                    sink.emit(Event::Log {
                        time: now_ms(),
                        job: Some(id.clone()),
                        step: None,
                        stream: slipway_events::Stream::System,
                        kind: slipway_events::LogKind::Error,
                        text: text.clone(),
                    });
                    JobOutcome { result: TaskResult::Failed, outputs: Vec::new(), message: Some(text) }
                }
            };
            sink.emit(Event::JobFinished {
                time: now_ms(),
                job: id,
                result: outcome.result,
                duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                message: outcome.message.clone(),
            });
            outcome
        });
    match spawned {
        Ok(thread) => thread.join().unwrap_or_else(|_| JobOutcome {
            result: TaskResult::Failed,
            outputs: Vec::new(),
            message: Some("the job's thread ended without a result".into()),
        }),
        Err(error) => JobOutcome {
            result: TaskResult::Failed,
            outputs: Vec::new(),
            message: Some(format!("could not start a thread for the job: {error}")),
        },
    }
}

/// Whether a job checks out its pipeline's own repository (explicitly, or implicitly as Azure's
/// agent jobs do when they name no checkout), so that the agent must fetch the commit.
#[must_use]
pub fn needs_source(message: &JobMessage) -> bool {
    use slipway_plan::{Action, JobKind};
    let Some(job) =
        message.work.plan.stages.get(message.work.leg.stage).and_then(|stage| stage.jobs.get(message.work.leg.job))
    else {
        return false;
    };
    let mut steps: Vec<&slipway_plan::Step> = job.steps.iter().collect();
    if let JobKind::Deployment(deployment) = &job.kind {
        steps.extend(deployment.hooks.iter().flat_map(|hook| hook.steps.iter()));
    }
    let mut checkouts = steps.iter().filter_map(|step| match &step.action {
        Action::Checkout { repository, .. } => Some(repository),
        _ => None,
    });
    let any_checkout = steps.iter().any(|step| matches!(step.action, Action::Checkout { .. }));
    let self_checkout = checkouts.any(|repository| repository.eq_ignore_ascii_case("self"));
    self_checkout || (!any_checkout && matches!(job.kind, JobKind::Agent))
}
