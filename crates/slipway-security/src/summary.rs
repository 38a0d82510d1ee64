//! What a run's security reports say, read back from the files its steps published: SARIF 2.1.0
//! reports (secret scanning, vulnerabilities, policy, or any tool that writes SARIF) and SBOMs
//! (CycloneDX JSON, with their `vulnerabilities[]` when they have them, and SPDX JSON). Pure: the
//! server reads the files out of the run's artifacts and shows what this finds on the run's and
//! the pipeline's Security pages.
//!
//! A file is recognised by its name ([`kind_of`]); one that does not parse as what its name says
//! gives a [`SummaryError`] (shown as such on the page), never a panic.

use serde::Serialize;
use serde_json::Value as Json;

/// The largest report file read (bigger ones are named as skipped).
pub const MAX_REPORT_BYTES: u64 = 16 << 20;

/// The most findings kept per report (the counts are always whole).
pub const MAX_FINDINGS: usize = 500;

/// What kind of report a file is, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReportKind {
    /// SARIF 2.1.0 (`*.sarif`, `*.sarif.json`).
    Sarif,
    /// A CycloneDX JSON SBOM (`*.cdx.json`, `bom.json`, `*.bom.json`).
    Cyclonedx,
    /// An SPDX JSON SBOM (`*.spdx.json`).
    Spdx,
}

/// The kind of report a file named `path` is, if it is one.
#[must_use]
pub fn kind_of(path: &str) -> Option<ReportKind> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name.ends_with(".sarif") || name.ends_with(".sarif.json") {
        Some(ReportKind::Sarif)
    } else if name.ends_with(".cdx.json") || name == "bom.json" || name.ends_with(".bom.json") {
        Some(ReportKind::Cyclonedx)
    } else if name.ends_with(".spdx.json") {
        Some(ReportKind::Spdx)
    } else {
        None
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SummaryError {
    /// Not JSON.
    #[error("{path}:{line}:{column}: not JSON: {message}")]
    NotJson {
        /// The file.
        path: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// JSON, but not the report its name says.
    #[error("{path}: not a {expected} report: {message}")]
    Shape {
        /// The file.
        path: String,
        /// What it should have been.
        expected: &'static str,
        /// What is missing.
        message: String,
    },
}

/// The category a SARIF report's findings belong to, from its tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    /// Secrets (Slipway's secret scanner, gitleaks, detect-secrets, trufflehog).
    Secrets,
    /// Known vulnerabilities (Slipway's OSV matcher, osv-scanner, grype, trivy).
    Vulnerabilities,
    /// Policy (Slipway's policy task, conftest, checkov).
    Policy,
    /// Anything else that writes SARIF (linters, static analysis).
    Other,
}

/// The category of a tool's findings, by the tool's name, its rules' ids, and the file's path
/// (`secrets.sarif`, `vulnerabilities.sarif`, `policy.sarif`, as Slipway's tasks name them).
fn category(path: &str, tool: &str, rule_ids: &[&str]) -> Category {
    let tool = format!("{} {}", tool.to_ascii_lowercase(), path.to_ascii_lowercase());
    let any_rule = |prefixes: &[&str]| {
        rule_ids.iter().any(|id| prefixes.iter().any(|prefix| id.to_ascii_uppercase().starts_with(prefix)))
    };
    if tool.contains("secret") || tool.contains("gitleaks") || tool.contains("trufflehog") {
        Category::Secrets
    } else if tool.contains("vuln")
        || tool.contains("osv")
        || tool.contains("grype")
        || tool.contains("trivy")
        || any_rule(&["CVE-", "GHSA-", "RUSTSEC-", "PYSEC-", "GO-"])
    {
        Category::Vulnerabilities
    } else if tool.contains("policy") || tool.contains("conftest") || tool.contains("checkov") || tool.contains("opa") {
        Category::Policy
    } else {
        Category::Other
    }
}

/// One finding of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The rule (or advisory) id.
    pub rule: String,
    /// `error`, `warning`, `note` or `none` (SARIF's levels), or a severity (CycloneDX's).
    pub level: String,
    /// What it says.
    pub message: String,
    /// Where: `file:line`, or the component it affects.
    pub location: Option<String>,
}

/// What one report file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The file's path in its artifact.
    pub path: String,
    /// Its kind.
    pub kind: ReportKind,
    /// The tool that wrote it (SARIF's driver, CycloneDX's tools), if it says.
    pub tool: Option<String>,
    /// What its findings are about.
    pub category: Category,
    /// How many findings it has (all of them).
    pub findings_total: usize,
    /// Its findings (at most [`MAX_FINDINGS`]).
    pub findings: Vec<Finding>,
    /// How many components an SBOM lists.
    pub components: Option<usize>,
}

/// Reads the report in `text`, a file at `path` of `kind`.
///
/// # Errors
/// [`SummaryError`] when it is not JSON or not that kind of report.
pub fn read(path: &str, kind: ReportKind, text: &str) -> Result<Report, SummaryError> {
    let json: Json = serde_json::from_str(text).map_err(|error| SummaryError::NotJson {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    match kind {
        ReportKind::Sarif => sarif(path, &json),
        ReportKind::Cyclonedx => cyclonedx(path, &json),
        ReportKind::Spdx => spdx(path, &json),
    }
}

fn shape(path: &str, expected: &'static str, message: &str) -> SummaryError {
    SummaryError::Shape { path: path.to_owned(), expected, message: message.to_owned() }
}

fn text_at<'a>(value: &'a Json, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Json::as_str)
}

/// Whether a SARIF result is suppressed (SARIF 2.1.0 §3.27.23): it has suppressions, and each
/// is accepted (a suppression without a `status` is), none under review or rejected. A baseline's
/// or an ignore file's findings are such results; they are not findings.
fn suppressed(result: &Json) -> bool {
    let Some(suppressions) = result.get("suppressions").and_then(Json::as_array) else { return false };
    !suppressions.is_empty()
        && suppressions
            .iter()
            .all(|suppression| text_at(suppression, "/status").is_none_or(|status| status == "accepted"))
}

fn sarif(path: &str, json: &Json) -> Result<Report, SummaryError> {
    let runs =
        json.get("runs").and_then(Json::as_array).ok_or_else(|| shape(path, "SARIF", "it has no \"runs\" array"))?;
    if text_at(json, "/version").is_some_and(|version| version != "2.1.0") {
        return Err(shape(path, "SARIF 2.1.0", "its \"version\" is not \"2.1.0\""));
    }
    let mut tools: Vec<String> = Vec::new();
    let mut findings = Vec::new();
    let mut total = 0;
    for run in runs {
        let tool = text_at(run, "/tool/driver/name").unwrap_or("unknown tool");
        if !tools.iter().any(|known| known == tool) {
            tools.push(tool.to_owned());
        }
        for result in run.get("results").and_then(Json::as_array).into_iter().flatten() {
            if suppressed(result) {
                continue;
            }
            total += 1;
            if findings.len() >= MAX_FINDINGS {
                continue;
            }
            let location = result.pointer("/locations/0/physicalLocation").map(|physical| {
                let uri = text_at(physical, "/artifactLocation/uri").unwrap_or("?");
                match physical.pointer("/region/startLine").and_then(Json::as_u64) {
                    Some(line) => format!("{uri}:{line}"),
                    None => uri.to_owned(),
                }
            });
            findings.push(Finding {
                rule: text_at(result, "/ruleId").unwrap_or("(no rule)").to_owned(),
                level: text_at(result, "/level").unwrap_or("warning").to_owned(),
                message: text_at(result, "/message/text").unwrap_or_default().to_owned(),
                location,
            });
        }
    }
    let tool = (!tools.is_empty()).then(|| tools.join(", "));
    let rule_ids: Vec<&str> = findings.iter().map(|finding| finding.rule.as_str()).collect();
    let category = category(path, tool.as_deref().unwrap_or_default(), &rule_ids);
    Ok(Report {
        path: path.to_owned(),
        kind: ReportKind::Sarif,
        tool,
        category,
        findings_total: total,
        findings,
        components: None,
    })
}

fn cyclonedx(path: &str, json: &Json) -> Result<Report, SummaryError> {
    if text_at(json, "/bomFormat") != Some("CycloneDX") {
        return Err(shape(path, "CycloneDX", "its \"bomFormat\" is not \"CycloneDX\""));
    }
    let components = json.get("components").and_then(Json::as_array).map_or(0, Vec::len);
    let tool = text_at(json, "/metadata/tools/components/0/name")
        .or_else(|| text_at(json, "/metadata/tools/0/name"))
        .map(str::to_owned);
    let vulnerabilities = json.get("vulnerabilities").and_then(Json::as_array);
    let findings: Vec<Finding> = vulnerabilities
        .into_iter()
        .flatten()
        .take(MAX_FINDINGS)
        .map(|vulnerability| Finding {
            rule: text_at(vulnerability, "/id").unwrap_or("(no id)").to_owned(),
            level: text_at(vulnerability, "/ratings/0/severity").unwrap_or("unknown").to_owned(),
            message: text_at(vulnerability, "/description")
                .or_else(|| text_at(vulnerability, "/detail"))
                .or_else(|| text_at(vulnerability, "/recommendation"))
                .unwrap_or_default()
                .to_owned(),
            location: text_at(vulnerability, "/affects/0/ref").map(str::to_owned),
        })
        .collect();
    Ok(Report {
        path: path.to_owned(),
        kind: ReportKind::Cyclonedx,
        tool,
        category: if vulnerabilities.is_some() { Category::Vulnerabilities } else { Category::Other },
        findings_total: vulnerabilities.map_or(0, Vec::len),
        findings,
        components: Some(components),
    })
}

fn spdx(path: &str, json: &Json) -> Result<Report, SummaryError> {
    if !text_at(json, "/spdxVersion").is_some_and(|version| version.starts_with("SPDX-")) {
        return Err(shape(path, "SPDX", "its \"spdxVersion\" is not \"SPDX-2.x\""));
    }
    let packages = json.get("packages").and_then(Json::as_array).map_or(0, Vec::len);
    let tool = json
        .pointer("/creationInfo/creators")
        .and_then(Json::as_array)
        .and_then(|creators| {
            creators.iter().filter_map(Json::as_str).find_map(|creator| creator.strip_prefix("Tool: "))
        })
        .map(str::to_owned);
    Ok(Report {
        path: path.to_owned(),
        kind: ReportKind::Spdx,
        tool,
        category: Category::Other,
        findings_total: 0,
        findings: Vec::new(),
        components: Some(packages),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_names() {
        assert_eq!(kind_of("secrets/secrets.sarif"), Some(ReportKind::Sarif));
        assert_eq!(kind_of("x/report.SARIF.json"), Some(ReportKind::Sarif));
        assert_eq!(kind_of("sbom/sbom.cdx.json"), Some(ReportKind::Cyclonedx));
        assert_eq!(kind_of("bom.json"), Some(ReportKind::Cyclonedx));
        assert_eq!(kind_of("sbom.spdx.json"), Some(ReportKind::Spdx));
        assert_eq!(kind_of("app.json"), None);
    }

    #[test]
    fn a_secret_scan_sarif_gives_its_findings_with_their_places() {
        let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"slipway-secrets"}},"results":[
            {"ruleId":"aws-access-token","level":"error","message":{"text":"AWS access key AKIA****"},
             "locations":[{"physicalLocation":{"artifactLocation":{"uri":"config/app.env"},"region":{"startLine":3}}}]}]}]}"#;
        let report =
            read("secret-scan/secrets.sarif", ReportKind::Sarif, text.replace("slipway-secrets", "slipway").as_str())
                .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(report.category, Category::Secrets);
        assert_eq!(report.findings_total, 1);
        assert_eq!(report.findings[0].location.as_deref(), Some("config/app.env:3"));
        assert_eq!(report.findings[0].level, "error");
    }

    #[test]
    fn suppressed_results_are_not_findings() {
        let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"osv"}},"results":[
            {"ruleId":"GHSA-1","message":{"text":"ignored"},"suppressions":[{"kind":"external","justification":"not reachable"}]},
            {"ruleId":"GHSA-2","message":{"text":"under review"},"suppressions":[{"kind":"external","status":"underReview"}]},
            {"ruleId":"GHSA-3","message":{"text":"open"},"suppressions":[]},
            {"ruleId":"GHSA-4","message":{"text":"open"}}]}]}"#;
        let report = read("vulnerabilities.sarif", ReportKind::Sarif, text).unwrap_or_else(|error| panic!("{error}"));
        let rules: Vec<&str> = report.findings.iter().map(|finding| finding.rule.as_str()).collect();
        assert_eq!(rules, ["GHSA-2", "GHSA-3", "GHSA-4"]);
        assert_eq!(report.findings_total, 3);
    }

    #[test]
    fn vulnerabilities_are_known_by_their_advisory_ids_whatever_the_tool() {
        let text = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"scanner"}},"results":[{"ruleId":"GHSA-aaaa-bbbb-cccc","message":{"text":"x"}}]}]}"#;
        let report = read("r.sarif", ReportKind::Sarif, text).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((report.category, report.findings[0].level.as_str()), (Category::Vulnerabilities, "warning"));
    }

    #[test]
    fn a_cyclonedx_bom_counts_components_and_reads_vulnerabilities() {
        let text = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"tools":{"components":[{"name":"slipway"}]}},
            "components":[{"name":"a"},{"name":"b"}],
            "vulnerabilities":[{"id":"RUSTSEC-2024-0001","ratings":[{"severity":"high"}],"description":"bad","affects":[{"ref":"pkg:cargo/a@1.0.0"}]}]}"#;
        let report = read("sbom.cdx.json", ReportKind::Cyclonedx, text).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(report.components, Some(2));
        assert_eq!(report.tool.as_deref(), Some("slipway"));
        assert_eq!(report.findings[0].location.as_deref(), Some("pkg:cargo/a@1.0.0"));
        assert_eq!(report.category, Category::Vulnerabilities);
    }

    #[test]
    fn a_report_that_is_not_what_its_name_says_is_an_error_with_its_place() {
        assert_eq!(
            read("x.sarif", ReportKind::Sarif, "{\n  \"runs\": [,]}").expect_err("an error").to_string(),
            "x.sarif:2:12: not JSON: expected value at line 2 column 12"
        );
        assert_eq!(
            read("x.cdx.json", ReportKind::Cyclonedx, "{}").expect_err("an error").to_string(),
            "x.cdx.json: not a CycloneDX report: its \"bomFormat\" is not \"CycloneDX\""
        );
        assert!(read("x.spdx.json", ReportKind::Spdx, "[]").is_err());
    }

    #[test]
    fn findings_beyond_the_limit_are_counted_but_not_kept() {
        let results: Vec<String> =
            (0..MAX_FINDINGS + 3).map(|index| format!(r#"{{"ruleId":"r{index}","message":{{"text":"m"}}}}"#)).collect();
        let text = format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"lint"}}}},"results":[{}]}}]}}"#,
            results.join(",")
        );
        let report = read("lint.sarif", ReportKind::Sarif, &text).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (report.findings_total, report.findings.len(), report.category),
            (MAX_FINDINGS + 3, MAX_FINDINGS, Category::Other)
        );
    }
}
