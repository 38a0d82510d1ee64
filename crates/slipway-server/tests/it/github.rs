//! GitHub Actions workflows on the server: a pipeline whose file is a workflow runs on the
//! server's agents like an Azure pipeline, its `workflow_dispatch` inputs given as the run's
//! parameters, a job's outputs reaching the job that needs it, and GitHub's `if`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{Repo, TestResult, TestServer, make_repository, send, wait_for_run};

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
  event:
    if: github.event_name == 'workflow_dispatch' && github.event.inputs.greeting == 'howdy'
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "the event's input: ${{ github.event.inputs.greeting }}, by ${{ github.event.sender.login }}"
          grep -q '"greeting": "howdy"' "$GITHUB_EVENT_PATH" && echo "the event file holds the input"
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
    assert_eq!(result(".event"), Some(json!("Succeeded")), "{run}");

    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
    let text = logs.body.to_string();
    // The workflow's first run is number 1 (GitHub numbers each workflow's runs from 1).
    assert!(text.contains("howdy from test, version 1.1"), "{text}");
    // `github.event` is the workflow_dispatch payload, in expressions and at GITHUB_EVENT_PATH.
    assert!(text.contains("the event's input: howdy, by admin"), "{text}");
    assert!(text.contains("the event file holds the input"), "{text}");
    assert_eq!(run["runNumber"], "1", "{run}");

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

/// A server with an admin token, for the trigger tests.
struct Fixture {
    server: TestServer,
    app: axum::Router,
    admin: String,
    directory: tempfile::TempDir,
}

impl Fixture {
    async fn start(workers: usize) -> TestResult<Self> {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start(&directory.path().join("data"), workers).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        Ok(Self { server, app, admin, directory })
    }

    fn repo(&self, files: &[(&str, &str)]) -> TestResult<Repo> {
        Repo::init(&self.directory.path().join("repo"), files)
    }

    async fn create(&self, name: &str, repo: &Repo, yaml: &str) -> TestResult<crate::support::Answer> {
        let body = json!({ "name": name, "repository": repo.dir.display().to_string(), "yamlPath": yaml });
        send(&self.app, Method::POST, "/api/v1/pipelines", Some(&self.admin), Some(body)).await
    }

    async fn pipeline(&self, name: &str, repo: &Repo, yaml: &str) -> TestResult<slipway_store::Pipeline> {
        let created = self.create(name, repo, yaml).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        Ok(self.server.state.store().pipeline_by_name(name).await?.ok_or("no pipeline")?)
    }

    async fn poll(&self, pipeline: &slipway_store::Pipeline) -> TestResult<Vec<String>> {
        Ok(describe(&slipway_triggering::poll::poll_pipeline(self.server.state.triggering(), pipeline).await?))
    }

    async fn run(&self, id: i64) -> TestResult<serde_json::Value> {
        let answer = send(&self.app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&self.admin), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Ok(answer.body)
    }
}

/// Each decision as `subject: outcome`, with skip reasons.
fn describe(decided: &[slipway_triggering::Decided]) -> Vec<String> {
    use slipway_triggering::Outcome;
    decided
        .iter()
        .map(|decided| {
            let outcome = match &decided.outcome {
                Outcome::Started { .. } => "started".to_owned(),
                Outcome::Failed { reason, .. } => format!("failed ({reason})"),
                Outcome::Batched => "batched".to_owned(),
                Outcome::Skipped { reason } => format!("skipped ({reason})"),
                Outcome::AlreadyHandled => "already handled".to_owned(),
                Outcome::Error { reason } => format!("error ({reason})"),
            };
            format!("{}: {outcome}", decided.subject)
        })
        .collect()
}

fn started(decided: &[slipway_triggering::Decided]) -> Vec<i64> {
    decided
        .iter()
        .filter_map(|decided| match decided.outcome {
            slipway_triggering::Outcome::Started { run } => Some(run.get()),
            _ => None,
        })
        .collect()
}

const ON_PUSH: &str = "name: On push
on:
  push:
    branches: [main, 'releases/**']
    paths-ignore: ['docs/**']
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo building
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_start_a_workflow_by_its_branches_paths_and_skip_markers() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = fixture.repo(&[(".github/workflows/push.yml", ON_PUSH), ("README.md", "hello\n")])?;
    let pipeline = fixture.pipeline("push", &repo, ".github/workflows/push.yml").await?;
    assert_eq!(fixture.poll(&pipeline).await?, Vec::<String>::new());

    let commit = repo.commit(&[("src/app.rs", "fn main() {}\n")], "Add the app")?;
    let decided = slipway_triggering::poll::poll_pipeline(fixture.server.state.triggering(), &pipeline).await?;
    assert_eq!(describe(&decided), ["refs/heads/main: started"]);
    let run = fixture.run(started(&decided)[0]).await?;
    assert_eq!(run["trigger"], "push");
    assert_eq!(run["commit"], commit);

    // Only ignored paths.
    repo.commit(&[("docs/guide.md", "guide\n")], "Docs")?;
    assert_eq!(
        fixture.poll(&pipeline).await?,
        ["refs/heads/main: skipped (no changed path is included by the path filters)"]
    );
    // A skip marker in the head commit's message.
    repo.commit(&[("src/lib.rs", "\n")], "Tidy up [skip ci]")?;
    let lines = fixture.poll(&pipeline).await?;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("refs/heads/main: skipped (") && lines[0].contains("[skip ci]"), "{lines:?}");
    // A branch the filters leave out, one they select, and a tag with only branch filters.
    repo.git(&["checkout", "--quiet", "-b", "feature/x"])?;
    repo.commit(&[("src/x.rs", "\n")], "Feature")?;
    repo.git(&["checkout", "--quiet", "-b", "releases/v1/fix"])?;
    repo.commit(&[("src/fix.rs", "\n")], "Fix")?;
    repo.git(&["tag", "v1.0"])?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let lines = fixture.poll(&pipeline).await?;
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("refs/heads/feature/x: skipped (branch `feature/x`"), "{lines:?}");
    assert_eq!(lines[1], "refs/heads/releases/v1/fix: started", "{lines:?}");
    assert!(lines[2].starts_with("refs/tags/v1.0: skipped ("), "{lines:?}");
    fixture.server.stop().await;
    Ok(())
}

const ON_PULL_REQUEST: &str = "name: On pull requests
on:
  pull_request:
    types: [opened, closed]
    branches: [main]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: echo checking
";

const SECRET: &str = "It's a Secret to Everybody";

const PULL_REQUEST_PAYLOAD: &str = r#"name: Pull request payload
on:
  pull_request:
    branches: [main]
jobs:
  look:
    if: github.event.pull_request.title == 'A change' && !github.event.pull_request.draft
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "pull request ${{ github.event.number }} from ${{ github.event.pull_request.head.ref }} at ${{ github.event.pull_request.head.sha }} into ${{ github.event.pull_request.base.ref }}"
          grep -q '"action": "opened"' "$GITHUB_EVENT_PATH" && echo "the event file says opened"
  drafts-only:
    if: github.event.pull_request.draft
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
"#;

fn github_pull_request(action: &str, number: u64, source: &str, head: &str, target: &str) -> String {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "title": "A change", "draft": false, "merged": false,
            "head": { "ref": source, "sha": head, "repo": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" } },
            "base": { "ref": target, "sha": head, "repo": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" } }
        },
        "repository": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" }
    })
    .to_string()
}

/// Delivers a signed GitHub webhook; its decisions as `subject: outcome`.
async fn deliver(fixture: &Fixture, pipeline: &str, event: &str, body: &str) -> TestResult<Vec<String>> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let signature = format!("sha256={}", slipway_triggers::webhook::sign(SECRET.as_bytes(), body.as_bytes()));
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/webhooks/github/{pipeline}"))
        .header("content-type", "application/json")
        .header("X-GitHub-Event", event)
        .header("X-Hub-Signature-256", signature)
        .body(axum::body::Body::from(body.to_owned()))?;
    let response = fixture.app.clone().oneshot(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.into_body().collect().await?.to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(answer["decisions"]
        .as_array()
        .ok_or("no decisions")?
        .iter()
        .map(|decided| {
            let outcome = decided["outcome"].as_str().unwrap_or_default();
            match decided["reason"].as_str() {
                Some(reason) => format!("{}: {outcome} ({reason})", decided["subject"].as_str().unwrap_or_default()),
                None => format!("{}: {outcome}", decided["subject"].as_str().unwrap_or_default()),
            }
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_webhooks_start_a_workflow_per_its_types() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = fixture.repo(&[(".github/workflows/pr.yml", ON_PULL_REQUEST)])?;
    fixture.pipeline("pr", &repo, ".github/workflows/pr.yml").await?;
    let answer = send(
        &fixture.app,
        Method::PUT,
        "/api/v1/pipelines/pr/webhook",
        Some(&fixture.admin),
        Some(json!({ "secret": SECRET })),
    )
    .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    repo.git(&["checkout", "--quiet", "-b", "feature"])?;
    let head = repo.commit(&[("src/a.rs", "a\n")], "Feature work")?;
    repo.git(&["checkout", "--quiet", "main"])?;

    let subject = "pull request 3 (feature into main)";
    let opened = github_pull_request("opened", 3, "feature", &head, "main");
    assert_eq!(deliver(&fixture, "pr", "pull_request", &opened).await?, [format!("{subject}: started")]);
    // `synchronize` is not among the workflow's types.
    let synchronize = github_pull_request("synchronize", 3, "feature", &head, "main");
    let lines = deliver(&fixture, "pr", "pull_request", &synchronize).await?;
    assert!(lines.len() == 1 && lines[0].starts_with(&format!("{subject}: skipped (")), "{lines:?}");
    assert!(lines[0].contains("synchronize"), "{lines:?}");
    // `closed` is, though Azure's `pr` never builds it.
    let closed = github_pull_request("closed", 3, "feature", &head, "main");
    assert_eq!(deliver(&fixture, "pr", "pull_request", &closed).await?, [format!("{subject}: started")]);
    // Another base branch.
    let elsewhere = github_pull_request("opened", 4, "feature", &head, "feature");
    let lines = deliver(&fixture, "pr", "pull_request", &elsewhere).await?;
    assert!(lines.len() == 1 && lines[0].contains(": skipped ("), "{lines:?}");
    fixture.server.stop().await;
    Ok(())
}

/// A pull request's run sees GitHub's `pull_request` payload as `github.event`: its number,
/// title, draft flag and branches, in job conditions (evaluated by the server's driver) and in
/// steps (on an agent), and the same JSON at `GITHUB_EVENT_PATH`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_run_sees_its_event_payload() -> TestResult {
    let fixture = Fixture::start(1).await?;
    let repo = fixture.repo(&[(".github/workflows/pr.yml", PULL_REQUEST_PAYLOAD)])?;
    fixture.pipeline("pr", &repo, ".github/workflows/pr.yml").await?;
    let secret = Some(json!({ "secret": SECRET }));
    let answer = send(&fixture.app, Method::PUT, "/api/v1/pipelines/pr/webhook", Some(&fixture.admin), secret).await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    repo.git(&["checkout", "--quiet", "-b", "feature"])?;
    let head = repo.commit(&[("src/a.rs", "a\n")], "Feature work")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let opened = github_pull_request("opened", 7, "feature", &head, "main");
    let lines = deliver(&fixture, "pr", "pull_request", &opened).await?;
    assert_eq!(lines, ["pull request 7 (feature into main): started"]);
    let runs = send(&fixture.app, Method::GET, "/api/v1/runs?pipeline=pr", Some(&fixture.admin), None).await?;
    let listed = runs.body.as_array().or_else(|| runs.body["runs"].as_array()).cloned().unwrap_or_default();
    let id = listed.first().and_then(|run| run["id"].as_i64()).ok_or_else(|| format!("no run: {}", runs.body))?;
    let run = wait_for_run(&fixture.app, &fixture.admin, id).await?;
    let jobs = run["jobs"].as_array().cloned().unwrap_or_default();
    let result = |suffix: &str| {
        jobs.iter()
            .find(|job| job["key"].as_str().is_some_and(|key| key.ends_with(suffix)))
            .map(|job| job["result"].clone())
    };
    assert_eq!(result(".look"), Some(json!("Succeeded")), "{run}");
    assert_eq!(result(".drafts-only"), Some(json!("Skipped")), "{run}");
    let logs = send(&fixture.app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&fixture.admin), None).await?;
    let text = logs.body.to_string();
    assert!(text.contains(&format!("pull request 7 from feature at {head} into main")), "{text}");
    assert!(text.contains("the event file says opened"), "{text}");
    fixture.server.stop().await;
    Ok(())
}

const NIGHTLY: &str = "name: Nightly
on:
  schedule:
    - cron: '0 3 * * *'
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo nightly
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_schedule_fires_on_the_default_branch_only() -> TestResult {
    use time::macros::datetime;
    let fixture = Fixture::start(0).await?;
    let repo = fixture.repo(&[(".github/workflows/nightly.yml", NIGHTLY)])?;
    repo.git(&["branch", "dev"])?;
    let pipeline = fixture.pipeline("nightly", &repo, ".github/workflows/nightly.yml").await?;
    let triggering = fixture.server.state.triggering();
    let tick = |at| slipway_triggering::schedule::tick_pipeline(triggering, &pipeline, at);
    assert_eq!(describe(&tick(datetime!(2024-01-01 0:00 UTC)).await?), Vec::<String>::new());
    let decided = tick(datetime!(2024-01-01 3:45 UTC)).await?;
    assert_eq!(describe(&decided), ["0 3 * * *@refs/heads/main: started"], "dev is not the default branch");
    let run = fixture.run(started(&decided)[0]).await?;
    assert_eq!(run["trigger"], "schedule");
    assert_eq!(run["branch"], "refs/heads/main");
    assert_eq!(run["triggerDetails"]["schedule"]["cron"], "0 3 * * *");
    assert_eq!(run["triggerDetails"]["schedule"]["fireTime"], "2024-01-01T03:00:00Z");
    // Once per fire time; the next day again, whether or not anything changed.
    assert_eq!(describe(&tick(datetime!(2024-01-01 3:50 UTC)).await?), Vec::<String>::new());
    assert_eq!(describe(&tick(datetime!(2024-01-02 3:10 UTC)).await?), ["0 3 * * *@refs/heads/main: started"]);
    fixture.server.stop().await;
    Ok(())
}

const LIBRARY: &str = "name: Library
on:
  workflow_dispatch:
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo library
";

const AFTER_LIBRARY: &str = "name: After the library
on:
  workflow_run:
    workflows: [library]
    types: [completed]
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo deploying
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_run_starts_the_workflows_whose_workflow_run_names_it() -> TestResult {
    let fixture = Fixture::start(2).await?;
    let repo = fixture.repo(&[
        (".github/workflows/library.yml", LIBRARY),
        (".github/workflows/after.yml", AFTER_LIBRARY),
        (".github/workflows/push.yml", ON_PUSH),
    ])?;
    repo.git(&["branch", "dev"])?;
    fixture.pipeline("library", &repo, ".github/workflows/library.yml").await?;
    fixture.pipeline("after", &repo, ".github/workflows/after.yml").await?;
    fixture.pipeline("push", &repo, ".github/workflows/push.yml").await?;
    let state = &fixture.server.state;
    let mut watcher = slipway_triggering::completion::CompletionWatcher::new(state.store().now());
    assert!(watcher.pass(state.triggering()).await?.is_empty());

    let start = |branch: &'static str| {
        send(
            &fixture.app,
            Method::POST,
            "/api/v1/pipelines/library/runs",
            Some(&fixture.admin),
            Some(json!({ "branch": branch })),
        )
    };
    let library = start("main").await?;
    assert_eq!(library.status, StatusCode::CREATED, "{}", library.body);
    let library = library.body["id"].as_i64().ok_or("no run")?;
    assert_eq!(wait_for_run(&fixture.app, &fixture.admin, library).await?["result"], "Succeeded");
    let decided = watcher.pass(state.triggering()).await?;
    assert_eq!(describe(&decided), [format!("after after run {library}: started")]);
    let after = started(&decided)[0];
    let run = wait_for_run(&fixture.app, &fixture.admin, after).await?;
    assert_eq!(run["trigger"], "pipeline-completion");
    assert_eq!(run["upstreamRun"], library);
    assert_eq!(run["branch"], "refs/heads/main");
    assert_eq!(run["result"], "Succeeded", "{run}");
    assert!(watcher.pass(state.triggering()).await?.is_empty(), "the downstream run triggers nothing");
    // A run on a branch the filters leave out.
    let on_dev = start("dev").await?;
    wait_for_run(&fixture.app, &fixture.admin, on_dev.body["id"].as_i64().ok_or("no run")?).await?;
    assert!(started(&watcher.pass(state.triggering()).await?).is_empty());
    fixture.server.stop().await;
    Ok(())
}

const TYPED_INPUTS: &str = "name: Release
on:
  workflow_dispatch:
    inputs:
      version:
        type: string
        required: true
      dry-run:
        type: boolean
        default: true
      level:
        type: choice
        options: [patch, minor, major]
        default: patch
      retries:
        type: number
        default: 2
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: echo releasing
";

const REUSABLE: &str = "name: Reusable
on:
  workflow_call:
jobs:
  shared:
    runs-on: ubuntu-latest
    steps:
      - run: echo shared
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_inputs_are_typed_and_workflows_without_dispatch_are_refused() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = fixture.repo(&[
        (".github/workflows/release.yml", TYPED_INPUTS),
        (".github/workflows/push.yml", ON_PUSH),
        (".github/workflows/reusable.yml", REUSABLE),
    ])?;
    fixture.pipeline("release", &repo, ".github/workflows/release.yml").await?;
    fixture.pipeline("push", &repo, ".github/workflows/push.yml").await?;
    let app = fixture.app.clone();
    let admin = fixture.admin.clone();
    let run = |pipeline: &'static str, parameters: serde_json::Value| {
        let (app, admin) = (app.clone(), admin.clone());
        async move {
            let uri = format!("/api/v1/pipelines/{pipeline}/runs");
            let body = json!({ "branch": "main", "parameters": parameters });
            send(&app, Method::POST, &uri, Some(&admin), Some(body)).await
        }
    };
    // Every mistake at once.
    let refused =
        run("release", json!({ "dry-run": "maybe", "level": "huge", "retries": "two", "extra": "x" })).await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let text = refused.body.to_string();
    for expected in ["`extra`", "`version` is required", "`dry-run`", "`level`", "`retries`"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let accepted =
        run("release", json!({ "version": "1.2.3", "dry-run": false, "level": "minor", "retries": 3 })).await?;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    // Without `workflow_dispatch`, not by hand.
    let refused = run("push", json!({})).await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.to_string().contains("has no `on: workflow_dispatch`"), "{}", refused.body);
    // A reusable workflow is not a pipeline.
    let refused = fixture.create("reusable", &repo, ".github/workflows/reusable.yml").await?;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.to_string().contains("is a reusable workflow"), "{}", refused.body);
    fixture.server.stop().await;
    Ok(())
}

const ON_PULL_REQUEST_TARGET: &str = "name: Label pull requests
on:
  pull_request_target:
    types: [opened]
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: echo labelling
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_target_runs_the_default_branchs_workflow_at_its_head() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = fixture.repo(&[(".github/workflows/target.yml", ON_PULL_REQUEST_TARGET)])?;
    fixture.pipeline("target", &repo, ".github/workflows/target.yml").await?;
    let answer = send(
        &fixture.app,
        Method::PUT,
        "/api/v1/pipelines/target/webhook",
        Some(&fixture.admin),
        Some(json!({ "secret": SECRET })),
    )
    .await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    repo.git(&["checkout", "--quiet", "-b", "feature"])?;
    // The pull request removes the workflow's trigger: the default branch's file still decides.
    let head = repo.commit(&[(".github/workflows/target.yml", "on: push\njobs: {}\n")], "Feature work")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let main = repo.git(&["rev-parse", "HEAD"])?;

    let opened = github_pull_request("opened", 5, "feature", &head, "main");
    let lines = deliver(&fixture, "target", "pull_request", &opened).await?;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("pull request 5 (feature into main): skipped ("), "{lines:?}");
    assert_eq!(lines[1], "pull request 5 (feature into main) [pull_request_target]: started");
    let runs = send(&fixture.app, Method::GET, "/api/v1/runs?pipeline=target", Some(&fixture.admin), None).await?;
    let run = runs.body["runs"][0].clone();
    assert_eq!(run["branch"], "refs/heads/main");
    assert_eq!(run["commit"], main, "the default branch's head, not the pull request's code");
    assert_eq!(run["triggerDetails"]["pullRequest"]["sourceCommit"], head);
    // An activity the types leave out.
    let synchronize = github_pull_request("synchronize", 5, "feature", &head, "main");
    let lines = deliver(&fixture, "target", "pull_request", &synchronize).await?;
    assert!(lines.len() == 2 && lines[1].contains("[pull_request_target]: skipped ("), "{lines:?}");
    fixture.server.stop().await;
    Ok(())
}
