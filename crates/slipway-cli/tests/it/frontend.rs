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

/// A reader that goes away early (`slipway expand ... | head`) ends the command quietly, with the
/// status a shell gives `ls | head` (141), not a panic (101) with "Broken pipe" on standard error.
#[test]
fn a_closed_pipe_ends_the_command_quietly() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Read as _;
    let directory = tempfile::tempdir()?;
    // More output than a pipe holds (64 KiB), so that writing must meet the closed end.
    let mut pipeline = String::from("steps:\n");
    for step in 0..3000 {
        pipeline.push_str(&format!("- script: echo this is step number {step} of a long pipeline\n"));
    }
    std::fs::write(directory.path().join("long.yml"), pipeline)?;
    for command in [&["expand", "long.yml"][..], &["plan", "long.yml"], &["plan", "long.yml", "--format", "json"]] {
        let mut child = slipway(directory.path())
            .args(command)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let mut first = [0_u8; 16];
        stdout.read_exact(&mut first)?;
        drop(stdout);
        let output = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(141), "{command:?}: {stderr}");
        assert!(stderr.is_empty(), "{command:?} printed: {stderr}");
    }
    Ok(())
}

/// `text` with every run of twenty or more `- ` (a line nested thousands deep), and the spaces
/// before the caret under it, shortened, so that a snapshot shows the diagnostic without the
/// whole line (its column is in the `-->` line).
fn shorten_deep_lines(text: &str) -> String {
    crate::support::scrub(text, &[(r"(- ){20,}", "[- - - ...]"), (r" {40,}\^", " [...]^")])
}

/// A GitHub workflow with a step nested 10,000 deep (`- - - - …`) is refused with a diagnostic
/// at file:line:col and exit code 2 by `validate`, `plan` and `run`: the workflow is read on a
/// thread with a large stack where a panic is a diagnostic (issue 10), never a crash (134).
#[test]
fn a_workflow_nested_ten_thousand_deep_is_a_diagnostic() {
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir_all(directory.path().join(".github/workflows")).expect("workflows");
    let workflow = format!(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n      - {}x\n",
        "- ".repeat(10_000)
    );
    std::fs::write(directory.path().join(".github/workflows/deep.yml"), workflow).expect("workflow");
    let mut transcripts = String::new();
    for arguments in [&["validate", ".github/workflows/deep.yml"][..], &["plan", ".github/workflows/deep.yml"]] {
        let text = transcript(slipway(directory.path()).args(arguments));
        assert!(text.starts_with("exit code: 2\n"), "{arguments:?}: {}", shorten_deep_lines(&text));
        transcripts.push_str(&format!("$ slipway {}\n{}\n", arguments.join(" "), shorten_deep_lines(&text)));
    }
    insta::assert_snapshot!(transcripts);
}

/// `slipway validate` (and `plan`) of an Azure pipeline nested 10,000 deep under a step exits
/// with the diagnostic at file:line:col and code 2; the original report saw it end with 134.
#[test]
fn an_azure_pipeline_nested_ten_thousand_deep_is_a_diagnostic() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let pipeline = format!("steps:\n- script: echo\n- {}x\n", "- ".repeat(10_000));
    std::fs::write(directory.path().join("azure-pipelines.yml"), pipeline).expect("pipeline");
    let mut transcripts = String::new();
    for arguments in [&["validate", "azure-pipelines.yml"][..], &["plan", "azure-pipelines.yml"]] {
        let text = transcript(slipway(directory.path()).args(arguments));
        assert!(text.starts_with("exit code: 2\n"), "{arguments:?}: {}", shorten_deep_lines(&text));
        transcripts.push_str(&format!("$ slipway {}\n{}\n", arguments.join(" "), shorten_deep_lines(&text)));
    }
    insta::assert_snapshot!(transcripts);
}
