//! Services and their slots through the API, with the server's router in front of real HTTP
//! servers: weights, a forced slot, a blue-green swap, requests counted per slot, the router's
//! metrics, clear refusals, and the router back on its address after a restart.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

/// An HTTP server on loopback that answers every request with `name`.
async fn version(name: &'static str) -> TestResult<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new().fallback(move || async move { name });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// GETs `/` through the router at `address`, with an extra header; the status and the body.
/// Asks through `address` until the answer is `expected` (at most 5 s): nginx takes a new
/// configuration a moment after it was told to, and closes idle connections as it does. The
/// last answer (`None`: none came).
async fn answer_until(address: &str, header: Option<(&str, &str)>, expected: &(u16, String)) -> Option<(u16, String)> {
    let mut last = None;
    for _ in 0..50 {
        if let Ok(answer) = through(address, header).await {
            if answer == *expected {
                return Some(answer);
            }
            last = Some(answer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

async fn through(address: &str, header: Option<(&str, &str)>) -> TestResult<(u16, String)> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let extra = header.map_or_else(String::new, |(name, value)| format!("{name}: {value}\r\n"));
    stream.write_all(format!("GET / HTTP/1.1\r\nHost: shop\r\n{extra}Connection: close\r\n\r\n").as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    Ok((status, body))
}

on_both_databases! {
    /// A service's router splits traffic between its slots as set through the API.
    async fn a_services_router_follows_its_slots_weights_and_swaps(database) {
        let directory = tempfile::tempdir()?;
        let data = directory.path().join("data");
        let server = TestServer::start_on(&data, database.as_deref(), 0).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let carl = create_user(&app, &admin, "carl", "contributor").await?;
        let rita = create_user(&app, &admin, "rita", "reader").await?;
        let (blue, green) = (version("blue v1").await?, version("green v2").await?);
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "prod"}))).await?;
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
        let uri = "/api/v1/environments/prod/services";
        let created = send(&app, Method::POST, uri, Some(&admin), Some(json!({"name": "shop", "listen": listen}))).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["router"], "listening", "{}", created.body);
        let slot = |name: &str| format!("{uri}/shop/slots/{name}");
        let set = send(&app, Method::PUT, &slot("blue"), Some(&carl), Some(json!({"upstream": format!("http://{blue}"), "weight": 100}))).await?;
        assert_eq!(set.status, StatusCode::OK, "{}", set.body);
        send(&app, Method::PUT, &slot("green"), Some(&carl), Some(json!({"upstream": format!("http://{green}")}))).await?;
        for _ in 0..5 {
            assert_eq!(through(&listen, None).await?, (200, "blue v1".to_owned()));
        }
        // Smoke test of the new version before it takes traffic.
        assert_eq!(through(&listen, Some(("x-slipway-slot", "green"))).await?, (200, "green v2".to_owned()));
        // All traffic to green, then a blue-green swap: blue's name takes green's version.
        let traffic = send(&app, Method::POST, &format!("{uri}/shop/traffic"), Some(&carl), Some(json!({"weights": {"blue": 0, "green": 100}}))).await?;
        assert_eq!(traffic.status, StatusCode::OK, "{}", traffic.body);
        assert_eq!(through(&listen, None).await?, (200, "green v2".to_owned()));
        let swapped = send(&app, Method::POST, &format!("{uri}/shop/swap"), Some(&carl), Some(json!({"slots": ["blue", "green"]}))).await?;
        assert_eq!(swapped.status, StatusCode::OK, "{}", swapped.body);
        assert_eq!(through(&listen, None).await?, (200, "blue v1".to_owned()), "green (weight 100) now runs v1");
        let shown = send(&app, Method::GET, &format!("{uri}/shop"), Some(&rita), None).await?;
        let slots = shown.body["slots"].as_array().ok_or("no slots")?;
        assert_eq!(slots[0]["name"], "blue");
        assert_eq!(slots[0]["upstream"], format!("http://{green}"));
        let total: u64 = slots.iter().filter_map(|slot| slot["requests"]["ok"].as_u64()).sum();
        assert_eq!(total, 8, "{}", shown.body);
        let metrics = crate::support::send_raw(&app, Method::GET, "/api/v1/metrics/router", Some(&rita), None, Vec::new()).await?;
        assert_eq!(metrics.status, StatusCode::OK);
        // Refusals.
        let problem = |answer: crate::support::Answer, status: u16| answer.expect_problem(status);
        let mut problems = Vec::new();
        problems.push(problem(send(&app, Method::PUT, &slot("x"), Some(&rita), Some(json!({"upstream": "http://127.0.0.1:1"}))).await?, 403));
        problems.push(problem(send(&app, Method::PUT, &slot("bad%21name"), Some(&carl), Some(json!({"upstream": "http://127.0.0.1:1"}))).await?, 422));
        problems.push(problem(send(&app, Method::PUT, &slot("x"), Some(&carl), Some(json!({"upstream": "file:///etc/passwd"}))).await?, 422));
        problems.push(problem(send(&app, Method::POST, &format!("{uri}/shop/traffic"), Some(&carl), Some(json!({"weights": {"red": 5}}))).await?, 404));
        problems.push(problem(send(&app, Method::POST, uri, Some(&admin), Some(json!({"name": "shop2", "listen": listen}))).await?, 409));
        problems.push(problem(send(&app, Method::POST, uri, Some(&admin), Some(json!({"name": "api", "listen": "localhost:80"}))).await?, 400));
        problems.push(problem(send(&app, Method::POST, uri, Some(&carl), Some(json!({"name": "api", "listen": "127.0.0.1:9"}))).await?, 403));
        problems.push(problem(send(&app, Method::GET, "/api/v1/environments/prod/services/nope", Some(&rita), None).await?, 404));
        insta::with_settings!({ filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]")] }, {
            insta::assert_snapshot!("service_refusals", problems.join("\n"));
        });

        // After a restart the router listens on the same address, with the same slots.
        drop(app);
        server.stop().await;
        let server = TestServer::start_on(&data, database.as_deref(), 0).await?;
        assert_eq!(through(&listen, None).await?, (200, "blue v1".to_owned()));
        // Deleting the service stops its router.
        let app = server.app();
        assert_eq!(send(&app, Method::DELETE, &format!("{uri}/shop"), Some(&admin), None).await?.status, StatusCode::NO_CONTENT);
        let mut closed = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(&listen).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(closed, "the router of a deleted service still listens");
        server.stop().await;
        Ok(())
    }
}

/// Debian's nginx over `directory` as the server takes it, or `None` (skipped, unless
/// `SLIPWAY_REQUIRE_NGINX=1`).
fn nginx(
    directory: &std::path::Path,
) -> TestResult<Option<(slipway_delivery::nginx::Nginx, slipway_testing::nginx::TestNginx)>> {
    let Some(started) = slipway_testing::nginx::nginx_or_skip("services fronted by nginx", directory)? else {
        return Ok(None);
    };
    let nginx = slipway_delivery::nginx::Nginx {
        binary: started.binary.clone(),
        prefix: started.prefix.clone(),
        main_config: started.main_config.clone(),
        directory: started.services.clone(),
    };
    Ok(Some((nginx, started)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_can_be_fronted_by_the_servers_nginx() -> TestResult {
    let directory = tempfile::tempdir()?;
    let Some((nginx, child)) = nginx(&directory.path().join("nginx"))? else { return Ok(()) };
    let outcome = async {
        let server = TestServer::start_with(
            &directory.path().join("data"),
            None,
            0,
            std::sync::Arc::new(slipway_store::SystemClock),
            Some(nginx),
        )
        .await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let (stable, canary) = (version("stable v1").await?, version("canary v2").await?);
        send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "prod"}))).await?;
        let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
        let uri = "/api/v1/environments/prod/services";
        let created = send(
            &app,
            Method::POST,
            uri,
            Some(&admin),
            Some(json!({"name": "shop", "listen": listen, "provider": "nginx"})),
        )
        .await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["provider"], "nginx");
        let slot = |name: &str| format!("{uri}/shop/slots/{name}");
        send(
            &app,
            Method::PUT,
            &slot("stable"),
            Some(&admin),
            Some(json!({"upstream": format!("http://{stable}"), "weight": 100})),
        )
        .await?;
        let set = send(
            &app,
            Method::PUT,
            &slot("canary"),
            Some(&admin),
            Some(json!({"upstream": format!("http://{canary}")})),
        )
        .await?;
        assert_eq!(set.body["router"], "applied", "{}", set.body);
        // "applied" means nginx was told to reload: it takes the new configuration a moment
        // later, so wait until the last one (with the canary slot) answers.
        let canary = (200, "canary v2".to_owned());
        assert_eq!(answer_until(&listen, Some(("x-slipway-slot", "canary")), &canary).await, Some(canary.clone()));
        let stable = (200, "stable v1".to_owned());
        assert_eq!(answer_until(&listen, None, &stable).await, Some(stable));
        send(
            &app,
            Method::POST,
            &format!("{uri}/shop/traffic"),
            Some(&admin),
            Some(json!({"weights": {"stable": 0, "canary": 100}})),
        )
        .await?;
        assert_eq!(answer_until(&listen, None, &canary).await, Some(canary), "nginx did not take the new weights");
        server.stop().await;
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    drop(child);
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_nginx_refuses_services_that_ask_for_it() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "prod"}))).await?;
    let uri = "/api/v1/environments/prod/services";
    let refused = send(
        &app,
        Method::POST,
        uri,
        Some(&admin),
        Some(json!({"name": "shop", "listen": "127.0.0.1:9", "provider": "nginx"})),
    )
    .await?;
    assert!(refused.expect_problem(422).contains("slipway serve --nginx-config FILE"));
    let odd = send(
        &app,
        Method::POST,
        uri,
        Some(&admin),
        Some(json!({"name": "shop", "listen": "127.0.0.1:9", "provider": "envoy"})),
    )
    .await?;
    assert!(odd.expect_problem(400).contains("'provider' is 'envoy'"));
    server.stop().await;
    Ok(())
}

/// An agent protocol request: the protocol header, the credential and the lease when given.
async fn agent_post(
    app: &axum::Router,
    uri: &str,
    credential: Option<&str>,
    lease: Option<&str>,
    body: serde_json::Value,
) -> TestResult<crate::support::Answer> {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let mut request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json")
        .header("slipway-agent-protocol", "1")
        .header("user-agent", "slipway-agent/0.0.1");
    if let Some(credential) = credential {
        request = request.header("authorization", format!("Bearer {credential}"));
    }
    if let Some(lease) = lease {
        request = request.header("slipway-lease", lease);
    }
    let response = app.clone().oneshot(request.body(axum::body::Body::from(serde_json::to_vec(&body)?))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok(crate::support::Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or_default() })
}

/// Sends a delivery request of the job `job` as its agent, with its lease.
async fn delivery_request(
    app: &axum::Router,
    credential: &str,
    job: i64,
    lease: &str,
    body: serde_json::Value,
) -> TestResult<crate::support::Answer> {
    agent_post(app, &format!("/api/v1/agent/jobs/{job}/delivery"), Some(credential), Some(lease), body).await
}

/// The agent protocol's delivery endpoint: only the lease holder of a deployment job, only for
/// its environment's services; refusals are problem+json with the reason; a repeated
/// `startAnalysis` (an agent retrying after a lost answer) is the run it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_jobs_reach_the_delivery_room_with_their_lease() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    let pipeline = "trigger: none\njobs:\n- deployment: ship\n  environment: production\n  strategy:\n    runOnce:\n      \
                    deploy:\n        steps:\n        - script: echo ship\n- job: plain\n  steps:\n  - script: echo plain\n";
    crate::support::make_repository(&repository, &[("azure-pipelines.yml", pipeline)])?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let token = send(&app, Method::POST, "/api/v1/registration-tokens", Some(&admin), Some(json!({}))).await?;
    let token = token.body["token"].as_str().ok_or("no token")?.to_owned();
    let registration = json!({ "protocolVersion": 1, "registrationToken": token, "name": "d1", "pool": "default",
                               "version": "0.0.1", "capabilities": {} });
    let registered = agent_post(&app, "/api/v1/agent/register", None, None, registration).await?;
    agent_post(
        &app,
        "/api/v1/agent/hello",
        Some(registered.body["credential"].as_str().unwrap_or_default()),
        None,
        json!({ "version": "0.0.1", "capabilities": {} }),
    )
    .await?;
    let credential = registered.body["credential"].as_str().ok_or("no credential")?.to_owned();
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "production"}))).await?;
    send(&app, Method::POST, "/api/v1/environments", Some(&admin), Some(json!({"name": "other"}))).await?;
    let created = send(
        &app,
        Method::POST,
        "/api/v1/environments/other/services",
        Some(&admin),
        Some(json!({"name": "elsewhere", "listen": listen})),
    )
    .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let pipeline = json!({ "name": "ship", "repository": repository.display().to_string() });
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    send(&app, Method::POST, "/api/v1/pipelines/ship/runs", Some(&admin), Some(json!({}))).await?;
    // Lease both jobs (which comes first is the scheduler's business).
    let mut leased = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let lease = json!({ "waitMs": 5000 });
        let message = delivery_lease(&app, &credential, lease).await?;
        let name = message["job"]["name"].as_str().unwrap_or_default().to_owned();
        leased.insert(
            name,
            (
                message["job"]["id"].as_i64().unwrap_or_default(),
                message["lease"]["leaseId"].as_str().unwrap_or_default().to_owned(),
            ),
        );
    }
    let (ship, ship_lease) = leased.get("ship").cloned().ok_or("the deployment job was not leased")?;
    let (plain, plain_lease) = leased.get("plain").cloned().ok_or("the plain job was not leased")?;

    let ask = json!({"op": "service", "service": "web"});
    let refused = delivery_request(&app, &credential, plain, &plain_lease, ask.clone()).await?;
    assert!(refused.expect_problem(403).contains("is not a deployment job"), "{}", refused.body);
    let wrong_lease = delivery_request(&app, &credential, ship, "not-the-lease", ask.clone()).await?;
    assert_eq!(wrong_lease.status, StatusCode::CONFLICT, "{}", wrong_lease.body);
    let missing = delivery_request(&app, &credential, ship, &ship_lease, ask).await?;
    assert!(missing.expect_problem(404).contains("environment 'production' has no service 'web'"), "{}", missing.body);
    let foreign =
        delivery_request(&app, &credential, ship, &ship_lease, json!({"op": "service", "service": "elsewhere"}))
            .await?;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "another environment's service is not the job's: {}",
        foreign.body
    );

    let web_listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    send(
        &app,
        Method::POST,
        "/api/v1/environments/production/services",
        Some(&admin),
        Some(json!({"name": "web", "listen": web_listen})),
    )
    .await?;
    let bad_template = json!({"op": "startAnalysis", "service": "web", "templateName": "analysis.yaml",
                              "template": "metrics:\n- name: m\n  interval: 1m\n  provider: {slipway: {slot: canary, metric: success-rate}}\n",
                              "args": {}, "load": null});
    let invalid = delivery_request(&app, &credential, ship, &ship_lease, bad_template).await?;
    assert!(
        invalid.expect_problem(422).starts_with("analysis.yaml:3:3: `interval` without `count`"),
        "{}",
        invalid.body
    );
    let start = json!({"op": "startAnalysis", "service": "web", "templateName": "inline",
                       "template": "metrics:\n- name: m\n  provider: {slipway: {slot: canary, metric: success-rate}}\n",
                       "args": {}, "load": {"rate": 5, "path": "/"}});
    let first = delivery_request(&app, &credential, ship, &ship_lease, start.clone()).await?;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        (first.body["kind"].as_str(), first.body["phase"].as_str()),
        (Some("analysis"), Some("Running")),
        "{}",
        first.body
    );
    let again = delivery_request(&app, &credential, ship, &ship_lease, start).await?;
    assert_eq!(again.body["id"], first.body["id"], "a retried start is the same run: {}", again.body);
    let stopped =
        delivery_request(&app, &credential, ship, &ship_lease, json!({"op": "stopAnalysis", "id": first.body["id"]}))
            .await?;
    assert_eq!(stopped.body["phase"], "Terminated", "{}", stopped.body);
    server.stop().await;
    Ok(())
}

/// Leases a job as the agent holding `credential`: the job message.
async fn delivery_lease(
    app: &axum::Router,
    credential: &str,
    body: serde_json::Value,
) -> TestResult<serde_json::Value> {
    for _ in 0..50 {
        let answer = agent_post(app, "/api/v1/agent/lease", Some(credential), None, body.clone()).await?;
        if answer.status == StatusCode::OK {
            return Ok(answer.body);
        }
    }
    Err("no job was leased".into())
}
