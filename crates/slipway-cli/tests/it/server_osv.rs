//! The server's OSV database from the command line, on a real `slipway serve` and a real
//! `slipway agent` process: `slipway osv status --server` and `slipway osv import --server` as a
//! transcript (an empty database, a file that is not an export refused, a reader refused, two
//! exports uploaded together, a replacing import), and a pipeline whose `SlipwayVulnScan` runs on
//! the agent with no `database` input finding the known-vulnerable package the server's
//! database names.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Server, make_repository, output};

const ITOA: &str = r#"{"schema_version": "1.6.0", "id": "RUSTSEC-2099-0001", "modified": "2026-01-01T00:00:00Z",
 "published": "2026-01-01T00:00:00Z", "aliases": ["CVE-2099-0001"], "summary": "itoa writes past its buffer",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa"},
   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.12"}]}]}]}"#;

const FLASK: &str = r#"{"id": "PYSEC-2099-7", "modified": "2026-01-03T00:00:00Z", "summary": "Flask leaks a session",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.0.4"}]}]}]}"#;

const CARGO_LOCK: &str = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
[[package]]\nname = \"itoa\"\nversion = \"1.0.10\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

/// Scans the checkout on the agents of pool `scanners`, with the agent's copy of the server's
/// database.
const PIPELINE: &str = "\
trigger: none
pool: scanners
jobs:
- job: scan
  steps:
  - task: SlipwayVulnScan@1
    inputs:
      failOnSeverity: high
";

fn zip_of(path: &Path, entries: &[(&str, &str)]) {
    let file = std::fs::File::create(path).unwrap_or_else(|error| panic!("{error}"));
    let mut writer = zip::ZipWriter::new(file);
    for (name, text) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap_or_else(|error| panic!("{error}"));
        writer.write_all(text.as_bytes()).unwrap_or_else(|error| panic!("{error}"));
    }
    writer.finish().unwrap_or_else(|error| panic!("{error}"));
}

/// `method` `path` of the API with `token` and a JSON body: the status and the answer.
fn api(server: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}/api/v1{path}", server.url))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    let mut response = match body {
        Some(body) => agent.run(request.body(body.to_string()).unwrap_or_else(|error| panic!("{error}"))),
        None => agent.run(request.body(String::new()).unwrap_or_else(|error| panic!("{error}"))),
    }
    .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `slipway ARGS` with the server and the admin's token in the environment (so a bare `--server`
/// finds them).
fn with_environment(server: &Server, token: &str, arguments: &[&str]) -> Command {
    let mut command = server.slipway(arguments);
    command.env("SLIPWAY_SERVER", &server.url).env("SLIPWAY_TOKEN", token);
    command
}

/// An agent process killed on drop.
struct Agent(std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_servers_osv_database_is_filled_from_the_command_line_and_reaches_an_agent() {
    let server = Server::start();
    let files = server.dir.join("files");
    std::fs::create_dir_all(&files).unwrap_or_else(|error| panic!("{error}"));
    zip_of(&files.join("crates.io-all.zip"), &[("RUSTSEC-2099-0001.json", ITOA)]);
    zip_of(&files.join("PyPI-all.zip"), &[("PYSEC-2099-7.json", FLASK)]);
    std::fs::write(files.join("notes.txt"), "not an export").unwrap_or_else(|error| panic!("{error}"));
    let (code, reader) = api(&server, "POST", "/users", &server.token, Some(json!({"name": "rita", "role": "reader"})));
    assert_eq!(code, 201, "{reader}");
    let reader = reader["token"].as_str().unwrap_or_default().to_owned();

    let extra = [
        (r"\b[0-9a-f]{64}\b", "[digest]"),
        (r"\b[0-9a-f]{12}\b", "[version]"),
        (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]"),
        (r"\(\d+ bytes", "([n] bytes"),
    ];
    let mut transcripts = Vec::new();
    let token = server.token.clone();
    server.record(
        &mut transcripts,
        "slipway osv status --server",
        &mut with_environment(&server, &token, &["osv", "status", "--server"]),
        &extra,
    );
    server.record(
        &mut transcripts,
        "slipway osv import --server files/notes.txt",
        &mut with_environment(&server, &token, &["osv", "import", "--server", "files/notes.txt"]),
        &extra,
    );
    server.record(
        &mut transcripts,
        "slipway osv import --server files/crates.io-all.zip (as a reader)",
        &mut with_environment(&server, &reader, &["osv", "import", "--server", "files/crates.io-all.zip"]),
        &extra,
    );
    server.record(
        &mut transcripts,
        "slipway osv import --server files/crates.io-all.zip files/PyPI-all.zip",
        &mut with_environment(
            &server,
            &token,
            &["osv", "import", "--server", "files/crates.io-all.zip", "files/PyPI-all.zip"],
        ),
        &extra,
    );
    let url_flag = format!("--server={}", server.url);
    server.record(
        &mut transcripts,
        "slipway osv status --server=URL --token TOKEN",
        &mut server.slipway(&["osv", "status", &url_flag, "--token", &reader]),
        &extra,
    );
    let status = api(&server, "GET", "/osv", &reader, None).1;
    let first = status["digest"].as_str().unwrap_or_default().to_owned();
    assert_eq!(first.len(), 64, "{status}");

    // A real agent process in its own pool runs the scan with its synced copy.
    let (code, registration) = api(&server, "POST", "/registration-tokens", &server.token, Some(json!({})));
    assert_eq!(code, 201, "{registration}");
    let work = server.dir.join("agent");
    let _agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["agent", "--server", &server.url, "--name", "scanner", "--pool", "scanners", "--token"])
            .arg(registration["token"].as_str().unwrap_or_default())
            .arg("--work-dir")
            .arg(&work)
            .env("NO_COLOR", "1")
            .env_remove("SLIPWAY_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("slipway agent: {error}")),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !api(&server, "GET", "/agents", &server.token, None).1.to_string().contains("\"scanner\"") {
        assert!(Instant::now() < deadline, "the agent did not register");
        std::thread::sleep(Duration::from_millis(100));
    }
    let repo = server.dir.join("repo");
    make_repository(&repo, &[("azure-pipelines.yml", PIPELINE), ("Cargo.lock", CARGO_LOCK)]);
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "scan", "--repo", "repo"]));
    assert!(ok, "{text}");
    // The advisory is critical: the gate (high) fails the run.
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "scan", "--wait"]));
    assert!(!ok, "the scan should fail its gate: {text}");
    let runs = api(&server, "GET", "/runs?pipeline=scan", &server.token, None).1;
    let run = runs["runs"][0]["id"].as_i64().unwrap_or_default();
    let security = api(&server, "GET", &format!("/runs/{run}/security"), &server.token, None).1;
    assert!(security["totals"]["vulnerabilities"].as_u64().unwrap_or_default() >= 1, "{security:#}");
    assert!(security.to_string().contains("RUSTSEC-2099-0001"), "{security:#}");
    let detail = api(&server, "GET", &format!("/runs/{run}"), &server.token, None).1;
    assert_eq!(detail["jobs"][0]["leaseHolder"], "agent:scanner", "{detail:#}");
    let marker = std::fs::read_to_string(work.join("_tool/osv/slipway-osv-server.json")).unwrap_or_default();
    assert!(marker.contains(&first), "{marker}");

    // Replaced by PyPI's export alone: the agent follows, and finds nothing in the lockfile.
    server.record(
        &mut transcripts,
        "slipway osv import --server --replace files/PyPI-all.zip",
        &mut with_environment(&server, &token, &["osv", "import", "--server", "--replace", "files/PyPI-all.zip"]),
        &extra,
    );
    let second = api(&server, "GET", "/osv", &reader, None).1["digest"].as_str().unwrap_or_default().to_owned();
    assert_ne!(second, first);
    let (ok, text) = output(&mut server.admin(&["pipelines", "run", "scan", "--wait"]));
    assert!(ok, "nothing should be found after the replacing import: {text}");
    let marker = std::fs::read_to_string(work.join("_tool/osv/slipway-osv-server.json")).unwrap_or_default();
    assert!(marker.contains(&second), "{marker}");
    server.record(
        &mut transcripts,
        "slipway osv status --server",
        &mut with_environment(&server, &token, &["osv", "status", "--server"]),
        &extra,
    );

    insta::assert_snapshot!(transcripts.join("\n"));
}
