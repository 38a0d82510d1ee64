//! Built-in tasks: commands. `CMake@1`, `DotNetCoreCLI@2`, `Npm@1` and `NuGetCommand@2` build the command
//! lines the real tasks build and run them through the host. What needs Azure DevOps, a remote
//! feed or a service connection (pushing and publishing packages, Azure Artifacts feeds) fails
//! with a message saying so; restoring from public registries just runs the tool, which may
//! itself fail without a network.

mod args;
mod cmake;
mod dotnet;
mod npm;
mod nuget;
mod packaging;
#[cfg(test)]
mod testing;

use std::path::PathBuf;

use super::Builtin;
use crate::HostError;

/// Why a command task failed (the step's failure line or error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    /// The tool could not be started; `provided_by` says what would provide it.
    #[error("Could not run '{program}': {source}. {provided_by}")]
    CannotStart {
        /// The program.
        program: String,
        /// What would provide it.
        provided_by: &'static str,
        /// Why the host could not start it.
        source: HostError,
    },
    /// An Azure Artifacts feed was selected for a restore.
    #[error(
        "{task} cannot restore from the Azure Artifacts feed '{feed}': Slipway has no network access to Azure DevOps. Use feedsToUse: config with a NuGet.config whose sources this machine can reach."
    )]
    AzureArtifactsFeed {
        /// The task (`NuGetCommand`).
        task: String,
        /// The feed.
        feed: String,
    },
    /// The temporary `NuGet.config` of a restore could not be written.
    #[error("Could not write the NuGet configuration {}: {source}", file.display())]
    WriteNuGetConfig {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `zipAfterPublish` found no `publish` folder for a project.
    #[error("A publish folder could not be found to zip for project file: {0}.")]
    NoPublishFolder(String),
    /// `zipAfterPublish` could not zip a published folder.
    #[error("Zip failed with error: {0}")]
    Zip(#[source] ZipError),
}

/// Why a folder could not be zipped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZipError {
    /// The folder is not a directory.
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// Reading the folder or writing the zip file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The zip writer failed.
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
}

/// Splits an argument line as the task library does (spaces outside double quotes).
pub(crate) fn split(line: &str) -> Vec<String> {
    args::split_arguments(line)
}

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "CMake",
        id: "7D831C3C-3C68-459A-A5C9-BDE6E659596C",
        majors: &[1],
        inputs: cmake::inputs,
        run: cmake::run,
    },
    Builtin {
        name: "DotNetCoreCLI",
        id: "5541a522-603c-47ad-91fc-a4b1d163081b",
        majors: &[2],
        inputs: dotnet::inputs,
        run: dotnet::run,
    },
    Builtin {
        name: "Npm",
        id: "FE47E961-9FA8-4106-8639-368C022D43AD",
        majors: &[1],
        inputs: npm::inputs,
        run: npm::run,
    },
    Builtin {
        name: "NuGetCommand",
        id: "333b11bd-d341-40d9-afcf-b32d5ce6f23b",
        majors: &[2],
        inputs: nuget::inputs,
        run: nuget::run,
    },
];
