//! A scan's findings written out: gitleaks' JSON report, SARIF 2.1.0, and text for people.
//! Findings reach here redacted ([`crate::scan`] redacts them), so no format prints a secret
//! whole.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Report;

/// Where SARIF's schema is published.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// A SARIF 2.1.0 log of one run of the tool `slipway` (this version; `information_uri` where
/// its rules are explained), with its `rules` and `results`; a caller adds what else its run
/// carries (`invocations`, `properties`) to `runs[0]`. The one envelope of every SARIF report
/// Slipway writes.
#[must_use]
pub(crate) fn sarif_log(information_uri: Option<&str>, rules: Vec<Value>, results: Vec<Value>) -> Value {
    let mut driver = json!({
        "name": "slipway",
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let Some(uri) = information_uri {
        driver["informationUri"] = json!(uri);
    }
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{ "tool": { "driver": driver }, "results": results }],
    })
}

/// The findings as gitleaks' JSON report: an array of findings, pretty-printed.
#[must_use]
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&report.findings).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

/// `path` as a relative URI reference (`%`-encoding what a URI cannot hold).
pub(crate) fn uri(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// The report as a SARIF 2.1.0 log: one run of the tool `slipway`, a rule for each rule that ran,
/// a result for each finding (its region, its redacted match as the snippet, its commit in
/// `partialFingerprints`).
#[must_use]
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|rule| {
            let description = if rule.description.is_empty() { rule.id.clone() } else { rule.description.clone() };
            json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": { "text": description },
                "properties": { "tags": rule.tags },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let mut region = serde_json::Map::new();
            if finding.start_line > 0 {
                region.insert("startLine".into(), json!(finding.start_line));
                region.insert("startColumn".into(), json!(finding.start_column.max(1)));
                region.insert("endLine".into(), json!(finding.end_line.max(finding.start_line)));
                // SARIF's end column is the one after the region.
                region.insert("endColumn".into(), json!(finding.end_column + 1));
            }
            region.insert("snippet".into(), json!({ "text": finding.matched }));
            let mut result = json!({
                "ruleId": finding.rule_id,
                "level": "error",
                "message": { "text": format!("{} found a secret in {}: {}", finding.rule_id, finding.file, finding.secret) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&finding.file) },
                        "region": region,
                    }
                }],
                "partialFingerprints": {
                    "commitSha": finding.commit,
                    "email": finding.email,
                    "author": finding.author,
                    "date": finding.date,
                    "commitMessage": finding.message,
                },
                "fingerprints": { "gitleaks/v1": finding.fingerprint },
                "properties": { "tags": finding.tags, "entropy": finding.entropy },
            });
            if let Some(index) = report.rules.iter().position(|rule| rule.id == finding.rule_id) {
                result["ruleIndex"] = json!(index);
            }
            result
        })
        .collect();
    sarif_log(None, rules, results)
}

/// The report for people: one block per finding, then a summary line with the counts per rule.
#[must_use]
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let _ = writeln!(out, "{}: {} ({})", finding.location(), finding.rule_id, finding.description);
        let _ = writeln!(out, "    secret: {}  entropy: {:.2}", finding.secret, finding.entropy);
        if !finding.commit.is_empty() {
            let short = finding.commit.get(..12).unwrap_or(&finding.commit);
            let subject = finding.message.lines().next().unwrap_or("");
            let _ = writeln!(
                out,
                "    commit: {short} by {} <{}> on {}: {subject}",
                finding.author, finding.email, finding.date
            );
        }
        let _ = writeln!(out, "    fingerprint: {}", finding.fingerprint);
    }
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// One line: what was scanned and what was found, by rule.
#[must_use]
pub fn summary(report: &Report) -> String {
    let mut line = if report.commits > 0 {
        format!("scanned {} commits, {} files, {} bytes", report.commits, report.files, report.bytes)
    } else {
        format!("scanned {} files, {} bytes", report.files, report.bytes)
    };
    let counts = report.counts();
    if counts.is_empty() {
        line.push_str(": no secrets found");
    } else {
        let by_rule: Vec<String> = counts.iter().map(|(rule, count)| format!("{count} {rule}")).collect();
        let _ = write!(line, ": {} finding(s) ({})", report.findings.len(), by_rule.join(", "));
    }
    if report.ignored > 0 {
        let _ = write!(line, "; {} ignored by .gitleaksignore", report.ignored);
    }
    if report.in_baseline > 0 {
        let _ = write!(line, "; {} already in the baseline", report.in_baseline);
    }
    if !report.skipped.is_empty() {
        let _ = write!(line, "; {} skipped", report.skipped.len());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, RuleInfo};

    #[test]
    fn uris_escape_what_a_uri_cannot_hold() {
        assert_eq!(uri("src/my file#1.txt"), "src/my%20file%231.txt");
        assert_eq!(uri("lib.jar!a/b.properties"), "lib.jar!a/b.properties");
    }

    #[test]
    fn text_names_each_finding_and_sums_up() {
        let report = Report {
            findings: vec![Finding {
                rule_id: "github-pat".into(),
                description: "GitHub token".into(),
                file: "a.txt".into(),
                start_line: 2,
                start_column: 5,
                secret: "ghp_ab...".into(),
                fingerprint: "a.txt:github-pat:2".into(),
                ..Finding::default()
            }],
            rules: vec![RuleInfo { id: "github-pat".into(), description: "GitHub token".into(), tags: vec![] }],
            files: 1,
            bytes: 10,
            ..Report::default()
        };
        insta::assert_snapshot!(text(&report), @r"
        a.txt:2:5: github-pat (GitHub token)
            secret: ghp_ab...  entropy: 0.00
            fingerprint: a.txt:github-pat:2
        scanned 1 files, 10 bytes: 1 finding(s) (1 github-pat)
        ");
        assert_eq!(sarif(&report)["runs"][0]["results"][0]["ruleIndex"], 0);
    }
}
