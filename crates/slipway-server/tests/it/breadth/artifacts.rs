//! Artifacts and test results: published by one job, downloaded by the next, kept as blobs,
//! listed and downloaded through the API; uploads with hostile paths are refused.

use std::io::Read as _;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::json;
use tower::ServiceExt as _;

use super::{logs_by_job, pipeline_with_files, start_run};
use crate::support::{TestResult, TestServer, create_user, send, send_raw, wait_for_run};

const JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="calculator" tests="3" failures="1" time="0.5">
    <testcase classname="calculator" name="adds" time="0.1"/>
    <testcase classname="calculator" name="subtracts" time="0.1"/>
    <testcase classname="calculator" name="divides" time="0.2"><failure message="boom">boom</failure></testcase>
  </testsuite>
</testsuites>
"#;

const COBERTURA: &str = r#"<?xml version="1.0" ?>
<coverage line-rate="0.75" branch-rate="0.5" lines-covered="3" lines-valid="4" branches-covered="1" branches-valid="2" version="1" timestamp="0">
  <packages><package name="calculator" line-rate="0.75" branch-rate="0.5"><classes>
    <class name="calc" filename="calc.js" line-rate="0.75" branch-rate="0.5"><lines>
      <line number="1" hits="1"/><line number="2" hits="1"/><line number="3" hits="0"/>
      <line number="4" hits="2" branch="true" condition-coverage="50% (1/2)"/>
    </lines></class>
  </classes></package></packages>
</coverage>
"#;

/// One job publishes an artifact, test results and coverage; the next downloads the artifact
/// both ways (the `download` shortcut and the task).
const PUBLISH_THEN_DOWNLOAD: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: self
  - script: |
      mkdir -p out/sub
      echo \"built in run $(Build.BuildId)\" > out/sub/result.txt
      printf '#!/bin/sh\\necho hi\\n' > out/run.sh
      chmod +x out/run.sh
    displayName: Build
  - publish: out
    artifact: drop
  - task: PublishTestResults@2
    inputs:
      testResultsFormat: JUnit
      testResultsFiles: '**/TEST-*.xml'
  - task: PublishCodeCoverageResults@1
    inputs:
      codeCoverageTool: Cobertura
      summaryFileLocation: $(System.DefaultWorkingDirectory)/coverage.xml
- job: use
  dependsOn: build
  steps:
  - checkout: none
  - download: current
    artifact: drop
  - task: DownloadPipelineArtifact@2
    inputs:
      artifact: drop
      path: $(Pipeline.Workspace)/again
  - script: |
      echo \"shortcut: $(cat $(Pipeline.Workspace)/drop/sub/result.txt)\"
      echo \"task: $(cat $(Pipeline.Workspace)/again/sub/result.txt)\"
      test -x $(Pipeline.Workspace)/again/run.sh && echo executable
";

/// Reads a tar answer into (path, content, mode) entries.
fn untar(bytes: &[u8]) -> TestResult<Vec<(String, String, u32)>> {
    let mut archive = tar::Archive::new(bytes);
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.display().to_string();
        let mode = entry.header().mode()?;
        let mut content = String::new();
        entry.read_to_string(&mut content)?;
        entries.push((path, content, mode));
    }
    Ok(entries)
}

async fn get_bytes(app: &axum::Router, uri: &str, token: &str) -> TestResult<(StatusCode, String, Vec<u8>)> {
    let request = Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    Ok((status, content_type, response.into_body().collect().await?.to_bytes().to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_job_downloads_what_an_earlier_one_published_and_the_api_serves_it() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    let server = TestServer::start(&data, 2).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let files = [("azure-pipelines.yml", PUBLISH_THEN_DOWNLOAD), ("TEST-unit.xml", JUNIT), ("coverage.xml", COBERTURA)];
    pipeline_with_files(&app, &admin, directory.path(), "drop", &files).await?;
    let id = start_run(&app, &admin, "drop", json!({})).await?;
    let run = wait_for_run(&app, &reader, id).await?;
    let logs = logs_by_job(&app, &reader, id).await?;
    assert_eq!(run["result"], "Succeeded", "{run}\n{logs:?}");
    let used = &logs.iter().find(|(key, _)| key.ends_with(".use")).ok_or("no use job")?.1;
    for expected in [format!("shortcut: built in run {id}"), format!("task: built in run {id}"), "executable".into()] {
        assert!(used.contains(&expected), "'{expected}' is not in:\n{used}");
    }

    let listed = send(&app, Method::GET, &format!("/api/v1/runs/{id}/artifacts"), Some(&reader), None).await?;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let artifacts = listed.body.as_array().ok_or("not a list")?;
    assert_eq!(artifacts.len(), 1, "{}", listed.body);
    assert_eq!(artifacts[0]["name"], "drop");
    assert_eq!(artifacts[0]["files"], 2);
    assert!(artifacts[0]["job"].as_str().is_some_and(|job| job.ends_with(".build")), "{}", listed.body);
    assert_eq!(artifacts[0]["downloadUrl"], format!("/api/v1/runs/{id}/artifacts/drop"));
    let digest = artifacts[0]["digest"].as_str().ok_or("no digest")?;
    assert!(digest.starts_with("sha256:"));

    let (status, content_type, bytes) = get_bytes(&app, &format!("/api/v1/runs/{id}/artifacts/drop"), &reader).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-tar");
    let entries = untar(&bytes)?;
    assert_eq!(
        entries,
        [
            ("run.sh".to_owned(), "#!/bin/sh\necho hi\n".to_owned(), 0o755),
            ("sub/result.txt".to_owned(), format!("built in run {id}\n"), 0o644),
        ]
    );
    // The files are blobs in the data directory, named by their digest.
    let blobs = slipway_engine::blobs::BlobStore::new(&data);
    assert_eq!(blobs.list().len(), 2);
    for blob in blobs.list() {
        let path = blobs.path(&blob).ok_or("no path")?;
        let hex = blob.trim_start_matches("sha256:");
        assert!(path.ends_with(format!("blobs/sha256/{}/{hex}", &hex[..2])), "{}", path.display());
    }
    send(&app, Method::GET, &format!("/api/v1/runs/{id}/artifacts/nope"), Some(&reader), None)
        .await?
        .expect_problem(404);
    send(&app, Method::GET, "/api/v1/runs/999/artifacts/drop", Some(&reader), None).await?.expect_problem(404);
    send(&app, Method::GET, "/api/v1/runs/999/artifacts", Some(&reader), None).await?.expect_problem(404);
    send(&app, Method::GET, &format!("/api/v1/runs/{id}/artifacts/.hidden"), Some(&reader), None)
        .await?
        .expect_problem(400);

    let tests = send(&app, Method::GET, &format!("/api/v1/runs/{id}/tests"), Some(&reader), None).await?;
    assert_eq!(tests.status, StatusCode::OK, "{}", tests.body);
    assert_eq!(tests.body["totals"], json!({ "total": 3, "passed": 2, "failed": 1, "skipped": 0 }));
    assert_eq!(tests.body["runs"][0]["results"]["tests"].as_array().map(Vec::len), Some(3));
    assert_eq!(tests.body["coverage"][0]["coverage"]["lines"], json!({ "covered": 3, "total": 4 }));
    send(&app, Method::GET, "/api/v1/runs/999/tests", Some(&reader), None).await?.expect_problem(404);
    send(&app, Method::GET, &format!("/api/v1/runs/{id}/tests"), None, None).await?.expect_problem(401);
    server.stop().await;
    Ok(())
}

/// A tar entry written as given, with no checks (the `tar` crate refuses to build hostile ones).
fn raw_entry(path: &str, kind: tar::EntryType, link: Option<&str>, data: &[u8]) -> TestResult<Vec<u8>> {
    let mut header = tar::Header::new_old();
    let name = &mut header.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    if let Some(link) = link {
        let target = &mut header.as_old_mut().linkname;
        target[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    header.set_cksum();
    let mut entry = header.as_bytes().to_vec();
    entry.extend_from_slice(data);
    entry.resize(entry.len().div_ceil(512) * 512, 0);
    Ok(entry)
}

fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes: Vec<u8> = entries.concat();
    bytes.extend_from_slice(&[0; 1024]);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_and_refuse_hostile_paths() -> TestResult {
    let directory = tempfile::tempdir()?;
    let data = directory.path().join("data");
    // No worker slots: the run stays queued, so artifacts can be published to it.
    let server = TestServer::start(&data, 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let reader = create_user(&app, &admin, "rita", "reader").await?;
    let contributor = create_user(&app, &admin, "carl", "contributor").await?;
    pipeline_with_files(&app, &admin, directory.path(), "up", &[("azure-pipelines.yml", crate::support::TWO_JOBS)])
        .await?;
    let id = start_run(&app, &admin, "up", json!({})).await?;
    let job_key = loop {
        let run = send(&app, Method::GET, &format!("/api/v1/runs/{id}"), Some(&admin), None).await?;
        if let Some(key) = run.body["jobs"][0]["key"].as_str() {
            break key.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    let good = {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o755);
        builder.append_data(&mut header, "bin/tool", &b"tool\n"[..])?;
        let mut header = tar::Header::new_gnu();
        header.set_size(6);
        header.set_mode(0o644);
        builder.append_data(&mut header, "./notes.txt", &b"notes\n"[..])?;
        builder.into_inner()?
    };
    let tar_type = Some("application/x-tar");
    let uri = format!("/api/v1/runs/{id}/artifacts/bundle");
    send_raw(&app, Method::PUT, &uri, Some(&reader), tar_type, good.clone()).await?.expect_problem(403);
    send_raw(&app, Method::PUT, &uri, None, tar_type, good.clone()).await?.expect_problem(401);
    let uploaded =
        send_raw(&app, Method::PUT, &format!("{uri}?job={job_key}"), Some(&contributor), tar_type, good.clone())
            .await?;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    assert_eq!(uploaded.body["files"], 2);
    assert_eq!(uploaded.body["job"], job_key.as_str());
    let (_, _, bytes) = get_bytes(&app, &uri, &reader).await?;
    let entries = untar(&bytes)?;
    assert_eq!(
        entries,
        [("bin/tool".to_owned(), "tool\n".to_owned(), 0o755), ("notes.txt".to_owned(), "notes\n".to_owned(), 0o644)]
    );

    // Hostile archives: nothing is written outside, nothing is recorded.
    let regular = tar::EntryType::Regular;
    let hostile = [
        archive(&[raw_entry("../escaped.txt", regular, None, b"x")?]),
        archive(&[raw_entry("a/../../escaped.txt", regular, None, b"x")?]),
        archive(&[raw_entry("/tmp/escaped.txt", regular, None, b"x")?]),
        archive(&[raw_entry("link", tar::EntryType::Symlink, Some("/etc/passwd"), b"")?]),
        archive(&[raw_entry("link", tar::EntryType::Symlink, Some("../../.."), b"")?]),
        archive(&[raw_entry("hard", tar::EntryType::Link, Some("/etc/passwd"), b"")?]),
        archive(&[raw_entry("device", tar::EntryType::Char, None, b"")?]),
        b"this is not a tar archive at all, not even close to one; it is just text".repeat(10),
        archive(&[raw_entry("clash", regular, None, b"x")?, raw_entry("clash/inside", regular, None, b"y")?]),
    ];
    for (index, body) in hostile.into_iter().enumerate() {
        let uri = format!("/api/v1/runs/{id}/artifacts/hostile{index}");
        let detail = send_raw(&app, Method::PUT, &uri, Some(&contributor), tar_type, body).await?.expect_problem(400);
        assert!(!detail.is_empty());
    }
    for place in [directory.path().to_path_buf(), data.clone(), data.join("uploads"), std::env::temp_dir()] {
        assert!(!place.join("escaped.txt").exists(), "{}", place.display());
    }
    let listed = send(&app, Method::GET, &format!("/api/v1/runs/{id}/artifacts"), Some(&reader), None).await?;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1), "{}", listed.body);
    // Nothing is left of the uploads.
    assert_eq!(std::fs::read_dir(data.join("uploads"))?.count(), 0);

    // Bad names and targets.
    send_raw(
        &app,
        Method::PUT,
        &format!("/api/v1/runs/{id}/artifacts/.hidden"),
        Some(&contributor),
        tar_type,
        good.clone(),
    )
    .await?
    .expect_problem(400);
    send_raw(&app, Method::PUT, "/api/v1/runs/999/artifacts/x", Some(&contributor), tar_type, good.clone())
        .await?
        .expect_problem(404);
    send_raw(&app, Method::PUT, &format!("{uri}?job=no.such"), Some(&contributor), tar_type, good.clone())
        .await?
        .expect_problem(404);
    send_raw(&app, Method::PUT, &format!("{uri}?colour=red"), Some(&contributor), tar_type, good.clone())
        .await?
        .expect_problem(400);
    // A completed run takes no more artifacts.
    let cancelled = send(&app, Method::POST, &format!("/api/v1/runs/{id}/cancel"), Some(&contributor), None).await?;
    assert_eq!(cancelled.status, StatusCode::ACCEPTED);
    wait_for_run(&app, &admin, id).await?;
    send_raw(&app, Method::PUT, &uri, Some(&contributor), tar_type, good).await?.expect_problem(409);
    server.stop().await;
    Ok(())
}
