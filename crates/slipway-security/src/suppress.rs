//! What keeps known findings out of a report: a `.gitleaksignore` of fingerprints, and a
//! baseline (an earlier JSON report) so that only new findings count.

use std::collections::BTreeSet;
use std::path::Path;

use crate::finding::Finding;

/// The fingerprints of a `.gitleaksignore`: `file:rule:line` (anywhere, any commit) or
/// `commit:file:rule:line`, one a line; `#` starts a comment line.
#[derive(Clone, Debug, Default)]
pub struct Fingerprints {
    entries: BTreeSet<String>,
}

impl Fingerprints {
    /// Reads `text` (named `name` in warnings); a line that is not a fingerprint is a warning
    /// naming it, as gitleaks warns and goes on.
    #[must_use]
    pub fn parse(text: &str, name: &str) -> (Self, Vec<String>) {
        let mut entries = BTreeSet::new();
        let mut warnings = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split(':').collect();
            let well_formed = (3..=4).contains(&parts.len())
                && parts.last().is_some_and(|number| number.parse::<usize>().is_ok())
                && parts.iter().all(|part| !part.is_empty());
            if !well_formed {
                warnings.push(format!(
                    "{name}:{}:1: '{line}' is not a fingerprint: expected file:rule:line or commit:file:rule:line \
                     (a report's Fingerprint)",
                    index + 1
                ));
                continue;
            }
            entries.insert(line.replace('\\', "/"));
        }
        (Self { entries }, warnings)
    }

    /// Reads a `.gitleaksignore` file.
    ///
    /// # Errors
    /// When it cannot be read.
    pub fn load(path: &Path) -> std::io::Result<(Self, Vec<String>)> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self::parse(&text, &path.display().to_string()))
    }

    /// Whether `finding` is listed (by its file-wide or its commit's fingerprint).
    #[must_use]
    pub fn ignores(&self, finding: &Finding) -> bool {
        let global = format!("{}:{}:{}", finding.file, finding.rule_id, finding.start_line);
        self.entries.contains(&global)
            || (!finding.commit.is_empty() && self.entries.contains(&format!("{}:{global}", finding.commit)))
    }

    /// How many fingerprints there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// It cannot be read.
    #[error("{path}: the baseline cannot be read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not a JSON report.
    #[error(
        "{path}:{line}:{column}: the baseline is not a JSON report: {message}\n  help: give a report written by \
         `slipway scan secrets --format json` (or gitleaks' --report-format json)"
    )]
    Invalid {
        /// The file.
        path: String,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What serde_json said.
        message: String,
    },
}

/// The findings of an earlier report.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    findings: Vec<Finding>,
}

impl Baseline {
    /// Reads a JSON report (an array of findings, as gitleaks and `--format json` write).
    ///
    /// # Errors
    /// [`BaselineError`] when it cannot be read or is not such a report.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| BaselineError::Read { path: name.clone(), source })?;
        Self::parse(&text, &name)
    }

    /// Reads a JSON report from `text`.
    ///
    /// # Errors
    /// [`BaselineError::Invalid`] with serde_json's line and column.
    pub fn parse(text: &str, name: &str) -> Result<Self, BaselineError> {
        serde_json::from_str(text).map(|findings| Self { findings }).map_err(|error| BaselineError::Invalid {
            path: name.to_owned(),
            line: error.line(),
            column: error.column().max(1),
            message: error.to_string().split(" at line").next().unwrap_or_default().to_owned(),
        })
    }

    /// Whether `finding` (redacted with the same setting as the baseline was) is in the
    /// baseline: the same rule, file, commit and place, and the same redacted secret, as gitleaks
    /// compares a redacted report's findings.
    #[must_use]
    pub fn contains(&self, finding: &Finding) -> bool {
        self.findings.iter().any(|known| {
            known.rule_id == finding.rule_id
                && known.file == finding.file
                && known.commit == finding.commit
                && known.start_line == finding.start_line
                && known.end_line == finding.end_line
                && known.start_column == finding.start_column
                && known.end_column == finding.end_column
                && (known.secret == finding.secret || known.secret.is_empty() || known.secret == "REDACTED")
        })
    }

    /// How many findings it has.
    #[must_use]
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    /// Whether it has none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_findings_file_wide_or_by_commit() {
        let (ignore, warnings) = Fingerprints::parse(
            "# known\nsrc/a.py:aws-access-key-id:3\nabc123:src\\b.py:github-pat:7\nnot a fingerprint\n",
            ".gitleaksignore",
        );
        assert_eq!(ignore.len(), 2);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with(".gitleaksignore:4:1: 'not a fingerprint'"), "{warnings:?}");
        let finding = |file: &str, rule: &str, line: usize, commit: &str| Finding {
            file: file.into(),
            rule_id: rule.into(),
            start_line: line,
            commit: commit.into(),
            ..Finding::default()
        };
        assert!(ignore.ignores(&finding("src/a.py", "aws-access-key-id", 3, "")));
        assert!(ignore.ignores(&finding("src/a.py", "aws-access-key-id", 3, "ffff")));
        assert!(ignore.ignores(&finding("src/b.py", "github-pat", 7, "abc123")));
        assert!(!ignore.ignores(&finding("src/b.py", "github-pat", 7, "def456")));
        assert!(!ignore.ignores(&finding("src/a.py", "aws-access-key-id", 4, "")));
    }

    #[test]
    fn a_baseline_holds_earlier_findings_and_bad_ones_are_named() {
        let baseline = Baseline::parse(
            r#"[{"RuleID":"r","File":"a","StartLine":1,"EndLine":1,"StartColumn":2,"EndColumn":9,"Secret":"abc...","Commit":""}]"#,
            "b.json",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let mut finding = Finding {
            rule_id: "r".into(),
            file: "a".into(),
            start_line: 1,
            end_line: 1,
            start_column: 2,
            end_column: 9,
            secret: "abc...".into(),
            ..Finding::default()
        };
        assert!(baseline.contains(&finding));
        finding.start_line = 2;
        assert!(!baseline.contains(&finding));
        let error = Baseline::parse("[{\"RuleID\": 3}]", "b.json").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.starts_with("b.json:1:13: the baseline is not a JSON report: invalid type"), "{error}");
    }
}
