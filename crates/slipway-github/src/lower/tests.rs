use serde_json::json;
use slipway_diagnostics::FileId;

use super::*;

/// The matrix written as YAML (a flow mapping), as the workflow holds it.
fn matrix(yaml: &str) -> Node {
    slipway_yaml::load(yaml, FileId(0)).unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"))
}

fn expanded(yaml: &str) -> Vec<Json> {
    expand_matrix(&matrix(yaml)).expect("expands").into_iter().map(object).collect()
}

fn lowered(text: &str) -> Result<Plan, Vec<Diagnostic>> {
    let checked = crate::check(text, FileId(0));
    let workflow = checked.workflow.unwrap_or_else(|| panic!("invalid: {:?}", checked.diagnostics));
    lower(&workflow, vec!["ci.yml".into()], &[])
}

fn plan(text: &str) -> Plan {
    lowered(text).unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"))
}

fn codes(text: &str) -> Vec<(String, u32)> {
    lowered(text)
        .err()
        .unwrap_or_default()
        .iter()
        .map(|d| (d.code.to_owned(), d.span.map_or(0, |span| span.start.line)))
        .collect()
}

#[test]
fn include_extends_the_vectors_combinations_as_githubs_documentation_shows() {
    // The example of "Expanding or adding matrix configurations" in GitHub's workflow syntax docs.
    let combinations = expanded(
        "fruit: [apple, pear]
animal: [cat, dog]
include:
  - color: green
  - color: pink
    animal: cat
  - fruit: apple
    shape: circle
  - fruit: banana
  - fruit: banana
    animal: cat
",
    );
    assert_eq!(
        combinations,
        [
            json!({ "fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle" }),
            json!({ "fruit": "apple", "animal": "dog", "color": "green", "shape": "circle" }),
            json!({ "fruit": "pear", "animal": "cat", "color": "pink" }),
            json!({ "fruit": "pear", "animal": "dog", "color": "green" }),
            json!({ "fruit": "banana" }),
            json!({ "fruit": "banana", "animal": "cat" }),
        ]
    );
}

#[test]
fn exclude_removes_partial_matches_as_githubs_documentation_shows() {
    // The example of "Excluding matrix configurations" in GitHub's workflow syntax docs: 12
    // combinations, one excluded by a full match and two by a partial one.
    let combinations = expanded(
        "os: [macos-latest, windows-latest]
version: [12, 14, 16]
environment: [staging, production]
exclude:
  - os: macos-latest
    version: 12
    environment: production
  - os: windows-latest
    version: 16
",
    );
    assert_eq!(combinations.len(), 9);
    assert!(!combinations.iter().any(|c| c["os"] == "windows-latest" && c["version"] == 16));
}

#[test]
fn only_include_makes_one_combination_per_entry_and_limits_hold() {
    assert_eq!(expanded("include: [{a: 1}, {a: 2, b: x}]"), [json!({ "a": 1 }), json!({ "a": 2, "b": "x" })]);
    let twenty = (0..20).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
    let error = expand_matrix(&matrix(&format!("a: [{twenty}]\nb: [{twenty}]"))).expect_err("400 combinations");
    assert!(error.contains("256"), "{error}");
}

#[test]
fn shells_get_githubs_command_lines() {
    assert_eq!(shell_command(None), Ok(("bash".into(), "bash -e {0}".into())));
    assert_eq!(shell_command(Some("bash")).map(|(_, c)| c), Ok("bash --noprofile --norc -eo pipefail {0}".into()));
    assert_eq!(shell_command(Some("sh")).map(|(_, c)| c), Ok("sh -e {0}".into()));
    assert_eq!(shell_command(Some("python")).map(|(_, c)| c), Ok("python {0}".into()));
    assert_eq!(shell_command(Some("pwsh")).map(|(_, c)| c), Ok("pwsh -command \". '{0}'\"".into()));
    assert_eq!(shell_command(Some("perl {0}")), Ok(("perl".into(), "perl {0}".into())));
    let error = shell_command(Some("perl")).expect_err("no {0}");
    assert!(error.contains("{0}"), "{error}");
}

#[test]
fn a_workflow_becomes_one_stage_of_jobs_with_githubs_settings() {
    let plan = plan(
        "name: CI
on:
  push:
  workflow_dispatch:
    inputs:
      level: { type: choice, options: [low, high], default: low }
      dry: { type: boolean, default: true }
env:
  GLOBAL: g
defaults:
  run:
    shell: sh
    working-directory: src
jobs:
  build:
    name: Build ${{ matrix.os }}
    runs-on: ${{ matrix.os }}
    continue-on-error: ${{ matrix.experimental }}
    strategy:
      fail-fast: false
      max-parallel: 2
      matrix:
        os: [ubuntu-latest, ubuntu-22.04]
        experimental: [false]
        include:
          - os: ubuntu-latest
            experimental: true
            node: 20
    outputs:
      version: ${{ steps.v.outputs.version }}
    env:
      JOB: j
    steps:
      - id: v
        name: Version ${{ matrix.os }}
        run: echo \"version=1\" >> \"$GITHUB_OUTPUT\"
        env:
          STEP: s
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: dist/
  deploy:
    needs: [build]
    if: github.ref == 'refs/heads/main'
    runs-on: [self-hosted, linux, gpu]
    environment: production
    timeout-minutes: 10
    permissions:
      contents: read
    steps:
      - run: ./deploy.sh
        shell: bash
        working-directory: .
        timeout-minutes: 2
        continue-on-error: true
",
    );
    assert_eq!(plan.dialect, Dialect::GithubActions);
    assert_eq!(plan.env, [("GLOBAL".to_owned(), "g".to_owned())]);
    assert_eq!(plan.parameters[0].value, json!("low"));
    assert_eq!(plan.parameters[1].value, json!(true));
    let [stage] = plan.stages.as_slice() else { panic!("one stage") };
    assert_eq!(stage.name, STAGE);
    let build = &stage.jobs[0];
    assert_eq!(build.timeout_minutes, Some(DEFAULT_TIMEOUT_MINUTES));
    assert!(!build.fail_fast);
    assert_eq!(build.max_parallel, Some(2));
    let legs: Vec<(&str, &str, Option<bool>)> = build
        .legs
        .iter()
        .map(|leg| {
            (leg.name.as_deref().unwrap_or(""), leg.display_name.as_deref().unwrap_or(""), leg.continue_on_error)
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("ubuntu_latest_false", "Build ubuntu-latest", Some(false)),
            ("ubuntu_22_04_false", "Build ubuntu-22.04", Some(false)),
            ("ubuntu_latest_true_20", "Build ubuntu-latest", Some(true)),
        ]
    );
    assert_eq!(build.legs[2].matrix, Some(json!({ "os": "ubuntu-latest", "experimental": true, "node": 20 })));
    assert_eq!(build.outputs, [("version".to_owned(), "${{ steps.v.outputs.version }}".to_owned())]);
    assert_eq!(build.env, [("JOB".to_owned(), "j".to_owned())]);
    let step = &build.steps[0];
    assert_eq!(step.name.as_deref(), Some("v"));
    assert_eq!(step.display_name.as_deref(), Some("Version ${{ matrix.os }}"));
    assert_eq!(step.working_directory.as_deref(), Some("src"), "defaults.run");
    assert!(matches!(&step.action, Action::Run { shell, command, .. } if shell == "sh" && command == "sh -e {0}"));
    assert!(
        matches!(&build.steps[1].action, Action::Uses { action, with } if action == "actions/upload-artifact@v4" && with.len() == 2)
    );

    let deploy = &stage.jobs[1];
    assert_eq!(deploy.depends_on, ["build"]);
    let condition = deploy.condition.as_ref().expect("if");
    assert!(matches!(condition.expression, slipway_plan::ConditionExpression::Github(_)));
    assert_eq!(deploy.timeout_minutes, Some(10));
    assert_eq!(deploy.permissions, [("contents".to_owned(), "read".to_owned())]);
    let pool = deploy.pool.as_ref().expect("pool");
    assert_eq!(pool.demands, ["Agent.OS -equals Linux", "gpu"]);
    let PlanJobKind::Deployment(deployment) = &deploy.kind else { panic!("a deployment job") };
    assert_eq!(deployment.environment.as_ref().map(|e| e.name.as_str()), Some("production"));
    let step = &deployment.hooks[0].steps[0];
    assert!(step.continue_on_error);
    assert_eq!(step.timeout_minutes, Some(2));
    assert_eq!(step.working_directory.as_deref(), Some("."));
    assert!(matches!(&step.action, Action::Run { command, .. } if command.starts_with("bash --noprofile")));
    // The plan survives being stored and read back.
    let json = serde_json::to_string(&plan).expect("serializes");
    assert_eq!(serde_json::from_str::<Plan>(&json).expect("reads"), plan);
}

#[test]
fn what_cannot_run_yet_is_refused_with_its_place() {
    let text = "on: push
jobs:
  call:
    uses: ./.github/workflows/other.yml
  boxed:
    runs-on: ubuntu-latest
    container: node:20
    services:
      db:
        image: postgres
    steps:
      - uses: docker://alpine:3
      - run: echo
        shell: perl
  dynamic:
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.call.outputs.matrix) }}
    steps:
      - run: echo
        timeout-minutes: ${{ inputs.minutes }}
";
    assert_eq!(
        codes(text),
        [
            ("G0501".to_owned(), 4),
            ("G0502".to_owned(), 7),
            ("G0502".to_owned(), 9),
            ("G0502".to_owned(), 12),
            ("G0508".to_owned(), 14),
            ("G0503".to_owned(), 18),
            ("G0504".to_owned(), 21),
        ]
    );
}

#[test]
fn inputs_given_are_typed_and_unknown_ones_refused() {
    let text = "on:
  workflow_dispatch:
    inputs:
      dry: { type: boolean }
      count: { type: number, default: 3 }
      name: { type: string, default: x }
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo
";
    let checked = crate::check(text, FileId(0));
    let workflow = checked.workflow.expect("valid");
    let given = [("dry".to_owned(), "true".to_owned()), ("count".to_owned(), "7".to_owned())];
    let plan = lower(&workflow, Vec::new(), &given).expect("lowers");
    let values: Vec<Json> = plan.parameters.iter().map(|p| p.value.clone()).collect();
    assert_eq!(values, [json!(true), json!(7.0), json!("x")]);
    let bad = [("dry".to_owned(), "yes".to_owned()), ("nope".to_owned(), "1".to_owned())];
    let errors = lower(&workflow, Vec::new(), &bad).expect_err("refused");
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "the workflow has no input named `nope`",
            "input `dry` is a boolean, and `yes` is not one: write `true` or `false`"
        ]
    );
}

/// The lowering types inputs as the server's run form does (`slipway_github::dispatch`): a
/// `choice` takes only its options, `workflow_call` inputs count too, and an input left out gets
/// its default or its type's empty value, even when required (nothing asks for it at a push).
#[test]
fn inputs_are_typed_by_the_one_dispatch_typing() {
    let text = "on:
  workflow_dispatch:
    inputs:
      level: { type: choice, options: [info, debug], default: info }
      must: { type: string, required: true }
  workflow_call:
    inputs:
      level: { type: string }
      retries: { type: number }
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo
";
    let workflow = crate::check(text, FileId(0)).workflow.expect("valid");
    let plan = lower(&workflow, Vec::new(), &[]).expect("lowers");
    let values: Vec<(String, Json)> = plan.parameters.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
    let expected = [("level", json!("info")), ("must", json!("")), ("retries", json!(0.0))];
    assert_eq!(values, expected.map(|(name, value)| (name.to_owned(), value)));
    let errors = lower(&workflow, Vec::new(), &[("level".to_owned(), "loud".to_owned())]).expect_err("refused");
    assert_eq!(errors[0].code, "G0510");
    assert_eq!(errors[0].message, "input `level` is a choice, and `loud` is not one: choose one of `info`, `debug`");
    assert_eq!(errors[0].span.map(|span| span.start.line), Some(4), "at the input's declaration");
}

#[test]
fn an_if_with_text_around_its_expressions_is_a_string_as_github_reads_it() {
    // svelte's ci.yml writes `if: (${{ success() }} || ${{ failure() }})`: GitHub formats the
    // pieces into a string, which is not empty, so the step always runs.
    let plan = plan(
        "on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo
        if: (${{ success() }} || ${{ failure() }})
",
    );
    let condition = plan.stages[0].jobs[0].steps[0].condition.as_ref().expect("if");
    assert_eq!(condition.source, "format('({0} || {1})', success(), failure())");
}
