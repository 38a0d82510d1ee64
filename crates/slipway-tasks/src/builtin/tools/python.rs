//! `UsePythonVersion@0`: selects an installed Python (or PyPy) matching `versionSpec`, sets the
//! `pythonLocation` output and puts it first on the `PATH`.
//!
//! Looks in the agent tool cache (`Python/<version>/<arch>`, `PyPy/<version>/<arch>`) first, as
//! the task does, then (CPython only, for the machine's architecture) in `~/.pyenv/versions` and
//! at the `python`, `python3` and `python3.X` executables on the `PATH` and in the usual
//! directories. A system interpreter shares its directory with others (`/usr/bin` holds
//! `python3.11` and `python3.12`), so the task links `python`, `python3` and `python3.X` (and the
//! matching `pip`) to the chosen one in a directory of its own under `Agent.TempDirectory` and
//! puts that first on the `PATH` instead. Nothing is downloaded: `disableDownloadFromRegistry`,
//! `allowUnstable` and `githubToken` are accepted and have no effect.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::probe::{self, Machine};
use super::version::{Range, Version};
use super::{ToolError, prepend};
use crate::{InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// The inputs of `UsePythonVersion@0`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::string("versionSpec").default("3.x").required(),
        InputSpec::boolean("disableDownloadFromRegistry", false),
        InputSpec::boolean("allowUnstable", false).visible("disableDownloadFromRegistry = false"),
        InputSpec::string("githubToken").visible("disableDownloadFromRegistry = false"),
        InputSpec::boolean("addToPath", true).required(),
        InputSpec::pick("architecture", &["x86", "x64", "arm64"]).default("x64").required(),
    ]
}

/// Runs `UsePythonVersion@0` on this machine.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_python(inputs, host, &Machine::real())
}

/// How an installation is laid out.
#[derive(Clone, Debug)]
enum Layout {
    /// A prefix with `bin/python` (the tool cache, pyenv).
    Prefix,
    /// An interpreter in a shared directory (`/usr/bin/python3.11`).
    System { executable: PathBuf },
}

fn use_python(inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let spec = inputs.text("versionSpec").to_owned();
    let arch = inputs.get("architecture").unwrap_or("x64").to_owned();
    let tools = cache::tools_directory(host);
    match spec.to_ascii_uppercase().as_str() {
        "PYPY2" => return use_pypy("2", &arch, inputs.boolean("addToPath"), tools.as_deref(), host),
        "PYPY3" => return use_pypy("3.6", &arch, inputs.boolean("addToPath"), tools.as_deref(), host),
        _ => {}
    }
    let semantic = python_version_to_semantic(&desugar_dev_version(&spec));
    let Some(range) = Range::parse(&semantic) else {
        return Outcome::failed(format!(
            "Version spec '{spec}' is not a version or a version range (for example 3.x, 3.11, >= 3.8, 3.12.1)."
        ));
    };
    let in_cache = cache::cached(tools.as_deref(), "Python", Some(&arch));
    let chosen = match range.best(&in_cache, |installed| &installed.version) {
        Some(found) => Some((found.clone(), Layout::Prefix)),
        None => {
            let on_machine = if arch == machine.arch { machine_pythons(machine) } else { Vec::new() };
            range.best(&on_machine, |(installed, _)| &installed.version).cloned()
        }
    };
    let Some((installed, layout)) = chosen else {
        let mut found = cache::cached(tools.as_deref(), "Python", None);
        // A system interpreter is listed by its executable (its prefix, `/usr`, says little).
        found.extend(machine_pythons(machine).into_iter().map(|(installed, layout)| match layout {
            Layout::System { executable } => Installed { location: executable, ..installed },
            Layout::Prefix => installed,
        }));
        cache::tidy(&mut found);
        let hint = cache::cache_hint("Python", "Python", &arch, tools.as_deref());
        return Outcome::failed(cache::not_found("Python", &spec, &arch, &found, &hint));
    };
    host.log(&format!("Found Python {} at {}", installed.version, installed.location.display()));
    let location = installed.location.display().to_string();
    host.set_variable("pythonLocation", &location, SetVariable::default());
    host.set_variable("pythonLocation", &location, SetVariable { output: true, ..SetVariable::default() });
    if !inputs.boolean("addToPath") {
        return Outcome::Succeeded;
    }
    match layout {
        Layout::Prefix => {
            prepend(host, &installed.location);
            prepend(host, &installed.location.join("bin"));
        }
        Layout::System { executable } => match link_interpreter(host, &executable, &installed.version) {
            Ok(dir) => prepend(host, &dir),
            Err(error) => return Outcome::failed(error.to_string()),
        },
    }
    Outcome::Succeeded
}

fn use_pypy(version: &str, arch: &str, add_to_path: bool, tools: Option<&Path>, host: &mut dyn TaskHost) -> Outcome {
    let in_cache = cache::cached(tools, "PyPy", Some(arch));
    let found = Range::parse(version).and_then(|range| range.best(&in_cache, |installed| &installed.version).cloned());
    let Some(installed) = found else {
        let hint = cache::cache_hint("PyPy", "PyPy", arch, tools);
        let all = cache::cached(tools, "PyPy", None);
        return Outcome::failed(cache::not_found("PyPy", version, arch, &all, &hint));
    };
    let bin = installed.location.join("bin");
    host.log(&format!("Found PyPy {} at {}", installed.version, installed.location.display()));
    let location = bin.display().to_string();
    host.set_variable("pythonLocation", &location, SetVariable::default());
    host.set_variable("pythonLocation", &location, SetVariable { output: true, ..SetVariable::default() });
    if add_to_path {
        prepend(host, &installed.location);
        prepend(host, &bin);
    }
    Outcome::Succeeded
}

/// `3.8-dev` is `>= 3.8.0-a0`, as the task reads it.
fn desugar_dev_version(spec: &str) -> String {
    match spec.strip_suffix("-dev") {
        Some(root) => format!(">= {root}.0-a0"),
        None => spec.to_owned(),
    }
}

/// Python's prereleases (`3.7.0b2`) as semantic versions (`3.7.0-b2`): a dash goes between a
/// three-part version and an `a`, `b` or `rc` label that follows it.
fn python_version_to_semantic(spec: &str) -> String {
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    for (index, &c) in chars.iter().enumerate() {
        out.push(c);
        let label_follows = matches!(chars.get(index + 1), Some('a' | 'b'))
            || (chars.get(index + 1) == Some(&'r') && chars.get(index + 2) == Some(&'c'));
        if c.is_ascii_digit() && label_follows && ends_three_part_version(&chars[..=index]) {
            out.push('-');
        }
    }
    out
}

/// Whether the text ends with `digits.digits.digits`.
fn ends_three_part_version(text: &[char]) -> bool {
    let tail: String = text.iter().rev().take_while(|c| c.is_ascii_digit() || **c == '.').collect();
    let tail: String = tail.chars().rev().collect();
    let parts: Vec<&str> = tail.split('.').collect();
    parts.len() >= 3 && parts[parts.len() - 3..].iter().all(|part| !part.is_empty())
}

/// The interpreters of this machine, outside the tool cache.
fn machine_pythons(machine: &Machine) -> Vec<(Installed, Layout)> {
    let mut found: Vec<(Installed, Layout)> = Vec::new();
    if let Some(versions) = machine.home_join(".pyenv/versions") {
        for prefix in probe::children(&versions) {
            let name = prefix.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            let Some(version) = Version::parse(&python_version_to_semantic(name)) else { continue };
            if probe::is_executable(&prefix.join("bin/python3")) || probe::is_executable(&prefix.join("bin/python")) {
                let installed =
                    Installed { version, arch: machine.arch.to_owned(), location: prefix.clone(), from_cache: false };
                found.push((installed, Layout::Prefix));
            }
        }
    }
    let mut seen: Vec<PathBuf> = Vec::new();
    for dir in machine.executable_dirs() {
        if dir.file_name().is_some_and(|name| name == "shims") {
            continue; // pyenv's shims run whichever version is selected; its versions are read above
        }
        for candidate in probe::children(&dir) {
            let name = candidate.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if !is_interpreter_name(name) || !probe::is_executable(&candidate) {
                continue;
            }
            let real = probe::canonical(&candidate);
            if seen.contains(&real) {
                continue;
            }
            seen.push(real.clone());
            let Some(version) = interpreter_version(&candidate) else { continue };
            let prefix = real.parent().and_then(Path::parent).map_or_else(|| dir.clone(), Path::to_path_buf);
            let installed = Installed { version, arch: machine.arch.to_owned(), location: prefix, from_cache: false };
            found.push((installed, Layout::System { executable: candidate.clone() }));
        }
    }
    found
}

/// `python`, `python3`, `python3.11` (not `python3-config` or `python3.11m`).
fn is_interpreter_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("python") else { return false };
    rest.is_empty()
        || rest.split('.').count() <= 2
            && rest.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// The version an interpreter reports (`Python 3.11.4`, `Python 3.13.0rc2`).
fn interpreter_version(executable: &Path) -> Option<Version> {
    let text = probe::output(executable, &["--version"])?;
    let version = text.split_whitespace().skip_while(|word| *word != "Python").nth(1)?;
    Version::parse(&python_version_to_semantic(version))
}

/// Links `python`, `python3`, `python3.X` (and `pip3.X`'s names when it exists beside the
/// interpreter) to `executable` in a directory of their own, and returns that directory.
fn link_interpreter(host: &dyn TaskHost, executable: &Path, version: &Version) -> Result<PathBuf, ToolError> {
    let base = host
        .variable("Agent.TempDirectory")
        .filter(|value| !value.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join("_slipway_tools").join(format!("python-{version}")).join("bin");
    let failed = |source: std::io::Error| ToolError::PrepareLinks { directory: dir.clone(), source };
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let minor = format!("{}.{}", version.major, version.minor);
    let mut links: Vec<(String, PathBuf)> = ["python".to_owned(), format!("python{}", version.major)]
        .into_iter()
        .chain([format!("python{minor}")])
        .map(|name| (name, executable.to_path_buf()))
        .collect();
    if let Some(pip) = executable.parent().map(|parent| parent.join(format!("pip{minor}")))
        && probe::is_executable(&pip)
    {
        for name in ["pip".to_owned(), format!("pip{}", version.major), format!("pip{minor}")] {
            links.push((name, pip.clone()));
        }
    }
    for (name, target) in links {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_ok() {
            std::fs::remove_file(&link).map_err(failed)?;
        }
        std::os::unix::fs::symlink(&target, &link).map_err(failed)?;
    }
    Ok(dir)
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

    fn cache_python(tools: &Path, version: &str, arch: &str) -> PathBuf {
        let dir = tools.join("Python").join(version).join(arch);
        script(&dir.join("bin/python"), &format!("echo Python {version}"));
        touch(&tools.join("Python").join(version).join(format!("{arch}.complete")), "");
        dir
    }

    #[test]
    fn spec_translation_follows_the_task() {
        assert_eq!(desugar_dev_version("3.13-dev"), ">= 3.13.0-a0");
        assert_eq!(python_version_to_semantic("3.7.0b2"), "3.7.0-b2");
        assert_eq!(python_version_to_semantic(">= 3.13.0rc1"), ">= 3.13.0-rc1");
        assert_eq!(python_version_to_semantic("3.11"), "3.11");
        assert_eq!(python_version_to_semantic("3.11.4"), "3.11.4");
        assert!(is_interpreter_name("python3.11"));
        assert!(is_interpreter_name("python"));
        assert!(!is_interpreter_name("python3.11-config"));
        assert!(!is_interpreter_name("python3.11m"));
    }

    #[test]
    fn tool_cache_version_wins_and_goes_first_on_path() {
        let mut world = World::new();
        let tools = world.root.path().join("_tool");
        cache_python(&tools, "3.10.14", "x64");
        let chosen = cache_python(&tools, "3.11.9", "x64");
        cache_python(&tools, "3.12.3", "x64");
        cache_python(&tools, "3.11.10", "x86");
        script(&world.root.path().join("bin/python3.11"), "echo Python 3.11.99");
        let outcome = use_python(&resolve(&[("versionSpec", "3.11")]), &mut world.host, &world.machine);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(world.host.path, vec![chosen.join("bin"), chosen.clone()]);
        let location = chosen.display().to_string();
        assert_eq!(
            world.host.set,
            vec![
                ("pythonLocation".to_owned(), location.clone(), SetVariable::default()),
                ("pythonLocation".to_owned(), location, SetVariable { output: true, ..SetVariable::default() }),
            ]
        );
    }

    #[test]
    fn ranges_pick_the_highest_match_and_add_to_path_can_be_off() {
        let mut world = World::new();
        let tools = world.root.path().join("_tool");
        cache_python(&tools, "3.8.18", "x64");
        let newest = cache_python(&tools, "3.12.3", "x64");
        cache_python(&tools, "3.13.0-rc.2", "x64");
        let inputs = resolve(&[("versionSpec", ">= 3.8"), ("addToPath", "false")]);
        assert_eq!(use_python(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert!(world.host.path.is_empty());
        assert_eq!(world.host.variables.get("pythonLocation"), Some(&newest.display().to_string()));
    }

    #[test]
    fn system_interpreter_is_linked_into_a_directory_of_its_own() {
        let mut world = World::new();
        let bin = world.root.path().join("bin");
        let python311 = script(&bin.join("python3.11"), "echo Python 3.11.4");
        script(&bin.join("python3.12"), "echo Python 3.12.1");
        script(&bin.join("pip3.11"), "echo pip");
        std::os::unix::fs::symlink(bin.join("python3.12"), bin.join("python3")).expect("link");
        let outcome = use_python(&resolve(&[("versionSpec", "3.11")]), &mut world.host, &world.machine);
        assert_eq!(outcome, Outcome::Succeeded);
        let shims = world.root.path().join("_temp/_slipway_tools/python-3.11.4/bin");
        assert_eq!(world.host.path, vec![shims.clone()]);
        assert_eq!(world.host.variables.get("pythonLocation"), Some(&world.root.path().display().to_string()));
        let mut linked: Vec<String> = probe::children(&shims)
            .iter()
            .map(|link| {
                let target = std::fs::read_link(link).expect("symbolic link");
                format!(
                    "{} -> {}",
                    link.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
                    world.shown(&target.display().to_string())
                )
            })
            .collect();
        linked.sort();
        assert_eq!(
            linked,
            [
                "pip -> <root>/bin/pip3.11",
                "pip3 -> <root>/bin/pip3.11",
                "pip3.11 -> <root>/bin/pip3.11",
                "python -> <root>/bin/python3.11",
                "python3 -> <root>/bin/python3.11",
                "python3.11 -> <root>/bin/python3.11",
            ]
        );
        assert_eq!(probe::output(&shims.join("python"), &["--version"]).as_deref(), Some("Python 3.11.4\n"));
        let _ = python311;
    }

    #[test]
    fn pyenv_versions_are_prefixes() {
        let mut world = World::new();
        let prefix = world.root.path().join("home/.pyenv/versions/3.9.19");
        script(&prefix.join("bin/python3"), "echo Python 3.9.19");
        script(&world.root.path().join("home/.pyenv/shims/python3"), "echo Python 3.12.0");
        world.machine.path.push(world.root.path().join("home/.pyenv/shims"));
        let outcome = use_python(&resolve(&[("versionSpec", "3.9")]), &mut world.host, &world.machine);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(world.host.path, vec![prefix.join("bin"), prefix.clone()]);
    }

    #[test]
    fn pypy_comes_from_the_tool_cache() {
        let mut world = World::new();
        let tools = world.root.path().join("_tool");
        let dir = tools.join("PyPy/3.6.12/x64");
        std::fs::create_dir_all(dir.join("bin")).expect("directory");
        touch(&tools.join("PyPy/3.6.12/x64.complete"), "");
        let outcome = use_python(&resolve(&[("versionSpec", "pypy3")]), &mut world.host, &world.machine);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(world.host.variables.get("pythonLocation"), Some(&dir.join("bin").display().to_string()));
        assert_eq!(world.host.path, vec![dir.join("bin"), dir.clone()]);
        let Outcome::Failed(message) =
            use_python(&resolve(&[("versionSpec", "pypy2")]), &mut world.host, &world.machine)
        else {
            panic!("pypy2 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        PyPy version '2' (x64) is not installed on this machine, and Slipway does not download tools.
        PyPy versions found:
          3.6.12 (x64), tool cache: <root>/_tool/PyPy/3.6.12/x64
        Install PyPy on this machine, or put it in the agent tool cache as <root>/_tool/PyPy/<version>/x64 with an empty file <root>/_tool/PyPy/<version>/x64.complete beside it.
        ");
    }

    #[test]
    fn missing_version_names_the_spec_and_lists_what_was_found() {
        let mut world = World::new();
        let tools = world.root.path().join("_tool");
        cache_python(&tools, "3.10.14", "x64");
        cache_python(&tools, "3.12.3", "x86");
        script(&world.root.path().join("bin/python3.11"), "echo Python 3.11.4");
        let Outcome::Failed(message) =
            use_python(&resolve(&[("versionSpec", "3.13")]), &mut world.host, &world.machine)
        else {
            panic!("3.13 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        Python version '3.13' (x64) is not installed on this machine, and Slipway does not download tools.
        Python versions found:
          3.10.14 (x64), tool cache: <root>/_tool/Python/3.10.14/x64
          3.11.4 (x64), machine: <root>/bin/python3.11
          3.12.3 (x86), tool cache: <root>/_tool/Python/3.12.3/x86
        Install Python on this machine, or put it in the agent tool cache as <root>/_tool/Python/<version>/x64 with an empty file <root>/_tool/Python/<version>/x64.complete beside it.
        ");
        let Outcome::Failed(message) = use_python(
            &resolve(&[("versionSpec", "3.12"), ("architecture", "arm64")]),
            &mut world.host,
            &world.machine,
        ) else {
            panic!("no arm64 Python")
        };
        assert!(message.starts_with("Python version '3.12' (arm64) is not installed"), "{message}");
        let Outcome::Failed(message) =
            use_python(&resolve(&[("versionSpec", "three")]), &mut world.host, &world.machine)
        else {
            panic!("not a version")
        };
        insta::assert_snapshot!(message, @"Version spec 'three' is not a version or a version range (for example 3.x, 3.11, >= 3.8, 3.12.1).");
        assert!(world.host.path.is_empty());
    }

    #[test]
    fn input_validation_matches_the_task() {
        let error = Inputs::resolve(&inputs(0), &[("architecture".to_owned(), "ppc".to_owned())]).expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input architecture has an invalid value 'ppc'; expected one of: x86, x64, arm64");
    }
}
