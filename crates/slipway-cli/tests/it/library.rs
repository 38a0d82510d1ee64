//! `slipway variables`, `slipway groups`, `pipelines run --var` and `runs rerun` against a small
//! fake of the server's API (`GET/PUT/DELETE /pipelines/{name}/variables[/{var}]`,
//! `/variable-groups[...]`, queue-time `variables` and `POST /runs/{id}/rerun`), recording what
//! the client sends: the real routes were being written in parallel when these commands were, so
//! the tests hold the client to the contract.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::support::{scratch_directory, transcript};

const TOKEN: &str = "slw_fake";

/// A fake server on 127.0.0.1 answering the variables API from a table; it records each request
/// as `METHOD PATH BODY`.
struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn answer(method: &str, path: &str) -> (u16, String) {
    let problem = |status: u16, detail: &str| {
        (
            status,
            serde_json::json!({ "type": "/problems/x", "title": "x", "status": status, "detail": detail }).to_string(),
        )
    };
    match (method, path) {
        ("GET", "/api/v1/pipelines/app/variables") => (
            200,
            r#"[{"name":"plain","value":"1","secret":false},{"name":"token","value":null,"secret":true}]"#.into(),
        ),
        // As the server answers (`slipway_api::Variable`, a secret's value null).
        ("PUT", path) if path.starts_with("/api/v1/pipelines/app/variables/") => {
            (200, r#"{"name":"x","value":"2","secret":false}"#.into())
        }
        ("DELETE", path) if path.starts_with("/api/v1/pipelines/app/variables/") => (204, String::new()),
        ("GET", "/api/v1/pipelines/missing/variables") => problem(404, "no pipeline named 'missing'"),
        ("GET", "/api/v1/variable-groups") => {
            (200, r#"[{"name":"deploy","description":"Where and how to deploy"},{"name":"empty","description":""}]"#.into())
        }
        ("POST", "/api/v1/variable-groups") => (201, r#"{"name":"deploy","description":""}"#.into()),
        ("GET", "/api/v1/variable-groups/deploy") => (
            200,
            r#"{"name":"deploy","description":"Where and how to deploy","variables":[{"name":"region","value":"eu","secret":false},{"name":"key","value":null,"secret":true}]}"#.into(),
        ),
        ("PUT", path) if path.starts_with("/api/v1/variable-groups/deploy/variables/") => {
            (200, r#"{"name":"x","value":null,"secret":true}"#.into())
        }
        ("DELETE", "/api/v1/variable-groups/deploy" | "/api/v1/variable-groups/deploy/variables/region") => {
            (204, String::new())
        }
        ("DELETE", "/api/v1/variable-groups/nope") => problem(404, "no variable group named 'nope'"),
        ("GET", "/api/v1/pipelines") => (200, r#"{"pipelines":[{"id":4,"name":"app"}]}"#.into()),
        ("POST", "/api/v1/pipelines/app/runs") => (201, r#"{"id":8,"pipeline":4,"runNumber":"8","status":"queued"}"#.into()),
        ("POST", "/api/v1/runs/8/rerun") => (201, r#"{"id":9,"pipeline":4,"runNumber":"9","status":"queued"}"#.into()),
        ("POST", "/api/v1/runs/9/rerun") => (202, r#"{"id":9,"pipeline":4,"runNumber":"9","status":"queued"}"#.into()),
        ("POST", "/api/v1/runs/7/rerun") => problem(409, "run 7 has not completed: cancel it or wait for it first"),
        _ => problem(404, "there is no such API route"),
    }
}

fn serve(stream: std::net::TcpStream, requests: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    let mut authorized = false;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
        if name.eq_ignore_ascii_case("authorization") && value.trim() == format!("Bearer {TOKEN}") {
            authorized = true;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if let Ok(mut requests) = requests.lock() {
        requests.push(format!("{method} {path} {}", String::from_utf8_lossy(&body)).trim_end().to_owned());
    }
    let (status, text) = if authorized {
        answer(method, path)
    } else {
        (401, r#"{"type":"/problems/unauthorized","title":"Unauthorized","status":401,"detail":"the token is unknown, revoked or expired"}"#.into())
    };
    let kind = if status >= 400 { "application/problem+json" } else { "application/json" };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

impl Fake {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        let url = format!("http://{}", listener.local_addr().unwrap_or_else(|error| panic!("{error}")));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let _ = serve(stream, &recorded);
            }
        });
        Self { url, requests }
    }

    fn slipway(&self, arguments: &[&str], home: &std::path::Path) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .args(arguments)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("HOME", home)
            .env("SLIPWAY_SERVER", &self.url)
            .env("SLIPWAY_TOKEN", TOKEN)
            .stdin(Stdio::null());
        command
    }
}

#[test]
fn variables_and_groups_follow_the_api_contract() {
    let fake = Fake::start();
    let home = scratch_directory("library");
    let port = fake.url.rsplit(':').next().unwrap_or_default().to_owned();
    let mut transcripts = Vec::new();
    let mut record = |arguments: &[&str]| {
        let text = transcript(&mut fake.slipway(arguments, &home)).replace(&port, "[port]");
        transcripts.push(format!("$ slipway {}\n{text}", arguments.join(" ")));
    };
    record(&["variables", "list", "app"]);
    record(&["variables", "list", "app", "--format", "json"]);
    record(&["variables", "set", "app", "plain", "--value", "2"]);
    record(&["variables", "delete", "app", "old name"]);
    record(&["variables", "list", "missing"]);
    record(&["groups", "list"]);
    record(&["groups", "create", "deploy"]);
    record(&["groups", "show", "deploy"]);
    record(&["groups", "set", "deploy", "region", "--value", "us"]);
    record(&["groups", "delete", "deploy", "region"]);
    record(&["groups", "delete", "deploy"]);
    record(&["groups", "delete", "nope"]);
    record(&[
        "pipelines",
        "run",
        "app",
        "--branch",
        "dev",
        "--param",
        "count=3",
        "--var",
        "level=high",
        "--var",
        "empty=",
    ]);
    record(&["runs", "rerun", "8"]);
    record(&["runs", "rerun", "9", "--failed-only"]);
    record(&["runs", "rerun", "7"]);
    // Secret values come from standard input and are never printed.
    for arguments in [["variables", "set", "app", "token", "--secret"], ["groups", "set", "deploy", "key", "--secret"]]
    {
        let mut child = fake
            .slipway(&arguments, &home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("{error}"));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"s3cret value\n");
        }
        let output = child.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"), "{stdout}{stderr}");
        transcripts.push(format!(
            "$ echo SECRET | slipway {}\nexit code: {}\n----- stdout -----\n{stdout}----- stderr -----\n{stderr}",
            arguments.join(" "),
            output.status.code().unwrap_or(-1)
        ));
    }
    let wrong = transcript(fake.slipway(&["groups", "list"], &home).env("SLIPWAY_TOKEN", "slw_wrong"));
    transcripts.push(format!("$ SLIPWAY_TOKEN=WRONG slipway groups list\n{}", wrong.replace(&port, "[port]")));
    let requests = fake.requests.lock().map(|requests| requests.join("\n")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&home);
    insta::assert_snapshot!(format!("{}\n===== requests =====\n{requests}\n", transcripts.join("\n")));
}
