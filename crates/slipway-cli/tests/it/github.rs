//! `slipway validate` on GitHub Actions workflows as a user runs it: the dialect chosen by the
//! path, every error at `file:line:col` with its source line; `plan` lowering a workflow (with
//! its inputs) and `expand` printing it as GitHub reads it; what cannot run yet named at its
//! place.

use crate::support::{slipway, transcript, workspace};

fn fixtures() -> std::path::PathBuf {
    workspace().join("crates/slipway-cli/tests/it/fixtures/github")
}

#[test]
fn validate_a_valid_workflow() {
    insta::assert_snapshot!(transcript(slipway(&fixtures()).args(["validate", ".github/workflows/ci.yml"])));
}

#[test]
fn validate_reports_every_error_of_a_workflow_with_its_place() {
    insta::assert_snapshot!(transcript(slipway(&fixtures()).args(["validate", ".github/workflows/broken.yml"])));
}

#[test]
fn validate_a_workflow_as_json() {
    insta::assert_snapshot!(transcript(slipway(&fixtures()).args([
        "validate",
        "--format",
        "json",
        ".github/workflows/release.yml"
    ])));
}

#[test]
fn the_dialect_can_be_forced() {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let text = std::fs::read_to_string(fixtures().join(".github/workflows/ci.yml")).expect("fixture");
    std::fs::write(scratch.path().join("ci.yml"), text.replace("    uses: ./.github/workflows/release.yml\n    with:\n      version: ${{ github.sha }}\n    secrets: inherit\n", "    runs-on: ubuntu-latest\n    steps:\n      - run: echo release\n")).expect("copy");
    // Outside `.github/workflows/`, the content says it is a workflow.
    let by_content = transcript(slipway(scratch.path()).args(["validate", "ci.yml"]));
    assert!(by_content.contains("ci.yml: valid (GitHub Actions workflow: 3 jobs, 5 steps)"), "{by_content}");
    // Forced to Azure, it is not an Azure pipeline.
    let forced = transcript(slipway(scratch.path()).args(["validate", "--dialect", "azure", "ci.yml"]));
    assert!(forced.contains("exit code: 2") && !forced.contains("GitHub Actions"), "{forced}");
    // Forced to GitHub, an Azure pipeline is a workflow with the wrong keys.
    std::fs::write(scratch.path().join("azure.yml"), "steps:\n- script: echo hi\n").expect("pipeline");
    let azure = transcript(slipway(scratch.path()).args(["validate", "--dialect", "github", "azure.yml"]));
    assert!(
        azure.contains("unexpected key 'steps'") && azure.contains("required property is missing: jobs"),
        "{azure}"
    );
}

#[test]
fn plan_lowers_a_workflow() {
    insta::assert_snapshot!(transcript(slipway(&fixtures()).args([
        "plan",
        "--param",
        "level=release",
        ".github/workflows/build.yml"
    ])));
}

#[test]
fn expand_prints_a_workflow_as_github_reads_it() {
    let output = transcript(slipway(&fixtures()).args(["expand", ".github/workflows/build.yml"]));
    assert!(output.starts_with("exit code: 0"), "{output}");
    assert!(output.contains("matrix:") && output.contains("rust:"), "{output}");
}

#[test]
fn what_a_plan_cannot_hold_yet_is_named_with_its_place() {
    // A reusable workflow call cannot run yet: `plan` and `run` say so at the call, and a
    // `workflow_dispatch` input the workflow does not declare is refused.
    insta::assert_snapshot!(transcript(slipway(&fixtures()).args(["plan", ".github/workflows/ci.yml"])));
    let run = transcript(slipway(&fixtures()).args(["run", ".github/workflows/ci.yml"]));
    assert!(run.starts_with("exit code: 2") && run.contains("G0501"), "{run}");
    let unknown = transcript(slipway(&fixtures()).args(["plan", "--param", "nope=1", ".github/workflows/build.yml"]));
    assert!(
        unknown.starts_with("exit code: 2") && unknown.contains("the workflow has no input named `nope`"),
        "{unknown}"
    );
}
