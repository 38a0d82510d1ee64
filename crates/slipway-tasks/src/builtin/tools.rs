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

use super::Builtin;

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
