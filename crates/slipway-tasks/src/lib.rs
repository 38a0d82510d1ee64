//! Azure Pipelines tasks for Slipway.
//!
//! Six in ten real pipelines use `task:` steps. This crate makes them run without Azure's task
//! server: [`builtin`] holds tasks implemented natively in Rust with Azure's documented inputs,
//! aliases, defaults and validation; [`folder`] reads real task folders (`task.json` plus a Node
//! or PowerShell implementation) so they can be run as the agent runs them. A task talks to the
//! job that runs it only through [`TaskHost`], which the runtime implements; everything that
//! touches the outside world goes through it or through the file system of the job's workspace.

pub mod builtin;
#[cfg(test)]
pub(crate) mod fake;
pub mod folder;
pub mod glob;
pub mod host;
pub mod inputs;

pub use host::{CommandLine, HostError, NO_DELIVERY, PostJob, SetVariable, SlotProcess, StartedProcess, TaskHost};
pub use inputs::{InputKind, InputSpec, Inputs, InputsError};

/// A task reference as written in a step: `CopyFiles@2` is name `CopyFiles`, major version `2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReference {
    /// The task's name (or its id, a GUID).
    pub name: String,
    /// The major version asked for, when given.
    pub major: Option<u32>,
}

impl TaskReference {
    /// Reads a plan's task name and version (`version` is the text after `@`).
    #[must_use]
    pub fn new(name: &str, version: Option<&str>) -> Self {
        let major = version.and_then(|version| version.split('.').next()).and_then(|major| major.trim().parse().ok());
        Self { name: name.trim().to_owned(), major }
    }
}

impl std::fmt::Display for TaskReference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.major {
            Some(major) => write!(formatter, "{}@{major}", self.name),
            None => write!(formatter, "{}", self.name),
        }
    }
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did its work.
    Succeeded,
    /// It did its work, with warnings worth a look.
    SucceededWithIssues(String),
    /// It failed, and says why.
    Failed(String),
}

impl Outcome {
    /// A failure with a message.
    #[must_use]
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

/// What can run a task reference.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// A task implemented in Rust.
    Builtin(&'static builtin::Builtin),
    /// A task folder found under one of the task directories.
    Folder(folder::TaskFolder),
}

/// Finds what runs `reference`: a task folder first (a folder given with `--tasks` overrides a
/// built-in of the same name and major version), then a built-in task.
#[must_use]
pub fn resolve(reference: &TaskReference, folders: &[folder::TaskFolder]) -> Option<Resolved> {
    if let Some(found) = folder::find(folders, reference) {
        return Some(Resolved::Folder(found.clone()));
    }
    builtin::find(reference).map(Resolved::Builtin)
}
