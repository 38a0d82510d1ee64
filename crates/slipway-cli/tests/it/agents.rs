//! Agents end to end: a real `slipway serve` (coordinating only, `--local-agents 0`) and several
//! real `slipway agent` processes on loopback, over real git repositories. Leases are short
//! (set through `SLIPWAY_LEASE_MS` and friends) so that lost agents are noticed quickly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> TestResult<Self> {
        let dir = std::env::temp_dir().join(format!(
            "slipway-agents-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed on drop.
struct Process(Child);

impl Process {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Waits for the process to end (at most `limit`); its exit code.
    fn wait(&mut self, limit: Duration) -> TestResult<Option<i32>> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(status.code());
            }
            if start.elapsed() > limit {
                return Err("the process did not end".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn slipway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slipway"));
    command.env("NO_COLOR", "1").env_remove("SLIPWAY_SERVER");
    command
}

/// An HTTP answer: status and JSON body (`Null` when it is not JSON).
struct Answer {
    status: u16,
    body: Value,
}

fn http(method: &str, url: &str, token: &str, body: Option<&Value>) -> TestResult<Answer> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    let mut response = match body {
        Some(body) => agent.run(request.body(serde_json::to_vec(body)?)?)?,
        None => agent.run(request.body(())?)?,
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string()?;
    Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null) })
}

/// A running `slipway serve`.
struct Server {
    process: Process,
    url: String,
    token: String,
    data: PathBuf,
    listen: String,
    lease_ms: u64,
    /// `--database`: `None` for SQLite in the data directory.
    database: Option<String>,
}

impl Server {
    /// Starts a coordinating server (no in-process agents) over `data` with leases of `lease_ms`.
    fn start(data: &Path, lease_ms: u64) -> TestResult<Self> {
        Self::start_on(data, lease_ms, None)
    }

    /// [`Server::start`] with its store in `database` (a `postgres://` URL) when there is one.
    fn start_on(data: &Path, lease_ms: u64, database: Option<String>) -> TestResult<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let listen = format!("127.0.0.1:{port}");
        let mut server = Self {
            process: Self::spawn(data, &listen, lease_ms, database.as_deref())?,
            url: format!("http://{listen}"),
            token: String::new(),
            data: data.to_path_buf(),
            listen,
            lease_ms,
            database,
        };
        server.wait_until_up()?;
        server.token = std::fs::read_to_string(data.join("admin-token"))?.trim().to_owned();
        Ok(server)
    }

    fn spawn(data: &Path, listen: &str, lease_ms: u64, database: Option<&str>) -> TestResult<Process> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data.with_extension("log"))?;
        let child = slipway()
            .args(["serve", "--no-example", "--local-agents", "0", "--listen", listen, "--data-dir"])
            .arg(data)
            .args(database.map(|url| ["--database", url]).into_iter().flatten())
            .env("SLIPWAY_LEASE_MS", lease_ms.to_string())
            .env("SLIPWAY_HEARTBEAT_MS", "300")
            .env("SLIPWAY_LONG_POLL_MS", "5000")
            .env("SLIPWAY_KILL_GRACE_MS", "500")
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        Ok(Process(child))
    }

    fn wait_until_up(&self) -> TestResult {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if http("GET", &format!("{}/api/v1/health", self.url), "", None).is_ok_and(|answer| answer.status == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not come up".into())
    }

    /// Kills the server (SIGKILL) and starts it again on the same address and data.
    fn restart_after_kill(&mut self) -> TestResult {
        self.process.kill();
        self.process = Self::spawn(&self.data, &self.listen, self.lease_ms, self.database.as_deref())?;
        self.wait_until_up()
    }

    fn api(&self, method: &str, path: &str, body: Option<Value>) -> TestResult<Answer> {
        http(method, &format!("{}/api/v1{path}", self.url), &self.token, body.as_ref())
    }

    fn registration_token(&self) -> TestResult<String> {
        let answer = self.api("POST", "/registration-tokens", Some(json!({})))?;
        assert_eq!(answer.status, 201, "{}", answer.body);
        Ok(answer.body["token"].as_str().ok_or("no token")?.to_owned())
    }

    /// Starts an agent named `name` with these extra arguments, and waits until it is idle.
    fn agent(&self, scratch: &Scratch, name: &str, extra: &[&str]) -> TestResult<Process> {
        let work = scratch.0.join(format!("agent-{name}"));
        let log = std::fs::File::create(scratch.0.join(format!("agent-{name}.log")))?;
        let child = slipway()
            .args(["agent", "--server", &self.url, "--token", &self.registration_token()?, "--name", name])
            .arg("--work-dir")
            .arg(&work)
            .args(extra)
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()?;
        let process = Process(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let agents = self.api("GET", "/agents", None)?;
            let ready = agents.body["agents"]
                .as_array()
                .is_some_and(|agents| agents.iter().any(|agent| agent["name"] == name && agent["state"] == "idle"));
            if ready {
                return Ok(process);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("agent {name} did not show up").into())
    }

    /// Creates a pipeline over `repository` and starts a run of it; the run's id.
    fn run(&self, name: &str, repository: &Path) -> TestResult<i64> {
        let pipeline = json!({ "name": name, "repository": repository.display().to_string() });
        let created = self.api("POST", "/pipelines", Some(pipeline))?;
        assert_eq!(created.status, 201, "{}", created.body);
        self.start_run(name)
    }

    fn start_run(&self, name: &str) -> TestResult<i64> {
        let started = self.api("POST", &format!("/pipelines/{name}/runs"), Some(json!({})))?;
        assert_eq!(started.status, 201, "{}", started.body);
        Ok(started.body["id"].as_i64().ok_or("no run id")?)
    }

    fn get_run(&self, id: i64) -> TestResult<Value> {
        Ok(self.api("GET", &format!("/runs/{id}"), None)?.body)
    }

    /// Waits until `check` holds for the run (at most a minute).
    fn wait_run(&self, id: i64, what: &str, check: impl Fn(&Value) -> bool) -> TestResult<Value> {
        let start = Instant::now();
        loop {
            let run = self.get_run(id)?;
            if check(&run) {
                return Ok(run);
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("run {id}: {what} did not happen: {run}").into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_completed(&self, id: i64) -> TestResult<Value> {
        self.wait_run(id, "completion", |run| run["status"] == "completed")
    }

    /// Each job's log by job key.
    fn logs(&self, id: i64) -> TestResult<std::collections::BTreeMap<String, String>> {
        let answer = self.api("GET", &format!("/runs/{id}/logs"), None)?;
        Ok(answer.body["jobs"]
            .as_array()
            .ok_or("no jobs")?
            .iter()
            .map(|job| {
                (job["key"].as_str().unwrap_or_default().to_owned(), job["log"].as_str().unwrap_or_default().to_owned())
            })
            .collect())
    }
}

fn git(directory: &Path, arguments: &[&str]) -> TestResult {
    let status = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"])
        .args(arguments)
        .current_dir(directory)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if status.success() { Ok(()) } else { Err(format!("git {arguments:?} failed").into()) }
}

/// A git repository with `azure-pipelines.yml` holding `pipeline`.
fn repository(scratch: &Scratch, pipeline: &str) -> TestResult<PathBuf> {
    let directory = scratch.0.join("repository");
    std::fs::create_dir_all(&directory)?;
    git(&directory, &["init", "--quiet", "-b", "main"])?;
    std::fs::write(directory.join("azure-pipelines.yml"), pipeline)?;
    git(&directory, &["add", "."])?;
    git(&directory, &["commit", "--quiet", "-m", "the pipeline"])?;
    Ok(directory)
}

fn job<'a>(run: &'a Value, key: &str) -> TestResult<&'a Value> {
    run["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|job| job["key"] == key))
        .ok_or_else(|| format!("no job {key} in {run}").into())
}

fn holder(job: &Value) -> String {
    job["leaseHolder"].as_str().unwrap_or_default().to_owned()
}

const SPREAD: &str = "\
trigger: none
jobs:
- job: build
  steps:
  - checkout: self
  - script: |
      echo \"##vso[task.setvariable variable=answer;isOutput=true]42\"
      mkdir -p out && echo \"hello from $(Agent.Name)\" > out/greeting.txt
    name: produce
  - publish: out
    artifact: greetings
- job: use
  dependsOn: build
  strategy:
    parallel: 6
  variables:
    answer: $[ dependencies.build.outputs['produce.answer'] ]
  steps:
  - checkout: none
  - download: current
    artifact: greetings
  - script: |
      echo \"answer=$(answer) on $(Agent.Name)\"
      cat $(Pipeline.Workspace)/greetings/greeting.txt
      sleep 1
";

#[test]
fn jobs_spread_over_agents_and_outputs_and_artifacts_flow_between_them() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let _agents =
        [server.agent(&scratch, "a1", &[])?, server.agent(&scratch, "a2", &[])?, server.agent(&scratch, "a3", &[])?];
    let id = server.run("spread", &repository(&scratch, SPREAD)?)?;
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let build_holder = holder(job(&run, "__default.build")?);
    let users: Vec<&Value> = run["jobs"]
        .as_array()
        .ok_or("no jobs")?
        .iter()
        .filter(|job| job["key"].as_str().is_some_and(|key| key.starts_with("__default.use.")))
        .collect();
    assert_eq!(users.len(), 6, "{run}");
    let holders: BTreeSet<String> = users.iter().map(|job| holder(job)).collect();
    assert!(holders.len() >= 2, "the legs ran on one agent only: {holders:?}");
    let logs = server.logs(id)?;
    let builder = build_holder.trim_start_matches("agent:");
    let elsewhere: Vec<&&Value> = users.iter().filter(|job| holder(job) != build_holder).collect();
    assert!(!elsewhere.is_empty(), "every leg ran where build ran");
    for used in elsewhere {
        let key = used["key"].as_str().unwrap_or_default();
        let log = logs.get(key).ok_or("no log")?;
        let runner = holder(used);
        assert!(log.contains(&format!("answer=42 on {}", runner.trim_start_matches("agent:"))), "{log}");
        assert!(log.contains(&format!("hello from {builder}")), "{log}");
    }
    let artifacts: Vec<String> =
        std::fs::read_dir(server.data.join("runs").join(id.to_string()).join("work/artifacts/artifacts"))?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
    assert_eq!(artifacts, vec!["greetings.json".to_owned()]);
    let listed = server.api("GET", &format!("/runs/{id}/artifacts"), None)?;
    assert_eq!(listed.body[0]["name"], "greetings", "{}", listed.body);
    assert_eq!(listed.body[0]["job"], "__default.build", "{}", listed.body);
    assert_eq!(listed.body[0]["files"], 1, "{}", listed.body);
    Ok(())
}

const DEMANDS: &str = "\
trigger: none
jobs:
- job: gpu
  pool:
    name: Default
    demands:
    - gpu -equals cuda12
  steps:
  - checkout: none
  - script: echo gpu job on $(Agent.Name)
- job: linux
  pool:
    vmImage: ubuntu-latest
  steps:
  - checkout: none
  - script: echo linux job on $(Agent.Name)
- job: other
  pool: Other
  steps:
  - checkout: none
  - script: echo other job on $(Agent.Name)
- job: nowhere
  pool:
    name: Default
    demands: quantum
  steps:
  - checkout: none
  - script: echo never
";

#[test]
fn demands_and_pools_decide_which_agent_runs_a_job() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let _agents = [
        server.agent(&scratch, "plain", &[])?,
        server.agent(&scratch, "cuda", &["--capability", "gpu=CUDA12"])?,
        server.agent(&scratch, "elsewhere", &["--pool", "other"])?,
    ];
    let id = server.run("demands", &repository(&scratch, DEMANDS)?)?;
    let run = server.wait_completed(id)?;
    assert_eq!(holder(job(&run, "__default.gpu")?), "agent:cuda", "{run}");
    assert_eq!(holder(job(&run, "__default.other")?), "agent:elsewhere", "{run}");
    assert_ne!(holder(job(&run, "__default.linux")?), "agent:elsewhere", "{run}");
    for name in ["gpu", "linux", "other"] {
        assert_eq!(job(&run, &format!("__default.{name}"))?["result"], "Succeeded", "{run}");
    }
    // No registered agent can ever take the fourth: it fails at once, naming its demands.
    let nowhere = job(&run, "__default.nowhere")?;
    assert_eq!(nowhere["result"], "Failed", "{run}");
    assert_eq!(
        nowhere["message"],
        "No agent found in pool 'default' which satisfies the specified demands: quantum (none of its 2 agent(s) \
         has them). Register an agent with these capabilities (`slipway agent --capability NAME=VALUE`) or change \
         the demands, then run the pipeline again."
    );
    assert_eq!(run["result"], "Failed", "{run}");
    Ok(())
}

/// A job that sleeps on its first attempt only (the directory is shared by the agents).
fn sleeper(marker: &Path) -> String {
    format!(
        "trigger: none\njobs:\n- job: slow\n  steps:\n  - checkout: none\n  - script: |\n      echo started on $(Agent.Name)\n      if mkdir {} 2>/dev/null; then sleep 30; fi\n      echo finished on $(Agent.Name)\n",
        marker.display()
    )
}

/// Waits until the run's only job runs and has logged `started`; the agent that holds it.
fn wait_started(server: &Server, id: i64) -> TestResult<String> {
    let run = server.wait_run(id, "the job starting", |run| {
        run["jobs"][0]["status"] == "running"
            && server.logs(id).is_ok_and(|logs| logs.values().any(|log| log.contains("started on")))
    })?;
    Ok(holder(&run["jobs"][0]).trim_start_matches("agent:").to_owned())
}

#[test]
fn an_agent_killed_mid_job_fails_the_job_as_agent_lost() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 2_000)?;
    let mut agent = server.agent(&scratch, "doomed", &[])?;
    let id = server.run("lost", &repository(&scratch, &sleeper(&scratch.0.join("marker")))?)?;
    assert_eq!(wait_started(&server, id)?, "doomed");
    agent.kill();
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Failed", "{run}");
    assert_eq!(run["jobs"][0]["message"], "agent lost: 'doomed' stopped renewing the job's lease", "{run}");
    let logs = server.logs(id)?;
    assert!(logs.values().any(|log| log.contains("##[error]agent lost")), "{logs:?}");
    Ok(())
}

#[test]
fn with_requeue_a_lost_agents_job_runs_again_on_another() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 2_000)?;
    let settings = server.api("PUT", "/pools/default", Some(json!({ "onAgentLost": "requeue" })))?;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let mut first = server.agent(&scratch, "first", &[])?;
    let id = server.run("requeue", &repository(&scratch, &sleeper(&scratch.0.join("marker")))?)?;
    assert_eq!(wait_started(&server, id)?, "first");
    let _second = server.agent(&scratch, "second", &[])?;
    first.kill();
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    assert_eq!(holder(&run["jobs"][0]), "agent:second", "{run}");
    assert_eq!(run["jobs"][0]["attempt"], 2, "{run}");
    let logs = server.logs(id)?;
    let log = logs.values().next().ok_or("no log")?;
    assert!(log.contains("started on first"), "{log}");
    assert!(log.contains("the job goes back in the queue"), "{log}");
    assert!(log.contains("finished on second"), "{log}");
    Ok(())
}

const CHATTY: &str = "\
trigger: none
jobs:
- job: one
  steps:
  - checkout: none
  - script: for i in $(seq 1 300); do echo \"one line $i\"; sleep 0.01; done
- job: two
  steps:
  - checkout: none
  - script: for i in $(seq 1 300); do echo \"two line $i\"; sleep 0.01; done
";

#[test]
fn a_server_restart_while_agents_work_loses_no_job_and_no_log_line() -> TestResult {
    let scratch = Scratch::new()?;
    let mut server = Server::start(&scratch.0.join("data"), 30_000)?;
    let _agents = [server.agent(&scratch, "b1", &[])?, server.agent(&scratch, "b2", &[])?];
    let id = server.run("chatty", &repository(&scratch, CHATTY)?)?;
    server.wait_run(id, "both jobs logging", |run| {
        run["jobs"].as_array().is_some_and(|jobs| jobs.len() == 2 && jobs.iter().all(|job| job["status"] == "running"))
            && server.logs(id).is_ok_and(|logs| logs.values().filter(|log| log.contains(" line ")).count() == 2)
    })?;
    server.restart_after_kill()?;
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    let logs = server.logs(id)?;
    for (name, key) in [("one", "__default.one"), ("two", "__default.two")] {
        let log = logs.get(key).ok_or("no log")?;
        let lines: Vec<&str> = log.lines().filter(|line| line.starts_with(&format!("{name} line "))).collect();
        let expected: Vec<String> = (1..=300).map(|number| format!("{name} line {number}")).collect();
        assert_eq!(lines, expected, "{log}");
    }
    Ok(())
}

#[test]
fn a_cancel_stops_a_job_on_an_agent_and_a_drained_agent_stops() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let mut agent = server.agent(&scratch, "c1", &[])?;
    let id = server.run("cancel", &repository(&scratch, &sleeper(&scratch.0.join("marker")))?)?;
    wait_started(&server, id)?;
    let cancelled = server.api("POST", &format!("/runs/{id}/cancel"), None)?;
    assert_eq!(cancelled.status, 202, "{}", cancelled.body);
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Canceled", "{run}");
    assert_eq!(run["jobs"][0]["result"], "Canceled", "{run}");
    let logs = server.logs(id)?;
    assert!(!logs.values().any(|log| log.contains("finished on")), "{logs:?}");

    let drain = slipway().args(["agent", "--drain", "--work-dir"]).arg(scratch.0.join("agent-c1")).output()?;
    assert!(drain.status.success(), "{}", String::from_utf8_lossy(&drain.stderr));
    assert_eq!(agent.wait(Duration::from_secs(30))?, Some(0));
    let agents = server.api("GET", "/agents", None)?;
    assert_eq!(agents.body["agents"][0]["state"], "offline", "{}", agents.body);
    Ok(())
}

#[test]
fn agents_are_told_clearly_what_is_wrong() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let register = json!({
        "protocolVersion": 99, "registrationToken": "slwreg_x", "name": "future", "pool": "default",
        "version": "9.9.9", "capabilities": {}
    });
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(format!("{}/api/v1/agent/register", server.url))
        .header("content-type", "application/json")
        .header("slipway-agent-protocol", "99")
        .header("user-agent", "slipway-agent/9.9.9")
        .body(serde_json::to_vec(&register)?)?;
    let mut response = agent.run(request)?;
    assert_eq!(response.status().as_u16(), 426);
    let problem: Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
    let detail = problem["detail"].as_str().unwrap_or_default().replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    insta::assert_snapshot!(detail, @"this agent (Slipway 9.9.9) speaks agent protocol 99, which is too new for this server (Slipway [VERSION], protocol 1 to 1): upgrade the server, or run an agent of Slipway [VERSION]");

    let output = slipway()
        .args(["agent", "--server", &server.url, "--token", "slwreg_0000_bad", "--name", "n"])
        .arg("--work-dir")
        .arg(scratch.0.join("bad"))
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @"error: the registration token is unknown, used or expired");
    let output =
        slipway().args(["agent", "--server", &server.url, "--work-dir"]).arg(scratch.0.join("none")).output()?;
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @"error: this agent is not registered yet: give it a registration token with --token (an admin creates one with POST /api/v1/registration-tokens)");
    Ok(())
}

/// The state the API shows for the agent `name`.
fn agent_state(server: &Server, name: &str) -> TestResult<String> {
    let agents = server.api("GET", "/agents", None)?;
    let agent = agents.body["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|agent| agent["name"] == name))
        .ok_or_else(|| format!("no agent {name}: {}", agents.body))?;
    Ok(agent["state"].as_str().unwrap_or_default().to_owned())
}

/// Waits (at most `limit`) until the agent `name` shows `state`.
fn wait_state(server: &Server, name: &str, state: &str, limit: Duration) -> TestResult {
    let start = Instant::now();
    loop {
        let shown = agent_state(server, name)?;
        if shown == state {
            return Ok(());
        }
        if start.elapsed() > limit {
            return Err(format!("agent {name} shows '{shown}', not '{state}', after {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A job that runs a few seconds, long enough to drain its agent meanwhile.
const WHILE_DRAINING: &str = "trigger: none\njobs:\n- job: slow\n  steps:\n  - checkout: none\n  - script: |\n      echo started on $(Agent.Name)\n      sleep 6\n      echo finished\n";

#[test]
fn agent_states_follow_the_agent_at_once_and_a_job_waiting_for_an_offline_agent_says_so() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let mut agent = server.agent(&scratch, "a1", &[])?;
    // Killed while it waits for work: offline at once when its long poll is cut, and at the latest
    // after the long poll (5 s here) and three heartbeats of silence; it used to take 90 s.
    agent.kill();
    wait_state(&server, "a1", "offline", Duration::from_secs(10))?;

    // A job that only the offline agent could take waits, and says so, also to `--wait`.
    let created = server.api(
        "POST",
        "/pipelines",
        Some(json!({ "name": "slow", "repository": repository(&scratch, WHILE_DRAINING)?.display().to_string() })),
    )?;
    assert_eq!(created.status, 201, "{}", created.body);
    let waiting = slipway()
        .args(["pipelines", "run", "slow", "--wait", "--server", &server.url, "--token", &server.token])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let reason = "waiting for an agent: the agent(s) of pool 'default' that can run this job are offline: a1";
    let run = server.wait_run(1, "the reason the job waits", |run| run["jobs"][0]["message"] == reason)?;
    assert_eq!(run["jobs"][0]["status"], "queued", "{run}");
    let mut waiting = waiting;
    let stderr = waiting.stderr.take().ok_or("no stderr")?;
    let (lines, said) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let shown = said.recv_timeout(Duration::from_secs(30))?;
    assert_eq!(shown, format!("[slow] {reason}"));

    // The agent comes back: the job runs on it; draining shows while it finishes, then offline.
    let work = scratch.0.join("agent-a1");
    let log = std::fs::File::create(scratch.0.join("agent-a1-again.log"))?;
    let mut again = Process(
        slipway()
            .args(["agent", "--server", &server.url, "--work-dir"])
            .arg(&work)
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()?,
    );
    wait_started(&server, 1)?;
    assert_eq!(agent_state(&server, "a1")?, "busy");
    let drain = slipway().args(["agent", "--drain", "--work-dir"]).arg(&work).output()?;
    assert!(drain.status.success(), "{}", String::from_utf8_lossy(&drain.stderr));
    wait_state(&server, "a1", "draining", Duration::from_secs(5))?;
    assert_eq!(again.wait(Duration::from_secs(30))?, Some(0));
    assert_eq!(agent_state(&server, "a1")?, "offline");
    let output = waiting.wait_with_output()?;
    let stderr = reader.join().map_err(|_| "the reader of standard error panicked")?;
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, format!("[slow] {reason}\n"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("[slow] started on a1"));
    let run = server.get_run(1)?;
    assert_eq!(run["jobs"][0]["result"], "Succeeded", "{run}");
    Ok(())
}

/// The capabilities the API shows for the agent `name`.
fn agent_capability(server: &Server, name: &str, key: &str) -> TestResult<Value> {
    let agents = server.api("GET", "/agents", None)?;
    let agent = agents.body["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|agent| agent["name"] == name))
        .ok_or_else(|| format!("no agent {name}: {}", agents.body))?;
    Ok(agent["capabilities"][key].clone())
}

/// Starts `slipway agent` again in the work directory of the agent `name` with `arguments`,
/// waits until it is idle; the process and the file its output goes to.
fn restart_agent(server: &Server, scratch: &Scratch, name: &str, arguments: &[&str]) -> TestResult<(Process, PathBuf)> {
    let log_path = scratch.0.join(format!("agent-{name}-{}.log", COUNTER.fetch_add(1, Ordering::SeqCst)));
    let log = std::fs::File::create(&log_path)?;
    let process = Process(
        slipway()
            .args(["agent", "--work-dir"])
            .arg(scratch.0.join(format!("agent-{name}")))
            .args(arguments)
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()?,
    );
    wait_state(server, name, "idle", Duration::from_secs(30))?;
    Ok((process, log_path))
}

#[test]
fn a_restarted_agent_keeps_its_server_and_capabilities_unless_given_new_ones() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let mut agent = server.agent(&scratch, "k1", &["--capability", "gpu=CUDA12"])?;
    // A second agent on the same work directory is refused; the first goes on.
    let work = scratch.0.join("agent-k1");
    let second = slipway().args(["agent", "--work-dir"]).arg(&work).output()?;
    assert_eq!(second.status.code(), Some(1));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!(
            "another agent (process {}) runs in this work directory: stop it first (slipway agent --work-dir {} --drain)",
            agent.0.id(),
            std::fs::canonicalize(&work)?.display()
        )),
        "{said}"
    );
    assert_eq!(agent_state(&server, "k1")?, "idle");
    agent.kill();
    wait_state(&server, "k1", "offline", Duration::from_secs(10))?;
    // Neither --server nor --capability: what registration kept.
    let (mut agent, log) = restart_agent(&server, &scratch, "k1", &[])?;
    assert_eq!(agent_capability(&server, "k1", "gpu")?, "CUDA12");
    agent.kill();
    wait_state(&server, "k1", "offline", Duration::from_secs(10))?;
    assert!(!std::fs::read_to_string(&log)?.contains("note:"), "{}", std::fs::read_to_string(&log)?);
    // Given again: they replace the kept ones, with a line saying so, and are kept in turn.
    let (mut agent, log) = restart_agent(&server, &scratch, "k1", &["--capability", "gpu=ROCm6", "--pool", "other"])?;
    assert_eq!(agent_capability(&server, "k1", "gpu")?, "ROCm6");
    agent.kill();
    wait_state(&server, "k1", "offline", Duration::from_secs(10))?;
    let said = std::fs::read_to_string(&log)?;
    assert!(
        said.contains(
            "note: the capabilities given now replace the ones kept from before: gpu=ROCm6 (were: gpu=CUDA12)\n"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "note: --pool other is not used: this agent is registered in pool 'default' (register another with \
             another --work-dir)\n"
        ),
        "{said}"
    );
    let (mut agent, _) = restart_agent(&server, &scratch, "k1", &[])?;
    assert_eq!(agent_capability(&server, "k1", "gpu")?, "ROCm6");
    agent.kill();
    wait_state(&server, "k1", "offline", Duration::from_secs(10))?;
    // Never registered: the server's URL is needed.
    let fresh = slipway().args(["agent", "--work-dir"]).arg(scratch.0.join("agent-new")).output()?;
    assert_eq!(fresh.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&fresh.stderr),
        "error: this agent is not registered yet: give it the server's URL with --server URL (or SLIPWAY_SERVER)\n"
    );
    Ok(())
}

/// A pipeline whose step starts a background process and then runs on, both named `marker`.
fn orphan_pipeline(marker: &str) -> String {
    format!(
        "trigger: none\njobs:\n- job: long\n  steps:\n  - checkout: none\n  - script: |\n      (exec -a {marker}-child sleep 300) &\n      echo started on $(Agent.Name)\n      exec -a {marker} sleep 300\n"
    )
}

/// A step dies with the agent that runs it, even killed with SIGKILL (issue 10): with
/// `onAgentLost: requeue` the next attempt never runs beside the first.
#[test]
fn a_killed_agent_takes_its_steps_with_it() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let mut agent = server.agent(&scratch, "doomed", &[])?;
    let marker = format!("slipway-agent-orphan-{}", std::process::id());
    let id = server.run("orphans", &repository(&scratch, &orphan_pipeline(&marker))?)?;
    wait_started(&server, id)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while crate::support::processes_with(&marker) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(crate::support::processes_with(&marker), 2, "the step and its child run");
    agent.kill();
    assert_eq!(crate::support::wait_processes_gone(&marker), 0, "the step outlived its agent");
    Ok(())
}

const ROLLING: &str = "\
trigger: none
stages:
- stage: Deploy
  jobs:
  - deployment: roll
    environment:
      name: prod
      resourceType: VirtualMachine
      tags: web
    strategy:
      rolling:
        maxParallel: 1
        deploy:
          steps:
          - script: |
              echo \"deploying to $(Environment.ResourceName) on $(Agent.Name)\"
              test \"$(Agent.Name)\" != \"web-2\"
        on:
          failure:
            steps:
            - script: echo \"rolling back $(Environment.ResourceName)\"
";

/// A rolling deployment goes across an environment's machines and stops at one that fails; on
/// SQLite and on PostgreSQL (the placement is stored with the run).
mod a_rolling_deployment_goes_across_an_environments_machines_and_stops_at_one_that_fails {
    use super::*;

    #[test]
    fn sqlite() -> TestResult {
        rolling_deployment(None)
    }

    #[test]
    fn postgres() -> TestResult {
        match slipway_testing::postgres_or_skip_blocking("a rolling deployment") {
            Some(url) => rolling_deployment(Some(url)),
            None => Ok(()),
        }
    }
}

fn rolling_deployment(database: Option<String>) -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start_on(&scratch.0.join("data"), 20_000, database)?;
    let _agents = [
        server.agent(&scratch, "web-1", &["--environment", "prod", "--tag", "web"])?,
        server.agent(&scratch, "web-2", &["--environment", "prod", "--tag", "web", "--tag", "eu"])?,
        server.agent(&scratch, "web-3", &["--environment", "prod", "--tag", "web"])?,
        server.agent(&scratch, "db-1", &["--environment", "prod", "--tag", "db"])?,
    ];
    // Registering into an environment makes it.
    let environments = server.api("GET", "/environments", None)?;
    assert_eq!(environments.body["environments"][0]["name"], "prod", "{}", environments.body);
    let id = server.run("rolling", &repository(&scratch, ROLLING)?)?;
    let run = server.wait_completed(id)?;
    assert_eq!(run["result"], "Failed", "{run}");
    // One leg per tagged machine, each on its machine, one at a time; web-2 failed, so web-3
    // was not deployed to, and db-1 (not tagged web) never was a target.
    assert_eq!(holder(job(&run, "Deploy.roll.web-1")?), "agent:web-1", "{run}");
    assert_eq!(job(&run, "Deploy.roll.web-1")?["result"], "Succeeded", "{run}");
    assert_eq!(holder(job(&run, "Deploy.roll.web-2")?), "agent:web-2", "{run}");
    assert_eq!(job(&run, "Deploy.roll.web-2")?["result"], "Failed", "{run}");
    assert!(job(&run, "Deploy.roll.web-3").is_err(), "web-3 must not be deployed to: {run}");
    assert!(job(&run, "Deploy.roll.db-1").is_err(), "{run}");
    let logs = server.logs(id)?;
    assert!(logs["Deploy.roll.web-1"].contains("deploying to web-1 on web-1"), "{logs:?}");
    assert!(logs["Deploy.roll.web-2"].contains("rolling back web-2"), "the failure hook runs on the target: {logs:?}");
    let deployments = server.api("GET", "/environments/prod/deployments", None)?;
    let history: Vec<(String, String)> = deployments.body["deployments"]
        .as_array()
        .ok_or("no deployments")?
        .iter()
        .map(|deployment| {
            (
                deployment["resource"].as_str().unwrap_or_default().to_owned(),
                deployment["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(history, [("web-2".to_owned(), "Failed".to_owned()), ("web-1".to_owned(), "Succeeded".to_owned())]);
    // A machine tag no agent has: the job says so at once.
    let missing = ROLLING.replace("tags: web", "tags: gpu");
    std::fs::write(scratch.0.join("repository/azure-pipelines.yml"), missing)?;
    git(&scratch.0.join("repository"), &["commit", "--quiet", "-am", "gpu"])?;
    let id = server.start_run("rolling")?;
    let run = server.wait_completed(id)?;
    assert_eq!(
        job(&run, "Deploy.roll")?["message"],
        "the stage did not start: deployment job 'roll' deploys to the virtual machines of environment 'prod', and \
         it has none with the tags gpu: register one with `slipway agent --environment prod --tag gpu`",
        "{run}"
    );
    Ok(())
}

/// A canary on a remote agent, judged by the server: the version runs on the agent (its slot
/// process), the tasks reach the server over the agent protocol, and the analysis run goes on
/// across a kill -9 of the server, from what the store kept.
#[test]
fn a_canary_on_an_agent_goes_on_across_a_kill_of_the_server() -> TestResult {
    let scratch = Scratch::new()?;
    let mut server = Server::start(&scratch.0.join("data"), 30_000)?;
    let mut agent = server.agent(&scratch, "d1", &[])?;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    let created = server.api("POST", "/environments", Some(json!({"name": "production"})))?;
    assert_eq!(created.status, 201, "{}", created.body);
    let created =
        server.api("POST", "/environments/production/services", Some(json!({"name": "web", "listen": listen})))?;
    assert_eq!(created.status, 201, "{}", created.body);
    let pipeline = format!(
        r"trigger: none
jobs:
- deployment: web
  environment: production
  strategy:
    canary:
      increments: [50]
      deploy:
        steps:
        - task: SlipwayDeploySlot@1
          condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
          inputs:
            service: web
            slot: canary
            command: {}
            arguments: demo-service --version v1
      routeTraffic:
        steps:
        - task: SlipwayTraffic@1
          inputs: {{service: web, action: route, slot: canary, percent: $(Strategy.Increment)}}
      postRouteTraffic:
        steps:
        - task: SlipwayAnalysis@1
          condition: and(succeeded(), ne(variables['Strategy.Action'], 'promote'))
          inputs:
            service: web
            loadRequestsPerSecond: 40
            template: |
              metrics:
              - name: success-rate
                initialDelay: 2s
                interval: 2s
                count: 4
                successCondition: result >= 0.95
                provider:
                  slipway: {{slot: canary, metric: success-rate, window: 2s}}
      on:
        success:
          steps:
          - task: SlipwayTraffic@1
            inputs: {{service: web, action: promote, slot: canary}}
",
        env!("CARGO_BIN_EXE_slipway")
    );
    let id = server.run("release", &repository(&scratch, &pipeline)?)?;
    // Kill the server once the analysis has measured.
    let start = Instant::now();
    loop {
        let analysis = server.api("GET", "/analysis-runs/1", None)?;
        let measured = analysis.body["metrics"][0]["measurements"].as_array().is_some_and(|taken| !taken.is_empty());
        if measured {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no measurement: {}", analysis.body);
        std::thread::sleep(Duration::from_millis(100));
    }
    server.restart_after_kill()?;
    let run = server.wait_completed(id)?;
    let logs = server.logs(id)?;
    assert_eq!(run["result"], "Succeeded", "{run}\n{logs:#?}");
    let analysis = server.api("GET", "/analysis-runs/1", None)?;
    assert_eq!(analysis.body["phase"], "Successful", "{}", analysis.body);
    let taken = analysis.body["metrics"][0]["measurements"].as_array().map_or(0, Vec::len);
    assert!(taken >= 4, "every measurement kept across the restart: {}", analysis.body);
    let deployments = server.api("GET", "/environments/production/deployments", None)?;
    assert_eq!(deployments.body["deployments"][0]["outcome"], "promoted", "{}", deployments.body);
    // The version runs on the agent, behind the server's router.
    let mut stream = std::net::TcpStream::connect(&listen)?;
    std::io::Write::write_all(&mut stream, b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer)?;
    assert!(answer.contains("\"version\":\"v1\""), "{answer}");
    // A killed agent takes its versions with it (its reaper), rather than leaving them running
    // unsupervised.
    let service = server.api("GET", "/environments/production/services/web", None)?;
    let upstream =
        service.body["slots"][0]["upstream"].as_str().ok_or("no slot")?.trim_start_matches("http://").to_owned();
    assert!(std::net::TcpStream::connect(&upstream).is_ok(), "the version runs at {upstream}");
    agent.kill();
    let start = Instant::now();
    while std::net::TcpStream::connect(&upstream).is_ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "the version outlived its killed agent");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A release of `parameters.version` across the web machines, each machine's version a slot of
/// the service named after the machine: `rolling` one machine at a time, each judged by an
/// analysis of its own slot before the next machine is touched; a machine whose version fails its
/// analysis is taken out of the traffic, and the rolling stops there.
fn rolling_release(slipway: &str) -> String {
    format!(
        r"trigger: none
parameters:
- name: version
  type: string
- name: errorRate
  type: string
  default: '0'
- name: maxParallel
  type: string
  default: '1'
stages:
- stage: Deploy
  jobs:
  - deployment: roll
    environment:
      name: prod
      resourceType: VirtualMachine
      tags: web
    strategy:
      rolling:
        maxParallel: ${{{{ parameters.maxParallel }}}}
        deploy:
          steps:
          - task: SlipwayDeploySlot@1
            inputs:
              service: web
              slot: $(Environment.ResourceName)
              command: {slipway}
              arguments: demo-service --version ${{{{ parameters.version }}}} --error-rate ${{{{ parameters.errorRate }}}}
              weight: 10
        postRouteTraffic:
          steps:
          - task: SlipwayAnalysis@1
            inputs:
              service: web
              loadRequestsPerSecond: 90
              template: |
                metrics:
                - name: success-rate
                  initialDelay: 2s
                  successCondition: result >= 0.95
                  provider:
                    slipway: {{slot: '$(Environment.ResourceName)', metric: success-rate, window: 2s}}
        on:
          failure:
            steps:
            - task: SlipwayTraffic@1
              inputs:
                service: web
                action: weights
                weights: $(Environment.ResourceName)=0
"
    )
}

#[test]
fn a_rolling_release_is_judged_machine_by_machine_and_stops_at_a_bad_one() -> TestResult {
    let scratch = Scratch::new()?;
    let server = Server::start(&scratch.0.join("data"), 20_000)?;
    let _agents = [
        server.agent(&scratch, "web-1", &["--environment", "prod", "--tag", "web"])?,
        server.agent(&scratch, "web-2", &["--environment", "prod", "--tag", "web"])?,
        server.agent(&scratch, "web-3", &["--environment", "prod", "--tag", "web"])?,
    ];
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    let created = server.api("POST", "/environments/prod/services", Some(json!({"name": "web", "listen": listen})))?;
    assert_eq!(created.status, 201, "{}", created.body);
    let pipeline = json!({
        "name": "rolling",
        "repository": repository(&scratch, &rolling_release(env!("CARGO_BIN_EXE_slipway")))?.display().to_string(),
    });
    assert_eq!(server.api("POST", "/pipelines", Some(pipeline))?.status, 201);
    let release = |parameters: Value| -> TestResult<Value> {
        let started = server.api("POST", "/pipelines/rolling/runs", Some(json!({ "parameters": parameters })))?;
        assert_eq!(started.status, 201, "{}", started.body);
        server.wait_completed(started.body["id"].as_i64().ok_or("no run id")?)
    };
    // Version 1 on the three machines at once, each judged.
    let run = release(json!({"version": "v1", "maxParallel": "3"}))?;
    assert_eq!(run["result"], "Succeeded", "{run}");
    // Version 2 answers errors: web-1's analysis fails, web-1 leaves the traffic, and web-2 and
    // web-3 are not touched (they keep version 1).
    let run = release(json!({"version": "v2", "errorRate": "0.5"}))?;
    assert_eq!(run["result"], "Failed", "{run}");
    let first = run["jobs"]
        .as_array()
        .ok_or("no jobs")?
        .iter()
        .filter(|job| job["key"].as_str().is_some_and(|key| key.starts_with("Deploy.roll.")))
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 1, "one machine was deployed to before the rolling stopped: {run}");
    let bad = first[0]["key"].as_str().unwrap_or_default().trim_start_matches("Deploy.roll.").to_owned();
    let service = server.api("GET", "/environments/prod/services/web", None)?;
    for slot in service.body["slots"].as_array().ok_or("no slots")? {
        let weight = slot["weight"].as_u64().unwrap_or_default();
        if slot["name"] == bad.as_str() {
            assert_eq!(weight, 0, "the bad machine leaves the traffic: {}", service.body);
        } else {
            assert_eq!(weight, 10, "{}", service.body);
        }
    }
    for _ in 0..20 {
        let mut stream = std::net::TcpStream::connect(&listen)?;
        std::io::Write::write_all(&mut stream, b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer)?;
        assert!(answer.contains("\"version\":\"v1\""), "only version 1 serves: {answer}");
    }
    Ok(())
}
