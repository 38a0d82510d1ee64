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

use super::Builtin;

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
