//! `slipway validate` on GitHub Actions workflows as a user runs it: the dialect chosen by the
//! path, every error at `file:line:col` with its source line, and `expand`/`plan`/`run` saying
//! that workflows cannot become plans yet.

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
fn expand_plan_and_run_say_workflows_are_not_lowered_yet() {
    for command in ["expand", "plan", "run"] {
        let output = transcript(slipway(&fixtures()).args([command, ".github/workflows/ci.yml"]));
        assert!(output.starts_with("exit code: 2"), "{command}: {output}");
        assert!(output.contains("lowering GitHub workflows to a plan"), "{command}: {output}");
    }
}
