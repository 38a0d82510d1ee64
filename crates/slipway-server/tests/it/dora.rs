//! DORA's four keys of an environment through the API, from deployments that runs carried out by
//! the engine recorded over a real git repository: a first deployment, one that brings two
//! commits, a failed one and the one that recovers from it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestResult, TestServer, create_user, make_repository, on_both_databases, send, wait_for_run};

/// A deployment job to `production` that fails on the branch `broken`.
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
          - script: test \"$(Build.SourceBranchName)\" != broken
";

fn git(repository: &std::path::Path, arguments: &[&str]) -> TestResult {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=Dee Veloper", "-c", "user.email=dee@example.com"])
        .args(arguments)
        .current_dir(repository)
        .status()?;
    assert!(status.success(), "git {arguments:?}");
    Ok(())
}

async fn deploy(app: &axum::Router, admin: &str, branch: &str, expected: &str) -> TestResult<i64> {
    let started =
        send(app, Method::POST, "/api/v1/pipelines/shop/runs", Some(admin), Some(json!({ "branch": branch }))).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let run = started.body["id"].as_i64().ok_or("no run id")?;
    assert_eq!(wait_for_run(app, admin, run).await?["result"], expected);
    Ok(run)
}

fn ids(value: &Value) -> Vec<i64> {
    value.as_array().map(|items| items.iter().filter_map(Value::as_i64).collect()).unwrap_or_default()
}

on_both_databases! {
    /// The four keys count the deployments they should, each with the ids it rests on.
    async fn the_four_keys_of_an_environment_rest_on_its_deployments(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", PIPELINE)])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

        // Nothing deployed yet: the environment does not exist.
        let missing = send(&app, Method::GET, "/api/v1/environments/production/dora", Some(&admin), None).await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);

        deploy(&app, &admin, "main", "Succeeded").await?;
        for message in ["fix the login page", "speed up the search"] {
            std::fs::write(repository.join("notes.txt"), message)?;
            git(&repository, &["add", "."])?;
            git(&repository, &["commit", "-qm", message])?;
        }
        deploy(&app, &admin, "main", "Succeeded").await?;
        git(&repository, &["branch", "broken"])?;
        deploy(&app, &admin, "broken", "Failed").await?;
        deploy(&app, &admin, "main", "Succeeded").await?;

        let listed = send(&app, Method::GET, "/api/v1/environments/production/deployments", Some(&admin), None).await?;
        let deployments: Vec<i64> =
            listed.body["deployments"].as_array().ok_or("no deployments")?.iter().filter_map(|d| d["id"].as_i64()).collect();
        let [recovered, failed, second, first] = deployments[..] else {
            return Err(format!("four deployments expected: {}", listed.body).into());
        };
        assert!(
            listed.body["deployments"][2]["changes"].as_array().ok_or("no changes")?.iter().all(|change| change["time"].is_i64()),
            "changes carry their commit times: {}", listed.body
        );

        // A reader may read them.
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        let answer = send(&app, Method::GET, "/api/v1/environments/production/dora?days=7", Some(&reader), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let dora = &answer.body;
        assert_eq!((dora["environment"].as_str(), dora["days"].as_i64()), (Some("production"), Some(7)));
        assert_eq!(dora["end"].as_i64().zip(dora["start"].as_i64()).map(|(end, start)| end - start), Some(7 * 86_400_000));
        assert_eq!(dora["reportYear"], 2024);

        let frequency = &dora["deploymentFrequency"];
        assert_eq!(frequency["deployments"], 3, "{dora}");
        assert_eq!(ids(&frequency["deploymentsCounted"]), [first, second, recovered]);
        // The days with a deployment: one, or two when the test ran over midnight (UTC).
        assert!(matches!(frequency["deploymentDays"].as_i64(), Some(1 | 2)), "{dora}");
        // Three in seven days: between once a day and once a week.
        assert_eq!((frequency["bucket"].as_str(), frequency["level"].as_str()), (Some("dailyToWeekly"), Some("high")));
        assert!((frequency["perWeek"].as_f64().ok_or("no perWeek")? - 3.0).abs() < 1e-6, "{dora}");

        let lead = &dora["leadTimeForChanges"];
        // The second brought the two commits; the first had nothing to compare with; the last
        // deployed the commit already deployed (no changes); the failed one does not count.
        assert_eq!((lead["changes"].as_i64(), lead["changesWithoutTime"].as_i64()), (Some(2), Some(0)), "{dora}");
        assert_eq!(lead["deploymentsWithoutChanges"], 1);
        assert_eq!(ids(&lead["deploymentsCounted"]), [second, recovered]);
        let median = lead["medianMs"].as_i64().ok_or("no median lead time")?;
        assert!((0..600_000).contains(&median), "{dora}");
        assert_eq!(lead["level"], "elite");

        let failures = &dora["changeFailureRate"];
        assert_eq!((failures["deployments"].as_i64(), failures["failures"].as_i64()), (Some(4), Some(1)), "{dora}");
        assert_eq!(failures["rate"].as_f64(), Some(0.25));
        assert_eq!(failures["level"], "low");
        assert_eq!(ids(&failures["failedDeployments"]), [failed]);
        assert_eq!(ids(&failures["deploymentsCounted"]), [first, second, failed, recovered]);

        let recovery = &dora["failedDeploymentRecoveryTime"];
        let episodes = recovery["episodes"].as_array().ok_or("no episodes")?;
        assert_eq!(episodes.len(), 1, "{dora}");
        assert_eq!(ids(&episodes[0]["failedDeployments"]), [failed]);
        assert_eq!(episodes[0]["recoveredBy"].as_i64(), Some(recovered));
        let duration = episodes[0]["durationMs"].as_i64().ok_or("no duration")?;
        assert!(duration > 0 && recovery["medianMs"].as_i64() == Some(duration), "{dora}");
        assert_eq!(recovery["level"], "elite");

        // The default period is 30 days.
        let default = send(&app, Method::GET, "/api/v1/environments/production/dora", Some(&reader), None).await?;
        assert_eq!(default.body["days"], 30, "{}", default.body);
        assert_eq!(default.body["deploymentFrequency"]["bucket"], "weeklyToMonthly");

        // Bad periods are refused, saying what is allowed; no token, no figures.
        for (query, expected) in [("0", "between 1 and 365"), ("366", "between 1 and 365"), ("soon", "days")] {
            let refused =
                send(&app, Method::GET, &format!("/api/v1/environments/production/dora?days={query}"), Some(&reader), None).await?;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
            assert!(refused.body["detail"].as_str().is_some_and(|detail| detail.contains(expected)), "{}", refused.body);
        }
        let anonymous = send(&app, Method::GET, "/api/v1/environments/production/dora", None, None).await?;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        server.stop().await;
        Ok(())
    }
}
