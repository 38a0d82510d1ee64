//! The local executor: runs a job's steps as processes on this machine, the way the Azure agent
//! does: conditions against `Agent.JobStatus`, `$(macros)` expanded before each step, scripts
//! written to a temporary file and run with `bash --noprofile --norc FILE`, logging commands
//! processed and secrets masked line by line, timeouts, retries, `continueOnError`, cancellation,
//! and, for deployment jobs, the strategy's lifecycle hooks in Azure's order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use slipway_events::{Event, EventSink, LogKind, Severity, Stream, TaskResult, now_ms};
use slipway_plan::{Action, DeploymentStrategy, Dialect, HookKind, Job, JobKind, Shell, Step};

mod host;

use crate::executor::{CancelToken, Executor, JobOutcome, JobRequest};
use crate::logcmd::{self, Command, Line};
use crate::process::{self, Exit, ProcessSpec, StopReason, StopSignal};
use crate::workspace::{self, JobDirs};
use slipway_driver::expr::{self, Context, Status};
use slipway_driver::{Variable, Variables};

/// Azure's default job timeout, in minutes.
const DEFAULT_JOB_TIMEOUT_MINUTES: u32 = 60;
/// Azure's default time cleanup steps get after a cancel, in minutes.
const DEFAULT_CANCEL_TIMEOUT_MINUTES: u32 = 5;

/// Runs jobs on this machine. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn run_job(&self, request: JobRequest, events: &dyn EventSink, cancel: &CancelToken) -> JobOutcome {
        let Some(job) = request.job().cloned() else {
            return JobOutcome {
                result: TaskResult::Failed,
                outputs: Vec::new(),
                message: Some("the job is not in the plan".into()),
            };
        };
        if request.plan.dialect == Dialect::GithubActions {
            return crate::github::run_job(&request, &job, events, cancel);
        }
        let mut runner = JobRunner::new(&request, &job, events, cancel);
        runner.run(&job)
    }
}

/// One step as the runner sees it: the plan's step and where its outputs are named.
struct PlannedStep<'a> {
    step: std::borrow::Cow<'a, Step>,
    /// The prefix of output variables (`Deploy_res` or the job's name for deployment jobs).
    output_prefix: Option<String>,
}

struct JobRunner<'a> {
    request: &'a JobRequest,
    events: &'a dyn EventSink,
    cancel: &'a CancelToken,
    variables: Variables,
    status: Option<TaskResult>,
    /// The job was cancelled (by the run or its timeout); `Some(reason message)`.
    canceled: Option<String>,
    job_deadline: Option<Instant>,
    job_timeout_minutes: u32,
    cancel_timeout: Duration,
    cancel_deadline: Option<Instant>,
    outputs: Vec<(String, String)>,
    path_prepend: Vec<String>,
    groups: Vec<i32>,
    step_number: u32,
    dirs: JobDirs,
    /// Work tasks left for the end of the job (`Cache@2` saves), in registration order.
    post_jobs: Vec<(String, slipway_tasks::PostJob)>,
}

/// When a step's process must stop: the run's cancel, the job's and the step's timeouts, and
/// after a cancel the cancel timeout of cleanup steps.
pub(crate) struct StepStop<'a> {
    pub(crate) cancel: &'a CancelToken,
    pub(crate) step_deadline: Option<Instant>,
    pub(crate) job_deadline: Option<Instant>,
    pub(crate) cancel_deadline: Option<Instant>,
    pub(crate) job_canceled: bool,
}

impl StopSignal for StepStop<'_> {
    fn should_stop(&self) -> Option<StopReason> {
        let now = Instant::now();
        if self.job_canceled {
            // Cleanup steps after a cancel run until the cancel timeout.
            if self.cancel.is_forced() || self.cancel_deadline.is_some_and(|deadline| now >= deadline) {
                return Some(StopReason::Canceled);
            }
        } else if self.cancel.is_canceled() || self.job_deadline.is_some_and(|deadline| now >= deadline) {
            return Some(StopReason::Canceled);
        }
        if self.step_deadline.is_some_and(|deadline| now >= deadline) {
            return Some(StopReason::TimedOut);
        }
        None
    }

    fn force(&self) -> bool {
        self.cancel.is_forced()
    }
}

pub(crate) fn minutes(minute: Duration, value: u32) -> Duration {
    minute.saturating_mul(value)
}

fn hook_name(kind: HookKind) -> &'static str {
    match kind {
        HookKind::PreDeploy => "PreDeploy",
        HookKind::Deploy => "Deploy",
        HookKind::RouteTraffic => "RouteTraffic",
        HookKind::PostRouteTraffic => "PostRouteTraffic",
        HookKind::OnFailure => "OnFailure",
        HookKind::OnSuccess => "OnSuccess",
    }
}

fn default_display_name(step: &Step) -> String {
    match &step.action {
        Action::Script { shell, .. } => match shell {
            Shell::Default => "CmdLine".into(),
            Shell::Bash => "Bash".into(),
            Shell::Pwsh | Shell::PowerShell => "PowerShell".into(),
        },
        Action::Checkout { repository, .. } => format!("Checkout {repository}"),
        Action::Publish { artifact, .. } => format!("Publish Artifact: {}", artifact.as_deref().unwrap_or("(default)")),
        Action::Download { artifact, .. } => format!("Download Artifact: {}", artifact.as_deref().unwrap_or("all")),
        Action::Task { name, version, .. } => match version {
            Some(version) => format!("{name}@{version}"),
            None => name.clone(),
        },
        Action::Run { script, .. } => format!("Run {}", script.lines().next().unwrap_or_default().trim()),
        Action::Uses { action, .. } => format!("Run {action}"),
        Action::Other { kind, .. } => kind.clone(),
    }
}

fn implicit_step(action: Action) -> Step {
    Step::new(action)
}

/// How a process of a step ended.
struct ProcessRun {
    exit: Exit,
    /// Non-empty lines it wrote to standard error.
    stderr_lines: usize,
    /// The strongest `task.complete` result it reported.
    completed: Option<(TaskResult, String)>,
}

/// What a step attempt produced.
struct Attempt {
    result: TaskResult,
    exit_code: Option<i32>,
    message: Option<String>,
}

impl<'a> JobRunner<'a> {
    fn new(request: &'a JobRequest, job: &Job, events: &'a dyn EventSink, cancel: &'a CancelToken) -> Self {
        let number = request.run.job_counter.fetch_add(1, Ordering::SeqCst) + 1;
        let dirs = JobDirs::new(&request.run.run_dir, number);
        let timeout = job.timeout_minutes.unwrap_or(DEFAULT_JOB_TIMEOUT_MINUTES);
        let cancel_timeout = job.cancel_timeout_minutes.unwrap_or(DEFAULT_CANCEL_TIMEOUT_MINUTES);
        Self {
            request,
            events,
            cancel,
            variables: request.variables.clone(),
            status: None,
            canceled: None,
            job_deadline: (timeout > 0).then(|| Instant::now() + minutes(request.run.minute, timeout)),
            job_timeout_minutes: timeout,
            cancel_timeout: minutes(request.run.minute, cancel_timeout.max(1)),
            cancel_deadline: None,
            outputs: Vec::new(),
            path_prepend: Vec::new(),
            groups: Vec::new(),
            step_number: 0,
            dirs,
            post_jobs: Vec::new(),
        }
    }

    fn job_id(&self) -> String {
        self.request.id.clone()
    }

    fn log(&self, step: Option<u32>, kind: LogKind, text: &str) {
        self.events.emit(Event::Log {
            time: now_ms(),
            job: Some(self.job_id()),
            step,
            stream: Stream::System,
            kind,
            text: self.request.run.masker.mask(text),
        });
    }

    fn issue(&self, step: Option<u32>, severity: Severity, message: &str) {
        self.issue_with_code(step, severity, message, "");
    }

    /// An issue with a code (none when `code` is empty), also logged as a line.
    fn issue_with_code(&self, step: Option<u32>, severity: Severity, message: &str, code: &str) {
        let message = self.request.run.masker.mask(message);
        self.events.emit(Event::Issue {
            time: now_ms(),
            job: Some(self.job_id()),
            step,
            severity,
            message: message.clone(),
            source_path: None,
            line: None,
            column: None,
            code: (!code.is_empty()).then(|| code.to_owned()),
        });
        let kind = if severity == Severity::Error { LogKind::Error } else { LogKind::Warning };
        self.events.emit(Event::Log {
            time: now_ms(),
            job: Some(self.job_id()),
            step,
            stream: Stream::System,
            kind,
            text: message,
        });
    }

    fn job_status(&self) -> TaskResult {
        if self.canceled.is_some() { TaskResult::Canceled } else { self.status.unwrap_or(TaskResult::Succeeded) }
    }

    fn set_job_status_variable(&mut self) {
        let status = self.job_status();
        self.variables.force(Variable::new("Agent.JobStatus", status.as_str()));
        self.variables.force(Variable::new("AGENT_JOBSTATUS", status.as_str()));
    }

    /// Notices a run cancel or a job timeout between steps.
    fn check_cancel(&mut self) {
        if self.canceled.is_some() {
            return;
        }
        if self.cancel.is_canceled() {
            self.mark_canceled("The run was cancelled.".into());
        } else if self.job_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            let message = format!(
                "The job running on agent {} ran longer than the maximum time of {} minutes.",
                self.variables.value("Agent.Name").unwrap_or("slipway"),
                self.job_timeout_minutes
            );
            self.mark_canceled(message);
        }
    }

    fn mark_canceled(&mut self, message: String) {
        self.issue(None, Severity::Error, &message);
        self.canceled = Some(message);
        self.cancel_deadline = Some(Instant::now() + self.cancel_timeout);
        self.set_job_status_variable();
    }

    fn run(&mut self, job: &Job) -> JobOutcome {
        if let Err(error) = self.dirs.create() {
            return JobOutcome {
                result: TaskResult::Failed,
                outputs: Vec::new(),
                message: Some(format!("could not create the job's directories: {error}")),
            };
        }
        let steps = self.planned_steps(job);
        let checks_out_self = steps.iter().any(|planned| {
            matches!(&planned.step.action, Action::Checkout { repository, .. } if repository.eq_ignore_ascii_case("self"))
        });
        let sources = if checks_out_self && !self.request.run.isolated {
            self.request.run.source_dir.clone()
        } else {
            self.dirs.sources.clone()
        };
        self.predefined_variables(job, &sources);
        self.variables.expand_values();
        for variable in self.variables.iter() {
            if variable.secret {
                self.request.run.masker.add(&variable.value);
            }
        }
        self.set_job_status_variable();

        match &job.kind {
            JobKind::Deployment(deployment) => self.run_deployment(job, deployment),
            JobKind::Agent | JobKind::Server => {
                for planned in &steps {
                    self.run_step(planned, None);
                }
            }
        }
        self.run_post_jobs();

        // Nothing the job started may outlive it.
        for &group in &self.groups {
            if process::group_alive(group) {
                process::kill_group(group, Duration::from_millis(500));
            }
            process::forget_group(group);
        }
        let _ = std::fs::remove_dir_all(&self.dirs.temp);
        let result = self.job_status();
        JobOutcome { result, outputs: std::mem::take(&mut self.outputs), message: self.canceled.clone() }
    }

    fn planned_steps<'j>(&self, job: &'j Job) -> Vec<PlannedStep<'j>> {
        let mut steps: Vec<PlannedStep<'j>> = job
            .steps
            .iter()
            .map(|step| PlannedStep { step: std::borrow::Cow::Borrowed(step), output_prefix: None })
            .collect();
        if matches!(job.kind, JobKind::Agent)
            && !job.steps.iter().any(|step| matches!(step.action, Action::Checkout { .. }))
        {
            steps.insert(
                0,
                PlannedStep {
                    step: std::borrow::Cow::Owned(implicit_step(Action::Checkout {
                        repository: "self".into(),
                        options: Vec::new(),
                    })),
                    output_prefix: None,
                },
            );
        }
        if let JobKind::Deployment(deployment) = &job.kind {
            for hook in &deployment.hooks {
                for step in &hook.steps {
                    steps.push(PlannedStep { step: std::borrow::Cow::Borrowed(step), output_prefix: None });
                }
            }
        }
        steps
    }

    fn predefined_variables(&mut self, job: &Job, sources: &Path) {
        let stage = self.request.stage();
        let leg = job.legs.get(self.request.leg.leg);
        let display = job.display_name.clone().unwrap_or_else(|| job.name.clone());
        let leg_display = leg
            .and_then(|leg| {
                leg.display_name.clone().or_else(|| leg.name.as_ref().map(|name| format!("{display} {name}")))
            })
            .unwrap_or_else(|| display.clone());
        let job_name = leg.and_then(|leg| leg.name.clone()).unwrap_or_else(|| job.name.clone());
        let stage_name = stage.map(|stage| stage.name.clone()).unwrap_or_default();
        let stage_display = stage.and_then(|stage| stage.display_name.clone()).unwrap_or_else(|| stage_name.clone());
        let build_number = self.request.run.build_number.lock().map(|number| number.clone()).unwrap_or_default();
        let entries: Vec<(&str, String)> = vec![
            ("System.JobName", job_name),
            ("System.JobDisplayName", leg_display.clone()),
            ("Agent.JobName", leg_display),
            ("System.JobId", format!("{:08x}-0000-0000-0000-{:012x}", self.request.leg.job, self.request.leg.leg)),
            ("System.PhaseName", job.name.clone()),
            ("System.PhaseDisplayName", display),
            ("System.StageName", stage_name),
            ("System.StageDisplayName", stage_display),
            ("System.JobAttempt", "1".into()),
            ("System.PhaseAttempt", "1".into()),
            ("System.StageAttempt", "1".into()),
            ("System.JobPositionInPhase", (self.request.leg.leg + 1).to_string()),
            ("System.TotalJobsInPhase", job.legs.len().max(1).to_string()),
            ("Build.BuildNumber", build_number),
        ];
        for (name, value) in entries {
            self.variables.force(Variable::readonly(name, value));
        }
        workspace::job_directory_variables(&mut self.variables, &self.dirs, sources);
        if let JobKind::Deployment(deployment) = &job.kind
            && let Some(environment) = &deployment.environment
        {
            self.variables.force(Variable::readonly("Environment.Name", environment.name.clone()));
            if let Some(resource) = &environment.resource_name {
                self.variables.force(Variable::readonly("Environment.ResourceName", resource.clone()));
            }
        }
    }

    fn run_deployment(&mut self, job: &Job, deployment: &slipway_plan::Deployment) {
        let (strategy, cycles): (&str, Vec<(String, Option<u32>)>) = match &deployment.strategy {
            DeploymentStrategy::RunOnce => ("runOnce", vec![("deploy".into(), None)]),
            DeploymentStrategy::Rolling { .. } => ("rolling", vec![("deploy".into(), None)]),
            DeploymentStrategy::Canary { increments } => {
                let mut cycles: Vec<(String, Option<u32>)> = increments
                    .iter()
                    .filter(|&&increment| increment < 100)
                    .map(|&increment| ("deploy".into(), Some(increment)))
                    .collect();
                cycles.push(("promote".into(), Some(100)));
                ("canary", cycles)
            }
        };
        let resource = deployment.environment.as_ref().and_then(|environment| environment.resource_name.clone());
        let prefix_for = |kind: HookKind| -> String {
            match (&deployment.strategy, &resource) {
                (DeploymentStrategy::RunOnce, None) => job.name.clone(),
                (_, Some(resource)) => format!("{}_{resource}", hook_name(kind)),
                (_, None) => format!("{}_{}", hook_name(kind), workspace::hostname()),
            }
        };
        let hooks_of = |kind: HookKind| deployment.hooks.iter().filter(move |hook| hook.kind == kind);
        let mut failed = false;
        self.variables.force(Variable::readonly("Strategy.Name", strategy));
        for (action, increment) in cycles {
            self.variables.force(Variable::readonly("Strategy.Action", action));
            match increment {
                Some(increment) => {
                    self.variables.force(Variable::readonly("Strategy.Increment", increment.to_string()))
                }
                None => self.variables.force(Variable::readonly("Strategy.Increment", "")),
            }
            self.variables.force(Variable::readonly(
                "Strategy.CycleName",
                match increment {
                    Some(increment) => format!("canary{increment}"),
                    None => "deploy".into(),
                },
            ));
            for kind in [HookKind::PreDeploy, HookKind::Deploy, HookKind::RouteTraffic, HookKind::PostRouteTraffic] {
                for hook in hooks_of(kind) {
                    let hook_failed = self.run_hook(hook, &prefix_for(kind), failed);
                    failed |= hook_failed;
                }
            }
        }
        self.check_cancel();
        let kind = if failed || self.canceled.is_some() { HookKind::OnFailure } else { HookKind::OnSuccess };
        self.variables.force(Variable::readonly(
            "Strategy.Action",
            if kind == HookKind::OnFailure { "reject" } else { "promote" },
        ));
        self.variables.force(Variable::readonly("Strategy.Increment", ""));
        for hook in hooks_of(kind) {
            // The on-failure hook runs as its own job in Azure, so its steps start from success.
            self.run_hook(hook, &prefix_for(kind), false);
        }
    }

    /// Runs one lifecycle hook as Azure runs it: as a job of its own, skipped when an earlier hook
    /// failed. Returns whether it failed.
    fn run_hook(&mut self, hook: &slipway_plan::Hook, prefix: &str, earlier_failed: bool) -> bool {
        let increment = self
            .variables
            .value("Strategy.Increment")
            .filter(|value| !value.is_empty())
            .map(|value| format!(" {value}%"));
        let label = format!("{}{}", hook_name(hook.kind), increment.unwrap_or_default());
        if earlier_failed {
            for step in &hook.steps {
                let mut step = step.clone();
                if step.display_name.is_none() {
                    step.display_name = Some(format!("{label}: {}", default_display_name(&step)));
                }
                self.skip_step(&step, "an earlier lifecycle hook failed");
            }
            return false;
        }
        self.log(None, LogKind::Section, &format!("Lifecycle hook: {}", hook_name(hook.kind)));
        let outer = self.status.take();
        let mut steps: Vec<PlannedStep<'_>> = Vec::new();
        let has_download = hook.steps.iter().any(|step| matches!(step.action, Action::Download { .. }));
        if hook.kind == HookKind::Deploy && !has_download && !self.request.run.artifacts.names().is_empty() {
            steps.push(PlannedStep {
                step: std::borrow::Cow::Owned(implicit_step(Action::Download {
                    source: "current".into(),
                    artifact: None,
                    path: None,
                    patterns: None,
                })),
                output_prefix: Some(prefix.to_owned()),
            });
        }
        steps.extend(hook.steps.iter().map(|step| {
            let step = if step.display_name.is_none() {
                std::borrow::Cow::Owned(Step {
                    display_name: Some(format!("{label}: {}", default_display_name(step))),
                    ..step.clone()
                })
            } else {
                std::borrow::Cow::Borrowed(step)
            };
            PlannedStep { step, output_prefix: Some(prefix.to_owned()) }
        }));
        for planned in &steps {
            self.run_step(planned, Some(prefix));
        }
        let hook_result = self.status;
        self.status = TaskResult::merge(outer, hook_result.unwrap_or(TaskResult::Succeeded));
        hook_result == Some(TaskResult::Failed) || self.canceled.is_some()
    }

    fn skip_step(&mut self, step: &Step, reason: &str) {
        self.step_number += 1;
        let display = self.display_name(step);
        self.events.emit(Event::StepFinished {
            time: now_ms(),
            job: self.job_id(),
            step: self.step_number,
            display_name: display,
            result: TaskResult::Skipped,
            duration_ms: 0,
            exit_code: None,
            attempts: 0,
            message: Some(reason.to_owned()),
        });
    }

    fn display_name(&self, step: &Step) -> String {
        let name =
            step.display_name.as_deref().map_or_else(|| default_display_name(step), |name| self.variables.expand(name));
        self.request.run.masker.mask(&name)
    }

    fn run_step(&mut self, planned: &PlannedStep<'_>, _hook: Option<&str>) {
        let step = planned.step.as_ref();
        if !step.enabled {
            self.skip_step(step, "the step is disabled");
            return;
        }
        if self.cancel.is_forced() {
            self.skip_step(step, "the run was cancelled");
            return;
        }
        if self.request.run.skip_unknown_tasks
            && let Some(problem) = self.unavailable_task(step)
        {
            self.skip_step(step, &problem);
            let message = format!("Skipped the step '{}': {problem} (--skip-unknown-tasks)", self.display_name(step));
            self.issue_with_code(Some(self.step_number), Severity::Warning, &message, host::UNKNOWN_TASK_CODE);
            return;
        }
        self.check_cancel();
        let context = Context {
            variables: &self.variables,
            dependencies: None,
            stage_dependencies: None,
            status: Status::Step { job_status: self.job_status_for_conditions(), canceled: self.canceled.is_some() },
            counters: None,
            parameters: &self.request.plan.parameters,
        };
        match expr::condition(step.condition.as_ref(), &context) {
            Ok(true) => {}
            Ok(false) => {
                let reason = step.condition.as_ref().map_or_else(
                    || {
                        if self.canceled.is_some() {
                            "the job was cancelled".to_owned()
                        } else {
                            "an earlier step failed".to_owned()
                        }
                    },
                    |condition| format!("condition '{}' was false", condition.source),
                );
                self.skip_step(step, &reason);
                return;
            }
            Err(error) => {
                self.step_number += 1;
                let number = self.step_number;
                let display = self.display_name(step);
                self.events.emit(Event::StepStarted {
                    time: now_ms(),
                    job: self.job_id(),
                    step: number,
                    name: step.name.clone(),
                    display_name: display.clone(),
                });
                let message = format!("the condition could not be evaluated: {error}");
                self.issue(Some(number), Severity::Error, &message);
                self.finish_step(
                    step,
                    number,
                    &display,
                    Instant::now(),
                    Attempt { result: TaskResult::Failed, exit_code: None, message: Some(message) },
                    1,
                );
                return;
            }
        }

        self.step_number += 1;
        let number = self.step_number;
        let display = self.display_name(step);
        let started = Instant::now();
        self.events.emit(Event::StepStarted {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            name: step.name.clone(),
            display_name: display.clone(),
        });
        let mut attempts = 0;
        let attempt = loop {
            attempts += 1;
            let attempt = self.attempt(step, number, planned.output_prefix.as_deref());
            let retry = attempt.result == TaskResult::Failed
                && attempts <= step.retry_count
                && self.canceled.is_none()
                && !self.cancel.is_canceled();
            if !retry {
                break attempt;
            }
            self.log(
                Some(number),
                LogKind::Warning,
                &format!("Retrying the step, attempt {} of {}.", attempts + 1, step.retry_count + 1),
            );
        };
        self.finish_step(step, number, &display, started, attempt, attempts);
    }

    fn job_status_for_conditions(&self) -> TaskResult {
        self.status.unwrap_or(TaskResult::Succeeded)
    }

    fn finish_step(
        &mut self,
        step: &Step,
        number: u32,
        display: &str,
        started: Instant,
        mut attempt: Attempt,
        attempts: u32,
    ) {
        if attempt.result == TaskResult::Failed && step.continue_on_error {
            attempt.result = TaskResult::SucceededWithIssues;
        }
        if attempt.result != TaskResult::Canceled {
            self.status = TaskResult::merge(self.status, attempt.result);
        }
        self.events.emit(Event::StepFinished {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            display_name: display.to_owned(),
            result: attempt.result,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            exit_code: attempt.exit_code,
            attempts,
            message: attempt.message.map(|message| self.request.run.masker.mask(&message)),
        });
        self.check_cancel();
        self.set_job_status_variable();
    }

    fn attempt(&mut self, step: &Step, number: u32, output_prefix: Option<&str>) -> Attempt {
        match &step.action {
            Action::Script { shell, script } => self.run_script(step, number, *shell, script, output_prefix),
            Action::Checkout { repository, .. } => self.checkout(number, repository),
            Action::Publish { path, artifact } => self.publish(number, path, artifact.as_deref()),
            Action::Download { source, artifact, path, patterns } => {
                self.download(number, source, artifact.as_deref(), path.as_deref(), patterns.as_deref())
            }
            Action::Task { name, version, inputs } => {
                self.task(step, number, name, version.as_deref(), inputs, output_prefix)
            }
            Action::Run { .. } | Action::Uses { .. } => {
                self.fail(number, "GitHub Actions steps (`run:` with a shell, `uses:`) cannot run yet")
            }
            Action::Other { kind, .. } => self.fail(number, &format!("'{kind}' steps cannot run locally")),
        }
    }

    fn fail(&self, number: u32, message: &str) -> Attempt {
        self.issue(Some(number), Severity::Error, message);
        Attempt { result: TaskResult::Failed, exit_code: None, message: Some(message.to_owned()) }
    }

    fn environment(&self, step: &Step) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            self.request.run.base_environment.clone().unwrap_or_else(|| std::env::vars().collect());
        let base_path = env.iter().find(|(name, _)| name == "PATH").map(|(_, value)| value.clone()).unwrap_or_default();
        // Where each name is, so that setting thousands of variables stays linear.
        let mut positions: std::collections::HashMap<String, usize> =
            env.iter().enumerate().map(|(position, (name, _))| (name.clone(), position)).collect();
        let mut set = |name: String, value: String| match positions.get(&name) {
            Some(&position) => env[position].1 = value,
            None => {
                positions.insert(name.clone(), env.len());
                env.push((name, value));
            }
        };
        for (name, value) in self.variables.environment() {
            set(name, value);
        }
        for (name, value) in &step.env {
            set(name.clone(), self.variables.expand(value));
        }
        if !self.path_prepend.is_empty() {
            let mut path = self.path_prepend.join(":");
            if !base_path.is_empty() {
                path.push(':');
                path.push_str(&base_path);
            }
            set("PATH".into(), path);
        }
        env
    }

    fn working_directory(&self, step: &Step) -> PathBuf {
        let default = PathBuf::from(self.variables.value("System.DefaultWorkingDirectory").unwrap_or("."));
        match &step.working_directory {
            Some(dir) => {
                let dir = PathBuf::from(self.variables.expand(dir));
                if dir.is_absolute() { dir } else { default.join(dir) }
            }
            None => default,
        }
    }

    fn run_script(
        &mut self,
        step: &Step,
        number: u32,
        shell: Shell,
        script: &str,
        output_prefix: Option<&str>,
    ) -> Attempt {
        let script = self.variables.expand(script);
        let (program, args, extension, contents) = match shell {
            Shell::Default | Shell::Bash => {
                let Some(bash) = which("bash") else { return self.fail(number, "bash was not found on PATH") };
                (bash, vec!["--noprofile".to_owned(), "--norc".to_owned()], "sh", script)
            }
            Shell::Pwsh | Shell::PowerShell => {
                let Some(pwsh) = which("pwsh") else {
                    return self
                        .fail(number, "PowerShell steps need `pwsh` (PowerShell 7) on PATH, and it is not installed");
                };
                let contents = format!(
                    "$ErrorActionPreference = 'stop'\n{script}\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) {{ exit $LASTEXITCODE }}\n"
                );
                (
                    pwsh,
                    vec![
                        "-NoLogo".into(),
                        "-NoProfile".into(),
                        "-NonInteractive".into(),
                        "-ExecutionPolicy".into(),
                        "Unrestricted".into(),
                        "-Command".into(),
                    ],
                    "ps1",
                    contents,
                )
            }
        };
        let file = self.dirs.temp.join(format!("{}-{number}.{extension}", self.request.id.replace(['/', ' '], "_")));
        if let Err(error) = std::fs::write(&file, contents) {
            return self.fail(number, &format!("could not write the script to {}: {error}", file.display()));
        }
        let mut args = args;
        match shell {
            Shell::Pwsh | Shell::PowerShell => {
                args.push(format!(". '{}'", file.display().to_string().replace('\'', "''")))
            }
            _ => args.push(file.display().to_string()),
        }
        let cwd = self.working_directory(step);
        if !cwd.is_dir() {
            return self.fail(number, &format!("the working directory {} does not exist", cwd.display()));
        }
        self.log(Some(number), LogKind::Command, &format!("{} {}", program.display(), args.join(" ")));
        let spec = ProcessSpec { program, args, cwd, env: self.environment(step) };
        let step_deadline = self.step_deadline(step);
        let ProcessRun { exit, stderr_lines, completed } =
            self.run_process(&spec, step, number, output_prefix, step_deadline);
        let _ = std::fs::remove_file(&file);
        let mut attempt = match exit {
            Exit::Code(0) => Attempt { result: TaskResult::Succeeded, exit_code: Some(0), message: None },
            Exit::Code(code) => {
                let message = format!("Bash exited with code '{code}'.");
                self.issue(Some(number), Severity::Error, &message);
                Attempt { result: TaskResult::Failed, exit_code: Some(code), message: Some(message) }
            }
            Exit::Signal(signal) => self.fail(number, &format!("the script was killed by signal {signal}")),
            Exit::Stopped(StopReason::TimedOut) => self.fail(number, "The task has timed out."),
            Exit::Stopped(StopReason::Canceled) => self.canceled_attempt(number),
            Exit::SpawnFailed(error) => self.fail(number, &format!("could not start the script: {error}")),
        };
        if step.fail_on_stderr && stderr_lines > 0 && attempt.result == TaskResult::Succeeded {
            attempt = self.fail(number, "Bash wrote one or more lines to the standard error stream.");
        }
        if let Some((result, message)) = completed
            && attempt.result != TaskResult::Canceled
            && result > attempt.result
        {
            attempt.result = result;
            if !message.is_empty() {
                attempt.message = Some(message);
            }
        }
        attempt
    }

    /// When a step started now must stop (`timeoutInMinutes`).
    fn step_deadline(&self, step: &Step) -> Option<Instant> {
        step.timeout_minutes.filter(|&m| m > 0).map(|m| Instant::now() + minutes(self.request.run.minute, m))
    }

    /// The attempt of a step whose process was stopped by a cancel.
    fn canceled_attempt(&mut self, number: u32) -> Attempt {
        self.check_cancel();
        if self.canceled.is_none() {
            // A cleanup step ran out of its cancel timeout.
            self.canceled = Some("The job was cancelled.".into());
        }
        self.log(Some(number), LogKind::Error, "The operation was canceled.");
        Attempt { result: TaskResult::Canceled, exit_code: None, message: Some("The operation was canceled.".into()) }
    }

    /// Runs a process of a step in its own process group until it ends or the step, the job or
    /// the run stops it, with every line of its output processed (masking, logging commands).
    fn run_process(
        &mut self,
        spec: &ProcessSpec,
        step: &Step,
        number: u32,
        output_prefix: Option<&str>,
        step_deadline: Option<Instant>,
    ) -> ProcessRun {
        let stop = StepStop {
            cancel: self.cancel,
            step_deadline,
            job_deadline: self.job_deadline,
            cancel_deadline: self.cancel_deadline,
            job_canceled: self.canceled.is_some(),
        };
        let grace = self.request.run.kill_grace;
        let mut stderr_lines = 0_usize;
        let mut completed: Option<(TaskResult, String)> = None;
        // Of a line too long to keep whole, what may be the start of a secret waits for the next
        // piece (stdout's and stderr's separately).
        let mut waiting: [String; 2] = [String::new(), String::new()];
        let (exit, group) = {
            let masker = self.request.run.masker.clone();
            let mut on_line = |stream: Stream, piece: &str, end: process::LineEnd| {
                let slot = &mut waiting[usize::from(stream == Stream::Stderr)];
                let mut text = std::mem::take(slot);
                text.push_str(piece);
                if end == process::LineEnd::Continues {
                    let (now, later) = masker.split_piece(&text);
                    *slot = later;
                    text = now;
                    if text.is_empty() {
                        return;
                    }
                }
                let line = text.as_str();
                if stream == Stream::Stderr && !line.trim().is_empty() {
                    stderr_lines += 1;
                }
                if let Some(result) = self.process_line(number, stream, line, step, output_prefix) {
                    completed = Some(match completed.take() {
                        Some((previous, _)) if previous > result.0 => (previous, result.1),
                        _ => result,
                    });
                }
            };
            process::run(spec, &stop, grace, &mut on_line)
        };
        if let Some(group) = group {
            self.groups.push(group);
        }
        ProcessRun { exit, stderr_lines, completed }
    }

    /// Handles one line of a step's output; returns a `task.complete` result.
    fn process_line(
        &mut self,
        number: u32,
        stream: Stream,
        line: &str,
        step: &Step,
        output_prefix: Option<&str>,
    ) -> Option<(TaskResult, String)> {
        let emit = |runner: &Self, kind: LogKind, text: &str| {
            runner.events.emit(Event::Log {
                time: now_ms(),
                job: Some(runner.job_id()),
                step: Some(number),
                stream,
                kind,
                text: runner.request.run.masker.mask(text),
            });
        };
        match logcmd::parse_line(line) {
            Line::Plain(text) => emit(self, LogKind::Output, text),
            Line::Formatted(LogKind::Debug, text) => {
                if self.variables.value("System.Debug").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
                    emit(self, LogKind::Debug, text);
                }
            }
            Line::Formatted(kind, text) => emit(self, kind, text),
            Line::Command(command) => return self.command(number, command, step, output_prefix),
        }
        None
    }

    fn command(
        &mut self,
        number: u32,
        command: Command,
        step: &Step,
        output_prefix: Option<&str>,
    ) -> Option<(TaskResult, String)> {
        let run = std::sync::Arc::clone(&self.request.run);
        match command {
            Command::SetVariable { name, value, output, secret, readonly } => {
                let options = slipway_tasks::SetVariable { secret, output, readonly };
                self.set_step_variable(number, step, output_prefix, &name, &value, options);
            }
            Command::SetSecret(value) => run.masker.add(&value),
            Command::PrependPath(path) => {
                self.path_prepend.insert(0, path.trim().to_owned());
            }
            Command::LogIssue { severity, message, source_path, line, column, code } => {
                let message = run.masker.mask(&message);
                self.events.emit(Event::Issue {
                    time: now_ms(),
                    job: Some(self.job_id()),
                    step: Some(number),
                    severity,
                    message: message.clone(),
                    source_path: source_path.clone(),
                    line,
                    column,
                    code,
                });
                let mut text = String::new();
                if let Some(path) = &source_path {
                    let _ = write!(text, "{path}");
                    if let Some(line) = line {
                        let _ = write!(text, "({line}");
                        if let Some(column) = column {
                            let _ = write!(text, ",{column}");
                        }
                        text.push(')');
                    }
                    text.push_str(": ");
                }
                text.push_str(&message);
                let kind = if severity == Severity::Error { LogKind::Error } else { LogKind::Warning };
                self.events.emit(Event::Log {
                    time: now_ms(),
                    job: Some(self.job_id()),
                    step: Some(number),
                    stream: Stream::Stdout,
                    kind,
                    text,
                });
            }
            Command::Complete { result, message } => return Some((result, message)),
            Command::UploadFile(path) => self.attach(number, &path, "file"),
            Command::UploadSummary(path) => self.attach(number, &path, "summary"),
            Command::ArtifactUpload { name, container_folder, path } => {
                let source = self.working_directory(step).join(&path);
                match run.artifacts.upload(&name, container_folder.as_deref(), &source) {
                    Ok(manifest) => self.events.emit(Event::ArtifactPublished {
                        time: now_ms(),
                        job: self.job_id(),
                        step: number,
                        name,
                        digest: manifest.digest(),
                        files: manifest.files.len() as u64,
                        bytes: manifest.bytes(),
                    }),
                    Err(error) => self.issue(Some(number), Severity::Warning, &error.to_string()),
                }
            }
            Command::AddBuildTag(tag) => {
                if let Ok(mut tags) = run.tags.lock() {
                    tags.push(tag.clone());
                }
                self.events.emit(Event::TagAdded { time: now_ms(), tag: run.masker.mask(&tag) });
            }
            Command::UpdateBuildNumber(number_text) => {
                if let Ok(mut build_number) = run.build_number.lock() {
                    build_number.clone_from(&number_text);
                }
                self.variables.force(Variable::readonly("Build.BuildNumber", number_text.clone()));
                let build_number = run.masker.mask(&number_text);
                self.events.emit(Event::BuildNumberChanged { time: now_ms(), build_number });
            }
            Command::Invalid { text, reason } => {
                self.log(
                    Some(number),
                    LogKind::Warning,
                    &format!("Unable to process command '{text}' successfully: {reason}."),
                );
            }
        }
        None
    }

    /// Sets a variable for a step (`task.setvariable`, or a task through its host): output
    /// variables are named after the step and kept for other jobs, secrets are masked, and
    /// read-only variables refuse changes with a warning.
    fn set_step_variable(
        &mut self,
        number: u32,
        step: &Step,
        output_prefix: Option<&str>,
        name: &str,
        value: &str,
        options: slipway_tasks::SetVariable,
    ) {
        let slipway_tasks::SetVariable { secret, output, readonly } = options;
        if secret {
            self.request.run.masker.add(value);
        }
        let full_name = match (output, &step.name) {
            (true, Some(step_name)) => format!("{step_name}.{name}"),
            _ => name.to_owned(),
        };
        if output && step.name.is_none() {
            self.log(
                Some(number),
                LogKind::Warning,
                &format!(
                    "output variable '{name}' is set by a step without a `name`, so other jobs cannot refer to it"
                ),
            );
        }
        let variable = Variable { name: full_name.clone(), value: value.to_owned(), secret, readonly };
        if let Err(error) = self.variables.set(variable) {
            self.issue(Some(number), Severity::Warning, &error.to_string());
            return;
        }
        if output && let Some(step_name) = &step.name {
            let key = match output_prefix {
                Some(prefix) => format!("{prefix}.{step_name}.{name}"),
                None => format!("{step_name}.{name}"),
            };
            self.outputs.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&key));
            self.outputs.push((key, value.to_owned()));
        }
        self.events.emit(Event::VariableSet {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            name: full_name,
            // A value that holds a secret (set by a step that printed one) is shown masked.
            value: (!secret).then(|| self.request.run.masker.mask(value)),
            secret,
            output,
            readonly,
        });
    }

    fn attach(&self, number: u32, path: &str, kind: &str) {
        self.events.emit(Event::FileAttached {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            kind: kind.to_owned(),
            path: path.to_owned(),
        });
    }

    fn checkout(&self, number: u32, repository: &str) -> Attempt {
        if repository.eq_ignore_ascii_case("none") {
            self.log(Some(number), LogKind::Output, "Checkout is disabled for this job.");
            return Attempt { result: TaskResult::Succeeded, exit_code: None, message: None };
        }
        if !repository.eq_ignore_ascii_case("self") {
            return self
                .fail(number, &format!("checking out the repository '{repository}' is not supported by a local run"));
        }
        let source = &self.request.run.source_dir;
        if !self.request.run.isolated {
            self.log(Some(number), LogKind::Output, &format!("Using the repository in place: {}", source.display()));
            return Attempt { result: TaskResult::Succeeded, exit_code: None, message: None };
        }
        match copy_working_tree(source, &self.dirs.sources) {
            Ok(count) => {
                self.log(
                    Some(number),
                    LogKind::Output,
                    &format!("Copied {count} files of {} to {}", source.display(), self.dirs.sources.display()),
                );
                Attempt { result: TaskResult::Succeeded, exit_code: None, message: None }
            }
            Err(error) => self.fail(number, &format!("could not copy the working tree: {error}")),
        }
    }

    fn publish(&self, number: u32, path: &str, artifact: Option<&str>) -> Attempt {
        let path = self.variables.expand(path);
        let source = {
            let path = PathBuf::from(&path);
            if path.is_absolute() {
                path
            } else {
                PathBuf::from(self.variables.value("System.DefaultWorkingDirectory").unwrap_or(".")).join(path)
            }
        };
        let name = artifact.map_or_else(|| self.request.id.replace('.', "_"), |name| self.variables.expand(name));
        self.log(Some(number), LogKind::Output, &format!("Publishing {} as artifact '{name}'", source.display()));
        match self.request.run.artifacts.publish(&name, &source) {
            Ok(manifest) => {
                self.events.emit(Event::ArtifactPublished {
                    time: now_ms(),
                    job: self.job_id(),
                    step: number,
                    name,
                    digest: manifest.digest(),
                    files: manifest.files.len() as u64,
                    bytes: manifest.bytes(),
                });
                Attempt { result: TaskResult::Succeeded, exit_code: None, message: None }
            }
            Err(error) => self.fail(number, &error.to_string()),
        }
    }

    fn download(
        &self,
        number: u32,
        source: &str,
        artifact: Option<&str>,
        path: Option<&str>,
        patterns: Option<&str>,
    ) -> Attempt {
        if source.eq_ignore_ascii_case("none") {
            self.log(Some(number), LogKind::Output, "Downloading is disabled for this job.");
            return Attempt { result: TaskResult::Succeeded, exit_code: None, message: None };
        }
        if !source.eq_ignore_ascii_case("current") {
            return self.fail(
                number,
                &format!("downloading artifacts of the pipeline resource '{source}' is not supported by a local run"),
            );
        }
        let store = &self.request.run.artifacts;
        let workspace = PathBuf::from(self.variables.value("Pipeline.Workspace").unwrap_or("."));
        let base = path.map(|path| {
            let path = PathBuf::from(self.variables.expand(path));
            if path.is_absolute() { path } else { workspace.join(path) }
        });
        let patterns: Vec<String> = patterns
            .map(|text| text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let names = match artifact {
            Some(name) => vec![(self.variables.expand(name), true)],
            None => store.names().into_iter().map(|name| (name, false)).collect(),
        };
        for (name, single) in names {
            let target = match (&base, single) {
                (Some(base), true) => base.clone(),
                (Some(base), false) => base.join(&name),
                (None, _) => workspace.join(&name),
            };
            match store.download(&name, &target, &patterns) {
                Ok(manifest) => {
                    self.log(
                        Some(number),
                        LogKind::Output,
                        &format!(
                            "Downloaded artifact '{name}' ({} files) to {}",
                            manifest.files.len(),
                            target.display()
                        ),
                    );
                    self.events.emit(Event::ArtifactDownloaded {
                        time: now_ms(),
                        job: self.job_id(),
                        step: number,
                        name,
                        path: target.display().to_string(),
                    });
                }
                Err(error) => return self.fail(number, &error.to_string()),
            }
        }
        Attempt { result: TaskResult::Succeeded, exit_code: None, message: None }
    }
}

/// Finds a program on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// Copies the working tree (tracked and untracked files that are not ignored, when it is a git
/// repository; everything but `.git` otherwise) into `target`. Returns how many files it copied.
pub(crate) fn copy_working_tree(source: &Path, target: &Path) -> std::io::Result<usize> {
    let listed = slipway_git::output(
        Some(source),
        "ls-files",
        &["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    )
    .ok();
    let files: Vec<PathBuf> = match listed {
        Some(output) => output
            .split(|&byte| byte == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .collect(),
        None => {
            let mut files = Vec::new();
            walk(source, Path::new(""), &mut files)?;
            files
        }
    };
    let mut count = 0;
    for file in files {
        let from = source.join(&file);
        if !from.is_file() {
            continue;
        }
        let to = target.join(&file);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&from, &to)?;
        count += 1;
    }
    Ok(count)
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" || name == ".slipway" {
            continue;
        }
        let path = relative.join(&name);
        if entry.file_type()?.is_dir() {
            walk(root, &path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
