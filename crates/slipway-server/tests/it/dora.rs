//! DORA's metrics through the API and the web UI: an environment's five metrics from deployments
//! that runs carried out by the engine recorded over a real git repository (a first deployment,
//! one that brings two commits, a failed one and the one that recovers from it); and
//! `GET /api/v1/dora/metrics` (GitLab's DORA API shape) and the `/insights` dashboard over a
//! history generated in the store on a clock of the test's own, with values computed by hand.

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

/// Deployment references (`d42`) as the deployments' ids.
fn ids(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|item| item.as_str()?.strip_prefix('d')?.parse().ok()).collect())
        .unwrap_or_default()
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
        assert_eq!(episodes[0]["recoveredBy"].as_str(), Some(format!("d{recovered}").as_str()));
        let duration = episodes[0]["durationMs"].as_i64().ok_or("no duration")?;
        assert!(duration > 0 && recovery["medianMs"].as_i64() == Some(duration), "{dora}");
        assert_eq!(recovery["level"], "elite");

        // Rework: the deployment made after the failed one, of four.
        let rework = &dora["deploymentReworkRate"];
        assert_eq!((rework["deployments"].as_i64(), rework["reworked"].as_i64()), (Some(4), Some(1)), "{dora}");
        assert_eq!((rework["rate"].as_f64(), ids(&rework["reworkDeployments"])), (Some(0.25), vec![recovered]));

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

mod generated {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use http_body_util::BodyExt as _;
    use serde_json::{Value, json};
    use slipway_events::TaskResult;
    use slipway_store::{
        Change, Environment, ManualClock, NewDeployment, NewJob, NewRun, PipelineSettings, QueueStatus,
        RetentionPolicy, Run, Store, Timestamp, TriggerKind,
    };
    use tower::ServiceExt as _;

    use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    /// 2026-02-01T00:00:00Z, a Sunday.
    const FEB_1: i64 = 1_769_904_000_000;

    /// The time `day` days and `hour` hours after 2026-02-01 00:00 UTC.
    fn at(day: i64, hour: i64) -> i64 {
        FEB_1 + day * DAY + hour * HOUR
    }

    /// One deployment to record: queued and finished at, how, a redeploy or not, commit times.
    struct Planned {
        environment: usize,
        queued: i64,
        finished: i64,
        result: TaskResult,
        redeployed: bool,
        commits: Vec<i64>,
    }

    fn planned(environment: usize, queued: i64, finished: i64, result: TaskResult) -> Planned {
        Planned { environment, queued, finished, result, redeployed: false, commits: Vec::new() }
    }

    /// Records the deployments of the history below, each with a job of its own, on the store's
    /// clock, and sets the clock to 2026-03-01 12:00 UTC ("today").
    ///
    /// | env        | queued       | finished     | how                     | commits     |
    /// | production | 02-02 09:50  | 02-02 10:00  | succeeded               | 02-02 08:00 |
    /// | production | 02-03 09:50  | 02-03 10:00  | failed                  |             |
    /// | production | 02-03 11:00  | 02-03 12:00  | succeeded               | 02-03 09:00 |
    /// | live-eu    | 02-04 09:50  | 02-04 10:00  | succeeded               | 02-04 09:00 |
    /// | staging    | 02-03 09:50  | 02-03 10:00  | failed                  |             |
    /// | production | 02-10 09:50  | 02-10 10:00  | succeeded               |             |
    /// | production | 02-11 09:00  | 02-11 10:00  | succeeded, `redeployed` |             |
    async fn generate(store: &Store, clock: &ManualClock) -> TestResult {
        clock.set(Timestamp::from_millis(at(0, 0)));
        let pipeline = store
            .create_pipeline(&PipelineSettings {
                name: "shop".into(),
                repository: "/srv/git/shop".into(),
                yaml_path: "azure-pipelines.yml".into(),
                default_branch: "main".into(),
                retention: RetentionPolicy::default(),
                queue_status: QueueStatus::Enabled,
            })
            .await?;
        let run: Run = store.create_run(&NewRun::new(pipeline.id, "1", TriggerKind::Manual)).await?;
        let mut environments: Vec<Environment> = Vec::new();
        for name in ["production", "live-eu", "staging"] {
            environments.push(store.create_environment(name, "", None).await?);
        }
        let mut plan = [
            Planned { commits: vec![at(1, 8)], ..planned(0, at(1, 9) + 50 * 60_000, at(1, 10), TaskResult::Succeeded) },
            planned(0, at(2, 9) + 50 * 60_000, at(2, 10), TaskResult::Failed),
            Planned { commits: vec![at(2, 9)], ..planned(0, at(2, 11), at(2, 12), TaskResult::Succeeded) },
            Planned { commits: vec![at(3, 9)], ..planned(1, at(3, 9) + 50 * 60_000, at(3, 10), TaskResult::Succeeded) },
            planned(2, at(2, 9) + 50 * 60_000, at(2, 10), TaskResult::Failed),
            planned(0, at(9, 9) + 50 * 60_000, at(9, 10), TaskResult::Succeeded),
            Planned { redeployed: true, ..planned(0, at(10, 9), at(10, 10), TaskResult::Succeeded) },
        ];
        plan.sort_by_key(|planned| planned.queued);
        for (index, planned) in plan.iter().enumerate() {
            let job = NewJob {
                stage: "Deploy".into(),
                job: format!("ship{index}"),
                leg: None,
                display_name: format!("ship{index}"),
                pool: "default".into(),
                demands: Vec::new(),
                ready: false,
            };
            let added = store.add_jobs(run.id, &[job]).await?;
            let job = added.first().ok_or("no job")?;
            clock.set(Timestamp::from_millis(planned.queued));
            let changes = (!planned.commits.is_empty()).then(|| {
                planned
                    .commits
                    .iter()
                    .map(|time| Change {
                        commit: format!("{time:x}"),
                        message: "a change".into(),
                        author: "dee".into(),
                        time: Some(Timestamp::from_millis(*time)),
                    })
                    .collect()
            });
            store
                .record_deployment(&NewDeployment {
                    environment: environments[planned.environment].id,
                    resource: None,
                    run: run.id,
                    job: job.id,
                    stage: "Deploy".into(),
                    job_name: format!("ship{index}"),
                    strategy: "runOnce".into(),
                    triggered_by: "dee".into(),
                    artifacts: Vec::new(),
                    changes,
                })
                .await?;
            clock.set(Timestamp::from_millis(planned.finished));
            store.finish_deployment(job.id, planned.result).await?;
            if planned.redeployed {
                store.set_deployment_outcome(job.id, "redeployed", None, None).await?;
            }
        }
        clock.set(Timestamp::from_millis(at(28, 12)));
        Ok(())
    }

    async fn start(database: Option<&str>, directory: &std::path::Path) -> TestResult<(TestServer, String)> {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(at(0, 0))));
        let mut server = TestServer::start_with_clock(&directory.join("data"), database, 1, clock.clone()).await?;
        // No engine: the runs and jobs of the history are the store's alone.
        if let Some(engine) = server.engine.take() {
            engine.shutdown().await;
        }
        generate(server.state.store(), &clock).await?;
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&server.app(), &admin, "rita", "reader").await?;
        Ok((server, reader))
    }

    fn values(body: &Value) -> Vec<(Value, Value)> {
        body.as_array()
            .map(|points| points.iter().map(|point| (point["date"].clone(), point["value"].clone())).collect())
            .unwrap_or_default()
    }

    on_both_databases! {
        /// `GET /api/v1/dora/metrics` answers GitLab's shape with the values computed by hand, and
        /// names every bad parameter.
        async fn the_dora_api_answers_gitlabs_shape_over_a_generated_history(database) {
            let directory = tempfile::tempdir()?;
            let (server, reader) = start(database.as_deref(), directory.path()).await?;
            let app = server.app();
            let get = |query: String| {
                let app = app.clone();
                let reader = reader.clone();
                async move { send(&app, Method::GET, &format!("/api/v1/dora/metrics?{query}"), Some(&reader), None).await }
            };
            let february = "start_date=2026-02-01&end_date=2026-02-28";

            // By default production's tier: production and live-eu, not staging. Successful: the
            // first, the recovery, the one a redeploy replaced, the redeploy and live-eu's: 5 in
            // the 28 days of February.
            let all = get(format!("metric=deployment_frequency&interval=all&{february}")).await?;
            assert_eq!(all.status, StatusCode::OK, "{}", all.body);
            assert_eq!(all.body, json!([{ "date": null, "value": 5.0 / 28.0 }]));
            // Lead times: 2h (02-02), 3h (02-03), 1h (live-eu's): median 2h, in seconds.
            let lead = get(format!("metric=lead_time_for_changes&interval=all&{february}")).await?;
            assert_eq!(lead.body, json!([{ "date": null, "value": 7200.0 }]));
            // Six deployments; failed: 02-03's, and 02-10's that the redeploy replaced.
            let failures = get(format!("metric=change_failure_rate&interval=monthly&{february}")).await?;
            assert_eq!(failures.body, json!([{ "date": "2026-02-01", "value": 2.0 / 6.0 }]));
            // Recovered in 2h (02-03) and 24h (02-10 by the redeploy): median 13h.
            let restore = get(format!("metric=time_to_restore_service&interval=all&{february}")).await?;
            assert_eq!(restore.body, json!([{ "date": null, "value": 46_800.0 }]));
            // Rework: the deployment after 02-03's failure, and the redeploy: 2 of 6.
            let rework = get(format!("metric=rework_rate&interval=all&{february}")).await?;
            assert_eq!(rework.body, json!([{ "date": null, "value": 2.0 / 6.0 }]));

            // Weekly (Monday weeks; February 1st was a Sunday): per day over each week's days in
            // the period: 0 in 1 day; 3 in 7; 2 in 7; 0 in 7; 0 in 6.
            let weekly = get(format!("metric=deployment_frequency&interval=weekly&{february}")).await?;
            assert_eq!(
                values(&weekly.body),
                [("2026-01-26", 0.0), ("2026-02-02", 3.0 / 7.0), ("2026-02-09", 2.0 / 7.0), ("2026-02-16", 0.0), ("2026-02-23", 0.0)]
                    .map(|(date, value)| (json!(date), json!(value)))
            );
            // Daily: a day's count; the change failure rate of a day without deployments is null.
            let daily = get(format!("metric=change_failure_rate&{february}")).await?;
            let daily = values(&daily.body);
            assert_eq!(daily.len(), 28);
            assert_eq!(daily[2], (json!("2026-02-03"), json!(0.5)));
            assert_eq!(daily[0], (json!("2026-02-01"), Value::Null));

            // One environment by name: staging's one failure.
            let staging = get(format!("metric=change_failure_rate&interval=all&environment=staging&{february}")).await?;
            assert_eq!(staging.body, json!([{ "date": null, "value": 1.0 }]));

            // GitLab's defaults: daily, from three months before today (2026-03-01) to today.
            let default = get("metric=deployment_frequency".to_owned()).await?;
            let default = values(&default.body);
            assert_eq!(default.len(), 91);
            assert_eq!((default[0].0.clone(), default[90].0.clone()), (json!("2025-12-01"), json!("2026-03-01")));

            // Every mistake is a 400 naming the parameter and what is allowed.
            for (query, expected) in [
                ("interval=all", "'metric' is required: one of deployment_frequency, lead_time_for_changes, change_failure_rate, time_to_restore_service, rework_rate"),
                ("metric=mttr", "'metric' is 'mttr'; it must be one of deployment_frequency"),
                ("metric=rework_rate&interval=yearly", "'interval' is 'yearly'; it must be one of all, monthly, weekly, daily"),
                ("metric=rework_rate&start_date=2026-02-30", "'start_date' is '2026-02-30'; it must be a date written YYYY-MM-DD"),
                ("metric=rework_rate&end_date=01/03/2026", "'end_date' is '01/03/2026'"),
                ("metric=rework_rate&start_date=2026-03-01&end_date=2026-02-01", "'start_date' (2026-03-01) must be earlier than 'end_date' (2026-02-01)"),
                ("metric=rework_rate&start_date=2025-01-01", "it must be at most 180 days"),
                ("metric=rework_rate&environment_tiers=production", "environment_tiers"),
            ] {
                let refused = get(query.to_owned()).await?;
                assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}: {}", refused.body);
                let detail = refused.body["detail"].as_str().unwrap_or_default();
                assert!(detail.contains(expected), "{query}: {expected:?} in {}", refused.body);
            }
            let missing = get("metric=rework_rate&environment=nowhere".to_owned()).await?;
            assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
            let anonymous = send(&app, Method::GET, "/api/v1/dora/metrics?metric=rework_rate", None, None).await?;
            assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

            // The per-environment endpoint carries rework too (its last 30 days hold all of it).
            let production = send(&app, Method::GET, "/api/v1/environments/production/dora", Some(&reader), None).await?;
            let rework = &production.body["deploymentReworkRate"];
            assert_eq!((rework["deployments"].as_i64(), rework["reworked"].as_i64()), (Some(5), Some(2)), "{}", production.body);
            server.stop().await;
            Ok(())
        }
    }

    /// The cookies a response sets, as `name=value`.
    fn cookies(response: &axum::http::Response<Body>) -> Vec<String> {
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect()
    }

    async fn page(
        app: &axum::Router,
        uri: &str,
        cookie: &str,
        form: Option<String>,
    ) -> TestResult<(StatusCode, Vec<String>, String)> {
        let mut request = Request::builder().uri(uri).header(header::COOKIE, cookie);
        let request = match form {
            Some(form) => request
                .method(Method::POST)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))?,
            None => {
                request = request.method(Method::GET);
                request.body(Body::empty())?
            }
        };
        let response = app.clone().oneshot(request).await?;
        let (status, set) = (response.status(), cookies(&response));
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, set, String::from_utf8_lossy(&body).into_owned()))
    }

    /// The dashboard shows every environment's five metrics with levels, the tier table of the
    /// report's year, and accessible charts of the weekly series with their values written out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_insights_dashboard_charts_every_environment() -> TestResult {
        let directory = tempfile::tempdir()?;
        let (server, reader) = start(None, directory.path()).await?;
        let app = server.app();
        let (_, set, form) = page(&app, "/login", "", None).await?;
        let csrf_at = form.find("name=\"csrf\" value=\"").ok_or("no csrf field")? + "name=\"csrf\" value=\"".len();
        let csrf = &form[csrf_at..csrf_at + form[csrf_at..].find('"').ok_or("no csrf end")?];
        let mut cookie = set.join("; ");
        let fields = format!(
            "csrf={}&next=%2Finsights&user=rita&token={}",
            slipway_web::url_encode(csrf),
            slipway_web::url_encode(&reader)
        );
        let (status, set, body) = page(&app, "/login", &cookie, Some(fields)).await?;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        // The session's cookies over the sign-in form's.
        let mut jar: Vec<String> = cookie.split("; ").filter(|pair| !pair.is_empty()).map(str::to_owned).collect();
        for pair in set {
            let name = pair.split('=').next().unwrap_or_default().to_owned();
            jar.retain(|known| known.split('=').next() != Some(name.as_str()));
            jar.push(pair);
        }
        cookie = jar.join("; ");
        let (status, _, html) = page(&app, "/insights", &cookie, None).await?;
        assert_eq!(status, StatusCode::OK, "{html}");
        for expected in [
            "Insights · delivery performance (DORA)",
            "<a href=\"/environments/production\">production</a>",
            "<a href=\"/environments/live-eu\">live-eu</a>",
            "<a href=\"/environments/staging\">staging</a>",
            "Performance levels: DORA's 2024 report",
            "<title id=\"env-production-0-title\">Deployments a week</title>",
            "<title id=\"env-production-2-title\">Change fail rate</title>",
            // Production's week of 02-09: the deployment the redeploy replaced and the redeploy,
            // 2 a week; its change fail rate that week 1 of 2.
            "<td>2026-02-09</td><td class=\"num\">2 deployments</td>",
            "<td>2026-02-09</td><td class=\"num\">50 %</td>",
            // Its rework over the last 90 days: 2 of 5.
            "40.0% (2 of 5)",
        ] {
            assert!(html.contains(expected), "{expected:?} in {html}");
        }
        assert!(!html.contains("<script src=\"http"), "no script from elsewhere");
        server.stop().await;
        Ok(())
    }
}
