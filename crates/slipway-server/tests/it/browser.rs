//! End to end in a real browser: Debian's Chromium, driven through chromedriver (WebDriver) by a
//! small client of our own, against the server listening on a loopback port. A person signs in
//! with the admin token, creates a pipeline from a fixture repository, runs it from the form,
//! watches its log stream in, and sees the result and the test summary; a screenshot is kept.
//! Then they set a secret variable on the pipeline's variables page, which lists it unshown.
//! Last, a run's deployment stage waits for an approval: the approver signs in, finds it on "My
//! approvals", opens the run page, approves it there with a comment, and the run completes.
//! In a second session, a person signs in with single sign-on through a real OpenID Connect
//! provider's pages and, an admin by the provider's groups, disables and enables a user.
//!
//! Without `chromium` and `chromedriver` the test is skipped with a note, unless
//! `SLIPWAY_REQUIRE_BROWSER=1` (set by `.ci/run`), when it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

use axum::http::{Method, StatusCode};

use crate::support::{TestResult, TestServer, create_user, make_repository, send, wait_for_run};

/// The key WebDriver gives an element reference under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The fixture pipeline: a step that prints lines slowly, and published test results.
const PIPELINE: &str = "\
parameters:
- name: greeting
  displayName: Greeting
  default: hello
trigger: none
jobs:
- job: build
  displayName: Build and test
  steps:
  - script: |
      echo '##[group]Preparing'
      echo 'nothing to prepare'
      echo '##[endgroup]'
      for i in 1 2 3 4 5 6 7 8; do
        printf '\\033[32mline %s\\033[0m of the slow step, ${{ parameters.greeting }}\\n' \"$i\"
        sleep 0.4
      done
    displayName: Print slowly
  - task: PublishTestResults@2
    inputs:
      testResultsFormat: JUnit
      testResultsFiles: '**/TEST-*.xml'
      testRunTitle: Fixture tests
";

const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="fixture" tests="3" failures="1" skipped="0" time="0.30">
    <testcase classname="fixture" name="adds numbers" time="0.10"/>
    <testcase classname="fixture" name="reads files" time="0.10"/>
    <testcase classname="fixture" name="talks to the moon" time="0.10">
      <failure message="the moon did not answer">no answer after 3 tries</failure>
    </testcase>
  </testsuite>
</testsuites>
"#;

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|directory| directory.join(name)).find(|path| path.is_file())
}

/// chromedriver, stopped when dropped.
struct Chromedriver {
    child: Child,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session.
struct Browser {
    port: u16,
    session: String,
}

async fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> TestResult<Value> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    let driving = tokio::spawn(connection);
    let bytes = body.map(serde_json::to_vec).transpose()?.unwrap_or_default();
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("127.0.0.1:{port}"))
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(bytes)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    driving.abort();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("WebDriver {method} {path} answered {status}: {value}").into());
    }
    Ok(value.get("value").cloned().unwrap_or(Value::Null))
}

impl Browser {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> TestResult<Value> {
        http(self.port, method, &format!("/session/{}{path}", self.session), body.as_ref()).await
    }

    async fn goto(&self, url: &str) -> TestResult {
        self.call("POST", "/url", Some(json!({ "url": url }))).await?;
        Ok(())
    }

    async fn find(&self, css: &str) -> TestResult<String> {
        let found = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css }))).await?;
        Ok(found[ELEMENT].as_str().ok_or_else(|| format!("no element '{css}': {found}"))?.to_owned())
    }

    async fn type_into(&self, css: &str, text: &str) -> TestResult {
        let element = self.find(css).await?;
        self.call("POST", &format!("/element/{element}/clear"), Some(json!({}))).await?;
        self.call("POST", &format!("/element/{element}/value"), Some(json!({ "text": text }))).await?;
        Ok(())
    }

    async fn click(&self, css: &str) -> TestResult {
        let element = self.find(css).await?;
        self.call("POST", &format!("/element/{element}/click"), Some(json!({}))).await?;
        Ok(())
    }

    async fn script(&self, script: &str) -> TestResult<Value> {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    async fn url(&self) -> TestResult<String> {
        Ok(self.call("GET", "/url", None).await?.as_str().unwrap_or_default().to_owned())
    }

    async fn text(&self, css: &str) -> TestResult<String> {
        let element = self.find(css).await?;
        Ok(self.call("GET", &format!("/element/{element}/text"), None).await?.as_str().unwrap_or_default().to_owned())
    }

    /// Evaluates `script` until it returns something truthy (at most `limit`); gives that.
    async fn wait_for(&self, what: &str, script: &str, limit: Duration) -> TestResult<Value> {
        let start = Instant::now();
        loop {
            let value = self.script(script).await?;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false)) && value != json!("") && value != json!(0);
            if truthy {
                return Ok(value);
            }
            if start.elapsed() > limit {
                return Err(format!("gave up waiting for {what}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, path: &Path) -> TestResult {
        let encoded = self.call("GET", "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().ok_or("no screenshot")?)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    async fn quit(&self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None).await;
    }
}

/// Starts chromedriver and a headless Chromium session; `None` (with a note) when they are not
/// installed and the browser is not required.
async fn start_browser(profile: &Path) -> TestResult<Option<(Chromedriver, Browser)>> {
    let (Some(chromium), Some(chromedriver)) = (find_program("chromium"), find_program("chromedriver")) else {
        let missing = "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)";
        let _skipped = slipway_testing::needed_or_skip("the browser test", "BROWSER", Err(missing.to_owned()));
        return Ok(None);
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child =
        Command::new(chromedriver).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let driver = Chromedriver { child };
    let start = Instant::now();
    while http(port, "GET", "/status", None).await.is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err("chromedriver did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let arguments = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--window-size=1280,1500".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium.display().to_string(), "args": arguments },
    } } });
    let session = http(port, "POST", "/session", Some(&capabilities)).await?;
    let id = session["sessionId"].as_str().ok_or_else(|| format!("no session: {session}"))?.to_owned();
    Ok(Some((driver, Browser { port, session: id })))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_runs_a_pipeline_and_watches_it_live() -> TestResult {
    let directory = tempfile::tempdir()?;
    let Some((driver, browser)) = start_browser(&directory.path().join("profile")).await? else { return Ok(()) };
    let outcome = drive(&browser, directory.path()).await;
    browser.quit().await;
    drop(driver);
    outcome
}

async fn drive(browser: &Browser, directory: &Path) -> TestResult {
    let repository = directory.join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", PIPELINE), ("TEST-fixture.xml", JUNIT)])?;
    let server = TestServer::start(&directory.join("data"), 2).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let serving = tokio::spawn(axum::serve(listener, slipway_server::router(server.state.clone())).into_future());
    let mut outcome = scenario(browser, &base, &admin, &repository).await;
    if outcome.is_ok() {
        outcome = approval_scenario(browser, &base, &server, directory).await;
    }
    if outcome.is_ok() {
        outcome = feedback_scenario(browser, &base, &server).await;
    }
    server.state.begin_shutdown();
    serving.abort();
    server.stop().await;
    outcome
}

async fn scenario(browser: &Browser, base: &str, admin: &str, repository: &Path) -> TestResult {
    let long = Duration::from_secs(60);
    // Signed out, the server sends the browser to the sign-in form.
    browser.goto(&format!("{base}/")).await?;
    assert!(browser.url().await?.starts_with(&format!("{base}/login")), "{}", browser.url().await?);
    browser.type_into("input[name=user]", "admin").await?;
    browser.type_into("input[name=token]", admin).await?;
    browser.click("section.login button[type=submit]").await?;
    browser
        .wait_for(
            "the pipelines page",
            "return document.querySelector('h1') && document.querySelector('h1').textContent === 'Pipelines'",
            long,
        )
        .await?;

    // A pipeline from the fixture repository.
    browser.type_into("input[name=name]", "e2e").await?;
    browser.type_into("input[name=repository]", &repository.display().to_string()).await?;
    browser.click("form[action='/pipelines'] button[type=submit]").await?;
    browser.wait_for("the pipeline page", "return location.pathname === '/pipelines/e2e'", long).await?;

    // Run it from the form generated from its parameters.
    browser.click("a.button.primary").await?;
    browser
        .wait_for("the run form", "return document.querySelector('input[name=\"p.string.greeting\"]')", long)
        .await?;
    browser.type_into("input[name='p.string.greeting']", "from the browser").await?;
    browser.click("#run-form button[type=submit]").await?;
    browser.wait_for("the run page", "return /^\\/runs\\/\\d+$/.test(location.pathname)", long).await?;

    // The log streams in while the run goes on: some lines show before the run completes.
    let partial = browser
        .wait_for(
            "log lines while the run is running",
            "var lines = document.querySelectorAll('#log .ln').length; \
             var running = document.getElementById('run-live').getAttribute('data-done') !== 'true' \
                 && !document.body.textContent.includes('line 8 of the slow step'); \
             return running && document.body.textContent.includes('line 1 of the slow step') ? lines : 0;",
            long,
        )
        .await?;
    assert!(partial.as_u64().is_some_and(|lines| lines >= 1), "{partial}");
    browser.wait_for("the end of the run", "return document.getElementById('run-live').getAttribute('data-done') === 'true' && document.getElementById('tests')", long).await?;

    let status = browser.text("#run-status").await?;
    assert_eq!(status, "succeeded");
    let tests = browser.text("#tests").await?;
    assert!(tests.contains("2 of 3 passed") && tests.contains("1 failed"), "{tests}");
    assert!(tests.contains("talks to the moon") && tests.contains("Fixture tests"), "{tests}");
    let log = browser.text("#log").await?;
    assert!(log.contains("line 8 of the slow step, from the browser"), "{log}");
    // ANSI green became a class; the group is folded under its title.
    let green = browser.script("return document.querySelectorAll('#log .a-f2').length").await?;
    assert_eq!(green, json!(8));
    let group = browser.script("var group = document.querySelector('#log details.grp'); return group ? [group.open, group.querySelector('summary').textContent] : null").await?;
    assert_eq!(group[0], json!(false), "{group}");
    assert!(group[1].as_str().is_some_and(|title| title.ends_with("Preparing")), "{group}");
    let graph = browser.script("return document.querySelectorAll('svg.graph .job.s-ok').length").await?;
    assert_eq!(graph, json!(1));

    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slipway-ui").join("run-page.png");
    browser.screenshot(&screenshot).await?;
    println!("screenshot of the run page: {}", screenshot.display());
    assert!(std::fs::metadata(&screenshot)?.len() > 10_000);

    // Search keeps only matching lines.
    browser.type_into("#log-search", "line 3 of").await?;
    let visible = browser.script("return Array.from(document.querySelectorAll('#log .ln')).filter(function (line) { return line.offsetParent !== null; }).length").await?;
    assert_eq!(visible, json!(1));

    // The pipeline's page: its status badge loads, its trend counts the run, and its runs are
    // filtered by result.
    browser.goto(&format!("{base}/pipelines/e2e")).await?;
    browser
        .wait_for(
            "the status badge",
            "var badge = document.querySelector('img.status-badge'); return badge && badge.complete && badge.naturalWidth > 0",
            long,
        )
        .await?;
    assert_eq!(browser.text("#pass-rate").await?, "1 of 1 succeeded");
    browser.script("document.querySelector('#run-filters select[name=result]').value = 'Failed'; return true").await?;
    browser.click("#run-filters button[type=submit]").await?;
    browser.wait_for("the filtered runs", "return document.getElementById('no-runs') !== null", long).await?;
    assert!(browser.url().await?.contains("result=Failed"), "{}", browser.url().await?);

    // The Agents page lists the pools with their settings; an admin changes one there.
    browser.goto(&format!("{base}/agents")).await?;
    browser.wait_for("the pools", "return document.getElementById('pools') !== null", long).await?;
    let form = "form.pool-settings[action='/agents/pools/default']";
    browser
        .script(&format!(
            "document.querySelector(\"{form} select[name=on_agent_lost]\").value = 'requeue'; return true"
        ))
        .await?;
    browser.click(&format!("{form} button[type=submit]")).await?;
    browser
        .wait_for(
            "the saved setting",
            "var table = document.querySelector('#pools table.pools'); return location.pathname === '/agents' && table !== null && table.textContent.includes('the job runs again')",
            long,
        )
        .await?;

    // A secret variable set on the pipeline's variables page is listed as secret, its value never shown.
    browser.goto(&format!("{base}/pipelines/e2e/variables")).await?;
    browser.type_into("form.grid input[name=name]", "DeployKey").await?;
    browser.type_into("form.grid input[name=value]", "browser-secret-42").await?;
    browser.click("form.grid input[name=secret]").await?;
    browser.click("form.grid button[type=submit]").await?;
    browser.wait_for("the variable listed", "return document.querySelector('table.variables')", long).await?;
    let listed = browser.text("table.variables").await?;
    assert!(listed.contains("DeployKey") && listed.contains("secret"), "{listed}");
    let html = browser.script("return document.documentElement.outerHTML").await?;
    assert!(!html.as_str().unwrap_or_default().contains("browser-secret-42"), "{html}");

    Ok(())
}

/// A run waits for ana's approval; ana signs in, finds it on "My approvals", approves it on the
/// run page, and the run completes.
async fn approval_scenario(browser: &Browser, base: &str, server: &TestServer, directory: &Path) -> TestResult {
    let long = Duration::from_secs(60);
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let repository = directory.join("deploying");
    make_repository(&repository, &[("azure-pipelines.yml", &crate::support::deploys_to("production"))])?;
    let pipeline = json!({ "name": "ship", "repository": repository.display().to_string() });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let ana = create_user(&app, &admin, "ana", "reader").await?;
    let environment =
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "production"}))).await?;
    assert_eq!(environment.status, StatusCode::CREATED, "{}", environment.body);
    let check = json!({"type": "approval", "settings": {
        "approvers": ["ana"], "requesterCannotBeApprover": true, "instructions": "Look at the dashboard first."}});
    let added = send(&app, Method::POST, "/api/v1/environments/production/checks", Some(&admin), Some(check)).await?;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let started = send(&app, Method::POST, "/api/v1/pipelines/ship/runs", Some(&admin), Some(json!({}))).await?;
    let run = started.body["id"].as_i64().ok_or("no run id")?;
    // The deployment stage waits at its checkpoint.
    let start = Instant::now();
    loop {
        let checkpoints =
            send(&app, Method::GET, &format!("/api/v1/runs/{run}/checkpoints"), Some(&admin), None).await?;
        if checkpoints.body["checkpoints"][0]["state"] == "waiting" {
            break;
        }
        if start.elapsed() > long {
            return Err(format!("run {run} never waited for its approval: {}", checkpoints.body).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The admin signs out; ana signs in and finds the approval waiting for her.
    browser.goto(&format!("{base}/")).await?;
    browser.click("form.signout button[type=submit]").await?;
    browser.wait_for("the sign-in page", "return location.pathname === '/login'", long).await?;
    browser.type_into("input[name=user]", "ana").await?;
    browser.type_into("input[name=token]", &ana).await?;
    browser.click("section.login button[type=submit]").await?;
    browser.wait_for("the pipelines page", "return document.querySelector('header .who') !== null", long).await?;
    browser.click("header.top nav a[href='/approvals']").await?;
    browser.wait_for("My approvals", "return document.querySelector('section.approval') !== null", long).await?;
    let card = browser.text("section.approval").await?;
    assert!(card.contains("ship #") && card.contains("Deploy") && card.contains("production"), "{card}");
    assert!(card.contains("Look at the dashboard first."), "{card}");

    // On the run page, the panel shows the waiting stage; she approves with a comment.
    browser.click("section.approval h2 a[href^='/runs/']").await?;
    browser.wait_for("the run page", &format!("return location.pathname === '/runs/{run}'"), long).await?;
    let panel = browser.text("#checkpoints").await?;
    assert!(panel.contains("Stage Deploy") && panel.contains("waiting") && panel.contains("pending"), "{panel}");
    assert!(panel.contains("Look at the dashboard first."), "{panel}");
    browser.type_into("#checkpoints textarea[name=comment]", "the dashboard is green").await?;
    browser.click("#checkpoints button[value=approved]").await?;
    // Back on the run page, which follows the run live to its end.
    browser
        .wait_for(
            "the run to complete",
            &format!(
                "return location.pathname === '/runs/{run}' && document.getElementById('run-live') \
                 && document.getElementById('run-live').getAttribute('data-done') === 'true'"
            ),
            long,
        )
        .await?;
    assert_eq!(browser.text("#run-status").await?, "succeeded");
    assert_eq!(wait_for_run(&app, &admin, run).await?["result"], "Succeeded");
    browser.goto(&format!("{base}/runs/{run}")).await?;
    browser.wait_for("the checks panel", "return document.getElementById('checkpoints') !== null", long).await?;
    let panel = browser.text("#checkpoints").await?;
    assert!(panel.contains("passed") && panel.contains("approved by ana"), "{panel}");
    assert!(panel.contains("the dashboard is green"), "{panel}");
    let buttons = browser.script("return document.querySelectorAll('#checkpoints button').length").await?;
    assert_eq!(buttons, json!(0));
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slipway-ui").join("approved-run.png");
    browser.screenshot(&screenshot).await?;
    println!("screenshot of the approved run: {}", screenshot.display());

    // The environment's page shows the deployment as what runs there.
    browser.goto(&format!("{base}/environments/production")).await?;
    browser.wait_for("the environment page", "return document.getElementById('current') !== null", long).await?;
    let current = browser.text("#current").await?;
    assert!(current.contains("ship") && current.contains("main"), "{current}");
    browser.goto(&format!("{base}/approvals")).await?;
    browser.wait_for("no approvals left", "return document.getElementById('no-approvals') !== null", long).await?;
    Ok(())
}

/// The feedback loop's pages: work items (list, incidents, board, one item) and the DORA
/// dashboard with its charts, over the deployment the approval scenario made.
async fn feedback_scenario(browser: &Browser, base: &str, server: &TestServer) -> TestResult {
    let long = Duration::from_secs(60);
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let incident = json!({ "kind": "incident", "title": "checkout answers 500s", "severity": "high", "environment": "production" });
    let created = send(&app, Method::POST, "/api/v1/work-items", Some(&admin), Some(incident)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().or_else(|| created.body["workItem"]["id"].as_i64()).ok_or("no id")?;
    let bug = json!({ "kind": "bug", "title": "the login page is slow" });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/work-items", Some(&admin), Some(bug)).await?.status,
        StatusCode::CREATED
    );

    browser.goto(&format!("{base}/work-items")).await?;
    browser.wait_for("the work items", "return document.querySelector('table.work-items') !== null", long).await?;
    let list = browser.text("table.work-items").await?;
    assert!(list.contains("checkout answers 500s") && list.contains("the login page is slow"), "{list}");
    browser.goto(&format!("{base}/work-items?kind=incident")).await?;
    browser.wait_for("the incidents", "return document.querySelector('table.work-items') !== null", long).await?;
    let incidents = browser.text("table.work-items").await?;
    assert!(
        incidents.contains("checkout answers 500s") && !incidents.contains("the login page is slow"),
        "{incidents}"
    );
    browser.goto(&format!("{base}/work-items/board")).await?;
    browser.wait_for("the board", "return document.querySelector('.wi-board') !== null", long).await?;
    assert!(browser.text(".wi-board").await?.contains("the login page is slow"));
    browser.goto(&format!("{base}/work-items/{id}")).await?;
    browser.wait_for("the incident", "return document.getElementById('comments') !== null", long).await?;
    assert!(browser.text("h1").await?.contains("checkout answers 500s"));

    browser.goto(&format!("{base}/insights")).await?;
    browser.wait_for("the DORA dashboard", "return document.getElementById('dora-tiers') !== null", long).await?;
    let charts = browser.script("return document.querySelectorAll('svg.dora-series').length").await?;
    assert!(charts.as_u64().is_some_and(|count| count >= 4), "charts: {charts}");
    assert!(browser.text("#dora-tiers").await?.contains("2024"));
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slipway-ui").join("insights.png");
    browser.screenshot(&screenshot).await?;
    println!("screenshot of the DORA dashboard: {}", screenshot.display());

    browser.goto(&format!("{base}/team")).await?;
    browser.wait_for("the team dashboard", "return document.getElementById('team-health') !== null", long).await?;
    let health = browser.text("#team-health").await?;
    // Table headers are upper-cased by the style sheet; a finished run's pass rate is a percentage.
    assert!(health.to_lowercase().contains("pass rate") && health.contains("100.0%"), "{health}");
    let charts = browser.script("return document.querySelectorAll('#team-health svg.dora-series').length").await?;
    assert!(charts.as_u64().is_some_and(|count| count >= 2), "charts: {charts}");
    let dora = browser.text("#team-dora").await?;
    assert!(dora.to_lowercase().contains("production"), "{dora}");
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slipway-ui").join("team.png");
    browser.screenshot(&screenshot).await?;
    println!("screenshot of the team dashboard: {}", screenshot.display());
    Ok(())
}

/// Single sign-on in the browser: a person asks for the users page, is sent to the sign-in form,
/// clicks "Sign in with SSO", signs in and consents on the provider's own pages (a real
/// `oidc-provider`; see `slipway_testing::oidc`), and comes back signed in as an admin (the
/// provider's `groups` claim says `ops`) on the page they asked for. There they disable a user
/// with its button, see it marked disabled, and enable it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_sso_and_disables_a_user() -> TestResult {
    let directory = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let redirect = format!("{base}/auth/oidc/callback");
    let test = "a_person_signs_in_with_sso_and_disables_a_user";
    let groups = json!({ "ada": ["staff", "ops"] });
    let provider =
        tokio::task::spawn_blocking(move || slipway_testing::oidc::oidc_provider_or_skip(test, &redirect, &groups))
            .await??;
    let Some(provider) = provider else { return Ok(()) };
    let Some((driver, browser)) = start_browser(&directory.path().join("profile")).await? else { return Ok(()) };

    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let roles = slipway_service::oidc::RoleMapping {
        claim: "groups".into(),
        admin: slipway_service::oidc::split_values("ops"),
        ..slipway_service::oidc::RoleMapping::default()
    };
    let config = slipway_service::oidc::OidcConfig::new(
        &provider.issuer,
        slipway_testing::oidc::CLIENT_ID,
        slipway_testing::oidc::CLIENT_SECRET,
        "client-secret",
        roles,
    )?;
    server.state.set_sso(slipway_server::connect_oidc(config, &format!("{base}/")).await?);
    let serving = tokio::spawn(axum::serve(listener, slipway_server::router(server.state.clone())).into_future());
    let outcome = sso_scenario(&browser, &base, &server, &provider.issuer).await;
    browser.quit().await;
    drop(driver);
    server.state.begin_shutdown();
    serving.abort();
    server.stop().await;
    outcome
}

async fn sso_scenario(browser: &Browser, base: &str, server: &TestServer, issuer: &str) -> TestResult {
    let long = Duration::from_secs(60);
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    create_user(&server.app(), &admin, "carol", "contributor").await?;

    // Signed out, the users page sends the browser to the sign-in form, which offers SSO.
    browser.goto(&format!("{base}/admin/users")).await?;
    browser.wait_for("the sign-in form", "return document.getElementById('sso-sign-in') !== null", long).await?;
    assert_eq!(browser.text("#sso-sign-in").await?, "Sign in with SSO");
    browser.click("#sso-sign-in").await?;

    // The provider's own login page, then its consent page.
    let on_provider = format!("return location.href.startsWith('{issuer}/interaction/')");
    browser
        .wait_for(
            "the provider's login page",
            &format!("{on_provider} && document.querySelector('input[name=login]') !== null"),
            long,
        )
        .await?;
    browser.type_into("input[name=login]", "ada").await?;
    browser.type_into("input[name=password]", "any password").await?;
    browser.click("button[type=submit]").await?;
    browser
        .wait_for(
            "the provider's consent page",
            &format!("{on_provider} && document.querySelector('input[name=prompt][value=consent]') !== null"),
            long,
        )
        .await?;
    browser.click("button[type=submit]").await?;

    // Back on Slipway, signed in as the admin the provider's groups make her, on the page she asked for.
    browser.wait_for("the users page", &format!("return location.href === '{base}/admin/users'"), long).await?;
    assert_eq!(browser.text("span.who").await?, "ada · admin");
    let user = server.state.store().external_user(issuer, "ada").await?.ok_or("no user for ada")?;
    assert_eq!(user.role, slipway_store::UserRole::Admin);

    // She disables carol with the button on carol's row, sees it, and enables her again.
    browser.click("button[aria-label='Disable carol']").await?;
    browser
        .wait_for(
            "carol disabled",
            "return document.querySelector(\"button[aria-label='Enable carol']\") !== null",
            long,
        )
        .await?;
    let carol = server.state.store().user_by_name("carol").await?.ok_or("no carol")?;
    assert!(carol.disabled_at.is_some(), "carol is not disabled in the store");
    let row = browser.script(
        "return [...document.querySelectorAll('tr')].find(row => row.textContent.includes('carol')).textContent",
    );
    assert!(row.await?.as_str().is_some_and(|text| text.contains("disabled")), "carol's row does not say disabled");
    browser.click("button[aria-label='Enable carol']").await?;
    browser
        .wait_for(
            "carol enabled",
            "return document.querySelector(\"button[aria-label='Disable carol']\") !== null",
            long,
        )
        .await?;
    let carol = server.state.store().user_by_name("carol").await?.ok_or("no carol")?;
    assert!(carol.disabled_at.is_none(), "carol is still disabled in the store");
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("slipway-ui").join("sso-users.png");
    browser.screenshot(&screenshot).await?;
    println!("screenshot of the users page after SSO: {}", screenshot.display());
    Ok(())
}
