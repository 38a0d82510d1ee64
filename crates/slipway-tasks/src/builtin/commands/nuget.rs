//! `NuGetCommand@2`: runs `nuget restore|pack|<custom>` with the command lines the task builds.
//!
//! The program is the one `NuGetToolInstaller@1` chose (`NuGetExeToolPath`, or
//! `NuGetExeCustomLocation`), run with `mono` when it is a `nuget.exe` as the task does off
//! Windows, else the `nuget` command. `restore` writes the task's temporary `NuGet.config` for
//! "feeds I select here". `push`, Azure Artifacts feeds and service connections need Azure
//! DevOps or the network and fail saying so. Prerelease version stamps (`packTimezone`) are in
//! UTC even for `local`.

use std::path::Path;
use std::time::SystemTime;

use super::args::{self, split_arguments};
use super::packaging;
use crate::{CommandLine, InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// What provides `nuget`.
const PROVIDED_BY: &str = "Install NuGet on this machine (the nuget command, or nuget.exe with mono), or add a NuGetToolInstaller@1 step \
     before this one.";

/// The inputs of `NuGetCommand@2`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    let radio = |name: &str| InputSpec { kind: InputKind::Other("radio".to_owned()), ..InputSpec::string(name) };
    let editable = |name: &str| InputSpec {
        kind: InputKind::PickList { options: Vec::new(), editable: true },
        ..InputSpec::string(name)
    };
    let service = |name: &str| InputSpec {
        kind: InputKind::Other("connectedService:ExternalNuGetFeed".to_owned()),
        ..InputSpec::string(name)
    };
    let verbosity = |name: &str| InputSpec::pick(name, &["Quiet", "Normal", "Detailed"]).default("Detailed");
    let mut inputs = vec![
        InputSpec::pick("command", &["restore", "pack", "push", "custom"]).default("restore").required(),
        InputSpec::path("solution")
            .alias(&["restoreSolution"])
            .default("**/*.sln")
            .required()
            .visible("command = restore"),
        radio("selectOrConfig").alias(&["feedsToUse"]).default("select").required(),
        editable("feedRestore").alias(&["vstsFeed"]).visible("selectOrConfig = select"),
        InputSpec::boolean("includeNuGetOrg", true).visible("selectOrConfig = select"),
        InputSpec::path("nugetConfigPath").visible("selectOrConfig = config"),
        service("externalEndpoints").alias(&["externalFeedCredentials"]).visible("selectOrConfig = config"),
        InputSpec::boolean("noCache", false),
        InputSpec::boolean("disableParallelProcessing", false),
        InputSpec::string("packagesDirectory").alias(&["restoreDirectory"]),
        verbosity("verbosityRestore"),
        InputSpec::path("searchPatternPush")
            .alias(&["packagesToPush"])
            .default(
                "$(Build.ArtifactStagingDirectory)/**/*.nupkg;!$(Build.ArtifactStagingDirectory)/**/*.symbols.nupkg",
            )
            .required()
            .visible("command = push"),
        radio("nuGetFeedType").default("internal").required().visible("command = push"),
        editable("feedPublish")
            .alias(&["publishVstsFeed"])
            .required()
            .visible("command = push && nuGetFeedType = internal"),
        InputSpec::boolean("publishPackageMetadata", true).visible("command = push && nuGetFeedType = internal"),
        InputSpec::boolean("allowPackageConflicts", false).visible("command = push && nuGetFeedType = internal"),
        service("externalEndpoint")
            .alias(&["publishFeedCredentials"])
            .required()
            .visible("command = push && nuGetFeedType = external"),
        verbosity("verbosityPush"),
        InputSpec::path("searchPatternPack")
            .alias(&["packagesToPack"])
            .default("**/*.csproj")
            .required()
            .visible("command = pack"),
        InputSpec::string("configurationToPack")
            .alias(&["configuration"])
            .default("$(BuildConfiguration)")
            .visible("command = pack"),
        InputSpec::path("outputDir")
            .alias(&["packDestination"])
            .default("$(Build.ArtifactStagingDirectory)")
            .visible("command = pack"),
        InputSpec::pick("versioningScheme", &["off", "byPrereleaseNumber", "byEnvVar", "byBuildNumber"])
            .default("off")
            .required(),
        InputSpec::boolean("includeReferencedProjects", false).visible("versioningScheme = off"),
        InputSpec::pick("packTimezone", &["utc", "local"])
            .default("utc")
            .visible("versioningScheme = byPrereleaseNumber"),
        InputSpec::boolean("includeSymbols", false),
        InputSpec::boolean("toolPackage", false),
        InputSpec::string("buildProperties"),
        InputSpec::string("basePath"),
        verbosity("verbosityPack"),
        InputSpec::string("arguments").required().visible("command = custom"),
    ];
    // Shared with the other packing task, as in the real tasks (packaging-common).
    inputs.extend(packaging::version_inputs());
    inputs
}

/// Runs `NuGetCommand@2`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    nuget(inputs, host, SystemTime::now())
}

fn nuget(inputs: &Inputs, host: &mut dyn TaskHost, now: SystemTime) -> Outcome {
    match inputs.text("command").to_ascii_lowercase().as_str() {
        "restore" => restore(inputs, host),
        "pack" => pack(inputs, host, now),
        "push" => Outcome::failed(packaging::push_unsupported("NuGetCommand", inputs)),
        "custom" => custom(inputs, host),
        other => Outcome::failed(format!("The command {other} was not recognized.")),
    }
}

/// The command line for `nuget arguments`: the installer's `nuget.exe` through `mono`, its
/// `nuget` script, or the `nuget` command.
fn command_line(host: &dyn TaskHost, arguments: Vec<String>) -> CommandLine {
    let chosen = host
        .variable("NuGetExeToolPath")
        .filter(|path| !path.is_empty())
        .or_else(|| host.variable("NuGetExeCustomLocation").filter(|path| !path.is_empty()));
    match chosen {
        Some(path) if path.to_ascii_lowercase().ends_with(".exe") => {
            CommandLine::new("mono", std::iter::once(path).chain(arguments))
        }
        Some(path) => CommandLine::new(path, arguments),
        None => CommandLine::new("nuget", arguments),
    }
}

fn restore(inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let base = host.working_directory();
    let pattern = host.expand(inputs.text("solution"));
    let files = packaging::find_files(&pattern, &base);
    if let Some(not_a_file) = files.iter().find(|file| !file.is_file()) {
        host.error(&format!(
            "{} is not a solution file. Check the 'path to solution or packages.config' property of the NuGet Restore \
             task.",
            not_a_file.display()
        ));
        return Outcome::failed("Packages failed to restore");
    }
    if files.is_empty() {
        host.log(&format!("No solution, packages.config or project.json matched {pattern}; nothing to restore."));
    }
    let config = match packaging::restore_config("NuGetCommand", inputs, host) {
        Ok(config) => config,
        Err(error) => return Outcome::failed(error.to_string()),
    };
    let mut result = Ok(());
    for file in &files {
        let mut arguments = vec!["restore".to_owned(), file.display().to_string()];
        if let Some(packages) = inputs.get("packagesDirectory") {
            arguments.extend(["-PackagesDirectory".to_owned(), packages.to_owned()]);
        }
        if inputs.boolean("noCache") {
            arguments.push("-NoCache".to_owned());
        }
        if inputs.boolean("disableParallelProcessing") {
            arguments.push("-DisableParallelProcessing".to_owned());
        }
        if let Some(verbosity) = inputs.get("verbosityRestore").filter(|verbosity| *verbosity != "-") {
            arguments.extend(["-Verbosity".to_owned(), verbosity.to_owned()]);
        }
        arguments.push("-NonInteractive".to_owned());
        if let Some(config) = &config.file {
            arguments.extend(["-ConfigFile".to_owned(), config.display().to_string()]);
        }
        let line =
            CommandLine { working_directory: file.parent().map(Path::to_path_buf), ..command_line(host, arguments) };
        result = run_nuget(host, &line, "Packages failed to restore");
        if result.is_err() {
            break;
        }
    }
    config.clean_up();
    if let Err(outcome) = result {
        return outcome;
    }
    if let Some(outcome) = packaging::nuget_org_behavior(host, config.includes_nuget_org) {
        return outcome;
    }
    host.log("Packages were restored successfully");
    Outcome::Succeeded
}

fn pack(inputs: &Inputs, host: &mut dyn TaskHost, now: SystemTime) -> Outcome {
    let base = host.working_directory();
    if inputs.text("versioningScheme") != "off" && inputs.boolean("includeReferencedProjects") {
        host.warning(
            "The automatic package versioning and include referenced projects options do not work together. \
             Referenced projects will not inherit the custom version provided by the automatic versioning settings.",
        );
    }
    let version = match packaging::pack_version(inputs, host, now) {
        Ok(version) => version,
        Err(error) => return Outcome::failed(error.to_string()),
    };
    let output = inputs.get("outputDir").map(|dir| base.join(host.expand(dir)));
    if let Some(output) = &output
        && let Err(error) = std::fs::create_dir_all(output)
    {
        return Outcome::failed(format!("Could not create {}: {error}", output.display()));
    }
    let files = packaging::find_files(&host.expand(inputs.text("searchPatternPack")), &base);
    let properties = packaging::pack_properties(inputs, host);
    for file in &files {
        host.log(&format!("Attempting to pack file: {}", file.display()));
        let output = output.clone().or_else(|| file.parent().map(Path::to_path_buf)).unwrap_or_default();
        let mut arguments = vec![
            "pack".to_owned(),
            file.display().to_string(),
            "-NonInteractive".to_owned(),
            "-OutputDirectory".to_owned(),
            output.display().to_string(),
        ];
        if let Some(base_path) = inputs.get("basePath") {
            arguments.extend(["-BasePath".to_owned(), base_path.to_owned()]);
        }
        if !properties.is_empty() {
            arguments.extend(["-Properties".to_owned(), properties.join(";")]);
        }
        for (flag, input) in [
            ("-IncludeReferencedProjects", "includeReferencedProjects"),
            ("-Symbols", "includeSymbols"),
            ("-Tool", "toolPackage"),
        ] {
            if inputs.boolean(input) {
                arguments.push(flag.to_owned());
            }
        }
        if let Some(version) = &version {
            arguments.extend(["-version".to_owned(), version.clone()]);
        }
        if let Some(verbosity) = inputs.get("verbosityPack").filter(|verbosity| *verbosity != "-") {
            arguments.extend(["-Verbosity".to_owned(), verbosity.to_owned()]);
        }
        let line = command_line(host, arguments);
        if let Err(outcome) = run_nuget(host, &line, "An error occurred while trying to pack the files.") {
            return outcome;
        }
    }
    Outcome::Succeeded
}

fn custom(inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let mut arguments = split_arguments(inputs.text("arguments"));
    arguments.push("-NonInteractive".to_owned());
    let line = command_line(host, arguments);
    match args::run(host, &line, PROVIDED_BY) {
        Err(error) => Outcome::failed(error.to_string()),
        Ok(0) => Outcome::Succeeded,
        Ok(code) => Outcome::failed(format!("The nuget command failed with exit code({code})")),
    }
}

/// Runs NuGet; a failure records the exit code as an error and fails with `failure`.
fn run_nuget(host: &mut dyn TaskHost, line: &CommandLine, failure: &str) -> Result<(), Outcome> {
    match args::run(host, line, PROVIDED_BY) {
        Err(error) => Err(Outcome::failed(error.to_string())),
        Ok(0) => Ok(()),
        Ok(code) => {
            host.error(&format!("The nuget command failed with exit code({code})"));
            Err(Outcome::failed(failure))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Job, resolve};
    use super::*;

    fn run_with(job: &mut Job, pairs: &[(&str, &str)]) -> Outcome {
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199);
        let inputs = resolve(&super::inputs(2), pairs);
        if job.missing {
            job.host.cannot_start = Some("program not found".to_owned());
        }
        nuget(&inputs, &mut job.host, now)
    }

    #[test]
    fn restore_every_solution_with_a_temporary_config() {
        let mut job = Job::new();
        job.file("s/App.sln", "");
        job.file("s/legacy/Old.sln", "");
        assert_eq!(
            run_with(&mut job, &[("noCache", "true"), ("disableParallelProcessing", "true")]),
            Outcome::Succeeded
        );
        assert_eq!(
            job.commands(),
            [
                "nuget restore <root>/s/App.sln -NoCache -DisableParallelProcessing -Verbosity Detailed -NonInteractive -ConfigFile <root>/w/Nuget/tempNuGet_42.config",
                "nuget restore <root>/s/legacy/Old.sln -NoCache -DisableParallelProcessing -Verbosity Detailed -NonInteractive -ConfigFile <root>/w/Nuget/tempNuGet_42.config",
            ]
        );
        assert_eq!(job.host.commands[1].working_directory, Some(job.path("s/legacy")));
        assert!(!job.path("w/Nuget/tempNuGet_42.config").exists());
    }

    #[test]
    fn restore_with_config_file_installer_exe_and_packages_directory() {
        let mut job = Job::new();
        job.file("s/src/packages.config", "<packages />");
        job.host.variables.insert("NuGetExeToolPath".to_owned(), "/tools/NuGet/6.4.0/x64/nuget.exe".to_owned());
        let outcome = run_with(
            &mut job,
            &[
                ("restoreSolution", "src/packages.config"),
                ("feedsToUse", "config"),
                ("nugetConfigPath", "NuGet.Config"),
                ("restoreDirectory", "../packages"),
                ("verbosityRestore", "Quiet"),
            ],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "mono /tools/NuGet/6.4.0/x64/nuget.exe restore <root>/s/src/packages.config -PackagesDirectory ../packages -Verbosity Quiet -NonInteractive -ConfigFile <root>/s/NuGet.Config"
            ]
        );
        job.host.variables.insert("NuGetExeToolPath".to_owned(), "/usr/local/bin/nuget".to_owned());
        assert_eq!(
            run_with(&mut job, &[("restoreSolution", "src/packages.config"), ("includeNuGetOrg", "false")]),
            Outcome::Succeeded
        );
        assert_eq!(
            job.commands()[1],
            "/usr/local/bin/nuget restore <root>/s/src/packages.config -Verbosity Detailed -NonInteractive -ConfigFile <root>/w/Nuget/tempNuGet_42.config"
        );
    }

    #[test]
    fn restore_failures() {
        let mut job = Job::new();
        std::fs::create_dir_all(job.path("s/dir.sln")).expect("directory");
        assert_eq!(run_with(&mut job, &[]), Outcome::failed("Packages failed to restore"));
        insta::assert_snapshot!(job.shown(&job.host.errors[0]), @"<root>/s/dir.sln is not a solution file. Check the 'path to solution or packages.config' property of the NuGet Restore task.");
        std::fs::remove_dir(job.path("s/dir.sln")).expect("removed");
        job.file("s/App.sln", "");
        job.host.exit_code = 1;
        assert_eq!(run_with(&mut job, &[]), Outcome::failed("Packages failed to restore"));
        insta::assert_snapshot!(job.host.errors[1], @"The nuget command failed with exit code(1)");
        let Outcome::Failed(message) = run_with(&mut job, &[("vstsFeed", "feed")]) else { panic!("feed") };
        insta::assert_snapshot!(message, @"NuGetCommand cannot restore from the Azure Artifacts feed 'feed': Slipway has no network access to Azure DevOps. Use feedsToUse: config with a NuGet.config whose sources this machine can reach.");
        job.host.exit_code = 0;
        job.host.variables.insert("INCLUDE_NUGETORG_BEHAVIOR".to_owned(), "fail".to_owned());
        let Outcome::Failed(message) = run_with(&mut job, &[]) else { panic!("nuget.org is not allowed") };
        insta::assert_snapshot!(message, @"Packages failed to restore. Edit your build task and set 'includeNuGetOrg' to 'false' or deselect 'Use packages from NuGet.org'.");
        assert_eq!(run_with(&mut job, &[("feedsToUse", "config")]), Outcome::Succeeded, "only for selected feeds");
    }

    #[test]
    fn pack_builds_the_task_command_line() {
        let mut job = Job::new();
        job.file("s/src/Lib/Lib.csproj", "<Project />");
        job.file("s/src/Lib/Lib.nuspec", "<package />");
        let outcome = run_with(
            &mut job,
            &[
                ("command", "pack"),
                ("packagesToPack", "**/*.nuspec"),
                ("configuration", "Release"),
                ("buildProperties", "owner=me"),
                ("basePath", "src"),
                ("includeReferencedProjects", "true"),
                ("includeSymbols", "true"),
                ("toolPackage", "true"),
                ("versioningScheme", "byPrereleaseNumber"),
                ("majorVersion", "3"),
                ("minorVersion", "1"),
            ],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "nuget pack <root>/s/src/Lib/Lib.nuspec -NonInteractive -OutputDirectory <root>/a -BasePath src -Properties Configuration=Release;owner=me -IncludeReferencedProjects -Symbols -Tool -version 3.1.0-CI-20240229-235959 -Verbosity Detailed"
            ]
        );
        insta::assert_snapshot!(job.host.warnings[0], @"The automatic package versioning and include referenced projects options do not work together. Referenced projects will not inherit the custom version provided by the automatic versioning settings.");
        assert_eq!(
            run_with(&mut job, &[("command", "pack"), ("outputDir", ""), ("verbosityPack", "Quiet")]),
            Outcome::Succeeded
        );
        assert_eq!(
            job.commands()[1],
            "nuget pack <root>/s/src/Lib/Lib.csproj -NonInteractive -OutputDirectory <root>/a -Verbosity Quiet"
        );
        job.host.exit_code = 1;
        assert_eq!(
            run_with(&mut job, &[("command", "pack")]),
            Outcome::failed("An error occurred while trying to pack the files.")
        );
    }

    #[test]
    fn custom_push_and_missing_nuget() {
        let mut job = Job::new();
        assert_eq!(
            run_with(&mut job, &[("command", "custom"), ("arguments", "locals all -clear")]),
            Outcome::Succeeded
        );
        assert_eq!(job.commands(), ["nuget locals all -clear -NonInteractive"]);
        job.host.exit_code = 4;
        assert_eq!(
            run_with(&mut job, &[("command", "custom"), ("arguments", "sources list")]),
            Outcome::failed("The nuget command failed with exit code(4)")
        );
        let Outcome::Failed(message) = run_with(&mut job, &[("command", "push"), ("publishVstsFeed", "project/feed")])
        else {
            panic!("push")
        };
        insta::assert_snapshot!(message, @"NuGetCommand push needs the Azure Artifacts feed 'project/feed', which Slipway cannot reach: it has no network and no service connections. Keep the packages as a pipeline artifact instead (PublishPipelineArtifact@1).");
        let error =
            Inputs::resolve(&super::inputs(2), &[("command".to_owned(), "custom".to_owned())]).expect_err("required");
        insta::assert_snapshot!(error.to_string(), @"Input required: arguments");
        let error = Inputs::resolve(&super::inputs(2), &[("verbosityRestore".to_owned(), "Minimal".to_owned())])
            .expect_err("pick");
        insta::assert_snapshot!(error.to_string(), @"Input verbosityRestore has an invalid value 'Minimal'; expected one of: Quiet, Normal, Detailed");
        let mut job = Job::missing_programs();
        let Outcome::Failed(message) = run_with(&mut job, &[("command", "custom"), ("arguments", "help")]) else {
            panic!("missing")
        };
        insta::assert_snapshot!(message, @"Could not run 'nuget': program not found. Install NuGet on this machine (the nuget command, or nuget.exe with mono), or add a NuGetToolInstaller@1 step before this one.");
    }
}
