//! `slipway environments ...` and `slipway approvals ...` against a real `slipway serve`: an
//! environment with an approval check, a run whose deployment stage waits for it (and says so
//! under `--wait`), approving it from the command line, the history and what runs where; and
//! `slipway run` saying once that it does not enforce environments' checks.

use std::process::Command;

use crate::support::{Server, make_repository};

const PIPELINE: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - checkout: none
    - script: echo built
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

fn record(transcripts: &mut Vec<String>, server: &Server, title: &str, command: &mut Command) {
    let text = server.transcript(command);
    let text = [(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "[when]"), (r"\b[0-9a-f]{8}\b", "[commit]")].iter().fold(
        text,
        |text, (pattern, replacement)| {
            regex::Regex::new(pattern)
                .map(|pattern| pattern.replace_all(&text, *replacement).into_owned())
                .unwrap_or(text)
        },
    );
    transcripts.push(format!("$ {title}\n{text}"));
}

fn output(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|error| panic!("{error}"));
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn environments_checks_and_approvals_from_the_command_line() {
    let server = Server::start();
    make_repository(&server.dir.join("repo"), &[("azure-pipelines.yml", PIPELINE)]);
    let mut transcripts = Vec::new();
    let created = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(created.contains("shop"), "{created}");
    record(
        &mut transcripts,
        &server,
        "slipway environments create production --description ...",
        &mut server.admin(&["environments", "create", "production", "--description", "where customers are"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments add-check production --type approval ...",
        &mut server.admin(&[
            "environments",
            "add-check",
            "production",
            "--type",
            "approval",
            "--settings",
            r#"{"approvers": ["admin"], "instructions": "look at the dashboard first"}"#,
        ]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments add-check production --type teleport",
        &mut server.admin(&["environments", "add-check", "production", "--type", "teleport"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments add-check production --type approval --settings '{approvers'",
        &mut server.admin(&[
            "environments",
            "add-check",
            "production",
            "--type",
            "approval",
            "--settings",
            "{approvers",
        ]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments checks production",
        &mut server.admin(&["environments", "checks", "production"]),
    );

    // The run waits for the approval: `--wait` says so, and goes on once it is given.
    let waiting = server
        .admin(&["pipelines", "run", "shop", "--wait"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = output(&mut server.admin(&["approvals", "list"]));
        if listed.lines().count() > 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no approval came: {listed}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    record(&mut transcripts, &server, "slipway approvals list", &mut server.admin(&["approvals", "list"]));
    // Let the follower see the waiting stage before the approval.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    record(
        &mut transcripts,
        &server,
        "slipway approvals approve 1 --comment ...",
        &mut server.admin(&["approvals", "approve", "1", "--comment", "dashboards are green"]),
    );
    let waited = waiting.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert!(waited.status.success(), "{stderr}");
    assert!(
        stderr.contains("[Deploy] the stage waits for its checks: approval on environment 'production': 0 of 1 approvals (`slipway approvals approve 1`)"),
        "--wait says why the stage waits: {stderr}"
    );
    record(
        &mut transcripts,
        &server,
        "slipway approvals approve 1 (again, after the run)",
        &mut server.admin(&["approvals", "approve", "1"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments show production",
        &mut server.admin(&["environments", "show", "production"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway environments delete production --confirm prod",
        &mut server.admin(&["environments", "delete", "production", "--confirm", "prod"]),
    );
    record(&mut transcripts, &server, "slipway environments list", &mut server.admin(&["environments", "list"]));
    insta::assert_snapshot!(transcripts.join("\n"));

    // A local run of the same pipeline says once that it does not enforce the checks.
    let local = output(server.slipway(&["run", "repo/azure-pipelines.yml"]).current_dir(&server.dir));
    let notice = "this local run deploys to environment 'production' without its approvals and checks";
    assert_eq!(local.matches(notice).count(), 1, "{local}");
}
