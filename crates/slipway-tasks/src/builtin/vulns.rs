//! Built-in tasks: known vulnerabilities. `SlipwayVulnScan@1` matches the checkout's packages (its
//! lockfiles at `path`, or the SBOM `sbom`) against an offline OSV database imported with
//! `slipway osv import`, with `slipway-security`'s `vulns`. The database is the `database` input,
//! else the job's variable `SLIPWAY_OSV_DB`, else the agent's environment variable
//! `SLIPWAY_OSV_DB`, else `$(Agent.ToolsDirectory)/osv`. It writes `vulnerabilities.sarif`
//! (SARIF 2.1.0) and `vulnerabilities.cdx.json` (CycloneDX 1.6 with `vulnerabilities[]`) into
//! `outputDirectory` and publishes them as the artifact `artifactName`, logs a summary and each
//! finding, and fails the step when a finding is at or above `failOnSeverity` (`none`: never),
//! only counting findings with a fix when `onlyFixable` is true. Ignored findings come from
//! `ignoreFile` (osv-scanner's format), else `osv-scanner.toml` beside what is scanned.

use std::path::PathBuf;

use slipway_security::vulns::{self, Gate, Input, Request, output};

use super::Builtin;
use crate::{InputSpec, Inputs, Outcome, TaskHost};

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[Builtin {
    name: "SlipwayVulnScan",
    id: "bbccc432-1754-4cff-9713-ce808992f5b0",
    majors: &[1],
    inputs: vuln_scan_inputs,
    run: run_vuln_scan,
}];

/// At most this many findings are logged as the step's errors (all are in the reports).
const MAX_ISSUES: usize = 20;

fn vuln_scan_inputs(_major: u32) -> Vec<InputSpec> {
    vec![
        InputSpec::path("path").default("."),
        InputSpec::path("sbom"),
        InputSpec::string("database"),
        InputSpec::pick("failOnSeverity", &["low", "medium", "high", "critical", "none"]).required().default("low"),
        InputSpec::boolean("onlyFixable", false),
        InputSpec::path("ignoreFile"),
        InputSpec::string("artifactName").default("vulnerabilities"),
        InputSpec::string("outputDirectory").default("$(Build.ArtifactStagingDirectory)/vulnerabilities"),
    ]
}

fn database(host: &dyn TaskHost, inputs: &Inputs) -> Option<PathBuf> {
    let working = host.working_directory();
    if let Some(given) = inputs.get("database").filter(|value| !value.trim().is_empty()) {
        return Some(working.join(host.expand(given)));
    }
    if let Some(variable) = host.variable("SLIPWAY_OSV_DB").filter(|value| !value.trim().is_empty()) {
        return Some(working.join(variable));
    }
    if let Some(environment) = std::env::var_os("SLIPWAY_OSV_DB").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(environment));
    }
    let tools = host.expand("$(Agent.ToolsDirectory)/osv");
    (!tools.contains("$(")).then(|| working.join(tools))
}

fn run_vuln_scan(_major: u32, inputs: &Inputs, host: &mut dyn TaskHost) -> Outcome {
    let working = host.working_directory();
    let fail_on = match Gate::threshold(inputs.text("failOnSeverity")) {
        Ok(fail_on) => fail_on,
        Err(message) => return Outcome::failed(format!("failOnSeverity: {message}")),
    };
    let gate = Gate { fail_on, only_fixable: inputs.boolean("onlyFixable") };
    let Some(database) = database(host, inputs) else {
        return Outcome::failed(
            "no OSV database: set the input database, or the variable SLIPWAY_OSV_DB, to a directory made with slipway osv import",
        );
    };
    let input = match inputs.get("sbom").filter(|value| !value.trim().is_empty()) {
        Some(sbom) => Input::Sbom(working.join(sbom)),
        None => Input::Lockfiles(inputs.path("path", &working).unwrap_or_else(|| working.clone())),
    };
    let ignore_file =
        inputs.get("ignoreFile").filter(|value| !value.trim().is_empty()).map(|value| working.join(value));
    host.log(&format!("Matching against the OSV database in {}", database.display()));
    let request = Request { input, database, ignore_file, now: jiff_now() };
    let report = match vulns::scan(&request) {
        Ok(report) => report,
        Err(error) => return Outcome::failed(format!("The vulnerability scan could not run: {error}")),
    };
    for warning in &report.warnings {
        host.warning(warning);
    }

    let expanded = host.expand(inputs.text("outputDirectory"));
    let directory = if expanded.contains("$(") || expanded.trim().is_empty() {
        working.join(".slipway-vulnerabilities")
    } else {
        working.join(expanded)
    };
    let sarif = serde_json::to_string_pretty(&output::sarif(&report, &gate)).unwrap_or_default();
    let bom = output::cyclonedx(&report, &slipway_security::sbom::BomInfo::now());
    let written = std::fs::create_dir_all(&directory)
        .and_then(|()| std::fs::write(directory.join("vulnerabilities.sarif"), sarif))
        .and_then(|()| std::fs::write(directory.join("vulnerabilities.cdx.json"), bom));
    if let Err(error) = written {
        return Outcome::failed(format!("The reports could not be written into {}: {error}", directory.display()));
    }
    let artifact = inputs.text("artifactName");
    match host.publish_artifact(artifact, &directory) {
        Ok(()) => host.log(&format!("Published the reports as the artifact '{artifact}'.")),
        Err(error) => host.warning(&format!("The reports could not be published as '{artifact}': {error}")),
    }

    host.log(&output::summary(&report, &gate));
    for finding in &report.ignored {
        let reason = finding.ignore.as_ref().and_then(|ignore| ignore.reason.clone()).unwrap_or_default();
        host.log(&format!("ignored: {} {}@{}: {reason}", finding.id, finding.package.name, finding.package.version));
    }
    for expired in &report.expired {
        host.warning(&format!(
            "the ignore of {} ({}) has expired; the finding counts",
            expired.finding, expired.ignore.at
        ));
    }
    let failing = report.failing(&gate);
    for (index, finding) in report.findings.iter().enumerate() {
        let fix = finding.fixed.as_ref().map_or_else(|| "no fix known".to_owned(), |fixed| format!("fixed in {fixed}"));
        let line = format!(
            "{} {}@{} ({}): {} {}; {fix}",
            finding.id,
            finding.package.name,
            finding.package.version,
            finding.package.ecosystem,
            finding.severity.rating,
            finding.summary
        );
        host.log(&line);
        if index < MAX_ISSUES {
            if gate.fails(finding) { host.error(&line) } else { host.warning(&line) }
        }
    }
    if !failing.is_empty() {
        Outcome::failed(format!(
            "{} known vulnerabilit{} fail the gate ({}); upgrade, or list reviewed ones in osv-scanner.toml with a reason and an ignoreUntil",
            failing.len(),
            if failing.len() == 1 { "y" } else { "ies" },
            gate.describe()
        ))
    } else if report.findings.is_empty() {
        Outcome::Succeeded
    } else {
        Outcome::SucceededWithIssues(format!("{} known vulnerabilities below the gate", report.findings.len()))
    }
}

fn jiff_now() -> slipway_security::vulns::Timestamp {
    slipway_security::vulns::Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;

    const RECORD: &str = r#"{"id": "RUSTSEC-2099-0001", "modified": "2024-01-01T00:00:00Z", "summary": "itoa overflows",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.12"}]}]}]}"#;

    #[test]
    fn findings_fail_the_step_and_the_reports_are_published() {
        let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let lockfile = "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
                        [[package]]\nname = \"itoa\"\nversion = \"1.0.11\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        std::fs::write(directory.path().join("Cargo.lock"), lockfile).unwrap_or_else(|error| panic!("{error}"));
        std::fs::write(directory.path().join("record.json"), RECORD).unwrap_or_else(|error| panic!("{error}"));
        let db = directory.path().join("osv");
        vulns::Database::at(&db)
            .import(&[directory.path().join("record.json")], jiff_now())
            .unwrap_or_else(|error| panic!("{error}"));
        let staging = directory.path().join("staging");
        let mut host = FakeHost::new(directory.path())
            .with_variable("Build.ArtifactStagingDirectory", &staging.display().to_string())
            .with_variable("SLIPWAY_OSV_DB", "osv");
        let run = |pairs: &[(&str, &str)], host: &mut FakeHost| {
            let given: Vec<(String, String)> = pairs.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect();
            let inputs = Inputs::resolve(&vuln_scan_inputs(1), &given).unwrap_or_else(|error| panic!("{error}"));
            run_vuln_scan(1, &inputs, host)
        };
        let outcome = run(&[], &mut host);
        assert!(
            matches!(&outcome, Outcome::Failed(message) if message.starts_with("1 known vulnerability fail")),
            "{outcome:?}"
        );
        assert_eq!(host.published, [("vulnerabilities".to_owned(), staging.join("vulnerabilities"))]);
        let bom = std::fs::read_to_string(staging.join("vulnerabilities/vulnerabilities.cdx.json")).unwrap_or_default();
        assert!(bom.contains("\"RUSTSEC-2099-0001\""), "{bom}");
        assert!(staging.join("vulnerabilities/vulnerabilities.sarif").is_file());
        assert_eq!(host.errors.len(), 1, "{:?}", host.errors);

        let outcome = run(&[("failOnSeverity", "critical")], &mut host);
        assert!(matches!(outcome, Outcome::SucceededWithIssues(_)), "{outcome:?}");
        let outcome = run(&[("database", "nowhere")], &mut host);
        assert!(
            matches!(&outcome, Outcome::Failed(message) if message.contains("no OSV database here")),
            "{outcome:?}"
        );
    }
}
