//! Conformance with nektos/act's runner tests: the `TestRunEventHostEnvironment` rows of act's
//! `runner-test-expectations.tsv` (act running workflows on the host, without containers) that
//! need neither the network nor Windows, each workflow read, checked and lowered by the GitHub
//! front end as `slipway run` does and run through [`execute`] on a copy of the fixtures. A row
//! passes when the run succeeds, or, when act expects an error, when it fails. The test prints
//! the pass count and every row that does not pass with why; it fails when fewer rows pass than
//! [`PASSING`], so that what works stays working. act's own environment is given as act gives
//! it: `ACT=true` in the workflow's `env`, the repository and the actor `nektos/act`, the `push`
//! event.

use crate::Collect;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slipway_events::{Event, Severity};
use slipway_runtime::{CancelToken, LocalExecutor, RunOptions, execute};

/// How many rows pass today; raise it as more do.
const PASSING: usize = 25;

/// Rows left out, and why.
const NOT_RUN: [(&str, &str); 10] = [
    ("remote-action-js", "uses actions from GitHub (network)"),
    ("issue-597", "uses actions from GitHub (network)"),
    ("issue-598", "uses actions from GitHub (network)"),
    ("uses-action-with-pre-and-post-step", "uses actions from GitHub (network)"),
    ("no-panic-on-invalid-composite-action", "uses actions from GitHub (network)"),
    ("windows-prepend-path", "act runs it on Windows only"),
    ("windows-add-env", "act runs it on Windows only"),
    ("windows-prepend-path-powershell-5", "act runs it on Windows only"),
    ("windows-add-env-powershell-5", "act runs it on Windows only"),
    ("windows-shell-cmd", "act runs it on Windows only"),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/act")
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Runs one row's workflow; `Err(why)` when it does not pass.
fn run_row(workflow_dir: &str, expected_error: &str) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|error| error.to_string())?;
    let root = temp.path().join("repo");
    copy_dir(&fixtures(), &root).map_err(|error| format!("copying the fixtures: {error}"))?;
    let dir = root.join(workflow_dir);
    let workflow = std::fs::read_dir(&dir)
        .map_err(|error| format!("reading {}: {error}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml") || name.ends_with(".yaml"))
        .min()
        .ok_or_else(|| format!("no workflow in {workflow_dir}"))?;
    let path = format!("{workflow_dir}/{workflow}");
    let read = |relative: &str| {
        std::fs::read_to_string(root.join(relative))
            .map(|text| (relative.to_owned(), text))
            .map_err(|error| error.to_string())
    };
    let compiled = slipway_github::compile(&path, &read, &[]);
    let Some(mut plan) = compiled.plan.clone() else {
        let errors: Vec<String> = compiled
            .diagnostics()
            .filter(|diagnostic| diagnostic.is_error())
            .map(|diagnostic| diagnostic.message.clone())
            .collect();
        return Err(format!("not lowered: {}", errors.join("; ")));
    };
    // act's environment: `ACT` is set, and its tests run as the repository nektos/act.
    plan.env.insert(0, ("ACT".into(), "true".into()));
    let options = RunOptions {
        work_dir: temp.path().join("work"),
        source_dir: root.clone(),
        kill_grace: Duration::from_millis(300),
        max_parallel: 2,
        pipeline_name: workflow_dir.to_owned(),
        // act runs the `push` event.
        variables: vec![("Build.Reason".into(), "IndividualCI".into())],
        repository: slipway_driver::RepositoryInfo {
            name: "nektos/act".into(),
            branch: "refs/heads/master".into(),
            commit: "0000000000000000000000000000000000000000".into(),
            author: "nektos/act".into(),
            ..slipway_driver::RepositoryInfo::default()
        },
        ..RunOptions::default()
    };
    let sink = Arc::new(Collect::default());
    let report = execute(Arc::new(plan), &options, Arc::new(LocalExecutor), sink.clone(), &CancelToken::new())
        .map_err(|error| format!("could not start: {error}"))?;
    let events = sink.0.lock().map(|events| events.clone()).unwrap_or_default();
    let failed = !report.result.is_success();
    let errors: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            Event::Issue { severity: Severity::Error, message, job, .. } => {
                Some(format!("{}: {message}", job.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    match (expected_error.is_empty(), failed) {
        (true, false) | (false, true) => Ok(()),
        (true, true) => Err(format!("failed: {}", errors.into_iter().take(3).collect::<Vec<_>>().join(" | "))),
        (false, false) => Err(format!("succeeded where act expects the error '{expected_error}'")),
    }
}

#[test]
fn act_host_environment_rows_run_as_act_expects() {
    let table = std::fs::read_to_string(fixtures().join("runner-test-expectations.tsv"))
        .unwrap_or_else(|error| panic!("the expectations: {error}"));
    let mut passed = 0;
    let mut total = 0;
    let mut report = Vec::new();
    for line in table.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (Some(function), Some(dir)) = (columns.first(), columns.get(1)) else { continue };
        if *function != "TestRunEventHostEnvironment" {
            continue;
        }
        let dir = dir.trim_start_matches("pkg/runner/testdata/");
        if let Some((_, why)) = NOT_RUN.iter().find(|(name, _)| *name == dir) {
            report.push(format!("  not run  {dir}: {why}"));
            continue;
        }
        total += 1;
        let expected = columns.get(3).copied().unwrap_or_default();
        match run_row(dir, expected) {
            Ok(()) => passed += 1,
            Err(why) => report.push(format!("  FAIL     {dir}: {why}")),
        }
    }
    println!("act conformance (TestRunEventHostEnvironment, no network, not Windows-only): {passed}/{total} rows pass");
    for line in &report {
        println!("{line}");
    }
    assert!(
        passed >= PASSING,
        "{passed} rows pass, fewer than the {PASSING} that passed before:\n{}",
        report.join("\n")
    );
}
