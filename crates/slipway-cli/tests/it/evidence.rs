//! `slipway evidence` against a real `slipway serve`: a pipeline that tests, publishes an
//! artifact and an SBOM, then deploys to an environment guarded by an approval; the approval
//! given by its approver; the deployment's and the run's evidence bundles downloaded, unpacked
//! and read (the approver, the tests, the commit, the work items, the SBOM and provenance);
//! `slipway evidence verify` passing with the server's keys (fetched, and from a file), and
//! failing for a changed, an added and a removed file (each named) and for keys of another
//! server; bad input exiting 2; and a second release whose bundle lists the commit since the
//! previous successful deployment.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Server, make_repository, output, status};

const PIPELINE: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - script: mkdir -p out && echo 'hello from the build' > out/app.txt
    - task: PublishTestResults@2
      inputs:
        testResultsFormat: JUnit
        testResultsFiles: '**/TEST-*.xml'
        testRunTitle: Shop unit tests
    - task: PublishPipelineArtifact@1
      inputs:
        targetPath: out
        artifact: drop
    - task: SlipwaySbom@1
- stage: Deploy
  jobs:
  - deployment: ship
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo deployed
";

const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="shop" tests="2" failures="0" skipped="0" time="0.20">
    <testcase classname="shop.cart" name="adds an item to the cart" time="0.10"/>
    <testcase classname="shop.cart" name="totals the cart &amp; taxes" time="0.10"/>
  </testsuite>
</testsuites>
"#;

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "shop"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"
"#;

/// A transcript for the snapshot, with what changes from run to run replaced.
fn record(transcripts: &mut Vec<String>, server: &Server, title: &str, command: &mut Command) {
    server.record(
        transcripts,
        title,
        command,
        &[(r"\b[0-9a-f]{64}\b", "[sha256]"), (r"\(\d+ bytes\)", "([size] bytes)")],
    );
}

/// Unpacks `archive` into `directory`.
fn unpack(archive: &Path, directory: &Path) {
    std::fs::create_dir_all(directory).unwrap_or_else(|error| panic!("{error}"));
    let (ok, text) = output(Command::new("tar").arg("-xzf").arg(archive).arg("-C").arg(directory));
    assert!(ok, "tar: {text}");
}

/// Packs `directory/top` into `archive`.
fn pack(directory: &Path, top: &str, archive: &Path) {
    let (ok, text) = output(Command::new("tar").arg("-czf").arg(archive).arg("-C").arg(directory).arg(top));
    assert!(ok, "tar: {text}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn evidence_bundles_of_a_deployment_and_a_run_are_signed_and_checked() {
    let server = Server::start();
    let repo = server.dir.join("repo");
    make_repository(
        &repo,
        &[("azure-pipelines.yml", PIPELINE), ("tests/TEST-shop.xml", JUNIT), ("Cargo.lock", CARGO_LOCK)],
    );
    let commit = {
        let found = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&repo).output();
        found.map(|found| String::from_utf8_lossy(&found.stdout).trim().to_owned()).unwrap_or_default()
    };
    assert_eq!(commit.len(), 40, "{commit}");
    // Alice approves releases; the token is on the line after the announcement.
    let made = server.admin(&["users", "create", "alice", "--role", "contributor"]).output();
    let made = made.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
    let alice = made.lines().nth(1).map(str::trim).unwrap_or_default().to_owned();
    assert!(alice.starts_with("slw_"), "{made}");
    let as_alice = |arguments: &[&str]| {
        let mut command = server.slipway(arguments);
        command.args(["--server", &server.url, "--token", &alice]);
        command
    };
    for arguments in [
        vec!["pipelines", "create", "--name", "shop", "--repo", "repo"],
        vec!["environments", "create", "production", "--description", "where customers are"],
        vec![
            "environments",
            "add-check",
            "production",
            "--type",
            "approval",
            "--settings",
            r#"{"approvers": ["alice"], "instructions": "check the dashboards"}"#,
        ],
    ] {
        let (code, text) = status(&mut server.admin(&arguments));
        assert_eq!(code, 0, "{arguments:?}: {text}");
    }

    // The run waits for Alice's approval, then deploys.
    let mut waiting = server
        .admin(&["pipelines", "run", "shop", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, listed) = status(&mut as_alice(&["approvals", "list"]));
        if listed.lines().count() > 1 {
            break;
        }
        if Instant::now() > deadline || matches!(waiting.try_wait(), Ok(Some(_))) {
            let _ = waiting.kill();
            let ended = waiting.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
            panic!(
                "no approval came: {listed}\n{}{}",
                String::from_utf8_lossy(&ended.stdout),
                String::from_utf8_lossy(&ended.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, text) = status(&mut as_alice(&["approvals", "approve", "1", "--comment", "dashboards are green"]));
    assert_eq!(code, 0, "{text}");
    let waited = waiting.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));

    // A task linked to the commit, and a bug linked to the run and resolved.
    for arguments in [
        vec!["work-items", "create", "--kind", "task", "--title", "Ship the cart to customers"],
        vec!["work-items", "link", "1", "--commit", commit.as_str()],
        vec!["work-items", "create", "--kind", "bug", "--title", "The cart forgot <b>taxes</b>"],
        vec!["work-items", "link", "2", "--run", "1"],
        vec!["work-items", "resolve", "2"],
        vec!["work-items", "create", "--kind", "task", "--title", "Something unrelated"],
    ] {
        let (code, text) = status(&mut server.admin(&arguments));
        assert_eq!(code, 0, "{arguments:?}: {text}");
    }

    let mut transcripts = Vec::new();
    record(
        &mut transcripts,
        &server,
        "slipway evidence production/1",
        &mut server.admin(&["evidence", "production/1"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway evidence 1 -o run.tar.gz",
        &mut server.admin(&["evidence", "1", "-o", "run.tar.gz"]),
    );
    let deployment = server.dir.join("evidence-production-1.tar.gz");
    let run = server.dir.join("run.tar.gz");
    assert!(deployment.is_file() && run.is_file(), "{transcripts:?}");

    // What the deployment's bundle says.
    let unpacked = server.dir.join("unpacked");
    unpack(&deployment, &unpacked);
    let top = unpacked.join("evidence-production-1");
    let index = read(&top.join("index.html"));
    for expected in [
        "deployment production/1",
        "<strong>alice</strong>",
        "dashboards are green",
        "adds an item to the cart",
        "totals the cart &amp; taxes",
        "Shop unit tests",
        commit.as_str(),
        "Ship the cart to customers",
        "The cart forgot &lt;b&gt;taxes&lt;/b&gt;",
        "SBOM (CycloneDX)",
    ] {
        assert!(index.contains(expected), "the index page does not say {expected:?}:\n{index}");
    }
    assert!(!index.contains("<b>taxes</b>"), "a value is not escaped");
    assert!(!index.contains("Something unrelated"), "an unrelated work item is listed");
    let evidence: serde_json::Value =
        serde_json::from_str(&read(&top.join("evidence.json"))).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(evidence["format"], "slipway-evidence/v1");
    assert_eq!(evidence["deployment"]["environment"], "production");
    assert_eq!(evidence["commits"]["commits"][0]["commit"], commit.as_str());
    assert_eq!(evidence["testTotals"]["passed"], 2);
    let decisions = &evidence["checkpoints"][0]["checks"][0]["decisions"][0];
    assert_eq!(
        (&decisions["user"], &decisions["status"]),
        (&serde_json::json!("alice"), &serde_json::json!("approved"))
    );
    let mut items: Vec<String> = evidence["workItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| format!("{} {}", item["id"], item["state"].as_str().unwrap_or_default()))
        .collect();
    items.sort();
    assert_eq!(items, ["1 new", "2 resolved"]);
    let files: Vec<&str> =
        evidence["files"].as_array().into_iter().flatten().filter_map(|file| file["path"].as_str()).collect();
    assert!(files.contains(&"provenance/drop.intoto.jsonl"), "{files:?}");
    assert!(files.iter().any(|path| path.starts_with("tests/")), "{files:?}");
    assert!(files.iter().any(|path| path.starts_with("security/") && path.ends_with(".cdx.json")), "{files:?}");
    for file in &files {
        assert!(top.join(file).is_file(), "{file} is listed but not in the bundle");
    }

    // Whole: with the server's keys fetched (no token needed) and from a file.
    record(
        &mut transcripts,
        &server,
        "slipway evidence verify evidence-production-1.tar.gz --server URL",
        &mut server.slipway(&["evidence", "verify", "evidence-production-1.tar.gz", "--server", &server.url]),
    );
    let keys = ureq::get(format!("{}/.well-known/slipway/provenance-keys.json", server.url))
        .call()
        .and_then(|mut answer| answer.body_mut().read_to_string())
        .unwrap_or_else(|error| panic!("the server's keys: {error}"));
    std::fs::write(server.dir.join("keys.json"), &keys).unwrap_or_else(|error| panic!("{error}"));
    let (code, text) = status(&mut server.slipway(&["evidence", "verify", "run.tar.gz", "--keys", "keys.json"]));
    assert_eq!(code, 0, "{text}");

    // Tampered: a changed index page.
    std::fs::write(top.join("index.html"), index.replace("alice", "mallory")).unwrap_or_else(|error| panic!("{error}"));
    pack(&unpacked, "evidence-production-1", &server.dir.join("changed.tar.gz"));
    record(
        &mut transcripts,
        &server,
        "slipway evidence verify changed.tar.gz --keys keys.json",
        &mut server.slipway(&["evidence", "verify", "changed.tar.gz", "--keys", "keys.json"]),
    );
    // An added file and a removed one, the index page put back.
    std::fs::write(top.join("index.html"), &index).unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(top.join("extra.txt"), "slipped in").unwrap_or_else(|error| panic!("{error}"));
    std::fs::remove_file(top.join("provenance/drop.intoto.jsonl")).unwrap_or_else(|error| panic!("{error}"));
    pack(&unpacked, "evidence-production-1", &server.dir.join("added.tar.gz"));
    record(
        &mut transcripts,
        &server,
        "slipway evidence verify added.tar.gz --keys keys.json",
        &mut server.slipway(&["evidence", "verify", "added.tar.gz", "--keys", "keys.json"]),
    );
    // Another server's keys.
    let other = Server::start();
    record(
        &mut transcripts,
        &server,
        "slipway evidence verify run.tar.gz --server OTHER",
        &mut server.slipway(&["evidence", "verify", "run.tar.gz", "--server", &other.url]),
    );
    // Bad input.
    record(
        &mut transcripts,
        &server,
        "slipway evidence verify keys.json --keys keys.json",
        &mut server.slipway(&["evidence", "verify", "keys.json", "--keys", "keys.json"]),
    );
    record(&mut transcripts, &server, "slipway evidence production", &mut server.admin(&["evidence", "production"]));
    record(
        &mut transcripts,
        &server,
        "slipway evidence production/99",
        &mut server.admin(&["evidence", "production/99"]),
    );
    record(&mut transcripts, &server, "slipway evidence 99", &mut server.admin(&["evidence", "99"]));
    insta::assert_snapshot!(transcripts.join("\n"));

    // The run's bundle names its deployment too.
    let unpacked = server.dir.join("run");
    unpack(&run, &unpacked);
    let index = read(&unpacked.join("evidence-run-1/index.html"));
    assert!(index.contains("production/1") && index.contains("<strong>alice</strong>"), "{index}");

    // A second release: its bundle lists the commit since the previous successful deployment.
    std::fs::write(repo.join("CHANGES.md"), "taxes are added\n").unwrap_or_else(|error| panic!("{error}"));
    crate::support::git(&repo, &["add", "."]);
    crate::support::git(&repo, &["commit", "--quiet", "-m", "Add taxes to the cart"]);
    let second = {
        let found = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&repo).output();
        found.map(|found| String::from_utf8_lossy(&found.stdout).trim().to_owned()).unwrap_or_default()
    };
    let waiting = server
        .admin(&["pipelines", "run", "shop", "--wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(&mut as_alice(&["approvals", "approve", "2", "--comment", "second release"])).0 != 0 {
        assert!(Instant::now() < deadline, "approval 2 never came");
        std::thread::sleep(Duration::from_millis(200));
    }
    let waited = waiting.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
    assert!(waited.status.success(), "the second run failed");
    let (code, text) = status(&mut server.admin(&["evidence", "production/2", "-o", "second.tar.gz"]));
    assert_eq!(code, 0, "{text}");
    let (code, text) = status(&mut server.slipway(&["evidence", "verify", "second.tar.gz", "--keys", "keys.json"]));
    assert_eq!(code, 0, "{text}");
    let unpacked = server.dir.join("second");
    unpack(&server.dir.join("second.tar.gz"), &unpacked);
    let evidence: serde_json::Value =
        serde_json::from_str(&read(&unpacked.join("evidence-production-2/evidence.json")))
            .unwrap_or_else(|error| panic!("{error}"));
    let commits: Vec<(&str, &str)> = evidence["commits"]["commits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|found| (found["commit"].as_str().unwrap_or_default(), found["message"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(commits, [(second.as_str(), "Add taxes to the cart")], "{}", evidence["commits"]);
    assert_eq!(evidence["commits"]["complete"], true, "{}", evidence["commits"]);
    let index = read(&unpacked.join("evidence-production-2/index.html"));
    assert!(index.contains("second release") && index.contains("since the previous successful deployment"), "{index}");
}
