//! `DotNetCoreCLI@2`: runs `dotnet build|publish|run|test|restore|pack|<custom>` with the
//! command lines the task builds.
//!
//! As in the task, `projects` is a list of patterns matched from the default working directory
//! (not `workingDirectory`), the command runs once per match (once, without a project, when no
//! pattern is given), `publishWebProjects` looks for web projects, `modifyOutputPath` and
//! `zipAfterPublish` rework the `--output` of `publish`, `publishTestResults` adds
//! `--logger trx --results-directory $(Agent.TempDirectory)` to `test`, and `restore`
//! writes a temporary `NuGet.config` for "feeds I select here". Differences: `build` does not
//! get the agent's MSBuild logger argument (`-dl:CentralLogger,...`, a DLL of the real task);
//! `push`, Azure Artifacts feeds and service connections need Azure DevOps or the network and
//! fail saying so; the TRX files of `test` are not yet turned into a test run (see
//! [`publish_test_results`]).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::args::{self, split_arguments};
use super::packaging;
use super::{CommandError, ZipError};
use crate::{CommandLine, InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// What provides `dotnet`.
const PROVIDED_BY: &str = "Install the .NET SDK on this machine, or add a UseDotNet@2 step before this one.";

/// The failure when the patterns match nothing.
const NO_PROJECTS: &str = "Project file(s) matching the specified pattern were not found.";

/// The inputs of `DotNetCoreCLI@2`.
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
    let verbosity = |name: &str| {
        InputSpec::pick(name, &["-", "Quiet", "Minimal", "Normal", "Detailed", "Diagnostic"]).default("Detailed")
    };
    let mut inputs = vec![
        InputSpec::pick("command", &["build", "push", "pack", "publish", "restore", "run", "test", "custom"])
            .default("build")
            .required(),
        InputSpec::boolean("publishWebProjects", true).required().visible("command = publish"),
        InputSpec::lines("projects").visible(
            "command = build || command = restore || command = run || command = test || command = custom || \
             publishWebProjects = false",
        ),
        InputSpec::string("custom").required().visible("command = custom"),
        InputSpec::string("arguments")
            .visible("command = build || command = publish || command = run || command = test || command = custom"),
        InputSpec::string("restoreArguments").visible("command = restore"),
        InputSpec::boolean("publishTestResults", true).visible("command = test"),
        InputSpec::string("testRunTitle").visible("command = test"),
        InputSpec::boolean("zipAfterPublish", true).visible("command = publish"),
        InputSpec::boolean("modifyOutputPath", true).visible("command = publish"),
        radio("selectOrConfig").alias(&["feedsToUse"]).default("select").required(),
        editable("feedRestore").alias(&["vstsFeed"]).visible("selectOrConfig = select"),
        InputSpec::boolean("includeNuGetOrg", true).visible("selectOrConfig = select"),
        InputSpec::path("nugetConfigPath").visible("selectOrConfig = config"),
        service("externalEndpoints").alias(&["externalFeedCredentials"]).visible("selectOrConfig = config"),
        InputSpec::boolean("noCache", false),
        InputSpec::string("packagesDirectory").alias(&["restoreDirectory"]),
        verbosity("verbosityRestore"),
        InputSpec::path("searchPatternPush")
            .alias(&["packagesToPush"])
            .default("$(Build.ArtifactStagingDirectory)/*.nupkg")
            .required()
            .visible("command = push"),
        radio("nuGetFeedType").default("internal").required().visible("command = push"),
        editable("feedPublish")
            .alias(&["publishVstsFeed"])
            .required()
            .visible("command = push && nuGetFeedType = internal"),
        InputSpec::boolean("publishPackageMetadata", true).visible("command = push && nuGetFeedType = internal"),
        service("externalEndpoint")
            .alias(&["publishFeedCredentials"])
            .required()
            .visible("command = push && nuGetFeedType = external"),
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
            .alias(&["packDirectory"])
            .default("$(Build.ArtifactStagingDirectory)")
            .visible("command = pack"),
        InputSpec::boolean("nobuild", false).visible("command = pack"),
        InputSpec::boolean("includesymbols", false).visible("command = pack"),
        InputSpec::boolean("includesource", false).visible("command = pack"),
        InputSpec::pick("versioningScheme", &["off", "byPrereleaseNumber", "byEnvVar", "byBuildNumber"])
            .default("off")
            .required(),
        InputSpec::string("buildProperties"),
        verbosity("verbosityPack"),
        InputSpec::path("workingDirectory").visible("command != restore && command != push && command != pack"),
        InputSpec::integer("requestTimeout").default("300000"),
    ];
    // Shared with the other packing task, as in the real tasks (packaging-common).
    inputs.extend(packaging::version_inputs());
    inputs
}

/// Runs `DotNetCoreCLI@2`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    dotnet(inputs, host, SystemTime::now())
}

fn dotnet(inputs: &Inputs, host: &mut dyn TaskHost, now: SystemTime) -> Outcome {
    let command = inputs.text("command").to_ascii_lowercase();
    match command.as_str() {
        "build" | "publish" | "run" => basic(&command, inputs, host),
        "custom" => match inputs.get("custom") {
            Some(custom) => basic(custom, inputs, host),
            None => Outcome::failed("Input required: custom"),
        },
        "test" => test(inputs, host),
        "restore" => restore(inputs, host),
        "pack" => pack(inputs, host, now),
        "push" => Outcome::failed(packaging::push_unsupported("DotNetCoreCLI", inputs)),
        other => Outcome::failed(format!("The command {other} was not recognized.")),
    }
}

fn command_line(arguments: Vec<String>, working_directory: Option<PathBuf>) -> CommandLine {
    CommandLine { working_directory, ..CommandLine::new("dotnet", arguments) }
}

/// `build`, `publish`, `run` and custom commands.
fn basic(command: &str, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let arguments = inputs.text("arguments").trim().to_owned();
    let publish = command == "publish";
    let output = if publish { output_argument(&arguments) } else { None };
    let projects = project_files(command, inputs, host);
    if projects.is_empty() {
        return Outcome::failed(NO_PROJECTS);
    }
    let working_directory = inputs.path("workingDirectory", &host.working_directory());
    let modify_output = inputs.boolean("modifyOutputPath");
    let mut failed: Vec<String> = Vec::new();
    for project in &projects {
        let mut line = vec![command.to_owned()];
        if command == "run" {
            if !project.is_empty() {
                line.extend(["--project".to_owned(), project.clone()]);
            }
        } else if !project.is_empty() {
            line.push(project.clone());
        }
        let this_arguments = match (&output, publish && modify_output) {
            (Some((value, index)), true) => replace_output(&arguments, value, *index, &modified_output(value, project)),
            _ => arguments.clone(),
        };
        line.extend(split_arguments(&this_arguments));
        match args::run(host, &command_line(line, working_directory.clone()), PROVIDED_BY) {
            Err(error) => return Outcome::failed(error.to_string()),
            Ok(0) => {
                if publish && inputs.boolean("zipAfterPublish") {
                    let base = working_directory.clone().unwrap_or_else(|| host.working_directory());
                    let output = output.as_ref().map(|(value, _)| value.as_str());
                    if let Err(error) = zip_after_publish(project, output, modify_output, &base) {
                        host.error(&error.to_string());
                        failed.push(project.clone());
                    }
                }
            }
            Ok(code) => {
                host.error(&format!("The process 'dotnet' failed with exit code {code}"));
                failed.push(project.clone());
            }
        }
    }
    if failed.is_empty() {
        Outcome::Succeeded
    } else {
        Outcome::failed(format!(
            "Dotnet command failed with non-zero exit code on the following projects : {}",
            failed.join(",")
        ))
    }
}

/// `test`: with `publishTestResults`, TRX results go to `$(Agent.TempDirectory)`.
fn test(inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let publish = inputs.boolean("publishTestResults");
    let results = host.variable("Agent.TempDirectory").unwrap_or_default();
    let mut arguments = inputs.text("arguments").to_owned();
    if publish {
        arguments = format!(" --logger trx --results-directory \"{results}\" {arguments}");
        for old in crate::glob::find_match(Path::new(&results), &["**/*.trx".to_owned()]) {
            if old.is_file() {
                // A result file left behind would be published again with this run's.
                if let Err(error) = std::fs::remove_file(&old) {
                    tracing::warn!(path = %old.display(), %error, "could not remove an earlier test result file");
                }
            }
        }
    }
    let projects = project_files("test", inputs, host);
    if projects.is_empty() {
        host.warning(NO_PROJECTS);
        return Outcome::Succeeded;
    }
    let working_directory = inputs.path("workingDirectory", &host.working_directory());
    let mut failed: Vec<String> = Vec::new();
    for project in &projects {
        let mut line = vec!["test".to_owned()];
        if !project.is_empty() {
            line.push(project.clone());
        }
        line.extend(split_arguments(&arguments));
        match args::run(host, &command_line(line, working_directory.clone()), PROVIDED_BY) {
            Err(error) => return Outcome::failed(error.to_string()),
            Ok(0) => {}
            Ok(code) => {
                host.error(&format!("The process 'dotnet' failed with exit code {code}"));
                failed.push(project.clone());
            }
        }
    }
    if publish {
        publish_test_results(host, Path::new(&results), inputs.text("testRunTitle"));
    }
    if failed.is_empty() {
        Outcome::Succeeded
    } else {
        Outcome::failed(format!(
            "Dotnet command failed with non-zero exit code on the following projects : {}",
            failed.join(",")
        ))
    }
}

/// Publishes the TRX files `dotnet test` wrote, as the real task does, through the reader of
/// `PublishTestResults@2`.
fn publish_test_results(host: &mut dyn TaskHost, results: &Path, title: &str) {
    let title = (!title.is_empty()).then_some(title);
    if let crate::Outcome::Failed(message) =
        super::super::testing::publish_result_files(host, "VSTest", results, "**/*.trx", title)
    {
        host.warning(&message);
    }
}

/// `restore`, once per project (or once without one).
fn restore(inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let patterns = inputs.lines("projects");
    let projects: Vec<String> = if patterns.is_empty() {
        vec![String::new()]
    } else {
        crate::glob::find_match(&host.working_directory(), &patterns)
            .iter()
            .map(|path| path.display().to_string())
            .collect()
    };
    if projects.is_empty() {
        return Outcome::failed("No files matched the search pattern.");
    }
    let config = match packaging::restore_config("DotNetCoreCLI", inputs, host) {
        Ok(config) => config,
        Err(error) => return Outcome::failed(error.to_string()),
    };
    let restored = restore_each(&projects, config.file.as_deref(), inputs, host);
    config.clean_up();
    if let Err(outcome) = restored {
        return outcome;
    }
    if let Some(outcome) = packaging::nuget_org_behavior(host, inputs.boolean("includeNuGetOrg")) {
        return outcome;
    }
    host.log("Packages were restored successfully");
    Outcome::Succeeded
}

fn restore_each(
    projects: &[String],
    config: Option<&Path>,
    inputs: &Inputs,
    host: &mut dyn TaskHost,
) -> Result<(), Outcome> {
    for project in projects {
        let mut line = vec!["restore".to_owned()];
        if !project.is_empty() {
            line.push(project.clone());
        }
        if let Some(packages) = inputs.get("packagesDirectory") {
            line.extend(["--packages".to_owned(), packages.to_owned()]);
        }
        if let Some(config) = config {
            line.extend(["--configfile".to_owned(), config.display().to_string()]);
        }
        if inputs.boolean("noCache") {
            line.push("--no-cache".to_owned());
        }
        if let Some(verbosity) = inputs.get("verbosityRestore").filter(|verbosity| *verbosity != "-") {
            line.extend(["--verbosity".to_owned(), verbosity.to_owned()]);
        }
        line.extend(split_arguments(inputs.text("restoreArguments")));
        let directory = Path::new(project).parent().filter(|_| !project.is_empty()).map(Path::to_path_buf);
        match args::run(host, &command_line(line, directory), PROVIDED_BY) {
            Err(error) => return Err(Outcome::failed(error.to_string())),
            Ok(0) => {}
            Ok(code) => {
                host.error(&format!("The process 'dotnet' failed with exit code {code}"));
                return Err(Outcome::failed("Packages failed to restore"));
            }
        }
    }
    Ok(())
}

/// `pack`, once per matching project or `.nuspec`.
fn pack(inputs: &Inputs, host: &mut dyn TaskHost, now: SystemTime) -> Outcome {
    let base = host.working_directory();
    let version = match packaging::pack_version(inputs, host, now) {
        Ok(version) => version,
        Err(error) => return Outcome::failed(error.to_string()),
    };
    // The task creates a relative output directory from the agent's working directory; it is
    // passed made absolute so it means the same from each project's directory.
    let output = inputs.get("outputDir").map(|dir| base.join(host.expand(dir)));
    if let Some(output) = &output
        && let Err(error) = std::fs::create_dir_all(output)
    {
        return Outcome::failed(format!("Could not create {}: {error}", output.display()));
    }
    let pattern = host.expand(inputs.text("searchPatternPack"));
    let files: Vec<String> = if pattern.is_empty() {
        vec![String::new()]
    } else {
        packaging::find_files(&pattern, &base).iter().map(|path| path.display().to_string()).collect()
    };
    if files.is_empty() {
        return Outcome::failed("No files matched the search pattern.");
    }
    let properties = packaging::pack_properties(inputs, host);
    for file in &files {
        let mut line = vec!["pack".to_owned(), file.clone()];
        if let Some(output) = &output {
            line.extend(["--output".to_owned(), output.display().to_string()]);
        }
        for (flag, input) in
            [("--no-build", "nobuild"), ("--include-symbols", "includesymbols"), ("--include-source", "includesource")]
        {
            if inputs.boolean(input) {
                line.push(flag.to_owned());
            }
        }
        if !properties.is_empty() {
            line.push(format!("/p:{}", properties.join(";")));
        }
        if let Some(version) = &version {
            line.push(format!("/p:PackageVersion={version}"));
        }
        if let Some(verbosity) = inputs.get("verbosityPack").filter(|verbosity| *verbosity != "-") {
            line.extend(["--verbosity".to_owned(), verbosity.to_owned()]);
        }
        let directory = Path::new(file).parent().filter(|_| !file.is_empty()).map(Path::to_path_buf);
        match args::run(host, &command_line(line, directory), PROVIDED_BY) {
            Err(error) => return Outcome::failed(error.to_string()),
            Ok(0) => {}
            Ok(code) => {
                host.error(&format!("The process 'dotnet' failed with exit code {code}"));
                return Outcome::failed("An error occurred while trying to pack the files.");
            }
        }
    }
    Outcome::Succeeded
}

/// The projects to run on: matches of `projects` (every `*.csproj`, `*.vbproj` and `*.fsproj`
/// that is a web project, for `publish` with `publishWebProjects`), or one empty entry meaning
/// "no project argument" when no pattern is given.
fn project_files(command: &str, inputs: &Inputs, host: &mut dyn TaskHost) -> Vec<String> {
    let web = command == "publish" && inputs.boolean("publishWebProjects");
    let patterns = if web {
        vec!["**/*.csproj".to_owned(), "**/*.vbproj".to_owned(), "**/*.fsproj".to_owned()]
    } else {
        inputs.lines("projects")
    };
    if patterns.is_empty() {
        return vec![String::new()];
    }
    let files = crate::glob::find_match(&host.working_directory(), &patterns);
    let shown = |files: Vec<&PathBuf>| files.iter().map(|path| path.display().to_string()).collect::<Vec<_>>();
    if !web {
        return shown(files.iter().collect());
    }
    let with_web_files: Vec<&PathBuf> = files
        .iter()
        .filter(|file| file.parent().is_some_and(|dir| dir.join("web.config").exists() || dir.join("wwwroot").exists()))
        .collect();
    if !with_web_files.is_empty() {
        return shown(with_web_files);
    }
    let with_web_sdk: Vec<&PathBuf> = files.iter().filter(|file| uses_web_sdk(file)).collect();
    if with_web_sdk.is_empty() {
        host.error(
            "No web project was found in the repository. Web projects are identified by presence of either a \
             web.config file, wwwroot folder in the directory, or by the usage of Microsoft.Net.Web.Sdk in your \
             project file. You can set Publish web projects property to false (publishWebProjects: false in yml) if \
             your project doesn't follow this convention or if you want to publish projects other than web projects.",
        );
    }
    shown(with_web_sdk)
}

/// Whether a project's root element says `Sdk="Microsoft.NET.Sdk.Web"`.
fn uses_web_sdk(project: &Path) -> bool {
    if project.extension().is_some_and(|extension| extension == "vbproj") {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(project) else { return false };
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(element) | quick_xml::events::Event::Empty(element)) => {
                return element.attributes().flatten().any(|attribute| {
                    matches!(attribute.key.as_ref(), "Sdk" | "sdk")
                        && attribute.value.eq_ignore_ascii_case("microsoft.net.sdk.web")
                });
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// The value of the last `--output`/`-o` in `publish` arguments, and the character index just
/// after that option, read with the task's tokenizer.
fn output_argument(arguments: &str) -> Option<(String, usize)> {
    let chars: Vec<char> = arguments.trim().chars().collect();
    let mut index = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut next = |index: &mut usize| -> Option<String> {
        let mut arg = String::new();
        while *index < chars.len() {
            let c = chars[*index];
            if c == '"' {
                if escaped {
                    arg.push(c);
                    escaped = false;
                } else {
                    in_quotes = !in_quotes;
                }
                *index += 1;
                continue;
            }
            if c == '\\' && in_quotes && !escaped {
                escaped = true;
                *index += 1;
                continue;
            }
            if c == ' ' && !in_quotes {
                if !arg.is_empty() {
                    return Some(arg.trim().to_owned());
                }
                *index += 1;
                continue;
            }
            if escaped {
                arg.push('\\');
                escaped = false;
            }
            arg.push(c);
            *index += 1;
        }
        (!arg.is_empty()).then(|| arg.trim().to_owned())
    };
    let mut found: Option<(String, usize)> = None;
    let mut option_at: Option<usize> = None;
    while let Some(token) = next(&mut index) {
        let upper = token.to_uppercase();
        if upper == "--OUTPUT" || upper == "-O" {
            option_at = Some(index);
        } else if let Some(at) = option_at.take() {
            found = Some((token, at));
        }
    }
    found
}

/// `arguments` with the first `value` after character `index` replaced by `replacement`.
fn replace_output(arguments: &str, value: &str, index: usize, replacement: &str) -> String {
    let chars: Vec<char> = arguments.chars().collect();
    let head: String = chars[..index.min(chars.len())].iter().collect();
    let tail: String = chars[index.min(chars.len())..].iter().collect();
    format!("{head}{}", tail.replacen(value, replacement, 1))
}

/// `path.join(output, basename(dirname(project)))`.
fn modified_output(output: &str, project: &str) -> String {
    let name = Path::new(project)
        .parent()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let output = if output.len() > 1 { output.trim_end_matches('/') } else { output };
    if name.is_empty() { output.to_owned() } else { format!("{output}/{name}") }
}

/// Zips the published folder of `project` (`--output` as reworked, or the first `publish`
/// folder below the project) to `<folder>.zip` and removes the folder; with an `--output` used
/// as is, the zip then moves into a new folder of that name, as the task does.
fn zip_after_publish(
    project: &str,
    output: Option<&str>,
    modify_output: bool,
    base: &Path,
) -> Result<(), CommandError> {
    let (source, move_into) = match output {
        Some(output) if modify_output && !project.is_empty() => (base.join(modified_output(output, project)), false),
        Some(output) => (base.join(output), true),
        None => {
            let dir = Path::new(project).parent().filter(|_| !project.is_empty()).unwrap_or(base);
            let found = crate::glob::find_match(dir, &["**/publish".to_owned()]).into_iter().find(|path| path.is_dir());
            let found = found.ok_or_else(|| CommandError::NoPublishFolder(project.to_owned()))?;
            (found, false)
        }
    };
    let target = PathBuf::from(format!("{}.zip", source.display()));
    zip_directory(&source, &target).map_err(CommandError::Zip)?;
    std::fs::remove_dir_all(&source).map_err(|error| CommandError::Zip(error.into()))?;
    if move_into {
        let name = target.file_name().map(ToOwned::to_owned).unwrap_or_default();
        std::fs::create_dir_all(&source)
            .and_then(|()| std::fs::rename(&target, source.join(name)))
            .map_err(|error| CommandError::Zip(error.into()))?;
    }
    Ok(())
}

/// Writes the contents of `source` (not `source` itself) into a new zip file `target`.
fn zip_directory(source: &Path, target: &Path) -> Result<(), ZipError> {
    use std::os::unix::fs::PermissionsExt;
    if !source.is_dir() {
        return Err(ZipError::NotADirectory(source.to_path_buf()));
    }
    let file = std::fs::File::create(target)?;
    let mut writer = zip::ZipWriter::new(file);
    let mut stack = vec![source.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&dir)?.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
        entries.sort();
        for entry in entries {
            // Entries are found below `source`, so the prefix is there.
            let relative = entry.strip_prefix(source).unwrap_or(&entry);
            let name = relative.to_string_lossy().replace('\\', "/");
            let metadata = std::fs::metadata(&entry)?;
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(metadata.permissions().mode());
            if metadata.is_dir() {
                writer.add_directory(format!("{name}/"), options)?;
                stack.push(entry);
            } else {
                writer.start_file(name, options)?;
                let mut input = std::fs::File::open(&entry)?;
                std::io::copy(&mut input, &mut writer)?;
            }
        }
    }
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Job, resolve};
    use super::*;

    fn job() -> Job {
        Job::new()
    }

    fn run_with(job: &mut Job, pairs: &[(&str, &str)]) -> Outcome {
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199);
        let inputs = resolve(&inputs(2), pairs);
        if job.missing {
            {
                job.host.cannot_start = Some("program not found".to_owned());
                dotnet(&inputs, &mut job.host, now)
            }
        } else {
            dotnet(&inputs, &mut job.host, now)
        }
    }

    #[test]
    fn build_without_projects_runs_once_in_the_working_directory() {
        let mut job = job();
        assert_eq!(run_with(&mut job, &[("arguments", "-c Release --no-restore")]), Outcome::Succeeded);
        assert_eq!(job.commands(), ["dotnet build -c Release --no-restore"]);
        assert_eq!(job.host.commands[0].working_directory, None);
    }

    #[test]
    fn build_each_matching_project_in_working_directory() {
        let mut job = job();
        job.file("s/src/App/App.csproj", "<Project />");
        job.file("s/src/Lib/Lib.csproj", "<Project />");
        job.file("s/test/App.Tests/App.Tests.csproj", "<Project />");
        let outcome = run_with(
            &mut job,
            &[
                ("projects", "**/*.csproj\n!**/*.Tests.csproj"),
                ("arguments", "--configuration Release -p:Version=\"1.2 beta\""),
                ("workingDirectory", "src"),
            ],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "dotnet build <root>/s/src/App/App.csproj --configuration Release \"-p:Version=1.2 beta\"",
                "dotnet build <root>/s/src/Lib/Lib.csproj --configuration Release \"-p:Version=1.2 beta\"",
            ]
        );
        assert_eq!(job.host.commands[0].working_directory, Some(job.path("s/src")));
    }

    #[test]
    fn run_uses_project_option_and_custom_is_one_argument() {
        let mut job = job();
        job.file("s/App/App.csproj", "<Project />");
        assert_eq!(
            run_with(&mut job, &[("command", "run"), ("projects", "App/App.csproj"), ("arguments", "-- --port 80")]),
            Outcome::Succeeded
        );
        assert_eq!(run_with(&mut job, &[("command", "run")]), Outcome::Succeeded);
        assert_eq!(
            run_with(&mut job, &[("command", "custom"), ("custom", "format"), ("arguments", "--verify-no-changes")]),
            Outcome::Succeeded
        );
        assert_eq!(run_with(&mut job, &[("command", "custom"), ("custom", "tool restore")]), Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "dotnet run --project <root>/s/App/App.csproj -- --port 80",
                "dotnet run",
                "dotnet format --verify-no-changes",
                "dotnet \"tool restore\"",
            ]
        );
    }

    #[test]
    fn failures_are_per_project_then_summarised() {
        let mut job = job();
        job.file("s/A/A.csproj", "<Project />");
        job.file("s/B/B.csproj", "<Project />");
        job.host.exit_code = 1;
        let outcome = run_with(&mut job, &[("projects", "**/*.csproj")]);
        let Outcome::Failed(message) = outcome else { panic!("failed") };
        insta::assert_snapshot!(job.shown(&message), @"Dotnet command failed with non-zero exit code on the following projects : <root>/s/A/A.csproj,<root>/s/B/B.csproj");
        assert_eq!(
            job.host.errors,
            ["The process 'dotnet' failed with exit code 1", "The process 'dotnet' failed with exit code 1"]
        );
        assert_eq!(job.commands().len(), 2);
        let Outcome::Failed(message) = run_with(&mut job, &[("projects", "nothing/*.csproj")]) else {
            panic!("no match")
        };
        insta::assert_snapshot!(message, @"Project file(s) matching the specified pattern were not found.");
    }

    #[test]
    fn publish_web_projects_with_output_per_project_and_zip() {
        let mut job = job();
        job.file("s/Web/Web.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        job.file("s/Web/web.config", "<configuration />");
        job.file("s/Api/Api.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />");
        job.file("s/Lib/Lib.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        // What `dotnet publish` would have written:
        job.file("a/Web/Web.dll", "MZ");
        job.file("a/Web/wwwroot/site.css", "body {}");
        let staging = job.path("a").display().to_string();
        let outcome =
            run_with(&mut job, &[("command", "publish"), ("arguments", &format!("-c Release --output {staging}"))]);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(job.commands(), ["dotnet publish <root>/s/Web/Web.csproj -c Release --output <root>/a/Web"]);
        assert!(!job.path("a/Web").exists());
        let archive = zip::ZipArchive::new(std::fs::File::open(job.path("a/Web.zip")).expect("zip")).expect("archive");
        let mut names: Vec<&str> = archive.file_names().collect();
        names.sort_unstable();
        assert_eq!(names, ["Web.dll", "wwwroot/", "wwwroot/site.css"]);
    }

    #[test]
    fn publish_web_sdk_projects_and_unmodified_output() {
        let mut job = job();
        job.file("s/Api/Api.csproj", "<?xml version=\"1.0\"?>\n<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n</Project>");
        job.file("s/Lib/Lib.vbproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />");
        job.file("s/out/Api.dll", "MZ");
        let outcome =
            run_with(&mut job, &[("command", "publish"), ("arguments", "-o out"), ("modifyOutputPath", "false")]);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(job.commands(), ["dotnet publish <root>/s/Api/Api.csproj -o out"]);
        assert!(job.path("s/out/out.zip").is_file(), "the zip moves into the output folder");
        assert!(!job.path("s/out/Api.dll").exists());
    }

    #[test]
    fn publish_without_output_zips_the_publish_folder_or_fails() {
        let mut job = job();
        job.file("s/App/App.csproj", "<Project />");
        job.file("s/App/bin/Release/net8.0/publish/App.dll", "MZ");
        let outcome = run_with(
            &mut job,
            &[("command", "publish"), ("publishWebProjects", "false"), ("projects", "**/App.csproj")],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert!(job.path("s/App/bin/Release/net8.0/publish.zip").is_file());
        let outcome = run_with(
            &mut job,
            &[("command", "publish"), ("publishWebProjects", "false"), ("projects", "**/App.csproj")],
        );
        let Outcome::Failed(message) = outcome else { panic!("nothing to zip") };
        assert_eq!(
            job.shown(&message),
            "Dotnet command failed with non-zero exit code on the following projects : <root>/s/App/App.csproj"
        );
        insta::assert_snapshot!(job.shown(&job.host.errors[0]), @"A publish folder could not be found to zip for project file: <root>/s/App/App.csproj.");
        let outcome = run_with(&mut job, &[("command", "publish"), ("zipAfterPublish", "false")]);
        let Outcome::Failed(message) = outcome else { panic!("no web project") };
        assert_eq!(message, NO_PROJECTS);
        insta::assert_snapshot!(job.host.errors[1], @"No web project was found in the repository. Web projects are identified by presence of either a web.config file, wwwroot folder in the directory, or by the usage of Microsoft.Net.Web.Sdk in your project file. You can set Publish web projects property to false (publishWebProjects: false in yml) if your project doesn't follow this convention or if you want to publish projects other than web projects.");
    }

    #[test]
    fn output_argument_is_read_like_the_task() {
        assert_eq!(output_argument("-c Release --output \"my out\" -v q"), Some(("my out".to_owned(), 19)));
        assert_eq!(output_argument("-o a -o b"), Some(("b".to_owned(), 7)));
        assert_eq!(output_argument("-c Release"), None);
        assert_eq!(replace_output("-o a -o a", "a", 7, "a/P"), "-o a -o a/P");
        assert_eq!(modified_output("out/", "/s/P/P.csproj"), "out/P");
        assert_eq!(modified_output("out", ""), "out");
    }

    #[test]
    fn test_adds_trx_logger_and_reports_the_results_files() {
        let mut job = job();
        let temp = job.path("_temp");
        job.file("_temp/old/old.trx", "<TestRun />");
        job.file("s/tests/A.Tests/A.Tests.csproj", "<Project />");
        let outcome =
            run_with(&mut job, &[("command", "test"), ("projects", "tests/**/*.csproj"), ("arguments", "--no-build")]);
        assert_eq!(outcome, Outcome::Succeeded);
        assert!(!temp.join("old/old.trx").exists(), "old results are removed first");
        assert_eq!(
            job.commands(),
            [
                "dotnet test <root>/s/tests/A.Tests/A.Tests.csproj --logger trx --results-directory <root>/_temp --no-build"
            ]
        );
        insta::assert_snapshot!(job.host.warnings[0], @"No test result files matching '**/*.trx' were found.");
        job.file("_temp/run1.trx", "<TestRun />");
        let outcome = run_with(&mut job, &[("command", "test"), ("publishTestResults", "false")]);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(job.commands()[1], "dotnet test");
        job.host.exit_code = 2;
        let outcome = run_with(&mut job, &[("command", "test"), ("projects", "none/*.csproj")]);
        assert_eq!(outcome, Outcome::Succeeded, "no projects is a warning for test");
        assert_eq!(job.host.warnings.last().map(String::as_str), Some(NO_PROJECTS));
        let outcome = run_with(&mut job, &[("command", "test")]);
        assert_eq!(
            outcome,
            Outcome::failed("Dotnet command failed with non-zero exit code on the following projects : ")
        );
        job.file(
            "_temp/run1.trx",
            r#"<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>
    <UnitTestResult testId="1" testName="Adds" outcome="Passed" duration="00:00:00.0100000" />
    <UnitTestResult testId="2" testName="Divides" outcome="Failed" duration="00:00:00.0200000">
      <Output><ErrorInfo><Message>division by zero</Message></ErrorInfo></Output>
    </UnitTestResult>
  </Results>
</TestRun>"#,
        );
        publish_test_results(&mut job.host, &temp, "Unit tests");
        let published = job.host.test_results.last().expect("the TRX results are published");
        assert_eq!(
            (published.title.as_str(), published.format.as_str(), published.total, published.failed),
            ("Unit tests", "VSTest", 2, 1)
        );
        assert_eq!(published.tests[1].message.as_deref(), Some("division by zero"));
    }

    #[test]
    fn restore_with_selected_feeds_writes_a_temporary_config() {
        let mut job = job();
        job.file("s/App/App.csproj", "<Project />");
        let outcome = run_with(
            &mut job,
            &[
                ("command", "restore"),
                ("projects", "**/*.csproj"),
                ("restoreArguments", "--locked-mode"),
                ("noCache", "true"),
            ],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "dotnet restore <root>/s/App/App.csproj --configfile <root>/w/Nuget/tempNuGet_42.config --no-cache --verbosity Detailed --locked-mode"
            ]
        );
        assert_eq!(job.host.commands[0].working_directory, Some(job.path("s/App")));
        assert!(!job.path("w/Nuget/tempNuGet_42.config").exists(), "removed after the restore");
    }

    #[test]
    fn restore_with_a_config_file_and_packages_directory() {
        let mut job = job();
        job.host.variables.insert("INCLUDE_NUGETORG_BEHAVIOR".to_owned(), "warn".to_owned());
        let outcome = run_with(
            &mut job,
            &[
                ("command", "restore"),
                ("feedsToUse", "config"),
                ("nugetConfigPath", "nuget.config"),
                ("restoreDirectory", "packages"),
                ("verbosityRestore", "-"),
                ("externalFeedCredentials", "MyGet"),
            ],
        );
        let Outcome::SucceededWithIssues(message) = outcome else { panic!("warn: {outcome:?}") };
        insta::assert_snapshot!(message, @"IncludeNugetOrg is currently enabled for this task. To resolve this warning, edit your build task and set 'includeNuGetOrg' to 'false' or deselect 'Use packages from NuGet.org'.");
        assert_eq!(job.commands(), ["dotnet restore --packages packages --configfile <root>/s/nuget.config"]);
        insta::assert_snapshot!(job.host.warnings[0], @"DotNetCoreCLI: Slipway has no service connections, so the credentials of 'MyGet' are not used; feeds of the NuGet.config that need them will fail (packageSourceCredentials in the file still apply).");
    }

    #[test]
    fn restore_errors() {
        let mut job = job();
        let Outcome::Failed(message) =
            run_with(&mut job, &[("command", "restore"), ("vstsFeed", "my-project/my-feed")])
        else {
            panic!("feed")
        };
        insta::assert_snapshot!(message, @"DotNetCoreCLI cannot restore from the Azure Artifacts feed 'my-project/my-feed': Slipway has no network access to Azure DevOps. Use feedsToUse: config with a NuGet.config whose sources this machine can reach.");
        let Outcome::Failed(message) = run_with(&mut job, &[("command", "restore"), ("projects", "*.sln")]) else {
            panic!("no match")
        };
        insta::assert_snapshot!(message, @"No files matched the search pattern.");
        job.host.exit_code = 1;
        assert_eq!(run_with(&mut job, &[("command", "restore")]), Outcome::failed("Packages failed to restore"));
        assert_eq!(job.host.errors, ["The process 'dotnet' failed with exit code 1"]);
        assert!(job.host.commands.len() == 1);
    }

    #[test]
    fn pack_with_versioning_and_properties() {
        let mut job = job();
        job.file("s/src/Lib/Lib.csproj", "<Project />");
        job.file("s/src/Lib.Tests/Lib.Tests.csproj", "<Project />");
        job.host.variables.insert("BuildConfiguration".to_owned(), "Release".to_owned());
        let outcome = run_with(
            &mut job,
            &[
                ("command", "pack"),
                ("packagesToPack", "src/**/*.csproj;!src/**/*.Tests.csproj"),
                ("versioningScheme", "byPrereleaseNumber"),
                ("majorVersion", "2"),
                ("buildProperties", "Authors=Me;RepositoryUrl=x"),
                ("nobuild", "true"),
                ("includesymbols", "true"),
                ("verbosityPack", "Minimal"),
            ],
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(
            job.commands(),
            [
                "dotnet pack <root>/s/src/Lib/Lib.csproj --output <root>/a --no-build --include-symbols /p:Configuration=Release;Authors=Me;RepositoryUrl=x /p:PackageVersion=2.0.0-CI-20240229-235959 --verbosity Minimal"
            ]
        );
        assert_eq!(job.host.commands[0].working_directory, Some(job.path("s/src/Lib")));
    }

    #[test]
    fn pack_versions_from_variables_and_build_number() {
        let mut job = job();
        job.file("s/Lib/Lib.csproj", "<Project />");
        job.host.variables.insert("PackageVersion".to_owned(), "3.1.4".to_owned());
        job.host.variables.insert("Build.BuildNumber".to_owned(), "Lib_2024.2.29.7".to_owned());
        assert_eq!(
            run_with(
                &mut job,
                &[
                    ("command", "pack"),
                    ("versioningScheme", "byEnvVar"),
                    ("versionEnvVar", "PackageVersion"),
                    ("outputDir", "out")
                ]
            ),
            Outcome::Succeeded
        );
        assert_eq!(
            run_with(
                &mut job,
                &[("command", "pack"), ("versioningScheme", "byBuildNumber"), ("includesource", "true")]
            ),
            Outcome::Succeeded
        );
        assert_eq!(
            job.commands(),
            [
                "dotnet pack <root>/s/Lib/Lib.csproj --output <root>/s/out /p:PackageVersion=3.1.4 --verbosity Detailed",
                "dotnet pack <root>/s/Lib/Lib.csproj --output <root>/a --include-source /p:PackageVersion=2024.2.29.7 --verbosity Detailed",
            ]
        );
        assert!(job.path("s/out").is_dir());
        let failure = |job: &mut Job, pairs: &[(&str, &str)]| match run_with(job, pairs) {
            Outcome::Failed(message) => message,
            other => panic!("{other:?}"),
        };
        insta::assert_snapshot!(failure(&mut job, &[("command", "pack"), ("versioningScheme", "byEnvVar"), ("versionEnvVar", "Nope")]), @"No value was found for the provided environment variable.");
        job.host.variables.insert("Build.BuildNumber".to_owned(), "20240229.7".to_owned());
        insta::assert_snapshot!(failure(&mut job, &[("command", "pack"), ("versioningScheme", "byBuildNumber")]), @"Could not find version number data in the following environment variable: BUILD_BUILDNUMBER. The value of the variable should contain a substring with the following formats: X.Y.Z or X.Y.Z.A where A, X, Y, and Z are positive integers.");
        job.host.variables.insert("System.HostType".to_owned(), "release".to_owned());
        insta::assert_snapshot!(failure(&mut job, &[("command", "pack"), ("versioningScheme", "byBuildNumber")]), @"Autoversion: Getting version number from build option is not supported in releases");
        insta::assert_snapshot!(failure(&mut job, &[("command", "pack"), ("packagesToPack", "*.nuspec")]), @"No files matched the search pattern.");
        job.host.exit_code = 1;
        insta::assert_snapshot!(failure(&mut job, &[("command", "pack")]), @"An error occurred while trying to pack the files.");
        let error = Inputs::resolve(
            &inputs(2),
            &[("command".to_owned(), "pack".to_owned()), ("versioningScheme".to_owned(), "byEnvVar".to_owned())],
        )
        .expect_err("versionEnvVar is required");
        insta::assert_snapshot!(error.to_string(), @"Input required: versionEnvVar");
    }

    #[test]
    fn push_and_unknown_feeds_fail_clearly() {
        let mut job = job();
        let Outcome::Failed(message) = run_with(&mut job, &[("command", "push"), ("publishVstsFeed", "releases")])
        else {
            panic!("push")
        };
        insta::assert_snapshot!(message, @"DotNetCoreCLI push needs the Azure Artifacts feed 'releases', which Slipway cannot reach: it has no network and no service connections. Keep the packages as a pipeline artifact instead (PublishPipelineArtifact@1).");
        let Outcome::Failed(message) = run_with(
            &mut job,
            &[("command", "push"), ("nuGetFeedType", "external"), ("publishFeedCredentials", "nuget.org")],
        ) else {
            panic!("push")
        };
        insta::assert_snapshot!(message, @"DotNetCoreCLI push needs the NuGet server of the service connection 'nuget.org', which Slipway cannot reach: it has no network and no service connections. Keep the packages as a pipeline artifact instead (PublishPipelineArtifact@1).");
        let error =
            Inputs::resolve(&inputs(2), &[("command".to_owned(), "push".to_owned())]).expect_err("feed required");
        insta::assert_snapshot!(error.to_string(), @"Input required: feedPublish");
        let error =
            Inputs::resolve(&inputs(2), &[("command".to_owned(), "custom".to_owned())]).expect_err("custom required");
        insta::assert_snapshot!(error.to_string(), @"Input required: custom");
        let error =
            Inputs::resolve(&inputs(2), &[("command".to_owned(), "clean".to_owned())]).expect_err("unknown command");
        insta::assert_snapshot!(error.to_string(), @"Input command has an invalid value 'clean'; expected one of: build, push, pack, publish, restore, run, test, custom");
        assert!(job.host.commands.is_empty());
    }

    #[test]
    fn missing_dotnet_is_named() {
        let mut job = Job::missing_programs();
        let Outcome::Failed(message) = run_with(&mut job, &[]) else { panic!("missing") };
        insta::assert_snapshot!(message, @"Could not run 'dotnet': program not found. Install the .NET SDK on this machine, or add a UseDotNet@2 step before this one.");
    }
}
