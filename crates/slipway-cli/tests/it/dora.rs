//! `slipway environments dora` and `slipway dora` against a real `slipway serve`: two deployments
//! of a pipeline, the five metrics as text and as the API's JSON, the series in GitLab's DORA API
//! shape as a table and as JSON, and mistakes refused with the server's reason.

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

/// A day `days_ago` days before now, `YYYY-MM-DD` (UTC).
fn date(days_ago: i64) -> String {
    let now = jiff::Timestamp::now();
    now.checked_sub(jiff::SignedDuration::from_hours(24 * days_ago)).unwrap_or(now).strftime("%Y-%m-%d").to_string()
}

#[test]
fn the_five_metrics_from_the_command_line() {
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
    // Deployments are named by where they were recorded: d<id> for Slipway's own.
    let (ok, text) = output(&mut server.admin(&["environments", "dora", "production"]));
    assert!(ok, "{text}");
    assert!(text.contains("Deployment rework rate: 0.0% (0 of 2 deployments were unplanned"), "{text}");
    assert!(text.lines().any(|line| line.starts_with("  deployments: d") && line.contains(", d")), "{text}");

    // `slipway dora`: the two deployments over the last seven days (today included), per day.
    // (Run across midnight UTC, the week may hold them differently.)
    let week = ["--environment", "production", "--start-date", &date(6), "--end-date", &date(0)];
    let mut arguments = vec!["dora", "--metric", "deployment_frequency", "--interval", "all"];
    arguments.extend(week);
    let (ok, text) = output(&mut server.admin(&arguments));
    assert!(ok, "{text}");
    assert_eq!(text, "deployment_frequency (all, the environment production):\nDATE  VALUE\nall   0.29\n");
    arguments.extend(["--format", "json"]);
    let (ok, text) = output(&mut server.admin(&arguments));
    assert!(ok, "{text}");
    let points: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert_eq!(points, serde_json::json!([{ "date": null, "value": 2.0 / 7.0 }]));

    // By default all five metrics, daily, in the production environments; as JSON, by name.
    let mut arguments = vec!["dora"];
    arguments.extend(week);
    let (ok, text) = output(&mut server.admin(&arguments));
    assert!(ok, "{text}");
    for metric in [
        "deployment_frequency",
        "lead_time_for_changes",
        "change_failure_rate",
        "time_to_restore_service",
        "rework_rate",
    ] {
        assert!(
            text.contains(&format!("{metric} (daily, the environment production):\nDATE        VALUE\n")),
            "{metric} in:\n{text}"
        );
    }
    assert!(text.contains(&format!("{}  0.000 (0.0%)", date(0))), "{text}");
    arguments.extend(["--format", "json"]);
    let (ok, text) = output(&mut server.admin(&arguments));
    assert!(ok, "{text}");
    let series: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert_eq!(series["rework_rate"].as_array().map(Vec::len), Some(7), "{text}");
    assert_eq!(series["time_to_restore_service"][6], serde_json::json!({ "date": date(0), "value": null }), "{text}");

    // The server names a bad parameter and what is allowed; clap the metrics it knows.
    let (ok, text) = output(&mut server.admin(&["dora", "--metric", "rework_rate", "--interval", "yearly"]));
    assert!(!ok && text.contains("'interval' is 'yearly'; it must be one of all, monthly, weekly, daily"), "{text}");
    let (ok, text) = output(&mut server.admin(&["dora", "--start-date", "2026-02-30"]));
    assert!(!ok && text.contains("'start_date' is '2026-02-30'; it must be a date written YYYY-MM-DD"), "{text}");
    let (ok, text) = output(&mut server.admin(&["dora", "--metric", "mttr"]));
    assert!(!ok && text.contains("invalid value 'mttr'"), "{text}");
}
