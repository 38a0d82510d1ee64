//! Slipway's run events: the stable record of what happened during a pipeline run.
//!
//! Every part of a run (the run itself, stages, jobs, steps) reports that it started and how it
//! finished; steps add log lines, variables they set, issues, artifacts and the like. The runtime
//! produces these [`Event`]s, `slipway run --format json` prints them as JSON lines, the server will
//! store them and agents will send them over the wire, so their JSON shape is a contract: fields
//! are only ever added, and [`EVENTS_VERSION`] is bumped on any incompatible change. The model is
//! documented in `docs/events.md`. This crate does no I/O.

mod artifacts;
pub mod audit_chain;
pub mod delivery;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use artifacts::{ArtifactFile, ArtifactManifest};

/// The version of the event JSON shape, carried by [`Event::RunStarted`].
pub const EVENTS_VERSION: u32 = 1;

/// The outcome of a run, stage, job or step, as Azure Pipelines computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskResult {
    /// Everything worked.
    Succeeded,
    /// It worked, but something failed with `continueOnError` or reported that it partly failed.
    SucceededWithIssues,
    /// It failed.
    Failed,
    /// It was stopped: by the user, or by a timeout.
    Canceled,
    /// It did not run because its condition was false (or a parent was skipped).
    Skipped,
}

impl TaskResult {
    /// Combines the result so far with one more result, the worse one winning, as the Azure agent
    /// merges step results into a job result. Skipped results never change the result so far.
    #[must_use]
    pub fn merge(current: Option<Self>, next: Self) -> Option<Self> {
        match (current, next) {
            (current, Self::Skipped) => current,
            (None, next) => Some(next),
            (Some(current), next) => Some(current.max(next)),
        }
    }

    /// Whether this result counts as success for `succeeded()` (Succeeded or SucceededWithIssues).
    #[must_use]
    pub fn is_success(self) -> bool {
        matches!(self, Self::Succeeded | Self::SucceededWithIssues)
    }

    /// The name Azure uses (`Succeeded`, `SucceededWithIssues`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::SucceededWithIssues => "SucceededWithIssues",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::Skipped => "Skipped",
        }
    }

    /// Parses Azure's name of a result, ignoring case.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Succeeded, Self::SucceededWithIssues, Self::Failed, Self::Canceled, Self::Skipped]
            .into_iter()
            .find(|result| result.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl fmt::Display for TaskResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stream a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// Written by Slipway itself.
    System,
}

/// How a log line is meant to be shown (Azure's `##[...]` formatting commands).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogKind {
    /// Plain output.
    Output,
    /// `##[group]`: the start of a collapsible group; the text is its title.
    Group,
    /// `##[endgroup]`.
    EndGroup,
    /// `##[section]`: a heading.
    Section,
    /// `##[warning]`.
    Warning,
    /// `##[error]`.
    Error,
    /// `##[debug]`: shown only when `System.Debug` is true.
    Debug,
    /// `##[command]`: a command about to run.
    Command,
}

/// The kinds that have a prefix, with its name.
const LOG_PREFIXES: [(LogKind, &str); 7] = [
    (LogKind::Group, "group"),
    (LogKind::EndGroup, "endgroup"),
    (LogKind::Section, "section"),
    (LogKind::Warning, "warning"),
    (LogKind::Error, "error"),
    (LogKind::Debug, "debug"),
    (LogKind::Command, "command"),
];

impl LogKind {
    /// The name in its `##[name]` prefix; `None` for plain output.
    #[must_use]
    pub fn prefix_name(self) -> Option<&'static str> {
        LOG_PREFIXES.iter().find(|(kind, _)| *kind == self).map(|(_, name)| *name)
    }

    /// The line as a raw log holds it (Azure's form): `##[kind]text`, or the text for plain
    /// output.
    #[must_use]
    pub fn line(self, text: &str) -> String {
        match (self, self.prefix_name()) {
            (Self::EndGroup, _) => "##[endgroup]".to_owned(),
            (_, Some(name)) => format!("##[{name}]{text}"),
            (_, None) => text.to_owned(),
        }
    }

    /// Reads a raw log line back: its kind and its text without the prefix. The prefix's name is
    /// matched ignoring case; a line without a known one is plain output, whole.
    #[must_use]
    pub fn split_line(line: &str) -> (Self, &str) {
        if let Some(rest) = line.strip_prefix("##[")
            && let Some((name, text)) = rest.split_once(']')
            && let Some((kind, _)) = LOG_PREFIXES.iter().find(|(_, prefix)| prefix.eq_ignore_ascii_case(name))
        {
            return (*kind, text);
        }
        (Self::Output, line)
    }
}

/// How serious an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// An error.
    Error,
    /// A warning.
    Warning,
}

/// One thing that happened during a run. Serialized with an `event` tag, camelCase fields, and
/// `time` in milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Event {
    /// The run began.
    RunStarted {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// [`EVENTS_VERSION`].
        version: u32,
        /// `Build.BuildId`.
        run_id: u64,
        /// `Build.BuildNumber` at the start.
        build_number: String,
        /// The pipeline's name (its file name).
        pipeline: String,
    },
    /// A stage began.
    StageStarted {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The stage's name.
        stage: String,
        /// Its display name.
        display_name: String,
    },
    /// A stage ended (or was skipped: then no `stageStarted` came before).
    StageFinished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The stage's name.
        stage: String,
        /// Its result.
        result: TaskResult,
        /// Milliseconds it ran.
        duration_ms: u64,
        /// Why it ended this way, when that is not obvious (a condition error, a skip).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A job (one leg of it, for matrix and parallel jobs) began.
    JobStarted {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id: `stage.job` or `stage.job.leg`.
        job: String,
        /// The stage's name.
        stage: String,
        /// The job's name.
        name: String,
        /// The leg's name, for matrix and parallel legs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leg: Option<String>,
        /// The display name.
        display_name: String,
        /// The environment a deployment job deploys to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
    /// A job (or leg) ended, or was skipped (then no `jobStarted` came before).
    JobFinished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// Its result.
        result: TaskResult,
        /// Milliseconds it ran.
        duration_ms: u64,
        /// Why it ended this way, when that is not obvious.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A step began.
    StepStarted {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number in the job, from 1.
        step: u32,
        /// The step's `name`, if it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The display name (macros expanded, secrets masked).
        display_name: String,
    },
    /// A step ended, or was skipped.
    StepFinished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number in the job.
        step: u32,
        /// The step's display name (repeated so that skipped steps are named).
        display_name: String,
        /// Its result.
        result: TaskResult,
        /// Milliseconds it ran.
        duration_ms: u64,
        /// The last process's exit code, if a process ran to its end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// How many times it ran (more than 1 after retries).
        attempts: u32,
        /// Why it ended this way (a timeout, a failure message).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A line of output. Secrets are already masked.
    Log {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id; absent for run-level lines.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
        /// The step's number; absent for job-level lines.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
        /// Where the line came from.
        stream: Stream,
        /// How it should be shown.
        kind: LogKind,
        /// The text, without the formatting prefix and line ending.
        text: String,
    },
    /// A step set a variable (`task.setvariable`).
    VariableSet {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number.
        step: u32,
        /// The variable's name (`step.var` for output variables).
        name: String,
        /// The value; absent for secrets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        /// Whether it is secret.
        secret: bool,
        /// Whether it is an output variable.
        output: bool,
        /// Whether it is read-only.
        readonly: bool,
    },
    /// A warning or error reported by a step (`task.logissue`, `##[warning]`, `##[error]`) or by Slipway.
    Issue {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id, if the issue belongs to a job.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
        /// The step's number, if it belongs to a step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<u32>,
        /// Error or warning.
        severity: Severity,
        /// The message (secrets masked).
        message: String,
        /// A source file the issue is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_path: Option<String>,
        /// Its line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        /// Its column.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        column: Option<u32>,
        /// An issue code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// A pipeline artifact was published (or a file uploaded into one).
    ArtifactPublished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number.
        step: u32,
        /// The artifact's name.
        name: String,
        /// The digest (`sha256:...`) of its manifest.
        digest: String,
        /// How many files it holds.
        files: u64,
        /// Their total size in bytes.
        bytes: u64,
    },
    /// Pipeline artifacts were downloaded.
    ArtifactDownloaded {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number.
        step: u32,
        /// The artifact's name.
        name: String,
        /// Where it was put.
        path: String,
    },
    /// A file was attached to the run (`task.uploadfile`, `task.uploadsummary`).
    FileAttached {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job's id.
        job: String,
        /// The step's number.
        step: u32,
        /// `file` or `summary`.
        kind: String,
        /// The file's path as given.
        path: String,
    },
    /// A tag was added to the run (`build.addbuildtag`).
    TagAdded {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The tag.
        tag: String,
    },
    /// The run's number changed (`build.updatebuildnumber`).
    BuildNumberChanged {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The new number.
        build_number: String,
    },
    /// A step published test results (`PublishTestResults`).
    TestResultsPublished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job.
        job: String,
        /// The step, counted from 1.
        step: u32,
        /// The results.
        results: TestRun,
    },
    /// A step published a code coverage summary (`PublishCodeCoverageResults`).
    CoveragePublished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// The job.
        job: String,
        /// The step, counted from 1.
        step: u32,
        /// The summary.
        coverage: Coverage,
    },
    /// The run ended.
    RunFinished {
        /// Milliseconds since the Unix epoch.
        time: u64,
        /// Its result.
        result: TaskResult,
        /// Milliseconds it ran.
        duration_ms: u64,
    },
}

/// The outcome of one test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TestOutcome {
    /// It passed.
    Passed,
    /// It failed (an assertion or an error).
    Failed,
    /// It did not run (skipped, ignored, inconclusive, not executed).
    Skipped,
}

/// One test case from a results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCase {
    /// The test's name.
    pub name: String,
    /// Its class, fixture or suite.
    pub suite: Option<String>,
    /// How it ended.
    pub outcome: TestOutcome,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The failure message, for failed tests.
    pub message: Option<String>,
    /// The stack trace or failure details, for failed tests.
    pub stack_trace: Option<String>,
}

/// A published set of test results: the totals and every test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRun {
    /// The run's title (`testRunTitle`), or one made from the files.
    pub title: String,
    /// The results format (`JUnit`, `NUnit`, `XUnit`, `VSTest`).
    pub format: String,
    /// The files read.
    pub files: Vec<String>,
    /// How many tests ran in all.
    pub total: u64,
    /// How many passed.
    pub passed: u64,
    /// How many failed.
    pub failed: u64,
    /// How many did not run.
    pub skipped: u64,
    /// Total duration in milliseconds.
    pub duration_ms: u64,
    /// Every test case.
    pub tests: Vec<TestCase>,
}

/// Lines, branches or another measure: how many were covered out of how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageCounter {
    /// Covered.
    pub covered: u64,
    /// In all.
    pub total: u64,
}

/// A code coverage summary (`PublishCodeCoverageResults`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    /// `Cobertura` or `JaCoCo`.
    pub format: String,
    /// The summary file read.
    pub file: String,
    /// Lines covered.
    pub lines: Option<CoverageCounter>,
    /// Branches covered.
    pub branches: Option<CoverageCounter>,
    /// Other measures JaCoCo reports (`instructions`, `methods`, `classes`, `complexity`).
    pub other: Vec<(String, CoverageCounter)>,
    /// Per package or module: its name and line coverage.
    pub packages: Vec<(String, CoverageCounter)>,
}

impl Event {
    /// The event as one line of JSON (without the newline).
    #[must_use]
    pub fn to_json_line(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one JSON line.
    ///
    /// # Errors
    /// When the line is not an event.
    pub fn from_json_line(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }
}

/// Where events go: the console, a file, the server.
pub trait EventSink: Send + Sync {
    /// Takes one event. Called from several threads; events of one job arrive in order.
    fn emit(&self, event: Event);
}

/// The current time in milliseconds since the Unix epoch.
#[must_use]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_written_and_read_back_with_their_kind() {
        for (kind, _) in LOG_PREFIXES.iter().chain([(LogKind::Output, "")].iter()) {
            let text = if *kind == LogKind::EndGroup { "" } else { "Build <1>" };
            assert_eq!(LogKind::split_line(&kind.line(text)), (*kind, text), "{kind:?}");
        }
        assert_eq!(LogKind::split_line("##[ENDGROUP]"), (LogKind::EndGroup, ""));
        assert_eq!(LogKind::split_line("##[unknown]x"), (LogKind::Output, "##[unknown]x"));
        assert_eq!(LogKind::split_line("plain ##[error]"), (LogKind::Output, "plain ##[error]"));
        assert_eq!(LogKind::Warning.line("careful"), "##[warning]careful");
    }

    #[test]
    fn merge_takes_the_worse_result_and_ignores_skipped() {
        use TaskResult::*;
        assert_eq!(TaskResult::merge(None, Skipped), None);
        assert_eq!(TaskResult::merge(None, Succeeded), Some(Succeeded));
        assert_eq!(TaskResult::merge(Some(Succeeded), SucceededWithIssues), Some(SucceededWithIssues));
        assert_eq!(TaskResult::merge(Some(Failed), Succeeded), Some(Failed));
        assert_eq!(TaskResult::merge(Some(Failed), Canceled), Some(Canceled));
        assert_eq!(TaskResult::merge(Some(Failed), Skipped), Some(Failed));
    }

    #[test]
    fn results_parse_their_azure_names() {
        assert_eq!(TaskResult::parse("succeededwithissues"), Some(TaskResult::SucceededWithIssues));
        assert_eq!(TaskResult::parse("nope"), None);
        assert!(TaskResult::SucceededWithIssues.is_success());
        assert!(!TaskResult::Skipped.is_success());
    }

    #[test]
    fn events_round_trip_as_tagged_camel_case_json() {
        let event = Event::StepFinished {
            time: 5,
            job: "Build.Compile".into(),
            step: 2,
            display_name: "make".into(),
            result: TaskResult::Failed,
            duration_ms: 12,
            exit_code: Some(2),
            attempts: 1,
            message: None,
        };
        let line = event.to_json_line();
        assert_eq!(
            line,
            r#"{"event":"stepFinished","time":5,"job":"Build.Compile","step":2,"displayName":"make","result":"Failed","durationMs":12,"exitCode":2,"attempts":1}"#
        );
        assert_eq!(Event::from_json_line(&line).ok(), Some(event));
    }

    #[test]
    fn log_lines_leave_out_missing_fields() {
        let event = Event::Log {
            time: 1,
            job: None,
            step: None,
            stream: Stream::System,
            kind: LogKind::Warning,
            text: "careful".into(),
        };
        assert_eq!(
            event.to_json_line(),
            r#"{"event":"log","time":1,"stream":"system","kind":"warning","text":"careful"}"#
        );
    }
}
