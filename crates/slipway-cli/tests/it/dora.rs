//! `slipway environments dora` against a real `slipway serve`: two deployments of a pipeline, the
//! four keys as text and as the API's JSON, and a period out of range refused with the server's
//! reason.

use crate::support::{Server, make_repository, output};

const PIPELINE: &str = "\
trigger: none
stages:
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

#[test]
fn the_four_keys_from_the_command_line() {
    let server = Server::start();
    make_repository(&server.dir.join("repo"), &[("azure-pipelines.yml", PIPELINE)]);
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(ok, "{text}");
    for _ in 0..2 {
        let (ok, text) = output(&mut server.admin(&["pipelines", "run", "shop", "--wait"]));
        assert!(ok, "{text}");
    }

    let (ok, text) = output(&mut server.admin(&["environments", "dora", "production", "--format", "json"]));
    assert!(ok, "{text}");
    let metrics: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert_eq!(metrics["days"], 30);
    assert_eq!(metrics["deploymentFrequency"]["deployments"], 2, "{text}");
    assert_eq!(metrics["deploymentFrequency"]["bucket"], "weeklyToMonthly", "{text}");
    assert_eq!(metrics["changeFailureRate"]["rate"], 0.0, "{text}");
    // The second deployed the commit the first did: no changes, so no lead time yet.
    assert_eq!(metrics["leadTimeForChanges"]["changes"], 0, "{text}");

    let (ok, text) = output(&mut server.admin(&["environments", "dora", "production", "--days", "7"]));
    assert!(ok, "{text}");
    for expected in [
        "production: delivery performance over the last 7 days",
        "Deployment frequency: 2 successful deployments",
        "dailyToWeekly; DORA level: high",
        "Lead time for changes: median - over 0 changes",
        "Change failure rate: 0.0% (0 of 2 deployments failed or needed a rollback); DORA level: elite",
        "Failed deployment recovery time: median - over 0 recovered of 0 failures; no level: too little data",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }

    let (ok, text) = output(&mut server.admin(&["environments", "dora", "production", "--days", "400"]));
    assert!(!ok && text.contains("between 1 and 365"), "{text}");
    let (ok, text) = output(&mut server.admin(&["environments", "dora", "staging"]));
    assert!(!ok && text.contains("no environment named 'staging'"), "{text}");
}
