//! Running a task folder's handler as the agent does: the best handler this machine can run, its
//! target started through [`TaskHost::run`] (which streams the output, processes `##vso` logging
//! commands and masks secrets), and the environment the agent gives task processes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Handler, TaskFolder};
use crate::{CommandLine, Inputs, Outcome, TaskHost};

/// The agent version task processes are told they run on (`AGENT_VERSION`) when the job does not
/// say: tasks compare it with the `minimumAgentVersion` they need, and Slipway runs what recent
/// agents run (Node 20 and Node 16 handlers, task-lib 4 and 5).
pub(super) const AGENT_VERSION: &str = "4.248.0";

/// The culture task processes are told to use (`SYSTEM_CULTURE`) when the job does not say; the
/// task library picks the task's localized messages with it.
pub(super) const CULTURE: &str = "en-US";

/// Runs `folder` with the handler [`choose`] picks; `available` says whether a program (`node`,
/// `pwsh`) can be found on the `PATH`.
pub(super) fn run_with(
    folder: &TaskFolder,
    inputs: &Inputs,
    host: &mut dyn TaskHost,
    available: &dyn Fn(&str) -> bool,
) -> Outcome {
    let handler = match choose(folder, available) {
        Ok(handler) => handler,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let label = folder.reference();
    let (mut command, runtime) = match handler {
        Handler::Node { runtime, target } => {
            if let Err(error) = target_exists(folder, runtime, target) {
                return Outcome::Failed(error.to_string());
            }
            let command = CommandLine {
                program: "node".to_owned(),
                arguments: vec![target.to_string_lossy().into_owned()],
                working_directory: Some(host.working_directory()),
                environment: Vec::new(),
            };
            (command, format!("Node (handler {runtime})"))
        }
        Handler::PowerShell3 { target } => {
            if let Err(error) = target_exists(folder, "PowerShell3", target) {
                return Outcome::Failed(error.to_string());
            }
            let directory = target.parent().map_or_else(|| folder.directory.clone(), Path::to_path_buf);
            let module = directory.join("ps_modules").join("VstsTaskSdk").join("VstsTaskSdk.psd1");
            if !module.is_file() {
                return Outcome::Failed(format!(
                    "the task {label} needs the VstsTaskSdk PowerShell module, which is not in the task folder: {} is missing",
                    module.display()
                ));
            }
            let debug = host.variable("System.Debug").is_some_and(|debug| debug.trim().eq_ignore_ascii_case("true"));
            let command = CommandLine {
                program: "pwsh".to_owned(),
                arguments: powershell_arguments(&module, target, debug),
                // As the agent does, a PowerShell task starts in its script's directory.
                working_directory: Some(directory),
                environment: Vec::new(),
            };
            (command, "PowerShell (handler PowerShell3)".to_owned())
        }
        Handler::Process { target, arguments } => {
            let target = PathBuf::from(expand_macros(&target.to_string_lossy(), folder, inputs));
            if let Err(error) = target_exists(folder, "Process", &target) {
                return Outcome::Failed(error.to_string());
            }
            let command = CommandLine {
                program: target.to_string_lossy().into_owned(),
                arguments: split_arguments(&expand_macros(arguments, folder, inputs)),
                working_directory: Some(host.working_directory()),
                environment: Vec::new(),
            };
            (command, "its program (handler Process)".to_owned())
        }
        Handler::Unsupported(name) => {
            return Outcome::Failed(format!("the task {label} cannot run its {name} handler"));
        }
    };
    let temporary = if host.variable("Agent.TempDirectory").is_none() { TemporaryDirectory::create() } else { None };
    command.environment = environment(inputs, &*host, temporary.as_ref().map(|temporary| temporary.0.as_path()));
    let (major, minor, patch) = folder.version;
    host.log(&format!(
        "Task {label} ({major}.{minor}.{patch}) from {}, run with {runtime}",
        folder.directory.display()
    ));
    let result = host.run(&command);
    drop(temporary);
    match result {
        Ok(0) => Outcome::Succeeded,
        Ok(code) => Outcome::Failed(format!("the task {label} failed: `{}` exited with code {code}", command.program)),
        // Mostly a program the host could not find or start (a timeout or a cancellation ends the
        // step as such whatever the task returns).
        Err(error) => Outcome::Failed(format!(
            "the task {label} needs {runtime}, but `{}` could not be started: {error}",
            command.program
        )),
    }
}

/// Why a task folder cannot run here (the step's failure line).
#[derive(Debug, thiserror::Error)]
pub(super) enum CannotRun {
    /// Its one handler's program is not on the `PATH` (`need` names the runtime).
    #[error("the task {task} needs {need}, but `{program}` is not on the PATH")]
    Missing { task: String, need: String, program: &'static str },
    /// Neither `node` nor `pwsh`, which its handlers need, is on the `PATH`.
    #[error("the task {task} needs {first} or {second}, but neither `node` nor `pwsh` is on the PATH")]
    MissingBoth { task: String, first: String, second: String },
    /// `task.json` has no `execution` handler.
    #[error("the task {task} has no `execution` handler in {}", manifest.display())]
    NoHandler { task: String, manifest: PathBuf },
    /// Every handler is of a kind Slipway does not run.
    #[error(
        "the task {task} has no handler Slipway can run (it has {}; Slipway runs Node, PowerShell3 and Process handlers)",
        handlers.join(", ")
    )]
    Unsupported { task: String, handlers: Vec<String> },
    /// A handler's target is not in the folder.
    #[error("the task {task} is incomplete: {} (the target of its {handler} handler) does not exist", target.display())]
    Incomplete { task: String, handler: String, target: PathBuf },
}

/// The handler to run: the newest Node handler when `node` is available, else PowerShell3 when
/// `pwsh` is, else a Process handler.
///
/// # Errors
/// Why none can run, naming the runtimes the task needs.
pub(super) fn choose<'a>(folder: &'a TaskFolder, available: &dyn Fn(&str) -> bool) -> Result<&'a Handler, CannotRun> {
    // The handlers are sorted best first when task.json is read.
    let node = folder.handlers.iter().find(|handler| matches!(handler, Handler::Node { .. }));
    let powershell = folder.handlers.iter().find(|handler| matches!(handler, Handler::PowerShell3 { .. }));
    let process = folder.handlers.iter().find(|handler| matches!(handler, Handler::Process { .. }));
    if let Some(handler) = node
        && available("node")
    {
        return Ok(handler);
    }
    if let Some(handler) = powershell
        && available("pwsh")
    {
        return Ok(handler);
    }
    if let Some(handler) = process {
        return Ok(handler);
    }
    let task = folder.reference();
    let mut needs = Vec::new();
    if let Some(Handler::Node { runtime, .. }) = node {
        needs.push(format!("Node (handler {runtime})"));
    }
    if powershell.is_some() {
        needs.push("PowerShell (handler PowerShell3)".to_owned());
    }
    Err(match needs.as_slice() {
        [need] => {
            let program = if node.is_some() { "node" } else { "pwsh" };
            CannotRun::Missing { task, need: need.clone(), program }
        }
        [first, second] => CannotRun::MissingBoth { task, first: first.clone(), second: second.clone() },
        _ if folder.handlers.is_empty() => CannotRun::NoHandler { task, manifest: folder.directory.join("task.json") },
        _ => {
            let handlers = folder
                .handlers
                .iter()
                .filter_map(|handler| match handler {
                    Handler::Unsupported(name) => Some(name.clone()),
                    _ => None,
                })
                .collect();
            CannotRun::Unsupported { task, handlers }
        }
    })
}

/// Fails clearly when a handler's target is not in the task folder.
fn target_exists(folder: &TaskFolder, handler: &str, target: &Path) -> Result<(), CannotRun> {
    if target.is_file() {
        Ok(())
    } else {
        Err(CannotRun::Incomplete {
            task: folder.reference(),
            handler: handler.to_owned(),
            target: target.to_path_buf(),
        })
    }
}

/// The environment a task process gets besides the job's: `INPUT_<NAME>` for each input,
/// `SECRET_<NAME>` for each secret variable and `VSTS_SECRET_VARIABLES` naming them (which is how
/// the task library's `getVariable` finds them), and what the task library reads when the job
/// has not set it: `AGENT_VERSION` (also when the job's is Slipway's own, not an Azure agent's),
/// `SYSTEM_CULTURE`, and `AGENT_TEMPDIRECTORY` (where it keeps the key of its in-process secret
/// vault; the working directory otherwise).
pub(super) fn environment(inputs: &Inputs, host: &dyn TaskHost, temporary: Option<&Path>) -> Vec<(String, String)> {
    let mut environment = inputs.environment();
    let secrets = host.secret_variables();
    for (name, value) in &secrets {
        environment.push((format!("SECRET_{}", variable_key(name)), value.clone()));
    }
    let names: Vec<&str> = secrets.iter().map(|(name, _)| name.as_str()).collect();
    environment.push(("VSTS_SECRET_VARIABLES".to_owned(), json_list(&names)));
    if host.variable("Agent.Version").is_none_or(|version| !is_azure_agent_version(&version)) {
        environment.push(("AGENT_VERSION".to_owned(), AGENT_VERSION.to_owned()));
    }
    if host.variable("System.Culture").is_none() {
        environment.push(("SYSTEM_CULTURE".to_owned(), CULTURE.to_owned()));
    }
    if let Some(temporary) = temporary {
        environment.push(("AGENT_TEMPDIRECTORY".to_owned(), temporary.to_string_lossy().into_owned()));
    }
    environment
}

/// Whether a job's `Agent.Version` can pass for an Azure agent's (2.x or later). Slipway's own
/// version (0.x) would fail the task library's `assertAgent`, so tasks are told [`AGENT_VERSION`].
fn is_azure_agent_version(version: &str) -> bool {
    version.trim().split('.').next().and_then(|major| major.parse::<u32>().ok()).is_some_and(|major| major >= 2)
}

/// A variable's name as an environment variable: upper case, `.` and spaces as `_`.
pub(super) fn variable_key(name: &str) -> String {
    name.replace(['.', ' '], "_").to_uppercase()
}

/// A JSON list of strings.
fn json_list(items: &[&str]) -> String {
    serde_json::Value::from(items.iter().map(|&item| serde_json::Value::from(item)).collect::<Vec<_>>()).to_string()
}

/// The arguments that load the task SDK from the task folder and run the script in it, as the
/// agent's PowerShell handler does.
fn powershell_arguments(module: &Path, script: &Path, debug: bool) -> Vec<String> {
    let preference = if debug { "Continue" } else { "SilentlyContinue" };
    // The module path sits in one single-quoted string, the script path in one nested in another.
    let module = module.to_string_lossy().replace('\'', "''");
    let script = script.to_string_lossy().replace('\'', "''''");
    let command = format!(
        "Import-Module -Name '{module}' -ArgumentList @{{ NonInteractive = $true }} -ErrorAction Stop ; \
         $VerbosePreference = '{preference}' ; $DebugPreference = '{preference}' ; \
         Invoke-VstsTaskScript -ScriptBlock ([scriptblock]::Create('. ''{script}'''))"
    );
    ["-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted", "-Command"]
        .into_iter()
        .map(str::to_owned)
        .chain([command])
        .collect()
}

/// Replaces `$(currentDirectory)` (the task folder) and `$(input)` (an input's value) in a Process
/// handler's target and arguments; other `$(...)` stay as written.
fn expand_macros(text: &str, folder: &TaskFolder, inputs: &Inputs) -> String {
    let mut expanded = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$(") {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else {
            rest = &rest[start..];
            break;
        };
        let name = after[..end].trim();
        if name.eq_ignore_ascii_case("currentDirectory") {
            expanded.push_str(&folder.directory.to_string_lossy());
        } else if folder.inputs.iter().any(|input| input.name.eq_ignore_ascii_case(name)) {
            expanded.push_str(inputs.text(name));
        } else {
            expanded.push_str(&rest[start..start + 2 + end + 1]);
        }
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    expanded
}

/// Splits a Process handler's argument text into arguments: whitespace separates them, double
/// quotes group words.
fn split_arguments(text: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut argument = String::new();
    let (mut started, mut quoted) = (false, false);
    for character in text.chars() {
        match character {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            character if character.is_whitespace() && !quoted => {
                if started {
                    arguments.push(std::mem::take(&mut argument));
                    started = false;
                }
            }
            character => {
                argument.push(character);
                started = true;
            }
        }
    }
    if started {
        arguments.push(argument);
    }
    arguments
}

/// Whether `program` is an executable in a directory of the job's `PATH` (when the job has a
/// `PATH` variable) or of this process's.
pub(super) fn on_path(program: &str, job_path: Option<&str>) -> bool {
    let job = job_path.map(|path| std::env::split_paths(path).collect::<Vec<_>>()).unwrap_or_default();
    let system = std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    let names: Vec<String> = if cfg!(windows) {
        [".exe", ".cmd", ""].iter().map(|extension| format!("{program}{extension}")).collect()
    } else {
        vec![program.to_owned()]
    };
    job.iter()
        .chain(system.iter().flatten())
        .any(|directory| names.iter().any(|name| is_executable(&directory.join(name))))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// A private temporary directory for one task process, removed when dropped.
struct TemporaryDirectory(PathBuf);

impl TemporaryDirectory {
    fn create() -> Option<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "slipway-task-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).ok().map(|()| Self(path))
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
