//! `slipway scan secrets`: a working tree, a diff's added lines and a git history, in text, JSON
//! and SARIF; a baseline; and bad input (a rules file's mistake at its file:line:col, a baseline
//! that is not a report, an unknown revision) as exit status 2. Secrets are made at run time in
//! the shapes of real ones and never appear whole in any output.

use std::path::Path;
use std::process::Command;

use crate::support::{scratch_directory, slipway, transcript};

/// A deterministic string from `alphabet`, so the transcripts are stable.
fn shaped(seed: u64, alphabet: &str, length: usize) -> String {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let mut state = seed;
    (0..length)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            alphabet[usize::try_from(state >> 33).unwrap_or(0) % alphabet.len()]
        })
        .collect()
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
}

/// Runs git with a fixed author, committer and dates, so commit ids are the same every run.
fn git(root: &Path, arguments: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main"])
        .args(arguments)
        .env("GIT_AUTHOR_DATE", "2024-05-01T12:00:00+00:00")
        .env("GIT_COMMITTER_DATE", "2024-05-01T12:00:00+00:00")
        .current_dir(root)
        .status()
        .unwrap_or_else(|error| panic!("git: {error}"));
    assert!(status.success(), "git {arguments:?}");
}

#[test]
fn secrets_in_a_tree_a_diff_and_a_history() {
    let directory = scratch_directory("scan");
    let root = directory.join("repo");
    std::fs::create_dir_all(&root).unwrap_or_else(|error| panic!("{error}"));
    let github = format!("ghp_{}", shaped(1, ALNUM, 36));
    let aws = format!("AKIA{}", shaped(2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let password = shaped(3, ALNUM, 20);
    git(&root, &["init", "--quiet"]);
    write(&root, "README.md", "# A service\n");
    write(&root, "config/app.yaml", "database:\n  host: db.internal\n  password: ${DB_PASSWORD}\n");
    git(&root, &["add", "."]);
    git(&root, &["commit", "--quiet", "-m", "Start"]);
    write(&root, "deploy/env.sh", &format!("export AWS_ACCESS_KEY_ID={aws}\nexport GITHUB_TOKEN={github}\n"));
    write(
        &root,
        "config/app.yaml",
        &format!(
            "database:\n  host: db.internal\n  password: ${{DB_PASSWORD}}\n  url: postgres://app:{password}@db.internal/app\n"
        ),
    );
    git(&root, &["add", "."]);
    git(&root, &["commit", "--quiet", "-m", "Deploy script"]);
    write(&root, "notes.txt", &format!("rotated: {github} # gitleaks:allow\n"));
    write(&directory, "broken.toml", "[[rules]]\nid = \"internal-token\"\nregex = '''itk_[a-z0-9{32}'''\n");
    write(&directory, "typo.toml", "[[rules]]\nid = \"internal-token\"\nregex = 'itk_[a-z0-9]{32}'\nsecretgrop = 1\n");
    write(&directory, "not-a-report.json", "{\"findings\": []}\n");
    write(&directory, "clean/README.md", "Nothing to see: api_key = your-api-key-here\n");

    let mut transcripts = Vec::new();
    let mut run = |title: &str, arguments: &[&str]| {
        let mut command = slipway(&root);
        command.args(["scan", "secrets"]).args(arguments);
        transcripts.push(format!("$ {title}\n{}", transcript(&mut command)));
    };
    run("the working tree, for people", &[]);
    run("only what the last commit added (a push)", &["--since", "HEAD~1"]);
    run("every commit, as JSON", &["--git", "--format", "json", "--redact", "100"]);
    run("a clean directory", &["../clean"]);
    run("a rules file with a broken regex", &["--config", "../broken.toml"]);
    run("a rules file with a misspelt key", &["--config", "../typo.toml"]);
    run("a baseline that is not a report", &["--baseline", "../not-a-report.json"]);
    run("an unknown revision", &["--since", "no-such-branch"]);
    run("a path that is not there", &["../nowhere"]);
    run("redacting nothing is refused", &["--redact", "0"]);
    insta::assert_snapshot!(transcripts.join("\n"));

    // A JSON report is a baseline: the same scan then finds nothing new (exit 0).
    let report =
        slipway(&root).args(["scan", "secrets", "--format", "json"]).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status.code(), Some(1));
    std::fs::write(directory.join("baseline.json"), &report.stdout).unwrap_or_else(|error| panic!("{error}"));
    let again = slipway(&root)
        .args(["scan", "secrets", "--baseline", "../baseline.json"])
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
    assert!(String::from_utf8_lossy(&again.stdout).contains("3 already in the baseline"));

    // SARIF: the whole log, with each result's place; no secret whole anywhere.
    let sarif =
        slipway(&root).args(["scan", "secrets", "--format", "sarif"]).output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sarif.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap_or_default();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3);
    for output in [&report.stdout, &sarif.stdout, &sarif.stderr] {
        let text = String::from_utf8_lossy(output);
        for secret in [&github, &aws, &password] {
            assert!(!text.contains(secret.as_str()), "a secret was printed whole");
        }
    }
    let _ = std::fs::remove_dir_all(&directory);
}

/// The built-in tasks in a real `slipway run`: a secret in the checkout fails the step, redacted
/// in the log, with the report kept as an artifact; an SBOM of the checkout's Cargo.lock is kept
/// as an artifact.
#[test]
fn the_security_tasks_in_a_run() {
    let scratch = crate::support::Scratch::run_fixture("artifacts.yml");
    let token = format!("ghp_{}", shaped(3, "aZ3kQ9x", 36));
    scratch.write("app.env", &format!("GITHUB_TOKEN={token}\n"));
    scratch.write("azure-pipelines.yml", "steps:\n- task: SlipwaySecretScan@1\n");
    let outcome = scratch.run(&["azure-pipelines.yml"]);
    let printed = format!("{}{}", outcome.stdout, outcome.stderr);
    assert_ne!(outcome.code, Some(0), "a secret fails the run:\n{printed}");
    assert!(printed.contains("app.env:1:14 github-pat: ghp_"), "{printed}");
    assert!(!printed.contains(&token), "the secret is never printed whole:\n{printed}");
    assert!(printed.contains("Artifacts: secret-scan"), "{printed}");

    let lockfile = "version = 3\n\n[[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \
                    \"registry+https://github.com/rust-lang/crates.io-index\"\n";
    scratch.write("Cargo.lock", lockfile);
    scratch.write("azure-pipelines.yml", "steps:\n- task: SlipwaySbom@1\n");
    let outcome = scratch.run(&["azure-pipelines.yml"]);
    let printed = format!("{}{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.code, Some(0), "{printed}");
    assert!(printed.contains("1 components") && printed.contains("Artifacts: sbom"), "{printed}");
}
