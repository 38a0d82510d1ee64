//! The agent endpoints and the admin endpoints for agents, through `oneshot`: registration,
//! roles, protocol versions, leases and their errors, pools, the agents list and the in-process
//! agents. Real agent processes are driven by the CLI's tests (`crates/slipway-cli/tests/it/agents.rs`).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{Answer, TestResult, TestServer, create_user, make_repository, send, wait_for_run};

/// Sends an agent request: the protocol header, an optional credential and lease.
async fn agent_request(
    app: &Router,
    method: Method,
    uri: &str,
    credential: Option<&str>,
    lease: Option<&str>,
    protocol: &str,
    body: Value,
) -> TestResult<Answer> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("slipway-agent-protocol", protocol)
        .header("user-agent", "slipway-agent/0.0.1");
    if let Some(credential) = credential {
        request = request.header("authorization", format!("Bearer {credential}"));
    }
    if let Some(lease) = lease {
        request = request.header("slipway-lease", lease);
    }
    let response = app.clone().oneshot(request.body(Body::from(serde_json::to_vec(&body)?))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

fn registration(token: &str, name: &str) -> Value {
    json!({ "protocolVersion": 1, "registrationToken": token, "name": name, "pool": "Linux",
            "version": "0.0.1", "capabilities": { "gpu": "cuda12" } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_register_once_per_token_and_admins_see_them() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let contributor = create_user(&app, &admin, "dev", "contributor").await?;
    let refused = send(&app, Method::POST, "/api/v1/registration-tokens", Some(&contributor), Some(json!({}))).await?;
    assert!(refused.expect_problem(403).contains("admin"));
    let bad =
        send(&app, Method::POST, "/api/v1/registration-tokens", Some(&admin), Some(json!({ "expiresInHours": 0 })))
            .await?;
    assert!(bad.expect_problem(400).contains("expiresInHours"));
    let created = send(&app, Method::POST, "/api/v1/registration-tokens", Some(&admin), Some(json!({}))).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.body["token"].as_str().ok_or("no token")?.to_owned();

    let reserved =
        agent_request(&app, Method::POST, "/api/v1/agent/register", None, None, "1", registration(&token, "local-9"))
            .await?;
    assert!(reserved.expect_problem(400).contains("in-process"));
    let registered =
        agent_request(&app, Method::POST, "/api/v1/agent/register", None, None, "1", registration(&token, "gpu-1"))
            .await?;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    assert_eq!(registered.body["pool"], "linux");
    let credential = registered.body["credential"].as_str().ok_or("no credential")?.to_owned();
    let again =
        agent_request(&app, Method::POST, "/api/v1/agent/register", None, None, "1", registration(&token, "gpu-2"))
            .await?;
    assert_eq!(again.expect_problem(401), "the registration token is unknown, used or expired");

    let old = agent_request(&app, Method::POST, "/api/v1/agent/hello", Some(&credential), None, "0", json!({})).await?;
    assert!(old.expect_problem(426).contains("too old"));
    let missing = send(&app, Method::POST, "/api/v1/agent/hello", Some(&credential), Some(json!({}))).await?;
    assert!(missing.expect_problem(400).contains("slipway-agent-protocol"));
    let hello = json!({ "version": "0.0.1", "capabilities": { "gpu": "cuda12", "Agent.OS": "Linux" } });
    let hello = agent_request(&app, Method::POST, "/api/v1/agent/hello", Some(&credential), None, "1", hello).await?;
    assert_eq!(hello.status, StatusCode::OK, "{}", hello.body);
    assert_eq!(hello.body["settings"]["leaseDurationMs"], 60_000);

    let nothing =
        agent_request(&app, Method::POST, "/api/v1/agent/lease", Some(&credential), None, "1", json!({ "waitMs": 50 }))
            .await?;
    assert_eq!(nothing.status, StatusCode::NO_CONTENT);
    let no_lease =
        agent_request(&app, Method::POST, "/api/v1/agent/jobs/1/heartbeat", Some(&credential), None, "1", json!({}))
            .await?;
    assert!(no_lease.expect_problem(400).contains("slipway-lease"));
    let stranger = agent_request(
        &app,
        Method::POST,
        "/api/v1/agent/lease",
        Some("slwagent_0000_nope"),
        None,
        "1",
        json!({ "waitMs": 50 }),
    )
    .await?;
    assert!(stranger.expect_problem(401).contains("register the agent again"));

    let reader = create_user(&app, &admin, "viewer", "reader").await?;
    let listed = send(&app, Method::GET, "/api/v1/agents", Some(&reader), None).await?;
    let agent = &listed.body["agents"][0];
    assert_eq!((agent["name"].as_str(), agent["state"].as_str()), (Some("gpu-1"), Some("idle")), "{}", listed.body);
    assert_eq!(agent["capabilities"]["gpu"], "cuda12");
    assert_eq!(agent["inProcess"], false);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_settings_are_checked_and_listed() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let bad = json!({ "vmImages": { "ubuntu-latest": ["Agent.OS -gt Linux"] } });
    let answer = send(&app, Method::PUT, "/api/v1/pools/Linux", Some(&admin), Some(bad)).await?;
    assert!(answer.expect_problem(400).contains("-gt"));
    let unknown =
        send(&app, Method::PUT, "/api/v1/pools/linux", Some(&admin), Some(json!({ "onAgentLost": "retry" }))).await?;
    unknown.expect_problem(422);
    let good = json!({ "onAgentLost": "requeue", "vmImages": { "ubuntu-latest": ["Agent.OS -equals Linux"] } });
    let answer = send(&app, Method::PUT, "/api/v1/pools/Linux", Some(&admin), Some(good)).await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let pools = send(&app, Method::GET, "/api/v1/pools", Some(&admin), None).await?;
    let names: Vec<&str> =
        pools.body["pools"].as_array().ok_or("no pools")?.iter().filter_map(|pool| pool["name"].as_str()).collect();
    assert_eq!(names, ["default", "linux"], "{}", pools.body);
    assert_eq!(pools.body["pools"][0]["agents"], 1, "the in-process agent serves the default pool");
    assert_eq!(pools.body["pools"][1]["settings"]["onAgentLost"], "requeue");
    let agents = send(&app, Method::GET, "/api/v1/agents", Some(&admin), None).await?;
    assert_eq!(agents.body["agents"][0]["name"], "local-0");
    assert_eq!(agents.body["agents"][0]["inProcess"], true);
    server.stop().await;
    Ok(())
}

const UNMEETABLE: &str = "\
trigger: none
jobs:
- job: special
  pool:
    demands: quantum -equals yes
  steps:
  - checkout: none
  - script: echo never
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_no_agent_can_ever_take_fails_at_once_naming_its_demands() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", UNMEETABLE)])?;
    let server = TestServer::start(&directory.path().join("data"), 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let pipeline = json!({ "name": "special", "repository": repository.display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/special/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run = wait_for_run(&app, &admin, id).await?;
    let reason = "No agent found in pool 'default' which satisfies the specified demands: quantum -equals yes \
                  (none of its 1 agent(s) has them). Register an agent with these capabilities (`slipway agent \
                  --capability NAME=VALUE`) or change the demands, then run the pipeline again.";
    assert_eq!(run["result"], "Failed", "{run}");
    assert_eq!(run["jobs"][0]["result"], "Failed", "{run}");
    assert_eq!(run["jobs"][0]["message"], reason, "{run}");
    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
    assert_eq!(logs.body["jobs"][0]["log"].as_str(), Some(format!("##[error]{reason}\n").as_str()), "{}", logs.body);
    server.stop().await;
    Ok(())
}
