//! `slipway events` against a real `slipway serve`: the runs it carries out become CDEvents on
//! the stream (followed, listed), CDEvents pushed in are stored once with every problem named,
//! and after a kill -9 and a restart the stream goes on with nothing lost or doubled.

use serde_json::Value;

use crate::support::{Server, make_repository, output};

const PIPELINE: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
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

const DEPLOYED: &str = r#"{
  "specversion": "1.0", "id": "jenkins-42", "source": "/ci/jenkins", "type": "dev.cdevents.service.deployed.0.3.0",
  "subject": "checkout",
  "data": {
    "context": { "specversion": "0.5.1", "id": "jenkins-42", "source": "/ci/jenkins",
      "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-12-01T10:00:00Z" },
    "subject": { "id": "checkout", "content": { "environment": { "id": "production" }, "artifactId": "pkg:generic/checkout@1.2.3" } }
  }
}"#;

/// The CloudEvents `slipway events follow` printed.
fn followed(server: &Server, arguments: &[&str]) -> Vec<Value> {
    let mut command = server.admin(&[&["events", "follow"], arguments].concat());
    let (ok, text) = output(&mut command);
    assert!(ok, "{text}");
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))).collect()
}

#[test]
fn the_stream_tells_what_runs_did_takes_pushed_events_and_survives_a_kill() {
    let mut server = Server::start();
    make_repository(&server.dir.join("repo"), &[("azure-pipelines.yml", PIPELINE)]);
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(ok, "{text}");
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
    assert!(ok, "{text}");

    // Following waits for the feeder: the run's end and its deployment come as CloudEvents.
    let finished = followed(&server, &["--type", "dev.cdevents.pipelinerun.finished", "--count", "1"]);
    assert_eq!(finished[0]["data"]["subject"]["content"]["outcome"], "success");
    assert_eq!(finished[0]["data"]["subject"]["content"]["pipelineName"], "shop");
    let deployed = followed(&server, &["--type", "dev.cdevents.service.", "--count", "1"]);
    assert_eq!(deployed[0]["type"], "dev.cdevents.service.deployed.0.3.0");
    assert_eq!(deployed[0]["data"]["subject"]["content"]["environment"]["id"], "production");

    let (ok, text) = output(&mut server.admin(&["events", "list", "--environment", "production"]));
    assert!(ok, "{text}");
    let listed: Vec<&str> = text.lines().collect();
    assert!(listed[0].starts_with("POSITION  TIME"), "{text}");
    let columns = |line: &str| line.split_whitespace().skip(2).collect::<Vec<_>>().join(" ");
    assert_eq!(columns(listed[1]), "dev.cdevents.environment.created.0.3.0 environments/production slipway", "{text}");
    assert_eq!(columns(listed[2]), "dev.cdevents.service.deployed.0.3.0 services/shop slipway", "{text}");
    assert!(listed[3].starts_with("Next: slipway events list --after "), "{text}");

    // Pushed in: stored once; an invalid one is refused with its problems named.
    let file = server.dir.join("deployed.json");
    std::fs::write(&file, DEPLOYED).unwrap_or_else(|error| panic!("{error}"));
    let path = file.display().to_string();
    let (ok, text) = output(&mut server.admin(&["events", "push", &path]));
    assert!(ok, "{text}");
    assert!(
        text.starts_with("Stored dev.cdevents.service.deployed.0.3.0 jenkins-42 from /ci/jenkins at position "),
        "{text}"
    );
    let (ok, text) = output(&mut server.admin(&["events", "push", &path]));
    assert!(ok, "{text}");
    assert_eq!(text, "Already stored: dev.cdevents.service.deployed.0.3.0 jenkins-42 from /ci/jenkins.\n");
    std::fs::write(&file, DEPLOYED.replace(r#""artifactId": "pkg:generic/checkout@1.2.3""#, r#""artifactId": """#))
        .unwrap_or_else(|error| panic!("{error}"));
    let (ok, text) = output(&mut server.admin(&["events", "push", &path]));
    assert!(!ok);
    assert_eq!(text, "error: the event: at /data/subject/content/artifactId: \"\" is shorter than 1 character\n");
    std::fs::write(&file, "{\n  \"id\": ").unwrap_or_else(|error| panic!("{error}"));
    let (ok, text) = output(&mut server.admin(&["events", "push", &path]));
    assert!(!ok);
    assert_eq!(text, format!("error: {path}:2:8: not JSON: EOF while parsing a value\n"));

    // kill -9, restart: what was stored stays, the next run's events follow, none twice.
    server.kill();
    let server = server.restart();
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
    assert!(ok, "{text}");
    let finished = followed(&server, &["--type", "dev.cdevents.pipelinerun.finished", "--count", "2"]);
    let runs: Vec<&str> = finished.iter().filter_map(|event| event["subject"].as_str()).collect();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0], runs[1]);
    let (ok, text) = output(&mut server.admin(&["events", "list", "--format", "json", "--limit", "1000"]));
    assert!(ok, "{text}");
    let page: Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}"));
    let events = page["events"].as_array().cloned().unwrap_or_default();
    let mut ids: Vec<(String, String)> =
        events.iter().map(|event| (event["event"]["source"].to_string(), event["event"]["id"].to_string())).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "an event was stored twice");
    let upgraded =
        events.iter().filter(|event| event["event"]["type"] == "dev.cdevents.service.upgraded.0.3.0").count();
    assert_eq!(upgraded, 1, "{text}");
}
