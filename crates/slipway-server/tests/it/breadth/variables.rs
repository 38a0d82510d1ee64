//! Pipeline variables, variable groups and secrets: who may change them, what is refused, and
//! that a secret never shows in a log, an event or an answer of the API.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Recorder, pipeline_with_files};
use crate::support::{TestResult, TestServer, create_user, send, send_raw, wait_for_run};

const PIPELINE_SECRET: &str = "pipeline-s3cr3t-7Q4m";
const GROUP_SECRET: &str = "group-s3cr3t-Zk81x";

/// A pipeline that prints secrets in every way a step might.
const ECHOES_SECRETS: &str = "\
trigger: none
variables:
- group: Shared
- name: fromYaml
  value: yaml-wins
jobs:
- job: show
  steps:
  - checkout: none
  - script: |
      echo \"pipeline secret: $(pipelineSecret)\"
      echo \"group secret: $(groupSecret)\"
      echo \"mapped: $MAPPED\"
      echo \"plain: $(plainVar) $(groupPlain) $(fromYaml) $(queued)\"
      echo \"not in the environment: [${PIPELINESECRET:-}]\"
      echo \"$(groupSecret)\" | base64
      echo \"##vso[task.setvariable variable=out;isOutput=true]$(pipelineSecret)\"
    name: printer
    displayName: Print $(groupSecret)
    env:
      MAPPED: $(groupSecret)
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_bad_input_for_variables_and_groups() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let repository = crate::support::two_jobs_repository(&directory.path().join("repository"))?;
    let pipeline = json!({ "name": "p", "repository": repository });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let plain = json!({ "value": "one", "secret": false });
    let secret = json!({ "value": "hush", "secret": true });

    // Pipeline variables: readers read, contributors write.
    let listed = send(&app, Method::GET, "/api/v1/pipelines/p/variables", Some(&reader), None).await?;
    assert_eq!((listed.status, listed.body.clone()), (StatusCode::OK, json!([])));
    send(&app, Method::PUT, "/api/v1/pipelines/p/variables/a", Some(&reader), Some(plain.clone()))
        .await?
        .expect_problem(403);
    send(&app, Method::DELETE, "/api/v1/pipelines/p/variables/a", Some(&reader), None).await?.expect_problem(403);
    let set =
        send(&app, Method::PUT, "/api/v1/pipelines/p/variables/a", Some(&contributor), Some(plain.clone())).await?;
    assert_eq!((set.status, set.body), (StatusCode::OK, json!({ "name": "a", "value": "one", "secret": false })));
    let set = send(&app, Method::PUT, "/api/v1/pipelines/p/variables/Token", Some(&contributor), Some(secret.clone()))
        .await?;
    assert_eq!(set.body, json!({ "name": "Token", "value": null, "secret": true }));
    // The same name in another case is the same variable.
    let again = json!({ "value": "two" });
    let set = send(&app, Method::PUT, "/api/v1/pipelines/p/variables/A", Some(&contributor), Some(again)).await?;
    assert_eq!(set.body, json!({ "name": "a", "value": "two", "secret": false }));
    let listed = send(&app, Method::GET, "/api/v1/pipelines/p/variables", Some(&reader), None).await?;
    assert_eq!(
        listed.body,
        json!([{ "name": "Token", "value": null, "secret": true }, { "name": "a", "value": "two", "secret": false }])
    );
    assert!(!listed.body.to_string().contains("hush"));

    // Bad names, bodies and targets.
    for name in ["Build.Reason", "system.debug", "has%20space", "a-b", "secretToken"] {
        send(
            &app,
            Method::PUT,
            &format!("/api/v1/pipelines/p/variables/{name}"),
            Some(&contributor),
            Some(plain.clone()),
        )
        .await?
        .expect_problem(400);
    }
    let json_type = Some("application/json");
    let token = Some(contributor.as_str());
    send_raw(&app, Method::PUT, "/api/v1/pipelines/p/variables/a", token, json_type, b"{\"value\":".to_vec())
        .await?
        .expect_problem(400);
    for body in [json!({}), json!({ "value": 5 }), json!({ "value": "x", "colour": "red" })] {
        send(&app, Method::PUT, "/api/v1/pipelines/p/variables/a", token, Some(body)).await?.expect_problem(422);
    }
    let huge = format!("{{\"value\": \"{}\"}}", "a".repeat(slipway_server::MAX_BODY_BYTES));
    send_raw(&app, Method::PUT, "/api/v1/pipelines/p/variables/a", token, json_type, huge.into_bytes())
        .await?
        .expect_problem(413);
    send(&app, Method::PUT, "/api/v1/pipelines/nope/variables/a", token, Some(plain.clone()))
        .await?
        .expect_problem(404);
    send(&app, Method::GET, "/api/v1/pipelines/nope/variables", token, None).await?.expect_problem(404);
    send(&app, Method::DELETE, "/api/v1/pipelines/p/variables/missing", token, None).await?.expect_problem(404);
    let deleted = send(&app, Method::DELETE, "/api/v1/pipelines/p/variables/a", token, None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    send(&app, Method::DELETE, "/api/v1/pipelines/p/variables/a", token, None).await?.expect_problem(404);

    // Groups: admins create and delete them, contributors set their variables, readers read.
    let group = json!({ "name": "Shared", "description": "for every pipeline" });
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&contributor), Some(group.clone()))
        .await?
        .expect_problem(403);
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&reader), Some(group.clone())).await?.expect_problem(403);
    let created = send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(group.clone())).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body, json!({ "name": "Shared", "description": "for every pipeline", "variables": [] }));
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(group)).await?.expect_problem(409);
    let same_but_lower = json!({ "name": "shared" });
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(same_but_lower)).await?.expect_problem(409);
    for body in
        [json!({ "name": "a/b" }), json!({ "name": "" }), json!({ "name": "x", "description": "d".repeat(1001) })]
    {
        send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(body)).await?.expect_problem(400);
    }
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(json!({ "nom": "x" })))
        .await?
        .expect_problem(422);
    let uri = "/api/v1/variable-groups/Shared/variables/key";
    send(&app, Method::PUT, uri, Some(&reader), Some(secret.clone())).await?.expect_problem(403);
    let set = send(&app, Method::PUT, uri, Some(&contributor), Some(secret)).await?;
    assert_eq!((set.status, set.body), (StatusCode::OK, json!({ "name": "key", "value": null, "secret": true })));
    send(&app, Method::PUT, "/api/v1/variable-groups/Shared/variables/plain", Some(&contributor), Some(plain.clone()))
        .await?;
    send(
        &app,
        Method::PUT,
        "/api/v1/variable-groups/Shared/variables/Build.X",
        Some(&contributor),
        Some(plain.clone()),
    )
    .await?
    .expect_problem(400);
    send(&app, Method::PUT, "/api/v1/variable-groups/nope/variables/a", Some(&contributor), Some(plain))
        .await?
        .expect_problem(404);
    let shown = send(&app, Method::GET, "/api/v1/variable-groups/shared", Some(&reader), None).await?;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.body["variables"],
        json!([{ "name": "key", "value": null, "secret": true }, { "name": "plain", "value": "one", "secret": false }])
    );
    let all = send(&app, Method::GET, "/api/v1/variable-groups", Some(&reader), None).await?;
    assert_eq!(all.body.as_array().map(Vec::len), Some(1));
    assert!(!all.body.to_string().contains("hush"));
    send(&app, Method::GET, "/api/v1/variable-groups/nope", Some(&reader), None).await?.expect_problem(404);
    send(&app, Method::DELETE, "/api/v1/variable-groups/Shared/variables/key", Some(&reader), None)
        .await?
        .expect_problem(403);
    let deleted =
        send(&app, Method::DELETE, "/api/v1/variable-groups/Shared/variables/key", Some(&contributor), None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    send(&app, Method::DELETE, "/api/v1/variable-groups/Shared/variables/key", Some(&contributor), None)
        .await?
        .expect_problem(404);
    send(&app, Method::DELETE, "/api/v1/variable-groups/Shared", Some(&contributor), None).await?.expect_problem(403);
    let deleted = send(&app, Method::DELETE, "/api/v1/variable-groups/Shared", Some(&admin), None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    send(&app, Method::GET, "/api/v1/variable-groups/Shared", Some(&reader), None).await?.expect_problem(404);
    send(&app, Method::DELETE, "/api/v1/variable-groups/Shared", Some(&admin), None).await?.expect_problem(404);
    // The audit log records the changes, never a value.
    let audit = server.state.store().list_audit(None, 100).await?;
    assert!(audit.iter().any(|entry| entry.action == "variable-group.create" && entry.actor == "admin"));
    assert!(audit.iter().all(|entry| !entry.details.to_string().contains("hush")));
    server.stop().await;
    Ok(())
}

/// Asks for a run through the recorder until it completes.
async fn wait_recorded(recorder: &Recorder, token: &str, id: i64) -> TestResult<Value> {
    for _ in 0..150 {
        let answer = recorder.send(Method::GET, &format!("/api/v1/runs/{id}"), token, None).await?;
        if answer.body["status"] == "completed" {
            return Ok(answer.body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("run {id} did not complete").into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_steps_masked_and_never_leave_the_server() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    pipeline_with_files(&app, &admin, directory.path(), "echo", &[("azure-pipelines.yml", ECHOES_SECRETS)]).await?;
    let recorder = Recorder::new(app.clone());
    let put = |uri: String, value: &str, secret: bool| {
        let body = json!({ "value": value, "secret": secret });
        let recorder = &recorder;
        let contributor = contributor.clone();
        async move { recorder.send(Method::PUT, &uri, &contributor, Some(body)).await }
    };
    let base = "/api/v1/pipelines/echo/variables";
    assert_eq!(put(format!("{base}/pipelineSecret"), PIPELINE_SECRET, true).await?.status, StatusCode::OK);
    put(format!("{base}/plainVar"), "plain-value", false).await?;
    put(format!("{base}/queued"), "default", false).await?;
    put(format!("{base}/fromYaml"), "setting-loses", false).await?;
    recorder.send(Method::POST, "/api/v1/variable-groups", &admin, Some(json!({ "name": "Shared" }))).await?;
    assert_eq!(
        put("/api/v1/variable-groups/Shared/variables/groupSecret".into(), GROUP_SECRET, true).await?.status,
        StatusCode::OK
    );
    put("/api/v1/variable-groups/Shared/variables/groupPlain".into(), "group-plain", false).await?;

    // Queue-time variables: only the pipeline's own, not secret ones.
    let refused = [
        (json!({ "variables": { "pipelineSecret": "x" } }), "secret"),
        (json!({ "variables": { "nothing": "x" } }), "settable: fromYaml, plainVar, queued"),
        (json!({ "variables": { "Build.Reason": "x" } }), "cannot be set"),
    ];
    for (body, expected) in refused {
        let answer = recorder.send(Method::POST, "/api/v1/pipelines/echo/runs", &contributor, Some(body)).await?;
        let detail = answer.expect_problem(400);
        assert!(detail.contains(expected), "{detail}");
    }
    let wrong_type = json!({ "variables": { "queued": 5 } });
    recorder
        .send(Method::POST, "/api/v1/pipelines/echo/runs", &contributor, Some(wrong_type))
        .await?
        .expect_problem(422);

    let body = json!({ "variables": { "QUEUED": "at-queue-time" } });
    let started = recorder.send(Method::POST, "/api/v1/pipelines/echo/runs", &contributor, Some(body)).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    assert_eq!(started.body["variables"], json!({ "queued": "at-queue-time" }));
    let id = started.body["id"].as_i64().ok_or("no id")?;
    let run = wait_recorded(&recorder, &admin, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");

    let logs = recorder.send(Method::GET, &format!("/api/v1/runs/{id}/logs"), &admin, None).await?;
    let log = logs.body["jobs"][0]["log"].as_str().ok_or("no log")?.to_owned();
    for expected in [
        "pipeline secret: ***",
        "group secret: ***",
        "mapped: ***",
        "plain: plain-value group-plain yaml-wins at-queue-time",
        "not in the environment: []",
        "Starting: Print ***",
    ] {
        assert!(log.contains(expected), "'{expected}' is not in the log:\n{log}");
    }
    for path in [
        format!("/api/v1/runs/{id}"),
        "/api/v1/runs?pipeline=echo".to_owned(),
        format!("/api/v1/runs/{id}/artifacts"),
        format!("/api/v1/runs/{id}/tests"),
        "/api/v1/pipelines/echo/variables".to_owned(),
        "/api/v1/variable-groups".to_owned(),
        "/api/v1/variable-groups/Shared".to_owned(),
        "/api/v1/pipelines".to_owned(),
        "/api/v1/openapi.json".to_owned(),
    ] {
        let answer = recorder.send(Method::GET, &path, &admin, None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    }
    let followed = crate::support::send_text(&app, &format!("/api/v1/runs/{id}/logs?follow=true"), &admin).await?;
    assert!(followed.contains("group secret: ***"), "{followed}");

    // Nowhere: not in any answer, the stored events, the log, the output variables, the database.
    let encoded = {
        let output = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        let mut child = output?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            stdin.write_all(format!("{GROUP_SECRET}\n").as_bytes())?;
        }
        String::from_utf8(child.wait_with_output()?.stdout)?
    };
    assert!(encoded.len() > 20, "{encoded}");
    assert!(recorder.count() > 20);
    let store = server.state.store();
    let events: Vec<String> =
        store.read_events(slipway_store::RunId(id), 0, 100_000).await?.into_iter().map(|event| event.json).collect();
    assert!(events.len() > 3);
    for secret in [PIPELINE_SECRET, GROUP_SECRET, encoded.trim()] {
        recorder.assert_never_seen(secret);
        assert!(!followed.contains(secret), "the followed log shows {secret}");
        assert!(!log.contains(secret), "the log shows {secret}");
        for event in &events {
            assert!(!event.contains(secret), "an event shows {secret}: {event}");
        }
    }
    let jobs = store.jobs_of_run(slipway_store::RunId(id)).await?;
    let outputs = store.list_job_outputs(jobs[0].id).await?;
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert!(outputs[0].is_secret && outputs[0].value.is_none(), "{outputs:?}");
    server.stop().await;
    for file in std::fs::read_dir(&data)? {
        let path = file?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            for secret in [PIPELINE_SECRET, GROUP_SECRET] {
                let found = bytes.windows(secret.len()).any(|window| window == secret.as_bytes());
                assert!(!found, "{} holds {secret} in the clear", path.display());
            }
        }
    }
    Ok(())
}

const NAMES_A_GROUP: &str = "\
trigger: none
variables:
- group: Deploy settings
jobs:
- job: a
  steps:
  - checkout: none
  - script: echo $(target)
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_group_is_refused_at_queue_time_and_fails_a_run_at_start() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    // No engine yet: the run stays queued while its group is deleted.
    let opened = slipway_server::open(&data, None).await?;
    let state = opened.state.clone();
    let app = slipway_server::router(state.clone());
    let admin = opened.admin_token.clone().ok_or("no admin token")?;
    pipeline_with_files(&app, &admin, directory.path(), "deploy", &[("azure-pipelines.yml", NAMES_A_GROUP)]).await?;
    let detail = send(&app, Method::POST, "/api/v1/pipelines/deploy/runs", Some(&admin), Some(json!({})))
        .await?
        .expect_problem(422);
    assert!(detail.contains("variable group 'Deploy settings' does not exist"), "{detail}");
    let group = json!({ "name": "Deploy settings" });
    send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(group)).await?;
    let id = super::start_run(&app, &admin, "deploy", json!({})).await?;
    let deleted = send(&app, Method::DELETE, "/api/v1/variable-groups/Deploy%20settings", Some(&admin), None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let mut config = slipway_server::EngineConfig::new(data.clone());
    config.workers = 1;
    config.poll_interval = Duration::from_millis(100);
    let engine = state.start_engine(config).await?;
    let run = wait_for_run(&app, &admin, id).await?;
    assert_eq!(run["result"], "Failed", "{run}");
    assert_eq!(run["jobs"], json!([]), "no job ran");
    let events = state.store().read_events(slipway_store::RunId(id), 0, 100).await?;
    assert!(
        events.iter().any(|event| event.json.contains("variable group 'Deploy settings' does not exist")),
        "{events:?}"
    );
    engine.shutdown().await;
    state.store().close().await;
    Ok(())
}
