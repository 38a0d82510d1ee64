//! Built-in tasks: security. `SlipwaySbom@1` writes an SBOM of the checkout's lockfiles (Cargo,
//! npm, Yarn, pnpm, pip, Poetry, uv, Pipenv, Composer, NuGet, Bundler, Go; CycloneDX 1.6 or SPDX 2.3 JSON) and publishes it as an artifact. `SlipwaySecretScan@1` scans the job's checkout for secrets with
//! `slipway-security` (gitleaks' rules format, Slipway's default rules): its working tree, the
//! lines a diff adds (`mode: diff`, from `since` or the pull request's target branch, else the
//! previous commit), or every commit (`mode: history`). It writes a SARIF 2.1.0 report (and the
//! gitleaks JSON or text report `format` asks for) and publishes them as a pipeline artifact,
//! logs a summary with the counts per rule and each finding's place (secrets redacted), and
//! fails the step when something is found unless `failOnFindings` is false.

use std::path::{Path, PathBuf};

use slipway_security::{Options, Request, Target, report};

use super::Builtin;
use crate::{InputSpec, Inputs, Outcome, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "SlipwaySecretScan",
        id: "bbccc432-1754-4cff-9713-ce808992f5ad",
        majors: &[1],
        inputs: secret_scan_inputs,
        run: run_secret_scan,
    },
    Builtin {
        name: "SlipwaySbom",
        id: "bbccc432-1754-4cff-9713-ce808992f5ae",
        majors: &[1],
        inputs: sbom_inputs,
        run: run_sbom,
    },
];

fn sbom_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("path").default("."),
        InputSpec::pick("format", &["cyclonedx", "spdx"]).required().default("cyclonedx"),
        InputSpec::string("artifactName").default("sbom"),
        InputSpec::string("outputDirectory").default("$(Build.ArtifactStagingDirectory)/sbom"),
    ]
}

/// `SlipwaySbom@1`: an SBOM of the lockfiles at `path` (a directory or one lockfile), written as
/// CycloneDX 1.6 or SPDX 2.3 JSON and published as a pipeline artifact; the log says which
/// lockfiles were read, how many components they hold and what was skipped.
fn run_sbom(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let working = host.working_directory();
    let path = inputs.path("path", &working).unwrap_or_else(|| working.clone());
    let inventory = match slipway_security::sbom::inventory(&path) {
        Ok(inventory) => inventory,
        Err(error) => return Outcome::Failed(error.to_string()),
    };
    let info = slipway_security::sbom::BomInfo::now();
    let (file, text) = match inputs.text("format") {
        "spdx" => ("sbom.spdx.json", slipway_security::sbom::spdx::to_string_pretty(&inventory, &info)),
        _ => ("sbom.cdx.json", slipway_security::sbom::cyclonedx::to_string_pretty(&inventory, &info)),
    };
    let expanded = host.expand(inputs.text("outputDirectory"));
    let directory = if expanded.contains("$(") || expanded.trim().is_empty() {
        working.join(".slipway-sbom")
    } else {
        working.join(expanded)
    };
    if let Err(error) =
        std::fs::create_dir_all(&directory).and_then(|()| std::fs::write(directory.join(file), text.as_bytes()))
    {
        return Outcome::Failed(format!("could not write the SBOM into {}: {error}", directory.display()));
    }
    host.log(&format!(
        "SBOM of {} ({}): {} components, {} direct, written to {}",
        inventory.project,
        inventory.lockfiles.join(", "),
        inventory.components.len(),
        inventory.direct.len(),
        directory.join(file).display()
    ));
    for skipped in &inventory.skipped {
        host.warning(&format!("skipped: {skipped}"));
    }
    let artifact = inputs.text("artifactName");
    match host.publish_artifact(artifact, &directory) {
        Ok(()) => {
            host.log(&format!("Published as the artifact '{artifact}'."));
            Outcome::Succeeded
        }
        Err(error) => Outcome::Failed(format!("could not publish the SBOM as '{artifact}': {error}")),
    }
}

/// At most this many findings are logged as the step's errors (all are in the reports).
const MAX_ISSUES: usize = 20;

fn secret_scan_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("path").default("."),
        InputSpec::pick("mode", &["tree", "diff", "history"]).required().default("tree"),
        InputSpec::string("since"),
        InputSpec::path("baseline"),
        InputSpec::path("config"),
        InputSpec::path("ignoreFile"),
        InputSpec::boolean("failOnFindings", true),
        InputSpec::pick("format", &["sarif", "json", "text"]).required().default("sarif"),
        InputSpec::string("reportDirectory").default("$(Build.ArtifactStagingDirectory)/secret-scan"),
        InputSpec::string("artifactName").default("secret-scan"),
        InputSpec::integer("redact").default("80"),
    ]
}

/// The revision a diff starts from when `since` is not given: the pull request's target
/// branch, else the previous commit.
fn diff_base(host: &dyn TaskHost) -> String {
    match host.variable("System.PullRequest.TargetBranch").filter(|branch| !branch.is_empty()) {
        Some(branch) => format!("origin/{}", branch.strip_prefix("refs/heads/").unwrap_or(&branch)),
        None => "HEAD~1".to_owned(),
    }
}

fn report_directory(host: &dyn TaskHost, inputs: &Inputs) -> PathBuf {
    let expanded = host.expand(inputs.text("reportDirectory"));
    if expanded.contains("$(") || expanded.trim().is_empty() {
        // No staging directory (a variable the job does not have): beside the checkout.
        return host.working_directory().join(".slipway-secret-scan");
    }
    host.working_directory().join(expanded)
}

fn optional_path(host: &dyn TaskHost, inputs: &Inputs, name: &str) -> Option<PathBuf> {
    inputs.get(name).filter(|value| !value.trim().is_empty()).map(|value| host.working_directory().join(value))
}

fn run_secret_scan(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let root = host.working_directory().join(inputs.text("path"));
    let since = inputs.get("since").filter(|since| !since.trim().is_empty()).map(str::to_owned);
    let target = match inputs.text("mode") {
        "diff" => {
            let base = since.unwrap_or_else(|| diff_base(host));
            host.log(&format!("Scanning the lines added from {base} to HEAD in {}", root.display()));
            Target::Diff { base, head: "HEAD".to_owned() }
        }
        "history" => {
            match &since {
                Some(since) => host.log(&format!("Scanning the commits after {since} in {}", root.display())),
                None => host.log(&format!("Scanning every commit in {}", root.display())),
            }
            Target::History { since }
        }
        _ => {
            host.log(&format!("Scanning the files in {}", root.display()));
            Target::Tree
        }
    };
    let redact = match inputs.text("redact").trim().parse::<u8>() {
        Ok(percent @ 1..=100) => percent,
        _ => {
            return Outcome::failed(format!(
                "redact must be a percentage from 1 to 100 (of each secret hidden), not '{}'",
                inputs.text("redact")
            ));
        }
    };
    let request = Request {
        root,
        target,
        config: optional_path(host, inputs, "config"),
        baseline: optional_path(host, inputs, "baseline"),
        ignore_file: optional_path(host, inputs, "ignoreFile"),
        options: Options { redact, ..Options::default() },
    };
    let scanned = match slipway_security::scan(&request) {
        Ok(scanned) => scanned,
        Err(error) => return Outcome::failed(format!("The secret scan could not run: {error}")),
    };
    for warning in &scanned.warnings {
        host.warning(warning);
    }

    let directory = report_directory(host, inputs);
    if let Err(error) = write_reports(&directory, &scanned, inputs.text("format")) {
        return Outcome::Failed(error.to_string());
    }
    let artifact = inputs.text("artifactName");
    match host.publish_artifact(artifact, &directory) {
        Ok(()) => host.log(&format!("Published the reports as the artifact '{artifact}'.")),
        Err(error) => host.warning(&format!("The reports could not be published as '{artifact}': {error}")),
    }

    host.log(&report::summary(&scanned));
    for (rule, count) in scanned.counts() {
        host.log(&format!("  {rule}: {count}"));
    }
    let fail = inputs.boolean("failOnFindings");
    for (index, finding) in scanned.findings.iter().enumerate() {
        let line = format!("{} {}: {} ({})", finding.location(), finding.rule_id, finding.secret, finding.description);
        host.log(&line);
        if index < MAX_ISSUES {
            if fail { host.error(&line) } else { host.warning(&line) }
        }
    }
    if scanned.findings.is_empty() {
        Outcome::Succeeded
    } else if fail {
        Outcome::failed(format!(
            "{} secret(s) found; remove them (and rotate them), or list reviewed ones in .gitleaksignore",
            scanned.findings.len()
        ))
    } else {
        Outcome::SucceededWithIssues(format!("{} secret(s) found", scanned.findings.len()))
    }
}

fn write_reports(directory: &Path, scanned: &slipway_security::Report, format: &str) -> Result<(), super::ReportError> {
    let write = |name: &str, text: &str| super::write_report(directory, name, text);
    super::report_directory(directory)?;
    let sarif = serde_json::to_string_pretty(&report::sarif(scanned)).unwrap_or_default();
    write("secrets.sarif", &sarif)?;
    match format {
        "json" => write("secrets.json", &report::json(scanned)),
        "text" => write("secrets.txt", &report::text(scanned)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    fn run(pairs: &[(&str, &str)], host: &mut FakeHost) -> Outcome {
        let given: Vec<(String, String)> =
            pairs.iter().map(|(name, value)| ((*name).into(), (*value).into())).collect();
        let inputs = Inputs::resolve(&secret_scan_inputs(1), &given).unwrap_or_else(|error| panic!("{error}"));
        run_secret_scan(1, &inputs, host)
    }

    #[test]
    fn an_sbom_of_the_checkouts_lockfiles_is_published() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let lockfile = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
                        [[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                        checksum = \"49f1f14873335454500d59611f1cf4a4b0f786f9ac11f4312a78e4cf2566695b\"\n";
        std::fs::write(directory.path().join("Cargo.lock"), lockfile).unwrap_or_else(|error| panic!("{error}"));
        let staging = directory.path().join("staging");
        let mut host = FakeHost::new(directory.path())
            .with_variable("Build.ArtifactStagingDirectory", &staging.display().to_string());
        let inputs = Inputs::resolve(&sbom_inputs(1), &[]).unwrap_or_else(|error| panic!("{error}"));
        let outcome = run_sbom(1, &inputs, &mut host);
        assert_eq!(outcome, Outcome::Succeeded, "{:?}", host.log);
        assert_eq!(host.published, [("sbom".to_owned(), staging.join("sbom"))]);
        let bom: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(staging.join("sbom/sbom.cdx.json")).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!((bom["bomFormat"].as_str(), bom["specVersion"].as_str()), (Some("CycloneDX"), Some("1.6")), "{bom}");
        let purls: Vec<&str> = bom["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|component| component["purl"].as_str())
            .collect();
        assert!(purls.contains(&"pkg:cargo/itoa@1.0.11"), "{purls:?}");
        assert!(host.log.iter().any(|line| line.contains("components")), "{:?}", host.log);

        let empty = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let mut host = FakeHost::new(empty.path());
        let outcome = run_sbom(1, &inputs, &mut host);
        assert!(matches!(&outcome, Outcome::Failed(message) if !message.is_empty()), "no lockfile: {outcome:?}");
        assert!(host.published.is_empty());
    }

    /// A token of GitHub's shape made at run time.
    fn github_token() -> String {
        let body: String = (0..36u8).map(|index| char::from(b"aZ3kQ9x"[usize::from(index) % 7])).collect();
        format!("ghp_{body}")
    }

    #[test]
    fn findings_fail_the_step_and_the_sarif_report_is_published() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let source = directory.path().join("src");
        std::fs::create_dir_all(&source).unwrap_or_else(|error| panic!("{error}"));
        let token = github_token();
        std::fs::write(source.join("app.env"), format!("GITHUB_TOKEN={token}\n")).unwrap_or_else(|e| panic!("{e}"));
        let staging = directory.path().join("staging");
        let mut host = FakeHost::new(directory.path())
            .with_variable("Build.ArtifactStagingDirectory", &staging.display().to_string());
        let outcome = run(&[("path", "src"), ("format", "json")], &mut host);
        assert!(
            matches!(&outcome, Outcome::Failed(message) if message.starts_with("1 secret(s) found")),
            "{outcome:?}"
        );
        assert_eq!(host.published, [("secret-scan".to_owned(), staging.join("secret-scan"))]);
        assert!(
            staging.join("secret-scan/secrets.sarif").is_file() && staging.join("secret-scan/secrets.json").is_file()
        );
        let everything = [
            host.log.join("\n"),
            host.errors.join("\n"),
            std::fs::read_to_string(staging.join("secret-scan/secrets.sarif")).unwrap_or_default(),
        ];
        for text in &everything {
            assert!(!text.contains(&token[..12]), "a secret was printed: {text}");
        }
        assert!(host.log.iter().any(|line| line == "  github-pat: 1"), "{:?}", host.log);
        assert_eq!(host.errors.len(), 1);

        let mut host = FakeHost::new(directory.path());
        let outcome = run(&[("path", "src"), ("failOnFindings", "false")], &mut host);
        assert!(matches!(outcome, Outcome::SucceededWithIssues(_)), "{outcome:?}");
        assert!(directory.path().join(".slipway-secret-scan/secrets.sarif").is_file(), "without a staging directory");
    }

    #[test]
    fn a_clean_tree_succeeds_and_a_broken_rules_file_names_its_mistake() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(directory.path().join("README.md"), "nothing secret\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(directory.path().join("rules.toml"), "[[rules]]\nid = 'x'\nregex = '(a'\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut host = FakeHost::new(directory.path());
        assert_eq!(run(&[], &mut host), Outcome::Succeeded);
        let outcome = run(&[("config", "rules.toml")], &mut host);
        assert!(
            matches!(&outcome, Outcome::Failed(message) if message.contains("rules.toml:3:10: rule 'x': regex is not a valid regular expression")),
            "{outcome:?}"
        );
        let outcome = run(&[("redact", "0")], &mut host);
        assert!(matches!(&outcome, Outcome::Failed(message) if message.starts_with("redact must be")), "{outcome:?}");
    }
}
