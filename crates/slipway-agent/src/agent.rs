//! The agent's life: register once (the credential is kept in the work directory), say hello,
//! then lease jobs one at a time and run them until asked to drain.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_protocol::{HelloRequest, JobMessage, PROTOCOL_VERSION, RegisterRequest, ReportedState};
use slipway_runtime::CancelToken;

use slipway_client::{AgentClient as Client, ClientError};

use crate::client::JobUplink;
use crate::runner::{self, AgentIdentity, JobPlace, JobReport};

/// The file in the work directory that keeps the agent's credential (mode 0600).
pub const CREDENTIAL_FILE: &str = "agent.json";

/// The file in the work directory that holds the running agent's process id.
pub const PID_FILE: &str = "agent.pid";

/// How many runs' directories an agent keeps in its work directory.
const RUNS_KEPT: usize = 10;

/// What `slipway agent` was given.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    /// The server's URL; the one the credential file holds when `None`.
    pub server: Option<String>,
    /// A registration token, needed the first time (when the work directory has no credential).
    pub token: Option<String>,
    /// The agent's name; the machine's name when `None`. Only used to register.
    pub name: Option<String>,
    /// The pool it serves; `default` when `None`. Only used to register.
    pub pool: Option<String>,
    /// Where it keeps its credential, checkouts and job directories.
    pub work_dir: PathBuf,
    /// Capabilities given by the user, added to the detected ones: kept in the credential file,
    /// and replacing the kept ones when given again; the kept ones when `None`.
    pub capabilities: Option<BTreeMap<String, String>>,
    /// How long a minute of `timeoutInMinutes` lasts (a minute, except in tests).
    pub minute: Duration,
}

/// The credential file's content.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credential {
    server: String,
    agent_id: i64,
    name: String,
    pool: String,
    credential: String,
    /// The capabilities the user gave (`--capability`), kept for later starts.
    #[serde(default)]
    capabilities: BTreeMap<String, String>,
}

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The work directory cannot be used.
    #[error("{path}: {reason}")]
    WorkDir {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// There is no credential and no registration token to get one.
    #[error(
        "this agent is not registered yet: give it a registration token with --token (an admin creates one with \
         POST /api/v1/registration-tokens)"
    )]
    NotRegistered,
    /// There is no credential and no server to register with.
    #[error("this agent is not registered yet: give it the server's URL with --server URL (or SLIPWAY_SERVER)")]
    NoServer,
    /// The server refused (a used token, a taken name, another protocol version, a revoked agent).
    #[error("{0}")]
    Refused(String),
    /// The server cannot be reached at start.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// What the agent tells its caller as it goes, for it to show.
#[derive(Clone, Debug)]
pub enum AgentNotice {
    /// Registered: the credential was written to this file.
    Registered {
        /// The agent's name.
        name: String,
        /// The credential file.
        path: PathBuf,
    },
    /// Connected and waiting for jobs.
    Ready {
        /// The agent's name.
        name: String,
        /// Its pool.
        pool: String,
        /// The server.
        server: String,
    },
    /// A job was leased.
    JobStarted {
        /// Its key.
        key: String,
        /// Its run.
        run: i64,
    },
    /// A job ended.
    JobFinished {
        /// Its key.
        key: String,
        /// How.
        report: JobReport,
    },
    /// A start gave settings that differ from the kept ones: what now holds.
    Changed(String),
    /// The server cannot be reached; the agent tries again.
    Unreachable(String),
    /// Drained: no more jobs.
    Drained,
}

/// How the agent is steered from outside (signals): drain, cancel the current job.
#[derive(Debug, Default)]
pub struct Control {
    drain: AtomicBool,
    client: Mutex<Option<Client>>,
    cancel: Mutex<Option<CancelToken>>,
}

impl Control {
    /// A control with nothing asked.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Finish the current job and take no more. The server is told at once, so that a waiting
    /// lease request ends.
    pub fn drain(&self) {
        if self.drain.swap(true, Ordering::SeqCst) {
            return;
        }
        let client = self.client.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(client) = client {
            let spawned = std::thread::Builder::new()
                .name("drain".into())
                .spawn(move || report_state(&client, ReportedState::Draining));
            if let Err(error) = spawned {
                tracing::warn!(%error, "no thread to tell the server the agent drains; it learns it when the agent stops");
            }
        }
    }

    /// Whether draining was asked for.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.drain.load(Ordering::SeqCst)
    }

    /// Cancels the job running now, if any (as a cancelled run would).
    pub fn cancel_job(&self) {
        if let Some(cancel) = self.cancel.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            cancel.cancel();
        }
    }
}

fn work_dir_error(path: &Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |error| AgentError::WorkDir { path: path.to_path_buf(), reason: error.to_string() }
}

fn read_credential(work_dir: &Path, server: Option<&str>) -> Result<Option<Credential>, AgentError> {
    let path = work_dir.join(CREDENTIAL_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(work_dir_error(&path)(error)),
    };
    let credential: Credential = serde_json::from_str(&text).map_err(|error| AgentError::WorkDir {
        path: path.clone(),
        reason: format!("not a credential file: {error}"),
    })?;
    if let Some(server) = server
        && credential.server.trim_end_matches('/') != server.trim_end_matches('/')
    {
        return Err(AgentError::WorkDir {
            path,
            reason: format!(
                "it holds the credential for {}, not {server}: use another --work-dir per server",
                credential.server
            ),
        });
    }
    Ok(Some(credential))
}

/// The pool an agent registers in when none is given.
pub const DEFAULT_POOL: &str = "default";

/// The kept registration, with the capabilities given at this start (if any) replacing the kept
/// ones; says what changed, and what a name or pool given now cannot change.
fn keep_or_replace(
    work_dir: &Path,
    mut credential: Credential,
    options: &AgentOptions,
    notify: &mut dyn FnMut(AgentNotice),
) -> Result<Credential, AgentError> {
    if let Some(name) = options.name.as_deref().filter(|name| *name != credential.name) {
        notify(AgentNotice::Changed(format!(
            "--name {name} is not used: this work directory is registered as '{}' (register another with another \
             --work-dir)",
            credential.name
        )));
    }
    if let Some(pool) = options.pool.as_deref().filter(|pool| *pool != credential.pool) {
        notify(AgentNotice::Changed(format!(
            "--pool {pool} is not used: this agent is registered in pool '{}' (register another with another \
             --work-dir)",
            credential.pool
        )));
    }
    if let Some(given) = &options.capabilities
        && *given != credential.capabilities
    {
        let shown = |capabilities: &BTreeMap<String, String>| {
            if capabilities.is_empty() {
                "none".to_owned()
            } else {
                capabilities.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(", ")
            }
        };
        notify(AgentNotice::Changed(format!(
            "the capabilities given now replace the ones kept from before: {} (were: {})",
            shown(given),
            shown(&credential.capabilities)
        )));
        credential.capabilities = given.clone();
        write_credential(work_dir, &credential)?;
    }
    Ok(credential)
}

fn write_credential(work_dir: &Path, credential: &Credential) -> Result<PathBuf, AgentError> {
    let path = work_dir.join(CREDENTIAL_FILE);
    let temporary = work_dir.join(format!("{CREDENTIAL_FILE}.tmp"));
    let _ = std::fs::remove_file(&temporary);
    let text = serde_json::to_string_pretty(credential)
        .map_err(|error| AgentError::WorkDir { path: path.clone(), reason: error.to_string() })?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(work_dir_error(&temporary))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(work_dir_error(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(work_dir_error(&path))?;
    Ok(path)
}

/// Checks an agent name: letters, digits, `.`, `_` and `-`.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
    if valid {
        Ok(())
    } else {
        Err(format!("'{name}' is not a valid agent name: use letters, digits, '.', '_' and '-'"))
    }
}

fn default_name() -> String {
    let host: String = slipway_runtime::workspace::hostname()
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() || "._-".contains(character) { character } else { '-' })
        .collect();
    if host.is_empty() { "agent".to_owned() } else { host }
}

/// Waits, retrying while the server cannot be reached, unless draining.
fn with_retries<T>(
    control: &Control,
    notify: &mut dyn FnMut(AgentNotice),
    mut attempt: impl FnMut() -> Result<T, ClientError>,
) -> Result<Option<T>, ClientError> {
    let mut failures: u32 = 0;
    loop {
        match attempt() {
            Ok(value) => return Ok(Some(value)),
            Err(error) if error.is_transient() => {
                if control.is_draining() {
                    return Ok(None);
                }
                if failures == 0 {
                    notify(AgentNotice::Unreachable(error.to_string()));
                }
                failures = failures.saturating_add(1);
                std::thread::sleep(Duration::from_millis(200_u64.saturating_mul(1 << failures.min(4)).min(2_000)));
            }
            Err(error) => return Err(error),
        }
    }
}

/// Runs the agent until it is drained (see the module documentation).
///
/// # Errors
/// When the work directory cannot be used, registration fails, or the server refuses the agent.
pub fn run(options: &AgentOptions, control: &Control, notify: &mut dyn FnMut(AgentNotice)) -> Result<(), AgentError> {
    std::fs::create_dir_all(&options.work_dir).map_err(work_dir_error(&options.work_dir))?;
    let work_dir = std::fs::canonicalize(&options.work_dir).map_err(work_dir_error(&options.work_dir))?;
    let pid_path = work_dir.join(PID_FILE);
    // Two agents on one work directory would share a credential and step on each other's jobs.
    if let Some(other) = running_agent(&pid_path) {
        return Err(AgentError::WorkDir {
            path: work_dir.clone(),
            reason: format!(
                "another agent (process {other}) runs in this work directory: stop it first (slipway agent \
                 --work-dir {} --drain), or give this one another --work-dir",
                work_dir.display()
            ),
        });
    }
    std::fs::write(&pid_path, format!("{}\n", std::process::id())).map_err(work_dir_error(&pid_path))?;
    let credential = match read_credential(&work_dir, options.server.as_deref())? {
        Some(credential) => keep_or_replace(&work_dir, credential, options, notify)?,
        None => {
            let server = options.server.clone().ok_or(AgentError::NoServer)?;
            let client = Client::new(&server)?;
            let token = options.token.clone().ok_or(AgentError::NotRegistered)?;
            let name = options.name.clone().unwrap_or_else(default_name);
            check_name(&name).map_err(AgentError::Refused)?;
            let given = options.capabilities.clone().unwrap_or_default();
            let capabilities = crate::capabilities::detect(&name, &given);
            let request = RegisterRequest {
                protocol_version: PROTOCOL_VERSION,
                registration_token: token,
                name,
                pool: options.pool.clone().unwrap_or_else(|| DEFAULT_POOL.to_owned()),
                version: slipway_protocol::SOFTWARE_VERSION.to_owned(),
                capabilities,
            };
            let registered = match with_retries(control, notify, || client.register(&request)) {
                Ok(Some(registered)) => registered,
                Ok(None) => return Ok(()),
                Err(ClientError::Api(problem)) => return Err(AgentError::Refused(problem.detail)),
                Err(error) => return Err(error.into()),
            };
            let credential = Credential {
                server,
                agent_id: registered.agent_id,
                name: registered.name,
                pool: registered.pool,
                credential: registered.credential,
                capabilities: given,
            };
            let path = write_credential(&work_dir, &credential)?;
            notify(AgentNotice::Registered { name: credential.name.clone(), path });
            credential
        }
    };
    let client = Client::new(&credential.server)?.with_credential(&credential.credential);
    *control.client.lock().unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
    let capabilities = crate::capabilities::detect(&credential.name, &credential.capabilities);
    let hello = HelloRequest { version: slipway_protocol::SOFTWARE_VERSION.to_owned(), capabilities };
    let settings = match with_retries(control, notify, || client.hello(&hello)) {
        Ok(Some(answer)) => answer.settings,
        Ok(None) => return Ok(()),
        Err(ClientError::Api(problem)) => return Err(AgentError::Refused(problem.detail)),
        Err(error) => return Err(error.into()),
    };
    if control.is_draining() {
        report_state(&client, ReportedState::Draining);
    }
    notify(AgentNotice::Ready {
        name: credential.name.clone(),
        pool: credential.pool.clone(),
        server: credential.server.clone(),
    });
    let identity =
        AgentIdentity { name: credential.name.clone(), id: credential.agent_id, work_folder: work_dir.clone() };
    let wait = Duration::from_millis(settings.long_poll_ms.max(100));
    // The versions of services its deployment jobs start: they outlive the jobs, and stop when
    // the agent does.
    let slots = slipway_runtime::slots::SlotSupervisor::new();
    while !control.is_draining() {
        let leased = match with_retries(control, notify, || client.lease(wait)) {
            Ok(leased) => leased.flatten(),
            Err(ClientError::Api(problem)) => return Err(AgentError::Refused(problem.detail)),
            Err(error) => return Err(error.into()),
        };
        let Some(message) = leased else { continue };
        notify(AgentNotice::JobStarted { key: message.job.key.clone(), run: message.run.id });
        let report = run_leased(&client, &message, &work_dir, &identity, options, control, &slots);
        notify(AgentNotice::JobFinished { key: message.job.key.clone(), report });
    }
    slots.shutdown();
    report_state(&client, ReportedState::Offline);
    let _ = std::fs::remove_file(&pid_path);
    notify(AgentNotice::Drained);
    Ok(())
}

/// Tells the server what the agent is doing. A report that fails is logged with what was not
/// told: the server then learns it late (a draining agent may still be offered a job, which it
/// runs; an agent that stopped is shown offline once its silence is long enough).
fn report_state(client: &Client, state: ReportedState) {
    if let Err(error) = client.set_state(state) {
        tracing::warn!(%error, ?state, "telling the server the agent's state failed");
    }
}

/// Runs one leased job in `runs/RUN_ID` of the work directory.
fn run_leased(
    client: &Client,
    message: &JobMessage,
    work_dir: &Path,
    identity: &AgentIdentity,
    options: &AgentOptions,
    control: &Control,
    slots: &std::sync::Arc<slipway_runtime::slots::SlotSupervisor>,
) -> JobReport {
    let runs = work_dir.join("runs");
    remove_old_runs(&runs, message.run.id);
    let run_dir = runs.join(message.run.id.to_string());
    let place = JobPlace {
        run_dir: run_dir.join("work"),
        source_dir: run_dir.join("source"),
        artifacts_dir: run_dir.join("work").join("artifacts"),
        cache_dir: work_dir.join("cache"),
        minute: options.minute,
        confinement: None,
        environment: None,
        slots: Some((std::sync::Arc::clone(slots), work_dir.join("slots"))),
    };
    let cancel = CancelToken::new();
    *control.cancel.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel.clone());
    let uplink = Arc::new(JobUplink::new(client.clone(), message.job.id, &message.lease.lease_id));
    let source_dir = place.source_dir.clone();
    let tools = identity.work_folder.join("_tool");
    let prepare = || {
        if runner::needs_source(message) {
            let repository = &message.repository;
            slipway_git::checkout_commit(&repository.uri, &repository.commit, None, &source_dir)
                .map_err(|error| error.to_string())?;
        } else {
            std::fs::create_dir_all(&source_dir).map_err(|error| format!("{}: {error}", source_dir.display()))?;
        }
        Ok(message
            .osv
            .as_ref()
            .and_then(|wanted| crate::osv::sync_for_job(client, &tools, wanted))
            .into_iter()
            .collect())
    };
    let report = runner::run_job(message, &place, identity, uplink, &cancel, &prepare);
    *control.cancel.lock().unwrap_or_else(PoisonError::into_inner) = None;
    report
}

/// Removes the directories of older runs, keeping the newest few and the current one.
fn remove_old_runs(runs: &Path, current: i64) {
    let Ok(entries) = std::fs::read_dir(runs) else { return };
    let mut ids: Vec<i64> =
        entries.filter_map(Result::ok).filter_map(|entry| entry.file_name().to_str()?.parse().ok()).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    for id in ids.into_iter().filter(|id| *id != current).skip(RUNS_KEPT) {
        let _ = std::fs::remove_dir_all(runs.join(id.to_string()));
    }
}

/// The process of an agent that still runs with this PID file (an earlier life that ended
/// without removing it is not one: its process is gone, or is another program).
fn running_agent(pid_path: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_path).ok()?.trim().parse().ok()?;
    if pid == std::process::id() {
        return None;
    }
    let command = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<&[u8]> = command.split(|byte| *byte == 0).collect();
    let is_agent = words.first().is_some_and(|program| program.ends_with(b"slipway"))
        && words.iter().any(|word| *word == b"agent");
    is_agent.then_some(pid)
}

/// Why `slipway agent --drain` could not ask the agent to drain.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// No agent's process id file in the work directory.
    #[error("no agent runs in {}: {source}", work_dir.display())]
    NoAgent {
        /// The work directory.
        work_dir: PathBuf,
        /// Why the file could not be read.
        source: std::io::Error,
    },
    /// The file does not hold a process id.
    #[error("{} does not hold a process id", .0.display())]
    NotAProcessId(PathBuf),
    /// The signal could not be sent.
    #[error("could not signal the agent (process {pid}): {source}")]
    Signal {
        /// The agent's process id.
        pid: i32,
        /// Why.
        source: nix::errno::Errno,
    },
}

/// Asks the agent running in `work_dir` to drain (SIGTERM to the process in [`PID_FILE`]).
///
/// # Errors
/// When no agent runs there.
pub fn request_drain(work_dir: &Path) -> Result<u32, DrainError> {
    let path = work_dir.join(PID_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| DrainError::NoAgent { work_dir: work_dir.to_path_buf(), source })?;
    let Ok(pid) = text.trim().parse::<i32>() else { return Err(DrainError::NotAProcessId(path)) };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM)
        .map_err(|source| DrainError::Signal { pid, source })?;
    Ok(u32::try_from(pid).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};

    use slipway_protocol::ReportedState;

    use super::{Client, report_state};

    /// What a subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// A state report the server never gets (nothing listens) is a warning naming the state
    /// that was not told and why, not silence.
    #[test]
    fn a_state_report_that_fails_is_logged_with_the_state_and_why() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
        let client = Client::new("http://127.0.0.1:1").expect("a client");
        tracing::subscriber::with_default(subscriber, || report_state(&client, ReportedState::Offline));
        let logged = String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned();
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("telling the server the agent's state failed"), "{logged}");
        assert!(logged.contains("state=Offline") && logged.contains("127.0.0.1:1"), "{logged}");
    }
}
