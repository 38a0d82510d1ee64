//! `UseDotNet@2`: selects an installed .NET SDK or runtime matching `version` (or every SDK the
//! `global.json` files ask for), puts its .NET root first on the `PATH` and sets `DOTNET_ROOT`
//! and `DOTNET_MULTILEVEL_LOOKUP`, as the task does after installing; it also puts the global
//! tools directory `~/.dotnet/tools` on the `PATH`, as the task always does.
//!
//! A .NET root is a directory with the `dotnet` executable and `sdk/<version>` and
//! `shared/Microsoft.NETCore.App/<version>` directories. Slipway looks at `installationPath`
//! (by default `$(Agent.ToolsDirectory)/dotnet`, where the task installs) first, then at
//! `$DOTNET_ROOT`, `/usr/share/dotnet`, `/usr/lib/dotnet` and the other usual places, `~/.dotnet`
//! and the root of the `dotnet` on the `PATH`. Versions are matched as the task matches them:
//! `8.x`, `8.0.x` (previews only with `includePreviewVersions`) or an exact version; versions from
//! `global.json` are exact. `vsVersion`, `checkForExistingVersion` and `requestTimeout` concern
//! downloads and have no effect.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::probe::{self, Machine};
use super::version::Version;
use super::{ToolError, prepend};
use crate::{InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// Where the task installs by default.
const DEFAULT_INSTALLATION_PATH: &str = "$(Agent.ToolsDirectory)/dotnet";

/// The inputs of `UseDotNet@2`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::pick("packageType", &["runtime", "sdk"]).default("sdk"),
        InputSpec::boolean("useGlobalJson", false).visible("packageType = sdk"),
        InputSpec::path("workingDirectory").visible("useGlobalJson = true"),
        InputSpec::string("version").visible("useGlobalJson = false || packageType = runtime"),
        InputSpec::string("vsVersion"),
        InputSpec::boolean("checkForExistingVersion", false),
        InputSpec::boolean("includePreviewVersions", false).visible("useGlobalJson = false  || packageType = runtime"),
        InputSpec::string("installationPath").default(DEFAULT_INSTALLATION_PATH),
        InputSpec::boolean("performMultiLevelLookup", false),
        InputSpec::integer("requestTimeout").default("300000"),
    ]
}

/// Runs `UseDotNet@2` on this machine.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_dotnet(inputs, host, &Machine::real())
}

/// What to look for.
enum Wanted {
    /// `8.x`, `8.0.x` or `8.0.100`.
    Spec(String),
    /// Exact versions from `global.json` files.
    Exact(Vec<String>),
}

fn use_dotnet(inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let package_type = inputs.get("packageType").unwrap_or("sdk").to_ascii_lowercase();
    let sdk = package_type == "sdk";
    let use_global_json = inputs.boolean("useGlobalJson") && sdk;
    let wanted = if use_global_json {
        let base = host.working_directory();
        let root = inputs.path("workingDirectory", &base).unwrap_or(base);
        match global_json_versions(&root) {
            Ok(versions) => Some(Wanted::Exact(versions)),
            Err(error) => return Outcome::failed(error.to_string()),
        }
    } else {
        inputs.get("version").map(|spec| Wanted::Spec(spec.to_owned()))
    };
    if let Some(wanted) = wanted {
        let installation = match inputs.get("installationPath").unwrap_or(DEFAULT_INSTALLATION_PATH) {
            DEFAULT_INSTALLATION_PATH => cache::tools_directory(host).map(|tools| tools.join("dotnet")),
            given => Some(host.working_directory().join(host.expand(given))),
        };
        let (root, versions) =
            match select(&wanted, sdk, inputs.boolean("includePreviewVersions"), installation.as_deref(), machine) {
                Ok(found) => found,
                Err(error) => return Outcome::failed(error.to_string()),
            };
        let kind = if sdk { ".NET SDK" } else { ".NET runtime" };
        host.log(&format!("Found {kind} {} in {}", versions.join(", "), root.display()));
        prepend(host, &root);
        host.set_variable("DOTNET_ROOT", &root.display().to_string(), SetVariable::default());
        let lookup = if inputs.boolean("performMultiLevelLookup") { "1" } else { "0" };
        host.set_variable("DOTNET_MULTILEVEL_LOOKUP", lookup, SetVariable::default());
    }
    if let Some(tools) = machine.home_join(".dotnet/tools") {
        host.log("Creating global tool path and pre-pending to PATH.");
        match std::fs::create_dir_all(&tools) {
            Ok(()) => host.prepend_path(&tools),
            Err(error) => host.log(&format!(
                "Failed while prepending .Net Core Tool path to PATH envrionment variable. Error: {error}"
            )),
        }
    }
    Outcome::Succeeded
}

/// The .NET root to use and the versions found in it.
fn select(
    wanted: &Wanted,
    sdk: bool,
    include_preview: bool,
    installation: Option<&Path>,
    machine: &Machine,
) -> Result<(PathBuf, Vec<String>), ToolError> {
    let roots = roots(installation, machine);
    let kind = if sdk { ".NET SDK" } else { ".NET runtime" };
    let (spec, found) = match wanted {
        Wanted::Spec(spec) => {
            validate_spec(spec)?;
            let found = roots.iter().find_map(|root| {
                let best = installed_versions(root, sdk)
                    .into_iter()
                    .filter(|version| matches_spec(spec, version, include_preview))
                    .max()?;
                Some((root.clone(), vec![best.to_string()]))
            });
            (spec.clone(), found)
        }
        Wanted::Exact(versions) => {
            let found = roots.iter().find_map(|root| {
                let installed = installed_versions(root, sdk);
                versions
                    .iter()
                    .all(|version| Version::parse(version).is_some_and(|version| installed.contains(&version)))
                    .then(|| (root.clone(), versions.clone()))
            });
            (versions.join(", "), found)
        }
    };
    found.ok_or_else(|| {
        let mut all: Vec<Installed> = roots
            .iter()
            .flat_map(|root| {
                installed_versions(root, sdk).into_iter().map(|version| Installed {
                    version,
                    arch: machine.arch.to_owned(),
                    location: root.clone(),
                    from_cache: false,
                })
            })
            .collect();
        cache::tidy(&mut all);
        let hint = match installation {
            Some(installation) => format!(
                "Install it on this machine (for example with dotnet-install.sh into ~/.dotnet), or into \
                 installationPath {}.",
                installation.display()
            ),
            None => "Install it on this machine (for example with dotnet-install.sh into ~/.dotnet).".to_owned(),
        };
        ToolError::NotInstalled(cache::not_found(kind, &spec, machine.arch, &all, &hint))
    })
}

/// The .NET roots to look in, in order, without duplicates.
fn roots(installation: Option<&Path>, machine: &Machine) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = installation.map(Path::to_path_buf).into_iter().collect();
    candidates.extend(machine.dotnet_roots.iter().cloned());
    candidates.extend(machine.home_join(".dotnet"));
    if let Some(dotnet) = machine.which("dotnet") {
        candidates.extend(probe::canonical(&dotnet).parent().map(Path::to_path_buf));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for candidate in candidates {
        let real = probe::canonical(&candidate);
        if probe::is_executable(&candidate.join("dotnet")) && !seen.contains(&real) {
            seen.push(real);
            roots.push(candidate);
        }
    }
    roots
}

/// The SDK (or runtime) versions installed in a .NET root.
fn installed_versions(root: &Path, sdk: bool) -> Vec<Version> {
    let dir = if sdk { root.join("sdk") } else { root.join("shared/Microsoft.NETCore.App") };
    probe::children(&dir)
        .iter()
        .filter(|path| path.is_dir())
        .filter_map(|path| path.file_name().and_then(|name| name.to_str()).and_then(Version::parse))
        .collect()
}

/// Whether `version` matches `8.x`, `8.0.x` or `8.0.100` as the task reads them.
fn matches_spec(spec: &str, version: &Version, include_preview: bool) -> bool {
    let parts: Vec<&str> = spec.split('.').collect();
    let number = |index: usize| parts.get(index).and_then(|part| part.parse::<u64>().ok());
    match (parts.get(1).copied(), parts.get(2).copied()) {
        (Some("x"), _) => number(0) == Some(version.major) && (include_preview || !version.is_prerelease()),
        (Some(_), Some("x")) => {
            number(0) == Some(version.major)
                && number(1) == Some(version.minor)
                && (include_preview || !version.is_prerelease())
        }
        _ => Version::parse(spec).as_ref() == Some(version),
    }
}

/// The task's check of `version` (`VersionParts.ValidateVersionSpec`).
fn validate_spec(spec: &str) -> Result<(), ToolError> {
    let parts: Vec<&str> = spec.split('.').collect();
    let leading_number = |part: &str| part.chars().next().is_some_and(|c| c.is_ascii_digit());
    let wrong = parts.len() < 2
        || (parts[1] == "x" && parts.len() > 2)
        || (parts[1] != "x" && parts.len() <= 2)
        || parts[0].is_empty()
        || parts[1].is_empty()
        || (parts.len() == 3 && parts[2].is_empty())
        || !leading_number(parts[0])
        || (parts[1] != "x"
            && (!leading_number(parts[1]) || (parts.len() > 2 && parts[2] != "x" && Version::parse(spec).is_none())));
    if wrong {
        return Err(ToolError::DotNetVersion(spec.to_owned()));
    }
    Ok(())
}

/// The SDK versions of every `global.json` at or below `root`, without duplicates.
fn global_json_versions(root: &Path) -> Result<Vec<String>, ToolError> {
    let files = crate::glob::find_match(root, &["**/global.json".to_owned()]);
    let files: Vec<PathBuf> = files.into_iter().filter(|file| file.is_file()).collect();
    if files.is_empty() {
        return Err(ToolError::NoGlobalJson(root.to_path_buf()));
    }
    let mut versions: Vec<String> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.trim().is_empty() {
            continue;
        }
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            Err(source) => return Err(ToolError::GlobalJson { file, source }),
        };
        if let Some(version) = json.pointer("/sdk/version").and_then(serde_json::Value::as_str) {
            validate_spec(version)?;
            if !versions.iter().any(|known| known == version) {
                versions.push(version.to_owned());
            }
        }
    }
    Ok(versions)
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

    fn dotnet_root(world: &World, relative: &str, sdks: &[&str], runtimes: &[&str]) {
        script(&world.path(&format!("{relative}/dotnet")), "echo dotnet");
        for sdk in sdks {
            std::fs::create_dir_all(world.path(&format!("{relative}/sdk/{sdk}"))).expect("sdk");
        }
        for runtime in runtimes {
            std::fs::create_dir_all(world.path(&format!("{relative}/shared/Microsoft.NETCore.App/{runtime}")))
                .expect("runtime");
        }
    }

    #[test]
    fn version_specs_match_like_the_task() {
        let version = |text: &str| Version::parse(text).expect("version");
        assert!(matches_spec("8.x", &version("8.0.404"), false));
        assert!(matches_spec("8.0.x", &version("8.0.404"), false));
        assert!(!matches_spec("8.0.x", &version("8.1.100"), false));
        assert!(!matches_spec("9.x", &version("9.0.100-rc.2.24474.11"), false));
        assert!(matches_spec("9.x", &version("9.0.100-rc.2.24474.11"), true));
        assert!(matches_spec("9.0.100-rc.2.24474.11", &version("9.0.100-rc.2.24474.11"), false));
        assert!(matches_spec("8.0.100", &version("8.0.100"), false));
        assert!(!matches_spec("8.0.100", &version("8.0.101"), false));
        for good in ["8.x", "8.0.x", "8.0.100", "3.0.100-preview3-010431"] {
            assert!(validate_spec(good).is_ok(), "{good}");
        }
        for bad in ["8", "8.0", "8.x.x", "8.0.1xx", "8.0.", "x.0.1", "8.0.100.1"] {
            assert!(validate_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn installation_path_first_then_machine_roots() {
        let mut world = World::new();
        dotnet_root(&world, "_tool/dotnet", &["6.0.428"], &["6.0.36"]);
        dotnet_root(&world, "usr/share/dotnet", &["8.0.100", "8.0.404", "9.0.100-rc.2.24474.11"], &["8.0.11"]);
        let inputs = resolve(&[("version", "8.0.x")]);
        assert_eq!(use_dotnet(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/home/.dotnet/tools", "<root>/usr/share/dotnet"]);
        assert_eq!(world.set_shown(), ["DOTNET_ROOT=<root>/usr/share/dotnet", "DOTNET_MULTILEVEL_LOOKUP=0"]);
        assert!(world.path("home/.dotnet/tools").is_dir());
        assert!(
            world.host.log.iter().any(|line| world.shown(line) == "Found .NET SDK 8.0.404 in <root>/usr/share/dotnet")
        );

        world.host.set.clear();
        world.host.path.clear();
        let inputs = resolve(&[("version", "6.x"), ("performMultiLevelLookup", "true")]);
        assert_eq!(use_dotnet(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown(), ["DOTNET_ROOT=<root>/_tool/dotnet", "DOTNET_MULTILEVEL_LOOKUP=1"]);

        world.host.set.clear();
        let inputs = resolve(&[("version", "9.x"), ("includePreviewVersions", "true")]);
        assert_eq!(use_dotnet(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "DOTNET_ROOT=<root>/usr/share/dotnet");

        world.host.set.clear();
        let inputs = resolve(&[("packageType", "runtime"), ("version", "8.0.x")]);
        assert_eq!(use_dotnet(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "DOTNET_ROOT=<root>/usr/share/dotnet");
    }

    #[test]
    fn dotnet_on_path_and_home() {
        let mut world = World::new();
        dotnet_root(&world, "home/.dotnet", &["7.0.410"], &[]);
        dotnet_root(&world, "opt/dotnet-10", &["10.0.100"], &[]);
        std::os::unix::fs::symlink(world.path("opt/dotnet-10/dotnet"), world.path("bin/dotnet")).expect("link");
        assert_eq!(
            use_dotnet(&resolve(&[("version", "7.0.410")]), &mut world.host, &world.machine),
            Outcome::Succeeded
        );
        assert_eq!(world.set_shown()[0], "DOTNET_ROOT=<root>/home/.dotnet");
        world.host.set.clear();
        assert_eq!(use_dotnet(&resolve(&[("version", "10.x")]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "DOTNET_ROOT=<root>/opt/dotnet-10");
    }

    #[test]
    fn global_json_versions_must_all_be_in_one_root() {
        let mut world = World::new();
        dotnet_root(&world, "usr/share/dotnet", &["8.0.404", "6.0.428"], &[]);
        touch(&world.path("s/global.json"), r#"{ "sdk": { "version": "8.0.404", "rollForward": "latestFeature" } }"#);
        touch(&world.path("s/legacy/global.json"), r#"{ "sdk": { "version": "6.0.428" } }"#);
        touch(&world.path("s/tools/global.json"), r#"{ "msbuild-sdks": {} }"#);
        touch(&world.path("s/empty/global.json"), "");
        let inputs = resolve(&[("useGlobalJson", "true")]);
        assert_eq!(use_dotnet(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "DOTNET_ROOT=<root>/usr/share/dotnet");

        touch(&world.path("s/new/global.json"), r#"{ "sdk": { "version": "9.0.100" } }"#);
        let Outcome::Failed(message) = use_dotnet(&inputs, &mut world.host, &world.machine) else {
            panic!("9.0.100 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        .NET SDK version '8.0.404, 6.0.428, 9.0.100' (x64) is not installed on this machine, and Slipway does not download tools.
        .NET SDK versions found:
          6.0.428 (x64), machine: <root>/usr/share/dotnet
          8.0.404 (x64), machine: <root>/usr/share/dotnet
        Install it on this machine (for example with dotnet-install.sh into ~/.dotnet), or into installationPath <root>/_tool/dotnet.
        ");
    }

    #[test]
    fn errors_match_the_task() {
        let mut world = World::new();
        dotnet_root(&world, "usr/share/dotnet", &["8.0.404"], &["8.0.11"]);
        let failure = |world: &mut World, pairs: &[(&str, &str)]| match use_dotnet(
            &resolve(pairs),
            &mut world.host,
            &world.machine,
        ) {
            Outcome::Failed(message) => world.shown(&message),
            other => panic!("{other:?}"),
        };
        insta::assert_snapshot!(failure(&mut world, &[("version", "8")]), @"Version 8 is not allowed. Allowed version types are: majorVersion.x, majorVersion.minorVersion.x, majorVersion.minorVersion.patchVersion. More details: The version number: 8 doesn't have the correct format. Versions can be given in the following formats: 2.x   => Install latest in major version. 2.2.x => Install latest in major and minor version. 2.2.104 => Install exact version.");
        insta::assert_snapshot!(failure(&mut world, &[("packageType", "runtime"), ("version", "6.0.x")]), @r"
        .NET runtime version '6.0.x' (x64) is not installed on this machine, and Slipway does not download tools.
        .NET runtime versions found:
          8.0.11 (x64), machine: <root>/usr/share/dotnet
        Install it on this machine (for example with dotnet-install.sh into ~/.dotnet), or into installationPath <root>/_tool/dotnet.
        ");
        world.host.variables.remove("Agent.ToolsDirectory");
        insta::assert_snapshot!(failure(&mut world, &[("version", "7.0.x")]), @"
        .NET SDK version '7.0.x' (x64) is not installed on this machine, and Slipway does not download tools.
        .NET SDK versions found:
          8.0.404 (x64), machine: <root>/usr/share/dotnet
        Install it on this machine (for example with dotnet-install.sh into ~/.dotnet).
        ");
        insta::assert_snapshot!(failure(&mut world, &[("useGlobalJson", "true")]), @"Failed to find global.json at and inside path: <root>/s");
        touch(&world.path("s/global.json"), "{ sdk: ");
        insta::assert_snapshot!(failure(&mut world, &[("useGlobalJson", "true")]), @"The global.json at path: '<root>/s/global.json' has the wrong format. For information about global.json, visit here: https://docs.microsoft.com/en-us/dotnet/core/tools/global-json. Error while trying to read: key must be a string at line 1 column 3");
        assert!(world.host.set.is_empty());
    }

    #[test]
    fn without_a_version_only_the_tools_directory_is_added() {
        let mut world = World::new();
        assert_eq!(use_dotnet(&resolve(&[]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.path_shown(), ["<root>/home/.dotnet/tools"]);
        assert!(world.host.set.is_empty());
    }
}
