//! The security room on a real `slipway serve`: a pipeline that builds, scans for secrets, writes
//! an SBOM, matches it against an OSV database and tests a manifest against a Rego policy; the
//! run's Security page and API reading its reports back; every artifact
//! signed, its provenance downloaded and checked offline with `slipway verify` (and failing for a
//! modified file, another server's keys and a wrong commit); the key rotated with what it signed
//! still verifying; and an environment guarded by a `verifyProvenance` and a `policy` check that
//! stops a release whose secret scan found something.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Server, make_repository, output, status};

const PIPELINE: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - script: mkdir -p out && echo 'hello from the build' > out/app.txt && echo '#!/bin/sh' > out/run.sh
    - task: PublishPipelineArtifact@1
      inputs:
        targetPath: out
        artifact: drop
    - task: SlipwaySecretScan@1
      inputs:
        failOnFindings: false
        format: json
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

/// [`PIPELINE`] with the vulnerability scan (against the OSV database at `database`) and the
/// policy test of the repository's manifest after the SBOM.
fn full_pipeline(database: &Path) -> String {
    PIPELINE.replace(
        "    - task: SlipwaySbom@1\n",
        &format!(
            "    - task: SlipwaySbom@1\n    - task: SlipwayVulnScan@1\n      inputs:\n        database: {}\n        failOnSeverity: none\n    - task: SlipwayPolicy@1\n      inputs:\n        files: deploy.yaml\n",
            database.display()
        ),
    )
}

/// An advisory in OSV's schema against the `itoa` the lockfile holds.
const ADVISORY: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2099-0001", "modified": "2026-01-01T00:00:00Z",
 "published": "2026-01-01T00:00:00Z", "aliases": ["CVE-2099-0001"], "summary": "itoa writes past its buffer",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.12"}]}]}]}"#;

/// A manifest and a conftest-style policy that warns about it.
const MANIFEST: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  template:\n    spec:\n      containers:\n      - name: shop\n        image: shop:1\n";
const MANIFEST_POLICY: &str = "package main\n\nimport rego.v1\n\nwarn contains msg if {\n\tinput.kind == \"Deployment\"\n\tnot input.spec.template.spec.securityContext.runAsNonRoot\n\tmsg := sprintf(\"%s: containers must not run as root\", [input.metadata.name])\n}\n";

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa"]

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b"
"#;

/// A real-shaped AWS access key (the pair AWS documents as an example, which the default rules
/// find).
const LEAKED: &str =
    "aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

/// The policy the environment's check runs: no release whose secret scan found something, and
/// only verified artifacts.
const POLICY: &str = r#"package main

import rego.v1

deny contains msg if {
	some finding in input.files["secret-scan/secrets.json"]
	msg := sprintf("the secret scan found %s in %s", [finding.RuleID, finding.File])
}

deny contains msg if {
	some artifact in input.artifacts
	artifact.provenance != "verified"
	msg := sprintf("artifact %s has no verified provenance", [artifact.name])
}
"#;

/// `method` `url` with the admin's token: the status and the body's bytes.
fn http(server: &Server, method: &str, path: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url))
        .header("authorization", format!("Bearer {}", server.token))
        .body(())
        .unwrap_or_else(|error| panic!("{error}"));
    let mut response = agent.run(request).unwrap_or_else(|error| panic!("{method} {path}: {error}"));
    let status = response.status().as_u16();
    let bytes = response.body_mut().read_to_vec().unwrap_or_else(|error| panic!("{error}"));
    (status, bytes)
}

/// Signs in to the web UI as the admin, as a browser does (the sign-in form, its CSRF field and
/// cookie), and gets `path` with the session: the status and the page.
fn page(server: &Server, path: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let cookies = |response: &ureq::http::Response<ureq::Body>| -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|cookie| cookie.split(';').next().map(str::to_owned))
            .collect()
    };
    let mut form = agent.get(format!("{}/login", server.url)).call().unwrap_or_else(|error| panic!("{error}"));
    let mut jar = cookies(&form);
    let body = form.body_mut().read_to_string().unwrap_or_default();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field on the sign-in form: {body}"))
        .to_owned();
    let signed_in = agent
        .post(format!("{}/login", server.url))
        .header("cookie", jar.join("; "))
        .send_form([("csrf", csrf.as_str()), ("next", "/"), ("user", "admin"), ("token", server.token.as_str())])
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(signed_in.status().as_u16(), 303, "signing in failed");
    jar.extend(cookies(&signed_in));
    let mut answer = agent
        .get(format!("{}{path}", server.url))
        .header("cookie", jar.join("; "))
        .call()
        .unwrap_or_else(|error| panic!("{error}"));
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap_or_default())
}

fn json_of(server: &Server, path: &str) -> Value {
    let (code, bytes) = http(server, "GET", path);
    assert_eq!(code, 200, "GET {path}: {}", String::from_utf8_lossy(&bytes));
    serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("GET {path}: {error}"))
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::write(path, bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

/// The newest run of `pipeline`: its id and commit.
fn newest_run(server: &Server, pipeline: &str) -> (i64, String) {
    let runs = json_of(server, &format!("/api/v1/runs?pipeline={pipeline}"));
    let list = runs["runs"].as_array().cloned().unwrap_or_default();
    let run = list.first().unwrap_or_else(|| panic!("no run of {pipeline}: {runs}"));
    (run["id"].as_i64().unwrap_or_default(), run["commit"].as_str().unwrap_or_default().to_owned())
}

/// Downloads artifact `name` of run `run` into `directory/name` and its provenance and the
/// server's keys beside it.
fn download(server: &Server, run: i64, name: &str, directory: &Path) {
    let (code, tar) = http(server, "GET", &format!("/api/v1/runs/{run}/artifacts/{name}"));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&tar));
    let target = directory.join(name);
    std::fs::create_dir_all(&target).unwrap_or_else(|error| panic!("{error}"));
    let archive = directory.join(format!("{name}.tar"));
    write(&archive, &tar);
    let (ok, text) = output(std::process::Command::new("tar").arg("-xf").arg(&archive).arg("-C").arg(&target));
    assert!(ok, "tar: {text}");
    let (code, envelope) = http(server, "GET", &format!("/api/v1/runs/{run}/artifacts/{name}/provenance"));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&envelope));
    write(&directory.join(format!("{name}.intoto.json")), &envelope);
    let (code, keys) = http(server, "GET", "/.well-known/slipway/provenance-keys.json");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&keys));
    write(&directory.join("keys.json"), &keys);
}

fn verify(directory: &Path, name: &str, extra: &[&str]) -> (i32, String) {
    let artifact = directory.join(name);
    let provenance = directory.join(format!("{name}.intoto.json"));
    let keys = directory.join("keys.json");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"));
    command.arg("verify").arg(&artifact).arg("--provenance").arg(&provenance).arg("--keys").arg(&keys).args(extra);
    status(&mut command)
}

#[test]
fn a_runs_security_reports_and_signed_artifacts_are_kept_shown_and_verified() {
    let server = Server::start();
    let repo = server.dir.join("repo");
    let database = server.dir.join("osv");
    write(&server.dir.join("RUSTSEC-2099-0001.json"), ADVISORY.as_bytes());
    let mut import = std::process::Command::new(env!("CARGO_BIN_EXE_slipway"));
    import.args(["osv", "import"]).arg(server.dir.join("RUSTSEC-2099-0001.json")).arg("--db").arg(&database);
    let (ok, text) = output(&mut import);
    assert!(ok, "{text}");
    let pipeline = full_pipeline(&database);
    make_repository(
        &repo,
        &[
            ("azure-pipelines.yml", &pipeline),
            ("Cargo.lock", CARGO_LOCK),
            ("config/app.env", LEAKED),
            ("deploy.yaml", MANIFEST),
            ("policy/deploy.rego", MANIFEST_POLICY),
        ],
    );
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(ok, "{text}");
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
    assert!(ok, "{text}\n{}", server.output());
    let (run, commit) = newest_run(&server, "shop");

    // The run's reports, read back from its artifacts.
    let security = json_of(&server, &format!("/api/v1/runs/{run}/security"));
    assert_eq!(security["totals"]["secrets"], 1, "{security:#}");
    assert_eq!(security["totals"]["components"], 2, "{security:#}");
    let secrets = security["reports"]
        .as_array()
        .and_then(|reports| reports.iter().find(|report| report["category"] == "secrets"))
        .cloned()
        .unwrap_or_else(|| panic!("no secrets report: {security:#}"));
    assert_eq!(secrets["findings"][0]["location"], "config/app.env:1", "{secrets:#}");
    // The vulnerability scan and the policy test, from their SARIF reports.
    assert!(security["totals"]["vulnerabilities"].as_u64().unwrap_or_default() >= 1, "{security:#}");
    assert!(security.to_string().contains("RUSTSEC-2099-0001"), "{security:#}");
    assert_eq!(security["totals"]["policy"], 1, "{security:#}");
    assert!(security.to_string().contains("shop: containers must not run as root"), "{security:#}");
    assert!(!secrets.to_string().contains("AKIAQYLPMN5HHHFPZAM2"), "a secret was shown whole: {secrets}");
    // Every artifact the run published is signed and verifies.
    let artifacts = security["artifacts"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = artifacts.iter().filter_map(|artifact| artifact["artifact"].as_str()).collect();
    assert_eq!(names, ["drop", "policy", "sbom", "secret-scan", "vulnerabilities"], "{security:#}");
    assert!(artifacts.iter().all(|artifact| artifact["verdict"] == "verified"), "{security:#}");
    assert_eq!(security["totals"]["verifiedArtifacts"], 5);

    // The pages.
    let (code, html) = page(&server, &format!("/runs/{run}/security"));
    assert_eq!(code, 200, "{html}");
    for expected in [
        "Secrets",
        "aws-access-key-id",
        "config/app.env:1",
        "SBOM",
        "2 components",
        "Vulnerabilities",
        "RUSTSEC-2099-0001",
        "Policy",
        "verified",
        "drop",
    ] {
        assert!(html.contains(expected), "{expected:?} on the run's Security page:\n{html}");
    }
    assert!(!html.contains("AKIAQYLPMN5HHHFPZAM2"), "a secret was shown whole on the page");
    let (code, html) = page(&server, "/pipelines/shop/security");
    assert_eq!(code, 200, "{html}");
    assert!(html.contains(&format!("/runs/{run}/security")) && html.contains("aws-access-key-id"), "{html}");
    let pipeline = json_of(&server, "/api/v1/pipelines/shop/security");
    assert_eq!(pipeline["latest"]["run"], run, "{pipeline:#}");

    // The provenance, checked offline as anyone who downloads the artifact would.
    let scratch = server.dir.join("downloads");
    download(&server, run, "drop", &scratch);
    let builder = server.url.clone();
    let (code, text) = verify(&scratch, "drop", &["--commit", &commit, "--builder", &builder]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = verify(&scratch, "drop", &["--commit", "0123456789abcdef0123456789abcdef01234567"]);
    assert_eq!(code, 1, "a wrong commit verified: {text}");
    write(&scratch.join("drop/app.txt"), b"tampered\n");
    let (code, text) = verify(&scratch, "drop", &[]);
    assert_eq!(code, 1, "a modified artifact verified: {text}");
    assert!(text.contains("app.txt"), "the modified file is not named: {text}");
    write(&scratch.join("drop/app.txt"), b"hello from the build\n");
    let other = Server::start();
    let (_, other_keys) = http(&other, "GET", "/.well-known/slipway/provenance-keys.json");
    write(&scratch.join("keys.json"), &other_keys);
    let (code, text) = verify(&scratch, "drop", &[]);
    assert_eq!(code, 1, "another server's keys verified it: {text}");

    // A new key: what the old one signed still verifies, and new artifacts are signed with it.
    let before = json_of(&server, "/.well-known/slipway/provenance-keys.json");
    let (code, rotated) = http(&server, "POST", "/api/v1/provenance/keys/rotate");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&rotated));
    let after = json_of(&server, "/.well-known/slipway/provenance-keys.json");
    assert_ne!(before, after);
    let security = json_of(&server, &format!("/api/v1/runs/{run}/security"));
    assert_eq!(security["totals"]["verifiedArtifacts"], 5, "the rotation broke what the old key signed: {security:#}");
    download(&server, run, "drop", &scratch);
    let (code, text) = verify(&scratch, "drop", &[]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn an_environment_checks_provenance_and_policy_before_a_release_starts() {
    let server = Server::start();
    let repo = server.dir.join("repo");
    make_repository(
        &repo,
        &[("azure-pipelines.yml", PIPELINE), ("Cargo.lock", CARGO_LOCK), ("config/app.env", LEAKED)],
    );
    for arguments in [
        vec!["pipelines", "create", "--name", "shop", "--repo", "repo"],
        vec!["environments", "create", "production"],
        vec![
            "environments",
            "add-check",
            "production",
            "--type",
            "verifyProvenance",
            "--settings",
            r#"{"artifacts": ["drop"]}"#,
        ],
    ] {
        let (ok, text) = output(&mut server.admin(&arguments));
        assert!(ok, "{arguments:?}: {text}");
    }
    let settings = server.dir.join("policy-check.json");
    write(
        &settings,
        json!({"policies": [{"path": "release.rego", "rego": POLICY}], "inputs": [{"artifact": "secret-scan", "path": "secrets.json"}]})
            .to_string()
            .as_bytes(),
    );
    let settings_argument = format!("@{}", settings.display());
    let (ok, text) = output(&mut server.admin(&[
        "environments",
        "add-check",
        "production",
        "--type",
        "policy",
        "--settings",
        &settings_argument,
    ]));
    assert!(ok, "{text}");

    // A policy that does not parse is refused when it is added, at its line and column.
    let broken = server.dir.join("broken.json");
    write(&broken, json!({"policies": [{"path": "broken.rego", "rego": "package main\n\ndeny contains msg if {\n  msg := \n}\n"}]}).to_string().as_bytes());
    let (ok, text) = output(&mut server.admin(&[
        "environments",
        "add-check",
        "production",
        "--type",
        "policy",
        "--settings",
        &format!("@{}", broken.display()),
    ]));
    assert!(!ok && text.contains("broken.rego:"), "{text}");

    // The secret scan found the key: the policy stops the release.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
    assert!(!ok, "the release went on: {text}");
    assert!(
        text.contains(
            "Stage Deploy did not start: the policy check on environment 'production': the policies deny it: the secret scan found aws-access-key-id in config/app.env"
        ),
        "{text}"
    );
    let (run, _) = newest_run(&server, "shop");
    let run_json = json_of(&server, &format!("/api/v1/runs/{run}/checkpoints"));
    let text = run_json.to_string();
    assert!(text.contains("the secret scan found aws-access-key-id in config/app.env"), "{run_json:#}");
    assert!(text.contains("verifyProvenance") && text.contains("the provenance of drop verified"), "{run_json:#}");

    // Without the key, both checks pass and the release goes out.
    std::fs::remove_file(repo.join("config/app.env")).unwrap_or_else(|error| panic!("{error}"));
    crate::support::git(&repo, &["commit", "-qam", "remove the leaked key"]);
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
    assert!(ok, "{text}\n{}", server.output());
}
