//! `GET /me` and `POST /users/{name}/tokens`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, create_user, send, send_raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_and_personal_access_tokens() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(directory.path(), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let reader = create_user(&app, &admin, "rita", "reader").await?;

    let me = send(&app, Method::GET, "/api/v1/me", Some(&reader), None).await?;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!((me.body["name"].as_str(), me.body["role"].as_str()), (Some("rita"), Some("reader")));
    send(&app, Method::GET, "/api/v1/me", None, None).await?.expect_problem(401);

    // Users make tokens for themselves, with or without a body; the new token works at once.
    let own =
        send(&app, Method::POST, "/api/v1/users/rita/tokens", Some(&reader), Some(json!({ "name": "laptop" }))).await?;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    assert_eq!((own.body["user"].as_str(), own.body["name"].as_str()), (Some("rita"), Some("laptop")));
    let secret = own.body["token"].as_str().ok_or("no token")?.to_owned();
    assert!(secret.starts_with("slw_") && secret != reader);
    assert!(own.body["record"]["prefix"].as_str().is_some_and(|prefix| secret.contains(prefix)), "{}", own.body);
    let again = send(&app, Method::GET, "/api/v1/me", Some(&secret), None).await?;
    assert_eq!(again.body["name"], "rita");
    let bare = send_raw(&app, Method::POST, "/api/v1/users/rita/tokens", Some(&reader), None, Vec::new()).await?;
    assert_eq!((bare.status, bare.body["name"].as_str()), (StatusCode::CREATED, Some("token")), "{}", bare.body);

    // Only admins make tokens for others.
    send(&app, Method::POST, "/api/v1/users/admin/tokens", Some(&reader), None).await?.expect_problem(403);
    let for_rita = send(&app, Method::POST, "/api/v1/users/rita/tokens", Some(&admin), Some(json!({}))).await?;
    assert_eq!(for_rita.status, StatusCode::CREATED, "{}", for_rita.body);
    send(&app, Method::POST, "/api/v1/users/nobody/tokens", Some(&admin), None).await?.expect_problem(404);

    // Bad bodies.
    let json = Some("application/json");
    let token = Some(admin.as_str());
    for body in [&b"{\"name\": "[..], b"{\"colour\": \"red\"}", b"[1]"] {
        send_raw(&app, Method::POST, "/api/v1/users/rita/tokens", token, json, body.to_vec())
            .await?
            .expect_problem(422);
    }
    for name in ["", "   ", "line\nbreak", &"x".repeat(101)] {
        let body = Some(json!({ "name": name }));
        send(&app, Method::POST, "/api/v1/users/rita/tokens", token, body).await?.expect_problem(400);
    }
    let document = send(&app, Method::GET, "/api/v1/openapi.json", None, None).await?;
    for path in ["/me", "/users/{name}/tokens"] {
        assert!(document.body["paths"][path].is_object(), "{path} is not documented");
    }
    server.stop().await;
    Ok(())
}

/// A first start that fails after making the admin (before the server listened) is a first start
/// again: the next start shows the same token, or a new one when the token file is gone; once a
/// start has listened, later starts show none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_is_repeated_until_it_has_finished() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let first = slipway_server::open(&data, None).await?;
    let token = first.admin_token.clone().ok_or("no admin token on the first start")?;
    assert!(data.join(slipway_server::FIRST_START_FILE).exists());
    first.state.store().close().await;

    // It failed before listening: the same token, shown again.
    let again = slipway_server::open(&data, None).await?;
    assert_eq!(again.admin_token.as_deref(), Some(token.as_str()));
    again.state.store().close().await;

    // It failed before the token file was kept: a new token, which works, in the file.
    std::fs::remove_file(data.join(slipway_server::ADMIN_TOKEN_FILE))?;
    let renewed = slipway_server::open(&data, None).await?;
    let new_token = renewed.admin_token.clone().ok_or("no admin token after the file was lost")?;
    assert_ne!(new_token, token);
    assert_eq!(std::fs::read_to_string(data.join(slipway_server::ADMIN_TOKEN_FILE))?.trim(), new_token);
    let (user, _) = renewed.state.store().authenticate_token(&new_token).await?.ok_or("the new token does not work")?;
    assert_eq!(user.name, "admin");
    assert_eq!(renewed.state.store().list_users().await?.len(), 1, "one admin, not two");
    renewed.state.store().close().await;

    // A start that listened finished the first start.
    slipway_server::first_start_finished(&data)?;
    assert!(!data.join(slipway_server::FIRST_START_FILE).exists());
    let later = slipway_server::open(&data, None).await?;
    assert_eq!(later.admin_token, None);
    later.state.store().close().await;
    Ok(())
}
