//! `task:` steps through the real binary: built-in tasks end to end (artifacts between jobs,
//! test results, a cache that a second run hits), a task folder given with `--tasks`, unknown
//! tasks stopping the run (or skipped), and input validation errors.

use std::path::{Path, PathBuf};

use crate::support::Scratch;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/run/tasks").join(name)
}

/// The task folders written for Slipway's tests.
fn test_tasks() -> PathBuf {
    crate::support::workspace().join("crates/slipway-tasks/tests/fixtures/tasks")
}

/// `pipeline` as `azure-pipelines.yml`, and each `(fixture, path)` copied into the repository.
fn scratch(pipeline: &str, files: &[(&str, &str)]) -> Scratch {
    let scratch = Scratch::new(&fixture(pipeline));
    for (source, target) in files {
        scratch.copy(&fixture(source), target);
    }
    scratch
}

#[test]
fn artifacts_test_results_and_a_cache_that_the_second_run_hits() {
    let scratch =
        scratch("end-to-end.yml", &[("TEST-unit.xml", "test-results/TEST-unit.xml"), ("coverage.xml", "coverage.xml")]);
    scratch.write("deps.lock", "library 1.0\n");
    let first = scratch.run(&[]);
    assert_eq!(first.code, Some(0), "{first:?}");
    first.expect(&[
        "cache hit: false",
        "There is a cache miss.",
        "Post-job: Cache",
        "Cache saved successfully.",
        "published artifact 'app' (1 files",
        "deploying: app built by Build",
        "Tests: 2 passed, 1 failed, 1 skipped",
        "calculator.divides by zero: expected an error, got 0",
        "Coverage: lines 75.0% (3/4), branches 50.0% (1/2)",
    ]);
    // The summary keeps the totals, the failure and the coverage.
    let summary = first.stdout.split("\nSummary\n").nth(1).unwrap_or_default();
    assert!(summary.contains("Tests: 2 passed, 1 failed, 1 skipped"), "{summary}");
    assert!(summary.contains("✗ calculator.divides by zero: expected an error, got 0"), "{summary}");
    assert!(summary.contains("Coverage: lines 75.0% (3/4), branches 50.0% (1/2)"), "{summary}");

    let second = scratch.run(&[]);
    assert_eq!(second.code, Some(0), "{second:?}");
    second.expect(&["cache hit: true", "restored: library v1", "Entry found at fingerprint", "Skipping the save"]);
    second.refuse(&["Cache saved successfully."]);

    // A changed lock file misses the exact key but restores through the restore key.
    scratch.write("deps.lock", "library 2.0\n");
    let third = scratch.run(&["--format", "json"]);
    assert_eq!(third.code, Some(0), "{third:?}");
    let events: Vec<serde_json::Value> = third
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}")))
        .collect();
    assert!(events.iter().any(|event| event["event"] == "variableSet"
        && event["name"] == "DEPS_RESTORED"
        && event["value"] == "inexact"));
    let tests = events
        .iter()
        .find(|event| event["event"] == "testResultsPublished")
        .unwrap_or_else(|| panic!("no test results"));
    assert_eq!((tests["results"]["passed"].as_u64(), tests["results"]["failed"].as_u64()), (Some(2), Some(1)));
    assert!(events.iter().any(|event| event["event"] == "stepFinished" && event["displayName"] == "Post-job: Cache"));
    assert!(
        events.iter().any(|event| event["event"] == "coveragePublished" && event["coverage"]["lines"]["covered"] == 3)
    );
}

#[test]
fn a_task_folder_reads_its_inputs_and_sets_an_output_for_another_job() {
    let has_node =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("node").is_file()));
    let needed = if has_node { Ok(()) } else { Err("node is not on PATH".to_owned()) };
    if !slipway_testing::needed_or_skip(
        "a_task_folder_reads_its_inputs_and_sets_an_output_for_another_job",
        "NODE",
        needed,
    ) {
        return;
    }
    let scratch = scratch("hello-task.yml", &[]);
    let tasks = test_tasks();
    let out = scratch.run(&["--tasks", &tasks.display().to_string(), "--jobs", "1"]);
    assert_eq!(out.code, Some(1), "the formal greeting without a title fails: {out:?}");
    out.expect(&[
        "HELLO, SLIPWAY!",
        "the other job heard: HELLO, SLIPWAY!",
        "Input required: title",
        "failed at Formal › Formal without a title: Input required: title",
    ]);

    // The same folder from the repository's configuration file.
    scratch.write("slipway.toml", &format!("[tasks]\ndirectories = [{:?}]\n", tasks.display().to_string()));
    let out = scratch.run(&["--job", "Use"]);
    out.expect(&["the other job heard: HELLO, SLIPWAY!"]);
}

#[test]
fn unknown_tasks_stop_the_run_before_it_starts() {
    let scratch = scratch("unknown-tasks.yml", &[]);
    let out = scratch.run(&[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(out.stdout, "", "nothing ran");
    insta::assert_snapshot!("unknown_tasks", out.stderr);
}

#[test]
fn unknown_tasks_can_be_skipped_with_a_warning() {
    let scratch = scratch("unknown-tasks.yml", &[]);
    let out = scratch.run(&["--skip-unknown-tasks", "--jobs", "1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("warning[R0001]: the task `CopyFilez@2` is neither built in"), "{}", out.stderr);
    out.expect(&[
        "compiled anyway",
        "deployed anyway",
        "- CopyFilez@2 skipped: the task `CopyFilez@2` is neither built in nor found in a task folder",
        "- Bash@2 skipped: the task `Bash@2` is not available: Slipway has Bash@3 built in",
        "warning: Skipped the step 'Deploy: Contoso.Deploy.SpecialTask@1'",
    ]);
    let summary = out.stdout.split("\nSummary\n").nth(1).unwrap_or_default();
    assert!(summary.contains("warning: Skipped the step 'CopyFilez@2'"), "{summary}");
}

#[test]
fn input_errors_fail_the_step_with_the_agents_message() {
    let scratch = scratch("input-errors.yml", &[]);
    let out = scratch.run(&[]);
    assert_eq!(out.code, Some(1), "{out:?}");
    out.expect(&[
        "error: Input required: path",
        "error: Input required: TargetFolder",
        "error: Input required: artifactName",
        // Without `checkout: self`, relative paths start at the job's own sources directory.
        "error: Not found workingDirectory: ",
        "/w/1/s/no/such/dir",
        "warning: 'colour' is not an input of the task Bash@3; it is ignored",
        "error: Invalid action preference for ErrorActionPreference: 'sometimes'.",
        "failed at Job › Cache without a path: Input required: path",
    ]);
    out.refuse(&["never"]);
}

/// `slipway validate` checks `task:` steps as `slipway run` does before it starts: unknown tasks
/// are errors (warnings with `--skip-unknown-tasks`), and `--tasks` and the configuration file's
/// folders count.
#[test]
fn validate_reports_unknown_tasks_as_run_does() {
    let scratch = scratch("unknown-tasks.yml", &[]);
    let validate = |arguments: &[&str]| {
        let mut command = crate::support::slipway(&scratch.repo());
        command.arg("validate").arg("azure-pipelines.yml").args(arguments).env("XDG_CONFIG_HOME", scratch.repo());
        crate::support::transcript(&mut command)
    };
    insta::assert_snapshot!("validate_unknown_tasks", validate(&[]));
    insta::assert_snapshot!("validate_unknown_tasks_skipped", validate(&["--skip-unknown-tasks"]));
    // A task from a folder: unknown without the folder, valid with it.
    scratch.write("hello.yml", "steps:\n- task: HelloTask@1\n  inputs:\n    who: Slipway\n");
    let hello = |arguments: &[&str]| {
        crate::support::slipway(&scratch.repo())
            .arg("validate")
            .arg("hello.yml")
            .args(arguments)
            .env("XDG_CONFIG_HOME", scratch.repo())
            .output()
            .unwrap_or_else(|error| panic!("{error}"))
    };
    let without = hello(&[]);
    assert_eq!(without.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&without.stderr).contains("error[R0001]: the task `HelloTask@1`"));
    let tasks = test_tasks();
    let with = hello(&["--tasks", &tasks.display().to_string()]);
    assert_eq!(String::from_utf8_lossy(&with.stdout), "hello.yml: valid (1 stage, 1 job, 1 step)\n");
    assert_eq!(with.status.code(), Some(0), "{}", String::from_utf8_lossy(&with.stderr));
}
