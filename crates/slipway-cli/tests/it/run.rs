//! `slipway run` driven through the real binary over the fixture pipelines in `it/fixtures/run/`.

use std::io::{BufRead, BufReader};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Scratch, processes_with, wait_processes_gone};

/// Processes whose command line holds `marker`.
fn transcript_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b\d+(\.\d+)?(ms|s)\b", "[time]"),
        (r"\d+m\d\ds", "[time]"),
        (r"\$ \S*bash --noprofile --norc \S+", "$ bash --noprofile --norc [script]"),
        (r"Run \d+ of \S+: \S+", "Run [id] of [pipeline]: [number]"),
        (r"Run \d{8}\.\d+ ", "Run [number] "),
        (r"in place: \S+", "in place: [repo]"),
    ]
}

#[test]
fn conditions_after_failures_transcript() {
    let scratch = Scratch::run_fixture("conditions.yml");
    let out = scratch.run(&["--jobs", "1"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    insta::with_settings!({ filters => transcript_filters() }, {
        insta::assert_snapshot!("conditions", out.stdout);
    });
}

#[test]
fn conditions_after_failures() {
    let out = Scratch::run_fixture("conditions.yml").run(&[]);
    assert_eq!(out.code, Some(1));
    out.expect(&[
        "status=SucceededWithIssues",
        "failure handler status=Failed",
        "[Build.Compile] cleanup",
        "- Skipped by default skipped: an earlier step failed",
        "[Build.AfterCompile] - Job skipped: a dependency did not succeed",
        "reporting failure",
        "── Stage Deploy skipped",
        "notified",
        "! Job Flaky (Build.Flaky) SucceededWithIssues",
        "failed at Build.Compile › Breaks",
    ]);
    out.refuse(&["never", "] disabled\n"]);
}

#[test]
fn variables_macros_secrets_and_masking() {
    let scratch = Scratch::run_fixture("variables.yml");
    let out =
        scratch.run(&["--var", "queued=from-cli", "--var", "where=ignored", "--secret", "token=sup3r-s3cret-value"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.expect(&[
        "where=job env=job combined=vanilla-job queued=from-cli",
        "unknown=$(not.defined)",
        "mapped=*** direct=unset",
        "the token is ***",
        "matches=yes",
        "dirs-exist",
        "reason=Manual os=Linux job=Show",
        "variable 'locked' is read-only",
        "locked=original fresh=*** env=unset",
        "overridden by the pipeline's own variable",
    ]);
    // The run number uses the pipeline's variables and a revision.
    assert!(out.stdout.lines().any(|l| l.contains("number=20") && l.contains(".1-vanilla")), "{}", out.stdout);
    // No secret, raw or base64, leaves the run.
    let base64 = "c3VwM3ItczNjcmV0LXZhbHVl";
    for secret in ["sup3r-s3cret-value", base64, "fresh-secret-value", "another-one"] {
        assert!(!out.stdout.contains(secret), "{secret} leaked:\n{}", out.stdout);
    }
    let json = scratch.run(&["--format", "json", "--secret", "token=sup3r-s3cret-value"]);
    for secret in ["sup3r-s3cret-value", base64, "fresh-secret-value", "another-one"] {
        assert!(!json.stdout.contains(secret), "{secret} leaked in JSON");
    }
}

#[test]
fn output_variables_across_jobs_legs_deployments_and_stages() {
    let out = Scratch::run_fixture("outputs.yml").run(&[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.expect(&[
        "same job sees 1.2.3",
        "version=1.2.3 linux=built-linux url=https://staging",
        "cross-stage version=1.2.3 mac=built-mac",
        "Job Release → environment staging",
    ]);
}

#[test]
fn retries_fail_on_stderr_and_task_complete() {
    let out = Scratch::run_fixture("retries.yml").run(&[]);
    assert_eq!(out.code, Some(0), "SucceededWithIssues exits 0: {out:?}");
    out.expect(&[
        "attempt 1",
        "attempt 3",
        "Retrying the step, attempt 2 of 5",
        "✓ Third time lucky Succeeded [time], 3 attempts".split(" [time]").next().unwrap_or_default(),
        "Bash wrote one or more lines to the standard error stream.",
        "! Partly SucceededWithIssues",
        "SucceededWithIssues in",
    ]);
    out.refuse(&["attempt 4"]);
}

#[test]
fn timeouts_stop_steps_and_jobs_and_leave_nothing_running() {
    let started = Instant::now();
    let out = Scratch::run_fixture("timeout.yml").run_env(&[], &[("SLIPWAY_TEST_MINUTE_MS", "400")]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.code, Some(1), "{out:?}");
    out.expect(&[
        "The task has timed out.",
        "after timeout status=Failed",
        "ran longer than the maximum time of 2 minutes",
        "cleanup after job timeout",
        "Job JobTimeout Canceled",
    ]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(processes_with("slipway-timeout-marker"), 0, "processes left running");
}

#[test]
fn ctrl_c_cancels_runs_cleanup_and_leaves_nothing_running() {
    let scratch = Scratch::run_fixture("cancel.yml");
    let mut child = scratch.command(&[]).stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut reader = BufReader::new(stdout);
    let mut seen = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        seen.push_str(&line);
        if line.contains("started") {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("started"), "{seen}");
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().map(|s| s.success());
    assert_eq!(killed.ok(), Some(true));
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
    seen.push_str(&rest);
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(130), "{seen}");
    for text in [
        "Cancelling the run",
        "cleanup status=Canceled",
        "saw the cancel",
        "- Next skipped",
        "Runs for a minute Canceled",
    ] {
        assert!(seen.contains(text), "missing {text:?} in {seen}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(processes_with("slipway-cancel-marker"), 0, "processes left running");
}

#[test]
fn deployment_hooks_in_azure_order() {
    let out = Scratch::run_fixture("deployment.yml").run(&["--jobs", "1"]);
    assert_eq!(out.code, Some(1));
    let canary: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("[Canary] "))
        .filter(|line| {
            !line.starts_with(['▸', '$', '✓']) && !line.starts_with("Lifecycle") && !line.starts_with("Job ")
        })
        .collect();
    assert_eq!(
        canary,
        [
            "preDeploy 10",
            "deploy canary deploy 10 to production",
            "routeTraffic 10",
            "postRouteTraffic 10",
            "preDeploy 50",
            "deploy canary deploy 50 to production",
            "routeTraffic 50",
            "postRouteTraffic 50",
            "preDeploy 100",
            "deploy canary promote 100 to production",
            "routeTraffic 100",
            "postRouteTraffic 100",
            "on success promote",
        ]
    );
    out.expect(&["rolling back reject", "Job Canary → environment production"]);
    out.refuse(&["never", "on failure\n"]);
}

#[test]
fn artifacts_tags_build_numbers_and_isolated_checkout() {
    let scratch = Scratch::run_fixture("artifacts.yml");
    let out = scratch.run(&[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.expect(&[
        "input from the repository",
        "published artifact 'drop' (1 files",
        "payload from Build",
        "number=1.0.",
        "Tags: nightly",
        "Attached summary:",
    ]);
    assert!(scratch.repo().join("created-in-source.txt").exists(), "checkout self runs in place by default");
    std::fs::remove_file(scratch.repo().join("created-in-source.txt")).unwrap_or_else(|e| panic!("{e}"));
    let isolated = scratch.run(&["--isolated"]);
    assert_eq!(isolated.code, Some(0), "{isolated:?}");
    isolated.expect(&["input from the repository", "Copied"]);
    assert!(!scratch.repo().join("created-in-source.txt").exists(), "--isolated must not touch the working tree");
}

#[test]
fn stage_and_job_selection_include_dependencies() {
    let scratch = Scratch::run_fixture("selection.yml");
    let out = scratch.run(&["--job", "Two.Second"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.expect(&["ran One.Setup", "ran One.Other", "ran Two.First", "ran Two.Second"]);
    out.refuse(&["ran Two.Unrelated", "ran Three.Alone"]);
    let out = scratch.run(&["--stage", "Three"]);
    out.expect(&["ran Three.Alone"]);
    out.refuse(&["ran One", "ran Two"]);
    let out = scratch.run(&["--stage", "Nope"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("no stage named 'Nope'"), "{}", out.stderr);
}

#[test]
fn matrix_parallel_and_max_parallel() {
    let out = Scratch::run_fixture("parallel.yml").run(&["--jobs", "4"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    out.expect(&[
        "leg A position 1 of 3",
        "leg B position 2 of 3",
        "leg C position 3 of 3",
        "slice 1 of 2",
        "slice 2 of 2",
    ]);
    // maxParallel: 1 runs the legs one after the other.
    let order: Vec<&str> = out
        .stdout
        .lines()
        .filter(|line| line.starts_with("[Matrix.") && (line.contains("Job Matrix") || line.contains("✓ Job")))
        .collect();
    assert_eq!(order.len(), 6, "{order:?}");
    for pair in order.chunks(2) {
        assert_eq!(pair[0].split(']').next(), pair[1].split(']').next(), "legs overlapped: {order:?}");
    }
}

#[test]
fn json_format_streams_the_event_model() {
    let out = Scratch::run_fixture("outputs.yml").run(&["--format", "json"]);
    assert_eq!(out.code, Some(0));
    let events: Vec<serde_json::Value> =
        out.stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect();
    let kinds: Vec<&str> = events.iter().filter_map(|event| event["event"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"runStarted"));
    assert_eq!(kinds.last(), Some(&"runFinished"));
    for kind in [
        "stageStarted",
        "stageFinished",
        "jobStarted",
        "jobFinished",
        "stepStarted",
        "stepFinished",
        "log",
        "variableSet",
    ] {
        assert!(kinds.contains(&kind), "no {kind} event");
    }
    assert!(
        events.iter().any(|event| event["event"] == "variableSet"
            && event["name"] == "setver.version"
            && event["output"] == true)
    );
    assert_eq!(events.last().map(|event| event["result"].clone()), Some(serde_json::json!("Succeeded")));
}

#[test]
fn shells_and_missing_powershell() {
    let out = Scratch::run_fixture("shells.yml").run(&[]);
    out.expect(&["bash says"]);
    let has_pwsh =
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("pwsh").is_file()));
    if has_pwsh {
        out.expect(&["pwsh says hi"]);
    } else {
        assert_eq!(out.code, Some(1));
        out.expect(&["PowerShell steps need `pwsh`"]);
    }
}

#[test]
fn invalid_pipelines_and_bad_arguments_exit_2() {
    let scratch = Scratch::run_fixture("invalid.yml");
    let out = scratch.run(&[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("error"), "{}", out.stderr);
    assert_eq!(scratch.run(&["--jobs", "0"]).code, Some(2));
    assert_eq!(scratch.run(&["--var", "novalue"]).code, Some(2));
    assert_eq!(scratch.run(&["missing.yml"]).code, Some(2));
}

#[test]
fn counters_grow_once_per_run_and_restart_for_a_new_prefix() {
    let scratch = Scratch::run_fixture("counter.yml");
    scratch.run(&[]).expect(&["version 1.0.100"]);
    scratch.run(&[]).expect(&["version 1.0.101"]);
    scratch.run(&["--param", "major=2"]).expect(&["version 2.0.100"]);
    scratch.run(&[]).expect(&["version 1.0.102"]);
}

/// The secret `masking.yml` prints, and its quoted sibling.
pub const MASKING_SECRET: &str = "ab<c&d\"e'f/g";
const QUOTED_SECRET: &str = "\"innerpart\"";

/// Every form of the secret that must not be shown (issue 10): raw, percent-encoded in both
/// cases, HTML/XML-escaped, expression-escaped, the inner value of a quoted secret, and any piece
/// of the secret left over where a long line was cut.
fn assert_masked(text: &str) {
    for leaked in [
        MASKING_SECRET,
        "ab%3cc%26d%22e%27f%2fg",
        "ab%3Cc%26d%22e%27f%2Fg",
        "ab%3Cc%26d%22e%27f/g",
        "ab&lt;c&amp;d&quot;e&#x27;f/g",
        "ab&lt;c&amp;d&quot;e&apos;f/g",
        "ab<c&d\"e''f/g",
        "innerpart",
    ] {
        assert!(!text.contains(leaked), "{leaked} leaked");
    }
    let long: String = text.lines().filter(|line| line.contains("***-***")).collect();
    assert!(long.len() > 24000 * 4, "the long line is missing");
    let left = long.replace("***", "").replace('-', "").replace("long:", "").replace("[Job]", "").replace(' ', "");
    assert!(left.is_empty(), "pieces of the secret were shown where the long line was cut: {left:.200}");
    assert!(text.contains("*** <- halves"), "the secret written in two halves");
}

#[test]
fn secrets_are_masked_in_every_form_azure_masks() {
    let scratch = Scratch::run_fixture("masking.yml");
    let secrets = [format!("mySecret={MASKING_SECRET}"), format!("quotedSecret={QUOTED_SECRET}")];
    let out = scratch.run(&["--secret", &secrets[0], "--secret", &secrets[1]]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_masked(&out.stdout);
    let json = scratch.run(&["--format", "json", "--secret", &secrets[0], "--secret", &secrets[1]]);
    assert_eq!(json.code, Some(0));
    let texts: String = json
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event["text"].as_str().map(|text| format!("{text}\n")))
        .collect();
    assert_masked(&texts);
}

/// Run numbers and `counter()` values are counted per pipeline file, as the server counts them
/// per pipeline (issue 11): a new pipeline run in the same work directory starts at 1.
#[test]
fn revisions_and_counters_are_per_pipeline_file() {
    let pipeline = "name: $(Rev:r)\nvariables:\n  c: $[counter('x', 10)]\nsteps:\n- script: echo counter $(c)\n";
    let scratch = Scratch::new(&crate::support::workspace().join("examples/azure-pipelines.yml"));
    scratch.write("first.yml", pipeline);
    scratch.write("second.yml", pipeline);
    let number = |file: &str| {
        let out = scratch.run(&[file]);
        assert_eq!(out.code, Some(0), "{out:?}");
        let counter = out.stdout.lines().find_map(|line| line.split("counter ").nth(1)).unwrap_or_default().to_owned();
        let run = out.stdout.lines().find_map(|line| line.strip_prefix("Run ")).unwrap_or_default().to_owned();
        (run.split(": ").nth(1).unwrap_or_default().to_owned(), counter)
    };
    assert_eq!(number("first.yml"), ("1".to_owned(), "10".to_owned()));
    assert_eq!(number("first.yml"), ("2".to_owned(), "11".to_owned()));
    assert_eq!(number("second.yml"), ("1".to_owned(), "10".to_owned()), "another pipeline counts on its own");
    assert_eq!(number("first.yml"), ("3".to_owned(), "12".to_owned()));
}

/// A step dies with the `slipway run` that runs it, even when it is killed with SIGKILL and has no
/// chance to stop it (issue 10): nothing of the step, nor what it started, goes on alone.
#[test]
fn a_killed_run_takes_its_steps_with_it() {
    let scratch = Scratch::run_fixture("cancel.yml");
    let marker = format!("slipway-orphan-{}", std::process::id());
    scratch.write(
        "azure-pipelines.yml",
        &format!(
            "steps:\n- checkout: none\n- script: |\n    (exec -a {marker}-child sleep 300) &\n    echo started\n    exec -a {marker} sleep 300\n"
        ),
    );
    let mut child = scratch.command(&[]).stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("started") {
        line.clear();
    }
    assert!(line.contains("started"), "the step did not start");
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_with(&marker) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_with(&marker), 2, "the step and its child run");
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();
    assert_eq!(wait_processes_gone(&marker), 0, "the step outlived slipway run");
}
