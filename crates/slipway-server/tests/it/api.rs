//! The API through `oneshot`: health, the OpenAPI document, authentication, roles, and problems
//! for bad input.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, create_user, send, send_raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_openapi_need_no_token() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let health = send(&app, Method::GET, "/api/v1/health", None, None).await?;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["database"], "sqlite");
    let document = send(&app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.body["openapi"], "3.1.0");
    for path in [
        "/health",
        "/pipelines",
        "/pipelines/{name}/runs",
        "/runs",
        "/runs/{id}",
        "/runs/{id}/logs",
        "/runs/{id}/cancel",
        "/users",
    ] {
        assert!(document.body["paths"][path].is_object(), "{path} is not documented");
    }
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_makes_an_admin_token_once() -> TestResult {
    use std::os::unix::fs::PermissionsExt as _;
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let token = server.admin_token.clone().ok_or("no admin token on first start")?;
    assert!(token.starts_with("slw_"));
    let written = std::fs::read_to_string(directory.path().join("admin-token"))?;
    assert_eq!(written.trim(), token);
    for file in ["admin-token", "secret.key"] {
        let mode = std::fs::metadata(directory.path().join(file))?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let pipelines = send(&server.app(), Method::GET, "/api/v1/pipelines", Some(&token), None).await?;
    assert_eq!(pipelines.status, StatusCode::OK);
    server.stop().await;
    let again = TestServer::start(directory.path(), 0).await?;
    assert!(again.admin_token.is_none(), "a second start must not make another admin token");
    again.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let missing = send(&app, Method::GET, "/api/v1/runs", None, None).await?;
    missing.expect_problem(401);
    assert_eq!(missing.headers.get("www-authenticate").and_then(|value| value.to_str().ok()), Some("Bearer"));
    send(&app, Method::GET, "/api/v1/runs", Some("slw_not_a_real_token"), None).await?.expect_problem(401);
    let basic = send_raw(&app, Method::GET, "/api/v1/runs", None, None, Vec::new()).await?;
    basic.expect_problem(401);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_what_a_user_may_do() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let repository = crate::support::two_jobs_repository(&directory.path().join("repository"))?;
    let pipeline = json!({ "name": "p", "repository": repository });

    // Readers read, and nothing else.
    assert_eq!(send(&app, Method::GET, "/api/v1/pipelines", Some(&reader), None).await?.status, StatusCode::OK);
    assert_eq!(send(&app, Method::GET, "/api/v1/runs", Some(&reader), None).await?.status, StatusCode::OK);
    send(&app, Method::POST, "/api/v1/pipelines", Some(&reader), Some(pipeline.clone())).await?.expect_problem(403);
    send(&app, Method::POST, "/api/v1/pipelines/p/runs", Some(&reader), Some(json!({}))).await?.expect_problem(403);
    send(&app, Method::POST, "/api/v1/runs/1/cancel", Some(&reader), None).await?.expect_problem(403);
    // Contributors run and cancel, but do not create pipelines or users.
    send(&app, Method::POST, "/api/v1/pipelines", Some(&contributor), Some(pipeline.clone()))
        .await?
        .expect_problem(403);
    let user = json!({ "name": "eve", "role": "admin" });
    send(&app, Method::POST, "/api/v1/users", Some(&contributor), Some(user)).await?.expect_problem(403);
    let detail = send(&app, Method::POST, "/api/v1/pipelines/p/runs", Some(&contributor), Some(json!({})))
        .await?
        .expect_problem(404);
    assert!(detail.contains("no pipeline named 'p'"), "{detail}");
    send(&app, Method::POST, "/api/v1/runs/1/cancel", Some(&contributor), None).await?.expect_problem(404);
    // Admins create pipelines; names are unique.
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline.clone())).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["yamlPath"], "azure-pipelines.yml");
    send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.expect_problem(409);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_problem() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let token = Some(admin.as_str());
    let json = Some("application/json");

    // Malformed JSON, JSON of the wrong shape, unknown fields, a missing content type.
    send_raw(&app, Method::POST, "/api/v1/pipelines", token, json, b"{\"name\": ".to_vec()).await?.expect_problem(400);
    send(&app, Method::POST, "/api/v1/pipelines", token, Some(json!({ "name": 5 }))).await?.expect_problem(422);
    let unknown = json!({ "name": "a", "repository": "/r", "colour": "red" });
    send(&app, Method::POST, "/api/v1/pipelines", token, Some(unknown)).await?.expect_problem(422);
    send_raw(&app, Method::POST, "/api/v1/pipelines", token, None, b"{}".to_vec()).await?.expect_problem(415);
    // Values that are not acceptable.
    for body in [
        json!({ "name": "has space", "repository": "/r" }),
        json!({ "name": "", "repository": "/r" }),
        json!({ "name": "a", "repository": "--upload-pack=touch /tmp/x" }),
        json!({ "name": "a", "repository": "/r", "yamlPath": "../../etc/passwd" }),
        json!({ "name": "a", "repository": "/r", "defaultBranch": "-x" }),
    ] {
        send(&app, Method::POST, "/api/v1/pipelines", token, Some(body)).await?.expect_problem(400);
    }
    let role = json!({ "name": "x", "role": "emperor" });
    send(&app, Method::POST, "/api/v1/users", token, Some(role)).await?.expect_problem(422);
    // Oversize bodies.
    let huge = format!("{{\"name\": \"{}\", \"repository\": \"/r\"}}", "a".repeat(slipway_server::MAX_BODY_BYTES));
    send_raw(&app, Method::POST, "/api/v1/pipelines", token, json, huge.into_bytes()).await?.expect_problem(413);
    // Bad query strings and paths.
    for uri in [
        "/api/v1/runs?limit=abc",
        "/api/v1/runs?limit=0",
        "/api/v1/runs?limit=100000",
        "/api/v1/runs?status=sleeping",
        "/api/v1/runs?before=x",
        "/api/v1/runs?colour=red",
        "/api/v1/runs/abc",
        "/api/v1/runs/1/logs?follow=maybe",
        "/api/v1/runs/1/logs?tail=1",
        "/api/v1/runs/99999999999999999999999",
    ] {
        send(&app, Method::GET, uri, token, None).await?.expect_problem(400);
    }
    send(&app, Method::GET, "/api/v1/runs?pipeline=nope", token, None).await?.expect_problem(404);
    send(&app, Method::GET, "/api/v1/runs/42", token, None).await?.expect_problem(404);
    send(&app, Method::GET, "/api/v1/runs/42/logs", token, None).await?.expect_problem(404);
    send(&app, Method::GET, "/api/v1/nothing-here", token, None).await?.expect_problem(404);
    send(&app, Method::GET, "/elsewhere", None, None).await?.expect_problem(404);
    send(&app, Method::DELETE, "/api/v1/runs", token, None).await?.expect_problem(405);
    server.stop().await;
    Ok(())
}
