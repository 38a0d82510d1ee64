//! GitHub Actions workflows on the server: a pipeline whose file is a workflow runs on the
//! server's agents like an Azure pipeline, its `workflow_dispatch` inputs given as the run's
//! parameters, a job's outputs reaching the job that needs it, and GitHub's `if`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, make_repository, send, wait_for_run};

const WORKFLOW: &str = r#"name: CI
on:
  push:
  workflow_dispatch:
    inputs:
      greeting:
        type: string
        default: hello
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.v.outputs.version }}
    steps:
      - uses: actions/checkout@v4
      - id: v
        run: |
          test -f README.md
          echo "version=1.$GITHUB_RUN_NUMBER" >> "$GITHUB_OUTPUT"
  test:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ inputs.greeting }} from test, version ${{ needs.build.outputs.version }}"
  skipped:
    needs: build
    if: github.ref == 'refs/heads/nowhere'
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_runs_on_the_servers_agents_with_its_inputs() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[(".github/workflows/ci.yml", WORKFLOW), ("README.md", "hi\n")])?;
    let server = TestServer::start(&directory.path().join("data"), 2).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let pipeline = json!({
        "name": "ci",
        "repository": repository.display().to_string(),
        "yamlPath": ".github/workflows/ci.yml",
    });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let started = send(
        &app,
        Method::POST,
        "/api/v1/pipelines/ci/runs",
        Some(&admin),
        Some(json!({ "branch": "main", "parameters": { "greeting": "howdy" } })),
    )
    .await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run = wait_for_run(&app, &admin, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let jobs = run["jobs"].as_array().ok_or("no jobs")?;
    let result = |suffix: &str| {
        jobs.iter()
            .find(|job| job["key"].as_str().is_some_and(|key| key.ends_with(suffix)))
            .map(|job| job["result"].clone())
    };
    assert_eq!(result(".build"), Some(json!("Succeeded")), "{run}");
    assert_eq!(result(".test"), Some(json!("Succeeded")), "{run}");
    assert_eq!(result(".skipped"), Some(json!("Skipped")), "{run}");

    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
    let text = logs.body.to_string();
    assert!(
        text.contains(&format!("howdy from test, version 1.{id}")) || text.contains("howdy from test, version 1."),
        "{text}"
    );

    // An input the workflow does not declare is refused before the run starts.
    let refused = send(
        &app,
        Method::POST,
        "/api/v1/pipelines/ci/runs",
        Some(&admin),
        Some(json!({ "branch": "main", "parameters": { "nope": "1" } })),
    )
    .await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.to_string().contains("the workflow has no input named `nope`"), "{}", refused.body);
    server.stop().await;
    Ok(())
}
