//! The audit log's export and hash-chain check over the API: admins only, JSON lines oldest
//! first that the offline verifier accepts, `after` for the rest of a log, and the server's check.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use slipway_events::audit_chain::{self, ChainedEntry, GENESIS};
use tower::ServiceExt as _;

use crate::support::{TestResult, TestServer, create_user, on_both_databases, send};

/// `GET` `uri` with `token`: the status, the content type and the body as text.
async fn get_text(app: &axum::Router, uri: &str, token: &str) -> TestResult<(StatusCode, String, String)> {
    let request = Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, content_type, String::from_utf8(bytes.to_vec())?))
}

fn entries(text: &str) -> TestResult<Vec<ChainedEntry>> {
    Ok(text.lines().map(serde_json::from_str).collect::<Result<Vec<ChainedEntry>, _>>()?)
}

on_both_databases! {
    /// An admin exports the log as JSON lines, oldest first, each with its hashes, that the
    /// offline verifier finds whole, and has the server check it; others may not.
    async fn admins_export_and_verify_the_audit_log(database) {
        let directory = tempfile::tempdir()?;
        let server = TestServer::start_on(&directory.path().join("data"), database.as_deref(), 1).await?;
        let app = server.app();
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let reader = create_user(&app, &admin, "rita", "reader").await?;
        for group in ["shared", "release"] {
            let created = send(&app, Method::POST, "/api/v1/variable-groups", Some(&admin), Some(serde_json::json!({ "name": group }))).await?;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        }

        let (status, content_type, text) = get_text(&app, "/api/v1/audit", &admin).await?;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/x-ndjson"));
        let log = entries(&text)?;
        assert!(log.len() >= 2, "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(log[0].prev_hash, GENESIS);
        let created: Vec<_> = log.iter().filter(|entry| entry.action == "variable-group.create").map(|entry| entry.target.clone()).collect();
        assert_eq!(created, [Some("shared".to_owned()), Some("release".to_owned())]);
        // Users made over the API are audited as the web UI's are (never their tokens' secrets).
        let users: Vec<_> = log.iter().filter(|entry| entry.action == "user.create").map(|entry| (entry.actor.as_str(), entry.target.as_deref(), entry.details.clone())).collect();
        assert_eq!(users, [("admin", Some("rita"), serde_json::json!({ "role": "reader" }))]);
        assert!(!text.contains("slw_"), "a token's secret is in the audit log");
        let report = audit_chain::verify(&log);
        assert!(report.intact(), "{report:?}");

        let (status, _, rest) = get_text(&app, &format!("/api/v1/audit?after={}", log[0].id), &admin).await?;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(entries(&rest)?, log[1..].to_vec());

        let verified = send(&app, Method::GET, "/api/v1/audit/verify", Some(&admin), None).await?;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        let last = log.last().ok_or("no entries")?;
        assert_eq!(
            verified.body,
            serde_json::json!({
                "entries": log.len(),
                "intact": true,
                "lastId": last.id,
                "lastHash": last.hash,
                "firstBreak": null,
            })
        );

        let anchored = format!("/api/v1/audit/verify?anchor={}:{}", last.id, last.hash);
        let verified_at = send(&app, Method::GET, &anchored, Some(&admin), None).await?;
        assert_eq!((verified_at.status, &verified_at.body), (StatusCode::OK, &verified.body));
        let unknown = format!("/api/v1/audit/verify?anchor={}:{}", last.id + 100, last.hash);
        let cut = send(&app, Method::GET, &unknown, Some(&admin), None).await?;
        assert_eq!((&cut.body["intact"], &cut.body["firstBreak"]["kind"]), (&serde_json::json!(false), &serde_json::json!("truncated")));
        let detail = send(&app, Method::GET, "/api/v1/audit/verify?anchor=7", Some(&admin), None).await?.expect_problem(400);
        assert_eq!(detail, "'anchor' is ID:HASH (an entry id and its 64-digit hex hash), not `7`");

        for uri in ["/api/v1/audit", "/api/v1/audit/verify"] {
            send(&app, Method::GET, uri, Some(&reader), None).await?.expect_problem(403);
            send(&app, Method::GET, uri, None, None).await?.expect_problem(401);
        }
        send(&app, Method::GET, "/api/v1/audit?after=x", Some(&admin), None).await?.expect_problem(400);
        server.stop().await;
        Ok(())
    }
}
