//! `NodeTool@0`: selects an installed Node.js matching `versionSpec` (or the version in
//! `versionFilePath`, such as an `.nvmrc`) and puts its `bin` directory first on the `PATH`.
//!
//! Looks in the agent tool cache (`node/<version>/<arch>`, whose `bin` holds `node`) first, then
//! (for the machine's architecture) in nvm's `~/.nvm/versions/node/v<version>` and at the `node`
//! executables on the `PATH` and in the usual directories. `checkLatest`, `nodejsMirror` and the
//! retry inputs concern downloads and have no effect.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::prepend;
use super::probe::{self, Machine};
use super::version::{Range, Version};
use crate::{InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// The inputs of `NodeTool@0`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec { kind: InputKind::Other("radio".to_owned()), ..InputSpec::string("versionSource") }
            .default("spec")
            .required(),
        InputSpec::string("versionSpec").default("6.x").visible("versionSource = spec"),
        InputSpec::string("versionFilePath").visible("versionSource = fromFile"),
        InputSpec::boolean("checkLatest", false),
        InputSpec::boolean("force32bit", false),
        InputSpec::string("nodejsMirror").default("https://nodejs.org/dist"),
        InputSpec::string("retryCountOnDownloadFails").default("5"),
        InputSpec::string("delayBetweenRetries").default("1000"),
    ]
}

/// Runs `NodeTool@0` on this machine.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_node(inputs, host, &Machine::real())
}

fn use_node(inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let spec = if inputs.text("versionSource") == "fromFile" {
        let Some(file) = inputs.get("versionFilePath") else {
            return Outcome::failed("Input required: versionFilePath");
        };
        let path = host.working_directory().join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(error) => {
                return Outcome::failed(format!("Could not read the Node.js version from {}: {error}", path.display()));
            }
        }
    } else {
        let Some(spec) = inputs.get("versionSpec") else { return Outcome::failed("Input required: versionSpec") };
        spec.to_owned()
    };
    if inputs.boolean("checkLatest") {
        host.log("checkLatest has no effect: Slipway does not download tools, it uses the newest matching installed version.");
    }
    let arch = if inputs.boolean("force32bit") { "x86" } else { machine.arch };
    let Some(range) = Range::parse(&spec) else {
        return Outcome::failed(format!(
            "Version spec '{spec}' is not a version or a version range (for example 20.x, 18.19.0, >=18)."
        ));
    };
    let tools = cache::tools_directory(host);
    let in_cache = cache::cached(tools.as_deref(), "node", Some(arch));
    let chosen = match range.best(&in_cache, |installed| &installed.version) {
        Some(found) => Some(found.location.join("bin")),
        None => {
            let on_machine = if arch == machine.arch { machine_nodes(machine) } else { Vec::new() };
            range.best(&on_machine, |(installed, _)| &installed.version).map(|(_, bin)| bin.clone())
        }
    };
    let Some(bin) = chosen else {
        let mut found = cache::cached(tools.as_deref(), "node", None);
        found.extend(machine_nodes(machine).into_iter().map(|(installed, _)| installed));
        cache::tidy(&mut found);
        let hint = cache::cache_hint("Node.js", "node", arch, tools.as_deref());
        return Outcome::failed(cache::not_found("Node.js", &spec, arch, &found, &hint));
    };
    prepend(host, &bin);
    Outcome::Succeeded
}

/// The Node.js installations of this machine outside the tool cache, each with the directory to
/// put on the `PATH`.
fn machine_nodes(machine: &Machine) -> Vec<(Installed, PathBuf)> {
    let mut found = Vec::new();
    if let Some(versions) = machine.home_join(".nvm/versions/node") {
        for prefix in probe::children(&versions) {
            let name = prefix.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            let Some(version) = Version::parse(name) else { continue };
            if probe::is_executable(&prefix.join("bin/node")) {
                let installed =
                    Installed { version, arch: machine.arch.to_owned(), location: prefix.clone(), from_cache: false };
                found.push((installed, prefix.join("bin")));
            }
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    for dir in machine.executable_dirs() {
        let executable = dir.join("node");
        if !probe::is_executable(&executable) {
            continue;
        }
        let real = probe::canonical(&executable);
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        let Some(version) = node_version(&executable) else { continue };
        let installed = Installed { version, arch: machine.arch.to_owned(), location: executable, from_cache: false };
        found.push((installed, dir));
    }
    found
}

/// The version `node --version` reports (`v20.11.1`).
fn node_version(executable: &Path) -> Option<Version> {
    Version::parse(probe::output(executable, &["--version"])?.trim())
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

    fn cache_node(world: &World, version: &str, arch: &str) {
        script(&world.path(&format!("_tool/node/{version}/{arch}/bin/node")), &format!("echo v{version}"));
        touch(&world.path(&format!("_tool/node/{version}/{arch}.complete")), "");
    }

    #[test]
    fn tool_cache_bin_goes_first_on_path() {
        let mut world = World::new();
        cache_node(&world, "16.20.2", "x64");
        cache_node(&world, "18.19.0", "x64");
        cache_node(&world, "16.13.0", "x64");
        cache_node(&world, "16.99.0", "x86");
        assert_eq!(use_node(&resolve(&[("versionSpec", "16.x")]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/_tool/node/16.20.2/x64/bin"]);
        assert!(world.host.set.is_empty());
    }

    #[test]
    fn force32bit_uses_the_x86_build() {
        let mut world = World::new();
        cache_node(&world, "16.20.2", "x64");
        cache_node(&world, "16.99.0", "x86");
        let inputs = resolve(&[("versionSpec", "16"), ("force32bit", "true")]);
        assert_eq!(use_node(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/_tool/node/16.99.0/x86/bin"]);
    }

    #[test]
    fn version_file_and_machine_installations() {
        let mut world = World::new();
        touch(&world.path("s/.nvmrc"), "v18\n");
        script(&world.path("home/.nvm/versions/node/v18.17.1/bin/node"), "echo v18.17.1");
        script(&world.path("home/.nvm/versions/node/v20.11.1/bin/node"), "echo v20.11.1");
        script(&world.path("bin/node"), "echo v18.19.0");
        let inputs = resolve(&[("versionSource", "fromFile"), ("versionFilePath", ".nvmrc")]);
        assert_eq!(use_node(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/bin"]);
        let inputs = resolve(&[("versionSpec", ">=20")]);
        assert_eq!(use_node(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown()[0], "<root>/home/.nvm/versions/node/v20.11.1/bin");
    }

    #[test]
    fn errors_name_the_version_and_what_was_found() {
        let mut world = World::new();
        cache_node(&world, "16.20.2", "x64");
        script(&world.path("bin/node"), "echo v18.19.0");
        let outcome = use_node(&resolve(&[("versionSpec", "22.x")]), &mut world.host, &world.machine);
        let Outcome::Failed(message) = outcome else { panic!("22 is not installed") };
        insta::assert_snapshot!(world.shown(&message), @r"
        Node.js version '22.x' (x64) is not installed on this machine, and Slipway does not download tools.
        Node.js versions found:
          16.20.2 (x64), tool cache: <root>/_tool/node/16.20.2/x64
          18.19.0 (x64), machine: <root>/bin/node
        Install Node.js on this machine, or put it in the agent tool cache as <root>/_tool/node/<version>/x64 with an empty file <root>/_tool/node/<version>/x64.complete beside it.
        ");
        let inputs = resolve(&[("versionSource", "fromFile")]);
        insta::assert_snapshot!(format!("{:?}", use_node(&inputs, &mut world.host, &world.machine)), @r#"Failed("Input required: versionFilePath")"#);
        let inputs = resolve(&[("versionSource", "fromFile"), ("versionFilePath", "missing/.nvmrc")]);
        let Outcome::Failed(message) = use_node(&inputs, &mut world.host, &world.machine) else { panic!("no file") };
        insta::assert_snapshot!(world.shown(&message), @"Could not read the Node.js version from <root>/s/missing/.nvmrc: No such file or directory (os error 2)");
        let inputs = resolve(&[("versionSpec", "lts/*")]);
        let Outcome::Failed(message) = use_node(&inputs, &mut world.host, &world.machine) else {
            panic!("not a range")
        };
        insta::assert_snapshot!(message, @"Version spec 'lts/*' is not a version or a version range (for example 20.x, 18.19.0, >=18).");
        assert!(world.host.path.is_empty());
    }
}
