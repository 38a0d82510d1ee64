//! Triggers over real git repositories made by the tests: CI pushes found by polling (branches,
//! paths, tags, `batch`, `none`, `[skip ci]`), pull requests and pushes from signed webhooks of
//! every provider, schedules at given times, pipeline completion, and run numbers.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use slipway_store::{Pipeline, RunId};
use slipway_triggering::completion::CompletionWatcher;
use slipway_triggering::{Decided, Outcome, TriggerConfig, TriggerService, poll, schedule};
use time::macros::datetime;

use crate::support::{Answer, Repo, TestResult, TestServer, send, send_raw, wait_for_run};

/// A server with an admin token.
struct Fixture {
    server: TestServer,
    app: Router,
    admin: String,
    _directory: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    async fn start(workers: usize) -> TestResult<Self> {
        let directory = tempfile::tempdir()?;
        let root = directory.path().to_path_buf();
        let server = TestServer::start(&root.join("data"), workers).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        Ok(Self { server, app, admin, _directory: directory, root })
    }

    /// Creates a pipeline through the API.
    async fn pipeline(&self, name: &str, repo: &Repo, yaml: &str) -> TestResult<Pipeline> {
        let body = json!({ "name": name, "repository": repo.path(), "yamlPath": yaml });
        let created = send(&self.app, Method::POST, "/api/v1/pipelines", Some(&self.admin), Some(body)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        Ok(self.server.state.store().pipeline_by_name(name).await?.ok_or("no pipeline")?)
    }

    async fn poll(&self, pipeline: &Pipeline) -> TestResult<Vec<Decided>> {
        Ok(poll::poll_pipeline(self.server.state.triggering(), pipeline).await?)
    }

    async fn run(&self, id: RunId) -> TestResult<Value> {
        let answer = send(&self.app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&self.admin), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Ok(answer.body)
    }

    async fn wait(&self, id: RunId) -> TestResult<Value> {
        wait_for_run(&self.app, &self.admin, id.get()).await
    }

    async fn log(&self, id: RunId) -> TestResult<String> {
        let answer = send(&self.app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&self.admin), None).await?;
        Ok(answer.body["jobs"].as_array().ok_or("no jobs")?.iter().filter_map(|job| job["log"].as_str()).collect())
    }

    async fn set_secret(&self, pipeline: &str, secret: &str) -> TestResult {
        let answer = send(
            &self.app,
            Method::PUT,
            &format!("/api/v1/pipelines/{pipeline}/webhook"),
            Some(&self.admin),
            Some(json!({ "secret": secret })),
        )
        .await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Ok(())
    }

    async fn deliver(
        &self,
        provider: &str,
        pipeline: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> TestResult<Answer> {
        deliver(&self.app, provider, pipeline, headers, body).await
    }
}

async fn deliver(
    app: &Router,
    provider: &str,
    pipeline: &str,
    headers: &[(&str, String)],
    body: &str,
) -> TestResult<Answer> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let mut request =
        axum::http::Request::builder().method(Method::POST).uri(format!("/api/v1/webhooks/{provider}/{pipeline}"));
    request = request.header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = app.clone().oneshot(request.body(axum::body::Body::from(body.to_owned()))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

/// Each decision as `subject: outcome`, with skip reasons.
fn describe(decided: &[Decided]) -> Vec<String> {
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

fn started(decided: &[Decided]) -> Vec<RunId> {
    decided
        .iter()
        .filter_map(|decided| match decided.outcome {
            Outcome::Started { run } => Some(run),
            _ => None,
        })
        .collect()
}

fn one_run(decided: &[Decided]) -> TestResult<RunId> {
    match started(decided).as_slice() {
        [run] => Ok(*run),
        _ => Err(format!("expected one run: {:?}", describe(decided)).into()),
    }
}

const FILTERED: &str = "\
trigger:
  branches:
    include: [main, releases/*]
    exclude: [releases/old*]
  paths:
    include: [src]
    exclude: [src/docs]
  tags:
    include: [v*]
    exclude: [v0.*]
pr: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_polled_and_filtered_by_branch_path_and_tag() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("ci.yml", FILTERED), ("README.md", "hello\n")])?;
    let pipeline = fixture.pipeline("filtered", &repo, "ci.yml").await?;
    // What was there when the pipeline was created does not trigger.
    assert_eq!(describe(&fixture.poll(&pipeline).await?), Vec::<String>::new());

    let first = repo.commit(&[("src/app.rs", "fn main() {}\n")], "Add the app\n\nWith a body.")?;
    let decided = fixture.poll(&pipeline).await?;
    assert_eq!(describe(&decided), ["refs/heads/main: started"]);
    let run = fixture.run(one_run(&decided)?).await?;
    assert_eq!(run["trigger"], "push");
    assert_eq!(run["branch"], "refs/heads/main");
    assert_eq!(run["commit"], first);
    assert_eq!(run["triggerDetails"]["message"], "Add the app");
    assert_eq!(run["triggerDetails"]["author"], "Ada Lovelace");
    assert_eq!(run["triggerDetails"]["email"], "ada@example.com");
    assert_eq!(run["triggerDetails"]["reason"], "IndividualCI");
    assert_eq!(run["triggerDetails"]["source"], "poll");
    assert_eq!(run["requestedBy"], "Ada Lovelace");
    assert_eq!(describe(&fixture.poll(&pipeline).await?), Vec::<String>::new(), "a push is decided once");

    repo.commit(&[("README.md", "more\n")], "Docs only")?;
    repo.commit(&[("src/docs/guide.md", "guide\n")], "Excluded docs")?;
    assert_eq!(
        describe(&fixture.poll(&pipeline).await?),
        ["refs/heads/main: skipped (no changed path is included by the path filters)"]
    );
    repo.commit(&[("src/lib.rs", "\n"), ("src/docs/more.md", "x\n")], "Code and docs")?;
    assert_eq!(describe(&fixture.poll(&pipeline).await?), ["refs/heads/main: started"]);

    // New branches: without commits of their own they change nothing; the branch filters apply.
    repo.git(&["branch", "releases/1"])?;
    repo.git(&["branch", "feature/x"])?;
    repo.git(&["branch", "releases/old-1"])?;
    assert_eq!(
        describe(&fixture.poll(&pipeline).await?),
        [
            "refs/heads/feature/x: skipped (branch `feature/x` is not included by the branch filters)",
            "refs/heads/releases/1: skipped (no changed path is included by the path filters)",
            "refs/heads/releases/old-1: skipped (branch `releases/old-1` is not included by the branch filters)",
        ]
    );
    repo.git(&["checkout", "--quiet", "-b", "releases/2"])?;
    let on_release = repo.commit(&[("src/fix.rs", "\n")], "A fix on a new release branch")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let decided = fixture.poll(&pipeline).await?;
    assert_eq!(describe(&decided), ["refs/heads/releases/2: started"]);
    assert_eq!(fixture.run(one_run(&decided)?).await?["commit"], on_release);

    // Tags: included, excluded, annotated; path filters do not apply to them.
    repo.git(&["tag", "v1.0"])?;
    repo.git(&["tag", "v0.9"])?;
    repo.git(&["tag", "-a", "v2.0", "-m", "Release 2"])?;
    repo.git(&["tag", "nightly"])?;
    let decided = fixture.poll(&pipeline).await?;
    assert_eq!(
        describe(&decided),
        [
            "refs/tags/nightly: skipped (tag `nightly` is not included by the branch or tag filters)",
            "refs/tags/v0.9: skipped (tag `v0.9` is not included by the branch or tag filters)",
            "refs/tags/v1.0: started",
            "refs/tags/v2.0: started",
        ]
    );
    let main = repo.git(&["rev-parse", "main"])?;
    for run in started(&decided) {
        let run = fixture.run(run).await?;
        assert!(run["branch"].as_str().is_some_and(|branch| branch.starts_with("refs/tags/v")), "{run}");
        assert_eq!(run["commit"], main, "an annotated tag runs its commit");
    }
    fixture.server.stop().await;
    Ok(())
}

const BATCHED: &str = "\
trigger:
  batch: true
  branches:
    include: [main]
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

const NO_TRIGGER: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_none_and_skip_ci() -> TestResult {
    // No worker slots: runs stay in progress until cancelled.
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("batch.yml", BATCHED), ("none.yml", NO_TRIGGER)])?;
    let batched = fixture.pipeline("batched", &repo, "batch.yml").await?;
    let disabled = fixture.pipeline("disabled", &repo, "none.yml").await?;

    let first = repo.commit(&[("a.txt", "1\n")], "First")?;
    let decided = fixture.poll(&batched).await?;
    let first_run = one_run(&decided)?;
    assert_eq!(fixture.run(first_run).await?["triggerDetails"]["reason"], "BatchedCI");
    assert_eq!(describe(&fixture.poll(&disabled).await?), ["refs/heads/main: skipped (the trigger is `none`)"]);

    // While the run is in progress, pushes wait.
    repo.commit(&[("b.txt", "2\n")], "Second")?;
    assert_eq!(describe(&fixture.poll(&batched).await?), ["refs/heads/main: batched"]);
    let third = repo.commit(&[("c.txt", "3\n")], "Third")?;
    assert_eq!(describe(&fixture.poll(&batched).await?), ["refs/heads/main: batched"]);

    let cancelled =
        send(&fixture.app, Method::POST, &format!("/api/v1/runs/{first_run}/cancel"), Some(&fixture.admin), None)
            .await?;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED, "{}", cancelled.body);
    fixture.wait(first_run).await?;
    // One run of the newest commit, covering both pushes.
    let decided = fixture.poll(&batched).await?;
    let run = fixture.run(one_run(&decided)?).await?;
    assert_eq!(run["commit"], third);
    assert_eq!(run["triggerDetails"]["before"], first);

    // `[skip ci]` in the head commit's message.
    let second_run = one_run(&decided)?;
    send(&fixture.app, Method::POST, &format!("/api/v1/runs/{second_run}/cancel"), Some(&fixture.admin), None).await?;
    fixture.wait(second_run).await?;
    repo.commit(&[("d.txt", "4\n")], "Tidy up\n\nNothing to build [skip ci]")?;
    assert_eq!(
        describe(&fixture.poll(&batched).await?),
        ["refs/heads/main: skipped (the head commit's message contains `[skip ci]`)"]
    );

    // A pipeline file that cannot be read, or that is not valid: a failed run says why.
    repo.commit(
        &[("none.yml", "trigger: [\n"), ("batch.yml", &BATCHED.replace("  - script: echo building\n", "  - 5\n"))],
        "Break both files",
    )?;
    for pipeline in [&disabled, &batched] {
        let decided = fixture.poll(pipeline).await?;
        let [Decided { outcome: Outcome::Failed { run, reason }, .. }] = decided.as_slice() else {
            return Err(format!("{}: {:?}", pipeline.name, describe(&decided)).into());
        };
        assert!(reason.contains("none.yml") || reason.contains("batch.yml"), "{reason}");
        let run = fixture.wait(*run).await?;
        assert_eq!((run["result"].as_str(), run["trigger"].as_str()), (Some("Failed"), Some("push")));
        assert_eq!(run["triggerDetails"]["error"].as_str(), Some(reason.as_str()));
        assert_eq!(describe(&fixture.poll(pipeline).await?), Vec::<String>::new(), "decided once");
    }
    fixture.server.stop().await;
    Ok(())
}

const NUMBERED: &str = "\
name: $(Build.DefinitionName)-$(SourceBranchName)-$(Rev:rr)
trigger:
  branches:
    include: [main]
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo \"number=$(Build.BuildNumber) reason=$(Build.Reason) id=$(Build.BuildId)\"
";

const BY_ID: &str = "\
name: run-$(Build.BuildId)-$(major)
trigger: none
variables:
  major: 3
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

const UNNAMED: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_numbered_from_name_with_revisions() -> TestResult {
    let fixture = Fixture::start(1).await?;
    let repo = Repo::init(
        &fixture.root.join("repo"),
        &[("numbered.yml", NUMBERED), ("by-id.yml", BY_ID), ("unnamed.yml", UNNAMED)],
    )?;
    repo.git(&["branch", "dev"])?;
    fixture.pipeline("numbered", &repo, "numbered.yml").await?;
    fixture.pipeline("by-id", &repo, "by-id.yml").await?;
    fixture.pipeline("unnamed", &repo, "unnamed.yml").await?;
    let manual = |pipeline: &'static str, branch: &'static str| {
        let app = fixture.app.clone();
        let admin = fixture.admin.clone();
        async move {
            let answer = send(
                &app,
                Method::POST,
                &format!("/api/v1/pipelines/{pipeline}/runs"),
                Some(&admin),
                Some(json!({ "branch": branch })),
            )
            .await?;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            TestResult::Ok(answer.body)
        }
    };
    let numbers = [
        manual("numbered", "main").await?,
        manual("numbered", "main").await?,
        manual("numbered", "dev").await?,
        manual("numbered", "main").await?,
    ];
    let numbers: Vec<&str> = numbers.iter().filter_map(|run| run["runNumber"].as_str()).collect();
    assert_eq!(numbers, ["numbered-main-01", "numbered-main-02", "numbered-dev-01", "numbered-main-03"]);

    let by_id = manual("by-id", "main").await?;
    assert_eq!(by_id["runNumber"], format!("run-{}-3", by_id["id"]));

    let today = time::OffsetDateTime::now_utc();
    let first = manual("unnamed", "main").await?;
    let second = manual("unnamed", "main").await?;
    let date = format!("{:04}{:02}{:02}", today.year(), u8::from(today.month()), today.day());
    // Azure's default, `$(Date:yyyyMMdd)$(Rev:.r)` (unless the test ran across midnight).
    if first["runNumber"].as_str().is_some_and(|number| number.starts_with(&date)) {
        assert_eq!(first["runNumber"], format!("{date}.1"));
        assert_eq!(second["runNumber"], format!("{date}.2"));
    }

    // The jobs see the number, and the reason of a triggered run.
    let id = RunId(numbers_run_id(&fixture, "numbered-main-01").await?);
    let run = fixture.wait(id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    assert!(fixture.log(id).await?.contains(&format!("number=numbered-main-01 reason=Manual id={id}")));
    let pipeline = fixture.server.state.store().pipeline_by_name("numbered").await?.ok_or("no pipeline")?;
    repo.commit(&[("x.txt", "x\n")], "Push")?;
    let pushed = one_run(&fixture.poll(&pipeline).await?)?;
    let run = fixture.wait(pushed).await?;
    assert_eq!(run["runNumber"], "numbered-main-04");
    assert!(fixture.log(pushed).await?.contains(&format!("number=numbered-main-04 reason=IndividualCI id={pushed}")));
    fixture.server.stop().await;
    Ok(())
}

async fn numbers_run_id(fixture: &Fixture, number: &str) -> TestResult<i64> {
    let page = send(&fixture.app, Method::GET, "/api/v1/runs?limit=200", Some(&fixture.admin), None).await?;
    page.body["runs"]
        .as_array()
        .ok_or("no runs")?
        .iter()
        .find(|run| run["runNumber"] == number)
        .and_then(|run| run["id"].as_i64())
        .ok_or_else(|| format!("no run numbered {number}").into())
}

const PR_CANCELS: &str = "\
trigger: none
pr:
  branches:
    include: [main]
  paths:
    exclude: [docs]
  drafts: false
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo validating
";

const PR_KEEPS: &str = "\
trigger: none
pr:
  autoCancel: false
  branches:
    include: [main]
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo validating
";

const SECRET: &str = "It's a Secret to Everybody";

fn github_signature(body: &str) -> String {
    format!("sha256={}", slipway_triggers::webhook::sign(SECRET.as_bytes(), body.as_bytes()))
}

fn github_pull_request(action: &str, number: u64, source: &str, head: &str, target: &str, draft: bool) -> String {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "title": "A change", "draft": draft, "merged": false,
            "head": { "ref": source, "sha": head, "repo": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" } },
            "base": { "ref": target, "sha": head, "repo": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" } }
        },
        "repository": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" }
    })
    .to_string()
}

async fn github(fixture: &Fixture, pipeline: &str, event: &str, body: &str) -> TestResult<Answer> {
    let headers = [("X-GitHub-Event", event.to_owned()), ("X-Hub-Signature-256", github_signature(body))];
    fixture.deliver("github", pipeline, &headers, body).await
}

/// The decisions of a webhook's answer as `subject: outcome`, and the runs started.
fn webhook_decisions(answer: &Answer) -> (Vec<String>, Vec<RunId>) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let decided: Vec<Decided> = answer.body["decisions"]
        .as_array()
        .map(|items| items.iter().filter_map(decided_from_json).collect())
        .unwrap_or_default();
    (describe(&decided), started(&decided))
}

fn decided_from_json(value: &Value) -> Option<Decided> {
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let outcome = match value["outcome"].as_str()? {
        "started" => Outcome::Started { run: RunId(value["run"].as_i64()?) },
        "failed" => Outcome::Failed { run: RunId(value["run"].as_i64()?), reason: text("reason") },
        "batched" => Outcome::Batched,
        "skipped" => Outcome::Skipped { reason: text("reason") },
        "alreadyHandled" => Outcome::AlreadyHandled,
        _ => Outcome::Error { reason: text("reason") },
    };
    Some(Decided { subject: text("subject"), commit: value["commit"].as_str().map(str::to_owned), outcome })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_from_webhooks_merge_and_cancel_earlier_runs() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("cancels.yml", PR_CANCELS), ("keeps.yml", PR_KEEPS)])?;
    fixture.pipeline("cancels", &repo, "cancels.yml").await?;
    fixture.pipeline("keeps", &repo, "keeps.yml").await?;
    fixture.set_secret("cancels", SECRET).await?;
    fixture.set_secret("keeps", SECRET).await?;
    repo.git(&["checkout", "--quiet", "-b", "feature"])?;
    let head = repo.commit(&[("src/a.rs", "a\n")], "Feature work")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let main = repo.commit(&[("other.txt", "main moved on\n")], "Meanwhile on main")?;

    let opened = github_pull_request("opened", 7, "feature", &head, "main", false);
    let (decisions, runs) = webhook_decisions(&github(&fixture, "cancels", "pull_request", &opened).await?);
    assert_eq!(decisions, ["pull request 7 (feature into main): started"]);
    let first = fixture.run(runs[0]).await?;
    assert_eq!(first["trigger"], "pr");
    assert_eq!(first["branch"], "refs/pull/7/merge");
    assert_eq!(first["triggerDetails"]["pullRequest"]["number"], 7);
    assert_eq!(first["triggerDetails"]["pullRequest"]["sourceCommit"], head);
    assert_eq!(first["triggerDetails"]["variables"]["System.PullRequest.TargetBranch"], "refs/heads/main");
    // The run builds the source merged into the target.
    let merge = first["commit"].as_str().ok_or("no commit")?;
    let parents = repo.git(&[
        "-C",
        &fixture.root.join("data/runs").join(runs[0].get().to_string()).join("source").display().to_string(),
        "log",
        "-1",
        "--format=%P",
    ])?;
    assert_eq!(parents, format!("{main} {head}"));
    assert_ne!(merge, head);
    // A delivery sent again starts nothing more.
    let (decisions, _) = webhook_decisions(&github(&fixture, "cancels", "pull_request", &opened).await?);
    assert_eq!(decisions, ["pull request 7 (feature into main): already handled"]);
    let (_, kept) = webhook_decisions(&github(&fixture, "keeps", "pull_request", &opened).await?);

    // New commits: the earlier run is cancelled, unless `autoCancel: false`.
    repo.git(&["checkout", "--quiet", "feature"])?;
    let newer = repo.commit(&[("src/b.rs", "b\n")], "More work")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let synchronize = github_pull_request("synchronize", 7, "feature", &newer, "main", false);
    let (decisions, runs_after) = webhook_decisions(&github(&fixture, "cancels", "pull_request", &synchronize).await?);
    assert_eq!(decisions, ["pull request 7 (feature into main): started"]);
    assert_eq!(fixture.run(runs[0]).await?["cancelRequested"], true);
    assert_eq!(fixture.run(runs_after[0]).await?["cancelRequested"], false);
    webhook_decisions(&github(&fixture, "keeps", "pull_request", &synchronize).await?);
    assert_eq!(fixture.run(kept[0]).await?["cancelRequested"], false);

    // Filters: target branch, paths, drafts; and events that never build.
    repo.git(&["checkout", "--quiet", "-b", "docs-only", "main"])?;
    let docs = repo.commit(&[("docs/guide.md", "guide\n")], "Docs")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    let cases = [
        (
            github_pull_request("opened", 8, "feature", &newer, "release", false),
            "pull request 8 (feature into release): skipped (branch `release` is not included by the branch filters)",
        ),
        (
            github_pull_request("opened", 9, "docs-only", &docs, "main", false),
            "pull request 9 (docs-only into main): skipped (no changed path is included by the path filters)",
        ),
        (
            github_pull_request("opened", 10, "feature", &newer, "main", true),
            "pull request 10 (feature into main): skipped (the pull request is a draft and `drafts` is false)",
        ),
        (
            github_pull_request("closed", 7, "feature", &newer, "main", false),
            "pull request 7 (feature into main): skipped (the pull request was closed)",
        ),
        (
            github_pull_request("labeled", 7, "feature", &newer, "main", false),
            "pull request 7 (feature into main): skipped (a pull request `labeled` event does not start a run)",
        ),
    ];
    for (body, expected) in cases {
        let (decisions, _) = webhook_decisions(&github(&fixture, "cancels", "pull_request", &body).await?);
        assert_eq!(decisions, [expected]);
    }
    fixture.server.stop().await;
    Ok(())
}

const ANY_PUSH: &str = "\
trigger:
  branches:
    include: [main]
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building
";

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// A push of `after` to `main` as each provider sends it, with its credentials for `secret`.
fn push_delivery(provider: &str, before: &str, after: &str, secret: &str) -> (Vec<(&'static str, String)>, String) {
    let sign = |body: &str| slipway_triggers::webhook::sign(secret.as_bytes(), body.as_bytes());
    match provider {
        "github" => {
            let body = json!({
                "ref": "refs/heads/main", "before": before, "after": after,
                "repository": { "full_name": "octo/repo", "clone_url": "https://example.invalid/octo/repo.git" },
                "pusher": { "name": "octocat" },
                "commits": [{ "id": after, "message": "Pushed", "added": ["a.txt"], "removed": [], "modified": [] }],
                "head_commit": { "id": after, "message": "Pushed" }
            })
            .to_string();
            (vec![("X-GitHub-Event", "push".into()), ("X-Hub-Signature-256", format!("sha256={}", sign(&body)))], body)
        }
        "gitlab" => {
            let body = json!({
                "object_kind": "push", "ref": "refs/heads/main", "before": before, "after": after,
                "user_username": "tanuki",
                "project": { "path_with_namespace": "group/repo", "git_http_url": "https://example.invalid/group/repo.git" },
                "commits": [{ "id": after, "message": "Pushed", "added": ["a.txt"], "modified": [], "removed": [] }],
                "total_commits_count": 1
            })
            .to_string();
            (vec![("X-Gitlab-Event", "Push Hook".into()), ("X-Gitlab-Token", secret.to_owned())], body)
        }
        "gitea" | "forgejo" => {
            let body = json!({
                "ref": "refs/heads/main", "before": before, "after": after,
                "commits": [{ "id": after, "message": "Pushed", "added": ["a.txt"], "removed": [], "modified": [] }],
                "total_commits": 1,
                "head_commit": { "id": after, "message": "Pushed" },
                "repository": { "full_name": "tea/repo", "clone_url": "https://example.invalid/tea/repo.git" },
                "pusher": { "login": "tea" }
            })
            .to_string();
            let headers = if provider == "gitea" {
                vec![("X-Gitea-Event", "push".into()), ("X-Gitea-Signature", sign(&body))]
            } else {
                vec![
                    ("X-Forgejo-Event", "push".into()),
                    ("X-Forgejo-Signature", sign(&body)),
                    ("X-Gitea-Signature", sign(&body)),
                ]
            };
            (headers, body)
        }
        _ => {
            let body = json!({
                "eventType": "git.push",
                "resource": {
                    "commits": [{ "commitId": after, "comment": "Pushed" }],
                    "refUpdates": [{ "name": "refs/heads/main", "oldObjectId": before, "newObjectId": after }],
                    "repository": { "name": "repo", "project": { "name": "project" }, "remoteUrl": "https://example.invalid/_git/repo" },
                    "pushedBy": { "uniqueName": "someone@example.com" }
                }
            })
            .to_string();
            (vec![("Authorization", basic("slipway", secret))], body)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_pushes_from_every_provider_are_verified() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("ci.yml", ANY_PUSH)])?;
    let before = repo.git(&["rev-parse", "HEAD"])?;
    for provider in ["github", "gitlab", "gitea", "forgejo", "azure"] {
        fixture.pipeline(&format!("hooked-{provider}"), &repo, "ci.yml").await?;
        fixture.set_secret(&format!("hooked-{provider}"), SECRET).await?;
    }
    let after = repo.commit(&[("a.txt", "pushed\n")], "Pushed")?;
    let mut refusals = Vec::new();
    for provider in ["github", "gitlab", "gitea", "forgejo", "azure"] {
        let pipeline = format!("hooked-{provider}");
        // Signed with another secret.
        let (headers, body) = push_delivery(provider, &before, &after, "not the secret");
        let answer = fixture.deliver(provider, &pipeline, &headers, &body).await?;
        refusals.push(format!("{provider} wrong: {}", answer.expect_problem(401)));
        // No credentials at all.
        let (headers, body) = push_delivery(provider, &before, &after, SECRET);
        let credentials =
            ["X-Hub-Signature-256", "X-Gitlab-Token", "X-Gitea-Signature", "X-Forgejo-Signature", "Authorization"];
        let unsigned: Vec<(&str, String)> =
            headers.iter().filter(|(name, _)| !credentials.contains(name)).cloned().collect();
        let answer = fixture.deliver(provider, &pipeline, &unsigned, &body).await?;
        refusals.push(format!("{provider} missing: {}", answer.expect_problem(401)));
        // Properly signed, but not JSON.
        let (headers, _) = push_delivery(provider, &before, &after, SECRET);
        let broken = "{not json";
        let headers: Vec<(&str, String)> = headers
            .into_iter()
            .map(|(name, value)| match name {
                "X-Hub-Signature-256" => (name, github_signature(broken)),
                "X-Gitea-Signature" | "X-Forgejo-Signature" => {
                    (name, slipway_triggers::webhook::sign(SECRET.as_bytes(), broken.as_bytes()))
                }
                _ => (name, value),
            })
            .collect();
        let answer = fixture.deliver(provider, &pipeline, &headers, broken).await?;
        refusals.push(format!("{provider} malformed: {}", answer.expect_problem(400)));
        // The real thing.
        let (headers, body) = push_delivery(provider, &before, &after, SECRET);
        let answer = fixture.deliver(provider, &pipeline, &headers, &body).await?;
        let (decisions, runs) = webhook_decisions(&answer);
        assert_eq!(decisions, ["refs/heads/main: started"], "{provider}");
        let run = fixture.run(runs[0]).await?;
        assert_eq!(run["commit"], after);
        assert_eq!(run["triggerDetails"]["source"], format!("webhook:{provider}"));
        // Polling later finds nothing new.
        let pipeline = fixture.server.state.store().pipeline_by_name(&pipeline).await?.ok_or("no pipeline")?;
        assert_eq!(describe(&fixture.poll(&pipeline).await?), Vec::<String>::new());
    }
    insta::assert_snapshot!(refusals.join("\n"), @"
    github wrong: webhook delivery refused: the `X-Hub-Signature-256` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit
    github missing: webhook delivery refused: the delivery carries no `X-Hub-Signature-256` header, so it cannot be verified (set a secret on the GitHub webhook)
    github malformed: webhook delivery refused: the body is not valid JSON: key must be a string at line 1 column 2
    gitlab wrong: webhook delivery refused: the `X-Gitlab-Token` header does not match the configured secret
    gitlab missing: webhook delivery refused: the delivery carries no `X-Gitlab-Token` header, so it cannot be verified (set a secret token on the GitLab webhook)
    gitlab malformed: webhook delivery refused: the body is not valid JSON: key must be a string at line 1 column 2
    gitea wrong: webhook delivery refused: the `X-Gitea-Signature` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit
    gitea missing: webhook delivery refused: the delivery carries no `X-Forgejo-Signature` or `X-Gitea-Signature` header, so it cannot be verified (set a secret on the Gitea or Forgejo webhook)
    gitea malformed: webhook delivery refused: the body is not valid JSON: key must be a string at line 1 column 2
    forgejo wrong: webhook delivery refused: the `X-Forgejo-Signature` signature does not match the body: the webhook's secret differs from the one configured here, or the body was changed in transit
    forgejo missing: webhook delivery refused: the delivery carries no `X-Forgejo-Signature` or `X-Gitea-Signature` header, so it cannot be verified (set a secret on the Gitea or Forgejo webhook)
    forgejo malformed: webhook delivery refused: the body is not valid JSON: key must be a string at line 1 column 2
    azure wrong: webhook delivery refused: the basic authentication user name or password does not match the service hook's configuration
    azure missing: webhook delivery refused: the delivery carries no `Authorization` header, so it cannot be verified (set basic authentication on the Azure Repos service hook)
    azure malformed: webhook delivery refused: the body is not valid JSON: key must be a string at line 1 column 2
    ");
    // Every refusal is in the audit log.
    let audit = fixture.server.state.store().list_audit(None, 100).await?;
    assert_eq!(audit.iter().filter(|entry| entry.action == "webhook.rejected").count(), 15);

    // GitHub's ping, unknown providers and pipelines, a pipeline without a secret.
    let ping = "{\"zen\": \"Keep it logically awesome.\"}";
    let answer = github(&fixture, "hooked-github", "ping", ping).await?;
    assert_eq!((answer.status, answer.body["event"].clone()), (StatusCode::OK, json!("ping")));
    // Deliveries may be larger than other API bodies.
    let large = json!({ "zen": "z".repeat(1024 * 1024) }).to_string();
    assert_eq!(github(&fixture, "hooked-github", "ping", &large).await?.status, StatusCode::OK);
    let (headers, body) = push_delivery("github", &before, &after, SECRET);
    let mut others = Vec::new();
    others.push(fixture.deliver("bitbucket", "hooked-github", &headers, &body).await?.expect_problem(404));
    others.push(fixture.deliver("github", "nope", &headers, &body).await?.expect_problem(404));
    fixture.pipeline("no-secret", &repo, "ci.yml").await?;
    others.push(fixture.deliver("github", "no-secret", &headers, &body).await?.expect_problem(403));
    insta::assert_snapshot!(others.join("\n"), @"
    'bitbucket' is not a webhook provider: use github, gitlab, gitea, forgejo, azure
    no pipeline named 'nope'
    webhook delivery refused: no secret is configured for this webhook, so no delivery can be verified; set one here and on the GitHub side
    ");
    fixture.server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_secrets_are_managed_by_admins() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("ci.yml", ANY_PUSH)])?;
    fixture.pipeline("app", &repo, "ci.yml").await?;
    let reader = crate::support::create_user(&fixture.app, &fixture.admin, "rita", "reader").await?;
    let url = "/api/v1/pipelines/app/webhook";
    let shown = send(&fixture.app, Method::GET, url, Some(&fixture.admin), None).await?;
    assert_eq!(shown.body["secretSet"], false);
    assert_eq!(shown.body["urls"]["github"], "/api/v1/webhooks/github/app");
    let generated = send_raw(&fixture.app, Method::PUT, url, Some(&fixture.admin), None, Vec::new()).await?;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.body);
    let secret = generated.body["secret"].as_str().ok_or("no secret")?.to_owned();
    assert_eq!(secret.len(), 48);
    assert_eq!(
        fixture
            .server
            .state
            .store()
            .webhook_secret(fixture.server.state.store().pipeline_by_name("app").await?.ok_or("no pipeline")?.id)
            .await?
            .as_deref(),
        Some(secret.as_str())
    );
    assert_eq!(send(&fixture.app, Method::GET, url, Some(&fixture.admin), None).await?.body["secretSet"], true);
    let mut problems = Vec::new();
    problems.push(
        send(&fixture.app, Method::PUT, url, Some(&fixture.admin), Some(json!({ "secret": "short" })))
            .await?
            .expect_problem(400),
    );
    problems.push(
        send(&fixture.app, Method::PUT, url, Some(&fixture.admin), Some(json!({ "secret": " starts with a space" })))
            .await?
            .expect_problem(400),
    );
    problems.push(
        send(&fixture.app, Method::PUT, url, Some(&reader), Some(json!({ "secret": "long enough secret" })))
            .await?
            .expect_problem(403),
    );
    problems.push(
        send(&fixture.app, Method::PUT, "/api/v1/pipelines/nope/webhook", Some(&fixture.admin), None)
            .await?
            .expect_problem(404),
    );
    insta::assert_snapshot!(problems.join("\n"), @"
    a webhook secret must be 8 to 256 characters long
    a webhook secret cannot hold control characters, or begin or end with spaces
    this needs the admin role; user 'rita' is a reader
    no pipeline named 'nope'
    ");
    let deleted = send(&fixture.app, Method::DELETE, url, Some(&fixture.admin), None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let (headers, body) = push_delivery(
        "github",
        "0000000000000000000000000000000000000000",
        &repo.git(&["rev-parse", "HEAD"])?,
        &secret,
    );
    fixture.deliver("github", "app", &headers, &body).await?.expect_problem(403);
    let document = send(&fixture.app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    assert!(document.body["paths"]["/webhooks/{provider}/{pipeline}"]["post"].is_object());
    assert!(document.body["paths"]["/pipelines/{name}/webhook"]["put"].is_object());
    fixture.server.stop().await;
    Ok(())
}

const NIGHTLY: &str = "\
trigger: none
pr: none
schedules:
- cron: '0 3 * * *'
  displayName: Nightly
  branches:
    include: [main]
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo \"reason=$(Build.Reason)\"
";

const ALWAYS: &str = "\
trigger: none
pr: none
schedules:
- cron: '30 3 * * *'
  displayName: Always
  branches:
    include: [main]
  always: true
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo always
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_at_their_times_with_always_and_per_branch_files() -> TestResult {
    let fixture = Fixture::start(2).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("nightly.yml", NIGHTLY), ("always.yml", ALWAYS)])?;
    repo.git(&["branch", "dev"])?;
    let nightly = fixture.pipeline("nightly", &repo, "nightly.yml").await?;
    let always = fixture.pipeline("always", &repo, "always.yml").await?;
    let state = &fixture.server.state;
    let (nightly, always) = (&nightly, &always);
    let tick = |at: time::OffsetDateTime| async move {
        let mut lines = Vec::new();
        let mut runs = Vec::new();
        for pipeline in [nightly, always] {
            let decided = schedule::tick_pipeline(state.triggering(), pipeline, at).await?;
            lines.extend(describe(&decided).into_iter().map(|line| format!("{}: {line}", pipeline.name)));
            runs.extend(started(&decided));
        }
        TestResult::Ok((lines, runs))
    };
    // First seen: schedules count from now.
    assert_eq!(tick(datetime!(2024-01-01 0:00 UTC)).await?.0, Vec::<String>::new());
    let (lines, runs) = tick(datetime!(2024-01-01 3:45 UTC)).await?;
    assert_eq!(lines, ["nightly: 0 3 * * *@refs/heads/main: started", "always: 30 3 * * *@refs/heads/main: started"]);
    for run in &runs {
        assert_eq!(fixture.wait(*run).await?["result"], "Succeeded");
    }
    let run = fixture.run(runs[0]).await?;
    assert_eq!(run["trigger"], "schedule");
    assert_eq!(run["triggerDetails"]["schedule"]["displayName"], "Nightly");
    assert_eq!(run["triggerDetails"]["schedule"]["fireTime"], "2024-01-01T03:00:00Z");
    assert!(fixture.log(runs[0]).await?.contains("reason=Schedule"));
    // The same fire time is not decided twice.
    assert_eq!(tick(datetime!(2024-01-01 3:50 UTC)).await?.0, Vec::<String>::new());

    // Nothing changed: only `always: true` runs.
    let (lines, runs) = tick(datetime!(2024-01-02 3:45 UTC)).await?;
    assert_eq!(
        lines,
        [
            "nightly: 0 3 * * *@refs/heads/main: skipped (nothing changed since the last successful scheduled run and `always` is false)",
            "always: 30 3 * * *@refs/heads/main: started",
        ]
    );
    for run in &runs {
        fixture.wait(*run).await?;
    }
    // After a push, both.
    repo.commit(&[("a.txt", "changed\n")], "A change")?;
    let (lines, runs) = tick(datetime!(2024-01-03 3:45 UTC)).await?;
    assert_eq!(lines, ["nightly: 0 3 * * *@refs/heads/main: started", "always: 30 3 * * *@refs/heads/main: started"]);
    for run in &runs {
        fixture.wait(*run).await?;
    }

    // Each branch is scheduled by its own file: `dev` adds itself.
    repo.git(&["checkout", "--quiet", "dev"])?;
    repo.commit(&[("nightly.yml", &NIGHTLY.replace("include: [main]", "include: [main, dev]"))], "Nightly on dev too")?;
    repo.git(&["checkout", "--quiet", "main"])?;
    assert_eq!(tick(datetime!(2024-01-03 3:50 UTC)).await?.0, Vec::<String>::new(), "first seen on dev");
    let (lines, runs) = tick(datetime!(2024-01-04 3:45 UTC)).await?;
    assert_eq!(
        lines,
        [
            "nightly: 0 3 * * *@refs/heads/dev: started",
            "nightly: 0 3 * * *@refs/heads/main: skipped (nothing changed since the last successful scheduled run and `always` is false)",
            "always: 30 3 * * *@refs/heads/main: started",
        ]
    );
    assert_eq!(fixture.run(runs[0]).await?["branch"], "refs/heads/dev");
    for run in &runs {
        fixture.wait(*run).await?;
    }
    fixture.server.stop().await;
    Ok(())
}

const LIBRARY: &str = "\
trigger: none
pr: none
stages:
- stage: build
  jobs:
  - job: compile
    steps:
    - checkout: none
    - script: echo compiling
- stage: test
  jobs:
  - job: unit
    steps:
    - checkout: none
    - script: echo testing
";

const DOWNSTREAM: &str = "\
trigger: none
pr: none
resources:
  pipelines:
  - pipeline: upstream
    source: library
    trigger:
      branches:
        include: [main]
      stages: [build]
jobs:
- job: deploy
  steps:
  - checkout: none
  - script: echo \"reason=$(Build.Reason) alias=$(resources.triggeringAlias) by=$(Build.TriggeredBy.BuildId) run=$(resources.pipeline.upstream.runID)\"
";

const UNRELATED: &str = "\
trigger: none
pr: none
resources:
  pipelines:
  - pipeline: other
    source: something-else
    trigger: true
jobs:
- job: deploy
  steps:
  - checkout: none
  - script: echo never
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_runs_trigger_pipelines_with_matching_resources() -> TestResult {
    let fixture = Fixture::start(2).await?;
    let repo = Repo::init(
        &fixture.root.join("repo"),
        &[("library.yml", LIBRARY), ("downstream.yml", DOWNSTREAM), ("unrelated.yml", UNRELATED)],
    )?;
    repo.git(&["branch", "dev"])?;
    fixture.pipeline("library", &repo, "library.yml").await?;
    fixture.pipeline("downstream", &repo, "downstream.yml").await?;
    fixture.pipeline("unrelated", &repo, "unrelated.yml").await?;
    let state = &fixture.server.state;
    let mut watcher = CompletionWatcher::new(state.store().now());
    assert!(watcher.pass(state.triggering()).await?.is_empty());

    let started_run = send(
        &fixture.app,
        Method::POST,
        "/api/v1/pipelines/library/runs",
        Some(&fixture.admin),
        Some(json!({ "branch": "main" })),
    )
    .await?;
    let library_run = RunId(started_run.body["id"].as_i64().ok_or("no run")?);
    assert_eq!(fixture.wait(library_run).await?["result"], "Succeeded");
    let decided = watcher.pass(state.triggering()).await?;
    assert_eq!(describe(&decided), [format!("downstream after run {library_run}: started")]);
    let downstream = one_run(&decided)?;
    let run = fixture.wait(downstream).await?;
    assert_eq!(run["trigger"], "pipeline-completion");
    assert_eq!(run["upstreamRun"], library_run.get());
    assert_eq!(run["commit"], started_run.body["commit"], "the same repository: the same commit");
    assert_eq!(run["triggerDetails"]["alias"], "upstream");
    assert!(
        fixture
            .log(downstream)
            .await?
            .contains(&format!("reason=ResourceTrigger alias=upstream by={library_run} run={library_run}")),
        "{}",
        fixture.log(downstream).await?
    );
    // Seen again (a restarted watcher looks back): nothing more.
    let mut restarted = CompletionWatcher::new(state.store().now());
    let again = restarted.pass(state.triggering()).await?;
    assert!(started(&again).is_empty(), "{:?}", describe(&again));
    assert!(watcher.pass(state.triggering()).await?.is_empty(), "the downstream run triggers nothing");

    // A run on a branch the filter leaves out.
    let on_dev = send(
        &fixture.app,
        Method::POST,
        "/api/v1/pipelines/library/runs",
        Some(&fixture.admin),
        Some(json!({ "branch": "dev" })),
    )
    .await?;
    fixture.wait(RunId(on_dev.body["id"].as_i64().ok_or("no run")?)).await?;
    assert!(started(&watcher.pass(state.triggering()).await?).is_empty());
    fixture.server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_polls_on_its_own_and_stops() -> TestResult {
    let fixture = Fixture::start(0).await?;
    let repo = Repo::init(&fixture.root.join("repo"), &[("ci.yml", ANY_PUSH)])?;
    fixture.pipeline("polled", &repo, "ci.yml").await?;
    let state = &fixture.server.state;
    state.triggers().configure(TriggerConfig {
        poll_interval: Some(Duration::from_millis(100)),
        schedule_interval: Duration::from_secs(60),
        completion_interval: Duration::from_millis(100),
        webhook_wait: Duration::from_secs(5),
    });
    let service = TriggerService::start(state.triggering());
    let pushed = repo.commit(&[("a.txt", "a\n")], "Pushed")?;
    let mut found = None;
    for _ in 0..150 {
        let page = send(&fixture.app, Method::GET, "/api/v1/runs?pipeline=polled", Some(&fixture.admin), None).await?;
        if let Some(run) = page.body["runs"].as_array().and_then(|runs| runs.first()) {
            found = Some(run.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = found.ok_or("the service started no run in 15 seconds")?;
    assert_eq!((run["trigger"].as_str(), run["commit"].as_str()), (Some("push"), Some(pushed.as_str())));
    service.shutdown().await;
    fixture.server.stop().await;
    Ok(())
}
