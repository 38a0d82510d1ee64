//! Re-runs: a new run of the same commit, and the failed jobs of a run again in place, keeping
//! what succeeded (results, outputs, artifacts) and the earlier attempt's log.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{logs_by_job, pipeline_with_files, start_run};
use crate::support::{TestResult, TestServer, create_user, send, wait_for_run};

/// `setter` succeeds, sets an output and publishes an artifact; `flaky` fails until a marker
/// file exists (it makes it on its first attempt); `after` depends on `flaky`.
fn flaky_pipeline(marker: &str) -> String {
    format!(
        "\
trigger: none
jobs:
- job: setter
  steps:
  - checkout: none
  - script: |
      echo \"##vso[task.setvariable variable=color;isOutput=true]blue\"
      mkdir -p out && echo \"made by setter\" > out/made.txt
    name: paint
  - publish: out
    artifact: made
- job: flaky
  dependsOn: setter
  variables:
    color: $[ dependencies.setter.outputs['paint.color'] ]
  steps:
  - checkout: self
  - download: current
    artifact: made
  - script: |
      echo \"color is $(color)\"
      echo \"artifact says: $(cat $(Pipeline.Workspace)/made/made.txt)\"
      echo \"source has: $(cat marker-source.txt)\"
      if [ -f '{marker}' ]; then echo 'second time lucky'; else touch '{marker}'; echo 'first attempt fails'; exit 1; fi
- job: after
  dependsOn: flaky
  steps:
  - checkout: none
  - script: echo after ran
"
    )
}

fn job<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["jobs"].as_array().and_then(|jobs| jobs.iter().find(|job| job["job"] == name)).unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_run_again_in_place_and_a_whole_run_again_as_a_new_run() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    // Beside the data directory, not directly in its parent: confined jobs cannot add entries to
    // the data directory's parents (see `slipway_agent::confine`).
    std::fs::create_dir_all(directory.path().join("markers"))?;
    let marker = directory.path().join("markers/marker");
    let server = TestServer::start(&data, 2).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let text = flaky_pipeline(&marker.display().to_string());
    let files = [("azure-pipelines.yml", text.as_str()), ("marker-source.txt", "the commit's file")];
    pipeline_with_files(&app, &admin, directory.path(), "flaky", &files).await?;
    let id = start_run(&app, &contributor, "flaky", json!({})).await?;
    let first = wait_for_run(&app, &reader, id).await?;
    assert_eq!(first["result"], "Failed", "{first}");
    assert_eq!(job(&first, "setter")["result"], "Succeeded");
    assert_eq!(job(&first, "flaky")["result"], "Failed");
    assert_eq!(job(&first, "after")["result"], "Skipped");
    let setter_finished = job(&first, "setter")["finishedAt"].clone();

    // Who may, and what is refused.
    let uri = format!("/api/v1/runs/{id}/rerun");
    let failed_only = json!({ "failedOnly": true });
    send(&app, Method::POST, &uri, Some(&reader), Some(failed_only.clone())).await?.expect_problem(403);
    send(&app, Method::POST, "/api/v1/runs/999/rerun", Some(&contributor), Some(failed_only.clone()))
        .await?
        .expect_problem(404);
    send(&app, Method::POST, &uri, Some(&contributor), Some(json!({ "failedOnly": "yes" }))).await?.expect_problem(422);
    send(&app, Method::POST, &uri, Some(&contributor), Some(json!({ "everything": true }))).await?.expect_problem(422);

    // The cleanup removed the run's directory: the re-run checks the commit out again and puts
    // the artifact `setter` published back for `flaky` to download.
    let options = slipway_engine::retention::CleanupOptions {
        blob_grace: std::time::Duration::ZERO,
        run_directory_grace: std::time::Duration::ZERO,
    };
    let report = slipway_engine::retention::cleanup(server.state.store(), &data, options).await?;
    assert_eq!(report.deleted_run_directories, [slipway_store::RunId(id)]);
    assert!(report.deleted_blobs.is_empty(), "{report:?}");

    let again = send(&app, Method::POST, &uri, Some(&contributor), Some(failed_only.clone())).await?;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["id"], id);
    assert_eq!(again.body["status"], "queued");
    let second = wait_for_run(&app, &reader, id).await?;
    assert_eq!(second["result"], "Succeeded", "{second}");
    assert_eq!(second["jobs"].as_array().map(Vec::len), Some(3), "{second}");
    // What succeeded was kept as it was; what failed or was skipped ran again.
    assert_eq!(job(&second, "setter")["attempt"], 1);
    assert_eq!(job(&second, "setter")["finishedAt"], setter_finished);
    assert_eq!(job(&second, "flaky")["attempt"], 2);
    assert_eq!(job(&second, "flaky")["result"], "Succeeded");
    assert_eq!(job(&second, "after")["result"], "Succeeded");
    // The run keeps the start of its first attempt; the job keeps its earlier attempt.
    assert_eq!(second["startedAt"], first["startedAt"], "{second}");
    let earlier = &job(&second, "flaky")["earlierAttempts"];
    assert_eq!(earlier.as_array().map(Vec::len), Some(1), "{second}");
    assert_eq!(earlier[0]["result"], "Failed", "{second}");
    assert_eq!(earlier[0]["startedAt"], job(&first, "flaky")["startedAt"], "{second}");
    assert_eq!(earlier[0]["finishedAt"], job(&first, "flaky")["finishedAt"], "{second}");
    assert!(job(&second, "setter").get("earlierAttempts").is_none(), "{second}");
    // The log is the new attempt's; the earlier attempt's log is kept beside it.
    let logs = logs_by_job(&app, &reader, id).await?;
    let flaky = &logs.iter().find(|(key, _)| key.ends_with(".flaky")).ok_or("no flaky log")?.1;
    assert!(!flaky.contains("first attempt fails"), "the earlier attempt's lines are in the new log:\n{flaky}");
    let separator = flaky
        .find("##[section]Attempt 2 of this job: re-run of the failed jobs requested by carl")
        .ok_or(format!("no attempt line:\n{flaky}"))?;
    let lucky = flaky.find("second time lucky").ok_or(format!("no second attempt:\n{flaky}"))?;
    assert!(separator < lucky, "{flaky}");
    let raw = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&reader), None).await?;
    let flaky_raw = raw.body["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|job| job["key"].as_str().is_some_and(|key| key.ends_with(".flaky"))))
        .ok_or("no flaky job")?;
    let earlier_log = flaky_raw["earlierLogs"][0]["log"].as_str().unwrap_or_default();
    assert!(earlier_log.contains("first attempt fails"), "the first attempt's log is gone: {}", raw.body);
    assert!(!earlier_log.contains("second time lucky"), "{earlier_log}");
    // The output of the job that did not run again, the artifact and the checkout are there, in
    // both attempts.
    for log in [flaky.as_str(), earlier_log] {
        assert_eq!(log.matches("color is blue").count(), 1, "{log}");
        assert_eq!(log.matches("artifact says: made by setter").count(), 1, "{log}");
        assert_eq!(log.matches("source has: the commit's file").count(), 1, "{log}");
    }
    let after = &logs.iter().find(|(key, _)| key.ends_with(".after")).ok_or("no after log")?.1;
    assert!(after.contains("##[section]Attempt 1 of this job") && after.contains("after ran"), "{after}");

    // Nothing failed any more.
    let detail = send(&app, Method::POST, &uri, Some(&contributor), Some(failed_only)).await?.expect_problem(409);
    assert!(detail.contains("no failed or cancelled jobs"), "{detail}");

    // A whole re-run is a new run of the same commit, branch and variables.
    let whole = send(&app, Method::POST, &uri, Some(&contributor), Some(json!({}))).await?;
    assert_eq!(whole.status, StatusCode::CREATED, "{}", whole.body);
    let new_id = whole.body["id"].as_i64().ok_or("no id")?;
    assert_ne!(new_id, id);
    assert_eq!(
        whole.headers.get("location").and_then(|value| value.to_str().ok()),
        Some(format!("/api/v1/runs/{new_id}").as_str())
    );
    assert_eq!(whole.body["retryOf"], id);
    assert_eq!(whole.body["commit"], first["commit"]);
    assert_eq!(whole.body["branch"], first["branch"]);
    assert_eq!(whole.body["requestedBy"], "carl");
    assert_eq!(whole.body["triggerDetails"]["rerunOf"], id);
    let third = wait_for_run(&app, &reader, new_id).await?;
    assert_eq!(third["result"], "Succeeded", "{third}");
    assert!(third["jobs"].as_array().is_some_and(|jobs| jobs.iter().all(|job| job["attempt"] == 1)), "{third}");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_completed_runs_are_run_again_and_cancelled_ones_run_whole() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    // No worker slots: the run stays queued.
    let server = TestServer::start(&data, 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    pipeline_with_files(&app, &admin, directory.path(), "p", &[("azure-pipelines.yml", crate::support::TWO_JOBS)])
        .await?;
    let late = start_run(&app, &admin, "p", json!({})).await?;
    let mut queued = false;
    for _ in 0..100 {
        let run = send(&app, Method::GET, &format!("/api/v1/runs/{late}"), Some(&admin), None).await?;
        queued = run.body["jobs"][0]["status"] == "queued";
        if queued {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(queued, "the first job was not queued");
    for body in [json!({ "failedOnly": true }), json!({ "failedOnly": false })] {
        let detail = send(&app, Method::POST, &format!("/api/v1/runs/{late}/rerun"), Some(&admin), Some(body))
            .await?
            .expect_problem(409);
        assert!(detail.contains("has not completed"), "{detail}");
    }
    // Cancelled once its first job was queued: its jobs are cancelled.
    send(&app, Method::POST, &format!("/api/v1/runs/{late}/cancel"), Some(&admin), None).await?;
    let run = wait_for_run(&app, &admin, late).await?;
    assert_eq!(run["result"], "Canceled", "{run}");
    assert!(run["jobs"].as_array().is_some_and(|jobs| !jobs.is_empty()), "{run}");
    server.stop().await;

    // Cancelled before the orchestrator took it up: no job ever started.
    let opened = slipway_server::open(&data, None).await?;
    let app = slipway_server::router(opened.state.clone());
    let early = start_run(&app, &admin, "p", json!({})).await?;
    send(&app, Method::POST, &format!("/api/v1/runs/{early}/cancel"), Some(&admin), None).await?;
    let mut config = slipway_server::EngineConfig::new(data.clone());
    config.workers = 1;
    config.poll_interval = std::time::Duration::from_millis(100);
    let engine = opened.state.start_engine(config).await?;
    let run = wait_for_run(&app, &admin, early).await?;
    assert_eq!(run["result"], "Canceled", "{run}");

    for id in [late, early] {
        let again = send(
            &app,
            Method::POST,
            &format!("/api/v1/runs/{id}/rerun"),
            Some(&admin),
            Some(json!({ "failedOnly": true })),
        )
        .await?;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
        assert_eq!(again.body["cancelRequested"], false);
        let run = wait_for_run(&app, &admin, id).await?;
        assert_eq!(run["result"], "Succeeded", "{run}");
        assert_eq!(run["jobs"].as_array().map(Vec::len), Some(2), "{run}");
    }
    engine.shutdown().await;
    opened.state.store().close().await;
    Ok(())
}
