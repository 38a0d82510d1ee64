//! Built-in tasks: artifacts. `PublishPipelineArtifact@1`, `DownloadPipelineArtifact@2`,
//! `PublishBuildArtifacts@1` and `DownloadBuildArtifacts@0`/`@1`, over the run's artifact store
//! (through [`TaskHost::publish_artifact`] and [`TaskHost::download_artifact`]).
//!
//! Only artifacts of the current run exist locally: `source: specific` (another run) fails with a
//! clear message. Paths follow the agent: relative paths start at `System.DefaultWorkingDirectory`.

use std::path::{Path, PathBuf};

use super::Builtin;
use crate::{InputKind, InputSpec, Inputs, Outcome, SetVariable, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "PublishPipelineArtifact",
        id: "ecdc45f6-832d-4ad9-b52b-ee49e94659be",
        majors: &[1],
        inputs: publish_pipeline_inputs,
        run: run_publish_pipeline,
    },
    Builtin {
        name: "DownloadPipelineArtifact",
        id: "61f2a582-95ae-4948-b34d-a1b3c4f6a737",
        majors: &[2],
        inputs: download_pipeline_inputs,
        run: run_download_pipeline,
    },
    Builtin {
        name: "PublishBuildArtifacts",
        id: "2ff763a7-ce83-4e1f-bc89-0ae63477cebe",
        majors: &[1],
        inputs: publish_build_inputs,
        run: run_publish_build,
    },
    Builtin {
        name: "DownloadBuildArtifacts",
        id: "a433f589-fce1-4460-9ee6-44a624aeb1fb",
        majors: &[0, 1],
        inputs: download_build_inputs,
        run: run_download_build,
    },
];

/// A pick list whose options are suggestions (`EditableOptions`) or a radio button the task
/// reads itself: any value is accepted.
fn editable(name: &str, options: &[&str]) -> InputSpec {
    InputSpec {
        kind: InputKind::PickList {
            options: options.iter().map(|&option| option.to_owned()).collect(),
            editable: true,
        },
        ..InputSpec::string(name)
    }
}

fn publish_pipeline_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("path").alias(&["targetPath"]).required().default("$(Pipeline.Workspace)"),
        InputSpec::string("artifactName").alias(&["artifact"]),
        InputSpec::pick("artifactType", &["pipeline", "filepath"])
            .alias(&["publishLocation"])
            .required()
            .default("pipeline"),
        InputSpec::string("fileSharePath").required().visible("artifactType = filepath"),
        InputSpec::boolean("parallel", false).visible("artifactType = filepath"),
        InputSpec::integer("parallelCount").default("8").visible("artifactType = filepath && parallel = true"),
        InputSpec::string("properties"),
    ]
}

fn download_pipeline_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        editable("source", &["current", "specific"]).alias(&["buildType"]).required().default("current"),
        editable("project", &[]).required().visible("source == specific"),
        editable("pipeline", &[]).alias(&["definition"]).required().visible("source == specific"),
        InputSpec::boolean("preferTriggeringPipeline", false)
            .alias(&["specificBuildWithTriggering"])
            .visible("source == specific"),
        InputSpec::pick("runVersion", &["latest", "latestFromBranch", "specific"])
            .alias(&["buildVersionToDownload"])
            .required()
            .default("latest")
            .visible("source == specific"),
        InputSpec::string("runBranch")
            .alias(&["branchName"])
            .required()
            .default("refs/heads/master")
            .visible("source == specific && runVersion == latestFromBranch"),
        editable("runId", &[])
            .alias(&["pipelineId", "buildId"])
            .required()
            .visible("source == specific && runVersion == specific"),
        InputSpec::string("tags").visible("source == specific && runVersion != specific"),
        InputSpec::boolean("allowPartiallySucceededBuilds", false)
            .visible("source == specific && runVersion != specific"),
        InputSpec::boolean("allowFailedBuilds", false).visible("source == specific && runVersion != specific"),
        editable("artifact", &[]).alias(&["artifactName"]),
        InputSpec::lines("patterns").alias(&["itemPattern"]).default("**"),
        InputSpec::string("path").alias(&["targetPath", "downloadPath"]).required().default("$(Pipeline.Workspace)"),
    ]
}

fn publish_build_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("PathtoPublish").required().default("$(Build.ArtifactStagingDirectory)"),
        InputSpec::string("ArtifactName").required().default("drop"),
        InputSpec::pick("ArtifactType", &["Container", "FilePath"])
            .alias(&["publishLocation"])
            .required()
            .default("Container"),
        InputSpec::string("TargetPath").required().visible("ArtifactType = FilePath"),
        InputSpec::boolean("Parallel", false).visible("ArtifactType = FilePath"),
        InputSpec::integer("ParallelCount").default("8").visible("ArtifactType = FilePath && Parallel = true"),
        InputSpec::string("FileCopyOptions").visible("ArtifactType = FilePath"),
        InputSpec::boolean("StoreAsTar", false),
    ]
}

fn download_build_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        editable("buildType", &["current", "specific"]).required().default("current"),
        editable("project", &[]).required().visible("buildType == specific"),
        editable("definition", &[]).alias(&["pipeline"]).required().visible("buildType == specific"),
        InputSpec::boolean("specificBuildWithTriggering", false).visible("buildType == specific"),
        InputSpec::pick("buildVersionToDownload", &["latest", "latestFromBranch", "specific"])
            .required()
            .default("latest")
            .visible("buildType == specific"),
        InputSpec::boolean("allowPartiallySucceededBuilds", false)
            .visible("buildType == specific && buildVersionToDownload != specific"),
        InputSpec::string("branchName")
            .required()
            .default("refs/heads/master")
            .visible("buildType == specific && buildVersionToDownload == latestFromBranch"),
        editable("buildId", &[]).required().visible("buildType == specific && buildVersionToDownload == specific"),
        InputSpec::string("tags").visible("buildType == specific && buildVersionToDownload != specific"),
        editable("downloadType", &["single", "specific"]).required().default("single"),
        editable("artifactName", &[]).required().visible("downloadType == single"),
        InputSpec::lines("itemPattern").default("**"),
        InputSpec::string("downloadPath").required().default("$(System.ArtifactsDirectory)"),
        InputSpec::boolean("cleanDestinationFolder", false),
        InputSpec::string("parallelizationLimit").default("8"),
        InputSpec::boolean("checkDownloadedFiles", false),
        InputSpec::string("retryDownloadCount").default("4"),
        InputSpec::boolean("extractTars", false),
    ]
}

/// An absolute path: `value` itself, or below the default working directory.
fn absolute(host: &dyn TaskHost, value: &str) -> PathBuf {
    host.working_directory().join(value)
}

/// A pipeline artifact name the agent refuses.
#[derive(Debug, thiserror::Error)]
#[error("Artifact name is not valid: {0}. It cannot contain '\\', '/', '\"', ':', '<', '>', '|', '*', and '?'")]
struct InvalidArtifactName(String);

/// Checks a pipeline artifact name as the agent does.
fn check_artifact_name(name: &str) -> Result<(), InvalidArtifactName> {
    if name.contains(['\\', '/', '"', ':', '<', '>', '|', '*', '?']) {
        Err(InvalidArtifactName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// The name the agent gives an artifact published without one: unique to the job.
fn job_artifact_name(host: &dyn TaskHost) -> String {
    let stage = host.variable("System.StageName").unwrap_or_default();
    let phase = host.variable("System.PhaseName").unwrap_or_default();
    let job = host.variable("System.JobName").unwrap_or_default();
    let mut parts = vec![stage, phase.clone()];
    if !job.is_empty() && !job.eq_ignore_ascii_case(&phase) {
        parts.push(job);
    }
    parts.retain(|part| !part.is_empty());
    if parts.is_empty() { "artifact".to_owned() } else { parts.join("_") }
}

/// Copies a file or a directory tree.
fn copy_tree(source: &Path, target: &Path) -> std::io::Result<u64> {
    if source.is_dir() {
        std::fs::create_dir_all(target)?;
        let mut count = 0;
        let mut entries: Vec<_> = std::fs::read_dir(source)?.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            count += copy_tree(&entry.path(), &target.join(entry.file_name()))?;
        }
        Ok(count)
    } else {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(source, target)?;
        Ok(1)
    }
}

fn run_publish_pipeline(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let path = absolute(host, inputs.text("path"));
    let name = inputs.get("artifactName").map_or_else(|| job_artifact_name(host), str::to_owned);
    if let Err(error) = check_artifact_name(&name) {
        return Outcome::Failed(error.to_string());
    }
    if !path.exists() {
        return Outcome::failed(format!("Path does not exist: {}", path.display()));
    }
    if inputs.text("artifactType").eq_ignore_ascii_case("filepath") {
        let share = absolute(host, inputs.text("fileSharePath")).join(&name);
        host.log(&format!("Copying {} to the file share {}", path.display(), share.display()));
        let target = if path.is_dir() { share.clone() } else { share.join(path.file_name().unwrap_or_default()) };
        return match copy_tree(&path, &target) {
            Ok(count) => {
                host.log(&format!("Copied {count} files."));
                Outcome::Succeeded
            }
            Err(error) => Outcome::failed(format!("Copying to the file share {} failed: {error}", share.display())),
        };
    }
    let build = host.variable("Build.BuildNumber").unwrap_or_default();
    host.log(&format!("Uploading pipeline artifact from {} for build #{build}", path.display()));
    match host.publish_artifact(&name, &path) {
        Ok(()) => {
            host.log(&format!("Uploaded artifact '{name}'."));
            Outcome::Succeeded
        }
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// Sets the `BuildNumber` variable the download tasks set (to the build id, as Azure does).
fn set_build_number(host: &mut dyn TaskHost) {
    let id = host.variable("Build.BuildId").unwrap_or_default();
    host.set_variable("BuildNumber", &id, SetVariable::default());
}

fn run_download_pipeline(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let source = inputs.text("source");
    if !source.eq_ignore_ascii_case("current") {
        if source.eq_ignore_ascii_case("specific") {
            return Outcome::failed(
                "Downloading the artifacts of another pipeline run (source: specific) is not supported by a local run; only artifacts of the current run exist here.",
            );
        }
        return Outcome::failed(format!("Build type '{source}' is not recognized."));
    }
    let name = inputs.get("artifact");
    if let Some(name) = name
        && let Err(error) = check_artifact_name(name)
    {
        return Outcome::Failed(error.to_string());
    }
    let target = absolute(host, inputs.text("path"));
    let patterns = match inputs.lines("patterns") {
        patterns if patterns.is_empty() => vec!["**".to_owned()],
        patterns => patterns,
    };
    let id = host.variable("Build.BuildId").unwrap_or_default();
    host.log(&format!("Downloading artifacts from build {id}"));
    set_build_number(host);
    host.log(&format!(
        "Downloading artifact{} to: {}",
        name.map(|name| format!(" {name}")).unwrap_or_default(),
        target.display()
    ));
    match host.download_artifact(name, &target, &patterns) {
        Ok(()) => {
            host.log("Downloading artifact finished.");
            Outcome::Succeeded
        }
        Err(error) => Outcome::Failed(error.to_string()),
    }
}

/// Packs a file or directory into `archive` (a tar file), entries relative to the directory.
fn tar(source: &Path, archive: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(archive)?;
    let mut builder = tar::Builder::new(file);
    if source.is_dir() {
        builder.append_dir_all(".", source)?;
    } else {
        let name = source.file_name().unwrap_or_default();
        builder.append_path_with_name(source, name)?;
    }
    builder.into_inner()?.sync_all()
}

fn run_publish_build(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    if inputs.text("ArtifactType").eq_ignore_ascii_case("FilePath") {
        return Outcome::failed(
            "Publishing artifacts from a Linux or macOS agent to a file share is not supported. Change the artifact type to `Azure Pipelines` or use a Windows agent.",
        );
    }
    let path = absolute(host, inputs.text("PathtoPublish"));
    if !path.exists() {
        return Outcome::failed(format!("Not found PathtoPublish: {}", path.display()));
    }
    let name = inputs.text("ArtifactName").to_owned();
    let published = if inputs.boolean("StoreAsTar") {
        let temp = host.variable("Agent.TempDirectory").map_or_else(std::env::temp_dir, PathBuf::from);
        let archive = temp.join(format!("{name}.tar"));
        if let Err(error) = std::fs::create_dir_all(&temp).and_then(|()| tar(&path, &archive)) {
            return Outcome::failed(format!("Publishing build artifacts failed with an error: {error}"));
        }
        archive
    } else {
        path
    };
    host.log(&format!("Uploading {} to the artifact '{name}'", published.display()));
    match host.publish_artifact(&name, &published) {
        Ok(()) => Outcome::Succeeded,
        Err(error) => Outcome::failed(format!("Publishing build artifacts failed with an error: {error}")),
    }
}

/// Extracts every `.tar` file below `directory` into `into` (the `extractTars` option).
fn extract_tars(directory: &Path, into: &Path) -> std::io::Result<u32> {
    let mut count = 0;
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                if path != into {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("tar")) {
                let relative = path.strip_prefix(directory).unwrap_or(&path).with_extension("");
                let target = into.join(relative);
                std::fs::create_dir_all(&target)?;
                tar::Archive::new(std::fs::File::open(&path)?).unpack(&target)?;
                count += 1;
            }
        }
    }
    Ok(count)
}

fn run_download_build(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let build_type = inputs.text("buildType");
    if !build_type.eq_ignore_ascii_case("current") {
        return Outcome::failed(format!(
            "Downloading the artifacts of another build (buildType: {build_type}) is not supported by a local run; only artifacts of the current run exist here."
        ));
    }
    let target = absolute(host, inputs.text("downloadPath"));
    if inputs.boolean("cleanDestinationFolder") && target.is_dir() {
        host.log(&format!("Cleaning the destination folder {}", target.display()));
        if let Err(error) = std::fs::remove_dir_all(&target) {
            return Outcome::failed(format!("Could not clean the destination folder {}: {error}", target.display()));
        }
    }
    let patterns = match inputs.lines("itemPattern") {
        patterns if patterns.is_empty() => vec!["**".to_owned()],
        patterns => patterns,
    };
    set_build_number(host);
    let result = if inputs.text("downloadType").eq_ignore_ascii_case("specific") {
        host.log(&format!("Downloading the files of every artifact matching the patterns to {}", target.display()));
        host.download_artifact(None, &target, &patterns)
    } else {
        let name = inputs.text("artifactName");
        host.log(&format!("Downloading artifact {name} to {}", target.join(name).display()));
        host.download_artifact(Some(name), &target.join(name), &patterns)
    };
    if let Err(error) = result {
        return Outcome::Failed(error.to_string());
    }
    if inputs.boolean("extractTars") {
        let into = target.join("extracted_tars");
        match extract_tars(&target, &into) {
            Ok(count) => host.log(&format!("Extracted {count} tar archives to {}", into.display())),
            Err(error) => return Outcome::failed(format!("Could not extract the tar archives: {error}")),
        }
    }
    Outcome::Succeeded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn resolve(task: &str, major: u32, pairs: &[(&str, &str)]) -> Result<Inputs, crate::InputsError> {
        let Some(builtin) = TASKS.iter().find(|builtin| builtin.name == task) else { panic!("no task {task}") };
        let specs: Vec<InputSpec> = (builtin.inputs)(major)
            .into_iter()
            .map(|mut spec| {
                // The runtime expands macros in defaults; here they stay as written.
                spec.default = spec.default.map(|value| value.replace("$(Pipeline.Workspace)", "ws"));
                spec
            })
            .collect();
        Inputs::resolve(&specs, &given(pairs))
    }

    fn run(task: &str, major: u32, pairs: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
        let Some(builtin) = TASKS.iter().find(|builtin| builtin.name == task) else { panic!("no task {task}") };
        let inputs = resolve(task, major, pairs).unwrap_or_else(|error| panic!("{error}"));
        (builtin.run)(major, &inputs, host)
    }

    #[test]
    fn publish_pipeline_artifact_reads_aliases_and_checks_the_path() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        std::fs::create_dir_all(directory.path().join("out")).unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path())
            .with_variable("System.StageName", "Build")
            .with_variable("System.PhaseName", "Compile")
            .with_variable("System.JobName", "Compile");
        assert_eq!(
            run("PublishPipelineArtifact", 1, &[("targetPath", "out"), ("artifact", "drop")], &mut host),
            Outcome::Succeeded
        );
        assert_eq!(host.published, vec![("drop".to_owned(), directory.path().join("out"))]);
        assert_eq!(run("PublishPipelineArtifact", 1, &[("path", "out")], &mut host), Outcome::Succeeded);
        assert_eq!(host.published[1].0, "Build_Compile");
        assert_eq!(
            run("PublishPipelineArtifact", 1, &[("path", "nope")], &mut host),
            Outcome::failed(format!("Path does not exist: {}", directory.path().join("nope").display()))
        );
        assert!(matches!(
            run("PublishPipelineArtifact", 1, &[("path", "out"), ("artifactName", "a/b")], &mut host),
            Outcome::Failed(message) if message.starts_with("Artifact name is not valid: a/b.")
        ));
        let error =
            resolve("PublishPipelineArtifact", 1, &[("publishLocation", "filepath")]).expect_err("share required");
        assert_eq!(error.to_string(), "Input required: fileSharePath");
    }

    #[test]
    fn publish_pipeline_artifact_to_a_file_share_copies_the_files() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        std::fs::create_dir_all(directory.path().join("out/sub")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(directory.path().join("out/sub/a.txt"), "a").unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path());
        let outcome = run(
            "PublishPipelineArtifact",
            1,
            &[("path", "out"), ("artifact", "drop"), ("publishLocation", "filepath"), ("fileSharePath", "share")],
            &mut host,
        );
        assert_eq!(outcome, Outcome::Succeeded);
        assert!(directory.path().join("share/drop/sub/a.txt").is_file());
    }

    #[test]
    fn download_pipeline_artifact_defaults_and_refuses_other_runs() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let store = directory.path().join("store");
        std::fs::create_dir_all(store.join("drop")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(store.join("drop/a.txt"), "a").unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path()).with_variable("Build.BuildId", "7");
        host.artifact_store = Some(store);
        assert_eq!(
            run("DownloadPipelineArtifact", 2, &[("artifact", "drop"), ("path", "got")], &mut host),
            Outcome::Succeeded
        );
        assert!(directory.path().join("got/a.txt").is_file());
        assert!(host.set.iter().any(|(name, value, _)| name == "BuildNumber" && value == "7"));
        let outcome = run(
            "DownloadPipelineArtifact",
            2,
            &[("buildType", "specific"), ("project", "p"), ("pipeline", "1")],
            &mut host,
        );
        assert!(matches!(outcome, Outcome::Failed(message) if message.contains("not supported by a local run")));
        let error = resolve("DownloadPipelineArtifact", 2, &[("source", "specific")]).expect_err("project needed");
        assert_eq!(error.to_string(), "Input required: project; Input required: pipeline");
    }

    #[test]
    fn publish_build_artifacts_can_store_a_tar_and_refuses_file_shares() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        std::fs::create_dir_all(directory.path().join("staging")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(directory.path().join("staging/app.bin"), "x").unwrap_or_else(|error| panic!("{error}"));
        let temp = directory.path().join("temp");
        let mut host =
            FakeHost::new(directory.path()).with_variable("Agent.TempDirectory", &temp.display().to_string());
        let outcome =
            run("PublishBuildArtifacts", 1, &[("PathtoPublish", "staging"), ("StoreAsTar", "true")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        assert_eq!(host.published, vec![("drop".to_owned(), temp.join("drop.tar"))]);
        let outcome = run(
            "PublishBuildArtifacts",
            1,
            &[("PathtoPublish", "staging"), ("publishLocation", "FilePath"), ("TargetPath", "//share")],
            &mut host,
        );
        assert!(matches!(outcome, Outcome::Failed(message) if message.contains("file share is not supported")));
        let outcome = run("PublishBuildArtifacts", 1, &[("PathtoPublish", "gone")], &mut host);
        assert_eq!(
            outcome,
            Outcome::failed(format!("Not found PathtoPublish: {}", directory.path().join("gone").display()))
        );
    }

    #[test]
    fn download_build_artifacts_puts_each_artifact_in_its_folder() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let store = directory.path().join("store");
        std::fs::create_dir_all(store.join("drop")).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(store.join("drop/a.txt"), "a").unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(directory.path());
        host.artifact_store = Some(store);
        let outcome =
            run("DownloadBuildArtifacts", 0, &[("artifactName", "drop"), ("downloadPath", "arts")], &mut host);
        assert_eq!(outcome, Outcome::Succeeded);
        assert!(directory.path().join("arts/drop/a.txt").is_file());
        let error = resolve("DownloadBuildArtifacts", 1, &[("downloadPath", "x")]).expect_err("artifact name needed");
        assert_eq!(error.to_string(), "Input required: artifactName");
        assert!(resolve("DownloadBuildArtifacts", 1, &[("downloadType", "specific")]).is_ok());
    }
}
