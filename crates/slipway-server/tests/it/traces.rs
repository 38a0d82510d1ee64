//! OTLP traces of runs sent to a real OTLP/HTTP receiver (the official `opentelemetry-proto`
//! classes decoding what arrives; see `slipway_testing::otlp`): one trace per run, its root
//! span named and attributed as OpenTelemetry's CI/CD conventions say, stages, jobs and steps
//! below it with the right parents and times, a failed step's result; nothing sent twice when
//! the consumer starts again, and nothing lost while the receiver is down; and the same trace
//! through a real OpenTelemetry collector (rotel) in front of that receiver.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slipway_service::traces::{TRACES_CURSOR, TraceExporter, TracesConfig};

use crate::support::{TestResult, TestServer, make_repository, on_both_databases, send, wait_for_run};

/// Two stages with steps; the second stage's last step fails.
const PIPELINE: &str = "\
trigger: none
stages:
- stage: Build
  displayName: Build it
  jobs:
  - job: compile
    steps:
    - checkout: none
    - script: echo compiling
      displayName: Compile
- stage: Test
  jobs:
  - job: unit
    steps:
    - checkout: none
    - script: echo testing
      displayName: Run tests
    - script: exit 3
      displayName: Fail on purpose
";

/// The spans of `trace` the receiver took.
fn of_trace(spans: &[Value], trace: &str) -> Vec<Value> {
    spans.iter().filter(|span| span["traceId"] == trace).cloned().collect()
}

/// Waits (at most 20 s) until the receiver took a span whose `cicd.pipeline.run.id` is `run`.
async fn wait_for_trace(receiver: &slipway_testing::otlp::TestOtlp, run: i64) -> TestResult<String> {
    let wanted = run.to_string();
    for _ in 0..80 {
        let spans = receiver.spans()?;
        if let Some(root) = spans.iter().find(|span| span["attributes"]["cicd.pipeline.run.id"] == wanted.as_str()) {
            return Ok(root["traceId"].as_str().ok_or("no trace id")?.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("no trace of run {run} came; the receiver took {:#?}", receiver.requests()?).into())
}

fn one<'a>(spans: &'a [Value], name: &str) -> TestResult<&'a Value> {
    let found: Vec<&Value> = spans.iter().filter(|span| span["name"] == name).collect();
    match found.as_slice() {
        [span] => Ok(span),
        _ => Err(format!("{} spans named {name:?} in {spans:#?}", found.len()).into()),
    }
}

fn times(span: &Value) -> TestResult<(u64, u64)> {
    let start = span["startTimeUnixNano"].as_u64().ok_or("no start")?;
    let end = span["endTimeUnixNano"].as_u64().ok_or("no end")?;
    Ok((start, end))
}

/// `child` is below `parent` and inside its times.
fn is_child(child: &Value, parent: &Value) -> TestResult {
    assert_eq!(child["parentSpanId"], parent["spanId"], "{child:#} is not below {parent:#}");
    let ((start, end), (parent_start, parent_end)) = (times(child)?, times(parent)?);
    assert!(parent_start <= start && start <= end && end <= parent_end, "{child:#} is not inside {parent:#}");
    Ok(())
}

on_both_databases! {
    /// A two-stage run's trace at a real OTLP receiver, once, also when the consumer restarts.
    async fn a_finished_run_is_one_trace_at_a_real_otlp_receiver(database) {
        let started = tokio::task::spawn_blocking(|| slipway_testing::otlp::otlp_or_skip("runs' OTLP traces")).await??;
        let Some(receiver) = started else { return Ok(()) };
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;

        // While no receiver listens, a pass fails and the cursor stays where it was.
        let repository = directory.path().join("traced");
        make_repository(&repository, &[("azure-pipelines.yml", PIPELINE)])?;
        let pipeline = json!({ "name": "traced", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let first = send(&app, Method::POST, "/api/v1/pipelines/traced/runs", Some(&admin), Some(json!({}))).await?;
        let first = first.body["id"].as_i64().ok_or("no run id")?;
        let finished = wait_for_run(&app, &admin, first).await?;
        assert_eq!(finished["result"], "Failed", "{finished:#}");
        let unused = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let down = TracesConfig::resolve(Some(&format!("http://{unused}")), |_| None)?.ok_or("no configuration")?;
        let feeder = slipway_insights::stream::Feeder::new(
            server.state.store().clone(),
            slipway_insights::stream::FeedConfig { source: "/slipway".into(), base_url: "http://127.0.0.1:8080".into() },
        );
        feeder.feed().await?;
        let refused = TraceExporter::new(server.state.store().clone(), &down, "http://127.0.0.1:8080")?;
        let error = refused.pass().await.err().ok_or("a pass to a receiver that is down succeeded")?;
        assert!(error.to_string().contains(&format!("run {first}")), "{error}");
        assert_eq!(server.state.store().event_cursor(TRACES_CURSOR).await?, None);

        // With the receiver up, the consumers started as the server starts them send the trace.
        let config = TracesConfig::resolve(Some(&receiver.url), |name| match name {
            "OTEL_SERVICE_NAME" => Some("slipway-test".into()),
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("x-team=ci%20team".into()),
            _ => None,
        })?
        .ok_or("no configuration")?;
        server.state.set_traces(config);
        let consumers = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
        let trace = wait_for_trace(&receiver, first).await?;
        let requests = receiver.requests()?;
        assert_eq!(requests.len(), 1, "{requests:#?}");
        assert_eq!(requests[0]["headers"]["x-team"], "ci team");
        assert_eq!(requests[0]["headers"]["content-type"], "application/x-protobuf");
        let spans = receiver.spans()?;
        assert_eq!(of_trace(&spans, &trace).len(), spans.len(), "one trace: {spans:#?}");

        // The run: a SERVER span named `RUN {pipeline}` with the CI/CD and VCS attributes.
        let root = one(&spans, "RUN traced")?;
        assert_eq!(root["kind"], 2, "SERVER");
        assert_eq!(root["parentSpanId"], "");
        assert_eq!(root["resource"]["service.name"], "slipway-test");
        assert_eq!(root["scope"], "slipway");
        let attributes = &root["attributes"];
        assert_eq!(attributes["cicd.pipeline.name"], "traced");
        assert_eq!(attributes["cicd.pipeline.run.id"], first.to_string());
        assert_eq!(attributes["cicd.pipeline.run.url.full"], format!("http://127.0.0.1:8080/runs/{first}"));
        assert_eq!(attributes["cicd.pipeline.action.name"], "RUN");
        assert_eq!(attributes["cicd.pipeline.result"], "failure");
        assert_eq!(attributes["error.type"], "job_failed");
        assert_eq!(attributes["vcs.ref.head.name"], "main");
        assert_eq!(attributes["vcs.ref.head.revision"], finished["commit"]);
        assert_eq!(attributes["vcs.repository.url.full"], format!("file://{}", repository.display()));
        assert_eq!(root["status"]["code"], 2, "ERROR");
        let (start, end) = times(root)?;
        assert!(start < end);

        // Stages below the run, jobs below their stage, steps below their job, all inside.
        let build = one(&spans, "Build it")?;
        let test = one(&spans, "Test")?;
        let compile = one(&spans, "compile")?;
        let unit = one(&spans, "unit")?;
        is_child(build, root)?;
        is_child(test, root)?;
        is_child(compile, build)?;
        is_child(unit, test)?;
        is_child(one(&spans, "Compile")?, compile)?;
        is_child(one(&spans, "Run tests")?, unit)?;
        let failed = one(&spans, "Fail on purpose")?;
        is_child(failed, unit)?;
        assert!(times(build)?.1 <= times(test)?.0, "the stages ran one after the other");
        for task in spans.iter().filter(|span| span["spanId"] != root["spanId"]) {
            assert_eq!(task["kind"], 1, "INTERNAL: {task:#}");
            for key in ["cicd.pipeline.task.name", "cicd.pipeline.task.run.id", "cicd.pipeline.task.run.url.full", "cicd.pipeline.task.run.result"] {
                assert!(task["attributes"][key].is_string(), "{key} missing: {task:#}");
            }
        }
        assert_eq!(build["attributes"]["cicd.pipeline.task.run.result"], "success");
        assert_eq!(test["attributes"]["cicd.pipeline.task.run.result"], "failure");
        assert_eq!(unit["attributes"]["error.type"], "step_failed");
        assert!(unit["attributes"]["cicd.worker.name"].as_str().is_some_and(|worker| worker.starts_with("local:")), "{unit:#}");
        assert_eq!(failed["attributes"]["cicd.pipeline.task.run.result"], "failure");
        assert_eq!(failed["attributes"]["error.type"], "exit_code");
        assert_eq!(failed["attributes"]["process.exit.code"], 3);
        assert_eq!(failed["status"]["code"], 2);
        assert_eq!(one(&spans, "Compile")?["attributes"]["cicd.pipeline.task.run.result"], "success");
        let ids: BTreeSet<&str> = spans.iter().filter_map(|span| span["spanId"].as_str()).collect();
        assert_eq!(ids.len(), spans.len(), "span ids are unique");

        // The consumers started again (as after a restart) send the next run, not the first again.
        consumers.abort();
        let _ = consumers.await;
        let consumers = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
        let second = send(&app, Method::POST, "/api/v1/pipelines/traced/runs", Some(&admin), Some(json!({}))).await?;
        let second = second.body["id"].as_i64().ok_or("no run id")?;
        wait_for_run(&app, &admin, second).await?;
        let second_trace = wait_for_trace(&receiver, second).await?;
        assert_ne!(second_trace, trace);
        let after = receiver.spans()?;
        assert_eq!(of_trace(&after, &trace).len(), spans.len(), "the first run was sent again: {after:#?}");
        assert_eq!(receiver.requests()?.len(), 2);
        assert_eq!(of_trace(&after, &second_trace).len(), spans.len());
        consumers.abort();
        let _ = consumers.await;
        server.stop().await;
        Ok(())
    }
}

on_both_databases! {
    /// The same trace through a real OpenTelemetry collector (rotel, from PyPI): it takes what
    /// Slipway sends over OTLP/HTTP, decodes it and passes it on to the receiver with every span,
    /// parent, kind, status and attribute intact.
    async fn a_runs_trace_goes_through_a_real_collector(database) {
        let started = tokio::task::spawn_blocking(|| {
            let Some(receiver) = slipway_testing::otlp::otlp_or_skip("runs' traces through a collector")? else {
                return Ok::<_, String>(None);
            };
            let collector = slipway_testing::otlp::collector_or_skip("runs' traces through a collector", &receiver)?;
            Ok(collector.map(|collector| (receiver, collector)))
        })
        .await??;
        let Some((receiver, collector)) = started else { return Ok(()) };
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 2).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let repository = directory.path().join("traced");
        make_repository(&repository, &[("azure-pipelines.yml", PIPELINE)])?;
        let pipeline = json!({ "name": "traced", "repository": repository.display().to_string() });
        assert_eq!(send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status, StatusCode::CREATED);
        let config = TracesConfig::resolve(Some(&collector.url), |name| (name == "OTEL_SERVICE_NAME").then(|| "slipway-test".into()))?
            .ok_or("no configuration")?;
        server.state.set_traces(config);
        let consumers = slipway_service::events::start(&server.state, "127.0.0.1:8080".parse()?);
        let run = send(&app, Method::POST, "/api/v1/pipelines/traced/runs", Some(&admin), Some(json!({}))).await?;
        let run = run.body["id"].as_i64().ok_or("no run id")?;
        let finished = wait_for_run(&app, &admin, run).await?;
        let trace = wait_for_trace(&receiver, run).await?;
        // The collector passes a trace on in batches: wait until the whole of it came.
        let mut spans = Vec::new();
        for _ in 0..40 {
            spans = of_trace(&receiver.spans()?, &trace);
            if spans.len() >= 10 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let mut names: Vec<&str> = spans.iter().filter_map(|span| span["name"].as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Build it", "Checkout none", "Checkout none", "Compile", "Fail on purpose", "RUN traced", "Run tests", "Test", "compile", "unit"], "{spans:#?}");
        let root = one(&spans, "RUN traced")?;
        assert_eq!((root["kind"].as_i64(), root["status"]["code"].as_i64()), (Some(2), Some(2)));
        assert_eq!(root["resource"]["service.name"], "slipway-test");
        assert_eq!(root["attributes"]["cicd.pipeline.result"], "failure");
        assert_eq!(root["attributes"]["vcs.ref.head.revision"], finished["commit"]);
        is_child(one(&spans, "unit")?, one(&spans, "Test")?)?;
        let failed = one(&spans, "Fail on purpose")?;
        is_child(failed, one(&spans, "unit")?)?;
        assert_eq!(failed["attributes"]["process.exit.code"], 3);
        assert_eq!(failed["attributes"]["error.type"], "exit_code");
        consumers.abort();
        let _ = consumers.await;
        drop(collector);
        server.stop().await;
        Ok(())
    }
}
