//! `NuGetToolInstaller@0` and `@1`: selects an installed NuGet matching `versionSpec` (by default
//! `>=4.9` for @1 and `4.3.0` for @0, as the tasks; @0 picks 4.8.2 only when MSBuild newer than
//! 16.5 is installed, which Slipway does not detect), puts it first on the `PATH` and sets `NuGetExeToolPath`, which
//! `NuGetCommand@2` runs.
//!
//! Looks in the agent tool cache (`NuGet/<version>/<arch>/nuget.exe`) first; for it, as the task
//! does off Windows, a `nuget` script running `mono nuget.exe` is written beside `nuget.exe`.
//! Then the `nuget` command on the `PATH` (as the Linux `nuget` packages install it), whose
//! version `nuget help` prints. `checkLatest` has no effect.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::prepend;
use super::probe::{self, Machine};
use super::version::{Range, Version};
use crate::{InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// The version spec when none is given, by major version of the task.
fn default_version_spec(major: u32) -> &'static str {
    if major == 0 { "4.3.0" } else { ">=4.9" }
}

/// The inputs of `NuGetToolInstaller@0` and `@1` (the same two).
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![InputSpec::string("versionSpec"), InputSpec::boolean("checkLatest", false)]
}

/// Runs `NuGetToolInstaller` on this machine.
pub(super) fn run(major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_nuget(major, inputs, host, &Machine::real())
}

fn use_nuget(major: u32, inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let spec = inputs.get("versionSpec").unwrap_or(default_version_spec(major)).to_owned();
    let Some(range) = Range::parse(&spec) else {
        return Outcome::failed(format!(
            "Version spec '{spec}' is not a version or a version range (for example 6.x, 5.11.0, >=4.9)."
        ));
    };
    let tools = cache::tools_directory(host);
    let in_cache = cache::cached(tools.as_deref(), "NuGet", Some(machine.arch));
    if let Some(found) = range.best(&in_cache, |installed| &installed.version) {
        let dir = found.location.clone();
        let exe = dir.join("nuget.exe");
        host.log(&format!("Resolved from tool cache: {}", found.version));
        host.log(&format!("Using version: {}", found.version));
        host.log(&format!("Using tool path: {}", dir.display()));
        prepend(host, &dir);
        host.set_variable("NuGetExeToolPath", &exe.display().to_string(), SetVariable::default());
        if let Err(error) = write_script(&dir, &exe) {
            host.log(&format!("Writing nuget script failed with error: {error}"));
        }
        return Outcome::Succeeded;
    }
    let on_machine = machine_nugets(machine);
    if let Some(found) = range.best(&on_machine, |installed| &installed.version) {
        host.log(&format!("Using version: {}", found.version));
        if let Some(dir) = found.location.parent() {
            prepend(host, dir);
        }
        host.set_variable("NuGetExeToolPath", &found.location.display().to_string(), SetVariable::default());
        return Outcome::Succeeded;
    }
    let mut found = cache::cached(tools.as_deref(), "NuGet", None);
    found.extend(on_machine);
    cache::tidy(&mut found);
    let tools =
        tools.as_deref().map_or_else(|| "$(Agent.ToolsDirectory)".to_owned(), |tools| tools.display().to_string());
    let arch = machine.arch;
    let hint = format!(
        "Install NuGet on this machine (the nuget command), or put nuget.exe (run with mono) in the agent tool cache \
         as {tools}/NuGet/<version>/{arch}/nuget.exe with an empty file {tools}/NuGet/<version>/{arch}.complete \
         beside that directory."
    );
    Outcome::failed(cache::not_found("NuGet", &spec, arch, &found, &hint))
}

/// The `nuget` script the task writes beside `nuget.exe` off Windows (kept if it exists).
fn write_script(dir: &Path, exe: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("nuget");
    if script.exists() {
        return Ok(());
    }
    std::fs::write(&script, format!("#!/bin/sh\nmono {} \"$@\"\n", exe.display()))?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
}

/// The `nuget` commands of this machine.
fn machine_nugets(machine: &Machine) -> Vec<Installed> {
    let mut found: Vec<Installed> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for dir in machine.executable_dirs() {
        let nuget = dir.join("nuget");
        if !probe::is_executable(&nuget) {
            continue;
        }
        let real = probe::canonical(&nuget);
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        if let Some(version) = nuget_version(&nuget) {
            found.push(Installed { version, arch: machine.arch.to_owned(), location: nuget, from_cache: false });
        }
    }
    found
}

/// The version `nuget help` prints first (`NuGet Version: 6.4.0.123`), as three parts.
fn nuget_version(nuget: &Path) -> Option<Version> {
    let text = probe::output(nuget, &["help"])?;
    let line = text.lines().find_map(|line| line.trim().strip_prefix("NuGet Version:"))?;
    let parts: Vec<&str> = line.trim().split('.').take(3).collect();
    Version::parse(&parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::super::probe::testing::{World, script, touch};
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Inputs {
        let given: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        Inputs::resolve(&inputs(0), &given).expect("valid inputs")
    }

    fn cache_nuget(world: &World, version: &str) {
        touch(&world.path(&format!("_tool/NuGet/{version}/x64/nuget.exe")), "MZ");
        touch(&world.path(&format!("_tool/NuGet/{version}/x64.complete")), "");
    }

    #[test]
    fn tool_cache_nuget_exe_gets_a_script_and_the_variable() {
        let mut world = World::new();
        cache_nuget(&world, "4.1.0");
        cache_nuget(&world, "5.11.0");
        cache_nuget(&world, "6.4.0");
        assert_eq!(
            use_nuget(1, &resolve(&[("versionSpec", "5.x")]), &mut world.host, &world.machine),
            Outcome::Succeeded
        );
        assert_eq!(world.path_shown(), ["<root>/_tool/NuGet/5.11.0/x64"]);
        assert_eq!(world.set_shown(), ["NuGetExeToolPath=<root>/_tool/NuGet/5.11.0/x64/nuget.exe"]);
        let script = std::fs::read_to_string(world.path("_tool/NuGet/5.11.0/x64/nuget")).expect("script");
        assert_eq!(world.shown(&script), "#!/bin/sh\nmono <root>/_tool/NuGet/5.11.0/x64/nuget.exe \"$@\"\n");
        assert!(probe::is_executable(&world.path("_tool/NuGet/5.11.0/x64/nuget")));
        world.host.set.clear();
        assert_eq!(use_nuget(1, &resolve(&[]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown(), ["NuGetExeToolPath=<root>/_tool/NuGet/6.4.0/x64/nuget.exe"]);
        world.host.set.clear();
        cache_nuget(&world, "4.3.0");
        assert_eq!(use_nuget(0, &resolve(&[]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(
            world.set_shown(),
            ["NuGetExeToolPath=<root>/_tool/NuGet/4.3.0/x64/nuget.exe"],
            "@0 defaults to 4.3.0"
        );
    }

    #[test]
    fn machine_nuget_command() {
        let mut world = World::new();
        script(&world.path("bin/nuget"), "echo 'NuGet Version: 6.6.1.2'; echo 'usage: NuGet <command>'");
        assert_eq!(use_nuget(1, &resolve(&[]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/bin"]);
        assert_eq!(world.set_shown(), ["NuGetExeToolPath=<root>/bin/nuget"]);
        let Outcome::Failed(message) =
            use_nuget(1, &resolve(&[("versionSpec", "4.9.6")]), &mut world.host, &world.machine)
        else {
            panic!("4.9.6 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        NuGet version '4.9.6' (x64) is not installed on this machine, and Slipway does not download tools.
        NuGet versions found:
          6.6.1 (x64), machine: <root>/bin/nuget
        Install NuGet on this machine (the nuget command), or put nuget.exe (run with mono) in the agent tool cache as <root>/_tool/NuGet/<version>/x64/nuget.exe with an empty file <root>/_tool/NuGet/<version>/x64.complete beside that directory.
        ");
        let Outcome::Failed(message) =
            use_nuget(1, &resolve(&[("versionSpec", "latest")]), &mut world.host, &world.machine)
        else {
            panic!("not a version")
        };
        insta::assert_snapshot!(message, @"Version spec 'latest' is not a version or a version range (for example 6.x, 5.11.0, >=4.9).");
    }
}
