//! `GoTool@0`: selects an installed Go matching `version`, sets `GOROOT` (and `GOPATH`, `GOBIN`
//! when given) and puts `$GOROOT/bin` first on the `PATH`.
//!
//! Looks in the agent tool cache (`go/<version>/<arch>`, a Go root) first, then at Go roots on
//! the machine: `/usr/local/go`, `/usr/lib/go`, `/usr/lib/go-1.X`, `~/sdk/go1.X.Y` (as
//! `golang.org/dl` installs them) and the root of the `go` on the `PATH`. A root's version is
//! read from its `VERSION` file, else from `go version`. `1.21` (as `1.21.x`) selects the newest
//! installed `1.21` release. `goDownloadBaseUrl` has no effect.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::prepend;
use super::probe::{self, Machine};
use super::version::{Range, Version};
use crate::{InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// The inputs of `GoTool@0`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("version").default("1.10").required(),
        InputSpec::string("goPath"),
        InputSpec::string("goBin"),
        InputSpec::string("goDownloadBaseUrl"),
    ]
}

/// Runs `GoTool@0` on this machine.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_go(inputs, host, &Machine::real())
}

fn use_go(inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let spec = inputs.text("version").to_owned();
    let Some(range) = Range::parse(spec.strip_prefix("go").unwrap_or(&spec)) else {
        return Outcome::failed(format!(
            "Version '{spec}' is not a Go version or version range (for example 1.22, 1.21.x, 1.21.5)."
        ));
    };
    let tools = cache::tools_directory(host);
    let in_cache = cache::cached(tools.as_deref(), "go", Some(machine.arch));
    let chosen = range.best(&in_cache, |installed| &installed.version).cloned().or_else(|| {
        let on_machine = machine_roots(machine);
        range.best(&on_machine, |installed| &installed.version).cloned()
    });
    let Some(root) = chosen.map(|installed| installed.location) else {
        let mut found = cache::cached(tools.as_deref(), "go", None);
        found.extend(machine_roots(machine));
        cache::tidy(&mut found);
        let hint = cache::cache_hint("Go", "go", machine.arch, tools.as_deref());
        return Outcome::failed(cache::not_found("Go", &spec, machine.arch, &found, &hint));
    };
    host.set_variable("GOROOT", &root.display().to_string(), SetVariable::default());
    if let Some(go_path) = inputs.get("goPath") {
        host.set_variable("GOPATH", go_path, SetVariable::default());
    }
    if let Some(go_bin) = inputs.get("goBin") {
        host.set_variable("GOBIN", go_bin, SetVariable::default());
    }
    prepend(host, &root.join("bin"));
    Outcome::Succeeded
}

/// The Go roots of this machine outside the tool cache.
fn machine_roots(machine: &Machine) -> Vec<Installed> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    let mut dirs = machine.go_dirs.clone();
    dirs.extend(machine.home_join("sdk"));
    for dir in dirs {
        candidates.push(dir.clone());
        for child in probe::children(&dir) {
            if child.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with("go")) {
                candidates.push(child);
            }
        }
    }
    if let Some(go) = machine.which("go")
        && let Some(root) = probe::canonical(&go).parent().and_then(Path::parent)
    {
        candidates.push(root.to_path_buf());
    }
    let mut found: Vec<Installed> = Vec::new();
    for candidate in candidates {
        if !probe::is_executable(&candidate.join("bin/go")) {
            continue;
        }
        let root = probe::canonical(&candidate);
        if found.iter().any(|installed| installed.location == root) {
            continue;
        }
        if let Some(version) = root_version(&root) {
            found.push(Installed { version, arch: machine.arch.to_owned(), location: root, from_cache: false });
        }
    }
    found
}

/// A Go root's version: the first line of `VERSION`, else what `go version` says.
fn root_version(root: &Path) -> Option<Version> {
    if let Ok(text) = std::fs::read_to_string(root.join("VERSION"))
        && let Some(version) = text.lines().next().and_then(|line| go_version(line.trim()))
    {
        return Some(version);
    }
    let text = probe::output(&root.join("bin/go"), &["version"])?;
    text.split_whitespace().find_map(|word| word.starts_with("go1").then(|| go_version(word)).flatten())
}

/// `go1.21.5` is 1.21.5, `go1.20` is 1.20.0, `go1.21rc2` is 1.21.0-rc2.
fn go_version(text: &str) -> Option<Version> {
    let text = text.strip_prefix("go")?;
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (numbers, pre) = text.split_at(split);
    let mut parts: Vec<&str> = numbers.split('.').collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    let pre = if pre.is_empty() { String::new() } else { format!("-{pre}") };
    Version::parse(&format!("{}{pre}", parts.join(".")))
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

    fn go_root(world: &World, relative: &str, version_file: Option<&str>, reports: &str) {
        script(&world.path(&format!("{relative}/bin/go")), &format!("echo go version {reports} linux/amd64"));
        if let Some(version) = version_file {
            touch(&world.path(&format!("{relative}/VERSION")), &format!("{version}\ntime 2024-01-01T00:00:00Z\n"));
        }
    }

    #[test]
    fn reads_go_versions() {
        let versions: Vec<String> = ["go1.21.5", "go1.20", "go1.21rc2", "1.2"]
            .iter()
            .map(|text| go_version(text).map_or_else(|| "-".to_owned(), |version| version.to_string()))
            .collect();
        assert_eq!(versions, ["1.21.5", "1.20.0", "1.21.0-rc2", "-"]);
    }

    #[test]
    fn tool_cache_sets_goroot_gopath_gobin_and_path() {
        let mut world = World::new();
        for version in ["1.21.5", "1.21.13", "1.22.1"] {
            go_root(&world, &format!("_tool/go/{version}/x64"), None, &format!("go{version}"));
            touch(&world.path(&format!("_tool/go/{version}/x64.complete")), "");
        }
        let inputs = resolve(&[("version", "1.21.x"), ("goPath", "/gopath"), ("goBin", "/gopath/bin")]);
        assert_eq!(use_go(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown(), ["GOROOT=<root>/_tool/go/1.21.13/x64", "GOPATH=/gopath", "GOBIN=/gopath/bin"]);
        assert_eq!(world.path_shown(), ["<root>/_tool/go/1.21.13/x64/bin"]);
    }

    #[test]
    fn machine_roots_from_standard_places_and_path() {
        let mut world = World::new();
        go_root(&world, "usr/local/go", Some("go1.22.1"), "go1.22.1");
        go_root(&world, "usr/lib/go-1.21", Some("go1.21.6"), "go1.21.6");
        go_root(&world, "home/sdk/go1.20.14", None, "go1.20.14");
        go_root(&world, "opt/go-1.19", None, "go1.19.13");
        std::os::unix::fs::symlink(world.path("opt/go-1.19/bin/go"), world.path("bin/go")).expect("link");
        for (spec, root) in [
            ("1.22", "<root>/usr/local/go"),
            ("1.21", "<root>/usr/lib/go-1.21"),
            ("1.20.14", "<root>/home/sdk/go1.20.14"),
            ("1.19", "<root>/opt/go-1.19"),
        ] {
            world.host.set.clear();
            assert_eq!(use_go(&resolve(&[("version", spec)]), &mut world.host, &world.machine), Outcome::Succeeded);
            assert_eq!(world.set_shown(), [format!("GOROOT={root}")], "{spec}");
        }
    }

    #[test]
    fn missing_version_lists_what_was_found() {
        let mut world = World::new();
        go_root(&world, "usr/local/go", Some("go1.22.1"), "go1.22.1");
        let Outcome::Failed(message) = use_go(&resolve(&[]), &mut world.host, &world.machine) else {
            panic!("1.10 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        Go version '1.10' (x64) is not installed on this machine, and Slipway does not download tools.
        Go versions found:
          1.22.1 (x64), machine: <root>/usr/local/go
        Install Go on this machine, or put it in the agent tool cache as <root>/_tool/go/<version>/x64 with an empty file <root>/_tool/go/<version>/x64.complete beside it.
        ");
        let Outcome::Failed(message) = use_go(&resolve(&[("version", "latest")]), &mut world.host, &world.machine)
        else {
            panic!("not a version")
        };
        insta::assert_snapshot!(message, @"Version 'latest' is not a Go version or version range (for example 1.22, 1.21.x, 1.21.5).");
        assert!(world.host.set.is_empty() && world.host.path.is_empty());
    }
}
