//! The server's offline OSV database: imports (admins only; a file that is not an OSV export or a
//! malformed record refused with its name and place, the database unchanged), what `GET /osv`
//! shows, a re-import that replaces the database in one step, and `SlipwayVulnScan` finding a
//! known-vulnerable package with the server's database on an in-process agent (reading it in
//! place) and on a remote agent (the real agent code over real HTTP, syncing its copy into
//! `_tool/osv` only when the version changed).

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Answer, TestResult, TestServer, create_user, make_repository, on_both_databases, send, send_raw, wait_for_run,
};

/// An advisory in OSV's schema against `itoa` before 1.0.12.
const ITOA: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2099-0001", "modified": "2026-01-01T00:00:00Z",
 "published": "2026-01-01T00:00:00Z", "aliases": ["CVE-2099-0001"], "summary": "itoa writes past its buffer",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.12"}]}]}]}"#;

/// An advisory of another ecosystem.
const FLASK: &str = r#"{"id": "PYSEC-2099-7", "modified": "2026-01-03T00:00:00Z", "summary": "Flask leaks a session",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.0.4"}]}]}]}"#;

/// An advisory against a package the lockfile does not hold.
const SERDE: &str = r#"{"id": "RUSTSEC-2099-0002", "modified": "2026-02-01T00:00:00Z", "summary": "serde is slow",
 "affected": [{"package": {"ecosystem": "crates.io", "name": "serde"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]}"#;

const CARGO_LOCK: &str = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
[[package]]\nname = \"itoa\"\nversion = \"1.0.10\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// A pipeline that scans its checkout's lockfiles on agents of `pool`, with no `database` input:
/// the agent's copy of the server's database is used.
fn scan_pipeline(pool: &str) -> String {
    format!(
        "trigger: none\npool: {pool}\njobs:\n- job: scan\n  steps:\n  - task: SlipwayVulnScan@1\n    inputs:\n      failOnSeverity: none\n"
    )
}

fn zip_of(entries: &[(&str, &str)]) -> TestResult<Vec<u8>> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        for (name, text) in entries {
            writer.start_file(*name, zip::write::SimpleFileOptions::default())?;
            writer.write_all(text.as_bytes())?;
        }
        writer.finish()?;
    }
    Ok(buffer.into_inner())
}

async fn import(app: &axum::Router, token: &str, query: &str, body: Vec<u8>) -> TestResult<Answer> {
    send_raw(app, Method::POST, &format!("/api/v1/osv/imports{query}"), Some(token), Some("application/zip"), body)
        .await
}

async fn status(app: &axum::Router, token: &str) -> TestResult<Value> {
    let answer = send(app, Method::GET, "/api/v1/osv", Some(token), None).await?;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    Ok(answer.body)
}

/// Starts a run of `pipeline`, waits for it, and gives its vulnerability findings' ids.
async fn scan(app: &axum::Router, admin: &str, pipeline: &str) -> TestResult<(Value, Vec<String>)> {
    let started =
        send(app, Method::POST, &format!("/api/v1/pipelines/{pipeline}/runs"), Some(admin), Some(json!({}))).await?;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_i64().ok_or("no run id")?;
    let run = wait_for_run(app, admin, id).await?;
    let security = send(app, Method::GET, &format!("/api/v1/runs/{id}/security"), Some(admin), None).await?;
    assert_eq!(security.status, StatusCode::OK, "{}", security.body);
    let ids = security.body["reports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|report| {
            report["category"] == "vulnerabilities"
                && report["path"].as_str().is_some_and(|path| path.ends_with(".sarif"))
        })
        .flat_map(|report| report["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|finding| finding["rule"].as_str().map(str::to_owned))
        .collect();
    Ok((run, ids))
}

async fn log_of(app: &axum::Router, token: &str, run: &Value) -> TestResult<String> {
    let id = run["id"].as_i64().ok_or("no run id")?;
    let logs = send(app, Method::GET, &format!("/api/v1/runs/{id}/logs"), Some(token), None).await?;
    Ok(logs.body.to_string())
}

fn marker_digest(work_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(work_dir.join("_tool/osv").join(slipway_agent::osv::MARKER)).ok()?;
    serde_json::from_str::<Value>(&text).ok()?["digest"].as_str().map(str::to_owned)
}

on_both_databases! {
    /// Imports refused and accepted, the database shown, scans on both kinds of agent, and a
    /// re-import that replaces the database while the agents follow.
    async fn the_servers_osv_database_is_imported_and_reaches_every_agent(database) {
        let directory = tempfile::tempdir()?;
        let data_dir = directory.path().join("data");
        let server = TestServer::start_on(&data_dir, database.as_deref(), 1).await?;
        let admin = server.admin_token.clone().ok_or("no admin token")?;
        let app = server.app();

        // Nothing yet.
        let empty = status(&app, &admin).await?;
        assert_eq!(empty["present"], false, "{empty}");

        // Only admins import; readers may look.
        let reader = create_user(&app, &admin, "reader", "reader").await?;
        let contributor = create_user(&app, &admin, "dev", "contributor").await?;
        let good = zip_of(&[("RUSTSEC-2099-0001.json", ITOA), ("PYSEC-2099-7.json", FLASK)])?;
        let refused = import(&app, &contributor, "", good.clone()).await?;
        assert!(refused.expect_problem(403).contains("admin"), "{}", refused.body);
        assert_eq!(status(&app, &reader).await?["present"], false);

        // Not a zip, a zip of no records, a malformed record: 400 naming what was wrong; nothing
        // changes.
        let not_zip = import(&app, &admin, "?name=notes.txt", b"these are my notes".to_vec()).await?;
        let detail = not_zip.expect_problem(400);
        assert!(detail.starts_with("notes.txt: not an OSV export") && detail.contains("all.zip"), "{detail}");
        let no_records = import(&app, &admin, "?name=empty.zip", zip_of(&[("README.md", "hello")])?).await?;
        let detail = no_records.expect_problem(400);
        assert!(detail.contains("empty.zip") && detail.contains("no OSV records"), "{detail}");
        let broken = import(&app, &admin, "?name=PyPI.zip", zip_of(&[("BAD-1.json", "{\"id\": \"BAD-1\",\n \"modified\": 7}")])?).await?;
        let detail = broken.expect_problem(400);
        assert!(detail.starts_with("PyPI.zip: entry BAD-1.json:2:"), "{detail}");
        let bad_name = import(&app, &admin, "?name=../x.zip", good.clone()).await?;
        assert!(bad_name.expect_problem(400).contains("plain name"));
        assert_eq!(status(&app, &admin).await?["present"], false);
        assert!(!data_dir.join("osv").exists());

        // A good export.
        let imported = import(&app, &admin, "?name=export.zip", good).await?;
        assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
        assert_eq!(imported.body["read"], 2, "{}", imported.body);
        let first = status(&app, &reader).await?;
        let first_digest = first["digest"].as_str().unwrap_or_default().to_owned();
        assert_eq!(first_digest.len(), 64, "{first}");
        assert_eq!(first["records"], 2, "{first}");
        assert_eq!(first["importedBy"], "admin", "{first}");
        assert_eq!(first["sources"], json!(["export.zip"]), "{first}");
        let ecosystems: Vec<&str> =
            first["ecosystems"].as_array().into_iter().flatten().filter_map(|entry| entry["name"].as_str()).collect();
        assert_eq!(ecosystems, ["PyPI", "crates.io"], "{first}");
        assert!(std::fs::symlink_metadata(data_dir.join("osv"))?.file_type().is_symlink());
        let audit = server.state.store().list_audit(None, 50).await?;
        let imports: Vec<_> = audit.iter().filter(|entry| entry.action == "osv.import").collect();
        assert_eq!(imports.len(), 1, "{audit:?}");
        assert_eq!(imports[0].details["digest"], first_digest.as_str(), "{audit:?}");

        // A failed import after it leaves it as it was.
        let broken = import(&app, &admin, "?name=PyPI.zip", b"PK\x03\x04 not really".to_vec()).await?;
        assert!(broken.expect_problem(400).contains("PyPI.zip"));
        assert_eq!(status(&app, &admin).await?["digest"], first_digest.as_str());

        // A scan on the in-process agent reads the server's copy in place.
        let repository = directory.path().join("repository");
        make_repository(&repository, &[("azure-pipelines.yml", &scan_pipeline("default")), ("Cargo.lock", CARGO_LOCK)])?;
        let remote_repository = directory.path().join("remote-repository");
        make_repository(&remote_repository, &[("azure-pipelines.yml", &scan_pipeline("scanners")), ("Cargo.lock", CARGO_LOCK)])?;
        for (name, path) in [("local-scan", &repository), ("remote-scan", &remote_repository)] {
            let created = send(&app, Method::POST, "/api/v1/pipelines", Some(&admin),
                Some(json!({ "name": name, "repository": path.display().to_string() }))).await?;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        }
        let (run, found) = scan(&app, &admin, "local-scan").await?;
        assert_eq!(run["result"], "SucceededWithIssues", "{run}\n{}", log_of(&app, &admin, &run).await?);
        assert_eq!(found, ["RUSTSEC-2099-0001"], "{run}");

        // A remote agent (the agent's own code, over HTTP) syncs its copy and finds the same.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let serving = tokio::spawn(axum::serve(listener, slipway_server::router(server.state.clone())).into_future());
        let registration = send(&app, Method::POST, "/api/v1/registration-tokens", Some(&admin), Some(json!({}))).await?;
        let token = registration.body["token"].as_str().ok_or("no registration token")?.to_owned();
        let work_dir = directory.path().join("agent");
        let options = slipway_agent::AgentOptions {
            server: Some(url),
            token: Some(token),
            name: Some("scanner".into()),
            pool: Some("scanners".into()),
            work_dir: work_dir.clone(),
            capabilities: None,
            minute: Duration::from_secs(60),
        };
        let control = Arc::new(slipway_agent::Control::new());
        let agent = {
            let control = Arc::clone(&control);
            std::thread::spawn(move || slipway_agent::agent::run(&options, &control, &mut |_| {}).map_err(|error| error.to_string()))
        };
        let (run, found) = scan(&app, &admin, "remote-scan").await?;
        let log = log_of(&app, &admin, &run).await?;
        assert_eq!(run["result"], "SucceededWithIssues", "{run}\n{log}");
        let holders: Vec<&str> =
            run["jobs"].as_array().into_iter().flatten().filter_map(|job| job["leaseHolder"].as_str()).collect();
        assert_eq!(holders, ["agent:scanner"], "{run}");
        assert_eq!(found, ["RUSTSEC-2099-0001"], "{run}\n{log}");
        assert_eq!(marker_digest(&work_dir).as_deref(), Some(first_digest.as_str()));

        // The same version again: not downloaded again.
        let marker = work_dir.join("_tool/osv").join(slipway_agent::osv::MARKER);
        let before = std::fs::metadata(&marker)?.modified()?;
        let (_, found) = scan(&app, &admin, "remote-scan").await?;
        assert_eq!(found, ["RUSTSEC-2099-0001"]);
        assert_eq!(std::fs::metadata(&marker)?.modified()?, before);

        // A re-import that replaces the database: a new version, the old records gone, the
        // version before kept for jobs still reading it; both agents follow.
        let replaced = import(&app, &admin, "?name=serde.zip&replace=true", zip_of(&[("RUSTSEC-2099-0002.json", SERDE)])?).await?;
        assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.body);
        assert_eq!(replaced.body["replaced"], true);
        let second = status(&app, &admin).await?;
        let second_digest = second["digest"].as_str().unwrap_or_default().to_owned();
        assert_ne!(second_digest, first_digest);
        assert_eq!(second["records"], 1, "{second}");
        assert!(data_dir.join("osv-versions").join(&first_digest).is_dir());
        let (_, found) = scan(&app, &admin, "remote-scan").await?;
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(marker_digest(&work_dir).as_deref(), Some(second_digest.as_str()));
        let (_, found) = scan(&app, &admin, "local-scan").await?;
        assert!(found.is_empty(), "{found:?}");

        // An addition keeps what is there; the version before the previous is removed.
        let added = import(&app, &admin, "?name=itoa.json", ITOA.as_bytes().to_vec()).await?;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        assert_eq!(status(&app, &admin).await?["records"], 2);
        assert!(!data_dir.join("osv-versions").join(&first_digest).exists());
        let (_, found) = scan(&app, &admin, "remote-scan").await?;
        assert_eq!(found, ["RUSTSEC-2099-0001"]);

        control.drain();
        let stopped = tokio::task::spawn_blocking(move || agent.join()).await?;
        assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
        serving.abort();
        server.stop().await;
        Ok(())
    }
}

/// An upload that says it is larger than the limit is refused with 413 before it is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_larger_than_the_limit_are_refused_at_once() -> TestResult {
    let directory = tempfile::tempdir()?;
    let server = TestServer::start(&directory.path().join("data"), 0).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/osv/imports")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-length", (slipway_api::MAX_OSV_IMPORT_BYTES + 1).to_string())
        .body(axum::body::Body::from("PK"))?;
    let response = tower::ServiceExt::oneshot(server.app(), request).await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
    let problem: Value = serde_json::from_slice(&bytes)?;
    assert!(problem["detail"].as_str().is_some_and(|detail| detail.contains("at most")), "{problem}");
    server.stop().await;
    Ok(())
}

/// The in-process agents read the server's OSV database in place, read-only (issue 13): a
/// confined job's step can read it, but cannot add, change or remove a file in it, nor in the
/// version it links to; the database is unchanged after the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_jobs_read_the_osv_database_and_cannot_change_it() -> TestResult {
    if !crate::support::landlock_available("in_process_jobs_read_the_osv_database_and_cannot_change_it") {
        return Ok(());
    }
    let directory = tempfile::tempdir()?;
    let data_dir = directory.path().join("data");
    let server = TestServer::start(&data_dir, 1).await?;
    let admin = server.admin_token.clone().ok_or("no admin token")?;
    let app = server.app();
    let imported = import(&app, &admin, "?name=export.zip", zip_of(&[("RUSTSEC-2099-0001.json", ITOA)])?).await?;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let manifest = std::fs::read(data_dir.join("osv/slipway-osv.json"))?;
    let version = std::fs::canonicalize(data_dir.join("osv"))?;

    let pipeline = format!(
        "trigger: none\njobs:\n- job: pry\n  steps:\n  - script: |\n      \
         echo \"database: $SLIPWAY_OSV_DB\"\n      \
         cat \"$SLIPWAY_OSV_DB/slipway-osv.json\" >/dev/null && echo 'READ the manifest'\n      \
         for target in \"$SLIPWAY_OSV_DB/planted\" \"{version}/planted\"; do\n        \
           if echo x > \"$target\" 2>errors; then echo \"WROTE $target\"; else echo \"refused write: $(cat errors)\"; fi\n      \
         done\n      \
         if echo '{{}}' > \"$SLIPWAY_OSV_DB/slipway-osv.json\" 2>errors; then echo 'CHANGED'; else echo \"refused change: $(cat errors)\"; fi\n      \
         if rm -f \"$SLIPWAY_OSV_DB/slipway-osv.json\" 2>errors; then echo 'REMOVED'; else echo \"refused removal: $(cat errors)\"; fi\n",
        version = version.display()
    );
    let repository = directory.path().join("repository");
    make_repository(&repository, &[("azure-pipelines.yml", &pipeline)])?;
    let created = send(
        &app,
        Method::POST,
        "/api/v1/pipelines",
        Some(&admin),
        Some(json!({ "name": "pry", "repository": repository.display().to_string() })),
    )
    .await?;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let started = send(&app, Method::POST, "/api/v1/pipelines/pry/runs", Some(&admin), Some(json!({}))).await?;
    let id = started.body["id"].as_i64().ok_or_else(|| format!("no run: {}", started.body))?;
    let run = wait_for_run(&app, &admin, id).await?;
    let log = log_of(&app, &admin, &run).await?;
    assert!(log.contains("READ the manifest"), "the step could not read the database: {log}");
    assert_eq!(log.matches("refused write:").count(), 2, "{log}");
    assert!(log.contains("refused change:") && log.contains("refused removal:"), "{log}");
    assert_eq!(log.matches("Permission denied").count(), 4, "two writes, the change and the removal: {log}");
    assert!(!log.contains("WROTE") && !log.contains("CHANGED") && !log.contains("REMOVED"), "{log}");
    assert_eq!(std::fs::read(data_dir.join("osv/slipway-osv.json"))?, manifest, "the database changed");
    assert!(!version.join("planted").exists());
    server.stop().await;
    Ok(())
}
