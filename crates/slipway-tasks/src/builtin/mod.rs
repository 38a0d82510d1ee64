//! Tasks implemented natively in Rust, with Azure's documented inputs (names, aliases, defaults,
//! validation), outputs and behaviour, so pipelines that use them run unchanged.
//!
//! Each module holds a family of tasks and lists them in its `TASKS`; [`all`] chains them.

pub mod artifacts;
pub mod cache;
pub mod commands;
pub mod delivery;
pub mod files;
pub mod policy;
pub mod scripts;
pub mod security;
pub mod testing;
pub mod tools;
pub mod vulns;

use std::path::{Path, PathBuf};

use crate::{InputSpec, Inputs, Outcome, TaskHost, TaskReference};

/// Why a task's report files (`SlipwaySecretScan`, `SlipwayPolicy`) could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReportError {
    /// The report directory cannot be made.
    #[error("The report directory {} cannot be made: {source}", directory.display())]
    Directory {
        /// The directory.
        directory: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A report file cannot be written.
    #[error("The report {} cannot be written: {source}", file.display())]
    File {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Makes the report directory `directory`.
fn report_directory(directory: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(directory)
        .map_err(|source| ReportError::Directory { directory: directory.to_path_buf(), source })
}

/// Writes the report `name` into `directory`.
fn write_report(directory: &Path, name: &str, text: &str) -> Result<(), ReportError> {
    let file = directory.join(name);
    match std::fs::write(&file, text) {
        Ok(()) => Ok(()),
        Err(source) => Err(ReportError::File { file, source }),
    }
}

/// A built-in task.
#[derive(Debug)]
pub struct Builtin {
    /// The task's name, as written in `task: NAME@MAJOR`.
    pub name: &'static str,
    /// The task's id in Azure (a GUID), which steps may use instead of the name.
    pub id: &'static str,
    /// The major versions Slipway implements.
    pub majors: &'static [u32],
    /// The inputs of a major version.
    pub inputs: fn(major: u32) -> Vec<InputSpec>,
    /// Runs the task.
    pub run: fn(major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome,
}

impl Builtin {
    /// Whether this task answers to `reference` (name or id, any case; the major version must be
    /// implemented, or absent, meaning the newest).
    #[must_use]
    pub fn answers(&self, reference: &TaskReference) -> bool {
        (self.name.eq_ignore_ascii_case(&reference.name) || self.id.eq_ignore_ascii_case(&reference.name))
            && reference.major.is_none_or(|major| self.majors.contains(&major))
    }

    /// The major version to run for `reference`: the one asked for, or the newest.
    #[must_use]
    pub fn major_for(&self, reference: &TaskReference) -> u32 {
        reference.major.unwrap_or_else(|| self.majors.iter().copied().max().unwrap_or(1))
    }
}

/// Every built-in task.
pub fn all() -> impl Iterator<Item = &'static Builtin> {
    scripts::TASKS
        .iter()
        .chain(files::TASKS)
        .chain(artifacts::TASKS)
        .chain(testing::TASKS)
        .chain(cache::TASKS)
        .chain(tools::TASKS)
        .chain(commands::TASKS)
        .chain(delivery::TASKS)
        .chain(security::TASKS)
        .chain(vulns::TASKS)
        .chain(policy::TASKS)
}

/// The built-in task for a reference, if there is one.
#[must_use]
pub fn find(reference: &TaskReference) -> Option<&'static Builtin> {
    all().find(|task| task.answers(reference))
}

/// A built-in task with the same name but another major version, to say what is available.
#[must_use]
pub fn other_versions(reference: &TaskReference) -> Option<&'static Builtin> {
    all().find(|task| task.name.eq_ignore_ascii_case(&reference.name) || task.id.eq_ignore_ascii_case(&reference.name))
}
