//! What a hostile contributor or a careless admin can send the server (issue 10): pipeline files
//! that link out of their repository, pipelines nested to blow the stack, repositories that are
//! not repositories. Each is refused with a clear error, and the server stays up.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestResult, TestServer, create_user, make_repository, send};

/// A pipeline file, or a template, committed as a link to the server's admin token or to a file
/// of the machine is not read: the run is refused with T0017 and the answer quotes nothing of the
/// target. A link inside the repository still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_files_linking_out_of_the_repository_are_not_read() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let contributor = create_user(&app, &admin, "mallory", "contributor").await?;
    let token_file = data.join(slipway_server::ADMIN_TOKEN_FILE);
    assert!(token_file.is_file());
    let token_text = std::fs::read_to_string(&token_file)?;
    let first_line = token_text.lines().next().ok_or("empty token file")?.to_owned();

    let repository = directory.path().join("repository");
    make_repository(
        &repository,
        &[("real.yml", "steps:\n- script: echo inside\n"), ("later.yml", "steps:\n- script: echo later\n")],
    )?;
    std::os::unix::fs::symlink(&token_file, repository.join("azure-pipelines.yml"))?;
    std::os::unix::fs::symlink("/etc/passwd", repository.join("passwd.yml"))?;
    std::fs::write(repository.join("templated.yml"), "steps:\n- template: passwd.yml\n")?;
    std::os::unix::fs::symlink("real.yml", repository.join("inside.yml"))?;
    let git = |arguments: &[&str]| {
        std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@e"])
            .args(arguments)
            .current_dir(&repository)
            .output()
    };
    git(&["add", "."])?;
    git(&["commit", "--quiet", "-m", "links"])?;

    let repository_text = repository.display().to_string();
    // A pipeline file that is a link out is refused when the pipeline is created...
    let token = json!({ "name": "token", "repository": repository_text, "yamlPath": "azure-pipelines.yml" });
    let answer = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(token)).await?;
    let detail = answer.expect_problem(422);
    assert!(detail.contains("leads outside the repository through a symbolic link"), "{detail}");
    assert!(!answer.body.to_string().contains(&first_line), "the admin token leaked: {}", answer.body);
    for (name, path) in [("passwd", "templated.yml"), ("inside", "inside.yml"), ("later", "later.yml")] {
        let pipeline = json!({ "name": name, "repository": repository_text, "yamlPath": path });
        let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    // ... and when it became one after (a later commit), the run is refused.
    std::fs::remove_file(repository.join("later.yml"))?;
    std::os::unix::fs::symlink(&token_file, repository.join("later.yml"))?;
    git(&["commit", "--quiet", "-am", "now a link"])?;
    for name in ["later", "passwd"] {
        let answer =
            send(&app, Method::POST, &format!("/api/v1/pipelines/{name}/runs"), Some(&contributor), Some(json!({})))
                .await?;
        let detail = answer.expect_problem(422);
        assert!(detail.contains("T0017") && detail.contains("leads outside its repository"), "{detail}");
        let body = answer.body.to_string();
        assert!(!body.contains(&first_line), "the admin token leaked: {body}");
        assert!(!body.contains("root:"), "/etc/passwd leaked: {body}");
    }
    let inside = send(&app, Method::POST, "/api/v1/pipelines/inside/runs", Some(&contributor), Some(json!({}))).await?;
    assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.body);
    server.stop().await;
    Ok(())
}

/// Repositories and paths that cannot be a pipeline's are refused when the pipeline is created
/// (400 for what is malformed, 422 for what is not there), never at its first run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_are_checked_when_they_are_created() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", "steps:\n- script: echo hi\n")])?;
    let repository = repository.display().to_string();
    let plain_directory = directory.path().join("plain");
    std::fs::create_dir_all(&plain_directory)?;
    let empty = directory.path().join("empty");
    std::fs::create_dir_all(&empty)?;
    std::process::Command::new("git").args(["init", "--quiet"]).current_dir(&empty).status()?;
    let pwned = directory.path().join("pwned");

    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (json!({ "repository": "/etc" }), 422, "is not a git repository the server can read"),
        (json!({ "repository": "file:///etc/passwd" }), 422, "is not a git repository the server can read"),
        (json!({ "repository": format!("ext::sh -c touch% {}", pwned.display()) }), 400, "remote helpers"),
        (json!({ "repository": "fd::3" }), 400, "remote helpers"),
        (json!({ "repository": "gopher://example.com/x" }), 400, "the scheme 'gopher'"),
        (
            json!({ "repository": repository, "yamlPath": "a\u{0}b.yml" }),
            400,
            "is not a file path inside the repository",
        ),
        (
            json!({ "repository": repository, "yamlPath": "missing.yml" }),
            422,
            "'missing.yml' was not found on branch 'main'",
        ),
        (json!({ "repository": repository, "defaultBranch": "nope" }), 422, "has no branch 'nope'"),
        (json!({ "repository": plain_directory.display().to_string() }), 422, "is not a git repository"),
        (json!({ "repository": empty.display().to_string() }), 422, "has no commits yet"),
    ];
    for (mut body, status, expected) in cases {
        body["name"] = json!("p");
        let answer = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(body.clone())).await?;
        let detail = answer.expect_problem(status);
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    assert!(!pwned.exists(), "git ran the ext:: helper");
    let listed = send(&app, Method::GET, "/api/v1/pipelines", Some(&admin), None).await?;
    assert_eq!(listed.body["pipelines"], json!([]), "nothing was created");
    let good = json!({ "name": "p", "repository": repository });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(good)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // Nothing fetched for the checks is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(directory.path().join("data/checkouts"))?.collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    server.stop().await;
    Ok(())
}

/// The forms of a secret Azure masks, printed by `slipway-cli`'s `masking.yml` fixture; the same
/// pipeline is checked with `slipway run` there.
const MASKING_PIPELINE: &str = include_str!("../../../slipway-cli/tests/it/fixtures/run/masking.yml");

/// A secret is masked on the server in every form Azure's agent masks (percent-encoded in both
/// cases, HTML/XML-escaped, the inner value of a quoted secret) and where a line too long to keep
/// whole is cut through it, in the stored log and in the followed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_masked_in_every_form_azure_masks() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", MASKING_PIPELINE)])?;
    let server = TestServer::start(&directory.path().join("data"), 1).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let pipeline = json!({ "name": "masking", "repository": repository.display().to_string() });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let secret = "ab<c&d\"e'f/g";
    for (name, value) in [("mySecret", secret), ("quotedSecret", "\"innerpart\"")] {
        let body = json!({ "value": value, "secret": true });
        let uri = format!("/api/v1/pipelines/masking/variables/{name}");
        assert_eq!(send(&app, Method::PUT, &uri, Some(&admin), Some(body)).await?.status, StatusCode::OK);
    }
    let started = send(&app, Method::POST, "/api/v1/pipelines/masking/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run = crate::support::wait_for_run(&app, &admin, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
    let stored: String =
        logs.body["jobs"].as_array().ok_or("no logs")?.iter().filter_map(|job| job["log"].as_str()).collect();
    let followed = crate::support::send_text(&app, &format!("/api/v1/runs/{id}/logs?follow=true"), &admin).await?;
    for text in [&stored, &followed] {
        for leaked in [
            secret,
            "ab%3cc%26d%22e%27f%2fg",
            "ab%3Cc%26d%22e%27f%2Fg",
            "ab%3Cc%26d%22e%27f/g",
            "ab&lt;c&amp;d&quot;e&#x27;f/g",
            "ab&lt;c&amp;d&quot;e&apos;f/g",
            "ab<c&d\"e''f/g",
            "ab<c&d\\\"e'f/g",
            "innerpart",
        ] {
            assert!(!text.contains(leaked), "{leaked} leaked");
        }
        assert!(text.contains("*** <- halves"), "the secret written in two halves");
    }
    let long: String = stored.lines().filter(|line| line.contains("***-***")).collect();
    assert!(long.len() > 24000 * 4, "the long line is missing");
    let left = long.replace("***", "").replace('-', "").replace("long:", "");
    assert!(left.is_empty(), "pieces of the secret were shown where the long line was cut: {left:.200}");
    server.stop().await;
    Ok(())
}
