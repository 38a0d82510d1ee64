//! Built-in tasks: policy as code. `SlipwayPolicy@1` tests files of the job's working directory
//! (a Terraform plan from `terraform show -json`, Kubernetes manifests, any JSON, YAML or TOML)
//! against Rego policies with conftest's conventions, with `slipway-security`'s policy module
//! (regorus): `deny`/`violation` rules fail, `warn` rules warn, `exception` rules exempt. It logs
//! conftest's `FAIL`/`WARN` lines and summary, writes the results as conftest's JSON, SARIF 2.1.0
//! and JUnit XML, publishes them as a pipeline artifact, and fails the step on failures (and on
//! warnings with `failOnWarn`).

use std::path::{Path, PathBuf};

use slipway_security::policy::{self, InputFormat, Options, PolicySet, RegoVersion, check, report};

use super::Builtin;
use crate::{InputSpec, Inputs, Outcome, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[Builtin {
    name: "SlipwayPolicy",
    id: "bbccc432-1754-4cff-9713-ce808992f5b1",
    majors: &[1],
    inputs: policy_inputs,
    run: run_policy,
}];

/// At most this many failures and warnings are logged as the step's errors and warnings (all are
/// in the log and the reports).
const MAX_ISSUES: usize = 20;

fn policy_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::lines("files").required(),
        InputSpec::lines("policy").default("policy"),
        InputSpec::string("namespace").default("main"),
        InputSpec::boolean("allNamespaces", false),
        InputSpec::lines("data"),
        InputSpec::boolean("combine", false),
        InputSpec::boolean("failOnWarn", false),
        InputSpec::pick("parser", &["auto", "json", "yaml", "toml"]).default("auto"),
        InputSpec::pick("format", &["all", "json", "sarif", "junit"]).required().default("all"),
        InputSpec::string("artifactName").default("policy"),
        InputSpec::string("outputDirectory").default("$(Build.ArtifactStagingDirectory)/policy"),
    ]
}

/// A list input's items: its lines, each split at commas, trimmed, without empty ones.
fn items(inputs: &Inputs, name: &str) -> Vec<String> {
    inputs
        .lines(name)
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The files the `files` input names: paths as they are (directories are walked later), glob
/// patterns matched under the working directory (their files of a known kind).
fn input_files(working: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in patterns {
        if pattern.contains(['*', '?', '[', '{']) || pattern.starts_with('!') {
            let matched: Vec<PathBuf> = crate::glob::find_match(working, std::slice::from_ref(pattern))
                .into_iter()
                .filter(|path| path.is_file() && InputFormat::from_path(&path.display().to_string()).is_some())
                .collect();
            if matched.is_empty() {
                return Err(format!("no files match '{pattern}'"));
            }
            files.extend(matched);
        } else {
            files.push(working.join(pattern));
        }
    }
    Ok(files)
}

fn run_policy(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let working = host.working_directory();
    let shown = |text: String| text.replace(&format!("{}/", working.display()), "");
    let files = match input_files(&working, &items(inputs, "files")) {
        Ok(files) => files,
        Err(message) => return Outcome::Failed(message),
    };
    let policies: Vec<PathBuf> = items(inputs, "policy").iter().map(|path| working.join(path)).collect();
    let data: Vec<PathBuf> = items(inputs, "data").iter().map(|path| working.join(path)).collect();
    let options = Options {
        namespaces: inputs
            .text("namespace")
            .split(',')
            .map(str::trim)
            .filter(|ns| !ns.is_empty())
            .map(str::to_owned)
            .collect(),
        all_namespaces: inputs.boolean("allNamespaces"),
        combine: inputs.boolean("combine"),
    };
    let parser = InputFormat::from_name(inputs.text("parser"));
    let evaluated = (|| {
        let mut set = PolicySet::load(&policies, RegoVersion::Auto)?;
        set.load_data(&data)?;
        host.log(&format!("Testing {} file(s) against {} policy file(s)", files.len(), set.modules().len()));
        let mut read = policy::input::read_inputs(&files, parser)?;
        for input in &mut read {
            input.path = shown(input.path.clone());
        }
        policy::check_all(&set, &read, &options)
    })();
    let results = match evaluated {
        Ok(results) => results,
        Err(error) => {
            return Outcome::Failed(format!("The policies could not be evaluated: {}", shown(error.to_string())));
        }
    };

    for line in report::text(&results).lines().filter(|line| !line.is_empty()) {
        host.log(line);
    }
    let fail_on_warn = inputs.boolean("failOnWarn");
    let mut issues = 0;
    for result in &results {
        for failure in &result.failures {
            if issues < MAX_ISSUES {
                host.error(&format!("{} - {} - {}", result.filename, result.namespace, failure.msg));
                issues += 1;
            }
        }
        for warning in &result.warnings {
            if issues < MAX_ISSUES {
                let line = format!("{} - {} - {}", result.filename, result.namespace, warning.msg);
                if fail_on_warn {
                    host.error(&line)
                } else {
                    host.warning(&line)
                }
                issues += 1;
            }
        }
    }

    let expanded = host.expand(inputs.text("outputDirectory"));
    let directory = if expanded.contains("$(") || expanded.trim().is_empty() {
        working.join(".slipway-policy")
    } else {
        working.join(expanded)
    };
    if let Err(error) = write_reports(&directory, &results, inputs.text("format")) {
        return Outcome::Failed(error.to_string());
    }
    let artifact = inputs.text("artifactName");
    match host.publish_artifact(artifact, &directory) {
        Ok(()) => host.log(&format!("Published the results as the artifact '{artifact}'.")),
        Err(error) => host.warning(&format!("The results could not be published as '{artifact}': {error}")),
    }

    let totals = check::totals(&results);
    let summary = report::summary(&results);
    if check::fails(&results, fail_on_warn) {
        Outcome::Failed(format!("Policy check failed: {summary}"))
    } else if totals.warnings > 0 {
        Outcome::SucceededWithIssues(summary)
    } else {
        Outcome::Succeeded
    }
}

fn write_reports(directory: &Path, results: &[policy::CheckResult], format: &str) -> Result<(), super::ReportError> {
    let write = |name: &str, text: &str| super::write_report(directory, name, text);
    super::report_directory(directory)?;
    if matches!(format, "all" | "json") {
        write("policy.json", &report::json(results))?;
    }
    if matches!(format, "all" | "sarif") {
        write("policy.sarif", &serde_json::to_string_pretty(&report::sarif(results)).unwrap_or_default())?;
    }
    if matches!(format, "all" | "junit") {
        write("policy.junit.xml", &report::junit(results))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    const POLICY: &str = r#"package main
import rego.v1

deny_public_bucket contains msg if {
  some change in input.resource_changes
  change.type == "aws_s3_bucket_acl"
  change.change.after.acl == "public-read"
  msg := sprintf("%s makes a bucket public", [change.address])
}

warn_untagged contains msg if {
  some change in input.resource_changes
  "create" in change.change.actions
  not change.change.after.tags
  msg := sprintf("%s has no tags", [change.address])
}
"#;

    const PLAN: &str = r#"{
  "format_version": "1.2",
  "terraform_version": "1.9.5",
  "resource_changes": [
    {"address": "aws_s3_bucket_acl.site", "type": "aws_s3_bucket_acl", "name": "site",
     "change": {"actions": ["create"], "before": null, "after": {"acl": "public-read", "tags": {"team": "web"}}}},
    {"address": "aws_instance.web", "type": "aws_instance", "name": "web",
     "change": {"actions": ["create"], "before": null, "after": {"instance_type": "t3.micro"}}}
  ]
}
"#;

    fn run(pairs: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
        let given: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).into(), (*value).into())).collect();
        let inputs = Inputs::resolve(&policy_inputs(1), &given).unwrap_or_else(|error| panic!("{error}"));
        run_policy(1, &inputs, host)
    }

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(path, text).unwrap_or_else(|error| panic!("{error}"));
    }

    #[test]
    fn a_plan_that_breaks_a_policy_fails_the_step_and_the_results_are_published() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        write(directory.path(), "policy/plan.rego", POLICY);
        write(directory.path(), "tfplan.json", PLAN);
        let staging = directory.path().join("staging");
        let mut host = FakeHost::new(directory.path())
            .with_variable("Build.ArtifactStagingDirectory", &staging.display().to_string());
        let outcome = run(&[("files", "tfplan.json")], &mut host);
        assert_eq!(
            outcome,
            Outcome::Failed("Policy check failed: 2 tests, 0 passed, 1 warning, 1 failure, 0 exceptions".into()),
            "{:?}",
            host.log
        );
        assert!(
            host.log
                .iter()
                .any(|line| line == "FAIL - tfplan.json - main - aws_s3_bucket_acl.site makes a bucket public"),
            "{:?}",
            host.log
        );
        assert!(
            host.log.iter().any(|line| line == "WARN - tfplan.json - main - aws_instance.web has no tags"),
            "{:?}",
            host.log
        );
        assert_eq!(host.errors.len(), 1);
        assert_eq!(host.published, [("policy".to_owned(), staging.join("policy"))]);
        for name in ["policy.json", "policy.sarif", "policy.junit.xml"] {
            assert!(staging.join("policy").join(name).is_file(), "{name}");
        }

        // Warnings alone pass with issues, or fail with failOnWarn; globs find the files.
        write(directory.path(), "plans/ok.json", &PLAN.replace("public-read", "private"));
        let mut host = FakeHost::new(directory.path());
        let outcome = run(&[("files", "plans/*.json"), ("format", "sarif")], &mut host);
        assert!(matches!(outcome, Outcome::SucceededWithIssues(_)), "{outcome:?} {:?}", host.log);
        assert!(directory.path().join(".slipway-policy/policy.sarif").is_file());
        let outcome = run(&[("files", "plans/*.json"), ("failOnWarn", "true")], &mut host);
        assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");
    }

    #[test]
    fn bad_policies_and_missing_files_fail_with_their_place() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        write(directory.path(), "policy/bad.rego", "package main\n\ndeny contains msg if {\n  msg := := 1\n}\n");
        write(directory.path(), "tfplan.json", PLAN);
        let mut host = FakeHost::new(directory.path());
        let outcome = run(&[("files", "tfplan.json")], &mut host);
        assert!(
            matches!(&outcome, Outcome::Failed(message) if message.contains("policy/bad.rego:4:") && !message.contains(&directory.path().display().to_string())),
            "{outcome:?}"
        );
        let outcome = run(&[("files", "nothing/*.json")], &mut host);
        assert_eq!(outcome, Outcome::Failed("no files match 'nothing/*.json'".into()));
    }
}
