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
    server.record(
        transcripts,
        title,
        command,
        &[(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "[when]"), (r"\b[0-9a-f]{8}\b", "[commit]")],
    );
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

/// A tiny HTTP server on loopback answering every request with `body`, on a thread.
fn version(body: &'static str) -> std::net::SocketAddr {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
    let address = listener.local_addr().unwrap_or_else(|error| panic!("{error}"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer);
            let answer =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    address
}

/// GETs `/` through the router at `address`; the body.
fn through(address: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|error| panic!("{address}: {error}"));
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

#[test]
fn services_slots_and_traffic_from_the_command_line() {
    let server = Server::start();
    let (blue, green) = (version("blue"), version("green"));
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.to_string())
        .unwrap_or_default();
    let mut transcripts = Vec::new();
    let _ = output(&mut server.admin(&["environments", "create", "prod"]));
    record(
        &mut transcripts,
        &server,
        "slipway services create prod shop --listen ADDRESS",
        &mut server.admin(&["services", "create", "prod", "shop", "--listen", &listen]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway services slot prod shop blue --upstream BLUE --weight 100",
        &mut server.admin(&[
            "services",
            "slot",
            "prod",
            "shop",
            "blue",
            "--upstream",
            &format!("http://{blue}"),
            "--weight",
            "100",
        ]),
    );
    let _ = output(&mut server.admin(&[
        "services",
        "slot",
        "prod",
        "shop",
        "green",
        "--upstream",
        &format!("http://{green}"),
    ]));
    assert_eq!(through(&listen), "blue");
    record(
        &mut transcripts,
        &server,
        "slipway services traffic prod shop blue=0 green=100",
        &mut server.admin(&["services", "traffic", "prod", "shop", "blue=0", "green=100"]),
    );
    assert_eq!(through(&listen), "green");
    assert_eq!(through(&listen), "green");
    record(
        &mut transcripts,
        &server,
        "slipway services traffic prod shop red=5 (no such slot)",
        &mut server.admin(&["services", "traffic", "prod", "shop", "red=5"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway services traffic prod shop green (not SLOT=WEIGHT)",
        &mut server.admin(&["services", "traffic", "prod", "shop", "green"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway services swap prod shop blue green",
        &mut server.admin(&["services", "swap", "prod", "shop", "blue", "green"]),
    );
    assert_eq!(through(&listen), "blue", "green (all the traffic) now runs blue's version");
    record(&mut transcripts, &server, "slipway services list prod", &mut server.admin(&["services", "list", "prod"]));
    // Ports differ in width from run to run, and so do the table's columns.
    let spaces = regex::Regex::new(" {2,}").unwrap_or_else(|error| panic!("{error}"));
    insta::assert_snapshot!(spaces.replace_all(&transcripts.join("\n"), "  ").into_owned());
}

#[test]
fn checks_on_variable_groups_and_pools_from_the_command_line() {
    let server = Server::start();
    let created = output(&mut server.admin(&["groups", "create", "release"]));
    assert!(created.contains("release"), "{created}");
    let added = output(&mut server.admin(&[
        "environments",
        "add-check",
        "release",
        "--group",
        "--type",
        "approval",
        "--settings",
        r#"{"approvers": ["admin"]}"#,
    ]));
    assert_eq!(added.trim(), "Added check 1 (approval) to the variable group release.");
    let pool = output(&mut server.admin(&[
        "environments",
        "add-check",
        "default",
        "--pool",
        "--type",
        "branchControl",
        "--settings",
        r#"{"allowedBranches": "main"}"#,
    ]));
    assert_eq!(pool.trim(), "Added check 2 (branchControl) to the agent pool default.");
    let listed = output(&mut server.admin(&["environments", "checks", "release", "--group"]));
    assert!(listed.contains("approval") && listed.contains("\"approvers\":[\"admin\"]"), "{listed}");
    let both = output(&mut server.admin(&["environments", "checks", "x", "--group", "--pool"]));
    assert!(both.contains("cannot be used with"), "{both}");
    let removed = output(&mut server.admin(&["environments", "delete-check", "default", "--pool", "2"]));
    assert_eq!(removed.trim(), "Removed check 2 from the agent pool default.");
    let missing = output(&mut server.admin(&["environments", "checks", "nope", "--group"]));
    assert!(missing.contains("no variable group named 'nope'"), "{missing}");
}
