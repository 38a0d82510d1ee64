//! The GitHub Actions job runner: runs a job of a GitHub workflow's plan the way GitHub's runner
//! does, on this machine.
//!
//! Each step gets the expression contexts GitHub gives it (`github`, `env`, `vars`, `secrets`,
//! `inputs`, `matrix`, `strategy`, `needs`, `steps`, `job`, `runner`) and its `if` is evaluated
//! with GitHub's rules (an `if` without a status function means `success() && (...)`). The
//! `${{ }}` in a step's `name`, `env`, `with`, `working-directory` and `run` script are
//! evaluated just before it runs; the environment is the workflow's `env`, then the job's, then
//! what earlier steps wrote to `GITHUB_ENV`, then the step's own, with GitHub's default variables
//! (`GITHUB_*`, `RUNNER_*`, which cannot be overwritten) on top. A `run:` script is written to a
//! file and run with its shell's command line as the plan gives it (`bash -e {0}`). Every step
//! gets fresh environment files (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_STATE`,
//! `GITHUB_STEP_SUMMARY`), read when it ends ([`files`]); workflow commands on its output
//! (`::error file=...::`, `::add-mask::`, `::group::`, ...) become Slipway's events
//! ([`commands`]). `continue-on-error` makes a failed step's `outcome` `failure` and its
//! `conclusion` `success`. The job's `outputs` are evaluated at its end and returned by name.
//! Actions (`uses:`) are built in ([`actions`]), or come from the action store or the
//! repository ([`store`]): composite actions ([`composite`]) and node actions ([`node`], with
//! their `pre` at the job's start and `post` at its end). There is no container engine, which
//! the errors say; [`store::unknown_actions`] lists what cannot run before a run starts.

mod actions;
mod commands;
mod composite;
mod files;
mod hash;
mod node;
pub(crate) mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use slipway_driver::Variables;
use slipway_driver::github::{self as gh, Contexts};
use slipway_events::{Event, EventSink, LogKind, Severity, Stream, TaskResult, now_ms};
use slipway_github_expr::{JobStatus, Object, Value};
use slipway_plan::{Action, Condition, ConditionExpression, Job, JobKind, Step};

use crate::executor::{CancelToken, JobOutcome, JobRequest};
use crate::local::{StepStop, minutes, which};
use crate::process::{self, Exit, ProcessSpec, StopReason};
use crate::workspace::{self, JobDirs};

/// GitHub's default job timeout, in minutes.
const DEFAULT_JOB_TIMEOUT_MINUTES: u32 = 360;
/// GitHub's time for cleanup after a cancel, in minutes.
const DEFAULT_CANCEL_TIMEOUT_MINUTES: u32 = 5;

/// Contexts a workflow's `env` may use.
const WORKFLOW_ENV: &[&str] = &["github", "secrets", "inputs", "vars"];
/// Contexts a job's `env` may use.
const JOB_ENV: &[&str] = &["github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"];
/// Contexts a step's `if` may use.
const STEP_IF: &[&str] = &["github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"];
/// Contexts a step's `name`, `env`, `with`, `run` and `working-directory`, and the job's
/// `outputs`, may use.
const STEP: &[&str] =
    &["github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps", "inputs"];

/// Runs one leg of a GitHub job. See the module documentation.
pub(crate) fn run_job(request: &JobRequest, job: &Job, events: &dyn EventSink, cancel: &CancelToken) -> JobOutcome {
    GithubJob::new(request, job, events, cancel).run()
}

/// What `steps.<id>` holds.
#[derive(Clone, Debug)]
struct StepRecord {
    id: String,
    outputs: Vec<(String, String)>,
    outcome: &'static str,
    conclusion: &'static str,
}

/// What a step's action produced.
pub(crate) struct Attempt {
    result: TaskResult,
    exit_code: Option<i32>,
    message: Option<String>,
}

impl Attempt {
    fn succeeded() -> Self {
        Self { result: TaskResult::Succeeded, exit_code: None, message: None }
    }
}

/// A step to run at the end of the job (an action's `post`), in reverse order of registration.
pub(crate) struct PostStep {
    display_name: String,
    /// Runs only when the job has not failed (`post-if: success()`).
    only_on_success: bool,
    /// An action's `post-if`, evaluated when the post step is due.
    condition: Option<Condition>,
    kind: actions::Post,
}

/// The environment files of one step.
struct StepFiles {
    output: PathBuf,
    env: PathBuf,
    path: PathBuf,
    state: PathBuf,
    summary: PathBuf,
}

/// What a step's output did to it while it ran.
#[derive(Default)]
struct OutputState {
    /// Outputs set with the deprecated `::set-output`.
    outputs: Vec<(String, String)>,
    /// Whether commands are echoed (`::echo::on`).
    echo: bool,
    /// The token that resumes commands after `::stop-commands::`.
    stop_token: Option<String>,
    /// A command failed the step (as `set-env` does).
    failed: Option<String>,
    /// Whether `ACTIONS_ALLOW_UNSECURE_COMMANDS` is true for the step.
    allow_unsecure: bool,
    /// State saved with the deprecated `::save-state`.
    saved_state: Vec<(String, String)>,
}

struct GithubJob<'a> {
    request: &'a JobRequest,
    job: &'a Job,
    events: &'a dyn EventSink,
    cancel: &'a CancelToken,
    dirs: JobDirs,
    /// `GITHUB_WORKSPACE`.
    workspace: PathBuf,
    /// A step failed (its conclusion was `failure`).
    failed: bool,
    canceled: Option<String>,
    job_deadline: Option<Instant>,
    job_timeout_minutes: u32,
    cancel_timeout: Duration,
    cancel_deadline: Option<Instant>,
    /// The `env` context of the job: the workflow's and the job's `env`, evaluated, then what
    /// steps wrote to `GITHUB_ENV`.
    env: Vec<(String, String)>,
    /// Directories from `GITHUB_PATH`, the latest first.
    path_prepend: Vec<String>,
    steps: Vec<StepRecord>,
    step_number: u32,
    groups: Vec<i32>,
    post_steps: Vec<PostStep>,
    /// The contexts that do not change from step to step.
    base: Object,
    debug: bool,
    /// How many steps got each generated action name (`__run`, `__run_2`).
    generated: HashMap<String, u32>,
    /// Inside a composite action: the `env` of the steps that use it, outermost first.
    scope_env: Vec<(String, String)>,
    /// Inside a composite action: whether one of its steps failed (what its `success()` and
    /// `failure()` look at); `None` outside.
    scope_failed: Option<bool>,
    /// How deep in composite actions the job is.
    depth: u32,
    /// Numbers the environment files of every step and inner step.
    file_counter: u32,
    /// Which part of node actions the steps run (`pre` at the job's start).
    phase: node::Phase,
    /// The index of the job's step that runs (not inside a composite action).
    current: Option<usize>,
    /// What the `pre` of each step's action saved, by the step's index.
    pre_state: HashMap<usize, Vec<(String, String)>>,
}

fn object_of(pairs: &[(String, String)]) -> Object {
    let mut object = Object::new();
    for (name, value) in pairs {
        object.set(name.clone(), Value::String(value.clone()));
    }
    object
}

/// Sets `name` to `value` in an ordered list of pairs (names compared exactly, as on Linux).
fn set_pair(pairs: &mut Vec<(String, String)>, name: &str, value: String) {
    match pairs.iter_mut().find(|(existing, _)| existing == name) {
        Some(pair) => pair.1 = value,
        None => pairs.push((name.to_owned(), value)),
    }
}

/// Splits a command line as the runner's process invoker does on Linux: white space separates
/// arguments, double quotes group them (`\"` is a quote).
fn split_command_line(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut started = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
                started = true;
            }
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    args.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        args.push(current);
    }
    args
}

/// The extension the runner gives a script file for a shell.
fn script_extension(shell: &str) -> &'static str {
    match shell.split_whitespace().next().unwrap_or_default() {
        "pwsh" | "powershell" => "ps1",
        "python" => "py",
        "cmd" => "cmd",
        _ => "sh",
    }
}

impl<'a> GithubJob<'a> {
    fn new(request: &'a JobRequest, job: &'a Job, events: &'a dyn EventSink, cancel: &'a CancelToken) -> Self {
        let number = request.run.job_counter.fetch_add(1, Ordering::SeqCst) + 1;
        let dirs = JobDirs::new(&request.run.run_dir, number);
        let timeout = job.timeout_minutes.unwrap_or(DEFAULT_JOB_TIMEOUT_MINUTES);
        let cancel_timeout = job.cancel_timeout_minutes.unwrap_or(DEFAULT_CANCEL_TIMEOUT_MINUTES);
        let debug = ["ACTIONS_STEP_DEBUG", "ACTIONS_RUNNER_DEBUG", "System.Debug"]
            .iter()
            .any(|name| request.variables.value(name).is_some_and(|value| value.eq_ignore_ascii_case("true")));
        let uses_checkout_in_place = !request.run.isolated
            && job_steps(job).iter().any(|step| {
                matches!(&step.action, Action::Uses { action, with }
                    if actions::is_checkout(action)
                        && !with.iter().any(|(name, value)| name == "path" && !value.trim().is_empty()))
            });
        let workspace = if uses_checkout_in_place { request.run.source_dir.clone() } else { dirs.sources.clone() };
        Self {
            request,
            job,
            events,
            cancel,
            dirs,
            workspace,
            failed: false,
            canceled: None,
            job_deadline: (timeout > 0).then(|| Instant::now() + minutes(request.run.minute, timeout)),
            job_timeout_minutes: timeout,
            cancel_timeout: minutes(request.run.minute, cancel_timeout.max(1)),
            cancel_deadline: None,
            env: Vec::new(),
            path_prepend: Vec::new(),
            steps: Vec::new(),
            step_number: 0,
            groups: Vec::new(),
            post_steps: Vec::new(),
            base: Object::new(),
            debug,
            generated: HashMap::new(),
            scope_env: Vec::new(),
            scope_failed: None,
            depth: 0,
            file_counter: 0,
            phase: node::Phase::Main,
            current: None,
            pre_state: HashMap::new(),
        }
    }

    fn job_id(&self) -> String {
        self.request.id.clone()
    }

    fn variables(&self) -> &Variables {
        &self.request.variables
    }

    pub(crate) fn log(&self, step: Option<u32>, kind: LogKind, text: &str) {
        self.events.emit(Event::Log {
            time: now_ms(),
            job: Some(self.job_id()),
            step,
            stream: Stream::System,
            kind,
            text: self.request.run.masker.mask(text),
        });
    }

    /// An issue of the step (or the job), also logged.
    pub(crate) fn issue(&self, step: Option<u32>, severity: Severity, message: &str) {
        self.annotation(step, severity, message, None, None, None);
    }

    fn annotation(
        &self,
        step: Option<u32>,
        severity: Severity,
        message: &str,
        file: Option<String>,
        line: Option<u32>,
        column: Option<u32>,
    ) {
        let message = self.request.run.masker.mask(message);
        self.events.emit(Event::Issue {
            time: now_ms(),
            job: Some(self.job_id()),
            step,
            severity,
            message: message.clone(),
            source_path: file.clone(),
            line,
            column,
            code: None,
        });
        let mut text = String::new();
        if let Some(file) = &file {
            text.push_str(file);
            if let Some(line) = line {
                text.push_str(&format!("({line}"));
                if let Some(column) = column {
                    text.push_str(&format!(",{column}"));
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
            step,
            stream: Stream::Stdout,
            kind,
            text,
        });
    }

    pub(crate) fn fail(&self, number: u32, message: &str) -> Attempt {
        self.issue(Some(number), Severity::Error, message);
        Attempt { result: TaskResult::Failed, exit_code: None, message: Some(message.to_owned()) }
    }

    fn status(&self) -> JobStatus {
        let failed = self.scope_failed.unwrap_or(self.failed);
        gh::step_status(if failed { TaskResult::Failed } else { TaskResult::Succeeded }, self.canceled.is_some())
    }

    fn result(&self) -> TaskResult {
        if self.canceled.is_some() {
            TaskResult::Canceled
        } else if self.failed {
            TaskResult::Failed
        } else {
            TaskResult::Succeeded
        }
    }

    fn check_cancel(&mut self) {
        if self.canceled.is_some() {
            return;
        }
        if self.cancel.is_canceled() {
            self.mark_canceled("The run was canceled.".into());
        } else if self.job_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            let message = format!(
                "The job running on runner {} has exceeded the maximum execution time of {} minutes.",
                self.runner_name(),
                self.job_timeout_minutes
            );
            self.mark_canceled(message);
        }
    }

    fn mark_canceled(&mut self, message: String) {
        self.issue(None, Severity::Error, &message);
        self.canceled = Some(message);
        self.cancel_deadline = Some(Instant::now() + self.cancel_timeout);
    }

    fn runner_name(&self) -> String {
        self.variables().value("Agent.Name").map_or_else(|| format!("slipway-{}", workspace::hostname()), str::to_owned)
    }

    fn tool_cache(&self) -> PathBuf {
        self.variables()
            .value("Agent.ToolsDirectory")
            .map_or_else(|| self.request.run.run_dir.join("_tool"), PathBuf::from)
    }

    fn run(mut self) -> JobOutcome {
        let failure =
            |message: String| JobOutcome { result: TaskResult::Failed, outputs: Vec::new(), message: Some(message) };
        if let Err(error) = self.dirs.create() {
            return failure(format!("could not create the job's directories: {error}"));
        }
        if self.job.container.is_some() || self.job.services.is_some() {
            let what = if self.job.container.is_some() { "container:" } else { "services:" };
            let message = format!(
                "the job '{}' uses `{what}`, which needs a container engine, and none is available to Slipway; run the steps on the machine instead (remove `{what}`)",
                self.job.name
            );
            self.issue(None, Severity::Error, &message);
            return failure(message);
        }
        if let Err(message) = self.prepare() {
            self.issue(None, Severity::Error, &message);
            return failure(message);
        }
        let steps = job_steps(self.job);
        self.run_pre_steps(&steps);
        for (index, step) in steps.iter().enumerate() {
            self.current = Some(index);
            self.run_step(step);
        }
        self.current = None;
        self.run_post_steps();
        for &group in &self.groups {
            if process::group_alive(group) {
                process::kill_group(group, Duration::from_millis(500));
            }
            process::forget_group(group);
        }
        let outputs = self.job_outputs();
        let _ = std::fs::remove_dir_all(&self.dirs.temp);
        JobOutcome { result: self.result(), outputs, message: self.canceled.clone() }
    }

    /// The contexts that stay the same through the job, and the job's `env`.
    fn prepare(&mut self) -> Result<(), String> {
        let variables = self.variables().clone();
        let mut github = gh::github_context(&variables);
        let event = variables
            .value(gh::EVENT_VARIABLE)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        let event_path = self.dirs.temp.join("_github_workflow").join("event.json");
        if let Some(parent) = event_path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("could not create {}: {error}", parent.display()))?;
        }
        std::fs::write(&event_path, serde_json::to_vec_pretty(&event).unwrap_or_default())
            .map_err(|error| format!("could not write {}: {error}", event_path.display()))?;
        github.set("event", Value::from(event));
        github.set("event_path", Value::from(event_path.display().to_string()));
        github.set("workspace", Value::from(self.workspace.display().to_string()));
        github.set("job", Value::from(self.job.name.clone()));
        github.set("token", Value::from(""));
        github.set("action", Value::from(""));
        github.set("action_path", Value::from(""));
        github.set("action_ref", Value::from(""));
        github.set("action_repository", Value::from(""));
        github.set("retention_days", Value::from("90"));
        let server = github.get("server_url").map(Value::to_display_string).filter(|url| !url.is_empty());
        let server = server.unwrap_or_else(|| "https://github.com".to_owned());
        github.set("server_url", Value::from(server.clone()));
        github.set("api_url", Value::from(format!("{server}/api/v3")));
        github.set("graphql_url", Value::from(format!("{server}/api/graphql")));
        github.set("workflow_ref", Value::from(""));
        self.base.set("github", Value::from(github));
        self.base.set("vars", Value::from(gh::vars_context(&variables)));
        let secrets: Object = variables
            .iter()
            .filter(|variable| variable.secret)
            .map(|variable| (variable.name.clone(), Value::String(variable.value.clone())))
            .collect();
        for variable in variables.iter().filter(|variable| variable.secret) {
            self.request.run.masker.add(&variable.value);
        }
        let mut secrets = secrets;
        secrets.insert("GITHUB_TOKEN", Value::from(""));
        self.base.set("secrets", Value::from(secrets));
        self.base.set("inputs", Value::from(gh::inputs_context(&self.request.plan.parameters)));
        let leg = self.job.legs.get(self.request.leg.leg);
        let matrix = leg.and_then(|leg| leg.matrix.clone()).map_or(Value::Null, Value::from);
        self.base.set("matrix", matrix);
        let total = self.job.legs.len().max(1);
        let mut strategy = Object::new();
        strategy.insert("fail-fast", Value::Bool(self.job.fail_fast));
        strategy.insert("job-index", Value::Number(self.request.leg.leg as f64));
        strategy.insert("job-total", Value::Number(total as f64));
        strategy.insert("max-parallel", Value::Number(f64::from(self.job.max_parallel.unwrap_or(total as u32))));
        self.base.set("strategy", Value::from(strategy));
        let needs = variables
            .value(gh::NEEDS_VARIABLE)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        self.base.set("needs", Value::from(gh::needs_context(&needs)));
        let mut runner = Object::new();
        let arch = match std::env::consts::ARCH {
            "aarch64" => "ARM64",
            "arm" => "ARM",
            "x86" => "X86",
            _ => "X64",
        };
        runner.insert("name", Value::from(self.runner_name()));
        runner.insert("os", Value::from("Linux"));
        runner.insert("arch", Value::from(arch));
        runner.insert("temp", Value::from(self.dirs.temp.display().to_string()));
        runner.insert("tool_cache", Value::from(self.tool_cache().display().to_string()));
        runner.insert("environment", Value::from("self-hosted"));
        if self.debug {
            runner.insert("debug", Value::from("1"));
        }
        self.base.set("runner", Value::from(runner));

        // The workflow's env, then the job's, each value evaluated where GitHub evaluates it.
        let mut env = Vec::new();
        for (scope, pairs, allowed) in
            [("the workflow's env", &self.request.plan.env, WORKFLOW_ENV), ("the job's env", &self.job.env, JOB_ENV)]
        {
            for (name, value) in pairs {
                let contexts = self.contexts(allowed, None);
                let value = self.template(value, &contexts).map_err(|error| format!("{scope}: {name}: {error}"))?;
                set_pair(&mut env, name, value);
            }
        }
        self.env = env;
        Ok(())
    }

    /// The `steps` context.
    fn steps_context(&self) -> Object {
        let mut steps = Object::new();
        for record in &self.steps {
            let mut step = Object::new();
            step.insert("outputs", Value::from(object_of(&record.outputs)));
            step.insert("outcome", Value::from(record.outcome));
            step.insert("conclusion", Value::from(record.conclusion));
            steps.set(record.id.clone(), Value::from(step));
        }
        steps
    }

    /// The contexts `allowed` for an expression, with `env` the job's and then `step_env`.
    fn contexts(&self, allowed: &[&str], step_env: Option<&[(String, String)]>) -> Contexts {
        let mut contexts = Contexts::new(self.status());
        for &name in allowed {
            let value = match name {
                "env" => {
                    let mut env = self.env.clone();
                    for (name, value) in self.scope_env.iter().chain(step_env.unwrap_or_default()) {
                        set_pair(&mut env, name, value.clone());
                    }
                    Value::from(object_of(&env))
                }
                "steps" => Value::from(self.steps_context()),
                "job" => {
                    let mut job = Object::new();
                    job.insert("status", Value::from(gh::result_name(self.result())));
                    job.insert("container", Value::from(Object::new()));
                    job.insert("services", Value::from(Object::new()));
                    Value::from(job)
                }
                other => self.base.get(other).cloned().unwrap_or(Value::Null),
            };
            contexts.set(name, value);
        }
        let workspace = self.workspace.clone();
        contexts.hash_files = Some(Box::new(move |patterns: &[String]| hash::hash_files(&workspace, patterns)));
        contexts
    }

    /// Evaluates the `${{ }}` in `text`.
    fn template(&self, text: &str, contexts: &Contexts) -> Result<String, String> {
        slipway_github_expr::evaluate_template(text, contexts)
    }

    /// The name GitHub gives a step without an `id` (`__run`, `__run_2`, `__actions_checkout`).
    fn action_name(&mut self, step: &Step) -> String {
        if let Some(id) = &step.name {
            return id.clone();
        }
        let base = self.action_base(step);
        let count = self.generated.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 { base } else { format!("{base}_{count}") }
    }

    /// A step's `id`, else the name GitHub gives it before numbering (`__actions_checkout`).
    fn action_base(&self, step: &Step) -> String {
        if let Some(id) = &step.name {
            return id.clone();
        }
        match &step.action {
            Action::Uses { action, .. } => {
                let name = action.split('@').next().unwrap_or(action);
                let cleaned: String =
                    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
                format!("__{}", cleaned.trim_start_matches('_'))
            }
            _ => "__run".to_owned(),
        }
    }

    fn default_display_name(step: &Step) -> String {
        match &step.action {
            Action::Run { script, .. } => {
                format!("Run {}", script.lines().find(|line| !line.trim().is_empty()).unwrap_or_default().trim())
            }
            Action::Uses { action, .. } => format!("Run {action}"),
            _ => "Run".to_owned(),
        }
    }

    fn record(
        &mut self,
        id: Option<&str>,
        outputs: Vec<(String, String)>,
        outcome: &'static str,
        conclusion: &'static str,
    ) {
        if let Some(id) = id {
            self.steps.retain(|record| record.id != id);
            self.steps.push(StepRecord { id: id.to_owned(), outputs, outcome, conclusion });
        }
    }

    fn skip(&mut self, step: &Step, display: String, reason: &str) {
        self.step_number += 1;
        self.record(step.name.as_deref(), Vec::new(), "skipped", "skipped");
        self.events.emit(Event::StepFinished {
            time: now_ms(),
            job: self.job_id(),
            step: self.step_number,
            display_name: self.request.run.masker.mask(&display),
            result: TaskResult::Skipped,
            duration_ms: 0,
            exit_code: None,
            attempts: 0,
            message: Some(reason.to_owned()),
        });
    }

    fn run_step(&mut self, step: &Step) {
        self.check_cancel();
        if self.cancel.is_forced() {
            self.skip(step, Self::default_display_name(step), "the run was cancelled");
            return;
        }
        let action_name = self.action_name(step);
        let runs = self.should_run(step);
        let display = self.display(step);
        match runs {
            Ok(true) => {}
            Ok(false) => {
                let reason = match &step.condition {
                    Some(condition) => format!("the condition '{}' was false", condition.source),
                    None if self.canceled.is_some() => "the job was cancelled".to_owned(),
                    None => "an earlier step failed".to_owned(),
                };
                self.skip(step, display, &reason);
                return;
            }
            Err(error) => {
                self.step_number += 1;
                let number = self.step_number;
                self.start_event(step, number, &display);
                let attempt = self.fail(number, &format!("the step's `if` could not be evaluated: {error}"));
                self.finish(step, number, &display, Instant::now(), attempt, Vec::new());
                return;
            }
        }

        self.step_number += 1;
        let number = self.step_number;
        let started = Instant::now();
        self.start_event(step, number, &display);
        let (attempt, outputs) = self.attempt(step, number, &action_name);
        self.finish(step, number, &display, started, attempt, outputs);
    }

    /// Whether a step runs: its `if` (`success()` when it has none), evaluated as GitHub does.
    fn should_run(&self, step: &Step) -> Result<bool, String> {
        let contexts = self.contexts(STEP_IF, None);
        match &step.condition {
            None => Ok(self.status() == JobStatus::Success),
            Some(condition) => match &condition.expression {
                ConditionExpression::Github(expression) => gh::condition(expression, &contexts),
                ConditionExpression::Azure(_) => {
                    Err(format!("the condition '{}' is not a GitHub expression", condition.source))
                }
            },
        }
    }

    /// A step's display name: its `name` with `${{ }}` evaluated, or GitHub's default.
    fn display(&self, step: &Step) -> String {
        let contexts = self.contexts(STEP, None);
        // Without a name, a script's first line, its expressions evaluated, as the runner shows it.
        let name = step.display_name.clone().unwrap_or_else(|| Self::default_display_name(step));
        self.template(&name, &contexts).unwrap_or(name)
    }

    fn start_event(&self, step: &Step, number: u32, display: &str) {
        self.events.emit(Event::StepStarted {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            name: step.name.clone(),
            display_name: self.request.run.masker.mask(display),
        });
    }

    fn finish(
        &mut self,
        step: &Step,
        number: u32,
        display: &str,
        started: Instant,
        mut attempt: Attempt,
        outputs: Vec<(String, String)>,
    ) {
        let outcome = match attempt.result {
            TaskResult::Failed => "failure",
            TaskResult::Canceled => "cancelled",
            TaskResult::Skipped => "skipped",
            TaskResult::Succeeded | TaskResult::SucceededWithIssues => "success",
        };
        let conclusion = if outcome == "failure" && step.continue_on_error { "success" } else { outcome };
        if conclusion == "failure" {
            self.failed = true;
        }
        if attempt.result == TaskResult::Failed && step.continue_on_error {
            attempt.result = TaskResult::SucceededWithIssues;
        }
        self.record(step.name.as_deref(), outputs, outcome, conclusion);
        self.events.emit(Event::StepFinished {
            time: now_ms(),
            job: self.job_id(),
            step: number,
            display_name: self.request.run.masker.mask(display),
            result: attempt.result,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            exit_code: attempt.exit_code,
            attempts: 1,
            message: attempt.message.map(|message| self.request.run.masker.mask(&message)),
        });
        self.check_cancel();
    }

    /// Makes the step's fresh environment files.
    fn step_files(&mut self) -> Result<StepFiles, String> {
        self.file_counter += 1;
        let number = self.file_counter;
        let dir = self.dirs.temp.join("_runner_file_commands");
        std::fs::create_dir_all(&dir).map_err(|error| format!("could not create {}: {error}", dir.display()))?;
        let files = StepFiles {
            output: dir.join(format!("set_output_{number}")),
            env: dir.join(format!("set_env_{number}")),
            path: dir.join(format!("add_path_{number}")),
            state: dir.join(format!("save_state_{number}")),
            summary: dir.join(format!("step_summary_{number}")),
        };
        for file in [&files.output, &files.env, &files.path, &files.state, &files.summary] {
            std::fs::write(file, "").map_err(|error| format!("could not create {}: {error}", file.display()))?;
        }
        Ok(files)
    }

    /// Runs a step's action with its environment files; returns the attempt and the step's
    /// outputs.
    fn attempt(&mut self, step: &Step, number: u32, action_name: &str) -> (Attempt, Vec<(String, String)>) {
        let files = match self.step_files() {
            Ok(files) => files,
            Err(message) => return (self.fail(number, &message), Vec::new()),
        };
        // The step's env, evaluated against the job's env (its own values do not see each other).
        let mut step_env: Vec<(String, String)> = Vec::new();
        let env_contexts = self.contexts(STEP, None);
        for (name, value) in &step.env {
            let contexts = &env_contexts;
            match self.template(value, contexts) {
                Ok(value) => set_pair(&mut step_env, name, value),
                Err(error) => return (self.fail(number, &format!("env {name}: {error}")), Vec::new()),
            }
        }
        let contexts = self.contexts(STEP, Some(&step_env));
        let working_directory = match &step.working_directory {
            Some(dir) => match self.template(dir, &contexts) {
                Ok(dir) => self.workspace.join(dir),
                Err(error) => return (self.fail(number, &format!("working-directory: {error}")), Vec::new()),
            },
            None => self.workspace.clone(),
        };
        let mut state = OutputState { echo: self.debug, ..OutputState::default() };
        let environment = self.environment(&step_env, &files, action_name, step);
        state.allow_unsecure = environment
            .iter()
            .any(|(name, value)| name == "ACTIONS_ALLOW_UNSECURE_COMMANDS" && value.eq_ignore_ascii_case("true"));
        let attempt = match &step.action {
            Action::Run { shell, command, script } => {
                let script = match self.template(script, &contexts) {
                    Ok(script) => script,
                    Err(error) => return (self.fail(number, &format!("run: {error}")), Vec::new()),
                };
                self.run_script(step, number, shell, command, &script, &working_directory, environment, &mut state)
            }
            Action::Uses { action, with } => {
                let mut inputs = Vec::new();
                for (name, value) in with {
                    match self.template(value, &contexts) {
                        Ok(value) => inputs.push((name.clone(), value)),
                        Err(error) => return (self.fail(number, &format!("with {name}: {error}")), Vec::new()),
                    }
                }
                let call = actions::Call {
                    step,
                    number,
                    action,
                    inputs: &inputs,
                    environment,
                    files: &files,
                    step_env: &step_env,
                };
                self.uses(call, &mut state)
            }
            other => self.fail(number, &format!("a GitHub job cannot run a step of the kind {other:?}")),
        };
        let (attempt, outputs) = self.read_files(number, &files, attempt, &mut state);
        (attempt, outputs)
    }

    /// The process environment of a step: this machine's, the job's `env`, the step's, and
    /// GitHub's default variables on top.
    fn environment(
        &self,
        step_env: &[(String, String)],
        files: &StepFiles,
        action_name: &str,
        step: &Step,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            self.request.run.base_environment.clone().unwrap_or_else(|| std::env::vars().collect());
        let base_path = env.iter().find(|(name, _)| name == "PATH").map(|(_, value)| value.clone()).unwrap_or_default();
        let mut positions: HashMap<String, usize> =
            env.iter().enumerate().map(|(position, (name, _))| (name.clone(), position)).collect();
        let mut set = |name: &str, value: String| match positions.get(name) {
            Some(&position) => env[position].1 = value,
            None => {
                positions.insert(name.to_owned(), env.len());
                env.push((name.to_owned(), value));
            }
        };
        set("CI", "true".to_owned());
        for (name, value) in self.env.iter().chain(&self.scope_env).chain(step_env) {
            set(name, value.clone());
        }
        let github = self.base.get("github").cloned().unwrap_or_default();
        let text = |name: &str| github.get(name).map(Value::to_display_string).unwrap_or_default();
        let runner = self.base.get("runner").cloned().unwrap_or_default();
        let runner_text = |name: &str| runner.get(name).map(Value::to_display_string).unwrap_or_default();
        let (action_repository, action_ref) = match &step.action {
            Action::Uses { action, .. } if !action.starts_with("./") && !action.starts_with("docker://") => {
                let (name, reference) = action.split_once('@').unwrap_or((action, ""));
                let repository = name.split('/').take(2).collect::<Vec<_>>().join("/");
                (repository, reference.to_owned())
            }
            _ => (String::new(), String::new()),
        };
        let defaults: Vec<(&str, String)> = vec![
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_WORKSPACE", self.workspace.display().to_string()),
            ("GITHUB_SHA", text("sha")),
            ("GITHUB_REF", text("ref")),
            ("GITHUB_REF_NAME", text("ref_name")),
            ("GITHUB_REF_TYPE", text("ref_type")),
            ("GITHUB_REF_PROTECTED", "false".to_owned()),
            ("GITHUB_HEAD_REF", text("head_ref")),
            ("GITHUB_BASE_REF", text("base_ref")),
            ("GITHUB_REPOSITORY", text("repository")),
            ("GITHUB_REPOSITORY_OWNER", text("repository_owner")),
            ("GITHUB_RUN_ID", text("run_id")),
            ("GITHUB_RUN_NUMBER", text("run_number")),
            ("GITHUB_RUN_ATTEMPT", text("run_attempt")),
            ("GITHUB_RETENTION_DAYS", text("retention_days")),
            ("GITHUB_JOB", self.job.name.clone()),
            ("GITHUB_WORKFLOW", text("workflow")),
            ("GITHUB_WORKFLOW_REF", text("workflow_ref")),
            ("GITHUB_EVENT_NAME", text("event_name")),
            ("GITHUB_EVENT_PATH", text("event_path")),
            ("GITHUB_ACTOR", text("actor")),
            ("GITHUB_TRIGGERING_ACTOR", text("triggering_actor")),
            ("GITHUB_SERVER_URL", text("server_url")),
            ("GITHUB_API_URL", text("api_url")),
            ("GITHUB_GRAPHQL_URL", text("graphql_url")),
            ("GITHUB_ACTION", action_name.to_owned()),
            ("GITHUB_ACTION_REPOSITORY", action_repository),
            ("GITHUB_ACTION_REF", action_ref),
            ("GITHUB_OUTPUT", files.output.display().to_string()),
            ("GITHUB_ENV", files.env.display().to_string()),
            ("GITHUB_PATH", files.path.display().to_string()),
            ("GITHUB_STATE", files.state.display().to_string()),
            ("GITHUB_STEP_SUMMARY", files.summary.display().to_string()),
            ("RUNNER_OS", runner_text("os")),
            ("RUNNER_ARCH", runner_text("arch")),
            ("RUNNER_NAME", runner_text("name")),
            ("RUNNER_TEMP", runner_text("temp")),
            ("RUNNER_TOOL_CACHE", runner_text("tool_cache")),
            ("RUNNER_ENVIRONMENT", "self-hosted".to_owned()),
            ("RUNNER_WORKSPACE", self.workspace.parent().unwrap_or(&self.workspace).display().to_string()),
        ];
        for (name, value) in defaults {
            set(name, value);
        }
        if self.debug {
            set("RUNNER_DEBUG", "1".to_owned());
        }
        if !self.path_prepend.is_empty() {
            let mut path = self.path_prepend.join(":");
            if !base_path.is_empty() {
                path.push(':');
                path.push_str(&base_path);
            }
            set("PATH", path);
        }
        env
    }

    #[expect(clippy::too_many_arguments, reason = "a step's script with everything it runs in")]
    fn run_script(
        &mut self,
        step: &Step,
        number: u32,
        shell: &str,
        command: &str,
        script: &str,
        working_directory: &Path,
        environment: Vec<(String, String)>,
        state: &mut OutputState,
    ) -> Attempt {
        let extension = script_extension(shell);
        let contents = if extension == "ps1" {
            format!(
                "$ErrorActionPreference = 'stop'\n{script}\nif ((Test-Path -LiteralPath variable:\\LASTEXITCODE)) {{ exit $LASTEXITCODE }}\n"
            )
        } else {
            script.to_owned()
        };
        let file =
            self.dirs.temp.join(format!("{}-{number}.{extension}", self.request.id.replace(['/', ' ', '.'], "_")));
        if let Err(error) = std::fs::write(&file, contents) {
            return self.fail(number, &format!("could not write the script to {}: {error}", file.display()));
        }
        let line = command.replace("{0}", &file.display().to_string());
        let mut args = split_command_line(&line);
        if args.is_empty() {
            return self.fail(number, &format!("the shell command line '{command}' is empty"));
        }
        let program_name = args.remove(0);
        let program = if program_name.contains('/') {
            PathBuf::from(&program_name)
        } else {
            let path = environment.iter().find(|(name, _)| name == "PATH").map(|(_, value)| value.clone());
            match find_program(&program_name, path.as_deref()) {
                Some(program) => program,
                None => {
                    return self.fail(
                        number,
                        &format!(
                            "the shell '{program_name}' of this step (`{command}`) was not found on PATH; install it or choose another `shell:`"
                        ),
                    );
                }
            }
        };
        if !working_directory.is_dir() {
            return self.fail(
                number,
                &format!(
                    "the working directory '{}' does not exist; create it in an earlier step or fix `working-directory:`",
                    working_directory.display()
                ),
            );
        }
        self.log(Some(number), LogKind::Command, &format!("{} {}", program.display(), args.join(" ")));
        let spec = ProcessSpec { program, args, cwd: working_directory.to_path_buf(), env: environment };
        let exit = self.run_process(&spec, step, number, state);
        let _ = std::fs::remove_file(&file);
        self.exit_attempt(exit, step, number)
    }

    /// What a step's process ending the way it did makes of the step.
    fn exit_attempt(&mut self, exit: Exit, step: &Step, number: u32) -> Attempt {
        match exit {
            Exit::Code(0) => Attempt { result: TaskResult::Succeeded, exit_code: Some(0), message: None },
            Exit::Code(code) => {
                let message = format!("Process completed with exit code {code}.");
                self.issue(Some(number), Severity::Error, &message);
                Attempt { result: TaskResult::Failed, exit_code: Some(code), message: Some(message) }
            }
            Exit::Signal(signal) => self.fail(number, &format!("The process was killed by signal {signal}.")),
            Exit::Stopped(StopReason::TimedOut) => {
                let minutes = step.timeout_minutes.unwrap_or_default();
                self.fail(number, &format!("The action has timed out after {minutes} minutes."))
            }
            Exit::Stopped(StopReason::Canceled) => self.canceled_attempt(number),
            Exit::SpawnFailed(error) => self.fail(number, &format!("could not start the process: {error}")),
        }
    }

    fn canceled_attempt(&mut self, number: u32) -> Attempt {
        self.check_cancel();
        if self.canceled.is_none() {
            self.canceled = Some("The job was cancelled.".into());
        }
        self.log(Some(number), LogKind::Error, "The operation was canceled.");
        Attempt { result: TaskResult::Canceled, exit_code: None, message: Some("The operation was canceled.".into()) }
    }

    /// Runs a process of a step in its own process group, every line of its output processed.
    fn run_process(&mut self, spec: &ProcessSpec, step: &Step, number: u32, state: &mut OutputState) -> Exit {
        let step_deadline =
            step.timeout_minutes.filter(|&m| m > 0).map(|m| Instant::now() + minutes(self.request.run.minute, m));
        let stop = StepStop {
            cancel: self.cancel,
            step_deadline,
            job_deadline: self.job_deadline,
            cancel_deadline: self.cancel_deadline,
            job_canceled: self.canceled.is_some(),
        };
        let grace = self.request.run.kill_grace;
        let mut waiting: [String; 2] = [String::new(), String::new()];
        let masker = self.request.run.masker.clone();
        let (exit, group) = {
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
                self.process_line(number, stream, &text, state);
            };
            process::run(spec, &stop, grace, &mut on_line)
        };
        if let Some(group) = group {
            self.groups.push(group);
        }
        exit
    }

    fn emit_line(&self, number: u32, stream: Stream, kind: LogKind, text: &str) {
        self.events.emit(Event::Log {
            time: now_ms(),
            job: Some(self.job_id()),
            step: Some(number),
            stream,
            kind,
            text: self.request.run.masker.mask(text),
        });
    }

    /// One line of a step's output: plain output, or a workflow command.
    fn process_line(&mut self, number: u32, stream: Stream, line: &str, state: &mut OutputState) {
        let Some(command) = commands::parse(line) else {
            self.emit_line(number, stream, LogKind::Output, line);
            return;
        };
        if let Some(token) = &state.stop_token {
            // Commands are output as text until the token (matched without regard to case).
            if !token.is_empty() && command.raw_name.eq_ignore_ascii_case(token) {
                state.stop_token = None;
            }
            self.emit_line(number, stream, LogKind::Output, line);
            return;
        }
        let echo = |runner: &Self, state: &OutputState| {
            if state.echo {
                runner.emit_line(number, stream, LogKind::Output, line);
            }
        };
        match command.name.as_str() {
            "stop-commands" => {
                self.emit_line(number, stream, LogKind::Output, line);
                state.stop_token = Some(command.data.clone());
            }
            "add-mask" => {
                if command.data.trim().is_empty() {
                    self.log(
                        Some(number),
                        LogKind::Warning,
                        "Can't add secret mask for empty string in ##[add-mask] command.",
                    );
                } else {
                    self.request.run.masker.add(&command.data);
                    if state.echo {
                        self.emit_line(number, stream, LogKind::Output, "::add-mask::***");
                    }
                }
            }
            "group" => {
                echo(self, state);
                self.emit_line(number, stream, LogKind::Group, &command.data);
            }
            "endgroup" => {
                echo(self, state);
                self.emit_line(number, stream, LogKind::EndGroup, "");
            }
            "error" | "warning" | "notice" => {
                let file = command.property("file").filter(|file| !file.is_empty()).map(|file| {
                    let path = Path::new(file);
                    path.strip_prefix(&self.workspace)
                        .map_or_else(|_| file.to_owned(), |relative| relative.display().to_string())
                });
                let number_of = |name: &str| command.property(name).and_then(|value| value.trim().parse::<u32>().ok());
                let mut message = command.data.clone();
                if let Some(title) = command.property("title").filter(|title| !title.is_empty()) {
                    message = format!("{title}: {message}");
                }
                if command.name == "notice" {
                    let mut text = String::from("Notice: ");
                    if let Some(file) = &file {
                        text.push_str(&format!("{file}: "));
                    }
                    text.push_str(&message);
                    self.emit_line(number, stream, LogKind::Output, &text);
                } else {
                    let severity = if command.name == "error" { Severity::Error } else { Severity::Warning };
                    self.annotation(
                        Some(number),
                        severity,
                        &message,
                        file,
                        number_of("line"),
                        number_of("col").or_else(|| number_of("column")),
                    );
                }
            }
            "debug" => {
                if self.debug {
                    self.emit_line(number, stream, LogKind::Debug, &command.data);
                }
            }
            "echo" => match command.data.trim().to_ascii_lowercase().as_str() {
                "on" => state.echo = true,
                "off" => state.echo = false,
                _ => {
                    let message = format!(
                        "Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '{}'.",
                        command.data
                    );
                    self.command_failed(number, line, &message, state);
                }
            },
            "set-output" | "save-state" => {
                echo(self, state);
                self.log(Some(number), LogKind::Warning, &commands::deprecated_message(&command.name));
                match command.property("name").filter(|name| !name.is_empty()) {
                    Some(name) if command.name == "set-output" => {
                        set_pair(&mut state.outputs, name, command.data.clone());
                    }
                    Some(name) => set_pair(&mut state.saved_state, name, command.data.clone()),
                    None => {
                        let message = format!("Required field 'name' is missing in ##[{}] command.", command.name);
                        self.command_failed(number, line, &message, state);
                    }
                }
            }
            "set-env" | "add-path" => {
                echo(self, state);
                if !state.allow_unsecure {
                    let message = commands::disabled_message(&command.name);
                    self.command_failed(number, line, &message, state);
                } else if command.name == "add-path" {
                    self.add_path(&command.data);
                } else if let Some(name) = command.property("name").filter(|name| !name.is_empty()) {
                    set_pair(&mut self.env, name, command.data.clone());
                }
            }
            "add-matcher" | "remove-matcher" => {
                echo(self, state);
                self.log(
                    Some(number),
                    LogKind::Debug,
                    "problem matchers are not applied by Slipway; the command is ignored",
                );
            }
            // Not a command the runner knows: it is plain output.
            _ => self.emit_line(number, stream, LogKind::Output, line),
        }
    }

    fn command_failed(&self, number: u32, line: &str, message: &str, state: &mut OutputState) {
        self.issue(Some(number), Severity::Error, &format!("Unable to process command '{line}' successfully."));
        self.issue(Some(number), Severity::Error, message);
        state.failed = Some(message.to_owned());
    }

    fn add_path(&mut self, path: &str) {
        self.path_prepend.retain(|existing| existing != path);
        self.path_prepend.insert(0, path.to_owned());
    }

    /// Reads the step's environment files once it ended.
    fn read_files(
        &mut self,
        number: u32,
        files: &StepFiles,
        mut attempt: Attempt,
        state: &mut OutputState,
    ) -> (Attempt, Vec<(String, String)>) {
        let mut outputs = std::mem::take(&mut state.outputs);
        let mut failed = state.failed.take();
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        for (kind, path) in [("output", &files.output), ("env", &files.env), ("state", &files.state)] {
            match files::parse_pairs(&read(path)) {
                Ok(pairs) => {
                    for (name, value) in pairs {
                        match kind {
                            "output" => {
                                self.events.emit(Event::VariableSet {
                                    time: now_ms(),
                                    job: self.job_id(),
                                    step: number,
                                    name: name.clone(),
                                    value: Some(self.request.run.masker.mask(&value)),
                                    secret: false,
                                    output: true,
                                    readonly: false,
                                });
                                set_pair(&mut outputs, &name, value);
                            }
                            "env" if name == "NODE_OPTIONS" => {
                                let message = "Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command.";
                                self.issue(Some(number), Severity::Error, message);
                            }
                            "env" => set_pair(&mut self.env, &name, value),
                            _ => {}
                        }
                    }
                }
                Err(error) => {
                    self.issue(
                        Some(number),
                        Severity::Error,
                        &format!("Unable to process file command '{kind}' successfully."),
                    );
                    self.issue(Some(number), Severity::Error, &error.to_string());
                    failed = Some(error.to_string());
                }
            }
        }
        for path in files::parse_path(&read(&files.path)) {
            self.add_path(&path);
        }
        let summary = read(&files.summary);
        if !summary.trim().is_empty() {
            let kept = self.dirs.workspace.join("_summaries").join(format!("step-{number}.md"));
            let masked: String = summary.lines().map(|line| self.request.run.masker.mask(line) + "\n").collect();
            let stored =
                kept.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&kept, masked));
            match stored {
                Ok(()) => self.events.emit(Event::FileAttached {
                    time: now_ms(),
                    job: self.job_id(),
                    step: number,
                    kind: "summary".into(),
                    path: kept.display().to_string(),
                }),
                Err(error) => self.issue(
                    Some(number),
                    Severity::Warning,
                    &format!("Failed to create step summary using 'GITHUB_STEP_SUMMARY': {error}"),
                ),
            }
        }
        if let Some(message) = failed
            && attempt.result.is_success()
        {
            attempt = Attempt { result: TaskResult::Failed, exit_code: attempt.exit_code, message: Some(message) };
        }
        (attempt, outputs)
    }

    /// The job's `outputs`, evaluated at its end; a value holding a secret is left out, as GitHub
    /// leaves it out.
    fn job_outputs(&self) -> Vec<(String, String)> {
        let contexts = self.contexts(STEP, None);
        let mut outputs = Vec::new();
        for (name, text) in &self.job.outputs {
            match self.template(text, &contexts) {
                Ok(value) => {
                    if self.request.run.masker.mask(&value) != value {
                        self.log(None, LogKind::Warning, &format!("Skip output '{name}' since it may contain secret."));
                        continue;
                    }
                    outputs.push((name.clone(), value));
                }
                Err(error) => self.issue(None, Severity::Error, &format!("The job output '{name}' failed: {error}")),
            }
        }
        outputs
    }

    fn run_post_steps(&mut self) {
        let posts = std::mem::take(&mut self.post_steps);
        for post in posts.into_iter().rev() {
            let step = Step::new(Action::Uses { action: String::new(), with: Vec::new() });
            if post.only_on_success && (self.failed || self.canceled.is_some()) {
                self.skip(&step, post.display_name.clone(), "the job did not succeed");
                continue;
            }
            if let Some(condition) = &post.condition {
                match self.condition_holds(condition) {
                    Ok(true) => {}
                    Ok(false) => {
                        let reason = format!("its `post-if` '{}' was false", condition.source);
                        self.skip(&step, post.display_name.clone(), &reason);
                        continue;
                    }
                    Err(error) => {
                        self.step_number += 1;
                        let number = self.step_number;
                        self.start_event(&step, number, &post.display_name);
                        let attempt = self.fail(number, &format!("the `post-if` could not be evaluated: {error}"));
                        self.finish(&step, number, &post.display_name, Instant::now(), attempt, Vec::new());
                        continue;
                    }
                }
            }
            self.step_number += 1;
            let number = self.step_number;
            let started = Instant::now();
            self.start_event(&step, number, &post.display_name);
            let attempt = self.run_post(number, &post.kind);
            self.finish(&step, number, &post.display_name, started, attempt, Vec::new());
        }
    }
}

/// A job's steps: an agent job's, or a deployment's hooks' in order.
fn job_steps(job: &Job) -> Vec<Step> {
    match &job.kind {
        JobKind::Deployment(deployment) => {
            deployment.hooks.iter().flat_map(|hook| hook.steps.iter().cloned()).collect()
        }
        JobKind::Agent | JobKind::Server => job.steps.clone(),
    }
}

/// Finds a program on a `PATH` (this process's when `None`).
fn find_program(program: &str, path: Option<&str>) -> Option<PathBuf> {
    match path {
        Some(path) => std::env::split_paths(path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file()),
        None => which(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_the_runners() {
        assert_eq!(
            split_command_line("bash --noprofile --norc -eo pipefail /t/x.sh"),
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "/t/x.sh"]
        );
        assert_eq!(split_command_line("pwsh -command \". '/t/x.ps1'\""), ["pwsh", "-command", ". '/t/x.ps1'"]);
        assert_eq!(split_command_line("  perl   /t/x  "), ["perl", "/t/x"]);
        assert_eq!(script_extension("python"), "py");
        assert_eq!(script_extension("pwsh"), "ps1");
        assert_eq!(script_extension("bash"), "sh");
        assert_eq!(script_extension("perl {0}"), "sh");
    }

    #[test]
    fn env_pairs_keep_order_and_later_values_win() {
        let mut env = Vec::new();
        set_pair(&mut env, "A", "workflow".into());
        set_pair(&mut env, "B", "job".into());
        set_pair(&mut env, "A", "step".into());
        assert_eq!(env, [("A".to_owned(), "step".to_owned()), ("B".to_owned(), "job".to_owned())]);
    }
}
