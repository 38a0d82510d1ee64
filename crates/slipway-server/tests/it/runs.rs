//! Runs carried out by the engine over real git repositories: checkout, two dependent jobs,
//! logs, bad branches and pipelines, cancel, and restarts (on SQLite and on PostgreSQL) that continue
//! a queued run, drain running jobs, and fail jobs a killed server left running.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{
    TWO_JOBS, TestResult, TestServer, create_user, make_repository, on_both_databases, send, wait_for_run,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_checks_out_runs_both_jobs_and_keeps_their_logs() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", TWO_JOBS)])?;
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let pipeline = json!({ "name": "demo", "repository": repository.display().to_string() });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let started =
        send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&contributor), Some(json!({ "branch": "main" })))
            .await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    assert_eq!(
        started.headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/runs/{id}").as_str())
    );
    assert_eq!(started.body["branch"], "refs/heads/main");
    assert_eq!(started.body["commit"].as_str().map(str::len), Some(40));
    assert_eq!(started.body["requestedBy"], "carl");

    let run = wait_for_run(&app, &reader, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let jobs = run["jobs"].as_array().ok_or("no jobs")?;
    let keys: Vec<&str> = jobs.iter().filter_map(|job| job["key"].as_str()).collect();
    assert_eq!(keys.len(), 2, "{run}");
    assert!(keys[0].ends_with(".build") && keys[1].ends_with(".test"), "{keys:?}");
    assert!(jobs.iter().all(|job| job["result"] == "Succeeded"), "{run}");

    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&reader), None).await?;
    assert_eq!(logs.status, StatusCode::OK, "{}", logs.body);
    let texts: Vec<&str> =
        logs.body["jobs"].as_array().ok_or("no logs")?.iter().filter_map(|job| job["log"].as_str()).collect();
    assert!(texts[0].contains("building on main"), "{}", texts[0]);
    assert!(texts[1].contains("testing after build"), "{}", texts[1]);

    // Following a completed run gives every line, then the end.
    let followed = crate::support::send_text(&app, &format!("/api/v1/runs/{id}/logs?follow=true"), &reader).await?;
    assert!(followed.starts_with("event: log\n"), "{followed}");
    assert!(followed.contains("building on main") && followed.contains("testing after build"), "{followed}");
    assert!(followed.trim_end().ends_with(r#"data: {"status":"completed","result":"Succeeded"}"#), "{followed}");

    let page = send(&app, Method::GET, "/api/v1/runs?pipeline=demo&limit=1", Some(&reader), None).await?;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body["runs"][0]["id"], id);
    let completed = send(&app, Method::GET, "/api/v1/runs?status=completed", Some(&reader), None).await?;
    assert_eq!(completed.body["runs"].as_array().map(Vec::len), Some(1));
    send(&app, Method::POST, &format!("/api/v1/runs/{id}/cancel"), Some(&contributor), None).await?.expect_problem(409);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_branches_and_invalid_pipelines_are_unprocessable() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", "jobs:\n- job: a\n  steps: 5\n"), ("good.yml", TWO_JOBS)])?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let repository = repository.display().to_string();
    let broken = json!({ "name": "broken", "repository": repository });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(broken)).await?.status,
        StatusCode::CREATED
    );
    let good = json!({ "name": "good", "repository": repository, "yamlPath": "good.yml" });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(good)).await?.status,
        StatusCode::CREATED
    );
    // A repository that is not there is refused when the pipeline is created (see hostile.rs).
    let missing = json!({ "name": "missing", "repository": directory.path().join("nope").display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(missing)).await?.expect_problem(422);

    let detail = send(&app, Method::POST, "/api/v1/pipelines/broken/runs", Some(&admin), Some(json!({})))
        .await?
        .expect_problem(422);
    assert!(detail.contains("not valid"), "{detail}");
    let detail = send(
        &app,
        Method::POST,
        "/api/v1/pipelines/good/runs",
        Some(&admin),
        Some(json!({ "branch": "no-such-branch" })),
    )
    .await?
    .expect_problem(422);
    assert!(detail.contains("git clone failed"), "{detail}");
    send(&app, Method::POST, "/api/v1/pipelines/missing/runs", Some(&admin), Some(json!({})))
        .await?
        .expect_problem(404);
    send(&app, Method::POST, "/api/v1/pipelines/good/runs", Some(&admin), Some(json!({ "branch": "--help" })))
        .await?
        .expect_problem(400);
    // Nothing was left behind, and no run was made.
    let runs = send(&app, Method::GET, "/api/v1/runs", Some(&admin), None).await?;
    assert_eq!(runs.body["runs"].as_array().map(Vec::len), Some(0));
    let checkouts = std::fs::read_dir(directory.path().join("data").join("checkouts"))?.count();
    assert_eq!(checkouts, 0);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_can_be_cancelled() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", TWO_JOBS)])?;
    // No worker slots: the run stays queued until it is cancelled.
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let pipeline = json!({ "name": "demo", "repository": repository.display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let cancelled = send(&app, Method::POST, &format!("/api/v1/runs/{id}/cancel"), Some(&admin), None).await?;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED, "{}", cancelled.body);
    let run = wait_for_run(&app, &admin, id).await?;
    assert_eq!(run["result"], "Canceled", "{run}");
    server.stop().await;
    Ok(())
}

on_both_databases! {
    /// A queued run is taken up and finished by a new server over the same data.
    async fn a_restarted_server_finishes_a_queued_run(database) {
        let directory = tempfile::tempdir()?;
        let repository = directory.path().join("repository");
        make_repository(&repository, &[("azure-pipelines.yml", TWO_JOBS)])?;
        let data = directory.path().join("data");
        // The first server has no worker slots: the run is queued (its first job too) and stays so.
        let first = TestServer::start_on(&data, database.as_deref(), 0).await?;
        let admin = first.admin_token.clone().ok_or("no admin token")?;
        let app = first.app();
        let pipeline = json!({ "name": "demo", "repository": repository.display().to_string() });
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
        let id = started.body["id"].as_i64().ok_or("no run id")?;
        let mut queued_jobs = 0;
        for _ in 0..100 {
            let run = send(&app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&admin), None).await?;
            queued_jobs = run.body["jobs"].as_array().map_or(0, Vec::len);
            if queued_jobs > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(queued_jobs, 1, "the orchestrator queues the first job");
        first.stop().await;

        // A new server over the same data directory takes the run up and finishes it.
        let second = TestServer::start_on(&data, database.as_deref(), 2).await?;
        assert!(second.admin_token.is_none());
        let run = wait_for_run(&second.app(), &admin, id).await?;
        assert_eq!(run["result"], "Succeeded", "{run}");
        assert_eq!(run["jobs"].as_array().map(Vec::len), Some(2));
        second.stop().await;
        Ok(())
    }
}

/// A pipeline whose one job takes a while.
const SLOW_JOB: &str = "\
trigger: none
jobs:
- job: slow
  steps:
  - checkout: none
  - script: sleep 1 && echo slept well
";

on_both_databases! {
    /// Draining lets a running job finish and store its log and result.
    async fn stopping_lets_running_jobs_finish(database) {
        let directory = tempfile::tempdir()?;
        let repository = directory.path().join("repository");
        make_repository(&repository, &[("azure-pipelines.yml", SLOW_JOB)])?;
        let data = directory.path().join("data");
        let first = TestServer::start_on(&data, database.as_deref(), 1).await?;
        let admin = first.admin_token.clone().ok_or("no admin token")?;
        let app = first.app();
        let pipeline = json!({ "name": "slow", "repository": repository.display().to_string() });
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        let started = send(&app, Method::POST, "/api/v1/pipelines/slow/runs", Some(&admin), Some(json!({}))).await?;
        let id = started.body["id"].as_i64().ok_or("no run id")?;
        let mut running = false;
        for _ in 0..100 {
            let run = send(&app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&admin), None).await?;
            if run.body["jobs"][0]["status"] == "running" {
                running = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(running, "the job did not start");
        // A follower started now sees the line the job prints later, and the end.
        let follower = {
            let app = app.clone();
            let admin = admin.clone();
            tokio::spawn(async move {
                crate::support::send_text(&app, &format!("/api/v1/runs/{id}/logs?follow=true"), &admin)
                    .await
                    .map_err(|e| e.to_string())
            })
        };
        let followed = follower.await??;
        assert!(followed.contains("slept well"), "{followed}");
        assert!(followed.contains("event: end"), "{followed}");
        // Draining waits for the job: its log and result are stored before the store closes.
        first.stop().await;

        let second = TestServer::start_on(&data, database.as_deref(), 1).await?;
        let run = wait_for_run(&second.app(), &admin, id).await?;
        assert_eq!(run["result"], "Succeeded", "{run}");
        assert_eq!(run["jobs"][0]["leaseHolder"], "local:0");
        let logs = send(&second.app(), Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
        assert!(logs.body["jobs"][0]["log"].as_str().is_some_and(|log| log.contains("slept well")), "{}", logs.body);
        second.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// Jobs a killed server left running end as failed with the reason, on restart.
    async fn jobs_left_running_by_a_killed_server_fail_with_the_reason(database) {
        let directory = tempfile::tempdir()?;
        let repository = directory.path().join("repository");
        make_repository(&repository, &[("azure-pipelines.yml", TWO_JOBS)])?;
        let data = directory.path().join("data");
        let first = TestServer::start_on(&data, database.as_deref(), 0).await?;
        let admin = first.admin_token.clone().ok_or("no admin token")?;
        let app = first.app();
        let pipeline = json!({ "name": "demo", "repository": repository.display().to_string() });
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        let started = send(&app, Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
        let id = started.body["id"].as_i64().ok_or("no run id")?;
        // A worker slot of a server that then dies takes the job: nobody completes it.
        let request = slipway_store::LeaseRequest {
            holder: "local:7".into(),
            pool: slipway_engine::orchestrator::LOCAL_POOL.into(),
            capabilities: std::collections::BTreeMap::new(),
            duration: std::time::Duration::from_secs(600),
        };
        let mut lease = None;
        for _ in 0..100 {
            lease = first.state.store().lease_job(&request).await?;
            if lease.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(lease.is_some(), "the job was not queued");
        first.stop().await;

        let second = TestServer::start_on(&data, database.as_deref(), 2).await?;
        let run = wait_for_run(&second.app(), &admin, id).await?;
        assert_eq!(run["result"], "Failed", "{run}");
        assert_eq!(run["jobs"][0]["message"], slipway_engine::orchestrator::SERVER_STOPPED, "{run}");
        let logs = send(&second.app(), Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
        assert_eq!(
            logs.body["jobs"][0]["log"].as_str(),
            Some("##[error]the server stopped while the job was running\n"),
            "{}",
            logs.body
        );

        // With `requeue`, the job goes back in the queue and runs again on the next start.
        let pool = slipway_engine::orchestrator::LOCAL_POOL;
        let settings = send(&second.app(), Method::PUT, &format!("/api/v1/pools/{pool}"), Some(&admin), Some(json!({ "onAgentLost": "requeue" }))).await?;
        assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
        second.stop().await;
        let third = TestServer::start_on(&data, database.as_deref(), 0).await?;
        let started = send(&third.app(), Method::POST, "/api/v1/pipelines/demo/runs", Some(&admin), Some(json!({}))).await?;
        let again = started.body["id"].as_i64().ok_or("no run id")?;
        let mut lease = None;
        for _ in 0..100 {
            lease = third.state.store().lease_job(&request).await?;
            if lease.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(lease.is_some(), "the job was not queued");
        third.stop().await;
        let fourth = TestServer::start_on(&data, database.as_deref(), 1).await?;
        let run = wait_for_run(&fourth.app(), &admin, again).await?;
        assert_eq!(run["result"], "Succeeded", "{run}");
        let logs = send(&fourth.app(), Method::GET, &format!("/api/v1/runs/{again}/logs"), Some(&admin), None).await?;
        let log = logs.body["jobs"][0]["log"].as_str().unwrap_or_default();
        assert!(
            log.starts_with(&format!(
                "##[warning]the server stopped while the job was running; the job goes back in the queue (pool '{pool}' requeues the jobs of lost agents)\n"
            )),
            "{log}"
        );
        fourth.stop().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_a_running_job() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    let pipeline_text = SLOW_JOB.replace("sleep 1", "sleep 60");
    make_repository(&repository, &[("azure-pipelines.yml", pipeline_text.as_str())])?;
    let server = TestServer::start(&directory.path().join("data"), 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let pipeline = json!({ "name": "slow", "repository": repository.display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/slow/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    for _ in 0..100 {
        let run = send(&app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&admin), None).await?;
        if run.body["jobs"][0]["status"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cancelled = send(&app, Method::POST, &format!("/api/v1/runs/{id}/cancel"), Some(&admin), None).await?;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED, "{}", cancelled.body);
    let run = wait_for_run(&app, &admin, id).await?;
    assert_eq!(run["result"], "Canceled", "{run}");
    assert_eq!(run["jobs"][0]["result"], "Canceled", "{run}");
    server.stop().await;
    Ok(())
}

/// A pipeline whose job prints a `counter()` of the pipeline-level variables and one of its own.
const COUNTED: &str = "\
trigger: none
variables:
  major: 1
  patch: $[counter(variables['major'], 100)]
stages:
- stage: build
  jobs:
  - job: print
    variables:
      jobCounter: $[counter('job', 0)]
    steps:
    - checkout: none
    - script: |
        echo \"patch is $(patch), job counter $(jobCounter)\"
        sleep 0.3
";

/// The log of a run's first job.
async fn first_log(app: &axum::Router, token: &str, id: i64) -> crate::support::TestResult<String> {
    let logs = send(app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(token), None).await?;
    Ok(logs.body["jobs"][0]["log"].as_str().unwrap_or_default().to_owned())
}

on_both_databases! {
    /// `counter()` advances from one server run to the next, as it does between `slipway run`
    /// runs, also across a restart; and the server's stage and run events carry real durations
    /// (issue 12: the server used to build its counters afresh and report 0 ms).
    async fn counters_advance_across_server_runs_and_restarts_and_durations_are_measured(database) {
        let directory = tempfile::tempdir()?;
        let repository = directory.path().join("repository");
        make_repository(&repository, &[("azure-pipelines.yml", COUNTED)])?;
        let data = directory.path().join("data");
        let first = TestServer::start_on(&data, database.as_deref(), 1).await?;
        let admin = first.admin_token.clone().ok_or("no admin token")?;
        let app = first.app();
        let pipeline = json!({ "name": "counted", "repository": repository.display().to_string() });
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        let mut seen = Vec::new();
        for _ in 0..2 {
            let started = send(&app, Method::POST, "/api/v1/pipelines/counted/runs", Some(&admin), Some(json!({}))).await?;
            let id = started.body["id"].as_i64().ok_or("no run id")?;
            let run = wait_for_run(&app, &admin, id).await?;
            assert_eq!(run["result"], "Succeeded", "{run}");
            seen.push(first_log(&app, &admin, id).await?);
        }
        // Durations: the stage ran at least the job's 0.3 s, the run at least as long.
        let events = first.state.store().read_events(slipway_store::RunId(1), 0, 1000).await?;
        let durations: Vec<(String, u64)> = events
            .iter()
            .filter_map(|stored| match stored.event().ok()? {
                slipway_events::Event::StageFinished { stage, duration_ms, .. } => Some((format!("stage {stage}"), duration_ms)),
                slipway_events::Event::RunFinished { duration_ms, .. } => Some(("run".to_owned(), duration_ms)),
                _ => None,
            })
            .collect();
        assert_eq!(durations.len(), 2, "{durations:?}");
        assert!(durations.iter().all(|(_, duration)| *duration >= 300), "{durations:?}");
        first.stop().await;

        let second = TestServer::start_on(&data, database.as_deref(), 1).await?;
        let app = second.app();
        let started = send(&app, Method::POST, "/api/v1/pipelines/counted/runs", Some(&admin), Some(json!({}))).await?;
        let id = started.body["id"].as_i64().ok_or("no run id")?;
        wait_for_run(&app, &admin, id).await?;
        seen.push(first_log(&app, &admin, id).await?);
        for (log, (patch, job)) in seen.iter().zip([(100, 0), (101, 1), (102, 2)]) {
            assert!(log.contains(&format!("patch is {patch}, job counter {job}")), "{log}");
        }
        // The values a run was given are its own, kept with it.
        let given = second.state.store().run_counters(slipway_store::RunId(2)).await?;
        assert_eq!(given, [("1".to_owned(), 101), ("job".to_owned(), 1)].into());
        second.stop().await;
        Ok(())
    }
}
