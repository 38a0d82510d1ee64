//! The client commands (`login`, `pipelines`, `runs`, `users`, `tokens`, `variables`, `groups`)
//! driven through the real binary against a real `slipway serve` started by each test, and the
//! example pipeline that a first `slipway serve` registers.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use crate::support::{Server, make_repository, scratch_directory, server_fixture};

/// Runs a command; gives its exit code and its cleaned stdout and stderr.
fn outcome(server: &Server, command: &mut Command) -> (Option<i32>, String, String) {
    let output = command.output().unwrap_or_else(|error| panic!("slipway: {error}"));
    let clean = |bytes: &[u8]| {
        Server::clean(&String::from_utf8_lossy(bytes).replace(&server.dir.display().to_string(), "[scratch]"))
    };
    (output.status.code(), clean(&output.stdout), clean(&output.stderr))
}

/// Runs a command and adds its transcript, under a title, to `transcripts`.
fn record(transcripts: &mut Vec<String>, server: &Server, title: &str, command: &mut Command) {
    server.record(transcripts, title, command, &[]);
}

/// A repository `repo/` in the server's scratch directory with the three fixture pipelines.
fn fixture_repository(server: &Server) {
    make_repository(
        &server.dir.join("repo"),
        &[
            ("succeeds.yml", &server_fixture("succeeds.yml")),
            ("fails.yml", &server_fixture("fails.yml")),
            ("slow.yml", &server_fixture("slow.yml")),
        ],
    );
}

#[test]
fn login_with_flags_environment_and_the_saved_file() {
    let server = Server::start();
    let mut transcripts = Vec::new();
    record(&mut transcripts, &server, "slipway pipelines list", &mut server.slipway(&["pipelines", "list"]));
    record(&mut transcripts, &server, "slipway login (no server)", &mut server.slipway(&["login"]));
    record(
        &mut transcripts,
        &server,
        "slipway login --server URL --token WRONG",
        &mut server.slipway(&["login", "--server", &server.url, "--token", "slw_wrong"]),
    );
    let credentials = server.dir.join("config/slipway/credentials.toml");
    assert!(!credentials.exists(), "a refused token must not be saved");
    record(
        &mut transcripts,
        &server,
        "slipway login --server URL --token TOKEN",
        &mut server.slipway(&["login", "--server", &server.url, "--token", &server.token]),
    );
    let mode = std::fs::metadata(&credentials).map(|metadata| metadata.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    let saved = std::fs::read_to_string(&credentials).unwrap_or_default();
    assert!(saved.contains(&server.token) && saved.contains(&server.url), "{saved}");
    record(
        &mut transcripts,
        &server,
        "slipway pipelines list (saved login)",
        &mut server.slipway(&["pipelines", "list"]),
    );
    record(
        &mut transcripts,
        &server,
        "SLIPWAY_TOKEN=WRONG slipway pipelines list",
        server.slipway(&["pipelines", "list"]).env("SLIPWAY_TOKEN", "slw_wrong"),
    );
    record(
        &mut transcripts,
        &server,
        "slipway pipelines list --token WRONG",
        &mut server.slipway(&["pipelines", "list", "--token", "slw_wrong"]),
    );
    // The saved token belongs to the saved server: it is not sent to another one.
    record(
        &mut transcripts,
        &server,
        "SLIPWAY_SERVER=OTHER slipway pipelines list",
        server.slipway(&["pipelines", "list"]).env("SLIPWAY_SERVER", "http://localhost:9"),
    );
    record(
        &mut transcripts,
        &server,
        "SLIPWAY_SERVER=URL SLIPWAY_TOKEN=TOKEN slipway runs list (environment only)",
        server
            .slipway(&["runs", "list"])
            .env("SLIPWAY_SERVER", format!("{}/api/v1", server.url))
            .env("SLIPWAY_TOKEN", &server.token)
            .env("XDG_CONFIG_HOME", server.dir.join("elsewhere")),
    );
    record(&mut transcripts, &server, "slipway logout", &mut server.slipway(&["logout"]));
    record(&mut transcripts, &server, "slipway logout (again)", &mut server.slipway(&["logout"]));
    // The token on standard input, as a script would give it.
    let mut login = server
        .slipway(&["login", "--server", &server.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    if let Some(mut stdin) = login.stdin.take() {
        let _ = writeln!(stdin, "{}", server.token);
    }
    let output = login.wait_with_output().unwrap_or_else(|error| panic!("{error}"));
    transcripts.push(format!(
        "$ echo TOKEN | slipway login --server URL\nexit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.code().unwrap_or(-1),
        Server::clean(&String::from_utf8_lossy(&output.stdout).replace(&server.dir.display().to_string(), "[scratch]")),
        Server::clean(&String::from_utf8_lossy(&output.stderr))
    ));
    record(
        &mut transcripts,
        &server,
        "slipway pipelines list (saved from stdin)",
        &mut server.slipway(&["pipelines", "list"]),
    );
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn pipelines_run_and_wait_with_the_result_as_exit_code() {
    let server = Server::start();
    fixture_repository(&server);
    let mut transcripts = Vec::new();
    // `--repo repo` is relative to the client's directory; the server is told the absolute path.
    record(
        &mut transcripts,
        &server,
        "slipway pipelines create --name good --repo repo --file succeeds.yml",
        &mut server.admin(&["pipelines", "create", "--name", "good", "--repo", "repo", "--file", "succeeds.yml"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway pipelines create --name bad --repo repo --file fails.yml --branch main",
        &mut server.admin(&[
            "pipelines",
            "create",
            "--name",
            "bad",
            "--repo",
            "repo",
            "--file",
            "fails.yml",
            "--branch",
            "main",
        ]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway pipelines create --name good --repo repo --file succeeds.yml (again)",
        &mut server.admin(&["pipelines", "create", "--name", "good", "--repo", "repo", "--file", "succeeds.yml"]),
    );
    record(&mut transcripts, &server, "slipway pipelines list", &mut server.admin(&["pipelines", "list"]));
    record(
        &mut transcripts,
        &server,
        "slipway pipelines run good --param audience=Slipway --wait",
        &mut server.admin(&["pipelines", "run", "good", "--param", "audience=Slipway", "--wait"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway pipelines run bad --wait",
        &mut server.admin(&["pipelines", "run", "bad", "--wait"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway pipelines run missing",
        &mut server.admin(&["pipelines", "run", "missing"]),
    );
    record(&mut transcripts, &server, "slipway runs list", &mut server.admin(&["runs", "list"]));
    record(
        &mut transcripts,
        &server,
        "slipway runs list --limit 1",
        &mut server.admin(&["runs", "list", "--limit", "1"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway runs list --pipeline bad",
        &mut server.admin(&["runs", "list", "--pipeline", "bad"]),
    );
    record(&mut transcripts, &server, "slipway runs show 2", &mut server.admin(&["runs", "show", "2"]));
    record(&mut transcripts, &server, "slipway runs logs 1", &mut server.admin(&["runs", "logs", "1"]));
    record(
        &mut transcripts,
        &server,
        "slipway runs logs 2 --follow",
        &mut server.admin(&["runs", "logs", "2", "--follow"]),
    );
    record(&mut transcripts, &server, "slipway runs logs 99", &mut server.admin(&["runs", "logs", "99"]));
    record(&mut transcripts, &server, "slipway runs cancel 1", &mut server.admin(&["runs", "cancel", "1"]));
    let (code, json, _) = outcome(&server, &mut server.admin(&["runs", "list", "--format", "json", "--limit", "1"]));
    assert_eq!(code, Some(0));
    let runs: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(runs[0]["id"], 2);
    assert_eq!(runs[0]["result"], "Failed");
    // A reader that goes away (`slipway runs list | head`) ends the command quietly.
    for arguments in [&["runs", "list"][..], &["runs", "logs", "1"], &["pipelines", "list"]] {
        let mut child = server
            .admin(arguments)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("slipway starts");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("slipway ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(141), "{arguments:?}: {stderr}");
        assert!(stderr.is_empty(), "{arguments:?} printed: {stderr}");
    }
    // An admin disables, shows, enables and deletes a pipeline.
    for arguments in [
        &["pipelines", "disable", "bad"][..],
        &["pipelines", "run", "bad"],
        &["pipelines", "show", "bad"],
        &["pipelines", "enable", "bad"],
        &["pipelines", "delete", "bad"],
        &["pipelines", "delete", "bad", "--yes"],
        &["pipelines", "show", "bad"],
        &["pipelines", "list"],
    ] {
        let title = format!("slipway {}", arguments.join(" "));
        record(&mut transcripts, &server, &title, &mut server.admin(arguments));
    }
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn cancelling_a_run_that_is_waited_for_exits_130() {
    let server = Server::start();
    fixture_repository(&server);
    let (code, _, stderr) = outcome(
        &server,
        &mut server.admin(&["pipelines", "create", "--name", "slow", "--repo", "repo", "--file", "slow.yml"]),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let mut waiting = server
        .admin(&["pipelines", "run", "slow", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{error}"));
    let stdout = waiting.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        seen.push(line.clone());
        if line.contains("waiting to be cancelled") {
            break;
        }
    }
    assert!(seen.iter().any(|line| line.contains("waiting to be cancelled")), "{seen:?}");
    let (code, cancelled, stderr) = outcome(&server, &mut server.admin(&["runs", "cancel", "1"]));
    assert_eq!(code, Some(0), "{stderr}");
    seen.extend(lines);
    let status = waiting.wait().unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(status.code(), Some(130), "{seen:?}");
    let text = Server::clean(&seen.join("\n"));
    let last = text.lines().last().unwrap_or_default();
    assert_eq!(last, "Run 1 of slow (number YYYYMMDD.1) Canceled in [time]: http://127.0.0.1:[port]/runs/1");
    insta::assert_snapshot!(format!("$ slipway runs cancel 1\n{cancelled}"));
    let (code, _, stderr) = outcome(&server, &mut server.admin(&["runs", "cancel", "1"]));
    assert_eq!((code, stderr.as_str()), (Some(1), "error: run 1 already completed\n"));
}

#[test]
fn an_unreachable_server_and_bad_arguments() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or(9);
    let dir = scratch_directory("client");
    let cleanup = Server::clean;
    let run = |arguments: &[&str], env: &[(&str, String)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
        command
            .args(arguments)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("HOME", dir.join("home"))
            .env_remove("SLIPWAY_SERVER")
            .env_remove("SLIPWAY_TOKEN")
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        cleanup(&format!("$ slipway {}\n{}", arguments.join(" "), crate::support::transcript(&mut command)))
    };
    let url = format!("http://127.0.0.1:{port}");
    let transcripts = [
        run(&["runs", "list", "--server", &url, "--token", "slw_x"], &[]),
        run(&["runs", "list"], &[("SLIPWAY_SERVER", url.clone()), ("SLIPWAY_TOKEN", "slw_x".into())]),
        run(&["login", "--server", &url, "--token", "slw_x"], &[]),
        run(&["runs", "list", "--server", "127.0.0.1:8080", "--token", "slw_x"], &[]),
        run(&["runs", "list", "--server", &url], &[]),
        run(&["runs", "show", "seven", "--server", &url, "--token", "slw_x"], &[]),
        run(&["pipelines", "run", "app", "--param", "novalue", "--server", &url, "--token", "slw_x"], &[]),
        run(
            &["pipelines", "create", "--name", "app", "--repo", "no/such/dir", "--server", &url, "--token", "slw_x"],
            &[],
        ),
    ];
    let _ = std::fs::remove_dir_all(&dir);
    insta::assert_snapshot!(transcripts.join("\n"));
}

#[test]
fn users_tokens_and_roles() {
    let server = Server::start();
    // The token is on the line after the announcement.
    let made = server.admin(&["users", "create", "carl", "--role", "contributor"]).output();
    let made = made.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
    let carl = made.lines().nth(1).map(str::trim).unwrap_or_default().to_owned();
    assert!(carl.starts_with("slw_"), "{made}");
    let mut transcripts = Vec::new();
    record(
        &mut transcripts,
        &server,
        "slipway users create rita --role reader",
        &mut server.admin(&["users", "create", "rita", "--role", "reader"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway users create rita --role reader (again)",
        &mut server.admin(&["users", "create", "rita", "--role", "reader"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway users create eve --role root",
        &mut server.admin(&["users", "create", "eve", "--role", "root"]),
    );
    let as_carl = |arguments: &[&str]| {
        let mut command = server.slipway(arguments);
        command.args(["--server", &server.url, "--token", &carl]);
        command
    };
    record(&mut transcripts, &server, "slipway login (as carl)", &mut as_carl(&["login"]));
    record(
        &mut transcripts,
        &server,
        "slipway pipelines create --name app --repo . (as carl)",
        &mut as_carl(&["pipelines", "create", "--name", "app", "--repo", "."]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway tokens create --name laptop (as carl)",
        &mut as_carl(&["tokens", "create", "--name", "laptop"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway tokens create --user admin (as carl)",
        &mut as_carl(&["tokens", "create", "--user", "admin"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway tokens create --user carl --name ci",
        &mut server.admin(&["tokens", "create", "--user", "carl", "--name", "ci"]),
    );
    record(
        &mut transcripts,
        &server,
        "slipway tokens create --user nobody",
        &mut server.admin(&["tokens", "create", "--user", "nobody"]),
    );
    insta::assert_snapshot!(transcripts.join("\n"));
}

/// A first start that cannot listen (the port is taken) makes nothing: no data directory, no admin
/// and no token shown and lost; the next start is the first, with the token, the sign-in hint and
/// the example pipeline.
#[test]
fn a_first_serve_that_cannot_listen_makes_nothing() {
    let dir = scratch_directory("taken");
    let checkout = dir.join("checkout");
    make_repository(&checkout, &[("examples/azure-pipelines.yml", &server_fixture("succeeds.yml"))]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
    let address = taken.local_addr().unwrap_or_else(|error| panic!("{error}")).to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["serve", "--listen", &address, "--data-dir"])
        .arg(dir.join("data"))
        .current_dir(&checkout)
        .env("XDG_CONFIG_HOME", dir.join("server-config"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("slipway serve: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&address, "ADDRESS");
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "nothing, no token, is shown: {stdout}");
    assert!(
        stderr.contains(
            "error: cannot listen on ADDRESS: Address already in use (os error 98) (is another server running there? \
             choose another address with --listen)"
        ),
        "{stderr}"
    );
    assert!(!dir.join("data").exists(), "the data directory was made");
    drop(taken);
    let server = Server::start_at(dir.clone(), &checkout, &[]);
    server.wait_for_output("Registered ");
    let printed = server.output();
    assert!(printed.contains("Created the user 'admin'. Its token, shown this once"), "{printed}");
    assert!(printed.contains("Sign in at http://"), "{printed}");
}

#[test]
fn a_first_serve_registers_and_runs_the_example_pipeline() {
    let dir = scratch_directory("example");
    let checkout = dir.join("checkout");
    make_repository(&checkout, &[("examples/azure-pipelines.yml", &server_fixture("succeeds.yml"))]);
    std::fs::create_dir_all(checkout.join("nested")).unwrap_or_else(|error| panic!("{error}"));
    // Started in a directory inside the repository, as `cargo run` from a checkout would be.
    let server = Server::start_at(dir.clone(), &checkout.join("nested"), &[]);
    server.wait_for_output("Registered ");
    let (code, logs, stderr) = outcome(&server, &mut server.admin(&["runs", "logs", "1", "--follow"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(logs.contains("hello world"), "{logs}");
    assert!(stderr.starts_with("Run 1 of example (number YYYYMMDD.1) Succeeded"), "{stderr}");
    let printed = server.output().replace(&dir.display().to_string(), "[scratch]");
    insta::assert_snapshot!(Server::clean(&printed));
    let (code, pipelines, _) = outcome(&server, &mut server.admin(&["pipelines", "list"]));
    assert_eq!(code, Some(0));
    insta::assert_snapshot!("example_pipeline", pipelines);

    // Not on a later start: the data directory is not new.
    let server = server.restart();
    assert!(!server.output().contains("Registered"), "{}", server.output());
    let (_, runs, _) = outcome(&server, &mut server.admin(&["runs", "list"]));
    assert_eq!(runs.lines().count(), 2, "{runs}");
    drop(server);

    // Nor with --no-example.
    let other = scratch_directory("example");
    make_repository(&other.join("checkout"), &[("examples/azure-pipelines.yml", &server_fixture("succeeds.yml"))]);
    let server = Server::start_at(other.clone(), &other.join("checkout"), &["--no-example"]);
    let (_, pipelines, _) = outcome(&server, &mut server.admin(&["pipelines", "list"]));
    assert_eq!(pipelines, "NAME  STATUS  TRIGGERS  FILE  BRANCH  REPOSITORY\n");
    assert!(!server.output().contains("Registered"), "{}", server.output());
}

/// A step of an in-process agent dies with the server, even killed with SIGKILL (issue 10).
#[test]
fn a_killed_server_takes_its_in_process_steps_with_it() {
    let mut server = Server::start();
    let marker = format!("slipway-server-orphan-{}", std::process::id());
    make_repository(
        &server.dir.join("orphans"),
        &[(
            "azure-pipelines.yml",
            &format!(
                "trigger: none\nsteps:\n- checkout: none\n- script: |\n    (exec -a {marker}-child sleep 300) &\n    echo started\n    exec -a {marker} sleep 300\n"
            ),
        )],
    );
    let (code, _, stderr) =
        outcome(&server, &mut server.admin(&["pipelines", "create", "--name", "orphans", "--repo", "orphans"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = outcome(&server, &mut server.admin(&["pipelines", "run", "orphans"]));
    assert_eq!(code, Some(0), "{stderr}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while crate::support::processes_with(&marker) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(crate::support::processes_with(&marker), 2, "the step and its child run");
    server.kill();
    assert_eq!(crate::support::wait_processes_gone(&marker), 0, "the step outlived the server");
}

/// Re-running a run's failed jobs keeps the first attempt (issue 11): `runs rerun --wait` follows
/// only the new attempt's log, `runs show` lists the attempts, and the run keeps its first start.
#[test]
fn rerunning_failed_jobs_keeps_the_first_attempt() {
    let server = Server::start();
    make_repository(
        &server.dir.join("flaky"),
        &[(
            "azure-pipelines.yml",
            // The run's workspace outlives the attempt: the second one finds the marker.
            "trigger: none\nsteps:\n- checkout: none\n- script: |\n    if mkdir $(Pipeline.Workspace)/flaky-marker; then echo first attempt fails; exit 1; fi\n    echo second time lucky\n",
        )],
    );
    let (code, _, stderr) =
        outcome(&server, &mut server.admin(&["pipelines", "create", "--name", "flaky", "--repo", "flaky"]));
    assert_eq!(code, Some(0), "{stderr}");
    let (code, first, _) = outcome(&server, &mut server.admin(&["pipelines", "run", "flaky", "--wait"]));
    assert_eq!(code, Some(1), "{first}");
    assert!(first.contains("first attempt fails"), "{first}");
    let (_, before, _) = outcome(&server, &mut server.admin(&["runs", "list", "--format", "json"]));
    let before: serde_json::Value = serde_json::from_str(&before).unwrap_or_default();
    let (code, again, stderr) = outcome(&server, &mut server.admin(&["runs", "rerun", "1", "--failed-only", "--wait"]));
    assert_eq!(code, Some(0), "{again}{stderr}");
    assert!(again.contains("second time lucky"), "{again}");
    assert!(!again.contains("first attempt fails"), "the first attempt's log was replayed: {again}");
    let (_, after, _) = outcome(&server, &mut server.admin(&["runs", "list", "--format", "json"]));
    let after: serde_json::Value = serde_json::from_str(&after).unwrap_or_default();
    assert_eq!(after[0]["startedAt"], before[0]["startedAt"], "the run's start was overwritten");
    let (code, shown, _) = outcome(&server, &mut server.admin(&["runs", "show", "1"]));
    assert_eq!(code, Some(0));
    let job_lines: Vec<&str> = shown.lines().skip_while(|line| !line.starts_with("  Jobs:")).skip(1).collect();
    assert_eq!(job_lines.len(), 2, "{shown}");
    assert!(job_lines[0].contains("✓ Succeeded") && job_lines[0].ends_with("(attempt 2)"), "{shown}");
    assert!(job_lines[1].contains("attempt 1: ✗ Failed in "), "{shown}");
}
