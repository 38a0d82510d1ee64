//! Task folders: a `task.json` and its implementation, as in Microsoft's azure-pipelines-tasks
//! repository or an extracted marketplace extension.
//!
//! [`discover`] finds every `task.json` under the task directories (`--tasks DIR`) and reads it
//! as the agent does; [`find`] picks the folder a step's `task: NAME@MAJOR` means; the folder's
//! [`TaskFolder::inputs`] go to [`Inputs::resolve`](crate::Inputs::resolve) to validate the step's
//! inputs; [`run`] runs the best handler the machine can run, with the environment the agent
//! gives task processes (inputs as `INPUT_<NAME>`, secret variables as `SECRET_<NAME>`, and what
//! the task library reads).

mod json;
mod manifest;
mod run;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::{InputSpec, Inputs, Outcome, TaskHost, TaskReference};

/// How many directory levels below a task directory `task.json` files are looked for: enough for
/// an extracted extension (`extension/buildtasks/MyTask/MyTaskV2/task.json`).
const SEARCH_DEPTH: usize = 5;

/// A task folder that was found and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFolder {
    /// The task's name from `task.json`, as written in `task: NAME@MAJOR`.
    pub name: String,
    /// The task's id (a GUID), which a step may write instead of the name.
    pub id: String,
    /// The name shown to people (`friendlyName`; the name when there is none).
    pub friendly_name: String,
    /// Major, minor and patch version.
    pub version: (u32, u32, u32),
    /// The folder that holds `task.json`.
    pub directory: PathBuf,
    /// The task's inputs, for [`Inputs::resolve`](crate::Inputs::resolve).
    pub inputs: Vec<InputSpec>,
    /// The execution handlers, best first (newest Node, then PowerShell, then a process).
    pub handlers: Vec<Handler>,
    /// The names of the output variables the task declares.
    pub output_variables: Vec<String>,
}

impl TaskFolder {
    /// The task as a step refers to it: `NAME@MAJOR`.
    #[must_use]
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version.0)
    }
}

/// An execution handler from `task.json`'s `execution`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// A JavaScript file run with Node.
    Node {
        /// The handler's name, which says the Node version it was written for: `Node24`,
        /// `Node20_1`, `Node16`, `Node10`, `Node` (Node 6).
        runtime: String,
        /// The script, inside the task folder.
        target: PathBuf,
    },
    /// A PowerShell script run with `pwsh` and the task SDK (`VstsTaskSdk`) the folder carries
    /// (`PowerShell3`, and `Pwsh` of newer agents).
    PowerShell3 {
        /// The script, inside the task folder.
        target: PathBuf,
    },
    /// A program run with arguments.
    Process {
        /// The program, inside the task folder.
        target: PathBuf,
        /// Its argument text (`argumentFormat`), which may name inputs as `$(input)`.
        arguments: String,
    },
    /// A handler Slipway does not run (`PowerShell`, the Windows PowerShell 1 host;
    /// `HttpRequest`, `ServerEvent` and other server-side handlers), by name.
    Unsupported(String),
}

/// What [`discover`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Every task folder read, in the order of the directories given, then by path.
    pub folders: Vec<TaskFolder>,
    /// What could not be used: a `task.json` that is unreadable or invalid (its path and what is
    /// wrong), a task directory that does not exist or holds no `task.json`.
    pub problems: Vec<String>,
}

/// Finds and reads the task folders in `directories`. Each may itself be a task folder, hold task
/// folders, or hold an extension's layout a few levels deep; `node_modules` and hidden
/// directories are not searched, nor the inside of a task folder.
#[must_use]
pub fn discover(directories: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    for directory in directories {
        if !directory.is_dir() {
            discovery.problems.push(format!("{}: no such directory", directory.display()));
            continue;
        }
        let before = (discovery.folders.len(), discovery.problems.len());
        search(directory, 0, &mut discovery);
        if (discovery.folders.len(), discovery.problems.len()) == before {
            discovery.problems.push(format!(
                "{}: no task.json here or in the {SEARCH_DEPTH} directory levels below",
                directory.display()
            ));
        }
    }
    discovery
}

fn search(directory: &Path, depth: usize, discovery: &mut Discovery) {
    let manifest = directory.join("task.json");
    if manifest.is_file() {
        match manifest::read(&manifest) {
            Ok(folder) => discovery.folders.push(folder),
            Err(problem) => discovery.problems.push(format!("{}: {problem}", manifest.display())),
        }
        return;
    }
    if depth >= SEARCH_DEPTH {
        return;
    }
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            discovery.problems.push(format!("{}: cannot be read: {error}", directory.display()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != "node_modules"
        })
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    children.sort();
    for child in children {
        search(&child, depth + 1, discovery);
    }
}

/// The folder that provides `reference`: its name or id matches ignoring case, and its major
/// version when the reference gives one; of several, the highest version (the first found when
/// two have the same).
#[must_use]
pub fn find<'a>(folders: &'a [TaskFolder], reference: &TaskReference) -> Option<&'a TaskFolder> {
    folders
        .iter()
        .filter(|folder| {
            folder.name.eq_ignore_ascii_case(&reference.name) || folder.id.eq_ignore_ascii_case(&reference.name)
        })
        .filter(|folder| reference.major.is_none_or(|major| folder.version.0 == major))
        .fold(None, |best: Option<&TaskFolder>, folder| match best {
            Some(best) if best.version >= folder.version => Some(best),
            _ => Some(folder),
        })
}

/// The inputs of a task folder, for [`Inputs::resolve`](crate::Inputs::resolve).
#[must_use]
pub fn input_specs(folder: &TaskFolder) -> &[InputSpec] {
    &folder.inputs
}

/// Runs a task folder as the agent does, with `inputs` resolved against [`TaskFolder::inputs`].
///
/// The handler is the newest Node handler when `node` is on the `PATH`, else `PowerShell3` when
/// `pwsh` is, else a `Process` handler. A Node task runs as `node <target>` in the job's default
/// working directory; a PowerShell task as `pwsh` importing the folder's `VstsTaskSdk` and
/// dot-sourcing the script, in the script's directory. Either gets `INPUT_<NAME>` for each input,
/// `SECRET_<NAME>` for each secret variable, and `AGENT_VERSION`, `SYSTEM_CULTURE` and
/// `AGENT_TEMPDIRECTORY` when the job has no such variables (`AGENT_VERSION` also when the job's
/// is Slipway's own version rather than an Azure agent's); the other variables reach it through
/// the job's environment. The process's `##vso[task.complete]` decides the result (the host
/// handles it); failing that, a non-zero exit code fails the task. A missing runtime fails with a
/// message naming it.
pub fn run(folder: &TaskFolder, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let job_path = host.variable("PATH");
    let available = |program: &str| run::on_path(program, job_path.as_deref());
    run::run_with(folder, inputs, host, &available)
}
