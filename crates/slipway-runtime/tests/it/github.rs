//! GitHub Actions jobs end to end: plans shaped as the workflow lowering makes them, run with
//! real processes.

use crate::Collect;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use slipway_driver::RepositoryInfo;
use slipway_events::{Event, LogKind, Severity, TaskResult};
use slipway_plan::{
    Action, Condition, Deployment, DeploymentStrategy, Dialect, Environment, GithubExpression, Hook, HookKind, Job,
    JobKind, Leg, Plan, Stage, Step,
};
use slipway_runtime::{CancelToken, LocalExecutor, RunOptions, execute};

fn github_if(text: &str) -> Option<Condition> {
    let expression = GithubExpression::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
    Some(Condition { source: text.to_owned(), expression: expression.into(), span: None })
}

/// A `run:` step with GitHub's default shell on Linux.
fn run(script: &str) -> Step {
    shell("bash", "bash -e {0}", script)
}

fn shell(shell: &str, command: &str, script: &str) -> Step {
    Step::new(Action::Run { shell: shell.into(), command: command.into(), script: script.into() })
}

fn uses(action: &str, with: &[(&str, &str)]) -> Step {
    Step::new(Action::Uses {
        action: action.into(),
        with: with.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
    })
}

fn id(id: &str, step: Step) -> Step {
    Step { name: Some(id.into()), ..step }
}

fn titled(title: &str, step: Step) -> Step {
    Step { display_name: Some(title.into()), ..step }
}

fn job(name: &str, needs: &[&str], steps: Vec<Step>) -> Job {
    Job {
        depends_on: needs.iter().map(|&need| need.to_owned()).collect(),
        timeout_minutes: Some(360),
        ..Job::new(name, steps)
    }
}

fn plan(jobs: Vec<Job>) -> Plan {
    Plan::new(Dialect::GithubActions, vec![Stage::new("__default", jobs)])
}

/// An issue as the tests look at it: severity, message, file, line, column.
type IssueSeen = (Severity, String, Option<String>, Option<u32>, Option<u32>);

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

    fn has_line(&self, line: &str) -> bool {
        self.output().iter().any(|l| l == line)
    }

    fn logs(&self, wanted: LogKind) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Log { text, kind, .. } if *kind == wanted => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn step(&self, display: &str) -> Option<TaskResult> {
        self.events.iter().find_map(|event| match event {
            Event::StepFinished { display_name, result, .. } if display_name == display => Some(*result),
            _ => None,
        })
    }

    fn issues(&self) -> Vec<IssueSeen> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Issue { severity, message, source_path, line, column, .. } => {
                    Some((*severity, message.clone(), source_path.clone(), *line, *column))
                }
                _ => None,
            })
            .collect()
    }

    fn has_issue(&self, text: &str) -> bool {
        self.issues().iter().any(|(_, message, ..)| message.contains(text))
    }
}

fn options(dir: &Path) -> RunOptions {
    RunOptions {
        work_dir: dir.join("work"),
        source_dir: dir.join("repo"),
        kill_grace: Duration::from_millis(300),
        max_parallel: 2,
        repository: RepositoryInfo {
            name: "octo/app".into(),
            branch: "refs/heads/main".into(),
            commit: "0123456789abcdef".into(),
            author: "ada".into(),
            ..RepositoryInfo::default()
        },
        ..RunOptions::default()
    }
}

fn run_in(dir: &Path, plan: Plan, configure: impl FnOnce(&mut RunOptions)) -> Run {
    run_cancellable(dir, plan, configure, &CancelToken::new())
}

fn run_cancellable(dir: &Path, plan: Plan, configure: impl FnOnce(&mut RunOptions), cancel: &CancelToken) -> Run {
    let mut options = options(dir);
    std::fs::create_dir_all(&options.source_dir).unwrap_or_else(|e| panic!("{e}"));
    configure(&mut options);
    let sink = Arc::new(Collect::default());
    let report = execute(Arc::new(plan), &options, Arc::new(LocalExecutor), sink.clone(), cancel)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = sink.0.lock().map(|events| events.clone()).unwrap_or_default();
    Run { result: report.result, events }
}

fn run_plan(plan: Plan) -> Run {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    run_in(dir.path(), plan, |_| {})
}

#[test]
fn contexts_env_precedence_and_default_variables() {
    let mut build = job(
        "build",
        &[],
        vec![titled(
            "Show ${{ matrix.os }}",
            Step {
                env: vec![
                    ("LEVEL".into(), "step".into()),
                    ("FROM_STEP".into(), "${{ env.JOB_ONLY }}-${{ runner.os }}".into()),
                    ("GITHUB_SHA".into(), "overwritten".into()),
                ],
                ..run(concat!(
                    "echo \"level=$LEVEL workflow=$WORKFLOW_ONLY job=$JOB_ONLY step=$FROM_STEP\"\n",
                    "echo \"repo=${{ github.repository }} ref=${{ github.ref_name }} job=${{ github.job }} event=${{ github.event_name }}\"\n",
                    "echo \"matrix=${{ matrix.os }}/${{ matrix.n }} index=${{ strategy.job-index }} total=${{ strategy.job-total }} fail-fast=${{ strategy.fail-fast }}\"\n",
                    "echo \"vars=${{ vars.GREETING }} secret=${{ secrets.TOKEN }} input=${{ inputs.who }} status=${{ job.status }}\"\n",
                    "echo \"ci=$CI actions=$GITHUB_ACTIONS os=$RUNNER_OS sha=$GITHUB_SHA repo=$GITHUB_REPOSITORY job=$GITHUB_JOB action=$GITHUB_ACTION\"\n",
                    "echo \"azure=${BUILD_BUILDNUMBER:-none}${SYSTEM_JOBNAME:-none}${AGENT_JOBSTATUS:-none}\"\n",
                    "test -d \"$RUNNER_TEMP\" && test -f \"$GITHUB_EVENT_PATH\" && test \"$GITHUB_WORKSPACE\" = \"$PWD\" && echo dirs-ok\n",
                    "echo \"runner=${{ runner.environment }} arch-set=${{ runner.arch != '' }}\"\n",
                    "echo \"event-input=${{ github.event.inputs.who }} sender=${{ github.event.sender.login }} repository=${{ github.event.repository.full_name }}\"\n",
                    "grep -q '\"who\": \"ada\"' \"$GITHUB_EVENT_PATH\" && echo event-file-ok",
                ))
            },
        )],
    );
    build.steps.push(run("echo ${{ matrix.os }} done\necho second line"));
    build.env = vec![
        ("LEVEL".into(), "job".into()),
        ("JOB_ONLY".into(), "${{ github.event_name }}-${{ matrix.os }}".into()),
        ("WORKFLOW_ONLY".into(), "job-overrides".into()),
    ];
    build.fail_fast = true;
    build.legs = ["linux", "mac"]
        .iter()
        .enumerate()
        .map(|(index, os)| Leg {
            name: Some((*os).to_owned()),
            matrix: Some(serde_json::json!({ "os": os, "n": index + 1 })),
            ..Leg::single()
        })
        .collect();
    let mut p = plan(vec![build]);
    p.env = vec![("LEVEL".into(), "workflow".into()), ("WORKFLOW_ONLY".into(), "${{ github.repository }}".into())];
    p.parameters = vec![slipway_plan::ParameterValue { name: "who".into(), value: serde_json::json!("ada") }];
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_in(dir.path(), p, |options| {
        options.variables = vec![("GREETING".into(), "hello".into())];
        options.secrets = vec![("TOKEN".into(), "s3cr3t-value".into())];
        options.max_parallel = 1;
    });
    assert_eq!(r.result, TaskResult::Succeeded, "{:#?}", r.output());
    assert!(
        r.has_line("level=step workflow=job-overrides job=workflow_dispatch-linux step=workflow_dispatch-linux-Linux"),
        "{:#?}",
        r.output()
    );
    assert!(r.has_line("repo=octo/app ref=main job=build event=workflow_dispatch"), "{:#?}", r.output());
    assert!(r.has_line("matrix=linux/1 index=0 total=2 fail-fast=true"), "{:#?}", r.output());
    assert!(r.has_line("matrix=mac/2 index=1 total=2 fail-fast=true"), "{:#?}", r.output());
    assert!(r.has_line("vars=hello secret=*** input=ada status=success"), "{:#?}", r.output());
    assert!(
        r.has_line("ci=true actions=true os=Linux sha=0123456789abcdef repo=octo/app job=build action=__run"),
        "GITHUB_* cannot be overwritten: {:#?}",
        r.output()
    );
    assert!(r.has_line("azure=nonenonenone"), "no Azure variables: {:#?}", r.output());
    assert!(r.has_line("dirs-ok"), "{:#?}", r.output());
    assert!(r.has_line("runner=self-hosted arch-set=true"), "{:#?}", r.output());
    // No trigger: a dispatch by hand, its payload with the inputs (typed) and who asked.
    assert!(r.has_line("event-input=ada sender=ada repository=octo/app"), "{:#?}", r.output());
    assert!(r.has_line("event-file-ok"), "{:#?}", r.output());
    assert_eq!(r.step("Show linux"), Some(TaskResult::Succeeded), "the display name is evaluated");
    assert_eq!(r.step("Show mac"), Some(TaskResult::Succeeded));
    assert_eq!(r.step("Run echo mac done"), Some(TaskResult::Succeeded), "a script's first line, evaluated");
}

#[test]
fn shells_run_their_command_lines_in_the_working_directory() {
    let steps = vec![
        titled("default", run("false | true\necho default-has-no-pipefail")),
        titled("pipefail", shell("bash", "bash --noprofile --norc -eo pipefail {0}", "false | true\necho not-reached")),
        titled("sh", shell("sh", "sh -e {0}", "echo \"sh in $(basename \"$PWD\") file=${0##*.}\"")),
        titled(
            "custom",
            Step {
                working_directory: Some("sub".into()),
                ..shell("bash {0} extra", "bash {0} extra", "echo \"custom $1 in $(basename \"$PWD\")\"")
            },
        ),
        titled("missing dir", Step { working_directory: Some("nope".into()), ..run("echo x") }),
        titled("missing shell", shell("nosuchshell", "nosuchshell {0}", "echo x")),
    ];
    let mut prepare = vec![titled("prepare", run("mkdir -p sub"))];
    prepare.extend(steps.into_iter().map(|step| Step { condition: github_if("always()"), ..step }));
    let r = run_plan(plan(vec![job("shells", &[], prepare)]));
    assert!(r.has_line("default-has-no-pipefail"), "{:#?}", r.output());
    assert_eq!(r.step("default"), Some(TaskResult::Succeeded));
    assert_eq!(r.step("pipefail"), Some(TaskResult::Failed));
    assert!(!r.has_line("not-reached"));
    assert!(r.has_issue("Process completed with exit code 1."));
    assert!(r.output().iter().any(|line| line.starts_with("sh in s file=sh")), "{:#?}", r.output());
    assert!(r.has_line("custom extra in sub"), "{:#?}", r.output());
    assert_eq!(r.step("missing dir"), Some(TaskResult::Failed));
    assert!(r.has_issue("the working directory"), "{:#?}", r.issues());
    assert!(r.has_issue("the shell 'nosuchshell' of this step (`nosuchshell {0}`) was not found on PATH"));
    assert_eq!(r.result, TaskResult::Failed);
}

#[test]
fn environment_files_set_outputs_env_and_path_per_step() {
    let steps = vec![
        id(
            "produce",
            run(concat!(
                "echo \"plain=one\" >> \"$GITHUB_OUTPUT\"\n",
                "{ echo 'multi<<EOF'; echo 'line 1'; echo 'line 2'; echo 'EOF'; } >> \"$GITHUB_OUTPUT\"\n",
                "echo 'FROM_FILE=set-by-step' >> \"$GITHUB_ENV\"\n",
                "echo 'OVERRIDDEN=by-file' >> \"$GITHUB_ENV\"\n",
                "mkdir -p \"$RUNNER_TEMP/bin\" && printf '#!/bin/sh\\necho tool-ran\\n' > \"$RUNNER_TEMP/bin/mytool\" && chmod +x \"$RUNNER_TEMP/bin/mytool\"\n",
                "echo \"$RUNNER_TEMP/bin\" >> \"$GITHUB_PATH\"\n",
                "echo '# Summary' >> \"$GITHUB_STEP_SUMMARY\"",
            )),
        ),
        titled(
            "consume",
            Step {
                env: vec![("OVERRIDDEN".into(), "by-step".into())],
                ..run(concat!(
                    "echo \"plain=${{ steps.produce.outputs.plain }} from-file=$FROM_FILE overridden=$OVERRIDDEN ctx=${{ env.FROM_FILE }}\"\n",
                    "echo 'multi=${{ toJSON(steps.produce.outputs.multi) }}'\n",
                    "mytool\n",
                    "echo \"fresh=$(wc -c < \"$GITHUB_OUTPUT\")\"",
                ))
            },
        ),
        titled("unterminated", run("echo 'bad<<END' >> \"$GITHUB_OUTPUT\"; echo 'value' >> \"$GITHUB_OUTPUT\"")),
    ];
    let r = run_plan(plan(vec![job("files", &[], steps)]));
    assert!(r.has_line("plain=one from-file=set-by-step overridden=by-step ctx=set-by-step"), "{:#?}", r.output());
    assert!(r.has_line("multi=\"line 1\\nline 2\""), "{:#?}", r.output());
    assert!(r.has_line("tool-ran"), "{:#?}", r.output());
    assert!(r.has_line("fresh=0"), "each step gets a fresh GITHUB_OUTPUT: {:#?}", r.output());
    assert_eq!(r.step("unterminated"), Some(TaskResult::Failed));
    assert!(r.has_issue("Unable to process file command 'output' successfully."));
    assert!(r.has_issue("Invalid value. Matching delimiter not found 'END'"), "{:#?}", r.issues());
    let summary = r.events.iter().find_map(|event| match event {
        Event::FileAttached { kind, path, .. } if kind == "summary" => Some(path.clone()),
        _ => None,
    });
    let summary = summary.unwrap_or_else(|| panic!("no summary attached"));
    assert!(summary.ends_with("step-1.md"), "{summary}");
}

#[test]
fn workflow_commands_become_events() {
    let steps = vec![titled(
        "commands",
        run(concat!(
            "echo '::add-mask::hunter2'\n",
            "echo 'the password is hunter2'\n",
            "echo '::group::My group'\n",
            "echo inside\n",
            "echo '::endgroup::'\n",
            "echo '::error file=src/app.rs,line=3,col=7,endLine=4,title=Broken::Missing semicolon'\n",
            "echo '::warning::Careful%0Anow'\n",
            "echo '::notice file=README.md::Read me'\n",
            "echo '::debug::hidden unless debugging'\n",
            "echo '::stop-commands::pause-token'\n",
            "echo '::warning::not a warning'\n",
            "echo '::pause-token::'\n",
            "echo '::warning::a warning again'\n",
            "echo '::unknown-command::plain text'\n",
            "echo '::set-output name=legacy::old-style'",
        )),
    )];
    let refused = titled("set-env", run("echo '::set-env name=X::y'"));
    let after = titled(
        "after",
        Step { condition: github_if("always()"), ..run("echo \"legacy=${{ steps.c.outputs.legacy }}\"") },
    );
    let mut first = steps;
    first[0].name = Some("c".into());
    first.push(refused);
    first.push(after);
    let r = run_plan(plan(vec![job("commands", &[], first)]));
    assert!(r.has_line("the password is ***"), "{:#?}", r.output());
    assert!(!r.output().iter().any(|line| line.contains("hunter2")));
    assert_eq!(r.logs(LogKind::Group), ["My group"]);
    assert_eq!(r.logs(LogKind::EndGroup).len(), 1);
    assert!(r.has_line("inside"));
    let issues = r.issues();
    assert!(
        issues.contains(&(
            Severity::Error,
            "Broken: Missing semicolon".into(),
            Some("src/app.rs".into()),
            Some(3),
            Some(7)
        )),
        "{issues:#?}"
    );
    assert!(issues.iter().any(|(severity, message, ..)| *severity == Severity::Warning && message == "Careful\nnow"));
    assert!(r.has_line("Notice: README.md: Read me"), "{:#?}", r.output());
    assert!(r.logs(LogKind::Debug).is_empty(), "debug messages need ACTIONS_STEP_DEBUG");
    assert!(r.has_line("::warning::not a warning"), "{:#?}", r.output());
    assert!(!issues.iter().any(|(_, message, ..)| message == "not a warning"));
    assert!(issues.iter().any(|(_, message, ..)| message == "a warning again"));
    assert!(r.has_line("::unknown-command::plain text"));
    assert!(r.logs(LogKind::Warning).iter().any(|text| text.starts_with("The `set-output` command is deprecated")));
    assert_eq!(r.step("commands"), Some(TaskResult::Succeeded));
    assert_eq!(r.step("set-env"), Some(TaskResult::Failed));
    assert!(r.has_issue("The `set-env` command is disabled."), "{issues:#?}");
    assert!(r.has_line("legacy=old-style"), "{:#?}", r.output());
}

#[test]
fn debug_messages_show_with_actions_step_debug() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_in(dir.path(), plan(vec![job("debug", &[], vec![run("echo '::debug::now you see me'")])]), |options| {
        options.variables = vec![("ACTIONS_STEP_DEBUG".into(), "true".into())];
    });
    assert_eq!(r.logs(LogKind::Debug), ["now you see me"]);
}

#[test]
fn if_status_functions_and_continue_on_error() {
    let steps = vec![
        id("soft", titled("soft", Step { continue_on_error: true, ..run("exit 3") })),
        titled("after soft", run("echo \"outcome=${{ steps.soft.outcome }} conclusion=${{ steps.soft.conclusion }}\"")),
        titled("skipped by if", Step { condition: github_if("github.event_name == 'push'"), ..run("echo no") }),
        id("hard", titled("hard", run("exit 1"))),
        titled("plain after failure", run("echo should-not-run")),
        titled(
            "on failure",
            Step {
                condition: github_if("failure()"),
                ..run("echo \"hard=${{ steps.hard.outcome }} job=${{ job.status }}\"")
            },
        ),
        titled("always", Step { condition: github_if("always()"), ..run("echo always-ran") }),
        titled("bad if", Step { condition: github_if("always() && fromJSON('{')"), ..run("echo x") }),
    ];
    let r = run_plan(plan(vec![job("ifs", &[], steps)]));
    assert_eq!(r.step("soft"), Some(TaskResult::SucceededWithIssues));
    assert!(r.has_line("outcome=failure conclusion=success"), "{:#?}", r.output());
    assert_eq!(r.step("skipped by if"), Some(TaskResult::Skipped));
    assert_eq!(r.step("hard"), Some(TaskResult::Failed));
    assert_eq!(r.step("plain after failure"), Some(TaskResult::Skipped));
    assert!(!r.has_line("should-not-run"));
    assert!(r.has_line("hard=failure job=failure"), "{:#?}", r.output());
    assert!(r.has_line("always-ran"));
    assert_eq!(r.step("bad if"), Some(TaskResult::Failed));
    assert!(r.has_issue("the step's `if` could not be evaluated"), "{:#?}", r.issues());
    assert_eq!(r.result, TaskResult::Failed);
}

#[test]
fn job_outputs_flow_to_needs_and_secrets_stay_out() {
    let mut producer = job(
        "producer",
        &[],
        vec![id(
            "s",
            run(
                "echo \"version=1.2.${{ strategy.job-total }}\" >> \"$GITHUB_OUTPUT\"; echo \"token=${{ secrets.TOKEN }}\" >> \"$GITHUB_OUTPUT\"",
            ),
        )],
    );
    producer.outputs = vec![
        ("version".into(), "v${{ steps.s.outputs.version }}".into()),
        ("leaked".into(), "${{ steps.s.outputs.token }}".into()),
    ];
    let consumer = job(
        "consumer",
        &["producer"],
        vec![run(
            "echo \"got=${{ needs.producer.outputs.version }} result=${{ needs.producer.result }} leaked=[${{ needs.producer.outputs.leaked }}]\"",
        )],
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_in(dir.path(), plan(vec![producer, consumer]), |options| {
        options.secrets = vec![("TOKEN".into(), "very-secret".into())];
    });
    assert_eq!(r.result, TaskResult::Succeeded, "{:#?}", r.output());
    assert!(r.has_line("got=v1.2.1 result=success leaked=[]"), "{:#?}", r.output());
    assert!(r.logs(LogKind::Warning).iter().any(|text| text == "Skip output 'leaked' since it may contain secret."));
}

#[test]
fn hash_files_checkout_and_artifacts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("deps")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(repo.join("deps/a.lock"), "alpha").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(repo.join("b.lock"), "beta").unwrap_or_else(|e| panic!("{e}"));
    let mut expected = Sha256::new();
    expected.update(Sha256::digest(b"beta"));
    expected.update(Sha256::digest(b"alpha"));
    let expected: String = expected.finalize().iter().map(|byte| format!("{byte:02x}")).collect();
    let upload = job(
        "upload",
        &[],
        vec![
            uses("actions/checkout@v4", &[("fetch-depth", "0")]),
            run(
                "echo \"hash=${{ hashFiles('**/*.lock') }} none=[${{ hashFiles('**/*.none') }}]\"\nmkdir -p out/sub && echo one > out/a.txt && echo two > out/sub/b.txt && echo skip > out/c.tmp",
            ),
            id(
                "up",
                uses(
                    "actions/upload-artifact@v4",
                    &[("name", "drop"), ("path", "out/\n!out/**/*.tmp"), ("retention-days", "3")],
                ),
            ),
            run("echo \"digest-set=${{ steps.up.outputs.artifact-digest != '' }}\""),
            titled(
                "nothing",
                uses(
                    "actions/upload-artifact@v3",
                    &[("name", "empty"), ("path", "nothing/*.x"), ("if-no-files-found", "error")],
                ),
            ),
        ],
    );
    let download = job(
        "download",
        &["upload"],
        vec![
            id("down", uses("actions/download-artifact@v4", &[("name", "drop"), ("path", "got")])),
            run(
                "cat got/a.txt got/sub/b.txt; test ! -e got/c.tmp && echo no-tmp; echo \"path=${{ steps.down.outputs.download-path }}\" | sed 's|/.*/got|.../got|'",
            ),
            titled("missing", uses("actions/download-artifact@v4", &[("name", "nope")])),
        ],
    );
    let mut download = download;
    download.condition = github_if("always()");
    let r = run_in(dir.path(), plan(vec![upload, download]), |_| {});
    assert!(r.has_line(&format!("hash={expected} none=[]")), "{:#?}", r.output());
    assert!(r.has_line("digest-set=true"), "{:#?}", r.output());
    assert!(r.output().iter().any(|line| line.contains("fetch-depth: 0")), "{:#?}", r.output());
    assert!(r.has_line("one") && r.has_line("two") && r.has_line("no-tmp"), "{:#?}", r.output());
    assert!(r.has_line("path=.../got"), "{:#?}", r.output());
    assert_eq!(r.step("nothing"), Some(TaskResult::Failed));
    assert!(r.has_issue("No files were found with the provided path: nothing/*.x. No artifacts will be uploaded."));
    assert_eq!(r.step("missing"), Some(TaskResult::Failed));
    assert!(r.has_issue("Unable to download artifact(s): Artifact not found for name: nope"), "{:#?}", r.issues());
}

#[test]
fn the_cache_is_saved_at_the_end_and_restored_by_a_later_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache_job = || {
        job(
            "cache",
            &[],
            vec![
                id(
                    "cache",
                    uses(
                        "actions/cache@v4",
                        &[
                            ("path", "deps-cache"),
                            ("key", "deps-${{ runner.os }}-1"),
                            ("restore-keys", "deps-${{ runner.os }}-"),
                        ],
                    ),
                ),
                run(
                    "echo \"hit=[${{ steps.cache.outputs.cache-hit }}]\"; mkdir -p deps-cache; cat deps-cache/f 2>/dev/null || echo built > deps-cache/f",
                ),
            ],
        )
    };
    let first = run_in(dir.path(), plan(vec![cache_job()]), |options| options.isolated = true);
    assert_eq!(first.result, TaskResult::Succeeded, "{:#?}", first.output());
    assert!(first.has_line("hit=[]"), "{:#?}", first.output());
    assert!(
        first.output().iter().any(|line| line.starts_with("Cache saved with key: deps-Linux-1")),
        "{:#?}",
        first.output()
    );
    let second = run_in(dir.path(), plan(vec![cache_job()]), |options| options.isolated = true);
    assert!(second.has_line("hit=[true]"), "{:#?}", second.output());
    assert!(second.has_line("built"), "the restored file: {:#?}", second.output());
    assert!(second.output().iter().any(|line| line == "Cache hit occurred on the primary key, not saving cache."));
}

#[test]
fn setup_actions_use_the_installed_tools() {
    let steps = vec![
        id("rust", uses("dtolnay/rust-toolchain@stable", &[])),
        run("echo \"toolchain=${{ steps.rust.outputs.name }}\"; rustc --version > /dev/null && echo rustc-on-path"),
        titled(
            "too old",
            Step { condition: github_if("always()"), ..uses("actions-rs/toolchain@v1", &[("toolchain", "1.0.0")]) },
        ),
    ];
    let r = run_plan(plan(vec![job("setup", &[], steps)]));
    assert!(r.has_line("toolchain=stable"), "{:#?}", r.output());
    assert!(r.has_line("rustc-on-path"));
    assert_eq!(r.step("too old"), Some(TaskResult::Failed));
    assert!(r.has_issue("asked for the Rust toolchain 1.0.0"), "{:#?}", r.issues());
}

#[test]
fn unknown_actions_docker_and_containers_fail_clearly() {
    let steps = vec![
        titled("unknown", uses("octo/not-built-in@v1", &[])),
        titled("docker", Step { condition: github_if("always()"), ..uses("docker://alpine:3", &[]) }),
        titled("local", Step { condition: github_if("always()"), ..uses("./missing-action", &[]) }),
    ];
    let mut containers = job("containers", &[], vec![run("echo never")]);
    containers.container = Some(serde_json::json!({ "image": "node:20" }));
    let r = run_plan(plan(vec![job("actions", &[], steps), containers]));
    assert!(r.has_issue("the action 'octo/not-built-in@v1' is not built in and no action store is configured"));
    assert!(r.has_issue("no container engine is available"), "{:#?}", r.issues());
    assert!(r.has_issue("the local action './missing-action' has no action.yml"));
    assert!(r.has_issue("the job 'containers' uses `container:`"), "{:#?}", r.issues());
    assert!(!r.has_line("never"));
    assert_eq!(r.result, TaskResult::Failed);
}

#[test]
fn deployment_jobs_run_their_steps_and_time_out_steps() {
    let mut deploy = job("deploy", &[], Vec::new());
    deploy.kind = JobKind::Deployment(Deployment {
        environment: Some(Environment { name: "prod".into(), resource_name: None, resource_type: None, tags: vec![] }),
        strategy: DeploymentStrategy::RunOnce,
        hooks: vec![Hook {
            kind: HookKind::Deploy,
            pool: None,
            steps: vec![
                run("echo deploying to prod"),
                titled("slow", Step { timeout_minutes: Some(1), ..run("sleep 5") }),
            ],
        }],
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_in(dir.path(), plan(vec![deploy]), |options| options.minute = Duration::from_millis(200));
    assert!(r.has_line("deploying to prod"), "{:#?}", r.output());
    assert_eq!(r.step("slow"), Some(TaskResult::Failed));
    assert!(r.has_issue("has timed out after 1 minutes"), "{:#?}", r.issues());
}

#[test]
fn local_composite_actions_scope_inputs_steps_env_and_status() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let action = dir.path().join("repo/.github/actions/greet");
    std::fs::create_dir_all(&action).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        action.join("action.yml"),
        r#"name: greet
inputs:
  who:
    required: true
  greeting:
    default: Hello ${{ github.repository }}
outputs:
  said:
    value: ${{ steps.say.outputs.text }}
  seen-env:
    value: ${{ env.FROM_USES }}
runs:
  using: composite
  steps:
    - id: say
      run: |
        echo "${{ inputs.greeting }}, ${{ inputs.who }} (env $FROM_USES, path set ${{ github.action_path != '' }})"
        echo "text=${{ inputs.greeting }} ${{ inputs.who }}" >> "$GITHUB_OUTPUT"
        echo "EXPORTED=from-composite" >> "$GITHUB_ENV"
        test -f "$GITHUB_ACTION_PATH/action.yml" && echo action-path-ok
      shell: bash
    - run: exit ${{ inputs.fail == 'yes' && '4' || '0' }}
      shell: sh
    - if: failure()
      run: echo "inner failure seen, outer steps [${{ toJSON(steps.outer) }}]"
      shell: bash
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let nested = dir.path().join("repo/.github/actions/noshell");
    std::fs::create_dir_all(&nested).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(nested.join("action.yml"), "runs:\n  using: composite\n  steps:\n    - run: echo x\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let steps = vec![
        uses("actions/checkout@v4", &[]),
        id("outer", run("echo outer")),
        id(
            "greet",
            Step {
                env: vec![("FROM_USES".into(), "uses-env".into())],
                ..uses("./.github/actions/greet", &[("who", "Mona")])
            },
        ),
        run(
            "echo \"said=${{ steps.greet.outputs.said }} seen=${{ steps.greet.outputs.seen-env }} exported=$EXPORTED leaked=[${FROM_USES:-}]\"",
        ),
        titled(
            "failing",
            Step {
                continue_on_error: true,
                ..id("failing", uses("./.github/actions/greet", &[("who", "Hubot"), ("fail", "yes")]))
            },
        ),
        run(
            "echo \"failing=${{ steps.failing.outcome }}/${{ steps.failing.conclusion }} said=${{ steps.failing.outputs.said }}\"",
        ),
        titled("no shell", uses("./.github/actions/noshell", &[])),
    ];
    let r = run_in(dir.path(), plan(vec![job("composite", &[], steps)]), |options| {
        options.repository.name = "octo/app".into();
    });
    assert!(r.has_line("Hello octo/app, Mona (env uses-env, path set true)"), "{:#?}", r.output());
    assert!(r.has_line("action-path-ok"), "{:#?}", r.output());
    assert!(
        r.has_line("said=Hello octo/app Mona seen=uses-env exported=from-composite leaked=[]"),
        "{:#?}",
        r.output()
    );
    assert!(r.has_line("inner failure seen, outer steps [null]"), "the action's own steps: {:#?}", r.output());
    assert!(r.has_line("failing=failure/success said=Hello octo/app Hubot"), "{:#?}", r.output());
    assert_eq!(r.step("failing"), Some(TaskResult::SucceededWithIssues));
    assert_eq!(r.step("no shell"), Some(TaskResult::Failed));
    assert!(r.has_issue("runs a script without `shell:`, which composite actions require"), "{:#?}", r.issues());
}

#[test]
fn setup_actions_check_versions_and_keep_the_package_manager_cache() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let home = dir.path().join("home");
    let setup_job = || {
        let mut j = job(
            "node",
            &[],
            vec![
                run(concat!(
                    "mkdir -p \"$RUNNER_TEMP/fake\" && printf '#!/bin/sh\\necho v18.19.0\\n' > \"$RUNNER_TEMP/fake/node\"\n",
                    "chmod +x \"$RUNNER_TEMP/fake/node\" && echo \"$RUNNER_TEMP/fake\" >> \"$GITHUB_PATH\"\n",
                    "echo '{\"lockfileVersion\": 3}' > package-lock.json",
                )),
                id("setup", uses("actions/setup-node@v4", &[("node-version", "18.x"), ("cache", "npm")])),
                run(concat!(
                    "echo \"node=${{ steps.setup.outputs.node-version }} hit=${{ steps.setup.outputs.cache-hit }}\"\n",
                    "cat ~/.npm/marker 2>/dev/null || { mkdir -p ~/.npm && echo cached-before > ~/.npm/marker; }",
                )),
                titled(
                    "wrong version",
                    Step { continue_on_error: true, ..uses("actions/setup-node@v4", &[("node-version", "20")]) },
                ),
                titled(
                    "unknown manager",
                    Step { continue_on_error: true, ..uses("actions/setup-node@v4", &[("cache", "bower")]) },
                ),
            ],
        );
        j.env = vec![("HOME".into(), home.display().to_string())];
        j
    };
    let first = run_in(dir.path(), plan(vec![setup_job()]), |_| {});
    assert!(first.has_line("node=v18.19.0 hit=false"), "{:#?}", first.output());
    assert_eq!(first.step("wrong version"), Some(TaskResult::SucceededWithIssues));
    assert!(
        first.has_issue("actions/setup-node asked for Node.js 20, and the Node.js on this machine"),
        "{:#?}",
        first.issues()
    );
    assert!(first.has_issue("Caching for 'bower' is not supported by the setup-node action"), "{:#?}", first.issues());
    assert!(first.output().iter().any(|line| line.starts_with("Cache saved with key: setup-node-Linux-npm-")));
    std::fs::remove_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let second = run_in(dir.path(), plan(vec![setup_job()]), |_| {});
    assert!(second.has_line("node=v18.19.0 hit=true"), "{:#?}", second.output());
    assert!(second.has_line("cached-before"), "the npm directory came back: {:#?}", second.output());
}

#[test]
fn a_cancel_stops_the_step_and_runs_what_asks_for_cancelled() {
    let steps = vec![
        titled("long", run("sleep 60")),
        titled("after", run("echo after")),
        titled(
            "cleanup",
            Step { condition: github_if("always()"), ..run("echo \"cleanup status=${{ job.status }}\"") },
        ),
        titled("on cancel", Step { condition: github_if("cancelled()"), ..run("echo saw cancel") }),
        titled("on success", Step { condition: github_if("success()"), ..run("echo no") }),
    ];
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let started = std::time::Instant::now();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        trigger.cancel();
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_cancellable(dir.path(), plan(vec![job("cancel", &[], steps)]), |_| {}, &cancel);
    let _ = canceller.join();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.result, TaskResult::Canceled);
    assert_eq!(r.step("long"), Some(TaskResult::Canceled));
    assert_eq!(r.step("after"), Some(TaskResult::Skipped));
    assert!(r.has_line("cleanup status=cancelled"), "{:#?}", r.output());
    assert!(r.has_line("saw cancel"));
    assert_eq!(r.step("on success"), Some(TaskResult::Skipped));
}
