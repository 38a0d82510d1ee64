//! `JavaToolInstaller@0`: selects a JDK matching `versionSpec`, sets `JAVA_HOME` and
//! `JAVA_HOME_<version>_<ARCH>` and puts its `bin` first on the `PATH`.
//!
//! `jdkSourceOption: PreInstalled` uses the `JAVA_HOME_<version>_<ARCH>` variable when the job
//! (or the environment) has one, as the task does; otherwise Slipway looks for a JDK itself: in
//! the agent tool cache (`Java` and the hosted images' `Java_<Vendor>_jdk` tools,
//! `<version>/<arch>` below them), then in `/usr/lib/jvm/*` and the other usual directories,
//! `~/.sdkman/candidates/java/*`, `~/.jdks/*` and the JDK of the `java` on the `PATH`. A JDK's
//! version comes from its `release` file, else from `java -version`; `8` and `1.8` both mean
//! Java 8, and a JDK is preferred to a JRE of the same version.
//!
//! `LocalDirectory` extracts a local `.tar`, `.tar.gz` or `.zip` `jdkFile` into
//! `jdkDestinationDirectory` as the task does (`.7z`, `.dmg` and `.pkg` are not supported).
//! `AzureStorage` needs a service connection and the network, and fails saying so.

use std::path::{Path, PathBuf};

use super::cache::{self, Installed};
use super::probe::{self, Machine};
use super::version::{Range, Version};
use super::{ToolError, prepend};
use crate::{InputKind, InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// Archive endings the task accepts, in the order it tries them.
const SUPPORTED_ENDINGS: [&str; 6] = [".tar", ".tar.gz", ".zip", ".7z", ".dmg", ".pkg"];

/// The inputs of `JavaToolInstaller@0`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    let editable = |name: &str| InputSpec {
        kind: InputKind::PickList { options: Vec::new(), editable: true },
        ..InputSpec::string(name)
    };
    vec![
        InputSpec::string("versionSpec").default("8").required(),
        InputSpec::pick("jdkArchitectureOption", &["x64", "x86"]).required(),
        InputSpec::pick("jdkSourceOption", &["AzureStorage", "LocalDirectory", "PreInstalled"]).required(),
        InputSpec::path("jdkFile").required().visible("jdkSourceOption == LocalDirectory"),
        InputSpec {
            kind: InputKind::Other("connectedService:AzureRM".to_owned()),
            ..InputSpec::string("azureResourceManagerEndpoint")
        }
        .required()
        .visible("jdkSourceOption == AzureStorage"),
        editable("azureStorageAccountName").required().visible("jdkSourceOption == AzureStorage"),
        editable("azureContainerName").required().visible("jdkSourceOption == AzureStorage"),
        InputSpec::string("azureCommonVirtualFile").required().visible("jdkSourceOption == AzureStorage"),
        InputSpec::path("jdkDestinationDirectory").required().visible("jdkSourceOption != PreInstalled"),
        InputSpec::boolean("cleanDestinationDirectory", true).required().visible("jdkSourceOption != PreInstalled"),
        InputSpec::boolean("createExtractDirectory", true).visible("jdkSourceOption != PreInstalled"),
    ]
}

/// Runs `JavaToolInstaller@0` on this machine.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    use_java(inputs, host, &Machine::real())
}

fn use_java(inputs: &Inputs, host: &mut dyn TaskHost, machine: &Machine) -> Outcome {
    let spec = inputs.text("versionSpec").to_owned();
    let arch = inputs.text("jdkArchitectureOption").to_owned();
    let extended_java_home = format!("JAVA_HOME_{spec}_{arch}").to_uppercase();
    let jdk = match inputs.text("jdkSourceOption") {
        "PreInstalled" => match preinstalled(&spec, &arch, &extended_java_home, host, machine) {
            Ok(jdk) => jdk,
            Err(error) => return Outcome::failed(error.to_string()),
        },
        "LocalDirectory" => match from_archive(inputs, &extended_java_home, host) {
            Ok(jdk) => jdk,
            Err(error) => return Outcome::failed(error.to_string()),
        },
        _ => {
            return Outcome::failed(
                "JavaToolInstaller cannot download a JDK from Azure Storage: Slipway has no network and no service \
                 connections. Use jdkSourceOption: PreInstalled with a JDK installed on this machine, or \
                 LocalDirectory with a JDK archive in jdkFile.",
            );
        }
    };
    let home = jdk.display().to_string();
    host.log(&format!("JAVA_HOME is being set to: {home}"));
    host.set_variable("JAVA_HOME", &home, SetVariable::default());
    host.log(&format!("{extended_java_home} is being set to: {home}"));
    host.set_variable(&extended_java_home, &home, SetVariable::default());
    prepend(host, &jdk.join("bin"));
    Outcome::Succeeded
}

/// The JDK for `PreInstalled`: the job's `JAVA_HOME_<version>_<ARCH>`, else one Slipway finds.
fn preinstalled(
    spec: &str,
    arch: &str,
    extended_java_home: &str,
    host: &mut dyn TaskHost,
    machine: &Machine,
) -> Result<PathBuf, ToolError> {
    let named = host
        .variable(extended_java_home)
        .or_else(|| std::env::var(extended_java_home).ok())
        .filter(|value| !value.is_empty());
    if let Some(directory) = named {
        host.log(&format!("Use preinstalled JDK from {directory}"));
        return Ok(PathBuf::from(directory));
    }
    let wanted = spec.strip_prefix("1.").filter(|rest| !rest.is_empty()).unwrap_or(spec);
    let Some(range) = Range::parse(wanted) else {
        return Err(ToolError::NotAJavaVersion(spec.to_owned()));
    };
    let tools = cache::tools_directory(host);
    let in_cache = cached_jdks(tools.as_deref(), Some(arch));
    let on_machine = if arch == machine.arch { machine_jdks(machine) } else { Vec::new() };
    let best = |candidates: &[Installed]| {
        candidates
            .iter()
            .filter(|installed| range.satisfies(&installed.version, false))
            .max_by_key(|installed| (installed.version.clone(), installed.location.join("bin/javac").is_file()))
            .cloned()
    };
    if let Some(found) = best(&in_cache).or_else(|| best(&on_machine)) {
        host.log(&format!("Use preinstalled JDK from {}", found.location.display()));
        return Ok(found.location);
    }
    let mut found = cached_jdks(tools.as_deref(), None);
    found.extend(machine_jdks(machine));
    cache::tidy(&mut found);
    let hint = format!(
        "Java {spec} is not preinstalled on this agent. Install a JDK {spec} on this machine, set the variable \
         {extended_java_home} to its directory, or put it in the agent tool cache as {}/Java/<version>/{arch} with \
         an empty file {arch}.complete beside it.",
        tools.as_deref().map_or_else(|| "$(Agent.ToolsDirectory)".to_owned(), |tools| tools.display().to_string()),
    );
    Err(ToolError::NotInstalled(cache::not_found("Java", spec, arch, &found, &hint)))
}

/// JDKs in the tool cache: `Java/<version>/<arch>` and the hosted images' `Java_*` tools.
fn cached_jdks(tools: Option<&Path>, arch: Option<&str>) -> Vec<Installed> {
    let Some(tools) = tools else { return Vec::new() };
    let mut found = Vec::new();
    for tool in probe::children(tools) {
        let name = tool.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if name != "Java" && !name.starts_with("Java_") {
            continue;
        }
        for version_dir in probe::children(&tool) {
            let Some(version) = version_dir.file_name().and_then(|name| name.to_str()).and_then(java_version) else {
                continue;
            };
            for arch_dir in probe::children(&version_dir) {
                let Some(arch_name) = arch_dir.file_name().and_then(|name| name.to_str()) else { continue };
                if arch.is_some_and(|arch| arch != arch_name)
                    || !version_dir.join(format!("{arch_name}.complete")).is_file()
                    || !arch_dir.join("bin/java").is_file()
                {
                    continue;
                }
                found.push(Installed {
                    version: version.clone(),
                    arch: arch_name.to_owned(),
                    location: arch_dir.clone(),
                    from_cache: true,
                });
            }
        }
    }
    found
}

/// JDKs (and JREs) installed on this machine outside the tool cache.
fn machine_jdks(machine: &Machine) -> Vec<Installed> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    let mut dirs = machine.jvm_dirs.clone();
    dirs.extend(machine.home_join(".sdkman/candidates/java"));
    dirs.extend(machine.home_join(".jdks"));
    for dir in dirs {
        candidates.extend(probe::children(&dir));
    }
    if let Some(java) = machine.which("java")
        && let Some(mut home) = probe::canonical(&java).parent().and_then(Path::parent).map(Path::to_path_buf)
    {
        // Java 8 packages keep a JRE inside the JDK: /usr/lib/jvm/java-8-openjdk-amd64/jre/bin/java.
        if home.file_name().is_some_and(|name| name == "jre")
            && home.parent().is_some_and(|jdk| jdk.join("bin/java").is_file())
        {
            home = home.parent().map_or(home.clone(), Path::to_path_buf);
        }
        candidates.push(home);
    }
    let mut found: Vec<Installed> = Vec::new();
    for candidate in candidates {
        if !probe::is_executable(&candidate.join("bin/java")) {
            continue;
        }
        let home = probe::canonical(&candidate);
        if found.iter().any(|installed| installed.location == home) {
            continue;
        }
        if let Some(version) = jdk_version(&home) {
            found.push(Installed { version, arch: machine.arch.to_owned(), location: home, from_cache: false });
        }
    }
    found
}

/// A JDK's version: `JAVA_VERSION` in its `release` file, else what `java -version` says.
fn jdk_version(home: &Path) -> Option<Version> {
    let from_release = std::fs::read_to_string(home.join("release")).ok().and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("JAVA_VERSION="))
            .and_then(|value| java_version(value.trim().trim_matches('"')))
    });
    from_release.or_else(|| {
        let text = probe::output(&home.join("bin/java"), &["-version"])?;
        let quoted = text.split('"').nth(1)?;
        java_version(quoted)
    })
}

/// Java's versions as semantic versions by feature release: `1.8.0_392` is 8.0.392, `17.0.9+9`
/// and `17.0.9-9` are 17.0.9, `21` is 21.0.0, `11.0.21.1` is 11.0.21.
fn java_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let text = text.split(['+', '-']).next()?;
    let mut numbers: Vec<u64> = text.split(['.', '_']).map(str::parse).collect::<Result<_, _>>().ok()?;
    if numbers.first() == Some(&1) && numbers.len() > 1 {
        numbers.remove(0);
    }
    numbers.resize(3, 0);
    Some(Version::new(numbers[0], numbers[1], numbers[2]))
}

/// The JDK for `LocalDirectory`: the archive extracted as the task extracts it.
fn from_archive(inputs: &Inputs, extended_java_home: &str, host: &mut dyn TaskHost) -> Result<PathBuf, ToolError> {
    let base = host.working_directory();
    let jdk_file = inputs.path("jdkFile", &base).ok_or(ToolError::InputRequired("jdkFile"))?;
    let destination =
        inputs.path("jdkDestinationDirectory", &base).ok_or(ToolError::InputRequired("jdkDestinationDirectory"))?;
    let clean = inputs.boolean("cleanDestinationDirectory");
    let file_name = jdk_file.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
    let ending =
        SUPPORTED_ENDINGS.iter().find(|ending| file_name.ends_with(*ending)).ok_or(ToolError::UnsupportedArchive)?;
    if clean && destination.is_dir() {
        host.log(&format!("Cleaning destination folder before extraction: {}", destination.display()));
        for entry in probe::children(&destination) {
            let removed = if entry.is_dir() { std::fs::remove_dir_all(&entry) } else { std::fs::remove_file(&entry) };
            if let Err(error) = removed {
                host.log(&format!("Folder cleaning error: {}: {error}", entry.display()));
            }
        }
    }
    host.log("Retrieving the JDK from local path.");
    let unpack_dir = if inputs.boolean("createExtractDirectory") {
        let stripped = &file_name[..file_name.len() - ending.len()];
        destination.join(format!("{extended_java_home}_{stripped}_{}", &ending[1..]))
    } else {
        destination.clone()
    };
    if !clean && unpack_dir.exists() {
        host.log("Archive with JDK was extracted earlier - skipping extracting");
    } else {
        host.log(&format!("Extracting archive to: {}", unpack_dir.display()));
        if !jdk_file.is_file() {
            return Err(ToolError::ArchiveMissing(jdk_file));
        }
        if let Err(source) = std::fs::create_dir_all(&unpack_dir) {
            return Err(ToolError::CreateDirectory { directory: unpack_dir, source });
        }
        extract(&jdk_file, ending, &unpack_dir)?;
    }
    java_home_in(&unpack_dir)
}

/// Extracts a `.tar`, `.tar.gz` or `.zip` archive into `target`.
fn extract(file: &Path, ending: &str, target: &Path) -> Result<(), ToolError> {
    let failed =
        |source: Box<dyn std::error::Error + Send + Sync>| ToolError::Extraction { file: file.to_path_buf(), source };
    let open = || std::fs::File::open(file).map_err(|error| failed(error.into()));
    match ending {
        ".tar" => tar::Archive::new(open()?).unpack(target).map_err(|error| failed(error.into())),
        ".tar.gz" => tar::Archive::new(flate2::read::GzDecoder::new(open()?))
            .unpack(target)
            .map_err(|error| failed(error.into())),
        ".zip" => zip::ZipArchive::new(open()?)
            .and_then(|mut archive| archive.extract(target))
            .map_err(|error| failed(error.into())),
        other => Err(ToolError::CannotExtract { ending: other.to_owned(), file: file.to_path_buf() }),
    }
}

/// Where `bin` is in extracted files: the directory itself, or its only subdirectory.
fn java_home_in(dir: &Path) -> Result<PathBuf, ToolError> {
    let entries = probe::children(dir);
    if entries.iter().any(|entry| entry.file_name().is_some_and(|name| name == "bin")) {
        return Ok(dir.to_path_buf());
    }
    match entries.as_slice() {
        [only] if only.join("bin").exists() => Ok(only.clone()),
        _ => Err(ToolError::InvalidJdk),
    }
}

#[cfg(test)]
mod tests {
    use super::super::probe::testing::{World, script, touch};
    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> Inputs {
        let mut given: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        given.push(("jdkArchitectureOption".to_owned(), "x64".to_owned()));
        given.push(("jdkSourceOption".to_owned(), "PreInstalled".to_owned()));
        Inputs::resolve(&inputs(0), &given).expect("valid inputs")
    }

    fn jdk(world: &World, relative: &str, release: Option<&str>, reports: &str, javac: bool) {
        script(
            &world.path(&format!("{relative}/bin/java")),
            &format!("echo 'openjdk version \"{reports}\" 2024-01-16' >&2"),
        );
        if javac {
            script(&world.path(&format!("{relative}/bin/javac")), "true");
        }
        if let Some(version) = release {
            touch(
                &world.path(&format!("{relative}/release")),
                &format!("IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"{version}\"\n"),
            );
        }
    }

    #[test]
    fn reads_java_versions() {
        let versions: Vec<String> = ["1.8.0_392", "17.0.9+9", "17.0.9-9", "21", "11.0.21.1", "x"]
            .iter()
            .map(|text| java_version(text).map_or_else(|| "-".to_owned(), |version| version.to_string()))
            .collect();
        assert_eq!(versions, ["8.0.392", "17.0.9", "17.0.9", "21.0.0", "11.0.21", "-"]);
    }

    #[test]
    fn named_variable_wins_as_in_the_task() {
        let mut world = World::new();
        world.host.variables.insert("JAVA_HOME_11_X64".to_owned(), "/opt/jdk-11".to_owned());
        jdk(&world, "usr/lib/jvm/java-11-openjdk-amd64", Some("11.0.22"), "11.0.22", true);
        assert_eq!(use_java(&resolve(&[("versionSpec", "11")]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown(), ["JAVA_HOME=/opt/jdk-11", "JAVA_HOME_11_X64=/opt/jdk-11"]);
        assert_eq!(world.path_shown(), ["/opt/jdk-11/bin"]);
    }

    #[test]
    fn finds_jdks_in_the_tool_cache_and_on_the_machine() {
        let mut world = World::new();
        jdk(&world, "_tool/Java_Temurin-Hotspot_jdk/21.0.2-13/x64", Some("21.0.2"), "21.0.2", true);
        touch(&world.path("_tool/Java_Temurin-Hotspot_jdk/21.0.2-13/x64.complete"), "");
        jdk(&world, "usr/lib/jvm/java-17-openjdk-amd64", Some("17.0.9"), "17.0.9", true);
        std::os::unix::fs::symlink(
            world.path("usr/lib/jvm/java-17-openjdk-amd64"),
            world.path("usr/lib/jvm/java-1.17.0-openjdk-amd64"),
        )
        .expect("link");
        jdk(&world, "usr/lib/jvm/jre-17.0.10", None, "17.0.10", false);
        jdk(&world, "usr/lib/jvm/java-8-openjdk-amd64", None, "1.8.0_392", true);
        std::fs::create_dir_all(world.path("usr/lib/jvm/openjdk-17")).expect("source-only directory");
        for (spec, home) in [
            ("21", "<root>/_tool/Java_Temurin-Hotspot_jdk/21.0.2-13/x64"),
            ("17", "<root>/usr/lib/jvm/jre-17.0.10"),
            ("17.0.9", "<root>/usr/lib/jvm/java-17-openjdk-amd64"),
            ("1.8", "<root>/usr/lib/jvm/java-8-openjdk-amd64"),
        ] {
            world.host.set.clear();
            assert_eq!(
                use_java(&resolve(&[("versionSpec", spec)]), &mut world.host, &world.machine),
                Outcome::Succeeded
            );
            let extended = format!("JAVA_HOME_{}_X64", spec.to_uppercase());
            assert_eq!(world.set_shown(), [format!("JAVA_HOME={home}"), format!("{extended}={home}")], "{spec}");
        }
        assert_eq!(world.path_shown()[0], "<root>/usr/lib/jvm/java-8-openjdk-amd64/bin");
    }

    #[test]
    fn a_jdk_is_preferred_to_a_jre_of_the_same_version() {
        let mut world = World::new();
        jdk(&world, "usr/lib/jvm/a-jre", Some("17.0.9"), "17.0.9", false);
        jdk(&world, "usr/lib/jvm/b-jdk", Some("17.0.9"), "17.0.9", true);
        jdk(&world, "usr/lib/jvm/c-jre", Some("17.0.9"), "17.0.9", false);
        assert_eq!(use_java(&resolve(&[("versionSpec", "17")]), &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "JAVA_HOME=<root>/usr/lib/jvm/b-jdk");
    }

    #[test]
    fn missing_version_names_it_and_lists_what_was_found() {
        let mut world = World::new();
        jdk(&world, "usr/lib/jvm/java-17-openjdk-amd64", Some("17.0.9"), "17.0.9", true);
        let Outcome::Failed(message) = use_java(&resolve(&[]), &mut world.host, &world.machine) else {
            panic!("8 is not installed")
        };
        insta::assert_snapshot!(world.shown(&message), @r"
        Java version '8' (x64) is not installed on this machine, and Slipway does not download tools.
        Java versions found:
          17.0.9 (x64), machine: <root>/usr/lib/jvm/java-17-openjdk-amd64
        Java 8 is not preinstalled on this agent. Install a JDK 8 on this machine, set the variable JAVA_HOME_8_X64 to its directory, or put it in the agent tool cache as <root>/_tool/Java/<version>/x64 with an empty file x64.complete beside it.
        ");
        let Outcome::Failed(message) = use_java(&resolve(&[("versionSpec", "eight")]), &mut world.host, &world.machine)
        else {
            panic!("not a version")
        };
        insta::assert_snapshot!(message, @"Java version 'eight' is not a version (for example 8, 11, 17, 21).");
        assert!(world.host.set.is_empty() && world.host.path.is_empty());
    }

    fn tar_gz(path: &Path, entries: &[&str]) {
        let file = std::fs::File::create(path).expect("archive");
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
        let script = b"#!/bin/sh\necho java\n";
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(script.len() as u64);
            header.set_mode(0o755);
            header.set_cksum();
            builder.append_data(&mut header, entry, &script[..]).expect("entry");
        }
        builder.into_inner().expect("tar").finish().expect("gzip");
    }

    #[test]
    fn local_directory_extracts_the_archive_like_the_task() {
        let mut world = World::new();
        tar_gz(&world.path("s/jdk-17.0.9_linux-x64.tar.gz"), &["jdk-17.0.9+9/bin/java"]);
        touch(&world.path("jdks/old.txt"), "cleaned");
        let inputs = resolve(&[
            ("versionSpec", "17"),
            ("jdkSourceOption", "LocalDirectory"),
            ("jdkFile", "jdk-17.0.9_linux-x64.tar.gz"),
            ("jdkDestinationDirectory", &world.path("jdks").display().to_string()),
        ]);
        assert_eq!(use_java(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        let home = "<root>/jdks/JAVA_HOME_17_X64_jdk-17.0.9_linux-x64_tar.gz/jdk-17.0.9+9";
        assert_eq!(world.set_shown(), [format!("JAVA_HOME={home}"), format!("JAVA_HOME_17_X64={home}")]);
        assert_eq!(world.path_shown(), [format!("{home}/bin")]);
        assert!(!world.path("jdks/old.txt").exists(), "cleanDestinationDirectory");
        assert!(probe::is_executable(&world.path(&format!("{}/bin/java", &home["<root>/".len()..]))));

        world.host.set.clear();
        let inputs = resolve(&[
            ("versionSpec", "17"),
            ("jdkSourceOption", "LocalDirectory"),
            ("jdkFile", "jdk-17.0.9_linux-x64.tar.gz"),
            ("jdkDestinationDirectory", "flat"),
            ("createExtractDirectory", "false"),
        ]);
        assert_eq!(use_java(&inputs, &mut world.host, &world.machine), Outcome::Succeeded);
        assert_eq!(world.set_shown()[0], "JAVA_HOME=<root>/s/flat/jdk-17.0.9+9");
    }

    #[test]
    fn local_directory_and_azure_errors() {
        let mut world = World::new();
        let run = |world: &mut World, pairs: &[(&str, &str)]| -> String {
            let mut all = vec![("jdkSourceOption", "LocalDirectory"), ("jdkDestinationDirectory", "jdks")];
            all.extend_from_slice(pairs);
            match use_java(&resolve(&all), &mut world.host, &world.machine) {
                Outcome::Failed(message) => world.shown(&message),
                other => panic!("{other:?}"),
            }
        };
        insta::assert_snapshot!(run(&mut world, &[("jdkFile", "jdk.tgz")]), @"Specified JDK source file does not have a supported file extension.");
        insta::assert_snapshot!(run(&mut world, &[("jdkFile", "jdk.tar.gz")]), @"Extraction failed for file: <root>/s/jdk.tar.gz because it does not exist.");
        touch(&world.path("s/jdk.7z"), "7z");
        insta::assert_snapshot!(run(&mut world, &[("jdkFile", "jdk.7z")]), @"Slipway cannot extract .7z JDK archives (<root>/s/jdk.7z); use a .tar.gz, .tar or .zip archive.");
        tar_gz(&world.path("s/two.tar.gz"), &["a/bin/java", "b/README"]);
        insta::assert_snapshot!(run(&mut world, &[("jdkFile", "two.tar.gz"), ("createExtractDirectory", "false")]), @"JDK file is not valid. Verify if JDK file contains only one root folder with 'bin' inside.");
        let error = Inputs::resolve(
            &inputs(0),
            &[
                ("jdkSourceOption".to_owned(), "LocalDirectory".to_owned()),
                ("jdkArchitectureOption".to_owned(), "x64".to_owned()),
            ],
        )
        .expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input required: jdkFile; Input required: jdkDestinationDirectory");
        let azure = resolve(&[
            ("jdkSourceOption", "AzureStorage"),
            ("azureResourceManagerEndpoint", "sub"),
            ("azureStorageAccountName", "account"),
            ("azureContainerName", "jdks"),
            ("azureCommonVirtualFile", "jdk.tar.gz"),
            ("jdkDestinationDirectory", "jdks"),
        ]);
        let Outcome::Failed(message) = use_java(&azure, &mut world.host, &world.machine) else { panic!("offline") };
        insta::assert_snapshot!(message, @"JavaToolInstaller cannot download a JDK from Azure Storage: Slipway has no network and no service connections. Use jdkSourceOption: PreInstalled with a JDK installed on this machine, or LocalDirectory with a JDK archive in jdkFile.");
    }
}
