//! Evidence bundles over the API: readers download a run's and a deployment's (a gzip-compressed
//! tar named for what it is of); what is unknown or malformed is a problem saying which, and
//! nobody without a token gets one; the web UI's links to them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::json;
use tower::ServiceExt as _;

use crate::signed_in::Browser;

use crate::support::{
    TestResult, TestServer, create_user, deploys_to, make_repository, on_both_databases, send, wait_for_run,
};

/// `GET` `uri` with `token`: the status, the content type, the content disposition and the bytes.
async fn get_bytes(app: &axum::Router, uri: &str, token: &str) -> TestResult<(StatusCode, String, String, Vec<u8>)> {
    let request = Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let header =
        |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let (status, content_type, disposition) =
        (response.status(), header("content-type"), header("content-disposition"));
    let bytes = response.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, content_type, disposition, bytes))
}

on_both_databases! {
    /// A reader downloads a run's and its deployment's bundles; unknown runs, environments and
    /// deployments are 404 problems naming them, a malformed id a 400, no token a 401.
    async fn readers_download_evidence_bundles_and_mistakes_are_named(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 1).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        let repository = directory.path().join("repo");
        make_repository(&repository, &[("azure-pipelines.yml", &deploys_to("staging"))])?;
        let pipeline = json!({ "name": "shop", "repository": repository.display().to_string() });
        let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let started = send(&app, Method::POST, "/api/v1/pipelines/shop/runs", Some(&admin), Some(json!({}))).await?;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
        let id = started.body["id"].as_i64().ok_or("no run id")?;
        let run = wait_for_run(&app, &admin, id).await?;
        assert_eq!(run["result"], "Succeeded", "{run}");

        let (status, content_type, disposition, bytes) = get_bytes(&app, &format!("/api/v1/runs/{id}/evidence"), &reader).await?;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/gzip"));
        assert_eq!(disposition, format!("attachment; filename=\"evidence-run-{id}.tar.gz\""));
        assert_eq!(bytes.get(..2), Some([0x1f, 0x8b].as_slice()), "not gzip");

        let deployments = send(&app, Method::GET, "/api/v1/environments/staging/deployments", Some(&reader), None).await?;
        let deployment = deployments.body["deployments"][0]["id"].as_i64().ok_or("no deployment")?;
        let uri = format!("/api/v1/environments/staging/deployments/{deployment}/evidence");
        let (status, content_type, disposition, _) = get_bytes(&app, &uri, &reader).await?;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/gzip"));
        assert_eq!(disposition, format!("attachment; filename=\"evidence-staging-{deployment}.tar.gz\""));

        let unknown = send(&app, Method::GET, "/api/v1/runs/999/evidence", Some(&reader), None).await?;
        assert_eq!(unknown.expect_problem(404), "no run 999");
        let malformed = send(&app, Method::GET, "/api/v1/runs/latest/evidence", Some(&reader), None).await?;
        malformed.expect_problem(400);
        let nowhere = send(&app, Method::GET, "/api/v1/environments/nowhere/deployments/1/evidence", Some(&reader), None).await?;
        assert!(nowhere.expect_problem(404).contains("no environment named 'nowhere'"), "{}", nowhere.body);
        let missing = send(&app, Method::GET, "/api/v1/environments/staging/deployments/999/evidence", Some(&reader), None).await?;
        assert_eq!(
            missing.expect_problem(404),
            "environment 'staging' has no deployment 999; `slipway environments show staging` lists its deployments"
        );
        let anonymous = send(&app, Method::GET, &format!("/api/v1/runs/{id}/evidence"), None, None).await?;
        anonymous.expect_problem(401);
        let forged = send(&app, Method::GET, &format!("/api/v1/runs/{id}/evidence"), Some("slw_not_a_token"), None).await?;
        forged.expect_problem(401);

        // The web UI links both from the run's page and the deployment history, for a reader.
        let mut browser = Browser::new(app.clone());
        browser.sign_in("rita", &reader).await?;
        let page = browser.get(&format!("/runs/{id}")).await?;
        assert!(page.body.contains(&format!("href=\"/runs/{id}/evidence\"")), "{}", page.body);
        let page = browser.get("/environments/staging").await?;
        let link = format!("href=\"/environments/staging/deployments/{deployment}/evidence\"");
        assert!(page.body.contains(&link), "{}", page.body);
        let download = browser.get(&format!("/environments/staging/deployments/{deployment}/evidence")).await?;
        assert_eq!(download.status, StatusCode::OK);
        let missing = browser.get("/runs/999/evidence").await?;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        server.stop().await;
        Ok(())
    }
}
