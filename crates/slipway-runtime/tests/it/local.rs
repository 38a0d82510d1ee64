//! End-to-end runs of plans built in Rust, with real processes.

use crate::Collect;

use std::sync::Arc;
use std::time::{Duration, Instant};

use slipway_events::{Event, LogKind, TaskResult};
use slipway_plan::{
    Action, Condition, Deployment, DeploymentStrategy, Dialect, Environment, Hook, HookKind, Job, JobKind, Plan, Shell,
    Stage, Step, Variable,
};
use slipway_runtime::{CancelToken, LocalExecutor, RunOptions, execute};

fn cond(text: &str) -> Option<Condition> {
    let expression = slipway_expr::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
    Some(Condition { source: text.to_owned(), expression: expression.into(), span: None })
}

fn script(text: &str) -> Step {
    Step::new(Action::Script { shell: Shell::Bash, script: text.to_owned() })
}

fn named(name: &str, text: &str) -> Step {
    Step { name: Some(name.into()), ..script(text) }
}

fn job(name: &str, depends_on: &[&str], steps: Vec<Step>) -> Job {
    Job { depends_on: depends_on.iter().map(|&d| d.to_owned()).collect(), ..Job::new(name, steps) }
}

fn stage(name: &str, depends_on: &[&str], jobs: Vec<Job>) -> Stage {
    Stage { depends_on: depends_on.iter().map(|&d| d.to_owned()).collect(), ..Stage::new(name, jobs) }
}

fn plan(stages: Vec<Stage>) -> Plan {
    Plan::new(Dialect::AzurePipelines, stages)
}

struct Run {
    result: TaskResult,
    events: Vec<Event>,
    _dir: tempfile::TempDir,
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

    fn steps(&self) -> Vec<(String, TaskResult)> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::StepFinished { display_name, result, .. } => Some((display_name.clone(), *result)),
                _ => None,
            })
            .collect()
    }

    fn step(&self, display: &str) -> Option<TaskResult> {
        self.steps().into_iter().find(|(name, _)| name == display).map(|(_, result)| result)
    }
}

fn run_with(plan: Plan, configure: impl FnOnce(&mut RunOptions), cancel: &CancelToken) -> Run {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions {
        work_dir: dir.path().join("work"),
        source_dir: dir.path().to_path_buf(),
        kill_grace: Duration::from_millis(300),
        max_parallel: 2,
        ..RunOptions::default()
    };
    configure(&mut options);
    let sink = Arc::new(Collect::default());
    let report = execute(Arc::new(plan), &options, Arc::new(LocalExecutor), sink.clone(), cancel)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = sink.0.lock().map(|events| events.clone()).unwrap_or_default();
    Run { result: report.result, events, _dir: dir }
}

fn run(plan: Plan) -> Run {
    run_with(plan, |_| {}, &CancelToken::new())
}

fn titled(title: &str, step: Step) -> Step {
    Step { display_name: Some(title.into()), ..step }
}

#[test]
fn steps_see_variables_macros_env_and_working_directory() {
    let mut p = plan(vec![stage(
        "S",
        &[],
        vec![{
            let mut j = job(
                "J",
                &[],
                vec![Step {
                    env: vec![("MAPPED".into(), "$(my.secret)".into()), ("FROM_MACRO".into(), "$(greeting)!".into())],
                    working_directory: Some("sub".into()),
                    ..script(
                        "mkdir -p ../sub 2>/dev/null; echo \"macro=$(greeting) env=$GREETING nested=$(nested)\"\necho 'unknown=$(nope)'\necho \"secret-env=${MY_SECRET:-unset} mapped=$MAPPED macro2=$FROM_MACRO\"\necho \"dir=$(basename $PWD) status=$AGENT_JOBSTATUS os=$(Agent.OS)\"",
                    )
                }],
            );
            j.variables =
                vec![Variable::Value { name: "nested".into(), value: "$(greeting)-nested".into(), readonly: false }];
            j
        }],
    )]);
    p.variables = vec![Variable::Value { name: "greeting".into(), value: "hello".into(), readonly: false }];
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let source = dir.path().to_path_buf();
    let run = run_with(
        p,
        |options| {
            options.source_dir = source;
            options.secrets = vec![("my.secret".into(), "s3cr3t-value".into())];
        },
        &CancelToken::new(),
    );
    assert_eq!(run.result, TaskResult::Succeeded, "{:#?}", run.events);
    assert!(run.has_line("macro=hello env=hello nested=hello-nested"), "{:?}", run.output());
    assert!(run.has_line("unknown=$(nope)"), "{:?}", run.output());
    assert!(run.has_line("secret-env=unset mapped=*** macro2=hello!"), "{:?}", run.output());
    assert!(run.has_line("dir=sub status=Succeeded os=Linux"), "{:?}", run.output());
}

#[test]
fn conditions_results_and_job_status_through_a_job() {
    let p = plan(vec![stage(
        "S",
        &[],
        vec![job(
            "J",
            &[],
            vec![
                titled("ok", script("echo fine")),
                titled("tolerated", Step { continue_on_error: true, ..script("exit 3") }),
                titled("after-issue", script("echo status=$AGENT_JOBSTATUS")),
                titled("boom", script("echo failing; exit 1")),
                titled("skipped", script("echo never")),
                titled("disabled", Step { enabled: false, condition: cond("always()"), ..script("echo never") }),
                titled("on-failure", Step { condition: cond("failed()"), ..script("echo status=$(Agent.JobStatus)") }),
                titled("always", Step { condition: cond("always()"), ..script("echo always") }),
                titled(
                    "custom",
                    Step { condition: cond("eq(variables['Agent.JobStatus'], 'Failed')"), ..script("echo custom") },
                ),
            ],
        )],
    )]);
    let run = run(p);
    assert_eq!(run.result, TaskResult::Failed);
    assert_eq!(
        run.steps(),
        [
            ("Checkout self".to_owned(), TaskResult::Succeeded),
            ("ok".into(), TaskResult::Succeeded),
            ("tolerated".into(), TaskResult::SucceededWithIssues),
            ("after-issue".into(), TaskResult::Succeeded),
            ("boom".into(), TaskResult::Failed),
            ("skipped".into(), TaskResult::Skipped),
            ("disabled".into(), TaskResult::Skipped),
            ("on-failure".into(), TaskResult::Succeeded),
            ("always".into(), TaskResult::Succeeded),
            ("custom".into(), TaskResult::Succeeded),
        ]
    );
    assert!(run.has_line("status=SucceededWithIssues"));
    assert!(run.has_line("status=Failed"));
    assert!(!run.has_line("never"));
}

#[test]
fn retries_timeouts_and_fail_on_stderr() {
    let p = plan(vec![stage(
        "S",
        &[],
        vec![job(
            "J",
            &[],
            vec![
                titled(
                    "retried",
                    Step {
                        retry_count: 3,
                        ..script(
                            "n=$(cat $(Agent.TempDirectory)/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > $(Agent.TempDirectory)/n; echo attempt $n; [ $n -ge 3 ]",
                        )
                    },
                ),
                titled("stderr", Step { fail_on_stderr: true, continue_on_error: true, ..script("echo oops >&2") }),
                titled("task-complete", script("echo '##vso[task.complete result=SucceededWithIssues;]meh'")),
            ],
        )],
    )]);
    let run = run(p);
    assert_eq!(run.step("retried"), Some(TaskResult::Succeeded));
    assert!(run.has_line("attempt 3"));
    let attempts = run.events.iter().find_map(|e| match e {
        Event::StepFinished { display_name, attempts, .. } if display_name == "retried" => Some(*attempts),
        _ => None,
    });
    assert_eq!(attempts, Some(3));
    assert_eq!(run.step("stderr"), Some(TaskResult::SucceededWithIssues));
    assert_eq!(run.step("task-complete"), Some(TaskResult::SucceededWithIssues));
    assert_eq!(run.result, TaskResult::SucceededWithIssues);
}

#[test]
fn logging_commands_set_variables_secrets_paths_and_outputs() {
    let p = plan(vec![
        stage(
            "A",
            &[],
            vec![
                job(
                    "Producer",
                    &[],
                    vec![
                        named(
                            "setter",
                            "echo '##vso[task.setvariable variable=version;isOutput=true]1.2.3'\necho '##vso[task.setvariable variable=plain]p1'\necho '##vso[task.setvariable variable=token;issecret=true]tok-123456'\necho '##vso[task.setsecret]other-secret'\nmkdir -p $(Agent.TempDirectory)/bin && printf '#!/bin/sh\\necho tool ran\\n' > $(Agent.TempDirectory)/bin/mytool && chmod +x $(Agent.TempDirectory)/bin/mytool\necho \"##vso[task.prependpath]$(Agent.TempDirectory)/bin\"\necho '##vso[task.logissue type=warning;sourcepath=x.c;linenumber=3]look here'",
                        ),
                        script(
                            "echo \"plain=$(plain) env=$PLAIN out=$(setter.version) token=$(token) envtoken=${TOKEN:-none}\"\necho other-secret; echo -n tok-123456 | base64\nmytool",
                        ),
                    ],
                ),
                {
                    let mut consumer = job("Consumer", &["Producer"], vec![script("echo got=$(v)")]);
                    consumer.variables = vec![Variable::Value {
                        name: "v".into(),
                        value: "$[ dependencies.Producer.outputs['setter.version'] ]".into(),
                        readonly: false,
                    }];
                    consumer
                },
            ],
        ),
        {
            let mut later = job("Later", &[], vec![script("echo cross=$(v)")]);
            later.variables = vec![Variable::Value {
                name: "v".into(),
                value: "$[stageDependencies.A.Producer.outputs['setter.version']]".into(),
                readonly: false,
            }];
            let mut s = stage("B", &["A"], vec![later]);
            s.condition = cond("eq(dependencies.A.outputs['Producer.setter.version'], '1.2.3')");
            s
        },
    ]);
    let run = run(p);
    assert_eq!(run.result, TaskResult::Succeeded, "{:?}", run.output());
    assert!(run.has_line("plain=p1 env=p1 out=1.2.3 token=*** envtoken=none"), "{:?}", run.output());
    assert!(run.has_line("***"));
    assert!(run.has_line("tool ran"));
    assert!(run.has_line("got=1.2.3"));
    assert!(run.has_line("cross=1.2.3"));
    let all = serde_json::to_string(&run.events).unwrap_or_default();
    assert!(!all.contains("tok-123456") && !all.contains("other-secret"), "a secret leaked");
    assert!(
        run.events.iter().any(|e| matches!(e, Event::Issue { message, line: Some(3), .. } if message == "look here"))
    );
}

#[test]
fn cancel_stops_running_steps_runs_cleanup_and_leaves_nothing_behind() {
    let marker = format!("slipway-cancel-test-{}", std::process::id());
    let p = plan(vec![stage(
        "S",
        &[],
        vec![job(
            "J",
            &[],
            vec![
                titled("long", script(&format!("(exec -a {marker} sleep 60) & exec -a {marker} sleep 60"))),
                titled("after", script("echo after")),
                titled(
                    "cleanup",
                    Step { condition: cond("always()"), ..script("echo cleanup status=$(Agent.JobStatus)") },
                ),
                titled("canceled", Step { condition: cond("canceled()"), ..script("echo saw cancel") }),
            ],
        )],
    )]);
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let started = Instant::now();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        trigger.cancel();
    });
    let run = run_with(p, |_| {}, &cancel);
    let _ = canceller.join();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.result, TaskResult::Canceled);
    assert_eq!(run.step("long"), Some(TaskResult::Canceled));
    assert_eq!(run.step("after"), Some(TaskResult::Skipped));
    assert!(run.has_line("cleanup status=Canceled"), "{:?}", run.output());
    assert!(run.has_line("saw cancel"));
    std::thread::sleep(Duration::from_millis(200));
    let left = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(&marker))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "processes were left running");
}

#[test]
fn timeouts_stop_steps_and_jobs() {
    let mut j = job(
        "J",
        &[],
        vec![
            titled("slow", script("sleep 30")),
            titled("cleanup", Step { condition: cond("always()"), ..script("echo cleanup") }),
        ],
    );
    j.timeout_minutes = Some(2);
    let k = job(
        "K",
        &[],
        vec![
            titled("slow-step", Step { timeout_minutes: Some(1), ..script("sleep 30") }),
            titled("next", script("echo next")),
            titled("failed", Step { condition: cond("failed()"), ..script("echo step timed out") }),
        ],
    );
    let unlimited =
        job("L", &[], vec![titled("zero", Step { timeout_minutes: Some(0), ..script("echo zero means no limit") })]);
    let started = Instant::now();
    let run = run_with(
        plan(vec![stage("S", &[], vec![j, k, unlimited])]),
        |o| {
            o.minute = Duration::from_millis(300);
            o.max_parallel = 3;
        },
        &CancelToken::new(),
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.step("slow"), Some(TaskResult::Canceled));
    assert!(run.has_line("cleanup"));
    assert_eq!(run.step("slow-step"), Some(TaskResult::Failed));
    assert_eq!(run.step("next"), Some(TaskResult::Skipped));
    assert!(run.has_line("step timed out"));
    assert!(run.has_line("zero means no limit"));
    let job_result = |id: &str| {
        run.events.iter().find_map(|e| match e {
            Event::JobFinished { job, result, .. } if job == id => Some(*result),
            _ => None,
        })
    };
    assert_eq!(job_result("S.J"), Some(TaskResult::Canceled));
    assert_eq!(job_result("S.K"), Some(TaskResult::Failed));
    assert_eq!(run.result, TaskResult::Failed);
}

#[test]
fn deployment_hooks_run_in_azure_order_with_strategy_variables() {
    let hook = |kind: HookKind, text: &str| Hook { kind, pool: None, steps: vec![named("s", text)] };
    let echo = "echo \"$(Strategy.Name) $(Strategy.Action) [$(Strategy.Increment)] $(Environment.Name)\"";
    let mut canary = job("Canary", &[], vec![]);
    canary.kind = JobKind::Deployment(Deployment {
        environment: Some(Environment { name: "prod".into(), resource_name: None, resource_type: None, tags: vec![] }),
        strategy: DeploymentStrategy::Canary { increments: vec![10, 20] },
        hooks: vec![
            hook(HookKind::OnSuccess, "echo on-success"),
            hook(HookKind::Deploy, &format!("echo deploy; {echo}")),
            hook(HookKind::PreDeploy, "echo pre"),
            hook(HookKind::OnFailure, "echo on-failure"),
        ],
    });
    let mut once = job("Once", &[], vec![]);
    once.kind = JobKind::Deployment(Deployment {
        environment: Some(Environment { name: "dev".into(), resource_name: None, resource_type: None, tags: vec![] }),
        strategy: DeploymentStrategy::RunOnce,
        hooks: vec![
            hook(HookKind::Deploy, "echo '##vso[task.setvariable variable=url;isOutput=true]http://dev'; exit 1"),
            hook(HookKind::RouteTraffic, "echo route"),
            hook(HookKind::OnFailure, "echo rollback $(Strategy.Action)"),
        ],
    });
    let mut after = job("After", &["Once"], vec![script("echo url=$(u)")]);
    after.condition = cond("always()");
    after.variables = vec![Variable::Value {
        name: "u".into(),
        value: "$[ dependencies.Once.outputs['Once.s.url'] ]".into(),
        readonly: false,
    }];
    let run =
        run_with(plan(vec![stage("S", &[], vec![canary, once, after])]), |o| o.max_parallel = 1, &CancelToken::new());
    let canary_lines: Vec<String> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Log { job: Some(job), text, kind: LogKind::Output, .. } if job == "S.Canary" => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        canary_lines,
        [
            "pre",
            "deploy",
            "canary deploy [10] prod",
            "pre",
            "deploy",
            "canary deploy [20] prod",
            "pre",
            "deploy",
            "canary promote [100] prod",
            "on-success"
        ]
    );
    assert!(run.has_line("rollback reject"));
    assert!(!run.has_line("route"));
    assert!(run.has_line("url=http://dev"), "{:?}", run.output());
    assert!(run.events.iter().any(|e| matches!(e, Event::JobStarted { environment: Some(env), .. } if env == "prod")));
    assert_eq!(run.result, TaskResult::Failed);
}

#[test]
fn artifacts_flow_between_jobs_and_checkout_can_be_isolated() {
    let publish = Step {
        action: Action::Publish { path: "$(Build.ArtifactStagingDirectory)".into(), artifact: Some("drop".into()) },
        ..script("")
    };
    let download = Step {
        action: Action::Download {
            source: "current".into(),
            artifact: Some("drop".into()),
            path: None,
            patterns: None,
        },
        ..script("")
    };
    let p = plan(vec![stage(
        "S",
        &[],
        vec![
            job(
                "Build",
                &[],
                vec![
                    script(
                        "echo built > $(Build.ArtifactStagingDirectory)/out.txt; cat tracked.txt; touch made-here.txt",
                    ),
                    publish,
                ],
            ),
            job("Use", &["Build"], vec![download, script("cat $(Pipeline.Workspace)/drop/out.txt")]),
        ],
    )]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("tracked.txt"), "from the repo").unwrap_or_else(|e| panic!("{e}"));
    let source = dir.path().to_path_buf();
    let run = run_with(
        p,
        |o| {
            o.source_dir = source;
            o.isolated = true;
        },
        &CancelToken::new(),
    );
    assert_eq!(run.result, TaskResult::Succeeded, "{:?}", run.output());
    assert!(run.has_line("from the repo"));
    assert!(run.has_line("built"));
    assert!(!dir.path().join("made-here.txt").exists(), "--isolated must not touch the working tree");
    assert!(run.events.iter().any(|e| matches!(e, Event::ArtifactPublished { name, files: 1, .. } if name == "drop")));
}

/// A finished run's directories stay for inspection; the next run removes them in the background,
/// and never touches the directory of a run that has not finished.
#[test]
fn the_next_run_removes_finished_run_directories_in_the_background() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let work = dir.path().join("work");
    let options = RunOptions {
        work_dir: work.clone(),
        source_dir: dir.path().to_path_buf(),
        kill_grace: Duration::from_millis(300),
        ..RunOptions::default()
    };
    let once = || {
        let plan = plan(vec![stage("S", &[], vec![job("J", &[], vec![script("echo hi")])])]);
        execute(Arc::new(plan), &options, Arc::new(LocalExecutor), Arc::new(Collect::default()), &CancelToken::new())
            .unwrap_or_else(|e| panic!("{e}"))
            .run_id
    };
    let first = once();
    let first_dir = work.join("runs").join(first.to_string());
    assert!(first_dir.join(".finished").exists(), "a finished run's directory is kept and marked");
    // A directory of a run still going on in another process: no marker, fresh.
    let running = work.join("runs").join("999999");
    std::fs::create_dir_all(running.join("w")).unwrap_or_else(|e| panic!("{e}"));
    let second = once();
    let deadline = Instant::now() + Duration::from_secs(20);
    while first_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!first_dir.exists(), "the finished run's directory is removed by the next run");
    assert!(running.exists(), "a run in progress is left alone");
    assert!(work.join("runs").join(second.to_string()).exists());
}
