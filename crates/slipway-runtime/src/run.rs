//! Running a whole plan: the scheduler's decisions carried out with an [`Executor`], one thread
//! per running leg, events sent to an [`EventSink`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use slipway_events::{EVENTS_VERSION, Event, EventSink, LogKind, Severity, Stream, TaskResult, now_ms};
use slipway_plan::{Plan, Variable as PlanVariable};

use crate::executor::{CancelToken, Executor, JobRequest, RunContext};
use crate::scheduler::{Decision, LegId, ScheduleError, Scheduler, Selection};
use crate::variables::{Variable, Variables};
use crate::workspace::{self, DEFAULT_RUN_NAME, DateTime, RepositoryInfo};

/// How to run a plan.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How many legs may run at once (`--jobs`).
    pub max_parallel: usize,
    /// Which stages and jobs to run (`--stage`, `--job`).
    pub selection: Selection,
    /// Queue-time variables (`--var`).
    pub variables: Vec<(String, String)>,
    /// Queue-time secrets (`--secret`).
    pub secrets: Vec<(String, String)>,
    /// Where runs keep their directories (`runs/<id>`) and counters.
    pub work_dir: PathBuf,
    /// The repository, used in place by `checkout: self`.
    pub source_dir: PathBuf,
    /// Whether `checkout: self` copies the working tree instead (`--isolated`).
    pub isolated: bool,
    /// The pipeline's name (`Build.DefinitionName`).
    pub pipeline_name: String,
    /// Facts from git.
    pub repository: RepositoryInfo,
    /// Keep the directories of every run. Otherwise a finished run's directory stays until the next
    /// run removes it in the background.
    pub keep_run_dir: bool,
    /// Time between SIGTERM and SIGKILL when stopping a step.
    pub kill_grace: Duration,
    /// How long a minute of `timeoutInMinutes` lasts: a minute, shorter only in tests.
    pub minute: Duration,
    /// Task folders (`--tasks`), searched before the built-in tasks.
    pub task_folders: Vec<slipway_tasks::folder::TaskFolder>,
    /// Skip `task:` steps whose task is neither built in nor in a task folder, with a warning,
    /// instead of failing them (`--skip-unknown-tasks`).
    pub skip_unknown_tasks: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            max_parallel: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            selection: Selection::default(),
            variables: Vec::new(),
            secrets: Vec::new(),
            work_dir: std::env::temp_dir().join("slipway"),
            source_dir: PathBuf::from("."),
            isolated: false,
            pipeline_name: "pipeline".into(),
            repository: RepositoryInfo::default(),
            keep_run_dir: false,
            kill_grace: Duration::from_secs(5),
            minute: Duration::from_secs(60),
            task_folders: Vec::new(),
            skip_unknown_tasks: false,
        }
    }
}

/// A run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan cannot be scheduled.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The run's directory could not be made.
    #[error("could not prepare the run directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The run's result.
    pub result: TaskResult,
    /// `Build.BuildId`.
    pub run_id: u64,
    /// `Build.BuildNumber` at the end.
    pub build_number: String,
    /// Tags steps added.
    pub tags: Vec<String>,
}

fn next_counter(path: &std::path::Path) -> u64 {
    let last = std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse::<u64>().ok()).unwrap_or(0);
    let next = last + 1;
    let _ = std::fs::write(path, next.to_string());
    next
}

/// The file that marks a run's directory as finished, so a later run may remove it.
const FINISHED_MARKER: &str = ".finished";

/// How old an unfinished run's directory must be before it counts as abandoned (its process died).
const ABANDONED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Removes, on a background thread, the directories of earlier runs that finished (or that were
/// abandoned a day ago). Runs still in progress, here or in another process, are left alone. The
/// thread is not waited for: what it does not finish, the next run does.
fn remove_finished_runs_in_background(runs_dir: PathBuf, current: u64) {
    let spawned = std::thread::Builder::new().name("cleanup".into()).spawn(move || {
        let Ok(entries) = std::fs::read_dir(&runs_dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_other_run =
                entry.file_name().to_str().and_then(|name| name.parse::<u64>().ok()).is_some_and(|id| id != current);
            if !is_other_run {
                continue;
            }
            let finished = path.join(FINISHED_MARKER).exists();
            let abandoned = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > ABANDONED_AFTER);
            if finished || abandoned {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    });
    drop(spawned);
}

/// A pipeline name made safe to use as a file name.
fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// Keeps the `counter()` values of a run for the next run of the same pipeline.
fn save_counters(path: &std::path::Path, values: &std::collections::BTreeMap<String, i64>) {
    if values.is_empty() {
        return;
    }
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(text) = serde_json::to_vec_pretty(values) {
        let _ = std::fs::write(path, text);
    }
}

fn next_revision(work_dir: &std::path::Path, key: &str) -> u32 {
    let path = work_dir.join("revisions.json");
    let mut map: HashMap<String, u32> =
        std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
    let next = map.get(key).copied().unwrap_or(0) + 1;
    map.insert(key.to_owned(), next);
    if let Ok(text) = serde_json::to_vec(&map) {
        let _ = std::fs::write(&path, text);
    }
    next
}

/// The id events and the server's job queue give a leg: `stage.job`, or `stage.job.leg` for
/// matrix and parallel legs. Empty when the leg is not in the plan.
#[must_use]
pub fn job_id(plan: &Plan, leg: LegId) -> String {
    let Some(stage) = plan.stages.get(leg.stage) else { return String::new() };
    let Some(job) = stage.jobs.get(leg.job) else { return stage.name.clone() };
    match job.legs.get(leg.leg).and_then(|leg| leg.name.as_ref()) {
        Some(name) => format!("{}.{}.{name}", stage.name, job.name),
        None => format!("{}.{}", stage.name, job.name),
    }
}

fn elapsed_ms(start: Option<&Instant>) -> u64 {
    start.map_or(0, |start| u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// Runs `plan` to its end (or until `cancel` stops it), sending events to `sink`.
///
/// # Errors
/// When the plan cannot be scheduled or the run directory cannot be made; nothing ran then.
pub fn execute(
    plan: Arc<Plan>,
    options: &RunOptions,
    executor: Arc<dyn Executor>,
    sink: Arc<dyn EventSink>,
    cancel: &CancelToken,
) -> Result<RunReport, RunError> {
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |source| RunError::Io { path, source }
    };
    std::fs::create_dir_all(&options.work_dir).map_err(io(&options.work_dir))?;
    let run_id = next_counter(&options.work_dir.join("last-run-id"));
    let runs_dir = options.work_dir.join("runs");
    let run_dir = runs_dir.join(run_id.to_string());
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).map_err(io(&run_dir))?;
    if !options.keep_run_dir {
        remove_finished_runs_in_background(runs_dir, run_id);
    }

    let mut base = workspace::run_variables(run_id, &options.pipeline_name, &options.repository, &options.work_dir);
    // Queue-time variables sit below the pipeline's own, as in Azure.
    let mut shadowed = Vec::new();
    let declared = declared_names(&plan);
    for (name, value) in &options.variables {
        base.force(Variable::new(name.clone(), value.clone()));
        if declared.iter().any(|declared| declared.eq_ignore_ascii_case(name)) {
            shadowed.push(name.clone());
        }
    }
    for (name, value) in &options.secrets {
        base.force(Variable::secret(name.clone(), value.clone()));
        if declared.iter().any(|declared| declared.eq_ignore_ascii_case(name)) {
            shadowed.push(name.clone());
        }
    }
    let counters_path = options.work_dir.join("counters").join(format!("{}.json", file_name(&options.pipeline_name)));
    let counters = crate::counters::Counters::new(
        std::fs::read(&counters_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default(),
    );
    let mut scheduler =
        Scheduler::with_counters(Arc::clone(&plan), base, &options.selection, options.max_parallel, counters)?;

    // The run number may use the pipeline's variables.
    let now = DateTime::from_unix(now_ms() / 1000);
    let format = plan.run_name.clone().unwrap_or_else(|| DEFAULT_RUN_NAME.to_owned());
    let build_number = workspace::format_run_number(&format, now, scheduler.base_variables(), &mut |key| {
        next_revision(&options.work_dir, key)
    });
    scheduler.set_base_variable(Variable::readonly("Build.BuildNumber", build_number.clone()));

    let context = Arc::new({
        let mut context =
            RunContext::new(run_dir.clone(), options.source_dir.clone(), options.isolated, build_number.clone());
        context.kill_grace = options.kill_grace;
        context.minute = options.minute;
        context.task_folders.clone_from(&options.task_folders);
        context.skip_unknown_tasks = options.skip_unknown_tasks;
        // The cache store lives beside the runs, so that later runs find what earlier ones saved.
        context.cache_dir = options.work_dir.join("cache");
        context
    });
    for (_, value) in &options.secrets {
        context.masker.add(value);
    }

    let run_started = Instant::now();
    sink.emit(Event::RunStarted {
        time: now_ms(),
        version: EVENTS_VERSION,
        run_id,
        build_number: build_number.clone(),
        pipeline: options.pipeline_name.clone(),
    });
    let warn = |message: String| {
        sink.emit(Event::Issue {
            time: now_ms(),
            job: None,
            step: None,
            severity: Severity::Warning,
            message: context.masker.mask(&message),
            source_path: None,
            line: None,
            column: None,
            code: None,
        });
    };
    for name in shadowed {
        warn(format!(
            "the queue-time variable '{name}' is overridden by the pipeline's own variable of that name, as in Azure; \
             remove it from the YAML (or use a parameter) to set it from the command line"
        ));
    }

    let (sender, receiver) = mpsc::channel::<(LegId, crate::executor::JobOutcome)>();
    let mut threads = Vec::new();
    let mut stage_started: HashMap<usize, Instant> = HashMap::new();
    let mut leg_started: HashMap<LegId, Instant> = HashMap::new();
    let mut job_started: HashMap<(usize, usize), Instant> = HashMap::new();
    let mut result = TaskResult::Succeeded;
    let mut decisions = scheduler.poll();
    loop {
        for message in scheduler.take_warnings() {
            warn(message);
        }
        let mut done = false;
        for decision in decisions.drain(..) {
            match decision {
                Decision::StageStarted { stage } => {
                    stage_started.insert(stage, Instant::now());
                    let (name, display) = plan
                        .stages
                        .get(stage)
                        .map(|s| (s.name.clone(), s.display_name.clone().unwrap_or_else(|| s.name.clone())))
                        .unwrap_or_default();
                    sink.emit(Event::StageStarted { time: now_ms(), stage: name, display_name: display });
                }
                Decision::StageFinished { stage, result, message } => {
                    let name = plan.stages.get(stage).map(|s| s.name.clone()).unwrap_or_default();
                    sink.emit(Event::StageFinished {
                        time: now_ms(),
                        stage: name,
                        result,
                        duration_ms: elapsed_ms(stage_started.get(&stage)),
                        message,
                    });
                }
                Decision::StartLeg { leg, variables } => {
                    start_leg(&plan, leg, variables, &context, &executor, &sink, cancel, &sender, &mut threads);
                    leg_started.insert(leg, Instant::now());
                    job_started.entry((leg.stage, leg.job)).or_insert_with(Instant::now);
                }
                Decision::JobFinished { stage, job, result, message } => {
                    let Some(plan_job) = plan.stages.get(stage).and_then(|s| s.jobs.get(job)) else { continue };
                    let id = format!(
                        "{}.{}",
                        plan.stages.get(stage).map(|s| s.name.as_str()).unwrap_or_default(),
                        plan_job.name
                    );
                    sink.emit(Event::JobFinished {
                        time: now_ms(),
                        job: id,
                        result,
                        duration_ms: elapsed_ms(job_started.get(&(stage, job))),
                        message,
                    });
                }
                Decision::RunFinished { result: final_result } => {
                    result = final_result;
                    done = true;
                }
            }
        }
        if done {
            break;
        }
        if scheduler.running() == 0 {
            // Nothing runs and nothing was decided: should not happen with a valid graph.
            decisions = scheduler.poll();
            if decisions.is_empty() {
                warn("the scheduler stopped with work left; this is a bug in Slipway".into());
                result = TaskResult::Failed;
                break;
            }
            continue;
        }
        match receiver.recv_timeout(Duration::from_millis(50)) {
            Ok((leg, outcome)) => {
                let id = job_id(&plan, leg);
                let has_legs = plan
                    .stages
                    .get(leg.stage)
                    .and_then(|s| s.jobs.get(leg.job))
                    .is_some_and(|job| job.legs.iter().any(|leg| leg.name.is_some()));
                if has_legs {
                    sink.emit(Event::JobFinished {
                        time: now_ms(),
                        job: id,
                        result: outcome.result,
                        duration_ms: elapsed_ms(leg_started.get(&leg)),
                        message: outcome.message.clone(),
                    });
                }
                scheduler.leg_finished(leg, outcome.result, outcome.outputs);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
        if cancel.is_canceled() && !scheduler.is_canceled() {
            scheduler.cancel();
            sink.emit(Event::Log {
                time: now_ms(),
                job: None,
                step: None,
                stream: Stream::System,
                kind: LogKind::Warning,
                text: "Cancelling the run: stopping running steps, then running what runs after a cancel.".into(),
            });
        }
        decisions = scheduler.poll();
    }
    for thread in threads {
        let _ = thread.join();
    }
    let build_number = context.build_number.lock().map(|number| number.clone()).unwrap_or(build_number);
    let tags = context.tags.lock().map(|tags| tags.clone()).unwrap_or_default();
    sink.emit(Event::RunFinished { time: now_ms(), result, duration_ms: elapsed_ms(Some(&run_started)) });
    // The run's directories stay for inspection until the next run removes them in the background:
    // removing many directories is slow on some disks, and no run should wait for it.
    let _ = std::fs::write(run_dir.join(FINISHED_MARKER), result.to_string());
    save_counters(&counters_path, &scheduler.counters());
    Ok(RunReport { result, run_id, build_number, tags })
}

fn declared_names(plan: &Plan) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |variables: &[PlanVariable]| {
        for variable in variables {
            if let PlanVariable::Value { name, .. } = variable {
                names.push(name.clone());
            }
        }
    };
    add(&plan.variables);
    for stage in &plan.stages {
        add(&stage.variables);
        for job in &stage.jobs {
            add(&job.variables);
        }
    }
    names
}

#[expect(clippy::too_many_arguments, reason = "the pieces a leg's thread needs, all borrowed from the run loop")]
fn start_leg(
    plan: &Arc<Plan>,
    leg: LegId,
    variables: Variables,
    context: &Arc<RunContext>,
    executor: &Arc<dyn Executor>,
    sink: &Arc<dyn EventSink>,
    cancel: &CancelToken,
    sender: &mpsc::Sender<(LegId, crate::executor::JobOutcome)>,
    threads: &mut Vec<std::thread::JoinHandle<()>>,
) {
    let id = job_id(plan, leg);
    let stage = plan.stages.get(leg.stage);
    let job = stage.and_then(|stage| stage.jobs.get(leg.job));
    let plan_leg = job.and_then(|job| job.legs.get(leg.leg));
    let display = job.map(|job| job.display_name.clone().unwrap_or_else(|| job.name.clone())).unwrap_or_default();
    let display = match plan_leg {
        Some(l) => l.display_name.clone().unwrap_or_else(|| match &l.name {
            Some(name) => format!("{display} {name}"),
            None => display.clone(),
        }),
        None => display,
    };
    let environment = job.and_then(|job| match &job.kind {
        slipway_plan::JobKind::Deployment(deployment) => deployment.environment.as_ref().map(|e| e.name.clone()),
        _ => None,
    });
    sink.emit(Event::JobStarted {
        time: now_ms(),
        job: id.clone(),
        stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
        name: job.map(|j| j.name.clone()).unwrap_or_default(),
        leg: plan_leg.and_then(|l| l.name.clone()),
        display_name: context.masker.mask(&display),
        environment,
    });
    let request = JobRequest { plan: Arc::clone(plan), leg, id, variables, run: Arc::clone(context) };
    let executor = Arc::clone(executor);
    let sink = Arc::clone(sink);
    let cancel = cancel.clone();
    let thread_sender = sender.clone();
    let spawned =
        // Built-in tasks run on the job's thread (XML parsing, archives), so it gets a full-size
        // stack; untouched stack pages cost no memory.
        std::thread::Builder::new().name(format!("job-{}", request.id)).stack_size(8 * 1024 * 1024).spawn(move || {
            let outcome = executor.run_job(request, sink.as_ref(), &cancel);
            let _ = thread_sender.send((leg, outcome));
        });
    match spawned {
        Ok(handle) => threads.push(handle),
        Err(error) => {
            let _ = sender.send((
                leg,
                crate::executor::JobOutcome {
                    result: TaskResult::Failed,
                    outputs: Vec::new(),
                    message: Some(format!("could not start a thread for the job: {error}")),
                },
            ));
        }
    }
}
