//! `Npm@1`: runs `npm install`, `npm ci` or `npm <customCommand>` in `workingDir`, as the task
//! does (with `NPM_CONFIG_LOGLEVEL=verbose` for `verbose` or `System.Debug`).
//!
//! The registries of the project's `.npmrc` are used as they are; the task's temporary user
//! `.npmrc` with Azure DevOps credentials is not written (`~/.npmrc` still applies). Azure
//! Artifacts registries (`customRegistry: useFeed`) and `publish` need Azure DevOps or a service
//! connection and fail saying so; service connections for the `.npmrc` registries
//! (`customEndpoint`) are ignored with a warning.

use super::args::{self, split_arguments};
use crate::{CommandLine, InputKind, InputSpec, Inputs, Outcome, TaskHost};

/// What provides `npm`.
const PROVIDED_BY: &str = "Install Node.js (with npm) on this machine, or add a NodeTool@0 step before this one.";

/// The inputs of `Npm@1`.
pub(super) fn inputs(_major: u32) -> Vec<InputSpec> {
    let radio = |name: &str| InputSpec { kind: InputKind::Other("radio".to_owned()), ..InputSpec::string(name) };
    let editable = |name: &str| InputSpec {
        kind: InputKind::PickList { options: Vec::new(), editable: true },
        ..InputSpec::string(name)
    };
    let service = |name: &str| InputSpec {
        kind: InputKind::Other("connectedService:externalnpmregistry".to_owned()),
        ..InputSpec::string(name)
    };
    vec![
        InputSpec::pick("command", &["ci", "install", "publish", "custom"]).default("install").required(),
        InputSpec::path("workingDir"),
        InputSpec::boolean("verbose", false),
        InputSpec::string("customCommand").required().visible("command = custom"),
        radio("customRegistry").default("useNpmrc"),
        // The task shows the registry inputs in groups for some commands only; the rules say so here.
        editable("customFeed").required().visible("command != publish && customRegistry = useFeed"),
        service("customEndpoint").visible("command != publish && customRegistry = useNpmrc"),
        radio("publishRegistry").default("useExternalRegistry"),
        editable("publishFeed").required().visible("command = publish && publishRegistry = useFeed"),
        InputSpec::boolean("publishPackageMetadata", true).visible("command = publish && publishRegistry = useFeed"),
        service("publishEndpoint").required().visible("command = publish && publishRegistry = useExternalRegistry"),
    ]
}

/// Runs `Npm@1`.
pub(super) fn run(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let command = inputs.text("command").to_ascii_lowercase();
    if command == "publish" {
        let target = if inputs.text("publishRegistry") == "useFeed" {
            format!("the Azure Artifacts registry '{}'", inputs.text("publishFeed"))
        } else {
            format!("the registry of the service connection '{}'", inputs.text("publishEndpoint"))
        };
        return Outcome::failed(format!(
            "npm publish needs {target}, which Slipway cannot reach: it has no network and no service connections. \
             Keep the package as a pipeline artifact instead (npm pack, then PublishPipelineArtifact@1)."
        ));
    }
    if inputs.text("customRegistry") == "useFeed" {
        return Outcome::failed(format!(
            "npm cannot use the Azure Artifacts registry '{}': Slipway has no network access to Azure DevOps. Use \
             customRegistry: useNpmrc with registries this machine can reach.",
            inputs.text("customFeed")
        ));
    }
    if let Some(endpoints) = inputs.get("customEndpoint") {
        host.warning(&format!(
            "npm: Slipway has no service connections, so the credentials of '{endpoints}' are not used; registries of \
             the .npmrc that need them will fail."
        ));
    }
    let base = host.working_directory();
    let directory = inputs.path("workingDir", &base).unwrap_or(base);
    if !directory.is_dir() {
        return Outcome::failed("Please change your working directory to a valid directory");
    }
    let arguments = match command.as_str() {
        "install" | "ci" => vec![command.clone()],
        _ => split_arguments(inputs.text("customCommand")),
    };
    let mut line = CommandLine { working_directory: Some(directory), ..CommandLine::new("npm", arguments) };
    let debug = host.variable("System.Debug").is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if debug || inputs.boolean("verbose") {
        line.environment.push(("NPM_CONFIG_LOGLEVEL".to_owned(), "verbose".to_owned()));
    }
    match args::run(host, &line, PROVIDED_BY) {
        Err(error) => Outcome::failed(error.to_string()),
        Ok(0) => Outcome::Succeeded,
        Ok(code) => Outcome::failed(format!("Npm failed with return code: {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Job, resolve};
    use super::*;

    fn run_with(job: &mut Job, pairs: &[(&str, &str)]) -> Outcome {
        let inputs = resolve(&super::inputs(1), pairs);
        if job.missing {
            job.host.cannot_start = Some("program not found".to_owned());
        }
        run(1, &inputs, &mut job.host)
    }

    #[test]
    fn install_ci_and_custom_commands() {
        let mut job = Job::new();
        job.file("s/web/package.json", "{}");
        assert_eq!(run_with(&mut job, &[]), Outcome::Succeeded);
        assert_eq!(
            run_with(&mut job, &[("command", "ci"), ("workingDir", "web"), ("verbose", "true")]),
            Outcome::Succeeded
        );
        assert_eq!(
            run_with(&mut job, &[("command", "custom"), ("customCommand", "run build -- --mode \"production build\"")]),
            Outcome::Succeeded
        );
        assert_eq!(job.commands(), ["npm install", "npm ci", "npm run build -- --mode \"production build\""]);
        let directories: Vec<String> = job
            .host
            .commands
            .iter()
            .map(|command| {
                job.shown(&command.working_directory.as_ref().map(|dir| dir.display().to_string()).unwrap_or_default())
            })
            .collect();
        assert_eq!(directories, ["<root>/s", "<root>/s/web", "<root>/s"]);
        assert!(job.host.commands[0].environment.is_empty());
        assert_eq!(job.host.commands[1].environment, [("NPM_CONFIG_LOGLEVEL".to_owned(), "verbose".to_owned())]);
        job.host.variables.insert("System.Debug".to_owned(), "True".to_owned());
        assert_eq!(run_with(&mut job, &[]), Outcome::Succeeded);
        assert_eq!(job.host.commands[3].environment, [("NPM_CONFIG_LOGLEVEL".to_owned(), "verbose".to_owned())]);
    }

    #[test]
    fn failures_and_what_cannot_work_offline() {
        let mut job = Job::new();
        let failure = |job: &mut Job, pairs: &[(&str, &str)]| match run_with(job, pairs) {
            Outcome::Failed(message) => message,
            other => panic!("{other:?}"),
        };
        insta::assert_snapshot!(failure(&mut job, &[("workingDir", "missing")]), @"Please change your working directory to a valid directory");
        insta::assert_snapshot!(failure(&mut job, &[("command", "publish"), ("publishEndpoint", "npmjs")]), @"npm publish needs the registry of the service connection 'npmjs', which Slipway cannot reach: it has no network and no service connections. Keep the package as a pipeline artifact instead (npm pack, then PublishPipelineArtifact@1).");
        insta::assert_snapshot!(failure(&mut job, &[("command", "publish"), ("publishRegistry", "useFeed"), ("publishFeed", "project/feed")]), @"npm publish needs the Azure Artifacts registry 'project/feed', which Slipway cannot reach: it has no network and no service connections. Keep the package as a pipeline artifact instead (npm pack, then PublishPipelineArtifact@1).");
        insta::assert_snapshot!(failure(&mut job, &[("customRegistry", "useFeed"), ("customFeed", "project/feed")]), @"npm cannot use the Azure Artifacts registry 'project/feed': Slipway has no network access to Azure DevOps. Use customRegistry: useNpmrc with registries this machine can reach.");
        assert!(job.host.commands.is_empty());
        job.host.exit_code = 1;
        insta::assert_snapshot!(failure(&mut job, &[("customEndpoint", "private-registry")]), @"Npm failed with return code: 1");
        insta::assert_snapshot!(job.host.warnings[0], @"npm: Slipway has no service connections, so the credentials of 'private-registry' are not used; registries of the .npmrc that need them will fail.");
        let error =
            Inputs::resolve(&super::inputs(1), &[("command".to_owned(), "custom".to_owned())]).expect_err("required");
        insta::assert_snapshot!(error.to_string(), @"Input required: customCommand");
        let error =
            Inputs::resolve(&super::inputs(1), &[("command".to_owned(), "publish".to_owned())]).expect_err("required");
        insta::assert_snapshot!(error.to_string(), @"Input required: publishEndpoint");
        assert!(Inputs::resolve(&super::inputs(1), &[]).is_ok(), "install needs no registry inputs");
        let mut job = Job::missing_programs();
        insta::assert_snapshot!(failure(&mut job, &[]), @"Could not run 'npm': program not found. Install Node.js (with npm) on this machine, or add a NodeTool@0 step before this one.");
    }
}
