//! Retention: settings, keeping a run, and the cleanup that deletes runs, blobs and run
//! directories, never what a retained run needs.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;
use slipway_engine::blobs::BlobStore;
use slipway_engine::retention::{CleanupOptions, cleanup};
use slipway_store::RunId;

use super::{pipeline_with_files, start_run};
use crate::support::{TestResult, TestServer, create_user, send, send_raw, wait_for_run};

/// Every run publishes a file shared by all runs and one of its own.
const PUBLISHES: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: |
      mkdir -p out
      echo same for every run > out/common.txt
      echo only run $(Build.BuildId) > out/own.txt
  - publish: out
    artifact: drop
";

const NOW: CleanupOptions = CleanupOptions { blob_grace: Duration::ZERO, run_directory_grace: Duration::ZERO };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_keep_are_checked() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let repository = crate::support::two_jobs_repository(&directory.path().join("repository"))?;
    let created = send(
        &app,
        Method::POST,
        "/api/v1/pipelines",
        Some(&admin),
        Some(json!({ "name": "p", "repository": repository })),
    )
    .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let body = json!({ "retention": { "days": 30, "runs": 5 } });
    send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&contributor), Some(body.clone())).await?.expect_problem(403);
    send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&reader), Some(body.clone())).await?.expect_problem(403);
    let changed = send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(body.clone())).await?;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["retention"], json!({ "days": 30, "runs": 5 }));
    let cleared =
        send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(json!({ "retention": { "runs": 2 } })))
            .await?;
    assert_eq!(cleared.body["retention"], json!({ "days": null, "runs": 2 }));
    for bad in [
        json!({ "retention": { "runs": 0 } }),
        json!({ "retention": { "days": 0 } }),
        json!({ "retention": { "days": 2_000_000 } }),
    ] {
        send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(bad)).await?.expect_problem(400);
    }
    for bad in [json!({ "retention": { "days": -1 } }), json!({ "name": "q" }), json!({ "retention": { "weeks": 1 } })]
    {
        send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(bad)).await?.expect_problem(422);
    }
    send_raw(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some("application/json"), b"{".to_vec())
        .await?
        .expect_problem(400);
    send(&app, Method::PATCH, "/api/v1/pipelines/nope", Some(&admin), Some(body)).await?.expect_problem(404);

    send(&app, Method::POST, "/api/v1/runs/1/keep", Some(&contributor), Some(json!({ "keep": true })))
        .await?
        .expect_problem(404);
    send(&app, Method::POST, "/api/v1/runs/x/keep", Some(&contributor), Some(json!({ "keep": true })))
        .await?
        .expect_problem(400);
    send(&app, Method::POST, "/api/v1/runs/1/keep", Some(&contributor), Some(json!({ "keep": "yes" })))
        .await?
        .expect_problem(422);
    send(&app, Method::POST, "/api/v1/runs/1/keep", Some(&reader), Some(json!({ "keep": true })))
        .await?
        .expect_problem(403);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_deletes_what_no_retained_run_needs() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    pipeline_with_files(&app, &admin, directory.path(), "keeper", &[("azure-pipelines.yml", PUBLISHES)]).await?;
    let mut runs = Vec::new();
    for _ in 0..4 {
        let id = start_run(&app, &contributor, "keeper", json!({})).await?;
        assert_eq!(wait_for_run(&app, &reader, id).await?["result"], "Succeeded");
        runs.push(id);
    }
    let blobs = BlobStore::new(&data);
    assert_eq!(blobs.list().len(), 5, "one shared file and one of each run");
    // An orphan blob (an upload that was never recorded).
    let orphan_source = directory.path().join("orphan.txt");
    std::fs::write(&orphan_source, "nobody's")?;
    let (orphan, _) = blobs.put_file(&orphan_source, None)?;

    // Keep the first run; keep only the newest run by count.
    send(&app, Method::POST, &format!("/api/v1/runs/{}/keep", runs[0]), Some(&reader), Some(json!({ "keep": true })))
        .await?
        .expect_problem(403);
    let kept = send(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/keep", runs[0]),
        Some(&contributor),
        Some(json!({ "keep": true })),
    )
    .await?;
    assert_eq!((kept.status, kept.body["keep"].clone()), (StatusCode::OK, json!(true)));
    // Nothing goes while no retention is set; recent blobs and directories stay by default.
    let report = cleanup(server.state.store(), &data, CleanupOptions::default()).await?;
    assert!(report.deleted_runs.is_empty() && report.deleted_blobs.is_empty(), "{report:?}");
    assert!(report.deleted_run_directories.is_empty(), "{report:?}");
    let retention = json!({ "retention": { "runs": 1 } });
    send(&app, Method::PATCH, "/api/v1/pipelines/keeper", Some(&admin), Some(retention)).await?;
    let report = cleanup(server.state.store(), &data, CleanupOptions::default()).await?;
    assert_eq!(report.deleted_runs, [RunId(runs[2]), RunId(runs[1])], "{report:?}");
    assert!(report.deleted_blobs.is_empty(), "blobs stored within the grace period stay: {report:?}");
    assert!(blobs.contains(&orphan));
    // The directories of the deleted runs go; those of recently completed runs stay.
    let mut gone = report.deleted_run_directories.clone();
    gone.sort();
    assert_eq!(gone, [RunId(runs[1]), RunId(runs[2])], "{report:?}");

    let report = cleanup(server.state.store(), &data, NOW).await?;
    assert!(report.deleted_runs.is_empty(), "{report:?}");
    assert_eq!(report.deleted_blobs.len(), 3, "the two deleted runs' own files and the orphan: {report:?}");
    assert!(report.deleted_blobs.contains(&orphan));
    assert_eq!(blobs.list().len(), 3, "the shared file and the kept runs' own files");
    let mut gone = report.deleted_run_directories.clone();
    gone.sort();
    assert_eq!(gone, [RunId(runs[0]), RunId(runs[3])], "{report:?}");
    assert_eq!(std::fs::read_dir(data.join("runs"))?.count(), 0);
    for id in [runs[1], runs[2]] {
        send(&app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&reader), None).await?.expect_problem(404);
    }
    // The kept runs' artifacts are whole.
    for id in [runs[0], runs[3]] {
        let listed = send(&app, Method::GET, &format!("/api/v1/runs/{id}/artifacts"), Some(&reader), None).await?;
        assert_eq!(listed.body[0]["files"], 2, "{}", listed.body);
        let request = axum::http::Request::builder()
            .uri(format!("/api/v1/runs/{id}/artifacts/drop"))
            .header("authorization", format!("Bearer {reader}"))
            .body(axum::body::Body::empty())?;
        let response = tower::ServiceExt::oneshot(app.clone(), request).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(&format!("only run {id}")) && text.contains("same for every run"));
    }
    // Unkept, the first run goes too, with its own file; the shared one stays for the newest run.
    send(
        &app,
        Method::POST,
        &format!("/api/v1/runs/{}/keep", runs[0]),
        Some(&contributor),
        Some(json!({ "keep": false })),
    )
    .await?;
    let report = cleanup(server.state.store(), &data, NOW).await?;
    assert_eq!(report.deleted_runs, [RunId(runs[0])]);
    assert_eq!(report.deleted_blobs.len(), 1, "{report:?}");
    assert_eq!(blobs.list().len(), 2);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleanup_keeps_what_a_rerun_needs() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    pipeline_with_files(&app, &admin, directory.path(), "keeper", &[("azure-pipelines.yml", PUBLISHES)]).await?;
    let first = start_run(&app, &admin, "keeper", json!({})).await?;
    wait_for_run(&app, &admin, first).await?;
    let rerun = send(&app, Method::POST, &format!("/api/v1/runs/{first}/rerun"), Some(&admin), Some(json!({}))).await?;
    let second = rerun.body["id"].as_i64().ok_or("no id")?;
    wait_for_run(&app, &admin, second).await?;
    let third = start_run(&app, &admin, "keeper", json!({})).await?;
    wait_for_run(&app, &admin, third).await?;
    send(&app, Method::PATCH, "/api/v1/pipelines/keeper", Some(&admin), Some(json!({ "retention": { "runs": 1 } })))
        .await?;
    send(&app, Method::POST, &format!("/api/v1/runs/{second}/keep"), Some(&admin), Some(json!({ "keep": true })))
        .await?;
    let report = cleanup(server.state.store(), &data, NOW).await?;
    assert!(report.deleted_runs.is_empty(), "the kept re-run needs the run it re-ran: {report:?}");
    server.stop().await;
    Ok(())
}
