//! `task:` steps on the local executor, with real processes: inputs resolved with macros, script
//! tasks with logging commands and `failOnStderr`, post-job steps, unknown tasks, timeouts.

use std::path::Path;

use crate::Collect;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_events::{Event, LogKind, Severity, TaskResult};
use slipway_plan::{Action, Dialect, Job, Plan, Shell, Stage, Step};
use slipway_runtime::{CancelToken, LocalExecutor, RunOptions, execute};

fn task(display: &str, name: &str, version: &str, inputs: &[(&str, &str)]) -> Step {
    Step {
        display_name: Some(display.to_owned()),
        ..Step::new(Action::Task {
            name: name.to_owned(),
            version: Some(version.to_owned()),
            inputs: inputs.iter().map(|(input, value)| ((*input).to_owned(), (*value).to_owned())).collect(),
        })
    }
}

fn script(display: &str, text: &str) -> Step {
    Step {
        display_name: Some(display.to_owned()),
        ..Step::new(Action::Script { shell: Shell::Bash, script: text.to_owned() })
    }
}

fn plan(jobs: Vec<(&str, Vec<Step>)>) -> Plan {
    let jobs = jobs.into_iter().map(|(name, steps)| Job::new(name, steps)).collect();
    Plan::new(Dialect::AzurePipelines, vec![Stage::new("S", jobs)])
}

struct Run {
    result: TaskResult,
    events: Vec<Event>,
}

impl Run {
    fn output(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Log { text, kind: LogKind::Output, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn steps(&self) -> Vec<(String, TaskResult, Option<String>)> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::StepFinished { display_name, result, message, .. } => {
                    Some((display_name.clone(), *result, message.clone()))
                }
                _ => None,
            })
            .collect()
    }

    fn step(&self, display: &str) -> (TaskResult, Option<String>) {
        self.steps()
            .into_iter()
            .find(|(name, _, _)| name == display)
            .map(|(_, result, message)| (result, message))
            .unwrap_or_else(|| panic!("no step {display}: {:#?}", self.steps()))
    }
}

/// Runs `plan` with its work directory (and so its cache store) in `work`, sources in `source`.
fn run_in(plan: Plan, work: &Path, configure: impl FnOnce(&mut RunOptions)) -> Run {
    let mut options = RunOptions {
        work_dir: work.join("work"),
        source_dir: work.join("source"),
        kill_grace: Duration::from_millis(300),
        max_parallel: 1,
        ..RunOptions::default()
    };
    std::fs::create_dir_all(&options.source_dir).unwrap_or_else(|error| panic!("{error}"));
    configure(&mut options);
    let sink = Arc::new(Collect::default());
    let report = execute(Arc::new(plan), &options, Arc::new(LocalExecutor), sink.clone(), &CancelToken::new())
        .unwrap_or_else(|error| panic!("{error}"));
    let events = sink.0.lock().map(|events| events.clone()).unwrap_or_default();
    Run { result: report.result, events }
}

#[test]
fn script_tasks_expand_macros_process_logging_commands_and_fail_like_the_agent() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let p = plan(vec![(
        "J",
        vec![
            Step {
                name: Some("setter".into()),
                ..task(
                    "Set",
                    "CmdLine",
                    "2",
                    &[(
                        "script",
                        "echo \"os=$(Agent.OS)\"\necho '##vso[task.setvariable variable=color;isOutput=true]blue'\necho '##vso[task.complete result=SucceededWithIssues;]partly'",
                    )],
                )
            },
            task("Read", "Bash", "3", &[("targetType", "inline"), ("script", "echo \"color=$(setter.color)\"")]),
            task(
                "Stderr",
                "Bash",
                "3",
                &[("targetType", "inline"), ("script", "echo oops >&2"), ("failOnStderr", "true")],
            ),
            task("Exit", "bash", "3", &[("targetType", "inline"), ("script", "exit 3")]),
        ],
    )]);
    let run = run_in(p, dir.path(), |_| {});
    assert_eq!(run.result, TaskResult::Failed);
    let output = run.output();
    assert!(output.contains(&"os=Linux".to_owned()), "{output:?}");
    assert!(output.contains(&"color=blue".to_owned()), "{output:?}");
    assert_eq!(run.step("Set"), (TaskResult::SucceededWithIssues, Some("partly".to_owned())));
    assert_eq!(
        run.step("Stderr"),
        (TaskResult::Failed, Some("Bash wrote one or more lines to the standard error stream.".to_owned()))
    );
    // The step after a failure is skipped by its default condition.
    assert_eq!(run.step("Exit").0, TaskResult::Skipped);
    assert!(
        run.events
            .iter()
            .any(|event| matches!(event, Event::VariableSet { name, output: true, .. } if name == "setter.color"))
    );

    let p = plan(vec![("J", vec![task("Exit", "Bash", "3", &[("targetType", "inline"), ("script", "exit 3")])])]);
    let run = run_in(p, dir.path(), |_| {});
    assert_eq!(run.step("Exit"), (TaskResult::Failed, Some("Bash exited with code '3'.".to_owned())));
    assert!(run.events.iter().any(|event| matches!(event, Event::StepFinished { exit_code: Some(3), .. })));
}

#[test]
fn post_job_steps_run_last_first_and_the_cache_persists_between_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let cache = |display: &str, key: &str, hit: &str| {
        task(display, "Cache", "2", &[("key", key), ("path", "$(Pipeline.Workspace)/cached"), ("cacheHitVar", hit)])
    };
    let p = || {
        plan(vec![
            (
                "Good",
                vec![
                    cache("First cache", "one", "FIRST"),
                    cache("Second cache", "two", "SECOND"),
                    script(
                        "Fill",
                        "echo \"hits $(FIRST) $(SECOND)\"; mkdir -p $(Pipeline.Workspace)/cached; echo data > $(Pipeline.Workspace)/cached/file.txt",
                    ),
                ],
            ),
            ("Bad", vec![cache("Cache", "three", "THIRD"), script("Fail", "exit 1")]),
        ])
    };
    let run = run_in(p(), dir.path(), |_| {});
    assert_eq!(run.result, TaskResult::Failed);
    assert!(run.output().contains(&"hits false false".to_owned()), "{:?}", run.output());
    let post: Vec<(String, TaskResult)> = run
        .steps()
        .into_iter()
        .filter(|(name, _, _)| name.starts_with("Post-job"))
        .map(|(name, result, _)| (name, result))
        .collect();
    assert_eq!(
        post,
        [
            ("Post-job: Cache".to_owned(), TaskResult::Succeeded),
            ("Post-job: Cache".to_owned(), TaskResult::Succeeded),
            ("Post-job: Cache".to_owned(), TaskResult::Skipped),
        ]
    );
    // A second run with the same work directory hits both saved keys; the failed job saved nothing.
    let run = run_in(p(), dir.path(), |_| {});
    assert!(run.output().contains(&"hits true true".to_owned()), "{:?}", run.output());
    let misses = run
        .events
        .iter()
        .filter(|event| matches!(event, Event::VariableSet { name, value: Some(value), .. } if name == "THIRD" && value == "false"))
        .count();
    assert_eq!(misses, 1, "the failed job saved nothing");
}

#[test]
fn unknown_tasks_fail_or_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let p = || plan(vec![("J", vec![task("Mystery", "NoSuchTask", "1", &[]), script("After", "echo after")])]);
    let run = run_in(p(), dir.path(), |_| {});
    assert_eq!(run.result, TaskResult::Failed);
    let (result, message) = run.step("Mystery");
    assert_eq!(result, TaskResult::Failed);
    assert!(message.is_some_and(|message| message.contains("neither built in nor found in a task folder")));

    let run = run_in(p(), dir.path(), |options| options.skip_unknown_tasks = true);
    assert_eq!(run.result, TaskResult::Succeeded, "{:#?}", run.steps());
    assert_eq!(run.step("Mystery").0, TaskResult::Skipped);
    assert!(run.output().contains(&"after".to_owned()));
    assert!(run.events.iter().any(|event| matches!(
        event,
        Event::Issue { severity: Severity::Warning, code: Some(code), message, .. }
            if code == "R0001" && message.contains("Skipped the step 'Mystery'")
    )));
}

#[test]
fn task_processes_stop_at_the_step_timeout() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let p = plan(vec![(
        "J",
        vec![Step { timeout_minutes: Some(1), ..task("Slow", "CmdLine", "2", &[("script", "sleep 30")]) }],
    )]);
    let started = Instant::now();
    let run = run_in(p, dir.path(), |options| options.minute = Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.step("Slow"), (TaskResult::Failed, Some("The task has timed out.".to_owned())));
}
