//! The team dashboard through the API (`GET /api/v1/team`) and the web UI (`/team`) over a
//! history generated in the store on a clock of the test's own, with the figures worked out by
//! hand: a pass rate, median and 90th percentile durations, a flaky test, queue waits, an
//! agent's busy share and DORA's metrics of an environment; readers may read it, nobody else.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slipway_events::{TaskResult, TestCase, TestOutcome, TestRun};
use slipway_store::{
    LeaseRequest, ManualClock, NewJob, NewRun, PipelineSettings, QueueStatus, RetentionPolicy, RunId, Store, Timestamp,
    TriggerKind,
};

use crate::signed_in::Browser;
use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
/// 2026-02-01T10:00:00Z.
const START: i64 = 1_769_940_000_000;

fn results(name: &str, passed: bool) -> TestRun {
    TestRun {
        title: "unit".into(),
        format: "JUnit".into(),
        files: Vec::new(),
        total: 1,
        passed: u64::from(passed),
        failed: u64::from(!passed),
        skipped: 0,
        duration_ms: 5,
        tests: vec![TestCase {
            name: name.into(),
            suite: Some("shop.auth".into()),
            outcome: if passed { TestOutcome::Passed } else { TestOutcome::Failed },
            duration_ms: 5,
            message: None,
            stack_trace: None,
        }],
    }
}

/// A run of `shop` on `commit` whose one job waits `wait`, runs `took` on the agent `builder`
/// and ends with `result`, publishing `tests`.
async fn ran(
    store: &Store,
    clock: &ManualClock,
    pipeline: slipway_store::PipelineId,
    commit: &str,
    (wait, took, result): (i64, i64, TaskResult),
    tests: Option<TestRun>,
) -> TestResult<RunId> {
    let mut new = NewRun::new(pipeline, "1", TriggerKind::Manual);
    new.commit = Some(commit.into());
    let run = store.create_run(&new).await?;
    let job = NewJob {
        stage: "Build".into(),
        job: "test".into(),
        leg: None,
        display_name: "test".into(),
        pool: "default".into(),
        demands: Vec::new(),
        ready: true,
    };
    store.add_jobs(run.id, &[job]).await?;
    clock.advance_millis(wait);
    let request = LeaseRequest {
        holder: "agent:builder".into(),
        pool: "default".into(),
        capabilities: BTreeMap::new(),
        duration: Duration::from_secs(3600),
    };
    let lease = store.lease_job(&request).await?.ok_or("no job to lease")?;
    if let Some(tests) = &tests {
        store.add_test_run(run.id, &lease.job.key, 1, tests).await?;
    }
    clock.advance_millis(took);
    store.complete_job(&lease.token, result, None).await?;
    store.finish_run(run.id, result).await?;
    Ok(run.id)
}

/// The history: three runs of `shop` on 2026-02-01 from 10:00 UTC, all on the agent `builder`.
///
/// | run | commit | waits | runs  | result    | tests        |
/// | r1  | c1     | 10 s  | 2 min | failed    | login failed |
/// | r2  | c1     | 30 s  | 4 min | succeeded | login passed |
/// | r3  | c2     | 20 s  | 6 min | succeeded |              |
async fn generate(store: &Store, clock: &ManualClock) -> TestResult<(RunId, RunId)> {
    use TaskResult::{Failed, Succeeded};
    clock.set(Timestamp::from_millis(START));
    let shop = store
        .create_pipeline(&PipelineSettings {
            name: "shop".into(),
            repository: "/srv/git/shop".into(),
            yaml_path: "azure-pipelines.yml".into(),
            default_branch: "main".into(),
            retention: RetentionPolicy::default(),
            queue_status: QueueStatus::Enabled,
        })
        .await?;
    store.create_environment("production", "", None).await?;
    let r1 = ran(store, clock, shop.id, "c1", (10 * SECOND, 2 * MINUTE, Failed), Some(results("login", false))).await?;
    let r2 =
        ran(store, clock, shop.id, "c1", (30 * SECOND, 4 * MINUTE, Succeeded), Some(results("login", true))).await?;
    ran(store, clock, shop.id, "c2", (20 * SECOND, 6 * MINUTE, Succeeded), None).await?;
    clock.advance_millis(MINUTE);
    Ok((r1, r2))
}

on_both_databases! {
    /// `GET /api/v1/team` and `/team` give the figures worked out by hand, to readers only.
    async fn the_team_dashboard_shows_the_hand_computed_figures(database) {
        let directory = tempfile::tempdir()?;
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
        let mut server =
            TestServer::start_with_clock(&directory.path().join("data"), database.as_deref(), 1, clock.clone()).await?;
        // No engine: the runs and jobs of the history are the store's alone.
        if let Some(engine) = server.engine.take() {
            engine.shutdown().await;
        }
        let (r1, r2) = generate(server.state.store(), &clock).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&app, &admin, "rita", "reader").await?;

        let answer = send(&app, Method::GET, "/api/v1/team?days=1", Some(&reader), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let team = &answer.body;
        assert_eq!((team["days"].as_i64(), team["end"].as_i64().zip(team["start"].as_i64()).map(|(end, start)| end - start)), (Some(1), Some(86_400_000)));
        // shop: 3 runs, 2 succeeded: a pass rate of 2 in 3; durations 2, 4, 6 minutes: median
        // the 2nd, 90th percentile the ceil(2.7) = 3rd.
        let shop = &team["pipelines"][0];
        assert_eq!(
            [&shop["pipeline"], &shop["runs"], &shop["succeeded"], &shop["failed"], &shop["canceled"], &shop["medianDurationMs"], &shop["p90DurationMs"]],
            [&json!("shop"), &json!(3), &json!(2), &json!(1), &json!(0), &json!(4 * MINUTE), &json!(6 * MINUTE)],
            "{team}"
        );
        assert!((shop["passRate"].as_f64().ok_or("no pass rate")? - 2.0 / 3.0).abs() < 1e-9, "{team}");
        // A one-day window ending at 10:13 spans two dates; the runs were on the second.
        let daily: Vec<(Value, Value, Value)> = shop["daily"].as_array().ok_or("no daily series")?.iter()
            .map(|day| (day["date"].clone(), day["runs"].clone(), day["medianDurationMs"].clone())).collect();
        assert_eq!(daily, [(json!("2026-01-31"), json!(0), Value::Null), (json!("2026-02-01"), json!(3), json!(4 * MINUTE))]);

        // login failed in r1 and passed in r2, both on c1.
        assert_eq!(team["flakyTests"], json!([{
            "pipeline": "shop", "commit": "c1", "job": "Build.test", "suite": "shop.auth", "name": "login",
            "failedRuns": [r1.0], "passedRuns": [r2.0], "count": 1, "passes": 1, "lastSeen": team["flakyTests"][0]["lastSeen"],
        }]), "{team}");

        // Waits of 10, 30 and 20 s: median 20 s, 90th percentile 30 s.
        let queue = &team["queues"][0];
        assert_eq!([&queue["pool"], &queue["jobs"], &queue["medianMs"], &queue["p90Ms"]], [&json!("default"), &json!(3), &json!(20 * SECOND), &json!(30 * SECOND)], "{team}");

        // builder (not registered) ran 3 jobs for 12 minutes: 12 of the day's 1440.
        let agents = team["agents"].as_array().ok_or("no agents")?;
        let builder = agents.iter().find(|agent| agent["agent"] == "builder").ok_or("no builder")?;
        assert_eq!((builder["pool"].clone(), builder["jobs"].as_i64(), builder["busyMs"].as_i64()), (Value::Null, Some(3), Some(12 * MINUTE)), "{team}");
        assert!((builder["busyShare"].as_f64().ok_or("no share")? - 12.0 / 1440.0).abs() < 1e-9, "{team}");
        let pool = team["pools"].as_array().ok_or("no pools")?.iter().find(|pool| pool["pool"] == "default").ok_or("no default pool")?;
        assert_eq!((pool["jobs"].as_i64(), pool["busyMs"].as_i64()), (Some(3), Some(12 * MINUTE)), "{team}");

        // DORA's metrics of the environment, as the DORA service gives them over the same days.
        assert_eq!((team["dora"][0]["environment"].as_str(), team["dora"][0]["days"].as_i64()), (Some("production"), Some(1)), "{team}");
        let dora = send(&app, Method::GET, "/api/v1/environments/production/dora?days=1", Some(&reader), None).await?;
        assert_eq!(team["dora"][0], dora.body);

        // One pipeline; mistakes named; no token, no figures.
        let one = send(&app, Method::GET, "/api/v1/team?days=1&pipeline=shop", Some(&reader), None).await?;
        assert_eq!((one.status, one.body["pipelines"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{}", one.body);
        for (query, status, expected) in [
            ("days=0", StatusCode::BAD_REQUEST, "'days' is 0; it must be between 1 and 90"),
            ("days=91", StatusCode::BAD_REQUEST, "between 1 and 90"),
            ("days=soon", StatusCode::BAD_REQUEST, "days"),
            ("window=3", StatusCode::BAD_REQUEST, "window"),
            ("pipeline=nowhere", StatusCode::NOT_FOUND, "there is no pipeline named 'nowhere'"),
        ] {
            let refused = send(&app, Method::GET, &format!("/api/v1/team?{query}"), Some(&reader), None).await?;
            assert_eq!(refused.status, status, "{query}: {}", refused.body);
            assert!(refused.body["detail"].as_str().is_some_and(|detail| detail.contains(expected)), "{query}: {}", refused.body);
        }
        let anonymous = send(&app, Method::GET, "/api/v1/team", None, None).await?;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

        // The page: a reader sees the same figures; without signing in, the sign-in page.
        let mut stranger = Browser::new(app.clone());
        let refused = stranger.get("/team").await?;
        assert_eq!((refused.status, refused.location.as_str()), (StatusCode::SEE_OTHER, "/login?next=%2Fteam"));
        let mut browser = Browser::new(app.clone());
        browser.sign_in("rita", &reader).await?;
        let page = browser.get("/team?days=1").await?;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for expected in [
            "<a href=\"/team\">Team</a>",
            "<a href=\"/pipelines/shop\">shop</a></th><td class=\"num\">3</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">66.7%</td><td class=\"num\">4m 00s</td><td class=\"num\">6m 00s</td>",
            "<title id=\"pipeline-shop-rate-title\">shop: pass rate a day</title>",
            "<td>2026-02-01</td><td class=\"num\">66.7 %</td>",
            "<td>2026-02-01</td><td class=\"num\">4 minutes</td>",
            "<span class=\"muted\">shop.auth · </span>login",
            &format!("<a href=\"/runs/{}\">#{}</a>", r1.0, r1.0),
            &format!("<a href=\"/runs/{}\">#{}</a>", r2.0, r2.0),
            "<th scope=\"row\">default</th><td class=\"num\">3</td><td class=\"num\">20s</td><td class=\"num\">30s</td>",
            "<th scope=\"row\">builder</th>",
            "<td class=\"num\">12m 00s</td><td class=\"num\">0.8%</td>",
            "<a href=\"/environments/production\">production</a>",
            "<option value=\"shop\">shop</option>",
        ] {
            assert!(page.body.contains(expected), "{expected:?} in {}", page.body);
        }
        let refused = browser.get("/team?days=500").await?;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body.contains("between 1 and 90"), "{}", refused.body);
        server.stop().await;
        Ok(())
    }
}
