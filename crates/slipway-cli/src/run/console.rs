//! The human-readable renderer of run events: live lines tagged with their job, colours on a
//! terminal, groups, warnings and errors that stand out, and a summary at the end.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::Mutex;

use slipway_events::{
    Coverage, CoverageCounter, Event, EventSink, LogKind, Severity, Stream, TaskResult, TestOutcome, TestRun,
};
use slipway_plan::Plan;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
/// The name of the stage a pipeline without stages gets; not worth showing.
pub(crate) const IMPLICIT_STAGE: &str = "__default.";
const PALETTE: [&str; 6] = ["\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[32m", "\x1b[33m", "\x1b[96m"];

#[derive(Default)]
struct StepRow {
    display: String,
    result: Option<TaskResult>,
    duration_ms: u64,
    message: Option<String>,
    exit_code: Option<i32>,
    attempts: u32,
}

#[derive(Default)]
struct JobRow {
    display: String,
    environment: Option<String>,
    result: Option<TaskResult>,
    duration_ms: u64,
    message: Option<String>,
    steps: Vec<StepRow>,
    color: usize,
}

struct StageRow {
    name: String,
    display: String,
    result: Option<TaskResult>,
    duration_ms: u64,
    message: Option<String>,
    /// Job ids in the order they were first seen.
    jobs: Vec<String>,
}

#[derive(Default)]
struct State {
    stages: Vec<StageRow>,
    jobs: HashMap<String, JobRow>,
    result: Option<TaskResult>,
    duration_ms: u64,
    run_title: String,
    warnings: usize,
    errors: usize,
    tags: Vec<String>,
    attachments: Vec<String>,
    artifacts: Vec<String>,
    build_number: String,
    /// Published test results, with the job that published them.
    test_runs: Vec<(String, TestRun)>,
    /// Published coverage summaries.
    coverage: Vec<Coverage>,
    /// Warnings about `task:` steps skipped because their task is not available.
    skipped_tasks: Vec<String>,
}

/// Prints events for people. See the module documentation.
pub struct Console {
    color: bool,
    state: Mutex<State>,
}

/// `12 passed, 1 failed, 2 skipped`.
fn test_totals(passed: u64, failed: u64, skipped: u64) -> String {
    format!("{passed} passed, {failed} failed, {skipped} skipped")
}

/// `81.2% (1234/1520)`.
fn ratio(counter: CoverageCounter) -> String {
    let percent = if counter.total == 0 { 100.0 } else { counter.covered as f64 * 100.0 / counter.total as f64 };
    format!("{percent:.1}% ({}/{})", counter.covered, counter.total)
}

/// `Coverage: lines 81.2% (1234/1520), branches 60.0% (3/5)`.
fn coverage_line(coverage: &Coverage) -> String {
    let mut parts = Vec::new();
    if let Some(lines) = coverage.lines {
        parts.push(format!("lines {}", ratio(lines)));
    }
    if let Some(branches) = coverage.branches {
        parts.push(format!("branches {}", ratio(branches)));
    }
    for (name, counter) in &coverage.other {
        parts.push(format!("{} {}", name.to_lowercase(), ratio(*counter)));
    }
    if parts.is_empty() {
        parts.push("no measures".to_owned());
    }
    format!("Coverage: {}", parts.join(", "))
}

/// The first line of a failure message, for one-line listings.
fn first_line(text: &str) -> &str {
    text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or_default()
}

/// `Suite.name: message` for a failed test.
fn failed_test(test: &slipway_events::TestCase) -> String {
    let name = match &test.suite {
        Some(suite) if !suite.is_empty() && !test.name.starts_with(suite.as_str()) => format!("{suite}.{}", test.name),
        _ => test.name.clone(),
    };
    match test.message.as_deref().map(first_line).filter(|message| !message.is_empty()) {
        Some(message) => format!("{name}: {message}"),
        None => name,
    }
}

pub(crate) fn seconds(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000)
    }
}

impl Console {
    /// A console for a run of `plan`; colours when standard output is a terminal and `NO_COLOR`
    /// is not set.
    pub fn new(plan: &Plan) -> Self {
        let color =
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
        let stages = plan
            .stages
            .iter()
            .map(|stage| StageRow {
                name: stage.name.clone(),
                display: stage.display_name.clone().unwrap_or_else(|| stage.name.clone()),
                result: None,
                duration_ms: 0,
                message: None,
                jobs: Vec::new(),
            })
            .collect();
        Self { color, state: Mutex::new(State { stages, ..State::default() }) }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.color && !style.is_empty() { format!("{style}{text}{RESET}") } else { text.to_owned() }
    }

    fn result_style(result: TaskResult) -> &'static str {
        match result {
            TaskResult::Succeeded => GREEN,
            TaskResult::SucceededWithIssues => YELLOW,
            TaskResult::Failed => RED,
            TaskResult::Canceled => MAGENTA,
            TaskResult::Skipped => DIM,
        }
    }

    fn mark(result: TaskResult) -> &'static str {
        match result {
            TaskResult::Succeeded => "✓",
            TaskResult::SucceededWithIssues => "!",
            TaskResult::Failed => "✗",
            TaskResult::Canceled => "⊘",
            TaskResult::Skipped => "-",
        }
    }

    fn tag(&self, state: &mut State, job: &str) -> String {
        let next = state.jobs.len();
        let row = state
            .jobs
            .entry(job.to_owned())
            .or_insert_with(|| JobRow { color: next % PALETTE.len(), ..JobRow::default() });
        let shown = job.strip_prefix(IMPLICIT_STAGE).unwrap_or(job);
        self.paint(PALETTE[row.color], &format!("[{shown}]"))
    }

    fn print(text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    fn render(&self, state: &mut State, event: Event) -> Option<String> {
        match event {
            Event::RunStarted { run_id, build_number, pipeline, .. } => {
                state.run_title = format!("{pipeline} #{build_number}");
                state.build_number = build_number.clone();
                Some(self.paint(BOLD, &format!("Run {run_id} of {pipeline}: {build_number}")))
            }
            Event::StageStarted { stage, .. } if format!("{stage}.") == IMPLICIT_STAGE => None,
            Event::StageStarted { stage, display_name, .. } => {
                let title = if display_name == stage { stage } else { format!("{display_name} ({stage})") };
                Some(self.paint(BOLD, &format!("── Stage {title}")))
            }
            Event::StageFinished { stage, result, duration_ms, message, .. } => {
                if let Some(row) = state.stages.iter_mut().find(|row| row.name == stage) {
                    row.result = Some(result);
                    row.duration_ms = duration_ms;
                    row.message.clone_from(&message);
                }
                if format!("{stage}.") == IMPLICIT_STAGE {
                    return None;
                }
                let text = match (result, message) {
                    (TaskResult::Skipped, Some(message)) => format!("── Stage {stage} skipped: {message}"),
                    _ => format!("── Stage {stage} {result} in {}", seconds(duration_ms)),
                };
                Some(self.paint(Self::result_style(result), &text))
            }
            Event::JobStarted { job, stage, display_name, environment, .. } => {
                let tag = self.tag(state, &job);
                if let Some(row) = state.stages.iter_mut().find(|row| row.name == stage && !row.jobs.contains(&job)) {
                    row.jobs.push(job.clone());
                }
                if let Some(row) = state.jobs.get_mut(&job) {
                    row.display.clone_from(&display_name);
                    row.environment.clone_from(&environment);
                }
                let environment = environment.map(|env| format!(" → environment {env}")).unwrap_or_default();
                Some(format!("{tag} {}", self.paint(BOLD, &format!("Job {display_name}{environment}"))))
            }
            Event::JobFinished { job, result, duration_ms, message, .. } => {
                let tag = self.tag(state, &job);
                let stage = job.split('.').next().unwrap_or_default().to_owned();
                if let Some(row) = state.stages.iter_mut().find(|row| row.name == stage) {
                    // A job id with a leg (`stage.job.leg`) is listed under its leg; the aggregate
                    // `stage.job` of a matrix job is listed only when nothing else is.
                    let is_aggregate = row.jobs.iter().any(|known| known.starts_with(&format!("{job}.")));
                    if !is_aggregate && !row.jobs.contains(&job) {
                        row.jobs.push(job.clone());
                    }
                }
                if let Some(row) = state.jobs.get_mut(&job) {
                    row.result = Some(result);
                    row.duration_ms = duration_ms;
                    row.message.clone_from(&message);
                }
                let text = match (result, &message) {
                    (TaskResult::Skipped, Some(message)) => format!("skipped: {message}"),
                    (_, Some(message)) => format!("{result} in {}: {message}", seconds(duration_ms)),
                    _ => format!("{result} in {}", seconds(duration_ms)),
                };
                Some(format!(
                    "{tag} {}",
                    self.paint(Self::result_style(result), &format!("{} Job {text}", Self::mark(result)))
                ))
            }
            Event::StepStarted { job, display_name, .. } => {
                let tag = self.tag(state, &job);
                if let Some(row) = state.jobs.get_mut(&job) {
                    row.steps.push(StepRow { display: display_name.clone(), ..StepRow::default() });
                }
                Some(format!("{tag} {}", self.paint(CYAN, &format!("▸ {display_name}"))))
            }
            Event::StepFinished { job, display_name, result, duration_ms, exit_code, attempts, message, .. } => {
                let tag = self.tag(state, &job);
                if let Some(row) = state.jobs.get_mut(&job) {
                    let existing =
                        row.steps.iter_mut().rev().find(|step| step.display == display_name && step.result.is_none());
                    let step = match existing {
                        Some(step) => step,
                        None => {
                            row.steps.push(StepRow { display: display_name.clone(), ..StepRow::default() });
                            row.steps.last_mut()?
                        }
                    };
                    step.result = Some(result);
                    step.duration_ms = duration_ms;
                    step.message.clone_from(&message);
                    step.exit_code = exit_code;
                    step.attempts = attempts;
                }
                match result {
                    TaskResult::Succeeded => None,
                    TaskResult::Skipped => Some(format!(
                        "{tag} {}",
                        self.paint(
                            DIM,
                            &format!(
                                "- {display_name} skipped{}",
                                message.map(|m| format!(": {m}")).unwrap_or_default()
                            )
                        )
                    )),
                    _ => Some(format!(
                        "{tag} {}",
                        self.paint(
                            Self::result_style(result),
                            &format!("{} {display_name} {result} in {}", Self::mark(result), seconds(duration_ms))
                        )
                    )),
                }
            }
            Event::Log { job, kind, text, stream, .. } => {
                let tag = match &job {
                    Some(job) => format!("{} ", self.tag(state, job)),
                    None => String::new(),
                };
                let body = match kind {
                    LogKind::Output if stream == Stream::Stderr => text,
                    LogKind::Output => text,
                    LogKind::Group => self.paint(BOLD, &format!("▼ {text}")),
                    LogKind::EndGroup => return None,
                    LogKind::Section => self.paint(MAGENTA, &text),
                    LogKind::Warning => {
                        state.warnings += 1;
                        self.paint(YELLOW, &format!("warning: {text}"))
                    }
                    LogKind::Error => {
                        state.errors += 1;
                        self.paint(RED, &format!("error: {text}"))
                    }
                    LogKind::Debug => self.paint(DIM, &format!("debug: {text}")),
                    LogKind::Command => self.paint(DIM, &format!("$ {text}")),
                };
                Some(format!("{tag}{body}"))
            }
            Event::Issue { job: None, severity, message, .. } => {
                let (style, word) = match severity {
                    Severity::Error => (RED, "error"),
                    Severity::Warning => (YELLOW, "warning"),
                };
                match severity {
                    Severity::Error => state.errors += 1,
                    Severity::Warning => state.warnings += 1,
                }
                Some(self.paint(style, &format!("{word}: {message}")))
            }
            Event::Issue { message, code: Some(code), .. } if code == slipway_runtime::tasks::UNKNOWN_TASK_CODE => {
                state.skipped_tasks.push(message);
                None
            }
            // Job issues are also logged as lines, which are shown.
            Event::Issue { .. } | Event::VariableSet { .. } => None,
            Event::ArtifactPublished { job, name, files, bytes, .. } => {
                let tag = self.tag(state, &job);
                state.artifacts.push(name.clone());
                Some(format!(
                    "{tag} {}",
                    self.paint(DIM, &format!("published artifact '{name}' ({files} files, {bytes} bytes)"))
                ))
            }
            Event::ArtifactDownloaded { .. } => None,
            Event::TestResultsPublished { job, results, .. } => {
                let tag = self.tag(state, &job);
                let style = if results.failed > 0 { RED } else { GREEN };
                let mut text = format!(
                    "{tag} {}",
                    self.paint(
                        style,
                        &format!(
                            "Tests: {} ({}, {})",
                            test_totals(results.passed, results.failed, results.skipped),
                            results.title,
                            seconds(results.duration_ms)
                        )
                    )
                );
                for test in results.tests.iter().filter(|test| test.outcome == TestOutcome::Failed) {
                    let _ = write!(text, "\n{tag}   {}", self.paint(RED, &format!("✗ {}", failed_test(test))));
                }
                state.test_runs.push((job, results));
                Some(text)
            }
            Event::CoveragePublished { job, coverage, .. } => {
                let tag = self.tag(state, &job);
                let text = format!("{tag} {}", self.paint(BOLD, &coverage_line(&coverage)));
                state.coverage.push(coverage);
                Some(text)
            }
            Event::FileAttached { kind, path, .. } => {
                state.attachments.push(format!("{kind}: {path}"));
                None
            }
            Event::TagAdded { tag, .. } => {
                state.tags.push(tag);
                None
            }
            Event::BuildNumberChanged { build_number, .. } => {
                state.build_number.clone_from(&build_number);
                Some(self.paint(DIM, &format!("build number is now {build_number}")))
            }
            Event::RunFinished { result, duration_ms, .. } => {
                state.result = Some(result);
                state.duration_ms = duration_ms;
                None
            }
        }
    }

    /// Prints the summary: every stage, job and step with its result and duration, and where
    /// the run failed.
    pub fn summary(&self) {
        let Ok(state) = self.state.lock() else { return };
        let mut out = String::new();
        let _ = writeln!(out, "\n{}", self.paint(BOLD, "Summary"));
        let mut failures: Vec<String> = Vec::new();
        for stage in &state.stages {
            let Some(result) = stage.result else { continue };
            let implicit = format!("{}.", stage.name) == IMPLICIT_STAGE;
            let indent = if implicit { "  " } else { "    " };
            if !implicit {
                let _ = writeln!(
                    out,
                    "  {} Stage {} {}",
                    self.paint(Self::result_style(result), Self::mark(result)),
                    stage.display,
                    self.paint(
                        Self::result_style(result),
                        format!(
                            "{result} {}",
                            if result == TaskResult::Skipped { String::new() } else { seconds(stage.duration_ms) }
                        )
                        .trim_end()
                    )
                );
            }
            for id in &stage.jobs {
                let Some(job) = state.jobs.get(id) else { continue };
                let Some(result) = job.result else { continue };
                let shown = id.strip_prefix(IMPLICIT_STAGE).unwrap_or(id);
                let name = if job.display.is_empty() || job.display == shown {
                    shown.to_owned()
                } else {
                    format!("{} ({shown})", job.display)
                };
                let detail = match (&job.message, result) {
                    (Some(message), TaskResult::Skipped | TaskResult::Canceled | TaskResult::Failed) => {
                        format!(" — {message}")
                    }
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{indent}{} Job {name} {}{detail}",
                    self.paint(Self::result_style(result), Self::mark(result)),
                    self.paint(
                        Self::result_style(result),
                        format!(
                            "{result} {}",
                            if result == TaskResult::Skipped { String::new() } else { seconds(job.duration_ms) }
                        )
                        .trim_end()
                    )
                );
                for step in &job.steps {
                    let Some(result) = step.result else { continue };
                    let mut extra = String::new();
                    if step.attempts > 1 {
                        let _ = write!(extra, ", {} attempts", step.attempts);
                    }
                    if let Some(code) = step.exit_code.filter(|&code| code != 0) {
                        let _ = write!(extra, ", exit code {code}");
                    }
                    if matches!(result, TaskResult::Failed | TaskResult::Canceled) {
                        failures.push(format!(
                            "{shown} › {}{}",
                            step.display,
                            step.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                        ));
                    }
                    let timing = if result == TaskResult::Skipped {
                        String::new()
                    } else {
                        format!(" {}", seconds(step.duration_ms))
                    };
                    let _ = writeln!(
                        out,
                        "{indent}  {} {} {}",
                        self.paint(Self::result_style(result), Self::mark(result)),
                        step.display,
                        self.paint(Self::result_style(result), &format!("{result}{timing}{extra}"))
                    );
                }
                if matches!(result, TaskResult::Failed | TaskResult::Canceled)
                    && job.steps.iter().all(|s| !matches!(s.result, Some(TaskResult::Failed | TaskResult::Canceled)))
                {
                    failures
                        .push(format!("{shown}{}", job.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()));
                }
            }
        }
        if !state.artifacts.is_empty() {
            let _ = writeln!(out, "  Artifacts: {}", state.artifacts.join(", "));
        }
        if !state.test_runs.is_empty() {
            let (passed, failed, skipped) =
                state.test_runs.iter().fold((0, 0, 0), |(passed, failed, skipped), (_, run)| {
                    (passed + run.passed, failed + run.failed, skipped + run.skipped)
                });
            let style = if failed > 0 { RED } else { GREEN };
            let _ =
                writeln!(out, "  {}", self.paint(style, &format!("Tests: {}", test_totals(passed, failed, skipped))));
            for (job, run) in &state.test_runs {
                let shown = job.strip_prefix(IMPLICIT_STAGE).unwrap_or(job);
                for test in run.tests.iter().filter(|test| test.outcome == TestOutcome::Failed) {
                    let _ = writeln!(
                        out,
                        "    {} {} {}",
                        self.paint(RED, "✗"),
                        failed_test(test),
                        self.paint(DIM, &format!("({shown})"))
                    );
                }
            }
        }
        for coverage in &state.coverage {
            let _ = writeln!(out, "  {} {}", coverage_line(coverage), self.paint(DIM, &format!("({})", coverage.file)));
        }
        for warning in &state.skipped_tasks {
            let _ = writeln!(out, "  {}", self.paint(YELLOW, &format!("warning: {warning}")));
        }
        if !state.tags.is_empty() {
            let _ = writeln!(out, "  Tags: {}", state.tags.join(", "));
        }
        for attachment in &state.attachments {
            let _ = writeln!(out, "  Attached {attachment}");
        }
        if let Some(result) = state.result {
            let issues = match (state.errors, state.warnings) {
                (0, 0) => String::new(),
                (errors, warnings) => format!(" ({} and {})", plural(errors, "error"), plural(warnings, "warning")),
            };
            let _ = writeln!(
                out,
                "{}",
                self.paint(
                    &format!("{BOLD}{}", Self::result_style(result)),
                    &format!("Run {} {result} in {}{issues}", state.build_number, seconds(state.duration_ms))
                )
            );
            for failure in failures {
                let _ = writeln!(out, "  {} {failure}", self.paint(RED, "failed at"));
            }
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
}

impl EventSink for Console {
    fn emit(&self, event: Event) {
        let Ok(mut state) = self.state.lock() else { return };
        if let Some(line) = self.render(&mut state, event) {
            Self::print(&line);
        }
    }
}

/// `1 error`, `2 errors`.
fn plural(count: usize, word: &str) -> String {
    if count == 1 { format!("1 {word}") } else { format!("{count} {word}s") }
}
