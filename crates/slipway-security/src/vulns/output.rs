//! A vulnerability report written out, pure: text for people (with a summary), Slipway's JSON,
//! SARIF 2.1.0, and CycloneDX 1.6 with `vulnerabilities[]`.
//!
//! The JSON (version 1) is an object: `version`, `database`, `sources` (lockfiles or the SBOM),
//! `packages` (how many were checked), `gate` (`failOn`: a rating or null, `onlyFixable`),
//! `summary` (`findings`, `failing`, `ignored`, `skipped`, `bySeverity`), `findings[]` and
//! `ignored[]` (each: `id`, `aliases`, `summary`, `package` {`ecosystem`, `name`, `version`,
//! `purl`, `sources`}, `severity` {`rating`, `score`, `method`, `vector`}, `ratings[]`,
//! `fixAvailable`, `fixed`, `fixedVersions`, `references`, `published`, `modified`,
//! `failsGate`, and for ignored ones `ignore` {`id`, `until`, `reason`, `at`}),
//! `expiredIgnores[]` ({`finding`, `ignore`}), `skipped[]` ({`package`, `reason`}) and
//! `warnings[]`.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Finding, Gate, Rating, Report};
use crate::report::uri;
use crate::sbom::{BomInfo, cyclonedx};

/// The JSON format's version.
pub const JSON_VERSION: u32 = 1;

fn finding_json(finding: &Finding, gate: &Gate) -> Value {
    let mut value = json!({
        "id": finding.id,
        "aliases": finding.aliases,
        "summary": finding.summary,
        "package": finding.package,
        "severity": finding.severity,
        "ratings": finding.ratings,
        "fixAvailable": finding.fixed.is_some(),
        "fixed": finding.fixed,
        "fixedVersions": finding.fixed_versions,
        "references": finding.references,
        "published": finding.published,
        "modified": finding.modified,
        "failsGate": finding.ignore.is_none() && gate.fails(finding),
    });
    if let Some(ignore) = &finding.ignore {
        value["ignore"] = json!(ignore);
    }
    value
}

/// The report as Slipway's JSON (see the module's documentation), indented.
#[must_use]
pub fn json(report: &Report, gate: &Gate) -> String {
    let by_severity: serde_json::Map<String, Value> =
        report.counts().into_iter().map(|(rating, count)| (rating.as_str().to_owned(), json!(count))).collect();
    let value = json!({
        "version": JSON_VERSION,
        "database": report.database,
        "sources": report.sources,
        "packages": report.packages.len(),
        "gate": { "failOn": gate.fail_on.map(Rating::as_str), "onlyFixable": gate.only_fixable },
        "summary": {
            "findings": report.findings.len(),
            "failing": report.failing(gate).len(),
            "ignored": report.ignored.len(),
            "skipped": report.skipped.len(),
            "bySeverity": by_severity,
        },
        "findings": report.findings.iter().map(|finding| finding_json(finding, gate)).collect::<Vec<_>>(),
        "ignored": report.ignored.iter().map(|finding| finding_json(finding, gate)).collect::<Vec<_>>(),
        "expiredIgnores": report.expired,
        "skipped": report.skipped,
        "warnings": report.warnings,
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn severity_text(finding: &Finding) -> String {
    let severity = &finding.severity;
    match severity.score {
        Some(score) => format!("{} {score:.1} ({})", severity.rating, severity.method),
        None if severity.method == "database" => format!("{} (the database's rating)", severity.rating),
        None => "unknown severity".to_owned(),
    }
}

fn ids(finding: &Finding) -> String {
    if finding.aliases.is_empty() {
        finding.id.clone()
    } else {
        format!("{} ({})", finding.id, finding.aliases.join(", "))
    }
}

/// The report for people: each finding, the ignored ones, expired ignores, what was skipped,
/// and a summary line.
#[must_use]
pub fn text(report: &Report, gate: &Gate) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let package = &finding.package;
        let mark = if gate.fails(finding) { "" } else { " [below the gate]" };
        let _ = writeln!(
            out,
            "{} {}@{} ({}): {}{mark}",
            ids(finding),
            package.name,
            package.version,
            package.ecosystem,
            severity_text(finding)
        );
        if !finding.summary.is_empty() {
            let _ = writeln!(out, "    {}", finding.summary);
        }
        match &finding.fixed {
            Some(fixed) => {
                let _ = writeln!(out, "    fix: upgrade to {fixed} or later");
            }
            None => {
                let _ = writeln!(out, "    fix: none known");
            }
        }
        let _ = writeln!(out, "    from: {}", package.sources.join(", "));
        if let Some(reference) = finding.references.first() {
            let _ = writeln!(out, "    see: {reference}");
        }
    }
    for finding in &report.ignored {
        let package = &finding.package;
        let (reason, until) = finding.ignore.as_ref().map_or((String::new(), String::new()), |ignore| {
            (
                ignore.reason.clone().unwrap_or_else(|| "no reason given".to_owned()),
                ignore
                    .until
                    .as_deref()
                    .map(|until| format!(" until {}", &until[..until.len().min(10)]))
                    .unwrap_or_default(),
            )
        });
        let _ = writeln!(out, "ignored: {} {}@{}{until}: {reason}", ids(finding), package.name, package.version);
    }
    for expired in &report.expired {
        let until = expired.ignore.until.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "expired: the ignore of {} at {} ended on {}; the finding counts again",
            expired.finding,
            expired.ignore.at,
            &until[..until.len().min(10)]
        );
    }
    for skipped in &report.skipped {
        let _ = writeln!(out, "skipped: {}: {}", skipped.package, skipped.reason);
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let _ = writeln!(out, "{}", summary(report, gate));
    out
}

/// One line: what was checked, what was found by severity, and what fails the gate.
#[must_use]
pub fn summary(report: &Report, gate: &Gate) -> String {
    let mut line = format!("checked {} package(s) from {}", report.packages.len(), report.sources.join(", "));
    if report.findings.is_empty() {
        line.push_str(": no known vulnerabilities");
    } else {
        let counts: Vec<String> = report.counts().iter().map(|(rating, count)| format!("{count} {rating}")).collect();
        let _ = write!(
            line,
            ": {} vulnerabilit{} ({})",
            report.findings.len(),
            if report.findings.len() == 1 { "y" } else { "ies" },
            counts.join(", ")
        );
        let fixable = report.findings.iter().filter(|finding| finding.fixed.is_some()).count();
        let _ = write!(line, ", {fixable} with a fix");
    }
    if !report.ignored.is_empty() {
        let _ = write!(line, "; {} ignored", report.ignored.len());
    }
    if !report.expired.is_empty() {
        let _ = write!(line, "; {} ignore(s) expired", report.expired.len());
    }
    if !report.skipped.is_empty() {
        let _ = write!(line, "; {} skipped", report.skipped.len());
    }
    let failing = report.failing(gate).len();
    let _ = write!(
        line,
        "; the gate ({}): {}",
        gate.describe(),
        if failing == 0 { "passes".to_owned() } else { format!("{failing} fail") }
    );
    line
}

fn level(rating: Rating) -> &'static str {
    match rating {
        Rating::Critical | Rating::High => "error",
        Rating::Medium => "warning",
        _ => "note",
    }
}

/// The report as a SARIF 2.1.0 log: a rule per advisory (its summary, its first reference as
/// `helpUri`, its CVSS score as `security-severity`), a result per finding at the lockfile it
/// came from; ignored findings are results with an external suppression and the ignore's reason.
#[must_use]
pub fn sarif(report: &Report, gate: &Gate) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<String> = Vec::new();
    let all: Vec<&Finding> = report.findings.iter().chain(&report.ignored).collect();
    for finding in &all {
        if rule_ids.contains(&finding.id) {
            continue;
        }
        rule_ids.push(finding.id.clone());
        let text = if finding.summary.is_empty() { finding.id.clone() } else { finding.summary.clone() };
        let mut rule = json!({
            "id": finding.id,
            "name": finding.id,
            "shortDescription": { "text": text },
            "fullDescription": { "text": format!("{}: {text}", ids(finding)) },
            "defaultConfiguration": { "level": level(finding.severity.rating) },
            "properties": { "tags": ["security", "vulnerability", finding.package.ecosystem] },
        });
        if let Some(score) = finding.severity.score {
            rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
        }
        if let Some(reference) = finding.references.first() {
            rule["helpUri"] = json!(reference);
        }
        rules.push(rule);
    }
    let results: Vec<Value> = all
        .iter()
        .map(|finding| {
            let package = &finding.package;
            let fix = finding.fixed.as_ref().map_or_else(|| "No fix is known.".to_owned(), |fixed| format!("Fixed in {fixed}."));
            let locations: Vec<Value> = package
                .sources
                .iter()
                .map(|source| json!({ "physicalLocation": { "artifactLocation": { "uri": uri(source) } } }))
                .collect();
            let mut result = json!({
                "ruleId": finding.id,
                "ruleIndex": rule_ids.iter().position(|id| *id == finding.id).unwrap_or(0),
                "level": level(finding.severity.rating),
                "message": { "text": format!("{}@{} ({}) is affected by {}: {} {fix}", package.name, package.version, package.ecosystem, ids(finding), finding.summary) },
                "locations": locations,
                "partialFingerprints": { "slipway/vuln/v1": format!("{}:{}", finding.id, package.purl) },
                "properties": {
                    "purl": package.purl,
                    "severity": finding.severity.rating.as_str(),
                    "fixAvailable": finding.fixed.is_some(),
                    "failsGate": finding.ignore.is_none() && gate.fails(finding),
                },
            });
            if let Some(ignore) = &finding.ignore {
                let reason = ignore.reason.clone().unwrap_or_else(|| "no reason given".to_owned());
                result["suppressions"] = json!([{ "kind": "external", "justification": format!("{reason} ({})", ignore.at) }]);
            }
            result
        })
        .collect();
    crate::report::sarif_log(Some("https://osv.dev"), rules, results)
}

/// The database a record id comes from, by its prefix.
fn source_of(id: &str) -> cyclonedx::VulnerabilitySource {
    let (name, url) = match id.split('-').next().unwrap_or_default() {
        "GHSA" => ("GitHub", Some(format!("https://github.com/advisories/{id}"))),
        "CVE" => ("NVD", Some(format!("https://nvd.nist.gov/vuln/detail/{id}"))),
        _ => ("OSV", Some(format!("https://osv.dev/vulnerability/{id}"))),
    };
    cyclonedx::VulnerabilitySource { name: name.to_owned(), url }
}

fn time(text: Option<&str>) -> Option<String> {
    let time = super::osv::parse_time(text?)?;
    Some(time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The findings (ignored ones with an analysis saying why) as CycloneDX `vulnerabilities[]`.
#[must_use]
pub fn cyclonedx_vulnerabilities(report: &Report) -> Vec<cyclonedx::Vulnerability> {
    report
        .findings
        .iter()
        .chain(&report.ignored)
        .map(|finding| {
            let mut ratings: Vec<cyclonedx::VulnerabilityRating> = finding
                .ratings
                .iter()
                .map(|rating| cyclonedx::VulnerabilityRating {
                    score: rating.score,
                    severity: rating.rating.as_str().to_owned(),
                    method: rating.method.to_owned(),
                    vector: rating.vector.clone(),
                })
                .collect();
            if ratings.is_empty() {
                ratings.push(cyclonedx::VulnerabilityRating {
                    score: None,
                    severity: finding.severity.rating.as_str().to_owned(),
                    method: "other".to_owned(),
                    vector: None,
                });
            }
            cyclonedx::Vulnerability {
                id: finding.id.clone(),
                source: Some(source_of(&finding.id)),
                references: finding
                    .aliases
                    .iter()
                    .map(|alias| cyclonedx::VulnerabilityReference { id: alias.clone(), source: source_of(alias) })
                    .collect(),
                ratings,
                description: (!finding.summary.is_empty()).then(|| finding.summary.clone()),
                recommendation: Some(finding.fixed.as_ref().map_or_else(
                    || format!("No fixed version of {} is known.", finding.package.name),
                    |fixed| format!("Upgrade {} to {fixed} or later.", finding.package.name),
                )),
                advisories: finding.references.iter().map(|url| cyclonedx::Advisory { url: url.clone() }).collect(),
                published: time(finding.published.as_deref()),
                updated: time(Some(&finding.modified)),
                analysis: finding.ignore.as_ref().map(|ignore| cyclonedx::Analysis {
                    detail: format!(
                        "Ignored by {}{}: {}",
                        ignore.at,
                        ignore.until.as_deref().map(|until| format!(" until {until}")).unwrap_or_default(),
                        ignore.reason.as_deref().unwrap_or("no reason given")
                    ),
                }),
                affects: vec![cyclonedx::Affects { reference: finding.package.purl.clone() }],
            }
        })
        .collect()
}

/// The project's inventory with its vulnerabilities, as CycloneDX 1.6 JSON text.
#[must_use]
pub fn cyclonedx(report: &Report, info: &BomInfo) -> String {
    let mut text =
        cyclonedx::to_string_pretty_with_vulnerabilities(&report.inventory, info, &cyclonedx_vulnerabilities(report));
    text.push('\n');
    text
}
