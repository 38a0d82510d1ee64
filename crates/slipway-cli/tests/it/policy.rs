//! `slipway policy test` on the fixtures in `fixtures/policy/`: a hand-made Terraform plan
//! (`terraform show -json`'s shape) and a two-document Kubernetes YAML against conftest-style
//! policies (Rego v1 and v0, prefixed rules, an object result, an exception, warnings, a
//! `_test.rego` left out); conftest's own example library copied unchanged, in v1 and v0, giving
//! conftest's documented counts; exit codes (0, 1, 2 with `file:line:col` for a policy and an
//! input that do not parse, no policies found); the JSON, SARIF and JUnit outputs' shapes.

use std::path::PathBuf;

use crate::support::{slipway, transcript, workspace};

fn fixtures() -> PathBuf {
    workspace().join("crates/slipway-cli/tests/it/fixtures/policy")
}

fn run(arguments: &[&str]) -> (i32, String, String) {
    let output = slipway(&fixtures()).args(["policy", "test"]).args(arguments).output().expect("slipway runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_plan_and_manifests_against_conftest_style_policies() {
    let mut transcripts = Vec::new();
    let mut record = |title: &str, arguments: &[&str]| {
        let mut command = slipway(&fixtures());
        command.args(["policy", "test"]).args(arguments);
        transcripts.push(format!("$ {title}\n{}", transcript(&mut command)));
    };
    record("a Terraform plan and a Deployment", &["tfplan.json", "deployment.yaml"]);
    record(
        "conftest's example library (v1) unchanged",
        &["-p", "conftest-kubernetes/policy", "conftest-kubernetes/deployment.yaml"],
    );
    record(
        "the same library in v0",
        &["-p", "conftest-kubernetes-v0/policy", "conftest-kubernetes/deployment.yaml", "--all-namespaces"],
    );
    record(
        "conftest's library on a Deployment and a Service",
        &["-p", "conftest-kubernetes/policy", "deployment.yaml"],
    );
    record("warnings only pass", &["-p", "conftest-kubernetes/policy", "service.yaml"]);
    record(
        "warnings fail with --fail-on-warn",
        &["-p", "conftest-kubernetes/policy", "service.yaml", "--fail-on-warn"],
    );
    record("a sandbox plan: the deletion excepted", &["sandbox-plan.json"]);
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn bad_input_is_exit_2_with_its_place() {
    let mut transcripts = Vec::new();
    let mut record = |title: &str, arguments: &[&str]| {
        let mut command = slipway(&fixtures());
        command.args(["policy", "test"]).args(arguments);
        transcripts.push(format!("$ {title}\n{}", transcript(&mut command)));
    };
    record("a policy that does not parse", &["-p", "broken", "deployment.yaml"]);
    record("a YAML input that does not parse", &["broken.yaml"]);
    record("a JSON input that does not parse", &["broken.json"]);
    record("no policies", &["-p", "README.md", "tfplan.json"]);
    record("a policy path that is not there", &["-p", "nowhere", "tfplan.json"]);
    record("a namespace no policy has", &["tfplan.json", "--namespace", "nowhere"]);
    record("a file of unknown kind", &["README.md"]);
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn json_sarif_and_junit_outputs() {
    let (code, stdout, stderr) = run(&["tfplan.json", "deployment.yaml", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let results: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
    let plan = &results[0];
    assert_eq!(plan["filename"], "tfplan.json");
    assert_eq!(plan["namespace"], "main");
    let failures: Vec<&str> =
        plan["failures"].as_array().into_iter().flatten().filter_map(|failure| failure["msg"].as_str()).collect();
    assert_eq!(
        failures,
        [
            "aws_s3_bucket_acl.site: the bucket ACL 'public-read' makes the bucket public",
            "aws_db_instance.orders: the plan deletes a database (actions [\"delete\"])",
            "aws_db_instance.scratch: the plan deletes a database (actions [\"delete\"])",
            "aws_ebs_volume.data: EBS volumes must be encrypted",
        ]
    );
    assert_eq!(plan["failures"][3]["metadata"]["severity"], "high");
    assert_eq!(plan["failures"][0]["metadata"]["query"], "data.main.deny_public_bucket");
    assert!(stderr.contains("failure"), "the summary goes to standard error: {stderr}");

    let (code, stdout, _) = run(&["tfplan.json", "sandbox-plan.json", "deployment.yaml", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"));
    assert_eq!(sarif["version"], "2.1.0");
    let levels: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|result| result["level"].as_str())
        .collect();
    assert!(levels.contains(&"error") && levels.contains(&"warning") && levels.contains(&"note"), "{levels:?}");
    assert_eq!(sarif["runs"][0]["invocations"][0]["exitCode"], 1);

    let (code, stdout, _) = run(&["tfplan.json", "deployment.yaml", "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"), "{stdout}");
    assert_eq!(stdout.matches("<testsuite ").count(), stdout.matches("</testsuite>").count());
    assert_eq!(stdout.matches("<testcase ").count(), stdout.matches("</testcase>").count());
    assert!(stdout.contains("name=\"conftest.main\""), "{stdout}");
    assert!(stdout.contains("&#39;public-read&#39;"), "quotes in messages are escaped: {stdout}");

    let (code, _, _) = run(&["-p", "conftest-kubernetes/policy", "service.yaml"]);
    assert_eq!(code, 0, "warnings alone pass");
}
