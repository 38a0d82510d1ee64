//! Tests of validation: the exact text of every diagnostic code, and the real-world corpus.

use std::path::PathBuf;

use slipway_diagnostics::{SourceMap, render_all};

use super::validate;

/// Validates `text` as `azure-pipelines.yml` and renders the result as the CLI prints it.
fn check(text: &str) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("azure-pipelines.yml", text);
    match slipway_yaml::load(text, file) {
        Ok(root) => render_all(&validate(&root), &sources),
        Err(diagnostics) => format!("YAML error:\n{}", render_all(&diagnostics, &sources)),
    }
}

/// The fixture for one code, as the lead's harness runs it.
fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn every_fixture_reports_exactly_its_code() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diagnostics");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&directory).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(code) = name.get(..5).filter(|code| code.starts_with('V') || code.starts_with('G')) else {
            continue;
        };
        let text = fixture(&name);
        let mut sources = SourceMap::new();
        let file = sources.add(name.as_str(), text.as_str());
        let root = slipway_yaml::load(&text, file).unwrap_or_else(|_| panic!("{name} is not valid YAML"));
        let codes: Vec<&str> = validate(&root).iter().map(|diagnostic| diagnostic.code).collect();
        assert!(!codes.is_empty() && codes.iter().all(|found| *found == code), "{name} reports {codes:?}");
        seen.push(code.to_owned());
    }
    seen.sort();
    let expected = [
        "G0001", "G0002", "G0003", "G0004", "G0005", "V0001", "V0002", "V0003", "V0004", "V0005", "V0006", "V0007",
        "V0008", "V0009", "V0010",
    ];
    assert_eq!(seen, expected);
}

/// Corpus files that are rightly reported, with the codes expected.
const KNOWN_INVALID: &[(&str, &[&str])] = &[
    // A GitLab CI file (`image:`, jobs as top-level keys, `stages` as a list of names).
    ("LER0ever__HPGO/ci__.gitlab-ci.yml", &["V0001", "V0002"]),
    // `- job: 'build-docker'`: Azure rejects hyphens in job names ("Valid names may only contain
    // alphanumeric characters and '_' and may not start with a number").
    ("9dogs__tg-odesli-bot/.azure-pipelines__stage-build.yml", &["V0005"]),
    // Expanded, its `${{ each }}` makes deployment names with a dot (`Build_blur.Dockerfile`) and
    // repeats the jobs `WaitForScanResults` and `ImageScanGate` once per Dockerfile.
    ("Computer-Vision-Team-Amsterdam__Detecting-Heavy-Objects/pipelines__azure-pipelines.yml", &["V0005", "G0002"]),
];

fn corpus_directory() -> PathBuf {
    std::env::var_os("SLIPWAY_AZURE_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azure-pipelines"),
        PathBuf::from,
    )
}

#[test]
fn corpus_pipelines_have_no_false_errors() {
    let directory = corpus_directory();
    let read = std::fs::read_to_string(directory.join("manifest.tsv"));
    let needed = read.as_ref().map(|_| ()).map_err(|error| format!("no corpus at {}: {error}", directory.display()));
    if !slipway_testing::needed_or_skip("corpus_pipelines_have_no_false_errors", "CORPUS", needed) {
        return;
    }
    let Ok(manifest) = read else { return };
    let (mut checked, mut pipelines, mut skipped, mut false_errors) = (0, 0, 0, 0);
    let mut report = String::new();
    for line in manifest.lines().skip(1) {
        let columns: Vec<&str> = line.split('\t').collect();
        let (Some(role), Some(local)) = (columns.get(4), columns.get(7)) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(directory.join(local)) else {
            continue;
        };
        if text.contains("${{") || text.contains("template:") {
            skipped += 1;
            continue;
        }
        let mut sources = SourceMap::new();
        let file = sources.add(*local, text.as_str());
        let Ok(root) = slipway_yaml::load(&text, file) else {
            println!("not loaded (YAML errors): {local}");
            continue;
        };
        checked += 1;
        let diagnostics = validate(&root);
        if *role != "pipeline" {
            if std::env::var_os("SLIPWAY_SHOW_TEMPLATES").is_some() {
                println!("{}", render_all(&diagnostics, &sources));
            }
            continue;
        }
        pipelines += 1;
        let errors: Vec<_> = diagnostics.iter().filter(|diagnostic| diagnostic.is_error()).cloned().collect();
        if let Some((_, codes)) = KNOWN_INVALID.iter().find(|(name, _)| name == local) {
            for code in *codes {
                assert!(errors.iter().any(|error| error.code == *code), "{local} should report {code}");
            }
            continue;
        }
        if !errors.is_empty() {
            false_errors += errors.len();
            report.push_str(&render_all(&errors, &sources));
        } else if let Err(lowering) = crate::lower(&root, &sources, Vec::new()) {
            false_errors += lowering.len();
            report.push_str(&render_all(&lowering, &sources));
        }
    }
    println!(
        "corpus: {checked} files loaded, {pipelines} pipelines validated, {skipped} skipped (they hold `${{{{` or `template:`), {false_errors} false errors"
    );
    assert!(false_errors == 0, "false errors on valid pipelines:\n{report}");
}

#[test]
fn v0001_unknown_key_with_did_you_mean() {
    insta::assert_snapshot!(check(&fixture("V0001-unknown-job-key.yml")), @"
    error[V0001]: unknown key `stpes` in job `build`
     --> azure-pipelines.yml:5:3
      |
    5 |   stpes:
      |   ^^^^^
      = hint: did you mean `steps`?

    1 error and 0 warnings
    ");
}

#[test]
fn v0001_job_keys_at_the_top_level_need_steps() {
    insta::assert_snapshot!(check("container: ubuntu:22.04\njobs:\n- job: build\n  steps:\n  - script: make\n"), @"
    error[V0001]: unknown key `container` in the pipeline
     --> azure-pipelines.yml:1:1
      |
    1 | container: ubuntu:22.04
      | ^^^^^^^^^
      = hint: `container` belongs to a job; at the top level it is only allowed when the pipeline lists `steps` directly

    1 error and 0 warnings
    ");
}

#[test]
fn v0002_wrong_kind_of_value() {
    insta::assert_snapshot!(check(&fixture("V0002-pool-sequence.yml")), @"
    error[V0002]: `pool` in the pipeline expects a mapping or a string, found a sequence
     --> azure-pipelines.yml:2:3
      |
    2 | - ubuntu-latest
      |   ^^^^^^^^^^^^^

    1 error and 0 warnings
    ");
}

#[test]
fn v0003_missing_required_key() {
    insta::assert_snapshot!(check(&fixture("V0003-schedule-without-cron.yml")), @"
    error[V0003]: schedule 1 is missing the required key `cron`
     --> azure-pipelines.yml:2:3
      |
    2 | - displayName: Nightly
      |   ^^^^^^^^^^^^^^^^^^^^
      = hint: add `cron:`

    1 error and 0 warnings
    ");
}

#[test]
fn v0003_step_without_action_and_empty_pipeline() {
    insta::assert_snapshot!(check("steps:\n- displayName: nothing to do\n"), @"
    error[V0003]: step 1 of the pipeline does not say what to run
     --> azure-pipelines.yml:2:3
      |
    2 | - displayName: nothing to do
      |   ^^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: a step needs one of `script`, `bash`, `pwsh`, `powershell`, `task`, `checkout`, `download`, `publish`, `downloadBuild`, `getPackage` or `reviewApp`

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check(""), @"
    error[V0003]: the pipeline is empty: expected `stages`, `jobs` or `steps`
     --> azure-pipelines.yml:1:1
      = hint: a minimal pipeline is `steps:` followed by a list of steps, such as `- script: echo hello`

    1 error and 0 warnings
    ");
}

#[test]
fn v0004_value_outside_the_allowed_set() {
    insta::assert_snapshot!(check(&fixture("V0004-workspace-clean-yes.yml")), @"
    error[V0004]: `workspace.clean` in job `build` must be one of `outputs`, `resources`, `all`, found `yes`
     --> azure-pipelines.yml:4:12
      |
    4 |     clean: yes
      |            ^^^

    1 error and 0 warnings
    ");
}

#[test]
fn v0004_booleans_and_checkout_flags() {
    let text = "steps:\n- checkout: self\n  clean: all\n- script: make\n  continueOnError: maybe\n";
    insta::assert_snapshot!(check(text), @"
    warning[V0004]: `clean` in step 1 (`checkout`) of the pipeline should be `true` or `false`, found `all`, which Azure reads as `false`
     --> azure-pipelines.yml:3:10
      |
    3 |   clean: all
      |          ^^^
      = hint: write `true` or `false`

    error[V0004]: `continueOnError` in step 2 (`script`) of the pipeline must be a boolean, found `maybe`
     --> azure-pipelines.yml:5:20
      |
    5 |   continueOnError: maybe
      |                    ^^^^^
      = hint: write `true` or `false`

    1 error and 1 warning
    ");
}

#[test]
fn v0005_invalid_names() {
    insta::assert_snapshot!(check(&fixture("V0005-hyphenated-job-name.yml")), @"
    error[V0005]: job name `build-linux` is invalid
     --> azure-pipelines.yml:2:8
      |
    2 | - job: build-linux
      |        ^^^^^^^^^^^
      = hint: valid names may only contain letters, digits and `_`, and may not start with a digit

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check("stages:\n- stage: 1st\n  jobs:\n  - job: a\n    steps:\n    - script: make\n      name: my step\n"), @"
    error[V0005]: stage name `1st` is invalid
     --> azure-pipelines.yml:2:10
      |
    2 | - stage: 1st
      |          ^^^
      = hint: valid names may only contain letters, digits and `_`, and may not start with a digit

    error[V0005]: step name `my step` is invalid
     --> azure-pipelines.yml:7:13
      |
    7 |       name: my step
      |             ^^^^^^^
      = hint: step names may only contain letters, digits, `_` and `-`

    2 errors and 0 warnings
    ");
}

#[test]
fn v0006_runtime_expression_inside_text() {
    insta::assert_snapshot!(check(&fixture("V0006-partial-runtime-expression.yml")), @"
    warning[V0006]: the run-time expression in variable `tag` does not take the whole value, so Azure keeps it as literal text
     --> azure-pipelines.yml:2:10
      |
    2 |   tag: v-$[ counter('v', 1) ]
      |          ^^
      = hint: a `$[ ]` expression must be the entire value, such as `$[ variables['other'] ]`; use `$(other)` to insert a variable into text

    0 errors and 1 warning
    ");
}

#[test]
fn v0007_expression_syntax() {
    insta::assert_snapshot!(check(&fixture("V0007-condition-syntax.yml")), @"
    error[V0007]: the condition of step 1 (`script`) of the pipeline is not a valid expression: Unclosed function: 'and'
     --> azure-pipelines.yml:3:14
      |
    3 |   condition: and(succeeded(), eq(variables['Build.SourceBranch'], 'refs/heads/main')
      |              ^^^
      = hint: conditions are expressions such as `and(succeeded(), eq(variables['Build.Reason'], 'Manual'))`

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check("variables:\n- name: version\n  value: $[ counter(variables['major'] 0) ]\nsteps:\n- script: make\n"), @"
    error[V0007]: the run-time expression of variable `version` is not a valid expression: Unexpected symbol: '0'
     --> azure-pipelines.yml:3:40
      |
    3 |   value: $[ counter(variables['major'] 0) ]
      |                                        ^
      = hint: a run-time variable value looks like `$[ eq(variables['Build.Reason'], 'Manual') ]`

    1 error and 0 warnings
    ");
}

#[test]
fn v0008_unknown_function_or_value() {
    insta::assert_snapshot!(check(&fixture("V0008-unknown-function.yml")), @"
    error[V0008]: the condition of step 1 (`script`) of the pipeline cannot be evaluated: Unrecognized function: 'succeded'
     --> azure-pipelines.yml:3:14
      |
    3 |   condition: succeded()
      |              ^^^^^^^^
      = hint: did you mean `succeeded`?

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check("variables:\n  a: $[ counter('x') ]\n  b: $[ parameters.name ]\nsteps:\n- script: make\n"), @"
    error[V0008]: the run-time expression of variable `a` cannot be evaluated: Wrong number of arguments for function 'counter': expected 2, got 1
     --> azure-pipelines.yml:2:9
      |
    2 |   a: $[ counter('x') ]
      |         ^^^^^^^
      = hint: run-time expressions may use `variables`, `dependencies`, `stageDependencies`, `pipeline` and `resources`, the built-in functions, the status functions and `counter(prefix, seed)`

    error[V0008]: the run-time expression of variable `b` cannot be evaluated: Unrecognized value: 'parameters'
     --> azure-pipelines.yml:3:9
      |
    3 |   b: $[ parameters.name ]
      |         ^^^^^^^^^^
      = hint: run-time expressions may use `variables`, `dependencies`, `stageDependencies`, `pipeline` and `resources`, the built-in functions, the status functions and `counter(prefix, seed)`

    2 errors and 0 warnings
    ");
}

#[test]
fn v0009_conflicting_keys() {
    insta::assert_snapshot!(check(&fixture("V0009-two-actions-in-a-step.yml")), @"
    error[V0009]: `bash` cannot be used together with `script` in step 1 (`script`) of the pipeline
     --> azure-pipelines.yml:3:3
      |
    3 |   bash: make test
      |   ^^^^
      = hint: each step does one thing; split it into two steps

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check("stages: []\njobs: []\n"), @"
    error[V0009]: `jobs` cannot be used together with `stages` in the pipeline
     --> azure-pipelines.yml:2:1
      |
    2 | jobs: []
      | ^^^^
      = hint: a pipeline lists either `stages`, `jobs` or `steps` at the top level

    1 error and 0 warnings
    ");
}

#[test]
fn v0010_not_a_whole_number() {
    insta::assert_snapshot!(check(&fixture("V0010-timeout-not-a-number.yml")), @"
    error[V0010]: `timeoutInMinutes` in job `build` must be a whole number, found `one hour`
     --> azure-pipelines.yml:3:21
      |
    3 |   timeoutInMinutes: one hour
      |                     ^^^^^^^^
      = hint: write a number such as `60`

    1 error and 0 warnings
    ");
}

#[test]
fn g0001_duplicate_stage_names() {
    insta::assert_snapshot!(check(&fixture("G0001-duplicate-stage-name.yml")), @"
    error[G0001]: stage name `build` is used more than once in the pipeline
     --> azure-pipelines.yml:7:10
      |
    7 | - stage: build
      |          ^^^^^
      = hint: stage names must be unique (ignoring case); rename one of them

    1 error and 0 warnings
    ");
}

#[test]
fn g0002_duplicate_job_names() {
    insta::assert_snapshot!(check(&fixture("G0002-duplicate-job-name.yml")), @"
    error[G0002]: job name `test` is used more than once in the pipeline
     --> azure-pipelines.yml:5:8
      |
    5 | - job: test
      |        ^^^^
      = hint: job names must be unique (ignoring case); rename one of them

    1 error and 0 warnings
    ");
}

#[test]
fn g0003_unknown_dependency() {
    insta::assert_snapshot!(check(&fixture("G0003-unknown-dependency.yml")), @"
    error[G0003]: stage `Deploy` depends on `Biuld`, which is not a stage in the pipeline
     --> azure-pipelines.yml:8:14
      |
    8 |   dependsOn: Biuld
      |              ^^^^^
      = hint: did you mean `Build`?

    1 error and 0 warnings
    ");
    insta::assert_snapshot!(check("jobs:\n- job: a\n  dependsOn: [zzz]\n  steps:\n  - script: make\n"), @"
    error[G0003]: job `a` depends on `zzz`, which is not a job in the pipeline
     --> azure-pipelines.yml:3:15
      |
    3 |   dependsOn: [zzz]
      |               ^^^
      = hint: the jobs in the pipeline are `a`

    1 error and 0 warnings
    ");
}

#[test]
fn g0004_dependency_cycles() {
    insta::assert_snapshot!(check(&fixture("G0004-dependency-cycle.yml")), @"
    error[G0004]: jobs in the pipeline depend on each other in a cycle: A -> C -> B -> A
     --> azure-pipelines.yml:7:14
      |
    7 |   dependsOn: A
      |              ^
      = hint: remove one of these `dependsOn` entries

    1 error and 0 warnings
    ");
    // The first stage depends on the second, which depends on the first implicitly.
    let text = "stages:\n- stage: A\n  dependsOn: B\n  jobs: []\n- stage: B\n  jobs: []\n";
    insta::assert_snapshot!(check(text), @"
    error[G0004]: stages in the pipeline depend on each other in a cycle: A -> B -> A
     --> azure-pipelines.yml:5:10
      |
    5 | - stage: B
      |          ^
      = hint: remove one of these dependencies; a stage without `dependsOn` depends on the stage before it

    1 error and 0 warnings
    ");
}

#[test]
fn g0005_duplicate_step_names() {
    insta::assert_snapshot!(check(&fixture("G0005-duplicate-step-name.yml")), @"
    error[G0005]: step name `version` is used more than once in the pipeline
     --> azure-pipelines.yml:5:9
      |
    5 |   name: version
      |         ^^^^^^^
      = hint: step names must be unique within a job; rename one of the steps

    1 error and 0 warnings
    ");
}

/// A pipeline using most of what the schema allows; it must pass without a word.
#[test]
fn a_rich_valid_pipeline_passes() {
    let text = r#"
name: $(Date:yyyyMMdd)$(Rev:.r)
appendCommitMessageToRunName: false
lockBehavior: sequential
trigger:
  batch: true
  branches:
    include: [main, releases/*]
    exclude: [experimental/*]
  paths:
    exclude: [docs]
  tags:
    include: ['v*']
pr:
  autoCancel: true
  drafts: false
  branches:
    include: [main]
schedules:
- cron: "0 3 * * *"
  displayName: Nightly
  branches:
    include: [main]
  always: true
  batch: false
resources:
  repositories:
  - repository: tools
    type: github
    name: contoso/tools
    endpoint: github-connection
    ref: refs/heads/main
    trigger:
      branches:
        include: [main]
  pipelines:
  - pipeline: upstream
    source: Upstream CI
    trigger:
      branches: [main]
      stages: [Build]
  containers:
  - container: linux
    image: ubuntu:22.04
    options: --privileged
    env:
      A: b
  builds:
  - build: legacy
    type: Jenkins
    connection: jenkins
    source: job
  packages:
  - package: pkg
    type: npm
    connection: feed
    name: left-pad
  webhooks:
  - webhook: hook
    connection: incoming
    filters:
    - path: repository.name
      value: tools
variables:
- group: shared-secrets
- name: configuration
  value: Release
  readonly: true
- name: build.number
  value: $[ counter(variables['configuration'], 100) ]
- name: isMain
  value: $[ eq(variables['Build.SourceBranch'], 'refs/heads/main') ]
pool:
  vmImage: ubuntu-latest
stages:
- stage: Build
  displayName: Build it
  variables:
    verbosity: detailed
  jobs:
  - job: compile
    displayName: Compile
    timeoutInMinutes: 60
    cancelTimeoutInMinutes: 2
    continueOnError: false
    container: linux
    services:
      redis: redis:7
      postgres:
        image: postgres:16
        ports: ['5432:5432']
    workspace:
      clean: all
    strategy:
      matrix:
        linux:
          imageName: ubuntu-latest
        Windows x64:
          imageName: windows-latest
      maxParallel: 2
    uses:
      repositories: [tools]
    steps:
    - checkout: self
      clean: true
      fetchDepth: 1
      fetchTags: false
      lfs: true
      submodules: recursive
      persistCredentials: true
      path: s/app
    - checkout: tools
    - script: make
      displayName: Build
      name: build_step
      workingDirectory: src
      failOnStderr: true
      env:
        TOKEN: $(token)
      condition: and(succeeded(), ne(variables['Build.Reason'], 'PullRequest'))
      timeoutInMinutes: 10
      retryCountOnTaskFailure: 2
      target:
        container: host
        commands: restricted
        settableVariables: [a, b]
    - bash: ./test.sh
      enabled: false
    - pwsh: Write-Host hi
      errorActionPreference: stop
      ignoreLASTEXITCODE: true
    - powershell: Write-Host hi
    - task: DotNetCoreCLI@2
      inputs:
        command: test
        projects: '**/*Tests.csproj'
    - publish: $(Build.ArtifactStagingDirectory)
      artifact: drop
    - download: current
      artifact: drop
      patterns: '**/*.zip'
    - downloadBuild: legacy
      path: $(Pipeline.Workspace)
    - getPackage: pkg
    - reviewApp: review
  - job: slices
    dependsOn: compile
    condition: succeededOrFailed('compile')
    strategy:
      parallel: 3
    pool: Self Hosted
    steps:
    - script: echo $(System.JobPositionInPhase)
  - job: agentless
    pool: server
    steps:
    - task: Delay@1
      inputs:
        delayForMinutes: '1'
- stage: Deploy
  dependsOn: [Build]
  condition: and(succeeded(), eq(dependencies.Build.result, 'Succeeded'))
  trigger: manual
  isSkippable: false
  lockBehavior: runLatest
  pool:
    name: Deployers
    demands:
    - Agent.OS -equals Linux
  jobs:
  - deployment: web
    displayName: Web
    environment:
      name: production
      resourceType: VirtualMachine
      tags: web,frontend
    strategy:
      canary:
        increments: [10, 20]
        preDeploy:
          steps:
          - script: echo pre
        deploy:
          pool:
            vmImage: ubuntu-latest
          steps:
          - script: echo deploy
        routeTraffic:
          steps:
          - script: echo route
        postRouteTraffic:
          steps:
          - script: echo monitor
        on:
          failure:
            steps:
            - script: echo rollback
          success:
            steps:
            - script: echo done
  - deployment: db
    environment: production.database
    strategy:
      rolling:
        maxParallel: 25%
        deploy:
          steps:
          - script: echo db
  - deployment: smoke
    dependsOn: [web, db]
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo smoke
"#;
    insta::assert_snapshot!(check(text), @"");
}

/// The legacy forms: `phases`, `queue`, `server`, and the list form of `resources`.
#[test]
fn legacy_forms_pass() {
    let text = "resources:\n- repo: self\n  clean: true\nphases:\n- phase: build\n  queue:\n    name: Hosted VS2017\n    demands: msbuild\n    parallel: 2\n    matrix:\n      debug:\n        configuration: Debug\n  steps:\n  - script: make\n- phase: notify\n  dependsOn: build\n  server: true\n  steps:\n  - task: Delay@1\n";
    insta::assert_snapshot!(check(text), @"");
    let text = "queue: Hosted Ubuntu 1604\ntimeoutInMinutes: 30\nsteps:\n- script: make\n";
    insta::assert_snapshot!(check(text), @"");
}
