//! Long-running service processes: the **slots** of a service in progressive delivery.
//!
//! A deployment job starts a version of an HTTP app as a slot ([`SlotSupervisor::start`]); the
//! slot outlives the job and belongs to the process that ran it (an agent), which keeps it
//! running until it is told to stop it ([`SlotSupervisor::stop`]) or shuts down
//! ([`SlotSupervisor::shutdown`]).
//!
//! A slot is started in a process group of its own with `PORT=<port>` in its environment (the
//! port given, or a free one the supervisor picks), its output (stdout and stderr) appended to a
//! log file, and is asked `GET http://HOST:PORT/HEALTH_PATH` every 200 ms until it answers 2xx.
//! Once it was healthy, a thread watches it: when it exits without having been told to, it is
//! started again on the same port with the same spec, after a back-off of 1 s doubling up to
//! 30 s, back at 1 s once it stayed up for 60 s (a restarted process is not waited for until
//! healthy). Every restart is noted in its log file and logged with `tracing`. Stopping a slot stops its whole process group (SIGTERM, 5 s of grace,
//! SIGKILL) with [`crate::process::kill_group`]. Each version's process group is known to the
//! step reaper (`crate::process::remember_group`): when the agent (or the server) is killed, its
//! versions go with it instead of running on unsupervised; a restarted agent does not start them
//! again (deploy again).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::process::kill_group;

/// Between SIGTERM and SIGKILL when a slot is stopped.
const GRACE: Duration = Duration::from_secs(5);
/// Between two health checks while a slot starts.
const HEALTH_INTERVAL: Duration = Duration::from_millis(200);
/// The longest one health check may take.
const HEALTH_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The first wait before a slot that exited is started again.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A slot that stayed up this long is restarted after [`FIRST_BACKOFF`] again.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// How often a watched slot is looked at (a stop wakes the watcher at once).
const WATCH_TICK: Duration = Duration::from_millis(100);
/// How many lines of its output an error about a slot quotes.
const TAIL_LINES: usize = 20;
/// How much of the end of a log file is read for those lines.
const TAIL_BYTES: u64 = 64 * 1024;
/// The longest health answer body quoted.
const ANSWER_QUOTE: usize = 200;

/// What to start as a slot.
#[derive(Clone, Debug)]
pub struct SlotSpec {
    /// The slot's name, e.g. `production/web/canary`, for logs and the log file's name.
    pub key: String,
    /// The program, looked up on `PATH` (the `PATH` in [`Self::environment`], if any, else this
    /// process's) unless it holds a `/` (then relative to [`Self::working_directory`]).
    pub program: String,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// Where it runs.
    pub working_directory: PathBuf,
    /// Added to this process's environment; `PORT` is set by the supervisor.
    pub environment: Vec<(String, String)>,
    /// The address the process binds and the health check asks, e.g. `127.0.0.1`.
    pub host: String,
    /// Its port; `None`: the supervisor picks a free one on [`Self::host`].
    pub port: Option<u16>,
    /// The path asked with GET until it answers 2xx, e.g. `/healthz`.
    pub health_path: String,
    /// How long the slot may take to become healthy.
    pub health_timeout: Duration,
    /// Its output is appended to `<log_directory>/<key with / as _>-<port>.log`.
    pub log_directory: PathBuf,
}

/// A slot that started and is healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartedSlot {
    /// Its port.
    pub port: u16,
    /// Where it serves: `http://HOST:PORT`.
    pub upstream: String,
    /// Its process id (also its process group's).
    pub pid: u32,
    /// The file its output is appended to.
    pub log_file: PathBuf,
}

/// A slot a supervisor runs, as [`SlotSupervisor::list`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotProcess {
    /// The slot's name.
    pub key: String,
    /// Where it serves: `http://HOST:PORT`.
    pub upstream: String,
    /// Its port.
    pub port: u16,
    /// Its process id; `None` while it waits to be restarted.
    pub pid: Option<u32>,
    /// How many times it was restarted after it exited.
    pub restarts: u32,
    /// The file its output is appended to.
    pub log_file: PathBuf,
}

/// Why a slot could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// The program is not on `PATH` (or not at the path given).
    #[error("{program}: not found{}", searched(.path))]
    NotFound {
        /// The program asked for.
        program: String,
        /// The `PATH` searched, when it was looked up on one.
        path: Option<String>,
    },
    /// The program could not be started.
    #[error("{program}: cannot start it: {source}")]
    CannotStart {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No free port could be found on the host.
    #[error("no free port on {host}: {source}")]
    NoPort {
        /// The host.
        host: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The log file (or its directory) cannot be written.
    #[error("{}: cannot write the slot's log: {source}", .path.display())]
    LogFile {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Something else listens on the port asked for.
    #[error("{upstream} is taken: {source}")]
    PortTaken {
        /// Where.
        upstream: String,
        /// Why it cannot be listened on.
        #[source]
        source: std::io::Error,
    },
    /// This supervisor already runs a slot there.
    #[error("a slot already runs at {upstream}")]
    AlreadyRunning {
        /// Where.
        upstream: String,
    },
    /// The process exited before it answered its health check.
    #[error("{key} exited ({status}) before it was healthy{}", quoted(.output))]
    ExitedBeforeHealthy {
        /// The slot.
        key: String,
        /// How it exited.
        status: ExitStatus,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// It did not answer its health check with a 2xx in time.
    #[error("{key} was not healthy within {}s (last: {last}){}", .waited.as_secs_f64(), quoted(.output))]
    Unhealthy {
        /// The slot.
        key: String,
        /// How long it was given.
        waited: Duration,
        /// The last answer or connection error of the health check.
        last: String,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// The start was canceled.
    #[error("canceled")]
    Canceled,
    /// The supervisor is shutting down.
    #[error("the slot supervisor is shutting down")]
    ShutDown,
    /// The thread that watches the slot could not be started.
    #[error("cannot watch the slot: {0}")]
    Thread(#[source] std::io::Error),
}

fn searched(path: &Option<String>) -> String {
    path.as_ref().map(|path| format!(" on PATH {path}")).unwrap_or_default()
}

fn quoted(output: &[String]) -> String {
    if output.is_empty() {
        return "; it printed nothing".to_owned();
    }
    let mut text = format!("; the last {} lines of its output:", output.len());
    for line in output {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}

/// Runs the slots of this process (see the module's documentation). Use it inside an [`Arc`];
/// dropping the last one stops every slot.
#[derive(Debug, Default)]
pub struct SlotSupervisor {
    /// The slots, by upstream.
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// No more slots start once set.
    closed: AtomicBool,
}

/// How a slot's process is started (again).
#[derive(Debug)]
struct Launch {
    key: String,
    program: PathBuf,
    arguments: Vec<String>,
    working_directory: PathBuf,
    /// Added to this process's environment, `PORT` last.
    environment: Vec<(String, String)>,
    log_file: PathBuf,
}

impl Launch {
    /// Starts the process in a group of its own, its output appended to the log file; gives it
    /// and how long the log file was before.
    fn spawn(&self) -> Result<(Child, u64), SlotError> {
        let log_error = |source| SlotError::LogFile { path: self.log_file.clone(), source };
        let log = File::options().create(true).append(true).open(&self.log_file).map_err(log_error)?;
        let offset = log.metadata().map_err(log_error)?.len();
        let stdout = log.try_clone().map_err(log_error)?;
        let child = Command::new(&self.program)
            .args(&self.arguments)
            .current_dir(&self.working_directory)
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|source| SlotError::CannotStart { program: self.program.display().to_string(), source })?;
        // If this program is killed (kill -9 of the agent or the server), its reaper takes the
        // version down with it rather than leaving it running unsupervised.
        if let Ok(pgid) = i32::try_from(child.id()) {
            crate::process::remember_group(pgid);
        }
        Ok((child, offset))
    }

    /// Appends a line of the supervisor's own to the log file.
    fn note(&self, text: &str) {
        let line = format!("{} slipway: {text}\n", utc_timestamp(SystemTime::now()));
        let written = File::options()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            tracing::warn!(slot = %self.key, log_file = %self.log_file.display(), %error, "cannot write to the slot's log");
        }
    }
}

/// How a slot process was started (its `PORT` left out): to start the same version again
/// elsewhere, as a baseline beside a canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchedCommand {
    /// The program (found on `PATH` when it started).
    pub program: PathBuf,
    /// Its arguments.
    pub arguments: Vec<String>,
    /// Where it runs.
    pub working_directory: PathBuf,
    /// What was added to its environment.
    pub environment: Vec<(String, String)>,
}

/// A slot being watched.
#[derive(Debug)]
struct Slot {
    upstream: String,
    port: u16,
    launch: Launch,
    state: Mutex<SlotState>,
    /// Wakes the watcher when the slot is to stop.
    wake: Condvar,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct SlotState {
    pid: Option<u32>,
    restarts: u32,
    stopping: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Slot {
    /// Waits until the process exits (its status) or the slot is to stop (`None`).
    fn wait_for_exit(&self, child: &mut Child) -> Option<ExitStatus> {
        let mut state = lock(&self.state);
        loop {
            if state.stopping {
                return None;
            }
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(slot = %self.launch.key, %error, "cannot wait for the slot's process");
                }
            }
            state = self.wake.wait_timeout(state, WATCH_TICK).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Waits `pause`; `true` when the slot is to stop.
    fn pause(&self, pause: Duration) -> bool {
        let deadline = Instant::now() + pause;
        let mut state = lock(&self.state);
        loop {
            if state.stopping {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.wake.wait_timeout(state, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn set_pid(&self, pid: Option<u32>) {
        lock(&self.state).pid = pid;
    }

    /// Tells the watcher to stop the slot and waits until it did.
    fn stop(&self) {
        lock(&self.state).stopping = true;
        self.wake.notify_all();
        let watcher = lock(&self.watcher).take();
        if let Some(watcher) = watcher
            && watcher.join().is_err()
        {
            tracing::error!(slot = %self.launch.key, "the thread watching the slot panicked");
        }
    }

    fn process(&self) -> SlotProcess {
        let state = lock(&self.state);
        SlotProcess {
            key: self.launch.key.clone(),
            upstream: self.upstream.clone(),
            port: self.port,
            pid: state.pid,
            restarts: state.restarts,
            log_file: self.launch.log_file.clone(),
        }
    }
}

/// The wait before a restart and the one after it, from the wait before and how long the
/// process stayed up.
fn backoff(previous: Duration, uptime: Duration) -> (Duration, Duration) {
    let wait = if uptime >= STABLE_AFTER { FIRST_BACKOFF } else { previous };
    (wait, (wait * 2).min(MAX_BACKOFF))
}

/// Watches a healthy slot: restarts it when it exits, stops it when told to.
fn watch(slot: &Slot, mut child: Child) {
    let key = &slot.launch.key;
    let mut since = Instant::now();
    let mut next_wait = FIRST_BACKOFF;
    loop {
        let Some(status) = slot.wait_for_exit(&mut child) else {
            stop_child(&mut child);
            slot.set_pid(None);
            slot.launch.note("stopped");
            tracing::info!(slot = %key, upstream = %slot.upstream, "slot stopped");
            return;
        };
        // Whatever it started may still hold the port.
        stop_child(&mut child);
        slot.set_pid(None);
        let uptime = since.elapsed();
        let (mut wait, mut after) = backoff(next_wait, uptime);
        let restart = {
            let mut state = lock(&slot.state);
            state.restarts += 1;
            state.restarts
        };
        slot.launch.note(&format!(
            "exited ({status}) after {:.1}s without being stopped; restart {restart} in {}s",
            uptime.as_secs_f64(),
            wait.as_secs_f64()
        ));
        tracing::warn!(slot = %key, upstream = %slot.upstream, %status, uptime_s = uptime.as_secs_f64(), restart, wait_s = wait.as_secs_f64(), "slot exited; restarting it");
        loop {
            if slot.pause(wait) {
                slot.launch.note("stopped before its restart");
                return;
            }
            match slot.launch.spawn() {
                Ok((started, _)) => {
                    child = started;
                    break;
                }
                Err(error) => {
                    slot.launch.note(&format!("cannot restart: {error}; trying again in {}s", after.as_secs_f64()));
                    tracing::warn!(slot = %key, %error, "cannot restart the slot");
                    wait = after;
                    after = (after * 2).min(MAX_BACKOFF);
                }
            }
        }
        next_wait = after;
        since = Instant::now();
        slot.set_pid(Some(child.id()));
        slot.launch.note(&format!("restarted (pid {})", child.id()));
        tracing::info!(slot = %key, upstream = %slot.upstream, pid = child.id(), restart, "slot restarted");
    }
}

/// Stops a process's group (SIGTERM, [`GRACE`], SIGKILL) and reaps the process.
fn stop_child(child: &mut Child) {
    if let Ok(pgid) = i32::try_from(child.id()) {
        kill_group(pgid, GRACE);
    }
    // A process that left its group is not reached through it.
    if matches!(child.try_wait(), Ok(None)) {
        let _ = child.kill();
    }
    let _ = child.wait();
    if let Ok(pgid) = i32::try_from(child.id()) {
        crate::process::forget_group(pgid);
    }
}

/// `program` as a path to run: as given when it holds a `/` (relative to `cwd`), else the first
/// executable file of that name on `path`.
fn find_program(program: &str, path: Option<&OsString>, cwd: &Path) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let candidate = cwd.join(program);
        return candidate.exists().then_some(candidate);
    }
    std::env::split_paths(path?).filter(|directory| !directory.as_os_str().is_empty()).find_map(|directory| {
        let candidate = cwd.join(directory).join(program);
        let executable = std::fs::metadata(&candidate)
            .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0);
        executable.then_some(candidate)
    })
}

/// A port free on `host` right now.
fn free_port(host: &str) -> Result<u16, SlotError> {
    let listener =
        TcpListener::bind((host, 0)).map_err(|source| SlotError::NoPort { host: host.to_owned(), source })?;
    let port = listener.local_addr().map_err(|source| SlotError::NoPort { host: host.to_owned(), source })?.port();
    drop(listener);
    Ok(port)
}

/// `http://HOST:PORT`, an IPv6 address in brackets.
fn upstream_of(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

/// The last [`TAIL_LINES`] lines of a log file after `offset`.
fn tail(path: &Path, offset: u64) -> Vec<String> {
    let Ok(mut file) = File::open(path) else { return Vec::new() };
    let length = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    let start = offset.max(length.saturating_sub(TAIL_BYTES));
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.take(TAIL_BYTES).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    // A line cut at the start of what was read is not quoted.
    if start > offset && lines.len() > 1 {
        lines.remove(0);
    }
    let first = lines.len().saturating_sub(TAIL_LINES);
    lines[first..].iter().map(|line| (*line).to_owned()).collect()
}

/// Why a slot did not become healthy.
enum NotHealthy {
    Exited(ExitStatus),
    TimedOut(String),
    Canceled,
}

/// What one health check found: whether it is healthy, and in words.
fn check_health(agent: &ureq::Agent, url: &str, timeout: Duration) -> (bool, String) {
    let request = agent.get(url).config().timeout_global(Some(timeout)).build();
    match request.call() {
        Ok(mut answer) => {
            let status = answer.status();
            let mut text = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
            text.truncate(text.trim_end().len());
            if !status.is_success() {
                let body = answer.body_mut().with_config().limit(16 * 1024).read_to_string().unwrap_or_default();
                let body: String = body.trim().chars().take(ANSWER_QUOTE).collect();
                if !body.is_empty() {
                    text.push_str(": ");
                    text.push_str(&body.replace('\n', " "));
                }
            }
            (status.is_success(), text)
        }
        Err(error) => (false, error.to_string()),
    }
}

/// Asks the slot's health path until it answers 2xx, it exits, the time is up or the start is
/// canceled.
fn wait_until_healthy(
    spec: &SlotSpec,
    url: &str,
    child: &mut Child,
    log: &mut dyn FnMut(&str),
    canceled: &dyn Fn() -> bool,
) -> Result<(), NotHealthy> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_connect(Some(HEALTH_REQUEST_TIMEOUT))
        .build()
        .into();
    let started = Instant::now();
    let mut last: Option<String> = None;
    loop {
        if canceled() {
            return Err(NotHealthy::Canceled);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(NotHealthy::Exited(status));
        }
        let left = spec.health_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(NotHealthy::TimedOut(last.unwrap_or_else(|| "no health check made".to_owned())));
        }
        let (healthy, answer) = check_health(&agent, url, left.min(HEALTH_REQUEST_TIMEOUT));
        if last.as_ref() != Some(&answer) {
            log(&format!("GET {url}: {answer}"));
            tracing::debug!(slot = %spec.key, %url, %answer, "slot health check");
        }
        last = Some(answer);
        if healthy {
            // Not someone else answering on its port.
            if let Ok(Some(status)) = child.try_wait() {
                return Err(NotHealthy::Exited(status));
            }
            return Ok(());
        }
        std::thread::sleep(HEALTH_INTERVAL.min(spec.health_timeout.saturating_sub(started.elapsed())));
    }
}

impl SlotSupervisor {
    /// A supervisor running no slot.
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Starts the process with `PORT=<port>` in its environment in a process group of its own,
    /// polls `GET http://host:port{health_path}` every 200 ms until a 2xx (each answer or error
    /// logged through `log` when it changes), and returns once healthy; from then on the slot is
    /// restarted whenever it exits until it is stopped. On failure the process group is stopped
    /// (SIGTERM, 5 s grace, SIGKILL) and the error says why. `canceled` is polled; when it
    /// returns true, the process is stopped and the answer is [`SlotError::Canceled`].
    ///
    /// # Errors
    /// See [`SlotError`].
    pub fn start(
        &self,
        spec: SlotSpec,
        log: &mut dyn FnMut(&str),
        canceled: &dyn Fn() -> bool,
    ) -> Result<StartedSlot, SlotError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(SlotError::ShutDown);
        }
        let path = spec
            .environment
            .iter()
            .rev()
            .find(|(name, _)| name == "PATH")
            .map(|(_, value)| OsString::from(value))
            .or_else(|| std::env::var_os("PATH"));
        let program =
            find_program(&spec.program, path.as_ref(), &spec.working_directory).ok_or_else(|| SlotError::NotFound {
                program: spec.program.clone(),
                path: (!spec.program.contains('/'))
                    .then(|| path.as_ref().map(|path| path.to_string_lossy().into_owned()).unwrap_or_default()),
            })?;
        let port = match spec.port {
            Some(port) => port,
            None => free_port(&spec.host)?,
        };
        let upstream = upstream_of(&spec.host, port);
        if lock(&self.slots).contains_key(&upstream) {
            return Err(SlotError::AlreadyRunning { upstream });
        }
        if spec.port.is_some() {
            // Else the health check could be answered by whoever holds it.
            if let Err(source) = TcpListener::bind((spec.host.as_str(), port)) {
                return Err(SlotError::PortTaken { upstream, source });
            }
        }
        std::fs::create_dir_all(&spec.log_directory)
            .map_err(|source| SlotError::LogFile { path: spec.log_directory.clone(), source })?;
        let log_file = spec.log_directory.join(format!("{}-{port}.log", spec.key.replace('/', "_")));
        let mut environment: Vec<(String, String)> =
            spec.environment.iter().filter(|(name, _)| name != "PORT").cloned().collect();
        environment.push(("PORT".to_owned(), port.to_string()));
        let launch = Launch {
            key: spec.key.clone(),
            program,
            arguments: spec.arguments.clone(),
            working_directory: spec.working_directory.clone(),
            environment,
            log_file,
        };
        let command_line = std::iter::once(launch.program.display().to_string())
            .chain(launch.arguments.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        log(&format!("starting {}: {command_line} on {upstream} (output in {})", spec.key, launch.log_file.display()));
        launch.note(&format!("starting {command_line} with PORT={port}"));
        let (mut child, offset) = launch.spawn()?;
        let pid = child.id();
        tracing::info!(slot = %spec.key, %upstream, pid, "slot started; waiting until it is healthy");
        let path =
            if spec.health_path.starts_with('/') { spec.health_path.clone() } else { format!("/{}", spec.health_path) };
        let url = format!("{upstream}{path}");
        let started = Instant::now();
        if let Err(failure) = wait_until_healthy(&spec, &url, &mut child, log, canceled) {
            stop_child(&mut child);
            let output = tail(&launch.log_file, offset);
            let error = match failure {
                NotHealthy::Exited(status) => SlotError::ExitedBeforeHealthy { key: spec.key.clone(), status, output },
                NotHealthy::TimedOut(last) => {
                    SlotError::Unhealthy { key: spec.key.clone(), waited: spec.health_timeout, last, output }
                }
                NotHealthy::Canceled => SlotError::Canceled,
            };
            launch.note(&format!("not started: {error}"));
            tracing::warn!(slot = %spec.key, %upstream, %error, "slot did not start");
            return Err(error);
        }
        log(&format!("{} is healthy after {:.1}s (pid {pid})", spec.key, started.elapsed().as_secs_f64()));
        launch.note(&format!("healthy (pid {pid})"));
        tracing::info!(slot = %spec.key, %upstream, pid, "slot healthy");
        let log_file = launch.log_file.clone();
        let slot = Arc::new(Slot {
            upstream: upstream.clone(),
            port,
            launch,
            state: Mutex::new(SlotState { pid: Some(pid), restarts: 0, stopping: false }),
            wake: Condvar::new(),
            watcher: Mutex::new(None),
        });
        {
            let mut slots = lock(&self.slots);
            if self.closed.load(Ordering::SeqCst) || slots.contains_key(&upstream) {
                drop(slots);
                stop_child(&mut child);
                return Err(if self.closed.load(Ordering::SeqCst) {
                    SlotError::ShutDown
                } else {
                    SlotError::AlreadyRunning { upstream }
                });
            }
            let watched = Arc::clone(&slot);
            let watcher = std::thread::Builder::new()
                .name(format!("slot {}", spec.key))
                .spawn(move || watch(&watched, child))
                .map_err(|error| {
                    // The child went with the closure: stop its group by number.
                    if let Ok(pgid) = i32::try_from(pid) {
                        kill_group(pgid, GRACE);
                    }
                    SlotError::Thread(error)
                })?;
            *lock(&slot.watcher) = Some(watcher);
            slots.insert(upstream.clone(), slot);
        }
        Ok(StartedSlot { port, upstream, pid, log_file })
    }

    /// Stops the slot process serving `upstream` (`http://HOST:PORT`, as [`StartedSlot::upstream`])
    /// (SIGTERM to its group, grace 5 s, SIGKILL) and returns once it is gone; `false` when this
    /// supervisor runs none there.
    pub fn stop(&self, upstream: &str) -> bool {
        let slot = lock(&self.slots).remove(upstream.trim_end_matches('/'));
        match slot {
            Some(slot) => {
                slot.stop();
                true
            }
            None => false,
        }
    }

    /// How the slot process serving `upstream` was started, when this supervisor runs it.
    #[must_use]
    pub fn command_of(&self, upstream: &str) -> Option<LaunchedCommand> {
        let slots = lock(&self.slots);
        let slot = slots.get(upstream)?;
        Some(LaunchedCommand {
            program: slot.launch.program.clone(),
            arguments: slot.launch.arguments.clone(),
            working_directory: slot.launch.working_directory.clone(),
            environment: slot.launch.environment.iter().filter(|(name, _)| name != "PORT").cloned().collect(),
        })
    }

    /// The slot processes it runs, sorted by upstream.
    #[must_use]
    pub fn list(&self) -> Vec<SlotProcess> {
        let mut slots: Vec<SlotProcess> = lock(&self.slots).values().map(|slot| slot.process()).collect();
        slots.sort_by(|one, other| one.upstream.cmp(&other.upstream));
        slots
    }

    /// Stops them all, side by side, and starts no more (the agent is shutting down).
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let slots: Vec<Arc<Slot>> = lock(&self.slots).drain().map(|(_, slot)| slot).collect();
        if slots.is_empty() {
            return;
        }
        tracing::info!(count = slots.len(), "stopping every slot");
        for slot in &slots {
            lock(&slot.state).stopping = true;
            slot.wake.notify_all();
        }
        for slot in slots {
            slot.stop();
        }
    }
}

impl Drop for SlotSupervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `time` as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
fn utc_timestamp(time: SystemTime) -> String {
    let seconds = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (days, of_day) = (seconds / 86_400, seconds % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), on a 400-year era.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3_600, of_day % 3_600 / 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot running `sh -c script` in a fresh directory.
    fn sh(directory: &Path, key: &str, script: &str) -> SlotSpec {
        SlotSpec {
            key: key.to_owned(),
            program: "sh".to_owned(),
            arguments: vec!["-c".to_owned(), script.to_owned()],
            working_directory: directory.to_path_buf(),
            environment: Vec::new(),
            host: "127.0.0.1".to_owned(),
            port: None,
            health_path: "/healthz".to_owned(),
            health_timeout: Duration::from_secs(10),
            log_directory: directory.join("logs"),
        }
    }

    /// A tiny HTTP server on `$PORT` answering `/healthz` 200 and `/` with its pid; a request
    /// to `/crash` makes it exit with 3.
    const SERVER: &str = r#"
import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(3)
        body = str(os.getpid()).encode() if self.path == "/" else b"ok"
        self.send_response(200 if self.path in ("/", "/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("serving on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

    fn server(directory: &Path, key: &str) -> SlotSpec {
        std::fs::write(directory.join("server.py"), SERVER).unwrap_or_else(|error| panic!("{error}"));
        SlotSpec { program: "python3".to_owned(), arguments: vec!["server.py".to_owned()], ..sh(directory, key, "") }
    }

    fn directory() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"))
    }

    fn get(upstream: &str, path: &str) -> Result<String, String> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().proxy(None).timeout_global(Some(Duration::from_secs(2))).build().into();
        agent
            .get(&format!("{upstream}{path}"))
            .call()
            .and_then(|mut answer| answer.body_mut().read_to_string())
            .map_err(|error| error.to_string())
    }

    fn start(supervisor: &SlotSupervisor, spec: SlotSpec) -> (Result<StartedSlot, SlotError>, Vec<String>) {
        let mut lines = Vec::new();
        let result = supervisor.start(spec, &mut |line| lines.push(line.to_owned()), &|| false);
        (result, lines)
    }

    fn started(supervisor: &SlotSupervisor, spec: SlotSpec) -> StartedSlot {
        let (result, lines) = start(supervisor, spec);
        result.unwrap_or_else(|error| panic!("{error}\n{}", lines.join("\n")))
    }

    fn gone(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if !crate::process::group_alive(i32::try_from(pid).unwrap_or(0)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn a_healthy_slot_answers_on_the_port_it_was_given() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let slot = started(&supervisor, server(directory.path(), "production/web/canary"));
        assert_eq!(slot.upstream, format!("http://127.0.0.1:{}", slot.port));
        assert_eq!(get(&slot.upstream, "/"), Ok(slot.pid.to_string()));
        assert_eq!(slot.log_file, directory.path().join(format!("logs/production_web_canary-{}.log", slot.port)));
        let log = std::fs::read_to_string(&slot.log_file).unwrap_or_default();
        assert!(log.contains(&format!("serving on {}", slot.port)), "{log}");
        let listed = supervisor.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].pid, Some(slot.pid));
        assert_eq!(listed[0].restarts, 0);
        assert!(supervisor.stop(&slot.upstream));
    }

    #[test]
    fn a_process_that_exits_at_once_says_how_and_what_it_printed() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let (result, _) =
            start(&supervisor, sh(directory.path(), "web", "echo starting; echo 'port $PORT taken' >&2; exit 7"));
        match result {
            Err(SlotError::ExitedBeforeHealthy { status, output, .. }) => {
                assert_eq!(status.code(), Some(7));
                assert_eq!(output, ["starting", "port $PORT taken"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(supervisor.list().is_empty());
    }

    #[test]
    fn a_slot_never_healthy_times_out_and_is_stopped() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let spec = SlotSpec {
            health_path: "/not-here".to_owned(),
            health_timeout: Duration::from_millis(1_500),
            ..server(directory.path(), "web")
        };
        let (result, lines) = start(&supervisor, spec);
        let Err(SlotError::Unhealthy { last, output, .. }) = result else { panic!("{result:?}") };
        assert!(last.starts_with("404"), "{last}");
        assert!(output.iter().any(|line| line.starts_with("serving on")), "{output:?}");
        assert!(lines.iter().any(|line| line.contains("/not-here: 404")), "{lines:?}");
        let message =
            SlotError::Unhealthy { key: "web".into(), waited: Duration::from_secs(1), last, output }.to_string();
        assert!(message.starts_with("web was not healthy within 1s (last: 404"), "{message}");
        assert!(supervisor.list().is_empty());
    }

    #[test]
    fn a_slot_with_nothing_listening_times_out_with_the_connection_error() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let spec = SlotSpec { health_timeout: Duration::from_millis(600), ..sh(directory.path(), "web", "sleep 30") };
        let started = Instant::now();
        let (result, _) = start(&supervisor, spec);
        let Err(SlotError::Unhealthy { last, .. }) = result else { panic!("{result:?}") };
        assert!(last.to_lowercase().contains("refused"), "{last}");
        assert!(started.elapsed() < Duration::from_secs(4), "the sleep was not stopped at once");
    }

    #[test]
    fn a_port_taken_by_another_process_is_refused() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let taken = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("{error}"));
        let port = taken.local_addr().map(|address| address.port()).ok();
        let (result, _) = start(&supervisor, SlotSpec { port, ..server(directory.path(), "web") });
        assert!(matches!(result, Err(SlotError::PortTaken { .. })), "{result:?}");
    }

    #[test]
    fn unknown_programs_and_a_canceled_start() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let spec = SlotSpec { program: "no-such-program-here".to_owned(), ..sh(directory.path(), "web", "") };
        let (result, _) = start(&supervisor, spec);
        assert!(matches!(result, Err(SlotError::NotFound { .. })), "{result:?}");
        let spec = sh(directory.path(), "web", "sleep 30");
        let result = supervisor.start(spec, &mut |_| {}, &|| true);
        assert!(matches!(result, Err(SlotError::Canceled)), "{result:?}");
    }

    #[test]
    fn a_crash_after_healthy_is_restarted_on_the_same_port() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let slot = started(&supervisor, server(directory.path(), "web"));
        let _ = get(&slot.upstream, "/crash");
        let deadline = Instant::now() + Duration::from_secs(8);
        let answer = loop {
            if let Ok(pid) = get(&slot.upstream, "/")
                && pid != slot.pid.to_string()
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "not restarted: {:?}", supervisor.list());
            std::thread::sleep(Duration::from_millis(100));
        };
        let listed = supervisor.list();
        assert_eq!(listed[0].restarts, 1);
        assert_eq!(listed[0].pid.map(|pid| pid.to_string()), Some(answer));
        let log = std::fs::read_to_string(&slot.log_file).unwrap_or_default();
        assert!(log.contains("exited (exit status: 3)") && log.contains("restarted (pid"), "{log}");
        assert!(supervisor.stop(&slot.upstream));
    }

    #[test]
    fn a_stopped_slot_is_gone_and_not_restarted() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let slot = started(&supervisor, server(directory.path(), "web"));
        assert!(supervisor.stop(&slot.upstream));
        assert!(gone(slot.pid));
        assert!(!supervisor.stop(&slot.upstream));
        assert!(supervisor.list().is_empty());
        std::thread::sleep(FIRST_BACKOFF + Duration::from_millis(300));
        assert!(get(&slot.upstream, "/").is_err(), "something answers after the stop");
        let log = std::fs::read_to_string(&slot.log_file).unwrap_or_default();
        assert!(log.trim_end().ends_with("slipway: stopped"), "{log}");
    }

    #[test]
    fn shutdown_stops_every_slot_and_starts_no_more() {
        let directory = directory();
        let supervisor = SlotSupervisor::new();
        let one = started(&supervisor, server(directory.path(), "one"));
        let two = started(&supervisor, server(directory.path(), "two"));
        assert_ne!(one.port, two.port);
        assert_eq!(supervisor.list().len(), 2);
        supervisor.shutdown();
        assert!(gone(one.pid) && gone(two.pid));
        assert!(supervisor.list().is_empty());
        let (result, _) = start(&supervisor, server(directory.path(), "three"));
        assert!(matches!(result, Err(SlotError::ShutDown)), "{result:?}");
    }

    #[test]
    fn back_off_doubles_to_its_limit_and_resets_after_a_stable_run() {
        let quick = Duration::from_secs(2);
        let mut wait = FIRST_BACKOFF;
        let mut waits = Vec::new();
        for _ in 0..7 {
            let (now, next) = backoff(wait, quick);
            waits.push(now.as_secs());
            wait = next;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(MAX_BACKOFF, STABLE_AFTER), (FIRST_BACKOFF, FIRST_BACKOFF * 2));
    }

    #[test]
    fn programs_are_found_on_the_path_given() {
        let directory = directory();
        let bin = directory.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(bin.join("data"), "").unwrap_or_else(|error| panic!("{error}"));
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|error| panic!("{error}"));
        let path = Some(OsString::from(format!("/nowhere:{}", bin.display())));
        assert_eq!(find_program("tool", path.as_ref(), directory.path()), Some(bin.join("tool")));
        assert_eq!(find_program("data", path.as_ref(), directory.path()), None);
        assert_eq!(find_program("bin/tool", None, directory.path()), Some(bin.join("tool")));
        assert_eq!(find_program("tool", None, directory.path()), None);
    }

    #[test]
    fn log_tails_and_timestamps() {
        let directory = directory();
        let file = directory.path().join("out.log");
        let text: String = (0..30).map(|index| format!("line {index}\n")).collect();
        std::fs::write(&file, format!("before\n{text}")).unwrap_or_else(|error| panic!("{error}"));
        let lines = tail(&file, 7);
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines.first().map(String::as_str), Some("line 10"));
        assert_eq!(tail(&file, u64::try_from(text.len() + 7).unwrap_or(0)), Vec::<String>::new());
        assert_eq!(utc_timestamp(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
        assert_eq!(utc_timestamp(leap), "2000-02-29T01:01:01Z");
        assert_eq!(upstream_of("::1", 80), "http://[::1]:80");
    }
}
