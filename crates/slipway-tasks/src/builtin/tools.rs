//! Built-in tasks: tool installers. Slipway has no network, so each one selects a matching tool
//! that is already installed (in the agent's tool cache, `$(Agent.ToolsDirectory)`, laid out as
//! the real tasks lay it out, or on the machine: the `PATH` and the usual install locations),
//! puts it first on the `PATH` and sets the variables the real task sets. When nothing matches,
//! it fails naming the version asked for and listing the versions it found.

mod cache;
mod dotnet;
mod go;
mod java;
mod node;
mod nuget;
mod probe;
mod python;
mod version;

use std::path::PathBuf;

use super::Builtin;

/// Why a tool installer failed (the step's failure line, in the real tasks' words where they have
/// some).
#[derive(Debug, thiserror::Error)]
enum ToolError {
    /// No installed version matches: the message names the version asked for and lists those
    /// found ([`cache::not_found`]).
    #[error("{0}")]
    NotInstalled(String),
    /// A required input is empty.
    #[error("Input required: {0}")]
    InputRequired(&'static str),
    /// `JavaToolInstaller`'s `versionSpec` is not a version.
    #[error("Java version '{0}' is not a version (for example 8, 11, 17, 21).")]
    NotAJavaVersion(String),
    /// The JDK archive's name has none of the endings the task extracts.
    #[error("Specified JDK source file does not have a supported file extension.")]
    UnsupportedArchive,
    /// The JDK archive does not exist.
    #[error("Extraction failed for file: {} because it does not exist.", .0.display())]
    ArchiveMissing(PathBuf),
    /// A directory could not be made.
    #[error("Could not create {}: {source}", directory.display())]
    CreateDirectory {
        /// The directory.
        directory: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The JDK archive could not be extracted.
    #[error("Extraction failed for file: {}: {source}", file.display())]
    Extraction {
        /// The archive.
        file: PathBuf,
        /// Why (reading it, or the archive format).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An archive format Slipway does not extract.
    #[error("Slipway cannot extract {ending} JDK archives ({}); use a .tar.gz, .tar or .zip archive.", file.display())]
    CannotExtract {
        /// Its ending.
        ending: String,
        /// The archive.
        file: PathBuf,
    },
    /// The extracted JDK has no single root folder with `bin` inside.
    #[error("JDK file is not valid. Verify if JDK file contains only one root folder with 'bin' inside.")]
    InvalidJdk,
    /// `UseDotNet`'s version (or a `global.json`'s) is not in an accepted form.
    #[error(
        "Version {0} is not allowed. Allowed version types are: majorVersion.x, majorVersion.minorVersion.x, majorVersion.minorVersion.patchVersion. More details: The version number: {0} doesn't have the correct format. Versions can be given in the following formats: 2.x   => Install latest in major version. 2.2.x => Install latest in major and minor version. 2.2.104 => Install exact version."
    )]
    DotNetVersion(String),
    /// `useGlobalJson` found no `global.json`.
    #[error("Failed to find global.json at and inside path: {}", .0.display())]
    NoGlobalJson(PathBuf),
    /// A `global.json` is not JSON.
    #[error(
        "The global.json at path: '{}' has the wrong format. For information about global.json, visit here: https://docs.microsoft.com/en-us/dotnet/core/tools/global-json. Error while trying to read: {source}",
        file.display()
    )]
    GlobalJson {
        /// The file.
        file: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The directory of links to a Python interpreter could not be prepared.
    #[error("Could not prepare {}: {source}", directory.display())]
    PrepareLinks {
        /// The directory.
        directory: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "UsePythonVersion",
        id: "33C63B11-352B-45A2-BA1B-54CB568A29CA",
        majors: &[0],
        inputs: python::inputs,
        run: python::run,
    },
    Builtin {
        name: "NodeTool",
        id: "31C75BBB-BCDF-4706-8D7C-4DA6A1959BC2",
        majors: &[0],
        inputs: node::inputs,
        run: node::run,
    },
    Builtin {
        name: "UseDotNet",
        id: "B0CE7256-7898-45D3-9CB5-176B752BFEA6",
        majors: &[2],
        inputs: dotnet::inputs,
        run: dotnet::run,
    },
    Builtin {
        name: "NuGetToolInstaller",
        id: "2C65196A-54FD-4A02-9BE8-D9D1837B7C5D",
        majors: &[0, 1],
        inputs: nuget::inputs,
        run: nuget::run,
    },
    Builtin {
        name: "GoTool",
        id: "334727F4-9495-4F9D-A391-FC621D671474",
        majors: &[0],
        inputs: go::inputs,
        run: go::run,
    },
    Builtin {
        name: "JavaToolInstaller",
        id: "C0E0B74F-0931-47C7-AC27-7C5A19456A36",
        majors: &[0],
        inputs: java::inputs,
        run: java::run,
    },
];

/// Puts `dir` first on the `PATH` of this and later steps, saying so in the log.
fn prepend(host: &mut dyn crate::TaskHost, dir: &std::path::Path) {
    host.log(&format!("Prepending PATH environment variable with directory: {}", dir.display()));
    host.prepend_path(dir);
}
