//! `slipway validate`, `expand` and `plan` as a user runs them.

use crate::support::{slipway, transcript, workspace};

#[test]
fn validate_the_example_pipeline() {
    insta::assert_snapshot!(transcript(slipway(&workspace()).args(["validate", "examples/azure-pipelines.yml"])));
}

#[test]
fn expand_the_example_pipeline() {
    insta::assert_snapshot!(transcript(slipway(&workspace()).args([
        "expand",
        "examples/azure-pipelines.yml",
        "--param",
        "runExtendedTests=true"
    ])));
}

#[test]
fn plan_the_example_pipeline() {
    insta::assert_snapshot!(transcript(slipway(&workspace()).args([
        "plan",
        "examples/azure-pipelines.yml",
        "--format",
        "json"
    ])));
}

#[test]
fn validate_reports_every_error_with_its_place() {
    let fixtures = workspace().join("crates/slipway-cli/tests/it/fixtures");
    insta::assert_snapshot!(transcript(slipway(&fixtures).args(["validate", "invalid.yml"])));
}

#[test]
fn validate_as_json() {
    let fixtures = workspace().join("crates/slipway-cli/tests/it/fixtures");
    insta::assert_snapshot!(transcript(slipway(&fixtures).args(["validate", "--format", "json", "invalid.yml"])));
}

#[test]
fn missing_files_and_bad_arguments() {
    let fixtures = workspace().join("crates/slipway-cli/tests/it/fixtures");
    insta::assert_snapshot!(transcript(slipway(&fixtures).args(["validate", "no-such-file.yml"])));
    insta::assert_snapshot!(transcript(slipway(&fixtures).args(["expand", "invalid.yml", "--param", "novalue"])));
}

#[test]
fn templates_from_another_repository_need_repo() {
    let fixtures = workspace().join("crates/slipway-cli/tests/it/fixtures");
    insta::assert_snapshot!(transcript(slipway(&fixtures).args(["expand", "uses-other-repository.yml"])));
    insta::assert_snapshot!(transcript(slipway(&fixtures).args([
        "expand",
        "uses-other-repository.yml",
        "--repo",
        "templates=other-repository"
    ])));
}
