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

/// A cloned repository can hold links to files of the machine (`~/.ssh/id_rsa`, the server's
/// admin token): `validate`, `expand`, `plan` and `run` refuse them and quote nothing of what they
/// point at, for the entry file and for templates alike.
#[test]
fn links_out_of_the_repository_are_refused_without_reading_them() {
    let top = tempfile::tempdir().expect("temporary directory");
    let secret = top.path().join("secret-token");
    std::fs::write(&secret, "TOP-SECRET-VALUE\n").expect("secret");
    let repository = top.path().join("repo");
    std::fs::create_dir_all(repository.join(".git")).expect("repository");
    std::fs::write(repository.join("pipeline.yml"), "steps:\n- template: steps.yml\n").expect("pipeline");
    std::fs::write(repository.join("real.yml"), "steps:\n- script: echo inside\n").expect("template");
    std::os::unix::fs::symlink(&secret, repository.join("steps.yml")).expect("link");
    std::os::unix::fs::symlink(&secret, repository.join("direct.yml")).expect("link");
    std::os::unix::fs::symlink("real.yml", repository.join("inside.yml")).expect("link");
    let mut transcripts = String::new();
    for arguments in [
        &["validate", "pipeline.yml"][..],
        &["validate", "direct.yml"],
        &["expand", "pipeline.yml"],
        &["plan", "direct.yml"],
        &["run", "pipeline.yml"],
        &["validate", "inside.yml"],
    ] {
        let text = transcript(slipway(&repository).args(arguments)).replace(&top.path().display().to_string(), "[TMP]");
        assert!(!text.contains("TOP-SECRET-VALUE"), "{text}");
        transcripts.push_str(&format!("$ slipway {}\n{text}\n", arguments.join(" ")));
    }
    insta::assert_snapshot!(transcripts);
}
