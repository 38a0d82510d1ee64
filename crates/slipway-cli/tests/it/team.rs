//! `slipway team` against a real `slipway serve`: two runs of a pipeline, the team dashboard as
//! the API's JSON and as tables, and mistakes refused with the server's reason.

use crate::support::{Server, make_repository, output};

const PIPELINE: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - script: echo built
";

#[test]
fn the_team_dashboard_from_the_command_line() {
    let server = Server::start();
    make_repository(&server.dir.join("repo"), &[("azure-pipelines.yml", PIPELINE)]);
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(ok, "{text}");
    for _ in 0..2 {
        let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
        assert!(ok, "{text}");
    }

    let (ok, text) = output(&mut server.admin(&["team", "--format", "json"]));
    assert!(ok, "{text}");
    let team: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert_eq!(team["days"], 30);
    let shop = &team["pipelines"][0];
    assert_eq!(
        (&shop["pipeline"], &shop["runs"], &shop["succeeded"], &shop["passRate"]),
        (&"shop".into(), &2.into(), &2.into(), &1.0.into()),
        "{text}"
    );
    assert!(shop["medianDurationMs"].as_i64().is_some_and(|median| median > 0), "{text}");
    assert_eq!(team["queues"][0]["jobs"], 2, "{text}");
    let jobs: i64 = team["agents"]
        .as_array()
        .map(|agents| agents.iter().filter_map(|agent| agent["jobs"].as_i64()).sum())
        .unwrap_or_default();
    assert_eq!(jobs, 2, "the server's agents ran both jobs: {text}");

    let (ok, text) = output(&mut server.admin(&["team", "--days", "7", "--pipeline", "shop"]));
    assert!(ok, "{text}");
    for expected in [
        "Pipeline health over the last 7 days, pipeline shop:",
        "PIPELINE  RUNS  SUCCEEDED",
        "100.0%",
        "Flaky tests",
        "Queue times",
        "Agent use",
        "DORA:",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }

    let (ok, text) = output(&mut server.admin(&["team", "--days", "0"]));
    assert!(!ok && text.contains("'days' is 0; it must be between 1 and 90"), "{text}");
    let (ok, text) = output(&mut server.admin(&["team", "--pipeline", "nowhere"]));
    assert!(!ok && text.contains("there is no pipeline named 'nowhere'"), "{text}");
}
