//! The event stream over the API: runs, jobs and deployments carried out by the engine become
//! CDEvents that validate against their schemas, in order and each once (also when the feeder
//! runs again, as after a kill -9); CDEvents and DevLake payloads pushed in, checked, stored
//! once; filters and who may do what.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slipway_insights::cdevents::{BinaryAttributes, accept};

use crate::support::{
    TestResult, TestServer, create_user, deploys_to, make_repository, on_both_databases, send, send_raw, wait_for_run,
};

/// Every event of the stream, read page by page.
async fn all_events(app: &axum::Router, token: &str, query: &str) -> TestResult<Vec<Value>> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page =
            send(app, Method::GET, &format!("/api/v1/events?after={after}&limit=50{query}"), Some(token), None).await?;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let found = page.body["events"].as_array().cloned().unwrap_or_default();
        after = page.body["next"].as_i64().ok_or("no next")?;
        if found.is_empty() {
            return Ok(events);
        }
        events.extend(found);
    }
}

fn types_of(events: &[Value]) -> Vec<String> {
    events.iter().filter_map(|event| event["event"]["type"].as_str().map(str::to_owned)).collect()
}

/// Waits (at most 15 s) until the stream holds an event of `event_type` about `subject`.
async fn wait_for_event(app: &axum::Router, token: &str, event_type: &str, subject: &str) -> TestResult<Vec<Value>> {
    for _ in 0..60 {
        let events = all_events(app, token, "").await?;
        if events.iter().any(|event| event["event"]["type"] == event_type && event["event"]["subject"] == subject) {
            return Ok(events);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("no {event_type} about {subject} came").into())
}

on_both_databases! {
    /// A run with a deployment, and a failed run: their events, in order, each valid and once.
    async fn runs_and_deployments_become_valid_cdevents_in_order(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", &deploys_to("production"))])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let started = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
        let run = started.body["id"].as_i64().ok_or("no run id")?;
        assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");

        // The changes were recorded with the run; the stream is fed from them once the feeder runs.
        assert!(all_events(&app, &admin, "").await?.is_empty());
        let feeder = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
        let events = wait_for_event(&app, &admin, "dev.cdevents.pipelinerun.finished.0.3.0", &format!("runs/{run}")).await?;
        let types = types_of(&events);
        assert_eq!(
            types,
            [
                "dev.cdevents.pipelinerun.queued.0.3.0",
                "dev.cdevents.pipelinerun.started.0.3.0",
                "dev.cdevents.taskrun.started.0.3.0",
                "dev.cdevents.taskrun.finished.0.3.0",
                "dev.cdevents.environment.created.0.3.0",
                "dev.cdevents.taskrun.started.0.3.0",
                "dev.cdevents.taskrun.finished.0.3.0",
                "dev.cdevents.service.deployed.0.3.0",
                "dev.cdevents.pipelinerun.finished.0.3.0",
            ],
            "{events:#?}"
        );
        for event in &events {
            accept(&event["event"], &BinaryAttributes::default()).map_err(|error| format!("{error}: {event:#}"))?;
            assert_eq!(event["origin"], "slipway");
            assert_eq!(event["event"]["source"], "/slipway");
        }
        let finished = &events[8]["event"]["data"]["subject"]["content"];
        assert_eq!(finished, &json!({ "pipelineName": "shop", "uri": format!("http://127.0.0.1:8080/runs/{run}"), "outcome": "success" }));
        let deployed = &events[7]["event"]["data"];
        assert_eq!(deployed["subject"]["content"]["environment"]["id"], "production");
        assert_eq!(deployed["context"]["chainId"], format!("slipway-run-{run}"));
        assert_eq!(deployed["customData"]["result"], "Succeeded");

        // A second deployment of the same service is an upgrade; a failed run says which job failed.
        let second = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
        let second = second.body["id"].as_i64().ok_or("no run id")?;
        wait_for_run(&app, &admin, second).await?;
        let events = wait_for_event(&app, &admin, "dev.cdevents.pipelinerun.finished.0.3.0", &format!("runs/{second}")).await?;
        assert_eq!(types_of(&events).iter().filter(|kind| kind.as_str() == "dev.cdevents.service.upgraded.0.3.0").count(), 1);

        // Filters: by type prefix, by environment.
        let services = all_events(&app, &admin, "&type=dev.cdevents.service.").await?;
        assert_eq!(types_of(&services), ["dev.cdevents.service.deployed.0.3.0", "dev.cdevents.service.upgraded.0.3.0"]);
        let production = all_events(&app, &admin, "&environment=production").await?;
        assert_eq!(production.len(), 3, "{production:#?}");

        // The feeder fed again from the start (as after a kill -9 before it moved its cursor)
        // stores nothing twice.
        feeder.abort();
        let before = all_events(&app, &admin, "").await?.len();
        let replay = slipway_insights::stream::Feeder::new(
            server.state.store().clone(),
            slipway_insights::stream::FeedConfig { source: "/slipway".into(), base_url: "http://127.0.0.1:8080".into() },
        )
        .with_cursor("replay");
        assert_eq!(replay.feed().await?, 0);
        assert_eq!(all_events(&app, &admin, "").await?.len(), before);
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// CDEvents pushed in every binding, checked and stored once; DevLake's payloads; roles.
    async fn events_pushed_in_are_checked_and_stored_once(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 0).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let deployed = json!({
            "context": { "specversion": "0.5.1", "id": "deploy-1", "source": "/ci/jenkins",
                "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-12-01T10:00:00Z" },
            "subject": { "id": "checkout", "content": { "environment": { "id": "production" }, "artifactId": "pkg:oci/checkout@sha256%3Aab" } }
        });
        let structured = json!({ "specversion": "1.0", "id": "deploy-1", "source": "/ci/jenkins",
            "type": "dev.cdevents.service.deployed.0.3.0", "subject": "checkout", "data": deployed });
        let body = serde_json::to_vec(&structured)?;
        let pushed = send_raw(&app, Method::POST, "/api/v1/events", Some(&admin), Some("application/cloudevents+json"), body.clone()).await?;
        assert_eq!(pushed.status, StatusCode::ACCEPTED, "{}", pushed.body);
        assert_eq!(pushed.body[0]["duplicate"], false);
        let again = send_raw(&app, Method::POST, "/api/v1/events", Some(&admin), Some("application/cloudevents+json"), body).await?;
        assert_eq!(again.body, json!([{ "id": "deploy-1", "source": "/ci/jenkins", "type": "dev.cdevents.service.deployed.0.3.0", "position": null, "duplicate": true }]));

        // Binary mode: the CDEvent as the body, the CloudEvent in ce- headers.
        let mut binary = deployed.clone();
        binary["context"]["id"] = json!("deploy-2");
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/events")
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "application/json")
            .header("ce-specversion", "1.0")
            .header("ce-id", "deploy-2")
            .header("ce-source", "/ci/jenkins")
            .header("ce-type", "dev.cdevents.service.deployed.0.3.0")
            .body(axum::body::Body::from(serde_json::to_vec(&binary)?))?;
        let answer = tower::ServiceExt::oneshot(app.clone(), request).await?;
        assert_eq!(answer.status(), StatusCode::ACCEPTED);

        // A batch is all or nothing; every problem is named with its place.
        let mut broken = deployed.clone();
        broken["context"]["id"] = json!("deploy-3");
        broken["subject"]["content"] = json!({ "environment": { "id": "" } });
        let batch = serde_json::to_vec(&json!([deployed, broken]))?;
        let refused = send_raw(&app, Method::POST, "/api/v1/events", Some(&admin), Some("application/cloudevents-batch+json"), batch).await?;
        assert_eq!(
            refused.expect_problem(400),
            "event 1 of the batch: at /subject/content: \"artifactId\" is a required property; at \
             /subject/content/environment/id: \"\" is shorter than 1 character"
        );
        let not_json = send_raw(&app, Method::POST, "/api/v1/events", Some(&admin), Some("application/json"), b"{\"context\": ".to_vec()).await?;
        assert_eq!(not_json.expect_problem(400), "the body is not JSON: EOF while parsing a value at line 1 column 12");

        // DevLake: a deployment, an incident opened and closed by key.
        let devlake = json!({
            "id": "rel-7", "startedDate": "2026-12-01T09:00:00+00:00", "finishedDate": "2026-12-01T09:10:00+00:00",
            "result": "SUCCESS", "environment": "PRODUCTION",
            "deploymentCommits": [{ "repoUrl": "https://git.example.com/shop/checkout.git", "commitSha": "abc123", "commitMsg": "Fixes AB#12" }]
        });
        let pushed = send(&app, Method::POST, "/api/v1/events/devlake/deployments", Some(&admin), Some(devlake)).await?;
        assert_eq!(pushed.status, StatusCode::ACCEPTED, "{}", pushed.body);
        assert_eq!(pushed.body["type"], "dev.cdevents.service.deployed.0.3.0");
        let incident = json!({ "issueKey": "INC-1", "title": "checkout is down", "originalStatus": "open",
            "status": "IN_PROGRESS", "createdDate": "2026-12-01T09:30:00+00:00" });
        let opened = send(&app, Method::POST, "/api/v1/events/devlake/incidents", Some(&admin), Some(incident)).await?;
        assert_eq!(opened.body["type"], "dev.cdevents.incident.detected.0.3.0", "{}", opened.body);
        let closed = send(&app, Method::POST, "/api/v1/events/devlake/incidents/INC-1/close", Some(&admin),
            Some(json!({ "resolutionDate": "2026-12-01T10:00:00+00:00" }))).await?;
        assert_eq!(closed.body["type"], "dev.cdevents.incident.resolved.0.3.0", "{}", closed.body);
        let bad = send(&app, Method::POST, "/api/v1/events/devlake/deployments", Some(&admin), Some(json!({ "id": "x" }))).await?;
        assert_eq!(
            bad.expect_problem(400),
            "the DevLake deployment: at /startedDate: missing: DevLake's payload requires it (an RFC 3339 time); at \
             /finishedDate: missing: DevLake's payload requires it (an RFC 3339 time); at /deploymentCommits: missing: \
             a deployment lists its commits (at least one, each with repoUrl and commitSha)"
        );

        let events = all_events(&app, &admin, "").await?;
        let origins: Vec<&str> = events.iter().filter_map(|event| event["origin"].as_str()).collect();
        assert_eq!(origins, ["api", "api", "devlake", "devlake", "devlake"]);
        for event in &events {
            accept(&event["event"], &BinaryAttributes::default()).map_err(|error| format!("{error}: {event:#}"))?;
        }
        let incidents = all_events(&app, &admin, "&type=dev.cdevents.incident.").await?;
        assert_eq!(types_of(&incidents), ["dev.cdevents.incident.detected.0.3.0", "dev.cdevents.incident.resolved.0.3.0"]);

        // What was pushed counts in DORA like Slipway's own deployments: three deployments to
        // production (e-refs), the incident attributed to the last one before it (rel-7, DevLake's rule).
        let environment = json!({ "name": "production" });
        assert_eq!(send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(environment)).await?.status, StatusCode::CREATED);
        let dora = send(&app, Method::GET, "/api/v1/environments/production/dora?days=365", Some(&admin), None).await?;
        assert_eq!(dora.status, StatusCode::OK, "{}", dora.body);
        let positions: Vec<String> = events.iter().filter_map(|event| event["position"].as_i64()).map(|position| format!("e{position}")).collect();
        let counted = &dora.body["deploymentFrequency"]["deploymentsCounted"];
        assert_eq!(counted.as_array().map(Vec::len), Some(3), "{}", dora.body);
        for reference in counted.as_array().into_iter().flatten() {
            assert!(positions.iter().any(|position| reference == position.as_str()), "{reference} is not a pushed event");
        }
        let failures = &dora.body["changeFailureRate"];
        assert_eq!(failures["failures"], 1, "{}", dora.body);
        assert_eq!(failures["failedDeployments"], json!([positions[2]]), "the DevLake deployment before the incident");

        // Readers read; pushing takes a contributor; a long poll returns when nothing comes.
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        // Positions increase; a duplicate may leave a gap (PostgreSQL's sequences move on).
        let fourth = events[3]["position"].as_i64().ok_or("no position")?;
        let last = events[4]["position"].as_i64().ok_or("no position")?;
        assert!(fourth < last);
        let page = send(&app, Method::GET, &format!("/api/v1/events?after={fourth}"), Some(&reader), None).await?;
        assert_eq!(page.body["events"].as_array().map(Vec::len), Some(1));
        let refused = send(&app, Method::POST, "/api/v1/events/devlake/incidents/INC-1/close", Some(&reader), None).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let waited = std::time::Instant::now();
        let empty = send(&app, Method::GET, &format!("/api/v1/events?after={last}&wait=1"), Some(&reader), None).await?;
        assert_eq!(empty.body, json!({ "events": [], "next": last }));
        assert!(waited.elapsed() >= Duration::from_millis(900));
        let wrong = send(&app, Method::GET, "/api/v1/events?limit=0", Some(&reader), None).await?;
        assert_eq!(wrong.expect_problem(400), "'limit' is 0; it must be between 1 and 1000");
        server.stop().await;
        Ok(())
    }
}

/// A pipeline whose build fails with the parameter `fail: yes` and whose deployment to
/// `production` fails with `break: yes`.
const FLAKY: &str = "\
trigger: none
parameters:
- name: fail
  type: string
  default: 'no'
- name: break
  type: string
  default: 'no'
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - script: test ${{ parameters.fail }} != yes
- stage: Deploy
  jobs:
  - deployment: ship
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - script: test ${{ parameters.break }} != yes
";

async fn run_with(app: &axum::Router, admin: &str, variables: Value, expected: &str) -> TestResult<i64> {
    let started =
        send(app, Method::POST, "/api/v1/pipelines/shop/runs", Some(admin), Some(json!({ "parameters": variables })))
            .await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let run = started.body["id"].as_i64().ok_or("no run id")?;
    assert_eq!(wait_for_run(app, admin, run).await?["result"], expected);
    Ok(run)
}

/// Waits (at most 15 s) until work item `id` matches `accept`; gives its details.
async fn wait_for_item(app: &axum::Router, token: &str, id: i64, accept: impl Fn(&Value) -> bool) -> TestResult<Value> {
    let mut last = Value::Null;
    for _ in 0..60 {
        last = send(app, Method::GET, &format!("/api/v1/work-items/{id}"), Some(token), None).await?.body;
        if accept(&last) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("work item {id} never matched: {last:#}").into())
}

/// Waits until the automation has read the whole stream.
async fn settled(server: &TestServer) -> TestResult {
    for _ in 0..80 {
        let store = server.state.store();
        let latest = store.latest_event_position().await?;
        let read = store.event_cursor(slipway_insights::automation::AUTOMATION_CURSOR).await?.unwrap_or(0);
        let fed = store.changes_after(store.event_cursor("feeder").await?.unwrap_or(0), 1).await?.is_empty();
        if fed && read >= latest {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err("the automation did not catch up".into())
}

on_both_databases! {
    /// Failures of the default branch open one bug, bumped on repeats and resolved by the next
    /// success; a failed deployment opens an incident resolved by the next good one; a commit's
    /// `Fixes AB#N` resolves item N; an incident pushed in from DevLake opens and closes one.
    async fn work_items_follow_failures_deployments_and_commits(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", FLAKY)])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);

        // Two failures of the same job: one bug, counted twice, linked to both runs.
        let first = run_with(&app, &admin, json!({ "fail": "yes" }), "Failed").await?;
        let second = run_with(&app, &admin, json!({ "fail": "yes" }), "Failed").await?;
        settled(&server).await?;
        let bugs = send(&app, Method::GET, "/api/v1/work-items?kind=bug", Some(&admin), None).await?;
        let bugs = bugs.body["workItems"].as_array().cloned().unwrap_or_default();
        assert_eq!(bugs.len(), 1, "{bugs:#?}");
        let bug = bugs[0]["id"].as_i64().ok_or("no id")?;
        assert_eq!(bugs[0]["title"], "shop failed on main: Build.build");
        assert_eq!(bugs[0]["occurrences"], 2);
        assert_eq!(bugs[0]["state"], "new");
        let details = send(&app, Method::GET, &format!("/api/v1/work-items/{bug}"), Some(&admin), None).await?.body;
        let runs: Vec<&str> = details["links"].as_array().into_iter().flatten()
            .filter(|link| link["kind"] == "run").filter_map(|link| link["target"].as_str()).collect();
        assert_eq!(runs, [first.to_string(), second.to_string()]);

        // The next success resolves it, linked to the fixing run.
        let fixed = run_with(&app, &admin, json!({}), "Succeeded").await?;
        let resolved = wait_for_item(&app, &admin, bug, |item| item["workItem"]["state"] == "resolved").await?;
        assert!(resolved["workItem"]["resolution"].as_str().is_some_and(|text| text.starts_with("Fixed: run ")), "{resolved:#}");
        let fixed = fixed.to_string();
        assert!(resolved["links"].as_array().into_iter().flatten().any(|link| link["kind"] == "run" && link["target"] == fixed.as_str()));

        // A failed deployment: an incident attributed to it, resolved by the next good one.
        run_with(&app, &admin, json!({ "break": "yes" }), "Failed").await?;
        settled(&server).await?;
        let incidents = send(&app, Method::GET, "/api/v1/work-items?kind=incident", Some(&admin), None).await?;
        let incidents = incidents.body["workItems"].as_array().cloned().unwrap_or_default();
        assert_eq!(incidents.len(), 1, "{incidents:#?}");
        let incident = incidents[0]["id"].as_i64().ok_or("no id")?;
        assert_eq!(incidents[0]["title"], "shop failed to deploy in production");
        assert_eq!(incidents[0]["environment"], "production");
        assert!(incidents[0]["deployment"].as_i64().is_some(), "attributed to its deployment");
        run_with(&app, &admin, json!({}), "Succeeded").await?;
        let restored = wait_for_item(&app, &admin, incident, |item| item["workItem"]["state"] == "resolved").await?;
        assert!(restored["workItem"]["resolution"].as_str().is_some_and(|text| text.starts_with("Service restored by deployment ")), "{restored:#}");

        // `Fixes AB#N` in a commit on the default branch resolves N.
        let task = send(&app, Method::POST, "/api/v1/work-items", Some(&admin), Some(json!({ "kind": "task", "title": "tidy the notes" }))).await?;
        let task = task.body["id"].as_i64().or_else(|| task.body["workItem"]["id"].as_i64()).ok_or("no id")?;
        std::fs::write(repository.join("notes.txt"), "tidy")?;
        for arguments in [vec!["add", "."], vec!["commit", "-qm", &format!("Fixes AB#{task}: tidy the notes")]] {
            let status = std::process::Command::new("git")
                .args(["-c", "user.name=Dee", "-c", "user.email=dee@example.com"])
                .args(&arguments)
                .current_dir(&repository)
                .status()?;
            assert!(status.success());
        }
        run_with(&app, &admin, json!({}), "Succeeded").await?;
        let done = wait_for_item(&app, &admin, task, |item| item["workItem"]["state"] == "resolved").await?;
        assert!(done["workItem"]["resolution"].as_str().is_some_and(|text| text.contains(&format!("AB#{task} on main"))), "{done:#}");
        assert!(done["links"].as_array().into_iter().flatten().any(|link| link["kind"] == "commit"), "{done:#}");

        // An incident from DevLake opens one and its close resolves it.
        let pushed = json!({ "issueKey": "INC-9", "title": "payments are slow", "originalStatus": "open", "createdDate": "2026-12-01T09:30:00+00:00" });
        send(&app, Method::POST, "/api/v1/events/devlake/incidents", Some(&admin), Some(pushed)).await?;
        settled(&server).await?;
        let open = send(&app, Method::GET, "/api/v1/work-items?kind=incident&state=open", Some(&admin), None).await?;
        let open = open.body["workItems"].as_array().cloned().unwrap_or_default();
        assert_eq!(open.len(), 1, "{open:#?}");
        assert_eq!(open[0]["title"], "payments are slow");
        send(&app, Method::POST, "/api/v1/events/devlake/incidents/INC-9/close", Some(&admin), None).await?;
        let external = open[0]["id"].as_i64().ok_or("no id")?;
        wait_for_item(&app, &admin, external, |item| item["workItem"]["state"] == "resolved").await?;

        // Work items are on the stream too: tickets, and incidents reported through them.
        settled(&server).await?;
        let tickets = all_events(&app, &admin, "&type=dev.cdevents.ticket.,dev.cdevents.incident.").await?;
        let slipway: Vec<String> = tickets.iter().filter(|event| event["origin"] == "slipway")
            .filter_map(|event| event["event"]["type"].as_str().map(str::to_owned)).collect();
        assert!(slipway.contains(&"dev.cdevents.ticket.created.0.2.0".to_owned()), "{slipway:?}");
        assert!(slipway.contains(&"dev.cdevents.incident.reported.0.3.0".to_owned()), "{slipway:?}");
        assert!(slipway.contains(&"dev.cdevents.incident.resolved.0.3.0".to_owned()), "{slipway:?}");
        for event in &tickets {
            accept(&event["event"], &BinaryAttributes::default()).map_err(|error| format!("{error}: {event:#}"))?;
        }
        server.stop().await;
        Ok(())
    }
}

/// A pipeline whose scan job publishes a secret scan's SARIF report (`leak`: whether it finds
/// an AWS key, an `error`, beside a `note`), whose build can fail and whose deployment can break.
const SCANNED: &str = r#"
parameters:
- name: leak
  type: string
  default: 'yes'
- name: fail
  type: string
  default: 'no'
- name: break
  type: string
  default: 'no'
trigger: none
stages:
- stage: Build
  jobs:
  - job: scan
    steps:
    - script: |
        mkdir -p out
        if [ "${{ parameters.leak }}" = yes ]; then
          results='[{"ruleId":"aws-access-key-id","level":"error","message":{"text":"AWS access key AKIA****"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"config/app.env"},"region":{"startLine":1}}}]},{"ruleId":"generic-api-key","level":"note","message":{"text":"maybe a key"}}]'
        else
          results='[]'
        fi
        printf '{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"slipway-secrets"}},"results":%s}]}' "$results" > out/secrets.sarif
    - task: PublishPipelineArtifact@1
      inputs:
        targetPath: out
        artifact: secret-scan
    - script: test ${{ parameters.fail }} != yes
- stage: Deploy
  jobs:
  - deployment: ship
    environment: production
    strategy:
      runOnce:
        deploy:
          steps:
          - script: test ${{ parameters.break }} != yes
"#;

/// The work items `query` selects.
async fn items(app: &axum::Router, token: &str, query: &str) -> TestResult<Vec<Value>> {
    let page = send(app, Method::GET, &format!("/api/v1/work-items?{query}"), Some(token), None).await?;
    Ok(page.body["workItems"].as_array().cloned().unwrap_or_default())
}

on_both_databases! {
    /// A security finding at or above the pipeline's threshold opens one bug per rule, bumped by
    /// a repeat and resolved when the scan no longer finds it; the pipeline's rules (threshold,
    /// failures, incidents, protected branches, assignee) are read and changed over the API and
    /// followed by the automation.
    async fn security_findings_and_the_pipelines_rules_open_work_items(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("shop");
        make_repository(&repository, &[("azure-pipelines.yml", SCANNED)])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let _stream = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);

        let rules = send(&app, Method::GET, "/api/v1/pipelines/shop/work-item-rules", Some(&admin), None).await?;
        assert_eq!(rules.status, StatusCode::OK);
        assert_eq!(rules.body, json!({ "pipeline": "shop", "failures": true, "branches": [], "security": "high", "incidents": true }));

        // The AWS key (an error) opens a bug; the note is below the threshold.
        let first = run_with(&app, &admin, json!({}), "Succeeded").await?;
        settled(&server).await?;
        let bugs = items(&app, &admin, "kind=bug").await?;
        assert_eq!(bugs.len(), 1, "{bugs:#?}");
        let bug = bugs[0]["id"].as_i64().ok_or("no id")?;
        assert_eq!(bugs[0]["title"], "shop: aws-access-key-id (secrets) found on main");
        assert_eq!(bugs[0]["severity"], "high");
        assert!(bugs[0]["dedupKey"].as_str().is_some_and(|key| key.ends_with(":secrets:aws-access-key-id")), "{bugs:#?}");
        assert!(bugs[0]["description"].as_str().is_some_and(|text| text.contains("- config/app.env:1: AWS access key AKIA****")), "{bugs:#?}");
        // Found again: the same bug, counted twice, linked to both runs.
        let second = run_with(&app, &admin, json!({}), "Succeeded").await?;
        settled(&server).await?;
        let bugs = items(&app, &admin, "kind=bug").await?;
        assert_eq!((bugs.len(), bugs[0]["occurrences"].as_i64()), (1, Some(2)), "{bugs:#?}");
        let details = send(&app, Method::GET, &format!("/api/v1/work-items/{bug}"), Some(&admin), None).await?.body;
        let runs: Vec<&str> = details["links"].as_array().into_iter().flatten()
            .filter(|link| link["kind"] == "run").filter_map(|link| link["target"].as_str()).collect();
        assert_eq!(runs, [first.to_string(), second.to_string()]);
        // The scan no longer finds it: resolved.
        run_with(&app, &admin, json!({ "leak": "no" }), "Succeeded").await?;
        let resolved = wait_for_item(&app, &admin, bug, |item| item["workItem"]["state"] == "resolved").await?;
        assert!(resolved["workItem"]["resolution"].as_str().is_some_and(|text| text.contains("no longer finds aws-access-key-id at or above high")), "{resolved:#}");

        // Bad rules are refused, naming the field; a reader may read them, not change them.
        let bad = send(&app, Method::PATCH, "/api/v1/pipelines/shop/work-item-rules", Some(&admin), Some(json!({ "security": "urgent" }))).await?;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body["detail"].as_str().is_some_and(|detail| detail.contains("security: 'urgent' is not a threshold; use off, low, medium, high or critical")), "{}", bad.body);
        let nobody = send(&app, Method::PATCH, "/api/v1/pipelines/shop/work-item-rules", Some(&admin), Some(json!({ "assignee": "nobody" }))).await?;
        assert_eq!(nobody.status, StatusCode::BAD_REQUEST, "{}", nobody.body);
        let missing = send(&app, Method::GET, "/api/v1/pipelines/none/work-item-rules", Some(&admin), None).await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        assert_eq!(send(&app, Method::GET, "/api/v1/pipelines/shop/work-item-rules", Some(&reader), None).await?.status, StatusCode::OK);
        let refused = send(&app, Method::PATCH, "/api/v1/pipelines/shop/work-item-rules", Some(&reader), Some(json!({ "failures": false }))).await?;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);

        // A lower threshold, no failure bugs, no incidents, new items to the admin.
        let changed = send(&app, Method::PATCH, "/api/v1/pipelines/shop/work-item-rules", Some(&admin),
            Some(json!({ "security": "low", "failures": false, "incidents": false, "assignee": "admin" }))).await?;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(changed.body["updatedBy"], "admin");
        run_with(&app, &admin, json!({ "fail": "yes" }), "Failed").await?;
        run_with(&app, &admin, json!({ "break": "yes" }), "Failed").await?;
        settled(&server).await?;
        let open = items(&app, &admin, "state=open").await?;
        let mut titles: Vec<&str> = open.iter().filter_map(|item| item["title"].as_str()).collect();
        titles.sort_unstable();
        assert_eq!(titles, ["shop: aws-access-key-id (secrets) found on main", "shop: generic-api-key (secrets) found on main"], "no failure bug, no incident: {open:#?}");
        assert!(open.iter().all(|item| item["assignee"] == "admin" && item["id"] != bug), "{open:#?}");
        assert_eq!(items(&app, &admin, "kind=incident").await?.len(), 0);

        // Only release branches are protected now: runs of main open and bump nothing.
        let protected = send(&app, Method::PATCH, "/api/v1/pipelines/shop/work-item-rules", Some(&admin),
            Some(json!({ "branches": ["release/*"], "failures": true }))).await?;
        assert_eq!(protected.body["branches"], json!(["release/*"]));
        let before = items(&app, &admin, "").await?;
        run_with(&app, &admin, json!({ "fail": "yes" }), "Failed").await?;
        settled(&server).await?;
        assert_eq!(items(&app, &admin, "").await?, before);
        server.stop().await;
        Ok(())
    }
}
