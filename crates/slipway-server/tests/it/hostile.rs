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

/// Commits `files` (path, text) to the repository at `directory`.
fn commit(directory: &std::path::Path, files: &[(&str, &str)], message: &str) -> TestResult {
    for (path, text) in files {
        std::fs::write(directory.join(path), text)?;
    }
    for arguments in [&["add", "."][..], &["commit", "--quiet", "-m", message]] {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@e"])
            .args(arguments)
            .current_dir(directory)
            .status()?;
        assert!(status.success());
    }
    Ok(())
}

/// A pipeline nested thousands of levels deep (6 KB) used to overflow the stack of the thread
/// that loaded it and take the server down, again at every restart while polling. Now it is
/// refused (Y0005) where it is loaded, by a run and by polling, which records why; the server
/// goes on, and an admin can disable or delete the pipeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_pipelines_fail_their_run_and_never_the_server() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", "trigger: [main]\nsteps:\n- script: echo fine\n")])?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let pipeline = json!({ "name": "deep", "repository": repository.display().to_string() });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status,
        StatusCode::CREATED
    );

    let bomb = format!("trigger: [main]\nsteps:\n{}x\n", "- ".repeat(3000));
    commit(&repository, &[("azure-pipelines.yml", &bomb)], "a bomb")?;
    let detail = send(&app, Method::POST, "/api/v1/pipelines/deep/runs", Some(&admin), Some(json!({})))
        .await?
        .expect_problem(422);
    assert!(detail.contains("Y0005") && detail.contains("deeper than 100 levels"), "{detail}");

    // Polling sees the push, records a failed run that says why, and notes it on the pipeline.
    let polled = slipway_triggering::poll::poll_all(server.state.triggering()).await;
    assert_eq!(polled.len(), 1);
    let shown = send(&app, Method::GET, "/api/v1/pipelines/deep", Some(&admin), None).await?;
    let error = shown.body["triggers"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("Y0005"), "{}", shown.body);
    assert!(shown.body["triggers"]["checkedAt"].is_i64());
    let runs = send(&app, Method::GET, "/api/v1/runs?pipeline=deep", Some(&admin), None).await?;
    assert_eq!(runs.body["runs"][0]["result"], "Failed", "{}", runs.body);

    // Templates that insert values into values past 200 levels are refused too (T0018).
    let mut files = vec![("azure-pipelines.yml".to_owned(), "steps:\n- template: one.yml\n".to_owned())];
    for (file, next) in [("one.yml", "two.yml"), ("two.yml", "three.yml"), ("three.yml", "four.yml")] {
        let mut text = format!(
            "parameters:\n- name: inner\n  type: object\n  default: 1\nsteps:\n- template: {next}\n  parameters:\n    inner:\n"
        );
        for level in 0..95 {
            text.push_str(&" ".repeat(6 + 2 * level));
            text.push_str(if level == 94 { "a: ${{ parameters.inner }}\n" } else { "a:\n" });
        }
        files.push((file.to_owned(), text));
    }
    files.push((
        "four.yml".to_owned(),
        "parameters:\n- name: inner\n  type: object\nsteps:\n- script: echo\n  env:\n    X: ${{ parameters.inner }}\n"
            .to_owned(),
    ));
    let files: Vec<(&str, &str)> = files.iter().map(|(path, text)| (path.as_str(), text.as_str())).collect();
    commit(&repository, &files, "inserted deep")?;
    let detail = send(&app, Method::POST, "/api/v1/pipelines/deep/runs", Some(&admin), Some(json!({})))
        .await?
        .expect_problem(422);
    assert!(detail.contains("T0018"), "{detail}");
    assert_eq!(send(&app, Method::GET, "/api/v1/health", None, None).await?.status, StatusCode::OK);
    server.stop().await;
    Ok(())
}

/// An admin disables a pipeline (no run from people or triggers, runs already queued go on),
/// enables it again, and deletes it once no run is unfinished; others may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_disable_enable_and_delete_pipelines() -> TestResult {
    let directory = tempfile::tempdir()?;
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", "trigger: [main]\nsteps:\n- script: echo one\n")])?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 0).await?;
    let app = server.app();
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    let pipeline = json!({ "name": "p", "repository": repository.display().to_string() });
    let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?;
    assert_eq!(created.body["queueStatus"], "enabled");

    let disable = json!({ "queueStatus": "disabled" });
    send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&contributor), Some(disable.clone()))
        .await?
        .expect_problem(403);
    let disabled = send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(disable)).await?;
    assert_eq!((disabled.status, disabled.body["queueStatus"].clone()), (StatusCode::OK, json!("disabled")));
    let detail = send(&app, Method::POST, "/api/v1/pipelines/p/runs", Some(&contributor), Some(json!({})))
        .await?
        .expect_problem(409);
    assert!(detail.contains("is disabled"), "{detail}");
    // Its triggers are not polled: a push starts nothing and is not even looked at.
    commit(&repository, &[("azure-pipelines.yml", "trigger: [main]\nsteps:\n- script: echo two\n")], "second")?;
    assert!(slipway_triggering::poll::poll_all(server.state.triggering()).await.is_empty());
    let bad = json!({ "queueStatus": "paused" });
    send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(bad)).await?.expect_problem(422);

    let enabled =
        send(&app, Method::PATCH, "/api/v1/pipelines/p", Some(&admin), Some(json!({ "queueStatus": "enabled" })))
            .await?;
    assert_eq!(enabled.body["queueStatus"], "enabled");
    let polled = slipway_triggering::poll::poll_all(server.state.triggering()).await;
    assert_eq!(polled.len(), 1, "polled again once enabled");
    let queued = send(&app, Method::POST, "/api/v1/pipelines/p/runs", Some(&contributor), Some(json!({}))).await?;
    assert_eq!(queued.status, StatusCode::CREATED, "{}", queued.body);

    // No agent runs jobs here, so the runs stay queued: deleting is refused until they end.
    send(&app, Method::DELETE, "/api/v1/pipelines/p", Some(&contributor), None).await?.expect_problem(403);
    let detail = send(&app, Method::DELETE, "/api/v1/pipelines/p", Some(&admin), None).await?.expect_problem(409);
    assert!(detail.contains("unfinished runs"), "{detail}");
    let runs = send(&app, Method::GET, "/api/v1/runs?pipeline=p", Some(&admin), None).await?;
    for run in runs.body["runs"].as_array().ok_or("no runs")? {
        let id = run["id"].as_i64().ok_or("no id")?;
        send(&app, Method::POST, &format!("/api/v1/runs/{id}/cancel"), Some(&admin), None).await?;
        crate::support::wait_for_run(&app, &admin, id).await?;
    }
    let deleted = send(&app, Method::DELETE, "/api/v1/pipelines/p", Some(&admin), None).await?;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    send(&app, Method::GET, "/api/v1/pipelines/p", Some(&admin), None).await?.expect_problem(404);
    let left = send(&app, Method::GET, "/api/v1/runs", Some(&admin), None).await?;
    assert_eq!(left.body["runs"], json!([]));
    assert!(!data.join("triggers").join("1.git").exists(), "the trigger mirror is gone");
    let audit = server.state.store().list_audit(None, 50).await?;
    for action in ["pipeline.disable", "pipeline.enable", "pipeline.delete"] {
        assert!(audit.iter().any(|entry| entry.action == action && entry.actor == "admin"), "{action}: {audit:?}");
    }
    server.stop().await;
    Ok(())
}

/// A step (and a built-in task) on an in-process agent tries to read the server's admin token,
/// secret key, database and another run's files, and to write into the data directory.
const PRYING_PIPELINE: &str = r#"trigger: none
steps:
- checkout: none
- script: |
    for f in "$DATA/admin-token" "$DATA/secret.key" "$DATA/slipway.db" "$DATA/runs/999/other-run.txt"; do
      if cat "$f" > /dev/null 2> err.txt; then echo "READ $f"; else echo "refused: $(cat err.txt)"; fi
    done
    if (echo x > "$DATA/planted") 2> err.txt; then echo "WROTE planted"; else echo "refused write: $(cat err.txt)"; fi
    echo "mine" > own.txt && echo "own file: $(cat own.txt)"
    temporary=$(mktemp) && echo "temporary file in $(dirname "$temporary")"
  env:
    DATA: $(dataDir)
- task: CopyFiles@2
  continueOnError: true
  inputs:
    SourceFolder: $(dataDir)
    Contents: admin-token
    TargetFolder: $(Build.ArtifactStagingDirectory)/loot
- script: |
    echo "loot: [$(ls "$(Build.ArtifactStagingDirectory)/loot" 2>/dev/null)]"
"#;

/// Starts a server over `data` whose in-process agents run jobs as `local_jobs` says, runs
/// [`PRYING_PIPELINE`] on it, and gives the run's log.
async fn pry(directory: &std::path::Path, local_jobs: slipway_server::LocalJobs) -> TestResult<String> {
    let data = directory.join(format!("data-{local_jobs:?}"));
    let repository = directory.join(format!("repository-{local_jobs:?}"));
    make_repository(&repository, &[("azure-pipelines.yml", PRYING_PIPELINE)])?;
    std::fs::create_dir_all(data.join("runs/999"))?;
    std::fs::write(data.join("runs/999/other-run.txt"), "another run's secret\n")?;
    let opened = slipway_server::open(&data, None).await?;
    let mut config = slipway_server::EngineConfig::new(data.clone());
    config.workers = 1;
    config.poll_interval = std::time::Duration::from_millis(100);
    config.local_jobs = local_jobs;
    let engine = opened.state.start_engine(config).await?;
    let app = slipway_server::router(opened.state.clone());
    let admin = opened.admin_token.clone().ok_or("no admin token")?;
    let pipeline = json!({ "name": "pry", "repository": repository.display().to_string() });
    assert_eq!(
        send(&app, Method::POST, "/api/v1/pipelines", Some(&admin), Some(pipeline)).await?.status,
        StatusCode::CREATED
    );
    let variable = json!({ "value": data.display().to_string(), "secret": false });
    send(&app, Method::PUT, "/api/v1/pipelines/pry/variables/dataDir", Some(&admin), Some(variable)).await?;
    let started = send(&app, Method::POST, "/api/v1/pipelines/pry/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or_else(|| format!("no run: {}", started.body))?;
    crate::support::wait_for_run(&app, &admin, id).await?;
    let logs = send(&app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(&admin), None).await?;
    let log: String =
        logs.body["jobs"].as_array().ok_or("no logs")?.iter().filter_map(|job| job["log"].as_str()).collect();
    assert!(!data.join("planted").exists() || local_jobs == slipway_server::LocalJobs::Unconfined);
    engine.shutdown().await;
    opened.state.store().close().await;
    Ok(log)
}

/// Jobs of in-process agents cannot read or write the server's data directory (issue 10): each
/// attempt gets "Permission denied", a built-in task too, while the job's own files and
/// temporary files work. Unconfined (`--unconfined-local-agents`), the same job reads them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_jobs_cannot_touch_the_data_directory() -> TestResult {
    if !crate::support::landlock_available("in_process_jobs_cannot_touch_the_data_directory") {
        return Ok(());
    }
    let directory = tempfile::tempdir()?;
    let log = pry(directory.path(), slipway_server::LocalJobs::Confined).await?;
    assert_eq!(log.matches("refused: cat:").count(), 4, "{log}");
    assert!(log.contains("refused write:") && log.contains("planted: Permission denied"), "{log}");
    assert_eq!(log.matches("Permission denied").count(), 6, "four reads, the write and the copy: {log}");
    assert!(log.contains("##[error]Failed cp:") && log.contains("loot: []"), "the built-in task copied: {log}");
    assert!(!log.contains("READ ") && !log.contains("WROTE"), "{log}");
    assert!(log.contains("own file: mine"), "{log}");
    assert!(log.contains("temporary file in ") && log.contains("/runs/1/tmp"), "{log}");

    let unconfined = pry(directory.path(), slipway_server::LocalJobs::Unconfined).await?;
    assert_eq!(unconfined.matches("READ ").count(), 4, "{unconfined}");
    assert!(unconfined.contains("WROTE planted") && unconfined.contains("loot: [admin-token]"), "{unconfined}");
    Ok(())
}
