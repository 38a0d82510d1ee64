//! What the tests share: a server over a temporary data directory, requests, git repositories.

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use slipway_server::{AppState, Engine, EngineConfig};
use tower::ServiceExt as _;

/// The error type of the tests.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A server over a data directory, with its engine running.
pub struct TestServer {
    pub state: AppState,
    pub engine: Option<Engine>,
    pub admin_token: Option<String>,
}

impl TestServer {
    /// Opens `data_dir` and starts an engine with `workers` slots.
    pub async fn start(data_dir: &Path, workers: usize) -> TestResult<Self> {
        Self::start_on(data_dir, None, workers).await
    }

    /// Opens `data_dir` with the database at `database` (SQLite in the data directory when
    /// `None`) and starts an engine with `workers` slots.
    pub async fn start_on(data_dir: &Path, database: Option<&str>, workers: usize) -> TestResult<Self> {
        Self::start_with_clock(data_dir, database, workers, std::sync::Arc::new(slipway_store::SystemClock)).await
    }

    /// [`TestServer::start_on`] with the store's times from `clock`.
    pub async fn start_with_clock(
        data_dir: &Path,
        database: Option<&str>,
        workers: usize,
        clock: std::sync::Arc<dyn slipway_store::Clock>,
    ) -> TestResult<Self> {
        Self::start_with(data_dir, database, workers, clock, None).await
    }

    /// [`TestServer::start_with_clock`] with nginx for the services that ask for it.
    pub async fn start_with(
        data_dir: &Path,
        database: Option<&str>,
        workers: usize,
        clock: std::sync::Arc<dyn slipway_store::Clock>,
        nginx: Option<slipway_delivery::nginx::Nginx>,
    ) -> TestResult<Self> {
        let opened = slipway_server::open_with_clock(data_dir, database, clock).await?;
        if let Some(nginx) = nginx {
            opened.state.set_nginx(nginx);
        }
        // A test server serves at once: its first start has finished.
        slipway_server::first_start_finished(opened.state.data_dir())?;
        let mut config = EngineConfig::new(data_dir.to_path_buf());
        config.workers = workers;
        if !landlock_available("the server's in-process agents") {
            // So that the rest of the suite runs on a machine without Landlock; CI requires it.
            config.local_jobs = slipway_server::LocalJobs::Unconfined;
        }
        config.poll_interval = Duration::from_millis(100);
        config.kill_grace = Duration::from_millis(500);
        let engine = opened.state.start_engine(config).await?;
        Ok(Self { state: opened.state, engine: Some(engine), admin_token: opened.admin_token })
    }

    /// The API.
    pub fn app(&self) -> Router {
        slipway_server::router(self.state.clone())
    }

    /// Drains the engine and closes the store.
    pub async fn stop(mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown().await;
            self.state.shutdown_routers().await;
        }
        self.state.store().close().await;
    }
}

/// Whether this machine can confine jobs (Landlock). Without it, says so for `what`, unless
/// `SLIPWAY_REQUIRE_LANDLOCK=1` (set in CI), which makes it a failure.
pub fn landlock_available(what: &str) -> bool {
    let available = slipway_agent::confine::Confinement::check_available().map_err(|error| error.to_string());
    slipway_testing::needed_or_skip(what, "LANDLOCK", available)
}

/// An answer: status, headers and the body as JSON (`Value::Null` when it is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `Content-Type`.
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    /// Checks that this is a problem with `status`, and gives its detail.
    pub fn expect_problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|kind| kind.starts_with("/problems/")));
        assert!(self.body["title"].is_string());
        self.body["detail"].as_str().unwrap_or_default().to_owned()
    }
}

/// Sends a request with a raw body.
pub async fn send_raw(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> TestResult<Answer> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = app.clone().oneshot(request.body(Body::from(body))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer { status, headers, body })
}

/// Sends a request with an optional JSON body.
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> TestResult<Answer> {
    match body {
        Some(body) => send_raw(app, method, uri, token, Some("application/json"), serde_json::to_vec(&body)?).await,
        None => send_raw(app, method, uri, token, None, Vec::new()).await,
    }
}

fn git(directory: &Path, arguments: &[&str]) -> TestResult {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(arguments)
        .current_dir(directory)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    if status.success() { Ok(()) } else { Err(format!("git {arguments:?} failed").into()) }
}

/// A pipeline of two jobs, `test` depending on `build`.
pub const TWO_JOBS: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: none
  - script: echo building on $(Build.SourceBranchName)
    displayName: Build it
- job: test
  dependsOn: build
  steps:
  - checkout: none
  - script: echo testing after build
    displayName: Test it
";

/// Makes a git repository in `directory` with one commit on `main` holding these files.
pub fn make_repository(directory: &Path, files: &[(&str, &str)]) -> TestResult {
    std::fs::create_dir_all(directory)?;
    git(directory, &["init", "--quiet", "-b", "main"])?;
    for (path, text) in files {
        let file = directory.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, text)?;
    }
    git(directory, &["add", "."])?;
    git(directory, &["commit", "--quiet", "-m", "the pipeline"])?;
    Ok(())
}

/// Makes a git repository at `directory` with [`TWO_JOBS`] as its `azure-pipelines.yml`; gives
/// its path as a pipeline's `repository`.
pub fn two_jobs_repository(directory: &Path) -> TestResult<String> {
    make_repository(directory, &[("azure-pipelines.yml", TWO_JOBS)])?;
    Ok(directory.display().to_string())
}

/// Creates a user with `role` through the API; gives their token.
pub async fn create_user(app: &Router, admin: &str, name: &str, role: &str) -> TestResult<String> {
    let answer =
        send(app, Method::POST, "/api/v1/users", Some(admin), Some(serde_json::json!({ "name": name, "role": role })))
            .await?;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    Ok(answer.body["token"].as_str().ok_or("no token")?.to_owned())
}

/// Asks for a run until it completes (at most 15 seconds); gives it.
pub async fn wait_for_run(app: &Router, token: &str, id: i64) -> TestResult<Value> {
    for _ in 0..150 {
        let answer = send(app, Method::GET, &format!("/api/v1/runs/{id}"), Some(token), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        if answer.body["status"] == "completed" {
            return Ok(answer.body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = send(app, Method::GET, &format!("/api/v1/runs/{id}"), Some(token), None).await?;
    Err(format!("run {id} did not complete in 15 seconds: {}", last.body).into())
}

/// Sends a GET with a token and gives the body as text (for event streams), checking for 200.
pub async fn send_text(app: &Router, uri: &str, token: &str) -> TestResult<String> {
    let request = Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8(bytes.to_vec())?)
}

/// Declares a test run once on SQLite and once on PostgreSQL, as `NAME::sqlite` and
/// `NAME::postgres`: the body gets the database URL to open (`None`: SQLite in the data
/// directory). PostgreSQL is a throwaway server (see `slipway-testing`); without one the
/// `::postgres` test says why and passes, unless `SLIPWAY_REQUIRE_POSTGRES=1`.
macro_rules! on_both_databases {
    ($(#[doc = $doc:literal])* async fn $name:ident($database:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            async fn body($database: Option<String>) -> $crate::support::TestResult $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> $crate::support::TestResult {
                body(None).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> $crate::support::TestResult {
                let Some(url) = slipway_testing::postgres_or_skip(stringify!($name)).await else {
                    return Ok(());
                };
                body(Some(url)).await
            }
        }
    };
}

pub(crate) use on_both_databases;

/// A build stage, then a stage whose deployment job `ship` deploys to `ENVIRONMENT` (replace it).
pub const DEPLOYS: &str = "\
trigger: none
stages:
- stage: Build
  jobs:
  - job: build
    steps:
    - checkout: none
    - script: echo built
- stage: Deploy
  jobs:
  - deployment: ship
    environment: ENVIRONMENT
    strategy:
      runOnce:
        deploy:
          steps:
          - script: echo deploying run $(Build.BuildId)
";

/// [`DEPLOYS`] to `environment`.
pub fn deploys_to(environment: &str) -> String {
    DEPLOYS.replace("ENVIRONMENT", environment)
}

/// Waits (at most 15 seconds) until run `run`'s checkpoint of `stage` matches `accept`; gives it.
pub async fn wait_for_checkpoint(
    app: &Router,
    token: &str,
    run: i64,
    stage: &str,
    accept: impl Fn(&Value) -> bool,
) -> TestResult<Value> {
    let uri = format!("/api/v1/runs/{run}/checkpoints");
    let mut last = Value::Null;
    for _ in 0..150 {
        let answer = send(app, Method::GET, &uri, Some(token), None).await?;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        if let Some(found) = answer.body["checkpoints"]
            .as_array()
            .and_then(|all| all.iter().rev().find(|checkpoint| checkpoint["stage"] == stage))
        {
            if accept(found) {
                return Ok(found.clone());
            }
            last = found.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("run {run}'s checkpoint of {stage} did not come to the expected state: {last}").into())
}

/// A git repository the tests commit to; pipelines fetch from it like from any remote.
pub struct Repo {
    /// Its working tree.
    pub dir: std::path::PathBuf,
}

impl Repo {
    /// A repository at `dir` on `main`, with `files` in its first commit.
    pub fn init(dir: &Path, files: &[(&str, &str)]) -> TestResult<Self> {
        std::fs::create_dir_all(dir)?;
        let repo = Self { dir: dir.to_path_buf() };
        repo.git(&["init", "--quiet", "-b", "main"])?;
        repo.commit(files, "the first commit")?;
        Ok(repo)
    }

    /// Runs `git` in it (as Ada); its trimmed output.
    pub fn git(&self, arguments: &[&str]) -> TestResult<String> {
        let output = std::process::Command::new("git")
            .args(["-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
            .args(arguments)
            .current_dir(&self.dir)
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8(output.stdout)?.trim().to_owned())
        } else {
            Err(format!("git {arguments:?} failed: {}", String::from_utf8_lossy(&output.stderr)).into())
        }
    }

    /// Writes the files and commits them on the current branch; the new commit.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> TestResult<String> {
        for (path, text) in files {
            let path = self.dir.join(path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)?;
        }
        self.git(&["add", "-A"])?;
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message])?;
        self.git(&["rev-parse", "HEAD"])
    }

    /// Its path, as a pipeline's `repository`.
    pub fn path(&self) -> String {
        self.dir.display().to_string()
    }
}
