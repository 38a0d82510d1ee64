//! `slipway run`'s edge of the run driver: the legs the [`Driver`] starts are run with an
//! [`Executor`], one thread per running leg, and everything is sent to an [`EventSink`]. The run's
//! directory, its id, `counter()` values and run-number revisions live in the work directory,
//! the counters and revisions per pipeline file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use slipway_driver::{
    Counters, DEFAULT_RUN_NAME, DateTime, Driver, LegId, LegStart, RepositoryInfo, ScheduleError, Selection, Step,
    Variable,
};
use slipway_events::{EVENTS_VERSION, Event, EventSink, LogKind, Severity, Stream, TaskResult, now_ms};
use slipway_plan::{Plan, Variable as PlanVariable};

use crate::executor::{CancelToken, Executor, JobRequest, RunContext};
use crate::workspace;

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
    /// What identifies the pipeline among the others run in the same work directory (the path
    /// of its file): its `counter()` values and run-number revisions are its own. The pipeline's
    /// name when empty.
    pub pipeline_key: String,
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
    /// The GitHub action store (`--actions DIR`), searched before the built-in actions.
    pub actions_dir: Option<PathBuf>,
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
            pipeline_key: String::new(),
            repository: RepositoryInfo::default(),
            keep_run_dir: false,
            kill_grace: Duration::from_secs(5),
            minute: Duration::from_secs(60),
            task_folders: Vec::new(),
            skip_unknown_tasks: false,
            actions_dir: None,
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

/// The next run id of the work directory, kept in `path`: a run whose id cannot be kept does
/// not start (the next one would take the same directory).
fn next_counter(path: &std::path::Path) -> std::io::Result<u64> {
    let last = std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse::<u64>().ok()).unwrap_or(0);
    let next = last + 1;
    std::fs::write(path, next.to_string())?;
    Ok(next)
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

/// A pipeline's key made safe to use as a file name: its readable characters, and a hash of the
/// whole key so that two keys that read alike stay apart.
fn file_name(key: &str) -> String {
    let readable: String = key
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .collect();
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{readable}-{hash:016x}")
}

/// Keeps the `counter()` values of a run for the next run of the same pipeline.
fn save_counters(path: &std::path::Path, values: &std::collections::BTreeMap<String, i64>) -> std::io::Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    write_json(path, values)
}

/// Writes `value` as JSON to `path`, making its directory first.
fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)
}

/// The next `$(Rev:r)` of `key`, kept in `path`; the number and whether it could be kept.
fn next_revision(path: &std::path::Path, key: &str) -> (u32, std::io::Result<()>) {
    let mut map: HashMap<String, u32> =
        std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
    let next = map.get(key).copied().unwrap_or(0) + 1;
    map.insert(key.to_owned(), next);
    (next, write_json(path, &map))
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
    let last_run_id = options.work_dir.join("last-run-id");
    let run_id = next_counter(&last_run_id).map_err(io(&last_run_id))?;
    let runs_dir = options.work_dir.join("runs");
    let run_dir = runs_dir.join(run_id.to_string());
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).map_err(io(&run_dir))?;
    if !options.keep_run_dir {
        remove_finished_runs_in_background(runs_dir, run_id);
    }

    let mut base = slipway_driver::run_variables(run_id, &options.pipeline_name, &options.repository);
    for variable in workspace::agent_variables(&options.work_dir) {
        base.force(variable);
    }
    if plan.dialect == slipway_plan::Dialect::GithubActions {
        // No trigger here: a run asked for by hand, GitHub's `workflow_dispatch`.
        let inputs = plan.parameters.iter().map(|input| (input.name.clone(), input.value.clone())).collect();
        let workflow = plan.files.first().map_or("", String::as_str);
        let event = slipway_driver::github::dispatch_payload(
            inputs,
            &options.repository,
            "",
            workflow,
            &options.repository.author,
        );
        base.force(Variable::readonly(slipway_driver::github::EVENT_VARIABLE, event.to_string()));
    }
    // Queue-time variables sit below the pipeline's own, as in Azure.
    let mut shadowed = Vec::new();
    let declared = declared_names(&plan);
    for (name, value, secret) in options
        .variables
        .iter()
        .map(|(name, value)| (name, value, false))
        .chain(options.secrets.iter().map(|(name, value)| (name, value, true)))
    {
        base.force(if secret {
            Variable::secret(name.clone(), value.clone())
        } else {
            Variable::new(name.clone(), value.clone())
        });
        if declared.iter().any(|declared| declared.eq_ignore_ascii_case(name)) {
            shadowed.push(name.clone());
        }
    }
    // Counters and run-number revisions are the pipeline's own.
    let key = if options.pipeline_key.is_empty() { &options.pipeline_name } else { &options.pipeline_key };
    let pipeline_dir = options.work_dir.join("pipelines").join(file_name(key));
    let counters_path = pipeline_dir.join("counters.json");
    let counters = Counters::continuing(
        std::fs::read(&counters_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default(),
    );
    let run_started = Instant::now();
    let started_ms = now_ms();
    let mut driver = Driver::new(
        Arc::clone(&plan),
        base,
        &options.selection,
        options.max_parallel,
        counters,
        Vec::new(),
        started_ms,
    )?;

    // The run number may use the pipeline's variables.
    let now = DateTime::from_unix(started_ms / 1000);
    let format = plan.run_name.clone().unwrap_or_else(|| DEFAULT_RUN_NAME.to_owned());
    let revisions_path = pipeline_dir.join("revisions.json");
    let mut unkept = None;
    let build_number = slipway_driver::format_run_number(&format, now, driver.base_variables(), &mut |key| {
        let (number, kept) = next_revision(&revisions_path, key);
        unkept = kept.err().or(unkept.take());
        number
    });
    driver.set_base_variable(Variable::readonly("Build.BuildNumber", build_number.clone()));

    let context = Arc::new({
        let mut context =
            RunContext::new(run_dir.clone(), options.source_dir.clone(), options.isolated, build_number.clone());
        context.kill_grace = options.kill_grace;
        context.minute = options.minute;
        context.task_folders.clone_from(&options.task_folders);
        context.skip_unknown_tasks = options.skip_unknown_tasks;
        context.actions_dir.clone_from(&options.actions_dir);
        // The cache store lives beside the runs, so that later runs find what earlier ones saved.
        context.cache_dir = options.work_dir.join("cache");
        context
    });
    for (_, value) in &options.secrets {
        context.masker.add(value);
    }

    sink.emit(Event::RunStarted {
        time: started_ms,
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
    if let Some(error) = unkept {
        warn(format!(
            "the run number's revision could not be kept in {}: {error}; the next run may get the same number",
            revisions_path.display()
        ));
    }
    for name in shadowed {
        warn(format!(
            "the queue-time variable '{name}' is overridden by the pipeline's own variable of that name, as in Azure; \
             remove it from the YAML (or use a parameter) to set it from the command line"
        ));
    }
    if let Some(message) = environments_notice(&plan) {
        warn(message);
    }

    let (sender, receiver) = mpsc::channel::<(LegId, crate::executor::JobOutcome)>();
    let mut threads = Vec::new();
    let mut steps = driver.poll(now_ms());
    // `runFinished` goes out last, after what the run's end writes.
    let mut finished = None;
    let result = loop {
        for step in steps.drain(..) {
            match step {
                Step::Event(event @ Event::RunFinished { .. }) => finished = Some(event),
                Step::Event(event) => sink.emit(event),
                Step::StartLeg(start) => {
                    start_leg(&plan, *start, &context, &executor, &sink, cancel, &sender, &mut threads)
                }
                Step::JobFinished(end) => sink.emit(end.event(now_ms())),
                Step::Warning(message) => warn(message),
                // A local run gates no stage: checks are the server's.
                Step::StageWaiting(_) => {}
            }
        }
        if let Some(result) = driver.result() {
            break result;
        }
        if driver.running() == 0 {
            // Nothing runs and nothing was decided: should not happen with a valid graph.
            steps = driver.poll(now_ms());
            if steps.is_empty() {
                warn("the scheduler stopped with work left; this is a bug in Slipway".into());
                break TaskResult::Failed;
            }
            continue;
        }
        if let Ok((leg, outcome)) = receiver.recv_timeout(Duration::from_millis(50))
            && let Some(event) = driver.leg_finished(leg, outcome.result, outcome.outputs, now_ms())
        {
            sink.emit(event);
        }
        if cancel.is_canceled() && !driver.is_canceled() {
            driver.cancel();
            sink.emit(Event::Log {
                time: now_ms(),
                job: None,
                step: None,
                stream: Stream::System,
                kind: LogKind::Warning,
                text: "Cancelling the run: stopping running steps, then running what runs after a cancel.".into(),
            });
        }
        steps = driver.poll(now_ms());
    };
    for thread in threads {
        let _ = thread.join();
    }
    let build_number = context.build_number.lock().map(|number| number.clone()).unwrap_or(build_number);
    let tags = context.tags.lock().map(|tags| tags.clone()).unwrap_or_default();
    // The run's directories stay for inspection until the next run removes them in the background:
    // removing many directories is slow on some disks, and no run should wait for it.
    if let Err(error) = std::fs::write(run_dir.join(FINISHED_MARKER), result.to_string()) {
        warn(format!("the run's directory could not be marked finished, so no later run removes it: {error}"));
    }
    if let Err(error) = save_counters(&counters_path, &driver.counters()) {
        warn(format!(
            "the counter() values could not be kept in {}: {error}; the next run starts them again",
            counters_path.display()
        ));
    }
    sink.emit(finished.unwrap_or_else(|| Event::RunFinished {
        time: now_ms(),
        result,
        duration_ms: u64::try_from(run_started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }));
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
    start: LegStart,
    context: &Arc<RunContext>,
    executor: &Arc<dyn Executor>,
    sink: &Arc<dyn EventSink>,
    cancel: &CancelToken,
    sender: &mpsc::Sender<(LegId, crate::executor::JobOutcome)>,
    threads: &mut Vec<std::thread::JoinHandle<()>>,
) {
    let LegStart { leg, key: id, stage, job, leg_name, display_name, environment, variables } = start;
    sink.emit(Event::JobStarted {
        time: now_ms(),
        job: id.clone(),
        stage,
        name: job,
        leg: leg_name,
        display_name: context.masker.mask(&display_name),
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

/// What a local run says, once, when its deployment jobs name environments: their approvals and
/// checks live on a server and are not enforced here.
fn environments_notice(plan: &slipway_plan::Plan) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for job in plan.stages.iter().flat_map(|stage| &stage.jobs) {
        if let slipway_plan::JobKind::Deployment(deployment) = &job.kind
            && let Some(environment) = &deployment.environment
            && !names.iter().any(|name| name.eq_ignore_ascii_case(&environment.name))
        {
            names.push(&environment.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    Some(format!(
        "this local run deploys to environment {} without its approvals and checks: those are kept and enforced by \
         a Slipway server (`slipway serve`), not by `slipway run`",
        quoted.join(", ")
    ))
}
