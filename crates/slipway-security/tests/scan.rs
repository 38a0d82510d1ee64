//! Scans of real directories and git repositories: a working tree with archives, an ignore file
//! and a baseline; a diff's added lines; every commit of a history; and the SARIF they make,
//! validated against SARIF 2.1.0's official schema.

use std::path::Path;
use std::process::Command;

use slipway_security::{Request, Target, report, scan};

/// Real-shaped secrets made at run time (none is written in this file).
fn token(prefix: &str, seed: u64, length: usize) -> String {
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
    let mut state = seed;
    let body: String = (0..length)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            alphabet[usize::try_from(state >> 33).unwrap_or(0) % alphabet.len()]
        })
        .collect();
    format!("{prefix}{body}")
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
}

fn git(root: &Path, arguments: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "init.defaultBranch=main"])
        .args(arguments)
        .current_dir(root)
        .output()
        .unwrap_or_else(|error| panic!("git: {error}"));
    assert!(output.status.success(), "git {arguments:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_working_tree_with_archives_an_ignore_file_and_a_baseline() {
    let Ok(directory) = tempfile::tempdir() else { return };
    let root = directory.path();
    let github = token("ghp_", 1, 36);
    let stripe = token("sk_live_", 2, 24);
    write(root, "src/app.py", &format!("import os\n\nGITHUB = \"{github}\"\n"));
    write(root, "config/prod.env", &format!("STRIPE_KEY={stripe}\n"));
    write(root, "ignored/by-git.txt", &format!("{github}\n"));
    write(root, ".gitignore", "ignored/\n");
    write(root, "docs/allowed.md", &format!("{github} <!-- gitleaks:allow -->\n"));
    // A jar holding a properties file with a secret.
    let mut jar = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    assert!(jar.start_file("app/secrets.properties", options).is_ok());
    assert!(std::io::Write::write_all(&mut jar, format!("token={}\n", token("npm_", 3, 36)).as_bytes()).is_ok());
    let jar = jar.finish().map(std::io::Cursor::into_inner).unwrap_or_default();
    std::fs::write(root.join("lib.jar"), jar).unwrap_or_else(|error| panic!("{error}"));

    let report = scan(&Request::tree(root)).unwrap_or_else(|error| panic!("{error}"));
    let mut places: Vec<String> = report.findings.iter().map(|f| format!("{} {}", f.location(), f.rule_id)).collect();
    places.sort();
    assert_eq!(
        places,
        [
            "config/prod.env:1:12 stripe-secret-key",
            "lib.jar!app/secrets.properties:1:7 npm-token",
            "src/app.py:3:11 github-pat"
        ]
    );
    for finding in &report.findings {
        assert!(!finding.secret.contains(&github[..12]) && !finding.matched.contains(&stripe[..16]), "{finding:?}");
        assert!(finding.secret.ends_with("..."), "{finding:?}");
    }

    // The report validates against SARIF 2.1.0's schema.
    let sarif = report::sarif(&report);
    let errors = slipway_testing::schemas::sarif_errors(&sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    // A broken log does not validate: the test would notice.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = serde_json::json!(0);
    assert!(!slipway_testing::schemas::sarif_errors(&broken).is_empty());

    // The JSON report is a baseline: nothing counts again; a new secret does.
    write(root, "baseline.json", &report::json(&report));
    write(root, "src/new.py", &format!("KEY = \"{}\"\n", token("ghp_", 9, 36)));
    let mut request = Request::tree(root);
    request.baseline = Some(root.join("baseline.json"));
    let again = scan(&request).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(again.in_baseline, 3);
    assert_eq!(again.findings.iter().map(|f| f.file.as_str()).collect::<Vec<_>>(), ["src/new.py"]);

    // A .gitleaksignore fingerprint leaves a finding out.
    write(root, ".gitleaksignore", "# reviewed\nsrc/new.py:github-pat:1\n");
    let ignored = scan(&request).unwrap_or_else(|error| panic!("{error}"));
    assert!(ignored.findings.is_empty());
    assert_eq!(ignored.ignored, 1);

    // A team's .gitleaks.toml at the root is used, extending the defaults.
    write(root, ".gitleaks.toml", "[extend]\nuseDefault = true\ndisabledRules = ['stripe-secret-key']\n");
    let custom = scan(&Request::tree(root)).unwrap_or_else(|error| panic!("{error}"));
    assert!(custom.findings.iter().all(|f| f.rule_id != "stripe-secret-key"));
}

#[test]
fn a_diff_scans_only_added_lines_and_history_names_each_commit() {
    let Ok(directory) = tempfile::tempdir() else { return };
    let root = directory.path();
    let old = token("ghp_", 11, 36);
    let new = token("glpat-", 12, 20);
    git(root, &["init", "--quiet"]);
    write(root, "a.txt", &format!("one\nOLD={old}\n"));
    git(root, &["add", "."]);
    git(root, &["commit", "--quiet", "-m", "first"]);
    let first = git(root, &["rev-parse", "HEAD"]);
    write(root, "a.txt", &format!("one\nOLD={old}\nthree\nNEW={new}\n"));
    git(root, &["commit", "--quiet", "-am", "second: add a token"]);
    let second = git(root, &["rev-parse", "HEAD"]);

    let mut request = Request::tree(root);
    request.target = Target::Diff { base: first.clone(), head: "HEAD".into() };
    let diff = scan(&request).unwrap_or_else(|error| panic!("{error}"));
    let found: Vec<String> = diff.findings.iter().map(|f| format!("{} {}", f.location(), f.rule_id)).collect();
    assert_eq!(found, ["a.txt:4:5 gitlab-token"]);
    assert!(diff.findings[0].commit.is_empty());

    request.target = Target::History { since: None };
    let history = scan(&request).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(history.commits, 2);
    let found: Vec<(String, String, usize)> =
        history.findings.iter().map(|f| (f.commit.clone(), f.rule_id.clone(), f.start_line)).collect();
    assert!(found.contains(&(first.clone(), "github-pat".into(), 2)), "{found:?}");
    assert!(found.contains(&(second.clone(), "gitlab-token".into(), 4)), "{found:?}");
    let newest = history.findings.iter().find(|f| f.commit == second).unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(
        (newest.author.as_str(), newest.email.as_str(), newest.message.as_str()),
        ("Ada", "ada@example.com", "second: add a token")
    );
    assert_eq!(newest.fingerprint, format!("{second}:a.txt:gitlab-token:4"));

    request.target = Target::History { since: Some(first) };
    let since = scan(&request).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!((since.commits, since.findings.len()), (1, 1));

    request.target = Target::Diff { base: "no-such-revision".into(), head: "HEAD".into() };
    let error = scan(&request).err().map(|error| error.to_string()).unwrap_or_default();
    assert!(error.contains("git diff failed") && error.contains("no-such-revision"), "{error}");
}
